"""Catalog entries for the scans family (tests/catalog.py appends ENTRIES and merges the sets)."""
import numpy as np
from hypothesis import strategies as st

import autodiff as ad
from catalog import Op, _norm_dim, fixed, in_place, reduce_params, unary

NAN = float("nan")


def _a_dim(draw, shapes):
    """One dim of the first shape (0 or -1 for a 0-d tensor)."""
    n = max(len(shapes[0]), 1)
    return {"dim": draw(st.integers(-n, n - 1))}


def _dim_keepdim(draw, shapes):
    return dict(_a_dim(draw, shapes), keepdim=draw(st.booleans()))


def _kth_params(draw, shapes):
    p = _dim_keepdim(draw, shapes)
    size = shapes[0][p["dim"]] if shapes[0] else 1
    return dict(p, k=draw(st.integers(1, size)))


def _quantile_params(draw, shapes):
    nd = len(shapes[0])
    return {"q": draw(st.sampled_from([0.0, 0.2, 0.5, 0.75, 1.0])),
            "dim": draw(st.one_of(st.none(), st.integers(-nd, nd - 1))) if nd else None,
            "keepdim": draw(st.booleans()),
            "interpolation": draw(st.sampled_from(["linear", "lower", "higher", "midpoint",
                                                   "nearest"]))}


def _on_dim(fn):
    """fn(x, axis) for a numpy reference, with a 0-d x treated as one element."""
    def ref(x, dim, **kw):
        if x.ndim == 0:
            return fn(x.reshape(1), 0, **kw).reshape(())
        return fn(x, dim % x.ndim, **kw)
    return ref


def _select_ref(position):
    """The element at sorted position position(n, k) along dim (numpy's stable sort)."""
    def ref(x, dim, keepdim, k=None):
        if x.ndim == 0:
            return x
        d = dim % x.ndim
        out = np.take(np.sort(x, axis=d), [position(x.shape[d], k)], axis=d)
        return out if keepdim else np.squeeze(out, d)
    return ref


def _np_lower_median(x):
    flat = np.sort(x.reshape(-1))
    return flat[(flat.size - 1) // 2]


def _np_quantile(x, q, dim, keepdim, interpolation):
    axis = None if dim is None or x.ndim == 0 else dim % x.ndim
    return np.quantile(x, q, axis=axis, keepdims=keepdim and x.ndim > 0, method=interpolation)


def _with_nan(fn):
    """fn applied to x with its second element replaced by NaN (a where: gradient 0 there)."""
    def wrapped(x, **kw):
        mask = np.zeros(x.shape, bool)
        mask[1] = True
        return fn(ad.where(ad.tensor(mask), NAN, x), **kw)
    return wrapped


def _np_with_nan(x):
    out = np.array(x)
    out[1] = np.nan
    return out


def _moments(fn):
    def run(x, dim, keepdim):
        return ad.stack(list(fn(x, dim, keepdim=keepdim)))
    return run


ENTRIES = [
    # scans
    Op("cumprod", lambda x, dim: ad.cumprod(x, dim), _on_dim(lambda x, d: np.cumprod(x, d)),
       unary(), params=_a_dim),
    Op("cumprod", lambda x: ad.cumprod(x * ad.tensor([1.0, 0.0, 1.0, 0.0],
                                                     dtype=ad.float64), 0),
       lambda x: np.cumprod(x * np.array([1.0, 0.0, 1.0, 0.0])), fixed((4,)), label="zeros"),
    Op("cumprod", lambda x: ad.cumprod(x * ad.tensor([[1.0], [0.0], [1.0]], dtype=ad.float64),
                                       0),
       lambda x: np.cumprod(x * np.array([[1.0], [0.0], [1.0]]), 0), fixed((3, 2)),
       label="a zero, 2-d"),
    Op("cummax", lambda x, dim: ad.cummax(x, dim).values,
       _on_dim(lambda x, d: np.maximum.accumulate(x, d)), unary(), domain="distinct",
       params=_a_dim),
    Op("cummin", lambda x, dim: x.cummin(dim)[0],
       _on_dim(lambda x, d: np.minimum.accumulate(x, d)), unary(), domain="distinct",
       params=_a_dim),
    Op("cummax", lambda x: ad.cummax(ad.cat([x, x]), 0).values,
       lambda x: np.maximum.accumulate(np.concatenate([x, x])), fixed((3,)), domain="distinct",
       label="ties"),
    Op("logcumsumexp", lambda x, dim: ad.logcumsumexp(x, dim),
       _on_dim(lambda x, d: np.logaddexp.accumulate(x, d)), unary(), params=_a_dim),
    Op("logcumsumexp", lambda x, dim: ad.logcumsumexp(x * 300, dim),
       _on_dim(lambda x, d: np.logaddexp.accumulate(x * 300, d)), unary(min_dims=1),
       params=_a_dim, domain="distinct", label="wide range"),
    # moments and extremes
    Op("var_mean", _moments(ad.var_mean),
       lambda x, dim, keepdim: np.stack([
           np.var(x, axis=_norm_dim(dim, x.ndim), keepdims=keepdim, ddof=1),
           np.mean(x, axis=_norm_dim(dim, x.ndim), keepdims=keepdim)]),
       unary(min_dims=1, min_side=2), params=reduce_params()),
    Op("std_mean", _moments(ad.std_mean),
       lambda x, dim, keepdim: np.stack([
           np.std(x, axis=_norm_dim(dim, x.ndim), keepdims=keepdim, ddof=1),
           np.mean(x, axis=_norm_dim(dim, x.ndim), keepdims=keepdim)]),
       unary(min_dims=1, min_side=2), params=reduce_params(), domain="distinct"),
    Op("std_mean", lambda x: ad.stack(list(ad.std_mean(x, 0, correction=0))),
       lambda x: np.stack([np.std(x, 0), np.mean(x, 0)]), fixed((3, 2)), domain="distinct",
       label="correction=0"),
    Op("aminmax", lambda x, dim, keepdim: ad.stack(list(ad.aminmax(x, dim=dim,
                                                                   keepdim=keepdim))),
       lambda x, dim, keepdim: np.stack([
           np.min(x, axis=_norm_dim(dim, x.ndim), keepdims=keepdim),
           np.max(x, axis=_norm_dim(dim, x.ndim), keepdims=keepdim)]),
       unary(), domain="distinct", params=reduce_params(allow_tuple=False)),
    # order statistics
    Op("median", ad.median, _np_lower_median, unary(), domain="distinct"),
    Op("median", lambda x, dim, keepdim: ad.median(x, dim, keepdim).values,
       _select_ref(lambda n, k: (n - 1) // 2), unary(), domain="distinct",
       params=_dim_keepdim, label="dim"),
    Op("nanmedian", ad.nanmedian, _np_lower_median, unary(), domain="distinct"),
    Op("nanmedian", lambda x, dim, keepdim: x.nanmedian(dim, keepdim)[0],
       _select_ref(lambda n, k: (n - 1) // 2), unary(), domain="distinct",
       params=_dim_keepdim, label="dim"),
    Op("nanmedian", _with_nan(ad.nanmedian),
       lambda x: _np_lower_median(x[np.arange(x.size) != 1]), fixed((4,)), domain="distinct",
       label="a NaN"),
    Op("mode", lambda x, dim, keepdim: ad.mode(x, dim, keepdim).values,
       _select_ref(lambda n, k: 0), unary(), domain="distinct", params=_dim_keepdim),
    Op("mode", lambda x: ad.mode(ad.cat([x, x[:1]])).values, lambda x: x[0], fixed((3,)),
       domain="distinct", label="a repeated value"),
    Op("kthvalue", lambda x, k, dim, keepdim: ad.kthvalue(x, k, dim, keepdim).values,
       _select_ref(lambda n, k: k - 1), unary(), domain="distinct", params=_kth_params),
    Op("quantile", ad.quantile, _np_quantile, unary(), domain="distinct",
       params=_quantile_params),
    Op("quantile", lambda x: ad.quantile(x, ad.tensor([0.1, 0.5, 1.0], dtype=x.dtype), 1),
       lambda x: np.quantile(x, [0.1, 0.5, 1.0], axis=1), fixed((2, 3)), domain="distinct",
       label="q tensor"),
    Op("nanquantile", ad.nanquantile, _np_quantile, unary(), domain="distinct",
       params=_quantile_params),
    Op("nanquantile", _with_nan(lambda x: ad.nanquantile(x, 0.4)),
       lambda x: np.nanquantile(_np_with_nan(x), 0.4), fixed((4,)), domain="distinct",
       label="a NaN"),
    Op("msort", ad.msort, lambda x: np.sort(x, 0), unary(min_dims=1), domain="distinct"),
    # NaN-ignoring reductions
    Op("nansum", ad.nansum, lambda x, dim, keepdim: np.sum(x, axis=_norm_dim(dim, x.ndim),
                                                          keepdims=keepdim),
       unary(), params=reduce_params()),
    Op("nansum", _with_nan(lambda x: ad.nansum(x, 0)),
       lambda x: np.nansum(_np_with_nan(x), 0), fixed((3, 2)), label="a NaN"),
    Op("nanmean", ad.nanmean, lambda x, dim, keepdim: np.mean(x, axis=_norm_dim(dim, x.ndim),
                                                             keepdims=keepdim),
       unary(), params=reduce_params()),
    Op("nanmean", _with_nan(lambda x: x.nanmean(0)),
       lambda x: np.nanmean(_np_with_nan(x), 0), fixed((3, 2)), label="a NaN"),
    # in place
    *in_place("cumprod_", lambda x: np.cumprod(x, 0), kw={"dim": 0}),
    *in_place("cumsum_", lambda x: np.cumsum(x, -1), kw={"dim": -1}),
]

NON_DIFFERENTIABLE = {"count_nonzero", "argsort", "unique", "unique_consecutive", "bincount",
                      "histc", "searchsorted", "bucketize"}
