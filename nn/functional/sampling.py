"""Resampling and padding: pad, interpolate (and the upsample aliases), grid_sample, affine_grid.

Everything is composed from autodiff's public ops. Resizing is separable: each spatial axis is
resampled by a constant (out, in) matrix (a matmul, so both directions run on BLAS) or, for the
nearest modes, by an index_select. grid_sample gathers the corner values once and weights them
with tensors computed from the grid, so gradients reach both the input and the grid (and second
order comes from the composition).
"""
import math
import numbers
import warnings

import numpy as np

import autodiff as ad
from nn.functional._util import _const, _tensor

__all__ = ['pad', 'interpolate', 'upsample', 'upsample_nearest', 'upsample_bilinear',
           'grid_sample', 'affine_grid', 'GRID_SAMPLE_INTERPOLATION_MODES',
           'GRID_SAMPLE_PADDING_MODES']

GRID_SAMPLE_INTERPOLATION_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
GRID_SAMPLE_PADDING_MODES = {"zeros": 0, "border": 1, "reflection": 2}


# --- pad ----------------------------------------------------------------------------------------

_NON_CONSTANT = ("reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):
    """out = input widened (negative sizes: cropped) by pad = (left_last, right_last, left_prev,
    ...) with a constant, or by reflecting, replicating or wrapping the border values"""
    input = _tensor(input, "pad", "input")
    if not isinstance(pad, (tuple, list)) or not all(
            isinstance(p, (numbers.Integral, np.integer)) and not isinstance(p, bool)
            for p in pad):
        raise TypeError(f"pad: pad must be a tuple of ints, got {pad!r}")
    pad = tuple(int(p) for p in pad)
    nd = input.ndim
    if len(pad) % 2:
        raise RuntimeError(f"pad: padding length must be divisible by 2 (a (left, right) pair "
                           f"per dim), got {len(pad)}: {pad}")
    if len(pad) > 2 * nd:
        raise RuntimeError(f"pad: padding length should be at most two times the input dimension, "
                           f"but got padding length {len(pad)} for an input of shape "
                           f"{tuple(input.shape)}")
    if mode == "constant":
        return ad.pad(input, pad, "constant", 0.0 if value is None else value)
    if mode not in _NON_CONSTANT:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}; use 'constant', "
                                  f"'reflect', 'replicate' or 'circular'")
    if value is not None and value != 0:
        raise RuntimeError(f"pad: padding mode {mode!r} doesn't take a value argument (got "
                           f"{value}); use mode='constant' to pad with a value")
    k = len(pad) // 2
    if not 1 <= k <= 3 or nd not in (k + 1, k + 2):
        raise NotImplementedError(
            f"pad: padding size {len(pad)} is not supported for {nd}D input in mode {mode!r}. "
            f"Supported: padding size 2 for 2D or 3D input (last dim), 4 for 3D or 4D input "
            f"(last 2 dims), 6 for 4D or 5D input (last 3 dims)")
    sizes = [input.shape[nd - 1 - i] + pad[2 * i] + pad[2 * i + 1] for i in range(k)]
    # PyTorch lets some (not all) padded dims come out empty when padding 2 or 3 dims
    if mode != "circular" and (min(sizes) < 0 or max(sizes) < 1):
        raise RuntimeError(f"pad: input of shape {tuple(input.shape)} is too small for padding "
                           f"{pad} in mode {mode!r}: the padded dims would have sizes "
                           f"{sizes[::-1]}")
    return ad.pad(input, pad, mode)


# --- interpolate --------------------------------------------------------------------------------

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_MODE_NDIM = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_A_CUBIC = -0.75     # Keys' cubic convolution constant of upsample_bicubic2d and grid_sample
_A_CUBIC_AA = -0.5   # the antialiased bicubic filter uses a = -0.5 (as PIL)


def _cubic1(x, a):  # |x| <= 1
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _cubic2(x, a):  # 1 < |x| < 2
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def _cubic_coeffs(t, a=_A_CUBIC):
    """The 4 tap weights at offsets -1, 0, 1, 2 for fractional position t (numpy or Tensor)."""
    return [_cubic2(t + 1, a), _cubic1(t, a), _cubic1(1 - t, a), _cubic2(2 - t, a)]


def _scale(n_in, n_out, align_corners, scale, ft):
    """Source step per output step (PyTorch's area_pixel_compute_scale), in the op dtype ft."""
    if align_corners:
        return ft(n_in - 1) / ft(n_out - 1) if n_out > 1 else ft(0)
    if scale is not None and scale > 0:
        return ft(1.0 / scale)
    return ft(n_in) / ft(n_out)


def _source(n_in, n_out, align_corners, scale, ft, cubic):
    s = _scale(n_in, n_out, align_corners, scale, ft)
    if align_corners:
        return s * np.arange(n_out).astype(ft)
    # (dst + 0.5) is a double in PyTorch's kernel: the product rounds to ft once, at the end
    src = (np.float64(s) * (np.arange(n_out) + 0.5) - 0.5).astype(ft)
    return src if cubic else np.maximum(src, ft(0))


def _nearest_index(n_in, n_out, scale, exact, shortcut):
    # PyTorch takes the scale in float32 whatever the input dtype, special-cases the sizes
    # n and 2n for 2-D "nearest" (only); "nearest-exact" adds half a pixel first
    if shortcut and n_out in (n_in, 2 * n_in):
        return np.arange(n_out) // (n_out // n_in)
    s = np.float32(1.0 / scale) if scale is not None and scale > 0 else \
        np.float32(n_in) / np.float32(n_out)
    if exact:
        src = (np.arange(n_out).astype(np.float32) + np.float32(0.5)) * s
    else:
        src = np.arange(n_out).astype(np.float32) * s
    return np.minimum(np.floor(src).astype(np.int64), n_in - 1)


def _aa_matrix(n_in, n_out, align_corners, scale, ft, cubic):
    """Antialiased resampling: the filter is widened by the downscale factor and renormalised."""
    s = float(_scale(n_in, n_out, align_corners, scale, ft))
    taps = 4 if cubic else 2
    support = taps * 0.5 * s if s >= 1.0 else taps * 0.5
    inv = 1.0 / s if s >= 1.0 else 1.0
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        center = s * (o + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        x = np.abs((np.arange(lo, hi) - center + 0.5) * inv)
        if cubic:
            w = np.where(x < 1, _cubic1(x, _A_CUBIC_AA),
                         np.where(x < 2, _cubic2(x, _A_CUBIC_AA), 0.0))
        else:
            w = np.maximum(1.0 - x, 0.0)
        total = w.sum()
        m[o, lo:hi] = w / total if total != 0 else w
    return m.astype(ft)


def _axis_matrix(n_in, n_out, mode, align_corners, scale, ft, antialias):
    """The constant (n_out, n_in) matrix that resamples one axis."""
    if antialias:
        return _aa_matrix(n_in, n_out, align_corners, scale, ft, mode == "bicubic")
    m = np.zeros((n_out, n_in), ft)
    rows = np.arange(n_out)
    if mode == "area":  # adaptive average pooling windows
        for o in range(n_out):
            lo, hi = (o * n_in) // n_out, -(-((o + 1) * n_in) // n_out)
            m[o, lo:hi] = ft(1) / ft(hi - lo)
        return m
    src = _source(n_in, n_out, align_corners, scale, ft, mode == "bicubic")
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lam = np.clip(src - i0.astype(ft), 0, 1).astype(ft)
    if mode == "bicubic":
        for k, w in enumerate(_cubic_coeffs(lam)):
            np.add.at(m, (rows, np.clip(i0 - 1 + k, 0, n_in - 1)), w)
        return m
    np.add.at(m, (rows, i0), 1 - lam)
    np.add.at(m, (rows, i0 + (i0 < n_in - 1)), lam)
    return m


def _resample_axis(x, axis, n_out, mode, align_corners, scale, antialias):
    n_in = x.shape[axis]
    if mode in ("nearest", "nearest-exact"):
        idx = _nearest_index(n_in, n_out, scale, mode == "nearest-exact",
                             mode == "nearest" and x.ndim == 4)
        if n_out == n_in and np.array_equal(idx, np.arange(n_in)):
            return x
        return ad.index_select(x, axis, _const(idx))
    if n_out == n_in and mode in ("linear", "bilinear", "trilinear") and not antialias:
        return x  # PyTorch copies an axis whose size does not change, whatever the scale
    ft = x.dtype.type
    m = _const(_axis_matrix(n_in, n_out, mode, align_corners, scale, ft, antialias))
    if axis == x.ndim - 1:
        return ad.matmul(x, m.T)
    return ad.movedim(ad.matmul(m, ad.movedim(x, axis, -2)), -2, axis)


def _is_int(v):
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """out[o] = sum_i w(o, i) input[i] per spatial axis, w from the mode's kernel at the source
    coordinate of o (nearest, nearest-exact, linear, bilinear, bicubic, trilinear, area)"""
    input = _tensor(input, "interpolate", "input")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("interpolate: align_corners can only be set with the interpolating "
                             f"modes linear | bilinear | bicubic | trilinear, got mode={mode!r}; "
                             "leave it None")
    elif align_corners is None:
        align_corners = False
    dim = input.ndim - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is not None:
        scales = None
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    f"interpolate: input and output must have the same number of spatial "
                    f"dimensions, but got input with spatial dimensions of {spatial} and output "
                    f"size of {size}; give the input as (N, C, d1, ..., dK) and size as "
                    f"(o1, ..., oK)")
            if not all(_is_int(s) for s in size):
                raise TypeError(f"interpolate: expected size to be an int or a tuple of ints, "
                                f"but got size with types {[type(s).__name__ for s in size]}")
            out_size = [int(s) for s in size]
        else:
            if not _is_int(size):
                raise TypeError(f"interpolate: expected size to be an int or a tuple of ints, "
                                f"got {type(size).__name__}")
            out_size = [int(size)] * dim
    elif scale_factor is not None:
        out_size = None
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    f"interpolate: input and scale_factor must have the same number of spatial "
                    f"dimensions, but got input with spatial dimensions of {spatial} and "
                    f"scale_factor of shape {scale_factor}; give the input as (N, C, d1, ..., dK) "
                    f"and scale_factor as (s1, ..., sK)")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
    else:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit "
                         "size")
    if mode == "area" and out_size is None:
        recompute_scale_factor = True  # area is adaptive pooling: it only needs the size
    if recompute_scale_factor:
        out_size = [int(n * s) for n, s in zip(spatial, scales)]
        scales = None
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("interpolate: antialias=True is restricted to the bilinear and bicubic "
                         f"modes and requires a 4-D input, got mode={mode!r} and a "
                         f"{input.ndim}-D input")
    if mode not in _MODES or input.ndim not in (3, 4, 5) or (
            mode in _MODE_NDIM and input.ndim != _MODE_NDIM[mode]):
        if mode in _MODE_NDIM and input.ndim in (3, 4, 5) and mode != "bicubic":
            raise NotImplementedError(f"interpolate: got {input.ndim}D input, but {mode} mode "
                                      f"needs {_MODE_NDIM[mode]}D input (N, C, spatial...)")
        raise NotImplementedError(
            f"interpolate: only 3D, 4D and 5D inputs are supported (got {input.ndim}D) for the "
            f"modes nearest | nearest-exact | linear | bilinear | bicubic | trilinear | area "
            f"(got mode={mode!r}; bicubic needs 4D, linear 3D, bilinear 4D, trilinear 5D)")
    if input.dtype.kind != "f":
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented for dtype "
                                  f"{input.dtype}; convert the input with .float()")
    if out_size is None:
        out_size = [int(math.floor(n * s)) for n, s in zip(spatial, scales)]
    if (mode != "area" and any(o <= 0 for o in out_size)) or any(n <= 0 for n in spatial):
        raise RuntimeError(f"interpolate: input and output sizes should be greater than 0, but "
                           f"got input {tuple(spatial)} and output {tuple(out_size)}")
    out = input
    for k in range(dim):
        scale = None if scales is None else scales[k]
        out = _resample_axis(out, 2 + k, out_size[k], mode, align_corners, scale, antialias)
    return out.clone() if out is input else out  # a new tensor, as in PyTorch


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate (as in PyTorch, with its warning)"""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: interpolate(input, size, scale_factor, mode='nearest')"""
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: interpolate(input, size, scale_factor, mode='bilinear', align_corners=True)"""
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# --- grid_sample, affine_grid -------------------------------------------------------------------

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False "
                  "since 1.3.0. Please specify align_corners=True if the old behavior is desired.")


def _unnormalize(c, size, align_corners):
    """[-1, 1] -> pixel index: corner pixel centres (align_corners) or the image edges."""
    if align_corners:
        return (c + 1) * ((size - 1) / 2)
    return ((c + 1) * size - 1) / 2


def _clip(c, size):
    """clamp(c, 0, size - 1) whose gradient is 0 on and beyond the bounds (as PyTorch's)."""
    d = c.data
    inside = (d > 0) & (d < size - 1)
    return ad.where(_const(inside), c, _const(np.clip(d, 0, size - 1).astype(d.dtype)))


def _reflect(c, twice_low, twice_high):
    """Reflects c into [low, high] by unfolding the line; the slope is +-1 piece by piece."""
    if twice_low == twice_high:
        return c * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    d = c.data - low
    sign = np.where(d < 0, -1.0, 1.0).astype(d.dtype)
    a = (c - low) * _const(sign)
    flips = np.floor(np.abs(d) / span)
    extra = a - _const((flips * span).astype(d.dtype))
    even = _const(flips % 2 == 0)
    return ad.where(even, extra + low, (span + low) - extra)


def _pad_coords(c, size, padding_mode, align_corners):
    if padding_mode == "border":
        return _clip(c, size)
    if padding_mode == "reflection":
        if align_corners:
            c = _reflect(c, 0, 2 * (size - 1))
        else:
            c = _reflect(c, -1, 2 * size - 1)
        return _clip(c, size)
    return c


def _pad_coords_np(c, size, padding_mode, align_corners):
    """The same coordinate padding on constant (integer tap) positions."""
    if padding_mode == "zeros":
        return c
    if padding_mode == "reflection":
        lo, hi = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        if lo == hi:
            c = np.zeros_like(c)
        else:
            low, span = lo / 2, (hi - lo) / 2
            a = np.abs(c - low)
            flips, extra = np.floor(a / span), np.fmod(a, span)
            c = np.where(flips % 2 == 0, extra + low, span - extra + low)
    return np.clip(c, 0, size - 1)


def _sample(input, taps):
    """out[n, :, p] = sum over the tap grid of prod_a w_a * input[n, :, i_0, i_1, ...] with
    taps = [(i_a, w_a)] per spatial axis: int arrays (N, *out, T_a) and weight Tensors of the
    same shape (or None: weight 1). Positions outside the input read 0. One gather in all."""
    n, c = input.shape[:2]
    spatial = input.shape[2:]
    d = len(spatial)
    out_shape = taps[0][0].shape[1:-1]
    q = int(np.prod(out_shape))
    counts = [i.shape[-1] for i, _ in taps]
    valid = np.ones((), bool)
    lin = np.zeros((), np.int64)
    w = None
    for a, ((i, wa), s) in enumerate(zip(taps, spatial)):
        shape = (n, q) + tuple(t if b == a else 1 for b, t in enumerate(counts))
        i = i.reshape(shape)
        valid = valid & (i >= 0) & (i < s)
        lin = lin * s + np.clip(i, 0, s - 1)
        if wa is not None:
            wa = wa.reshape(shape)
            w = wa if w is None else w * wa
    k = int(np.prod(counts))
    index = np.broadcast_to(lin, (n, q) + tuple(counts)).reshape(n, 1, q * k)
    vals = ad.gather(input.reshape(n, c, -1), 2, _const(np.broadcast_to(index, (n, c, q * k))))
    mask = _const(np.broadcast_to(valid, (n, q) + tuple(counts)).reshape(n, 1, q, k)
                  .astype(input.dtype))
    w = mask if w is None else w.reshape(n, 1, q, k) * mask
    out = (vals.reshape(n, c, q, k) * w).sum(dim=3) if k > 1 or d == 0 else \
        (vals.reshape(n, c, q, k) * w).reshape(n, c, q)
    return out.reshape((n, c) + tuple(out_shape))


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """out[n, :, p] = sum over the neighbours i of the point grid[n, p] (in [-1, 1] coordinates)
    of kernel(grid[n, p] - i) * input[n, :, i]; bilinear, nearest or bicubic kernel"""
    if mode not in GRID_SAMPLE_INTERPOLATION_MODES:
        raise ValueError(f"grid_sample: expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: {mode!r}")
    if padding_mode not in GRID_SAMPLE_PADDING_MODES:
        raise ValueError(f"grid_sample: expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: {padding_mode!r}")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    input = _tensor(input, "grid_sample", "input")
    grid = _tensor(grid, "grid_sample", "grid")
    shapes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sample: expected input and grid to have the same dtype, but "
                           f"input has {input.dtype} and grid has {grid.dtype}; convert one with "
                           f".to(dtype)")
    if input.dtype.kind != "f":
        raise RuntimeError(f"grid_sample: expected floating-point input and grid, got "
                           f"{input.dtype}; convert them with .float()")
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError(f"grid_sample: expected 4D or 5D input and grid with the same number "
                           f"of dimensions, but got {shapes}")
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sample: expected grid and input to have the same batch size, "
                           f"but got {shapes}")
    d = input.ndim - 2
    if grid.shape[-1] != d:
        raise RuntimeError(f"grid_sample: expected grid to have size {d} in last dimension, but "
                           f"got grid with sizes {list(grid.shape)}")
    for i, s in enumerate(input.shape[2:]):
        if s == 0:
            raise RuntimeError(f"grid_sample: expected input to have non-empty spatial "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {i + 2} being empty")
    if mode == "bicubic" and d != 2:
        raise RuntimeError("grid_sample: bicubic interpolation only supports 4D input; use "
                           "mode='bilinear' or 'nearest' for 5D input")
    spatial = input.shape[2:]
    # grid[..., 0] indexes the last axis (x = width), grid[..., 1] the one before, ...
    raw = [_unnormalize(grid[..., d - 1 - a], spatial[a], align_corners) for a in range(d)]
    if mode == "bicubic":
        return _grid_bicubic(input, raw, padding_mode, align_corners)
    coords = [_pad_coords(c, s, padding_mode, align_corners) for c, s in zip(raw, spatial)]
    if mode == "nearest":
        idx = [np.rint(c.data).clip(-2, s + 1).astype(np.int64)[..., None]
               for c, s in zip(coords, spatial)]
        out = _sample(input, [(i, None) for i in idx])
        # the grid gets an exact zero gradient, as in PyTorch (not None)
        zero = ad.where(_const(np.zeros(grid.shape, bool)), grid, _const(np.zeros((), grid.dtype)))
        return out + zero.sum(dim=-1).unsqueeze(1)
    # bilinear: the 2 neighbours along each axis, weights 1 - t and t
    taps = []
    for c, s in zip(coords, spatial):
        f = np.floor(c.data).clip(-2, s + 1)  # (far outside: every corner reads 0 anyway)
        t = c - _const(f.astype(c.dtype))
        taps.append((f.astype(np.int64)[..., None] + np.arange(2), ad.stack([1 - t, t], dim=-1)))
    return _sample(input, taps)


def _cubic_matrix():
    """(4, 4) matrix M with [1, t, t^2, t^3] @ M = the 4 cubic tap weights at t."""
    t = np.array([0.0, 1 / 3, 2 / 3, 1.0])
    vander = np.vander(t, 4, increasing=True)
    m = np.linalg.solve(vander, np.stack(_cubic_coeffs(t), axis=-1))
    return np.round(m * 4) / 4  # exact: with a = -0.75 every entry is a multiple of 1/4


_CUBIC_MATRIX = _cubic_matrix()


def _grid_bicubic(input, raw, padding_mode, align_corners):
    """4x4 taps around floor(coordinate); the padding applies to each tap's position."""
    spatial = input.shape[2:]
    taps = []
    for c, s in zip(raw, spatial):
        f = np.floor(c.data)
        if padding_mode == "zeros":  # far outside every tap reads 0; keep the ints small
            f = f.clip(-3, s + 2)
        t = c - _const(f.astype(c.dtype))
        t2 = t * t
        powers = ad.stack([ad.ones_like(t), t, t2, t2 * t], dim=-1)
        w = ad.matmul(powers, _const(_CUBIC_MATRIX.astype(c.dtype)))
        pos = _pad_coords_np(f[..., None] - 1 + np.arange(4), s, padding_mode, align_corners)
        taps.append((np.trunc(pos).astype(np.int64), w))
    return _sample(input, taps)


def _base_coords(n, align_corners, dtype):
    if n <= 1:
        return np.zeros(max(n, 1), dtype)
    lin = np.linspace(-1, 1, n)
    return (lin if align_corners else lin * (n - 1) / n).astype(dtype)


def affine_grid(theta, size, align_corners=None):
    """grid[n, ..., :] = theta[n] @ (x, y[, z], 1): the sampling grid of an affine map, in
    grid_sample's [-1, 1] coordinates, for an output of size (N, C, H, W) or (N, C, D, H, W)"""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    theta = _tensor(theta, "affine_grid", "theta")
    if theta.dtype.kind != "f":
        raise ValueError(f"affine_grid: expected theta to have floating point type, but got "
                         f"{theta.dtype}; convert it with .float()")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(f"affine_grid: expected a batch of 2D affine matrices of shape Nx2x3 "
                             f"for size {size}, got {tuple(theta.shape)}")
    elif len(size) == 5:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(f"affine_grid: expected a batch of 3D affine matrices of shape Nx3x4 "
                             f"for size {size}, got {tuple(theta.shape)}")
    else:
        raise NotImplementedError(f"affine_grid: only 4D and 5D sizes are supported, for 2D and "
                                  f"3D affine transforms respectively; got size {size}")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("affine_grid: unit-size grids with align_corners=True put the single "
                      "point at 0 (PyTorch's behavior since 1.3.0)", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"affine_grid: expected non-zero, positive output size, got {size}")
    if theta.shape[0] != size[0]:
        raise RuntimeError(f"affine_grid: theta has batch size {theta.shape[0]} but size asks for "
                           f"{size[0]}; they must match")
    dt = theta.dtype
    axes = [_base_coords(s, align_corners, dt) for s in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")  # axis order (D,) H, W
    base = np.stack(list(mesh[::-1]) + [np.ones(spatial, dt)], axis=-1)  # (x, y[, z], 1)
    base = _const(base.reshape(1, -1, len(spatial) + 1))
    out = ad.matmul(base, theta.transpose(1, 2))
    return out.reshape((size[0],) + spatial + (len(spatial),))
