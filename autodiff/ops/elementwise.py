"""Elementwise primitives: forward on ndarrays, backward in differentiable Tensor ops.

Operands arrive with equal shapes, or as constants numpy broadcasts (see _operands.py), so no
rule here thinks about shapes. Subgradients at kinks follow the table in README ("Subgradients").
"""
import numpy as np

from ..dtypes import get_default_dtype
from ..function import Node, apply1, apply2, applyn
from ..tensor import Tensor
from ._operands import binary_operands, broadcast_operands, promote, tensor_arg


def _const(arr):
    return Tensor._const(arr)


def _guard(g, x, safe):
    """x with `safe` where g == 0: a zero upstream gradient then yields exactly zero, never
    0 * inf = NaN (so where(x > 0, sqrt(x), x) has a clean gradient at negative x)."""
    zero = g.data == 0
    if not zero.any():
        return x
    return where(_const(zero), safe, x)


def _guard_array(g, x, safe):
    """_guard for ndarrays (the backward_arrays rules)."""
    zero = g == 0
    if not zero.any():
        return x
    return np.where(zero, safe, x).astype(x.dtype, copy=False)


# --- arithmetic --------------------------------------------------------------------------------

class Add(Node):
    """out = x + y; dx = g, dy = g"""
    __slots__ = ()

    forward = staticmethod(np.add)  # the ufunc itself: no Python frame per op

    def backward(self, g):
        return g, g

    def backward_arrays(self, g):
        return g, g


class Sub(Node):
    """out = x - y; dx = g, dy = -g"""
    __slots__ = ()

    forward = staticmethod(np.subtract)

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)

    def backward_arrays(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Node):
    """out = x * y; dx = g * y, dy = g * x"""
    __slots__ = ()

    forward = staticmethod(np.multiply)

    def backward(self, g):
        x, y = self.inputs
        nx, ny = self.needs_input_grad
        return (g * y if nx else None), (g * x if ny else None)

    def backward_arrays(self, g):
        x, y = self.inputs
        if x is y:  # x * x: one product on one edge (the same sum as two)
            return g * (2 * x.data), None
        nx, ny = self.needs_input_grad
        return (g * y.data if nx else None), (g * x.data if ny else None)


class Div(Node):
    """out = x / y; dx = g / y, dy = -g * x / y**2"""
    __slots__ = ()

    forward = staticmethod(np.true_divide)

    def backward(self, g):
        x, y = self.inputs
        nx, ny = self.needs_input_grad
        y = _guard(g, y, 1.0)
        gx = g / y if nx else None
        gy = -g * x / (y * y) if ny else None
        return gx, gy

    def backward_arrays(self, g):
        x, y = self.inputs
        nx, ny = self.needs_input_grad
        y = _guard_array(g, y.data, 1.0)
        gx = g / y if nx else None
        gy = -g * x.data / (y * y) if ny else None
        return gx, gy


class Neg(Node):
    """out = -x; dx = -g"""
    __slots__ = ()

    forward = staticmethod(np.negative)

    def backward(self, g):
        return (-g,)

    def backward_arrays(self, g):
        return (-g,)


class PowScalar(Node):
    """out = x ** p (p a number); dx = g * p * x ** (p - 1)"""
    __slots__ = ("exponent",)

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, x):
        p = self.exponent
        return x * x if p == 2 else x ** np.asarray(p, x.dtype)

    def backward(self, g):
        x, = self.inputs
        p = self.exponent
        if p == 0:
            return (g * 0.0,)
        if p == 1:
            return (g,)
        if p == 2:
            return (g * (2.0 * x),)
        if p < 1:
            x = _guard(g, x, 1.0)
        return (g * (p * pow_scalar(x, p - 1)),)

    def backward_arrays(self, g):
        x = self.inputs[0].data
        p = self.exponent
        if p == 0:
            return (g * 0.0,)
        if p == 1:
            return (g,)
        if p == 2:
            return (g * (2.0 * x),)
        if p < 1:
            x = _guard_array(g, x, 1.0)
        return (g * (p * x ** np.asarray(p - 1, x.dtype)),)


class Pow(Node):
    """out = x ** y; dx = g * y * x ** (y - 1), dy = g * out * log(x) (0 where x == 0)"""
    __slots__ = ("out",)
    saved = ("out",)

    def forward(self, x, y):
        self.out = x ** y
        return self.out

    def backward(self, g):
        x, y = self.inputs
        nx, ny = self.needs_input_grad
        gx = None
        if nx:  # y * x**(y - 1), which is 0 (not 0 * inf) where x == y == 0
            zero = (y.data == 0) & (x.data == 0)
            exponent = where(_const(zero), 1.0, y - 1.0) if zero.any() else y - 1.0
            gx = g * y * x ** exponent
        gy = None
        if ny:
            safe_x = where(_const(x.data == 0), 1.0, x)
            gy = g * self.output() * log(safe_x)
        return gx, gy


# --- unary functions ---------------------------------------------------------------------------

class Exp(Node):
    """out = exp(x); dx = g * out"""
    __slots__ = ("out",)
    saved = ("out",)

    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, g):
        # guarded: an overflowed out (inf) in a branch `where` left unselected gets g = 0
        return (g * _guard(g, self.output(), 0.0),)

    def backward_arrays(self, g):
        return (g * _guard_array(g, self.out, 0.0),)


class Log(Node):
    """out = log(x); dx = g / x"""
    __slots__ = ()

    def forward(self, x):
        return np.log(x)

    def backward(self, g):
        x, = self.inputs
        return (g / _guard(g, x, 1.0),)

    def backward_arrays(self, g):
        return (g / _guard_array(g, self.inputs[0].data, 1.0),)


class Log1p(Node):
    """out = log(1 + x); dx = g / (1 + x)"""
    __slots__ = ()

    def forward(self, x):
        return np.log1p(x)

    def backward(self, g):
        x, = self.inputs
        return (g / (1.0 + _guard(g, x, 0.0)),)

    def backward_arrays(self, g):
        return (g / (1.0 + _guard_array(g, self.inputs[0].data, 0.0)),)


class Sqrt(Node):
    """out = sqrt(x); dx = g / (2 * out)"""
    __slots__ = ("out",)
    saved = ("out",)

    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out

    def backward(self, g):
        return (g / (2.0 * _guard(g, self.output(), 1.0)),)

    def backward_arrays(self, g):
        return (g / (2.0 * _guard_array(g, self.out, 1.0)),)


class Sin(Node):
    """out = sin(x); dx = g * cos(x)"""
    __slots__ = ()

    def forward(self, x):
        return np.sin(x)

    def backward(self, g):
        return (g * cos(self.inputs[0]),)

    def backward_arrays(self, g):
        return (g * np.cos(self.inputs[0].data),)


class Cos(Node):
    """out = cos(x); dx = -g * sin(x)"""
    __slots__ = ()

    def forward(self, x):
        return np.cos(x)

    def backward(self, g):
        return (-g * sin(self.inputs[0]),)

    def backward_arrays(self, g):
        return (-g * np.sin(self.inputs[0].data),)


class Tanh(Node):
    """out = tanh(x); dx = g * (1 - out**2)"""
    __slots__ = ("out",)
    saved = ("out",)

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, g):
        return (tanh_backward(g, self.output()),)

    def backward_arrays(self, g):
        y = self.out
        return (g * (1 - y * y),)


class TanhBackward(Node):
    """out = g * (1 - y**2), tanh's local rule as one op; dg = gg * (1 - y**2),
    dy = -2 * gg * g * y"""
    __slots__ = ()

    def forward(self, g, y):
        return g * (1 - y * y)

    def backward(self, gg):
        g, y = self.inputs
        ng, ny = self.needs_input_grad
        return (tanh_backward(gg, y) if ng else None), (-2.0 * gg * g * y if ny else None)


class Sigmoid(Node):
    """out = 1 / (1 + exp(-x)), computed without overflow; dx = g * out * (1 - out)"""
    __slots__ = ("out",)
    saved = ("out",)

    def forward(self, x):
        e = np.exp(-np.abs(x))
        self.out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)
        return self.out

    def backward(self, g):
        return (sigmoid_backward(g, self.output()),)

    def backward_arrays(self, g):
        y = self.out
        return (g * y * (1 - y),)


class SigmoidBackward(Node):
    """out = g * y * (1 - y), sigmoid's local rule as one op; dg = gg * y * (1 - y),
    dy = gg * g * (1 - 2 y)"""
    __slots__ = ()

    def forward(self, g, y):
        return g * y * (1 - y)

    def backward(self, gg):
        g, y = self.inputs
        ng, ny = self.needs_input_grad
        return ((sigmoid_backward(gg, y) if ng else None),
                (gg * g * (1.0 - 2.0 * y) if ny else None))


# erfc(z) = s exp(-z^2 + P(s)), s = 2 / (2 + z), z >= 0: P is a degree-12 least-squares fit of
# log(exp(z^2) erfc(z) / s) on s in [0, 1] (Chebyshev nodes, references from math.erfc), after
# Numerical Recipes' erfcc; max |error| 4e-9. Below |x| = 0.5 the Maclaurin series is used
# instead, which keeps the relative error at float64 rounding near 0.
_ERFC_COEFFS = (-1.2655121177480113, 0.9999980468810153, 0.3751098299654444,
                0.08091932197160573, -0.05860062226895224, -0.32548998378454114,
                0.6665119985154705, -2.011028455166486, 3.6426055403837525,
                -3.5058884280757705, 1.8539807098888654, -0.5073755629671358,
                0.05476971847105556)
_TWO_OVER_SQRT_PI = 1.1283791670955126


def _erf_array(x):
    x64 = x.astype(np.float64, copy=False)
    a = np.abs(x64)
    x2 = x64 * x64
    term, series = x64.copy(), x64.copy()
    for n in range(1, 14):  # sum (-1)^n x^(2n+1) / (n! (2n+1)), exact enough for |x| < 0.5
        term = term * (-x2) / n
        series += term / (2 * n + 1)
    s = 2.0 / (2.0 + a)
    p = np.full(a.shape, _ERFC_COEFFS[-1])
    for c in _ERFC_COEFFS[-2::-1]:
        p = p * s + c
    with np.errstate(over="ignore", under="ignore"):
        big = np.sign(x64) * (1.0 - s * np.exp(p - x2))
    return np.where(a < 0.5, _TWO_OVER_SQRT_PI * series, big).astype(x.dtype, copy=False)


class Erf(Node):
    """out = erf(x) (max error 4e-9); dx = g * 2/sqrt(pi) * exp(-x**2)"""
    __slots__ = ()

    def forward(self, x):
        return _erf_array(x)

    def backward(self, g):
        x, = self.inputs
        return (g * (exp(-(x * x)) * _TWO_OVER_SQRT_PI),)

    def backward_arrays(self, g):
        x = self.inputs[0].data
        return (g * (np.exp(-(x * x)) * _TWO_OVER_SQRT_PI),)


class Relu(Node):
    """out = max(x, 0); dx = g * (x > 0)   (relu'(0) = 0)"""
    __slots__ = ()

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, g):
        x = self.inputs[0].data
        return (g * _const((x > 0).astype(x.dtype)),)

    def backward_arrays(self, g):
        return (g * (self.inputs[0].data > 0),)


class Abs(Node):
    """out = |x|; dx = g * sign(x)   (abs'(0) = 0)"""
    __slots__ = ()

    def forward(self, x):
        return np.abs(x)

    def backward(self, g):
        return (g * _const(np.sign(self.inputs[0].data)),)

    def backward_arrays(self, g):
        return (g * np.sign(self.inputs[0].data),)


class Clamp(Node):
    """out = min(max(x, lo), hi); dx = g where lo <= x <= hi (a bound passes the gradient)"""
    __slots__ = ("min", "max")

    def __init__(self, lo, hi):
        self.min, self.max = lo, hi

    def forward(self, x):
        return np.clip(x, self.min, self.max)

    def backward(self, g):
        x = self.inputs[0].data
        keep = np.ones(x.shape, bool)
        if self.min is not None:
            keep &= x >= self.min
        if self.max is not None:
            keep &= x <= self.max
        return (g * _const(keep),)

    def backward_arrays(self, g):
        x = self.inputs[0].data
        keep = np.ones(x.shape, bool)
        if self.min is not None:
            keep &= x >= self.min
        if self.max is not None:
            keep &= x <= self.max
        return (g * keep,)


class Maximum(Node):
    """out = max(x, y); the larger input gets g, ties split it evenly"""
    __slots__ = ()

    def forward(self, x, y):
        return np.maximum(x, y)

    def backward(self, g):
        x, y = self.inputs
        share = (x.data > y.data) + 0.5 * (x.data == y.data)
        nx, ny = self.needs_input_grad
        return (g * _const(share.astype(g.dtype)) if nx else None,
                g * _const((1.0 - share).astype(g.dtype)) if ny else None)

    def backward_arrays(self, g):
        x, y = self.inputs[0].data, self.inputs[1].data
        share = ((x > y) + 0.5 * (x == y)).astype(g.dtype)
        nx, ny = self.needs_input_grad
        return (g * share if nx else None), (g * (1 - share) if ny else None)


class Minimum(Node):
    """out = min(x, y); the smaller input gets g, ties split it evenly"""
    __slots__ = ()

    def forward(self, x, y):
        return np.minimum(x, y)

    def backward(self, g):
        x, y = self.inputs
        share = (x.data < y.data) + 0.5 * (x.data == y.data)
        nx, ny = self.needs_input_grad
        return (g * _const(share.astype(g.dtype)) if nx else None,
                g * _const((1.0 - share).astype(g.dtype)) if ny else None)

    def backward_arrays(self, g):
        x, y = self.inputs[0].data, self.inputs[1].data
        share = ((x < y) + 0.5 * (x == y)).astype(g.dtype)
        nx, ny = self.needs_input_grad
        return (g * share if nx else None), (g * (1 - share) if ny else None)


class Where(Node):
    """out = cond ? x : y; dx = g masked to cond, dy = g masked to not cond (a masked select,
    so NaN in the unselected branch never reaches the gradient)"""
    __slots__ = ()

    def forward(self, cond, x, y):
        return np.where(cond, x, y)

    def backward(self, g):
        cond, x, y = self.inputs
        _, nx, ny = self.needs_input_grad
        zero = _const(np.zeros((), g.dtype))
        return (None, where(cond, g, zero) if nx else None, where(cond, zero, g) if ny else None)

    def backward_arrays(self, g):
        cond = self.inputs[0].data
        _, nx, ny = self.needs_input_grad
        zero = np.zeros((), g.dtype)
        return (None, np.where(cond, g, zero) if nx else None,
                np.where(cond, zero, g) if ny else None)


class Cast(Node):
    """out = x as another float dtype; dx = g cast back"""
    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, g):
        return (cast(g, self.inputs[0].data.dtype),)

    def backward_arrays(self, g):
        return (g.astype(self.inputs[0].data.dtype),)


# --- the functions users call ------------------------------------------------------------------

def add(x, y, *, alpha=1):
    """x + alpha * y"""
    if alpha != 1:
        y = mul(y, alpha)
    x, y = binary_operands(x, y, "add")
    return apply2(Add(), x, y)


def sub(x, y, *, alpha=1):
    """x - alpha * y"""
    if alpha != 1:
        y = mul(y, alpha)
    x, y = binary_operands(x, y, "sub")
    return apply2(Sub(), x, y)


def mul(x, y):
    """x * y (elementwise)"""
    x, y = binary_operands(x, y, "mul")
    return apply2(Mul(), x, y)


def div(x, y):
    """x / y (true division; integers give the default float dtype)"""
    x, y = binary_operands(x, y, "div")
    if x.data.dtype.kind != "f":
        x, y = x.to(get_default_dtype()), y.to(get_default_dtype())
    return apply2(Div(), x, y)


def neg(x):
    return apply1(Neg(), tensor_arg(x, "neg"))


def pow_scalar(x, p):
    return apply1(PowScalar(p), x)


def pow(x, exponent):
    """x ** exponent; a number exponent uses the cheaper rule p * x ** (p - 1)"""
    if isinstance(exponent, (int, float, np.number)) and isinstance(x, Tensor):
        if x.data.dtype.kind != "f" and (isinstance(exponent, (float, np.floating))
                                         or exponent < 0):
            x = x.to(get_default_dtype())
        return apply1(PowScalar(exponent), x)
    x, y = binary_operands(x, exponent, "pow")
    return apply2(Pow(), x, y)


def _unary(node_cls, name, float_only=True):
    def op(x):
        if not isinstance(x, Tensor):
            x = tensor_arg(x, name)
        # (a tensor that requires grad is floating point already)
        if float_only and not x._requires_grad and x.data.dtype.kind != "f":
            x = x.to(get_default_dtype())
        return apply1(node_cls(), x)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = node_cls.__doc__
    return op


exp = _unary(Exp, "exp")
log = _unary(Log, "log")
log1p = _unary(Log1p, "log1p")
sqrt = _unary(Sqrt, "sqrt")
sin = _unary(Sin, "sin")
cos = _unary(Cos, "cos")
tanh = _unary(Tanh, "tanh")
sigmoid = _unary(Sigmoid, "sigmoid")
relu = _unary(Relu, "relu", float_only=False)
erf = _unary(Erf, "erf")
abs = _unary(Abs, "abs", float_only=False)


def tanh_backward(g, y):
    """g * (1 - y**2): the gradient of tanh given its output y (differentiable in g and y)"""
    g, y = binary_operands(g, y, "tanh_backward")
    return apply2(TanhBackward(), g, y)


def sigmoid_backward(g, y):
    """g * y * (1 - y): the gradient of sigmoid given its output y (differentiable in g and y)"""
    g, y = binary_operands(g, y, "sigmoid_backward")
    return apply2(SigmoidBackward(), g, y)


def clamp(x, min=None, max=None):
    """Limits x to [min, max]; at a bound the gradient passes through. Bounds may be tensors."""
    x = tensor_arg(x, "clamp")
    if min is None and max is None:
        raise ValueError("clamp: give at least one of min and max")
    if x.data.dtype.kind != "f" and any(isinstance(b, (float, np.floating)) for b in (min, max)):
        x = x.to(get_default_dtype())  # int tensor, float bound: the default float dtype
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = where(lt(out, min), min, out)
        if max is not None:
            out = where(gt(out, max), max, out)
        return out
    return apply1(Clamp(min, max), x)


clip = clamp


def maximum(x, y):
    """Elementwise max; ties split the gradient evenly"""
    x, y = binary_operands(x, y, "maximum")
    return apply2(Maximum(), x, y)


def minimum(x, y):
    """Elementwise min; ties split the gradient evenly"""
    x, y = binary_operands(x, y, "minimum")
    return apply2(Minimum(), x, y)


def where(condition, x, y):
    """x where condition holds, else y (all three broadcast)"""
    cond = tensor_arg(condition, "where", "condition")
    if cond.data.dtype != np.bool_:
        cond = Tensor._const(cond.data.astype(bool))
    x, y = promote(x, y, "where")
    if not (cond.data.shape == x.data.shape == y.data.shape):
        cond, x, y = broadcast_operands("where", cond, x, y)
    return applyn(Where(), cond, x, y)


def cast(x, dtype):
    """x converted to dtype (differentiable between float dtypes)"""
    x = tensor_arg(x, "to")
    dtype = np.dtype(dtype)
    if x.data.dtype == dtype:
        return x
    if dtype.kind == "f" and x.data.dtype.kind == "f":
        return apply1(Cast(dtype), x)
    return Tensor._const(x.data.astype(dtype))


# --- comparisons and logic: no gradient --------------------------------------------------------

def _compare(ufunc, name):
    def op(x, y):
        x, y = promote(x, y, name)
        return Tensor._const(ufunc(x.data, y.data))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"elementwise {name} (a bool tensor, no gradient)"
    return op


lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")
eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
logical_and = _compare(np.logical_and, "logical_and")
logical_or = _compare(np.logical_or, "logical_or")
logical_xor = _compare(np.logical_xor, "logical_xor")


def logical_not(x):
    return Tensor._const(np.logical_not(tensor_arg(x, "logical_not").data))


def sign(x):
    """-1, 0 or 1 (no gradient)"""
    return Tensor._const(np.sign(tensor_arg(x, "sign").data))


def isnan(x):
    return Tensor._const(np.isnan(tensor_arg(x, "isnan").data))


def isfinite(x):
    return Tensor._const(np.isfinite(tensor_arg(x, "isfinite").data))


def floor(x):
    """floor (no gradient; piecewise constant)"""
    return Tensor._const(np.floor(tensor_arg(x, "floor").data))


def ceil(x):
    """ceil (no gradient; piecewise constant)"""
    return Tensor._const(np.ceil(tensor_arg(x, "ceil").data))


def round(x):
    """round half to even (no gradient; piecewise constant)"""
    return Tensor._const(np.round(tensor_arg(x, "round").data))


__all__ = ['add', 'sub', 'mul', 'div', 'neg', 'pow', 'exp', 'log', 'log1p', 'sqrt',
           'sin', 'cos', 'tanh', 'sigmoid', 'erf', 'tanh_backward', 'sigmoid_backward',
           'relu', 'abs', 'clamp', 'clip', 'maximum', 'minimum', 'where', 'cast', 'lt',
           'le', 'gt', 'ge', 'eq', 'ne', 'logical_and', 'logical_or', 'logical_xor',
           'logical_not', 'sign', 'isnan', 'isfinite', 'floor', 'ceil', 'round']
