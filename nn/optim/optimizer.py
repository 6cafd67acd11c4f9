"""Optimizer base: param_groups with per-group options, per-parameter state, state_dict.

Subclasses define `_validate(group)` (raise on bad hyperparameters) and `_update_group(group,
params, grads)`, which updates the parameters that have a .grad, and their state tensors, with
the public in-place Tensor methods (`p.sub_(lr * g)`, `m.mul_(b1).add_(...)`), as torch.optim
does; each such call stamps the tensor, so a backward through a graph recorded before the step
raises. `grads` are the gradients' arrays, already negated when the group has maximize=True;
temporaries are plain numpy on arrays, with the numbers as `scalars(dtype, ...)`. The base
class collects the gradients, runs the closure with grad enabled and the update under no_grad.
"""
import copy
import functools
import numbers
from collections import defaultdict

import numpy as np

import autodiff as ad
from autodiff.compiler import replayed


class _RequiredParameter:
    """Marks a hyperparameter with no default (`lr` of an optimizer that must be told it)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


@functools.lru_cache(maxsize=256)
def scalars(dtype, *values):
    """The values as read-only 0-d arrays of dtype, for the arithmetic of a step. numpy rounds
    them as it rounds Python floats combined with arrays of that dtype, but combines them faster
    (by 0.4 us an operation: much of a small parameter's update). Cached: hyperparameters rarely
    change between steps."""
    out = tuple(np.array(v, dtype) for v in values)
    for a in out:
        a.flags.writeable = False
    return out


_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def check_range(name, value, low=0.0, high=None, opt="Optimizer", high_open=True, label=None):
    """Raise ValueError naming the optimizer and hyperparameter unless low <= value (< high);
    the message starts as PyTorch's ("Invalid learning rate: -0.1") and then gives the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{opt}: {name} must be a real number, got {value!r}")
    if value != value or value < low or \
            (high is not None and (value >= high if high_open else value > high)):
        bound = f"in [{low}, {high}{')' if high_open else ']'}" if high is not None \
            else f">= {low}"
        label = label or _LABELS.get(name, f"{name} value")
        raise ValueError(f"{opt}: Invalid {label}: {value!r} ({name} must be {bound})")


def check_betas(group, opt):
    """betas must be a pair with each beta in [0, 1) (PyTorch's check and message)."""
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{opt}: betas must be a pair (beta1, beta2), got {betas!r}")
    group["betas"] = tuple(betas)
    for i in (0, 1):
        check_range(f"betas[{i}]", betas[i], high=1.0, opt=opt,
                    label=f"beta parameter at index {i}")


def lerp(start, end, weight):
    """start + weight*(end - start), rounded as torch's lerp (from the nearer end)."""
    if weight < 0.5:
        return start + np.asarray(weight, start.dtype) * (end - start)
    return end - (end - start) * np.asarray(1 - weight, start.dtype)


def scalar_dtype():
    """The dtype of 0-d state such as `step`: float64 if that is the default dtype, else
    float32 (as torch.optim's _get_scalar_dtype)."""
    return np.float64 if np.dtype(ad.get_default_dtype()) == np.float64 else np.float32


def new_scalar(value=0.0):
    """A 0-d state tensor (step, mu_product, eta, mu) of scalar_dtype()."""
    return ad.from_numpy(np.array(value, scalar_dtype()))


def bump_step(state):
    """step += 1 in place, returning the new count as a Python float (torch's _get_value)."""
    arr = state["step"].data
    t = arr.item() + 1  # item/setitem on the 0-d array: 20x faster than arr += 1
    arr[()] = t
    return t


class Optimizer:
    """Base class: Optimizer(params, defaults); params = iterable of Tensors or of dicts."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)  # keyed by the parameter Tensor (hash = identity)
        self.param_groups = []
        if isinstance(params, ad.Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of "
                            f"dicts, got a single Tensor of shape {tuple(params.shape)}; wrap it "
                            f"in a list: [param]")
        if isinstance(params, dict):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of "
                            f"dicts (param groups), got one dict; wrap it in a list: [group]")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list; pass "
                             f"model.parameters() or a list of tensors that require grad")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"

    # --- groups --------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a dict {'params': tensors, option: value, ...}; missing options take defaults."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: expected a dict with a 'params' key, got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}.add_param_group: the group has no 'params' key "
                             f"(keys: {sorted(param_group)})")
        params = param_group["params"]
        if isinstance(params, ad.Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{name}: parameters must be given in an ordered collection (list, "
                            f"tuple, generator), not a set: the order defines state_dict indices")
        params = list(params)
        index = len(self.param_groups)
        names = [p[0] for p in params if isinstance(p, tuple)]
        if names:  # model.named_parameters(): (name, tensor) pairs, as torch 2.x accepts
            if len(names) != len(params):
                raise ValueError(f"{name}: all optimizer params should be with/without names; "
                                 f"param_groups[{index}] mixes (name, tensor) pairs with bare "
                                 f"tensors")
            params = [p[1] for p in params]
        for j, other in enumerate(self.param_groups):
            if ("param_names" in other) != bool(names):
                raise ValueError(f"{name}: all optimizer param groups should be with/without "
                                 f"names: param_groups[{j}] and param_groups[{index}] differ; "
                                 f"pass named_parameters() everywhere or parameters() everywhere")
        seen = set()
        for i, p in enumerate(params):
            if not isinstance(p, ad.Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, but param_groups[{index}]"
                                f"['params'][{i}] is a {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (param_groups"
                                 f"[{index}]['params'][{i}] was made by {p.grad_fn.name}); "
                                 f"optimize the leaf it was computed from, or .detach()"
                                 f".requires_grad_() it")
            if p.dtype.kind != "f":
                raise TypeError(f"{name}: param_groups[{index}]['params'][{i}] has dtype "
                                f"{p.dtype}; only floating-point tensors can be optimized")
            if p in seen:
                raise ValueError(f"{name}: param_groups[{index}]['params'][{i}] (shape "
                                 f"{tuple(p.shape)}) appears twice in the group; pass each "
                                 f"parameter once")
            seen.add(p)
        for j, other in enumerate(self.param_groups):
            shared = [p for p in other["params"] if p in seen]
            if shared:
                raise ValueError(f"{name}: some parameters appear in more than one parameter "
                                 f"group (groups {j} and {index}, e.g. one of shape "
                                 f"{tuple(shared[0].shape)}); each parameter belongs to one group")
        group = dict(param_group)
        group["params"] = params
        if names:
            group["param_names"] = names
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{name}: parameter group {index} didn't specify a value of "
                                 f"required optimization parameter {key!r}")
            group.setdefault(key, default)
        self._validate(group)
        _check_flags(group, name)
        self.param_groups.append(group)

    def _validate(self, group):
        """Raise ValueError for a bad hyperparameter in `group` (subclasses override)."""

    # --- the step ------------------------------------------------------------------------
    @replayed
    def zero_grad(self, set_to_none=True):
        """Reset every parameter's .grad: to None (default) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif g.grad_fn is not None or g.requires_grad:
                    p.grad = ad.zeros_like(p)  # a graph-linked grad is replaced, not mutated
                else:
                    g.zero_()

    @replayed
    def step(self, closure=None):
        """One update of every parameter that has a .grad; closure() re-evaluates the loss."""
        loss = None
        if closure is not None:
            with ad.enable_grad():
                loss = closure()
        with ad.no_grad():
            for group in self.param_groups:
                maximize = group.get("maximize", False)
                params, grads = [], []
                for p in group["params"]:
                    g = p.grad
                    if g is not None:
                        params.append(p)
                        grads.append(-g.data if maximize else g.data)
                if params:
                    self._update_group(group, params, grads)
        return loss

    def _update_group(self, group, params, grads):
        """Update each p in params in place from its gradient array g (zip(params, grads))."""
        raise NotImplementedError(f"{type(self).__name__} must define "
                                  f"_update_group(group, params, grads)")

    # --- state_dict ----------------------------------------------------------------------
    def state_dict(self):
        """{'state': {index: {name: Tensor|number}}, 'param_groups': [{..., 'params': [index]}]}.

        Parameters are numbered in group order, as in PyTorch; buffers are copied, so the dict
        is a snapshot that later steps do not change."""
        index_of, start = {}, 0
        groups = []
        for group in self.param_groups:
            ids = list(range(start, start + len(group["params"])))
            index_of.update(zip(map(id, group["params"]), ids))
            start += len(ids)
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index_of[id(p)]] = {k: _snapshot(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and buffers saved by state_dict() (same group sizes, same order)."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            got = sorted(map(str, state_dict)) if isinstance(state_dict, dict) \
                else type(state_dict).__name__
            raise ValueError(f"{name}.load_state_dict: expected a dict with keys 'state' and "
                             f"'param_groups' (from Optimizer.state_dict()), got {got}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter group(s) but this optimizer has "
                             f"{len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has "
                                 f"{len(saved['params'])} parameters in the state dict but "
                                 f"{len(group['params'])} in this optimizer")
        param_of = {}
        for saved, group in zip(saved_groups, self.param_groups):
            param_of.update(zip(saved["params"], group["params"]))
        new_state = defaultdict(dict)
        for key, buffers in state_dict["state"].items():
            if key not in param_of:
                raise ValueError(f"{name}.load_state_dict: state for parameter index {key!r}, "
                                 f"but the groups only name indices {sorted(param_of)}")
            p = param_of[key]
            new_state[p] = {k: self._restore_entry(v, p, k) for k, v in buffers.items()}
        for saved, group in zip(saved_groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = copy.deepcopy(v)
        self.state = new_state

    def _restore_entry(self, value, p, key):
        """One loaded state entry for parameter p (see _restore)."""
        return _restore(value, p, key, type(self).__name__)


def _check_flags(group, name):
    """foreach, fused and capturable are accepted and change nothing here (one loop over the
    parameters, on the CPU, computes what torch's single-tensor path computes);
    differentiable=True would need the update recorded in the graph, which we do not do."""
    if group.get("differentiable"):
        raise RuntimeError(f"{name}: differentiable=True (recording the optimizer step in the "
                           f"autograd graph) is not supported; the step runs under no_grad. "
                           f"Write the update with autodiff ops yourself to differentiate it")
    if group.get("fused") and group.get("foreach"):
        raise RuntimeError(f"{name}: `fused` and `foreach` cannot be `True` together; pick one "
                           f"(both are accepted and have no effect here)")


def _snapshot(value):
    """A copy of a state entry: Tensors/arrays are copied (in lists too), numbers kept."""
    if isinstance(value, ad.Tensor):
        return ad.from_numpy(value.data.copy())
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_snapshot(v) for v in value]
    return copy.deepcopy(value)


def _restore(value, p, key, name):
    """A state entry for parameter p: buffers must have p's shape; float ones take p's dtype,
    except `step`, which keeps its own (torch's policy); a numeric step becomes a tensor."""
    if key == "step":
        arr = value.data if isinstance(value, ad.Tensor) else np.asarray(value)
        if arr.dtype.kind != "f":
            arr = arr.astype(scalar_dtype())
        return ad.from_numpy(np.array(arr, copy=True))
    if isinstance(value, (ad.Tensor, np.ndarray)):
        arr = value.data if isinstance(value, ad.Tensor) else value
        if arr.ndim and arr.shape != p.shape:
            raise ValueError(f"{name}.load_state_dict: state {key!r} has shape {arr.shape} but "
                             f"its parameter has shape {tuple(p.shape)}; the state dict belongs "
                             f"to a different model")
        if arr.dtype.kind == "f":
            arr = arr.astype(p.dtype)
        return ad.tensor(np.array(arr, copy=True))
    return copy.deepcopy(value)
