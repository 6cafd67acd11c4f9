"""autodiff.distributed: torch.distributed's process group and collectives, over MPI (mpi4py).

    mpiexec -n 2 python train.py        # in train.py:
    import autodiff.distributed as dist
    dist.init_process_group("mpi")
    dist.all_reduce(t)                  # in place: t <- sum over ranks

Needs the extra `pip install 'autodiff[distributed]'` (mpi4py and the mpich wheel); without
it the package imports, is_available() is False and init_process_group raises ImportError.
The differentiable collectives are in autodiff.distributed.nn.functional.
"""
from ._group import (NEEDS_MPI, Backend, DistBackendError, DistError, GroupMember,  # noqa: F401
                     ProcessGroup, ReduceOp, _comm, destroy_process_group, get_backend,
                     get_global_rank, get_group_rank, get_process_group_ranks, get_rank,
                     get_world_size, group, init_process_group, is_available,
                     is_gloo_available, is_initialized, is_mpi_available, is_nccl_available,
                     is_torchelastic_launched, new_group)
from ._collectives import (Work, all_gather, all_gather_into_tensor, all_gather_object,  # noqa
                           all_reduce, all_to_all, all_to_all_single, barrier, broadcast,
                           broadcast_object_list, gather, gather_object, reduce, reduce_scatter,
                           reduce_scatter_tensor, scatter, scatter_object_list)
from ._reducer import Reducer  # (what nn.parallel.DistributedDataParallel runs on)
from . import nn  # noqa: F401  (torch.distributed.nn: the differentiable collectives)

__all__ = ["Backend", "DistBackendError", "DistError", "GroupMember", "ProcessGroup",
           "ReduceOp", "Reducer", "Work", "all_gather", "all_gather_into_tensor",
           "all_gather_object",
           "all_reduce", "all_to_all", "all_to_all_single", "barrier", "broadcast",
           "broadcast_object_list", "destroy_process_group", "gather", "gather_object",
           "get_backend", "get_global_rank", "get_group_rank", "get_process_group_ranks",
           "get_rank", "get_world_size", "group", "init_process_group", "is_available",
           "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available",
           "is_torchelastic_launched", "new_group", "reduce", "reduce_scatter",
           "reduce_scatter_tensor", "scatter", "scatter_object_list"]
