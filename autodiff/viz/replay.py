"""Gradients on every wire, by re-running the backward rules over a viz Graph.

backward() keeps only leaf gradients, and frees saved arrays as it goes. Replaying it gives
d(root)/d(t) for every tensor t, and each branch's contribution separately, without touching
.grad and without running hooks. A node freed by an earlier backward() is revived on a copy by
re-running its forward on its inputs (built-in ops are pure functions of their inputs); a freed
custom Function cannot be revived and its inputs are reported as unknown.
"""
import copy

import numpy as np

from ..function import Function
from ..grad_mode import no_grad
from ..tensor import Tensor
from .graph import tensor_key


def _revive(node):
    """A runnable copy of a node whose saved arrays were freed, or None if impossible."""
    if isinstance(node, Function):
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
    """One array per root: ones for scalars, else the given gradient."""
    out = []
    if gradients is not None and (isinstance(gradients, (Tensor, np.ndarray))
                                  or np.isscalar(gradients)):
        gradients = (gradients,)
    for i, r in enumerate(roots):
        g = None if gradients is None else gradients[i]
        if not r.requires_grad:
            raise ValueError(f"{who}: root {i} (shape {tuple(r.shape)}) does not require grad, so "
                             f"it has no graph; it was computed under no_grad(), from detached "
                             f"tensors, or from tensors with requires_grad=False")
        if g is None:
            if r.data.size != 1:
                raise ValueError(f"{who}: root {i} has shape {tuple(r.shape)}; pass a gradient "
                                 f"of that shape, or reduce it first (e.g. y.sum())")
            g = np.ones(r.shape, r.dtype)
        g = np.asarray(g.data if isinstance(g, Tensor) else g, dtype=r.dtype)
        if g.shape != r.shape:
            raise ValueError(f"{who}: gradient {i} has shape {g.shape}, root has {tuple(r.shape)}")
        out.append(g)
    return out


class Replay:
    """totals[key]: d(roots)/d(tensor); contrib[(op, input)]: one branch's share of it;
    upstream[op]: the gradient of the op's output(s); failed[op]: why an op could not run."""

    def __init__(self, graph, gradients=None, limit=None, on_step=None):
        self.graph = graph
        self.totals = {}
        self.contrib = {}
        self.upstream = {}
        self.failed = {}
        self.visited = []
        self.seeds = {}
        for r, g in zip(graph.roots, initial_gradients(graph.roots, gradients)):
            self._add(tensor_key(r), g)
            self.seeds[tensor_key(r)] = self.totals[tensor_key(r)]
        ops = graph.ops if limit is None else graph.ops[:limit]
        with no_grad():
            for i, node in enumerate(ops):
                self._step(i, node, on_step)

    def _add(self, key, g):
        prev = self.totals.get(key)
        self.totals[key] = g if prev is None else prev + g

    def _step(self, i, node, on_step):
        n = node.n_outputs
        gs = [self.totals.get((id(node), k)) for k in range(n)]
        if all(g is None for g in gs):
            return
        self.upstream[i] = gs[0] if n == 1 else gs
        try:
            runner = runnable(node)
            if runner is None:
                raise RuntimeError(f"{node.name} is a custom Function whose saved tensors were "
                                   f"freed by backward(); call backward(retain_graph=True) or "
                                   f"draw/trace before backward() to see gradients past it")
            g_in = (Tensor._const(gs[0]) if n == 1 else
                    [None if g is None else Tensor._const(g) for g in gs])
            result = runner._vjp(g_in)
        except Exception as e:  # one broken node must not hide the rest of the picture
            self.failed[i] = f"{type(e).__name__}: {e}"
            return
        self.visited.append(i)
        for j, key in enumerate(self.graph.op_inputs[i]):
            if key is None or not node.needs_input_grad[j] or j >= len(result) or result[j] is None:
                continue
            g = np.asarray(result[j].data)
            self.contrib[(i, j)] = g
            self._add(key, g)
        if on_step is not None:
            on_step(i, runner)

    def total(self, key):
        return self.totals.get(key)
