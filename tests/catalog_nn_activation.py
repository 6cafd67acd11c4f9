"""Catalog entries for nn.functional's activations, dropout variants, embeddings and distances
(ENTRIES: a list of tests/catalog.py's Op), with numpy references written from the formulas.

Kinked functions are scaled or shifted so their kinks sit where the domain keeps away from
("away": 0; "away_half": +-0.5 and +-1). Random ones draw from a fresh ad.Generator(0), whose
numbers the references draw again from numpy's default_rng(0)."""
import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
import nn.functional as F
from catalog import Op, np_softmax, unary

SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
ALPHA_DROP = 1.7580993408473766


# --- references ---------------------------------------------------------------------------------

def np_elu(x, alpha=1.0, scale=1.0, input_scale=1.0):
    return np.where(x > 0, scale * x, scale * alpha * np.expm1(np.minimum(x, 0) * input_scale))


def np_hardswish(x):
    return x * np.clip(x + 3, 0, 6) / 6


def np_softplus(x):
    return np.logaddexp(0.0, x)


def np_softshrink(x, lambd=0.5):
    return np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0.0))


def np_glu(x, dim):
    a, b = np.split(x, 2, axis=dim)
    return a / (1 + np.exp(-b))


def np_rrelu_train(x, lower, upper):
    slope = np.random.default_rng(0).uniform(lower, upper, x.shape)
    return np.where(x > 0, x, x * slope)


def np_gumbel_softmax(x, tau, dim):
    e = np.random.default_rng(0).standard_exponential(x.shape)
    return np_softmax((x - np.log(e)) / tau, dim)


def np_dropout_feature(x, p, unbatched_ndim=None):
    """dropout1d/2d/3d with ad.Generator(0): one draw per (sample, channel)."""
    xs = x[None] if x.ndim == unbatched_ndim else x
    keep = np.random.default_rng(0).random(xs.shape[:2] + (1,) * (xs.ndim - 2)) >= p
    out = xs * keep / (1 - p)
    return out[0] if x.ndim == unbatched_ndim else out


def np_alpha_dropout(x, p, feature=False):
    shape = x.shape[:2] + (1,) * (x.ndim - 2) if feature else x.shape
    keep = np.random.default_rng(0).random(shape) >= p
    a = 1 / math.sqrt((ALPHA_DROP ** 2 * p + 1) * (1 - p))
    return a * np.where(keep, x, -ALPHA_DROP) + a * ALPHA_DROP * p


def np_embedding_bag(w, psw=None, *, ids, offsets, mode):
    ends = list(offsets[1:]) + [len(ids)]
    out = np.zeros((len(offsets), w.shape[1]))
    for b, (s, e) in enumerate(zip(offsets, ends)):
        if e > s:
            rows = w[ids[s:e]] * (psw[s:e, None] if psw is not None else 1)
            out[b] = {"sum": rows.sum, "mean": rows.mean, "max": rows.max}[mode](0)
    return out


def np_cosine_similarity(x1, x2, dim, eps=1e-8):
    x1, x2 = np.broadcast_arrays(x1, x2)
    n1 = np.maximum(np.linalg.norm(x1, axis=dim, keepdims=True), eps)
    n2 = np.maximum(np.linalg.norm(x2, axis=dim, keepdims=True), eps)
    return (x1 / n1 * x2 / n2).sum(dim)


def np_pnorm(d, p, axis):
    if p == math.inf:
        return np.abs(d).max(axis)
    return (np.abs(d) ** p).sum(axis) ** (1 / p)


# --- shapes and params --------------------------------------------------------------------------

def _even_last(draw):
    """A shape whose last dim is even (glu halves it)."""
    lead = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    return [lead + (2 * draw(st.integers(1, 2)),)]


def _softmin_dim(draw, shapes):
    nd = len(shapes[0])
    return {"dim": draw(st.integers(-nd, nd - 1))}


def _nd(ndims):
    def draw_shapes(draw):
        nd = draw(st.sampled_from(ndims))
        return [draw(hnp.array_shapes(min_dims=nd, max_dims=nd, min_side=1,
                                      max_side=3 if nd < 4 else 2))]
    return draw_shapes


def _embedding_case(draw):
    n, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    return [(n, d)]


def _ids_param(draw, shapes):
    n = shapes[0][0]
    ids = draw(hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=3),
                          elements=st.integers(0, n - 1)))
    return {"ids": ids}


def _bag_case(draw):
    n, d, m = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(0, 5))
    return [(n, d), (m,)]


def _bag_params(draw, shapes):
    n, m = shapes[0][0], shapes[1][0]
    ids = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), np.int64)
    cuts = sorted(draw(st.lists(st.integers(0, m), max_size=3)))
    return {"ids": ids, "offsets": np.array([0] + cuts, np.int64)}


def _pair_last(draw):
    """Two broadcastable shapes with at least one dim."""
    b = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3,
                                               min_side=1, max_side=3))
    return list(b.input_shapes)


def _cos_dim(draw, shapes):
    nd = max(len(s) for s in shapes)
    return {"dim": draw(st.integers(-nd, nd - 1))}


def _bag(mode, weighted=False):
    if weighted:
        fn = (lambda w, psw, ids, offsets: F.embedding_bag(
            ad.tensor(ids), w, ad.tensor(offsets), mode=mode, per_sample_weights=psw))
        ref = (lambda w, psw, ids, offsets: np_embedding_bag(w, psw, ids=ids, offsets=offsets,
                                                             mode=mode))
        return dict(fn=fn, ref=ref, shapes=_bag_case, params=_bag_params)
    fn = (lambda w, ids, offsets: F.embedding_bag(ad.tensor(ids), w, ad.tensor(offsets),
                                                  mode=mode))
    ref = (lambda w, ids, offsets: np_embedding_bag(w, ids=ids, offsets=offsets, mode=mode))
    return dict(fn=fn, ref=ref, shapes=lambda draw: _bag_case(draw)[:1],
                params=lambda draw, s: _bag_params(draw, s + [(draw(st.integers(0, 5)),)]))


# --- the entries ---------------------------------------------------------------------------------

ENTRIES = [
    Op("F.hardtanh", F.hardtanh, lambda x: np.clip(x, -1, 1), unary(), domain="away_half"),
    Op("F.relu6", lambda x: F.relu6(4 * x + 2), lambda x: np.clip(4 * x + 2, 0, 6), unary(),
       domain="away_half"),
    Op("F.hardsigmoid", lambda x: F.hardsigmoid(3 * x),
       lambda x: np.clip(3 * x / 6 + 0.5, 0, 1), unary(), domain="away_half"),
    Op("F.hardswish", lambda x: F.hardswish(3 * x), lambda x: np_hardswish(3 * x), unary(),
       domain="away_half"),
    Op("F.selu", F.selu, lambda x: np_elu(x, SELU_ALPHA, SELU_SCALE), unary(), domain="away"),
    Op("F.celu", lambda x: F.celu(x, 0.7), lambda x: np_elu(x, 0.7, 1.0, 1 / 0.7), unary(),
       domain="away"),
    Op("F.mish", F.mish, lambda x: x * np.tanh(np_softplus(x)), unary()),
    Op("F.softsign", F.softsign, lambda x: x / (1 + np.abs(x)), unary(), domain="away"),
    Op("F.softshrink", F.softshrink, np_softshrink, unary(), domain="away_half"),
    Op("F.hardshrink", F.hardshrink, lambda x: np.where(np.abs(x) > 0.5, x, 0.0), unary(),
       domain="away_half"),
    Op("F.tanhshrink", F.tanhshrink, lambda x: x - np.tanh(x), unary()),
    Op("F.threshold", lambda x: F.threshold(x, 0.5, -2.0),
       lambda x: np.where(x > 0.5, x, -2.0), unary(), domain="away_half"),
    Op("F.rrelu", F.rrelu, lambda x: np.where(x > 0, x, x * (1 / 8 + 1 / 3) / 2), unary(),
       domain="away", label="eval"),
    Op("F.rrelu", lambda x: F.rrelu(x, 0.1, 0.6, training=True, generator=ad.Generator(0)),
       lambda x: np_rrelu_train(x, 0.1, 0.6), unary(), domain="away", label="training"),
    Op("F.glu", F.glu, lambda x: np_glu(x, -1), _even_last),
    Op("F.logsigmoid", F.logsigmoid, lambda x: -np_softplus(-x), unary()),
    Op("F.softmin", lambda x, dim: F.softmin(x, dim), lambda x, dim: np_softmax(-x, dim),
       unary(min_dims=1), params=_softmin_dim),
    Op("F.gumbel_softmax",
       lambda x: F.gumbel_softmax(x, tau=0.7, generator=ad.Generator(0)),
       lambda x: np_gumbel_softmax(x, 0.7, -1), unary(min_dims=1)),
    Op("F.dropout1d", lambda x: F.dropout1d(x, 0.4, generator=ad.Generator(0)),
       lambda x: np_dropout_feature(x, 0.4, 2), _nd((2, 3))),
    Op("F.dropout2d", lambda x: F.dropout2d(x, 0.4, generator=ad.Generator(0)),
       lambda x: np_dropout_feature(x, 0.4), _nd((4,))),
    Op("F.dropout3d", lambda x: F.dropout3d(x, 0.4, generator=ad.Generator(0)),
       lambda x: np_dropout_feature(x, 0.4, 4), _nd((4, 5))),
    Op("F.alpha_dropout",
       lambda x: F.alpha_dropout(x, 0.3, training=True, generator=ad.Generator(0)),
       lambda x: np_alpha_dropout(x, 0.3), unary()),
    Op("F.feature_alpha_dropout",
       lambda x: F.feature_alpha_dropout(x, 0.3, training=True, generator=ad.Generator(0)),
       lambda x: np_alpha_dropout(x, 0.3, feature=True), _nd((2, 3))),
    Op("F.embedding", lambda w, ids: F.embedding(ad.tensor(ids), w),
       lambda w, ids: w[ids], _embedding_case, params=_ids_param),
    Op("F.embedding_bag", label="sum, per_sample_weights", **_bag("sum", weighted=True)),
    Op("F.embedding_bag", label="mean", **_bag("mean")),
    Op("F.embedding_bag", label="max", domain="distinct", **_bag("max")),
    Op("F.cosine_similarity", lambda x1, x2, dim: F.cosine_similarity(x1, x2, dim),
       np_cosine_similarity, _pair_last, domain="away", params=_cos_dim),
] + [
    Op("F.pairwise_distance",
       lambda x1, x2, p=p: F.pairwise_distance(x1, x2 * 0.01 + 5.0, p),
       lambda x1, x2, p=p: np_pnorm(x1 - (x2 * 0.01 + 5.0) + 1e-6, p, -1), _pair_last,
       domain="distinct", label=f"p={p}")
    for p in (2.0, 1.0, math.inf)
]
