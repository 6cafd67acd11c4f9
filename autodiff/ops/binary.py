"""Elementwise functions of two or three tensors beyond the core arithmetic: atan2, hypot,
remainders, fmax/fmin, logaddexp, lerp, xlogy, float_power, addcmul/addcdiv, bitwise and
shifts."""
import math

import numpy as np

from ..dtypes import float64, get_default_dtype
from ..function import OUT, Node, apply2, constant_result
from ..inplace import _unary as _in_place, div_, mul_, sub_
from ..tensor import Tensor
from ._operands import promote, tensor_arg
from .broadcast import binary_operands
from .elementwise import (Sigmoid, Where, _guard, _split, add, cast, clamp, div, mul, pow, raw,
                          sub)

_LN2 = math.log(2.0)
_NUMBERS = (int, float, bool, complex, np.number, np.bool_)


def _reciprocal(a):
    return np.reciprocal(a)


# --- operands ----------------------------------------------------------------------------------

def _tensor_only(x, y, op, names=("input", "other")):
    """PyTorch takes only tensors here: a Python number raises TypeError, as there."""
    for v, name in zip((x, y), names):
        if isinstance(v, _NUMBERS):
            raise TypeError(f"{op}(): argument '{name}' must be a Tensor, not "
                            f"{type(v).__name__}; wrap it: autodiff.tensor({v!r})")


def _floats(x, y, op):
    """Promoted, broadcast operands in a float dtype (integers give the default float dtype,
    cast from their own values: see promote)."""
    x, y = binary_operands(x, y, op, True)
    if x.data.dtype.kind != "f":  # (two tensors of one integer dtype)
        dt = get_default_dtype()
        x, y = x.to(dt), y.to(dt)
    return x, y


def _not_for(x, kinds, op, need):
    if x.data.dtype.kind in kinds:
        raise NotImplementedError(f"{op}: not implemented for dtype {x.data.dtype}; it needs "
                                  f"{need}")


def _float_only(x, y, op):
    """Promoted operands of a function defined for floating-point tensors only (as PyTorch)."""
    x, y = binary_operands(x, y, op)
    _not_for(x, "biu", op, "floating-point tensors (convert with .float())")
    return x, y


def _integers(x, y, op):
    """Promoted operands of a bitwise or number-theory function (bool and integer tensors)."""
    x, y = promote(x, y, op)
    _not_for(x, "fc", op, "integer or bool tensors (convert with .long())")
    return x, y


def _check_divisor(x, y, op):
    """Integer division by zero raises, as in PyTorch (floats give inf or nan)."""
    if x.data.dtype.kind in "biu" and np.any(y.data == 0):
        raise RuntimeError(f"ZeroDivisionError: {op}: integer division by zero (the divisor "
                           f"holds a 0); use floating-point tensors to get inf/nan instead")


# --- primitives --------------------------------------------------------------------------------

class Atan2(Node):
    """out = atan2(x, y); dx = g y / (x² + y²), dy = -g x / (x² + y²) (0 at x = y = 0)"""
    __slots__ = ()
    reads = ((0, 1), (0, 1))

    forward = staticmethod(np.arctan2)

    def backward(self, g, out, x, y):
        nx, ny = self.needs_input_grad
        r = x * x + y * y
        zero = raw(r) == 0
        if zero.any():  # PyTorch: a zero gradient at the origin (the numerators are 0 there)
            r = Where.apply(zero, np.ones((), r.dtype), r)
        return (g * y / r if nx else None), (-g * x / r if ny else None)


class Hypot(Node):
    """out = sqrt(x² + y²); dx = g x / out, dy = g y / out"""
    __slots__ = ("out",)
    reads = ((0, OUT), (1, OUT))
    saved = ("out",)

    def forward(self, x, y):
        self.out = np.hypot(x, y)
        return self.out

    def backward(self, g, out, x, y):
        nx, ny = self.needs_input_grad
        out = _guard(g, out, _reciprocal, 1)
        return (g * x / out if nx else None), (g * y / out if ny else None)


class Copysign(Node):
    """out = |x| with y's sign; dx = g out / x (0 at x = 0), dy = 0"""
    __slots__ = ("out",)
    reads = ((0, OUT), ())
    saved = ("out",)

    def forward(self, x, y):
        self.out = np.copysign(x, y)
        return self.out

    def backward(self, g, out, x, y):
        nx, ny = self.needs_input_grad
        x = raw(x)
        with np.errstate(all="ignore"):  # out / x as PyTorch: NaN at infinite x, 0 at x = 0
            ratio = np.where(x == 0, 0, raw(out) / x).astype(x.dtype, copy=False)
        return (g * ratio if nx else None), (g * 0 if ny else None)


class Fmod(Node):
    """out = x - trunc(x / y) y (sign of x); dx = g, dy = -g trunc(x / y)"""
    __slots__ = ()
    reads = ((), (0, 1))

    forward = staticmethod(np.fmod)

    def backward(self, g, out, x, y):
        nx, ny = self.needs_input_grad
        if not ny:
            return g, None
        with np.errstate(all="ignore"):
            q = np.trunc(raw(x) / raw(y))
        return (g if nx else None), -g * q


def _remainder_array(x, y):
    """PyTorch's remainder: fmod moved to the divisor's sign (a zero keeps x's sign)"""
    with np.errstate(all="ignore"):
        mod = np.fmod(x, y)
        return np.where((mod != 0) & ((y < 0) != (mod < 0)), mod + y, mod)


class Remainder(Node):
    """out = x - floor(x / y) y (sign of y); dx = g, dy = -g floor(x / y)"""
    __slots__ = ()
    reads = ((), (0, 1))

    forward = staticmethod(_remainder_array)

    def backward(self, g, out, x, y):
        nx, ny = self.needs_input_grad
        if not ny:
            return g, None
        with np.errstate(all="ignore"):
            q = np.floor_divide(raw(x), raw(y))
        return (g if nx else None), -g * q


class Fmax(Node):
    """out = max(x, y) ignoring NaN; the larger gets g, ties split it, a NaN input gets none
    (both NaN: x gets it, as in PyTorch)"""
    __slots__ = ()
    reads = ((0, 1), (0, 1))

    forward = staticmethod(np.fmax)

    def backward(self, g, out, x, y):
        x, y = raw(x), raw(y)
        return _split(g, np.where(np.isnan(y), 1.0, (x > y) + 0.5 * (x == y)),
                      self.needs_input_grad)


class Fmin(Node):
    """out = min(x, y) ignoring NaN; the smaller gets g, ties split it, a NaN input gets none
    (both NaN: x gets it, as in PyTorch)"""
    __slots__ = ()
    reads = ((0, 1), (0, 1))

    forward = staticmethod(np.fmin)

    def backward(self, g, out, x, y):
        x, y = raw(x), raw(y)
        return _split(g, np.where(np.isnan(y), 1.0, (x < y) + 0.5 * (x == y)),
                      self.needs_input_grad)


class Logaddexp(Node):
    """out = log(exp(x) + exp(y)); dx = g sigmoid(x - y), dy = g sigmoid(y - x)"""
    __slots__ = ()
    reads = ((0, 1), (0, 1))

    forward = staticmethod(np.logaddexp)

    def backward(self, g, out, x, y):
        nx, ny = self.needs_input_grad
        return ((g * Sigmoid.apply(x - y) if nx else None),
                (g * Sigmoid.apply(y - x) if ny else None))


def _xlogy_array(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((x == 0) & ~np.isnan(y), 0, x * np.log(y)).astype(x.dtype, copy=False)


class Xlogy(Node):
    """out = x log(y), 0 where x = 0 (unless y is NaN); dx = xlogy(g, y) (0 where x = 0 and
    y <= 0, as PyTorch), dy = g x / y"""
    __slots__ = ()
    reads = ((0, 1), (0, 1))

    forward = staticmethod(_xlogy_array)

    def backward(self, g, out, x, y):
        nx, ny = self.needs_input_grad
        gx = gy = None
        if nx:  # PyTorch's rule: 0 where x == 0 and y <= 0
            gx = Xlogy.apply(g, y)
            zero = (raw(x) == 0) & (raw(y) <= 0)
            if zero.any():
                gx = Where.apply(zero, np.zeros((), gx.dtype), gx)
        if ny:
            gy = g * x / _guard(g, y, _reciprocal, 1)
        return gx, gy


class Nextafter(Node):
    """out = the next float after x toward y; dx = g where x != y, dy = 0 (as PyTorch)"""
    __slots__ = ()
    reads = ((0, 1), ())

    forward = staticmethod(np.nextafter)

    def backward(self, g, out, x, y):
        nx, ny = self.needs_input_grad
        return (g * (raw(x) != raw(y)) if nx else None), (g * 0 if ny else None)


# --- the functions users call ------------------------------------------------------------------

def atan2(input, other):
    """atan2(input, other), the angle of the point (other, input)"""
    _tensor_only(input, other, "atan2")
    return apply2(Atan2(), *_floats(input, other, "atan2"))


arctan2 = atan2


def hypot(input, other):
    """sqrt(input² + other²) without overflow"""
    _tensor_only(input, other, "hypot")
    return apply2(Hypot(), *_float_only(input, other, "hypot"))


def copysign(input, other):
    """|input| with the sign of other (-0.0 counts as negative)"""
    _tensor_only(input, None, "copysign")
    return apply2(Copysign(), *_floats(input, other, "copysign"))


def _modulo(node_cls, name, int_array):
    def op(input, other):
        x, y = binary_operands(input, other, name)
        if x.data.dtype.kind in "biu":  # integers: exact, no gradient
            _check_divisor(x, y, name)
            return Tensor._const(int_array(x.data, y.data))
        return apply2(node_cls(), x, y)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = node_cls.__doc__
    return op


remainder = _modulo(Remainder, "remainder", np.remainder)
_fmod = _modulo(Fmod, "fmod", np.fmod)


def fmod(input, other):
    """x - trunc(x / y) y, the C remainder (sign of x); dx = g, dy = -g trunc(x / y)"""
    _tensor_only(input, None, "fmod")
    return _fmod(input, other)


def _trunc_div(x, y):
    if x.dtype.kind == "f":
        with np.errstate(all="ignore"):
            return np.trunc(x / y)
    q = np.abs(x) // np.abs(y)
    return np.where((x < 0) != (y < 0), -q, q).astype(np.result_type(x, y), copy=False)


def rounded_div(x, y, rounding_mode):
    """x / y rounded toward zero ('trunc') or down ('floor'); integers stay integers. Piecewise
    constant: no gradient."""
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found {rounding_mode!r}")
    x, y = promote(x, y, "div")
    _not_for(x, "b", "div", "numbers, not bool tensors (convert with .long())")
    _check_divisor(x, y, "div")
    if x.data.dtype.kind == "f" and (x._requires_grad or y._requires_grad):
        x, y = binary_operands(x, y, "div")  # recorded with a zero gradient, as PyTorch
        return apply2(RoundedDiv(rounding_mode), x, y)
    return Tensor._const(RoundedDiv.forward_for(rounding_mode, x.data, y.data))


class RoundedDiv(Node):
    """out = trunc(x / y) or floor(x / y) (piecewise constant); dx = dy = 0"""
    __slots__ = ("rounding_mode",)
    reads = ((), ())

    def __init__(self, rounding_mode):
        self.rounding_mode = rounding_mode

    @staticmethod
    def forward_for(rounding_mode, x, y):
        with np.errstate(all="ignore"):
            return (_trunc_div if rounding_mode == "trunc" else np.floor_divide)(x, y)

    def forward(self, x, y):
        return self.forward_for(self.rounding_mode, x, y)

    def backward(self, g, out, x, y):
        nx, ny = self.needs_input_grad
        return (g * 0 if nx else None), (g * 0 if ny else None)


def floor_divide(input, other):
    """floor(input / other) (PyTorch now floors); integers stay integers. No gradient."""
    return rounded_div(input, other, "floor")


def _fminmax(node_cls, name):
    def op(input, other):
        _tensor_only(input, other, name)
        x, y = binary_operands(input, other, name)
        if x.data.dtype.kind != "f":
            return Tensor._const(node_cls.forward(x.data, y.data))
        return apply2(node_cls(), x, y)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = node_cls.__doc__
    return op


fmax = _fminmax(Fmax, "fmax")
fmin = _fminmax(Fmin, "fmin")


def logaddexp(input, other):
    """log(exp(input) + exp(other)), without overflow"""
    _tensor_only(input, other, "logaddexp")
    return apply2(Logaddexp(), *_float_only(input, other, "logaddexp"))


def logaddexp2(input, other):
    """log2(2**input + 2**other) = logaddexp(input ln2, other ln2) / ln2"""
    _tensor_only(input, other, "logaddexp2")
    x, y = _float_only(input, other, "logaddexp2")
    return logaddexp(x * _LN2, y * _LN2) / _LN2


def lerp(input, end, weight):
    """input + weight (end - input); weight a number or a tensor"""
    _tensor_only(input, end, "lerp", ("input", "end"))
    x, end = tensor_arg(input, "lerp"), tensor_arg(end, "lerp", "end")
    _not_for(x, "biu", "lerp", "floating-point tensors (convert with .float())")
    for v, name in ((end, "end"), (weight, "weight")):
        # (a 0-d weight of any dtype is a number to PyTorch)
        if isinstance(v, Tensor) and v.dtype != x.dtype and (v is end or v.ndim):
            raise RuntimeError(f"lerp: expected dtype {x.dtype} for `{name}` (input's dtype) "
                               f"but got {v.dtype}; convert it with .to({x.dtype})")
    return x + weight * (end - x)


def xlogy(input, other):
    """input * log(other), 0 where input == 0 (unless other is NaN)"""
    return apply2(Xlogy(), *_floats(input, other, "xlogy"))


def _double(v, op):
    if isinstance(v, _NUMBERS):
        return float(v) if isinstance(v, (float, np.floating)) else v
    return cast(tensor_arg(v, op), float64)


def float_power(input, exponent):
    """input ** exponent computed in float64 (the result is float64, as in PyTorch)"""
    if isinstance(input, _NUMBERS) and isinstance(exponent, _NUMBERS):
        raise TypeError("float_power(): one of input and exponent must be a Tensor")
    base = _double(input, "float_power")
    if isinstance(base, _NUMBERS):
        base = Tensor._const(np.asarray(base, float64))
    return pow(base, _double(exponent, "float_power"))


def ldexp(input, other):
    """input * 2 ** other"""
    _tensor_only(input, other, "ldexp")
    return mul(input, pow(2.0, other))


def nextafter(input, other):
    """the next floating-point value after input toward other; dx = g"""
    _tensor_only(input, other, "nextafter")
    return apply2(Nextafter(), *_float_only(input, other, "nextafter"))


def _quiet(ufunc):
    def quiet(*arrays):
        with np.errstate(all="ignore"):
            return ufunc(*arrays)
    return quiet


def _integer_op(ufunc, name, doc, numbers=True):
    quiet = _quiet(ufunc)

    def op(input, other):
        if not numbers:
            _tensor_only(input, other, name)
        x, y = _integers(input, other, name)
        return constant_result(quiet, x, y)  # (recorded by autodiff.compile)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc + " (no gradient)"
    return op


gcd = _integer_op(np.gcd, "gcd", "greatest common divisor", numbers=False)
lcm = _integer_op(np.lcm, "lcm", "least common multiple", numbers=False)
bitwise_and = _integer_op(np.bitwise_and, "bitwise_and", "x & y (logical for bool tensors)")
bitwise_or = _integer_op(np.bitwise_or, "bitwise_or", "x | y (logical for bool tensors)")
bitwise_xor = _integer_op(np.bitwise_xor, "bitwise_xor", "x ^ y (logical for bool tensors)")


def _shift(ufunc, name):
    # bool tensors shift as integers (True << 1 == 2), as in PyTorch
    def op(input, other):
        x, y = _integers(input, other, name)
        if x.data.dtype.kind == "b":
            x, y = x.long(), y.long()
        return Tensor._const(ufunc(x.data, y.data))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"x {'<<' if ufunc is np.left_shift else '>>'} y (no gradient)"
    return op


bitwise_left_shift = _shift(np.left_shift, "bitwise_left_shift")
bitwise_right_shift = _shift(np.right_shift, "bitwise_right_shift")


def bitwise_not(input):
    """~x (logical not for bool tensors; no gradient)"""
    x = tensor_arg(input, "bitwise_not")
    _not_for(x, "fc", "bitwise_not", "integer or bool tensors")
    return constant_result(np.invert, x)  # (recorded by autodiff.compile)


def _invert(self):
    """~x (logical not for bool tensors; no gradient)"""
    if self.data.dtype.kind not in "biu":  # (TypeError for the operator, as PyTorch)
        raise TypeError(f"~ (operator.invert) is only implemented on integer and bool tensors, "
                        f"got dtype {self.data.dtype}")
    return bitwise_not(self)


def heaviside(input, values):
    """0 where input < 0, values where input == 0, 1 where input > 0 (no gradient)"""
    _tensor_only(input, values, "heaviside", ("input", "values"))
    x, v = tensor_arg(input, "heaviside"), tensor_arg(values, "heaviside", "values")
    if x.dtype != v.dtype:
        raise RuntimeError(f"heaviside is not yet implemented for tensors with different dtypes "
                           f"(input {x.dtype}, values {v.dtype}); convert values with "
                           f".to({x.dtype})")
    x, v = binary_operands(x, v, "heaviside")
    return Tensor._const(np.where(x.data == 0, v.data, x.data > 0).astype(x.dtype))


def clamp_min(input, min):
    """max(input, min); at the bound the gradient passes"""
    _tensor_only(input, None, "clamp_min")
    return clamp(input, min=min)


def clamp_max(input, max):
    """min(input, max); at the bound the gradient passes"""
    _tensor_only(input, None, "clamp_max")
    return clamp(input, max=max)


def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2"""
    return add(input, mul(tensor1, tensor2), alpha=value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 / tensor2"""
    t1, t2 = tensor_arg(tensor1, "addcdiv", "tensor1"), tensor_arg(tensor2, "addcdiv", "tensor2")
    if t1.data.dtype.kind in "biu" and t2.data.dtype.kind in "biu":
        raise RuntimeError("addcdiv: integer division with addcdiv is not supported (PyTorch "
                           "removed it); use floating-point tensor1 or tensor2, or "
                           "addcmul(input, tensor1, 1 / tensor2)")
    return add(input, div(t1, t2), alpha=value)


divide = true_divide = div
multiply = mul
subtract = sub


def _float_power_(self, exponent):
    """self = float_power(self, exponent), in place (self must be float64, as in PyTorch)"""
    if self.dtype != float64:
        raise RuntimeError(f"float_power_: the base given to float_power_ has dtype {self.dtype} "
                           f"but the operation's result requires dtype float64; use "
                           f"x.double() first, or the out-of-place float_power")
    return _in_place(float_power, "float_power_", single=False)(self, exponent)


def _swap(fn):
    def reflected(self, other):
        return fn(other, self)
    reflected.__name__ = reflected.__qualname__ = fn.__name__
    return reflected


__all__ = ["atan2", "arctan2", "hypot", "copysign", "fmod", "remainder", "floor_divide",
           "fmax", "fmin", "logaddexp", "logaddexp2", "lerp", "xlogy", "float_power", "ldexp",
           "nextafter", "gcd", "lcm", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
           "bitwise_left_shift", "bitwise_right_shift", "heaviside", "clamp_min", "clamp_max",
           "addcmul", "addcdiv", "divide", "true_divide", "multiply", "subtract"]

# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {name: globals()[name] for name in __all__}
_COMPOSED = {"logaddexp2", "ldexp"}
METHODS.update({name + "_": _in_place(globals()[name], name + "_", single=name not in _COMPOSED)
                for name in ("atan2", "arctan2", "hypot", "copysign", "fmod", "remainder",
                             "floor_divide", "xlogy", "ldexp", "nextafter", "gcd", "lcm",
                             "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
                             "bitwise_left_shift", "bitwise_right_shift", "heaviside")})
METHODS.update({
    "float_power_": _float_power_, "divide_": div_, "true_divide_": div_, "multiply_": mul_,
    "subtract_": sub_,
    "__mod__": remainder, "__rmod__": _swap(remainder), "__floordiv__": floor_divide,
    "__rfloordiv__": _swap(floor_divide), "__lshift__": bitwise_left_shift,
    "__rlshift__": _swap(bitwise_left_shift), "__rshift__": bitwise_right_shift,
    "__rrshift__": _swap(bitwise_right_shift), "__and__": bitwise_and,
    "__rand__": _swap(bitwise_and), "__or__": bitwise_or, "__ror__": _swap(bitwise_or),
    "__xor__": bitwise_xor, "__rxor__": _swap(bitwise_xor), "__invert__": _invert,
})
METHODS.update({f"__i{op}__": METHODS[f"{name}_"] for op, name in (
    ("mod", "remainder"), ("floordiv", "floor_divide"), ("lshift", "bitwise_left_shift"),
    ("rshift", "bitwise_right_shift"), ("and", "bitwise_and"), ("or", "bitwise_or"),
    ("xor", "bitwise_xor"))})
