"""Scaled dot-product attention as one fused primitive.

out = dropout(softmax(q k^T * scale + mask)) @ v over the last two dims, with PyTorch's argument
handling (batch broadcasting, bool or float masks, is_causal, enable_gqa). The primitive sees
q, k, v of one batch shape and an additive float mask (or none); the public function turns bool
masks, causal masks and grouped heads into that form with recorded ops, so broadcasting and head
repetition are differentiated by their own primitives (DESIGN rule 3).
"""
import math
import numbers

import numpy as np

from .. import random as _random
from ..compiler import replayed
from ..function import Node, apply
from ..tensor import Tensor
from ._operands import broadcast_shapes, tensor_arg
from ._sums import column_sums
from .broadcast import broadcast_to
from .layout import repeat_interleave
from .reduce import Softmax

__all__ = ["scaled_dot_product_attention"]


def _mT(x):
    return x.swapaxes(-1, -2)


def _weights(q, k, mask, scale):
    """P = softmax(q k^T * scale + mask) along the last dim, on arrays or as recorded ops."""
    s = (q * scale) @ _mT(k)
    if mask is not None:
        s = s + mask
    return Softmax.apply(s, dim=(-1,))


def _transposed(a):
    """a (..., m, n) as a C-contiguous (..., n, m) array: numpy's stacked matmul is ~2x slower
    with a transposed second operand than a copy and a contiguous product"""
    return np.ascontiguousarray(_mT(a))


class ScaledDotProductAttention(Node):
    """out = (P * D) v, P = softmax(q k^T s + m), D the dropout multiplier (or 1);
    dv = (P D)^T g, dS = P (dP - rowsum(dP P)) with dP = (g v^T) D, dq = dS k s, dk = dS^T q s,
    dm = dS.

    On arrays the weights are kept transposed, P^T (..., S, L): the softmax then reduces over
    axis -2, which numpy vectorises across the contiguous last axis (the max along the last
    axis of 64-wide rows costs 3.5x more), and every product takes its operands in a layout
    numpy hands to BLAS directly."""
    __slots__ = ("scale", "dropout_p", "_drop", "probs")
    saved = ("probs", "_drop")

    def __init__(self, scale, dropout_p=0.0, drop=None):
        self.scale, self.dropout_p, self._drop = scale, dropout_p, drop

    def forward(self, q, k, v, mask=None):
        qs = np.empty(q.shape[:-2] + (q.shape[-1], q.shape[-2]), q.dtype)
        np.multiply(_mT(q), self.scale, out=qs)  # (q s)^T, contiguous
        pt = np.matmul(k, qs)  # the scores transposed, (..., S, L)
        if mask is not None:  # (the masks reaching here broadcast to the scores' shape)
            mt = _mT(mask.reshape((1,) * (2 - mask.ndim) + mask.shape))
            if mt.size < pt.size:  # a broadcast mask: transposed once into a contiguous copy,
                mt = np.ascontiguousarray(mt)  # which halves the cost of the add
            pt += mt
        pt -= pt.max(axis=-2, keepdims=True)  # stable softmax over S, in place
        np.exp(pt, out=pt)
        pt /= column_sums(pt)[..., None, :]
        self.probs = pt
        return np.matmul(_mT(pt if self._drop is None else pt * _mT(self._drop)), v)

    def backward(self, g, out, q, k, v, mask=None):
        if isinstance(q, Tensor):
            return self._recorded_backward(g, q, k, v, mask)
        need, drop, pt = self.needs_input_grad, self._drop, self.probs
        gv = np.matmul(pt if drop is None else pt * _mT(drop), g) if need[2] else None
        if not (need[0] or need[1] or (mask is not None and need[3])):
            return (None, None, gv) if mask is None else (None, None, gv, None)
        dpt = np.matmul(v, _transposed(g))  # dP^T (..., S, L)
        if drop is not None:
            dpt *= _mT(drop)
        dst = dpt
        dst -= column_sums(dpt * pt)[..., None, :]
        dst *= pt  # dS^T
        gm = np.ascontiguousarray(_mT(dst)) if mask is not None and need[3] else None
        if need[0] or need[1]:
            dst *= self.scale
        gq = np.matmul(_mT(dst), k) if need[0] else None
        gk = np.matmul(dst, q) if need[1] else None
        return (gq, gk, gv) if mask is None else (gq, gk, gv, gm)

    def _recorded_backward(self, g, q, k, v, mask):
        """The same rule as recorded ops of the inputs (create_graph): the weights recomputed,
        so that the recorded rule differentiates through them (second order)"""
        need, drop = self.needs_input_grad, self._drop
        p = _weights(q, k, mask, self.scale)
        gv = _mT(p if drop is None else p * drop) @ g if need[2] else None
        if not (need[0] or need[1] or (mask is not None and need[3])):
            return (None, None, gv) if mask is None else (None, None, gv, None)
        dp = g @ _mT(v)
        if drop is not None:
            dp = dp * drop
        ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
        gq = (ds @ k) * self.scale if need[0] else None
        gk = (_mT(ds) @ q) * self.scale if need[1] else None
        if mask is None:
            return gq, gk, gv
        return gq, gk, gv, (ds if need[3] else None)


# --- the public function ------------------------------------------------------------------------

_OP = "scaled_dot_product_attention"


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise RuntimeError(f"{_OP}: dropout probability has to be between 0 and 1, but got "
                           f"{p!r} (dropout_p is the probability of dropping a weight)")
    return float(p)


def _operands(query, key, value):
    q, k, v = (tensor_arg(t, _OP, n) for t, n in ((query, "query"), (key, "key"),
                                                     (value, "value")))
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise RuntimeError(f"{_OP}: expected query, key and value to be at least 2-dimensional "
                           f"((..., L, E), (..., S, E), (..., S, Ev)), got shapes "
                           f"{tuple(q.shape)}, {tuple(k.shape)} and {tuple(v.shape)}")
    if not q.dtype == k.dtype == v.dtype:
        raise RuntimeError(f"{_OP}: expected query, key and value to have the same dtype, got "
                           f"{q.dtype}, {k.dtype} and {v.dtype}; convert them with .to(dtype)")
    if q.dtype.kind != "f":
        raise RuntimeError(f"{_OP}: expected floating-point query, key and value, got dtype "
                           f"{q.dtype}; convert them with .float()")
    if k.shape[-1] != q.shape[-1]:
        raise RuntimeError(f"{_OP}: key's embedding size {k.shape[-1]} differs from query's "
                           f"{q.shape[-1]} (query {tuple(q.shape)}, key {tuple(k.shape)}); "
                           f"both must be (..., E)")
    if v.shape[-2] != k.shape[-2]:
        raise RuntimeError(f"{_OP}: value has {v.shape[-2]} positions but key has "
                           f"{k.shape[-2]} (key {tuple(k.shape)}, value {tuple(v.shape)}); "
                           f"they must be (..., S, E) and (..., S, Ev)")
    return q, k, v


def _grouped(q, k, v):
    """k and v with their heads (dim -3) repeated to the query's (grouped-query attention)."""
    if q.ndim < 3 or k.ndim < 3 or v.ndim < 3:
        return k, v
    hq, hk, hv = q.shape[-3], k.shape[-3], v.shape[-3]
    if not hk or not hv or hq % hk or hq % hv:
        raise RuntimeError(f"{_OP}: with enable_gqa=True the number of heads in key and in "
                           f"value must each divide the number of heads in query; got query "
                           f"{tuple(q.shape)}, key {tuple(k.shape)}, value {tuple(v.shape)} "
                           f"(heads at dim -3)")
    if hq != hk:  # (each repeated on its own, as PyTorch)
        k = repeat_interleave(k, hq // hk, dim=-3)
    if hq != hv:
        v = repeat_interleave(v, hq // hv, dim=-3)
    return k, v


def _batch(q, k, v):
    """q, k, v broadcast to one batch shape (all dims but the last two)."""
    batch = broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])  # (None: they do not)
    if batch is None:
        raise RuntimeError(f"{_OP}: the batch dims of query {tuple(q.shape)}, key "
                           f"{tuple(k.shape)} and value {tuple(v.shape)} do not broadcast "
                           f"(all dims but the last two must match or be 1); with fewer key "
                           f"and value heads than query heads pass enable_gqa=True")
    return tuple(t if t.shape[:-2] == batch else broadcast_to(t, batch + t.shape[-2:])
                 for t in (q, k, v)), batch


def _mask(attn_mask, is_causal, q, batch, L, S):
    """(additive float mask or None, dead-row keep multiplier or None): a bool mask becomes 0 /
    -inf; rows where every position is masked get 0 in the mask and 0 in the multiplier, so
    their output is 0 (PyTorch 2.13 returns zeros there, not NaN)."""
    full = batch + (L, S)
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(f"{_OP}: an explicit attn_mask must not be given with "
                               f"is_causal=True; pass one or the other (is_causal is the "
                               f"lower-triangular mask, aligned top-left)")
        attn_mask = np.tril(np.ones((L, S), dtype=bool))
    if attn_mask is None:
        return None, None
    m = tensor_arg(attn_mask, _OP, "attn_mask")
    if m.dtype != np.bool_ and m.dtype.kind != "f":
        raise RuntimeError(f"{_OP}: attn_mask must be bool (True = take part) or float (added "
                           f"to the scores), got dtype {m.dtype}")
    if m.dtype.kind == "f" and m.dtype not in (np.float32, q.dtype):  # (as PyTorch)
        raise RuntimeError(f"{_OP}: a float attn_mask must have the query's dtype {q.dtype} "
                           f"(or float32), got {m.dtype}; convert it with .to({q.dtype})")
    if broadcast_shapes(m.shape, full) != full:
        raise RuntimeError(f"{_OP}: attn_mask of shape {tuple(m.shape)} does not broadcast to "
                           f"the attention weights' shape {full} (batch..., L, S)")
    if m.dtype == np.bool_:
        allowed = m.data
        dead = ~allowed.any(axis=-1, keepdims=True)
        add = np.where(allowed | dead, 0.0, -np.inf).astype(q.dtype)
        return Tensor._const(add), (Tensor._const((~dead).astype(q.dtype))
                                    if dead.any() else None)
    if m.dtype != q.dtype:
        m = m.to(q.dtype)
    dead = np.all(np.isneginf(m.data), axis=-1, keepdims=True)
    keep = None
    if dead.any():
        m = m.masked_fill(Tensor._const(dead), 0.0)
        keep = Tensor._const((~dead).astype(q.dtype))
    if m.requires_grad and m.shape != full:
        m = broadcast_to(m, full)  # the rule's mask gradient has the weights' shape
    return m, keep


@replayed
def _dropout_scale(shape, p, dtype, generator):
    """The attention weights' dropout: kept entries scaled by 1 / (1 - p), a fresh draw each
    call (compiled or not)."""
    rng = (generator or _random.default_generator).rng
    drop = (rng.random(shape) >= p) / (1.0 - p) if p < 1.0 else np.zeros(shape)
    return drop.astype(dtype)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, *, scale=None, enable_gqa=False,
                                 generator=None):
    """softmax(q k^T * scale + mask) v, dropout on the weights; q (..., L, E), k (..., S, E),
    v (..., S, Ev) -> (..., L, Ev)"""
    q, k, v = _operands(query, key, value)
    p = _check_p(dropout_p)
    if enable_gqa:
        k, v = _grouped(q, k, v)
    (q, k, v), batch = _batch(q, k, v)
    L, S = q.shape[-2], k.shape[-2]
    mask, keep = _mask(attn_mask, is_causal, q, batch, L, S)
    if scale is not None:
        s = float(scale)
    else:  # (no embedding dims: every score is 0 whatever the scale)
        s = 1.0 / math.sqrt(q.shape[-1]) if q.shape[-1] else 1.0
    drop = None
    if p > 0.0:
        drop = _dropout_scale(batch + (L, S), p, q.dtype, generator)
    if S == 0:  # nothing to attend to: zeros, as PyTorch (through an empty product)
        return (q @ k.swapaxes(-1, -2)) @ v
    node = ScaledDotProductAttention(s, p, drop)
    out = apply(node, q, k, v) if mask is None else apply(node, q, k, v, mask)
    return out if keep is None else out * keep
