"""autodiff.distributed and nn.parallel.DistributedDataParallel.

The collective and DDP checks run in one launched script (_ddp_ranks.py) under
`mpiexec -n 2`, and again as one process without mpiexec (a world of one); each check is
reported here as its own test. The rest runs in this process."""
import subprocess
import sys

import numpy as np
import pytest

import autodiff as ad
import autodiff.distributed as dist

from _launch import ROOT, run, run_mpi, skip_without_mpi

CHECKS = [
    "all_reduce_ops", "all_reduce_non_contiguous_and_async", "broadcast_reduce_gather_scatter",
    "gathers_and_reduce_scatters", "all_to_all", "objects_barrier_groups",
    "differentiable_all_reduce", "differentiable_all_gather_reduce_scatter",
    "ddp_equivalence_plain", "ddp_equivalence_no_sync", "ddp_batchnorm_buffers",
    "ddp_buckets_overlap", "ddp_find_unused_true", "ddp_find_unused_false_raises",
    "ddp_wrap_errors", "ddp_world_of_one_matches_module",
]

_RESULTS = {}


def _results(n):
    if n not in _RESULTS:
        _RESULTS[n] = run_mpi("_ddp_ranks.py", n=n, timeout=120)[0]
    return _RESULTS[n]


@pytest.mark.parametrize("name", CHECKS)
@pytest.mark.parametrize("world", [2, 1])
def test_ranks(world, name):
    """Every rank passed the check (world 2: mpiexec -n 2; world 1: no mpiexec)."""
    got = _results(world if world > 1 else None)
    assert got["world"] == world
    assert len(got["ranks"]) == world
    assert set(got["ranks"][0]) == set(CHECKS), "the script's checks and CHECKS differ"
    for rank, checks in enumerate(got["ranks"]):
        assert checks[name] == "ok", f"rank {rank}:\n{checks[name]}"


def test_a_failing_rank_brings_the_others_down():
    """An exception on one rank aborts all of them (python -m mpi4py), never a hang."""
    skip_without_mpi()
    from _launch import mpiexec
    script = ("import autodiff.distributed as d, autodiff as ad\n"
              "d.init_process_group()\n"
              "if d.get_rank() == 1: raise ValueError('rank 1 fails')\n"
              "d.all_reduce(ad.ones(2))\n")
    done = run([mpiexec(), "-n", "2", sys.executable, "-m", "mpi4py", "-c", script], timeout=60)
    assert done.returncode != 0
    assert "rank 1 fails" in done.stderr


# --- in this process (MPI's singleton init: a world of one) ------------------------------------

@pytest.fixture
def no_group():
    """No default group before and after the test."""
    skip_without_mpi()
    if dist.is_initialized():
        dist.destroy_process_group()
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def test_not_initialised_errors(no_group):
    assert not dist.is_initialized() and dist.is_available()
    for fn in (dist.get_rank, dist.get_world_size, dist.get_backend, dist._comm, dist.barrier,
               lambda: dist.all_reduce(ad.ones(2)), dist.destroy_process_group):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            fn()
        with pytest.raises(RuntimeError, match="please make sure to call init_process_group"):
            fn()
    from nn.parallel import DistributedDataParallel
    import nn
    with pytest.raises(RuntimeError, match="has not been initialized"):
        DistributedDataParallel(nn.Linear(2, 2))


def test_init_process_group_arguments(no_group):
    with pytest.raises(ValueError, match="backend 'gloo' is not supported.*backend='mpi'"):
        dist.init_process_group("gloo")
    with pytest.raises(ValueError, match="world_size=2 but MPI started 1"):
        dist.init_process_group("mpi", world_size=2)
    with pytest.raises(ValueError, match="rank=1 but MPI gave this process rank 0"):
        dist.init_process_group("mpi", rank=1)
    assert not dist.is_initialized()
    dist.init_process_group("MPI", world_size=1, rank=0, init_method="env://")
    assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "mpi")
    assert dist.group.WORLD is not None and dist.GroupMember.WORLD is dist.group.WORLD
    with pytest.raises(ValueError, match="initialize the default process group twice"):
        dist.init_process_group()
    t = ad.tensor([1.0, 2.0])
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    assert t.tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match="invalid root rank: 1"):
        dist.broadcast(t, src=1)
    with pytest.raises(ValueError, match="is not a ReduceOp"):
        dist.all_reduce(t, op=17)
    dist.destroy_process_group()
    assert not dist.is_initialized() and dist.group.WORLD is None
    dist.init_process_group()  # again, after destroy
    assert dist.get_world_size() == 1


def test_ddp_in_process_world_of_one(no_group):
    """World of one, no mpiexec: DDP's gradients are the bare module's, exactly."""
    import nn
    from nn.parallel import DistributedDataParallel
    dist.init_process_group()
    ad.manual_seed(0)
    a = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    ad.manual_seed(0)
    b = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    ddp = DistributedDataParallel(b)
    x = ad.randn(5, 3)
    a(x).sum().backward()
    with ddp.no_sync():
        ddp(x).sum().backward()
    ddp(x).sum().backward()
    a(x).sum().backward()
    for p, q in zip(a.parameters(), b.parameters()):
        assert q.grad.dtype == ad.float32
        assert np.array_equal(p.grad.data, q.grad.data)


def test_import_without_mpi4py():
    """Without mpi4py the package imports, is_available() is False and init names the extra."""
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import autodiff.distributed as d, nn.parallel\n"
            "assert not d.is_available()\n"
            "try:\n    d.init_process_group()\n"
            "except ImportError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pip install 'autodiff[distributed]'" in done.stdout
