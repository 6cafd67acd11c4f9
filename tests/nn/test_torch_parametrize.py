"""nn.utils against PyTorch: the parametrize mechanism, weight_norm and spectral_norm (both
generations), pruning, BatchNorm fusion, functional_call, gradient clipping and flat vectors.
Models start from the same state_dict; outputs and gradients are compared in float64."""
import copy
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.utils.parametrize as P
import nn.utils.prune as prune

from _torch import assert_close, require_torch, to_numpy

torch = require_torch()
TP = torch.nn.utils.parametrize
import torch.nn.utils.prune as TPR  # noqa: E402


def NN(lib):
    return torch.nn if lib is torch else nn


def lib_utils(lib):
    return torch.nn.utils if lib is torch else nn.utils


def load(ours, theirs):
    ours.load_state_dict(OrderedDict((k, to_numpy(v)) for k, v in theirs.state_dict().items()))


def same_repr(ours, theirs):
    assert repr(ours) == repr(theirs), f"\nours:\n{ours!r}\ntorch:\n{theirs!r}"


def raises_like(fn_ours, fn_theirs):
    with pytest.raises(Exception) as theirs:
        fn_theirs()
    with pytest.raises(theirs.type) as ours:
        fn_ours()
    return str(ours.value)


def step_both(ours, theirs, x, steps=2, tol=1e-12):
    """`steps` forward/backward passes (the modules' state, e.g. power iteration, advancing),
    comparing outputs, parameter gradients and buffers each time."""
    for _ in range(steps):
        ya, yt = ours(ad.tensor(x)), theirs(torch.tensor(x))
        assert_close(ya, yt, tol=tol)
        (ya * ya).sum().backward()
        (yt * yt).sum().backward()
        for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert_close(p.grad, q.grad, tol=tol, err_msg=n)
        for (n, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers()):
            assert_close(b, c, tol=tol, err_msg=n)


def make_param(lib, kind):
    n = NN(lib)

    class Symmetric(n.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()

    class Scale(n.Module):
        def __init__(self):
            super().__init__()
            self.s = n.Parameter(lib.tensor(2.0, dtype=lib.float64))

        def forward(self, X):
            return X * self.s

    class RankOne(n.Module):
        def forward(self, x, y):
            return x.unsqueeze(-1) @ y.unsqueeze(-2)

        def right_inverse(self, Z):
            return Z[:, 0].clone(), Z[0, :].clone()
    class Transpose(n.Module):
        def forward(self, X):
            return X.transpose(0, 1)
    return {"sym": Symmetric, "scale": Scale, "rank1": RankOne, "T": Transpose}[kind]()


# --- the parametrize mechanism -----------------------------------------------------------------

def parametrized(lib):
    m = NN(lib).Linear(3, 3).double()
    utils = TP if lib is torch else P
    utils.register_parametrization(m, "weight", make_param(lib, "sym"))
    utils.register_parametrization(m, "weight", make_param(lib, "scale"))
    utils.register_parametrization(m, "bias", make_param(lib, "scale"))
    return m


def test_register_parametrization_as_torch():
    ours, theirs = parametrized(ad), parametrized(torch)
    same_repr(ours, theirs)
    assert type(ours).__name__ == "ParametrizedLinear" and isinstance(ours, nn.Linear)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    load(ours, theirs)
    x = np.random.default_rng(0).standard_normal((4, 3))
    step_both(ours, theirs, x)
    w = ours.weight.detach().numpy()
    np.testing.assert_allclose(w, w.T)
    assert P.is_parametrized(ours) and P.is_parametrized(ours, "bias")
    assert not P.is_parametrized(ours, "nope") and not P.is_parametrized(nn.Linear(1, 1))
    assert P.type_before_parametrizations(ours) is nn.Linear


def test_assignment_goes_through_right_inverse_and_cached_reuses_the_value():
    m = nn.Linear(3, 3).double()
    P.register_parametrization(m, "weight", make_param(ad, "sym"))
    orig = m.parametrizations.weight.original
    a = np.arange(9.0).reshape(3, 3)
    m.weight = ad.tensor(a + a.T)
    assert m.parametrizations.weight.original is orig  # the same Parameter, new values
    np.testing.assert_allclose(m.weight.detach().numpy(), a + a.T)
    assert m.weight is not m.weight
    with P.cached():
        w = m.weight
        assert m.weight is w
    assert m.weight is not w


def test_remove_parametrizations_as_torch():
    for leave in (True, False):
        ours, theirs = parametrized(ad), parametrized(torch)
        load(ours, theirs)
        for name in ("weight", "bias"):
            P.remove_parametrizations(ours, name, leave_parametrized=leave)
            TP.remove_parametrizations(theirs, name, leave_parametrized=leave)
        assert type(ours) is nn.Linear and not hasattr(ours, "parametrizations")
        same_repr(ours, theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
        for (k, a), (_, t) in zip(ours.state_dict().items(), theirs.state_dict().items()):
            assert_close(a, t, tol=1e-12, err_msg=k)
    raises_like(lambda: P.remove_parametrizations(nn.Linear(1, 1), "weight"),
                lambda: TP.remove_parametrizations(torch.nn.Linear(1, 1), "weight"))


def test_several_originals_and_errors_as_torch():
    ours, theirs = nn.Linear(3, 4).double(), torch.nn.Linear(3, 4).double()
    P.register_parametrization(ours, "weight", make_param(ad, "rank1"), unsafe=True)
    TP.register_parametrization(theirs, "weight", make_param(torch, "rank1"), unsafe=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    load(ours, theirs)
    step_both(ours, theirs, np.random.default_rng(1).standard_normal((2, 3)))
    raises_like(lambda: P.remove_parametrizations(ours, "weight", leave_parametrized=False),
                lambda: TP.remove_parametrizations(theirs, "weight", leave_parametrized=False))
    P.remove_parametrizations(ours, "weight")
    assert type(ours) is nn.Linear and ours.weight.shape == (4, 3)
    for kind in ("T",):  # changes the shape without unsafe
        raises_like(lambda: P.register_parametrization(nn.Linear(3, 4), "weight",
                                                       make_param(ad, kind)),
                    lambda: TP.register_parametrization(torch.nn.Linear(3, 4), "weight",
                                                        make_param(torch, kind)))
    raises_like(lambda: P.register_parametrization(nn.Linear(3, 4), "nope", make_param(ad, "sym")),
                lambda: TP.register_parametrization(torch.nn.Linear(3, 4), "nope",
                                                    make_param(torch, "sym")))


def test_parametrized_module_copies_and_refuses_pickle():
    m = parametrized(ad)
    c = copy.deepcopy(m)
    assert type(c) is type(m) and c.parametrizations.weight.original is not \
        m.parametrizations.weight.original
    np.testing.assert_array_equal(c.weight.detach().numpy(), m.weight.detach().numpy())
    import pickle
    with pytest.raises(RuntimeError, match="state_dict"):
        pickle.dumps(m)


def test_transfer_parametrizations():
    src = parametrized(ad)
    dst = nn.Linear(3, 3).double()
    P.transfer_parametrizations_and_params(src, dst)
    assert dst.parametrizations.weight.original is src.parametrizations.weight.original
    np.testing.assert_array_equal(dst.weight.detach().numpy(), src.weight.detach().numpy())


# --- weight_norm and spectral_norm -------------------------------------------------------------

NORMS = [
    ("parametrizations.weight_norm", lambda lib: NN(lib).Linear(3, 4), {}, (5, 3)),
    ("parametrizations.weight_norm", lambda lib: NN(lib).Linear(3, 4), {"dim": None}, (5, 3)),
    ("parametrizations.weight_norm", lambda lib: NN(lib).Conv2d(2, 3, 2), {"dim": 1},
     (1, 2, 3, 3)),
    ("parametrizations.spectral_norm", lambda lib: NN(lib).Linear(3, 4), {}, (5, 3)),
    ("parametrizations.spectral_norm", lambda lib: NN(lib).Conv2d(2, 3, 2),
     {"n_power_iterations": 3, "dim": 1, "eps": 1e-6}, (1, 2, 3, 3)),
    ("parametrizations.spectral_norm", lambda lib: NN(lib).ConvTranspose2d(2, 3, 2), {},
     (1, 2, 3, 3)),
    ("parametrizations.spectral_norm", lambda lib: NN(lib).PReLU(3), {}, (2, 3)),  # 1-D weight
    ("weight_norm", lambda lib: NN(lib).Linear(3, 4), {}, (5, 3)),
    ("weight_norm", lambda lib: NN(lib).Conv1d(2, 3, 2), {"dim": None}, (1, 2, 4)),
    ("spectral_norm", lambda lib: NN(lib).Linear(3, 4), {"n_power_iterations": 2}, (5, 3)),
    ("spectral_norm", lambda lib: NN(lib).ConvTranspose1d(2, 3, 2), {}, (1, 2, 4)),
]


def apply_norm(lib, path, make, kwargs):
    fn = lib_utils(lib)
    for part in path.split("."):
        fn = getattr(fn, part)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return fn(make(lib).double(), **kwargs)


@pytest.mark.parametrize("path,make,kwargs,shape", NORMS,
                         ids=[f"{p}-{i}" for i, (p, *_) in enumerate(NORMS)])
def test_weight_and_spectral_norm_as_torch(path, make, kwargs, shape):
    ours, theirs = apply_norm(ad, path, make, kwargs), apply_norm(torch, path, make, kwargs)
    same_repr(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, a), (_, t) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert tuple(a.shape) == tuple(t.shape), k
    load(ours, theirs)  # spectral norm: the same u and v
    x = np.random.default_rng(0).standard_normal(shape)
    step_both(ours, theirs, x)  # training mode: u, v advance
    ours.eval(), theirs.eval()
    step_both(ours, theirs, x, steps=1)


def test_spectral_norm_estimates_the_largest_singular_value():
    m = nn.utils.parametrizations.spectral_norm(nn.Linear(5, 4).double())
    for _ in range(30):
        w = m.weight
    assert abs(np.linalg.svd(w.detach().numpy(), compute_uv=False)[0] - 1.0) < 1e-6


def test_old_style_norms_remove_and_warn_as_torch():
    for name, remove in (("weight_norm", "remove_weight_norm"),
                         ("spectral_norm", "remove_spectral_norm")):
        ours, theirs = (apply_norm(lib, name, lambda lib: NN(lib).Linear(3, 2), {})
                        for lib in (ad, torch))
        load(ours, theirs)
        ours(ad.ones(1, 3, dtype=ad.float64)), theirs(torch.ones(1, 3, dtype=torch.float64))
        getattr(nn.utils, remove)(ours)
        getattr(torch.nn.utils, remove)(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for (k, a), (_, t) in zip(ours.state_dict().items(), theirs.state_dict().items()):
            assert_close(a, t, tol=1e-12, err_msg=k)
        assert not ours._forward_pre_hooks and isinstance(ours.weight, nn.Parameter)
        raises_like(lambda: getattr(nn.utils, remove)(ours),
                    lambda: getattr(torch.nn.utils, remove)(theirs))
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        nn.utils.weight_norm(nn.Linear(2, 2))
    m = nn.utils.spectral_norm(nn.Linear(2, 2))
    raises_like(lambda: nn.utils.spectral_norm(m),
                lambda: torch.nn.utils.spectral_norm(torch.nn.utils.spectral_norm(
                    torch.nn.Linear(2, 2))))


def test_old_weight_norm_state_dict_loads_into_the_parametrization():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = nn.utils.weight_norm(nn.Linear(3, 2))
    new = nn.utils.parametrizations.weight_norm(nn.Linear(3, 2))
    new.load_state_dict(old.state_dict())
    x = ad.randn(4, 3)
    np.testing.assert_allclose(new(x).detach().numpy(), old(x).detach().numpy(), rtol=1e-6)


def test_spectral_norm_errors_as_torch():
    raises_like(lambda: nn.utils.parametrizations.spectral_norm(nn.Linear(2, 2), dim=3),
                lambda: torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(2, 2),
                                                                      dim=3))
    raises_like(lambda: nn.utils.parametrizations.spectral_norm(nn.Linear(2, 2),
                                                                n_power_iterations=0),
                lambda: torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(2, 2),
                                                                      n_power_iterations=0))
    raises_like(lambda: nn.utils.parametrizations.spectral_norm(nn.ReLU()),
                lambda: torch.nn.utils.parametrizations.spectral_norm(torch.nn.ReLU()))


# --- pruning -----------------------------------------------------------------------------------

def distinct_linear(lib, out=4, inp=5):
    m = NN(lib).Linear(inp, out).double()
    rng = np.random.default_rng(7)  # distinct magnitudes: no ties for the L1 ranking
    vals = (rng.permutation(out * inp) + 1.0) * rng.choice([-1, 1], out * inp)
    vals = vals.reshape(out, inp)
    with (torch.no_grad() if lib is torch else ad.no_grad()):
        m.weight.copy_(lib.tensor(vals * 0.1, dtype=lib.float64))
        m.bias.copy_(lib.tensor(np.arange(out) - 1.5, dtype=lib.float64))
    return m


PRUNINGS = [
    [("l1_unstructured", ("weight",), {"amount": 0.3})],
    [("l1_unstructured", ("weight",), {"amount": 5}), ("l1_unstructured", ("weight",),
                                                       {"amount": 0.5})],
    [("ln_structured", ("weight",), {"amount": 1, "n": 2, "dim": 0})],
    [("ln_structured", ("weight",), {"amount": 0.4, "n": 1, "dim": 1}),
     ("l1_unstructured", ("weight",), {"amount": 3}),
     ("ln_structured", ("weight",), {"amount": 1, "n": float("inf"), "dim": 0})],
    [("l1_unstructured", ("bias",), {"amount": 2}), ("identity", ("weight",), {})],
]


@pytest.mark.parametrize("steps", PRUNINGS, ids=[str(i) for i in range(len(PRUNINGS))])
def test_pruning_as_torch(steps):
    ours, theirs = distinct_linear(ad), distinct_linear(torch)
    for name, args, kwargs in steps:
        getattr(prune, name)(ours, *args, **kwargs)
        getattr(TPR, name)(theirs, *args, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, a), (_, t) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert_close(a, t, tol=0, err_msg=k)
    x = np.random.default_rng(0).standard_normal((3, 5))
    step_both(ours, theirs, x, steps=1)
    assert prune.is_pruned(ours) and prune.is_pruned(nn.Sequential(ours))
    for name in {args[0] for _, args, _ in steps}:
        prune.remove(ours, name)
        TPR.remove(theirs, name)
    assert not prune.is_pruned(ours)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, a), (_, t) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert_close(a, t, tol=0, err_msg=k)


def test_global_unstructured_and_custom_mask_as_torch():
    models = {}
    for lib in (ad, torch):
        a, b = distinct_linear(lib, 3, 4), distinct_linear(lib, 2, 3)
        (prune if lib is ad else TPR).global_unstructured(
            [(a, "weight"), (b, "weight")],
            pruning_method=(prune if lib is ad else TPR).L1Unstructured, amount=0.4)
        (prune if lib is ad else TPR).custom_from_mask(b, "bias", lib.tensor([1.0, 0.0]))
        models[lib] = (a, b)
    for mo, mt in zip(models[ad], models[torch]):
        for (k, a), (_, t) in zip(mo.state_dict().items(), mt.state_dict().items()):
            assert_close(a, t, tol=0, err_msg=k)


def test_random_pruning_counts_and_errors():
    m = nn.Linear(10, 10)
    prune.random_unstructured(m, "weight", amount=0.25)
    assert int((m.weight_mask.data == 0).sum()) == 25
    assert int((m.weight.data == 0).sum()) >= 25
    prune.random_structured(m, "weight", amount=3, dim=0)
    rows = (m.weight_mask.data == 0).all(axis=1)
    assert int(rows.sum()) >= 3
    raises_like(lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=1.5),
                lambda: TPR.l1_unstructured(torch.nn.Linear(2, 2), "weight", amount=1.5))
    raises_like(lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=-1),
                lambda: TPR.l1_unstructured(torch.nn.Linear(2, 2), "weight", amount=-1))
    raises_like(lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount="a"),
                lambda: TPR.l1_unstructured(torch.nn.Linear(2, 2), "weight", amount="a"))
    raises_like(lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=5),
                lambda: TPR.l1_unstructured(torch.nn.Linear(2, 2), "weight", amount=5))
    raises_like(lambda: prune.ln_structured(nn.Linear(2, 2), "bias", amount=1, n=2, dim=0),
                lambda: TPR.ln_structured(torch.nn.Linear(2, 2), "bias", amount=1, n=2, dim=0))
    raises_like(lambda: prune.remove(nn.Linear(2, 2), "weight"),
                lambda: TPR.remove(torch.nn.Linear(2, 2), "weight"))
    failed, failed_t = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    raises_like(lambda: prune.l1_unstructured(failed, "weight", amount=5),
                lambda: TPR.l1_unstructured(failed_t, "weight", amount=5))
    assert list(failed.state_dict()) == list(failed_t.state_dict())  # weight put back


# --- fusion, functional_call, clipping, vectors ------------------------------------------------

def test_fuse_conv_and_linear_with_batchnorm_as_torch():
    rng = np.random.default_rng(0)
    for transpose, conv in ((False, "Conv2d"), (True, "ConvTranspose2d")):
        outs = {}
        for lib in (ad, torch):
            n = NN(lib)
            c, bn = getattr(n, conv)(2, 3, 2).double(), n.BatchNorm2d(3).double()
            outs[lib] = (c, bn)
        load(*outs[ad][:1], *outs[torch][:1])
        for lib in (ad, torch):
            with (torch.no_grad() if lib is torch else ad.no_grad()):
                bn = outs[lib][1]
                bn.running_mean.copy_(lib.tensor([0.1, -0.2, 0.3], dtype=lib.float64))
                bn.running_var.copy_(lib.tensor([1.5, 0.5, 2.0], dtype=lib.float64))
                bn.weight.copy_(lib.tensor([1.0, 2.0, -1.0], dtype=lib.float64))
            outs[lib][0].eval(), bn.eval()
        fused_o = nn.utils.fuse_conv_bn_eval(*outs[ad], transpose=transpose)
        fused_t = torch.nn.utils.fuse_conv_bn_eval(*outs[torch], transpose=transpose)
        x = rng.standard_normal((1, 2, 4, 4))
        assert_close(fused_o(ad.tensor(x)), fused_t(torch.tensor(x)), tol=1e-12)
        assert_close(fused_o(ad.tensor(x)), outs[ad][1](outs[ad][0](ad.tensor(x))), tol=1e-12)
    lin, bn = nn.Linear(3, 2).double().eval(), nn.BatchNorm1d(2).double().eval()
    with ad.no_grad():
        bn.running_var.fill_(4.0)
    fused = nn.utils.fuse_linear_bn_eval(lin, bn)
    x = ad.randn(5, 3, dtype=ad.float64)
    assert_close(fused(x), bn(lin(x)), tol=1e-12)
    with pytest.raises(AssertionError, match="eval"):
        nn.utils.fuse_linear_bn_eval(nn.Linear(3, 2), nn.BatchNorm1d(2))


def test_functional_call_as_torch():
    ours, theirs = nn.Linear(3, 2).double(), torch.nn.Linear(3, 2).double()
    load(ours, theirs)
    w = np.random.default_rng(0).standard_normal((2, 3))
    wa, wt = ad.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    x = np.ones((4, 3))
    with pytest.warns(FutureWarning):
        ya = nn.utils.stateless.functional_call(ours, {"weight": wa}, (ad.tensor(x),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yt = torch.nn.utils.stateless.functional_call(theirs, {"weight": wt}, (torch.tensor(x),))
        assert_close(ya, yt, tol=1e-12)
        ya.sum().backward()
        yt.sum().backward()
        assert_close(wa.grad, wt.grad, tol=1e-12)
        assert ours.weight.grad is None and isinstance(ours.weight, nn.Parameter)
        raises_like(lambda: nn.utils.stateless.functional_call(ours, {"nope": wa}, ad.ones(1, 3),
                                                               strict=True),
                    lambda: torch.nn.utils.stateless.functional_call(
                        theirs, {"nope": wt}, torch.ones(1, 3), strict=True))


def test_clip_grad_and_vectors_as_torch():
    def grads(lib):
        ps = [NN(lib).Parameter(lib.ones(3, dtype=lib.float64)),
              NN(lib).Parameter(lib.ones(2, dtype=lib.float64))]
        ps[0].grad = lib.tensor([3.0, -4.0, 1.0], dtype=lib.float64)
        ps[1].grad = lib.tensor([0.5, 2.0], dtype=lib.float64)
        return ps
    for norm_type in (2.0, 1.0, float("inf")):
        po, pt = grads(ad), grads(torch)
        assert_close(nn.utils.clip_grad_norm_(po, 1.5, norm_type),
                     torch.nn.utils.clip_grad_norm_(pt, 1.5, norm_type), check_dtype=False)
        for a, t in zip(po, pt):
            assert_close(a.grad, t.grad, tol=1e-12)
    po, pt = grads(ad), grads(torch)
    total_o = nn.utils.get_total_norm([p.grad for p in po])
    total_t = torch.nn.utils.get_total_norm([p.grad for p in pt])
    assert_close(total_o, total_t, tol=1e-12)
    nn.utils.clip_grads_with_norm_(po, 1.0, total_o)
    torch.nn.utils.clip_grads_with_norm_(pt, 1.0, total_t)
    for a, t in zip(po, pt):
        assert_close(a.grad, t.grad, tol=1e-12)
    nn.utils.clip_grad_value_(po, 0.1)
    torch.nn.utils.clip_grad_value_(pt, 0.1)
    for a, t in zip(po, pt):
        assert_close(a.grad, t.grad, tol=1e-12)
    assert_close(nn.utils.parameters_to_vector(po), torch.nn.utils.parameters_to_vector(pt))
    nn.utils.vector_to_parameters(ad.arange(5.0, dtype=ad.float64), po)
    torch.nn.utils.vector_to_parameters(torch.arange(5.0, dtype=torch.float64), pt)
    for a, t in zip(po, pt):
        assert_close(a, t)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        nn.utils.clip_grad_norm(po, 1.0)


def test_skip_init_leaves_the_random_state():
    ad.manual_seed(0)
    a = ad.rand(1)
    ad.manual_seed(0)
    m = nn.utils.skip_init(nn.Linear, 3, 2)
    assert m.weight.shape == (2, 3) and float(ad.rand(1)) == float(a)
    with pytest.raises(RuntimeError, match="device"):
        nn.utils.skip_init(nn.ReLU)
