"""Normalisation: batch, instance, layer, group and RMS norm, local response norm, normalize.

Composed from autodiff's public ops (second order comes for free), except layer norm and
training-mode batch norm, each one fused primitive (autodiff/ops/normalization.py). Running
statistics are updated in place under no_grad, as PyTorch does."""

import math
import numbers

import numpy as np

import autodiff as ad
from autodiff.compiler import replayed
from autodiff.ops.normalization import batch_norm_train
from nn.functional._util import _const, _float_input

__all__ = ['batch_norm', 'instance_norm', 'layer_norm', 'group_norm', 'rms_norm',
           'local_response_norm', 'normalize']


class _ShapeError(RuntimeError, ValueError):
    """A size mismatch: PyTorch raises RuntimeError; it is also a ValueError, the class nn
    raised for these before, so both `except` clauses keep working."""


def _shape(t):
    return list(t.shape)


def _float32(t):
    return None if t is None else t.float()


def _half(input):
    """Whether input is float16: normalised in float32 (affine included) and the result cast
    back, as PyTorch does (its squares overflow float16 from |x| ~ 256 on)."""
    return input.dtype == ad.float16


def _per_channel(t, ndim, dtype=None):
    """A (C,) tensor shaped (C, 1, ...) to broadcast against (N, C, *) inputs."""
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    return t if ndim <= 2 else t.reshape((t.shape[0],) + (1,) * (ndim - 2))


def _channel_view(t, ndim):
    """A per-channel (C,) tensor shaped (C, 1, ...) to broadcast against (N, C, *) inputs
    (nn.functional.loss uses it too)."""
    return _per_channel(t, ndim)


def _affine(out, weight, bias, ndim):
    if weight is not None:
        out = out * _per_channel(weight, ndim)
    if bias is not None:
        out = out + _per_channel(bias, ndim)
    return out


def _check_channels(op, input, tensors):
    c = input.shape[1]
    for name, t in tensors:
        if t is not None and t.numel() != c:
            raise _ShapeError(f"{op}: {name} should contain {c} elements not {t.numel()}: the "
                              f"input {_shape(input)} has {c} channels in dim 1; pass a "
                              f"{name} of shape ({c},)")


def _verify_values_per_channel(input, op):
    n = input.shape[0] * math.prod(input.shape[2:])
    if n == 1:
        raise ValueError(f"{op}: Expected more than 1 value per channel when training, got "
                         f"input size {_shape(input)}; use a batch of 2 or more, or call "
                         f"model.eval() to normalise with the running statistics")


def _check_running_pair(op, running_mean, running_var):
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: running_mean and running_var must either both be None or "
                         f"neither be None; got only "
                         f"{'running_mean' if running_var is None else 'running_var'}")


def _moments(x, dims):
    """Mean and biased variance over dims (kept), x - mean reused by the caller."""
    mean = x.mean(dims, keepdim=True)
    centred = x - mean
    return mean, centred, (centred * centred).mean(dims, keepdim=True)


@replayed
def _update_running(running, stat, momentum, scale=None):
    """running <- (1 - momentum) running + momentum stat (times scale), in place and
    unrecorded."""
    if running is not None:
        if scale is not None:
            stat = stat * scale
        with ad.no_grad():
            new = (1 - momentum) * running.data + momentum * stat.reshape(running.shape)
            running.copy_(new.astype(running.dtype, copy=False))


def _fusable(input, weight, bias):
    """Whether training-mode batch norm runs as the one fused node: float32/64 values, the
    affine parameters of the input's dtype, and at least one value per channel."""
    return input.dtype in (ad.float32, ad.float64) and input.numel() > 0 and all(
        t is None or t.dtype == input.dtype for t in (weight, bias))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias per channel (dim 1); training uses the
    batch mean and biased variance and updates the running stats in place with
    r = (1 - momentum) r + momentum * stat (the unbiased variance); eval uses running stats"""
    input = _float_input(input, "batch_norm")
    if input.ndim < 2:
        raise IndexError(f"batch_norm: expected input of shape (N, C, *), got shape "
                         f"{_shape(input)} (dim 1, the channels, is out of range); add a "
                         f"batch dim with x.unsqueeze(0)")
    if training:
        _verify_values_per_channel(input, "batch_norm")
    if eps < 0:
        raise ValueError(f"batch_norm: eps must be non-negative, but got {eps}")
    if training:
        _check_running_pair("batch_norm", running_mean, running_var)
    _check_channels("batch_norm", input, (("weight", weight), ("bias", bias),
                                          ("running_mean", running_mean),
                                          ("running_var", running_var)))
    if _half(input):
        return batch_norm(input.float(), running_mean, running_var, _float32(weight),
                          _float32(bias), training, momentum, eps).to(input.dtype)
    dims = (0,) + tuple(range(2, input.ndim))
    if training:
        fused = _fusable(input, weight, bias)
        if fused:  # one node (autodiff.ops.normalization.BatchNorm), affine included
            out, mean, var = batch_norm_train(input, weight, bias, eps)
        else:
            mean, centred, var = _moments(input, dims)
        if running_mean is not None and input.numel():  # (an empty batch leaves them, as PyTorch)
            n = input.numel() // input.shape[1]
            _update_running(running_mean, mean.data, momentum)
            _update_running(running_var, var.data, momentum, n / (n - 1))
        if fused:
            return out
        out = centred * (var + eps).rsqrt()
    else:
        for name, t in (("running_mean", running_mean), ("running_var", running_var)):
            if t is None:
                raise RuntimeError(f"batch_norm: {name} must be defined in evaluation mode; "
                                   f"pass training=True to normalise with the batch statistics")
        # the running statistics are buffers: constants, as in PyTorch (no gradient to them)
        shape = (-1,) + (1,) * (input.ndim - 2)
        mean = _const(running_mean.data.reshape(shape), input.dtype)
        inv = _const(1.0 / np.sqrt(running_var.data.reshape(shape) + eps), input.dtype)
        out = (input - mean) * inv
    return _affine(out, weight, bias, input.ndim)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias with mean and biased var over the
    spatial dims of each (sample, channel); use_input_stats=False uses the running stats;
    running stats get the batch average of the instance stats (unbiased variance)"""
    input = _float_input(input, "instance_norm")
    if input.ndim < 2:
        raise IndexError(f"instance_norm: expected input of shape (N, C, *), got shape "
                         f"{_shape(input)}; add a batch dim with x.unsqueeze(0)")
    if use_input_stats:
        if math.prod(input.shape[2:]) == 1:
            raise ValueError(f"instance_norm: Expected more than 1 spatial element when "
                             f"training, got input size {_shape(input)}; each (sample, "
                             f"channel) is normalised over its spatial dims")
    if use_input_stats:
        _check_running_pair("instance_norm", running_mean, running_var)
    _check_channels("instance_norm", input, (("weight", weight), ("bias", bias),
                                             ("running_mean", running_mean),
                                             ("running_var", running_var)))
    if _half(input):
        return instance_norm(input.float(), running_mean, running_var, _float32(weight),
                             _float32(bias), use_input_stats, momentum, eps).to(input.dtype)
    dims = tuple(range(2, input.ndim))
    if use_input_stats:
        mean, centred, var = _moments(input, dims)
        if running_mean is not None:
            n = math.prod(input.shape[2:])
            _update_running(running_mean, mean.data.mean(0), momentum)
            _update_running(running_var, (var.data * (n / (n - 1))).mean(0), momentum)
        out = centred * (var + eps).rsqrt()
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("instance_norm: Expected running_mean and running_var to be "
                               "defined when use_input_stats is false; pass them, or use the "
                               "input statistics (use_input_stats=True)")
        shape = (-1,) + (1,) * (input.ndim - 2)
        mean = _const(running_mean.data.reshape(shape), input.dtype)
        inv = _const(1.0 / np.sqrt(running_var.data.reshape(shape) + eps), input.dtype)
        out = (input - mean) * inv
    return _affine(out, weight, bias, input.ndim)


def _normalized_dims(op, input, normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        raise TypeError(f"{op}(): argument 'normalized_shape' must be tuple of ints, not int; "
                        f"pass ({normalized_shape},)")
    shape = tuple(int(s) for s in normalized_shape)
    if not shape:
        raise _ShapeError(f"{op}: Expected normalized_shape to be at least 1-dimensional, "
                          f"i.e., containing at least one element, but got normalized_shape "
                          f"= []")
    k = len(shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise _ShapeError(f"{op}: Given normalized_shape={list(shape)}, expected input with "
                          f"shape [*, {', '.join(map(str, shape))}], but got input of size "
                          f"{_shape(input)}; normalized_shape names the trailing dims")
    return shape, tuple(range(input.ndim - k, input.ndim))


def _check_param(op, name, t, shape):
    if t is not None and tuple(t.shape) != shape:
        raise _ShapeError(f"{op}: Expected {name} to be of same shape as normalized_shape, "
                          f"but got {name} of shape {_shape(t)} and normalized_shape = "
                          f"{list(shape)}")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the trailing normalized_shape
    dims (biased variance), the same in training and eval"""
    input = _float_input(input, "layer_norm")
    shape, _ = _normalized_dims("layer_norm", input, normalized_shape)
    _check_param("layer_norm", "weight", weight, shape)
    _check_param("layer_norm", "bias", bias, shape)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:
            if input.dtype == ad.float16 and t.dtype == ad.float32:
                continue  # as PyTorch: float32 parameters normalise a float16 input
            raise RuntimeError(f"layer_norm: mixed dtypes: the input is {input.dtype} but the "
                               f"{name} is {t.dtype}; all inputs must share one dtype (convert "
                               f"with .to({input.dtype}), or the module with .double() or "
                               f".float())")
    if _half(input):  # computed in float32, the result in float16
        return ad.layer_norm(input.float(), shape, _float32(weight), _float32(bias),
                           eps).to(input.dtype)
    return ad.layer_norm(input, shape, weight, bias, eps)  # one fused primitive


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, mean and biased var over each group
    of C / num_groups channels (and the spatial dims) of each sample; weight, bias per channel"""
    input = _float_input(input, "group_norm")
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: Expected at least 2 dimensions for input tensor but "
                           f"received {input.ndim}; the input is (N, C, *)")
    n, c = input.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise _ShapeError(f"group_norm: Expected number of channels in input to be divisible "
                          f"by num_groups, but got input of shape {_shape(input)} and "
                          f"num_groups={num_groups}")
    if n * (c // num_groups) * math.prod(input.shape[2:]) == 1:
        raise ValueError(f"group_norm: Expected more than 1 value per channel when training, "
                         f"got input size {_shape(input)} with num_groups={num_groups}: each "
                         f"group holds a single value")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.shape[0] != c):
            raise _ShapeError(f"group_norm: Expected {name} to be a vector of size equal to "
                              f"the number of channels in input, but got {name} of shape "
                              f"{_shape(t)} and input of shape {_shape(input)}")
    if _half(input):
        return group_norm(input.float(), num_groups, _float32(weight), _float32(bias),
                          eps).to(input.dtype)
    # (the group size spelled out: -1 is ambiguous for an empty batch)
    grouped = input.reshape(n, num_groups, (c // num_groups) * math.prod(input.shape[2:]))
    _, centred, var = _moments(grouped, (2,))
    out = (centred * (var + eps).rsqrt()).reshape(input.shape)
    return _affine(out, weight, bias, input.ndim)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """y = x / sqrt(mean(x^2) + eps) * weight over the trailing normalized_shape dims;
    eps=None means finfo(input.dtype).eps"""
    input = _float_input(input, "rms_norm")
    shape, dims = _normalized_dims("rms_norm", input, normalized_shape)
    _check_param("rms_norm", "weight", weight, shape)
    if eps is None:
        # PyTorch computes half precision in float32, so float32's epsilon applies to it too
        eps = float(np.finfo(np.promote_types(input.dtype, np.float32)).eps)
    if _half(input):
        return rms_norm(input.float(), normalized_shape, _float32(weight), eps).to(input.dtype)
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def _channel_window(c, size):
    """(C, C) 0/1 matrix: row c sums the channels c - size//2 ... c + (size-1)//2 (zero
    padded at both ends, as PyTorch's average pool over the channel dim)."""
    idx = np.arange(c)
    offset = idx[None, :] - idx[:, None]
    return ((offset >= -(size // 2)) & (offset <= (size - 1) // 2)).astype(np.float64)


def _lrn(input, window, size, alpha, beta, k):
    """x / (k + alpha / size * sum over the channel window of x^2) ** beta"""
    n, c = input.shape[:2]
    sq = (input * input).reshape(n, c, -1)
    summed = (_const(window, input.dtype) @ sq).reshape(input.shape)
    return input / (summed * (alpha / size) + k) ** beta


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """y = x / (k + alpha / size * sum_{c' in window(c)} x_{c'}^2) ** beta across channels,
    the window of `size` channels centred on c (zero padded)"""
    input = _float_input(input, "local_response_norm")
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: Expected 3D or higher dimensionality input "
                         f"(got {input.ndim} dimensions); the input is (N, C, *)")
    if size <= 0:
        raise RuntimeError(f"local_response_norm: size should be greater than zero, but got "
                           f"{size}")
    if input.numel() == 0:
        return input
    return _lrn(input, _channel_window(input.shape[1], size), size, alpha, beta, k)


def _vector_norm(x, p, dim):
    """||x||_p over dim (kept), torch.linalg.vector_norm's values and gradients: p = 0 counts
    nonzeros (no gradient), +-inf is max/min |x|, p < 0 is 0 when an element is 0"""
    if p == 0:
        return _const(np.count_nonzero(x.data, axis=dim, keepdims=True), x.dtype)
    if p == math.inf:
        return x.abs().amax(dim, keepdim=True)
    if p == -math.inf:
        return x.abs().amin(dim, keepdim=True)
    if p == 1:
        return x.abs().sum(dim, keepdim=True)
    if p == 2:
        s = (x * x).sum(dim, keepdim=True)
    elif p > 1:
        s = (x.abs() ** p).sum(dim, keepdim=True)
    else:
        # |x|^p has an infinite slope at 0 for p < 1: the where makes it 0, as PyTorch masks it
        zero = x == 0
        s = ad.where(zero, 0.0, ad.where(zero, 1.0, x.abs()) ** p).sum(dim, keepdim=True)
        if p < 0:
            # a zero element makes the sum infinite and the norm 0, with a zero gradient
            hit = zero.any(dim, keepdim=True)
            return ad.where(hit, 0.0, ad.where(hit, 1.0, s) ** (1.0 / p))
    # s^(1/p) has an infinite slope at s = 0; PyTorch gives a zero gradient there
    empty = s == 0
    safe = ad.where(empty, 1.0, s)
    root = safe.sqrt() if p == 2 else safe ** (1.0 / p)
    return ad.where(empty, 0.0, root)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """y = x / max(||x||_p over dim, eps), for every p: 0 (count of nonzeros), negative,
    inf and -inf as torch.linalg.vector_norm"""
    input = _float_input(input, "normalize")
    nd = max(input.ndim, 1)
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    for d in dims:
        if not -nd <= d < nd:
            raise IndexError(f"normalize: Dimension out of range (expected to be in range of "
                             f"[{-nd}, {nd - 1}], but got {d}) for input of shape "
                             f"{_shape(input)}")
    axis = tuple(d % nd for d in dims) if input.ndim else None
    if _half(input):
        # as PyTorch: the norm computed in float32 and rounded to float16 (clamped there, so a
        # zero norm stays 0), the quotient rounded once; float32 inside, where n^2 fits
        x = input.float()
        norm = ad.clamp(_vector_norm(x, float(p), axis).to(input.dtype), min=eps)
        return (x / norm.float()).to(input.dtype)
    return input / ad.clamp(_vector_norm(input, float(p), axis), min=eps)
