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
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "ResidualBlock",
]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v, n):
    if isinstance(v, numbers.Integral):
        return (int(v),) * n
    v = tuple(int(a) for a in v)
    return v * n if len(v) == 1 else v


class _ConvNd(Module):
    """The shared body of the convolution layers: arguments checked as PyTorch checks them,
    weight (out, in/groups, *k) or, transposed, (in, out/groups, *k), PyTorch's default init
    and printout."""
    _nd = 2
    _transposed = False
    _fn = "conv2d"  # the nn.functional form, looked up at call time (so it can be wrapped)

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 output_padding, groups, bias, padding_mode, device, dtype):
        super().__init__()
        name, nd = type(self).__name__, self._nd
        if device not in (None, "cpu"):
            raise ValueError(f"{name}: device must be None or 'cpu' (numpy arrays live on the "
                             f"CPU), got {device!r}")
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name}: {arg} must be a positive int, got {v!r}")
        if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups "
                             f"({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by "
                             f"groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode={padding_mode!r}")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'{name}: only "zeros" padding mode is supported (got '
                             f'{padding_mode!r}); pad the input with F.pad first')
        self.kernel_size = _ntuple(kernel_size, nd)
        self.stride, self.dilation = _ntuple(stride, nd), _ntuple(dilation, nd)
        if isinstance(padding, str):
            if self._transposed:
                raise ValueError(f"{name}: padding must be an int or a tuple of {nd} ints, got "
                                 f"{padding!r} ('same' and 'valid' exist for convolutions only)")
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of "
                                 f"'same', 'valid'")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions (stride {self.stride}); give the padding as "
                                 f"numbers instead")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, nd)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.transposed = self._transposed
        self.output_padding = _ntuple(output_padding, nd)
        self.groups, self.padding_mode = groups, padding_mode
        # F.pad's argument for the non-zero padding modes: (left, right) per dim, last dim first
        if self.padding == "same":
            pads = []
            for k, d in zip(self.kernel_size, self.dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
        elif self.padding == "valid":
            pads = [(0, 0)] * nd
        else:
            pads = [(p, p) for p in self.padding]
        self._reversed_padding_repeated_twice = [p for pair in reversed(pads) for p in pair]
        shape = (in_channels, out_channels // groups) if self._transposed else \
            (out_channels, in_channels // groups)
        self.weight = Parameter(ad.empty(*shape, *self.kernel_size, dtype=dtype))
        self.bias = Parameter(ad.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            if fan_in:
                bound = 1.0 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        nd = self._nd
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, 0,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        if self.padding_mode != "zeros":  # pad first, as PyTorch: the convolution pads nothing
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return getattr(F, self._fn)(input, self.weight, self.bias, self.stride, 0,
                                        self.dilation, self.groups)
        return getattr(F, self._fn)(input, self.weight, self.bias, self.stride, self.padding,
                                    self.dilation, self.groups)


class Conv1d(_Conv):
    """y = conv1d(x, weight, bias) over (N, C, L); weight (out, in/groups, K) and bias
    ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups * K (PyTorch's default)"""
    _nd = 1
    _fn = "conv1d"


class Conv2d(_Conv):
    """y = conv2d(x, weight, bias) (cross-correlation); weight (out, in/groups, KH, KW) and bias
    ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups * KH * KW (PyTorch's default)"""
    _nd = 2
    _fn = "conv2d"


class Conv3d(_Conv):
    """y = conv3d(x, weight, bias) over (N, C, D, H, W); weight (out, in/groups, KD, KH, KW),
    PyTorch's default init"""
    _nd = 3
    _fn = "conv3d"


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         output_padding, groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size):
        """output_padding that makes the output output_size (spatial, or with the N, C dims)"""
        if output_size is None:
            return self.output_padding
        nd, name = self._nd, type(self).__name__
        output_size = [int(v) for v in output_size]
        lead = 2 if input.ndim == nd + 2 else 1
        if len(output_size) == nd + lead:
            output_size = output_size[lead:]
        if len(output_size) != nd:
            raise ValueError(f"{name}: for {input.ndim}D input, output_size must have {nd} or "
                             f"{nd + lead} elements (got {len(output_size)})")
        extra = []
        for size, want, s, p, d, k in zip(input.shape[input.ndim - nd:], output_size,
                                          self.stride, self.padding, self.dilation,
                                          self.kernel_size):
            low = (size - 1) * s - 2 * p + d * (k - 1) + 1
            if not low <= want <= low + s - 1:
                raise ValueError(f"{name}: requested an output size of {tuple(output_size)}, "
                                 f"but valid sizes range from {low} to {low + s - 1} in each "
                                 f"dim (for an input of {tuple(input.shape[input.ndim - nd:])})")
            extra.append(want - low)
        return tuple(extra)

    def forward(self, input, output_size=None):
        return getattr(F, self._fn)(input, self.weight, self.bias, self.stride, self.padding,
                                    self._output_padding(input, output_size), self.groups,
                                    self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """y = conv_transpose1d(x, weight, bias): conv1d's input gradient; weight
    (in, out/groups, K); forward(input, output_size=None) picks output_padding"""
    _nd = 1
    _fn = "conv_transpose1d"


class ConvTranspose2d(_ConvTranspose):
    """y = conv_transpose2d(x, weight, bias): conv2d's input gradient; weight
    (in, out/groups, KH, KW); forward(input, output_size=None) picks output_padding"""
    _nd = 2
    _fn = "conv_transpose2d"


class ConvTranspose3d(_ConvTranspose):
    """y = conv_transpose3d(x, weight, bias): conv3d's input gradient; weight
    (in, out/groups, KD, KH, KW); forward(input, output_size=None) picks output_padding"""
    _nd = 3
    _fn = "conv_transpose3d"


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
