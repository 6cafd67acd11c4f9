"""Broadcasting as a pair of primitives that are each other's gradient (DESIGN rule 3):
broadcast_to's backward is sum_to and sum_to's is broadcast_to; and the operand handling of
two-input elementwise ops, which broadcasts explicitly only the operands that need a gradient."""
import math

import numpy as np

from ..function import Node, apply1
from ..tensor import Tensor, grad_state
from ._operands import broadcast_shape, broadcast_shapes, promote, tensor_arg


def _sum_to_array(x, shape):
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)
    if axes:
        x = x.sum(axis=axes, keepdims=True)
    return x.reshape(shape) if lead else x


class BroadcastTo(Node):
    """out = x repeated along new or size-1 dims; dx = sum_to(g, x.shape)"""
    __slots__ = ("shape",)
    reads = ()

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return expand(x, self.shape)

    def backward(self, g, out, x):
        return (SumTo.apply(g, shape=x.shape),)


def expand(x, shape):
    """x broadcast to `shape`: BroadcastTo's forward on bare arrays, the recorded op on tensors
    (rules call it: a reduction's backward broadcasts g back on every step)."""
    if isinstance(x, Tensor):
        return x if x.shape == shape else apply1(BroadcastTo(shape), x)
    if math.prod(shape) > _VIEW_ABOVE:
        return np.broadcast_to(x, shape)  # a read-only view: no copy of a big array
    out = np.empty(shape, x.dtype)  # small: filling a copy is cheaper than making the view
    out[...] = x
    return out


# np.broadcast_to spends ~3 us in Python making its view; filling a new array costs less up to
# about this many elements
_VIEW_ABOVE = 1 << 14


class SumTo(Node):
    """out = g summed down to `shape` (undoes broadcasting); dx = broadcast_to(g, x.shape)"""
    __slots__ = ("shape",)
    reads = ()

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return _sum_to_array(x, self.shape)

    def backward(self, g, out, x):
        return (expand(g, x.shape),)


def broadcast_to(x, shape):
    """x repeated to `shape` (numpy broadcasting rules; -1 keeps a dim's size, as PyTorch's);
    backward sums back"""
    x = tensor_arg(x, "broadcast_to")
    shape = tuple(shape)
    if -1 in shape:
        from .shape import expand  # (shape imports this module)
        return expand(x, *shape)
    return expand_view(x, shape, "broadcast_to")


class Expand(BroadcastTo):
    """expand/broadcast_to as users call them: a view of x (elements repeated in memory, so
    writing into it raises, as in PyTorch); dx = sum_to(g, x.shape)"""
    __slots__ = ()

    def forward(self, x):
        out = np.broadcast_to(x, self.shape)
        if x.flags.writeable and not any(s == 0 and n > 1 for s, n in zip(out.strides,
                                                                            out.shape)):
            # nothing repeats (only size-1 dims added): a writable view, as in PyTorch
            out = np.lib.stride_tricks.as_strided(x, out.shape, out.strides)
        return out


def expand_view(x, shape, op):
    """x broadcast to shape as a view of x (expand, broadcast_to)"""
    if broadcast_shapes(x.data.shape, shape) != shape:
        raise RuntimeError(f"{op}: cannot broadcast shape {x.data.shape} to {shape}; each "
                           f"dimension must match or be 1 (aligned from the right)")
    from ..views import as_view
    node = Expand(shape)  # (to x's own shape too: a new view, as in PyTorch)
    return as_view(apply1(node, x), x, node)


def sum_to(x, shape):
    """x summed down to `shape`, the inverse of broadcast_to"""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return apply1(SumTo(shape), x)


def broadcast_operands(op, *xs):
    """Tensors that need a gradient are broadcast explicitly (broadcast_to, whose backward is
    sum_to); constants are left to numpy's implicit broadcasting."""
    shape = broadcast_shape(op, *(x.data.shape for x in xs))
    record = grad_state.enabled
    return tuple(apply1(BroadcastTo(shape), x)
                 if (record and x._requires_grad and x.data.shape != shape)
                 else x for x in xs)


def binary_operands(x, y, op, to_float=False):
    """Promoted and broadcast operands for a two-input elementwise op (to_float: see
    promote; two operands of one integer dtype are left to the caller to cast)."""
    if isinstance(x, Tensor):  # (Tensor or a subclass such as nn.Parameter)
        if isinstance(y, Tensor):
            xd, yd = x.data, y.data
            if xd.dtype is yd.dtype or xd.dtype == yd.dtype:  # (builtin dtypes are singletons)
                if xd.shape == yd.shape:
                    return x, y  # the common case, kept cheap
            else:
                x, y = promote(x, y, op, to_float)
        elif (type(y) is float or type(y) is int) and x.data.dtype.kind == "f":
            return x, Tensor._const(np.asarray(y, x.data.dtype))  # x * 2.0: a 0-d constant
        else:
            x, y = promote(x, y, op, to_float)
    elif (type(x) is float or type(x) is int) and isinstance(y, Tensor) and \
            y.data.dtype.kind == "f":
        return Tensor._const(np.asarray(x, y.data.dtype)), y
    else:
        x, y = promote(x, y, op, to_float)
    xs, ys = x.data.shape, y.data.shape
    if xs != ys:
        if (x._requires_grad or y._requires_grad) and grad_state.enabled:
            x, y = broadcast_operands(op, x, y)
        elif xs and ys:
            broadcast_shape(op, xs, ys)  # numpy will broadcast; check here for a clear error
    return x, y
