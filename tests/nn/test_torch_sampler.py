"""Samplers against torch.utils.data: DistributedSampler's partitions and torch.randperm exactly;
deterministic samplers and error classes as torch's."""
import itertools

import numpy as np
import pytest

from _torch import require_torch
from nn.data import sampler as S
from nn.data.sampler import (BatchSampler, DistributedSampler, RandomSampler, SequentialSampler,
                             WeightedRandomSampler)

torch = require_torch()
tdata = torch.utils.data

SEEDS = [0, 1, 12345, 2**31 - 1, 2**32 - 1, 2**32, 2**32 + 7, 2**40 + 3, 2**63 - 1, 2**64 - 1,
         -1, -2**63]


def torch_perm(n, seed):
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 1000, 65537])
def test_randperm_equals_torch(n):
    for seed in SEEDS:
        assert S._torch_randperm(n, seed).tolist() == torch_perm(n, seed), (n, seed)


def test_distributed_sampler_equals_torch_grid():
    checked = 0
    for n, replicas in itertools.product([0, 1, 3, 7, 10, 16], [1, 2, 3, 4, 8]):
        for shuffle, drop_last, seed, epoch in itertools.product(
                (True, False), (False, True), (0, 5, 2**40 + 1), (0, 3)):
            for rank in range(replicas):
                kw = dict(num_replicas=replicas, rank=rank, shuffle=shuffle, seed=seed,
                          drop_last=drop_last)
                ours, theirs = DistributedSampler(range(n), **kw), tdata.DistributedSampler(
                    range(n), **kw)
                ours.set_epoch(epoch)
                theirs.set_epoch(epoch)
                assert list(ours) == list(theirs), (n, kw, epoch)
                assert len(ours) == len(theirs)
                assert (ours.num_samples, ours.total_size) == (theirs.num_samples,
                                                                theirs.total_size)
                checked += 1
    assert checked == 6 * (1 + 2 + 3 + 4 + 8) * 24


def test_distributed_sampler_equals_torch_60000():
    for rank in range(3):
        for epoch in (0, 7):
            ours = DistributedSampler(range(60000), 3, rank, seed=123, drop_last=rank == 1)
            theirs = tdata.DistributedSampler(range(60000), 3, rank, seed=123,
                                              drop_last=rank == 1)
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs)


def test_distributed_sampler_errors_as_torch():
    for kw in [dict(num_replicas=2, rank=2), dict(num_replicas=2, rank=-1),
               dict(num_replicas=0, rank=0)]:
        with pytest.raises(ValueError):
            tdata.DistributedSampler(range(4), **kw)
        with pytest.raises(ValueError, match="invalid rank"):
            DistributedSampler(range(4), **kw)
    # an out-of-range seed fails when the epoch's permutation is drawn, in both
    for seed in (2**64, -2**63 - 1):
        with pytest.raises(ValueError):
            list(tdata.DistributedSampler(range(4), 2, 0, seed=seed))
        with pytest.raises(ValueError, match="overflows"):
            list(DistributedSampler(range(4), 2, 0, seed=seed))
    # a float seed: RuntimeError in both (ours already at construction)
    with pytest.raises(RuntimeError):
        list(tdata.DistributedSampler(range(4), 2, 0, seed=1.5))
    with pytest.raises(RuntimeError):
        DistributedSampler(range(4), 2, 0, seed=1.5)


@pytest.mark.parametrize("n,bs", [(10, 3), (9, 3), (2, 5), (0, 4)])
def test_batch_and_sequential_samplers_equal_torch(n, bs):
    assert list(SequentialSampler(range(n))) == list(tdata.SequentialSampler(range(n)))
    for drop_last in (False, True):
        ours = BatchSampler(SequentialSampler(range(n)), bs, drop_last)
        theirs = tdata.BatchSampler(tdata.SequentialSampler(range(n)), bs, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_random_sampler_shapes_as_torch():
    for kw in [dict(), dict(num_samples=3), dict(num_samples=12),
               dict(replacement=True), dict(replacement=True, num_samples=40)]:
        ours, theirs = list(RandomSampler(range(5), **kw)), list(tdata.RandomSampler(range(5),
                                                                                     **kw))
        assert len(ours) == len(theirs)
        assert len(RandomSampler(range(5), **kw)) == len(tdata.RandomSampler(range(5), **kw))
        if not kw.get("replacement"):  # whole permutations, then a head of distinct indices
            for k in range(0, len(ours), 5):
                assert len(set(ours[k:k + 5])) == len(set(theirs[k:k + 5])) == \
                    len(ours[k:k + 5])


def test_constructor_error_classes_as_torch():
    cases = [
        (lambda m: m.RandomSampler(range(3), replacement=1)),
        (lambda m: m.RandomSampler(range(3), num_samples=0)),
        (lambda m: m.RandomSampler(range(0))),
        (lambda m: m.WeightedRandomSampler([1, 2], 0)),
        (lambda m: m.WeightedRandomSampler([1, 2], 2, replacement=0)),
        (lambda m: m.WeightedRandomSampler([[1, 2]], 2)),
        (lambda m: m.BatchSampler(range(3), 0, False)),
        (lambda m: m.BatchSampler(range(3), 2, 0)),
    ]
    for make in cases:
        with pytest.raises(Exception) as theirs:
            make(tdata)
        with pytest.raises(type(theirs.value)):
            make(S)


def test_weighted_sampler_errors_as_torch():
    # torch raises these when iterating (torch.multinomial); ours at construction, same class
    for weights, k, replacement in [([1, -1], 2, True), ([0, 0], 2, True), ([1, 2], 3, False),
                                    ([1, float("nan")], 2, True), ([1, float("inf")], 2, True),
                                    ([], 2, True)]:
        with pytest.raises(RuntimeError):
            list(tdata.WeightedRandomSampler(weights, k, replacement))
        with pytest.raises(RuntimeError):
            WeightedRandomSampler(weights, k, replacement)
    # not enough positive weights without replacement: both fall back to the zero weights
    assert sorted(WeightedRandomSampler([1, 0, 0], 3, replacement=False)) == \
        sorted(tdata.WeightedRandomSampler([1, 0, 0], 3, replacement=False)) == [0, 1, 2]
    assert np.asarray(WeightedRandomSampler([1, 2], 2).weights.data).dtype == \
        np.float64 == tdata.WeightedRandomSampler([1, 2], 2).weights.numpy().dtype
