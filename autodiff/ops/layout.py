"""Shape and joining ops beyond the core set: roll, rot90, movedim, atleast_*, h/v/dstack,
tensor_split, tile, repeat_interleave, diff, meshgrid, block_diag, unfold.

All but unfold are compositions of shape.py's primitives (slices, cat, reshape, permute, flip,
broadcast), so their gradients to every order come from those. unfold (sliding windows, a
strided view) is a pair of primitives that are each other's gradient: Unfold <-> FoldWindows.
"""
import itertools
import numbers
import warnings

import numpy as np

from ..dtypes import get_default_dtype
from ..function import Node, apply, apply1
from ..tensor import Tensor, _axis
from ..views import as_view
from ._operands import broadcast_shapes as _broadcast, promote, tensor_arg
from .broadcast import BroadcastTo, expand_view, sum_to
from .elementwise import clone, logical_xor, sub
from .shape import Cat, Reshape, _shape_arg, cat, flip, getitem, pad, permute, repeat, \
    reshape, stack, transpose

__all__ = ["roll", "rot90", "unflatten", "movedim", "moveaxis", "swapdims", "ravel",
           "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack", "row_stack", "dstack",
           "column_stack", "tensor_split", "hsplit", "vsplit", "dsplit", "tile",
           "repeat_interleave", "fliplr", "flipud", "diff", "meshgrid", "cartesian_prod",
           "combinations", "broadcast_tensors", "broadcast_shapes", "block_diag",
           "unravel_index", "concat", "concatenate", "t"]


# --- helpers -----------------------------------------------------------------------------------

def _int(v, op, name):
    if isinstance(v, Tensor) and v.data.ndim == 0 and v.data.dtype.kind in "iu":
        v = v.item()
    if not isinstance(v, numbers.Integral) or isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be an int, got {type(v).__name__} ({v!r})")
    return int(v)


def _dim(dim, ndim, op):
    return _axis(_int(dim, op, "dim"), ndim, op)


def _ints(v, op, name):
    """An int or a sequence of ints as a tuple of ints."""
    if isinstance(v, (list, tuple)):
        return tuple(_int(i, op, name) for i in v)
    if isinstance(v, Tensor) and v.data.ndim == 1:
        return tuple(_int(i, op, name) for i in v.data.tolist())
    return (_int(v, op, name),)


def _tensors(tensors, op):
    """Tensors given as varargs or as one list/tuple."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    return tuple(tensor_arg(t, op) for t in tensors)


def _slice(x, d, start, stop):
    return getitem(x, (slice(None),) * d + (slice(start, stop),))


def _join(xs, d, op):
    """cat with PyTorch's checks (RuntimeError) and dtype promotion"""
    if not xs:
        raise RuntimeError(f"{op} expects a non-empty TensorList")
    nd = xs[0].data.ndim
    for i, t in enumerate(xs):
        if t.data.ndim != nd:
            raise RuntimeError(f"{op}: tensors must have the same number of dimensions: tensor 0 "
                               f"has shape {xs[0].data.shape}, tensor {i} has {t.data.shape}")
        a, b = xs[0].data.shape, t.data.shape
        if a[:d] + a[d + 1:] != b[:d] + b[d + 1:]:
            raise RuntimeError(f"{op}: sizes of tensors must match except in dimension {d}: "
                               f"tensor 0 has shape {a}, tensor {i} has {b}")
    return cat(list(xs), d)


# --- rolling, rotating, moving dims -------------------------------------------------------------

def roll(x, shifts, dims=None):
    """Elements shifted cyclically by shifts[i] along dims[i] (the flattened tensor when dims
    is None): a cat of the two slices, so dx rolls g back"""
    x = tensor_arg(x, "roll")
    shifts = _ints(shifts, "roll", "shifts")
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts {shifts} and dimensions must align: without dims, "
                               f"give one shift (for the flattened tensor)")
        # (Reshape itself: the result views only the private rolled copy, so it is no view)
        return apply1(Reshape(x.data.shape), roll(reshape(x, -1), shifts, 0))
    dims = _ints(dims, "roll", "dims")
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align: shifts {shifts}, "
                           f"dims {dims}")
    if x.data.ndim == 0:
        raise IndexError(f"roll: dimension specified as {dims[0]} but the tensor has no "
                         f"dimensions (roll a 0-d tensor without dims)")
    dims = tuple(_dim(d, x.data.ndim, "roll") for d in dims)
    out = x
    for s, d in zip(shifts, dims):
        n = x.data.shape[d]
        s = s % n if n else 0
        if s:
            out = apply(Cat(d), _slice(out, d, n - s, n), _slice(out, d, 0, n - s))
    return clone(x) if out is x else out  # (a new tensor, as in PyTorch)


def rot90(x, k=1, dims=(0, 1)):
    """Rotates by 90 degrees k times in the plane dims, from dims[0] towards dims[1]
    (flip + transpose)"""
    x = tensor_arg(x, "rot90")
    dims = _ints(dims, "rot90", "dims")
    nd = x.data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {dims}")
    if nd < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got a tensor of shape "
                           f"{x.data.shape}")
    d0, d1 = (_dim(d, nd, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90: expected rotation dims to be different, got {dims}")
    k = _int(k, "rot90", "k") % 4
    if k == 1:
        return transpose(flip(x, d1), d0, d1)
    if k == 2:
        return flip(x, (d0, d1))
    if k == 3:
        return transpose(flip(x, d0), d0, d1)
    return clone(x)


def unflatten(x, dim, sizes):
    """Dim `dim` split into dims of the given sizes (one may be -1): a view"""
    x = tensor_arg(x, "unflatten")
    d = _dim(dim, x.data.ndim, "unflatten")
    sizes = _ints(sizes, "unflatten", "sizes")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = x.data.shape[d]
    known = int(np.prod([s for s in sizes if s != -1]))
    if sizes.count(-1) > 1 or any(s < -1 for s in sizes) or (
            -1 in sizes and (known == 0 or n % known)) or (-1 not in sizes and known != n):
        raise RuntimeError(f"unflatten: provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {d} ({n}) in the input tensor of shape "
                           f"{x.data.shape}")
    sizes = tuple(n // known if s == -1 else s for s in sizes)
    shape = x.data.shape
    return reshape(x, shape[:d] + sizes + shape[d + 1:])


def movedim(x, source, destination):
    """Dims `source` moved to positions `destination`, the others keeping their order: a view"""
    x = tensor_arg(x, "movedim")
    nd = x.data.ndim
    src, dst = _ints(source, "movedim", "source"), _ints(destination, "movedim", "destination")
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: invalid source or destination dims: source {src} and "
                           f"destination {dst} must have the same number of dims")
    src = tuple(_dim(d, nd, "movedim") for d in src)
    dst = tuple(_dim(d, nd, "movedim") for d in dst)
    for name, ds in (("source", src), ("destination", dst)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` {ds}")
    if nd == 0:
        return permute(x, ())
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, tuple(order))


moveaxis = movedim


def swapdims(x, dim0, dim1):
    """Swaps two dims (transpose): a view"""
    return transpose(x, dim0, dim1)


def ravel(x):
    """The elements as a 1-d tensor: a view when the memory is contiguous, else a copy"""
    return reshape(tensor_arg(x, "ravel"), -1)


# --- at least n dims, stacking ------------------------------------------------------------------

def _atleast(tensors, n, op):
    single = len(tensors) == 1 and isinstance(tensors[0], (Tensor, np.ndarray, numbers.Number))
    out = []
    for t in _tensors(tensors, op):
        nd = t.data.ndim
        if nd >= n:
            out.append(t)  # (the tensor itself, as in PyTorch)
        elif n == 3 and nd == 2:
            out.append(reshape(t, t.data.shape + (1,)))
        elif n == 3 and nd == 1:
            out.append(reshape(t, (1,) + t.data.shape + (1,)))
        else:
            out.append(reshape(t, (1,) * (n - nd) + t.data.shape))
    return out[0] if single else tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (a 0-d one becomes shape (1,)); one tensor -> a tensor,
    several -> a tuple"""
    return _atleast(tensors, 1, "atleast_1d")


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims: 0-d -> (1, 1), (n,) -> (1, n)"""
    return _atleast(tensors, 2, "atleast_2d")


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims: 0-d -> (1, 1, 1), (n,) -> (1, n, 1), (m, n) ->
    (m, n, 1)"""
    return _atleast(tensors, 3, "atleast_3d")


def _as_list(tensors, op):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a sequence of tensors, got a single Tensor")
    return [tensor_arg(t, op) for t in tensors]


def hstack(tensors):
    """Joins along dim 1 (dim 0 for 1-d tensors) after atleast_1d"""
    xs = _as_list(tensors, "hstack")
    xs = [atleast_1d(t) for t in xs]
    return _join(xs, 0 if xs and xs[0].data.ndim == 1 else 1, "hstack")


def vstack(tensors):
    """Joins along dim 0 after atleast_2d (1-d tensors become rows)"""
    return _join([atleast_2d(t) for t in _as_list(tensors, "vstack")], 0, "vstack")


row_stack = vstack


def dstack(tensors):
    """Joins along dim 2 after atleast_3d"""
    return _join([atleast_3d(t) for t in _as_list(tensors, "dstack")], 2, "dstack")


def column_stack(tensors):
    """Joins along dim 1, 0-d and 1-d tensors becoming columns (n, 1)"""
    xs = [reshape(t, (t.data.size, 1)) if t.data.ndim <= 1 else t
          for t in _as_list(tensors, "column_stack")]
    return _join(xs, 1, "column_stack")


# --- splitting -----------------------------------------------------------------------------------

def tensor_split(x, indices_or_sections, dim=0):
    """Views along dim: `sections` pieces as equal as possible (the first n % sections one
    longer), or the pieces between the given indices"""
    x = tensor_arg(x, "tensor_split")
    if x.data.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = _dim(dim, x.data.ndim, "tensor_split")
    n = x.data.shape[d]
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        if spec.data.dtype.kind not in "iu":
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have an "
                               f"integer dtype, got {spec.data.dtype}")
        if spec.data.ndim > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a "
                               f"zero-dimensional or one-dimensional tensor, but got shape "
                               f"{spec.data.shape}")
        spec = spec.item() if spec.data.ndim == 0 else spec.data.tolist()
    if isinstance(spec, numbers.Integral) and not isinstance(spec, (bool, np.bool_)):
        sections = int(spec)
        if sections <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got "
                               f"{sections}")
        size, extra = divmod(n, sections)
        bounds = np.cumsum([0] + [size + 1] * extra + [size] * (sections - extra)).tolist()
    else:
        bounds = [0, *_ints(spec, "tensor_split", "indices"), None]
    return tuple(_slice(x, d, a, b) for a, b in zip(bounds[:-1], bounds[1:]))


def _split_at_dim(x, spec, d, min_dims, op):
    x = tensor_arg(x, op)
    if x.data.ndim < min_dims:
        raise RuntimeError(f"torch.{op} requires a tensor with at least {min_dims} dimension(s), "
                           f"but got a tensor of shape {x.data.shape}")
    if isinstance(spec, Tensor) and spec.data.ndim == 0 and spec.data.dtype.kind in "iu":
        spec = spec.item()
    if isinstance(spec, numbers.Integral):
        n = x.data.shape[d]
        if spec == 0 or n % spec:
            raise RuntimeError(f"torch.{op} attempted to split along dimension {d}, but the size "
                               f"of the dimension {n} is not divisible by the split_size {spec}!")
    return tensor_split(x, spec, d)


def hsplit(x, indices_or_sections):
    """tensor_split along dim 1 (dim 0 of a 1-d tensor); a number of sections must divide it"""
    x = tensor_arg(x, "hsplit")
    return _split_at_dim(x, indices_or_sections, 0 if x.data.ndim == 1 else 1, 1, "hsplit")


def vsplit(x, indices_or_sections):
    """tensor_split along dim 0 of a tensor with at least 2 dims"""
    return _split_at_dim(x, indices_or_sections, 0, 2, "vsplit")


def dsplit(x, indices_or_sections):
    """tensor_split along dim 2 of a tensor with at least 3 dims"""
    return _split_at_dim(x, indices_or_sections, 2, 3, "dsplit")


# --- repeating ----------------------------------------------------------------------------------

def tile(x, *dims):
    """x repeated dims[i] times along dim i (dims padded with leading 1s to x's rank)"""
    x = tensor_arg(x, "tile")
    dims = _shape_arg(dims, "tile")
    if any(r < 0 for r in dims):
        raise RuntimeError(f"tile: trying to create tensor with negative dimension: {dims}")
    return repeat(x, (1,) * (x.data.ndim - len(dims)) + dims)


def _repeats_array(repeats, op):
    if not isinstance(repeats, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: repeats must be an int or an integer tensor, got "
                        f"{type(repeats).__name__}")
    r = repeats.data if isinstance(repeats, Tensor) else repeats
    if r.dtype.kind not in "iu":
        raise NotImplementedError(f"{op}: repeats must be an integer tensor, got dtype {r.dtype}")
    if r.ndim > 1:
        raise RuntimeError(f"{op}: repeats must be 0-d or 1-d, got shape {r.shape}")
    if (r < 0).any():
        raise RuntimeError(f"{op}: repeats must be non-negative, got {r.tolist()}")
    return r


def repeat_interleave(x, repeats=None, dim=None, *, output_size=None):
    """Each element repeated `repeats` times (or repeats[i] times for element i) along dim (of
    the flattened tensor when dim is None); repeat_interleave(r) alone gives the index of each
    repeat, arange(len(r)) repeated r times"""
    if repeats is None:  # torch.repeat_interleave(repeats)
        r = _repeats_array(tensor_arg(x, "repeat_interleave"), "repeat_interleave")
        if r.ndim != 1:
            raise RuntimeError(f"repeat_interleave: repeats must be 1-d, got shape {r.shape}")
        return Tensor._const(np.repeat(np.arange(len(r), dtype=r.dtype), r))
    x = tensor_arg(x, "repeat_interleave")
    if dim is None:
        x, d = reshape(x, -1), 0
    else:
        d = _dim(dim, x.data.ndim, "repeat_interleave")
        if x.data.ndim == 0:
            x = reshape(x, 1)
    n, shape = x.data.shape[d], x.data.shape
    if isinstance(repeats, numbers.Integral) and not isinstance(repeats, bool):
        r = np.asarray(repeats, np.int64)
        if r < 0:
            raise RuntimeError(f"repeat_interleave: repeats must be non-negative, got {repeats}")
    else:
        r = _repeats_array(repeats, "repeat_interleave")
        if r.ndim == 1 and r.size == 1:
            r = r[0]
        elif r.ndim == 1 and r.size != n:
            raise RuntimeError(f"repeat_interleave: repeats must have the same size as input "
                               f"along dim {d}, but got {r.size} repeats and a dim of size {n}")
    total = int(r * n) if r.ndim == 0 else int(r.sum())
    if output_size is not None and output_size != total:
        raise RuntimeError(f"repeat_interleave: invalid output_size, expected {total} but got "
                           f"{output_size}")
    if r.ndim == 1:  # per-element counts: an index (dx adds the copies back up)
        return getitem(x, (slice(None),) * d + (np.repeat(np.arange(n), r),))
    r = int(r)
    if r == 1:
        return clone(x)
    # each element followed by its copies: broadcast along a new dim after d, then merge
    inner = shape[:d + 1] + (1,) + shape[d + 1:]
    wide = apply1(BroadcastTo(shape[:d + 1] + (r,) + shape[d + 1:]), reshape(x, inner))
    return apply1(Reshape(shape[:d] + (n * r,) + shape[d + 1:]), wide)


def fliplr(x):
    """flip along dim 1 (left-right) of a tensor with at least 2 dims"""
    x = tensor_arg(x, "fliplr")
    if x.data.ndim < 2:
        raise RuntimeError(f"fliplr: input must be >= 2-d, got shape {x.data.shape}")
    return flip(x, 1)


def flipud(x):
    """flip along dim 0 (up-down) of a tensor with at least 1 dim"""
    x = tensor_arg(x, "flipud")
    if x.data.ndim < 1:
        raise RuntimeError("flipud: input must be >= 1-d, got a 0-d tensor")
    return flip(x, 0)


def diff(x, n=1, dim=-1, prepend=None, append=None):
    """n-th forward difference along dim, out[i] = x[i + 1] - x[i] (xor for bool), of x with
    prepend/append joined to it first"""
    x = tensor_arg(x, "diff")
    if x.data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    n = _int(n, "diff", "n")
    if n < 0:
        raise RuntimeError(f"diff: order must be non-negative but got {n}")
    d = _dim(dim, x.data.ndim, "diff")
    parts = []
    for name, extra in (("prepend", prepend), (None, x), ("append", append)):
        if extra is None:
            continue
        extra = tensor_arg(extra, "diff", name or "input")
        if name is not None:
            a, b = x.data.shape, extra.data.shape
            if extra.data.ndim != x.data.ndim:
                raise RuntimeError(f"diff expects {name} (shape {b}) to have the same number "
                                   f"of dimensions as the input (shape {a})")
            if a[:d] + a[d + 1:] != b[:d] + b[d + 1:]:
                raise RuntimeError(f"diff expects the shape of the tensor to {name} ({b}) to "
                                   f"match the input's ({a}) except along dim {d}")
        parts.append(extra)
    out = _join(parts, d, "diff") if len(parts) > 1 else x
    if n == 0:
        return clone(out) if out is x else out
    step = logical_xor if out.data.dtype == np.bool_ else sub
    for _ in range(n):
        m = out.data.shape[d]
        out = step(_slice(out, d, 1, max(m, 1)), _slice(out, d, 0, max(m - 1, 0)))
    return out


# --- grids and combinations ---------------------------------------------------------------------

def meshgrid(*tensors, indexing=None):
    """Coordinate grids: output i holds tensors[i] along dim i ('ij') and is constant along the
    others; 'xy' swaps the roles of the first two dims. Views of the inputs (expanded)"""
    xs = _tensors(tensors, "meshgrid")
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument. (autodiff.meshgrid uses indexing='ij' without it, "
                      "as PyTorch does.)", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be one of 'xy' or 'ij', but received: "
                           f"{indexing!r}")
    if not xs:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for i, t in enumerate(xs):
        if t.data.ndim > 1:
            raise RuntimeError(f"meshgrid: expected 0D or 1D tensors, but tensor {i} has shape "
                               f"{t.data.shape}")
        if t.data.dtype != xs[0].data.dtype:
            raise RuntimeError(f"meshgrid expects all tensors to have the same dtype: tensor 0 "
                               f"is {xs[0].data.dtype}, tensor {i} is {t.data.dtype}")
    swap = indexing == "xy" and len(xs) >= 2
    if swap:
        xs = (xs[1], xs[0]) + xs[2:]
    k = len(xs)
    shape = tuple(t.data.size for t in xs)
    out = [expand_view(reshape(t, (1,) * i + (-1,) + (1,) * (k - i - 1)), shape, "meshgrid")
           for i, t in enumerate(xs)]
    if swap:  # (the grids of the swapped inputs, given back in the caller's order)
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def cartesian_prod(*tensors):
    """All tuples (a, b, ...) with a from tensors[0], b from tensors[1], ... as rows, in
    row-major order (one tensor: itself)"""
    xs = _tensors(tensors, "cartesian_prod")
    for t in xs:
        if t.data.ndim != 1:
            raise RuntimeError(f"cartesian_prod: expected 1-d tensors, but got shape "
                               f"{t.data.shape}")
    if len(xs) == 1:
        return xs[0]
    grids = meshgrid(*xs, indexing="ij")
    return stack([reshape(g, -1) for g in grids], 1)


def combinations(x, r=2, with_replacement=False):
    """The r-element combinations of a 1-d tensor's elements as rows (itertools' order)"""
    x = tensor_arg(x, "combinations")
    if x.data.ndim != 1:
        raise RuntimeError(f"combinations: expected a 1-d tensor, but got shape {x.data.shape}")
    r = _int(r, "combinations", "r")
    if r < 0:
        raise RuntimeError(f"combinations: expected a non-negative r, but got {r}")
    if r == 0:
        return getitem(x, (np.zeros(0, np.int64),))
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    idx = np.array(list(pick(range(x.data.shape[0]), r)), np.int64).reshape(-1, r)
    return getitem(x, (idx,))


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape (views)"""
    xs = _tensors(tensors, "broadcast_tensors")
    shape = _broadcast(*(t.data.shape for t in xs)) if xs else ()
    if shape is None:
        raise RuntimeError(f"broadcast_tensors: shapes {[t.data.shape for t in xs]} cannot be "
                           f"broadcast together (aligned from the right, each dimension must "
                           f"match or be 1)")
    return tuple(expand_view(t, shape, "broadcast_tensors") for t in xs)


def broadcast_shapes(*shapes):
    """The shape that tensors of these shapes broadcast to (no tensors involved)"""
    shapes = [_ints(s, "broadcast_shapes", "shape") for s in shapes]
    for s in shapes:
        if any(n < 0 for n in s):
            raise ValueError(f"broadcast_shapes: attempting to broadcast a dimension with "
                             f"negative length: {s}")
    out = _broadcast(*shapes) if shapes else ()
    if out is None:
        raise RuntimeError(f"broadcast_shapes: shape mismatch: shapes {shapes} cannot be "
                           f"broadcast to a single shape")
    return tuple(out)


def block_diag(*tensors):
    """The tensors (0-d, 1-d as a row, or 2-d) placed along the diagonal of a zero matrix"""
    xs = _tensors(tensors, "block_diag")
    for i, t in enumerate(xs):
        if t.data.ndim > 2:
            raise RuntimeError(f"block_diag: input tensors must have 2 or fewer dimensions; "
                               f"input {i} has shape {t.data.shape}")
    if not xs:
        return Tensor._const(np.zeros((1, 0), get_default_dtype()))
    blocks = [reshape(t, (1, -1) if t.data.ndim == 1 else (1, 1)) if t.data.ndim < 2 else t
              for t in xs]
    dt = blocks[0]
    for t in blocks[1:]:
        dt, _ = promote(t, dt, "block_diag")
    blocks = [t.to(dt.data.dtype) for t in blocks]
    width = sum(t.data.shape[1] for t in blocks)
    rows, left = [], 0
    for t in blocks:  # each block padded with zeros to the full width, then stacked as rows
        c = t.data.shape[1]
        rows.append(pad(t, (left, width - left - c)))
        left += c
    return _join(rows, 0, "block_diag")


def unravel_index(indices, shape):
    """The coordinates, one integer tensor per dim of `shape`, of flat (row-major) indices
    (indices outside the shape wrap around, as in PyTorch)"""
    idx = tensor_arg(indices, "unravel_index", "indices")
    if idx.data.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: expected 'indices' to be an integer tensor, but got "
                        f"dtype {idx.data.dtype}")
    shape = _ints(shape, "unravel_index", "shape")
    if any(n < 0 for n in shape):
        raise ValueError(f"unravel_index: 'shape' cannot have negative values, but got {shape}")
    size = int(np.prod(shape))
    if size == 0:
        raise RuntimeError(f"unravel_index: shape {shape} has no elements to index")
    flat = np.mod(idx.data.astype(np.int64), size)
    return tuple(Tensor._const(np.asarray(c, np.int64)) for c in np.unravel_index(flat, shape))


# --- sliding windows ------------------------------------------------------------------------------

def _windows(x, dim, size, step):
    """The strided view of x's windows: dim becomes the window count, a last dim of `size`"""
    n = x.shape[dim]
    shape = x.shape[:dim] + ((n - size) // step + 1,) + x.shape[dim + 1:] + (size,)
    st = x.strides
    strides = st[:dim] + (st[dim] * step,) + st[dim + 1:] + (st[dim],)
    return np.lib.stride_tricks.as_strided(x, shape, strides)


class Unfold(Node):
    """out[..., i, ..., k] = x[..., i * step + k, ...] (windows along dim, a view);
    dx = the windows of g added back where they overlap"""
    __slots__ = ("dim", "size", "step")
    reads = ()

    def __init__(self, dim, size, step):
        self.dim, self.size, self.step = dim, size, step

    def forward(self, x):
        return _windows(x, self.dim, self.size, self.step)

    def backward(self, g, out, x):
        return (FoldWindows.apply(g, dim=self.dim, size=self.size, step=self.step,
                                  shape=x.shape),)


class UnfoldCopy(Unfold):
    """Unfold as a gradient: a copy, since overlapping windows must not alias one gradient"""
    __slots__ = ()

    def forward(self, x):
        return _windows(x, self.dim, self.size, self.step).copy()


class FoldWindows(Node):
    """out = zeros(shape) with each window g[..., i, ..., :] added at positions i * step + k
    along dim; dg = the windows of g (Unfold)"""
    __slots__ = ("dim", "size", "step", "shape")
    reads = ()

    def __init__(self, dim, size, step, shape):
        self.dim, self.size, self.step, self.shape = dim, size, step, tuple(shape)

    def forward(self, g):
        out = np.zeros(self.shape, g.dtype)
        count, lead = g.shape[self.dim], (slice(None),) * self.dim
        for k in range(self.size):  # the k-th element of every window at once
            out[lead + (slice(k, k + self.step * (count - 1) + 1, self.step),)] += g[..., k]
        return out

    def backward(self, gg, out, g):
        return (UnfoldCopy.apply(gg, dim=self.dim, size=self.size, step=self.step),)


def unfold(x, dimension, size, step):
    """Tensor.unfold: the windows of `size` elements, `step` apart, along `dimension`; that dim
    becomes the window index and a last dim of `size` is added (a view)"""
    x = tensor_arg(x, "unfold")
    nd = x.data.ndim
    d = _dim(dimension, nd, "unfold")
    size, step = _int(size, "unfold", "size"), _int(step, "unfold", "step")
    n = x.data.shape[d] if nd else 1
    if size < 0:
        raise RuntimeError(f"unfold: size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"unfold: step is {step} but must be > 0")
    if size > n:
        raise RuntimeError(f"unfold: maximum size for tensor at dimension {d} is {n} but size "
                           f"is {size} (shape {x.data.shape})")
    if nd == 0:  # a 0-d tensor is one window of its one element, as in PyTorch
        return reshape(unfold(reshape(x, 1), 0, size, step), (size,))
    node = Unfold(d, size, step)
    return as_view(apply1(node, x), x, node)


# --- aliases and legacy Tensor methods ----------------------------------------------------------

def concat(tensors, dim=0, *, axis=None):
    """cat under numpy's name (`axis=` for dim too)"""
    return cat(tensors, dim if axis is None else axis)


def concatenate(tensors, axis=0, *, dim=None):
    """cat under numpy's name (`dim=` for axis too)"""
    return cat(tensors, axis if dim is None else dim)


def t(x):
    """The transpose of a tensor with at most 2 dims (0-d and 1-d: a view of x as it is)"""
    x = tensor_arg(x, "t")
    if x.data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{x.data.ndim}D (shape {x.data.shape}); use transpose(dim0, dim1) "
                           f"or mT")
    return permute(x, tuple(reversed(range(x.data.ndim))))


def _size_arg(size, op):
    """`*size` given as ints or as one tuple/list"""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(_int(n, op, "size") for n in size)


def sum_to_size(x, *size):
    """Tensor.sum_to_size: x summed down to `size`, which must broadcast to x's shape (x itself
    when it has that shape, as in PyTorch)"""
    if not size:
        raise TypeError('sum_to_size() missing 1 required positional arguments: "size"')
    size = _size_arg(size, "sum_to_size")
    shape = x.data.shape
    lead = len(shape) - len(size)
    if lead < 0 or any(n != 1 and n != m for n, m in zip(size, shape[lead:])):
        raise RuntimeError(f"sum_to_size: size {list(size)} is not expandable to size "
                           f"{list(shape)} (each dim must match x's, aligned from the right, "
                           f"or be 1)")
    return sum_to(x, size)


def new(self, *args, **kwargs):
    """Tensor.new (legacy): new(*size) an uninitialised tensor, new(data) a tensor of data,
    new() an empty one, each of self's dtype; new(tensor) that tensor (same dtype only)"""
    from ..creation import empty, tensor
    if kwargs:
        raise TypeError(f"new() received an invalid combination of arguments: keywords "
                        f"{sorted(kwargs)} are not accepted (use new_empty(size, dtype=...) or "
                        f"new_tensor(data, dtype=...))")
    if len(args) == 1 and isinstance(args[0], Tensor):
        if args[0].dtype != self.dtype:
            raise TypeError(f"new(): expected a tensor of dtype {self.dtype}, got one of dtype "
                            f"{args[0].dtype}; use new_tensor(data) to convert")
        return args[0].detach()
    if len(args) == 1 and isinstance(args[0], (list, tuple, np.ndarray)):
        return tensor(args[0], dtype=self.dtype)
    if any(not isinstance(a, numbers.Integral) or isinstance(a, (bool, np.bool_))
           for a in args):
        raise TypeError(f"new(): data must be a sequence, or the size given as ints (got "
                        f"{', '.join(type(a).__name__ for a in args)})")
    return empty(*(args or (0,)), dtype=self.dtype)


METHODS = {
    "t": t, "sum_to_size": sum_to_size, "new": new,
    "roll": roll, "rot90": rot90, "movedim": movedim, "moveaxis": moveaxis,
    "swapdims": swapdims, "unflatten": unflatten, "ravel": ravel, "tile": tile,
    "repeat_interleave": repeat_interleave, "fliplr": fliplr, "flipud": flipud, "diff": diff,
    "tensor_split": tensor_split, "hsplit": hsplit, "vsplit": vsplit, "dsplit": dsplit,
    "unfold": unfold,
}
