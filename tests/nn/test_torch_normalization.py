"""The normalisation family against PyTorch: functional forms (values, first and second order
gradients), modules in train and eval over several steps (outputs, gradients, running stats,
state_dicts both ways), reprs and error classes and messages."""
import math
import warnings

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from autodiff.testing import gradcheck, gradgradcheck

from _torch import (assert_close, backward_both, pair, require_torch, run_outputs, to_numpy,
                    to_torch)

torch = require_torch()
TF = torch.nn.functional
R = np.random.default_rng(14)


def randn(*shape):
    return R.standard_normal(shape)


def lib_f(lib):
    return TF if lib is torch else F


def lib_nn(lib):
    return torch.nn if lib is torch else nn


# --- F.normalize: every p, zeros and ties included -----------------------------------------------

P_VALUES = [2.0, 1.0, 3.0, 0.5, 1.5, 0.0, -1.0, -2.5, math.inf, -math.inf]


def _with_zeros_and_ties():
    x = randn(3, 4, 2)
    x[0, 1, 0] = 0.0            # one zero element
    x[2] = 0.0                  # an all-zero slice: the norm is clamped to eps
    x[1, 2, 1] = -x[1, 3, 1]    # a tie of |x| (the max for +-inf shares the gradient)
    x[1, 0, 1] = x[1, 3, 1] * 2
    return x


@pytest.mark.parametrize("p", P_VALUES)
def test_normalize_every_p_matches_torch(p):
    for dim in (1, -1, (1, 2)):
        run_outputs(torch, lambda lib, a: lib_f(lib).normalize(a, p=p, dim=dim),
                    _with_zeros_and_ties())
    # second order where PyTorch's is finite: no zero elements
    run_outputs(torch, lambda lib, a: lib_f(lib).normalize(a, p, 0, 1e-6), randn(3, 4),
                second_order=True)


def test_normalize_float32_and_errors():
    run_outputs(torch, lambda lib, a: lib_f(lib).normalize(a, p=-1.0), randn(2, 3)
                .astype(np.float32))
    with pytest.raises(IndexError, match=r"normalize.*range of \[-2, 1\].*got 2"):
        F.normalize(ad.ones(3, 2), dim=2)
    with pytest.raises(IndexError):
        TF.normalize(torch.ones(3, 2), dim=2)


# --- functional forms -----------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 4), (2, 3, 2, 2), (2, 2, 2, 1, 2)])
def test_batch_norm_functional_matches_torch(shape):
    c = shape[1]
    w, b = randn(c), randn(c)
    run_outputs(torch, lambda lib, x, w, b: lib_f(lib).batch_norm(
        x, None, None, w, b, training=True, eps=1e-3), randn(*shape) * 2 + 1, w, b,
        second_order=True)
    rm, rv = randn(c), R.uniform(0.5, 2, c)
    run_outputs(torch, lambda lib, x, w, b: lib_f(lib).batch_norm(
        x, lib.tensor(rm), lib.tensor(rv), w, b, False, 0.1, 1e-4), randn(*shape), w, b,
        second_order=True)


@pytest.mark.parametrize("momentum", [0.1, 0.0, 1.0])
def test_batch_norm_functional_updates_running_stats_in_place(momentum):
    shape = (5, 3, 2)
    rm_a, rm_t = pair(randn(3), requires_grad=False)
    rv_a, rv_t = pair(R.uniform(0.5, 2, 3), requires_grad=False)
    keep = rm_a
    for step in range(3):
        x = randn(*shape) * (step + 1)
        F.batch_norm(ad.tensor(x), rm_a, rv_a, training=True, momentum=momentum)
        TF.batch_norm(to_torch(x), rm_t, rv_t, training=True, momentum=momentum)
        assert_close(rm_a, rm_t, rtol=1e-12, atol=1e-14)
        assert_close(rv_a, rv_t, rtol=1e-12, atol=1e-14)
    assert keep is rm_a  # in place


@pytest.mark.parametrize("normalized_shape, affine", [((4,), "both"), ((3, 4), "weight"),
                                                      ([2, 3, 4], "none")])
def test_layer_norm_functional_matches_torch(normalized_shape, affine):
    w, b = randn(*normalized_shape), randn(*normalized_shape)

    def fn(lib, x, w, b):
        return lib_f(lib).layer_norm(x, normalized_shape, w if affine != "none" else None,
                                     b if affine == "both" else None, eps=1e-4)
    run_outputs(torch, fn, randn(2, 3, 4) * 3, w, b, second_order=True)


@pytest.mark.parametrize("shape, groups", [((2, 4), 2), ((3, 6, 2), 3), ((2, 4, 2, 3), 1),
                                           ((2, 4, 3, 2), 4), ((1, 2, 2, 1, 2), 2)])
def test_group_norm_functional_matches_torch(shape, groups):
    c = shape[1]
    run_outputs(torch, lambda lib, x, w, b: lib_f(lib).group_norm(x, groups, w, b, eps=1e-3),
                randn(*shape) + 1, randn(c), randn(c), second_order=True)
    run_outputs(torch, lambda lib, x: lib_f(lib).group_norm(x, groups), randn(*shape))


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 2, 3, 2), (1, 2, 2, 2, 2)])
def test_instance_norm_functional_matches_torch(shape):
    c = shape[1]
    w, b = randn(c), randn(c)
    run_outputs(torch, lambda lib, x, w, b: lib_f(lib).instance_norm(x, weight=w, bias=b,
                                                                     eps=1e-3),
                randn(*shape) * 2, w, b, second_order=True)
    # running stats: updated from the batch average of the instance stats (unbiased var)
    rm_a, rm_t = pair(randn(c), requires_grad=False)
    rv_a, rv_t = pair(R.uniform(0.5, 2, c), requires_grad=False)
    run_outputs(torch, lambda lib, x: lib_f(lib).instance_norm(
        x, rm_a if lib is ad else rm_t, rv_a if lib is ad else rv_t, momentum=0.3),
        randn(*shape) * 3)
    assert_close(rm_a, rm_t, rtol=1e-12, atol=1e-14)
    assert_close(rv_a, rv_t, rtol=1e-12, atol=1e-14)
    # use_input_stats=False normalises with them
    run_outputs(torch, lambda lib, x, w: lib_f(lib).instance_norm(
        x, rm_a if lib is ad else rm_t, rv_a if lib is ad else rv_t, w, None,
        use_input_stats=False), randn(*shape), w, second_order=True)


@pytest.mark.parametrize("eps", [None, 1e-2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rms_norm_functional_matches_torch(eps, dtype):
    # tiny values, so that eps=None (finfo(dtype).eps) shows in the result
    x = (randn(2, 3, 4) * np.array([1, 1e-4, 1e-7])[None, :, None]).astype(dtype)
    w = randn(3, 4).astype(dtype)
    run_outputs(torch, lambda lib, x, w: lib_f(lib).rms_norm(x, (3, 4), w, eps), x, w,
                second_order=dtype == np.float64, tol=1e-4 if dtype == np.float32 else None)
    run_outputs(torch, lambda lib, x: lib_f(lib).rms_norm(x, [4], eps=eps), x,
                tol=1e-4 if dtype == np.float32 else None)


@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 6, 2, 3), (1, 4, 2, 2, 3)])
def test_local_response_norm_matches_torch(shape):
    for size in (1, 2, 3, 5, 8):  # even, odd, and wider than the channels
        run_outputs(torch, lambda lib, x: lib_f(lib).local_response_norm(
            x, size, alpha=0.5, beta=0.6, k=1.5), randn(*shape), second_order=size == 3)
    run_outputs(torch, lambda lib, x: lib_f(lib).local_response_norm(x, 2), randn(*shape))


# --- modules: several steps in train, then eval -------------------------------------------------

def _copy_state(src_torch, dst_ours):
    """torch's state_dict loaded as is (torch tensors, num_batches_tracked included)."""
    dst_ours.load_state_dict(src_torch.state_dict())


def _compare_state(ours, theirs):
    sd_a, sd_t = ours.state_dict(), theirs.state_dict()
    assert list(sd_a) == list(sd_t)
    for k, v in sd_t.items():
        assert_close(sd_a[k], v, rtol=1e-11, atol=1e-13, err_msg=k)


def _steps(make, shape, steps=3, scale=2.0, extra_eval_shape=None, randomize=True):
    """make(lib) -> module; trains both `steps` steps, then evaluates; compares everything."""
    t, m = make(torch.nn).double(), make(nn).double()
    if randomize:
        with torch.no_grad():
            for p in t.parameters():
                p.copy_(torch.tensor(randn(*p.shape)))
    _copy_state(t, m)
    _compare_state(m, t)
    for step in range(steps):
        ax, tx = pair(randn(*shape) * scale + step)
        ay, ty = m(ax), t(tx)
        assert_close(ay, ty, rtol=1e-10, atol=1e-12, err_msg=f"output, step {step}")
        backward_both(ay, ty, seed=step)
        assert_close(ax.grad, tx.grad, rtol=1e-9, atol=1e-11, err_msg=f"input grad {step}")
        for (name, pa), pt in zip(m.named_parameters(), t.parameters()):
            assert_close(pa.grad, pt.grad, rtol=1e-9, atol=1e-11, err_msg=name)
        _compare_state(m, t)
    t.eval(), m.eval()
    ax, tx = pair(randn(*(extra_eval_shape or shape)))
    ay, ty = m(ax), t(tx)
    assert_close(ay, ty, rtol=1e-10, atol=1e-12, err_msg="eval output")
    backward_both(ay, ty, seed=9)
    assert_close(ax.grad, tx.grad, rtol=1e-9, atol=1e-11, err_msg="eval input grad")
    _compare_state(m, t)
    return m, t


BATCH_NORMS = [
    ("BatchNorm1d", (6, 3), {}),
    ("BatchNorm1d", (4, 3, 5), {"momentum": None}),
    ("BatchNorm1d", (5, 3), {"affine": False, "momentum": 0.3}),
    ("BatchNorm1d", (4, 3, 2), {"track_running_stats": False}),
    ("BatchNorm2d", (3, 3, 4, 2), {"bias": False}),
    ("BatchNorm2d", (2, 3, 2, 3), {"affine": False, "track_running_stats": False, "eps": 1e-3}),
    ("BatchNorm3d", (2, 3, 2, 3, 2), {}),
    ("BatchNorm3d", (3, 3, 1, 2, 2), {"momentum": None, "affine": False}),
]


@pytest.mark.parametrize("name, shape, kwargs", BATCH_NORMS,
                         ids=[f"{n}-{k}" for n, _, k in BATCH_NORMS])
def test_batch_norm_modules_match_torch_over_steps(name, shape, kwargs):
    m, t = _steps(lambda lib: getattr(lib, name)(3, **kwargs), shape, steps=4,
                  extra_eval_shape=(1,) + shape[1:])
    if m.num_batches_tracked is not None:
        assert m.num_batches_tracked.dtype == np.int64 and m.num_batches_tracked.item() == 4
    else:
        assert m.running_mean is None and t.running_mean is None


def test_batch_norm_state_dict_copies_both_ways_and_continues():
    t = torch.nn.BatchNorm2d(3, momentum=None).double()
    for _ in range(3):
        t(torch.randn(4, 3, 2, 2, dtype=torch.float64) * 3)
    m = nn.BatchNorm2d(3, momentum=None).double()
    m.load_state_dict(t.state_dict())           # torch -> ours, num_batches_tracked = 3
    assert m.num_batches_tracked.item() == 3
    for _ in range(2):                           # the cumulative average continues alike
        ax, tx = pair(randn(4, 3, 2, 2), requires_grad=False)
        assert_close(m(ax), t(tx), rtol=1e-10, atol=1e-12)
    _compare_state(m, t)
    t2 = torch.nn.BatchNorm2d(3, momentum=None).double()
    t2.load_state_dict({k: torch.tensor(to_numpy(v)) for k, v in m.state_dict().items()})
    _compare_state(m, t2)                        # ours -> torch


def test_batch_norm_module_flags_switched_after_construction():
    """PyTorch decides per call: buffers normalise in eval whenever they exist, and are
    updated in training only while track_running_stats is on."""
    for mode in ("train", "eval"):
        t, m = torch.nn.BatchNorm1d(3).double(), nn.BatchNorm1d(3).double()
        t.track_running_stats = m.track_running_stats = False
        t.train(mode == "train"), m.train(mode == "train")
        ax, tx = pair(randn(5, 3), requires_grad=False)
        assert_close(m(ax), t(tx), rtol=1e-10, atol=1e-12)
        _compare_state(m, t)


INSTANCE_NORMS = [
    ("InstanceNorm1d", (2, 3, 5), {}),
    ("InstanceNorm1d", (3, 4), {"affine": True}),                       # unbatched (C, L)
    ("InstanceNorm1d", (2, 3, 4), {"track_running_stats": True, "momentum": 0.2}),
    ("InstanceNorm2d", (2, 3, 3, 2), {"affine": True, "track_running_stats": True}),
    ("InstanceNorm2d", (3, 2, 3), {"track_running_stats": True, "momentum": None}),
    ("InstanceNorm3d", (2, 3, 2, 2, 2), {"affine": True, "bias": False}),
    ("InstanceNorm3d", (3, 2, 2, 3), {"track_running_stats": True}),  # unbatched
]


@pytest.mark.parametrize("name, shape, kwargs", INSTANCE_NORMS,
                         ids=[f"{n}-{len(s)}d-{k}" for n, s, k in INSTANCE_NORMS])
def test_instance_norm_modules_match_torch_over_steps(name, shape, kwargs):
    c = shape[0] if len(shape) == int(name[-2]) + 1 else shape[1]  # unbatched: (C, *)
    m, _ = _steps(lambda lib: getattr(lib, name)(c, **kwargs), shape)
    if m.num_batches_tracked is not None:  # instance norm never counts batches, as PyTorch
        assert m.num_batches_tracked.item() == 0


def test_instance_norm_without_affine_warns_on_a_channel_mismatch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = nn.InstanceNorm1d(3)(ad.tensor(randn(2, 4, 5)))
    assert out.shape == (2, 4, 5)
    assert any("dim=1 does not match num_features" in str(w.message) for w in caught)


@pytest.mark.parametrize("kwargs", [{}, {"elementwise_affine": False}, {"bias": False},
                                    {"eps": 1e-3}])
def test_layer_norm_module_matches_torch(kwargs):
    _steps(lambda lib: lib.LayerNorm([3, 4], **kwargs), (2, 3, 4), steps=2)


@pytest.mark.parametrize("groups, channels, shape, kwargs", [
    (2, 4, (3, 4, 5), {}), (1, 3, (2, 3, 2, 2), {"affine": False}),
    (3, 6, (2, 6, 2), {"bias": False, "eps": 1e-3}), (4, 4, (2, 4, 3, 2, 2), {})])
def test_group_norm_module_matches_torch(groups, channels, shape, kwargs):
    _steps(lambda lib: lib.GroupNorm(groups, channels, **kwargs), shape, steps=2)


@pytest.mark.parametrize("normalized_shape, kwargs", [(4, {}), ([3, 4], {"eps": 1e-3}),
                                                      ((4,), {"elementwise_affine": False})])
def test_rms_norm_module_matches_torch(normalized_shape, kwargs):
    _steps(lambda lib: lib.RMSNorm(normalized_shape, **kwargs), (2, 3, 4), steps=2)


def test_rms_norm_module_float32_default_eps():
    t, m = torch.nn.RMSNorm(4), nn.RMSNorm(4)
    assert m.weight.dtype == np.float32
    x = (randn(3, 4) * 1e-4).astype(np.float32)
    assert_close(m(ad.tensor(x)), t(to_torch(x)), tol=1e-5)


@pytest.mark.parametrize("size, shape", [(3, (2, 5, 4)), (2, (2, 4, 2, 3)), (4, (1, 3, 2, 2, 2))])
def test_local_response_norm_module_matches_torch(size, shape):
    _steps(lambda lib: lib.LocalResponseNorm(size, alpha=0.3, beta=0.9, k=2.0), shape, steps=1)


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_cross_map_lrn2d_values_match_torch_and_gradients_are_exact(size):
    x = randn(2, 7, 2, 3)
    ours = nn.CrossMapLRN2d(size, alpha=0.5, beta=0.7, k=1.2)
    out = ours(ad.tensor(x))
    assert_close(out, torch.nn.CrossMapLRN2d(size, 0.5, 0.7, 1.2)(to_torch(x)), rtol=1e-12)
    # PyTorch's hand-written backward is not the derivative of its forward; ours is
    xs = ad.tensor(randn(1, 6, 1, 2), requires_grad=True)
    assert gradcheck(ours, (xs,)) and gradgradcheck(ours, (xs,))


# --- printing, state_dict keys, defaults ----------------------------------------------------------

REPRS = [
    lambda n: n.BatchNorm1d(3),
    lambda n: n.BatchNorm2d(3, eps=1e-3, momentum=None, affine=False),
    lambda n: n.BatchNorm3d(4, track_running_stats=False, bias=False),
    lambda n: n.InstanceNorm1d(3),
    lambda n: n.InstanceNorm2d(3, affine=True, track_running_stats=True),
    lambda n: n.InstanceNorm3d(2, momentum=0.3, bias=False, affine=True),
    lambda n: n.LayerNorm(4),
    lambda n: n.LayerNorm([2, 3], eps=1e-6, elementwise_affine=False, bias=False),
    lambda n: n.LayerNorm((3,), bias=False),
    lambda n: n.GroupNorm(2, 4),
    lambda n: n.GroupNorm(1, 3, eps=0.01, affine=False),
    lambda n: n.GroupNorm(3, 6, bias=False),
    lambda n: n.RMSNorm(3),
    lambda n: n.RMSNorm([3, 4], eps=1e-3, elementwise_affine=False),
    lambda n: n.LocalResponseNorm(3),
    lambda n: n.LocalResponseNorm(2, alpha=0.01, beta=0.5, k=2),
    lambda n: n.CrossMapLRN2d(5),
    lambda n: n.CrossMapLRN2d(3, 1e-3, 0.5, 2.0),
]


@pytest.mark.parametrize("make", REPRS, ids=range(len(REPRS)))
def test_repr_state_dict_and_initial_values_match_torch(make):
    t, m = make(torch.nn), make(nn)
    assert repr(m) == repr(t)
    sd_a, sd_t = m.state_dict(), t.state_dict()
    assert list(sd_a) == list(sd_t)
    for k, v in sd_t.items():
        assert_close(sd_a[k], v, rtol=0, atol=0, err_msg=k)  # dtype, shape and value
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]


def test_reset_running_stats_and_parameters():
    m = nn.BatchNorm1d(3)
    m(ad.randn(4, 3) * 5 + 2)
    with ad.no_grad():
        m.weight.fill_(3.0)
    m.reset_parameters()
    assert m.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(m.running_mean.data, 0)
    np.testing.assert_array_equal(m.running_var.data, 1)
    np.testing.assert_array_equal(m.weight.data, 1)


# --- errors: PyTorch's classes, messages that name the problem -----------------------------------

ERRORS = [
    (lambda n, t: n.BatchNorm1d(3)(t(4, 3, 2, 2)), ValueError,
     r"BatchNorm1d\(3\): expected 2D or 3D input \(got 4D input\)"),
    (lambda n, t: n.BatchNorm2d(3)(t(3, 4, 4)), ValueError, r"expected 4D input \(got 3D"),
    (lambda n, t: n.BatchNorm3d(3)(t(2, 3, 4, 4)), ValueError, r"expected 5D input \(got 4D"),
    (lambda n, t: n.BatchNorm1d(3)(t(1, 3)), ValueError,
     r"Expected more than 1 value per channel when training, got input size \[1, 3\]"),
    (lambda n, t: n.BatchNorm2d(3)(t(1, 3, 1, 1)), ValueError, "more than 1 value per channel"),
    (lambda n, t: n.BatchNorm1d(3)(t(4, 2)), RuntimeError, r"2 channels in dim 1, not 3"),
    (lambda n, t: n.BatchNorm1d(3, track_running_stats=False)(t(4, 2)), RuntimeError,
     "2 channels"),
    (lambda n, t: n.InstanceNorm1d(3)(t(2, 3, 4, 4)), ValueError,
     r"expected 2D or 3D input \(got 4D input\)"),
    (lambda n, t: n.InstanceNorm2d(3)(t(3, 4)), ValueError, r"expected 3D or 4D input"),
    (lambda n, t: n.InstanceNorm3d(3, affine=True)(t(2, 4, 2, 2, 2)), ValueError,
     r"expected input's size at dim=1 to match num_features \(3\), but got: 4"),
    (lambda n, t: n.InstanceNorm1d(3)(t(2, 3, 1)), ValueError,
     r"Expected more than 1 spatial element when training, got input size \[2, 3, 1\]"),
    (lambda n, t: n.GroupNorm(3, 4), ValueError,
     r"num_channels \(4\) must be divisible by num_groups \(3\)"),
    (lambda n, t: n.GroupNorm(2, 4)(t(2, 6, 3)), RuntimeError,
     r"Expected weight to be a vector of size equal to the number of channels"),
    (lambda n, t: n.LayerNorm(5)(t(3, 4)), RuntimeError,
     r"Given normalized_shape=\[5\], expected input with shape \[\*, 5\], but got input of "
     r"size ?\[3, 4\]"),
    (lambda n, t: n.RMSNorm([2, 4])(t(3, 4)), RuntimeError, r"Given normalized_shape=\[2, 4\]"),
    (lambda n, t: n.LocalResponseNorm(2)(t(3, 4)), ValueError,
     r"Expected 3D or higher dimensionality\s+input \(got 2 dimensions\)"),
    (lambda n, t: n.CrossMapLRN2d(3)(t(3, 4, 5)), ValueError,
     r"CrossMapLRN2d: Expected input to be 4D, got 3D instead"),
]


@pytest.mark.parametrize("fn, cls, message", ERRORS, ids=range(len(ERRORS)))
def test_module_errors_match_torch(fn, cls, message):
    with pytest.raises(cls):
        fn(torch.nn, lambda *s: torch.randn(*s))
    with pytest.raises(cls, match=message):
        fn(nn, lambda *s: ad.randn(*s))


FUNCTIONAL_ERRORS = [
    (lambda f, lib: f.batch_norm(lib.randn(3, 2), None, None, training=False), RuntimeError,
     "running_mean must be defined in evaluation mode"),
    (lambda f, lib: f.batch_norm(lib.randn(3, 2), lib.zeros(2), None), RuntimeError,
     "running_var must be defined in evaluation mode"),
    (lambda f, lib: f.batch_norm(lib.randn(3, 2), lib.zeros(2), None, training=True),
     ValueError, "running_mean and running_var must either both be None or neither be None"),
    (lambda f, lib: f.instance_norm(lib.randn(3, 2, 2), None, lib.ones(2)), ValueError,
     "running_mean and running_var must either both be None or neither be None"),
    (lambda f, lib: f.layer_norm(lib.randn(3, 4), 4), TypeError, "must be tuple of ints"),
    (lambda f, lib: f.rms_norm(lib.randn(3, 4), 4), TypeError, "must be tuple of ints"),
    (lambda f, lib: f.batch_norm(lib.randn(3, 2), None, None, lib.ones(3), training=True),
     RuntimeError, "weight should contain 2 elements not 3"),
    (lambda f, lib: f.batch_norm(lib.randn(3, 2), lib.zeros(4), lib.ones(2)), RuntimeError,
     "running_mean should contain 2 elements not 4"),
    (lambda f, lib: f.batch_norm(lib.randn(3, 2), lib.zeros(2), lib.ones(2), eps=-1.0),
     ValueError, "eps must be non-negative, but got -1.0"),
    (lambda f, lib: f.batch_norm(lib.randn(3), None, None, training=True), IndexError,
     r"expected input of shape \(N, C, \*\), got shape \[3\]"),
    (lambda f, lib: f.instance_norm(lib.randn(2, 3, 4), use_input_stats=False), RuntimeError,
     "Expected running_mean and running_var to be defined when use_input_stats is false"),
    (lambda f, lib: f.instance_norm(lib.randn(2, 3)), ValueError,
     "Expected more than 1 spatial element"),
    (lambda f, lib: f.layer_norm(lib.randn(3, 4), (4,), lib.ones(3)), RuntimeError,
     r"Expected weight to be of same shape as normalized_shape, but got weight of shape \[3\] "
     r"and normalized_shape = \[4\]"),
    (lambda f, lib: f.layer_norm(lib.randn(3, 4), ()), RuntimeError,
     "Expected normalized_shape to be at least 1-dimensional"),
    (lambda f, lib: f.group_norm(lib.randn(3, 4), 3), RuntimeError,
     r"Expected number of channels in input to be divisible by num_groups, but got input of "
     r"shape \[3, 4\] and num_groups=3"),
    (lambda f, lib: f.group_norm(lib.randn(4), 2), RuntimeError,
     "Expected at least 2 dimensions for input tensor but received 1"),
    (lambda f, lib: f.group_norm(lib.randn(1, 4), 4), ValueError,
     "Expected more than 1 value per channel when training"),
    (lambda f, lib: f.rms_norm(lib.randn(3, 4), (4,), lib.ones(2)), RuntimeError,
     r"weight of shape \[2\]"),
    (lambda f, lib: f.local_response_norm(lib.randn(3, 4, 5), 0), RuntimeError,
     "size should be greater than zero, but got 0"),
]


@pytest.mark.parametrize("fn, cls, message", FUNCTIONAL_ERRORS, ids=range(len(FUNCTIONAL_ERRORS)))
def test_functional_errors_match_torch(fn, cls, message):
    with pytest.raises(cls):
        fn(TF, torch)
    with pytest.raises(cls, match=message):
        fn(F, ad)


def test_integer_input_is_refused_with_the_fix():
    with pytest.raises(TypeError, match=r"batch_norm.*floating-point.*\.float\(\)"):
        F.batch_norm(ad.ones(3, 2, dtype=ad.int64), None, None, training=True)
