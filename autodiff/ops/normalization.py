"""Normalisation primitives: layer norm as one node (nn.functional.layer_norm calls it)."""
import math

import numpy as np

from ..function import apply, Node

__all__ = ["layer_norm"]


def _normalized(x2, k, eps):
    """(xhat, rstd) of the rows of a 2-D x2 (m, k): xhat = (x - mean) * rstd,
    rstd = (var + eps) ** -0.5 with the biased variance; on arrays or recorded on tensors"""
    inv = 1 / k if k else 0.0  # (no elements to normalise: any statistics will do)
    centred = x2 - x2.sum(axis=1, keepdims=True) * inv
    rstd = ((centred * centred).sum(axis=1, keepdims=True) * inv + eps) ** -0.5
    return centred * rstd, rstd


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
        self.xhat, self.rstd = _normalized(x.reshape(m, k), k, self.eps)
        out = self.xhat * params[0].reshape(k) if self.has_weight else self.xhat.copy()
        if self.has_bias:
            out += params[-1].reshape(k)
        return out.reshape(x.shape)

    def backward(self, g, out, x, *params):
        m, k = self._rows(x.shape)
        if type(x) is np.ndarray:
            xhat, rstd = self.xhat, self.rstd
        else:  # a recorded pass: the statistics as recorded functions of x, for higher orders
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
