"""Special functions for autodiff.special: gamma family, Bessel i0/i1, erf family, ndtr, entr,
xlog1py, incomplete gamma, zeta (scipy.special forwards through the [special] extra where numpy
lacks them), and, without gradient as in PyTorch, Bessel J/Y/K, Airy Ai and orthogonal polynomials.

Each rule is written in recorded ops, so every function here is differentiable to any order:
gammaln' = digamma, digamma' = polygamma(1), polygamma(n)' = polygamma(n + 1), i0' = i1, ...
"""
import math

import numpy as np

from ..dtypes import get_default_dtype
from ..function import OUT, Node, apply1, apply2
from ..tensor import Tensor
from . import elementwise as ew
from . import reduce as rd
from ._operands import tensor_arg
from .binary import Xlogy, xlogy
from .broadcast import binary_operands
from .elementwise import Exp, Log, Where, _guard, _unary, raw
from .unary import exp2, expm1, logit, sinc

_SQRT_PI_2 = math.sqrt(math.pi) / 2       # erfinv' = sqrt(pi)/2 * exp(erfinv(x)^2)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)


def _scipy(op):
    """scipy.special, or an error naming the op and the extra that installs it."""
    try:
        import scipy.special
    except ImportError:
        raise ModuleNotFoundError(
            f"{op} takes its values from scipy.special, which is not installed: "
            f'pip install "autodiff[special]" (or pip install scipy)') from None
    return scipy.special


def _like(x, value):
    """value (a scipy result, maybe a numpy scalar for 0-d x) as an array of x's dtype."""
    return np.asarray(value, dtype=x.dtype)


def _zero_mask_where(x, value_at_zero, value):
    """value, except value_at_zero where x == 0 (a limit the formula cannot evaluate)."""
    zero = raw(x) == 0
    if not zero.any():
        return value
    return Where.apply(zero, np.asarray(value_at_zero, x.dtype), value)


def _nonzero(x):
    """x with 1 where x == 0 (a safe divisor; those places are overwritten by a limit)."""
    zero = raw(x) == 0
    return Where.apply(zero, np.ones((), x.dtype), x) if zero.any() else x


# --- gamma family ------------------------------------------------------------------------------

class Lgamma(Node):
    """out = log|gamma(x)|; dx = g * digamma(x)"""
    __slots__ = ()
    reads = ((0,),)

    def forward(self, x):
        return _like(x, _scipy("lgamma").gammaln(x))

    def backward(self, g, out, x):
        return (g * Polygamma.apply(x, n=0),)


class Polygamma(Node):
    """out = polygamma(n, x) (n = 0: digamma); dx = g * polygamma(n + 1, x)"""
    __slots__ = ("n",)
    reads = ((0,),)

    def __init__(self, n):
        self.n = n

    def forward(self, x):
        sc = _scipy("digamma" if self.n == 0 else "polygamma")
        return _like(x, sc.psi(x) if self.n == 0 else sc.polygamma(self.n, x))

    def backward(self, g, out, x):
        return (g * Polygamma.apply(x, n=self.n + 1),)


lgamma = _unary(Lgamma, "lgamma")


def digamma(x):
    """out = d/dx log gamma(x) = polygamma(0, x); dx = g * polygamma(1, x)"""
    return polygamma(0, x)


def polygamma(n, input):
    """out = the n-th derivative of digamma at x; dx = g * polygamma(n + 1, x)"""
    if isinstance(n, Tensor):
        n = n.item()
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma: n must be a non-negative int, got {type(n).__name__} "
                        f"{n!r}")
    if n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n (got n={n})")
    x = tensor_arg(input, "polygamma")
    if not x._requires_grad and x.data.dtype.kind != "f":
        x = x.to(get_default_dtype())
    return apply1(Polygamma(int(n)), x)


def mvlgamma(input, p):
    """out = p(p-1)/4 log(pi) + sum_{j<p} lgamma(x - j/2) (the multivariate log-gamma);
    composed of lgamma, so dx = g * sum_j digamma(x - j/2)"""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, np.integer)):
        raise TypeError(f"mvlgamma: p must be an int >= 1, got {type(p).__name__} {p!r}")
    if p < 1:
        raise RuntimeError(f"mvlgamma: p has to be greater than or equal to 1 (got p={p})")
    x = tensor_arg(input, "mvlgamma")
    if x.data.dtype.kind != "f":
        x = x.to(get_default_dtype())
    offsets = Tensor._const(-np.arange(p, dtype=x.data.dtype) / 2)
    terms = lgamma(ew.add(x.unsqueeze(-1), offsets))
    return ew.add(rd.sum(terms, -1), p * (p - 1) / 4 * math.log(math.pi))


def multigammaln(input, p):
    """torch.special.multigammaln: mvlgamma(input, p)"""
    return mvlgamma(input, p)


# --- error function family ---------------------------------------------------------------------

def _erfc_array(x):
    sc = _optional_scipy()
    if sc is not None:
        return _like(x, sc.erfc(x))
    return _like(x, np.frompyfunc(math.erfc, 1, 1)(x).astype(np.float64))


def _optional_scipy():
    try:
        import scipy.special
    except ImportError:
        return None
    return scipy.special


class Erfc(Node):
    """out = 1 - erf(x), accurate where erf(x) is near 1; dx = -g * 2/sqrt(pi) * exp(-x^2)"""
    __slots__ = ()
    reads = ((0,),)

    forward = staticmethod(_erfc_array)  # (scipy's when installed, else math.erfc per element)

    def backward(self, g, out, x):
        return (g * (Exp.apply(-(x * x)) * -_TWO_OVER_SQRT_PI),)


class Erfcx(Node):
    """out = exp(x^2) erfc(x); dx = g * (2 x out - 2/sqrt(pi))"""
    __slots__ = ("out",)
    reads = ((0, OUT),)
    saved = ("out",)

    def forward(self, x):
        self.out = _like(x, _scipy("erfcx").erfcx(x))
        return self.out

    def backward(self, g, out, x):
        return (g * (2 * x * out - _TWO_OVER_SQRT_PI),)


class Erfinv(Node):
    """out = erf^-1(x); dx = g * sqrt(pi)/2 * exp(out^2)"""
    __slots__ = ("out",)
    reads = ((OUT,),)
    saved = ("out",)

    def forward(self, x):
        self.out = _like(x, _scipy("erfinv").erfinv(x))
        return self.out

    def backward(self, g, out, x):
        return (g * (Exp.apply(out * out) * _SQRT_PI_2),)


class Ndtr(Node):
    """out = Phi(x) = erfc(-x/sqrt(2)) / 2; dx = g * exp(-x^2/2) / sqrt(2 pi)"""
    __slots__ = ()
    reads = ((0,),)

    def forward(self, x):
        return _erfc_array(x * -math.sqrt(0.5)) * np.asarray(0.5, x.dtype)

    def backward(self, g, out, x):
        return (g * (Exp.apply(x * x * -0.5) / _SQRT_2PI),)


class LogNdtr(Node):
    """out = log Phi(x) (stable for very negative x); dx = g * exp(-x^2/2 - out) / sqrt(2 pi)"""
    __slots__ = ("out",)
    reads = ((0, OUT),)
    saved = ("out",)

    def forward(self, x):
        self.out = _like(x, _scipy("log_ndtr").log_ndtr(x))
        return self.out

    def backward(self, g, out, x):
        return (g * (Exp.apply(x * x * -0.5 - out) / _SQRT_2PI),)


class Ndtri(Node):
    """out = Phi^-1(x); dx = g * sqrt(2 pi) * exp(out^2 / 2)"""
    __slots__ = ("out",)
    reads = ((OUT,),)
    saved = ("out",)

    def forward(self, x):
        self.out = _like(x, _scipy("ndtri").ndtri(x))
        return self.out

    def backward(self, g, out, x):
        return (g * (Exp.apply(out * out * 0.5) * _SQRT_2PI),)


erfc = _unary(Erfc, "erfc")
erfcx = _unary(Erfcx, "erfcx")
erfinv = _unary(Erfinv, "erfinv")
ndtr = _unary(Ndtr, "ndtr")
log_ndtr = _unary(LogNdtr, "log_ndtr")
ndtri = _unary(Ndtri, "ndtri")


# --- modified Bessel functions of the first kind -----------------------------------------------

class I0(Node):
    """out = I0(x); dx = g * I1(x)"""
    __slots__ = ()
    reads = ((0,),)

    def forward(self, x):
        return _like(x, _scipy("i0").i0(x))

    def backward(self, g, out, x):
        return (g * I1.apply(x),)


class I1(Node):
    """out = I1(x); dx = g * (I0(x) - out / x), 1/2 at x = 0"""
    __slots__ = ("out",)
    reads = ((0, OUT),)
    saved = ("out",)

    def forward(self, x):
        self.out = _like(x, _scipy("i1").i1(x))
        return self.out

    def backward(self, g, out, x):
        return (g * (I0.apply(x) - _zero_mask_where(x, 0.5, out / _nonzero(x))),)


class I0e(Node):
    """out = exp(-|x|) I0(x); dx = g * (I1e(x) - sgn(x) out)"""
    __slots__ = ("out",)
    reads = ((0, OUT),)
    saved = ("out",)

    def forward(self, x):
        self.out = _like(x, _scipy("i0e").i0e(x))
        return self.out

    def backward(self, g, out, x):
        return (g * (I1e.apply(x) - out * np.sign(raw(x))),)


class I1e(Node):
    """out = exp(-|x|) I1(x); dx = g * (I0e(x) - out (sgn(x) + 1/x)), 1/2 at x = 0"""
    __slots__ = ("out",)
    reads = ((0, OUT),)
    saved = ("out",)

    def forward(self, x):
        self.out = _like(x, _scipy("i1e").i1e(x))
        return self.out

    def backward(self, g, out, x):
        sgn = np.sign(raw(x))
        local = I0e.apply(x) - _zero_mask_where(x, 0.5, out * sgn + out / _nonzero(x))
        return (g * local,)


i0 = _unary(I0, "i0")
i1 = _unary(I1, "i1")
i0e = _unary(I0e, "i0e")
i1e = _unary(I1e, "i1e")


# --- entropy and x log y -----------------------------------------------------------------------

class Entr(Node):
    """out = -x log x (0 at x = 0, -inf for x < 0); dx = -g * (1 + log x)"""
    __slots__ = ()
    reads = ((0,),)

    def forward(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(x > 0, -x * np.log(np.where(x > 0, x, 1)), 0).astype(x.dtype)
        out[x < 0] = -np.inf
        out[np.isnan(x)] = np.nan
        return out

    def backward(self, g, out, x):
        # log 0 = -inf gives PyTorch's +inf at 0 (nan below); a zero g there gives 0 (_guard)
        return (-g * (1 + Log.apply(_guard(g, x, np.log, 1))),)


class XLog1py(Node):
    """out = x * log1p(y) (0 where x == 0, unless y is nan); dx = xlog1py(g, y) (0 where
    x == 0 and y <= -1, as PyTorch), dy = g * x / (1 + y)"""
    __slots__ = ()
    reads = ((0, 1), (0, 1))

    @staticmethod
    def forward(x, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = x * np.log1p(y)
        return np.where((x == 0) & ~np.isnan(y), np.zeros((), out.dtype), out)

    def backward(self, g, out, x, y):
        nx, ny = self.needs_input_grad
        gx = gy = None
        if nx:
            gx = XLog1py.apply(g, y)
            off = (raw(x) == 0) & (raw(y) <= -1)
            if off.any():
                gx = Where.apply(off, np.zeros((), gx.dtype), gx)
        if ny:
            gy = g * x / (1 + y)
        return gx, gy


entr = _unary(Entr, "entr")


def xlog1py(input, other):
    """input * log1p(other), 0 where input == 0 (numbers allowed on either side)"""
    x, y = binary_operands(input, other, "xlog1py")
    if x.data.dtype.kind != "f":
        x, y = x.to(get_default_dtype()), y.to(get_default_dtype())
    return apply2(XLog1py(), x, y)


# --- incomplete gamma and Hurwitz zeta: differentiable in their second argument ---------------

class Igamma(Node):
    """out = P(a, x) (or Q = 1 - P with upper), the regularized incomplete gamma function;
    dx = +-g * exp((a - 1) log x - x - lgamma(a)); da: not implemented (as PyTorch)"""
    __slots__ = ("upper",)
    reads = ((), (0, 1))

    def __init__(self, upper):
        self.upper = upper

    def forward(self, a, x):
        sc = _scipy("gammaincc" if self.upper else "gammainc")
        return _like(x, sc.gammaincc(a, x) if self.upper else sc.gammainc(a, x))

    def backward(self, g, out, a, x):
        na, nx = self.needs_input_grad
        if na:
            _not_differentiable("gammaincc" if self.upper else "gammainc", "input (a)")
        local = Exp.apply(Xlogy.apply(a - 1, x) - x - Lgamma.apply(a))
        return None, (-g * local if self.upper else g * local)


class Zeta(Node):
    """out = the Hurwitz zeta function zeta(x, q) = sum_k (k + q)^-x; dq = -g * x *
    zeta(x + 1, q); dx: not implemented (as PyTorch)"""
    __slots__ = ()
    reads = ((), (0, 1))

    def forward(self, x, q):
        return _like(q, _scipy("zeta").zeta(x, q))

    def backward(self, g, out, x, q):
        nx, nq = self.needs_input_grad
        if nx:
            _not_differentiable("zeta", "input (x)")
        return None, -g * x * Zeta.apply(x + 1, q)


def _not_differentiable(op, arg):
    raise NotImplementedError(
        f"{op}: the derivative with respect to {arg} is not implemented (nor in PyTorch); "
        f"pass it detached (.detach()) and differentiate with respect to other")


def _float_pair(input, other, op):
    """Promoted float operands (ints give the default float dtype), broadcast when recorded."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{op}(): at least one of input and other must be a Tensor")
    x, y = binary_operands(input, other, op)
    if x.data.dtype.kind != "f":
        x, y = x.to(get_default_dtype()), y.to(get_default_dtype())
    return x, y


def _tensors(op, input, other):
    for value, name, position in ((input, "input", 1), (other, "other", 2)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}(): argument '{name}' (position {position}) must be Tensor, "
                            f"not {type(value).__name__}")
    return _float_pair(input, other, op)


def gammainc(input, other):
    """P(input, other), the regularized lower incomplete gamma function (differentiable in
    other only, as PyTorch)"""
    return apply2(Igamma(False), *_tensors("gammainc", input, other))


def gammaincc(input, other):
    """Q(input, other) = 1 - P, the regularized upper incomplete gamma function
    (differentiable in other only, as PyTorch)"""
    return apply2(Igamma(True), *_tensors("gammaincc", input, other))


def zeta(input, other):
    """The Hurwitz zeta function zeta(input, other) (differentiable in other only, as PyTorch)"""
    return apply2(Zeta(), *_float_pair(input, other, "zeta"))


# --- no gradient (as in PyTorch: the results do not require grad) ------------------------------

def _constant(name, compute, doc):
    """An elementwise function of one tensor whose result carries no gradient."""
    def op(input):
        x = tensor_arg(input, name)
        data = x.data if x.data.dtype.kind == "f" else x.data.astype(get_default_dtype())
        with np.errstate(all="ignore"):
            return Tensor._const(_like(data, compute(data)))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc + " (no gradient, as PyTorch)"
    return op


def _sc(name, fn):
    """x -> scipy.special.<fn>(x), naming the op `name` if scipy is missing."""
    return lambda x: getattr(_scipy(name), fn)(x)


bessel_j0 = _constant("bessel_j0", _sc("bessel_j0", "j0"), "Bessel J0(x)")
bessel_j1 = _constant("bessel_j1", _sc("bessel_j1", "j1"), "Bessel J1(x)")
bessel_y0 = _constant("bessel_y0", _sc("bessel_y0", "y0"), "Bessel Y0(x)")
bessel_y1 = _constant("bessel_y1", _sc("bessel_y1", "y1"), "Bessel Y1(x)")
modified_bessel_i0 = _constant("modified_bessel_i0", _sc("modified_bessel_i0", "i0"), "I0(x)")
modified_bessel_i1 = _constant("modified_bessel_i1", _sc("modified_bessel_i1", "i1"), "I1(x)")
modified_bessel_k0 = _constant("modified_bessel_k0", _sc("modified_bessel_k0", "k0"), "K0(x)")
modified_bessel_k1 = _constant("modified_bessel_k1", _sc("modified_bessel_k1", "k1"), "K1(x)")
scaled_modified_bessel_k0 = _constant(
    "scaled_modified_bessel_k0", _sc("scaled_modified_bessel_k0", "k0e"), "exp(x) K0(x)")
scaled_modified_bessel_k1 = _constant(
    "scaled_modified_bessel_k1", _sc("scaled_modified_bessel_k1", "k1e"), "exp(x) K1(x)")
airy_ai = _constant("airy_ai", lambda x: _scipy("airy_ai").airy(x)[0], "Airy Ai(x)")
spherical_bessel_j0 = _constant(
    "spherical_bessel_j0", lambda x: np.where(np.isinf(x), 0, np.sinc(x / np.pi)), "sin(x) / x")

# Orthogonal polynomials p_n(x) by their three-term recurrences: (p_1, p_{k+1} from p_k, p_{k-1})
_POLYNOMIALS = {
    "chebyshev_polynomial_t": (lambda x: x, lambda k, x, p, q: 2 * x * p - q),
    "chebyshev_polynomial_u": (lambda x: 2 * x, lambda k, x, p, q: 2 * x * p - q),
    "chebyshev_polynomial_v": (lambda x: 2 * x - 1, lambda k, x, p, q: 2 * x * p - q),
    "chebyshev_polynomial_w": (lambda x: 2 * x + 1, lambda k, x, p, q: 2 * x * p - q),
    "hermite_polynomial_h": (lambda x: 2 * x, lambda k, x, p, q: 2 * x * p - 2 * k * q),
    "hermite_polynomial_he": (lambda x: x, lambda k, x, p, q: x * p - k * q),
    "laguerre_polynomial_l": (lambda x: 1 - x,
                              lambda k, x, p, q: ((2 * k + 1 - x) * p - k * q) / (k + 1)),
    "legendre_polynomial_p": (lambda x: x,
                              lambda k, x, p, q: ((2 * k + 1) * x * p - k * q) / (k + 1)),
}


def _polynomial(name, kind, shifted=False):
    first, step = _POLYNOMIALS[kind]

    def op(input, n):
        x, m = _float_pair(input, n, name)
        xs, degree = np.broadcast_arrays(x.data, np.trunc(m.data))  # (n truncates, as PyTorch)
        t = 2 * xs - 1 if shifted else xs
        out = np.where(degree == 0, np.ones((), t.dtype), np.zeros((), t.dtype))
        top = int(np.nanmax(degree, initial=0)) if degree.size else 0
        with np.errstate(all="ignore"):
            q, p = np.ones_like(t), first(t)
            for k in range(1, top + 1):
                out = np.where(degree == k, p, out)
                q, p = p, step(k, t, p, q)
        return Tensor._const(out.astype(xs.dtype, copy=False))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"The degree-n polynomial {kind} at input (no gradient, as PyTorch)"
    return op


chebyshev_polynomial_t = _polynomial("chebyshev_polynomial_t", "chebyshev_polynomial_t")
chebyshev_polynomial_u = _polynomial("chebyshev_polynomial_u", "chebyshev_polynomial_u")
chebyshev_polynomial_v = _polynomial("chebyshev_polynomial_v", "chebyshev_polynomial_v")
chebyshev_polynomial_w = _polynomial("chebyshev_polynomial_w", "chebyshev_polynomial_w")
shifted_chebyshev_polynomial_t = _polynomial("shifted_chebyshev_polynomial_t",
                                             "chebyshev_polynomial_t", shifted=True)
shifted_chebyshev_polynomial_u = _polynomial("shifted_chebyshev_polynomial_u",
                                             "chebyshev_polynomial_u", shifted=True)
shifted_chebyshev_polynomial_v = _polynomial("shifted_chebyshev_polynomial_v",
                                             "chebyshev_polynomial_v", shifted=True)
shifted_chebyshev_polynomial_w = _polynomial("shifted_chebyshev_polynomial_w",
                                             "chebyshev_polynomial_w", shifted=True)
hermite_polynomial_h = _polynomial("hermite_polynomial_h", "hermite_polynomial_h")
hermite_polynomial_he = _polynomial("hermite_polynomial_he", "hermite_polynomial_he")
laguerre_polynomial_l = _polynomial("laguerre_polynomial_l", "laguerre_polynomial_l")
legendre_polynomial_p = _polynomial("legendre_polynomial_p", "legendre_polynomial_p")

_NO_GRADIENT = [
    "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
    "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1", "airy_ai", "spherical_bessel_j0", "chebyshev_polynomial_t",
    "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
    "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "hermite_polynomial_h",
    "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p"]


# --- the torch.special namespace ---------------------------------------------------------------

gammaln = lgamma
psi = digamma
erf = ew.erf
expit = ew.sigmoid
log1p = ew.log1p
round = ew.round
softmax = rd.softmax
log_softmax = rd.log_softmax
logsumexp = rd.logsumexp
# (and exp2, expm1, logit, sinc, xlogy: the top-level ops of autodiff/ops/unary.py and binary.py)

__all__ = ["erf", "erfc", "erfcx", "erfinv", "expit", "gammaln", "digamma", "psi", "polygamma",
           "multigammaln", "i0", "i0e", "i1", "i1e", "log_ndtr", "ndtr", "ndtri", "entr",
           "xlog1py", "log1p", "round", "softmax", "log_softmax", "logsumexp", "exp2", "expm1",
           "logit", "sinc", "xlogy", "gammainc", "gammaincc", "zeta"] + _NO_GRADIENT

# Functions that are also top-level autodiff.<name> (as torch.<name>): name -> function
TOP_LEVEL = {"lgamma": lgamma, "digamma": digamma, "erfinv": erfinv, "erfc": erfc,
             "polygamma": polygamma, "mvlgamma": mvlgamma, "i0": i0, "igamma": gammainc,
             "igammac": gammaincc}


def _polygamma_method(self, n):
    return polygamma(n, self)


def _in_place(fn, name, single=True):
    """The method `name`: self = fn(self, ...) in place, recorded by autodiff/inplace.py
    (imported on first use: it imports the ops package, which imports this module)."""
    made = []

    def method(self, *args, **kwargs):
        if not made:
            from ..inplace import _unary as make
            made.append(make(fn, name, single))
        return made[0](self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"{name[:-1]}(self), in place"
    return method


# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {"lgamma": lgamma, "digamma": digamma, "erfinv": erfinv, "erfc": erfc,
           "polygamma": _polygamma_method, "mvlgamma": mvlgamma, "i0": i0}
METHODS.update({name + "_": _in_place(fn, name + "_") for name, fn in METHODS.items()})
METHODS["mvlgamma_"] = _in_place(mvlgamma, "mvlgamma_", single=False)  # (several ops)
METHODS.update({"igamma": gammainc, "igammac": gammaincc,
                "igamma_": _in_place(gammainc, "igamma_"),
                "igammac_": _in_place(gammaincc, "igammac_")})
