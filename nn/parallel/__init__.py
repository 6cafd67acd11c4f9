"""nn.parallel (torch.nn.parallel): DistributedDataParallel over MPI ranks."""
from nn.parallel.distributed import DistributedDataParallel  # noqa: F401

__all__ = ["DistributedDataParallel"]
