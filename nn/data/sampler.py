"""Samplers, as torch.utils.data: index orders for a DataLoader, and DistributedSampler, whose
shards equal PyTorch's for the same seed and epoch (torch's CPU randperm, emulated in numpy)."""
import itertools
import math
import numbers

from typing import Generic, TypeVar

import numpy as np

import autodiff as ad
from nn.data._random import rng_from

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler"]


_T_co = TypeVar("_T_co", covariant=True)


class Sampler(Generic[_T_co]):
    """Base class: __iter__ yields dataset indices (or lists of them); __len__ is optional.
    Subscriptable like PyTorch's (`class MySampler(Sampler[int])`)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__ (yield indices)")

    # No default __len__: list() and DataLoader fall back to iteration when it is missing.


class SequentialSampler(Sampler):
    """Yields 0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh permutation per iter(); with replacement, num_samples uniform draws."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement must be a bool (True or False), got "
                            f"replacement={replacement!r}")
        n = self.num_samples
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0:
            extra = (" (data_source is empty)" if num_samples is None else "")
            raise ValueError(f"RandomSampler: num_samples must be a positive int, got "
                             f"num_samples={n!r}{extra}")
        if generator is not None:
            rng_from(generator)  # fail now, not at the first epoch

    @property
    def num_samples(self):
        # follows the data source's size unless fixed, as in PyTorch
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, k = len(self.data_source), int(self.num_samples)
        if n == 0:  # torch fails here too: RuntimeError from randint, ZeroDivisionError otherwise
            cls = RuntimeError if self.replacement else ZeroDivisionError
            raise cls(f"RandomSampler: cannot draw num_samples={k} samples from an empty "
                      f"data_source")
        rng = rng_from(self.generator)
        if self.replacement:
            order = rng.integers(0, n, size=k)
        else:
            # whole permutations, then the head of one more, as torch does for k > n
            parts = [rng.permutation(n) for _ in range(k // n)]
            if k % n:
                parts.append(rng.permutation(n)[:k % n])
            order = np.concatenate(parts)
        return iter(order.tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """Yields the given indices in a fresh random order per iter()."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator
        if generator is not None:
            rng_from(generator)

    def __iter__(self):
        order = rng_from(self.generator).permutation(len(self.indices)).tolist()
        return (self.indices[i] for i in order)

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Draws num_samples indices i in [0, len(weights)) with P(i) = weights[i] / sum(weights)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) \
                or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples must be a positive int, got "
                             f"num_samples={num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement must be a bool (True or "
                             f"False), got replacement={replacement!r}")
        w = np.asarray(weights.data if isinstance(weights, ad.Tensor) else weights,
                       dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights must be a 1-d sequence, got "
                             f"shape {tuple(w.shape)}")
        # torch.multinomial's checks, made here (at construction) rather than at the first epoch
        if (w < 0).any() or np.isnan(w).any():
            raise RuntimeError("WeightedRandomSampler: invalid multinomial distribution "
                               "(encountering probability entry < 0); weights must be >= 0")
        if np.isinf(w).any():
            raise RuntimeError("WeightedRandomSampler: invalid multinomial distribution "
                               "(encountering probability entry = infinity or NaN); weights "
                               "must be finite")
        if w.size == 0 or w.sum() <= 0:
            raise RuntimeError(f"WeightedRandomSampler: invalid multinomial distribution (sum of "
                               f"probabilities <= 0): {w.size} weights summing to {w.sum()}; "
                               f"at least one weight must be > 0")
        if not replacement and num_samples > w.size:
            raise RuntimeError(f"WeightedRandomSampler: cannot sample num_samples={num_samples} "
                               f"> len(weights)={w.size} samples without replacement; pass "
                               f"replacement=True or a smaller num_samples")
        if generator is not None:
            rng_from(generator)
        self.weights = ad.tensor(w, dtype=ad.float64)
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        w = np.asarray(self.weights.data, dtype=np.float64)
        rng = rng_from(self.generator)
        if self.replacement:
            order = rng.choice(w.size, size=self.num_samples, p=w / w.sum())
        else:
            # exponential race: sorting w / Exp(1) descending is sequential weighted drawing
            # without replacement; zero weights tie at 0 and come last (index order), as
            # torch.multinomial also draws them last once the positive weights are used up
            with np.errstate(divide="ignore"):
                keys = np.where(w > 0, w / rng.standard_exponential(w.size), 0.0)
            order = np.argsort(-keys, kind="stable")[:self.num_samples]
        return iter(order.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of batch_size (the last one shorter unless
    drop_last)."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size must be a positive int, got "
                             f"batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last must be a bool (True or False), got "
                             f"drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        it, size = iter(self.sampler), self.batch_size
        while True:
            batch = list(itertools.islice(it, size))
            if not batch or (self.drop_last and len(batch) < size):
                return
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# ---- torch's CPU generator and randperm, exactly -------------------------------------------

# torch's randperm_cpu takes `random() % (n - i)` (32-bit draws) below this size and an
# inside-out shuffle with 64-bit draws at or above it.
_RANDPERM_64BIT_FROM = (2**32 - 1) // 20


def _torch_mt19937(seed):
    """numpy MT19937 in the state torch.Generator().manual_seed(seed) leaves its engine in."""
    # torch keeps a uint64 seed and seeds mt19937 with its low 32 bits (init_genrand); set
    # through the public state API rather than numpy's private _legacy_seeding
    key = [int(seed) % 2**64 % 2**32]
    for i in range(1, 624):
        key.append((1812433253 * (key[-1] ^ (key[-1] >> 30)) + i) & 0xFFFFFFFF)
    bits = np.random.MT19937(0)
    bits.state = {"bit_generator": "MT19937",
                  "state": {"key": np.array(key, dtype=np.uint32), "pos": 624}}
    return bits


def _root(parent):
    """parent[k] <= k, roots point to themselves -> each node's root (pointer doubling)."""
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent = grand


def _previous_same(targets):
    """For each step i, the last step k < i with targets[k] == targets[i], else -1."""
    n = targets.size
    steps = np.arange(n, dtype=np.int64)
    if n < 3_000_000_000:  # target * n + step fits int64: one plain sort, ~3x faster than argsort
        keys = targets * n + steps
        keys.sort()
        target, step = np.divmod(keys, n)
    else:
        step = np.argsort(targets, kind="stable")
        target = targets[step]
    prev = np.full(n, -1, dtype=np.int64)
    same = target[1:] == target[:-1]
    prev[step[1:][same]] = step[:-1][same]
    return prev


def _swap_forward(j):
    """Result of `for i: a[i], a[j[i]] = a[j[i]], a[i]` on a = arange(n), with j[i] >= i.

    Position i is final after step i and then holds the value step i found at j[i]: the value
    `carry[k]` that the last earlier step k aimed at j[i] left there, else j[i] itself. carry[k]
    (what stood at position k before step k) follows the same rule, so carries resolve by
    pointer doubling over "last earlier step aimed at me".
    """
    n = j.size
    steps = np.arange(n, dtype=np.int64)
    prev = _previous_same(j)  # last earlier step aimed at the same position
    # last step k < i aimed at position i itself: the latest step with target i, unless that
    # step is i (a self-swap), in which case its predecessor
    last_at = np.full(n, -1, dtype=np.int64)
    last_at[j] = steps  # fancy assignment keeps the last write: the latest step per target
    last_before = np.where(last_at == steps, prev, last_at)
    # carry[k] = carry[last_before[k]] if it exists, else k
    parent = np.where((last_before >= 0) & (last_before < steps), last_before, steps)
    carry = _root(parent)
    return np.where(prev >= 0, carry[np.maximum(prev, 0)], j)


def _inside_out(z):
    """Result of `for i: a[i] = a[z[i]]; a[z[i]] = i` (a uninitialised), with z[i] <= i.

    Position p ends holding the last step i >= p with z[i] == p if there is one, else what step
    p copied from z[p] < p, which resolves the same way at time p - 1 (pointer doubling).
    """
    n = z.size
    steps = np.arange(n, dtype=np.int64)
    prev = _previous_same(z)
    last_at = np.full(n, -1, dtype=np.int64)
    last_at[z] = steps
    # value right after step q: q on a self-target, else the last step < q aimed at z[q] if
    # any, else (recursively) the value right after step z[q]
    value = np.where(z == steps, steps, np.where(prev >= 0, prev, -1))
    parent = np.where(value >= 0, steps, z)
    root = _root(parent)
    after_own = value[root]
    return np.where(last_at >= steps, last_at, after_own)


def _check_seed(seed):
    """torch.Generator.manual_seed's rules: an int in [-2**63, 2**64)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise RuntimeError(f"DistributedSampler: seed + epoch must be an int (torch's "
                           f"manual_seed expects a long), got {type(seed).__name__}")
    if not -2**63 <= seed < 2**64:
        raise ValueError(f"DistributedSampler: seed + epoch = {seed} overflows torch's 64-bit "
                         f"seed; use a value in [-2**63, 2**64)")


def _torch_randperm(n, seed):
    """torch.randperm(n, generator=torch.Generator().manual_seed(seed)) as an int64 ndarray."""
    _check_seed(seed)
    bits = _torch_mt19937(seed)
    if n < _RANDPERM_64BIT_FROM:
        if n < 2:
            return np.arange(n, dtype=np.int64)
        draws = bits.random_raw(n - 1).astype(np.int64)
        j = draws % np.arange(n, 1, -1, dtype=np.int64) + np.arange(n - 1, dtype=np.int64)
        return _swap_forward(np.append(j, n - 1))
    pairs = bits.random_raw(2 * n).reshape(n, 2)  # random64 = first draw << 32 | second
    draws = (pairs[:, 0] << np.uint64(32)) | pairs[:, 1]
    del pairs
    z = (draws % np.arange(1, n + 1, dtype=np.uint64)).astype(np.int64)
    del draws
    return _inside_out(z)


class DistributedSampler(Sampler):
    """This rank's shard: torch's permutation for seed + epoch (or 0..n-1), padded by wrapping
    (or truncated with drop_last) to a multiple of num_replicas, then [rank::num_replicas]."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            world_size, own_rank = _process_group("num_replicas" if num_replicas is None
                                                  else "rank")
            num_replicas = world_size if num_replicas is None else num_replicas
            rank = own_rank if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"DistributedSampler: invalid rank {rank}; need 0 <= rank < "
                             f"num_replicas = {num_replicas}")
        if shuffle:
            _check_seed(seed)
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        n = len(self.dataset)
        order = (_torch_randperm(n, self.seed + self.epoch) if self.shuffle
                 else np.arange(n, dtype=np.int64))
        if self.drop_last:
            order = order[:self.total_size]
        else:
            # torch pads with the head of the order, wrapping around as often as needed:
            # a cyclic extension, which np.resize is
            order = np.resize(order, self.total_size)
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Reshuffle for this epoch (seed + epoch); call before iterating each epoch."""
        self.epoch = epoch


def _process_group(arg):
    """(world size, rank) of autodiff.distributed's default group; RuntimeError without one."""
    try:
        import autodiff.distributed as dist
    except ImportError as e:
        raise RuntimeError(f"DistributedSampler: Requires distributed package to be available "
                           f"to infer {arg}; pass num_replicas and rank, or install "
                           f"'autodiff[distributed]' ({e})") from e
    if not dist.is_available():
        raise RuntimeError(f"DistributedSampler: Requires distributed package to be available "
                           f"to infer {arg}; pass num_replicas and rank, or "
                           f"pip install 'autodiff[distributed]'")
    return dist.get_world_size(), dist.get_rank()
