"""DataLoader worker processes: fetching, seeding, get_worker_info, exceptions carried back to
the main process, and batches of arrays returned through shared memory."""
import os
import pickle
import queue
import random
import signal
import sys
import traceback
from multiprocessing.shared_memory import SharedMemory

import numpy as np

import autodiff as ad
from nn.data.collate import default_collate
from nn.data.dataset import Subset, TensorDataset

# How often a waiting worker checks that the main process is still alive (seconds).
_POLL = 1.0
# Batches whose arrays hold at least this many bytes in total go through one shared-memory
# segment; smaller ones are pickled (a segment costs a few syscalls and page faults).
SHM_MIN_BYTES = 64 * 1024
# Prefix of our segments' names; the worker's pid follows, so the main process can remove the
# segments of a worker that died with batches in flight.
SHM_PREFIX = "addl_"
_ALIGN = 64


# ---- get_worker_info -----------------------------------------------------------------------

class WorkerInfo:
    """What a DataLoader worker knows about itself: id, num_workers, seed, dataset."""

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, id, num_workers, seed, dataset):
        for name, value in zip(self.__slots__, (id, num_workers, seed, dataset)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"WorkerInfo is read-only: cannot set {name!r}")

    def __repr__(self):
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={type(self.dataset).__name__})")


_worker_info = None


def get_worker_info():
    """In a DataLoader worker process: its WorkerInfo (id, num_workers, seed, dataset - the
    worker's own copy); in the main process: None."""
    return _worker_info


# ---- exceptions ----------------------------------------------------------------------------

class _KeyErrorMessage(str):
    """A KeyError's message shown as is (KeyError would print the repr of its argument)."""

    def __repr__(self):
        return str(self)


class ExceptionWrapper:
    """An exception raised in a worker: its type and formatted traceback, re-raised in the main
    process as the same type where the type can be built from one message."""

    def __init__(self, where):
        exc_type, exc, tb = sys.exc_info()
        self.exc_msg = "".join(traceback.format_exception(exc_type, exc, tb))
        self.where = where
        try:  # the type travels by reference: a class defined inside a function cannot
            pickle.dumps(exc_type)
            self.exc_type = exc_type
        except Exception:
            self.exc_type = RuntimeError
            self.exc_msg = f"(original type {exc_type.__qualname__} is not picklable)\n" + \
                self.exc_msg

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:  # the type needs other constructor arguments
            raise RuntimeError(msg) from None
        raise exc


# ---- shared memory -------------------------------------------------------------------------

class _Slot:
    """Placeholder for the i-th array of a packed batch (a Tensor if tensor)."""

    __slots__ = ("i", "tensor", "requires_grad")

    def __init__(self, i, tensor, requires_grad):
        self.i, self.tensor, self.requires_grad = i, tensor, requires_grad

    def __reduce__(self):
        return _Slot, (self.i, self.tensor, self.requires_grad)


def _skeleton(obj, arrays):
    """obj with every array/Tensor inside tuples, lists and dicts replaced by a _Slot."""
    if isinstance(obj, ad.Tensor) and obj.data.dtype != object:
        arrays.append(obj.data)
        return _Slot(len(arrays) - 1, True, bool(obj.requires_grad and obj.is_leaf))
    if type(obj) is np.ndarray and obj.dtype != object:
        arrays.append(obj)
        return _Slot(len(arrays) - 1, False, False)
    if type(obj) in (tuple, list):
        return type(obj)(_skeleton(x, arrays) for x in obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(_skeleton(x, arrays) for x in obj))
    if type(obj) is dict:
        return {k: _skeleton(v, arrays) for k, v in obj.items()}
    return obj


def _fill(obj, arrays):
    """Inverse of _skeleton."""
    if type(obj) is _Slot:
        a = arrays[obj.i]
        if not obj.tensor:
            return a
        t = ad.from_numpy(a)
        return t.requires_grad_(True) if obj.requires_grad else t
    if type(obj) in (tuple, list):
        return type(obj)(_fill(x, arrays) for x in obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_fill(x, arrays) for x in obj))
    if type(obj) is dict:
        return {k: _fill(v, arrays) for k, v in obj.items()}
    return obj


class SegmentPool:
    """A worker's shared-memory segments, reused batch after batch: a fresh segment costs a
    page fault per 4 KiB page on both sides (~10x a copy), a reused one only the copies.

    pack() fills a free segment (or a new one) and marks it busy until the main process, having
    copied the batch out, hands its name back through release()."""

    def __init__(self, min_bytes=SHM_MIN_BYTES, max_segments=4):
        self.min_bytes, self.max_segments = min_bytes, max_segments
        self.count = 0
        self.free, self.busy, self.dropped = [], {}, []

    def pack(self, batch):
        """bytes for the result queue: the batch's structure, its arrays in one segment (or
        in the pickle, if they are small)."""
        arrays = []
        skeleton = _skeleton(batch, arrays)
        total, layout = 0, []
        for a in arrays:
            layout.append((total, a.shape, a.dtype.str))
            total += -(-a.nbytes // _ALIGN) * _ALIGN
        if total < self.min_bytes or total == 0:
            return pickle.dumps((skeleton, None, arrays, ()), pickle.HIGHEST_PROTOCOL)
        shm = self._take(total)
        try:
            for a, (offset, shape, dtype) in zip(arrays, layout):
                np.ndarray(shape, dtype, buffer=shm.buf, offset=offset)[...] = a
            payload = pickle.dumps((skeleton, shm.name, layout, tuple(self.dropped)),
                                   pickle.HIGHEST_PROTOCOL)
        except BaseException:
            self.release([shm.name])
            raise
        self.dropped.clear()
        return payload

    def release(self, names):
        for name in names:
            shm = self.busy.pop(name, None)
            if shm is not None:
                self.free.append(shm)

    def _take(self, size):
        fits = [m for m in self.free if m.size >= size]
        if fits:
            shm = min(fits, key=lambda m: m.size)
            self.free.remove(shm)
        else:
            if self.free and len(self.free) + len(self.busy) >= self.max_segments:
                small = min(self.free, key=lambda m: m.size)  # too small: replace it
                self.free.remove(small)
                self.dropped.append(small.name)  # so the main process unmaps it too
                _remove(small)
            shm = self._create(size)
        self.busy[shm.name] = shm
        return shm

    def _create(self, size):
        while True:
            self.count += 1
            try:
                return SharedMemory(name=f"{SHM_PREFIX}{os.getpid():x}_{self.count:x}",
                                    create=True, size=size)
            except FileExistsError:  # left over by an earlier process with our pid
                continue

    def close(self):
        for shm in [*self.free, *self.busy.values()]:
            _remove(shm)
        self.free, self.busy = [], {}


def _remove(shm):
    shm.close()
    try:
        shm.unlink()
    except FileNotFoundError:
        pass


class Attached:
    """The main process's mappings of its workers' segments, kept while they are reused."""

    def __init__(self):
        self.segments = {}

    def unpack(self, payload):
        """(batch, name of the segment now free or None); arrays copied out of the segment."""
        skeleton, name, layout, dropped = pickle.loads(payload)
        for old in dropped:
            shm = self.segments.pop(old, None)
            if shm is not None:
                shm.close()
        if name is None:
            return _fill(skeleton, layout), None
        shm = self.segments.get(name)
        if shm is None:
            shm = self.segments[name] = SharedMemory(name=name)
        arrays = [np.ndarray(shape, dtype, buffer=shm.buf, offset=offset).copy()
                  for offset, shape, dtype in layout]
        return _fill(skeleton, arrays), name

    def forget(self, payload):
        """The segment of a batch nobody will read (free again), without copying it."""
        try:
            return pickle.loads(payload)[1]
        except Exception:
            return None

    def close(self):
        for shm in self.segments.values():
            shm.close()
        self.segments = {}


def segment_owner(name):
    """The pid of the worker that created a segment, from its name."""
    return int(name[len(SHM_PREFIX):].split("_")[0], 16)


def remove_segments(pid):
    """Remove the shared-memory segments a worker left behind (it was killed, or stopped with
    batches in flight). Linux only (/dev/shm); elsewhere the resource tracker removes them when
    the program exits."""
    root = "/dev/shm"
    if not os.path.isdir(root):
        return
    prefix = f"{SHM_PREFIX}{pid:x}_"
    for name in os.listdir(root):
        if name.startswith(prefix):
            try:
                shm = SharedMemory(name=name)
                shm.close()
                shm.unlink()
            except (FileNotFoundError, OSError):
                pass


# ---- fetching ------------------------------------------------------------------------------

def tensor_source(dataset):
    """(tensors, index map or None) if dataset is a TensorDataset, possibly under Subsets;
    else None."""
    index_map = None
    while type(dataset).__getitem__ is Subset.__getitem__:
        indices = np.asarray(dataset.indices, dtype=np.int64)
        index_map = indices if index_map is None else indices[index_map]
        dataset = dataset.dataset
    if type(dataset).__getitem__ is not TensorDataset.__getitem__:
        return None  # not a TensorDataset, or a subclass with its own __getitem__
    return dataset.tensors, index_map


class MapFetcher:
    """Samples of a map-style dataset at the given indices, collated."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn
        # A TensorDataset batch is one fancy-index of its tensors, not a per-sample loop.
        self.source = tensor_source(dataset) if auto_collation and \
            collate_fn is default_collate else None

    def fetch(self, index):
        if self.source is not None:
            tensors, index_map = self.source
            idx = np.asarray(index, dtype=np.int64)
            if index_map is not None:
                idx = index_map[idx]
            return tuple(t[idx] for t in tensors)
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(index) if getitems else [self.dataset[i] for i in index]
        return self.collate_fn(data)


class IterFetcher:
    """The next batch_size samples (or one sample, unbatched) of an iterable dataset;
    StopIteration when it is exhausted."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.iterator = iter(dataset)
        self.auto_collation, self.collate_fn, self.drop_last = \
            auto_collation, collate_fn, drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        data = []
        for _ in index:
            try:
                data.append(next(self.iterator))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


# ---- the worker process --------------------------------------------------------------------

class Resume:
    """Sent to every worker when persistent workers start a new epoch; echoed back."""

    def __init__(self, epoch):
        self.epoch = epoch


class IterationEnd:
    """A worker's iterable dataset is exhausted."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


def seed_worker(base_seed, worker_id):
    """Seed Python's random, autodiff's default generator and numpy's global RNG for one
    worker; returns the worker's seed, base_seed + worker_id."""
    seed = base_seed + worker_id
    random.seed(seed)
    ad.manual_seed(seed)
    # numpy's legacy seed takes 32-bit words: hash (worker_id, base_seed) into four
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    return seed


def _limit_threads():
    from autodiff.threads import limit_for_shared_machine
    limit_for_shared_machine()  # (best effort: without threadpoolctl, numpy's default stays)


def worker_loop(dataset, iterable, index_queue, result_queue, done_event, auto_collation,
                collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers, shm_bytes,
                prefetch):
    """Body of worker process worker_id: fetch the batches whose indices arrive on index_queue
    as (task id, indices, names of segments the main process has finished with) and put
    (task id, packed batch or ExceptionWrapper) on result_queue, until None arrives."""
    global _worker_info
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C and stops us
    parent = os.getppid()
    where = f"in DataLoader worker process {worker_id}"
    make_fetcher = IterFetcher if iterable else MapFetcher
    pool = None
    try:
        _limit_threads()
        seed = seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
        pool = SegmentPool(shm_bytes, max_segments=prefetch + 2)
        init_error, fetcher = None, None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = make_fetcher(dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_error = ExceptionWrapper(where)
        ended = False
        while True:
            try:
                task = index_queue.get(timeout=_POLL)
            except queue.Empty:
                if os.getppid() != parent:
                    break  # the main process died without telling us
                continue
            if task is None:
                break
            if isinstance(task, Resume):
                ended = False
                if init_error is None:
                    try:
                        fetcher = make_fetcher(dataset, auto_collation, collate_fn, drop_last)
                    except Exception:
                        init_error = ExceptionWrapper(where)
                result_queue.put((task, None))
                continue
            task_id, index, freed = task
            pool.release(freed)
            if done_event.is_set() or ended:
                continue
            if init_error is not None:
                data, init_error = init_error, None
            else:
                try:
                    data = pool.pack(fetcher.fetch(index))
                except StopIteration:
                    if not iterable:
                        data = ExceptionWrapper(where)
                    else:
                        data, ended = IterationEnd(worker_id), True
                except Exception:
                    data = ExceptionWrapper(where)
            result_queue.put((task_id, data))
            del data, task, index
    except KeyboardInterrupt:
        pass
    finally:
        if pool is not None:
            pool.close()
    if done_event.is_set():
        # stopping: do not wait at exit for the queue's feeder thread to flush unread batches
        result_queue.cancel_join_thread()
        result_queue.close()
