"""Engine semantics: accumulation, graphs, retain_graph, grad mode, hooks, grad(), memory."""
import gc
import sys
import weakref

import numpy as np
import pytest

import autodiff as ad


def leaf(v, dtype=ad.float64):
    return ad.tensor(v, dtype=dtype, requires_grad=True)


# --- the lecture examples ----------------------------------------------------------------------

def test_add_mul_circuit_from_the_lecture():
    x, y, z = leaf(2.0), leaf(3.0), leaf(4.0)
    f = (x + y) * z
    f.backward()
    assert f.item() == 20
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (4, 4, 5)


def test_sigmoid_neuron_from_the_lecture():
    w0, x0, w1, x1, w2 = (leaf(v) for v in (2.0, -1.0, -3.0, -2.0, -3.0))
    f = 1 / (1 + ad.exp(-(w0 * x0 + w1 * x1 + w2)))
    f.backward()
    assert f.item() == pytest.approx(0.731, abs=5e-4)
    got = [t.grad.item() for t in (w0, x0, w1, x1, w2)]
    np.testing.assert_allclose(got, [-0.197, 0.393, -0.393, -0.590, 0.197], atol=5e-4)
    s = f.item()
    assert s * (1 - s) == pytest.approx(0.197, abs=5e-4)


def test_third_derivative_of_cube():
    x = leaf(2.0)
    (g1,) = ad.grad(x ** 3, x, create_graph=True)
    (g2,) = ad.grad(g1, x, create_graph=True)
    (g3,) = ad.grad(g2, x)
    assert (g1.item(), g2.item(), g3.item()) == (12, 12, 6)


def test_matrix_rules_of_the_lecture():
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    G = rng.standard_normal((5, 4))
    x, w = leaf(X), leaf(W)
    (x @ w).backward(ad.tensor(G))
    np.testing.assert_allclose(w.grad.detach().numpy(), X.T @ G)
    np.testing.assert_allclose(x.grad.detach().numpy(), G @ W.T)


def test_quadratic_form_gradient():
    rng = np.random.default_rng(1)
    A, xv = rng.standard_normal((4, 4)), rng.standard_normal(4)
    x = leaf(xv)
    (x @ ad.tensor(A) @ x).backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), (A + A.T) @ xv)


def test_least_squares_gradient_matches_closed_form():
    rng = np.random.default_rng(2)
    X, Y, th = rng.standard_normal((6, 3)), rng.standard_normal((6, 1)), rng.standard_normal((3, 1))
    t = leaf(th)
    (0.5 * ((ad.tensor(Y) - ad.tensor(X) @ t) ** 2).sum()).backward()
    np.testing.assert_allclose(t.grad.detach().numpy(), X.T @ X @ th - X.T @ Y)


# --- graph semantics -----------------------------------------------------------------------------

def test_diamond_sums_both_paths():
    x = leaf(3.0)
    a = x * 2
    y = a * a + a  # a fans out three ways
    y.backward()
    assert x.grad.item() == pytest.approx(2 * (2 * 6 + 1))


def test_same_tensor_twice_in_one_op():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [2, 4])


def test_paths_of_different_lengths_meet_in_the_right_order():
    # a reaches y through a 20-op branch and a 1-op branch: its gradient is complete only after
    # both, whichever the traversal meets first
    x = leaf([0.5, -1.0])
    a = x * 2
    b = a
    for _ in range(10):
        b = (b * 1.5).tanh()
    y = (b * (a + 1) + a * a).sum()
    (ga,) = ad.grad(y, a, retain_graph=True)
    (ga_graph,) = ad.grad(y, a, create_graph=True)
    eps, av = 1e-6, a.detach().numpy()

    def f(v):
        bv = v
        for _ in range(10):
            bv = np.tanh(bv * 1.5)
        return (bv * (v + 1) + v * v).sum()
    numeric = [(f(av + eps * e) - f(av - eps * e)) / (2 * eps) for e in np.eye(2)]
    np.testing.assert_allclose(ga.detach().numpy(), numeric, rtol=1e-6)
    np.testing.assert_allclose(ga_graph.detach().numpy(), ga.detach().numpy(), rtol=1e-12)


def test_gradient_through_a_view_is_the_leafs_own_array():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    c = ad.tensor([1.0, 2.0, 3.0, 4.0], dtype=ad.float64)
    (x.reshape(4) * c).sum().backward()  # reshape's rule returns a view of the upstream grad
    assert x.grad.data.flags.writeable and x.grad.data.base is None
    np.testing.assert_allclose(x.grad.detach().numpy(), [[1, 2], [3, 4]])


def test_leaf_gradients_accumulate_until_zeroed():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [6, 6])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [3, 3])


def test_gradients_are_not_aliased_between_leaves():
    x, y = leaf([1.0]), leaf([2.0])
    (x + y).sum().backward()
    x.grad.data *= 10  # an in-place edit of one leaf's grad must not touch the other's
    assert y.grad.item() == 1.0


def test_broadcast_gradient_is_a_writable_array():
    b = leaf([1.0, 2.0])
    (ad.ones(3, 2, dtype=ad.float64) + b).sum().backward()
    b.grad.data *= 0.5  # clip_grad_norm_ does this
    np.testing.assert_allclose(b.grad.detach().numpy(), [1.5, 1.5])


def test_non_leaf_grad_only_with_retain_grad():
    x = leaf([1.0, 2.0])
    h = x * 2
    h2 = x * 3
    h.retain_grad()
    (h * h2).sum().backward()
    np.testing.assert_allclose(h.grad.detach().numpy(), [3, 6])
    assert h2.grad is None
    assert h.retains_grad and not h2.retains_grad


def test_second_backward_through_freed_graph_names_the_op():
    x = leaf(2.0)
    y = ad.exp(x) * x
    y.backward()
    with pytest.raises(RuntimeError, match=r"MulBackward.*second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf(2.0)
    y = ad.exp(x) * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * (np.exp(2) * 3))


def test_saved_arrays_are_released_after_backward():
    x = leaf([1.0, 2.0])
    y = ad.exp(x)
    node = y.grad_fn
    y.sum().backward()
    assert node.released and node.out is None


def test_no_grad_records_nothing_and_decorator_form():
    x = leaf([1.0])
    with ad.no_grad():
        y = x * 2
        assert not ad.is_grad_enabled()
    assert ad.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad

    @ad.no_grad()
    def f(t):
        return t * 2

    assert f(x).grad_fn is None
    with ad.no_grad():
        with ad.enable_grad():
            assert (x * 2).requires_grad


def test_set_grad_enabled_as_call_and_context():
    x = leaf([1.0])
    with ad.set_grad_enabled(False):
        assert (x * 2).grad_fn is None
    assert ad.is_grad_enabled()
    ad.set_grad_enabled(False)
    try:
        assert not ad.is_grad_enabled()
    finally:
        ad.set_grad_enabled(True)


def test_grad_mode_is_per_thread():
    import threading
    seen = []
    with ad.no_grad():
        t = threading.Thread(target=lambda: seen.append(ad.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_detach_cuts_the_graph():
    x = leaf(3.0)
    y = x * x.detach()
    y.backward()
    assert x.grad.item() == 3.0


def test_tensor_hooks_can_replace_gradients_and_be_removed():
    x = leaf([1.0, 2.0])
    seen = []
    h = x * 2
    h.register_hook(lambda g: seen.append(g.detach().numpy().copy()))
    handle = x.register_hook(lambda g: g * 10)
    h.sum().backward()
    np.testing.assert_allclose(seen[0], [1, 1])
    np.testing.assert_allclose(x.grad.detach().numpy(), [20, 20])
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [2, 2])


def test_grad_returns_without_touching_dot_grad():
    x, y = leaf([1.0, 2.0]), leaf([3.0])
    gx, gy = ad.grad((x * y).sum(), (x, y))
    np.testing.assert_allclose(gx.detach().numpy(), [3, 3])
    np.testing.assert_allclose(gy.detach().numpy(), [3])
    assert x.grad is None and y.grad is None


def test_grad_with_respect_to_an_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3
    (gh,) = ad.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.detach().numpy(), [6, 12])


def test_grad_allow_unused():
    x, unused = leaf(1.0), leaf(2.0)
    with pytest.raises(RuntimeError, match="input 1.*not used.*allow_unused=True"):
        ad.grad(x * 2, (x, unused))
    gx, gu = ad.grad(x * 2, (x, unused), allow_unused=True)
    assert gx.item() == 2 and gu is None
    _, gz = ad.grad(x * 2, (x, unused), materialize_grads=True)
    assert gz.item() == 0


def test_backward_inputs_restricts_accumulation():
    x, y = leaf(1.0), leaf(2.0)
    (x * y).backward(inputs=[x])
    assert x.grad.item() == 2 and y.grad is None


def test_create_graph_gives_differentiable_grads():
    x = leaf(1.5)
    y = ad.sin(x) * x
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    (gg,) = ad.grad(g, x)
    assert gg.item() == pytest.approx(2 * np.cos(1.5) - 1.5 * np.sin(1.5))


def test_hundred_thousand_op_chain_under_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10000
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad.item() == 1.0
    assert len(ad.toposort([y])) == 200_000


def test_no_reference_cycles_a_finished_step_is_freed_without_the_collector():
    gc.collect()
    gc.disable()
    try:
        w = leaf(np.ones((3, 3)))
        x = ad.tensor(np.ones((2, 3)))
        loss = ad.log_softmax(ad.tanh(x @ w), 1).sum() + ad.sigmoid(x).exp().mean()
        refs = [weakref.ref(loss), weakref.ref(loss.grad_fn)]
        node_refs = [weakref.ref(n) for n in ad.toposort([loss])]
        loss.backward()
        del loss
        assert all(r() is None for r in refs + node_refs)
    finally:
        gc.enable()


def test_no_reference_cycles_with_create_graph_and_custom_functions():
    class Square(ad.Function):
        @staticmethod
        def forward(ctx, x):
            out = x * x
            ctx.save_for_backward(x, out)
            return out

        @staticmethod
        def backward(ctx, g):
            x, out = ctx.saved_tensors
            return 2 * x * g

    gc.collect()
    gc.disable()
    try:
        x = leaf([1.0, 2.0])
        y = Square.apply(ad.exp(x)).sum()
        (g,) = ad.grad(y, x, create_graph=True)
        r = weakref.ref(y.grad_fn)
        del y, g
        assert r() is None
    finally:
        gc.enable()


def test_toposort_puts_roots_first_and_each_node_once():
    x = leaf(1.0)
    a = x * 2
    b = a + a
    c = b * a
    order = ad.toposort([c])
    names = [n.name for n in order]
    assert names[0] == "MulBackward" and len(order) == 3
    pos = {id(n): i for i, n in enumerate(order)}
    for n in order:
        for t in n.inputs:
            if t is not None and t.grad_fn is not None:
                assert pos[id(t.grad_fn)] > pos[id(n)]


# --- anomaly detection ---------------------------------------------------------------------------

def test_detect_anomaly_names_the_op_and_the_forward_line():
    x = leaf([0.0, 1.0])
    with ad.detect_anomaly():
        y = ad.sqrt(x)  # d sqrt / dx at 0 is inf
        with pytest.raises(RuntimeError,
                           match=r"SqrtBackward returned NaN or Inf(.|\n)*y = ad.sqrt\(x\)"):
            y.sum().backward()


def test_without_anomaly_mode_nan_passes_silently():
    x = leaf([0.0, 1.0])
    ad.sqrt(x).sum().backward()
    assert np.isinf(x.grad.detach().numpy()[0])


# --- in-place changes after recording ------------------------------------------------------------

def test_backward_after_an_input_changed_in_place_raises():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = (x * w).sum()
    with ad.no_grad():
        w.mul_(2.0)  # the mul rule would read the new w
    with pytest.raises(RuntimeError,
                       match=r"modified by an inplace operation: \[float64 tensor of shape "
                             r"\[2\]\], input 1 of MulBackward, is at version 1; "
                             r"expected version 0"):
        y.backward()


def test_assignment_into_a_buffer_is_recorded():
    x = leaf([1.0, 2.0, 3.0])
    out = ad.zeros(2, 3, dtype=ad.float64)
    out[0] = x * 2
    out[1, :2] = x[:2] ** 2
    assert out.grad_fn.name == "CopySlices"  # (as in PyTorch: x[i] = v writes through a view)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [4.0, 6.0, 2.0])


def test_assignment_after_the_tensor_was_read_refuses_to_backward():
    h = ad.zeros(3, 2, dtype=ad.float64)
    w = leaf([[0.5, 0.1], [0.2, 0.3]])
    h[0] = ad.ones(2, dtype=ad.float64)
    for t in range(1, 3):
        h[t] = (h[t - 1] @ w).tanh()  # reads h, then changes it
    # (PyTorch too: the matmul's rule reads h[t - 1], a view of h, which changed since)
    with pytest.raises(RuntimeError, match="input 0 of MatMulBackward, is at version 3; "
                                           "expected version 2"):
        h.sum().backward()


def test_parameter_updates_between_steps_are_fine():
    w = leaf([1.0, 2.0])
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        with ad.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
    np.testing.assert_allclose(w.detach().numpy(), [0.512, 1.024])
