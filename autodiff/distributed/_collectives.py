"""Collectives on Tensors, in place as torch.distributed's: each writes its result into the
tensors' own memory (copying through a contiguous buffer when a tensor is a non-contiguous
view) and counts the change in the tensor's version, as an in-place op does. They are not
recorded in the graph (see autodiff.distributed.nn.functional for the differentiable forms).

`async_op=True` returns a Work backed by MPI's non-blocking request; the tensors hold the result
once `wait()` returns (or `is_completed()` is True).
"""
import numpy as np

from ..function import stamp_mutation
from ..tensor import Tensor
from ._group import RedOpType, ReduceOp, _group, _mpi, _mpi_op, _NonMember

__all__ = ["Work", "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
           "reduce_scatter", "reduce_scatter_tensor", "reduce", "gather", "scatter",
           "all_to_all_single", "all_to_all", "barrier", "broadcast_object_list",
           "all_gather_object", "gather_object", "scatter_object_list"]


def _c_array(x):
    """x as a C-contiguous array (0-d stays 0-d, unlike np.ascontiguousarray)."""
    a = np.asarray(x)
    return a if a.flags.c_contiguous else a.copy(order="C")


class Work:
    """A running collective (torch.distributed.Work): wait() blocks until it is done and its
    results are written; is_completed() tests without blocking."""

    def __init__(self, requests, finish=None):
        self._requests = list(requests)
        self._finish = finish
        self._done = False

    def _complete(self):
        self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()

    def wait(self, timeout=None):
        if not self._done:
            _mpi().Request.Waitall(self._requests)
            self._complete()
        return True

    def is_completed(self):
        if not self._done and _mpi().Request.Testall(self._requests):
            self._complete()
        return self._done

    def is_success(self):
        return self.is_completed()

    def result(self):
        self.wait()
        return []


def _check_tensor(t, who, arg="tensor"):
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{arg}` of type "
                        f"autodiff.Tensor but got {type(t)} instead ({who})")


def _check_list(lst, who, arg):
    if not isinstance(lst, (list, tuple)) or not all(isinstance(t, Tensor) for t in lst):
        raise TypeError(f"Invalid function argument. Expected parameter `{arg}` of type "
                        f"List[autodiff.Tensor] but got {type(lst)} instead ({who})")


def _target(t, who):
    """The array a collective writes t's result into (t's memory, or a contiguous copy of it
    for a non-contiguous view) and the array to copy it back into afterwards (or None)."""
    data = t.data
    if not data.flags.writeable:
        raise RuntimeError(f"{who}: the tensor's memory (shape {tuple(data.shape)}) is read-only "
                           f"(it wraps a read-only numpy array); clone() it first")
    if data.flags.c_contiguous:
        return data, None
    return data.copy(order="C"), data


def _written(pairs):
    """After a collective: copies each buffer back into its tensor where it was a copy, and
    counts the change in the tensor's version."""
    for t, buf, back in pairs:
        if back is not None:
            np.copyto(back, buf.reshape(back.shape))
        stamp_mutation(t)


def _launch(async_op, blocking, nonblocking, finish):
    if async_op:
        return Work([nonblocking()], finish)
    blocking()
    finish()
    return None


def _reduction(op, dtype, who):
    """The MPI op for `op` on `dtype`, with torch's refusals (AVG of integers)."""
    mop = _mpi_op(op)
    kind = np.dtype(dtype).kind
    if op == RedOpType.AVG and kind not in "fc":
        raise RuntimeError(f"{who}: ReduceOp.AVG of an integer tensor ({np.dtype(dtype)}) "
                           f"cannot be written back in place (the average is fractional; torch "
                           f"refuses it too): reduce with ReduceOp.SUM and divide, or convert "
                           f"the tensor to a float dtype first")
    if op in (RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR) and kind not in "biu":
        raise RuntimeError(f"{who}: {RedOpType(op).name} is a bitwise reduction: it needs an "
                           f"integer or bool tensor, not {np.dtype(dtype)}")
    return mop


def _averaged(op, size, buf):
    if op == RedOpType.AVG:
        np.true_divide(buf, size, out=buf)


def _root(pg, rank, who, arg):
    """The rank in pg's communicator of global rank `rank` (torch's src/dst are global)."""
    size = len(pg.ranks)
    if not isinstance(rank, (int, np.integer)) or isinstance(rank, bool):
        raise TypeError(f"{who}: {arg} must be an int rank, not {type(rank).__name__}")
    if rank not in pg.ranks:
        if pg.ranks == list(range(size)):
            raise RuntimeError(f"{who}: invalid root rank: {rank} ({arg} must be a rank of the "
                               f"group, 0 .. {size - 1})")
        raise ValueError(f"{who}: global rank {rank} is not part of the group (its ranks are "
                         f"{pg.ranks})")
    return pg.ranks.index(rank)


def _members(group):
    """(process group, communicator), or None where this process is not a member (torch then
    does nothing)."""
    pg = _group(group)
    if isinstance(pg, _NonMember):
        return None
    return pg, pg.comm


def _same(tensors, like, who, arg):
    for i, t in enumerate(tensors):
        if t.shape != like.shape or t.dtype != like.dtype:
            raise RuntimeError(f"{who}: invalid tensor at index {i} of {arg}: shape "
                               f"{tuple(t.shape)} and dtype {t.dtype}, but the input has shape "
                               f"{tuple(like.shape)} and dtype {like.dtype}; they must match")


def _sized(lst, size, who, arg):
    if len(lst) != size:
        raise RuntimeError(f"{who}: invalid {arg} (expected length {size}, the group size, "
                           f"got {len(lst)}): give one tensor per rank")


# --- reductions ---------------------------------------------------------------------------------

def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """tensor <- op over every rank's tensor, in place on every rank."""
    who = "all_reduce"
    _check_tensor(tensor, who)
    m = _members(group)
    if m is None:
        return None
    pg, comm = m
    mop = _reduction(op, tensor.dtype, who)
    MPI = _mpi()
    buf, back = _target(tensor, who)

    def finish():
        _averaged(op, comm.Get_size(), buf)
        _written([(tensor, buf, back)])
    return _launch(async_op, lambda: comm.Allreduce(MPI.IN_PLACE, buf, mop),
                   lambda: comm.Iallreduce(MPI.IN_PLACE, buf, mop), finish)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """tensor on rank dst <- op over every rank's tensor (the others' are left unchanged)."""
    who = "reduce"
    _check_tensor(tensor, who)
    m = _members(group)
    if m is None:
        return None
    pg, comm = m
    root = _root(pg, pg.ranks[group_dst] if group_dst is not None else
                 (0 if dst is None else dst), who, "dst")
    mop = _reduction(op, tensor.dtype, who)
    MPI = _mpi()
    buf, back = _target(tensor, who)
    here = comm.Get_rank() == root
    send, recv = (MPI.IN_PLACE, buf) if here else (buf, None)

    def finish():
        if here:
            _averaged(op, comm.Get_size(), buf)
            _written([(tensor, buf, back)])
    return _launch(async_op, lambda: comm.Reduce(send, recv, mop, root),
                   lambda: comm.Ireduce(send, recv, mop, root), finish)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """output on rank r <- op over every rank's input_list[r]."""
    who = "reduce_scatter"
    _check_tensor(output, who, "output")
    _check_list(input_list, who, "input_list")
    m = _members(group)
    if m is None:
        return None
    pg, comm = m
    _sized(input_list, comm.Get_size(), who, "input tensor list")
    _same(input_list, output, who, "input_list")
    send = np.stack([t.data for t in input_list]) if input_list else np.empty(0, output.dtype)
    return _reduce_scatter(output, send, op, comm, async_op, who)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """output on rank r <- op over every rank's r-th block of input (its first dimension split
    into world-size blocks)."""
    who = "reduce_scatter_tensor"
    _check_tensor(output, who, "output")
    _check_tensor(input, who, "input")
    m = _members(group)
    if m is None:
        return None
    pg, comm = m
    size = comm.Get_size()
    if input.data.size != size * output.data.size or input.dtype != output.dtype:
        raise RuntimeError(f"{who}: input ({input.data.size} elements, {input.dtype}) must hold "
                           f"world size ({size}) x output ({output.data.size} elements, "
                           f"{output.dtype}) elements of the same dtype")
    return _reduce_scatter(output, _c_array(input.data), op, comm, async_op, who)


def _reduce_scatter(output, send, op, comm, async_op, who):
    mop = _reduction(op, output.dtype, who)
    buf, back = _target(output, who)

    def finish():
        _averaged(op, comm.Get_size(), buf)
        _written([(output, buf, back)])
    return _launch(async_op, lambda: comm.Reduce_scatter_block(send, buf, mop),
                   lambda: comm.Ireduce_scatter_block(send, buf, mop), finish)


# --- data movement ------------------------------------------------------------------------------

def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """tensor <- rank src's tensor, in place on every rank."""
    who = "broadcast"
    _check_tensor(tensor, who)
    m = _members(group)
    if m is None:
        return None
    pg, comm = m
    root = _root(pg, pg.ranks[group_src] if group_src is not None else
                 (0 if src is None else src), who, "src")
    buf, back = _target(tensor, who)

    def finish():
        if comm.Get_rank() != root:
            _written([(tensor, buf, back)])
    return _launch(async_op, lambda: comm.Bcast(buf, root), lambda: comm.Ibcast(buf, root),
                   finish)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[r] <- rank r's tensor, on every rank."""
    who = "all_gather"
    _check_list(tensor_list, who, "tensor_list")
    _check_tensor(tensor, who)
    m = _members(group)
    if m is None:
        return None
    pg, comm = m
    _sized(tensor_list, comm.Get_size(), who, "output tensor list")
    _same(tensor_list, tensor, who, "tensor_list")
    send = _c_array(tensor.data)
    recv = np.empty((len(tensor_list),) + send.shape, send.dtype)

    def finish():
        for t, piece in zip(tensor_list, recv):
            np.copyto(t.data, piece)
            stamp_mutation(t)
    return _launch(async_op, lambda: comm.Allgather(send, recv),
                   lambda: comm.Iallgather(send, recv), finish)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """output_tensor <- every rank's input_tensor, concatenated along the first dimension (or
    stacked: output (world_size, *input.shape))."""
    who = "all_gather_into_tensor"
    _check_tensor(output_tensor, who, "output_tensor")
    _check_tensor(input_tensor, who, "input_tensor")
    m = _members(group)
    if m is None:
        return None
    pg, comm = m
    size = comm.Get_size()
    if (output_tensor.data.size != size * input_tensor.data.size
            or output_tensor.dtype != input_tensor.dtype):
        raise RuntimeError(f"{who}: output_tensor ({tuple(output_tensor.shape)}, "
                           f"{output_tensor.dtype}) must hold world size ({size}) x "
                           f"input_tensor ({tuple(input_tensor.shape)}, {input_tensor.dtype}) "
                           f"elements of the same dtype")
    send = _c_array(input_tensor.data)
    buf, back = _target(output_tensor, who)
    return _launch(async_op, lambda: comm.Allgather(send, buf),
                   lambda: comm.Iallgather(send, buf),
                   lambda: _written([(output_tensor, buf, back)]))


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """gather_list[r] on rank dst <- rank r's tensor."""
    who = "gather"
    _check_tensor(tensor, who)
    m = _members(group)
    if m is None:
        return None
    pg, comm = m
    root = _root(pg, pg.ranks[group_dst] if group_dst is not None else
                 (0 if dst is None else dst), who, "dst")
    here = comm.Get_rank() == root
    if here:
        if gather_list is None:
            raise ValueError(f"{who}: Argument ``gather_list`` must be specified on destination "
                             f"rank (a list of {comm.Get_size()} tensors like `tensor`).")
        _check_list(gather_list, who, "gather_list")
        _sized(gather_list, comm.Get_size(), who, "gather_list")
        _same(gather_list, tensor, who, "gather_list")
    elif gather_list:
        raise ValueError(f"{who}: Argument ``gather_list`` must NOT be specified on "
                         f"non-destination ranks (only rank {root} receives).")
    send = _c_array(tensor.data)
    recv = np.empty((comm.Get_size(),) + send.shape, send.dtype) if here else None

    def finish():
        if here:
            for t, piece in zip(gather_list, recv):
                np.copyto(t.data, piece)
                stamp_mutation(t)
    return _launch(async_op, lambda: comm.Gather(send, recv, root),
                   lambda: comm.Igather(send, recv, root), finish)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """tensor on rank r <- scatter_list[r] of rank src."""
    who = "scatter"
    _check_tensor(tensor, who)
    m = _members(group)
    if m is None:
        return None
    pg, comm = m
    root = _root(pg, pg.ranks[group_src] if group_src is not None else
                 (0 if src is None else src), who, "src")
    here = comm.Get_rank() == root
    if here:
        if scatter_list is None:
            raise ValueError(f"{who}: Argument ``scatter_list`` must be specified on source rank "
                             f"(a list of {comm.Get_size()} tensors like `tensor`).")
        _check_list(scatter_list, who, "scatter_list")
        _sized(scatter_list, comm.Get_size(), who, "scatter_list")
        _same(scatter_list, tensor, who, "scatter_list")
        send = np.stack([t.data for t in scatter_list])
    else:
        if scatter_list:
            raise ValueError(f"{who}: Argument ``scatter_list`` must NOT be specified on "
                             f"non-source ranks (only rank {root} sends).")
        send = None
    buf, back = _target(tensor, who)
    return _launch(async_op, lambda: comm.Scatter(send, buf, root),
                   lambda: comm.Iscatter(send, buf, root),
                   lambda: _written([(tensor, buf, back)]))


def _displacements(counts):
    return np.concatenate([[0], np.cumsum(counts[:-1])]).astype(int) if len(counts) else []


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None,
                      async_op=False):
    """Rank r sends its j-th block of input (first-dimension splits, equal or
    input_split_sizes) to rank j, and receives rank j's r-th block into its output."""
    who = "all_to_all_single"
    _check_tensor(output, who, "output")
    _check_tensor(input, who, "input")
    m = _members(group)
    if m is None:
        return None
    pg, comm = m
    size = comm.Get_size()
    if output.dtype != input.dtype:
        raise RuntimeError(f"{who}: output ({output.dtype}) and input ({input.dtype}) must have "
                           f"the same dtype")

    def counts(t, splits, arg):
        rows = t.shape[0] if t.ndim else 1
        row = t.data.size // rows if rows else 0
        if splits is None or len(splits) == 0:
            if rows % size:
                raise RuntimeError(f"{who}: {arg} has {rows} rows, not divisible by the world "
                                   f"size {size}; pass {arg}_split_sizes")
            return [rows // size * row] * size
        splits = [int(s) for s in splits]
        if len(splits) != size or sum(splits) != rows:
            raise RuntimeError(f"{who}: {arg}_split_sizes {splits} must have one entry per rank "
                               f"({size}) summing to the {arg}'s first dimension ({rows})")
        return [s * row for s in splits]
    scount = counts(input, input_split_sizes, "input")
    rcount = counts(output, output_split_sizes, "output")
    send = _c_array(input.data)
    buf, back = _target(output, who)
    s = [send, (scount, _displacements(scount))]
    r = [buf, (rcount, _displacements(rcount))]
    return _launch(async_op, lambda: comm.Alltoallv(s, r), lambda: comm.Ialltoallv(s, r),
                   lambda: _written([(output, buf, back)]))


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """output_tensor_list[j] on rank r <- input_tensor_list[r] of rank j."""
    who = "all_to_all"
    _check_list(output_tensor_list, who, "output_tensor_list")
    _check_list(input_tensor_list, who, "input_tensor_list")
    m = _members(group)
    if m is None:
        return None
    pg, comm = m
    size = comm.Get_size()
    _sized(output_tensor_list, size, who, "output_tensor_list")
    _sized(input_tensor_list, size, who, "input_tensor_list")
    dtypes = {t.dtype for t in list(output_tensor_list) + list(input_tensor_list)}
    if len(dtypes) != 1:
        raise RuntimeError(f"{who}: every tensor must have the same dtype, got "
                           f"{sorted(map(str, dtypes))}")
    send = np.concatenate([t.data.reshape(-1) for t in input_tensor_list])
    scount = [t.data.size for t in input_tensor_list]
    rcount = [t.data.size for t in output_tensor_list]
    recv = np.empty(sum(rcount), send.dtype)
    s = [send, (scount, _displacements(scount))]
    r = [recv, (rcount, _displacements(rcount))]

    def finish():
        start = 0
        for t, n in zip(output_tensor_list, rcount):
            np.copyto(t.data, recv[start:start + n].reshape(t.shape))
            stamp_mutation(t)
            start += n
    return _launch(async_op, lambda: comm.Alltoallv(s, r), lambda: comm.Ialltoallv(s, r),
                   finish)


def barrier(group=None, async_op=False, device_ids=None):
    """Blocks until every process of the group has reached it."""
    m = _members(group)
    if m is None:
        return None
    comm = m[1]
    return _launch(async_op, comm.Barrier, comm.Ibarrier, lambda: None)


# --- Python objects (pickled by mpi4py) ---------------------------------------------------------

def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """object_list <- rank src's object_list (its objects pickled), in place on every rank."""
    m = _members(group)
    if m is None:
        return None
    pg, comm = m
    root = _root(pg, pg.ranks[group_src] if group_src is not None else
                 (0 if src is None else src), "broadcast_object_list", "src")
    got = comm.bcast(list(object_list) if comm.Get_rank() == root else None, root)
    if len(got) != len(object_list):
        raise RuntimeError(f"broadcast_object_list: rank {src} sent {len(got)} objects but this "
                           f"rank's object_list has {len(object_list)}; give every rank a list "
                           f"of the same length")
    object_list[:] = got


def all_gather_object(object_list, obj, group=None):
    """object_list[r] <- rank r's obj (pickled), on every rank."""
    m = _members(group)
    if m is None:
        return None
    comm = m[1]
    if len(object_list) != comm.Get_size():
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} entries; it "
                         f"must be sized as the group ({comm.Get_size()}), e.g. "
                         f"[None] * get_world_size()")
    object_list[:] = comm.allgather(obj)


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """object_gather_list[r] on rank dst <- rank r's obj."""
    m = _members(group)
    if m is None:
        return None
    pg, comm = m
    root = _root(pg, pg.ranks[group_dst] if group_dst is not None else
                 (0 if dst is None else dst), "gather_object", "dst")
    here = comm.Get_rank() == root
    if here and (object_gather_list is None or len(object_gather_list) != comm.Get_size()):
        raise ValueError(f"gather_object: on the destination rank object_gather_list must be a "
                         f"list of {comm.Get_size()} entries (one per rank)")
    got = comm.gather(obj, root)
    if here:
        object_gather_list[:] = got


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None,
                        group=None, group_src=None):
    """scatter_object_output_list[0] on rank r <- scatter_object_input_list[r] of rank src."""
    m = _members(group)
    if m is None:
        return None
    pg, comm = m
    root = _root(pg, pg.ranks[group_src] if group_src is not None else
                 (0 if src is None else src), "scatter_object_list", "src")
    here = comm.Get_rank() == root
    if here and (scatter_object_input_list is None
                 or len(scatter_object_input_list) != comm.Get_size()):
        raise ValueError(f"scatter_object_list: on the source rank scatter_object_input_list "
                         f"must be a list of {comm.Get_size()} objects (one per rank)")
    if not isinstance(scatter_object_output_list, list) or not scatter_object_output_list:
        raise ValueError("scatter_object_list: Expected argument scatter_object_output_list to "
                         "be a list of size at least 1.")
    scatter_object_output_list[0] = comm.scatter(
        list(scatter_object_input_list) if here else None, root)
