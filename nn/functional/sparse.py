"""Lookups by integer ids: embedding, embedding_bag, one_hot.

Gradients are dense (weight's shape); sparse=True, which asks PyTorch for a sparse gradient,
raises instead of silently producing a dense one."""

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.compiler import replayed
from nn.functional._util import _const, _tensor

__all__ = ['embedding', 'embedding_bag', 'one_hot']


def _index_array(idx, op, name):
    """idx (a tensor or array of ints) as an int64 array."""
    arr = idx.data if isinstance(idx, Tensor) else np.asarray(idx)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must hold integer indices (int64 or int32), got dtype "
                        f"{arr.dtype}; convert with {name}.long()")
    return arr.astype(np.int64, copy=False)


@replayed
def _check_indices(idx, n, op, name, what, error=IndexError):
    """idx (a tensor or array of ints) as an int64 array, every value in [0, n)."""
    arr = _index_array(idx, op, name)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        bad = arr.min() if arr.min() < 0 else arr.max()
        raise error(f"{op}: {name} contains {what[:-1] if what.endswith('s') else what} "
                    f"{int(bad)}, out of range for {n} (valid: 0 to {n - 1})")
    return arr


def _check_weight(weight, op, error):
    weight = _tensor(weight, op, "weight")
    if weight.ndim != 2:
        raise error(f"{op}: 'weight' must be 2-D (num_embeddings, embedding_dim), got shape "
                    f"{tuple(weight.shape)}")
    return weight


def _check_sparse(sparse, op):
    if sparse:
        raise ValueError(f"{op}: sparse=True asks for a sparse gradient of weight, which "
                         f"autodiff does not have; use sparse=False (the default): the "
                         f"gradient is a dense tensor of weight's shape, and the optimizers "
                         f"update it as usual (use Adam rather than SparseAdam)")


def _renorm_rows(weight, ids, max_norm, norm_type):
    """Rows of weight referenced by ids whose norm_type-norm exceeds max_norm rescaled, IN
    PLACE, to max_norm / (norm + 1e-7) times themselves (PyTorch's embedding_renorm_)."""
    rows = np.unique(ids)
    if not rows.size:
        return
    with ad.no_grad():
        picked = weight[rows]
        norms = ad.linalg.vector_norm(picked, norm_type, dim=1, keepdim=True)
        scale = ad.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight[rows] = picked * scale.to(weight.dtype)


def _scale_grad_by_freq(out, ids, n):
    """out, whose gradient is divided by how often each row's id occurs in ids."""
    if not (ad.is_grad_enabled() and out.requires_grad):
        return out
    counts = np.bincount(ids.ravel(), minlength=n)
    scale = _const((1.0 / np.maximum(counts[ids], 1))[..., None], out.dtype)
    # (a hook scales only the gradient; the recorded product keeps it differentiable)
    out = out * 1.0  # a fresh node owning the hook, so the caller's tensors are untouched
    out.register_hook(lambda g: g * scale)
    return out


def _padding_idx(padding_idx, n, op, error):
    if padding_idx is None:
        return None
    if not -n <= padding_idx < n:
        raise error(f"{op}: Padding_idx must be within num_embeddings: padding_idx "
                    f"{padding_idx} is not in [{-n}, {n - 1}]")
    return padding_idx % n


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """out[..., :] = weight[input[...]]: rows of weight picked by integer ids (gradients of
    repeated ids accumulate); the padding_idx row is returned as stored but gets no gradient;
    max_norm rescales the referenced rows of weight in place to norm <= max_norm first"""
    weight = _check_weight(weight, "embedding", RuntimeError)
    n = weight.shape[0]
    padding_idx = _padding_idx(padding_idx, n, "embedding", AssertionError)
    _check_sparse(sparse, "embedding")
    ids = _check_indices(input, n, "embedding", "input", "indices")
    if max_norm is not None:
        _renorm_rows(weight, ids, max_norm, norm_type)
    out = weight[ids]
    if scale_grad_by_freq:
        out = _scale_grad_by_freq(out, ids, n)
    if padding_idx is not None:
        keep = (ids != padding_idx)[..., None]
        out = ad.where(_const(keep), out, out.detach())
    return out


def _bags(input, offsets, per_sample_weights, include_last_offset, op):
    """(ids, offsets, weights): input flattened to 1-D, 2-D input as equal-length bags."""
    ids = _index_array(input, op, "input")
    psw = per_sample_weights
    if psw is not None and tuple(psw.shape) != ids.shape:
        raise ValueError(f"{op}: If per_sample_weights ({tuple(psw.shape)}) is not None, then "
                         f"it must have the same shape as the input ({ids.shape})")
    if ids.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{op}: if input is 2D, then offsets has to be None, as input is "
                             f"treated is a mini-batch of fixed length sequences. However, "
                             f"found offsets of type {type(offsets)}")
        if ids.shape[1] == 0:
            raise RuntimeError(f"{op}: a 2-D input of shape {ids.shape} has empty bags; give "
                               f"a 1-D input with offsets for empty bags")
        starts = np.arange(0, ids.size, ids.shape[1])
        return ids.reshape(-1), starts, ids.size, None if psw is None else psw.reshape(-1)
    if ids.ndim != 1:
        raise ValueError(f"{op}: input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{ids.ndim}")
    if offsets is None:
        raise ValueError(f"{op}: offsets has to be a 1D Tensor but got None (the start of "
                         f"each bag in input)")
    offs = _index_array(offsets, op, "offsets")
    if offs.ndim != 1:
        raise ValueError(f"{op}: offsets has to be a 1D Tensor, got shape {offs.shape}")
    if offs.size and offs[0] != 0:
        raise RuntimeError(f"{op}: offsets[0] has to be 0, i.e., the first sequence in the "
                           f"mini-batch has to start from position 0. However, got {offs[0]}")
    if offs.size and offs[-1] > ids.size:
        raise RuntimeError(f"{op}: offsets[-1] can not be greater than input's length "
                           f"{ids.size} but got offsets[-1] of {offs[-1]}")
    if np.any(np.diff(offs) < 0):
        raise RuntimeError(f"{op}: offsets must be non-decreasing (each bag starts where the "
                           f"previous one ends at the latest), got {offs.tolist()}")
    if include_last_offset:
        if not offs.size:
            raise RuntimeError(f"{op}: include_last_offset=True needs at least one offset "
                               f"(the end of the last bag)")
        # (the last offset is not read: as PyTorch, the last bag runs to the end of input)
        return ids, offs[:-1], ids.size, psw
    return ids, offs, ids.size, psw


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """out[b] = sum, mean or max over the rows weight[i] of bag b (bag b is
    input[offsets[b]:offsets[b + 1]], or row b of a 2-D input); sum can weight each id by
    per_sample_weights; ids equal to padding_idx are left out; an empty bag gives zeros"""
    op = "embedding_bag"
    weight = _tensor(weight, op, "weight")
    if weight.ndim != 2:
        raise ValueError(f"{op}: weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.ndim}")
    ids, starts, end, psw = _bags(input, offsets, per_sample_weights, include_last_offset, op)
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{op}: mode has to be one of sum, mean or max, got {mode!r}")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError(f"{op}: max mode does not support scaling the gradient by the "
                         f"frequency")
    if mode == "max" and sparse:
        raise ValueError(f"{op}: max mode does not support sparse weights")
    _check_sparse(sparse, op)
    if psw is not None and mode != "sum":
        raise NotImplementedError(f"{op}: per_sample_weights was not None. per_sample_weights "
                                  f"is only supported for mode='sum' (got mode='{mode}')")
    n, dim = weight.shape
    if padding_idx is not None and not -n <= padding_idx < n:
        raise RuntimeError(f"{op}: padding_idx must be within the number of embeddings, {-n} "
                           f"through {n - 1}, but got {padding_idx}")
    pad = None if padding_idx is None else padding_idx % n
    ids = ids[:end]
    _check_indices(ids, n, op, "input", "indices", RuntimeError)
    if max_norm is not None:
        _renorm_rows(weight, ids, max_norm, norm_type)
    nbags = len(starts)
    sizes = np.diff(np.append(starts, end))
    bag_of = np.repeat(np.arange(nbags), sizes)  # the bag of each id
    use = np.ones(ids.shape, bool) if pad is None else ids != pad
    ids, bag_of = ids[use], bag_of[use]
    rows = weight[ids]
    if mode == "max":
        return _bag_max(rows, bag_of, nbags, dim, weight.dtype)
    if scale_grad_by_freq:
        rows = _scale_grad_by_freq(rows, ids, n)
    if psw is not None:
        psw = _tensor(psw, op, "per_sample_weights")
        rows = rows * psw.reshape(-1)[_const(np.flatnonzero(use))].reshape(-1, 1)
    out = ad.index_add(rows, bag_of, (nbags, dim)) if ids.size else \
        ad.zeros(nbags, dim, dtype=weight.dtype) + rows.sum() * 0.0
    if mode == "mean":
        counts = np.bincount(bag_of, minlength=nbags)
        out = out / _const(np.maximum(counts, 1)[:, None], weight.dtype)
    return out


def _bag_max(rows, bag_of, nbags, dim, dtype):
    """The elementwise max over each bag's rows (0 for an empty bag; tied maxima share the
    gradient evenly, as autodiff's amax)."""
    counts = np.bincount(bag_of, minlength=nbags)
    longest = int(counts.max()) if counts.size else 0
    if longest == 0:
        return ad.zeros(nbags, dim, dtype=dtype) + rows.sum() * 0.0
    # a dense (bags, longest, dim) layout: padding slots point at a row of -inf, the slots of
    # an empty bag at a row of zeros (its max is then 0)
    m = rows.shape[0]
    table = ad.cat([rows, _const(np.full((1, dim), -np.inf), dtype),
                    _const(np.zeros((1, dim)), dtype)])
    slots = np.full((nbags, longest), m, np.int64)
    slots[counts == 0] = m + 1
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(m) - first[bag_of]
    slots[bag_of, pos] = np.arange(m)
    return table[slots].amax(1)


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape tensor.shape + (num_classes,) with a 1 at each label
    (num_classes=-1: max label + 1)"""
    arr = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be an integer tensor, got dtype {arr.dtype}; "
                        f"convert with labels.long()")
    if num_classes == -1:
        if arr.size == 0:
            raise RuntimeError("one_hot: Can not infer total number of classes from empty "
                               "tensor; pass num_classes")
        num_classes = int(arr.max()) + 1
    _check_indices(arr, num_classes, "one_hot", "labels", "labels")
    return _const(arr[..., None] == np.arange(num_classes), np.int64)
