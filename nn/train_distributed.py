"""Data-parallel runs of `python -m nn.train` under `mpiexec -n N` (autodiff[distributed]).

Every rank builds the same model and draws the same shuffled order; each global batch of
--batch-size examples is split into N contiguous parts, one per rank, and DistributedDataParallel
averages the gradients, with each rank's loss weighted so the average equals the gradient of the
whole batch's mean loss - the run takes the steps a single process would take (up to the order
of float sums). BatchNorm layers become SyncBatchNorm, so their statistics are the whole batch's
too. Rank 0 alone prints, writes checkpoints and the graph; a rank that fails prints its error
and aborts the job, so no rank waits forever for the others.
"""
import os
import sys
import traceback

import numpy as np

import autodiff as ad
import nn.functional as F

# the number of processes as each launcher announces it to its processes
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE")
EXTRA = "pip install 'autodiff[distributed]'"


def launched_world_size():
    """The process count the MPI launcher announced (1 when not started by mpiexec)."""
    for var in _SIZE_VARS:
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    return 1


class Single:
    """The one-process run: no communication (the interface Parallel implements for N ranks)."""
    rank, size, is_main = 0, 1, True

    def wrap(self, model):
        return model

    def shard(self, xb, yb):
        return xb, yb

    def loss(self, logits, yb, n_global):
        return F.cross_entropy(logits, yb)

    def total(self, *values):
        return values

    def epoch_start(self, seed, epoch):
        pass

    def fail(self, exc):
        raise exc


class Parallel(Single):
    """This process's part in an N-rank data-parallel run."""

    def __init__(self, threads=None):
        try:
            import mpi4py  # noqa: F401  (checked here for the message; used by the group)
        except ImportError:
            raise SystemExit(f"nn.train: started by mpiexec with {launched_world_size()} "
                             f"processes, but data-parallel training needs mpi4py: {EXTRA}") \
                from None
        import autodiff.distributed as dist
        if not dist.is_initialized():
            dist.init_process_group(backend="mpi")
        self.dist = dist
        self.rank, self.size = dist.get_rank(), dist.get_world_size()
        self.is_main = self.rank == 0
        sys.stdout.reconfigure(line_buffering=True)  # (a pipe to mpiexec: keep lines in order)
        if threads is None:  # ranks share the machine's cores: one BLAS thread each by default
            from autodiff.threads import limit_for_shared_machine
            limit_for_shared_machine()

    def wrap(self, model):
        import nn
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return nn.parallel.DistributedDataParallel(model)

    def shard(self, xb, yb):
        """This rank's contiguous part of a global batch."""
        n = len(yb)
        lo, hi = n * self.rank // self.size, n * (self.rank + 1) // self.size
        return xb[lo:hi], yb[lo:hi]

    def loss(self, logits, yb, n_global):
        # DDP averages over ranks: size * (sum of this rank's losses) / n_global averages to
        # the whole batch's mean loss, however the batch divides
        return F.cross_entropy(logits, yb, reduction="sum") * (self.size / n_global)

    def total(self, *values):
        """The sums over ranks of these numbers."""
        t = ad.tensor([float(v) for v in values], dtype=ad.float64)
        self.dist.all_reduce(t)
        return tuple(t.tolist())

    def epoch_start(self, seed, epoch):
        # each rank's own dropout stream, a function of (seed, epoch, rank) alone, so a resumed
        # run draws what the uninterrupted run drew without saving every rank's generator
        ad.manual_seed(int(np.random.SeedSequence([seed, epoch, self.rank]).generate_state(1)[0]))

    def fail(self, exc):
        """Print this rank's error and take the whole job down (the others would wait forever
        in their next collective)."""
        if isinstance(exc, SystemExit) and exc.code in (None, 0):
            raise exc
        if isinstance(exc, SystemExit):
            text = str(exc.code)
        else:
            text = "".join(traceback.format_exception(exc)).rstrip()
        sys.stderr.write(f"nn.train (rank {self.rank} of {self.size}): {text}\n")
        sys.stderr.flush()
        from mpi4py import MPI
        MPI.COMM_WORLD.Abort(1)


def world(threads=None):
    """Single() for a plain run, Parallel() when mpiexec started several processes."""
    return Parallel(threads) if launched_world_size() > 1 else Single()
