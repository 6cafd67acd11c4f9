"""Functional forms of nn's layers, activations and losses (`import nn.functional as F`).

Everything here is composed from autodiff's public differentiable ops; nothing defines a
primitive. Integer inputs (class indices, embedding ids) are read as constants.
"""
import math
import warnings

import numpy as np

import autodiff as ad
from autodiff import Tensor

pad = ad.pad

_REDUCTIONS = ("mean", "sum", "none")


def _const(arr, dtype=None):
    """A constant tensor holding arr (0-d results of numpy reductions included)."""
    return ad.from_numpy(np.asarray(arr, dtype))


def _tensor(x, op, name):
    if isinstance(x, Tensor):
        return x
    try:
        return ad.as_tensor(x)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be a Tensor (or array-like), got "
                        f"{type(x).__name__}") from None


def _float_input(x, op, name="input"):
    x = _tensor(x, op, name)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a floating-point tensor, got dtype {x.dtype}; "
                        f"convert it with {name}.float()")
    return x


def _check_reduction(reduction, op):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _same_shape(input, target, op):
    if input.shape != target.shape:
        raise ValueError(
            f"{op}: target shape {tuple(target.shape)} differs from input shape "
            f"{tuple(input.shape)}; broadcasting them would silently compare every pair of "
            f"elements. Make them match, e.g. target.reshape({tuple(input.shape)}) or "
            f"input.squeeze(-1)")


# --- linear, embedding ------------------------------------------------------------------------

def linear(input, weight, bias=None):
    """y = x W^T + b, for x (..., in), W (out, in), b (out,): one fused autodiff op"""
    return ad.linear(_tensor(input, "linear", "input"), weight, bias)


def _check_indices(idx, n, op, name, what):
    """idx (a tensor or array of ints) as an int64 array, every value in [0, n)."""
    arr = idx.data if isinstance(idx, Tensor) else np.asarray(idx)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must hold integer {what}, got dtype {arr.dtype}; "
                        f"convert with {name}.long()")
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        bad = arr.min() if arr.min() < 0 else arr.max()
        raise IndexError(f"{op}: {name} contains {what[:-1] if what.endswith('s') else what} "
                         f"{int(bad)}, out of range for {n} (valid: 0 to {n - 1})")
    return arr.astype(np.int64, copy=False)


def embedding(input, weight, padding_idx=None):
    """out[..., :] = weight[input[...]]: rows of weight picked by integer ids (gradients of
    repeated ids accumulate); the padding_idx row is returned as stored but gets no gradient"""
    ids = _check_indices(input, weight.shape[0], "embedding", "input", "indices")
    out = weight[ids]
    if padding_idx is not None:
        keep = (ids != padding_idx % weight.shape[0])[..., None]
        out = ad.where(_const(keep), out, out.detach())
    return out


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape tensor.shape + (num_classes,) with a 1 at each label
    (num_classes=-1: max label + 1)"""
    arr = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be an integer tensor, got dtype {arr.dtype}; "
                        f"convert with labels.long()")
    if num_classes == -1:
        if arr.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass it")
        num_classes = int(arr.max()) + 1
    _check_indices(arr, num_classes, "one_hot", "labels", "labels")
    return _const(arr[..., None] == np.arange(num_classes), np.int64)


# --- activations ------------------------------------------------------------------------------

def relu(input, inplace=False):
    """max(x, 0)   (relu'(0) = 0)"""
    return ad.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x"""
    input = _float_input(input, "leaky_relu")
    return ad.where(input > 0, input, input * negative_slope)


def prelu(input, weight):
    """x if x > 0 else a * x, with learnable a (one, or one per channel along dim 1)"""
    input = _float_input(input, "prelu")
    if weight.numel() != 1:
        if input.ndim < 2 or input.shape[1] != weight.numel():
            raise ValueError(f"prelu: weight has {weight.numel()} values, so the input needs "
                             f"that many channels in dim 1, got shape {tuple(input.shape)}")
        weight = weight.reshape((weight.numel(),) + (1,) * (input.ndim - 2))
    elif weight.ndim:
        weight = weight.reshape(())
    return ad.where(input > 0, input, input * weight)


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x) - 1)"""
    input = _float_input(input, "elu")
    # exp only sees x <= 0, so large x cannot overflow in the unused branch
    return ad.where(input > 0, input, alpha * (ad.clamp(input, max=0.0).exp() - 1.0))


def _log1pexp(x):
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)), both pieces taken
    from the same side of 0 so the gradient at 0 is exactly sigmoid(0) = 1/2"""
    pos = x > 0
    return ad.where(pos, x, 0.0) + ad.where(pos, -x, x).exp().log1p()


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold"""
    input = _float_input(input, "softplus")
    bx = input * beta if beta != 1 else input
    soft = _log1pexp(bx) / beta if beta != 1 else _log1pexp(bx)
    return ad.where(bx > threshold, input, soft)


def log_sigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), stable"""
    return -_log1pexp(-_float_input(input, "log_sigmoid"))


def sigmoid(input):
    """1 / (1 + exp(-x))"""
    return ad.sigmoid(input)


def tanh(input):
    """tanh(x)"""
    return ad.tanh(input)


def erf(input):
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt (autodiff's erf: one op, max error 4e-9)"""
    return ad.erf(_float_input(input, "erf"))


def gelu(input, approximate="none"):
    """x * Phi(x) = x/2 (1 + erf(x / sqrt 2)); approximate='tanh':
    x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))"""
    input = _float_input(input, "gelu")
    if approximate == "none":
        return 0.5 * input * (1.0 + erf(input * (1.0 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (input + 0.044715 * input * input * input)
        return 0.5 * input * (1.0 + inner.tanh())
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input):
    """x * sigmoid(x)"""
    return input * ad.sigmoid(input)


def _implicit_dim(ndim):
    warnings.warn("Implicit dimension choice for softmax has been deprecated; pass dim= "
                  "(usually dim=-1 or dim=1 for (N, C) scores)", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None):
    """exp(x_i) / sum_j exp(x_j) along dim, stably"""
    input = _float_input(input, "softmax")
    return ad.softmax(input, _implicit_dim(input.ndim) if dim is None else dim)


def log_softmax(input, dim=None):
    """x_i - logsumexp(x) along dim"""
    input = _float_input(input, "log_softmax")
    return ad.log_softmax(input, _implicit_dim(input.ndim) if dim is None else dim)


# --- regularisation and normalisation ----------------------------------------------------------

def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Inverted dropout: each element zeroed with probability p (the DROP probability, as
    PyTorch; the lecture's p is the KEEP probability 1 - p), survivors scaled by 1 / (1 - p),
    a new mask every call; the identity when not training"""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p is the probability of dropping an element and must be in "
                         f"[0, 1], got {p}")
    if not training or p == 0.0:
        return input
    input = _float_input(input, "dropout")
    if p == 1.0:
        return input * 0.0
    keep = (generator or ad.default_generator).rng.random(input.shape) >= p
    return input * _const(keep / (1.0 - p), input.dtype)


def _channel_view(t, ndim):
    """A per-channel (C,) tensor shaped (C, 1, ...) to broadcast against (N, C, *) inputs."""
    return t if ndim <= 2 else t.reshape((t.shape[0],) + (1,) * (ndim - 2))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias per channel (dim 1); training uses the
    batch mean and biased variance and updates the running stats in place with
    r = (1 - momentum) r + momentum * stat (the unbiased variance); eval uses running stats"""
    input = _float_input(input, "batch_norm")
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C) or (N, C, L), got shape "
                         f"{tuple(input.shape)}; add a batch dim with x.unsqueeze(0)")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {name} has shape {tuple(t.shape)}, but the input "
                             f"{tuple(input.shape)} has {c} channels in dim 1; expected ({c},)")
    dims = (0,) + tuple(range(2, input.ndim))
    if training:
        n = input.numel() // max(c, 1)
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input shape {tuple(input.shape)}; use a batch of 2 or more, "
                             f"or call model.eval() to use the running statistics")
        mean = input.mean(dims, keepdim=True)
        centred = input - mean
        var = (centred * centred).mean(dims, keepdim=True)
        if running_mean is not None or running_var is not None:
            with ad.no_grad():
                m = momentum
                bm = mean.data.reshape(c)
                bv = var.data.reshape(c) * (n / (n - 1))
                if running_mean is not None:
                    running_mean.copy_((1 - m) * running_mean.data + m * bm)
                if running_var is not None:
                    running_var.copy_((1 - m) * running_var.data + m * bv)
        out = centred / (var + eps).sqrt()
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: eval mode needs running_mean and running_var; pass "
                             "training=True to normalise with the batch statistics")
        shape = (c,) + (1,) * (input.ndim - 2)
        mean = _const(running_mean.data.reshape(shape), input.dtype)
        inv = 1.0 / np.sqrt(running_var.data.reshape(shape) + eps)
        out = (input - mean) * _const(inv, input.dtype)
    if weight is not None:
        out = out * _channel_view(weight, input.ndim)
    if bias is not None:
        out = out + _channel_view(bias, input.ndim)
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the trailing normalized_shape
    dims (biased variance), the same in training and eval"""
    input = _float_input(input, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != shape or input.ndim < k:
        raise ValueError(f"layer_norm: the input's trailing dims {tuple(input.shape)[-k:]} "
                         f"(input shape {tuple(input.shape)}) must equal normalized_shape "
                         f"{shape}")
    dims = tuple(range(input.ndim - k, input.ndim))
    mean = input.mean(dims, keepdim=True)
    centred = input - mean
    var = (centred * centred).mean(dims, keepdim=True)
    out = centred / (var + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


# --- losses -----------------------------------------------------------------------------------

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


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """x / max(||x||_p over dim, eps)"""
    input = _float_input(input, "normalize")
    return input / ad.clamp(input.norm(p=p, dim=dim, keepdim=True), min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum over dim of (x1 / max(||x1||, eps)) * (x2 / max(||x2||, eps)); x1, x2 broadcast"""
    x1, x2 = _float_input(x1, "cosine_similarity", "x1"), _float_input(x2, "cosine_similarity",
                                                                       "x2")
    return (normalize(x1, 2.0, dim, eps) * normalize(x2, 2.0, dim, eps)).sum(dim)



# --- convolution and pooling (NCHW, cross-correlation) ------------------------------------------

def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, l] = b[o] + sum_{c, k} w[o, c, k] xpad[n, c, stride l + dilation k]"""
    return ad.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, h, w] = b[o] + sum_{c, i, j} w[o, c, i, j] xpad[n, c, s h + d i, s w + d j]
    (padding: an int, a pair, 'valid' or 'same')"""
    return ad.conv2d(input, weight, bias, stride, padding, dilation, groups)


def _pool_options(op, ceil_mode, return_indices=False):
    if ceil_mode:
        raise NotImplementedError(f"{op}: ceil_mode=True is not supported (windows never overhang "
                                  f"the input here); pad the input on the bottom and right so "
                                  f"the last window fits, then pool with ceil_mode=False")
    if return_indices:
        raise NotImplementedError(f"{op}: return_indices=True is not supported; the gradient "
                                  f"flows through the output without them")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """out = max over each kernel_size window (stride defaults to kernel_size); ties share g"""
    _pool_options("max_pool2d", ceil_mode, return_indices)
    return ad.max_pool2d(input, kernel_size, stride, padding, dilation)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """out = mean over each window (stride defaults to kernel_size); padded zeros count in the
    divisor unless count_include_pad=False"""
    _pool_options("avg_pool2d", ceil_mode)
    return ad.avg_pool2d(input, kernel_size, stride, padding, count_include_pad,
                         divisor_override)


def adaptive_avg_pool2d(input, output_size):
    """out (N, C, *output_size): the mean over adaptive windows (1: global average pooling)"""
    return ad.adaptive_avg_pool2d(input, output_size)
