"""DataLoader with samplers and worker processes: batches, order, seeding, worker info,
persistence, prefetching, timeouts, errors from workers, and cleanup (processes, shared memory).

Every test here runs under a hard time limit (SIGALRM) and ends by checking that no worker
process and no shared-memory segment of ours is left; stragglers are killed.
"""
import collections
import gc
import multiprocessing
import os
import random
import signal
import threading
import time

import numpy as np
import pytest

import autodiff as ad
from nn.data import Dataset, TensorDataset
from nn.data.loader import DataLoader, IterableDataset, default_convert, get_worker_info
from nn.data.sampler import BatchSampler, SequentialSampler

LIMIT = 30  # seconds per test
SHM = "/dev/shm"


def _our_segments():
    if not os.path.isdir(SHM):
        return set()
    return {f for f in os.listdir(SHM) if f.startswith("addl_")}


@pytest.fixture(autouse=True)
def bounded():
    """Time limit per test; afterwards no worker process and no shared memory may remain."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"test exceeded its {LIMIT} s limit")
    before = _our_segments()
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(LIMIT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        gc.collect()
        left = multiprocessing.active_children()
        for p in left:
            p.kill()
            p.join(2)
        leaked = _our_segments() - before
        assert not left, f"worker processes outlived the test: {left}"
        assert not leaked, f"shared memory segments leaked: {sorted(leaked)}"


# ---- datasets (module level, so they also pickle for 'spawn') -------------------------------

class Mixed(Dataset):
    """Tuples of (array, tensor, int, dict) samples; sample i is made of i."""

    def __init__(self, n=11):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return (np.full((2, 3), i, np.float32), ad.tensor(np.arange(4.0) + i), i,
                {"y": np.int64(i), "name": f"s{i}"})


class Probe(Dataset):
    """Sample i: who loaded it and what its random generators said there."""

    def __init__(self, n=8, sleep=None):
        self.n, self.sleep = n, sleep or {}

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        time.sleep(self.sleep.get(i, 0))
        info = get_worker_info()
        return {"i": i, "pid": os.getpid(), "worker": -1 if info is None else info.id,
                "seed": -1 if info is None else info.seed,
                "np": np.random.rand(), "py": random.random(),
                "ad": float(ad.rand(1).item())}


Pair = collections.namedtuple("Pair", "a b")


class Failing(Dataset):
    def __init__(self, exc, at=3):
        self.exc, self.at = exc, at

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == self.at:
            raise self.exc
        return np.float32(i)


class TwoArgError(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a}/{b}")


class Suicide(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            os.kill(os.getpid(), signal.SIGKILL)
        return np.float32(i)


class Stream(IterableDataset):
    """0..n-1; sharded over workers when shard=True."""

    def __init__(self, n, shard=True):
        self.n, self.shard = n, shard

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))

    def __len__(self):
        return self.n


def big_dataset(n=40):
    x = np.random.default_rng(0).standard_normal((n, 3, 32, 32)).astype(np.float32)
    return TensorDataset(ad.tensor(x), ad.tensor(np.arange(n)))


def as_lists(batches):
    """Batches as nested Python values, for exact comparison."""
    def conv(v):
        if isinstance(v, ad.Tensor):
            return ("T", str(v.dtype), v.numpy().tolist())
        if isinstance(v, np.ndarray):
            return ("A", str(v.dtype), v.tolist())
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return type(v)(conv(x) for x in v)
        return v
    return [conv(b) for b in batches]


# ---- same batches, any number of workers ----------------------------------------------------

@pytest.mark.parametrize("shuffle", [False, True])
def test_same_batches_in_same_order_for_0_1_2_workers(shuffle):
    def epochs(nw):
        loader = DataLoader(Mixed(), batch_size=3, shuffle=shuffle, num_workers=nw,
                            generator=ad.Generator(5))
        return [as_lists(loader) for _ in range(2)]
    ref = epochs(0)
    assert ref[0][0][3]["name"] == (["s0", "s1", "s2"] if not shuffle else ref[0][0][3]["name"])
    assert [len(b[2][2]) for b in ref[0]] == [3, 3, 3, 2]
    assert ref[0][0][0][:2] == ("T", str(ad.float32))
    if shuffle:
        assert ref[0] != ref[1]  # reshuffled
    assert epochs(1) == ref
    assert epochs(2) == ref


def test_tensor_dataset_fast_path_with_workers_goes_through_shared_memory():
    ds = big_dataset()
    ref = list(DataLoader(ds, batch_size=16, shuffle=True, generator=ad.Generator(1)))
    got = list(DataLoader(ds, batch_size=16, shuffle=True, generator=ad.Generator(1),
                          num_workers=2))
    assert len(got) == len(ref) == 3
    for (x, y), (rx, ry) in zip(got, ref):
        assert isinstance(x, ad.Tensor) and x.dtype == ad.float32 and x.shape == rx.shape
        np.testing.assert_array_equal(x.numpy(), rx.numpy())
        np.testing.assert_array_equal(y.numpy(), ry.numpy())
        assert x.numpy().flags.writeable


def test_shared_memory_round_trip_keeps_structure_and_dtypes():
    from nn.data import _worker
    batch = {"t": ad.tensor(np.ones((70, 300), np.float64)), "l": [np.arange(5), "s"],
             "p": Pair(np.zeros((100, 100), np.float32), 3), "o": np.array(["x"], object)}
    pool, attached = _worker.SegmentPool(min_bytes=1, max_segments=2), _worker.Attached()
    try:
        payload = pool.pack(batch)
        assert len(payload) < 4096  # the arrays did not travel in the pickle
        out, name = attached.unpack(payload)
        assert name in pool.busy and name in attached.segments
        assert isinstance(out["t"], ad.Tensor) and out["t"].dtype == ad.float64
        np.testing.assert_array_equal(out["t"].numpy(), batch["t"].numpy())
        assert isinstance(out["l"], list) and out["l"][1] == "s"
        np.testing.assert_array_equal(out["l"][0], np.arange(5))
        assert isinstance(out["p"], Pair) and out["p"].b == 3 and out["p"].a.dtype == np.float32
        assert out["o"].dtype == object
        out["t"].data[...] = 7  # ours: the segment is reused below
        pool.release([name])
        again, name2 = attached.unpack(pool.pack(batch))
        assert name2 == name and len(attached.segments) == 1  # the same segment, reused
        assert (out["t"].numpy() == 7).all() and (again["t"].numpy() == 1).all()
        # a bigger batch while the pool is full replaces the free segment, here and there
        p3 = pool.pack({"x": np.zeros(200_000)})
        pool.release([name2])
        big, name3 = attached.unpack(pool.pack({"x": np.ones(400_000)}))
        assert big["x"].sum() == 400_000 and name2 not in attached.segments
        assert len(pool.free) + len(pool.busy) == 2
        attached.unpack(p3)
        small, none = attached.unpack(_worker.SegmentPool().pack({"x": np.zeros(3)}))
        assert none is None and small["x"].tolist() == [0, 0, 0]
    finally:
        attached.close()
        pool.close()


def test_spawn_context_gives_the_same_batches():
    ds = TensorDataset(ad.tensor(np.arange(12.0).reshape(6, 2)))
    ref = as_lists(DataLoader(ds, batch_size=4))
    got = as_lists(DataLoader(ds, batch_size=4, num_workers=1,
                              multiprocessing_context="spawn"))
    assert got == ref


# ---- seeding and worker info ----------------------------------------------------------------

def test_seeding_is_reproducible_and_distinct_per_worker():
    def run(seed):
        loader = DataLoader(Probe(8), batch_size=2, num_workers=2, generator=ad.Generator(seed))
        return [b for b in loader]
    a, b, c = run(7), run(7), run(8)
    key = ("np", "py", "ad")
    assert [[x[k].numpy().tolist() for k in key] for x in a] == \
           [[x[k].numpy().tolist() for k in key] for x in b]
    assert [x["np"].numpy().tolist() for x in a] != [x["np"].numpy().tolist() for x in c]
    workers = np.concatenate([x["worker"].numpy() for x in a])
    assert workers.tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    seeds = np.concatenate([x["seed"].numpy() for x in a])
    assert seeds[2] == seeds[0] + 1  # base_seed + worker id
    for k in key:  # worker 0's and worker 1's streams differ
        vals = np.concatenate([x[k].numpy() for x in a])
        assert vals[0] != vals[2] and vals[1] != vals[3]


def test_worker_info_inside_and_none_outside():
    assert get_worker_info() is None
    got = {}

    def init(worker_id):
        info = get_worker_info()
        got[worker_id] = info  # stays in the worker; checked there through the dataset

        assert info.id == worker_id and info.num_workers == 2
        assert isinstance(info.dataset, Probe)
        info.dataset.n = 100 + worker_id  # the worker's own copy
    loader = DataLoader(Probe(4), batch_size=1, num_workers=2, worker_init_fn=init)
    batches = list(loader)
    assert [b["worker"].item() for b in batches] == [0, 1, 0, 1]
    assert got == {} and loader.dataset.n == 4  # the main process's dataset is untouched
    with pytest.raises(AttributeError, match="read-only"):
        from nn.data._worker import WorkerInfo
        WorkerInfo(0, 1, 0, None).id = 3


class InitMarked(Dataset):
    def __init__(self):
        self.mark = None

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return self.mark


def _set_mark(worker_id):
    get_worker_info().dataset.mark = 10 * worker_id + 1


def test_worker_init_fn_runs_in_each_worker():
    loader = DataLoader(InitMarked(), batch_size=1, num_workers=2, worker_init_fn=_set_mark)
    assert [b.item() for b in loader] == [1, 11, 1, 11]


# ---- persistence, prefetching, order --------------------------------------------------------

def test_persistent_workers_keep_their_processes_across_epochs():
    def pids(loader):
        return {int(p) for b in loader for p in b["pid"].numpy()}
    persistent = DataLoader(Probe(6), batch_size=2, num_workers=2, persistent_workers=True)
    first, second = pids(persistent), pids(persistent)
    assert first == second and len(first) == 2 and os.getpid() not in first
    # an epoch broken off early, then a full one: stale batches are not mixed in
    it = iter(persistent)
    next(it)
    assert [b["i"].numpy().tolist() for b in persistent] == [[0, 1], [2, 3], [4, 5]]
    plain = DataLoader(Probe(6), batch_size=2, num_workers=2)
    assert pids(plain).isdisjoint(pids(plain))
    del persistent, it
    gc.collect()
    assert multiprocessing.active_children() == []


class Counted(Dataset):
    def __init__(self, counter):
        self.counter = counter

    def __len__(self):
        return 20

    def __getitem__(self, i):
        with self.counter.get_lock():
            self.counter.value += 1
        return np.float32(i)


@pytest.mark.parametrize("prefetch", [1, 3])
def test_prefetch_factor_bounds_batches_loaded_ahead(prefetch):
    counter = multiprocessing.get_context("fork").Value("i", 0)
    loader = DataLoader(Counted(counter), batch_size=1, num_workers=1,
                        prefetch_factor=prefetch, multiprocessing_context="fork")
    it = iter(loader)
    assert next(it).item() == 0
    deadline = time.monotonic() + 10
    while counter.value < 1 + prefetch and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # time to overshoot, were the bound not kept
    assert counter.value == 1 + prefetch  # the one handed out, and prefetch in flight
    del it


def test_in_order_false_yields_ready_batches_first_and_all_of_them():
    ds = Probe(8, sleep={0: 0.8})
    got = [b["i"].numpy().tolist() for b in DataLoader(ds, batch_size=2, num_workers=2,
                                                         in_order=False)]
    assert sorted(map(tuple, got)) == [(0, 1), (2, 3), (4, 5), (6, 7)]
    assert got[0] != [0, 1]  # worker 0 was slow; worker 1's batch came first
    ordered = [b["i"].numpy().tolist() for b in DataLoader(ds, batch_size=2, num_workers=2)]
    assert ordered == [[0, 1], [2, 3], [4, 5], [6, 7]]


# ---- samplers, unbatched loading, iterable datasets -----------------------------------------

@pytest.mark.parametrize("nw", [0, 2])
def test_sampler_and_batch_sampler_arguments(nw):
    x = ad.tensor(np.arange(10))
    ds = TensorDataset(x)
    got = [b[0].numpy().tolist() for b in DataLoader(ds, batch_size=2, sampler=[9, 1, 4, 4, 0],
                                                      num_workers=nw)]
    assert got == [[9, 1], [4, 4], [0]]
    got = [b[0].numpy().tolist() for b in DataLoader(ds, batch_sampler=[[3], [5, 6, 7], [0, 1]],
                                                      num_workers=nw)]
    assert got == [[3], [5, 6, 7], [0, 1]]
    bs = BatchSampler(SequentialSampler(range(7)), 3, drop_last=True)
    loader = DataLoader(ds, batch_sampler=bs, num_workers=nw)
    assert len(loader) == 2 and [b[0].numpy().tolist() for b in loader] == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("nw", [0, 2])
def test_batch_size_none_passes_samples_through_default_convert(nw):
    loader = DataLoader(Mixed(3), batch_size=None, num_workers=nw)
    assert len(loader) == 3 and loader.batch_sampler is None
    samples = list(loader)
    assert len(samples) == 3
    x, t, i, d = samples[2]  # tuples become lists, as PyTorch's default_convert does
    assert isinstance(samples[2], list)
    assert isinstance(x, ad.Tensor) and x.shape == (2, 3) and x.numpy()[0, 0] == 2
    assert isinstance(t, ad.Tensor) and i == 2
    assert isinstance(d["y"], ad.Tensor) and d["y"].shape == () and d["name"] == "s2"


def test_default_convert_matches_torch(torch):
    from torch.utils.data import default_convert as torch_convert
    Point = collections.namedtuple("Point", "x y")
    for sample in [np.arange(3), np.float64(2.5), 3, "s", (np.zeros(2), 1),
                   {"a": np.ones(2), "b": [np.int64(4), "t"]}, Point(np.zeros(1), 2),
                   np.array(["a", "b"])]:
        ours, theirs = default_convert(sample), torch_convert(sample)

        def shape(v):
            if isinstance(v, (ad.Tensor, torch.Tensor)):
                return ("tensor", tuple(v.shape), np.asarray(v.tolist()).tolist())
            if isinstance(v, dict):
                return {k: shape(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return (type(v).__name__, [shape(x) for x in v])
            if isinstance(v, np.ndarray):
                return ("array", v.tolist())
            return v
        assert shape(ours) == shape(theirs), sample


@pytest.mark.parametrize("nw", [0, 1, 3])
def test_iterable_dataset_sharded_by_worker_info(nw):
    loader = DataLoader(Stream(10), batch_size=3, num_workers=nw)
    got = sorted(int(v) for b in loader for v in b.numpy())
    assert got == list(range(10)) and len(loader) == 4
    if nw == 0:
        assert [b.numpy().tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    dropped = DataLoader(Stream(10), batch_size=3, drop_last=True, num_workers=nw)
    assert all(len(b) == 3 for b in dropped)


def test_iterable_dataset_without_sharding_is_repeated_per_worker():
    loader = DataLoader(Stream(4, shard=False), batch_size=None, num_workers=2)
    got = [int(v) for v in loader]
    assert sorted(got) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert got[:2] == [0, 0]  # in order: worker 0's first, then worker 1's first


# ---- timeouts, errors, dead workers ---------------------------------------------------------

def test_timeout_raises_instead_of_waiting():
    loader = DataLoader(Probe(4, sleep={1: 20}), batch_size=1, num_workers=1, timeout=1.0)
    it = iter(loader)
    next(it)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 1\.0 seconds"):
        next(it)
    assert 1.0 <= time.monotonic() - t0 < 5


def test_worker_exception_is_reraised_with_its_traceback():
    loader = DataLoader(Failing(ValueError("bad sample 3")), batch_size=2, num_workers=2)
    it = iter(loader)
    assert next(it).numpy().tolist() == [0, 1]
    with pytest.raises(ValueError) as info:
        next(it)
    msg = str(info.value)
    assert msg.startswith("Caught ValueError in DataLoader worker process 1.\nOriginal Traceback")
    assert "bad sample 3" in msg and "in __getitem__" in msg and "raise self.exc" in msg
    assert next(it).numpy().tolist() == [4, 5]  # the loader carries on, as PyTorch's
    del it


@pytest.mark.parametrize("exc, cls, text", [
    (KeyError("k"), KeyError, "KeyError: 'k'"),
    (TwoArgError(1, 2), RuntimeError, "TwoArgError: 1/2"),
])
def test_worker_exception_types(exc, cls, text):
    loader = DataLoader(Failing(exc, at=0), batch_size=2, num_workers=1)
    with pytest.raises(cls) as info:
        list(loader)
    assert "Caught" in str(info.value) and text in str(info.value)
    if cls is KeyError:
        assert "\n" in repr(info.value.args[0])  # shown readable, not escaped


def _bad_init(worker_id):
    raise OSError(f"cannot open shard {worker_id}")


def test_worker_init_fn_error_is_reraised():
    with pytest.raises(OSError, match="(?s)Caught OSError.*cannot open shard 0"):
        list(DataLoader(Probe(4), batch_size=2, num_workers=1, worker_init_fn=_bad_init))


def test_killed_worker_raises_instead_of_hanging():
    loader = DataLoader(Suicide(), batch_size=2, num_workers=2)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited "
                                           r"unexpectedly \(worker 0 killed by signal SIGKILL"):
        list(loader)
    assert time.monotonic() - t0 < 10


# ---- cleanup --------------------------------------------------------------------------------

def test_no_worker_outlives_break_exception_or_del():
    ds = big_dataset()  # batches large enough to go through shared memory
    for batch in DataLoader(ds, batch_size=8, num_workers=2, prefetch_factor=4):
        break
    gc.collect()
    assert multiprocessing.active_children() == []

    with pytest.raises(ValueError):
        for batch in DataLoader(Failing(ValueError("x")), batch_size=2, num_workers=2):
            pass
    gc.collect()
    assert multiprocessing.active_children() == []

    it = iter(DataLoader(ds, batch_size=8, num_workers=2))
    next(it)
    assert len(multiprocessing.active_children()) == 2
    del it
    assert multiprocessing.active_children() == []


def test_exhausted_iterator_stops_its_workers_at_once():
    it = iter(DataLoader(big_dataset(16), batch_size=8, num_workers=2))
    assert len(list(it)) == 2
    assert multiprocessing.active_children() == []
    with pytest.raises(StopIteration):
        next(it)


def test_keyboard_interrupt_stops_the_workers():
    it = iter(DataLoader(Probe(4, sleep={1: 10}), batch_size=1, num_workers=1))
    next(it)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            next(it)
    finally:
        timer.cancel()
    assert multiprocessing.active_children() == []


def test_no_shared_memory_left_after_broken_epochs():
    before = _our_segments()
    ds = big_dataset(64)
    loader = DataLoader(ds, batch_size=8, num_workers=2, prefetch_factor=4,
                        persistent_workers=True)
    for _ in range(2):
        it = iter(loader)
        next(it)
        time.sleep(0.2)  # let every worker fill its prefetch slots
    assert len(list(loader)) == 8
    del loader, it
    gc.collect()
    assert _our_segments() == before


# ---- arguments ------------------------------------------------------------------------------

def test_len_pin_memory_and_frozen_attributes():
    loader = DataLoader(Mixed(), batch_size=4, num_workers=2, pin_memory=True,
                        pin_memory_device="cpu")
    assert len(loader) == 3 and loader.prefetch_factor == 2
    assert len(iter(DataLoader(Mixed(), batch_size=4))) == 3
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 3
    loader.num_workers = 0  # not frozen, as PyTorch
    assert len(list(loader)) == 3


def test_too_many_workers_warns():
    with pytest.warns(UserWarning, match="worker processes"):
        DataLoader(Mixed(), num_workers=(os.cpu_count() or 1) * 4 + 1)


def _sampler():
    return SequentialSampler(range(4))


BAD = [
    (dict(num_workers=-1), ValueError, "num_workers"),
    (dict(timeout=-1), ValueError, "timeout"),
    (dict(prefetch_factor=2), ValueError, "prefetch_factor"),
    (dict(num_workers=1, prefetch_factor=-1), ValueError, "prefetch_factor"),
    (dict(persistent_workers=True), ValueError, "persistent_workers"),
    (dict(shuffle=True, sampler="S"), ValueError, "mutually exclusive with shuffle"),
    (dict(batch_sampler="B", batch_size=2), ValueError, "batch_sampler option is mutually"),
    (dict(batch_sampler="B", shuffle=True), ValueError, "batch_sampler option is mutually"),
    (dict(batch_sampler="B", sampler="S"), ValueError, "batch_sampler option is mutually"),
    (dict(batch_sampler="B", drop_last=True), ValueError, "batch_sampler option is mutually"),
    (dict(batch_size=None, drop_last=True), ValueError, "batch_size=None"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(multiprocessing_context="fork"), ValueError, "multiprocessing_context"),
    (dict(num_workers=1, multiprocessing_context="threads"), ValueError, "start method"),
    (dict(num_workers=1, multiprocessing_context=3), TypeError, "multiprocessing_context"),
]


@pytest.mark.parametrize("kwargs, cls, words", BAD, ids=[str(k) for k, _, _ in BAD])
def test_argument_errors_match_torch(kwargs, cls, words, torch):
    ours = {k: (_sampler() if v == "S" else [[0]] if v == "B" else v) for k, v in kwargs.items()}
    with pytest.raises(cls, match=words):
        DataLoader(Mixed(4), **ours)
    theirs = {k: (_sampler() if v == "S" else [[0]] if v == "B" else v)
              for k, v in kwargs.items()}
    with pytest.raises(cls, match=words.split("=")[0]):
        torch.utils.data.DataLoader(list(range(4)), **theirs)


@pytest.mark.parametrize("kwargs, words", [
    (dict(shuffle=True), "expected unspecified shuffle"),
    (dict(sampler=[0]), "expected unspecified sampler"),
    (dict(batch_sampler=[[0]]), "expected unspecified batch_sampler"),
])
def test_iterable_dataset_argument_errors_match_torch(kwargs, words, torch):
    with pytest.raises(ValueError, match=words):
        DataLoader(Stream(3), **kwargs)

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(3))
    with pytest.raises(ValueError, match=words):
        torch.utils.data.DataLoader(TorchStream(), **kwargs)


def test_our_own_argument_errors():
    with pytest.raises(ValueError, match="timeout=1 needs worker processes"):
        DataLoader(Mixed(), timeout=1)
    with pytest.raises(ValueError, match="prefetch_factor.*at least 1"):
        DataLoader(Mixed(), num_workers=1, prefetch_factor=0)
    with pytest.raises(TypeError, match="worker_init_fn must be callable"):
        DataLoader(Mixed(), num_workers=1, worker_init_fn=3)
    with pytest.raises(TypeError, match="in_order must be a bool"):
        DataLoader(Mixed(), in_order="yes")
    with pytest.raises(TypeError, match="must define __getitem__ and __len__"):
        DataLoader(object())
