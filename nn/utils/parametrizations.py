"""Ready-made parametrizations (torch.nn.utils.parametrizations): weight_norm and
spectral_norm, registered through nn.utils.parametrize."""
import autodiff as ad
from nn.module import Module
from nn.utils import parametrize

__all__ = ["weight_norm", "spectral_norm"]


def _norm_except_dim(v, dim):
    """||v||_2 over every dim but `dim`, kept as size-1 dims (dim=-1: the whole norm, 0-d)."""
    if dim == -1:
        return (v * v).sum().sqrt()
    dims = tuple(d for d in range(v.ndim) if d != dim % v.ndim)
    return (v * v).sum(dim=dims, keepdim=True).sqrt()


def _weight_norm(v, g, dim):
    """w = g v / ||v|| (norm over every dim but `dim`; the whole norm for dim=-1)"""
    return v * (g / _norm_except_dim(v, dim))


def _normalize(x, eps):
    """x / max(||x||_2, eps) for a 1-D x"""
    return x / (x * x).sum().sqrt().clamp_min(eps)


class _WeightNorm(Module):
    """weight = g v / ||v||, from original0 = g and original1 = v"""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


def _weight_norm_compat_hook(name):
    # a state_dict saved with the old nn.utils.weight_norm names weight_g and weight_v
    def hook(state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)
    return hook


def weight_norm(module, name="weight", dim=0):
    """Reparametrizes module.<name> as g v / ||v|| (norms per slice along `dim`, of the whole
    tensor for dim=None): g is parametrizations.<name>.original0, v original1. Returns module."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    module._register_load_state_dict_pre_hook(_weight_norm_compat_hook(name))
    return module


class _SpectralNorm(Module):
    """weight / sigma, sigma = u^T W v estimated by power iteration on W (weight as a matrix
    with `dim` first); u and v are buffers, updated in training mode on each access"""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"spectral_norm: Dimension out of range (expected to be in range "
                             f"of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"spectral_norm: Expected n_power_iterations to be positive, but "
                             f"got n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            with ad.no_grad():
                mat = self._reshape_weight_to_matrix(weight)
                h, w = mat.shape
                u = _normalize(ad.randn(h, dtype=weight.dtype), eps)
                v = _normalize(ad.randn(w, dtype=weight.dtype), eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            self._power_method(mat, 15)  # start from good estimates of the singular vectors

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, mat, n_power_iterations):
        # u and v are updated in place (no graph): the gradient treats them as constants
        with ad.no_grad():
            for _ in range(n_power_iterations):
                self._u.copy_(_normalize(ad.mv(mat, self._v), self.eps))
                self._v.copy_(_normalize(ad.mv(mat.T, self._u), self.eps))

    def forward(self, weight):
        if weight.ndim == 1:
            return _normalize(weight, self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()  # later in-place updates must not reach the graph
        sigma = ad.vdot(u, ad.mv(mat, v))
        return weight / sigma

    def right_inverse(self, value):
        return value


def _is_conv_transpose(module):
    from nn import conv  # (the ConvTranspose classes that exist)
    classes = tuple(c for c in (getattr(conv, f"ConvTranspose{k}d", None) for k in (1, 2, 3))
                    if c is not None)
    return bool(classes) and isinstance(module, classes)


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Reparametrizes module.<name> as W / sigma(W), sigma the largest singular value estimated
    by n_power_iterations of power iteration per access in training mode (u, v: buffers
    parametrizations.<name>.0._u / _v). dim: the output dim (default 0, 1 for ConvTranspose)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, ad.Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if _is_conv_transpose(module) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
