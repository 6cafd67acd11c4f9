"""Products and distances beyond matmul: addmm family, mv, inner, tensordot, kron, cross,
cdist/pdist/dist, cov/corrcoef, trapezoid.

All but the p-norm of distances are compositions of differentiable ops (second order for
free); the p-norm is reduce.PNorm, a node of its own because the composed (sum |x|^p)^(1/p)
has a NaN gradient at zero distance, where PyTorch gives 0."""
import warnings

import numpy as np

from ..dtypes import get_default_dtype
from ..function import OUT, Node, apply, apply1
from ..tensor import Tensor
from . import elementwise as E, reduce as R, shape as S
from .broadcast import broadcast_to
from ._operands import broadcast_shapes, normalize_dims, promote, tensor_arg
from .elementwise import Where, raw
from .linalg import matmul, outer
from .reduce import PNorm

__all__ = ["addmm", "addmv", "addr", "baddbmm", "addbmm", "mv", "ger", "inner", "tensordot",
           "kron", "cross", "vdot", "chain_matmul", "cdist", "pdist", "dist", "cov", "corrcoef",
           "trapezoid", "cumulative_trapezoid"]


# --- argument checks ---------------------------------------------------------------------------

def _same_dtype(op, **named):
    """The arguments as tensors of one dtype: PyTorch's products refuse to mix dtypes."""
    xs = {k: tensor_arg(v, op, k) for k, v in named.items()}
    dts = {x.data.dtype for x in xs.values()}
    if len(dts) > 1:
        got = ", ".join(f"{k}: {x.data.dtype}" for k, x in xs.items())
        raise RuntimeError(f"{op}: all arguments must have the same dtype, got {got}; convert "
                           f"them with .to(dtype) first")
    return tuple(xs.values())


def _ndim(op, name, x, n):
    if x.data.ndim != n:
        raise RuntimeError(f"{op}: {name} must be a {n}-D tensor, got shape {x.data.shape}")


def _float(op, *xs):
    for x in xs:
        if x.data.dtype.kind != "f":
            raise RuntimeError(f"{op} only supports floating-point dtypes, got {x.data.dtype}; "
                               f"convert with .float() or .double()")


def _scale(x, s):
    return x if s == 1 else x * s


def _add_scaled(op, input, prod, beta, alpha):
    """beta * input + alpha * prod, input broadcast to prod's shape; beta == 0 ignores input's
    values (NaN and inf included), as PyTorch documents, while keeping it in the graph (grad 0)"""
    if broadcast_shapes(input.data.shape, prod.data.shape) != prod.data.shape:
        raise RuntimeError(f"{op}: input of shape {input.data.shape} cannot be broadcast to the "
                           f"product's shape {prod.data.shape}")
    prod = _scale(prod, alpha)
    if beta == 0:
        if not input.requires_grad:
            return prod
        return E.where(False, input, 0) + prod
    return _scale(input, beta) + prod


# --- the addmm family and products of fixed ranks -----------------------------------------------

def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2) for matrices mat1 (n, k), mat2 (k, m)"""
    input, mat1, mat2 = _same_dtype("addmm", input=input, mat1=mat1, mat2=mat2)
    _ndim("addmm", "mat1", mat1, 2)
    _ndim("addmm", "mat2", mat2, 2)
    if mat1.data.shape[1] != mat2.data.shape[0]:
        raise RuntimeError(f"addmm: mat1 and mat2 shapes cannot be multiplied "
                           f"({mat1.data.shape[0]}x{mat1.data.shape[1]} and "
                           f"{mat2.data.shape[0]}x{mat2.data.shape[1]})")
    return _add_scaled("addmm", input, matmul(mat1, mat2), beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta * input + alpha * (mat @ vec) for mat (n, m), vec (m,)"""
    input, mat, vec = _same_dtype("addmv", input=input, mat=mat, vec=vec)
    return _add_scaled("addmv", input, mv(mat, vec), beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """beta * input + alpha * outer(vec1, vec2)"""
    input = tensor_arg(input, "addr")
    prod = ger(vec1, vec2)
    input, prod = promote(input, prod, "addr")
    return _add_scaled("addr", input, prod, beta, alpha)


def _check_batches(op, b1, b2):
    _ndim(op, "batch1", b1, 3)
    _ndim(op, "batch2", b2, 3)
    (n1, _, k1), (n2, k2, _) = b1.data.shape, b2.data.shape
    if n1 != n2 or k1 != k2:
        raise RuntimeError(f"{op}: batch1 of shape {b1.data.shape} and batch2 of shape "
                           f"{b2.data.shape} do not fit: expected batch2 of shape "
                           f"({n1}, {k1}, m) (same batch size, no broadcasting)")


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * (batch1 @ batch2) for batch1 (b, n, k), batch2 (b, k, m)"""
    input, b1, b2 = _same_dtype("baddbmm", input=input, batch1=batch1, batch2=batch2)
    _check_batches("baddbmm", b1, b2)
    return _add_scaled("baddbmm", input, matmul(b1, b2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * sum_b batch1[b] @ batch2[b]: one (n, b*k) @ (b*k, m) product"""
    input, b1, b2 = _same_dtype("addbmm", input=input, batch1=batch1, batch2=batch2)
    _check_batches("addbmm", b1, b2)
    b, n, k = b1.data.shape
    m = b2.data.shape[2]
    prod = matmul(b1.permute(1, 0, 2).reshape(n, b * k), b2.reshape(b * k, m))
    return _add_scaled("addbmm", input, prod, beta, alpha)


def mv(input, vec):
    """input @ vec for a matrix (n, m) and a vector (m,)"""
    input, vec = _same_dtype("mv", input=input, vec=vec)
    _ndim("mv", "input", input, 2)
    _ndim("mv", "vec", vec, 1)
    if input.data.shape[1] != vec.data.shape[0]:
        raise RuntimeError(f"mv: size mismatch, got matrix of shape {input.data.shape} and "
                           f"vector of shape {vec.data.shape}")
    return matmul(input, vec)


def ger(input, vec2):
    """outer(input, vec2) of two vectors (PyTorch's older name)"""
    input, vec2 = tensor_arg(input, "ger"), tensor_arg(vec2, "ger", "vec2")
    _ndim("ger", "input", input, 1)
    _ndim("ger", "vec2", vec2, 1)
    return outer(input, vec2)


def vdot(input, other):
    """sum(input * other) for two vectors of one size (real: no conjugation)"""
    input, other = tensor_arg(input, "vdot"), tensor_arg(other, "vdot", "other")
    if input.data.ndim != 1 or other.data.ndim != 1:
        raise RuntimeError(f"vdot: 1D tensors expected, got shapes {input.data.shape} and "
                           f"{other.data.shape}")
    if input.data.shape != other.data.shape:
        raise RuntimeError(f"vdot: inconsistent tensor sizes {input.data.shape[0]} and "
                           f"{other.data.shape[0]}; both vectors need the same length")
    input, other = _same_dtype("vdot", input=input, other=other)
    return matmul(input, other)


def chain_matmul(*matrices):
    """matrices[0] @ matrices[1] @ ... (2-D each; deprecated in PyTorch for linalg.multi_dot)"""
    if not matrices:
        raise RuntimeError("chain_matmul: expected one or more matrices")
    xs = _same_dtype("chain_matmul", **{f"matrices[{i}]": m for i, m in enumerate(matrices)})
    for i, x in enumerate(xs):
        _ndim("chain_matmul", f"matrices[{i}]", x, 2)
    for i in range(1, len(xs)):
        if xs[i - 1].data.shape[1] != xs[i].data.shape[0]:
            raise RuntimeError(f"chain_matmul: matrices[{i - 1}] of shape "
                               f"{xs[i - 1].data.shape} cannot be multiplied by matrices[{i}] "
                               f"of shape {xs[i].data.shape}")
    if len(xs) == 1:
        return E.clone(xs[0])
    out = xs[0]
    for x in xs[1:]:
        out = matmul(out, x)
    return out


# --- contractions ------------------------------------------------------------------------------

def tensordot(a, b, dims=2):
    """Sums a * b over a's dims[0] paired with b's dims[1] (an int n: a's last n with b's first
    n), as one permute + reshape + matmul"""
    a, b = _same_dtype("tensordot", a=a, b=b)
    na, nb = a.data.ndim, b.data.ndim
    if isinstance(dims, Tensor):
        dims = dims.data.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(na, nb):
            raise RuntimeError(f"tensordot: dims={dims} exceeds the number of dims of a "
                               f"{a.data.shape} or b {b.data.shape}")
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        try:
            da, db = dims
            da = [da] if isinstance(da, (int, np.integer)) else list(da)
            db = [db] if isinstance(db, (int, np.integer)) else list(db)
        except (TypeError, ValueError):
            raise TypeError(f"tensordot: dims must be an int or a pair of lists of dims, got "
                            f"{dims!r}") from None
        if len(da) != len(db):
            raise RuntimeError(f"tensordot: both dim lists should have the same length, got "
                               f"{da} and {db}")
        normalize_dims(da, na, "tensordot")  # (range and repeats checked; order kept below)
        normalize_dims(db, nb, "tensordot")
        da, db = [d % na for d in da], [d % nb for d in db]
    for i, j in zip(da, db):
        if a.data.shape[i] != b.data.shape[j]:
            raise RuntimeError(f"tensordot: contracted dimensions need to match, but a has size "
                               f"{a.data.shape[i]} in dim {i} and b has size {b.data.shape[j]} "
                               f"in dim {j}")
    fa = [d for d in range(na) if d not in da]
    fb = [d for d in range(nb) if d not in db]
    k = int(np.prod([a.data.shape[d] for d in da]))
    sa, sb = [a.data.shape[d] for d in fa], [b.data.shape[d] for d in fb]
    a2 = a.permute(*fa, *da).reshape(int(np.prod(sa)), k)
    b2 = b.permute(*db, *fb).reshape(k, int(np.prod(sb)))
    return matmul(a2, b2).reshape(*sa, *sb)


def inner(input, other):
    """Sums input * other over the last dim of each (a 0-d operand just multiplies)"""
    input, other = tensor_arg(input, "inner"), tensor_arg(other, "inner", "other")
    if input.data.ndim == 0 or other.data.ndim == 0:
        return E.mul(input, other)
    if input.data.shape[-1] != other.data.shape[-1]:
        raise RuntimeError(f"inner: the last dimension must match on both inputs, got shapes "
                           f"{input.data.shape} and {other.data.shape}")
    return tensordot(input, other, ([-1], [-1]))


def kron(input, other):
    """Kronecker product: out[i*p + k, j*q + l, ...] = input[i, j, ...] * other[k, l, ...]"""
    a, b = promote(input, other, "kron")
    n = max(a.data.ndim, b.data.ndim)
    sa = (1,) * (n - a.data.ndim) + a.data.shape
    sb = (1,) * (n - b.data.ndim) + b.data.shape
    # interleave: a as (a0, 1, a1, 1, ...), b as (1, b0, 1, b1, ...)
    prod = a.reshape([s for d in sa for s in (d, 1)]) * b.reshape([s for d in sb for s in (1, d)])
    return prod.reshape([p * q for p, q in zip(sa, sb)])


def cross(input, other, dim=None):
    """The 3-vector cross product along dim (other dims broadcast). dim=None takes the first
    dim of size 3, with PyTorch's deprecation warning (linalg.cross defaults to dim=-1)"""
    input, other = _same_dtype("cross", input=input, other=other)
    if dim is None:
        warnings.warn("cross: using cross without specifying dim is deprecated (as in PyTorch); "
                      "pass dim explicitly or use autodiff.linalg.cross (dim=-1). Taking the "
                      "first dimension of size 3.", UserWarning, stacklevel=2)
        sizes = input.data.shape
        if 3 not in sizes:
            raise RuntimeError(f"cross: no dimension of size 3 in input of shape {sizes}")
        dim = sizes.index(3)
    nd = input.data.ndim
    if other.data.ndim != nd:
        raise RuntimeError(f"cross: inputs must have the same number of dimensions, got shapes "
                           f"{input.data.shape} and {other.data.shape}")
    d = normalize_dims(dim, nd, "cross")[0]
    if input.data.shape[d] != 3 or other.data.shape[d] != 3:
        raise RuntimeError(f"cross: inputs dimension {d} must have length 3, got shapes "
                           f"{input.data.shape} and {other.data.shape}")
    if broadcast_shapes(input.data.shape, other.data.shape) is None:
        raise RuntimeError(f"cross: shapes {input.data.shape} and {other.data.shape} cannot be "
                           f"broadcast together")
    x0, x1, x2 = (S.select(input, d, i) for i in range(3))
    y0, y1, y2 = (S.select(other, d, i) for i in range(3))
    return S.stack([x1 * y2 - x2 * y1, x2 * y0 - x0 * y2, x0 * y1 - x1 * y0], d)


# --- distances ---------------------------------------------------------------------------------

class EuclideanDist(Node):
    """out[i, j] = sqrt(max(|x1_i|^2 + |x2_j|^2 - 2 x1_i.x2_j, 0)) (PyTorch's matmul form, batched);
    dx1 = x1 * sum_j r - r @ x2, dx2 = x2 * sum_i r - r^T @ x1, r = g / out (0 where out == 0)"""
    __slots__ = ("out",)
    reads = ((0, 1, OUT), (0, 1, OUT))
    saved = ("out",)

    def forward(self, x1, x2):
        d2 = np.sum(x1 * x1, axis=-1)[..., :, None] + np.sum(x2 * x2, axis=-1)[..., None, :]
        d2 -= 2 * (x1 @ np.swapaxes(x2, -1, -2))
        self.out = np.sqrt(np.maximum(d2, 0, out=d2))
        return self.out

    def backward(self, g, out, x1, x2):
        zero = raw(out) == 0
        if zero.any():  # the subgradient 0 at zero distance, as PyTorch
            out = Where.apply(zero, np.ones((), out.dtype), out)
            g = Where.apply(zero, np.zeros((), out.dtype), g)
        r = g / out
        n1, n2 = self.needs_input_grad
        return ((x1 * r.sum(axis=-1, keepdims=True) - r @ x2) if n1 else None,
                (x2 * r.mT.sum(axis=-1, keepdims=True) - r.mT @ x1) if n2 else None)


def _pnorm(d, p, dims):
    """The p-norm of d over dims (a tuple of non-negative dims, or None for all)"""
    n = d.data.size if dims is None else int(np.prod([d.data.shape[i] for i in dims]))
    if n == 0 or p == 1:
        return R.sum(E.abs(d), dims)
    if p == 0:  # the count of nonzero entries: a zero gradient, kept in the graph as PyTorch
        return R.sum(E.where(d != 0, 1.0, d * 0), dims)
    if p == 2:
        return R.norm(d, 2, dims)
    if p == float("inf"):
        return R.amax(E.abs(d), dims)
    if p == float("-inf"):
        return R.amin(E.abs(d), dims)
    return apply1(PNorm(float(p), dims), d)


def _check_p(op, p):
    if not isinstance(p, (int, float, np.number)) or isinstance(p, bool):
        raise TypeError(f"{op}: p must be a number, got {type(p).__name__}")
    if p < 0:
        raise RuntimeError(f"{op} only supports non-negative p values, got p={p}")


_COMPUTE_MODES = (None, "use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                  "donot_use_mm_for_euclid_dist")


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M):
    (..., P, R), batch dims broadcast; the gradient at zero distance is 0 (every p)"""
    if compute_mode not in _COMPUTE_MODES:
        raise ValueError(f"cdist: {compute_mode!r} is not a valid value for compute_mode "
                         f"(one of {', '.join(map(repr, _COMPUTE_MODES[1:]))})")
    x1, x2 = tensor_arg(x1, "cdist", "x1"), tensor_arg(x2, "cdist", "x2")
    for name, x in (("x1", x1), ("x2", x2)):
        if x.data.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} has shape "
                               f"{x.data.shape}")
    if x1.data.shape[-1] != x2.data.shape[-1]:
        raise RuntimeError(f"cdist: x1 and x2 must have the same number of columns, got shapes "
                           f"{x1.data.shape} and {x2.data.shape}")
    _float("cdist", x1, x2)
    x1, x2 = _same_dtype("cdist", x1=x1, x2=x2)
    _check_p("cdist", p)
    if broadcast_shapes(x1.data.shape[:-2], x2.data.shape[:-2]) is None:
        raise RuntimeError(f"cdist: the batch dims of x1 {x1.data.shape} and x2 "
                           f"{x2.data.shape} cannot be broadcast together")
    rows1, rows2 = x1.data.shape[-2], x2.data.shape[-2]
    if p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
            compute_mode != "donot_use_mm_for_euclid_dist" and (rows1 > 25 or rows2 > 25))):
        # PyTorch's choice: one matmul instead of a (..., P, R, M) tensor of differences
        batch = broadcast_shapes(x1.data.shape[:-2], x2.data.shape[:-2])
        x1 = broadcast_to(x1, batch + x1.data.shape[-2:])
        x2 = broadcast_to(x2, batch + x2.data.shape[-2:])
        return apply(EuclideanDist(), x1, x2)
    # every difference, (..., P, R, M): exact, no cancellation
    diff = S.unsqueeze(x1, -2) - S.unsqueeze(x2, -3)
    return _pnorm(diff, p, (diff.data.ndim - 1,))


def pdist(input, p=2):
    """The p-norm distance between rows i < j of input (N, M), in row-major order: N(N-1)/2"""
    input = tensor_arg(input, "pdist")
    if input.data.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got shape {input.data.shape}")
    _float("pdist", input)
    _check_p("pdist", p)
    i, j = np.triu_indices(input.data.shape[0], 1)
    return _pnorm(input[i] - input[j], p, (1,))


def dist(input, other, p=2):
    """The p-norm of input - other (broadcast) over all elements"""
    input, other = promote(input, other, "dist")
    _float("dist", input)
    if broadcast_shapes(input.data.shape, other.data.shape) is None:
        raise RuntimeError(f"dist: shapes {input.data.shape} and {other.data.shape} cannot be "
                           f"broadcast together")
    if not isinstance(p, (int, float, np.number)) or isinstance(p, bool):
        raise TypeError(f"dist: p must be a number, got {type(p).__name__}")
    return _pnorm(input - other, p, None)


# --- statistics --------------------------------------------------------------------------------

def _weights(w, name, n, kind, dtype):
    w = tensor_arg(w, "cov", name)
    if w.data.ndim > 1:
        raise RuntimeError(f"cov: expected {name} to have one or fewer dimensions, got shape "
                           f"{w.data.shape}")
    if w.data.size != n:
        raise RuntimeError(f"cov: expected {name} to have the same number of elements as "
                           f"there are observations ({n}), got {w.data.size}")
    if (kind == "int") != (w.data.dtype.kind in "iu"):
        wanted = "integral" if kind == "int" else "floating point"
        raise RuntimeError(f"cov: expected {name} to have {wanted} dtype, got {w.data.dtype}")
    if (w.data < 0).any():
        raise RuntimeError(f"cov: {name} cannot be negative")
    return w.to(dtype) if w.data.dtype != dtype else w


def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the rows of input (variables) over its columns (observations); weighted
    by fweights (integer repeats) and aweights (importance), as numpy.cov"""
    x = tensor_arg(input, "cov")
    if x.data.ndim > 2:
        raise RuntimeError(f"cov: expected input to have two or fewer dimensions, got shape "
                           f"{x.data.shape}")
    if x.data.dtype.kind != "f":
        x = x.to(get_default_dtype())
    if x.data.ndim < 2:
        x = x.reshape(1, -1)
    n = x.data.shape[1]
    dt = x.data.dtype
    w = None
    if fweights is not None:
        w = _weights(fweights, "fweights", n, "int", dt)
    if aweights is not None:
        aw = _weights(aweights, "aweights", n, "float", dt)
        w = aw if w is None else w * aw
    if w is None:
        avg = R.mean(x, 1)
        norm_factor = n - correction
    else:
        w_sum = R.sum(w)
        avg = R.sum(x * w, 1) / w_sum
        if correction == 0:
            norm_factor = w_sum
        elif aweights is None:
            norm_factor = w_sum - correction
        else:
            norm_factor = w_sum - correction * R.sum(w * aw) / w_sum
    if raw(norm_factor if isinstance(norm_factor, Tensor) else np.asarray(norm_factor)) <= 0:
        warnings.warn("cov: degrees of freedom is <= 0 (correction should be strictly less "
                      "than the number of observations); the result is inf or nan",
                      RuntimeWarning, stacklevel=2)
        norm_factor = norm_factor * 0 if isinstance(norm_factor, Tensor) else 0
    xm = x - S.unsqueeze(avg, 1)
    c = matmul(xm, (xm if w is None else xm * w).mT)
    with np.errstate(divide="ignore", invalid="ignore"):
        return S.squeeze(c / norm_factor)


def corrcoef(input):
    """Pearson correlation of the rows of input: cov / (std_i std_j), clipped to [-1, 1]"""
    c = cov(input)
    if c.data.ndim == 0:
        return c / c
    k = np.arange(c.data.shape[0])
    std = E.sqrt(c[k, k])
    c = c / S.unsqueeze(std, 1)
    c = c / S.unsqueeze(std, 0)
    return E.clamp(c, -1, 1)


# --- integration -------------------------------------------------------------------------------

def _trapezoid_terms(op, y, x, dx, dim):
    """(y, dim, width, left + right): the pieces both trapezoid rules sum"""
    y = tensor_arg(y, op, "y")
    if x is not None and dx is not None:
        raise TypeError(f"{op}: give the sample points x or the spacing dx, not both")
    if x is not None and isinstance(x, (int, float, np.number)):
        raise TypeError(f"{op}: x must be a tensor of sample points; pass a constant spacing "
                        f"as dx=")
    if y.data.ndim == 0:
        raise IndexError(f"{op}: y must have at least one dimension (dim={dim}), got a 0-d "
                         f"tensor")
    d = normalize_dims(dim, y.data.ndim, op)[0]
    if x is None:
        if y.data.dtype.kind != "f":
            y = y.to(get_default_dtype())
        width = 1 if dx is None else dx
    else:
        x = tensor_arg(x, op, "x")
        y, x = promote(y, x, op)
        if y.data.dtype.kind != "f":
            y, x = y.to(get_default_dtype()), x.to(get_default_dtype())
        if x.data.ndim == 1:
            if x.data.shape[0] != y.data.shape[d]:
                raise RuntimeError(f"{op}: there must be one x value for each sample point: x "
                                   f"has {x.data.shape[0]}, y has {y.data.shape[d]} along dim "
                                   f"{d}")
            x = x.reshape([-1 if i == d else 1 for i in range(y.data.ndim)])
        elif x.data.ndim < y.data.ndim:
            x = x.reshape((1,) * (y.data.ndim - x.data.ndim) + x.data.shape)
        xd = d + x.data.ndim - y.data.ndim  # (x may have more dims than y: aligned right)
        m = x.data.shape[xd]
        width = S.narrow(x, xd, 1, m - 1) - S.narrow(x, xd, 0, m - 1) if m else \
            S.narrow(x, xd, 0, 0)
    n = y.data.shape[d]
    left = S.narrow(y, d, 0, max(n - 1, 0))
    right = S.narrow(y, d, min(n, 1), max(n - 1, 0))
    return y, d, width, left + right


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule along dim: sum((x[i+1] - x[i]) * (y[i] + y[i+1]) / 2), spacing dx
    (default 1) when x is not given"""
    y, d, width, pairs = _trapezoid_terms("trapezoid", y, x, dx, dim)
    if y.data.shape[d] == 0:
        return R.sum(y, d) * 0
    if isinstance(width, Tensor):
        return R.sum(width * pairs, d) / 2.0
    # constant spacing, as PyTorch sums it: dx * (sum(y) - (y_first + y_last) / 2)
    ends = S.select(y, d, 0) + S.select(y, d, -1)
    return (R.sum(y, d) - ends * 0.5) * width


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoidal rule along dim (one element shorter than y there)"""
    y, d, width, pairs = _trapezoid_terms("cumulative_trapezoid", y, x, dx, dim)
    if isinstance(width, Tensor):
        return R.cumsum(width * pairs / 2.0, d)
    return R.cumsum(width / 2.0 * pairs, d)


def _in_place(fn, name):
    """The method `name`: self = fn(self, ...) in place, recorded by autodiff/inplace.py
    (imported on first use: it imports the ops package, which imports this module)."""
    made = []

    def method(self, *args, **kwargs):
        if not made:
            from ..inplace import _unary as make
            made.append(make(fn, name, single=False))  # (several ops: the old self is kept)
        return made[0](self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"{name[:-1]}(self, ...), in place"
    return method


# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {f.__name__: f for f in (addmm, addmv, addr, baddbmm, addbmm, mv, ger, inner, kron,
                                   cross, vdot, dist, cov, corrcoef)}
METHODS.update({name + "_": _in_place(fn, name + "_")
                for name, fn in (("addmm", addmm), ("addmv", addmv), ("addr", addr),
                                 ("baddbmm", baddbmm), ("addbmm", addbmm))})
