"""Indexing ops beyond getitem: index_select/copy/fill/reduce, masked ops, take, scatter family,
select_scatter/slice_scatter, diagonal views, diag, trace, tril/triu indices.

Two primitives live here: ScatterReduce (and its rule, PyTorch's scatter_reduce_backward, ties
of amax/amin split evenly) and Diagonal <-> DiagEmbed (each other's gradient; Diagonal is a
writable view, as in PyTorch). Everything else composes getitem (GetItem <-> IndexAdd),
index_put and where, so it gets second order for free."""
import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import dtypes
from ..function import OUT, Node, apply, apply1
from ..grad_mode import no_grad
from ..inplace import _check_result, _records, _write, masked_fill_, record_inplace
from ..tensor import Tensor
from ..views import as_view
from ._operands import broadcast_shape, normalize_dims, tensor_arg
from .broadcast import broadcast_to
from .elementwise import Where, clone, raw, where
from .reduce import sum as _sum
from .shape import GetItem, _index_arg, gather, getitem, index_add, index_put, reshape

__all__ = ["index_select", "index_copy", "index_fill", "index_reduce", "masked_fill",
           "masked_select", "masked_scatter", "nonzero", "argwhere", "take", "take_along_dim",
           "put", "scatter", "scatter_add", "scatter_reduce", "select_scatter", "slice_scatter",
           "diagonal", "diagonal_scatter", "diag", "diag_embed", "diagflat", "trace",
           "tril_indices", "triu_indices"]


# --- helpers -----------------------------------------------------------------------------------

def _int_index(index, op, name="index"):
    """index as an int64 ndarray (RuntimeError for other dtypes, as PyTorch)."""
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu" or idx.dtype == np.bool_:
        raise RuntimeError(f"{op}(): expected an integer (int64) tensor for {name}, got dtype "
                           f"{idx.dtype}; convert with .long()")
    return idx.astype(np.int64, copy=False)


def _dim(dim, ndim, op):
    """One dim of a tensor with ndim dims (a 0-d tensor takes -1 and 0, as in PyTorch)."""
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"{op}(): dim must be an int, got {type(dim).__name__}")
    return normalize_dims(int(dim), ndim, op)[0] if ndim else normalize_dims(dim, 1, op)[0]


def _check_range(idx, n, op, d, exc, negative=False):
    """idx within [0, n) (or [-n, n) when negative indices count from the end); returns idx
    with negatives wrapped."""
    lo = -n if negative else 0
    if idx.size and (idx.min() < lo or idx.max() >= n):
        bad = idx[(idx < lo) | (idx >= n)].flat[0]
        raise exc(f"{op}(): index {bad} is out of bounds for dimension {d} with size {n} "
                  f"(valid: {lo} to {n - 1})")
    return idx % n if negative and idx.size and idx.min() < 0 else idx


def _same_dtype(x, other, op, name):
    if x.data.dtype != other.data.dtype:
        raise RuntimeError(f"{op}(): expected self and {name} to have the same dtype, got "
                           f"{x.data.dtype} and {other.data.dtype}; convert one with .to()")


def _along(d, idx):
    """The index selecting idx along dim d."""
    return (slice(None),) * d + (idx,)


def _grid(idx, d):
    """The advanced index of PyTorch's scatter/gather: position i of idx maps to
    (i_0, .., idx[i], .., i_n)."""
    grid = list(np.indices(idx.shape, sparse=True))
    grid[d] = idx
    return tuple(grid)


def _as_value(value, x, op):
    """A fill value (number or 0-d tensor) as a 0-d tensor of x's dtype (differentiably)."""
    if isinstance(value, Tensor):
        if value.data.ndim:
            raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.data.ndim} dimension(s)")
        return value.to(x.data.dtype)
    if not isinstance(value, (numbers.Number, np.number, np.bool_)):
        raise TypeError(f"{op}: value must be a number or a 0-d tensor, got "
                        f"{type(value).__name__}")
    value = dtypes.checked_scalar(value, x.data.dtype, op)
    return Tensor._const(np.asarray(value).astype(x.data.dtype))


def _bool_mask(mask, op):
    if not isinstance(mask, Tensor) or mask.data.dtype != np.bool_:
        got = mask.data.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype {got}; "
                           f"compare first, e.g. x > 0")
    return mask


# --- scatter_reduce: the primitive ---------------------------------------------------------------

_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _identity(reduce, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    big = np.inf if dtype.kind == "f" else np.iinfo(dtype).max
    return -big if reduce == "amax" else big


class ScatterReduce(Node):
    """out = x with src reduced into out[index] (sum, prod, mean, amax, amin; x counted in or
    not); dx, dsrc as PyTorch's scatter_reduce_backward, ties of amax/amin sharing g evenly"""
    __slots__ = ("index", "reduce", "include_self", "out")
    saved = ("out",)
    reads = ((0, 1, OUT), (0, 1, OUT))

    def __init__(self, index, reduce, include_self):
        self.index, self.reduce, self.include_self = index, reduce, include_self
        if reduce in ("sum", "mean"):
            self.reads = ((), ())  # their rules read nothing but the index

    def forward(self, x, src):
        index, reduce = self.index, self.reduce
        out = np.array(x)
        if not self.include_self:
            out[index] = _identity(reduce, x.dtype)
        if reduce in ("sum", "mean"):
            np.add.at(out, index, src)
        else:
            {"prod": np.multiply, "amax": np.maximum, "amin": np.minimum}[reduce].at(
                out, index, src)
        if reduce == "mean":
            n = self._count(x.shape).astype(out.dtype)
            out = out / n if out.dtype.kind == "f" else out // n
        self.out = out
        return out

    def _count(self, shape):
        """How many values are averaged at each position (1 where none is)."""
        n = np.full(shape, 1.0 if self.include_self else 0.0)
        np.add.at(n, self.index, 1.0)
        n[n == 0] = 1
        return n

    def backward(self, g, out, x, src):
        nx, ns = self.needs_input_grad
        index, reduce, dt = self.index, self.reduce, raw(g).dtype
        keep = None
        if not self.include_self:  # x's values at the scattered positions were not used
            keep = np.ones(x.shape, dt)
            keep[index] = 0
        if reduce in ("sum", "mean"):
            if reduce == "mean":
                g = g * (1 / self._count(x.shape)).astype(dt)
            gx, gs = g, (GetItem.apply(g, index=index) if ns else None)
        elif reduce == "prod":
            gx, gs = self._prod_grads(g, out, x, src, nx, ns)
        else:
            xr, sr, outr = raw(x), raw(src), raw(out)
            self_hit = xr == outr
            if keep is not None:
                self_hit &= keep.astype(bool)
            src_hit = sr == outr[index]
            n = self_hit.astype(dt)
            np.add.at(n, index, src_hit.astype(dt))
            g = g * (1 / np.where(n == 0, 1, n)).astype(dt)  # ties share g evenly
            gx = g * self_hit.astype(dt)
            gs = GetItem.apply(g, index=index) * src_hit.astype(dt) if ns else None
        if keep is not None and nx:
            gx = gx * keep
        return (gx if nx else None), gs

    def _prod_grads(self, g, out, x, src, nx, ns):
        """PyTorch's rule: the product of the others, exact where x or one src is 0."""
        index, params = self.index, self.params()
        one = np.ones((), raw(g).dtype)
        gx = gs = None
        if nx:
            safe_x = Where.apply(raw(x) == 0, one, x)
            gx = g * ScatterReduce.apply(safe_x, src, **params) / safe_x
        if ns:
            zero = raw(src) == 0
            zeros_at = np.zeros(x.shape, np.int64)
            np.add.at(zeros_at, index, zero)
            single = zero & (zeros_at[index] == 1)  # the only 0 of its group: others' product
            others = GetItem.apply(g * ScatterReduce.apply(x, Where.apply(single, one, src),
                                                           **params), index=index)
            rest = GetItem.apply(g * out, index=index) / Where.apply(zero, one, src)
            gs = Where.apply(single, others, rest)
            if isinstance(gs, Tensor) and (zeros_at > 1).any():  # (as PyTorch: exact to first
                gs = apply1(_Refuse(  # order only, where two zeros of src meet)
                    "scatter_reduce(): double backward is unsupported for src when more than "
                    "one zero of src is scattered to the same position (the rule divides by "
                    "src); move the zeros apart or differentiate once"), gs)
        return gx, gs


class _Refuse(Node):
    """out = x; its backward raises: marks a gradient that is right to first order only"""
    __slots__ = ("message",)
    reads = ()

    def __init__(self, message):
        self.message = message

    def forward(self, x):
        return np.array(x)

    def backward(self, g, out, x):
        raise RuntimeError(self.message)


def _scatter_args(x, dim, index, src, op):
    """(x, d, idx) checked as PyTorch checks scatter's arguments."""
    x = tensor_arg(x, op)
    idx = _int_index(index, op)
    nd = x.data.ndim
    d = _dim(dim, nd, op)
    if idx.ndim != max(nd, 1) and not (nd == 0 and idx.ndim == 0):
        raise RuntimeError(f"{op}(): index tensor must have the same number of dimensions as "
                           f"self tensor (index shape {idx.shape}, self shape {x.data.shape})")
    shape = x.data.shape if nd else (1,)
    idx = idx.reshape(-1) if nd == 0 else idx
    sshape = None if src is None else (src.data.shape if src.data.ndim else (1,))
    for i, n in enumerate(idx.shape):
        if idx.size and ((i != d and n > shape[i]) or (sshape is not None and (
                len(sshape) != len(idx.shape) or n > sshape[i]))):
            raise RuntimeError(f"{op}(): expected index {idx.shape} to be smaller than self "
                               f"{x.data.shape} apart from dimension {d} and to be smaller "
                               f"than src {None if src is None else src.data.shape}")
    return x, d, _check_range(idx, shape[d], op, d, RuntimeError)


def _scatter_src(src, idx, x):
    """src cut to idx's shape (PyTorch uses only its first index.shape elements)."""
    if src.data.ndim == 0:
        src = reshape(src, 1)
    if src.data.shape != idx.shape:
        src = getitem(src, tuple(slice(0, n) for n in idx.shape))
    return src


def _lifted(x, fn):
    """fn on x, a 0-d x seen as 1-d (and the result back to 0-d)."""
    if x.data.ndim:
        return fn(x)
    return reshape(fn(reshape(x, 1)), ())


# --- the functions users call ------------------------------------------------------------------

def index_select(x, dim, index):
    """The entries at `index` (a vector) along dim"""
    x = tensor_arg(x, "index_select")
    idx = _int_index(index, "index_select")
    if idx.ndim > 1:
        raise IndexError(f"index_select(): index is supposed to be a vector, got shape "
                         f"{idx.shape}")
    idx = idx.reshape(-1)
    d = _dim(dim, x.data.ndim, "index_select")
    if x.data.ndim == 0 and idx.size != 1:
        raise RuntimeError(f"index_select(): index to scalar can have only 1 value, got "
                           f"{idx.size} value(s)")
    n = x.data.shape[d] if x.data.ndim else 1
    idx = _check_range(idx, n, "index_select", d, IndexError)
    return _lifted(x, lambda t: getitem(t, _along(d, idx)))


def _index_source(x, d, idx, source, op):
    """source checked to fill x's entries idx along d (same dtype, slice shapes)."""
    source = tensor_arg(source, op, "source")
    _same_dtype(x, source, op, "source")
    want = x.data.shape[:d] + (idx.size,) + x.data.shape[d + 1:] if x.data.ndim else (1,)
    got = source.data.shape if source.data.ndim else (1,)
    if got != want:
        raise RuntimeError(f"{op}(): source of shape {source.data.shape} does not match: "
                           f"expected {want} (self {x.data.shape} with dim {d} of size "
                           f"{idx.size}, the index's length)")
    return reshape(source, want) if source.data.shape != want else source


def _index_args(x, dim, index, op, exc, negative=False):
    x = tensor_arg(x, op)
    idx = _int_index(index, op)
    if idx.ndim > 1:
        raise IndexError(f"{op}(): index should be a vector, got shape {idx.shape}")
    idx = idx.reshape(-1)
    d = _dim(dim, x.data.ndim, op)
    n = x.data.shape[d] if x.data.ndim else 1
    return x, d, _check_range(idx, n, op, d, exc, negative)


def index_add_method(x, dim, index, source, *, alpha=1):
    """x with alpha * source added at `index` along dim (repeated indices accumulate):
    PyTorch's Tensor.index_add (autodiff.index_add is the low-level zeros-and-add primitive)"""
    x, d, idx = _index_args(x, dim, index, "index_add", RuntimeError)
    source = _index_source(x, d, idx, source, "index_add")
    if alpha != 1:
        source = source * alpha
    return _lifted(x, lambda t: t + index_add(source, _along(d, idx), t.data.shape))


def index_copy(x, dim, index, source):
    """x with source's slices copied to `index` along dim"""
    x, d, idx = _index_args(x, dim, index, "index_copy", IndexError)
    source = _index_source(x, d, idx, source, "index_copy")
    return _lifted(x, lambda t: index_put(t, _along(d, idx), source))


def index_fill(x, dim, index, value):
    """x with the entries at `index` along dim set to value (a number or a 0-d tensor)"""
    x, d, idx = _index_args(x, dim, index, "index_fill", IndexError, negative=True)
    value = _as_value(value, x, "index_fill")
    # each position once: value's gradient sums g over the filled positions (as PyTorch)
    return _lifted(x, lambda t: index_put(t, _along(d, np.unique(idx)), value))


def index_reduce(x, dim, index, source, reduce, *, include_self=True):
    """x with source's slices reduced into `index` along dim: 'prod', 'mean', 'amax', 'amin'"""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    x, d, idx = _index_args(x, dim, index, "index_reduce", IndexError)
    source = _index_source(x, d, idx, source, "index_reduce")
    shape = source.data.shape
    grid = _grid(np.broadcast_to(idx.reshape((-1,) + (1,) * (len(shape) - d - 1)), shape), d)
    node = ScatterReduce(grid, reduce, include_self)
    return _lifted(x, lambda t: apply(node, t, source))


def masked_fill(x, mask, value):
    """x where mask is false, value where it is true (mask and x broadcast together)"""
    x = tensor_arg(x, "masked_fill")
    mask = _bool_mask(mask, "masked_fill_")
    return where(mask, _as_value(value, x, "masked_fill_"), x)


def masked_select(x, mask):
    """The entries of x (broadcast with mask) where mask is true, as a 1-d tensor"""
    x = tensor_arg(x, "masked_select")
    mask = _bool_mask(mask, "masked_select")
    shape = broadcast_shape("masked_select", x.data.shape, mask.data.shape)
    if x.data.shape != shape:
        x = broadcast_to(x, shape)
    m = np.broadcast_to(mask.data, shape)
    return getitem(x, m) if shape else getitem(reshape(x, 1), m.reshape(1))


def masked_scatter(x, mask, source):
    """x (broadcast with mask) with its entries where mask is true replaced, in order, by the
    first elements of source"""
    x = tensor_arg(x, "masked_scatter")
    mask = _bool_mask(mask, "masked_scatter")
    source = tensor_arg(source, "masked_scatter", "source")
    _same_dtype(x, source, "masked_scatter", "source")
    shape = broadcast_shape("masked_scatter", x.data.shape, mask.data.shape)
    m = np.broadcast_to(mask.data, shape)
    n = int(m.sum())
    if source.data.size < n:
        raise RuntimeError(f"masked_scatter(): number of elements of source "
                           f"({source.data.size}) < number of ones in mask ({n})")
    if x.data.shape != shape:
        x = broadcast_to(x, shape)
    values = getitem(reshape(source, -1), slice(0, n))
    return _lifted(x, lambda t: index_put(t, m.reshape(t.data.shape), values))


def nonzero(x, *, as_tuple=False):
    """The indices of the nonzero entries: an (n, ndim) int64 tensor, or one vector per dim
    (no gradient)"""
    x = tensor_arg(x, "nonzero")
    if as_tuple:
        data = x.data if x.data.ndim else x.data.reshape(1)
        return tuple(Tensor._const(i.astype(np.int64)) for i in np.nonzero(data))
    return Tensor._const(np.argwhere(x.data).astype(np.int64))


def argwhere(x):
    """The indices of the nonzero entries, an (n, ndim) int64 tensor (no gradient)"""
    return nonzero(x)


def take(x, index):
    """x's elements, as if flattened, at `index` (negative counts from the end); index's shape"""
    x = tensor_arg(x, "take")
    idx = _int_index(index, "take")
    n = x.data.size
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)].flat[0]
        raise IndexError(f"take(): out of range: tried to access index {bad} on a tensor of "
                         f"{n} elements")
    return getitem(reshape(x, -1), idx % max(n, 1))


def put(x, index, source, accumulate=False):
    """x, as if flattened, with source's elements written (or added) at `index` (negative
    counts from the end)"""
    x = tensor_arg(x, "put")
    idx = _int_index(index, "put").reshape(-1)
    source = tensor_arg(source, "put", "source")
    _same_dtype(x, source, "put", "source")
    if source.data.size != idx.size:
        raise IndexError(f"put(): expected source and index to have the same number of "
                         f"elements, got {source.data.size} and {idx.size}")
    n = x.data.size
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)].flat[0]
        raise IndexError(f"put(): out of range: tried to access index {bad} on a tensor of "
                         f"{n} elements")
    idx, flat = idx % max(n, 1), reshape(source, -1)
    if accumulate:
        return x + reshape(index_add(flat, (idx,), (n,)), x.data.shape)
    return reshape(index_put(reshape(x, -1), (idx,), flat), x.data.shape)


def index_put_method(x, indices, values, accumulate=False):
    """x with x[indices] = values (or += with accumulate=True, repeated indices adding up):
    PyTorch's Tensor.index_put (autodiff.index_put(x, index, value) is the primitive)"""
    x = tensor_arg(x, "index_put")
    values = tensor_arg(values, "index_put", "values")
    if values.data.dtype != x.data.dtype:
        raise RuntimeError(f"index_put(): the source and destination dtypes must match, got "
                           f"{x.data.dtype} for the destination and {values.data.dtype} for "
                           f"the source")
    index = _index_arg(tuple(indices))
    if not accumulate:
        return index_put(x, index, values)
    try:
        target = np.empty(x.data.shape, np.bool_)[index].shape
    except IndexError as e:
        raise IndexError(f"index_put(): index is invalid for a tensor of shape "
                         f"{x.data.shape}: {e}") from None
    return x + index_add(broadcast_to(values, target), index, x.data.shape)


def take_along_dim(x, indices, dim=None):
    """gather along dim after broadcasting x and indices in the other dims (flattened when
    dim is None); negative indices count from the end"""
    x = tensor_arg(x, "take_along_dim")
    idx = _int_index(indices, "take_along_dim", "indices")
    if dim is None:
        return take(x, idx.reshape(-1))
    nd = x.data.ndim
    if idx.ndim != nd:
        raise RuntimeError(f"take_along_dim(): input ({x.data.shape}) and indices "
                           f"({idx.shape}) should have the same number of dimensions")
    d = _dim(dim, nd, "take_along_dim")
    if nd == 0:
        return take(x, idx)
    n = x.data.shape[d]
    idx = _check_range(idx, n, "take_along_dim", d, IndexError, negative=True)
    others = [broadcast_shape("take_along_dim", (a,), (b,))[0] if i != d else None
              for i, (a, b) in enumerate(zip(x.data.shape, idx.shape))]
    xs = tuple(n if i == d else s for i, s in enumerate(others))
    if x.data.shape != xs:
        x = broadcast_to(x, xs)
    idx = np.broadcast_to(idx, tuple(idx.shape[d] if i == d else s for i, s in enumerate(others)))
    return gather(x, d, idx)


def scatter(x, dim, index, src=None, value=None, *, reduce=None):
    """x with src's entries (or value) written at index along dim (PyTorch's scatter); reduce
    'add' or 'multiply' combines them with x's instead"""
    if value is None and not isinstance(src, Tensor) and src is not None:
        src, value = None, src  # scatter(x, dim, index, 2.0)
    if (src is None) == (value is None):
        raise TypeError("scatter(): give exactly one of src (a tensor) and value (a number)")
    if reduce not in (None, "add", "multiply"):
        raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got "
                           f"{reduce!r}")
    x0 = tensor_arg(x, "scatter")
    if src is not None:
        _same_dtype(x0, src, "scatter", "src")
    x, d, idx = _scatter_args(x0, dim, index, src, "scatter")
    if src is None:
        src = Tensor._const(np.full(idx.shape, value, x.data.dtype))
    src = _scatter_src(src, idx, x)
    grid = _grid(idx, d)
    if reduce is None:
        return _lifted(x, lambda t: index_put(t, grid, src))
    node = ScatterReduce(grid, "sum" if reduce == "add" else "prod", True)
    return _lifted(x, lambda t: apply(node, t, src))


def scatter_add(x, dim, index, src):
    """x with src's entries added at index along dim (repeated indices accumulate)"""
    return scatter_reduce(x, dim, index, src, "sum")


def scatter_reduce(x, dim, index, src, reduce, *, include_self=True):
    """x with src's entries reduced into index along dim: 'sum', 'prod', 'mean', 'amax',
    'amin'; include_self=False leaves x's values at the scattered positions out"""
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"scatter_reduce(): reduce argument must be either sum, prod, mean, "
                           f"amax or amin, got {reduce}")
    x = tensor_arg(x, "scatter_reduce")
    src = tensor_arg(src, "scatter_reduce", "src")
    _same_dtype(x, src, "scatter_reduce", "src")
    x, d, idx = _scatter_args(x, dim, index, src, "scatter_reduce")
    src = _scatter_src(src, idx, x)
    node = ScatterReduce(_grid(idx, d), reduce, include_self)
    return _lifted(x, lambda t: apply(node, t, src))


def select_scatter(x, src, dim, index):
    """x with x.select(dim, index) replaced by src"""
    x = tensor_arg(x, "select_scatter")
    src = tensor_arg(src, "select_scatter", "src")
    d = _dim(dim, x.data.ndim, "select_scatter")
    n = x.data.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select_scatter(): index {index} out of range for tensor of size "
                         f"{x.data.shape} at dimension {d}")
    at = _along(d, index % n)
    want = x.data.shape[:d] + x.data.shape[d + 1:]
    if src.data.shape != want:
        raise RuntimeError(f"select_scatter(): expected src to have a size equal to the slice "
                           f"of self. src size = {list(src.data.shape)}, slice size = "
                           f"{list(want)}")
    return index_put(x, at, src.to(x.data.dtype))


def slice_scatter(x, src, dim=0, start=None, end=None, step=1):
    """x with x[..., start:end:step, ...] (along dim) replaced by src"""
    x = tensor_arg(x, "slice_scatter")
    src = tensor_arg(src, "slice_scatter", "src")
    d = _dim(dim, x.data.ndim, "slice_scatter")
    if step <= 0:
        raise RuntimeError(f"slice_scatter(): slice step must be positive, got {step}")
    at = _along(d, slice(start, end, step))
    want = np.empty(x.data.shape, np.bool_)[at].shape
    if src.data.shape != want:
        raise RuntimeError(f"slice_scatter(): expected src to have a size equal to the slice "
                           f"of self. src size = {list(src.data.shape)}, slice size = "
                           f"{list(want)}")
    return index_put(x, at, src.to(x.data.dtype))


# --- diagonals ------------------------------------------------------------------------------------

def _diagonal_view(a, offset, d1, d2):
    """A writable view of a's diagonal (numpy's np.diagonal is read-only): the other dims in
    order, then the diagonal."""
    n1, n2 = a.shape[d1], a.shape[d2]
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    if length:  # start at the diagonal's first element
        a = a[_along(d2 if offset >= 0 else d1, slice(abs(offset), None))]
    keep = [i for i in range(a.ndim) if i not in (d1, d2)]
    return as_strided(a, tuple(a.shape[i] for i in keep) + (length,),
                      tuple(a.strides[i] for i in keep) + (a.strides[d1] + a.strides[d2],))


class Diagonal(Node):
    """out = the (offset) diagonal of dims dim1, dim2 of x, as a view; dx = zeros with g on
    that diagonal"""
    __slots__ = ("offset", "dim1", "dim2")
    reads = ()

    def __init__(self, offset, dim1, dim2):
        self.offset, self.dim1, self.dim2 = offset, dim1, dim2

    def forward(self, x):
        return _diagonal_view(x, self.offset, self.dim1, self.dim2)

    def backward(self, g, out, x):
        return (DiagEmbed.apply(g, shape=x.shape, offset=self.offset, dim1=self.dim1,
                                dim2=self.dim2),)


class DiagEmbed(Node):
    """out = zeros(shape) with x on the (offset) diagonal of dims dim1, dim2; dx = that
    diagonal of g"""
    __slots__ = ("shape", "offset", "dim1", "dim2")
    reads = ()

    def __init__(self, shape, offset, dim1, dim2):
        self.shape, self.offset, self.dim1, self.dim2 = shape, offset, dim1, dim2

    def forward(self, x):
        out = np.zeros(self.shape, x.dtype)
        _diagonal_view(out, self.offset, self.dim1, self.dim2)[...] = x
        return out

    def backward(self, g, out, x):
        return (Diagonal.apply(g, offset=self.offset, dim1=self.dim1, dim2=self.dim2),)


def _two_dims(dim1, dim2, ndim, op):
    d1, d2 = (_dim(d, ndim, op) for d in (dim1, dim2))
    if d1 == d2:
        raise RuntimeError(f"{op}(): diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def diagonal(x, offset=0, dim1=0, dim2=1):
    """The (offset) diagonal of dims dim1, dim2, as the last dim: a view of x"""
    x = tensor_arg(x, "diagonal")
    if x.data.ndim < 2:
        raise IndexError(f"diagonal(): dimension out of range: needs at least 2 dims, got shape "
                         f"{x.data.shape}")
    node = Diagonal(int(offset), *_two_dims(dim1, dim2, x.data.ndim, "diagonal"))
    return as_view(apply1(node, x), x, node)


_diagonal = diagonal  # (diag's argument of that name hides it)


def diagonal_scatter(x, src, offset=0, dim1=0, dim2=1):
    """x with its (offset) diagonal of dims dim1, dim2 replaced by src"""
    x = tensor_arg(x, "diagonal_scatter")
    src = tensor_arg(src, "diagonal_scatter", "src")
    if x.data.ndim < 2:
        raise IndexError(f"diagonal_scatter(): dimension out of range: needs at least 2 dims, "
                         f"got shape {x.data.shape}")
    d1, d2 = _two_dims(dim1, dim2, x.data.ndim, "diagonal_scatter")
    on = np.zeros(x.data.shape, np.bool_)
    view = _diagonal_view(on, int(offset), d1, d2)
    if src.data.shape != view.shape:
        raise RuntimeError(f"diagonal_scatter(): expected src to have a size equal to the "
                           f"slice of self. src size = {list(src.data.shape)}, slice size = "
                           f"{list(view.shape)}")
    view[...] = True
    node = DiagEmbed(x.data.shape, int(offset), d1, d2)
    return where(Tensor._const(on), apply1(node, src.to(x.data.dtype)), x)


def diag_embed(x, offset=0, dim1=-2, dim2=-1):
    """Matrices (in dims dim1, dim2 of the result) with x's last dim on their (offset)
    diagonal, zeros elsewhere"""
    x = tensor_arg(x, "diag_embed")
    nd = x.data.ndim + 1
    if nd < 2:
        raise IndexError(f"diag_embed(): dimension out of range: needs at least 1 dim, got shape "
                         f"{x.data.shape}")
    d1, d2 = _two_dims(dim1, dim2, nd, "diag_embed")
    n = x.data.shape[-1] + abs(int(offset))
    batch = iter(x.data.shape[:-1])
    shape = tuple(n if i in (d1, d2) else next(batch) for i in range(nd))
    return apply1(DiagEmbed(shape, int(offset), d1, d2), x)


def diag(x, diagonal=0):
    """A 1-d x as the (diagonal) diagonal of a square matrix; a 2-d x's diagonal (a copy)"""
    x = tensor_arg(x, "diag")
    if x.data.ndim == 1:
        return diag_embed(x, diagonal, 0, 1)
    if x.data.ndim == 2:
        return clone(_diagonal(x, diagonal))
    raise RuntimeError(f"diag(): supports 1D or 2D tensors, got {x.data.ndim}D (shape "
                       f"{x.data.shape}); use diagonal() or diag_embed()")


def diagflat(x, offset=0):
    """x flattened, as the (offset) diagonal of a square matrix"""
    x = tensor_arg(x, "diagflat")
    return diag_embed(reshape(x, -1), offset, 0, 1)


def trace(x):
    """The sum of a matrix's main diagonal"""
    x = tensor_arg(x, "trace")
    if x.data.ndim != 2:
        raise RuntimeError(f"trace(): expected a matrix, but got tensor with dim "
                           f"{x.data.ndim} (shape {x.data.shape})")
    return _sum(diagonal(x))


def _indices(fn, name):
    def indices(row, col, offset=0, *, dtype=np.int64, device=None):
        out = np.stack(fn(int(row), int(offset), int(col))) if row and col else \
            np.zeros((2, 0))
        return Tensor._const(out.astype(dtype))
    indices.__name__ = indices.__qualname__ = name
    part = "lower" if fn is np.tril_indices else "upper"
    indices.__doc__ = (f"The (2, n) row and column indices of a row x col matrix's {part} "
                       f"triangle (on and {'below' if part == 'lower' else 'above'} the offset "
                       f"diagonal), row by row (no gradient)")
    return indices


tril_indices = _indices(np.tril_indices, "tril_indices")
triu_indices = _indices(np.triu_indices, "triu_indices")


# --- in place ------------------------------------------------------------------------------------

def _in_place(fn, name):
    """The method `name`: self = fn(self, ...), recorded while gradients are (as in
    autodiff/inplace.py)."""
    def method(self, *args, **kwargs):
        if _records(self, *args, *kwargs.values()):
            return record_inplace(self, name, lambda old: fn(old, *args, **kwargs))
        with no_grad():
            new = fn(self, *args, **kwargs)
        _check_result(name, self.data, new.data)
        return _write(self, name, new.data)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"{fn.__name__}, in place"
    return method


def fill_diagonal_(self, fill_value, wrap=False):
    """Sets the main diagonal (all dims equal, or a matrix; wrap: every n+1 rows of a tall
    one) to fill_value, in place"""
    shape = self.data.shape
    if len(shape) < 2:
        raise RuntimeError(f"fill_diagonal_(): dimensions must larger than 1, got shape {shape}")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError(f"fill_diagonal_(): all dimensions of input must be of equal length, "
                           f"got shape {shape}")
    mask = np.zeros(shape, np.bool_)
    np.fill_diagonal(mask, True, wrap=wrap)
    return masked_fill_(self, Tensor._const(mask), fill_value)


# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {name: globals()[name] for name in __all__
           if name not in ("tril_indices", "triu_indices")}
METHODS["index_add"] = index_add_method
METHODS["index_put"] = index_put_method
METHODS["fill_diagonal_"] = fill_diagonal_
METHODS.update({name + "_": _in_place(METHODS[name], name + "_") for name in (
    "index_add", "index_copy", "index_fill", "index_reduce", "scatter", "scatter_add",
    "scatter_reduce", "masked_scatter", "put")})
