"""Where gradients meet, in every path of the backward pass (autodiff/engine.py `_run` and
`_accumulate`), at first and second order.

The pass sums gradients in five places, each its own code: a leaf reached twice (`_accumulate`,
leaf slot), a node reached twice from the roots (`_accumulate`, one output), an output of a
multi-output node reached twice (`_accumulate`, the per-output list), a node's two inputs made by
the node the chain hands off to next (`_run`, `parent is follow`), and a node that already holds a
gradient reached again before it runs (`_run`, `prev + gi`). A gradient subtracted or dropped in
any of them changes a result here. Three kinds of check:

* PATHS: one graph per path, named after it, against its closed form and finite differences;
* random programs (hypothesis): small DAGs of tensors reused at several depths, repeated inputs
  f(a, a), multi-output custom Functions, split / chunk / unbind / topk / max(dim) pieces used
  once, twice or not at all, several roots (the same one twice too), some leaves constant;
* f(x, x) for every catalogued op of two differentiable inputs.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autodiff as ad
from autodiff.testing import gradcheck, gradgradcheck
from catalog import CATALOG, DOMAINS
from test_catalog import arity, draw_case

pytestmark = pytest.mark.filterwarnings("ignore::autodiff.testing.GradcheckWarning")


def leaf(values, requires_grad=True):
    return ad.tensor(np.asarray(values, np.float64), requires_grad=requires_grad)


class SinProductSquare(ad.Function):
    """A node with three outputs: (sin x, x * y, y ** 2); backward in tensor ops (every order),
    with None for outputs that got no gradient (set_materialize_grads(False))."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        ctx.set_materialize_grads(False)
        return ad.sin(x), x * y, y * y

    @staticmethod
    def backward(ctx, g_sin, g_prod, g_square):
        x, y = ctx.saved_tensors
        gx = gy = None
        if g_sin is not None:
            gx = g_sin * ad.cos(x)
        if g_prod is not None:
            gx = g_prod * y if gx is None else gx + g_prod * y
            gy = g_prod * x
        if g_square is not None:
            gy = 2 * y * g_square if gy is None else gy + 2 * y * g_square
        return gx, gy


X = np.array([[0.3, -0.8, 1.1], [0.5, -0.2, 0.7]])
Y = np.array([[-0.4, 0.9, 0.6], [1.2, -1.3, 0.25]])
V = np.array([[1.0, -0.5, 0.75], [-1.25, 0.5, 1.5]])


def _sech2(x):
    return 1 - np.tanh(x) ** 2


# name -> (fn(x, y) -> output or tuple of outputs, d<V, output> / dx and / dy in closed form;
# for a tuple of outputs each is contracted with V)
PATHS = {
    # `_accumulate`, leaf slot: x reached by two edges of two nodes
    "a leaf reached by two paths": (
        lambda x, y: ad.sin(x) + x * y,
        V * (np.cos(X) + Y), V * X),
    # `_accumulate`, one-output node: two roots made by the same node
    "two roots from one node": (
        lambda x, y: (lambda t: (t, t))(ad.tanh(x * y)),
        2 * V * _sech2(X * Y) * Y, 2 * V * _sech2(X * Y) * X),
    # `_accumulate`, leaf slot from the roots: the root is the leaf itself, twice
    "a leaf as both roots": (
        lambda x, y: (x, x, y * 1.0),
        2 * V, V),
    # `_run`, `parent is follow`: both inputs of Add made by the one Tanh node
    "both inputs from the node handed the chain": (
        lambda x, y: _twice(ad.tanh(x * y)) + x,
        2 * V * _sech2(X * Y) * Y + V, 2 * V * _sech2(X * Y) * X),
    # the same, where the second input's gradient is the negative one (a - a = 0 and a / a = 1
    # only if the two halves are summed, not subtracted)
    "x - x and x / x": (
        lambda x, y: (lambda a: (a - a) + a / a + a * y)(ad.sin(x)),
        V * np.cos(X) * Y, V * np.sin(X)),
    # `_run`, `prev + gi`: tanh(x) reached from Add (queued) and then from Mul before it runs
    "a queued node reached again": (
        lambda x, y: (lambda a: a * ad.sin(y) + a)(ad.tanh(x)),
        V * _sech2(X) * (np.sin(Y) + 1), V * np.tanh(X) * np.cos(Y)),
    # the heap: a consumed at depth 1 and depth 6; its gradient is complete only after both
    "consumers at different depths": (
        lambda x, y: (lambda a: _deep(a) * y + a)(ad.sin(x)),
        None, None),
    # `_accumulate`, multi-output node: one output used twice, one once, one not at all
    "one output of a multi-output node used twice": (
        lambda x, y: (lambda o: o[0] * o[0] + o[0] + o[1])(SinProductSquare.apply(x, y)),
        V * (2 * np.sin(X) * np.cos(X) + np.cos(X) + Y), V * X),
    # and all three outputs used, by nodes of different depths, plus a root on an output
    "every output of a multi-output node, and one as a root": (
        lambda x, y: (lambda o: (ad.tanh(o[2]) * o[1] + o[0], o[2]))(SinProductSquare.apply(x, y)),
        None, None),
}


def _twice(a):
    return a + a


def _deep(a):
    for _ in range(5):
        a = ad.tanh(a * 1.2)
    return a


def _contracted(fn, x, y):
    out = fn(x, y)
    outs = out if isinstance(out, tuple) else (out,)
    total = 0
    for o in outs:
        total = total + (o * ad.tensor(V)).sum()
    return total


@pytest.mark.parametrize("name", sorted(PATHS))
def test_gradients_meeting_in_each_engine_path(name):
    fn, dx, dy = PATHS[name]
    x, y = leaf(X), leaf(Y)
    gx, gy = ad.grad(_contracted(fn, x, y), (x, y))
    if dx is not None:
        np.testing.assert_allclose(gx.detach().numpy(), dx, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(gy.detach().numpy(), dy, rtol=1e-12, atol=1e-12)
    gradcheck(fn, (x, y), seed=1)
    gradgradcheck(fn, (x, y), seed=2)
    # each leaf alone requiring grad: the paths then meet with the other input constant
    gradgradcheck(fn, (x, leaf(Y, False)), seed=3)
    gradgradcheck(fn, (leaf(X, False), y), seed=4)


def test_the_create_graph_pass_meets_in_each_path_as_the_array_pass_does():
    """The recorded pass (tensors) and the first-order pass (arrays) sum the same gradients."""
    for name, (fn, _, _) in sorted(PATHS.items()):
        x, y = leaf(X), leaf(Y)
        fast = ad.grad(_contracted(fn, x, y), (x, y))
        slow = ad.grad(_contracted(fn, x, y), (x, y), create_graph=True)
        for a, b in zip(fast, slow):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-13,
                                       err_msg=name)


def test_roots_sharing_a_node_are_summed():
    """grad([y, y, z], x, [u, v, w]) with y and z single-output nodes: u + v reach y's node."""
    x = leaf(X)
    y = ad.tanh(x)
    z = y * 3.0
    u, v, w = (ad.tensor(a) for a in (V, -0.25 * V, np.ones_like(V)))
    g, = ad.grad([y, y, z], x, [u, v, w])
    np.testing.assert_allclose(g.detach().numpy(), (0.75 * V + 3) * _sech2(X), rtol=1e-12)
    x = leaf(X)
    y = ad.tanh(x)
    z = y * 3.0
    ad.backward([z, y, y], [w, u, v])
    np.testing.assert_allclose(x.grad.detach().numpy(), (0.75 * V + 3) * _sech2(X), rtol=1e-12)


def test_a_multi_output_node_sums_each_output_separately():
    """Output k of a multi-output node collects only output k's gradients (its own slot of the
    per-node list), first and second order."""
    x, y = leaf(X), leaf(Y)
    s, p, q = SinProductSquare.apply(x, y)
    loss = (ad.tensor(V) * (s + s * 2 + q)).sum() + (p * 0.5).sum()
    gx, gy = ad.grad(loss, (x, y), create_graph=True)
    np.testing.assert_allclose(gx.detach().numpy(), 3 * V * np.cos(X) + 0.5 * Y, rtol=1e-12)
    np.testing.assert_allclose(gy.detach().numpy(), 2 * V * Y + 0.5 * X, rtol=1e-12)
    hx, = ad.grad(gx.sum(), x)  # d/dx sum(3 V cos x + y / 2)
    np.testing.assert_allclose(hx.detach().numpy(), -3 * V * np.sin(X), rtol=1e-12)


# --- random programs ---------------------------------------------------------------------------

SHAPE = (2, 3)


# Every step maps values in [-2, 2] into [-2, 2] (the leaves are in [-1.5, 1.5]), so a long
# program of products stays where finite differences are accurate.

def _split_rows(a):
    top, bottom = ad.split(a, 1, 0)
    return ad.cat([bottom, top * bottom * 0.5], 0)    # one piece twice


def _chunk_columns(a):
    c0, c1, c2 = ad.chunk(a, 3, 1)
    return ad.cat([c1 * c1 * 0.5, c0, c1], 1)          # c2 unused, c1 three times


def _unbind_columns(a):
    c0, c1, c2 = ad.unbind(a, 1)
    return ad.stack([c2, (c0 + c2) * 0.5, ad.sin(c1)], 1)


def _topk(a):
    values, _ = ad.topk(a, 3, dim=1)                   # a sorted permutation of each row
    return values * a * 0.5


def _minus_max(a):
    return (a - ad.max(a, 1, keepdim=True)[0]) * 0.5


def _multi(a, b):
    s, p, q = SinProductSquare.apply(a, b)
    return (s + p * q * 0.0625) * 0.5


UNARY = {"tanh": ad.tanh, "sin": ad.sin, "scale": lambda a: a * 0.7, "split": _split_rows,
         "chunk": _chunk_columns, "unbind": _unbind_columns, "topk": _topk,
         "minus max": _minus_max}
BINARY = {"add": lambda a, b: (a + b) * 0.5, "sub": lambda a, b: (a - b) * 0.5,
          "mul": lambda a, b: a * b * 0.5, "div": lambda a, b: a / (2.5 + ad.tanh(b)),
          "maximum": ad.maximum, "multi-output": _multi}


@st.composite
def programs(draw, n_leaves=2):
    """Steps (op, i, j): pool[-1] = op(pool[i], pool[j]) over a pool that starts with the
    leaves; outputs: 1-3 pool entries (the same one possibly twice)."""
    steps = []
    for k in range(draw(st.integers(2, 7))):
        size = n_leaves + k
        name = draw(st.sampled_from(sorted(UNARY) + sorted(BINARY)))
        i = draw(st.integers(0, size - 1))
        j = draw(st.one_of(st.just(i), st.integers(0, size - 1)))  # f(a, a) often
        steps.append((name, i, j))
    size = n_leaves + len(steps)
    outputs = [size - 1] + draw(st.lists(st.integers(0, size - 1), max_size=2))
    return steps, outputs


def run_program(program, *leaves):
    steps, outputs = program
    pool = list(leaves)
    for name, i, j in steps:
        pool.append(UNARY[name](pool[i]) if name in UNARY else BINARY[name](pool[i], pool[j]))
    return tuple(pool[k] for k in outputs)


@settings(max_examples=max(20, settings.default.max_examples))
@given(program=programs(), seed=st.integers(0, 2**32 - 1), constant=st.sampled_from([None, 0, 1]))
def test_random_programs_match_finite_differences(program, seed, constant):
    rng = np.random.default_rng(seed)
    xs = [leaf(rng.uniform(-1.5, 1.5, SHAPE), requires_grad=k != constant) for k in range(2)]

    def fn(*leaves):
        return run_program(program, *leaves)
    if not any(o.requires_grad for o in fn(*xs)):
        return  # every output is a constant leaf: nothing to check (gradcheck says so)
    gradcheck(fn, xs, seed=seed)
    gradgradcheck(fn, xs, seed=seed)


# --- f(x, x) for every catalogued op of two differentiable inputs -------------------------------

def _same_input_shape(op, arrays, params):
    """A shape s for which op.fn(t, t) runs with t of shape s (either input's), or None."""
    for a in arrays:
        t = ad.tensor(a)
        try:
            op.fn(t, t, **params)
        except (RuntimeError, ValueError, IndexError, TypeError):
            continue
        return a.shape
    return None


def common_domain(op):
    """A domain of catalog.DOMAINS inside both inputs' domains (for f(x, x)), or None."""
    domains = set(op.domain if isinstance(op.domain, tuple) else (op.domain,)) - {"real"}
    if domains <= {"away", "positive"}:  # (positive values are at least 0.3 from 0)
        return "positive" if "positive" in domains else domains.pop() if domains else "real"
    return domains.pop() if len(domains) == 1 else None


BINARY_OPS = [op for op in CATALOG
              if not op.constants and arity(op) == 2 and common_domain(op) is not None]


@pytest.mark.parametrize("op", BINARY_OPS, ids=lambda op: op.id)
@settings(max_examples=3)
@given(data=st.data())
def test_the_same_tensor_as_both_inputs(op, data):
    """f(x, x): both of the node's gradients go to one tensor and are summed (the engine's
    `parent is follow` hand-off for a recorded x, the leaf slot for a leaf x)."""
    shapes, params, seed = draw_case(data, op)
    domain = common_domain(op)
    rng = np.random.default_rng(seed)
    shape = _same_input_shape(op, [DOMAINS[domain](rng, s) for s in shapes], params)
    if shape is None:  # no shape serves both inputs (mm of 2x3 and 3x4, conv's input and
        # weight, index_copy's values and index): f(x, x) is undefined for this example
        return
    base = DOMAINS[domain](rng, shape)

    def as_leaf(x):  # x a leaf: the leaf slot sums the two gradients
        return op.fn(x, x, **params)

    def as_node(x):  # x made by one node: the chain hand-off sums them
        a = x * 1.0
        return op.fn(a, a, **params)
    for fn in (as_leaf, as_node):
        gradcheck(fn, (leaf(base),), eps=op.eps, atol=1e-6, rtol=op.rtol, seed=seed)
        gradgradcheck(fn, (leaf(base),), eps=max(op.eps, 1e-5), atol=1e-5,
                      rtol=max(op.rtol, 1e-4), seed=seed)


def test_most_binary_ops_take_the_same_tensor_twice():
    """(the guard on the test above: f(x, x) is checked for most two-input ops, not skipped)"""
    assert len(BINARY_OPS) > 150
    assert {"add", "sub", "mul", "div", "maximum", "minimum", "pow"} <= \
        {op.name for op in BINARY_OPS}

