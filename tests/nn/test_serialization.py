"""nn.save / nn.load: round trips, the safetensors layout, atomic writes, old .npz files."""
import json
import math
import os
import pickle
import signal
import struct
import subprocess
import sys
import textwrap
import warnings
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autodiff as ad
import nn
import nn.serialization as ser
from nn import optim
from nn.serialization import SerializationError, load, save

safetensors = pytest.importorskip("safetensors", reason="the files extra: pip install "
                                  "'autodiff[files]'")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _same(a, b):
    """Deep equality that compares tensors/arrays by dtype and values and keeps types."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, ad.Tensor):
        assert a.dtype == b.dtype and a.requires_grad == b.requires_grad
        assert a.shape == b.shape
        np.testing.assert_array_equal(a.data, b.data)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b)
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


def _header(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n])


def test_round_trip_nested(tmp_path):
    obj = {
        "weights": OrderedDict([("fc.weight", ad.randn(3, 4)),
                                ("fc.bias", ad.zeros(3, dtype=ad.float64, requires_grad=True)),
                                ("bn.num_batches_tracked", ad.tensor(7))]),
        "numbers": [1, -2.5, True, None, "text", float("inf"), float("-inf"), float("nan"),
                    2 ** 100],
        "tuple": (0.9, (0.999,)),
        3: {"int key": np.int64(4), "np float": np.float32(0.5), (1, "a"): "tuple key",
            None: 1, 2.5: 2, False: 3},
        "empty": {"list": [], "array": np.zeros((0, 2), np.float32), "bool": np.array([True]),
                  "tensor": ad.zeros(2, 0, 3)},
        "0d": ad.tensor(3.5),
        "param": nn.Parameter(ad.ones(2)),
        "frozen": nn.Parameter(ad.ones(2), requires_grad=False),
    }
    path = tmp_path / "obj.safetensors"
    save(obj, path)
    _same(obj, load(path))
    _same(obj, load(str(path)))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.int16,
                                   np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                                   np.uint64, np.bool_])
def test_every_dtype_and_shape(tmp_path, dtype):
    rng = np.random.default_rng(0)
    arrays = [np.asarray(rng.integers(0, 2, size=s) if dtype == np.bool_ else
                         rng.integers(0, 100, size=s)).astype(dtype)
              for s in [(), (0,), (3, 0, 2), (5,), (2, 3, 4)]]
    obj = {"t": [ad.from_numpy(a.copy()) for a in arrays], "a": arrays}
    save(obj, tmp_path / "d.safetensors")
    _same(obj, load(tmp_path / "d.safetensors"))


def test_non_contiguous_and_big_endian_arrays_are_saved_by_value(tmp_path):
    x = np.arange(24.0).reshape(4, 6)
    obj = {"T": x.T, "strided": x[::2, 1::3], "t": ad.tensor(x).permute(1, 0),
           "be": np.arange(5, dtype=">i4")}
    save(obj, tmp_path / "n.safetensors")
    got = load(tmp_path / "n.safetensors")
    np.testing.assert_array_equal(got["T"], x.T)
    np.testing.assert_array_equal(got["strided"], x[::2, 1::3])
    np.testing.assert_array_equal(got["t"].data, x.T)
    assert got["be"].dtype == np.dtype("<i4") and list(got["be"]) == [0, 1, 2, 3, 4]


def test_shared_storage_is_saved_as_separate_copies(tmp_path):
    w = ad.randn(3)
    save({"a": w, "b": w}, tmp_path / "s.safetensors")
    got = load(tmp_path / "s.safetensors")
    np.testing.assert_array_equal(got["a"].data, got["b"].data)
    got["a"].data[0] = 42.0
    assert got["b"].data[0] != 42.0


def test_round_trip_module_state_dict(tmp_path):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    save(model.state_dict(), tmp_path / "model.pt")  # any extension
    loaded = load(tmp_path / "model.pt")
    assert list(loaded) == list(model.state_dict())
    other = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    other.load_state_dict(loaded)
    x = ad.randn(5, 4)
    np.testing.assert_array_equal(model(x).data, other(x).data)


def test_layout_is_plain_safetensors(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    path = tmp_path / "f.safetensors"
    save(model.state_dict(), path)
    from safetensors.numpy import load_file
    flat = load_file(str(path))
    assert set(flat) == set(model.state_dict())  # exactly the state_dict's keys
    np.testing.assert_array_equal(flat["0.weight"], model.state_dict()["0.weight"].data)
    meta = _header(path)["__metadata__"]
    assert meta["format"] == "pt"
    doc = json.loads(meta["autodiff"])
    assert doc["format"] == "autodiff-nn" and doc["version"] == 2
    assert doc["root"]["$dict"][0] == ["0.weight", {"$tensor": "0.weight",
                                                    "requires_grad": False}]
    # nested objects: path-like names, collisions disambiguated, never "__metadata__"
    save({"model": {"0.weight": ad.ones(1)}, "model.0": {"weight": ad.ones(1)},
          "__metadata__": np.ones(1), 4: [ad.ones(1), np.int8(3)], "w": ad.ones(1)}, path)
    names = set(_header(path)) - {"__metadata__"}
    assert names == {"model.0.weight", "model.0.weight#2", "__metadata__#2", "4.0", "4.1", "w"}


def test_foreign_safetensors_file_loads_as_a_flat_dict(tmp_path):
    from safetensors.numpy import save_file
    arrays = {f"layers.{i}.weight": np.full(2, i, np.float32) for i in (10, 2, 1)}
    arrays["bias"] = np.zeros(1, np.int64)
    save_file(arrays, str(tmp_path / "x.safetensors"))
    got = load(tmp_path / "x.safetensors")
    assert list(got) == ["bias", "layers.1.weight", "layers.2.weight", "layers.10.weight"]
    assert all(isinstance(v, ad.Tensor) and not v.requires_grad for v in got.values())
    np.testing.assert_array_equal(got["layers.10.weight"].data, [10, 10])


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


def test_training_checkpoint_with_rng_state(tmp_path):
    g = ad.Generator().manual_seed(3) if hasattr(ad, "Generator") else None
    ckpt = {"epoch": 2, "config": {"lr": 0.1, "hidden": [8, 8], "act": "relu"},
            "history": [{"loss": 0.5, "acc": 0.9}], "rng": np.random.get_state()[1]}
    if g is not None and hasattr(g, "get_state"):
        ckpt["gen"] = g.get_state()
    save(ckpt, tmp_path / "c.safetensors")
    _same(ckpt, load(tmp_path / "c.safetensors"))


def test_unsupported_objects_are_refused_before_writing(tmp_path):
    path = tmp_path / "x.safetensors"
    save({"ok": 1}, path)
    with pytest.raises(TypeError, match=r"function at obj\['f'\]"):
        save({"f": lambda e: e}, path)
    with pytest.raises(TypeError, match="dtype object"):
        save({"a": np.array([object()])}, path)
    for bad in [np.array(["s"]), np.ones(2, np.complex64), np.array([1], "datetime64[s]"),
                np.zeros(2, [("a", "f4")]), np.ones(1, np.longdouble)]:
        with pytest.raises(TypeError, match="checkpoints hold bool, int8-64"):
            save({"a": bad}, path)
    with pytest.raises(TypeError, match="dict key"):
        save({object(): 1}, path)
    with pytest.raises(TypeError, match="dict key"):
        save({np.float64(1.5): 1}, path)
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="nested more than 100"):
        save(loop, path)
    with pytest.raises(TypeError, match="path must be a str"):
        save({}, 3)
    assert load(path) == {"ok": 1} and os.listdir(tmp_path) == ["x.safetensors"]


def test_failure_during_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save({"epoch": 1, "w": ad.ones(3)}, path)
    before = path.read_bytes()

    def broken_write(f, data):
        f.write(data[:len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(ser, "_write", broken_write)
    with pytest.raises(OSError, match="disk full"):
        save({"epoch": 2, "w": ad.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # the temporary file was removed


def test_replace_keeps_permissions(tmp_path):
    path = tmp_path / "p.safetensors"
    save({"a": 1}, path)
    os.chmod(path, 0o640)
    save({"a": 2}, path)
    assert os.stat(path).st_mode & 0o777 == 0o640 and load(path) == {"a": 2}


def test_symlink_is_written_through(tmp_path):
    real = tmp_path / "runs" / "real.safetensors"
    real.parent.mkdir()
    save({"v": 1}, real)
    link = tmp_path / "latest.safetensors"
    link.symlink_to(real)
    save({"v": 2}, link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert load(real) == {"v": 2} and load(link) == {"v": 2}
    assert sorted(os.listdir(real.parent)) == ["real.safetensors"]
    dangling = tmp_path / "dangling.safetensors"
    dangling.symlink_to(tmp_path / "runs" / "new.safetensors")
    save({"v": 3}, dangling)
    assert dangling.is_symlink() and load(tmp_path / "runs" / "new.safetensors") == {"v": 3}


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait(timeout=30)
    return p.pid


def test_stale_temp_files_are_removed_at_the_next_save(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / f".other.safetensors.{dead}.0123abcd.nnsave.tmp"
    stale.write_bytes(b"x" * 100)
    old = tmp_path / ".old.safetensors.1.89abcdef.nnsave.tmp"  # pid 1 is alive: removed by age
    old.write_bytes(b"x")
    os.utime(old, (1, 1))
    live = tmp_path / f".busy.safetensors.{os.getpid()}.deadbeef.nnsave.tmp"  # a live writer
    live.write_bytes(b"x")
    foreign = tmp_path / ".unrelated.tmp"  # not our pattern: never touched
    foreign.write_bytes(b"x")
    save({"a": 1}, tmp_path / "c.safetensors")
    assert sorted(os.listdir(tmp_path)) == sorted(["c.safetensors", live.name, foreign.name])


_KILL_CHILD = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, sys.argv[1])
    import autodiff as ad
    from nn.serialization import save
    big = {"w": ad.tensor(np.arange(4_000_000, dtype=np.float64)), "epoch": 99}
    print("ready", flush=True)
    while True:
        save(big, sys.argv[2])
""")


def test_kill_9_during_save_keeps_the_old_file_loadable(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"w": ad.ones(3), "epoch": 1}, path)
    orphans = 0
    for delay in (0.05, 0.2, 0.4, 0.1, 0.3, 0.15):
        p = subprocess.Popen([sys.executable, "-c", _KILL_CHILD, ROOT, str(path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
            try:
                p.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                pass
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
            p.stdout.close()
            p.stderr.close()
        assert load(path)["epoch"] in (1, 99)  # the old or a complete new file
        orphans += any(n.endswith(".nnsave.tmp") for n in os.listdir(tmp_path))
        if orphans >= 2:
            break
    assert orphans, "no kill landed mid-write: the cleanup below was not exercised"
    save({"w": ad.ones(3), "epoch": 2}, path)
    assert os.listdir(tmp_path) == ["ckpt.safetensors"] and load(path)["epoch"] == 2


def test_without_safetensors_installed(tmp_path, monkeypatch):
    save({"a": 1}, tmp_path / "a.safetensors")
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"pip install 'autodiff\[files\]'"):
        save({"a": 1}, tmp_path / "b.safetensors")
    with pytest.raises(ImportError, match=r"nn.load.*pip install 'autodiff\[files\]'"):
        load(tmp_path / "a.safetensors")
    assert not (tmp_path / "b.safetensors").exists()


# --- damaged and foreign files (tests/nn/test_serialization_hostile.py has the rest) ---

def _good_file(tmp_path):
    path = tmp_path / "good.safetensors"
    save({"w": ad.randn(50, 50), "lr": 0.1}, path)
    return path, path.read_bytes()


@pytest.mark.parametrize("cut", [0.99, 0.5, 0.1, 0.001])
def test_truncated_file(tmp_path, cut):
    path, data = _good_file(tmp_path)
    path.write_bytes(data[:max(int(len(data) * cut), 1)])
    with pytest.raises(SerializationError, match=r"good\.safetensors"):
        load(path)


def test_empty_file(tmp_path):
    (tmp_path / "e.safetensors").write_bytes(b"")
    with pytest.raises(SerializationError, match=r"e\.safetensors is empty"):
        load(tmp_path / "e.safetensors")


def test_foreign_files(tmp_path):
    np.savez(tmp_path / "plain.npz", x=np.ones(2))
    with pytest.warns(FutureWarning):
        ser._npz_warned[0] = False
        with pytest.raises(SerializationError, match=r"plain\.npz is a zip archive but not an"):
            load(tmp_path / "plain.npz")
    (tmp_path / "notes.txt").write_text("hello world, not a checkpoint")
    with pytest.raises(SerializationError, match=r"notes\.txt is not a safetensors file.*header "
                                                 r"length of \d+ bytes"):
        load(tmp_path / "notes.txt")
    with zipfile.ZipFile(tmp_path / "torchlike.pt", "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"a": 1}))
    with pytest.raises(SerializationError, match="torch.save"):
        load(tmp_path / "torchlike.pt")
    with pytest.raises(FileNotFoundError, match="missing.safetensors does not exist"):
        load(tmp_path / "missing.safetensors")
    with pytest.raises(SerializationError, match="is a directory"):
        load(tmp_path)
    with pytest.raises(TypeError, match="path must be a str"):
        load(None)


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
    with pytest.raises(SerializationError, match="looks like a pickle"):
        load(path)
    npz = tmp_path / "evil.npz"
    _write_v1(npz, {"$ndarray": "a0"}, a0=np.array([_Boom(marker)], dtype=object))
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
@settings(max_examples=40, deadline=None)
def test_round_trip_property(tmp_path_factory, obj):
    path = tmp_path_factory.mktemp("rt") / "obj.safetensors"
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
    save({"opt": opt.state_dict(), "sched": s.state_dict()}, tmp_path / "s.safetensors")
    advance(s, 3)
    opt2, s2 = fresh()
    ckpt = load(tmp_path / "s.safetensors")
    opt2.load_state_dict(ckpt["opt"])
    s2.load_state_dict(ckpt["sched"])
    advance(s2, 3)
    assert s2.get_last_lr() == s.get_last_lr()


# --- version-1 .npz checkpoints: read-only for one release ------------------------------

def _write_v1(path, root, **arrays):
    """A file as the version-1 nn.save wrote it: np.savez of a JSON manifest and arrays."""
    manifest = json.dumps({"format": "autodiff-nn", "version": 1, "root": root}).encode()
    np.savez(path, __manifest__=np.frombuffer(manifest, np.uint8), **arrays)


def test_old_npz_checkpoint_still_loads_with_one_warning(tmp_path):
    path = tmp_path / "old.npz"
    _write_v1(path, {"$dict": [["w", {"$tensor": "a0", "requires_grad": True}],
                               [3, {"$tuple": [{"$float": "inf"}, {"$scalar": "a1"}]}],
                               ["o", {"$dict": [["b", {"$ndarray": "a2"}]], "ordered": True}]],
                     "ordered": False},
              a0=np.arange(4.0).reshape(2, 2), a1=np.array(2, np.int32),
              a2=np.asfortranarray(np.arange(6, dtype=">i8").reshape(2, 3)))
    ser._npz_warned[0] = False
    with pytest.warns(FutureWarning, match="read-only.*re-save it with nn.save"):
        got = load(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(path)  # warned once per process
    assert got["w"].requires_grad and got["w"].dtype == ad.float64
    np.testing.assert_array_equal(got["w"].data, [[0, 1], [2, 3]])
    assert got[3][0] == math.inf and got[3][1] == np.int32(2) and type(got[3][1]) is np.int32
    assert isinstance(got["o"], OrderedDict)
    np.testing.assert_array_equal(got["o"]["b"], np.arange(6).reshape(2, 3))
    save(got, tmp_path / "new.safetensors")  # the migration: load, then save
    _same(got, load(tmp_path / "new.safetensors"))


def test_old_npz_future_version_and_bad_manifest(tmp_path):
    ser._npz_warned[0] = True
    path = tmp_path / "v.npz"
    manifest = json.dumps({"format": "autodiff-nn", "version": 99, "root": None}).encode()
    np.savez(path, __manifest__=np.frombuffer(manifest, np.uint8))
    with pytest.raises(SerializationError, match="version 99 is not supported"):
        load(path)
    np.savez(path, __manifest__=np.frombuffer(b"{not json", np.uint8))
    with pytest.raises(SerializationError, match="manifest is not valid JSON"):
        load(path)
    _write_v1(path, {"$tensor": "a7"})
    with pytest.raises(SerializationError, match="tensor 'a7', which is not in the file"):
        load(path)
