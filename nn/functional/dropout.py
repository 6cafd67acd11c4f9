"""Dropout and its variants."""

import autodiff as ad
from nn.functional._util import _const, _float_input

__all__ = ['dropout']


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
