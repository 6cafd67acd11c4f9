"""Catalog entries for nn.functional's losses (ENTRIES: a list of tests/catalog.py's Op), with
numpy references written from the definitions (CTC's by enumerating every alignment). Kinked
losses are drawn where they are smooth: inputs shifted or scaled away from their hinges."""
import itertools
import math
import warnings

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
import nn.functional as F
from catalog import MAX_SIDE, Op

REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


def _reduce(loss, reduction):
    if reduction == "mean":
        return np.mean(loss)
    if reduction == "sum":
        return np.sum(loss)
    return loss


def _log1pexp(x):
    return np.logaddexp(0.0, x)


def _seed(draw):
    return np.random.default_rng(draw(st.integers(0, 2**16)))


def _shape(min_dims=1, max_dims=2):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=MAX_SIDE)


def _same_shapes(n, min_dims=1, max_dims=2):
    def draw_shapes(draw):
        return [draw(_shape(min_dims, max_dims))] * n
    return draw_shapes


def _signs(draw, shape):
    return np.asarray(_seed(draw).choice([-1.0, 1.0], size=shape))


# --- references ---------------------------------------------------------------------------------

def np_kl_div(x, t, reduction="mean", log_target=False):
    if log_target:
        loss = np.exp(t) * (t - x)
    else:
        loss = np.where(t > 0, t * (np.log(np.where(t > 0, t, 1.0)) - x), 0.0)
    if reduction == "batchmean":
        return loss.sum() / (x.shape[0] if x.ndim else 1)
    return _reduce(loss, reduction)


def np_poisson_nll_loss(x, t, log_input=True, full=False, eps=1e-8, reduction="mean"):
    loss = np.exp(x) - t * x if log_input else x - t * np.log(x + eps)
    if full:
        safe = np.where(t > 1, t, 2.0)
        loss = loss + np.where(t > 1, safe * np.log(safe) - safe
                               + 0.5 * np.log(2 * math.pi * safe), 0.0)
    return _reduce(loss, reduction)


def np_gaussian_nll_loss(x, t, var, full=False, eps=1e-6, reduction="mean"):
    var = np.asarray(var, dtype=x.dtype)
    if var.shape != x.shape and var.shape == x.shape[:-1]:
        var = var[..., None]
    var = np.maximum(var, eps)
    loss = 0.5 * (np.log(var) + (x - t) ** 2 / var) + (0.5 * math.log(2 * math.pi) if full else 0)
    return _reduce(np.broadcast_to(loss, np.broadcast_shapes(x.shape, t.shape, var.shape)),
                   reduction)


def np_cosine_embedding_loss(x1, x2, target, margin=0.0, reduction="mean"):
    cos = (x1 * x2).sum(-1) / np.sqrt(((x1 ** 2).sum(-1) + 1e-12) * ((x2 ** 2).sum(-1) + 1e-12))
    loss = np.where(target == 1, 1 - cos, 0.0) + np.where(target == -1,
                                                            np.maximum(cos - margin, 0.0), 0.0)
    return _reduce(loss, reduction)


def np_margin_ranking_loss(x1, x2, target, margin=0.0, reduction="mean"):
    return _reduce(np.maximum(0.0, -target * (x1 - x2) + margin), reduction)


def np_hinge_embedding_loss(x, target, margin=1.0, reduction="mean"):
    loss = np.where(target == 1, x, np.maximum(margin - x, 0.0))
    return _reduce(loss, reduction)


def np_soft_margin_loss(x, target, reduction="mean"):
    return _reduce(_log1pexp(-target * x), reduction)


def np_multilabel_soft_margin_loss(x, t, w=None, reduction="mean"):
    loss = t * _log1pexp(-x) + (1 - t) * _log1pexp(x)
    if w is not None:
        loss = loss * w
    return _reduce(loss.mean(-1), reduction)


def np_multilabel_margin_loss(x, target, reduction="mean"):
    rows, c = (x.shape[0], x.shape[1]) if x.ndim == 2 else (1, x.shape[-1])
    xs, ys = x.reshape(rows, c), target.reshape(rows, c)
    out = np.zeros(rows)
    for n in range(rows):
        listed = []
        for j in ys[n]:
            if j < 0:
                break
            listed.append(int(j))
        for j in listed:
            for i in range(c):
                if i not in listed:
                    out[n] += max(0.0, 1 - xs[n, j] + xs[n, i])
    out /= c
    return _reduce(out if x.ndim == 2 else out.reshape(()), reduction)


def np_pairwise_distance(a, b, p=2.0, eps=1e-6):
    d = np.abs(a - b + eps)
    return (d ** p).sum(-1) ** (1 / p)


def np_triplet_margin_loss(a, pos, neg, margin=1.0, p=2.0, eps=1e-6, swap=False,
                           reduction="mean", dist=None):
    dist = dist or (lambda u, v: np_pairwise_distance(u, v, p, eps))
    d_neg = dist(a, neg)
    if swap:
        d_neg = np.minimum(d_neg, dist(pos, neg))
    return _reduce(np.maximum(margin + dist(a, pos) - d_neg, 0.0), reduction)


def _collapse(path, blank):
    out, prev = [], None
    for c in path:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return out


def np_ctc_loss(lp, targets, input_lengths, target_lengths, blank=0, reduction="mean"):
    """-log of the summed probability of every path (all C^T of them) collapsing to the target"""
    unbatched = lp.ndim == 2
    lp = lp[:, None] if unbatched else lp
    losses = []
    for b, (n_in, n_tg) in enumerate(zip(input_lengths, target_lengths)):
        target = list(np.asarray(targets).reshape(len(target_lengths), -1)[b, :n_tg])
        total = 0.0
        for path in itertools.product(range(lp.shape[2]), repeat=n_in):
            if _collapse(path, blank) == target:
                total += math.exp(sum(lp[t, b, c] for t, c in enumerate(path)))
        losses.append(-math.log(total))
    losses = np.array(losses)
    if reduction == "mean":
        return np.mean(losses / np.maximum(np.asarray(target_lengths), 1))
    if reduction == "sum":
        return losses.sum()
    return losses.reshape(()) if unbatched else losses


# --- shapes and parameters ----------------------------------------------------------------------

def _kl_div(x, t, reduction, log_target=False):
    with warnings.catch_warnings():  # (reduction='mean' warns that it is not the KL divergence)
        warnings.simplefilter("ignore", UserWarning)
        return F.kl_div(x, t, reduction=reduction, log_target=log_target)


def _reduction_param(draw, shapes):
    return {"reduction": draw(REDUCTIONS)}


def _kl_params(draw, shapes):
    return {"reduction": draw(st.sampled_from(["mean", "sum", "none", "batchmean"]))}


def _gaussian_shapes(draw):
    shape = draw(_shape(1, 3))
    kind = draw(st.sampled_from(["same", "drop_last", "one"]))
    if kind == "drop_last":
        var = shape[:-1]
    elif kind == "one":
        d = draw(st.integers(0, len(shape) - 1))
        var = shape[:d] + (1,) + shape[d + 1:]
    else:
        var = shape
    return [shape, shape, var]


def _gaussian_params(draw, shapes):
    return {"full": draw(st.booleans()), "reduction": draw(REDUCTIONS)}


def _pair_shapes(n_inputs):
    """n_inputs embeddings (N, D) with a 1-d target (N,), or (D,) with a 0-d target"""
    def draw_shapes(draw):
        return [draw(_shape(1, 2))] * n_inputs
    return draw_shapes


def _cosine_params(draw, shapes):
    # margin -1.5 < cos - 1/2: the y = -1 branch is never clipped (its hinge is drawn elsewhere)
    return {"target": _signs(draw, shapes[0][:-1]), "margin": -1.5,
            "reduction": draw(REDUCTIONS)}


def _sign_target_params(draw, shapes):
    return {"target": _signs(draw, shapes[0]), "reduction": draw(REDUCTIONS)}


def _mlsm_shapes(draw):
    shape = draw(_shape(1, 2))
    return [shape, shape, shape[-1:]]


def _mlm_shapes(draw):
    return [draw(_shape(1, 2))]


def _mlm_params(draw, shapes):
    shape = shapes[0]
    rng = _seed(draw)
    c = shape[-1]
    rows = 1 if len(shape) == 1 else shape[0]
    target = np.full((rows, c), -1, np.int64)
    for n in range(rows):
        k = int(rng.integers(0, c + 1))
        target[n, :k] = rng.choice(c, size=k)  # (repeats count twice, as in PyTorch)
    return {"target": target.reshape(shape), "reduction": draw(REDUCTIONS)}


def _triplet_params(draw, shapes):
    # margin 10 keeps every triplet inside its hinge; shifted inputs keep every distance > 0.6
    return {"p": draw(st.sampled_from([2.0, 3.0, 1.5])), "swap": draw(st.booleans()),
            "eps": draw(st.sampled_from([1e-6, 0.1])), "reduction": draw(REDUCTIONS)}


def _squared_distance(x, y):
    return ((x - y) ** 2).sum(-1)


def _twd_params(draw, shapes):
    return {"distance": draw(st.sampled_from(["default", "squared"])),
            "swap": draw(st.booleans()), "reduction": draw(REDUCTIONS)}


def _ctc_shapes(draw):
    t = draw(st.integers(1, 4))
    c = draw(st.integers(2, 3))
    if draw(st.booleans()):
        return [(t, c)]  # unbatched
    return [(t, draw(st.integers(1, 2)), c)]


def _ctc_params(draw, shapes):
    shape = shapes[0]
    t, c = shape[0], shape[-1]
    batch = 1 if len(shape) == 2 else shape[1]
    blank = draw(st.integers(0, c - 1))
    labels = [k for k in range(c) if k != blank]
    rows, il, tl = [], [], []
    for _ in range(batch):
        n = draw(st.integers(0, min(2, t)))
        row = [draw(st.sampled_from(labels)) for _ in range(n)]
        need = n + sum(a == b for a, b in zip(row, row[1:]))  # repeats need a blank between
        if need > t:
            row, need = row[:1], min(n, 1)
        rows.append(row)
        tl.append(len(row))
        il.append(draw(st.integers(max(need, 1), t)))
    width = max(tl + [1])
    if draw(st.booleans()) or len(shape) == 2:
        targets = np.array([r + [blank] * (width - len(r)) for r in rows], np.int64)
        if len(shape) == 2:
            targets = targets[0]
    else:
        targets = np.array(sum(rows, []), np.int64)  # concatenated
    return {"targets": targets, "input_lengths": tuple(il), "target_lengths": tuple(tl),
            "blank": blank, "reduction": draw(REDUCTIONS)}


def _np_ctc(lp, targets, input_lengths, target_lengths, blank, reduction):
    if targets.ndim == 1 and lp.ndim == 3:  # concatenated: pad to rows
        rows, start = [], 0
        for n in target_lengths:
            rows.append(list(targets[start:start + n]) + [0] * (max(target_lengths) - n))
            start += n
        targets = np.array(rows).reshape(len(target_lengths), -1)
    return np_ctc_loss(lp, targets, input_lengths, target_lengths, blank, reduction)


def _nd_class_shapes(draw):
    return [(draw(st.integers(1, 2)), draw(st.integers(2, 3)), draw(st.integers(1, 2)),
             draw(st.integers(1, 2)))]


def _nd_class_params(draw, shapes):
    n, c, h, w = shapes[0]
    rng = _seed(draw)
    target = rng.integers(0, c, (n, h, w))
    target[rng.random((n, h, w)) < 0.3] = -100
    target[0, 0, 0] = 0  # (all ignored gives nan, as PyTorch)
    weight = rng.uniform(0.5, 2.0, c)
    return {"target": target, "weight": weight if draw(st.booleans()) else None,
            "label_smoothing": draw(st.sampled_from([0.0, 0.2])),
            "reduction": draw(REDUCTIONS)}


def _linear_ce_shapes(draw):
    n, c, h, w = _nd_class_shapes(draw)[0]
    return [(n, 3), (c, h, w, 3)]


def _linear_ce_params(draw, shapes):
    (n, _), (c, h, w, _) = shapes
    return _nd_class_params(draw, [(n, c, h, w)])


def _np_nd_cross_entropy(x, target, weight, label_smoothing, reduction):
    c = x.shape[1]
    logp = x - np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True)) \
        - x.max(1, keepdims=True)
    w = np.ones(c) if weight is None else weight
    keep = target != -100
    safe = np.where(keep, target, 0)
    picked = np.take_along_axis(logp, safe[:, None], 1)[:, 0]
    nll = -w[safe] * picked * keep
    smooth = -(logp * w[None, :, None, None]).sum(1) * keep
    denom = (w[safe] * keep).sum()
    if reduction == "none":
        return (1 - label_smoothing) * nll + label_smoothing / c * smooth
    if reduction == "sum":
        return (1 - label_smoothing) * nll.sum() + label_smoothing / c * smooth.sum()
    return ((1 - label_smoothing) * nll.sum() + label_smoothing / c * smooth.sum()) / denom


def _ad_weight(weight):
    return None if weight is None else ad.tensor(weight)


ENTRIES = [
    Op("F.kl_div", _kl_div,
       lambda x, t, reduction: np_kl_div(x, t, reduction), _same_shapes(2, 1, 3),
       domain=("real", "positive"), params=_kl_params, label="probability target"),
    Op("F.kl_div", lambda x, t, reduction: _kl_div(x, t, reduction, log_target=True),
       lambda x, t, reduction: np_kl_div(x, t, reduction, True), _same_shapes(2, 1, 3),
       params=_kl_params, label="log_target"),
    Op("F.poisson_nll_loss", lambda x, t, reduction: F.poisson_nll_loss(x, t, reduction=reduction),
       lambda x, t, reduction: np_poisson_nll_loss(x, t, reduction=reduction),
       _same_shapes(2, 1, 3), domain=("real", "positive"), params=_reduction_param,
       label="log_input"),
    Op("F.poisson_nll_loss",
       lambda x, t, reduction: F.poisson_nll_loss(x, t, log_input=False, reduction=reduction),
       lambda x, t, reduction: np_poisson_nll_loss(x, t, log_input=False, reduction=reduction),
       _same_shapes(2, 1, 3), domain="positive", params=_reduction_param, label="rate input"),
    # full: Stirling's term jumps at y = 1, so the target is a constant there
    Op("F.poisson_nll_loss",
       lambda x, t, reduction: F.poisson_nll_loss(x, t * 2, full=True, reduction=reduction),
       lambda x, t, reduction: np_poisson_nll_loss(x, t * 2, full=True, reduction=reduction),
       _same_shapes(2, 1, 3), domain=("real", "positive"), params=_reduction_param,
       constants=(1,), label="full"),
    Op("F.gaussian_nll_loss",
       lambda x, t, v, full, reduction: F.gaussian_nll_loss(x, t, v, full=full,
                                                            reduction=reduction),
       lambda x, t, v, full, reduction: np_gaussian_nll_loss(x, t, v, full=full,
                                                             reduction=reduction),
       _gaussian_shapes, domain=("real", "real", "positive"), params=_gaussian_params),
    Op("F.cosine_embedding_loss",
       lambda a, b, target, margin, reduction: F.cosine_embedding_loss(
           a, b, ad.tensor(target), margin, reduction=reduction),
       np_cosine_embedding_loss, _pair_shapes(2), domain="away", params=_cosine_params),
    # x2 = -b with a, b > 0.3 and margin 0.3: -y (x1 - x2) + margin stays 0.3 from the hinge
    Op("F.margin_ranking_loss",
       lambda a, b, target, reduction: F.margin_ranking_loss(
           a, -b, ad.tensor(target), margin=0.3, reduction=reduction),
       lambda a, b, target, reduction: np_margin_ranking_loss(a, -b, target, 0.3, reduction),
       _same_shapes(2, 1, 3), domain="positive", params=_sign_target_params),
    Op("F.hinge_embedding_loss",
       lambda x, target, reduction: F.hinge_embedding_loss(x, ad.tensor(target), margin=0.0,
                                                           reduction=reduction),
       lambda x, target, reduction: np_hinge_embedding_loss(x, target, 0.0, reduction),
       _same_shapes(1, 1, 3), domain="away", params=_sign_target_params),
    Op("F.soft_margin_loss",
       lambda x, target, reduction: F.soft_margin_loss(x, ad.tensor(target),
                                                       reduction=reduction),
       np_soft_margin_loss, _same_shapes(1, 1, 3), params=_sign_target_params),
    Op("F.multilabel_soft_margin_loss",
       lambda x, t, w, reduction: F.multilabel_soft_margin_loss(x, t, w, reduction=reduction),
       np_multilabel_soft_margin_loss, _mlsm_shapes, domain=("real", "unit", "positive"),
       params=_reduction_param),
    # scores in [-0.36, 0.36]: every (target, non-target) pair is inside its hinge
    Op("F.multilabel_margin_loss",
       lambda x, target, reduction: F.multilabel_margin_loss(x * 0.4, ad.tensor(target),
                                                             reduction=reduction),
       lambda x, target, reduction: np_multilabel_margin_loss(x * 0.4, target, reduction),
       _mlm_shapes, domain="unit", params=_mlm_params),
    Op("F.triplet_margin_loss",
       lambda a, b, c, p, swap, eps, reduction: F.triplet_margin_loss(
           a, -b, c + 3, margin=10.0, p=p, eps=eps, swap=swap, reduction=reduction),
       lambda a, b, c, p, swap, eps, reduction: np_triplet_margin_loss(
           a, -b, c + 3, 10.0, p, eps, swap, reduction),
       _pair_shapes(3), domain="positive", params=_triplet_params),
    Op("F.triplet_margin_with_distance_loss",
       lambda a, b, c, distance, swap, reduction: F.triplet_margin_with_distance_loss(
           a, -b, c + 3, distance_function=None if distance == "default" else _squared_distance,
           margin=30.0, swap=swap, reduction=reduction),
       lambda a, b, c, distance, swap, reduction: np_triplet_margin_loss(
           a, -b, c + 3, 30.0, swap=swap, reduction=reduction,
           dist=None if distance == "default" else _squared_distance),
       _pair_shapes(3), domain="positive", params=_twd_params),
    Op("F.ctc_loss",
       lambda lp, targets, input_lengths, target_lengths, blank, reduction: F.ctc_loss(
           lp, ad.tensor(targets), input_lengths, target_lengths, blank, reduction),
       _np_ctc, _ctc_shapes, params=_ctc_params),
    Op("F.cross_entropy",
       lambda x, target, weight, label_smoothing, reduction: F.cross_entropy(
           x, ad.tensor(target), _ad_weight(weight), reduction=reduction,
           label_smoothing=label_smoothing),
       _np_nd_cross_entropy, _nd_class_shapes, params=_nd_class_params,
       label="(N, C, d1, d2), ignore_index"),
    Op("F.linear_cross_entropy",
       lambda x, w, target, weight, label_smoothing, reduction: F.linear_cross_entropy(
           x, w, ad.tensor(target), weight=_ad_weight(weight), reduction=reduction,
           label_smoothing=label_smoothing),
       lambda x, w, **p: _np_nd_cross_entropy(np.tensordot(x, w, ([1], [3])), **p),
       _linear_ce_shapes, params=_linear_ce_params, label="out_features (d1, d2)"),
]
