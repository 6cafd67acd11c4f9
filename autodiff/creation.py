"""Factories: tensor, zeros, ones, full, eye, arange, linspace, random tensors, *_like."""
import operator

import numpy as np

from . import dtypes
from .compiler import replayed
from .random import rng
from .tensor import Tensor, _check_requires_grad, _to_array


def _device(device, op):
    """Devices are accepted for ported code; only the CPU exists."""
    if device is not None and not str(device).startswith("cpu"):
        raise RuntimeError(f"{op}: device={device!r} is not available: autodiff runs on the CPU "
                         f"only (use device='cpu' or leave it out)")


def _shape(size, op):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:  # (operator.index: 2.5 is refused, as PyTorch does, not truncated)
        shape = tuple(operator.index(s) for s in size)
    except TypeError:
        raise TypeError(f"{op}: sizes must be integers, got {size!r}") from None
    if any(s < 0 for s in shape):
        raise RuntimeError(f"{op}: sizes must be non-negative, got {shape}")
    return shape


def _finish(arr, requires_grad):
    _check_requires_grad(arr.dtype, requires_grad)
    t = Tensor._const(arr)
    t._requires_grad = bool(requires_grad)
    return t


def _float(dtype):
    return dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of data (Python floats -> the default dtype)"""
    _device(device, "tensor")
    return Tensor._from_data(data, dtype, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """data as a tensor, sharing memory when it already is one of the right dtype"""
    _device(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    return Tensor._const(_to_array(data, dtype))


def from_numpy(array):
    """A tensor sharing memory with a numpy array (its dtype kept; numpy scalars give 0-d)"""
    if isinstance(array, np.generic):
        array = np.asarray(array)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects an ndarray, got {type(array).__name__}")
    return Tensor._const(array)


def zeros(*size, dtype=None, requires_grad=False, device=None):
    _device(device, "zeros")
    return _finish(np.zeros(_shape(size, "zeros"), _float(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None):
    _device(device, "ones")
    return _finish(np.ones(_shape(size, "ones"), _float(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad=False, device=None):
    _device(device, "empty")
    return _finish(np.empty(_shape(size, "empty"), _float(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    _device(device, "full")
    if dtype is None:
        dtype = _to_array(fill_value).dtype
    dtype = dtypes.as_dtype(dtype)
    fill_value = dtypes.checked_scalar(fill_value, dtype, "full")
    return _finish(np.full(_shape((size,), "full"), fill_value, dtype), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    _device(device, "eye")
    return _finish(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Values from start to end (exclusive); ints give int64, floats the default dtype"""
    _device(device, "arange")
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if is_int else dtypes.get_default_dtype()
    return _finish(np.arange(start, end, step, dtype=dtypes.as_dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    """steps values evenly spaced from start to end; an integer dtype truncates toward zero"""
    _device(device, "linspace")
    dt = _float(dtype)
    values = np.linspace(start, end, steps, dtype=np.float64 if dt.kind != "f" else dt)
    return _finish(values.astype(dt), requires_grad)  # (astype truncates, as torch does)


@replayed
def rand(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Uniform on [0, 1)"""
    _device(device, "rand")
    dt = _float(dtype)
    return _finish(rng(generator).random(_shape(size, "rand")).astype(dt), requires_grad)


@replayed
def randn(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Standard normal"""
    _device(device, "randn")
    dt = _float(dtype)
    return _finish(rng(generator).standard_normal(_shape(size, "randn")).astype(dt), requires_grad)


@replayed
def randint(low, high=None, size=(), generator=None, dtype=None, device=None):
    """Integers uniform on [low, high) (int64); randint(high, size) as in PyTorch"""
    _device(device, "randint")
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    dt = np.int64 if dtype is None else dtypes.as_dtype(dtype)
    return Tensor._const(rng(generator).integers(low, high, size=tuple(size)).astype(dt))


@replayed
def randperm(n, generator=None, device=None):
    """A random permutation of 0..n-1 (int64)"""
    _device(device, "randperm")
    return Tensor._const(rng(generator).permutation(n).astype(np.int64))


def _like(fn):
    def like(x, dtype=None, requires_grad=False, device=None, **kwargs):
        _device(device, fn.__name__ + "_like")
        dt = x.dtype if dtype is None else dtype
        return fn(*x.shape, dtype=dt, requires_grad=requires_grad, **kwargs)
    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"{fn.__name__} with x's shape and dtype"
    return like


zeros_like, ones_like, empty_like = _like(zeros), _like(ones), _like(empty)
rand_like, randn_like = _like(rand), _like(randn)


def full_like(x, fill_value, dtype=None, requires_grad=False, device=None):
    _device(device, "full_like")
    return full(x.shape, fill_value, dtype=x.dtype if dtype is None else dtype,
                requires_grad=requires_grad)
