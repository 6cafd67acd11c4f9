"""Loss functions."""

import numpy as np

import autodiff as ad
from nn.functional._util import (_check_reduction, _const, _float_input, _reduce,
                                 _same_shape, _tensor)
from nn.functional.activation import _log1pexp
from nn.functional.normalization import _channel_view

__all__ = [
    "nll_loss", "cross_entropy", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "multi_margin_loss",
    "kl_div",
]


def _class_targets(input, target, ignore_index, op):
    """Checks index targets for (N, C, *) / (C,) input: int dtype, shape, range. Returns the
    int64 array of targets (ignored positions kept as ignore_index)."""
    arr = target.data
    expected = input.shape[:1] + input.shape[2:] if input.ndim >= 2 else ()
    if arr.dtype.kind == "f":
        raise TypeError(
            f"{op}: target has dtype {arr.dtype} and shape {tuple(arr.shape)}, but a float "
            f"target must hold class probabilities with the input's shape {tuple(input.shape)}. "
            f"For class indices, pass an integer tensor of shape {expected}: target.long()")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices (int64), got dtype "
                        f"{arr.dtype}; convert with target.long()")
    if tuple(arr.shape) != tuple(expected):
        hint = (" - squeeze the target: target.squeeze(-1)" if arr.shape == expected + (1,)
                else "")
        raise ValueError(f"{op}: target of class indices has shape {tuple(arr.shape)}, but input "
                         f"of shape {tuple(input.shape)} (classes in dim "
                         f"{1 if input.ndim >= 2 else 0}) needs target shape {expected}{hint}")
    n_classes = input.shape[1] if input.ndim >= 2 else input.shape[0]
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
            raise IndexError(f"{op}: target contains class index {int(bad)}, but input has "
                             f"{n_classes} classes (valid: 0 to {n_classes - 1}{also}); check "
                             f"the labels or the last layer's out_features")
    return arr.astype(np.int64, copy=False)


def _check_weight(weight, n_classes, op, dtype=None):
    """weight checked to be (C,), in the input's dtype (a float64 weight must not silently
    promote a float32 loss)"""
    if weight is None:
        return None
    weight = _float_input(weight, op, "weight")
    if tuple(weight.shape) != (n_classes,):
        raise ValueError(f"{op}: weight must have one entry per class, shape ({n_classes},), "
                         f"got {tuple(weight.shape)}")
    return weight if dtype is None else weight.to(dtype)


def _pick(logp, idx):
    """logp[i, idx[i], ...]: the entry of each position's class, class dim 1 (or 0 if 1-D)."""
    if logp.ndim == 1:
        return logp[int(idx)]
    return ad.gather(logp, 1, np.expand_dims(idx, 1)).squeeze(1)


def _nll(logp, target, weight, ignore_index, reduction, op):
    """Weighted negative log-likelihood of index targets; mean = sum / sum of used weights."""
    n_classes = logp.shape[1] if logp.ndim >= 2 else logp.shape[0]
    weight = _check_weight(weight, n_classes, op, logp.dtype)
    idx = _class_targets(logp, target, ignore_index, op)
    keep = idx != ignore_index
    safe = np.where(keep, idx, 0)
    w = keep.astype(logp.dtype)
    if weight is not None:
        w = w * weight.data[safe]
    losses = -_pick(logp, safe) * _const(w)
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


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-weight[y] * input[y] per sample (input = log-probabilities); 'mean' divides by the sum
    of the weights of the non-ignored targets"""
    op = "nll_loss"
    _check_reduction(reduction, op)
    input = _float_input(input, op)
    target = _tensor(target, op, "target")
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dim, shape (N, C) or (C,), got a scalar")
    return _nll(input, target, weight, ignore_index, reduction, op)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """-sum_c q_c log softmax(x)_c from logits (fused via log_softmax: stable at any scale).
    target: class indices (N,) / (N, d...) or class probabilities shaped like input.
    label_smoothing eps mixes the target with uniform: q = (1 - eps) q + eps / C."""
    op = "cross_entropy"
    _check_reduction(reduction, op)
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
        if ignore_index is None or not (idx == ignore_index).any():
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
    smooth = -wlogp.sum(cdim) * _const(keep, input.dtype)
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


def mse_loss(input, target, reduction="mean"):
    """(x - y)^2"""
    _check_reduction(reduction, "mse_loss")
    input, target = _float_input(input, "mse_loss"), _tensor(target, "mse_loss", "target")
    _same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input, target, reduction="mean"):
    """|x - y|   (gradient 0 where x == y)"""
    _check_reduction(reduction, "l1_loss")
    input, target = _float_input(input, "l1_loss"), _tensor(target, "l1_loss", "target")
    _same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta, d = x - y (beta = 0: L1)"""
    op = "smooth_l1_loss"
    _check_reduction(reduction, op)
    if beta < 0:
        raise ValueError(f"{op}: beta must be non-negative, got {beta}")
    input, target = _float_input(input, op), _tensor(target, op, "target")
    _same_shape(input, target, op)
    d = input - target
    a = d.abs()
    if beta == 0:
        return _reduce(a, reduction)
    return _reduce(ad.where(a < beta, (0.5 / beta) * d * d, a - 0.5 * beta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 if |d| <= delta else delta (|d| - 0.5 delta), d = x - y"""
    op = "huber_loss"
    _check_reduction(reduction, op)
    if delta <= 0:
        raise ValueError(f"{op}: delta must be positive, got {delta}")
    input, target = _float_input(input, op), _tensor(target, op, "target")
    _same_shape(input, target, op)
    d = input - target
    a = d.abs()
    return _reduce(ad.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction)


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


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x, each log clamped at -100 (as
    PyTorch) so x = 0 or 1 gives a finite loss"""
    op = "binary_cross_entropy"
    _check_reduction(reduction, op)
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


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """-w (p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))) from logits, stably:
    (1 - y) x + (1 + (p - 1) y) softplus(-x); pos_weight p broadcasts along the last dim"""
    op = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, op)
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


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """Multiclass SVM hinge: sum_{j != y} w_y max(0, margin - x_y + x_j)^p / C per sample
    (PyTorch divides by the number of classes C; the course's hinge is C times this)"""
    op = "multi_margin_loss"
    _check_reduction(reduction, op)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p=1 or p=2 is supported, got {p}")
    input = _float_input(input, op)
    target = _tensor(target, op, "target")
    if input.ndim not in (1, 2):
        raise ValueError(f"{op}: input must be scores of shape (N, C) or (C,), got shape "
                         f"{tuple(input.shape)}")
    n_classes = input.shape[-1]
    weight = _check_weight(weight, n_classes, op, input.dtype)
    idx = _class_targets(input, target, None, op)
    x = input if input.ndim == 2 else input.unsqueeze(0)
    y = idx.reshape(-1)
    correct = ad.gather(x, 1, y[:, None])  # (N, 1)
    z = (margin - correct) + x
    h = ad.relu(z)
    if p == 2:
        h = h * h
    others = np.arange(n_classes)[None, :] != y[:, None]  # the j = y term is left out
    scale = others.astype(input.dtype) / n_classes
    if weight is not None:
        scale = scale * weight.data[y][:, None]
    losses = (h * _const(scale, input.dtype)).sum(1)
    if input.ndim == 1:
        losses = losses.reshape(())
    return _reduce(losses, reduction)



def kl_div(input, target, reduction="mean", log_target=False):
    """sum t (log t - x) for log-probabilities x and probabilities t (0 log 0 = 0); with
    log_target=True, t is given as log t. reduction='batchmean' divides the sum by the batch
    size (the true KL divergence); 'mean' averages over every element, as PyTorch does"""
    op = "kl_div"
    if reduction != "batchmean":
        _check_reduction(reduction, op)
    input, target = _float_input(input, op), _float_input(target, op, "target")
    _same_shape(input, target, op)
    if log_target:
        losses = target.exp() * (target - input)
    else:
        pos = target > 0
        t_log_t = ad.where(pos, target * ad.where(pos, target, 1.0).log(), 0.0)
        losses = t_log_t - target * input
    if reduction == "batchmean":
        return losses.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(losses, reduction)
