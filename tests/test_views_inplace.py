"""Views, in-place ops and aliasing with PyTorch's semantics (issue 12).

1. Random programs of views + in-place + out-of-place ops (tests/_programs.py) run in autodiff
   and in PyTorch: same values, versions and gradients, and an error exactly where PyTorch
   raises one (same class, same statement); without PyTorch, against their out-of-place form.
2. Every reproduction of the issue, with PyTorch's answer.
3. The storage/view API (_base, _is_view, _version, data_ptr, storage_offset, stride,
   is_contiguous, contiguous), what shares memory and what copies, and PyTorch's refusals.
4. Second order through in-place history.

Tests taking a `lib` argument run once with autodiff and once with torch (skipped when torch is
not installed): one body, PyTorch's answer written out in it. Known bugs are strict xfails of
the autodiff case only (`known_bug`); tests/_programs.py's KNOWN_BUGS keeps the random programs
clear of them.
"""
import re
import threading

import numpy as np
import pytest
from hypothesis import assume, given, settings

import autodiff as ad
from _programs import Program, Stmt, facts, finite, known_divergence, programs, run, tensors
from _torch import require_torch

RTOL, ATOL = 1e-10, 1e-12
SCALE = max(1, settings.default.max_examples // 25)  # the profile's example count sets ours


@pytest.fixture(params=["autodiff", "torch"])
def lib(request):
    """The library under test: autodiff, or torch (skipped when it is not installed)."""
    return ad if request.param == "autodiff" else require_torch()


def known_bug(reason):
    """Runs the test with torch (it must pass: that is PyTorch's answer) and with autodiff as a
    strict xfail (the bug: remove the mark once it is fixed)."""
    return pytest.mark.parametrize("lib", [
        "torch", pytest.param("autodiff", marks=pytest.mark.xfail(strict=True, reason=reason))],
        indirect=True)


def val(t):
    """A tensor's values as a float64 ndarray (either library)."""
    return np.asarray(t.tolist(), dtype=np.float64)


def grad_of(lib):
    return ad.grad if lib is ad else lib.autograd.grad


def shares_memory(lib, a, b):
    if lib is ad:
        return np.shares_memory(a.data, b.data)
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


MODIFIED = "one of the variables needed for gradient computation has been modified by an " \
           "inplace operation"


# --- 1. random programs ------------------------------------------------------------------------

def _same_error(ours, theirs, program, who="torch"):
    where = (f"\n{program!r}\nautodiff: statement {ours.failed_at} {ours.error!r}"
             f"\n{who}: statement {theirs.failed_at} {theirs.error!r}")
    assert ours.failed_at == theirs.failed_at, "raises at a different statement" + where
    if theirs.error is not None:
        assert type(ours.error) is type(theirs.error), "a different exception class" + where


def _same_state(ours, theirs, program, *, strict_none=True, views=True):
    """Every tensor the program bound: values, requires_grad, is_leaf (and _is_view(),
    _version); every leaf's .grad (None vs a tensor too, unless strict_none is off) unless the
    program raised (a backward that raises may have filled some gradients first). Views made
    under no_grad are compared by value only (see test_no_grad_view_of_a_tensor_that_requires_
    grad_requires_grad)."""
    a, t = tensors(ours), tensors(theirs)
    assert list(a) == list(t), f"different names bound\n{program!r}"
    for name in t:
        x, y = facts(a[name]), facts(t[name])
        msg = f"{name}\n{program!r}"
        np.testing.assert_allclose(x["values"], y["values"], rtol=RTOL, atol=ATOL,
                                   err_msg="values of " + msg)
        if name in program.quirks:
            continue
        for key in ("requires_grad", "is_leaf") + (("_is_view", "_version") if views else ()):
            assert x[key] == y[key], f"{key}: {x[key]} vs the reference's {y[key]}, of {msg}"
        if theirs.failed_at is not None:
            continue
        gx, gy = x.get("grad"), y.get("grad")
        if isinstance(gx, np.ndarray) and isinstance(gy, np.ndarray):
            np.testing.assert_allclose(gx, gy, rtol=RTOL, atol=ATOL, err_msg="grad of " + msg)
        elif strict_none or not (gx is None or gy is None):
            assert type(gx) is type(gy) and gx == gy, f"grad {gx!r} vs the reference's {gy!r}: " \
                                                      f"{msg}"
        else:
            assert not np.any(gx if gy is None else gy), f"grad zero vs None of {msg}"


@settings(max_examples=8 * SCALE * 25)
@given(program=programs())
def test_random_programs_match_torch(program):
    """Values, requires_grad, is_leaf, _is_view(), _version of every tensor, every leaf's
    gradient, identity kept by every in-place op, and where (and with what class) it raises."""
    torch = require_torch()
    theirs = run(program, torch)
    assume(finite(theirs) and not known_divergence(program, theirs))
    ours = run(program, ad)
    _same_error(ours, theirs, program)
    assert ours.identity == theirs.identity, f"an in-place op rebound its tensor\n{program!r}"
    _same_state(ours, theirs, program)


@settings(max_examples=4 * SCALE * 25)
@given(program=programs(aliasing=False))
def test_random_programs_match_their_out_of_place_form(program):
    """Without aliasing (no views, no detach(), ...), `t.add_(o)` computes `t = t + o`, and so
    on: same values and gradients (a zero gradient may be None), identity kept. Programs that
    raise are PyTorch's business (the test above)."""
    ours = run(program, ad)
    assume(ours.error is None and finite(ours))
    reference = run(program, ad, out_of_place=True)
    assert reference.error is None, f"{reference.error!r}\n{program.source(True)}"
    assert all(kept for _, kept in ours.identity), f"an in-place op rebound\n{program!r}"
    _same_state(ours, reference, program, strict_none=False, views=False)


def test_the_comparison_catches_a_dropped_in_place_op():
    """The runner and the comparison are not vacuous: a program and its out-of-place form
    agree; without its in-place statement they do not."""
    program = Program()
    program.stmts = [
        Stmt("v0 = lib.tensor(np.array([1.0, 2.0]), requires_grad=True)"),
        Stmt("v1 = v0 * 1"),
        Stmt("_r = v1.mul_(v0)", "v1 = v1 * v0", "v1", True),
        Stmt("loss = (v1 * lib.tensor(np.array([1.0, 3.0]))).sum()"),
        Stmt("loss.backward()")]
    ours = run(program, ad)
    assert ours.error is None and ours.identity == [(2, True)]
    _same_state(ours, run(program, ad, out_of_place=True), program, views=False)
    np.testing.assert_array_equal(ours.ns["v0"].grad.detach().numpy(), [2.0, 12.0])
    dropped = Program()
    dropped.stmts = program.stmts[:2] + program.stmts[3:]
    with pytest.raises(AssertionError, match="(values|grad) of v[01]"):
        _same_state(ours, run(dropped, ad), program, views=False)


# --- 2. the reproductions --------------------------------------------------------------

def test_write_through_a_chained_index_reaches_the_base(lib):
    x = lib.ones(2, 3, requires_grad=True)
    a = x * 1
    a[0][1] = 5.
    a.sum().backward()
    assert val(a)[0, 1] == 5 and val(a).sum() == 10
    np.testing.assert_array_equal(val(x.grad), [[1, 0, 1], [1, 1, 1]])


def test_zeroing_a_detached_alias_of_a_saved_output_raises(lib):
    w = lib.zeros(2, requires_grad=True)
    e = w.exp()
    e.detach().zero_()
    assert e._version == 1 and val(e).tolist() == [0, 0]
    with pytest.raises(RuntimeError, match=MODIFIED + ".*is at version 1; expected version 0"):
        e.sum().backward()


def test_filling_a_slice_of_a_saved_input_raises(lib):
    x = lib.ones(4)
    w = lib.ones(4, requires_grad=True)
    y = (x * w).sum()
    x[:2].fill_(7.)
    assert x._version == 1
    with pytest.raises(RuntimeError, match=MODIFIED + ".*is at version 1; expected version 0"):
        y.backward()


def test_a_no_grad_update_through_a_view_of_a_saved_leaf_raises(lib):
    x = lib.ones(2, requires_grad=True)
    y = (x * x).sum()
    with lib.no_grad():
        x[:1].mul_(10.)
    assert val(x).tolist() == [10, 1]
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()


def test_detach_in_place_does_not_cut_the_recorded_graph(lib):
    w = lib.ones(2, requires_grad=True)
    a = w * 2
    b = (a * 3).sum()
    a.detach_()
    assert a.is_leaf and not a.requires_grad
    b.backward()
    np.testing.assert_array_equal(val(w.grad), [6, 6])


def test_backward_inputs_fill_a_non_leaf(lib):
    x = lib.ones(2, requires_grad=True)
    non_leaf = x * 2
    y = (non_leaf * non_leaf).sum()
    y.backward(inputs=[non_leaf])
    np.testing.assert_array_equal(val(non_leaf.grad), [4, 4])  # 2 * non_leaf
    assert x.grad is None


def test_a_hook_that_changes_the_size_raises(lib):
    x = lib.ones(2, requires_grad=True)
    x.register_hook(lambda g: g[:1])
    with pytest.raises(RuntimeError, match="hook '<lambda>' has changed the size of value"):
        (x * 2).sum().backward()


def test_augmented_assignment_changes_the_same_object(lib):
    x = lib.ones(2, requires_grad=True)
    a = x * 1
    b = a
    a += 1
    assert b is a and val(b).tolist() == [2, 2] and a._version == 1
    a.sum().backward()
    np.testing.assert_array_equal(val(x.grad), [1, 1])


def test_concurrent_backward_passes_lose_no_update(lib):
    w = lib.zeros(3, requires_grad=True)

    def work():
        for _ in range(200):
            (w * 1.0).sum().backward()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(val(w.grad), [1600] * 3)


# --- 3. storage and views ----------------------------------------------------------------------

def _x(lib):
    return lib.tensor(np.arange(24.).reshape(2, 3, 4))  # float64: offsets below are 8 bytes


# name -> (view op, PyTorch's (storage_offset, stride, is_contiguous, shape))
VIEWS = {
    "x[1]": (lambda x: x[1], (12, (4, 1), True, (3, 4))),
    "x[:, 1:]": (lambda x: x[:, 1:], (4, (12, 4, 1), False, (2, 2, 4))),
    "x[..., ::2]": (lambda x: x[..., ::2], (0, (12, 4, 2), False, (2, 3, 2))),
    "x[0, 1]": (lambda x: x[0, 1], (4, (1,), True, (4,))),
    "x[1, 2, 3]": (lambda x: x[1, 2, 3], (23, (), True, ())),
    "x[:]": (lambda x: x[:], (0, (12, 4, 1), True, (2, 3, 4))),
    "x[...]": (lambda x: x[...], (0, (12, 4, 1), True, (2, 3, 4))),
    "permute": (lambda x: x.permute(2, 1, 0), (0, (1, 4, 12), False, (4, 3, 2))),
    "x[0].T": (lambda x: x[0].T, (0, (1, 4), False, (4, 3))),
    "x[0].t()": (lambda x: x[0].t(), (0, (1, 4), False, (4, 3))),
    "mT": (lambda x: x.mT, (0, (12, 1, 4), False, (2, 4, 3))),
    "transpose": (lambda x: x.transpose(0, 2), (0, (1, 4, 12), False, (4, 3, 2))),
    "swapaxes": (lambda x: x.swapaxes(0, 1), (0, (4, 12, 1), False, (3, 2, 4))),
    "view": (lambda x: x.view(6, 4), (0, (4, 1), True, (6, 4))),
    "view -1": (lambda x: x.view(-1), (0, (1,), True, (24,))),
    "view_as": (lambda x: x.view_as(x.reshape(6, 4)), (0, (4, 1), True, (6, 4))),
    "view of a slice": (lambda x: x[:, 1:].view(2, 8), (4, (12, 1), False, (2, 8))),
    "reshape": (lambda x: x.reshape(-1), (0, (1,), True, (24,))),
    "reshape of a transpose": (lambda x: x[0].T.reshape(4, 3), (0, (1, 4), False, (4, 3))),
    "unsqueeze": (lambda x: x.unsqueeze(1), (0, (12, 12, 4, 1), True, (2, 1, 3, 4))),
    "squeeze": (lambda x: x[:, :1].squeeze(1), (0, (12, 1), False, (2, 4))),
    "flatten": (lambda x: x.flatten(), (0, (1,), True, (24,))),
    "flatten(1)": (lambda x: x.flatten(1), (0, (12, 1), True, (2, 12))),
    "expand": (lambda x: x[:, :1].expand(2, 5, 4), (0, (12, 0, 1), False, (2, 5, 4))),
    "broadcast_to": (lambda x: x[0, 0].broadcast_to((3, 4)), (0, (0, 1), False, (3, 4))),
    "split": (lambda x: x.split(1, dim=1)[1], (4, (12, 4, 1), False, (2, 1, 4))),
    "chunk": (lambda x: x.chunk(2, dim=2)[1], (2, (12, 4, 1), False, (2, 3, 2))),
    "unbind": (lambda x: x.unbind(1)[2], (8, (12, 1), False, (2, 4))),
    "x[None]": (lambda x: x[None], (0, (24, 12, 4, 1), True, (1, 2, 3, 4))),
    "narrow": (lambda x: x.narrow(1, 1, 2), (4, (12, 4, 1), False, (2, 2, 4))),
    "select": (lambda x: x.select(1, 1), (4, (12, 1), False, (2, 4))),
}
IDENTITY = (0, (12, 4, 1), True, (2, 3, 4))
VIEWS.update({
    "reshape to the same shape": (lambda x: x.reshape(2, 3, 4), IDENTITY),
    "view to the same shape": (lambda x: x.view(2, 3, 4), IDENTITY),
    "view_as itself": (lambda x: x.view_as(x), IDENTITY),
    "reshape_as itself": (lambda x: x.reshape_as(x), IDENTITY),
    "identity permute": (lambda x: x.permute(0, 1, 2), IDENTITY),
    "transpose(1, 1)": (lambda x: x.transpose(1, 1), IDENTITY),
    "squeeze without unit dims": (lambda x: x.squeeze(), IDENTITY),
    "expand to the same shape": (lambda x: x.expand(2, 3, 4), IDENTITY),
    "expand_as itself": (lambda x: x.expand_as(x), IDENTITY),
    "diagonal": (lambda x: x.diagonal(0, 1, 2), (0, (12, 5), False, (2, 3))),
})
VIEW_BUGS = {}


def _cases(names, bugs):
    """(name, library) pairs, autodiff's a strict xfail where `bugs` names a bug."""
    out = []
    for name in names:
        out.append(pytest.param(name, "torch", id=f"torch-{name}"))
        marks = [pytest.mark.xfail(strict=True, reason=bugs[name])] if name in bugs else []
        out.append(pytest.param(name, "autodiff", marks=marks, id=f"autodiff-{name}"))
    return out


@pytest.mark.parametrize("name, which", _cases(VIEWS, VIEW_BUGS))
def test_a_view_shares_storage_and_reports_it_as_torch_does(name, which):
    lib = ad if which == "autodiff" else require_torch()
    make, (offset, stride, contiguous, shape) = VIEWS[name]
    x = _x(lib)
    v = make(x)
    assert v is not x, "a view is a new tensor"
    assert v._is_view() and v._base is x and x._base is None and not x._is_view()
    assert shares_memory(lib, v, x)
    assert v.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    assert v.data_ptr() - x.data_ptr() == 8 * offset
    assert (v.storage_offset(), tuple(v.stride()), v.is_contiguous(), tuple(v.shape)) == \
        (offset, stride, contiguous, shape)


def test_a_view_of_a_view_has_the_first_base(lib):
    x = _x(lib)
    v = x[1][2:].T
    assert v._base is x and v.storage_offset() == 20 and tuple(v.stride()) == (1, 4)
    assert x[0].data_ptr() == x.data_ptr() and x[1].data_ptr() == x.data_ptr() + 96


def test_detach_shares_storage_and_version_but_is_not_a_view(lib):
    w = lib.ones(2, 3, requires_grad=True)
    a = w * 1
    d = a.detach()
    assert not d._is_view() and d._base is None and not d.requires_grad and d.is_leaf
    assert d.data_ptr() == a.data_ptr() and shares_memory(lib, d, a)
    d[0, 0] = 7.0
    assert val(a)[0, 0] == 7 and a._version == d._version == 1


# name -> an op that copies (its result is never a view and never shares memory)
COPIES = {
    "clone": lambda lib, x: x.clone(),
    "advanced index": lambda lib, x: x[[0, 1]],
    "boolean mask": lambda lib, x: x[x > 3],
    "reshape of a transpose": lambda lib, x: x.mT.reshape(-1),
    "reshape of a slice": lambda lib, x: x[:, 1:].reshape(-1),
    "contiguous of a transpose": lambda lib, x: x.mT.contiguous(),
    "flip": lambda lib, x: x.flip(0),
    "cat of one tensor": lambda lib, x: lib.cat([x]),
    "stack of one tensor": lambda lib, x: lib.stack([x]),
    "repeat": lambda lib, x: x.repeat(1, 1, 1),
}


@pytest.mark.parametrize("name", COPIES)
def test_ops_that_copy_share_no_memory(lib, name):
    x = _x(lib)
    y = COPIES[name](lib, x)
    assert y is not x and not y._is_view() and y._base is None
    assert not shares_memory(lib, y, x)
    before = val(x)
    y.add_(1.0)  # changes the copy only
    np.testing.assert_array_equal(val(x), before)
    assert x._version == 0


@pytest.mark.parametrize("make", ["cat", "stack"])
def test_cat_or_stack_of_one_tensor_copies_it(lib, make):
    """Changing the result in place changes neither x's values nor its gradient."""
    w = lib.tensor([[1.0, 2.0]], requires_grad=True)
    a = w * 1
    r = getattr(lib, make)([a])
    r.mul_(2.0)
    assert val(a).tolist() == [[1, 2]]
    a.sum().backward()
    np.testing.assert_array_equal(val(w.grad), [[1, 1]])


def test_copy_casts_a_float_tensor_into_an_int_tensor(lib):
    n = lib.tensor([1, 2])
    n.copy_(lib.tensor([1.5, 2.7]))
    assert n.tolist() == [1, 2]  # (truncated)


def test_contiguous_copies_only_when_needed(lib):
    x = _x(lib)
    assert x.is_contiguous() and x.contiguous() is x
    t = x.mT
    c = t.contiguous()
    assert not t.is_contiguous() and c.is_contiguous() and not shares_memory(lib, c, x)
    assert tuple(c.stride()) == (12, 3, 1) and not c._is_view()
    np.testing.assert_array_equal(val(c), val(t))
    w = lib.ones(2, 3, requires_grad=True)
    (w.T.contiguous() * lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])).sum().backward()
    np.testing.assert_array_equal(val(w.grad), [[1, 3, 5], [2, 4, 6]])


def test_view_raises_where_the_layout_does_not_allow_it_and_reshape_copies(lib):
    x = _x(lib)
    for make in (lambda: x.mT.view(-1), lambda: x[:, 1:].view(-1)):
        with pytest.raises(RuntimeError, match="view size is not compatible with input "
                                               "tensor's size and stride"):
            make()
    r = x.mT.reshape(-1)
    assert not r._is_view() and not shares_memory(lib, r, x)


# the same change made many ways: (statement, versions of a and of a view of a afterwards)
VERSIONS = [
    ("a.add_(1)", 1), ("a[0] = 5.0", 1), ("a[0].mul_(2)", 1), ("a.T.zero_()", 1),
    ("d = a.detach(); d.add_(1)", 1), ("a += 1", 1), ("a[[0, 1]] = 0.0", 1),
    ("a[a > 2] = 0.0", 1), ("a.masked_fill_(a > 2, 0.0)", 1), ("a.copy_(a * 2)", 1),
    ("a.fill_(1.0)", 1), ("a.clamp_(0, 1)", 1), ("a.exp_(); a.relu_()", 2),
    ("a[0, 1] = 3.0", 1), ("a[0][1] = 3.0", 1), ("a.detach_()", 0),
    ("v = a.view(6); v[2] = 1.0", 1), ("a.addcmul_(a.detach(), a.detach())", 1),
    ("a.lerp_(a.detach() * 0, 0.5)", 1), ("a * 2; a.sum(); a[0]; a.T", 0),
]


@pytest.mark.parametrize("recorded", [False, True])
@pytest.mark.parametrize("statement, expected", VERSIONS)
def test_version_counts_changes_through_every_alias(lib, statement, expected, recorded):
    w = lib.tensor(np.arange(6.).reshape(2, 3), requires_grad=recorded)
    a = w * 1 if recorded else w
    view = a[1]
    exec(statement, {"a": a, "lib": lib})
    assert (a._version, view._version) == (expected, expected)
    assert a.detach()._version == expected


@pytest.mark.parametrize("code", ["a.mul_(a)", "a *= a", "a.mul_(a.detach())",
                                  "a.mul_(a.view(3))", "a[0:2].mul_(a[0:2])", "a.div_(a)",
                                  "a.addcmul_(a, a)"])
def test_an_in_place_op_reading_its_own_memory_raises_at_backward(lib, code):
    """The operand (the tensor itself, a view or detach() of it) was saved for backward and
    then changed by the op."""
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = x * 1
    exec(code, {"a": a})
    with pytest.raises(RuntimeError, match=MODIFIED):
        a.sum().backward()


@pytest.mark.parametrize("op", ["exp", "relu", "tanh", "sqrt", "exp_", "relu_", "sqrt_"])
def test_changing_a_saved_zero_dim_output_in_place_raises_at_backward(lib, op):
    x = lib.tensor([1.5, 0.5], requires_grad=True)
    b = getattr(x.sum(), op)()
    b.mul_(2.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        b.backward()


def test_detach_in_place_of_a_saved_input_raises_at_backward(lib):
    w = lib.tensor([1.0, 2.0], requires_grad=True)
    a = w * 1
    b = (a * w).sum()
    a.detach_()
    with pytest.raises(RuntimeError, match="Trying to use a saved tensor that has been detached "
                                           "in-place"):
        b.backward()


# refusals: (name, code, PyTorch's class, the start of PyTorch's message autodiff copies)
LEAF = "a leaf Variable that requires grad is being used in an in-place operation"
VIEW_OF_LEAF = "a view of a leaf Variable that requires grad is being used in an in-place " \
               "operation"
NO_GRAD_VIEW = "A view was created in no_grad mode and is being modified inplace with grad " \
               "mode enabled"
MULTI = "is a view and is being modified inplace. This view is the output of a function that " \
        "returns multiple views"
EXPANDED = "unsupported operation: more than one element of the written-to tensor refers to a " \
           "single memory location"
REFUSALS = [
    ("in-place on a leaf", "w.add_(1)", RuntimeError, LEAF),
    ("x += on a leaf", "w += 1", RuntimeError, LEAF),
    ("setitem on a leaf", "w[0] = 2.0", RuntimeError, VIEW_OF_LEAF),
    ("on a view of a leaf", "w[:1].mul_(2)", RuntimeError, VIEW_OF_LEAF),
    ("on a transpose of a leaf", "w.T.zero_()", RuntimeError, VIEW_OF_LEAF),
    ("no_grad view then grad mode", "with lib.no_grad(): v = a[:1]\nv.mul_(2)", RuntimeError,
     NO_GRAD_VIEW),
    ("no_grad transpose then grad mode", "with lib.no_grad(): v = a.T\nv.add_(1)",
     RuntimeError, NO_GRAD_VIEW),
    ("split output", "p = a.split(1); p[0].mul_(2)", RuntimeError, MULTI),
    ("chunk output", "p = a.chunk(2); p[1].add_(2)", RuntimeError, MULTI),
    ("unbind output", "p = a.unbind(1); p[0].add_(2)", RuntimeError, MULTI),
    ("expanded", "c[:1].expand(3, 3).add_(1)", RuntimeError, EXPANDED),
    ("expanded, recorded", "a[:1].expand(3, 3).add_(1)", RuntimeError, EXPANDED),
    ("expanded copy_", "c[:1].expand(3, 3).copy_(lib.zeros(3, 3))", RuntimeError, EXPANDED),
    ("broadcast_to", "c[0].broadcast_to((2, 3)).mul_(2)", RuntimeError, EXPANDED),
    ("detach_ of a view", "a[:1].detach_()", RuntimeError,
     "Can't detach views in-place. Use detach() instead."),
    ("detach_ of a view, no grad", "c[:1].detach_()", RuntimeError,
     "Can't detach views in-place. Use detach() instead."),
    ("shape mismatch", "lib.ones(3).add_(lib.ones(2, 3))", RuntimeError, None),
    ("shape mismatch, recorded", "a[0].add_(lib.ones(2, 3))", RuntimeError,
     "output with shape [3] doesn't match the broadcast shape [2, 3]"),
    ("long += 1.5", "n = lib.tensor([1, 2]); n += 1.5", RuntimeError, None),
    ("long add_ of a float that requires grad", "n = lib.tensor([1, 2]); n.add_(w[0, :2])",
     RuntimeError, "result type Float can't be cast to the desired output type Long"),
]


@pytest.mark.parametrize("name, code, error, message", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_pytorchs_refusals(lib, name, code, error, message):
    w = lib.ones(2, 3, requires_grad=True)
    ns = {"lib": lib, "w": w, "a": w * 1, "c": lib.ones(2, 3)}
    with pytest.raises(error) as info:
        exec(code, ns)
    if message is not None:
        text = str(info.value)
        if lib is ad:
            message = message.replace("Float", "float32").replace("Long", "int64")
            assert message in text, text  # (autodiff names the op first)
        else:  # (PyTorch names the multiple-views op first)
            assert re.match(r"(Output \d+ of \w+ )?" + re.escape(message), text), text


def test_refusals_leave_the_tensor_unchanged(lib):
    w = lib.ones(2, 3, requires_grad=True)
    for change in (lambda: w.add_(1), lambda: w[0].mul_(2)):
        with pytest.raises(RuntimeError):
            change()
    assert val(w).tolist() == [[1] * 3] * 2 and w._version == 0 and w.is_leaf
    with lib.no_grad():
        w.add_(1)  # allowed under no_grad (an optimizer step)
    assert val(w)[0, 0] == 2 and w._version == 1 and w.is_leaf and w.requires_grad


@pytest.mark.parametrize("code, recorded", [
    (code, recorded) for code in ("a[0] = lib.ones(2, 1)", "a[0] = lib.ones(2)",
                                  "a[[0, 1]] = lib.ones(3, 3)") for recorded in (False, True)]
    + [("a[0].copy_(lib.ones(2))", True)])
def test_assigning_a_value_that_does_not_broadcast_raises_runtime_error(lib, code, recorded):
    a = lib.ones(2, 3, requires_grad=recorded) * 1
    with pytest.raises(RuntimeError):
        exec(code, {"a": a, "lib": lib})


@pytest.mark.parametrize("code", ["v[0] = 0.5", "v[0].mul_(2.0)"])
def test_a_view_of_a_no_grad_view_changed_in_grad_mode_raises(lib, code):
    """(PyTorch's message says 'is a view of a view which was created in no_grad mode',
    autodiff's 'A view was created in no_grad mode': the shared part is checked.)"""
    x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    a = x * 1
    with lib.no_grad():
        v = a.T
    with pytest.raises(RuntimeError, match="created in no_grad mode and is being modified "
                                           "inplace with grad mode enabled"):
        exec(code, {"v": v})
    assert val(a).tolist() == [[1, 2], [3, 4]] and a._version == 0


@pytest.mark.parametrize("code", ["p[0][0] = 3.0", "p[0][:1].mul_(3.0)"])
def test_a_view_of_a_split_output_changed_in_place_raises(lib, code):
    w = lib.ones(4, requires_grad=True)
    a = w * 1
    p = a.split(2)
    with pytest.raises(RuntimeError, match=MULTI):
        exec(code, {"p": p})


def test_a_view_made_in_grad_mode_may_change_under_no_grad(lib):
    w = lib.ones(3, requires_grad=True)
    a = w * 1
    v = a[:2]
    with lib.no_grad():
        v.mul_(5.0)
    assert val(a).tolist() == [5, 5, 1] and a._version == 1
    a.sum().backward()  # (nothing saved a's values)
    np.testing.assert_array_equal(val(w.grad), [1, 1, 1])


def test_in_place_through_a_view_rewrites_the_base_history(lib):
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    u = lib.tensor([4.0, 5.0], requires_grad=True)
    a = w * 1
    v = a[1:]
    other = a[:2]
    v.mul_(u)                       # a = [w0, w1 u0, w2 u1]
    assert a.grad_fn is not None and type(a.grad_fn).__name__.startswith("CopySlices")
    assert val(other).tolist() == [1, 8]  # a live view sees it and is rebuilt on a's history
    (a * lib.tensor([1.0, 10.0, 100.0])).sum().backward(retain_graph=True)
    np.testing.assert_array_equal(val(w.grad), [1, 40, 500])
    np.testing.assert_array_equal(val(u.grad), [20, 300])
    w.grad = None
    other.sum().backward()          # other = [w0, w1 u0]
    np.testing.assert_array_equal(val(w.grad), [1, 4, 0])


# --- known bugs (PyTorch's answer; autodiff's case is a strict xfail) ---------------------------

@known_bug("an in-place op whose operand partially overlaps the written memory does not raise "
           "(PyTorch: 'unsupported operation: some elements of the input tensor and the "
           "written-to tensor refer to a single memory location')")
@pytest.mark.parametrize("code", ["a[1:].add_(a[:-1])", "m.add_(m.T)", "m.copy_(m.T)",
                                  "a[1:] = a[:-1]", "m[[1, 0]] = m", "a[[0, 1]] = a[2:4]",
                                  "b = a[1:]; b += a[:-1]"])
@pytest.mark.parametrize("recorded", [False, True])
def test_bug_partial_overlap_is_refused(lib, code, recorded):
    a = lib.tensor(np.arange(5.0), requires_grad=recorded) * 1
    m = lib.tensor(np.arange(4.0).reshape(2, 2), requires_grad=recorded) * 1
    with pytest.raises(RuntimeError, match="some elements of the input tensor and the "
                                           "written-to tensor refer to a single memory location"):
        exec(code, {"a": a, "m": m})


@pytest.mark.parametrize("make", ["a.view(2, 3)", "a.reshape(2, 3)", "a.transpose(1, 1)",
                                  "a.view_as(a)", "a.squeeze()", "a.expand(2, 3)"])
def test_a_view_op_that_changes_nothing_still_makes_a_view(lib, make):
    w = lib.ones(2, 3, requires_grad=True)
    a = w * 1
    v = eval(make)
    assert v is not a and v._is_view() and v._base is a
    with pytest.raises(RuntimeError, match="Can't detach views in-place"):
        v.detach_()
    with lib.no_grad():
        u = eval(make)
    with pytest.raises(RuntimeError, match=NO_GRAD_VIEW):
        u.add_(1)
    a.sum().backward()  # a keeps its history
    np.testing.assert_array_equal(val(w.grad), np.ones((2, 3)))


@known_bug("a broadcast input saved by mul (0-d or size-1 dims) is kept as a copy: changing it "
           "in place afterwards is not caught at backward")
@pytest.mark.parametrize("shape", [(), (1,)])
def test_bug_broadcast_saved_input_version_check(lib, shape):
    s = lib.full(shape, 2.0, requires_grad=True)
    v = lib.tensor([1.0, 2.0], requires_grad=True)
    a = s * 1
    y = a * v
    with lib.no_grad():
        a.add_(1.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.sum().backward()


@known_bug("a.detach_() while a has live views: PyTorch then refuses in-place ops through them "
           "and, when a was changed in place before the detach_, gives them no history")
def test_bug_detach_in_place_of_a_base_with_views(lib):
    x = lib.tensor([1.0, -2.0], requires_grad=True)
    a = x * 1
    v = a[0:1]
    a.mul_(3.0)
    a.detach_()
    (v * 1).sum().backward()
    assert x.grad is None
    b = x * 1
    u = b[0:1]
    b.detach_()
    with pytest.raises(RuntimeError, match=VIEW_OF_LEAF):
        u.mul_(2.0)


@known_bug("a view made under no_grad of a tensor that requires grad: PyTorch says "
           "requires_grad=True (a leaf without history) and a loss made from it backpropagates "
           "(to nothing); autodiff says False and that backward raises")
def test_no_grad_view_of_a_tensor_that_requires_grad_requires_grad(lib):
    x = lib.ones(2, 3, requires_grad=True)
    a = x * 1
    with lib.no_grad():
        v = a.view(-1)
    assert v.requires_grad and v.is_leaf and v._is_view()
    (v * 2).sum().backward()
    assert x.grad is None


@known_bug("v = c[0:1] while c does not require grad, then c.mul_(w) with w requiring grad, "
           "then v.exp_(): PyTorch raises 'a leaf Variable that requires grad is being used in "
           "an in-place operation' (though v.grad_fn is AsStridedBackward0); autodiff records it")
def test_bug_in_place_on_a_view_made_before_its_base_required_grad(lib):
    w = lib.tensor([1.0, 2.0], requires_grad=True)
    c = lib.tensor([3.0, 4.0])
    v = c[0:1]
    c.mul_(w)
    with pytest.raises(RuntimeError, match=LEAF):
        v.exp_()


@known_bug("writing through a view of an expanded tensor that repeats no element (e[0] of "
           "a.expand(2, 3)) raises; PyTorch writes into a")
@pytest.mark.parametrize("code", ["e[0].add_(1.0)", "e[0] = 2.0"])
def test_bug_write_through_a_non_overlapping_view_of_an_expanded_tensor(lib, code):
    a = lib.ones(3)
    e = a.expand(2, 3)
    exec(code, {"e": e})
    assert val(a).tolist() == [2, 2, 2]


ZERO_D_TARGETS = ["a[0, 1] = lib.ones(1)", "a[1][2] = lib.ones(1, 1)", "a[-1, -1] = lib.ones(1)"]


@pytest.mark.parametrize("code, recorded, written", [
    (code, recorded, 1) for code in ZERO_D_TARGETS for recorded in (False, True)] + [
    ("s[...] = lib.ones(1)", True, 1), ("a[0] = lib.ones(1, 3)", True, 3),
    ("a[...] = lib.ones(1, 2, 3)", True, 6), ("a[[0]] = lib.ones(1, 1, 3)", True, 3),
    ("a[:, 0] = lib.ones(1, 2)", True, 2),
    ("a[0, 1:] = lib.ones(1, 1, 2, requires_grad=True)", False, 2)])
def test_assigning_a_value_with_extra_unit_dims_drops_them(lib, code, recorded, written):
    w = lib.zeros(2, 3, requires_grad=recorded)
    a = w * 1
    s = a.sum()
    exec(code, {"a": a, "s": s, "lib": lib})
    assert val(a).sum() + val(s) == written


@known_bug("clone() of a dense non-contiguous tensor is row-major; PyTorch's keeps its strides "
           "(x.T.clone().view(-1) raises there, works here)")
def test_bug_clone_keeps_the_strides_of_a_dense_tensor(lib):
    x = lib.tensor(np.arange(6.).reshape(2, 3))
    c = x.T.clone()
    assert tuple(c.stride()) == (1, 3) and not c.is_contiguous()
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        c.view(-1)
    assert tuple(x[:, ::2].clone().stride()) == (2, 1)  # (not dense: row-major)


# --- 4. second order through in-place history --------------------------------------------------

X0 = np.array([0.5, -1.0, 2.0])
C = np.array([1.0, -2.0, 0.5])


def _in_place(kind, lib, x):
    """f(x) through in-place history; returns the loss."""
    c = lib.tensor(C)
    a = x * 1
    if kind == "mul_":
        a.mul_(x)                    # a = x^2
    elif kind == "exp_":
        a.exp_()                     # a = exp(x)
    elif kind == "setitem":
        a = x * x
        a[1] = x[0] * x[2]           # a = [x0^2, x0 x2, x2^2]
    elif kind == "view":
        v = a[1:]
        v.mul_(x[:2])                # a = [x0, x1 x0, x2 x1]
        v.exp_()                     # a = [x0, exp(x1 x0), exp(x2 x1)]
    return (a * c).sum()


def _out_of_place(kind, lib, x):
    c = lib.tensor(C)
    if kind == "mul_":
        a = x * x
    elif kind == "exp_":
        a = x.exp()
    elif kind == "setitem":
        a = lib.stack([x[0] * x[0], x[0] * x[2], x[2] * x[2]])
    elif kind == "view":
        a = lib.stack([x[0], (x[1] * x[0]).exp(), (x[2] * x[1]).exp()])
    return (a * c).sum()


def _closed_form(kind, x):
    """(gradient, Hessian) of sum(c * a(x)), written out."""
    c0, c1, c2 = C
    x0, x1, x2 = x
    if kind == "mul_":
        return 2 * C * x, np.diag(2 * C)
    if kind == "exp_":
        return C * np.exp(x), np.diag(C * np.exp(x))
    if kind == "setitem":
        g = np.array([2 * c0 * x0 + c1 * x2, 0.0, c1 * x0 + 2 * c2 * x2])
        h = np.array([[2 * c0, 0, c1], [0, 0, 0], [c1, 0, 2 * c2]])
        return g, h
    e1, e2 = np.exp(x1 * x0), np.exp(x2 * x1)
    g = np.array([c0 + c1 * x1 * e1, c1 * x0 * e1 + c2 * x2 * e2, c2 * x1 * e2])
    h = np.array([
        [c1 * x1 * x1 * e1, c1 * (e1 + x0 * x1 * e1), 0.0],
        [c1 * (e1 + x0 * x1 * e1), c1 * x0 * x0 * e1 + c2 * x2 * x2 * e2,
         c2 * (e2 + x1 * x2 * e2)],
        [0.0, c2 * (e2 + x1 * x2 * e2), c2 * x1 * x1 * e2]])
    return g, h


def _grad_and_hessian(f, lib, kind):
    grad = grad_of(lib)
    x = lib.tensor(X0, requires_grad=True)
    (g,) = grad(f(kind, lib, x), x, create_graph=True)
    assert g.requires_grad
    rows = [grad(g[i], x, retain_graph=True, allow_unused=True)[0] for i in range(3)]
    h = np.stack([np.zeros(3) if r is None else val(r) for r in rows])
    return val(g), h


@pytest.mark.parametrize("kind", ["mul_", "exp_", "setitem", "view"])
def test_second_order_through_in_place_history(lib, kind):
    g, h = _grad_and_hessian(_in_place, lib, kind)
    g_ref, h_ref = _grad_and_hessian(_out_of_place, lib, kind)
    g_exact, h_exact = _closed_form(kind, X0)
    np.testing.assert_allclose(g, g_exact, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h, h_exact, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g_ref, g_exact, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_ref, h_exact, rtol=1e-12, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_second_order_backward_through_in_place_history(lib):
    """backward(create_graph=True) then a second backward through x.grad's own graph."""
    x = lib.tensor(X0, requires_grad=True)
    a = x * 1
    a.mul_(x)
    a[0] = x[0] ** 3               # a = [x0^3, x1^2, x2^2]
    a.sum().backward(create_graph=True)
    g = x.grad
    np.testing.assert_allclose(val(g), [3 * X0[0] ** 2, 2 * X0[1], 2 * X0[2]], rtol=1e-12)
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(val(x.grad), [6 * X0[0], 2, 2], rtol=1e-12)


