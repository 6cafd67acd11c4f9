"""Lookups by integer ids: embedding, one_hot."""

import numpy as np

import autodiff as ad
from autodiff import Tensor
from nn.functional._util import _const

__all__ = ['embedding', 'one_hot']


def _check_indices(idx, n, op, name, what):
    """idx (a tensor or array of ints) as an int64 array, every value in [0, n)."""
    arr = idx.data if isinstance(idx, Tensor) else np.asarray(idx)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must hold integer {what}, got dtype {arr.dtype}; "
                        f"convert with {name}.long()")
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        bad = arr.min() if arr.min() < 0 else arr.max()
        raise IndexError(f"{op}: {name} contains {what[:-1] if what.endswith('s') else what} "
                         f"{int(bad)}, out of range for {n} (valid: 0 to {n - 1})")
    return arr.astype(np.int64, copy=False)


def embedding(input, weight, padding_idx=None):
    """out[..., :] = weight[input[...]]: rows of weight picked by integer ids (gradients of
    repeated ids accumulate); the padding_idx row is returned as stored but gets no gradient"""
    ids = _check_indices(input, weight.shape[0], "embedding", "input", "indices")
    out = weight[ids]
    if padding_idx is not None:
        keep = (ids != padding_idx % weight.shape[0])[..., None]
        out = ad.where(_const(keep), out, out.detach())
    return out


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape tensor.shape + (num_classes,) with a 1 at each label
    (num_classes=-1: max label + 1)"""
    arr = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be an integer tensor, got dtype {arr.dtype}; "
                        f"convert with labels.long()")
    if num_classes == -1:
        if arr.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass it")
        num_classes = int(arr.max()) + 1
    _check_indices(arr, num_classes, "one_hot", "labels", "labels")
    return _const(arr[..., None] == np.arange(num_classes), np.int64)
