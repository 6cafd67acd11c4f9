"""to_dot: the graph as Graphviz DOT source, with no dependency beyond the package."""
import re
import warnings

import numpy as np

from . import fmt, health
from .graph import Graph, op_name, tensor_key
from .replay import Replay

KIND_STYLE = {  # tensors: rounded boxes; the fill says what kind of tensor
    "param": ("#fbe3a6", "parameter (nn.Parameter)"),
    "input": ("#cde6fb", "leaf that requires grad"),
    "const": ("#eeeeee", "constant (no grad)"),
    "intermediate": ("#ffffff", "intermediate (op output)"),
}
OP_FILL = "#dcd6f0"
GROUP_FILL = "#e4ecf6"
CLUSTER_FILLS = ("#f6f8fb", "#edf1f6", "#e4e9f0")
_SEVERITY = {"nan": 4, "exploding": 3, "zero": 2, "vanishing": 2, "healthy": 1}


def to_dot(*roots, show_data=False, show_grad=False, names=None, rankdir="LR", max_nodes=300,
           legend=None, gradient=None, digits=3, intermediates="auto"):
    """DOT source (a string) of the graph that computed `roots`.

    show_data: values of tiny tensors, min/mean/max of larger ones.
    show_grad: True shows d(root)/d(t) on every tensor and edge, recomputed by replaying the
    backward rules (the numbers backward() produces; .grad untouched, hooks not run; needs
    scalar roots or `gradient=`); "stored" shows only what exists: leaves' .grad and
    retain_grad() tensors. Colours mark vanishing / healthy / exploding / NaN gradients.
    names: {tensor: "W1"} or {"W1": tensor} (e.g. dict(model.named_parameters())); tensors'
    own .name is used otherwise. Ops recorded inside nn modules are clustered by module path;
    above max_nodes (None: no limit) modules collapse into boxes, then the graph is cut.
    intermediates: draw op outputs as their own tensor nodes (True), or as a line in the op
    node (False); "auto" draws them when they carry data or gradients.
    """
    return "\n".join(dot_lines(roots, show_data=show_data, show_grad=show_grad, names=names,
                               rankdir=rankdir, max_nodes=max_nodes, legend=legend,
                               gradient=gradient, digits=digits, intermediates=intermediates))


def dot_lines(roots, **options):
    """The DOT source as lines: 'digraph autodiff {', statements..., '}'."""
    body = _Drawing(roots, **options).statements()
    return ["digraph autodiff {"] + ["  " + s for s in body] + ["}"]


class _Drawing:
    """One picture: which vertices to draw (_plan), then its DOT statements."""

    def __init__(self, roots, show_data=False, show_grad=False, names=None, rankdir="LR",
                 max_nodes=300, legend=None, gradient=None, digits=3, intermediates="auto",
                 highlight=None, replay=None):
        if rankdir not in ("LR", "RL", "TB", "BT"):
            raise ValueError(f"rankdir must be 'LR', 'RL', 'TB' or 'BT', got {rankdir!r}")
        if show_grad not in (True, False, "replay", "stored"):
            raise ValueError(f"show_grad must be True, False, 'replay' or 'stored', "
                             f"got {show_grad!r}")
        if not roots:
            raise ValueError("to_dot needs at least one tensor, e.g. to_dot(loss)")
        self.g = roots if isinstance(roots, Graph) else Graph(roots, names)
        self.show_data, self.digits, self.rankdir = show_data, digits, rankdir
        self.highlight = highlight or {}
        self.legend = bool(show_grad) if legend is None else legend
        if intermediates not in (True, False, "auto"):
            raise ValueError(f"intermediates must be True, False or 'auto', got {intermediates!r}")
        self.separate = bool(show_data or show_grad) if intermediates == "auto" else intermediates
        self._plan(max_nodes)
        self.grad_mode = None
        self.replay = replay
        if show_grad:
            self.grad_mode = self._grad_mode(show_grad, gradient)
            if self.grad_mode == "replay" and self.replay is None:
                limit = None if self.cut is None else self.cut + 1
                self.replay = Replay(self.g, gradient, limit=limit)

    # --- what to draw ------------------------------------------------------------------------
    def _grad_mode(self, show_grad, gradient):
        if show_grad == "stored":
            return "stored"
        ok = all(r.requires_grad for r in self.g.roots) and (
            gradient is not None or all(r.data.size == 1 for r in self.g.roots))
        if show_grad == "replay" and not ok:
            raise ValueError("show_grad='replay' needs roots that require grad and are scalars "
                             "(or pass gradient=...); use show_grad='stored' to show .grad only")
        return "replay" if ok else "stored"

    def _owners(self, depth):
        g = self.g
        op_owner = []
        for i in range(len(g.ops)):
            s = g.scope(i)
            op_owner.append(("mod", s[:depth]) if depth and len(s) >= depth else ("op", i))
        sizes = {}
        for o in op_owner:
            sizes[o] = sizes.get(o, 0) + 1
        op_owner = [("op", i) if sizes[o] == 1 else o for i, o in enumerate(op_owner)]
        t_owner = {}
        for key, v in g.tensors.items():
            if v.folded:
                continue
            own = ("t", key)
            if not self.separate and v.producer is not None and not v.is_root:
                t_owner[key] = op_owner[v.producer]  # drawn inside its op node
                continue
            cons = {op_owner[i] for i, _ in v.consumers}
            if not v.is_root and len(cons) == 1:
                (c,) = cons
                if c[0] == "mod":
                    if v.producer is not None and op_owner[v.producer] == c:
                        own = c
                    elif v.producer is None and v.kind == "param":
                        own = c
            t_owner[key] = own
        order, seen = [], set()

        def put(o):
            if o not in seen:
                seen.add(o)
                order.append(o)
        for r in g.roots:
            put(t_owner[tensor_key(r)])
        for i in range(len(g.ops)):
            for v in g.outputs(i):
                if not v.folded:
                    put(t_owner[v.key])
            put(op_owner[i])
            for key in g.op_inputs[i]:
                if key is not None and key in t_owner:
                    put(t_owner[key])
        return op_owner, t_owner, order

    def _plan(self, max_nodes):
        """Full picture if it fits; else collapse modules (finest level first), then draw op
        outputs inside their ops; else keep the vertices nearest the output."""
        g = self.g
        self.depth, self.cut = None, None
        op_owner, t_owner, order = self._owners(None)
        n_full = len(order)
        if max_nodes is not None and n_full > max_nodes:
            deepest = max((len(g.scope(i)) for i in range(len(g.ops))), default=0)
            ladder = [(d, self.separate) for d in range(deepest, 0, -1)]
            if self.separate:
                ladder += [(None, False)] + [(d, False) for d in range(deepest, 0, -1)]
            for d, sep in ladder:
                self.separate = sep
                op_owner, t_owner, order = self._owners(d)
                self.depth = d
                if len(order) <= max_nodes:
                    break
            how = []
            if self.depth:
                how.append(f"modules collapsed into boxes at depth {self.depth}")
            if ladder and not self.separate and ladder[0][1]:
                how.append("op outputs drawn inside their ops")
            if len(order) > max_nodes:
                keep = set(order[:max(max_nodes - 1, 1)])
                order = [o for o in order if o in keep] + [("more", 0)]
                more = ("more", 0)
                op_owner = [o if o in keep else more for o in op_owner]
                t_owner = {k: (o if o in keep else more) for k, o in t_owner.items()}
                kept_ops = [i for i, o in enumerate(op_owner) if o != more]
                self.cut = max(kept_ops) if kept_ops else 0
                how.append(f"only the {len(keep)} vertices nearest the output drawn")
            warnings.warn(
                f"to_dot: the graph has {n_full} vertices (> max_nodes={max_nodes}); "
                f"{', '.join(how)}. Pass a larger max_nodes, or max_nodes=None, to draw every op.",
                stacklevel=5)
        self.op_owner, self.t_owner, self.order = op_owner, t_owner, order
        self.owner_ops, self.owner_params = {}, {}
        for i, o in enumerate(op_owner):
            self.owner_ops.setdefault(o, []).append(i)
        for key, o in t_owner.items():
            v = g.tensors[key]
            if o[0] != "t" and v.producer is None and v.kind == "param":
                self.owner_params.setdefault(o, []).append(v)

    # --- DOT -----------------------------------------------------------------------------------
    def statements(self):
        self.ids = {o: f"v{k}" for k, o in enumerate(self.order)}
        out = [f"graph [rankdir={self.rankdir}, fontname=Helvetica, fontsize=11, nodesep=0.25, "
               f"ranksep=0.35, newrank=true]",
               "node [fontname=Helvetica, fontsize=11, margin=\"0.08,0.04\"]",
               "edge [fontname=Helvetica, fontsize=9, color=\"#666666\", arrowsize=0.7]"]
        nodes = {}
        for o in self.order:
            nodes[o] = self._vertex(o)
        out += self._clusters(nodes)
        out += self._edges()
        if self.legend:
            out += self._legend()
        return out

    def _grad(self, v):
        """(gradient array or None, note) for a tensor vertex."""
        if self.grad_mode == "replay":
            g = self.replay.total(v.key)
            if g is not None and v.producer is None and v.tensor.grad is not None:
                stored = v.tensor.grad.data
                if stored.shape != g.shape or not np.allclose(stored, g, equal_nan=True):
                    return g, ".grad " + fmt.grad_text(stored, self.digits)
            return g, None
        if self.grad_mode == "stored":
            grad = v.tensor._grad  # (non-leaves too: no warning)
            return (None if grad is None else grad.data), None
        return None, None

    def _tensor_label(self, v):
        t = v.tensor
        rows = []
        if v.name:
            rows.append(f"<B>{fmt.html(fmt.clip(v.name, 40))}</B>")
        rows.append(f"<FONT POINT-SIZE=\"9\">{fmt.shape_str(t.shape)} "
                    f"{fmt.dtype_str(t.dtype)}</FONT>")
        if self.show_data:
            rows.append(fmt.html(fmt.values(t.data, self.digits)))
        color = None
        if self.grad_mode and v.kind != "const":
            g, note = self._grad(v)
            if g is None:
                hint = "" if self.grad_mode == "replay" else (
                    " (retain_grad)" if v.producer is not None else " (no backward yet)")
                rows.append(f"<FONT COLOR=\"#999999\">grad —{hint}</FONT>")
            else:
                seed = v.is_root and not v.consumers  # the seed gradient says nothing of health
                color = None if seed else health.color(health.classify(g, t.data))
                rows.append(f"<FONT COLOR=\"{color or '#333333'}\">grad "
                            f"{fmt.html(fmt.grad_text(g, self.digits))}</FONT>")
                if note:
                    rows.append(f"<FONT POINT-SIZE=\"9\" COLOR=\"#666666\">{fmt.html(note)}</FONT>")
        return _table(rows), color

    def _vertex(self, o):
        g = self.g
        nid = self.ids[o]
        if o[0] == "t":
            v = g.tensors[o[1]]
            label, color = self._tensor_label(v)
            scope = v.scope[:self._cap(v.scope)]
            fill, _ = KIND_STYLE[v.kind]
            style = "rounded,filled" + (",dashed" if v.kind == "const" else "")
            attrs = ["shape=box", f"style=\"{style}\"", f"fillcolor=\"{fill}\""]
            if v.is_root:
                attrs.append("peripheries=2")
            if color:
                attrs += [f"color=\"{color}\"", "penwidth=2"]
            return nid, scope, f"{nid} [label=<{label}>, {', '.join(attrs)}]"
        if o[0] == "op":
            i = o[1]
            rows = [f"<B>{fmt.html(fmt.clip(g.label(i, self.digits), 60))}</B>"]
            node = g.ops[i]
            if not self.separate:
                outs = [w for w in g.outputs(i) if not w.is_root]
                for w in outs[:2]:
                    t = w.tensor
                    rows.append(f"<FONT POINT-SIZE=\"9\">→ {fmt.shape_str(t.shape)} "
                                f"{fmt.dtype_str(t.dtype)}</FONT>")
                    if self.show_data:
                        rows.append(f"<FONT POINT-SIZE=\"9\">"
                                    f"{fmt.html(fmt.values(t.data, self.digits))}</FONT>")
                    grad = self._grad(w)[0] if self.grad_mode else None
                    if grad is not None:
                        col = health.color(health.classify(grad, t.data))
                        rows.append(f"<FONT POINT-SIZE=\"9\" COLOR=\"{col}\">grad "
                                    f"{fmt.html(fmt.grad_text(grad, self.digits))}</FONT>")
            if (self.show_data or self.grad_mode) and type(node).__name__ == "Relu":
                rows.append(f"<FONT POINT-SIZE=\"9\">"
                            f"{fmt.html(health.relu_note(node.inputs[0].data))}</FONT>")
            if self.replay is not None and i in self.replay.failed:
                rows.append("<FONT POINT-SIZE=\"9\" COLOR=\"#d62728\">"
                            "backward not replayable</FONT>")
            attrs = ["shape=box", "style=\"filled\"", f"fillcolor=\"{OP_FILL}\"",
                     "color=\"#8a7fb8\""]
            if i in self.highlight:
                attrs = ["shape=box", "style=\"filled,bold\"", "fillcolor=\"#ffe066\"",
                         "color=\"#d62728\"", "penwidth=3"]
                rows.append(f"<FONT POINT-SIZE=\"9\">{fmt.html(self.highlight[i])}</FONT>")
            return nid, g.scope(i)[:self._cap(g.scope(i))], \
                f"{nid} [label=<{_table(rows)}>, {', '.join(attrs)}]"
        if o[0] == "mod":
            return nid, o[1][:-1], f"{nid} [label=<{self._group_label(o)}>, shape=box3d, " \
                                   f"style=filled, fillcolor=\"{GROUP_FILL}\"" \
                                   f"{self._group_color(o)}]"
        n_ops = len(self.owner_ops.get(o, ()))
        kinds = _count_names(self.g, self.owner_ops.get(o, ()))
        label = _table([f"<B>… {n_ops:,} more ops</B>",
                        f"<FONT POINT-SIZE=\"9\">{fmt.html(kinds)}</FONT>",
                        "<FONT POINT-SIZE=\"9\">raise max_nodes to draw them</FONT>"])
        return nid, (), f"{nid} [label=<{label}>, shape=note, style=filled, fillcolor=\"#fff4d6\"]"

    def _cap(self, scope):
        """How much of a scope stays a cluster (collapsed modules are boxes, not clusters)."""
        if self.depth and len(scope) >= self.depth:
            return self.depth - 1
        return len(scope)

    def _hidden_params(self, o):
        return self.owner_params.get(o, [])

    def _group_label(self, o):
        ops = self.owner_ops.get(o, ())
        params = self._hidden_params(o)
        rows = [f"<B>{fmt.html('.'.join(o[1]))}</B>",
                f"<FONT POINT-SIZE=\"9\">{len(ops)} ops: "
                f"{fmt.html(_count_names(self.g, ops))}</FONT>"]
        if params:
            n = sum(v.tensor.data.size for v in params)
            rows.append(f"<FONT POINT-SIZE=\"9\">{len(params)} params, {n:,} values</FONT>")
        kind = self._group_health(o, params)
        if kind:
            rows.append(f"<FONT POINT-SIZE=\"9\" COLOR=\"{health.color(kind)}\">"
                        f"param grads: {kind}</FONT>")
        return _table(rows)

    def _group_health(self, o, params):
        if not self.grad_mode or not params:
            return None
        kinds = []
        for v in params:
            g, _ = self._grad(v)
            if g is not None:
                kinds.append(health.classify(g, v.tensor.data))
        return max(kinds, key=_SEVERITY.get) if kinds else None

    def _group_color(self, o):
        kind = self._group_health(o, self._hidden_params(o))
        return f", color=\"{health.color(kind)}\", penwidth=2" if kind else ""

    def _clusters(self, nodes):
        """Nested `subgraph cluster_...` blocks by module path, opened and closed with a stack."""
        by_path = {}
        for o in self.order:
            nid, scope, stmt = nodes[o]
            by_path.setdefault(tuple(scope), []).append(stmt)
        paths = set()
        for p in by_path:
            for n in range(1, len(p) + 1):
                paths.add(p[:n])
        out = list(by_path.get((), []))
        stack = []
        for p in sorted(paths):
            while stack and stack[-1] != p[:len(stack[-1])]:
                stack.pop()
                out.append("  " * len(stack) + "}")
            ind = "  " * len(stack)
            fill = CLUSTER_FILLS[min(len(stack), len(CLUSTER_FILLS) - 1)]
            out.append(f"{ind}subgraph cluster_{len(out)} {{")
            out.append(f"{ind}  label=<<B>{fmt.html('.'.join(p))}</B>>; style=\"rounded,filled\"; "
                       f"fillcolor=\"{fill}\"; color=\"#aab4c3\"; fontcolor=\"#44546a\"; "
                       f"fontsize=10")
            out += [ind + "  " + s for s in by_path.get(p, [])]
            stack.append(p)
        while stack:
            stack.pop()
            out.append("  " * len(stack) + "}")
        return out

    def _edges(self):
        g, ids = self.g, self.ids
        out, seen = [], set()
        more = ("more", 0)
        for i in range(len(g.ops)):
            dst = self.op_owner[i]
            node = g.ops[i]
            if dst == more and all(k is None or self.t_owner.get(k, more) == more
                                   for k in g.op_inputs[i]) and all(
                    self.t_owner.get(v.key, more) == more for v in g.outputs(i)):
                continue  # deep inside the cut-off part
            for j, key in enumerate(g.op_inputs[i]):
                if key is None or key not in self.t_owner:
                    continue
                src = self.t_owner[key]
                if src == dst:
                    continue
                if src[0] in ("mod", "more") or dst[0] in ("mod", "more"):
                    if (src, dst) in seen:
                        continue
                    seen.add((src, dst))
                out.append(f"{ids[src]} -> {ids[dst]}{self._in_edge_attrs(i, j, key, node, dst)}")
            for v in g.outputs(i):
                if v.folded:
                    continue
                t = self.t_owner[v.key]
                src = dst
                if t == src or (src, t) in seen:
                    continue
                if src[0] in ("mod", "more") or t[0] in ("mod", "more"):
                    seen.add((src, t))
                out.append(f"{ids[src]} -> {ids[t]}{self._out_edge_attrs(v)}")
        return out

    def _in_edge_attrs(self, i, j, key, node, dst):
        attrs = []
        v = self.g.tensors[key]
        if not node.needs_input_grad[j]:
            attrs += ["style=dashed", "color=\"#aaaaaa\""]
        elif self.grad_mode and dst[0] != "op":  # into a module box: the tensor's gradient
            grad = self._grad(v)[0]
            if grad is not None:
                attrs += [f"color=\"{health.color(health.classify(grad, v.tensor.data))}\"",
                          "penwidth=1.6"]
        elif self.grad_mode == "replay" and dst[0] == "op":
            c = self.replay.contrib.get((i, j))
            if c is not None:
                color = health.color(health.classify(c, v.tensor.data))
                attrs += [f"color=\"{color}\"", "penwidth=1.6"]
                if len(v.consumers) > 1:  # a fan-out: each branch's share, summed at the tensor
                    attrs.append(f"label=<<FONT COLOR=\"{color}\">"
                                 f"{fmt.html(fmt.grad_text(c, self.digits))}</FONT>>")
        drawn = [k for k in self.g.op_inputs[i] if k is not None and not self.g.tensors[k].folded]
        if dst[0] == "op" and len(drawn) > 1 and type(node).__name__ in _ORDERED:
            attrs.append(f"headlabel=<<FONT POINT-SIZE=\"8\" COLOR=\"#888888\">{j}</FONT>>")
        return f" [{', '.join(attrs)}]" if attrs else ""

    def _out_edge_attrs(self, v):
        if not self.grad_mode or (v.is_root and not v.consumers):
            return ""
        g, _ = self._grad(v)
        if g is None:
            return ""
        return f" [color=\"{health.color(health.classify(g, v.tensor.data))}\", penwidth=1.6]"

    def _legend(self):
        rows = []
        present = {v.kind for k, v in self.g.tensors.items()
                   if self.t_owner.get(k, ("", 0))[0] == "t"}
        for kind, (fill, text) in KIND_STYLE.items():
            if kind not in present:
                continue
            rows.append(f"<TR><TD BGCOLOR=\"{fill}\" BORDER=\"1\" COLOR=\"#999999\" "
                        f"WIDTH=\"18\"></TD>"
                        f"<TD ALIGN=\"LEFT\">{fmt.html(text)}</TD></TR>")
        rows.append(f"<TR><TD BGCOLOR=\"{OP_FILL}\" BORDER=\"1\" COLOR=\"#999999\"></TD>"
                    f"<TD ALIGN=\"LEFT\">op (backward rule)</TD></TR>")
        if self.grad_mode:
            how = ("d(root)/d(t) on every wire (replayed backward)" if self.grad_mode == "replay"
                   else "stored .grad only (leaves, retain_grad)")
            rows.append(f"<TR><TD COLSPAN=\"2\" ALIGN=\"LEFT\"><B>gradient</B>: "
                        f"{fmt.html(how)}</TD></TR>")
            for kind, text in health.LEGEND:
                rows.append(f"<TR><TD BGCOLOR=\"{health.color(kind)}\" WIDTH=\"18\"></TD>"
                            f"<TD ALIGN=\"LEFT\">{fmt.html(text)}</TD></TR>")
        table = ("<TABLE BORDER=\"0\" CELLBORDER=\"0\" CELLSPACING=\"2\" CELLPADDING=\"2\">"
                 + "".join(rows) + "</TABLE>")
        return ["subgraph cluster_legend {",
                "  label=<<B>legend</B>>; style=\"rounded\"; color=\"#cccccc\"; fontsize=10",
                f"  legend [shape=plaintext, fontsize=9, label=<{table}>]",
                "}"]


# ops whose input order matters for reading the picture (x - y, x / y, x @ y, ...)
_ORDERED = {"Sub", "Div", "Pow", "MatMul", "Where", "Cat", "Einsum"}


_EMPTY_FONT = re.compile(r"^<FONT[^>]*></FONT>$")


def _table(rows):
    # Graphviz (2.43) rejects an empty <FONT></FONT>, e.g. the values of an empty tensor
    cells = "".join(f"<TR><TD>{r}</TD></TR>" for r in rows if r and not _EMPTY_FONT.match(r))
    return (f"<TABLE BORDER=\"0\" CELLBORDER=\"0\" CELLSPACING=\"0\" CELLPADDING=\"1\">"
            f"{cells}</TABLE>")


def _count_names(graph, ops, most=4):
    """'add ×3, matmul ×3, relu' for a set of ops."""
    counts = {}
    for i in ops:
        n = op_name(graph.ops[i])
        counts[n] = counts.get(n, 0) + 1
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    text = ", ".join(f"{n} ×{c}" if c > 1 else n for n, c in items[:most])
    return text + (", …" if len(items) > most else "")
