"""Normalisation layers: batch, instance, layer, group and RMS norm, local response norm."""
import numbers
import warnings

import numpy as np

import autodiff as ad
from nn import functional as F
from nn import init
from nn.functional.normalization import _ShapeError, _lrn
from nn.module import Module
from nn.parameter import Parameter

__all__ = ['BatchNorm1d', 'BatchNorm2d', 'BatchNorm3d', 'InstanceNorm1d', 'InstanceNorm2d',
           'InstanceNorm3d', 'LayerNorm', 'GroupNorm', 'RMSNorm', 'LocalResponseNorm',
           'CrossMapLRN2d']


def _check_device(device, name):
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ValueError(f"{name}: device must be None or 'cpu' (autodiff runs on the CPU), "
                         f"got {device!r}")


def _affine_parameters(module, shape, affine, bias, dtype):
    """weight = ones(shape) and bias = zeros(shape) as Parameters when affine (bias only if
    asked), else both registered as None, as PyTorch's norm layers hold them"""
    module.register_parameter("weight", Parameter(ad.ones(*shape, dtype=dtype)) if affine
                              else None)
    module.register_parameter("bias", Parameter(ad.zeros(*shape, dtype=dtype))
                              if affine and bias else None)


class _NormBase(Module):
    """weight/bias (C,) and running_mean/running_var/num_batches_tracked buffers, as
    PyTorch's batch and instance norms hold them (state_dict keys included)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        _check_device(device, type(self).__name__)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_parameters(self, (num_features,), affine, bias, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", ad.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ad.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", ad.tensor(0, dtype=ad.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            with ad.no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input):
        if input.ndim not in self._ndims:
            dims = " or ".join(f"{d}D" for d in self._ndims)
            shapes = " or ".join(self._shapes)
            raise ValueError(f"{self._get_name()}({self.num_features}): expected {dims} input "
                             f"(got {input.ndim}D input): an input of shape "
                             f"{shapes.replace('C', str(self.num_features))}, got "
                             f"{tuple(input.shape)}")

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta per channel: batch mean and biased
    variance in training (the running stats get the unbiased one, with `momentum`, or a
    cumulative average when momentum is None), the running stats in eval"""

    def forward(self, input):
        self._check_input_dim(input)
        c = input.shape[1]
        if c != self.num_features and (self.weight is not None or self.bias is not None
                                       or self.running_mean is not None):
            raise _ShapeError(
                f"{self._get_name()}({self.num_features}): the input has {c} channels in dim "
                f"1, not {self.num_features}: expected an input of shape "
                f"{' or '.join(self._shapes).replace('C', str(self.num_features))}, got "
                f"{tuple(input.shape)}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with ad.no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                momentum = 1.0 / int(self.num_batches_tracked.item())
        # batch statistics in training, and in eval when there are no running buffers
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        # buffers are updated only when tracked; in eval they normalise when they exist
        tracked = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if tracked else None,
                            self.running_var if tracked else None, self.weight, self.bias,
                            use_batch, momentum, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs, statistics per channel over (N, L)"""
    _ndims, _shapes = (2, 3), ("(N, C)", "(N, C, L)")


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs, statistics per channel over (N, H, W)"""
    _ndims, _shapes = (4,), ("(N, C, H, W)",)


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W) inputs, statistics per channel over (N, D, H, W)"""
    _ndims, _shapes = (5,), ("(N, C, D, H, W)",)


class _InstanceNorm(_NormBase):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta with statistics over the spatial dims
    of each (sample, channel); the running stats (track_running_stats=True) normalise in eval"""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, input):
        self._check_input_dim(input)
        unbatched = input.ndim == self._ndims[0]
        feature_dim = 0 if unbatched else 1
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"{self._get_name()}: expected input's size at "
                                 f"dim={feature_dim} to match num_features "
                                 f"({self.num_features}), but got: "
                                 f"{input.shape[feature_dim]}.")
            warnings.warn(f"{self._get_name()}: input's size at dim={feature_dim} does not "
                          f"match num_features. You can silence this warning by not passing "
                          f"in num_features, which is not used because affine=False",
                          stacklevel=2)
        x = input.unsqueeze(0) if unbatched else input
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              0.0 if self.momentum is None else self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over (N, C, L) or unbatched (C, L) inputs"""
    _ndims, _shapes = (2, 3), ("(C, L)", "(N, C, L)")


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over (N, C, H, W) or unbatched (C, H, W) inputs"""
    _ndims, _shapes = (3, 4), ("(C, H, W)", "(N, C, H, W)")


class InstanceNorm3d(_InstanceNorm):
    """Instance norm over (N, C, D, H, W) or unbatched (C, D, H, W) inputs"""
    _ndims, _shapes = (4, 5), ("(C, D, H, W)", "(N, C, D, H, W)")


def _shape_tuple(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta over the trailing normalized_shape
    dims (biased variance); the same in training and eval"""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        _check_device(device, "LayerNorm")
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, dtype)

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta, statistics over each group of
    num_channels / num_groups channels of each sample; gamma, beta per channel"""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        _check_device(device, "GroupNorm")
        if num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        _affine_parameters(self, (num_channels,), affine, bias, dtype)

    def reset_parameters(self):
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """y = x / sqrt(mean(x^2) + eps) * gamma over the trailing normalized_shape dims;
    eps=None means finfo(x.dtype).eps"""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        super().__init__()
        _check_device(device, "RMSNorm")
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ad.ones(*self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class LocalResponseNorm(Module):
    """y = x / (k + alpha / size * sum of x^2 over `size` neighbouring channels) ** beta"""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def _cross_map_window(c, size):
    """(C, C) 0/1 matrix of the channels PyTorch's CrossMapLRN2d sums for each channel: a
    running window that starts with the first (size + 1) // 2 channels, adds channel
    j + pre - 1 and drops channel j - pre at step j, but only for j > pre, so channel 0
    stays in every window (pre = (size - 1) // 2 + 1)."""
    pre = int((size - 1) / 2 + 1)
    window = np.zeros((c, c))
    window[0, :min(pre, c)] = 1
    for j in range(1, c):
        window[j] = window[j - 1]
        if j + pre - 1 < c:
            window[j, j + pre - 1] += 1
        if j > pre:
            window[j, j - pre] -= 1
    return window


class CrossMapLRN2d(Module):
    """Legacy 4-D local response norm: y = x / (k + alpha / size * sum of x^2 over
    PyTorch's CrossMapLRN2d window) ** beta; values as PyTorch, exact gradients"""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        if input.ndim != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.ndim}D "
                             f"instead; the input is (N, C, H, W)")
        input = F._float_input(input, "CrossMapLRN2d")
        return _lrn(input, _cross_map_window(input.shape[1], self.size), self.size, self.alpha,
                    self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
