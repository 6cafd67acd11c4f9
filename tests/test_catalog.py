"""Catalog-driven op checks: forward vs numpy, first and second order with autodiff.testing
(gradcheck / gradgradcheck: float64, random upstream vectors, every input element)."""
import inspect

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autodiff as ad
import autodiff.ops as ops_module
from autodiff.testing import gradcheck, gradgradcheck
from autodiff.testing import strategies as ts
from catalog import CATALOG, NON_DIFFERENTIABLE

# Kinks and jumps the checker accepts (ties of maximum, masks switching within the step) are
# reported as GradcheckWarning; here they are expected, so they do not fill the summary.
pytestmark = pytest.mark.filterwarnings("ignore::autodiff.testing.GradcheckWarning")

# The catalog's input domains (see catalog.DOMAINS), drawn by hypothesis: constructive, so
# values shrink toward simple ones (0, 1, ties) while staying inside the domain.
# "real" keeps exact zeros but no magnitudes below 1e-3: hypothesis likes values such as 1e-59,
# which stress float64 cancellation (see prod) rather than the gradient rules.
ELEMENTS = {
    "real": st.one_of(st.just(0.0), ts.floats(-2.0, 2.0, min_magnitude=1e-3)),
    "positive": ts.positive(0.3, 2.0),
    "away": ts.away_from(0.0, margin=0.2, min_value=-2.0, max_value=2.0),
    "unit": ts.floats(-0.9, 0.9),
    "away_half": ts.away_from(-1.0, -0.5, 0.5, 1.0, margin=0.15, min_value=-2.0, max_value=2.0),
}


def _tensor_strategy(domain, shape):
    if domain == "distinct":  # no ties: amax, max, norm(inf)
        return ts.separated_tensors(shape, margin=0.1, min_value=-2.0)
    return ts.tensors(shape, elements=ELEMENTS[domain])


def _draw_case(data, op):
    shapes = op.shapes(data.draw)
    params = op.params(data.draw, shapes) if op.params else {}
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    domains = op.domain if isinstance(op.domain, tuple) else (op.domain,) * len(shapes)
    arrays = [data.draw(_tensor_strategy(d, s), label=f"input {i}").data
              for i, (d, s) in enumerate(zip(domains, shapes))]
    return arrays, params, seed


def _bind(op, arrays, params):
    """fn over the differentiable inputs only; constants are fixed tensors."""
    const = {i: ad.tensor(arrays[i]) for i in op.constants}
    free = [ad.tensor(a, requires_grad=True) for i, a in enumerate(arrays)
            if i not in op.constants]

    def fn(*xs):
        it = iter(xs)
        args = [const[i] if i in const else next(it) for i in range(len(arrays))]
        return op.fn(*args, **params)
    return fn, free


@pytest.mark.parametrize("op", CATALOG, ids=lambda op: op.id)
@given(data=st.data())
def test_forward_matches_numpy(op, data):
    arrays, params, _ = _draw_case(data, op)
    out = op.fn(*[ad.tensor(a) for a in arrays], **params)
    expected = op.ref(*arrays, **params)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-9)
    assert out.shape == np.shape(expected)


@pytest.mark.parametrize("op", CATALOG, ids=lambda op: op.id)
@given(data=st.data())
def test_first_order_gradient(op, data):
    arrays, params, seed = _draw_case(data, op)
    fn, free = _bind(op, arrays, params)
    gradcheck(fn, free, eps=op.eps, atol=1e-6, rtol=op.rtol, seed=seed)


@pytest.mark.parametrize("op", CATALOG, ids=lambda op: op.id)
@given(data=st.data())
def test_second_order_gradient(op, data):
    arrays, params, seed = _draw_case(data, op)
    fn, free = _bind(op, arrays, params)
    gradgradcheck(fn, free, eps=max(op.eps, 1e-5), atol=1e-5, rtol=max(op.rtol, 1e-4), seed=seed)


@pytest.mark.parametrize("op", CATALOG, ids=lambda op: op.id)
@given(data=st.data())
def test_array_rules_match_tensor_rules(op, data):
    """First-order passes run each node's backward_arrays; create_graph=True runs its Tensor
    backward. Both must give the same gradients (gradcheck above proves the first against
    finite differences, gradgradcheck the second)."""
    arrays, params, seed = _draw_case(data, op)
    fn, free = _bind(op, arrays, params)
    out = fn(*free)
    if not out.requires_grad:
        return
    v = ad.tensor(np.random.default_rng(seed).standard_normal(out.shape))
    fast = ad.grad(out, free, v, retain_graph=True, allow_unused=True)
    slow = ad.grad(out, free, v, create_graph=True, allow_unused=True)
    for i, (a, b) in enumerate(zip(fast, slow)):
        assert (a is None) == (b is None), f"input {i}: one rule gave no gradient"
        if a is not None:
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12,
                                       err_msg=f"input {i}")


@pytest.mark.parametrize("op", CATALOG, ids=lambda op: op.id)
@given(data=st.data())
def test_gradient_dtype_and_shape_in_float32(op, data):
    arrays, params, _ = _draw_case(data, op)
    fn, free = _bind(op, [a.astype(np.float32) for a in arrays], params)
    xs = [x.detach().to(ad.float32).requires_grad_() for x in free]
    out = fn(*xs)
    if out.requires_grad:
        out.backward(ad.ones_like(out))
    for x in xs:
        if x.grad is not None:
            assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


def public_ops():
    names = set()
    for name, obj in vars(ops_module).items():
        if not name.startswith("_") and inspect.isfunction(obj):
            names.add(name)
    return names | {"clone"}


def test_every_public_op_is_in_the_catalog():
    covered = {op.name for op in CATALOG}
    missing = sorted(public_ops() - covered - NON_DIFFERENTIABLE)
    assert not missing, f"ops missing from tests/catalog.py: {missing}"
