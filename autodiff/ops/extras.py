"""PyTorch conveniences that compose the primitives (plus cumsum, a primitive of its own)."""
import numpy as np

from ..function import Node, apply1
from ..tensor import Tensor
from ._operands import normalize_dims, tensor_arg
from .elementwise import where
from .linalg import einsum, matmul
from .shape import flip


def _product(x, y, ndim, op):
    """matmul for operands that must both have exactly ndim dims (PyTorch's mm, bmm, dot)"""
    x, y = tensor_arg(x, op), tensor_arg(y, op, "other")
    for t in (x, y):
        if t.data.ndim != ndim:
            raise ValueError(f"{op}: expected {ndim}-d tensors, got shapes {x.data.shape} and "
                             f"{y.data.shape}; use matmul for vectors and batches of other shapes")
    return matmul(x, y)


def mm(x, y):
    """Matrix product of two 2-d tensors"""
    return _product(x, y, 2, "mm")


def bmm(x, y):
    """Batched matrix product of two 3-d tensors (b, n, k) @ (b, k, m)"""
    return _product(x, y, 3, "bmm")


def dot(x, y):
    """Inner product of two 1-d tensors"""
    return _product(x, y, 1, "dot")


def outer(x, y):
    """out[i, j] = x[i] * y[j] for 1-d x, y"""
    return einsum("i,j->ij", x, y)


def square(x):
    """x * x"""
    x = tensor_arg(x, "square")
    return x * x


def _triangle(x, diagonal, lower, op):
    x = tensor_arg(x, op)
    if x.data.ndim < 2:
        raise ValueError(f"{op}: expected at least 2 dims, got shape {x.data.shape}")
    n, m = x.data.shape[-2:]
    keep = (np.tril if lower else np.triu)(np.ones((n, m), bool), diagonal)
    return where(Tensor._const(keep), x, Tensor._const(np.zeros((), x.data.dtype)))


def tril(x, diagonal=0):
    """The lower triangle (on and below the given diagonal) of the last two dims; zeros above"""
    return _triangle(x, diagonal, True, "tril")


def triu(x, diagonal=0):
    """The upper triangle (on and above the given diagonal) of the last two dims; zeros below"""
    return _triangle(x, diagonal, False, "triu")


class Cumsum(Node):
    """out = running sum of x along dim; dx = the reversed running sum of g"""
    __slots__ = ("dim",)

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        return np.cumsum(x, axis=self.dim)

    def backward(self, g):
        return (flip(cumsum(flip(g, self.dim), self.dim), self.dim),)


def cumsum(x, dim):
    """Running sum along dim"""
    x = tensor_arg(x, "cumsum")
    if x.data.ndim == 0:
        return x
    return apply1(Cumsum(normalize_dims(dim, x.data.ndim, "cumsum")[0]), x)


def isinf(x):
    """True where x is +-inf (no gradient)"""
    return Tensor._const(np.isinf(tensor_arg(x, "isinf").data))


def allclose(x, y, rtol=1e-5, atol=1e-8, equal_nan=False):
    """A Python bool: |x - y| <= atol + rtol * |y| everywhere (numpy's and PyTorch's rule)"""
    x, y = tensor_arg(x, "allclose"), tensor_arg(y, "allclose", "other")
    return bool(np.allclose(x.data, y.data, rtol=rtol, atol=atol, equal_nan=equal_nan))
