"""autodiff.viz: see the graph, the backward pass, and where gradients die.

    to_dot(loss, show_grad=True)        DOT source (no dependency)
    draw_graph(loss, show_grad=True)    graphviz.Digraph (needs `pip install graphviz` + `dot`)
    trace_backward(loss)                the backward pass as a table, one row per node
    explain_grad(w, loss)               why is w's gradient zero or tiny?
"""
from .dot import to_dot
from .render import GraphvizNotFound, draw_graph, have_dot
from .trace import Trace, TraceRow, trace_backward
from .explain import Explanation, explain_grad

__all__ = ["to_dot", "draw_graph", "trace_backward", "explain_grad", "Trace", "TraceRow",
           "Explanation", "GraphvizNotFound", "have_dot"]
