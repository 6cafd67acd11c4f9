"""Launched by test_all_reduce_extremes.py: `mpiexec -n 2 python -m mpi4py _extreme_ranks.py`
(or one plain process). all_reduce MAX and MIN with values tied across ranks: the gradient, the
sum over ranks of the upstream gradients, is shared evenly among the ranks holding the
extreme. Rank 0 prints one JSON line: {"rank": 0, "world": n, "ranks": [{name: "ok" | error}]}."""
import json
import sys
import traceback

import numpy as np

import autodiff as ad
import autodiff.distributed as dist
from autodiff.distributed.nn import functional as DF

ad.set_default_dtype(ad.float64)
dist.init_process_group("mpi")
RANK, WORLD = dist.get_rank(), dist.get_world_size()


def values(r):
    """Rank r's x: element 0, 2 and 4 tie on every rank; 1 peaks on the last rank, 3 on rank 0."""
    return np.array([3.0, 1.0 + r, 2.0, 5.0 - 5.0 * r, -1.0])


def upstream(r):
    """Rank r's upstream gradient: different on every rank and element."""
    return (r + 1.0) * np.arange(1.0, 6.0)


def expected_grad(pick):
    everyone = np.stack([values(r) for r in range(WORLD)])
    hit = everyone == pick(everyone, axis=0)
    total = sum(upstream(r) for r in range(WORLD))
    return total * hit[RANK] / hit.sum(axis=0)


def check_extreme(op, pick):
    x = ad.tensor(values(RANK), requires_grad=True)
    y = DF.all_reduce(x, op=op)
    np.testing.assert_array_equal(y.data, pick(np.stack([values(r) for r in range(WORLD)]), 0))
    y.backward(ad.tensor(upstream(RANK)))
    np.testing.assert_allclose(x.grad.data, expected_grad(pick), rtol=1e-12)
    if WORLD > 1:  # the ties are real: element 0's gradient is split between the ranks
        assert x.grad.data[0] == expected_grad(pick)[0] < sum(upstream(r)[0] for r in range(WORLD))


CHECKS = {}
for name, op, pick in [("max_ties", dist.ReduceOp.MAX, np.max),
                       ("min_ties", dist.ReduceOp.MIN, np.min)]:
    try:
        check_extreme(op, pick)
        CHECKS[name] = "ok"
    except Exception:
        CHECKS[name] = traceback.format_exc(limit=6)

GATHERED = [None] * WORLD if RANK == 0 else None
dist.gather_object(CHECKS, GATHERED, dst=0)
if RANK == 0:
    print(json.dumps({"rank": 0, "world": WORLD, "ranks": GATHERED}))
    sys.stdout.flush()
