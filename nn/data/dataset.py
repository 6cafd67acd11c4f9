"""Map-style datasets: Dataset, TensorDataset, Subset and random_split (torch.utils.data's)."""
import math
import numbers
import warnings

import numpy as np

import autodiff as ad
from nn.data._random import rng_from


class Dataset:
    """Abstract map-style dataset: subclasses define __getitem__(index) and __len__()."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(self, index)")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__(self)")


class TensorDataset(Dataset):
    """Sample i is tuple(t[i] for t in tensors); all tensors share their first dimension."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor, got none")
        converted = []
        for i, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = ad.from_numpy(t)
            if not isinstance(t, ad.Tensor):
                raise TypeError(f"TensorDataset: argument {i} must be a Tensor or numpy array, "
                                f"got {type(t).__name__}")
            if len(t.shape) == 0:
                raise ValueError(f"TensorDataset: tensor {i} is 0-d; every tensor needs a first "
                                 f"(sample) dimension - reshape it to (1,) or stack samples first")
            converted.append(t)
        sizes = [t.shape[0] for t in converted]
        if any(s != sizes[0] for s in sizes):
            raise ValueError(f"TensorDataset: all tensors must have the same size in dim 0, got "
                             f"sizes {sizes} (shapes {[tuple(t.shape) for t in converted]})")
        self.tensors = tuple(converted)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The view dataset[indices[i]] of a dataset at the given indices."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


def _split_lengths(lengths, n):
    """Integer lengths summing to n, from ints or from fractions summing to 1
    (remainder round-robin)."""
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty; give ints summing to len(dataset) "
                         "or fractions summing to 1, e.g. [0.8, 0.2]")
    for x in lengths:
        if isinstance(x, bool) or not isinstance(x, numbers.Real) or x < 0:
            raise ValueError(f"random_split: lengths must be non-negative ints or fractions, "
                             f"got {lengths}")
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:  # fractions, as PyTorch decides it
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for f, c in zip(lengths, counts):
            if c == 0:
                warnings.warn(f"random_split: fraction {f} of {n} samples gives an empty subset",
                              stacklevel=3)
        return counts
    if not all(float(x).is_integer() for x in lengths):
        raise ValueError(f"random_split: fractions must sum to 1, got {lengths} (sum {total}); "
                         f"use e.g. [0.8, 0.2], or ints summing to len(dataset)={n}")
    counts = [int(x) for x in lengths]
    if sum(counts) != n:
        raise ValueError(f"random_split: lengths {lengths} sum to {sum(counts)} but the dataset "
                         f"has {n} samples; make them sum to {n} or pass fractions summing to 1")
    return counts


def random_split(dataset, lengths, generator=None):
    """Split into disjoint random Subsets of the given lengths (ints, or fractions summing to 1)."""
    n = len(dataset)
    counts = _split_lengths(lengths, n)
    perm = rng_from(generator).permutation(n).tolist()
    subsets, start = [], 0
    for c in counts:
        subsets.append(Subset(dataset, perm[start:start + c]))
        start += c
    return subsets
