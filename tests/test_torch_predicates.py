"""PyTorch cross-checks of the comparisons, predicates and random factories (isclose, equal, isin,
..., logspace, normal, bernoulli, multinomial, poisson, the in-place samplers): values, dtypes,
errors as torch raises them, and seeded statistical checks with tolerances of several standard
errors (deterministic: every sample comes from a seeded Generator)."""
import math

import numpy as np
import pytest

import autodiff as ad
from _torch import assert_close, to_torch

inf, nan = math.inf, math.nan
N = 20000  # samples per statistical check: a standard error of about 0.7% of a unit spread


def both(torch, fn, *arrays):
    """fn(lib, *tensors) run on autodiff and torch tensors holding the same arrays."""
    return (fn(ad, *[ad.tensor(a) for a in arrays]),
            fn(torch, *[to_torch(a) for a in arrays]))


def same(torch, fn, *arrays):
    ours, theirs = both(torch, fn, *arrays)
    if isinstance(theirs, torch.Tensor):
        assert_close(ours, theirs, rtol=1e-6, atol=1e-6)
    else:
        assert type(ours) is type(theirs) and ours == theirs, (ours, theirs)


def raises_like_torch(torch, exc, fn, *arrays, match=None):
    with pytest.raises(exc):
        fn(torch, *[to_torch(a) for a in arrays])
    with pytest.raises(exc, match=match):
        fn(ad, *[ad.tensor(a) for a in arrays])


# --- comparisons and predicates ----------------------------------------------------------------

A = np.array([1.0, 1.0 + 1e-9, nan, inf, -inf, 0.0, 1e-9])
B = np.array([1.0, 1.0, nan, inf, inf, 1e-9, 0.0])


@pytest.mark.parametrize("kw", [{}, {"equal_nan": True}, {"rtol": 0.1, "atol": 0.0},
                                {"rtol": 0.0, "atol": 1e-8}])
def test_isclose(torch, kw):
    same(torch, lambda lib, a, b: lib.isclose(a, b, **kw), A, B)
    same(torch, lambda lib, a, b: a.isclose(b, **kw), A, B)
    same(torch, lambda lib, a, b: lib.isclose(a, b, **kw), A[:3], B[:3].reshape(3, 1))  # bcast
    same(torch, lambda lib, a, b: lib.isclose(a, b, **kw), np.array(1.0), np.array(1.0))  # 0-d
    same(torch, lambda lib, a, b: lib.isclose(a, b, **kw), np.zeros((0, 2)), np.zeros(2))


def test_isclose_integers_and_bools(torch):
    same(torch, lambda lib, a, b: lib.isclose(a, b, atol=2), np.array([1, 2, 9]),
         np.array([1, 3, 5]))
    same(torch, lambda lib, a, b: lib.isclose(a, b), np.array([True, False]),
         np.array([True, True]))


def test_isclose_errors(torch):
    raises_like_torch(torch, RuntimeError, lambda lib, a, b: lib.isclose(a, b),
                      np.array([1, 2]), np.array([1.0, 2.0]), match="dtype")
    raises_like_torch(torch, RuntimeError, lambda lib, a, b: lib.isclose(a, b),
                      np.ones(2), np.ones(3))
    raises_like_torch(torch, RuntimeError, lambda lib, a: lib.isclose(a, a, rtol=-1),
                      np.ones(2), match="rtol")
    raises_like_torch(torch, TypeError, lambda lib, a: lib.isclose(a, 1.0), np.ones(2),
                      match="Tensor")


@pytest.mark.parametrize("a, b", [
    (np.array([1, 2]), np.array([1.0, 2.0])),        # values compared across dtypes
    (np.array([1, 2]), np.array([[1, 2]])),          # shapes differ
    (np.array([1.0, nan]), np.array([1.0, nan])),    # nan != nan
    (np.zeros(0), np.zeros(0)), (np.array(3.0), np.array(3.0)), (np.ones(2), np.zeros(2)),
])
def test_equal(torch, a, b):
    same(torch, lambda lib, x, y: lib.equal(x, y), a, b)
    same(torch, lambda lib, x, y: x.equal(y), a, b)


@pytest.mark.parametrize("invert", [False, True])
def test_isin(torch, invert):
    e, t = np.array([[1, 2], [3, 4]]), np.array([2.0, 3.5, 4.0])
    same(torch, lambda lib, a, b: lib.isin(a, b, invert=invert), e, t)
    same(torch, lambda lib, a, b: lib.isin(a, b, invert=invert, assume_unique=True),
         np.array([1, 2, 3]), np.array([[3, 1]]))
    same(torch, lambda lib, a: lib.isin(a, 2, invert=invert), e)
    same(torch, lambda lib, b: lib.isin(3, b, invert=invert), t)
    same(torch, lambda lib, a, b: lib.isin(a, b, invert=invert), np.zeros(0), t)


@pytest.mark.parametrize("name", ["isneginf", "isposinf", "isreal"])
@pytest.mark.parametrize("x", [np.array([1.0, -inf, inf, nan]), np.array([1, -2]),
                               np.array(-inf), np.zeros((0, 3)), np.array([True])])
def test_elementwise_predicates(torch, name, x):
    same(torch, lambda lib, a: getattr(lib, name)(a), x)
    same(torch, lambda lib, a: getattr(a, name)(), x)


@pytest.mark.parametrize("x", [np.array([0.5]), np.array([[0.0]]), np.array(0), np.array(True),
                               np.array([-0.0])])
def test_is_nonzero(torch, x):
    same(torch, lambda lib, a: lib.is_nonzero(a), x)
    same(torch, lambda lib, a: a.is_nonzero(), x)


@pytest.mark.parametrize("x", [np.array([1.0, 2.0]), np.zeros(0)])
def test_is_nonzero_errors(torch, x):
    raises_like_torch(torch, RuntimeError, lambda lib, a: lib.is_nonzero(a), x,
                      match="ambiguous")


@pytest.mark.parametrize("name", ["is_floating_point", "is_complex", "numel"])
@pytest.mark.parametrize("x", [np.ones((2, 3)), np.array(1, dtype=np.int32), np.zeros((0, 2)),
                               np.array([True]), np.ones(2, np.float32)])
def test_dtype_and_size_predicates(torch, name, x):
    same(torch, lambda lib, a: getattr(lib, name)(a), x)
    same(torch, lambda lib, a: getattr(a, name)(), x)


@pytest.mark.parametrize("name", ["is_floating_point", "is_complex", "numel"])
def test_dtype_and_size_predicates_take_tensors_only(torch, name):
    with pytest.raises(TypeError):
        getattr(torch, name)(np.ones(2))
    with pytest.raises(TypeError, match=name):
        getattr(ad, name)(np.ones(2))


@pytest.mark.parametrize("name", ["greater", "less", "greater_equal", "less_equal", "not_equal",
                                  "logical_xor"])
def test_comparison_aliases(torch, name):
    a, b = np.array([[1.0, 2.0, 3.0]]), np.array([[2.0], [3.0]])
    same(torch, lambda lib, x, y: getattr(lib, name)(x, y), a, b)
    same(torch, lambda lib, x, y: getattr(x, name)(y), a, b)
    if name != "logical_xor":  # (torch's takes tensors only)
        same(torch, lambda lib, x: getattr(lib, name)(x, 2), np.array([1, 2, 3]))  # int tensor
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    assert not getattr(ad, name)(x, x).requires_grad


# --- logspace, randint_like, new_empty -----------------------------------------------------------

@pytest.mark.parametrize("args, kw", [
    ((0, 2, 3), {}), ((0, 1, 5), {"dtype": "float64"}), ((-1, 2, 4), {"base": 2.0}),
    ((0, 2.5, 3), {"base": 2.5, "dtype": "int64"}), ((0.5, 3.7, 5), {"dtype": "int64"}),
    ((-1, 2, 4), {"base": 3, "dtype": "int64"}), ((0, 2, 1), {}), ((0, 2, 0), {}),
    ((0, 1, 5), {"base": -2.0}), ((2, 0, 3), {"dtype": "float64"}),
])
def test_logspace(torch, args, kw):
    ours = ad.logspace(*args, **{k: getattr(ad, v) if k == "dtype" else v
                                 for k, v in kw.items()})
    theirs = torch.logspace(*args, **{k: getattr(torch, v) if k == "dtype" else v
                                      for k, v in kw.items()})
    assert_close(ours, theirs, rtol=1e-6, atol=0)


def test_logspace_errors_and_options(torch):
    with pytest.raises(RuntimeError):
        torch.logspace(0, 2, -1)
    with pytest.raises(RuntimeError, match="non-negative"):
        ad.logspace(0, 2, -1)
    x = ad.logspace(ad.tensor(0.0), 2, 3, requires_grad=True)
    assert x.requires_grad and x.dtype == ad.float32 and x.is_leaf


@pytest.mark.parametrize("dtype", ["float32", "int64", "float64"])
def test_randint_like(torch, dtype):
    x = ad.zeros(40, 50, dtype=getattr(ad, dtype))
    out = ad.randint_like(x, 5)
    assert out.shape == (40, 50) and out.dtype == x.dtype
    assert set(np.unique(out.numpy())) == {0, 1, 2, 3, 4}
    out = ad.randint_like(x, 3, 5, dtype=ad.int32)
    assert out.dtype == ad.int32 and set(np.unique(out.numpy())) == {3, 4}
    assert torch.randint_like(torch.zeros(2), 3, 5).dtype == torch.float32
    with pytest.raises(RuntimeError):
        torch.randint_like(torch.zeros(2), 5, 5)
    with pytest.raises(RuntimeError, match="from"):
        ad.randint_like(x, 5, 5)


def test_new_empty(torch):
    for lib in (ad, torch):
        x = lib.tensor([1, 2])
        assert tuple(x.new_empty(2, 3).shape) == (2, 3) and x.new_empty((2,)).dtype == lib.int64
        assert x.new_empty(1, dtype=lib.float64).dtype == lib.float64


# --- random factories ----------------------------------------------------------------------------

def gen(seed=0):
    return ad.Generator().manual_seed(seed)


def test_normal_variants(torch):
    m, s = ad.tensor([1.0, -2.0]), ad.tensor([[0.5], [2.0]])
    assert ad.normal(m, s).shape == (2, 2) == tuple(torch.normal(torch.zeros(2),
                                                                 torch.ones(2, 1)).shape)
    assert ad.normal(m).shape == (2,)
    assert ad.normal(1.0, s).shape == (2, 1)
    assert ad.normal(0.0, 1.0, size=(3, 2)).dtype == ad.float32
    assert ad.normal(0, 1, size=(2,), dtype=ad.float64).dtype == ad.float64
    assert ad.normal(m.double(), 1.0).dtype == ad.float64
    assert ad.normal(0.0, 1.0, (0, 2)).shape == (0, 2)
    a = ad.normal(m, s, generator=gen(3))
    assert np.array_equal(a.numpy(), ad.normal(m, s, generator=gen(3)).numpy())


def test_normal_moments():
    mean, std = ad.tensor([1.0, -3.0], dtype=ad.float64), ad.tensor([0.5, 2.0], dtype=ad.float64)
    x = ad.normal(mean.expand(N, 2), std.expand(N, 2), generator=gen()).numpy()
    assert np.all(np.abs(x.mean(0) - [1.0, -3.0]) < 6 * np.array([0.5, 2.0]) / N ** 0.5)
    np.testing.assert_allclose(x.std(0), [0.5, 2.0], rtol=0.05)
    y = ad.normal(2.0, 3.0, size=(N,), generator=gen()).numpy()
    assert abs(y.mean() - 2.0) < 6 * 3 / N ** 0.5 and abs(y.std() / 3.0 - 1) < 0.05


def test_normal_errors(torch):
    for std in (-1.0, ad.tensor([1.0, -1.0])):
        with pytest.raises(RuntimeError):
            torch.normal(1.0, std if isinstance(std, float) else torch.tensor([1.0, -1.0]),
                         **({"size": (2,)} if isinstance(std, float) else {}))
        with pytest.raises(RuntimeError, match="std >= 0"):
            ad.normal(1.0, std, **({"size": (2,)} if isinstance(std, float) else {}))
    with pytest.raises(TypeError):
        torch.normal(0.0, 1.0)
    with pytest.raises(TypeError, match="size"):
        ad.normal(0.0, 1.0)
    with pytest.raises(RuntimeError):  # (torch: NotImplementedError, a RuntimeError)
        torch.normal(torch.tensor([1, 2]), 1.0)
    with pytest.raises(RuntimeError, match="floating-point"):
        ad.normal(ad.tensor([1, 2]), 1.0)
    with pytest.raises(RuntimeError):
        torch.normal(torch.zeros(2), torch.ones(3))
    with pytest.raises(RuntimeError, match="normal"):
        ad.normal(ad.zeros(2), ad.ones(3))


@pytest.mark.parametrize("fn", [
    lambda lib, m, s: lib.normal(m, s), lambda lib, m, s: lib.normal(m, 1.0),
    lambda lib, m, s: lib.normal(0.0, s), lambda lib, m, s: lib.bernoulli(s / 4),
    lambda lib, m, s: lib.poisson(s), lambda lib, m, s: lib.normal(m, s[:1]),
])
def test_samples_record_a_zero_gradient(torch, fn):
    """As PyTorch: a sample requires grad when its parameters do, with a zero gradient."""
    m, s = np.array([1.0, 2.0]), np.array([1.0, 3.0])
    ours = [ad.tensor(m, requires_grad=True), ad.tensor(s, requires_grad=True)]
    theirs = [to_torch(m, True), to_torch(s, True)]
    out, out_t = fn(ad, *ours), fn(torch, *theirs)
    assert out.requires_grad and out_t.requires_grad and out.shape == tuple(out_t.shape)
    out.backward(ad.ones_like(out))
    out_t.backward(torch.ones_like(out_t))
    for a, t in zip(ours, theirs):
        assert_close(a.grad, t.grad)


def test_bernoulli(torch):
    p = ad.tensor([0.0, 0.2, 0.7, 1.0], dtype=ad.float64)
    x = ad.bernoulli(p.expand(N, 4), generator=gen()).numpy()
    assert x.dtype == np.float64 and set(np.unique(x)) == {0.0, 1.0}
    freq = x.mean(0)
    assert freq[0] == 0 and freq[3] == 1
    np.testing.assert_allclose(freq[1:3], [0.2, 0.7], atol=6 * 0.5 / N ** 0.5)
    y = ad.bernoulli(ad.zeros(N), 0.3, generator=gen()).numpy()  # p overrides input's values
    assert abs(y.mean() - 0.3) < 6 * 0.5 / N ** 0.5
    assert p.bernoulli().shape == (4,) and ad.bernoulli(ad.zeros(2)).dtype == ad.float32
    assert torch.bernoulli(torch.zeros(2)).dtype == torch.float32


def test_bernoulli_errors(torch):
    raises_like_torch(torch, RuntimeError, lambda lib, a: lib.bernoulli(a),
                      np.array([0.0, 2.0]), match="0 <= p <= 1")
    raises_like_torch(torch, RuntimeError, lambda lib, a: lib.bernoulli(a),
                      np.array([0, 1]), match="floating-point")


@pytest.mark.parametrize("replacement", [False, True])
def test_multinomial_shapes_and_dtype(torch, replacement):
    w = np.array([[1.0, 2.0, 0.0, 3.0], [0.5, 0.5, 0.5, 0.5]])
    for lib, x in ((ad, ad.tensor(w)), (torch, torch.tensor(w))):
        out = lib.multinomial(x, 3, replacement)
        assert tuple(out.shape) == (2, 3) and out.dtype == lib.int64
        assert tuple(x[0].multinomial(2, replacement=replacement).shape) == (2,)
    out = ad.multinomial(ad.tensor(w), 3, replacement, generator=gen()).numpy()
    assert np.all((out >= 0) & (out < 4))
    if not replacement:  # distinct categories in each row, the zero weight only when needed
        assert all(len(set(row)) == 3 for row in out)
        assert 2 not in out[0]


def test_multinomial_frequencies():
    w = ad.tensor([1.0, 0.0, 3.0, 4.0])
    draws = ad.multinomial(w, N, replacement=True, generator=gen()).numpy()
    freq = np.bincount(draws, minlength=4) / N
    np.testing.assert_allclose(freq, [0.125, 0.0, 0.375, 0.5], atol=6 * 0.5 / N ** 0.5)
    # without replacement: the first draw follows the weights, the second the rest renormalised
    rows = ad.multinomial(w.expand(N, 4), 2, generator=gen()).numpy()
    first = np.bincount(rows[:, 0], minlength=4) / N
    np.testing.assert_allclose(first, [0.125, 0.0, 0.375, 0.5], atol=6 * 0.5 / N ** 0.5)
    after_last = rows[rows[:, 0] == 3, 1]  # weights 1 and 3 remain: 1/4 and 3/4
    assert abs(np.mean(after_last == 2) - 0.75) < 6 * 0.5 / len(after_last) ** 0.5
    assert 1 not in rows


@pytest.mark.parametrize("w, n, kw, match", [
    ([1.0, 2.0], 3, {}, "without replacement"),
    ([1.0, -2.0], 1, {}, "element < 0"),
    ([1.0, inf], 1, {}, "inf"),
    ([0.0, 0.0], 1, {}, "sum of probabilities"),
    ([1.0, 2.0], 0, {}, "n_sample <= 0"),
    ([[[1.0]]], 1, {}, "1 or 2 dim"),
    ([1, 2], 1, {}, "floating-point"),
])
def test_multinomial_errors(torch, w, n, kw, match):
    raises_like_torch(torch, RuntimeError, lambda lib, a: lib.multinomial(a, n, **kw),
                      np.array(w), match=match)


def test_poisson(torch):
    rates = ad.tensor([0.0, 0.5, 4.0, 30.0], dtype=ad.float64)
    x = ad.poisson(rates.expand(N, 4), generator=gen()).numpy()
    assert x.dtype == np.float64 and np.all(x == np.round(x))
    assert np.all(np.abs(x.mean(0) - [0, 0.5, 4, 30]) <= 6 * np.sqrt([0, 0.5, 4, 30]) / N ** 0.5)
    np.testing.assert_allclose(x[:, 1:].var(0), [0.5, 4, 30], rtol=0.06)
    assert ad.poisson(ad.zeros(2)).dtype == ad.float32
    raises_like_torch(torch, RuntimeError, lambda lib, a: lib.poisson(a), np.array([-1.0, 2.0]),
                      match="non-negative")
    raises_like_torch(torch, RuntimeError, lambda lib, a: lib.poisson(a), np.array([1, 2]),
                      match="floating-point")


# --- in-place samplers ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, args, mean, var", [
    ("exponential_", (2.0,), 0.5, 0.25),
    ("geometric_", (0.25,), 4.0, 12.0),
    ("log_normal_", (0.5, 0.25), math.exp(0.5 + 0.25 ** 2 / 2),
     (math.exp(0.25 ** 2) - 1) * math.exp(1 + 0.25 ** 2)),
    ("bernoulli_", (0.3,), 0.3, 0.21),
    ("random_", (3, 7), 4.5, 1.25),
    ("random_", (4,), 1.5, 1.25),
])
def test_in_place_sampler_moments(torch, name, args, mean, var):
    x = ad.zeros(N, dtype=ad.float64)
    assert getattr(x, name)(*args, generator=gen()) is x
    values = x.numpy()
    assert abs(values.mean() - mean) < 6 * math.sqrt(var / N)
    assert abs(values.var() / var - 1) < 0.1
    t = torch.zeros(5, dtype=torch.float64)
    assert getattr(t, name)(*args) is t  # (same signature)


def test_cauchy_quartiles(torch):
    x = ad.zeros(N, dtype=ad.float64).cauchy_(1.0, 2.0, generator=gen()).numpy()
    q1, q2, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    assert abs(q2 - 1.0) < 0.1 and abs((q3 - q1) / 2 - 2.0) < 0.15  # median, scale
    torch.zeros(2).cauchy_(1.0, 2.0)


@pytest.mark.parametrize("dtype, high", [("float32", 2 ** 24), ("float64", 2 ** 53),
                                         ("int64", 2 ** 63 - 1), ("int32", 2 ** 31 - 1),
                                         ("uint8", 255), ("bool_", 1)])
def test_random_with_no_bound_covers_the_dtype(torch, dtype, high):
    x = ad.zeros(N, dtype=getattr(ad, dtype)).random_(generator=gen()).numpy()
    assert x.min() >= 0 and int(x.max()) <= high
    assert int(x.max()) > high * 0.99  # (N draws reach the top 1%)
    torch_dtype = torch.bool if dtype == "bool_" else getattr(torch, dtype)
    assert int(torch.zeros(N, dtype=torch_dtype).random_().max()) <= high


def test_random_bounds_and_dtypes(torch):
    x = ad.zeros(N, dtype=ad.int64).random_(-3, 2, generator=gen()).numpy()
    assert set(np.unique(x)) == {-3, -2, -1, 0, 1}
    assert set(np.unique(ad.zeros(N).random_(to=3).numpy())) == {0, 1, 2}
    b = ad.zeros(20, dtype=ad.int64).bernoulli_(ad.tensor([0.0, 1.0]).repeat(10))
    assert b.dtype == ad.int64 and np.array_equal(b.numpy(), np.tile([0, 1], 10))
    assert ad.zeros(3, dtype=ad.int64).geometric_(0.5).dtype == ad.int64


@pytest.mark.parametrize("call", [
    lambda x: x.random_(5, 2), lambda x: x.exponential_(-1.0), lambda x: x.geometric_(1.5),
    lambda x: x.cauchy_(0.0, -1.0), lambda x: x.log_normal_(0.0, -1.0),
    lambda x: x.bernoulli_(1.5),
])
def test_in_place_sampler_errors(torch, call):
    with pytest.raises(RuntimeError):
        call(torch.zeros(3))
    with pytest.raises(RuntimeError, match=r"expects|0 <= p <= 1"):
        call(ad.zeros(3))


def test_continuous_samplers_need_a_float_tensor(torch):
    for name in ("exponential_", "cauchy_", "log_normal_"):
        with pytest.raises(RuntimeError):
            getattr(torch.zeros(3, dtype=torch.int64), name)()
        with pytest.raises(RuntimeError, match="floating-point"):
            getattr(ad.zeros(3, dtype=ad.int64), name)()


def test_in_place_sampler_on_a_recorded_tensor(torch):
    """Like PyTorch: the values are replaced (recorded as a copy), so no gradient flows back."""
    for lib in (ad, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 1
        y.exponential_()
        (y * 2).sum().backward()
        assert_close(x.grad, torch.zeros(2))


@pytest.mark.parametrize("x", [np.ones(2), np.array([1], np.int32), np.array([1], np.uint8),
                               np.array([True]), np.ones(2, np.float32)])
def test_is_signed(torch, x):
    same(torch, lambda lib, a: lib.is_signed(a), x)
    same(torch, lambda lib, a: a.is_signed(), x)


NAMES_ = ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "greater_", "greater_equal_", "less_",
          "less_equal_", "not_equal_", "logical_and_", "logical_or_", "logical_xor_"]


@pytest.mark.parametrize("name", NAMES_)
@pytest.mark.parametrize("dtype", ["float64", "int64", "bool"])
def test_comparisons_in_place(torch, name, dtype):
    x, y = np.array([[0, 1, 2], [2, 1, 0]]).astype(dtype), np.array([1, 1, 0]).astype(dtype)
    a, t = ad.tensor(x), torch.tensor(x)
    assert getattr(a, name)(ad.tensor(y)) is a
    getattr(t, name)(torch.tensor(y))
    assert_close(a, t)
    if not name.startswith("logical"):  # a number operand
        a, t = ad.tensor(x), torch.tensor(x)
        assert_close(getattr(a, name)(1), getattr(t, name)(1))


def test_logical_not_in_place(torch):
    for x in (np.array([0.0, 2.0]), np.array([0, 3]), np.array([True, False])):
        a, t = ad.tensor(x), torch.tensor(x)
        assert a.logical_not_() is a
        assert_close(a, t.logical_not_())


def test_comparison_in_place_on_a_recorded_tensor(torch):
    """The values are replaced by the comparison, so the old values get a zero gradient."""
    for lib in (ad, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 1
        y.gt_(1.5)
        (y * 3).sum().backward()
        assert_close(x.grad, torch.zeros(2))
    with pytest.raises(RuntimeError):
        torch.zeros(2).gt_(torch.zeros(3))
    with pytest.raises(RuntimeError):
        ad.zeros(2).gt_(ad.zeros(3))


def test_binomial(torch):
    count = ad.tensor([0.0, 5.0, 40.0], dtype=ad.float64)
    prob = ad.tensor([0.5, 0.3, 0.9], dtype=ad.float64)
    x = ad.binomial(count.expand(N, 3), prob.expand(N, 3), generator=gen()).numpy()
    assert x.dtype == np.float64 and np.all(x == np.round(x)) and np.all(x <= [0, 5, 40])
    mean, var = np.array([0, 1.5, 36]), np.array([0, 1.05, 3.6])
    assert np.all(np.abs(x.mean(0) - mean) <= 6 * np.sqrt(var / N))
    np.testing.assert_allclose(x[:, 1:].var(0), var[1:], rtol=0.06)
    assert ad.binomial(ad.tensor([5.0, 2.0]), ad.tensor([[0.3], [1.0]])).shape == (2, 2)
    assert not ad.binomial(count, ad.tensor([0.5, 0.5, 0.5], requires_grad=True)).requires_grad
    raises_like_torch(torch, ValueError, lambda lib, c: lib.binomial(c, lib.ones(2) / 2),
                      np.array([1, 2]), match="floating-point")
    with pytest.raises(RuntimeError, match="0 <= p <= 1"):  # (torch answers nonsense: 2.)
        ad.binomial(ad.tensor([2.0]), ad.tensor([1.5]))
    with pytest.raises(RuntimeError, match="whole numbers"):
        ad.binomial(ad.tensor([-1.0]), ad.tensor([0.5]))
