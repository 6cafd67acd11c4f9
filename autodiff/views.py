"""Views and history rewrites: what lets an in-place op keep PyTorch's meaning.

A *view* (basic indexing, view/reshape when it can view, transpose, permute, expand, squeeze,
unsqueeze, split, ...) shares its base's memory. Each view remembers where it came from:
`t._view = (source, step, base, made_in_no_grad, one_of_many)`, `step` being the view op's
node (it can be replayed on a gradient), and the base (a tensor that is not a view) keeps weak
references to its live views.

An in-place op recorded in the graph changes which node a tensor's values come from, while
the tensor object stays the same. `rebind` makes that change and keeps the tensor's earlier
place in the graph for the ops recorded before it: a *stand-in* tensor holds the earlier node
and is kept in `t._history`; the engine swaps it in for those ops (engine.inputs_as_recorded).
An in-place op through a view rewrites its base's history (`CopySlices`: the base's earlier
values with the view's region replaced), and then every live view of that base is rebuilt on
the base's new history, as PyTorch regenerates a view's grad_fn after its base changed.
"""
import copy
import weakref

import numpy as np

from .function import Node, link, new_mutation
from .grad_mode import _state
from .tensor import Tensor

_ONE = (True,)


def as_view(t, source, step, one_of_many=False):
    """Marks t, made from `source` by the view op node `step` and sharing its memory, as a
    view of source's base; returns t."""
    info = source._view
    if info is None:
        base, no_grad = source, not _state.enabled
    else:  # a view of a view: made under no_grad, or from one of several views, if either was
        base, no_grad, one_of_many = info[2], info[3] or not _state.enabled, info[4] or one_of_many
    t._view = (source, step, base, no_grad, one_of_many)
    views = base._views
    if views is None:
        base._views = [_ref(t)]
        return t
    if len(views) >= 64 and not len(views) & 63:  # drop dead references now and then
        views[:] = [r for r in views if r() is not None]
    views.append(_ref(t))
    return t


_ref = weakref.ref


def stand_in(t, data=None):
    """A tensor holding t's current place in the graph (its node, or none), with t's data or
    the given copy of it."""
    s = Tensor._const(t.data if data is None else data)
    s._requires_grad, s.grad_fn = t._requires_grad, t.grad_fn
    if t._output_nr:
        s._output_nr = t._output_nr
    return s


def rebind(t, node, output_nr=0, requires_grad=True, detached=False):
    """t's values now come from `node` (output output_nr); ops recorded before keep t's
    earlier place through a stand-in in t's history (marked when detach_ made the change:
    a rule that reads it refuses, as PyTorch does)."""
    history = t._history
    if history is None:
        t._history = history = []
    earlier = stand_in(t)
    if detached:
        earlier._detached_in_place = True
    history.append((new_mutation(), earlier))
    t.grad_fn, t._requires_grad = node, requires_grad
    if output_nr:
        t._output_nr = output_nr
    elif t._output_nr:
        del t._output_nr


def view_chain(t):
    """The view op nodes that make t from its base, base first."""
    steps = []
    info = t._view
    while info is not None:
        steps.append(info[1])
        info = info[0]._view
    steps.reverse()
    return steps


def refresh_views(base):
    """Rebuilds every live view of base on base's current history (after an in-place op
    rewrote it), source before view, as PyTorch regenerates a stale view's grad_fn."""
    views = base._views
    if not views:
        return
    live = []
    for ref in views:
        v = ref()
        if v is None:
            continue
        live.append(ref)
        source, step = v._view[0], v._view[1]
        if source._requires_grad:
            fresh = copy.copy(step)
            link(fresh, (source,), _ONE)
            rebind(v, fresh)
    base._views = live


class CopySlices(Node):
    """out = base with the region a chain of view ops selects replaced by `value` (the history
    an in-place op through a view gives the base); dbase = g with that region zeroed,
    dvalue = the region of g."""

    __slots__ = ("steps",)
    reads = ((), ())

    @property
    def name(self):
        from .function import _Name
        return _Name("CopySlices")  # (PyTorch's name for it)

    def __init__(self, steps):
        self.steps = steps

    def forward(self, base, value):
        out = np.array(base, order="C")
        at = _positions(self.steps, base.shape)
        out.reshape(-1)[at.reshape(-1)] = np.broadcast_to(value, at.shape).reshape(-1)
        return out

    def backward(self, g, out, base, value):
        nb, nv = self.needs_input_grad
        gb = gv = None
        if nb:
            keep = np.ones(base.shape, g.dtype)
            keep.reshape(-1)[_positions(self.steps, base.shape).reshape(-1)] = 0
            gb = g * keep
        if nv:
            gv = g
            for step in self.steps:
                gv = type(step).apply(gv, **step.params())
        return gb, gv


def _positions(steps, shape):
    """The flat (row-major) positions in an array of `shape` that the view steps select,
    shaped like the view: computed on an index array, so they are right whether a step views
    or copies."""
    arr = np.arange(int(np.prod(shape))).reshape(shape)
    for step in steps:
        arr = step.forward(arr)
    return arr
