"""split, chunk and unbind as one node with several outputs (PyTorch's SplitBackward0 /
UnbindBackward0): the pieces share one grad_fn, whose rule joins their gradients once (zeros
for a piece that got none), to every order, with hooks, grad() and in-place changes of the
base as in PyTorch.

Tests taking `lib` run with autodiff and with torch (skipped without it): one body, PyTorch's
answer written out in it.
"""
import numpy as np
import pytest

import autodiff as ad
from _torch import require_torch


@pytest.fixture(params=["autodiff", "torch"])
def lib(request):
    return ad if request.param == "autodiff" else require_torch()


def grad_of(lib):
    return ad.grad if lib is ad else lib.autograd.grad


def val(t):
    return np.asarray(t.tolist(), dtype=np.float64)


X = np.arange(1.0, 16.0).reshape(3, 5) / 7.0


@pytest.mark.parametrize("make, name", [
    (lambda x: x.split(2, 1), "SplitBackward"),
    (lambda x: x.chunk(3, 1), "SplitBackward"),
    (lambda x: x.unbind(0), "UnbindBackward"),
], ids=["split", "chunk", "unbind"])
def test_the_pieces_are_outputs_of_one_node(lib, make, name):
    x = lib.tensor(X, requires_grad=True)
    pieces = make(x * 1)
    assert len({id(p.grad_fn) for p in pieces}) == 1
    assert pieces[0].grad_fn.name().startswith(name)
    assert all(p._is_view() for p in pieces)


def test_unused_pieces_get_zeros_to_second_order(lib):
    """loss = sum(a^3) + 2 sum(c^2) of the pieces a, b, c = x.split([2, 1, 2], 1) (b unused):
    dloss/dx = 3a^2 | 0 | 4c; d/dx sum(g^2) = 36 a^3 | 0 | 32 c."""
    x = lib.tensor(X, dtype=lib.float64, requires_grad=True)
    a, b, c = x.split([2, 1, 2], 1)
    loss = (a ** 3).sum() + (c * c).sum() * 2
    g, = grad_of(lib)(loss, x, create_graph=True)
    gg, = grad_of(lib)((g * g).sum(), x)
    zeros = np.zeros((3, 1))
    np.testing.assert_allclose(val(g), np.hstack([3 * X[:, :2] ** 2, zeros, 4 * X[:, 3:]]),
                               rtol=1e-12)
    np.testing.assert_allclose(val(gg), np.hstack([36 * X[:, :2] ** 3, zeros, 32 * X[:, 3:]]),
                               rtol=1e-12)


def test_unbind_a_long_sequence(lib):
    """A loop over 500 time steps unbound from one tensor: one rule joins the 500 gradients
    (stacked once, not a zero-filled copy of the whole sequence per step)."""
    x = lib.tensor(np.linspace(-1, 1, 500 * 3).reshape(500, 3), dtype=lib.float64,
                   requires_grad=True)
    h = lib.zeros(3, dtype=lib.float64)
    for x_t in x.unbind(0):
        h = (h + x_t).tanh()
    h.sum().backward()
    expected = np.linspace(-1, 1, 1500).reshape(500, 3)
    hs = []
    state = np.zeros(3)
    for row in expected:
        state = np.tanh(state + row)
        hs.append(state)
    back = np.ones(3)
    want = np.zeros_like(expected)
    for t in range(499, -1, -1):  # d h_T / d x_t by the chain rule, by hand
        back = back * (1 - hs[t] ** 2)
        want[t] = back
    np.testing.assert_allclose(val(x.grad), want, rtol=1e-10, atol=1e-300)


def test_hooks_retain_grad_and_grad_of_a_piece(lib):
    x = lib.tensor(X, requires_grad=True)
    p = (x * 1).chunk(2, 1)  # pieces of widths 3 and 2
    piece_grad, = grad_of(lib)((p[0] * 2).sum() + (p[1] * p[1]).sum(), p[1])
    np.testing.assert_allclose(val(piece_grad), 2 * X[:, 3:], rtol=1e-6)
    p = (x * 1).chunk(2, 1)
    p[1].retain_grad()
    p[0].register_hook(lambda g: g * 10)
    ((p[0] * 2).sum() + (p[1] * p[1]).sum()).backward()
    np.testing.assert_allclose(val(p[1].grad), 2 * X[:, 3:], rtol=1e-6)
    np.testing.assert_allclose(val(x.grad), np.hstack([np.full((3, 3), 20.0), 2 * X[:, 3:]]),
                               rtol=1e-6)


def test_the_base_changed_in_place_after_the_split(lib):
    """A deliberate difference (docs/guides/semantics.md): the pieces then follow the base's
    new values and history, as other views do; PyTorch refuses to use them."""
    w = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    a = w * 1
    p = a.split(2)
    a.mul_(3)
    if lib is not ad:
        with pytest.raises(RuntimeError, match="its base or another view of its base has been "
                                               "modified inplace"):
            p[0] * p[1]
        return
    (p[0] * p[1]).sum().backward()  # = sum(3 w[:2] * 3 w[2:])
    np.testing.assert_allclose(val(p[0]), [3, 6])
    np.testing.assert_allclose(val(w.grad), [27, 36, 9, 18])


def test_a_piece_changed_in_place_raises_naming_the_node():
    a = ad.ones(4, requires_grad=True) * 1
    p = a.split(2)
    with pytest.raises(RuntimeError, match="output 1 of SplitBackward is a view and is being "
                                           "modified inplace"):
        p[1].mul_(2)
    q = a.unbind()
    with pytest.raises(RuntimeError, match="output 3 of UnbindBackward"):
        q[3].add_(1)


def test_negative_split_sizes_raise(lib):
    with pytest.raises(RuntimeError, match="non-negative"):
        lib.ones(3).split([4, -1])


def test_no_grad_and_constant_inputs_give_plain_views():
    x = ad.tensor(X)
    pieces = x.chunk(2, 1)
    assert all(p.grad_fn is None and p._is_view() for p in pieces)
    np.testing.assert_array_equal(pieces[1].numpy(), X[:, 3:])
    w = ad.tensor(X, requires_grad=True)
    with ad.no_grad():
        pieces = w.unbind(1)
    assert all(p.grad_fn is None and not p.requires_grad for p in pieces)
