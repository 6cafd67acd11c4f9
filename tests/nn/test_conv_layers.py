"""nn.conv layers and autodiff's conv/pooling ops cross-checked against PyTorch: values and
gradients, every conv2d option, pooling, BatchNorm2d in train and eval modes."""
import numpy as np
import pytest

import autodiff as ad
import nn
from _torch import (assert_close, assert_grads_close, backward_both, pair, require_torch,
                    to_torch)
from nn import (AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, MaxPool2d,
                ResidualBlock)

torch = require_torch()
TF = torch.nn.functional


def _assert_grads_match(ours, theirs, rng, atol=1e-10):
    """Backpropagates one random upstream gradient through both and compares input grads."""
    (ours_out, ours_in), (theirs_out, theirs_in) = ours, theirs
    backward_both(ours_out, theirs_out, seed=int(rng.integers(2**31)))
    assert_grads_close(ours_in, theirs_in, rtol=1e-9, atol=atol)


CONV_CASES = [
    dict(),
    dict(stride=2),
    dict(stride=(2, 1), padding=(1, 2)),
    dict(padding=1, dilation=2),
    dict(padding="same"),
    dict(padding="same", dilation=(2, 1)),
    dict(padding="valid"),
    dict(groups=2, padding=1),
    dict(groups=4, stride=2, padding=1),  # depthwise
]


@pytest.mark.parametrize("kernel", [(3, 3), (2, 4), (1, 1)])
@pytest.mark.parametrize("options", CONV_CASES, ids=lambda o: ",".join(f"{k}={v}" for k, v in
                                                                      o.items()) or "default")
def test_conv2d_matches_torch(options, kernel):
    rng = np.random.default_rng(0)
    groups = options.get("groups", 1)
    (x, tx), (w, tw), (b, tb) = (pair(rng.standard_normal(s)) for s in
                                 [(2, 4, 9, 8), (8, 4 // groups) + kernel, (8,)])
    out = ad.conv2d(x, w, b, **options)
    tout = TF.conv2d(tx, tw, tb, **options)
    assert_close(out, tout, atol=1e-12)
    _assert_grads_match((out, (x, w, b)), (tout, (tx, tw, tb)), rng)


def test_conv2d_second_order_matches_torch():
    rng = np.random.default_rng(1)
    (x, tx), (w, tw) = pair(rng.standard_normal((2, 3, 7, 7))), \
        pair(rng.standard_normal((4, 3, 3, 3)))
    v = rng.standard_normal((2, 4, 4, 4))
    gx, gw = ad.grad((ad.conv2d(x, w, stride=2, padding=2, dilation=2).tanh() *
                      ad.tensor(v)).sum(), [x, w], create_graph=True)
    tgx, tgw = torch.autograd.grad((TF.conv2d(tx, tw, stride=2, padding=2, dilation=2).tanh() *
                                    to_torch(v)).sum(), [tx, tw], create_graph=True)
    u1, u2 = rng.standard_normal(gx.shape), rng.standard_normal(gw.shape)
    hx, hw = ad.grad((gx * ad.tensor(u1)).sum() + (gw * ad.tensor(u2)).sum(), [x, w])
    thx, thw = torch.autograd.grad((tgx * to_torch(u1)).sum() + (tgw * to_torch(u2)).sum(),
                                   [tx, tw])
    assert_close(hx, thx, atol=1e-10)
    assert_close(hw, thw, atol=1e-10)


def test_conv1d_matches_torch():
    rng = np.random.default_rng(2)
    (x, tx), (w, tw) = pair(rng.standard_normal((2, 3, 11))), pair(rng.standard_normal((4, 3, 3)))
    out, tout = ad.conv1d(x, w, stride=2, padding=1), TF.conv1d(tx, tw, stride=2, padding=1)
    assert_close(out, tout, atol=1e-12)
    _assert_grads_match((out, (x, w)), (tout, (tx, tw)), rng)


@pytest.mark.parametrize("kernel, stride, padding", [
    (2, None, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 0)), (4, 3, 2)])
def test_pooling_matches_torch(kernel, stride, padding):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 3, 9, 8))  # continuous values: no ties, where torch differs
    for ours, theirs, extra in [(ad.max_pool2d, TF.max_pool2d, {}),
                                (ad.avg_pool2d, TF.avg_pool2d, {}),
                                (ad.avg_pool2d, TF.avg_pool2d, {"count_include_pad": False})]:
        x, tx = pair(a)
        out = ours(x, kernel, stride, padding, **extra)
        tout = theirs(tx, kernel, stride, padding, **extra)
        assert_close(out, tout, atol=1e-12)
        _assert_grads_match((out, (x,)), (tout, (tx,)), rng)


@pytest.mark.parametrize("size", [1, 2, 3, (4, 3), (5, 7), (9, 8)])
def test_adaptive_avg_pool_matches_torch(size):
    rng = np.random.default_rng(4)
    x, tx = pair(rng.standard_normal((2, 3, 9, 8)))
    out, tout = AdaptiveAvgPool2d(size)(x), torch.nn.AdaptiveAvgPool2d(size)(tx)
    assert_close(out, tout, atol=1e-12)
    _assert_grads_match((out, (x,)), (tout, (tx,)), rng)


def _copy_into(ours, theirs):
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(to_torch(dict(ours.named_parameters())[name]))


def test_conv2d_layer_matches_torch_module():
    rng = np.random.default_rng(5)
    ours = Conv2d(4, 6, (3, 2), stride=(1, 2), padding=1, dilation=(2, 1), groups=2).double()
    theirs = torch.nn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding=1, dilation=(2, 1),
                             groups=2).double()
    _copy_into(ours, theirs)
    x, tx = pair(rng.standard_normal((3, 4, 8, 8)))
    out, tout = ours(x), theirs(tx)
    assert_close(out, tout, atol=1e-12)
    _assert_grads_match((out, (x, ours.weight, ours.bias)),
                        (tout, (tx, theirs.weight, theirs.bias)), rng)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


def test_conv2d_default_init_is_pytorchs():
    m = Conv2d(8, 16, 3)
    bound = 1 / np.sqrt(8 * 9)  # kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert m.weight.shape == (16, 8, 3, 3) and m.bias.shape == (16,)
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.bias.data).max() <= bound
    assert m.weight.data.std() == pytest.approx(bound / np.sqrt(3), rel=0.1)
    assert m.weight.dtype == np.float32
    assert Conv2d(2, 4, 3, bias=False).bias is None


@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm2d_train_and_eval_match_torch(affine):
    rng = np.random.default_rng(6)
    ours = BatchNorm2d(3, affine=affine).double()
    theirs = torch.nn.BatchNorm2d(3, affine=affine).double()
    if affine:
        with ad.no_grad():
            ours.weight.copy_(ad.tensor(rng.uniform(0.5, 1.5, 3)))
            ours.bias.copy_(ad.tensor(rng.standard_normal(3)))
        _copy_into(ours, theirs)
    for step in range(3):  # training: batch stats, running stats updated (unbiased var)
        x, tx = pair(rng.standard_normal((4, 3, 5, 6)) * 2 + 1)
        out, tout = ours(x), theirs(tx)
        assert_close(out, tout, atol=1e-10)
        params = (ours.weight, ours.bias) if affine else ()
        tparams = (theirs.weight, theirs.bias) if affine else ()
        _assert_grads_match((out, (x,) + params), (tout, (tx,) + tparams), rng, atol=1e-9)
        if affine:
            for p in params + tparams:
                p.grad = None
        assert_close(ours.running_mean, theirs.running_mean, atol=1e-12)
        assert_close(ours.running_var, theirs.running_var, atol=1e-12)
    ours.eval()
    theirs.eval()
    x, tx = pair(rng.standard_normal((2, 3, 4, 4)))
    out, tout = ours(x), theirs(tx)
    assert_close(out, tout, atol=1e-10)
    _assert_grads_match((out, (x,)), (tout, (tx,)), rng, atol=1e-9)


def test_batchnorm2d_rejects_other_shapes():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\).*\(N, 3, H, W\)"):
        BatchNorm2d(3)(ad.zeros(2, 3, 4))


def test_pooling_modules_match_functional():
    x = ad.randn(2, 3, 8, 8)
    np.testing.assert_array_equal(MaxPool2d(2)(x).data, ad.max_pool2d(x, 2).data)
    np.testing.assert_array_equal(AvgPool2d(3, 1, 1)(x).data, ad.avg_pool2d(x, 3, 1, 1).data)
    assert AdaptiveAvgPool2d(1)(x).shape == (2, 3, 1, 1)


@pytest.mark.parametrize("cin, cout, stride", [(8, 8, 1), (8, 16, 2), (8, 16, 1)])
def test_residual_block_shapes_gradients_and_torch_equivalent(cin, cout, stride):
    rng = np.random.default_rng(7)
    block = ResidualBlock(cin, cout, stride).double()
    assert (block.shortcut is None) == (cin == cout and stride == 1)
    x = ad.tensor(rng.standard_normal((2, cin, 8, 8)), requires_grad=True)
    out = block(x)
    assert out.shape == (2, cout, 8 // stride, 8 // stride)
    assert out.data.min() >= 0  # relu(F(x) + shortcut)
    out.sum().backward()
    assert all(p.grad is not None for p in block.parameters())

    # the same block written in torch, with our weights: same output
    def tconv(m):
        return to_torch(m.weight)
    tx = to_torch(x)

    def tbn(h):
        return TF.batch_norm(h, None, None, training=True)
    f = TF.relu(tbn(TF.conv2d(tx, tconv(block.conv1), stride=stride, padding=1)))
    f = tbn(TF.conv2d(f, tconv(block.conv2), padding=1))
    s = tx if block.shortcut is None else tbn(TF.conv2d(tx, tconv(block.shortcut[0]),
                                                       stride=stride))
    assert_close(block(x), TF.relu(f + s), atol=1e-10)


def test_layers_are_exported_from_nn_and_functional():
    import nn.functional as F
    for name in ("Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm2d",
                 "ResidualBlock"):
        assert hasattr(nn, name), name
    for name in ("conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm"):
        assert hasattr(F, name), name


def test_livestream_cnn_shapes_and_parameter_count():
    from nn.conv import livestream_cnn
    model = livestream_cnn((1, 28, 28), 10)
    assert model(ad.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert model[7].in_features == 1764  # 7 * 7 * 36
    assert sum(p.numel() for p in model.parameters()) == 416 + 14436 + 225920 + 1290
    assert livestream_cnn((64,), 10)(ad.zeros(3, 64)).shape == (3, 10)  # flat 8x8 digits
    with pytest.raises(ValueError, match="square"):
        livestream_cnn((10,), 2)
