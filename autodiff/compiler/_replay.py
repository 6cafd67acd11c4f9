"""Turning a tracer's tape into a replay: one generated Python function of straight-line numpy
calls (each op's forward and each backward rule on arrays, the engine's sums in its order,
the .grad writes), with the guards a replay needs first."""
import sys

import numpy as np

from .. import engine
from ..function import _as_array
from ..tensor import Tensor

MISS = object()  # a replay's answer when a guard fails: trace again


def _ones(shape, dtype):
    arr = np.empty(shape, dtype)
    arr.fill(1)
    return arr


def _tensor(arr):
    return Tensor._const(arr)


def _obj(name):
    """The variable holding the tensor object whose array variable is `name`."""
    return "A" + name[1:] if name.startswith("a") else "T_" + name


def _args(names):
    return ", ".join("None" if n is None else n for n in names)


def _keeps_out(node):
    """Whether a node can hold its output for its rule (an `out` slot, or one set on the
    instance); the others' rules get None, as the engine passes them Node.out's None."""
    if "out" in getattr(node, "__dict__", {}):
        return True
    return any("out" in getattr(klass, "__slots__", ()) for klass in type(node).__mro__)


def _used_names(entries, output):
    """Every slot name some entry (or the output) reads."""
    used = set()
    for entry in entries:
        for item in entry[2:]:
            if isinstance(item, str):
                used.add(item)
            elif isinstance(item, (list, tuple)):
                used.update(i for i in item if isinstance(i, str))
            elif isinstance(item, dict):
                used.update(i for i in item.values() if isinstance(i, str))
    stack = [output]
    while stack:
        spec = stack.pop()
        if isinstance(spec, tuple):
            stack.extend(spec)
        elif isinstance(spec, str):
            used.add(spec)
    return used


class Replay:
    """The compiled form of one trace: `run(*arg_tensors)` returns the call's result, or MISS
    when a guard fails (an external tensor changed shape/dtype/requires_grad, a module
    switched train/eval)."""

    def __init__(self, tracer, n_args, output, name):
        self.n_entries = len(tracer.entries)
        ns = {"_ones": _ones, "_tensor": _tensor, "_as_array": _as_array, "MISS": MISS,
              "_store_grad": engine.store_grad}
        ns.update(tracer.consts)
        lines = [f"def replay({', '.join(f'A{k}' for k in range(n_args))}):"]
        body = []
        for k in range(n_args):
            body.append(f"a{k} = A{k}.data")
        # externals: private constants (only this trace holds them) are baked in; the others
        # are read at each replay, after checking they still fit the trace
        for ext_name, t in tracer.externals.values():
            ns[_obj(ext_name)] = t
            arr = t.data
            if sys.getrefcount(t) <= 4:
                ns[ext_name] = arr
                continue
            guard = (f"T_{ext_name}._requires_grad is not {t._requires_grad} or "
                     f"T_{ext_name}._hooks or T_{ext_name}._post_accumulate_hooks")
            body.append(f"{ext_name} = T_{ext_name}.data")
            ns[f"S_{ext_name}"] = arr.shape
            ns[f"D_{ext_name}"] = arr.dtype
            body.append(f"if {guard} or {ext_name}.shape != S_{ext_name} or "
                        f"{ext_name}.dtype != D_{ext_name}: return MISS")
        for k, module in enumerate(tracer.modules.values()):
            ns[f"M{k}"] = module
            body.append(f"if M{k}.training is not {bool(module.training)} or M{k}._hooked: "
                        f"return MISS")
        used = _used_names(tracer.entries, output)
        for entry in tracer.entries:
            if entry[0] == "read_grad" and entry[1] not in used:
                continue  # (a .grad nothing in the call read)
            body.extend(self._lines(entry, ns))
        body.append(f"return {self._output(output, ns)}")
        lines.extend("    " + b for b in body)
        self.source = "\n".join(lines) + "\n"
        code = compile(self.source, f"<autodiff.compile replay of {name}>", "exec")
        exec(code, ns)
        self.run = ns["replay"]

    @staticmethod
    def _lines(entry, ns):
        kind = entry[0]
        if kind == "op":
            _, out, node, refs, zero_d = entry
            ns[f"F_{node}"] = ns[node].forward
            call = f"F_{node}({_args(refs)})"
            if isinstance(out, list):  # (an op with several outputs)
                return [f"{', '.join(out)}, = {call}"]
            return [f"{out} = _as_array({node}, {call})" if zero_d else f"{out} = {call}"]
        if kind == "rule":
            _, names, node, g, refs = entry
            ns[f"B_{node}"] = ns[node].backward
            targets = ", ".join(n if n is not None else "_" for n in names)
            out = f"{node}.out" if _keeps_out(ns[node]) else "None"
            if isinstance(g, list):  # (the gradients of a node's several outputs)
                g = f"[{_args(g)}]"
            return [f"{targets}, = B_{node}({g}, {out}, {_args(refs)})"]
        if kind == "param":  # a node's parameter holding traced arrays, set before it runs
            _, node, attr, template = entry
            return [f"{node}.{attr} = {Replay._template(template, ns)}"]
        if kind == "add":
            _, out, a, b = entry
            return [f"{out} = {a} + {b}"]
        if kind == "ones":
            _, out, shape, dtype = entry
            ns[f"S_{out}"], ns[f"D_{out}"] = shape, dtype
            return [f"{out} = _ones(S_{out}, D_{out})"]
        if kind == "alias":
            return [f"{entry[1]} = {entry[2]}"]
        if kind == "begin_backward":
            return ["_owned = set()"]
        if kind == "grad":
            _, leaf, g = entry
            return [f"_store_grad({_obj(leaf)}, {g}, _owned)"]
        if kind == "read_grad":
            _, out, leaf = entry
            return [f"{out} = {_obj(leaf)}._grad.data"]
        if kind == "set_grad":
            _, leaf, value = entry
            return [f"{_obj(leaf)}._grad = None"]
        if kind == "call":
            _, out, fn, refs, kinds, kw_refs, kw_kinds, spec, _ = entry
            args = [Replay._call_arg(r, t) for r, t in zip(refs, kinds)]
            args += [f"{k}={Replay._call_arg(r, kw_kinds[k])}" for k, r in kw_refs.items()]
            call = f"{fn}({', '.join(args)})"
            if spec == "tensor":
                return [f"{out} = {call}.data"]
            if spec == "array":
                return [f"{out} = {call}"]
            if spec == "arrays":
                return [f"{', '.join(out)}, = {call}"]
            if spec is not None:  # a guard: the value the traced call branched on
                return [f"if {call} != {spec[1]}: return MISS"]
            return [call]
        raise AssertionError(f"unknown tape entry {kind}")

    @staticmethod
    def _template(template, ns):
        kind = template[0]
        if kind in ("slot", "const"):
            return template[1]
        _, seq_type, items = template
        parts = [Replay._template(t, ns) for t in items]
        if seq_type is tuple:
            return "(" + "".join(p + ", " for p in parts) + ")"
        if seq_type is list:
            return "[" + ", ".join(parts) + "]"
        name = f"Q{len(ns)}"
        ns[name] = seq_type
        return f"{name}([{', '.join(parts)}])"

    @staticmethod
    def _call_arg(ref, is_tensor):
        if not is_tensor or ref.startswith("c"):
            return ref
        if ref.startswith(("a", "e")):
            return _obj(ref)
        return f"_tensor({ref})"

    @staticmethod
    def _output(spec, ns):
        kind = spec[0]
        if kind == "slot":
            return f"_tensor({spec[1]})"
        if kind == "tensor":  # an argument or external tensor returned as itself
            return _obj(spec[1])
        if kind == "const":
            name = f"R{len(ns)}"
            ns[name] = spec[1]
            return name
        parts = [Replay._output(s, ns) for s in spec[1]]
        if kind == "tuple":
            return "(" + "".join(p + ", " for p in parts) + ")"
        if kind == "list":
            return "[" + ", ".join(parts) + "]"
        if kind == "dict":
            return "{" + ", ".join(f"{k!r}: {p}" for k, p in zip(spec[2], parts)) + "}"
        raise AssertionError(kind)
