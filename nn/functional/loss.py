"""Loss functions (PyTorch's signatures, the deprecated size_average/reduce included)."""
import math
import warnings

import numpy as np

import autodiff as ad
from autodiff.compiler import replayed
from nn.functional._util import (_check_reduction, _const, _float_input, _reduce,
                                 _same_shape, _tensor)
from nn.functional.activation import _log1pexp
from nn.functional.distance import pairwise_distance
from nn.functional.normalization import _channel_view

__all__ = [
    "nll_loss", "cross_entropy", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "multi_margin_loss",
    "kl_div", "poisson_nll_loss", "gaussian_nll_loss", "cosine_embedding_loss",
    "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "multilabel_margin_loss",
    "multilabel_soft_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
    "ctc_loss", "linear_cross_entropy",
]


class _ShapeError(RuntimeError, ValueError):
    """A size mismatch: PyTorch raises RuntimeError; nn raised ValueError before, so it is both"""


class _DtypeError(RuntimeError, TypeError):
    """A wrong target dtype: PyTorch raises RuntimeError; nn raised TypeError before"""


class _RangeError(IndexError, RuntimeError):
    """A class index out of range where PyTorch raises RuntimeError (multi_margin_loss)"""


def _legacy_reduction(size_average, reduce, reduction, op):
    """The reduction named by the deprecated size_average/reduce pair (PyTorch's rule: either
    one given overrides reduction; None counts as True), with a deprecation warning"""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    new = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(f"{op}: size_average and reduce are deprecated and override reduction; pass "
                  f"reduction='{new}' instead", UserWarning, stacklevel=3)
    return new


def _reduction(size_average, reduce, reduction, op):
    reduction = _legacy_reduction(size_average, reduce, reduction, op)
    _check_reduction(reduction, op)
    return reduction


def _matching_shapes(a, b, op, names=("input", "target")):
    """Same shape required (as mse_loss here): RuntimeError where PyTorch's broadcasting fails
    too, ValueError where it would silently broadcast"""
    if a.shape == b.shape:
        return
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise RuntimeError(f"{op}: {names[1]} shape {tuple(b.shape)} does not match {names[0]} "
                           f"shape {tuple(a.shape)}; they must be equal") from None
    _same_shape(a, b, op)


def _class_targets(input, target, ignore_index, op):
    """Checks index targets for (N, C, *) / (C,) input: int dtype, shape, range. Returns the
    int64 array of targets (ignored positions kept as ignore_index)."""
    return _checked_targets(tuple(input.shape), target, ignore_index, op)


@replayed(pure=True)
def _checked_targets(shape, target, ignore_index, op):
    """_class_targets for an input of this shape (a pure function of the target: a compiled
    function checks the targets of every call before anything else runs)."""
    arr = target.data
    expected = shape[:1] + shape[2:] if len(shape) >= 2 else ()
    if arr.dtype.kind == "f":
        raise _DtypeError(
            f"{op}: target has dtype {arr.dtype} and shape {tuple(arr.shape)}, but a float "
            f"target must hold class probabilities with the input's shape {shape}. "
            f"For class indices, pass an integer tensor of shape {expected}: target.long()")
    if arr.dtype.kind not in "iu":
        raise _DtypeError(f"{op}: target must hold integer class indices (int64), got dtype "
                          f"{arr.dtype}; convert with target.long()")
    if tuple(arr.shape) != tuple(expected):
        hint = (" - squeeze the target: target.squeeze(-1)" if arr.shape == expected + (1,)
                else "")
        raise _ShapeError(f"{op}: target of class indices has shape {tuple(arr.shape)}, but "
                          f"input of shape {shape} (classes in dim "
                          f"{1 if len(shape) >= 2 else 0}) needs target shape {expected}{hint}")
    n_classes = shape[1] if len(shape) >= 2 else shape[0]
    if arr.size and 0 <= np.minimum.reduce(arr, axis=None) and \
            np.maximum.reduce(arr, axis=None) < n_classes:
        return arr.astype(np.int64, copy=False)  # all in range (checked without a mask)
    valid = arr != ignore_index if ignore_index is not None else np.ones(arr.shape, bool)
    if valid.any():
        vals = arr[valid]
        lo, hi = vals.min(), vals.max()
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            also = "" if ignore_index is None else f", or ignore_index={ignore_index}"
            error = _RangeError if op == "multi_margin_loss" else IndexError
            raise error(f"{op}: target contains class index {int(bad)}, but input has "
                        f"{n_classes} classes (valid: 0 to {n_classes - 1}{also}); check the "
                        f"labels or the last layer's out_features")
    return arr.astype(np.int64, copy=False)


@replayed(pure=True)
def _holds(arr, value):
    """Whether arr holds value (a branch autodiff.compile re-checks at every replay)."""
    return bool((arr == value).any())


def _check_weight(weight, n_classes, op, dtype=None):
    """weight checked to be (C,), in the input's dtype (a float64 weight must not silently
    promote a float32 loss)"""
    if weight is None:
        return None
    weight = _float_input(weight, op, "weight")
    if tuple(weight.shape) != (n_classes,):
        raise _ShapeError(f"{op}: weight must have one entry per class, shape ({n_classes},), "
                          f"got {tuple(weight.shape)}")
    return weight if dtype is None else weight.to(dtype)


def _weight_without_grad(weight, function):
    """PyTorch's refusal of a class weight that requires grad: its kernel (named `function`)
    has no derivative with respect to the weight"""
    if weight is not None and weight.requires_grad and ad.is_grad_enabled():
        raise RuntimeError(f"The function '{function}' is not differentiable with respect to "
                           f"argument 'weight'. This input cannot have requires_grad True.")


def _pick(logp, idx):
    """logp[i, idx[i], ...]: the entry of each position's class, class dim 1 (or 0 if 1-D)."""
    if logp.ndim == 1:
        return logp[int(idx)]
    return ad.gather(logp, 1, np.expand_dims(idx, 1)).squeeze(1)


def _nll(logp, target, weight, ignore_index, reduction, op):
    """Weighted negative log-likelihood of index targets; mean = sum / sum of used weights."""
    n_classes = logp.shape[1] if logp.ndim >= 2 else logp.shape[0]
    weight = _check_weight(weight, n_classes, op, logp.dtype)
    _weight_without_grad(weight, "nll_loss_forward" if logp.ndim <= 2 else "nll_loss2d_forward")
    idx = _class_targets(logp, target, ignore_index, op)
    keep = idx != ignore_index
    safe = np.where(keep, idx, 0)
    w = keep.astype(logp.dtype)
    if weight is not None:
        w = w * weight.data[safe]
    # ignored positions are left out, not multiplied by 0 (their log-probabilities may be
    # -inf or NaN, e.g. padding masked with -inf)
    losses = -ad.where(_const(keep), _pick(logp, safe), 0.0) * _const(w)
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    return _weighted_mean(total, float(w.sum()))


def _weighted_mean(total, denom):
    """total / denom; when every target is ignored (denom 0) the value is nan and the gradient
    zero, as in PyTorch"""
    if denom == 0:
        return total * 0.0 + float("nan")
    return total / denom


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """-weight[y] * input[y] per sample (input = log-probabilities, classes in dim 1 of
    (N, C, d1, ...)); 'mean' divides by the sum of the weights of the non-ignored targets"""
    op = "nll_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    input = _float_input(input, op)
    target = _tensor(target, op, "target")
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dim, shape (N, C) or (C,), got a scalar")
    return _nll(input, target, weight, ignore_index, reduction, op)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """-sum_c q_c log softmax(x)_c from logits (fused via log_softmax: stable at any scale).
    target: class indices (N,) / (N, d...) or class probabilities shaped like input.
    label_smoothing eps mixes the target with uniform: q = (1 - eps) q + eps / C."""
    op = "cross_entropy"
    reduction = _reduction(size_average, reduce, reduction, op)
    input = _float_input(input, op)
    target = _tensor(target, op, "target")
    if input.ndim == 0:
        raise ValueError(f"{op}: input must be logits of shape (N, C) or (C,), got a scalar")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    cdim = 1 if input.ndim >= 2 else 0
    n_classes = input.shape[cdim]
    if weight is None and label_smoothing == 0.0 and target.dtype.kind in "iu":
        idx = _class_targets(input, target, ignore_index, op)
        if ignore_index is None or not _holds(idx, ignore_index):
            # the common case: one fused op, -log softmax(x)[y] per position
            return _reduce(ad.softmax_cross_entropy(input, idx, cdim), reduction)
    logp = ad.log_softmax(input, cdim)
    if target.dtype.kind == "f" and target.shape == input.shape:
        return _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, cdim)
    nll = _nll(logp, target, weight, ignore_index, reduction, op)
    if label_smoothing == 0.0:
        return nll
    # smoothing term: -sum_c w_c log p_c per position, normalised like the nll term
    weight = _check_weight(weight, n_classes, op, input.dtype)
    idx = target.data
    keep = idx != ignore_index
    wlogp = logp * _channel_view(weight, input.ndim) if weight is not None else logp
    smooth = -ad.where(_const(keep), wlogp.sum(cdim), 0.0)  # ignored positions left out
    if reduction == "sum":
        smooth = smooth.sum()
    elif reduction == "mean":
        if weight is not None:
            denom = float(weight.data[np.where(keep, idx, 0)][keep].sum())
        else:
            denom = float(keep.sum())
        smooth = _weighted_mean(smooth.sum(), denom)
    return (1.0 - label_smoothing) * nll + smooth * (label_smoothing / n_classes)


def _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, cdim):
    """-sum_c w_c q_c log p_c per position; 'mean' divides by the number of positions"""
    n_classes = logp.shape[cdim]
    if label_smoothing > 0:
        target = target * (1.0 - label_smoothing) + label_smoothing / n_classes
    weight = _check_weight(weight, n_classes, "cross_entropy", logp.dtype)
    if weight is not None:
        logp = logp * _channel_view(weight, logp.ndim)
    losses = -(logp * target).sum(cdim)
    return _reduce(losses, reduction)


def _sample_weight(weight, input, op):
    """mse/l1/huber's elementwise weight: exactly the input's shape, as PyTorch"""
    if weight is None:
        return None
    weight = _float_input(weight, op, "weight")
    if weight.shape != input.shape:
        raise ValueError(f"{op}: weight of shape {tuple(weight.shape)} must have the input's "
                         f"shape {tuple(input.shape)} (one weight per element)")
    return weight


def _weighted(loss, weight, reduction, mean_by_weight=True):
    """loss * weight reduced; 'mean' divides by sum(weight) (mse, l1) or by the count (huber)"""
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """w (x - y)^2; with weight, 'mean' is sum(w (x - y)^2) / sum(w)"""
    op = "mse_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    input, target = _float_input(input, op), _tensor(target, op, "target")
    _same_shape(input, target, op)
    weight = _sample_weight(weight, input, op)
    d = input - target
    return _weighted(d * d, weight, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """w |x - y|   (gradient 0 where x == y); with weight, 'mean' is sum(w |x - y|) / sum(w)"""
    op = "l1_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    input, target = _float_input(input, op), _tensor(target, op, "target")
    _same_shape(input, target, op)
    weight = _sample_weight(weight, input, op)
    return _weighted((input - target).abs(), weight, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta, d = x - y (beta = 0: L1)"""
    op = "smooth_l1_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    if beta < 0:
        raise RuntimeError(f"{op}: beta must be non-negative, got {beta}")
    input, target = _float_input(input, op), _tensor(target, op, "target")
    _same_shape(input, target, op)
    d = input - target
    a = d.abs()
    if beta == 0:
        return _reduce(a, reduction)
    small = a < beta
    d = ad.where(small, d, 0.0)  # the square only where used: inf * 0 would make a NaN gradient
    return _reduce(ad.where(small, (0.5 / beta) * d * d, a - 0.5 * beta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """w (0.5 d^2 if |d| <= delta else delta (|d| - 0.5 delta)), d = x - y; with weight,
    'mean' is the plain mean of the weighted losses (as PyTorch)"""
    op = "huber_loss"
    _check_reduction(reduction, op)
    if delta <= 0:
        raise RuntimeError(f"{op}: delta must be positive, got {delta}")
    input, target = _float_input(input, op), _tensor(target, op, "target")
    _same_shape(input, target, op)
    weight = _sample_weight(weight, input, op)
    d = input - target
    a = d.abs()
    small = a < delta
    d = ad.where(small, d, 0.0)  # the square only where used: inf * 0 would make a NaN gradient
    loss = ad.where(small, 0.5 * d * d, delta * (a - 0.5 * delta))
    return _weighted(loss, weight, reduction, mean_by_weight=False)


def _check_loss_weight(weight, input, op):
    if weight is None:
        return None
    weight = _float_input(weight, op, "weight")
    try:
        if np.broadcast_shapes(weight.shape, input.shape) != input.shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"{op}: weight of shape {tuple(weight.shape)} must broadcast to the "
                         f"input's shape {tuple(input.shape)}") from None
    return weight.to(input.dtype)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x, each log clamped at -100 (as
    PyTorch) so x = 0 or 1 gives a finite loss"""
    op = "binary_cross_entropy"
    reduction = _reduction(size_average, reduce, reduction, op)
    input, target = _float_input(input, op), _tensor(target, op, "target")
    _same_shape(input, target, op)
    x = input.data
    if x.size and (np.nanmin(x) < 0 or np.nanmax(x) > 1 or np.isnan(x).any()):
        raise ValueError(f"{op}: every element of input must be a probability in [0, 1], got "
                         f"values in [{np.nanmin(x):.4g}, {np.nanmax(x):.4g}]; apply sigmoid "
                         f"first, or pass logits to binary_cross_entropy_with_logits")
    weight = _check_loss_weight(weight, input, op)
    with np.errstate(divide="ignore"):
        log_x = ad.clamp(input.log(), min=-100.0)
        log_1mx = ad.clamp((1.0 - input).log(), min=-100.0)
    loss = -(target * log_x + (1.0 - target) * log_1mx)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """-w (p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))) from logits, stably:
    (1 - y) x + (1 + (p - 1) y) softplus(-x); pos_weight p broadcasts along the last dim"""
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(size_average, reduce, reduction, op)
    input, target = _float_input(input, op), _tensor(target, op, "target")
    _same_shape(input, target, op)
    weight = _check_loss_weight(weight, input, op)
    sp = _log1pexp(-input)  # -log sigmoid(x)
    if pos_weight is not None:
        pos_weight = _check_loss_weight(pos_weight, input, op + " (pos_weight)")
        loss = (1.0 - target) * input + (1.0 + (pos_weight - 1.0) * target) * sp
    else:
        loss = (1.0 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """Multiclass SVM hinge: sum_{j != y} w_y max(0, margin - x_y + x_j)^p / C per sample
    (PyTorch divides by the number of classes C; the course's hinge is C times this)"""
    op = "multi_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p=1 or p=2 is supported, got {p}")
    input = _float_input(input, op)
    target = _tensor(target, op, "target")
    if input.ndim not in (1, 2):
        raise ValueError(f"{op}: input must be scores of shape (N, C) or (C,), got shape "
                         f"{tuple(input.shape)}")
    n_classes = input.shape[-1]
    weight = _check_weight(weight, n_classes, op, input.dtype)
    _weight_without_grad(weight, op)
    idx = _class_targets(input, target, None, op)
    x = input if input.ndim == 2 else input.unsqueeze(0)
    y = idx.reshape(-1)
    correct = ad.gather(x, 1, y[:, None])  # (N, 1)
    others = np.arange(n_classes)[None, :] != y[:, None]  # the j = y term is left out
    with np.errstate(invalid="ignore"):  # left out before the hinge: inf - inf there is NaN
        h = ad.relu(ad.where(_const(others), (margin - correct) + x, 0.0))
    if p == 2:
        h = h * h
    scale = others.astype(input.dtype) / n_classes
    if weight is not None:
        scale = scale * weight.data[y][:, None]
    losses = (h * _const(scale, input.dtype)).sum(1)
    if input.ndim == 1:
        losses = losses.reshape(())
    return _reduce(losses, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """sum t (log t - x) for log-probabilities x and probabilities t (0 log 0 = 0); with
    log_target=True, t is given as log t. reduction='batchmean' divides the sum by the batch
    size (the true KL divergence); 'mean' averages over every element, as PyTorch does"""
    op = "kl_div"
    legacy = size_average is not None or reduce is not None
    reduction = _legacy_reduction(size_average, reduce, reduction, op)
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ValueError(f"{op}: reduction must be 'batchmean', 'mean', 'sum' or 'none', got "
                         f"{reduction!r}")
    if reduction == "mean" and not legacy:
        warnings.warn("reduction: 'mean' divides the summed kl_div by the number of elements "
                      "(batch size times support size); the KL divergence itself is "
                      "reduction='batchmean', which divides by the batch size only",
                      UserWarning, stacklevel=2)
    input, target = _float_input(input, op), _float_input(target, op, "target")
    _same_shape(input, target, op)
    if log_target:
        losses = target.exp() * (target - input)
    else:
        # PyTorch's xlogy(t, t): 0 where t == 0, NaN where t < 0
        zero = target == 0
        with np.errstate(invalid="ignore"):
            t_log_t = ad.where(zero, 0.0, target * ad.where(zero, 1.0, target).log())
        losses = t_log_t - target * input
    if reduction == "batchmean":
        return losses.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(losses, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """exp(x) - y x (log_input) or x - y log(x + eps); full adds Stirling's
    y log y - y + log(2 pi y) / 2 where y > 1"""
    op = "poisson_nll_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    input, target = _float_input(input, op), _float_input(target, op, "target")
    _matching_shapes(input, target, op)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        # the approximation of log(y!) is only added where y > 1 (log(0!) = log(1!) = 0)
        big = target > 1
        y = ad.where(big, target, 2.0)
        stirling = y * y.log() - y + 0.5 * (2 * math.pi * y).log()
        loss = loss + ad.where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def _gaussian_var(var, input, op):
    """var as a tensor broadcasting against input, by PyTorch's rules: input's shape, input's
    shape without its last dim, or input's shape with exactly one dim of size 1"""
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{op}: var must be non-negative, got {var}")
        return ad.full(tuple(input.shape), float(var), dtype=input.dtype)
    var = _float_input(var, op, "var")
    if var.data.size and (var.data < 0).any():
        raise ValueError(f"{op}: var has negative entries (min {var.data.min():.4g}); a "
                         f"variance must be >= 0, e.g. pass softplus(raw) or raw.exp()")
    if var.shape == input.shape:
        return var
    if var.shape == input.shape[:-1]:
        return var.unsqueeze(-1)  # one variance per sample, shared by its last dim
    if var.ndim == input.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
        return var
    raise ValueError(f"{op}: var of shape {tuple(var.shape)} does not fit input of shape "
                     f"{tuple(input.shape)}; give var the input's shape, the input's shape "
                     f"without its last dim, or the input's shape with one dim of size 1")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """(log max(var, eps) + (x - y)^2 / max(var, eps)) / 2 (+ log(2 pi) / 2 when full); the
    clamp at eps is not differentiated (the gradient reaches var as if unclamped, as PyTorch)"""
    op = "gaussian_nll_loss"
    _check_reduction(reduction, op)
    input, target = _float_input(input, op), _float_input(target, op, "target")
    var = _gaussian_var(var, input, op)
    small = var.data < eps
    if small.any():
        # value eps, derivative 1 (var - var.detach() is exactly 0)
        var = ad.where(_const(small), var - var.detach() + eps, var)
    d = input - target
    loss = 0.5 * (var.log() + d * d / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1 (0 otherwise);
    cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)) over the last dim"""
    op = "cosine_embedding_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    x1, x2 = _float_input(input1, op, "input1"), _float_input(input2, op, "input2")
    target = _tensor(target, op, "target")
    if target.ndim > 1:
        raise RuntimeError(f"{op}: target must be 0-d or 1-d (one label +1/-1 per pair), got "
                           f"shape {tuple(target.shape)}")
    need = target.ndim + 1
    if x1.ndim != need or x2.ndim != need:
        raise RuntimeError(f"{op}: a {target.ndim}-d target needs {need}-d inputs, got input1 "
                           f"of shape {tuple(x1.shape)} and input2 of shape {tuple(x2.shape)}")
    d = target.ndim
    eps = 1e-12
    cos = (x1 * x2).sum(d) / (((x1 * x1).sum(d) + eps) * ((x2 * x2).sum(d) + eps)).sqrt()
    y = target.data
    if y.shape != cos.shape:
        raise RuntimeError(f"{op}: target of shape {tuple(y.shape)} does not match the "
                           f"{tuple(cos.shape)} pairs of input1 {tuple(x1.shape)}")
    out = (ad.where(_const(y == 1), 1.0 - cos, 0.0)
           + ad.where(_const(y == -1), ad.clamp(cos - margin, min=0.0), 0.0))
    return _reduce(out, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -y (x1 - x2) + margin)"""
    op = "margin_ranking_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    x1, x2 = _float_input(input1, op, "input1"), _float_input(input2, op, "input2")
    target = _tensor(target, op, "target")
    if not x1.shape == x2.shape == target.shape:
        raise RuntimeError(f"{op}: input1, input2 and target must have the same shape, got "
                           f"{tuple(x1.shape)}, {tuple(x2.shape)} and {tuple(target.shape)}")
    return _reduce(ad.relu(margin - target * (x1 - x2)), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """x where y = 1, max(0, margin - x) where y = -1 (both terms for other labels)"""
    op = "hinge_embedding_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    input, target = _float_input(input, op), _tensor(target, op, "target")
    _matching_shapes(input, target, op)
    y = target.data
    out = (ad.where(_const(y != 1), ad.clamp(margin - input, min=0.0), 0.0)
           + ad.where(_const(y != -1), input, 0.0))
    return _reduce(out, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-y x)), computed without overflow"""
    op = "soft_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    input, target = _float_input(input, op), _tensor(target, op, "target")
    _matching_shapes(input, target, op)
    return _reduce(_log1pexp(-target * input), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """-mean_c w_c (y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c)) over the last dim"""
    op = "multilabel_soft_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    input, target = _float_input(input, op), _tensor(target, op, "target")
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dim (its last), got a scalar")
    _matching_shapes(input, target, op)
    loss = target * _log1pexp(-input) + (1.0 - target) * _log1pexp(input)
    if weight is not None:
        weight = _float_input(weight, op, "weight")
        try:
            fits = np.broadcast_shapes(weight.shape, input.shape) == input.shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"{op}: weight of shape {tuple(weight.shape)} must broadcast to "
                               f"the input's shape {tuple(input.shape)}, e.g. one weight per "
                               f"class: shape ({input.shape[-1]},)")
        loss = loss * weight
    return _reduce(loss.sum(-1) / input.shape[-1], reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """sum_{j in targets} sum_{i not in targets} max(0, 1 - (x_j - x_i)) / C per sample; the
    targets of a sample are its target row up to the first -1"""
    op = "multilabel_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    input, target = _float_input(input, op), _tensor(target, op, "target")
    nd = input.ndim
    if nd > 2 or (nd >= 1 and input.shape[-1] == 0):
        raise RuntimeError(f"{op}: input must be a non-empty vector (C,) or matrix (N, C), got "
                           f"shape {tuple(input.shape)}")
    n_classes = input.shape[-1] if nd else 1
    rows = input.shape[0] if nd == 2 else 1
    ok = (target.shape == input.shape if nd == 2
          else target.ndim <= 1 and target.numel() == n_classes)
    if not ok:
        raise RuntimeError(f"{op}: target of shape {tuple(target.shape)} does not match input "
                           f"of shape {tuple(input.shape)}; it must have the input's shape, "
                           f"class indices padded with -1")
    y = target.data
    if y.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: target must hold integer class indices (int64), got dtype "
                           f"{y.dtype}; convert it with target.long()")
    y = y.reshape(rows, n_classes).astype(np.int64)
    if y.size and (y.min() < -1 or y.max() >= n_classes):
        bad = y.min() if y.min() < -1 else y.max()
        raise RuntimeError(f"{op}: target contains {int(bad)}, but valid entries are class "
                           f"indices 0 to {n_classes - 1}, padded with -1")
    valid = np.cumprod(y >= 0, axis=1).astype(bool)  # the entries before the first -1
    is_target = np.zeros((rows, n_classes), bool)
    is_target[np.nonzero(valid)[0], y[valid]] = True
    x = input.reshape(rows, n_classes)
    x_target = ad.gather(x, 1, np.where(valid, y, 0))  # (N, K): each listed target's score
    pairs = valid[:, :, None] & ~is_target[:, None, :]  # (a listed target, a non-target)
    with np.errstate(invalid="ignore"):  # the other pairs left out before the hinge (inf - inf)
        z = ad.where(_const(pairs), 1.0 - x_target.unsqueeze(2) + x.unsqueeze(1), 0.0)
    losses = ad.relu(z).sum((1, 2)) / n_classes  # z: (N, K, C)
    if nd < 2:
        losses = losses.reshape(())
    return _reduce(losses, reduction)


def _same_ndim(anchor, positive, negative, op):
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"{op}: anchor, positive and negative must have the same number of "
                           f"dims, got {anchor.ndim}-d, {positive.ndim}-d and {negative.ndim}-d "
                           f"(shapes {tuple(anchor.shape)}, {tuple(positive.shape)}, "
                           f"{tuple(negative.shape)})")


def _check_margin(margin, op):
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)), d(x, y) = ||x - y + eps||_p over the last dim; swap
    uses min(d(a, n), d(p, n)) for the negative distance"""
    op = "triplet_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    _check_margin(margin, op)
    a = _float_input(anchor, op, "anchor")
    pos, neg = _float_input(positive, op, "positive"), _float_input(negative, op, "negative")
    _same_ndim(a, pos, neg, op)
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = ad.minimum(d_neg, pairwise_distance(pos, neg, p, eps))
    return _reduce(ad.clamp(margin + d_pos - d_neg, min=0.0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)) for any distance function d (pairwise_distance by
    default); swap uses min(d(a, n), d(p, n))"""
    op = "triplet_margin_with_distance_loss"
    _check_reduction(reduction, op)
    _check_margin(margin, op)
    a = _tensor(anchor, op, "anchor")
    pos, neg = _tensor(positive, op, "positive"), _tensor(negative, op, "negative")
    _same_ndim(a, pos, neg, op)
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = dist(a, pos), dist(a, neg)
    if swap:
        d_neg = ad.minimum(d_neg, dist(pos, neg))
    return _reduce(ad.clamp(margin + d_pos - d_neg, min=0.0), reduction)


# --- CTC ---------------------------------------------------------------------------------------

# log(0) stand-in for the forward variables of unreachable states: finite, so no logsumexp ever
# sees a row of -inf (whose gradient is 0 * nan); exp(_LOG_ZERO - m) is exactly 0 next to any
# reachable state, so every reachable value is the exact log-space one
_LOG_ZERO = -1e30


def _ctc_lengths(lengths, batch, op, name):
    if isinstance(lengths, (int, np.integer)) or lengths is None:
        raise TypeError(f"{op}: {name} must be a tensor or a tuple of ints (one per sequence), "
                        f"got {type(lengths).__name__}")
    arr = np.asarray(lengths.data if isinstance(lengths, ad.Tensor) else lengths)
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: {name} must be integral, got dtype {arr.dtype}; convert it "
                           f"with .long()")
    if arr.ndim > 1 or arr.size != batch:
        raise RuntimeError(f"{op}: {name} must hold one length per sequence, batch size "
                           f"{batch}, got shape {tuple(arr.shape)}")
    return arr.reshape(batch).astype(np.int64)


def _ctc_labels(targets, tl, batch, n_classes, unbatched, op):
    """The (N, S) array of label sequences (S = the longest target length; entries past a
    sequence's length are 0) from padded (N, S') or concatenated (sum(lengths),) targets"""
    tg = targets.data if isinstance(targets, ad.Tensor) else np.asarray(targets)
    if tg.dtype.kind == "f" and np.all(np.mod(tg, 1) == 0):
        tg = tg.astype(np.int64)  # PyTorch reads float labels as integers
    if tg.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: targets must hold integer class indices (int64), got dtype "
                           f"{tg.dtype}")
    if unbatched and tg.ndim == 1:
        tg = tg[None]
    s = int(tl.max()) if batch else 0
    labels = np.zeros((batch, s), np.int64)
    if tg.ndim == 2:
        if tg.shape[0] != batch:
            raise RuntimeError(f"{op}: padded targets of shape {tuple(tg.shape)} need one row "
                               f"per sequence, batch size {batch}")
        if s > tg.shape[1]:
            raise RuntimeError(f"{op}: a target length is {s}, longer than the padded targets' "
                               f"width {tg.shape[1]} (targets shape {tuple(tg.shape)})")
        keep = np.arange(s)[None, :] < tl[:, None]
        labels[keep] = tg[:, :s][keep]
    elif tg.ndim == 1:
        if tg.shape[0] != tl.sum():
            raise RuntimeError(f"{op}: concatenated targets hold {tg.shape[0]} labels, but the "
                               f"target lengths sum to {int(tl.sum())}")
        keep = np.arange(s)[None, :] < tl[:, None]
        labels[keep] = tg
    else:
        raise RuntimeError(f"{op}: targets must be padded (N, S) or concatenated "
                           f"(sum(target_lengths),), got shape {tuple(tg.shape)}")
    used = labels[np.arange(s)[None, :] < tl[:, None]]
    if used.size and (used.min() < 0 or used.max() >= n_classes):
        bad = used.min() if used.min() < 0 else used.max()
        raise IndexError(f"{op}: targets contain class {int(bad)}, but log_probs has "
                         f"{n_classes} classes (valid: 0 to {n_classes - 1})")
    return labels


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """-log sum over the alignments of each target of prod_t p_t(label): the forward recursion
    over the blank-extended labels in log space (logsumexp); 'mean' averages loss / length"""
    op = "ctc_loss"
    _check_reduction(reduction, op)
    log_probs = _float_input(log_probs, op, "log_probs")
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(f"{op}: log_probs must be (T, N, C) or unbatched (T, C), got shape "
                           f"{tuple(log_probs.shape)}")
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    n_steps, batch, n_classes = lp.shape
    if not 0 <= blank < n_classes:
        raise RuntimeError(f"{op}: blank must be in label range, 0 to {n_classes - 1}, got "
                           f"{blank}")
    il = _ctc_lengths(input_lengths, batch, op, "input_lengths")
    tl = _ctc_lengths(target_lengths, batch, op, "target_lengths")
    if batch and (il.min() < 0 or il.max() > n_steps):
        raise RuntimeError(f"{op}: input_lengths must be in 0 to T = {n_steps} (log_probs' "
                           f"dim 0), got {il.tolist()}")
    if batch and tl.min() < 0:
        raise RuntimeError(f"{op}: target_lengths must be >= 0, got {tl.tolist()}")
    labels = _ctc_labels(targets, tl, batch, n_classes, unbatched, op)
    n_states = 2 * labels.shape[1] + 1
    ext = np.full((batch, n_states), blank, np.int64)  # blank, l1, blank, l2, ..., blank
    ext[:, 1::2] = labels
    # a path may skip the blank between two different labels: state s - 2 -> s
    skip = np.zeros((batch, n_states), bool)
    skip[:, 2:] = ext[:, 2:] != ext[:, :-2]
    steps = int(il.max()) if batch else 0
    if steps:
        # each step's log-probabilities of the extended labels, (T, N, states)
        emit = ad.gather(lp[:steps], 2, np.ascontiguousarray(
            np.broadcast_to(ext, (steps, batch, n_states))))
        if np.isneginf(emit.data).any():
            emit = ad.clamp(emit, min=_LOG_ZERO)
        first = np.arange(n_states) < 2  # a path starts with a blank or the first label
        alpha = ad.where(_const(first), emit[0], _LOG_ZERO)
        skip_c = _const(skip)
        for t in range(1, steps):
            prev = ad.pad(alpha, (2, 0), value=_LOG_ZERO)
            stay, step, jump = alpha, prev[:, 1:-1], ad.where(skip_c, prev[:, :-2], _LOG_ZERO)
            new = ad.stack([stay, step, jump]).logsumexp(0) + emit[t]
            done = il <= t
            if done.any():  # sequences already finished keep their last forward variables
                new = ad.where(_const(done[:, None]), alpha, new)
            alpha = new
        # a path ends on the last label or the blank after it
        ends = np.stack([2 * tl, np.maximum(2 * tl - 1, 0)], 1)
        last = ad.where(_const(np.stack([np.ones(batch, bool), tl > 0], 1)),
                        ad.gather(alpha, 1, ends), _LOG_ZERO)
        nll = -last.logsumexp(1)
        infinite = (nll.data > -_LOG_ZERO / 10) | ((il == 0) & (tl > 0))
    else:
        nll = lp.sum((0, 2)) * 0.0  # (N,) zeros, still part of the graph
        infinite = tl > 0
    empty = (il == 0) & (tl == 0)  # no steps, no labels: probability 1
    fill = np.where(infinite & (not zero_infinity), np.inf, 0.0)
    nll = ad.where(_const(infinite | empty), _const(fill, nll.dtype), nll)
    if reduction == "mean":
        return (nll / _const(np.maximum(tl, 1), nll.dtype)).mean()
    if reduction == "sum":
        return nll.sum()
    return nll.reshape(()) if unbatched else nll


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None,
                         reduction="mean", ignore_index=None, label_smoothing=0.0, options=None):
    """cross_entropy(input @ W^T (+ b), target) with W (C, *out_features, in_features): the
    logits are (N, C, *out_features); options (chunking in PyTorch) never change the result"""
    op = "linear_cross_entropy"
    input = _float_input(input, op)
    linear_weight = _float_input(linear_weight, op, "linear_weight")
    if input.ndim not in (1, 2):
        raise RuntimeError(f"{op}: expected input with dimensionality 1 or 2, got {input.ndim} "
                           f"(shape {tuple(input.shape)}); flatten the leading dims first")
    if linear_weight.ndim < 2:
        raise RuntimeError(f"{op}: expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.ndim} (shape {tuple(linear_weight.shape)})")
    if input.shape[-1] != linear_weight.shape[-1]:
        raise RuntimeError(f"{op}: expected equal input and linear_weight last dimensions "
                           f"(in_features), got {input.shape[-1]} and "
                           f"{linear_weight.shape[-1]}, respectively")
    logits = ad.tensordot(input, linear_weight, dims=([input.ndim - 1], [linear_weight.ndim - 1]))
    if linear_bias is not None:
        linear_bias = _float_input(linear_bias, op, "linear_bias")
        if tuple(linear_bias.shape) != tuple(linear_weight.shape[:-1]):
            raise RuntimeError(f"{op}: expected linear_bias of shape "
                               f"{tuple(linear_weight.shape[:-1])} (C, *out_features), got "
                               f"{tuple(linear_bias.shape)}")
        logits = logits + linear_bias
    return cross_entropy(logits, target, weight=weight,
                         ignore_index=-100 if ignore_index is None else ignore_index,
                         reduction=reduction, label_smoothing=label_smoothing)

