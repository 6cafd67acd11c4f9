"""Catalog entries for the numerics family and the in-place triangles, renorm_ and view ops of
autodiff/inplace.py (tests/catalog.py appends ENTRIES and merges the sets)."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from catalog import (MAX_SIDE, Op, _np_sum_tuple, _on_tensor, _rows_after_first, _sum_tuple,
                     _through_view, fixed, unary)

MAXNORM = 1.3517  # (not a value hypothesis likes: a slice's norm never sits on the switch)


# --- references ---------------------------------------------------------------------------------

def _np_renorm(x, p, dim, maxnorm=MAXNORM):
    others = tuple(i for i in range(x.ndim) if i != dim % x.ndim)
    norm = np.max(np.abs(x), axis=others, keepdims=True) if p == np.inf else \
        np.sum(np.abs(x) ** p, axis=others, keepdims=True) ** (1 / p)
    return x * np.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)


def _renorm_params(draw, shapes):
    nd = len(shapes[0])
    return {"p": draw(st.sampled_from([1, 2, 3])), "dim": draw(st.integers(-nd, nd - 1))}


def _gradient_params(draw, shapes):
    nd = len(shapes[0])
    dim = draw(st.one_of(st.none(), st.integers(-nd, nd - 1),
                         st.permutations(range(nd)).map(lambda p: p[:max(1, len(p) - 1)])))
    return {"dim": dim, "spacing": draw(st.sampled_from([1, 0.5, 2.0])),
            "edge_order": draw(st.sampled_from([1, 2]))}


def _np_gradient(x, dim, spacing, edge_order):
    axes = range(x.ndim) if dim is None else dim
    out = np.gradient(x, spacing, axis=axes, edge_order=edge_order)
    return _np_sum_tuple(out if isinstance(out, (list, tuple)) else [out])


def _vander_shapes(draw):
    return [(draw(st.integers(2, MAX_SIDE)),)]


def _vander_params(draw, shapes):
    return {"N": draw(st.sampled_from([None, 2, 3, 4])), "increasing": draw(st.booleans())}


def _shapes_2d(n_others=0):
    """x with at least 2 dims and 2 rows, and n_others operands of its shape"""
    def draw_shapes(draw):
        shape = draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=2, max_side=MAX_SIDE))
        return [shape] * (1 + n_others)
    return draw_shapes


def in_place_2d(name, ref, domain="real", kw=None, label=""):
    """in_place() for methods that need at least 2 dims (through a view: rows 1.. of x)"""
    kw = kw or {}
    return [Op(name, _on_tensor(name, kw), ref, _shapes_2d(), domain=domain, label=label),
            Op(name, _through_view(name, kw), _rows_after_first(ref), _shapes_2d(),
               domain=domain, label=(label + ", " if label else "") + "through a view")]


# --- view ops in place: the shape changes, later ops (in place too) see it -----------------------

def _view_then_scale(method, *args):
    """a = x * 1; a.<method>(*args); a * w, w shaped like the result"""
    def fn(x, w):
        a = x * 1
        getattr(a, method)(*args)
        return a * w
    return fn


def _t_of_view(x, y):
    """t_ on a view of a non-leaf, then a change through the view reaches the base"""
    a = x * 1
    v = a[1:]
    v.t_()
    v.mul_(y.mT)
    return a


def _np_t_of_view(x, y):
    out = np.array(x)
    out[1:] = x[1:] * y
    return out


def _transposed_base_view(x, y):
    """a view taken before its base's transpose_ keeps its elements (its step is replayed
    through the inverse permutation)"""
    a = x * 1
    row = a[0]
    a.transpose_(0, 1)
    row.mul_(y)
    return a


def _np_transposed_base_view(x, y):
    out = np.array(x)
    out[0] = x[0] * y
    return out.T


def _squeezed_view(x):
    a = x * 1
    v = a[:, :1]
    v.squeeze_(1)
    v.unsqueeze_(0)
    v.exp_()
    return a


def _np_squeezed_view(x):
    out = np.array(x)
    out[:, :1] = np.exp(x[:, :1])
    return out


ENTRIES = [
    # mantissa = x * 2**-exponent: inputs kept in (2.55, 3.45), where the exponent is 2
    Op("frexp", lambda x: ad.frexp(x * 0.5 + 3.0)[0], lambda x: np.frexp(x * 0.5 + 3.0)[0],
       unary(), domain="unit"),
    Op("frexp", lambda x: (-x * 0.05 - 0.35).frexp().mantissa,
       lambda x: np.frexp(-x * 0.05 - 0.35)[0], unary(), domain="unit",
       label="method, exponent -1"),
    Op("renorm", lambda x, p, dim: ad.renorm(x, p, dim, MAXNORM), _np_renorm, unary(min_dims=2),
       domain="away", params=_renorm_params),
    Op("renorm", lambda x: x.renorm(float("inf"), 1, MAXNORM),
       lambda x: _np_renorm(x, np.inf, 1), unary(min_dims=2), domain="distinct",
       label="p=inf"),
    Op("gradient", lambda x, **kw: _sum_tuple(ad.gradient(x, **kw)), _np_gradient,
       lambda draw: [draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=3,
                                           max_side=MAX_SIDE))], params=_gradient_params),
    # coordinates (increasing: cumulative sums of positive steps) are differentiated too
    Op("gradient", lambda x, h: ad.gradient(x, spacing=(ad.cumsum(h, 0),), dim=1)[0],
       lambda x, h: np.gradient(x, np.cumsum(h), axis=1), fixed((2, 3), (3,)),
       domain=("real", "positive"), label="coordinates"),
    Op("gradient", lambda x, h: ad.gradient(x, spacing=[ad.cumsum(h, 0)], dim=0,
                                            edge_order=2)[0],
       lambda x, h: np.gradient(x, np.cumsum(h), axis=0, edge_order=2), fixed((3, 2), (3,)),
       domain=("real", "positive"), label="coordinates, edge_order=2"),
    Op("vander", ad.vander, lambda x, N, increasing: np.vander(x, N, increasing),
       _vander_shapes, params=_vander_params),
    # in place
    *in_place_2d("tril_", np.tril), *in_place_2d("triu_", lambda x: np.triu(x, 1), kw={
        "diagonal": 1}),
    *in_place_2d("renorm_", lambda x: _np_renorm(x, 2, 0), domain="away",
                 kw={"p": 2, "dim": 0, "maxnorm": MAXNORM}),
    # view ops in place
    Op("unsqueeze_", _view_then_scale("unsqueeze_", 1), lambda x, w: x[:, None] * w,
       fixed((2, 3), (2, 1, 3))),
    Op("squeeze_", _view_then_scale("squeeze_"), lambda x, w: np.squeeze(x) * w,
       fixed((2, 1, 3), (2, 3))),
    Op("squeeze_", _squeezed_view, _np_squeezed_view, fixed((3, 2)), label="on a view"),
    Op("t_", _view_then_scale("t_"), lambda x, w: x.T * w, fixed((2, 3), (3, 2))),
    Op("t_", _t_of_view, _np_t_of_view, fixed((3, 2), (2, 2)), label="on a view"),
    Op("transpose_", _view_then_scale("transpose_", 0, 2),
       lambda x, w: np.swapaxes(x, 0, 2) * w, fixed((2, 1, 3), (3, 1, 2))),
    Op("transpose_", _transposed_base_view, _np_transposed_base_view, fixed((2, 3), (3,)),
       label="a view of the base made before"),
]

NON_DIFFERENTIABLE = {"histogram", "histogramdd"}  # counts
METHOD_ALIASES = {"swapaxes_": "transpose_", "swapdims_": "transpose_"}
