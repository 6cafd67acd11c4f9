"""explain_grad: why is this gradient zero or tiny? Paths from the root, and where each dies."""
from dataclasses import dataclass, field
from typing import List

import numpy as np

from . import fmt, health
from .graph import Graph, op_name, tensor_key
from .replay import Replay

SHRINK = 1e-2  # a single op shrinking the gradient's rms by more than this is called out


@dataclass
class PathReport:
    """One path root -> tensor: the ops on it, and where (and why) the gradient died."""
    ops: List[str]
    status: str            # "dead", "tiny" or "ok"
    where: str = ""        # the op where it died / shrank most
    reason: str = ""
    rms: List[float] = field(default_factory=list)  # rms gradient after each op, root first


@dataclass
class Explanation:
    """verdict: one line; paths: PathReport per path (up to max_paths); n_paths: how many exist."""
    name: str
    grad: object
    verdict: str
    paths: List[PathReport]
    n_paths: int
    notes: List[str] = field(default_factory=list)

    def __str__(self):
        out = [self.verdict]
        if self.n_paths:
            shown = len(self.paths)
            out.append(f"{self.n_paths} path(s) from the root to {self.name}"
                       + (f" (showing {shown})" if shown < self.n_paths else "") + ":")
            for k, p in enumerate(self.paths, 1):
                out.append(f"  path {k}: " + fmt.clip(" <- ".join(p.ops), 160))
                if p.status == "dead":
                    out.append(f"    gradient dies at {p.where}: {p.reason}")
                elif p.status == "tiny":
                    out.append(f"    gradient shrinks to rms {fmt.num(p.rms[-1])}; {p.reason}")
                else:
                    out.append(f"    gradient flows (rms {fmt.num(p.rms[-1]) if p.rms else '?'})")
        out += ["  " + n for n in self.notes]
        return "\n".join(out)

    __repr__ = __str__


def explain_grad(tensor, root, gradient=None, names=None, max_paths=10, tiny=1e-6):
    """Why d(root)/d(tensor) is zero or tiny: the paths from root to tensor and, on each, the op
    where the gradient vanished (relu inactive, saturated sigmoid/tanh, multiplied by zero, ...),
    or why there is no path at all (detached, no_grad, integer cast, unused)."""
    name = _name(tensor, names)
    if not tensor.requires_grad:
        return Explanation(name, None, f"{name} does not require grad, so it gets no gradient: "
                           "create it with requires_grad=True (or call .requires_grad_()) before "
                           "the forward pass.", [], 0)
    if not root.requires_grad:
        return Explanation(name, None, "the root has no graph (it does not require grad): it was "
                           "computed under no_grad(), or only from detached tensors / tensors "
                           "with requires_grad=False, so nothing gets a gradient.", [], 0)
    graph = Graph([root], names)
    target = tensor_key(tensor)
    if target not in graph.tensors:
        return Explanation(name, None, f"no path: {name} is not used to compute the root, so its "
                           f"gradient is None (zero).", [], 0, _cut_candidates(graph, tensor))
    replay = Replay(graph, gradient)
    grad = replay.totals.get(target)
    counts = _count_paths(graph, target)
    n_paths = counts.get(tensor_key(root), 0)
    paths = [_analyse(graph, replay, p, tiny, name)
             for p in _paths(graph, target, counts, max_paths)]
    notes = []
    if grad is None or not np.any(grad):
        kind = "zero"
        if grad is not None and any(p.status != "dead" for p in paths):
            notes.append("the branches' contributions cancel: they are nonzero but sum to zero")
    else:
        kind = health.classify(grad, tensor.data)
    gtext = "None" if grad is None else fmt.grad_text(grad)
    verdict = f"gradient of {name}: {gtext} ({kind})"
    if grad is not None and kind == "healthy":
        if any(p.status == "dead" for p in paths):
            verdict += "; some paths are dead (below), the others carry it"
    return Explanation(name, grad, verdict, paths, n_paths, notes)


def _name(tensor, names):
    if names:
        for k, v in dict(names).items():
            if k is tensor:
                return str(v)
            if v is tensor:
                return str(k)
    return str(getattr(tensor, "name", None) or f"tensor{fmt.shape_str(tensor.shape)}")


def _count_paths(graph, target):
    """Number of paths from each tensor key down to target (leaves-to-root over the toposort)."""
    counts = {target: 1}
    for i in range(len(graph.ops) - 1, -1, -1):
        n = 0
        for j, key in enumerate(graph.op_inputs[i]):
            if key is not None and graph.ops[i].needs_input_grad[j]:
                n += counts.get(key, 0)
        for v in graph.outputs(i):
            if v.key != target:
                counts[v.key] = n
    return counts


def _paths(graph, target, counts, limit):
    """Up to `limit` paths as lists of (op, input) hops from the root down, found iteratively."""
    root_key = tensor_key(graph.roots[0])
    out = []
    stack = [(root_key, [])]
    while stack and len(out) < limit:
        key, hops = stack.pop()
        if key == target:
            out.append(hops)
            continue
        v = graph.tensors[key]
        if v.producer is None:
            continue
        i = v.producer
        nexts = []
        for j, k in enumerate(graph.op_inputs[i]):
            if k is not None and graph.ops[i].needs_input_grad[j] and counts.get(k, 0):
                nexts.append((k, hops + [(i, j)]))
        stack.extend(reversed(nexts))
    return out


def _where(graph, i):
    scope = ".".join(graph.scope(i))
    return graph.label(i) + (f" [{scope}]" if scope else "")


def _rms(a):
    a = np.asarray(a, dtype=np.float64)
    return float(np.sqrt(np.mean(a * a))) if a.size else 0.0


def _analyse(graph, replay, hops, tiny, name):
    ops = [_where(graph, i) for i, _ in hops] + [name]
    rms = []
    key = tensor_key(graph.roots[0])
    biggest = None
    for i, j in hops:
        up = replay.totals.get(key)
        c = replay.contrib.get((i, j))
        key = graph.op_inputs[i][j]
        r_up, r_c = _rms(up) if up is not None else 0.0, _rms(c) if c is not None else 0.0
        rms.append(r_c)
        if r_up == 0:
            return PathReport(ops, "dead", _where(graph, i),
                              "the gradient arriving here is already zero", rms)
        if r_c == 0 or not np.any(c):
            return PathReport(ops, "dead", _where(graph, i), _safe_why(graph, i, j, up), rms)
        gain = r_c / r_up
        if biggest is None or gain < biggest[0]:
            biggest = (gain, i, j, up)
    seed = _rms(replay.totals.get(tensor_key(graph.roots[0])))
    if rms and rms[-1] < tiny * seed:
        return PathReport(ops, "tiny", _where(graph, biggest[1]),
                          f"shrunk by {_drops(graph, replay, hops)}", rms)
    return PathReport(ops, "ok", "", "", rms)


_STRUCTURAL = {"Mean", "Sum", "BroadcastTo", "SumTo", "Reshape", "Permute", "GetItem",
               "IndexAdd", "Cat", "Flip", "ConstantPad"}  # shrink per element by design


def _drops(graph, replay, hops, most=3):
    """Which kinds of op shrink the gradient on a path, their combined factor, and why."""
    key = tensor_key(graph.roots[0])
    by_kind = {}
    for i, j in hops:
        up, c = replay.totals.get(key), replay.contrib.get((i, j))
        key = graph.op_inputs[i][j]
        node = graph.ops[i]
        if up is None or c is None or not _rms(up) or type(node).__name__ in _STRUCTURAL:
            continue
        gain = _rms(c) / _rms(up)
        name = op_name(node)
        prod, n, worst = by_kind.get(name, (1.0, 0, None))
        if worst is None or gain < worst[0]:
            worst = (gain, i, j, up)
        by_kind[name] = (prod * gain, n + 1, worst)
    parts = []
    for name, (prod, n, (gain, i, j, up)) in sorted(by_kind.items(), key=lambda kv: kv[1][0]):
        if prod >= 0.5 or len(parts) == most:
            break
        why = _safe_why(graph, i, j, up, small=True)
        parts.append(f"{n} {name}: x{fmt.num(prod, 2)}" + (" together" if n > 1 else "")
                     + (f" ({why})" if why else ""))
    return "; ".join(parts) or "many ops each shrink it a little"


def _safe_why(graph, i, j, up, small=False):
    """_why, or a generic reason if inspecting the op fails (an explanation must not crash)."""
    try:
        return _why(graph, i, j, up, small)
    except Exception:
        return "" if small else f"the local gradient of {op_name(graph.ops[i])} is zero here"


def _why(graph, i, j, up, small=False):
    """The reason op i passes (almost) no gradient to input j."""
    node = graph.ops[i]
    cls = type(node).__name__
    x = node.inputs[j].data
    live = np.broadcast_to(np.asarray(up) != 0, x.shape) \
        if up is not None and np.shape(up) == x.shape else np.ones(x.shape, bool)
    if cls == "Relu":
        frac, dead, units = health.relu_activity(x)
        s = f"relu inactive: input <= 0 for {frac:.0%} of elements"
        return s + (f" ({dead}/{units} units dead for the whole batch)" if dead else "") + \
            ("" if small else " - a dead ReLU; check the init, learning rate or bias")
    if cls in ("Sigmoid", "Tanh"):
        ax = np.abs(x.astype(np.float64))
        e = np.exp(-ax) if cls == "Sigmoid" else np.exp(-2 * ax)
        local = e / (1 + e) ** 2 if cls == "Sigmoid" else 4 * e / (1 + e) ** 2
        top = float(local.max()) if local.size else 0.0
        if top < 1e-2 or not small:
            return (f"saturated {cls.lower()}: |input| >= {fmt.num(ax.min(), 2)}, local "
                    f"gradient at most {fmt.num(top, 2)}")
        return f"{cls.lower()}' at most {fmt.num(top, 2)}"
    if cls == "Mul":
        other = node.inputs[1 - j].data
        if not np.any(np.broadcast_to(other, x.shape)[live]):
            return "multiplied by zero: the other factor is 0 where the gradient flows"
        return f"multiplied by a small factor (rms {fmt.num(_rms(other), 2)})" if small else \
            "multiplied by zero"
    if cls == "Clamp":
        return f"clamped: the input is outside [{node.min}, {node.max}]"
    if cls in ("Maximum", "Minimum"):
        return f"{cls.lower()} routed the gradient to the other input"
    if cls == "Where":
        return "where() selected the other branch"
    if cls == "GetItem":
        return "indexing does not select these elements"
    if cls in ("MatMul", "Einsum"):
        other = node.inputs[1 - j].data if len(node.inputs) == 2 else None
        if other is not None and not np.any(other):
            return "multiplied by a zero matrix"
        return f"small weights (rms {fmt.num(_rms(other), 2)})" \
            if (small and other is not None) else "the matrix product maps the gradient to zero"
    if small:
        return ""
    return f"the local gradient of {op_name(node)} is zero here"


def _cut_candidates(graph, tensor):
    """Constants in the graph that look like a detached / no_grad / integer copy of tensor."""
    notes = []
    where = {}
    for key, v in graph.tensors.items():
        if v.kind == "const":
            for i, _ in v.consumers:
                where.setdefault(key, _where(graph, i))
    x = tensor.data
    for key in where:
        d = graph.tensors[key].tensor.data
        if d is x or (d.size and np.shares_memory(d, x)):
            notes.append(f"a detached copy of it (.detach(), .data or .numpy()) "
                         f"feeds {where[key]}: detaching cuts the path; use the tensor itself")
        elif d.shape == x.shape and d.dtype.kind != "b" and x.dtype.kind == "f":
            trunc = np.array_equal(d, np.trunc(x)) or np.array_equal(d, np.round(x))
            if trunc and not np.array_equal(d, x):
                notes.append(f"an integer cast or rounding of it (.long(), .int(), round, floor) "
                             f"feeds {where[key]}: integer and rounded values carry no gradient")
            elif np.array_equal(d, x):
                notes.append(f"an exact copy of it without a graph feeds {where[key]}: made by "
                             f".detach(), under no_grad(), or by an integer cast")
    if not notes:
        shaped = [where[k] for k in where if graph.tensors[k].tensor.shape == x.shape]
        if shaped:
            notes.append("constant inputs of its shape feed " + ", ".join(shaped[:3]) +
                         ": if one was computed from it under no_grad() (or via .detach()), that "
                         "is where the path was cut")
        else:
            notes.append("it is not used in the forward pass that produced the root (or only "
                         "under no_grad() or through .detach())")
    return notes
