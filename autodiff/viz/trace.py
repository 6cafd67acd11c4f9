"""trace_backward: the staged backward pass of the lectures, as data, a table and HTML frames."""
import html as _html
import json
from dataclasses import dataclass, field
from typing import Any, List, Optional

import numpy as np

from . import fmt
from .graph import Graph, op_name, tensor_key
from .dot import _Drawing
from .render import dot_to_svg, have_dot
from ..engine import rule_on_arrays
from .replay import Replay, initial_gradients

_ELEMENTWISE_EXTRA = {"Clone"}


def _is_elementwise(node):
    return (type(node).__module__.endswith("ops.elementwise")
            or type(node).__name__ in _ELEMENTWISE_EXTRA)


@dataclass
class TraceRow:
    """One backward step: the op, forward values, upstream gradient, local and downstream grads.

    upstream is the output's total gradient; branches lists the contributions that summed into
    it, (label, array), more than one where paths converge. local (elementwise ops only) and
    downstream hold one array (or None) per input.
    """
    step: int
    op: str
    scope: str
    inputs: List[str]
    input_values: List[Any]
    output: Any
    upstream: Any
    branches: List[Any]
    local: Optional[List[Any]]
    downstream: List[Any]
    node: Any = field(repr=False, compare=False, default=None)
    index: int = field(repr=False, compare=False, default=-1)


@dataclass
class LeafGrad:
    """A leaf's final gradient with the contributions that summed into it."""
    name: str
    value: Any
    grad: Any
    branches: List[Any]


class Trace:
    """rows (TraceRow, in backward's order) and leaves (LeafGrad); str() prints the table,
    frames() gives one DOT graph per step, to_html() a page that steps through them."""

    def __init__(self, graph, replay, rows, leaves, gradient, digits):
        self.graph, self.replay, self.rows, self.leaves = graph, replay, rows, leaves
        self.gradient, self.digits = gradient, digits

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, k):
        return self.rows[k]

    def leaf(self, name):
        """The LeafGrad called `name`."""
        for lg in self.leaves:
            if lg.name == name:
                return lg
        raise KeyError(f"no leaf named {name!r}; leaves are {[lg.name for lg in self.leaves]}")

    # --- text ----------------------------------------------------------------------------------
    def table(self, digits=None, width=34):
        """The trace as a fixed-width text table."""
        d = self.digits if digits is None else digits

        def v(a, grad=False):
            return "-" if a is None else fmt.clip(_short(a, d, grad), width)

        def many(xs, grad=True):
            return fmt.clip(", ".join(v(x, grad) for x in xs), width)

        head = ["step", "op", "inputs -> output", "upstream", "local", "downstream"]
        lines = []
        for r in self.rows:
            ins = ", ".join(_arg(n, x, d) for n, x in zip(r.inputs, r.input_values))
            up = v(r.upstream, True) if not isinstance(r.upstream, list) else many(r.upstream)
            lines.append([str(r.step), fmt.clip(r.op + (f" [{r.scope}]" if r.scope else ""), 28),
                          fmt.clip(f"{ins} -> {v(r.output)}", 2 * width), up,
                          "-" if r.local is None else many(r.local, False), many(r.downstream)])
            if len(r.branches) > 1:
                parts = " + ".join(f"{v(a, True)} (from {src})" for src, a in r.branches)
                lines.append(["", "", "", f"  = {parts}", "", ""])
        main = [head] + [row for row in lines if row[0]]
        widths = [max(len(row[k]) for row in main) for k in range(len(head))]
        out = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip(),
               "  ".join("-" * w for w in widths)]
        for row in lines:
            if row[0] == "" and row[3].startswith("  ="):
                out.append(" " * (sum(widths[:3]) + 6) + row[3])
            else:
                out.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if self.leaves:
            out.append("")
            out.append("leaf gradients:")
            for lg in self.leaves:
                line = f"  {lg.name} = {v(lg.value)}: grad {v(lg.grad, True)}"
                if len(lg.branches) > 1:
                    line += "  = " + " + ".join(f"{v(a, True)} (from {src})"
                                                for src, a in lg.branches)
                out.append(line)
        return "\n".join(out)

    def __str__(self):
        return self.table()

    def __repr__(self):
        return f"<Trace: {len(self.rows)} backward steps, {len(self.leaves)} leaves>"

    # --- frames --------------------------------------------------------------------------------
    def frames(self, max_frames=60, **options):
        """DOT sources: frame 0 before backward, frame k after step k (its node highlighted,
        gradients known so far on the wires). Takes to_dot's drawing options."""
        options.setdefault("show_data", True)
        out = []
        partial = _Partial(self.graph, self.gradient)
        steps = self.rows[:max_frames]
        for k in range(len(steps) + 1):
            highlight = {}
            if k:
                r = steps[k - 1]
                partial.advance(self.replay, r.index)
                highlight = {r.index: _step_note(r)}
            d = _Drawing(self.graph, show_data=options.get("show_data"), show_grad=True,
                         names=None, rankdir=options.get("rankdir", "LR"),
                         max_nodes=options.get("max_nodes", 300),
                         legend=options.get("legend", False),
                         gradient=self.gradient, digits=options.get("digits", self.digits),
                         highlight=highlight, replay=partial)
            out.append("\n".join(["digraph autodiff {"] + ["  " + s for s in d.statements()]
                                 + ["}"]))
        return out

    def to_html(self, max_frames=60, full_page=True, **options):
        """An HTML page stepping through backward one node at a time (graph frames when the
        Graphviz `dot` program is installed, the table alone otherwise)."""
        svgs = [dot_to_svg(f) for f in self.frames(max_frames, **options)] if have_dot() else []
        d = self.digits
        rows_html = []
        for r in self.rows:
            ins = ", ".join(_arg(n, x, d) for n, x in zip(r.inputs, r.input_values))
            br = (" = " + " + ".join(f"{_short(a, d, True)} (from {s})" for s, a in r.branches)
                  if len(r.branches) > 1 else "")
            cells = [str(r.step), r.op + (f" [{r.scope}]" if r.scope else ""),
                     f"{ins} → {_short(r.output, d)}", _short(r.upstream, d, True) + br,
                     "-" if r.local is None else ", ".join(_short(x, d) for x in r.local),
                     ", ".join(_short(x, d, True) for x in r.downstream)]
            rows_html.append("<tr data-step=\"%d\">%s</tr>" % (
                r.step, "".join(f"<td>{_html.escape(c)}</td>" for c in cells)))
        head = "".join(f"<th>{h}</th>" for h in
                       ["step", "op", "inputs → output", "upstream", "local", "downstream"])
        uid = f"adtrace{id(self)}"
        frames_js = json.dumps(svgs).replace("</", "<\\/")  # never close the <script> early
        body = f"""
<div id="{uid}" style="font-family: Helvetica, Arial, sans-serif; font-size: 13px">
  <div style="margin: 4px 0">
    <button class="prev">&#9664; back</button>
    <button class="next">step &#9654;</button>
    <span class="where"></span>
  </div>
  <div class="frame" style="overflow: auto; max-height: 70vh"></div>
  <table style="border-collapse: collapse; margin-top: 8px">
    <thead><tr>{head}</tr></thead><tbody>{''.join(rows_html)}</tbody>
  </table>
</div>
<style>#{uid} td, #{uid} th {{ border: 1px solid #ddd; padding: 2px 6px; text-align: left;
 font-family: monospace }} #{uid} tr.current {{ background: #ffe066 }}</style>
<script>
(function() {{
  var root = document.getElementById("{uid}"), frames = {frames_js}, n = {len(self.rows)};
  var k = 0;
  function show() {{
    var f = root.querySelector(".frame");
    if (frames.length) f.innerHTML = frames[Math.min(k, frames.length - 1)];
    root.querySelectorAll("tbody tr").forEach(function(tr) {{
      tr.className = (+tr.getAttribute("data-step") === k) ? "current" : ""; }});
    root.querySelector(".where").textContent = k ? ("step " + k + " of " + n) : "before backward";
  }}
  root.querySelector(".prev").onclick = function() {{ if (k > 0) {{ k--; show(); }} }};
  root.querySelector(".next").onclick = function() {{ if (k < n) {{ k++; show(); }} }};
  show();
}})();
</script>"""
        if not full_page:
            return body
        return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>backward trace"
                "</title></head><body>" + body + "</body></html>")

    def _repr_html_(self):
        return self.to_html(full_page=False)

    def save_html(self, path, **options):
        """Writes to_html() to a file."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_html(**options))


class _Partial:
    """The gradients known after the first k backward steps (for frames)."""

    def __init__(self, graph, gradient):
        self.totals, self.contrib, self.failed = {}, {}, {}
        for r, g in zip(graph.roots, initial_gradients(graph.roots, gradient)):
            key = tensor_key(r)
            self.totals[key] = g if key not in self.totals else self.totals[key] + g
        self.graph = graph

    def advance(self, replay, i):
        for j, key in enumerate(self.graph.op_inputs[i]):
            c = replay.contrib.get((i, j))
            if c is not None:
                self.contrib[(i, j)] = c
                self.totals[key] = c if key not in self.totals else self.totals[key] + c
        if i in replay.failed:
            self.failed[i] = replay.failed[i]

    def total(self, key):
        return self.totals.get(key)


def _short(a, digits, grad=False):
    """A table cell: numbers for tiny arrays; else the shape with the mean (values) or the
    L2 norm (gradients)."""
    if a is None:
        return "-"
    if isinstance(a, list):
        return "[" + ", ".join(_short(x, digits, grad) for x in a) + "]"
    a = np.asarray(a)
    if a.size <= 4:
        return fmt.values(a, digits)
    af = a.astype(np.float64)
    shape = "(" + ",".join(str(n) for n in a.shape) + ")"
    if grad:
        return f"{shape} ‖{fmt.num(np.linalg.norm(af.ravel()), digits)}‖"
    return f"{shape} μ {fmt.num(np.nanmean(af), digits)}"


def trace_backward(*roots, gradient=None, names=None, digits=3):
    """The backward pass as data: one TraceRow per node, in the order backward visits them.

    Re-runs the backward rules without touching .grad (works before or after backward()).
    `gradient` seeds non-scalar roots; names: {tensor: "w0"} or {"w0": tensor}.
    """
    if not roots:
        raise ValueError("trace_backward needs a tensor, e.g. trace_backward(loss)")
    graph = Graph(roots, names)
    locals_ = {}

    def on_step(i, runner):
        node = graph.ops[i]
        if not _is_elementwise(node) or node.n_outputs != 1:
            return
        out = graph.output_tensor(i)
        if out is None:
            return
        try:
            res = rule_on_arrays(runner, np.ones(out.shape, out.dtype))
        except Exception:
            return
        locals_[i] = [None if (r is None or not node.needs_input_grad[j]) else np.asarray(r)
                      for j, r in enumerate(res)]

    replay = Replay(graph, gradient, on_step=on_step)
    labels = _labels(graph, replay)
    step_of = {i: k + 1 for k, i in enumerate(replay.visited)}
    rows = []
    for i in replay.visited:
        node = graph.ops[i]
        keys = graph.op_inputs[i]
        out = graph.output_tensor(i)
        branches = []  # (an op with several outputs: each gets its own gradient, none summed)
        if node.n_outputs == 1:
            for v in graph.outputs(i):
                branches += _branches(graph, replay, v, labels, step_of)
        down = [replay.contrib.get((i, j)) for j in range(len(keys))]
        rows.append(TraceRow(
            step=step_of[i], op=graph.label(i, digits), scope=".".join(graph.scope(i)),
            inputs=[labels.get(k, "-") if k is not None else "-" for k in keys],
            input_values=[None if k is None else graph.tensors[k].tensor.data for k in keys],
            output=None if out is None else out.data, upstream=replay.upstream[i],
            branches=branches, local=locals_.get(i), downstream=down, node=node, index=i))
    leaves = []
    for key in _forward_order(graph, replay):
        v = graph.tensors[key]
        if v.producer is None and v.kind != "const" and key in replay.totals:
            leaves.append(LeafGrad(labels[key], v.tensor.data, replay.totals[key],
                                   _branches(graph, replay, v, labels, step_of)))
    return Trace(graph, replay, rows, leaves, gradient, digits)


def _step_note(r, digits=3):
    """'step 3: -0.534 × local 0.368 → -0.197' for a frame's highlighted node."""
    up = _short(r.upstream, digits, True)
    grads = [g for g in r.downstream if g is not None]
    down = ", ".join(_short(g, digits, True) for g in grads)
    locals_ = [x for x in (r.local or []) if x is not None]
    if len(locals_) == 1 and len(grads) == 1 and np.size(locals_[0]) == 1:
        return f"step {r.step}: {up} × local {_short(locals_[0], digits)} → {down}"
    return f"step {r.step}: upstream {up} → {down}"


def _arg(name, x, digits):
    """'w0=2' for an input; just '1' for a folded constant named by its value."""
    text = _short(x, digits)
    return text if name == text else f"{name}={text}"


def _branches(graph, replay, v, labels, step_of):
    out = [("seed", replay.seeds[v.key])] if v.key in replay.seeds else []
    for i, j in v.consumers:
        c = replay.contrib.get((i, j))
        if c is not None:
            out.append((f"step {step_of[i]} {fmt.clip(graph.label(i), 20)}", c))
    return out


def _forward_order(graph, replay):
    """Tensor keys in roughly the order the forward pass used them: ops last-visited first."""
    order, seen = [], set()
    for i in reversed(range(len(graph.ops))):
        for key in graph.op_inputs[i]:
            if key is not None and key not in seen:
                seen.add(key)
                order.append(key)
    return order + [k for k in graph.tensors if k not in seen]


def _labels(graph, replay):
    """Names for tensors in the table: user names, else leaf0, param1... for leaves (numbered
    roughly in creation order), op#step for op outputs."""
    labels, counters = {}, {}
    step_of = {i: k + 1 for k, i in enumerate(replay.visited)}
    for key in _forward_order(graph, replay):
        v = graph.tensors[key]
        if v.name:
            labels[key] = v.name
        elif v.producer is not None:
            s = step_of.get(v.producer)
            labels[key] = op_name(graph.ops[v.producer]) + (f"#{s}" if s else "")
        elif v.folded:
            labels[key] = fmt.num(v.tensor.data.reshape(()))
        else:
            prefix = {"param": "param", "input": "leaf", "const": "const"}[v.kind]
            n = counters.get(prefix, 0)
            counters[prefix] = n + 1
            labels[key] = f"{prefix}{n}"
    return labels
