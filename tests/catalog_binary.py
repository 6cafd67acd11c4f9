"""Catalog entries for the binary family (tests/catalog.py appends ENTRIES and merges the sets)."""
import numpy as np

import autodiff as ad
from catalog import Op, broadcastable, fixed, in_place, unary


def _np_remainder(x, y):
    return x - np.floor(x / y) * y


def _np_xlogy(x, y):
    return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))


ENTRIES = [
    Op("atan2", ad.atan2, np.arctan2, broadcastable(2), domain=("away", "away")),
    Op("hypot", ad.hypot, np.hypot, broadcastable(2), domain=("away", "real")),
    Op("copysign", ad.copysign, np.copysign, broadcastable(2), domain=("away", "away")),
    Op("fmod", ad.fmod, np.fmod, broadcastable(2), domain=("real", "away")),
    Op("remainder", ad.remainder, _np_remainder, broadcastable(2), domain=("real", "away")),
    Op("remainder", lambda x: 1.25 % x, lambda x: _np_remainder(1.25, x), unary(),
       domain="away", label="number % tensor"),
    Op("fmax", ad.fmax, np.fmax, broadcastable(2)),
    Op("fmin", ad.fmin, np.fmin, broadcastable(2)),
    Op("fmax", lambda x, y: ad.fmax(x, ad.log(y)), lambda x, y: np.fmax(x, np.log(y)),
       broadcastable(2), domain=("real", "away"), label="NaN operand"),
    Op("logaddexp", ad.logaddexp, np.logaddexp, broadcastable(2)),
    Op("logaddexp2", ad.logaddexp2, np.logaddexp2, broadcastable(2)),
    Op("lerp", ad.lerp, lambda x, e, w: x + w * (e - x), broadcastable(3)),
    Op("lerp", lambda x, e: ad.lerp(x, e, 0.25), lambda x, e: x + 0.25 * (e - x),
       broadcastable(2), label="number weight"),
    # (at x = 0, dx is 0 by PyTorch's convention, not log(y): test_torch_elementwise.py)
    Op("xlogy", ad.xlogy, _np_xlogy, broadcastable(2), domain=("away", "positive")),
    Op("float_power", ad.float_power, np.power, broadcastable(2), domain=("positive", "real")),
    Op("float_power", lambda x: ad.float_power(x, 3), lambda x: x ** 3.0, unary(),
       label="number exponent"),
    Op("ldexp", ad.ldexp, lambda x, y: x * 2.0 ** y, broadcastable(2)),
    Op("ldexp", lambda x: ad.ldexp(x, ad.tensor([2, -1, 0])), lambda x: x * 2.0 ** np.array(
        [2, -1, 0]), fixed((2, 3)), label="integer exponent"),
    # (no ties: where x == y PyTorch's dx is 0, not the slope 1 of the step toward y)
    Op("nextafter", lambda x, y: ad.nextafter(x, y + 4.5), lambda x, y: np.nextafter(x, y + 4.5),
       broadcastable(2)),
    Op("clamp_min", lambda x: ad.clamp_min(x, -0.5), lambda x: np.maximum(x, -0.5), unary(),
       domain="away_half"),
    Op("clamp_max", lambda x: x.clamp_max(0.5), lambda x: np.minimum(x, 0.5), unary(),
       domain="away_half"),
    Op("addcmul", lambda x, a, b: ad.addcmul(x, a, b, value=0.5),
       lambda x, a, b: x + 0.5 * a * b, broadcastable(3)),
    Op("addcdiv", lambda x, a, b: x.addcdiv(a, b, value=-2),
       lambda x, a, b: x - 2 * a / b, broadcastable(3), domain=("real", "real", "away")),
    Op("divide", lambda x, y: ad.divide(x, y), np.divide, broadcastable(2),
       domain=("real", "away")),
    # in place: a one-op rule with another tensor
    *in_place("atan2_", np.arctan2, 1, domain=("away", "away")),
    # piecewise constant: recorded with a zero gradient, as PyTorch (steps of x / 1 at integers)
    Op("floor_divide", lambda x: ad.floor_divide(x, 1.0), lambda x: np.floor_divide(x, 1.0),
       unary(), domain="between_steps"),
    Op("div", lambda x: ad.div(x, 1.0, rounding_mode="trunc"), np.trunc, unary(),
       domain="between_steps", label="rounding_mode='trunc'"),
]

# public functions with no gradient (integer-only, or piecewise constant)
NON_DIFFERENTIABLE = {"gcd", "lcm", "bitwise_and", "bitwise_or", "bitwise_xor",
                      "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "heaviside"}
NAMESPACE_ALIASES = {"arctan2": "atan2", "true_divide": "div", "multiply": "mul",
                     "subtract": "sub"}
# the other in-place forms: the catalogued function through autodiff/inplace.py's _unary, as
# atan2_ above (tests/test_torch_elementwise.py checks each against PyTorch, through views too)
METHOD_ALIASES = {name + "_": name for name in (
    "hypot", "copysign", "fmod", "remainder", "xlogy", "float_power", "ldexp", "nextafter")}
METHOD_ALIASES.update({
    "arctan2_": "atan2", "divide_": "div_", "true_divide_": "div_", "multiply_": "mul_",
    "subtract_": "sub_", "__mod__": "remainder", "__rmod__": "remainder",
    "__imod__": "remainder", "floor_divide_": "floor_divide", "__ifloordiv__": "floor_divide"})
METHOD_NON_DIFFERENTIABLE = {
    "gcd_", "lcm_", "heaviside_", "__lshift__",
    "__rlshift__", "__rshift__", "__rrshift__", "__ilshift__", "__irshift__", "__rand__",
    "__ror__", "__rxor__", "__iand__", "__ior__", "__ixor__",
    *(f"bitwise_{n}_" for n in ("and", "or", "xor", "not", "left_shift", "right_shift"))}
