"""Version counters, kept per storage: every in-place change through a tensor counts.

PyTorch gives each tensor a version counter that its views and detach() share; an op that
saves a tensor for backward checks at backward that the version is still the one it saw.
Here numpy already knows which arrays share memory (`arr.base`), so the counter belongs to the
storage, the ndarray that owns the memory: every alias made by a view op, detach(), or
from_numpy of the same array shares it, with no bookkeeping when the alias is made.

Only in-place changes made through tensors count (`add_`, `x[i] = v`, `x += y`, ...); writes
to the raw array `t.data` bypass it, as writes through PyTorch's `.data` do.

The engine asks one question, cheaply: was this array's storage changed after creation
number `seq` (see function.stamp_mutation)? It asks only about ops recorded before the latest
in-place change anywhere, so a program without in-place changes never pays for it.
"""
import weakref
from collections import deque

import numpy as np


def storage_of(arr):
    """The ndarray that owns arr's memory (arr itself when it owns it)."""
    base = arr.base
    while base is not None:
        if not isinstance(base, np.ndarray):
            base = getattr(base, "base", None)  # (as_strided wraps its source in a helper)
            if not isinstance(base, np.ndarray):
                return arr
        arr, base = base, base.base
    return arr


class _Record:
    """One storage's count of in-place changes and the creation numbers of the latest ones."""

    __slots__ = ("ref", "count", "stamps")

    def __init__(self, ref):
        self.ref, self.count, self.stamps = ref, 0, deque(maxlen=32)


_records = {}  # id(storage) -> _Record; an entry goes when its storage is freed


def _forget(ref, key):
    record = _records.get(key)
    if record is not None and record.ref is ref:
        del _records[key]


def record(arr):
    """arr's storage's record (made on first use)."""
    storage = storage_of(arr)
    key = id(storage)
    found = _records.get(key)
    if found is None or found.ref() is not storage:
        ref = weakref.ref(storage, lambda r, key=key: _forget(r, key))
        found = _records[key] = _Record(ref)
    return found


def version(arr):
    """How many in-place changes arr's storage has had (PyTorch's t._version)."""
    storage = storage_of(arr)
    record = _records.get(id(storage))
    return 0 if record is None or record.ref() is not storage else record.count


def changes_since(arr, seq):
    """How many in-place changes arr's storage has had after creation number seq (a lower
    bound of 32 when more happened than are remembered)."""
    storage = storage_of(arr)
    record = _records.get(id(storage))
    if record is None or record.ref() is not storage or not record.stamps \
            or record.stamps[-1] <= seq:
        return 0
    return sum(1 for s in record.stamps if s > seq)
