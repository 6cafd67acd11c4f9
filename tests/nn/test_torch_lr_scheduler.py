"""nn.optim.lr_scheduler breadth vs torch.optim.lr_scheduler: each scheduler's lr (and
momentum/beta1) sequence over 40 steps, step(epoch), composites, state_dict resume, errors."""
import math

import numpy as np
import pytest

import autodiff as ad
from nn import optim
from nn.optim import lr_scheduler as sched

from _torch import require_torch

torch = require_torch()


def _opt(lib, name="SGD", groups=2):
    mod = optim if lib is ad else torch.optim
    kw = dict(lr=0.1, momentum=0.9) if name == "SGD" else dict(lr=0.1)
    return getattr(mod, name)([{"params": [lib.zeros(1, requires_grad=True)],
                                "lr": 0.1 * (i + 1)} for i in range(groups)], **kw)


def _sched_mod(lib):
    return sched if lib is ad else torch.optim.lr_scheduler


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum", 0.0) for g in opt.param_groups]


def _sequence(lib, make, epochs=40, opt_name="SGD", stepper=None):
    """[(lrs, momenta)] after construction and after each step."""
    opt = _opt(lib, opt_name)
    s = make(_sched_mod(lib), opt)
    seq = [(s.get_last_lr(), _momenta(opt))]
    for epoch in range(epochs):
        opt.step()
        s.step() if stepper is None else stepper(s, epoch)
        seq.append((s.get_last_lr(), _momenta(opt)))
        assert s.get_last_lr() == [g["lr"] for g in opt.param_groups]
    return seq


def _compare(make, **kw):
    ours, theirs = _sequence(ad, make, **kw), _sequence(torch, make, **kw)
    np.testing.assert_allclose(np.array([o[0] for o in ours]), np.array([t[0] for t in theirs]),
                               rtol=1e-12, atol=1e-15, err_msg="lr")
    np.testing.assert_allclose(np.array([o[1] for o in ours]), np.array([t[1] for t in theirs]),
                               rtol=1e-12, atol=1e-15, err_msg="momentum")
    return ours


CASES = {
    "MultiplicativeLR": lambda S, o: S.MultiplicativeLR(o, lambda e: 0.95),
    "MultiplicativeLR_per_group": lambda S, o: S.MultiplicativeLR(
        o, [lambda e: 0.9, lambda e: 1.0 if e % 2 else 0.8]),
    "ConstantLR": lambda S, o: S.ConstantLR(o),
    "ConstantLR_args": lambda S, o: S.ConstantLR(o, factor=0.5, total_iters=7),
    "LinearLR": lambda S, o: S.LinearLR(o),
    "LinearLR_args": lambda S, o: S.LinearLR(o, start_factor=0.9, end_factor=0.1,
                                             total_iters=12),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o),
    "PolynomialLR_args": lambda S, o: S.PolynomialLR(o, total_iters=25, power=2.5),
    "LambdaLR_per_group": lambda S, o: S.LambdaLR(o, [lambda e: 0.97 ** e, lambda e: 1 / (e + 1)]),
    "CosineAnnealingWarmRestarts": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=7),
    "CosineAnnealingWarmRestarts_mult": lambda S, o: S.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.01),
    "CyclicLR": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "CyclicLR_triangular2": lambda S, o: S.CyclicLR(
        o, base_lr=[0.01, 0.02], max_lr=[0.1, 0.3], step_size_up=3, step_size_down=5,
        mode="triangular2", base_momentum=0.7, max_momentum=[0.9, 0.95]),
    "CyclicLR_exp_range": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5,
                                                  mode="exp_range", gamma=0.95,
                                                  cycle_momentum=False),
    "CyclicLR_scale_fn": lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                 scale_fn=lambda x: 0.5 * (1 + math.sin(x)),
                                                 scale_mode="iterations"),
    "CyclicLR_scale_fn_cycle": lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                       scale_fn=lambda x: 1 / x),
    "OneCycleLR": lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=40),
    "OneCycleLR_linear_three_phase": lambda S, o: S.OneCycleLR(
        o, max_lr=[1.0, 2.0], epochs=4, steps_per_epoch=10, pct_start=0.25,
        anneal_strategy="linear", three_phase=True, base_momentum=0.8, max_momentum=0.9,
        div_factor=10.0, final_div_factor=100.0),
    "OneCycleLR_no_momentum": lambda S, o: S.OneCycleLR(o, max_lr=0.5, total_steps=45,
                                                        cycle_momentum=False),
    "SequentialLR": lambda S, o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, total_iters=5), S.ExponentialLR(o, gamma=0.9)],
        milestones=[5]),
    "SequentialLR_three": lambda S, o: S.SequentialLR(
        o, [S.ConstantLR(o, factor=0.5, total_iters=3), S.CosineAnnealingLR(o, T_max=10),
            S.StepLR(o, step_size=4, gamma=0.5)], milestones=[4, 15]),
    "ChainedScheduler": lambda S, o: S.ChainedScheduler(
        [S.ConstantLR(o, factor=0.5, total_iters=4), S.ExponentialLR(o, gamma=0.9)]),
    "ChainedScheduler_optimizer": lambda S, o: S.ChainedScheduler(
        [S.LinearLR(o, total_iters=6), S.MultiStepLR(o, milestones=[10, 20], gamma=0.5)],
        optimizer=o),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_sequence_matches_torch(case):
    ours = _compare(CASES[case])
    assert len({tuple(lrs) for lrs, _ in ours}) > 1  # the lr did change


@pytest.mark.parametrize("case", ["OneCycleLR", "CyclicLR", "OneCycleLR_linear_three_phase"])
def test_cycles_beta1_of_adam(case):
    ours = _compare(CASES[case], opt_name="Adam")
    assert len({tuple(m) for _, m in ours}) > 2


def test_onecycle_past_total_steps_raises():
    opt = _opt(ad)
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        s.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total "
                                         "steps is 3"):
        s.step()


def test_cosine_warm_restarts_fractional_epochs_match_torch():
    # the documented per-batch use: step(epoch + i / iters)
    def stepper(s, epoch):
        s.step(epoch / 4)

    for make in (lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3),
                 lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=3, eta_min=0.01)):
        _compare(make, stepper=stepper)  # no deprecation warning here, as in torch


@pytest.mark.parametrize("case", ["ConstantLR_args", "LinearLR_args", "PolynomialLR_args"])
def test_step_epoch_uses_the_closed_form_as_torch(case):
    def stepper(s, epoch):
        s.step((3 * epoch) % 17)

    with pytest.warns(UserWarning):
        _compare(CASES[case], stepper=stepper)


@pytest.mark.parametrize("case", ["ConstantLR_args", "LinearLR_args", "PolynomialLR_args",
                                  "CyclicLR_triangular2", "OneCycleLR",
                                  "CosineAnnealingWarmRestarts_mult", "SequentialLR_three",
                                  "ChainedScheduler", "MultiplicativeLR"])
def test_state_dict_resume(case):
    """12 steps, state_dicts saved, 20 more steps; a fresh optimizer and scheduler loaded from
    the saved dicts give the same 20 lrs."""
    opt = _opt(ad)
    s = CASES[case](sched, opt)
    for _ in range(12):
        opt.step()
        s.step()
    opt_sd, s_sd = opt.state_dict(), s.state_dict()
    straight = []
    for _ in range(20):
        opt.step()
        s.step()
        straight.append((s.get_last_lr(), _momenta(opt)))
    opt2 = _opt(ad)
    s2 = CASES[case](sched, opt2)
    opt2.load_state_dict(opt_sd)
    s2.load_state_dict(s_sd)
    resumed = []
    for _ in range(20):
        opt2.step()
        s2.step()
        resumed.append((s2.get_last_lr(), _momenta(opt2)))
    assert resumed == straight
    assert "optimizer" not in s_sd


@pytest.mark.parametrize("make,error,match", [
    (lambda S, o: S.ConstantLR(o, factor=1.5), ValueError,
     "Constant multiplicative factor expected to be between 0 and 1"),
    (lambda S, o: S.LinearLR(o, start_factor=0), ValueError,
     "Starting multiplicative factor expected to be greater than 0"),
    (lambda S, o: S.LinearLR(o, end_factor=2), ValueError,
     "Ending multiplicative factor expected to be between 0 and 1"),
    (lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=0), ValueError,
     "Expected positive integer T_0"),
    (lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError,
     "Expected integer T_mult >= 1"),
    (lambda S, o: S.CyclicLR(o, 0.01, 0.1, mode="square"), ValueError,
     "mode is invalid and scale_fn is None"),
    (lambda S, o: S.CyclicLR(o, [0.01], 0.1), ValueError,
     "base_lr must have the same length as optimizer.param_groups"),
    (lambda S, o: S.OneCycleLR(o, max_lr=0.1), ValueError,
     "You must define either total_steps OR"),
    (lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=0), ValueError,
     "Expected positive integer total_steps"),
    (lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=5, pct_start=1.5), ValueError,
     "Expected float between 0 and 1 pct_start"),
    (lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=5, anneal_strategy="exp"),
     ValueError, "anneal_strategy must be one of 'cos' or 'linear'"),
    (lambda S, o: S.SequentialLR(o, [S.ConstantLR(o), S.ExponentialLR(o, 0.9)],
                                 milestones=[]), ValueError,
     "expects number of schedulers provided to be one more than the number of milestone"),
    (lambda S, o: S.SequentialLR(o, [S.ReduceLROnPlateau(o)], milestones=[]), ValueError,
     "does not support `ReduceLROnPlateau`"),
    (lambda S, o: S.ChainedScheduler([]), ValueError, "expects at least one scheduler"),
    (lambda S, o: S.MultiplicativeLR(o, 0.9), TypeError, "lr_lambda should be a function"),
])
def test_errors_match_torch(make, error, match):
    with pytest.raises(error, match=match):
        make(sched, _opt(ad))
    with pytest.raises(error, match=match):
        make(torch.optim.lr_scheduler, _opt(torch))


def test_schedulers_of_another_optimizer_raise():
    a, b = _opt(ad), _opt(ad)
    with pytest.raises(ValueError, match="same optimizer"):
        sched.ChainedScheduler([sched.ExponentialLR(a, 0.9), sched.ExponentialLR(b, 0.9)])
    with pytest.raises(ValueError, match="same optimizer"):
        sched.SequentialLR(a, [sched.ExponentialLR(b, 0.9)], milestones=[])


def test_cycle_momentum_needs_momentum():
    opt = optim.Adagrad([ad.zeros(1, requires_grad=True)], lr=0.1)
    for make in (lambda: sched.CyclicLR(opt, 0.01, 0.1),
                 lambda: sched.OneCycleLR(opt, 0.1, total_steps=10)):
        with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
            make()
    sched.CyclicLR(opt, 0.01, 0.1, cycle_momentum=False)  # fine without it
