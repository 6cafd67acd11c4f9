"""Catalog entries for autodiff/ops/conv.py, with naive numpy loop references (one output
pixel at a time, straight from the definitions). tests/catalog.py appends conv_catalog(Op)."""
import numpy as np
from hypothesis import strategies as st

import autodiff as ad
from autodiff.ops.conv import conv2d_input_grad


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


def np_conv2d_input_grad(g, w, x_shape, stride, padding, dilation, groups):
    """The adjoint of np_conv2d in x, column by column: J^T g with J built from unit inputs."""
    x_size = int(np.prod(x_shape))
    out = np.zeros(x_size)
    for k in range(x_size):
        e = np.zeros(x_size)
        e[k] = 1.0
        out[k] = np.sum(np_conv2d(e.reshape(x_shape), w, None, stride, padding, dilation,
                                  groups) * g)
    return out.reshape(x_shape)


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


def ig_fn(g, w, x_shape, stride, padding, dilation, groups):
    from autodiff.ops.conv import _padding, _pair
    s, d = _pair(stride, "stride", "t"), _pair(dilation, "dilation", "t")
    pads = _padding(padding, w.shape[2:], s, d, "t")
    return conv2d_input_grad(g, w, x_shape, s, pads, d, groups)


def ig_shapes_and_params():
    """conv2d_input_grad's inputs g (conv output shape) and w: shapes depend on the params, so
    both are drawn together and the shapes function reads them back."""
    state = {}

    def shapes(draw):
        x_shape, w_shape = conv_shapes(False)(draw)
        p = conv_params(draw, [x_shape, w_shape])
        with ad.no_grad():
            out = ad.conv2d(ad.zeros(*x_shape, dtype=ad.float64),
                            ad.zeros(*w_shape, dtype=ad.float64), **p)
        state["params"] = dict(p, x_shape=x_shape)
        return [out.shape, w_shape]

    def params(draw, shapes):
        return state["params"]
    return shapes, params


_ig_shapes, _ig_params = ig_shapes_and_params()


def conv_catalog(Op):
    """The entries, built with catalog.Op (passed in, so this module imports on its own)."""
    return [
        Op("conv2d", ad.conv2d, np_conv2d, conv_shapes(False), params=conv_params, label="no bias"),
        Op("conv2d", ad.conv2d, np_conv2d, conv_shapes(True), params=conv_params, label="bias"),
        Op("conv1d", lambda x, w, **p: ad.conv1d(x, w, **p),
           lambda x, w, **p: np_conv2d(x[:, :, None], w[:, :, None], stride=(1, p["stride"]),
                                       padding=(0, p["padding"]))[:, :, 0],
           lambda draw: [(2, 2, 7), (3, 2, 3)],
           params=lambda draw, s: {"stride": draw(st.sampled_from([1, 2])),
                                   "padding": draw(st.sampled_from([0, 1]))}),
        Op("conv2d_input_grad",
           lambda g, w, x_shape, **p: ig_fn(g, w, x_shape, p["stride"], p["padding"],
                                             p["dilation"], p["groups"]),
           lambda g, w, x_shape, **p: np_conv2d_input_grad(g, w, x_shape, **p),
           _ig_shapes, params=_ig_params),
        Op("max_pool2d", ad.max_pool2d, np_max_pool2d, pool_shapes, domain="distinct",
           params=pool_params),
        Op("avg_pool2d", ad.avg_pool2d, np_avg_pool2d, pool_shapes, params=pool_params),
        Op("adaptive_avg_pool2d", ad.adaptive_avg_pool2d, np_adaptive_avg_pool2d, pool_shapes,
           params=lambda draw, s: {"output_size": draw(st.sampled_from([1, 2, 3, (2, 3)]))}),
    ]
