"""Gradients on every wire, by replaying a backward pass through the engine's own traversal.

backward() keeps only leaf gradients, and frees saved arrays as it goes. Replaying it gives
d(root)/d(t) for every tensor t, and each branch's contribution separately, without touching
.grad and without running hooks: `engine.walk` visits the nodes exactly as backward() does and
calls `Replay._visit` in place of each rule. A node freed by an earlier backward() is revived on
a copy by re-running its forward on its inputs (built-in ops are pure functions of their
inputs); a freed custom Function cannot be revived and its inputs are reported as unknown.
"""
import copy

from ..engine import initial_gradient, rule_on_arrays, walk
from ..function import BackwardFunction
from .graph import tensor_key


def _revive(node):
    """A runnable copy of a node whose saved arrays were freed, or None if impossible."""
    if isinstance(node, BackwardFunction):
        return None
    clone = copy.copy(node)
    clone.released = False
    clone.hooks = None
    clone.forward(*[x.data for x in node.inputs])
    return clone


def runnable(node):
    """node itself, or a revived copy if backward freed it (None if that is impossible)."""
    return _revive(node) if getattr(node, "released", False) else node


def initial_gradients(roots, gradients=None, who="trace_backward"):
    """One array per root: ones for scalars, else the given gradient (engine's checks)."""
    if gradients is None or not isinstance(gradients, (list, tuple)):
        gradients = (gradients,) * len(roots) if gradients is None else (gradients,)
    return [initial_gradient(r, g, f"{who}: root {i}", ValueError).data
            for i, (r, g) in enumerate(zip(roots, gradients))]


class Replay:
    """totals[key]: d(roots)/d(tensor); contrib[(op, input)]: one branch's share of it;
    upstream[op]: the gradient of the op's output(s); failed[op]: why an op could not run;
    visited: the ops in the order backward runs them (only the first `limit` ops of the graph
    pass their gradient on)."""

    def __init__(self, graph, gradients=None, limit=None, on_step=None):
        self.graph = graph
        self.totals, self.contrib, self.upstream, self.failed = {}, {}, {}, {}
        self.visited = []
        self.seeds = {}
        self._index = {id(node): i for i, node in enumerate(graph.ops)}
        self._limit = len(graph.ops) if limit is None else limit
        self._on_step = on_step
        seeds = initial_gradients(graph.roots, gradients)
        for r, g in zip(graph.roots, seeds):
            key = tensor_key(r)
            self.seeds[key] = g if key not in self.seeds else self.seeds[key] + g
        leaves = walk(graph.roots, seeds, self._visit)
        for leaf, g in leaves.values():
            self.totals[id(leaf)] = g

    def _visit(self, node, g):
        n = node.n_outputs
        gs = g if n > 1 else [g]
        for k, gk in enumerate(gs):
            if gk is not None:
                self.totals[(id(node), k)] = gk
        i = self._index.get(id(node))
        nothing = (None,) * len(node.inputs)
        if i is None or i >= self._limit:
            return nothing
        self.upstream[i] = g
        try:
            runner = runnable(node)
            if runner is None:
                raise RuntimeError(f"{node.name} is a custom Function whose saved tensors were "
                                   f"freed by backward(); call backward(retain_graph=True) or "
                                   f"draw/trace before backward() to see gradients past it")
            result = rule_on_arrays(runner, g)
        except Exception as e:  # one broken node must not hide the rest of the picture
            self.failed[i] = f"{type(e).__name__}: {e}"
            return nothing
        self.visited.append(i)
        for j, gj in enumerate(result):
            if gj is not None and node.needs_input_grad[j]:
                self.contrib[(i, j)] = gj
        if self._on_step is not None:
            self._on_step(i, runner)
        return result

    def total(self, key):
        return self.totals.get(key)
