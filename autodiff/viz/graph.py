"""The graph as viz sees it: ops and tensors found by the engine's own iterative toposort.

Intermediate tensors are not referenced by the node that made them, but every one that is used
again is an input of a later node, and the roots are given: so every tensor worth drawing is
reachable as an object. Leaves are identified by the object, outputs by (node, output index).
"""
import re

import numpy as np

from ..engine import inputs_as_recorded, toposort
from ..function import BackwardFunction
from ..tensor import Tensor
from .fmt import num

_ALIASES = {"PowScalar": "pow", "LogSumExp": "logsumexp", "GetItem": "getitem",
            "BroadcastTo": "broadcast_to", "SumTo": "sum_to", "MatMul": "matmul",
            "IndexAdd": "index_add", "ConstantPad": "pad", "LogSoftmax": "log_softmax",
            "Norm2": "norm"}


def tensor_key(t):
    """A tensor's identity in the graph: the object for leaves, (node, output index) otherwise."""
    node = t.grad_fn
    return id(t) if node is None else (id(node), t._output_nr)


_PARAM_TYPES = {}
_OP_NAMES = {}


def is_parameter(t):
    """True for nn.Parameter (by class name: autodiff never imports nn) or a class with
    `_is_param = True`."""
    cls = type(t)
    known = _PARAM_TYPES.get(cls)
    if known is None:
        known = _PARAM_TYPES[cls] = bool(getattr(cls, "_is_param", False)) or any(
            c.__name__ == "Parameter" for c in cls.__mro__)
    return known


def op_name(node):
    """'mul' for MulBackward, 'broadcast_to' for BroadcastToBackward; custom Functions keep
    their class name."""
    if isinstance(node, BackwardFunction):
        return node.function.__name__
    name = _OP_NAMES.get(type(node))
    if name is None:
        cls = type(node).__name__
        name = _ALIASES.get(cls) or re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", cls).lower()
        _OP_NAMES[type(node)] = name
    return name


def _param_value(v):
    if isinstance(v, tuple) and len(v) == 1 and isinstance(v[0], (int, np.integer)):
        return str(int(v[0]))
    if isinstance(v, np.ndarray):
        return f"array{tuple(v.shape)}"
    if isinstance(v, tuple) and any(isinstance(e, np.ndarray) for e in v):
        return "(" + ", ".join(_param_value(e) for e in v) + ")"
    if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
        return str(np.dtype(v))
    if isinstance(v, slice):
        return ":".join("" if p is None else str(p)
                        for p in (v.start, v.stop, v.step)).rstrip(":") or ":"
    s = repr(v)
    return s if len(s) <= 30 else s[:29] + "…"


def op_params(node):
    """Static parameters worth showing: None/False (the defaults) left out."""
    try:
        params = node.params()
    except Exception:
        return {}
    return {k: _param_value(v) for k, v in params.items() if v is not None and v is not False}


class TensorV:
    """A tensor vertex."""

    __slots__ = ("key", "tensor", "kind", "producer", "consumers", "is_root", "name", "scope",
                 "folded")

    def __init__(self, key, tensor, producer):
        self.key, self.tensor, self.producer = key, tensor, producer
        self.consumers = []  # (op index, input index)
        self.is_root = False
        self.name = None
        self.folded = False
        self.scope = ()
        if producer is not None:
            self.kind = "intermediate"
        elif is_parameter(tensor):
            self.kind = "param"
        elif tensor.requires_grad:
            self.kind = "input"
        else:
            self.kind = "const"


class Graph:
    """ops (nodes, roots first, in backward's visiting order), tensors by key, and the edges."""

    def __init__(self, roots, names=None):
        flat = []
        for r in roots:  # to_dot(outputs) with a list or tuple of tensors works too
            flat.extend(r if isinstance(r, (list, tuple)) else [r])
        roots = flat
        for i, r in enumerate(roots):
            if not isinstance(r, Tensor):
                raise TypeError(f"autodiff.viz: root {i} is a {type(r).__name__}, expected a "
                                f"Tensor (pass the output tensors, e.g. to_dot(loss))")
        self.roots = roots
        self.ops = toposort(roots)
        self.index = {id(n): i for i, n in enumerate(self.ops)}
        self.tensors = {}
        self.op_inputs = []  # per op: list of tensor keys (None for non-tensor args)
        for r in roots:
            self._add(r).is_root = True
        for i, node in enumerate(self.ops):
            keys = []
            for j, t in enumerate(inputs_as_recorded(node)):
                if t is None:
                    keys.append(None)
                    continue
                v = self._add(t)
                v.consumers.append((i, j))
                keys.append(v.key)
            self.op_inputs.append(keys)
        self._name(names)
        for v in self.tensors.values():
            v.folded = (v.kind == "const" and v.tensor.data.size == 1 and v.name is None
                        and not v.is_root)
            v.scope = self._tensor_scope(v)

    def _add(self, t):
        key = tensor_key(t)
        v = self.tensors.get(key)
        if v is None:
            producer = None if t.grad_fn is None else self.index.get(id(t.grad_fn))
            v = self.tensors[key] = TensorV(key, t, producer)
        return v

    def _name(self, names):
        by_id = {}
        if names:
            for k, val in dict(names).items():
                if isinstance(k, Tensor):
                    by_id[id(k)] = str(val)
                elif isinstance(val, Tensor):  # {"fc.weight": tensor}, e.g. named_parameters()
                    by_id[id(val)] = str(k)
                else:
                    raise TypeError(f"names: expected {{tensor: 'name'}} or {{'name': tensor}}, "
                                    f"got a {type(k).__name__} key with a "
                                    f"{type(val).__name__} value")
        for v in self.tensors.values():
            t = v.tensor
            v.name = by_id.get(id(t)) or getattr(t, "name", None) or getattr(t, "label", None)
            if v.name is not None:
                v.name = str(v.name)

    def scope(self, i):
        return tuple(getattr(self.ops[i], "scope", ()) or ())

    def _tensor_scope(self, v):
        if v.producer is not None:
            return self.scope(v.producer)
        if v.kind != "param" or not v.consumers:  # inputs and constants: the caller's data
            return ()
        scopes = [self.scope(i) for i, _ in v.consumers]
        common = scopes[0]
        for s in scopes[1:]:
            n = 0
            while n < min(len(common), len(s)) and common[n] == s[n]:
                n += 1
            common = common[:n]
        return common

    def output_tensor(self, i):
        """A tensor this op produced (a consumer's input or a root), or None."""
        node = self.ops[i]
        for k in range(node.n_outputs):
            v = self.tensors.get((id(node), k))
            if v is not None:
                return v.tensor
        return None

    def outputs(self, i):
        """The drawn output vertices of op i."""
        node = self.ops[i]
        return [v for v in (self.tensors.get((id(node), k)) for k in range(node.n_outputs))
                if v is not None]

    def label(self, i, digits=3):
        """'sum(dim=1)', 'div(1, ·)': the op, folded scalar constants and static parameters."""
        node = self.ops[i]
        args = []
        folded = False
        for key in self.op_inputs[i]:
            v = self.tensors.get(key) if key is not None else None
            if v is not None and v.folded:
                args.append(num(v.tensor.data.reshape(()), digits))
                folded = True
            else:
                args.append("·")
        parts = args if folded else []
        parts += [f"{k}={val}" for k, val in op_params(node).items()]
        return op_name(node) + (f"({', '.join(parts)})" if parts else "")
