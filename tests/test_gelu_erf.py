"""erf (a rational fit evaluated in float64, an asymptotic tail) and GELU as one node: values
against math.erf and PyTorch, gradients to second order, special values, dtypes."""
import math

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from _torch import require_torch

_erf = np.vectorize(math.erf, otypes=[float])


def _gelu_exact(x):
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _gelu_exact_slope(x):
    return 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _dense_float32(lo, hi, n):
    return np.linspace(lo, hi, n).astype(np.float32)


def test_float32_erf_is_within_one_ulp_of_the_true_value():
    x = np.concatenate([_dense_float32(-6, 6, 400_001),
                        np.logspace(-38, 0, 20_000).astype(np.float32)])
    exact = _erf(x.astype(np.float64))
    got = ad.erf(ad.tensor(x)).numpy()
    assert got.dtype == np.float32
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    err = np.abs(got.astype(np.float64) - exact) / ulp
    assert err.max() <= 0.55  # the correctly rounded value, or its neighbour at a near-tie
    # the correctly rounded value for all but a few percent (PyTorch's own: ~3%)
    assert np.mean(got != exact.astype(np.float32)) < 0.02


def test_float64_erf_relative_error():
    x = np.concatenate([np.linspace(-7, 7, 200_001), np.logspace(-300, 1, 2000),
                        -np.logspace(-300, 1, 2000)])
    exact = _erf(x)
    got = ad.erf(ad.tensor(x)).numpy()
    rel = np.abs(got - exact) / np.maximum(np.abs(exact), 1e-300)
    assert rel.max() < 2e-11


def test_erf_special_values_and_the_tail():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 4.0, -4.0, 4.5, 5.5, -6.0, 30.0, 1e300])
    got = ad.erf(ad.tensor(x)).numpy()
    np.testing.assert_array_equal(got[:2], [1.0, -1.0])
    assert np.isnan(got[2])
    assert got[3] == 0 and not np.signbit(got[3]) and got[4] == 0 and np.signbit(got[4])
    np.testing.assert_allclose(got[5:7], _erf(x[5:7]), rtol=2e-11)  # the fit's end
    np.testing.assert_allclose(got[7:], _erf(x[7:]), rtol=0, atol=3e-15)  # |x| > 4: the tail


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_erf_keeps_dtype_shape_and_layout(dtype):
    base = np.linspace(-3, 3, 24).reshape(4, 6).astype(dtype)
    x = base.T  # not contiguous
    got = ad.erf(ad.tensor(x)).numpy()
    assert got.dtype == dtype and got.shape == (6, 4)
    np.testing.assert_allclose(got, _erf(x.astype(np.float64)),
                               rtol=1e-3 if dtype == np.float16 else 1e-6)
    assert ad.erf(ad.tensor(np.zeros((0, 3), dtype))).shape == (0, 3)
    assert ad.erf(ad.tensor(dtype(0.5))).item() == pytest.approx(math.erf(0.5), rel=1e-3)


def test_erf_on_a_big_array_matches_elementwise_evaluation():
    """Blocks of the evaluation leave no trace: every element as if computed alone."""
    x = np.random.default_rng(0).standard_normal(70_000) * 3
    whole = ad.erf(ad.tensor(x)).numpy()
    alone = np.array([ad.erf(ad.tensor(v)).item() for v in x[::997]])
    np.testing.assert_array_equal(whole[::997], alone)


# --- GELU ------------------------------------------------------------------------------------

@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_is_one_node(approximate):
    x = ad.tensor([-1.0, 0.5], requires_grad=True)
    y = F.gelu(x, approximate=approximate)
    assert y.grad_fn.name == "GeluBackward"
    assert y.grad_fn.inputs[0] is x


def test_gelu_exact_against_closed_forms_to_second_order():
    xv = np.concatenate([np.linspace(-9, 9, 1801), [0.0]])
    x = ad.tensor(xv, requires_grad=True)
    y = F.gelu(x)
    # absolute errors: in the far negative tail x Phi(x) = x (1 + erf) / 2 cancels, as PyTorch's
    np.testing.assert_allclose(y.detach().numpy(), _gelu_exact(xv), rtol=1e-10, atol=1e-10)
    (g,) = ad.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), _gelu_exact_slope(xv), rtol=1e-10, atol=1e-10)
    (gg,) = ad.grad(g.sum(), x)
    curvature = np.exp(-xv * xv / 2) / math.sqrt(2 * math.pi) * (2 - xv * xv)
    np.testing.assert_allclose(gg.detach().numpy(), curvature, rtol=1e-9, atol=1e-14)


def test_gelu_tanh_against_closed_forms():
    xv = np.linspace(-9, 9, 1801)
    c, k = math.sqrt(2 / math.pi), 0.044715
    u = c * (xv + k * xv ** 3)
    x = ad.tensor(xv, requires_grad=True)
    y = F.gelu(x, approximate="tanh")
    np.testing.assert_allclose(y.detach().numpy(), 0.5 * xv * (1 + np.tanh(u)), rtol=1e-13,
                               atol=1e-15)
    (g,) = ad.grad(y.sum(), x)
    slope = 0.5 * (1 + np.tanh(u)) + 0.5 * xv * (1 - np.tanh(u) ** 2) * c * (1 + 3 * k * xv ** 2)
    np.testing.assert_allclose(g.detach().numpy(), slope, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelu_against_torch(approximate, dtype):
    torch = require_torch()
    rng = np.random.default_rng(1)
    xv = np.concatenate([rng.standard_normal(3000) * 3, np.linspace(-8, 8, 161)]).astype(dtype)
    gv = rng.standard_normal(xv.shape).astype(dtype)
    x = ad.tensor(xv, requires_grad=True)
    tx = torch.tensor(xv, requires_grad=True)
    y = F.gelu(x, approximate=approximate)
    ty = torch.nn.functional.gelu(tx, approximate=approximate)
    (g,) = ad.grad(y, x, ad.tensor(gv), create_graph=True)
    (tg,) = torch.autograd.grad(ty, tx, torch.tensor(gv), create_graph=True)
    (gg,) = ad.grad((g * g).sum(), x)
    (tgg,) = torch.autograd.grad((tg * tg).sum(), tx)
    pairs = [(y, ty), (g, tg), (gg, tgg)]
    tol = dict(rtol=1e-9, atol=1e-10)
    if dtype == "float32":  # (second order in float32 is rounding noise where 1 - tanh^2 cancels)
        pairs, tol = pairs[:2], dict(rtol=2e-5, atol=2e-5)
    for ours, theirs in pairs:
        assert ours.dtype == getattr(ad, dtype)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tol)


def test_gelu_of_a_scalar():
    assert F.gelu(ad.tensor(1.5, dtype=ad.float64)).item() == pytest.approx(
        float(_gelu_exact(np.array(1.5))), rel=1e-10)


def test_gelu_approximate_must_be_none_or_tanh():
    with pytest.raises(RuntimeError, match="approximate must be 'none' or 'tanh', got 'fast'"):
        F.gelu(ad.tensor([1.0]), approximate="fast")
    with pytest.raises(RuntimeError, match="approximate must be 'none' or 'tanh'"):
        nn.GELU(approximate="fast")
