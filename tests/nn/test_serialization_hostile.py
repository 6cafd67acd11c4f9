"""Hostile files for nn.load: every malformed input gives SerializationError, nothing else, no
allocation beyond the file's size and no code run (issue 17, "Must hold")."""
import io
import json
import os
import pickle
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import autodiff as ad
import nn.serialization as ser
from nn.serialization import SerializationError, load, save

pytest.importorskip("safetensors", reason="the files extra: pip install 'autodiff[files]'")


@pytest.fixture(autouse=True)
def _npz_warning_already_given():
    ser._npz_warned[0] = True  # the old-format note is tested in test_serialization.py


def _st(header, data=b"", pad=True):
    """A safetensors file from a header (dict or raw bytes) and a data section."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def _ours(root, tensors=None, extra_meta=None):
    """A safetensors file whose autodiff metadata holds `root` (any JSON value)."""
    tensors = tensors or {}
    header, data = {}, b""
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        code = {v: k for k, v in {"F32": "float32", "F64": "float64", "I64": "int64",
                                  "U8": "uint8"}.items()}[arr.dtype.name]
        header[name] = {"dtype": code, "shape": list(arr.shape),
                        "data_offsets": [len(data), len(data) + arr.nbytes]}
        data += arr.tobytes()
    doc = root if isinstance(root, str) else json.dumps(
        {"format": "autodiff-nn", "version": 2, "root": root})
    header["__metadata__"] = {"format": "pt", "autodiff": doc, **(extra_meta or {})}
    return _st(header, data)


def _check(tmp_path, data, match=None, name="bad.safetensors"):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SerializationError, match=match) as info:
        load(path)
    assert name in str(info.value)
    return str(info.value)


def _good(tmp_path):
    path = tmp_path / "good.safetensors"
    save({"w": ad.randn(4, 3), "b": ad.zeros(3, dtype=ad.float64), "epoch": 3,
          "opt": {"state": {0: {"step": ad.tensor(2.0)}}, "lr": 0.1}, "t": (1, "x")}, path)
    return path.read_bytes()


# --- the safetensors container ---------------------------------------------------------

_W = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}


@pytest.mark.parametrize("data,match", [
    (b"\x00", "only 1 bytes long"),
    (struct.pack("<Q", 2 ** 63) + b"{}", r"header length of 9223372036854775808 bytes but the "
                                          r"file holds 2"),
    (struct.pack("<Q", 10 ** 6) + b"{" + b" " * 100, "header length of 1000000"),
    (struct.pack("<Q", 4) + b"[1,2]   ", "does not start with"),
    (_st(b"{not json"), "corrupted"),
    (_st(b"[1, 2]"), "does not start with '{'"),
    (_st(b'{"__metadata__": {"a": 1}}'), "corrupted"),
    (_st({"w": {"dtype": "F32", "shape": [2]}}, b"\0" * 8), "corrupted"),
    (_st({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
     "corrupted"),
    (_st({"w": {"dtype": "F32", "shape": [10 ** 12, 10 ** 12], "data_offsets": [0, 8]}},
         b"\0" * 8), "corrupted"),
    (_st({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 8]}}, b"\0" * 8),
     "corrupted"),
    (_st(_W, b"\0" * 4), "corrupted"),
    (_st(_W, b"\0" * 12), "corrupted"),
    (_st({**_W, "v": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
     "corrupted"),
    (_st({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, b"\0" * 8),
     "corrupted"),
    (_st({"w": {"dtype": "F32", "shape": [2], "data_offsets": [4, 0]}}, b"\0" * 8),
     "corrupted"),
    (_st({"w": {"dtype": "XX", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
     "corrupted"),
    (_st({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4),
     "dtype BF16, which autodiff does not have"),
    (_st({"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8),
     "dtype C64"),
    (_st({"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}, b"\0" * 2),
     "dtype F8_E4M3"),
    (_st(b"{" + b'"a":' * 100_000 + b"1" + b"}" * 100_000), "corrupted"),
    (_st(b"[" * 100_000 + b"]" * 100_000), "does not start with '{'"),
])
def test_broken_container(tmp_path, data, match):
    _check(tmp_path, data, match)


def test_not_safetensors_at_all(tmp_path):
    _check(tmp_path, os.urandom(4096), "not a safetensors file")
    _check(tmp_path, pickle.dumps({"a": [1, 2, 3]}), "looks like a pickle")
    _check(tmp_path, pickle.dumps([1], protocol=0), "looks like a pickle")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    _check(tmp_path, buf.getvalue(), "zip archive but not an nn.save file")
    _check(tmp_path, b"PK\x03\x04 but not a zip at all" * 3, "zip directory cannot be read")
    _check(tmp_path, b"\x89PNG\r\n\x1a\n" + os.urandom(64), "not a safetensors file")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.safetensors")
    with pytest.raises(SerializationError, match="is a directory"):
        load(tmp_path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(SerializationError, match="not a regular file"):
            load("/dev/zero")


# --- the structure in the metadata ------------------------------------------------------

F = np.ones(2, np.float32)


@pytest.mark.parametrize("root,tensors,match", [
    ({"$tensor": "w"}, {}, "tensor 'w', which is not in the file"),
    ({"$tensor": 5}, {"w": F}, "refers to tensor 5"),
    ({"$tensor": ["w"]}, {"w": F}, r"refers to tensor \['w'\]"),
    ([{"$tensor": "w"}, {"$ndarray": "w"}], {"w": F}, "referenced twice"),
    ({"$tensor": "w"}, {"w": F, "stray": F}, r"1 tensor\(s\) .* not part of the saved"),
    (None, {"stray": F}, "not part of the saved structure"),
    ({"$tensor": "w", "requires_grad": True}, {"w": np.arange(2)}, "dtype int64 but is "
                                                                   "marked requires_grad"),
    ({"$tensor": "w", "requires_grad": "yes"}, {"w": F}, "'requires_grad' must be true or"),
    ({"$tensor": "w", "parameter": 1}, {"w": F}, "'parameter' must be true or false"),
    ({"$tensor": "w", "evil": 1}, {"w": F}, r"unknown entries \['evil'\]"),
    ({"$scalar": "w"}, {"w": F}, r"has shape \(2,\), not \(\)"),
    ({"$float": "1e9999"}, {}, "malformed float node"),
    ({"$float": 1}, {}, "malformed float node"),
    ({"$tuple": 5}, {}, "malformed tuple node"),
    ({"$dict": {"a": 1}}, {}, "malformed dict node"),
    ({"$dict": [["a"]]}, {}, "malformed dict entry"),
    ({"$dict": [[["a", "list"], 1]]}, {}, "a list cannot be a dict key"),
    ({"$dict": [[{"$dict": []}, 1]]}, {}, "a dict cannot be a dict key"),
    ({"$dict": [[{"$tensor": "w"}, 1]]}, {"w": F}, "a tensor cannot be a dict key"),
    ({"$dict": [[{"$tuple": [[1]]}, 1]]}, {}, "a list cannot be a dict key"),
    ({"$dict": [], "ordered": "no"}, {}, "'ordered' must be true or false"),
    ({"$eval": "__import__('os')"}, {}, "unknown tag '\\$eval'"),
    ({"$tensor": "w", "$ndarray": "w"}, {"w": F}, "malformed node"),
    ({"plain": "dict"}, {}, "malformed node"),
])
def test_broken_structure(tmp_path, root, tensors, match):
    _check(tmp_path, _ours(root, tensors), match)


@pytest.mark.parametrize("doc,match", [
    ("{not json", "not valid JSON"),
    ('{"format": "autodiff-nn", "version": 2, "root": NaN}', "not valid JSON"),
    ('{"format": "autodiff-nn", "version": 2, "root": ' + "9" * 5000 + "}", "not valid JSON"),
    ("[]", "unknown format 'list'"),
    ('{"format": "pickle", "version": 2, "root": 1}', "unknown format 'pickle'"),
    ('{"format": "autodiff-nn", "version": 3, "root": 1}', "version 3 is not supported"),
    ('{"format": "autodiff-nn", "version": true, "root": 1}', "version True is not"),
    ('{"format": "autodiff-nn", "version": 2}', "no 'root' entry"),
    ('{"format": "autodiff-nn", "version": 2, "root": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "nested more than 308 levels"),
    ('{"format": "autodiff-nn", "version": 2, "root": ' + '{"$tuple": [' * 50_000
     + "]}" * 50_000 + "}", "nested more than"),
    ('{"format": "autodiff-nn", "version": 2, "root": ' + '{"$dict": [["a", ' * 30_000
     + "1]]}" * 30_000 + "}", "nested more than"),
    ('{"format": "autodiff-nn", "version": 2, "root": "' + "\\\"[" * 1000 + '"}', None),
])
def test_broken_document(tmp_path, doc, match):
    if match is None:  # brackets inside a string are not nesting: this one is valid
        path = tmp_path / "ok.safetensors"
        path.write_bytes(_ours(doc))
        assert load(path) == '"[' * 1000
        return
    _check(tmp_path, _ours(doc), match)


def test_deep_nesting_fails_fast_even_with_a_high_recursion_limit(tmp_path):
    import sys
    import time
    doc = '{"format": "autodiff-nn", "version": 2, "root": ' + "[" * 10 ** 6 + "]" * 10 ** 6 + "}"
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(10 ** 7)  # a user's setting must not turn this into a stack overflow
    try:
        start = time.perf_counter()
        _check(tmp_path, _ours(doc), "nested more than")
        assert time.perf_counter() - start < 5
    finally:
        sys.setrecursionlimit(old)


def test_maximum_legal_nesting_round_trips(tmp_path):
    obj = 1
    for i in range(ser.MAX_NESTING):
        obj = {"k": obj} if i % 3 == 0 else ((obj,) if i % 3 == 1 else [obj])
    save(obj, tmp_path / "deep.safetensors")
    assert load(tmp_path / "deep.safetensors") == obj


# --- the old .npz reader -------------------------------------------------------------

def _npz(members, compression=zipfile.ZIP_STORED):
    """A zip of raw members (name -> bytes), as np.savez would lay it out."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as z:
        for name, raw in members.items():
            z.writestr(name, raw)
    return buf.getvalue()


def _npy(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _manifest(root, version=1):
    doc = root if isinstance(root, str) else json.dumps(
        {"format": "autodiff-nn", "version": version, "root": root})
    return _npy(np.frombuffer(doc.encode(), np.uint8))


def _fake_npy(shape, dtype="<f8", data=b""):
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


@pytest.mark.parametrize("members,match", [
    ({"__manifest__.npy": _manifest("[" * 100_000 + "]" * 100_000)}, "nested more than"),
    ({"__manifest__.npy": _manifest({"$dict": [[["list", "key"], 1]]})},
     "a list cannot be a dict key"),
    ({"__manifest__.npy": _manifest({"$tensor": "a0", "requires_grad": True}),
      "a0.npy": _npy(np.arange(3))}, "dtype int64 but is marked requires_grad"),
    ({"__manifest__.npy": _manifest({"$ndarray": "a0"}),
      "a0.npy": _fake_npy((10 ** 18, 10 ** 18))}, r"claims shape .* but the member holds 0"),
    ({"__manifest__.npy": _manifest({"$ndarray": "a0"}),
      "a0.npy": _fake_npy((-8, 0))}, "negative dimension"),
    ({"__manifest__.npy": _manifest({"$ndarray": "a0"}),
      "a0.npy": _fake_npy((2,), data=b"\0" * 8)}, "claims shape"),
    ({"__manifest__.npy": _manifest({"$ndarray": "a0"}), "a0.npy": _npy(np.array(["s"]))},
     "dtype <U1; checkpoints hold only"),
    ({"__manifest__.npy": _manifest({"$ndarray": "a0"}), "a0.npy": _npy(np.ones(2, complex))},
     "dtype complex128"),
    ({"__manifest__.npy": _manifest({"$ndarray": "a0"}),
      "a0.npy": _npy(np.array(["2020-01-01"], "datetime64[D]"))}, "dtype datetime64"),
    ({"__manifest__.npy": _manifest({"$ndarray": "a0"}),
      "a0.npy": _npy(np.zeros(2, [("a", "<f4"), ("b", "<i4")]))}, "dtype"),
    ({"__manifest__.npy": _manifest({"$ndarray": "a0"}),
      "a0.npy": _npy(np.array([{"x": 1}], dtype=object))}, "pickled object array"),
    ({"__manifest__.npy": _manifest({"$ndarray": "a0"}),
      "a0.npy": b"\x93NUMPY\x09\x00junk"}, r"\.npy version \(9, 0\)"),
    ({"__manifest__.npy": _manifest({"$ndarray": "a0"}),
      "a0.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': os.sy"}, "corrupted"),
    ({"__manifest__.npy": _npy(np.ones(3))}, "manifest has dtype float64"),
    ({"__manifest__.npy": _npy(np.frombuffer(b"\xff\xfe", np.uint8))}, "not valid JSON"),
    ({"__manifest__.npy": _manifest({"$ndarray": "a0"}, version=2),
      "a0.npy": _npy(np.ones(1))}, "version 2 is not supported"),
    ({"__manifest__.npy": _manifest(None), "a0.npy": _npy(np.ones(1))}, "not part of the"),
])
def test_hostile_old_npz(tmp_path, members, match):
    _check(tmp_path, _npz(members), match, name="bad.npz")


def test_zip_bomb_member_is_refused_without_inflating(tmp_path):
    n = 2 ** 25  # 256 MiB of float64 zeros, a few hundred KB deflated
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("__manifest__.npy", _manifest({"$ndarray": "a0"}))
        with z.open("a0.npy", "w", force_zip64=True) as w:
            w.write(_fake_npy((n,), "<f8"))
            zeros = bytes(1 << 22)
            for _ in range(8 * n // len(zeros)):
                w.write(zeros)
    data = buf.getvalue()
    assert len(data) < 2 ** 20
    path = tmp_path / "bomb.npz"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(SerializationError, match=r"would expand from \d+ to 268435584 bytes"):
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < len(data) + (4 << 20), peak


def test_many_small_bombs_exhaust_the_budget(tmp_path):
    one = _fake_npy((2 ** 19 - 16,), "<f8", b"\0" * 8 * (2 ** 19 - 16))  # 4 MiB each
    names = [f"a{i}" for i in range(8)]
    data = _npz({"__manifest__.npy": _manifest([{"$ndarray": n} for n in names]),
                 **{f"{n}.npy": one for n in names}}, zipfile.ZIP_DEFLATED)
    assert len(data) < 2 ** 17
    _check(tmp_path, data, "decompressed size past 64x the file size", name="bombs.npz")


def test_crc_mismatch_in_old_npz(tmp_path):
    data = bytearray(_npz({"__manifest__.npy": _manifest({"$ndarray": "a0"}),
                           "a0.npy": _npy(np.arange(64.0))}))
    i = data.index(np.arange(64.0)[40:41].tobytes())
    data[i] ^= 0xFF
    _check(tmp_path, bytes(data), "corrupted", name="crc.npz")


# --- memory, random bytes and mutations -----------------------------------------------

@pytest.mark.parametrize("claim", ["header", "tensor"])
def test_memory_stays_within_the_file_size(tmp_path, claim):
    if claim == "header":  # claims a 99 MB header: refused from the first 8 bytes
        data = struct.pack("<Q", 99_000_000) + b'{"a": ' + b" " * 1000
    else:  # claims a 4 GB tensor backed by 8 bytes
        data = _st({"w": {"dtype": "F32", "shape": [2 ** 30], "data_offsets": [0, 8]}},
                   b"\0" * 8)
    path = tmp_path / "big.safetensors"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(SerializationError):
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < len(data) + (1 << 20), peak


class _Boom:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_no_code_runs_from_any_part_of_the_file(tmp_path):
    marker = tmp_path / "code-ran"
    evil = pickle.dumps(_Boom(marker))
    _check(tmp_path, evil, "pickle")
    _check(tmp_path, _ours(evil.decode("latin-1")), "not valid JSON")
    _check(tmp_path, _st({"w": {"dtype": "U8", "shape": [len(evil)],
                                "data_offsets": [0, len(evil)]},
                          "__metadata__": {"autodiff": json.dumps(
                              {"format": "autodiff-nn", "version": 2,
                               "root": {"$pickle": "w"}})}}, evil), "unknown tag")
    _check(tmp_path, _npz({"__manifest__.npy": _manifest({"$ndarray": "a0"}), "a0.npy": evil}),
           "corrupted", name="bad.npz")
    assert not marker.exists()


def _only_serialization_error(path, data):
    path.write_bytes(data)
    try:
        load(path)
    except SerializationError:
        pass


@given(st.binary(max_size=200))
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_bytes(tmp_path, data):
    _only_serialization_error(tmp_path / "r.safetensors", data)


@given(st.binary(max_size=64).map(lambda b: b"PK\x03\x04" + b))
@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_bytes_that_start_like_a_zip(tmp_path, data):
    _only_serialization_error(tmp_path / "r.npz", data)


@given(st.integers(1, 2 ** 16).map(lambda n: struct.pack("<Q", n)), st.binary(max_size=300))
@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_bytes_after_a_plausible_length(tmp_path, head, rest):
    _only_serialization_error(tmp_path / "r.safetensors", head + b"{" + rest)


_GOOD = {}


@given(st.data())
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_mutations_of_a_valid_file(tmp_path, data):
    if "st" not in _GOOD:
        _GOOD["st"] = _good(tmp_path)
    good = bytearray(_GOOD["st"])
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "set", "cut", "insert", "delete"]))
        i = data.draw(st.integers(0, len(good) - 1))
        if op == "flip":
            good[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "set":
            good[i] = data.draw(st.sampled_from(b'{}[]",:0123456789$ \x00\xff'))
        elif op == "cut":
            del good[i:]
        elif op == "insert":
            good[i:i] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            del good[i:i + data.draw(st.integers(1, 16))]
        if not good:
            good = bytearray(b"\x00")
    _only_serialization_error(tmp_path / "m.safetensors", bytes(good))


@given(st.data())
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_mutations_of_a_valid_old_npz(tmp_path, data):
    if "npz" not in _GOOD:
        _GOOD["npz"] = _npz({"__manifest__.npy": _manifest(
            {"$dict": [["w", {"$tensor": "a0", "requires_grad": True}], ["n", {"$ndarray": "a1"}]],
             "ordered": False}), "a0.npy": _npy(np.ones((3, 2))), "a1.npy": _npy(np.arange(4))})
    good = bytearray(_GOOD["npz"])
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(good) - 1))
        if data.draw(st.booleans()):
            good[i] = data.draw(st.integers(0, 255))
        else:
            del good[i:]
        if not good:
            good = bytearray(b"P")
    _only_serialization_error(tmp_path / "m.npz", bytes(good))
