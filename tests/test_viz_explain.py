"""explain_grad: where (and why) a gradient dies, or why there is no path at all."""
import numpy as np

import autodiff as ad
from autodiff.viz import explain_grad


def leaf(value, name):
    t = ad.tensor(value, requires_grad=True)
    t.name = name
    return t


def test_dead_relu():
    w = leaf([[1.0, -2.0], [0.5, 1.0]], "W")
    b = leaf([-10.0, -10.0], "b")
    loss = (ad.tensor([[1.0, 2.0]]) @ w + b).relu().sum()
    e = explain_grad(w, loss)
    assert e.n_paths == 1 and e.paths[0].status == "dead"
    assert e.paths[0].where.startswith("relu")
    assert "relu inactive" in str(e) and "100%" in str(e) and "zero" in e.verdict


def test_saturated_sigmoid_and_tanh():
    z = leaf(30.0, "z")
    e = explain_grad(z, ad.sigmoid(z * 2))
    assert "saturated sigmoid" in str(e)
    e = explain_grad(z, ad.tanh(z * 2))
    assert "saturated tanh" in str(e)


def test_multiplied_by_zero():
    a = leaf(3.0, "a")
    e = explain_grad(a, a * ad.tensor(0.0) + 1.0)
    assert "multiplied by zero" in str(e)


def test_no_path_detached():
    a = leaf([1.0, 2.0], "a")
    b = leaf([1.0, 1.0], "b")
    e = explain_grad(a, (a.detach() * b).sum())
    assert e.n_paths == 0 and "no path" in e.verdict and "detach" in str(e)


def test_no_path_integer_cast_and_no_grad():
    q = leaf([1.5, 2.7], "q")
    b = leaf([1.0, 1.0], "b")
    assert "integer cast" in str(explain_grad(q, (q.long() * b).sum()))
    with ad.no_grad():
        qq = q * 2
    assert "no_grad()" in str(explain_grad(q, (qq * b).sum()))


def test_no_graph_or_no_requires_grad_or_unused():
    a = leaf(1.0, "a")
    with ad.no_grad():
        y = a * 2
    assert "no graph" in explain_grad(a, y).verdict
    c = ad.tensor(1.0)
    assert "does not require grad" in explain_grad(c, a * 2).verdict
    unused = leaf(1.0, "u")
    assert "not used" in explain_grad(unused, a * 2).verdict


def test_cancelling_branches():
    a = leaf(2.0, "a")
    e = explain_grad(a, a - a)
    assert e.n_paths == 2 and "cancel" in str(e)


def test_deep_sigmoid_vanishes_relu_does_not():
    rng = np.random.default_rng(0)
    x = ad.tensor(rng.standard_normal((16, 32)).astype(np.float32))
    ws = [ad.tensor(rng.standard_normal((32, 32)).astype(np.float32) * 0.1, requires_grad=True)
          for _ in range(10)]
    h = x
    for w in ws:
        h = ad.sigmoid(h @ w)
    e = explain_grad(ws[0], h.sum(), names={ws[0]: "W0"})
    assert "vanishing" in e.verdict and e.paths[0].status == "tiny"
    assert "sigmoid" in e.paths[0].reason
    ws = [ad.tensor(rng.standard_normal((32, 32)).astype(np.float32) * np.sqrt(2 / 32),
                    requires_grad=True) for _ in range(10)]
    h = x
    for w in ws:
        h = (h @ w).relu()
    e = explain_grad(ws[0], h.sum())
    assert "healthy" in e.verdict and e.paths[0].status == "ok"


def test_many_paths_are_counted_and_capped():
    x = leaf(1.0, "x")
    h = x
    for _ in range(20):  # each level doubles the number of paths
        h = h * 0.5 + h * 0.5
    e = explain_grad(x, h, max_paths=5)
    assert e.n_paths == 2 ** 20 and len(e.paths) == 5
    assert "showing 5" in str(e)
