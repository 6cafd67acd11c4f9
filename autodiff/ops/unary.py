"""Elementwise functions of one tensor beyond the core set: trigonometric and hyperbolic, exp/log
variants, rounding parts, sign predicates, nan_to_num."""
import math

import numpy as np

from ..dtypes import get_default_dtype
from ..function import OUT, Node, apply1
from ..inplace import _unary as _in_place
from ._operands import tensor_arg
from .elementwise import Sqrt, _guard, _no_gradient, _step, _unary, abs, neg, raw, sin, where

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _reciprocal(a):
    return np.reciprocal(a)


# --- trigonometric and hyperbolic --------------------------------------------------------------

class Tan(Node):
    """out = tan(x); dx = g * (1 + out**2)"""
    __slots__ = ("out",)
    reads = ((OUT,),)
    saved = ("out",)

    def forward(self, x):
        self.out = np.tan(x)
        return self.out

    def backward(self, g, out, x):
        return (g * (1 + out * out),)


class Asin(Node):
    """out = asin(x); dx = g / sqrt(1 - x**2)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.arcsin)

    def backward(self, g, out, x):
        return (g / _guard(g, Sqrt.apply(1 - x * x), _reciprocal, 1),)


class Acos(Node):
    """out = acos(x); dx = -g / sqrt(1 - x**2)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.arccos)

    def backward(self, g, out, x):
        return (-g / _guard(g, Sqrt.apply(1 - x * x), _reciprocal, 1),)


class Atan(Node):
    """out = atan(x); dx = g / (1 + x**2)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.arctan)

    def backward(self, g, out, x):
        return (g / (1 + x * x),)


class Sinh(Node):
    """out = sinh(x); dx = g * cosh(x)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.sinh)

    def backward(self, g, out, x):
        return (g * Cosh.apply(x),)


class Cosh(Node):
    """out = cosh(x); dx = g * sinh(x)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.cosh)

    def backward(self, g, out, x):
        return (g * Sinh.apply(x),)


class Asinh(Node):
    """out = asinh(x); dx = g / sqrt(x**2 + 1)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.arcsinh)

    def backward(self, g, out, x):
        return (g / Sqrt.apply(x * x + 1),)


class Acosh(Node):
    """out = acosh(x); dx = g / sqrt(x**2 - 1)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.arccosh)

    def backward(self, g, out, x):
        return (g / _guard(g, Sqrt.apply(x * x - 1), _reciprocal, 1),)


class Atanh(Node):
    """out = atanh(x); dx = g / (1 - x**2)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.arctanh)

    def backward(self, g, out, x):
        return (g / _guard(g, 1 - x * x, _reciprocal, 1),)


# --- exponentials and logarithms ---------------------------------------------------------------

class Expm1(Node):
    """out = exp(x) - 1; dx = g * (out + 1)"""
    __slots__ = ("out",)
    reads = ((OUT,),)
    saved = ("out",)

    def forward(self, x):
        self.out = np.expm1(x)
        return self.out

    def backward(self, g, out, x):
        return (g * (out + 1),)


class Exp2(Node):
    """out = 2**x; dx = g * out * ln 2"""
    __slots__ = ("out",)
    reads = ((OUT,),)
    saved = ("out",)

    def forward(self, x):
        self.out = np.exp2(x)
        return self.out

    def backward(self, g, out, x):
        return (g * (out * _LN2),)


class Log2(Node):
    """out = log2(x); dx = g / (x ln 2)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.log2)

    def backward(self, g, out, x):
        return (g / (_guard(g, x, _reciprocal, 1) * _LN2),)


class Log10(Node):
    """out = log10(x); dx = g / (x ln 10)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.log10)

    def backward(self, g, out, x):
        return (g / (_guard(g, x, _reciprocal, 1) * _LN10),)


class Logit(Node):
    """out = log(x / (1 - x)); dx = g / (x (1 - x)) (NaN outside [0, 1], as in PyTorch)"""
    __slots__ = ()
    reads = ((0,),)

    @staticmethod
    def forward(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x / (1 - x))

    def backward(self, g, out, x):
        # + 0.0 turns x = -0.0's product -0.0 into +0.0: g * +inf at both edges, as PyTorch
        gx = g / _guard(g, x * (1 - x) + 0.0, _reciprocal, 1)
        outside = (raw(x) < 0) | (raw(x) > 1)
        if outside.any():  # PyTorch: NaN where logit is undefined (not the formula's value)
            gx = gx + np.where(outside, np.nan, 0).astype(raw(x).dtype)
        return (gx,)


class NanToNum(Node):
    """out = x with NaN and infinities replaced; dx = g where x is finite, else 0"""
    __slots__ = ("nan", "posinf", "neginf")
    reads = ((0,),)

    def __init__(self, nan, posinf, neginf):
        self.nan, self.posinf, self.neginf = nan, posinf, neginf

    def forward(self, x):
        return np.nan_to_num(x, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def backward(self, g, out, x):
        return (g * np.isfinite(raw(x)),)


# --- the functions users call ------------------------------------------------------------------

tan = _unary(Tan, "tan")
asin = _unary(Asin, "asin")
acos = _unary(Acos, "acos")
atan = _unary(Atan, "atan")
sinh = _unary(Sinh, "sinh")
cosh = _unary(Cosh, "cosh")
asinh = _unary(Asinh, "asinh")
acosh = _unary(Acosh, "acosh")
atanh = _unary(Atanh, "atanh")
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh
expm1 = _unary(Expm1, "expm1")
exp2 = _unary(Exp2, "exp2")
log2 = _unary(Log2, "log2")
log10 = _unary(Log10, "log10")


def absolute(x):
    """|x| (abs's alias)"""
    x = tensor_arg(x, "absolute")
    if x.data.dtype == np.bool_:
        raise NotImplementedError("absolute: not implemented for bool tensors; convert with "
                                  ".long() first")
    return abs(x)


def _float_arg(x, op):
    """x as a tensor; integer and bool tensors become the default float dtype."""
    x = tensor_arg(x, op)
    return x if x.data.dtype.kind == "f" else x.to(get_default_dtype())


def logit(x, eps=None):
    """log(x / (1 - x)), x first clamped to [eps, 1 - eps] when eps is given (then the gradient
    is 0 outside that range and passes at its bounds, as in PyTorch)"""
    x = _float_arg(x, "logit")
    if eps is not None:
        inside = (x.data >= eps) & (x.data <= 1 - eps)
        if not inside.all():  # the clamped values are constants: their gradient is exactly 0
            x = where(inside, x, np.clip(x.data, eps, 1 - eps))
    return apply1(Logit(), x)


def sinc(x):
    """sin(pi x) / (pi x), 1 at x = 0 (where the gradient is 0, as in PyTorch)"""
    x = _float_arg(x, "sinc")
    zero = x.data == 0
    if not zero.any():
        px = x * math.pi
        return sin(px) / px
    px = where(zero, 1.0, x) * math.pi  # (a masked select: 0/0 never reaches the gradient)
    return where(zero, 1.0, sin(px) / px)


def _no_integer(x, op):
    if x.data.dtype.kind != "f":
        raise NotImplementedError(f"{op}: not implemented for dtype {x.data.dtype}; it needs a "
                                  f"floating-point tensor (convert with .float())")


def _no_bool(array_fn, name):
    def fn(x):
        if x.dtype == np.bool_:
            raise NotImplementedError(f"{name}: not implemented for bool tensors; convert with "
                                      f".long() or .float() first")
        return array_fn(x)
    return fn


def _trunc_array(x):
    return np.trunc(x) if x.dtype.kind == "f" else x.copy()  # (np.trunc makes ints float)


def _sgn_array(x):
    if x.dtype.kind == "b":
        return x.copy()
    out = np.sign(x)
    return np.where(np.isnan(out), 0, out).astype(x.dtype) if x.dtype.kind == "f" else out


trunc = _step(_no_bool(_trunc_array, "trunc"), "trunc", "rounded toward zero")
fix = _step(_no_bool(_trunc_array, "fix"), "fix", "rounded toward zero, trunc's alias")
sgn = _step(_sgn_array, "sgn", "-1, 0 or 1 (0 at NaN, as PyTorch)")
signbit = _no_gradient(np.signbit, "signbit", "True where the sign bit is set (-0.0 too)")


def frac(x):
    """x - trunc(x) (the fractional part, sign of x); dx = g"""
    x = tensor_arg(x, "frac")
    _no_integer(x, "frac")
    return x - trunc(x)


def deg2rad(x):
    """x * pi / 180"""
    return _float_arg(x, "deg2rad") * (math.pi / 180)


def rad2deg(x):
    """x * 180 / pi"""
    return _float_arg(x, "rad2deg") * (180 / math.pi)


def reciprocal(x):
    """1 / x (integers give the default float dtype)"""
    return 1.0 / _float_arg(x, "reciprocal")


def _not_bool(x, op, symbol):
    x = tensor_arg(x, op)
    if x.data.dtype == np.bool_:
        raise RuntimeError(f"{op}: the `{symbol}` operator on a bool tensor is not supported; "
                           f"convert it first (x.int()), or use logical_not to invert a mask")
    return x


def positive(x):
    """x itself (PyTorch's unary +)"""
    return _not_bool(x, "positive", "+")


def negative(x):
    """-x (neg's alias)"""
    return neg(_not_bool(x, "negative", "-"))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """x with NaN -> nan, +inf -> posinf, -inf -> neginf (default: the dtype's largest and
    smallest finite values); the gradient passes where x is finite"""
    x = tensor_arg(x, "nan_to_num")
    if x.data.dtype.kind != "f":
        return x.clone()  # nothing to replace in an integer or bool tensor
    return apply1(NanToNum(nan, posinf, neginf), x)


__all__ = ["tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsin",
           "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "expm1", "exp2", "log2", "log10",
           "logit", "sinc", "trunc", "fix", "frac", "deg2rad", "rad2deg", "reciprocal",
           "positive", "negative", "sgn", "signbit", "nan_to_num", "absolute"]

# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {name: globals()[name] for name in __all__}
_COMPOSED = {"logit", "sinc", "frac", "deg2rad", "rad2deg", "reciprocal", "negative"}
METHODS.update({name + "_": _in_place(globals()[name], name + "_", single=name not in _COMPOSED)
                for name in __all__ if name not in ("positive", "signbit")})
