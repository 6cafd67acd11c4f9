"""Padding layers: ZeroPad*, ConstantPad*, ReflectionPad*, ReplicationPad*, CircularPad*."""

from nn.functional.sampling import pad
from nn.module import Module

__all__ = ['ZeroPad1d', 'ZeroPad2d', 'ZeroPad3d', 'ConstantPad1d', 'ConstantPad2d',
           'ConstantPad3d', 'ReflectionPad1d', 'ReflectionPad2d', 'ReflectionPad3d',
           'ReplicationPad1d', 'ReplicationPad2d', 'ReplicationPad3d', 'CircularPad1d',
           'CircularPad2d', 'CircularPad3d']


def _sizes(padding, n):
    """An int pads every side; a tuple is taken as given (F.pad checks it), as in PyTorch."""
    return tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * (2 * n)


class _PadNd(Module):
    _dims = 1          # the number of trailing dims padded
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _sizes(padding, self._dims)

    def forward(self, input):
        return pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """out = input with the last dim padded by value: padding int or (left, right)"""
    _dims = 1


class ConstantPad2d(_ConstantPadNd):
    """out = input with the last 2 dims padded by value: (left, right, top, bottom)"""
    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    """out = input with the last 3 dims padded by value: (left, right, top, bottom, front, back)"""
    _dims = 3


class ZeroPad1d(ConstantPad1d):
    """out = input with the last dim padded by zeros: padding int or (left, right)"""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """out = input with the last 2 dims padded by zeros: (left, right, top, bottom)"""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """out = input with the last 3 dims padded by zeros: (left, right, top, bottom, front, back)"""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """out[..., i] = input[..., reflect(i - left)], edge not repeated; (C, W) or (N, C, W)"""
    _dims, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """reflect padding of the last 2 dims; (C, H, W) or (N, C, H, W)"""
    _dims, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """reflect padding of the last 3 dims; (C, D, H, W) or (N, C, D, H, W)"""
    _dims, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """out[..., i] = input[..., clamp(i - left, 0, W - 1)]; (C, W) or (N, C, W)"""
    _dims, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """replicate padding of the last 2 dims; (C, H, W) or (N, C, H, W)"""
    _dims, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """replicate padding of the last 3 dims; (C, D, H, W) or (N, C, D, H, W)"""
    _dims, _mode = 3, "replicate"


class _CircularPadNd(_PadNd):
    _mode = "circular"

    def forward(self, input):
        if input.ndim not in (self._dims + 1, self._dims + 2):
            raise ValueError(f"{type(self).__name__}: expected {self._dims + 1}D or "
                             f"{self._dims + 2}D input (got {input.ndim}D input of shape "
                             f"{tuple(input.shape)})")
        return super().forward(input)


class CircularPad1d(_CircularPadNd):
    """out[..., i] = input[..., (i - left) mod W]; (C, W) or (N, C, W)"""
    _dims = 1


class CircularPad2d(_CircularPadNd):
    """circular padding of the last 2 dims; (C, H, W) or (N, C, H, W)"""
    _dims = 2


class CircularPad3d(_CircularPadNd):
    """circular padding of the last 3 dims; (C, D, H, W) or (N, C, D, H, W)"""
    _dims = 3
