"""Catalog-driven op checks: forward vs numpy, first and second order with autodiff.testing
(gradcheck / gradgradcheck: float64, random upstream vectors, every input element), with every
input requiring grad and, for ops of several differentiable inputs, with only some of them."""
import inspect
import itertools

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings, strategies as st

import autodiff as ad
import autodiff.ops as ops_module
from autodiff import engine
from autodiff.testing import gradcheck, gradgradcheck
from autodiff.testing import strategies as ts
from catalog import (CATALOG, DOMAINS, METHOD_ALIASES, METHOD_IDENTITIES, METHOD_IN_PLACE,
                     METHOD_NON_DIFFERENTIABLE, NAMESPACE_ALIASES, NON_DIFFERENTIABLE,
                     TENSOR_NOT_OPS)

# Kinks and jumps the checker accepts (ties of maximum, masks switching within the step) are
# reported as GradcheckWarning; here they are expected, so they do not fill the summary.
pytestmark = pytest.mark.filterwarnings("ignore::autodiff.testing.GradcheckWarning")

# The catalog's input domains (see catalog.DOMAINS), drawn by hypothesis: constructive, so
# values shrink toward simple ones (0, 1, ties) while staying inside the domain.
# "real" keeps exact zeros but no magnitudes below 1e-3: hypothesis likes values such as 1e-59,
# which stress float64 cancellation (see prod) rather than the gradient rules.
ELEMENTS = {
    "real": st.one_of(st.just(0.0), ts.floats(-2.0, 2.0, min_magnitude=1e-3)),
    "positive": ts.positive(0.3, 2.0),
    "away": ts.away_from(0.0, margin=0.2, min_value=-2.0, max_value=2.0),
    "unit": ts.floats(-0.9, 0.9),
    "between_steps": ts.away_from(*[k / 2 for k in range(-4, 5)], margin=0.1, min_value=-2.0,
                                  max_value=2.0),
    "away_half": ts.away_from(-1.0, -0.5, 0.5, 1.0, margin=0.15, min_value=-2.0, max_value=2.0),
}


def _tensor_strategy(domain, shape):
    if domain == "distinct":  # no ties: amax, max, norm(inf)
        return ts.separated_tensors(shape, margin=0.1, min_value=-2.0)
    return ts.tensors(shape, elements=ELEMENTS[domain])


def draw_case(data, op):
    """The input shapes, the params and a seed for one example of op (no values yet)."""
    shapes = op.shapes(data.draw)
    params = op.params(data.draw, shapes) if op.params else {}
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    return shapes, params, seed


def _domains(op, n):
    return op.domain if isinstance(op.domain, tuple) else (op.domain,) * n


def domain_arrays(op, shapes, seed):
    """Input values from catalog.DOMAINS, seeded: random inside each input's domain (hypothesis
    would start from zeros, where many gradients vanish whichever rule computed them)."""
    rng = np.random.default_rng(seed)
    return [np.asarray(DOMAINS[d](rng, s), np.float64)
            for d, s in zip(_domains(op, len(shapes)), shapes)]


def _draw_case(data, op):
    shapes, params, seed = draw_case(data, op)
    domains = _domains(op, len(shapes))
    arrays = [data.draw(_tensor_strategy(d, s), label=f"input {i}").data
              for i, (d, s) in enumerate(zip(domains, shapes))]
    return arrays, params, seed


def _bind(op, arrays, params):
    """fn over the differentiable inputs only; constants are fixed tensors."""
    const = {i: ad.tensor(arrays[i]) for i in op.constants}
    free = [ad.tensor(a, requires_grad=True) for i, a in enumerate(arrays)
            if i not in op.constants]

    def fn(*xs):
        it = iter(xs)
        args = [const[i] if i in const else next(it) for i in range(len(arrays))]
        return op.fn(*args, **params)
    return fn, free


@pytest.mark.parametrize("op", CATALOG, ids=lambda op: op.id)
@given(data=st.data())
def test_forward_matches_numpy(op, data):
    arrays, params, _ = _draw_case(data, op)
    out = op.fn(*[ad.tensor(a) for a in arrays], **params)
    expected = op.ref(*arrays, **params)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6, atol=1e-9)
    assert out.shape == np.shape(expected)


@pytest.mark.parametrize("op", CATALOG, ids=lambda op: op.id)
@given(data=st.data())
def test_first_order_gradient(op, data):
    arrays, params, seed = _draw_case(data, op)
    fn, free = _bind(op, arrays, params)
    gradcheck(fn, free, eps=op.eps, atol=1e-6, rtol=op.rtol, seed=seed)


@pytest.mark.parametrize("op", CATALOG, ids=lambda op: op.id)
def test_second_order_gradient(op):
    @settings(max_examples=max(5, settings.default.max_examples // 3) if op.slow else
              settings.default.max_examples)
    @given(data=st.data())
    def check(data):
        arrays, params, seed = _draw_case(data, op)
        fn, free = _bind(op, arrays, params)
        gradgradcheck(fn, free, eps=max(op.eps, 1e-5), atol=1e-5, rtol=max(op.rtol, 1e-4),
                      seed=seed)
    check()


_ARITY = {}


def arity(op):
    """How many differentiable inputs op takes (its shapes drawn once, outside any test)."""
    n = _ARITY.get(id(op))
    if n is None:
        count = st.composite(lambda draw: len(op.shapes(draw)) - len(op.constants))()
        n = _ARITY[id(op)] = find(count, lambda _: True, settings=settings(
            database=None, phases=[Phase.generate], max_examples=1))
    return n


def proper_subsets(n):
    """The non-empty proper subsets of n differentiable inputs checked besides all of them:
    every one for n <= 3; beyond, each input alone and each input left out (2n subsets), so
    that every input is checked as the only one requiring grad and as the only constant one.

    >>> proper_subsets(3)
    [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2)]
    >>> proper_subsets(4)[:5], len(proper_subsets(4))
    ([(0,), (1,), (2,), (3,), (1, 2, 3)], 8)
    """
    if n <= 3:
        return [s for k in range(1, n) for s in itertools.combinations(range(n), k)]
    return ([(i,) for i in range(n)]
            + [tuple(j for j in range(n) if j != i) for i in range(n)])


SEVERAL_INPUTS = [op for op in CATALOG if arity(op) >= 2]


# A rule may hand back a gradient for an input that needs none only where that costs nothing:
# g itself (Add), or a value it computes for another input anyway (listed here, with why).
UNNEEDED_GRADIENT_ALLOWED = {
    "SolveBackward": "dB = solve(A^T, g) is computed for dA = -dB X^T anyway",
}


def unneeded_gradients(out):
    """'<node> input i' for each rule in out's graph that returned a gradient, other than g
    itself, for an input whose needs_input_grad flag is False (work thrown away: the engine
    drops it)."""
    found = []

    def visit(node, g):
        grads = engine.rule_on_arrays(node, g, engine.inputs_as_recorded(node))
        if node.name not in UNNEEDED_GRADIENT_ALLOWED:
            found.extend(f"{node.name} input {i}" for i, (gi, need) in enumerate(
                zip(grads, node.needs_input_grad)) if gi is not None and not need and gi is not g)
        return grads
    engine.walk([out], [np.ones(out.shape, out.dtype)], visit)
    return found


# A rule that reads another input's needs_input_grad flag, or computes an input's gradient only
# when every input needs one, is wrong only when some inputs do not require grad. Two examples
# per op (values from DOMAINS; one for slow entries), each with every subset of proper_subsets:
# about a tenth of the catalog's time.
@pytest.mark.parametrize("op", SEVERAL_INPUTS, ids=lambda op: op.id)
def test_gradients_with_only_some_inputs_requiring_grad(op):
    @settings(max_examples=1 if op.slow else 2)
    @given(data=st.data())
    def check(data):
        shapes, params, seed = draw_case(data, op)
        arrays = domain_arrays(op, shapes, seed)
        free = [i for i in range(len(arrays)) if i not in op.constants]

        def fn(*xs):
            return op.fn(*xs, **params)
        for subset in proper_subsets(len(free)):
            wanted = {free[k] for k in subset}
            inputs = tuple(ad.tensor(a, requires_grad=i in wanted) for i, a in enumerate(arrays))
            unneeded = unneeded_gradients(fn(*inputs))
            assert not unneeded, f"rules computed gradients for inputs that need none: {unneeded}"
            gradcheck(fn, inputs, eps=op.eps, atol=1e-6, rtol=op.rtol, seed=seed)
            gradgradcheck(fn, inputs, eps=max(op.eps, 1e-5), atol=1e-5,
                          rtol=max(op.rtol, 1e-4), seed=seed)
    check()


def test_subsets_cover_every_op_of_several_inputs():
    """(the guard on the test above: the arity scan finds the multi-input ops)"""
    names = {op.name for op in SEVERAL_INPUTS}
    assert {"maximum", "minimum", "linear", "mul", "div", "pow", "where", "addcmul",
            "conv2d"} <= names
    assert all(arity(op) == 1 for op in CATALOG if op.name in ("exp", "sum", "softmax"))


# (a property of the dtype path, not of the values: a fifth of the profile's examples suffice)
@pytest.mark.parametrize("op", CATALOG, ids=lambda op: op.id)
@settings(max_examples=max(5, settings.default.max_examples // 5))
@given(data=st.data())
def test_gradient_dtype_and_shape_in_float32(op, data):
    arrays, params, _ = _draw_case(data, op)
    fn, free = _bind(op, [a.astype(np.float32) for a in arrays], params)
    xs = [x.detach().to(ad.float32).requires_grad_() for x in free]
    out = fn(*xs)
    assert out.requires_grad
    out.backward(ad.ones_like(out))
    for x in xs:
        assert x.grad is not None
        assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


def public_ops():
    names = set()
    for name, obj in vars(ops_module).items():
        if not name.startswith("_") and inspect.isfunction(obj):
            names.add(name)
    for space in (ad.linalg, ad.special):  # "linalg.det", "special.gammaln"
        names |= {f"{space.__name__.split('.')[-1]}.{n}" for n in space.__all__}
    return names | {"clone"}


def tensor_methods():
    """The public methods and properties of ad.Tensor and the operators (dunders) it defines."""
    names = set()
    for klass in ad.Tensor.__mro__[:-1]:  # all but object
        names |= {n for n in vars(klass) if not n.startswith("_") or n.endswith("__")}
    return names


def test_every_public_op_is_in_the_catalog():
    covered = {op.name for op in CATALOG}
    missing = sorted(public_ops() - covered - NON_DIFFERENTIABLE - set(NAMESPACE_ALIASES))
    assert not missing, f"ops missing from tests/catalog.py: {missing}"
    aliased = set(NAMESPACE_ALIASES.values())
    assert aliased <= covered | NON_DIFFERENTIABLE, (
        f"namespace aliases of ops not in the catalog: {sorted(aliased - covered)}")
    # ops that exist only as Tensor methods or operators: catalogued under the method's name,
    # or listed, once, with what they are (an alias of a catalogued op, no gradient, ...)
    groups = {"METHOD_ALIASES": set(METHOD_ALIASES), "METHOD_IDENTITIES": METHOD_IDENTITIES,
              "METHOD_NON_DIFFERENTIABLE": METHOD_NON_DIFFERENTIABLE,
              "METHOD_IN_PLACE": METHOD_IN_PLACE, "TENSOR_NOT_OPS": TENSOR_NOT_OPS}
    methods = tensor_methods()
    method_only = methods - public_ops()
    assert {"T", "masked_fill_", "type_as", "__radd__"} <= method_only  # the scan works
    listed = set().union(*groups.values())
    unlisted = sorted(method_only - covered - listed)
    assert not unlisted, (f"Tensor methods with no function form, neither catalogued in "
                          f"tests/catalog.py nor listed in its METHOD_* sets: {unlisted}")
    stale = sorted(listed - methods)
    assert not stale, f"listed in tests/catalog.py but not Tensor methods: {stale}"
    for name in sorted(listed):
        where = [g for g, names in groups.items() if name in names]
        where += ["CATALOG"] if name in covered else []
        where += ["a function form"] if name in public_ops() else []
        assert len(where) == 1, f"Tensor.{name} is in {where}; it belongs in exactly one"
    targets = {t for v in METHOD_ALIASES.values() for t in ((v,) if isinstance(v, str) else v)}
    assert targets <= covered, f"aliases of ops not in the catalog: {sorted(targets - covered)}"


# nn.functional: each differentiable function is catalogued as "F.<name>", or is the autodiff op
# of the same name (F.conv2d is ad.conv2d), or is listed here with what covers it instead.
F_COVERED_ELSEWHERE = {
    "unfold": "im2col", "fold": "col2im",  # (Tensor.unfold is a different op)
    "upsample": "F.interpolate", "upsample_nearest": "F.interpolate",
    "upsample_bilinear": "F.interpolate",  # deprecated aliases
    "conv_tbc": "conv1d",  # conv1d between two permutes; tests/nn/test_torch_conv.py
    **{f"{name}_": f"F.{name}" for name in (  # in-place forms; tests/nn/test_torch_activations.py
        "celu", "elu", "hardtanh", "leaky_relu", "rrelu", "selu", "threshold", "relu")},
}
F_NOT_DIFFERENTIABLE = {
    "one_hot": "integer output",
    "dropout": "a random mask times a constant: statistics in tests/nn/test_layers.py",
}


def test_every_nn_functional_op_is_in_the_catalog():
    import importlib
    import pkgutil

    import nn.functional as F
    covered = {op.name for op in CATALOG}
    names = set()
    for module in pkgutil.iter_modules(F.__path__):
        if not module.name.startswith("_"):
            names |= set(importlib.import_module(f"nn.functional.{module.name}").__all__)
    functions = {n for n in names if callable(getattr(F, n))}
    missing = sorted(n for n in functions - set(F_COVERED_ELSEWHERE) - set(F_NOT_DIFFERENTIABLE)
                     if f"F.{n}" not in covered and n not in covered)
    assert not missing, f"nn.functional functions missing from the catalog: {missing}"
    assert set(F_COVERED_ELSEWHERE.values()) <= covered, \
        sorted(set(F_COVERED_ELSEWHERE.values()) - covered)
    stale = sorted((set(F_COVERED_ELSEWHERE) | set(F_NOT_DIFFERENTIABLE)) - functions)
    assert not stale, f"listed but not nn.functional functions: {stale}"
