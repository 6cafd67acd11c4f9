"""Matrix functions and decompositions for autodiff.linalg: det, slogdet, inv, solve, lstsq,
cholesky, qr, svd, eigh, pinv, matrix_power, matrix_exp, norms, LU (lu_factor, lu, lu_solve),
LDL, Householder products; and torch.*'s geqrf, ormqr, lobpcg, svd_lowrank, pca_lowrank.

Every op is batched over leading dims. A decomposition with several outputs is one node whose
forward returns them packed side by side (each flattened along the last dim); the function
users call unpacks them into fresh tensors (a `_Part` node each: copies, not views of the packed
buffer, as PyTorch's outputs are), so the node has a single output, and the gradients of the
outputs that are not used arrive as zeros. Rules follow PyTorch's (FunctionsManual.cpp) and
are written in recorded ops (`@`, `.mT`, `Op.apply`), so they serve the second order too.
LU is a numpy port of LAPACK's getrf (partial pivoting, batched); LDL takes LAPACK's
sytrf/sytrs from scipy (the [special] extra).
"""
import math
from collections import namedtuple

import numpy as np

from ..function import OUT, Node, apply, apply1
from ..tensor import Tensor
from ._operands import broadcast_shape, normalize_dims, tensor_arg
from .broadcast import expand
from .elementwise import abs as _abs, clone, raw, where
from .linalg import matmul
from .reduce import Norm2, _prod_of_others, amax, amin, p_norm, sum as _sum
from .shape import Cat, getitem, permute, reshape, squeeze, stack, unsqueeze

__all__ = ["LinAlgError", "det", "slogdet", "inv", "solve", "lstsq", "cholesky", "qr", "svd",
           "svdvals", "eigh", "eigvalsh", "pinv", "matrix_power", "matrix_exp", "matrix_rank",
           "norm", "vector_norm", "matrix_norm", "cross", "multi_dot", "solve_triangular",
           "inv_ex", "cholesky_ex", "cond", "tensorinv", "tensorsolve", "vander",
           "vecdot", "matmul", "diagonal", "lu_factor", "lu_factor_ex", "lu", "lu_solve",
           "solve_ex", "ldl_factor", "ldl_factor_ex", "ldl_solve", "householder_product"]



class LinAlgError(RuntimeError):
    """A matrix that is singular or not positive-definite (PyTorch's torch.linalg.LinAlgError)."""


slogdet_result = namedtuple("slogdet", ["sign", "logabsdet"])
qr_result = namedtuple("qr", ["Q", "R"])
svd_result = namedtuple("svd", ["U", "S", "Vh"])
svd_top_result = namedtuple("svd", ["U", "S", "V"])
eigh_result = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
inv_ex_result = namedtuple("inv_ex", ["inverse", "info"])
cholesky_ex_result = namedtuple("cholesky_ex", ["L", "info"])
lstsq_result = namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])


# --- argument checks ---------------------------------------------------------------------------

def _float_matrix(A, op, name="A", square=True):
    """A as a floating tensor of (batches of) matrices, else PyTorch's RuntimeError."""
    A = tensor_arg(A, op, name)
    if A.data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point tensor as {name}, got dtype "
                           f"{A.data.dtype}; convert it first, e.g. {name}.double()")
    if A.data.ndim < 2:
        raise RuntimeError(f"{op}: {name} must have at least 2 dimensions (a matrix or a batch of "
                           f"matrices), got shape {tuple(A.data.shape)}")
    if square and A.data.shape[-1] != A.data.shape[-2]:
        m, n = A.data.shape[-2:]
        raise RuntimeError(f"{op}: {name} must be batches of square matrices, but they are {m} "
                           f"by {n} matrices (shape {tuple(A.data.shape)})")
    return A


def _lapack(fn, op, what="singular"):
    """Runs a numpy.linalg call, turning its LinAlgError into ours (a RuntimeError)."""
    try:
        with np.errstate(all="ignore"):
            return fn()
    except np.linalg.LinAlgError as e:
        if what == "singular":
            raise LinAlgError(f"{op}: the input matrix is singular (numpy: {e}); it has no "
                              f"inverse. Use linalg.pinv or linalg.lstsq for singular "
                              f"systems") from None
        raise LinAlgError(f"{op}: the factorization could not be completed because the input "
                          f"is not positive-definite (numpy: {e})") from None


def _same_dtype(A, B, op):
    if A.data.dtype != B.data.dtype:
        raise RuntimeError(f"{op}: expected A and B to have the same dtype, got {A.data.dtype} "
                           f"and {B.data.dtype}; cast one with .to()")


# --- packing the outputs of a decomposition into one array ----------------------------------------

def _pack(batch, *parts):
    """The parts (each batch + its own shape) flattened and joined along the last dim."""
    return np.concatenate([p.reshape(batch + (math.prod(p.shape[len(batch):]),))
                           for p in parts], axis=-1)


def _unpack(t, shapes):
    """The parts of a packed array or tensor, each batch + shape: fresh copies (not views of
    the packed buffer, as PyTorch's outputs are tensors of their own)."""
    parts, start = [], 0
    total = t.shape[-1]
    for s in shapes:
        n = math.prod(s)
        parts.append(_Part.apply(t, start=start, stop=start + n, shape=tuple(s), total=total))
        start += n
    return parts


class _Part(Node):
    """out = a copy of packed[..., start:stop] shaped batch + shape; dpacked = g in place,
    zeros elsewhere"""
    __slots__ = ("start", "stop", "shape", "total")
    reads = ((),)

    def __init__(self, start, stop, shape, total):
        self.start, self.stop, self.shape, self.total = start, stop, shape, total

    def forward(self, p):
        return np.array(p[..., self.start:self.stop]).reshape(p.shape[:-1] + self.shape)

    def backward(self, g, out, p):
        return (_Place.apply(g, start=self.start, stop=self.stop, shape=self.shape,
                             total=self.total),)


class _Place(Node):
    """out = zeros of the packed shape with x (flattened) at [..., start:stop]; dx = the part
    of g there"""
    __slots__ = ("start", "stop", "shape", "total")
    reads = ((),)

    def __init__(self, start, stop, shape, total):
        self.start, self.stop, self.shape, self.total = start, stop, shape, total

    def forward(self, x):
        batch = x.shape[:x.ndim - len(self.shape)]
        out = np.zeros(batch + (self.total,), x.dtype)
        out[..., self.start:self.stop] = x.reshape(batch + (self.stop - self.start,))
        return out

    def backward(self, g, out, x):
        return (_Part.apply(g, start=self.start, stop=self.stop, shape=self.shape,
                            total=self.total),)


# --- small matrix helpers that work on arrays and tensors alike -----------------------------------

class _Diagonal(Node):
    """out = diagonal of the last two dims; dx = diag_embed(g)"""
    __slots__ = ()
    reads = ((),)

    def forward(self, x):
        return np.diagonal(x, axis1=-2, axis2=-1).copy()

    def backward(self, g, out, x):
        return (_DiagEmbed.apply(g),)


class _DiagEmbed(Node):
    """out = matrices with x on the diagonal; dx = diagonal(g)"""
    __slots__ = ()
    reads = ((),)

    def forward(self, x):
        n = x.shape[-1]
        out = np.zeros(x.shape + (n,), x.dtype)
        out[..., np.arange(n), np.arange(n)] = x
        return out

    def backward(self, g, out, x):
        return (_Diagonal.apply(g),)


def _eye_like(a):
    return np.eye(a.shape[-1], dtype=a.dtype)


def _tril_mask(a, k=0):
    return np.tril(np.ones(a.shape[-2:], a.dtype), k)


def _right_solve(a, b):
    """X with X @ a = b."""
    return Solve.apply(a.mT, b.mT).mT


def _col(v):
    return v.reshape(v.shape + (1,))


def _row(v):
    return v.reshape(v.shape[:-1] + (1,) + v.shape[-1:])


# --- determinants and inverses ----------------------------------------------------------------

class Det(Node):
    """out = det(A); dA = g * det(A) * inv(A)^T (the cofactor matrix, through the SVD when A is
    singular)"""
    __slots__ = ("out",)
    reads = ((0, OUT),)
    saved = ("out",)

    def forward(self, a):
        self.out = np.linalg.det(a)
        return self.out

    def backward(self, g, out, a):
        if (raw(out) == 0).any():
            return (_col(_col(g)) * _cofactor(a),)
        return (_col(_col(g * out)) * Inv.apply(a).mT,)


def _cofactor(a):
    """det(A) inv(A)^T, defined for singular A too: det(U) det(V) U diag(prod_{j!=i} s_j) Vh."""
    n = a.shape[-1]
    u, s, vh = _unpack(Svd.apply(a, full_matrices=False), [(n, n), (n,), (n, n)])
    others = _prod_of_others(s, s.ndim - 1) if n > 1 else s * 0 + 1
    sign = Det.apply(u) * Det.apply(vh)
    return _col(_col(sign)) * ((u * _row(others)) @ vh)


class Inv(Node):
    """out = inv(A); dA = -out^T @ g @ out^T"""
    __slots__ = ("out",)
    reads = ((OUT,),)
    saved = ("out",)

    def forward(self, a):
        self.out = _lapack(lambda: np.linalg.inv(a), "linalg.inv")
        return self.out

    def backward(self, g, out, a):
        t = out.mT
        return (-(t @ g @ t),)


class LogAbsDet(Node):
    """out = log|det(A)|; dA = g * inv(A)^T"""
    __slots__ = ()
    reads = ((0,),)

    def forward(self, a):
        return np.linalg.slogdet(a)[1]

    def backward(self, g, out, a):
        return (_col(_col(g)) * Inv.apply(a).mT,)


class Solve(Node):
    """out = X with A @ X = B (same batch dims); dB = solve(A^T, g), dA = -dB @ X^T"""
    __slots__ = ("out",)
    reads = ((0, OUT), (0,))
    saved = ("out",)

    def forward(self, a, b):
        self.out = _lapack(lambda: np.linalg.solve(a, b), "linalg.solve")
        return self.out

    def backward(self, g, out, a, b):
        gb = Solve.apply(a.mT, g)
        return (-(gb @ out.mT) if self.needs_input_grad[0] else None), gb


def det(A):
    """det(A) of (batches of) square matrices"""
    A = _float_matrix(A, "linalg.det")
    return apply1(Det(), A)


def slogdet(A):
    """(sign, log|det(A)|); only logabsdet carries a gradient"""
    A = _float_matrix(A, "linalg.slogdet")
    sign = Tensor._const(np.asarray(np.linalg.slogdet(A.data)[0], A.data.dtype))
    return slogdet_result(sign, apply1(LogAbsDet(), A))


def logdet(A):
    """log(det(A)): nan where det(A) < 0, -inf where it is 0"""
    A = _float_matrix(A, "logdet")
    sign, logabs = slogdet(A)
    # (a masked select, as PyTorch: no gradient flows where the value is nan)
    return where(sign.data < 0, Tensor._const(np.asarray(np.nan, A.data.dtype)), logabs)


def inv(A):
    """inv(A) of (batches of) square matrices; LinAlgError if one is singular"""
    A = _float_matrix(A, "linalg.inv")
    return apply1(Inv(), A)


def inverse(A):
    """inv(A) (torch.inverse)"""
    return inv(A)


def solve(A, B, *, left=True):
    """X with A @ X = B (left=True) or X @ A = B; B may be a vector (or a batch of them)"""
    return _solve(A, B, left, True, "linalg.solve")


def _solve(A, B, left, vectors, op):
    """solve(A, B); B a matrix (or batch of them) unless vectors (PyTorch's rule for them)"""
    A = _float_matrix(A, op)
    B = tensor_arg(B, op, "B")
    _same_dtype(A, B, op)
    n = A.data.shape[-1]
    vector = vectors and (B.data.ndim == 1 or (left and B.data.ndim == A.data.ndim - 1
                                               and B.data.shape == A.data.shape[:-1]))
    if vector:
        B = unsqueeze(B, -1) if left else unsqueeze(B, -2)
    if B.data.ndim < 2 or B.data.shape[-2 if left else -1] != n:
        raise RuntimeError(f"{op}: incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'}: A has shape "
                           f"{tuple(A.data.shape)}, B {tuple(B.data.shape)} (B's "
                           f"{'rows' if left else 'columns'} must number {n})")
    if not left:
        A, B = A.mT, B.mT
    batch = broadcast_shape(f"{op} (batch dims)", A.data.shape[:-2], B.data.shape[:-2])
    A = expand(A, batch + A.data.shape[-2:]) if A.data.shape[:-2] != batch else A
    B = expand(B, batch + B.data.shape[-2:]) if B.data.shape[:-2] != batch else B
    out = apply(Solve(), A, B)
    if not left:
        out = out.mT
    if vector:
        out = squeeze(out, -1 if left else -2)
    return out


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X with A @ X = B (or X @ A = B) reading only A's upper or lower triangle (its diagonal
    taken as ones when unitriangular); a solve with the triangle, so dA is triangular too"""
    return _solve_triangle(A, B, upper, left, unitriangular, "linalg.solve_triangular")


def _solve_triangle(A, B, upper, left, unitriangular, op):
    A = _float_matrix(A, op)
    B = tensor_arg(B, op, "B")
    if B.data.ndim < 2:
        raise RuntimeError(f"{op}: B must have at least 2 dimensions, got shape "
                           f"{tuple(B.data.shape)}")
    n = A.data.shape[-1]
    mask = np.tril(np.ones((n, n), bool), -1 if unitriangular else 0)
    tri = where(mask.T if upper else mask, A, np.zeros((), A.data.dtype))
    if unitriangular:
        tri = tri + np.eye(n, dtype=A.data.dtype)
    return _solve(tri, B, left, False, op)


def _ex(fn, A, check_errors):
    """(result, info) as PyTorch's *_ex functions: info 0 where the factorization succeeded,
    1 where it failed (whose result is then nan); LinAlgError instead if check_errors."""
    batch = A.data.shape[:-2]
    try:
        return fn(A), Tensor._const(np.zeros(batch, np.int32))
    except LinAlgError:
        if check_errors:
            raise
    info = np.zeros(batch, np.int32)
    flat = reshape(A, (-1,) + A.data.shape[-2:])
    parts = []
    for i in range(flat.data.shape[0]):
        try:
            parts.append(fn(flat[i]))
        except LinAlgError:
            info.reshape(-1)[i] = 1
            parts.append(flat[i] * np.nan)
    return stack(parts).reshape(A.data.shape), Tensor._const(info)


def inv_ex(A, *, check_errors=False):
    """(inverse, info): inv(A) and 0, or nan and 1 for a singular matrix (no error unless
    check_errors)"""
    A = _float_matrix(A, "linalg.inv_ex")
    return inv_ex_result(*_ex(inv, A, check_errors))


def cholesky_ex(A, *, upper=False, check_errors=False):
    """(L, info): cholesky(A) and 0, or nan and 1 where A is not positive-definite"""
    A = _float_matrix(A, "linalg.cholesky_ex")
    return cholesky_ex_result(*_ex(lambda a: cholesky(a, upper=upper), A, check_errors))


# --- Cholesky, QR, SVD, eigh --------------------------------------------------------------------

class Cholesky(Node):
    """out = L with A = L L^T (A's lower triangle read); dA = L^-T P L^-1 with
    P = Φ(L^T g), Φ(X) = tril(X) with its strictly lower part also mirrored, halved"""
    __slots__ = ("out",)
    reads = ((OUT,),)
    saved = ("out",)

    def forward(self, a):
        self.out = _lapack(lambda: np.linalg.cholesky(a), "linalg.cholesky", "definite")
        return self.out

    def backward(self, g, out, a):
        t = (out.mT @ (g * _tril_mask(a))) * _tril_mask(a)
        p = 0.5 * (t + (t * _tril_mask(a, -1)).mT)
        return (_right_solve(out, Solve.apply(out.mT, p)),)


def cholesky(A, *, upper=False):
    """L (lower) with A = L L^T, or U = L^T when upper=True; LinAlgError unless A is
    positive-definite"""
    A = _float_matrix(A, "linalg.cholesky")
    L = apply1(Cholesky(), A)
    return L.mT if upper else L


class QR(Node):
    """(Q, R) = qr(A), packed; m >= n: dA = (gQ + Q copyltu(M)) R^-T, M = R gR^T - gQ^T Q;
    m < n: that for A's first m columns, with gQ + A2 gR2^T, and Q gR2 for the others"""
    __slots__ = ("mode", "out")
    reads = ((0, OUT),)
    saved = ("out",)

    def __init__(self, mode):
        self.mode = mode

    def shapes(self, a):
        m, n = a.shape[-2:]
        k = m if self.mode == "complete" else min(m, n)
        return [(m, k), (k, n)]

    def forward(self, a):
        q, r = np.linalg.qr(a, mode=self.mode)
        self.out = _pack(a.shape[:-2], q, r)
        return self.out

    def backward(self, g, out, a):
        m, n = a.shape[-2:]
        if self.mode == "complete" and m > n:
            raise RuntimeError("linalg.qr: the QR decomposition is not differentiable when "
                               "mode='complete' and A has more rows than columns; use "
                               "mode='reduced'")
        q, r = _unpack(out, self.shapes(a))
        gq, gr = _unpack(g, self.shapes(a))
        if m < n:  # A = Q [R1 R2], R2 = Q^T A2: the square case for A1, gQ gains A2 gR2^T
            a2, gr2 = a[..., :, m:], gr[..., :, m:]
            ga1 = _qr_square_backward(q, r[..., :, :m], gq + a2 @ gr2.mT, gr[..., :, :m])
            return (Cat.apply(ga1, q @ gr2, dim=a.ndim - 1),)
        return (_qr_square_backward(q, r, gq, gr),)


def _qr_square_backward(q, r, gq, gr):
    """dA = (gQ + Q copyltu(M)) R^-T, M = R gR^T - gQ^T Q, for m >= n"""
    M = gr @ r.mT - q.mT @ gq
    triu = M * _tril_mask(M).mT
    sym = triu + (triu * _tril_mask(M, -1).mT).mT  # X + X^T with X's diagonal once
    return _right_solve(r.mT, q @ sym + gq)


def qr(A, mode="reduced"):
    """(Q, R) with A = Q R, Q orthonormal columns, R upper triangular; mode 'reduced',
    'complete' or 'r' (Q empty)"""
    A = _float_matrix(A, "linalg.qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    node = QR("complete" if mode == "complete" else "reduced")
    q, r = _unpack(apply1(node, A), node.shapes(A.data))
    if mode == "r":
        q = Tensor._const(np.zeros((0,), A.data.dtype))
    return qr_result(q, r)


def cholesky_top(A, upper=False):
    """L with A = L L^T, or U = L^T when upper=True (torch.cholesky)"""
    return cholesky(A, upper=upper)


def cholesky_inverse(L, upper=False):
    """inv(A) from A's Cholesky factor: inv(L L^T), or inv(U^T U) when upper=True"""
    L = _float_matrix(L, "cholesky_inverse")
    return inv(L.mT @ L if upper else L @ L.mT)


def cholesky_solve(B, L, upper=False):
    """X with (L L^T) X = B (U^T U when upper=True), from A's Cholesky factor"""
    L = _float_matrix(L, "cholesky_solve")
    B = tensor_arg(B, "cholesky_solve", "B")
    if B.data.ndim < 2:
        raise RuntimeError(f"cholesky_solve: B must have at least 2 dimensions, got shape "
                           f"{tuple(B.data.shape)}")
    return _solve(L.mT @ L if upper else L @ L.mT, B, True, False, "cholesky_solve")


triangular_solve_result = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):
    """(X, A) with tri(A) X = b, or tri(A)^T X = b when transpose (torch.triangular_solve)"""
    A = _float_matrix(A, "triangular_solve")
    X = _solve_triangle(A.mT if transpose else A, b, upper != transpose, True, unitriangular,
                        "triangular_solve")
    batch = X.shape[:-2]  # (PyTorch's copy of A is broadcast to the batch dims too)
    return triangular_solve_result(X, clone(expand(A, batch + A.shape[-2:])))


def qr_top(A, some=True):
    """(Q, R) (torch.qr): reduced when some=True, else complete"""
    return qr(A, "reduced" if some else "complete")


class Svd(Node):
    """(U, S, Vh) = svd(A), packed; dA = U [(skew(U^T gU) S + S skew(V^T gV)) / E + diag(gS)]
    Vh (+ the parts outside U's or V's span when A is not square), E_ij = s_j^2 - s_i^2
    (PyTorch's svd_backward; needs distinct singular values unless only S is used)"""
    __slots__ = ("full_matrices", "out")
    reads = ((OUT,),)
    saved = ("out",)

    def __init__(self, full_matrices):
        self.full_matrices = full_matrices

    def shapes(self, a):
        m, n = a.shape[-2:]
        k = min(m, n)
        if self.full_matrices:
            return [(m, m), (k,), (n, n)]
        return [(m, k), (k,), (k, n)]

    def forward(self, a):
        u, s, vh = np.linalg.svd(a, full_matrices=self.full_matrices)
        self.out = _pack(a.shape[:-2], u, s, vh)
        return self.out

    def backward(self, g, out, a):
        m, n = a.shape[-2:]
        k = min(m, n)
        u, s, vh = _unpack(out, self.shapes(a))
        gu, gs, gvh = _unpack(g, self.shapes(a))
        if self.full_matrices:  # (PyTorch: only the first k columns of U and rows of Vh count)
            u, gu = u[..., :, :k], gu[..., :, :k]
            vh, gvh = vh[..., :k, :], gvh[..., :k, :]
        has_u, has_v = _used(gu), _used(gvh)
        if not (has_u or has_v):
            return ((u * _row(gs)) @ vh,)
        s2 = s * s
        e = _row(s2) - _col(s2) + _eye_like(raw(u)[..., :k, :k])  # 1 on the diagonal
        ga = _DiagEmbed.apply(gs)
        if has_u:
            ugu = u.mT @ gu
            ga = ga + ((ugu - ugu.mT) / e) * _row(s)
        if has_v:
            vgv = vh @ gvh.mT
            ga = ga + _col(s) * ((vgv - vgv.mT) / e)
        if m > n and has_u:
            ga = u @ ga
            gus = gu / _row(s)
            ga = ga + gus - u @ (u.mT @ gus)
            return (ga @ vh,)
        if m < n and has_v:
            ga = ga @ vh
            sgv = gvh / _col(s)
            ga = ga + sgv - (sgv @ vh.mT) @ vh
            return (u @ ga,)
        return (u @ ga @ vh,)


def _svd_parts(A, full_matrices):
    node = Svd(full_matrices)
    return _unpack(apply1(node, A), node.shapes(A.data))


def svd(A, full_matrices=True):
    """(U, S, Vh) with A = U diag(S) Vh, S descending (linalg.svd; full_matrices=True by
    default, as PyTorch)"""
    A = _float_matrix(A, "linalg.svd", square=False)
    return svd_result(*_svd_parts(A, full_matrices))


def svd_top(A, some=True, compute_uv=True):
    """(U, S, V) with A = U diag(S) V^T (torch.svd: V, not Vh; reduced when some=True)"""
    A = _float_matrix(A, "svd", square=False)
    u, s, vh = _svd_parts(A, not some)
    if not compute_uv:  # PyTorch returns zero-filled (m, m) U and (n, n) V then
        m, n = A.data.shape[-2:]
        zu = np.zeros(A.data.shape[:-2] + (m, m), A.data.dtype)
        zv = np.zeros(A.data.shape[:-2] + (n, n), A.data.dtype)
        return svd_top_result(Tensor._const(zu), s, Tensor._const(zv))
    return svd_top_result(u, s, vh.mT)


def svdvals(A):
    """The singular values of A, descending"""
    A = _float_matrix(A, "linalg.svdvals", square=False)
    return _svd_parts(A, False)[1]


def _used(g):
    """Whether an output's gradient enters the rule: it is nonzero, or it is itself being
    differentiated (a zero there still has a derivative). An unused output (zeros, as PyTorch's
    undefined gradient) is skipped, so repeated values do not divide by zero."""
    return bool(raw(g).any()) or (isinstance(g, Tensor) and g.requires_grad)


class Eigh(Node):
    """(L, V) = eigh(A) (one triangle of A read), packed; dA = V (skew(V^T gV) / 2E +
    diag(gL)) V^T, E_ij = l_j - l_i (PyTorch's; needs distinct eigenvalues when V is used)"""
    __slots__ = ("UPLO", "out")
    reads = ((OUT,),)
    saved = ("out",)

    def __init__(self, UPLO):
        self.UPLO = UPLO

    def forward(self, a):
        w, v = np.linalg.eigh(a, UPLO=self.UPLO)
        self.out = _pack(a.shape[:-2], w, v)
        return self.out

    def backward(self, g, out, a):
        n = a.shape[-1]
        w, v = _unpack(out, [(n,), (n, n)])
        gw, gv = _unpack(g, [(n,), (n, n)])
        inner = _DiagEmbed.apply(gw)
        if _used(gv):
            e = _row(w) - _col(w) + _eye_like(raw(a))
            vgv = v.mT @ gv
            inner = inner + 0.5 * (vgv - vgv.mT) / e
        return (v @ inner @ v.mT,)


def eigh(A, UPLO="L"):
    """(eigenvalues ascending, eigenvectors as columns) of symmetric A, reading its lower
    (UPLO='L') or upper ('U') triangle"""
    A = _float_matrix(A, "linalg.eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    n = A.data.shape[-1]
    w, v = _unpack(apply1(Eigh(UPLO), A), [(n,), (n, n)])
    return eigh_result(w, v)


def eigvalsh(A, UPLO="L"):
    """The eigenvalues of symmetric A, ascending"""
    return eigh(A, UPLO)[0]


# --- pseudo-inverse, least squares, rank --------------------------------------------------------

def _tolerances(a, atol, rtol, op):
    """PyTorch's (atol, rtol) defaults: rtol = eps * max(m, n) unless atol > 0 is given."""
    atol = 0.0 if atol is None else (atol.data if isinstance(atol, Tensor) else atol)
    if rtol is None:
        rtol = 0.0 if np.any(np.asarray(atol) > 0) else \
            np.finfo(a.dtype).eps * max(a.shape[-2:], default=0)
    elif isinstance(rtol, Tensor):
        rtol = rtol.data
    return np.asarray(atol, a.dtype), np.asarray(rtol, a.dtype)


class Pinv(Node):
    """out = A^+ (singular values below max(atol, rtol * s_max) dropped); dA: PyTorch's
    pinv_backward, the Golub-Pereyra formula in out and A (products ordered by m <= n)"""
    __slots__ = ("atol", "rtol", "hermitian", "out")
    reads = ((0, OUT),)
    saved = ("out",)

    def __init__(self, atol, rtol, hermitian):
        self.atol, self.rtol, self.hermitian = atol, rtol, hermitian

    def forward(self, a):
        if self.hermitian:
            w, v = np.linalg.eigh(a)
            s, left, right = np.abs(w), v, v.swapaxes(-1, -2)
        else:
            left, s, right = np.linalg.svd(a, full_matrices=False)
        smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
        cut = np.maximum(self.atol[..., None], self.rtol[..., None] * smax)
        with np.errstate(divide="ignore"):
            inv_s = np.where(s > cut, 1 / (w if self.hermitian else s), 0).astype(a.dtype)
        self.out = (right.swapaxes(-1, -2) * inv_s[..., None, :]) @ left.swapaxes(-1, -2)
        return self.out

    def backward(self, g, out, a):
        m, n = a.shape[-2:]
        ph, gh = out.mT, g.mT
        if m <= n:
            k = gh @ out
            kph = k @ ph
            return (-(out @ k).mT + kph - (a @ out) @ kph + (ph @ out) @ (gh - k @ a),)
        k = out @ gh
        phk = ph @ k
        return (-(k @ out).mT + (gh - a @ k) @ out @ ph + phk - phk @ out @ a,)


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse (through the SVD, or eigh when hermitian=True)"""
    A = _float_matrix(A, "linalg.pinv", square=hermitian)
    atol, rtol = _tolerances(A.data, atol, rtol, "linalg.pinv")
    return apply1(Pinv(atol, rtol, hermitian), A)


def pinverse(A, rcond=1e-15):
    """The pseudo-inverse, singular values below rcond * s_max dropped (torch.pinverse)"""
    return pinv(A, rtol=rcond)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The number of singular values above max(atol, rtol * s_max) (int64; no gradient)"""
    A = _float_matrix(A, "linalg.matrix_rank", square=hermitian)
    atol, rtol = _tolerances(A.data, atol, rtol, "linalg.matrix_rank")
    a = A.data
    s = np.abs(np.linalg.eigvalsh(a)) if hermitian else np.linalg.svd(a, compute_uv=False)
    smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    cut = np.maximum(atol[..., None], rtol[..., None] * smax)
    return Tensor._const(np.asarray((s > cut).sum(axis=-1), np.int64))


def lstsq(A, B, rcond=None, *, driver=None):
    """(solution, residuals, rank, singular_values) of min ||A X - B||; the solution is
    pinv(A) @ B, differentiable as PyTorch's (full-rank problems). residuals are filled for
    m > n full-rank problems (not with driver 'gelsy'), singular_values for 'gelsd'/'gelss'"""
    A = _float_matrix(A, "linalg.lstsq", square=False)
    B = tensor_arg(B, "linalg.lstsq", "B")
    _same_dtype(A, B, "linalg.lstsq")
    drivers = ("gels", "gelsy", "gelsd", "gelss")
    driver = "gelsy" if driver is None else driver
    if driver not in drivers:
        raise RuntimeError(f"linalg.lstsq: driver must be one of {drivers}, got {driver!r}")
    m, n = A.data.shape[-2:]
    if not 0 <= A.data.ndim - B.data.ndim <= 1:
        raise RuntimeError(f"linalg.lstsq: B must have as many dimensions as A, or one fewer "
                           f"(a vector), got shapes {tuple(A.data.shape)} and "
                           f"{tuple(B.data.shape)}")
    vector = B.data.ndim == 1 or (B.data.ndim == A.data.ndim - 1
                                  and B.data.shape == A.data.shape[:-1])
    Bm = unsqueeze(B, -1) if vector else B
    if Bm.data.ndim < 2 or Bm.data.shape[-2] != m:
        raise RuntimeError(f"linalg.lstsq: A {tuple(A.data.shape)} and B "
                           f"{tuple(B.data.shape)} must have the same number of rows ({m})")
    batch = broadcast_shape("linalg.lstsq (batch dims)", A.data.shape[:-2], Bm.data.shape[:-2])
    rtol = None if rcond is None else rcond
    X = matmul(pinv(A, rtol=rtol), Bm)
    a = np.broadcast_to(A.data, batch + (m, n))
    s = np.linalg.svd(a, compute_uv=False)
    smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    eps = np.finfo(a.dtype).eps * max(m, n) if rcond is None else rcond
    rank = (s > eps * smax).sum(axis=-1)
    empty = Tensor._const(np.zeros((0,), a.dtype))
    if m > n and driver != "gelsy" and bool(np.all(rank == n)):
        resid = Bm - matmul(A, X)
        residuals = _sum(resid * resid, dim=-2).detach()  # (k,) per problem, (1,) for a vector
    else:
        residuals = empty
    rank_t = Tensor._const(rank.astype(np.int64)) if driver != "gels" else \
        Tensor._const(np.zeros((0,), np.int64))
    svals = Tensor._const(s) if driver in ("gelsd", "gelss") else empty
    return lstsq_result(squeeze(X, -1) if vector else X, residuals, rank_t, svals)


# --- matrix power and exponential ---------------------------------------------------------------

def matrix_power(A, n):
    """A @ A @ ... (n times; the identity for n = 0, powers of inv(A) for n < 0)"""
    A = _float_matrix(A, "linalg.matrix_power")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"linalg.matrix_power: n must be an int, got {type(n).__name__}")
    if n == 0:  # the identity, with a zero gradient (as PyTorch's copy_ of eye)
        eye = np.broadcast_to(_eye_like(A.data), A.data.shape)
        return where(np.ones(A.data.shape, bool), Tensor._const(eye), A)
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:  # binary powering: log2(n) squarings
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return clone(result) if result is A else result  # (a new tensor, as PyTorch)


def _expm(a):
    """exp(A) by scaling and squaring with a Taylor series (error below float64's eps)."""
    if a.size == 0:
        return a.copy()
    norm = np.abs(a).sum(axis=-2).max()
    s = max(0, int(np.ceil(np.log2(norm / 0.25)))) if norm > 0.25 else 0
    x = a / 2.0 ** s
    eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
    out, term = eye.copy(), eye
    for k in range(1, 19):
        term = term @ x / k
        out = out + term
    for _ in range(s):
        out = out @ out
    return out


class MatrixExp(Node):
    """out = exp(A); dA = the top-right block of exp([[A^T, g], [0, A^T]])"""
    __slots__ = ()
    reads = ((0,),)

    def forward(self, a):
        return _expm(a)

    def backward(self, g, out, a):
        n, d = a.shape[-1], a.ndim - 1
        at = a.mT
        zero = np.zeros(a.shape, a.dtype)
        block = Cat.apply(Cat.apply(at, g, dim=d), Cat.apply(zero, at, dim=d), dim=d - 1)
        return (MatrixExp.apply(block)[..., :n, n:],)


def matrix_exp(A):
    """The matrix exponential exp(A) = sum A^k / k!"""
    A = _float_matrix(A, "linalg.matrix_exp")
    return apply1(MatrixExp(), A)


# --- norms ----------------------------------------------------------------------------------

_INF = float("inf")


def _norm_input(x, op, dtype):
    x = tensor_arg(x, op)
    if dtype is not None:
        x = x.to(dtype)
    if x.data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point tensor as input, got dtype "
                           f"{x.data.dtype}; pass dtype= or convert it first, e.g. x.double()")
    return x


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """(sum |x|^ord)^(1/ord) over dim (all elements when None); ord inf/-inf: max/min |x|,
    ord 0: the count of nonzeros"""
    x = _norm_input(x, "linalg.vector_norm", dtype)
    if isinstance(ord, (str, bool)) or not isinstance(ord, (int, float, np.number)):
        raise TypeError(f"linalg.vector_norm: ord must be a number (or inf), got {ord!r}; "
                           f"use linalg.matrix_norm for 'fro' and 'nuc'")
    dims = normalize_dims(dim, x.data.ndim, "linalg.vector_norm")
    if x.data.size == 0 and ord < 0 or (x.data.size == 0 and ord == _INF and
                                        (dims is None or any(x.data.shape[d] == 0
                                                             for d in dims))):
        raise RuntimeError(f"linalg.vector_norm: cannot compute the {ord} norm of an empty "
                           f"tensor (shape {tuple(x.data.shape)}) over the reduced dims")
    if ord == 2:
        return apply1(Norm2(dims, keepdim), x)
    a = _abs(x)
    if ord == _INF:
        return amax(a, dims, keepdim)
    if ord == -_INF:
        return amin(a, dims, keepdim)
    if ord == 0:  # piecewise constant: a zero gradient (as PyTorch)
        count = np.asarray(np.sum(x.data != 0, axis=dims, keepdims=keepdim), x.data.dtype)
        return where(np.ones(count.shape, bool), Tensor._const(count), _sum(x, dims, keepdim))
    if ord == 1:
        return _sum(a, dims, keepdim)
    if ord > 0:
        return p_norm(x, ord, dims, keepdim)
    return _sum(a ** ord, dims, keepdim) ** (1.0 / ord)


def _two_dims(dim, ndim, op):
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"{op}: dim must be a 2-tuple of ints, got {dim!r}")
    if ndim < 2:
        raise RuntimeError(f"{op}: the input must have at least 2 dimensions, got {ndim}")
    d0, d1 = (normalize_dims(d, ndim, op)[0] for d in dim)
    if d0 == d1:
        raise RuntimeError(f"{op}: dims must be different, got {dim!r}")
    return d0, d1


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The matrix norm over the two dims: 'fro', 'nuc' (sum of singular values), 2 / -2
    (largest / smallest singular value), 1 / -1 (max / min column sum of |A|), inf / -inf
    (max / min row sum)"""
    op = "linalg.matrix_norm"
    A = _norm_input(A, op, dtype)
    d0, d1 = _two_dims(dim, A.data.ndim, op)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord == "nuc" or ord in (2, -2):
        rest = [d for d in range(A.data.ndim) if d not in (d0, d1)]
        s = svdvals(permute(A, *rest, d0, d1))
        out = _sum(s, -1) if ord == "nuc" else amax(s, -1) if ord == 2 else amin(s, -1)
        if keepdim:
            for d in sorted((d0, d1)):
                out = unsqueeze(out, d)
        return out
    if ord in (1, -1, _INF, -_INF):
        summed, over = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = _sum(_abs(A), summed, keepdim=True)
        out = (amax if ord > 0 else amin)(sums, over, keepdim=True)
        return out if keepdim else squeeze(squeeze(out, max(d0, d1)), min(d0, d1))
    raise RuntimeError(f"{op}: ord must be 'fro', 'nuc', inf, -inf, 1, -1, 2 or -2, got {ord!r}")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """linalg.norm: a vector norm (1-d input, an int dim, or ord=None with dim=None: all
    elements) or a matrix norm (2-d input, a 2-tuple dim)"""
    op = "linalg.norm"
    A = _norm_input(A, op, dtype)
    if isinstance(dim, (int, np.integer)) or (isinstance(dim, (tuple, list)) and len(dim) == 1):
        if isinstance(ord, str):
            raise RuntimeError(f"{op}: ord {ord!r} is a matrix norm; pass a 2-tuple dim")
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim)
    if dim is not None:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim)
    if ord is None:
        return vector_norm(A, 2, None, keepdim)
    if A.data.ndim == 1 and not isinstance(ord, str):
        return vector_norm(A, ord, None, keepdim)
    if A.data.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim)
    raise RuntimeError(f"{op}: with ord={ord!r} and dim=None the input must be 1-d or 2-d, got "
                       f"shape {tuple(A.data.shape)}; pass dim")


# --- products -------------------------------------------------------------------------------

def cross(a, b, *, dim=-1):
    """The cross product of 3-vectors along dim (inputs broadcast)"""
    op = "linalg.cross"
    a, b = tensor_arg(a, op), tensor_arg(b, op, "other")
    _same_dtype(a, b, op)
    if a.data.ndim != b.data.ndim:
        raise RuntimeError(f"{op}: inputs must have the same number of dimensions, got shapes "
                           f"{tuple(a.data.shape)} and {tuple(b.data.shape)}")
    shape = broadcast_shape(op, a.data.shape, b.data.shape)
    d = normalize_dims(dim, len(shape), op)[0] if shape else 0
    if not shape or a.data.shape[d] != 3 or b.data.shape[d] != 3:
        raise RuntimeError(f"{op}: inputs dimension {dim} must have length 3, got shapes "
                           f"{tuple(a.data.shape)} and {tuple(b.data.shape)}")
    a = expand(a, shape) if a.data.shape != shape else a
    b = expand(b, shape) if b.data.shape != shape else b
    lead = (slice(None),) * d

    def at(x, order):
        return getitem(x, lead + (np.array(order),))
    return at(a, [1, 2, 0]) * at(b, [2, 0, 1]) - at(a, [2, 0, 1]) * at(b, [1, 2, 0])


def multi_dot(tensors):
    """tensors[0] @ tensors[1] @ ...; the first and the last may be vectors"""
    op = "linalg.multi_dot"
    tensors = [tensor_arg(t, op, f"tensors[{i}]") for i, t in enumerate(tensors)]
    if len(tensors) < 2:
        raise RuntimeError(f"{op}: expected at least 2 tensors, got {len(tensors)}")
    for i, t in enumerate(tensors):
        want = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.data.ndim not in want:
            raise RuntimeError(f"{op}: tensor {i} must be {' or '.join(map(str, want))}-d, got "
                               f"shape {tuple(t.data.shape)}")
        _same_dtype(tensors[0], t, op)
    out = tensors[0]
    for i, t in enumerate(tensors[1:], 1):
        if out.data.shape[-1] != t.data.shape[0]:
            raise RuntimeError(f"{op}: tensor {i - 1}'s result has shape {tuple(out.data.shape)}"
                               f" and tensor {i} shape {tuple(t.data.shape)}: they cannot be "
                               f"multiplied")
        out = matmul(out, t)
    return out


# --- more of torch.linalg, composed ----------------------------------------------------------

def cond(A, p=None):
    """The condition number: s_max / s_min for p None or 2 (-2: the inverse), else
    norm(A, p) * norm(inv(A), p)"""
    A = _float_matrix(A, "linalg.cond", square=p not in (None, 2, -2))
    if p in (None, 2, -2):
        s = svdvals(A)
        big, small = amax(s, -1), amin(s, -1)
        return small / big if p == -2 else big / small
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def tensorinv(A, ind=2):
    """The inverse of A seen as a map from its first ind dims to the others: shape
    A.shape[ind:] + A.shape[:ind]"""
    A = tensor_arg(A, "linalg.tensorinv")
    if not isinstance(ind, (int, np.integer)) or ind <= 0:
        raise RuntimeError(f"linalg.tensorinv: ind must be a positive int, got {ind!r}")
    out_shape, in_shape = A.data.shape[:ind], A.data.shape[ind:]
    if math.prod(out_shape) != math.prod(in_shape):
        raise RuntimeError(f"linalg.tensorinv: the product of the first ind={ind} dims of "
                           f"shape {tuple(A.data.shape)} must equal the product of the others")
    n = math.prod(out_shape)
    return reshape(inv(reshape(A, (n, n))), in_shape + out_shape)


def tensorsolve(A, B, dims=None):
    """X with tensordot(A, X, X.ndim) = B: X has shape A.shape[B.ndim:]"""
    A, B = tensor_arg(A, "linalg.tensorsolve"), tensor_arg(B, "linalg.tensorsolve", "B")
    if dims is not None:
        moved = [d % A.data.ndim for d in dims]
        rest = [d for d in range(A.data.ndim) if d not in moved]
        A = permute(A, *rest, *moved)
    x_shape = A.data.shape[B.data.ndim:]
    m, n = math.prod(B.data.shape), math.prod(x_shape)
    if A.data.shape[:B.data.ndim] != B.data.shape or m != n:
        raise RuntimeError(f"linalg.tensorsolve: A of shape {tuple(A.data.shape)} must start "
                           f"with B's shape {tuple(B.data.shape)} and the rest must have as "
                           f"many elements")
    return reshape(solve(reshape(A, (m, n)), reshape(B, (m,))), x_shape)


def vander(x, *, N=None):
    """The Vandermonde matrix [1, x, x^2, ..., x^(N-1)] along a new last dim"""
    x = tensor_arg(x, "linalg.vander")
    if x.data.ndim == 0:
        raise RuntimeError("linalg.vander: x must have at least 1 dimension, got a 0-d tensor")
    N = x.data.shape[-1] if N is None else N
    if N <= 0:
        raise RuntimeError(f"linalg.vander: N must be greater than 0, got {N}")
    cols = [where(np.ones(x.data.shape, bool), np.ones((), x.data.dtype), x)]  # x^0, zero grad
    for _ in range(1, N):
        cols.append(x if len(cols) == 1 else cols[-1] * x)
    return stack(cols, -1)


def vecdot(x, y, *, dim=-1):
    """sum(x * y) along dim, inputs broadcast"""
    return _sum(tensor_arg(x, "linalg.vecdot") * tensor_arg(y, "linalg.vecdot", "y"), dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal of A over dim1 and dim2 (offset above it when > 0), as a last dim"""
    from .indexing import diagonal as _diagonal  # (another family's op)
    return _diagonal(A, offset, dim1, dim2)


# --- LU, LDL, Householder products --------------------------------------------------------------

lu_factor_result = namedtuple("lu_factor", ["LU", "pivots"])
lu_factor_ex_result = namedtuple("lu_factor_ex", ["LU", "pivots", "info"])
lu_result = namedtuple("lu", ["P", "L", "U"])
lu_unpack_result = namedtuple("lu_unpack", ["P", "L", "U"])
lu_with_info_result = namedtuple("_lu_with_info", ["LU", "pivots", "info"])
solve_ex_result = namedtuple("solve_ex", ["result", "info"])
ldl_factor_result = namedtuple("ldl_factor", ["LD", "pivots"])
ldl_factor_ex_result = namedtuple("ldl_factor_ex", ["LD", "pivots", "info"])
geqrf_result = namedtuple("geqrf", ["a", "tau"])


def _getrf(a):
    """LAPACK's getrf, batched: (LU, pivots, info) by partial pivoting, the largest |entry| of
    each column (the first on ties) swapped up; pivots are 1-based int32 and info names the
    first zero pivot (1-based, 0 if none), whose column is left as it is, as LAPACK does."""
    m, n = a.shape[-2:]
    k = min(m, n)
    lu = np.array(a, dtype=a.dtype).reshape((math.prod(a.shape[:-2]), m, n))
    b = lu.shape[0]
    piv = np.empty((b, k), np.int32)
    info = np.zeros(b, np.int32)
    rows = np.arange(b)
    with np.errstate(all="ignore"):
        for j in range(k):
            p = j + np.argmax(np.abs(lu[:, j:, j]), axis=1)
            piv[:, j] = p + 1
            top = lu[:, j].copy()
            lu[:, j] = lu[rows, p]
            lu[rows, p] = top
            d = lu[:, j, j]
            zero = d == 0
            info[(info == 0) & zero] = j + 1
            lu[:, j + 1:, j] /= np.where(zero, 1, d)[:, None]  # (a zero pivot: a zero column)
            lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j:j + 1] * lu[:, j:j + 1, j + 1:]
    return lu.reshape(a.shape), piv.reshape(a.shape[:-2] + (k,)), info.reshape(a.shape[:-2])


def _permutation(pivots, m, dtype):
    """P with A = P L U, from LAPACK's pivots (row i swapped with row pivots[i] - 1, in order)"""
    flat = pivots.reshape((math.prod(pivots.shape[:-1]), pivots.shape[-1])).astype(np.int64) - 1
    perm = np.tile(np.arange(m), (flat.shape[0], 1))
    rows = np.arange(flat.shape[0])
    for i in range(flat.shape[1]):
        j = flat[:, i]
        perm[:, i], perm[rows, j] = perm[rows, j], perm[:, i].copy()
    pt = np.eye(m, dtype=dtype)[perm]  # P^T: (P^T A)[i] = A[perm[i]]
    return np.swapaxes(pt, -1, -2).reshape(pivots.shape[:-1] + (m, m))


def _tri(m, n, dtype, k, lower):
    return (np.tril if lower else np.triu)(np.ones((m, n), dtype), k)


class LUFactor(Node):
    """out = LU (L below the diagonal, U on and above it) with A = P L U; dA = P L^-T
    [tril(L^T gL - gU U^T, -1) U1^-T + gU] for m <= n and P [gL + L1^-T triu(gU U^T -
    L^T gL)] U^-T for m > n (PyTorch's linalg_lu_backward), gL = tril(g, -1), gU = triu(g)"""
    __slots__ = ("p", "pivots", "info", "out")
    reads = ((OUT,),)
    saved = ("out",)

    def forward(self, a):
        self.out, self.pivots, self.info = _getrf(a)
        self.p = _permutation(self.pivots, a.shape[-2], a.dtype)
        return self.out

    def backward(self, g, out, a):
        m, n = a.shape[-2:]
        k, d = min(m, n), a.ndim - 1
        dt = raw(out).dtype
        L = out[..., :, :k] * _tri(m, k, dt, -1, True) + np.eye(m, k, dtype=dt)
        U = out[..., :k, :] * _tri(k, n, dt, 0, False)
        gL = g[..., :, :k] * _tri(m, k, dt, -1, True)
        gU = g[..., :k, :] * _tri(k, n, dt, 0, False)
        if m <= n:
            x = (L.mT @ gL - gU @ U.mT) * _tri(k, k, dt, -1, True)
            x = _right_solve(U[..., :, :k].mT, x) + gU[..., :, :k]
            if n > m:
                x = Cat.apply(x, gU[..., :, k:], dim=d)
            return (self.p @ Solve.apply(L.mT, x),)
        x = (gU @ U.mT - L.mT @ gL) * _tri(k, k, dt, 0, False)
        x = Solve.apply(L[..., :k, :].mT, x) + gL[..., :k, :]
        x = Cat.apply(x, gL[..., k:, :], dim=d - 1)
        return (self.p @ _right_solve(U.mT, x),)


def _lapack_input(A, op, square=False):
    """_float_matrix, with PyTorch's NotImplementedError (a RuntimeError) for integer dtypes"""
    A = tensor_arg(A, op)
    if A.data.dtype.kind != "f" and A.data.ndim >= 2:
        raise NotImplementedError(f"{op}: not implemented for dtype {A.data.dtype}; convert "
                                  f"the input to a floating point dtype first, e.g. A.double()")
    return _float_matrix(A, op, square=square)


def _lu(A, pivot, op):
    """(LU tensor, pivots, info) of A (a float matrix or batch)"""
    A = _lapack_input(A, op)
    if not pivot:
        raise RuntimeError(f"{op}: LU without pivoting is not implemented on the CPU; use "
                           f"pivot=True")
    node = LUFactor()
    LU = apply1(node, A)
    return LU, Tensor._const(node.pivots), Tensor._const(node.info)


def lu_factor_ex(A, *, pivot=True, check_errors=False):
    """(LU, pivots, info): A = P L U packed as in LAPACK's getrf (pivots 1-based int32, info
    > 0 names a zero pivot of U); differentiable through LU"""
    LU, pivots, info = _lu(A, pivot, "linalg.lu_factor_ex")
    if check_errors:
        _zero_pivot(info.data, "linalg.lu_factor_ex")
    return lu_factor_ex_result(LU, pivots, info)


def _zero_pivot(info, op):
    if info.any():
        i = int(info[info > 0].min()) - 1
        raise RuntimeError(f"{op}: U[{i},{i}] is zero and using it on lu_solve would result "
                           f"in a division by zero. If you still want to perform the "
                           f"factorization, call linalg.lu(A, pivot) or "
                           f"linalg.lu_factor_ex(A, pivot)")


def lu_factor(A, *, pivot=True):
    """(LU, pivots) of A = P L U (LAPACK's getrf layout); RuntimeError if U has a zero pivot"""
    LU, pivots, info = _lu(A, pivot, "linalg.lu_factor")
    _zero_pivot(info.data, "linalg.lu_factor")
    return lu_factor_result(LU, pivots)


def _unpacked(LU, P):
    m, n = LU.data.shape[-2:]
    k, dt = min(m, n), LU.data.dtype
    L = LU[..., :, :k] * _tri(m, k, dt, -1, True) + np.eye(m, k, dtype=dt)
    U = LU[..., :k, :] * _tri(k, n, dt, 0, False)
    return lu_result(Tensor._const(P), L, U)


def lu(A, *, pivot=True):
    """(P, L, U) with A = P L U: P a permutation, L unit lower (m x k), U upper (k x n)"""
    LU, pivots, _ = _lu(A, pivot, "linalg.lu")
    return _unpacked(LU, _permutation(pivots.data, LU.data.shape[-2], LU.data.dtype))


def _check_pivots(LU, pivots, op):
    pivots = tensor_arg(pivots, op, "pivots")
    if pivots.data.dtype != np.int32:
        raise RuntimeError(f"{op}: pivots must be an int32 tensor (as lu_factor returns), got "
                           f"{pivots.data.dtype}")
    m, n = LU.data.shape[-2:]
    if pivots.data.shape != LU.data.shape[:-2] + (min(m, n),):
        raise RuntimeError(f"{op}: pivots must have shape LU.shape[:-2] + (min(m, n),) = "
                           f"{LU.data.shape[:-2] + (min(m, n),)}, got {tuple(pivots.shape)}")
    if pivots.data.size and (pivots.data.min() < 1 or pivots.data.max() > m):
        raise RuntimeError(f"{op}: pivots must be between 1 and {m} (LAPACK's 1-based rows)")
    return pivots


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """(P, L, U) from lu_factor's (LU, pivots); L and U (or P) are empty when not unpacked"""
    op = "lu_unpack"
    LU = _float_matrix(LU_data, op, "LU_data", square=False)
    pivots = _check_pivots(LU, LU_pivots, op)
    empty = Tensor._const(np.zeros((0,), LU.data.dtype))
    P = _permutation(pivots.data, LU.data.shape[-2], LU.data.dtype) if unpack_pivots else None
    if unpack_data:
        _, L, U = _unpacked(LU, P if P is not None else np.zeros(0, LU.data.dtype))
    else:
        L = U = empty
    return lu_unpack_result(Tensor._const(P) if P is not None else empty, L, U)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """X with A X = B (A^T X = B when adjoint; X A = B when left=False) from lu_factor's
    (LU, pivots); triangular solves with LU's triangles, so LU and B get gradients"""
    op = "linalg.lu_solve"
    LU = _float_matrix(LU, op, "LU")
    pivots = _check_pivots(LU, pivots, op)
    B = tensor_arg(B, op, "B")
    _same_dtype(LU, B, op)
    n = LU.data.shape[-1]
    if B.data.ndim < 2 or B.data.shape[-2 if left else -1] != n:
        raise RuntimeError(f"{op}: incompatible shapes of LU {tuple(LU.data.shape)} and B "
                           f"{tuple(B.data.shape)} (B must be a matrix, or a batch of them, "
                           f"with {n} {'rows' if left else 'columns'})")
    P = Tensor._const(_permutation(pivots.data, n, LU.data.dtype))
    T = LU.mT
    if left and not adjoint:  # A = P L U: X = U^-1 L^-1 P^T B
        y = solve_triangular(LU, matmul(P.mT, B), upper=False, unitriangular=True)
        return solve_triangular(LU, y, upper=True)
    if left:  # A^T = U^T L^T P^T: X = P L^-T U^-T B
        y = solve_triangular(T, B, upper=False)
        return matmul(P, solve_triangular(T, y, upper=True, unitriangular=True))
    if not adjoint:  # X P L U = B
        y = solve_triangular(LU, B, upper=True, left=False)
        return matmul(solve_triangular(LU, y, upper=False, left=False, unitriangular=True), P.mT)
    y = solve_triangular(T, matmul(B, P), upper=True, left=False, unitriangular=True)
    return solve_triangular(T, y, upper=False, left=False)  # X U^T L^T P^T = B


def solve_ex(A, B, *, left=True, check_errors=False):
    """(result, info): solve(A, B) and LAPACK's getrf info (0, or the 1-based index of a zero
    pivot, where the result is nan)"""
    op = "linalg.solve_ex"
    A = _float_matrix(A, op)
    B = tensor_arg(B, op, "B")
    info = _getrf(A.data)[2]
    vector = B.data.ndim == 1 or (left and B.data.ndim == A.data.ndim - 1
                                  and B.data.shape == A.data.shape[:-1])
    if not info.any():
        X = _solve(A, B, left, True, op)
    elif check_errors:
        i = int(info[info > 0].min()) - 1
        raise LinAlgError(f"{op}: the input matrix is singular (U[{i},{i}] is zero): it has "
                          f"no inverse; use linalg.lstsq or linalg.pinv")
    else:  # the singular matrices replaced by I, their results by nan (no gradient there)
        bad = info > 0
        eye = Tensor._const(np.eye(A.data.shape[-1], dtype=A.data.dtype))
        X = _solve(where(bad[..., None, None], eye, A), B, left, True, op)
        mask = bad[..., None] if vector else bad[..., None, None]
        X = where(mask, Tensor._const(np.asarray(np.nan, A.data.dtype)), X)
    return solve_ex_result(X, Tensor._const(info))  # (A's batch shape, as PyTorch)


def _lapack_module(op):
    """scipy.linalg.lapack (LAPACK's sytrf/sytrs), or an error naming the extra to install."""
    try:
        import scipy.linalg.lapack
    except ImportError:
        raise ModuleNotFoundError(
            f"{op} takes LAPACK's sytrf/sytrs from scipy, which is not installed: "
            f'pip install "autodiff[special]" (or pip install scipy)') from None
    return scipy.linalg.lapack


class _NoDerivative(Node):
    """A value computed outside the graph whose derivative PyTorch does not implement either:
    it requires grad as PyTorch's does, and backward raises PyTorch's error class."""
    __slots__ = ("value", "error", "message")
    reads = ()  # (its rule reads nothing: it only raises)

    def __init__(self, value, error, message):
        self.value, self.error, self.message = value, error, message

    def forward(self, *xs):
        return self.value

    def backward(self, g, out, *xs):
        raise self.error(self.message)


def _no_derivative(value, inputs, error, message):
    return apply(_NoDerivative(value, error, message), *inputs)


def _ldl_check(A, hermitian, op):
    A = _float_matrix(A, op)
    if not isinstance(hermitian, bool):
        raise TypeError(f"{op}: hermitian must be a bool, got {type(hermitian).__name__}")
    return A


def ldl_factor_ex(A, *, hermitian=False, check_errors=False):
    """(LD, pivots, info): the Bunch-Kaufman LDL^T factorization of symmetric A (its lower
    triangle read) in LAPACK's sytrf layout; info > 0 names a zero diagonal block of D. No
    derivative (as PyTorch)"""
    op = "linalg.ldl_factor_ex"
    A = _ldl_check(A, hermitian, op)
    a = A.data
    n = a.shape[-1]
    flat = a.reshape((math.prod(a.shape[:-2]), n, n))
    ld, piv = np.zeros_like(flat), np.zeros(flat.shape[:2], np.int32)
    info = np.zeros(flat.shape[0], np.int32)
    if n:
        sytrf = _lapack_module(op).get_lapack_funcs("sytrf", (a,))
        for i in range(flat.shape[0]):
            out, p, info[i] = sytrf(flat[i], lower=1)
            ld[i], piv[i] = np.tril(out), p
    if check_errors and info.any():
        raise LinAlgError(f"{op}: D has a zero diagonal block (info {int(info.max())}): the "
                          f"matrix is singular")
    message = ("derivative for linalg.ldl_factor_ex is not implemented (as in PyTorch); "
               "use linalg.solve or linalg.cholesky to differentiate")
    return ldl_factor_ex_result(_no_derivative(ld.reshape(a.shape), (A,), RuntimeError, message),
                                Tensor._const(piv.reshape(a.shape[:-1])),
                                Tensor._const(info.reshape(a.shape[:-2])))


def ldl_factor(A, *, hermitian=False):
    """(LD, pivots): ldl_factor_ex without info (no error for a singular D, as PyTorch)"""
    LD, pivots, _ = ldl_factor_ex(A, hermitian=hermitian)
    return ldl_factor_result(LD, pivots)


def ldl_solve(LD, pivots, B, *, hermitian=False):
    """X with A X = B from ldl_factor's (LD, pivots) (LAPACK's sytrs); no derivative (as
    PyTorch)"""
    op = "linalg.ldl_solve"
    LD = _ldl_check(LD, hermitian, op)
    B = tensor_arg(B, op, "B")
    _same_dtype(LD, B, op)
    pivots = tensor_arg(pivots, op, "pivots")
    n = LD.data.shape[-1]
    if pivots.data.dtype != np.int32 or pivots.data.shape != LD.data.shape[:-1]:
        raise RuntimeError(f"{op}: pivots must be an int32 tensor of shape LD.shape[:-1] = "
                           f"{LD.data.shape[:-1]}, got {pivots.data.dtype} "
                           f"{tuple(pivots.data.shape)}")
    if B.data.ndim < 2 or B.data.shape[-2] != n:
        raise RuntimeError(f"{op}: B must be a matrix (or a batch of them) with {n} rows, got "
                           f"shape {tuple(B.data.shape)}")
    batch = broadcast_shape(f"{op} (batch dims)", LD.data.shape[:-2], B.data.shape[:-2])
    count = math.prod(batch)
    ld = np.broadcast_to(LD.data, batch + (n, n)).reshape((count, n, n))
    piv = np.broadcast_to(pivots.data, batch + (n,)).reshape((count, n))
    b = np.broadcast_to(B.data, batch + B.data.shape[-2:])
    x = np.array(b).reshape((count,) + b.shape[-2:])
    if n and x.shape[-1]:
        sytrs = _lapack_module(op).get_lapack_funcs("sytrs", (ld,))
        for i in range(x.shape[0]):
            x[i] = sytrs(ld[i], piv[i], x[i], lower=1)[0]
    message = ("derivative for linalg.ldl_solve is not implemented (as in PyTorch); use "
               "linalg.solve to differentiate")
    return _no_derivative(x.reshape(b.shape), (LD, B), RuntimeError, message)


def geqrf(A):
    """(a, tau): QR in LAPACK's geqrf layout (R on and above the diagonal, the Householder
    vectors below it); no derivative (as PyTorch: use linalg.qr)"""
    A = _lapack_input(A, "geqrf")
    a = A.data
    m, n = a.shape[-2:]
    if a.size:
        h, tau = np.linalg.qr(a, mode="raw")
        h = np.ascontiguousarray(np.swapaxes(h, -1, -2))
    else:
        h, tau = a.copy(), np.zeros(a.shape[:-2] + (min(m, n),), a.dtype)
    message = ("the derivative for 'geqrf' is not implemented (as in PyTorch); "
               "differentiate linalg.qr instead")
    return geqrf_result(_no_derivative(h.astype(a.dtype), (A,), NotImplementedError, message),
                        _no_derivative(tau.astype(a.dtype), (A,), NotImplementedError, message))


def _reflectors(A, tau, op):
    """(V, tau) checked: V the unit lower-trapezoidal Householder vectors stored in A's
    columns (as geqrf leaves them), one per entry of tau"""
    A = _float_matrix(A, op, "input", square=False)
    tau = tensor_arg(tau, op, "tau")
    _same_dtype(A, tau, op)
    m, n = A.data.shape[-2:]
    k = tau.data.shape[-1] if tau.data.ndim else -1
    if tau.data.ndim != A.data.ndim - 1 or tau.data.shape[:-1] != A.data.shape[:-2]:
        raise RuntimeError(f"{op}: tau must have the batch dims of input plus one, got shapes "
                           f"{tuple(A.data.shape)} and {tuple(tau.data.shape)}")
    if k > n or k > m:
        raise RuntimeError(f"{op}: tau.shape[-1] ({k}) must not exceed input.shape[-1] ({n}) "
                           f"or input.shape[-2] ({m})")
    dt = A.data.dtype
    V = A[..., :, :k] * _tri(m, k, dt, -1, True) + np.eye(m, k, dtype=dt)
    return A, V, tau, k


def _reflect(V, tau, X, k, left, order):
    """H_i X (left) or X H_i for i in order, H_i = I - tau_i v_i v_i^T"""
    batch = tau.data.shape[:-1]
    for i in order:
        v = V[..., :, i:i + 1]
        t = reshape(tau[..., i], batch + (1, 1))
        X = X - (v * t) @ (v.mT @ X) if left else X - ((X @ v) * t) @ v.mT
    return X


def householder_product(A, tau):
    """The first n columns of H_1 H_2 ... H_k, H_i = I - tau_i v_i v_i^T with v_i the i-th
    column of A below its diagonal (1 on it): Q from geqrf's (a, tau); composed, so
    differentiable to any order"""
    op = "linalg.householder_product"
    A, V, tau, k = _reflectors(A, tau, op)
    m, n = A.data.shape[-2:]
    if m < n:
        raise RuntimeError(f"{op}: input.shape[-2] ({m}) must be greater than or equal to "
                           f"input.shape[-1] ({n})")
    eye = Tensor._const(np.broadcast_to(np.eye(m, n, dtype=A.data.dtype),
                                        A.data.shape).copy())
    if k == 0:  # the identity, with a zero gradient (as PyTorch)
        return where(np.ones(A.data.shape, bool), eye, A)
    return _reflect(V, tau, eye, k, True, range(k - 1, -1, -1))


def orgqr(input, tau):
    """householder_product(input, tau) (torch.orgqr)"""
    return householder_product(input, tau)


def ormqr(input, tau, other, left=True, transpose=False):
    """Q C, Q^T C (transpose), C Q or C Q^T (left=False), Q = H_1 ... H_k from geqrf's
    (input, tau); composed, so differentiable in all three"""
    op = "ormqr"
    A, V, tau, k = _reflectors(input, tau, op)
    C = tensor_arg(other, op, "other")
    _same_dtype(A, C, op)
    m = A.data.shape[-2]
    if C.data.ndim != A.data.ndim or C.data.shape[:-2] != A.data.shape[:-2] or \
            C.data.shape[-2 if left else -1] != m:
        raise RuntimeError(f"{op}: other must have input's batch dims and {m} "
                           f"{'rows' if left else 'columns'}, got shapes "
                           f"{tuple(A.data.shape)} and {tuple(C.data.shape)}")
    if k != min(m, A.data.shape[-1]):
        raise RuntimeError(f"{op}: tau.shape[-1] ({k}) must be min(input.shape[-2], "
                           f"input.shape[-1]) = {min(m, A.data.shape[-1])}: one reflector per "
                           f"column of geqrf's output")
    forward = left != transpose  # Q C = H_1 (... (H_k C)): the last reflector first
    order = range(k - 1, -1, -1) if forward else range(k)
    return _reflect(V, tau, C, k, left, order) if k else clone(C)


# --- randomized and iterative methods (torch.*): composed, so differentiable --------------------

def _approximate_basis(A, q, niter, M):
    """Q (m x q, orthonormal columns) whose span approximates A's range (Halko et al. 2009,
    algorithm 4.4, as torch._lowrank.get_approximate_basis); R from the default generator"""
    from ..creation import randn
    R = randn(A.data.shape[-1], q, dtype=A.data.dtype)

    X = matmul(A, R) if M is None else matmul(A, R) - matmul(M, R)
    Q = qr(X).Q
    for _ in range(niter):
        X = matmul(A.mT, Q) if M is None else matmul(A.mT, Q) - matmul(M.mT, Q)
        Q = qr(X).Q
        X = matmul(A, Q) if M is None else matmul(A, Q) - matmul(M, Q)
        Q = qr(X).Q
    return Q


def svd_lowrank(A, q=6, niter=2, M=None):
    """(U, S, V): an approximate rank-q SVD of A (or A - M) by randomized subspace iteration
    (torch.svd_lowrank; its random matrix is drawn from the default generator)"""
    op = "svd_lowrank"
    A = _float_matrix(A, op, square=False)
    q = 6 if q is None else q
    niter = 2 if niter is None else niter
    m, n = A.data.shape[-2:]
    if M is not None:
        M = expand(tensor_arg(M, op, "M"), A.data.shape)
    if m < n:  # (the algorithm assumes a tall matrix)
        A = A.mT
        M = None if M is None else M.mT
    Q = _approximate_basis(A, q, niter, M)
    B = matmul(Q.mT, A) if M is None else matmul(Q.mT, A) - matmul(Q.mT, M)
    U, S, Vh = svd(B, full_matrices=False)
    U, V = matmul(Q, U), Vh.mT
    return (V, S, U) if m < n else (U, S, V)


def pca_lowrank(A, q=None, center=True, niter=2):
    """(U, S, V): the principal components of A's rows, svd_lowrank of A minus its column
    means (torch.pca_lowrank)"""
    op = "pca_lowrank"
    A = _float_matrix(A, op, square=False)
    m, n = A.data.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not 0 <= q <= min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than "
                         f"min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if center:
        from .reduce import mean
        A = A - mean(A, -2, keepdim=True)
    return svd_lowrank(A, q, niter=niter)


def lobpcg(A, k=None, B=None, X=None, n=None, iK=None, niter=None, tol=None, largest=None,
           method=None, tracker=None, ortho_iparams=None, ortho_fparams=None,
           ortho_bparams=None):
    """(E, X): the k largest (or smallest) eigenpairs of symmetric A (A x = e B x with B
    positive-definite). torch.lobpcg's interface; the pairs are exact, from eigh (through
    cholesky(B) when given), so differentiable like eigh"""
    op = "lobpcg"
    A = _float_matrix(A, op)
    m = A.data.shape[-1]
    k = (1 if X is None else X.shape[-1]) if k is None else k
    n = (k if n is None else n) if X is None else X.shape[-1]
    if m < 3 * n:
        raise ValueError(f"LOBPCG algorithm is not applicable when the number of A rows "
                         f"(={m}) is smaller than 3 x the number of requested eigenpairs "
                         f"(={n})")
    largest = True if largest is None else largest
    if B is not None:
        B = _float_matrix(B, op, "B")
        if B.data.shape != A.data.shape:
            raise ValueError(f"{op}: A and B must have the same shape, got "
                             f"{tuple(A.data.shape)} and {tuple(B.data.shape)}")
        L = cholesky(B)
        C = solve(L, solve(L, A).mT).mT  # L^-1 A L^-T
        w, v = eigh(C)
        v = solve_triangular(L.mT, v, upper=True)
    else:
        w, v = eigh(A)
    if largest:
        return w[..., m - k:].flip(-1), v[..., :, m - k:].flip(-1)
    return w[..., :k], v[..., :, :k]


def lu_top(A, pivot=True, get_infos=False):
    """(LU, pivots), or (LU, pivots, info) when get_infos (torch.lu, deprecated by PyTorch
    for linalg.lu_factor / lu_factor_ex); a zero pivot raises no error either way"""
    import warnings
    warnings.warn("torch.lu is deprecated in favor of linalg.lu_factor / linalg.lu_factor_ex "
                  "and will be removed in a future PyTorch release", UserWarning, stacklevel=2)
    LU, pivots, info = lu_factor_ex(A, pivot=pivot)
    return lu_with_info_result(LU, pivots, info) if get_infos else (LU, pivots)


def lu_solve_top(b, LU_data, LU_pivots):
    """X with A X = b from (LU_data, LU_pivots) (torch.lu_solve, deprecated by PyTorch for
    linalg.lu_solve: b first)"""
    import warnings
    warnings.warn("torch.lu_solve is deprecated in favor of linalg.lu_solve and will be removed "
                  "in a future PyTorch release", UserWarning, stacklevel=2)
    return lu_solve(LU_data, LU_pivots, b)


# torch.* functions of this family: autodiff.<name> (torch.svd returns V and takes some=,
# torch.qr takes some=; the others are the linalg functions under their torch.* names)
TOP_LEVEL = {"det": det, "logdet": logdet, "slogdet": slogdet, "inverse": inverse,
             "pinverse": pinverse, "cholesky": cholesky_top, "svd": svd_top, "qr": qr_top,
             "matrix_power": matrix_power, "matrix_exp": matrix_exp,
             "cholesky_inverse": cholesky_inverse, "cholesky_solve": cholesky_solve,
             "triangular_solve": triangular_solve, "lu": lu_top, "lu_solve": lu_solve_top,
             "lu_unpack": lu_unpack, "geqrf": geqrf, "orgqr": orgqr, "ormqr": ormqr,
             "lobpcg": lobpcg, "pca_lowrank": pca_lowrank, "svd_lowrank": svd_lowrank}

# Tensor methods (torch.Tensor has these under the torch.* names)
METHODS = {
    "det": det, "logdet": logdet, "slogdet": slogdet, "inverse": inverse, "pinverse": pinverse,
    "cholesky": cholesky_top, "svd": svd_top, "qr": qr_top, "matrix_power": matrix_power,
    "matrix_exp": matrix_exp, "cholesky_inverse": cholesky_inverse,
    "cholesky_solve": cholesky_solve, "triangular_solve": triangular_solve,
    "lu": lu_top, "lu_solve": lu_solve_top, "geqrf": geqrf, "orgqr": orgqr, "ormqr": ormqr,
}
