"""autodiff.testing.gradcheck checks itself: planted bugs are caught and named, right rules pass."""
import doctest
import sys

import numpy as np
import pytest

import autodiff as ad
from autodiff.testing import (GradcheckError, GradcheckWarning, close, gradcheck,
                              gradgradcheck)


def leaf(values, dtype=np.float64):
    return ad.tensor(np.asarray(values, dtype), requires_grad=True)


def randn(*shape, seed=0):
    return leaf(np.random.default_rng(seed).standard_normal(shape))


# --- planted softmax bugs ----------------------------------------------------------------------

class GoodSoftmax(ad.Function):
    @staticmethod
    def forward(ctx, x):
        s = ad.softmax(x, dim=-1)
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, g):
        s, = ctx.saved_tensors
        return s * (g - (g * s).sum(dim=-1, keepdim=True))


class SoftmaxMissingTerm(GoodSoftmax):
    @staticmethod
    def backward(ctx, g):
        s, = ctx.saved_tensors
        return s * g  # the - s * sum(g * s) term is missing


class SoftmaxZeroGrad(GoodSoftmax):
    @staticmethod
    def backward(ctx, g):
        s, = ctx.saved_tensors
        return s * 0.0  # right only when g is constant along the row (e.g. all ones)


def test_correct_softmax_backward_passes_both_orders():
    x = randn(3, 5)
    assert gradcheck(GoodSoftmax.apply, (x,))
    assert gradgradcheck(GoodSoftmax.apply, (x,))


def test_softmax_backward_without_sum_term_fails():
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(SoftmaxMissingTerm.apply, (randn(3, 5),))


def test_all_ones_upstream_cannot_fool_the_check():
    x = randn(2, 4)
    # sum(softmax) is constant, so a zero gradient is "right" for a .sum()-based check ...
    assert gradcheck(lambda x: SoftmaxZeroGrad.apply(x).sum(), (x,))
    # ... but the random upstream vector exposes it
    assert gradcheck(SoftmaxZeroGrad.apply, (x,), raise_exception=False) is False


# --- a single wrong element is found and named -------------------------------------------------

class SquareWrongAt(ad.Function):
    """y = x**2 whose backward is 5% off at one element."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.save_for_backward(x)
        bump = np.zeros(x.shape)
        bump[index] = 0.05 * (1 + abs(float(x.data[index])))
        ctx.bump = bump
        return x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (2.0 * x + ad.tensor(ctx.bump)), None


def test_single_wrong_element_is_named_by_index():
    x = randn(30)
    with pytest.raises(GradcheckError) as info:
        gradcheck(SquareWrongAt.apply, (x, (29,)))
    err = info.value
    assert err.index == (29,) and err.input == "input 0"
    message = str(err)
    for fact in ("input 0", "index (29,)", "analytic", "numeric", "|difference|", "tolerance",
                 "step h =", "float64", "1 of 30 element(s)"):
        assert fact in message, fact
    assert err.difference > err.tolerance
    # the planted error is bump * v[29], with |v| in [0.5, 1.5] (the random upstream vector)
    bump = 0.05 * (1 + abs(float(x.data[29])))
    assert 0.5 * bump <= err.difference <= 1.5 * bump


def test_wrong_element_in_2d_input_is_named():
    x = randn(5, 6, seed=1)
    with pytest.raises(GradcheckError, match=r"index \(4, 5\)"):
        gradcheck(SquareWrongAt.apply, (x, (4, 5)))


def test_wrong_element_of_a_large_input_is_caught_by_projections_and_localized():
    x = randn(400, seed=2)
    assert gradcheck(lambda x: ad.tanh(x) * x, (x,), max_full=100)
    with pytest.raises(GradcheckError) as info:
        gradcheck(SquareWrongAt.apply, (x, (123,)), max_full=100)
    assert info.value.index == (123,)


# --- second order: a backward that escapes to numpy --------------------------------------------

class SquareEscaping(ad.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return ad.tensor(2.0 * x.data * g.data)  # .data: right value, no graph


class SquareInTensorOps(SquareEscaping):
    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 2.0 * x * g


def test_numpy_escaping_backward_passes_gradcheck_and_fails_gradgradcheck():
    x = randn(6)
    assert gradcheck(SquareEscaping.apply, (x,))
    with pytest.raises(GradcheckError, match="second-order") as info:
        gradgradcheck(SquareEscaping.apply, (x,))
    assert info.value.order == 2
    assert ".data" in str(info.value)
    assert gradgradcheck(SquareInTensorOps.apply, (x,))


def test_gradgradcheck_checks_grad_outputs_as_inputs():
    x = randn(4)
    v = ad.tensor(np.array([1.0, -2.0, 0.5, 3.0]))
    assert gradgradcheck(lambda x: ad.sin(x) * x, (x,), grad_outputs=(v,))

    class EscapesInG(SquareInTensorOps):
        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 2.0 * x * ad.tensor(g.data)  # differentiable in x, cut off from g

    assert gradcheck(EscapesInG.apply, (x,))
    with pytest.raises(GradcheckError, match=r"grad_outputs\[0\]"):
        gradgradcheck(EscapesInG.apply, (x,), grad_outputs=(v,))


# --- the closeness rule is symmetric -----------------------------------------------------------

class ScaledForward(ad.Function):
    """forward c * x, backward g: analytic 1, numeric c."""

    @staticmethod
    def forward(ctx, x, c):
        return x * c

    @staticmethod
    def backward(ctx, g):
        return g, None


class ScaledBackward(ad.Function):
    """forward x, backward c * g: analytic c, numeric 1."""

    @staticmethod
    def forward(ctx, x, c):
        ctx.c = c
        return x * 1.0

    @staticmethod
    def backward(ctx, g):
        return g * ctx.c, None


def test_close_is_symmetric():
    rng = np.random.default_rng(3)
    a = rng.standard_normal(1000) * 10.0 ** rng.integers(-6, 4, 1000)
    b = a * (1 + rng.uniform(-2e-3, 2e-3, 1000)) + rng.uniform(-2e-5, 2e-5, 1000)
    assert np.array_equal(close(a, b), close(b, a))
    assert not close(np.nan, np.nan) and not close(1.0, np.inf)


@pytest.mark.parametrize("c", [1.05, 1.105, 1 / 1.105, 1.2, 0.8])
def test_swapping_analytic_and_numeric_gives_the_same_verdict(c):
    x = randn(5)
    verdicts = [gradcheck(f.apply, (x, c), atol=0.0, rtol=0.1, raise_exception=False)
                for f in (ScaledForward, ScaledBackward)]
    assert verdicts[0] == verdicts[1]
    assert verdicts[0] == (abs(c - 1) <= 0.1 * max(c, 1))


def test_an_asymmetric_rule_would_disagree_where_ours_does_not():
    # numpy's isclose scales rtol by its second argument only
    assert np.isclose(1.0, 1.105, rtol=0.1, atol=0) != np.isclose(1.105, 1.0, rtol=0.1, atol=0)
    assert bool(close(1.0, 1.105, rtol=0.1, atol=0)) == bool(close(1.105, 1.0, rtol=0.1, atol=0))


# --- kinks -------------------------------------------------------------------------------------

def test_relu_at_zero_is_a_kink_not_a_mismatch():
    x = leaf([0.0, 0.0, 1.5, -0.7, 0.0])
    with pytest.warns(GradcheckWarning, match="not differentiable here"):
        assert gradcheck(ad.relu, (x,))


@pytest.mark.parametrize("fn, values", [
    (ad.abs, [0.0, 1.0, -2.0]),
    (lambda x: ad.maximum(x, ad.tensor(np.array([1.0, 0.0, 3.0]))), [1.0, -1.0, 3.0]),
    (lambda x: ad.amax(x), [2.0, 2.0, -1.0]),
], ids=["abs", "maximum-tie", "amax-tie"])
def test_symmetric_subgradients_at_kinks_match_the_central_difference(fn, values):
    # abs'(0) = 0 and an even split at ties equal the central difference: nothing to report
    assert gradcheck(fn, (leaf(values),))


def test_clamp_at_its_bound_is_a_kink_not_a_mismatch():
    with pytest.warns(GradcheckWarning, match="not differentiable here"):
        assert gradcheck(lambda x: ad.clamp(x, -1.0, 1.0), (leaf([1.0, -1.0, 0.5]),))


def test_a_jump_is_not_differentiable_not_a_mismatch():
    step_up = lambda x: ad.where(x > 0, x + 1.0, x)  # noqa: E731  (jumps by 1 at 0)
    with pytest.warns(GradcheckWarning, match="not differentiable here.*jumps"):
        assert gradcheck(step_up, (leaf([0.0, 0.5, -0.5]),))


def test_second_order_at_a_max_tie_is_not_a_mismatch():
    # d max(x, y)/dx jumps from 0 to 1 at the tie, so its own derivative does not exist there
    x, y = leaf([0.0, 1.0, 2.0]), leaf([0.0, -1.0, 2.0])
    with pytest.warns(GradcheckWarning, match="not differentiable here"):
        assert gradgradcheck(ad.maximum, (x, y))


def test_a_broadcast_scalar_tied_with_several_elements_is_a_kink():
    # y ties with two elements at once; with mixed-sign v the subgradient lies strictly inside
    # the range of one-sided slopes, which are taken per output element
    x, y = leaf([1e-260, 0.0, 0.0, 0.5]), leaf(0.0)
    for seed in range(5):
        with pytest.warns(GradcheckWarning, match="not differentiable here"):
            assert gradcheck(ad.maximum, (x, y), seed=seed)


def test_a_mask_that_switches_within_the_step_is_not_a_mismatch():
    select = lambda x: x[x > 0]  # noqa: E731
    with pytest.warns(GradcheckWarning, match="not differentiable here"):
        assert gradcheck(select, (leaf([1e-60, 0.5, -0.5]),))
    with pytest.warns(GradcheckWarning, match="not differentiable here"):
        assert gradgradcheck(select, (leaf([0.0, 0.5, -0.5]),))


def test_strong_curvature_is_not_mistaken_for_a_kink():
    class ReciprocalOff(SquareInTensorOps):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 1.0 / x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return -g / (x * x) * 1.001  # 0.1% off, inside the one-sided slopes at x = 1e-3

    with pytest.raises(GradcheckError, match="wrong at that element"):
        gradcheck(ReciprocalOff.apply, (leaf([1e-3, 2e-3]),), rtol=1e-4)


class ReluBadSubgradient(ad.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ad.relu(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * ad.tensor((x.data > 0) + 2.0 * (x.data == 0))  # 2 at 0: not in [0, 1]


def test_a_value_outside_the_one_sided_slopes_is_still_a_mismatch():
    with pytest.raises(GradcheckError, match="not differentiable here.*not between them"):
        gradcheck(ReluBadSubgradient.apply, (leaf([0.0, 1.0]),))


# --- steps scaled to magnitude -----------------------------------------------------------------

FUNCTIONS = {
    "cube": lambda x: x ** 3,
    "log-abs": lambda x: ad.log(ad.abs(x)),
    "reciprocal": lambda x: 1.0 / x,
    "softmax": lambda x: ad.softmax(x, dim=0),
    "sum-of-squares": lambda x: (x * x).sum(),
    "norm": lambda x: x.norm(),
}


@pytest.mark.parametrize("magnitude", [2e4, 1e-3])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_large_and_small_magnitudes_pass_with_defaults(name, magnitude):
    rng = np.random.default_rng(4)
    x = leaf(magnitude * rng.uniform(0.5, 1.5, 12) * rng.choice([-1.0, 1.0], 12))
    assert gradcheck(FUNCTIONS[name], (x,))


def test_a_fixed_absolute_step_fails_at_2e4_where_the_scaled_step_passes():
    rng = np.random.default_rng(5)
    x = leaf(2e4 * rng.uniform(0.9, 1.1, 1000) * rng.choice([-1.0, 1.0], 1000))
    loss = FUNCTIONS["sum-of-squares"]
    assert gradcheck(loss, (x,), max_full=1000)
    # eps / |x| turns our step eps * max(1, |x|) into ~1e-6 absolute: PyTorch's fixed step.
    # sum(x**2) ~ 4e11 then loses the change to rounding: error ~ 1e-16 * 4e11 / 1e-6 ~ 1e2,
    # above rtol * |2x| = 40. (Elementwise functions survive a 1e-6 step at 2e4 in float64;
    # a loss summing many large terms does not.)
    assert not gradcheck(loss, (x,), eps=1e-6 / 2e4, max_full=1000, raise_exception=False)


def test_leaving_the_domain_is_reported_as_such():
    with pytest.raises(GradcheckError, match="domain"):
        gradcheck(ad.log, (leaf([1e-9, 1.0]),))


# --- inputs and outputs ------------------------------------------------------------------------

def test_multiple_inputs_and_outputs_with_non_differentiable_arguments():
    x, w = randn(3, 4), randn(4, 2, seed=1)
    mask = ad.tensor(np.array([True, False, True]))
    labels = ad.tensor(np.array([0, 1, 1]))
    const = ad.tensor(np.ones((3, 2)))  # requires_grad=False: passed through, not checked

    def fn(x, mask, w, labels, const, scale):
        h = ad.tanh(x @ w) * scale + const
        values, indices = h.max(dim=1)
        return ad.where(mask, values, -values), h.log_softmax(dim=1), indices

    assert gradcheck(fn, (x, mask, w, labels, const, 0.5))
    assert gradgradcheck(fn, (x, mask, w, labels, const, 0.5))


def test_the_failing_input_is_named_among_several():
    def fn(x, w):
        return x * 2.0 + SquareWrongAt.apply(w, (1,))

    with pytest.raises(GradcheckError, match="input 1") as info:
        gradcheck(fn, (randn(3), randn(3, seed=1)))
    assert info.value.index == (1,)


def test_float32_inputs_are_upcast_with_a_warning():
    x = leaf(np.random.default_rng(6).standard_normal(5), dtype=np.float32)
    with pytest.warns(GradcheckWarning, match="upcast to float64"):
        assert gradcheck(ad.sigmoid, (x,))


def test_upcast_is_reported_in_the_error():
    x = leaf(np.random.default_rng(7).standard_normal(30), dtype=np.float32)
    with pytest.warns(GradcheckWarning), pytest.raises(GradcheckError, match="upcast from float32"):
        gradcheck(SquareWrongAt.apply, (x, (3,)))


def test_raise_exception_false_returns_false():
    assert gradcheck(SoftmaxMissingTerm.apply, (randn(2, 3),), raise_exception=False) is False
    assert gradgradcheck(SquareEscaping.apply, (randn(3),), raise_exception=False) is False


def test_nothing_to_check_is_an_error():
    with pytest.raises(ValueError, match="requires_grad=True"):
        gradcheck(ad.exp, (ad.tensor(np.ones(3)),))


def test_a_nondeterministic_backward_is_reported():
    rng = np.random.default_rng(8)

    class Noisy(SquareInTensorOps):
        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 2.0 * x * g + ad.tensor(rng.standard_normal(x.shape) * 1e-3)

    with pytest.raises(GradcheckError, match="not deterministic"):
        gradcheck(Noisy.apply, (randn(4),))
    assert gradcheck(Noisy.apply, (randn(4),), nondet_tol=1.0, atol=1e-2) in (True, False)


def test_the_callers_tensors_are_left_alone():
    x = randn(4)
    before = x.data.copy()
    gradcheck(ad.exp, (x,))
    gradgradcheck(ad.exp, (x,))
    assert x.grad is None and np.array_equal(x.data, before)


def test_docstring_examples_run():
    import autodiff.testing.helpers  # noqa: F401
    for name in ("gradcheck", "helpers"):
        result = doctest.testmod(sys.modules["autodiff.testing." + name])
        assert result.failed == 0 and result.attempted > 0
