"""Convolution and pooling beyond the catalog (tests/catalog_conv.py): the lecture's worked
numbers and shapes, subgradient rules, double backward chains and error messages."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.testing import gradcheck, gradgradcheck
from catalog_conv import np_conv2d, np_max_pool2d


def test_curriculum_worked_number():
    # 3x3 input 1..9, 2x2 filter [[w, x], [y, z]] -> top-left output w + 2x + 4y + 5z
    x = ad.tensor(np.arange(1.0, 10.0).reshape(1, 1, 3, 3))
    w, x_, y, z = 1.0, 10.0, 100.0, 1000.0
    out = ad.conv2d(x, ad.tensor([[[[w, x_], [y, z]]]]))
    assert out.shape == (1, 1, 2, 2)
    assert out.data[0, 0, 0, 0] == w + 2 * x_ + 4 * y + 5 * z
    np.testing.assert_array_equal(out.data[0, 0], [[5421, 6532], [8754, 9865]])


def test_lenet_c1_shape_and_parameter_count():
    w = ad.zeros(6, 1, 5, 5)
    b = ad.zeros(6)
    out = ad.conv2d(ad.zeros(1, 1, 32, 32), w, b)
    assert out.shape == (1, 6, 28, 28)
    assert w.numel() + b.numel() == 156


def test_alexnet_conv1_shape_and_parameter_count():
    w = ad.zeros(96, 3, 11, 11)
    b = ad.zeros(96)
    out = ad.conv2d(ad.zeros(1, 3, 227, 227), w, b, stride=4)
    assert out.shape == (1, 96, 55, 55)
    assert w.numel() + b.numel() == 34944


def test_livestream_cnn_flatten_size_with_same_padding():
    x = ad.zeros(2, 1, 28, 28)
    h = ad.max_pool2d(ad.conv2d(x, ad.zeros(16, 1, 5, 5), padding="same"), 2).relu()
    h = ad.max_pool2d(ad.conv2d(h, ad.zeros(36, 16, 5, 5), padding="same"), 2).relu()
    assert h.flatten(1).shape == (2, 1764)


def test_relu_and_max_pool_commute():
    x = ad.tensor(np.random.default_rng(1).standard_normal((2, 3, 6, 6)))
    np.testing.assert_array_equal(ad.max_pool2d(x, 2).relu().data, ad.max_pool2d(x.relu(), 2).data)
    np.testing.assert_array_equal(ad.max_pool2d(x, 3, 1, 1).relu().data,
                                  ad.max_pool2d(x.relu(), 3, 1, 1).data)


def test_max_pool_ties_give_the_gradient_to_the_first_maximum_as_pytorch():
    # (unlike amax: pooling's gradient follows the indices that return_indices and max_unpool
    # use, so a tie goes to the first maximum of the window in row-major order, as PyTorch)
    x = ad.tensor([[[[1.0, 3.0], [3.0, 0.0]]]], requires_grad=True)
    out, idx = ad.max_pool2d_with_indices(x, 2)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[[0.0, 1.0], [0.0, 0.0]]]])
    assert idx.item() == 1
    x = ad.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    ad.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], np.tile([[1.0, 0.0], [0.0, 0.0]], (2, 2)))


def test_overlapping_max_pool_accumulates_where_windows_share_the_max():
    x = ad.tensor([[[[0.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]], requires_grad=True)
    ad.max_pool2d(x, 2, stride=1).sum().backward()  # all four windows pick the centre
    assert x.grad.data[0, 0, 1, 1] == 4.0 and x.grad.data.sum() == 4.0


def test_same_padding_even_kernel_pads_after_like_pytorch():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((1, 2, 5, 6)), rng.standard_normal((3, 2, 2, 4))
    out = ad.conv2d(ad.tensor(x), ad.tensor(w), padding="same")
    assert out.shape == (1, 3, 5, 6)
    np.testing.assert_allclose(out.data, np_conv2d(x, w, padding="same"), atol=1e-12)


def test_unbatched_input():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 5, 5)), rng.standard_normal((4, 2, 3, 3))
    out = ad.conv2d(ad.tensor(x), ad.tensor(w), padding=1)
    np.testing.assert_allclose(out.data, np_conv2d(x[None], w, padding=1)[0], atol=1e-12)
    assert ad.max_pool2d(ad.tensor(x), 2).shape == (2, 2, 2)


def test_float32_in_float32_out_with_float32_gradients():
    x = ad.randn(2, 3, 8, 8, requires_grad=True)
    w = ad.randn(4, 3, 3, 3, requires_grad=True)
    b = ad.zeros(4, requires_grad=True)
    out = ad.avg_pool2d(ad.max_pool2d(ad.conv2d(x, w, b, padding=1), 2), 2)
    out.sum().backward()
    assert out.dtype == np.float32
    for t in (x, w, b):
        assert t.grad.dtype == np.float32 and t.grad.shape == t.shape


def test_only_the_needed_gradients_are_computed():
    x = ad.randn(1, 2, 5, 5)
    w = ad.randn(3, 2, 3, 3, requires_grad=True)
    out = ad.conv2d(x, w)
    gx, = ad.grad(out.sum(), [w])
    assert gx.shape == w.shape and x.grad is None


@pytest.mark.parametrize("options", [
    dict(stride=2, padding=1), dict(dilation=2, padding="same"), dict(groups=2, padding=(1, 0))])
def test_double_backward_through_a_conv_net(options):
    """A small conv -> tanh -> max_pool -> conv -> avg pool chain: second-order gradients of
    all inputs against finite differences (float64, random upstream gradients)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 6, 6))
    w1 = rng.standard_normal((4, 4 // options.get("groups", 1), 3, 3)) * 0.5
    w2 = rng.standard_normal((2, 4, 2, 2)) * 0.5

    def net(x, w1, w2):
        h = ad.conv2d(x, w1, **options).tanh()
        h = ad.max_pool2d(h, 2, stride=1)
        return ad.avg_pool2d(ad.conv2d(h, w2, padding=1), 2)

    inputs = [ad.tensor(a, requires_grad=True) for a in (x, w1, w2)]
    assert gradcheck(net, inputs)
    assert gradgradcheck(net, inputs)


def test_hessian_vector_product_of_a_conv_loss():
    """d/dw <grad_w L, v> through conv's weight-gradient primitive, against differences."""
    rng = np.random.default_rng(5)
    x = ad.tensor(rng.standard_normal((2, 2, 5, 5)))
    v = rng.standard_normal((3, 2, 3, 3))

    def grad_dot_v(w_arr):
        w = ad.tensor(w_arr, requires_grad=True)
        loss = (ad.conv2d(x, w, padding=1).tanh() ** 2).sum()
        g, = ad.grad(loss, [w], create_graph=True)
        return w, (g * ad.tensor(v)).sum()

    w0 = rng.standard_normal((3, 2, 3, 3)) * 0.3
    w, gv = grad_dot_v(w0)
    hv, = ad.grad(gv, [w])
    eps = 1e-6
    num = (grad_dot_v(w0 + eps * v)[1].item() - grad_dot_v(w0 - eps * v)[1].item()) / (2 * eps)
    np.testing.assert_allclose((hv.data * v).sum(), num, rtol=1e-5)


def test_max_pool_matches_reference_with_negative_inputs_and_padding():
    x = -np.abs(np.random.default_rng(6).standard_normal((1, 2, 5, 5))) - 1
    out = ad.max_pool2d(ad.tensor(x), 3, stride=2, padding=1)
    np.testing.assert_array_equal(out.data, np_max_pool2d(x, 3, 2, 1))  # -inf pad, not 0


def test_adaptive_avg_pool_global_is_the_mean():
    x = ad.randn(2, 3, 5, 7)
    np.testing.assert_allclose(ad.adaptive_avg_pool2d(x, 1).data,
                               x.data.mean(axis=(2, 3), keepdims=True), rtol=1e-6)


# --- errors name the op, the sizes and the fix -----------------------------------------------

def test_output_size_error_names_input_kernel_stride_padding_and_result():
    with pytest.raises(RuntimeError) as e:
        ad.conv2d(ad.zeros(1, 1, 4, 4), ad.zeros(1, 1, 7, 7), stride=2, padding=1)
    msg = str(e.value)
    assert "conv2d" in msg and "input height 4" in msg and "kernel 7" in msg
    assert "stride 2" in msg and "padding (1, 1)" in msg and "= 0" in msg


def test_channel_mismatch_error():
    with pytest.raises(RuntimeError, match=r"input has 3 channels .* expects 4"):
        ad.conv2d(ad.zeros(1, 3, 5, 5), ad.zeros(8, 2, 3, 3), groups=2)


@pytest.mark.parametrize("call, pattern", [
    (lambda: ad.conv2d(ad.zeros(3, 5, 5, 1, 1), ad.zeros(1, 3, 1, 1)), r"\(N, C, H, W\)"),
    (lambda: ad.conv2d(ad.zeros(1, 3, 5, 5), ad.zeros(3, 3, 3)), "weight of shape"),
    (lambda: ad.conv2d(ad.zeros(1, 2, 5, 5), ad.zeros(3, 2, 3, 3), ad.zeros(2)), "bias must"),
    (lambda: ad.conv2d(ad.zeros(1, 2, 5, 5), ad.zeros(3, 1, 3, 3), groups=2), "divisible"),
    (lambda: ad.conv2d(ad.zeros(1, 1, 5, 5), ad.zeros(1, 1, 3, 3), stride=2, padding="same"),
     "needs stride 1"),
    (lambda: ad.conv2d(ad.zeros(1, 1, 5, 5), ad.zeros(1, 1, 3, 3), padding="full"), "'same'"),
    (lambda: ad.conv2d(ad.zeros(1, 1, 5, 5), ad.zeros(1, 1, 3, 3), stride=0), "stride must"),
    (lambda: ad.max_pool2d(ad.zeros(1, 1, 5, 5), 2, padding=2), "at most half"),
    (lambda: ad.max_pool2d(ad.zeros(1, 1, 1, 5), 2), "max_pool2d: input height 1"),
])
def test_errors(call, pattern):
    with pytest.raises(RuntimeError, match=pattern):
        call()


def test_integer_input_is_rejected_with_a_fix():
    with pytest.raises(TypeError, match=r"\.float\(\)"):
        ad.conv2d(ad.zeros(1, 1, 3, 3, dtype=ad.int64), ad.zeros(1, 1, 2, 2))


def test_graph_is_freed_by_reference_counting_alone():
    import gc
    import weakref
    gc.disable()
    try:
        x = ad.randn(2, 3, 6, 6, requires_grad=True)
        w = ad.randn(4, 3, 3, 3, requires_grad=True)
        out = ad.max_pool2d(ad.conv2d(x, w, padding=1), 2)
        nodes = [weakref.ref(out.grad_fn), weakref.ref(out.grad_fn.inputs[0].grad_fn)]
        gx, gw = ad.grad(out.sum(), [x, w], create_graph=True)
        del out, gx, gw
        assert all(r() is None for r in nodes)
    finally:
        gc.enable()


@pytest.mark.parametrize("width", [12, 40])  # output rows < 16 and >= 16: the input gradient
# is summed in two layouts (see Conv2dInputGrad.forward)
@pytest.mark.parametrize("stride,dilation,groups", [(1, 1, 1), (2, 1, 2), (1, 2, 1)])
def test_input_gradient_matches_the_naive_reference_at_both_widths(width, stride, dilation, groups):
    rng = np.random.default_rng(width + stride + dilation)
    x = ad.tensor(rng.standard_normal((2, 4, 6, width)), requires_grad=True)
    w = ad.tensor(rng.standard_normal((6, 4 // groups, 3, 3)))
    out = ad.conv2d(x, w, stride=stride, padding=1, dilation=dilation, groups=groups)
    g = rng.standard_normal(out.shape)
    out.backward(ad.tensor(g))
    expected = np.zeros(x.shape)  # d<g, conv(x)>/dx by the loop definition of conv2d
    og = 6 // groups
    for n, o, i, j in np.ndindex(*out.shape):
        grp = o // og
        for c in range(4 // groups):
            for a, b in np.ndindex(3, 3):
                h, v = i * stride + a * dilation - 1, j * stride + b * dilation - 1
                if 0 <= h < 6 and 0 <= v < width:
                    expected[n, grp * (4 // groups) + c, h, v] += (
                        g[n, o, i, j] * w.detach().numpy()[o, c, a, b])
    np.testing.assert_allclose(x.grad.detach().numpy(), expected, rtol=1e-10, atol=1e-12)


# --- the N-d family: 1-D and 3-D convolutions, transposed convolutions, unfold / fold -------------

def test_conv1d_and_conv3d_agree_with_conv2d_on_size_one_dims():
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 4, 1, 9)), rng.standard_normal((6, 2, 1, 3))
    two = ad.conv2d(ad.tensor(x), ad.tensor(w), stride=(1, 2), padding=(0, 1), groups=2)
    one = ad.conv1d(ad.tensor(x[:, :, 0]), ad.tensor(w[:, :, 0]), stride=2, padding=1, groups=2)
    three = ad.conv3d(ad.tensor(x[:, :, None]), ad.tensor(w[:, :, None]), stride=(1, 1, 2),
                      padding=(0, 0, 1), groups=2)
    np.testing.assert_allclose(one.data, two.data[:, :, 0], atol=1e-12)
    np.testing.assert_allclose(three.data[:, :, 0], two.data, atol=1e-12)


def test_a_u_net_step_has_correct_second_order_gradients():
    """conv3d -> tanh -> conv_transpose3d (output_padding) and conv2d (stride 2) -> tanh ->
    conv_transpose2d -> fold(unfold): second order against finite differences."""
    rng = np.random.default_rng(8)
    x3, x2 = rng.standard_normal((1, 2, 3, 3, 4)), rng.standard_normal((1, 2, 5, 4))
    w3, t3 = rng.standard_normal((2, 2, 2, 2, 2)) * 0.5, rng.standard_normal((2, 1, 2, 2, 2))
    w2, t2 = rng.standard_normal((2, 2, 3, 3)) * 0.5, rng.standard_normal((2, 2, 2, 2)) * 0.5

    def net(x3, x2, w3, t3, w2, t2):
        h = ad.conv3d(x3, w3, stride=2, padding=1).tanh()
        a = ad.conv_transpose3d(h, t3, stride=2, output_padding=(1, 1, 0))
        h = ad.conv2d(x2, w2, stride=2, padding=1).tanh()
        b = ad.conv_transpose2d(h, t2, stride=2, padding=(0, 1), output_padding=(1, 0))
        from nn.functional import fold, unfold
        b = fold(unfold(b, 2, padding=1), b.shape[2:], 2, padding=1)
        return a.sum() * b
    inputs = [ad.tensor(a, requires_grad=True) for a in (x3, x2, w3, t3, w2, t2)]
    assert net(*inputs).shape == (1, 2, 7, 2)
    assert gradcheck(net, inputs)
    assert gradgradcheck(net, inputs)


def test_empty_batches_give_empty_outputs_and_zero_weight_gradients():
    w = ad.randn(2, 3, 2, 2, 2, requires_grad=True)
    out = ad.conv3d(ad.zeros(0, 3, 3, 3, 3), w)
    assert out.shape == (0, 2, 2, 2, 2)
    gw, = ad.grad(out.sum(), [w])
    np.testing.assert_array_equal(gw.data, np.zeros(w.shape))
    t = ad.randn(3, 2, 2, 2, requires_grad=True)
    out = ad.conv_transpose2d(ad.zeros(0, 3, 4, 4), t, stride=2)
    assert out.shape == (0, 2, 8, 8)
    assert ad.grad(out.sum(), [t])[0].shape == t.shape


def test_transposed_and_nd_graphs_are_freed_by_reference_counting_alone():
    import gc
    import weakref
    gc.disable()
    try:
        x = ad.randn(1, 2, 4, 4, 4, requires_grad=True)
        w = ad.randn(2, 2, 2, 2, 2, requires_grad=True)
        out = ad.conv_transpose3d(ad.conv3d(x, w, padding=1), w, stride=2)
        y = ad.randn(1, 2, 5, 5, requires_grad=True)
        folded = ad.col2im(ad.im2col(y, 2), (5, 5), 2)
        nodes = [weakref.ref(out.grad_fn), weakref.ref(out.grad_fn.inputs[0].grad_fn),
                 weakref.ref(folded.grad_fn)]
        grads = ad.grad(out.sum() + folded.sum(), [x, w, y], create_graph=True)
        del out, folded, grads
        assert all(r() is None for r in nodes)
    finally:
        gc.enable()


def test_pad_array_crops_with_a_negative_high_pad():
    from autodiff.ops._windows import _pad_array
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    out = _pad_array(x, ((1, -1), (0, 2)))
    assert out.shape == (1, 1, 3, 6)
    np.testing.assert_array_equal(out[0, 0], [[0, 0, 0, 0, 0, 0], [0, 1, 2, 3, 0, 0],
                                              [4, 5, 6, 7, 0, 0]])


@pytest.mark.parametrize("call, pattern", [
    (lambda: ad.conv3d(ad.zeros(1, 1, 4, 4, 4), ad.zeros(1, 1, 2, 2, 2), stride=(1, 2)),
     r"conv3d: stride must be an int or a triple of ints, got \(1, 2\)"),
    (lambda: ad.conv1d(ad.zeros(1, 1, 4), ad.zeros(1, 1, 2), dilation=0),
     r"conv1d: dilation must be >= 1"),
    (lambda: ad.conv_transpose3d(ad.zeros(1, 1, 2, 2, 2), ad.zeros(1, 1, 2, 2, 2),
                                 output_padding=-1), r"output_padding must be >= 0"),
    (lambda: ad.conv2d(ad.zeros(1, 2, 4, 4), ad.zeros(2, 1, 2, 2), groups=True),
     r"groups must be a positive int"),
])
def test_nd_argument_errors(call, pattern):
    with pytest.raises(RuntimeError, match=pattern):
        call()
