"""Gradient clipping and flat parameter vectors (torch.nn.utils)."""
import numbers

import numpy as np

import autodiff as ad


def _params(parameters, fn):
    if isinstance(parameters, ad.Tensor):
        return [parameters]
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, ad.Tensor):
            raise TypeError(f"{fn}: parameters must be Tensors (e.g. model.parameters()), but "
                            f"item {i} is a {type(p).__name__}")
    return params


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """total = ||(||g_1||_p, ..., ||g_n||_p)||_p; every g *= min(1, max_norm / (total + 1e-6)).

    Returns the total norm before clipping, as a 0-d tensor. Parameters whose .grad is None
    are ignored. norm_type may be float('inf') (or 'inf') for the largest |g|."""
    params = [p for p in _params(parameters, "clip_grad_norm_") if p.grad is not None]
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not params:
        return ad.tensor(0.0)
    grads = [p.grad.data for p in params]
    dtype = np.result_type(*grads)
    norms = np.array([np.linalg.norm(g.ravel(), ord=norm_type) for g in grads], dtype=dtype)
    total = np.asarray(np.linalg.norm(norms, ord=norm_type), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total {norm_type}-norm of the gradients of "
                           f"{len(grads)} parameters is {float(total)}, so they cannot be "
                           f"clipped; look for the NaN/Inf (e.g. with autodiff.detect_anomaly())"
                           f" - or pass error_if_nonfinite=False to clip anyway")
    coef = min(max_norm / (float(total) + 1e-6), 1.0)
    if coef < 1.0 or not np.isfinite(total):  # below max_norm the grads stay untouched
        with ad.no_grad():
            for p in params:
                p.grad.mul_(np.asarray(coef, p.grad.dtype) if np.isfinite(coef) else coef)
    return ad.tensor(total)


def clip_grad_value_(parameters, clip_value):
    """g = clamp(g, -clip_value, clip_value) for every parameter with a gradient."""
    if isinstance(clip_value, bool) or not isinstance(clip_value, numbers.Real) or clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be a non-negative number, got "
                         f"{clip_value!r}")
    with ad.no_grad():
        for p in _params(parameters, "clip_grad_value_"):
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters):
    """One 1-D tensor: the parameters flattened and concatenated (differentiable)."""
    params = _params(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return ad.cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D `vec` into the parameters, in place (no graph)."""
    if not isinstance(vec, ad.Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got "
                        f"{type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be 1-D, got shape {tuple(vec.shape)}")
    params = _params(parameters, "vector_to_parameters")
    total = sum(p.numel() for p in params)
    if total != vec.shape[0]:
        raise ValueError(f"vector_to_parameters: vec has {vec.shape[0]} elements but the "
                         f"parameters have {total} in all")
    start = 0
    with ad.no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec.data[start:start + n].reshape(p.shape))
            start += n


__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]
