"""Pooling over 1, 2 or 3 spatial dims, (N, C, *spatial) or unbatched (C, *spatial), with
PyTorch's geometry (ceil_mode, padding limits) and indices. Average pooling is the pair
pool_gather (a scaled sum over each window) <-> pool_scatter (its adjoint). Max pooling keeps
each window's first maximum, as PyTorch, so its gradient is flat_scatter (g added at the
argmax) <-> flat_gather (values read at the argmax), each the other's gradient; windows that
tile the input (kernel == stride, no padding or dilation) use a one-hot mask instead:
tile_mask_scatter <-> tile_mask_gather."""
import itertools
import math
import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..function import Node, apply, apply1
from ..tensor import Tensor, grad_state
from ._operands import check_float, tensor_arg
from .linalg import einsum
from .shape import squeeze, unsqueeze

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
           "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
           "fractional_max_pool2d", "fractional_max_pool3d"]

_AXES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
_ALL2 = (slice(None), slice(None))


# --- arguments and geometry ---------------------------------------------------------------------

def _ints(v, n, name, op, minimum):
    """An n-tuple of ints from an int or a sequence of 1 or n ints, each >= minimum."""
    if isinstance(v, numbers.Integral):
        v = (int(v),) * n
    else:
        try:
            v = tuple(v)
        except TypeError:
            raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got "
                            f"{v!r}") from None
        if not all(isinstance(a, numbers.Integral) for a in v):
            raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")
        if len(v) == 1:
            v = v * n
        if len(v) != n:
            raise RuntimeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")
        v = tuple(int(a) for a in v)
    if min(v) < minimum:
        raise RuntimeError(f"{op}: {name} must be >= {minimum}, got {v}")
    return v


def _stride(stride, k, op):
    if stride is None or (not isinstance(stride, numbers.Integral) and len(stride) == 0):
        return k  # PyTorch's default: windows side by side
    return _ints(stride, len(k), "stride", op, 1)


def _batched(x, nd, op, integers=False):
    """(x as (N, C, *spatial), whether it was unbatched)."""
    x = tensor_arg(x, op)
    if not integers or x.data.dtype.kind not in "iu":
        check_float(x, op)
    ndim = x.data.ndim
    if ndim not in (nd + 1, nd + 2):
        dims = ", ".join(a[0].upper() for a in _AXES[nd])
        raise RuntimeError(f"{op}: expected an input of shape (N, C, {dims}) or (C, {dims}), "
                           f"got shape {tuple(x.data.shape)}")
    if 0 in x.data.shape[-nd - 1:]:
        raise RuntimeError(f"{op}: expected non-empty channel and spatial dims, got shape "
                           f"{tuple(x.data.shape)}")
    if ndim == nd + 1:
        return unsqueeze(x, 0), True
    return x, False


def _unbatch(t, unbatched):
    return squeeze(t, 0) if unbatched else t


def _check_padding(op, k, p):
    """PyTorch's limit, so that no window lies entirely in the padding: padding at most half
    the kernel size (dilation or not)."""
    if any(p_ > k_ // 2 for k_, p_ in zip(k, p)):
        raise RuntimeError(f"{op}: padding {p} must be at most half of the kernel size {k}; "
                           f"use less padding or a larger kernel")


def _geometry(op, size, k, s, p, d, ceil_mode):
    """(output sizes, ((lo, hi) padding per dim)): out = floor or ceil((n + 2 p - span) / s) + 1;
    in ceil mode the last window must start inside the input or the left padding and may
    overhang the right padding (hi then covers the overhang)."""
    out, pads = [], []
    for axis, n, k_, s_, p_, d_ in zip(_AXES[len(size)], size, k, s, p, d):
        span = d_ * (k_ - 1) + 1
        o = (n + 2 * p_ - span + (s_ - 1 if ceil_mode else 0)) // s_ + 1
        if ceil_mode and (o - 1) * s_ >= n + p_:
            o -= 1
        if o < 1:
            rounding = "ceil" if ceil_mode else "floor"
            raise RuntimeError(
                f"{op}: input {axis} {n} with kernel {k_} (dilation {d_}, so spanning {span}), "
                f"stride {s_} and padding ({p_}, {p_}) gives output {axis} "
                f"{rounding}(({n} + {2 * p_} - {span}) / {s_}) + 1 = {o}; use a smaller kernel "
                f"or more padding")
        out.append(o)
        pads.append((p_, max(p_, (o - 1) * s_ + span - n - p_)))
    return tuple(out), tuple(pads)


def _pad(x, pads, value):
    if not any(lo or hi for lo, hi in pads):
        return x
    out = np.full(x.shape[:2] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads)),
                  value, x.dtype)
    out[_ALL2 + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[2:], pads))] = x
    return out


def _window_slices(k, s, d, out_size):
    """For each kernel offset (row-major), the slice of the padded input holding that offset's
    element of every window: [.., o..] = xpad[.., s o + d i ..]."""
    return [_ALL2 + tuple(slice(i * d_, i * d_ + s_ * (o - 1) + 1, s_)
                          for i, d_, s_, o in zip(off, d, s, out_size))
            for off in _offsets(k)]


def _offsets(k):
    return itertools.product(*[range(k_) for k_ in k])


def _spread(term, x_shape, out_size, k, s, pads, d):
    """Adds term (N, C, *O) at every kernel offset back onto the padded input grid and crops the
    padding: the adjoint of summing each window (a loop over the kernel offsets only)."""
    padded = tuple(x_shape[:2]) + tuple(n + lo + hi for n, (lo, hi) in zip(x_shape[2:], pads))
    out = np.zeros(padded, term.dtype)
    for sl in _window_slices(k, s, d, out_size):
        out[sl] += term
    if any(lo or hi for lo, hi in pads):
        out = np.ascontiguousarray(
            out[_ALL2 + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x_shape[2:], pads))])
    return out


# --- average pooling: pool_gather <-> pool_scatter ----------------------------------------------

class _Window(Node):
    """Static parameters of a pooling window: kernel, stride, ((lo, hi) pads), dilation, output
    size, and the scale each window's sum is multiplied by (a number or an (*O) array)."""
    __slots__ = ("kernel_size", "stride", "padding", "dilation", "out_size", "scale")
    saved = ("scale",)

    def __init__(self, kernel_size, stride, padding, dilation, out_size, scale):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.out_size, self.scale = dilation, out_size, scale

    def _geom(self):
        return (self.kernel_size, self.stride, self.padding, self.dilation, self.out_size,
                self.scale)


class PoolGather(_Window):
    """out[.., o] = scale[o] sum_i xpad[.., s o + d i]; dx = pool_scatter(g)"""
    __slots__ = ()
    reads = ()

    def forward(self, x):
        xp = _pad(x, self.padding, 0)
        out = None
        for sl in _window_slices(self.kernel_size, self.stride, self.dilation, self.out_size):
            w = xp[sl]
            if out is None:
                out = w.copy()
            else:
                out += w
        out *= self.scale
        return out

    def backward(self, g, out, x):
        return (apply(PoolScatter(*self._geom(), x_shape=x.shape), g),)


class PoolScatter(_Window):
    """out = the x-shaped sum over windows of scale g put back at each window's positions (the
    adjoint of pool_gather, i.e. average pooling's backward); dg = pool_gather(h)"""
    __slots__ = ("x_shape",)
    reads = ()

    def __init__(self, kernel_size, stride, padding, dilation, out_size, scale, x_shape):
        super().__init__(kernel_size, stride, padding, dilation, out_size, scale)
        self.x_shape = tuple(x_shape)

    def forward(self, g):
        return _spread(g * self.scale, self.x_shape, self.out_size, self.kernel_size,
                       self.stride, self.padding, self.dilation)

    def backward(self, h, out, g):
        return (apply(PoolGather(*self._geom()), h),)


# --- max pooling: flat_gather <-> flat_scatter ------------------------------------------------

class FlatGather(Node):
    """out = x.ravel()[index] (index: any shape, into the flattened x); dx = flat_scatter(g)"""
    __slots__ = ("index", "unique")
    saved = ("index",)
    reads = ()

    def __init__(self, index, unique=False):
        self.index, self.unique = index, unique

    def forward(self, x):
        return x.reshape(-1).take(self.index)

    def backward(self, g, out, x):
        return (apply(FlatScatter(self.index, x.shape, self.unique), g),)


class FlatScatter(Node):
    """out = zeros(x_shape) with g added at the flat positions index (repeats accumulate); the
    adjoint of flat_gather; dg = flat_gather(h)"""
    __slots__ = ("index", "x_shape", "unique")
    saved = ("index",)
    reads = ()

    def __init__(self, index, x_shape, unique=False):
        self.index, self.x_shape, self.unique = index, tuple(x_shape), unique

    def forward(self, g):
        size = math.prod(self.x_shape)
        if self.unique:  # no position twice (windows that do not overlap): a plain store
            out = np.zeros(size, g.dtype)
            out[self.index] = g
        else:
            out = np.bincount(self.index.ravel(), np.broadcast_to(g, self.index.shape).ravel(),
                              size).astype(g.dtype, copy=False)
        return out.reshape(self.x_shape)

    def backward(self, h, out, g):
        return (apply(FlatGather(self.index, self.unique), h),)


class MaxPool(Node):
    """out = the first maximum of each window of x (padding never wins; a NaN wins, as in
    PyTorch); dx = flat_scatter(g) at those maxima: the whole of g to one element per window"""
    __slots__ = ("kernel_size", "stride", "padding", "dilation", "out_size", "index", "unique",
                 "mask", "_need_index", "_recording", "_indices")
    saved = ("index", "mask")
    reads = ((0,),)  # as PyTorch, which saves the input: changing it in place is an error

    def __init__(self, kernel_size, stride, padding, dilation, out_size):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.out_size = dilation, out_size
        self._need_index = self._recording = False
        self._indices = self.mask = None

    def forward(self, x):
        if not self._need_index and _tiled(self.kernel_size, self.stride, self.padding,
                                           self.dilation):
            out = _tile_max(x, self.kernel_size)
            if not self._recording:
                return out
            if out.dtype.kind != "f" or not np.isnan(out).any():  # NaN: the exact path below
                self.mask = _first_max_mask(x, out, self.kernel_size)
                return out
        pads = self.padding
        geo = _max_geometry(x.shape, self.kernel_size, self.stride, pads, self.dilation,
                            self.out_size)
        self.unique = geo.unique
        xp = _pad(x, pads, -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min)
        views = [xp[sl] for sl in geo.slices]
        if not (self._need_index or self._recording):
            out = views[0].copy()
            for v in views[1:]:
                np.maximum(out, v, out=out)
            return out
        # each kernel offset's values copied once to contiguous memory, where the comparisons
        # below cost a tenth of what they cost on the strided windows
        kt = len(views)
        wc = np.empty((kt,) + views[0].shape, x.dtype)
        for j, v in enumerate(views):
            wc[j] = v
        out = wc[0].copy()
        for j in range(1, kt):
            np.maximum(out, wc[j], out=out)
        # arg = how many kernel offsets (row-major) precede the window's first maximum
        arg = np.zeros(out.shape, np.int8 if kt < 127 else np.int32)
        if kt > 1:
            before = np.not_equal(wc[0], out)
            arg += before
            if kt > 2:
                ne = np.empty_like(before)
                for j in range(1, kt - 1):
                    np.not_equal(wc[j], out, out=ne)
                    before &= ne
                    arg += before
        if out.dtype.kind == "f":
            total = out.sum()
            if total != total:  # a NaN somewhere (or inf - inf): PyTorch takes the last NaN
                for j in range(kt):
                    np.copyto(arg, j, where=np.isnan(wc[j]))
        if geo.first is not None:
            # a window whose maximum is -inf (or the least integer) equals its padding: PyTorch
            # gives its first element inside the input, and all before that are padding
            np.maximum(arg, geo.first, out=arg, casting="unsafe")
        plane = geo.table.take(arg)
        plane += geo.start
        if self._need_index:
            self._indices = plane
            if self._recording:
                self.index = plane + geo.plane_starts
        else:
            plane += geo.plane_starts
            self.index = plane
        return out

    def backward(self, g, out, x):
        if self.mask is not None:
            return (apply(TileMaskScatter(self.mask, x.shape, self.kernel_size), g),)
        return (apply(FlatScatter(self.index, x.shape, self.unique), g),)


# --- max pooling over tiles (kernel == stride, no padding or dilation) --------------------------
#
# The windows tile the input, so they are a reshape: the maximum is a pairwise reduction along
# each window axis (innermost first), and the gradient goes through a one-hot mask of each
# window's first maximum (bool, one byte per input element; the int64 index of the general path
# takes two bytes per input element for 2x2 windows) instead of an index scatter.

def _tiled(k, s, pads, d):
    return tuple(s) == tuple(k) and all(d_ == 1 for d_ in d) and \
        not any(lo or hi for lo, hi in pads)


def _tiles(x, k):
    """View (N, C, O_0, k_0, O_1, k_1, ...) of x's tiles (the uncovered remainder left out)."""
    shape, strides = list(x.shape[:2]), list(x.strides[:2])
    for n, k_, st in zip(x.shape[2:], k, x.strides[2:]):
        shape += [n // k_, k_]
        strides += [st * k_, st]
    return as_strided(x, tuple(shape), tuple(strides))


def _tile_offset(off):
    """The index of kernel offset off in a _tiles view."""
    return _ALL2 + sum(((slice(None), i) for i in off), ())


def _tile_max(x, k):
    cur = _tiles(x, k)
    for axis in range(2 * len(k) + 1, 2, -2):  # the innermost window axis first
        lead = (slice(None),) * axis
        out = np.maximum(cur[lead + (0,)], cur[lead + (1,)]) if k[(axis - 3) // 2] > 1 \
            else cur[lead + (0,)].copy()
        for i in range(2, cur.shape[axis]):
            np.maximum(out, cur[lead + (i,)], out=out)
        cur = out
    return cur


def _first_max_mask(x, out, k):
    """(prod(k), *out.shape) bool: mask[q] marks the windows whose first maximum is at kernel
    offset q (row-major), as PyTorch's index (tied maxima: the first one)."""
    tiles = _tiles(x, k)
    mask = np.empty((math.prod(k),) + out.shape, bool)
    seen = None
    for q, off in enumerate(_offsets(k)):
        eq = np.equal(tiles[_tile_offset(off)], out, out=mask[q])
        if seen is None:
            seen = eq.copy()
        else:
            np.greater(eq, seen, out=mask[q])  # equal here and not at an earlier offset
            seen |= eq
    return mask


class TileMaskScatter(Node):
    """out (x_shape) = g put at each tile's masked position (zeros elsewhere): the adjoint of
    tile_mask_gather, max pooling's gradient over tiles; dg = tile_mask_gather(h)"""
    __slots__ = ("mask", "x_shape", "kernel")
    saved = ("mask",)
    reads = ()

    def __init__(self, mask, x_shape, kernel):
        self.mask, self.x_shape, self.kernel = mask, tuple(x_shape), kernel

    def forward(self, g):
        covered = all(n % k_ == 0 for n, k_ in zip(self.x_shape[2:], self.kernel))
        # g * mask is 3-4x faster than a masked copy, but 0 * inf would put NaN off the maximum
        finite = g.dtype.kind != "f" or np.isfinite(g).all()
        out = (np.empty if covered and finite else np.zeros)(self.x_shape, g.dtype)
        tiles = _tiles(out, self.kernel)
        for q, off in enumerate(_offsets(self.kernel)):  # every tile position written once
            if finite:
                np.multiply(g, self.mask[q], out=tiles[_tile_offset(off)])
            else:
                np.copyto(tiles[_tile_offset(off)], g, where=self.mask[q])
        return out

    def backward(self, h, out, g):
        return (apply(TileMaskGather(self.mask, self.kernel), h),)


class TileMaskGather(Node):
    """out[.., o] = h at tile o's masked position (the adjoint of tile_mask_scatter);
    dh = tile_mask_scatter(g)"""
    __slots__ = ("mask", "kernel")
    saved = ("mask",)
    reads = ()

    def __init__(self, mask, kernel):
        self.mask, self.kernel = mask, kernel

    def forward(self, h):
        tiles = _tiles(h, self.kernel)
        out = np.zeros(self.mask.shape[1:], h.dtype)
        for q, off in enumerate(_offsets(self.kernel)):  # one masked offset per tile
            np.copyto(out, tiles[_tile_offset(off)], where=self.mask[q])
        return out

    def backward(self, g, out, h):
        return (apply(TileMaskScatter(self.mask, h.shape, self.kernel), g),)


class _MaxGeometry:
    """Index bookkeeping of a max pool for one input shape: each kernel offset's slice of the
    padded input, its position in the plane (table), each window's first position (start),
    each plane's first position in x.ravel(), the first kernel offset inside the input
    (None without left padding), and whether no two windows share an element."""
    __slots__ = ("slices", "table", "start", "plane_starts", "first", "unique")

    def __init__(self, x_shape, k, s, pads, d, out_size):
        size = x_shape[2:]
        nd = len(size)
        instride = [math.prod(size[i + 1:]) for i in range(nd)]
        offsets = list(_offsets(k))
        self.slices = _window_slices(k, s, d, out_size)
        self.table = np.array([sum(i * d_ * st for i, d_, st in zip(off, d, instride))
                               for off in offsets], np.int64)
        start = np.zeros((), np.int64)
        first = np.zeros((), np.int64)
        for k_, s_, (lo, _), d_, o, st in zip(k, s, pads, d, out_size, instride):
            begin = np.arange(o, dtype=np.int64) * s_ - lo
            start = np.add.outer(start, begin * st)
            # ceil(-begin / d): the first kernel offset along this dim inside the input
            first = np.add.outer(first * k_, np.minimum(-(np.minimum(begin, 0) // d_), k_ - 1))
        self.start = start
        self.first = first if any(lo for lo, _ in pads) else None
        self.plane_starts = (np.arange(x_shape[0] * x_shape[1], dtype=np.int64)
                             * math.prod(size)).reshape(tuple(x_shape[:2]) + (1,) * nd)
        self.unique = all(s_ >= d_ * (k_ - 1) + 1 for k_, s_, d_ in zip(k, s, d))


_GEOMETRIES = {}


def _max_geometry(x_shape, k, s, pads, d, out_size):
    """The _MaxGeometry of these shapes, cached: a network pools the same shapes every step."""
    key = (x_shape, k, s, pads, d, out_size)
    geo = _GEOMETRIES.get(key)
    if geo is None:
        if len(_GEOMETRIES) >= 64:
            _GEOMETRIES.clear()
        geo = _GEOMETRIES[key] = _MaxGeometry(x_shape, k, s, pads, d, out_size)
    return geo


def _plane_starts(x_shape, ndim):
    """Each (N, C) plane's first element's position in x.ravel(), broadcastable to ndim dims."""
    n, c = x_shape[:2]
    return (np.arange(n * c, dtype=np.int64) * math.prod(x_shape[2:])).reshape(
        (n, c) + (1,) * (ndim - 2))


def _max_pool(x, nd, op, kernel_size, stride, padding, dilation, ceil_mode, with_indices):
    x, unbatched = _batched(x, nd, op, integers=True)
    k = _ints(kernel_size, nd, "kernel_size", op, 1)
    s = _stride(stride, k, op)
    p = _ints(padding, nd, "padding", op, 0)
    d = _ints(dilation, nd, "dilation", op, 1)
    _check_padding(op, k, p)
    out_size, pads = _geometry(op, x.data.shape[2:], k, s, p, d, ceil_mode)
    node = MaxPool(k, s, pads, d, out_size)
    node._need_index = with_indices
    node._recording = x._requires_grad and grad_state.enabled
    out = _unbatch(apply1(node, x), unbatched)
    if not with_indices:
        return out
    indices = Tensor._const(node._indices)
    node._indices = None
    return out, _unbatch(indices, unbatched)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """out[.., l] = max of input over window l (stride defaults to kernel_size)"""
    return _max_pool(input, 1, "max_pool1d", kernel_size, stride, padding, dilation, ceil_mode,
                     False)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """out[.., h, w] = max of input over window (h, w) (stride defaults to kernel_size)"""
    return _max_pool(input, 2, "max_pool2d", kernel_size, stride, padding, dilation, ceil_mode,
                     False)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """out[.., t, h, w] = max of input over window (t, h, w) (stride defaults to kernel_size)"""
    return _max_pool(input, 3, "max_pool3d", kernel_size, stride, padding, dilation, ceil_mode,
                     False)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False):
    """(max_pool1d(input), int64 index of each window's first maximum within its (N, C) row)"""
    return _max_pool(input, 1, "max_pool1d_with_indices", kernel_size, stride, padding,
                     dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False):
    """(max_pool2d(input), int64 index h W + w of each window's first maximum in its plane)"""
    return _max_pool(input, 2, "max_pool2d_with_indices", kernel_size, stride, padding,
                     dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False):
    """(max_pool3d(input), int64 index (t H + h) W + w of each window's first maximum)"""
    return _max_pool(input, 3, "max_pool3d_with_indices", kernel_size, stride, padding,
                     dilation, ceil_mode, True)


# --- average pooling ------------------------------------------------------------------------------

def _avg_pool(x, nd, op, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    x, unbatched = _batched(x, nd, op)
    k = _ints(kernel_size, nd, "kernel_size", op, 1)
    s = _stride(stride, k, op)
    p = _ints(padding, nd, "padding", op, 0)
    d = (1,) * nd
    _check_padding(op, k, p)
    size = x.data.shape[2:]
    out_size, pads = _geometry(op, size, k, s, p, d, ceil_mode)
    dt = x.data.dtype
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError(f"{op}: divisor_override must not be zero; pass None to divide "
                               f"by the window's size")
        scale = 1.0 / divisor_override
    else:
        # PyTorch's divisor: the window clipped to the padded input (a ceil-mode overhang never
        # counts), and clipped to the input itself unless count_include_pad
        counts = []
        for n, k_, s_, p_, o in zip(size, k, s, p, out_size):
            start = np.arange(o) * s_ - p_
            end = np.minimum(start + k_, n + p_)
            counts.append(end - start if count_include_pad
                          else np.minimum(end, n) - np.maximum(start, 0))
        if all((c == k_).all() for c, k_ in zip(counts, k)):
            scale = 1.0 / math.prod(k)
        else:
            divisor = counts[0]
            for c in counts[1:]:
                divisor = np.multiply.outer(divisor, c)
            scale = (1.0 / divisor).astype(dt)
    out = apply1(PoolGather(k, s, pads, d, out_size, scale), x)
    return _unbatch(out, unbatched)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """out[.., l] = mean of input over window l (padded zeros count unless
    count_include_pad=False)"""
    return _avg_pool(input, 1, "avg_pool1d", kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """out[.., h, w] = sum of window (h, w) / (its size, or divisor_override)"""
    return _avg_pool(input, 2, "avg_pool2d", kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """out[.., t, h, w] = sum of window (t, h, w) / (its size, or divisor_override)"""
    return _avg_pool(input, 3, "avg_pool3d", kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


# --- adaptive pooling: windows floor(i n / o) .. ceil((i + 1) n / o) - 1 ----------------------

def _adaptive_sizes(x, nd, op, output_size):
    """(x, output sizes): None (or a None entry) keeps that input size."""
    x = tensor_arg(x, op)
    ndim = x.data.ndim
    if ndim not in (nd + 1, nd + 2):
        dims = ", ".join(a[0].upper() for a in _AXES[nd])
        raise RuntimeError(f"{op}: expected an input of shape (N, C, {dims}) or (C, {dims}), "
                           f"got shape {tuple(x.data.shape)}")
    size = x.data.shape[-nd:]
    if 0 in x.data.shape[-nd - 1:]:
        raise RuntimeError(f"{op}: expected non-empty channel and spatial dims, got shape "
                           f"{tuple(x.data.shape)}")
    if output_size is None or isinstance(output_size, numbers.Integral):
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) != nd:
        raise RuntimeError(f"{op}: output_size must be an int or a tuple of {nd} ints (None "
                           f"keeps a dim), got {output_size!r}")
    out = tuple(n if o is None else int(o) for n, o in zip(size, output_size))
    if min(out) < 0:
        raise RuntimeError(f"{op}: output_size must be >= 0, got {output_size!r}")
    return x, out


def _adaptive_matrix(n, m, dtype):
    """(m, n) averaging matrix: row i averages inputs floor(i n / m) .. ceil((i + 1) n / m) - 1."""
    a = np.zeros((m, n), dtype)
    for i in range(m):
        lo, hi = (i * n) // m, -((-(i + 1) * n) // m)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


def _adaptive_avg(x, nd, op, output_size):
    x, out = _adaptive_sizes(x, nd, op, output_size)
    check_float(x, op)
    size = x.data.shape[-nd:]
    if all(o == 1 for o in out):
        return x.mean(tuple(range(-nd, 0)), keepdim=True)
    if all(o and n % o == 0 for n, o in zip(size, out)):
        return _avg_pool(x, nd, op, tuple(n // o for n, o in zip(size, out)), None, 0, False,
                         True, None)
    # a constant averaging matrix per dim, contracted one dim each
    letters = "abc"[:nd]
    outs = "ijk"[:nd]
    mats = [_adaptive_matrix(n, o, x.data.dtype) for n, o in zip(size, out)]
    spec = ",".join(o + a for o, a in zip(outs, letters))
    return einsum(f"{spec},...{letters}->...{outs}", *mats, x)


def adaptive_avg_pool1d(input, output_size):
    """out[.., i] = mean of input[.., floor(i L / o) : ceil((i + 1) L / o)]"""
    return _adaptive_avg(input, 1, "adaptive_avg_pool1d", output_size)


def adaptive_avg_pool2d(input, output_size):
    """out[.., i, j] = mean of the adaptive window (i, j): rows floor(i H / oh) ..
    ceil((i + 1) H / oh) - 1, columns likewise"""
    return _adaptive_avg(input, 2, "adaptive_avg_pool2d", output_size)


def adaptive_avg_pool3d(input, output_size):
    """out[.., t, i, j] = mean of the adaptive window (t, i, j)"""
    return _adaptive_avg(input, 3, "adaptive_avg_pool3d", output_size)


def _window_argmax(xd, tables):
    """Plane index of the first maximum (the last NaN, if any, as PyTorch) of each window of
    xd (N, C, *S); tables[i] (1 or N, 1 or C, O_i, K_i) lists the positions along spatial dim i
    that window o_i covers (repeating its last one to fill K_i)."""
    n, c = xd.shape[:2]
    size = xd.shape[2:]
    nd = len(size)
    out_size = tuple(t.shape[2] for t in tables)
    ks = tuple(t.shape[3] for t in tables)
    lead = [np.arange(n).reshape((n,) + (1,) * (2 * nd + 1)),
            np.arange(c).reshape((1, c) + (1,) * (2 * nd))]
    grid = []
    for i, t in enumerate(tables):
        shape = [t.shape[0], t.shape[1]] + [1] * (2 * nd)
        shape[2 + 2 * i], shape[3 + 2 * i] = t.shape[2], t.shape[3]
        grid.append(t.reshape(shape))
    vals = xd[tuple(lead + grid)]  # (N, C, O_0, K_0, O_1, K_1, ...)
    perm = (0, 1) + tuple(range(2, 2 + 2 * nd, 2)) + tuple(range(3, 3 + 2 * nd, 2))
    vals = vals.transpose(perm).reshape((n, c) + out_size + (math.prod(ks),))
    j = vals.argmax(-1)
    if vals.dtype.kind == "f":
        nan = np.isnan(vals)
        if nan.any():
            last = vals.shape[-1] - 1 - nan[..., ::-1].argmax(-1)
            j = np.where(nan.any(-1), last, j)
    pos = np.unravel_index(j, ks)
    plane = np.zeros((n, c) + out_size, np.int64)
    instride = [math.prod(size[i + 1:]) for i in range(nd)]
    for i, t in enumerate(tables):
        nix = np.arange(t.shape[0]).reshape((t.shape[0],) + (1,) * (nd + 1))
        cix = np.arange(t.shape[1]).reshape((1, t.shape[1]) + (1,) * nd)
        oix = np.arange(out_size[i]).reshape((1, 1) + tuple(out_size[i] if a == i else 1
                                                            for a in range(nd)))
        plane += t[nix, cix, oix, pos[i]] * instride[i]
    return plane


def _gather_max(x, plane, unbatched):
    """(x's values at plane indices, recorded; the indices as an int64 tensor)."""
    out = apply1(FlatGather(plane + _plane_starts(x.data.shape, plane.ndim)), x)
    return _unbatch(out, unbatched), _unbatch(Tensor._const(plane), unbatched)


def _adaptive_table(n, o):
    """(1, 1, o, K) positions of the adaptive windows of a length-n dim (last one repeated)."""
    start = (np.arange(o) * n) // o
    end = -((-(np.arange(o) + 1) * n) // o)
    width = int((end - start).max()) if o else 1
    return np.minimum(start[:, None] + np.arange(width), end[:, None] - 1)[None, None]


def _adaptive_max(x, nd, op, output_size):
    x, out = _adaptive_sizes(x, nd, op, output_size)
    x, unbatched = _batched(x, nd, op, integers=True)
    tables = [_adaptive_table(n, o) for n, o in zip(x.data.shape[2:], out)]
    return _gather_max(x, _window_argmax(x.data, tables), unbatched)


def adaptive_max_pool1d(input, output_size):
    """(out, indices): out[.., i] = max of input[.., floor(i L / o) : ceil((i + 1) L / o)],
    indices its first maximum's position"""
    return _adaptive_max(input, 1, "adaptive_max_pool1d", output_size)


def adaptive_max_pool2d(input, output_size):
    """(out, indices): the max of each adaptive window (i, j) and its position h W + w"""
    return _adaptive_max(input, 2, "adaptive_max_pool2d", output_size)


def adaptive_max_pool3d(input, output_size):
    """(out, indices): the max of each adaptive window (t, i, j) and its position in the plane"""
    return _adaptive_max(input, 3, "adaptive_max_pool3d", output_size)


# --- fractional max pooling ---------------------------------------------------------------------

def _intervals(u, n, o, k):
    """(.., o) window starts from samples u (..): int((i + u) a) - int(u a) with
    a = (n - k) / (o - 1), the last one n - k; in u's dtype, as PyTorch computes them."""
    seq = np.empty(u.shape + (o,), np.int64)
    if o > 1:
        alpha = u.dtype.type(n - k) / u.dtype.type(o - 1)
        i = np.arange(o - 1, dtype=u.dtype)
        seq[..., :-1] = ((i + u[..., None]) * alpha).astype(np.int64) - \
            (u * alpha).astype(np.int64)[..., None]
    seq[..., -1] = n - k
    return seq


def _fractional(x, nd, op, kernel_size, output_size, random_samples):
    x, unbatched = _batched(x, nd, op)
    k = _ints(kernel_size, nd, "kernel_size", op, 1)
    out = _ints(output_size, nd, "output_size", op, 1)
    size = x.data.shape[2:]
    for axis, n, k_, o in zip(_AXES[nd], size, k, out):
        if o + k_ - 1 > n:
            raise RuntimeError(f"{op}: output {axis} {o} with pool {axis} {k_} needs an input "
                               f"{axis} of at least {o + k_ - 1}, got {n}; use a smaller "
                               f"output_size or kernel_size")
    u = tensor_arg(random_samples, op, "random_samples").data
    n_batch, channels = x.data.shape[:2]
    if u.shape != (n_batch, channels, nd):
        raise RuntimeError(f"{op}: random_samples must have shape (N, C, {nd}) = "
                           f"{(n_batch, channels, nd)}, got {u.shape}")
    u = u.astype(x.data.dtype, copy=False)
    # PyTorch's sample order: (W, H) in 2-d, (T, H, W) in 3-d
    which = (1, 0) if nd == 2 else (0, 1, 2)
    tables = [_intervals(u[:, :, w], n, o, k_)[..., None] + np.arange(k_)
              for w, n, o, k_ in zip(which, size, out, k)]
    return _gather_max(x, _window_argmax(x.data, tables), unbatched)


def fractional_max_pool2d(input, kernel_size, output_size, random_samples):
    """(out, indices): the max over kernel_size windows at pseudo-random starts drawn from
    random_samples (N, C, 2) in [0, 1), as PyTorch's sequence"""
    return _fractional(input, 2, "fractional_max_pool2d", kernel_size, output_size,
                       random_samples)


def fractional_max_pool3d(input, kernel_size, output_size, random_samples):
    """(out, indices): fractional_max_pool2d over (T, H, W), random_samples (N, C, 3)"""
    return _fractional(input, 3, "fractional_max_pool3d", kernel_size, output_size,
                       random_samples)
