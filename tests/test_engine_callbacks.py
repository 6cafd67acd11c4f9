"""The engine's hooks for code that acts during a backward pass (data-parallel training):
register_after_node (a leaf's gradient so far, right after a node's rule ran) and
queue_callback (once, at the end of backward())."""
import numpy as np
import pytest

import autodiff as ad
from autodiff import engine


@pytest.fixture(autouse=True)
def no_leftover_hooks():
    yield
    assert not engine._after_node, "a test left after-node hooks registered"


def test_after_node_sees_the_leaf_gradient_accumulated_so_far():
    w = ad.tensor([1.0, 2.0], dtype=ad.float64, requires_grad=True)
    a = w * 3.0           # older consumer of w
    b = w * w             # newer consumer of w
    loss = (a + b).sum()
    seen = {}
    handles = [engine.register_after_node(b.grad_fn, lambda lg: seen.setdefault("b", lg(w))),
               engine.register_after_node(a.grad_fn, lambda lg: seen.setdefault("a", lg(w)))]
    loss.backward()
    for h in handles:
        h.remove()
    np.testing.assert_allclose(seen["b"], 2 * w.data)          # only b's part yet
    np.testing.assert_allclose(seen["a"], 2 * w.data + 3.0)    # final after the oldest consumer
    np.testing.assert_allclose(w.grad.data, seen["a"])


def test_after_node_leaf_without_gradient_yet_is_none_and_removed_hooks_do_not_run():
    w = ad.tensor([1.0], requires_grad=True)
    v = ad.tensor([2.0], requires_grad=True)
    y = w * 2.0
    z = (y + v * 1.0).sum()
    calls = []
    h = engine.register_after_node(y.grad_fn, lambda lg: calls.append(lg(v)))
    h2 = engine.register_after_node(y.grad_fn, lambda lg: calls.append("removed"))
    h2.remove()
    z.backward()
    h.remove()
    h.remove()  # removing twice is harmless
    assert len(calls) == 1  # v's node (newer) ran before y's: v's gradient is in
    np.testing.assert_allclose(calls[0], [1.0])
    z2 = (w * 2.0).sum()
    z2.backward()
    assert len(calls) == 1


def test_after_node_under_create_graph_gives_tensors():
    w = ad.tensor([1.5], dtype=ad.float64, requires_grad=True)
    y = w * w
    got = []
    h = engine.register_after_node(y.grad_fn, lambda lg: got.append(lg(w)))
    (g,) = ad.grad(y.sum(), [w], create_graph=True)
    h.remove()
    assert isinstance(got[0], ad.Tensor) and got[0].grad_fn is not None
    np.testing.assert_allclose(got[0].data, [3.0])
    np.testing.assert_allclose(g.data, [3.0])


def test_queue_callback_runs_once_after_grads_and_post_accumulate_hooks():
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    order = []
    w.register_post_accumulate_grad_hook(lambda p: order.append(("post", p.grad.tolist())))

    def queue_inside():
        engine.queue_callback(lambda: order.append(("end", w.grad.tolist())))
        engine.queue_callback(lambda: engine.queue_callback(lambda: order.append("nested")))

    h = engine.register_after_node((w * 2).grad_fn, lambda lg: None)  # unrelated node
    h.remove()
    y = w * 2
    h = engine.register_after_node(y.grad_fn, lambda lg: queue_inside())
    y.sum().backward()
    h.remove()
    assert order == [("post", [2.0, 2.0]), ("end", [2.0, 2.0]), "nested"]
    (w * 1).sum().backward()  # callbacks ran once: nothing queued for the next pass
    assert order[-1] == ("post", [3.0, 3.0]) and len(order) == 4
