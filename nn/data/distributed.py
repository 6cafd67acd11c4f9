"""torch.utils.data.distributed: DistributedSampler (defined in nn.data.sampler)."""
from nn.data.sampler import DistributedSampler

__all__ = ["DistributedSampler"]
