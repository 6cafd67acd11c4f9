"""Attention: scaled_dot_product_attention (autodiff's fused primitive) and
multi_head_attention_forward (MultiheadAttention's computation, torch's sequence-first layout)."""
import math
import warnings

import autodiff as ad
from autodiff import sequence
from nn.functional._util import _tensor
from nn.functional.dropout import dropout

__all__ = ['scaled_dot_product_attention', 'multi_head_attention_forward']


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, *, scale=None, enable_gqa=False):
    """softmax(q k^T * scale + mask) v over the last two dims, dropout_p on the weights (always
    applied, as torch's functional); q (N, ..., L, E), k (N, ..., S, E), v (N, ..., S, Ev)"""
    return sequence.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p,
                                                   is_causal, scale=scale, enable_gqa=enable_gqa)


# --- multi-head attention ------------------------------------------------------------------------

def _canonical_mask(mask, name, other, other_name, dtype):
    """A bool mask (True = masked out) as a float mask of 0 / -inf in dtype; float masks as
    they are."""
    if mask is None:
        return None
    mask = _tensor(mask, "multi_head_attention_forward", name)
    if mask.dtype != bool and mask.dtype.kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported, got "
                             f"{mask.dtype}")
    if other is not None and mask.dtype != other.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same "
                      f"type for both instead.", stacklevel=3)
    if mask.dtype == bool:
        return ad.zeros(mask.shape, dtype=dtype).masked_fill(mask, float("-inf"))
    return mask


def _shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """Whether the input is batched (3-D query) or not (2-D), the other ranks checked."""
    q, k, v = query.ndim, key.ndim, value.ndim
    if q not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                             f"{q}-D query tensor (shape {tuple(query.shape)})")
    kind = "batched (3-D)" if q == 3 else "unbatched (2-D)"
    if k != q or v != q:
        raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be {q}-D but "
                             f"found {k}-D and {v}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.ndim != q - 1:
        raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or "
                             f"{q - 1}-D but found {key_padding_mask.ndim}-D tensor instead")
    if attn_mask is not None:
        if attn_mask.ndim not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or "
                                 f"3-D but found {attn_mask.ndim}-D tensor instead")
        if q == 2 and attn_mask.ndim == 3:
            expected = (num_heads, query.shape[0], key.shape[0])
            if tuple(attn_mask.shape) != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                     f"{tuple(attn_mask.shape)}")
    return q == 3


def _project(query, key, value, in_proj_weight, in_proj_bias, separate, weights):
    """q, k, v: the input projections (packed in_proj_weight (3E, E), or q/k/v_proj_weight)."""
    E = query.shape[-1]
    if not separate:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        b = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
        if key is value:
            if query is key:  # self-attention: one product with the packed weight
                return ad.linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
            w_q, w_kv = in_proj_weight[:E], in_proj_weight[E:]
            b_kv = None if in_proj_bias is None else in_proj_bias[E:]
            k, v = ad.linear(key, w_kv, b_kv).chunk(2, -1)
            return ad.linear(query, w_q, b[0]), k, v
        w = in_proj_weight.chunk(3)
        return tuple(ad.linear(x, wi, bi) for x, wi, bi in zip((query, key, value), w, b))
    for name, w in zip(("q", "k", "v"), weights):
        if w is None:
            raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is "
                                 f"None")
    b = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
    for x, w, bi, name in zip((query, key, value), weights, b, ("q", "k", "v")):
        if tuple(w.shape) != (E, x.shape[-1]):
            raise AssertionError(f"expecting {name} weight of shape {(E, x.shape[-1])}, but got "
                                 f"{tuple(w.shape)}")
        if bi is not None and tuple(bi.shape) != (E,):
            raise AssertionError(f"expecting {name} bias of shape {(E,)}, but got "
                                 f"{tuple(bi.shape)}")
    return tuple(ad.linear(x, w, bi) for x, w, bi in zip((query, key, value), weights, b))


def _heads(x, bsz, num_heads, head_dim, sd):
    """(S, N, E) (sd = 0) or (N, S, E) (sd = 1) -> (N, H, S, head_dim)"""
    if sd:
        return x.reshape(bsz, x.shape[1], num_heads, head_dim).permute(0, 2, 1, 3)
    return x.reshape(x.shape[0], bsz, num_heads, head_dim).permute(1, 2, 0, 3)


def _static(t, name, bsz, num_heads, head_dim):
    """static_k / static_v (N * H, S, head_dim) -> (N, H, S, head_dim)"""
    t = _tensor(t, "multi_head_attention_forward", name)
    if t.ndim != 3 or t.shape[0] != bsz * num_heads:
        raise AssertionError(f"expecting {name}.size(0) of {bsz * num_heads}, but got "
                             f"{t.shape[0] if t.ndim else t.shape} (shape {tuple(t.shape)})")
    if t.shape[2] != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {t.shape[2]}")
    return t.reshape(bsz, num_heads, t.shape[1], head_dim)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """out = concat_h(softmax(q_h k_h^T / sqrt(d) + mask) v_h) W_o^T + b_o, with q, k, v the
    input projections split into heads; query (L, N, E) or (L, E) -> (output, weights or None)"""
    return _multi_head_attention(
        query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias, bias_k,
        bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training,
        key_padding_mask, need_weights, attn_mask, use_separate_proj_weight, q_proj_weight,
        k_proj_weight, v_proj_weight, static_k, static_v, average_attn_weights, is_causal)


def _multi_head_attention(query, key, value, embed_dim_to_check, num_heads, in_proj_weight,
                          in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
                          out_proj_weight, out_proj_bias, training, key_padding_mask,
                          need_weights, attn_mask, use_separate_proj_weight, q_proj_weight,
                          k_proj_weight, v_proj_weight, static_k, static_v,
                          average_attn_weights, is_causal, batch_first=False):
    """multi_head_attention_forward; batch_first=True takes batched (N, L, E) inputs as they
    are and returns (N, L, E) (MultiheadAttention(batch_first=True): no transposed copies)"""
    op = "multi_head_attention_forward"
    query, key, value = (_tensor(x, op, n) for x, n in ((query, "query"), (key, "key"),
                                                          (value, "value")))
    if key_padding_mask is not None:
        key_padding_mask = _tensor(key_padding_mask, op, "key_padding_mask")
    if attn_mask is not None:
        attn_mask = _tensor(attn_mask, op, "attn_mask")
    is_batched = _shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        same_qk, same_kv = query is key, key is value  # (kept: the packed projection)
        query = query.unsqueeze(1)
        key = query if same_qk else key.unsqueeze(1)
        value = key if same_kv else value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    sd = 1 if batch_first and is_batched else 0  # the sequence dim (the batch dim is 1 - sd)
    tgt_len, bsz, embed_dim = query.shape[sd], query.shape[1 - sd], query.shape[2]
    src_len = key.shape[sd]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", attn_mask,
                                       "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # sdpa's is_causal stands in for the (causal) mask given
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not "
                                 f"match value's {tuple(value.shape[:2])}")
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                             f"{tuple(value.shape)}")
    q, k, v = _project(query, key, value, in_proj_weight, in_proj_bias,
                       use_separate_proj_weight, (q_proj_weight, k_proj_weight, v_proj_weight))

    # masks as (N or 1, H or 1, L, S), added to the scores
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.reshape(1, 1, tgt_len, src_len)
        else:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(bsz * num_heads, tgt_len, src_len)}.")
            attn_mask = attn_mask.reshape(bsz, num_heads, tgt_len, src_len)
    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        one = (bsz, 1, embed_dim) if sd else (1, bsz, embed_dim)
        k = ad.cat([k, bias_k.reshape(1, 1, embed_dim).expand(*one)], sd)
        v = ad.cat([v, bias_v.reshape(1, 1, embed_dim).expand(*one)], sd)
        if attn_mask is not None:
            attn_mask = ad.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = ad.pad(key_padding_mask, (0, 1))
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")
    q = _heads(q, bsz, num_heads, head_dim, sd)
    k = _heads(k, bsz, num_heads, head_dim, sd) if static_k is None else \
        _static(static_k, "static_k", bsz, num_heads, head_dim)
    v = _heads(v, bsz, num_heads, head_dim, sd) if static_v is None else \
        _static(static_v, "static_v", bsz, num_heads, head_dim)
    if add_zero_attn:
        k = ad.cat([k, ad.zeros(bsz, num_heads, 1, head_dim, dtype=k.dtype)], 2)
        v = ad.cat([v, ad.zeros(bsz, num_heads, 1, head_dim, dtype=v.dtype)], 2)
        if attn_mask is not None:
            attn_mask = ad.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = ad.pad(key_padding_mask, (0, 1))
    src_len = k.shape[2]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"Expected key_padding_mask of shape {(bsz, src_len)} (batch, "
                                 f"source length), but got {tuple(key_padding_mask.shape)}")
        key_padding_mask = key_padding_mask.reshape(bsz, 1, 1, src_len)
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0

    if need_weights:  # the weights explicitly, to return them (after dropout, as torch)
        scores = (q * math.sqrt(1.0 / head_dim)) @ k.swapaxes(-1, -2)
        if attn_mask is not None:
            if attn_mask.dtype != scores.dtype:  # (torch's baddbmm refuses it too)
                raise RuntimeError(f"multi_head_attention_forward: a float attn_mask or "
                                   f"key_padding_mask of dtype {attn_mask.dtype} does not match "
                                   f"the query's dtype {scores.dtype}; convert the mask with "
                                   f".to({scores.dtype})")
            scores = scores + attn_mask
        weights = ad.softmax(scores, -1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = weights @ v
        if average_attn_weights:
            weights = weights.mean(dim=1)
    else:
        out = sequence.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
        weights = None
    out = out.permute(0, 2, 1, 3).reshape(bsz, tgt_len, embed_dim) if sd else \
        out.permute(2, 0, 1, 3).reshape(tgt_len, bsz, embed_dim)
    out = ad.linear(out, out_proj_weight, out_proj_bias)
    if not is_batched:
        out = out.squeeze(1)
        if weights is not None:
            weights = weights.squeeze(0)
    return out, weights
