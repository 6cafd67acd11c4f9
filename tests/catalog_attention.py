"""Catalog entries for attention (ENTRIES: a list of tests/catalog.py Op): the fused
scaled_dot_product_attention primitive (autodiff.sequence, F.scaled_dot_product_attention) and
F.multi_head_attention_forward, with numpy references written from the formulas. Dropout is
random, so dropout_p stays 0 here (tests/nn/test_torch_attention.py checks it)."""
import numpy as np

import autodiff as ad
import nn.functional as F
from catalog import Op, fixed, np_softmax

_rng = np.random.default_rng(15)
BOOL_MASK = _rng.random((3, 4)) > 0.4
BOOL_MASK[0] = [True, False, False, False]
BOOL_MASK[2] = False  # a fully masked row: output 0 there, as PyTorch 2.13


def np_sdpa(q, k, v, mask=None, is_causal=False, scale=None, gqa=False):
    """softmax(q k^T * scale + mask) v, masked rows zero; k and v heads repeated with gqa"""
    if gqa:
        r = q.shape[-3] // k.shape[-3]
        k, v = np.repeat(k, r, axis=-3), np.repeat(v, r, axis=-3)
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if is_causal:
        mask = np.tril(np.ones(s.shape[-2:], bool))
    dead = np.zeros(s.shape[:-1] + (1,), bool)
    if mask is not None:
        if mask.dtype == bool:
            dead = dead | ~mask.any(-1, keepdims=True)
            mask = np.where(mask, 0.0, -np.inf)
        s = s + np.where(dead, 0.0, mask)
    return np.where(dead, 0.0, np_softmax(s, -1) @ v)


def np_mha(query, key, value, w_in, b_in, w_out, b_out, num_heads, need_weights=True,
           average=True, w_sep=None, bias_kv=None, zero_attn=False, kpm=None):
    """(L, N, E) inputs -> (output (L, N, E), weights): the textbook multi-head attention"""
    E = query.shape[-1]
    d = E // num_heads
    if w_sep is None:
        w_sep = np.split(w_in, 3)
    b = np.split(b_in, 3)
    q, k, v = (x @ w.T + bi for x, w, bi in zip((query, key, value), w_sep, b))
    if bias_kv is not None:
        n = query.shape[1]
        k = np.concatenate([k, np.broadcast_to(bias_kv[0], (1, n, E))])
        v = np.concatenate([v, np.broadcast_to(bias_kv[1], (1, n, E))])

    def heads(x):  # (S, N, E) -> (N, H, S, d)
        return x.reshape(x.shape[0], x.shape[1], num_heads, d).transpose(1, 2, 0, 3)
    q, k, v = heads(q), heads(k), heads(v)
    if zero_attn:
        z = np.zeros(k.shape[:2] + (1, d))
        k, v = np.concatenate([k, z], 2), np.concatenate([v, z], 2)
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(d)
    if kpm is not None:  # (N, S) True = padding
        kpm = np.pad(kpm, ((0, 0), (0, s.shape[-1] - kpm.shape[-1])))
        s = s + np.where(kpm, -np.inf, 0.0)[:, None, None, :]
    p = np_softmax(s, -1)
    out = (p @ v).transpose(2, 0, 1, 3).reshape(query.shape[0], query.shape[1], E)
    return out @ w_out.T + b_out, (p.mean(1) if average else p)


def _flat(out, weights):
    return ad.cat([out.reshape(-1), weights.reshape(-1)])


def _np_flat(out, weights):
    return np.concatenate([out.reshape(-1), weights.reshape(-1)])


# query, key, value (L=2, S=2, N=1, E=2), in_proj_weight, in_proj_bias, out_proj (2 heads)
_MHA_SHAPES = fixed((2, 1, 2), (2, 1, 2), (2, 1, 2), (6, 2), (6,), (2, 2), (2,))


def _mha(q, k, v, w_in, b_in, w_out, b_out, **kw):
    return F.multi_head_attention_forward(q, k, v, 2, 2, w_in, b_in, None, None, False, 0.0,
                                          w_out, b_out, **kw)


KPM = np.array([[False, True]])  # (N, S): the second key position is padding


def _mha_separate(q, k, v, wq, wk, wv, b_in, w_out, b_out, bk, bv):
    """kdim 1, vdim 1, bias_k/bias_v, add_zero_attn and a key padding mask, one head (the
    output only: through scaled_dot_product_attention)"""
    return F.multi_head_attention_forward(
        q, k, v, 2, 1, None, b_in, bk, bv, True, 0.0, w_out, b_out, key_padding_mask=KPM,
        need_weights=False, use_separate_proj_weight=True, q_proj_weight=wq, k_proj_weight=wk,
        v_proj_weight=wv)[0]


def _np_mha_separate(q, k, v, wq, wk, wv, b_in, w_out, b_out, bk, bv):
    return np_mha(q, k, v, None, b_in, w_out, b_out, 1, w_sep=(wq, wk, wv), bias_kv=(bk, bv),
                  zero_attn=True, kpm=KPM)[0]


ENTRIES = [
    Op("F.scaled_dot_product_attention", F.scaled_dot_product_attention, np_sdpa,
       fixed((1, 3, 2), (1, 4, 2), (1, 4, 2))),
    Op("F.scaled_dot_product_attention", lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=ad.tensor(BOOL_MASK)),
       lambda q, k, v: np_sdpa(q, k, v, BOOL_MASK), fixed((1, 3, 2), (1, 4, 2), (1, 4, 2)),
       label="bool mask with a fully masked row"),
    # (named for the primitive's module, so tests/test_rules.py also checks its rule)
    Op("attention.scaled_dot_product_attention",
       lambda q, k, v, m: ad.sequence.scaled_dot_product_attention(q, k, v, attn_mask=m),
       np_sdpa, fixed((1, 3, 2), (1, 4, 2), (1, 4, 2), (3, 4)), label="float mask, broadcast"),
    Op("F.scaled_dot_product_attention",
       lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.7),
       lambda q, k, v: np_sdpa(q, k, v, is_causal=True, scale=0.7),
       fixed((1, 3, 2), (1, 4, 2), (1, 4, 2)), label="is_causal, scale"),
    Op("F.scaled_dot_product_attention",
       lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
       lambda q, k, v: np_sdpa(q, k, v, gqa=True),
       fixed((1, 4, 2, 2), (1, 2, 2, 2), (1, 2, 2, 1)), label="enable_gqa"),
    Op("F.scaled_dot_product_attention", F.scaled_dot_product_attention, np_sdpa,
       fixed((2, 1, 2, 2), (1, 2, 3, 2), (2, 2, 3, 1)), label="broadcast batch dims"),
    Op("F.multi_head_attention_forward",
       lambda *xs: _flat(*_mha(*xs, average_attn_weights=False)),
       lambda *xs: _np_flat(*np_mha(*xs, 2, average=False)), _MHA_SHAPES, constants=(5, 6),
       label="explicit weights, per head"),  # (out_proj, a plain linear: constant here)
    Op("F.multi_head_attention_forward",
       lambda x, *ws: _mha(x, x, x, *ws, need_weights=False, training=False)[0],
       lambda x, *ws: np_mha(x, x, x, *ws, 2)[0],
       fixed((2, 2, 2), (6, 2), (6,), (2, 2), (2,)), constants=(3, 4),
       label="self-attention through sdpa"),
    Op("F.multi_head_attention_forward", _mha_separate, _np_mha_separate,
       fixed((2, 1, 2), (2, 1, 1), (2, 1, 1), (2, 2), (2, 1), (2, 1), (6,), (2, 2), (2,),
             (1, 1, 2), (1, 1, 2)),
       label="separate projections, bias_kv, zero attn, padding mask"),
]
for _op in ENTRIES:
    _op.slow = True  # (see Op.slow)
