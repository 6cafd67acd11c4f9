"""The original weight normalization (torch.nn.utils.weight_norm): parameters <name>_g and
<name>_v, and module.<name> recomputed by a forward pre-hook. The parametrization in
nn.utils.parametrizations.weight_norm is its replacement."""
import warnings

import autodiff as ad
from nn.module import _refresh_hooked
from nn.parameter import Parameter
from nn.utils.parametrizations import _norm_except_dim, _weight_norm

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm"]


class WeightNorm:
    """The forward pre-hook: module.<name> = g v / ||v|| before each call."""

    def __init__(self, name, dim):
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module):
        return _weight_norm(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"),
                            self.dim)

    @staticmethod
    def apply(module, name, dim):
        warnings.warn("`nn.utils.weight_norm` is deprecated in favor of "
                      "`nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=3)
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter "
                                   f"{name}")
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        if not isinstance(weight, Parameter):
            raise ValueError(f"weight_norm: {name!r} of {type(module).__name__} is not a "
                             f"Parameter")
        del module._parameters[name]
        with ad.no_grad():
            g = _norm_except_dim(weight, fn.dim)
        module.register_parameter(name + "_g", Parameter(g.data))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        with ad.no_grad():
            weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """Replaces parameter <name> by <name>_g (magnitudes, norms along every dim but `dim`; one
    number for dim=None) and <name>_v (direction): w = g v / ||v||. Returns module."""
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name="weight"):
    """Undoes weight_norm: <name> is a plain Parameter again (its current value)."""
    return _remove_reparametrization(module, name, WeightNorm, "weight_norm")


def _remove_reparametrization(module, name, kind, what):
    """Removes the forward pre-hook of class `kind` that recomputes <name> (the old-style
    weight_norm and spectral_norm), restoring <name> as a plain Parameter"""
    for k, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, kind) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            _refresh_hooked(module)
            return module
    raise ValueError(f"{what} of '{name}' not found in {module}")
