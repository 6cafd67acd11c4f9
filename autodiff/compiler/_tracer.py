"""Recording one call of a compiled function: the tape of what its replay must do.

The traced call runs eagerly (its results are the eager results); while it runs, the core
hands the tracer every op (`function.apply`), every `backward()`, every call of a function
marked `replayed` (random draws, optimizer steps, running-statistics updates), every `.grad`
assignment and every in-place change. The tracer records, for each, the numpy-level work a
replay repeats - an op's `forward` on arrays, a node's backward rule on arrays, the engine's
gradient sums in the order the engine made them, the `.grad` writes - naming every array by a
slot. Anything it cannot replay faithfully (Python reading a traced value, an in-place op,
hooks, anomaly mode, a custom Function, random numbers drawn outside a replayed function)
is a graph break: the call finishes eagerly and the function stays eager for these inputs.
"""
import os
import threading
import traceback
import types

import numpy as np

from .. import engine, function, random as _random
from ..grad_mode import _state
from ..tensor import Tensor, _new
from ._watch import DataWatch, _Watched

_AUTODIFF = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NN = os.path.join(os.path.dirname(_AUTODIFF), "nn")
_NUMPY = os.path.dirname(os.path.abspath(np.__file__)) + os.sep


class GraphBreak(Exception):
    """Raised (when fullgraph=True) instead of falling back to eager."""


def user_line():
    """'file:line: code' of the innermost frame outside autodiff and nn (the user's line)."""
    for frame in reversed(traceback.extract_stack()):
        path = os.path.abspath(frame.filename)
        if not (path.startswith(_AUTODIFF) or path.startswith(_NN + os.sep)
                or path.startswith(_NUMPY)):  # (numpy's own code calling back: ndarray.any)
            return f"{frame.filename}:{frame.lineno}: {(frame.line or '').strip()}"
    return "<unknown line>"


_GUARDABLE = (bool, int, float, str)


def _layout(arr):
    """What makes two arrays show the same elements: address, shape, strides, dtype."""
    return (arr.__array_interface__["data"][0], arr.shape, arr.strides, arr.dtype.str)


_SLOTS = {}


def _param_slots(cls):
    """The __slots__ of a node class and its bases (up to Node), cached."""
    names = _SLOTS.get(cls)
    if names is None:
        names = []
        for klass in cls.__mro__:
            if klass is function.Node:
                break
            slots = klass.__dict__.get("__slots__", ())
            names.extend([slots] if isinstance(slots, str) else slots)
        _SLOTS[cls] = names = tuple(names)
    return names


class Sym:
    """A gradient flowing through the traced backward pass: its array and its slot name. The
    engine sums gradients with `+`; here that sum is also recorded."""

    __slots__ = ("name", "arr", "tracer")

    def __init__(self, tracer, name, arr):
        self.tracer, self.name, self.arr = tracer, name, arr

    def __add__(self, other):
        tracer = self.tracer
        out = tracer.new_slot(self.arr + other.arr)
        tracer.emit(("add", out, self.name, other.name))
        return Sym(tracer, out, tracer.value(out))

    __radd__ = __add__


class Tracer:
    """The recording of one traced call (see the module docstring)."""

    def __init__(self, fullgraph=False):
        self.thread = threading.get_ident()
        self.fullgraph = fullgraph
        self.entries = []
        self.arrays = {}  # slot name -> array (kept alive so ids stay unique)
        self.slot_of_array = {}  # id(array) -> slot name
        self.slot_of_layout = {}  # (address, shape, strides, dtype) -> slot name
        self.slot_of_tensor = {}  # id(tensor) -> slot name
        self.tensors = []  # tensors met, kept alive for the same reason
        self.externals = {}  # id(tensor) -> (name, tensor): tensors from outside the call
        self.consts = {}  # name -> a Python object the replay uses as is
        self.modules = {}  # id(module) -> module: their `training` flags are guarded
        self.suspended = 0
        self.effects = False  # whether a side effect (.grad write, optimizer step) is recorded
        self.broken = None  # the graph break's reason and line, once one happened
        self.counter = 0
        self._watch = DataWatch(Tensor)

    # --- activation -----------------------------------------------------------------------
    def __enter__(self):
        self._watch.install(self)
        self._proxies = []
        for gen in list(_random.generators):
            proxy = _RandomWatch(self, gen.rng)
            gen.rng = proxy
            self._proxies.append((gen, proxy))
        self.first_seq = next(function._sequence)  # nodes numbered below: made before the call
        function._tracer = self
        return self

    def __exit__(self, *exc):
        function._tracer = None
        self._watch.remove()
        for gen, proxy in self._proxies:
            if gen.rng is proxy:
                gen.rng = proxy.real
        return False

    def mine(self):
        """Whether the current op is the traced call's own (not the tracer's, another thread's,
        or after a graph break)."""
        return (not self.suspended and self.broken is None
                and threading.get_ident() == self.thread)

    watching = mine

    # --- slots ----------------------------------------------------------------------------
    def fresh(self, prefix="v"):
        self.counter += 1
        return f"{prefix}{self.counter}"

    def new_slot(self, arr):
        name = self.fresh()
        self.arrays[name] = arr
        self.slot_of_array[id(arr)] = name
        if isinstance(arr, np.ndarray):
            self.slot_of_layout.setdefault(_layout(arr), name)
        return name

    def value(self, name):
        return self.arrays[name]

    def const(self, obj, prefix="c"):
        name = self.fresh(prefix)
        self.consts[name] = obj
        return name

    def emit(self, entry):
        self.entries.append(entry)
        kind = entry[0]
        if kind in ("grad", "set_grad") or (kind == "call" and entry[-2] is None):
            self.effects = True

    def bind_tensor(self, t, name):
        self.slot_of_tensor[id(t)] = name
        self.tensors.append(t)

    def ref(self, x):
        """How the replay gets x: a slot name for traced tensors and arrays, an external's
        name (read as E.data at replay), or a constant's name."""
        if isinstance(x, Tensor):
            name = self.slot_of_tensor.get(id(x))
            if name is not None:
                return name
            return self.external(x)
        if isinstance(x, np.ndarray):
            name = self.slot_for(x)
            if name is not None:
                return name
            self._check_not_derived(x)
        return self.const(x)

    def external(self, t):
        """The name of a tensor from outside the call (a parameter, a buffer, a constant)."""
        entry = self.externals.get(id(t))
        if entry is not None:
            return entry[0]
        arr = self._watch.slot.__get__(t)
        name = self.slot_for(arr)
        if name is not None:  # a tensor made around a traced array (a replayed draw's mask)
            self.bind_tensor(t, name)
            return name
        self._check_not_derived(arr)
        name = self.fresh("e")
        self.externals[id(t)] = (name, t)
        self.tensors.append(t)
        return name

    def slot_for(self, arr):
        """The slot holding arr: the array itself, or a view showing exactly its elements
        (np.asarray of a _Watched view, say); None if arr is not traced."""
        name = self.slot_of_array.get(id(arr))
        if name is None:
            name = self.slot_of_layout.get(_layout(arr))
        return name

    def _check_not_derived(self, arr):
        base = arr
        while isinstance(base, np.ndarray):
            if id(base) in self.slot_of_array:
                self.graph_break("Python reads a traced value (a view of it made outside "
                                 "the recorded ops)")
                return
            base = base.base

    def unwatch(self, watched):
        """The traced array a _Watched view shows (a plain view of it if it was reshaped)."""
        arr = watched.view(np.ndarray)
        name = self.slot_for(arr)
        return self.arrays[name] if name is not None else arr

    # --- graph breaks ---------------------------------------------------------------------
    def unsupported(self, what):
        """The traced call did something a replay cannot repeat (see the module docstring)."""
        if self.mine():
            self.graph_break(what)

    def graph_break(self, what):
        if self.broken is None:
            self.broken = (what, user_line())
            if self.fullgraph:
                raise GraphBreak(self.message())

    def value_read(self, t, how):
        if self.mine():
            self.unsupported(f"Python reads a traced value ({how})")

    def message(self):
        what, line = self.broken
        return (f"autodiff.compile: graph break at {line}: {what} cannot be replayed, so this "
                f"function runs eagerly for these input shapes (correct, without the speed-up). "
                f"Move that code out of the compiled function, or keep the value as a tensor.")

    def mutation(self, tensor):
        if self.mine():
            self.unsupported("an in-place change of a tensor (x.add_(...), x[i] = v, x += y)")

    # --- what the core hands over -----------------------------------------------------------
    def apply(self, node, xs, constant=False):
        if not self.mine():
            return _run(node, xs, constant)
        refs = [self.ref(x) if isinstance(x, (Tensor, np.ndarray)) else self.const(x)
                for x in xs]
        given = {attr: getattr(node, attr, None) for attr in type(node).saved}
        self.suspended += 1
        try:
            out = _run(node, xs, constant)
        finally:
            self.suspended -= 1
        if not isinstance(out, Tensor):  # (bare arrays in: a bare result)
            return out
        arr = self._watch.slot.__get__(out)
        name = self.new_slot(arr)
        self._rebind_params(node, name, given)
        self.bind_tensor(out, name)
        # (a 0-d result may come from the forward as a numpy scalar: converted as apply does)
        self.emit(("op", name, self.const(node, "n"), refs, arr.ndim == 0))
        return out

    def apply_outputs(self, node, x):
        """function.apply_outputs while tracing: one tape entry binding every output."""
        if not self.mine():
            return function.run_outputs(node, x)
        refs = [self.ref(x)]
        self.suspended += 1
        try:
            outs = function.run_outputs(node, x)
        finally:
            self.suspended -= 1
        names = []
        for t in outs:
            name = self.new_slot(self._watch.slot.__get__(t))
            self.bind_tensor(t, name)
            names.append(name)
        self._rebind_params(node, None, {})
        self.emit(("op", names, self.const(node, "n"), refs, False))
        return outs

    def _rebind_params(self, node, out_name, given):
        """A node's static parameters may hold traced arrays (an index array, a dropout mask):
        the replay sets them from their slots before the op runs. An array derived from a
        traced one some other way is a graph break. (Saved values that forward recomputes
        are rebound too when they are traced arrays - harmless - and never a break.)
        `given`: the saved values the node was made with; those forward keeps are freed by
        the traced backward, so the replay sets them again (avg_pool's scale)."""
        saved = type(node).saved
        for attr in _param_slots(type(node)):
            value = getattr(node, attr, None)
            template = self._template(value, strict=attr not in saved)
            if template is not None and template != ("slot", out_name):
                self.emit(("param", self.const(node, "n"), attr, template))
        for attr, value in given.items():
            if value is not None and getattr(node, attr, None) is value and \
                    self._template(value, strict=False) is None:
                self.emit(("param", self.const(node, "n"), attr, ("const", self.const(value))))

    def _template(self, value, strict=True):
        """value with its traced arrays named by slot: ('slot', name) / ('seq', type, items) /
        ('const', name); None if value holds no traced array."""
        if isinstance(value, np.ndarray):
            name = self.slot_for(value)
            if name is not None:
                return ("slot", name)
            if strict:
                self._check_not_derived(value)
            return None
        if isinstance(value, (tuple, list)):
            items = [self._template(v, strict) for v in value]
            if all(i is None for i in items):
                return None
            return ("seq", type(value), [i if i is not None else ("const", self.const(v))
                                         for i, v in zip(items, value)])
        return None

    def set_grad(self, t, value):
        if not self.mine():
            return
        self.emit(("set_grad", self.ref_leaf(t), None if value is None else self.ref(value)))
        if value is not None:
            self.unsupported("assigning a tensor to .grad")

    def ref_leaf(self, t):
        """The name of a tensor whose .grad the replay sets: an argument or an external."""
        name = self.slot_of_tensor.get(id(t))
        if name is not None and not name.startswith("a"):
            self.graph_break("a gradient stored on a tensor made inside the compiled function")
        return name or self.external(t)

    def bind_args(self, tensors):
        """The call's tensor arguments, as slots a0, a1, ..."""
        for k, t in enumerate(tensors):
            name = f"a{k}"
            arr = self._watch.slot.__get__(t)
            self.arrays[name] = arr
            self.slot_of_array.setdefault(id(arr), name)
            self.slot_of_layout.setdefault(_layout(arr), name)
            self.bind_tensor(t, name)

    def call(self, fn, args, kwargs, pure=False):
        """A `replayed` function: one entry, run again at each replay."""
        if not self.mine():
            return fn(*args, **kwargs)
        # a generator argument (model.parameters()) is listed once: the replay reuses it
        args = tuple(list(a) if isinstance(a, types.GeneratorType) else a for a in args)
        kwargs = {k: list(v) if isinstance(v, types.GeneratorType) else v
                  for k, v in kwargs.items()}
        arg_refs = [self.ref(a) if isinstance(a, (Tensor, np.ndarray)) else self.const(a)
                    for a in args]
        kw_refs = {k: (self.ref(v) if isinstance(v, (Tensor, np.ndarray)) else self.const(v))
                   for k, v in kwargs.items()}
        if any(isinstance(a, _random.Generator) and not isinstance(a.rng, _RandomWatch)
               for a in (*args, *kwargs.values())):
            # made (or reseeded) in this call: eager starts it anew, a replay would continue it
            self.unsupported("a random Generator made inside the compiled function")
        kinds = [isinstance(a, Tensor) for a in args]
        kw_kinds = {k: isinstance(v, Tensor) for k, v in kwargs.items()}
        self.suspended += 1
        try:
            result = fn(*args, **kwargs)
        finally:
            self.suspended -= 1
        out, spec = None, None
        if isinstance(result, Tensor) and result._requires_grad:
            self.unsupported(f"{getattr(fn, '__qualname__', fn)} making a tensor that "
                             f"requires grad inside the compiled function")
        if result is None or any(result is a for a in args):  # an effect (returning self)
            pass
        elif isinstance(result, Tensor):
            out = self.new_slot(self._watch.slot.__get__(result))
            self.bind_tensor(result, out)
            spec = "tensor"
        elif isinstance(result, np.ndarray):
            out = self.new_slot(result)
            spec = "array"
            result = result.view(_Watched)  # numpy on it outside the recorded ops: a break
        elif isinstance(result, tuple) and result and \
                all(type(r) is np.ndarray for r in result):
            out = [self.new_slot(r) for r in result]
            spec = "arrays"
            result = tuple(r.view(_Watched) for r in result)
        elif isinstance(result, _GUARDABLE):
            # a Python value the rest of the call branches on: the replay checks it is the same
            # and traces again if not (see hoist_guards: before any side effect)
            spec = ("guard", self.const(result, "g"))
        else:
            self.unsupported(f"{getattr(fn, '__qualname__', fn)} returning "
                             f"{type(result).__name__}")
        self.emit(("call", out, self.const(fn, "f"), arg_refs, kinds, kw_refs, kw_kinds, spec,
                   pure))
        return result

    def inplace(self, method, t, args, kwargs):
        """An in-place method: on a tensor from outside the call (a buffer, an average kept
        across steps) it is replayed like a `replayed` call; on a traced tensor it is a
        graph break."""
        if not self.mine():
            return method(t, *args, **kwargs)
        if id(t) in self.slot_of_tensor or t._requires_grad and _state.enabled:
            self.unsupported(f"the in-place {method.__name__} on a tensor computed in the "
                             f"compiled function (use the out-of-place form)")
            return method(t, *args, **kwargs)
        return self.call(method, (t,) + tuple(args), kwargs)

    def enter_module(self, module):
        if not self.mine():
            return
        self.modules[id(module)] = module
        if module._hooked:
            self.unsupported(f"hooks on module {type(module).__name__}")

    # --- backward ---------------------------------------------------------------------------
    def backward(self, tensors, grad_tensors, retain_graph, create_graph, inputs):
        if not self.mine() or create_graph or inputs is not None:
            if self.mine():
                self.unsupported("backward(create_graph=True)" if create_graph
                                 else "backward(inputs=...)")
            return self._eager_backward(tensors, grad_tensors, retain_graph, create_graph,
                                        inputs)
        roots = engine._as_tuple(tensors)
        if grad_tensors is None or isinstance(grad_tensors, Tensor) or \
                np.isscalar(grad_tensors):
            grad_tensors = (grad_tensors,) * len(roots) if grad_tensors is None \
                else (grad_tensors,)
        if len(grad_tensors) != len(roots) or not self._replayable_graph(roots):
            return self._eager_backward(tensors, grad_tensors, retain_graph, create_graph,
                                        inputs)
        if retain_graph is None:
            retain_graph = False
        self.emit(("begin_backward",))
        self.suspended += 1
        try:
            starts = []
            for r, g in zip(roots, grad_tensors):
                g0 = engine.initial_gradient(r, g, "backward()")
                # (g named before its array gets the new slot, which would otherwise name it)
                source = self.ref(g) if g is not None and g0 is g else None
                arr = self._watch.slot.__get__(g0)
                name = self.new_slot(arr)
                if g is None:
                    self.emit(("ones", name, arr.shape, arr.dtype))
                elif g0 is g:
                    self.emit(("alias", name, source))
                else:
                    self.graph_break("a backward() gradient of another dtype than its tensor")
                t = _new(Tensor)
                self._watch.slot.__set__(t, Sym(self, name, arr))
                t._requires_grad, t.grad_fn = False, None
                starts.append(t)
            with engine.set_grad_enabled(False):
                leaves = engine._run(roots, starts, retain_graph, False, visit=self._visit)
                owned = set()
                for leaf, g in leaves.values():
                    if not leaf._requires_grad:
                        continue
                    leaf_name = self.ref_leaf(leaf)
                    self.emit(("grad", leaf_name, g.name))
                    engine.store_grad(leaf, g.arr, owned)
                    name = self.new_slot(self._watch.slot.__get__(leaf._grad))
                    self.bind_tensor(leaf._grad, name)
                    self.emit(("read_grad", name, leaf_name))
        finally:
            self.suspended -= 1

    def _eager_backward(self, *args):
        """The engine's own pass (after a graph break, the tracer no longer claims it)."""
        assert not self.mine()
        return engine.backward(*args)

    def _replayable_graph(self, roots):
        """Whether the pass from roots can be replayed: no hooks, no anomaly mode, no in-place
        history, no data-parallel callbacks, every node recorded in this call (checked: a
        node made before the call would replay its rule on stale saved values)."""
        if _state.anomaly:
            self.unsupported("anomaly detection (autodiff.detect_anomaly)")
        elif engine._after_node or getattr(engine._queued, "callbacks", None):
            self.unsupported("backward-pass callbacks (DistributedDataParallel)")
        else:
            for node in engine.toposort(roots):
                if node.seq < self.first_seq:  # its forward is not on the tape: stale at replay
                    self.unsupported("a backward() through ops recorded before the compiled "
                                     "call")
                    break
                if node.hooks is not None:
                    self.unsupported("a tensor hook or retain_grad() in the graph")
                    break
                if node.seq < function.last_mutation[0]:  # a change since: checked as eager
                    inputs = engine.inputs_as_recorded(node)
                    if inputs is not node.inputs:
                        self.unsupported("an in-place change of a tensor in the graph")
                        break
                    engine._check_versions(node, inputs)
                for x in node.inputs:
                    if x is not None and x.grad_fn is None and (
                            x._hooks or x._post_accumulate_hooks):
                        self.unsupported("a gradient hook on a leaf tensor")
                        break
        return self.broken is None

    def _visit(self, node, g):
        if node.released and node.needs_freed_values():
            raise engine._released_error(node)
        refs = [None if x is None else self.ref(x) for x in node.inputs]
        arrays = [None if x is None else self._watch.slot.__get__(x) for x in node.inputs]
        if isinstance(g, list):  # (a node with several outputs: their gradients, or None)
            grads = node.backward([None if s is None else s.arr for s in g], node.out, *arrays)
            g_name = [None if s is None else s.name for s in g]
        else:
            grads = node.backward(g.arr, node.out, *arrays)
            g_name = g.name
        names = []
        out = []
        for gi in grads:
            if gi is None:
                names.append(None)
                out.append(None)
            else:
                name = self.new_slot(gi)
                names.append(name)
                out.append(Sym(self, name, gi))
        self.emit(("rule", names, self.const(node, "n"), g_name, refs))
        return tuple(out)


def _run(node, xs, constant):
    """What function.apply (or, for an op without a derivative, constant_result) does."""
    if not constant:
        return function.run_node(node, xs)
    out = node.forward(*[x.data for x in xs])
    return Tensor._const(out if type(out) is np.ndarray else np.asarray(out))


def _inputs(entry):
    """The slot names an entry reads."""
    kind = entry[0]
    if kind == "call":
        refs = list(entry[3]) + list(entry[5].values())
    elif kind == "op":
        refs = entry[3]
    else:
        refs = []
    return [r for r in refs if isinstance(r, str)]


def _op_on_arguments(entry):
    """Whether entry is an op reading no tensor from outside the call (an optimizer step may
    change those: such an op cannot move before it)."""
    return entry[0] == "op" and not any(isinstance(r, str) and r.startswith("e")
                                        for r in entry[3])


def _template_slots(template):
    """The slot names a 'param' entry's template reads."""
    if template[0] == "slot":
        return [template[1]]
    if template[0] == "seq":
        return [name for t in template[2] for name in _template_slots(t)]
    return []


def hoist_guards(tracer):
    """Moves each guard (a replayed call's value the traced code branched on) that comes
    after a side effect to the start of the tape, with the pure calls and the ops on the
    arguments it depends on, so that
    a failing guard at replay has changed nothing yet. A guard that depends on anything else
    is a graph break."""
    entries = tracer.entries
    first_effect = next((i for i, e in enumerate(entries)
                         if e[0] in ("grad", "set_grad") or (e[0] == "call" and e[-2] is None)),
                        len(entries))
    producer = {}
    for i, e in enumerate(entries):
        out = e[1] if e[0] in ("op", "call", "add", "ones", "alias", "read_grad") else None
        for name in (out if isinstance(out, list) else [out]):
            if name is not None:
                producer[name] = i
    moved = []
    for i in range(first_effect, len(entries)):
        e = entries[i]
        if e[0] != "call" or not isinstance(e[-2], tuple):
            continue
        needed, stack = [], [i]
        while stack:
            k = stack.pop()
            if k in needed:
                continue
            entry = entries[k]
            # only pure calls may move, and ops on the arguments (target.reshape(-1)) with the
            # entries setting their nodes' parameters just before them
            if not (entry[0] == "call" and entry[-1] or _op_on_arguments(entry)):
                tracer.graph_break(f"{getattr(tracer.consts[e[2]], '__qualname__', 'a check')} "
                                   f"giving a value to branch on after the step's side "
                                   f"effects, from values computed in the step")
                return
            needed.append(k)
            names = _inputs(entry)
            j = k - 1
            while entry[0] == "op" and j >= 0 and entries[j][0] == "param" and \
                    tracer.consts[entries[j][1]] is tracer.consts[entry[2]]:
                needed.append(j)
                names += _template_slots(entries[j][3])
                j -= 1
            for name in names:
                if name in producer:
                    stack.append(producer[name])
        moved.extend(k for k in sorted(needed) if k not in moved)
    if moved:
        keep = [e for k, e in enumerate(entries) if k not in set(moved)]
        tracer.entries = [entries[k] for k in sorted(moved)] + keep


class _RandomWatch:
    """Stands in for a Generator's numpy generator while a call is traced: a draw outside a
    `replayed` function is a graph break (a replay would repeat the same numbers)."""

    def __init__(self, tracer, real):
        self.tracer, self.real = tracer, real

    def __getattr__(self, name):
        tracer = self.tracer
        if tracer.mine() and name not in ("bit_generator",):
            tracer.unsupported("random numbers drawn outside a replayable op")
        return getattr(self.real, name)
