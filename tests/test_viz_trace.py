"""trace_backward: the staged backward pass, checked against the lecture's numbers."""
import re
import subprocess

import numpy as np
import pytest

import autodiff as ad
from autodiff.viz import trace_backward

from _optional import needs_dot


def neuron():
    t = {k: ad.tensor(v, requires_grad=True)
         for k, v in dict(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0).items()}
    for k, v in t.items():
        v.name = k
    return 1 / (1 + ad.exp(-(t["w0"] * t["x0"] + t["w1"] * t["x1"] + t["w2"]))), t


def test_sigmoid_neuron_reproduces_the_lecture_numbers():
    f, t = neuron()
    tr = trace_backward(f)
    ups = [round(float(r.upstream), 2) for r in tr.rows]
    # 1/x -> +1 -> exp -> *-1 -> +w2 -> + -> the two multiplies
    assert ups == [1.00, -0.53, -0.53, -0.20, 0.20, 0.20, 0.20, 0.20]
    assert [r.op for r in tr.rows[:5]] == ["div(1, ·)", "add(1, ·)", "exp", "neg", "add"]
    assert [round(float(r.output), 2) for r in tr.rows[:5]] == [0.73, 1.37, 0.37, -1.00, 1.00]
    exp_row = tr.rows[2]
    assert float(exp_row.local[0]) == pytest.approx(np.exp(-1.0), abs=1e-6)  # local = e^x
    assert float(exp_row.downstream[0]) == pytest.approx(-0.1966, abs=1e-4)
    want = dict(w0=-0.20, x0=0.39, w1=-0.39, x1=-0.59, w2=0.20)
    assert {lg.name: round(float(lg.grad), 2) for lg in tr.leaves} == want
    mul = [r for r in tr.rows if r.op == "mul" and r.inputs == ["w0", "x0"]][0]
    assert [float(g) for g in mul.local] == [-1.0, 2.0]  # multiply swaps the inputs
    table = tr.table(digits=2)
    for s in ("-0.53", "-0.2", "0.39", "-0.59", "w0"):
        assert s in table


def test_sigmoid_gate_local_gradient_is_sigma_times_one_minus_sigma():
    z = ad.tensor(1.0, requires_grad=True)
    row = trace_backward(ad.sigmoid(z)).rows[0]
    assert round(float(row.local[0]), 3) == 0.197


def test_x_plus_y_times_z():
    x, y, z = (ad.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    names = {x: "x", y: "y", z: "z"}
    tr = trace_backward((x + y) * z, names=names)
    assert [r.op for r in tr.rows] == ["mul", "add"]
    assert float(tr.rows[0].output) == -12.0
    assert {lg.name: float(lg.grad) for lg in tr.leaves} == dict(x=-4.0, y=-4.0, z=3.0)
    x, y, z = (ad.tensor(v, requires_grad=True) for v in (2.0, 3.0, 4.0))
    tr = trace_backward((x + y) * z, names={x: "x", y: "y", z: "z"})
    assert float(tr.rows[0].output) == 20.0
    assert [float(tr.leaf(n).grad) for n in "xyz"] == [4.0, 4.0, 5.0]


def test_branches_listed_separately_then_summed():
    x = ad.tensor(3.0, requires_grad=True)
    x.name = "x"
    h = x * 2
    h.name = "h"
    y = h * h + h  # h fans out to two ops; h * h sends 2 h g = 12 along one edge
    tr = trace_backward(y)
    mul_row = [r for r in tr.rows if r.op == "mul(·, 2)"][0]
    assert len(mul_row.branches) == 2
    assert sorted(float(a) for _, a in mul_row.branches) == [1.0, 12.0]
    assert float(mul_row.upstream) == 13.0
    assert "= " in str(tr) and "(from step" in str(tr)
    assert float(tr.leaf("x").grad) == 26.0


def test_an_op_with_several_outputs_gets_one_gradient_per_output_not_a_sum():
    x = ad.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    a, b = (x * 1).chunk(2)
    tr = trace_backward((a * 3).sum() + (b * 5).sum())
    split_row = [r for r in tr.rows if r.op.startswith("split")][0]
    assert split_row.branches == []  # two outputs: not one total made of two branches
    assert [val.tolist() for val in split_row.upstream] == [[3.0, 3.0], [5.0, 5.0]]
    assert split_row.downstream[0].tolist() == [3.0, 3.0, 5.0, 5.0]


def test_trace_leaves_grad_alone_and_works_after_backward():
    f, t = neuron()
    trace_backward(f)
    assert all(v.grad is None for v in t.values())
    f.backward()
    tr = trace_backward(f)  # the graph was freed; built-in nodes are revived for the replay
    assert round(float(tr.leaf("x1").grad), 2) == -0.59
    assert t["x1"].grad.item() == pytest.approx(-0.58984, abs=1e-4)


def test_non_scalar_root_needs_a_gradient():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="pass a gradient"):
        trace_backward(x * 2)
    tr = trace_backward(x * 2, gradient=np.array([1.0, -1.0], np.float32))
    assert tr.leaves[0].grad.tolist() == [2.0, -2.0]
    with pytest.raises(ValueError, match="no_grad"):
        trace_backward(ad.tensor([1.0]))


def test_big_tensors_are_summarised_in_the_table():
    w = ad.randn(64, 32, requires_grad=True)
    x = ad.randn(8, 64)
    tr = trace_backward((x @ w).relu().sum(), names={w: "W"})
    text = str(tr)
    assert "(64,32)" in text and "‖" in text
    assert max(len(line) for line in text.splitlines()) < 250


def test_frames_one_per_step():
    f, _ = neuron()
    tr = trace_backward(f)
    frames = tr.frames()
    assert len(frames) == len(tr.rows) + 1
    assert ("step 3: -0.534 × local 0.368 → -0.197" in frames[3]
            and "grad -0.197" not in frames[2] and "grad -0.197" in frames[3])


@needs_dot
def test_frames_are_accepted_by_dot():
    f, _ = neuron()
    frames = trace_backward(f).frames()
    for src in (frames[0], frames[4], frames[-1]):
        done = subprocess.run(["dot", "-Tsvg"], input=src.encode(), capture_output=True)
        assert done.returncode == 0, done.stderr.decode()


def test_html_page_steps_through_backward(monkeypatch):
    f, _ = neuron()
    tr = trace_backward(f)
    import autodiff.viz.render as render
    monkeypatch.setattr(render.shutil, "which", lambda name: None)  # no dot: the table alone
    page = tr.to_html()
    assert page.startswith("<!DOCTYPE html>") and page.count("<tr data-step") == len(tr.rows)
    assert "frames = []" in page


@needs_dot
def test_html_page_embeds_one_svg_per_step(tmp_path):
    f, _ = neuron()
    tr = trace_backward(f)
    tr.save_html(tmp_path / "trace.html")
    page = (tmp_path / "trace.html").read_text()
    assert len(re.findall(r"<svg", page)) == len(tr.rows) + 1
    assert "<svg" in tr._repr_html_()


def _expressions():
    """(name, build) pairs: build() -> (root, leaves) covering many kinds of op."""
    rng = np.random.default_rng(1)

    def t(*shape):
        return ad.tensor(rng.standard_normal(shape).astype(np.float64), requires_grad=True)

    def mlp():
        x, w, b = t(5, 4), t(4, 3), t(3)
        return ((x @ w + b).tanh().softmax(dim=1) * t(5, 3)).sum(), [x, w, b]

    def reductions():
        x = t(3, 4)
        return (x.logsumexp(dim=1).sum() + x.amax(dim=0).sum() + x.var() + x.norm()), [x]

    def shapes():
        x, y = t(2, 3), t(3, 2)
        z = ad.cat([x.T, y], dim=1)[:, 1:].reshape(9, 1).flip(0)
        return (z * z.exp()).sum() + ad.where(x > 0, x, x.sigmoid()).sum(), [x, y]

    def conv():
        x, w = t(2, 1, 6, 6), t(3, 1, 3, 3)
        h = ad.max_pool2d(ad.conv2d(x, w, padding=1).relu(), 2)
        return h.sum(), [x, w]

    return [("mlp", mlp), ("reductions", reductions), ("shapes", shapes), ("conv", conv)]


@pytest.mark.parametrize("name,build", _expressions(), ids=[n for n, _ in _expressions()])
def test_replay_reproduces_backward_even_after_the_graph_was_freed(name, build):
    root, leaves = build()
    before = trace_backward(root)
    root.backward()
    after = trace_backward(root)  # every saved array was freed: nodes are revived
    for tr in (before, after):
        got = {id(lg.value): lg.grad for lg in tr.leaves}
        for x in leaves:
            np.testing.assert_allclose(got[id(x.data)], x.grad.data, rtol=1e-10, atol=1e-12)
