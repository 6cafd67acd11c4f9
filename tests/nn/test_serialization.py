"""nn.save / nn.load: round trips, atomic writes, and clear errors for damaged or foreign files."""
import json
import math
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autodiff as ad
import nn.serialization as ser
from nn import optim
from nn.serialization import SerializationError, load, save


def _same(a, b):
    """Deep equality that compares tensors/arrays by dtype and values and keeps types."""
    assert type(a) is type(b) or (isinstance(a, ad.Tensor) and isinstance(b, ad.Tensor)), \
        (type(a), type(b))
    if isinstance(a, ad.Tensor):
        assert a.dtype == b.dtype and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.data, b.data)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def test_round_trip_nested(tmp_path):
    obj = {
        "weights": OrderedDict([("fc.weight", ad.randn(3, 4)),
                                ("fc.bias", ad.zeros(3, dtype=ad.float64, requires_grad=True)),
                                ("bn.num_batches_tracked", ad.tensor(7))]),
        "numbers": [1, -2.5, True, None, "text", float("inf"), float("-inf"), float("nan"),
                    2 ** 100],
        "tuple": (0.9, (0.999,)),
        3: {"int key": np.int64(4), "np float": np.float32(0.5), (1, "a"): "tuple key"},
        "empty": {"list": [], "array": np.zeros((0, 2), np.float32), "bool": np.array([True])},
        "0d": ad.tensor(3.5),
    }
    path = tmp_path / "obj.npz"
    save(obj, path)
    _same(obj, load(path))
    _same(obj, load(str(path)))


def test_round_trip_module_state_dict(tmp_path):
    import nn
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    save(model.state_dict(), tmp_path / "model.pt")
    loaded = load(tmp_path / "model.pt")
    assert list(loaded) == list(model.state_dict())
    other = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    other.load_state_dict(loaded)
    x = ad.randn(5, 4)
    np.testing.assert_array_equal(model(x).data, other(x).data)


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.01, amsgrad=True)),
                                         ("RMSprop", dict(centered=True, momentum=0.5)),
                                         ("Adagrad", dict(lr_decay=0.1))])
def test_optimizer_resume_through_a_file(tmp_path, name, kwargs):
    def run(params, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((params[0] * params[1]).sin().sum() + (params[0] ** 2).sum()).backward()
            opt.step()

    init = [np.linspace(-1, 1, 6).reshape(2, 3), np.linspace(0.5, 2, 3)]
    straight = [ad.tensor(a, requires_grad=True) for a in init]
    run(straight, getattr(optim, name)(straight, **kwargs), 12)

    params = [ad.tensor(a, requires_grad=True) for a in init]
    opt = getattr(optim, name)(params, **kwargs)
    run(params, opt, 5)
    save({"params": params, "opt": opt.state_dict()}, tmp_path / "ckpt")
    ckpt = load(tmp_path / "ckpt")
    params2 = ckpt["params"]
    assert all(p.requires_grad for p in params2)
    opt2 = getattr(optim, name)(params2, **kwargs)
    opt2.load_state_dict(ckpt["opt"])
    run(params2, opt2, 7)
    for a, b in zip(straight, params2):
        np.testing.assert_array_equal(a.data, b.data)


def test_format_is_a_documented_npz(tmp_path):
    path = tmp_path / "f.npz"
    save({"w": ad.ones(2)}, path)
    with np.load(path, allow_pickle=False) as z:
        assert set(z.files) == {"__manifest__", "a0"}
        manifest = json.loads(z["__manifest__"].tobytes())
        np.testing.assert_array_equal(z["a0"], [1.0, 1.0])
    assert manifest["format"] == "autodiff-nn" and manifest["version"] == 1
    assert manifest["root"] == {"$dict": [["w", {"$tensor": "a0", "requires_grad": False}]],
                                "ordered": False}


def test_unsupported_objects_are_refused_before_writing(tmp_path):
    path = tmp_path / "x.npz"
    save({"ok": 1}, path)
    with pytest.raises(TypeError, match=r"function at obj\['f'\]"):
        save({"f": lambda e: e}, path)
    with pytest.raises(TypeError, match="dtype object"):
        save({"a": np.array([object()])}, path)
    with pytest.raises(TypeError, match="dict key"):
        save({object(): 1}, path)
    assert load(path) == {"ok": 1} and os.listdir(tmp_path) == ["x.npz"]


def test_failure_during_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    save({"epoch": 1, "w": ad.ones(3)}, path)
    before = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(ser.np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save({"epoch": 2, "w": ad.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # the temporary file was removed


def test_replace_keeps_permissions(tmp_path):
    path = tmp_path / "p.npz"
    save({"a": 1}, path)
    os.chmod(path, 0o640)
    save({"a": 2}, path)
    assert os.stat(path).st_mode & 0o777 == 0o640 and load(path) == {"a": 2}


def _good_file(tmp_path):
    path = tmp_path / "good.npz"
    save({"w": ad.randn(50, 50), "lr": 0.1}, path)
    return path, path.read_bytes()


@pytest.mark.parametrize("cut", [0.99, 0.5, 0.1])
def test_truncated_file(tmp_path, cut):
    path, data = _good_file(tmp_path)
    path.write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(SerializationError, match=r"good\.npz.*(truncated|corrupted)"):
        load(path)


def test_empty_file(tmp_path):
    (tmp_path / "e.npz").write_bytes(b"")
    with pytest.raises(SerializationError, match=r"e\.npz is empty"):
        load(tmp_path / "e.npz")


def test_corrupted_array_bytes(tmp_path):
    path, data = _good_file(tmp_path)
    data = bytearray(data)
    mid = len(data) // 2  # inside the 50x50 array: the zip CRC catches it
    data[mid:mid + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    with pytest.raises(SerializationError, match=r"good\.npz.*(truncated or corrupted)"):
        load(path)


def test_corrupted_manifest(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, __manifest__=np.frombuffer(b"{not json", np.uint8))
    with pytest.raises(SerializationError, match="not valid JSON"):
        load(path)
    np.savez(path, __manifest__=np.frombuffer(json.dumps(
        {"format": "autodiff-nn", "version": 1, "root": {"$tensor": "a7"}}).encode(), np.uint8))
    with pytest.raises(SerializationError, match="'a7', which is not in the archive"):
        load(path)


def test_future_version(tmp_path):
    path = tmp_path / "v.npz"
    np.savez(path, __manifest__=np.frombuffer(json.dumps(
        {"format": "autodiff-nn", "version": 99, "root": None}).encode(), np.uint8))
    with pytest.raises(SerializationError, match="version 99 is not supported"):
        load(path)


def test_foreign_files(tmp_path):
    np.savez(tmp_path / "plain.npz", x=np.ones(2))
    with pytest.raises(SerializationError, match=r"plain\.npz is a zip archive but not an nn"):
        load(tmp_path / "plain.npz")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SerializationError, match=r"notes\.txt is not an nn\.save file"):
        load(tmp_path / "notes.txt")
    with zipfile.ZipFile(tmp_path / "torchlike.pt", "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"a": 1}))
    with pytest.raises(SerializationError, match="torch.save"):
        load(tmp_path / "torchlike.pt")
    with pytest.raises(FileNotFoundError, match="missing.npz does not exist"):
        load(tmp_path / "missing.npz")


class _Boom:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"state": _Boom(marker)}))
    with pytest.raises(SerializationError, match="pickle"):
        load(path)
    # an .npz whose array is a pickled object array, with a valid-looking manifest
    npz = tmp_path / "evil.npz"
    np.savez(npz, __manifest__=np.frombuffer(json.dumps(
        {"format": "autodiff-nn", "version": 1, "root": {"$ndarray": "a0"}}).encode(), np.uint8),
        a0=np.array([_Boom(marker)], dtype=object))
    with pytest.raises(SerializationError, match="pickled object array"):
        load(npz)
    assert not marker.exists()


def test_torch_save_file_is_refused(torch, tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "t.pt")
    with pytest.raises(SerializationError, match="torch.save"):
        load(tmp_path / "t.pt")


_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.floats(-1e3, 1e3, width=32), max_size=6).map(
        lambda v: ad.tensor(np.array(v, dtype=np.float32))),
    st.lists(st.integers(-5, 5), max_size=4).map(lambda v: np.array(v, dtype=np.int64)))
_keys = st.one_of(st.text(max_size=6), st.integers(-3, 3))
_trees = st.recursive(_leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(_keys, inner, max_size=4)), max_leaves=12)


@given(_trees)
@settings(max_examples=40)
def test_round_trip_property(tmp_path_factory, obj):
    path = tmp_path_factory.mktemp("rt") / "obj.npz"
    save(obj, path)
    _same(obj, load(path))


@pytest.mark.parametrize("make", [
    lambda o: optim.lr_scheduler.MultiStepLR(o, milestones=[2, 2, 4], gamma=0.5),
    lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
    lambda o: optim.lr_scheduler.ReduceLROnPlateau(o, patience=0),
    lambda o: optim.lr_scheduler.LambdaLR(o, lambda e: 0.9 ** e),
])
def test_scheduler_state_dict_through_a_file(tmp_path, make):
    def fresh():
        opt = optim.SGD([ad.zeros(1, requires_grad=True)], lr=0.1)
        return opt, make(opt)

    def advance(s, n):
        for _ in range(n):
            s.step(1.0) if isinstance(s, optim.lr_scheduler.ReduceLROnPlateau) else s.step()

    opt, s = fresh()
    advance(s, 3)
    save({"opt": opt.state_dict(), "sched": s.state_dict()}, tmp_path / "s.npz")
    advance(s, 3)
    opt2, s2 = fresh()
    ckpt = load(tmp_path / "s.npz")
    opt2.load_state_dict(ckpt["opt"])
    s2.load_state_dict(ckpt["sched"])
    advance(s2, 3)
    assert s2.get_last_lr() == s.get_last_lr()
