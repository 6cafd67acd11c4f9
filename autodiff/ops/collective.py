"""Differentiable collectives over an MPI communicator (what autodiff.distributed.nn.functional
runs on). Every rank holds its own graph; a rule's collective pairs with the same rule on the
other ranks, so every rank must run the same backward (as in torch.distributed.nn).

all_gather and reduce_scatter are each other's gradient, and all_reduce (SUM) is its own.
"""
import numpy as np

from ..distributed._group import RedOpType, _mpi, _mpi_op
from ..function import OUT, Node, apply
from ..tensor import Tensor
from .elementwise import raw

__all__ = ["all_reduce", "all_gather", "reduce_scatter"]


def _c_array(x):
    """x as a C-contiguous array (0-d stays 0-d, unlike np.ascontiguousarray)."""
    a = np.asarray(x)
    return a if a.flags.c_contiguous else a.copy(order="C")


def _contiguous_copy(x):
    return np.array(x, dtype=np.asarray(x).dtype, order="C", copy=True)


class AllReduce(Node):
    """out = op over ranks of x (SUM, AVG, MAX, MIN); dx = sum over ranks of g (AVG: / size;
    MAX, MIN: shared evenly among the ranks and elements that hold the extreme)"""
    __slots__ = ("op", "_comm")
    saved = ("out",)

    def __init__(self, op, comm):
        self.op, self._comm = RedOpType(op), comm
        # only MAX and MIN read x and out (their masks)
        self.reads = ((0, OUT),) if self.op in (RedOpType.MAX, RedOpType.MIN) else ((),)

    def forward(self, x):
        out = _contiguous_copy(x)
        self._comm.Allreduce(_mpi().IN_PLACE, out, _mpi_op(self.op))
        if self.op == RedOpType.AVG:
            np.true_divide(out, self._comm.Get_size(), out=out)
        if self.op in (RedOpType.MAX, RedOpType.MIN):
            self.out = out
        return out

    def backward(self, g, out, x):
        op = self.op
        if op in (RedOpType.SUM, RedOpType.AVG):
            return (AllReduce.apply(g, op=op, comm=self._comm),)
        hit = (raw(x) == raw(out)).astype(raw(x).dtype)  # (constant: a subgradient's mask)
        ties = AllReduce(RedOpType.SUM, self._comm).forward(hit)
        return (AllReduce.apply(g, op=RedOpType.SUM, comm=self._comm) * (hit / ties),)


class AllGather(Node):
    """out[r] = rank r's x (stacked on a new first dimension); dx = sum over ranks of g[rank]"""
    __slots__ = ("_comm",)
    reads = ((),)

    def __init__(self, comm):
        self._comm = comm

    def forward(self, x):
        send = _c_array(x)
        out = np.empty((self._comm.Get_size(),) + send.shape, send.dtype)
        self._comm.Allgather(send, out)
        return out

    def backward(self, g, out, x):
        return (ReduceScatter.apply(g, comm=self._comm),)


class ReduceScatter(Node):
    """out = sum over ranks of x[rank] (x stacked: one block per rank); dx = all_gather(g)"""
    __slots__ = ("_comm",)
    reads = ((),)

    def __init__(self, comm):
        self._comm = comm

    def forward(self, x):
        send = _c_array(x)
        if send.ndim == 0 or send.shape[0] != self._comm.Get_size():
            raise RuntimeError(f"reduce_scatter: input of shape {send.shape} must hold one block "
                               f"per rank (first dimension {self._comm.Get_size()})")
        out = np.empty(send.shape[1:], send.dtype)
        self._comm.Reduce_scatter_block(send, out, _mpi().SUM)
        return out

    def backward(self, g, out, x):
        return (AllGather.apply(g, comm=self._comm),)


def _float_input(x, who):
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: expected an autodiff.Tensor, got {type(x).__name__}")
    return x


def all_reduce(x, *, op=RedOpType.SUM, comm):
    """op over every rank's x, out of place and differentiable (SUM, AVG, MAX, MIN; PRODUCT
    and the bitwise ops only where x needs no gradient)."""
    _float_input(x, "all_reduce")
    op = RedOpType(op)
    if op not in (RedOpType.SUM, RedOpType.AVG, RedOpType.MAX, RedOpType.MIN) and \
            x.requires_grad:
        raise RuntimeError(f"all_reduce: ReduceOp.{op.name} has no gradient here; use SUM, AVG, "
                           f"MAX or MIN, or detach() the input")
    if op == RedOpType.AVG and x.dtype.kind not in "fc":
        raise RuntimeError(f"all_reduce: ReduceOp.AVG of an integer tensor ({x.dtype}); use "
                           f"ReduceOp.SUM and divide, or convert it to a float dtype")
    return apply(AllReduce(op, comm), x)


def all_gather(x, *, comm):
    """Every rank's x, stacked on a new first dimension (world size, *x.shape)."""
    return apply(AllGather(comm), _float_input(x, "all_gather"))


def reduce_scatter(x, *, comm):
    """The sum over ranks of x[rank], where x stacks one block per rank on its first dimension."""
    return apply(ReduceScatter(comm), _float_input(x, "reduce_scatter"))
