"""The original spectral normalization (torch.nn.utils.spectral_norm): parameter <name>_orig,
buffers <name>_u and <name>_v, and module.<name> recomputed by a forward pre-hook. The
parametrization in nn.utils.parametrizations.spectral_norm is its replacement."""
import autodiff as ad
from nn.parameter import Parameter
from nn.utils.parametrizations import _is_conv_transpose, _normalize
from nn.utils.weight_norm import _remove_reparametrization

__all__ = ["SpectralNorm", "spectral_norm", "remove_spectral_norm"]


class SpectralNorm:
    """The forward pre-hook: module.<name> = W / sigma(W), power iteration in training mode."""

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError(f"spectral_norm: Expected n_power_iterations to be positive, but "
                             f"got n_power_iterations={n_power_iterations}")
        self.name, self.dim, self.eps = name, dim, eps
        self.n_power_iterations = n_power_iterations

    def reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with ad.no_grad():  # v first, then u (this version's order); in place, no graph
                for _ in range(self.n_power_iterations):
                    v.copy_(_normalize(ad.mv(mat.T, u), self.eps))
                    u.copy_(_normalize(ad.mv(mat, v), self.eps))
            u, v = u.clone(), v.clone()
        sigma = ad.dot(u, ad.mv(mat, v))
        return weight / sigma

    def remove(self, module):
        with ad.no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name,
                self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same "
                                   f"parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        with ad.no_grad():
            h, w = fn.reshape_weight_to_matrix(weight).shape
            u = _normalize(ad.randn(h, dtype=weight.dtype), fn.eps)
            v = _normalize(ad.randn(w, dtype=weight.dtype), fn.eps)
        delattr(module, name)
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Replaces parameter <name> by <name>_orig and the buffers <name>_u, <name>_v; before each
    call module.<name> = W / sigma(W). dim: the output dim (0, or 1 for ConvTranspose)."""
    if dim is None:
        dim = 1 if _is_conv_transpose(module) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undoes spectral_norm: <name> is a plain Parameter again (W / sigma with the current u, v)."""
    return _remove_reparametrization(module, name, SpectralNorm, "spectral_norm")
