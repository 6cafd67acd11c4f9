"""Catalog entries for nn.functional's round-one functions (ENTRIES: a list of tests/catalog.py's
Op), with numpy references written from the formulas.

Kinks are kept out of the drawn inputs: differences d = input - target are drawn directly (the
input is passed as target + d) from a domain that avoids the loss's hinge points, and
multi_margin_loss's scores sit on an integer grid plus small noise with half-integer margins."""
import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
import nn.functional as F
from catalog import Op, np_sigmoid, np_softmax, unary

REDUCTIONS = st.sampled_from(["mean", "sum", "none"])
np_erf = np.vectorize(math.erf, otypes=[float])


def _seed(draw):
    return np.random.default_rng(draw(st.integers(0, 2**16)))


def _reduce(loss, reduction):
    if reduction == "mean":
        return np.mean(loss)
    if reduction == "sum":
        return np.sum(loss)
    return loss


def _log1pexp(x):
    return np.logaddexp(0.0, x)


# --- references ---------------------------------------------------------------------------------

def np_bce(x, t, w=None, reduction="mean"):
    loss = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log(1 - x), -100))
    return _reduce(loss if w is None else loss * w, reduction)


def np_bce_with_logits(x, t, w=None, pos_weight=None, reduction="mean"):
    """-w (pw t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))"""
    pw = 1.0 if pos_weight is None else pos_weight
    loss = pw * t * _log1pexp(-x) + (1 - t) * _log1pexp(x)
    return _reduce(loss if w is None else loss * w, reduction)


def np_weighted(loss, w, reduction, mean_by_weight=True):
    """mse / l1 with weight: 'mean' is sum(w loss) / sum(w); huber: the mean of w loss"""
    if w is None:
        return _reduce(loss, reduction)
    if reduction == "mean" and mean_by_weight:
        return np.sum(w * loss) / np.sum(w)
    return _reduce(w * loss, reduction)


def np_huber(d, delta):
    a = np.abs(d)
    return np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta))


def np_smooth_l1(d, beta):
    a = np.abs(d)
    if beta == 0:
        return a
    return np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)


def np_multi_margin_loss(x, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """sum_{j != y} w_y max(0, margin - x_y + x_j)^p / C per sample"""
    xs = x.reshape(-1, x.shape[-1])
    ys = np.asarray(target).reshape(-1)
    c = xs.shape[1]
    out = np.zeros(len(xs))
    for n, y in enumerate(ys):
        wy = 1.0 if weight is None else weight[y]
        for j in range(c):
            if j != y:
                out[n] += wy * max(0.0, margin - xs[n, y] + xs[n, j]) ** p
    out /= c
    return _reduce(out.reshape(()) if x.ndim == 1 else out, reduction)


def np_nll_loss(x, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[y] x[y] per position (class dim 1, or 0 for (C,)); 'mean' divides by the sum of the
    weights of the targets that are not ignored"""
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    w = np.ones(c) if weight is None else weight
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    if x.ndim == 1:
        picked = x[safe]
    else:
        picked = np.take_along_axis(x, np.expand_dims(safe, 1), 1).squeeze(1)
    wt = w[safe] * keep
    loss = -wt * picked
    if reduction == "mean":
        return loss.sum() / wt.sum()
    return _reduce(loss, reduction)


def np_elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def np_gelu(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + np_erf(x / math.sqrt(2)))


def np_softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, _log1pexp(beta * x) / beta)


def np_prelu(x, w):
    if w.size > 1:
        w = w.reshape((-1,) + (1,) * (x.ndim - 2))
    else:
        w = w.reshape(())
    return np.where(x > 0, x, w * x)


def np_linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def np_pdist(x, p):
    i, j = np.triu_indices(x.shape[0], 1)
    return (np.abs(x[i] - x[j]) ** p).sum(-1) ** (1 / p)


# --- shapes and params --------------------------------------------------------------------------

def _shape(min_dims=1, max_dims=3, max_side=3):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def _broadcasting_to(draw, shape):
    """A shape that broadcasts to `shape` (leading dims dropped, some sides set to 1)."""
    tail = shape[draw(st.integers(0, len(shape))):]
    return tuple(1 if draw(st.booleans()) else n for n in tail)


def _pair(weighted):
    """input and target of one shape (0-d to 3-d); with a third, same-shape weight if drawn"""
    def draw_shapes(draw):
        shape = draw(_shape(0, 3))
        return [shape, shape] + ([shape] if weighted and draw(st.booleans()) else [])
    return draw_shapes


def _reduction(draw, shapes):
    return {"reduction": draw(REDUCTIONS)}


def _bce_shapes(draw):
    shape = draw(_shape(0, 3))
    return [shape, shape] + ([_broadcasting_to(draw, shape)] if draw(st.booleans()) else [])


def _bce_logits_shapes(draw):
    """input, target, weight (broadcasting to the input), pos_weight (the last dim's size)"""
    shape = draw(_shape(1, 3))
    return [shape, shape, _broadcasting_to(draw, shape), shape[-1:]]


def _huber_params(draw, shapes):
    return {"delta": draw(st.sampled_from([0.5, 1.0])), "reduction": draw(REDUCTIONS)}


def _smooth_l1_params(draw, shapes):
    return {"beta": draw(st.sampled_from([0.5, 1.0])), "reduction": draw(REDUCTIONS)}


def _multi_margin_shapes(draw):
    return [draw(_shape(1, 2, max_side=4))]


def _multi_margin_params(draw, shapes):
    """Scores x = 0.1 u + an integer grid (|u| < 0.9), margins half-integers: every
    margin - x_y + x_j is at least 0.32 from the hinge, and both sides of it are drawn"""
    shape = shapes[0]
    rng = _seed(draw)
    c = shape[-1]
    weight = rng.uniform(0.5, 2.0, c) if draw(st.booleans()) else None
    return {"target": rng.integers(0, c, shape[:-1]), "grid": rng.integers(0, 3, shape) * 1.0,
            "p": draw(st.sampled_from([1, 2])), "margin": draw(st.sampled_from([0.5, 1.5])),
            "weight": weight, "reduction": draw(REDUCTIONS)}


def _multi_margin(x, target, grid, p, margin, weight, reduction):
    scores = x * 0.1 + ad.tensor(grid).to(x.dtype)
    return F.multi_margin_loss(scores, ad.tensor(target), p=p, margin=margin,
                               weight=None if weight is None else ad.tensor(weight),
                               reduction=reduction)


def _nll_shapes(draw):
    """(C,), (N, C), (N, C, d1) or (N, C, d1, d2)"""
    nd = draw(st.integers(1, 4))
    return [draw(hnp.array_shapes(min_dims=nd, max_dims=nd, min_side=1, max_side=3))]


def _nll_params(draw, shapes):
    shape = shapes[0]
    rng = _seed(draw)
    c = shape[0] if len(shape) == 1 else shape[1]
    tshape = () if len(shape) == 1 else shape[:1] + shape[2:]
    ignore_index = draw(st.sampled_from([-100, 1]))  # (1: a valid class index, ignored)
    target = rng.integers(0, c, tshape)
    if ignore_index == -100:
        target[rng.random(tshape) < 0.3] = -100
    target[(0,) * len(tshape)] = 0  # one target counted (all ignored: mean is nan, as PyTorch)
    weight = rng.uniform(0.5, 2.0, c) if draw(st.booleans()) else None
    return {"target": target, "weight": weight, "ignore_index": ignore_index,
            "reduction": draw(REDUCTIONS)}


def _nll(x, target, weight, ignore_index, reduction):
    return F.nll_loss(x, ad.tensor(target), None if weight is None else ad.tensor(weight),
                      ignore_index=ignore_index, reduction=reduction)


def _inplace_flag(draw, shapes):
    return {"inplace": draw(st.booleans())}


def _elu_params(draw, shapes):
    return {"alpha": draw(st.sampled_from([1.0, 0.5, 2.0])), "inplace": draw(st.booleans())}


def _leaky_params(draw, shapes):
    slope = draw(st.sampled_from([0.01, 0.2, 1.5, -0.5]))
    # (in place with a negative slope raises while recording, as PyTorch)
    return {"negative_slope": slope, "inplace": slope > 0 and draw(st.booleans())}


def _copy_if(x, inplace):
    """A non-leaf copy for the in-place forms (a leaf that requires grad is refused)."""
    return x * 1 if inplace else x


def _softmax_params(draw, shapes):
    nd = len(shapes[0])
    return {"dim": draw(st.integers(-nd, nd - 1)),
            "dtype": draw(st.sampled_from([None, ad.float64]))}


def _softplus_params(draw, shapes):
    # threshold 1: the jump at beta x = 1 (x = 1 or 0.5) is outside the "away_half" domain
    beta, threshold = draw(st.sampled_from([(1.0, 20.0), (2.0, 20.0), (0.5, 20.0), (1.0, 1.0),
                                            (2.0, 1.0)]))
    return {"beta": beta, "threshold": threshold}


def _prelu_channels(draw):
    nd = draw(st.integers(2, 4))
    shape = draw(hnp.array_shapes(min_dims=nd, max_dims=nd, min_side=1, max_side=3))
    return [shape, shape[1:2]]


def _prelu_single(draw):
    return [draw(_shape(0, 3)), draw(st.sampled_from([(1,), ()]))]


def _linear_shapes(bias):
    def draw_shapes(draw):
        lead = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
        n_in, n_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        return [lead + (n_in,), (n_out, n_in)] + ([(n_out,)] if bias else [])
    return draw_shapes


def _pdist_shapes(draw):
    return [(draw(st.integers(2, 4)), draw(st.integers(1, 3)))]


# --- the entries ---------------------------------------------------------------------------------

def _unit_to_prob(u):
    """[-0.9, 0.9] -> [0.05, 0.95]: probabilities away from BCE's clamped logs at 0 and 1"""
    return u * 0.5 + 0.5


ENTRIES = [
    # losses: every reduction drawn
    Op("F.binary_cross_entropy",
       lambda x, t, *w, reduction: F.binary_cross_entropy(
           _unit_to_prob(x), _unit_to_prob(t), *w, reduction=reduction),
       lambda x, t, *w, reduction: np_bce(_unit_to_prob(x), _unit_to_prob(t), *w,
                                          reduction=reduction),
       _bce_shapes, domain=("unit", "unit", "positive"), params=_reduction),
    Op("F.binary_cross_entropy_with_logits",
       lambda x, t, reduction: F.binary_cross_entropy_with_logits(x, _unit_to_prob(t),
                                                                  reduction=reduction),
       lambda x, t, reduction: np_bce_with_logits(x, _unit_to_prob(t), reduction=reduction),
       _pair(False), domain=("real", "unit"), params=_reduction),
    Op("F.binary_cross_entropy_with_logits",
       lambda x, t, w, pw, reduction: F.binary_cross_entropy_with_logits(
           x, _unit_to_prob(t), w, reduction=reduction, pos_weight=pw),
       lambda x, t, w, pw, reduction: np_bce_with_logits(x, _unit_to_prob(t), w, pw, reduction),
       _bce_logits_shapes, domain=("real", "unit", "positive", "positive"), params=_reduction,
       label="weight, pos_weight"),
    Op("F.mse_loss",
       lambda x, t, *w, reduction: F.mse_loss(x, t, reduction=reduction,
                                              weight=w[0] if w else None),
       lambda x, t, *w, reduction: np_weighted((x - t) ** 2, w[0] if w else None, reduction),
       _pair(True), domain=("real", "real", "positive"), params=_reduction),
    # input = t + d with |d| >= 0.2: off the kink of |d| at 0
    Op("F.l1_loss",
       lambda d, t, *w, reduction: F.l1_loss(t + d, t, reduction=reduction,
                                             weight=w[0] if w else None),
       lambda d, t, *w, reduction: np_weighted(np.abs(d), w[0] if w else None, reduction),
       _pair(True), domain=("away", "real", "positive"), params=_reduction),
    # |d| away from 0.5 and 1, the switch points of the drawn delta / beta
    Op("F.huber_loss",
       lambda d, t, *w, delta, reduction: F.huber_loss(t + d, t, reduction=reduction,
                                                       delta=delta, weight=w[0] if w else None),
       lambda d, t, *w, delta, reduction: np_weighted(np_huber(d, delta), w[0] if w else None,
                                                      reduction, mean_by_weight=False),
       _pair(True), domain=("away_half", "real", "positive"), params=_huber_params),
    Op("F.smooth_l1_loss",
       lambda d, t, beta, reduction: F.smooth_l1_loss(t + d, t, reduction=reduction, beta=beta),
       lambda d, t, beta, reduction: _reduce(np_smooth_l1(d, beta), reduction),
       _pair(False), domain=("away_half", "real"), params=_smooth_l1_params),
    Op("F.smooth_l1_loss",
       lambda d, t, reduction: F.smooth_l1_loss(t + d, t, reduction=reduction, beta=0.0),
       lambda d, t, reduction: _reduce(np.abs(d), reduction),
       _pair(False), domain=("away", "real"), params=_reduction, label="beta=0"),
    Op("F.multi_margin_loss", _multi_margin,
       lambda x, target, grid, **p: np_multi_margin_loss(x * 0.1 + grid, target, **p),
       _multi_margin_shapes, domain="unit", params=_multi_margin_params),
    Op("F.nll_loss", _nll, np_nll_loss, _nll_shapes, params=_nll_params),
    # activations
    Op("F.relu", lambda x, inplace: F.relu(_copy_if(x, inplace), inplace=inplace),
       lambda x, inplace: np.maximum(x, 0), unary(), domain="away", params=_inplace_flag),
    Op("F.elu", lambda x, alpha, inplace: F.elu(_copy_if(x, inplace), alpha, inplace=inplace),
       lambda x, alpha, inplace: np_elu(x, alpha), unary(), domain="away", params=_elu_params),
    Op("F.leaky_relu",
       lambda x, negative_slope, inplace: F.leaky_relu(_copy_if(x, inplace), negative_slope,
                                                       inplace=inplace),
       lambda x, negative_slope, inplace: np.where(x > 0, x, negative_slope * x), unary(),
       domain="away", params=_leaky_params),
    Op("F.silu", lambda x, inplace: F.silu(_copy_if(x, inplace), inplace=inplace),
       lambda x, inplace: x * np_sigmoid(x), unary(), params=_inplace_flag),
    Op("F.gelu", lambda x, approximate: F.gelu(x, approximate=approximate), np_gelu, unary(),
       params=lambda draw, s: {"approximate": draw(st.sampled_from(["none", "tanh"]))}),
    Op("F.softplus", lambda x, beta, threshold: F.softplus(x, beta, threshold), np_softplus,
       unary(), domain="away_half", params=_softplus_params),
    Op("F.log_sigmoid", F.log_sigmoid, lambda x: -_log1pexp(-x), unary()),
    Op("F.sigmoid", F.sigmoid, np_sigmoid, unary()),
    Op("F.tanh", F.tanh, np.tanh, unary()),
    Op("F.erf", F.erf, np_erf, unary()),
    Op("F.softmax", lambda x, dim, dtype: F.softmax(x, dim, dtype=dtype),
       lambda x, dim, dtype: np_softmax(x, dim), unary(min_dims=1), params=_softmax_params),
    Op("F.log_softmax", lambda x, dim, dtype: F.log_softmax(x, dim, dtype=dtype),
       lambda x, dim, dtype: np.log(np_softmax(x, dim)), unary(min_dims=1),
       params=_softmax_params),
    Op("F.prelu", F.prelu, np_prelu, _prelu_channels, domain=("away", "real"),
       label="weight per channel"),
    Op("F.prelu", F.prelu, np_prelu, _prelu_single, domain=("away", "real"),
       label="single weight"),
    # linear
    Op("F.linear", F.linear, np_linear, _linear_shapes(True), label="with bias"),
    Op("F.linear", F.linear, np_linear, _linear_shapes(False), label="without bias"),
] + [
    # distinct elements: no zero distance (the sqrt kink) and, for p=1, no zero component
    Op("F.pdist", lambda x, p=p: F.pdist(x, p), lambda x, p=p: np_pdist(x, p), _pdist_shapes,
       domain="distinct", label=f"p={p}")
    for p in (1, 2, 3)
]
