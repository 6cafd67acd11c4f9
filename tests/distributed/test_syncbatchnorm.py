"""nn.SyncBatchNorm: in one process (no process group) it is BatchNorm, as torch's falls back;
convert_sync_batchnorm swaps the layers keeping their Parameters and buffers; under
`mpiexec -n 2` the statistics, gradients (first and second order) and running stats over
ranks with different batch sizes equal one process's BatchNorm on the concatenated batch."""
import numpy as np
import pytest

import autodiff as ad
import nn
from nn.syncbatchnorm import SyncBatchNorm

from _launch import run_mpi
from _torch import assert_close, backward_both, pair, require_torch

torch = require_torch()
R = np.random.default_rng(16)


def randn(*shape):
    return R.standard_normal(shape)


def _compare_state(ours, theirs, tol=1e-12):
    sd_a, sd_t = ours.state_dict(), theirs.state_dict()
    assert list(sd_a) == list(sd_t)
    for k, v in sd_t.items():
        assert_close(sd_a[k], v, rtol=tol, atol=tol, err_msg=k)


# --- one process: BatchNorm semantics, as torch's SyncBatchNorm falls back to batch_norm --------

CASES = [
    ((6, 3), {}),
    ((4, 3, 5), {"momentum": None}),
    ((3, 3, 4, 2), {"bias": False, "eps": 1e-3}),
    ((2, 3, 2, 3, 2), {"affine": False, "momentum": 0.3}),
    ((4, 3, 2), {"track_running_stats": False}),
]


@pytest.mark.parametrize("shape, kwargs", CASES, ids=[f"{len(s)}d-{k}" for s, k in CASES])
def test_without_process_group_matches_torch_syncbatchnorm_and_batchnorm(shape, kwargs):
    t = torch.nn.SyncBatchNorm(3, **kwargs).double()
    m = SyncBatchNorm(3, **kwargs).double()
    ref = getattr(nn, f"BatchNorm{max(len(shape) - 2, 1)}d")(3, **kwargs).double()
    with torch.no_grad():
        for p in t.parameters():
            p.copy_(torch.tensor(randn(*p.shape)))
    m.load_state_dict(t.state_dict())
    ref.load_state_dict(t.state_dict())
    _compare_state(m, t)
    for step in range(3):
        x = randn(*shape) * 2.0 + step
        ax, tx = pair(x)
        rx = ad.tensor(x, requires_grad=True)
        ay, ty, ry = m(ax), t(tx), ref(rx)
        assert_close(ay, ty, err_msg=f"output, step {step}")
        backward_both(ay, ty, seed=step)
        g = np.random.default_rng(step).standard_normal(shape)
        ry.backward(ad.tensor(g))
        assert_close(ax.grad, tx.grad, rtol=1e-10, atol=1e-12, err_msg=f"input grad {step}")
        assert_close(ax.grad, rx.grad, rtol=1e-10, atol=1e-12, err_msg="vs BatchNorm")
        for (name, pa), pt, pr in zip(m.named_parameters(), t.parameters(), ref.parameters()):
            assert_close(pa.grad, pt.grad, rtol=1e-10, atol=1e-12, err_msg=name)
            assert_close(pa.grad, pr.grad, rtol=1e-10, atol=1e-12, err_msg=name)
        _compare_state(m, t)
        _compare_state(m, ref)
    m.eval(), t.eval()
    ax, tx = pair(randn(1, *shape[1:]))
    assert_close(m(ax), t(tx), err_msg="eval output")


def test_float32_without_process_group_matches_torch():
    t, m = torch.nn.SyncBatchNorm(4), SyncBatchNorm(4)
    x = randn(5, 4, 3).astype(np.float32)
    ax, tx = pair(x)
    ay, ty = m(ax), t(tx)
    assert ay.dtype == np.float32
    assert_close(ay, ty, tol=1e-5)
    backward_both(ay, ty)
    assert_close(ax.grad, tx.grad, tol=1e-5)
    assert_close(m.weight.grad, t.weight.grad, tol=1e-4)
    _compare_state(m, t, tol=1e-6)


def test_repr_state_dict_and_defaults_match_torch():
    for kwargs in ({}, {"eps": 1e-3, "momentum": None, "affine": False},
                   {"bias": False, "track_running_stats": False}):
        t, m = torch.nn.SyncBatchNorm(5, **kwargs), SyncBatchNorm(5, **kwargs)
        assert repr(m) == repr(t)
        assert list(m.state_dict()) == list(t.state_dict())
        _compare_state(m, t, tol=0)
        assert m.process_group is None
    group = object()
    assert SyncBatchNorm(2, process_group=group).process_group is group


def test_errors_match_torch():
    m, t = SyncBatchNorm(3).double(), torch.nn.SyncBatchNorm(3).double()
    with pytest.raises(ValueError, match=r"SyncBatchNorm\(3\): expected at least 2D input "
                                         r"\(got 1D input\).*\(N, 3, \*\)"):
        m(ad.zeros(3))
    with pytest.raises(ValueError):
        t(torch.zeros(3))
    with pytest.raises(ValueError, match=r"channels \(dim 1\) should be non-zero.*\(2, 0\)"):
        m(ad.zeros(2, 0))
    with pytest.raises(ValueError):
        t(torch.zeros(2, 0))
    with pytest.raises(RuntimeError, match=r"SyncBatchNorm\(3\): the input has 4 channels"):
        m(ad.zeros(2, 4, dtype=ad.float64))
    with pytest.raises(RuntimeError):
        t(torch.zeros(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        m(ad.zeros(1, 3, dtype=ad.float64))
    with pytest.raises(ValueError):
        t(torch.zeros(1, 3, dtype=torch.float64))
    m.eval()  # eval normalises a single sample with the running statistics
    assert m(ad.ones(1, 3, dtype=ad.float64)).shape == (1, 3)


# --- convert_sync_batchnorm ----------------------------------------------------------------------

def _model(lib):
    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = lib.nn.Conv2d(2, 3, 1)
            self.bn = lib.nn.BatchNorm2d(3, momentum=None, bias=False)
            self.inner = lib.nn.Sequential(lib.nn.BatchNorm2d(3, affine=False),
                                           lib.nn.InstanceNorm2d(3))

    return lib.nn.Sequential(lib.nn.Linear(4, 2), lib.nn.BatchNorm1d(2, eps=1e-3), Block(),
                             lib.nn.BatchNorm3d(2, track_running_stats=False))


class _Lib:
    nn = nn


def test_convert_sync_batchnorm_replaces_nested_batchnorms_keeping_their_state():
    model, tmodel = _model(_Lib), _model(torch)
    model[1].weight.requires_grad_(False)
    model[2].train(False)
    model[2].bn.running_mean.add_(1.5)
    before = model.state_dict(keep_vars=True)
    kinds = {name: type(mod) for name, mod in model.named_modules()}
    group = object()
    out = SyncBatchNorm.convert_sync_batchnorm(model, process_group=group)
    tout = torch.nn.SyncBatchNorm.convert_sync_batchnorm(tmodel)
    assert out is model
    assert repr(out) == repr(tout)
    converted = {"1", "2.bn", "2.inner.0", "3"}
    for name, mod in out.named_modules():
        if name in converted:
            assert type(mod) is SyncBatchNorm and mod.process_group is group, name
            assert mod.training is (not name.startswith("2")), name
        else:
            assert type(mod) is kinds[name], name
    after = out.state_dict(keep_vars=True)
    assert list(after) == list(before)
    for k, v in before.items():
        assert after[k] is v, k  # the same Parameter and buffer objects
    assert list(out.state_dict()) == list(tout.state_dict())
    assert out[1].weight.requires_grad is False and out[1].bias.requires_grad is True
    assert out[2].bn.bias is None and out[2].bn.momentum is None and out[1].eps == 1e-3
    assert out[3].running_mean is None and out[3].track_running_stats is False
    params = [v for v in before.values() if isinstance(v, nn.Parameter)]
    assert len(params) == len(list(out.parameters())) == len(list(tout.parameters()))
    assert all(a is b for a, b in zip(out.parameters(), params))


def test_convert_sync_batchnorm_of_a_batchnorm_returns_a_new_module_that_computes_the_same():
    bn = nn.BatchNorm1d(3).double()
    with ad.no_grad():
        bn.weight.copy_(ad.tensor(randn(3)))
    sync = SyncBatchNorm.convert_sync_batchnorm(bn)
    assert type(sync) is SyncBatchNorm and sync is not bn and sync.weight is bn.weight
    x = randn(4, 3)
    ys, yb = sync(ad.tensor(x)), bn(ad.tensor(x))
    assert_close(ys, yb)
    assert sync.num_batches_tracked is bn.num_batches_tracked
    assert bn.num_batches_tracked.item() == 2  # both calls stepped the one shared buffer
    again = SyncBatchNorm.convert_sync_batchnorm(sync)  # as torch: a SyncBatchNorm is converted
    assert type(again) is SyncBatchNorm and again is not sync and again.weight is bn.weight
    lone = nn.InstanceNorm1d(3)
    assert SyncBatchNorm.convert_sync_batchnorm(lone) is lone


# --- under MPI: two ranks, and one process (world size 1) --------------------------------------

@pytest.fixture(scope="module")
def two_ranks():
    result, = run_mpi("_syncbn_ranks.py", n=2, timeout=90)
    return result["checks"]


def _failures(checks):
    return [f"rank {r}: {name}: error {err:.3g} above {tol:g}"
            for r, by_name in enumerate(checks) for name, (err, tol) in by_name.items()
            if not err <= tol]


def test_two_ranks_match_one_process_batchnorm_on_the_whole_batch(two_ranks):
    assert len(two_ranks) == 2
    names = set(two_ranks[0])
    assert names == set(two_ranks[1])
    for part in ("batches 3 and 5: second order: weight grad (this rank's part)",
                 "one sample on rank 0: running_var", "empty batch on rank 1: input grad",
                 "two-pass numerics", "float32: output", "new_group([0, 1])", "alone",
                 "one value over all ranks raises", "DDP + convert_sync_batchnorm: 0.weight"):
        assert any(part in name for name in names), part
    assert len(names) >= 60
    assert not _failures(two_ranks), "\n".join(_failures(two_ranks))


def test_initialised_world_of_one_process_is_batchnorm():
    result, = run_mpi("_syncbn_ranks.py", n=None, timeout=60, args=("single",))
    checks = result["checks"]
    assert len(checks) == 1 and len(checks[0]) >= 20
    assert not _failures(checks), "\n".join(_failures(checks))
