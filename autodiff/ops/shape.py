"""Shape primitives, in pairs that are each other's gradient: reshape <-> reshape, permute <->
inverse permute, getitem <-> index_add, cat <-> slices, pad <-> slices, flip <-> flip
(broadcast_to <-> sum_to is in broadcast.py). Everything else here is a composition of these."""
import math
import numbers

import numpy as np

from ..function import Node, _Name, apply, apply1, apply2, apply_outputs
from ..tensor import Tensor, _axis
from ..versions import storage_of
from ..views import as_view
from ._operands import broadcast_shapes, normalize_dims, promote, tensor_arg
from .broadcast import BroadcastTo, SumTo, expand_view


class Reshape(Node):
    """out = x with a new shape, same elements; dx = reshape(g, x.shape)"""
    __slots__ = ("shape",)
    reads = ()

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, g, out, x):
        return (g.reshape(x.shape),)


class Permute(Node):
    """out = x with dims reordered; dx = g permuted back"""
    __slots__ = ("dims",)
    reads = ()

    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        return x.transpose(self.dims)

    def backward(self, g, out, x):
        return (Permute.apply(g, dims=tuple(np.argsort(self.dims).tolist())),)


class GetItem(Node):
    """out = x[index]; dx = zeros with g added at index (repeated indices accumulate)"""
    __slots__ = ("index",)
    reads = ()

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, g, out, x):
        return (IndexAdd.apply(g, index=self.index, shape=x.shape),)


class IndexAdd(Node):
    """out = zeros(shape) with g added at index; dx = g[index]"""
    __slots__ = ("index", "shape")
    reads = ()

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, g):
        index = self.index
        if type(index) is tuple and len(index) == 1:
            index = index[0]
        if type(index) is np.ndarray and g.size >= 4096 and index.dtype.kind == "i" and \
                g.dtype.kind == "f" and len(self.shape) and \
                g.shape == index.shape + self.shape[1:]:
            out = _add_rows(g, index, self.shape)  # (embedding gradients)
            if out is not None:
                return out
        out = np.zeros(self.shape, g.dtype)
        if _is_basic(self.index):
            out[self.index] = g
        else:
            np.add.at(out, self.index, g)  # repeated advanced indices accumulate
        return out

    def backward(self, gg, out, g):
        return (GetItem.apply(gg, index=self.index),)


def _add_rows(g, index, shape):
    """out = zeros(shape); out[index[i]] += g[i] for an integer array indexing dim 0, as a store
    (distinct ids), a one-hot product (few rows) or sorted segment sums, not np.add.at's
    element loop; None (np.add.at then raises numpy's error) if an index is out of range"""
    n = shape[0]
    idx = index.reshape(-1)
    low = idx.min() if idx.size else 0
    if not idx.size or low < -n or idx.max() >= n:
        return None
    if low < 0:
        idx = np.where(idx < 0, idx + n, idx)
    rows = g.reshape(idx.size, -1)
    if rows.shape[1] < 8:
        return None  # narrow rows: np.add.at is as fast
    counts = np.bincount(idx, minlength=n)
    if counts.max() <= 1:
        out = np.zeros((n, rows.shape[1]), g.dtype)
        out[idx] = rows
        return out.reshape(shape)
    if n <= (128 if g.dtype.itemsize <= 4 else 64):  # BLAS beats segment sums up to here
        onehot = np.zeros((n, idx.size), g.dtype)
        onehot[idx, np.arange(idx.size)] = 1
        out = onehot @ rows
        if np.isfinite(out).all():  # (else 0 * inf spread NaN to other rows)
            return out.reshape(shape)
    order = np.argsort(idx, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts[counts > 0])[:-1]))
    out = np.zeros((n, rows.shape[1]), g.dtype)
    out[np.flatnonzero(counts)] = np.add.reduceat(rows[order], starts, axis=0)
    return out.reshape(shape)


class IndexPut(Node):
    """out = x with out[index] = v; dx = g with zeros at index, dv = g[index] summed to v's
    shape (where an advanced index repeats a position, the last write wins, as in numpy)"""
    __slots__ = ("index",)
    reads = ()

    def __init__(self, index):
        self.index = index

    def forward(self, x, v):
        out = np.array(x)
        out[self.index] = v
        return out

    def backward(self, g, out, x, v):
        nx, nv = self.needs_input_grad
        gx = IndexPut.apply(g, np.zeros((), g.dtype), index=self.index) if nx else None
        gv = None
        if nv:
            gv = GetItem.apply(g, index=self.index)
            if gv.shape != v.shape:
                gv = SumTo.apply(gv, shape=v.shape)
        return gx, gv


class Cat(Node):
    """out = inputs joined along dim; each input's gradient is its slice of g"""
    __slots__ = ("dim",)
    reads = ()

    def __init__(self, dim):
        self.dim = dim

    def forward(self, *xs):
        return np.concatenate(xs, axis=self.dim)

    def backward(self, g, out, *xs):
        grads, start = [], 0
        lead = (slice(None),) * self.dim
        for x, need in zip(xs, self.needs_input_grad):
            n = x.shape[self.dim]
            grads.append(GetItem.apply(g, index=lead + (slice(start, start + n),))
                         if need else None)
            start += n
        return grads


class Split(Node):
    """outs = x's pieces along dim between consecutive bounds (views; with drop, the single
    positions bounds[:-1], dim removed: unbind); dx = the pieces' gradients joined along dim,
    zeros for a piece that got none (PyTorch's SplitBackward / UnbindBackward: one node, so
    the backward writes dx once, not once per piece)"""
    __slots__ = ("dim", "bounds", "drop", "n_outputs")
    reads = ()

    def __init__(self, dim, bounds, drop=False):
        self.dim, self.bounds, self.drop = dim, bounds, drop
        self.n_outputs = len(bounds) - 1

    @property
    def name(self):
        return _Name("UnbindBackward" if self.drop else "SplitBackward")

    def params(self):
        if self.drop:
            return {"dim": self.dim}
        b = self.bounds
        return {"dim": self.dim, "split_sizes": [j - i for i, j in zip(b[:-1], b[1:])]}

    def indices(self):
        """The basic index of each piece (as getitem makes it: a view step to replay)."""
        lead, b = (slice(None),) * self.dim, self.bounds
        if self.drop:
            return [lead + (i, Ellipsis) for i in b[:-1]]
        return [lead + (slice(i, j), Ellipsis) for i, j in zip(b[:-1], b[1:])]

    def forward(self, x):
        return tuple([x[index] for index in self.indices()])

    def backward(self, g, out, x):
        d, b = self.dim, self.bounds
        shape = list(x.shape)
        pieces = []
        for gi, i, j in zip(g, b[:-1], b[1:]):
            shape[d] = j - i
            if gi is None:
                gi = np.zeros(shape, x.dtype)  # (an array or a tensor's dtype: numpy takes both)
            elif self.drop:
                gi = Reshape.apply(gi, shape=tuple(shape))
            pieces.append(gi)
        return (Cat.apply(*pieces, dim=d),)


def split_views(x, dim, bounds, drop=False):
    """x's pieces between consecutive bounds along dim (see Split): views of x that are each
    one of several outputs (an in-place change of one is refused, as in PyTorch)"""
    if len(bounds) == 2:  # one piece: a view by getitem (a one-output node)
        at = bounds[0] if drop else slice(bounds[0], bounds[1])
        return (getitem(x, (slice(None),) * dim + (at,), one_of_many=True),)
    node = Split(dim, bounds, drop)
    outs = apply_outputs(node, x)
    return tuple([as_view(t, x, GetItem(index), True) for t, index in zip(outs, node.indices())])


class Flip(Node):
    """out = x reversed along dims; dx = g reversed along dims"""
    __slots__ = ("dims",)
    reads = ()

    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        return np.flip(x, self.dims).copy()  # (a copy, as in PyTorch: flip is no view)

    def backward(self, g, out, x):
        return (Flip.apply(g, dims=self.dims),)


class ConstantPad(Node):
    """out = x surrounded by `value`; dx = the interior slice of g"""
    __slots__ = ("widths", "value")
    reads = ()

    def __init__(self, widths, value):
        self.widths, self.value = widths, value

    def forward(self, x):
        return np.pad(x, self.widths, constant_values=self.value)

    def backward(self, g, out, x):
        interior = tuple(slice(lo, g.shape[d] - hi) for d, (lo, hi) in enumerate(self.widths))
        return (GetItem.apply(g, index=interior),)


# --- helpers -----------------------------------------------------------------------------------

def _shape_arg(shape, op):
    if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
        shape = tuple(shape[0])
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{op}: shape must be integers, got {shape!r}") from None


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (slice, numbers.Integral))
               and not isinstance(i, (bool, np.bool_)) for i in items)


def _is_int(i):
    return isinstance(i, numbers.Integral) and not isinstance(i, (bool, np.bool_))


def _split_ints(index):
    """(the ints of index with full slices elsewhere, the rest without the ints)"""
    first, rest = [], []
    for i in index:
        if _is_int(i):
            first.append(i)
        elif i is Ellipsis:
            first.append(i)
            rest.append(i)
        elif i is None:
            rest.append(i)
        else:  # (a bool mask spans as many dims as it has)
            n = i.ndim if isinstance(i, np.ndarray) and i.dtype == np.bool_ else 1
            first.extend([slice(None)] * n)
            rest.append(i)
    return tuple(first), tuple(rest)


def _index_arg(index):
    """Index items as numpy understands them: tensors and lists become arrays."""
    if isinstance(index, tuple):
        return tuple(_index_item(i) for i in index)
    return _index_item(index)


def _index_item(i):
    if isinstance(i, Tensor):
        i = i.data
    elif isinstance(i, list):
        i = np.asarray(i)
    if isinstance(i, np.ndarray):
        if i.dtype == np.bool_:
            return i
        if i.dtype.kind not in "iu":
            raise IndexError(f"tensors used as indices must be integer or bool, got {i.dtype}")
    return i


# --- the functions users call ------------------------------------------------------------------

def _resolve_shape(shape, size):
    """shape with its -1 (at most one) worked out for `size` elements; None if impossible."""
    if -1 in shape:
        known = math.prod(n for n in shape if n != -1)
        if shape.count(-1) > 1 or known == 0 or size % known:
            return None
        shape = tuple(size // known if n == -1 else n for n in shape)
    if math.prod(shape) != size or any(n < 0 for n in shape):
        return None
    return shape


def reshape(x, *shape):
    """Same elements, new shape (one dim may be -1)"""
    x = tensor_arg(x, "reshape")
    shape = _shape_arg(shape, "reshape")
    out_shape = shape if shape == x.data.shape else _resolve_shape(shape, x.data.size)
    if out_shape is None:
        raise RuntimeError(f"reshape: shape {shape} is invalid for a tensor of shape "
                           f"{x.data.shape} ({x.data.size} elements)")
    node = Reshape(out_shape)
    out = apply1(node, x)
    if storage_of(out.data) is storage_of(x.data):  # a view when the layout allows, as torch
        as_view(out, x, node)
    return out


def view(x, *shape):
    """The same memory seen with a new shape (one dim may be -1); raises where the layout
    does not allow it (reshape copies then)"""
    out = reshape(x, *shape)
    if out is not x and out._view is None and out.data.size:
        raise RuntimeError(
            f"view size is not compatible with input tensor's size and stride (at least one "
            f"dimension spans across two contiguous subspaces): shape {tuple(x.data.shape)}, "
            f"strides {x.stride()}, requested {_shape_arg(shape, 'view')}. Use .reshape(...) "
            f"instead.")
    return out


def flatten(x, start_dim=0, end_dim=-1):
    """Merges dims start_dim..end_dim into one"""
    x = tensor_arg(x, "flatten")
    if x.data.ndim == 0:
        return reshape(x, 1)
    s, e = _axis(start_dim, x.data.ndim, "flatten"), _axis(end_dim, x.data.ndim, "flatten")
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.data.shape
    return reshape(x, shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:])


def squeeze(x, dim=None):
    """Removes size-1 dims (all, or those in dim)"""
    x = tensor_arg(x, "squeeze")
    shape = x.data.shape
    dims = normalize_dims(dim, x.data.ndim, "squeeze")
    if dims is None:
        dims = tuple(i for i, n in enumerate(shape) if n == 1)
    return reshape(x, tuple(n for i, n in enumerate(shape) if not (i in dims and n == 1)))


def unsqueeze(x, dim):
    """Inserts a size-1 dim at position dim"""
    x = tensor_arg(x, "unsqueeze")
    n = x.data.ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor with {n - 1} "
                         f"dimension(s) (valid: {-n} to {n - 1})")
    dim %= n
    shape = x.data.shape
    return reshape(x, shape[:dim] + (1,) + shape[dim:])


def permute(x, *dims):
    """Reorders dims: out.shape[i] = x.shape[dims[i]]"""
    x = tensor_arg(x, "permute")
    dims = _shape_arg(dims, "permute")
    if len(dims) != x.data.ndim or sorted(d % max(x.data.ndim, 1) for d in dims) != list(
            range(x.data.ndim)):
        raise RuntimeError(f"permute: dims {dims} must be a permutation of 0..{x.data.ndim - 1} "
                         f"for a tensor of shape {x.data.shape}")
    dims = tuple(d % x.data.ndim for d in dims)  # (the identity too: a new view, as in torch)
    node = Permute(dims)
    return as_view(apply1(node, x), x, node)


def transpose(x, dim0, dim1):
    """Swaps two dims"""
    x = tensor_arg(x, "transpose")
    d0, d1 = (normalize_dims(d, x.data.ndim, "transpose")[0] for d in (dim0, dim1))
    dims = list(range(x.data.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(x, dims)


swapaxes = transpose


def mT(x):
    """The last two dims swapped (batched matrix transpose)"""
    nd = x.data.ndim
    if nd < 2:
        raise RuntimeError(f"mT: needs at least 2 dims, got shape {x.data.shape}")
    node = Permute(tuple(range(nd - 2)) + (nd - 1, nd - 2))
    return as_view(apply1(node, x), x, node)


def expand(x, *sizes):
    """broadcast_to where -1 keeps a dim's size (PyTorch's expand)"""
    x = tensor_arg(x, "expand")
    sizes = _shape_arg(sizes, "expand")
    lead = len(sizes) - x.data.ndim
    if lead < 0:
        raise RuntimeError(f"expand: {len(sizes)} sizes given for a tensor with {x.data.ndim} "
                           f"dims; give at least one size per dim")
    if -1 in sizes[:lead]:
        raise RuntimeError(f"expand: size -1 at dim {sizes.index(-1)} is not allowed for a new "
                           f"leading dim (only existing dims keep their size with -1); sizes "
                           f"{sizes}, tensor shape {x.data.shape}")
    shape = tuple(x.data.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return expand_view(x, shape, "expand")


def getitem(x, index, one_of_many=False):
    """x[index]: ints, slices, None, Ellipsis, bool masks, integer arrays (numpy semantics).
    Ints, slices, None and Ellipsis give a view of x; the others a copy."""
    if not isinstance(x, Tensor):
        x = tensor_arg(x, "getitem")
    index = _index_arg(index)
    basic = _is_basic(index)
    if basic:  # (with an Ellipsis numpy gives a 0-d view, not a scalar, for x[i, j])
        items = index if isinstance(index, tuple) else (index,)
        if not any(i is Ellipsis for i in items):
            index = items + (Ellipsis,)
    elif isinstance(index, tuple) and any(_is_int(i) for i in index):
        # PyTorch applies ints as basic indexing (selects) before the advanced indices; numpy
        # counts them as advanced, which moves the result's dims elsewhere
        first, rest = _split_ints(index)
        return getitem(getitem(x, first), rest)
    node = GetItem(index)
    try:
        out = apply1(node, x)
    except IndexError as e:
        raise IndexError(f"index {index!r} is invalid for a tensor of shape {x.data.shape}: {e}") \
            from None
    return as_view(out, x, node, one_of_many) if basic else out


def narrow(x, dim, start, length):
    """x[..., start:start + length, ...] along dim: a view"""
    x = tensor_arg(x, "narrow")
    d = normalize_dims(dim, x.data.ndim, "narrow")[0]
    n = x.data.shape[d]
    start = start + n if start < 0 else start
    if not 0 <= start <= n:
        raise IndexError(f"narrow: start {start} is out of range for dim {d} of size {n} "
                         f"(shape {x.data.shape})")
    if not (0 <= length and start + length <= n):
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size "
                           f"({n}) of dim {d} (shape {x.data.shape})")
    return getitem(x, (slice(None),) * d + (slice(start, start + length),))


def select(x, dim, index):
    """x[..., index, ...] along dim, that dim removed: a view"""
    x = tensor_arg(x, "select")
    d = normalize_dims(dim, x.data.ndim, "select")[0]
    n = x.data.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select: index {index} out of range for dim {d} of size {n} (shape "
                         f"{x.data.shape})")
    return getitem(x, (slice(None),) * d + (index % n,))


def index_add(g, index, shape):
    """zeros(shape) with g added at index (repeated indices accumulate)"""
    return apply(IndexAdd(index, tuple(shape)), g)


def index_put(x, index, value):
    """A copy of x with x[index] = value (value broadcast to the indexed shape); out of place and
    differentiable in x and value - what `x[index] = value` records while gradients are on"""
    x = tensor_arg(x, "index_put")
    value, x = promote(value, x, "index_put")
    index = _index_arg(index)
    try:
        target = np.empty(x.data.shape, np.bool_)[index].shape
    except IndexError as e:
        raise IndexError(f"index_put: index {index!r} is invalid for a tensor of shape "
                         f"{x.data.shape}: {e}") from None
    if broadcast_shapes(value.data.shape, target) != target:
        raise ValueError(f"index_put: a value of shape {value.data.shape} cannot be assigned to "
                         f"the indexed part of shape {target}")
    if value._requires_grad and value.data.shape != target and len(value.data.shape) > len(target):
        raise ValueError(f"index_put: value of shape {value.data.shape} has more dims than the "
                         f"indexed part {target}")
    return apply2(IndexPut(index), x, value)


def gather(x, dim, index):
    """out[..i..] = x[..index[..i..]..] along dim (PyTorch's gather), via advanced indexing"""
    x = tensor_arg(x, "gather")
    idx = _index_item(index)
    d = normalize_dims(dim, x.data.ndim, "gather")[0]
    if idx.ndim != x.data.ndim:
        raise RuntimeError(f"gather: index has {idx.ndim} dims but the input has {x.data.ndim}")
    n = x.data.shape[d] if x.data.ndim else 1
    if idx.size and (idx.min() < 0 or idx.max() >= n):  # (numpy would wrap negative indices)
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise RuntimeError(f"gather: index {bad} is out of bounds for dim {d} with size {n} "
                           f"(indices must be in 0..{n - 1}; negative indices are not allowed)")
    grid = list(np.indices(idx.shape, sparse=True))
    grid[d] = idx
    return getitem(x, tuple(grid))


def cat(tensors, dim=0):
    """Joins tensors along an existing dim"""
    xs = [tensor_arg(t, "cat") for t in tensors]
    if not xs:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    dt = xs[0]
    for t in xs[1:]:
        dt, _ = promote(t, dt, "cat")
    xs = [t.to(dt.data.dtype) for t in xs]
    nd = xs[0].data.ndim
    d = normalize_dims(dim, nd, "cat")[0]
    for i, t in enumerate(xs):
        if t.data.ndim != nd or t.data.shape[:d] + t.data.shape[d + 1:] != \
                xs[0].data.shape[:d] + xs[0].data.shape[d + 1:]:
            raise RuntimeError(f"cat: tensor {i} has shape {t.data.shape}, which does not match "
                             f"tensor 0's shape {xs[0].data.shape} outside dim {d}")
    if len(xs) == 1:
        return xs[0].clone()  # (a new tensor, as in PyTorch)
    return apply(Cat(d), *xs)


def stack(tensors, dim=0):
    """Joins tensors along a new dim"""
    xs = [tensor_arg(t, "stack") for t in tensors]
    if not xs:
        raise RuntimeError("stack: expected a non-empty sequence of tensors")
    for i, t in enumerate(xs):
        if t.data.shape != xs[0].data.shape:
            raise RuntimeError(f"stack: tensor {i} has shape {t.data.shape} but tensor 0 has "
                             f"{xs[0].data.shape}; all must have the same shape")
    return cat([unsqueeze(t, dim) for t in xs], dim)


def split(x, split_size_or_sections, dim=0):
    """Pieces along dim: of size n each (the last may be smaller), or of the listed sizes"""
    x = tensor_arg(x, "split")
    d = normalize_dims(dim, x.data.ndim, "split")[0]
    n = x.data.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        size = int(split_size_or_sections)
        if size <= 0:
            raise RuntimeError(f"split: split_size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                               f"entries, but got split_sizes={sizes}")
        if sum(sizes) != n:
            raise RuntimeError(f"split: sizes {sizes} sum to {sum(sizes)}, but dim {d} has size "
                               f"{n}")
    bounds = [0]
    for s in sizes:
        bounds.append(bounds[-1] + s)
    return split_views(x, d, bounds)


def chunk(x, chunks, dim=0):
    """`chunks` pieces of equal size along dim (the last may be smaller)"""
    x = tensor_arg(x, "chunk")
    d = normalize_dims(dim, x.data.ndim, "chunk")[0]
    if not isinstance(chunks, numbers.Integral) or chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be a positive int, got {chunks!r}")
    size = -(-x.data.shape[d] // chunks)
    return split(x, max(size, 1), d)


def unbind(x, dim=0):
    """The slices along dim, with that dim removed"""
    x = tensor_arg(x, "unbind")
    d = normalize_dims(dim, x.data.ndim, "unbind")[0]
    n = x.data.shape[d]
    return split_views(x, d, list(range(n + 1)), drop=True) if n else ()


def repeat(x, *sizes):
    """Tiles x: sizes[i] copies along dim i (PyTorch's repeat, numpy's tile)"""
    x = tensor_arg(x, "repeat")
    sizes = _shape_arg(sizes, "repeat")
    if len(sizes) < x.data.ndim:
        raise RuntimeError(f"repeat: got {len(sizes)} repeat counts for a tensor with "
                         f"{x.data.ndim} dims; give at least one per dim")
    shape = (1,) * (len(sizes) - x.data.ndim) + x.data.shape
    inter = []
    for n in shape:
        inter += [1, n]
    big = []
    for r, n in zip(sizes, shape):
        big += [r, n]
    out = apply1(BroadcastTo(tuple(big)), reshape(x, tuple(inter)))
    # (Reshape itself: the result views only that private intermediate, so it is no view)
    return apply1(Reshape(tuple(r * n for r, n in zip(sizes, shape))), out)


def flip(x, dims):
    """Reverses the order of elements along dims"""
    x = tensor_arg(x, "flip")
    dims = normalize_dims(dims, x.data.ndim, "flip")
    return apply1(Flip(dims), x)


def pad(x, pad, mode="constant", value=0.0):
    """Pads the last len(pad)//2 dims; pad = (left_last, right_last, left_prev, right_prev, ...)
    as in PyTorch. Modes: constant, reflect, replicate, circular."""
    x = tensor_arg(x, "pad")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.data.ndim:
        raise RuntimeError(f"pad: expected an even number of pad sizes, at most 2 per dim "
                           f"({2 * x.data.ndim} for shape {x.data.shape}), got {pad}")
    widths = [(0, 0)] * x.data.ndim
    for i in range(len(pad) // 2):
        widths[x.data.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        if any(p < 0 for p in pad):  # negative padding crops, as in PyTorch
            crop = []
            for d, (lo, hi) in enumerate(widths):
                n = x.data.shape[d]
                start, stop = max(-lo, 0), n - max(-hi, 0)
                if stop < start:
                    raise RuntimeError(f"pad: padding {pad} crops dim {d} of size {n} to a "
                                       f"negative size {stop - start}")
                crop.append(slice(start, stop))
            x = getitem(x, tuple(crop))
            widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
        return apply1(ConstantPad(tuple(widths), value), x)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode must be 'constant', 'reflect', 'replicate' or "
                                  f"'circular', got {mode!r}")
    out = x
    for d, (lo, hi) in enumerate(widths):
        if lo or hi:
            idx = _pad_source_index(x.data.shape[d], lo, hi, mode, d, x.data.shape, pad)
            out = getitem(out, (slice(None),) * d + (idx,))
    return out


def _pad_source_index(n, lo, hi, mode, dim, shape, pad):
    """The input index of every output position along one dim padded by (lo, hi) (negative:
    cropped): reflect and replicate index the uncropped input, circular wraps within the
    cropped one, as PyTorch"""
    where = f"padding {pad} for dim {dim} of size {n} (input shape {tuple(shape)})"
    if mode == "reflect" and (lo >= n or hi >= n):
        raise RuntimeError(f"pad: reflect padding must be smaller than the padded dim, got "
                           f"{where}; use mode='replicate' or 'constant' for wider padding")
    if n + lo + hi < 0:
        raise RuntimeError(f"pad: {where} crops the dim to a negative size {n + lo + hi}")
    if mode == "circular":
        if lo > n or hi > n:
            raise RuntimeError(f"pad: circular padding wraps around more than once: {where}; "
                               f"each side may be at most the dim's size")
        start = max(-lo, 0)
        kept = n - start - max(-hi, 0)  # crop first, then wrap within what is left
        if kept < 0 or max(lo, 0) > kept or max(hi, 0) > kept:
            raise RuntimeError(f"pad: circular padding reads past the cropped input: {where} "
                               f"keeps {max(kept, 0)} elements, and each side may pad at most "
                               f"that many")
        return np.arange(-max(lo, 0), kept + max(hi, 0)) % max(kept, 1) + start
    idx = np.arange(-lo, n + hi)  # output position -> index in the uncropped input
    if mode == "replicate" or n == 1:
        return np.clip(idx, 0, n - 1)
    period = 2 * (n - 1)  # reflect about the first and last element
    idx = np.abs(idx) % period
    return np.where(idx >= n, period - idx, idx)


class Triangle(Node):
    """out = the lower (tril) or upper (triu) triangle of x's last two dims from `diagonal`,
    zeros elsewhere; dx = the same triangle of g (PyTorch's TrilBackward / TriuBackward: the
    rule reads nothing)"""
    __slots__ = ("diagonal", "lower")
    reads = ()

    def __init__(self, diagonal, lower):
        self.diagonal, self.lower = diagonal, lower

    @property
    def name(self):
        return _Name("TrilBackward" if self.lower else "TriuBackward")

    def forward(self, x):
        return (np.tril if self.lower else np.triu)(x, self.diagonal)

    def backward(self, g, out, x):
        return (Triangle.apply(g, diagonal=self.diagonal, lower=self.lower),)


def _triangle(x, diagonal, lower, op):
    x = tensor_arg(x, op)
    if x.data.ndim < 2:
        raise RuntimeError(f"{op}: expected at least 2 dims, got shape {x.data.shape}")
    return apply1(Triangle(int(diagonal), lower), x)


def tril(x, diagonal=0):
    """The lower triangle (on and below the given diagonal) of the last two dims; zeros above"""
    return _triangle(x, diagonal, True, "tril")


def triu(x, diagonal=0):
    """The upper triangle (on and above the given diagonal) of the last two dims; zeros below"""
    return _triangle(x, diagonal, False, "triu")
