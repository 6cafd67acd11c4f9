"""Zero upstream gradients: a backward rule is linear in its upstream gradient g, so g = 0 gives
exactly zero input gradients - never NaN, also where the local derivative is infinite (log at
0, sqrt at 0, 1 / y at y = 0, exp overflowing: the `_guard` of autodiff/ops/elementwise.py) -
and the derivative of the rule with respect to g at g = 0 is the Jacobian itself (what jvp and
double backward use), wherever that is finite.

* every catalogued op, at points of its domain: zero gradients in the array pass and the
  recorded pass, and gradgradcheck with g = 0 (it differentiates with respect to g too);
* SINGULAR: each op with a guard, at points mixing its singular values with regular ones.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autodiff as ad
from autodiff.testing import gradgradcheck
from catalog import CATALOG
from test_catalog import _bind, domain_arrays, draw_case

pytestmark = pytest.mark.filterwarnings("ignore::autodiff.testing.GradcheckWarning")


def _assert_exact_zeros(grads, free, what):
    for i, (g, x) in enumerate(zip(grads, free)):
        if g is None:
            continue
        arr = g.detach().numpy()
        assert arr.shape == x.shape, f"{what}: input {i} gradient shape {arr.shape} != {x.shape}"
        bad = arr[arr != 0]
        assert bad.size == 0, (f"{what}: a zero upstream gradient gave input {i} the gradient "
                               f"{bad[:4]} (NaN: 0 * inf in a rule; else a term not scaled by g)")


@pytest.mark.parametrize("op", CATALOG, ids=lambda op: op.id)
@settings(max_examples=3)
@given(data=st.data())
def test_a_zero_upstream_gradient_gives_zero_gradients(op, data):
    shapes, params, seed = draw_case(data, op)
    fn, free = _bind(op, domain_arrays(op, shapes, seed), params)
    out = fn(*free)
    zero = ad.tensor(np.zeros(out.shape))
    _assert_exact_zeros(ad.grad(out, free, zero, retain_graph=True, allow_unused=True), free,
                        "array pass")
    _assert_exact_zeros(ad.grad(out, free, zero, create_graph=True, allow_unused=True), free,
                        "recorded pass")


# one example per op: test_catalog.py and test_rules.py differentiate with respect to random g
@pytest.mark.parametrize("op", CATALOG, ids=lambda op: op.id)
@settings(max_examples=1)
@given(data=st.data())
def test_second_order_at_a_zero_upstream_gradient(op, data):
    """d/dx and d/dg of grad(f(x), x, g) at g = 0, against finite differences."""
    shapes, params, seed = draw_case(data, op)
    fn, free = _bind(op, domain_arrays(op, shapes, seed), params)
    zero = np.zeros(fn(*free).shape)
    gradgradcheck(fn, free, grad_outputs=(zero,), eps=max(op.eps, 1e-5), atol=1e-5,
                  rtol=max(op.rtol, 1e-4), seed=seed)


# --- singular points ---------------------------------------------------------------------------
# name -> (fn of one tensor of shape (rows, n), elementwise along n; singular columns (one value
# per row); the range each row's regular values are drawn from)
SINGULAR = {
    "log at 0": (ad.log, [(0.0,)], [(0.2, 2.0)]),
    "log2 at 0": (ad.log2, [(0.0,)], [(0.2, 2.0)]),
    "log10 at 0": (ad.log10, [(0.0,)], [(0.2, 2.0)]),
    "log1p at -1": (ad.log1p, [(-1.0,)], [(-0.8, 2.0)]),
    "sqrt at 0": (ad.sqrt, [(0.0,)], [(0.2, 2.0)]),
    "rsqrt at 0": (ad.rsqrt, [(0.0,)], [(0.2, 2.0)]),
    "reciprocal at 0": (ad.reciprocal, [(0.0,)], [(0.2, 2.0)]),
    "x ** 0.5 at 0": (lambda t: t ** 0.5, [(0.0,)], [(0.2, 2.0)]),
    "x ** 0.3 at 0": (lambda t: t ** 0.3, [(0.0,)], [(0.2, 2.0)]),
    "x ** -1 at 0": (lambda t: t ** -1, [(0.0,)], [(0.2, 2.0)]),
    "x ** -2.5 at 0": (lambda t: t ** -2.5, [(0.0,)], [(0.2, 2.0)]),
    "exp overflowing": (ad.exp, [(800.0,)], [(-2.0, 2.0)]),
    "asin at -1 and 1": (ad.asin, [(-1.0,), (1.0,)], [(-0.9, 0.9)]),
    "acos at -1 and 1": (ad.acos, [(-1.0,), (1.0,)], [(-0.9, 0.9)]),
    "acosh at 1": (ad.acosh, [(1.0,)], [(1.2, 3.0)]),
    "atanh at -1 and 1": (ad.atanh, [(-1.0,), (1.0,)], [(-0.9, 0.9)]),
    "logit at 0 and 1": (ad.logit, [(0.0,), (1.0,)], [(0.1, 0.9)]),
    "entr at 0": (ad.special.entr, [(0.0,)], [(0.2, 2.0)]),
    "x / y at y = 0": (lambda t: t[0] / t[1], [(1.0, 0.0), (0.0, 0.0), (-0.5, 0.0)],
                       [(-2.0, 2.0), (0.3, 2.0)]),
    "hypot at (0, 0)": (lambda t: ad.hypot(t[0], t[1]), [(0.0, 0.0)], [(0.3, 2.0), (-2.0, -0.3)]),
    "xlogy at y = 0": (lambda t: ad.xlogy(t[0], t[1]), [(1.0, 0.0), (-1.5, 0.0)],
                       [(-2.0, 2.0), (0.3, 2.0)]),
}


# Where d/dx of the gradient at g = 0 is not 0 at a singular point, and why (each as PyTorch):
NOT_ZERO_AT_SECOND_ORDER = {
    # dx = xlogy(g, y); its own y-derivative, g' * g / y, is 0 / 0 at g = y = 0 (PyTorch's
    # `grad * self / other` gives NaN there too, and NaN already at first order, where autodiff's
    # guard gives 0)
    "xlogy at y = 0": "NaN",
}


@st.composite
def singular_points(draw, singular, regular):
    """(points of shape (rows, n), which columns are singular): at least one singular column,
    the others regular values drawn from each row's range."""
    n = draw(st.integers(1, 5))
    is_singular = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    is_singular[draw(st.integers(0, n - 1))] = True
    columns = []
    for s in is_singular:
        if s:
            columns.append(draw(st.sampled_from(singular)))
        else:
            columns.append(tuple(draw(st.floats(lo, hi)) for lo, hi in regular))
    return np.array(columns, np.float64).T, np.array(is_singular)


def _directional(fn, x, w, h=1e-6):
    """(f(x + h w) - f(x - h w)) / 2h, Richardson-extrapolated."""
    def central(step):
        with ad.no_grad(), np.errstate(all="ignore"):
            hi = fn(ad.tensor(x + step * w)).numpy()
            lo = fn(ad.tensor(x - step * w)).numpy()
        return (hi - lo) / (2 * step)
    c1, c2 = central(h), central(h / 2)
    return c2 + (c2 - c1) / 3


@pytest.mark.parametrize("name", sorted(SINGULAR))
@settings(max_examples=10)
@given(data=st.data())
def test_a_zero_upstream_gradient_at_a_singular_point(name, data):
    fn, singular, regular = SINGULAR[name]
    points, at_singular = data.draw(singular_points(singular, regular), label="points")
    x = ad.tensor(points, requires_grad=True)
    with np.errstate(all="ignore"):  # (the forward itself is inf or nan at the singular points)
        out = fn(x)
    u = ad.tensor(np.zeros(out.shape), requires_grad=True)
    # first order, array and recorded passes: exactly 0
    _assert_exact_zeros(ad.grad(out, x, u.detach(), retain_graph=True), [x], name)
    gx, = ad.grad(out, x, u, create_graph=True)
    _assert_exact_zeros([gx], [x], name + ", recorded")
    # second order: d/dx of <gx, w> is 0 (gx = 0 for every x near here), d/du is J w: the
    # local derivative where it is finite, a finite number (the guard's stand-in) where not
    w = np.random.default_rng(7).uniform(0.5, 1.5, points.shape)
    hx, hu = ad.grad((gx * ad.tensor(w)).sum(), (x, u), allow_unused=True)
    if hx is not None and name not in NOT_ZERO_AT_SECOND_ORDER:
        _assert_exact_zeros([hx], [x], name + ", d/dx at g = 0")
    assert hu is not None, f"{name}: the gradient is cut off from its upstream gradient"
    hu = hu.detach().numpy()
    assert np.isfinite(hu).all(), f"{name}: d/dg at g = 0 is {hu} (not finite)"
    regular_w = np.where(at_singular, 0.0, w)
    numeric = _directional(fn, points, regular_w)
    regular_cols = ~at_singular
    np.testing.assert_allclose(hu.reshape(-1, points.shape[1])[:, regular_cols],
                               numeric.reshape(-1, points.shape[1])[:, regular_cols],
                               rtol=1e-6, atol=1e-8, err_msg=f"{name}: d/dg at g = 0 != J w")
