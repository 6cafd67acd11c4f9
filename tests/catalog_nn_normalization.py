"""Catalog entries for nn.functional's normalisation family (ENTRIES: a list of
tests/catalog.py's Op), with numpy references written from the formulas."""
import math

import numpy as np
from hypothesis import strategies as st

import autodiff as ad
import nn.functional as F
from catalog import Op

_SIDE = st.integers(1, 3)


# --- references ---------------------------------------------------------------------------------

def _bcast(t, ndim):
    """(C,) -> (C, 1, ...) against an (N, C, *) array."""
    return t.reshape((-1,) + (1,) * (ndim - 2))


def np_batch_norm(x, w, b, rm=None, rv=None, training=True, eps=1e-5):
    dims = (0,) + tuple(range(2, x.ndim))
    if training:
        mean, var = x.mean(dims, keepdims=True), x.var(dims, keepdims=True)
    else:
        mean, var = _bcast(rm, x.ndim), _bcast(rv, x.ndim)
    return (x - mean) / np.sqrt(var + eps) * _bcast(w, x.ndim) + _bcast(b, x.ndim)


def np_instance_norm(x, w, b, rm=None, rv=None, use_input_stats=True, eps=1e-5):
    dims = tuple(range(2, x.ndim))
    if use_input_stats:
        mean, var = x.mean(dims, keepdims=True), x.var(dims, keepdims=True)
    else:
        mean, var = _bcast(rm, x.ndim), _bcast(rv, x.ndim)
    return (x - mean) / np.sqrt(var + eps) * _bcast(w, x.ndim) + _bcast(b, x.ndim)


def np_layer_norm(x, w, b, normalized_shape, eps=1e-5):
    dims = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mean, var = x.mean(dims, keepdims=True), x.var(dims, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def np_group_norm(x, w, b, num_groups, eps=1e-5):
    g = x.reshape(x.shape[0], num_groups, -1)
    y = (g - g.mean(2, keepdims=True)) / np.sqrt(g.var(2, keepdims=True) + eps)
    return y.reshape(x.shape) * _bcast(w, x.ndim) + _bcast(b, x.ndim)


def np_rms_norm(x, w, normalized_shape, eps=None):
    eps = np.finfo(x.dtype).eps if eps is None else eps
    dims = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    return x / np.sqrt((x * x).mean(dims, keepdims=True) + eps) * w


def np_local_response_norm(x, size, alpha, beta, k):
    """Loops over channels: the window c - size//2 ... c + (size-1)//2, zero padded."""
    sq = x * x
    c = x.shape[1]
    div = np.zeros_like(x)
    for ch in range(c):
        for j in range(ch - size // 2, ch + (size - 1) // 2 + 1):
            if 0 <= j < c:
                div[:, ch] += sq[:, j]
    return x / (k + alpha / size * div) ** beta


def np_normalize(x, p, dim, eps=1e-12):
    a = np.abs(x)
    if p == 0:
        norm = np.count_nonzero(x, axis=dim, keepdims=True).astype(x.dtype)
    elif p == math.inf:
        norm = a.max(axis=dim, keepdims=True)
    elif p == -math.inf:
        norm = a.min(axis=dim, keepdims=True)
    else:
        norm = (a ** p).sum(axis=dim, keepdims=True) ** (1 / p)
    return x / np.maximum(norm, eps)


# --- shapes and params --------------------------------------------------------------------------

def _batch_shapes(min_values=2, min_spatial=0):
    """x (N, C, *spatial) with at least min_values per channel, weight (C,), bias (C,)."""
    def draw_shapes(draw):
        spatial = tuple(draw(st.lists(_SIDE, min_size=min_spatial, max_size=2)))
        n = draw(st.integers(1, 3))
        if n * math.prod(spatial) < min_values:
            n = 2
        c = draw(_SIDE)
        return [(n, c) + spatial, (c,), (c,)]
    return draw_shapes


def _instance_shapes(draw):
    spatial = tuple(draw(st.lists(_SIDE, min_size=1, max_size=2)))
    if math.prod(spatial) < 2:
        spatial = spatial[:-1] + (2,)
    c = draw(_SIDE)
    return [(draw(st.integers(1, 2)), c) + spatial, (c,), (c,)]


def _running_shapes(base):
    def draw_shapes(draw):
        x, w, b = base(draw)
        return [x, w, b, w, w]
    return draw_shapes


def _layer_shapes(draw):
    x = tuple(draw(st.lists(_SIDE, min_size=1, max_size=3)))
    k = draw(st.integers(1, len(x)))
    tail = x[len(x) - k:]
    if math.prod(tail) < 2:  # one element normalises to exactly 0
        x = x[:-1] + (2,)
        tail = x[len(x) - k:]
    return [x, tail, tail]


def _group_shapes(draw):
    groups = draw(st.integers(1, 2))
    c = groups * draw(st.integers(1, 2))
    spatial = tuple(draw(st.lists(_SIDE, min_size=0, max_size=2)))
    if (c // groups) * math.prod(spatial) < 2:
        spatial = spatial + (2,)
    return [(draw(st.integers(1, 2)), c) + spatial, (c,), (c,)]


def _group_params(draw, shapes):
    c = shapes[0][1]
    options = [g for g in (1, 2, c) if c % g == 0
               and (c // g) * math.prod(shapes[0][2:]) >= 2]
    return {"num_groups": draw(st.sampled_from(options))}


def _rms_shapes(draw):
    x, tail, _ = _layer_shapes(draw)
    return [x, tail]


def _no_affine_params(draw, shapes):
    x = shapes[0]
    tails = [x[len(x) - k:] for k in range(1, len(x) + 1) if math.prod(x[len(x) - k:]) >= 2]
    return {"normalized_shape": draw(st.sampled_from(tails)),
            "eps": draw(st.sampled_from([1e-5, 0.1]))}


def _lrn_shapes(draw):
    return [tuple(draw(st.lists(_SIDE, min_size=3, max_size=4)))]


def _lrn_params(draw, shapes):
    return {"size": draw(st.integers(1, 4)), "alpha": draw(st.sampled_from([1e-4, 0.5, 2.0])),
            "beta": draw(st.sampled_from([0.75, 0.5, 1.3])), "k": draw(st.sampled_from([1.0, 2.0]))}


def _normalize_shapes(draw):
    return [tuple(draw(st.lists(_SIDE, min_size=1, max_size=3)))]


def _dim_param(p):
    def params(draw, shapes):
        nd = len(shapes[0])
        dim = draw(st.one_of(st.integers(-nd, nd - 1),
                             st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd,
                                      unique=True).map(tuple)))
        return {"p": p, "dim": dim}
    return params


def _np_dim(dim, nd):
    return tuple(d % nd for d in dim) if isinstance(dim, tuple) else dim % nd


# --- the entries ---------------------------------------------------------------------------------

ENTRIES = [
    Op("F.batch_norm",
       lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
       lambda x, w, b: np_batch_norm(x, w, b), _batch_shapes(),
       domain=("distinct", "real", "real"), label="train"),
    # (the fused training-mode primitive's other forms: weight only, bias only, neither)
    Op("F.batch_norm",
       lambda x, w: F.batch_norm(x, None, None, w, None, training=True, eps=1e-3),
       lambda x, w: np_batch_norm(x, w, np.zeros_like(w), eps=1e-3),
       lambda draw: _batch_shapes()(draw)[:2],
       domain=("distinct", "real"), label="train, no bias"),
    Op("F.batch_norm",
       lambda x, b: F.batch_norm(x, None, None, None, b, training=True),
       lambda x, b: np_batch_norm(x, np.ones_like(b), b),
       lambda draw: _batch_shapes()(draw)[::2],
       domain=("distinct", "real"), label="train, bias only"),
    Op("F.batch_norm",
       lambda x: F.batch_norm(x, None, None, training=True),
       lambda x: np_batch_norm(x, np.ones(x.shape[1]), np.zeros(x.shape[1])),
       lambda draw: _batch_shapes()(draw)[:1],
       domain="distinct", label="train, no affine"),
    Op("F.batch_norm",
       lambda x, w, b, rm, rv: F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-3),
       lambda x, w, b, rm, rv: np_batch_norm(x, w, b, rm, rv, training=False, eps=1e-3),
       _running_shapes(_batch_shapes(min_values=1)),
       domain=("real", "real", "real", "real", "positive"), constants=(3, 4), label="eval"),
    Op("F.instance_norm",
       lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
       lambda x, w, b: np_instance_norm(x, w, b), _instance_shapes,
       domain=("distinct", "real", "real")),
    Op("F.instance_norm",
       lambda x, w, b, rm, rv: F.instance_norm(x, rm, rv, w, b, use_input_stats=False),
       lambda x, w, b, rm, rv: np_instance_norm(x, w, b, rm, rv, use_input_stats=False),
       _running_shapes(_instance_shapes),
       domain=("real", "real", "real", "real", "positive"), constants=(3, 4),
       label="running stats"),
    Op("F.layer_norm",
       lambda x, w, b: F.layer_norm(x, w.shape, w, b),
       lambda x, w, b: np_layer_norm(x, w, b, w.shape), _layer_shapes,
       domain=("distinct", "real", "real")),
    Op("layer_norm",  # the primitive itself, as torch.layer_norm
       lambda x, w, b: ad.layer_norm(x, w.shape, w, b),
       lambda x, w, b: np_layer_norm(x, w, b, w.shape), _layer_shapes,
       domain=("distinct", "real", "real")),
    # (the fused primitive's other forms: weight only, bias only, neither)
    Op("F.layer_norm",
       lambda x, w: F.layer_norm(x, w.shape, w),
       lambda x, w: np_layer_norm(x, w, 0.0, w.shape), _rms_shapes,
       domain=("distinct", "real"), label="no bias"),
    Op("F.layer_norm",
       lambda x, b: F.layer_norm(x, b.shape, None, b),
       lambda x, b: np_layer_norm(x, 1.0, b, b.shape), _rms_shapes,
       domain=("distinct", "real"), label="bias only"),
    Op("F.layer_norm",
       lambda x, normalized_shape, eps: F.layer_norm(x, normalized_shape, eps=eps),
       lambda x, normalized_shape, eps: np_layer_norm(x, 1.0, 0.0, normalized_shape, eps),
       lambda draw: _rms_shapes(draw)[:1], domain="distinct", params=_no_affine_params,
       label="no affine"),
    Op("F.group_norm",
       lambda x, w, b, num_groups: F.group_norm(x, num_groups, w, b),
       lambda x, w, b, num_groups: np_group_norm(x, w, b, num_groups), _group_shapes,
       domain=("distinct", "real", "real"), params=_group_params),
    Op("F.rms_norm",
       lambda x, w, eps: F.rms_norm(x, w.shape, w, eps),
       lambda x, w, eps: np_rms_norm(x, w, w.shape, eps), _rms_shapes,
       domain=("away", "real"),
       params=lambda draw, s: {"eps": draw(st.sampled_from([None, 1e-3]))}),
    Op("F.local_response_norm", F.local_response_norm, np_local_response_norm, _lrn_shapes,
       params=_lrn_params),
] + [
    Op("F.normalize", lambda x, p, dim: F.normalize(x, p, dim),
       lambda x, p, dim: np_normalize(x, p, _np_dim(dim, x.ndim)), _normalize_shapes,
       domain=domain, params=_dim_param(p), label=f"p={p}")
    for p, domain in ((2.0, "away"), (1.0, "away"), (3.0, "away"), (0.5, "away"), (0.0, "away"),
                      (-1.5, "away"), (math.inf, "distinct"), (-math.inf, "distinct"))
]
