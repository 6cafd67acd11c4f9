"""The engine side of data parallelism (torch.distributed.Reducer): gradients averaged over
the ranks in buckets while the backward pass is still running; nn.parallel.DistributedDataParallel
is the Module around it.

How the overlap works: after each forward the graph is walked once (iteratively, from the
outputs) to find, for every parameter, the OLDEST node that consumes it. The engine runs nodes
newest first, so once that node has run the parameter's gradient for this pass is final; a
callback registered there (autodiff.engine.register_after_node) copies it into its bucket's flat
buffer, and a bucket whose parameters are all final starts a non-blocking MPI all-reduce
(Iallreduce) while the rest of the backward runs. Buckets start strictly in bucket order, so
every rank issues the same collectives in the same order. At the end of backward
(autodiff.engine.queue_callback) the requests are waited for, divided by the world size and
written into each parameter's .grad.
"""
import functools

import numpy as np

from ..engine import inputs_as_recorded, queue_callback, register_after_node, toposort
from ..function import stamp_mutation
from ..tensor import Tensor
from ._group import _comm, _mpi

__all__ = ["Reducer"]

_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024  # (torch.distributed._DEFAULT_FIRST_BUCKET_BYTES)
_DEFAULT_BUCKET_CAP_MB = 25
_MB = 1024 * 1024

_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `nn.parallel.DistributedDataParallel`, and by making "
    "sure all `forward` function outputs participate in calculating loss. If you already have "
    "done the above, then the distributed data parallel module wasn't able to locate the "
    "output tensors in the return value of your module's `forward` function. Please include "
    "the loss function and the structure of the return value of `forward` of your module when "
    "reporting this issue (e.g. list, dict, iterable).")


def _find_tensors(obj):
    """The tensors inside a forward's output (nested tuples, lists, dicts), found iteratively."""
    found, stack = [], [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            found.append(x)
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
    return found


def _assign_buckets(params, first_cap, cap):
    """Buckets of parameter indices, filled in reverse registration order (gradients become
    final roughly in that order), one dtype per bucket; a bucket closes once it holds at least
    its limit in bytes (the first of each dtype: first_cap). Ordered by their first parameter."""
    open_, done = {}, []
    for i in reversed(range(len(params))):
        data = params[i].data
        cur = open_.setdefault(data.dtype, [[], 0, first_cap])
        cur[0].append(i)
        cur[1] += data.nbytes
        if cur[1] >= cur[2]:
            done.append(cur[0])
            open_[data.dtype] = [[], 0, cap]
    done += [cur[0] for cur in open_.values() if cur[0]]
    done.sort(key=lambda b: -b[0])
    return done


class _Bucket:
    __slots__ = ("index", "params", "offsets", "buffer")

    def __init__(self, index, params, sizes, dtype):
        self.index, self.params = index, params
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.buffer = np.zeros(int(self.offsets[-1]), dtype)


class _Pass:
    """The reduction state of one forward/backward iteration."""

    def __init__(self, n_params, buckets):
        self.handles = []
        self.unused = set()
        self.ready = [False] * n_params
        self.remaining = [len(b.params) for b in buckets]
        self.next = 0  # the next bucket to launch (buckets start in order)
        self.requests = []
        self.before = None  # each parameter's .grad when the backward began
        self.fired = False
        self.finalized = False
        self.complete = False
        self.nodes = 0  # after-node callbacks run so far
        self.log = []  # ("node", k) / ("launch", bucket index): the order things happened

    def remove_hooks(self):
        for h in self.handles:
            h.remove()
        self.handles = []


class Reducer:
    """Averages the gradients of `params` over the ranks of process_group during backward, in
    buckets of about bucket_bytes (the first first_bucket_bytes), one dtype per bucket."""

    def __init__(self, params, names, process_group, first_bucket_bytes, bucket_bytes,
                 find_unused_parameters=False, gradient_as_bucket_view=False):
        self._params, self._names = list(params), list(names)
        # (a communicator of its own: its requests never interleave with the user's collectives)
        self._comm = _comm(process_group).Dup()
        self._world = self._comm.Get_size()
        self.find_unused_parameters = bool(find_unused_parameters)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self._buckets = []
        self._slot = [None] * len(self._params)  # param index -> (bucket, offset, numel)
        for k, idxs in enumerate(_assign_buckets(self._params, max(1, first_bucket_bytes),
                                                 max(1, bucket_bytes))):
            sizes = [self._params[i].data.size for i in idxs]
            b = _Bucket(k, idxs, sizes, self._params[idxs[0]].dtype)
            self._buckets.append(b)
            for j, i in enumerate(idxs):
                self._slot[i] = (b, int(b.offsets[j]), sizes[j])
        self._pass = None

    def verify_same_parameters(self):
        """Every rank must hold the same parameters (names, shapes, dtypes): a clear error names
        the first that differs, on every rank, instead of a hang or garbage sums."""
        mine = [(n, tuple(p.shape), str(p.dtype)) for n, p in zip(self._names, self._params)]
        every = self._comm.allgather(mine)
        ref = every[0]
        for r, theirs in enumerate(every[1:], 1):
            for k in range(max(len(ref), len(theirs))):
                a = ref[k] if k < len(ref) else None
                b = theirs[k] if k < len(theirs) else None
                if a != b:
                    raise RuntimeError(
                        f"DistributedDataParallel: every rank must wrap the same model, but "
                        f"parameter {k} is {_describe(a)} on rank 0 and {_describe(b)} on rank "
                        f"{r} (rank 0 has {len(ref)} parameters requiring grad, rank {r} has "
                        f"{len(theirs)}). Build the model identically on every rank.")

    def broadcast(self, tensors):
        """tensors <- rank 0's, one broadcast per dtype (coalesced), counted as in-place writes
        (call under no_grad)."""
        if self._world == 1:
            return
        by_dtype = {}
        for t in tensors:
            by_dtype.setdefault(t.dtype, []).append(t)
        for dtype, ts in by_dtype.items():
            flat = np.concatenate([t.data.reshape(-1) for t in ts])
            self._comm.Bcast(flat, 0)
            start = 0
            for t in ts:
                n = t.data.size
                np.copyto(t.data, flat[start:start + n].reshape(t.shape))
                stamp_mutation(t)
                start += n

    def start_forward(self, grad_on):
        """A new forward begins: the previous pass's hooks go; a backward that left buckets
        unreduced (a parameter without gradient and find_unused_parameters=False) raises."""
        previous, self._pass = self._pass, None
        if previous is not None:
            previous.remove_hooks()
            if grad_on and previous.fired and not previous.complete:
                raise RuntimeError(_UNFINISHED + self._unready(previous))

    def _unready(self, p):
        idx = [i for i, r in enumerate(p.ready) if not r]
        return (f"\nParameter indices which did not receive grad for rank "
                f"{self._comm.Get_rank()}: {' '.join(map(str, idx))}\nParameters which did not "
                f"receive grad for rank {self._comm.Get_rank()}: "
                f"{', '.join(self._names[i] for i in idx)}")

    def prepare_for_backward(self, out):
        """Finds each parameter's oldest consumer in this forward's graph and hooks the bucket
        bookkeeping there; parameters the outputs do not reach are this pass's unused ones."""
        p = self._pass = _Pass(len(self._params), self._buckets)
        index = {id(t): i for i, t in enumerate(self._params)}
        oldest = {}
        roots = [t for t in _find_tensors(out) if t.grad_fn is not None]
        for node in toposort(roots):  # newest first: the last node seen is the oldest
            for x in inputs_as_recorded(node):
                if x is not None and x.grad_fn is None:
                    i = index.get(id(x))
                    if i is not None:
                        oldest[i] = node
        at = {}
        for i, node in oldest.items():
            at.setdefault(node, []).append(i)
        for node, idxs in at.items():
            p.handles.append(register_after_node(
                node, functools.partial(self._on_node, p, tuple(idxs))))
        p.unused = {i for i in range(len(self._params)) if i not in oldest}

    # --- backward ---------------------------------------------------------------------------------

    def _on_node(self, p, idxs, leaf_grad):
        if p.finalized:
            return
        if not p.fired:  # the first callback of this backward
            p.fired = True
            p.before = [t.grad for t in self._params]
            queue_callback(functools.partial(self._finalize, p))
            if self.find_unused_parameters:
                for i in sorted(p.unused):
                    self._mark(p, i, None)
        p.nodes += 1
        p.log.append(("node", p.nodes))
        for i in idxs:
            g = leaf_grad(self._params[i])
            if g is not None:
                g = g.data if isinstance(g, Tensor) else g
                before = p.before[i]
                self._mark(p, i, g if before is None else before.data + g)
        if p.requests:  # MPI progresses a non-blocking collective only inside MPI calls
            _mpi().Request.Testall(p.requests)

    def _mark(self, p, i, total):
        """Parameter i's gradient (existing .grad included) is final: into its bucket; full
        buckets start their all-reduce, in bucket order."""
        if p.ready[i]:
            return
        p.ready[i] = True
        bucket, off, n = self._slot[i]
        view = bucket.buffer[off:off + n]
        if total is None:
            before = p.before[i]
            view[...] = 0 if before is None else before.data.reshape(-1)
        else:
            view[...] = np.reshape(total, -1)
        p.remaining[bucket.index] -= 1
        while p.next < len(self._buckets) and p.remaining[p.next] == 0:
            self._launch(p, self._buckets[p.next])
            p.next += 1

    def _launch(self, p, bucket):
        p.log.append(("launch", bucket.index))
        if self._world > 1:
            MPI = _mpi()
            p.requests.append(self._comm.Iallreduce(MPI.IN_PLACE, bucket.buffer, MPI.SUM))

    def _finalize(self, p):
        """End of backward: parameters whose gradient arrived without their oldest consumer
        running are taken from .grad; then wait, average and write the gradients back."""
        if p.finalized or p is not self._pass:
            return
        p.finalized = True
        p.remove_hooks()
        for i, t in enumerate(self._params):
            if not p.ready[i]:
                if t.grad is not None and t.grad is not p.before[i]:
                    self._mark(p, i, t.grad.data)
                elif self.find_unused_parameters:
                    self._mark(p, i, None)
        if self._world > 1:
            _mpi().Request.Waitall(p.requests)
        p.requests = []
        used = None
        if self.find_unused_parameters and self._world > 1:
            used = np.array([i not in p.unused or self._params[i].grad is not p.before[i]
                             for i in range(len(self._params))], np.int8)
            self._comm.Allreduce(_mpi().IN_PLACE, used, _mpi().MAX)
        p.complete = p.next == len(self._buckets)
        if self._world == 1:
            return  # (.grad already holds what the average of one would give)
        for bucket in self._buckets[:p.next]:
            buf = bucket.buffer
            np.true_divide(buf, self._world, out=buf)
            for j, i in enumerate(bucket.params):
                if used is not None and not used[i]:
                    continue  # unused on every rank: .grad stays as it was (None stays None)
                t = self._params[i]
                arr = buf[bucket.offsets[j]:bucket.offsets[j + 1]].reshape(t.shape)
                t.grad = Tensor._const(arr if self.gradient_as_bucket_view else arr.copy())



def _describe(entry):
    if entry is None:
        return "missing"
    name, shape, dtype = entry
    return f"'{name}' of shape {list(shape)} and dtype {dtype}"
