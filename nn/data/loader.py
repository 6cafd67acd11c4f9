"""DataLoader: batches of a map-style dataset, reshuffled every epoch (torch.utils.data's)."""
import numbers

import numpy as np

from nn.data._random import rng_from
from nn.data.collate import default_collate
from nn.data.dataset import Subset, TensorDataset


def _tensor_source(dataset):
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


class DataLoader:
    """Iterate over a dataset in batches; len() = number of batches; shuffle redraws every epoch.

    Single-process: num_workers, pin_memory and persistent_workers are accepted so PyTorch code
    ports unchanged, but loading always runs in the main process (same batches, same order).
    No sampler; batch_size=None (unbatched) is not supported.
    A TensorDataset (or a Subset of one) without collate_fn takes a fast path: each batch is
    one fancy-index of the underlying tensors, not a per-sample loop.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None,
                 collate_fn=None, *, num_workers=0, pin_memory=False, persistent_workers=False):
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"DataLoader: dataset must define __getitem__ and __len__ "
                            f"(a map-style Dataset), got {type(dataset).__name__}")
        if batch_size is None:
            raise ValueError("DataLoader: batch_size=None (unbatched loading) is not supported; "
                             "pass a positive int, e.g. batch_size=1")
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) \
                or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r} "
                             f"(loading always runs in the main process)")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable or None, "
                            f"got {type(collate_fn).__name__}")
        if generator is not None:
            rng_from(generator)  # fail now, not at the first epoch
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn
        self.num_workers = int(num_workers)
        self.pin_memory = bool(pin_memory)
        self.persistent_workers = bool(persistent_workers)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        # Draw the epoch's order now, so iter() order = generator order, as in PyTorch.
        order = rng_from(self.generator).permutation(n) if self.shuffle else np.arange(n)
        return self._batches(order)

    def _batches(self, order):
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        source = None
        if self.collate_fn is None or self.collate_fn is default_collate:
            source = _tensor_source(self.dataset)
        if source is not None:
            tensors, index_map = source
            if index_map is not None:
                order = index_map[order]
            for start in range(0, stop, self.batch_size):
                idx = order[start:start + self.batch_size]
                yield tuple(t[idx] for t in tensors)
            return
        collate = self.collate_fn or default_collate
        for start in range(0, stop, self.batch_size):
            yield collate([self.dataset[int(i)] for i in order[start:start + self.batch_size]])
