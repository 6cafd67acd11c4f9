"""Convolution (NC* layout, 1, 2 or 3 spatial dims), as matrix products over im2col buffers
built chunk by chunk over the batch; sliding blocks (unfold / fold); channel rearrangements
(pixel and channel shuffles).

Convolution is three primitives closed under differentiation (DESIGN rule 3's pair pattern):
convolution(x, w), its input gradient conv_transpose(g, w) (the transposed convolution,
col2im of w^T g) and its weight gradient conv_weight_grad(x, g); each one's backward is built
from the other two. unfold (im2col) and fold (col2im) are each other's adjoint.
"""
import math
import numbers

import numpy as np

from ..function import Node, apply, apply1
from ._operands import check_float, promote, tensor_arg
from .shape import permute, reshape, squeeze, unsqueeze
from ._windows import (_ntuple, _out_size, _pad_array, _pair, _padding, _scatter_windows,
                       _windows)

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "im2col",
           "col2im"]


class _Geometry(Node):
    """Shared static parameters of the convolution family: one entry per spatial dim (padding
    as (low, high) pairs; a negative high pad crops, see conv_transpose)."""
    __slots__ = ("stride", "padding", "dilation", "groups")

    def __init__(self, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.groups = groups

    def _geom(self):
        return self.stride, self.padding, self.dilation, self.groups


# --- the kernels: im2col products over batch chunks that stay in cache ---------------------------
#
# A whole batch's im2col buffer is prod(K) times the input (75 MB for a 64x32x32x32 batch and a
# 3x3 kernel): written once to memory and read back by the product, it costs more than the
# arithmetic. The batch is therefore processed in chunks whose buffer (about _CHUNK_BYTES) stays
# in the core's cache between the copy and the product, and the buffer is not kept for the
# weight gradient (which builds it again, chunk by chunk, from the input).

_CHUNK_BYTES = 1 << 20
_KEEP_BYTES = 4 << 20  # a whole im2col buffer up to this size is built once and kept


def _chunk(n, per_image):
    """Images per chunk: as many as fit in _CHUNK_BYTES of im2col buffer (at least one)."""
    return max(1, min(n, _CHUNK_BYTES // max(per_image, 1)))


def _im2col_chunks(x, kernel, stride, padding, dilation, out_size, whole=False):
    """Yields (a, b, cols) for consecutive batch chunks x[a:b]: cols (b - a, C * prod(K),
    prod(O)) is the chunk's im2col buffer, cols[i, (c, k), p] = xpad[a + i, c, s p + d k].
    The buffer is reused for the next chunk: consume it before advancing. whole: one chunk."""
    n, c = x.shape[:2]
    npix = math.prod(out_size)
    rows = c * math.prod(kernel)
    if all(k == 1 for k in kernel) and all(s == 1 for s in stride) and \
            not any(lo or hi for lo, hi in padding):
        yield 0, n, x.reshape(n, rows, npix)  # a 1x1 convolution reads x as it is
        return
    m = max(n, 1) if whole else _chunk(n, rows * npix * x.itemsize)
    lead = (slice(None), slice(None))
    padded = any(lo or hi for lo, hi in padding) and not any(hi < 0 for _, hi in padding)
    if padded:  # a zero frame filled once; each chunk only overwrites the interior
        xp = np.zeros((m, c) + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], padding)),
                      x.dtype)
        inner = lead + tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape[2:], padding))
    buf = np.empty((m, c) + tuple(kernel) + tuple(out_size), x.dtype)
    for a in range(0, n, m):
        b = min(a + m, n)
        if padded:
            xp[(slice(0, b - a),) + inner[1:]] = x[a:b]
            src = xp[:b - a]
        else:
            src = _pad_array(x[a:b], padding)
        cols = buf[:b - a]
        np.copyto(cols, _windows(src, kernel, stride, dilation, out_size))
        yield a, b, cols.reshape(b - a, rows, npix)


def _conv_forward(x, w, b, geom, cols=None):
    """out (N, O, *O) = w * x (+ b): one product per chunk, written into out directly (one
    product over the batch when its im2col buffer cols is given)."""
    stride, padding, dilation, grp = geom
    n = x.shape[0]
    o = w.shape[0]
    kernel = w.shape[2:]
    out_size = _out_size("conv", x.shape[2:], kernel, stride, padding, dilation)
    npix = math.prod(out_size)
    out = np.empty((n, o) + out_size, np.result_type(x, w))
    out4 = out.reshape(n, grp, o // grp, npix)
    w3 = w.reshape(grp, o // grp, -1)
    bias = None if b is None else b.reshape(grp, o // grp, 1)
    chunks = ((0, n, cols),) if cols is not None else \
        _im2col_chunks(x, kernel, stride, padding, dilation, out_size)
    for a, e, cols in chunks:
        part = out4[a:e]
        np.matmul(w3, cols.reshape(e - a, grp, -1, npix), out=part)
        if bias is not None:
            part += bias  # while the chunk is in cache
    return out


def _conv_weight_grad(x, g, w_shape, geom, cols=None):
    """gw (O, C/G, *K) = sum over the batch and output pixels of g x-window^T (from the kept
    im2col buffer cols of the whole batch, if given)."""
    stride, padding, dilation, grp = geom
    o = w_shape[0]
    n = g.shape[0]
    out_size = g.shape[2:]
    npix = math.prod(out_size)
    og, ck = o // grp, math.prod(w_shape[1:])
    # summed as gw^T = cols g^T, image by image: OpenBLAS runs this orientation 1.3-1.7x faster
    # than g cols^T for these shapes (a long inner dimension, a small result)
    gwt = np.zeros((grp, ck, og), np.result_type(x, g))
    part = np.empty_like(gwt)
    g4t = g.reshape(n, grp, og, npix).transpose(0, 1, 3, 2)
    if cols is not None:  # small: one batched product
        gwt += np.matmul(cols.reshape(n, grp, ck, npix), g4t).sum(0)
        return np.ascontiguousarray(gwt.transpose(0, 2, 1)).reshape(w_shape)
    for a, e, cols in _im2col_chunks(x, w_shape[2:], stride, padding, dilation, out_size):
        cols4 = cols.reshape(e - a, grp, ck, npix)
        for i in range(e - a):
            if grp == 1:
                np.matmul(cols4[i, 0], g4t[a + i, 0], out=part[0])
            else:
                np.matmul(cols4[i], g4t[a + i], out=part)
            gwt += part
    return np.ascontiguousarray(gwt.transpose(0, 2, 1)).reshape(w_shape)


def _conv_input_grad(g, w, x_shape, geom):
    """The transposed convolution of g (N, O, *O) with w onto an x_shape grid."""
    stride, padding, dilation, grp = geom
    kernel = w.shape[2:]
    o, cg = w.shape[:2]
    if all(s == 1 for s in stride) and o <= grp * cg:
        # with stride 1 it is a convolution of g with the flipped, transposed kernel, padded by
        # d (K - 1) - pad on each side: im2col and product chunk by chunk again, no scatter. Its
        # im2col copies O (not C) channels, so it wins where the layer does not widen
        pads = tuple((d * (k - 1) - lo, d * (k - 1) - hi)
                     for k, d, (lo, hi) in zip(kernel, dilation, padding))
        if all(lo >= 0 and hi >= 0 for lo, hi in pads):
            flip = (slice(None), slice(None)) + (slice(None, None, -1),) * len(kernel)
            wt = w[flip].reshape((grp, o // grp, cg) + kernel).swapaxes(1, 2)
            wt = wt.reshape((grp * cg, o // grp) + kernel)
            return _conv_forward(g, wt, None, (stride, pads, dilation, grp))
    if g.shape[-1] < 16:
        return _scatter_batch_last(g, w, x_shape, geom)
    return _scatter_input_grad(g, w, x_shape, geom)


def _scatter_batch_last(g, w, x_shape, geom):
    """Transposed convolution for short output rows: one product per group over the whole
    batch, summed in the batch-last layout, whose contiguous runs are O[-1] x N long instead of
    O[-1] (MNIST's second conv layer, 14x14: 7.7 -> 4.2 ms)."""
    stride, padding, dilation, grp = geom
    o, cg = w.shape[:2]
    kernel = w.shape[2:]
    n = g.shape[0]
    out_size = g.shape[2:]
    npix = math.prod(out_size)
    w3t = w.reshape(grp, o // grp, cg * math.prod(kernel)).transpose(0, 2, 1)
    g3 = np.ascontiguousarray(g.reshape(n, grp, o // grp, npix).transpose(1, 2, 3, 0))
    cols = np.matmul(w3t, g3.reshape(grp, o // grp, npix * n))
    cols = cols.reshape((grp * cg,) + kernel + out_size + (n,))
    return _scatter_windows(lambda *k: cols[(slice(None),) + k], x_shape, out_size, g.dtype,
                            kernel, stride, padding, dilation, batch_last=True)


def _scatter_input_grad(g, w, x_shape, geom):
    """Strided transposed convolution: per chunk, cols = w^T g, then col2im onto the chunk."""
    stride, padding, dilation, grp = geom
    o, cg = w.shape[:2]
    kernel = w.shape[2:]
    n = g.shape[0]
    out_size = g.shape[2:]
    npix = math.prod(out_size)
    w3t = w.reshape(grp, o // grp, cg * math.prod(kernel)).transpose(0, 2, 1)
    g4 = g.reshape(n, grp, o // grp, npix)
    out = np.empty(tuple(x_shape), g.dtype)
    m = _chunk(n, w3t.shape[0] * w3t.shape[1] * npix * g.itemsize)
    lead = (slice(None), slice(None))
    for a in range(0, n, m):
        e = min(a + m, n)
        cols = np.matmul(w3t, g4[a:e]).reshape((e - a, grp * cg) + kernel + out_size)
        out[a:e] = _scatter_windows(lambda *k: cols[lead + k], (e - a,) + tuple(x_shape[1:]),
                                    out_size, g.dtype, kernel, stride, padding, dilation)
    return out


# --- convolution: three primitives, each differentiated by the other two -------------------------

class Convolution(_Geometry):
    """out[n, o, p] = b[o] + sum_{c, k} w[o, c, k] xpad[n, g c, s p + d k] (p, k: spatial
    multi-indices); dx = conv_transpose(g, w), dw = conv_weight_grad(x, g), db = sum of g"""
    __slots__ = ("cols",)
    reads = ((1,), (0,), ())
    saved = ("cols",)

    def forward(self, x, w, b=None):
        self.cols = None
        kernel = w.shape[2:]
        rows = x.shape[1] * math.prod(kernel)
        out_size = _out_size("conv", x.shape[2:], kernel, self.stride, self.padding,
                             self.dilation)
        if 0 < x.shape[0] * rows * math.prod(out_size) * x.itemsize <= _KEEP_BYTES:
            # a small batch's whole im2col buffer is cheap to keep: the weight gradient then
            # skips building it again (32x3x32x32, 3x3: 2.9 ms forward + backward, 3.6 without)
            (_, _, cols), = _im2col_chunks(x, kernel, self.stride, self.padding,
                                           self.dilation, out_size, whole=True)
            self.cols = cols
        return _conv_forward(x, w, b, self._geom(), self.cols)

    def backward(self, g, out, x, w, b=None):
        need = self.needs_input_grad
        gx = _transpose(g, w, x.shape, self._geom()) if need[0] else None
        gw = apply(ConvWeightGrad(*self._geom(), w.shape, self.cols), x, g) if need[1] else None
        if b is None:
            return gx, gw
        return gx, gw, (g.sum((0,) + tuple(range(2, g.ndim))) if need[2] else None)


class ConvTranspose(_Geometry):
    """out = the transposed convolution of g with w (the convolution's input gradient, col2im
    of w^T g) on an x_shape grid; dg = convolution(h, w), dw = conv_weight_grad(h, g)"""
    __slots__ = ("x_shape",)
    reads = ((1,), (0,))

    def __init__(self, stride, padding, dilation, groups, x_shape):
        super().__init__(stride, padding, dilation, groups)
        self.x_shape = x_shape

    def forward(self, g, w):
        return _conv_input_grad(g, w, self.x_shape, self._geom())

    def backward(self, h, out, g, w):
        need = self.needs_input_grad
        gg = _conv(h, w, self._geom()) if need[0] else None
        gw = apply(ConvWeightGrad(*self._geom(), w.shape), h, g) if need[1] else None
        return gg, gw


class ConvWeightGrad(_Geometry):
    """out[o, c, k] = sum_{n, p} g[n, o, p] xpad[n, g c, s p + d k] (the convolution's weight
    gradient); dx = conv_transpose(g, h), dg = convolution(x, h)"""
    __slots__ = ("w_shape", "cols")
    reads = ((1,), (0,))
    saved = ("cols",)

    def __init__(self, stride, padding, dilation, groups, w_shape, cols=None):
        super().__init__(stride, padding, dilation, groups)
        self.w_shape, self.cols = w_shape, cols

    def forward(self, x, g):
        return _conv_weight_grad(x, g, self.w_shape, self._geom(), self.cols)

    def backward(self, h, out, x, g):
        need = self.needs_input_grad
        gx = _transpose(g, h, x.shape, self._geom()) if need[0] else None
        gg = _conv(x, h, self._geom()) if need[1] else None
        return gx, gg


def _conv(x, w, geom, b=None):
    node = Convolution(*geom)
    return apply(node, x, w) if b is None else apply(node, x, w, b)


def _transpose(g, w, x_shape, geom):
    """The gradient of the convolution with respect to its input: the transposed convolution"""
    return apply(ConvTranspose(*geom, tuple(x_shape)), g, w)


# --- argument checks -----------------------------------------------------------------------------

_SHAPES = {1: "(N, C, L) or (C, L)", 2: "(N, C, H, W) or (C, H, W)",
           3: "(N, C, D, H, W) or (C, D, H, W)"}
_KERNELS = {1: "K", 2: "KH, KW", 3: "KD, KH, KW"}


def _operands(x, w, b, nd, op, transposed=False):
    """(x batched, w, b, unbatched) as tensors of one float dtype, with the ranks checked."""
    x, w = tensor_arg(x, op), tensor_arg(w, op, "weight")
    check_float(x, op)
    x, w = promote(x, w, op)
    if b is not None:
        b, x = promote(tensor_arg(b, op, "bias"), x, op)
        w = w.to(x.dtype)
    if x.data.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected input of shape {_SHAPES[nd]}, got shape "
                           f"{x.data.shape}")
    unbatched = x.data.ndim == nd + 1
    if unbatched:
        x = unsqueeze(x, 0)
    if w.data.ndim != nd + 2:
        layout = "in_channels, out_channels/groups" if transposed else \
            "out_channels, in_channels/groups"
        raise RuntimeError(f"{op}: expected weight of shape ({layout}, {_KERNELS[nd]}), got "
                           f"shape {w.data.shape}")
    return x, w, b, unbatched


def _check_groups(groups, op):
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise RuntimeError(f"{op}: groups must be a positive int, got {groups!r}")
    return int(groups)


def _convnd(x, w, b, stride, padding, dilation, groups, nd, op):
    x, w, b, unbatched = _operands(x, w, b, nd, op)
    groups = _check_groups(groups, op)
    c, (o, cg) = x.data.shape[1], w.data.shape[:2]
    if cg * groups != c:
        raise RuntimeError(f"{op}: input has {c} channels (shape {x.data.shape}) but weight "
                           f"{w.data.shape} with groups={groups} expects {cg * groups} "
                           f"(weight.shape[1] * groups)")
    if o % groups:
        raise RuntimeError(f"{op}: out_channels {o} (weight {w.data.shape}) must be divisible "
                           f"by groups={groups}")
    if b is not None and b.data.shape != (o,):
        raise RuntimeError(f"{op}: bias must have shape ({o},) for weight {w.data.shape}, got "
                           f"{b.data.shape}")
    kernel = w.data.shape[2:]
    stride = _ntuple(stride, nd, "stride", op, expand_one=True)
    dilation = _ntuple(dilation, nd, "dilation", op, expand_one=True)
    pads = _padding(padding, kernel, stride, dilation, op, expand_one=True)
    _out_size(op, x.data.shape[2:], kernel, stride, pads, dilation)  # raises early
    out = _conv(x, w, (stride, pads, dilation, groups), b)
    return squeeze(out, 0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation of input (N, C, L) or (C, L) with weight (O, C/groups, K), plus bias
    (O,): out[n, o, l] = b[o] + sum_{c, k} w[o, c, k] xpad[n, c, s l + d k].
    padding: an int, a 1-tuple, 'valid' or 'same' (stride 1; the odd extra goes after)."""
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation of input (N, C, H, W) or (C, H, W) with weight (O, C/groups, KH, KW),
    plus bias (O,): out[n, o] = b[o] + sum_{c, i, j} w[o, c, i, j] xpad[n, c, s h + d i, s w + d j].
    padding: an int, a pair, 'valid' or 'same' (stride 1; the odd extra row goes after)."""
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation of input (N, C, D, H, W) or (C, D, H, W) with weight
    (O, C/groups, KD, KH, KW), plus bias (O,): out[n, o, p] = b[o] + sum_{c, k} w[o, c, k]
    xpad[n, c, s p + d k]; padding: an int, a triple, 'valid' or 'same' (stride 1)."""
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


def _conv_transposend(x, w, b, stride, padding, output_padding, groups, dilation, nd, op):
    if isinstance(padding, str):
        raise TypeError(f"{op}: padding must be an int or a tuple of {nd} ints, got {padding!r} "
                        f"('same' and 'valid' exist for convolutions only)")
    x, w, b, unbatched = _operands(x, w, b, nd, op, transposed=True)
    groups = _check_groups(groups, op)
    c, (ci, cg) = x.data.shape[1], w.data.shape[:2]
    if c != ci:
        raise RuntimeError(f"{op}: input has {c} channels (shape {x.data.shape}) but the "
                           f"transposed weight {w.data.shape} expects weight.shape[0] = {ci}")
    if ci % groups:
        raise RuntimeError(f"{op}: in_channels {ci} (weight {w.data.shape}) must be divisible "
                           f"by groups={groups}")
    if b is not None and b.data.shape != (cg * groups,):
        raise RuntimeError(f"{op}: bias must have shape ({cg * groups},) (weight.shape[1] * "
                           f"groups) for weight {w.data.shape}, got {b.data.shape}")
    kernel = w.data.shape[2:]
    stride = _ntuple(stride, nd, "stride", op, expand_one=True)
    dilation = _ntuple(dilation, nd, "dilation", op, expand_one=True)
    pad = _ntuple(padding, nd, "padding", op, minimum=0, expand_one=True)
    extra = _ntuple(output_padding, nd, "output_padding", op, minimum=0, expand_one=True)
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise RuntimeError(f"{op}: output_padding {extra} must be smaller than the stride "
                           f"{stride} or the dilation {dilation} in every dim")
    size = tuple((i - 1) * s - 2 * p + d * (k - 1) + e + 1 for i, s, p, d, k, e in
                 zip(x.data.shape[2:], stride, pad, dilation, kernel, extra))
    if min(size) < 1:
        raise RuntimeError(f"{op}: input size {x.data.shape[2:]} with kernel {kernel}, stride "
                           f"{stride}, padding {pad}, dilation {dilation} and output_padding "
                           f"{extra} gives output size {size}, (in - 1) * stride - 2 * padding "
                           f"+ dilation * (kernel - 1) + output_padding + 1; use less padding")
    # The adjoint convolution's pads: the high pad shrinks where output_padding reaches past
    # the stride (possible when dilation > stride), so that it maps the output back onto
    # exactly the input's size
    pads = tuple((p, p - max(0, e - s + 1)) for p, e, s in zip(pad, extra, stride))
    out = _transpose(x, w, (x.data.shape[0], cg * groups) + size,
                     (stride, pads, dilation, groups))
    if b is not None:
        out = out + reshape(b, (1, -1) + (1,) * nd)
    return squeeze(out, 0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transposed convolution (conv1d's input gradient) of input (N, C_in, L) with weight
    (C_in, C_out/groups, K): L_out = (L - 1) s - 2 p + d (K - 1) + output_padding + 1"""
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 1, "conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transposed convolution (conv2d's input gradient) of input (N, C_in, H, W) with
    weight (C_in, C_out/groups, KH, KW): H_out = (H - 1) s - 2 p + d (KH - 1) + output_padding
    + 1, likewise W_out"""
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 2, "conv_transpose2d")


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transposed convolution (conv3d's input gradient) of input (N, C_in, D, H, W) with
    weight (C_in, C_out/groups, KD, KH, KW): size_out = (size - 1) s - 2 p + d (K - 1)
    + output_padding + 1 per spatial dim"""
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 3, "conv_transpose3d")


# --- sliding blocks: unfold (im2col) <-> fold (col2im) -------------------------------------------

class _Blocks(Node):
    """Static parameters of sliding blocks: kernel, stride, padding ((lo, hi) pairs), dilation,
    and the image's spatial size."""
    __slots__ = ("kernel_size", "stride", "padding", "dilation", "size")
    reads = ()

    def __init__(self, kernel_size, stride, padding, dilation, size):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.size = dilation, size

    def _geom(self):
        return self.kernel_size, self.stride, self.padding, self.dilation, self.size

    def _blocks(self):
        return _out_size("unfold", self.size, self.kernel_size, self.stride, self.padding,
                         self.dilation)


class Unfold(_Blocks):
    """out[n, (c, k), p] = xpad[n, c, s p + d k] (im2col: (N, C * prod(K), L)); dx = fold(g)"""
    __slots__ = ()

    def forward(self, x):
        blocks = self._blocks()
        win = _windows(_pad_array(x, self.padding), self.kernel_size, self.stride,
                       self.dilation, blocks)
        return win.reshape(x.shape[0], -1, math.prod(blocks))

    def backward(self, g, out, x):
        return (apply(Fold(*self._geom()), g),)


class Fold(_Blocks):
    """out[n, c, q] = sum over blocks p and offsets k with s p + d k = q + pad of g[n, (c, k), p]
    (col2im, summing overlaps: the adjoint of unfold); dg = unfold(h)"""
    __slots__ = ()

    def forward(self, g):
        blocks = self._blocks()
        k = self.kernel_size
        n = g.shape[0]
        c = g.shape[1] // math.prod(k)
        cols = g.reshape((n, c) + k + blocks)
        return _scatter_windows(lambda *i: cols[(slice(None), slice(None)) + i],
                                (n, c) + self.size, blocks, g.dtype, k, self.stride,
                                self.padding, self.dilation)

    def backward(self, h, out, g):
        return (apply(Unfold(*self._geom()), h),)


def _block_args(kernel_size, dilation, padding, stride, op):
    k = _pair(kernel_size, "kernel_size", op)
    d = _pair(dilation, "dilation", op)
    p = _pair(padding, "padding", op, minimum=0)
    s = _pair(stride, "stride", op)
    return k, s, ((p[0], p[0]), (p[1], p[1])), d


def im2col(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: the sliding blocks of input (N, C, H, W) or (C, H, W) as columns,
    out[n, c * KH * KW + i * KW + j, l] = xpad[n, c, s h_l + d i, s w_l + d j]"""
    x = tensor_arg(input, "unfold")
    check_float(x, "unfold")
    if x.data.ndim not in (3, 4):
        raise RuntimeError(f"unfold: expected input of shape (N, C, H, W) or (C, H, W), got "
                           f"shape {x.data.shape} (only 2-D sliding blocks exist, as in "
                           f"PyTorch)")
    unbatched = x.data.ndim == 3
    if unbatched:
        x = unsqueeze(x, 0)
    k, s, pads, d = _block_args(kernel_size, dilation, padding, stride, "unfold")
    _out_size("unfold", x.data.shape[2:], k, s, pads, d)
    out = apply1(Unfold(k, s, pads, d, x.data.shape[2:]), x)
    return squeeze(out, 0) if unbatched else out


def col2im(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im: sums the columns of input (N, C * KH * KW, L) or (C * KH * KW, L) back onto an
    (N, C, *output_size) image, overlaps added (the adjoint of unfold)"""
    x = tensor_arg(input, "fold")
    check_float(x, "fold")
    if x.data.ndim not in (2, 3):
        raise RuntimeError(f"fold: expected input of shape (N, C * prod(kernel_size), L) or "
                           f"(C * prod(kernel_size), L), got shape {x.data.shape}")
    unbatched = x.data.ndim == 2
    if unbatched:
        x = unsqueeze(x, 0)
    size = _pair(output_size, "output_size", "fold")
    k, s, pads, d = _block_args(kernel_size, dilation, padding, stride, "fold")
    if x.data.shape[1] % (k[0] * k[1]):
        raise RuntimeError(f"fold: input dim 1 ({x.data.shape[1]}, shape {x.data.shape}) must "
                           f"be divisible by the product of kernel_size {k}")
    blocks = _out_size("fold", size, k, s, pads, d)
    if x.data.shape[2] != blocks[0] * blocks[1]:
        raise RuntimeError(f"fold: output_size={size}, kernel_size={k}, dilation={d}, padding="
                           f"{tuple(p for p, _ in pads)}, stride={s} make {blocks[0]} * "
                           f"{blocks[1]} = {blocks[0] * blocks[1]} sliding blocks, but input "
                           f"{x.data.shape} has {x.data.shape[2]} in dim 2")
    out = apply1(Fold(k, s, pads, d, size), x)
    return squeeze(out, 0) if unbatched else out


# --- channel rearrangements (composed from reshape and permute) ----------------------------------

def _factor(v, name, op):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
        raise RuntimeError(f"{op}: {name} must be a positive int, got {v!r}")
    return int(v)


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r): out[.., c, h r + i, w r + j] =
    x[.., c r^2 + i r + j, h, w]"""
    x = tensor_arg(input, "pixel_shuffle")
    r = _factor(upscale_factor, "upscale_factor", "pixel_shuffle")
    shape = x.data.shape
    if len(shape) < 3:
        raise RuntimeError(f"pixel_shuffle: expected input of shape (*, C * r^2, H, W), got "
                           f"shape {shape}")
    *lead, c, h, w = shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle: the channel dim of input {shape} ({c}) must be "
                           f"divisible by upscale_factor^2 = {r * r}")
    b = len(lead)
    y = reshape(x, (*lead, c // (r * r), r, r, h, w))
    y = permute(y, tuple(range(b)) + tuple(b + i for i in (0, 3, 1, 4, 2)))
    return reshape(y, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of pixel_shuffle:
    out[.., c r^2 + i r + j, h, w] = x[.., c, h r + i, w r + j]"""
    x = tensor_arg(input, "pixel_unshuffle")
    r = _factor(downscale_factor, "downscale_factor", "pixel_unshuffle")
    shape = x.data.shape
    if len(shape) < 3:
        raise RuntimeError(f"pixel_unshuffle: expected input of shape (*, C, H * r, W * r), "
                           f"got shape {shape}")
    *lead, c, h, w = shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle: the height and width of input {shape} ({h}, {w}) "
                           f"must be divisible by downscale_factor = {r}")
    b = len(lead)
    y = reshape(x, (*lead, c, h // r, r, w // r, r))
    y = permute(y, tuple(range(b)) + tuple(b + i for i in (0, 2, 4, 1, 3)))
    return reshape(y, (*lead, c * r * r, h // r, w // r))


def channel_shuffle(input, groups):
    """(N, C, *) with C = g m: out[:, j g + i] = x[:, i m + j] (the channels regrouped, as
    ShuffleNet)"""
    x = tensor_arg(input, "channel_shuffle")
    g = _factor(groups, "groups", "channel_shuffle")
    shape = x.data.shape
    if len(shape) < 3:
        raise RuntimeError(f"channel_shuffle: expected input of shape (N, C, *) with at least "
                           f"one spatial dim, got shape {shape}")
    n, c, *rest = shape
    if c % g:
        raise RuntimeError(f"channel_shuffle: the {c} channels of input {shape} must be "
                           f"divisible by groups={g}")
    y = reshape(x, (n, g, c // g, *rest))
    y = permute(y, (0, 2, 1) + tuple(range(3, len(shape) + 1)))
    return reshape(y, shape)
