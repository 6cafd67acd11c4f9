"""Checkpoints both ways with PyTorch through safetensors: nn.save -> safetensors.torch.load_file
-> torch model, and safetensors.torch.save_file -> nn.load -> our model, same outputs."""
import numpy as np
import pytest

import autodiff as ad
import nn
from nn.serialization import load, save

from _torch import assert_close, require_torch

torch = require_torch()
st_torch = pytest.importorskip("safetensors.torch",
                               reason="the files extra: pip install 'autodiff[files]'")


def _models(kind):
    """(ours, torch's, input shape) with the same architecture and parameter names."""
    if kind == "linear":
        return (nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)),
                torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(),
                                    torch.nn.Linear(5, 3)), (2, 4))
    if kind == "conv_bn":
        return (nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU()),
                torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1),
                                    torch.nn.BatchNorm2d(3), torch.nn.ReLU()), (2, 2, 5, 5))
    return (nn.LSTM(3, 4, num_layers=2, batch_first=True),
            torch.nn.LSTM(3, 4, num_layers=2, batch_first=True), (2, 5, 3))


def _run(model, x, lib):
    model.eval()
    out = model(lib.from_numpy(x))
    return out[0] if isinstance(out, tuple) else out


def _train_bn_a_bit(model, shape, lib, dtype):
    """Non-trivial running statistics and num_batches_tracked in the saved state."""
    model.train()
    for seed in range(2):
        model(lib.from_numpy(np.random.default_rng(seed).normal(size=shape).astype(dtype)))


@pytest.mark.parametrize("kind", ["linear", "conv_bn", "lstm"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ours_to_torch(tmp_path, kind, dtype):
    ours, theirs, shape = _models(kind)
    ours = ours.double() if dtype == "float64" else ours
    theirs = theirs.double() if dtype == "float64" else theirs
    x = np.random.default_rng(5).normal(size=shape).astype(dtype)
    if kind == "conv_bn":
        with ad.no_grad():
            _train_bn_a_bit(ours, shape, ad, dtype)
    path = tmp_path / "ours.safetensors"
    save(ours.state_dict(), path)
    state = st_torch.load_file(str(path))
    assert set(state) == set(theirs.state_dict())
    theirs.load_state_dict(state)  # strict: every key, shape and dtype accepted as is
    if kind == "conv_bn":
        assert int(theirs[1].num_batches_tracked) == 2
        assert state["1.num_batches_tracked"].dtype == torch.int64
    with torch.no_grad(), ad.no_grad():
        tol = 1e-5 if dtype == "float32" else 1e-12
        assert_close(_run(ours, x, ad), _run(theirs, x, torch), rtol=tol, atol=tol)


@pytest.mark.parametrize("kind", ["linear", "conv_bn", "lstm"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_to_ours(tmp_path, kind, dtype):
    ours, theirs, shape = _models(kind)
    ours = ours.double() if dtype == "float64" else ours
    theirs = theirs.double() if dtype == "float64" else theirs
    x = np.random.default_rng(6).normal(size=shape).astype(dtype)
    if kind == "conv_bn":
        with torch.no_grad():
            _train_bn_a_bit(theirs, shape, torch, dtype)
    path = tmp_path / "theirs.safetensors"
    st_torch.save_file(theirs.state_dict(), str(path))
    state = load(path)
    assert set(state) == set(ours.state_dict())
    assert all(isinstance(v, ad.Tensor) for v in state.values())
    ours.load_state_dict(state)
    with torch.no_grad(), ad.no_grad():
        tol = 1e-5 if dtype == "float32" else 1e-12
        assert_close(_run(ours, x, ad), _run(theirs, x, torch), rtol=tol, atol=tol)


def test_checkpoint_with_prefixes_is_readable_by_torch(tmp_path):
    ours, theirs, shape = _models("linear")
    opt = nn.optim.Adam(ours.parameters(), lr=0.01)
    save({"epoch": 3, "model": ours.state_dict(), "optimizer": opt.state_dict()},
         tmp_path / "ckpt.safetensors")
    flat = st_torch.load_file(str(tmp_path / "ckpt.safetensors"))
    theirs.load_state_dict({k[len("model."):]: v for k, v in flat.items()
                            if k.startswith("model.")})
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    with torch.no_grad(), ad.no_grad():
        assert_close(_run(ours, x, ad), _run(theirs, x, torch), rtol=1e-5, atol=1e-6)


def test_torch_only_dtypes_are_refused_by_name(tmp_path):
    from nn.serialization import SerializationError
    st_torch.save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, str(tmp_path / "b.st"))
    with pytest.raises(SerializationError, match="dtype BF16, which autodiff does not have"):
        load(tmp_path / "b.st")
    for dt in (torch.uint16, torch.uint32, torch.uint64, torch.bool, torch.float16):
        st_torch.save_file({"w": torch.ones(2, dtype=dt)}, str(tmp_path / "u.st"))
        got = load(tmp_path / "u.st")["w"]
        assert str(got.dtype).split(".")[-1] == str(dt).split(".")[-1]
