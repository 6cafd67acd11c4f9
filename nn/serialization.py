"""nn.save(obj, path) / nn.load(path): checkpoints as safetensors files, validated, pickle-free.

What can be stored: nested dicts (str/int/float/bool/None/tuple keys), lists and tuples of None,
bools, ints, floats (nan/inf too), strings, numpy scalars, numpy arrays and autodiff Tensors
(Parameters stay Parameters) - module, optimizer and scheduler state dicts and training
checkpoints built from them. Anything else is refused when saving (restoring it needs pickle).

File format, version 2: a standard safetensors file (the `safetensors` package, extra `files`).

    tensors        every array/tensor of the object, named by its path: a plain state_dict's
                   own keys ("0.weight"), "model.0.weight" inside {"model": ...}; "#2", "#3"
                   are appended when two paths would collide
    __metadata__   {"format": "pt",
                    "autodiff": JSON {"format": "autodiff-nn", "version": 2, "root": NODE}}

A NODE is JSON null / true / false / an integer / a finite number / a string / a JSON array
(a Python list) for itself, or one of these tagged objects:

    {"$tensor": KEY, "requires_grad": b[, "parameter": true]}   an autodiff Tensor (Parameter)
    {"$ndarray": KEY}                           a numpy array
    {"$scalar": KEY}                            a numpy scalar (a 0-d tensor in the file)
    {"$float": "nan" | "inf" | "-inf"}          a non-finite Python float
    {"$tuple": [NODE, ...]}                     a tuple
    {"$dict": [[KEY_NODE, NODE], ...], "ordered": b}   a dict (an OrderedDict when "ordered")

A safetensors file without the "autodiff" entry (e.g. safetensors.torch.save_file) loads as a
dict of name -> Tensor. Old version-1 files (.npz + JSON manifest) load read-only, with a
FutureWarning, until the next release. Loading never executes code from the file and every
malformed file raises SerializationError; see docs/checkpoints.md for what is checked.
"""
import json
import math
import os
import re
import secrets
import stat
import struct
import time
import warnings
import zipfile
from collections import OrderedDict

import numpy as np

import autodiff as ad
from nn.parameter import Parameter

FORMAT = "autodiff-nn"
VERSION = 2
METADATA_KEY = "autodiff"
MANIFEST = "__manifest__"  # the version-1 (.npz) manifest member
MAX_NESTING = 100  # containers inside containers, when saving
MAX_JSON_DEPTH = 3 * MAX_NESTING + 8  # a dict node costs three JSON levels
MAX_HEADER = 100_000_000  # the safetensors library's own header limit
INSTALL_HINT = "pip install 'autodiff[files]'"
_TMP_SUFFIX = ".nnsave.tmp"
_TMP_RE = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}" + re.escape(_TMP_SUFFIX) + r"$")
_STALE_AGE = 3600.0  # seconds: an untouched temp file this old has no live writer
_PICKLE_OPCODES = b"\x80(}]c"
# safetensors dtype name <-> the numpy dtypes autodiff has (BF16, F8_*, C64 ... are refused)
_ST_DTYPES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16,
              "U16": np.uint16, "I32": np.int32, "U32": np.uint32, "I64": np.int64,
              "U64": np.uint64, "F16": np.float16, "F32": np.float32, "F64": np.float64}
_NP_DTYPES = {np.dtype(t) for t in _ST_DTYPES.values()}
# version-1 reader: refuse deflated members that expand beyond this (zip bombs)
_NPZ_RATIO, _NPZ_SMALL = 64, 4 << 20
_npz_warned = [False]


class SerializationError(ValueError):
    """nn.load: the file is truncated, corrupted, hostile, foreign or of an unsupported version."""


def _require_safetensors(who):
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(f"{who}: checkpoints are safetensors files and need the safetensors "
                          f"package: {INSTALL_HINT}") from None
    return safetensors


# --- saving ---------------------------------------------------------------------------

class _Encoder:
    """Turns an object into a JSON-able NODE, collecting its arrays under path-like names."""

    def __init__(self):
        self.arrays = {}
        self.taken = {"__metadata__"}

    def _array(self, arr, where, path):
        if arr.dtype.newbyteorder("=") not in _NP_DTYPES:
            raise TypeError(f"nn.save: the array at {where} has dtype {arr.dtype}; checkpoints "
                            f"hold bool, int8-64, uint8-64 and float16/32/64 arrays - convert "
                            f"it (e.g. arr.astype(np.float32))")
        name = path or "tensor"
        if name in self.taken:
            n = 2
            while f"{name}#{n}" in self.taken:
                n += 1
            name = f"{name}#{n}"
        self.taken.add(name)
        # the library copies raw memory: it must be C-contiguous and little-endian
        self.arrays[name] = arr.astype(arr.dtype.newbyteorder("<"), order="C", copy=False)
        return name

    def node(self, obj, where, path, depth):
        if depth > MAX_NESTING:
            raise ValueError(f"nn.save: {where} is nested more than {MAX_NESTING} containers "
                             f"deep (or contains itself); flatten it before saving")
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, ad.Tensor):
            n = {"$tensor": self._array(obj.data, where, path),
                 "requires_grad": bool(obj.requires_grad)}
            if isinstance(obj, Parameter):
                n["parameter"] = True
            return n
        if isinstance(obj, np.ndarray):
            return {"$ndarray": self._array(obj, where, path)}
        if isinstance(obj, np.generic):
            return {"$scalar": self._array(np.asarray(obj), where, path)}
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj) if math.isfinite(obj) else {"$float": repr(float(obj))}
        if isinstance(obj, (tuple, list)):
            items = [self.node(v, f"{where}[{i}]", _join(path, str(i)), depth + 1)
                     for i, v in enumerate(obj)]
            return {"$tuple": items} if isinstance(obj, tuple) else items
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not _valid_key(k):
                    raise TypeError(f"nn.save: dict key {k!r} at {where} has type "
                                    f"{type(k).__name__}; keys must be str, int, float, bool, "
                                    f"None or tuples of these")
                part = k if isinstance(k, str) else repr(k)
                items.append([self.node(k, f"{where} key {k!r}", "", depth + 1),
                              self.node(v, f"{where}[{k!r}]", _join(path, part), depth + 1)])
            return {"$dict": items, "ordered": isinstance(obj, OrderedDict)}
        raise TypeError(f"nn.save: cannot store the {type(obj).__name__} at {where}; only "
                        f"dicts, lists, tuples, None, bools, ints, floats, strings, numpy "
                        f"arrays/scalars and Tensors can be saved without pickle (save a "
                        f"state_dict(), not the object itself)")


def _join(path, part):
    return f"{path}.{part}" if path else part


def _valid_key(k):
    """Keys that JSON can carry and that come back hashable and equal."""
    if k is None or isinstance(k, (bool, str, int, float)) and not isinstance(k, np.generic):
        return True
    return isinstance(k, tuple) and all(_valid_key(v) for v in k)


def save(obj, path):
    """Write obj (a state dict, or nested containers of tensors and numbers) to path atomically."""
    st = _require_safetensors("nn.save")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"nn.save: path must be a str or os.PathLike, got {type(path).__name__}")
    enc = _Encoder()
    root = enc.node(obj, "obj", "", 0)  # fails before any file is touched
    doc = json.dumps({"format": FORMAT, "version": VERSION, "root": root},
                     allow_nan=False, separators=(",", ":"))
    metadata = {"format": "pt", METADATA_KEY: doc}
    target = os.path.realpath(os.fspath(path))  # a symlink is written through, not replaced
    directory = os.path.dirname(target)
    _remove_stale_temps(directory)
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{os.getpid()}."
                                  f"{secrets.token_hex(4)}{_TMP_SUFFIX}")
    # the bytes are built first (save_file would leave its own temp files when killed)
    data = st.numpy.save(enc.arrays, metadata=metadata)
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            _write(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(target))
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)


def _write(f, data):
    f.write(data)


def _pid_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _remove_stale_temps(directory):
    """Delete temp files left by killed writers: dead pid, or untouched for an hour."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    now = time.time()
    for name in names:
        m = _TMP_RE.match(name)
        if not m:
            continue
        full = os.path.join(directory, name)
        try:
            old = now - os.lstat(full).st_mtime > _STALE_AGE
            if old or (os.name == "posix" and not _pid_alive(int(m.group(1)))):
                os.unlink(full)
        except OSError:
            pass  # another process removed it first, or it is not ours to remove


def _file_mode(path):
    """Keep an existing file's permissions; a new file gets 0o666 minus the umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _fsync_dir(directory):
    """Make the rename durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- loading --------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def _parse_json(text, path, what):
    """json.loads with the nesting depth bounded first, so a hostile document cannot recurse."""
    codes = np.frombuffer(_JSON_STRING.sub("", text).encode("utf-8", "replace"), np.uint8)
    depth = 0
    for start in range(0, codes.size, 1 << 20):
        c = codes[start:start + (1 << 20)]
        step = ((c == 91) | (c == 123)).astype(np.int64) - ((c == 93) | (c == 125))
        run = np.cumsum(step) + depth
        if run.size and int(run.max()) > MAX_JSON_DEPTH:
            raise SerializationError(f"nn.load: {path}: the {what} is nested more than "
                                     f"{MAX_JSON_DEPTH} levels deep; nn.save never writes "
                                     f"that, so the file was crafted or corrupted")
        depth = int(run[-1]) if run.size else depth

    def no_constants(name):
        raise ValueError(f"non-standard JSON constant {name}")

    try:
        return json.loads(text, parse_constant=no_constants)
    except (ValueError, RecursionError) as e:
        raise SerializationError(f"nn.load: {path}: the {what} is not valid JSON - the file "
                                 f"is corrupted ({str(e)[:200]})") from None


class _Decoder:
    """NODE -> object, fetching each array by name exactly once (depth is bounded already)."""

    def __init__(self, path, fetch, names):
        self.path, self.fetch, self.names, self.used = path, fetch, names, set()

    def fail(self, what):
        return SerializationError(f"nn.load: {self.path}: {what}")

    def _array(self, name):
        if not isinstance(name, str) or name not in self.names:
            raise self.fail(f"the structure refers to tensor {repr(name)[:80]}, which is not "
                            f"in the file; the file is corrupted or was edited")
        if name in self.used:
            raise self.fail(f"tensor {name[:80]!r} is referenced twice; nn.save writes each "
                            f"once, so the file was edited")
        self.used.add(name)
        return self.fetch(name)

    def _flag(self, n, key):
        v = n.get(key, False)
        if not isinstance(v, bool):
            raise self.fail(f"{key!r} must be true or false in {str(n)[:80]!r}")
        return v

    def node(self, n, key=False):
        if n is None or isinstance(n, (bool, str, int, float)):
            return n
        if isinstance(n, list):
            if key:
                raise self.fail(f"a list cannot be a dict key: {str(n)[:80]!r}")
            return [self.node(v) for v in n]
        tags = [k for k in n if k.startswith("$")] if isinstance(n, dict) else []
        if len(tags) != 1:
            raise self.fail(f"malformed node {str(n)[:80]!r}")
        tag = tags[0]
        allowed = {"$tensor": {"requires_grad", "parameter"}, "$dict": {"ordered"}}.get(tag, ())
        extra = set(n) - {tag} - set(allowed)
        if extra:
            raise self.fail(f"unknown entries {sorted(extra)[:3]} in node {str(n)[:80]!r}")
        if key and tag not in ("$tuple", "$float", "$scalar"):
            raise self.fail(f"a {tag[1:]} cannot be a dict key: {str(n)[:80]!r}")
        if tag == "$tensor":
            arr = self._array(n["$tensor"])
            rg, param = self._flag(n, "requires_grad"), self._flag(n, "parameter")
            if rg and arr.dtype.kind != "f":
                raise self.fail(f"tensor {n['$tensor'][:80]!r} has dtype {arr.dtype} but is "
                                f"marked requires_grad; only float tensors can require "
                                f"gradients")
            t = ad.from_numpy(arr)
            return Parameter(t, requires_grad=rg) if param else t.requires_grad_(rg)
        if tag == "$ndarray":
            return self._array(n["$ndarray"])
        if tag == "$scalar":
            arr = self._array(n["$scalar"])
            if arr.shape != ():
                raise self.fail(f"scalar {n['$scalar'][:80]!r} has shape {arr.shape}, not ()")
            return arr[()]
        if tag == "$float":
            if n["$float"] not in ("nan", "inf", "-inf"):
                raise self.fail(f"malformed float node {str(n)[:80]!r}")
            return float(n["$float"])
        if tag == "$tuple":
            if not isinstance(n["$tuple"], list):
                raise self.fail(f"malformed tuple node {str(n)[:80]!r}")
            return tuple(self.node(v, key) for v in n["$tuple"])
        if tag == "$dict":
            if not isinstance(n["$dict"], list):
                raise self.fail(f"malformed dict node {str(n)[:80]!r}")
            out = OrderedDict() if self._flag(n, "ordered") else {}
            for item in n["$dict"]:
                if not isinstance(item, list) or len(item) != 2:
                    raise self.fail(f"malformed dict entry {str(item)[:80]!r}")
                out[self.node(item[0], key=True)] = self.node(item[1])
            return out
        raise self.fail(f"unknown tag {tag[:40]!r} in {str(n)[:80]!r} (written by a newer "
                        f"version?)")

    def finish(self, root):
        unused = sorted(set(self.names) - self.used)
        if unused:
            raise self.fail(f"{len(unused)} tensor(s) in the file are not part of the saved "
                            f"structure (e.g. {unused[0][:80]!r}); the file was edited")
        return root


def _document(doc, path, versions):
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise SerializationError(f"nn.load: {path}: unknown format {str(got)[:80]!r} (expected "
                                 f"{FORMAT!r}); it was not written by nn.save")
    version = doc.get("version")
    if type(version) is not int or version not in versions:
        raise SerializationError(f"nn.load: {path}: format version {str(version)[:20]} is not "
                                 f"supported here (this build reads {sorted(versions)}); "
                                 f"upgrade autodiff to load it")
    if "root" not in doc:
        raise SerializationError(f"nn.load: {path}: the structure has no 'root' entry")
    return doc["root"]


def _natural(name):
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name)]


def _load_safetensors(st, path):
    with st.safe_open(path, framework="np") as f:
        names = list(f.keys())
        for name in names:
            dt = f.get_slice(name).get_dtype()
            if dt not in _ST_DTYPES:
                raise SerializationError(
                    f"nn.load: {path}: tensor {name[:80]!r} has dtype {dt}, which autodiff "
                    f"does not have (supported: {', '.join(_ST_DTYPES)}); convert it before "
                    f"saving (e.g. t.float() in PyTorch)")

        fetch = f.get_tensor
        meta = f.metadata() or {}
        if METADATA_KEY not in meta:  # a plain safetensors file, e.g. from PyTorch
            return {n: ad.from_numpy(fetch(n)) for n in sorted(names, key=_natural)}
        doc = _parse_json(meta[METADATA_KEY], path, "structure in the metadata")
        dec = _Decoder(path, fetch, set(names))
        return dec.finish(dec.node(_document(doc, path, {2})))


def _sniff(path, head, size):
    if head[:1] in [bytes([c]) for c in _PICKLE_OPCODES]:
        return SerializationError(
            f"nn.load: {path} looks like a pickle (e.g. pickle.dump or an old torch.save); "
            f"nn.load never unpickles, because unpickling can execute arbitrary code. Re-save "
            f"the state dict with nn.save")
    if len(head) < 10:
        why = f"it is only {size} bytes long"
    else:
        n = struct.unpack("<Q", head[:8])[0]
        why = (f"its first 8 bytes give a header length of {n} bytes but the file holds "
               f"{size - 8} after them" if n > size - 8 or n > MAX_HEADER else
               f"its header does not start with '{{' (first bytes {head[:12]!r})")
    return SerializationError(f"nn.load: {path} is not a safetensors file written by nn.save: "
                              f"{why}")


def load(path):
    """Read what nn.save(obj, path) wrote (or any safetensors file): Tensors for tensors."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"nn.load: path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"nn.load: {path} does not exist") from None
    except IsADirectoryError:
        raise SerializationError(f"nn.load: {path} is a directory, not a checkpoint file; "
                                 f"pass the file inside it (e.g. {path}/checkpoint.safetensors)"
                                 ) from None
    with f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SerializationError(f"nn.load: {path} is not a regular file (a directory, "
                                     f"pipe or device); pass a checkpoint file")
        size = info.st_size
        head = f.read(16)
    if not head:
        raise SerializationError(f"nn.load: {path} is empty (0 bytes); it was not written "
                                 f"completely")
    try:
        if head.startswith(b"PK"):
            return _load_npz(path, size)
        # check the 8-byte header length against the file size before anything is parsed
        n = struct.unpack("<Q", head[:8])[0] if len(head) >= 8 else size
        if len(head) < 10 or n < 2 or n > size - 8 or n > MAX_HEADER or head[8:9] != b"{":
            raise _sniff(path, head, size)
        return _load_safetensors(_require_safetensors("nn.load"), path)
    except (SerializationError, ImportError, PermissionError):
        raise
    except FileNotFoundError:  # removed while we read it
        raise FileNotFoundError(f"nn.load: {path} does not exist") from None
    except Exception as e:  # the library's SafetensorError, zip/zlib errors, OSError ...
        raise SerializationError(f"nn.load: {path} is truncated, corrupted or not a checkpoint "
                                 f"({type(e).__name__}: {str(e)[:200]})") from None


# --- the version-1 .npz reader (read-only, one release) ---------------------------------

class _NpzReader:
    """Arrays out of an nn.save version-1 archive, without numpy.load: each member's .npy
    header is checked (dtype, shape against the member's size) before its data is read, and
    the bytes decompressed in total stay below a budget tied to the file size."""

    def __init__(self, zf, path, size):
        self.zf, self.path = zf, path
        self.budget = max(_NPZ_RATIO * size, _NPZ_SMALL)
        self.members = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}

    def fail(self, name, what):
        return SerializationError(f"nn.load: {self.path}: array {name[:80]!r} {what}")

    def __call__(self, name):
        info = self.members[name]
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise self.fail(name, f"uses zip compression method {info.compress_type}; "
                                  f"nn.save archives are stored or deflated")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise self.fail(name, "has inconsistent sizes in the zip directory")
        if info.file_size > _NPZ_RATIO * max(info.compress_size, 1) and \
                info.file_size > _NPZ_SMALL:
            raise self.fail(name, f"would expand from {info.compress_size} to {info.file_size} "
                                  f"bytes (a zip bomb?); refused")
        self.budget -= info.file_size
        if self.budget < 0:
            raise self.fail(name, "takes the archive's decompressed size past "
                                  f"{_NPZ_RATIO}x the file size; refused")
        with self.zf.open(info) as m:
            version = np.lib.format.read_magic(m)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(m)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(m)
            else:
                raise self.fail(name, f"has .npy version {version}, which nn.save never wrote")
            native = dtype.newbyteorder("=")
            if dtype.hasobject:
                raise self.fail(name, "is a pickled object array; nn.load refuses pickles "
                                      "because loading one can execute code")
            if native not in _NP_DTYPES:
                raise self.fail(name, f"has dtype {dtype}; checkpoints hold only bool, "
                                      f"int8-64, uint8-64 and float16/32/64 arrays")
            count = 1
            for d in shape:
                if d < 0:
                    raise self.fail(name, f"has a negative dimension in shape {shape}")
                count *= d
            expected = info.file_size - m.tell()
            if count * dtype.itemsize != expected:
                raise self.fail(name, f"claims shape {shape} ({count * dtype.itemsize} bytes) "
                                      f"but the member holds {expected} bytes of data")
            data = m.read(expected)
        if len(data) != expected:
            raise self.fail(name, "is truncated")
        arr = np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C")
        return arr.astype(native, order="C")


def _load_npz(path, size):
    if not _npz_warned[0]:
        _npz_warned[0] = True
        warnings.warn(f"nn.load: {path} is an .npz checkpoint (format version 1); this format "
                      f"is read-only and will be removed in the next release - re-save it with "
                      f"nn.save to get a .safetensors file", FutureWarning, stacklevel=3)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as e:
        raise SerializationError(f"nn.load: {path} starts like a zip archive but is truncated "
                                 f"or corrupted: its zip directory cannot be read ({e})") from None
    with zf:
        reader = _NpzReader(zf, path, size)
        if MANIFEST not in reader.members:
            names = zf.namelist()
            hint = (" It looks like a torch.save checkpoint (a zip holding a pickle); nn.load "
                    "does not unpickle - load it in PyTorch and save the state_dict with "
                    "safetensors.torch.save_file."
                    if any("data.pkl" in n for n in names) else "")
            raise SerializationError(f"nn.load: {path} is a zip archive but not an nn.save "
                                     f"file: it has no {MANIFEST!r} member (members: "
                                     f"{[n[:40] for n in names[:5]]}).{hint}")
        raw = reader(MANIFEST)
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise SerializationError(f"nn.load: {path}: the manifest has dtype {raw.dtype} and "
                                     f"{raw.ndim} dimensions, not a 1-d uint8 array")
        try:
            text = raw.tobytes().decode("utf-8")
        except UnicodeDecodeError as e:
            raise SerializationError(f"nn.load: {path}: the manifest is not valid JSON - the "
                                     f"file is corrupted ({e})") from None
        doc = _parse_json(text, path, "manifest")
        dec = _Decoder(path, reader, set(reader.members) - {MANIFEST})
        return dec.finish(dec.node(_document(doc, path, {1})))


__all__ = ["save", "load", "SerializationError", "FORMAT", "VERSION"]
