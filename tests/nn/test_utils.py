"""nn.utils: gradient clipping vs PyTorch and by hand; flat parameter vectors."""
import math

import numpy as np
import pytest

import autodiff as ad
from nn.utils import (clip_grad_norm_, clip_grad_value_, parameters_to_vector,
                      vector_to_parameters)

from _torch import assert_close, assert_grads_close, to_torch


def _params_with_grads(grads, dtype=np.float32):
    params = []
    for g in grads:
        p = ad.zeros(*np.shape(g), dtype=dtype, requires_grad=True)
        p.grad = ad.tensor(np.asarray(g, dtype=dtype))
        params.append(p)
    return params


def test_clip_grad_norm_by_hand():
    params = _params_with_grads([[3.0, 0.0], [[4.0]]])  # total 2-norm 5
    total = clip_grad_norm_(params, max_norm=1.0)
    assert isinstance(total, ad.Tensor) and total.shape == () and float(total) == 5.0
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad.data, [3 * coef, 0.0], rtol=1e-6)
    np.testing.assert_allclose(params[1].grad.data, [[4 * coef]], rtol=1e-6)
    total_after = math.sqrt(sum((p.grad.data ** 2).sum() for p in params))
    assert total_after == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_below_max_leaves_grads():
    params = _params_with_grads([[0.3, 0.4]])
    grad = params[0].grad.data.copy()
    assert float(clip_grad_norm_(params, 10.0)) == pytest.approx(0.5)
    np.testing.assert_array_equal(params[0].grad.data, grad)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf"), "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(torch, norm_type, max_norm):
    r = np.random.default_rng(0)
    grads = [r.normal(size=(3, 4)), r.normal(size=5), r.normal(size=())]
    ours = _params_with_grads(grads) + [ad.zeros(2, requires_grad=True)]  # a grad-None param
    theirs = [torch.zeros(np.shape(g), requires_grad=True) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = to_torch(np.asarray(g, dtype=np.float32))
    a = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    b = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert a.dtype == np.float32
    assert_close(a, b, rtol=1e-6, atol=0)
    assert_grads_close(ours[:3], theirs, rtol=1e-6, atol=1e-7)
    assert ours[3].grad is None


def test_clip_grad_norm_single_tensor_and_no_grads():
    p = _params_with_grads([[6.0, 8.0]])[0]
    assert float(clip_grad_norm_(p, 5.0)) == 10.0
    np.testing.assert_allclose(p.grad.data, [3.0, 4.0], rtol=1e-5)
    assert float(clip_grad_norm_([ad.zeros(2, requires_grad=True)], 1.0)) == 0.0


def test_clip_grad_norm_nonfinite():
    params = _params_with_grads([[1.0, float("nan")]])
    with pytest.raises(RuntimeError, match="nan"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert math.isnan(float(clip_grad_norm_(params, 1.0)))


def test_clip_grad_value():
    params = _params_with_grads([[-3.0, 0.5, 2.0]])
    clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad.data, [-1.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(params, -1.0)


def test_clip_grad_value_matches_torch(torch):
    g = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    ours = _params_with_grads([g])
    t = torch.zeros(4, 3, requires_grad=True)
    t.grad = to_torch(g)
    clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_([t], 0.7)
    assert_grads_close(ours, [t], rtol=0, atol=0)


def test_parameters_vector_round_trip():
    a = ad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = ad.tensor([5.0], requires_grad=True)
    vec = parameters_to_vector([a, b])
    np.testing.assert_array_equal(vec.data, [1, 2, 3, 4, 5])
    (vec * ad.tensor([1.0, 2.0, 3.0, 4.0, 5.0])).sum().backward()  # differentiable
    np.testing.assert_array_equal(a.grad.data, [[1, 2], [3, 4]])
    data = a.data
    with ad.no_grad():
        vector_to_parameters(vec * 2, [a, b])
    np.testing.assert_array_equal(a.data, [[2, 4], [6, 8]])
    assert a.data is data and b.data[0] == 10  # in place: optimizers keep their references
    with pytest.raises(ValueError, match="5 elements but the parameters have 4"):
        vector_to_parameters(vec, [a])
