"""Normalisation primitives: layer norm as one node (nn.functional.layer_norm calls it) and
batch norm's training form as one node (nn.functional.batch_norm calls batch_norm_train)."""
import math

import numpy as np

from ..function import apply, constant_result, Node
from ._sums import column_sums, row_sums

__all__ = ["layer_norm"]


def _normalized(x2, k, eps):
    """(xhat, rstd) of the rows of a 2-D x2 (m, k): xhat = (x - mean) * rstd,
    rstd = (var + eps) ** -0.5 with the biased variance; on arrays or recorded on tensors"""
    inv = 1 / k if k else 0.0  # (no elements to normalise: any statistics will do)
    centred = x2 - x2.sum(axis=1, keepdims=True) * inv
    rstd = ((centred * centred).sum(axis=1, keepdims=True) * inv + eps) ** -0.5
    return centred * rstd, rstd


def _normalized_arrays(x2, k, eps, out):
    """(xhat, rstd (m, 1)) as `_normalized` for arrays, with few passes over x2: the sums as
    products, the squares in `out` (a scratch buffer of x2's shape)"""
    inv = 1 / k if k else 0.0
    mean = row_sums(x2)
    mean *= inv
    xhat = np.subtract(x2, mean[:, None])
    var = row_sums(np.multiply(xhat, xhat, out=out))
    var *= inv
    var += eps
    rstd = np.sqrt(var, out=var)
    np.divide(1.0, rstd, out=rstd)
    rstd = rstd[:, None]
    xhat *= rstd
    return xhat, rstd


class LayerNorm(Node):
    """out = xhat * w + b over the last `ndim` dims, xhat = (x - mean(x)) / sqrt(var(x) + eps);
    dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat)), gh = g * w; dw = sum(g * xhat) and
    db = sum(g) over the leading dims"""
    __slots__ = ("ndim", "eps", "has_weight", "has_bias", "xhat", "rstd")
    reads = None  # input, weight and bias, as PyTorch saves them (not xhat)
    saved = ("xhat", "rstd")

    def __init__(self, ndim, eps, has_weight, has_bias):
        self.ndim, self.eps, self.has_weight, self.has_bias = ndim, eps, has_weight, has_bias

    def _rows(self, shape):
        k = math.prod(shape[len(shape) - self.ndim:])
        return math.prod(shape[:len(shape) - self.ndim]), k

    def forward(self, x, *params):
        m, k = self._rows(x.shape)
        out = np.empty((m, k), x.dtype)
        self.xhat, self.rstd = _normalized_arrays(x.reshape(m, k), k, self.eps, out)
        if self.has_weight:
            np.multiply(self.xhat, params[0].reshape(k), out=out)
        else:
            out[...] = self.xhat
        if self.has_bias:
            out += params[-1].reshape(k)
        return out.reshape(x.shape)

    def backward(self, g, out, x, *params):
        m, k = self._rows(x.shape)
        if type(x) is np.ndarray:
            return self._backward_arrays(g.reshape(m, k), x.shape, params)
        # a recorded pass: the statistics as recorded functions of x, for higher orders
        xhat, rstd = _normalized(x.reshape(m, k), k, self.eps)
        needs = self.needs_input_grad
        g2 = g.reshape(m, k)
        g_xhat = g2 * xhat if needs[0] or self.has_weight and needs[1] else None
        grads = [None] * len(needs)
        if needs[0]:
            inv = 1 / k if k else 0.0
            if self.has_weight:  # row sums of g * w and g * xhat * w as matrix-vector products
                w = params[0].reshape(k)
                sum_g, sum_gx, gh = (g2 @ w).reshape(m, 1), (g_xhat @ w).reshape(m, 1), g2 * w
            else:
                sum_g, gh = g2.sum(axis=1, keepdims=True), g2
                sum_gx = g_xhat.sum(axis=1, keepdims=True)
            grads[0] = ((gh - xhat * (sum_gx * inv) - sum_g * inv) * rstd).reshape(x.shape)
        if self.has_weight and needs[1]:
            grads[1] = g_xhat.sum(axis=0).reshape(params[0].shape)
        if self.has_bias and needs[-1]:
            grads[-1] = g2.sum(axis=0).reshape(params[-1].shape)
        return tuple(grads)

    def _backward_arrays(self, g2, shape, params):
        """The rule above on arrays, in few passes: row and column sums as products, dx as
        rstd gh - xhat (rstd mean(g xhat w)) - rstd mean(g w) in place"""
        needs, xhat, rstd = self.needs_input_grad, self.xhat, self.rstd
        m, k = g2.shape
        w = params[0].reshape(k) if self.has_weight else None
        g_xhat = np.multiply(g2, xhat) if needs[0] or self.has_weight and needs[1] else None
        grads = [None] * len(needs)
        if self.has_weight and needs[1]:
            grads[1] = column_sums(g_xhat).reshape(params[0].shape)
        if self.has_bias and needs[-1]:
            grads[-1] = column_sums(g2).reshape(params[-1].shape)
        if needs[0]:
            inv = 1 / k if k else 0.0
            r = rstd[:, 0]
            a = row_sums(g_xhat, w)
            a *= r
            a *= inv
            c = row_sums(g2, w)
            c *= r
            c *= inv
            dx = g2 * w if w is not None else g2.copy()
            dx *= rstd
            dx -= np.multiply(xhat, a[:, None], out=g_xhat)
            dx -= c[:, None]
            grads[0] = dx.reshape(shape)
        return tuple(grads)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the trailing normalized_shape dims
    (biased variance); x, weight and bias tensors of one floating dtype (torch.layer_norm)"""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
        tuple(int(n) for n in normalized_shape)
    k = len(shape)
    if not k or x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise RuntimeError(f"layer_norm: given normalized_shape={list(shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, shape))}], but got input of size "
                           f"{list(x.shape)}; normalized_shape must be the input's last dims")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"layer_norm: {name} of shape {list(t.shape)} does not match "
                               f"normalized_shape {list(shape)}; it must have exactly that shape")
    params = tuple(t for t in (weight, bias) if t is not None)
    node = LayerNorm(k, float(eps), weight is not None, bias is not None)
    return apply(node, x, *params)


# --- batch norm (training mode): per-channel statistics over the batch and spatial dims --------
#
# The statistics are two constant ops (so that autodiff.compile records them and the running
# averages are updated from recorded values), handed to the BatchNorm node as inputs; the node
# differentiates through them all the same: its rule is the full derivative in x, and in a
# recorded (higher-order) pass it computes them again from x as recorded ops.

def _channel_sum(t3):
    """Per-channel sums (1, C, 1) of an (N, C, S) array or tensor (pairwise along S)."""
    return t3.sum(axis=2, keepdims=True).sum(axis=0, keepdims=True)


def _rows(x):
    """x as (N, C, S) and the number of values per channel, N * S."""
    n, c = x.shape[:2]
    s = math.prod(x.shape[2:])
    return x.reshape(n, c, s), n * s


def _batch_mean(x):
    """(C,) mean of x (N, C, *) over every dim but the channels."""
    x3, m = _rows(x)
    return _channel_sum(x3).reshape(-1) * x.dtype.type(1 / m)


def _batch_var(x, mean):
    """(C,) biased variance of x (N, C, *) per channel, around the given mean (two passes)."""
    x3, m = _rows(x)
    centred = x3 - mean.reshape(1, -1, 1)
    return _channel_dot(centred, centred).reshape(-1) * x.dtype.type(1 / m)


def _channel_dot(a3, b3):
    """Per-channel sums (1, C, 1) of a3 * b3 for (N, C, S) arrays, without the product's
    array (einsum's dot products per (image, channel), then a sum over the images)."""
    return np.einsum("ncs,ncs->nc", a3, b3).sum(axis=0).reshape(1, -1, 1)


def _recorded_stats(x3, m):
    """(mean, var) (1, C, 1) of a tensor x3 (N, C, S), as recorded functions of it."""
    mean = _channel_sum(x3) * (1 / m)
    centred = x3 - mean
    return mean, _channel_sum(centred * centred) * (1 / m)


class BatchNorm(Node):
    """out = (x - mean) * rstd * w + b per channel (dim 1), rstd = (var + eps) ** -0.5, with
    mean and var the batch statistics of x (inputs 1 and 2: constants computed from x). With
    d = x - mean, M values per channel and a = rstd * w:
    dx = a * (g - sum(g) / M) - d * a * rstd^2 * sum(g d) / M, dw = rstd * sum(g d),
    db = sum(g) (sums per channel); mean and var get no gradient of their own."""
    __slots__ = ("eps", "has_weight", "has_bias")
    reads = None  # the input, its statistics, the weight (PyTorch saves the same)

    def __init__(self, eps, has_weight, has_bias):
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias

    def forward(self, x, mean, var, *params):
        # (as PyTorch's CPU kernel: one multiply and one add per element)
        x3, _ = _rows(x)
        scale = (var + x.dtype.type(self.eps)) ** x.dtype.type(-0.5)
        if self.has_weight:
            scale = scale * params[0]
        shift = -mean * scale
        if self.has_bias:
            shift += params[-1]
        out = np.multiply(x3, scale.reshape(1, -1, 1))
        out += shift.reshape(1, -1, 1)
        return out.reshape(x.shape)

    def backward(self, g, out, x, mean, var, *params):
        x3, m = _rows(x)
        c = x3.shape[1]
        g3 = g.reshape(x3.shape)
        arrays = type(x) is np.ndarray
        if arrays:
            mean3 = mean.reshape(1, c, 1)
            rstd = (var.reshape(1, c, 1) + x.dtype.type(self.eps)) ** x.dtype.type(-0.5)
        else:  # a recorded pass: the statistics as recorded functions of x, for higher orders
            mean3, var3 = _recorded_stats(x3, m)
            rstd = (var3 + self.eps) ** -0.5
        needs = self.needs_input_grad
        grads = [None] * len(needs)
        d = x3 - mean3
        sum_gd = _channel_dot(g3, d) if arrays else _channel_sum(g3 * d)
        sum_g = _channel_sum(g3) if needs[0] or self.has_bias and needs[-1] else None
        if needs[0]:
            a = rstd * params[0].reshape(1, c, 1) if self.has_weight else rstd
            inv = 1 / m
            k1 = a * rstd * rstd * sum_gd * -inv
            k0 = a * sum_g * -inv
            if arrays:  # dx = g a + d k1 + k0, in d's buffer where it can
                dx = g3 * a
                d *= k1
                d += k0
                dx += d
            else:
                dx = g3 * a + d * k1 + k0
            grads[0] = dx.reshape(x.shape)
        if self.has_weight and needs[3]:
            grads[3] = (sum_gd * rstd).reshape(params[0].shape)
        if self.has_bias and needs[-1]:
            grads[-1] = sum_g.reshape(params[-1].shape)
        return tuple(grads)


def batch_norm_train(x, weight=None, bias=None, eps=1e-5):
    """Batch norm with the batch statistics (training mode) as one node: returns (out, mean,
    var), mean and the biased var (C,) as constant tensors (for the running averages). x is
    (N, C, *) with N * prod(*) > 0; weight and bias (C,) or None, of x's dtype."""
    mean = constant_result(_batch_mean, x)
    var = constant_result(_batch_var, x, mean)
    params = tuple(t for t in (weight, bias) if t is not None)
    out = apply(BatchNorm(float(eps), weight is not None, bias is not None), x, mean, var,
                *params)
    return out, mean, var
