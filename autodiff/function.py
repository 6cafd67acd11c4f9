"""The graph node and `Function`, the base class for user-defined differentiable ops.

Every recorded operation is one `Node`: it keeps its input tensors (the graph's edges), the
static parameters of the op, and whatever its backward rule needs. A node never refers to its
output tensor, so graphs are freed by reference counting alone. Rules that are best written
through their output (exp, sigmoid, softmax, ...) save the output's *array* and rebuild a
tensor from it with `self.output()`, which is again recorded as coming from this node, so
second-order gradients flow through it correctly.

A node's `backward` (in differentiable Tensor ops) defines its gradient. Hot nodes also carry
`backward_arrays`, the same rule on bare ndarrays, which the engine runs instead for first-order
passes (create_graph=False): the rule's arithmetic then costs what numpy costs, with no Tensor
and no dispatch per operation. The catalog tests check the two against each other for every op.
"""
import inspect
import itertools
import traceback
import weakref

import numpy as np

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


class Node:
    """One recorded operation: forward on ndarrays, backward in differentiable Tensor ops."""

    __slots__ = ("inputs", "needs_input_grad", "released", "scope", "seq", "__dict__",
                 "__weakref__")
    hooks = None  # rarely set (tensor hooks, retain_grad): in the instance dict when they are
    trace = None  # the user's forward line, under detect_anomaly
    n_outputs = 1
    # Optional: the backward rule again, on ndarrays (g an array; returns one array or None per
    # input). The engine uses it for first-order passes (create_graph=False) and `backward`,
    # which stays the definition, for higher order; the catalog tests check that they agree.
    backward_arrays = None
    saved = ()  # slots holding saved arrays, cleared when backward releases the graph
    checks_gradients = False  # user Functions get their gradients' shapes checked

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if ("backward" in cls.__dict__ and "_vjp" not in cls.__dict__
                and not issubclass(cls, Function)):
            cls._vjp = cls.backward

    @property
    def name(self):
        return _Name(type(self).__name__ + "Backward")

    def __repr__(self):
        return f"<{self.name}>"

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
        """The op's output, rebuilt from its saved array as a tensor recorded from this node."""
        return Tensor._make(self.out, self)

    def _tensor_hooks(self):
        if self.hooks is None:
            self.hooks = _TensorHooks()
        return self.hooks


_sequence = itertools.count()  # creation order: every node is numbered after its inputs' nodes
last_mutation = [0]  # the number of the latest in-place change to any tensor


def stamp_mutation(tensor):
    """Marks tensor as changed in place now (engine: ops recorded before must not backward)."""
    tensor._mutated = last_mutation[0] = next(_sequence)


def _record(node, inputs, needs, out):
    """The output tensor of `node`, recorded in the graph with these inputs."""
    node.seq = next(_sequence)
    node.inputs = inputs
    node.needs_input_grad = needs
    node.released = False
    node.scope, anomaly = grad_state.recording
    if anomaly:
        node.trace = creation_trace()
    return Tensor._make(out, node)


# apply1/apply2 are the hot path of every op: _record and Tensor._make are inlined in them.

def apply1(node, x):
    """Runs a one-input op and records it when x requires grad and grad mode is on."""
    out = node.forward(x.data)
    t = _new(Tensor)
    t.data = out if type(out) is ndarray else np.asarray(out)
    recording = grad_state.recording
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


_ONE = (True,)


def apply2(node, x, y):
    """Runs a two-input op and records it when an input requires grad and grad mode is on."""
    out = node.forward(x.data, y.data)
    t = _new(Tensor)
    t.data = out if type(out) is ndarray else np.asarray(out)
    rx, ry = x._requires_grad, y._requires_grad
    recording = grad_state.recording
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


def applyn(node, *xs):
    """Runs an op with any number of tensor inputs."""
    out = node.forward(*[x.data for x in xs])
    needs = tuple([x._requires_grad for x in xs])
    if True in needs and grad_state.enabled:
        return _record(node, xs, needs, out)
    return Tensor._const(out)


def creation_trace():
    """The user's stack at the point an op was recorded (autodiff's own frames left out)."""
    frames = [f for f in traceback.extract_stack()[:-2] if not f.filename.startswith(_AUTODIFF_DIR)]
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


class Function(Node):
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

    `ctx` is the graph node itself. `forward` runs under no_grad on the arguments as given;
    `backward` gets one gradient per output and returns one per forward argument (None for
    non-tensors or inputs that need no gradient). A backward written in Tensor ops supports
    higher-order gradients. PyTorch 2's split form works too: `forward(x)` without ctx plus
    `setup_context(ctx, inputs, output)`. In-place outputs (`mark_dirty`) are not supported.
    """

    checks_gradients = True
    saved = ("_saved",)

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

    # --- the ctx protocol ------------------------------------------------------------------
    def save_for_backward(self, *tensors):
        """Saves tensors (or None) for backward; read them back with ctx.saved_tensors."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward takes tensors or None; argument {i} is a "
                                f"{type(t).__name__} (store other values as ctx attributes)")
        self._to_save = tensors

    @property
    def saved_tensors(self):
        if getattr(self, "released", False):
            raise RuntimeError(
                f"{self.name}: saved tensors were freed by the first backward(). Pass "
                f"retain_graph=True to that backward() if you need to backward twice.")
        saved = getattr(self, "_saved", None)
        if saved is None:
            saved = getattr(self, "_to_save", ())
        return tuple(Tensor._make(s.array, self, s.index) if isinstance(s, _OutputRef) else s
                     for s in saved)

    def mark_non_differentiable(self, *outputs):
        """Declares outputs (e.g. indices) that never carry a gradient."""
        self._non_diff = outputs

    def set_materialize_grads(self, value):
        """If False, backward receives None (not zeros) for outputs that got no gradient."""
        self._materialize = bool(value)

    # --- running it ------------------------------------------------------------------------
    @classmethod
    def apply(cls, *args, **kwargs):
        """Runs forward and records the op when an input tensor requires grad."""
        ctx = object.__new__(cls)
        ctx._to_save, ctx._non_diff, ctx._materialize = (), (), True
        needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        ctx.needs_input_grad = needs
        record = grad_state.enabled and any(needs)
        with no_grad():
            if cls.setup_context is Function.setup_context:
                result = cls.forward(ctx, *args, **kwargs)
            else:  # forward(*args) without ctx, then setup_context(ctx, inputs, output)
                result = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, _forward_inputs(cls, args, kwargs), result)
        if not record:
            return result
        outs = result if isinstance(result, tuple) else (result,)
        ctx.inputs = tuple(a if isinstance(a, Tensor) else None for a in args)
        ctx.released, ctx.hooks, ctx.scope = False, None, grad_state.scope
        ctx.seq = next(_sequence)
        if grad_state.anomaly:
            ctx.trace = creation_trace()
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

    def _vjp(self, g):
        grads = list(g) if self.n_outputs > 1 else [g]
        if self._materialize:
            for i, (gi, meta) in enumerate(zip(grads, self._out_meta)):
                if gi is None and meta is not None:
                    grads[i] = Tensor._const(np.zeros(meta[0], meta[1]))
        result = type(self).backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.inputs)
        if len(result) != n:
            if len(result) > n and all(r is None for r in result[n:]):
                result = result[:n]
            else:
                raise RuntimeError(
                    f"{type(self).__name__}.backward returned {len(result)} gradient(s), but "
                    f"forward took {n} argument(s); return one gradient (or None) per argument")
        return tuple(r if r is None or isinstance(r, Tensor) else Tensor._const(np.asarray(r))
                     for r in result)
