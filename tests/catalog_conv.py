"""Catalog entries for autodiff/ops/conv.py (convolutions, transposed convolutions, unfold /
fold, pixel and channel shuffles) and the 2-D pooling ops, with naive numpy loop references
(one output element at a time, straight from the definitions). tests/catalog.py appends
conv_catalog(Op)."""
import numpy as np
from hypothesis import strategies as st

import autodiff as ad


# --- naive references ---------------------------------------------------------------------------

def _pads(padding, kernel, dilation):
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                     for k, d in zip(kernel, dilation))
    p = (padding, padding) if isinstance(padding, int) else padding
    return (p[0], p[0]), (p[1], p[1])


def _two(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def np_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, h, w] = b[o] + sum_{c,i,j} w[o, c, i, j] xpad[n, g Cg + c, s h + d i, s w + d j]"""
    (sh, sw), (dh, dw) = _two(stride), _two(dilation)
    o_ch, cg, kh, kw = w.shape
    (t, bt), (l, r) = _pads(padding, (kh, kw), (dh, dw))
    xp = np.pad(x, ((0, 0), (0, 0), (t, bt), (l, r)))
    n = x.shape[0]
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    og = o_ch // groups
    out = np.zeros((n, o_ch, oh, ow))
    for b_ in range(n):
        for o in range(o_ch):
            g = o // og
            for h in range(oh):
                for v in range(ow):
                    acc = 0.0 if b is None else b[o]
                    for c in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                acc += w[o, c, i, j] * xp[b_, g * cg + c, sh * h + dh * i,
                                                          sw * v + dw * j]
                    out[b_, o, h, v] = acc
    return out


def _np_pool(x, kernel_size, stride, padding, reduce, fill):
    k = _two(kernel_size)
    s = k if stride is None else _two(stride)
    p = _two(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=fill)
    oh = (xp.shape[2] - k[0]) // s[0] + 1
    ow = (xp.shape[3] - k[1]) // s[1] + 1
    out = np.zeros(x.shape[:2] + (oh, ow))
    for h in range(oh):
        for v in range(ow):
            win = xp[:, :, s[0] * h:s[0] * h + k[0], s[1] * v:s[1] * v + k[1]]
            out[:, :, h, v] = reduce(win)
    return out


def np_max_pool2d(x, kernel_size, stride=None, padding=0):
    return _np_pool(x, kernel_size, stride, padding, lambda w: w.max(axis=(2, 3)), -np.inf)


def np_avg_pool2d(x, kernel_size, stride=None, padding=0):
    return _np_pool(x, kernel_size, stride, padding, lambda w: w.mean(axis=(2, 3)), 0.0)


def np_adaptive_avg_pool2d(x, output_size):
    oh, ow = _two(output_size)
    h, w = x.shape[2:]
    out = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = slice(i * h // oh, -(-(i + 1) * h // oh))
            cols = slice(j * w // ow, -(-(j + 1) * w // ow))
            out[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
    return out


# --- shapes and parameters ------------------------------------------------------------------------

def conv_shapes(bias):
    """x (N, G*Cg, H, W), w (G*Og, Cg, KH, KW) [, b (G*Og,)]; groups = x.C / w.shape[1]."""
    def draw_shapes(draw):
        n, grp, cg, og = (draw(st.integers(1, 2)) for _ in range(4))
        h, w = draw(st.integers(5, 6)), draw(st.integers(5, 6))
        kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        shapes = [(n, grp * cg, h, w), (grp * og, cg, kh, kw)]
        return shapes + [(grp * og,)] if bias else shapes
    return draw_shapes


def conv_params(draw, shapes):
    padding = draw(st.sampled_from([0, 1, (1, 0), (0, 2), "same", "valid"]))
    stride = 1 if padding == "same" else draw(st.sampled_from([1, 2, (2, 1)]))
    return {"stride": stride, "padding": padding,
            "dilation": draw(st.sampled_from([1, 2, (1, 2)])),
            "groups": shapes[0][1] // shapes[1][1]}


def pool_shapes(draw):
    return [(draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(4, 6)),
             draw(st.integers(4, 6)))]


def pool_params(draw, shapes):
    k = draw(st.sampled_from([1, 2, 3, (2, 3)]))
    kk = _two(k)
    padding = draw(st.sampled_from([0, 1])) if min(kk) >= 2 else 0
    return {"kernel_size": k, "stride": draw(st.sampled_from([None, 1, 2, (1, 2)])),
            "padding": padding}


# --- N-d references: convolution, transposed convolution, blocks, shuffles -----------------------

def _tup(v, nd):
    return (v,) * nd if isinstance(v, int) else tuple(v)


def np_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, p] = b[o] + sum_{c, k} w[o, c, k] xpad[n, g Cg + c, s p + d k], any rank."""
    nd = w.ndim - 2
    s, d, k = _tup(stride, nd), _tup(dilation, nd), w.shape[2:]
    if padding == "same":
        pads = [(dd * (kk - 1) // 2, dd * (kk - 1) - dd * (kk - 1) // 2) for kk, dd in zip(k, d)]
    else:
        pads = [(p, p) for p in _tup(0 if padding == "valid" else padding, nd)]
    xp = np.pad(x, [(0, 0), (0, 0)] + pads)
    osz = [(xp.shape[2 + i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(nd)]
    o_ch, cg = w.shape[:2]
    og = o_ch // groups
    out = np.zeros((x.shape[0], o_ch, *osz))
    for n, o, *pos in np.ndindex(*out.shape):
        g = o // og
        acc = 0.0 if b is None else b[o]
        for c in range(cg):
            for kk in np.ndindex(*k):
                idx = tuple(s[i] * pos[i] + d[i] * kk[i] for i in range(nd))
                acc += w[(o, c) + kk] * xp[(n, g * cg + c) + idx]
        out[(n, o, *pos)] = acc
    return out


def np_conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                      dilation=1):
    """out[n, g Cog + c, s i + d k - p] += x[n, g Cig + ci, i] w[g Cig + ci, c, k] (scatter)."""
    nd = w.ndim - 2
    s, p, e, d = (_tup(v, nd) for v in (stride, padding, output_padding, dilation))
    k = w.shape[2:]
    size = [(x.shape[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + e[i] + 1
            for i in range(nd)]
    cig, cog = w.shape[0] // groups, w.shape[1]
    out = np.zeros((x.shape[0], cog * groups, *size))
    for n, ci, *pos in np.ndindex(*x.shape):
        g = ci // cig
        for c in range(cog):
            for kk in np.ndindex(*k):
                q = tuple(s[i] * pos[i] + d[i] * kk[i] - p[i] for i in range(nd))
                if all(0 <= q[i] < size[i] for i in range(nd)):
                    out[(n, g * cog + c) + q] += x[(n, ci, *pos)] * w[(ci, c) + kk]
    if b is not None:
        out += b.reshape((1, -1) + (1,) * nd)
    return out


def _blocks(size, kernel_size, dilation, padding, stride):
    k, d, p, s = (_two(v) for v in (kernel_size, dilation, padding, stride))
    nb = [(size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
    return k, d, p, s, nb


def np_unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """out[n, (c, i, j), (bh, bw)] = x[n, c, s bh + d i - p, s bw + d j - p] (0 outside)."""
    k, d, p, s, nb = _blocks(x.shape[2:], kernel_size, dilation, padding, stride)
    n, c = x.shape[:2]
    out = np.zeros((n, c, k[0], k[1], nb[0], nb[1]))
    for b_, ch, i, j, bh, bw in np.ndindex(*out.shape):
        h, v = s[0] * bh + d[0] * i - p[0], s[1] * bw + d[1] * j - p[1]
        if 0 <= h < x.shape[2] and 0 <= v < x.shape[3]:
            out[b_, ch, i, j, bh, bw] = x[b_, ch, h, v]
    return out.reshape(n, c * k[0] * k[1], nb[0] * nb[1])


def np_fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The scatter-add of np_unfold: out[n, c, s bh + d i - p, ...] += x[n, (c, i, j), l]."""
    size = _two(output_size)
    k, d, p, s, nb = _blocks(size, kernel_size, dilation, padding, stride)
    n = x.shape[0]
    c = x.shape[1] // (k[0] * k[1])
    cols = x.reshape(n, c, k[0], k[1], nb[0], nb[1])
    out = np.zeros((n, c) + size)
    for b_, ch, i, j, bh, bw in np.ndindex(*cols.shape):
        h, v = s[0] * bh + d[0] * i - p[0], s[1] * bw + d[1] * j - p[1]
        if 0 <= h < size[0] and 0 <= v < size[1]:
            out[b_, ch, h, v] += cols[b_, ch, i, j, bh, bw]
    return out


def np_unfold_any(x, **p):
    return np_unfold(x[None], **p)[0] if x.ndim == 3 else np_unfold(x, **p)


def np_fold_any(x, **p):
    return np_fold(x[None], **p)[0] if x.ndim == 2 else np_fold(x, **p)


def np_pixel_shuffle(x, upscale_factor):
    r = upscale_factor
    *lead, c, h, w = x.shape
    out = np.zeros((*lead, c // r ** 2, h * r, w * r))
    for ch, i, j, hh, ww in np.ndindex(c // r ** 2, r, r, h, w):
        out[..., ch, hh * r + i, ww * r + j] = x[..., ch * r * r + i * r + j, hh, ww]
    return out


def np_pixel_unshuffle(x, downscale_factor):
    r = downscale_factor
    *lead, c, h, w = x.shape
    out = np.zeros((*lead, c * r * r, h // r, w // r))
    for ch, i, j, hh, ww in np.ndindex(c, r, r, h // r, w // r):
        out[..., ch * r * r + i * r + j, hh, ww] = x[..., ch, hh * r + i, ww * r + j]
    return out


def np_channel_shuffle(x, groups):
    m = x.shape[1] // groups
    out = np.zeros_like(x)
    for i, j in np.ndindex(groups, m):
        out[:, j * groups + i] = x[:, i * m + j]
    return out


def _nd_conv_case(nd, transposed):
    """The shapes and params draw functions for an nd-d (transposed) convolution with a bias drawn
    or not; tiny sides so that second order by finite differences stays cheap."""
    def shapes(draw):
        grp, cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
        if nd == 3:  # (every element is differenced twice in the second-order check)
            n, cg, side, kmax = 1, 1, (2, 3), 2
        else:
            n, side, kmax = draw(st.integers(1, 2)), ((2, 4) if transposed else (3, 5)), 3
        size = tuple(draw(st.integers(*side)) for _ in range(nd))
        kernel = tuple(draw(st.integers(1, kmax)) for _ in range(nd))
        if transposed:  # x (N, G Cig, *S), w (G Cig, Cog, *K), b (G Cog,)
            shapes = [(n, grp * cg) + size, (grp * cg, og) + kernel]
        else:  # x (N, G Cg, *S), w (G Og, Cg, *K), b (G Og,)
            shapes = [(n, grp * cg) + size, (grp * og, cg) + kernel]
        if draw(st.booleans()):
            shapes.append((grp * og,))
        return shapes

    def params(draw, shapes):
        x, w = shapes[0], shapes[1]
        if not transposed:
            groups = x[1] // w[1]
        elif len(shapes) == 3:
            groups = shapes[2][0] // w[1]
        else:  # any divisor of the input channels is a valid grouping of a transposed weight
            groups = draw(st.sampled_from([g for g in (1, 2) if x[1] % g == 0]))
        one = st.integers(1, 2) if nd == 1 else \
            st.one_of(st.integers(1, 2), st.tuples(*[st.integers(1, 2)] * nd))
        stride, dilation = draw(one), draw(one)
        if transposed:
            s, d = _tup(stride, nd), _tup(dilation, nd)
            extra = tuple(draw(st.integers(0, max(a, b) - 1)) for a, b in zip(s, d))
            pad = draw(st.integers(0, 1))
            size = [(x[2 + i] - 1) * s[i] - 2 * pad + d[i] * (w[2 + i] - 1) + extra[i] + 1
                    for i in range(nd)]
            if min(size) < 1:
                pad = 0
            return {"stride": stride, "padding": pad, "output_padding": extra,
                    "groups": groups, "dilation": dilation}
        padding = draw(st.sampled_from([0, 1, "same", "valid"]))
        if padding == "same":
            stride = 1
        p = 0 if padding in ("same", "valid") else padding
        d = _tup(dilation, nd)
        if any(x[2 + i] + 2 * p < d[i] * (w[2 + i] - 1) + 1 for i in range(nd)):
            dilation = 1
            if any(x[2 + i] + 2 * p < w[2 + i] for i in range(nd)):
                padding = "same"
                stride = 1
        return {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return {"shapes": shapes, "params": params}


def _joint(draw_case):
    """The shapes and params draw functions from one draw_case(draw) -> (shapes, params), for ops
    whose shapes depend on their parameters (the catalog draws shapes, then params)."""
    state = {}

    def shapes(draw):
        state["shapes"], state["params"] = draw_case(draw)
        return state["shapes"]

    def params(draw, shapes):
        return state["params"]
    return {"shapes": shapes, "params": params}


def _draw_blocks(draw, size):
    k = draw(st.sampled_from([1, 2, (1, 2), (2, 3)]))
    kk = _two(k)
    d = draw(st.sampled_from([1, (2, 1)]))
    p = draw(st.sampled_from([0, 1, (1, 0)]))
    s = draw(st.sampled_from([1, 2, (1, 2)]))
    dd, pp = _two(d), _two(p)
    if any(size[i] + 2 * pp[i] < dd[i] * (kk[i] - 1) + 1 for i in range(2)):
        d = 1
        if any(size[i] + 2 * pp[i] < kk[i] for i in range(2)):
            k = 1
    return {"kernel_size": k, "dilation": d, "padding": p, "stride": s}


def _unfold_case(draw):
    """image (N, C, H, W) or unbatched (C, H, W)"""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(2, 4)),
             draw(st.integers(2, 4)))
    if draw(st.booleans()):
        shape = shape[1:]
    return [shape], _draw_blocks(draw, shape[-2:])


def _fold_case(draw):
    """columns (N, C * KH * KW, L) or unbatched, for an output_size image"""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    size = (draw(st.integers(2, 4)), draw(st.integers(2, 4)))
    p = _draw_blocks(draw, size)
    k, _, _, _, nb = _blocks(size, p["kernel_size"], p["dilation"], p["padding"], p["stride"])
    shape = (n, c * k[0] * k[1], nb[0] * nb[1])
    if draw(st.booleans()):
        shape = shape[1:]
    return [shape], dict(p, output_size=size)


def _pixel_shuffle_case(draw):
    """(*, C r^2, H, W) with 0 to 2 leading dims"""
    r = draw(st.sampled_from([1, 2]))
    lead = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    return [lead + (r * r * draw(st.integers(1, 2)), draw(st.integers(1, 2)),
                    draw(st.integers(1, 3)))], {"upscale_factor": r}


def _pixel_unshuffle_case(draw):
    r = draw(st.sampled_from([1, 2]))
    lead = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    return [lead + (draw(st.integers(1, 2)), r * draw(st.integers(1, 2)),
                    r * draw(st.integers(1, 2)))], {"downscale_factor": r}


def _channel_shuffle_case(draw):
    g = draw(st.sampled_from([1, 2, 3]))
    rest = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    return [(draw(st.integers(1, 2)), g * draw(st.integers(1, 2))) + rest], {"groups": g}


def conv_catalog(Op):
    """The entries, built with catalog.Op (passed in, so this module imports on its own)."""
    return [
        Op("conv2d", ad.conv2d, np_conv2d, conv_shapes(False), params=conv_params, label="no bias"),
        Op("conv2d", ad.conv2d, np_conv2d, conv_shapes(True), params=conv_params, label="bias"),
        *[Op(f"conv{nd}d", getattr(ad, f"conv{nd}d"), np_conv, **_nd_conv_case(nd, False))
          for nd in (1, 3)],
        *[Op(f"conv_transpose{nd}d", getattr(ad, f"conv_transpose{nd}d"), np_conv_transpose,
             **_nd_conv_case(nd, True)) for nd in (1, 2, 3)],
        Op("im2col", ad.im2col, np_unfold_any, **_joint(_unfold_case)),
        Op("col2im", ad.col2im, np_fold_any, **_joint(_fold_case)),
        Op("pixel_shuffle", ad.pixel_shuffle, np_pixel_shuffle, **_joint(_pixel_shuffle_case)),
        Op("pixel_unshuffle", ad.pixel_unshuffle, np_pixel_unshuffle,
           **_joint(_pixel_unshuffle_case)),
        Op("channel_shuffle", ad.channel_shuffle, np_channel_shuffle,
           **_joint(_channel_shuffle_case)),
        Op("max_pool2d", ad.max_pool2d, np_max_pool2d, pool_shapes, domain="distinct",
           params=pool_params),
        Op("avg_pool2d", ad.avg_pool2d, np_avg_pool2d, pool_shapes, params=pool_params),
        Op("adaptive_avg_pool2d", ad.adaptive_avg_pool2d, np_adaptive_avg_pool2d, pool_shapes,
           params=lambda draw, s: {"output_size": draw(st.sampled_from([1, 2, 3, (2, 3)]))}),
    ]
