"""dtypes: numpy dtypes, the default float dtype, and PyTorch's type-promotion rules."""
import numpy as np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)

_default = [float32]


def get_default_dtype():
    """The dtype of float tensors made from Python floats and of random/filled factories."""
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
