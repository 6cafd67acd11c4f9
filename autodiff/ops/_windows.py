"""Sliding-window geometry shared by convolution (conv.py) and pooling (pooling.py): argument
normalisation, output sizes, padding, strided window views and their scatter-add adjoint."""
import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided


def _pair(v, name, op, minimum=1):
    """(a, b) from an int or a pair of ints, each >= minimum."""
    if isinstance(v, numbers.Integral):
        v = (int(v), int(v))
    else:
        try:
            v = tuple(int(a) for a in v)
        except TypeError:
            raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {v!r}") from None
        if len(v) != 2:
            raise RuntimeError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")
    if min(v) < minimum:
        raise RuntimeError(f"{op}: {name} must be >= {minimum}, got {v}")
    return v


def _padding(padding, kernel, stride, dilation, op):
    """((top, bottom), (left, right)) from an int, a pair, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding != "same":
            raise RuntimeError(f"{op}: padding must be an int, a pair, 'same' or 'valid', "
                             f"got {padding!r}")
        if stride != (1, 1):
            raise RuntimeError(f"{op}: padding='same' needs stride 1, got stride {stride}; give "
                             f"the padding as numbers instead")
        out = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)  # the extra row/column (even kernels) goes after, as PyTorch
            out.append((total // 2, total - total // 2))
        return tuple(out)
    p = _pair(padding, "padding", op, minimum=0)
    return ((p[0], p[0]), (p[1], p[1]))


def _out_size(op, size, kernel, stride, padding, dilation):
    """Output (H, W) = floor((in + pads - d (k - 1) - 1) / s) + 1, with an error if < 1."""
    out = []
    for axis, n, k, s, (lo, hi), d in zip(("height", "width"), size, kernel, stride, padding,
                                         dilation):
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
    (t, b), (l, r) = padding
    if t == b == l == r == 0:
        return x
    n, c, h, w = x.shape
    out = np.full((n, c, h + t + b, w + l + r), value, x.dtype)
    out[:, :, t:t + h, l:l + w] = x
    return out


def _windows(xp, kernel, stride, dilation, out_hw):
    """Read-only view (N, C, KH, KW, OH, OW) of padded xp: [.., i, j, h, w] =
    xp[.., s h + d i, s w + d j] (no copy)."""
    n, c = xp.shape[:2]
    sn, sc, sh, sw = xp.strides
    return as_strided(xp, (n, c) + tuple(kernel) + tuple(out_hw),
                      (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1]),
                      writeable=False)


def _scatter_windows(term, x_shape, out_hw, dtype, kernel, stride, padding, dilation,
                     batch_last=False):
    """col2im: adds term(i, j) (N, C, OH, OW) for each kernel offset back onto the (padded)
    input grid and crops the padding; a loop over the KH x KW kernel offsets only.
    batch_last: term(i, j) is (C, OH, OW, N) and the sums run in that layout, whose innermost
    run of contiguous elements is OW x N long instead of OW (2x faster for a 64-image batch);
    the result is (N, C, H, W) either way."""
    n, c, h, w = x_shape
    (t, b), (l, r) = padding
    oh, ow = out_hw
    hp, wp = h + t + b, w + l + r
    out = np.zeros((c, hp, wp, n) if batch_last else (n, c, hp, wp), dtype)
    grid = out.transpose(3, 0, 1, 2) if batch_last else out  # the same memory as (N, C, H, W)
    (sh, sw), (dh, dw) = stride, dilation
    for i in range(kernel[0]):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kernel[1]):
            cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            if batch_last:
                out[:, rows, cols] += term(i, j)
            else:
                out[:, :, rows, cols] += term(i, j)
    if t or b or l or r or batch_last:
        grid = np.ascontiguousarray(grid[:, :, t:t + h, l:l + w])
    return grid


