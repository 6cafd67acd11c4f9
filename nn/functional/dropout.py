"""Dropout and its variants: elementwise, whole channels (dropout1d/2d/3d), and alpha dropout
(SELU networks). Masks come from autodiff's generator (or the one given)."""
import warnings

import numpy as np

import autodiff as ad
from autodiff.compiler import replayed
from nn.functional._util import _const, _float_input
from nn.functional.activation import _inplace

__all__ = ['dropout', 'dropout1d', 'dropout2d', 'dropout3d', 'alpha_dropout',
           'feature_alpha_dropout']

# -SELU's negative saturation, scale * alpha: what alpha dropout sets dropped units to
_ALPHA = 1.7580993408473766


def _check_p(p, op):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p} "
                         f"(p is the probability of dropping an element)")


def _keep(shape, p, generator):
    """A boolean mask, each entry True with probability 1 - p."""
    return (generator or ad.default_generator).rng.random(shape) >= p


@replayed
def _scaled_mask(shape, p, generator, dtype):
    """The mask times 1 / (1 - p) (a fresh draw at every call, compiled or not)."""
    return np.asarray(_keep(shape, p, generator) / (1.0 - p), dtype)


@replayed
def _alpha_mask(shape, p, generator, dtype):
    """(a * mask, b) of alpha dropout: a * (x or -alpha') + b keeps mean 0 and variance 1."""
    keep = _keep(shape, p, generator)
    a = 1.0 / ((_ALPHA * _ALPHA * p + 1.0) * (1.0 - p)) ** 0.5
    b = (keep - 1.0) * (_ALPHA * a) + _ALPHA * a * p
    return np.asarray(keep * a, dtype), np.asarray(b, dtype)


def _apply(input, p, training, inplace, generator, op, feature=False, alpha=False):
    """input times a fresh mask (one entry per element, or per (sample, channel) with
    feature=True), rescaled so the expectation (alpha: mean and variance) is kept."""
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if feature and input.ndim < 2:
        raise RuntimeError(f"{op}: Feature dropout requires at least 2 dimensions in the input, "
                           f"got shape {tuple(input.shape)}")

    def fn(x):
        if p == 1.0:
            return x * 0.0
        shape = x.shape[:2] + (1,) * (x.ndim - 2) if feature else x.shape
        if not alpha:
            return x * _const(_scaled_mask(shape, p, generator, x.dtype))
        scale, shift = _alpha_mask(shape, p, generator, x.dtype)
        return x * _const(scale) + _const(shift)

    if inplace:
        return _inplace(input, fn, op + "_")
    return fn(input)


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Inverted dropout: each element zeroed with probability p (the DROP probability, as
    PyTorch; the lecture's p is the KEEP probability 1 - p), survivors scaled by 1 / (1 - p),
    a new mask every call; the identity when not training"""
    _check_p(p, "dropout")
    if not training or p == 0.0:
        return input
    input = _float_input(input, "dropout")
    return _apply(input, p, training, inplace, generator, "dropout")


def dropout1d(input, p=0.5, training=True, inplace=False, generator=None):
    """Whole channels x[n, c, :] zeroed with probability p, the rest scaled by 1 / (1 - p):
    input (N, C, L) or unbatched (C, L)"""
    _check_p(p, "dropout1d")
    input = _float_input(input, "dropout1d")
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input (shape "
            f"{tuple(input.shape)}). dropout1d drops channels of inputs with 1 spatial "
            f"dimension, a channel dimension and an optional batch dimension: (N, C, L) or "
            f"(C, L); use dropout for elementwise dropout")
    return _unbatched(input, 3, p, training, inplace, generator, "dropout1d")


def _unbatched(input, batched_ndim, p, training, inplace, generator, op):
    if input.ndim == batched_ndim:
        return _apply(input, p, training, inplace, generator, op, feature=True)
    if not training or p == 0.0:
        return input

    def fn(x):  # (an unbatched input is one sample: a batch of one)
        return _apply(x.unsqueeze(0), p, True, False, generator, op, feature=True).squeeze(0)
    return _inplace(input, fn, op + "_") if inplace else fn(input)


def _deprecated_dims(op, ndim, wanted, spatial):
    warnings.warn(
        f"{op}: Received a {ndim}-D input to {op}, which is deprecated and will result in an "
        f"error in a future release. To retain the behavior and silence this warning, please "
        f"use dropout instead. Note that {op} exists to provide channel-wise dropout on "
        f"inputs with {spatial} spatial dimensions, a channel dimension, and an optional batch "
        f"dimension (i.e. {wanted} inputs).", stacklevel=3)


def dropout2d(input, p=0.5, training=True, inplace=False, generator=None):
    """Whole channels x[n, c, :, :] zeroed with probability p, the rest scaled by 1 / (1 - p):
    input (N, C, H, W); a 3-D input is read as (N, C, L), as PyTorch does (with a warning)"""
    _check_p(p, "dropout2d")
    input = _float_input(input, "dropout2d")
    if input.ndim not in (3, 4):
        _deprecated_dims("dropout2d", input.ndim, "3D or 4D", 2)
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    return _apply(input, p, training, inplace, generator, "dropout2d", feature=True)


def dropout3d(input, p=0.5, training=True, inplace=False, generator=None):
    """Whole channels x[n, c, :, :, :] zeroed with probability p, the rest scaled by
    1 / (1 - p): input (N, C, D, H, W) or unbatched (C, D, H, W)"""
    _check_p(p, "dropout3d")
    input = _float_input(input, "dropout3d")
    if input.ndim not in (4, 5):
        _deprecated_dims("dropout3d", input.ndim, "4D or 5D", 3)
    if input.ndim != 5:
        if input.ndim == 0:
            raise RuntimeError("dropout3d: Feature dropout requires at least 2 dimensions in "
                               "the input, got a 0-d tensor")
        return _unbatched(input, 5, p, training, inplace, generator, "dropout3d")
    return _apply(input, p, training, inplace, generator, "dropout3d", feature=True)


def alpha_dropout(input, p=0.5, training=False, inplace=False, generator=None):
    """Dropout for SELU networks: dropped elements set to -1.7581 (SELU's saturation), then
    a * x + b so that inputs of mean 0 and variance 1 keep them; training is False by default,
    as PyTorch"""
    _check_p(p, "alpha_dropout")
    input = _float_input(input, "alpha_dropout")
    return _apply(input, p, training, inplace, generator, "alpha_dropout", alpha=True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False, generator=None):
    """alpha_dropout with whole channels x[n, c, ...] dropped together (input (N, C, ...))"""
    _check_p(p, "feature_alpha_dropout")
    input = _float_input(input, "feature_alpha_dropout")
    return _apply(input, p, training, inplace, generator, "feature_alpha_dropout",
                  feature=True, alpha=True)
