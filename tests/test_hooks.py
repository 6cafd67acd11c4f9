"""Tensor hooks and backward options: a hook may not change a gradient's shape or dtype, and
backward(inputs=...) accumulates into exactly the tensors it names, leaves or not (PyTorch's
behaviour, values and errors; closed forms always, PyTorch itself when installed)."""
import functools

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autodiff as ad
from _torch import to_numpy

pytestmark = [  # PyTorch's warnings about what these tests do on purpose
    pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf"),
    pytest.mark.filterwarnings("ignore:Using backward.. with create_graph=True"),
]


def leaf(v, lib=ad):
    return lib.tensor(np.asarray(v, np.float64), requires_grad=True)


def grad_of(t):
    return None if t.grad is None else to_numpy(t.grad).tolist()


def raised(fn):
    """(exception class, message) of what fn raises (it must raise)."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001  (the class is what is compared)
        return type(e), str(e)
    raise AssertionError("expected an exception")


# --- hooks that change the gradient's shape or dtype ----------------------------------------

def _slice(g):
    return g[:1]


def _to_float32(g):
    return g.float()


def _to_sum(g):
    return g.sum()


def _hooked_pass(lib, where, how, hook):
    """Registers `hook` on a leaf x or on the non-leaf h = 2x, then runs the pass `how`."""
    x = leaf([1.0, 2.0, 3.0], lib)
    h = x * 2
    (x if where == "leaf" else h).register_hook(hook)
    out = (h * h).sum()
    if how == "backward":
        out.backward()
    elif how == "create_graph":
        out.backward(create_graph=True)
    else:
        grad = lib.autograd.grad if lib is not ad else ad.grad
        grad(out, [x if where == "leaf" else h], create_graph=how == "grad_create_graph")


WHERE = ["leaf", "non-leaf"]
HOW = ["backward", "create_graph", "grad", "grad_create_graph"]


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("where", WHERE)
def test_a_hook_that_changes_the_size_raises_naming_hook_shapes_and_fix(where, how):
    with pytest.raises(RuntimeError) as info:
        _hooked_pass(ad, where, how, _slice)
    msg = str(info.value)
    assert msg.startswith("hook '_slice' has changed the size of value")
    assert "(3,)" in msg and "(1,)" in msg and "return None" in msg


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("where", WHERE)
def test_a_hook_that_changes_the_dtype_raises_naming_hook_dtypes_and_fix(where, how):
    with pytest.raises(RuntimeError) as info:
        _hooked_pass(ad, where, how, _to_float32)
    msg = str(info.value)
    assert msg.startswith("hook '_to_float32' has changed the type of value "
                          "(was autodiff.float64 got autodiff.float32)")
    assert "autodiff.float64" in msg


@pytest.mark.parametrize("hook", [_slice, _to_float32, _to_sum, lambda g: g.reshape(1, 3)])
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("where", WHERE)
def test_hook_errors_match_torch(torch, where, how, hook):
    ours, theirs = raised(lambda: _hooked_pass(ad, where, how, hook)), \
        raised(lambda: _hooked_pass(torch, where, how, hook))
    assert ours[0] is theirs[0]
    # PyTorch's text up to its own end (its dtype names differ: torch.FloatTensor / float32)
    head = theirs[1].split(" (was ")[0]
    assert ours[1].startswith(head), (ours[1], theirs[1])


def test_dtype_is_checked_before_shape_as_in_torch():
    def both(g):
        return g[:1].float()
    with pytest.raises(RuntimeError, match=r"^hook 'both' has changed the type of value"):
        _hooked_pass(ad, "leaf", "backward", both)


class _Callable:
    def __call__(self, g):
        return g[:1]


@pytest.mark.parametrize("hook", [_Callable(), functools.partial(lambda k, g: g[:k], 1)])
def test_a_hook_without_a_name_is_reported_as_unknown(hook):
    with pytest.raises(RuntimeError, match=r"^hook '<unknown>' has changed the size of value"):
        _hooked_pass(ad, "non-leaf", "backward", hook)


def test_a_hook_returning_a_non_tensor_raises_type_error_like_torch(torch):
    for lib in (ad, torch):
        with pytest.raises(TypeError, match=r"^expected Variable, but hook returned 'float'"):
            _hooked_pass(lib, "leaf", "backward", lambda g: 3.0)


def test_a_root_hook_that_changes_the_size_raises():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.register_hook(lambda g: g.reshape(1))
    with pytest.raises(RuntimeError, match="has changed the size of value.*shape \\(\\).*\\(1,\\)"):
        y.backward()


@pytest.mark.parametrize("create_graph", [False, True])
def test_hooks_of_the_right_shape_and_dtype_replace_the_gradient(create_graph):
    # h = 2x, out = sum(h^2): dout/dh = 2h = 4x; hooks: h's gradient * 10, x's gradient + 1
    x = leaf([1.0, 2.0, 3.0])
    h = x * 2
    h.retain_grad()
    h.register_hook(lambda g: g * 10)
    x.register_hook(lambda g: g + 1)
    x.register_hook(lambda g: None)  # None keeps the gradient
    (h * h).sum().backward(create_graph=create_graph)
    np.testing.assert_allclose(to_numpy(h.grad), 40 * np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(to_numpy(x.grad), 80 * np.array([1.0, 2.0, 3.0]) + 1)
    assert x.grad.dtype == np.float64 and h.grad.dtype == np.float64
    assert x.grad.requires_grad is create_graph


def test_a_hook_that_removes_itself_does_not_skip_the_next_one():
    x = leaf([1.0, 2.0])
    calls = []

    def once(g):
        calls.append("once")
        handle.remove()

    handle = x.register_hook(once)
    x.register_hook(lambda g: calls.append("second"))
    (x * 1).sum().backward()
    (x * 1).sum().backward()
    assert calls == ["once", "second", "second"]


def test_register_hook_and_retain_grad_without_requires_grad_use_torch_wording(torch):
    for lib in (ad, torch):
        c = lib.ones(3)
        with pytest.raises(RuntimeError, match="^cannot register a hook on a tensor that "
                                               "doesn't require gradient"):
            c.register_hook(lambda g: g)
        with pytest.raises(RuntimeError, match="^can't retain_grad on Tensor that has "
                                               "requires_grad=False"):
            c.retain_grad()


# --- retained gradients are their own memory --------------------------------------------------

def test_a_retained_grad_does_not_share_memory_with_a_leaf_grad():
    # x + 0's rule passes the gradient through unchanged: both .grads must still be separate
    x = leaf([1.0, 2.0, 3.0])
    a = x + 0.0
    a.retain_grad()
    a.sum().backward()
    assert not np.shares_memory(a.grad.data, x.grad.data)
    assert a.grad.data.flags.writeable and x.grad.data.flags.writeable
    x.grad.data += 1
    assert a.grad.tolist() == [1.0, 1.0, 1.0]


def test_create_graph_leaves_never_share_a_grad_object_or_memory():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x + y).sum().backward(create_graph=True)
    assert x.grad is not y.grad
    assert not np.shares_memory(x.grad.data, y.grad.data)
    assert x.grad.data.flags.writeable and y.grad.data.flags.writeable
    assert x.grad.tolist() == [1.0, 1.0] and y.grad.tolist() == [1.0, 1.0]


# --- backward(inputs=...) --------------------------------------------------------------------

def _chain(lib):
    x = leaf([1.0, 2.0, 3.0], lib)
    a = x * 2
    return x, a, (a * 3).sum()


def test_backward_inputs_a_non_leaf_fills_its_grad_and_not_the_leafs():
    x, a, b = _chain(ad)
    b.backward(inputs=[a], retain_graph=True)
    assert grad_of(a) == [3.0, 3.0, 3.0] and x.grad is None
    assert not a.is_leaf and a.retains_grad  # as in PyTorch: it keeps retaining after
    (a * 5).sum().backward()
    assert grad_of(a) == [8.0, 8.0, 8.0] and grad_of(x) == [10.0, 10.0, 10.0]


def test_backward_inputs_accumulates_across_calls():
    x, a, b = _chain(ad)
    b.backward(inputs=[a], retain_graph=True)
    b.backward(inputs=a)  # a single tensor is accepted too
    assert grad_of(a) == [6.0, 6.0, 6.0] and x.grad is None


def test_tensor_backward_and_ad_backward_pass_inputs_through():
    x, y = leaf(2.0), leaf(3.0)
    (x * y).backward(inputs=[y])
    assert x.grad is None and y.grad.item() == 2.0
    ad.backward([(x * y)], inputs=[x])
    assert x.grad.item() == 3.0 and y.grad.item() == 2.0


@pytest.mark.parametrize("empty", [[], ()])
def test_empty_inputs_raise_torch_errors(empty):
    x, a, b = _chain(ad)
    with pytest.raises(RuntimeError, match=r"^`inputs` argument to `backward\(\)` cannot be "
                                           r"empty\."):
        b.backward(inputs=empty)
    with pytest.raises(RuntimeError, match=r"^`inputs` argument to `grad\(\)` cannot be empty\."):
        ad.grad(b, empty)
    assert x.grad is None and a.grad is None


def _edge_cases(lib):
    """Every case of the brief, run the same way on either library; each gives a result row
    (grads of the tensors involved) or the exception's class and message."""
    grad = lib.autograd.grad if lib is not ad else ad.grad

    def nonleaf():
        x, a, b = _chain(lib)
        b.backward(inputs=[a])
        return grad_of(a), grad_of(x)

    def no_requires_grad():
        x = leaf([1.0, 2.0, 3.0], lib)
        c = lib.ones(3, dtype=lib.float64)
        (x * c).sum().backward(inputs=[x, c])

    def grad_no_requires_grad():
        x = leaf([1.0, 2.0, 3.0], lib)
        c = lib.ones(3, dtype=lib.float64)
        grad((x * c).sum(), [c])

    def not_a_tensor():
        x = leaf([1.0, 2.0, 3.0], lib)
        (x * 2).sum().backward(inputs=[3])

    def duplicate_leaf():
        x = leaf([1.0, 2.0, 3.0], lib)
        (x * 2).sum().backward(inputs=[x, x])
        return grad_of(x)

    def duplicate_nonleaf():
        x, a, b = _chain(lib)
        b.backward(inputs=[a, a])
        return grad_of(a), grad_of(x)

    def nonleaf_also_reached_through_its_leaf():  # x feeds a and the output directly
        x = leaf([1.0, 2.0, 3.0], lib)
        a = x * 2
        b = (a * 3).sum() + (x * 5).sum()
        b.backward(inputs=[a, x])
        return grad_of(a), grad_of(x)

    def only_the_nonleaf_of_those():
        x = leaf([1.0, 2.0, 3.0], lib)
        a = x * 2
        b = (a * 3).sum() + (x * 5).sum()
        b.backward(inputs=[a])
        return grad_of(a), grad_of(x)

    def only_the_leaf():
        x = leaf([1.0, 2.0, 3.0], lib)
        a = x * 2
        b = (a * 3).sum() + (x * 5).sum()
        b.backward(inputs=[x])
        return grad_of(a), grad_of(x)

    def unreached():
        x, y = leaf([1.0, 2.0], lib), leaf([3.0, 4.0], lib)
        (x * 2).sum().backward(inputs=[y])
        return grad_of(x), grad_of(y)

    def create_graph():
        x = leaf([1.0, 2.0, 3.0], lib)
        a = x * 2
        (a * a).sum().backward(inputs=[a], create_graph=True)
        ga = a.grad
        first = (grad_of(a), grad_of(x), ga.requires_grad)
        (ga * ga).sum().backward()  # d/dx sum((2a)^2) = 8a * 2 = 32x
        return first, grad_of(x)

    def hooks_on_inputs():
        x = leaf([1.0, 2.0, 3.0], lib)
        a = x * 2
        a.register_hook(lambda g: g * 10)
        x.register_hook(lambda g: g + 1)
        (a * 3).sum().backward(inputs=[a], retain_graph=True)
        only_a = (grad_of(a), grad_of(x))
        (a * 3).sum().backward(inputs=[x])
        return only_a, grad_of(a), grad_of(x)

    def root_as_input():
        x = leaf([1.0, 2.0, 3.0], lib)
        b = (x * 3).sum()
        b.backward(inputs=[b])
        return grad_of(b), grad_of(x)

    def leaf_hook_of_a_non_input_does_not_run():
        x, y = leaf([1.0, 2.0], lib), leaf([3.0, 4.0], lib)
        calls = []
        x.register_hook(lambda g: calls.append(1))
        (x * y).sum().backward(inputs=[y])
        return calls, grad_of(x), grad_of(y)

    cases = [nonleaf, no_requires_grad, grad_no_requires_grad, not_a_tensor, duplicate_leaf,
             duplicate_nonleaf, nonleaf_also_reached_through_its_leaf, only_the_nonleaf_of_those,
             only_the_leaf, unreached, create_graph, hooks_on_inputs, root_as_input,
             leaf_hook_of_a_non_input_does_not_run]
    rows = {}
    for case in cases:
        try:
            rows[case.__name__] = case()
        except Exception as e:  # noqa: BLE001
            rows[case.__name__] = (type(e), str(e))
    return rows


def test_backward_inputs_edge_cases_closed_forms():
    rows = _edge_cases(ad)
    assert rows["nonleaf"] == ([3.0] * 3, None)
    cls, msg = rows["no_requires_grad"]
    assert cls is RuntimeError and msg.startswith(
        "can't retain_grad on Tensor that has requires_grad=False: input 1 of backward()")
    cls, msg = rows["grad_no_requires_grad"]
    assert cls is RuntimeError and msg.startswith(
        "One of the differentiated Tensors does not require grad: input 0 of grad()")
    cls, msg = rows["not_a_tensor"]
    assert cls is RuntimeError and msg.startswith("all inputs have to be Tensors, but got int")
    assert rows["duplicate_leaf"] == [2.0] * 3
    assert rows["duplicate_nonleaf"] == ([3.0] * 3, None)
    assert rows["nonleaf_also_reached_through_its_leaf"] == ([3.0] * 3, [11.0] * 3)
    assert rows["only_the_nonleaf_of_those"] == ([3.0] * 3, None)
    assert rows["only_the_leaf"] == (None, [11.0] * 3)
    assert rows["unreached"] == (None, None)
    assert rows["create_graph"] == (([4.0, 8.0, 12.0], None, True), [32.0, 64.0, 96.0])
    # a's hook scales its gradient before it is stored; a keeps retaining once it was an input
    # (so the second pass adds 30 more); x's hook runs only when x is an input
    assert rows["hooks_on_inputs"] == (([30.0] * 3, None), [60.0] * 3, [61.0] * 3)
    assert rows["root_as_input"] == (1.0, None)
    assert rows["leaf_hook_of_a_non_input_does_not_run"] == ([], None, [1.0, 2.0])


def test_backward_inputs_edge_cases_match_torch(torch):
    ours, theirs = _edge_cases(ad), _edge_cases(torch)
    assert ours.keys() == theirs.keys()
    for name in ours:
        a, t = ours[name], theirs[name]
        if isinstance(t, tuple) and len(t) == 2 and isinstance(t[0], type):
            assert isinstance(a, tuple) and a[0] is t[0], (name, a, t)
            head = t[1].split(" or GradientEdges")[0]  # (autodiff has no GradientEdge)
            assert a[1].startswith(head), (name, a[1], t[1])
        else:
            assert a == t, (name, a, t)


# The property: whichever tensors of a small program are named (leaves, non-leaves, repeated),
# each named one gets its full gradient, and every other tensor's .grad stays None.
# out = sum(exp(x*y) * x) + sum((x*y)^2), a = x*y, b = exp(a)
def _closed_forms(xv, yv):
    a = xv * yv
    b = np.exp(a)
    return {"x": b * (1 + a) + 2 * a * yv, "y": b * xv * xv + 2 * a * xv,
            "a": b * xv + 2 * a, "b": xv}


def _program(lib, xv, yv):
    x, y = leaf(xv, lib), leaf(yv, lib)
    a = x * y
    b = a.exp()
    out = (b * x).sum() + (a * a).sum()
    return {"x": x, "y": y, "a": a, "b": b}, out


names = st.lists(st.sampled_from(["x", "y", "a", "b"]), min_size=1, max_size=5)
values = st.lists(st.floats(-1.5, 1.5), min_size=2, max_size=2)


@given(names, values, values, st.booleans())
def test_backward_inputs_property_closed_form(chosen, xv, yv, create_graph):
    xv, yv = np.array(xv), np.array(yv)
    ts, out = _program(ad, xv, yv)
    out.backward(inputs=[ts[n] for n in chosen], create_graph=create_graph)
    expected = _closed_forms(xv, yv)
    for n, t in ts.items():
        if n in chosen:
            np.testing.assert_allclose(t.grad.data, expected[n], rtol=1e-12, atol=1e-12)
            assert t.grad.dtype == np.float64 and t.grad.shape == (2,)
        else:
            assert t.grad is None, n


@given(names, values, values)
def test_backward_inputs_property_matches_torch(chosen, xv, yv):
    import _torch
    torch = _torch.require_torch()
    xv, yv = np.array(xv), np.array(yv)
    results = []
    for lib in (ad, torch):
        ts, out = _program(lib, xv, yv)
        out.backward(inputs=[ts[n] for n in chosen])
        results.append({n: None if t.grad is None else to_numpy(t.grad) for n, t in ts.items()})
    for n in results[0]:
        if results[1][n] is None:
            assert results[0][n] is None, n
        else:
            np.testing.assert_allclose(results[0][n], results[1][n], rtol=1e-12, atol=1e-12)
