"""Normalisation: batch, layer, ... and normalize."""

import numpy as np

import autodiff as ad
from nn.functional._util import _const, _float_input

__all__ = ['batch_norm', 'layer_norm', 'normalize']


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


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """x / max(||x||_p over dim, eps)"""
    input = _float_input(input, "normalize")
    return input / ad.clamp(input.norm(p=p, dim=dim, keepdim=True), min=eps)
