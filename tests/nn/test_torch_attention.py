"""Attention against PyTorch: F.scaled_dot_product_attention (every option, batch broadcasting,
values and first/second order gradients of q, k, v and a float mask, fully masked rows, dropout
statistics), F.multi_head_attention_forward and nn.MultiheadAttention with state_dicts copied
from torch (every option, outputs, weights, input and parameter gradients), reprs, init and
error classes and messages."""
import math

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from autodiff.testing import gradcheck, gradgradcheck

from _torch import assert_close, convert_state, require_torch, run_outputs, same_error, to_torch

torch = require_torch()
TF = torch.nn.functional
R = np.random.default_rng(15)


def randn(*shape, dtype=np.float64):
    return R.standard_normal(shape).astype(dtype)


def lib_f(lib):
    return TF if lib is torch else F


# --- scaled_dot_product_attention ----------------------------------------------------------------

def _bool_mask(shape, dead_row=None):
    m = R.random(shape) > 0.4
    m[..., 0] = True
    if dead_row is not None:
        m[..., dead_row, :] = False
    return m


# (name, shapes of q, k, v, mask (or None), keyword arguments)
SDPA_CASES = [
    ("plain", (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), None, {}),
    ("unbatched 2-d", (4, 5), (6, 5), (6, 7), None, {}),
    ("batch dims broadcast", (2, 1, 4, 5), (1, 3, 6, 5), (2, 3, 6, 7), None, {}),
    ("bool mask (L, S)", (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), "bool", {}),
    ("float mask (H, L, S) with grad", (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), (3, 4, 6), {}),
    ("float mask full shape", (2, 4, 5), (2, 6, 5), (2, 6, 7), (2, 4, 6), {}),
    ("is_causal L < S", (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), None, {"is_causal": True}),
    ("is_causal L > S", (2, 6, 5), (2, 4, 5), (2, 4, 3), None, {"is_causal": True}),
    ("scale", (2, 4, 5), (2, 6, 5), (2, 6, 7), (4, 6), {"scale": 0.37}),
    ("enable_gqa", (2, 6, 4, 5), (2, 2, 6, 5), (2, 2, 6, 3), None, {"enable_gqa": True}),
    ("enable_gqa, equal heads", (2, 2, 4, 5), (2, 2, 6, 5), (2, 2, 6, 3), None,
     {"enable_gqa": True}),
]


def _sdpa_arrays(qs, ks, vs, ms, dtype=np.float64):
    arrays = [randn(*qs, dtype=dtype), randn(*ks, dtype=dtype), randn(*vs, dtype=dtype)]
    if ms == "bool":
        arrays.append(_bool_mask(qs[-2:-1] + ks[-2:-1]))
    elif ms is not None:
        arrays.append(randn(*ms, dtype=dtype))
    return arrays


def _sdpa(kw):
    def fn(lib, q, k, v, m=None):
        return lib_f(lib).scaled_dot_product_attention(q, k, v, attn_mask=m, **kw)
    return fn


@pytest.mark.parametrize("case", SDPA_CASES, ids=[c[0] for c in SDPA_CASES])
def test_sdpa_matches_torch_float64(case):
    _, qs, ks, vs, ms, kw = case
    run_outputs(torch, _sdpa(kw), *_sdpa_arrays(qs, ks, vs, ms), tol=1e-12)


@pytest.mark.parametrize("case", [SDPA_CASES[i] for i in (0, 3, 4, 6, 9)],
                         ids=[SDPA_CASES[i][0] for i in (0, 3, 4, 6, 9)])
def test_sdpa_matches_torch_float32(case):
    _, qs, ks, vs, ms, kw = case
    ours, _ = run_outputs(torch, _sdpa(kw), *_sdpa_arrays(qs, ks, vs, ms, np.float32),
                          tol=2e-5)
    assert ours[0].dtype == np.float32


def test_sdpa_key_mask_of_one_dim_broadcasts_as_numpy():
    """A (S,) mask broadcasts over every query row (numpy's rule; torch asks for (1, S)): the
    same outputs and gradients as torch given the (1, S) mask, and finite differences agree
    with the fused rule (transposed scores) and with its recorded form (second order)."""
    q, k, v, m = randn(2, 3, 4, 5), randn(2, 3, 6, 5), randn(2, 3, 6, 7), randn(6)
    results = {}
    for lib in (ad, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in (q, k, v)]
        mask = lib.tensor(m if lib is ad else m.reshape(1, 6))
        out = lib_f(lib).scaled_dot_product_attention(*ts, attn_mask=mask)
        out.backward(lib.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape))))
        results[lib] = [out.detach().numpy()] + [t.grad.numpy() for t in ts]
    for ours, theirs in zip(results[ad], results[torch]):
        assert_close(ours, theirs, tol=1e-12)
    small = [ad.tensor(a[:1, :1], requires_grad=True) for a in (q, k, v)]

    def attend(*ts):
        return F.scaled_dot_product_attention(*ts, attn_mask=ad.tensor(m))
    assert gradcheck(attend, small) and gradgradcheck(attend, small)


def test_sdpa_second_order_matches_torch():
    run_outputs(torch, _sdpa({}), *_sdpa_arrays((2, 3, 4), (2, 5, 4), (2, 5, 2), (3, 5)),
                second_order=True, tol=1e-10)
    run_outputs(torch, _sdpa({"is_causal": True}),
                *_sdpa_arrays((1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 2), None),
                second_order=True, tol=1e-10)


def test_sdpa_fully_masked_rows_give_zeros_as_torch():
    """torch 2.13 (CPU) returns 0 for a query row that may attend to nothing, bool mask or
    float -inf mask alike; no NaN reaches the gradients."""
    q, k, v = randn(2, 4, 3), randn(2, 5, 3), randn(2, 5, 2)
    m = _bool_mask((4, 5), dead_row=1)
    ours, _ = run_outputs(torch, _sdpa({}), q, k, v, m, tol=1e-12)
    assert np.all(ours[0].data[:, 1] == 0)
    fm = np.where(m, 0.0, -np.inf)
    fm[2, 3] = 0.5
    ours, _ = run_outputs(torch, lambda lib, q, k, v: lib_f(lib).scaled_dot_product_attention(
        q, k, v, attn_mask=lib.tensor(fm)), q, k, v, tol=1e-12)
    assert np.all(ours[0].data[:, 1] == 0)
    # a float mask requiring grad: zero gradient on the dead row
    mt = ad.tensor(fm, requires_grad=True)
    F.scaled_dot_product_attention(ad.tensor(q), ad.tensor(k), ad.tensor(v),
                                   attn_mask=mt).sum().backward()
    assert np.all(mt.grad.data[1] == 0) and np.all(np.isfinite(mt.grad.data))


def test_sdpa_dropout_mask_scale_and_statistics():
    """With v = I the output is the weights times the dropout multiplier: each entry 0 or
    softmax / (1 - p); about p of them dropped; the mean over draws tends to no dropout."""
    p, L, S = 0.3, 6, 8
    q, k = ad.tensor(randn(50, L, 4)), ad.tensor(randn(50, S, 4))
    v = ad.tensor(np.broadcast_to(np.eye(S), (50, S, S)).copy())
    ad.manual_seed(0)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=p).data
    full = F.scaled_dot_product_attention(q, k, v).data
    ratio = out / full
    kept = ratio > 0
    np.testing.assert_allclose(ratio[kept], 1 / (1 - p), rtol=1e-12)
    assert abs((~kept).mean() - p) < 0.03
    mean = np.mean([F.scaled_dot_product_attention(q, k, v, dropout_p=p).data
                    for _ in range(60)], axis=0)
    assert abs((mean - full).mean()) < 0.01
    # seeded: the same draw twice; p = 1 drops everything (torch gives zeros too)
    ad.manual_seed(0)
    np.testing.assert_array_equal(F.scaled_dot_product_attention(q, k, v, dropout_p=p).data,
                                  out)
    assert not F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).data.any()
    assert not TF.scaled_dot_product_attention(*map(to_torch, (q, k, v)), dropout_p=1.0).any()


def test_sdpa_dropout_gradients_use_the_same_mask():
    qkv = [ad.tensor(randn(*s), requires_grad=True) for s in ((2, 3, 2), (2, 4, 2), (2, 4, 3))]

    def fn(q, k, v):
        ad.manual_seed(7)  # one dropout mask for every evaluation
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    assert gradcheck(fn, qkv)
    # second order through the recorded rule (the mask is kept with the node)
    assert gradgradcheck(fn, qkv)


def test_sdpa_float_mask_of_another_dtype_keeps_its_dtype_in_the_gradient():
    q, k, v = randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 2)
    ours, theirs = run_outputs(torch, _sdpa({}), q, k, v, randn(3, 5, dtype=np.float32),
                               tol=1e-6)
    assert ours[0].dtype == np.float64


def test_sdpa_empty_key_sequence_gives_zeros_as_torch():
    ours, _ = run_outputs(torch, _sdpa({}), randn(2, 3, 4), randn(2, 0, 4), randn(2, 0, 5))
    assert ours[0].shape == (2, 3, 5) and not ours[0].data.any()


def test_sdpa_gqa_repeats_key_and_value_heads_separately():
    """Key and value may have different head counts, each dividing the query's (as torch)."""
    gqa = _sdpa({"enable_gqa": True})
    run_outputs(torch, gqa, randn(1, 4, 2, 3), randn(1, 2, 5, 3), randn(1, 1, 5, 2),
                second_order=True, tol=1e-12)


def test_sdpa_without_embedding_dims_averages_the_values():
    v = randn(1, 3, 2)
    ours, _ = run_outputs(torch, _sdpa({}), randn(1, 2, 0), randn(1, 3, 0), v)
    np.testing.assert_allclose(ours[0].detach().numpy(), np.repeat(v.mean(1, keepdims=True), 2, 1))


def test_sdpa_scale_and_enable_gqa_are_keyword_only():
    def positional(lib):
        q = lib.ones(1, 2, 3)
        return lib_f(lib).scaled_dot_product_attention(q, q, q, None, 0.0, False, 0.5)
    same_error(torch, positional)
    with pytest.raises(TypeError):
        positional(ad)


def test_softmax_over_an_empty_dim_is_empty_as_torch():
    for fn in ("softmax", "log_softmax"):
        ours, _ = run_outputs(torch, lambda lib, x: getattr(lib_f(lib), fn)(x, -1), randn(2, 0))
        assert ours[0].shape == (2, 0)


def test_sdpa_needs_no_gradient_for_constant_inputs():
    q = ad.tensor(randn(2, 3, 4), requires_grad=True)
    k, v = ad.tensor(randn(2, 5, 4)), ad.tensor(randn(2, 5, 2))
    out = F.scaled_dot_product_attention(q, k, v)
    out.sum().backward()
    assert q.grad is not None and k.grad is None and v.grad is None
    with ad.no_grad():
        assert not F.scaled_dot_product_attention(q, k, v).requires_grad


SDPA_ERRORS = [
    ("mask with is_causal", lambda lib, q, k, v: lib_f(lib).scaled_dot_product_attention(
        q, k, v, attn_mask=lib.ones(4, 6, dtype=lib.bool), is_causal=True),
     "attn_mask must not be given with is_causal"),
    ("gqa heads do not divide", lambda lib, q, k, v: lib_f(lib).scaled_dot_product_attention(
        q, k[:, :2], v[:, :2], enable_gqa=True), "divide the number of heads"),
    ("fewer heads without gqa", lambda lib, q, k, v: lib_f(lib).scaled_dot_product_attention(
        q, k[:, :2], v[:, :2]), "do not broadcast"),
    ("dtypes differ", lambda lib, q, k, v: lib_f(lib).scaled_dot_product_attention(
        q, k.float(), v), "same dtype"),
    ("integer mask", lambda lib, q, k, v: lib_f(lib).scaled_dot_product_attention(
        q, k, v, attn_mask=lib.zeros(4, 6, dtype=lib.int64)), "bool .* or float"),
    ("mask shape", lambda lib, q, k, v: lib_f(lib).scaled_dot_product_attention(
        q, k, v, attn_mask=lib.ones(4, 5, dtype=lib.bool)), r"\(4, 5\) does not broadcast"),
    ("value length", lambda lib, q, k, v: lib_f(lib).scaled_dot_product_attention(
        q, k, v[..., :5, :]), "value has 5 positions but key has 6"),
    ("embedding size", lambda lib, q, k, v: lib_f(lib).scaled_dot_product_attention(
        q, k[..., :4], v), "key's embedding size 4 differs from query's 5"),
    ("1-d", lambda lib, q, k, v: lib_f(lib).scaled_dot_product_attention(
        q[0, 0, 0], k[0, 0, 0], v[0, 0, 0]), "at least 2-dimensional"),
    ("dropout_p", lambda lib, q, k, v: lib_f(lib).scaled_dot_product_attention(
        q, k, v, dropout_p=1.5), "between 0 and 1"),
]


@pytest.mark.parametrize("case", SDPA_ERRORS, ids=[c[0] for c in SDPA_ERRORS])
def test_sdpa_errors_match_torch(case):
    _, fn, message = case
    arrays = randn(2, 3, 4, 5), randn(2, 3, 6, 5), randn(2, 3, 6, 7)
    same_error(torch, lambda lib: fn(lib, *(lib.tensor(a) for a in arrays)))
    with pytest.raises(RuntimeError, match=message):
        fn(ad, *(ad.tensor(a) for a in arrays))


# --- MultiheadAttention --------------------------------------------------------------------------

def _pair_modules(dtype=np.float64, **kw):
    """(ours, torch's) with torch's parameters copied into ours."""
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(**kw).to(
        torch.float64 if dtype == np.float64 else torch.float32)
    ours = nn.MultiheadAttention(**kw, dtype=dtype)
    ours.load_state_dict(convert_state(theirs.state_dict(), ad))
    return ours, theirs


def _compare_modules(ours, theirs, arrays, masks=(), call=None, tol=1e-12, self_attn=False):
    """Same outputs and weights, then the input and parameter gradients of one random
    weighting of both outputs."""
    call = call or {}
    ad_in = [ad.tensor(a, requires_grad=True) for a in arrays]
    t_in = [to_torch(a, requires_grad=True) for a in arrays]
    if self_attn:
        ad_in, t_in = ad_in * 3, t_in * 3
    ad_m = {k: ad.tensor(m) for k, m in masks}
    t_m = {k: to_torch(m) for k, m in masks}
    out, w = ours(*ad_in, **ad_m, **call)
    tout, tw = theirs(*t_in, **t_m, **call)
    assert_close(out, tout, tol=tol, err_msg="output")
    assert (w is None) == (tw is None)
    if w is not None:
        assert_close(w, tw, tol=tol, err_msg="weights")
    rng = np.random.default_rng(3)
    g = rng.standard_normal(tout.shape).astype(arrays[0].dtype)
    loss = (out * ad.tensor(g)).sum()
    tloss = (tout * to_torch(g)).sum()
    if w is not None and not np.isnan(tw.detach().numpy()).any():
        gw = rng.standard_normal(tw.shape).astype(arrays[0].dtype)
        loss = loss + (w * ad.tensor(gw)).sum()
        tloss = tloss + (tw * to_torch(gw)).sum()
    loss.backward()
    tloss.backward()
    for i, (a, t) in enumerate(zip(ad_in[:len(arrays)], t_in[:len(arrays)])):
        assert_close(a.grad, t.grad, tol=tol, err_msg=f"gradient of input {i}")
    tparams = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad, tparams[name].grad, tol=tol, err_msg=f"gradient of {name}")
    return out, w


L, S, N, E, H = 4, 5, 2, 6, 2


def _qkv(dtype=np.float64, kdim=E, vdim=E, batch_first=False, batched=True):
    def shape(length, dim):
        if not batched:
            return (length, dim)
        return (N, length, dim) if batch_first else (length, N, dim)
    return [randn(*shape(L, E), dtype=dtype), randn(*shape(S, kdim), dtype=dtype),
            randn(*shape(S, vdim), dtype=dtype)]


def _kpm(kind, batched=True):
    m = R.random((N, S) if batched else (S,)) < 0.3
    m[..., 0] = False
    return m if kind == "bool" else np.where(m, -np.inf, R.standard_normal(m.shape))


def _amask(kind, dims):
    shape = (L, S) if dims == 2 else (N * H, L, S)
    m = R.random(shape) < 0.3
    m[..., 0] = False
    return m if kind == "bool" else np.where(m, -np.inf, R.standard_normal(shape))


MHA_CASES = [
    ("defaults", {}, {}, ()),
    ("batch_first, no weights", {"batch_first": True}, {"need_weights": False}, ()),
    ("kdim/vdim", {"kdim": 3, "vdim": 4}, {}, ()),
    ("kdim/vdim, no bias, sdpa", {"kdim": 3, "vdim": 4, "bias": False},
     {"need_weights": False}, ()),
    ("bool key_padding_mask and 2-d attn_mask", {}, {},
     (("key_padding_mask", "bool"), ("attn_mask", ("bool", 2)))),
    ("float masks, 3-d attn_mask, per-head weights", {"batch_first": True},
     {"average_attn_weights": False},
     (("key_padding_mask", "float"), ("attn_mask", ("float", 3)))),
    ("float masks through sdpa", {}, {"need_weights": False},
     (("key_padding_mask", "float"), ("attn_mask", ("float", 2)))),
    ("bool 3-d attn_mask through sdpa", {"batch_first": True}, {"need_weights": False},
     (("attn_mask", ("bool", 3)),)),
    ("add_bias_kv, add_zero_attn", {"add_bias_kv": True, "add_zero_attn": True},
     {"average_attn_weights": False}, (("key_padding_mask", "bool"), ("attn_mask", ("bool", 2)))),
    ("add_bias_kv, add_zero_attn, sdpa", {"add_bias_kv": True, "add_zero_attn": True,
                                          "batch_first": True, "kdim": 3},
     {"need_weights": False}, (("key_padding_mask", "float"),)),
]


def _masks(spec, batched=True):
    out = []
    for name, kind in spec:
        if name == "key_padding_mask":
            out.append((name, _kpm(kind, batched)))
        else:
            out.append((name, _amask(*kind)))
    return out


@pytest.mark.parametrize("case", MHA_CASES, ids=[c[0] for c in MHA_CASES])
def test_multihead_attention_matches_torch(case):
    _, ctor, call, mask_spec = case
    ours, theirs = _pair_modules(embed_dim=E, num_heads=H, **ctor)
    arrays = _qkv(kdim=ctor.get("kdim", E), vdim=ctor.get("vdim", E),
                  batch_first=ctor.get("batch_first", False))
    out, w = _compare_modules(ours, theirs, arrays, _masks(mask_spec), call)
    lead = (N, L) if ctor.get("batch_first") else (L, N)
    assert out.shape == lead + (E,)
    if w is not None:
        assert w.shape == ((N, L, S + 2 * ctor.get("add_zero_attn", 0)) if
                           call.get("average_attn_weights", True) else
                           (N, H, L, S + 2 * ctor.get("add_zero_attn", 0)))


def test_multihead_self_attention_and_float32():
    ours, theirs = _pair_modules(embed_dim=E, num_heads=H, batch_first=True)
    x = randn(N, L, E)
    for call in ({}, {"need_weights": False}):
        _compare_modules(ours, theirs, [x], call=call, self_attn=True)
    ours, theirs = _pair_modules(np.float32, embed_dim=E, num_heads=H, kdim=3)
    out, w = _compare_modules(ours, theirs, _qkv(np.float32, kdim=3),
                              _masks((("key_padding_mask", "bool"),)), tol=2e-5)
    assert out.dtype == np.float32 and w.dtype == np.float32
    ours, theirs = _pair_modules(np.float32, embed_dim=E, num_heads=H)
    _compare_modules(ours, theirs, [randn(L, N, E, dtype=np.float32)],
                     call={"need_weights": False}, self_attn=True, tol=2e-5)


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_unbatched(need_weights):
    ours, theirs = _pair_modules(embed_dim=E, num_heads=H, kdim=3, add_bias_kv=True)
    arrays = _qkv(kdim=3, batched=False)
    masks = [("key_padding_mask", _kpm("bool", batched=False)),
             ("attn_mask", _amask("float", 2))]
    out, w = _compare_modules(ours, theirs, arrays, masks, {"need_weights": need_weights})
    assert out.shape == (L, E)
    # a 3-d attn_mask (num_heads, L, S) for an unbatched query
    m = np.where(R.random((H, L, S)) < 0.3, -np.inf, 0.0)
    m[..., 0] = 0
    ours, theirs = _pair_modules(embed_dim=E, num_heads=H)
    _compare_modules(ours, theirs, _qkv(batched=False), [("attn_mask", m)],
                     {"need_weights": need_weights, "average_attn_weights": False})


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_is_causal(need_weights):
    ours, theirs = _pair_modules(embed_dim=E, num_heads=H, batch_first=True)
    x = randn(N, L, E)
    causal = np.triu(np.full((L, L), -np.inf), 1)
    _compare_modules(ours, theirs, [x], [("attn_mask", causal)],
                     {"need_weights": need_weights, "is_causal": True}, self_attn=True)
    # with a padding mask too (torch then uses the mask, not is_causal)
    _compare_modules(ours, theirs, [x], [("attn_mask", causal),
                                         ("key_padding_mask", np.array([[0, 0, 0, 1],
                                                                        [0, 0, 0, 0]], bool))],
                     {"need_weights": need_weights, "is_causal": True}, self_attn=True)


def test_multihead_attention_fully_padded_sequence():
    """Every key of one sequence padded: NaN with need_weights (an explicit softmax, as torch),
    zeros through scaled_dot_product_attention (as torch)."""
    ours, theirs = _pair_modules(embed_dim=E, num_heads=H)
    arrays = _qkv()
    kpm = np.zeros((N, S), bool)
    kpm[1] = True
    for need_weights in (True, False):
        out, _ = ours(*map(ad.tensor, arrays), key_padding_mask=ad.tensor(kpm),
                      need_weights=need_weights)
        tout, _ = theirs(*map(to_torch, arrays), key_padding_mask=to_torch(kpm),
                         need_weights=need_weights)
        assert_close(out, tout, tol=1e-12)


def test_multihead_attention_with_an_empty_key_sequence():
    """No keys: zeros out of the attention (the output projection's bias after it) and empty
    weights, with need_weights both ways (as torch)."""
    ours, theirs = _pair_modules(embed_dim=E, num_heads=H)
    q, kv = randn(L, N, E), np.zeros((0, N, E))
    for need_weights in (True, False):
        out, w = ours(ad.tensor(q), ad.tensor(kv), ad.tensor(kv), need_weights=need_weights)
        tout, tw = theirs(to_torch(q), to_torch(kv), to_torch(kv), need_weights=need_weights)
        assert_close(out, tout, tol=1e-12)
        assert (w is None) == (tw is None)
        if need_weights:
            assert w.shape == tuple(tw.shape) == (N, L, 0)


@pytest.mark.parametrize("query_dtype", ["float32", "float64"])
@pytest.mark.parametrize("mask_dtype", ["float16", "float32", "float64", "bool"])
def test_mask_dtypes_are_accepted_or_refused_as_torch(query_dtype, mask_dtype):
    """A float mask must have the query's dtype (sdpa also takes float32); MultiheadAttention
    with need_weights refuses any other float dtype, without it follows sdpa."""
    def outcome(fn):
        try:
            return str(fn().dtype).split(".")[-1]
        except RuntimeError:
            return "RuntimeError"

    for lib in (ad, torch):
        q = lib.ones(2, 3, 4, dtype=getattr(lib, query_dtype))
        m = lib.zeros(3, 3, dtype=getattr(lib, mask_dtype))  # (L, S) for sdpa
        m2 = lib.zeros(2, 2, dtype=getattr(lib, mask_dtype))  # MultiheadAttention: L = S = 2
        kpm = lib.zeros(3, 2, dtype=getattr(lib, mask_dtype))  # (N, S)
        lib.manual_seed(0)
        mha = (nn if lib is ad else torch.nn).MultiheadAttention(4, 2,
                                                                 dtype=getattr(lib, query_dtype))
        got = [outcome(lambda: lib_f(lib).scaled_dot_product_attention(q, q, q, attn_mask=m))]
        for need_weights in (True, False):
            got.append(outcome(lambda: mha(q, q, q, attn_mask=m2, need_weights=need_weights)[0]))
            got.append(outcome(lambda: mha(q, q, q, key_padding_mask=kpm,
                                           need_weights=need_weights)[0]))
        if lib is ad:
            ours = got
    assert ours == got
    if mask_dtype in (query_dtype, "bool"):
        assert got == [query_dtype] * 5


def test_multihead_attention_dropout_train_and_eval():
    ours, theirs = _pair_modules(embed_dim=E, num_heads=H, dropout=0.5)
    arrays = _qkv()
    ours.eval()
    theirs.eval()
    _compare_modules(ours, theirs, arrays)
    ours.train()
    ad.manual_seed(1)
    out1, w1 = ours(*map(ad.tensor, arrays))
    ad.manual_seed(1)
    out2, w2 = ours(*map(ad.tensor, arrays))
    np.testing.assert_array_equal(out1.data, out2.data)
    full, wf = ours.eval()(*map(ad.tensor, arrays))
    assert not np.allclose(out1.data, full.data)
    # the returned weights are the dropped-out ones (as torch): each 0 or 2x the eval value
    ad.manual_seed(2)
    _, wd = ours.train()(*map(ad.tensor, arrays), average_attn_weights=False)
    _, we = ours.eval()(*map(ad.tensor, arrays), average_attn_weights=False)
    ratio = wd.data / we.data
    assert np.all(np.isclose(ratio, 0) | np.isclose(ratio, 2)) and np.isclose(ratio, 0).any()
    out3, _ = ours.train()(*map(ad.tensor, arrays), need_weights=False)
    assert out3.shape == full.shape and not np.allclose(out3.data, full.data)


def test_multi_head_attention_forward_static_kv_matches_torch():
    ours, theirs = _pair_modules(embed_dim=E, num_heads=H)
    q = randn(L, N, E)
    sk, sv = randn(N * H, S, E // H), randn(N * H, S, E // H)

    def fn(lib, q, sk, sv):
        m = theirs if lib is torch else ours
        return lib_f(lib).multi_head_attention_forward(
            q, q, q, E, H, m.in_proj_weight, m.in_proj_bias, None, None, False, 0.0,
            m.out_proj.weight, m.out_proj.bias, static_k=sk, static_v=sv)
    run_outputs(torch, fn, q, sk, sv, tol=1e-12)


def test_multihead_attention_state_dict_repr_and_init():
    configs = [{}, {"kdim": 3, "vdim": 4}, {"bias": False}, {"add_bias_kv": True},
               {"kdim": 3, "add_bias_kv": True, "bias": False, "batch_first": True}]
    for kw in configs:
        ours, theirs = nn.MultiheadAttention(E, H, **kw), torch.nn.MultiheadAttention(E, H, **kw)
        assert repr(ours) == repr(theirs)
        ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
        assert list(ours_sd) == list(theirs_sd)
        assert [tuple(v.shape) for v in ours_sd.values()] == \
            [tuple(v.shape) for v in theirs_sd.values()]
        assert all(v.dtype == np.float32 for v in ours_sd.values())
        theirs.load_state_dict(convert_state(ours_sd, torch))  # and back
        for k, v in theirs.state_dict().items():
            np.testing.assert_array_equal(v.numpy(), ours_sd[k].data)
    m = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    bound = math.sqrt(6 / (64 + 3 * 64))  # xavier_uniform_ of (3E, E)
    w = m.in_proj_weight.data
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert not m.in_proj_bias.data.any() and not m.out_proj.bias.data.any()
    assert np.abs(m.out_proj.weight.data).max() <= 1 / math.sqrt(64)  # Linear's own init
    # xavier_normal_ of (1, 1, E): fan_in = fan_out = E, std = sqrt(2 / (2 E))
    assert m.bias_k.shape == (1, 1, 64) and 0.05 < m.bias_k.data.std() < 0.2
    assert m.batch_first is False and m.head_dim == 16 and m._qkv_same_embed_dim
    assert nn.MultiheadAttention(4, 2, dtype=ad.float64).in_proj_weight.dtype == np.float64


def test_merge_masks_matches_torch():
    ours, theirs = _pair_modules(embed_dim=E, num_heads=H, batch_first=True)
    q = randn(N, L, E)
    kpm = np.zeros((N, L), bool)
    kpm[0, -1] = True
    am_float = np.triu(np.full((L, L), -np.inf), 1)
    am_bool = np.triu(np.ones((L, L), bool), 1)
    kpm_float = np.where(kpm, -np.inf, 0.0)
    cases = [(a, k) for a in (am_float, am_bool, None) for k in (kpm, kpm_float, None)]
    for a, k in cases[:-1]:  # masks as given, bool or float, as torch (no canonicalisation)
        got = ours.merge_masks(None if a is None else ad.tensor(a),
                               None if k is None else ad.tensor(k), ad.tensor(q))
        want = theirs.merge_masks(None if a is None else to_torch(a),
                                  None if k is None else to_torch(k), to_torch(q))
        assert got[1] == want[1]
        assert str(got[0].dtype).split(".")[-1] == str(want[0].dtype).split(".")[-1]
        assert_close(got[0], want[0])


def _mha_call(lib, ctor=None, arrays=None, **call):
    m = (torch.nn if lib is torch else nn).MultiheadAttention(E, H, **(ctor or {}))
    q, k, v = [lib.tensor(a) for a in (arrays or _qkv(np.float32))]
    return m(q, k, v, **{n: lib.tensor(x) if isinstance(x, np.ndarray) else x
                         for n, x in call.items()})


MHA_ERRORS = [
    ("attn_mask 2-d shape", dict(attn_mask=np.zeros((L, S + 1), bool)), RuntimeError,
     r"2D attn_mask is \(4, 6\), but should be \(4, 5\)"),
    ("attn_mask 3-d shape", dict(attn_mask=np.zeros((N, L, S), bool)), RuntimeError,
     r"3D attn_mask is \(2, 4, 5\), but should be \(4, 4, 5\)"),
    ("attn_mask 4-d", dict(attn_mask=np.zeros((1, 1, L, S), bool)), AssertionError,
     "2-D or 3-D"),
    ("key_padding_mask shape", dict(key_padding_mask=np.zeros((N, S + 1), bool)),
     AssertionError, r"key_padding_mask of shape \(2, 5\)"),
    ("key_padding_mask rank", dict(key_padding_mask=np.zeros((S,), bool)), AssertionError,
     "expected `key_padding_mask` to be `None` or 2-D"),
    ("is_causal without a mask", dict(is_causal=True), RuntimeError,
     "Need attn_mask if specifying the is_causal hint"),
    ("integer mask", dict(attn_mask=np.zeros((L, S), np.int64)), AssertionError,
     "only bool and floating types of attn_mask"),
]


@pytest.mark.parametrize("case", MHA_ERRORS, ids=[c[0] for c in MHA_ERRORS])
def test_multihead_attention_errors_match_torch(case):
    _, call, cls, message = case
    arrays = _qkv(np.float32)
    same_error(torch, lambda lib: _mha_call(lib, arrays=arrays, **call))
    with pytest.raises(cls, match=message):
        _mha_call(ad, arrays=arrays, **call)


def test_multihead_attention_constructor_and_shape_errors():
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        nn.MultiheadAttention(6, 4)
    with pytest.raises(AssertionError):
        torch.nn.MultiheadAttention(6, 4)
    for args in ((0, 2), (4, 0)):
        with pytest.raises(ValueError, match="must be greater than 0"):
            nn.MultiheadAttention(*args)
        with pytest.raises(ValueError):
            torch.nn.MultiheadAttention(*args)
    # a 4-d query, key of another rank, an embedding size the module was not built for
    bad = [[randn(1, L, N, E, dtype=np.float32)] * 3,
           [randn(L, N, E, dtype=np.float32), randn(S, E, dtype=np.float32),
            randn(S, E, dtype=np.float32)],
           [randn(L, N, 4, dtype=np.float32)] * 3]
    for arrays, message in zip(bad, ["unbatched 2D or batched 3D", "expected `key` and `value` "
                                     "to be 3-D", "embedding dimension of 6, but got 4"]):
        same_error(torch, lambda lib: _mha_call(lib, arrays=arrays))
        with pytest.raises(AssertionError, match=message):
            _mha_call(ad, arrays=arrays)
