"""PyTorch cross-checks of the indexing family (autodiff/ops/indexing.py): values, result dtypes,
first- and second-order gradients, in-place forms and views, and the exception classes."""
import functools
import warnings

import numpy as np
import pytest

import autodiff as ad
from _torch import assert_close, compare_with_torch, pair, to_numpy

TOL = 1e-10
R = np.random.RandomState(7)
X34 = R.randn(3, 4)
X234 = R.randn(2, 3, 4)
S44 = R.randn(4, 4)
V3 = R.randn(3)
T = functools.partial(np.array)  # index arrays, written inline


def _run(torch, fn, *arrays, **kw):
    with warnings.catch_warnings():  # (index_reduce is "in beta" in torch; scatter's reduce=)
        warnings.simplefilter("ignore", UserWarning)
        return compare_with_torch(lambda *xs: fn(ad, *xs), lambda *xs: fn(torch, *xs), *arrays,
                                  tol=TOL, **kw)


def idx(m, values):
    return m.tensor(np.asarray(values, dtype=np.int64))


def mask(m, values):
    return m.tensor(np.asarray(values, dtype=bool))


# Each case: fn(lib, *leaves) written once for both libraries, and its inputs (float arrays
# require grad). Values and gradients (one random upstream gradient) must match torch's.
CASES = {
    # index_select
    "index_select dim 0, repeats": (lambda m, x: m.index_select(x, 0, idx(m, [2, 0, 2])), X34),
    "index_select negative dim": (lambda m, x: x.index_select(-1, idx(m, [3, 1])), X234),
    "index_select 0-d index": (lambda m, x: x.index_select(1, idx(m, 2)), X34),
    "index_select empty index": (lambda m, x: x.index_select(0, idx(m, [])), X34),
    "index_select 0-d input": (lambda m, x: x.index_select(0, idx(m, [0])), np.array(1.5)),
    # index_add / index_copy / index_fill / index_reduce
    "index_add alpha": (lambda m, x, s: x.index_add(1, idx(m, [0, 3, 0]), s, alpha=-2.5),
                        X34, R.randn(3, 3)),
    "index_add 0-d": (lambda m, x, s: x.index_add(0, idx(m, [0]), s), np.array(1.0),
                      np.array(2.0)),
    "index_copy": (lambda m, x, s: m.index_copy(x, 0, idx(m, [2, 0]), s), X34, R.randn(2, 4)),
    "index_copy last dim": (lambda m, x, s: x.index_copy(-1, idx(m, [1]), s), X234,
                            R.randn(2, 3, 1)),
    "index_fill number": (lambda m, x: x.index_fill(1, idx(m, [0, -1]), -3.0), X34),
    "index_fill tensor value, repeats": (
        lambda m, x, v: m.index_fill(x, 0, idx(m, [1, 1, 0]), v), X34, np.array(0.5)),
    **{f"index_reduce {r} include_self={s}": (
        lambda m, x, src, r=r, s=s: x.index_reduce(0, idx(m, [0, 2, 0, 0]), src, r,
                                                   include_self=s), X34, R.randn(4, 4))
       for r in ("prod", "mean", "amax", "amin") for s in (True, False)},
    "index_reduce amax ties": (
        lambda m, x, src: x.index_reduce(0, idx(m, [0, 0, 1]), src, "amax"),
        np.array([[1.0, 2.0], [0.0, 5.0]]), np.array([[1.0, 0.0], [1.0, 2.0], [0.0, 5.0]])),
    "index_reduce prod zeros": (
        lambda m, x, src: x.index_reduce(0, idx(m, [0, 0, 1, 1, 2]), src, "prod"),
        np.array([[0.0, 2.0], [1.5, 0.0], [0.0, 3.0]]),
        np.array([[2.0, 0.0], [3.0, 1.0], [0.0, 2.0], [4.0, 0.0], [0.0, 0.0]])),
    # masked ops
    "masked_fill function, broadcast mask": (
        lambda m, x: m.masked_fill(x, mask(m, [[True], [False], [True]]), 2.0), X34),
    "masked_fill mask broadcasts x": (
        lambda m, x: m.masked_fill(x, mask(m, np.ones((2, 3, 4), bool)), -1.0), X34),
    "masked_fill tensor value": (
        lambda m, x, v: x.masked_fill(mask(m, X34 > 0), v), X34, np.array(0.25)),
    "masked_fill nan value": (lambda m, x: x.masked_fill(mask(m, X34 > 0), float("nan")), X34),
    "masked_select": (lambda m, x: m.masked_select(x, mask(m, X34 > 0)), X34),
    "masked_select broadcast": (lambda m, x: x.masked_select(mask(m, X234 > 0)), X34),
    "masked_select none": (lambda m, x: x.masked_select(mask(m, np.zeros(4, bool))), X34),
    "masked_select 0-d": (lambda m, x: x.masked_select(mask(m, True)), np.array(2.0)),
    "masked_scatter": (lambda m, x, s: m.masked_scatter(x, mask(m, X34 > 0), s), X34,
                       R.randn(20)),
    "masked_scatter broadcast": (
        lambda m, x, s: x.masked_scatter(mask(m, [[True], [False]]), s), V3, R.randn(2, 4)),
    # take, take_along_dim
    "take": (lambda m, x: m.take(x, idx(m, [[0, -1], [5, 5]])), X34),
    "take 0-d index": (lambda m, x: x.take(idx(m, 3)), X234),
    "take empty": (lambda m, x: x.take(idx(m, np.zeros((0, 2)))), X34),
    "take_along_dim": (lambda m, x: m.take_along_dim(x, idx(m, [[0, 3], [1, 1], [2, 0]]), 1),
                       X34),
    "take_along_dim broadcast": (
        lambda m, x: m.take_along_dim(x, idx(m, [[[0], [2]]]), dim=-2), R.randn(2, 3, 1)),
    "take_along_dim negative": (lambda m, x: x.take_along_dim(idx(m, [[-1]]), 1), X34),
    "take_along_dim flat": (lambda m, x: m.take_along_dim(x, idx(m, [[11, 0]])), X34),
    "put": (lambda m, x, s: m.put(x, idx(m, [[0, -1], [5, 11]]), s), X34, R.randn(2, 2)),
    "put accumulate": (lambda m, x, s: x.put(idx(m, [3, 3, -9]), s, accumulate=True), X34,
                       R.randn(3)),
    "index_put method": (lambda m, x, v: x.index_put((idx(m, [2, 0]), idx(m, [1, 1])), v),
                         X34, R.randn(2)),
    "index_put method accumulate": (
        lambda m, x, v: x.index_put([idx(m, [0, 0, 2])], v, accumulate=True), X34, R.randn(4)),
    "index_put method bool mask": (
        lambda m, x, v: x.index_put((mask(m, X34 > 0),), v), X34, np.array(0.5)),
    # scatter family
    "scatter src": (lambda m, x, s: m.scatter(x, 1, idx(m, [[3, 0], [1, 2]]), s), X34,
                    R.randn(2, 2)),
    "scatter src keyword": (lambda m, x, s: x.scatter(0, idx(m, [[2, 0, 1]]), src=s), X34,
                            R.randn(1, 3)),
    "scatter value": (lambda m, x: x.scatter(1, idx(m, [[0], [3], [3]]), -2.0), X34),
    "scatter value keyword": (lambda m, x: x.scatter(0, idx(m, [[1, 1]]), value=4.0), X34),
    "scatter_add": (lambda m, x, s: m.scatter_add(x, 0, idx(m, [[0, 1, 2], [0, 0, 2]]), s),
                    X34, R.randn(2, 3)),
    "scatter_add empty index": (lambda m, x, s: x.scatter_add(1, idx(m, np.zeros((3, 0))), s),
                                X34, R.randn(3, 0)),
    **{f"scatter_reduce {r} include_self={s}": (
        lambda m, x, src, r=r, s=s: m.scatter_reduce(x, 1, idx(m, [[0, 0, 3], [2, 2, 2]]), src,
                                                     r, include_self=s), X34, R.randn(2, 3))
       for r in ("sum", "prod", "mean", "amax", "amin") for s in (True, False)},
    "scatter_reduce amax ties with self": (
        lambda m, x, src: x.scatter_reduce(0, idx(m, [0, 0, 1, 2]), src, "amax"),
        np.array([3.0, 1.0, 0.0]), np.array([3.0, 3.0, 1.0, -1.0])),
    "scatter_reduce amin ties among src": (
        lambda m, x, src: x.scatter_reduce(0, idx(m, [0, 0, 0]), src, "amin",
                                           include_self=False),
        np.array([5.0, 1.0]), np.array([-1.0, -1.0, 2.0])),
    "scatter_reduce prod zeros": (
        lambda m, x, src: x.scatter_reduce(0, idx(m, [0, 0, 1, 1, 1, 2]), src, "prod"),
        np.array([0.0, 2.0, 0.0]), np.array([2.0, 3.0, 0.0, 4.0, 0.0, 0.0])),
    "scatter_reduce prod single zero": (
        lambda m, x, src: x.scatter_reduce(0, idx(m, [0, 0, 1]), src, "prod"),
        np.array([2.0, 3.0]), np.array([0.0, 4.0, 5.0])),
    # select_scatter, slice_scatter
    "select_scatter": (lambda m, x, s: m.select_scatter(x, s, 0, -1), X34, R.randn(4)),
    "select_scatter middle dim": (lambda m, x, s: x.select_scatter(s, 1, 2), X234,
                                  R.randn(2, 4)),
    "slice_scatter": (lambda m, x, s: m.slice_scatter(x, s, 1, 1, None, 2), X34,
                      R.randn(3, 2)),
    "slice_scatter defaults": (lambda m, x, s: x.slice_scatter(s), X34, R.randn(3, 4)),
    "slice_scatter clipped": (lambda m, x, s: m.slice_scatter(x, s, 0, -5, 10), X34,
                              R.randn(3, 4)),
    # diagonals
    "diagonal": (lambda m, x: m.diagonal(x), X34),
    "diagonal offset dims": (lambda m, x: x.diagonal(-1, 2, 0), X234),
    "diagonal offset keyword": (lambda m, x: x.diagonal(offset=2, dim1=-1, dim2=-2), X234),
    "diagonal empty": (lambda m, x: x.diagonal(5), X34),
    "diagonal_scatter": (lambda m, x, s: m.diagonal_scatter(x, s), X34, R.randn(3)),
    "diagonal_scatter offset dims": (lambda m, x, s: x.diagonal_scatter(s, 1, -1, 0), X234,
                                     R.randn(3, 1)),
    "diag vector": (lambda m, x: m.diag(x, -2), V3),
    "diag matrix": (lambda m, x: m.diag(x, 1), X34),
    "diag_embed": (lambda m, x: m.diag_embed(x), X34),
    "diag_embed offset dims": (lambda m, x: m.diag_embed(x, 1, 0, 2), X34),
    "diag_embed negative dims": (lambda m, x: x.diag_embed(-1, -1, 1), X234),
    "diagflat": (lambda m, x: m.diagflat(x, 1), X34),
    "diagflat 0-d": (lambda m, x: m.diagflat(x), np.array(2.0)),
    "trace": (lambda m, x: m.trace(x), X34),
    "trace tall": (lambda m, x: x.trace(), X34.T),
    "diag_embed of diagonal": (lambda m, x: m.diag_embed(x.diagonal(0, 0, 1)), S44),
}


@pytest.mark.parametrize("name", CASES)
def test_values_and_gradients_match_torch(torch, name):
    fn, *arrays = CASES[name]
    _run(torch, fn, *arrays)


@pytest.mark.parametrize("reduce, same", [("add", "sum"), ("multiply", "prod")])
def test_scatter_with_reduce_matches_scatter_reduce(torch, reduce, same):
    # (torch has no derivative for scatter(reduce=...): the gradients are scatter_reduce's)
    x, s = X34, R.randn(3, 3)
    index = [[0, 1], [0, 0], [2, 1]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = torch.tensor(x).scatter(0, idx(torch, index), torch.tensor(s), reduce=reduce)
    assert_close(ad.tensor(x).scatter(0, idx(ad, index), ad.tensor(s), reduce=reduce), theirs)
    _run(torch, lambda m, a, b: a.scatter_reduce(0, idx(m, index), b[:, :2], same)
         if m is torch else a.scatter(0, idx(m, index), b, reduce=reduce), x, s[:, :2])
    theirs = torch.tensor(x).scatter(1, idx(torch, index), 0.5, reduce=reduce)
    assert_close(ad.tensor(x).scatter(1, idx(ad, index), 0.5, reduce=reduce), theirs)


def test_scatter_uses_only_the_indexed_part_of_a_larger_src(torch):
    # (torch's backward fails on such a src - "invalid gradient ... got [2, 2] but expected
    # [3, 3]"; the unused elements get zero gradient here)
    x, s = ad.tensor(X34), ad.tensor(R.randn(3, 3), requires_grad=True)
    index = [[3, 0], [1, 2]]
    out = ad.scatter(x, 1, idx(ad, index), s)
    assert_close(out, torch.scatter(torch.tensor(X34), 1, idx(torch, index),
                                    torch.tensor(s.data)))
    (out * ad.tensor(X34)).sum().backward()
    expected = np.zeros((3, 3))
    expected[:2, :2] = np.take_along_axis(X34[:2], np.array(index), 1)
    assert_close(s.grad, expected)
    out = ad.scatter_add(x, 0, idx(ad, [[0, 0]]), s)
    assert_close(out, torch.scatter_add(torch.tensor(X34), 0, idx(torch, [[0, 0]]),
                                        torch.tensor(s.data)))


# --- second order: d/dx of <grad(out, x; g), v>, the same random g and v for both ---------------

SECOND_ORDER = ["index_select dim 0, repeats", "index_add alpha", "index_copy",
                "index_fill tensor value, repeats", "index_reduce prod include_self=True",
                "index_reduce mean include_self=False", "index_reduce amax include_self=True",
                "masked_fill tensor value", "masked_scatter", "take_along_dim broadcast",
                "scatter src", "scatter_reduce prod include_self=True",
                "scatter_reduce prod single zero", "scatter_reduce mean include_self=True",
                "scatter_reduce amin include_self=False", "select_scatter", "slice_scatter",
                "put accumulate", "index_put method accumulate", "diagonal_scatter offset dims",
                "diagonal offset dims", "diag_embed offset dims", "diag vector", "trace"]


def _second_order(lib, grad, fn, arrays):
    rng = np.random.default_rng(3)
    xs = [lib.tensor(np.array(a), requires_grad=True) for a in arrays]
    out = fn(lib, *xs)
    g = lib.tensor(rng.standard_normal(out.shape))
    grads = grad((out * out * g).sum(), xs, create_graph=True)  # (nonzero second order)
    total = sum((gr * lib.tensor(rng.standard_normal(gr.shape))).sum() for gr in grads)
    return grad(total, xs, allow_unused=True)


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_order_gradients_match_torch(torch, name):
    fn, *arrays = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = _second_order(torch, torch.autograd.grad, fn, arrays)
    ours = _second_order(ad, ad.grad, fn, arrays)
    for i, (a, t) in enumerate(zip(ours, theirs)):
        if t is None:
            assert a is None or not np.any(to_numpy(a)), f"input {i}"
        else:
            assert_close(a, t, tol=TOL, err_msg=f"second-order gradient of input {i}")


# --- integer and bool inputs: values and result dtypes -------------------------------------------

I34 = np.arange(12, dtype=np.int32).reshape(3, 4)
DTYPES = {
    "index_select int32": lambda m, x: x.index_select(0, idx(m, [2, 0])),
    "index_fill int, float value": lambda m, x: x.index_fill(1, idx(m, [1]), 2.7),
    "index_add int": lambda m, x: x.index_add(0, idx(m, [1]), m.ones(1, 4, dtype=m.int32),
                                              alpha=3),
    "index_reduce int mean": lambda m, x: x.index_reduce(
        0, idx(m, [0, 0]), m.tensor(np.array([[1, 2, 3, 4], [5, 6, 7, 9]], np.int32)), "mean"),
    "scatter_reduce int mean": lambda m, x: x.scatter_reduce(
        1, idx(m, [[0, 0, 1]]), m.tensor(np.array([[3, 4, 8]], np.int32)), "mean",
        include_self=False),
    "scatter_reduce int amax": lambda m, x: x.scatter_reduce(
        1, idx(m, [[0, 0, 1]]), m.tensor(np.array([[3, 40, -8]], np.int32)), "amax",
        include_self=False),
    "scatter int value": lambda m, x: x.scatter(0, idx(m, [[1, 0]]), 5),
    "masked_fill int, float value": lambda m, x: x.masked_fill(mask(m, I34 > 5), 1.9),
    "masked_fill bool": lambda m, x: (x > 3).masked_fill(mask(m, I34 > 8), False),
    "masked_select int": lambda m, x: x.masked_select(mask(m, I34 % 2 == 0)),
    "take int": lambda m, x: x.take(idx(m, [0, -1])),
    "diagonal int": lambda m, x: x.diagonal(1),
    "diag int": lambda m, x: m.diag(x[0], 1),
    "diag_embed bool": lambda m, x: m.diag_embed(x > 4),
    "trace int32": lambda m, x: m.trace(x),
    "nonzero": lambda m, x: m.nonzero(x % 3),
    "nonzero bool": lambda m, x: (x > 4).nonzero(),
    "nonzero 0-d": lambda m, x: m.nonzero(x[0, 1]),
    "nonzero empty": lambda m, x: m.nonzero(x[:0]),
    "argwhere": lambda m, x: m.argwhere(x % 5),
    "argwhere 0-d": lambda m, x: m.argwhere(x[0, 0]),
    "tril_indices": lambda m, x: m.tril_indices(3, 4, 1),
    "tril_indices negative offset": lambda m, x: m.tril_indices(4, 3, -2),
    "triu_indices": lambda m, x: m.triu_indices(3, 4, -1),
    "triu_indices empty": lambda m, x: m.triu_indices(0, 3),
    "tril_indices int32": lambda m, x: m.tril_indices(2, 2, dtype=m.int32),
}


@pytest.mark.parametrize("name", DTYPES)
def test_integer_and_bool_inputs_match_torch(torch, name):
    fn = DTYPES[name]
    ours, theirs = fn(ad, ad.tensor(I34)), fn(torch, torch.tensor(I34))
    assert_close(ours, theirs, tol=0)


@pytest.mark.parametrize("x", [np.array([[0.0, 1.5], [0.0, -2.0]]), np.array(3.0),
                               np.array(0.0), np.zeros((2, 0))])
def test_nonzero_as_tuple_matches_torch(torch, x):
    ours, theirs = ad.nonzero(ad.tensor(x), as_tuple=True), torch.nonzero(torch.tensor(x),
                                                                         as_tuple=True)
    assert len(ours) == len(theirs)
    for a, t in zip(ours, theirs):
        assert_close(a, t, tol=0)


def test_nan_in_the_unselected_source_does_not_reach_the_gradient(torch):
    x = np.array([1.0, np.nan, 3.0])
    _run(torch, lambda m, a: m.masked_fill(a, mask(m, [False, True, False]), 0.0), x)
    _run(torch, lambda m, a, s: m.index_copy(a, 0, idx(m, [1]), s), x, np.array([2.0]))


# --- in place: recorded on a non-leaf and through views, as torch records them -------------------

IN_PLACE = {
    "index_add_": lambda m, x, s: x.index_add_(0, idx(m, [2, 0, 2]), s[:3], alpha=2),
    "index_copy_": lambda m, x, s: x.index_copy_(1, idx(m, [3, 1]), s[:3, :2]),
    "index_fill_": lambda m, x, s: x.index_fill_(0, idx(m, [1]), s[0, 0]),
    "index_reduce_": lambda m, x, s: x.index_reduce_(0, idx(m, [0, 0, 1]), s[:3], "amax",
                                                     include_self=False),
    "scatter_": lambda m, x, s: x.scatter_(1, idx(m, [[0, 1], [2, 3], [3, 0]]), s[:3, :2]),
    "scatter_ value": lambda m, x, s: x.scatter_(1, idx(m, [[0, 1], [2, 3], [3, 0]]), 1.0),
    "scatter_add_": lambda m, x, s: x.scatter_add_(0, idx(m, [[0, 0, 2, 2]]), s[:1]),
    "scatter_reduce_": lambda m, x, s: x.scatter_reduce_(1, idx(m, [[0, 0], [1, 1], [3, 0]]),
                                                         s[:3, :2], "prod"),
    "put_": lambda m, x, s: x.put_(idx(m, [1, -2]), s[0, :2]),
    "put_ accumulate": lambda m, x, s: x.put_(idx(m, [1, 1]), s[0, :2], accumulate=True),
    "masked_scatter_": lambda m, x, s: x.masked_scatter_(mask(m, X34 > 0), s),
    "masked_fill_": lambda m, x, s: x.masked_fill_(mask(m, X34 > 0), s[0, 1]),
    "fill_diagonal_": lambda m, x, s: x.fill_diagonal_(2.5),
    "fill_diagonal_ wrap": lambda m, x, s: x.fill_diagonal_(-1.0, wrap=True),
    "diagonal().zero_()": lambda m, x, s: x.diagonal().zero_(),
    "diagonal().fill_()": lambda m, x, s: x.diagonal(1).fill_(s[0, 0]),
    "diagonal().mul_()": lambda m, x, s: x.diagonal(-1).mul_(s[0, :2]),
    "diagonal of a view": lambda m, x, s: x[1:].diagonal().add_(s[1, :2]),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_forms_are_recorded_as_in_torch(torch, name):
    op = IN_PLACE[name]

    def fn(m, x, s):
        a = x * 1.5  # a non-leaf: its history is rewritten
        op(m, a, s)
        return a * a
    _run(torch, fn, X34, R.randn(4, 4))


@pytest.mark.parametrize("shape", [(7, 3), (3, 5), (3, 3, 3)])
@pytest.mark.parametrize("wrap", [False, True])
def test_fill_diagonal_values_match_torch(torch, shape, wrap):
    ours, theirs = ad.zeros(*shape), torch.zeros(*shape)
    ours.fill_diagonal_(1.0, wrap=wrap)
    theirs.fill_diagonal_(1.0, wrap=wrap)
    assert_close(ours, theirs, tol=0)


def test_in_place_without_recording_writes_into_the_tensor(torch):
    for m in (ad, torch):
        x = m.zeros(3, 4)
        y = x[1:]
        x.scatter_add_(0, idx(m, [[0, 1, 2, 0]]), m.ones(1, 4))
        x.index_fill_(1, idx(m, [3]), 7.0)
        x.masked_scatter_(mask(m, [True, False, False, False]), m.full((3,), 5.0))
        assert x._version == 3
        if m is ad:
            ours = (to_numpy(x), to_numpy(y))
        else:
            np.testing.assert_array_equal(ours[0], to_numpy(x))
            np.testing.assert_array_equal(ours[1], to_numpy(y))


def test_diagonal_is_a_view_that_writes_reach(torch):
    for m in (ad, torch):
        x = m.tensor(np.arange(12.0).reshape(3, 4))
        d = x.diagonal(1)
        assert d._is_view() and d._base is x
        assert (d.storage_offset(), tuple(d.stride())) == (1, (5,))
        d[0] = -1.0
        x[2, 3] = -2.0
        if m is ad:
            ours = (to_numpy(x), to_numpy(d))
        else:
            np.testing.assert_array_equal(ours[0], to_numpy(x))
            np.testing.assert_array_equal(ours[1], to_numpy(d))


def test_in_place_on_a_leaf_that_requires_grad_raises_as_in_torch(torch):
    for m in (ad, torch):
        x = m.zeros(3, 3, requires_grad=True)
        with pytest.raises(RuntimeError):
            x.index_fill_(0, idx(m, [0]), 1.0)
        with pytest.raises(RuntimeError):
            x.diagonal().zero_()
        with pytest.raises(RuntimeError):
            x.fill_diagonal_(1.0)


# --- errors: the exception class torch raises -------------------------------------------------

ERRORS = {
    "index_select out of range": lambda m, x: x.index_select(0, idx(m, [3])),
    "index_select negative": lambda m, x: x.index_select(0, idx(m, [-1])),
    "index_select 2-d index": lambda m, x: x.index_select(0, idx(m, [[0]])),
    "index_select float index": lambda m, x: x.index_select(0, m.tensor([0.0])),
    "index_select bad dim": lambda m, x: x.index_select(2, idx(m, [0])),
    "index_add out of range": lambda m, x: x.index_add(0, idx(m, [3]), m.ones(1, 4)),
    "index_add negative": lambda m, x: x.index_add(0, idx(m, [-1]), m.ones(1, 4)),
    "index_add bad source": lambda m, x: x.index_add(0, idx(m, [1]), m.ones(1, 3)),
    "index_copy out of range": lambda m, x: x.index_copy(0, idx(m, [3]), m.ones(1, 4)),
    "index_copy negative": lambda m, x: x.index_copy(0, idx(m, [-1]), m.ones(1, 4)),
    "index_copy bad source": lambda m, x: x.index_copy(1, idx(m, [1]), m.ones(2, 1)),
    "index_fill out of range": lambda m, x: x.index_fill(1, idx(m, [4]), 0.0),
    "index_fill 1-d value": lambda m, x: x.index_fill(1, idx(m, [0]), m.ones(1)),
    "index_reduce sum": lambda m, x: x.index_reduce(0, idx(m, [0]), m.ones(1, 4), "sum"),
    "index_reduce out of range": lambda m, x: x.index_reduce(0, idx(m, [5]), m.ones(1, 4),
                                                             "amax"),
    "masked_fill int mask": lambda m, x: x.masked_fill(idx(m, [1, 0, 1, 0]), 0.0),
    "masked_fill 1-d value": lambda m, x: x.masked_fill(mask(m, [True] * 4), m.ones(1)),
    "masked_fill bad mask shape": lambda m, x: m.masked_fill(x, mask(m, [True] * 3), 0.0),
    "masked_select int mask": lambda m, x: x.masked_select(m.ones(4)),
    "masked_scatter short source": lambda m, x: x.masked_scatter(mask(m, [True] * 4),
                                                                 m.ones(11)),
    "masked_scatter dtype": lambda m, x: x.masked_scatter(mask(m, [True] * 4),
                                                          m.ones(12, dtype=m.float64)),
    "masked_scatter_ would broadcast self": lambda m, x: x.clone().masked_scatter_(
        mask(m, np.ones((2, 3, 4), bool)), m.ones(24)),
    "put out of range": lambda m, x: x.put(idx(m, [12]), m.ones(1)),
    "put numel": lambda m, x: x.put(idx(m, [1, 2]), m.ones(3)),
    "put dtype": lambda m, x: x.put(idx(m, [1]), m.ones(1, dtype=m.float64)),
    "index_put dtype": lambda m, x: x.index_put((idx(m, [1]),), m.ones(1, dtype=m.float64)),
    "index_put out of range": lambda m, x: x.index_put((idx(m, [3]),), m.ones(1)),
    "diagonal_scatter bad src": lambda m, x: m.diagonal_scatter(x, m.ones(4)),
    "take out of range": lambda m, x: x.take(idx(m, [12])),
    "take too negative": lambda m, x: x.take(idx(m, [-13])),
    "take_along_dim ndim": lambda m, x: m.take_along_dim(x, idx(m, [0]), 1),
    "scatter out of range": lambda m, x: x.scatter(1, idx(m, [[4]]), 1.0),
    "scatter negative": lambda m, x: x.scatter(1, idx(m, [[-1]]), 1.0),
    "scatter index ndim": lambda m, x: x.scatter(1, idx(m, [0]), 1.0),
    "scatter dtype": lambda m, x: x.scatter(1, idx(m, [[0]]), m.ones(1, 1, dtype=m.float64)),
    "scatter index larger than src": lambda m, x: x.scatter(1, idx(m, [[0, 1]]),
                                                            m.ones(1, 1)),
    "scatter index larger than self": lambda m, x: x.scatter(1, idx(m, [[0]] * 4),
                                                             m.ones(4, 1)),
    "scatter bad reduce": lambda m, x: x.scatter(1, idx(m, [[0]]), m.ones(1, 1),
                                                 reduce="max"),
    "scatter_add float index": lambda m, x: x.scatter_add(1, m.tensor([[0.0]]), m.ones(1, 1)),
    "scatter_reduce bad reduce": lambda m, x: x.scatter_reduce(1, idx(m, [[0]]), m.ones(1, 1),
                                                               "foo"),
    "select_scatter bad src": lambda m, x: m.select_scatter(x, m.ones(3), 0, 0),
    "select_scatter out of range": lambda m, x: m.select_scatter(x, m.ones(4), 0, 3),
    "slice_scatter bad src": lambda m, x: m.slice_scatter(x, m.ones(3, 1), 1, 0, None, 2),
    "diagonal same dims": lambda m, x: x.diagonal(0, 1, 1),
    "diagonal bad dim": lambda m, x: x.diagonal(0, 0, 2),
    "diagonal 1-d": lambda m, x: x[0].diagonal(),
    "diag 3-d": lambda m, x: m.diag(x[None]),
    "diag 0-d": lambda m, x: m.diag(x[0, 0]),
    "diag_embed 0-d": lambda m, x: m.diag_embed(x[0, 0]),
    "diag_embed same dims": lambda m, x: m.diag_embed(x, 0, 1, 1),
    "trace 1-d": lambda m, x: m.trace(x[0]),
    "trace 3-d": lambda m, x: m.trace(x[None]),
    "fill_diagonal_ 1-d": lambda m, x: x[0].clone().fill_diagonal_(1.0),
    "fill_diagonal_ unequal 3-d": lambda m, x: m.zeros(2, 3, 3).fill_diagonal_(1.0),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_have_torch_classes(torch, name):
    fn = ERRORS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(Exception) as theirs:
            fn(torch, torch.tensor(X34, dtype=torch.float32))
    with pytest.raises(theirs.type):
        fn(ad, ad.tensor(X34, dtype=ad.float32))


def test_take_along_dim_checks_indices_where_torch_reads_out_of_bounds():
    # (PyTorch 2.x does not check them on the CPU: it reads past the row; we raise)
    with pytest.raises(IndexError, match="out of bounds"):
        ad.take_along_dim(ad.tensor(X34), ad.tensor([[4]]), 1)


def test_scatter_reduce_amax_include_self_false_tie_with_self_goes_to_src(torch):
    # PyTorch counts x's unused value when it ties with the result (src gets g / 2); x is not
    # part of that reduction, so here src gets all of g (a documented divergence)
    x, s = pair(np.array([2.0, 0.0])), pair(np.array([2.0]))
    out = ad.scatter_reduce(x[0], 0, ad.tensor([0]), s[0], "amax", include_self=False)
    out.sum().backward()
    np.testing.assert_array_equal(to_numpy(s[0].grad), [1.0])
    np.testing.assert_array_equal(to_numpy(x[0].grad), [0.0, 1.0])


def test_double_backward_through_two_zeros_of_a_prod_group_raises_as_in_torch(torch):
    for m in (ad, torch):
        x = m.tensor([2.0, 3.0], requires_grad=True)
        src = m.tensor([0.0, 0.0, 4.0], requires_grad=True)
        out = x.scatter_reduce(0, idx(m, [0, 0, 1]), src, "prod")
        g = (m.autograd if m is torch else m).grad(out.sum(), src, create_graph=True)[0]
        np.testing.assert_array_equal(to_numpy(g), [0.0, 0.0, 3.0])
        with pytest.raises(RuntimeError, match="(?i)double backward"):
            g.sum().backward()
