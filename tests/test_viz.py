"""autodiff.viz.to_dot / draw_graph: structure, labels, escaping, gradients, clusters, size."""
import re
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

import autodiff as ad
from autodiff.viz import GraphvizNotFound, draw_graph, to_dot
from autodiff.viz import fmt, health

from _optional import needs_dot, require


def accepted(src):
    """dot -Tsvg accepts the source (checked where the binary exists)."""
    if shutil.which("dot") is None:
        return True
    done = subprocess.run(["dot", "-Tsvg"], input=src.encode(), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert b"Warning" not in done.stderr, done.stderr.decode()
    return True


def nodes(src):
    """Statements declaring a vertex: `vN [label=...`."""
    return re.findall(r"^\s*(v\d+) \[label=", src, flags=re.M)


def edges(src):
    return re.findall(r"^\s*(v\d+) -> (v\d+)", src, flags=re.M)


def node_line(src, text):
    hits = [line for line in src.splitlines()
            if re.match(r"\s*v\d+ \[label=", line) and text in line]
    assert hits, f"no vertex mentions {text!r}"
    return hits[0]


def node_id(src, text):
    return re.match(r"\s*(v\d+)", node_line(src, text)).group(1)


def neuron():
    vals = dict(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)
    t = {k: ad.tensor(v, requires_grad=True) for k, v in vals.items()}
    for k, v in t.items():
        v.name = k
    f = 1 / (1 + ad.exp(-(t["w0"] * t["x0"] + t["w1"] * t["x1"] + t["w2"])))
    return f, t


class FakeParameter(ad.Tensor):
    """Stands in for nn.Parameter: viz recognises parameters by class name."""
    __slots__ = ()


FakeParameter.__name__ = "Parameter"


# --- structure --------------------------------------------------------------------------------

def test_works_without_graphviz_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    src = to_dot((x * 2).sum())
    assert src.startswith("digraph") and src.rstrip().endswith("}")


def test_equal_data_gives_two_nodes_and_a_times_a_one_node_two_edges():
    a = ad.tensor([1.0, 2.0], requires_grad=True)
    b = ad.tensor([1.0, 2.0], requires_grad=True)
    a.name, b.name = "A", "B"
    src = to_dot((a + b).sum())
    assert node_id(src, "<B>A</B>") != node_id(src, "<B>B</B>")
    src = to_dot((a * a).sum())
    ida = node_id(src, "<B>A</B>")
    assert len([e for e in edges(src) if e[0] == ida]) == 2
    assert len([n for n in nodes(src) if n == ida]) == 1
    assert accepted(src)


def test_ops_and_tensor_kinds_have_distinct_styles():
    w = FakeParameter(np.ones((3, 2), np.float32), requires_grad=True)
    x = ad.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    c = ad.tensor(np.ones((4, 2), np.float32))
    w.name, x.name, c.name = "W", "X", "C"
    y = ((x @ w) * c).sum(dim=1)
    src = to_dot(y)
    fills = {k: re.search(r'fillcolor="([^"]+)"', node_line(src, f"<B>{k}</B>")).group(1)
             for k in "WXC"}
    assert len(set(fills.values())) == 3
    assert "dashed" in node_line(src, "<B>C</B>")
    assert "sum(dim=1)" in src  # op label with its static parameter
    assert "peripheries=2" in src  # the root
    assert "(4, 3) float32" in node_line(src, "<B>X</B>")
    assert accepted(src)


def test_op_outputs_drawn_inside_ops_or_as_tensor_nodes():
    x = ad.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    y = x.exp().sum()
    plain = to_dot(y)
    assert "→ (2, 3) float32" in node_line(plain, "exp")
    separate = to_dot(y, intermediates=True)
    assert len(nodes(separate)) == len(nodes(plain)) + 1
    assert accepted(plain) and accepted(separate)


def test_names_from_dict_either_way_and_from_name_attribute():
    x = ad.tensor([1.0], requires_grad=True)
    w = ad.tensor([2.0], requires_grad=True)
    z = ad.tensor([3.0], requires_grad=True)
    z.name = "zed"
    y = (x * w + z).sum()
    src = to_dot(y, names={x: "input x", "weight W": w})
    for n in ("input x", "weight W", "zed"):
        assert f"<B>{n}</B>" in src


AWKWARD = ['quote " and \\ backslash', "<html> & {record|fields}", "tab\there\nnewline",
           "]; node [shape=star] x [", "ünïcödé ∂L/∂W", "\\\"\\"]


@pytest.mark.parametrize("name", AWKWARD)
def test_awkward_names_are_escaped_and_accepted_by_dot(name):
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    x.name = name
    y = (x * x).sum()
    y.name = name
    src = to_dot(y, show_data=True, show_grad=True)
    assert fmt.html(name) in src
    if any(c in name for c in '<>"\n'):
        assert name not in src
    for line in src.splitlines():  # the would-be injection stays inside a label
        if "shape=star" in line:
            assert re.match(r"\s*v\d+ \[label=<", line)
            assert line.index("shape=star") < line.index("</TABLE>>")
    assert accepted(src)


def test_awkward_module_and_function_names():
    class Weird(ad.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    Weird.__name__ = 'We"ird<Op>{|}'
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    with ad.name_scope('blocks["a"]'), ad.name_scope("<1> {x|y} \\"):
        y = Weird.apply(x).exp()
    src = to_dot(y.sum(), show_grad=True)
    assert fmt.html('blocks["a"].<1> {x|y} \\') in src and fmt.html('We"ird<Op>{|}') in src
    assert accepted(src)
    with pytest.warns(UserWarning):
        assert accepted(to_dot(y.sum(), max_nodes=4))


def test_custom_function_with_non_tensor_argument():
    class Scale(ad.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = Scale.apply(x, 3.0).sum()
    src = to_dot(y, show_grad=True)
    assert "Scale" in src
    assert accepted(src)
    y.backward()  # frees the Function's saved state: its inputs' gradients cannot be replayed
    src = to_dot(y, show_grad=True)
    assert accepted(src)


def test_multiple_roots_and_multi_output_ops():
    x = ad.tensor(np.arange(6.0, dtype=np.float32), requires_grad=True)
    a, b = x.split(3)
    src = to_dot(a.sum(), (b * 2).sum())
    assert src.count("peripheries=2") == 2
    assert to_dot([a.sum(), (b * 2).sum()]).count("peripheries=2") == 2
    assert accepted(src)


def test_rejects_bad_arguments():
    x = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="rankdir"):
        to_dot(x * 2, rankdir="sideways")
    with pytest.raises(TypeError, match="Tensor"):
        to_dot(np.ones(3))
    with pytest.raises(ValueError, match="show_grad"):
        to_dot(x * 2, show_grad="yes")


def test_leaf_alone_and_constant_root():
    x = ad.tensor([1.0, 2.0])
    assert accepted(to_dot(x, show_data=True, show_grad=True))
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    assert accepted(to_dot(w, show_grad=True))


# --- values and gradients ---------------------------------------------------------------------

def test_show_data_values_for_tiny_and_summary_for_large():
    small = ad.tensor([1.5, -2.0], requires_grad=True)
    small.name = "small"
    big = ad.tensor(np.linspace(-1, 3, 100).astype(np.float32), requires_grad=True)
    big.name = "big"
    src = to_dot(small.sum() + big.sum(), show_data=True)
    assert "[1.5, -2]" in node_line(src, "<B>small</B>")
    line = node_line(src, "<B>big</B>")
    assert "min -1" in line and "mean 1" in line and "max 3" in line


def test_show_grad_replays_backward_and_matches_grad():
    f, t = neuron()
    before = to_dot(f, show_grad=True)  # before backward: the numbers backward will produce
    f.backward()
    after = to_dot(f, show_grad=True)  # after: the graph was freed, replay revives the nodes
    for src in (before, after):
        for name, want in dict(w0=-0.197, x0=0.393, w1=-0.393, x1=-0.59, w2=0.197).items():
            assert f"grad {want:g}" in node_line(src, f"<B>{name}</B>")
        assert "grad -0.534" in src  # an intermediate wire: d f / d(1 + e^-z)
        assert accepted(src)
    assert all(v.grad is not None for v in t.values())
    assert t["w0"].grad.item() == pytest.approx(-0.19661, abs=1e-4)  # .grad untouched by replay


def test_accumulated_grad_shown_next_to_replayed_one():
    x = ad.tensor(2.0, requires_grad=True)
    x.name = "x"
    y = x * 3
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    line = node_line(to_dot(y, show_grad=True), "<B>x</B>")
    assert "grad 3" in line and ".grad 6" in line


def test_stored_mode_shows_leaf_and_retained_grads_only():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    x.name = "x"
    h = x * 2
    h.retain_grad()
    h.name = "h"
    k = h.exp()
    k.name = "k"
    y = k.sum()
    y.backward()
    src = to_dot(y, show_grad="stored")
    assert "grad [" in node_line(src, "<B>h</B>")
    assert "grad —" in node_line(src, "<B>k</B>")
    assert "stored .grad only" in src


def test_non_scalar_root_falls_back_to_stored_or_takes_gradient():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    x.name = "x"
    y = x * 3
    assert "no backward yet" in to_dot(y, show_grad=True)
    src = to_dot(y, show_grad=True, gradient=np.array([1.0, 10.0], np.float32))
    assert "grad [3, 30]" in node_line(src, "<B>x</B>")


def test_branch_contributions_label_fan_out_edges():
    x = ad.tensor(3.0, requires_grad=True)
    x.name = "x"
    y = x * 2 + x.exp()
    src = to_dot(y, show_grad=True)
    want = 2 + np.exp(np.float32(3.0))
    assert f"grad {want:.3g}" in node_line(src, "<B>x</B>")
    labels = re.findall(r"v\d+ -> v\d+ \[[^\n]*label=<<FONT[^>]*>([^<]+)</FONT>>", src)
    assert sorted(labels) == sorted(["2", f"{np.exp(3.0):.3g}"])


def test_health_colours_nan_vanishing_exploding_and_dead_relu():
    x = ad.tensor([0.0, 1.0], requires_grad=True)
    x.name = "x"
    src = to_dot((x.sqrt() * 0 + x.log()).sum(), show_grad=True)  # d/dx log(x) at 0 is inf
    assert health.COLORS["nan"] in node_line(src, "<B>x</B>")
    deep = ad.tensor(np.full(4, 0.5, np.float32), requires_grad=True)
    deep.name = "deep"
    h = deep
    for _ in range(12):
        h = ad.sigmoid(h * 0.1)
    src = to_dot(h.sum(), show_grad=True)
    assert health.COLORS["vanishing"] in node_line(src, "<B>deep</B>")
    big = ad.tensor([1.0, 1.0], requires_grad=True)
    big.name = "big"
    src = to_dot((big * 1e5).sum(), show_grad=True)
    assert health.COLORS["exploding"] in node_line(src, "<B>big</B>")
    z = ad.tensor([[-1.0, 2.0], [-3.0, 4.0]], requires_grad=True)
    src = to_dot(z.relu().sum(), show_grad=True)
    assert "inactive 50%, dead 1/2" in src
    assert "healthy" in src and "vanishing" in src  # the legend
    assert accepted(src)


def test_health_classify():
    assert health.classify(np.array([np.nan]), np.ones(1)) == "nan"
    assert health.classify(np.zeros(3), np.ones(3)) == "zero"
    assert health.classify(np.full(3, 1e-9), np.ones(3)) == "vanishing"
    assert health.classify(np.full(3, 0.1), np.ones(3)) == "healthy"
    assert health.classify(np.full(3, 0.1), np.zeros(3)) == "healthy"  # a zero-initialised bias
    assert health.classify(np.full(3, 1e5), np.ones(3)) == "exploding"


# --- module clusters and big graphs -------------------------------------------------------------

def scoped_mlp(depth=4, width=256, batch=8):
    """An MLP whose layers are recorded under name scopes, as nn.Module.__call__ does."""
    rng = np.random.default_rng(0)
    x = ad.tensor(rng.standard_normal((batch, width)).astype(np.float32))
    h = x
    params = {}
    for i in range(depth):
        w = FakeParameter(rng.standard_normal((width, width)).astype(np.float32) * 0.05,
                          requires_grad=True)
        b = FakeParameter(np.zeros(width, np.float32), requires_grad=True)
        params[f"layers.{i}.weight"], params[f"layers.{i}.bias"] = w, b
        with ad.name_scope("layers"), ad.name_scope(str(i)):
            with ad.name_scope("linear"):
                h = h @ w + b
            h = h.relu()
    return h.sum(), params


def test_clusters_by_module_path():
    y, params = scoped_mlp(depth=2, width=4)
    src = to_dot(y, names=params)
    assert "<B>layers.1</B>" in src and "<B>layers.1.linear</B>" in src
    block = src[src.index("<B>layers.0.linear</B>"):]
    assert "layers.0.weight" in block.split("}")[0]  # the parameter sits in its module's cluster
    assert accepted(src)


def test_four_layer_mlp_256_wide_is_compact():
    y, params = scoped_mlp(depth=4, width=256)
    y.backward()
    for kw in ({}, dict(show_grad=True, show_data=True)):
        src = to_dot(y, names=params, **kw)
        assert len(edges(src)) < 100
        assert accepted(src)


def test_real_nn_mlp_clusters_by_module():
    import nn
    import nn.functional as F
    model = nn.MLP(64, [256, 256, 256], 10)  # four Linear layers, 256 wide
    loss = F.cross_entropy(model(ad.randn(32, 64)), ad.randint(0, 10, (32,)))
    loss.backward()
    for kw in ({}, dict(show_grad=True, show_data=True)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # fits under the default max_nodes
            src = to_dot(loss, names=dict(model.named_parameters()), **kw)
        assert "<B>0.weight</B>" in src and "<B>6</B>" in src  # cluster of the last Linear
        assert len(edges(src)) < 100
        assert accepted(src)


def test_above_max_nodes_modules_collapse_with_a_warning():
    y, params = scoped_mlp(depth=4, width=8)
    with pytest.warns(UserWarning, match="max_nodes=None"):
        src = to_dot(y, names=params, max_nodes=20, show_grad=True)
    assert "shape=box3d" in src and "params" in src
    assert len(nodes(src)) <= 20
    assert accepted(src)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        to_dot(y, max_nodes=None)


def test_100k_op_chain_is_summarised_without_recursion():
    x = ad.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    limit = sys.getrecursionlimit()
    with pytest.warns(UserWarning, match="max_nodes"):
        src = to_dot(y, max_nodes=300, show_grad=True)
    assert sys.getrecursionlimit() == limit
    assert len(nodes(src)) <= 300
    assert "more ops" in src
    assert accepted(src)


# --- draw_graph ---------------------------------------------------------------------------------

@needs_dot
def test_draw_graph_returns_a_digraph_with_the_same_source(tmp_path):
    graphviz = require("graphviz")
    f, _ = neuron()
    g = draw_graph(f, show_data=True, show_grad=True)
    assert isinstance(g, graphviz.Digraph)
    assert g.source.split() == to_dot(f, show_data=True, show_grad=True).split()
    out = g.render(str(tmp_path / "neuron"), format="svg")
    assert open(out).read().lstrip().startswith(("<?xml", "<svg"))


def test_draw_graph_without_dot_says_what_to_install(monkeypatch):
    require("graphviz")
    import autodiff.viz.render as render
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    x = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(GraphvizNotFound, match="apt install graphviz") as e:
        draw_graph((x * 2).sum())
    assert "to_dot" in str(e.value)


def test_draw_graph_without_graphviz_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    x = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(ImportError, match="pip install graphviz"):
        draw_graph((x * 2).sum())
