"""Samplers without torch: the sampler contract, statistics, errors, and DistributedSampler's
exact torch partitions (pinned values; the live cross-checks are in test_torch_sampler.py)."""
import sys
import types
from collections import Counter

import numpy as np
import pytest

import autodiff as ad
from nn.data.sampler import (BatchSampler, DistributedSampler, RandomSampler, Sampler,
                             SequentialSampler, SubsetRandomSampler, WeightedRandomSampler)
from nn.data import sampler as S


def gen(seed):
    return ad.Generator().manual_seed(seed)


# ---- the contract --------------------------------------------------------------------------

def test_sampler_base_contract():
    class Reverse(Sampler[int]):  # subscriptable like torch's Sampler[int]
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n - 1, -1, -1))

    s = Reverse(4)
    assert list(s) == [3, 2, 1, 0]
    with pytest.raises(TypeError):
        len(s)  # no default __len__
    assert list(BatchSampler(s, 3, False)) == [[3, 2, 1], [0]]
    with pytest.raises(NotImplementedError, match="must define __iter__"):
        iter(Sampler())


@pytest.mark.parametrize("make", [
    lambda ds: SequentialSampler(ds),
    lambda ds: RandomSampler(ds, generator=gen(0)),
    lambda ds: SubsetRandomSampler(list(range(len(ds))), generator=gen(0)),
    lambda ds: DistributedSampler(ds, num_replicas=1, rank=0),
], ids=["sequential", "random", "subset", "distributed"])
def test_every_index_once_per_epoch_as_python_ints(make):
    ds = list("abcdefg")
    s = make(ds)
    assert len(s) == 7
    for _ in range(2):
        got = list(s)
        assert sorted(got) == list(range(7))
        assert all(type(i) is int for i in got)


def test_sequential_sampler_follows_data_size():
    ds = [1, 2, 3]
    s = SequentialSampler(ds)
    assert list(s) == [0, 1, 2] and len(s) == 3
    ds.append(4)
    assert list(s) == [0, 1, 2, 3] and len(s) == 4
    assert list(SequentialSampler([])) == []


# ---- RandomSampler -------------------------------------------------------------------------

def test_random_sampler_new_permutation_each_epoch_and_reproducible():
    s = RandomSampler(range(20), generator=gen(3))
    a, b = list(s), list(s)
    assert sorted(a) == sorted(b) == list(range(20)) and a != b
    assert list(RandomSampler(range(20), generator=gen(3))) == a
    # the default generator is autodiff's, so ad.manual_seed makes it reproducible
    ad.manual_seed(11)
    c = list(RandomSampler(range(20)))
    ad.manual_seed(11)
    assert list(RandomSampler(range(20))) == c
    # a numpy Generator works too
    assert sorted(RandomSampler(range(5), generator=np.random.default_rng(0))) == list(range(5))


def test_random_sampler_num_samples_without_replacement():
    s = RandomSampler(range(5), num_samples=13, generator=gen(0))
    got = list(s)
    assert len(s) == 13 and len(got) == 13
    # two whole permutations, then the head of a third
    assert sorted(got[:5]) == sorted(got[5:10]) == list(range(5))
    assert len(set(got[10:])) == 3
    short = list(RandomSampler(range(10), num_samples=4, generator=gen(0)))
    assert len(short) == 4 and len(set(short)) == 4


def test_random_sampler_replacement_statistics():
    n, k = 4, 8000
    s = RandomSampler(range(n), replacement=True, num_samples=k, generator=gen(1))
    got = list(s)
    assert len(s) == k and len(got) == k
    counts = np.bincount(got, minlength=n)
    assert counts.sum() == k and counts.min() > 0
    # chi-square with 3 degrees of freedom: P(> 16.3) = 0.001
    chi2 = ((counts - k / n) ** 2 / (k / n)).sum()
    assert chi2 < 16.3, counts
    # with replacement, repeats do happen within n draws
    draws = list(RandomSampler(range(50), replacement=True, generator=gen(2)))
    assert len(draws) == 50 and len(set(draws)) < 50


def test_random_sampler_errors():
    with pytest.raises(TypeError, match="replacement must be a bool.*replacement=1"):
        RandomSampler(range(3), replacement=1)
    for bad in [0, -2, 2.0]:
        with pytest.raises(ValueError, match=f"num_samples must be a positive int, got "
                                             f"num_samples={bad!r}"):
            RandomSampler(range(3), num_samples=bad)
    with pytest.raises(ValueError, match="num_samples=0 .data_source is empty"):
        RandomSampler([])
    with pytest.raises(TypeError, match="generator must be an ad.Generator"):
        RandomSampler(range(3), generator=5)
    # a data source that empties after construction fails as torch does, by class
    ds = [1]
    s, r = RandomSampler(ds, num_samples=2), RandomSampler(ds, True, num_samples=2)
    ds.clear()
    with pytest.raises(ZeroDivisionError, match="empty data_source"):
        list(s)
    with pytest.raises(RuntimeError, match="empty data_source"):
        list(r)


# ---- SubsetRandomSampler -------------------------------------------------------------------

def test_subset_random_sampler():
    idx = [10, 3, 7, 42]
    s = SubsetRandomSampler(idx, generator=gen(5))
    a, b = list(s), list(s)
    assert sorted(a) == sorted(b) == sorted(idx) and len(s) == 4
    assert list(SubsetRandomSampler(idx, generator=gen(5))) == a
    assert list(SubsetRandomSampler([])) == []
    orders = {tuple(SubsetRandomSampler(idx, generator=gen(i))) for i in range(30)}
    assert len(orders) > 10


# ---- WeightedRandomSampler -----------------------------------------------------------------

def test_weighted_sampler_proportions_with_replacement():
    w = [0.0, 1.0, 3.0, 6.0]
    k = 10000
    s = WeightedRandomSampler(w, k, generator=gen(0))
    got = list(s)
    assert len(s) == k and len(got) == k and all(type(i) is int for i in got)
    freq = np.bincount(got, minlength=4) / k
    assert freq[0] == 0
    # 4 standard errors at most (sd of a frequency <= 0.005 here)
    np.testing.assert_allclose(freq, np.array(w) / 10, atol=0.02)
    assert s.weights.dtype == np.float64 and s.weights.shape == (4,)
    # an autodiff tensor (float32) and an ndarray are accepted as weights
    assert len(list(WeightedRandomSampler(ad.tensor([1.0, 2.0]), 3))) == 3
    assert len(list(WeightedRandomSampler(np.array([1, 2]), 3))) == 3


def test_weighted_sampler_without_replacement():
    w = [1.0, 2.0, 0.0, 7.0]
    firsts = Counter()
    for seed in range(600):
        got = list(WeightedRandomSampler(w, 4, replacement=False, generator=gen(seed)))
        assert sorted(got) == [0, 1, 2, 3]
        assert got[-1] == 2  # the zero weight is only drawn once the others are used up
        firsts[got[0]] += 1
    # P(first = i) = w_i / sum(w); sd of each frequency <= 0.021 over 600 draws
    freq = np.array([firsts[i] for i in range(4)]) / 600
    np.testing.assert_allclose(freq, np.array(w) / 10, atol=0.07)
    got = list(WeightedRandomSampler(w, 2, replacement=False, generator=gen(1)))
    assert len(got) == 2 and len(set(got)) == 2 and 2 not in got


def test_weighted_sampler_errors():
    cases = [
        (dict(weights=[1, 2], num_samples=0), ValueError, "num_samples must be a positive int"),
        (dict(weights=[1, 2], num_samples=True), ValueError, "num_samples=True"),
        (dict(weights=[1, 2], num_samples=2, replacement=0), ValueError,
         "replacement must be a bool"),
        (dict(weights=[[1, 2]], num_samples=2), ValueError, r"1-d sequence, got shape \(1, 2\)"),
        (dict(weights=[1, -1], num_samples=2), RuntimeError, "entry < 0"),
        (dict(weights=[1, float("nan")], num_samples=2), RuntimeError, "entry < 0"),
        (dict(weights=[1, float("inf")], num_samples=2), RuntimeError, "infinity or NaN"),
        (dict(weights=[0, 0], num_samples=2), RuntimeError, "sum of probabilities <= 0"),
        (dict(weights=[], num_samples=2), RuntimeError, "sum of probabilities <= 0"),
        (dict(weights=[1, 2], num_samples=3, replacement=False), RuntimeError,
         "num_samples=3 > len.weights.=2 samples without replacement"),
    ]
    for kwargs, cls, msg in cases:
        with pytest.raises(cls, match=msg):
            WeightedRandomSampler(**kwargs)


# ---- BatchSampler --------------------------------------------------------------------------

@pytest.mark.parametrize("n,bs", [(10, 3), (9, 3), (2, 5), (0, 2)])
def test_batch_sampler_batches_and_len(n, bs):
    for drop_last in (False, True):
        b = BatchSampler(SequentialSampler(range(n)), bs, drop_last)
        got = list(b)
        flat = list(range(n))
        want = [flat[i:i + bs] for i in range(0, n, bs)]
        if drop_last:
            want = [w for w in want if len(w) == bs]
        assert got == want and len(b) == len(want)
        assert all(type(batch) is list for batch in got)


def test_batch_sampler_over_plain_iterables_and_random_sampler():
    assert list(BatchSampler(range(5), 2, False)) == [[0, 1], [2, 3], [4]]
    it = BatchSampler(iter(range(5)), 2, True)  # no len() needed to iterate
    assert list(it) == [[0, 1], [2, 3]]
    with pytest.raises(TypeError):
        len(BatchSampler(iter(range(5)), 2, True))
    b = BatchSampler(RandomSampler(range(7), generator=gen(0)), 3, False)
    batches = list(b)
    assert [len(x) for x in batches] == [3, 3, 1]
    assert sorted(sum(batches, [])) == list(range(7))


def test_batch_sampler_errors():
    for bad in [0, -1, 2.5, True]:
        with pytest.raises(ValueError, match=f"batch_size must be a positive int, got "
                                             f"batch_size={bad!r}"):
            BatchSampler(range(3), bad, False)
    with pytest.raises(ValueError, match="drop_last must be a bool.*drop_last=0"):
        BatchSampler(range(3), 2, 0)


# ---- torch's randperm, emulated ------------------------------------------------------------

def _swap_loop(n, draws):
    a = list(range(n))
    for i in range(n - 1):
        z = int(draws[i]) % (n - i) + i
        a[i], a[z] = a[z], a[i]
    return a


def _inside_out_loop(z):
    a = [0] * len(z)
    for i, zi in enumerate(z):
        a[i] = a[zi]
        a[zi] = i
    return a


def test_vectorised_shuffles_equal_their_loops():
    rng = np.random.default_rng(0)
    for n in [1, 2, 3, 5, 8, 31, 200]:
        for _ in range(20):
            draws = rng.integers(0, 2**32, n)
            j = np.append(draws[:-1] % np.arange(n, 1, -1) + np.arange(n - 1), n - 1)
            assert S._swap_forward(j.astype(np.int64)).tolist() == _swap_loop(n, draws)
            z = (rng.integers(0, 2**62, n) % np.arange(1, n + 1)).astype(np.int64)
            assert S._inside_out(z).tolist() == _inside_out_loop(z.tolist())


def test_randperm_pinned_torch_values():
    # torch.randperm(12, generator=torch.Generator().manual_seed(seed)).tolist(), torch 2.13
    assert S._torch_randperm(12, 0).tolist() == [8, 0, 5, 9, 7, 4, 2, 10, 3, 1, 11, 6]
    assert S._torch_randperm(12, 2**32 + 3).tolist() == [10, 9, 1, 6, 4, 11, 3, 7, 2, 0, 8, 5]
    assert S._torch_randperm(0, 0).tolist() == [] and S._torch_randperm(1, 9).tolist() == [0]
    big = S._torch_randperm(60000, 4)
    assert np.array_equal(np.sort(big), np.arange(60000))


def test_distributed_sampler_pinned_torch_partitions():
    # list(torch.utils.data.DistributedSampler(range(10), 3, rank, seed=5, ...)), torch 2.13
    assert list(DistributedSampler(range(10), 3, 1, seed=5)) == [4, 3, 2, 1]
    assert list(DistributedSampler(range(10), 3, 2, seed=5, drop_last=True)) == [9, 5, 8]
    s = DistributedSampler(range(10), 3, 0, seed=5)
    s.set_epoch(2)
    assert s.epoch == 2 and list(s) == [5, 4, 9, 2]


# ---- DistributedSampler --------------------------------------------------------------------

@pytest.mark.parametrize("n,replicas", [(10, 3), (12, 4), (2, 5), (0, 2)])
def test_distributed_sampler_partition(n, replicas):
    for drop_last in (False, True):
        shards = [list(DistributedSampler(range(n), replicas, r, seed=1, drop_last=drop_last))
                  for r in range(replicas)]
        sizes = {len(x) for x in shards}
        assert len(sizes) == 1  # every rank gets as many samples
        size = sizes.pop()
        assert all(len(DistributedSampler(range(n), replicas, r, drop_last=drop_last)) == size
                   for r in range(replicas))
        flat = sum(shards, [])
        if drop_last:
            assert size == n // replicas and len(set(flat)) == len(flat)
        else:
            assert size == -(-n // replicas) and set(flat) == set(range(n))


def test_distributed_sampler_epochs_and_shuffle_off():
    s = DistributedSampler(range(20), 2, 1, seed=3)
    e0 = list(s)
    assert list(s) == e0  # same epoch, same order
    s.set_epoch(1)
    e1 = list(s)
    assert e1 != e0
    other = DistributedSampler(range(20), 2, 1, seed=2)
    other.set_epoch(2)
    assert list(other) == e1  # the stream depends on seed + epoch only
    assert list(DistributedSampler(range(7), 3, 1, shuffle=False)) == [1, 4, 0]
    assert list(DistributedSampler(range(7), 3, 2, shuffle=False, drop_last=True)) == [2, 5]


def test_distributed_sampler_errors():
    for rank, replicas in [(2, 2), (-1, 2), (0, 0)]:
        with pytest.raises(ValueError, match=f"invalid rank {rank}; need 0 <= rank < "
                                             f"num_replicas = {replicas}"):
            DistributedSampler(range(4), num_replicas=replicas, rank=rank)
    with pytest.raises(RuntimeError, match="seed \\+ epoch must be an int.*float"):
        DistributedSampler(range(4), 2, 0, seed=1.5)
    DistributedSampler(range(4), 2, 0, shuffle=False, seed=1.5)  # unused seed: fine
    s = DistributedSampler(range(4), 2, 0, seed=2**64 - 1)
    assert sorted(list(s) + list(DistributedSampler(range(4), 2, 1, seed=2**64 - 1))) == \
        [0, 1, 2, 3]
    s.set_epoch(1)
    with pytest.raises(ValueError, match="overflows torch's 64-bit seed"):
        list(s)


def _fake_dist(monkeypatch, available=True, world_size=4, rank=3, initialised=True):
    def need_init():
        if not initialised:
            raise ValueError("Default process group has not been initialized, please make "
                             "sure to call init_process_group.")

    fake = types.ModuleType("autodiff.distributed")
    fake.is_available = lambda: available
    fake.get_world_size = lambda: need_init() or world_size
    fake.get_rank = lambda: need_init() or rank
    monkeypatch.setitem(sys.modules, "autodiff.distributed", fake)
    monkeypatch.setattr(ad, "distributed", fake, raising=False)


def test_distributed_sampler_defaults_from_process_group(monkeypatch):
    _fake_dist(monkeypatch, world_size=4, rank=3)
    s = DistributedSampler(range(10), seed=5)
    assert (s.num_replicas, s.rank, len(s)) == (4, 3, 3)
    assert DistributedSampler(range(10), rank=1).rank == 1
    assert DistributedSampler(range(10), num_replicas=8).num_replicas == 8
    with pytest.raises(ValueError, match="invalid rank 3; need 0 <= rank < num_replicas = 2"):
        DistributedSampler(range(10), num_replicas=2)


def test_distributed_sampler_defaults_without_process_group(monkeypatch):
    _fake_dist(monkeypatch, initialised=False)
    with pytest.raises(ValueError, match="has not been initialized"):
        DistributedSampler(range(10))
    _fake_dist(monkeypatch, available=False)
    with pytest.raises(RuntimeError, match="Requires distributed package to be available to "
                                           "infer num_replicas.*autodiff\\[distributed\\]"):
        DistributedSampler(range(10))
    with pytest.raises(RuntimeError, match="to infer rank"):
        DistributedSampler(range(10), num_replicas=2)


def test_distributed_sampler_with_the_real_package_uninitialised():
    dist = pytest.importorskip("autodiff.distributed")
    if not dist.is_available():
        with pytest.raises(RuntimeError, match="Requires distributed package to be available"):
            DistributedSampler(range(10))
    elif dist.is_initialized():  # another test left a group: the defaults come from it
        s = DistributedSampler(range(10))
        assert (s.num_replicas, s.rank) == (dist.get_world_size(), dist.get_rank())
    else:
        with pytest.raises(ValueError, match="has not been initialized"):
            DistributedSampler(range(10))


_RANKS_SCRIPT = """
import json, os, sys
import autodiff.distributed as dist
from nn.data.sampler import DistributedSampler
dist.init_process_group("mpi")
s = DistributedSampler(range(11), seed=3)
s.set_epoch(2)
result = {"rank": dist.get_rank(), "size": dist.get_world_size(), "shard": list(s)}
with open(os.path.join(os.environ["SAMPLER_OUT"], f"rank{dist.get_rank()}.json"), "w") as f:
    json.dump(result, f)  # a file per rank: ranks' stdout lines can interleave
dist.destroy_process_group()
"""


def test_distributed_sampler_defaults_under_mpiexec(tmp_path):
    import importlib.util
    import json
    import os
    import signal
    import subprocess
    from pathlib import Path

    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed: pip install 'autodiff[distributed]'")
    mpiexec = Path(sys.executable).parent / "mpiexec"
    if not mpiexec.exists():
        pytest.skip("mpiexec is not available: pip install 'autodiff[distributed]'")
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", SAMPLER_OUT=str(tmp_path))
    cmd = [str(mpiexec), "-n", "2", sys.executable, "-m", "mpi4py", "-c", _RANKS_SCRIPT]
    proc = subprocess.Popen(cmd, cwd=str(root), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)
    except BaseException:  # timeout or interrupt: kill mpiexec and both ranks
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, err[-3000:]
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["size"] for r in results] == [2, 2]
    for r in results:
        explicit = DistributedSampler(range(11), num_replicas=2, rank=r["rank"], seed=3)
        explicit.set_epoch(2)
        assert r["shard"] == list(explicit)
