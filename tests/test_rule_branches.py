"""The branches inside gradient rules that the catalog's smooth, tie-free domains never reach
(mutation survivors, issue 19): exact zeros (pow's exponent, p-norms), ties (amax/amin
scatters, median), singular matrices (det), inputs outside a domain (logit), every operand
shape of matmul and attention's dropout. Each is checked against a closed form in float64, to
second order where the function is differentiable there, and against PyTorch when it is
installed."""
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
import nn.functional as F
from autodiff.ops.attention import _dropout_scale
from autodiff.testing import gradgradcheck
from autodiff.testing import strategies as ts

from _torch import compare_with_torch

RNG = np.random.default_rng(19)


def leaf(a):
    return ad.tensor(np.asarray(a, np.float64), requires_grad=True)


def grads(fn, *arrays, g=None):
    """fn's output and the gradients of its float64 inputs for upstream g (default: random,
    never zero)."""
    xs = [leaf(a) for a in arrays]
    out = fn(*xs)
    if g is None:
        g = RNG.uniform(0.5, 1.5, out.shape) * RNG.choice([-1.0, 1.0], out.shape)
    out.backward(ad.tensor(np.asarray(g, np.float64)))
    return out.data, g, [x.grad.data for x in xs]


def assert_finite_and_close(actual, expected):
    assert np.isfinite(actual).all(), actual
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12)


# --- pow: d/dy at x == 0 --------------------------------------------------------------------------

@given(hnp.arrays(np.float64, 6, elements=st.one_of(st.just(0.0), ts.positive(0.1, 3.0))),
       hnp.arrays(np.float64, 6, elements=ts.floats(0.0, 3.0)))
def test_pow_exponent_gradient_is_zero_where_the_base_is_zero(x, y):
    x[0], y[0] = 0.0, 1.5  # (y > 0: 0 ** y = 0 and log 0 = -inf, PyTorch's mask gives 0)
    out, g, (gx, gy) = grads(ad.pow, x, y)
    pos = x > 0
    assert_finite_and_close(gy, np.where(pos, g * out * np.log(np.where(pos, x, 1.0)), 0.0))
    np.testing.assert_allclose(gx[pos], (g * y * x ** (y - 1))[pos], rtol=1e-10)


def test_pow_at_a_zero_base_matches_torch(torch):
    x, y = np.array([0.0, 0.0, 0.0, 0.0, 2.0]), np.array([0.0, 0.5, 1.0, 2.5, 1.5])
    compare_with_torch(ad.pow, torch.pow, x, y, tol=1e-12)


# --- scatter_reduce / index_reduce amax, amin: ties share g evenly -----------------------------

def _tied_extreme_reference(x, index, src, reduce, include_self, g):
    """Value and gradients of scatter_reduce(x, 0, index, src, reduce) by a loop: every element
    equal to its position's result (x's own counted when include_self) gets g / (their count)."""
    pick = max if reduce == "amax" else min
    members = {}
    for i, j in np.ndindex(index.shape):
        members.setdefault((index[i, j], j), []).append((i, j))
    out = x.copy()
    for pos, srcs in members.items():
        values = [src[e] for e in srcs] + ([x[pos]] if include_self else [])
        out[pos] = pick(values)
    gx, gs = np.zeros_like(x), np.zeros_like(src)
    for pos in np.ndindex(x.shape):
        srcs = [e for e in members.get(pos, []) if src[e] == out[pos]]
        self_hit = (include_self or pos not in members) and x[pos] == out[pos]
        share = g[pos] / (len(srcs) + self_hit)
        gx[pos] = share if self_hit else 0.0
        for e in srcs:
            gs[e] = share
    return out, gx, gs


small_ints = st.integers(-1, 1).map(float)  # three values: ties are the rule, not the exception


@given(hnp.arrays(np.float64, (3, 2), elements=small_ints),
       hnp.arrays(np.float64, (5, 2), elements=small_ints),
       hnp.arrays(np.int64, (5, 2), elements=st.integers(0, 2)),
       st.sampled_from(["amax", "amin"]), st.booleans(), st.booleans())
def test_scatter_and_index_reduce_extremes_share_the_gradient_among_ties(
        x, src, index, reduce, include_self, by_rows):
    if by_rows:  # index_reduce: one index per source row, the same grid for scatter's reference
        rows = index[:, 0]
        index = np.repeat(rows[:, None], 2, axis=1)
        fn = lambda x, s: ad.index_reduce(x, 0, ad.tensor(rows), s, reduce,  # noqa: E731
                                          include_self=include_self)
    else:
        fn = lambda x, s: ad.scatter_reduce(x, 0, ad.tensor(index), s, reduce,  # noqa: E731
                                            include_self=include_self)
    out, g, (gx, gs) = grads(fn, x, src)
    ref_out, ref_gx, ref_gs = _tied_extreme_reference(x, index, src, reduce, include_self, g)
    np.testing.assert_array_equal(out, ref_out)
    assert_finite_and_close(gx, ref_gx)
    assert_finite_and_close(gs, ref_gs)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["amax", "amin"])
def test_tied_scatter_reduce_extremes_match_torch(torch, reduce, include_self):
    x = np.array([[1.0, 0.0], [1.0, -1.0], [0.0, 0.0]])
    src = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [1.0, 0.0]])
    index = np.array([[0, 2], [0, 2], [1, 1], [2, 2]])
    if not include_self:
        # PyTorch still counts x's own value among the ties there (its share of g is then
        # dropped, so the gradients sum to less than g); ours counts only what was reduced.
        # x's values that are left out are made unequal to every result, where both agree.
        x[0, 0] = x[1, 1] = x[2, 1] = 7.0
    compare_with_torch(lambda x, i, s: ad.scatter_reduce(x, 0, i, s, reduce,
                                                         include_self=include_self),
                       lambda x, i, s: torch.scatter_reduce(x, 0, i, s, reduce,
                                                            include_self=include_self),
                       x, index, src, tol=1e-12)


# --- matmul: every operand shape, every branch of MatMul.backward ---------------------------------

MATMUL_SHAPES = {
    "matrix @ matrix": ((2, 3), (3, 4)),
    "batch @ matrix (a shared weight)": ((2, 2, 3), (3, 4)),
    "4-d batch @ matrix": ((2, 1, 2, 3), (3, 2)),
    "batch @ vector": ((2, 2, 3), (3,)),
    "matrix @ vector": ((2, 3), (3,)),
    "vector @ matrix": ((3,), (3, 4)),
    "vector @ batch": ((3,), (2, 3, 4)),
    "vector @ vector": ((3,), (3,)),
    "matrix @ batch": ((2, 3), (2, 3, 4)),
    "batch @ batch": ((2, 2, 3), (2, 3, 4)),
    "broadcast batches": ((2, 1, 2, 3), (3, 3, 2)),
}


@pytest.mark.parametrize("shapes", MATMUL_SHAPES.values(), ids=MATMUL_SHAPES.keys())
def test_matmul_gradients_for_every_operand_shape(shapes):
    a, b = (RNG.standard_normal(s) for s in shapes)
    out, g, (ga, gb) = grads(ad.matmul, a, b)
    np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-12)
    # closed form: vectors as matrices, batch dims summed back to each operand's shape
    a2, b2 = (a[None] if a.ndim == 1 else a), (b[:, None] if b.ndim == 1 else b)
    g2 = np.asarray(g).reshape(np.matmul(a2, b2).shape)
    ga_full, gb_full = g2 @ np.swapaxes(b2, -1, -2), np.swapaxes(a2, -1, -2) @ g2
    np.testing.assert_allclose(ga, _sum_to(ga_full, a2.shape).reshape(a.shape), rtol=1e-10)
    np.testing.assert_allclose(gb, _sum_to(gb_full, b2.shape).reshape(b.shape), rtol=1e-10)
    assert gradgradcheck(ad.matmul, (leaf(a), leaf(b)))


def _sum_to(a, shape):
    lead = a.ndim - len(shape)
    a = a.sum(axis=tuple(range(lead)))
    return a.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1 and a.shape[i] != 1),
                 keepdims=True)


def test_shared_weight_gradient_is_one_product_not_a_batch_of_them():
    """batch @ 2-D weight: dW = x.reshape(-1, k)^T @ g.reshape(-1, m), never the (B, k, m)
    stack of per-sample products that a batched product then sums (B times the memory)."""
    b, k, m = 512, 32, 32
    x = ad.tensor(RNG.standard_normal((b, 1, k)))
    w = ad.tensor(RNG.standard_normal((k, m)), requires_grad=True)
    y = ad.matmul(x, w)
    g = ad.tensor(RNG.standard_normal(y.shape))
    tracemalloc.start()
    try:
        y.backward(g)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(w.grad.data, x.data.reshape(-1, k).T @ g.data.reshape(-1, m),
                               rtol=1e-10)
    stack = b * k * m * 8
    assert peak < stack / 4, f"backward peaked at {peak} bytes; the (B, k, m) stack is {stack}"


# --- p-norms at exact zeros -----------------------------------------------------------------------

def _pnorm_grad(d, p, axis, g):
    """d/d(d) of sum(g * ||d||_p over axis): g sign(d) (|d| / norm)^(p-1), PyTorch's 0 where
    d == 0 (p < 1) and where the whole slice is 0."""
    norm = np.sum(np.abs(d) ** p, axis=axis, keepdims=True) ** (1 / p)
    g = np.expand_dims(g, axis) if axis is not None else g
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(d) / np.where(norm == 0, 1.0, norm)
        local = np.where(d == 0, 0.0, np.sign(d) * np.where(d == 0, 1.0, ratio) ** (p - 1))
    return g * local


ZEROS = np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 0.0], [0.5, 0.0, -1.0], [2.0, -0.5, 0.0]])
P_VALUES = [0.5, 1.5, 3.0]


@pytest.mark.parametrize("p", P_VALUES)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("fn", [ad.norm, ad.linalg.vector_norm], ids=["norm", "vector_norm"])
def test_p_norm_gradient_at_zeros_is_zero(fn, p, keepdim):
    out, g, (gx,) = grads(lambda x: fn(x, p, -1, keepdim=keepdim), ZEROS)
    assert out.shape == ((4, 1) if keepdim else (4,))
    assert_finite_and_close(gx, _pnorm_grad(ZEROS, p, 1, g.reshape(4)))


@pytest.mark.parametrize("p", P_VALUES)
def test_distances_gradient_at_zero_differences_is_zero(p):
    x1 = ZEROS
    x2 = np.array([[0.0, 1.5, 1.0], [0.5, 0.0, -1.0]])  # equal to rows of x1 in some columns
    _, g, (g1, g2) = grads(lambda a, b: ad.cdist(a, b, p), x1, x2)
    d = x1[:, None, :] - x2[None, :, :]
    gd = _pnorm_grad(d, p, 2, g)
    assert_finite_and_close(g1, gd.sum(1))
    assert_finite_and_close(g2, -gd.sum(0))
    _, g, (gx,) = grads(lambda a: ad.pdist(a, p), x1)
    i, j = np.triu_indices(4, 1)
    gd = _pnorm_grad(x1[i] - x1[j], p, 1, g)
    expected = np.zeros_like(x1)
    np.add.at(expected, i, gd)
    np.add.at(expected, j, -gd)
    assert_finite_and_close(gx, expected)
    _, g, (ga, gb) = grads(lambda a, b: ad.dist(a, b, p), x1, x1[2])
    gd = _pnorm_grad(x1 - x1[2], p, None, g)
    assert_finite_and_close(ga, gd)
    assert_finite_and_close(gb, -gd.sum(0))


@pytest.mark.parametrize("p", P_VALUES)
def test_p_norms_at_zeros_match_torch(torch, p):
    compare_with_torch(lambda x: ad.linalg.vector_norm(x, p, 1),
                       lambda x: torch.linalg.vector_norm(x, p, 1), ZEROS, tol=1e-12)
    compare_with_torch(lambda x: ad.norm(x, p, 0, keepdim=True),
                       lambda x: torch.norm(x, p, 0, keepdim=True), ZEROS, tol=1e-12)
    compare_with_torch(lambda x: ad.pdist(x, p), lambda x: torch.pdist(x, p), ZEROS, tol=1e-12)
    compare_with_torch(lambda a, b: ad.cdist(a, b, p), lambda a, b: torch.cdist(a, b, p),
                       ZEROS, ZEROS[::-1].copy(), tol=1e-12)


@pytest.mark.parametrize("dim", [1, -1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_two_norm_of_an_all_zero_slice_has_zero_gradient(dim, keepdim):
    x = ZEROS.copy() if dim != (0, 1) else np.zeros((2, 3))
    for fn in (lambda t: ad.norm(t, 2, dim, keepdim=keepdim),
               lambda t: ad.linalg.vector_norm(t, 2, dim, keepdim=keepdim)):
        out, g, (gx,) = grads(fn, x)
        norm = np.sqrt((x * x).sum(axis=dim, keepdims=True))
        expected = np.reshape(g, norm.shape) * x / np.where(norm == 0, 1.0, norm)
        assert_finite_and_close(gx, expected)


# --- median: ties at the median split g evenly ----------------------------------------------------

@given(hnp.arrays(np.float64, st.integers(1, 7), elements=small_ints), st.booleans())
def test_median_ties_share_the_gradient_evenly(x, with_nan):
    fn = ad.median
    if with_nan:  # nanmedian ignores a NaN; the ties among the rest share g
        x, fn = np.append(x, np.nan), ad.nanmedian
    out, g, (gx,) = grads(fn, x)
    rest = x[~np.isnan(x)]
    median = np.sort(rest)[(rest.size - 1) // 2]
    assert out == median
    hit = x == median
    assert_finite_and_close(gx, np.where(hit, g / hit.sum(), 0.0))


def test_median_ties_match_torch(torch):
    x = np.array([2.0, 1.0, 1.0, 3.0, 1.0, 0.0])
    compare_with_torch(ad.median, torch.median, x, tol=1e-12)
    compare_with_torch(ad.nanmedian, torch.nanmedian, np.append(x, np.nan), tol=1e-12)


# --- logit: NaN outside [0, 1], g * inf at its edges ----------------------------------------------

@given(hnp.arrays(np.float64, 6, elements=st.one_of(ts.floats(-1.0, 2.0),
                                                    st.sampled_from([0.0, -0.0, 1.0]))))
def test_logit_gradient_inside_outside_and_at_the_edges(x):
    x[:2] = [-0.5, 0.25]  # one element outside, one inside: both branches in one call
    _, g, (gx,) = grads(ad.logit, x)
    inside, edge = (x > 0) & (x < 1), (x == 0) | (x == 1)
    np.testing.assert_allclose(gx[inside], (g / (x * (1 - x)))[inside], rtol=1e-10)
    assert np.isnan(gx[(x < 0) | (x > 1)]).all()
    np.testing.assert_array_equal(gx[edge], (g * np.inf)[edge])  # the sign of g, whatever 0's


def test_logit_gradient_outside_its_domain_keeps_float32():
    x = ad.tensor(np.array([-0.5, 0.25, 1.5], np.float32), requires_grad=True)
    ad.logit(x).sum().backward()
    assert x.grad.dtype == ad.float32
    np.testing.assert_allclose(x.grad.data, [np.nan, 1 / 0.1875, np.nan], rtol=1e-6)


def test_logit_at_edges_and_outside_matches_torch(torch):
    x = np.array([0.0, -0.0, 1.0, -1e-3, 1.5, 0.3])
    for seed in (0, 1):  # upstream gradients of both signs at the edges
        compare_with_torch(ad.logit, torch.logit, x, seed=seed, tol=1e-12)


# --- det at exactly singular matrices: the cofactor path ------------------------------------------

def _cofactors(a):
    """d det(A) / dA by minors, for each matrix of a batch (any rank)."""
    n = a.shape[-1]
    out = np.zeros_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, axis=-2), j, axis=-1)
            out[..., i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if n > 1 else 1.0)
    return out


def _singular_batch(batch, n):
    """A batch whose first matrix is nonsingular and the others exactly singular (a zero row,
    at a different place in each; 1x1: [[0]]), so det's rule takes the cofactor path for the
    whole batch. The other singular values are distinct, so the SVD inside is differentiable."""
    a = RNG.standard_normal(batch + (n, n))
    flat = a.reshape(-1, n, n)
    for m in range(1, len(flat)):
        flat[m, m % n] = 0.0
    return a


@pytest.mark.parametrize("batch, n", [((2,), 2), ((3,), 3), ((2, 3), 2), ((3, 2), 3), ((2,), 1),
                                      ((2, 3), 1)])
def test_det_gradient_at_singular_matrices(batch, n):
    a = _singular_batch(batch, n)
    assert (np.linalg.det(a).reshape(-1)[1:] == 0).all() and np.linalg.det(a).flat[0] != 0
    out, g, (ga,) = grads(ad.linalg.det, a)
    assert_finite_and_close(ga, np.asarray(g)[..., None, None] * _cofactors(a))
    # second order: the derivative of the cofactors (0 for 1x1, whose cofactor is 1)
    assert gradgradcheck(ad.linalg.det, (leaf(a),))


# --- decompositions with two batch dims (a rule reading a.shape[1] for n would pass with one) -----

@pytest.mark.parametrize("batch, n", [((2, 3), 2), ((3, 1), 2)])
def test_eigh_and_svd_with_two_batch_dims(batch, n):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(batch + (n, n))
    symmetric = a + np.swapaxes(a, -1, -2)  # (eigh reads one triangle: perturb symmetrically)
    assert gradgradcheck(lambda x: ad.linalg.eigvalsh(x + x.mT), (leaf(a),))
    assert gradgradcheck(lambda x: ad.linalg.svdvals(x), (leaf(symmetric + 3 * np.eye(n)),))




# --- attention's dropout branch (the catalog's entries draw no dropout) ---------------------------

def test_attention_dropout_gradients_against_a_closed_form():
    """With dropout the weights are P * D (D: 0 or 1 / (1 - p) per weight, one draw kept with the
    node): out = (P D) v, dv = (P D)^T g, dP = (g v^T) D and the softmax rule on dP. L != S, so
    a transposed or missing D cannot go unnoticed. D is drawn again from the same seed."""
    q, k, v = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 5, 4)), \
        RNG.standard_normal((2, 5, 3))
    ad.manual_seed(3)
    out, g, (gq, gk, gv) = grads(
        lambda *t: F.scaled_dot_product_attention(*t, dropout_p=0.5), q, k, v)
    ad.manual_seed(3)
    drop = _dropout_scale((2, 3, 5), 0.5, np.float64, None)
    assert set(np.unique(drop)) == {0.0, 2.0}
    s = q @ k.swapaxes(-1, -2) / 2.0  # scale 1 / sqrt(4)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    w = p * drop
    assert_finite_and_close(out, w @ v)
    assert_finite_and_close(gv, w.swapaxes(-1, -2) @ g)
    dp = (g @ v.swapaxes(-1, -2)) * drop
    ds = p * (dp - (dp * p).sum(-1, keepdims=True))
    assert_finite_and_close(gq, ds @ k / 2.0)
    assert_finite_and_close(gk, ds.swapaxes(-1, -2) @ q / 2.0)
