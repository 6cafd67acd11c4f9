"""Custom ops with ad.Function and PyTorch's ctx protocol."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.testing import gradcheck, gradgradcheck


class Cube(ad.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g


class ScaledExp(ad.Function):
    """out = exp(k * x), saving its output and a plain attribute on ctx."""

    @staticmethod
    def forward(ctx, x, k):
        out = ad.exp(x * k)
        ctx.k = k
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * ctx.k * out, None


class SplitSum(ad.Function):
    """Two outputs: x + y and x * y."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x + y, x * y

    @staticmethod
    def backward(ctx, g_sum, g_prod):
        x, y = ctx.saved_tensors
        return g_sum + g_prod * y, g_sum + g_prod * x


def test_custom_function_first_and_second_order():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (3,))
    x = ad.tensor(a, requires_grad=True)
    assert gradcheck(Cube.apply, [x]) and gradgradcheck(Cube.apply, [x])


def test_saving_an_output_supports_second_order():
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (2, 2))
    fn = lambda x: ScaledExp.apply(x, 1.5)  # noqa: E731
    x = ad.tensor(a, requires_grad=True)
    assert gradcheck(fn, [x]) and gradgradcheck(fn, [x])


def test_multiple_outputs_and_unused_output_gets_zero_grad():
    x = ad.tensor([1.0, 2.0], dtype=ad.float64, requires_grad=True)
    y = ad.tensor([3.0, 4.0], dtype=ad.float64, requires_grad=True)
    s, p = SplitSum.apply(x, y)
    assert s.grad_fn is p.grad_fn
    (s.sum() + 2 * p.sum()).backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 1 + 2 * y.detach().numpy())
    x.grad = None
    s, p = SplitSum.apply(x, y)
    s.sum().backward()  # p unused: backward still gets a zero tensor for it
    np.testing.assert_allclose(x.grad.detach().numpy(), [1, 1])


def test_needs_input_grad_and_non_tensor_arguments():
    seen = {}

    class Probe(ad.Function):
        @staticmethod
        def forward(ctx, x, y, scale):
            seen["needs"] = ctx.needs_input_grad
            return x * y * scale

        @staticmethod
        def backward(ctx, g):
            return g, None, None

    x = ad.tensor([1.0], requires_grad=True)
    Probe.apply(x, ad.tensor([2.0]), 3.0).sum().backward()
    assert seen["needs"] == (True, False, False)


def test_wrong_gradient_shape_is_reported_with_op_and_index():
    class Bad(ad.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g, g.sum()

    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = ad.tensor([3.0, 4.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadBackward returned an invalid gradient at index 1 - "
                                           r"got shape \(\) but expected shape \(2,\)"):
        Bad.apply(x, y).sum().backward()


def test_wrong_number_of_gradients_is_reported():
    class Bad(ad.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    x = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="returned 1 gradient.*took 2 argument"):
        Bad.apply(x, x).sum().backward()


def test_saved_tensors_after_release_raise():
    x = ad.tensor([1.0], requires_grad=True)
    y = Cube.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="freed.*retain_graph=True"):
        y.grad_fn.saved_tensors


def test_no_graph_when_nothing_requires_grad():
    y = Cube.apply(ad.tensor([2.0]))
    assert y.grad_fn is None and y.item() == 8


def test_mark_non_differentiable():
    class SortWithIndex(ad.Function):
        @staticmethod
        def forward(ctx, x):
            idx = ad.tensor(np.argsort(x.detach().numpy()))
            ctx.mark_non_differentiable(idx)
            ctx.idx = idx
            return x[idx], idx

        @staticmethod
        def backward(ctx, g, g_idx):
            return ad.index_add(g, ctx.idx.detach().numpy(), g.shape)

    x = ad.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, idx = SortWithIndex.apply(x)
    assert not idx.requires_grad
    (values * ad.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [3, 1, 2])


class ScaledProduct(ad.Function):
    """PyTorch 2's split form: forward without ctx, setup_context fills it."""

    @staticmethod
    def forward(x, y, scale=2.0):
        return x * y * scale

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, y, scale = inputs  # the default is filled in, as in PyTorch
        ctx.save_for_backward(x, y)
        ctx.scale = scale

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y * ctx.scale, g * x * ctx.scale, None


def test_setup_context_form_first_and_second_order():
    rng = np.random.default_rng(3)
    x = ad.tensor(rng.uniform(-1, 1, (3,)), requires_grad=True)
    y = ad.tensor(rng.uniform(-1, 1, (3,)), requires_grad=True)
    out = ScaledProduct.apply(x, y)
    np.testing.assert_allclose(out.detach().numpy(), x.detach().numpy() * y.detach().numpy() * 2.0)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 2.0 * y.detach().numpy())
    assert gradcheck(lambda a, b: ScaledProduct.apply(a, b, 0.5), [x, y])
    assert gradgradcheck(lambda a, b: ScaledProduct.apply(a, b, 0.5), [x, y])
