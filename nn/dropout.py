"""Dropout layers: elementwise, channel-wise (1d/2d/3d) and alpha dropout; each draws a new mask
every call in training mode and is the identity in eval mode."""
from nn import functional as F
from nn.module import Module

__all__ = ['Dropout', 'Dropout1d', 'Dropout2d', 'Dropout3d', 'AlphaDropout',
           'FeatureAlphaDropout']


class _DropoutNd(Module):
    """p (the probability of dropping) and inplace, checked and printed as PyTorch's."""

    def __init__(self, p=0.5, inplace=False, generator=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 "
                             f"and 1, but got {p} (p is the probability of dropping an element)")
        self.p, self.inplace, self.generator = p, inplace, generator

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Inverted dropout: zeroes each element with probability p and scales the rest by
    1/(1 - p) in training (a new mask every call); the identity in eval. p is the DROP
    probability, as in PyTorch - the lecture convention's p is the KEEP probability."""

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace, generator=self.generator)


class Dropout1d(_DropoutNd):
    """Zeroes whole channels x[n, c, :] of (N, C, L) or (C, L) inputs with probability p,
    scaling the rest by 1/(1 - p)"""

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace, generator=self.generator)


class Dropout2d(_DropoutNd):
    """Zeroes whole channels x[n, c, :, :] of (N, C, H, W) inputs with probability p, scaling
    the rest by 1/(1 - p)"""

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace, generator=self.generator)


class Dropout3d(_DropoutNd):
    """Zeroes whole channels x[n, c, :, :, :] of (N, C, D, H, W) or (C, D, H, W) inputs with
    probability p, scaling the rest by 1/(1 - p)"""

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training, self.inplace, generator=self.generator)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps zero mean and unit variance (for SELU networks): dropped elements
    become SELU's saturation value, then an affine map restores the statistics"""

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training, self.inplace,
                               generator=self.generator)


class FeatureAlphaDropout(_DropoutNd):
    """AlphaDropout of whole channels x[n, c, ...]"""

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training, self.inplace,
                                       generator=self.generator)
