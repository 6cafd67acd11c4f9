"""Pooling: max, average, adaptive, power-average (lp), fractional and max-unpooling over 1, 2
or 3 spatial dims, with PyTorch's signatures; (N, C, *spatial) or unbatched (C, *spatial)."""
import math
import numbers

import numpy as np

import autodiff as ad
from nn.functional._util import _tensor

__all__ = ['max_pool1d', 'max_pool2d', 'max_pool3d', 'avg_pool1d', 'avg_pool2d', 'avg_pool3d',
           'adaptive_avg_pool1d', 'adaptive_avg_pool2d', 'adaptive_avg_pool3d',
           'adaptive_max_pool1d', 'adaptive_max_pool2d', 'adaptive_max_pool3d',
           'lp_pool1d', 'lp_pool2d', 'lp_pool3d', 'max_unpool1d', 'max_unpool2d',
           'max_unpool3d', 'fractional_max_pool2d', 'fractional_max_pool3d']


# --- max and average pooling ------------------------------------------------------------------

def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """out[.., l] = max over window l (stride defaults to kernel_size); with return_indices,
    (out, int64 index of each window's first maximum)"""
    if return_indices:
        return ad.max_pool1d_with_indices(input, kernel_size, stride, padding, dilation,
                                          ceil_mode)
    return ad.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """out[.., h, w] = max over window (h, w); the gradient goes to each window's first
    maximum, as PyTorch; with return_indices, (out, its index h W + w in the plane)"""
    if return_indices:
        return ad.max_pool2d_with_indices(input, kernel_size, stride, padding, dilation,
                                          ceil_mode)
    return ad.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """out[.., t, h, w] = max over window (t, h, w); with return_indices, (out, indices)"""
    if return_indices:
        return ad.max_pool3d_with_indices(input, kernel_size, stride, padding, dilation,
                                          ceil_mode)
    return ad.max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """out[.., l] = mean over window l (padded zeros count unless count_include_pad=False)"""
    return ad.avg_pool1d(input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """out[.., h, w] = sum of window (h, w) / (its size, or divisor_override)"""
    return ad.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                         divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """out[.., t, h, w] = sum of window (t, h, w) / (its size, or divisor_override)"""
    return ad.avg_pool3d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                         divisor_override)


# --- adaptive pooling -------------------------------------------------------------------------

def adaptive_avg_pool1d(input, output_size):
    """out[.., i] = mean of input[.., floor(i L / o) : ceil((i + 1) L / o)]"""
    return ad.adaptive_avg_pool1d(input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """out (N, C, *output_size): the mean over adaptive windows (1: global average pooling;
    None keeps that dim)"""
    return ad.adaptive_avg_pool2d(input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """out (N, C, *output_size): the mean over adaptive windows (None keeps that dim)"""
    return ad.adaptive_avg_pool3d(input, output_size)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """out[.., i] = max of input[.., floor(i L / o) : ceil((i + 1) L / o)] (and indices)"""
    out = ad.adaptive_max_pool1d(input, output_size)
    return out if return_indices else out[0]


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """out (N, C, *output_size): the max over adaptive windows (and indices)"""
    out = ad.adaptive_max_pool2d(input, output_size)
    return out if return_indices else out[0]


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """out (N, C, *output_size): the max over adaptive windows (and indices)"""
    out = ad.adaptive_max_pool3d(input, output_size)
    return out if return_indices else out[0]


# --- power-average pooling --------------------------------------------------------------------

def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, nd, max_pool, avg_pool):
    # PyTorch's definition: (sign(m) relu(|m|) k)^(1/p) of the window means m of x^p, which is
    # (m k)^(1/p) with a zero gradient where m = 0 (the where keeps pow's infinite slope at 0
    # out of the gradient); NaN where m < 0 and 1/p is fractional, as in PyTorch
    input = _tensor(input, f"lp_pool{nd}d", "input")
    if norm_type == math.inf:
        return max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    k = kernel_size if isinstance(kernel_size, numbers.Integral) else None
    size = k ** nd if k is not None else int(np.prod(tuple(kernel_size)))
    out = avg_pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    zero = out == 0
    return ad.where(zero, 0.0, (ad.where(zero, 1.0, out) * size).pow(1.0 / norm_type))


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """out = (sum over each window of x^p)^(1/p) (p = norm_type; inf: max of |x|)"""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1, ad.max_pool1d,
                    ad.avg_pool1d)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """out = (sum over each window of x^p)^(1/p) (p = norm_type; inf: max of |x|)"""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2, ad.max_pool2d,
                    ad.avg_pool2d)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """out = (sum over each window of x^p)^(1/p) (p = norm_type; inf: max of |x|)"""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3, ad.max_pool3d,
                    ad.avg_pool3d)


# --- max unpooling ----------------------------------------------------------------------------

def _n_tuple(v, nd):
    return (int(v),) * nd if isinstance(v, numbers.Integral) else tuple(int(a) for a in v)


def _unpool_size(op, in_size, k, s, p, output_size):
    """PyTorch's output size: (in - 1) s - 2 p + k per dim, or output_size (spatial dims, or
    with N and C in front) within a stride of it."""
    default = tuple((n - 1) * s_ - 2 * p_ + k_ for n, k_, s_, p_ in zip(in_size, k, s, p))
    if output_size is None:
        out = default
    else:
        out = tuple(int(o) for o in output_size)
        nd = len(k)
        if len(out) == nd + 2:
            out = out[2:]
        if len(out) != nd:
            raise ValueError(f"{op}: output_size must hold {nd} (or {nd + 2}) sizes, got "
                             f"{len(out)}: {tuple(output_size)}")
        for i, (o, dflt, s_) in enumerate(zip(out, default, s)):
            if not dflt - s_ < o < dflt + s_:
                raise ValueError(f"{op}: output_size {out} is invalid: dim {i} must be strictly "
                                 f"between {dflt - s_} and {dflt + s_} (the pooled size "
                                 f"{dflt} give or take the stride {s_})")
    if min(out) < 0:
        raise ValueError(f"{op}: output_size must be non-negative, got {out}")
    return out


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, nd):
    op = f"max_unpool{nd}d"
    x = _tensor(input, op, "input")
    idx = _tensor(indices, op, "indices")
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected an input of {nd + 2} dims (N, C, *spatial) or "
                           f"{nd + 1} (C, *spatial), got shape {tuple(x.shape)}")
    if idx.dtype != np.int64:
        raise RuntimeError(f"{op}: indices must be int64 (as max_pool{nd}d's return_indices "
                           f"gives them), got dtype {idx.dtype}")
    if tuple(idx.shape) != tuple(x.shape):
        raise RuntimeError(f"{op}: indices must have the input's shape {tuple(x.shape)}, got "
                           f"{tuple(idx.shape)}")
    k = _n_tuple(kernel_size, nd)
    s = k if stride is None else _n_tuple(stride, nd)
    p = _n_tuple(padding, nd)
    out = _unpool_size(op, x.shape[-nd:], k, s, p, output_size)
    length = int(np.prod(out))
    bad = (idx.data < 0) | (idx.data >= length)
    if bad.any():
        raise RuntimeError(f"{op}: found an invalid max index {int(idx.data[bad].flat[0])}: "
                           f"indices must lie in [0, {length}) for output size {out}; pass the "
                           f"indices of the max_pool{nd}d that made the input")
    lead = tuple(x.shape[:-nd])
    flat = ad.zeros(*lead, length, dtype=x.dtype)
    # an index given twice (overlapping windows) keeps one value, as PyTorch's writes
    flat = flat.scatter(-1, idx.reshape(*lead, -1), x.reshape(*lead, -1))
    return flat.reshape(*lead, *out)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """out: zeros with input's values put back at indices (max_pool1d's), a partial inverse"""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """out: zeros with input's values put back at indices (max_pool2d's), a partial inverse"""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """out: zeros with input's values put back at indices (max_pool3d's), a partial inverse"""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


# --- fractional max pooling -------------------------------------------------------------------

def _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples,
                nd, pool):
    op = f"fractional_max_pool{nd}d"
    x = _tensor(input, op, "input")
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        ratio = ((float(output_ratio),) * nd if isinstance(output_ratio, numbers.Real)
                 else tuple(float(r) for r in output_ratio))
        if len(ratio) != nd:
            raise ValueError(f"{op}: output_ratio must be a number or {nd} numbers, got "
                             f"{output_ratio!r}")
        output_size = tuple(int(n * r) for n, r in zip(x.shape[-nd:], ratio))
    if _random_samples is None:  # from autodiff's generator (ad.manual_seed), as torch.rand
        n_batch = 1 if x.ndim == nd + 1 else x.shape[0]
        channels = x.shape[-nd - 1] if x.ndim >= nd + 1 else 1
        _random_samples = ad.rand(n_batch, channels, nd, dtype=x.dtype)
    out = pool(x, kernel_size, output_size, _random_samples)
    return out if return_indices else out[0]


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """out: the max over kernel_size windows whose starts step pseudo-randomly so the output
    has output_size (or input size * output_ratio); samples from ad's generator unless given"""
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices,
                       _random_samples, 2, ad.fractional_max_pool2d)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """out: fractional_max_pool2d over (T, H, W); _random_samples (N, C, 3)"""
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices,
                       _random_samples, 3, ad.fractional_max_pool3d)
