"""Differentiable collectives (torch.distributed.nn.functional): out of place, recorded in the
graph, their gradients themselves collectives (every rank must run the same backward)."""
from ...ops import collective as _c
from ...ops.shape import stack, unbind
from .._group import ReduceOp, RedOpType, _comm

__all__ = ["all_reduce", "all_gather", "reduce_scatter"]


def all_reduce(tensor, op=ReduceOp.SUM, group=None):
    """op over every rank's tensor (SUM, AVG, MAX, MIN), as a new tensor; its gradient is the
    SUM all-reduce of the gradients (AVG: their mean; MAX, MIN: routed to where the extreme
    came from, ties shared evenly)."""
    return _c.all_reduce(tensor, op=op, comm=_comm(group))


def all_gather(tensor, group=None):
    """Every rank's tensor, as a tuple indexed by rank; the gradient of rank r's tensor is the
    sum over ranks of the gradients of element r."""
    return tuple(unbind(_c.all_gather(tensor, comm=_comm(group)), 0))


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None):
    """On rank r, op over every rank's input_list[r] (SUM or AVG), as a new tensor of output's
    shape (output itself is not written); the gradient of input_list[j] is rank j's gradient."""
    comm = _comm(group)
    if len(input_list) != comm.Get_size():
        raise RuntimeError(f"reduce_scatter: input_list has {len(input_list)} tensors; give one "
                           f"per rank ({comm.Get_size()})")
    for i, t in enumerate(input_list):
        if tuple(t.shape) != tuple(output.shape):
            raise RuntimeError(f"reduce_scatter: input_list[{i}] has shape {tuple(t.shape)} but "
                               f"output has shape {tuple(output.shape)}; they must match")
    op = RedOpType(op)
    if op not in (RedOpType.SUM, RedOpType.AVG):
        raise RuntimeError(f"reduce_scatter: ReduceOp.{op.name} is not differentiable here; use "
                           f"SUM or AVG")
    out = _c.reduce_scatter(stack(list(input_list), 0), comm=comm)
    return out / comm.Get_size() if op == RedOpType.AVG else out
