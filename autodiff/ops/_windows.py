"""Sliding-window geometry shared by convolution (conv.py) and pooling (pooling.py), for 1, 2
or 3 spatial dims: argument normalisation, output sizes, padding, strided window views and
their scatter-add adjoint. Padding is one (low, high) pair per spatial dim."""
import itertools
import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided

_AXES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
_WORDS = {1: "an int or a 1-tuple of ints", 2: "an int or a pair of ints",
          3: "an int or a triple of ints"}


def _ntuple(v, n, name, op, minimum=1, expand_one=False):
    """n ints from an int or a sequence of n ints (or of 1 int, with expand_one), each >=
    minimum."""
    if isinstance(v, numbers.Integral):
        v = (int(v),) * n
    else:
        try:
            v = tuple(int(a) for a in v)
        except TypeError:
            raise TypeError(f"{op}: {name} must be {_WORDS.get(n, 'an int or ints')}, got "
                            f"{v!r}") from None
        if expand_one and len(v) == 1:
            v = v * n
        if len(v) != n:
            raise RuntimeError(f"{op}: {name} must be {_WORDS.get(n, 'an int or ints')}, got "
                               f"{v!r}")
    if min(v) < minimum:
        raise RuntimeError(f"{op}: {name} must be >= {minimum}, got {v}")
    return v


def _pair(v, name, op, minimum=1):
    """(a, b) from an int or a pair of ints, each >= minimum."""
    return _ntuple(v, 2, name, op, minimum)


def _padding(padding, kernel, stride, dilation, op, expand_one=False):
    """((lo, hi), ...) per spatial dim from an int, a tuple, 'valid' or 'same'."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise RuntimeError(f"{op}: padding must be an int, a tuple, 'same' or 'valid', "
                               f"got {padding!r}")
        if any(s != 1 for s in stride):
            raise RuntimeError(f"{op}: padding='same' needs stride 1, got stride {stride}; give "
                               f"the padding as numbers instead")
        out = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)  # the extra row/column (even kernels) goes after, as PyTorch
            out.append((total // 2, total - total // 2))
        return tuple(out)
    p = _ntuple(padding, n, "padding", op, minimum=0, expand_one=expand_one)
    return tuple((a, a) for a in p)


def _out_size(op, size, kernel, stride, padding, dilation):
    """Output sizes floor((in + pads - d (k - 1) - 1) / s) + 1, with an error if < 1."""
    out = []
    axes = _AXES.get(len(size), ("size",) * len(size))
    for axis, n, k, s, (lo, hi), d in zip(axes, size, kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        o = (n + lo + hi - span) // s + 1
        if o < 1:
            raise RuntimeError(
                f"{op}: input {axis} {n} with kernel {k} (dilation {d}, so spanning {span}), "
                f"stride {s} and padding ({lo}, {hi}) gives output {axis} "
                f"({n} + {lo + hi} - {span}) // {s} + 1 = {o}; use a smaller kernel or more "
                f"padding")
        out.append(o)
    return tuple(out)


def _pad_array(x, padding, value=0.0):
    """x with its trailing len(padding) dims padded by value; a negative high pad crops (the
    transposed convolution's output_padding beyond the stride needs it)."""
    for lo, hi in padding:
        if lo or hi:
            break
    else:
        return x
    lead = x.ndim - len(padding)
    if any(hi < 0 for _, hi in padding):
        x = x[(slice(None),) * lead + tuple(slice(0, n + min(hi, 0)) for n, (_, hi) in
                                           zip(x.shape[lead:], padding))]
    sizes = x.shape[lead:]
    out = np.full(x.shape[:lead] + tuple(n + lo + max(hi, 0) for n, (lo, hi) in
                                         zip(sizes, padding)), value, x.dtype)
    out[(slice(None),) * lead + tuple(slice(lo, lo + n) for n, (lo, _) in
                                      zip(sizes, padding))] = x
    return out


def _windows(xp, kernel, stride, dilation, out_size):
    """Read-only view (N, C, *K, *O) of padded xp: [.., k..., o...] = xp[.., s o + d k] per
    spatial dim (no copy)."""
    strides = xp.strides
    sp = strides[2:]
    return as_strided(xp, xp.shape[:2] + tuple(kernel) + tuple(out_size),
                      strides[:2] + tuple(a * d for a, d in zip(sp, dilation))
                      + tuple(a * s for a, s in zip(sp, stride)), writeable=False)


def _scatter_windows(term, x_shape, out_size, dtype, kernel, stride, padding, dilation,
                     batch_last=False):
    """col2im: adds term(*k) (N, C, *O) for each kernel offset k back onto the (padded) input
    grid and crops the padding; a loop over the prod(K) kernel offsets only.
    batch_last: term(*k) is (C, *O, N) and the sums run in that layout, whose innermost run of
    contiguous elements is O[-1] x N long instead of O[-1] (2x faster for a 64-image batch);
    the result is (N, C, *S) either way."""
    n, c = x_shape[:2]
    size = x_shape[2:]
    nd = len(size)
    padded = tuple(s + lo + max(hi, 0) for s, (lo, hi) in zip(size, padding))
    if batch_last:
        out = np.zeros((c,) + padded + (n,), dtype)
        grid = out.transpose((nd + 1,) + tuple(range(nd + 1)))  # the same memory as (N, C, *S)
        lead = (slice(None),)
    else:
        out = grid = np.zeros((n, c) + padded, dtype)
        lead = (slice(None), slice(None))
    spans = [[slice(i * d, i * d + s * (o - 1) + 1, s) for i in range(k)]
             for k, s, d, o in zip(kernel, stride, dilation, out_size)]
    if nd == 2:  # the hot path (2-D convolution and pooling): no tuple building per offset
        rows_all, cols_all = spans
        for i, rows in enumerate(rows_all):
            for j, cols in enumerate(cols_all):
                out[lead + (rows, cols)] += term(i, j)
    else:
        for idx in itertools.product(*(range(k) for k in kernel)):
            out[lead + tuple(sp[i] for sp, i in zip(spans, idx))] += term(*idx)
    if batch_last or any(lo or hi for lo, hi in padding):
        grid = np.ascontiguousarray(grid[(slice(None), slice(None)) + tuple(
            slice(lo, lo + s) for s, (lo, _) in zip(size, padding))])
    return grid

