"""Module, the base class of layers and models, as torch.nn.Module.

A Module finds its parameters, buffers and submodules through attribute assignment
(`self.fc = Linear(3, 4)`), in registration order, and names them with dotted paths
(`blocks.0.weight`). Calling a module runs `forward` inside `autodiff.name_scope` segments
that spell the callee's path from the calling module, so graphs can be grouped by module.
"""
import threading
import warnings
import weakref
from collections import OrderedDict, namedtuple

import numpy as np

import autodiff as ad
from autodiff import Tensor
from nn.hooks import BackwardHook, RemovableHandle, check_inputs_unmodified, watch_inputs
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

# Hooks common to every module (register_module_*_hook: debugging and profiling), run before
# each module's own.
_global_backward_pre_hooks = OrderedDict()
_global_backward_hooks = OrderedDict()
_global_is_full_backward_hook = None
_global_forward_pre_hooks = OrderedDict()
_global_forward_hooks = OrderedDict()
_global_forward_hooks_always_called = OrderedDict()
_global_forward_hooks_with_kwargs = OrderedDict()
_HOOK_DICTS = ("_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks", "_backward_hooks")


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
        for key in _HOOK_DICTS + ("_forward_pre_hooks_with_kwargs", "_forward_hooks_with_kwargs",
                                  "_forward_hooks_always_called"):
            d[key] = OrderedDict()
        d["_is_full_backward_hook"] = None
        d["training"] = True

    # True on an instance while it has hooks, on the class while global hooks exist: __call__'s
    # one test for the slow path (kept up to date by registration and RemovableHandle.remove)
    _hooked = False

    def __setstate__(self, state):
        self.__dict__.update(state)
        for key in _HOOK_DICTS + ("_forward_pre_hooks_with_kwargs", "_forward_hooks_with_kwargs",
                                  "_forward_hooks_always_called"):
            self.__dict__.setdefault(key, OrderedDict())
        self.__dict__.setdefault("_is_full_backward_hook", None)
        _refresh_hooked(self)

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
        """Runs forward(*args, **kwargs) with the registered hooks (see register_*_hook)."""
        stack = _calls.stack
        token = _push_scope(_path_from(stack[-1], self) if stack else ())
        stack.append(self)
        try:
            if self._hooked:
                return self._call_with_hooks(args, kwargs)
            return self.forward(*args, **kwargs)
        finally:
            stack.pop()
            _pop_scope(token)

    def _call_with_hooks(self, args, kwargs):
        """__call__ with hooks, in PyTorch's order: forward pre-hooks, backward hooks set up on
        the inputs, forward, forward hooks, backward hooks set up on the outputs."""
        result = None
        called_always = set()
        try:
            full_hooks = pre_hooks = ()
            if self._backward_pre_hooks or _global_backward_pre_hooks:
                pre_hooks = [*_global_backward_pre_hooks.values(),
                             *self._backward_pre_hooks.values()]
            if self._backward_hooks or _global_backward_hooks:
                full_hooks = [*_global_backward_hooks.values(), *self._backward_hooks.values()]
            for hook_id, hook in (*_global_forward_pre_hooks.items(),
                                  *self._forward_pre_hooks.items()):
                if hook_id in self._forward_pre_hooks_with_kwargs:
                    new = hook(self, args, kwargs)
                    if new is not None:
                        if isinstance(new, tuple) and len(new) == 2:
                            args, kwargs = new
                        else:
                            raise RuntimeError("forward pre-hook must return None or a tuple of "
                                               f"(new_args, new_kwargs), but got {new}.")
                else:
                    new = hook(self, args)
                    if new is not None:
                        args = new if isinstance(new, tuple) else (new,)
            bw_hook = None
            if full_hooks or pre_hooks:
                bw_hook = BackwardHook(self, full_hooks, pre_hooks)
                args = bw_hook.setup_input_hook(args)
                watched = watch_inputs(bw_hook, args)
            result = self.forward(*args, **kwargs)
            if bw_hook is not None and watched:
                check_inputs_unmodified(watched)
            for hook_id, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
                if hook_id in self._forward_hooks_always_called or \
                        hook_id in _global_forward_hooks_always_called:
                    called_always.add(hook_id)
                if hook_id in self._forward_hooks_with_kwargs or \
                        hook_id in _global_forward_hooks_with_kwargs:
                    new = hook(self, args, kwargs, result)
                else:
                    new = hook(self, args, result)
                if new is not None:
                    result = new
            if bw_hook is not None:
                if not isinstance(result, (Tensor, tuple)):
                    warnings.warn("For backward hooks to be called, module output should be a "
                                  f"Tensor or a tuple of Tensors but received {type(result)}",
                                  stacklevel=3)
                result = bw_hook.setup_output_hook(result)
            return result
        except Exception:
            # forward hooks registered with always_call=True run even when the call fails
            for hooks, always, with_kwargs, what in (
                    (_global_forward_hooks, _global_forward_hooks_always_called, {},
                     "global module forward hook"),
                    (self._forward_hooks, self._forward_hooks_always_called,
                     self._forward_hooks_with_kwargs, "module forward hook")):
                for hook_id, hook in list(hooks.items()):
                    if hook_id not in always or hook_id in called_always:
                        continue
                    try:
                        new = (hook(self, args, kwargs, result) if hook_id in with_kwargs else
                               hook(self, args, result))
                        if new is not None:
                            result = new
                    except Exception as e:
                        warnings.warn(f"{what} with ``always_call=True`` raised an exception "
                                      f"that was silenced as another error was raised in "
                                      f"forward: {e}", stacklevel=3)
            raise

    def _register(self, key, hook, prepend=False, extra=None):
        handle = RemovableHandle(self.__dict__[key], extra_dict=extra,
                                 on_remove=_refresher(self))
        hooks = self.__dict__[key]
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        self.__dict__["_hooked"] = True
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """hook(module, args) runs before forward; it may return new args (a non-tuple value
        v means (v,)). With with_kwargs=True: hook(module, args, kwargs), returning None or
        (new_args, new_kwargs). prepend=True runs it before the hooks already registered.
        Returns a handle: .remove() unregisters it (also as a context manager)."""
        handle = self._register("_forward_pre_hooks", hook, prepend,
                                extra=self._forward_pre_hooks_with_kwargs)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """hook(module, args, output) runs after forward (e.g. to record feature maps) and may
        return a replacement output; with_kwargs=True: hook(module, args, kwargs, output).
        always_call=True runs it even when forward (or an earlier hook) raises. Returns a
        handle: .remove() unregisters it (also as a context manager)."""
        handle = self._register("_forward_hooks", hook, prepend,
                                extra=[self._forward_hooks_with_kwargs,
                                       self._forward_hooks_always_called])
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """hook(module, grad_output) runs when the gradients w.r.t. the module's outputs are
        ready (grad_output: one entry per output, None for non-Tensors and unused outputs) and
        may return a replacement tuple. Forward then sees views of its Tensor inputs; it must
        not modify them in place. Returns a removable handle."""
        return self._register("_backward_pre_hooks", hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """hook(module, grad_input, grad_output) runs when the gradients w.r.t. the module's
        positional Tensor inputs are computed (None for inputs that need none, and for
        non-Tensor ones) and may return a replacement grad_input tuple. With no input requiring
        grad it fires on grad_output (with a warning); with no output requiring grad it never
        fires. Forward must not modify its inputs in place. Returns a removable handle."""
        if self._is_full_backward_hook is False:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                               "on a single Module. Please use only one of them.")
        self.__dict__["_is_full_backward_hook"] = True
        return self._register("_backward_hooks", hook, prepend)

    def register_backward_hook(self, hook):
        """Deprecated (use register_full_backward_hook). Here it has the full hook's behaviour
        (PyTorch's fires on the last op's gradients, which miss inputs of multi-op modules)."""
        if self._is_full_backward_hook is True:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                               "on a single Module. Please use only one of them.")
        self.__dict__["_is_full_backward_hook"] = False
        return self._register("_backward_hooks", hook)

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


def _refresh_hooked(module):
    d = module.__dict__
    if any(d.get(key) for key in _HOOK_DICTS):
        d["_hooked"] = True
    else:
        d.pop("_hooked", None)


def _refresher(module):
    """on_remove for a module's handles: a weak reference, so handles do not keep it alive."""
    ref = weakref.ref(module)

    def refresh():
        m = ref()
        if m is not None:
            _refresh_hooked(m)
    return refresh


def _refresh_global():
    Module._hooked = bool(_global_forward_pre_hooks or _global_forward_hooks or
                          _global_backward_pre_hooks or _global_backward_hooks)


def _register_global(hooks, hook, extra=None):
    handle = RemovableHandle(hooks, extra_dict=extra, on_remove=_refresh_global)
    hooks[handle.id] = hook
    Module._hooked = True
    return handle


def register_module_forward_pre_hook(hook):
    """A forward pre-hook (see Module.register_forward_pre_hook) on every module, run before
    each module's own; for debugging and profiling. Returns a removable handle."""
    return _register_global(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """A forward hook (see Module.register_forward_hook) on every module, run before each
    module's own; for debugging and profiling. Returns a removable handle."""
    handle = _register_global(_global_forward_hooks, hook,
                              extra=[_global_forward_hooks_always_called,
                                     _global_forward_hooks_with_kwargs])
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook):
    """A backward pre-hook (see Module.register_full_backward_pre_hook) on every module, run
    before each module's own. Returns a removable handle."""
    return _register_global(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook):
    """A full backward hook (see Module.register_full_backward_hook) on every module, run
    before each module's own. Returns a removable handle."""
    global _global_is_full_backward_hook
    if _global_is_full_backward_hook is False:
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks as a "
                           "global Module hook. Please use only one of them.")
    _global_is_full_backward_hook = True
    return _register_global(_global_backward_hooks, hook)


def register_module_backward_hook(hook):
    """Deprecated (use register_module_full_backward_hook); here it behaves as the full one."""
    global _global_is_full_backward_hook
    if _global_is_full_backward_hook is True:
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks as a "
                           "global Module hook. Please use only one of them.")
    _global_is_full_backward_hook = False
    return _register_global(_global_backward_hooks, hook)


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
