"""Catalog entries for the linalg family (tests/catalog.py appends ENTRIES and merges the sets).

Decompositions are only differentiable on well-conditioned inputs (distinct singular values or
eigenvalues, nonsingular or positive-definite matrices), while hypothesis draws anything from
[-2, 2], zeros included. So each entry maps its input x to such a matrix inside fn (and ref):
a small multiple of x plus a fixed matrix with well-separated singular values (`_spread`), a
diagonally dominant 0.3 x + 2 I, or x x^T + I. Decompositions are checked through functions
their gauge freedom (the signs of singular and eigen vectors) leaves unchanged, as PyTorch's
own tests do.
"""
import numpy as np
from hypothesis import strategies as st

from autodiff.ops import decompositions as la
import autodiff as ad
from catalog import Op, fixed


def _orth(n, seed):
    return np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))[0]


def _spread(m, n):
    """A fixed m x n matrix with singular values k, ..., 2, 1 (k = min(m, n))."""
    k = min(m, n)
    return _orth(m, 1)[:, :k] @ np.diag(np.arange(k, 0, -1.0)) @ _orth(n, 2)[:, :k].T


def _sym_spread(n):
    """A fixed symmetric n x n matrix with eigenvalues n, ..., 2, 1."""
    q = _orth(n, 3)
    return q @ np.diag(np.arange(n, 0, -1.0)) @ q.T


# maps that work on ndarrays (the reference) and tensors (the op) alike
def separated(x):
    """Singular values within 0.3 of k, ..., 1: distinct and away from 0."""
    return x * 0.05 + _spread(*x.shape[-2:]).astype(x.dtype)


def sym_separated(x):
    """Symmetric, eigenvalues within 0.3 of n, ..., 1."""
    return (x + x.mT) * 0.025 + _sym_spread(x.shape[-1]).astype(x.dtype)


def dominant(x):
    """Diagonally dominant (n <= 3): nonsingular, well conditioned."""
    return x * 0.3 + 2 * np.eye(x.shape[-1], dtype=x.dtype)


def spd(x):
    return x @ x.mT + np.eye(x.shape[-1], dtype=x.dtype)


def _np_solve_triangular(x, b, upper, left, unit):
    a = np.triu(dominant(x), 1 if unit else 0) if upper else np.tril(dominant(x),
                                                                     -1 if unit else 0)
    a = a + np.eye(x.shape[-1]) if unit else a
    return np.linalg.solve(a, b) if left else np.linalg.solve(a.T, b.T).T


def squares(batch=True):
    """n x n matrices, n <= 2 (maybe a batch of 2): the second order of a decomposition costs
    about (elements)^2 rule calls, so the catalog keeps them small (3 x 3 and larger batches
    are in tests/test_torch_linalg.py)."""
    def draw_shapes(draw):
        n = draw(st.integers(1, 2))
        lead = draw(st.sampled_from([(), (2,)] if batch else [()]))
        return [lead + (n, n)]
    return draw_shapes


_SMALL = [(1, 1), (2, 1), (1, 2), (2, 2), (3, 2), (2, 3)]


def matrices(batch=True):
    """m x n matrices up to 3 x 2 and 2 x 3 (a batch of 2 only up to 2 x 2)."""
    def draw_shapes(draw):
        m, n = draw(st.sampled_from(_SMALL))
        lead = draw(st.sampled_from([(), (2,)] if batch and m * n <= 4 else [()]))
        return [lead + (m, n)]
    return draw_shapes


def flat(*xs):
    """The outputs of a decomposition as one tensor (or array)."""
    if isinstance(xs[0], ad.Tensor):
        return ad.cat([x.reshape(-1) for x in xs])
    return np.concatenate([np.reshape(x, -1) for x in xs])


def _np_svd_invariants(a, full_matrices=False):
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    k = s.shape[-1]
    return flat((u[..., :k] * s[..., None, :]) @ vh[..., :k, :], u[..., :k] ** 2,
                vh[..., :k, :] ** 2, s)


def _svd_invariants(a, full_matrices=False):
    u, s, vh = la.svd(a, full_matrices=full_matrices)
    k = s.shape[-1]
    return flat((u[..., :k] * s[..., None, :]) @ vh[..., :k, :], u[..., :k] ** 2,
                vh[..., :k, :] ** 2, s)


def _np_norm(x, ord, dim, keepdim=False):
    return np.linalg.norm(x, ord, axis=dim, keepdims=keepdim)


_sums = {1: np.array([[1.0, 2.0, 3.0]]), np.inf: np.array([[1.0], [2.0], [3.0]])}


def distinct_sums(ord):
    """|A| with distinct column (ord 1) or row (ord inf) sums, at least 1 apart."""
    def f(x):
        c = np.broadcast_to(_sums[abs(ord)], (3, 3)).astype(x.dtype)
        return x * 0.1 + c
    return f


def _power_params(draw, shapes):
    return {"n": draw(st.integers(-2, 3))}


def _vector_norm_params(draw, shapes):
    nd = len(shapes[0])
    dim = draw(st.one_of(st.none(), st.integers(-nd, nd - 1))) if nd else None
    return {"ord": draw(st.sampled_from([2, 1, 3, 0.5, -1])), "dim": dim,
            "keepdim": draw(st.booleans())}



# --- LU, Householder products, low-rank and iterative methods ----------------------------------

def pivoted(x):
    """x * 0.1 plus twice a row-reversed identity: partial pivoting swaps rows, and every pivot
    wins by a wide margin (the pivot order stays put under finite differences)."""
    m, n = x.shape[-2:]
    return x * 0.1 + 2 * np.eye(m, n, dtype=x.dtype)[::-1].copy()


def _np_lu(a):
    """(LU packed as LAPACK's getrf, L, U) of a matrix (or a batch), from scipy.linalg.lu."""
    import scipy.linalg
    m, n = a.shape[-2:]
    k = min(m, n)
    packed, ls, us = [], [], []
    for x in a.reshape((-1, m, n)):
        _, l, u = scipy.linalg.lu(x)
        lu = np.zeros((m, n))
        lu[:, :k] += np.tril(l, -1)
        lu[:k, :] += u
        packed.append(lu), ls.append(l), us.append(u)
    batch = a.shape[:-2]
    return (np.reshape(packed, a.shape), np.reshape(ls, batch + (m, k)),
            np.reshape(us, batch + (k, n)))


def _np_lu_solve(x, b, left, adjoint):
    a = pivoted(x)
    b = b if left else b.T
    a = a.T if adjoint else a
    return np.linalg.solve(a, b) if left else np.linalg.solve(a.T, b.T).T


def _np_householder_q(a, tau):
    """H_1 ... H_k (m x m), H_i = I - tau_i v_i v_i^T, v_i: a's i-th column below the diagonal."""
    m, k = a.shape[-2], tau.shape[-1]
    v = np.tril(a, -1)[..., :, :k] + np.eye(m, k)
    q = np.broadcast_to(np.eye(m), a.shape[:-2] + (m, m)).copy()
    for i in range(k):
        vi = v[..., :, i:i + 1]
        q = q - ((q @ vi) * tau[..., i, None, None]) @ np.swapaxes(vi, -1, -2)
    return q


def _np_ormqr(a, tau, c, left, transpose):
    q = _np_householder_q(a, tau)
    q = q.T if transpose else q
    return q @ c if left else c.T @ q


def _lowrank_invariants(fn):
    """U S V^T, U^2, V^2 and S of a seeded randomized SVD (exact when q = min(m, n))."""
    def f(x):
        ad.manual_seed(0)
        u, s, v = fn(x)
        return flat((u * s[..., None, :]) @ v.mT, u ** 2, v ** 2, s)
    return f


def _np_svd_uv(a, k=None):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    u, s, vh = u[:, :k], s[:k], vh[:k]
    return flat((u * s) @ vh, u ** 2, vh.T ** 2, s)


_ROWS = np.array([[1.0, 0.5], [-1.0, 0.5]])  # centered: rank 1, singular value 1.41
_PIVOTS = np.array([3, 3], np.int32)


def sym_rank2(x):
    """A symmetric 3 x 3 matrix with eigenvalues near 3, 2, 1 from the 3 entries of x (a
    symmetric perturbation x_i + x_j of every entry: 3 inputs, not 9, for the second order)."""
    return (x.reshape(3, 1) + x.reshape(1, 3)) * 0.05 + _sym_spread(3).astype(x.dtype)


def centered(x):
    """_ROWS with rows moved by x (2 x 1): once centered, rank 1 with s near 1.41 (so its
    top singular triple, q = 1, is exact)."""
    return _ROWS.astype(x.dtype) + x * np.array([0.05, 0.02], x.dtype)


def _np_lobpcg(x, largest):
    w, v = np.linalg.eigh(sym_rank2(x))
    return flat(w[-1:], v[:, -1:] ** 2) if largest else flat(w[:1], v[:, :1] ** 2)


ENTRIES = [
    Op("det", lambda x: la.det(dominant(x)), lambda x: np.linalg.det(dominant(x)), squares()),
    Op("slogdet", lambda x: la.slogdet(dominant(x)).logabsdet,
       lambda x: np.linalg.slogdet(dominant(x))[1], squares()),
    Op("logdet", lambda x: la.logdet(spd(x)), lambda x: np.log(np.linalg.det(spd(x))), squares()),
    Op("inverse", lambda x: la.inv(dominant(x)), lambda x: np.linalg.inv(dominant(x)), squares()),
    Op("linalg.solve", lambda x, b: la.solve(dominant(x), b),
       lambda x, b: np.linalg.solve(dominant(x), b), fixed((2, 2, 2), (2, 1))),
    Op("linalg.solve", lambda x, b: la.solve(dominant(x), b, left=False),
       lambda x, b: np.linalg.solve(dominant(x).mT, b.mT).mT, fixed((2, 2), (1, 2)),
       label="left=False"),
    Op("cholesky", lambda x: la.cholesky(spd(x)), lambda x: np.linalg.cholesky(spd(x)),
       squares()),
    Op("linalg.qr", lambda x, mode: flat(*la.qr(separated(x), mode)),
       lambda x, mode: flat(*np.linalg.qr(separated(x), mode)), matrices(batch=False),
       params=lambda draw, s: {"mode": "reduced" if s[0][-2] > s[0][-1] else
                               draw(st.sampled_from(["reduced", "complete"]))}),
    Op("linalg.svd", lambda x: _svd_invariants(separated(x)),
       lambda x: _np_svd_invariants(separated(x)), matrices(batch=False)),
    Op("linalg.svd", lambda x: _svd_invariants(separated(x), True),
       lambda x: _np_svd_invariants(separated(x), True), fixed((2, 1)), label="full_matrices"),
    Op("linalg.svdvals", lambda x: la.svdvals(separated(x)),
       lambda x: np.linalg.svd(separated(x), compute_uv=False), matrices()),
    Op("linalg.eigh", lambda x, UPLO: flat(*(lambda r: (r[0], r[1] ** 2))(
        la.eigh(sym_separated(x), UPLO))),
       lambda x, UPLO: flat(*(lambda r: (r[0], r[1] ** 2))(
           np.linalg.eigh(sym_separated(x), UPLO))), squares(),
       params=lambda draw, s: {"UPLO": draw(st.sampled_from("LU"))}),
    Op("linalg.eigvalsh", lambda x: la.eigvalsh(sym_separated(x)),
       lambda x: np.linalg.eigvalsh(sym_separated(x)), squares()),
    Op("linalg.pinv", lambda x: la.pinv(separated(x)), lambda x: np.linalg.pinv(separated(x)),
       matrices()),
    Op("linalg.pinv", lambda x: la.pinv(sym_separated(x), hermitian=True),
       lambda x: np.linalg.pinv(sym_separated(x)), squares(batch=False), label="hermitian"),
    Op("linalg.lstsq", lambda x, b: la.lstsq(separated(x), b).solution,
       lambda x, b: np.linalg.lstsq(separated(x), b, rcond=None)[0], fixed((3, 2), (3, 1))),
    Op("matrix_power", lambda x, n: la.matrix_power(dominant(x), n),
       lambda x, n: np.linalg.matrix_power(dominant(x), n), squares(), params=_power_params),
    Op("matrix_exp", la.matrix_exp,
       lambda x: __import__("scipy.linalg").linalg.expm(x), squares()),
    Op("linalg.vector_norm", la.vector_norm,
       lambda x, ord, dim, keepdim: (np.sum(np.abs(x) ** ord, axis=dim, keepdims=keepdim)
                                     ** (1 / ord)),
       lambda draw: [draw(st.sampled_from([(3,), (2, 3), ()]))], domain="away",
       params=_vector_norm_params),
    Op("linalg.vector_norm", lambda x: la.vector_norm(x, float("inf"), dim=0),
       lambda x: np.max(np.abs(x), axis=0), fixed((3, 2)), domain="distinct", label="inf"),
    Op("linalg.matrix_norm", lambda x, ord: la.matrix_norm(separated(x), ord),
       lambda x, ord: _np_norm(separated(x), ord, (-2, -1)), matrices(),
       params=lambda draw, s: {"ord": draw(st.sampled_from(["fro", "nuc", 2, -2]))}),
    Op("linalg.matrix_norm", lambda x, ord: la.matrix_norm(distinct_sums(ord)(x), ord,
                                                            keepdim=True),
       lambda x, ord: _np_norm(distinct_sums(ord)(x), ord, (-2, -1), True), fixed((3, 3)),
       params=lambda draw, s: {"ord": draw(st.sampled_from([1, -1, np.inf, -np.inf]))},
       label="1 and inf"),
    Op("linalg.norm", la.norm, lambda x: np.sqrt(np.sum(x * x)), matrices(), domain="away"),
    Op("linalg.cross", la.cross, lambda a, b: np.cross(a, b), fixed((1, 3), (1, 3))),
    Op("linalg.multi_dot", lambda a, b, c: la.multi_dot([a, b, c]),
       lambda a, b, c: a @ b @ c, fixed((2,), (2, 2), (2, 1))),
    Op("linalg.solve_triangular", lambda x, b, upper, left, unit: la.solve_triangular(
        dominant(x), b, upper=upper, left=left, unitriangular=unit), _np_solve_triangular,
       fixed((2, 2), (2, 2)), params=lambda draw, s: {
           "upper": draw(st.booleans()), "left": draw(st.booleans()),
           "unit": draw(st.booleans())}),
    Op("linalg.cond", lambda x, p: la.cond(separated(x), p),
       lambda x, p: np.linalg.cond(separated(x), p), squares(batch=False),
       params=lambda draw, s: {"p": draw(st.sampled_from([None, -2, "fro", "nuc"]))}),
    Op("linalg.tensorinv", lambda x: la.tensorinv(dominant(x).reshape(2, 1, 2), ind=2),
       lambda x: np.linalg.tensorinv(dominant(x).reshape(2, 1, 2), ind=2), fixed((2, 2))),
    Op("linalg.tensorsolve", lambda x, b: la.tensorsolve(dominant(x).reshape(2, 1, 2), b),
       lambda x, b: np.linalg.tensorsolve(dominant(x).reshape(2, 1, 2), b),
       fixed((2, 2), (2, 1))),
    Op("linalg.vander", lambda x, N: la.vander(x, N=N),
       lambda x, N: x[..., None] ** np.arange(N), fixed((2, 3)),
       params=lambda draw, s: {"N": draw(st.integers(1, 4))}),
    Op("linalg.vecdot", la.vecdot, lambda x, y: np.sum(x * y, -1), fixed((2, 3), (3,))),
    Op("cholesky_inverse", lambda x, upper: la.cholesky_inverse(dominant(x), upper),
       lambda x, upper: np.linalg.inv(dominant(x).T @ dominant(x) if upper else
                                      dominant(x) @ dominant(x).T), fixed((2, 2)),
       params=lambda draw, s: {"upper": draw(st.booleans())}),
    Op("cholesky_solve", lambda b, x: la.cholesky_solve(b, dominant(x)),
       lambda b, x: np.linalg.solve(dominant(x) @ dominant(x).T, b), fixed((2, 1), (2, 2))),
    Op("triangular_solve", lambda b, x, transpose: la.triangular_solve(
        b, dominant(x), transpose=transpose).solution,
       lambda b, x, transpose: np.linalg.solve(np.triu(dominant(x)).T if transpose else
                                               np.triu(dominant(x)), b),
       fixed((2, 1), (2, 2)), params=lambda draw, s: {"transpose": draw(st.booleans())}),
    # LU, Householder products, low-rank and iterative methods
    Op("linalg.lu_factor", lambda x: la.lu_factor(pivoted(x)).LU,
       lambda x: _np_lu(pivoted(x))[0], matrices()),
    Op("linalg.lu", lambda x: flat(*la.lu(pivoted(x))[1:]),
       lambda x: flat(*_np_lu(pivoted(x))[1:]), matrices(batch=False)),
    Op("linalg.lu_solve", lambda x, b, left, adjoint: la.lu_solve(
        *la.lu_factor(pivoted(x)), b if left else b.mT, left=left, adjoint=adjoint),
       _np_lu_solve,
       fixed((2, 2), (2, 1)), params=lambda draw, s: {"left": draw(st.booleans()),
                                                      "adjoint": draw(st.booleans())}),
    Op("linalg.solve_ex", lambda x, b: la.solve_ex(dominant(x), b).result,
       lambda x, b: np.linalg.solve(dominant(x), b), fixed((2, 2), (2,))),
    Op("linalg.householder_product", la.householder_product,
       lambda a, t: _np_householder_q(a, t)[..., :, :a.shape[-1]], fixed((3, 2), (1,))),
    Op("ormqr", lambda a, t, c, left, transpose: ad.ormqr(a, t, c if left else c.mT, left,
                                                          transpose),
       _np_ormqr, fixed((3, 2), (2,), (3, 1)),
       params=lambda draw, s: {"left": draw(st.booleans()), "transpose": draw(st.booleans())}),
    Op("lu_unpack", lambda x: flat(*ad.lu_unpack(x, _PIVOTS)[1:]),
       lambda x: flat(np.tril(x, -1) + np.eye(3, 2), np.triu(x[:2])), fixed((3, 2))),
    Op("lobpcg", lambda x, largest: flat(*(lambda e, v: (e, v ** 2))(
        *ad.lobpcg(sym_rank2(x), k=1, largest=largest))), _np_lobpcg, fixed((3,)),
       params=lambda draw, s: {"largest": draw(st.booleans())}),
    # (niter=0: with q = min(m, n) the basis is exact already, and each iteration adds two QRs)
    Op("svd_lowrank", _lowrank_invariants(lambda x: ad.svd_lowrank(separated(x), 1, 0)),
       lambda x: _np_svd_uv(separated(x)), fixed((2, 1))),
    Op("pca_lowrank", _lowrank_invariants(lambda x: ad.pca_lowrank(centered(x), 1, niter=0)),
       lambda x: _np_svd_uv(centered(x) - np.mean(centered(x), 0), 1), fixed((2, 1))),
]
NON_DIFFERENTIABLE = {"linalg.matrix_rank", "linalg.LinAlgError",  # (an integer; a class)
                      # (no derivative in PyTorch either: they raise its error at backward)
                      "linalg.ldl_factor", "linalg.ldl_factor_ex", "linalg.ldl_solve", "geqrf"}
NAMESPACE_ALIASES = {"linalg.det": "det", "linalg.slogdet": "slogdet", "linalg.inv": "inverse",
                     "linalg.cholesky": "cholesky", "linalg.matrix_power": "matrix_power",
                     "linalg.matrix_exp": "matrix_exp", "linalg.matmul": "matmul",
                     "linalg.diagonal": "diagonal",
                     # thin wrappers of a catalogued op (their values and gradients against
                     # PyTorch's: tests/test_torch_linalg.py); kept out of the catalog, whose
                     # second-order checks of decompositions are the costly part of CI
                     "qr": "linalg.qr", "svd": "linalg.svd", "pinverse": "linalg.pinv",
                     "linalg.inv_ex": "inverse", "linalg.cholesky_ex": "cholesky",
                     "linalg.lu_factor_ex": "linalg.lu_factor", "lu": "linalg.lu_factor",
                     "lu_solve": "linalg.lu_solve", "orgqr": "linalg.householder_product"}
