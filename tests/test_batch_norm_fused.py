"""Training-mode batch norm as one node (autodiff.ops.normalization.BatchNorm, called by
F.batch_norm): values, running statistics, gradients to second order against finite differences
and PyTorch, every affine form, float32, autodiff.compile replays, and the fallbacks."""
import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from autodiff.ops import normalization as norm_ops
from autodiff.testing import gradcheck, gradgradcheck
from _torch import require_torch, run_outputs

SHAPES = [(4, 3), (3, 2, 5), (2, 3, 4, 5), (2, 2, 3, 2, 3)]
AFFINE = ["weight and bias", "weight", "bias", "none"]


def _rand(*shape, dtype=np.float64, seed=0, loc=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * scale + loc).astype(dtype)


def _params(c, affine, dtype=np.float64):
    return (_rand(c, seed=1, dtype=dtype) if "weight" in affine else None,
            _rand(c, seed=2, dtype=dtype) if "bias" in affine else None)


def _tensors(*arrays):
    return [None if a is None else ad.tensor(a, requires_grad=True) for a in arrays]


def _np_batch_norm(x, w, b, eps):
    dims = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - x.mean(dims, keepdims=True)) / np.sqrt(x.var(dims, keepdims=True) + eps)
    if w is not None:
        y = y * w.reshape(shape)
    return y if b is None else y + b.reshape(shape)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", AFFINE)
def test_one_node_matches_the_formula_and_finite_differences(shape, affine):
    x0 = _rand(*shape, loc=0.7, scale=1.5)
    w0, b0 = _params(shape[1], affine)
    x, w, b = _tensors(x0, w0, b0)
    y = F.batch_norm(x, None, None, w, b, training=True, eps=1e-3)
    assert y.grad_fn.name == "BatchNormBackward"
    np.testing.assert_allclose(y.detach().numpy(), _np_batch_norm(x0, w0, b0, 1e-3),
                               rtol=1e-12, atol=1e-12)
    inputs = tuple(t for t in (x, w, b) if t is not None)

    def fn(*ts):
        it = iter(ts[1:])
        wt = next(it) if w is not None else None
        bt = next(it) if b is not None else None
        return F.batch_norm(ts[0], None, None, wt, bt, training=True, eps=1e-3)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", AFFINE)
def test_against_torch_to_second_order(shape, affine):
    torch = require_torch()
    params = _params(shape[1], affine)
    arrays = [_rand(*shape, loc=-0.4, scale=2.0)] + [p for p in params if p is not None]

    def fn(lib, x, *ps):
        it = iter(ps)
        w, b = [next(it) if p is not None else None for p in params]
        return (F if lib is ad else torch.nn.functional).batch_norm(
            x, None, None, w, b, training=True, eps=1e-4)
    # (torch 2.13's double backward fails for a bias without a weight, as for layer_norm:
    # the finite-difference test above covers that form)
    run_outputs(torch, fn, *arrays, second_order=affine != "bias")


def test_running_statistics_match_torch_over_steps():
    torch = require_torch()
    ours, theirs = nn.BatchNorm2d(3, momentum=0.3).double(), \
        torch.nn.BatchNorm2d(3, momentum=0.3).double()
    for step in range(3):
        x0 = _rand(4, 3, 2, 5, seed=10 + step, loc=step, scale=1 + step)
        out = ours(ad.tensor(x0, requires_grad=True))
        ref = theirs(torch.tensor(x0, requires_grad=True))
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(ours, name).numpy(),
                                   getattr(theirs, name).numpy(), rtol=1e-12)
    assert int(ours.num_batches_tracked.numpy()) == 3


def test_float32_keeps_its_dtype_and_precision():
    torch = require_torch()
    x0 = _rand(8, 4, 6, 6, dtype=np.float32, loc=3.0, scale=0.5)
    w0, b0 = _params(4, "weight and bias", np.float32)
    ours, _ = run_outputs(torch, lambda lib, *t: (F if lib is ad else torch.nn.functional)
                          .batch_norm(t[0], None, None, *t[1:], training=True), x0, w0, b0)
    assert ours[0].dtype == ad.float32
    x, w, b = _tensors(x0, w0, b0)
    F.batch_norm(x, None, None, w, b, training=True).sum().backward()
    assert {t.grad.dtype for t in (x, w, b)} == {np.dtype(np.float32)}


def test_statistics_are_constants_the_node_differentiates_through():
    """The mean and variance given to the node carry no gradient, yet x's gradient includes
    their dependence on x: the output's gradient sums to zero per channel for any g."""
    x = ad.tensor(_rand(5, 2, 3), requires_grad=True)
    out, mean, var = norm_ops.batch_norm_train(x)
    assert not mean.requires_grad and not var.requires_grad
    np.testing.assert_allclose(mean.numpy(), x.detach().numpy().mean((0, 2)), rtol=1e-12)
    np.testing.assert_allclose(var.numpy(), x.detach().numpy().var((0, 2)), rtol=1e-12)
    out.backward(ad.tensor(_rand(5, 2, 3, seed=4)))
    np.testing.assert_allclose(x.grad.numpy().sum((0, 2)), 0.0, atol=1e-12)


def test_third_order_matches_the_composed_formula():
    x0, w0, v = _rand(3, 2, 4), _rand(2, seed=1), _rand(3, 2, 4, seed=2)

    def composed(x, w):
        mean = x.mean((0, 2), keepdim=True)
        c = x - mean
        return c * ((c * c).mean((0, 2), keepdim=True) + 1e-5).rsqrt() * w.reshape(1, 2, 1)
    results = []
    for fn in (lambda x, w: F.batch_norm(x, None, None, w, None, training=True), composed):
        x, w = _tensors(x0, w0)
        y = (fn(x, w) ** 3 * ad.tensor(v)).sum()
        g1, = ad.grad(y, x, create_graph=True)
        g2, = ad.grad((g1 * g1).sum(), x, create_graph=True)
        g3 = ad.grad((g2 * ad.tensor(v)).sum(), (x, w))
        results.append([t.detach().numpy() for t in (g1, g2) + tuple(g3)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("case", ["float16", "mixed dtypes", "empty batch"])
def test_other_inputs_take_the_composed_path(case):
    if case == "float16":
        x, w, b = ad.tensor(_rand(4, 3, dtype=np.float16)), None, None
    elif case == "mixed dtypes":
        x, w, b = ad.tensor(_rand(4, 3)), ad.ones(3, dtype=ad.float32), None
    else:
        x, w, b = ad.tensor(_rand(0, 3, 2)), None, None
    x.requires_grad_(True)
    out = F.batch_norm(x, None, None, w, b, training=True)
    assert out.grad_fn is None or out.grad_fn.name != "BatchNormBackward"


def test_compiled_step_replays_bit_for_bit():
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                          nn.Flatten(), nn.Linear(3 * 16, 2))
    twin = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.Flatten(), nn.Linear(3 * 16, 2))
    twin.load_state_dict(model.state_dict())
    opts = [nn.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (model, twin)]

    def make(m, opt):
        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(m(x), y)
            loss.backward()
            opt.step()
            return loss
        return step
    compiled, eager = ad.compile(make(model, opts[0]), fullgraph=True), make(twin, opts[1])
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = ad.tensor(rng.standard_normal((4, 2, 4, 4)).astype(np.float32))
        y = ad.tensor(rng.integers(0, 2, 4))
        assert compiled(x, y).detach().numpy().tobytes() == \
            eager(x, y).detach().numpy().tobytes()
    for (name, a), b in zip(model.state_dict().items(), twin.state_dict().values()):
        assert a.numpy().tobytes() == b.numpy().tobytes(), name
