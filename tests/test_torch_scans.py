"""The scans family (autodiff/ops/scans.py) against PyTorch: values, dtypes, indices, first-order
gradients (second order for a subset) and the exception classes.

Each case is written once as fn(lib, *tensors), lib being autodiff or torch."""
import numpy as np
import pytest

import autodiff as ad
from _torch import _outputs, assert_close, run_outputs as run, same_error, to_ad, to_torch

RNG = np.random.default_rng(0)
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning")
NAN, INF = float("nan"), float("inf")


def arr(*shape, dtype=np.float64):
    if np.dtype(dtype).kind == "f":
        return RNG.standard_normal(shape).astype(dtype)
    if np.dtype(dtype) == np.bool_:
        return RNG.integers(0, 2, shape).astype(bool)
    return RNG.integers(-5, 6, shape).astype(dtype)


def distinct(*shape):
    """Values without ties (selection ops whose tie index torch leaves unspecified)."""
    n = int(np.prod(shape))
    return RNG.permutation(np.linspace(-2, 2, n) + 0.01 * RNG.standard_normal(n)).reshape(shape)


def a(*values):
    return np.array(values, dtype=np.float64)


# --- values and gradients ----------------------------------------------------------------------

CASES = {
    # cumprod
    "cumprod": (lambda L, x: L.cumprod(x, 1), arr(3, 4)),
    "cumprod negative dim": (lambda L, x: x.cumprod(-2), arr(2, 3, 2)),
    "cumprod one zero": (lambda L, x: L.cumprod(x, 0), a(1.5, -2.0, 0.0, 3.0, 0.5)),
    "cumprod two zeros": (lambda L, x: L.cumprod(x, 0), a(0.0, 2.0, 0.0, 3.0)),
    "cumprod zero in rows": (lambda L, x: L.cumprod(x, 1), np.array([[1.0, 0, 2], [0, 3, 4]])),
    "cumprod zero first": (lambda L, x: L.cumprod(x, 0), a(0.0, 2.0, 3.0)),
    "cumprod tiny": (lambda L, x: L.cumprod(x, 0), a(1e-5, 2.0, 3.0)),
    "cumprod 0-d": (lambda L, x: L.cumprod(x, 0), arr()),
    "cumprod empty": (lambda L, x: L.cumprod(x, 0), arr(0, 3)),
    "cumprod int": (lambda L, x: L.cumprod(x, 0), arr(4, dtype=np.int32)),
    "cumprod bool": (lambda L, x: L.cumprod(x, 0), arr(4, dtype=np.bool_)),
    "cumprod dtype": (lambda L, x: L.cumprod(x, 0, dtype=L.float64), arr(3, dtype=np.int64)),
    "cumprod float32": (lambda L, x: L.cumprod(x, 0), arr(4, dtype=np.float32)),
    # cummax / cummin
    "cummax": (lambda L, x: L.cummax(x, 1), distinct(3, 4)),
    "cummax ties": (lambda L, x: L.cummax(x, 0), a(1, 3, 3, 2, 5, 5, 0)),
    "cummin ties": (lambda L, x: x.cummin(0), a(3, 1, 1, 2, 1, 0, 0)),
    "cummax nan": (lambda L, x: L.cummax(x, 0), a(1, NAN, 3, NAN, 0)),
    "cummin nan": (lambda L, x: L.cummin(x, 0), a(1, NAN, -3, NAN)),
    "cummax inf": (lambda L, x: L.cummax(x, 0), a(-INF, 1, INF, 2)),
    "cummin dim 0": (lambda L, x: L.cummin(x, 0), distinct(3, 2)),
    "cummax 0-d": (lambda L, x: L.cummax(x, 0), arr()),
    "cummax empty": (lambda L, x: L.cummax(x, 1), arr(0, 3)),
    "cummax int": (lambda L, x: L.cummax(x, 0), np.array([1, 3, 2, 3, 0])),
    # logcumsumexp
    "logcumsumexp": (lambda L, x: L.logcumsumexp(x, 1), arr(3, 4)),
    "logcumsumexp dim 0": (lambda L, x: x.logcumsumexp(0), arr(4, 2)),
    "logcumsumexp wide": (lambda L, x: L.logcumsumexp(x * 1000, 0), arr(6), {"tol": 1e-8}),
    "logcumsumexp large": (lambda L, x: L.logcumsumexp(x, 0), a(800.0, -800.0, 5.0, 790.0)),
    "logcumsumexp -inf": (lambda L, x: L.logcumsumexp(x, 0), a(0.0, -INF, 1.0)),
    "logcumsumexp float32": (lambda L, x: L.logcumsumexp(x * 50, 0),
                             arr(5, dtype=np.float32), {"tol": 1e-4}),
    "logcumsumexp 0-d": (lambda L, x: L.logcumsumexp(x, -1), arr()),
    "logcumsumexp empty": (lambda L, x: L.logcumsumexp(x, 0), arr(0, 2)),
    # var_mean / std_mean
    "var_mean": (lambda L, x: L.var_mean(x), arr(3, 4)),
    "var_mean dim keepdim": (lambda L, x: L.var_mean(x, 1, keepdim=True), arr(3, 4)),
    "var_mean dims correction": (lambda L, x: L.var_mean(x, (0, 2), correction=0), arr(2, 3, 2)),
    "var_mean unbiased": (lambda L, x: L.var_mean(x, 0, unbiased=False), arr(3, 2)),
    "var_mean legacy": (lambda L, x: L.var_mean(x, False), arr(3, 2)),
    "var_mean legacy dim": (lambda L, x: L.var_mean(x, 1, True, True), arr(3, 2)),
    "var_mean one element": (lambda L, x: L.var_mean(x, 0), arr(1, 3)),
    "var_mean int": (lambda L, x: L.var_mean(x.float(), 0), arr(4, dtype=np.int64)),
    "std_mean": (lambda L, x: L.std_mean(x, 0), arr(3, 2)),
    "std_mean correction 2": (lambda L, x: L.std_mean(x, correction=2), arr(4, 2)),
    "std_mean constant": (lambda L, x: L.std_mean(x, 1), np.ones((2, 3))),
    # aminmax
    "aminmax": (lambda L, x: L.aminmax(x), arr(3, 4)),
    "aminmax dim": (lambda L, x: L.aminmax(x, dim=1, keepdim=True), arr(3, 4)),
    "aminmax ties": (lambda L, x: x.aminmax(), a(1, 2, 2, 0.5, 0.5)),
    "aminmax ties dim": (lambda L, x: L.aminmax(x, dim=0), np.array([[1.0, 2], [1, 0]])),
    "aminmax 0-d": (lambda L, x: L.aminmax(x), arr()),
    "aminmax int": (lambda L, x: L.aminmax(x, dim=-1), arr(2, 3, dtype=np.int64)),
    "aminmax empty dim": (lambda L, x: L.aminmax(x, dim=0), arr(2, 0)),
    # median / nanmedian
    "median": (lambda L, x: L.median(x), distinct(3, 4)),
    "median even count": (lambda L, x: L.median(x), distinct(4)),
    "median ties": (lambda L, x: L.median(x), a(1, 2, 2, 3, 2)),
    "median nan": (lambda L, x: L.median(x), a(1, NAN, 2, NAN)),
    "median 0-d": (lambda L, x: x.median(), arr()),
    "median empty": (lambda L, x: L.median(x), arr(0)),
    "median int": (lambda L, x: L.median(x), np.array([3, 1, 4, 2])),
    "median dim": (lambda L, x: L.median(x, 1), distinct(3, 4)),
    "median dim keepdim": (lambda L, x: L.median(x, 0, keepdim=True), distinct(3, 2)),
    "median dim nan": (lambda L, x: L.median(x, 1),
                       np.array([[1.0, NAN, 0.0, NAN], [2.0, 1.0, 3.0, 0.5]])),
    "median dim 0-d": (lambda L, x: L.median(x, 0), arr()),
    "median dim empty rows": (lambda L, x: L.median(x, 1), arr(0, 3)),
    "nanmedian": (lambda L, x: L.nanmedian(x), a(1, NAN, 2, 3, NAN)),
    "nanmedian all nan": (lambda L, x: x.nanmedian(), a(NAN, NAN)),
    "nanmedian no nan": (lambda L, x: L.nanmedian(x), distinct(5)),
    "nanmedian dim": (lambda L, x: L.nanmedian(x, 1),
                      np.array([[1.0, NAN, 0.0, 5.0], [2.0, 1.0, 3.0, 0.5]])),
    "nanmedian dim all nan": (lambda L, x: L.nanmedian(x, -1, True),
                              np.array([[NAN, NAN], [2.0, NAN]])),
    # mode
    "mode": (lambda L, x: L.mode(x), a(1, 3, 3, 2, 2, 5)),
    "mode dim 0": (lambda L, x: L.mode(x, 0), np.array([[1.0, 2], [3, 2], [1, 0]])),
    "mode keepdim": (lambda L, x: x.mode(1, True), np.array([[1.0, 2, 2], [0, 3, 0]])),
    "mode distinct": (lambda L, x: L.mode(x), distinct(2, 4)),
    "mode 0-d": (lambda L, x: L.mode(x), arr()),
    "mode int": (lambda L, x: L.mode(x), np.array([4, 1, 4, 1, 2])),
    # kthvalue
    "kthvalue": (lambda L, x: L.kthvalue(x, 2), distinct(3, 4)),
    "kthvalue dim keepdim": (lambda L, x: x.kthvalue(3, 0, True), distinct(3, 2)),
    "kthvalue last": (lambda L, x: L.kthvalue(x, 4, dim=-1), distinct(2, 4)),
    "kthvalue nan": (lambda L, x: L.kthvalue(x, 3), a(3, NAN, 1)),
    "kthvalue 0-d": (lambda L, x: L.kthvalue(x, 1), arr()),
    # quantile
    "quantile": (lambda L, x: L.quantile(x, 0.3), distinct(3, 4)),
    "quantile dim": (lambda L, x: L.quantile(x, 0.7, dim=1), distinct(3, 4)),
    "quantile keepdim": (lambda L, x: x.quantile(0.5, 0, True), distinct(3, 2)),
    "quantile keepdim all": (lambda L, x: L.quantile(x, 0.5, keepdim=True), distinct(3, 2)),
    "quantile q tensor": (lambda L, x, q: L.quantile(x, q, 1), distinct(2, 5),
                          np.array([0.0, 0.25, 0.9, 1.0])),
    "quantile q tensor keepdim": (lambda L, x, q: L.quantile(x, q, 0, keepdim=True),
                                  distinct(4, 3), np.array([0.1, 0.6])),
    "quantile 0-d q tensor": (lambda L, x, q: L.quantile(x, q, keepdim=True), distinct(2, 3),
                              np.array(0.4)),
    "quantile ties": (lambda L, x: L.quantile(x, 0.5), a(1, 2, 2, 2, 3)),
    "quantile nan": (lambda L, x: L.quantile(x, 0.5, 1), np.array([[1.0, NAN, 2], [0, 1, 2]])),
    "quantile 0-d": (lambda L, x: L.quantile(x, 0.5, dim=0, keepdim=True), arr()),
    "quantile one element": (lambda L, x: L.quantile(x, 0.8), arr(1)),
    "quantile float32": (lambda L, x: L.quantile(x, 0.33, 0), arr(7, 2, dtype=np.float32)),
    "quantile infs": (lambda L, x: L.quantile(x, 0.5), a(-INF, 1, 2, INF)),
    "nanquantile": (lambda L, x: L.nanquantile(x, 0.4, 1),
                    np.array([[1.0, NAN, 2, 5], [0, 1, 2, 4]])),
    "nanquantile all nan": (lambda L, x: L.nanquantile(x, 0.4, 1),
                            np.array([[NAN, NAN], [0, 1]])),
    "nanquantile q tensor": (lambda L, x, q: x.nanquantile(q), a(1, NAN, 3, 0.5),
                             np.array([0.2, 0.9])),
    # nansum / nanmean
    "nansum": (lambda L, x: L.nansum(x), a(1, NAN, 2, NAN)),
    "nansum dim": (lambda L, x: L.nansum(x, 1, keepdim=True), np.array([[1.0, NAN], [2, 3]])),
    "nansum dims": (lambda L, x: x.nansum((0, 2)), arr(2, 3, 2)),
    "nansum int": (lambda L, x: L.nansum(x), arr(3, dtype=np.int32)),
    "nansum bool": (lambda L, x: L.nansum(x), arr(3, dtype=np.bool_)),
    "nansum dtype": (lambda L, x: L.nansum(x, dtype=L.float64), a(1, NAN).astype(np.float32)),
    "nansum empty": (lambda L, x: L.nansum(x, 0), arr(0, 2)),
    "nansum 0-d nan": (lambda L, x: L.nansum(x), np.array(NAN)),
    "nansum inf": (lambda L, x: L.nansum(x), a(INF, NAN, 1)),
    "nanmean": (lambda L, x: L.nanmean(x), a(1, NAN, 2, NAN)),
    "nanmean dim": (lambda L, x: x.nanmean(0), np.array([[1.0, NAN], [2, 3], [NAN, 5]])),
    "nanmean keepdim": (lambda L, x: L.nanmean(x, (0, 1), True), arr(2, 3)),
    "nanmean float32": (lambda L, x: L.nanmean(x, 1), arr(2, 3, dtype=np.float32)),
    # msort
    "msort": (lambda L, x: L.msort(x), distinct(3, 2)),
    "msort 1-d": (lambda L, x: x.msort(), distinct(4)),
    "msort int": (lambda L, x: L.msort(x), arr(4, 2, dtype=np.int64)),
    "msort 0-d": (lambda L, x: L.msort(x), arr()),
}

SECOND_ORDER = ["cumprod", "cumprod one zero", "cumprod two zeros", "cumprod zero in rows",
                "cummax ties", "logcumsumexp", "logcumsumexp wide", "var_mean dim keepdim",
                "std_mean", "aminmax ties", "median ties", "median dim", "mode", "kthvalue",
                "quantile q tensor", "quantile keepdim", "nanquantile", "nansum dim",
                "nanmean dim", "msort"]


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(torch, name):
    fn, *arrays = CASES[name]
    options = arrays.pop() if isinstance(arrays[-1], dict) else {}
    run(torch, fn, *arrays, **options)


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_order_matches_torch(torch, name):
    fn, *arrays = CASES[name]
    options = arrays.pop() if isinstance(arrays[-1], dict) else {}
    run(torch, fn, *arrays, second_order=True, **options)


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("q", [0.0, 0.1, 0.25, 0.5, 0.625, 0.75, 1.0])
def test_quantile_interpolations(torch, interpolation, q):
    def fn(L, x):
        return (L.quantile(x, q, 1, interpolation=interpolation),
                L.nanquantile(x, q, 0, interpolation=interpolation))
    run(torch, fn, distinct(3, 5))
    run(torch, lambda L, x: L.nanquantile(x, q, 1, interpolation=interpolation),
        np.array([[1.0, NAN, 2, 5, 3], [0, 1, 2, 4, 7]]))


def test_return_types():
    x = ad.tensor([[1.0, 3, 2], [0, 5, 4]])
    vi = ("values", "indices")
    for out, fields in [(ad.cummax(x, 1), vi), (ad.cummin(x, 1), vi), (x.median(1), vi),
                        (x.nanmedian(0), vi), (x.mode(1), vi), (x.kthvalue(1, 1), vi),
                        (ad.aminmax(x), ("min", "max"))]:
        assert out._fields == fields
        first, second = out
        assert getattr(out, fields[0]) is first and getattr(out, fields[1]) is second
    assert type(ad.var_mean(x)) is tuple and type(ad.std_mean(x)) is tuple


# --- in place ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, values", [("cumprod_", a(1.0, 0.0, 2.0, -1.5)),
                                          ("cumsum_", a(1.0, 0.5, 2.0, -1.5))])
def test_in_place_matches_torch(torch, name, values):
    def fn(L, x):
        y = x * 2
        out = getattr(y, name)(0)
        assert out is y
        return y
    run(torch, fn, values)
    run(torch, fn, values.astype(np.float32), tol=1e-6)


def test_in_place_int(torch):
    for name in ("cumprod_", "cumsum_"):
        ours, theirs = ad.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
        getattr(ours, name)(0)
        getattr(theirs, name)(0)
        assert_close(ours, theirs)


# --- no gradient -------------------------------------------------------------------------------

def _ints(*values):
    return np.array(values, dtype=np.int64)


CONSTANT_CASES = {
    "count_nonzero": (lambda L, x: L.count_nonzero(x), np.array([[1.0, 0], [2, 0], [0, 0]])),
    "count_nonzero dim": (lambda L, x: x.count_nonzero(1), np.array([[1.0, 0], [2, 0]])),
    "count_nonzero dims": (lambda L, x: L.count_nonzero(x, (0, 2)), arr(2, 3, 2, dtype=np.int64)),
    "count_nonzero bool": (lambda L, x: L.count_nonzero(x), arr(5, dtype=np.bool_)),
    "count_nonzero nan": (lambda L, x: L.count_nonzero(x), a(NAN, 0, 1)),
    "count_nonzero empty": (lambda L, x: L.count_nonzero(x, 0), arr(0, 2)),
    "argsort": (lambda L, x: L.argsort(x), distinct(3, 4)),
    "argsort dim 0": (lambda L, x: x.argsort(0), distinct(3, 4)),
    "argsort descending": (lambda L, x: L.argsort(x, descending=True), distinct(2, 5)),
    "argsort stable ties": (lambda L, x: L.argsort(x, stable=True), a(2, 1, 2, 1, 0, 2)),
    "argsort stable descending": (lambda L, x: L.argsort(x, dim=0, descending=True, stable=True),
                                  a(1, NAN, 0, 1, NAN, 2)),
    "argsort nan": (lambda L, x: L.argsort(x, stable=True), a(1, NAN, 0, -INF, INF)),
    "argsort int": (lambda L, x: L.argsort(x, stable=True, descending=True),
                    _ints(3, 1, 3, -2, 1)),
    "argsort bool": (lambda L, x: L.argsort(x, stable=True), np.array([True, False, True])),
    "argsort 0-d": (lambda L, x: L.argsort(x), arr()),
    "argsort empty": (lambda L, x: L.argsort(x), arr(2, 0)),
    "unique": (lambda L, x: L.unique(x), a(3, 1, 2, 1, 3)),
    "unique inverse counts": (lambda L, x: L.unique(x, return_inverse=True, return_counts=True),
                              np.array([[3.0, 1], [1, 2]])),
    "unique unsorted": (lambda L, x: x.unique(sorted=False), _ints(3, 1, 2, 1)),
    "unique nan": (lambda L, x: L.unique(x), a(1, NAN, NAN, 0)),
    "unique dim": (lambda L, x: L.unique(x, return_inverse=True, return_counts=True, dim=0),
                   np.array([[1, 2], [0, 5], [1, 2]])),
    "unique dim 1": (lambda L, x: L.unique(x, dim=1), np.array([[1, 0, 1], [2, 5, 2]])),
    "unique 0-d": (lambda L, x: L.unique(x, return_inverse=True), np.array(2.0)),
    "unique empty": (lambda L, x: L.unique(x, return_counts=True), arr(0)),
    "unique bool": (lambda L, x: L.unique(x), np.array([True, False, True])),
    "unique empty dim": (lambda L, x: L.unique(x, True, True, True, dim=1), arr(2, 0)),
    "unique_consecutive": (lambda L, x: L.unique_consecutive(x, True, True),
                           _ints(1, 1, 2, 2, 3, 1, 1, 2)),
    "unique_consecutive 2-d": (lambda L, x: x.unique_consecutive(return_inverse=True),
                               np.array([[1.0, 1], [2, 1]])),
    "unique_consecutive dim": (lambda L, x: L.unique_consecutive(x, True, True, dim=1),
                               np.array([[1, 1, 2, 1], [0, 0, 3, 0]])),
    "unique_consecutive empty": (lambda L, x: L.unique_consecutive(x, return_counts=True),
                                 arr(0)),
    "bincount": (lambda L, x: L.bincount(x), _ints(0, 1, 1, 3, 1)),
    "bincount minlength": (lambda L, x: x.bincount(minlength=7), _ints(0, 1, 1)),
    "bincount weights": (lambda L, x, w: L.bincount(x, w), _ints(0, 1, 1, 3),
                         a(0.5, 1, 2, -1)),
    "bincount float32 weights": (lambda L, x, w: L.bincount(x, w, 5), _ints(0, 1, 1),
                                 a(0.5, 1, 2).astype(np.float32)),
    "bincount int weights": (lambda L, x, w: L.bincount(x, w), _ints(0, 2), _ints(3, 4)),
    "bincount empty": (lambda L, x: L.bincount(x, minlength=2), _ints()),
    "bincount uint8": (lambda L, x: L.bincount(x), np.array([2, 0, 2], np.uint8)),
    "histc": (lambda L, x: L.histc(x, 4, 0, 3), a(0, 1, 2, 3, 3, NAN, 5, -1, 0.75, 1.5)),
    "histc own range": (lambda L, x: L.histc(x, 5), arr(20)),
    "histc float32": (lambda L, x: x.histc(3), arr(10, dtype=np.float32)),
    "histc constant": (lambda L, x: L.histc(x, 3), a(2, 2)),
    "histc empty": (lambda L, x: L.histc(x, 3), arr(0)),
    "histc 2-d": (lambda L, x: L.histc(x, 6, -1, 1), arr(4, 5)),
    "searchsorted": (lambda L, s, v: L.searchsorted(s, v), a(1, 2, 2, 3), a(0, 2, 2.5, 9)),
    "searchsorted right": (lambda L, s, v: L.searchsorted(s, v, right=True), a(1, 2, 2, 3),
                           a(0, 2, 2.5, 9)),
    "searchsorted side": (lambda L, s, v: L.searchsorted(s, v, side="right"), a(1, 2, 2, 3),
                          np.array([[2.0, 1], [3, 0]])),
    "searchsorted sorter": (lambda L, s, v, o: L.searchsorted(s, v, sorter=o), a(3, 1, 2),
                            a(2, 0.5, 4), _ints(1, 2, 0)),
    "searchsorted n-d": (lambda L, s, v: L.searchsorted(s, v), np.array([[1.0, 3, 5], [0, 2, 4]]),
                         np.array([[3.0, 6], [1, -1]])),
    "searchsorted n-d sorter": (lambda L, s, v, o: L.searchsorted(s, v, right=True, sorter=o),
                                np.array([[5.0, 1, 3], [0, 4, 2]]), np.array([[3.0], [1]]),
                                np.array([[1, 2, 0], [0, 2, 1]])),
    "searchsorted int32": (lambda L, s, v: L.searchsorted(s, v, out_int32=True),
                           _ints(1, 3, 5), _ints(3, 4)),
    "searchsorted empty": (lambda L, s, v: L.searchsorted(s, v), a(1, 2), arr(0)),
    "searchsorted 0-d values": (lambda L, s, v: L.searchsorted(s, v), a(1, 2, 3), np.array(2.5)),
    "bucketize": (lambda L, x, b: L.bucketize(x, b), np.array([[0.0, 1], [2.5, 3]]),
                  a(1, 2, 3)),
    "bucketize right": (lambda L, x, b: L.bucketize(x, b, right=True), a(0, 1, 2.5, 3, 4),
                        a(1, 2, 3)),
    "bucketize int32": (lambda L, x, b: L.bucketize(x, b, out_int32=True), _ints(0, 5),
                        _ints(1, 3)),
}


@pytest.mark.parametrize("name", list(CONSTANT_CASES))
def test_constant_ops_match_torch(torch, name):
    fn, *arrays = CONSTANT_CASES[name]
    ours_in = [to_ad(x) for x in arrays]
    theirs_in = [to_torch(x) for x in arrays]
    ours, theirs = _outputs(fn(ad, *ours_in)), _outputs(fn(torch, *theirs_in))
    assert len(ours) == len(theirs)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert not o.requires_grad
        assert_close(o, t, err_msg=f"output {i}")


def test_scalar_inputs(torch):
    s = a(1, 2, 3)
    assert_close(ad.searchsorted(to_ad(s), 2), torch.searchsorted(to_torch(s), 2))
    assert_close(ad.bucketize(2.5, to_ad(s)), torch.bucketize(2.5, to_torch(s)))


def test_no_gradient_even_from_grad_inputs():
    x = ad.tensor([1.0, 0.0, 2.0], requires_grad=True)
    for out in (ad.argsort(x), ad.unique(x), ad.histc(x, 3), ad.count_nonzero(x),
                ad.searchsorted(x, x), ad.bucketize(x, x.detach()), ad.cummax(x, 0).indices):
        assert not out.requires_grad


# --- errors ------------------------------------------------------------------------------------

ERRORS = {
    "median empty dim": lambda L: L.median(L.zeros(0, 3), 0),
    "nanmedian empty dim": lambda L: L.nanmedian(L.zeros(2, 0), 1),
    "mode empty": lambda L: L.mode(L.zeros(0)),
    "kthvalue k too big": lambda L: L.kthvalue(L.zeros(2), 3),
    "kthvalue k zero": lambda L: L.kthvalue(L.zeros(2), 0),
    "kthvalue 0-d k": lambda L: L.kthvalue(L.zeros(()), 2),
    "quantile q > 1": lambda L: L.quantile(L.zeros(3), 1.5),
    "quantile q < 0": lambda L: L.quantile(L.zeros(3), -0.1),
    "quantile q tensor out of range": lambda L: L.quantile(L.zeros(3), L.tensor([0.5, 2.0])),
    "quantile q 2-d": lambda L: L.quantile(L.zeros(3), L.tensor([[0.5]])),
    "quantile q dtype": lambda L: L.quantile(L.zeros(3), L.tensor([0.5], dtype=L.float64)),
    "quantile int input": lambda L: L.quantile(L.tensor([1, 2]), 0.5),
    "quantile empty": lambda L: L.quantile(L.zeros(0), 0.5),
    "quantile empty dim": lambda L: L.quantile(L.zeros(2, 0), 0.5, dim=1),
    "quantile interpolation": lambda L: L.quantile(L.zeros(3), 0.5, interpolation="cubic"),
    "quantile dim out of range": lambda L: L.quantile(L.zeros(3), 0.5, dim=1),
    "nanquantile q > 1": lambda L: L.nanquantile(L.zeros(3), 2.0),
    "nanmean int": lambda L: L.nanmean(L.tensor([1, 2])),
    "aminmax empty": lambda L: L.aminmax(L.zeros(0)),
    "aminmax empty dim": lambda L: L.aminmax(L.zeros(2, 0), dim=1),
    "cumprod dim out of range": lambda L: L.cumprod(L.zeros(2, 3), 2),
    "cummax dim out of range": lambda L: L.cummax(L.zeros(2), -2),
    "logcumsumexp int": lambda L: L.logcumsumexp(L.tensor([1, 2]), 0),
    "median dim out of range": lambda L: L.median(L.zeros(2), 1),
    "argsort dim out of range": lambda L: L.argsort(L.zeros(2), 1),
    "bincount negative": lambda L: L.bincount(L.tensor([1, -1])),
    "bincount 2-d": lambda L: L.bincount(L.tensor([[1, 2]])),
    "bincount float": lambda L: L.bincount(L.tensor([1.0, 2.0])),
    "bincount minlength": lambda L: L.bincount(L.tensor([1, 2]), minlength=-1),
    "bincount weights length": lambda L: L.bincount(L.tensor([1, 2]), L.tensor([1.0])),
    "histc int": lambda L: L.histc(L.tensor([1, 2]), 3),
    "histc min > max": lambda L: L.histc(L.zeros(3), 3, 2, 1),
    "histc bins": lambda L: L.histc(L.zeros(3), 0),
    "histc infinite range": lambda L: L.histc(L.tensor([1.0, float("inf")]), 3),
    "unique dim of 0-d": lambda L: L.unique(L.tensor(3.0), dim=0),
    "cumprod without dim": lambda L: L.cumprod(L.zeros(2)),
    "searchsorted opposite side": lambda L: L.searchsorted(L.zeros(3), L.zeros(2), right=True,
                                                           side="left"),
    "searchsorted bad side": lambda L: L.searchsorted(L.zeros(3), L.zeros(2), side="middle"),
    "searchsorted leading dims": lambda L: L.searchsorted(L.zeros(2, 3), L.zeros(3, 1)),
    "bucketize 2-d boundaries": lambda L: L.bucketize(L.zeros(3), L.zeros(2, 2)),
    "unique_consecutive dim out of range": lambda L: L.unique_consecutive(L.zeros(2), dim=1),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(torch, name):
    same_error(torch, ERRORS[name])


def test_error_messages_name_the_op():
    with pytest.raises(RuntimeError, match=r"quantile\(\) q must be in the range \[0, 1\]"):
        ad.quantile(ad.zeros(3), 1.5)
    with pytest.raises(RuntimeError, match="kthvalue.*k=3.*size 2"):
        ad.kthvalue(ad.zeros(2), 3)
    with pytest.raises(IndexError, match=r"median\(\).*dim 0.*non-zero"):
        ad.median(ad.zeros(0, 2), 0)


def test_nanmean_of_only_nans_has_zero_gradient(torch):
    """Our one divergence here: torch's nanmean backward divides by a zero count (NaN
    gradient); ours, like nansum's, is 0 at every NaN. The value is NaN in both."""
    ours, theirs = to_ad(a(NAN, NAN), True), to_torch(a(NAN, NAN), True)
    ad.nanmean(ours).backward()
    torch.nanmean(theirs).backward()
    assert np.isnan(theirs.grad.numpy()).all()
    assert_close(ours.grad, ad.zeros(2, dtype=ad.float64))
    assert np.isnan(ad.nanmean(ours).item())
