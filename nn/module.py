"""Module, the base class of layers and models, as torch.nn.Module.

A Module finds its parameters, buffers and submodules through attribute assignment
(`self.fc = Linear(3, 4)`), in registration order, and names them with dotted paths
(`blocks.0.weight`). Calling a module runs `forward` inside `autodiff.name_scope` segments
that spell the callee's path from the calling module, so graphs can be grouped by module.
"""
import threading
from collections import OrderedDict, namedtuple

import numpy as np

import autodiff as ad
from autodiff import Tensor
from nn.parameter import Parameter

_push_scope, _pop_scope = ad.name_scope.push, ad.name_scope.pop  # name_scope without the object


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What load_state_dict(strict=False) returns: keys it could not fill or did not use."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


# The modules whose forward is running, innermost last (per thread): a call finds its scope
# path relative to the module that makes it.
class _Calls(threading.local):
    def __init__(self):  # runs once in each thread that calls a module
        self.stack = []


_calls = _Calls()
_MISSING = object()


class Module:
    """Base class of all layers and models: subclass it, assign submodules and Parameters in
    __init__ (after super().__init__()), and define forward()."""

    training: bool

    def __init__(self):
        d = self.__dict__
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["training"] = True

    # --- registration ---------------------------------------------------------------------
    def _registries(self, name):
        try:
            return (self.__dict__["_parameters"], self.__dict__["_buffers"],
                    self.__dict__["_modules"])
        except KeyError:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called; call "
                f"super().__init__() first in {type(self).__name__}.__init__") from None

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            params, buffers, modules = self._registries(name)
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            params, buffers, modules = self._registries(name)
            self._forget(name)
            modules[name] = value
        else:
            d = self.__dict__
            params, buffers, modules = (d.get("_parameters"), d.get("_buffers"),
                                        d.get("_modules"))
            if params is not None and name in params:
                if value is not None:
                    raise TypeError(
                        f"cannot assign a {type(value).__name__} to parameter {name!r} of "
                        f"{type(self).__name__}; wrap it as nn.Parameter(value), or update the "
                        f"existing one in place with `with ad.no_grad(): "
                        f"module.{name}.copy_(value)`")
                params[name] = None
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(f"cannot assign a {type(value).__name__} to submodule "
                                    f"{name!r} of {type(self).__name__}; expected a Module or None")
                modules[name] = None
            elif buffers is not None and name in buffers:
                if value is not None and not isinstance(value, Tensor):
                    raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r} "
                                    f"of {type(self).__name__}; expected a Tensor or None")
                buffers[name] = value
            else:
                object.__setattr__(self, name, value)

    def _forget(self, name):
        """Removes `name` from every registry and the instance dict (before re-registering)."""
        d = self.__dict__
        d.pop(name, None)
        for key in ("_parameters", "_buffers", "_modules"):
            d[key].pop(name, None)
        d["_non_persistent_buffers"].discard(name)

    def __getattr__(self, name):  # only called when normal lookup fails
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            reg = d.get(key)
            if reg is not None:
                value = reg.get(name, _MISSING)
                if value is not _MISSING:
                    return value
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if name in d.get(key, ()):
                del d[key][name]
                d["_non_persistent_buffers"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        d = self.__dict__
        return sorted(set(super().__dir__()) | set(d.get("_parameters", ())) |
                      set(d.get("_buffers", ())) | set(d.get("_modules", ())))

    @staticmethod
    def _check_name(name, what):
        if not isinstance(name, str):
            raise TypeError(f"{what} name must be a str, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f"{what} name {name!r} must be non-empty and contain no '.'")

    def register_parameter(self, name, param):
        """Adds a parameter (a Parameter, or None for an absent one such as bias=False)."""
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}): expected an nn.Parameter or None, got "
                            f"{type(param).__name__}; wrap it as nn.Parameter(tensor)")
        if hasattr(type(self), name) or (name in self.__dict__):
            raise KeyError(f"register_parameter: attribute {name!r} already exists")
        self._registries(name)[0][name] = param
        self._forget_others(name, "_parameters")

    def register_buffer(self, name, tensor, persistent=True):
        """Adds a state tensor that is not a parameter (e.g. BatchNorm's running_mean); it is
        in state_dict() unless persistent=False."""
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer({name!r}): expected a Tensor or None, got "
                            f"{type(tensor).__name__}")
        if hasattr(type(self), name) or (name in self.__dict__) or name in self._parameters \
                or name in self._modules:
            raise KeyError(f"register_buffer: attribute {name!r} already exists")
        self._registries(name)[1][name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Adds a submodule under `name` (same as `self.name = module`, for computed names)."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}): expected a Module or None, got "
                            f"{type(module).__name__}")
        if hasattr(type(self), name) and name not in self._modules:
            raise KeyError(f"add_module: attribute {name!r} already exists")
        self._registries(name)[2][name] = module
        self._forget_others(name, "_modules")

    register_module = add_module

    def _forget_others(self, name, keep):
        d = self.__dict__
        d.pop(name, None)
        for key in ("_parameters", "_buffers", "_modules"):
            if key != keep:
                d[key].pop(name, None)

    # --- calling -------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define "
                                  f"`def forward(self, x): ...` in the subclass")

    def __call__(self, *args, **kwargs):
        stack = _calls.stack
        token = _push_scope(_path_from(stack[-1], self) if stack else ())
        stack.append(self)
        try:
            if self._forward_pre_hooks or self._forward_hooks:
                return self._call_with_hooks(args, kwargs)
            return self.forward(*args, **kwargs)
        finally:
            stack.pop()
            _pop_scope(token)

    def _call_with_hooks(self, args, kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            new = hook(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            new = hook(self, args, out)
            if new is not None:
                out = new
        return out

    def register_forward_pre_hook(self, hook):
        """hook(module, args) runs before forward and may return replacement args; returns a
        handle whose .remove() unregisters it."""
        return _HookHandle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook):
        """hook(module, args, output) runs after forward (e.g. to record feature maps) and may
        return a replacement output; returns a handle whose .remove() unregisters it."""
        return _HookHandle(self._forward_hooks, hook)

    # --- traversal -----------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for this module and every descendant, depth first."""
        todo = [(prefix, self)]
        seen = set() if memo is None else memo
        while todo:
            name, m = todo.pop()
            if remove_duplicate:
                if id(m) in seen:
                    continue
                seen.add(id(m))
            yield name, m
            children = [(name + ("." if name else "") + k, c)
                        for k, c in m._modules.items() if c is not None]
            todo.extend(reversed(children))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mod_name, m in mods:
            for k, v in getattr(m, registry).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield mod_name + ("." if mod_name else "") + k, v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) pairs in registration order; shared ones once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """The module at a dotted path such as 'blocks.0'."""
        m = self
        if target == "":
            return m
        for seg in target.split("."):
            if seg not in m._modules or m._modules[seg] is None:
                raise AttributeError(f"{type(m).__name__} has no submodule {seg!r} "
                                     f"(looking up {target!r})")
            m = m._modules[seg]
        return m

    def get_parameter(self, target):
        mod_path, _, name = target.rpartition(".")
        m = self.get_submodule(mod_path)
        if name not in m._parameters:
            raise AttributeError(f"{type(m).__name__} has no parameter {name!r}")
        return m._parameters[name]

    # --- modes and bulk updates ------------------------------------------------------------
    def train(self, mode=True):
        """Sets training mode (Dropout active, BatchNorm on batch statistics) recursively."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode): mode must be a bool, got {mode!r}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self):
        """train(False): Dropout is the identity, BatchNorm uses its running statistics."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clears every parameter's .grad (to None, or to zeros with set_to_none=False)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = ad.zeros_like(p.grad)

    def apply(self, fn):
        """Calls fn(module) on every submodule (children first) and on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _apply_arrays(self, fn):
        """Replaces every parameter's and buffer's array by fn(array), keeping the objects."""
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None:
                    p.data = fn(p.data)
                    if p.grad is not None:
                        p.grad = ad.from_numpy(fn(p.grad.data))
            for name, b in m._buffers.items():
                if b is not None:
                    b.data = fn(b.data)
        return self

    def to(self, *args, **kwargs):
        """to(dtype) casts floating parameters and buffers in place; 'cpu' is accepted."""
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, str) and a.split(":")[0] == "cpu":
                continue
            try:
                dtype = np.dtype(a)
            except TypeError:
                raise TypeError(f"Module.to: expected a float dtype or 'cpu', got {a!r} "
                                f"(autodiff runs on the CPU only)") from None
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Module.to: only floating dtypes are allowed, got {dtype}")
        return self._apply_arrays(lambda a: a.astype(dtype) if a.dtype.kind == "f" else a)

    def float(self):
        return self.to(ad.float32)

    def double(self):
        return self.to(ad.float64)

    def cpu(self):
        return self

    # --- state ---------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Ordered {dotted name: tensor} of parameters and persistent buffers, sharing memory
        with the module (detached unless keep_vars=True)."""
        out = OrderedDict() if destination is None else destination
        for mod_name, m in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            pre = mod_name + "." if mod_name else ""
            for k, p in m._parameters.items():
                if p is not None:
                    out[pre + k] = p if keep_vars else p.detach()
            for k, b in m._buffers.items():
                if b is not None and k not in m._non_persistent_buffers:
                    out[pre + k] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copies values into the existing parameters and buffers (in place, so optimizers
        keep working). Missing or unexpected keys raise when strict; shape mismatches always
        raise. Returns (missing_keys, unexpected_keys)."""
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"load_state_dict: expected a mapping of names to tensors, got "
                            f"{type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        if strict:
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: " +
                              ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.append("Missing key(s) in state_dict: " +
                              ", ".join(f'"{k}"' for k in missing) + ".")
        values = {}
        for k, target in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            arr = v.data if isinstance(v, Tensor) else np.asarray(v)
            if arr.shape != target.shape:
                errors.append(f'size mismatch for "{k}": copying a value of shape '
                              f'{tuple(arr.shape)} from the state_dict, but the shape in the '
                              f'current model is {tuple(target.shape)}.')
            else:
                values[k] = arr
        if errors:
            hint = (" Pass strict=False to load only the matching keys." if strict and
                    (missing or unexpected) else "")
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors) + hint)
        with ad.no_grad():
            for k, arr in values.items():
                own[k].copy_(arr)  # casts to the target's dtype
        return _IncompatibleKeys(missing, unexpected)

    # --- printing ------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside this module's parentheses in repr (override in layers)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, m in self._modules.items():
            text = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {text}")
        if not lines:
            return f"{self._get_name()}()"
        if not self._modules and len(lines) == 1:
            return f"{self._get_name()}({lines[0]})"
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class _HookHandle:
    """Returned by register_forward_hook and friends; .remove() unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks, hook):
        self.hooks, self.id = hooks, _HookHandle._next_id
        _HookHandle._next_id += 1
        hooks[self.id] = hook

    def remove(self):
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _path_from(caller, callee):
    """Name segments of callee as seen from caller: ('fc',) for a child, ('blocks', '0')
    for a grandchild; () if callee is not registered under caller (or is caller itself)."""
    for name, m in caller._modules.items():
        if m is callee:
            return (name,)
    for name, m in caller.named_modules():
        if m is callee and name:
            return tuple(name.split("."))
    return ()
