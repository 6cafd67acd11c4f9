"""The graph node, `apply` (the one path by which every op runs and is recorded), and
`Function`, the base class for user-defined differentiable ops.

Every recorded operation is one `Node`: it keeps its input tensors (the graph's edges), the
static parameters of the op, and whatever its backward rule needs. A node never refers to its
output tensor, so graphs are freed by reference counting alone.

A node's rule is written once, `backward(self, g, out, *xs)`, and serves every order: a
first-order pass calls it with bare ndarrays (g, the saved output array, the input arrays), so
its arithmetic costs what numpy costs; with create_graph=True it gets tensors (the output
rebuilt as a tensor recorded from this node) and the same code is recorded, which is what makes
grad-of-grad work. Rules use operators and ops that accept either form: Python's operators, and
`Op.apply(...)`, which runs an op's forward on bare arrays and the recorded op on tensors.
"""
import inspect
import itertools
import traceback
import weakref

import numpy as np

from . import versions
from .grad_mode import no_grad
from .tensor import Tensor, _new, grad_state

ndarray = np.ndarray

_AUTODIFF_DIR = __file__.rsplit("/", 1)[0]


class _Name(str):
    """A str that can also be called, so `grad_fn.name` and PyTorch's `grad_fn.name()` both work."""

    def __call__(self):
        return str(self)


class _TensorHooks:
    """Hooks and retain_grad requests of a node's output tensors, keyed by output index."""

    __slots__ = ("fns", "retained")

    def __init__(self):
        self.fns = {}
        self.retained = {}

    def retain(self, tensor):
        self.retained[tensor._output_nr] = weakref.ref(tensor)


def _holds_array(value):
    """Whether a node parameter is, or contains, an ndarray (an index or a mask)."""
    if isinstance(value, np.ndarray):
        return True
    return isinstance(value, (tuple, list)) and any(_holds_array(v) for v in value)


class Node:
    """One recorded operation: `forward` on ndarrays, `backward(g, out, *xs)` once for every
    order (ndarrays in first-order passes, tensors with create_graph=True)."""

    __slots__ = ("inputs", "needs_input_grad", "released", "scope", "seq", "__dict__",
                 "__weakref__")
    hooks = None  # rarely set (tensor hooks, retain_grad): in the instance dict when they are
    trace = None  # the user's forward line, under detect_anomaly
    out = None  # the output array, for nodes whose rule needs it (they set it in forward)
    out_seq = None  # for an in-place op whose out is the tensor's memory: when it was written
    n_outputs = 1
    has_none_input = False  # only a Function's non-tensor arguments are None inputs
    saved = ()  # slots holding saved arrays, cleared when backward releases the graph
    # Which values the rule reads, per input: reads[i] lists the arguments (OUT for the output,
    # else input positions) that input i's gradient is computed from. Only those must be
    # unchanged by in-place ops at backward (PyTorch's saved variables); None: all of them.
    reads = None

    def backward(self, g, out, *xs):
        """The vector-Jacobian product: one gradient (or None) per input, given the output's
        gradient g, the output and the inputs (all ndarrays, or all tensors)."""
        raise NotImplementedError(f"{type(self).__name__} defines no backward rule")

    @classmethod
    def apply(cls, *xs, **params):
        """Op(params) on xs: its forward on bare arrays, the recorded op on tensors."""
        node = cls(**params) if params else cls()
        if len(xs) <= 2 and not isinstance(xs[0], Tensor) and not isinstance(xs[-1], Tensor):
            return node.forward(*xs)  # inside a first-order backward pass: the bare result
        return apply(node, *xs)

    @property
    def name(self):
        return _Name(type(self).__name__ + "Backward")

    def __repr__(self):
        return f"<{self.name}>"

    def needs_freed_values(self):
        """Whether the rule reads what a released graph no longer has, so that a second
        backward through this node without retain_graph=True must raise: saved arrays, its
        output or inputs (what PyTorch keeps as saved tensors and frees). A rule that reads
        none of them (add, reshape, split, sum) runs again, as in PyTorch."""
        reads = self.reads
        if self.saved or reads is None or any(reads):
            return True
        # a rule that reads only its parameters: an index or mask array among them is what
        # PyTorch saves as a tensor (advanced indexing, gather, index_add, embedding)
        values = [getattr(self, slot, None) for klass in type(self).__mro__
                  for slot in klass.__dict__.get("__slots__", ())]
        values += getattr(self, "__dict__", {}).values()
        return any(_holds_array(v) for v in values)

    def params(self):
        """The op's static parameters (keyword-only arguments), for labels and error messages."""
        out = {}
        for klass in type(self).__mro__:
            if klass is Node:
                break
            for slot in klass.__dict__.get("__slots__", ()):
                if slot not in type(self).saved and not slot.startswith("_"):
                    out[slot] = getattr(self, slot, None)
        return out

    def output(self):
        """The op's output, rebuilt from its saved array as a tensor recorded from this node
        (what `backward` gets as `out` when the pass is recorded)."""
        return None if self.out is None else Tensor._make(self.out, self)

    def read_arrays(self, inputs):
        """(label, array, since, tensor) for each value this node's rule will read, from the
        node's inputs as recorded: the engine checks that none changed in place after creation
        number `since` (when the node was recorded; for an in-place op's output, when the
        change was written)."""
        reads, needs = self.reads, self.needs_input_grad
        if reads is None:
            wanted = set(range(len(inputs))) | {OUT}
        else:
            wanted = {a for r, need in zip(reads, needs) if need for a in r}
        for a in sorted(wanted):
            if a == OUT:
                if self.out is not None:
                    yield f"output 0 of {self.name}", self.out, self.out_seq or self.seq, None
            elif inputs[a] is not None:
                yield f"input {a} of {self.name}", inputs[a].data, self.seq, inputs[a]

    def _tensor_hooks(self):
        if self.hooks is None:
            self.hooks = _TensorHooks()
        return self.hooks


OUT = -1  # in Node.reads: the op's output

_sequence = itertools.count()  # creation order: every node is numbered after its inputs' nodes
# The number of the latest in-place change or history rewrite: the engine checks (versions,
# rewritten histories) only nodes recorded before it.
last_mutation = [0]


def new_mutation():
    """A creation number for an in-place change about to be made (see last_mutation)."""
    seq = last_mutation[0] = next(_sequence)
    return seq


def stamp_mutation(tensor, seq=None):
    """Counts an in-place change of tensor's storage (its version, shared with its aliases)."""
    if _tracer is not None:
        _tracer.mutation(tensor)
    if seq is None:
        seq = last_mutation[0] = next(_sequence)
    data = tensor.data
    cached = tensor._storage_record  # (array, its storage's record): optimizers hit it
    if cached is not None and cached[0] is data:
        record = cached[1]
    else:
        record = versions.record(data)
        tensor._storage_record = (data, record)
    record.count += 1
    record.stamps.append(seq)


def increment_version(*tensors):
    """Counts an in-place change of each tensor made on its array directly (numpy `out=`
    calls on `t.data`), as the in-place methods count theirs: a backward through an op recorded
    before, that reads the old values, then raises (torch.autograd.graph.increment_version)."""
    for t in tensors:
        stamp_mutation(t)


def link(node, inputs, needs):
    """Whether `node` is recorded, decided once for every op (built-in or Function): when an
    input requires grad and grad mode is on. If so, gives the node its edges and number."""
    recording = grad_state.recording
    if recording is None or True not in needs:
        return False
    node.seq = next(_sequence)
    node.inputs = inputs
    node.needs_input_grad = needs
    node.released = False
    node.scope, anomaly = recording
    if anomaly:
        node.trace = creation_trace()
    return True


_ONE = (True,)
_NONE = (False,)

# The tracer of the call autodiff.compile is tracing (autodiff/compiler), else None: every op
# hands itself to it while it is set (one global read per op otherwise).
_tracer = None


def apply(node, *xs):
    """Runs `node` on xs. Bare arrays (no tensor among xs, as inside a first-order backward
    pass) give its forward's bare result; otherwise the result is a tensor, recorded in the
    graph (`link`) when an input requires grad and grad mode is on."""
    if _tracer is not None:
        return _tracer.apply(node, xs)
    return run_node(node, xs)


def run_node(node, xs):
    """apply(node, *xs) itself (autodiff.compile's tracer calls it to run the ops it records)."""
    n = len(xs)
    if n == 1:  # one and two inputs are the hot paths: no list is made for them
        x = xs[0]
        if not isinstance(x, Tensor):  # an ndarray (or a numpy scalar, from 0-d arithmetic)
            return node.forward(x)
        out = node.forward(x.data)
        needs = _ONE if x._requires_grad else _NONE
    elif n == 2 and isinstance(xs[0], Tensor) and isinstance(xs[1], Tensor):
        x, y = xs
        out = node.forward(x.data, y.data)
        needs = (x._requires_grad, y._requires_grad)
    elif n == 3 and isinstance(xs[0], Tensor) and isinstance(xs[1], Tensor) and \
            isinstance(xs[2], Tensor):  # (linear and conv with a bias)
        x, y, z = xs
        out = node.forward(x.data, y.data, z.data)
        needs = (x._requires_grad, y._requires_grad, z._requires_grad)
    else:
        for x in xs:
            if isinstance(x, Tensor):
                break
        else:
            return node.forward(*xs)
        xs = tuple([x if isinstance(x, Tensor) else Tensor._const(x) for x in xs])
        out = node.forward(*[x.data for x in xs])
        needs = tuple([x._requires_grad for x in xs])
    t = _new(Tensor)
    t.data = out if type(out) is ndarray else _as_array(node, out)
    if link(node, xs, needs):
        t._requires_grad = True
        t.grad_fn = node
    else:
        t._requires_grad = False
        t.grad_fn = None
    return t


class NoGradient(Node):
    """An op without a derivative (a comparison, a mask, a rounding of a constant): its result
    is a constant tensor, never in the graph. Made by `constant_result`."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def constant_result(fn, *xs):
    """fn(*arrays) of tensors xs, as a constant tensor (no gradient): the one way ops without a
    derivative read their inputs' values, so that autodiff.compile records them too."""
    if _tracer is not None:
        return _tracer.apply(NoGradient(fn), xs, constant=True)
    out = fn(*[x.data for x in xs])
    return Tensor._const(out if type(out) is ndarray else np.asarray(out))


def apply1(node, x):
    """apply(node, x) for a tensor x: the hot path of one-input ops, without argument packing."""
    if _tracer is not None:
        return _tracer.apply(node, (x,))
    out = node.forward(x.data)
    t = _new(Tensor)
    t.data = out if type(out) is ndarray else _as_array(node, out)
    recording = grad_state.recording  # link(node, (x,), _ONE), written out: the hottest path
    if x._requires_grad and recording is not None:
        node.seq = next(_sequence)
        node.inputs = (x,)
        node.needs_input_grad = _ONE
        node.released = False
        node.scope, anomaly = recording
        if anomaly:
            node.trace = creation_trace()
        t._requires_grad = True
        t.grad_fn = node
    else:
        t._requires_grad = False
        t.grad_fn = None
    return t


def apply2(node, x, y):
    """apply(node, x, y) for tensors x, y: the hot path of two-input ops."""
    if _tracer is not None:
        return _tracer.apply(node, (x, y))
    out = node.forward(x.data, y.data)
    t = _new(Tensor)
    t.data = out if type(out) is ndarray else _as_array(node, out)
    rx, ry = x._requires_grad, y._requires_grad
    recording = grad_state.recording  # link(node, (x, y), (rx, ry)), written out
    if (rx or ry) and recording is not None:
        node.seq = next(_sequence)
        node.inputs = (x, y)
        node.needs_input_grad = (rx, ry)
        node.released = False
        node.scope, anomaly = recording
        if anomaly:
            node.trace = creation_trace()
        t._requires_grad = True
        t.grad_fn = node
    else:
        t._requires_grad = False
        t.grad_fn = None
    return t


def apply_outputs(node, x):
    """apply(node, x) for an op with several outputs (node.n_outputs of them, a tuple of
    arrays from its forward): a tuple of tensors, output k recorded as output k of one node,
    whose rule gets the list of their gradients (None where none arrived)."""
    if _tracer is not None:
        return _tracer.apply_outputs(node, x)
    return run_outputs(node, x)


def run_outputs(node, x):
    """apply_outputs itself (autodiff.compile's tracer calls it to run the ops it records)."""
    outs = node.forward(x.data)
    if link(node, (x,), _ONE if x._requires_grad else _NONE):
        return tuple([Tensor._make(o, node, k) for k, o in enumerate(outs)])
    return tuple([Tensor._const(o) for o in outs])


def _as_array(node, out):
    """A forward's numpy scalar result (0-d arithmetic) as the 0-d array the tensor holds; a
    node that keeps its output keeps that array, so in-place changes of it are seen."""
    arr = np.asarray(out)
    if getattr(node, "out", None) is out:
        node.out = arr
    return arr


def creation_trace():
    """The user's stack at the point an op was recorded (autodiff's own frames left out)."""
    frames = [f for f in traceback.extract_stack()[:-3] if not f.filename.startswith(_AUTODIFF_DIR)]
    return "".join(traceback.format_list(frames[-6:]))


class _OutputRef:
    """A saved tensor that is one of the Function's own outputs (saved as array: no cycle)."""

    __slots__ = ("index", "array")

    def __init__(self, index, array):
        self.index, self.array = index, array


def _forward_inputs(cls, args, kwargs):
    """The inputs tuple setup_context receives: forward's arguments in order, defaults filled
    in (as in PyTorch)."""
    sig = cls.__dict__.get("_forward_signature")
    if sig is None:
        sig = inspect.signature(cls.forward)
        cls._forward_signature = sig
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:
        return tuple(args)
    bound.apply_defaults()
    inputs = []
    for name, param in sig.parameters.items():
        value = bound.arguments.get(name)
        if param.kind is param.VAR_POSITIONAL:
            inputs.extend(value or ())
        elif param.kind is not param.VAR_KEYWORD:
            inputs.append(value)
    return tuple(inputs)


class BackwardFunction(Node):
    """The graph node (and `ctx`) of one call of a user's Function: holds what forward saved,
    and runs the user's backward when the engine reaches it."""

    has_none_input = True
    saved = ("_saved",)

    def __init__(self, function):
        self.function = function
        self._to_save, self._non_diff, self._materialize = (), (), True

    @property
    def name(self):
        return _Name(self.function.__name__ + "Backward")

    # --- the ctx protocol ------------------------------------------------------------------
    def save_for_backward(self, *tensors):
        """Saves tensors (or None) for backward; read them back with ctx.saved_tensors."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward takes tensors or None; argument {i} is a "
                                f"{type(t).__name__} (store other values as ctx attributes)")
        self._to_save = tensors

    def needs_freed_values(self):
        """False: the user's backward runs again; ctx.saved_tensors raises if it was freed"""
        return False

    @property
    def saved_tensors(self):
        if getattr(self, "released", False):
            raise RuntimeError(
                f"{self.name}: saved tensors were freed by the first backward(). Pass "
                f"retain_graph=True to that backward() if you need to backward twice.")
        saved = getattr(self, "_saved", None)
        if saved is None:
            saved = self._to_save
        return tuple(Tensor._make(s.array, self, s.index) if isinstance(s, _OutputRef) else s
                     for s in saved)

    def mark_non_differentiable(self, *outputs):
        """Declares outputs (e.g. indices) that never carry a gradient."""
        self._non_diff = outputs

    def set_materialize_grads(self, value):
        """If False, backward receives None (not zeros) for outputs that got no gradient."""
        self._materialize = bool(value)

    # --- the engine's side -----------------------------------------------------------------
    def read_arrays(self, inputs):
        """The saved tensors (PyTorch checks exactly these for in-place changes)."""
        for k, s in enumerate(getattr(self, "_saved", None) or ()):
            if isinstance(s, _OutputRef):
                yield f"saved tensor {k} of {self.name}", s.array, self.seq, None
            elif s is not None:
                yield f"saved tensor {k} of {self.name}", s.data, self.seq, s

    def backward(self, g, out, *xs):
        """Calls the user's backward(ctx, *grads) with tensors (under no_grad in a first-order
        pass) and checks what it returns: one gradient per input, shaped like it."""
        recorded = any(isinstance(x, Tensor) for x in xs)
        grads = list(g) if self.n_outputs > 1 else [g]
        for i, (gi, meta) in enumerate(zip(grads, self._out_meta)):
            if gi is not None and not isinstance(gi, Tensor):
                grads[i] = Tensor._const(gi)
            elif gi is None and meta is not None and self._materialize:
                grads[i] = Tensor._const(np.zeros(meta[0], meta[1]))
        if recorded:
            result = self.function.backward(self, *grads)
        else:
            with no_grad():
                result = self.function.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.inputs)
        if len(result) != n:
            if len(result) > n and all(r is None for r in result[n:]):
                result = result[:n]
            else:
                raise RuntimeError(
                    f"{self.function.__name__}.backward returned {len(result)} gradient(s), but "
                    f"forward took {n} argument(s); return one gradient (or None) per argument")
        return tuple(self._checked(i, r, recorded) for i, r in enumerate(result))

    def _checked(self, i, g, recorded):
        """Gradient i as the engine wants it: its input's shape (else an error naming the
        Function) and dtype; an ndarray in a first-order pass."""
        x = self.inputs[i]
        if g is None or x is None:
            return None
        if not isinstance(g, Tensor):
            g = Tensor._const(np.asarray(g))
        if g.shape != x.shape:
            raise RuntimeError(
                f"Function {self.name} returned an invalid gradient at index {i} - got shape "
                f"{tuple(g.shape)} but expected shape {tuple(x.shape)} (the shape of input "
                f"{i}). Return one gradient per forward argument, shaped like that argument.")
        if g.dtype != x.dtype:
            g = g.to(x.dtype)
        return g if recorded else g.data


class Function:
    """Base class for custom differentiable ops, with PyTorch's ctx protocol.

        class Square(ad.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x
            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 2 * x * g

        y = Square.apply(x)

    `ctx` is the graph node (`y.grad_fn`, named SquareBackward). `forward` runs under no_grad
    on the arguments as given; `backward` gets one gradient per output and returns one per
    forward argument (None for non-tensors or inputs that need no gradient). A backward written
    in Tensor ops supports higher-order gradients. PyTorch 2's split form works too:
    `forward(x)` without ctx plus `setup_context(ctx, inputs, output)`. In-place outputs
    (`mark_dirty`) are not supported.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("subclasses of autodiff.Function must define forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("subclasses of autodiff.Function must define "
                                  "backward(ctx, *grads)")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """PyTorch 2's split form: define this, and `forward(*args)` without ctx; it gets the
        forward's inputs (defaults filled in) and output, and fills ctx for backward."""
        raise NotImplementedError("setup_context is only called when a subclass defines it")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Runs forward and records the op when an input tensor requires grad."""
        if _tracer is not None:
            _tracer.unsupported(f"the custom autograd Function {cls.__name__}")
        ctx = BackwardFunction(cls)
        needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        ctx.needs_input_grad = needs
        with no_grad():
            if cls.setup_context is Function.setup_context:
                result = cls.forward(ctx, *args, **kwargs)
            else:  # forward(*args) without ctx, then setup_context(ctx, inputs, output)
                result = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, _forward_inputs(cls, args, kwargs), result)
        inputs = tuple(a if isinstance(a, Tensor) else None for a in args)
        if not link(ctx, inputs, needs):
            return result
        outs = result if isinstance(result, tuple) else (result,)
        ctx.n_outputs = len(outs)
        ctx._out_meta, wrapped, own = [], [], {}
        for i, o in enumerate(outs):
            if (isinstance(o, Tensor) and o.dtype.kind == "f"
                    and not any(o is t for t in ctx._non_diff)):
                ctx._out_meta.append((o.shape, o.dtype))
                own[id(o)] = _OutputRef(i, o.data)
                wrapped.append(Tensor._make(o.data, ctx, i))
            else:
                ctx._out_meta.append(None)
                wrapped.append(o)
        ctx._saved = tuple(own.get(id(t), t) if t is not None else None for t in ctx._to_save)
        ctx._to_save = ()
        return tuple(wrapped) if isinstance(result, tuple) else wrapped[0]
