"""DistributedDataParallel: one model replica per MPI rank, gradients averaged over the ranks in
buckets while the backward pass is still running (torch.nn.parallel.DistributedDataParallel).
The bucketing and the overlap with backward are autodiff.distributed.Reducer's."""
import contextlib

import autodiff as ad
import autodiff.distributed as dist
from nn.module import Module

__all__ = ["DistributedDataParallel"]

_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024  # (torch.distributed._DEFAULT_FIRST_BUCKET_BYTES)
_DEFAULT_BUCKET_CAP_MB = 25
_MB = 1024 * 1024


class DistributedDataParallel(Module):
    """Data parallelism over MPI ranks: parameters and buffers broadcast from rank 0 at wrap
    time, gradients averaged over the ranks during backward (buckets of about bucket_cap_mb)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, init_sync=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if device_ids or output_device is not None:
            raise ValueError(
                f"DistributedDataParallel device_ids and output_device arguments only work with "
                f"GPU modules; autodiff runs on the CPU, but got device_ids {device_ids}, "
                f"output_device {output_device}. Leave both out.")
        self.module = module
        self.process_group = process_group
        dist.get_world_size(process_group)  # (raises the not-initialised error)
        self._params = [p for p in module.parameters() if p.requires_grad]
        if not self._params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have "
                               "any parameter that requires a gradient.")
        names = {id(p): n for n, p in module.named_parameters()}
        self._names = [names[id(p)] for p in self._params]
        self.dim = dim
        self.device_ids = self.output_device = None
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.static_graph = bool(static_graph)
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        if bucket_cap_mb is not None and not bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        cap = int((_DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb) * _MB)
        first = _DEFAULT_FIRST_BUCKET_BYTES if bucket_cap_mb is None else cap
        self.bucket_bytes_cap = cap
        self.reducer = dist.Reducer(self._params, self._names, process_group, first, cap,
                                    self.find_unused_parameters, self.gradient_as_bucket_view)
        if init_sync:
            self.reducer.verify_same_parameters()
            self._sync_module_states(broadcast_buffers)

    # --- wrap time -------------------------------------------------------------------------------

    def _sync_module_states(self, buffers):
        tensors = list(self.module.parameters())
        if buffers:
            tensors += [b for b in self.module.buffers() if b is not None]
        with ad.no_grad():
            self.reducer.broadcast(tensors)

    # --- forward ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def no_sync(self):
        """Gradients accumulate locally in .grad inside it; the first backward after it averages
        the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def forward(self, *inputs, **kwargs):
        grad_on = ad.is_grad_enabled()
        self.reducer.start_forward(grad_on)
        if self.require_forward_param_sync and self.broadcast_buffers:
            buffers = [b for b in self.module.buffers() if b is not None]
            if buffers:
                with ad.no_grad():
                    self.reducer.broadcast(buffers)
        out = self.module(*inputs, **kwargs)
        if grad_on and self.require_backward_grad_sync:
            self.require_forward_param_sync = True
            self.reducer.prepare_for_backward(out)
        else:
            self.require_forward_param_sync = False
        return out
