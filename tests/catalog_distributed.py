"""Catalog entries for the differentiable collectives (autodiff/ops/collective.py, through
autodiff.distributed.nn.functional) in one process, a world of one: all_reduce is the identity
(SUM, AVG, MAX, MIN), all_gather stacks the one rank's tensor, reduce_scatter takes it back.
Two ranks are checked against closed forms under mpiexec (tests/distributed/)."""
import contextlib

import autodiff as ad
import autodiff.distributed as dist
from catalog import Op, unary


@contextlib.contextmanager
def _world_of_one():
    """The default group for the call (MPI's singleton init: no mpiexec), left as found."""
    started = not dist.is_initialized()
    if started:
        dist.init_process_group("mpi")
    try:
        yield
    finally:
        if started:
            dist.destroy_process_group()


def _all_reduce(x, op):
    with _world_of_one():
        return dist.nn.functional.all_reduce(x, op=op)


def _all_gather(x):
    with _world_of_one():
        return ad.stack(dist.nn.functional.all_gather(x))


def _reduce_scatter(x):
    with _world_of_one():
        return dist.nn.functional.reduce_scatter(x, [x * 2])


R = dist.ReduceOp
ENTRIES = [
    Op("distributed.all_reduce", lambda x: _all_reduce(x, R.SUM), lambda x: x, unary(),
       label="sum"),
    Op("distributed.all_reduce", lambda x: _all_reduce(x, R.AVG), lambda x: x, unary(),
       label="avg"),
    Op("distributed.all_reduce", lambda x: _all_reduce(x, R.MAX), lambda x: x, unary(),
       label="max"),
    Op("distributed.all_reduce", lambda x: _all_reduce(x, R.MIN), lambda x: x, unary(),
       label="min"),
    Op("distributed.all_gather", _all_gather, lambda x: x[None], unary()),
    Op("distributed.reduce_scatter", _reduce_scatter, lambda x: 2 * x, unary()),
] if dist.is_available() else []
