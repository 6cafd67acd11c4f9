"""PyTorch cross-checks of the elementwise families (autodiff/ops/unary.py, binary.py): values,
result dtypes, first and second order gradients, in-place forms and error classes."""
import numpy as np
import pytest

import autodiff as ad
from _torch import assert_close, compare_with_torch, pair, to_numpy

INF, NAN = np.inf, np.nan
# values where the elementwise rules have their edge cases: zeros of both signs, the domain
# bounds of asin/atanh/logit (+-1, 0, 1), infinities and NaN
EDGES = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, INF, -INF, NAN])


def _call(lib, name, *args, **kwargs):
    return getattr(lib, name)(*args, **kwargs)


# --- unary functions -----------------------------------------------------------------------------

# name -> a typical input inside the function's domain
UNARY = {
    "tan": [-1.2, 0.0, 0.7], "asin": [-0.9, 0.0, 0.6], "acos": [-0.9, 0.0, 0.6],
    "atan": [-3.0, 0.0, 2.0], "sinh": [-2.0, 0.0, 1.5], "cosh": [-2.0, 0.0, 1.5],
    "asinh": [-3.0, 0.0, 2.0], "acosh": [1.2, 2.0, 5.0], "atanh": [-0.9, 0.0, 0.6],
    "arcsin": [-0.9, 0.6], "arccos": [-0.9, 0.6], "arctan": [-3.0, 2.0],
    "arcsinh": [-3.0, 2.0], "arccosh": [1.5, 3.0], "arctanh": [-0.5, 0.6],
    "expm1": [-2.0, 0.0, 1e-10, 3.0], "exp2": [-2.0, 0.0, 3.5], "log2": [0.3, 1.0, 8.0],
    "log10": [0.3, 1.0, 100.0], "logit": [0.1, 0.5, 0.75], "sinc": [-1.5, 0.0, 0.25, 2.0],
    "trunc": [-1.5, -0.2, 2.7], "fix": [-1.5, -0.2, 2.7], "frac": [-1.5, -0.2, 2.7],
    "deg2rad": [-90.0, 0.0, 45.0], "rad2deg": [-1.0, 0.0, 3.0], "reciprocal": [-2.0, 0.5, 4.0],
    "positive": [-1.0, 2.0], "negative": [-1.0, 0.0, 2.0], "sgn": [-1.5, 0.0, 2.0],
    "absolute": [-1.5, 0.0, 2.0], "nan_to_num": [-1.5, 0.0, 2.0],
}
def _compare_unary(torch, name, array, **kwargs):
    # (trunc, fix, sgn: piecewise constant, recorded with a zero gradient in both libraries)
    if name == "sgn":  # PyTorch's gradient is a ZeroTensor, which does not convert to numpy
        x, t = pair(array)
        assert_close(ad.sgn(x), torch.sgn(t))
        x.requires_grad_()
        ad.sgn(x).sum().backward()
        assert x.grad.shape == x.shape and not x.grad.numpy().any()
        return
    compare_with_torch(lambda x: _call(ad, name, x, **kwargs),
                       lambda x: _call(torch, name, x, **kwargs), array, tol=1e-12)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_gradients(torch, name):
    a = np.array(UNARY[name])
    _compare_unary(torch, name, a)
    _compare_unary(torch, name, a.reshape(-1, 1) * np.ones(2))  # 2-d
    _compare_unary(torch, name, np.array(a[-1]))  # 0-d
    _compare_unary(torch, name, np.zeros((0, 3)))  # empty
    # the method, which is the same function
    x, t = pair(a)
    assert_close(getattr(x, name)(), getattr(t, name)())


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_at_edge_values(torch, name):
    """zeros, domain bounds, infinities and NaN: values and gradients as PyTorch's"""
    # (abs'(NaN) is NaN in autodiff, 0 in PyTorch: abs's rule, elementwise.py)
    _compare_unary(torch, name, EDGES[:-1] if name == "absolute" else EDGES)


@pytest.mark.parametrize("kwargs", [{"eps": 0.2}, {"eps": 0.0}, {"eps": None}])
def test_logit_eps_clamps_like_torch(torch, kwargs):
    _compare_unary(torch, "logit", np.array([-0.5, 0.0, 0.1, 0.2, 0.5, 0.8, 0.95, 1.0, 1.5]),
                   **kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"nan": 1.5}, {"nan": -1.0, "posinf": 9.0},
                                    {"posinf": 2.0, "neginf": -3.0}])
def test_nan_to_num_replacements(torch, kwargs):
    _compare_unary(torch, "nan_to_num", EDGES, **kwargs)
    x = ad.tensor(EDGES.astype(np.float32))
    assert_close(ad.nan_to_num(x, **kwargs), torch.nan_to_num(torch.tensor(x.data), **kwargs))


@pytest.mark.parametrize("name", ["signbit"])
def test_signbit(torch, name):
    a = np.array([-0.0, 0.0, -1.0, 2.0, -INF, NAN])
    assert_close(ad.signbit(ad.tensor(a)), torch.signbit(torch.tensor(a)))
    assert_close(ad.tensor([-3, 0, 4]).signbit(), torch.tensor([-3, 0, 4]).signbit())


# result dtype (or the exception class) for integer and bool inputs, as in PyTorch
@pytest.mark.parametrize("name", sorted(set(UNARY) | {"signbit"}))
@pytest.mark.parametrize("values", [[3, -2, 0], [True, False]], ids=["int", "bool"])
def test_unary_integer_and_bool_inputs(torch, name, values):
    _same_result_or_error(torch, lambda m: _call(m, name, m.tensor(values)))


def _same_result_or_error(torch, fn):
    """fn(torch) and fn(autodiff): the same values and dtype, or the same exception class."""
    try:
        expected = fn(torch)
    except Exception as e:  # noqa: BLE001 (the class is what is compared)
        with pytest.raises(type(e)):
            fn(ad)
        return
    assert_close(fn(ad), expected, tol=1e-6)


# --- second order ---------------------------------------------------------------------------------

def _second_order(torch, ad_fn, torch_fn, *arrays, tol=1e-10):
    """d/dx of <grad f(x), v> for random v, against torch (create_graph in both)."""
    rng = np.random.default_rng(1)
    xs, ts = zip(*[pair(a) for a in arrays])
    out, expected = ad_fn(*xs), torch_fn(*ts)
    v = rng.standard_normal(to_numpy(expected).shape)
    grads = ad.grad(out, xs, ad.tensor(v), create_graph=True)
    tgrads = torch.autograd.grad(expected, ts, torch.tensor(v), create_graph=True)
    w = [rng.standard_normal(x.shape) for x in xs]
    total = sum((g * ad.tensor(wi)).sum() for g, wi in zip(grads, w))
    ttotal = sum((g * torch.tensor(wi)).sum() for g, wi in zip(tgrads, w))
    if not total.requires_grad:  # piecewise linear: no second-order graph, PyTorch's zeros
        assert not ttotal.requires_grad or not any(
            b is not None and b.any() for b in torch.autograd.grad(ttotal, ts, allow_unused=True))
        return
    tsecond = torch.autograd.grad(ttotal, ts, allow_unused=True)
    second = ad.grad(total, xs, allow_unused=True)
    for a, b in zip(second, tsecond):
        assert_close(a, b, tol=tol)


@pytest.mark.parametrize("name,values", [
    ("tan", [-1.2, 0.3]), ("asin", [-0.5, 0.6]), ("acosh", [1.5, 3.0]), ("atanh", [-0.5, 0.6]),
    ("expm1", [-1.0, 2.0]), ("exp2", [-1.0, 2.0]), ("log10", [0.5, 3.0]), ("logit", [0.2, 0.7]),
    ("sinc", [-1.3, 0.4]), ("reciprocal", [-2.0, 0.5]), ("nan_to_num", [1.0, INF, NAN])])
def test_unary_second_order(torch, name, values):
    _second_order(torch, getattr(ad, name), getattr(torch, name), np.array(values))


@pytest.mark.parametrize("name", ["atan2", "hypot", "xlogy", "logaddexp", "logaddexp2",
                                  "fmod", "remainder", "float_power", "ldexp", "copysign",
                                  "fmax"])
def test_binary_second_order(torch, name):
    x, y = np.array([[0.7, -1.3, 2.1]]), np.array([[1.5], [0.4]])
    _second_order(torch, getattr(ad, name), getattr(torch, name), x, y)


def test_lerp_and_addcdiv_second_order(torch):
    a, b, c = np.array([0.5, -1.0]), np.array([2.0, 0.3]), np.array([[0.2], [0.9]])
    _second_order(torch, ad.lerp, torch.lerp, a, b, c)
    _second_order(torch, lambda x, y, z: ad.addcdiv(x, y, z, value=0.5),
                  lambda x, y, z: torch.addcdiv(x, y, z, value=0.5), a, b, c)


# --- binary functions -----------------------------------------------------------------------------

# name -> (x, y) inside the domain; x broadcasts against y
BINARY = {
    "atan2": ([0.5, -1.5, 2.0], [[1.0], [-0.3]]), "arctan2": ([0.5, -1.5], [[1.0], [-0.3]]),
    "hypot": ([0.5, -1.5, 2.0], [[1.0], [-0.3]]), "copysign": ([0.5, -1.5, 2.0], [[1.0], [-0.3]]),
    "fmod": ([5.5, -5.5, 2.0], [[2.0], [-1.5]]), "remainder": ([5.5, -5.5, 2.0], [[2.0], [-1.5]]),
    "fmax": ([0.5, -1.5, 2.0], [[1.0], [-0.3]]), "fmin": ([0.5, -1.5, 2.0], [[1.0], [-0.3]]),
    "logaddexp": ([0.5, -1.5, 2.0], [[1.0], [-0.3]]),
    "logaddexp2": ([0.5, -1.5, 2.0], [[1.0], [-0.3]]),
    "xlogy": ([0.5, -1.5, 0.0], [[1.0], [0.3]]), "float_power": ([0.5, 1.5, 2.0], [[1.0], [-0.3]]),
    "ldexp": ([0.5, -1.5, 2.0], [[1.0], [-2.0]]), "nextafter": ([0.5, -1.5, 2.0], [[1.0], [-3.0]]),
    "divide": ([0.5, -1.5, 2.0], [[1.0], [-0.3]]), "true_divide": ([0.5, -1.5], [[1.0], [-0.3]]),
    "multiply": ([0.5, -1.5, 2.0], [[1.0], [-0.3]]), "subtract": ([0.5, -1.5], [[1.0], [-0.3]]),
    "clamp_min": ([0.5, -1.5, 2.0], [[1.0], [-0.3]]), "clamp_max": ([0.5, -1.5], [[1.0], [-0.3]]),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values_and_gradients(torch, name):
    x, y = (np.array(a) for a in BINARY[name])
    for a, b in [(x, y), (x[0], y[0, 0]), (np.zeros((0, x.size)), x), (x, np.array(y[1, 0]))]:
        compare_with_torch(lambda p, q: _call(ad, name, p, q),
                           lambda p, q: _call(torch, name, p, q), a, b, tol=1e-12)
    p, q = pair(x)[0], pair(y)[0]
    assert_close(getattr(p, name)(q), getattr(torch.tensor(x), name)(torch.tensor(y)))


@pytest.mark.parametrize("name", ["atan2", "hypot", "copysign", "fmod", "remainder", "fmax",
                                  "fmin", "logaddexp", "logaddexp2", "xlogy", "float_power",
                                  "nextafter", "ldexp"])
def test_binary_at_edge_values(torch, name):
    """every pair of edge values (zeros, +-1, infinities, NaN, ties): values and gradients"""
    x, y = (a.ravel() for a in np.meshgrid(EDGES, EDGES))
    keep = np.ones(x.shape, bool)
    if name in ("fmax", "fmin"):  # ties: test_fmax_fmin_ties_split_evenly
        keep = x != y
    if name == "float_power":  # (pow's rule at a NaN base with exponent 0: NaN, PyTorch 0)
        keep = ~(np.isnan(x) & (y == 0))
    compare_with_torch(lambda p, q: _call(ad, name, p, q),
                       lambda p, q: _call(torch, name, p, q), x[keep], y[keep], tol=1e-12)


def test_fmax_fmin_ties_split_evenly(torch):
    """the project's divergence: tied fmax/fmin share the gradient (PyTorch gives it to input)"""
    for name in ("fmax", "fmin"):
        x, y = ad.tensor([1.0, 2.0], requires_grad=True), ad.tensor([1.0, 3.0],
                                                                      requires_grad=True)
        _call(ad, name, x, y).sum().backward()
        assert x.grad.data[0] == y.grad.data[0] == 0.5


@pytest.mark.parametrize("expr", [
    "m.remainder(t, 2.5)", "t % -2.0", "m.fmod(t, -1.5)",
    "t.fmod(2)", "m.copysign(t, -1.0)", "m.xlogy(t, 3)", "m.xlogy(2.0, t.abs())",
    "m.float_power(t, 2)", "m.float_power(2, t)", "m.lerp(t, t * 2, 0.3)",
    "m.lerp(t, t * 2, t.abs() / 4)", "m.lerp(t, t * 2, m.tensor(0.25, dtype=m.float32))",
    "m.lerp(t, -t, m.tensor(1))", "m.addcmul(t, t, t, value=-0.5)",
    "m.addcdiv(t, t, t + 5, value=2)", "t.addcmul(t, t)", "m.clamp_min(t, 0.5)",
    "t.clamp_max(-0.5)", "m.divide(t, 2)", "m.div(t, 2, rounding_mode=None)",
    # PyTorch's keyword names
    "m.atan2(input=t, other=t * 2 - 1)", "m.lerp(input=t, end=t * 2, weight=0.5)",
    "m.float_power(t.abs(), exponent=2)", "m.addcmul(t, tensor1=t, tensor2=t, value=2)",
    "m.clamp_min(t, min=0.5)", "m.clamp_max(t, max=0.5)", "m.xlogy(input=t, other=t.abs() + 1)",
    "m.remainder(t, other=0.75)", "m.logit(t.abs() / 3, eps=0.1)",
    "m.nan_to_num((t - 0.1).log(), nan=0.5, posinf=1.0, neginf=-1.0)"])
def test_binary_number_operands(torch, expr):
    """Python numbers where PyTorch takes them: values and gradients"""
    a = np.array([-1.7, -0.5, 0.0, 0.4, 2.5])
    compare_with_torch(lambda t: eval(expr, {"m": ad, "t": t}),
                       lambda t: eval(expr, {"m": torch, "t": t}), a, tol=1e-12)


@pytest.mark.parametrize("expr,number", [("m.remainder(-3.5, t)", -3.5), ("4 % t", 4)])
def test_number_remainder_tensor(torch, expr, number):
    """number % tensor: values as PyTorch; gradient -floor(x / y) (PyTorch implements none)"""
    a = np.array([-1.7, -0.5, 0.4, 2.5])
    x, t = pair(a)
    out = eval(expr, {"m": ad, "t": x})
    assert_close(out, eval(expr, {"m": torch, "t": t}))
    out.sum().backward()
    assert_close(x.grad, -np.floor_divide(number, a))


# --- integer-valued ops: rounding division, modulo, bitwise, gcd/lcm ------------------------------

INTS = "m.tensor([7, -7, 5, -5, 0, 12])"
DIVS = "m.tensor([2, 2, -3, -3, 4, 5])"


@pytest.mark.parametrize("expr", [
    f"m.div({INTS}, {DIVS}, rounding_mode='trunc')",
    f"m.div({INTS}, {DIVS}, rounding_mode='floor')",
    f"m.divide({INTS}, 2, rounding_mode='trunc')", f"{INTS}.div(-2.5, rounding_mode='floor')",
    f"m.floor_divide({INTS}, {DIVS})", f"{INTS} // {DIVS}", f"{INTS} // 2.5", f"7 // {DIVS}",
    f"{INTS} % {DIVS}", f"{INTS} % 3", f"-7 % {DIVS}", f"m.fmod({INTS}, {DIVS})",
    f"m.remainder({INTS}, {DIVS})", f"m.remainder({INTS}, 2.5)", f"{INTS} % 2.5",
    f"m.gcd({INTS}, {DIVS})", f"m.lcm({INTS}, {DIVS})",
    f"m.bitwise_and({INTS}, {DIVS})", f"m.bitwise_or({INTS}, 6)", f"m.bitwise_xor(3, {INTS})",
    f"m.bitwise_not({INTS})", f"~{INTS}", f"{INTS} & 6", f"6 | {INTS}", f"6 ^ {INTS}",
    f"{INTS} << 2", "2 << m.tensor([0, 1, 5])", f"{INTS} >> 1", "64 >> m.tensor([0, 1, 5])",
    f"m.bitwise_left_shift({INTS}, m.tensor([1, 2, 3, 0, 1, 2]))",
    f"m.bitwise_right_shift({INTS}, 1)", "m.tensor([5], dtype=m.uint8) << 7",
    "m.tensor([True, False]) & m.tensor([True, True])", "m.tensor([True]) ^ True",
    "m.tensor([True, False]) << 1", "m.bitwise_not(m.tensor([True, False]))",
    "m.tensor([1.5, -2.5, 2.0]) // 0.5", "m.floor_divide(m.tensor([1.0, -1.0]), 0.1)",
    "m.div(m.tensor([1.0, -7.0]), m.tensor([0.1, 2.0]), rounding_mode='trunc')",
    "m.div(m.tensor([1.0, -1.0, 0.0]), 0.0, rounding_mode='floor')",
    "m.heaviside(m.tensor([-1.5, 0.0, 2.0, float('nan')]), m.tensor([0.5]))",
    "m.heaviside(m.tensor([-1, 0, 2]), m.tensor(7))",
    "m.tensor([-1.0, 0.0]).heaviside(m.tensor(3.0))",
    "m.nextafter(m.tensor([1.0, 0.0], dtype=m.float32), m.tensor([2.0, -1.0], dtype=m.float32))",
])
def test_integer_valued_ops_match_torch(torch, expr):
    _same_result_or_error(torch, lambda m: eval(expr, {"m": m}))


def test_rounding_division_has_a_zero_gradient(torch):
    for fn in (lambda x: ad.div(x, 2, rounding_mode="trunc"), lambda x: ad.floor_divide(x, 2),
               lambda x: x // 2, lambda x: ad.div(x, 2, rounding_mode="floor")):
        x = ad.tensor([2.5, -2.5], requires_grad=True)
        out = fn(x)
        assert out.requires_grad
        out.sum().backward()
        assert x.grad.tolist() == [0.0, 0.0]
    # PyTorch: zeros for div(rounding_mode=...); floor_divide raises "derivative not
    # implemented" at backward, where ours gives the zeros (README: deliberate differences)
    t = torch.tensor([2.5, -2.5], requires_grad=True)
    torch.div(t, 2, rounding_mode="trunc").sum().backward()
    assert not t.grad.any()


# --- result dtypes (integer, bool, mixed, 0-d) and PyTorch's errors -----------------------------

DTYPE_CASES = [
    ("m.tensor([1, 2])", "m.tensor([3, -4])"), ("m.tensor([1, 2])", "m.tensor([0.5, 2.0])"),
    ("m.tensor([True, False])", "m.tensor([2, 3])"),
    ("m.tensor([1.5, 2.0], dtype=m.float32)", "m.tensor(2.0, dtype=m.float64)"),
    ("m.tensor([1.5, 2.0], dtype=m.float32)", "m.tensor([2.0, 3.0], dtype=m.float64)"),
    ("m.tensor([1.5, -2.0])", "2"), ("m.tensor([1, 2])", "2.5"), ("3", "m.tensor([1.5, 2.0])"),
]


@pytest.mark.parametrize("name", ["atan2", "hypot", "copysign", "fmod", "remainder", "fmax",
                                  "fmin", "logaddexp", "logaddexp2", "xlogy", "float_power",
                                  "ldexp", "nextafter", "gcd", "lcm", "divide", "heaviside",
                                  "bitwise_and", "bitwise_left_shift", "lerp", "clamp_min"])
@pytest.mark.parametrize("x,y", DTYPE_CASES)
def test_binary_result_dtype_or_error(torch, name, x, y):
    if name == "lerp":
        _same_result_or_error(torch, lambda m: m.lerp(eval(x, {"m": m}), eval(y, {"m": m}), 0.5))
    else:
        _same_result_or_error(torch, lambda m: _call(m, name, eval(x, {"m": m}),
                                                     eval(y, {"m": m})))


@pytest.mark.parametrize("expr", [
    "m.tensor([3, 4]) // 0", "m.tensor([3, 4]) % 0", "m.fmod(m.tensor([3]), m.tensor([0]))",
    "m.remainder(m.tensor([3]), m.tensor(0))", "m.div(m.tensor([3]), 0, rounding_mode='trunc')",
    "m.floor_divide(m.tensor([3]), m.tensor([0]))", "m.div(m.tensor([3.0]), 2, rounding_mode='x')",
    "m.gcd(m.tensor([1.5]), m.tensor([2.0]))", "m.bitwise_and(m.tensor([1.5]), 1)",
    "m.tensor([1.5]) << 1", "m.bitwise_not(m.tensor([1.5]))", "m.atan2(m.tensor([1.0]), 2)",
    "m.hypot(m.tensor([1, 2]), m.tensor([1, 2]))", "m.logaddexp(m.tensor([1, 2]), m.tensor([1]))",
    "m.frac(m.tensor([1, 2]))", "m.heaviside(m.tensor([1.0]), m.tensor([1.0], dtype=m.float64))",
    "m.heaviside(m.tensor([1.0]), 0.5)",
    "m.lerp(m.tensor([1.0]), m.tensor([1.0], dtype=m.float64), 0.5)",
    "m.lerp(m.tensor([1.0]), m.tensor([2.0]), m.tensor([1]))",
    "m.lerp(m.tensor([1, 2]), m.tensor([2, 3]), 0.5)",
    "m.addcdiv(m.tensor([1]), m.tensor([1]), m.tensor([2]))", "m.positive(m.tensor([True]))",
    "m.negative(m.tensor([True]))", "m.fmod(2, m.tensor([1.0]))", "m.copysign(2, m.tensor([1.0]))",
    "m.gcd(m.tensor([4]), 2)", "m.fmax(m.tensor([1.0]), 2.0)",
    "m.nextafter(m.tensor([1, 2]), m.tensor([1]))",
    "m.atan2(m.ones(2, 3), m.ones(2))", "m.tensor([1.0]).float_power_(2)",
    "m.tensor([1, 2]).tan_()", "m.ldexp(m.tensor([1.0]), 2)",
])
def test_errors_match_torch(torch, expr):
    with pytest.raises(Exception) as expected:
        eval(expr, {"m": torch})
    with pytest.raises(expected.type):
        eval(expr, {"m": ad})


# --- in-place forms -------------------------------------------------------------------------------

IN_PLACE = {
    "tan_": [[0.3, -1.0]], "asin_": [[0.3, -0.5]], "acos_": [[0.3, -0.5]], "atan_": [[0.3, -2.0]],
    "sinh_": [[0.3, -2.0]], "cosh_": [[0.3, -2.0]], "asinh_": [[0.3, -2.0]],
    "acosh_": [[1.3, 2.0]], "atanh_": [[0.3, -0.5]], "arcsin_": [[0.3, -0.5]],
    "arccos_": [[0.3, -0.5]], "arctan_": [[0.3, -2.0]], "arcsinh_": [[0.3, -2.0]],
    "arccosh_": [[1.3, 2.0]], "arctanh_": [[0.3, -0.5]], "expm1_": [[0.3, -2.0]],
    "exp2_": [[0.3, -2.0]], "log2_": [[0.3, 2.0]], "log10_": [[0.3, 2.0]], "logit_": [[0.3, 0.6]],
    "sinc_": [[0.3, 0.0]], "frac_": [[1.3, -2.5]], "deg2rad_": [[30.0, -2.0]],
    "rad2deg_": [[0.3, -2.0]], "reciprocal_": [[0.3, -2.0]], "negative_": [[0.3, -2.0]],
    "nan_to_num_": [[NAN, -INF]], "absolute_": [[0.3, -2.0]], "trunc_": [[1.3, -2.5]],
    "fix_": [[1.3, -2.5]], "sgn_": [[1.3, 0.0]],
    "atan2_": [[0.3, -2.0], [1.0, 0.5]], "arctan2_": [[0.3, -2.0], [1.0, 0.5]],
    "hypot_": [[0.3, -2.0], [1.0, 0.5]], "copysign_": [[0.3, -2.0], [-1.0, 0.5]],
    "fmod_": [[2.3, -2.0], [1.0, 0.5]], "remainder_": [[2.3, -2.0], [-1.0, 0.75]],
    "xlogy_": [[0.3, -2.0], [1.5, 0.5]], "ldexp_": [[0.3, -2.0], [1.0, 2.0]],
    "nextafter_": [[0.3, -2.0], [1.0, 0.5]], "divide_": [[0.3, -2.0], [1.0, 0.5]],
    "true_divide_": [[0.3, -2.0], [1.0, 0.5]], "multiply_": [[0.3, -2.0], [1.0, 0.5]],
    "subtract_": [[0.3, -2.0], [1.0, 0.5]], "float_power_": [[0.3, 2.0], [1.5, 0.5]],
    "floor_divide_": [[2.3, -2.0], [1.0, 0.5]], "heaviside_": [[0.0, -2.0], [1.0, 0.5]],
}


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_matches_torch(torch, name):
    """x = leaf * 1, then x.op_(...) and rows of x through a view: values, gradients"""
    arrays = [np.array(a) for a in IN_PLACE[name]]

    def run(lib, through_view):
        def fn(x, *others):
            a = x * 1
            target = a[1:] if through_view else a
            getattr(target, name)(*[o[1:] if through_view else o for o in others])
            return a
        return fn

    def reference(lib, through_view):  # PyTorch's out-of-place op written back (some of its
        def fn(x, *others):            # in-place forms have no derivative: acosh_, asinh_ ...)
            a = x * 1
            args = [o[1:] if through_view else o for o in others]
            out_of_place = name[:-1]
            if through_view:
                return lib.cat([a[:1], getattr(a[1:], out_of_place)(*args)])
            return getattr(a, out_of_place)(*args)
        return fn
    no_grad = name in ("trunc_", "fix_", "sgn_", "floor_divide_", "heaviside_")
    for view in (False, True):
        if no_grad:  # (PyTorch: zero or not implemented gradients; compare values)
            x, t = pair(arrays[0], requires_grad=False)
            others = [pair(a, requires_grad=False) for a in arrays[1:]]
            assert_close(run(ad, view)(x, *[o[0] for o in others]),
                         run(torch, view)(t, *[o[1] for o in others]))
        else:
            compare_with_torch(run(ad, view), reference(torch, view), *arrays, tol=1e-12)


@pytest.mark.parametrize("op,expr", [
    ("%=", "2.5"), ("//=", "2"), ("<<=", "1"), (">>=", "1"), ("&=", "6"), ("|=", "6"),
    ("^=", "6")])
def test_augmented_assignment_is_in_place(torch, op, expr):
    for m in (torch, ad):
        x = m.tensor([7, -7, 5]) if op != "%=" else m.tensor([7.0, -7.0, 5.0])
        before = x
        exec(f"x {op} {expr}", {}, scope := {"x": x})
        assert scope["x"] is before
        if m is torch:
            expected = scope["x"]
    assert_close(scope["x"], expected)


def test_in_place_keeps_the_graph_through_remainder_(torch):
    """x.remainder_(y) recorded: gradients to x and to y, as PyTorch"""
    def fn(lib):
        def f(x, y):
            a = x * 2
            a.remainder_(y)
            return a * a
        return f
    compare_with_torch(fn(ad), fn(torch), np.array([2.3, -2.0, 0.7]), np.array([0.9, 1.5, -0.4]),
                       tol=1e-12)
