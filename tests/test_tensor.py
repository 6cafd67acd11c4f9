"""Tensor basics: construction, dtypes and promotion, numpy interop, repr, in-place rules."""
import numpy as np
import pytest

import autodiff as ad


def test_default_dtypes_follow_pytorch():
    assert ad.tensor([1.0, 2.0]).dtype == np.float32
    assert ad.tensor([1, 2]).dtype == np.int64
    assert ad.tensor([True]).dtype == np.bool_
    assert ad.tensor(np.array([1.0])).dtype == np.float64  # ndarrays keep theirs
    assert ad.zeros(2).dtype == np.float32 and ad.randn(2).dtype == np.float32
    assert ad.arange(3).dtype == np.int64 and ad.arange(0.0, 1.0, 0.5).dtype == np.float32


def test_set_default_dtype():
    ad.set_default_dtype(ad.float64)
    assert ad.tensor([1.0]).dtype == np.float64 and ad.ones(1).dtype == np.float64
    with pytest.raises(TypeError, match="only floating"):
        ad.set_default_dtype(ad.int64)


@pytest.mark.parametrize("a,b,expected", [
    (np.float32, np.float64, np.float64),
    (np.float32, np.int64, np.float32),
    (np.int64, np.float64, np.float64),
    (np.int32, np.int64, np.int64),
    (np.bool_, np.float32, np.float32),
])
def test_tensor_tensor_promotion(a, b, expected):
    x, y = ad.tensor(np.ones(2, a)), ad.tensor(np.ones(2, b))
    assert (x + y).dtype == expected and (y * x).dtype == expected


def test_scalars_keep_the_tensor_dtype():
    x = ad.tensor([1.0, 2.0])
    assert (x * 2.5).dtype == np.float32 and (2 * x).dtype == np.float32
    assert (x * np.float64(2)).dtype == np.float32
    i = ad.tensor([1, 2])
    assert (i * 2).dtype == np.int64 and (i * 2.5).dtype == np.float32
    assert (i / 2).dtype == np.float32


def test_numpy_on_the_left_returns_a_tensor_in_the_graph():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    for y in (np.float64(2) * x, np.ones(2) + x, np.exp(x), np.ones(2) * x):
        assert isinstance(y, ad.Tensor) and y.requires_grad
    y = np.ones(2) + x
    assert y.dtype == np.float64  # the ndarray is float64: promotion as tensor + tensor
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_requires_grad_only_for_floats():
    with pytest.raises(RuntimeError, match="only floating-point.*int64.*float"):
        ad.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="only floating-point"):
        ad.tensor([1, 2]).requires_grad_()


def test_requires_grad_settable_on_leaves_only():
    x = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf.*MulBackward.*detach"):
        (x * 2).requires_grad = False


def test_bool_len_hash_and_iteration():
    x = ad.tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(RuntimeError, match=r"4 elements.*\(2, 2\)"):
        bool(x)
    assert bool(ad.tensor([1.0])) and not bool(ad.tensor(0.0))
    assert len(x) == 2 and [r.shape for r in x] == [(2,), (2,)]
    assert len({x, x, ad.tensor([1.0])}) == 2  # hashed by identity
    assert (x == x).dtype == np.bool_


def test_sum_of_a_list_of_tensors():
    xs = [ad.tensor(float(i), requires_grad=True) for i in range(4)]
    total = sum(x * x for x in xs)
    total.backward()
    assert total.item() == 14 and [x.grad.item() for x in xs] == [0, 2, 4, 6]


def test_repr_is_pytorch_like():
    assert repr(ad.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    y = ad.tensor([1.0], requires_grad=True) * 2
    assert repr(y) == "tensor([2.], grad_fn=<MulBackward0>)"
    assert "dtype=autodiff.float64" in repr(ad.tensor(np.ones(1)))
    assert y.grad_fn.name == "MulBackward" and y.grad_fn.name() == "MulBackward"


def test_attributes_and_conversions():
    x = ad.tensor(np.arange(6.0).reshape(2, 3))
    assert x.shape == (2, 3) and x.ndim == 2 and x.dim() == 2 and x.numel() == 6
    assert x.size() == (2, 3) and x.size(-1) == 3
    assert x.T.shape == (3, 2) and x.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert x[1, 2].item() == 5 and float(x[0, 1]) == 1
    assert x.float().dtype == np.float32 and x.long().dtype == np.int64
    assert x.to("cpu") is x and x.to(ad.float32).dtype == np.float32
    c = x.clone()
    assert c.data is not x.data and np.array_equal(c.detach().numpy(), x.detach().numpy())
    assert np.asarray(x) is x.data


def test_float_casts_are_differentiable():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    y.sum().backward()
    assert y.dtype == np.float64 and x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.detach().numpy(), [3, 3])


def test_in_place_ops_outside_the_graph():
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf.*in-place.*no_grad"):
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="in-place"):
        w -= 1.0
    w.grad = ad.tensor([0.5, 0.5])
    with ad.no_grad():
        ref = w
        w -= 0.1 * w.grad  # PyTorch-style update keeps the parameter's identity
        w.mul_(2.0)
    assert w is ref and w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.detach().numpy(), [1.9, 3.9], rtol=1e-6)
    z = ad.zeros(3)
    z[1] = 5.0
    z.fill_(2.0)
    z.zero_()
    assert z.tolist() == [0, 0, 0]


def test_augmented_assignment_on_non_leaf_rebinds():
    x = ad.tensor([1.0], requires_grad=True)
    h = x * 2
    h += 1  # out of place while recording: still differentiable
    h.backward(ad.ones(1))
    assert x.grad.item() == 2


def test_grad_assignment_is_checked():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(3,\).*\(2,\)"):
        x.grad = ad.zeros(3)


def test_random_factories_are_seeded():
    ad.manual_seed(3)
    a = ad.randn(4)
    ad.manual_seed(3)
    assert np.array_equal(a.detach().numpy(), ad.randn(4).detach().numpy())
    g1, g2 = ad.Generator().manual_seed(7), ad.Generator().manual_seed(7)
    assert np.array_equal(ad.rand(3, generator=g1).numpy(), ad.rand(3, generator=g2).numpy())
    assert ad.randint(0, 5, (10,)).dtype == np.int64
    assert sorted(ad.randperm(5).tolist()) == [0, 1, 2, 3, 4]


def test_factories_accept_dtype_and_requires_grad():
    for t in (ad.zeros(2, 3, dtype=ad.float64, requires_grad=True),
              ad.ones((2, 3), dtype=ad.float64, requires_grad=True),
              ad.full((2, 3), 1.5, dtype=ad.float64, requires_grad=True),
              ad.eye(3, dtype=ad.float64, requires_grad=True),
              ad.linspace(0, 1, 5, dtype=ad.float64, requires_grad=True),
              ad.randn(2, dtype=ad.float64, requires_grad=True),
              ad.zeros_like(ad.ones(2, dtype=ad.float64), requires_grad=True)):
        assert t.dtype == np.float64 and t.requires_grad and t.is_leaf
    assert ad.full((2,), 7).dtype == np.int64
    assert ad.from_numpy(a := np.ones(3)).data is a


def test_max_with_dim_returns_values_and_indices():
    x = ad.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    values, indices = x.max(dim=1)
    assert values.tolist() == [5, 7] and indices.tolist() == [1, 0]
    assert x.max().item() == 7 and x.argmin().item() == 4
    assert x.max(ad.tensor(4.0)).tolist() == [[4, 5, 4], [7, 4, 4]]


def test_numpy_style_axis_and_keepdims_keywords():
    x = ad.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.sum(axis=1).tolist() == [3, 7]
    assert ad.mean(x, axis=0, keepdims=True).shape == (1, 2)
    assert x.max(axis=1).values.tolist() == [2, 4] and x.argmax(axis=0).tolist() == [1, 1]


def test_sort_and_topk_match_numpy_and_route_gradients():
    x = ad.tensor([[3.0, 1.0, 2.0]], dtype=ad.float64, requires_grad=True)
    values, indices = x.topk(2)
    assert values.tolist() == [[3, 2]] and indices.tolist() == [[0, 2]]
    (values * ad.tensor([[10.0, 1.0]], dtype=ad.float64)).sum().backward()
    assert x.grad.tolist() == [[10, 0, 1]]
    assert ad.sort(x, descending=True).values.tolist() == [[3, 2, 1]]
