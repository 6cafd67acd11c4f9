"""PyTorch cross-checks of autodiff.linalg (autodiff/ops/decompositions.py) and its torch.*
aliases: values, dtypes, first and second order gradients, batches and broadcasting, empty
matrices, singular inputs, the metadata of lstsq, and exception classes."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.ops import decompositions as la
from autodiff.testing import gradcheck
from _torch import assert_close, compare_with_torch, to_ad, to_numpy, to_torch

INF = float("inf")
# torch.cholesky(upper=) and torch.qr(some=) are deprecated in PyTorch, still in use
pytestmark = pytest.mark.filterwarnings(
    "ignore:torch.(cholesky|qr|triangular_solve|lu|lu_solve) is deprecated")


class _Ours:
    """autodiff with the torch.* aliases of this family (TOP_LEVEL), written like torch."""
    linalg = ad.linalg

    def __getattr__(self, name):
        return la.TOP_LEVEL[name] if name in la.TOP_LEVEL else getattr(ad, name)


OURS = _Ours()


def r(*shape, seed=0):
    return np.random.default_rng(seed + 7 * len(shape) + sum(shape)).standard_normal(shape)


def well(*shape, seed=0):
    """Square matrices far from singular: r + 3 I."""
    return r(*shape, seed=seed) + 3 * np.eye(shape[-1])


def spd(*shape, seed=0):
    a = r(*shape, seed=seed)
    return a @ np.swapaxes(a, -1, -2) + np.eye(shape[-1])


def sym(*shape, seed=0):
    a = r(*shape, seed=seed)
    return a + np.swapaxes(a, -1, -2)


def svd_inv(L, U, S, Vh):
    """A gauge-invariant function of an SVD (sign flips of paired singular vectors)."""
    k = S.shape[-1]
    U, Vh = U[..., :, :k], Vh[..., :k, :]
    return (U * S[..., None, :]) @ Vh + (U ** 2).sum(-1, keepdim=True) * 0.5 + \
        (Vh ** 2).sum(-2, keepdim=True) * S.sum(-1)[..., None, None]


def run(fn, *arrays, **tol):
    """fn(lib, *tensors) against torch and autodiff: values, dtypes and first-order gradients."""
    import torch
    return compare_with_torch(lambda *xs: fn(OURS, *xs), lambda *xs: fn(torch, *xs), *arrays,
                              **(tol or {"tol": 1e-9}))


# (id, fn(lib, *tensors), arrays)
CASES = [
    # determinants and inverses
    ("det", lambda L, a: L.linalg.det(a), [r(3, 3)]),
    ("det batch", lambda L, a: L.linalg.det(a), [r(2, 4, 4)]),
    ("det 1x1", lambda L, a: L.det(a), [r(1, 1)]),
    ("det empty matrix", lambda L, a: L.linalg.det(a), [r(0, 0)]),
    ("det empty batch", lambda L, a: L.linalg.det(a), [r(0, 2, 2)]),
    ("det method", lambda L, a: a.det(), [r(2, 2, 2)]),
    ("slogdet", lambda L, a: L.linalg.slogdet(a).logabsdet, [r(3, 3)]),
    ("slogdet sign", lambda L, a: L.slogdet(a)[0] * L.slogdet(a)[1], [r(2, 3, 3)]),
    ("logdet", lambda L, a: L.logdet(a), [spd(2, 3, 3)]),
    ("logdet negative det: nan", lambda L, a: a.logdet(), [np.diag([-1.0, 2.0])]),
    ("inv", lambda L, a: L.linalg.inv(a), [well(3, 3)]),
    ("inv batch", lambda L, a: L.inverse(a), [well(2, 2, 3, 3)]),
    ("inv method", lambda L, a: a.inverse(), [well(1, 1)]),
    ("inv empty", lambda L, a: L.linalg.inv(a), [r(2, 0, 0)]),
    ("solve", lambda L, a, b: L.linalg.solve(a, b), [well(3, 3), r(3, 2)]),
    ("solve vector", lambda L, a, b: L.linalg.solve(a, b), [well(3, 3), r(3)]),
    ("solve batch of vectors", lambda L, a, b: L.linalg.solve(a, b), [well(2, 3, 3), r(2, 3)]),
    ("solve broadcast A", lambda L, a, b: L.linalg.solve(a, b), [well(3, 3), r(2, 3, 2)]),
    ("solve broadcast B", lambda L, a, b: L.linalg.solve(a, b), [well(2, 1, 3, 3), r(3, 3, 1)]),
    ("solve left=False", lambda L, a, b: L.linalg.solve(a, b, left=False),
     [well(2, 3, 3), r(2, 4, 3)]),
    # factorizations
    ("cholesky", lambda L, a: L.linalg.cholesky(a), [spd(3, 3)]),
    ("cholesky upper batch", lambda L, a: L.linalg.cholesky(a, upper=True), [spd(2, 3, 3)]),
    ("cholesky reads the lower triangle", lambda L, a: L.linalg.cholesky(a),
     [spd(3, 3) + np.triu(r(3, 3), 1)]),
    ("torch.cholesky upper", lambda L, a: L.cholesky(a, upper=True), [spd(3, 3)]),
    ("cholesky method", lambda L, a: a.cholesky(), [spd(2, 2)]),
    ("qr tall", lambda L, a: (lambda q, r: q @ r.abs() + q)(*L.linalg.qr(a)), [r(4, 3)]),
    ("qr wide", lambda L, a: (lambda q, r: q.T @ (r * 2) + r.abs())(*L.linalg.qr(a)),
     [r(3, 5)]),
    ("qr square batch", lambda L, a: (lambda q, r: q * r)(*L.linalg.qr(a)), [r(2, 3, 3)]),
    ("qr complete wide", lambda L, a: (lambda q, r: q.sum() + r)(*L.linalg.qr(a, "complete")),
     [r(2, 4)]),
    ("qr R only", lambda L, a: L.linalg.qr(a, mode="reduced").R, [r(4, 2)]),
    ("torch.qr", lambda L, a: (lambda q, r: q @ r.abs())(*L.qr(a)), [r(3, 2)]),
    ("qr method some=False", lambda L, a: a.qr(some=False)[0], [r(2, 3)]),
    ("svd tall", lambda L, a: svd_inv(L, *L.linalg.svd(a, full_matrices=False)), [r(4, 3)]),
    ("svd wide batch", lambda L, a: svd_inv(L, *L.linalg.svd(a, full_matrices=False)),
     [r(2, 2, 4)]),
    ("svd square", lambda L, a: svd_inv(L, *L.linalg.svd(a)), [r(3, 3)]),
    ("svd full_matrices tall", lambda L, a: svd_inv(L, *L.linalg.svd(a)), [r(4, 2)]),
    ("svd full_matrices wide", lambda L, a: svd_inv(L, *L.linalg.svd(a)), [r(2, 4)]),
    ("svd S only", lambda L, a: L.linalg.svd(a)[1], [r(3, 2)]),
    ("torch.svd V", lambda L, a: (lambda u, s, v: svd_inv(L, u, s, v.mT))(*L.svd(a)),
     [r(4, 3)]),
    ("svd method", lambda L, a: a.svd()[1], [r(3, 4)]),
    ("svdvals", lambda L, a: L.linalg.svdvals(a), [r(2, 3, 5)]),
    ("svd empty", lambda L, a: L.linalg.svd(a, full_matrices=False)[1], [r(0, 3)]),
    ("eigh values", lambda L, a: L.linalg.eigh(a).eigenvalues, [sym(3, 3)]),
    ("eigh vectors", lambda L, a: (lambda w, v: v ** 2 * w[..., None, :])(*L.linalg.eigh(a)),
     [sym(2, 3, 3)]),
    ("eigh reads one triangle", lambda L, a: (lambda w, v: v.abs() + w)(*L.linalg.eigh(a)),
     [r(3, 3)]),
    ("eigh UPLO=U", lambda L, a: (lambda w, v: v.abs() + w)(*L.linalg.eigh(a, UPLO="U")),
     [r(3, 3)]),
    ("eigvalsh", lambda L, a: L.linalg.eigvalsh(a, "U"), [r(2, 4, 4)]),
    ("eigh empty", lambda L, a: L.linalg.eigh(a)[0], [r(2, 0, 0)]),
    # pseudo-inverse and least squares
    ("pinv tall", lambda L, a: L.linalg.pinv(a), [r(4, 3)]),
    ("pinv wide batch", lambda L, a: L.linalg.pinv(a), [r(2, 2, 3)]),
    ("pinv hermitian", lambda L, a: L.linalg.pinv(a, hermitian=True), [sym(3, 3)]),
    ("pinv rank-deficient", lambda L, a: L.linalg.pinv(a @ a.mT[:2]), [r(3, 2)]),
    ("pinv atol cuts", lambda L, a: L.linalg.pinv(a, atol=1.0), [np.diag([3.0, 0.5]) + 0.1]),
    ("pinv rtol cuts", lambda L, a: L.linalg.pinv(a, rtol=0.5), [np.diag([3.0, 1.0]) + 0.1]),
    ("pinverse", lambda L, a: L.pinverse(a), [r(3, 2)]),
    ("pinverse method rcond", lambda L, a: a.pinverse(rcond=0.5), [np.diag([3.0, 1.0, 2.0])]),
    ("lstsq", lambda L, a, b: L.linalg.lstsq(a, b).solution, [r(5, 3), r(5, 2)]),
    ("lstsq vector", lambda L, a, b: L.linalg.lstsq(a, b)[0], [r(4, 2), r(4)]),
    ("lstsq square", lambda L, a, b: L.linalg.lstsq(a, b)[0], [well(3, 3), r(3, 1)]),
    ("lstsq batch broadcast", lambda L, a, b: L.linalg.lstsq(a, b)[0], [r(2, 4, 2), r(1, 4, 3)]),
    # powers and exponentials
    *[(f"matrix_power {n}", lambda L, a, n=n: L.linalg.matrix_power(a, n), [well(2, 3, 3)])
      for n in (0, 1, 2, 3, 6, -1, -3)],
    ("matrix_power method", lambda L, a: a.matrix_power(2), [r(3, 3)]),
    ("matrix_exp", lambda L, a: L.linalg.matrix_exp(a), [r(3, 3)]),
    ("matrix_exp large norm batch", lambda L, a: L.matrix_exp(a * 4), [r(2, 3, 3)]),
    ("matrix_exp 1x1", lambda L, a: a.matrix_exp(), [r(1, 1)]),
    ("matrix_exp empty", lambda L, a: L.linalg.matrix_exp(a), [r(0, 0)]),
    # norms
    *[(f"vector_norm {o}", lambda L, x, o=o: L.linalg.vector_norm(x, o), [r(2, 3)])
      for o in (2, 1, 3, 0.5, -1, INF, -INF, 0)],
    ("vector_norm dims keepdim", lambda L, x: L.linalg.vector_norm(x, 3, (0, 2), True),
     [r(2, 3, 2)]),
    ("vector_norm dim=-1", lambda L, x: L.linalg.vector_norm(x, dim=-1), [r(2, 3)]),
    ("vector_norm 0-d", lambda L, x: L.linalg.vector_norm(x), [r()]),
    ("vector_norm empty", lambda L, x: L.linalg.vector_norm(x), [r(0, 3)]),
    ("vector_norm at zero", lambda L, x: L.linalg.vector_norm(x * 0), [r(3)]),
    ("vector_norm p=1 with zeros", lambda L, x: L.linalg.vector_norm(x, 1), [np.array([0, 1.5])]),
    ("vector_norm inf ties", lambda L, x: L.linalg.vector_norm(x, INF),
     [np.array([2.0, -2.0, 1.0])]),
    *[(f"matrix_norm {o}", lambda L, x, o=o: L.linalg.matrix_norm(x, o), [r(2, 3, 4)])
      for o in ("fro", "nuc", 2, -2, 1, -1, INF, -INF)],
    *[(f"matrix_norm {o} dim keepdim", lambda L, x, o=o: L.linalg.matrix_norm(
        x, o, dim=(2, 0), keepdim=True), [r(3, 2, 4)]) for o in ("fro", "nuc", 2, 1, -INF)],
    ("norm default", lambda L, x: L.linalg.norm(x), [r(2, 3, 2)]),
    ("norm vector ord", lambda L, x: L.linalg.norm(x, 3), [r(4)]),
    ("norm matrix ord", lambda L, x: L.linalg.norm(x, "nuc"), [r(3, 2)]),
    ("norm matrix inf", lambda L, x: L.linalg.norm(x, INF), [r(3, 2)]),
    ("norm dim", lambda L, x: L.linalg.norm(x, 1, dim=1, keepdim=True), [r(3, 2)]),
    ("norm 2-tuple dim", lambda L, x: L.linalg.norm(x, dim=(0, 1)), [r(3, 2, 2)]),
    # products
    ("cross", lambda L, a, b: L.linalg.cross(a, b), [r(2, 3), r(2, 3)]),
    ("cross broadcast", lambda L, a, b: L.linalg.cross(a, b), [r(4, 1, 3), r(1, 2, 3)]),
    ("cross dim", lambda L, a, b: L.linalg.cross(a, b, dim=0), [r(3, 2), r(3, 2)]),
    ("multi_dot", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), [r(2, 3), r(3, 4), r(4, 2)]),
    ("multi_dot vectors at the ends", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]),
     [r(3), r(3, 4), r(4)]),
    ("multi_dot two", lambda L, a, b: L.linalg.multi_dot((a, b)), [r(2, 3), r(3)]),
    # the rest of torch.linalg
    *[(f"solve_triangular upper={u} left={lf} unit={un}", lambda L, a, b, u=u, lf=lf, un=un:
       L.linalg.solve_triangular(a, b, upper=u, left=lf, unitriangular=un),
       [well(3, 3), r(2, 3, 3)]) for u in (True, False) for lf in (True, False)
      for un in (True, False)],
    ("inv_ex", lambda L, a: L.linalg.inv_ex(a).inverse, [well(2, 3, 3)]),
    ("cholesky_ex", lambda L, a: L.linalg.cholesky_ex(a, upper=True).L, [spd(3, 3)]),
    *[(f"cond {p}", lambda L, a, p=p: L.linalg.cond(a, p), [r(2, 3, 3)]) for p in (None, 2, -2)],
    ("cond tall", lambda L, a: L.linalg.cond(a), [r(4, 3)]),
    ("tensorinv", lambda L, a: L.linalg.tensorinv(a), [r(4, 6, 8, 3)]),
    ("tensorinv ind=1", lambda L, a: L.linalg.tensorinv(a, ind=1), [r(6, 2, 3)]),
    ("tensorsolve", lambda L, a, b: L.linalg.tensorsolve(a, b), [r(2, 3, 6), r(2, 3)]),
    ("tensorsolve dims", lambda L, a, b: L.linalg.tensorsolve(a, b, dims=(0,)),
     [r(6, 2, 3), r(2, 3)]),
    ("vander", lambda L, x: L.linalg.vander(x), [r(2, 3)]),
    ("vander N, zeros", lambda L, x: L.linalg.vander(x, N=5), [np.array([0.0, 1.5, -2.0])]),
    ("vecdot", lambda L, x, y: L.linalg.vecdot(x, y), [r(2, 3), r(3)]),
    ("vecdot dim", lambda L, x, y: L.linalg.vecdot(x, y, dim=0), [r(2, 3), r(2, 1)]),
    ("cholesky_inverse", lambda L, a: L.cholesky_inverse(L.linalg.cholesky(a)), [spd(3, 3)]),
    ("cholesky_inverse upper", lambda L, a: L.cholesky_inverse(a.triu(), upper=True),
     [well(3, 3)]),
    ("cholesky_solve", lambda L, b, a: L.cholesky_solve(b, a.tril()), [r(2, 3, 2), well(3, 3)]),
    ("cholesky_solve method upper", lambda L, b, a: b.cholesky_solve(a.triu(), upper=True),
     [r(3, 1), well(3, 3)]),
    ("triangular_solve", lambda L, b, a: L.triangular_solve(b, a).solution,
     [r(3, 2), well(3, 3)]),
    *[(f"triangular_solve upper={u} transpose={t}", lambda L, b, a, u=u, t=t:
       L.triangular_solve(b, a, upper=u, transpose=t, unitriangular=not t)[0] +
       b.triangular_solve(a, upper=u)[1].sum(), [r(2, 3, 2), well(3, 3)])
      for u in (True, False) for t in (True, False)],
    ("linalg.matmul", lambda L, x, y: L.linalg.matmul(x, y), [r(2, 3), r(3)]),
    ("linalg.diagonal", lambda L, x: L.linalg.diagonal(x, offset=1, dim1=0, dim2=2),
     [r(3, 2, 4)]),
]


@pytest.mark.parametrize("fn, arrays", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_values_and_gradients(torch, fn, arrays):
    run(fn, *arrays)


@pytest.mark.parametrize("fn, arrays", [
    (lambda L, a: L.linalg.inv(a), [well(3, 3)]),
    (lambda L, a: L.linalg.det(a), [r(3, 3)]),
    (lambda L, a: L.linalg.cholesky(a), [spd(3, 3)]),
    (lambda L, a: L.linalg.qr(a)[0], [r(3, 2)]),
    (lambda L, a: L.linalg.svdvals(a), [r(2, 3)]),
    (lambda L, a: L.linalg.eigh(a)[1].abs(), [sym(3, 3)]),
    (lambda L, a: L.linalg.pinv(a), [r(3, 2)]),
    (lambda L, a: L.linalg.matrix_exp(a), [r(3, 3)]),
], ids=["inv", "det", "cholesky", "qr", "svdvals", "eigh", "pinv", "matrix_exp"])
def test_float32_keeps_its_dtype(torch, fn, arrays):
    run(fn, *[a.astype(np.float32) for a in arrays], tol=2e-4)


# second order: d/dx of <grad_x <f(x), w>, v> against torch
SECOND = [
    ("det", lambda L, a: L.linalg.det(a), [r(3, 3)]),
    ("slogdet", lambda L, a: L.linalg.slogdet(a)[1], [r(3, 3)]),
    ("inv", lambda L, a: L.linalg.inv(a), [well(2, 3, 3)]),
    ("solve", lambda L, a, b: L.linalg.solve(a, b), [well(3, 3), r(3, 2)]),
    ("cholesky", lambda L, a: L.linalg.cholesky(a), [spd(3, 3)]),
    ("qr", lambda L, a: (lambda q, r: q @ r.abs())(*L.linalg.qr(a)), [r(4, 3)]),
    ("qr wide", lambda L, a: (lambda q, r: q.T @ r)(*L.linalg.qr(a)), [r(2, 3)]),
    ("svd", lambda L, a: svd_inv(L, *L.linalg.svd(a, full_matrices=False)), [r(3, 2)]),
    ("eigh", lambda L, a: (lambda w, v: v ** 2 * w)(*L.linalg.eigh(a)), [sym(3, 3)]),
    ("pinv", lambda L, a: L.linalg.pinv(a), [r(2, 3)]),
    ("matrix_exp", lambda L, a: L.linalg.matrix_exp(a), [r(3, 3)]),
    ("matrix_power -2", lambda L, a: L.linalg.matrix_power(a, -2), [well(3, 3)]),
    ("matrix_norm nuc", lambda L, a: L.linalg.matrix_norm(a, "nuc"), [r(3, 2)]),
    ("lstsq", lambda L, a, b: L.linalg.lstsq(a, b)[0], [r(4, 2), r(4, 2)]),
    ("solve_triangular", lambda L, a, b: L.linalg.solve_triangular(a, b, upper=True),
     [well(3, 3), r(3, 2)]),
    ("vander", lambda L, x: L.linalg.vander(x, N=4), [np.array([0.0, 1.5, -2.0])]),
]


def _hvp(lib, grad, fn, arrays, make):
    xs = [make(a) for a in arrays]
    out = fn(lib, *xs)
    rng = np.random.default_rng(5)
    w = make(rng.standard_normal(tuple(out.shape)), False)
    gs = grad([(out * w).sum()], xs, create_graph=True)
    vs = [make(rng.standard_normal(a.shape), False) for a in arrays]
    total = sum((g * v).sum() for g, v in zip(gs, vs))
    return grad([total], xs)


@pytest.mark.parametrize("fn, arrays", [c[1:] for c in SECOND], ids=[c[0] for c in SECOND])
def test_second_order(torch, fn, arrays):
    ours = _hvp(OURS, ad.grad, fn, arrays, lambda a, g=True: to_ad(a, g))
    theirs = _hvp(torch, torch.autograd.grad, fn, arrays, lambda a, g=True: to_torch(a, g))
    for i, (a, t) in enumerate(zip(ours, theirs)):
        assert_close(a, t, tol=1e-8, err_msg=f"second-order gradient of input {i}")


# --- singular inputs, lstsq metadata, matrix_rank, named tuples ------------------------------

def test_singular_det_gradient_is_the_cofactor_matrix():
    # PyTorch returns 0 here (its solve-based rule loses the cofactors of a singular matrix);
    # the cofactor matrix is the derivative, and gradcheck agrees
    a = np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])
    x = ad.tensor(a, requires_grad=True)
    la.det(x).backward()
    cof = np.array([[4.0, 4, -4], [-2, -2, 2], [0, 0, 0]])
    np.testing.assert_allclose(x.grad.numpy(), cof, atol=1e-12)
    assert gradcheck(la.det, [ad.tensor(a, requires_grad=True)])


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("shapes", [((5, 3), (5, 2)), ((4, 2), (4,)), ((2, 4), (2, 3)),
                                    ((2, 5, 3), (2, 5, 1))])
def test_lstsq_outputs(torch, driver, shapes):
    a, b = r(*shapes[0]), r(*shapes[1], seed=1)
    ours = la.lstsq(ad.tensor(a), ad.tensor(b), driver=driver)
    theirs = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
    if shapes[0][-2] >= shapes[0][-1]:  # (the minimum-norm solution of a wide problem needs
        assert_close(ours.solution, theirs.solution, tol=1e-9)  # gelsd/gelss in torch)
    for name in ("residuals", "rank", "singular_values"):
        assert_close(getattr(ours, name), getattr(theirs, name), tol=1e-9, err_msg=name)


def test_lstsq_rank_deficient_residuals_are_empty(torch):
    a = np.ones((4, 2))
    ours = la.lstsq(ad.tensor(a), ad.tensor(r(4, 2)), driver="gelsd")
    theirs = torch.linalg.lstsq(torch.tensor(a), torch.tensor(r(4, 2)), driver="gelsd")
    assert_close(ours.residuals, theirs.residuals)
    assert_close(ours.rank, theirs.rank)


@pytest.mark.parametrize("kw", [{}, {"atol": 1.0}, {"rtol": 0.5}, {"hermitian": True},
                                {"atol": 0.1, "rtol": 0.4}])
@pytest.mark.parametrize("a", [np.diag([3.0, 1.0, 0.0]), r(2, 3, 3), np.ones((3, 3)),
                               np.zeros((2, 0, 0))], ids=["diag", "batch", "rank1", "empty"])
def test_matrix_rank(torch, a, kw):
    a = (a + np.swapaxes(a, -1, -2)) / 2 if kw.get("hermitian") else a
    assert_close(la.matrix_rank(ad.tensor(a), **kw), torch.linalg.matrix_rank(torch.tensor(a),
                                                                                **kw))


def test_slogdet_and_qr_r_values(torch):
    for a in (np.zeros((2, 2)), np.diag([-1.0, 2.0]), r(2, 3, 3)):
        ours, theirs = la.slogdet(ad.tensor(a)), torch.linalg.slogdet(torch.tensor(a))
        assert_close(ours.sign, theirs.sign)
        assert_close(ours.logabsdet, theirs.logabsdet)
    a = r(4, 3)
    ours, theirs = la.qr(ad.tensor(a), mode="r"), torch.linalg.qr(torch.tensor(a), mode="r")
    assert_close(ours.Q, theirs.Q)
    assert_close(ours.R, theirs.R)


def test_svd_compute_uv_false_and_norm_dtype(torch):
    a = r(3, 2)
    ours, theirs = la.TOP_LEVEL["svd"](ad.tensor(a), compute_uv=False), \
        torch.svd(torch.tensor(a), compute_uv=False)
    for x, t in zip(ours, theirs):
        assert_close(x, t)
    x = r(3).astype(np.float32)
    assert_close(la.vector_norm(ad.tensor(x), dtype=ad.float64),
                 torch.linalg.vector_norm(torch.tensor(x), dtype=torch.float64))
    assert_close(la.vector_norm(ad.tensor(x)), torch.linalg.vector_norm(torch.tensor(x)),
                 tol=1e-6)


@pytest.mark.parametrize("p", ["fro", "nuc", 1, -1, INF, -INF])
def test_cond_values(torch, p):
    # (values only: PyTorch's own gradient for these p fails, an in-place change of inv_ex's
    # output; ours is the composition norm(A) * norm(inv(A)), checked in the catalog)
    a = r(2, 3, 3)
    assert_close(la.cond(ad.tensor(a), p), torch.linalg.cond(torch.tensor(a), p), tol=1e-9)


def test_ex_variants_report_failures_in_info(torch):
    a = np.ones((2, 2, 2))
    a[1] = np.eye(2)
    ours, theirs = la.inv_ex(ad.tensor(a)), torch.linalg.inv_ex(torch.tensor(a))
    # info > 0 where PyTorch's is (PyTorch's is LAPACK's pivot index; ours is 1, and the
    # failed inverse is nan where LAPACK's partial result is left)
    assert_close(ours.info > 0, theirs.info > 0)
    assert_close(ours.inverse[1], theirs.inverse[1])
    assert np.isnan(ours.inverse[0].numpy()).all()
    ours, theirs = la.cholesky_ex(ad.tensor(-a)), torch.linalg.cholesky_ex(torch.tensor(-a))
    assert_close(ours.info > 0, theirs.info > 0)
    with pytest.raises(ad.linalg.LinAlgError):
        la.inv_ex(ad.tensor(a), check_errors=True)
    with pytest.raises(torch.linalg.LinAlgError):
        torch.linalg.inv_ex(torch.tensor(a), check_errors=True)


def test_outputs_are_named_tuples():
    a = ad.tensor(spd(3, 3))
    assert la.slogdet(a)._fields == ("sign", "logabsdet")
    assert la.qr(a)._fields == ("Q", "R")
    assert la.svd(a)._fields == ("U", "S", "Vh")
    assert la.TOP_LEVEL["svd"](a)._fields == ("U", "S", "V")
    assert la.eigh(a)._fields == ("eigenvalues", "eigenvectors")
    assert la.lstsq(a, a)._fields == ("solution", "residuals", "rank", "singular_values")
    assert issubclass(ad.linalg.LinAlgError, RuntimeError)


# --- errors: PyTorch's exception class ---------------------------------------------------------

ERRORS = [
    ("int input", lambda L, T: L.linalg.det(T([[1, 2], [3, 4]]))),
    ("int vector_norm", lambda L, T: L.linalg.vector_norm(T([1, 2]))),
    ("int matrix_norm", lambda L, T: L.linalg.matrix_norm(T([[1, 2], [3, 4]]))),
    ("not square", lambda L, T: L.linalg.inv(T(np.ones((2, 3))))),
    ("not square eigh", lambda L, T: L.linalg.eigh(T(np.ones((2, 3))))),
    ("not square det", lambda L, T: L.det(T(np.ones((3, 2))))),
    ("1-d input", lambda L, T: L.linalg.inv(T(np.ones(3)))),
    ("1-d svd", lambda L, T: L.linalg.svd(T(np.ones(3)))),
    ("singular inv", lambda L, T: L.linalg.inv(T(np.ones((2, 2))))),
    ("singular solve", lambda L, T: L.linalg.solve(T(np.ones((2, 2))), T(np.ones(2)))),
    ("singular matrix_power -1", lambda L, T: L.linalg.matrix_power(T(np.zeros((2, 2))), -1)),
    ("not positive-definite", lambda L, T: L.linalg.cholesky(T(-np.eye(2)))),
    ("solve shapes", lambda L, T: L.linalg.solve(T(np.eye(2)), T(np.ones(3)))),
    ("solve dtypes", lambda L, T: L.linalg.solve(T(np.eye(2)), T(np.ones(2, np.float32)))),
    ("solve batch", lambda L, T: L.linalg.solve(T(np.ones((2, 2, 2)) + np.eye(2)),
                                                T(np.ones((3, 2, 1))))),
    ("cross length", lambda L, T: L.linalg.cross(T(np.ones(2)), T(np.ones(2)))),
    ("cross ndim", lambda L, T: L.linalg.cross(T(np.ones(3)), T(np.ones((2, 3))))),
    ("multi_dot one", lambda L, T: L.linalg.multi_dot([T(np.ones(2))])),
    ("multi_dot shapes", lambda L, T: L.linalg.multi_dot([T(np.ones((2, 2))),
                                                          T(np.ones((3, 3)))])),
    ("multi_dot 3-d", lambda L, T: L.linalg.multi_dot([T(np.ones((2, 2))),
                                                       T(np.ones((2, 2, 2)))])),
    ("matrix_power float n", lambda L, T: L.linalg.matrix_power(T(np.eye(2)), 1.5)),
    ("qr mode", lambda L, T: L.linalg.qr(T(np.eye(2)), mode="x")),
    ("eigh UPLO", lambda L, T: L.linalg.eigh(T(np.eye(2)), UPLO="X")),
    ("matrix_norm ord", lambda L, T: L.linalg.matrix_norm(T(np.eye(2)), ord=3)),
    ("norm 3-d with ord", lambda L, T: L.linalg.norm(T(np.ones((2, 2, 2))), ord=2)),
    ("vector_norm 'fro'", lambda L, T: L.linalg.vector_norm(T(np.ones(2)), ord="fro")),
    ("vector_norm empty inf", lambda L, T: L.linalg.vector_norm(T(np.ones(0)), ord=INF)),
    ("vector_norm empty -1", lambda L, T: L.linalg.vector_norm(T(np.ones(0)), ord=-1)),
    ("cholesky_solve 1-d B", lambda L, T: L.cholesky_solve(T(np.ones(2)), T(np.eye(2)))),
    ("cholesky_solve batch of vectors", lambda L, T: L.cholesky_solve(T(np.ones((2, 3))),
                                                                      T(np.ones((2, 3, 3))))),
    ("solve_triangular 1-d B", lambda L, T: L.linalg.solve_triangular(T(np.eye(2)),
                                                                    T(np.ones(2)), upper=True)),
    ("tensorinv shapes", lambda L, T: L.linalg.tensorinv(T(np.ones((2, 3, 4))), ind=1)),
    ("tensorsolve shapes", lambda L, T: L.linalg.tensorsolve(T(np.ones((2, 3, 4))),
                                                             T(np.ones((2, 3))))),
    ("vander 0-d", lambda L, T: L.linalg.vander(T(np.array(1.0)))),
    ("lstsq B dims", lambda L, T: L.linalg.lstsq(T(np.ones((3, 2))), T(np.ones((2, 3, 2))))),
    ("lstsq rows", lambda L, T: L.linalg.lstsq(T(np.ones((3, 2))), T(np.ones((2, 2))))),
]


@pytest.mark.parametrize("fn", [c[1] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_match_torch(torch, fn):
    with pytest.raises(Exception) as theirs:
        fn(torch, lambda a: torch.tensor(np.asarray(a)))
    with pytest.raises(theirs.type.__mro__[1] if theirs.type.__name__ == "_LinAlgError"
                       else theirs.type) as ours:
        fn(OURS, lambda a: ad.tensor(np.asarray(a)))
    if theirs.type.__name__ == "_LinAlgError":
        assert ours.type is ad.linalg.LinAlgError
    assert str(ours.value).startswith(("linalg.", "cholesky_solve:"))  # (the message names the op)


def test_complete_qr_of_a_tall_matrix_is_not_differentiable(torch):
    for lib, make in ((torch, lambda a: to_torch(a, True)), (OURS, lambda a: to_ad(a, True))):
        x = make(r(3, 2))
        q, _ = lib.linalg.qr(x, mode="complete")
        with pytest.raises(RuntimeError, match="complete"):
            q.sum().backward()


# --- LU, LDL, QR in LAPACK's layout, Householder products (wave 2) ------------------------------

def lu_of(L, a):
    return L.linalg.lu_factor(a)


def tied(*shape):
    """A matrix whose first column ties in |value| (partial pivoting keeps the first row)."""
    a = r(*shape)
    a[..., :, 0] = np.where(np.arange(shape[-2]) % 2, -1.5, 1.5)
    return a


LU_CASES = [
    *[(f"lu_factor {s}", lambda L, a: L.linalg.lu_factor(a).LU, [r(*s)])
      for s in ((3, 3), (4, 2), (2, 4), (2, 3, 3), (2, 1, 3, 2))],
    ("lu_factor ties", lambda L, a: L.linalg.lu_factor(a).LU, [tied(3, 3)]),
    ("lu_factor 1x1", lambda L, a: L.linalg.lu_factor(a).LU, [r(1, 1)]),
    ("lu_factor empty", lambda L, a: L.linalg.lu_factor(a).LU, [r(2, 0, 3)]),
    ("lu_factor_ex", lambda L, a: L.linalg.lu_factor_ex(a).LU, [r(2, 3, 2)]),
    *[(f"lu {f} {s}", lambda L, a, f=f: getattr(L.linalg.lu(a), f), [r(*s)])
      for f in ("L", "U") for s in ((3, 3), (4, 2), (2, 4), (2, 3, 3))],
    *[(f"lu P {s}", lambda L, a: L.linalg.lu(a).P * a.sum(), [r(*s)])  # (P: no gradient)
      for s in ((3, 3), (4, 2), (2, 4), (2, 3, 3))],
    ("lu L and U together", lambda L, a: (lambda p, lo, up: p @ lo @ up + lo.sum())(
        *L.linalg.lu(a)), [r(3, 3)]),
    *[(f"lu_solve left={lf} adjoint={ad_}", lambda L, a, b, lf=lf, ad_=ad_: L.linalg.lu_solve(
        *lu_of(L, a), b, left=lf, adjoint=ad_), [r(3, 3), r(3, 3, seed=1)])
      for lf in (True, False) for ad_ in (True, False)],
    ("lu_solve batch broadcast", lambda L, a, b: L.linalg.lu_solve(*lu_of(L, a), b),
     [r(2, 3, 3), r(3, 2)]),
    ("lu_solve broadcast B batch", lambda L, a, b: L.linalg.lu_solve(*lu_of(L, a), b),
     [r(3, 3), r(2, 3, 1)]),
    ("torch.lu_solve", lambda L, a, b: L.lu_solve(b, *lu_of(L, a)), [r(3, 3), r(3, 2)]),
    ("lu_solve method", lambda L, a, b: b.lu_solve(*lu_of(L, a)), [r(2, 2, 2), r(2, 2, 1)]),
    *[(f"lu_unpack {f} {s}", lambda L, a, i=i: L.lu_unpack(*lu_of(L, a))[i] * (
        a.sum() if i == 0 else 1), [r(*s)])
      for i, f in enumerate("PLU") for s in ((3, 3), (4, 2), (2, 4), (2, 3, 3))],
    ("lu_unpack no data", lambda L, a: L.lu_unpack(*lu_of(L, a), unpack_data=False)[0] *
     a.sum(), [r(3, 3)]),
    ("lu_unpack no pivots", lambda L, a: L.lu_unpack(*lu_of(L, a), unpack_pivots=False)[1],
     [r(3, 3)]),
    ("torch.lu", lambda L, a: L.lu(a)[0], [r(2, 3, 3)]),
    ("torch.lu get_infos", lambda L, a: L.lu(a, get_infos=True)[0], [r(3, 2)]),
    ("lu method", lambda L, a: a.lu()[0], [r(3, 3)]),
    ("solve_ex", lambda L, a, b: L.linalg.solve_ex(a, b).result, [r(3, 3), r(3, 2)]),
    ("solve_ex vector", lambda L, a, b: L.linalg.solve_ex(a, b)[0], [r(3, 3), r(3)]),
    ("solve_ex left=False batch", lambda L, a, b: L.linalg.solve_ex(a, b, left=False).result,
     [r(2, 3, 3), r(2, 4, 3)]),
    ("solve_ex broadcast", lambda L, a, b: L.linalg.solve_ex(a, b).result,
     [r(3, 3), r(2, 3, 1)]),
    *[(f"householder_product {s}", lambda L, a, t: L.linalg.householder_product(a, t),
       [r(*s), r(*t)]) for s, t in (((4, 3), (3,)), ((3, 3), (2,)), ((2, 3, 2), (2, 2)),
                                    ((3, 2), (0,)), ((1, 1), (1,)))],
    ("orgqr", lambda L, a, t: L.orgqr(a, t), [r(4, 2), r(2)]),
    ("orgqr method", lambda L, a, t: a.orgqr(t), [r(2, 3, 3), r(2, 3)]),
    *[(f"ormqr left={lf} transpose={tr}", lambda L, a, t, c, lf=lf, tr=tr: L.ormqr(
        a, t, c if lf else c.mT, lf, tr), [r(4, 3), r(3), r(4, 2)])
      for lf in (True, False) for tr in (True, False)],
    ("ormqr wide", lambda L, a, t, c: L.ormqr(a, t, c), [r(2, 3), r(2), r(2, 2)]),
    ("ormqr batch method", lambda L, a, t, c: a.ormqr(t, c, transpose=True),
     [r(2, 3, 3), r(2, 3), r(2, 3, 1)]),
]


@pytest.mark.parametrize("fn, arrays", [c[1:] for c in LU_CASES], ids=[c[0] for c in LU_CASES])
def test_lu_family_values_and_gradients(torch, fn, arrays):
    run(fn, *arrays)


@pytest.mark.parametrize("fn, arrays", [
    (lambda L, a: L.linalg.lu_factor(a).LU, [r(3, 2)]),
    (lambda L, a: L.linalg.lu(a).L, [r(2, 3, 3)]),
    (lambda L, a, b: L.linalg.lu_solve(*lu_of(L, a), b, adjoint=True), [r(3, 3), r(3, 2)]),
    (lambda L, a, t: L.linalg.householder_product(a, t), [r(3, 2), r(2)]),
], ids=["lu_factor", "lu", "lu_solve", "householder_product"])
def test_lu_family_float32(torch, fn, arrays):
    run(fn, *[a.astype(np.float32) for a in arrays], tol=2e-4)


SECOND_LU = [
    ("lu_factor square", lambda L, a: L.linalg.lu_factor(a).LU, [r(3, 3)]),
    ("lu_factor tall", lambda L, a: L.linalg.lu_factor(a).LU, [r(4, 2)]),
    ("lu_factor wide batch", lambda L, a: L.linalg.lu_factor(a).LU, [r(2, 2, 3)]),
    ("lu", lambda L, a: (lambda p, lo, up: lo.sum(-1, keepdim=True) * up)(*L.linalg.lu(a)),
     [r(3, 3)]),
    ("lu_solve", lambda L, a, b: L.linalg.lu_solve(*lu_of(L, a), b, left=False),
     [r(3, 3), r(2, 3)]),
    ("householder_product", lambda L, a, t: L.linalg.householder_product(a, t),
     [r(3, 2), r(2)]),
    ("ormqr", lambda L, a, t, c: L.ormqr(a, t, c, True, True), [r(3, 2), r(2), r(3, 2)]),
    ("solve_ex", lambda L, a, b: L.linalg.solve_ex(a, b).result, [r(3, 3), r(3, 1)]),
]


@pytest.mark.parametrize("fn, arrays", [c[1:] for c in SECOND_LU], ids=[c[0] for c in SECOND_LU])
def test_lu_family_second_order(torch, fn, arrays):
    test_second_order(torch, fn, arrays)


def test_lu_pivots_and_info_match_lapack(torch):
    a = np.array([[[0.0, 0], [0, 0]], [[1, 2], [2, 4]], [[1, 0], [0, 1]], [[0, 1], [1, 0]]])
    ours, theirs = la.lu_factor_ex(ad.tensor(a)), torch.linalg.lu_factor_ex(torch.tensor(a))
    assert ours._fields == ("LU", "pivots", "info")
    for name in ours._fields:
        assert_close(getattr(ours, name), getattr(theirs, name), err_msg=name)
    for a in (r(3, 4), tied(4, 3), r(2, 0, 3), r(0, 0)):  # pivots: int32, 1-based, like torch
        assert_close(la.lu_factor(ad.tensor(a)).pivots, torch.linalg.lu_factor(
            torch.tensor(a)).pivots)
    with pytest.raises(RuntimeError, match="U\\[1,1\\] is zero"):
        la.lu_factor(ad.tensor(np.ones((2, 2))))
    with pytest.warns(UserWarning, match="deprecated"):  # (no error for a zero pivot, as torch)
        out = ad.lu(ad.tensor(np.zeros((2, 2))), get_infos=True)
    assert out._fields == ("LU", "pivots", "info") and out.info.item() == 1
    with pytest.warns(UserWarning, match="deprecated"):
        assert type(ad.lu(ad.tensor(np.eye(2)))) is tuple


def test_solve_ex_info_and_singular_results(torch):
    a = np.array([[[1.0, 0], [0, 0]], [[2, 1], [1, 3]]])
    b = r(3, 1, 2, 1)
    ours = la.solve_ex(ad.tensor(a), ad.tensor(b))
    theirs = torch.linalg.solve_ex(torch.tensor(a), torch.tensor(b))
    assert ours._fields == ("result", "info")
    assert_close(ours.info, theirs.info)  # (A's batch shape, not the broadcast one)
    assert_close(ours.result[:, 1], theirs.result[:, 1])
    assert np.isnan(ours.result[:, 0].numpy()).all()  # (torch leaves LAPACK's inf/nan there)
    # the gradient of the nonsingular problems is untouched; none flows to the singular one
    x = ad.tensor(a, requires_grad=True)
    la.solve_ex(x, ad.tensor(b)).result[:, 1].sum().backward()
    t = torch.tensor(a, requires_grad=True)
    torch.linalg.solve_ex(t, torch.tensor(b)).result[:, 1].sum().backward()
    assert_close(x.grad[1], t.grad[1])
    assert not x.grad[0].numpy().any()
    with pytest.raises(ad.linalg.LinAlgError):
        la.solve_ex(ad.tensor(a), ad.tensor(b), check_errors=True)


@pytest.mark.parametrize("a", [sym(3, 3), np.array([[0.0, 1, 2], [1, 0, 3], [2, 3, 0]]),
                               sym(2, 4, 4), np.array([[0.0, 1], [1, 0]]), np.zeros((2, 0, 0)),
                               np.array([[1.0, 2], [2, 4]])],
                         ids=["sym", "2x2 pivots", "batch", "swap", "empty", "singular"])
def test_ldl_factor_and_solve(torch, a):
    ours, theirs = la.ldl_factor_ex(ad.tensor(a)), torch.linalg.ldl_factor_ex(torch.tensor(a))
    assert ours._fields == ("LD", "pivots", "info")
    for name in ours._fields:
        assert_close(getattr(ours, name), getattr(theirs, name), err_msg=name)
    assert la.ldl_factor(ad.tensor(a))._fields == ("LD", "pivots")
    if a.shape[-1] and not theirs.info.any():
        b = r(*a.shape[:-1], 2)
        assert_close(la.ldl_solve(*la.ldl_factor(ad.tensor(a)), ad.tensor(b)),
                     torch.linalg.ldl_solve(*torch.linalg.ldl_factor(torch.tensor(a)),
                                            torch.tensor(b)))


def test_no_derivative_ops_raise_at_backward_as_torch(torch):
    a = sym(3, 3)
    for fn in (lambda L, x: L.linalg.ldl_factor(x)[0],
               lambda L, x: L.linalg.ldl_solve(*L.linalg.ldl_factor(x.detach()), x),
               lambda L, x: L.geqrf(x)[0], lambda L, x: L.geqrf(x)[1], lambda L, x: x.geqrf()[0]):
        t, x = to_torch(a, True), to_ad(a, True)
        theirs, ours = fn(torch, t), fn(OURS, x)
        assert ours.requires_grad == theirs.requires_grad
        with pytest.raises(Exception) as e:
            theirs.sum().backward()
        with pytest.raises(e.type):
            ours.sum().backward()


@pytest.mark.parametrize("shape", [(3, 2), (3, 3), (2, 3), (2, 4, 3), (0, 2)])
def test_geqrf_values(torch, shape):
    a = r(*shape)
    ours, theirs = ad.geqrf(ad.tensor(a)), torch.geqrf(torch.tensor(a))
    assert ours._fields == ("a", "tau")
    assert_close(ours.a, theirs.a)
    assert_close(ours.tau, theirs.tau)


def test_outputs_of_decompositions_are_not_views(torch):
    # PyTorch's Q, R, U, S, Vh, eigenvalues, eigenvectors, L, U are tensors of their own
    a = r(3, 3)
    x = ad.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    for fn in (lambda L, m: L.linalg.svd(m), lambda L, m: L.linalg.qr(m),
               lambda L, m: L.linalg.eigh(m @ m.mT), lambda L, m: L.svd(m),
               lambda L, m: L.linalg.lu(m), lambda L, m: L.linalg.lu_factor(m)):
        for o, p in zip(fn(OURS, x), fn(torch, t)):
            assert o._is_view() == p._is_view(), fn
            assert (o._base is None) == (p._base is None)
    u = la.svd(x)[0]
    u[0, 0] = 5.0  # (an in-place change of one output leaves the others alone)
    assert la.svd(x)[1].shape == (3,)


# --- randomized and iterative methods: compared as subspaces, not signs ----------------------

def _projector(u):
    u = to_numpy(u)
    return u @ np.swapaxes(u, -1, -2)


@pytest.mark.parametrize("fn, a", [
    (lambda L, x: L.svd_lowrank(x, q=3), r(5, 4) @ np.diag([4.0, 3, 2, 0]) @ r(4, 4, seed=1)),
    (lambda L, x: L.svd_lowrank(x, q=3, niter=0), r(2, 3, 6)),
    (lambda L, x: L.svd_lowrank(x, 2, M=x[..., :1, :] * 0.5), r(2, 6)),
    (lambda L, x: L.pca_lowrank(x), r(7, 4)),
    (lambda L, x: L.pca_lowrank(x, q=3, center=False), r(3, 5)),
], ids=["rank 3", "batch wide niter=0", "M", "pca", "pca no center"])
def test_lowrank_subspaces_and_gradients(torch, fn, a):
    # (q >= rank: the random basis spans the range exactly, so both libraries agree although
    # their random matrices differ)
    x, t = to_ad(a, True), to_torch(a, True)
    (u, s, v), (tu, ts, tv) = fn(OURS, x), fn(torch, t)
    assert u.shape == tuple(tu.shape) and v.shape == tuple(tv.shape)
    assert_close(s, ts, tol=1e-9)
    np.testing.assert_allclose(_projector(u), _projector(tu), atol=1e-9)
    np.testing.assert_allclose(_projector(v), _projector(tv), atol=1e-9)
    # a gauge-invariant function: the low-rank reconstruction and the singular values
    w = np.random.default_rng(3).standard_normal(a.shape)
    ((u * s[..., None, :]) @ v.mT * ad.tensor(w)).sum().backward()
    ((tu * ts[..., None, :]) @ tv.mT * torch.tensor(w)).sum().backward()
    assert_close(x.grad, t.grad, tol=1e-8)


def test_lowrank_errors(torch):
    for lib, T in ((torch, torch.tensor), (OURS, ad.tensor)):
        with pytest.raises(ValueError, match="q"):
            lib.pca_lowrank(T(np.ones((3, 2))), q=3)
        with pytest.raises(ValueError, match="3 x the number"):
            lib.lobpcg(T(np.eye(4)), k=2)


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("k, shape", [(1, (6, 6)), (2, (9, 9))])
def test_lobpcg_eigenpairs_and_gradients(torch, largest, k, shape):
    a = r(*shape)
    x, t = to_ad(a, True), to_torch(a, True)
    e, v = ad.lobpcg(x + x.mT, k=k, largest=largest)
    te, tv = torch.lobpcg(t + t.mT, k=k, largest=largest)
    assert_close(e, te, tol=1e-6)
    np.testing.assert_allclose(np.abs(v.detach().numpy()), np.abs(tv.detach().numpy()),
                               atol=1e-6)
    w = np.random.default_rng(4).standard_normal(k)
    (e * ad.tensor(w)).sum().backward()
    (te * torch.tensor(w)).sum().backward()
    assert_close(x.grad, t.grad, tol=1e-6)


def test_lobpcg_generalized(torch):
    a, b = sym(9, 9), spd(9, 9)
    e, v = ad.lobpcg(ad.tensor(a), k=2, B=ad.tensor(b))
    te, tv = torch.lobpcg(torch.tensor(a), k=2, B=torch.tensor(b))
    assert_close(e, te, tol=1e-6)
    np.testing.assert_allclose(np.abs(v.numpy()), np.abs(tv.numpy()), atol=1e-5)


LU_ERRORS = [
    ("lu_factor int", lambda L, T: L.linalg.lu_factor(T([[1, 2], [3, 4]]))),
    ("lu_factor 1-d", lambda L, T: L.linalg.lu_factor(T(np.ones(3)))),
    ("lu_factor singular", lambda L, T: L.linalg.lu_factor(T(np.zeros((2, 2))))),
    ("lu_factor_ex check_errors", lambda L, T: L.linalg.lu_factor_ex(T(np.zeros((2, 2))),
                                                                    check_errors=True)),
    ("lu pivot=False", lambda L, T: L.linalg.lu(T(np.eye(2)), pivot=False)),
    ("lu_solve pivots dtype", lambda L, T: L.linalg.lu_solve(T(np.eye(2)), T(np.array([1, 2])),
                                                             T(np.ones((2, 1))))),
    ("lu_solve pivots shape", lambda L, T: L.linalg.lu_solve(
        T(np.eye(2)), T(np.array([1], np.int32)), T(np.ones((2, 1))))),
    ("lu_solve B rows", lambda L, T: L.linalg.lu_solve(
        T(np.eye(2)), T(np.array([1, 2], np.int32)), T(np.ones((3, 1))))),
    ("lu_solve 1-d B", lambda L, T: L.linalg.lu_solve(
        T(np.eye(2)), T(np.array([1, 2], np.int32)), T(np.ones(2)))),
    ("lu_solve not square", lambda L, T: L.linalg.lu_solve(
        T(np.ones((2, 3))), T(np.array([1, 2], np.int32)), T(np.ones((2, 1))))),
    ("lu_solve dtypes", lambda L, T: L.linalg.lu_solve(
        T(np.eye(2)), T(np.array([1, 2], np.int32)), T(np.ones((2, 1), np.float32)))),
    ("lu_unpack pivots dtype", lambda L, T: L.lu_unpack(T(np.eye(2)), T(np.array([1, 2])))),
    ("householder m < n", lambda L, T: L.linalg.householder_product(T(np.ones((2, 3))),
                                                                   T(np.ones(2)))),
    ("householder k > n", lambda L, T: L.linalg.householder_product(T(np.ones((3, 2))),
                                                                   T(np.ones(3)))),
    ("householder batch", lambda L, T: L.linalg.householder_product(T(np.ones((2, 3, 2))),
                                                                   T(np.ones((3, 2))))),
    ("householder dtypes", lambda L, T: L.linalg.householder_product(
        T(np.ones((3, 2))), T(np.ones(2, np.float32)))),
    ("ormqr other rows", lambda L, T: L.ormqr(T(np.ones((3, 2))), T(np.ones(2)),
                                              T(np.ones((2, 2))))),
    ("ormqr tau length", lambda L, T: L.ormqr(T(np.ones((3, 2))), T(np.ones(1)),
                                              T(np.ones((3, 2))))),
    ("solve_ex check_errors", lambda L, T: L.linalg.solve_ex(T(np.zeros((2, 2))), T(np.ones(2)),
                                                             check_errors=True)),
    ("ldl_factor not square", lambda L, T: L.linalg.ldl_factor(T(np.ones((2, 3))))),
    ("ldl_factor int", lambda L, T: L.linalg.ldl_factor(T(np.ones((2, 2), int)))),
    ("ldl_solve B rows", lambda L, T: L.linalg.ldl_solve(*L.linalg.ldl_factor(T(np.eye(2))),
                                                         T(np.ones((3, 1))))),
    ("geqrf 1-d", lambda L, T: L.geqrf(T(np.ones(3)))),
    ("geqrf int", lambda L, T: L.geqrf(T(np.ones((2, 2), int)))),
]


@pytest.mark.parametrize("fn", [c[1] for c in LU_ERRORS], ids=[c[0] for c in LU_ERRORS])
def test_lu_family_errors_match_torch(torch, fn):
    with pytest.raises(Exception) as theirs:
        fn(torch, lambda a: torch.tensor(np.asarray(a)))
    with pytest.raises(theirs.type.__mro__[1] if theirs.type.__name__ == "_LinAlgError"
                       else theirs.type) as ours:
        fn(OURS, lambda a: ad.tensor(np.asarray(a)))
    if theirs.type.__name__ == "_LinAlgError":
        assert ours.type is ad.linalg.LinAlgError
    assert str(ours.value).startswith(("linalg.", "lu_unpack:", "ormqr:", "geqrf:"))
