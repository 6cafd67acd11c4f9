"""PyTorch cross-checks of the products family (autodiff/ops/products.py): values, dtypes, first
and second order gradients, broadcasting, 0-d and empty operands, kinks, and exception classes."""
import warnings

import numpy as np
import pytest

import autodiff as ad
from _torch import assert_close, pair, run_both, to_ad, to_numpy, to_torch

INF = float("inf")


def r(*shape, seed=0):
    return np.random.default_rng(seed + 7 * len(shape) + sum(shape)).standard_normal(shape)


def ints(*shape):
    return np.random.default_rng(1).integers(-3, 4, size=shape)


def _quiet(fn):
    """fn with the deprecation warnings of cross(dim=None) and chain_matmul silenced."""
    def run(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args)
    return run


# (id, fn(lib, *tensors), arrays): one snippet runs against torch and autodiff
CASES = [
    # the addmm family: beta * input + alpha * product, input broadcast
    ("addmm", lambda L, i, a, b: L.addmm(i, a, b), [r(2, 4), r(2, 3), r(3, 4)]),
    ("addmm bcast row", lambda L, i, a, b: L.addmm(i, a, b), [r(4), r(2, 3), r(3, 4)]),
    ("addmm bcast col", lambda L, i, a, b: L.addmm(i, a, b), [r(2, 1), r(2, 3), r(3, 4)]),
    ("addmm 0-d input", lambda L, i, a, b: L.addmm(i, a, b), [r(), r(2, 3), r(3, 4)]),
    ("addmm beta alpha", lambda L, i, a, b: L.addmm(i, a, b, beta=0.5, alpha=-2.0),
     [r(2, 4), r(2, 3), r(3, 4)]),
    ("addmm beta=0", lambda L, i, a, b: L.addmm(i, a, b, beta=0), [r(2, 4), r(2, 3), r(3, 4)]),
    ("addmm beta=0 nan", lambda L, i, a, b: L.addmm(i, a, b, beta=0, alpha=3),
     [np.array([[np.nan, INF, -INF, 1.0]]), r(2, 3), r(3, 4)]),
    ("addmm empty k", lambda L, i, a, b: L.addmm(i, a, b), [r(2, 3), r(2, 0), r(0, 3)]),
    ("addmm empty n", lambda L, i, a, b: L.addmm(i, a, b), [r(3), r(0, 2), r(2, 3)]),
    ("addmm int", lambda L, i, a, b: L.addmm(i, a, b, beta=2, alpha=3),
     [ints(2, 2), ints(2, 3), ints(3, 2)]),
    ("Tensor.addmm", lambda L, i, a, b: i.addmm(a, b, alpha=2), [r(2, 4), r(2, 3), r(3, 4)]),
    ("addmv", lambda L, i, m, v: L.addmv(i, m, v), [r(3), r(3, 4), r(4)]),
    ("addmv 0-d input", lambda L, i, m, v: L.addmv(i, m, v, beta=2, alpha=0.5),
     [r(), r(3, 4), r(4)]),
    ("addmv beta=0", lambda L, i, m, v: L.addmv(i, m, v, beta=0),
     [np.array([np.nan, 1, INF]), r(3, 4), r(4)]),
    ("Tensor.addmv", lambda L, i, m, v: i.addmv(m, v), [r(3), r(3, 4), r(4)]),
    ("addr", lambda L, i, a, b: L.addr(i, a, b), [r(3, 2), r(3), r(2)]),
    ("addr bcast", lambda L, i, a, b: L.addr(i, a, b, beta=-1, alpha=2), [r(2), r(3), r(2)]),
    ("addr beta=0", lambda L, i, a, b: L.addr(i, a, b, beta=0), [np.full((3, 2), np.nan),
                                                                   r(3), r(2)]),
    ("addr int", lambda L, i, a, b: L.addr(i, a, b), [ints(3, 2), ints(3), ints(2)]),
    ("Tensor.addr", lambda L, i, a, b: i.addr(a, b), [r(3, 2), r(3), r(2)]),
    ("baddbmm", lambda L, i, a, b: L.baddbmm(i, a, b), [r(2, 3, 4), r(2, 3, 5), r(2, 5, 4)]),
    ("baddbmm bcast", lambda L, i, a, b: L.baddbmm(i, a, b, beta=0.5, alpha=2),
     [r(1, 3, 1), r(2, 3, 5), r(2, 5, 4)]),
    ("baddbmm bcast 2-d", lambda L, i, a, b: L.baddbmm(i, a, b), [r(3, 4), r(2, 3, 5),
                                                                  r(2, 5, 4)]),
    ("baddbmm beta=0", lambda L, i, a, b: L.baddbmm(i, a, b, beta=0),
     [np.full((2, 1, 4), np.nan), r(2, 3, 5), r(2, 5, 4)]),
    ("baddbmm empty batch", lambda L, i, a, b: L.baddbmm(i, a, b), [r(3, 4), r(0, 3, 5),
                                                                    r(0, 5, 4)]),
    ("Tensor.baddbmm", lambda L, i, a, b: i.baddbmm(a, b), [r(2, 3, 4), r(2, 3, 5), r(2, 5, 4)]),
    ("addbmm", lambda L, i, a, b: L.addbmm(i, a, b), [r(3, 4), r(2, 3, 5), r(2, 5, 4)]),
    ("addbmm bcast", lambda L, i, a, b: L.addbmm(i, a, b, beta=2, alpha=-1),
     [r(4), r(2, 3, 5), r(2, 5, 4)]),
    ("addbmm empty batch", lambda L, i, a, b: L.addbmm(i, a, b), [r(3, 4), r(0, 3, 5),
                                                                  r(0, 5, 4)]),
    ("addbmm beta=0", lambda L, i, a, b: L.addbmm(i, a, b, beta=0),
     [np.full((3, 4), INF), r(2, 3, 5), r(2, 5, 4)]),
    ("Tensor.addbmm", lambda L, i, a, b: i.addbmm(a, b), [r(3, 4), r(2, 3, 5), r(2, 5, 4)]),
    # fixed-rank products
    ("mv", lambda L, m, v: L.mv(m, v), [r(3, 4), r(4)]),
    ("mv empty", lambda L, m, v: L.mv(m, v), [r(3, 0), r(0)]),
    ("mv int", lambda L, m, v: L.mv(m, v), [ints(3, 4), ints(4)]),
    ("Tensor.mv", lambda L, m, v: m.mv(v), [r(3, 4), r(4)]),
    ("ger", lambda L, a, b: L.ger(a, b), [r(3), r(2)]),
    ("ger int", lambda L, a, b: L.ger(a, b), [ints(3), ints(2)]),
    ("ger mixed dtypes", lambda L, a, b: L.ger(a, b), [r(3), ints(2)]),
    ("Tensor.ger", lambda L, a, b: a.ger(b), [r(3), r(2)]),
    ("vdot", lambda L, a, b: L.vdot(a, b), [r(4), r(4)]),
    ("vdot empty", lambda L, a, b: L.vdot(a, b), [r(0), r(0)]),
    ("vdot int", lambda L, a, b: L.vdot(a, b), [ints(4), ints(4)]),
    ("Tensor.vdot", lambda L, a, b: a.vdot(b), [r(4), r(4)]),
    ("chain_matmul 1", _quiet(lambda L, a: L.chain_matmul(a)), [r(2, 3)]),
    ("chain_matmul 2", _quiet(lambda L, a, b: L.chain_matmul(a, b)), [r(2, 3), r(3, 4)]),
    ("chain_matmul 4", _quiet(lambda L, a, b, c, d: L.chain_matmul(a, b, c, d)),
     [r(2, 3), r(3, 4), r(4, 1), r(1, 5)]),
    # contractions
    ("inner", lambda L, a, b: L.inner(a, b), [r(2, 3), r(4, 3)]),
    ("inner vectors", lambda L, a, b: L.inner(a, b), [r(3), r(3)]),
    ("inner 3-d", lambda L, a, b: L.inner(a, b), [r(2, 1, 3), r(3)]),
    ("inner 0-d", lambda L, a, b: L.inner(a, b), [r(), r(2, 3)]),
    ("inner int", lambda L, a, b: L.inner(a, b), [ints(2, 3), ints(3)]),
    ("inner empty", lambda L, a, b: L.inner(a, b), [r(2, 0), r(3, 0)]),
    ("Tensor.inner", lambda L, a, b: a.inner(b), [r(2, 3), r(4, 3)]),
    ("tensordot 2", lambda L, a, b: L.tensordot(a, b), [r(2, 3, 4), r(3, 4, 2)]),
    ("tensordot 1", lambda L, a, b: L.tensordot(a, b, 1), [r(2, 3, 4), r(4, 2)]),
    ("tensordot 0", lambda L, a, b: L.tensordot(a, b, 0), [r(2, 3), r(4)]),
    ("tensordot lists", lambda L, a, b: L.tensordot(a, b, dims=([1, 0], [0, 2])),
     [r(3, 2, 4), r(2, 5, 3)]),
    ("tensordot negative dims", lambda L, a, b: L.tensordot(a, b, dims=([-1], [-2])),
     [r(3, 2, 4), r(5, 4, 3)]),
    ("tensordot ints pair", lambda L, a, b: L.tensordot(a, b, dims=([2], [0])),
     [r(2, 3, 4), r(4)]),
    ("tensordot full", lambda L, a, b: L.tensordot(a, b, 2), [r(3, 4), r(3, 4)]),
    ("tensordot int", lambda L, a, b: L.tensordot(a, b, 1), [ints(2, 3), ints(3, 2)]),
    ("tensordot empty", lambda L, a, b: L.tensordot(a, b, 1), [r(2, 0), r(0, 3)]),
    ("kron", lambda L, a, b: L.kron(a, b), [r(2, 3), r(3, 2)]),
    ("kron vectors", lambda L, a, b: L.kron(a, b), [r(3), r(2)]),
    ("kron ndims differ", lambda L, a, b: L.kron(a, b), [r(2, 1, 2), r(3, 2)]),
    ("kron 0-d", lambda L, a, b: L.kron(a, b), [r(), r(2, 2)]),
    ("kron both 0-d", lambda L, a, b: L.kron(a, b), [r(), r()]),
    ("kron empty", lambda L, a, b: L.kron(a, b), [r(2, 0), r(3, 2)]),
    ("kron int", lambda L, a, b: L.kron(a, b), [ints(2, 2), ints(2)]),
    ("kron mixed dtypes", lambda L, a, b: L.kron(a, b), [r(2, 2), ints(2)]),
    ("Tensor.kron", lambda L, a, b: a.kron(b), [r(2, 3), r(3, 2)]),
    # cross: explicit dim, negative dim, broadcasting, dim=None (first dim of size 3)
    ("cross dim=-1", lambda L, a, b: L.cross(a, b, dim=-1), [r(4, 3), r(4, 3)]),
    ("cross dim=0", lambda L, a, b: L.cross(a, b, dim=0), [r(3, 2), r(3, 2)]),
    ("cross bcast", lambda L, a, b: L.cross(a, b, dim=1), [r(1, 3, 2), r(4, 3, 1)]),
    ("cross dim=None", _quiet(lambda L, a, b: L.cross(a, b)), [r(3, 3), r(3, 3)]),
    ("cross dim=None later dim", _quiet(lambda L, a, b: L.cross(a, b)), [r(2, 3), r(2, 3)]),
    ("cross parallel", lambda L, a, b: L.cross(a, b, dim=0), [np.array([1.0, 2, 3]),
                                                              np.array([2.0, 4, 6])]),
    ("cross int", lambda L, a, b: L.cross(a, b, dim=-1), [ints(2, 3), ints(2, 3)]),
    ("cross empty", lambda L, a, b: L.cross(a, b, dim=-1), [r(0, 3), r(0, 3)]),
    ("Tensor.cross", lambda L, a, b: a.cross(b, dim=-1), [r(4, 3), r(4, 3)]),
    # statistics
    ("cov", lambda L, x: L.cov(x), [r(3, 5)]),
    ("cov 1-d", lambda L, x: L.cov(x), [r(5)]),
    ("cov 0-d", lambda L, x: L.cov(x, correction=0), [r()]),
    ("cov one row", lambda L, x: L.cov(x), [r(1, 4)]),
    ("cov correction=0", lambda L, x: L.cov(x, correction=0), [r(2, 4)]),
    ("cov correction=2", lambda L, x: L.cov(x, correction=2), [r(2, 4)]),
    ("cov fweights", lambda L, x: L.cov(x, fweights=L.tensor([1, 2, 0, 3])), [r(2, 4)]),
    ("cov aweights", lambda L, x, w: L.cov(x, aweights=w), [r(2, 4), np.array([.5, 1, 2, .1])]),
    ("cov both weights", lambda L, x, w: L.cov(x, fweights=L.tensor([2, 1, 1, 3]), aweights=w),
     [r(3, 4), np.array([.5, 1, 2, .1])]),
    ("cov aweights correction=0", lambda L, x, w: L.cov(x, correction=0, aweights=w),
     [r(2, 4), np.array([.5, 1, 2, .1])]),
    ("cov int", lambda L, x: L.cov(x), [ints(2, 4)]),
    ("Tensor.cov", lambda L, x: x.cov(correction=0), [r(3, 5)]),
    ("corrcoef", lambda L, x: L.corrcoef(x), [r(3, 5)]),
    ("corrcoef 1-d", lambda L, x: L.corrcoef(x), [r(4)]),
    ("corrcoef int", lambda L, x: L.corrcoef(x), [ints(2, 5)]),
    ("corrcoef perfectly correlated", lambda L, x: L.corrcoef(x),
     [np.array([[1.0, 2, 4], [2.0, 4, 8]])]),
    ("Tensor.corrcoef", lambda L, x: x.corrcoef(), [r(3, 5)]),
    # integration
    ("trapezoid", lambda L, y: L.trapezoid(y), [r(2, 4)]),
    ("trapezoid dx", lambda L, y: L.trapezoid(y, dx=0.5, dim=0), [r(3, 2)]),
    ("trapezoid x 1-d", lambda L, y, x: L.trapezoid(y, x, dim=0), [r(3, 2), r(3)]),
    ("trapezoid x same shape", lambda L, y, x: L.trapezoid(y, x), [r(2, 4), r(2, 4)]),
    ("trapezoid x bcast", lambda L, y, x: L.trapezoid(y, x, dim=1), [r(2, 4), r(1, 4)]),
    ("trapezoid x fewer dims", lambda L, y, x: L.trapezoid(y, x, dim=-1), [r(3, 2, 4),
                                                                          r(2, 4)]),
    ("trapezoid 1 sample", lambda L, y: L.trapezoid(y), [r(3, 1)]),
    ("trapezoid int", lambda L, y: L.trapezoid(y), [ints(2, 4)]),
    ("trapezoid int dx", lambda L, y: L.trapezoid(y, dx=2), [ints(4)]),
    ("trapezoid int y, float x", lambda L, y, x: L.trapezoid(y, x), [ints(4), r(4)]),
    ("cumulative_trapezoid", lambda L, y: L.cumulative_trapezoid(y), [r(2, 4)]),
    ("cumulative_trapezoid dx", lambda L, y: L.cumulative_trapezoid(y, dx=0.3, dim=0),
     [r(3, 2)]),
    ("cumulative_trapezoid x", lambda L, y, x: L.cumulative_trapezoid(y, x, dim=0),
     [r(3, 2), r(3)]),
    ("cumulative_trapezoid x same shape", lambda L, y, x: L.cumulative_trapezoid(y, x),
     [r(2, 4), r(2, 4)]),
    ("cumulative_trapezoid empty", lambda L, y: L.cumulative_trapezoid(y), [r(2, 0)]),
    ("cumulative_trapezoid 1 sample", lambda L, y: L.cumulative_trapezoid(y), [r(2, 1)]),
    ("cumulative_trapezoid int", lambda L, y: L.cumulative_trapezoid(y), [ints(3)]),
]

# distances at every p, with zero distances (repeated rows) and ties among coordinates
_PS = [0, 0.5, 1, 1.5, 2, 3, INF]
_ROWS = np.array([[0.0, 1.0, -1.0], [0.0, 1.0, -1.0], [1.0, 1.0, 2.0], [0.5, -2.0, 1.0]])
_OTHER = np.array([[0.0, 1.0, -1.0], [2.0, 0.7, 3.5]])
for p in _PS:
    CASES += [
        (f"cdist p={p}", lambda L, a, b, p=p: L.cdist(a, b, p=p), [r(3, 2), r(4, 2)]),
        (f"cdist p={p} zero distance", lambda L, a, b, p=p: L.cdist(a, b, p=p),
         [_ROWS, _OTHER]),
        (f"cdist p={p} self", lambda L, a, p=p: L.cdist(a, a, p=p), [_ROWS]),
        (f"pdist p={p}", lambda L, a, p=p: L.pdist(a, p=p), [_ROWS]),
    ]
    if p != 0:  # (torch's own backward of dist at p=0 fails: test_dist_p0 below)
        CASES += [
            (f"dist p={p}", lambda L, a, b, p=p: L.dist(a, b, p=p), [r(2, 3), r(3)]),
            (f"dist p={p} zero", lambda L, a, b, p=p: L.dist(a, b, p=p), [_OTHER, _OTHER]),
        ]
CASES += [
    ("cdist batch", lambda L, a, b: L.cdist(a, b), [r(2, 3, 2), r(2, 4, 2)]),
    ("cdist batch bcast", lambda L, a, b: L.cdist(a, b, p=1), [r(2, 1, 3, 2), r(4, 4, 2)]),
    ("cdist batch bcast p=3", lambda L, a, b: L.cdist(a, b, p=3), [r(1, 3, 2), r(2, 4, 2)]),
    ("cdist empty rows", lambda L, a, b: L.cdist(a, b), [r(0, 2), r(3, 2)]),
    ("cdist empty cols", lambda L, a, b: L.cdist(a, b, p=INF), [r(2, 0), r(3, 0)]),
    ("cdist compute_mode", lambda L, a, b: L.cdist(a, b, compute_mode="donot_use_mm_for_euclid"
                                                   "_dist"), [r(3, 2), r(4, 2)]),
    ("pdist one row", lambda L, a: L.pdist(a), [r(1, 3)]),
    ("pdist p=0.5 ties", lambda L, a: L.pdist(a, 0.5), [np.array([[0.0, 1.0], [0.0, 2.0]])]),
    ("dist p=-inf", lambda L, a, b: L.dist(a, b, -INF), [r(2, 3), r(2, 3)]),
    ("dist p=-1.5", lambda L, a, b: L.dist(a, b, -1.5), [r(2, 3), r(3)]),
    ("dist 0-d", lambda L, a, b: L.dist(a, b), [r(), r()]),
    ("dist mixed dtypes", lambda L, a, b: L.dist(a, b), [r(3), ints(3)]),
    ("Tensor.dist", lambda L, a, b: a.dist(b, 3), [r(2, 3), r(2, 3)]),
]


@pytest.mark.parametrize("fn, arrays", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_values_and_gradients_match_torch(torch, fn, arrays):
    if any(np.asarray(a).dtype.kind == "f" for a in arrays):
        run_both(fn, *arrays)
    else:  # integer inputs: values and result dtype (nothing to differentiate); a float32
        # result (corrcoef of integers) is compared at float32's precision
        ours, theirs = fn(ad, *map(to_ad, arrays)), fn(torch, *map(to_torch, arrays))
        if ours.dtype == np.float32:
            assert_close(ours, theirs, rtol=1e-6, atol=1e-7)
        else:
            assert_close(ours, theirs)


MM = "use_mm_for_euclid_dist"
MM_CASES = [
    ("mm", lambda L, a, b: L.cdist(a, b, compute_mode=MM), [r(3, 2), r(4, 2)]),
    ("mm zero distance", lambda L, a, b: L.cdist(a, b, compute_mode=MM), [_ROWS, _OTHER]),
    ("mm self", lambda L, a: L.cdist(a, a, compute_mode=MM), [_ROWS]),
    ("mm batch bcast", lambda L, a, b: L.cdist(a, b, compute_mode=MM), [r(2, 1, 3, 2),
                                                                        r(4, 4, 2)]),
    ("mm empty", lambda L, a, b: L.cdist(a, b, compute_mode=MM), [r(0, 2), r(3, 2)]),
    ("over 25 rows: mm by default", lambda L, a, b: L.cdist(a, b), [r(30, 3), r(4, 3)]),
    ("over 25 rows, no mm", lambda L, a, b: L.cdist(a, b, compute_mode="donot_use_mm_for_"
                                                   "euclid_dist"), [r(4, 3), r(30, 3)]),
]


@pytest.mark.parametrize("fn, arrays", [c[1:] for c in MM_CASES], ids=[c[0] for c in MM_CASES])
def test_cdist_matmul_form_matches_torch(torch, fn, arrays):
    """p=2 through one matmul (PyTorch's compute_mode): its rounding, so a looser tolerance"""
    run_both(fn, *arrays, rtol=1e-9, atol=1e-10)


def test_beta_zero_ignores_nan_and_inf(torch):
    i = np.array([[np.nan, INF], [-INF, 1.0]])
    ours, theirs = run_both(lambda L, i, a, b: L.addmm(i, a, b, beta=0), i, r(2, 3), r(3, 2))
    assert np.isfinite(to_numpy(ours)).all()


def test_pdist_of_no_rows(torch):
    """torch's value (an empty result); its backward crashes there, ours gives an empty grad."""
    x = ad.tensor(r(0, 3), requires_grad=True)
    out = ad.pdist(x)
    assert_close(out, torch.pdist(torch.tensor(r(0, 3))))
    out.sum().backward()
    assert x.grad.shape == (0, 3)


def test_dist_p0(torch):
    """dist(p=0) counts the nonzero differences: torch's value, and a zero gradient (torch's
    own backward raises there)."""
    a, b = r(2, 3), np.array([[0.0, 1, 2], [3, 4, 5]])
    b[0, 1] = a[0, 1]
    x = ad.tensor(a, requires_grad=True)
    out = ad.dist(x, ad.tensor(b), 0)
    assert_close(out, torch.dist(torch.tensor(a), torch.tensor(b), 0))
    out.backward()
    assert_close(x.grad, np.zeros_like(a))


def test_inf_norm_ties_share_the_gradient(torch):
    """The project's divergence: tied maxima share the gradient evenly, where torch's cdist
    gives each tied coordinate the whole of it."""
    a, b = np.array([[1.0, -1.0, 0.5]]), np.zeros((1, 3))
    x, t = pair(a)
    ad.cdist(x, ad.tensor(b), p=INF).sum().backward()
    torch.cdist(t, torch.tensor(b), p=INF).sum().backward()
    assert_close(x.grad, np.array([[0.5, -0.5, 0.0]]))
    assert_close(t.grad, np.array([[1.0, -1.0, 0.0]]))


def test_cdist_zero_distance_gradient_is_zero(torch):
    """PyTorch's rule at zero distance is 0 for every p (not NaN): ours too, and finite."""
    for p in _PS:
        x = ad.tensor(_ROWS, requires_grad=True)
        ad.cdist(x, x, p=p).sum().backward()
        assert np.isfinite(x.grad.numpy()).all(), p


def test_dtypes_follow_torch(torch):
    f32 = np.ones((3, 3), np.float32)
    for fn in (lambda L, x: L.cov(x), lambda L, x: L.trapezoid(x),
               lambda L, x: L.cdist(x, x), lambda L, x: L.addmm(x, x, x),
               lambda L, x: L.kron(x, x), lambda L, x: L.cross(x, x, dim=0)):
        a, t = fn(ad, ad.tensor(f32)), fn(torch, torch.tensor(f32))
        assert to_numpy(a).dtype == to_numpy(t).dtype == np.float32, (a.dtype, t.dtype)


def test_cross_without_dim_warns_as_torch(torch):
    with pytest.warns(UserWarning, match="dim"):
        ad.cross(ad.ones(3, 3), ad.ones(3, 3))


# --- second order: the composed ops and the PNorm node --------------------------------------

def _cdist_composed(L, a, b, p=2.0):
    if L is ad:
        return L.cdist(a, b, p=p)
    return L.linalg.vector_norm(a.unsqueeze(-2) - b.unsqueeze(-3), p, dim=-1)


def _pdist_composed(L, a, p=2.0):
    if L is ad:
        return L.pdist(a, p)
    i, j = np.triu_indices(a.shape[0], 1)
    return L.linalg.vector_norm(a[i] - a[j], p, dim=-1)


# (torch has no double backward for cdist and pdist: their entries run its composed form)
SECOND_ORDER = [
    ("addmm", lambda L, i, a, b: L.addmm(i, a, b, beta=0.5, alpha=2), [r(4), r(2, 3), r(3, 4)]),
    ("baddbmm", lambda L, i, a, b: L.baddbmm(i, a, b), [r(3, 1), r(2, 3, 2), r(2, 2, 1)]),
    ("addbmm", lambda L, i, a, b: L.addbmm(i, a, b), [r(3, 1), r(2, 3, 2), r(2, 2, 1)]),
    ("tensordot", lambda L, a, b: L.tensordot(a, b, ([1, 0], [0, 2])), [r(3, 2, 4),
                                                                       r(2, 5, 3)]),
    ("kron", lambda L, a, b: L.kron(a, b), [r(2, 3), r(3, 2)]),
    ("cross", lambda L, a, b: L.cross(a, b, dim=1), [r(1, 3, 2), r(4, 3, 1)]),
    ("cdist p=2", _cdist_composed, [r(3, 2), r(4, 2)]),
    ("cdist p=1.5", lambda L, a, b: _cdist_composed(L, a, b, 1.5), [r(3, 2), r(4, 2)]),
    ("cdist p=3 batch", lambda L, a, b: _cdist_composed(L, a, b, 3), [r(2, 3, 2),
                                                                      r(1, 4, 2, seed=1)]),
    ("pdist p=0.5", lambda L, a: _pdist_composed(L, a, 0.5), [r(3, 2)]),
    ("cdist mm", lambda L, a, b: L.cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
     [r(2, 3, 2), r(1, 4, 2, seed=1)]),
    ("dist p=4", lambda L, a, b: L.dist(a, b, 4), [r(2, 3), r(3)]),
    ("cov weights", lambda L, x, w: L.cov(x, fweights=L.tensor([1, 2, 1]), aweights=w),
     [r(2, 3), np.array([.5, 1, 2])]),
    ("corrcoef", lambda L, x: L.corrcoef(x), [r(3, 4)]),
    ("trapezoid x", lambda L, y, x: L.trapezoid(y, x), [r(2, 4), r(4)]),
    ("cumulative_trapezoid x", lambda L, y, x: L.cumulative_trapezoid(y, x), [r(2, 4), r(4)]),
]


@pytest.mark.parametrize("fn, arrays", [c[1:] for c in SECOND_ORDER],
                         ids=[c[0] for c in SECOND_ORDER])
def test_second_order_matches_torch(torch, fn, arrays):
    xs = [pair(a) for a in arrays]
    ours_in, theirs_in = [x for x, _ in xs], [t for _, t in xs]
    ours, theirs = fn(ad, *ours_in), fn(torch, *theirs_in)
    rng = np.random.default_rng(3)
    g = rng.standard_normal(ours.shape)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    ga = ad.grad(ours, ours_in, ad.tensor(g), create_graph=True)
    gt = torch.autograd.grad(theirs, theirs_in, torch.tensor(g), create_graph=True)
    sa = sum((x * ad.tensor(v)).sum() for x, v in zip(ga, vs))
    st = sum((x * torch.tensor(v)).sum() for x, v in zip(gt, vs))
    hess_a = ad.grad(sa, ours_in, allow_unused=True)
    hess_t = torch.autograd.grad(st, theirs_in, allow_unused=True)
    for a, t in zip(hess_a, hess_t):
        assert_close(a, t, rtol=1e-9, atol=1e-10, err_msg="second order")


# --- in-place forms ------------------------------------------------------------------------

IN_PLACE = [
    ("addmm_", lambda a, m1, m2: a.addmm_(m1, m2, beta=0.5, alpha=2), [r(2, 4), r(2, 3),
                                                                       r(3, 4)]),
    ("addmv_", lambda a, m, v: a.addmv_(m, v), [r(3), r(3, 4), r(4)]),
    ("addr_", lambda a, u, v: a.addr_(u, v, alpha=3), [r(3, 2), r(3), r(2)]),
    ("baddbmm_", lambda a, b1, b2: a.baddbmm_(b1, b2), [r(2, 3, 4), r(2, 3, 5), r(2, 5, 4)]),
    ("addbmm_", lambda a, b1, b2: a.addbmm_(b1, b2, beta=0), [r(3, 4), r(2, 3, 5), r(2, 5, 4)]),
]


@pytest.mark.parametrize("fn, arrays", [c[1:] for c in IN_PLACE], ids=[c[0] for c in IN_PLACE])
def test_in_place_matches_torch(torch, fn, arrays):
    def run(L, x, *others):
        a = x * 1  # a non-leaf: its history is rewritten
        out = fn(a, *others)
        assert out is a
        return a
    run_both(run, *arrays)


def test_in_place_outside_the_graph(torch):
    a, b = ad.tensor(r(2, 2)), torch.tensor(r(2, 2))
    a.addmm_(ad.tensor(r(2, 3)), ad.tensor(r(3, 2)))
    b.addmm_(torch.tensor(r(2, 3)), torch.tensor(r(3, 2)))
    assert_close(a, b)


# --- errors: the exception class torch raises ------------------------------------------------

def _t(*shape, dtype="float32"):
    return lambda L: L.ones(*shape, dtype=getattr(L, dtype))


ERRORS = [
    ("addmm mat1 1-d", lambda L: L.addmm(L.ones(3, 3), L.ones(3), L.ones(3, 3))),
    ("addmm shapes", lambda L: L.addmm(L.ones(3, 3), L.ones(3, 3), L.ones(2, 3))),
    ("addmm input too big", lambda L: L.addmm(L.ones(2, 3, 3), L.ones(3, 3), L.ones(3, 3))),
    ("addmm input mismatch", lambda L: L.addmm(L.ones(2), L.ones(3, 3), L.ones(3, 3))),
    ("addmm dtypes", lambda L: L.addmm(L.ones(3, 3), L.ones(3, 3, dtype=L.float64),
                                       L.ones(3, 3))),
    ("addmv vec 2-d", lambda L: L.addmv(L.ones(3), L.ones(3, 3), L.ones(3, 1))),
    ("addmv size", lambda L: L.addmv(L.ones(3), L.ones(3, 3), L.ones(2))),
    ("addr 2-d", lambda L: L.addr(L.ones(3, 3), L.ones(3, 1), L.ones(3))),
    ("baddbmm batch", lambda L: L.baddbmm(L.ones(3, 3), L.ones(2, 3, 3), L.ones(1, 3, 3))),
    ("addbmm k", lambda L: L.addbmm(L.ones(3, 3), L.ones(2, 3, 2), L.ones(2, 3, 3))),
    ("mv size", lambda L: L.mv(L.ones(3, 3), L.ones(2))),
    ("mv 1-d matrix", lambda L: L.mv(L.ones(3), L.ones(3))),
    ("mv dtypes", lambda L: L.mv(L.ones(3, 3), L.ones(3, dtype=L.float64))),
    ("ger 2-d", lambda L: L.ger(L.ones(3, 1), L.ones(3))),
    ("vdot 2-d", lambda L: L.vdot(L.ones(3, 3), L.ones(3, 3))),
    ("vdot sizes", lambda L: L.vdot(L.ones(3), L.ones(2))),
    ("vdot dtypes", lambda L: L.vdot(L.ones(3), L.ones(3, dtype=L.float64))),
    ("inner last dims", lambda L: L.inner(L.ones(2, 3), L.ones(3, 2))),
    ("inner dtypes", lambda L: L.inner(L.ones(3), L.ones(3, dtype=L.float64))),
    ("tensordot negative", lambda L: L.tensordot(L.ones(3, 3), L.ones(3, 3), -1)),
    ("tensordot sizes", lambda L: L.tensordot(L.ones(3, 3), L.ones(2, 3), ([1], [0]))),
    ("tensordot list lengths", lambda L: L.tensordot(L.ones(3, 3), L.ones(3, 3), ([1], [0, 1]))),
    ("tensordot dim range", lambda L: L.tensordot(L.ones(3, 3), L.ones(3, 3), ([2], [0]))),
    ("tensordot dtypes", lambda L: L.tensordot(L.ones(3), L.ones(3, dtype=L.float64), 1)),
    ("cross no size 3", lambda L: L.cross(L.ones(2, 4), L.ones(2, 4))),
    ("cross dim not 3", lambda L: L.cross(L.ones(3, 2), L.ones(3, 2), dim=1)),
    ("cross ndim", lambda L: L.cross(L.ones(3), L.ones(2, 3), dim=-1)),
    ("cross bcast", lambda L: L.cross(L.ones(2, 3), L.ones(4, 3), dim=1)),
    ("cross dim range", lambda L: L.cross(L.ones(2, 3), L.ones(2, 3), dim=2)),
    ("cross dtypes", lambda L: L.cross(L.ones(3), L.ones(3, dtype=L.float64), dim=0)),
    ("chain_matmul none", lambda L: L.chain_matmul()),
    ("chain_matmul shapes", lambda L: L.chain_matmul(L.ones(2, 3), L.ones(2, 3))),
    ("chain_matmul 1-d", lambda L: L.chain_matmul(L.ones(2, 3), L.ones(3))),
    ("cdist 1-d", lambda L: L.cdist(L.ones(3), L.ones(3))),
    ("cdist columns", lambda L: L.cdist(L.ones(3, 3), L.ones(2, 2))),
    ("cdist negative p", lambda L: L.cdist(L.ones(3, 3), L.ones(3, 3), p=-1)),
    ("cdist int", lambda L: L.cdist(L.ones(3, 3, dtype=L.int64), L.ones(3, 3, dtype=L.int64))),
    ("cdist dtypes", lambda L: L.cdist(L.ones(3, 3), L.ones(3, 3, dtype=L.float64))),
    ("cdist batch", lambda L: L.cdist(L.ones(2, 3, 3), L.ones(3, 3, 3))),
    ("cdist compute_mode", lambda L: L.cdist(L.ones(3, 3), L.ones(3, 3), compute_mode="x")),
    ("pdist 3-d", lambda L: L.pdist(L.ones(2, 2, 2))),
    ("pdist negative p", lambda L: L.pdist(L.ones(3, 3), -1)),
    ("pdist int", lambda L: L.pdist(L.ones(3, 3, dtype=L.int64))),
    ("dist int", lambda L: L.dist(L.ones(3, dtype=L.int64), L.ones(3, dtype=L.int64))),
    ("dist shapes", lambda L: L.dist(L.ones(3), L.ones(2))),
    ("cov 3-d", lambda L: L.cov(L.ones(2, 2, 2))),
    ("cov fweights float", lambda L: L.cov(L.ones(2, 3), fweights=L.ones(3))),
    ("cov fweights size", lambda L: L.cov(L.ones(2, 3), fweights=L.ones(2, dtype=L.int64))),
    ("cov fweights negative", lambda L: L.cov(L.ones(2, 3),
                                              fweights=L.tensor([1, -1, 1]))),
    ("cov aweights int", lambda L: L.cov(L.ones(2, 3), aweights=L.ones(3, dtype=L.int64))),
    ("cov aweights negative", lambda L: L.cov(L.ones(2, 3), aweights=L.tensor([1., -1, 1]))),
    ("cov aweights 2-d", lambda L: L.cov(L.ones(2, 3), aweights=L.ones(1, 3))),
    ("corrcoef 3-d", lambda L: L.corrcoef(L.ones(2, 2, 2))),
    ("trapezoid 0-d", lambda L: L.trapezoid(L.tensor(1.0))),
    ("trapezoid dim", lambda L: L.trapezoid(L.ones(2, 3), dim=2)),
    ("trapezoid x size", lambda L: L.trapezoid(L.ones(2, 3), L.ones(2))),
    ("trapezoid x shape", lambda L: L.trapezoid(L.ones(2, 3), L.ones(3, 2))),
    ("trapezoid number x", lambda L: L.trapezoid(L.ones(3), 0.5)),
    ("cumulative_trapezoid 0-d", lambda L: L.cumulative_trapezoid(L.tensor(1.0))),
    ("cumulative_trapezoid x size", lambda L: L.cumulative_trapezoid(L.ones(3), L.ones(2))),
]


@pytest.mark.parametrize("fn", [c[1] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_match_torch(torch, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as theirs:
            fn(torch)
        with pytest.raises(Exception) as ours:
            fn(ad)
    assert type(ours.value) is type(theirs.value) or isinstance(ours.value, type(theirs.value)), \
        (ours.value, theirs.value)
    assert len(str(ours.value)) > 20  # our message says what and how
