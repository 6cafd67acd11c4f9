"""Reductions and the fused, stable softmax family."""
import builtins
import functools
import math
from collections import namedtuple

import numpy as np

from ..function import OUT, Node, apply1, apply2
from ..tensor import Tensor
from ._operands import normalize_dims, tensor_arg
from .elementwise import Abs, Exp, Where, maximum, minimum, raw
from .broadcast import expand
from .shape import Flip, gather, reshape

# the ufuncs' own reductions: np.sum/np.max add microseconds of Python around them
_sum, _max, _min = np.add.reduce, np.maximum.reduce, np.minimum.reduce

# float16 sums, means, products and norms accumulate in float32 and round once at the end, as
# PyTorch's (its accumulate type for half): in float16 a running sum stops growing at 2048 (a
# step of 0.5 is below its resolution there) and mean([6e4, 6e4]) would overflow to inf.
# (`x.dtype is _F16`: builtin dtypes are singletons, and `is` costs the float32 paths ~25 ns.)
_F16, _F32 = np.dtype(np.float16), np.dtype(np.float32)

values_indices = namedtuple("values_indices", ["values", "indices"])


def _kept_shape(shape, dims):
    """The shape of a keepdim=True reduction of `shape` over dims."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _unreduce(g, shape, dims, keepdim):
    """g (a reduction's gradient) reshaped so it broadcasts against the input's `shape`."""
    if keepdim or not g.ndim:
        return g
    return g.reshape(_kept_shape(shape, dims))


def _count(shape, dims):
    """How many elements a reduction over dims (None: all) of `shape` combines."""
    return math.prod(shape) if dims is None else math.prod(shape[d] for d in dims)


class Sum(Node):
    """out = sum of x over dims; dx = g broadcast back"""
    __slots__ = ("dim", "keepdim")
    reads = ()

    def __init__(self, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        if x.dtype is _F16:
            return _sum(x, axis=self.dim, keepdims=self.keepdim, dtype=_F32).astype(_F16)
        return _sum(x, axis=self.dim, keepdims=self.keepdim)

    def backward(self, g, out, x):
        return (expand(_unreduce(g, x.shape, self.dim, self.keepdim), x.shape),)


class Mean(Node):
    """out = mean of x over dims; dx = g broadcast back / count"""
    __slots__ = ("dim", "keepdim")
    reads = ()

    def __init__(self, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        n = _count(x.shape, self.dim)
        if x.dtype is _F16:
            total = _sum(x, axis=self.dim, keepdims=self.keepdim, dtype=_F32)
            return np.true_divide(total, n or np.nan).astype(_F16)
        return np.true_divide(_sum(x, axis=self.dim, keepdims=self.keepdim), n or np.nan)

    def backward(self, g, out, x):
        g = g * (1 / (_count(x.shape, self.dim) or 1))
        return (expand(_unreduce(g, x.shape, self.dim, self.keepdim), x.shape),)


class _Extreme(Node):
    """Shared rule of amax/amin: the extreme elements share g evenly (ties split); a slice
    holding NaN has extreme NaN, and its NaNs share g."""
    __slots__ = ("dim", "keepdim", "out")
    reads = ((0, OUT),)
    saved = ("out",)

    def __init__(self, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim

    def backward(self, g, out, x):
        x = raw(x)
        o = _unreduce(raw(out), x.shape, self.dim, self.keepdim)
        hit = x == o
        count = _sum(hit, axis=self.dim, keepdims=True)
        if not _min(count, axis=None, initial=1):  # a slice without a hit has a NaN extreme:
            hit = np.where(o != o, x != x, hit)     # its NaNs share g (as torch.max())
            count = _sum(hit, axis=self.dim, keepdims=True)
        if _max(count, axis=None, initial=1) == 1:  # no ties: the mask itself
            share = hit.astype(x.dtype)
        else:
            share = np.true_divide(hit, count, dtype=x.dtype)
        return (_unreduce(g, x.shape, self.dim, self.keepdim) * share,)


class Amax(_Extreme):
    """out = max of x over dims; dx = g shared evenly among the maximal elements"""
    __slots__ = ()

    def forward(self, x):
        self.out = _max(x, axis=self.dim, keepdims=self.keepdim)
        return self.out


class Amin(_Extreme):
    """out = min of x over dims; dx = g shared evenly among the minimal elements"""
    __slots__ = ()

    def forward(self, x):
        self.out = _min(x, axis=self.dim, keepdims=self.keepdim)
        return self.out


def _stable_logsumexp(x, dim):
    m = _max(x, axis=dim, keepdims=True, initial=-np.inf)  # (empty dims give -inf, as torch)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return m + np.log(_sum(np.exp(x - m), axis=dim, keepdims=True))


class LogSumExp(Node):
    """out = log(sum(exp(x))) computed as m + log(sum(exp(x - m))); dx = g * exp(x - out)"""
    __slots__ = ("dim", "keepdim", "out")
    reads = ((0, OUT),)
    saved = ("out",)

    def __init__(self, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        out = _stable_logsumexp(x, self.dim)
        self.out = out if self.keepdim else np.squeeze(out, axis=self.dim)
        return self.out

    def backward(self, g, out, x):
        shape = x.shape
        out = _unreduce(out, shape, self.dim, self.keepdim)
        return (_unreduce(g, shape, self.dim, self.keepdim) * Exp.apply(x - out),)


class Softmax(Node):
    """out = exp(x - logsumexp(x)); dx = out * (g - sum(g * out))"""
    __slots__ = ("dim", "out")
    reads = ((OUT,),)
    saved = ("out",)

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        if not x.size:  # (an empty dim has no max: the empty result, as PyTorch)
            self.out = x.copy()
            return self.out
        e = np.exp(x - _max(x, axis=self.dim, keepdims=True))
        self.out = e / _sum(e, axis=self.dim, keepdims=True)
        return self.out

    def backward(self, g, out, x):
        return (out * (g - (g * out).sum(axis=self.dim, keepdims=True)),)


class LogSoftmax(Node):
    """out = x - logsumexp(x); dx = g - exp(out) * sum(g)"""
    __slots__ = ("dim", "out")
    reads = ((OUT,),)
    saved = ("out",)

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        if not x.size:  # (as Softmax)
            self.out = x.copy()
            return self.out
        shifted = x - _max(x, axis=self.dim, keepdims=True)  # subtract m first: exact at 1e8
        self.out = shifted - np.log(_sum(np.exp(shifted), axis=self.dim, keepdims=True))
        return self.out

    def backward(self, g, out, x):
        return (g - Exp.apply(out) * g.sum(axis=self.dim, keepdims=True),)


class SoftmaxCrossEntropy(Node):
    """out = logsumexp(x) - x[t] along dim (per position), i.e. -log softmax(x)[t], for class
    indices t (an input without gradient); dx = (softmax(x) - onehot(t)) * g"""
    __slots__ = ("dim", "probs")
    reads = ((0,), ())
    saved = ("probs",)

    def __init__(self, dim):
        self.dim = dim

    def _at(self, t):
        """The index of each position's target class (an advanced index into x)."""
        d = self.dim
        if d == 1 and t.ndim == 1:  # (N, C) logits: the common case
            return np.arange(t.shape[0]), t
        at = list(np.indices(t.shape, sparse=True))
        at.insert(d, t)
        return tuple(at)

    def forward(self, x, t):
        n = x.shape[self.dim]
        if t.size and (_min(t, axis=None) < 0 or _max(t, axis=None) >= n):
            raise IndexError(f"softmax_cross_entropy: target holds class indices outside "
                             f"0..{n - 1} (min {_min(t, axis=None)}, max {_max(t, axis=None)})")
        shifted = x - _max(x, axis=self.dim, keepdims=True)
        e = np.exp(shifted)
        total = _sum(e, axis=self.dim, keepdims=True)
        self.probs = e / total  # softmax(x), kept for backward
        return np.log(total).reshape(t.shape) - shifted[self._at(t)]

    def backward(self, g, out, x, t):
        d = self.dim
        # the softmax computed in forward (as a recorded op of x when the pass is recorded)
        probs = self.probs if type(x) is np.ndarray else Softmax.apply(x, dim=(d,))
        onehot = np.zeros(x.shape, x.dtype)
        onehot[self._at(raw(t))] = 1
        return ((probs - onehot) * g.reshape(g.shape[:d] + (1,) + g.shape[d:]), None)


class Prod(Node):
    """out = product of x over dim; dx = g * (product of the other elements)"""
    __slots__ = ("dim", "keepdim", "out")
    reads = ((0, OUT),)
    saved = ("out",)

    def __init__(self, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        if x.dtype is _F16:
            self.out = np.prod(x, axis=self.dim, keepdims=self.keepdim, dtype=_F32).astype(_F16)
        else:
            self.out = np.prod(x, axis=self.dim, keepdims=self.keepdim)
        return self.out

    def backward(self, g, out, x):
        shape = x.shape
        g = _unreduce(g, shape, self.dim, self.keepdim)
        a = np.abs(raw(x))
        if a.size and a.min() > 1e-3 * a.max():  # out / x is exact enough (also to 2nd order)
            return (g * _unreduce(out, shape, self.dim, self.keepdim) / x,)
        return (g * _prod_of_others(x, self.dim[0]),)


def _prod_of_others(x, d):
    """For each element, the product of the others along dim d (exact with zeros; O(n^2))."""
    n = x.shape[d]
    rows = expand(x.reshape(x.shape[:d] + (1,) + x.shape[d:]),
                  x.shape[:d] + (n,) + x.shape[d:])  # row i: x along d
    eye = np.eye(n, dtype=bool).reshape((n, n) + (1,) * (x.ndim - d - 1))
    return Prod.apply(Where.apply(eye, np.ones((), x.dtype), rows), dim=(d + 1,), keepdim=False)


class Norm2(Node):
    """out = sqrt(sum(x**2)); dx = g * x / out   (0 where out == 0)"""
    __slots__ = ("dim", "keepdim", "out")
    reads = ((0, OUT),)
    saved = ("out",)

    def __init__(self, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        if x.dtype is _F16:  # (squares of |x| > 256 overflow float16)
            w = x.astype(_F32)
            self.out = np.sqrt(_sum(w * w, axis=self.dim, keepdims=self.keepdim)).astype(_F16)
        else:
            self.out = np.sqrt(_sum(x * x, axis=self.dim, keepdims=self.keepdim))
        return self.out

    def backward(self, g, out, x):
        shape = x.shape
        out = _unreduce(out, shape, self.dim, self.keepdim)
        zero = raw(out) == 0
        if zero.any():  # x is 0 there, and so is the subgradient
            out = Where.apply(zero, np.ones((), x.dtype), out)
        return (_unreduce(g, shape, self.dim, self.keepdim) * x / out,)


class PNorm(Node):
    """out = (sum |x|^p)^(1/p) over dim; dx = g * sign(x) * (|x| / out)^(p-1), 0 where
    out == 0 and, for p < 1, where x == 0 (PyTorch's subgradients)"""
    __slots__ = ("p", "dim", "out")
    reads = ((0, OUT),)
    saved = ("out",)

    def __init__(self, p, dim):
        self.p, self.dim = p, dim

    def forward(self, x):
        w = x.astype(_F32) if x.dtype is _F16 else x  # (|x|^p overflows float16 early)
        p = np.asarray(self.p, w.dtype)
        with np.errstate(divide="ignore"):
            out = np.sum(np.abs(w) ** p, axis=self.dim) ** (1 / p)
        self.out = out if w is x else out.astype(_F16)
        return self.out

    def backward(self, g, out, x):
        p, shape = self.p, x.shape
        out = _unreduce(out, shape, self.dim, False)
        one = np.ones((), x.dtype)
        zero = raw(out) == 0
        if zero.any():
            out = Where.apply(np.broadcast_to(zero, out.shape), one, out)
        ratio = Abs.apply(x) / out
        if p < 1:
            at_zero = raw(x) == 0
            if at_zero.any():  # sign(x) is 0 there: keep the power finite
                ratio = Where.apply(at_zero, one, ratio)
        sign = np.sign(raw(x))
        return (_unreduce(g, shape, self.dim, False) * (ratio ** (p - 1) * sign),)


def p_norm(x, p, dims, keepdim):
    """(sum |x|^p)^(1/p) over dims (None: all) as one PNorm node, for p > 0: its gradient is
    PyTorch's 0 where x == 0 (p < 1) or the whole slice is 0, where the composed form gives NaN"""
    out = apply1(PNorm(float(p), dims if x.data.ndim else None), x)
    return reshape(out, _kept_shape(x.data.shape, dims)) if keepdim else out


class Cumsum(Node):
    """out = running sum of x along dim; dx = the reversed running sum of g"""
    __slots__ = ("dim",)
    reads = ()

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        if x.dtype is _F16:
            return np.cumsum(x, axis=self.dim, dtype=_F32).astype(_F16)
        return np.cumsum(x, axis=self.dim)

    def backward(self, g, out, x):
        d = (self.dim,)
        return (Flip.apply(Cumsum.apply(Flip.apply(g, dims=d), dim=self.dim), dims=d),)


def _scan_input(x, op, dtype):
    """x cast to dtype, or integers and bools to int64 (PyTorch's cumsum/cumprod)."""
    x = tensor_arg(x, op)
    if dtype is not None:
        return x.to(dtype)
    if x.data.dtype.kind in "biu" and x.data.dtype != np.int64:
        return x.to(np.int64)
    return x


def _in_dtype(out, x):
    """out in x's dtype: numpy's scans and reductions give small integers as int64 (for an
    integer dtype= asked for explicitly, as PyTorch keeps it)"""
    return out if out.data.dtype is x.data.dtype else out.to(x.data.dtype)


def cumsum(x, dim, *, dtype=None):
    """Running sum along dim (integers and bools in int64; dtype= casts x first)"""
    x = _scan_input(x, "cumsum", dtype)
    if x.data.ndim == 0:
        return x
    return _in_dtype(apply1(Cumsum(normalize_dims(dim, x.data.ndim, "cumsum")[0]), x), x)


def _numpy_axis(fn):
    """Also accept numpy's names: axis= for dim=, keepdims= for keepdim= (PyTorch does too)."""
    @functools.wraps(fn)
    def wrapper(x, *args, axis=None, keepdims=None, **kwargs):
        if axis is None and keepdims is None:
            return fn(x, *args, **kwargs)
        if axis is not None:
            kwargs["dim"] = axis
        if keepdims is not None:
            kwargs["keepdim"] = keepdims
        return fn(x, *args, **kwargs)
    return wrapper


# --- the functions users call ------------------------------------------------------------------

def _float_input(x, op):
    x = tensor_arg(x, op)
    if x.data.dtype.kind != "f":
        from ..dtypes import get_default_dtype
        x = x.to(get_default_dtype())
    return x


@_numpy_axis
def sum(x, dim=None, keepdim=False, *, dtype=None):
    """Sum over dim (all dims when None); integers and bools sum to int64, as PyTorch"""
    if not isinstance(x, Tensor):
        x = tensor_arg(x, "sum")
    if dim is None and dtype is None and x._requires_grad:  # the common case, kept cheap
        return apply1(Sum(None, keepdim), x)
    if dtype is not None:
        x = x.to(dtype)
        return _in_dtype(apply1(Sum(normalize_dims(dim, x.data.ndim, "sum"), keepdim), x), x)
    if x.data.dtype.kind in "biu" and x.data.dtype != np.int64:
        x = x.to(np.int64)
    return apply1(Sum(normalize_dims(dim, x.data.ndim, "sum"), keepdim), x)


@_numpy_axis
def mean(x, dim=None, keepdim=False, *, dtype=None):
    """Mean over dim (all dims when None); dtype= casts x first"""
    if dim is None and dtype is None and isinstance(x, Tensor) and x._requires_grad:
        return apply1(Mean(None, keepdim), x)  # (the common case)
    if dtype is not None:
        x = tensor_arg(x, "mean").to(dtype)
    x = _float_input(x, "mean")
    return apply1(Mean(normalize_dims(dim, x.data.ndim, "mean"), keepdim), x)


def _legacy_unbiased(dim, unbiased, correction, op):
    """(dim, correction) from PyTorch's overloads of var/std (and var_mean/std_mean):
    (x, dim=None, *, correction=1, keepdim=False), (x, unbiased: bool) and
    (x, dim, unbiased: bool, keepdim=False): a bool where dim goes is `unbiased`."""
    if isinstance(dim, (bool, np.bool_)):
        if unbiased is not None:
            raise TypeError(f"{op}: got a bool dim ({dim}) and unbiased={unbiased}; a bool "
                            f"in the dim position means unbiased")
        dim, unbiased = None, bool(dim)
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}: pass either unbiased= or correction=, not both")
    if correction is None:
        correction = 1 if unbiased is None else int(bool(unbiased))
    return dim, correction


@_numpy_axis
def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance with Bessel's correction by default (correction=1, as PyTorch), also through
    PyTorch's legacy var(x, unbiased) and var(x, dim, unbiased, keepdim)"""
    dim, correction = _legacy_unbiased(dim, unbiased, correction, "var")
    x = _float_input(x, "var")
    if x.data.dtype is _F16:  # in float32, rounded once at the end (as PyTorch)
        return var(x.to(np.float32), dim, keepdim=keepdim, correction=correction).to(_F16)
    dims = normalize_dims(dim, x.data.ndim, "var")
    n = _count(x.data.shape, dims)
    centred = x - mean(x, dims, keepdim=True)
    return sum(centred * centred, dims, keepdim) / builtins.max(n - correction, 0)


@_numpy_axis
def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """sqrt(var(x)), as the 2-norm of the centred values: the gradient is 0 where they are all
    equal (PyTorch's), not the 0 * inf of sqrt's; var's overloads"""
    dim, correction = _legacy_unbiased(dim, unbiased, correction, "std")
    x = _float_input(x, "std")
    if x.data.dtype is _F16:  # (as var)
        return std(x.to(np.float32), dim, keepdim=keepdim, correction=correction).to(_F16)
    dims = normalize_dims(dim, x.data.ndim, "std")
    n = _count(x.data.shape, dims)
    spread = apply1(Norm2(dims, keepdim), x - mean(x, dims, keepdim=True))
    return spread / math.sqrt(builtins.max(n - correction, 0))


@_numpy_axis
def amax(x, dim=None, keepdim=False):
    """Max over dim; tied maxima share the gradient evenly"""
    x = tensor_arg(x, "amax")
    return apply1(Amax(normalize_dims(dim, x.data.ndim, "amax"), keepdim), x)


@_numpy_axis
def amin(x, dim=None, keepdim=False):
    """Min over dim; tied minima share the gradient evenly"""
    x = tensor_arg(x, "amin")
    return apply1(Amin(normalize_dims(dim, x.data.ndim, "amin"), keepdim), x)


def _arg(fn, name):
    def op(x, dim=None, keepdim=False):
        x = tensor_arg(x, name)
        if dim is None:
            out = fn(x.data.reshape(-1), axis=0)
            return Tensor._const(
                np.asarray(out, np.int64).reshape((1,) * x.data.ndim if keepdim else ()))
        d = normalize_dims(dim, x.data.ndim, name)[0]
        return Tensor._const(fn(x.data, axis=d, keepdims=keepdim).astype(np.int64))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Index of the {name[3:]}imum along dim (flattened when dim is None); no gradient"
    return op


argmax = _numpy_axis(_arg(np.argmax, "argmax"))
argmin = _numpy_axis(_arg(np.argmin, "argmin"))


@_numpy_axis
def max(x, dim=None, keepdim=False):
    """No dim: the largest value. With dim: (values, indices), like PyTorch. With a tensor as
    second argument: the elementwise maximum."""
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    if dim is None:
        return amax(x)
    return values_indices(amax(x, dim, keepdim), argmax(x, dim, keepdim))


@_numpy_axis
def min(x, dim=None, keepdim=False):
    """No dim: the smallest value. With dim: (values, indices), like PyTorch. With a tensor as
    second argument: the elementwise minimum."""
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    if dim is None:
        return amin(x)
    return values_indices(amin(x, dim, keepdim), argmin(x, dim, keepdim))


@_numpy_axis
def logsumexp(x, dim=None, keepdim=False):
    """log(sum(exp(x))) over dim, without overflow"""
    x = _float_input(x, "logsumexp")
    return apply1(LogSumExp(normalize_dims(dim, x.data.ndim, "logsumexp"), keepdim), x)


def softmax(x, dim=-1):
    """exp(x) / sum(exp(x)) along dim, computed stably"""
    x = _float_input(x, "softmax")
    return apply1(Softmax(normalize_dims(dim, x.data.ndim, "softmax")), x)


def log_softmax(x, dim=-1):
    """x - logsumexp(x) along dim"""
    x = _float_input(x, "log_softmax")
    return apply1(LogSoftmax(normalize_dims(dim, x.data.ndim, "log_softmax")), x)


def softmax_cross_entropy(logits, target, dim=-1):
    """-log softmax(logits)[target] along dim, per position (one fused, stable op; the
    target holds class indices with logits' shape minus dim)"""
    x = _float_input(logits, "softmax_cross_entropy")
    d = normalize_dims(dim, x.data.ndim, "softmax_cross_entropy")[0]
    t = target if isinstance(target, Tensor) else Tensor._const(np.asarray(target))
    expected = x.data.shape[:d] + x.data.shape[d + 1:]
    if t.data.dtype.kind not in "iu" or t.data.shape != expected:
        raise ValueError(f"softmax_cross_entropy: target must be integer class indices of shape "
                         f"{expected}, got dtype {t.data.dtype} and shape {t.data.shape}")
    if t.data.dtype != np.intp:
        t = t.to(np.intp)
    return apply2(SoftmaxCrossEntropy(d), x, t)


@_numpy_axis
def prod(x, dim=None, keepdim=False, *, dtype=None):
    """Product over one dim (all elements when None); exact gradients with zeros; dtype=
    casts x first"""
    x = tensor_arg(x, "prod")
    if dtype is not None:
        x = x.to(dtype)
    if x.data.dtype.kind in "biu":  # integers: an int64 result (no gradient), as PyTorch
        axis = None if dim is None else normalize_dims(dim, x.data.ndim, "prod")
        return Tensor._const(np.asarray(np.prod(
            x.data, axis=axis, keepdims=keepdim,
            dtype=np.int64 if dtype is None or x.data.dtype.kind == "b" else x.data.dtype)))
    if dim is None:
        out = apply1(Prod((0,), False), reshape(x, -1))
        return reshape(out, (1,) * x.data.ndim) if keepdim else out
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"prod: dim must be one int, got {dim!r}; for several dims, reduce "
                        f"one at a time or reshape first")
    dims = normalize_dims(dim, x.data.ndim, "prod")
    if not dims:  # a 0-d tensor: the product of its one element (a new tensor, as in torch)
        return x.clone()
    return apply1(Prod(dims, keepdim), x)


@_numpy_axis
def norm(x, p="fro", dim=None, keepdim=False):
    """The p-norm over dim (all elements when None): p = 2/'fro', 1, inf, -inf or any number"""
    x = _float_input(x, "norm")
    dims = normalize_dims(dim, x.data.ndim, "norm")
    if p in ("fro", 2, 2.0):
        return apply1(Norm2(dims, keepdim), x)
    if p == float("inf"):
        return amax(x.abs(), dims, keepdim)
    if p == float("-inf"):
        return amin(x.abs(), dims, keepdim)
    if p == 1:
        return sum(x.abs(), dims, keepdim)
    if not isinstance(p, (int, float)) or p <= 0:
        raise ValueError(f"norm: p must be a positive number, inf, -inf or 'fro', got {p!r}")
    return p_norm(x, p, dims, keepdim)


@_numpy_axis
def all(x, dim=None, keepdim=False):
    """True where every element is true (no gradient)"""
    x = tensor_arg(x, "all")
    return Tensor._const(np.all(x.data, axis=normalize_dims(dim, x.data.ndim, "all"),
                                keepdims=keepdim))


@_numpy_axis
def any(x, dim=None, keepdim=False):
    """True where some element is true (no gradient)"""
    x = tensor_arg(x, "any")
    return Tensor._const(np.any(x.data, axis=normalize_dims(dim, x.data.ndim, "any"),
                                keepdims=keepdim))


def _descending_order(a, d):
    """The indices that sort the array a along d in descending order, stably, NaN first (NaN
    counts as the largest value, as in PyTorch): the reversed ascending sort of the reversed
    slice (no negation: exact for unsigned integers and bools too)"""
    rev = np.argsort(np.flip(a, d), axis=d, kind="stable")
    return np.flip(a.shape[d] - 1 - rev, d)


def sort(x, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along dim (always stable; NaN counts as the largest value, as
    in PyTorch); values are differentiable (a gather)"""
    x = tensor_arg(x, "sort")
    d = normalize_dims(dim, x.data.ndim, "sort")[0] if x.data.ndim else 0
    if x.data.ndim == 0:
        return values_indices(x, Tensor._const(np.zeros((), np.int64)))
    a = x.data
    idx = _descending_order(a, d) if descending else np.argsort(a, axis=d, kind="stable")
    return values_indices(gather(x, d, idx), Tensor._const(idx.astype(np.int64)))


def topk(x, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the k largest (or smallest) entries along dim (NaN counts as the
    largest value, as in PyTorch)"""
    x = tensor_arg(x, "topk")
    d = normalize_dims(dim, x.data.ndim, "topk")[0]
    n = x.data.shape[d]
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k={k} is out of range for dim {d} of size {n}")
    a = x.data
    order = _descending_order(a, d) if largest else np.argsort(a, axis=d, kind="stable")
    idx = np.take(order, np.arange(k), axis=d)
    return values_indices(gather(x, d, idx), Tensor._const(idx.astype(np.int64)))
