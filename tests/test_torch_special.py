"""PyTorch cross-checks of autodiff.special and the special functions at top level (lgamma,
digamma, polygamma, mvlgamma, erfinv, erfc, i0): values, gradients (first and second order),
dtypes, edge values, errors, and the error without scipy."""
import math
import sys

import numpy as np
import pytest

import autodiff as ad
from autodiff.ops import special as S
from _optional import require
from _torch import assert_close, compare_with_torch, pair

inf, nan = math.inf, math.nan
RNG = np.random.default_rng(0)

# name -> (ours, torch's name, values inside the domain, edge values)
UNARY = {
    "lgamma": (S.lgamma, "lgamma", RNG.uniform(0.1, 6, (2, 3)), [0.0, -0.5, -2.5, 1.0, 2.0, inf,
                                                                 1e-300, 150.0]),
    "digamma": (S.digamma, "digamma", RNG.uniform(0.1, 6, (2, 3)), [0.0, -0.5, -2.5, 1.0, 30.0]),
    "erfinv": (S.erfinv, "erfinv", RNG.uniform(-0.99, 0.99, (2, 3)), [0.0, 1.0, -1.0, 0.999999,
                                                                      2.0, nan]),
    "erfc": (S.erfc, "erfc", RNG.uniform(-3, 3, (2, 3)), [0.0, 6.0, 27.0, -6.0, inf, -inf]),
    "i0": (S.i0, "i0", RNG.uniform(-5, 5, (2, 3)), [0.0, 30.0, -30.0]),
    "erfcx": (ad.special.erfcx, "special.erfcx", RNG.uniform(-3, 3, (2, 3)),
              [0.0, -10.0, 50.0, 1e10]),
    "i0e": (ad.special.i0e, "special.i0e", RNG.uniform(-5, 5, (2, 3)), [30.0, -30.0, 700.0]),
    "i1": (ad.special.i1, "special.i1", RNG.uniform(-5, 5, (2, 3)), [0.0, 30.0, -30.0]),
    "i1e": (ad.special.i1e, "special.i1e", RNG.uniform(-5, 5, (2, 3)), [0.0, 30.0, -700.0]),
    "ndtr": (ad.special.ndtr, "special.ndtr", RNG.uniform(-3, 3, (2, 3)), [0.0, -30.0, 30.0,
                                                                           -inf, inf]),
    "log_ndtr": (ad.special.log_ndtr, "special.log_ndtr", RNG.uniform(-3, 3, (2, 3)),
                 [0.0, -40.0, -1e3, 40.0, 8.0]),
    "ndtri": (ad.special.ndtri, "special.ndtri", RNG.uniform(0.01, 0.99, (2, 3)),
              [0.5, 0.0, 1.0, 1e-300, 2.0]),
    "entr": (ad.special.entr, "special.entr", RNG.uniform(0.1, 3, (2, 3)),
             [0.0, -1.0, inf, 1.0, nan]),
}
SCIPY = set(UNARY) - {"erfc", "ndtr", "entr"}  # (ndtr's and entr's values need no scipy)


def torch_fn(torch, name):
    fn = torch
    for part in name.split("."):
        fn = getattr(fn, part)
    return fn


@pytest.fixture(autouse=True)
def _scipy():
    require("scipy")


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_gradients(torch, name):
    ours, theirs, inside, edges = UNARY[name]
    compare_with_torch(ours, torch_fn(torch, theirs), inside, tol=1e-9)
    compare_with_torch(ours, torch_fn(torch, theirs), np.array(edges), rtol=1e-9, atol=1e-12)
    compare_with_torch(ours, torch_fn(torch, theirs), np.array(inside[0, 0]), tol=1e-9)  # 0-d
    compare_with_torch(ours, torch_fn(torch, theirs), np.zeros((0, 2)))  # empty


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_second_order(torch, name):
    ours, theirs, inside, _ = UNARY[name]
    if name in ("i0e", "i1e"):
        inside = inside + np.sign(inside) * 0.1  # (their second derivative jumps at 0)
    x, xt = pair(inside)
    g, = ad.grad(ours(x).sum(), [x], create_graph=True)
    gg, = ad.grad((g * g).sum(), [x])
    gt, = torch.autograd.grad(torch_fn(torch, theirs)(xt).sum(), [xt], create_graph=True)
    ggt, = torch.autograd.grad((gt * gt).sum(), [xt])
    assert_close(g, gt, tol=1e-9)
    assert_close(gg, ggt, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", ["int64", "bool", "float32"])
def test_unary_result_dtype(torch, name, dtype):
    ours, theirs, _, _ = UNARY[name]
    x = np.array([0, 1, 1]).astype(dtype)
    if name == "ndtri" and dtype == "int64":
        x = np.array([0, 1, 0])
    if name in ("lgamma", "digamma", "i0") or dtype == "float32":
        expected = torch_fn(torch, theirs)(torch.tensor(x))
    else:  # (torch.special's functions of ints give the default float dtype too)
        expected = torch_fn(torch, theirs)(torch.tensor(x).float())
    assert_close(ours(ad.tensor(x)), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("n", [0, 1, 2, 4])
def test_polygamma(torch, n):
    x = np.array([[0.2, 1.0, 3.5], [7.0, 0.6, 12.0]])
    compare_with_torch(lambda t: S.polygamma(n, t), lambda t: torch.polygamma(n, t), x,
                       tol=1e-9)
    compare_with_torch(lambda t: t.polygamma(n), lambda t: t.polygamma(n), x, tol=1e-9)
    compare_with_torch(lambda t: ad.special.polygamma(n, t),
                       lambda t: torch.special.polygamma(n, t), np.array([0.0, 2.0]), tol=1e-9)
    a, at = pair(x)
    g, = ad.grad(S.polygamma(n, a).sum(), [a], create_graph=True)
    gt, = torch.autograd.grad(torch.polygamma(n, at).sum(), [at], create_graph=True)
    assert_close(ad.grad(g.sum(), [a])[0], torch.autograd.grad(gt.sum(), [at])[0], tol=1e-8)


def test_polygamma_errors(torch):
    x = ad.tensor([1.0])
    with pytest.raises(RuntimeError, match="negative n"):
        S.polygamma(-1, x)
    with pytest.raises(RuntimeError):
        torch.polygamma(-1, torch.tensor([1.0]))
    with pytest.raises(TypeError, match="polygamma"):
        S.polygamma(1.5, x)
    with pytest.raises(TypeError):
        torch.polygamma(1.5, torch.tensor([1.0]))


@pytest.mark.parametrize("p", [1, 2, 4])
def test_mvlgamma(torch, p):
    x = np.array([[2.1, 3.0, 5.5], [2.7, 9.0, 1.6]])
    compare_with_torch(lambda t: S.mvlgamma(t, p), lambda t: torch.mvlgamma(t, p), x, tol=1e-9)
    compare_with_torch(lambda t: ad.special.multigammaln(t, p),
                       lambda t: torch.special.multigammaln(t, p), x, tol=1e-9)
    compare_with_torch(lambda t: t.mvlgamma(p=p), lambda t: t.mvlgamma(p=p), np.array(3.0),
                       tol=1e-9)
    a, at = pair(x)
    g, = ad.grad(S.mvlgamma(a, p).sum(), [a], create_graph=True)
    gt, = torch.autograd.grad(torch.mvlgamma(at, p).sum(), [at], create_graph=True)
    assert_close(ad.grad(g.sum(), [a])[0], torch.autograd.grad(gt.sum(), [at])[0], tol=1e-9)


def test_mvlgamma_errors(torch):
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        S.mvlgamma(ad.tensor([2.0]), 0)
    with pytest.raises(RuntimeError):
        torch.mvlgamma(torch.tensor([2.0]), 0)
    with pytest.raises(TypeError):
        S.mvlgamma(ad.tensor([2.0]), 1.5)
    with pytest.raises(TypeError):
        torch.mvlgamma(torch.tensor([2.0]), 1.5)


XLOG1PY_Y = [1.0, -1.0, -2.0, inf, nan, 0.0, 3.0]


@pytest.mark.parametrize("x", [0.0, 1.0, -2.5])
def test_xlog1py_edge_values(torch, x):
    """0 * log1p(y) is 0 unless y is nan; the x-gradient is 0 where x == 0 and y <= -1."""
    compare_with_torch(ad.special.xlog1py, torch.special.xlog1py, np.full(7, x),
                       np.array(XLOG1PY_Y), rtol=1e-12, atol=0)


@pytest.mark.parametrize("shapes", [((2, 3), (3,)), ((), (2, 1)), ((0, 3), (1,)), ((), ())])
def test_xlog1py_broadcasting(torch, shapes):
    x, y = RNG.uniform(-2, 2, shapes[0]), RNG.uniform(-0.9, 3, shapes[1])
    compare_with_torch(ad.special.xlog1py, torch.special.xlog1py, x, y, tol=1e-12)
    a, at = pair(x)
    b, bt = pair(y)
    gs = ad.grad(ad.special.xlog1py(a, b).sum(), [a, b], create_graph=True)
    gts = torch.autograd.grad(torch.special.xlog1py(at, bt).sum(), [at, bt], create_graph=True)
    for g, gt in zip(gs, gts):
        assert_close(g, gt, tol=1e-12)
    second = ad.grad((gs[0] * gs[1]).sum(), [a, b])
    second_t = torch.autograd.grad((gts[0] * gts[1]).sum(), [at, bt])
    for g, gt in zip(second, second_t):
        assert_close(g, gt, tol=1e-10)


def test_xlog1py_numbers_and_dtypes(torch):
    y = np.array([0.5, 2.0])
    compare_with_torch(lambda t: ad.special.xlog1py(2, t), lambda t: torch.special.xlog1py(2, t),
                       y, tol=1e-12)
    compare_with_torch(lambda t: ad.special.xlog1py(t, 3.0),
                       lambda t: torch.special.xlog1py(t, 3.0), y, tol=1e-12)
    compare_with_torch(lambda t: ad.special.xlog1py(input=t, other=t),
                       lambda t: torch.special.xlog1py(input=t, other=t), y, tol=1e-12)
    compare_with_torch(lambda t: S.polygamma(n=1, input=t), lambda t: torch.polygamma(n=1, input=t),
                       y, tol=1e-9)
    compare_with_torch(lambda t: S.mvlgamma(input=t + 2, p=2),
                       lambda t: torch.mvlgamma(input=t + 2, p=2), y, tol=1e-9)
    ints = np.array([1, 2])
    assert_close(ad.special.xlog1py(ad.tensor(ints), ad.tensor(ints)),
                 torch.special.xlog1py(torch.tensor(ints), torch.tensor(ints)), tol=1e-6)
    assert_close(ad.special.xlog1py(ad.tensor(ints), ad.tensor(y)),
                 torch.special.xlog1py(torch.tensor(ints), torch.tensor(y)), tol=1e-12)


def test_xlog1py_shape_mismatch(torch):
    with pytest.raises((RuntimeError, ValueError)):
        torch.special.xlog1py(torch.ones(2), torch.ones(3))
    with pytest.raises((RuntimeError, ValueError), match="xlog1py"):
        ad.special.xlog1py(ad.ones(2), ad.ones(3))


def test_log_ndtr_is_stable_far_left(torch):
    x = np.array([-20.0, -200.0, -2000.0, -1e5])
    ours, theirs = compare_with_torch(ad.special.log_ndtr, torch.special.log_ndtr, x, tol=1e-9)
    assert np.all(np.isfinite(ours.detach().numpy()))


@pytest.mark.parametrize("order", [0, 1])
def test_bessel_j_values_no_gradient(torch, order):
    name = f"bessel_j{order}"
    x = np.array([0.0, 0.5, -2.0, 10.0, 100.0])
    a = ad.tensor(x, requires_grad=True)
    ours = getattr(ad.special, name)(a)
    theirs = getattr(torch.special, name)(torch.tensor(x, requires_grad=True))
    assert_close(ours, theirs, tol=1e-9)  # (torch's j0(10) is off by 1e-10)
    assert not ours.requires_grad and not theirs.requires_grad
    assert getattr(ad.special, name)(ad.tensor([1, 2])).dtype == ad.float32


ALIASES = ["erf", "expit", "log1p", "gammaln", "digamma", "psi", "erfc", "erfinv", "i0",
           "exp2", "expm1", "logit", "sinc"]


@pytest.mark.parametrize("name", ALIASES)
def test_namespace_aliases(torch, name):
    x = RNG.uniform(0.1, 0.9, (3,))
    # (our erf's forward is a rational approximation with a 1.5e-11 relative error; torch's
    # trigamma, digamma's gradient, is accurate to about 1e-9)
    tol = 1e-10 if name == "erf" else 1e-8 if name in ("digamma", "psi") else 1e-12
    compare_with_torch(getattr(ad.special, name), getattr(torch.special, name), x, tol=tol)


def test_namespace_xlogy(torch):
    x, y = RNG.uniform(-1, 1, (2, 3)), RNG.uniform(0.1, 2, (3,))
    compare_with_torch(ad.special.xlogy, torch.special.xlogy, x, y, tol=1e-12)
    compare_with_torch(lambda t: ad.special.logit(t, eps=0.2),
                       lambda t: torch.special.logit(t, eps=0.2), np.array([0.1, 0.5, 0.9]),
                       tol=1e-12)


def test_namespace_reductions(torch):
    x = RNG.standard_normal((2, 3))
    compare_with_torch(lambda t: ad.special.softmax(t, 1), lambda t: torch.special.softmax(t, 1),
                       x)
    compare_with_torch(lambda t: ad.special.log_softmax(t, 0),
                       lambda t: torch.special.log_softmax(t, 0), x)
    compare_with_torch(lambda t: ad.special.logsumexp(t, 1),
                       lambda t: torch.special.logsumexp(t, 1), x)
    assert_close(ad.special.round(ad.tensor(x * 3)), torch.special.round(torch.tensor(x * 3)))


METHODS = ["lgamma", "digamma", "erfinv", "erfc", "i0"]


@pytest.mark.parametrize("name", METHODS)
def test_methods_and_in_place(torch, name):
    x = RNG.uniform(0.1, 0.9, (2, 3))
    tol = 1e-8  # (torch's trigamma, digamma's gradient, is accurate to about 1e-9)
    # recorded in place on a non-leaf, and through a view of one
    compare_with_torch(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x, tol=tol)
    compare_with_torch(lambda t: getattr(t * 1, name + "_")(),
                       lambda t: getattr(t * 1, name + "_")(), x, tol=tol)

    def through_view(lib_t):
        y = lib_t * 1
        getattr(y[1:], name + "_")()
        return y
    compare_with_torch(through_view, through_view, x, tol=tol)
    # outside the graph
    a, t = ad.tensor(x), torch.tensor(x)
    assert getattr(a, name + "_")() is a
    getattr(t, name + "_")()
    assert_close(a, t, tol=tol)


def test_polygamma_and_mvlgamma_in_place(torch):
    x = RNG.uniform(2.0, 3.0, (2, 3))
    compare_with_torch(lambda t: (t * 1).polygamma_(2), lambda t: (t * 1).polygamma_(2), x,
                       tol=1e-10)
    compare_with_torch(lambda t: (t * 1).mvlgamma_(3), lambda t: (t * 1).mvlgamma_(3), x,
                       tol=1e-10)


def test_in_place_on_a_leaf_that_requires_grad_raises(torch):
    with pytest.raises(RuntimeError, match="leaf"):
        ad.tensor([0.5], requires_grad=True).lgamma_()
    with pytest.raises(RuntimeError, match="leaf"):
        torch.tensor([0.5], requires_grad=True).lgamma_()


@pytest.mark.parametrize("name", sorted(SCIPY))
def test_without_scipy_the_error_names_the_extra(monkeypatch, name):
    monkeypatch.setitem(sys.modules, "scipy", None)  # `import scipy.special` now fails
    monkeypatch.setitem(sys.modules, "scipy.special", None)
    ours = UNARY[name][0]
    with pytest.raises(ModuleNotFoundError, match=r'pip install "autodiff\[special\]"') as e:
        ours(ad.tensor([0.5]))
    assert name in str(e.value)


def test_without_scipy_the_numpy_backed_ones_work(monkeypatch, torch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.special", None)
    x = np.array([-2.0, 0.0, 0.3, 5.0])
    compare_with_torch(S.erfc, torch.erfc, x, tol=1e-12)
    compare_with_torch(ad.special.ndtr, torch.special.ndtr, x, tol=1e-12)
    compare_with_torch(ad.special.entr, torch.special.entr, np.abs(x), tol=1e-12)
    with pytest.raises(ModuleNotFoundError, match=r"polygamma.*autodiff\[special\]"):
        S.polygamma(2, ad.tensor([1.0]))
    with pytest.raises(ModuleNotFoundError, match=r"bessel_j0.*autodiff\[special\]"):
        ad.special.bessel_j0(ad.tensor([1.0]))


# --- no gradient, as PyTorch: Bessel functions and orthogonal polynomials -----------------------

NO_GRADIENT_UNARY = [n for n in S._NO_GRADIENT if "polynomial" not in n]
POLYNOMIALS = [n for n in S._NO_GRADIENT if "polynomial" in n]


@pytest.mark.parametrize("name", NO_GRADIENT_UNARY)
def test_no_gradient_functions(torch, name):
    x = np.array([0.0, 0.3, -0.3, 1.0, -2.5, 7.0, 30.0, -30.0, inf, -inf, nan])
    ours = getattr(ad.special, name)(ad.tensor(x, requires_grad=True))
    theirs = getattr(torch.special, name)(torch.tensor(x, requires_grad=True))
    assert not ours.requires_grad and not theirs.requires_grad
    # (torch's J and Y err by 3e-8 at x = 7, its Ai by 2e-6 at x = -2.5)
    tol = 1e-5 if name == "airy_ai" else 1e-7
    assert_close(ours, theirs, tol=tol)
    assert_close(getattr(ad.special, name)(ad.tensor([1, 2])),
                 getattr(torch.special, name)(torch.tensor([1, 2])), rtol=1e-6)
    assert getattr(ad.special, name)(ad.zeros(0, 2)).shape == (0, 2)


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_orthogonal_polynomials(torch, name):
    x = np.array([-1.5, -1.0, -0.3, 0.0, 0.4, 1.0, 2.5])[None, :]
    n = np.array([0, 1, 2, 3, 5, 8, 12, -1])[:, None]
    ours, theirs = getattr(ad.special, name), getattr(torch.special, name)
    assert_close(ours(ad.tensor(x), ad.tensor(n)), theirs(torch.tensor(x), torch.tensor(n)),
                 rtol=1e-9, atol=1e-9)
    assert_close(ours(ad.tensor(x), 3), theirs(torch.tensor(x), 3), rtol=1e-9, atol=1e-12)
    assert_close(ours(0.5, ad.tensor([1, 2])), theirs(0.5, torch.tensor([1, 2])), rtol=1e-6)
    frac = np.array([2.5, -1.0, 0.7])  # degrees truncate toward zero
    assert_close(ours(ad.tensor(x[:, :3]), ad.tensor(frac)),
                 theirs(torch.tensor(x[:, :3]), torch.tensor(frac)), rtol=1e-9, atol=1e-12)
    assert_close(ours(ad.tensor([1, 2]), ad.tensor([1, 2])),
                 theirs(torch.tensor([1, 2]), torch.tensor([1, 2])), rtol=1e-6)  # float32
    assert not ours(ad.tensor(x, requires_grad=True), 2).requires_grad
    assert ours(ad.zeros(0), 3).shape == (0,)


# --- incomplete gamma and Hurwitz zeta: differentiable in their second argument -----------------

@pytest.mark.parametrize("name", ["gammainc", "gammaincc", "zeta"])
def test_gammainc_and_zeta(torch, name):
    first = np.array([[0.5], [2.0], [3.5]]) + (1.2 if name == "zeta" else 0)
    x = np.array([0.3, 1.5, 4.0, 9.0])
    ours, theirs = getattr(ad.special, name), getattr(torch.special, name)
    compare_with_torch(lambda t: ours(ad.tensor(first), t), lambda t: theirs(
        torch.tensor(first), t), x, tol=1e-10)
    if name == "zeta":  # numbers on either side
        compare_with_torch(lambda t: ours(2.5, t), lambda t: theirs(2.5, t), x, tol=1e-10)
        assert_close(ours(ad.tensor(first), 2.5), theirs(torch.tensor(first), 2.5), tol=1e-10)
    else:  # tensors only
        with pytest.raises(TypeError):
            theirs(2.5, torch.tensor(x))
        with pytest.raises(TypeError, match=f"{name}.*Tensor"):
            ours(2.5, ad.tensor(x))
    a, at = pair(x)
    g, = ad.grad(ours(ad.tensor(first), a).sum(), [a], create_graph=True)
    gt, = torch.autograd.grad(theirs(torch.tensor(first), at).sum(), [at], create_graph=True)
    assert_close(ad.grad((g * g).sum(), [a])[0], torch.autograd.grad((gt * gt).sum(), [at])[0],
                 tol=1e-9)
    assert_close(ours(ad.tensor([1, 2]), ad.tensor([1, 3])).dtype == ad.float32, True)


@pytest.mark.parametrize("name", ["gammainc", "gammaincc", "zeta"])
def test_gammainc_and_zeta_first_argument_has_no_derivative(torch, name):
    for lib, err in ((torch, None), (ad, name)):
        a = lib.tensor([2.5], dtype=lib.float64, requires_grad=True)
        y = getattr(lib.special, name)(a, lib.tensor([1.5], dtype=lib.float64))
        with pytest.raises(NotImplementedError, match=err):
            y.sum().backward()


def test_gammainc_at_zero_takes_the_limit(torch):
    """A divergence: at a = 1, x = 0 PyTorch's exp((a - 1) log x - x - lgamma(a)) is 0 * -inf =
    nan; ours takes the limit 1 (elsewhere the two agree, 0 for a > 1 and inf for a < 1)."""
    a = np.array([1.0, 2.0, 0.5])
    x, xt = pair(np.zeros(3))
    ad.special.gammainc(ad.tensor(a), x).sum().backward()
    torch.special.gammainc(torch.tensor(a), xt).sum().backward()
    assert_close(x.grad[1:], xt.grad[1:])
    assert x.grad.numpy()[0] == 1.0 and math.isnan(xt.grad[0])


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_igamma_top_level_and_methods(torch, name):
    a, x = np.array([0.5, 2.0, 3.0]), np.array([0.7, 1.5, 4.0])
    compare_with_torch(lambda t: getattr(ad, name)(ad.tensor(a), t),
                       lambda t: getattr(torch, name)(torch.tensor(a), t), x, tol=1e-10)
    compare_with_torch(lambda t: getattr(ad.tensor(a), name)(t),
                       lambda t: getattr(torch.tensor(a), name)(t), x, tol=1e-10)
    # in place: self (a) is replaced, the gradient flows to other (x)
    compare_with_torch(lambda t: getattr(ad.tensor(a), name + "_")(t),
                       lambda t: getattr(torch.tensor(a), name + "_")(t), x, tol=1e-10)
    s, st = ad.tensor(a), torch.tensor(a)
    assert getattr(s, name + "_")(ad.tensor(x)) is s
    assert_close(s, getattr(st, name + "_")(torch.tensor(x)), tol=1e-12)
