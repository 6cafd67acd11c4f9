"""Catalog entries for nn/functional/sampling.py (F.pad, F.interpolate, F.grid_sample,
F.affine_grid), with naive numpy references written one output element at a time from the
definitions (PyTorch's coordinate rules)."""
import itertools
import math
import warnings

import numpy as np
from hypothesis import strategies as st

import nn.functional as F
from catalog import Op, NP_PAD_MODE, _torch_pad_widths


def _draw_spatial(draw, n, lo=1, hi=4):
    return tuple(draw(st.integers(lo, hi)) for _ in range(n))


# --- F.pad: negative sizes crop (reflect/replicate index the uncropped input) ------------------

def _np_pad(x, pad, mode):
    if mode == "circular":  # crop, then wrap what is left
        crop = [(max(-lo, 0), max(-hi, 0)) for lo, hi in _torch_pad_widths(x, pad)]
        x = x[tuple(slice(a, x.shape[d] - b) for d, (a, b) in enumerate(crop))]
    pos = [(max(lo, 0), max(hi, 0)) for lo, hi in _torch_pad_widths(x, pad)]
    out = np.pad(x, pos, mode=NP_PAD_MODE[mode])
    if mode != "circular":
        crop = [(max(-lo, 0), max(-hi, 0)) for lo, hi in _torch_pad_widths(x, pad)]
        out = out[tuple(slice(a, out.shape[d] - b) for d, (a, b) in enumerate(crop))]
    return out


def _pad_case(mode):
    def shapes(draw):
        batch = draw(st.integers(0, 1 if mode != "constant" else 2))
        k = draw(st.integers(1, 3))
        return [(1,) * batch + (2,) + _draw_spatial(draw, k, 2, 4 if k == 1 else 3)]

    def params(draw, shapes):
        shape = shapes[0]
        nd = len(shape)
        if mode == "constant":
            k = draw(st.integers(1, min(3, nd)))
        else:  # reflect/replicate/circular pad 1-3 dims of a batched or unbatched input
            k = draw(st.sampled_from([j for j in (nd - 1, nd - 2) if 1 <= j <= 3]))
        pad = []
        for i in range(k):
            n = shape[nd - 1 - i]
            crop = (n - 1) // 2  # both sides cropping still leaves at least one element
            sides = [-draw(st.integers(0, crop)) if draw(st.booleans()) else None
                     for _ in range(2)]
            kept = n + sum(c for c in sides if c is not None)
            top = {"reflect": n - 1, "circular": kept}.get(mode, 2)
            pad += [c if c is not None else draw(st.integers(0, top)) for c in sides]
        p = {"pad": tuple(pad), "mode": mode}
        if mode == "constant":
            p["value"] = draw(st.sampled_from([0.0, 1.5]))
        return p
    return shapes, params


def _f_pad(x, pad, mode, value=None):
    return F.pad(x, pad, mode, value)


def _np_f_pad(x, pad, mode, value=None):
    if mode == "constant":
        pos = [(max(lo, 0), max(hi, 0)) for lo, hi in _torch_pad_widths(x, pad)]
        out = np.pad(x, pos, constant_values=value or 0.0)
        crop = [(max(-lo, 0), max(-hi, 0)) for lo, hi in _torch_pad_widths(x, pad)]
        return out[tuple(slice(a, out.shape[d] - b) for d, (a, b) in enumerate(crop))]
    return _np_pad(x, pad, mode)


# --- F.interpolate -----------------------------------------------------------------------------

def _cubic(x, a=-0.75):
    x = abs(x)
    if x <= 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return 0.0


def _weights_1d(n_in, o, n_out, mode, align_corners, scale, ndim):
    """{input index: weight} for output index o along one axis."""
    step = 1 / scale if scale else n_in / n_out
    if mode in ("nearest", "nearest-exact"):
        if mode == "nearest" and ndim == 4 and n_out in (n_in, 2 * n_in):
            return {o * n_in // n_out: 1.0}
        off = 0.5 if mode == "nearest-exact" else 0.0
        return {min(int(math.floor((o + off) * step)), n_in - 1): 1.0}
    if mode == "area":
        lo, hi = o * n_in // n_out, -(-(o + 1) * n_in // n_out)
        return {i: 1 / (hi - lo) for i in range(lo, hi)}
    if n_out == n_in and mode != "bicubic":
        return {o: 1.0}
    if align_corners:
        src = o * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        src = (o + 0.5) * step - 0.5
    w = {}
    if mode == "bicubic":
        i0 = math.floor(src)
        for k in range(-1, 3):
            i = min(max(i0 + k, 0), n_in - 1)
            w[i] = w.get(i, 0.0) + _cubic(src - (i0 + k))
        return w
    src = max(src, 0.0)
    i0 = min(int(src), n_in - 1)
    lam = min(src - i0, 1.0)
    i1 = min(i0 + 1, n_in - 1)
    w[i0] = 1 - lam
    w[i1] = w.get(i1, 0.0) + lam
    return w


def np_interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                   recompute_scale_factor=None):
    spatial = x.shape[2:]
    d = len(spatial)
    scales = [None] * d
    if size is not None:
        out = [size] * d if isinstance(size, int) else list(size)
    else:
        sf = [scale_factor] * d if not isinstance(scale_factor, tuple) else list(scale_factor)
        out = [int(math.floor(n * s)) for n, s in zip(spatial, sf)]
        if not recompute_scale_factor and mode != "area":
            scales = sf
    res = np.zeros(x.shape[:2] + tuple(out))
    for o in itertools.product(*[range(m) for m in out]):
        ws = [_weights_1d(n, oi, m, mode, align_corners, s, x.ndim)
              for n, oi, m, s in zip(spatial, o, out, scales)]
        for idx in itertools.product(*[w.items() for w in ws]):
            weight = np.prod([w for _, w in idx])
            res[(Ellipsis,) + o] += weight * x[(Ellipsis,) + tuple(i for i, _ in idx)]
    return res


_INTERP_NDIM = {"nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "area": (3, 4, 5),
                "linear": (3,), "bilinear": (4,), "bicubic": (4,), "trilinear": (5,)}


def _interp_case(mode):
    def shapes(draw):
        nd = draw(st.sampled_from(_INTERP_NDIM[mode]))
        hi = {3: 4, 4: 3, 5: 2}[nd]
        return [(1, draw(st.integers(1, 2))) + _draw_spatial(draw, nd - 2, 1, hi)]

    def params(draw, shapes):
        d = len(shapes[0]) - 2
        p = {"mode": mode}
        if mode not in ("nearest", "nearest-exact", "area"):
            p["align_corners"] = draw(st.booleans())
        if draw(st.booleans()):
            hi = 4 if d == 1 else 3
            p["size"] = tuple(draw(st.integers(1, hi)) for _ in range(d))
        else:
            sf = tuple(draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5])) for _ in range(d))
            if any(math.floor(n * s) < 1 for n, s in zip(shapes[0][2:], sf)):
                sf = tuple(2.0 for _ in range(d))
            p["scale_factor"] = sf
            p["recompute_scale_factor"] = draw(st.sampled_from([None, True]))
        return p
    return shapes, params


# --- F.grid_sample, F.affine_grid --------------------------------------------------------------
# The input's spatial sides are 1 or 2 and the grid is drawn "between_steps" (away from multiples
# of 0.5): there every kink of the sampling (cell edges, border clamps, reflections, nearest
# rounding) sits at a multiple of 0.5 in grid units, so the piecewise weights are smooth.

def _unnorm(c, size, align_corners):
    return (c + 1) / 2 * (size - 1) if align_corners else ((c + 1) * size - 1) / 2


def _np_padc(c, size, padding_mode, align_corners):
    if padding_mode == "reflection":
        lo, hi = (0.0, size - 1.0) if align_corners else (-0.5, size - 0.5)
        span = hi - lo
        if span == 0:
            c = 0.0
        else:
            a = abs(c - lo)
            flips = math.floor(a / span)
            extra = a - flips * span
            c = lo + extra if flips % 2 == 0 else hi - extra
    if padding_mode in ("border", "reflection"):
        c = min(max(c, 0.0), size - 1.0)
    return c


def np_grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False):
    n, ch = x.shape[:2]
    spatial = x.shape[2:]
    d = len(spatial)
    out = np.zeros((n, ch) + grid.shape[1:-1])

    def read(b, idx):
        if all(0 <= i < s for i, s in zip(idx, spatial)):
            return x[(b, slice(None)) + tuple(idx)]
        return 0.0

    for b in range(n):
        for p in itertools.product(*[range(m) for m in grid.shape[1:-1]]):
            # grid[..., 0] is the last (width) axis
            raw = [_unnorm(grid[(b,) + p + (d - 1 - a,)], spatial[a], align_corners)
                   for a in range(d)]
            if mode == "bicubic":
                fl = [math.floor(c) for c in raw]
                acc = 0.0
                for ks in itertools.product(range(-1, 3), repeat=d):
                    w = np.prod([_cubic(c - (f + k)) for c, f, k in zip(raw, fl, ks)])
                    idx = [int(_np_padc(f + k, s, padding_mode, align_corners))
                           for f, k, s in zip(fl, ks, spatial)]
                    acc = acc + w * read(b, idx)
                out[(b, slice(None)) + p] = acc
                continue
            c = [_np_padc(r, s, padding_mode, align_corners) for r, s in zip(raw, spatial)]
            if mode == "nearest":
                out[(b, slice(None)) + p] = read(b, [int(np.rint(v)) for v in c])
                continue
            acc = 0.0
            for bits in itertools.product((0, 1), repeat=d):
                idx = [math.floor(v) + bt for v, bt in zip(c, bits)]
                w = np.prod([1 - abs(v - i) for v, i in zip(c, idx)])
                acc = acc + w * read(b, idx)
            out[(b, slice(None)) + p] = acc
    return out


def _grid_case(mode):
    def shapes(draw):
        d = 2 if mode == "bicubic" else draw(st.sampled_from([2, 3]))
        n = draw(st.integers(1, 2)) if d == 2 and mode != "bicubic" else 1
        out = _draw_spatial(draw, d, 1, 2)
        return [(n, 1) + _draw_spatial(draw, d, 1, 2), (n,) + out + (d,)]

    def params(draw, shapes):
        return {"mode": mode, "padding_mode": draw(st.sampled_from(["zeros", "border",
                                                                     "reflection"])),
                "align_corners": draw(st.booleans())}
    return shapes, params


def _base(n, align_corners):
    if n == 1:
        return [0.0]
    return [(-1 + 2 * i / (n - 1)) * (1 if align_corners else (n - 1) / n) for i in range(n)]


def np_affine_grid(theta, size, align_corners=False):
    spatial = size[2:]
    d = len(spatial)
    out = np.zeros((size[0],) + tuple(spatial) + (d,))
    axes = [_base(s, align_corners) for s in spatial]
    for p in itertools.product(*[range(s) for s in spatial]):
        point = [axes[a][p[a]] for a in range(d)][::-1] + [1.0]  # (x, y[, z], 1)
        out[(slice(None),) + p] = theta @ np.array(point)
    return out


def _affine_shapes(draw):
    d = draw(st.sampled_from([2, 3]))
    return [(draw(st.integers(1, 2)), d, d + 1)]


def _affine_params(draw, shapes):
    n, d = shapes[0][:2]
    return {"size": (n, 1) + _draw_spatial(draw, d, 1, 3),
            "align_corners": draw(st.booleans())}


def _quiet(fn):
    def run(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unit grids with align_corners=True warn
            return fn(*args, **kwargs)
    return run


ENTRIES = []
for _mode in ("constant", "reflect", "replicate", "circular"):
    _shapes, _params = _pad_case(_mode)
    ENTRIES.append(Op("F.pad", _f_pad, _np_f_pad, _shapes, params=_params, label=_mode))
for _mode in _INTERP_NDIM:
    _shapes, _params = _interp_case(_mode)
    ENTRIES.append(Op("F.interpolate", F.interpolate, np_interpolate, _shapes, params=_params,
                      label=_mode))
for _mode in ("bilinear", "nearest", "bicubic"):
    _shapes, _params = _grid_case(_mode)
    ENTRIES.append(Op("F.grid_sample", F.grid_sample, np_grid_sample, _shapes,
                      domain=("real", "between_steps"), params=_params, label=_mode))
ENTRIES.append(Op("F.affine_grid", _quiet(F.affine_grid), np_affine_grid, _affine_shapes,
                  params=_affine_params))
