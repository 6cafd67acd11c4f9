"""Numerical stability and the documented subgradient table."""
import numpy as np
import pytest

import autodiff as ad


def test_log_softmax_of_huge_equal_logits():
    out = ad.log_softmax(ad.tensor([1e8, 1e8]), 0)
    np.testing.assert_allclose(out.detach().numpy(), [-np.log(2)] * 2, rtol=1e-6)


def test_softmax_of_extreme_logits():
    x = ad.tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    s = ad.softmax(x, 0)
    np.testing.assert_allclose(s.detach().numpy(), [0, 0, 1])
    (s * ad.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert np.all(np.isfinite(x.grad.detach().numpy()))


def test_logsumexp_matches_the_lecture_approximation():
    assert ad.logsumexp(ad.tensor([100.0, 20.0, -1.0])).item() == pytest.approx(100.0)
    s = ad.softmax(ad.tensor([500.0, 400.0, 450.0]), 0)
    assert np.all(np.isfinite(s.detach().numpy())) and s.detach().numpy()[0] == pytest.approx(1.0)


def test_logsumexp_of_all_minus_infinity():
    assert ad.logsumexp(ad.tensor([-np.inf, -np.inf])).item() == -np.inf


@pytest.mark.parametrize("fn", [ad.sigmoid, ad.tanh])
def test_saturating_functions_at_plus_minus_1000(fn):
    x = ad.tensor([-1000.0, 1000.0], requires_grad=True)
    y = fn(x)
    assert np.all(np.isfinite(y.detach().numpy()))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [0, 0])


def test_where_does_not_leak_nan_from_the_unselected_branch():
    x = ad.tensor([-1.0, 4.0], requires_grad=True)
    ad.where(x > 0, ad.sqrt(x), x).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [1.0, 0.25])


def test_where_with_log_branch_second_order_is_clean():
    x = ad.tensor([-2.0, 3.0], dtype=ad.float64, requires_grad=True)
    y = ad.where(x > 0, ad.log(x), x * x).sum()
    (g,) = ad.grad(y, x, create_graph=True)
    (gg,) = ad.grad(g.sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), [-4.0, 1 / 3])
    np.testing.assert_allclose(gg.detach().numpy(), [2.0, -1 / 9])


# --- the subgradient table (README, "Subgradients") ----------------------------------------------

def grad_of(fn, *values):
    xs = [ad.tensor(v, dtype=ad.float64, requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [x.grad.detach().numpy() for x in xs]


def test_relu_at_zero_is_zero():
    assert grad_of(ad.relu, [0.0])[0].tolist() == [0.0]


def test_abs_at_zero_is_zero():
    assert grad_of(ad.abs, [0.0])[0].tolist() == [0.0]


def test_elementwise_max_and_min_ties_split_evenly():
    assert [g.tolist() for g in grad_of(ad.maximum, [1.0], [1.0])] == [[0.5], [0.5]]
    assert [g.tolist() for g in grad_of(ad.minimum, [1.0], [1.0])] == [[0.5], [0.5]]


def test_reduction_max_ties_split_evenly():
    g = grad_of(lambda x: ad.amax(x), [3.0, 1.0, 3.0, 3.0])[0]
    np.testing.assert_allclose(g, [1 / 3, 0, 1 / 3, 1 / 3])
    g = grad_of(lambda x: x.max(dim=0)[0], [[2.0, 1.0], [2.0, 0.0]])[0]
    np.testing.assert_allclose(g, [[0.5, 1], [0.5, 0]])


def test_clamp_at_a_bound_passes_the_gradient():
    g = grad_of(lambda x: ad.clamp(x, 0.0, 1.0), [0.0, 0.5, 1.0, 1.5, -1.0])[0]
    np.testing.assert_allclose(g, [1, 1, 1, 0, 0])


def test_sqrt_at_zero_is_infinite_like_the_math():
    assert np.isinf(grad_of(ad.sqrt, [0.0])[0][0])


def test_prod_with_zeros_is_exact():
    g = grad_of(lambda x: ad.prod(x), [2.0, 0.0, 3.0])[0]
    np.testing.assert_allclose(g, [0, 6, 0])
    g = grad_of(lambda x: ad.prod(x), [0.0, 0.0, 3.0])[0]
    np.testing.assert_allclose(g, [0, 0, 0])


def test_norm_at_zero_has_zero_gradient():
    assert grad_of(lambda x: ad.norm(x), [0.0, 0.0])[0].tolist() == [0, 0]
