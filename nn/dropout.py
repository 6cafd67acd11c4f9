"""Dropout layers."""
from nn import functional as F
from nn.module import Module

__all__ = ['Dropout']


class Dropout(Module):
    """Inverted dropout: zeroes each element with probability p and scales the rest by
    1/(1 - p) in training (a new mask every call); the identity in eval. p is the DROP
    probability, as in PyTorch - the lecture convention's p is the KEEP probability."""

    def __init__(self, p=0.5, inplace=False, generator=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p is the probability of dropping an element and must be "
                             f"in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def forward(self, input):
        return F.dropout(input, self.p, self.training, generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}, inplace=False"
