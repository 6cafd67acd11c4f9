"""nn.optim.lr_scheduler: lr sequences vs PyTorch and vs closed forms; state_dict; errors."""
import math

import numpy as np
import pytest

import autodiff as ad
from nn import optim
from nn.optim import lr_scheduler as sched

SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.96)),
    ("CosineAnnealingLR", dict(T_max=6)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.01)),  # runs past T_max: climbs back up
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (1 + e))),
]


def _opt(lr=0.1, groups=1):
    return optim.SGD([{"params": [ad.zeros(1, requires_grad=True)], "lr": lr * (i + 1)}
                      for i in range(groups)], lr=lr, momentum=0.9)


def _ours(name, kwargs, epochs, groups=2):
    opt = _opt(groups=groups)
    s = getattr(sched, name)(opt, **kwargs)
    seq = [s.get_last_lr()]
    for _ in range(epochs):
        opt.step()
        s.step()
        seq.append(s.get_last_lr())
    assert seq[-1] == [g["lr"] for g in opt.param_groups]
    return np.array(seq)


def _theirs(torch, name, kwargs, epochs, groups=2):
    opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": 0.1 * (i + 1)}
                           for i in range(groups)], lr=0.1, momentum=0.9)
    s = getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
    seq = [s.get_last_lr()]
    for _ in range(epochs):
        opt.step()
        s.step()
        seq.append(s.get_last_lr())
    return np.array(seq)


def _case_id(c):
    """A test id that is the same in every process (no object addresses): pytest-xdist."""
    return c if isinstance(c, str) else ",".join(c)


@pytest.mark.parametrize("name,kwargs", SCHEDULES, ids=_case_id)
def test_sequence_matches_torch(torch, name, kwargs):
    np.testing.assert_allclose(_ours(name, kwargs, 15), _theirs(torch, name, kwargs, 15),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name,kwargs,closed", [
    ("StepLR", dict(step_size=3, gamma=0.5), lambda b, e: b * 0.5 ** (e // 3)),
    ("MultiStepLR", dict(milestones=[2, 5], gamma=0.1),
     lambda b, e: b * 0.1 ** ((e >= 2) + (e >= 5))),
    ("ExponentialLR", dict(gamma=0.96), lambda b, e: b * 0.96 ** e),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001),
     lambda b, e: 0.001 + (b - 0.001) * (1 + math.cos(math.pi * e / 10)) / 2),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.9 ** e), lambda b, e: b * 0.9 ** e),
])
def test_sequence_matches_closed_form(name, kwargs, closed):
    seq = _ours(name, kwargs, 10)
    expected = [[closed(b, e) for b in (0.1, 0.2)] for e in range(11)]
    np.testing.assert_allclose(seq, expected, rtol=1e-12)


def test_construction_sets_initial_lr_and_step_zero():
    opt = _opt(0.5)
    s = sched.ExponentialLR(opt, gamma=0.5)
    assert opt.param_groups[0]["initial_lr"] == 0.5 and s.base_lrs == [0.5]
    assert s.last_epoch == 0 and s.get_last_lr() == [0.5]


def test_per_group_lambdas():
    opt = _opt(groups=2)
    s = sched.LambdaLR(opt, [lambda e: 1.0, lambda e: 0.5 ** e])
    s.step()
    assert s.get_last_lr() == [0.1, 0.1]


def test_reduce_on_plateau_matches_torch(torch):
    metrics = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7]
    for kwargs in [dict(patience=2), dict(patience=1, cooldown=2, factor=0.5, min_lr=0.004),
                   dict(mode="max", patience=0, threshold=0.01, threshold_mode="abs")]:
        opt = _opt()
        ours = sched.ReduceLROnPlateau(opt, **kwargs)
        topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
        for m in metrics:
            ours.step(m)
            theirs.step(m)
            assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12), kwargs
            assert ours.num_bad_epochs == theirs.num_bad_epochs


def test_reduce_on_plateau_by_hand():
    opt = _opt()
    s = sched.ReduceLROnPlateau(opt, patience=2, factor=0.5)
    for m in [1.0, 1.0, 1.0]:  # first sets best, then 2 bad epochs: not more than patience
        s.step(m)
    assert s.get_last_lr() == [0.1]
    s.step(1.0)  # third bad epoch > patience
    assert s.get_last_lr() == [0.05]
    s.step(ad.tensor(0.5))  # a 0-d tensor metric works
    assert s.best == 0.5


@pytest.mark.parametrize("name,kwargs", SCHEDULES[:-1], ids=_case_id)
def test_state_dict_resume(name, kwargs):
    straight = _ours(name, kwargs, 12, groups=1)
    opt = _opt()
    s = getattr(sched, name)(opt, **kwargs)
    for _ in range(5):
        opt.step()
        s.step()
    opt_sd, s_sd = opt.state_dict(), s.state_dict()
    opt2 = _opt()
    s2 = getattr(sched, name)(opt2, **kwargs)
    opt2.load_state_dict(opt_sd)
    s2.load_state_dict(s_sd)
    seq = []
    for _ in range(7):
        opt2.step()
        s2.step()
        seq.append(s2.get_last_lr())
    np.testing.assert_allclose(seq, straight[6:], rtol=1e-12)


def test_lambda_state_dict_omits_functions():
    s = sched.LambdaLR(_opt(), lambda e: 1.0)
    assert "lr_lambdas" not in s.state_dict() and "optimizer" not in s.state_dict()


def test_resume_with_last_epoch_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(_opt(), step_size=2, last_epoch=3)


def test_errors():
    with pytest.raises(TypeError, match="Optimizer"):
        sched.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="step_size"):
        sched.StepLR(_opt(), step_size=0)
    with pytest.raises(ValueError, match="factor"):
        sched.ReduceLROnPlateau(_opt(), factor=1.5)
    with pytest.raises(ValueError, match="mode"):
        sched.ReduceLROnPlateau(_opt(), mode="up")
    with pytest.raises(ValueError, match="T_max"):
        sched.CosineAnnealingLR(_opt(), T_max=0)
    with pytest.raises(ValueError, match="2 lr_lambdas"):
        sched.LambdaLR(_opt(groups=2), [lambda e: 1.0])
