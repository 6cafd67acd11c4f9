"""PyTorch's type promotion where it used to go wrong here: a 0-d integer tensor in true
division must not be cast to the other operand's narrower integer dtype first; Python ints
beyond an integer tensor's range wrap (or compute in float for true division) instead of
raising; clamp's tensor bounds propagate NaN (values and gradients); integer and bool pow.
Each case is checked against torch and against written-out values (meaningful without torch)."""
import numpy as np
import pytest

import autodiff as ad
from _torch import assert_close, require_torch, to_numpy

NAN = np.nan


def _torch_or_none():
    try:
        return require_torch()
    except pytest.skip.Exception:
        return None


def _check(expr, expected, dtype):
    """expr(lib) with lib = autodiff: the expected values and dtype; with torch (when
    installed): the same result as ours."""
    ours = expr(ad)
    got = to_numpy(ours)
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    np.testing.assert_allclose(got, np.asarray(expected, dtype), rtol=1e-6, equal_nan=True)
    torch = _torch_or_none()
    if torch is not None:
        assert_close(ours, expr(torch), rtol=1e-6, atol=0)


# --- 1. true division and atan2 with a 0-d integer tensor -------------------------------------

@pytest.mark.parametrize("expr, expected", [
    (lambda L: L.tensor([3, 250], dtype=L.uint8) / L.tensor(300, dtype=L.int16),
     [3 / 300, 250 / 300]),
    (lambda L: L.true_divide(L.tensor([3, 100], dtype=L.int8), L.tensor(300)),
     [3 / 300, 100 / 300]),
    (lambda L: L.tensor(300) / L.tensor([3, 100], dtype=L.int8), [100.0, 3.0]),
    (lambda L: L.tensor([3, 100], dtype=L.int32) / L.tensor(2 ** 40),
     [3 / 2 ** 40, 100 / 2 ** 40]),
    (lambda L: L.div(L.tensor([3, 100], dtype=L.int8), L.tensor(-300, dtype=L.int16)),
     [-0.01, -1 / 3]),
    (lambda L: L.atan2(L.tensor([3, 100], dtype=L.int32), L.tensor(2 ** 40)),
     [np.arctan2(3, 2 ** 40), np.arctan2(100, 2 ** 40)]),
    (lambda L: L.copysign(L.tensor([1, 2], dtype=L.int8), L.tensor(-200)), [-1.0, -2.0]),
    (lambda L: L.xlogy(L.tensor([1, 2], dtype=L.int8), L.tensor(300)),
     [np.log(300), 2 * np.log(300)]),
])
def test_int_true_division_keeps_the_0d_tensor_value(expr, expected):
    _check(expr, expected, np.float32)


def test_int_true_division_in_float64_default():
    torch = _torch_or_none()
    ad.set_default_dtype(ad.float64)
    if torch is not None:
        torch.set_default_dtype(torch.float64)
    try:
        _check(lambda L: L.tensor([3, 250], dtype=L.uint8) / L.tensor(300, dtype=L.int16),
               [0.01, 250 / 300], np.float64)
    finally:
        if torch is not None:
            torch.set_default_dtype(torch.float32)


# --- 2. Python ints beyond an integer tensor's range -------------------------------------------

@pytest.mark.parametrize("expr, expected, dtype", [
    (lambda L: L.tensor([3, 250], dtype=L.uint8) - (-3), [6, 253], np.uint8),
    (lambda L: L.tensor([3, 250], dtype=L.uint8) * -1, [253, 6], np.uint8),
    (lambda L: -1 * L.tensor([3, 250], dtype=L.uint8), [253, 6], np.uint8),
    (lambda L: L.tensor([1, 2], dtype=L.int8) + 300, [45, 46], np.int8),
    (lambda L: L.tensor([3, 100], dtype=L.int8) / 300, [0.01, 1 / 3], np.float32),
    (lambda L: 300 / L.tensor([3, 100], dtype=L.int8), [100.0, 3.0], np.float32),
    (lambda L: L.tensor([3, 100], dtype=L.int32) / 2 ** 40, [3 / 2 ** 40, 100 / 2 ** 40],
     np.float32),
    (lambda L: L.tensor([44], dtype=L.int8) == 300, [True], np.bool_),
    (lambda L: L.tensor([1, 2], dtype=L.int8) > -200, [False, False], np.bool_),
])
def test_out_of_range_python_int(expr, expected, dtype):
    _check(expr, expected, dtype)


def test_where_number_out_of_int_range_raises():
    cond, x = ad.tensor([True, False]), ad.tensor([1, 2], dtype=ad.int8)
    with pytest.raises(RuntimeError, match="overflow"):
        ad.where(cond, x, 300)
    with pytest.raises(RuntimeError, match="overflow"):
        ad.where(cond, 300, x)
    torch = _torch_or_none()
    if torch is not None:
        with pytest.raises(RuntimeError, match="overflow"):
            torch.where(torch.tensor([True, False]), torch.tensor([1, 2], dtype=torch.int8), 300)


# --- 3. clamp with NaN in a tensor bound --------------------------------------------------------

@pytest.mark.parametrize("expr, expected", [
    (lambda L: L.clamp(L.tensor([0., 1., 5.]), L.tensor([NAN, 0., 0.]), L.tensor([2., 2., NAN])),
     [NAN, 1.0, NAN]),
    (lambda L: L.clamp(L.tensor([0., 1.]), min=L.tensor([NAN, 0.5])), [NAN, 1.0]),
    (lambda L: L.clamp_min(L.tensor([0., 1.]), L.tensor([NAN, 0.5])), [NAN, 1.0]),
    (lambda L: L.clamp_max(L.tensor([0., 1.]), L.tensor([NAN, 0.5])), [NAN, 0.5]),
    (lambda L: L.clip(L.tensor([0, 1]), min=L.tensor([NAN, 0.5])), [NAN, 1.0]),
])
def test_clamp_tensor_bound_nan_values(expr, expected):
    _check(expr, expected, np.float32)


# x, min, max (None: not given) -> expected gradients of sum(clamp) w.r.t. each
CLAMP_GRADS = [
    ([0., 1.], [NAN, 0.5], None, ([0., 1.], [0., 0.], None)),
    ([0., 1.], None, [NAN, 0.5], ([0., 0.], None, [0., 1.])),
    ([0., 1., 5.], [NAN, 0., 0.], [2., 2., NAN], ([0., 1., 0.], [0., 0., 0.], [0., 0., 0.])),
    # x NaN: no gradient anywhere; min > max: max gets it; x below/above/inside the bounds
    ([NAN, 1., -1., 3., 0.5], [0., 2., 0., 0., 0.], [1., 0., 1., 1., 1.],
     ([0., 0., 0., 0., 1.], [0., 0., 1., 0., 0.], [0., 1., 0., 1., 0.])),
]


@pytest.mark.parametrize("x, lo, hi, expected", CLAMP_GRADS)
def test_clamp_tensor_bound_nan_gradients(x, lo, hi, expected):
    def run(L):
        xs = [None if v is None else L.tensor(v, requires_grad=True) for v in (x, lo, hi)]
        L.clamp(*xs).sum().backward()
        return [None if v is None else v.grad for v in xs]
    ours = run(ad)
    for g, e in zip(ours, expected):
        if e is None:
            assert g is None
        else:
            np.testing.assert_array_equal(to_numpy(g), np.asarray(e, np.float32))
    torch = _torch_or_none()
    if torch is not None:
        for g, t in zip(ours, run(torch)):
            assert_close(g, t)


def test_clamp_tensor_bounds_broadcast_gradients():
    def run(L):
        x = L.tensor([[0., 2., 5.], [NAN, 1., -3.]], requires_grad=True)
        lo = L.tensor([[NAN], [0.5]], requires_grad=True)
        hi = L.tensor([4., NAN, 4.], requires_grad=True)
        out = L.clamp(x, lo, hi)
        (out * L.tensor([[1., 2., 3.], [4., 5., 6.]])).sum().backward()
        return out, x.grad, lo.grad, hi.grad
    ours = run(ad)
    np.testing.assert_array_equal(to_numpy(ours[0]), [[NAN] * 3, [NAN, NAN, 0.5]])
    np.testing.assert_array_equal(to_numpy(ours[1]), [[0., 0., 0.], [0., 0., 0.]])
    np.testing.assert_array_equal(to_numpy(ours[2]), [[0.], [6.]])
    # (torch's rule: hi gets g where x > hi, even where a NaN lo made the output NaN)
    np.testing.assert_array_equal(to_numpy(ours[3]), [0., 0., 3.])
    torch = _torch_or_none()
    if torch is not None:
        for a, t in zip(ours, run(torch)):
            assert_close(a, t)


# --- 4. pow with integer and bool tensors -------------------------------------------------------

@pytest.mark.parametrize("expr, expected, dtype", [
    (lambda L: L.tensor([True, False]) ** 2, [1, 0], np.int64),
    (lambda L: L.tensor([True, False]) ** True, [True, False], np.bool_),
    (lambda L: L.tensor([2, 3]) ** L.tensor([-1, 2]), [0, 9], np.int64),
    (lambda L: 2 ** L.tensor([-3, 2]), [0, 4], np.int64),
    (lambda L: L.tensor([-1, 1, 2, -2, 0, -1]) ** L.tensor([-3, -2, -1, -1, -1, -4]),
     [-1, 1, 0, 0, 0, 1], np.int64),
    (lambda L: L.tensor([2, 3], dtype=L.int8) ** L.tensor(-1), [0, 0], np.int8),
])
def test_int_and_bool_pow(expr, expected, dtype):
    _check(expr, expected, dtype)


@pytest.mark.parametrize("expr", [
    lambda L: L.tensor([2, 3]) ** -1,
    lambda L: L.pow(L.tensor([2, 3], dtype=L.uint8), -2),
    lambda L: L.tensor([True, False]) ** -1,
])
def test_int_pow_negative_int_scalar_raises(expr):
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        expr(ad)
    torch = _torch_or_none()
    if torch is not None:
        with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
            expr(torch)


def test_where_with_the_condition_alone_is_nonzero_as_tuple():
    for lib in filter(None, (ad, _torch_or_none())):
        rows, cols = lib.where(lib.tensor([[True, False, True], [False, True, False]]))
        assert rows.tolist() == [0, 0, 1] and cols.tolist() == [0, 2, 1]
        with pytest.raises(TypeError):
            lib.where(lib.tensor([True]), lib.ones(1))


def test_broadcast_to_keeps_a_dim_with_minus_one():
    for lib in filter(None, (ad, _torch_or_none())):
        out = lib.broadcast_to(lib.tensor([[1.0, 2.0]]), (3, -1))
        assert tuple(out.shape) == (3, 2) and out.tolist() == [[1.0, 2.0]] * 3
