"""Reductions, scans and order statistics beyond the core set: cumulative products and extrema,
median, quantile, mode, kthvalue, nan-reductions, unique, bincount, histc, searchsorted.

Order statistics that select one element per slice (median, mode, kthvalue, cummax, quantile's
neighbours) are a `gather` at indices computed in numpy, so their gradient is gather's (routed to
the selected index, to every order); the all-element median shares g among tied elements, as
PyTorch's does. Sorting-like ops with no gradient return constants."""
import builtins
import math
from collections import namedtuple

import numpy as np

from ..function import OUT, Node, apply1
from ..tensor import Tensor
from ._operands import normalize_dims, tensor_arg
from .broadcast import expand
from .elementwise import Cast, Exp, Where, clone, raw, where
from .reduce import (_F16, _F32, Cumsum, _descending_order, _float_input, _in_dtype,
                     _legacy_unbiased, _numpy_axis, _scan_input, amax, amin, cumsum, mean, sort,
                     std, sum, var)
from .shape import Flip, gather, permute, reshape

__all__ = ["cumprod", "cummax", "cummin", "logcumsumexp", "std_mean", "var_mean", "aminmax",
           "median", "nanmedian", "mode", "kthvalue", "quantile", "nanquantile", "nansum",
           "nanmean", "count_nonzero", "argsort", "msort", "unique", "unique_consecutive",
           "bincount", "histc", "searchsorted", "bucketize"]


def _return_type(name, fields=("values", "indices")):
    """A named tuple like torch.return_types.<name>: .values/.indices and tuple unpacking."""
    t = namedtuple(name, fields)
    t.__module__ = "autodiff.return_types"
    return t


cummax_type, cummin_type = _return_type("cummax"), _return_type("cummin")
median_type, nanmedian_type = _return_type("median"), _return_type("nanmedian")
mode_type, kthvalue_type = _return_type("mode"), _return_type("kthvalue")
aminmax_type = _return_type("aminmax", ("min", "max"))


def _const(a, dtype=np.int64):
    return Tensor._const(np.asarray(a, dtype))


def _one_dim(x, dim, op):
    """The non-negative dim of x an op scans or selects along (0 for a 0-d tensor)."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be one int, got {dim!r}")
    dims = normalize_dims(dim, x.data.ndim, op)
    return dims[0] if dims else 0


def _reverse_cumsum(t, d):
    """sum over i >= k of t_i along dim d (recorded on tensors)"""
    return Flip.apply(Cumsum.apply(Flip.apply(t, dims=(d,)), dim=d), dims=(d,))


def _pairs(t, d, first):
    """t (shape s) reshaped with a unit axis inserted so that it broadcasts over the pair axes
    (d, d + 1) of an (..., n, n, ...) array: along the first (k) or the second (i) of them."""
    s = t.shape
    return t.reshape(s[:d] + ((s[d], 1) if first else (1, s[d])) + s[d + 1:])


def _upper(n, d, ndim):
    """mask[k, i] = i >= k over the pair axes (d, d + 1) of an ndim + 1 array"""
    return np.triu(np.ones((n, n), bool)).reshape((n, n) + (1,) * (ndim - d - 1))


# --- cumulative products and log-sum-exp -------------------------------------------------------

class Cumprod(Node):
    """out_i = prod_{j<=i} x_j along dim; dx_k = sum_{i>=k} g_i * out_i / x_k (with zeros, as
    PyTorch: that before a slice's first zero z, prod_{j<z} x_j * sum_{i>=z} g_i *
    prod_{z<j<=i} x_j at z, 0 after it; recorded, the O(n^2) product of the others)"""
    __slots__ = ("dim", "out")
    reads = ((0, OUT),)
    saved = ("out",)

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        if x.dtype is _F16:  # accumulated in float32, as PyTorch (reduce.py)
            self.out = np.cumprod(x, axis=self.dim, dtype=_F32).astype(_F16)
        else:
            self.out = np.cumprod(x, axis=self.dim)
        return self.out

    def backward(self, g, out, x):
        d = self.dim
        zero = raw(x) == 0
        if not zero.any():
            return (_reverse_cumsum(g * out, d) / x,)
        if isinstance(x, Tensor):  # recorded (create_graph): O(n^2), exact to every order
            return (_cumprod_of_others(g, x, d),)
        seen = np.cumsum(zero, axis=d)  # zeros at or before each position
        before, first = seen == 0, zero & (seen == 1)
        one, nil = np.ones((), x.dtype), np.zeros((), x.dtype)
        plain = _reverse_cumsum(g * out, d) / Where.apply(zero, one, x)
        prefix = Cumprod.apply(Where.apply(before, x, one), dim=d)  # prod_{j<z} x_j
        later = Cumprod.apply(Where.apply((seen > 0) & ~first, x, one), dim=d)
        at_first = prefix * _reverse_cumsum(g * later, d)
        return (Where.apply(before, plain, nil) + Where.apply(first, at_first, nil),)


def _cumprod_of_others(g, x, d):
    """dx_k = sum_{i>=k} g_i * prod_{j<=i, j!=k} x_j: row k of a new axis holds x with x_k
    replaced by 1 (its running products), masked to i >= k. Past a zero the products are 0
    but not their derivatives, which the O(n) form above would drop."""
    n = x.shape[d]
    rows = expand(_pairs(x, d, False), x.shape[:d] + (n,) + x.shape[d:])
    eye = np.eye(n, dtype=bool).reshape((n, n) + (1,) * (x.ndim - d - 1))
    others = Cumprod.apply(Where.apply(eye, np.ones((), x.dtype), rows), dim=d + 1)
    upper = _upper(n, d, x.ndim).astype(x.dtype)
    return (others * upper * _pairs(g, d, False)).sum(axis=d + 1)


class LogCumSumExp(Node):
    """out_i = log(sum_{j<=i} exp(x_j)) along dim; dx_k = sum_{i>=k} g_i * exp(x_k - out_i)"""
    __slots__ = ("dim", "out")
    reads = ((0, OUT),)
    saved = ("out",)

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        self.out = np.logaddexp.accumulate(x, axis=self.dim)
        return self.out

    def backward(self, g, out, x):
        d, o = self.dim, raw(out)
        if o.size and np.isfinite(o).all():
            top = o.max(axis=d, keepdims=True)
            # exp(x - c) * sum_{i>=k} g_i exp(c - out_i) with c the largest out, in float64:
            # neither factor overflows while out spans less than a third of float64's range
            if (top - o.min(axis=d, keepdims=True)).max() < 250:
                if x.dtype != np.float64:
                    x, out, g = (Cast.apply(t, dtype=np.float64) for t in (x, out, g))
                dx = Exp.apply(x - top) * _reverse_cumsum(g * Exp.apply(top - out), d)
                return (dx if o.dtype == np.float64 else Cast.apply(dx, dtype=o.dtype),)
        # each weight exp(x_k - out_i) <= 1 (out_i >= x_k for i >= k): stable at any range
        upper = _upper(x.shape[d], d, x.ndim)
        diff = Where.apply(upper, _pairs(x, d, True) - _pairs(out, d, False),
                           np.asarray(-np.inf, x.dtype))
        return ((Exp.apply(diff) * _pairs(g, d, False)).sum(axis=d + 1),)


def cumprod(x, dim, *, dtype=None):
    """Running product along dim; exact gradients where x has zeros"""
    x = _scan_input(x, "cumprod", dtype)
    d = _one_dim(x, dim, "cumprod")
    if x.data.ndim == 0:
        return reshape(apply1(Cumprod(0), reshape(x, (1,))), ())
    return _in_dtype(apply1(Cumprod(d), x), x)


def logcumsumexp(x, dim):
    """log(cumsum(exp(x))) along dim, computed stably (no overflow)"""
    x = tensor_arg(x, "logcumsumexp")
    if x.data.dtype.kind != "f":
        raise NotImplementedError(f"logcumsumexp: not implemented for dtype {x.data.dtype} "
                                  f"(as in PyTorch); convert first with .float() or .double()")
    d = _one_dim(x, dim, "logcumsumexp")
    if x.data.ndim == 0:
        return reshape(apply1(LogCumSumExp(0), reshape(x, (1,))), ())
    return apply1(LogCumSumExp(d), x)


def _cum_extreme(x, dim, op, accumulate, result):
    x = tensor_arg(x, op)
    d = _one_dim(x, dim, op)
    if x.data.ndim == 0:
        return result(clone(x), _const(0))
    a = x.data
    running = accumulate(a, axis=d)
    # the last index where a running extreme was reached (or a NaN met): ties take the later
    # index, as PyTorch's cummax/cummin do
    hit = (a == running) | (np.isnan(a) if a.dtype.kind == "f" else False)
    shape = [1] * a.ndim
    shape[d] = a.shape[d]
    positions = np.where(hit, np.arange(a.shape[d]).reshape(shape), 0)
    idx = np.maximum.accumulate(positions, axis=d) if a.size else positions
    return result(gather(x, d, idx), _const(idx))


def cummax(x, dim):
    """(values, indices) of the running maximum along dim; g goes to each running max's index"""
    return _cum_extreme(x, dim, "cummax", np.maximum.accumulate, cummax_type)


def cummin(x, dim):
    """(values, indices) of the running minimum along dim; g goes to each running min's index"""
    return _cum_extreme(x, dim, "cummin", np.minimum.accumulate, cummin_type)


# --- moments and extremes together -------------------------------------------------------------

@_numpy_axis
def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var(x), mean(x)) over dim, one pass of the shared mean"""
    dim, correction = _legacy_unbiased(dim, unbiased, correction, "var_mean")
    x = _float_input(x, "var_mean")
    return (var(x, dim, correction=correction, keepdim=keepdim), mean(x, dim, keepdim))


@_numpy_axis
def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std(x), mean(x)) over dim"""
    dim, correction = _legacy_unbiased(dim, unbiased, correction, "std_mean")
    x = _float_input(x, "std_mean")
    return (std(x, dim, correction=correction, keepdim=keepdim), mean(x, dim, keepdim))


def aminmax(x, *, dim=None, keepdim=False):
    """(min, max) over dim (all elements when None); tied extremes share the gradient"""
    x = tensor_arg(x, "aminmax")
    if dim is None and x.data.size == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                           "operation has no identity")
    if dim is not None:
        d = _one_dim(x, dim, "aminmax")
        if x.data.ndim and x.data.shape[d] == 0:
            raise IndexError(f"aminmax(): Expected reduction dim {d} to have non-zero size "
                             f"(input shape {x.data.shape})")
        if x.data.ndim == 0:
            dim = None
    return aminmax_type(amin(x, dim, keepdim), amax(x, dim, keepdim))


# --- order statistics --------------------------------------------------------------------------

class EvenSelect(Node):
    """out = one value of x chosen by `pick`; dx = g shared evenly among the elements equal to
    out (among the NaNs when out is NaN), as PyTorch's median() and nanmedian()"""
    __slots__ = ("pick", "out")
    reads = ((0, OUT),)
    saved = ("out",)

    def __init__(self, pick):
        self.pick = pick

    def forward(self, x):
        self.out = np.asarray(self.pick(x.reshape(-1)), x.dtype)
        return self.out

    def backward(self, g, out, x):
        a, o = raw(x), raw(out)
        hit = np.isnan(a) if np.isnan(o) else a == o
        return (g * (hit / builtins.max(hit.sum(), 1)).astype(a.dtype),)


def _lower_median(flat, ignore_nan):
    if flat.dtype.kind == "f":
        nan = np.isnan(flat)
        if ignore_nan:
            flat = flat[~nan]
        elif nan.any():
            return np.nan
    if flat.size == 0:
        return np.nan
    k = (flat.size - 1) // 2
    return np.partition(flat, k)[k]


def _select(x, d, idx, keepdim, result):
    """result(values, indices) for idx (keepdim shape) selecting one element per slice."""
    values = gather(x, d, idx)
    if not keepdim:
        shape = x.data.shape[:d] + x.data.shape[d + 1:]
        values, idx = reshape(values, shape), idx.reshape(shape)
    return result(values, _const(idx))


def _slices(x, dim, op):
    """(x as a tensor, dim): a 0-d x becomes a 1-element vector (the op reshapes back); an
    empty reduced dim raises IndexError as in PyTorch."""
    x = tensor_arg(x, op)
    d = _one_dim(x, dim, op)
    if x.data.ndim and x.data.shape[d] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size (input "
                         f"shape {x.data.shape})")
    return x, d


def _zero_d(x, result):
    return result(clone(x), _const(0))


def _median_dim(x, dim, keepdim, op, ignore_nan, result):
    x, d = _slices(x, dim, op)
    if x.data.ndim == 0:
        return _zero_d(x, result)
    a = x.data
    order = np.argsort(a, axis=d, kind="stable")  # NaNs last
    if a.dtype.kind == "f":
        nan = np.isnan(a)
        if ignore_nan:
            k = np.maximum((a.shape[d] - nan.sum(axis=d, keepdims=True) - 1) // 2, 0)
            idx = np.take_along_axis(order, k, axis=d)
        else:
            idx = np.take(order, [(a.shape[d] - 1) // 2], axis=d)
            # a slice holding NaN has median NaN, at its first NaN (PyTorch's index)
            idx = np.where(nan.any(axis=d, keepdims=True),
                           np.expand_dims(nan.argmax(axis=d), d), idx)
    else:
        idx = np.take(order, [(a.shape[d] - 1) // 2], axis=d)
    return _select(x, d, idx, keepdim, result)


def median(x, dim=None, keepdim=False):
    """No dim: the lower median of all elements (0-d; tied elements share g). With dim:
    (values, indices) of each slice's lower median (g goes to the index)"""
    if dim is None:
        x = tensor_arg(x, "median")
        return apply1(EvenSelect(lambda f: _lower_median(f, False)), x)
    return _median_dim(x, dim, keepdim, "median", False, median_type)


def nanmedian(x, dim=None, keepdim=False):
    """median ignoring NaNs (NaN only where every element of a slice is NaN)"""
    if dim is None:
        x = tensor_arg(x, "nanmedian")
        return apply1(EvenSelect(lambda f: _lower_median(f, True)), x)
    return _median_dim(x, dim, keepdim, "nanmedian", True, nanmedian_type)


def mode(x, dim=-1, keepdim=False):
    """(values, indices): each slice's most frequent value (the smallest among equally frequent
    ones) and the last index where it occurs, as PyTorch"""
    x, d = _slices(x, dim, "mode")
    if x.data.ndim == 0:
        return _zero_d(x, mode_type)
    a = np.moveaxis(x.data, d, -1)
    n = a.shape[-1]
    s = np.sort(a, axis=-1)
    new = np.ones(s.shape, bool)
    new[..., 1:] = s[..., 1:] != s[..., :-1]
    pos = np.arange(n)
    start = np.maximum.accumulate(np.where(new, pos, 0), axis=-1)
    # the run-so-far length first reaches its maximum at the end of the smallest modal value
    j = np.argmax(pos - start + 1, axis=-1)[..., None]
    value = np.take_along_axis(s, j, axis=-1)
    last = n - 1 - np.argmax((a == value)[..., ::-1], axis=-1)
    idx = np.expand_dims(last, d)
    return _select(x, d, idx, keepdim, mode_type)


def kthvalue(x, k, dim=-1, keepdim=False):
    """(values, indices) of the k-th smallest element (k from 1) of each slice along dim"""
    x = tensor_arg(x, "kthvalue")
    d = _one_dim(x, dim, "kthvalue")
    n = x.data.shape[d] if x.data.ndim else 1
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"kthvalue(): k must be an int, got {type(k).__name__}")
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k={k} out of range for dimension {d} "
                           f"of size {n} (valid: 1 to {n})")
    if x.data.ndim == 0:
        return _zero_d(x, kthvalue_type)
    idx = np.take(np.argsort(x.data, axis=d, kind="stable"), [k - 1], axis=d)
    return _select(x, d, idx, keepdim, kthvalue_type)


# --- quantiles ---------------------------------------------------------------------------------

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(x, q, dim, keepdim, interpolation, op, ignore_nan):
    x = tensor_arg(x, op)
    if x.data.dtype.kind != "f":
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype, got "
                           f"{x.data.dtype}; convert with .float() or .double()")
    if isinstance(q, Tensor):
        if q.data.ndim > 1:
            raise RuntimeError(f"{op}() q must be a scalar or 1D tensor, got shape "
                               f"{q.data.shape}")
        if q.data.dtype != x.data.dtype:
            raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor "
                               f"({q.data.dtype} vs {x.data.dtype})")
        qa = q.data
        if ((qa < 0) | (qa > 1)).any():
            raise RuntimeError(f"{op}() q values must be in the range [0, 1]")
    elif isinstance(q, (int, float, np.number)) and not isinstance(q, bool):
        if not 0 <= q <= 1:
            raise RuntimeError(f"{op}() q must be in the range [0, 1] but got {q}")
        qa = np.asarray(q, x.data.dtype)
    else:
        raise TypeError(f"{op}(): q must be a number or a Tensor, got {type(q).__name__}")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{op}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    if x.data.size == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty")
    shape = x.data.shape
    if dim is None or not shape:
        if dim is not None:
            _one_dim(x, dim, op)
        kept = (1,) * len(shape) if keepdim else ()
        rows = reshape(x, (-1,))
    else:
        d = _one_dim(x, dim, op)
        kept = shape[:d] + (1,) + shape[d + 1:] if keepdim else shape[:d] + shape[d + 1:]
        rows = permute(x, tuple(i for i in range(len(shape)) if i != d) + (d,))
    s = sort(rows, -1).values
    a = s.data
    nan = np.isnan(a)
    if ignore_nan:  # ranks among the non-NaN values; all NaN: rank 0, a NaN
        scale = a.shape[-1] - nan.sum(-1, keepdims=True) - 1
        fixed = scale < 0
    else:  # a slice holding NaN: the last rank, a NaN
        scale = np.asarray(a.shape[-1] - 1)
        fixed = nan.any(-1, keepdims=True)
    ranks = np.where(fixed, np.maximum(scale, 0), qa.reshape(-1) * scale).astype(a.dtype)
    if interpolation == "lower":
        ranks = np.floor(ranks)
    elif interpolation == "higher":
        ranks = np.ceil(ranks)
    elif interpolation == "nearest":
        ranks = np.round(ranks)  # (half to even, as PyTorch's round)
    below = ranks.astype(np.int64)
    out = gather(s, -1, below)
    if interpolation in ("linear", "midpoint"):
        if interpolation == "midpoint":
            w = np.full_like(ranks, 0.5)
        else:
            w = ranks - below.astype(a.dtype)
            if isinstance(q, Tensor) and q._requires_grad:  # differentiable in q, as PyTorch
                w = where(np.broadcast_to(fixed, w.shape), w,
                          reshape(q, (-1,)) * scale.astype(a.dtype) - below.astype(a.dtype))
        above = gather(s, -1, np.ceil(ranks).astype(np.int64))
        # PyTorch's lerp, bit for bit: from the nearer end
        out = where(w < 0.5, out + w * (above - out), above - (above - out) * (1 - w))
    if qa.ndim:  # the quantiles' dim comes first
        out = permute(out, (out.ndim - 1,) + tuple(range(out.ndim - 1)))
        return reshape(out, qa.shape + kept)
    return reshape(out, kept)


def quantile(x, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The q-th quantiles of x along dim (all elements when None): sorted values interpolated
    as numpy; q a number or 1-D tensor in [0, 1] (its dim comes first); NaN where a slice has
    NaN"""
    return _quantile(x, q, dim, keepdim, interpolation, "quantile", False)


def nanquantile(x, q, dim=None, keepdim=False, *, interpolation="linear"):
    """quantile ignoring NaNs (NaN only where every element of a slice is NaN)"""
    return _quantile(x, q, dim, keepdim, interpolation, "nanquantile", True)


# --- NaN-ignoring reductions -------------------------------------------------------------------

@_numpy_axis
def nansum(x, dim=None, keepdim=False, *, dtype=None):
    """sum treating NaN as 0 (the gradient at NaN is 0)"""
    x = tensor_arg(x, "nansum")
    if x.data.dtype.kind == "f":
        x = where(np.isnan(x.data), 0.0, x)
    return sum(x, dim, keepdim, dtype=dtype)


@_numpy_axis
def nanmean(x, dim=None, keepdim=False, *, dtype=None):
    """mean of the non-NaN elements (NaN where there are none; the gradient at NaN is 0)"""
    x = tensor_arg(x, "nanmean")
    if dtype is not None:
        x = x.to(dtype)
    if x.data.dtype.kind != "f":
        raise RuntimeError(f"nanmean(): expected input to have floating point dtype but got "
                           f"{x.data.dtype}; convert with .float() or .double()")
    nan = np.isnan(x.data)
    dims = normalize_dims(dim, x.data.ndim, "nanmean")
    count = np.sum(~nan, axis=dims, keepdims=keepdim)
    total = sum(where(nan, 0.0, x), dims, keepdim)
    return where(count == 0, np.nan, total / np.maximum(count, 1).astype(x.data.dtype))


def count_nonzero(x, dim=None):
    """The number of nonzero elements over dim (an int or a tuple; all when None), int64"""
    x = tensor_arg(x, "count_nonzero")
    dims = normalize_dims(dim, x.data.ndim, "count_nonzero")
    return _const(np.count_nonzero(x.data, axis=dims))


# --- sorting-like ops without gradient ---------------------------------------------------------

def argsort(x, dim=-1, descending=False, *, stable=False):
    """The indices that sort x along dim (stable: ties keep their order; NaN counts as the
    largest value, as in PyTorch); no gradient"""
    x = tensor_arg(x, "argsort")
    d = _one_dim(x, dim, "argsort")
    a = x.data
    if a.ndim == 0:
        return _const(0)
    if not descending:
        return _const(np.argsort(a, axis=d, kind="stable"))
    return _const(_descending_order(a, d))


def msort(x):
    """x sorted along its first dim (differentiable, as sort's values)"""
    x = tensor_arg(x, "msort")
    if x.data.ndim == 0:
        return clone(x)
    return sort(x, 0).values


def _unique_result(values, inverse, counts, return_inverse, return_counts):
    out = [_const(values, values.dtype)]
    if return_inverse:
        out.append(_const(inverse))
    if return_counts:
        out.append(_const(counts))
    return out[0] if len(out) == 1 else tuple(out)


def unique(x, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (or slices along dim) of x, sorted, with optionally the index of
    each element's value in them and the counts; no gradient"""
    x = tensor_arg(x, "unique")
    a = x.data
    if dim is None:
        flat = a.reshape(-1)
        values, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True,
                                            equal_nan=False)
        inverse = inverse.reshape(a.shape)
    else:
        d = _one_dim(x, dim, "unique")
        if a.ndim == 0:
            raise IndexError("unique: dim given for a 0-d tensor")
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=d,
                                            equal_nan=False)
        inverse = inverse.reshape(-1)
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


def unique_consecutive(x, return_inverse=False, return_counts=False, dim=None):
    """x with each run of equal consecutive values (or slices along dim) kept once, with
    optionally each element's run index and the run lengths; no gradient"""
    x = tensor_arg(x, "unique_consecutive")
    a = x.data
    if dim is None:
        b, d = a.reshape(-1), 0
        changed = b[1:] != b[:-1]
    else:
        d = _one_dim(x, dim, "unique_consecutive")
        if a.ndim == 0:
            raise IndexError("unique_consecutive: dim given for a 0-d tensor")
        b = a
        diff = np.take(b, range(1, b.shape[d]), d) != np.take(b, range(b.shape[d] - 1), d)
        changed = np.moveaxis(diff, d, 0).reshape(builtins.max(b.shape[d] - 1, 0), -1).any(1)
    n = b.shape[d]
    new = np.concatenate([[n > 0], changed]) if n else np.zeros(0, bool)
    starts = np.flatnonzero(new)
    values = np.take(b, starts, axis=d)
    inverse = np.cumsum(new) - 1
    if dim is None:
        inverse = inverse.reshape(a.shape)
    counts = np.diff(np.append(starts, n))
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


def bincount(x, weights=None, minlength=0):
    """How often each value 0..max(x) occurs in the 1-d non-negative integer tensor x (or the
    sum of weights at each); no gradient"""
    x = tensor_arg(x, "bincount")
    a = x.data
    if a.dtype.kind not in "biu":
        raise NotImplementedError(f"bincount: not implemented for dtype {a.dtype} (as in "
                                  f"PyTorch); it counts non-negative integers")
    if a.ndim != 1 or (a.size and a.min() < 0):
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got "
                           f"shape {a.shape}, dtype {a.dtype}")
    if minlength < 0:
        raise RuntimeError(f"bincount: minlength should be >= 0, got {minlength}")
    if weights is None:
        return _const(np.bincount(a, minlength=minlength))
    w = tensor_arg(weights, "bincount", "weights").data
    if w.shape != a.shape:
        raise RuntimeError(f"bincount: weights should be 1-d and have the same length as "
                           f"input, got shapes {w.shape} and {a.shape}")
    dtype = w.dtype if w.dtype.kind == "f" else np.float64  # (float32 weights stay float32)
    return _const(np.bincount(a, w.astype(np.float64), minlength=minlength), dtype)


def histc(x, bins=100, min=0, max=0):
    """Histogram of x with `bins` equal bins over [min, max] (x's own range when min == max);
    elements outside are ignored, max falls in the last bin; no gradient"""
    x = tensor_arg(x, "histc")
    a = x.data
    if a.dtype.kind != "f":
        raise NotImplementedError(f"histc: not implemented for dtype {a.dtype} (as in "
                                  f"PyTorch); convert with .float() or .double()")
    if bins <= 0:
        raise RuntimeError(f"histc: bins must be > 0, but got {bins}")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError(f"histc: max must be larger than min, got min={min}, max={max}")
    if lo == hi and a.size:
        seen = a[~np.isnan(a)]  # (NaNs are ignored; infinities make the range infinite)
        if seen.size:
            lo, hi = float(seen.min()), float(seen.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"histc: range of [{lo}, {hi}] is not finite")
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    inside = a[(a >= lo) & (a <= hi)]
    pos = ((inside - lo) * bins / (hi - lo)).astype(np.int64)
    return _const(np.bincount(np.minimum(pos, bins - 1), minlength=bins), a.dtype)


def searchsorted(sorted_sequence, values, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """For each value, the index where inserting it keeps sorted_sequence's last dim sorted
    (the first such index, or the last with right=True / side='right'); no gradient"""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"searchsorted(): side can only be 'left' or 'right' but got "
                               f"{side!r}")
        if right and side == "left":
            raise RuntimeError("searchsorted(): side and right can't be set to opposites, got "
                               "side of left while right was True")
        right = side == "right"
    seq = tensor_arg(sorted_sequence, "searchsorted", "sorted_sequence").data
    scalar = not isinstance(values, Tensor) and np.ndim(values) == 0
    v = tensor_arg(values, "searchsorted", "values").data
    if sorter is not None:
        order = tensor_arg(sorter, "searchsorted", "sorter").data
        if order.shape != seq.shape or order.dtype.kind not in "iu":
            raise RuntimeError(f"searchsorted(): sorter must be an integer tensor of the "
                               f"sorted_sequence's shape {seq.shape}, got {order.dtype} "
                               f"{order.shape}")
        seq = np.take_along_axis(seq, order, axis=-1)
    if seq.ndim == 0:
        raise RuntimeError("searchsorted(): sorted_sequence must have at least one dim, got a "
                           "0-d tensor")
    how = "right" if right else "left"
    dtype = np.int32 if out_int32 else np.int64
    if seq.ndim == 1:
        return _const(np.searchsorted(seq, v, side=how), dtype)
    if scalar or v.shape[:-1] != seq.shape[:-1]:
        raise RuntimeError(f"searchsorted(): boundaries tensor should be 1 dimension or the "
                           f"first N-1 dimensions of boundaries tensor and input value tensor "
                           f"must match, but we got boundaries tensor {list(seq.shape)} and "
                           f"input value tensor {list(v.shape)}")
    rows, vals = seq.reshape(-1, seq.shape[-1]), v.reshape(-1, v.shape[-1])
    out = np.stack([np.searchsorted(r, w, side=how) for r, w in zip(rows, vals)])
    return _const(out.reshape(v.shape), dtype)


def bucketize(x, boundaries, *, out_int32=False, right=False):
    """The bucket of each element of x among the sorted 1-d boundaries: i with
    boundaries[i-1] < x <= boundaries[i] (right=True: boundaries[i-1] <= x < boundaries[i])"""
    b = tensor_arg(boundaries, "bucketize", "boundaries")
    if b.data.ndim != 1:
        raise RuntimeError(f"bucketize(): boundaries tensor must be 1 dimension, but got dim "
                           f"{b.data.ndim}")
    return searchsorted(b, x, out_int32=out_int32, right=right)


# --- Tensor methods ----------------------------------------------------------------------------

def _in_place(fn, name):
    """The method `name`: self = fn(self, ...) in place (autodiff/inplace.py records it)."""
    def method(self, *args, **kwargs):
        from .. import inplace  # (imported late: inplace imports the ops package)
        return inplace._unary(fn, name)(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"{fn.__name__}(self), in place"
    return method


METHODS = {name: globals()[name] for name in __all__
           if name not in ("std_mean", "var_mean", "searchsorted", "bucketize")}
METHODS["cumprod_"] = _in_place(cumprod, "cumprod_")
METHODS["cumsum_"] = _in_place(cumsum, "cumsum_")
