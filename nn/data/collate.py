"""default_collate: merge a list of samples into one batch of stacked Tensors."""
import collections.abc
import numbers

import numpy as np

import autodiff as ad


def _stack_tensors(batch):
    """Stack same-shape Tensors along a new dim 0; name the first shape mismatch."""
    first = tuple(batch[0].shape)
    for i, t in enumerate(batch):
        if tuple(t.shape) != first:
            raise ValueError(f"default_collate: sample 0 has shape {first} but sample {i} has "
                             f"{tuple(t.shape)}; pad them or pass a collate_fn to the DataLoader")
    return ad.stack(list(batch), dim=0)


def _stack_arrays(batch):
    """Stack same-shape numpy arrays into one Tensor (dtype kept)."""
    first = np.shape(batch[0])
    for i, a in enumerate(batch):
        if np.shape(a) != first:
            raise ValueError(f"default_collate: sample 0 has shape {first} but sample {i} has "
                             f"{np.shape(a)}; pad them or pass a collate_fn to the DataLoader")
    return ad.from_numpy(np.stack(batch))


def default_collate(batch):
    """Tensors/arrays -> stacked Tensor; numbers -> 1-D Tensor; tuples, lists, dicts -> per field.

    Python floats become the default dtype (float32), unlike PyTorch's float64; Python ints give
    int64, bools give bool. Tuples, lists and namedtuples come back as tuples (namedtuples keep
    their type); dicts as dicts with the same keys; strings as a list.
    """
    elem = batch[0]
    if isinstance(elem, ad.Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        return _stack_arrays(batch)
    if isinstance(elem, np.generic):
        return ad.from_numpy(np.array(batch))
    if isinstance(elem, bool):
        return ad.tensor(np.array(batch, dtype=bool))
    if isinstance(elem, numbers.Integral):
        return ad.tensor(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return ad.tensor(np.array(batch, dtype=ad.get_default_dtype()))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        keys = set(elem)
        for i, d in enumerate(batch):
            if set(d) != keys:
                raise ValueError(f"default_collate: sample 0 has keys {sorted(map(str, keys))} "
                                 f"but sample {i} has {sorted(map(str, d))}")
        out = {k: default_collate([d[k] for d in batch]) for k in elem}
        if type(elem) is dict:
            return out
        try:  # keep OrderedDict and friends; fall back to dict for exotic mappings
            return type(elem)(out)
        except TypeError:
            return out
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        for i, s in enumerate(batch):
            if len(s) != size:
                raise ValueError(f"default_collate: sample 0 has {size} fields but sample {i} "
                                 f"has {len(s)}; every sample must have the same structure")
        fields = [default_collate(list(column)) for column in zip(*batch)]
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
            return type(elem)(*fields)
        return tuple(fields)
    raise TypeError(f"default_collate: cannot batch samples of type {type(elem).__name__}; "
                    f"return Tensors, numpy arrays, numbers, or tuples/lists/dicts of them from "
                    f"__getitem__, or pass collate_fn= to the DataLoader")
