"""nn.optim breadth vs torch.optim: every optimizer step by step over 25 steps with each option,
LBFGS (fixed step and strong Wolfe), state_dicts that cross between the libraries, swa_utils,
and PyTorch's errors for bad hyperparameters."""
import numpy as np
import pytest

import autodiff as ad
import nn
from nn import optim
from nn.optim import swa_utils

from _torch import convert_state, state_structure, require_torch, to_numpy

torch = require_torch()

CONFIGS = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5, maximize=True, foreach=False, capturable=False)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, betas=(0.3, 0.9), eps=1e-6, weight_decay=0.1)),
    ("Adamax", dict(lr=0.05, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, betas=(0.3, 0.9), momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.05)),  # rho_t <= 5 for the first 5 steps: the unrectified branch
    ("RAdam", dict(lr=0.05, betas=(0.6, 0.9), eps=1e-6, weight_decay=0.1)),
    ("RAdam", dict(lr=0.05, betas=(0.9, 0.95), weight_decay=0.2, decoupled_weight_decay=True,
                   maximize=True)),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, lambd=1e-2, alpha=0.5, t0=5, weight_decay=0.1)),  # averaging
    ("ASGD", dict(lr=0.05, t0=3, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.02, etas=(0.3, 1.5), step_sizes=(1e-3, 0.05))),
    ("Rprop", dict(lr=0.02, maximize=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adam", dict(lr=0.05, amsgrad=True, foreach=True, capturable=False)),
    ("AdamW", dict(lr=0.05, amsgrad=True, maximize=True, fused=False)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2, foreach=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, fused=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, foreach=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, foreach=True)),
]


def _problem(seed=0, dtype=np.float64):
    """Initial arrays (W, b) and data (X, Y) of a small nonconvex regression."""
    r = np.random.default_rng(seed)
    return [r.normal(size=(4, 3)).astype(dtype), r.normal(size=3).astype(dtype)], \
        r.normal(size=(8, 4)).astype(dtype), r.normal(size=(8, 3)).astype(dtype)


def _loss(lib, params, X, Y):
    W, b = params
    out = lib.tanh(lib.tensor(X) @ W + b)
    return ((out - lib.tensor(Y)) ** 2).mean() + 0.1 * (W ** 4).sum()


def _leaves(lib, init):
    return [lib.tensor(a.copy(), requires_grad=True) for a in init]


def _optimizer(lib, name, params, kwargs):
    return getattr(optim if lib is ad else torch.optim, name)(params, **kwargs)


def _train(lib, opt, params, X, Y, steps):
    history = []
    for _ in range(steps):
        opt.zero_grad()
        _loss(lib, params, X, Y).backward()
        opt.step()
        history.append([to_numpy(p).copy() for p in params])
    return history


def _run(lib, name, kwargs, init, X, Y, steps):
    params = _leaves(lib, init)
    return _train(lib, _optimizer(lib, name, params, kwargs), params, X, Y, steps)


def _assert_same_history(ours, theirs, rtol=1e-9, atol=1e-10):
    # (atol: a parameter crossing zero after 20+ float64 steps differs from torch's by a few
    # 1e-11, from the order of torch's vs numpy's reductions; 1e-10 stays far below any
    # wrong-rule error, which shows at 1e-3 or more)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for pa, pb in zip(a, b):
            assert pa.dtype == pb.dtype
            np.testing.assert_allclose(pa, pb, rtol=rtol, atol=atol, err_msg=f"step {step + 1}")


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=lambda c: str(c))
def test_matches_torch_25_steps(name, kwargs):
    init, X, Y = _problem()
    ours = _run(ad, name, kwargs, init, X, Y, 25)
    _assert_same_history(ours, _run(torch, name, kwargs, init, X, Y, 25))
    assert not np.allclose(ours[-1][0], init[0])  # it did move


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop"])
def test_float32_matches_torch(name):
    init, X, Y = _problem(1, np.float32)
    kwargs = dict(lr=0.02, weight_decay=0.01) if name != "Rprop" else dict(lr=0.02)
    if name == "ASGD":
        kwargs["t0"] = 4  # float32 eta and mu state, and the averaging of ax
    ours = _run(ad, name, kwargs, init, X, Y, 25)
    theirs = _run(torch, name, kwargs, init, X, Y, 25)
    assert ours[-1][0].dtype == np.float32
    for pa, pb in zip(ours[-1], theirs[-1]):
        np.testing.assert_allclose(pa, pb, rtol=2e-5, atol=2e-6)


def test_asgd_average_ax_matches_torch():
    init, X, Y = _problem(2)
    kwargs = dict(lr=0.05, lambd=1e-3, t0=4)
    runs = []
    for lib in (ad, torch):
        params = _leaves(lib, init)
        opt = _optimizer(lib, "ASGD", params, kwargs)
        _train(lib, opt, params, X, Y, 20)
        runs.append([{k: to_numpy(v) for k, v in opt.state[p].items()} for p in params])
    for ours, theirs in zip(*runs):
        assert set(ours) == set(theirs) == {"step", "eta", "mu", "ax"}
        for k in ours:
            assert ours[k].dtype == theirs[k].dtype, k
            np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-9, atol=1e-12, err_msg=k)


def test_scalar_state_follows_the_default_dtype():
    # torch keeps step (and NAdam's mu_product) in float64 when that is the default dtype
    init, X, Y = _problem(3)
    ad.set_default_dtype(ad.float64)
    torch.set_default_dtype(torch.float64)
    try:
        ours = _run(ad, "NAdam", dict(lr=0.05), init, X, Y, 20)
        theirs = _run(torch, "NAdam", dict(lr=0.05), init, X, Y, 20)
        params = _leaves(ad, init)
        opt = optim.NAdam(params)
        _train(ad, opt, params, X, Y, 1)
        assert opt.state[params[0]]["mu_product"].dtype == np.float64
    finally:
        torch.set_default_dtype(torch.float32)
    _assert_same_history(ours, theirs, rtol=1e-12, atol=1e-14)


def test_param_groups_match_torch():
    init, X, Y = _problem(4)
    groups = [dict(lr=0.01), dict(betas=(0.5, 0.8), momentum_decay=0.1)]
    histories = []
    for lib in (ad, torch):
        params = _leaves(lib, init)
        opt = _optimizer(lib, "NAdam", [dict(g, params=[p]) for g, p in zip(groups, params)],
                         dict(lr=0.05))
        histories.append(_train(lib, opt, params, X, Y, 20))
    _assert_same_history(*histories)


# --- state_dict: the same structure, and it crosses between the libraries ----------------



STATE_CONFIGS = [
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.05)),
    ("Adagrad", dict(lr=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adadelta", dict(lr=0.5)),
    ("Adamax", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05)),
    ("RAdam", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, t0=3)),
    ("Rprop", dict(lr=0.02)),
]


@pytest.mark.parametrize("name,kwargs", STATE_CONFIGS, ids=lambda c: str(c))
def test_state_dict_structure_is_torchs(name, kwargs):
    init, X, Y = _problem(5)
    sds = []
    for lib in (ad, torch):
        params = _leaves(lib, init)
        opt = _optimizer(lib, name, params, kwargs)
        _train(lib, opt, params, X, Y, 3)
        sds.append(state_structure(opt.state_dict()))
    assert sds[0] == sds[1]


@pytest.mark.parametrize("name,kwargs", STATE_CONFIGS, ids=lambda c: str(c))
@pytest.mark.parametrize("first", ["torch", "ours"])
def test_state_dict_crosses_libraries(name, kwargs, first):
    """10 steps in one library, its state_dict loaded into the other, 15 more steps: the same
    parameters as the same relay within torch (loading casts 0-d state such as ASGD's eta to
    the parameter's dtype, in both libraries)."""
    init, X, Y = _problem(6)

    def relay(a, b):
        params = _leaves(a, init)
        opt = _optimizer(a, name, params, kwargs)
        _train(a, opt, params, X, Y, 10)
        sd = convert_state(opt.state_dict(), b)
        params2 = _leaves(b, [to_numpy(p) for p in params])
        opt2 = _optimizer(b, name, params2, dict(lr=123.0))  # options come from the state dict
        opt2.load_state_dict(sd)
        return _train(b, opt2, params2, X, Y, 15)

    ours = relay(torch, ad) if first == "torch" else relay(ad, torch)
    _assert_same_history(ours, relay(torch, torch))


def test_named_parameters_give_param_names():
    model, tmodel = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    ours = optim.Adam(model.named_parameters(), lr=0.1)
    theirs = torch.optim.Adam(tmodel.named_parameters(), lr=0.1)
    assert ours.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    assert state_structure(ours.state_dict()) == state_structure(theirs.state_dict())
    with pytest.raises(ValueError, match="with/without names"):
        optim.SGD([("w", model.weight), model.bias])


# --- LBFGS ----------------------------------------------------------------------------

def _rosenbrock(lib, xy):
    x, y = xy[0], xy[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


LBFGS_CONFIGS = [
    dict(),
    dict(lr=0.5, max_iter=7, history_size=3),
    dict(line_search_fn="strong_wolfe"),
    dict(line_search_fn="strong_wolfe", max_iter=5, history_size=2, max_eval=9),
    dict(lr=0.8, tolerance_change=1e-5, tolerance_grad=1e-4, line_search_fn="strong_wolfe"),
]


def _lbfgs_run(lib, kwargs, problem, steps):
    if problem == "rosenbrock":
        params = [lib.tensor(np.array([-1.2, 1.0]), requires_grad=True)]
        loss_of = lambda: _rosenbrock(lib, params[0])  # noqa: E731
    else:
        init, X, Y = _problem(7)
        params = _leaves(lib, init)
        loss_of = lambda: _loss(lib, params, X, Y)  # noqa: E731
    opt = _optimizer(lib, "LBFGS", params, kwargs)

    def closure():
        opt.zero_grad()
        loss = loss_of()
        loss.backward()
        return loss

    history, losses = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()))
        history.append([to_numpy(p).copy() for p in params])
    state = opt.state[params[0]]
    return history, losses, (state["func_evals"], state["n_iter"])


@pytest.mark.parametrize("kwargs", LBFGS_CONFIGS, ids=str)
@pytest.mark.parametrize("problem", ["rosenbrock", "regression"])
def test_lbfgs_matches_torch(kwargs, problem):
    ours, ours_loss, ours_counts = _lbfgs_run(ad, kwargs, problem, 4)
    theirs, theirs_loss, theirs_counts = _lbfgs_run(torch, kwargs, problem, 4)
    _assert_same_history(ours, theirs, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours_loss, theirs_loss, rtol=1e-8, atol=1e-12)
    assert ours_counts == theirs_counts  # same evaluations and iterations: same branches
    assert ours_loss[-1] < ours_loss[0]


def test_lbfgs_strong_wolfe_solves_rosenbrock():
    history, losses, _ = _lbfgs_run(ad, dict(line_search_fn="strong_wolfe"), "rosenbrock", 8)
    np.testing.assert_allclose(history[-1][0], [1.0, 1.0], atol=1e-4)
    assert losses[-1] < 1e-8 < losses[0]


def test_lbfgs_float32_matches_torch():
    runs = []
    for lib in (ad, torch):
        init, X, Y = _problem(8, np.float32)
        params = _leaves(lib, init)
        opt = _optimizer(lib, "LBFGS", params, dict(line_search_fn="strong_wolfe", max_iter=6))

        def closure():
            opt.zero_grad()
            loss = _loss(lib, params, X, Y)
            loss.backward()
            return loss

        opt.step(closure)
        runs.append([to_numpy(p) for p in params])
    for a, b in zip(*runs):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("first", ["torch", "ours"])
def test_lbfgs_state_dict_crosses_libraries(first):
    kwargs = dict(max_iter=3, history_size=4, line_search_fn="strong_wolfe")
    init, X, Y = _problem(9)
    a, b = (torch, ad) if first == "torch" else (ad, torch)

    def stepper(lib, opt, params):
        def closure():
            opt.zero_grad()
            loss = _loss(lib, params, X, Y)
            loss.backward()
            return loss
        return lambda: opt.step(closure)

    ref = _leaves(torch, init)
    ref_opt = torch.optim.LBFGS(ref, **kwargs)
    for _ in range(4):
        stepper(torch, ref_opt, ref)()
    params = _leaves(a, init)
    opt = _optimizer(a, "LBFGS", params, kwargs)
    for _ in range(2):
        stepper(a, opt, params)()
    sd = convert_state(opt.state_dict(), b)
    assert state_structure(sd) == state_structure(convert_state(sd, a))
    params2 = _leaves(b, [to_numpy(p) for p in params])
    opt2 = _optimizer(b, "LBFGS", params2, kwargs)
    opt2.load_state_dict(sd)
    for _ in range(2):
        stepper(b, opt2, params2)()
    for p, r in zip(params2, ref):
        np.testing.assert_allclose(to_numpy(p), to_numpy(r), rtol=1e-8, atol=1e-10)


def test_lbfgs_errors():
    p = ad.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [p]}, {"params": [ad.zeros(1, requires_grad=True)]}])
    opt = optim.LBFGS([p])
    with pytest.raises(TypeError, match="needs a closure"):
        opt.step()
    with pytest.raises(ValueError, match="parameter groups"):
        opt.add_param_group({"params": [ad.zeros(1, requires_grad=True)]})
    bad = optim.LBFGS([p], line_search_fn="armijo")

    def closure():
        bad.zero_grad()
        loss = ((p - 1) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        bad.step(closure)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.LBFGS([p], lr=-1)


# --- swa_utils --------------------------------------------------------------------------

def _net(lib):
    lib_nn = nn if lib is ad else torch.nn
    return lib_nn.Sequential(lib_nn.Linear(3, 4), lib_nn.BatchNorm1d(4), lib_nn.ReLU(),
                             lib_nn.Linear(4, 2))


def _copy_weights(model, tmodel):
    model.load_state_dict({k: ad.from_numpy(v.detach().numpy().copy())
                           for k, v in tmodel.state_dict().items()})


def _swa_lib(lib):
    return swa_utils if lib is ad else torch.optim.swa_utils


@pytest.mark.parametrize("kind", ["swa", "ema", "ema_avg_fn", "swa_avg_fn", "swa_buffers"])
def test_averaged_model_matches_torch(kind):
    torch.manual_seed(0)
    tmodel = _net(torch).double()
    model = _net(ad)
    model.to(ad.float64)
    _copy_weights(model, tmodel)
    X = np.random.default_rng(0).normal(size=(6, 3))
    states = []
    for lib, m in ((ad, model), (torch, tmodel)):
        swa = _swa_lib(lib)
        kw = {"swa": {}, "ema": dict(multi_avg_fn=swa.get_ema_multi_avg_fn(0.8)),
              "ema_avg_fn": dict(avg_fn=swa.get_ema_avg_fn(0.7)),
              "swa_avg_fn": dict(avg_fn=swa.get_swa_avg_fn()),
              "swa_buffers": dict(use_buffers=True)}[kind]
        avg = swa.AveragedModel(m, **kw)
        opt = (optim if lib is ad else torch.optim).SGD(m.parameters(), lr=0.1)
        for _ in range(4):
            opt.zero_grad()
            (m(lib.tensor(X)) ** 2).mean().backward()
            opt.step()
            avg.update_parameters(m)
        states.append({k: to_numpy(v) for k, v in avg.state_dict().items()})
        out = to_numpy(avg(lib.tensor(X)))
        states[-1]["output"] = out
    assert set(states[0]) == set(states[1])
    for k in states[1]:
        np.testing.assert_allclose(states[0][k], states[1][k], rtol=1e-10, atol=1e-12,
                                   err_msg=k)
    assert int(states[0]["n_averaged"]) == 4


def test_update_bn_matches_torch():
    torch.manual_seed(1)
    tmodel = _net(torch).double()
    model = _net(ad)
    model.to(ad.float64)
    _copy_weights(model, tmodel)
    batches = [np.random.default_rng(i).normal(size=(5, 3)) for i in range(3)]
    model.eval()
    tmodel.eval()
    swa_utils.update_bn([(ad.tensor(b), 0) for b in batches], model)
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], tmodel)
    assert not model.training and model[1].momentum == 0.1
    for k, v in tmodel.state_dict().items():
        np.testing.assert_allclose(to_numpy(model.state_dict()[k]), to_numpy(v), rtol=1e-10,
                                   atol=1e-12, err_msg=k)


@pytest.mark.parametrize("kwargs", [dict(swa_lr=0.05), dict(swa_lr=[0.05, 0.2], anneal_epochs=3,
                                                            anneal_strategy="linear"),
                                    dict(swa_lr=0.01, anneal_epochs=0)], ids=str)
def test_swalr_matches_torch(kwargs):
    seqs = []
    for lib in (ad, torch):
        opt = _optimizer(lib, "SGD", [{"params": [lib.zeros(1, requires_grad=True)], "lr": lr}
                                      for lr in (0.5, 1.0)], dict(lr=0.5))
        s = _swa_lib(lib).SWALR(opt, **kwargs)
        seq = [s.get_last_lr()]
        for _ in range(15):
            opt.step()
            s.step()
            seq.append(s.get_last_lr())
        seqs.append(seq)
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-12, atol=1e-15)


def test_swa_errors():
    with pytest.raises(ValueError, match="Invalid decay value"):
        swa_utils.get_ema_multi_avg_fn(1.5)
    with pytest.raises(ValueError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(nn.Linear(1, 1), avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    opt = optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear'"):
        swa_utils.SWALR(opt, swa_lr=0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=-1)


# --- errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,kwargs,match", [
    ("Adadelta", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("Adadelta", dict(eps=-1e-6), "Invalid epsilon value"),
    ("Adadelta", dict(weight_decay=-0.1), "Invalid weight_decay value"),
    ("Adamax", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    ("Adamax", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    ("NAdam", dict(momentum_decay=-1.0), "Invalid momentum_decay value"),
    ("NAdam", dict(lr=-0.1), "Invalid learning rate"),
    ("RAdam", dict(eps=-1.0), "Invalid epsilon value"),
    ("RAdam", dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1"),
    ("ASGD", dict(weight_decay=-1.0), "Invalid weight_decay value"),
    ("Rprop", dict(etas=(1.2, 0.5)), "Invalid eta values: 1.2, 0.5"),
    ("Rprop", dict(lr=-0.1), "Invalid learning rate"),
    ("SGD", dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum"),
    ("RMSprop", dict(alpha=-0.1), "Invalid alpha value"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "Invalid initial_accumulator_value"),
])
def test_bad_hyperparameters_raise_torchs_error(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        _optimizer(ad, name, [ad.zeros(2, requires_grad=True)], kwargs)
    with pytest.raises(ValueError, match=match):  # the same message (prefix aside) as torch
        _optimizer(torch, name, [torch.zeros(2, requires_grad=True)], kwargs)


def test_flags():
    p = [ad.zeros(2, requires_grad=True)]
    with pytest.raises(RuntimeError, match="differentiable=True"):
        optim.Adam(p, differentiable=True)
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together"):
        optim.SGD(p, lr=0.1, fused=True, foreach=True)
    with pytest.raises(RuntimeError, match="cannot be `True` together"):
        torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1, fused=True, foreach=True)
    groups = optim.RAdam(p, foreach=True, capturable=True).param_groups
    assert groups[0]["foreach"] and groups[0]["capturable"]


def test_adam_decoupled_equals_adamw():
    init, X, Y = _problem(10)
    a = _run(ad, "Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True), init, X,
             Y, 10)
    b = _run(ad, "AdamW", dict(lr=0.05, weight_decay=0.1), init, X, Y, 10)
    _assert_same_history(a, b, rtol=0, atol=0)


# --- mechanics of the new optimizers ----------------------------------------------------

NEW = ["Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop"]


@pytest.mark.parametrize("name", NEW)
def test_a_step_bumps_the_parameters_version(name):
    p = nn.Parameter(ad.tensor([1.0, -2.0]))
    opt = getattr(optim, name)([p])
    (p * p).sum().backward()
    y = (p * p).sum()  # recorded before the step; its rule reads p
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


@pytest.mark.parametrize("name", NEW + ["LBFGS"])
def test_a_step_works_on_a_read_only_parameter_array(name):
    arr = np.array([1.0, -2.0], np.float32)
    arr.flags.writeable = False
    p = nn.Parameter(ad.from_numpy(arr))
    opt = getattr(optim, name)([p])

    def closure():
        opt.zero_grad()
        loss = ((p - 3) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert p.data[0] != 1.0 and arr[0] == 1.0 and p.is_leaf and p.grad_fn is None


@pytest.mark.parametrize("name", NEW)
def test_params_without_grad_are_skipped(name):
    a, b = ad.ones(2, requires_grad=True), ad.ones(2, requires_grad=True)
    opt = getattr(optim, name)([a, b], weight_decay=0.1) if name != "Rprop" \
        else optim.Rprop([a, b])
    a.grad = ad.ones(2)
    opt.step()
    np.testing.assert_array_equal(b.data, [1.0, 1.0])
    assert b not in opt.state and a in opt.state
