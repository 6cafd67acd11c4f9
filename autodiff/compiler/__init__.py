"""autodiff.compile: trace a fixed-shape function (a training step) once, replay it as flat
numpy calls afterwards.

    step = autodiff.compile(step)      # or @autodiff.compile
    for x, y in loader:
        loss = step(x, y)

The first call with given input shapes, dtypes and requires_grad flags runs eagerly and is
traced: every op's forward, the backward pass (each node's rule on arrays and the engine's
sums, in the engine's order), the `.grad` writes, and calls of functions marked `replayed`
(random draws, the optimizer's step and zero_grad, learning-rate schedulers, running
statistics). Later calls with the same signature run the generated replay: no Tensor, graph
node or dispatch per op, the same numpy calls in the same order, so results equal the eager
ones bit for bit. See docs/guides/compile.md.
"""
import functools
import threading
import warnings
from collections import OrderedDict

from .. import dtypes
from ..function import Node
from ..grad_mode import _state
from ..tensor import Tensor
from ._replay import MISS, Replay
from ._tracer import GraphBreak, Tracer, hoist_guards

__all__ = ["compile", "CompiledFunction", "replayed", "is_compiling", "GraphBreak",
           "GraphBreakWarning", "RecompileWarning", "tracing"]


class GraphBreakWarning(UserWarning):
    """A compiled function met code that cannot be replayed and runs eagerly instead."""


class RecompileWarning(UserWarning):
    """A compiled function was traced for more signatures than its cache holds."""


class _Tracing:
    """`tracing.tracer`: the Tracer of the call being traced, else None (what nn checks)."""

    __slots__ = ("tracer",)


tracing = _Tracing()
tracing.tracer = None
_trace_lock = threading.Lock()  # one trace at a time in the process (traces patch classes)
_EAGER = "eager"


def is_compiling():
    """True while autodiff.compile traces a call (torch.compiler.is_compiling)."""
    return tracing.tracer is not None


def replayed(fn=None, *, pure=False):
    """Marks fn as one step of a compiled function's tape: while a call is traced, a call of
    fn is recorded (its tensor and array arguments by where they come from) and fn runs again
    at every replay. For functions whose Python work must happen each time: random draws,
    optimizer updates, learning-rate schedules, running statistics, checks of the inputs.

    fn may return None (an effect), a tensor or array (a traced value), a tuple of arrays, or
    a bool/int/float/str the caller branches on: the replay checks it is still the same and
    traces again if not. pure=True declares fn free of side effects (a check or a conversion
    of its arguments): such a guard may then be checked before the step's side effects."""
    if fn is None:
        return lambda f: replayed(f, pure=pure)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .. import function
        tracer = function._tracer
        if tracer is None:
            return fn(*args, **kwargs)
        return tracer.call(fn, args, kwargs, pure)
    return wrapper


def _flatten(obj, tensors):
    """The structure of a call's arguments (for the cache key), collecting their tensors."""
    if isinstance(obj, Tensor):
        tensors.append(obj)
        return (Tensor, obj.data.shape, obj.data.dtype, obj._requires_grad)
    if isinstance(obj, (list, tuple)):
        return (type(obj), tuple(_flatten(v, tensors) for v in obj))
    if isinstance(obj, dict):
        return (dict, tuple((k, _flatten(v, tensors)) for k, v in obj.items()))
    try:
        hash(obj)
    except TypeError:
        return (type(obj), id(obj))  # unhashable: the same object
    return (type(obj), obj)


class CompiledFunction:
    """fn, traced once per signature and replayed afterwards (see autodiff.compile)."""

    def __init__(self, fn, cache_size=8, fullgraph=False):
        if not callable(fn):
            raise TypeError(f"autodiff.compile: expected a function, got {type(fn).__name__}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"autodiff.compile: cache_size must be an int >= 1, got "
                             f"{cache_size!r}")
        self.fn = fn
        self.cache_size = cache_size
        self.fullgraph = bool(fullgraph)
        self.cache = OrderedDict()
        self.stats = {"traces": 0, "replays": 0, "eager": 0, "graph_breaks": 0}
        functools.update_wrapper(self, fn)

    def __repr__(self):
        return f"<autodiff.compile of {getattr(self.fn, '__qualname__', self.fn)!r}>"

    def reset(self):
        """Forget every trace (the next call traces again)."""
        self.cache.clear()

    def __call__(self, *args, **kwargs):
        tensors = []
        key = (_flatten(args, tensors), _flatten(kwargs, tensors), _state.enabled,
               dtypes.get_default_dtype())
        if _state.anomaly:  # anomaly mode wants every op's forward line: eager
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        entry = self.cache.get(key)
        if entry is _EAGER:
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        if entry is not None:
            result = entry.run(*tensors)
            if result is not MISS:
                self.stats["replays"] += 1
                return result
        return self._trace(key, tensors, args, kwargs)

    def _trace(self, key, tensors, args, kwargs):
        if not _trace_lock.acquire(blocking=False):  # another thread is tracing: run eagerly
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        try:
            tracer = Tracer(self.fullgraph)
            tracer.bind_args(tensors)
            with tracer:
                tracing.tracer = tracer
                try:
                    result = self.fn(*args, **kwargs)
                finally:
                    tracing.tracer = None
            self.stats["traces"] += 1
            output = None if tracer.broken else _output_spec(tracer, result)
            if not tracer.broken:
                hoist_guards(tracer)
            if tracer.broken:
                self.stats["graph_breaks"] += 1
                warnings.warn(tracer.message(), GraphBreakWarning, stacklevel=3)
                self._store(key, _EAGER)
                return result
            _release(tracer)
            self._store(key, Replay(tracer, len(tensors), output,
                                    getattr(self.fn, "__qualname__", "fn")))
            return result
        finally:
            _trace_lock.release()

    def _store(self, key, entry):
        self.cache[key] = entry
        self.cache.move_to_end(key)
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
            warnings.warn(
                f"autodiff.compile: {self!r} was traced for more than cache_size="
                f"{self.cache_size} different input signatures (shapes, dtypes, requires_grad, "
                f"non-tensor arguments); the oldest trace was dropped. Keep shapes fixed (pad "
                f"the last batch or use drop_last=True), or raise cache_size.",
                RecompileWarning, stacklevel=3)


def _output_spec(tracer, result):
    """How the replay rebuilds the traced call's return value."""
    if isinstance(result, Tensor):
        name = tracer.slot_of_tensor.get(id(result))
        if name is None:
            return ("tensor", tracer.external(result))
        if name.startswith("a"):
            return ("tensor", name)
        node = result.grad_fn
        if node is not None and not node.released:
            tracer.graph_break("returning a tensor whose graph no backward() inside the "
                               "function used (a replay returns detached results)")
        return ("slot", name)
    if isinstance(result, (tuple, list)):
        parts = tuple(_output_spec(tracer, r) for r in result)
        return ("tuple" if isinstance(result, tuple) else "list", parts)
    if isinstance(result, dict):
        return ("dict", tuple(_output_spec(tracer, v) for v in result.values()),
                tuple(result))
    return ("const", result)


class _Gone:
    """Stands in for a replayed node's input tensor, which the replay passes as an array."""

    __slots__ = ()


def _release(tracer):
    """Drops what only the trace needed: the recorded nodes' inputs (a step's activations)
    and the tensors met, so the replay holds just its nodes and constants."""
    stand_ins = {}
    for obj in tracer.consts.values():
        inputs = getattr(obj, "inputs", None) if isinstance(obj, Node) else None
        if inputs:  # (a rule may compare its inputs' identities: x * x)
            obj.inputs = tuple(None if x is None else stand_ins.setdefault(id(x), _Gone())
                               for x in inputs)
    tracer.tensors = []
    tracer.slot_of_tensor = {}
    tracer.arrays = {}
    tracer.slot_of_array = {}
    tracer.slot_of_layout = {}


def compile(fn=None, *, cache_size=8, fullgraph=False, **options):
    """Compile fn for repeated calls with fixed shapes (see the module docstring).

    cache_size: traces kept (one per signature of tensor shapes/dtypes/requires_grad and
    non-tensor argument values); fullgraph=True raises GraphBreak where the default warns
    (GraphBreakWarning) and runs that signature eagerly. torch.compile's other options
    (mode, dynamic, backend, options, disable) are accepted for ported code; dynamic=True is
    not supported (shapes are always specialised)."""
    unknown = set(options) - {"mode", "dynamic", "backend", "options", "disable"}
    if unknown:
        raise TypeError(f"autodiff.compile() got unexpected keyword argument(s) "
                        f"{sorted(unknown)}; it takes cache_size, fullgraph and torch.compile's "
                        f"mode/dynamic/backend/options/disable")
    if options.get("dynamic"):
        raise NotImplementedError("autodiff.compile(dynamic=True): traces are specialised to "
                                  "input shapes; leave dynamic unset (a new shape re-traces)")
    if fn is None:
        return lambda f: compile(f, cache_size=cache_size, fullgraph=fullgraph, **options)
    if options.get("disable"):
        return fn
    return CompiledFunction(fn, cache_size=cache_size, fullgraph=fullgraph)
