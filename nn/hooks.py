"""Module hooks' machinery: removable handles, and the full backward hooks built, as PyTorch's
BackwardHook, from an identity Function wrapped around a module's inputs and one around its
outputs. The output one runs the backward pre-hooks on grad_output; the input one, reached
once the gradient has crossed the module, runs the backward hooks on grad_input.
"""
import warnings
import weakref

import numpy as np

import autodiff as ad
from autodiff import Tensor


class RemovableHandle:
    """What register_*_hook returns: .remove() unregisters the hook (also on leaving a `with`
    block); removing twice, or after the module is gone, does nothing."""

    next_id = 0

    def __init__(self, hooks_dict, *, extra_dict=None, on_remove=None):
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        if isinstance(extra_dict, dict):
            extra_dict = [extra_dict]
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extra_dict or ())
        self._on_remove = on_remove  # refreshes the owner's "has hooks" flag

    def remove(self):
        hooks = self.hooks_dict_ref()
        if hooks is not None:
            hooks.pop(self.id, None)
        for ref in self.extra_dict_ref:
            extra = ref()
            if extra is not None:
                extra.pop(self.id, None)
        if self._on_remove is not None:
            self._on_remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class BackwardHookFunction(ad.Function):
    """out_i = x_i; dx_i = g_i, with the module's backward hooks run on the g_i in between."""

    @staticmethod
    def forward(ctx, hook, is_output, *tensors):
        ctx.hook, ctx.is_output = hook, is_output
        ctx.mark_non_differentiable(*[t for t in tensors if not t.requires_grad])
        if is_output:  # an output that got no gradient reaches the pre-hooks as None
            ctx.set_materialize_grads(False)
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        needs = ctx.needs_input_grad[2:]
        grads = tuple(g if n else None for g, n in zip(grads, needs))
        if ctx.is_output:
            grads = ctx.hook.on_grad_output(grads)
        else:
            grads = ctx.hook.on_grad_input(grads)
        return (None, None) + tuple(grads)


class BackwardHook:
    """One module call's backward hooks (PyTorch's torch.utils.hooks.BackwardHook): wraps the
    positional Tensor inputs and the Tensor outputs in BackwardHookFunction, and calls the
    user's hooks with gradients packed per argument (None for non-Tensor arguments)."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs = None
        self.n_outputs = -1
        self.output_tensors_index = None
        self.output_meta = ()
        self.n_inputs = -1
        self.input_tensors_index = None
        self.input_meta = ()

    @staticmethod
    def _pack_with_none(indices, values, size):
        res = [None] * size
        for idx, val in zip(indices, values):
            res[idx] = val
        return tuple(res)

    @staticmethod
    def _unpack_none(indices, values):
        return tuple(values[idx] for idx in indices)

    def _apply_on_tensors(self, args, is_output):
        """(args with their Tensors replaced by BackwardHookFunction's outputs, the Tensors'
        positions, their (shape, dtype, requires_grad)), or (args, None, ()) when nothing is
        recorded."""
        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in idx]
        if not (any(t.requires_grad for t in tensors) and ad.is_grad_enabled()):
            return args, None, ()
        new = BackwardHookFunction.apply(self, is_output, *tensors)
        out = list(args)
        for i, t in zip(idx, new):
            out[i] = t
        meta = tuple((t.shape, t.dtype, t.requires_grad) for t in tensors)
        return (tuple(out) if type(args) is tuple else type(args)(*out)), idx, meta

    def setup_input_hook(self, args):
        res, self.input_tensors_index, self.input_meta = self._apply_on_tensors(args, False)
        self.n_inputs = len(args)
        return res

    def setup_output_hook(self, result):
        is_tuple = isinstance(result, tuple)
        args = result if is_tuple else (result,)
        res, self.output_tensors_index, self.output_meta = self._apply_on_tensors(args, True)
        self.n_outputs = len(args)
        return res if is_tuple else res[0]

    # --- backward (called by BackwardHookFunction.backward) ---------------------------------
    def on_grad_output(self, grads):
        """Runs the pre-hooks on grad_output; with no input requiring grad, also the hooks."""
        self.grad_outputs = self._pack_with_none(self.output_tensors_index, grads,
                                                 self.n_outputs)
        if self.user_pre_hooks:
            expected = len(self.grad_outputs)
            for hook in self.user_pre_hooks:
                new = hook(self.module, self.grad_outputs)
                if new is None:
                    continue
                if len(new) != expected:
                    raise RuntimeError("Backward pre hook returned an invalid number of "
                                       f"grad_output, got {len(new)}, but expected {expected}")
                self.grad_outputs = new
        local = self.grad_outputs
        if self.input_tensors_index is None:
            warnings.warn("Full backward hook is firing when gradients are computed with respect "
                          "to module outputs since no inputs require gradients. See "
                          "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                          "#torch.nn.Module.register_full_backward_hook for more details.",
                          stacklevel=2)
            grad_inputs = self._pack_with_none([], [], self.n_inputs)
            for hook in self.user_hooks:
                res = hook(self.module, grad_inputs, self.grad_outputs)
                if res is not None and not (isinstance(res, tuple) and
                                            all(r is None for r in res)):
                    raise RuntimeError("Backward hook for Modules where no input requires "
                                       "gradient should always return None or None for all "
                                       "gradients.")
            self.grad_outputs = None
        out = _checked(self._unpack_none(self.output_tensors_index, local), self.output_meta)
        if self.input_tensors_index is not None and all(g is None for g in out):
            # PyTorch's engine still runs the module's backward (on undefined gradients, which
            # the input side turns into zeros); ours visits only nodes that a gradient reaches.
            out = tuple(None if g is None and not (rg and g0 is not None) else
                        ad.zeros(shape, dtype=dtype)
                        for g, g0, (shape, dtype, rg) in zip(out, grads, self.output_meta))
        return out

    def on_grad_input(self, grads):
        """Runs the hooks on grad_input (with the grad_output the pre-hooks left)."""
        if self.grad_outputs is None:
            # the gradient reached the inputs without crossing the outputs (double backward)
            return grads
        # (as PyTorch: zeros, not None, for tensor inputs that got or need no gradient)
        grads = [ad.zeros(shape, dtype=dtype) if g is None else g
                 for g, (shape, dtype, _) in zip(grads, self.input_meta)]
        res = self._pack_with_none(self.input_tensors_index, grads, self.n_inputs)
        for hook in self.user_hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError("Backward hook returned an invalid number of grad_input, "
                                   f"got {len(out)}, but expected {len(res)}")
            res = out
        self.grad_outputs = None
        return _checked(self._unpack_none(self.input_tensors_index, res), self.input_meta)


def _checked(grads, meta):
    """A hook's replacement gradients, checked as PyTorch checks them: Tensors (or None) with
    the shape and dtype of the values they replace (the engine drops those that no input
    needs)."""
    out = []
    for g, (shape, dtype, _) in zip(grads, meta):
        if g is not None:
            if not isinstance(g, Tensor):
                raise TypeError(f"expected Tensor, but hook returned '{type(g).__name__}'")
            if g.dtype != dtype:
                raise RuntimeError(f"hook 'hook' has changed the type of value (was "
                                   f"{np.dtype(dtype)} got {g.dtype})")
            if g.shape != shape:
                raise RuntimeError("hook 'hook' has changed the size of value")
        out.append(g)
    return tuple(out)

def _stamp(t):
    # what an in-place change alters: the graph node (a recorded in-place op rewrites it), the
    # array written (an unrecorded write to a recorded tensor copies it first), the version
    return t.grad_fn, t.data.__array_interface__["data"][0], getattr(t, "_version", None)


def watch_inputs(bw_hook, args):
    """[(output index, tensor, stamp)] for the inputs wrapped by BackwardHookFunction: a
    forward that modifies one in place must raise, as in PyTorch."""
    if bw_hook.input_tensors_index is None:
        return ()
    return [(k, args[i], _stamp(args[i])) for k, i in enumerate(bw_hook.input_tensors_index)
            if args[i].requires_grad]


def check_inputs_unmodified(watched):
    for k, t, stamp in watched:
        now = _stamp(t)
        if now != stamp:
            how = ("and is being modified inplace" if now[0] is not stamp[0] else
                   "and its base or another view of its base has been modified inplace")
            raise RuntimeError(
                f"Output {k} of BackwardHookFunction is a view {how}. This view was created "
                f"inside a custom Function (or because an input was returned as-is) and the "
                f"autograd logic to handle view+inplace would override the custom backward "
                f"associated with the custom Function, leading to incorrect gradients. This "
                f"behavior is forbidden. You can fix this by cloning the output of the custom "
                f"Function. (A module with backward hooks modified its input {k} in place: "
                f"clone it in forward first, x = x.clone().)")
