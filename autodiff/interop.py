"""PyTorch's utility names around tensors: dtype queries (finfo, iinfo, promote_types,
result_type, can_cast, typename), number constants, and sharing memory with other libraries
(asarray, frombuffer, DLPack)."""
import math

import numpy as np

from . import dtypes
from .creation import as_tensor
from .tensor import Tensor

e, pi, inf, nan = math.e, math.pi, math.inf, math.nan
newaxis = None


def _dtype(dt, who):
    if isinstance(dt, Tensor):
        raise TypeError(f"{who}: expected a dtype, got a Tensor; pass tensor.dtype")
    return dtypes.wrap(dtypes.as_dtype(dt))


class finfo:
    """Machine limits of a floating dtype (torch.finfo): bits, eps, max, min, tiny,
    smallest_normal, resolution, dtype. finfo() describes the default dtype."""

    def __init__(self, type=None):
        dt = _dtype(dtypes.get_default_dtype() if type is None else type, "finfo")
        if dt.kind != "f":
            raise TypeError(f"finfo: expected a floating point dtype, got {dt}; use iinfo "
                            f"for integer dtypes")
        info = np.finfo(dt.dtype)
        self.dtype = dt.name
        self.bits, self.eps, self.resolution = info.bits, float(info.eps), 10.0 ** -info.precision
        self.max, self.min = float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype (torch.iinfo): bits, max, min, dtype."""

    def __init__(self, type):
        dt = _dtype(type, "iinfo")
        if dt.kind not in "iub":
            raise TypeError(f"iinfo: expected an integer dtype, got {dt}; use finfo for "
                            f"floating dtypes")
        info = np.iinfo(np.uint8 if dt.kind == "b" else dt.dtype)
        self.dtype, self.bits = dt.name, 8 if dt.kind == "b" else info.bits
        self.max, self.min = (1, 0) if dt.kind == "b" else (int(info.max), int(info.min))

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def promote_types(type1, type2):
    """The smallest dtype both promote to, by PyTorch's rules (a float side wins over ints)."""
    a, b = _dtype(type1, "promote_types"), _dtype(type2, "promote_types")
    return dtypes.wrap(dtypes.result_type(a.dtype, b.dtype))


def result_type(tensor, other):
    """The dtype of an arithmetic op on tensor and other (tensors or Python numbers), as
    PyTorch computes it: tensors' dtypes promote; a number changes the kind only (an int
    tensor with a float number gives the default float dtype)."""
    if not isinstance(tensor, Tensor) and isinstance(other, Tensor):
        tensor, other = other, tensor
    if not isinstance(tensor, Tensor):  # two numbers: the dtype of their tensors' result
        a, b = as_tensor(tensor), as_tensor(other)
        return dtypes.wrap(dtypes.result_type(a.data.dtype, b.data.dtype))
    a = tensor.data.dtype
    if isinstance(other, Tensor):
        b = other.data.dtype
        if other.data.ndim == 0 and tensor.data.ndim > 0 and dtypes.same_kind(a, b):
            return dtypes.wrap(a)  # a 0-d tensor of the same kind does not widen
        return dtypes.wrap(dtypes.result_type(a, b))
    return dtypes.wrap(dtypes.scalar_result_type(a, other))


def can_cast(from_, to):
    """Whether PyTorch's casting rules allow from_ -> to without changing the kind downward
    (float -> int, int -> bool and float -> bool are not allowed)."""
    a, b = _dtype(from_, "can_cast"), _dtype(to, "can_cast")
    rank = {"b": 0, "u": 1, "i": 1, "f": 2}
    return rank[a.kind] <= rank[b.kind]


def typename(obj):
    """'autodiff.FloatTensor' for a tensor, else the object's qualified type name."""
    if isinstance(obj, Tensor):
        return obj.type()
    cls = obj if isinstance(obj, type) else type(obj)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", None) else f"{module}.{cls.__qualname__}"


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """A tensor from obj, sharing its memory when obj is an ndarray, a tensor or a buffer of
    the requested dtype (copy=True always copies, copy=False refuses to copy)."""
    if isinstance(obj, Tensor):
        data = obj.data
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        data = np.frombuffer(obj, dtype=dtypes.as_dtype(dtype or np.uint8))
    else:
        data = obj
    want = None if dtype is None else dtypes.as_dtype(dtype)
    if copy is False:
        arr = np.asarray(data, dtype=want)
        if isinstance(data, np.ndarray) and not np.shares_memory(arr, data):
            raise ValueError(f"asarray: copy=False, but obj of dtype {data.dtype} needs a copy "
                             f"to become {want}; allow a copy (copy=None)")
    elif copy:
        arr = np.array(data, dtype=want, copy=True)
    else:
        arr = np.asarray(data, dtype=want)
    if arr.dtype == np.float64 and not isinstance(data, (np.ndarray, Tensor)) and want is None:
        arr = arr.astype(dtypes.get_default_dtype())  # Python floats: the default dtype
    out = as_tensor(arr, device=device)
    if requires_grad:
        out.requires_grad_()
    return out


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D tensor over a Python buffer's memory (no copy), as torch.frombuffer."""
    try:
        arr = np.frombuffer(buffer, dtype=dtypes.as_dtype(dtype), count=count, offset=offset)
    except ValueError as err:
        raise ValueError(f"frombuffer: {err} (buffer of {memoryview(buffer).nbytes} bytes, "
                         f"offset {offset}, count {count}, dtype {dtype})") from None
    if arr.flags.writeable is False and isinstance(buffer, (bytearray, memoryview)):
        arr.flags.writeable = True
    out = as_tensor(arr)
    if requires_grad:
        out.requires_grad_()
    return out


class _Capsule:
    """A DLPack capsule dressed as an object numpy's from_dlpack accepts."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU


def from_dlpack(ext_tensor):
    """A tensor sharing the memory of any object with __dlpack__ (a torch or jax CPU tensor,
    an ndarray) or of a DLPack capsule."""
    if not hasattr(ext_tensor, "__dlpack__"):
        ext_tensor = _Capsule(ext_tensor)
    try:
        arr = np.from_dlpack(ext_tensor)
    except (TypeError, BufferError, RuntimeError) as err:
        raise RuntimeError(f"from_dlpack: cannot import {type(ext_tensor).__name__}: {err} "
                           f"(only CPU memory can be shared)") from None
    return as_tensor(arr)


def to_dlpack(tensor):
    """A DLPack capsule of the tensor's memory (for another library's from_dlpack)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack: expected a Tensor, got {type(tensor).__name__}")
    return tensor.data.__dlpack__()


__all__ = ["e", "pi", "inf", "nan", "newaxis", "finfo", "iinfo", "promote_types",
           "result_type", "can_cast", "typename", "asarray", "frombuffer", "from_dlpack",
           "to_dlpack"]
