"""Convolutional layers (NC* layout): Conv2d and a residual block, built on nn.functional's
convolutions; the course's livestream CNN."""
import math
import numbers

import autodiff as ad
from nn import functional as F
from nn import init
from nn.containers import Sequential
from nn.activations import ReLU
from nn.layers import Flatten, Linear
from nn.normalization import BatchNorm2d
from nn.pooling import MaxPool2d
from nn.module import Module
from nn.parameter import Parameter

__all__ = [
    "Conv2d", "ResidualBlock",
]


def _pair(v):
    return (v, v) if isinstance(v, numbers.Integral) else tuple(v)


class Conv2d(Module):
    """y = conv2d(x, weight, bias) (cross-correlation); weight (out, in/groups, KH, KW) and bias
    ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups * KH * KW (PyTorch's default)"""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, dtype=None):
        super().__init__()
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("groups", groups)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"Conv2d: {name} must be a positive int, got {v!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding = padding if isinstance(padding, str) else _pair(padding)
        self.dilation, self.groups = _pair(dilation), groups
        if isinstance(padding, str) and padding == "same" and self.stride != (1, 1):
            raise ValueError(f"Conv2d: padding='same' needs stride 1, got stride {self.stride}")
        self.weight = Parameter(ad.empty(out_channels, in_channels // groups, *self.kernel_size,
                                         dtype=dtype))
        self.bias = Parameter(ad.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1.0 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding not in ((0, 0), "valid"):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + ("" if self.bias is not None else ", bias=False")


class ResidualBlock(Module):
    """out = relu(F(x) + shortcut(x)), F = conv3x3(stride) -> BN -> ReLU -> conv3x3 -> BN; the
    shortcut is the identity, or a 1x1 conv (stride) -> BN when the shape changes"""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = BatchNorm2d(out_channels)
        self.conv2 = Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = Sequential(Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                       BatchNorm2d(out_channels))
        else:
            self.shortcut = None

    def forward(self, x):
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out))
        return (out + (x if self.shortcut is None else self.shortcut(x))).relu()


class _Image(Module):
    """(N, side * side) -> (N, 1, side, side): flat square images (e.g. 8x8 digits) as NCHW"""

    def __init__(self, side):
        super().__init__()
        self.side = side

    def forward(self, x):
        return x.reshape(x.shape[0], 1, self.side, self.side)


def livestream_cnn(in_shape, n_classes, hidden=128):
    """The livestream's CNN for (C, H, W) images, or flat square ones: 5x5 conv 16 ('same') ->
    2x2 max-pool -> ReLU -> 5x5 conv 36 -> 2x2 max-pool -> ReLU -> flatten -> FC hidden ->
    ReLU -> FC n_classes (for 28x28 MNIST the flatten size is 7*7*36 = 1764)"""
    head = []
    if len(in_shape) == 1:
        side = math.isqrt(in_shape[0])
        if side * side != in_shape[0]:
            raise ValueError(f"livestream_cnn: flat inputs must be square images; {in_shape[0]} "
                             f"features are not side*side")
        head, in_shape = [_Image(side)], (1, side, side)
    if len(in_shape) != 3:
        raise ValueError(f"livestream_cnn: expected images of shape (C, H, W), got {in_shape}")
    c, h, w = in_shape
    return Sequential(*head,
                      Conv2d(c, 16, 5, padding="same"), MaxPool2d(2), ReLU(),
                      Conv2d(16, 36, 5, padding="same"), MaxPool2d(2), ReLU(),
                      Flatten(), Linear(36 * (h // 4) * (w // 4), hidden), ReLU(),
                      Linear(hidden, n_classes))
