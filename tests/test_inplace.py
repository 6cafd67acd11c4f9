"""The public in-place methods outside the graph (autodiff/inplace.py) and Tensor.as_subclass:
values as numpy computes them and as PyTorch does, PyTorch's exception classes, identity kept,
and the version stamp that makes a stale backward raise."""
import numpy as np
import pytest

import autodiff as ad
from _torch import require_torch

A = np.array([[0.5, -1.25, 2.0], [3.0, 0.25, -0.75]])
B = np.array([[1.5, 0.5, -2.0], [0.125, 4.0, 1.0]])
C = np.array([[2.0, -0.5, 0.25], [1.0, 8.0, -4.0]])

# name -> (call on a tensor of A, with other tensors built by `t`, numpy reference)
CASES = {
    "add_": (lambda x, t: x.add_(t(B), alpha=-0.5), A - 0.5 * B),
    "sub_": (lambda x, t: x.sub_(t(B), alpha=2.0), A - 2.0 * B),
    "mul_": (lambda x, t: x.mul_(t(B)), A * B),
    "div_": (lambda x, t: x.div_(t(C)), A / C),
    "add_ scalar": (lambda x, t: x.add_(3.0), A + 3.0),
    "addcmul_": (lambda x, t: x.addcmul_(t(B), t(C), value=0.25), A + 0.25 * B * C),
    "addcdiv_": (lambda x, t: x.addcdiv_(t(B), t(C), value=-2.0), A - 2.0 * B / C),
    "lerp_ scalar": (lambda x, t: x.lerp_(t(B), 0.25), A + 0.25 * (B - A)),
    "lerp_ tensor": (lambda x, t: x.lerp_(t(B), t(np.abs(C) / 8)), A + np.abs(C) / 8 * (B - A)),
    "sqrt_": (lambda x, t: x.sqrt_(), np.sqrt(np.abs(A))),  # (run on |A|)
    "zero_": (lambda x, t: x.zero_(), np.zeros_like(A)),
    "fill_": (lambda x, t: x.fill_(1.5), np.full_like(A, 1.5)),
    "copy_ broadcast": (lambda x, t: x.copy_(t(B[0])), np.broadcast_to(B[0], A.shape)),
    "clamp_": (lambda x, t: x.clamp_(-1.0, 1.0), np.clip(A, -1.0, 1.0)),
    "clamp_ min only": (lambda x, t: x.clamp_(min=0.0), np.clip(A, 0.0, None)),
    "chained": (lambda x, t: x.mul_(0.9).add_(t(B), alpha=0.1), 0.9 * A + 0.1 * B),
}


def _run(lib, name):
    call, _ = CASES[name]
    x = lib.tensor(np.abs(A) if name == "sqrt_" else A.copy())
    out = call(x, lambda a: lib.tensor(np.array(a)))
    assert out is x  # in place: the same tensor object comes back
    return np.asarray(x.detach().numpy() if hasattr(x, "numpy") else x)


@pytest.mark.parametrize("name", sorted(CASES))
def test_in_place_values_match_numpy(name):
    np.testing.assert_allclose(_run(ad, name), CASES[name][1], rtol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_in_place_values_match_torch(name):
    torch = require_torch()
    np.testing.assert_allclose(_run(ad, name), _run(torch, name), rtol=1e-12)


def test_in_place_writes_into_the_same_memory_and_keeps_dtype():
    x = ad.tensor(A, dtype=ad.float32)
    data = x.data
    x.add_(ad.tensor(B, dtype=ad.float64))  # a wider operand is cast, as in PyTorch
    assert x.data is data and x.dtype == np.float32
    x.copy_(ad.tensor([[1, 2, 3], [4, 5, 6]]))
    np.testing.assert_array_equal(x.detach().numpy(), [[1, 2, 3], [4, 5, 6]])


def test_errors_are_pytorchs():
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="add_: a leaf Variable that requires grad is "
                                           "being used in an in-place operation.*no_grad"):
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="add_: cannot update a tensor of shape \\(2,\\) and "
                                           "dtype int64"):
        ad.tensor([1, 2]).add_(0.5)  # torch: result type Float can't be cast to Long
    with pytest.raises(RuntimeError, match="copy_: a value of shape \\(3,\\) cannot be written"):
        ad.zeros(2).copy_(ad.ones(3))
    with pytest.raises(RuntimeError, match="at least one of min and max"):
        ad.zeros(2).clamp_()
    with pytest.raises(TypeError, match="mul_\\(\\) got an unexpected keyword argument 'alpha'"):
        ad.zeros(2).mul_(2.0, alpha=3.0)


def test_errors_match_torch_classes():
    torch = require_torch()
    for lib, err in ((ad, RuntimeError), (torch, RuntimeError)):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(err):
            w.add_(1.0)
        with pytest.raises(err):
            lib.tensor([1, 2]).add_(0.5)
        with pytest.raises(err):
            lib.zeros(2).copy_(lib.ones(3))
    with pytest.raises(TypeError):
        torch.zeros(2).mul_(2.0, alpha=3.0)


def test_an_update_stamps_the_version_so_a_stale_backward_raises():
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with ad.no_grad():
        w.sub_(ad.tensor([0.1, 0.1]))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_as_subclass_shares_data_and_graph_link_like_torch():
    class Marked(ad.Tensor):
        __slots__ = ()

    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    m = y.as_subclass(Marked)
    assert type(m) is Marked and m.data is y.data and m.grad_fn is y.grad_fn
    m.sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [3.0, 3.0])
    with pytest.raises(TypeError, match="subclass of Tensor"):
        y.as_subclass(int)
    torch = require_torch()

    class TMarked(torch.Tensor):
        pass

    ty = torch.tensor([1.0, 2.0], requires_grad=True) * 3
    tm = ty.as_subclass(TMarked)
    assert type(tm) is TMarked and tm.grad_fn is not None and tm.data_ptr() == ty.data_ptr()
