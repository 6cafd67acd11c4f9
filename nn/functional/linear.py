"""Linear maps: linear (and bilinear)."""

import autodiff as ad
from nn.functional._util import _tensor

__all__ = ['linear']


def linear(input, weight, bias=None):
    """y = x W^T + b, for x (..., in), W (out, in), b (out,): one fused autodiff op"""
    return ad.linear(_tensor(input, "linear", "input"), weight, bias)
