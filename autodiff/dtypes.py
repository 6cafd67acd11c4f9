"""dtypes: numpy dtypes, the default float dtype, and PyTorch's type-promotion rules."""
import math
import numbers

import numpy as np



class dtype:
    """A tensor's dtype, printed as PyTorch prints it (autodiff.float32). It stands for its
    numpy dtype everywhere: equal to it (and to np.float32, 'float32'), same hash, accepted by
    numpy (np.dtype(ad.float32) reads .dtype), its attributes (.kind, .itemsize, .name) read
    through."""

    __slots__ = ("dtype",)

    def __init__(self, np_dtype):
        self.dtype = np.dtype(np_dtype)

    def __repr__(self):
        return "autodiff." + self.dtype.name

    __str__ = __repr__

    def __eq__(self, other):
        if isinstance(other, dtype):
            return self.dtype == other.dtype
        try:
            return self.dtype == np.dtype(other)
        except TypeError:
            return NotImplemented

    def __hash__(self):
        return hash(self.dtype)

    def __getattr__(self, name):
        return getattr(self.dtype, name)

    # (the attributes ops and nn read often, without __getattr__'s failed lookup first)
    kind = property(lambda self: self.dtype.kind)
    itemsize = property(lambda self: self.dtype.itemsize)
    name = property(lambda self: self.dtype.name)
    type = property(lambda self: self.dtype.type)
    char = property(lambda self: self.dtype.char)

    def __reduce__(self):
        return (wrap, (self.dtype.str,))

    @property
    def is_floating_point(self):
        return self.dtype.kind == "f"

    @property
    def is_signed(self):
        return self.dtype.kind in "if"

    is_complex = False


_WRAPPED = {}


def wrap(np_dtype):
    """The autodiff.dtype standing for a numpy dtype (one object per dtype)."""
    d = np.dtype(np_dtype)
    w = _WRAPPED.get(d)
    if w is None:
        w = _WRAPPED[d] = dtype(d)
    return w


float16, float32, float64 = wrap(np.float16), wrap(np.float32), wrap(np.float64)
int8, int16, int32, int64 = wrap(np.int8), wrap(np.int16), wrap(np.int32), wrap(np.int64)
uint8, bool_ = wrap(np.uint8), wrap(np.bool_)
uint16, uint32, uint64 = wrap(np.uint16), wrap(np.uint32), wrap(np.uint64)

_default = [np.dtype(np.float32)]  # (a numpy dtype: read on hot paths)


def get_default_dtype():
    """The dtype of float tensors made from Python floats and of random/filled factories
    (as a numpy dtype, which compares equal to autodiff.float32)."""
    return _default[0]


def set_default_dtype(dtype):
    """Sets the default float dtype (float32 or float64)."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {dt}")
    _default[0] = dt


def as_dtype(dtype):
    """np.dtype(dtype), with a message naming the bad value."""
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{dtype!r} is not a dtype; "
                        f"use e.g. autodiff.float32 or 'float64'") from None


def result_type(a, b):
    """PyTorch promotion for two tensor dtypes: a float side wins over ints/bools;
    same kind widens."""
    if a is b or a == b:
        return a
    fa, fb = a.kind == "f", b.kind == "f"
    if fa and not fb:
        return a
    if fb and not fa:
        return b
    if a.kind == "b":
        return b
    if b.kind == "b":
        return a
    return np.promote_types(a, b)


def same_kind(a, b):
    """Both floating, both integer (signed or not), or both bool."""
    ka, kb = a.kind, b.kind
    return ka == kb or (ka in "iu" and kb in "iu")


def scalar_result_type(dtype, scalar):
    """Dtype of tensor(dtype) op Python/numpy scalar: the tensor's, unless a float meets an
    int tensor."""
    if isinstance(scalar, (bool, np.bool_)):
        return dtype
    if isinstance(scalar, (float, np.floating)):
        return dtype if dtype.kind == "f" else get_default_dtype()
    if isinstance(scalar, (int, np.integer)):
        return dtype if dtype.kind != "b" else int64
    raise TypeError(f"unsupported scalar type {type(scalar).__name__}")


def wrapped_int(value, dtype):
    """The Python int `value` (out of `dtype`'s range) as a 0-d array of the integer `dtype`,
    wrapped modulo 2**bits as PyTorch converts a number operand (int8 + 300 adds 44, uint8 - -3
    subtracts 253); beyond int64 numpy's OverflowError, as PyTorch's ("int too big to
    convert")."""
    return np.asarray(value, np.int64).astype(dtype)


def checked_scalar(value, dtype, op):
    """The number `value` to store in an array of numpy `dtype` (anything else as it is), or
    `op`'s RuntimeError if the dtype cannot hold it, as PyTorch's checked conversion: NaN,
    infinities and out-of-range values for integers (negatives wrap in unsigned types down to
    -max, as PyTorch allows); finite values beyond the largest for floats."""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        return value
    if dtype.kind in "iu":
        if isinstance(value, (numbers.Integral, np.integer)):
            n = int(value)
        else:
            n = math.trunc(float(value)) if math.isfinite(float(value)) else None
        info = np.iinfo(dtype)
        low = -int(info.max) if dtype.kind == "u" else int(info.min)
        if n is not None and low <= n <= int(info.max):
            return n % (int(info.max) + 1) if n < 0 and dtype.kind == "u" else value
    elif dtype.kind == "f":
        v = float(value)
        if not math.isfinite(v) or abs(v) <= float(np.finfo(dtype).max):
            return value
    else:
        return value
    raise RuntimeError(f"{op}: value {value!r} cannot be converted to {dtype} without "
                       f"overflow; pick a value the dtype holds, or a wider dtype")
