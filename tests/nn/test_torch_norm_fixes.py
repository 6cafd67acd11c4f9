"""Normalisation fixes checked against PyTorch and against written-out values: float16 inputs
whose squares overflow float16 (computed in float32, as PyTorch), and empty batches (batch norm
leaves its running statistics alone; group norm returns an empty tensor)."""
import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F

from _torch import assert_close, pair, require_torch, to_numpy, to_torch

torch = require_torch()
TF = torch.nn.functional


def lib_f(lib):
    return TF if lib is torch else F


# --- float16: statistics in float32, results and gradients in float16 ----------------------------

# (N=1, C=2, L=3): x * x exceeds float16's largest value (65504) for every |x| >= 256
X16 = np.array([[[300., -200., 100.], [250., 50., -100.]]], np.float16)
W16 = np.array([0.5, -1.5, 2.0], np.float16)
C16 = np.array([0.5, -1.5], np.float16)

HALF_CASES = {
    "layer_norm": lambda L, x, w, c: lib_f(L).layer_norm(x, (3,), w, w),
    "layer_norm_plain": lambda L, x, w, c: lib_f(L).layer_norm(x, (3,)),
    "rms_norm": lambda L, x, w, c: lib_f(L).rms_norm(x, (3,), w),
    "rms_norm_plain": lambda L, x, w, c: lib_f(L).rms_norm(x, (3,)),
    "group_norm": lambda L, x, w, c: lib_f(L).group_norm(x, 1, c, c),
    "instance_norm": lambda L, x, w, c: lib_f(L).instance_norm(x, weight=c, bias=c),
    "batch_norm_train": lambda L, x, w, c: lib_f(L).batch_norm(x, None, None, c, c,
                                                              training=True),
    "normalize": lambda L, x, w, c: lib_f(L).normalize(x, dim=2),
    "normalize_p1": lambda L, x, w, c: lib_f(L).normalize(x, p=1, dim=2),
}

# torch 2.13's outputs (first three values) on X16, written out
HALF_EXPECTED = {
    "layer_norm_plain": [1.136, -1.298, 0.1622],
    "rms_norm_plain": [1.389, -0.926, 0.463],
    "normalize": [0.802, -0.534, 0.267],
}


@pytest.mark.parametrize("name", sorted(HALF_CASES))
def test_float16_large_values_match_torch(name):
    """Values and gradients (input and affine parameters) in float16, within float16's
    rounding of PyTorch's; never the zeros that squaring in float16 gave."""
    fn = HALF_CASES[name]
    (x, tx), (w, tw), (c, tc) = pair(X16), pair(W16), pair(C16)
    ours, theirs = fn(ad, x, w, c), fn(torch, tx, tw, tc)
    assert ours.dtype == ad.float16
    assert_close(ours, theirs, rtol=2e-3, atol=2e-3, err_msg=name)
    assert np.abs(to_numpy(ours)).max() > 0.1
    g = np.random.default_rng(0).standard_normal(X16.shape).astype(np.float16)
    ours.backward(ad.tensor(g))
    theirs.backward(to_torch(g))
    for a, t, label in ((x, tx, "x"), (w, tw, "w"), (c, tc, "c")):
        if t.grad is None:
            assert a.grad is None or not np.any(to_numpy(a.grad)), label
            continue
        assert a.grad.dtype == ad.float16, label
        scale = float(np.abs(to_numpy(t.grad).astype(np.float64)).max()) or 1.0
        assert_close(a.grad, t.grad, rtol=4e-3, atol=4e-3 * scale, err_msg=f"{name} {label}")


@pytest.mark.parametrize("name", sorted(HALF_EXPECTED))
def test_float16_large_values_written_out(name):
    out = to_numpy(HALF_CASES[name](ad, ad.tensor(X16), None, None))
    np.testing.assert_allclose(out.ravel()[:3].astype(np.float64), HALF_EXPECTED[name],
                               rtol=2e-3)


def test_float16_group_and_batch_norm_written_out():
    """(x - mean) / std of [300, -200, 100, 250, 50, -100] (one group, one channel per batch
    norm column), in float16"""
    x = ad.tensor(X16)
    v = X16.astype(np.float64).ravel()
    expected = ((v - v.mean()) / np.sqrt(v.var() + 1e-5))[:3]
    np.testing.assert_allclose(to_numpy(F.group_norm(x, 1)).ravel()[:3], expected, rtol=2e-3)
    col = X16.astype(np.float64)[0, 0]
    bn = F.batch_norm(x, None, None, training=True)  # statistics per channel over L
    np.testing.assert_allclose(to_numpy(bn)[0, 0], (col - col.mean()) / np.sqrt(col.var() + 1e-5),
                               rtol=2e-3)
    inorm = F.instance_norm(x)
    np.testing.assert_allclose(to_numpy(inorm)[0, 0], to_numpy(bn)[0, 0], rtol=2e-3)


def test_float16_batch_norm_running_stats_and_eval():
    """Running statistics of float16 buffers (and float32 ones, PyTorch's mixed form) updated
    from the float32 statistics; eval in float32 too."""
    rng = np.random.default_rng(3)
    x16 = (rng.standard_normal((4, 3, 5)) * 300).astype(np.float16)
    for dtype in (np.float16, np.float32):
        rm, rv = np.zeros(3, dtype), np.ones(3, dtype)
        ours_rm, ours_rv = ad.tensor(rm.copy()), ad.tensor(rv.copy())
        t_rm, t_rv = torch.tensor(rm.copy()), torch.tensor(rv.copy())
        out = F.batch_norm(ad.tensor(x16), ours_rm, ours_rv, training=True)
        ref = TF.batch_norm(torch.tensor(x16), t_rm, t_rv, training=True)
        assert_close(out, ref, rtol=2e-3, atol=2e-3)
        assert_close(ours_rm, t_rm, rtol=2e-3, atol=2e-3)
        assert_close(ours_rv, t_rv, rtol=2e-3, atol=2e-3)
        assert np.isfinite(to_numpy(ours_rv)).all() and to_numpy(ours_rv).min() > 1000
        ev = F.batch_norm(ad.tensor(x16), ours_rm, ours_rv, training=False)
        assert_close(ev, TF.batch_norm(torch.tensor(x16), t_rm, t_rv, training=False),
                     rtol=2e-3, atol=2e-3)


def test_float16_small_values_rms_norm():
    """|x| ~ 1e-3: x * x is subnormal in float16; float32 keeps it (PyTorch's values)"""
    x = (np.random.default_rng(0).standard_normal((2, 4)) * 1e-3).astype(np.float16)
    assert_close(F.rms_norm(ad.tensor(x), (4,)), TF.rms_norm(torch.tensor(x), (4,)),
                 rtol=1e-3, atol=1e-3)


def test_float16_modules():
    rng = np.random.default_rng(5)
    x16 = (rng.standard_normal((2, 4, 6)) * 400).astype(np.float16)
    for make in (lambda m: m.LayerNorm(6), lambda m: m.GroupNorm(2, 4), lambda m: m.RMSNorm(6),
                 lambda m: m.BatchNorm1d(4), lambda m: m.InstanceNorm1d(4, affine=True)):
        ours, theirs = make(nn).half(), make(torch.nn).half()
        assert_close(ours(ad.tensor(x16)), theirs(torch.tensor(x16)), rtol=2e-3, atol=2e-3,
                     err_msg=type(ours).__name__)


# --- empty batches -------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4), (2, 3, 0)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_empty_batch_leaves_running_stats(shape, momentum):
    """As PyTorch: an empty output, zero parameter gradients, running statistics unchanged,
    num_batches_tracked still counted."""
    ours = nn.BatchNorm1d(3, momentum=momentum).double()
    theirs = torch.nn.BatchNorm1d(3, momentum=momentum).double()
    with ad.no_grad():
        ours.running_mean.fill_(0.3)
        ours.running_var.fill_(2.0)
    with torch.no_grad():
        theirs.running_mean.fill_(0.3)
        theirs.running_var.fill_(2.0)
    x, tx = pair(np.zeros(shape))
    y, ty = ours(x), theirs(tx)
    assert tuple(y.shape) == shape
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(to_numpy(ours.running_mean), [0.3, 0.3, 0.3])
    np.testing.assert_array_equal(to_numpy(ours.running_var), [2.0, 2.0, 2.0])
    assert int(ours.num_batches_tracked.item()) == 1
    np.testing.assert_array_equal(to_numpy(ours.weight.grad), [0.0, 0.0, 0.0])
    for a, t in ((ours.running_mean, theirs.running_mean), (ours.running_var, theirs.running_var),
                 (ours.num_batches_tracked, theirs.num_batches_tracked),
                 (ours.weight.grad, theirs.weight.grad), (ours.bias.grad, theirs.bias.grad)):
        assert_close(a, t)
    # the next (real) batch and eval see untouched statistics
    ours.eval()
    theirs.eval()
    z = np.random.default_rng(1).standard_normal((4, 3))
    assert_close(ours(ad.tensor(z)), theirs(torch.tensor(z)))


def test_functional_batch_norm_empty_batch():
    rm, rv = ad.tensor([0.3, 0.4]), ad.tensor([2.0, 3.0])
    out = F.batch_norm(ad.zeros(0, 2, 5), rm, rv, training=True)
    assert tuple(out.shape) == (0, 2, 5)
    np.testing.assert_array_equal(to_numpy(rm), np.float32([0.3, 0.4]))
    np.testing.assert_array_equal(to_numpy(rv), np.float32([2.0, 3.0]))


@pytest.mark.parametrize("shape", [(0, 4), (0, 4, 3), (0, 4, 3, 2)])
def test_group_norm_empty(shape):
    """An empty (N, C, *) input gives an empty output and zero parameter gradients."""
    x, tx = pair(np.zeros(shape))
    (w, tw), (b, tb) = pair(np.ones(4)), pair(np.zeros(4))
    y, ty = F.group_norm(x, 2, w, b), TF.group_norm(tx, 2, tw, tb)
    assert tuple(y.shape) == shape
    assert_close(y, ty)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(to_numpy(w.grad), np.zeros(4))
    assert_close(w.grad, tw.grad)
    assert_close(b.grad, tb.grad)
    assert_close(x.grad, tx.grad)


def test_group_norm_module_empty_batch():
    assert tuple(nn.GroupNorm(2, 4)(ad.zeros(0, 4, 3)).shape) == (0, 4, 3)
    assert tuple(torch.nn.GroupNorm(2, 4)(torch.zeros(0, 4, 3)).shape) == (0, 4, 3)
