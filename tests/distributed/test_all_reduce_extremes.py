"""all_reduce MAX and MIN with values tied across ranks: each rank's gradient is the sum over
ranks of the upstream gradients, shared evenly among the ranks that hold the extreme (checks in
_extreme_ranks.py, run under `mpiexec -n 2` and as a world of one)."""
import pytest

from _launch import run_mpi

_RESULTS = {}


@pytest.mark.parametrize("name", ["max_ties", "min_ties"])
@pytest.mark.parametrize("world", [2, 1])
def test_all_reduce_extremes_share_the_gradient_among_tied_ranks(world, name):
    if world not in _RESULTS:
        _RESULTS[world] = run_mpi("_extreme_ranks.py", n=world if world > 1 else None,
                                  timeout=90)[0]
    got = _RESULTS[world]
    assert got["world"] == world and len(got["ranks"]) == world
    for rank, checks in enumerate(got["ranks"]):
        assert checks[name] == "ok", f"rank {rank}:\n{checks[name]}"
