"""Normalisation layers: batch norm, layer norm, ..."""
import autodiff as ad
from nn import functional as F
from nn import init
from nn.module import Module
from nn.parameter import Parameter

__all__ = ['BatchNorm1d', 'BatchNorm2d', 'LayerNorm']


class BatchNorm1d(Module):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta per feature over (N,) or (N, L):
    training uses batch mean and biased variance and updates running_mean/running_var
    (unbiased) with `momentum` (None: cumulative average); eval uses the running stats"""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.has_bias = bool(affine and bias)
        if affine:
            self.weight = Parameter(ad.ones(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(ad.zeros(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
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

    def forward(self, input):
        if input.ndim not in (2, 3) or input.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}): expected input of shape "
                             f"(N, {self.num_features}) or (N, {self.num_features}, L), got "
                             f"{tuple(input.shape)}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with ad.no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                momentum = 1.0 / int(self.num_batches_tracked.item())
        # running stats are None when not tracked; then eval also uses the batch statistics
        use_batch = self.training or not self.track_running_stats
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch, momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.has_bias}, "
                f"track_running_stats={self.track_running_stats}")


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta over the trailing normalized_shape
    dims (biased variance); the same in training and eval"""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ad.ones(*self.normalized_shape, dtype=dtype))
            self.bias = Parameter(ad.zeros(*self.normalized_shape, dtype=dtype)) if bias else None
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class BatchNorm2d(BatchNorm1d):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta per channel, stats over (N, H, W):
    batch mean and biased variance in training (running stats get the unbiased one, with
    momentum 0.1), running stats in eval"""

    def forward(self, input):
        if input.ndim != 4 or input.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d({self.num_features}): expected input of shape "
                             f"(N, {self.num_features}, H, W), got {tuple(input.shape)}")
        n, c, h, w = input.shape
        # (N, C, H*W) is BatchNorm1d's (N, C, L) layout: the same per-channel statistics
        return super().forward(input.reshape(n, c, h * w)).reshape(n, c, h, w)
