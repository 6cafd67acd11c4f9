"""Convolution and pooling (NCHW), as batched matrix products over an im2col view.

Convolution is three primitives closed under differentiation (DESIGN rule 3's pair pattern):
conv2d(x, w), its input gradient conv2d_input_grad(g, w) (the transposed convolution, col2im)
and its weight gradient conv2d_weight_grad(x, g); each one's backward is built from the other
two. Pooling is the pair pool_gather (a weighted sum over each window) <-> pool_scatter (its
adjoint); max pooling's backward is pool_scatter with weights that split g among the maxima.
"""
import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..function import Node, apply, apply1
from ..tensor import grad_state
from ._operands import check_float, promote, tensor_arg
from .linalg import einsum
from .shape import squeeze, unsqueeze


# --- geometry ------------------------------------------------------------------------------------

def _pair(v, name, op, minimum=1):
    """(a, b) from an int or a pair of ints, each >= minimum."""
    if isinstance(v, numbers.Integral):
        v = (int(v), int(v))
    else:
        try:
            v = tuple(int(a) for a in v)
        except TypeError:
            raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {v!r}") from None
        if len(v) != 2:
            raise RuntimeError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")
    if min(v) < minimum:
        raise RuntimeError(f"{op}: {name} must be >= {minimum}, got {v}")
    return v


def _padding(padding, kernel, stride, dilation, op):
    """((top, bottom), (left, right)) from an int, a pair, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding != "same":
            raise RuntimeError(f"{op}: padding must be an int, a pair, 'same' or 'valid', "
                             f"got {padding!r}")
        if stride != (1, 1):
            raise RuntimeError(f"{op}: padding='same' needs stride 1, got stride {stride}; give "
                             f"the padding as numbers instead")
        out = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)  # the extra row/column (even kernels) goes after, as PyTorch
            out.append((total // 2, total - total // 2))
        return tuple(out)
    p = _pair(padding, "padding", op, minimum=0)
    return ((p[0], p[0]), (p[1], p[1]))


def _out_size(op, size, kernel, stride, padding, dilation):
    """Output (H, W) = floor((in + pads - d (k - 1) - 1) / s) + 1, with an error if < 1."""
    out = []
    for axis, n, k, s, (lo, hi), d in zip(("height", "width"), size, kernel, stride, padding,
                                         dilation):
        span = d * (k - 1) + 1
        o = (n + lo + hi - span) // s + 1
        if o < 1:
            raise RuntimeError(
                f"{op}: input {axis} {n} with kernel {k} (dilation {d}, so spanning {span}), "
                f"stride {s} and padding ({lo}, {hi}) gives output {axis} "
                f"({n} + {lo + hi} - {span}) // {s} + 1 = {o}; use a smaller kernel or more "
                f"padding")
        out.append(o)
    return tuple(out)


def _pad_array(x, padding, value=0.0):
    (t, b), (l, r) = padding
    if t == b == l == r == 0:
        return x
    n, c, h, w = x.shape
    out = np.full((n, c, h + t + b, w + l + r), value, x.dtype)
    out[:, :, t:t + h, l:l + w] = x
    return out


def _windows(xp, kernel, stride, dilation, out_hw):
    """Read-only view (N, C, KH, KW, OH, OW) of padded xp: [.., i, j, h, w] =
    xp[.., s h + d i, s w + d j] (no copy)."""
    n, c = xp.shape[:2]
    sn, sc, sh, sw = xp.strides
    return as_strided(xp, (n, c) + tuple(kernel) + tuple(out_hw),
                      (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1]),
                      writeable=False)


def _scatter_windows(term, x_shape, out_hw, dtype, kernel, stride, padding, dilation,
                     batch_last=False):
    """col2im: adds term(i, j) (N, C, OH, OW) for each kernel offset back onto the (padded)
    input grid and crops the padding; a loop over the KH x KW kernel offsets only.
    batch_last: term(i, j) is (C, OH, OW, N) and the sums run in that layout, whose innermost
    run of contiguous elements is OW x N long instead of OW (2x faster for a 64-image batch);
    the result is (N, C, H, W) either way."""
    n, c, h, w = x_shape
    (t, b), (l, r) = padding
    oh, ow = out_hw
    hp, wp = h + t + b, w + l + r
    out = np.zeros((c, hp, wp, n) if batch_last else (n, c, hp, wp), dtype)
    grid = out.transpose(3, 0, 1, 2) if batch_last else out  # the same memory as (N, C, H, W)
    (sh, sw), (dh, dw) = stride, dilation
    for i in range(kernel[0]):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kernel[1]):
            cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            if batch_last:
                out[:, rows, cols] += term(i, j)
            else:
                out[:, :, rows, cols] += term(i, j)
    if t or b or l or r or batch_last:
        grid = np.ascontiguousarray(grid[:, :, t:t + h, l:l + w])
    return grid


class _Geometry(Node):
    """Shared static parameters of the convolution family."""
    __slots__ = ("stride", "padding", "dilation", "groups")

    def __init__(self, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.groups = groups

    def _geom(self):
        return self.stride, self.padding, self.dilation, self.groups

    def _im2col(self, x, kernel):
        """(N, G, C/G * KH * KW, OH * OW): the im2col buffer (a copy, except for 1x1 kernels)."""
        out_hw = _out_size("conv2d", x.shape[2:], kernel, self.stride, self.padding,
                           self.dilation)
        win = _windows(_pad_array(x, self.padding), kernel, self.stride, self.dilation, out_hw)
        n, c = x.shape[:2]
        g = self.groups
        return win.reshape(n, g, (c // g) * kernel[0] * kernel[1], out_hw[0] * out_hw[1]), out_hw


# --- convolution: three primitives, each differentiated by the other two -------------------------

class Conv2d(_Geometry):
    """out[n, o, h, w] = b[o] + sum_{c, i, j} w[o, c, i, j] xpad[n, g c, s h + d i, s w + d j];
    dx = conv2d_input_grad(g, w), dw = conv2d_weight_grad(x, g), db = sum of g over (n, h, w)"""
    __slots__ = ("cols",)
    reads = ((1,), (0,), ())
    saved = ("cols",)

    def forward(self, x, w, b=None):
        o, cg, kh, kw = w.shape
        g = self.groups
        cols, (oh, ow) = self._im2col(x, (kh, kw))
        self.cols = cols  # kept for the weight gradient (freed after backward)
        out = np.matmul(w.reshape(g, o // g, cg * kh * kw), cols)  # (N, G, O/G, OH*OW)
        out = out.reshape(x.shape[0], o, oh, ow)
        if b is not None:
            out += b.reshape(1, o, 1, 1)
        return out

    def backward(self, g, out, x, w, b=None):
        need = self.needs_input_grad
        gx = conv2d_input_grad(g, w, x.shape, *self._geom()) if need[0] else None
        gw = None
        if need[1]:
            gw = apply(Conv2dWeightGrad(*self._geom(), w.shape, self.cols), x, g)
        if b is None:
            return gx, gw
        return gx, gw, (g.sum((0, 2, 3)) if need[2] else None)


class Conv2dInputGrad(_Geometry):
    """out = the transposed convolution of g with w (conv2d's input gradient, col2im of w^T g);
    dg = conv2d(h, w), dw = conv2d_weight_grad(h, g)"""
    __slots__ = ("x_shape",)

    def __init__(self, stride, padding, dilation, groups, x_shape):
        super().__init__(stride, padding, dilation, groups)
        self.x_shape = x_shape

    def forward(self, g, w):
        o, cg, kh, kw = w.shape
        grp = self.groups
        n, _, oh, ow = g.shape
        w3 = w.reshape(grp, o // grp, cg * kh * kw)
        if ow >= 16:
            cols = np.matmul(w3.transpose(0, 2, 1), g.reshape(n, grp, o // grp, oh * ow))
            cols = cols.reshape(n, grp * cg, kh, kw, oh, ow)
            return _scatter_windows(lambda i, j: cols[:, :, i, j], self.x_shape, (oh, ow),
                                    g.dtype, (kh, kw), self.stride, self.padding, self.dilation)
        # Short output rows make the scatter's runs short: sum in the batch-last layout instead,
        # after one product per group over the whole batch (MNIST's second conv layer, 14x14:
        # 7.7 -> 4.2 ms; for long rows the transposing copy of g costs more than it saves)
        g3 = np.ascontiguousarray(g.reshape(n, grp, o // grp, oh * ow).transpose(1, 2, 3, 0))
        cols = np.matmul(w3.transpose(0, 2, 1), g3.reshape(grp, o // grp, oh * ow * n))
        cols = cols.reshape(grp * cg, kh, kw, oh, ow, n)
        return _scatter_windows(lambda i, j: cols[:, i, j], self.x_shape, (oh, ow), g.dtype,
                                (kh, kw), self.stride, self.padding, self.dilation,
                                batch_last=True)

    def backward(self, h, out, g, w):
        need = self.needs_input_grad
        gg = _conv(h, w, *self._geom()) if need[0] else None
        gw = apply(Conv2dWeightGrad(*self._geom(), w.shape), h, g) if need[1] else None
        return gg, gw


class Conv2dWeightGrad(_Geometry):
    """out[o, c, i, j] = sum_{n, h, w} g[n, o, h, w] xpad[n, g c, s h + d i, s w + d j]
    (conv2d's weight gradient); dx = conv2d_input_grad(g, h), dg = conv2d(x, h)"""
    __slots__ = ("w_shape", "cols")
    saved = ("cols",)

    def __init__(self, stride, padding, dilation, groups, w_shape, cols=None):
        super().__init__(stride, padding, dilation, groups)
        self.w_shape, self.cols = w_shape, cols

    def forward(self, x, g):
        o, cg, kh, kw = self.w_shape
        grp = self.groups
        cols = self.cols if self.cols is not None else self._im2col(x, (kh, kw))[0]
        n = g.shape[0]
        if n == 0:  # an empty batch: nothing to sum (reshape(-1) cannot infer a 0 size)
            return np.zeros(self.w_shape, np.result_type(x, g))
        g4 = g.reshape(n, grp, o // grp, -1)
        gw = np.matmul(g4, cols.transpose(0, 1, 3, 2)).sum(0)  # (G, O/G, C/G*KH*KW)
        return gw.reshape(self.w_shape)

    def backward(self, h, out, x, g):
        need = self.needs_input_grad
        gx = conv2d_input_grad(g, h, x.shape, *self._geom()) if need[0] else None
        gg = _conv(x, h, *self._geom()) if need[1] else None
        return gx, gg


def _conv(x, w, stride, padding, dilation, groups, b=None):
    node = Conv2d(stride, padding, dilation, groups)
    return apply(node, x, w) if b is None else apply(node, x, w, b)


def conv2d_input_grad(g, w, x_shape, stride, padding, dilation, groups):
    """The gradient of conv2d with respect to its input: the transposed convolution of g"""
    return apply(Conv2dInputGrad(stride, padding, dilation, groups, tuple(x_shape)), g, w)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation of x (N, C, H, W) or (C, H, W) with w (O, C/groups, KH, KW), plus
    b (O,): out[n, o] = b[o] + sum_{c, i, j} w[o, c, i, j] xpad[n, c, s h + d i, s w + d j].
    padding: an int, a pair, 'valid' or 'same' (stride 1; the odd extra row goes after)."""
    x, w = tensor_arg(x, "conv2d"), tensor_arg(w, "conv2d", "weight")
    check_float(x, "conv2d")
    x, w = promote(x, w, "conv2d")
    if b is not None:
        b, x = promote(tensor_arg(b, "conv2d", "bias"), x, "conv2d")
        w = w.to(x.dtype)
    unbatched = x.data.ndim == 3
    if unbatched:
        x = unsqueeze(x, 0)
    if x.data.ndim != 4:
        raise RuntimeError(f"conv2d: expected input of shape (N, C, H, W) or (C, H, W), got shape "
                         f"{x.data.shape}")
    if w.data.ndim != 4:
        raise RuntimeError(f"conv2d: expected weight of shape (out_channels, in_channels/groups, "
                         f"KH, KW), got shape {w.data.shape}")
    if not isinstance(groups, numbers.Integral) or groups < 1:
        raise RuntimeError(f"conv2d: groups must be a positive int, got {groups!r}")
    c, (o, cg, kh, kw) = x.data.shape[1], w.data.shape
    if cg * groups != c:
        raise RuntimeError(f"conv2d: input has {c} channels (shape {x.data.shape}) but weight "
                         f"{w.data.shape} with groups={groups} expects {cg * groups} "
                         f"(weight.shape[1] * groups)")
    if o % groups:
        raise RuntimeError(f"conv2d: out_channels {o} (weight {w.data.shape}) must be divisible "
                         f"by groups={groups}")
    if b is not None and b.data.shape != (o,):
        raise RuntimeError(f"conv2d: bias must have shape ({o},) for weight {w.data.shape}, got "
                         f"{b.data.shape}")
    stride = _pair(stride, "stride", "conv2d")
    dilation = _pair(dilation, "dilation", "conv2d")
    pads = _padding(padding, (kh, kw), stride, dilation, "conv2d")
    _out_size("conv2d", x.data.shape[2:], (kh, kw), stride, pads, dilation)  # raises early
    out = _conv(x, w, stride, pads, dilation, int(groups), b)
    return squeeze(out, 0) if unbatched else out


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation of x (N, C, L) with w (O, C/groups, K): conv2d on a height-1 image"""
    x, w = tensor_arg(x, "conv1d"), tensor_arg(w, "conv1d", "weight")
    if x.data.ndim not in (2, 3) or w.data.ndim != 3:
        raise RuntimeError(f"conv1d: expected input (N, C, L) or (C, L) and weight "
                           f"(O, C/groups, K), got shapes {x.data.shape} and {w.data.shape}")
    if not isinstance(padding, str):
        padding = (0, int(padding if isinstance(padding, numbers.Integral) else padding[0]))
    out = conv2d(unsqueeze(x, -2), unsqueeze(w, -2), b, stride=(1, _first(stride)),
                 padding=padding, dilation=(1, _first(dilation)), groups=groups)
    return squeeze(out, -2)


def _first(v):
    return int(v if isinstance(v, numbers.Integral) else v[0])


# --- pooling: pool_gather <-> pool_scatter ----------------------------------------------------

class _Pool(Node):
    """Static parameters of a pooling window and its weights, laid out (KH, KW, N, C, OH, OW)
    (each of the last four may be 1 to broadcast)."""
    __slots__ = ("kernel_size", "stride", "padding", "dilation", "weight")
    saved = ("weight",)

    def __init__(self, kernel_size, stride, padding, dilation, weight=None):
        self.kernel_size, self.stride = kernel_size, stride
        self.padding, self.dilation, self.weight = padding, dilation, weight

    def _geom(self):
        return self.kernel_size, self.stride, self.padding, self.dilation


class PoolGather(_Pool):
    """out[n, c, h, w] = sum_{i, j} weight[.., i, j, h, w] xpad[n, c, s h + d i, s w + d j];
    dx = pool_scatter(g, weight)"""
    __slots__ = ()
    reads = ()

    def forward(self, x):
        out_hw = _out_size("pool", x.shape[2:], *self._geom())
        win = _windows(_pad_array(x, self.padding), self.kernel_size, self.stride,
                       self.dilation, out_hw)
        wt = self.weight
        out = np.zeros(x.shape[:2] + out_hw, x.dtype)
        for i in range(self.kernel_size[0]):
            for j in range(self.kernel_size[1]):
                out += win[:, :, i, j] * wt[i, j]
        return out

    def backward(self, g, out, x):
        return (pool_scatter(g, self.weight, x.shape, *self._geom()),)


class PoolScatter(_Pool):
    """out = x-shaped sum over windows of g * weight put back at each window's positions (the
    adjoint of pool_gather, i.e. pooling's backward); dg = pool_gather(h, weight)"""
    __slots__ = ("x_shape",)
    reads = ()

    def __init__(self, kernel_size, stride, padding, dilation, weight, x_shape):
        super().__init__(kernel_size, stride, padding, dilation, weight)
        self.x_shape = x_shape

    def forward(self, g):
        wt = self.weight
        return _scatter_windows(lambda i, j: g * wt[i, j], self.x_shape, g.shape[2:], g.dtype,
                                *self._geom())

    def backward(self, h, out, g):
        return (apply(PoolGather(*self._geom(), self.weight), h),)


def pool_scatter(g, weight, x_shape, kernel_size, stride, padding, dilation):
    """The adjoint of a weighted window sum: g * weight added back onto an x_shape grid"""
    return apply(PoolScatter(kernel_size, stride, padding, dilation, weight, tuple(x_shape)), g)


class MaxPool2d(_Pool):
    """out = max of each window of x (padded with -inf); dx = g split evenly among each
    window's maxima (pool_scatter with weights hit / count)"""
    __slots__ = ("_recording",)  # False: no graph will be kept, so skip the weights
    reads = ((0,),)

    def forward(self, x):
        out_hw = _out_size("max_pool2d", x.shape[2:], *self._geom())
        win = _windows(_pad_array(x, self.padding, -np.inf), self.kernel_size, self.stride,
                       self.dilation, out_hw)
        kh, kw = self.kernel_size
        out = win[:, :, 0, 0].copy()
        for i in range(kh):
            for j in range(kw):
                if i or j:
                    np.maximum(out, win[:, :, i, j], out=out)
        if not self._recording:
            return out
        hit = np.empty((kh, kw) + out.shape, np.bool_)
        for i in range(kh):
            for j in range(kw):
                np.equal(win[:, :, i, j], out, out=hit[i, j])
        weight = hit.astype(x.dtype)
        if kh * kw > 1:
            count = hit.view(np.uint8).sum(axis=(0, 1), dtype=np.int32)
            if count.size and count.max() > 1:  # ties: each tied element gets 1 / count
                weight /= count
        self.weight = weight
        return out

    def backward(self, g, out, x):
        return (pool_scatter(g, self.weight, x.shape, *self._geom()),)


def _pool_args(x, kernel_size, stride, padding, dilation, op):
    x = tensor_arg(x, op)
    check_float(x, op)
    unbatched = x.data.ndim == 3
    if unbatched:
        x = unsqueeze(x, 0)
    if x.data.ndim != 4:
        raise RuntimeError(f"{op}: expected input of shape (N, C, H, W) or (C, H, W), got shape "
                         f"{x.data.shape}")
    k = _pair(kernel_size, "kernel_size", op)
    s = k if stride is None or (not isinstance(stride, numbers.Integral) and len(stride) == 0) \
        else _pair(stride, "stride", op)
    p = _pair(padding, "padding", op, minimum=0)
    d = _pair(dilation, "dilation", op)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise RuntimeError(f"{op}: padding {p} must be at most half the kernel size {k}, so "
                           f"that no window lies entirely in the padding")
    pads = ((p[0], p[0]), (p[1], p[1]))
    _out_size(op, x.data.shape[2:], k, s, pads, d)
    return x, unbatched, (k, s, pads, d)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1):
    """out = max over each kernel_size window (stride defaults to kernel_size); ties share g"""
    x, unbatched, geom = _pool_args(x, kernel_size, stride, padding, dilation, "max_pool2d")
    node = MaxPool2d(*geom)
    node._recording = x.requires_grad and grad_state.enabled
    out = apply1(node, x)
    return squeeze(out, 0) if unbatched else out


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True,
               divisor_override=None):
    """out = mean over each window (stride defaults to kernel_size); padded zeros count in the
    divisor unless count_include_pad=False (PyTorch's default is True)"""
    x, unbatched, geom = _pool_args(x, kernel_size, stride, padding, 1, "avg_pool2d")
    (kh, kw), s, pads, d = geom
    dt = x.data.dtype
    if divisor_override is not None:
        weight = np.full((kh, kw, 1, 1, 1, 1), 1.0 / divisor_override, dt)
    elif count_include_pad or pads == ((0, 0), (0, 0)):
        weight = np.full((kh, kw, 1, 1, 1, 1), 1.0 / (kh * kw), dt)
    else:
        ones = np.ones((1, 1) + x.data.shape[2:], dt)
        out_hw = _out_size("avg_pool2d", x.data.shape[2:], *geom)
        count = _windows(_pad_array(ones, pads), (kh, kw), s, d, out_hw).sum(axis=(2, 3))
        weight = np.broadcast_to(1.0 / count, (kh, kw, 1, 1) + out_hw)
    out = apply1(PoolGather(*geom, weight), x)
    return squeeze(out, 0) if unbatched else out


def _adaptive_matrix(n, m, dtype):
    """(m, n) averaging matrix: row i averages inputs floor(i n / m) .. ceil((i + 1) n / m) - 1."""
    a = np.zeros((m, n), dtype)
    for i in range(m):
        lo, hi = (i * n) // m, -((-(i + 1) * n) // m)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


def adaptive_avg_pool2d(x, output_size):
    """out (N, C, oh, ow): the mean of the windows rows floor(i H/oh)..ceil((i+1) H/oh) (same for
    columns), as PyTorch; computed as A_h x A_w^T with constant averaging matrices"""
    x = tensor_arg(x, "adaptive_avg_pool2d")
    check_float(x, "adaptive_avg_pool2d")
    if x.data.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d: expected input of shape (N, C, H, W) or "
                         f"(C, H, W), got shape {x.data.shape}")
    h, w = x.data.shape[-2:]
    if isinstance(output_size, numbers.Integral) or output_size is None:
        output_size = (output_size, output_size)
    oh = h if output_size[0] is None else int(output_size[0])
    ow = w if output_size[1] is None else int(output_size[1])
    if oh < 1 or ow < 1:
        raise RuntimeError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size}")
    if (oh, ow) == (1, 1):
        return x.mean((-2, -1), keepdim=True)
    if h % oh == 0 and w % ow == 0:
        return avg_pool2d(x, (h // oh, w // ow))
    ah = _adaptive_matrix(h, oh, x.data.dtype)
    aw = _adaptive_matrix(w, ow, x.data.dtype)
    return einsum("ih,...hw,jw->...ij", ah, x, aw)
