"""nn.save(obj, path) / nn.load(path): state dicts in a portable, pickle-free file.

What can be stored: nested dicts (any str/int/float/bool/None/tuple keys), lists and tuples of
None, bools, ints, floats (including nan/inf), strings, numpy scalars, numpy arrays and
autodiff Tensors - i.e. module state dicts (name -> tensor), optimizer and scheduler state
dicts, and training checkpoints built from them. Anything else (functions, modules, arbitrary
objects) is refused when saving, because restoring it would need pickle.

File format, version 1. The file is a standard .npz archive (a zip file as written by
numpy.savez, uncompressed) with these members:

    __manifest__.npy   1-D uint8 array: UTF-8 JSON
                       {"format": "autodiff-nn", "version": 1, "root": NODE}
    a0.npy, a1.npy ... the arrays, in the .npy format (never dtype=object)

A NODE is JSON null / true / false / an integer / a finite number / a string / a JSON array
(a Python list) for itself, or one of these tagged objects:

    {"$tensor": "a0", "requires_grad": false}   an autodiff Tensor whose data is member a0
    {"$ndarray": "a1"}                          a numpy array
    {"$scalar": "a2"}                           a numpy scalar (stored as a 0-d array)
    {"$float": "nan" | "inf" | "-inf"}          a non-finite Python float
    {"$tuple": [NODE, ...]}                     a tuple
    {"$dict": [[KEY, NODE], ...], "ordered": b} a dict (an OrderedDict when "ordered")

Loading uses numpy.load(allow_pickle=False) and json only, so it never executes code from the
file. Writing is atomic: the archive goes to a temporary file in the target's directory, is
fsync'ed, then os.replace()d over the target, so a crash never leaves a half-written file
under the target's name.
"""
import io
import json
import math
import os
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

import autodiff as ad

FORMAT = "autodiff-nn"
VERSION = 1
MANIFEST = "__manifest__"
_PICKLE_OPCODES = b"\x80(}]c"  # first byte of a pickle stream (protocol 2+ or older opcodes)


class SerializationError(ValueError):
    """nn.load: the file is truncated, corrupted, foreign or of an unsupported version."""


# --- saving ---------------------------------------------------------------------------

class _Encoder:
    """Turns an object into a JSON-able NODE, collecting its arrays as a0, a1, ..."""

    def __init__(self):
        self.arrays = {}

    def _array(self, arr, where):
        if arr.dtype.hasobject:
            raise TypeError(f"nn.save: the array at {where} has dtype {arr.dtype}, which can "
                            f"only be stored by pickling; convert it to a numeric dtype")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = np.ascontiguousarray(arr) if arr.ndim else arr
        return name

    def node(self, obj, where):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, ad.Tensor):
            return {"$tensor": self._array(obj.data, where),
                    "requires_grad": bool(obj.requires_grad)}
        if isinstance(obj, np.ndarray):
            return {"$ndarray": self._array(obj, where)}
        if isinstance(obj, np.generic):
            return {"$scalar": self._array(np.asarray(obj), where)}
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj) if math.isfinite(obj) else {"$float": repr(float(obj))}
        if isinstance(obj, tuple):
            return {"$tuple": [self.node(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.node(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (str, int, float, tuple))):
                    raise TypeError(f"nn.save: dict key {k!r} at {where} has type "
                                    f"{type(k).__name__}; keys must be str, int, float, bool, "
                                    f"None or tuples of these")
                items.append([self.node(k, f"{where} key {k!r}"), self.node(v, f"{where}[{k!r}]")])
            return {"$dict": items, "ordered": isinstance(obj, OrderedDict)}
        raise TypeError(f"nn.save: cannot store the {type(obj).__name__} at {where}; only "
                        f"dicts, lists, tuples, None, bools, ints, floats, strings, numpy "
                        f"arrays/scalars and Tensors can be saved without pickle (save a "
                        f"state_dict(), not the object itself)")


def save(obj, path):
    """Write obj (a state dict, or nested containers of tensors and numbers) to path atomically."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"nn.save: path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    enc = _Encoder()
    root = enc.node(obj, "obj")  # fails before any file is touched
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "root": root},
                          allow_nan=False, separators=(",", ":")).encode("utf-8")
    arrays = {MANIFEST: np.frombuffer(manifest, dtype=np.uint8), **enc.arrays}
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)


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

class _Decoder:
    def __init__(self, archive, path):
        self.archive, self.path = archive, path

    def fail(self, what):
        return SerializationError(f"nn.load: {self.path}: {what}")

    def _array(self, name):
        if not isinstance(name, str) or name not in self.archive.files:
            raise self.fail(f"the manifest refers to array {name!r}, which is not in the "
                            f"archive; the file is corrupted or was edited")
        return _read_member(self.archive, name, self.path)

    def node(self, n):
        if n is None or isinstance(n, (bool, str, int, float)):
            return n
        if isinstance(n, list):
            return [self.node(v) for v in n]
        if not isinstance(n, dict) or len([k for k in n if k.startswith("$")]) != 1:
            raise self.fail(f"malformed manifest node {str(n)[:80]!r}")
        if "$tensor" in n:
            t = ad.from_numpy(self._array(n["$tensor"]))
            if n.get("requires_grad"):
                t.requires_grad_(True)
            return t
        if "$ndarray" in n:
            return self._array(n["$ndarray"])
        if "$scalar" in n:
            return self._array(n["$scalar"])[()]
        if "$float" in n:
            if n["$float"] not in ("nan", "inf", "-inf"):
                raise self.fail(f"malformed float node {n!r}")
            return float(n["$float"])
        if "$tuple" in n:
            return tuple(self.node(v) for v in n["$tuple"])
        if "$dict" in n:
            out = OrderedDict() if n.get("ordered") else {}
            for item in n["$dict"]:
                if not isinstance(item, list) or len(item) != 2:
                    raise self.fail(f"malformed dict entry {str(item)[:80]!r}")
                out[self.node(item[0])] = self.node(item[1])
            return out
        raise self.fail(f"unknown manifest tag in {str(n)[:80]!r} (written by a newer version?)")


def _read_member(archive, name, path):
    """One array from the archive, with zip/npy/pickle problems turned into clear errors."""
    try:
        return archive[name]
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise SerializationError(
                f"nn.load: {path}: array {name!r} is a pickled object array; nn.load refuses "
                f"pickles because loading one can execute code") from None
        raise SerializationError(f"nn.load: {path}: array {name!r} is corrupted ({e})") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, zipfile.LargeZipFile) as e:
        raise SerializationError(f"nn.load: {path}: array {name!r} cannot be read - the file is "
                                 f"truncated or corrupted ({type(e).__name__}: {e})") from None


def _sniff(path, head):
    """A SerializationError for a file that is not a zip archive at all."""
    if not head:
        return SerializationError(f"nn.load: {path} is empty (0 bytes); it was not written "
                                  f"completely")
    if head[:1] in [bytes([c]) for c in _PICKLE_OPCODES]:
        return SerializationError(
            f"nn.load: {path} looks like a pickle (e.g. pickle.dump or an old torch.save); "
            f"nn.load never unpickles, because unpickling can execute arbitrary code. Re-save "
            f"the state dict with nn.save")
    return SerializationError(f"nn.load: {path} is not an nn.save file: it does not start "
                              f"with the zip signature PK (first bytes {head[:8]!r})")


def load(path):
    """Read what nn.save(obj, path) wrote: state dicts come back with Tensors for tensors."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"nn.load: path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"nn.load: {path} does not exist")
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"PK"):
        raise _sniff(path, data[:16])
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise SerializationError(f"nn.load: {path} is truncated or corrupted: its zip "
                                 f"directory cannot be read ({e})") from None
    with archive:
        if not isinstance(archive, np.lib.npyio.NpzFile) or MANIFEST not in archive.files:
            names = list(getattr(archive, "files", []))
            hint = (" It looks like a torch.save checkpoint (a zip holding a pickle); nn.load "
                    "does not unpickle - convert it to a state dict of arrays first."
                    if any(n.endswith("data.pkl") or "data.pkl" in n for n in names) else "")
            raise SerializationError(f"nn.load: {path} is a zip archive but not an nn.save "
                                     f"file: it has no {MANIFEST!r} member (members: "
                                     f"{names[:5]}).{hint}")
        raw = _read_member(archive, MANIFEST, path)
        try:
            if raw.dtype != np.uint8 or raw.ndim != 1:
                raise ValueError(f"manifest array has dtype {raw.dtype}, ndim {raw.ndim}")
            manifest = json.loads(raw.tobytes().decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise SerializationError(f"nn.load: {path}: the manifest is not valid JSON - the "
                                     f"file is corrupted ({e})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            got = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
            raise SerializationError(f"nn.load: {path}: unknown format {got!r} (expected "
                                     f"{FORMAT!r}); it was not written by nn.save")
        version = manifest.get("version")
        if not isinstance(version, int) or not 1 <= version <= VERSION:
            raise SerializationError(f"nn.load: {path}: format version {version!r} is not "
                                     f"supported (this build reads versions 1 to {VERSION}); "
                                     f"upgrade autodiff to load it")
        if "root" not in manifest:
            raise SerializationError(f"nn.load: {path}: the manifest has no 'root' entry")
        return _Decoder(archive, path).node(manifest["root"])


__all__ = ["save", "load", "SerializationError", "FORMAT", "VERSION"]
