"""Elementwise primitives: forward on ndarrays, one backward rule for every order.

Operands arrive with equal shapes, or as constants numpy broadcasts (see _operands.py), so no
rule here thinks about shapes. Subgradients at kinks follow the table in README ("Subgradients").
"""
import numpy as np

from ..dtypes import checked_scalar, get_default_dtype, int64
from ..function import OUT, Node, apply, apply1, apply2, constant_result
from ..tensor import Tensor
from ._operands import promote, tensor_arg
from .broadcast import binary_operands, broadcast_operands



def raw(x):
    """The ndarray behind x (a tensor in a recorded backward pass, or already an array)."""
    return x.data if isinstance(x, Tensor) else x


def _guard(g, x, local, safe):
    """x with `safe` where g == 0 and the local derivative `local(x)` is not finite, so that
    a zero gradient gives exactly 0 there, never 0 * inf = NaN (where(x > 0, sqrt(x), x) has a
    clean gradient at negative x). Every finite derivative, with respect to g included, is
    left as it is."""
    zero = raw(g) == 0
    if not zero.any():
        return x
    with np.errstate(all="ignore"):
        mask = zero & ~np.isfinite(local(raw(x)))
    if not mask.any():
        return x
    return Where.apply(mask, np.asarray(safe, x.dtype), x)


def _itself(a):
    return a


# --- arithmetic --------------------------------------------------------------------------------

class Add(Node):
    """out = x + y; dx = g, dy = g"""
    __slots__ = ()
    reads = ((), ())

    forward = staticmethod(np.add)  # the ufunc itself: no Python frame per op

    def backward(self, g, out, x, y):
        return g, g


class Sub(Node):
    """out = x - y; dx = g, dy = -g"""
    __slots__ = ()
    reads = ((), ())

    forward = staticmethod(np.subtract)

    def backward(self, g, out, x, y):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Node):
    """out = x * y; dx = g * y, dy = g * x"""
    __slots__ = ()
    reads = ((1,), (0,))

    forward = staticmethod(np.multiply)

    def backward(self, g, out, x, y):
        if self.inputs[0] is self.inputs[1]:  # x * x: one product on one edge (the same sum)
            return g * (2 * x), None
        nx, ny = self.needs_input_grad
        return (g * y if nx else None), (g * x if ny else None)


class Div(Node):
    """out = x / y; dx = g / y, dy = -g * x / y**2"""
    __slots__ = ()
    reads = ((1,), (0, 1))

    forward = staticmethod(np.true_divide)

    def backward(self, g, out, x, y):
        nx, ny = self.needs_input_grad
        y = _guard(g, y, np.reciprocal, 1)
        gx = g / y if nx else None
        gy = -g * x / (y * y) if ny else None
        return gx, gy


class Neg(Node):
    """out = -x; dx = -g"""
    __slots__ = ()
    reads = ((),)

    forward = staticmethod(np.negative)

    def backward(self, g, out, x):
        return (-g,)


class PowScalar(Node):
    """out = x ** p (p a number); dx = g * p * x ** (p - 1)"""
    __slots__ = ("exponent",)
    reads = ((0,),)

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, x):
        p = self.exponent
        return x * x if p == 2 else x ** np.asarray(p, x.dtype)

    def backward(self, g, out, x):
        p = self.exponent
        if p == 0:
            return (g * 0,)
        if p == 1:
            return (g,)
        if p == 2:
            return (g * (2 * x),)
        if p < 1:
            x = _guard(g, x, lambda a: a ** (p - 1), 1)
        return (g * (p * x ** (p - 1)),)


def _int_power(x, y):
    """x ** y for integer arrays as PyTorch: a negative exponent gives 1 for base 1, -1 or 1
    for base -1 (odd or even exponent), 0 for any other base (numpy raises ValueError)"""
    neg = y < 0
    if not neg.any():
        return x ** y
    out = x ** np.where(neg, y % 2, y)  # (base +-1 to the exponent's parity)
    return np.where(neg & (x != 1) & (x != -1), 0, out)


class Pow(Node):
    """out = x ** y; dx = g * y * x ** (y - 1), dy = g * out * log(x) (0 where x == 0)"""
    __slots__ = ("out",)
    reads = ((0, 1), (0, OUT))
    saved = ("out",)

    def forward(self, x, y):
        self.out = _int_power(x, y) if x.dtype.kind in "iu" else x ** y
        return self.out

    def backward(self, g, out, x, y):
        nx, ny = self.needs_input_grad
        gx = gy = None
        if nx:  # y * x**(y - 1), which is 0 (not 0 * inf) where x == y == 0
            zero = (raw(y) == 0) & (raw(x) == 0)
            exponent = Where.apply(zero, np.ones((), x.dtype), y - 1) if zero.any() else y - 1
            gx = g * y * x ** exponent
        if ny:  # 0 where x == 0 <= y (PyTorch's mask); out * log(0) = -inf or inf where y < 0
            zero = (raw(x) == 0) & (raw(y) >= 0)
            safe_x = Where.apply(zero, np.ones((), x.dtype), x) if zero.any() else x
            gy = g * out * Log.apply(safe_x)
        return gx, gy


# --- unary functions ---------------------------------------------------------------------------

class Exp(Node):
    """out = exp(x); dx = g * out"""
    __slots__ = ("out",)
    reads = ((OUT,),)
    saved = ("out",)

    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, g, out, x):
        # guarded: an overflowed out (inf) in a branch `where` left unselected gets g = 0
        return (g * _guard(g, out, _itself, 0),)


class Log(Node):
    """out = log(x); dx = g / x"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.log)

    def backward(self, g, out, x):
        return (g / _guard(g, x, np.reciprocal, 1),)


class Log1p(Node):
    """out = log(1 + x); dx = g / (1 + x)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.log1p)

    def backward(self, g, out, x):
        return (g / (1 + _guard(g, x, lambda a: np.reciprocal(1 + a), 0)),)


class Sqrt(Node):
    """out = sqrt(x); dx = g / (2 * out)"""
    __slots__ = ("out",)
    reads = ((OUT,),)
    saved = ("out",)

    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out

    def backward(self, g, out, x):
        return (g / (2 * _guard(g, out, np.reciprocal, 1)),)


class Sin(Node):
    """out = sin(x); dx = g * cos(x)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.sin)

    def backward(self, g, out, x):
        return (g * Cos.apply(x),)


class Cos(Node):
    """out = cos(x); dx = -g * sin(x)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.cos)

    def backward(self, g, out, x):
        return (-g * Sin.apply(x),)


class Tanh(Node):
    """out = tanh(x); dx = g * (1 - out**2)"""
    __slots__ = ("out",)
    reads = ((OUT,),)
    saved = ("out",)

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, g, out, x):
        return (tanh_backward(g, out),)


class TanhBackward(Node):
    """out = g * (1 - y**2), tanh's local rule as one op; dg = gg * (1 - y**2),
    dy = -2 * gg * g * y"""
    __slots__ = ()
    reads = ((1,), (0, 1))

    @staticmethod
    def forward(g, y):
        return g * (1 - y * y)

    def backward(self, gg, out, g, y):
        ng, ny = self.needs_input_grad
        return (tanh_backward(gg, y) if ng else None), (-2 * gg * g * y if ny else None)


class Sigmoid(Node):
    """out = 1 / (1 + exp(-x)), computed without overflow; dx = g * out * (1 - out)"""
    __slots__ = ("out",)
    reads = ((OUT,),)
    saved = ("out",)

    def forward(self, x):
        e = np.exp(-np.abs(x))
        self.out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)
        return self.out

    def backward(self, g, out, x):
        return (sigmoid_backward(g, out),)


class SigmoidBackward(Node):
    """out = g * y * (1 - y), sigmoid's local rule as one op; dg = gg * y * (1 - y),
    dy = gg * g * (1 - 2 y)"""
    __slots__ = ()
    reads = ((1,), (0, 1))

    @staticmethod
    def forward(g, y):
        return g * y * (1 - y)

    def backward(self, gg, out, g, y):
        ng, ny = self.needs_input_grad
        return ((sigmoid_backward(gg, y) if ng else None),
                (gg * g * (1 - 2 * y) if ny else None))


# erf(x) = x P(x^2) / Q(x^2) for |x| <= 4: rational fits made by scripts/fit_erf.py, of
# degrees 10 and 9 for float64 (largest relative error 1.5e-11 against math.erf) and 6 and 5
# for narrower floats (2.0e-9: float32 results are the correctly rounded ones but for about 1 in
# 100, then 1 ulp off), evaluated in float64 in blocks that stay in cache. For |x| > 4,
# erf(x) = sign(x) (1 - erfc|x|) with erfc's asymptotic series (error below 1e-12 there, where
# erfc < 1.6e-8).
_ERF_FITS = {
    64: ((1.1283791671124959, 0.049017663161616876, 0.03897287652722248,
          -0.0015215174012415565, 0.00022806219081286384, -1.7758300028715856e-05,
          7.257294245653832e-07, -1.73939137606853e-08, 2.805148347521903e-10,
          -1.747391048890653e-11, 9.037851238538987e-14),
         (1.0, 0.3767741069945171, 0.06013017543470793, 0.004827115100518936,
          0.0001392837861681617, -7.0628698886349094e-06, -5.176063604518814e-07,
          2.7479928052852783e-08, 5.024206652473389e-10, -9.30540569364721e-11)),
    32: ((1.1283791693773237, 0.1852030707632448, 0.05431689813564044, 0.0038496062189579293,
          0.00037960900158136665, 4.6847851583551755e-06, -1.3202262136740685e-08),
         (1.0, 0.4974653618379267, 0.11395835976541206, 0.015462079635548446,
          0.0013075689607932109, 6.311064864710163e-05)),
}
_ERF_BLOCK = 1 << 14  # elements per block: its four float64 buffers take 512 KB
_TWO_OVER_SQRT_PI = 1.1283791670955126
_SQRT_PI = 1.7724538509055159


def _horner(coeffs, t, out):
    """sum coeffs[k] t^k into out (len(coeffs) >= 2)"""
    np.multiply(t, coeffs[-1], out=out)
    out += coeffs[-2]
    for c in coeffs[-3::-1]:
        out *= t
        out += c
    return out


def _erf_array(x, scale=1.0):
    """erf(scale * x) for a floating-point array x, in x's dtype"""
    x = np.asarray(x)
    out = np.empty(x.shape, x.dtype)
    flat, res, n = x.reshape(-1), out.reshape(-1), x.size
    fit_p, fit_q = _ERF_FITS[64 if x.dtype.itemsize > 4 else 32]
    c, t, p, q = np.empty((4, min(n, _ERF_BLOCK)))
    for lo in range(0, n, _ERF_BLOCK):
        hi = min(lo + _ERF_BLOCK, n)
        m = hi - lo
        cm = np.multiply(flat[lo:hi], scale, out=c[:m])
        np.clip(cm, -4.0, 4.0, out=cm)
        tm = np.multiply(cm, cm, out=t[:m])
        pm = _horner(fit_p, tm, p[:m])
        pm *= cm
        np.divide(pm, _horner(fit_q, tm, q[:m]), out=res[lo:hi], casting="unsafe")
    far = np.abs(x) > 4.0 / scale
    if far.any():  # (rare in practice: one more pass over the few elements)
        xf = x[far].astype(np.float64) * scale
        a = np.abs(xf)
        with np.errstate(over="ignore", under="ignore"):
            z = 1.0 / (a * a)
            series = 1.0 + z * (-0.5 + z * (0.75 + z * (-1.875 + z * 6.5625)))
            erfc = np.exp(-(a * a)) / (a * _SQRT_PI) * series
        out[far] = np.copysign(1.0 - erfc, xf)
    return out


class Erf(Node):
    """out = erf(x) (relative error below 1.5e-11 in float64); dx = g * 2/sqrt(pi) * exp(-x**2)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(_erf_array)

    def backward(self, g, out, x):
        return (g * (Exp.apply(-(x * x)) * _TWO_OVER_SQRT_PI),)


_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_TANH_C, _TANH_K = 0.7978845608028654, 0.044715  # sqrt(2 / pi), and the cubic's weight


class Gelu(Node):
    """out = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 the standard normal CDF;
    dx = g (Phi(x) + x phi(x)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
    approximate='tanh': out = x (1 + T) / 2, T = tanh(u), u = sqrt(2/pi) (x + 0.044715 x^3);
    dx = g ((1 + T) / 2 + x (1 - T^2) u' / 2), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
    One node instead of six: the forward saves Phi (or T), the backward is a few passes."""
    __slots__ = ("approximate", "kept")
    saved = ("kept",)
    reads = ((0,),)

    def __init__(self, approximate="none"):
        self.approximate = approximate

    def forward(self, x):
        shape, x = x.shape, x.reshape(-1)  # (1-D: numpy returns scalars for 0-d operands)
        if self.approximate == "tanh":
            u = np.multiply(x, x)
            u *= _TANH_C * _TANH_K
            u += _TANH_C
            u *= x
            self.kept = np.tanh(u, out=u)  # T
            out = np.add(u, 1.0)
            out *= x
            out *= 0.5
            return out.reshape(shape)
        kept = _erf_array(x, _SQRT_HALF)
        kept += 1.0
        kept *= 0.5  # Phi
        self.kept = kept
        return np.multiply(kept, x).reshape(shape)

    def backward(self, g, out, x):
        if isinstance(g, Tensor):  # recorded (create_graph): the same rule as ops on x
            return (g * _gelu_slope(x, self.approximate),)
        shape, x, kept = x.shape, x.reshape(-1), self.kept
        d = np.multiply(x, x)
        if self.approximate == "tanh":
            d *= 3 * _TANH_C * _TANH_K
            d += _TANH_C  # u'
            s = np.multiply(kept, kept)
            np.subtract(1.0, s, out=s)
            d *= s
            d *= x
            d += kept
            d += 1.0
            d *= 0.5
        else:
            d *= -0.5
            np.exp(d, out=d)
            d *= x
            d *= _INV_SQRT_2PI
            d += kept
        d *= g.reshape(-1)
        return (d.reshape(shape),)


def _gelu_slope(x, approximate):
    """d gelu / dx as recorded ops of the tensor x (for higher orders)"""
    if approximate == "tanh":
        t = Tanh.apply(x * (_TANH_C + _TANH_C * _TANH_K * (x * x)))
        return ((1 + t) + x * (1 - t * t) * (_TANH_C + 3 * _TANH_C * _TANH_K * (x * x))) * 0.5
    cdf = (1 + Erf.apply(x * _SQRT_HALF)) * 0.5
    return cdf + x * Exp.apply(x * x * -0.5) * _INV_SQRT_2PI


def gelu(x, approximate="none"):
    """x Phi(x) (approximate='tanh': x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2), one op"""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    x = tensor_arg(x, "gelu")
    if not x._requires_grad and x.data.dtype.kind != "f":
        x = x.to(get_default_dtype())
    return apply1(Gelu(approximate), x)


class Relu(Node):
    """out = max(x, 0); dx = g where not out <= 0   (relu'(0) = 0; at NaN the gradient passes,
    as PyTorch's threshold_backward)"""
    __slots__ = ("out",)
    saved = ("out",)
    reads = ((OUT,),)

    def forward(self, x):
        self.out = np.maximum(x, 0)
        return self.out

    def backward(self, g, out, x):
        if type(g) is np.ndarray:  # out >= 0 or NaN, so `out != 0` is `not out <= 0` in one
            # pass instead of two; numpy multiplies by it faster as uint8 than as bool (same
            # values): 876 -> 765 us on (2048, 512) float32
            return (g * (out != 0).view(np.uint8),)
        return (g * ~(raw(out) <= 0),)


def _sgn(x):
    """sign(x) with sign(NaN) = 0, as PyTorch's sign and sgn (numpy's is NaN)"""
    s = np.sign(x)
    if s.dtype.kind == "f":
        nan = np.isnan(s)
        if nan.any():
            s = np.where(nan, s.dtype.type(0), s)
    return s


class Abs(Node):
    """out = |x|; dx = g * sign(x)   (abs'(0) = 0, and 0 at NaN as PyTorch)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(np.abs)

    def backward(self, g, out, x):
        return (g * _sgn(raw(x)),)


class Clamp(Node):
    """out = min(max(x, lo), hi); dx = g where lo <= x <= hi (a bound passes the gradient)"""
    __slots__ = ("min", "max")
    reads = ((0,),)

    def __init__(self, lo, hi):
        self.min, self.max = lo, hi

    def forward(self, x):
        return np.clip(x, self.min, self.max)

    def backward(self, g, out, x):
        x = raw(x)
        keep = np.ones(x.shape, bool)
        if self.min is not None:
            keep &= x >= self.min
        if self.max is not None:
            keep &= x <= self.max
        return (g * keep,)


class ClampTensors(Node):
    """clamp with tensor bounds (inputs x, lo, hi; or x and one bound, `which`):
    out = min(max(x, lo), hi), NaN where any of them is NaN (as PyTorch); dx = g where
    lo <= x <= hi, dlo = g where x < lo < hi, dhi = g where x > hi or hi < lo (PyTorch's
    clamp_backward_min_max: no gradient to or through a NaN)"""
    __slots__ = ("which",)

    def __init__(self, which):
        self.which = which
        self.reads = ((0, 1, 2),) * 3 if which == "both" else ((0, 1),) * 2

    def forward(self, x, *bounds):
        which = self.which
        if which == "both":
            return np.minimum(np.maximum(x, bounds[0]), bounds[1])
        return (np.maximum if which == "min" else np.minimum)(x, bounds[0])

    def backward(self, g, out, x, *bounds):
        x, needs, which = raw(x), self.needs_input_grad, self.which
        if which == "both":
            lo, hi = raw(bounds[0]), raw(bounds[1])
            masks = ((x >= lo) & (x <= hi), (x < lo) & (lo < hi), (x > hi) | (hi < lo))
        elif which == "min":
            lo = raw(bounds[0])
            masks = (x >= lo, x < lo)
        else:
            hi = raw(bounds[0])
            masks = (x <= hi, x > hi)
        zero = np.zeros((), g.dtype)
        return tuple(Where.apply(m, g, zero) if need else None
                     for m, need in zip(masks, needs))


class Maximum(Node):
    """out = max(x, y); the larger input gets g, ties split it evenly; where either is NaN
    (out is NaN) both get g, as in PyTorch"""
    __slots__ = ()
    reads = ((0, 1), (0, 1))

    forward = staticmethod(np.maximum)

    def backward(self, g, out, x, y):
        x, y = raw(x), raw(y)
        return _unless_lost(g, x < y, x > y, x == y, self.needs_input_grad)


class Minimum(Node):
    """out = min(x, y); the smaller input gets g, ties split it evenly; where either is NaN
    (out is NaN) both get g, as in PyTorch"""
    __slots__ = ()
    reads = ((0, 1), (0, 1))

    forward = staticmethod(np.minimum)

    def backward(self, g, out, x, y):
        x, y = raw(x), raw(y)
        return _unless_lost(g, x > y, x < y, x == y, self.needs_input_grad)


def _split(g, share, needs):
    """g * share to the first input, g * (1 - share) to the second (share an array)."""
    share = share.astype(g.dtype)
    return (g * share if needs[0] else None), (g * (1 - share) if needs[1] else None)


def _unless_lost(g, x_loses, y_loses, tie, needs):
    """PyTorch's rule for max/min of two inputs: each gets g where it did not lose, halved at
    ties (so an input gets g where a NaN made every comparison false)"""
    half = 0.5 * tie
    return (g * (1 - (x_loses + half)).astype(g.dtype) if needs[0] else None), \
        (g * (1 - (y_loses + half)).astype(g.dtype) if needs[1] else None)


class Where(Node):
    """out = cond ? x : y; dx = g masked to cond, dy = g masked to not cond (a masked select,
    so NaN in the unselected branch never reaches the gradient)"""
    __slots__ = ()
    reads = ((), (0,), (0,))

    forward = staticmethod(np.where)

    def backward(self, g, out, cond, x, y):
        _, nx, ny = self.needs_input_grad
        zero = np.zeros((), g.dtype)
        return (None, Where.apply(cond, g, zero) if nx else None,
                Where.apply(cond, zero, g) if ny else None)


class Cast(Node):
    """out = x as another float dtype; dx = g cast back"""
    __slots__ = ("dtype",)
    reads = ()

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, g, out, x):
        return (Cast.apply(g, dtype=x.dtype),)


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


def div(x, y, *, rounding_mode=None):
    """x / y (true division; integers give the default float dtype); rounding_mode 'trunc' or
    'floor' rounds the quotient (no gradient; binary.rounded_div)"""
    if rounding_mode is not None:
        from .binary import rounded_div  # (binary.py builds on this module)
        return rounded_div(x, y, rounding_mode)
    x, y = binary_operands(x, y, "div", True)
    if x.data.dtype.kind != "f":  # (two tensors of one integer dtype)
        x, y = x.to(get_default_dtype()), y.to(get_default_dtype())
    return apply2(Div(), x, y)


def neg(x):
    return apply1(Neg(), tensor_arg(x, "neg"))


def pow_scalar(x, p):
    return apply1(PowScalar(p), x)


def pow(x, exponent):
    """x ** exponent; a number exponent uses the cheaper rule p * x ** (p - 1)"""
    if isinstance(exponent, (int, float, np.number)) and isinstance(x, Tensor):
        kind = x.data.dtype.kind
        if kind != "f":  # PyTorch's promotion of a number exponent, and its checks
            if isinstance(exponent, (float, np.floating)):
                x = x.to(get_default_dtype())
            elif exponent < 0:
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            elif kind == "b" and isinstance(exponent, bool):
                return Tensor._const(x.data | (not exponent))  # bool ** True/False stays bool
            elif kind == "b":
                x = x.to(int64)
            else:  # (an exponent beyond the dtype raises, as PyTorch's checked conversion)
                checked_scalar(exponent, x.data.dtype, "pow")
        return apply1(PowScalar(exponent), x)
    x, y = binary_operands(x, exponent, "pow")
    if x.data.dtype.kind == "b":
        raise NotImplementedError("pow: not implemented for two bool tensors (as PyTorch); "
                                  "convert one with .long()")
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


class Sign(Node):
    """out = sign(x) (-1, 0 or 1; 0 at NaN, as PyTorch); dx = 0 (PyTorch's: a zero gradient,
    not none)"""
    __slots__ = ()
    reads = ((),)

    forward = staticmethod(_sgn)

    def backward(self, g, out, x):
        return (g * 0,)


exp = _unary(Exp, "exp")
sign = _unary(Sign, "sign", float_only=False)
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
    """g * (1 - y**2): the gradient of tanh given its output y (differentiable in g and y; on
    bare ndarrays, as in a first-order backward pass, the bare result)"""
    if not isinstance(g, Tensor):  # an ndarray or numpy scalar
        return TanhBackward.forward(g, y)
    g, y = binary_operands(g, y, "tanh_backward")
    return apply2(TanhBackward(), g, y)


def sigmoid_backward(g, y):
    """g * y * (1 - y): the gradient of sigmoid given its output y (differentiable in g and y;
    on bare ndarrays, as in a first-order backward pass, the bare result)"""
    if not isinstance(g, Tensor):  # an ndarray or numpy scalar
        return SigmoidBackward.forward(g, y)
    g, y = binary_operands(g, y, "sigmoid_backward")
    return apply2(SigmoidBackward(), g, y)


def clamp(x, min=None, max=None):
    """Limits x to [min, max]; at a bound the gradient passes through. Bounds may be tensors."""
    x = tensor_arg(x, "clamp")
    if min is None and max is None:
        raise RuntimeError("clamp: give at least one of min and max")
    if x.data.dtype.kind != "f" and any(isinstance(b, (float, np.floating)) for b in (min, max)):
        x = x.to(get_default_dtype())  # int tensor, float bound: the default float dtype
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_tensors(x, min, max)
    return apply1(Clamp(min, max), x)


def _clamp_tensors(x, lo, hi):
    """clamp with tensor bounds: the three promoted together and broadcast, one op"""
    if lo is not None:
        x, lo = promote(x, lo, "clamp")
    if hi is not None:
        x, hi = promote(x, hi, "clamp")
        if lo is not None and lo.data.dtype != x.data.dtype:  # (hi widened x)
            lo = cast(lo, x.data.dtype)
    if lo is None or hi is None:
        x, b = broadcast_operands("clamp", x, hi if lo is None else lo)
        return apply2(ClampTensors("max" if lo is None else "min"), x, b)
    return apply(ClampTensors("both"), *broadcast_operands("clamp", x, lo, hi))


clip = clamp


def maximum(x, y):
    """Elementwise max; ties split the gradient evenly"""
    x, y = binary_operands(x, y, "maximum")
    return apply2(Maximum(), x, y)


def minimum(x, y):
    """Elementwise min; ties split the gradient evenly"""
    x, y = binary_operands(x, y, "minimum")
    return apply2(Minimum(), x, y)


def where(condition, x=None, y=None):
    """x where condition holds, else y (all three broadcast); where(condition) alone is
    nonzero(condition, as_tuple=True), as PyTorch's"""
    if x is None and y is None:
        from .indexing import nonzero  # (indexing imports this module)
        return nonzero(condition, as_tuple=True)
    if x is None or y is None:
        raise TypeError("where() takes the condition alone, or the condition, input and other; "
                        "got only one of input and other")
    cond = tensor_arg(condition, "where", "condition")
    if cond.data.dtype != np.bool_:
        if cond.data.dtype != np.uint8:  # (PyTorch still takes uint8 masks)
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                               f"tensor with dtype {cond.data.dtype}; compare first, e.g. "
                               f"where(mask != 0, x, y)")
        cond = Tensor._const(cond.data.astype(bool))
    for v, t in ((x, y), (y, x)):  # (PyTorch's checked conversion here: no wrapping)
        if isinstance(v, (int, np.integer)) and isinstance(t, Tensor) and \
                t.data.dtype.kind in "iu":
            checked_scalar(v, t.data.dtype, "where")
    x, y = promote(x, y, "where")
    if not (cond.data.shape == x.data.shape == y.data.shape):
        cond, x, y = broadcast_operands("where", cond, x, y)
    return apply(Where(), cond, x, y)


def cast(x, dtype):
    """x converted to dtype (differentiable between float dtypes)"""
    x = tensor_arg(x, "to")
    dtype = np.dtype(dtype)
    if x.data.dtype == dtype:
        return x
    if dtype.kind == "f" and x.data.dtype.kind == "f":
        return apply1(Cast(dtype), x)
    return Tensor._const(x.data.astype(dtype))


class Clone(Node):
    """out = a copy of x; dx = g"""
    __slots__ = ()
    reads = ()

    def forward(self, x):
        return x.copy()

    def backward(self, g, out, x):
        return (g,)


def clone(x):
    """A differentiable copy with its own memory"""
    return apply1(Clone(), tensor_arg(x, "clone"))


def square(x):
    """x * x"""
    x = tensor_arg(x, "square")
    return x * x


def rsqrt(x):
    """1 / sqrt(x)"""
    return 1.0 / tensor_arg(x, "rsqrt").sqrt()



# --- comparisons and logic: no gradient --------------------------------------------------------

def _compare(ufunc, name):
    def op(x, y):
        x, y = promote(x, y, name)
        return constant_result(ufunc, x, y)
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


def _no_gradient(ufunc, name, doc):
    """An elementwise function with no gradient anywhere: its result is a constant."""
    def op(x):
        return constant_result(ufunc, tensor_arg(x, name))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc + " (no gradient)"
    return op


logical_not = _no_gradient(np.logical_not, "logical_not", "elementwise not")
isnan = _no_gradient(np.isnan, "isnan", "True where x is NaN")
isfinite = _no_gradient(np.isfinite, "isfinite", "True where x is finite")
class Step(Node):
    """out = f(x) for a piecewise-constant f (floor, ceil, round, trunc, sgn); dx = 0 (PyTorch
    records these with a zero gradient, so a tensor that requires grad stays in the graph)"""
    __slots__ = ()
    reads = ((),)

    def backward(self, g, out, x):
        return (g * 0,)


def _step(array_fn, name, doc):
    """The op `name`: array_fn on the data; recorded with a zero gradient when x requires grad
    (a node class per op, so graphs and errors name it: FloorBackward)."""
    node_cls = type(name.capitalize(), (Step,), {
        "__slots__": (), "forward": staticmethod(array_fn), "__doc__": f"out = {name}(x); dx = 0",
        "__module__": __name__})

    def op(x):
        x = tensor_arg(x, name)
        if not x._requires_grad:
            return constant_result(array_fn, x)
        return apply1(node_cls(), x)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc + " (piecewise constant: a zero gradient)"
    return op


floor = _step(np.floor, "floor", "floor")
ceil = _step(np.ceil, "ceil", "ceil")
round = _step(np.round, "round", "round half to even")


def isinf(x):
    """True where x is +-inf (no gradient)"""
    return constant_result(np.isinf, tensor_arg(x, "isinf"))


def allclose(x, y, rtol=1e-5, atol=1e-8, equal_nan=False):
    """A Python bool: |x - y| <= atol + rtol * |y| everywhere (numpy's and PyTorch's rule)"""
    x, y = tensor_arg(x, "allclose"), tensor_arg(y, "allclose", "other")
    return bool(np.allclose(x.data, y.data, rtol=rtol, atol=atol, equal_nan=equal_nan))


__all__ = ['add', 'sub', 'mul', 'div', 'neg', 'pow', 'exp', 'log', 'log1p', 'sqrt',
           'sin', 'cos', 'tanh', 'sigmoid', 'erf', 'tanh_backward', 'sigmoid_backward',
           'relu', 'abs', 'clamp', 'clip', 'maximum', 'minimum', 'where', 'cast', 'lt',
           'le', 'gt', 'ge', 'eq', 'ne', 'logical_and', 'logical_or', 'logical_xor',
           'logical_not', 'sign', 'isnan', 'isfinite', 'floor', 'ceil', 'round', 'clone',
           'square', 'rsqrt', 'isinf', 'allclose']
