"""Catalog entries for pooling (autodiff/ops/pooling.py, and nn.functional's lp_pool and
max_unpool), with naive numpy references: one output element at a time, from the definitions
(PyTorch's window geometry, ceil mode and divisors). Inputs are (N, C, *spatial) or unbatched
(C, *spatial), spatial sides 1-5 (3-d: 2)."""
import itertools
import math

import numpy as np
from hypothesis import strategies as st

import autodiff as ad
import nn.functional as F
from catalog import Op


# --- naive references ---------------------------------------------------------------------------

def _tup(v, nd):
    return (v,) * nd if isinstance(v, (int, np.integer)) or v is None else tuple(v)


def _out_len(n, k, s, p, d, ceil_mode):
    span = d * (k - 1) + 1
    o = (n + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= n + p:  # the last window must start inside input or pad
        o -= 1
    return o


def np_pool(x, nd, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
            mode="max", count_include_pad=True, divisor_override=None):
    """max or mean over each window, PyTorch's geometry; padding never wins a max, and the
    mean divides by the window clipped to the padded input (or to the input, or the override)"""
    k = _tup(kernel_size, nd)
    s = k if stride is None else _tup(stride, nd)
    p, d = _tup(padding, nd), _tup(dilation, nd)
    size = x.shape[-nd:]
    outs = [_out_len(*a, ceil_mode) for a in zip(size, k, s, p, d)]
    out = np.zeros(x.shape[:-nd] + tuple(outs))
    for o in itertools.product(*[range(m) for m in outs]):
        begin = [o_ * s_ - p_ for o_, s_, p_ in zip(o, s, p)]
        positions = itertools.product(*[[b + j * d_ for j in range(k_)]
                                        for b, k_, d_ in zip(begin, k, d)])
        vals = [x[(Ellipsis,) + pos] for pos in positions
                if all(0 <= q < n for q, n in zip(pos, size))]
        if mode == "max":
            out[(Ellipsis,) + o] = np.max(vals, axis=0)
            continue
        if divisor_override:
            div = divisor_override
        elif count_include_pad:
            div = math.prod(min(b + k_, n + p_) - b for b, k_, n, p_ in zip(begin, k, size, p))
        else:
            div = len(vals)
        out[(Ellipsis,) + o] = np.sum(vals, axis=0) / div
    return out


def np_adaptive(x, nd, output_size, mode):
    """max or mean over windows floor(i n / o) .. ceil((i + 1) n / o) - 1 of each dim"""
    size = x.shape[-nd:]
    outs = [n if m is None else m for n, m in zip(size, _tup(output_size, nd))]
    out = np.zeros(x.shape[:-nd] + tuple(outs))
    reduce = np.max if mode == "max" else np.mean
    for o in itertools.product(*[range(m) for m in outs]):
        box = tuple(slice(i * n // m, -(-(i + 1) * n // m)) for i, n, m in zip(o, size, outs))
        out[(Ellipsis,) + o] = reduce(x[(Ellipsis,) + box], axis=tuple(range(-nd, 0)))
    return out


def np_fractional(x, nd, kernel_size, output_size, random_samples):
    """max over kernel windows starting at int((i + u) a) - int(u a), a = (n - k) / (o - 1),
    the last at n - k; u = random_samples[n, c, dim] (W, H in 2-d; T, H, W in 3-d)"""
    k, outs = _tup(kernel_size, nd), _tup(output_size, nd)
    batched = x.ndim == nd + 2
    xb = x if batched else x[None]
    which = (1, 0) if nd == 2 else (0, 1, 2)
    out = np.zeros(xb.shape[:2] + tuple(outs))
    for b, c in itertools.product(range(xb.shape[0]), range(xb.shape[1])):
        starts = []
        for dim, (n, k_, m) in enumerate(zip(xb.shape[2:], k, outs)):
            u = random_samples[b, c, which[dim]]
            a = (n - k_) / (m - 1) if m > 1 else 0.0
            starts.append([int((i + u) * a) - int(u * a) for i in range(m - 1)] + [n - k_])
        for o in itertools.product(*[range(m) for m in outs]):
            box = tuple(slice(st_[i], st_[i] + k_) for st_, i, k_ in zip(starts, o, k))
            out[(b, c) + o] = xb[(b, c) + box].max()
    return out if batched else out[0]


def np_lp_pool(x, nd, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each window of x^p, scaled by kernel size / clipped size)^(1/p), PyTorch's
    avg_pool-based definition (a ceil-mode overhang is rescaled to the full kernel)"""
    mean = np_pool(x ** norm_type, nd, kernel_size, stride, ceil_mode=ceil_mode, mode="avg")
    return (mean * math.prod(_tup(kernel_size, nd))) ** (1.0 / norm_type)


def np_max_unpool(x, indices, nd, kernel_size, stride=None, padding=0, output_size=None):
    """zeros of the unpooled size with x's values written at indices (per (N, C) plane)"""
    k = _tup(kernel_size, nd)
    s = k if stride is None else _tup(stride, nd)
    p = _tup(padding, nd)
    outs = output_size or [(n - 1) * s_ - 2 * p_ + k_
                           for n, k_, s_, p_ in zip(x.shape[-nd:], k, s, p)]
    lead = x.shape[:-nd]
    out = np.zeros(lead + (math.prod(outs),))
    for pos in itertools.product(*[range(m) for m in x.shape]):
        out[pos[:len(lead)] + (indices[pos],)] = x[pos]
    return out.reshape(lead + tuple(outs))


# --- shapes and parameters -----------------------------------------------------------------------

SIDES = {1: (3, 5), 2: (2, 3), 3: (2, 2)}


def pool_shapes(nd, small=False):
    """(N, C, *spatial) with N C <= 2, or (C, *spatial): few elements, as gradgradcheck
    differentiates each one (small: the shortest sides only, for entries that repeat a path)."""
    lo, hi = SIDES[nd]

    def draw_shapes(draw):
        spatial = tuple(draw(st.integers(lo, lo if small else hi)) for _ in range(nd))
        lead = draw(st.sampled_from([(1,), (2,), (1, 1), (1, 2), (2, 1)]))
        return [lead + spatial]
    return draw_shapes


def _as_arg(draw, values):
    """An int when all equal (sometimes), else a tuple: both spellings are PyTorch's."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return tuple(values)


def max_params(nd):
    def params(draw, shapes):
        size = shapes[0][-nd:]
        k = [draw(st.integers(1, min(3, n))) for n in size]
        d = [draw(st.sampled_from([1, 2])) if 2 * (k_ - 1) + 1 <= n else 1
             for k_, n in zip(k, size)]
        p = [draw(st.integers(0, k_ // 2)) for k_ in k]
        s = [draw(st.integers(1, 3)) for _ in size]
        return {"kernel_size": _as_arg(draw, k),
                "stride": draw(st.sampled_from([None, _as_arg(draw, s)])),
                "padding": _as_arg(draw, p), "dilation": _as_arg(draw, d),
                "ceil_mode": draw(st.booleans())}
    return params


def avg_params(nd):
    def params(draw, shapes):
        size = shapes[0][-nd:]
        k = [draw(st.integers(1, min(3, n))) for n in size]
        p = [draw(st.integers(0, k_ // 2)) for k_ in k]
        s = [draw(st.integers(1, 3)) for _ in size]
        out = {"kernel_size": _as_arg(draw, k),
               "stride": draw(st.sampled_from([None, _as_arg(draw, s)])),
               "padding": _as_arg(draw, p), "ceil_mode": draw(st.booleans()),
               "count_include_pad": draw(st.booleans())}
        if nd > 1:
            out["divisor_override"] = draw(st.sampled_from([None, 3]))
        return out
    return params


def adaptive_params(nd):
    def params(draw, shapes):
        size = shapes[0][-nd:]
        outs = [draw(st.one_of(st.none(), st.integers(1, n + 1))) for n in size]
        if nd == 1:
            outs = [size[0] if outs[0] is None else outs[0]]
        return {"output_size": _as_arg(draw, outs)}
    return params


def fractional_params(nd):
    def params(draw, shapes):
        shape = shapes[0]
        size = shape[-nd:]
        k = [draw(st.integers(1, min(2, n))) for n in size]
        outs = [draw(st.integers(1, n - k_ + 1)) for n, k_ in zip(size, k)]
        lead = shape[:2] if len(shape) == nd + 2 else (1, shape[0])
        seed = draw(st.integers(0, 2 ** 32 - 1))
        samples = np.random.default_rng(seed).random(lead + (nd,))
        return {"kernel_size": _as_arg(draw, k), "output_size": _as_arg(draw, outs),
                "random_samples": samples}
    return params


def lp_params(nd):
    def params(draw, shapes):
        size = shapes[0][-nd:]
        k = [draw(st.integers(1, min(3, n))) for n in size]
        s = [draw(st.integers(1, 3)) for _ in size]
        return {"norm_type": draw(st.sampled_from([1, 2, 3, 1.5])),
                "kernel_size": _as_arg(draw, k),
                "stride": draw(st.sampled_from([None, _as_arg(draw, s)])),
                "ceil_mode": draw(st.booleans())}
    return params


def unpool_shapes_and_params(nd):
    """max_unpool's input and the indices of a max pool whose windows do not overlap (stride
    >= kernel), one random position in each: shapes and params are drawn together."""
    state = {}

    def shapes(draw):
        spatial = tuple(draw(st.integers(1, 3 if nd < 3 else 2)) for _ in range(nd))
        lead = (draw(st.integers(1, 2)),) if draw(st.booleans()) else ()
        shape = lead + (draw(st.integers(1, 2)),) + spatial
        k = [draw(st.integers(1, 2)) for _ in range(nd)]
        s = [k_ + draw(st.integers(0, 1)) for k_ in k]
        p = [draw(st.integers(0, k_ // 2)) if (n - 1) * s_ + k_ > 2 * (k_ // 2) else 0
             for n, k_, s_ in zip(spatial, k, s)]  # (an output side of at least 1)
        grow = draw(st.booleans())  # output_size one more than the default where legal
        outs = [(n - 1) * s_ - 2 * p_ + k_ + (1 if grow and s_ > 1 else 0)
                for n, k_, s_, p_ in zip(spatial, k, s, p)]
        rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
        strides = [math.prod(outs[i + 1:]) for i in range(nd)]
        indices = np.zeros(shape, np.int64)
        for pos in itertools.product(*[range(m) for m in shape]):
            # window o covers [o s - p, o s - p + k) within the output: never empty, since
            # p <= k / 2, and disjoint from the others, since s >= k
            indices[pos] = sum(int(rng.integers(max(o * s_ - p_, 0), min(o * s_ - p_ + k_, m)))
                               * st_ for o, k_, s_, p_, m, st_
                               in zip(pos[-nd:], k, s, p, outs, strides))
        state["params"] = {"indices": indices, "kernel_size": _as_arg(draw, k),
                           "stride": _as_arg(draw, s), "padding": _as_arg(draw, p),
                           "output_size": tuple(outs) if grow else None}
        return [shape]

    def params(draw, shapes):
        return state["params"]
    return shapes, params


def _unpool_entry(nd):
    shapes, params = unpool_shapes_and_params(nd)
    fn = getattr(F, f"max_unpool{nd}d")
    return Op(f"F.max_unpool{nd}d",
              lambda x, indices, **p: fn(x, ad.tensor(indices), **p),
              lambda x, indices, **p: np_max_unpool(x, indices, nd, **p), shapes,
              params=params)


def _first(fn):
    return lambda *xs, **p: fn(*xs, **p)[0]


ENTRIES = []
for _nd in (1, 2, 3):
    ENTRIES += [
        Op(f"max_pool{_nd}d", getattr(ad, f"max_pool{_nd}d"),
           lambda x, _n=_nd, **p: np_pool(x, _n, **p), pool_shapes(_nd), domain="distinct",
           params=max_params(_nd)),
        Op(f"max_pool{_nd}d_with_indices", _first(getattr(ad, f"max_pool{_nd}d_with_indices")),
           lambda x, _n=_nd, **p: np_pool(x, _n, **p), pool_shapes(_nd, small=True),
           domain="distinct",
           params=max_params(_nd)),
        Op(f"avg_pool{_nd}d", getattr(ad, f"avg_pool{_nd}d"),
           lambda x, _n=_nd, **p: np_pool(x, _n, mode="avg", **p), pool_shapes(_nd),
           params=avg_params(_nd)),
        Op(f"adaptive_avg_pool{_nd}d", getattr(ad, f"adaptive_avg_pool{_nd}d"),
           lambda x, _n=_nd, **p: np_adaptive(x, _n, mode="avg", **p), pool_shapes(_nd),
           params=adaptive_params(_nd)),
        Op(f"adaptive_max_pool{_nd}d", _first(getattr(ad, f"adaptive_max_pool{_nd}d")),
           lambda x, _n=_nd, **p: np_adaptive(x, _n, mode="max", **p), pool_shapes(_nd),
           domain="distinct", params=adaptive_params(_nd)),
        Op(f"F.lp_pool{_nd}d", getattr(F, f"lp_pool{_nd}d"),
           lambda x, _n=_nd, **p: np_lp_pool(x, _n, **p), pool_shapes(_nd), domain="positive",
           params=lp_params(_nd)),
        _unpool_entry(_nd),
    ]
    if _nd > 1:
        ENTRIES.append(Op(
            f"fractional_max_pool{_nd}d", _first(getattr(ad, f"fractional_max_pool{_nd}d")),
            lambda x, _n=_nd, **p: np_fractional(x, _n, **p), pool_shapes(_nd),
            domain="distinct", params=fractional_params(_nd)))
# signed inputs: x^2 is even, so a window's sum of squares stays positive
ENTRIES.append(Op("F.lp_pool2d", lambda x, **p: F.lp_pool2d(x, 2, **p),
                  lambda x, **p: np_lp_pool(x, 2, 2, **p), pool_shapes(2), domain="away",
                  params=lambda draw, s: {"kernel_size": draw(st.sampled_from([2, (1, 2)]))},
                  label="p=2 signed"))
