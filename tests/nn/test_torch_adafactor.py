"""nn.optim.Adafactor and swap_in_optimizer_params_and_state vs torch.optim: Adafactor step by
step over 25 steps on 0-D, 1-D, 2-D and 3-D parameters with each option, its state and
state_dict crossing libraries, torch's errors; the swap-in context manager's behaviour and
checks."""
import copy

import numpy as np
import pytest

import autodiff as ad
from nn import optim

from _torch import convert_state, state_structure, require_torch, to_numpy

torch = require_torch()


def _problem(seed=0, dtype=np.float64):
    """Initial arrays (W 2-D, b 1-D, T 3-D, s 0-D) and the data of a small nonconvex loss."""
    r = np.random.default_rng(seed)
    init = [r.normal(size=(4, 3)), r.normal(size=3), r.normal(size=(2, 3, 4)), np.array(0.5)]
    data = [r.normal(size=(8, 4)), r.normal(size=(8, 3)), r.normal(size=(2, 3, 4))]
    return [a.astype(dtype) for a in init], [a.astype(dtype) for a in data]


def _loss(lib, params, data):
    W, b, T, s = params
    X, Y, U = (lib.tensor(a) for a in data)
    fit = ((lib.tanh(X @ W + b) - Y) ** 2).mean() + 0.1 * (W ** 4).sum()
    return fit + ((T * T - U) ** 2).mean() + (s - 2) ** 2 * (0.1 * T.sum() + 1) ** 2


def _lib_optim(lib):
    return optim if lib is ad else torch.optim


def _leaves(lib, init):
    return [lib.tensor(np.array(a), requires_grad=True) for a in init]


def _train(lib, opt, params, data, steps):
    history = []
    for _ in range(steps):
        opt.zero_grad()
        _loss(lib, params, data).backward()
        opt.step()
        history.append([to_numpy(p).copy() for p in params])
    return history


def _run(lib, kwargs, dtype=np.float64, steps=25, seed=0):
    init, data = _problem(seed, dtype)
    params = _leaves(lib, init)
    opt = _lib_optim(lib).Adafactor(params, **kwargs)
    return _train(lib, opt, params, data, steps), opt, params


def _assert_same_history(ours, theirs, rtol=1e-10, atol=1e-12):
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for i, (pa, pb) in enumerate(zip(a, b)):
            assert pa.dtype == pb.dtype and pa.shape == pb.shape
            np.testing.assert_allclose(pa, pb, rtol=rtol, atol=atol,
                                       err_msg=f"step {step + 1}, parameter {i}")


CONFIGS = [
    dict(),
    dict(lr=0.1),  # rho_t = min(lr, 1/sqrt(t)): 1/sqrt(t) binds from t = 100 on; lr here
    dict(maximize=True),
    dict(weight_decay=0.2),
    dict(lr=0.3, d=2.0),  # clipping at RMS(U) > 2 instead of 1
    dict(eps=(0.05, 1e-3)),  # eps1 floors the variance estimate
    dict(eps=(None, 2.0)),  # eps2 floors the parameter scale RMS(p)
    dict(beta2_decay=-0.5),
    dict(beta2_decay=0.0),  # beta2_t = 0: the second moment is the last g^2
    dict(lr=0.05, foreach=True, weight_decay=0.1),  # torch's multi-tensor path, same values
]


@pytest.mark.parametrize("kwargs", CONFIGS, ids=str)
def test_matches_torch_25_steps(kwargs):
    ours, _, _ = _run(ad, kwargs)
    theirs, _, _ = _run(torch, kwargs)
    _assert_same_history(ours, theirs)
    if kwargs:  # the option changed the trajectory, so the comparison tests it
        default, _, _ = _run(ad, {})
        assert any(not np.allclose(a, b, rtol=1e-6, atol=0)
                   for a, b in zip(ours[-1], default[-1])), "the option had no effect"


@pytest.mark.parametrize("kwargs", [dict(), dict(weight_decay=0.1, eps=(1e-6, 1e-3))], ids=str)
def test_float32_matches_torch(kwargs):
    ours, opt, params = _run(ad, kwargs, np.float32, seed=1)
    theirs, topt, tparams = _run(torch, kwargs, np.float32, seed=1)
    for pa, pb in zip(ours[-1], theirs[-1]):
        assert pa.dtype == np.float32
        np.testing.assert_allclose(pa, pb, rtol=2e-5, atol=2e-6)
    for p, tp in zip(params, tparams):
        for key, value in topt.state[tp].items():
            a, b = to_numpy(opt.state[p][key]), to_numpy(value)
            assert a.dtype == b.dtype and a.shape == b.shape, key
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7, err_msg=key)


def test_state_names_shapes_and_dtypes_are_torchs():
    _, opt, params = _run(ad, {}, np.float32, steps=2)
    _, topt, tparams = _run(torch, {}, np.float32, steps=2)
    for p, tp in zip(params, tparams):
        ours = {k: (to_numpy(v).dtype, to_numpy(v).shape) for k, v in opt.state[p].items()}
        theirs = {k: (to_numpy(v).dtype, to_numpy(v).shape) for k, v in topt.state[tp].items()}
        assert ours == theirs
    assert set(opt.state[params[2]]) == {"step", "row_var", "col_var"}
    assert opt.state[params[2]]["row_var"].shape == (2, 3, 1)
    assert opt.state[params[2]]["col_var"].shape == (2, 1, 4)
    assert set(opt.state[params[1]]) == {"step", "variance"}
    assert float(opt.state[params[0]]["step"].data) == 2.0
    assert repr(opt) == repr(topt)


def test_eps1_none_is_the_first_parameters_machine_epsilon():
    """Like torch, eps1=None takes finfo(dtype).eps of the group's first parameter with a
    gradient, for every parameter of the group; tiny gradients make eps1 matter."""
    r = np.random.default_rng(3)
    arrays = [r.normal(size=(3, 2)).astype(np.float32), r.normal(size=(2, 3))]
    histories = []
    for lib in (ad, torch):
        params = _leaves(lib, arrays)
        opt = _lib_optim(lib).Adafactor(params, lr=0.1)
        history = []
        for _ in range(5):
            opt.zero_grad()
            (1e-6 * (params[0] ** 2).sum() + 1e-9 * (params[1] ** 3).sum()).backward()
            opt.step()
            history.append([to_numpy(p).copy() for p in params])
        histories.append(history)
    for a, b in zip(*histories):
        np.testing.assert_allclose(a[0], b[0], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-12)


# --- state_dict --------------------------------------------------------------------------



@pytest.mark.parametrize("first", ["torch", "ours"])
def test_state_dict_crosses_libraries(first):
    """10 steps in one library, its state_dict loaded into the other, 15 more steps: the same
    parameters as 25 steps within torch; options come from the state dict."""
    kwargs = dict(lr=0.05, weight_decay=0.1, eps=(1e-5, 1e-3), d=1.5, beta2_decay=-0.6)
    a, b = (torch, ad) if first == "torch" else (ad, torch)
    _, opt, params = _run(a, kwargs, steps=10, seed=2)
    sd = opt.state_dict()
    assert state_structure(sd) == state_structure(convert_state(sd, b))
    init, data = _problem(2)
    params2 = _leaves(b, [to_numpy(p) for p in params])
    opt2 = _lib_optim(b).Adafactor(params2, lr=0.5)
    opt2.load_state_dict(convert_state(sd, b))
    assert opt2.param_groups[0]["d"] == 1.5
    relayed = _train(b, opt2, params2, data, 15)
    theirs, topt, _ = _run(torch, kwargs, steps=25, seed=2)
    _assert_same_history(relayed, theirs[10:])
    assert state_structure(opt2.state_dict()) == state_structure(topt.state_dict())


def test_load_state_dict_checks_factor_shapes():
    _, opt, _ = _run(ad, {}, steps=1)
    sd = opt.state_dict()
    sd["state"][0]["row_var"] = ad.zeros(3, 1)  # W is (4, 3): row_var must be (4, 1)
    other = optim.Adafactor(_leaves(ad, _problem()[0]))
    with pytest.raises(ValueError, match=r"'row_var' has shape \(3, 1\).*needs \(4, 1\)"):
        other.load_state_dict(sd)
    sd = opt.state_dict()
    sd["state"][1]["variance"] = ad.zeros(4)
    with pytest.raises(ValueError, match="'variance' has shape"):
        other.load_state_dict(sd)
    sd = opt.state_dict()  # float64 state loads into float32 parameters as float32
    params32 = _leaves(ad, _problem(0, np.float32)[0])
    opt32 = optim.Adafactor(params32)
    opt32.load_state_dict(sd)
    assert opt32.state[params32[0]]["col_var"].dtype == np.float32
    assert opt32.state[params32[0]]["step"].dtype == np.float32


# --- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,match", [
    (dict(lr=-1.0), "Learning rate should be >= 0 but is: -1.0"),
    (dict(lr=float("nan")), "Learning rate should be >= 0 but is: nan"),
    (dict(beta2_decay=0.5), "beta2_decay should be <= 0 but is: 0.5"),
    (dict(eps=(-1.0, 1e-3)), "epsilon1 should be >= 0 but is: -1.0"),
    (dict(eps=(None, -1e-3)), "epsilon2 should be >= 0 but is: -0.001"),
    (dict(d=0.5), "Clipping threshold d should be >= 1 but is: 0.5"),
    (dict(weight_decay=-0.1), "weight_decay should be >= 0 but is: -0.1"),
])
def test_bad_hyperparameters_raise_torchs_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        optim.Adafactor([ad.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=match):
        torch.optim.Adafactor([torch.zeros(2, requires_grad=True)], **kwargs)


def test_eps_must_be_a_pair():
    with pytest.raises(TypeError, match=r"eps must be a pair \(eps1, eps2\)"):
        optim.Adafactor([ad.zeros(2, requires_grad=True)], eps=1e-3)
    with pytest.raises(TypeError):
        torch.optim.Adafactor([torch.zeros(2, requires_grad=True)], eps=1e-3)
    with pytest.raises(TypeError, match="lr must be a real number"):
        optim.Adafactor([ad.zeros(2, requires_grad=True)], lr="0.1")
    opt = optim.Adafactor([ad.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="Clipping threshold d"):
        opt.add_param_group({"params": [ad.zeros(1, requires_grad=True)], "d": 0.0})


def test_params_without_grad_are_skipped():
    a, b = ad.ones(2, 2, requires_grad=True), ad.ones(2, requires_grad=True)
    opt = optim.Adafactor([a, b], weight_decay=0.1)
    a.grad = ad.ones(2, 2)
    opt.step()
    np.testing.assert_array_equal(b.data, [1.0, 1.0])
    assert b not in opt.state and a in opt.state and not np.all(a.data == 1.0)


# --- swap_in_optimizer_params_and_state -------------------------------------------------

def _swap_setup(lib, name, kwargs):
    """An optimizer trained 3 steps on (W, b), a detached copy of its state_dict with a new lr,
    and replacement parameters with other values and gradients."""
    r = np.random.default_rng(4)
    init = [r.normal(size=(3, 2)), r.normal(size=2)]
    data = [r.normal(size=(5, 3)), r.normal(size=(5, 2))]
    params = _leaves(lib, init)
    opt = getattr(_lib_optim(lib), name)(params, **kwargs)

    def loss(ps):
        W, b = ps
        return ((lib.tanh(lib.tensor(data[0]) @ W + b) - lib.tensor(data[1])) ** 2).mean()

    for _ in range(3):
        opt.zero_grad()
        loss(params).backward()
        opt.step()
    osd = copy.deepcopy(opt.state_dict())  # torch's state_dict shares the state tensors
    osd["param_groups"][0]["lr"] = kwargs["lr"] * 3
    swap = {n: lib.tensor(a + 1.0, requires_grad=True) for n, a in zip(("w", "b"), init)}
    return opt, params, osd, swap, loss


@pytest.mark.parametrize("name,kwargs", [("Adam", dict(lr=0.05)),
                                         ("Adafactor", dict(lr=0.05, weight_decay=0.1))],
                         ids=str)
def test_swap_in_steps_the_swapped_tensors_and_restores(name, kwargs):
    results = []
    for lib in (ad, torch):
        opt, params, osd, swap, loss = _swap_setup(lib, name, kwargs)
        before = [to_numpy(p).copy() for p in params]
        live_state, live_params = opt.state, opt.param_groups[0]["params"]
        live_step = float(to_numpy(opt.state[params[0]]["step"]))
        with optim.swap_in_optimizer_params_and_state(opt, swap, osd) if lib is ad else \
                torch.optim.swap_in_optimizer_params_and_state(opt, swap, osd):
            assert all(a is b for a, b in zip(opt.param_groups[0]["params"], swap.values()))
            assert opt.param_groups[0]["lr"] == kwargs["lr"] * 3
            for _ in range(2):
                opt.zero_grad()
                loss(list(swap.values())).backward()
                opt.step()
            opt.state[swap["w"]]["note"] = 1  # a new entry stays in the block's own dicts
        assert "note" not in osd["state"][0]
        assert opt.state is live_state and opt.param_groups[0]["params"] is live_params
        assert opt.param_groups[0]["lr"] == kwargs["lr"]
        for p, b in zip(params, before):
            np.testing.assert_array_equal(to_numpy(p), b)  # the originals did not move
        assert float(to_numpy(opt.state[params[0]]["step"])) == live_step
        # in-place updates reached the caller's state dict: 3 + 2 steps
        assert float(to_numpy(osd["state"][0]["step"])) == 5.0
        opt.zero_grad()
        loss(params).backward()
        opt.step()  # the live run carries on from step 3
        results.append(dict(swapped=[to_numpy(p) for p in swap.values()],
                            params=[to_numpy(p) for p in params],
                            state={(i, k): to_numpy(v) for i, s in osd["state"].items()
                                   for k, v in s.items()}))
    ours, theirs = results
    for key in ("swapped", "params"):
        for a, b in zip(ours[key], theirs[key]):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=key)
    assert ours["state"].keys() == theirs["state"].keys()
    for k in theirs["state"]:
        np.testing.assert_allclose(ours["state"][k], theirs["state"][k], rtol=1e-10,
                                   atol=1e-12, err_msg=str(k))


def test_swap_in_new_state_stays_local_and_exceptions_restore():
    counts = []
    for lib in (ad, torch):
        opt, params, osd, swap, loss = _swap_setup(lib, "Adam", dict(lr=0.05))
        del osd["state"][1]  # b starts from fresh state inside the block
        swapper = optim.swap_in_optimizer_params_and_state if lib is ad else \
            torch.optim.swap_in_optimizer_params_and_state
        live_state = opt.state
        with pytest.raises(KeyError, match="boom"):
            with swapper(opt, swap, osd):
                opt.zero_grad()
                loss(list(swap.values())).backward()
                opt.step()
                raise KeyError("boom")
        assert opt.state is live_state and opt.param_groups[0]["params"][0] is params[0]
        assert list(osd["state"]) == [0]  # new entries did not reach the caller's dict
        counts.append([to_numpy(p) for p in swap.values()])
    for a, b in zip(*counts):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _mutations():
    def set_(path, value):
        def apply(osd, lib):
            target = osd
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value(lib) if callable(value) else value
            return osd
        return apply

    return [
        ("not a dict", lambda osd, lib: [osd]),
        ("state not a dict", set_(["state"], [])),
        ("tensor keys", lambda osd, lib: dict(osd, state={lib.zeros(1): {}})),
        ("per-param state not a dict", set_(["state", 0], [1.0])),
        ("param_groups not a list", set_(["param_groups"], ())),
        ("too many groups", lambda osd, lib: dict(osd, param_groups=osd["param_groups"] * 2)),
        ("group not a dict", set_(["param_groups", 0], [0, 1])),
        ("params not ints", set_(["param_groups", 0, "params"], ["w", "b"])),
        ("params too few", set_(["param_groups", 0, "params"], [0])),
        ("extra group key", set_(["param_groups", 0, "momentum"], 0.9)),
        ("extra state key", set_(["state", 7], {})),
    ]


@pytest.mark.parametrize("case,mutate", _mutations(), ids=[m[0] for m in _mutations()])
def test_swap_in_errors_match_torch(case, mutate):
    for lib in (ad, torch):
        opt, _, osd, swap, _ = _swap_setup(lib, "Adam", dict(lr=0.05))
        swapper = optim.swap_in_optimizer_params_and_state if lib is ad else \
            torch.optim.swap_in_optimizer_params_and_state
        live_state = opt.state
        with pytest.raises(RuntimeError):
            with swapper(opt, swap, mutate(osd, lib)):
                pass
        assert opt.state is live_state


def test_swap_in_error_messages():
    opt, _, osd, swap, _ = _swap_setup(ad, "Adam", dict(lr=0.05))
    swapper = optim.swap_in_optimizer_params_and_state
    with pytest.raises(RuntimeError, match="too few"):
        with swapper(opt, {"w": swap["w"]}, osd):
            pass
    bad = copy.deepcopy(osd)
    bad["param_groups"][0]["momentum"] = 0.9
    with pytest.raises(RuntimeError, match=r"only in swapin_optim_state: \['momentum'\]"):
        with swapper(opt, swap, bad):
            pass
    bad = copy.deepcopy(osd)
    bad["state"][7] = {}
    with pytest.raises(RuntimeError, match=r"entries \[7\]"):
        with swapper(opt, swap, bad):
            pass
    with pytest.raises(TypeError, match="must be a dict of name -> Tensor"):
        with swapper(opt, list(swap.values()), osd):
            pass
    fresh = optim.Adam([ad.zeros(2, requires_grad=True)])
    with pytest.raises(RuntimeError, match="no state yet"):
        with swapper(fresh, {"p": ad.zeros(2, requires_grad=True)}, fresh.state_dict()):
            pass
    with pytest.raises(RuntimeError):
        with torch.optim.swap_in_optimizer_params_and_state(
                torch.optim.Adam([torch.zeros(2, requires_grad=True)]),
                {"p": torch.zeros(2)}, {"state": {}, "param_groups": []}):
            pass
