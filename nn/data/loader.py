"""DataLoader (torch.utils.data's): batches from a sampler, loaded in the main process or in
worker processes, plus IterableDataset, get_worker_info and default_convert."""
import collections.abc
import copy
import itertools
import multiprocessing
import numbers
import os
import queue
import signal
import time
import warnings
import weakref

import numpy as np

import autodiff as ad
from nn.data import _worker
from nn.data._random import rng_from
from nn.data._worker import ExceptionWrapper, get_worker_info
from nn.data.collate import default_collate
from nn.data.dataset import Dataset
from nn.data.sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "IterableDataset", "get_worker_info", "default_convert"]

# While waiting for a batch, the main process checks its workers are alive this often (s).
_CHECK_INTERVAL = 0.1
# Grace period for workers to exit after being told to stop, before they are terminated (s).
_JOIN_TIMEOUT = 1.0
_END = object()


class IterableDataset(Dataset):
    """A stream of samples: subclasses define __iter__. With worker processes every worker
    iterates its own copy; shard the stream with get_worker_info() to avoid duplicates."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__(self)")


def default_convert(data):
    """numpy arrays and numbers -> Tensors, walking dicts, lists and tuples (lists, as PyTorch);
    the per-sample conversion of DataLoader(batch_size=None)."""
    if isinstance(data, ad.Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "OSUV" else ad.from_numpy(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return ad.from_numpy(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        converted = {k: default_convert(v) for k, v in data.items()}
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update(converted)
                return clone
            return type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        converted = [default_convert(d) for d in data]
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                clone[:] = converted
                return clone
            return type(data)(converted)
        except TypeError:
            return converted
    return data


def _is_int(x):
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _check_context(context, num_workers):
    """multiprocessing_context as a context object (None: multiprocessing's default)."""
    if context is None:
        return None
    if num_workers == 0:
        raise ValueError("DataLoader: multiprocessing_context can only be used with "
                         "multi-process loading (num_workers > 0), but got num_workers=0; "
                         "pass num_workers >= 1 or drop multiprocessing_context")
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(f"DataLoader: multiprocessing_context should specify a valid "
                             f"start method in {methods!r}, but got "
                             f"multiprocessing_context={context!r}")
        return multiprocessing.get_context(context)
    if not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError(f"DataLoader: multiprocessing_context should be a valid context "
                        f"object or a string specifying the start method ('fork', 'spawn', "
                        f"'forkserver'), but got multiprocessing_context={context!r}")
    return context


class DataLoader:
    """Iterate over a dataset in batches drawn by a sampler; len() = number of batches.

    num_workers > 0 loads batches in that many worker processes (returned in order unless
    in_order=False), their arrays passed back through shared memory. A TensorDataset (or a
    Subset of one) with the default collate_fn takes a fast path: each batch is one
    fancy-index of the underlying tensors, not a per-sample loop. pin_memory and
    pin_memory_device are accepted and ignored (there is no accelerator).
    """

    _FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
               "persistent_workers")
    _initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if not _is_int(num_workers) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be a non-negative int, "
                             f"got {num_workers!r}; use num_workers=0 to load in the main "
                             f"process")
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative (seconds to "
                             f"wait for a batch, 0 = forever), got {timeout!r}")
        if timeout > 0 and num_workers == 0:
            raise ValueError(f"DataLoader: timeout={timeout} needs worker processes "
                             f"(num_workers > 0); in the main process a batch cannot be "
                             f"interrupted - pass timeout=0 or num_workers >= 1")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                             "multiprocessing: let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and (not _is_int(prefetch_factor)
                                              or prefetch_factor < 1):
            raise ValueError(f"DataLoader: prefetch_factor option should be non-negative, and "
                             f"at least 1 (batches loaded ahead per worker), got "
                             f"{prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if not isinstance(in_order, bool):
            raise TypeError(f"DataLoader: in_order must be a bool, got {in_order!r}")
        context = _check_context(multiprocessing_context, num_workers)
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable or None, "
                            f"got {type(collate_fn).__name__}")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(f"DataLoader: worker_init_fn must be callable (called with the "
                            f"worker id) or None, got {type(worker_init_fn).__name__}")
        if generator is not None:
            rng_from(generator)  # fail now, not at the first epoch

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}; shuffle inside "
                                 f"the dataset's __iter__")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            if not hasattr(dataset, "__getitem__") or (
                    sampler is None and batch_sampler is None and not hasattr(dataset, "__len__")):
                raise TypeError(f"DataLoader: dataset must define __getitem__ and __len__ "
                                f"(a map-style Dataset) or be an IterableDataset, got "
                                f"{type(dataset).__name__}")
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle; "
                             "leave shuffle unset with a sampler (RandomSampler shuffles)")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last; the "
                                 "batch_sampler alone decides the batches")
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError("DataLoader: batch_size=None option disables auto-batching "
                                 "and is mutually exclusive with drop_last")
        elif not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, or None for "
                             f"unbatched loading, got batch_size={batch_size!r}")

        if sampler is None and not iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else \
                SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, int(batch_size), bool(drop_last))

        self.dataset = dataset
        self.num_workers = int(num_workers)
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self._multiprocessing_context = context
        self.in_order = in_order
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self._iterable = iterable
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = bool(persistent_workers)
        self._iterator = None
        self._initialized = True
        self._warn_if_too_many_workers()

    @property
    def multiprocessing_context(self):
        return self._multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context):
        self._multiprocessing_context = _check_context(context, self.num_workers)

    def __setattr__(self, name, value):
        if self._initialized and name in self._FROZEN:
            raise ValueError(f"DataLoader: {name} attribute should not be set after DataLoader "
                             f"is initialized; build a new DataLoader instead")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    @property
    def _index_sampler(self):
        """What one iteration draws: lists of indices (auto-collation) or single indices."""
        if self._iterable:  # no keys: batch_size placeholders per batch, forever
            return itertools.repeat([None] * self.batch_size if self._auto_collation else None)
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self._auto_collation else self.sampler)

    def __iter__(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if not self.persistent_workers:
            return _MultiProcessIter(self)
        if self._iterator is None or self._iterator._closed:
            self._iterator = _MultiProcessIter(self)
        else:
            self._iterator._next_epoch()
        return self._iterator

    def _warn_if_too_many_workers(self):
        if self.num_workers == 0:
            return
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:
            cpus = os.cpu_count()
        if cpus and self.num_workers > cpus:
            warnings.warn(f"DataLoader will create {self.num_workers} worker processes but "
                          f"this process may use only {cpus} CPUs; more workers than CPUs "
                          f"slow loading down - consider num_workers={cpus}", UserWarning,
                          stacklevel=3)


class _BaseIter:
    """What both iterators share: the loader's settings (copied, so an iterator does not keep
    its loader alive) and the start of an epoch."""

    def __init__(self, loader):
        self._dataset = loader.dataset
        self._iterable = loader._iterable
        self._auto_collation = loader._auto_collation
        self._collate_fn = loader.collate_fn
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._generator = loader.generator
        self._start_epoch()
        # One draw per iterator, as PyTorch does, with or without workers: the worker seeds
        # derive from it, and the generator advances alike for any num_workers.
        self._base_seed = int(rng_from(self._generator).integers(2**63, dtype=np.int64))

    def _start_epoch(self):
        indices = iter(self._index_sampler)
        # Draw the epoch's order now (at iter()), before the base seed.
        first = next(indices, _END)
        self._indices = iter(()) if first is _END else itertools.chain([first], indices)

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._index_sampler)

    def __getstate__(self):
        raise TypeError(f"{type(self).__name__} cannot be pickled")


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader):
        super().__init__(loader)
        fetcher = _worker.IterFetcher if self._iterable else _worker.MapFetcher
        self._fetcher = fetcher(self._dataset, self._auto_collation, self._collate_fn,
                                self._drop_last)

    def __next__(self):
        return self._fetcher.fetch(next(self._indices))


class _Workers:
    """The processes and queues of one multi-process iterator; what shutdown needs."""

    def __init__(self, context):
        self.creator = os.getpid()
        self.attached = _worker.Attached()
        self.result_queue = context.Queue()
        self.done_event = context.Event()
        self.procs, self.index_queues = [], []


def _shutdown(w):
    """Stop the workers: tell them, wait up to _JOIN_TIMEOUT, then terminate; remove the
    shared memory of batches nobody will read."""
    if os.getpid() != w.creator:  # a forked child holding a copy: not its workers
        return
    w.done_event.set()
    for q in w.index_queues:
        try:
            q.put(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + _JOIN_TIMEOUT
    for p in w.procs:
        p.join(max(deadline - time.monotonic(), 0))
    for p in w.procs:
        if p.is_alive():
            p.terminate()
            p.join(1.0)
        if p.is_alive():
            p.kill()
            p.join(1.0)
    w.attached.close()
    for p in w.procs:
        _worker.remove_segments(p.pid)
    for q in (*w.index_queues, w.result_queue):
        q.cancel_join_thread()
        q.close()


def _exit_description(code):
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class _MultiProcessIter(_BaseIter):
    """Batches loaded by worker processes; each worker has its own index queue and all share
    one result queue. At most prefetch_factor batches per worker are outstanding."""

    def __init__(self, loader):
        super().__init__(loader)
        n = loader.num_workers
        self._num_workers = n
        self._prefetch = loader.prefetch_factor
        self._in_order = loader.in_order
        self._persistent = loader.persistent_workers
        self._timeout = loader.timeout
        self._closed = False
        self._epoch = 0
        context = loader.multiprocessing_context or multiprocessing.get_context()
        from multiprocessing import resource_tracker
        # Started here, the tracker is shared by the workers: a segment created by a worker and
        # removed by this process is then forgotten by the tracker, not reported as leaked.
        resource_tracker.ensure_running()
        self._w = w = _Workers(context)
        self._finalizer = weakref.finalize(self, _shutdown, w)
        for i in range(n):
            index_queue = context.Queue()
            index_queue.cancel_join_thread()  # never block this process's exit on it
            p = context.Process(
                target=_worker.worker_loop, name=f"DataLoader worker {i}", daemon=True,
                args=(self._dataset, self._iterable, index_queue, w.result_queue,
                      w.done_event, self._auto_collation, self._collate_fn, self._drop_last,
                      self._base_seed, loader.worker_init_fn, i, n, _worker.SHM_MIN_BYTES,
                      self._prefetch))
            try:
                p.start()
            except Exception as e:
                self._close()
                e.add_note(f"DataLoader: starting worker {i} with the "
                           f"{context.get_start_method()!r} start method failed; with 'spawn' "
                           f"or 'forkserver' the dataset, collate_fn and worker_init_fn must "
                           f"be picklable (defined at module level)")
                raise
            w.index_queues.append(index_queue)
            w.procs.append(p)
        self._worker_of_pid = {p.pid: i for i, p in enumerate(w.procs)}
        self._freed = [[] for _ in range(n)]  # segments copied out, to hand back to worker i
        self._reset()

    def _close(self):
        self._closed = True
        self._finalizer()

    def _reset(self, resume=False):
        self._outstanding = {}  # task id -> worker id, in send order, until handed out
        self._ready = {}  # task id -> batch received (or error), not yet handed out
        self._next_task = 0
        self._active = [True] * self._num_workers  # False once an iterable worker is done
        self._num_tasks = [0] * self._num_workers
        self._cycle = itertools.cycle(range(self._num_workers))
        self._exhausted = False
        if resume:
            self._epoch += 1
            for q in self._w.index_queues:
                q.put(_worker.Resume(self._epoch))
            pending = self._num_workers
            while pending:  # batches of an unfinished epoch come first: discard them
                task, data = self._get()
                if isinstance(task, _worker.Resume) and task.epoch == self._epoch:
                    pending -= 1
                else:
                    self._discard(data)
        for _ in range(self._prefetch * self._num_workers):
            self._try_put()

    def _next_epoch(self):
        """Persistent workers: start the next epoch with the same processes."""
        self._start_epoch()
        try:
            self._reset(resume=True)
        except BaseException:
            self._close()
            raise

    def _try_put(self):
        if self._exhausted:
            return
        for _ in range(self._num_workers):
            wid = next(self._cycle)
            if self._active[wid] and self._num_tasks[wid] < self._prefetch:
                break
        else:
            return
        index = next(self._indices, _END)
        if index is _END:
            self._exhausted = True
            return
        freed, self._freed[wid] = self._freed[wid], []
        self._w.index_queues[wid].put((self._next_task, index, freed))
        self._outstanding[self._next_task] = wid
        self._num_tasks[wid] += 1
        self._next_task += 1

    def __next__(self):
        try:
            return self._next()
        except KeyboardInterrupt:
            self._close()
            raise

    def _next(self):
        while True:
            if self._closed or not self._outstanding:
                if not self._persistent:
                    self._close()
                raise StopIteration
            if self._in_order:
                task = next(iter(self._outstanding))  # the oldest: ids increase
                if task in self._ready:
                    return self._hand_out(task)
            elif self._ready:
                return self._hand_out(next(iter(self._ready)))
            task, data = self._get()
            wid = self._outstanding.get(task) if isinstance(task, int) else None
            if wid is None:
                self._discard(data)  # not ours (an earlier epoch's)
                continue
            if isinstance(data, _worker.IterationEnd):
                # its dataset copy is exhausted: it ignores the tasks it still holds
                self._active[wid] = False
                for t in [t for t, w in self._outstanding.items()
                          if w == wid and t not in self._ready]:
                    del self._outstanding[t]
                    self._num_tasks[wid] -= 1
                continue
            if isinstance(data, bytes):
                data, segment = self._w.attached.unpack(data)
                if segment is not None:
                    self._freed[wid].append(segment)
            self._ready[task] = data

    def _hand_out(self, task):
        data = self._ready.pop(task)
        wid = self._outstanding.pop(task)
        self._num_tasks[wid] -= 1
        self._try_put()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    def _get(self):
        """The next (task id, data) from any worker; checks the workers are alive while
        waiting, and the timeout."""
        start = time.monotonic()
        while True:
            wait = _CHECK_INTERVAL
            if self._timeout:
                wait = max(min(wait, start + self._timeout - time.monotonic()), 0)
            try:
                return self._w.result_queue.get(timeout=wait)
            except queue.Empty:
                pass
            dead = [(i, p) for i, p in enumerate(self._w.procs) if not p.is_alive()]
            if dead:
                self._close()
                pids = ", ".join(str(p.pid) for _, p in dead)
                which = "; ".join(f"worker {i} {_exit_description(p.exitcode)}"
                                  for i, p in dead)
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly "
                                   f"({which}). A crash in the dataset's code (or running out "
                                   f"of memory) does this; with num_workers=0 the same code "
                                   f"runs in the main process, where the error shows")
            if self._timeout and time.monotonic() - start >= self._timeout:
                self._close()
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds "
                                   f"waiting for a batch from its workers; raise timeout= if "
                                   f"batches take that long to load")

    def _discard(self, data):
        """A batch nobody will read: its segment goes back to its worker."""
        if isinstance(data, bytes):
            segment = self._w.attached.forget(data)
            if segment is not None:
                wid = self._worker_of_pid.get(_worker.segment_owner(segment))
                if wid is not None:
                    self._freed[wid].append(segment)
