"""Convolution (NCHW), as batched matrix products over an im2col view.

Convolution is three primitives closed under differentiation (DESIGN rule 3's pair pattern):
conv2d(x, w), its input gradient conv2d_input_grad(g, w) (the transposed convolution, col2im)
and its weight gradient conv2d_weight_grad(x, g); each one's backward is built from the other
two.
"""
import numbers

import numpy as np

from ..function import Node, apply
from ._operands import check_float, promote, tensor_arg
from .shape import squeeze, unsqueeze
from ._windows import _out_size, _pad_array, _pair, _padding, _scatter_windows, _windows

__all__ = ["conv1d", "conv2d"]


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
