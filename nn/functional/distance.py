"""Distances and similarities: cosine_similarity, pairwise_distance, pdist."""

import autodiff as ad
from nn.functional._util import _tensor

__all__ = ['cosine_similarity', 'pairwise_distance', 'pdist']


def _float_pair(x1, x2, op):
    """x1, x2 as tensors of their common floating dtype (integers promote, as PyTorch)."""
    x1, x2 = _tensor(x1, op, "x1"), _tensor(x2, op, "x2")
    common = ad.result_type(x1, x2)
    if common.kind != "f":
        raise RuntimeError(f"{op}: expected common dtype to be floating point, yet common dtype "
                           f"is {common} (x1 {x1.dtype}, x2 {x2.dtype}); convert with .float()")
    return x1.to(common), x2.to(common)


def _clamped_norm(x, dim, eps):
    """||x||_2 over dim (kept), valued max(||x||, eps) but differentiated as ||x|| itself:
    PyTorch clamps the norms outside the graph"""
    norm = ad.linalg.vector_norm(x, 2, dim=dim, keepdim=True)
    small = norm.detach() < eps
    if not small.any():
        return norm
    return ad.where(small, norm + (eps - norm.detach()), norm)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum over dim of (x1 / max(||x1||, eps)) * (x2 / max(||x2||, eps)), x1 and x2 broadcast
    first; the clamp is outside the graph (the gradient flows through the unclamped norm)"""
    x1, x2 = _float_pair(x1, x2, "cosine_similarity")
    try:
        x1, x2 = ad.broadcast_tensors(x1, x2)
    except (ValueError, RuntimeError):
        raise RuntimeError(f"cosine_similarity: x1 of shape {tuple(x1.shape)} and x2 of shape "
                           f"{tuple(x2.shape)} do not broadcast to a common shape") from None
    return ((x1 / _clamped_norm(x1, dim, eps)) * (x2 / _clamped_norm(x2, dim, eps))).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim (of the broadcast shape)"""
    x1, x2 = _float_pair(x1, x2, "pairwise_distance")
    ndim = max(x1.ndim, x2.ndim)
    diff = x1 - x2 + eps
    if ndim == 0:  # (two numbers: the norm of one element, as PyTorch)
        return ad.linalg.vector_norm(diff, p, keepdim=keepdim)
    return ad.linalg.vector_norm(diff, p, dim=ndim - 1, keepdim=keepdim)


def pdist(input, p=2):
    """The p-norm distance between rows i < j of input (N, M), in row-major order: N(N-1)/2"""
    return ad.pdist(input, p)
