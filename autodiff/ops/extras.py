"""PyTorch conveniences that compose the primitives (plus cumsum, a primitive of its own)."""
import numpy as np

from ..function import Node, apply
from ..tensor import Tensor
from ._operands import normalize_dims, tensor_arg
from .elementwise import where
from .linalg import einsum, matmul
from .reduce import values_indices
from .shape import Flip, gather


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

    def backward(self, g, out, x):
        d = (self.dim,)
        return (Flip.apply(Cumsum.apply(Flip.apply(g, dims=d), dim=self.dim), dims=d),)


def cumsum(x, dim):
    """Running sum along dim"""
    x = tensor_arg(x, "cumsum")
    if x.data.ndim == 0:
        return x
    return apply(Cumsum(normalize_dims(dim, x.data.ndim, "cumsum")[0]), x)


def rsqrt(x):
    """1 / sqrt(x)"""
    return 1.0 / tensor_arg(x, "rsqrt").sqrt()


def sort(x, dim=-1, descending=False):
    """(values, indices) sorted along dim (stable); values are differentiable (a gather)"""
    x = tensor_arg(x, "sort")
    d = normalize_dims(dim, x.data.ndim, "sort")[0] if x.data.ndim else 0
    if x.data.ndim == 0:
        return values_indices(x, Tensor._const(np.zeros((), np.int64)))
    key = -x.data if descending else x.data
    idx = np.argsort(key, axis=d, kind="stable")
    return values_indices(gather(x, d, idx), Tensor._const(idx.astype(np.int64)))


def topk(x, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the k largest (or smallest) entries along dim"""
    x = tensor_arg(x, "topk")
    d = normalize_dims(dim, x.data.ndim, "topk")[0]
    n = x.data.shape[d]
    if not 0 <= k <= n:
        raise ValueError(f"topk: k={k} is out of range for dim {d} of size {n}")
    key = -x.data if largest else x.data
    idx = np.take(np.argsort(key, axis=d, kind="stable"), np.arange(k), axis=d)
    return values_indices(gather(x, d, idx), Tensor._const(idx.astype(np.int64)))


def isinf(x):
    """True where x is +-inf (no gradient)"""
    return Tensor._const(np.isinf(tensor_arg(x, "isinf").data))


def allclose(x, y, rtol=1e-5, atol=1e-8, equal_nan=False):
    """A Python bool: |x - y| <= atol + rtol * |y| everywhere (numpy's and PyTorch's rule)"""
    x, y = tensor_arg(x, "allclose"), tensor_arg(y, "allclose", "other")
    return bool(np.allclose(x.data, y.data, rtol=rtol, atol=atol, equal_nan=equal_nan))
