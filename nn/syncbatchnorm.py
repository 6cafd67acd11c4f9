"""SyncBatchNorm: batch norm whose training statistics span every rank of a process group."""
import autodiff as ad
from nn.functional.normalization import _ShapeError, _affine, _float_input, _update_running
from nn.normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


def _sync_batch_norm(input, running_mean, running_var, weight, bias, momentum, eps, group):
    """y = (x - mean) / sqrt(var + eps) * weight + bias with the mean and biased variance of
    the batches of all ranks: sum and count all-reduced, then the squared deviations about
    the global mean (an exact two-pass form); the all-reduces are differentiable, so the
    input gradient sums the contributions of every rank's loss"""
    from autodiff.distributed.nn.functional import all_reduce
    input = _float_input(input, "SyncBatchNorm")
    c = input.shape[1]
    dims = (0,) + tuple(range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    count = ad.full((1,), input.numel() // c, dtype=input.dtype)
    # the count rides with the sums: ranks may hold batches of different sizes (or none)
    total = all_reduce(ad.cat([input.sum(dims), count]), group=group)
    n = int(round(float(total.data[c])))
    if n <= 1:
        raise ValueError(f"SyncBatchNorm: Expected more than 1 value per channel when "
                         f"training, got {n} over all ranks (this rank's input size "
                         f"{list(input.shape)}); use larger batches, or call model.eval() to "
                         f"normalise with the running statistics")
    mean = total[:c] / n
    centred = input - mean.reshape(shape)
    # two-pass: no cancellation of sum(x^2) - n mean^2 when |mean| >> std
    var = all_reduce((centred * centred).sum(dims), group=group) / n
    if running_mean is not None:
        _update_running(running_mean, mean.data, momentum)
        _update_running(running_var, var.data * (n / (n - 1)), momentum)
    out = centred * (var.reshape(shape) + eps).rsqrt()
    return _affine(out, weight, bias, input.ndim)


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, *) inputs whose training statistics are the mean and variance
    of the whole batch across the ranks of process_group; BatchNorm otherwise"""
    _shapes = ("(N, C, *)",)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None, *,
                 bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.ndim < 2:
            raise ValueError(f"SyncBatchNorm({self.num_features}): expected at least 2D input "
                             f"(got {input.ndim}D input): an input of shape "
                             f"(N, {self.num_features}, *), got {tuple(input.shape)}")

    def _sync_world_size(self):
        """The group's size when training synchronises statistics, else 1."""
        if not self.training:
            return 1
        from autodiff import distributed as dist
        if not (dist.is_available() and dist.is_initialized()):
            return 1
        return dist.get_world_size(self.process_group)

    def forward(self, input):
        self._check_input_dim(input)
        if input.shape[1] == 0:
            raise ValueError(f"SyncBatchNorm({self.num_features}): the number of input "
                             f"channels (dim 1) should be non-zero, got input of shape "
                             f"{tuple(input.shape)}")
        if self._sync_world_size() <= 1:  # eval, one rank, or no process group: BatchNorm
            return super().forward(input)
        c = input.shape[1]
        if c != self.num_features and (self.weight is not None or self.bias is not None
                                       or self.running_mean is not None):
            raise _ShapeError(f"SyncBatchNorm({self.num_features}): the input has {c} channels "
                              f"in dim 1, not {self.num_features}: expected an input of shape "
                              f"(N, {self.num_features}, *), got {tuple(input.shape)}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            with ad.no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative average
                momentum = 1.0 / int(self.num_batches_tracked.item())
        tracked = self.track_running_stats
        return _sync_batch_norm(input, self.running_mean if tracked else None,
                                self.running_var if tracked else None, self.weight, self.bias,
                                momentum, self.eps, self.process_group)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """module with every BatchNorm1d/2d/3d (any _BatchNorm) in its tree replaced by a
        SyncBatchNorm holding the same Parameters, buffers and training flag; a BatchNorm
        given as module comes back as a new SyncBatchNorm"""
        out = module
        if isinstance(module, _BatchNorm):
            out = SyncBatchNorm(module.num_features, module.eps, module.momentum,
                                module.affine, module.track_running_stats, process_group,
                                bias=module.bias is not None)
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
