"""The CNN kernels' fast paths (autodiff/ops/conv.py, pooling.py): convolution over batch chunks
(chunk boundaries, the stride-1 input gradient as a flipped convolution, the strided and
short-row scatters), and max pooling over tiles (kernel == stride) with PyTorch's tie, NaN and
-inf rules, each checked against numpy references, finite differences and second order."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.ops import conv as conv_ops
from autodiff.testing import gradcheck, gradgradcheck
from catalog_conv import np_conv2d, np_max_pool2d


def _conv_grads(x, w, g, **kw):
    """(dx, dw) of sum(conv2d(x, w) * g) from the numpy reference's adjoint, by
    differentiating the reference through its linearity: dx[i] = <conv(e_i, w), g>."""
    dw = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        e = np.zeros_like(w)
        e[idx] = 1.0
        dw[idx] = (np_conv2d(x, e, **kw) * g).sum()
    dx = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = 1.0
        dx[idx] = (np_conv2d(e, w, **kw) * g).sum()
    return dx, dw


@pytest.mark.parametrize("kw", [
    dict(padding=1),                       # stride 1, O <= C: input gradient as a convolution
    dict(padding=2, stride=2),             # strided: the chunked scatter
    dict(padding=(0, 1), dilation=2),      # dilated, stride 1
    dict(padding=1, groups=2),             # groups through every path
])
def test_conv_values_and_gradients_match_the_reference_across_chunks(monkeypatch, kw):
    # a tiny chunk budget makes every image its own chunk, and a 5-image batch leaves a short
    # last chunk: results must not depend on where the chunks fall
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4, 6, 7))
    w = rng.standard_normal((4, 4 // kw.get("groups", 1), 3, 3))
    ref = np_conv2d(x, w, **kw)
    g = rng.standard_normal(ref.shape)
    dx_ref, dw_ref = _conv_grads(x, w, g, **kw)
    for budget, keep in ((1, 0), (3 * x[0].nbytes * 9, 0), (1 << 20, 0), (1, 1 << 22)):
        monkeypatch.setattr(conv_ops, "_CHUNK_BYTES", budget)
        monkeypatch.setattr(conv_ops, "_KEEP_BYTES", keep)  # keep = 0: never one whole buffer
        xt, wt = ad.tensor(x, requires_grad=True), ad.tensor(w, requires_grad=True)
        out = ad.conv2d(xt, wt, **kw)
        np.testing.assert_allclose(out.data, ref, atol=1e-12)
        out.backward(ad.tensor(g))
        np.testing.assert_allclose(xt.grad.data, dx_ref, atol=1e-11)
        np.testing.assert_allclose(wt.grad.data, dw_ref, atol=1e-11)


@pytest.mark.parametrize("shape, filters", [((3, 2, 5, 5), (6, 2, 3, 3)),   # widening: scatter
                                            ((3, 6, 5, 5), (2, 6, 3, 3))])  # narrowing: conv
def test_conv_input_gradient_paths_agree_with_finite_differences_to_second_order(
        monkeypatch, shape, filters):
    monkeypatch.setattr(conv_ops, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(conv_ops, "_KEEP_BYTES", 0)
    rng = np.random.default_rng(1)
    x = ad.tensor(rng.standard_normal(shape), requires_grad=True)
    w = ad.tensor(rng.standard_normal(filters), requires_grad=True)
    b = ad.tensor(rng.standard_normal(filters[0]), requires_grad=True)

    def net(x, w, b):
        return ad.conv2d(x, w, b, padding=1)
    assert gradcheck(net, (x, w, b))
    assert gradgradcheck(net, (x, w, b))


def test_conv_float32_keeps_its_dtype_and_matches_float64():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((4, 8, 9, 9)), rng.standard_normal((8, 8, 3, 3))
    outs = {}
    for dt in (np.float32, np.float64):
        xt = ad.tensor(x.astype(dt), requires_grad=True)
        wt = ad.tensor(w.astype(dt), requires_grad=True)
        out = ad.conv2d(xt, wt, padding=1)
        out.sum().backward()
        assert out.dtype == xt.grad.dtype == wt.grad.dtype == dt
        outs[dt] = (out.data, xt.grad.data, wt.grad.data)
    for a, b in zip(outs[np.float32], outs[np.float64]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


# --- max pooling over tiles ----------------------------------------------------------------------

def _first_max_grad(x, k):
    """The gradient of sum(max_pool(x, k)) by the definition: 1 at each tile's first maximum
    (row-major), a NaN being the maximum."""
    n, c, h, w = x.shape
    dx = np.zeros_like(x)
    for i, j, a, b in np.ndindex(n, c, h // k, w // k):
        tile = x[i, j, a * k:(a + 1) * k, b * k:(b + 1) * k].ravel()
        nan = np.flatnonzero(np.isnan(tile))
        q = nan[-1] if len(nan) else int(np.argmax(tile))
        dx[i, j, a * k + q // k, b * k + q % k] = 1.0
    return dx


@pytest.mark.parametrize("size", [(8, 8), (7, 9)])  # covered, and a remainder left out
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tiled_max_pool_values_and_first_maximum_gradient(size, dtype):
    rng = np.random.default_rng(3)
    x = rng.integers(-2, 3, (2, 3) + size).astype(dtype)  # many ties, including all-equal tiles
    xt = ad.tensor(x, requires_grad=True)
    out = ad.max_pool2d(xt, 2)
    np.testing.assert_array_equal(out.data, np_max_pool2d(x, 2))
    out.sum().backward()
    assert xt.grad.dtype == dtype
    np.testing.assert_array_equal(xt.grad.data, _first_max_grad(x, 2))


def test_tiled_max_pool_nan_and_infinities_follow_pytorch():
    x = np.array([[[[1.0, np.nan, 2.0, np.nan],
                    [np.nan, 0.0, 3.0, 1.0],
                    [-np.inf, -np.inf, 5.0, 5.0],
                    [-np.inf, -np.inf, np.inf, 0.0]]]])
    xt = ad.tensor(x, requires_grad=True)
    out = ad.max_pool2d(xt, 2)
    np.testing.assert_array_equal(out.data, [[[[np.nan, np.nan], [-np.inf, np.inf]]]])
    out.sum().backward()
    np.testing.assert_array_equal(xt.grad.data, _first_max_grad(x, 2))


def test_tiled_max_pool_gradient_of_infinite_upstream_stays_on_the_maximum():
    x = ad.tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    out = ad.max_pool2d(x, 2)
    out.backward(ad.tensor(np.full((1, 1, 2, 2), np.inf)))
    expected = np.zeros((4, 4))
    expected[1::2, 1::2] = np.inf
    np.testing.assert_array_equal(x.grad.data[0, 0], expected)  # no 0 * inf = NaN elsewhere


@pytest.mark.parametrize("nd, k", [(1, 3), (2, 2), (3, 2)])
def test_tiled_max_pool_first_and_second_order(nd, k):
    rng = np.random.default_rng(4)
    x = ad.tensor(rng.permutation(2 * 2 * 4 ** nd).reshape((2, 2) + (4,) * nd) / 7.0 +
                  0.01 * rng.standard_normal((2, 2) + (4,) * nd), requires_grad=True)
    pool = getattr(ad, f"max_pool{nd}d")

    def net(x):
        return pool(x, k) ** 2
    assert gradcheck(net, (x,))
    assert gradgradcheck(net, (x,))


def test_tiled_max_pool_saves_a_bool_mask_not_an_index():
    x = ad.tensor(np.random.default_rng(5).standard_normal((2, 3, 6, 6)), requires_grad=True)
    node = ad.max_pool2d(x, 2).grad_fn
    assert node.mask.dtype == bool and node.mask.shape == (4, 2, 3, 3, 3)
    assert node.mask.sum(0).min() == node.mask.sum(0).max() == 1  # one maximum per tile
