"""Pooling (NCHW) as the pair pool_gather (a weighted sum over each window) <-> pool_scatter (its
adjoint); max pooling's backward is pool_scatter with weights that split g among the maxima."""
import numbers

import numpy as np

from ..function import Node, apply, apply1
from ..tensor import grad_state
from ._operands import check_float, tensor_arg
from ._windows import _out_size, _pad_array, _pair, _scatter_windows, _windows
from .linalg import einsum
from .shape import squeeze, unsqueeze

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


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

