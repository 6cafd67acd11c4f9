"""PyTorch programs ported by changing imports: values and gradients must match torch.

Each test runs the same student-style snippet with `torch` and with `autodiff`/`nn` and compares
forward values, gradients and dtypes.
"""
import functools

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from _torch import (assert_close, assert_grads_close, backward_both, pair, require_torch,
                    run_both, to_ad, to_numpy)
from nn.data import DataLoader, TensorDataset

torch = require_torch()
import torch.nn as tnn  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

TOL = 1e-6  # rtol and atol of every comparison here unless a test says otherwise
close = functools.partial(assert_close, tol=TOL)  # same shape, dtype and values as torch's
both = functools.partial(run_both, tol=TOL)  # both(fn, *arrays): fn(lib, *leaves), torch vs ad


R = np.random.RandomState(1)
X34 = R.randn(3, 4)
Z234 = R.randn(2, 3, 4)


# ---------------------------------------------------------------- reductions, broadcasting

@pytest.mark.parametrize("fn", [
    lambda m, a: a.sum(dim=(-1, 0)),
    lambda m, a: a.sum(dim=1, keepdim=True),
    lambda m, a: a.var(dim=0, unbiased=False),
    lambda m, a: a.std(dim=1, correction=0, keepdim=True),
    lambda m, a: a.max(dim=1).values * a.min(1)[0],
    lambda m, a: m.logsumexp(a, dim=-1),
    lambda m, a: a.prod(dim=1),
    lambda m, a: a.norm(p=1, dim=1),
    lambda m, a: a.amax(dim=0),
    lambda m, a: m.max(a, 1, keepdim=True)[0],
], ids=["sum-tuple-neg", "sum-keepdim", "var-biased", "std-correction0", "max-min-dim",
        "logsumexp", "prod-dim", "norm-p1", "amax", "torch.max(x, 1)"])
def test_reductions_match_torch_float64(fn):
    both(fn, X34)


@pytest.mark.parametrize("data,fn", [
    (np.array([2., 0., 3.]), lambda m, a: a.prod()),
    (np.array([2., 0., 0.]), lambda m, a: a.prod()),
    (np.array([1., 3., 3.]), lambda m, a: a.max()),          # tie: gradient split evenly
    (np.array([[1., 2.], [1., 0.]]), lambda m, a: a.amax(dim=0)),
    (np.array([1000., 1000., -1000.]), lambda m, a: a.logsumexp(0)),
    (np.array([[0., 0.], [3., 4.]]), lambda m, a: a.norm(dim=1)),
    (np.array([0., 1., -1.]), lambda m, a: a.abs() + a.relu()),
    (np.array([-1000., 0., 1000.]), lambda m, a: a.sigmoid()),
    (np.array(3.0), lambda m, a: a.sum(0) * a.unsqueeze(0)),
    (np.zeros((0, 3)), lambda m, a: a.sum(dim=0)),
    (np.zeros((0, 3)), lambda m, a: a.amax(dim=1)),
], ids=["prod-one-zero", "prod-two-zeros", "max-tie", "amax-tie", "lse-huge", "norm-at-zero",
        "kinks", "sigmoid-saturated", "0d", "empty-sum", "empty-amax"])
def test_edge_values_match_torch(data, fn):
    both(fn, data)


def test_broadcast_column_with_row_and_batched_matmul():
    both(lambda m, a, b: a * b + a / (b + 3), R.randn(3, 1), R.randn(1, 4))
    both(lambda m, a, b: a @ b, R.randn(2, 1, 3, 4), R.randn(5, 4, 2))
    both(lambda m, a, b: a @ b, R.randn(3), X34)
    both(lambda m, a: a.T @ a, X34)  # non-contiguous operand


# ---------------------------------------------------------------- indexing and shape

@pytest.mark.parametrize("fn", [
    lambda m, a: a[[0, 0, 2]],
    lambda m, a: a[m.tensor([0, 1, 1]), m.tensor([2, 2, 3])],
    lambda m, a: a[a > 0],
    lambda m, a: a[m.tensor([True, False, True])],
    lambda m, a: a[:, m.tensor([-1, 0])],
    lambda m, a: a[::2, 1:],
    lambda m, a: a.gather(1, m.tensor([[0], [1], [3]])),
    lambda m, a: a.masked_fill(a > 0, 0.0),
    lambda m, a: m.stack([r * (i + 1) for i, r in enumerate(a)]),
    lambda m, a: m.cat([p * (i + 1) for i, p in enumerate(a.split([1, 3], dim=1))], 1),
    lambda m, a: a.repeat(2, 1, 1),
    lambda m, a: a.flip([0, 1]),
], ids=["repeated-list", "two-index-tensors", "bool-mask", "row-mask", "neg-index-tensor",
        "step-slice", "gather", "masked_fill", "iterate-rows", "split-list", "repeat-new-dim",
        "flip"])
def test_indexing_and_shape_ops_match_torch(fn):
    both(fn, X34)


@pytest.mark.parametrize("fn", [
    lambda m, a: a[None, ..., 1],
    lambda m, a: a.flatten(0, 1),
    lambda m, a: a.permute(-1, 0, 1),
    lambda m, a: a.transpose(-1, -2).reshape(2, -1),
    lambda m, a: m.einsum("...ij->...ji", a),
    lambda m, a: m.stack(list(a.unbind(1)), dim=-1),
    lambda m, a: a.unsqueeze(1).expand(-1, 2, -1, -1),
], ids=["none-ellipsis", "flatten-0-1", "permute-neg", "transpose-reshape", "einsum-ellipsis",
        "unbind-stack", "expand-minus-one"])
def test_3d_shape_ops_match_torch(fn):
    both(fn, Z234)


# ---------------------------------------------------------------- dtypes

@pytest.mark.parametrize("expr", [
    "m.tensor([1., 2.]) + m.tensor([1, 2])",
    "m.tensor([1, 2]) * 2.5",
    "m.tensor([1, 2]) / m.tensor([2, 4])",
    "m.tensor([True, False]) + 1",
    "m.tensor([1., 2.], dtype=m.float64) + m.tensor([1., 2.])",
    "m.tensor([1, 2]) + m.tensor(1.5)",
    "m.tensor([True, False, True]).sum()",
    "m.tensor([1.5, -2.7]).long()",
    "m.arange(0, 1, 0.25)",
    "m.full((2, 2), 3)",
    "m.tensor([1., -2.]) // 2",
])
def test_dtype_promotion_matches_torch(expr):
    t, a = eval(expr, {"m": torch}), eval(expr, {"m": ad})
    assert np.dtype(a.dtype) == t.numpy().dtype
    np.testing.assert_array_equal(a.detach().numpy(), t.numpy())


def test_zero_dim_tensor_does_not_promote_dimensioned_tensor():
    out = ad.ones(2) * ad.tensor(2.0, dtype=ad.float64)
    assert out.dtype == np.float32


def test_integer_floor_division_stays_integer():
    out = ad.tensor([5, -7]) // 2
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.detach().numpy(), [2, -4])


def test_bitwise_and_on_int_tensors():
    out = ad.tensor([6, 3]) & ad.tensor([3, 1])
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.detach().numpy(), [2, 1])


def test_float64_gradients_keep_dtype_through_float32_mix():
    for lib in (torch, ad):
        x = lib.tensor([1., 2.], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([3., 4.], requires_grad=True)
        (x * w).sum().backward()
        assert to_numpy(x.grad).dtype == np.float64 and to_numpy(w.grad).dtype == np.float32
    x = ad.tensor([1., 2.], dtype=ad.float64, requires_grad=True)
    (x.float() * 3).sum().backward()
    assert x.grad.dtype == np.float64


# ---------------------------------------------------------------- student idioms

def test_training_loop_idioms():
    x = ad.tensor([[1., 5., 3.], [4., 2., 6.]])
    y = ad.tensor([1, 2])
    _, pred = ad.max(x, 1)                          # torch.max(out, 1)
    _, pred_data = ad.max(x.data, 1)                # torch.max(out.data, 1)
    assert pred.tolist() == pred_data.tolist() == [1, 2]
    assert (x.argmax(dim=1) == y).float().mean().item() == 1.0
    assert (x.argmax(1) == y).sum().item() == 2 and isinstance(ad.tensor(3).item(), int)
    assert float(x.sum()) == 21.0 and int(ad.tensor(3)) == 3
    s = sum([x, x, x])                               # Python sum starts from 0
    np.testing.assert_array_equal(s.detach().numpy(), 3 * x.detach().numpy())
    assert x.view(x.size(0), -1).shape == (2, 3) and x.size(-1) == 3


def test_format_spec_on_scalar_tensor():
    assert f"{ad.tensor(3.14159):.3f}" == "3.142"


def test_max_of_two_tensors_is_elementwise():
    a, b = ad.tensor([1., 5.]), ad.tensor([3., 2.])
    np.testing.assert_array_equal(ad.max(a, b).detach().numpy(), [3., 5.])


def test_sgd_step_under_no_grad_matches_torch():
    out = []
    for lib in (torch, ad):
        w = lib.tensor([1., 2., 3.], requires_grad=True)
        (w * w).sum().backward()
        with lib.no_grad():
            w -= 0.1 * w.grad
            w.add_(w.grad, alpha=-0.1)
            w[0] = 5.0
        w.grad.zero_()
        assert w.is_leaf and w.requires_grad
        out.append(to_numpy(w).copy())
    np.testing.assert_allclose(out[1], out[0], rtol=1e-6)


def test_inplace_on_graph_tensor_raises_clearly():
    x = ad.tensor([1., 2.], requires_grad=True)
    with pytest.raises(RuntimeError, match="add_.*no_grad"):
        x.add_(1.0)
    y = x.exp()
    y.mul_(2)  # recorded (as in PyTorch); exp's rule reads its output, which changed
    with pytest.raises(RuntimeError, match="output 0 of ExpBackward, is at version 1; "
                                           "expected version 0"):
        y.sum().backward()


# ---------------------------------------------------------------- autograd

def _run_custom(lib):
    base = torch.autograd.Function if lib is torch else ad.Function
    grad = torch.autograd.grad if lib is torch else ad.grad

    class ScaledExp(base):
        @staticmethod
        def forward(ctx, x, k):
            y = x.exp() * k
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            y, = ctx.saved_tensors
            return g * y, None

    class TwoOut(base):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            return ga * 2 + gb * 3

    x = lib.tensor([0.5, 1.0], dtype=lib.float64, requires_grad=True)
    y = ScaledExp.apply(x, 3.0)
    g1, = grad(y.sum(), x, create_graph=True)
    g2, = grad(g1.sum(), x)
    z = lib.tensor([1., 2.], requires_grad=True)
    a, _ = TwoOut.apply(z)           # second output unused: its gradient arrives as zeros
    a.sum().backward()
    return y, g1, g2, z.grad


def test_custom_function_higher_order_and_unused_output():
    for a, t in zip(_run_custom(ad), _run_custom(torch)):
        close(a, t)


def test_hooks_retain_grad_and_retain_graph_match_torch():
    res = []
    for lib in (torch, ad):
        x = lib.tensor([1., 2., 3.], requires_grad=True)
        y = x * 2
        y.retain_grad()
        h = x.register_hook(lambda g: g * 10)
        z = (y ** 2).sum()
        z.backward(retain_graph=True)
        h.remove()
        z.backward()
        res.append((x.grad, y.grad))
    close(res[1][0], res[0][0])
    close(res[1][1], res[0][1])


def test_gradient_penalty_double_backward_matches_torch():
    res = []
    for lib, f in ((torch, TF), (ad, F)):
        grad = torch.autograd.grad if lib is torch else ad.grad
        W = lib.tensor(np.random.RandomState(0).randn(4, 3), requires_grad=True)
        x = lib.tensor(np.random.RandomState(1).randn(5, 4), requires_grad=True)
        gx, = grad(f.gelu(x @ W).sum(), x, create_graph=True)
        ((gx.norm(2, dim=1) - 1) ** 2).mean().backward()
        res.append((W.grad, x.grad))
    close(res[1][0], res[0][0])
    close(res[1][1], res[0][1])


@pytest.mark.parametrize("name", ["layer_norm", "cross_entropy", "conv2d"])
def test_nn_functional_grad_of_grad_matches_torch(name):
    res = []
    for lib, f in ((torch, TF), (ad, F)):
        grad = torch.autograd.grad if lib is torch else ad.grad
        rs = np.random.RandomState(1)
        if name == "conv2d":
            x = lib.tensor(rs.randn(1, 2, 4, 4), requires_grad=True)
            w = lib.tensor(rs.randn(3, 2, 3, 3), requires_grad=True)
            y, wrt = (f.conv2d(x, w, padding=1) ** 2).sum(), w
        else:
            x = lib.tensor(rs.randn(3, 4), requires_grad=True)
            y = ((f.layer_norm(x, (4,)) ** 3).sum() if name == "layer_norm" else
                 f.cross_entropy(x, lib.tensor([0, 3, 1]), label_smoothing=0.1))
            wrt = x
        g1, = grad(y, wrt, create_graph=True)
        g2, = grad((g1 ** 2).sum(), x)
        res.append(g2)
    close(res[1], res[0])


def test_functional_transforms_match_torch():
    f = lambda x: (x ** 3).sum() + x[0] * x[1]  # noqa: E731
    close(ad.functional.hessian(f, ad.tensor([1., 2.], dtype=ad.float64)),
          torch.autograd.functional.hessian(f, torch.tensor([1., 2.], dtype=torch.float64)))
    x, v = np.array([0.3, -0.2]), np.array([1., 2.])
    for name in ("vjp", "jvp"):
        _, ga = getattr(ad.functional, name)(lambda t: t.tanh() * 2, ad.tensor(x), ad.tensor(v))
        _, gt = getattr(torch.autograd.functional, name)(lambda t: t.tanh() * 2,
                                                         torch.tensor(x), torch.tensor(v))
        close(ga, gt)


def test_pow_tensor_exponent_grad_at_zero_zero():
    x = ad.tensor([0., 0.], dtype=ad.float64, requires_grad=True)
    y = ad.tensor([0., 2.], dtype=ad.float64, requires_grad=True)
    (x ** y).sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [0., 0.])


# ---------------------------------------------------------------- losses

LOGITS = R.randn(5, 3)
LABELS = R.randint(0, 3, 5)


@pytest.mark.parametrize("kw,target,logits", [
    ({"reduction": "none"}, LABELS, LOGITS),
    ({"weight": np.array([1., 2., 0.5]), "label_smoothing": 0.1}, LABELS, LOGITS),
    ({"ignore_index": 1, "reduction": "sum"}, LABELS, LOGITS),
    ({}, np.full((5, 3), 1 / 3), LOGITS),
    ({"reduction": "none"}, R.randint(0, 3, (2, 5)), R.randn(2, 3, 5)),
    ({}, R.randint(0, 3, (2, 4, 4)), R.randn(2, 3, 4, 4)),
    ({}, np.array(2), R.randn(3)),
], ids=["none", "weight+smoothing", "ignore_index", "probabilities", "N,C,L", "NCHW", "unbatched"])
def test_cross_entropy_variants_match_torch(kw, target, logits):
    def fn(lib, x):
        kw2 = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        return (TF if lib is torch else F).cross_entropy(x, lib.tensor(target), **kw2)
    both(fn, logits)


P, Q = R.randn(5, 3), R.randn(5, 3)
PR, TG = 1 / (1 + np.exp(-P)), (R.rand(5, 3) > 0.5).astype(np.float64)


@pytest.mark.parametrize("fn,args", [
    (lambda f, m, a, b: f.smooth_l1_loss(a, b, beta=0.5), (P, Q)),
    (lambda f, m, a, b: f.huber_loss(a, b, delta=0.5, reduction="sum"), (P, Q)),
    (lambda f, m, a, b: f.binary_cross_entropy(
        a, b, weight=m.tensor([1., 2., 3.], dtype=m.float64)), (PR, TG)),
    (lambda f, m, a, b: f.binary_cross_entropy_with_logits(
        a, b, pos_weight=m.tensor([1., 2., 3.], dtype=m.float64)), (P * 50, TG)),
    (lambda f, m, a: f.multi_margin_loss(a, m.tensor(LABELS), p=2, margin=0.5,
                                         weight=m.tensor([1., 2., 3.], dtype=m.float64),
                                         reduction="none"), (LOGITS,)),
    (lambda f, m, a: f.nll_loss(a.log_softmax(1), m.tensor(LABELS), reduction="sum",
                                weight=m.tensor([1., 2., 3.], dtype=m.float64)), (LOGITS,)),
    (lambda f, m, a, b: f.mse_loss(a, b), (np.array(1.), np.array(2.))),
], ids=["smooth_l1", "huber", "bce-weight", "bce-logits-pos_weight", "multi_margin", "nll",
        "mse-0d"])
def test_losses_match_torch(fn, args):
    both(lambda m, *xs: fn(TF if m is torch else F, m, *xs), *args)


# ---------------------------------------------------------------- layers, optimizers, schedulers

def _copy(tm, am):
    am.load_state_dict({k: to_ad(v) for k, v in tm.state_dict().items()})


@pytest.mark.parametrize("ctor,shape", [
    (lambda n: n.BatchNorm1d(4, momentum=None), (6, 4)),
    (lambda n: n.BatchNorm1d(4), (3, 4, 5)),
    (lambda n: n.LayerNorm((3, 4)), (2, 3, 4)),
    (lambda n: n.PReLU(4), (6, 4)),
    (lambda n: n.Sequential(n.Conv2d(1, 2, 3), n.BatchNorm2d(2), n.ReLU(), n.MaxPool2d(2),
                            n.Flatten(), n.Linear(2 * 3 * 3, 4)), (2, 1, 8, 8)),
    (lambda n: n.MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 7)),
], ids=["bn1d-cumulative", "bn1d-3d", "layernorm-2d", "prelu-channels", "small-cnn", "maxpool"])
def test_layers_train_steps_match_torch(ctor, shape):
    torch.manual_seed(0)
    tm, am = ctor(tnn), ctor(nn)
    _copy(tm, am)
    rs = np.random.RandomState(2)
    for _ in range(2):
        x = (rs.randn(*shape) * 3 + 1).astype(np.float32)
        xa, xt = pair(x)
        ot, oa = tm(xt), am(xa)
        backward_both(oa, ot, seed=2)
        close(oa, ot, tol=1e-4)
        close(xa.grad, xt.grad, tol=1e-4)
    assert list(am.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        close(am.state_dict()[k], v, tol=1e-4)
    assert [n for n, _ in am.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert_grads_close(list(am.parameters()), list(tm.parameters()), tol=1e-4)


def _mlp(n):
    return n.Sequential(n.Linear(4, 8), n.ReLU(), n.Linear(8, 3))


@pytest.mark.parametrize("opt,sched", [
    (lambda o, p: o.SGD(p, lr=0.1, momentum=0.9, dampening=0.5, weight_decay=1e-2), None),
    (lambda o, p: o.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
     lambda s, o: s.MultiStepLR(o, [1, 3], gamma=0.5)),
    (lambda o, p: o.Adam(p, lr=0.01, weight_decay=0.1, amsgrad=True),
     lambda s, o: s.CosineAnnealingLR(o, 4, eta_min=0.01)),
    (lambda o, p: o.AdamW(p, lr=0.01, betas=(0.8, 0.9)), lambda s, o: s.StepLR(o, 2, gamma=0.5)),
    (lambda o, p: o.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.01),
     lambda s, o: s.LambdaLR(o, lambda e: 1 / (e + 1))),
    (lambda o, p: o.RMSprop(p, lr=0.01, momentum=0.9, centered=True, weight_decay=0.01),
     lambda s, o: s.ReduceLROnPlateau(o, mode="max", patience=1, factor=0.5)),
], ids=["sgd-dampening", "nesterov-multistep", "amsgrad-cosine", "adamw-step", "adagrad-lambda",
        "rmsprop-plateau"])
def test_training_loop_matches_torch(opt, sched):
    torch.manual_seed(0)
    tm, am = _mlp(tnn), _mlp(nn)
    _copy(tm, am)
    ot, oa = opt(torch.optim, tm.parameters()), opt(nn.optim, am.parameters())
    st = sched(torch.optim.lr_scheduler, ot) if sched else None
    sa = sched(nn.optim.lr_scheduler, oa) if sched else None
    rs = np.random.RandomState(3)
    X, Y = rs.randn(10, 4).astype(np.float32), rs.randint(0, 3, 10)
    for _ in range(7):
        for lib, f, m, o, s in ((torch, TF, tm, ot, st), (ad, F, am, oa, sa)):
            o.zero_grad()
            loss = f.cross_entropy(m(lib.tensor(X)), lib.tensor(Y))
            loss.backward()
            o.step()
            if s is not None:
                s.step(loss.item()) if "Plateau" in type(s).__name__ else s.step()
    for k, v in tm.state_dict().items():
        close(am.state_dict()[k], v, tol=1e-4)
    assert oa.param_groups[0]["lr"] == pytest.approx(ot.param_groups[0]["lr"])


def test_checkpoint_roundtrip_resumes_identically(tmp_path):
    rs = np.random.RandomState(4)
    X = ad.tensor(rs.randn(5, 4).astype(np.float32))
    model = _mlp(nn)
    opt = nn.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        (model(X) ** 2).mean().backward()
        opt.step()
    nn.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3}, tmp_path / "ck")
    ck = nn.load(tmp_path / "ck")
    model2 = _mlp(nn)
    model2.load_state_dict(ck["model"])
    opt2 = nn.optim.Adam(model2.parameters(), lr=0.5)
    opt2.load_state_dict(ck["opt"])
    assert ck["epoch"] == 3 and opt2.param_groups[0]["lr"] == 0.01
    for m, o in ((model, opt), (model2, opt2)):
        o.zero_grad()
        (m(X) ** 2).mean().backward()
        o.step()
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(model2.state_dict()[k].detach().numpy(), v.detach().numpy())


def test_module_names_match_torch():
    def build(n, lib):
        class Net(n.Module):
            def __init__(self):
                super().__init__()
                self.fc = n.Linear(2, 3)
                self.blocks = n.ModuleList([n.Linear(3, 3), n.BatchNorm1d(3)])
                self.head = n.ModuleDict({"a": n.Linear(3, 1)})
                self.register_buffer("steps", lib.zeros(1))
                self.scale = n.Parameter(lib.ones(1))
        return Net()
    t, a = build(tnn, torch), build(nn, ad)
    assert list(a.state_dict()) == list(t.state_dict())
    assert [k for k, _ in a.named_parameters()] == [k for k, _ in t.named_parameters()]
    assert [k for k, _ in a.named_modules()] == [k for k, _ in t.named_modules()]
    assert [k for k, _ in a.named_buffers()] == [k for k, _ in t.named_buffers()]


# ---------------------------------------------------------------- data

def test_dataloader_batches_match_torch():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    Y = np.arange(10)
    a = list(DataLoader(TensorDataset(ad.tensor(X), ad.tensor(Y)), batch_size=4))
    t = list(torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(Y)), batch_size=4))
    assert len(a) == len(t) == 3
    for (xa, ya), (xt, yt) in zip(a, t):
        close(xa, xt)
        close(ya, yt)


def test_dataloader_accepts_torch_worker_arguments():
    # Ported loaders pass num_workers/pin_memory: worker processes give the same batches.
    ds = TensorDataset(ad.tensor(np.arange(10.)))
    plain = [b[0].detach().numpy() for b in DataLoader(ds, batch_size=3)]
    ported = [b[0].numpy() for b in DataLoader(ds, batch_size=3, num_workers=2, pin_memory=True,
                                               persistent_workers=True, timeout=60)]
    assert len(plain) == len(ported) == 4
    for p, q in zip(plain, ported):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)


# ---------------------------------------------------------------- nn additions (ported names)

KL_IN = R.randn(4, 3)
KL_T = np.abs(R.randn(4, 3))
KL_T /= KL_T.sum(1, keepdims=True)


@pytest.mark.filterwarnings("ignore:reduction. .mean. divides:UserWarning")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    target = np.log(KL_T) if log_target else KL_T
    both(lambda m, a, b: (TF if m is torch else F).kl_div(
        a.log_softmax(1), b, reduction=reduction, log_target=log_target), KL_IN, target)
    both(lambda m, a: (tnn if m is torch else nn).KLDivLoss(
        reduction=reduction, log_target=log_target)(
        a.log_softmax(1), (torch if m is torch else ad).tensor(target)), KL_IN)


def test_kl_div_zero_target_probability_contributes_zero():
    t = ad.tensor([[0.0, 0.5, 0.5]], dtype=ad.float64)
    x = ad.tensor([[-1.0, -2.0, -3.0]], dtype=ad.float64, requires_grad=True)
    loss = F.kl_div(x, t, reduction="sum")
    loss.backward()
    assert loss.item() == pytest.approx(0.5 * np.log(0.5) * 2 - 0.5 * (-2.0 - 3.0))
    np.testing.assert_allclose(x.grad.detach().numpy(), [[0.0, -0.5, -0.5]])


@pytest.mark.parametrize("fn,args", [
    (lambda f, a: f.normalize(a), (np.vstack([np.zeros(3), R.randn(3, 3)]),)),
    (lambda f, a: f.normalize(a, p=1, dim=-1), (R.randn(4, 3),)),
    (lambda f, a, b: f.cosine_similarity(a, b), (R.randn(4, 3), R.randn(4, 3))),
    (lambda f, a, b: f.cosine_similarity(a, b, dim=-1), (R.randn(2, 1, 3), R.randn(4, 3))),
], ids=["normalize-zero-row", "normalize-p1", "cosine", "cosine-broadcast"])
def test_normalize_and_cosine_similarity_match_torch(fn, args):
    both(lambda m, *xs: fn(TF if m is torch else F, *xs), *args)


def test_unflatten_matches_torch():
    both(lambda m, a: (tnn if m is torch else nn).Unflatten(-1, (2, 3))(a), R.randn(4, 5, 6))
    model = nn.Sequential(nn.Linear(4, 6), nn.Unflatten(1, (2, 3)))
    assert model(ad.randn(5, 4)).shape == (5, 2, 3)


def test_contiguous_and_t_exist():
    x = ad.randn(2, 3, 4)
    assert x.transpose(1, 2).contiguous().view(2, -1).shape == (2, 12)
    assert ad.randn(3, 4).t().shape == (4, 3)


# ---------------------------------------------------------------- more student programs

def test_rnn_loop_gradients_match_torch():
    res = []
    for lib in (torch, ad):
        rs = np.random.RandomState(0)
        Wx = lib.tensor(rs.randn(3, 5) * 0.5, requires_grad=True)
        Wh = lib.tensor(rs.randn(5, 5) * 0.5, requires_grad=True)
        xs, h, outs = lib.tensor(rs.randn(30, 2, 3)), lib.zeros(2, 5, dtype=lib.float64), []
        for t in range(30):
            h = (xs[t] @ Wx + h @ Wh).tanh()
            outs.append(h)
        lib.stack(outs, dim=1).pow(2).mean().backward()
        res.append((Wx.grad, Wh.grad))
    close(res[1][0], res[0][0])
    close(res[1][1], res[0][1])


def test_weight_tying_shares_one_parameter_like_torch():
    res = []
    for n, lib in ((tnn, torch), (nn, ad)):
        emb, dec = n.Embedding(5, 3), n.Linear(3, 5, bias=False)
        dec.weight = emb.weight
        with lib.no_grad():
            emb.weight.copy_(lib.tensor(np.arange(15.).reshape(5, 3) / 10, dtype=lib.float32))
        model = n.ModuleDict({"emb": emb, "dec": dec})
        (dec(emb(lib.tensor([0, 3, 3]))) ** 2).sum().backward()
        res.append((len(list(model.parameters())), list(model.state_dict()), emb.weight.grad))
    assert res[0][:2] == res[1][:2]
    close(res[1][2], res[0][2], tol=1e-5)


def test_gradient_accumulation_over_microbatches_matches_full_batch():
    torch.manual_seed(0)
    tl = tnn.Linear(3, 2)
    al = nn.Linear(3, 2)
    _copy(tl, al)
    X = np.random.RandomState(0).randn(8, 3).astype(np.float32)
    for lib, m in ((torch, tl), (ad, al)):
        for i in range(4):
            (m(lib.tensor(X[2 * i:2 * i + 2])).pow(2).mean() / 4).backward()
    close(al.weight.grad, tl.weight.grad, tol=1e-5)


def test_non_persistent_buffer_is_not_saved():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("a", ad.ones(2), persistent=False)
            self.register_buffer("b", ad.ones(2))
    m = M()
    assert list(m.state_dict()) == ["b"] and [k for k, _ in m.named_buffers()] == ["a", "b"]


def test_where_unselected_nan_branch_does_not_poison_gradient():
    # Deliberate difference from PyTorch (DESIGN.md): torch.where gives grad nan here.
    x = ad.tensor([-1., 4.], requires_grad=True)
    with np.errstate(invalid="ignore"):
        ad.where(x > 0, x.sqrt(), ad.zeros(2)).sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [0., 0.25])


def test_empty_batch_reductions_and_grads():
    x = ad.randn(0, 3, requires_grad=True)
    x.mean(dim=0).sum().backward()
    assert x.grad.shape == (0, 3)
    assert x.max(dim=1)[0].shape == (0,)
    assert (ad.randn(4, 0) @ ad.randn(0, 3)).tolist() == [[0.] * 3] * 4


def test_setitem_with_a_value_that_requires_grad_builds_the_graph():
    x = ad.tensor([1., 2., 3.], requires_grad=True)
    out = ad.zeros(2, 3)
    out[0] = x * 2
    out[1, :2] = x[:2] ** 2
    out.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [4., 6., 2.])


def test_data_inplace_update_with_tensor_grad():
    p = ad.tensor([1., 2.], requires_grad=True)
    (p * p).sum().backward()
    p.data -= 0.1 * p.grad
    np.testing.assert_allclose(p.data, [0.8, 1.6], rtol=1e-6)


def test_randint_high_size_form():
    r = ad.randint(10, (3,))
    assert r.shape == (3,) and r.dtype == np.int64 and 0 <= r.numpy().min() <= r.numpy().max() < 10


@pytest.mark.parametrize("padding_idx", [None, 1, -1])
@pytest.mark.parametrize("freeze", [True, False])
def test_embedding_from_pretrained_matches_torch(freeze, padding_idx):
    w = np.random.RandomState(0).randn(4, 3).astype(np.float32)
    idx = [[1, 2], [1, 3]]
    te = tnn.Embedding.from_pretrained(torch.tensor(w), freeze=freeze, padding_idx=padding_idx)
    ae = nn.Embedding.from_pretrained(ad.tensor(w), freeze=freeze, padding_idx=padding_idx)
    ot, oa = te(torch.tensor(idx)), ae(ad.tensor(idx))
    close(oa, ot)
    assert ae.weight.requires_grad == te.weight.requires_grad == (not freeze)
    if not freeze:
        (ot ** 2).sum().backward()
        (oa ** 2).sum().backward()
        close(ae.weight.grad, te.weight.grad)


def test_embedding_padding_row_is_returned_as_stored_but_gets_no_gradient():
    # F.embedding used to zero the padding row's OUTPUT; PyTorch returns it and only blocks
    # its gradient (it matters for pretrained tables and loaded state dicts).
    res = []
    for lib, f in ((torch, TF), (ad, F)):
        w = lib.tensor(np.arange(8.).reshape(4, 2), requires_grad=True)
        out = f.embedding(lib.tensor([0, 1, 1, 3]), w, padding_idx=1)
        g, = (torch.autograd.grad if lib is torch else ad.grad)((out ** 3).sum(), w,
                                                                 create_graph=True)
        (g ** 2).sum().backward()
        res.append((out, g, w.grad))
    for a, t in zip(res[1], res[0]):
        close(a, t)


# ---------------------------------------------------------------- autograd API extras, losses

@pytest.mark.filterwarnings("ignore:Using backward.. with create_graph=True:UserWarning")
def test_autograd_api_extras_match_torch():
    res = []
    for lib in (torch, ad):
        grad = torch.autograd.grad if lib is torch else ad.grad
        x = lib.tensor([1., 2.], requires_grad=True)
        g_out, = grad(x ** 2, x, grad_outputs=lib.tensor([1., 10.]))
        g_list, = grad([x.sum(), (x ** 2).sum()], [x])
        y = x * 3
        y.register_hook(lambda g: g * 0 + 1)    # a hook's return value replaces the gradient
        (y * y).sum().backward()
        hooked = x.grad
        w = lib.tensor([1., 2.], requires_grad=True)
        (w ** 3).sum().backward(create_graph=True)
        g = w.grad
        w.grad = None
        g.sum().backward()
        res.append((g_out, g_list, hooked, w.grad))
    for a, t in zip(res[1], res[0]):
        close(a, t)
    x = ad.tensor([1., 2.], requires_grad=True)
    w = ad.tensor([3., 4.], requires_grad=True)
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None and w.grad.tolist() == [1., 2.]


@pytest.mark.parametrize("name", ["jacobian", "hessian", "vjp", "hvp"])
def test_functional_create_graph_connects_to_inputs(name):
    res = []
    for lib, mod in ((torch, torch.autograd.functional), (ad, ad.functional)):
        x = lib.tensor([1., 2.], requires_grad=True)
        v = lib.tensor([1., 1.])
        if name == "jacobian":
            r = mod.jacobian(lambda t: t ** 3, x, create_graph=True)
        elif name == "hessian":
            r = mod.hessian(lambda t: (t ** 4).sum(), x, create_graph=True)
        elif name == "vjp":
            r = mod.vjp(lambda t: t ** 3, x, v, create_graph=True)[1]
        else:
            r = mod.hvp(lambda t: (t ** 4).sum(), x, v, create_graph=True)[1]
        r.sum().backward()
        res.append(x.grad)
    assert res[1] is not None
    close(res[1], res[0])


CE_LOGITS = R.randn(5, 3)
CE_IGNORED = np.array([0, 2, -100, 1, 2])


@pytest.mark.parametrize("kw", [
    {"label_smoothing": 0.2},
    {"label_smoothing": 0.2, "weight": np.array([1., 2., 3.])},
    {"label_smoothing": 0.2, "weight": np.array([1., 2., 3.]), "reduction": "none"},
    {"label_smoothing": 0.2, "weight": np.array([1., 2., 3.]), "reduction": "sum"},
], ids=["ls", "ls+weight", "ls+weight-none", "ls+weight-sum"])
def test_cross_entropy_ignore_index_with_smoothing_and_weight_matches_torch(kw):
    def fn(lib, x):
        kw2 = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        return (TF if lib is torch else F).cross_entropy(x, lib.tensor(CE_IGNORED), **kw2)
    both(fn, CE_LOGITS)


@pytest.mark.parametrize("fn,args", [
    (lambda f, a, w: f.conv1d(a, w, stride=2, padding=1), (R.randn(2, 3, 9), R.randn(4, 3, 3))),
    (lambda f, a, w: f.conv2d(a, w, groups=2), (R.randn(1, 4, 5, 5), R.randn(4, 2, 3, 3))),
    (lambda f, a, w: f.conv2d(a, w, dilation=2, padding="same"),
     (R.randn(1, 2, 7, 7), R.randn(3, 2, 3, 3))),
    (lambda f, a, w: f.conv2d(a.transpose(2, 3), w), (R.randn(1, 2, 5, 6), R.randn(3, 2, 3, 3))),
    (lambda f, a: f.avg_pool2d(a, 3, stride=2, padding=1), (R.randn(1, 2, 5, 5),)),
    (lambda f, a: f.adaptive_avg_pool2d(a, 3), (R.randn(1, 2, 5, 7),)),
    (lambda f, a: f.softplus(a), (np.array([-50., 0., 19.9, 20.1, 50.]),)),
    (lambda f, a: f.gelu(a) + f.elu(a) + f.silu(a), (np.array([-1000., -5., 0., 5., 50.]),)),
], ids=["conv1d", "conv2d-groups", "conv2d-dilation-same", "conv2d-transposed-input",
        "avg_pool-pad", "adaptive-uneven", "softplus-threshold", "activations-extreme"])
def test_functional_ops_match_torch(fn, args):
    both(lambda m, *xs: fn(TF if m is torch else F, *xs), *args)


def _causal_attention(m, q, k, v):
    s = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
    s = s.masked_fill(m.tensor(np.triu(np.ones((4, 4), dtype=bool), 1)), float("-inf"))
    return s.softmax(dim=-1) @ v


def _multihead_reshape(m, x, W):
    B, T, C = x.shape
    qkv = (x @ W).reshape(B, T, 3, 2, C // 2).permute(2, 0, 3, 1, 4)
    a = (qkv[0] @ qkv[1].transpose(-2, -1)).softmax(-1) @ qkv[2]
    return a.transpose(1, 2).reshape(B, T, C)


def _vae_loss(m, mu, logvar, eps):
    z = mu + eps * (0.5 * logvar).exp()
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1).mean() + z.pow(2).mean()


def _clip_loss(m, a, b):
    f = TF if m is torch else F
    a, b = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    logits, labels = a @ b.T / 0.1, m.arange(a.shape[0])
    return (f.cross_entropy(logits, labels) + f.cross_entropy(logits.T, labels)) / 2


def _dqn_td(m, q, qn):
    target = 0.5 + 0.9 * qn.max(dim=1)[0].detach()
    return (TF if m is torch else F).smooth_l1_loss(
        q.gather(1, m.tensor([[0], [1], [0]])).squeeze(), target)


def _masks_and_ints(m, w):
    counts, mask = m.tensor([1, 2, 3, 1, 2]), w > 0
    return ((w * counts).sum() + (counts / 2 * w).sum() + w[counts - 1].sum() +
            (w * mask).sum() + w[~mask].sum() + (w * m.tensor(0.1) + m.tensor(0.1) ** 2).sum())


@pytest.mark.parametrize("fn,shapes", [
    (_causal_attention, [(2, 4, 8)] * 3),
    (_multihead_reshape, [(2, 3, 4), (4, 12)]),
    (lambda m, x, W: (lambda q, k, v: (q * k).sum(-1, keepdim=True) * v)(*(x @ W).chunk(3, -1)),
     [(2, 3, 4), (4, 12)]),
    (_vae_loss, [(4, 2)] * 3),
    (_clip_loss, [(4, 3), (4, 3)]),
    (lambda m, l: l.log_softmax(-1).gather(1, m.tensor([0, 2, 1, 1]).unsqueeze(1)).squeeze(1),
     [(4, 3)]),
    (_dqn_td, [(3, 2), (3, 2)]),
    (lambda m, x: (-(x.unsqueeze(1) - x.unsqueeze(0)).pow(2).sum(-1)).exp().sum(1), [(5, 3)]),
    (lambda m, f: f.view(2, 3, 16) @ f.view(2, 3, 16).transpose(1, 2) / 48, [(2, 3, 4, 4)]),
    (lambda m, x: x[m.arange(2).unsqueeze(1), m.tensor([[0, 1], [2, 0]])], [(2, 3, 4)]),
    (lambda m, x, W, y: m.einsum("bi,oij,bj->bo", x, W, y), [(2, 3), (4, 3, 5), (2, 5)]),
    (_masks_and_ints, [(5,)]),
], ids=["causal-attention", "multihead-reshape", "chunk-qkv", "vae", "clip-loss",
        "policy-gather", "dqn-td", "pairwise-rbf", "gram-matrix", "batched-fancy-index",
        "einsum-bilinear", "int-and-bool-tensors"])
def test_student_programs_match_torch(fn, shapes):
    rs = np.random.RandomState(7)
    both(fn, *[rs.randn(*s) for s in shapes])


def test_prod_of_int_tensor_stays_int():
    out = ad.tensor([3, 4]).prod()
    assert out.dtype == np.int64 and out.item() == 12


def test_clamp_int_tensor_with_float_bound_gives_default_dtype():
    out = ad.tensor([1, 2]).clamp(min=1.5)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.detach().numpy(), [1.5, 2.0])


@pytest.mark.parametrize("opt", [
    lambda o, ps: o.SGD(ps, lr=0.1, momentum=0.9),
    lambda o, ps: o.Adam(ps, lr=0.1),
    lambda o, ps: o.RMSprop(ps, lr=0.01, momentum=0.5),
], ids=["sgd-momentum", "adam", "rmsprop-momentum"])
def test_manual_lr_edits_and_intermittent_grads_match_torch(opt):
    # `for g in opt.param_groups: g["lr"] *= 0.5`, and a parameter that gets no gradient every
    # other step (its grad is None after zero_grad, so it must be skipped, state untouched)
    res = []
    for optim, lib in ((torch.optim, torch), (nn.optim, ad)):
        p = lib.tensor([1., 2.], requires_grad=True)
        q = lib.tensor([3.], requires_grad=True)
        o = opt(optim, [p, q])
        for i in range(6):
            o.zero_grad()
            loss = (p ** 2).sum() + ((q ** 2).sum() if i % 2 == 0 else 0)
            loss.backward()
            o.step()
            for g in o.param_groups:
                g["lr"] *= 0.5
        res.append((p, q))
    close(res[1][0], res[0][0])
    close(res[1][1], res[0][1])


def test_factories_accept_device_cpu():
    x = ad.ones(2)
    assert ad.zeros(3, device=x.device).shape == (3,)
    assert ad.tensor([1.], device="cpu").shape == (1,)
    assert ad.randn(2, device="cpu").shape == (2,)
    assert ad.arange(3, device="cpu").shape == (3,)
    assert not ad.cuda.is_available() and str(ad.device("cpu")) == "cpu"
