"""Meta-tests of autodiff.testing.strategies and the pytest helpers built on them."""
import doctest
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

import autodiff as ad
from autodiff.testing import (GradcheckError, assert_gradients_close, gradient_test,
                              register_profiles)
from autodiff.testing import strategies as ts

MANY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- domains never come within their margin ----------------------------------------------------

@MANY
@given(ts.away_from(0.0, 1.0, -2.0, margin=0.3, min_value=-3.0, max_value=3.0))
def test_away_from_never_enters_the_margin(x):
    assert -3.0 <= x <= 3.0
    assert all(abs(x - p) >= 0.3 for p in (0.0, 1.0, -2.0))


@MANY
@given(ts.tensors(shape=(3, 4), min_magnitude=0.25))
def test_min_magnitude_tensors_stay_away_from_zero(t):
    assert (np.abs(t.data) >= 0.25).all() and (np.abs(t.data) <= 3.0).all()


@MANY
@given(ts.tensors(shape=ts.shapes(max_dims=2), elements=ts.away_from(0.0, margin=1e-3)))
def test_tensors_for_relu_stay_off_the_kink(t):
    assert (np.abs(t.data) >= 1e-3).all()


@MANY
@given(ts.positive(min_value=0.05, max_value=4.0), ts.bounded(8.0))
def test_positive_and_bounded(p, b):
    assert 0.05 <= p <= 4.0 and -8.0 <= b <= 8.0


@MANY
@given(ts.separated_tensors(shape=ts.shapes(min_dims=1, max_dims=2), margin=0.2))
def test_separated_tensors_have_no_ties(t):
    values = np.sort(t.data.ravel())
    assert values.size < 2 or np.diff(values).min() >= 0.2


def test_away_from_rejects_an_empty_domain():
    with pytest.raises(ValueError, match="no value"):
        ts.away_from(0.0, margin=5.0, min_value=-1.0, max_value=1.0)


def test_tensors_rejects_elements_with_min_magnitude():
    with pytest.raises(ValueError, match="not both"):
        ts.tensors(elements=ts.positive(), min_magnitude=0.1)


# --- shapes ------------------------------------------------------------------------------------

def test_shapes_include_0d_and_respect_bounds():
    assert find(ts.shapes(), lambda s: s == ()) == ()
    assert find(ts.shapes(min_side=0), lambda s: 0 in s) == (0,)


@MANY
@given(ts.shapes(min_dims=1, max_dims=3, min_side=2, max_side=5))
def test_shape_bounds(shape):
    assert 1 <= len(shape) <= 3 and all(2 <= n <= 5 for n in shape)


@MANY
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(st.just(n), ts.broadcastable_shapes(n))))
def test_broadcastable_shapes_are_accepted_by_numpy(n_and_group):
    n, group = n_and_group
    assert len(group) == n
    result = np.broadcast_shapes(*group)
    arrays = np.broadcast_arrays(*[np.zeros(s) for s in group])
    assert all(a.shape == result for a in arrays)


def test_broadcast_groups_include_0d_and_real_broadcasting():
    assert () in find(ts.broadcastable_shapes(2), lambda g: () in g)
    find(ts.broadcastable_shapes(2, min_dims=2), lambda g: g[0] != g[1] and len(g[0]) == len(g[1]))
    find(ts.broadcastable_shapes(2), lambda g: len(g[0]) != len(g[1]))


# --- tensors -----------------------------------------------------------------------------------

@given(ts.tensors())
def test_tensors_default_to_float64_leaves(t):
    assert isinstance(t, ad.Tensor) and t.dtype == np.float64
    assert t.requires_grad and t.is_leaf and np.isfinite(t.data).all()


@given(ts.tensors(shape=(2, 3), dtype=np.float32), ts.tensors(shape=5, dtype=np.int64))
def test_tensor_dtypes(f, i):
    assert f.dtype == np.float32 and f.shape == (2, 3) and f.requires_grad
    assert i.dtype == np.int64 and i.shape == (5,) and not i.requires_grad


@given(ts.broadcastable_tensors(3, elements=ts.positive()))
def test_broadcastable_tensors_combine(xyz):
    x, y, z = xyz
    assert (x * y / z).shape == np.broadcast_shapes(x.shape, y.shape, z.shape)
    assert all(t.requires_grad and (t.data > 0).all() for t in xyz)


# --- profiles and pytest helpers ---------------------------------------------------------------

def test_register_profiles_defines_a_derandomized_ci_profile():
    loaded = register_profiles(load=None)
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.deadline is None
    assert loaded is None or loaded in ("ci", "dev", "thorough")


def my_softplus(x):
    return ad.log1p(ad.exp(x))


test_gradients_of_softplus = gradient_test(my_softplus, ts.tensors(elements=ts.bounded(5.0)))


@given(ts.tensors(shape=(3, 4), elements=ts.bounded(3.0)), ts.tensors(shape=(4,)))
def test_assert_gradients_close_on_a_users_layer(x, w):
    assert_gradients_close(lambda x, w: ad.tanh(x @ w).mean(), x, w)


def test_gradient_test_fails_on_a_wrong_backward():
    class BadSquare(ad.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * x  # should be 2 * x * g

    test = gradient_test(BadSquare.apply, ts.tensors(shape=(3,), min_magnitude=0.5), order=1)
    assert test.__name__ == "test_gradients_of_apply"
    with pytest.raises(GradcheckError, match="input 0"):
        test()


def test_assert_gradients_close_accepts_numpy_arrays():
    assert_gradients_close(lambda a, b: (a * b).sum(dim=0), np.ones((2, 3)), np.arange(3.0))
    with pytest.raises(ValueError, match="order"):
        assert_gradients_close(ad.exp, np.ones(2), order=3)


def test_readme_example_runs_as_written():
    exec(README_EXAMPLE, {"__name__": "readme"})  # the block ends by calling its test


README_EXAMPLE = """
import autodiff as ad
from hypothesis import given
from autodiff.testing import assert_gradients_close, strategies as ts

def swish(x):                                  # your function, built from autodiff ops
    return x * ad.sigmoid(x)

@given(ts.tensors(elements=ts.bounded(5.0)))   # any shape (0-d included), float64
def test_swish_gradients(x):
    assert_gradients_close(swish, x)           # gradcheck + gradgradcheck

test_swish_gradients()                         # pytest would collect it; here we call it
"""


def test_docstring_examples_run():
    result = doctest.testmod(sys.modules["autodiff.testing.strategies"])
    assert result.failed == 0 and result.attempted > 0
