"""Gradient clipping (torch.nn.utils.clip_grad)."""
import numbers
import warnings

import numpy as np

import autodiff as ad
from autodiff.compiler import replayed

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _params(parameters, fn):
    if isinstance(parameters, ad.Tensor):
        return [parameters]
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, ad.Tensor):
            raise TypeError(f"{fn}: parameters must be Tensors (e.g. model.parameters()), but "
                            f"item {i} is a {type(p).__name__}")
    return params


@replayed
def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """||(||t_1||_p, ..., ||t_n||_p)||_p as a 0-d tensor (0 for no tensors); norm_type may be
    inf (the largest |t|)."""
    arrays = [t.data for t in _params(tensors, "get_total_norm")]
    norm_type = float(norm_type)
    if not arrays:
        return ad.tensor(0.0)
    dtype = np.result_type(*arrays)
    norms = np.array([np.linalg.norm(a.ravel(), ord=norm_type) for a in arrays], dtype=dtype)
    total = np.asarray(np.linalg.norm(norms, ord=norm_type), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total {norm_type}-norm of the gradients of "
                           f"{len(arrays)} parameters is {float(total)}, so they cannot be "
                           f"clipped; look for the NaN/Inf (e.g. with autodiff.detect_anomaly())"
                           f" - or pass error_if_nonfinite=False to clip anyway")
    return ad.tensor(total)


@replayed
def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Every g *= min(1, max_norm / (total_norm + 1e-6)), total_norm given (get_total_norm)."""
    params = [p for p in _params(parameters, "clip_grads_with_norm_") if p.grad is not None]
    total = float(total_norm.item() if isinstance(total_norm, ad.Tensor) else total_norm)
    coef = min(float(max_norm) / (total + 1e-6), 1.0)
    if coef < 1.0 or not np.isfinite(total):  # below max_norm the grads stay untouched
        with ad.no_grad():
            for p in params:
                p.grad.mul_(np.asarray(coef, p.grad.dtype) if np.isfinite(coef) else coef)


@replayed
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """total = ||(||g_1||_p, ..., ||g_n||_p)||_p; every g *= min(1, max_norm / (total + 1e-6)).

    Returns the total norm before clipping, as a 0-d tensor. Parameters whose .grad is None
    are ignored. norm_type may be float('inf') (or 'inf') for the largest |g|."""
    params = [p for p in _params(parameters, "clip_grad_norm_") if p.grad is not None]
    max_norm = float(max_norm)
    total = get_total_norm([p.grad for p in params], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated spelling of clip_grad_norm_ (same behaviour, with a FutureWarning)."""
    warnings.warn("`nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


@replayed
def clip_grad_value_(parameters, clip_value, foreach=None):
    """g = clamp(g, -clip_value, clip_value) for every parameter with a gradient."""
    if isinstance(clip_value, bool) or not isinstance(clip_value, numbers.Real) or clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be a non-negative number, got "
                         f"{clip_value!r}")
    with ad.no_grad():
        for p in _params(parameters, "clip_grad_value_"):
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)
