"""Turning op arguments into tensors: scalars, arrays, dtype promotion, broadcasting, dims."""
import numpy as np

from .. import dtypes
from ..tensor import Tensor, _to_array


def tensor_arg(x, op, name="input"):
    """x as a Tensor; arrays and numbers become constants (numbers in the default dtype)."""
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor._const(_to_array(x))
    except (TypeError, ValueError) as e:
        raise TypeError(f"{op}: {name} must be a Tensor, an ndarray or a number, got "
                        f"{type(x).__name__} ({e})") from None


def _scalar_operand(x, s, op, to_float=False):
    """(x, s) with s as a 0-d constant array and x cast if the scalar promotes it (int * 2.5;
    to_float: integer results compute in the default float dtype). An int beyond an integer
    dtype's range wraps into it, as PyTorch converts number operands (int8 + 300 adds 44)."""
    try:
        dt = dtypes.scalar_result_type(x.data.dtype, s)
    except TypeError:
        raise TypeError(f"{op}: unsupported operand of type {type(s).__name__}; use a Tensor, "
                        f"an ndarray or a Python number") from None
    if to_float and dt.kind != "f":
        dt = dtypes.get_default_dtype()
    if dt != x.data.dtype:
        x = x.to(dt)
    try:
        s = np.asarray(s, dt)
    except OverflowError:  # (NumPy 2 refuses a Python int out of range)
        if dt.kind not in "iu":
            raise
        s = dtypes.wrapped_int(s, dt)
    return x, Tensor._const(s)


def promote(x, y, op, to_float=False):
    """Two tensors of one dtype, following PyTorch's promotion (numbers keep the tensor's).

    to_float (true division, atan2: PyTorch's promote_integer_inputs_to_float): a bool or
    integer result dtype becomes the default float dtype, and each operand is cast to it from
    its own values, never first to the narrower common integer dtype (uint8 / tensor(300) is
    computed with 300, not 300 wrapped to 44)."""
    if isinstance(x, Tensor):
        if not isinstance(y, Tensor):
            if isinstance(y, (int, float, bool, np.number, np.bool_)):
                return _scalar_operand(x, y, op, to_float)
            y = tensor_arg(y, op, "other")
    elif isinstance(x, (int, float, bool, np.number, np.bool_)) and isinstance(y, Tensor):
        y, x = _scalar_operand(y, x, op, to_float)
        return x, y
    else:
        x = tensor_arg(x, op)
        y = tensor_arg(y, op, "other")
    dx, dy = x.data.dtype, y.data.dtype
    if dx != dy:
        dt = dtypes.result_type(dx, dy)
        # PyTorch: a 0-d tensor of the same kind (float/int) does not widen a dimensioned one
        if (x.data.ndim == 0) != (y.data.ndim == 0) and dtypes.same_kind(dx, dy):
            dt = dy if x.data.ndim == 0 else dx
    elif not to_float:
        return x, y
    else:
        dt = dx
    if to_float and dt.kind != "f":
        dt = dtypes.get_default_dtype()
    if dx != dt:
        x = x.to(dt)
    if dy != dt:
        y = y.to(dt)
    return x, y


def broadcast_shapes(*shapes):
    """numpy's broadcast result shape (pure Python: much cheaper than np.broadcast_shapes for
    the tiny tuples of the hot path); None when the shapes are incompatible."""
    out = shapes[0]
    for s in shapes[1:]:
        if s == out:
            continue
        n = max(len(out), len(s))
        a, b = (1,) * (n - len(out)) + out, (1,) * (n - len(s)) + s
        res = []
        for p, q in zip(a, b):
            if p == q or q == 1:
                res.append(p)
            elif p == 1:
                res.append(q)
            else:
                return None
        out = tuple(res)
    return out


def broadcast_shape(op, *shapes):
    out = broadcast_shapes(*shapes)
    if out is None:
        raise RuntimeError(
            f"{op}: shapes {', '.join(str(tuple(s)) for s in shapes)} cannot be broadcast "
            f"together (numpy rules: aligned from the right, each dimension must match or be 1)")
    return out


def normalize_dims(dim, ndim, op):
    """None (all dims) or a sorted tuple of non-negative dims, with errors naming the op."""
    if dim is None:
        return None
    if isinstance(dim, Tensor):
        dim = dim.item()
    if isinstance(dim, (int, np.integer)):
        dims = (dim,)
    elif isinstance(dim, (tuple, list)) and all(isinstance(d, (int, np.integer)) for d in dim):
        dims = tuple(dim)
    else:  # (2.0 or '1' would otherwise be taken as a dim, as PyTorch does not)
        raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
    n = max(ndim, 1)
    out = []
    for d in dims:
        if not -n <= d < n:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dimension(s) "
                             f"(valid: {-n} to {n - 1})")
        out.append(d % n if ndim else 0)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {dim} names a dimension twice")
    return tuple(sorted(out)) if ndim else ()


def check_float(x, op):
    if x.data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got dtype {x.data.dtype}; "
                        f"convert with .float() or .double()")
