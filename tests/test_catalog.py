"""Catalog-driven op checks: forward vs numpy, first and second order vs finite differences."""
import inspect

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autodiff as ad
import autodiff.ops as ops_module
from _fd import check_grad, check_gradgrad
from catalog import CATALOG, DOMAINS, NON_DIFFERENTIABLE


def _draw_case(data, op):
    shapes = op.shapes(data.draw)
    params = op.params(data.draw, shapes) if op.params else {}
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    domains = op.domain if isinstance(op.domain, tuple) else (op.domain,) * len(shapes)
    arrays = [np.asarray(DOMAINS[d](rng, s), dtype=np.float64) for d, s in zip(domains, shapes)]
    return arrays, params, rng


def _bind(op, arrays, params):
    """fn over the differentiable inputs only; constants are fixed tensors."""
    const = {i: ad.tensor(arrays[i]) for i in op.constants}
    free = [a for i, a in enumerate(arrays) if i not in op.constants]

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
    arrays, params, rng = _draw_case(data, op)
    fn, free = _bind(op, arrays, params)
    check_grad(fn, free, rng, eps=op.eps, rtol=op.rtol)


@pytest.mark.parametrize("op", CATALOG, ids=lambda op: op.id)
@given(data=st.data())
def test_second_order_gradient(op, data):
    arrays, params, rng = _draw_case(data, op)
    fn, free = _bind(op, arrays, params)
    check_gradgrad(fn, free, rng, eps=max(op.eps, 1e-5), rtol=max(op.rtol, 1e-4))


@pytest.mark.parametrize("op", CATALOG, ids=lambda op: op.id)
@given(data=st.data())
def test_gradient_dtype_and_shape_in_float32(op, data):
    arrays, params, _ = _draw_case(data, op)
    fn, free = _bind(op, [a.astype(np.float32) for a in arrays], params)
    xs = [ad.tensor(a.astype(np.float32), requires_grad=True) for a in free]
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
