"""nn.optim: each optimizer vs PyTorch over 25 steps, closed forms, groups, state_dict, errors."""
import math

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import optim

from _torch import to_numpy, to_torch

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.02, initial_accumulator_value=0.3,
                     eps=1e-6)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.01, momentum=0.5)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.005, alpha=0.95, eps=1e-6, centered=True, momentum=0.9,
                     weight_decay=0.1)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
]


def _problem(seed=0, dtype=np.float64):
    """Initial arrays (W, b) and data (X, Y) of a small nonconvex regression."""
    r = np.random.default_rng(seed)
    return [r.normal(size=(4, 3)).astype(dtype), r.normal(size=3).astype(dtype)], \
        r.normal(size=(8, 4)).astype(dtype), r.normal(size=(8, 3)).astype(dtype)


def _ad_loss(params, X, Y):
    W, b = params
    out = ad.tanh(ad.tensor(X) @ W + b)
    return ((out - ad.tensor(Y)) ** 2).mean() + 0.1 * (W ** 4).sum()


def _torch_loss(torch, params, X, Y):
    W, b = params
    out = torch.tanh(torch.tensor(X) @ W + b)
    return ((out - torch.tensor(Y)) ** 2).mean() + 0.1 * (W ** 4).sum()


def _run_ad(name, kwargs, init, X, Y, steps, groups=None):
    params = [ad.tensor(a.copy(), requires_grad=True) for a in init]
    spec = params if groups is None else [dict(g, params=[params[i]]) for i, g in
                                          enumerate(groups)]
    opt = getattr(optim, name)(spec, **kwargs)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        _ad_loss(params, X, Y).backward()
        opt.step()
        history.append([p.data.copy() for p in params])
    return history


def _run_torch(torch, name, kwargs, init, X, Y, steps, groups=None):
    params = [to_torch(a, requires_grad=True) for a in init]
    spec = params if groups is None else [dict(g, params=[params[i]]) for i, g in
                                          enumerate(groups)]
    opt = getattr(torch.optim, name)(spec, **kwargs)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        _torch_loss(torch, params, X, Y).backward()
        opt.step()
        history.append([to_numpy(p).copy() for p in params])
    return history


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=lambda c: str(c))
def test_matches_torch_25_steps(torch, name, kwargs):
    init, X, Y = _problem()
    ours = _run_ad(name, kwargs, init, X, Y, 25)
    theirs = _run_torch(torch, name, kwargs, init, X, Y, 25)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for pa, pb in zip(a, b):
            np.testing.assert_allclose(pa, pb, rtol=1e-9, atol=1e-11, err_msg=f"step {step + 1}")
    assert not np.allclose(ours[-1][0], init[0])  # it did move


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"])
def test_float32_matches_torch(torch, name):
    init, X, Y = _problem(1, np.float32)
    kwargs = dict(lr=0.01, weight_decay=0.01) | ({"momentum": 0.9} if name == "SGD" else {})
    ours = _run_ad(name, kwargs, init, X, Y, 25)
    theirs = _run_torch(torch, name, kwargs, init, X, Y, 25)
    assert ours[-1][0].dtype == np.float32
    for pa, pb in zip(ours[-1], theirs[-1]):
        np.testing.assert_allclose(pa, pb, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name,kwargs,groups", [
    ("SGD", dict(lr=0.1, momentum=0.9), [dict(lr=0.01), dict(momentum=0.0, weight_decay=0.1)]),
    ("Adam", dict(lr=0.05), [dict(betas=(0.5, 0.9)), dict(lr=0.01, amsgrad=True)]),
    ("RMSprop", dict(lr=0.01), [dict(centered=True), dict(momentum=0.9)]),
])
def test_param_groups_match_torch(torch, name, kwargs, groups):
    init, X, Y = _problem(2)
    ours = _run_ad(name, kwargs, init, X, Y, 25, groups)
    theirs = _run_torch(torch, name, kwargs, init, X, Y, 25, groups)
    for pa, pb in zip(ours[-1], theirs[-1]):
        np.testing.assert_allclose(pa, pb, rtol=1e-9, atol=1e-11)


def test_groups_take_defaults_and_own_options():
    a, b = ad.zeros(2, requires_grad=True), ad.zeros(3, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert all(g["momentum"] == 0.9 for g in opt.param_groups)
    c = ad.zeros(1, requires_grad=True)
    opt.add_param_group({"params": [c], "momentum": 0.0})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.0


# --- closed forms (no torch) ------------------------------------------------------------

def test_sgd_momentum_two_steps_by_hand():
    p = ad.tensor([1.0, -2.0], dtype=ad.float64, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    g1, g2 = np.array([0.5, -1.0]), np.array([2.0, 3.0])
    p.grad = ad.tensor(g1)
    opt.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.1 * 0.5, -2.0 + 0.1 * 1.0])  # buffer = g1
    p.grad = ad.tensor(g2)
    opt.step()
    b2 = 0.9 * g1 + g2
    np.testing.assert_allclose(p.data, np.array([1.0, -2.0]) - 0.1 * g1 - 0.1 * b2)
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"].data, b2)


def test_sgd_nesterov_and_weight_decay_by_hand():
    p = ad.tensor([2.0], dtype=ad.float64, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.1)
    p.grad = ad.tensor([1.0], dtype=ad.float64)
    opt.step()
    g = 1.0 + 0.1 * 2.0
    np.testing.assert_allclose(p.data, [2.0 - 0.1 * (g + 0.5 * g)])


@pytest.mark.parametrize("g", [[1e-3, -5.0, 40.0], [-2.0, 0.3, 7.0]])
def test_adam_first_step_is_lr_in_magnitude(g):
    p = ad.tensor([1.0, 2.0, 3.0], dtype=ad.float64, requires_grad=True)
    opt = optim.Adam([p], lr=0.01)
    p.grad = ad.tensor(g, dtype=ad.float64)
    opt.step()
    np.testing.assert_allclose(np.array([1.0, 2.0, 3.0]) - p.data, 0.01 * np.sign(g), rtol=1e-4)


def test_adamw_decay_is_decoupled():
    p = ad.tensor([3.0], dtype=ad.float64, requires_grad=True)
    opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    p.grad = ad.tensor([0.0], dtype=ad.float64)  # zero gradient: only the decay acts
    opt.step()
    np.testing.assert_allclose(p.data, [3.0 * (1 - 0.1 * 0.5)])


def test_adagrad_first_step_by_hand():
    p = ad.tensor([1.0, 1.0], dtype=ad.float64, requires_grad=True)
    opt = optim.Adagrad([p], lr=0.5, initial_accumulator_value=1.0)
    p.grad = ad.tensor([3.0, -1.0], dtype=ad.float64)
    opt.step()
    np.testing.assert_allclose(p.data, [1 - 0.5 * 3 / (math.sqrt(10) + 1e-10),
                                        1 + 0.5 * 1 / (math.sqrt(2) + 1e-10)])


def test_rmsprop_first_step_by_hand():
    p = ad.tensor([0.0], dtype=ad.float64, requires_grad=True)
    opt = optim.RMSprop([p], lr=0.01, alpha=0.99)
    p.grad = ad.tensor([2.0], dtype=ad.float64)
    opt.step()
    np.testing.assert_allclose(p.data, [-0.01 * 2.0 / (math.sqrt(0.01 * 4.0) + 1e-8)])


def test_minimizes_a_quadratic():
    target = np.array([1.0, -2.0, 0.5])
    for name, kw in [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.1)),
                     ("RMSprop", dict(lr=0.01)), ("Adagrad", dict(lr=0.5)),
                     ("AdamW", dict(lr=0.1, weight_decay=0.0))]:
        p = ad.zeros(3, dtype=ad.float64, requires_grad=True)
        opt = getattr(optim, name)([p], **kw)
        for _ in range(300):
            opt.zero_grad()
            ((p - ad.tensor(target)) ** 2).sum().backward()
            opt.step()
        np.testing.assert_allclose(p.data, target, atol=2e-2, err_msg=name)


# --- mechanics ------------------------------------------------------------------------

@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=lambda c: str(c))
def test_state_dict_resume_equals_uninterrupted(name, kwargs):
    init, X, Y = _problem(3)
    straight = _run_ad(name, kwargs, init, X, Y, 25)[-1]

    params = [ad.tensor(a.copy(), requires_grad=True) for a in init]
    opt = getattr(optim, name)(params, **kwargs)
    for _ in range(10):
        opt.zero_grad()
        _ad_loss(params, X, Y).backward()
        opt.step()
    saved, saved_params = opt.state_dict(), [p.data.copy() for p in params]
    opt.step()  # later steps must not leak into the snapshot
    resumed = [ad.tensor(a, requires_grad=True) for a in saved_params]
    opt2 = getattr(optim, name)(resumed, lr=123.0)  # options come from the state dict
    opt2.load_state_dict(saved)
    for _ in range(15):
        opt2.zero_grad()
        _ad_loss(resumed, X, Y).backward()
        opt2.step()
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a, b.data)


def test_state_dict_layout_is_pytorchs():
    a, b = ad.zeros(2, requires_grad=True), ad.zeros(3, requires_grad=True)
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.1}])
    b.grad = ad.ones(3)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert list(sd["state"]) == [1]  # a had no grad: no state
    assert sd["state"][1]["step"] == 1
    assert set(sd["state"][1]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["param_groups"][1]["lr"] == 0.1 and sd["param_groups"][0]["betas"] == (0.9, 0.999)


def test_load_state_dict_mismatch_errors():
    a, b = ad.zeros(2, requires_grad=True), ad.zeros(3, requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = ad.ones(2), ad.ones(3)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="2 parameters in the state dict but 1"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="1 parameter group"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="shape"):
        optim.SGD([b, a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"foo": 1})


def test_params_without_grad_are_skipped():
    a, b = ad.ones(2, requires_grad=True), ad.ones(2, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1, weight_decay=0.1)
    a.grad = ad.ones(2)
    opt.step()
    np.testing.assert_array_equal(b.data, [1.0, 1.0])
    assert b not in opt.state and a in opt.state


def test_params_keep_identity_and_stay_leaves():
    p = ad.ones(3, requires_grad=True)
    data = p.data
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    assert p.data is data and p.is_leaf and p.requires_grad and p.grad_fn is None


def test_zero_grad():
    p = ad.ones(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * 3).sum().backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and np.all(grad.data == 0)
    opt.zero_grad()
    assert p.grad is None


def test_step_with_closure_returns_loss():
    p = ad.tensor([2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with ad.no_grad():  # the closure still records: step re-enables grad for it
        loss = opt.step(closure)
    assert float(loss) == 4.0 and p.data[0] == 1.0


# --- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("make,match", [
    (lambda p: optim.SGD(p, lr=-0.1), "lr"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-1), "momentum"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "beta parameter at index 0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "beta parameter at index 1"),
    (lambda p: optim.AdamW(p, eps=-1e-8), "eps"),
    (lambda p: optim.Adam(p, weight_decay=-1), "weight_decay"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "lr_decay"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), "alpha"),
    (lambda p: optim.Adam(p, lr=float("nan")), "lr"),
])
def test_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make([ad.zeros(2, requires_grad=True)])


def test_bad_hyperparameter_in_a_group():
    with pytest.raises(ValueError, match="lr"):
        optim.Adam([{"params": [ad.zeros(1, requires_grad=True)], "lr": -1.0}])


def test_bad_params():
    p = ad.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="appears twice"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="single Tensor"):
        optim.Adam(p)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.Adam([np.zeros(2)])
    with pytest.raises(TypeError, match="set"):
        optim.Adam([{"params": {p}}])


def test_backward_through_a_graph_recorded_before_a_step_raises():
    # PyTorch raises here too: the input's gradient would read the updated weight (with an
    # input that needs no gradient, nothing reads the weight and both libraries go on)
    layer = nn.Linear(3, 2)
    opt = nn.optim.SGD(layer.parameters(), lr=0.1)
    x = ad.ones(4, 3, requires_grad=True)
    loss = layer(x).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=r"input 1 of LinearBackward, is at version 2; "
                                           r"expected version 1"):  # (1: initialised)
        loss.backward()
    opt.zero_grad()
    layer(ad.ones(4, 3)).sum().backward()  # a graph recorded after the step is fine
    assert layer.weight.grad is not None
