"""Distances and similarities."""

from nn.functional._util import _float_input
from nn.functional.normalization import normalize

__all__ = ['cosine_similarity']


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum over dim of (x1 / max(||x1||, eps)) * (x2 / max(||x2||, eps)); x1, x2 broadcast"""
    x1, x2 = _float_input(x1, "cosine_similarity", "x1"), _float_input(x2, "cosine_similarity",
                                                                       "x2")
    return (normalize(x1, 2.0, dim, eps) * normalize(x2, 2.0, dim, eps)).sum(dim)
