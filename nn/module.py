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
from autodiff.compiler import tracing as _tracing
from nn.hooks import BackwardHook, RemovableHandle, check_inputs_unmodified, watch_inputs
from nn.parameter import Buffer, Parameter, is_lazy

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
_STATE_HOOK_DICTS = ("_state_dict_hooks", "_state_dict_pre_hooks", "_load_state_dict_pre_hooks",
                     "_load_state_dict_post_hooks")


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
        for key in _HOOK_DICTS + _STATE_HOOK_DICTS + (
                "_forward_pre_hooks_with_kwargs", "_forward_hooks_with_kwargs",
                "_forward_hooks_always_called"):
            d[key] = OrderedDict()
        d["_state_dict_post_hook_ids"] = set()
        d["_is_full_backward_hook"] = None
        d["training"] = True

    _version = 1  # saved in state_dict()._metadata, as torch does (format changes bump it)

    # True on an instance while it has hooks, on the class while global hooks exist: __call__'s
    # one test for the slow path (kept up to date by registration and RemovableHandle.remove)
    _hooked = False

    def __setstate__(self, state):
        self.__dict__.update(state)
        for key in _HOOK_DICTS + _STATE_HOOK_DICTS + (
                "_forward_pre_hooks_with_kwargs", "_forward_hooks_with_kwargs",
                "_forward_hooks_always_called"):
            self.__dict__.setdefault(key, OrderedDict())
        self.__dict__.setdefault("_state_dict_post_hook_ids", set())
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
            self._forget_others(name, "_parameters")  # a re-assigned one keeps its place
            self._non_persistent_buffers.discard(name)
            params[name] = value
        elif isinstance(value, Module):
            params, buffers, modules = self._registries(name)
            self._forget_others(name, "_modules")
            self._non_persistent_buffers.discard(name)
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
            elif isinstance(value, Buffer):  # nn.Buffer(t, persistent=...) registers itself
                self._registries(name)
                self.register_buffer(name, value, persistent=value.persistent)
            elif buffers is not None and name in buffers:
                if value is not None and not isinstance(value, Tensor):
                    raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r} "
                                    f"of {type(self).__name__}; expected a Tensor, nn.Buffer or "
                                    f"None")
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
        keys = set(super().__dir__()) | set(d.get("_parameters", ())) | \
            set(d.get("_buffers", ())) | set(d.get("_modules", ()))
        return sorted(k for k in keys if not k[0].isdigit())  # only names valid as attributes

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
        if _tracing.tracer is not None:  # autodiff.compile guards train/eval, refuses hooks
            _tracing.tracer.enter_module(self)
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
        """(dotted name, module) for this module and every descendant, depth first; `memo` is
        the set of modules already seen (each is yielded once unless remove_duplicate=False)."""
        todo = [(prefix, self)]
        seen = set() if memo is None else memo
        while todo:
            name, m = todo.pop()
            if m in seen:  # (a Module hashes by identity)
                continue
            if remove_duplicate:
                seen.add(m)
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
                if v is None or id(v) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield mod_name + ("." if mod_name else "") + k, v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) pairs in registration order; shared ones once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, buffer) pairs in registration order; shared ones once."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """The module at a dotted path such as 'blocks.0' ('' is this module)."""
        m = self
        if target == "":
            return m
        for seg in target.split("."):
            if not hasattr(m, seg):
                raise AttributeError(f"{m._get_name()} has no attribute `{seg}` (looking up "
                                     f"submodule {target!r})")
            child = getattr(m, seg)
            if not isinstance(child, Module):
                raise AttributeError(f"`{seg}` is not an nn.Module (looking up submodule "
                                     f"{target!r})")
            m = child
        return m

    def set_submodule(self, target, module, strict=False):
        """Puts `module` at the dotted path `target` (its parent must exist); with strict=True
        the path must already name a submodule."""
        if target == "":
            raise ValueError("set_submodule: cannot set the submodule without a target name")
        if not isinstance(module, Module):
            raise ValueError(f"set_submodule: `module` is not an nn.Module, found "
                             f"{type(module).__name__}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}` (strict=True "
                                 f"replaces existing submodules only)")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target):
        """The parameter at a dotted path such as 'blocks.0.weight'."""
        mod_path, _, name = target.rpartition(".")
        m = self.get_submodule(mod_path)
        if not hasattr(m, name):
            raise AttributeError(f"{m._get_name()} has no attribute `{name}`")
        p = getattr(m, name)
        if not isinstance(p, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return p

    def get_buffer(self, target):
        """The buffer at a dotted path such as 'bn.running_mean'."""
        mod_path, _, name = target.rpartition(".")
        m = self.get_submodule(mod_path)
        if not hasattr(m, name):
            raise AttributeError(f"{m._get_name()} has no attribute `{name}`")
        if name not in m._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(m, name)

    # --- modes and bulk updates ------------------------------------------------------------
    def train(self, mode=True):
        """Sets training mode (Dropout active, BatchNorm on batch statistics) recursively."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode): training mode is expected to be a bool, got "
                             f"{mode!r}")
        self.__dict__["training"] = mode
        for m in self.children():
            m.train(mode)  # (through train, so that a subclass's override runs, as in torch)
        return self

    def eval(self):
        """train(False): Dropout is the identity, BatchNorm uses its running statistics."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Sets requires_grad on every parameter (False freezes them); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clears every parameter's .grad: to None, or with set_to_none=False zeroed in place
        (a grad that is part of a graph is detached first)."""
        for p in self.parameters():
            g = p.grad
            if g is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g.requires_grad_(False)
                with ad.no_grad():
                    g.zero_()

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
        """to(dtype), to(tensor) (its dtype), to('cpu'), to('cpu', dtype): casts floating
        parameters and buffers in place."""
        dtype = kwargs.get("dtype")
        device = kwargs.get("device")
        if device is not None and str(device).split(":")[0] != "cpu":
            raise RuntimeError(f"Module.to: autodiff runs on the CPU only, got device "
                               f"{device!r}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
                continue
            if (isinstance(a, str) and a.split(":")[0] == "cpu") or str(a) == "cpu":
                continue
            try:
                dtype = np.dtype(a)
            except TypeError:
                raise TypeError(f"Module.to: expected a float dtype, a tensor or 'cpu', got "
                                f"{a!r} (autodiff runs on the CPU only)") from None
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired "
                            f"dtype={dtype}")
        return self._apply_arrays(lambda a: a.astype(dtype) if a.dtype.kind == "f" else a)

    def type(self, dst_type):
        """Casts every parameter and buffer (integer ones included, as torch) to dst_type."""
        dtype = np.dtype(dst_type)
        return self._apply_arrays(lambda a: a.astype(dtype))

    def float(self):
        return self.to(ad.float32)

    def double(self):
        return self.to(ad.float64)

    def half(self):
        return self.to(ad.float16)

    def cpu(self):
        return self

    def share_memory(self):
        """Nothing to do: arrays live in one process's memory (torch moves them to shared
        memory for multiprocessing)."""
        return self

    # --- state ---------------------------------------------------------------------------
    def get_extra_state(self):
        """Override (with set_extra_state) to save non-tensor state under '_extra_state'."""
        raise RuntimeError(f"{self._get_name()}.get_extra_state() is called only when a module "
                           f"overrides it (then its result is saved in state_dict under "
                           f"'_extra_state'); define it in the subclass")

    def set_extra_state(self, state):
        """Override (with get_extra_state) to restore the state get_extra_state saved."""
        raise RuntimeError(f"{self._get_name()}.set_extra_state() is called only when a module "
                           f"overrides it, with what its get_extra_state() returned; define "
                           f"both in the subclass")

    def _has_extra_state(self, which="get_extra_state"):
        return getattr(type(self), which) is not getattr(Module, which)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        """Puts this module's own parameters, persistent buffers and extra state into
        destination (children are saved by state_dict)."""
        for k, p in self._parameters.items():
            if p is not None:
                destination[prefix + k] = p if keep_vars or is_lazy(p) else p.detach()
        for k, b in self._buffers.items():
            if b is not None and k not in self._non_persistent_buffers:
                destination[prefix + k] = b if keep_vars or is_lazy(b) else b.detach()
        if self._has_extra_state():
            destination[prefix + "_extra_state"] = self.get_extra_state()

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Ordered {dotted name: tensor} of parameters and persistent buffers, sharing memory
        with the module (detached unless keep_vars=True)."""
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = {"version": self._version}
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".",
                             keep_vars=keep_vars)
        local_metadata = getattr(destination, "_metadata", {}).get(prefix[:-1], {})
        for hook_id, hook in self._state_dict_hooks.items():
            result = hook(self, destination, prefix, local_metadata)
            if result is not None:
                if hook_id in self._state_dict_post_hook_ids:
                    raise RuntimeError("state_dict post-hook must return None (it edits the "
                                       "state_dict in place)")
                destination = result
        return destination

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """Copies this module's own entries of state_dict (keys prefix + name) into its
        parameters and persistent buffers, noting missing and unexpected keys and errors."""
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs)
        assign = local_metadata.get("assign_to_params_buffers", False)
        local = [(k, v, True) for k, v in self._parameters.items() if v is not None]
        local += [(k, v, False) for k, v in self._buffers.items()
                  if v is not None and k not in self._non_persistent_buffers]
        for name, target, is_param in local:
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            if is_lazy(target):
                error_msgs.append(f'"{key}" is an uninitialized lazy parameter or buffer: call '
                                  f'the module on a batch first')
                continue
            arr = value.data if isinstance(value, Tensor) else np.asarray(value)
            shape = tuple(target.shape)
            if arr.shape != shape:
                error_msgs.append(f'size mismatch for "{key}": copying a value of shape '
                                  f'{tuple(arr.shape)} from the state_dict, but the shape in '
                                  f'the current model is {shape}.')
                continue
            if assign:
                if is_param:
                    new = value if isinstance(value, Parameter) else \
                        Parameter(_as_tensor(value), requires_grad=target.requires_grad)
                    new.requires_grad_(target.requires_grad)
                else:
                    new = _as_tensor(value)
                setattr(self, name, new)
            else:
                with ad.no_grad():
                    target.copy_(arr)  # in place (optimizers keep the object); casts the dtype
        extra_key = prefix + "_extra_state"
        if self._has_extra_state("set_extra_state"):
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing_keys.append(extra_key)
        elif strict and extra_key in state_dict:
            unexpected_keys.append(extra_key)
        if strict:
            own = set(self._parameters) | set(self._buffers) | set(self._modules)
            for key in state_dict:
                if key.startswith(prefix) and key != extra_key:
                    first = key[len(prefix):].split(".", 1)[0]
                    if first not in own:
                        unexpected_keys.append(key)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copies values into the existing parameters and buffers (in place, so optimizers
        keep working; assign=True puts the given tensors in their place instead). Missing or
        unexpected keys raise when strict; shape mismatches always raise. Returns
        (missing_keys, unexpected_keys)."""
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"load_state_dict: expected state_dict to be dict-like (name -> "
                            f"tensor), got {type(state_dict).__name__}")
        missing, unexpected, errors = [], [], []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)  # pre-hooks may rename keys; the caller's stays
        if metadata is not None:
            state_dict._metadata = metadata
        todo = [(self, "")]
        while todo:
            m, prefix = todo.pop()
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = True
            m._load_from_state_dict(state_dict, prefix, local_metadata, True, missing,
                                    unexpected, errors)
            todo.extend(reversed([(c, prefix + k + ".") for k, c in m._modules.items()
                                  if c is not None]))
        result = _IncompatibleKeys(missing, unexpected)
        for m in self.modules():
            for hook in m._load_state_dict_post_hooks.values():
                if hook(m, result) is not None:
                    raise RuntimeError("load_state_dict post-hook must return None (it may edit "
                                       "missing_keys and unexpected_keys in place)")
        if strict:
            if result.unexpected_keys:
                errors.insert(0, "Unexpected key(s) in state_dict: " +
                              ", ".join(f'"{k}"' for k in result.unexpected_keys) + ".")
            if result.missing_keys:
                errors.insert(0, "Missing key(s) in state_dict: " +
                              ", ".join(f'"{k}"' for k in result.missing_keys) + ".")
        if errors:
            hint = (" Pass strict=False to load only the matching keys." if strict and
                    (result.missing_keys or result.unexpected_keys) else "")
            raise RuntimeError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t"
                               + "\n\t".join(errors) + hint)
        return result

    def _register_state(self, key, hook):
        handle = RemovableHandle(self.__dict__[key])
        self.__dict__[key][handle.id] = hook
        return handle

    def register_state_dict_pre_hook(self, hook):
        """hook(module, prefix, keep_vars) runs before state_dict() saves this module."""
        return self._register_state("_state_dict_pre_hooks", hook)

    def register_state_dict_post_hook(self, hook):
        """hook(module, state_dict, prefix, local_metadata) runs after state_dict() saved this
        module (and its children); it may edit state_dict in place and must return None."""
        handle = self._register_state("_state_dict_hooks", hook)
        self._state_dict_post_hook_ids.add(handle.id)
        return handle

    def _register_state_dict_hook(self, hook):
        """As register_state_dict_post_hook, but the hook may return a new state_dict."""
        return self._register_state("_state_dict_hooks", hook)

    def register_load_state_dict_pre_hook(self, hook):
        """hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs) runs before this module's entries are loaded; it may
        rename or edit entries of state_dict (a copy of the caller's)."""
        return self._register_load_pre(hook, with_module=True)

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        """As register_load_state_dict_pre_hook, without the module argument unless
        with_module=True."""
        return self._register_load_pre(hook, with_module)

    def _register_load_pre(self, hook, with_module):
        if with_module:
            module_ref = weakref.ref(self)

            def call(*args):
                return hook(module_ref(), *args)
            return self._register_state("_load_state_dict_pre_hooks", call)
        return self._register_state("_load_state_dict_pre_hooks", hook)

    def register_load_state_dict_post_hook(self, hook):
        """hook(module, incompatible_keys) runs after load_state_dict; it may edit
        incompatible_keys.missing_keys / unexpected_keys in place (strict then raises on what
        is left) and must return None."""
        return self._register_state("_load_state_dict_post_hooks", hook)

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


def _as_tensor(value):
    return value if isinstance(value, Tensor) else ad.tensor(np.asarray(value))


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
