"""Catalog entries for the products family (tests/catalog.py appends ENTRIES and merges the
sets)."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from catalog import MAX_SIDE, Op, fixed, one_dim_param, unary

INF = float("inf")


# --- references ---------------------------------------------------------------------------------

def np_pnorm(d, p, axis=None):
    a = np.abs(d)
    if p == 0:
        return np.sum(a != 0, axis=axis).astype(d.dtype)
    if p == INF:
        return np.max(a, axis=axis)
    return np.sum(a ** p, axis=axis) ** (1 / p)


def np_cdist(a, b, p):
    return np_pnorm(a[..., :, None, :] - b[..., None, :, :], p, axis=-1)


def np_pdist(x, p):
    i, j = np.triu_indices(x.shape[0], 1)
    return np_pnorm(x[i] - x[j], p, axis=-1)


def np_kron(a, b):
    return np.kron(a, b) if a.ndim or b.ndim else a * b


def np_cross(a, b, dim):
    return np.cross(a, b, axis=dim)


def np_trapezoid(y, x=None, dx=1.0, dim=-1):
    return np.trapezoid(y, x, dx=dx, axis=dim)


def np_cumulative_trapezoid(y, x=None, dx=1.0, dim=-1):
    y = np.moveaxis(y, dim, -1)
    width = dx if x is None else np.diff(x if x.ndim == 1 else np.moveaxis(x, dim, -1), axis=-1)
    return np.moveaxis(np.cumsum(width * (y[..., 1:] + y[..., :-1]) / 2, axis=-1), -1, dim)


# --- shapes and parameters ---------------------------------------------------------------------

def _cdist_shapes(draw):
    """x1 (..., P, M) and x2 (..., R, M) with broadcastable batch dims"""
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=1,
                                                   max_side=2)).input_shapes
    p, r, m = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, MAX_SIDE))
    return [batch[0] + (p, m), batch[1] + (r, m)]


def _rows(min_rows=1, min_cols=1):
    def draw_shapes(draw):
        return [(draw(st.integers(min_rows, MAX_SIDE)), draw(st.integers(min_cols, MAX_SIDE)))]
    return draw_shapes


def _cross_shapes(draw):
    """two broadcastable shapes with a 3 at one dim of both (the dim is drawn by the params)"""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2,
                                                    max_side=2)).input_shapes
    n = max(len(shapes[0]), len(shapes[1]))
    a, b = ((1,) * (n - len(s)) + s for s in shapes)
    k = draw(st.integers(0, n))
    return [a[:k] + (3,) + a[k:], b[:k] + (3,) + b[k:]]


def _cross_dim(draw, shapes):
    dims = [i for i, (p, q) in enumerate(zip(*shapes)) if p == q == 3]
    d = draw(st.sampled_from(dims))
    return {"dim": draw(st.sampled_from([d, d - len(shapes[0])]))}


def _tensordot_params(draw, shapes):
    return {"dims": draw(st.sampled_from([0, 1, ([1, 0], [1, 0]), ([-1], [-3]),
                                          ([0, 2], [2, 0])]))}


def _np_tensordot(a, b, dims):
    return np.tensordot(a, b, dims)


def _cov_params(draw, shapes):
    return {"correction": draw(st.sampled_from([0, 1]))}


def _np_cov(x, correction):
    return np.asarray(np.cov(x, ddof=correction))


# --- in place: recorded on a non-leaf, and through a view of one ---------------------------------

def _on_tensor(name, kw):
    def fn(x, *others):
        a = x * 1
        getattr(a, name)(*others, **kw)
        return a
    return fn


def _through_view(name, kw):
    """the op on rows 1.. of a non-leaf (the view's base's history is rewritten)"""
    def fn(x, *others):
        a = x * 1
        getattr(a[1:], name)(*others, **kw)
        return a
    return fn


def _rows_after_first(ref):
    def partial(x, *others):
        out = np.array(x)
        out[1:] = ref(x[1:], *others)
        return out
    return partial


def _in_place(name, ref, shapes, view_shapes, kw):
    return [Op(name, _on_tensor(name, kw), ref, fixed(*shapes)),
            Op(name, _through_view(name, kw), _rows_after_first(ref), fixed(*view_shapes),
               label="through a view")]


def _addmm_ref(i, a, b, beta=1, alpha=1):
    return beta * i + alpha * (a @ b)


def _addbmm_ref(i, a, b, beta=1, alpha=1):
    return beta * i + alpha * np.einsum("bij,bjk->ik", a, b)


def _addr_ref(i, a, b, beta=1, alpha=1):
    return beta * i + alpha * np.outer(a, b)


K = {"beta": 0.5, "alpha": -2.0}

ENTRIES = [
    # the addmm family (beta, alpha; input broadcast to the product's shape)
    Op("addmm", lambda i, a, b: ad.addmm(i, a, b, **K), lambda i, a, b: _addmm_ref(i, a, b, **K),
       fixed((3,), (2, 4), (4, 3))),
    Op("addmm", ad.addmm, _addmm_ref, fixed((2, 3), (2, 1), (1, 3)), label="defaults"),
    Op("addmm", lambda i, a, b: ad.addmm(i, a, b, beta=0), lambda i, a, b: a @ b,
       fixed((2, 1), (2, 3), (3, 3)), label="beta=0"),
    Op("addmv", lambda i, a, b: ad.addmv(i, a, b, **K), lambda i, a, b: _addmm_ref(i, a, b, **K),
       fixed((), (2, 3), (3,))),
    Op("addr", lambda i, a, b: ad.addr(i, a, b, **K), lambda i, a, b: _addr_ref(i, a, b, **K),
       fixed((2, 1), (2,), (3,))),
    Op("baddbmm", lambda i, a, b: ad.baddbmm(i, a, b, **K),
       lambda i, a, b: _addmm_ref(i, a, b, **K), fixed((1, 2, 1), (2, 2, 2), (2, 2, 1))),
    Op("addbmm", lambda i, a, b: ad.addbmm(i, a, b, **K),
       lambda i, a, b: _addbmm_ref(i, a, b, **K), fixed((2, 1), (2, 2, 2), (2, 2, 1))),
    *_in_place("addmm_", lambda x, a, b: _addmm_ref(x, a, b, **K), [(2, 2), (2, 1), (1, 2)],
               [(3, 2), (2, 1), (1, 2)], K),
    Op("addmv_", _on_tensor("addmv_", K), lambda x, a, b: _addmm_ref(x, a, b, **K),
       fixed((2,), (2, 2), (2,))),
    Op("addr_", _on_tensor("addr_", K), lambda x, a, b: _addr_ref(x, a, b, **K),
       fixed((2, 2), (2,), (2,))),
    Op("baddbmm_", _on_tensor("baddbmm_", K), lambda x, a, b: _addmm_ref(x, a, b, **K),
       fixed((2, 1, 2), (2, 1, 2), (2, 2, 2))),
    Op("addbmm_", _on_tensor("addbmm_", K), lambda x, a, b: _addbmm_ref(x, a, b, **K),
       fixed((2, 2), (2, 2, 1), (2, 1, 2))),
    # products of fixed ranks
    Op("mv", ad.mv, np.matmul, fixed((2, 3), (3,))),
    Op("ger", ad.ger, np.outer, fixed((3,), (2,))),
    Op("vdot", ad.vdot, np.dot, fixed((3,), (3,))),
    Op("chain_matmul", ad.chain_matmul, lambda a, b, c: a @ b @ c, fixed((2, 3), (3, 1), (1, 2))),
    Op("chain_matmul", ad.chain_matmul, lambda a: a.copy(), fixed((2, 3)), label="one matrix"),
    # contractions
    Op("inner", ad.inner, np.inner, fixed((2, 3), (2, 3))),
    Op("inner", ad.inner, np.inner, fixed((), (2, 3)), label="0-d"),
    Op("inner", ad.inner, np.inner, fixed((3,), (2, 1, 3)), label="vector"),
    Op("tensordot", ad.tensordot, _np_tensordot, fixed((2, 1, 2), (2, 1, 2)),
       params=_tensordot_params),
    Op("kron", ad.kron, np_kron, lambda draw: [
        draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=2)) for _ in range(2)]),
    Op("cross", ad.cross, np_cross, _cross_shapes, params=_cross_dim),
    # distances (differences kept away from 0 and from ties: the norms' kinks)
    Op("cdist", lambda a, b: ad.cdist(a, -b), lambda a, b: np_cdist(a, -b, 2), _cdist_shapes,
       domain="positive"),
    *[Op("cdist", lambda a, b, p=p: ad.cdist(a, -b, p=p), lambda a, b, p=p: np_cdist(a, -b, p),
         _cdist_shapes, domain="positive", label=f"p={p}") for p in (0.5, 1, 1.5, 3)],
    Op("cdist", lambda a, b: ad.cdist(a, -b, compute_mode="use_mm_for_euclid_dist"),
       lambda a, b: np_cdist(a, -b, 2), _cdist_shapes, domain="positive", label="mm"),
    Op("cdist", lambda a: ad.cdist(a + 2.5, ad.zeros(2, a.shape[-1], dtype=a.dtype), p=INF),
       lambda a: np_cdist(a + 2.5, np.zeros((2, a.shape[-1])), INF), _rows(), domain="distinct",
       label="p=inf"),
    Op("cdist", lambda a, b: ad.cdist(a, -b, p=0), lambda a, b: np_cdist(a, -b, 0),
       _cdist_shapes, domain="positive", label="p=0"),
    Op("pdist", ad.pdist, lambda x: np_pdist(x, 2), _rows(), domain="distinct"),
    *[Op("pdist", lambda x, p=p: ad.pdist(x, p), lambda x, p=p: np_pdist(x, p), _rows(),
         domain="distinct", label=f"p={p}") for p in (0.5, 1, 3)],
    Op("dist", lambda a, b: ad.dist(a, -b), lambda a, b: np_pnorm(a + b, 2),
       lambda draw: [draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=MAX_SIDE))] * 2,
       domain="positive"),
    *[Op("dist", lambda a, b, p=p: ad.dist(a, -b, p), lambda a, b, p=p: np_pnorm(a + b, p),
         fixed((2, 3), (3,)), domain="positive", label=f"p={p}") for p in (0.5, 1, 3, INF)],
    # statistics
    Op("cov", lambda x, correction: ad.cov(x, correction=correction), _np_cov,
       lambda draw: [draw(st.sampled_from([(), (1,), (2,)])) + (3,)], params=_cov_params),
    Op("cov", lambda x, w: ad.cov(x, fweights=ad.tensor([2, 0, 1]), aweights=w),
       lambda x, w: np.cov(x, fweights=[2, 0, 1], aweights=w), fixed((2, 3), (3,)),
       domain=("real", "positive"), label="weights"),
    Op("corrcoef", ad.corrcoef, lambda x: np.asarray(np.corrcoef(x)),
       lambda draw: [draw(st.sampled_from([(), (1,), (2,), (3,)])) + (3,)],
       domain="distinct"),
    # integration
    Op("trapezoid", ad.trapezoid, np_trapezoid, unary(min_dims=1), params=one_dim_param),
    Op("trapezoid", lambda y: ad.trapezoid(y, dx=0.5), lambda y: np_trapezoid(y, dx=0.5),
       unary(min_dims=1), label="dx"),
    Op("trapezoid", lambda y, x: ad.trapezoid(y, x, dim=0), lambda y, x: np_trapezoid(y, x, dim=0),
       fixed((3, 2), (3,)), label="x along dim"),
    Op("trapezoid", ad.trapezoid, np_trapezoid, fixed((2, 3), (2, 3)), label="x like y"),
    Op("cumulative_trapezoid", ad.cumulative_trapezoid, np_cumulative_trapezoid,
       unary(min_dims=1), params=one_dim_param),
    Op("cumulative_trapezoid", lambda y, x: ad.cumulative_trapezoid(y, x, dim=0),
       lambda y, x: np_cumulative_trapezoid(y, x, dim=0), fixed((3, 2), (3,)), label="x"),
    Op("cumulative_trapezoid", lambda y: ad.cumulative_trapezoid(y, dx=2.0),
       lambda y: np_cumulative_trapezoid(y, dx=2.0), fixed((2, 3)), label="dx"),
]
NON_DIFFERENTIABLE = set()     # public functions with no gradient
