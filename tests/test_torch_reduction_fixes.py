"""Reductions, scans and sorts against PyTorch where an audit found them to differ: NaN as the
largest value in sort/topk, the gradient of max/min at NaN, std/var's legacy `unbiased`
overloads, the int64 result of integer and bool sums, float16 accumulated in float32, and the
dtype=/stable= keywords. Each check compares with torch and also pins written-out values (those
run without torch too).

Cases are written once as fn(lib, *tensors), lib being autodiff or torch."""
import numpy as np
import pytest

import autodiff as ad
from _torch import assert_close, run_outputs as run, to_ad, to_torch

NAN = float("nan")
RNG = np.random.default_rng(0)


def a(*values, dtype=np.float64):
    return np.array(values, dtype=dtype)


def grad_of(fn, values, dtype=ad.float64):
    """x.grad after fn(x).backward() for x = tensor(values)"""
    x = ad.tensor(values, dtype=dtype, requires_grad=True)
    fn(x).backward()
    return x.grad.data


def nan_rows():
    m = RNG.standard_normal((3, 5))
    m[0, 2] = m[1, 0] = m[2, 4] = NAN
    return m


# --- 1. sort / argsort / topk / msort: NaN is the largest value -------------------------------

SORT_CASES = {
    "sort descending nan": (lambda L, x: L.sort(x, descending=True), a(3, NAN, 1, 2)),
    "sort descending rows": (lambda L, x: x.sort(1, True), nan_rows()),
    "sort descending dim 0": (lambda L, x: x.sort(0, descending=True), nan_rows()),
    "sort descending float32": (lambda L, x: x.sort(descending=True),
                                a(0.5, NAN, -1, 2, dtype=np.float32)),
    "sort stable": (lambda L, x: L.sort(x, descending=True, stable=True), a(1, 2, 1, NAN, 2)),
    "topk nan": (lambda L, x: L.topk(x, 2), a(1, NAN, 2, 3)),
    "topk two nans": (lambda L, x: L.topk(x, 3), a(1, NAN, NAN, 3)),
    "topk rows": (lambda L, x: x.topk(2, dim=1), nan_rows()),
}


@pytest.mark.parametrize("name", list(SORT_CASES))
def test_sort_nan_matches_torch(torch, name):
    fn, values = SORT_CASES[name]
    run(torch, fn, values)


def test_sort_nan_values():
    out = ad.sort(ad.tensor([3.0, NAN, 1.0, 2.0]), descending=True)
    np.testing.assert_equal(out.values.data, [NAN, 3, 2, 1])
    assert out.indices.data.tolist() == [1, 0, 3, 2]
    out = ad.topk(ad.tensor([1.0, NAN, 2.0, 3.0]), 2)
    np.testing.assert_equal(out.values.data, [NAN, 3])
    assert out.indices.data.tolist() == [1, 3]
    out = ad.topk(ad.tensor([1.0, NAN, NAN, 3.0]), 3)
    np.testing.assert_equal(out.values.data, [NAN, NAN, 3])
    assert out.indices.data.tolist() == [1, 2, 3]
    # ascending: NaN last; the k smallest leave it out
    out = ad.sort(ad.tensor([3.0, NAN, 1.0, 2.0]))
    np.testing.assert_equal(out.values.data, [1, 2, 3, NAN])
    assert ad.topk(ad.tensor([1.0, NAN, 2.0, 3.0]), 2, largest=False).indices.data.tolist() == \
        [0, 2]
    # the gradient follows the permutation: x[1] (NaN) lands first, x[2] = 3 second
    g = grad_of(lambda x: (x.sort(descending=True).values * ad.tensor([1.0, 10, 100],
                                                                      dtype=ad.float64)).sum(),
                [1.0, NAN, 3.0])
    assert g.tolist() == [100, 1, 10]


@pytest.mark.parametrize("dtype", [np.uint8, np.bool_])
def test_sort_descending_unsigned_and_bool(torch, dtype):
    # (a negated key wraps around for unsigned integers and fails for bools)
    values = np.array([0, 200, 3, 1], dtype=dtype) if dtype != np.bool_ else \
        np.array([False, True, False, True])
    ours, theirs = ad.sort(to_ad(values), descending=True), \
        torch.sort(to_torch(values), descending=True, stable=True)
    assert_close(ours.values, theirs.values)
    assert_close(ours.indices, theirs.indices)
    theirs_k = torch.topk(to_torch(values).long(), 2) if dtype == np.bool_ else \
        torch.topk(to_torch(values), 2)
    assert ad.topk(to_ad(values), 2).indices.data.tolist() == theirs_k.indices.tolist()
    if dtype == np.uint8:
        assert ad.sort(to_ad(values), descending=True).values.data.tolist() == [200, 3, 1, 0]


# --- 2. max / min / amax / amin: the gradient at NaN ------------------------------------------

NAN4 = [1.0, NAN, 3.0, 4.0]

EXTREME_CASES = {
    "max": (lambda L, x: x.max(), a(*NAN4)),
    "min": (lambda L, x: L.min(x), a(*NAN4)),
    "max two nans": (lambda L, x: x.max(), a(1, NAN, 3, NAN, 4)),
    "max dim": (lambda L, x: x.max(0).values, a(*NAN4)),
    "min dim rows": (lambda L, x: L.min(x, 1), nan_rows()),
    "max dim rows keepdim": (lambda L, x: x.max(1, keepdim=True), nan_rows()),
    "max dim float32": (lambda L, x: x.reshape(2, 2).max(1).values,
                        a(*NAN4, dtype=np.float32)),
}


@pytest.mark.parametrize("name", list(EXTREME_CASES))
def test_extreme_nan_gradient_matches_torch(torch, name):
    fn, values = EXTREME_CASES[name]
    run(torch, fn, values)


@pytest.mark.parametrize("name", ["max", "min dim rows"])
def test_extreme_nan_second_order_matches_torch(torch, name):
    fn, values = EXTREME_CASES[name]
    run(torch, fn, values, second_order=True)


def test_extreme_nan_gradient_values():
    for fn in (lambda x: x.max(), lambda x: x.min(), lambda x: ad.amax(x), lambda x: x.amin(0),
               lambda x: x.max(0).values, lambda x: ad.min(x, 0, keepdim=True).values.sum()):
        assert grad_of(fn, NAN4).tolist() == [0, 1, 0, 0]
    assert grad_of(lambda x: x.reshape(2, 2).max(1).values.sum(), NAN4).tolist() == [0, 1, 0, 1]
    assert grad_of(lambda x: x.max(), [1.0, NAN, 3.0, NAN]).tolist() == [0, 0.5, 0, 0.5]
    # ties without NaN keep sharing evenly (docs/guides/semantics.md)
    assert grad_of(lambda x: x.max(), [1.0, 3.0, 3.0]).tolist() == [0, 0.5, 0.5]
    assert grad_of(lambda x: x.amin(), [2.0, 1.0, 1.0, 1.0, 5.0]).tolist() == \
        pytest.approx([0, 1 / 3, 1 / 3, 1 / 3, 0])


# --- 3. std / var: PyTorch's (input, unbiased) and (input, dim, unbiased, keepdim) -------------

M = np.array([[1.0, 2, 4], [3, 5, 9]])

STD_VAR_CASES = {
    "std(x, False)": lambda L, x: L.std(x, False),
    "x.var(False)": lambda L, x: x.var(False),
    "var(x, True)": lambda L, x: L.var(x, True),
    "std(x, 1, False)": lambda L, x: L.std(x, 1, False),
    "x.var(1, True, True)": lambda L, x: x.var(1, True, True),
    "x.std(0, False, True)": lambda L, x: x.std(0, False, True),
    "std(x, (0, 1), True)": lambda L, x: L.std(x, (0, 1), True),
}


@pytest.mark.parametrize("name", list(STD_VAR_CASES))
def test_std_var_overloads_match_torch(torch, name):
    run(torch, STD_VAR_CASES[name], M, second_order=True)


def test_std_var_overload_values():
    x = ad.tensor(M)
    assert ad.std(x, False).item() == pytest.approx(np.sqrt(40 / 6))
    assert x.var(False).item() == pytest.approx(40 / 6)
    assert ad.var(x, True).item() == pytest.approx(8.0)
    np.testing.assert_allclose(ad.std(x, 1, False).data, np.sqrt([14 / 9, 56 / 9]))
    np.testing.assert_allclose(x.var(1, True, True).data, [[7 / 3], [28 / 3]])
    with pytest.raises(TypeError):
        ad.var(x, 1, True, correction=0)


# --- 4. integer and bool reductions give int64 --------------------------------------------------

INT_DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64]

INT_CASES = {
    "sum": lambda L, x: x.sum(),
    "sum dim": lambda L, x: L.sum(x, 1),
    "sum dtype int32": lambda L, x: x.sum(0, dtype=L.int32),
    "prod": lambda L, x: x.prod(),
    "prod dim": lambda L, x: L.prod(x, 0),
    "cumsum": lambda L, x: x.cumsum(0),
    "cumsum dtype int32": lambda L, x: L.cumsum(x, 1, dtype=L.int32),
    "cumprod": lambda L, x: L.cumprod(x, 1),
    "cumprod dtype int16": lambda L, x: x.cumprod(1, dtype=L.int16),
    "nansum": lambda L, x: L.nansum(x),
    "nansum dim": lambda L, x: x.nansum(1),
}


def test_integer_reductions_match_torch(torch):
    # every integer dtype and bool through every op (uint8 was summed to uint64)
    values = np.array([[200, 1, 3], [0, 100, 2]])
    for dtype in INT_DTYPES:
        x = values.astype(dtype)
        for name, fn in INT_CASES.items():
            assert_close(fn(ad, to_ad(x)), fn(torch, to_torch(x)), err_msg=f"{name} {dtype}")
        if dtype != np.bool_:  # (torch's trace has no bool kernel)
            assert_close(ad.trace(to_ad(x[:, :2])), torch.trace(to_torch(x[:, :2])),
                         err_msg=f"trace {dtype}")


def test_integer_reduction_values():
    u = ad.tensor([200, 200], dtype=ad.uint8)
    for out, expected in [(u.sum(), 400), (ad.tensor([[200, 200]], dtype=ad.uint8).sum(1), [400]),
                          (u.cumsum(0), [200, 400]), (ad.nansum(u), 400),
                          (ad.trace(ad.tensor([[1, 2], [3, 4]], dtype=ad.uint8)), 5),
                          (ad.tensor([True, True, False]).sum(), 2)]:
        assert out.dtype == ad.int64
        assert out.data.tolist() == expected
    assert ad.tensor([1, 2, 3]).sum(dtype=ad.int32).dtype == ad.int32
    assert ad.cumsum(ad.tensor([1, 2]), 0, dtype=ad.int32).dtype == ad.int32


# --- 5. float16 accumulates in float32 ---------------------------------------------------------

HALVES = np.full((3, 3000), 0.5, np.float16)
HALVES[:, ::7] = 3.0
WIDE = (RNG.standard_normal((6, 5)) * 300).astype(np.float16)
SPIKE = np.r_[np.zeros(999), 600.0].astype(np.float16)

HALF_CASES = {
    "sum dim 0": (lambda L, x: x.sum(0), HALVES.T.copy()),
    "mean": (lambda L, x: x.mean(), a(60000, 60000, 50000, dtype=np.float16)),
    "mean dim 0": (lambda L, x: L.mean(x, 0), HALVES.T.copy()),
    "cumsum": (lambda L, x: x.cumsum(1), HALVES),
    "cumsum dim 0": (lambda L, x: L.cumsum(x, 0), HALVES.T.copy()),
    "var": (lambda L, x: x.var(), SPIKE),
    "var dim": (lambda L, x: L.var(x, 1, correction=0), np.stack([SPIKE, -SPIKE[::-1]])),
    "std": (lambda L, x: L.std(x), SPIKE),
    "std dim": (lambda L, x: x.std(0), WIDE),
    "norm": (lambda L, x: x.norm(), WIDE),
    "norm dim": (lambda L, x: L.norm(x, 2, 1), WIDE),
    "norm p=3": (lambda L, x: L.norm(x, 3), WIDE / 8),
    "norm p=1": (lambda L, x: L.norm(x, 1, 0), HALVES.T.copy()),
    "cumprod": (lambda L, x: x.cumprod(0), np.full(300, 1.001, np.float16)),
    "nansum": (lambda L, x: L.nansum(x, 0), HALVES.T.copy()),
}


@pytest.mark.parametrize("name", list(HALF_CASES))
def test_float16_accumulation_matches_torch(torch, name):
    fn, values = HALF_CASES[name]
    run(torch, fn, values, tol=2e-3)


def test_float16_accumulation_values():
    h = ad.float16
    assert ad.tensor([60000.0, 60000.0], dtype=h).mean().item() == 60000
    assert ad.full((5000,), 0.5, dtype=h).cumsum(0)[-1].item() == 2500
    assert ad.full((5000, 2), 0.5, dtype=h).sum(0).data.tolist() == [2500, 2500]
    assert ad.full((2, 5000), 0.5, dtype=h).mean(1).data.tolist() == [0.5, 0.5]
    assert ad.tensor([300.0, 400.0], dtype=h).norm().item() == 500
    assert ad.tensor(SPIKE).std().item() == pytest.approx(18.97, rel=1e-3)   # torch: 18.97
    # a product whose float16 partial products overflow (torch's own prod gives inf here)
    p = ad.tensor([300.0, 300.0, 0.001], dtype=h).prod()
    assert p.dtype == h and p.item() == pytest.approx(90.0, rel=1e-3)
    # the gradient through the float32 accumulation is float16
    x = ad.full((5000,), 0.5, dtype=h, requires_grad=True)
    x.cumsum(0).sum().backward()
    assert x.grad.dtype == h and x.grad[0].item() == 5000 and x.grad[-1].item() == 1


# --- 6. dtype= and stable= keywords -------------------------------------------------------------

KEYWORD_CASES = {
    "mean dtype": (lambda L, x: x.mean(dtype=L.float64), a(1, 2, dtype=np.int64)),
    "mean dtype float": (lambda L, x: L.mean(x, 0, dtype=L.float64), a(1.5, 2, dtype=np.float32)),
    "prod dtype": (lambda L, x: L.prod(x, dtype=L.float64), a(1, 2, 3, dtype=np.int64)),
    "prod dtype float": (lambda L, x: x.prod(0, dtype=L.float64), a(1.5, 2, dtype=np.float32)),
    "cumsum dtype": (lambda L, x: L.cumsum(x, 0, dtype=L.float64), a(1, 2, dtype=np.int64)),
    "cumsum dtype float": (lambda L, x: x.cumsum(0, dtype=L.float64), a(1.5, 2, dtype=np.float32)),
    "sort stable": (lambda L, x: x.sort(stable=True).indices,
                    np.array([[2.0, 1, 2], [0.125, 2.675, -1]])),
}


@pytest.mark.parametrize("name", list(KEYWORD_CASES))
def test_keywords_match_torch(torch, name):
    fn, values = KEYWORD_CASES[name]
    run(torch, fn, values, tol=1e-6)


def test_keyword_values():
    i = ad.tensor([1, 2])
    assert (i.mean(dtype=ad.float64).item(), i.mean(dtype=ad.float64).dtype) == (1.5, ad.float64)
    assert ad.prod(ad.tensor([1, 2, 3]), dtype=ad.float64).dtype == ad.float64
    assert ad.cumsum(i, 0, dtype=ad.float64).data.tolist() == [1.0, 3.0]
    assert ad.cumsum(i, 0, dtype=ad.float64).dtype == ad.float64
    x = ad.tensor([[2.0, 1, 2], [0.125, 2.675, -1]])
    assert x.sort(stable=True).indices.data.tolist() == [[1, 0, 2], [2, 0, 1]]
    assert ad.sort(x, 1, True, True).indices.data.tolist() == [[0, 2, 1], [1, 0, 2]]
