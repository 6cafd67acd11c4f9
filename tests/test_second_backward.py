"""A second backward through a released graph (no retain_graph=True), as in PyTorch: it raises
exactly when a node on the way needs what the first backward freed (saved values, its output or
inputs, an index or mask array), and otherwise runs again and accumulates the same gradient.

Tests taking `lib` run with autodiff and with torch (skipped without it): one body, PyTorch's
answer written out in it.
"""
import numpy as np
import pytest

import autodiff as ad
import nn.functional as F
from _torch import require_torch


@pytest.fixture(params=["autodiff", "torch"])
def lib(request):
    return ad if request.param == "autodiff" else require_torch()


def functional(lib):
    return F if lib is ad else lib.nn.functional


# op -> the scalar it builds from x = [1, 2, 3, 4]; none of these saves a tensor in PyTorch
RUNS_AGAIN = {
    "add_scalar": lambda L, x: (x + 2.5).sum(),
    "rsub": lambda L, x: (1 - x).sum(),
    "neg": lambda L, x: (-x).sum(),
    "add_self": lambda L, x: (x + x).sum(),
    "sub_scalar": lambda L, x: (x - 1).sum(),
    "mean": lambda L, x: x.mean(),
    "reshape": lambda L, x: x.reshape(2, 2).sum(),
    "permute": lambda L, x: x.reshape(2, 2).t().sum(),
    "slice": lambda L, x: x[1:].sum(),
    "select": lambda L, x: x.select(0, 1),
    "split": lambda L, x: sum(p.sum() for p in x.split(2)),
    "unbind": lambda L, x: x.reshape(2, 2).unbind(0)[0].sum(),
    "cat": lambda L, x: L.cat([x, x]).sum(),
    "stack": lambda L, x: L.stack([x, x]).sum(),
    "expand": lambda L, x: x[None].expand(3, 4).sum(),
    "flip": lambda L, x: x.flip(0).sum(),
    "roll": lambda L, x: x.roll(1).sum(),
    "clone": lambda L, x: x.clone().sum(),
    "cumsum": lambda L, x: x.cumsum(0).sum(),
    "pad": lambda L, x: functional(L).pad(x, (1, 1)).sum(),
    "unfold": lambda L, x: x.unfold(0, 2, 1).sum(),
    "repeat": lambda L, x: x.repeat(2).sum(),
    "tril": lambda L, x: x.reshape(2, 2).tril().sum(),
    "triu": lambda L, x: x.reshape(2, 2).triu(1).sum(),
}

# each of these saves a tensor in PyTorch (an input, the output, an index or a mask)
RAISES = {
    "mul_self": lambda L, x: (x * x).sum(),
    "mul_scalar": lambda L, x: (x * 2).sum(),
    "div_scalar": lambda L, x: (x / 3).sum(),
    "exp": lambda L, x: x.exp().sum(),
    "pow": lambda L, x: (x ** 2).sum(),
    "relu": lambda L, x: x.relu().sum(),
    "matmul": lambda L, x: (x.reshape(2, 2) @ x.reshape(2, 2)).sum(),
    "log_softmax": lambda L, x: functional(L).log_softmax(x, 0).sum(),
    "max": lambda L, x: x.max(),
    "where": lambda L, x: L.where(x > 2, x, L.zeros_like(x)).sum(),
    "advanced_index": lambda L, x: x[L.tensor([0, 2])].sum(),
    "bool_index": lambda L, x: x[x > 2].sum(),
    "index_select": lambda L, x: x.index_select(0, L.tensor([0, 2])).sum(),
    "gather": lambda L, x: x.gather(0, L.tensor([0, 0, 3])).sum(),
    "embedding": lambda L, x: functional(L).embedding(L.tensor([0, 1, 1]),
                                                     x.reshape(2, 2)).sum(),
    "index_add": lambda L, x: L.zeros(4, dtype=L.float64).index_add(0, L.tensor([1, 0]),
                                                                    x[:2]).sum(),
    "sort": lambda L, x: x.sort().values.sum(),
    "max_pool": lambda L, x: functional(L).max_pool1d(x.reshape(1, 1, 4), 2).sum(),
    "cross_entropy": lambda L, x: functional(L).cross_entropy(x.reshape(1, 4),
                                                              L.tensor([1])),
}


def _leaf(lib):
    return lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64, requires_grad=True)


@pytest.mark.parametrize("op", sorted(RUNS_AGAIN))
def test_a_graph_without_saved_values_runs_again(lib, op):
    x = _leaf(lib)
    y = RUNS_AGAIN[op](lib, x)
    y.backward()
    first = np.array(x.grad.tolist())
    y.backward()  # no retain_graph: nothing it needs was freed
    np.testing.assert_array_equal(np.array(x.grad.tolist()), 2 * first)
    assert np.any(first != 0)


@pytest.mark.parametrize("op", sorted(RAISES))
def test_a_graph_needing_freed_values_raises(lib, op):
    x = _leaf(lib)
    y = RAISES[op](lib, x)
    y.backward()
    first = np.array(x.grad.tolist())
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    np.testing.assert_array_equal(np.array(x.grad.tolist()), first)  # nothing half-added


def test_the_error_names_the_first_node_that_needs_freed_values():
    x = _leaf(ad)
    y = (x.exp() + 1).reshape(2, 2).sum()  # reshape, add and sum run again; exp cannot
    y.backward()
    with pytest.raises(RuntimeError, match=r"ExpBackward a second time.*retain_graph=True"):
        y.backward()


def test_a_shared_graph_without_saved_values_serves_two_losses(lib):
    """Two losses over one parameter-free stretch of graph, each backward without retain_graph
    (a common pattern with additive heads): both gradients accumulate."""
    x = _leaf(lib)
    h = (x + 1).reshape(2, 2)
    (h[0].sum() + 0).backward()
    (h[1].sum() + 0).backward()
    np.testing.assert_array_equal(np.array(x.grad.tolist()), [1.0, 1.0, 1.0, 1.0])


class _Twice(ad.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


class _Square(ad.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


def test_a_function_that_saved_nothing_runs_again():
    x = _leaf(ad)
    y = _Twice.apply(x).sum()
    y.backward()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0, 4.0, 4.0])


def test_a_function_reading_freed_saved_tensors_raises():
    x = _leaf(ad)
    y = _Square.apply(x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="freed.*retain_graph=True"):
        y.backward()


def test_torch_agrees_on_functions():
    torch = require_torch()

    class Twice(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = torch.ones(4, dtype=torch.float64, requires_grad=True)
    y = Twice.apply(x).sum()
    y.backward()
    y.backward()
    assert x.grad.tolist() == [4.0, 4.0, 4.0, 4.0]
