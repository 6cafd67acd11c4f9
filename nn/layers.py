"""Layers: Linear, MLP, Identity, Flatten, Unflatten."""
import math

import autodiff as ad

from . import activations as A
from . import functional as F
from . import init
from .containers import Sequential
from .module import Module
from .parameter import Parameter
from .dropout import Dropout
from .normalization import BatchNorm1d

__all__ = [
    "Identity", "Linear", "MLP", "Flatten", "Unflatten",
]


class Identity(Module):
    """y = x (any arguments accepted and ignored, as PyTorch)"""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x W^T + b, W of shape (out_features, in_features); W and b ~ U(-1/sqrt(in),
    1/sqrt(in)) (PyTorch's kaiming_uniform with a = sqrt(5))"""

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"Linear: {name} must be a non-negative int, got {v!r}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(ad.empty(out_features, in_features, dtype=dtype))
        self.bias = Parameter(ad.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        params = self._parameters  # (one dict read; self.weight would go through __getattr__)
        return F.linear(input, params["weight"], params.get("bias"))

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Flatten(Module):
    """Merges dims start_dim..end_dim (default: all but the batch dim)"""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"



class Unflatten(Module):
    """Splits dim into unflattened_size (the inverse of Flatten)"""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        shape = tuple(input.shape)
        if not -len(shape) <= self.dim < len(shape):
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for input of shape "
                             f"{shape}")
        d = self.dim % len(shape)
        return input.reshape(shape[:d] + self.unflattened_size + shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

def _activation(spec):
    """A fresh activation module from a name ('relu', 'tanh', ...), a Module class or a
    factory function."""
    names = {"relu": A.ReLU, "tanh": A.Tanh, "sigmoid": A.Sigmoid, "gelu": A.GELU,
             "leaky_relu": A.LeakyReLU, "elu": A.ELU, "softplus": A.Softplus, "prelu": A.PReLU,
             "silu": A.SiLU, "identity": Identity, "linear": Identity}
    if isinstance(spec, str):
        if spec.lower() not in names:
            raise ValueError(f"MLP: unknown activation {spec!r}; choose one of {sorted(names)}, "
                             f"or pass a Module class or factory")
        return names[spec.lower()]()
    if isinstance(spec, Module):
        raise TypeError("MLP: pass the activation's class or name (e.g. nn.ReLU or 'relu'), not "
                        "an instance - each hidden layer needs its own")
    if callable(spec):
        m = spec()
        if not isinstance(m, Module):
            raise TypeError(f"MLP: activation factory returned {type(m).__name__}, not a Module")
        return m
    raise TypeError(f"MLP: activation must be a name, Module class or factory, got {spec!r}")


class MLP(Sequential):
    """Linear -> [BatchNorm1d] -> activation -> [Dropout] for each hidden size, then a final
    Linear to out_features (a Sequential: parameters are named '0.weight', ...)"""

    def __init__(self, in_features, hidden_sizes, out_features, activation="relu", dropout=0.0,
                 batchnorm=False):
        if isinstance(hidden_sizes, int):
            hidden_sizes = [hidden_sizes]
        layers, prev = [], in_features
        for h in hidden_sizes:
            layers.append(Linear(prev, h))
            if batchnorm:
                layers.append(BatchNorm1d(h))
            layers.append(_activation(activation))
            if dropout > 0:
                layers.append(Dropout(dropout))
            prev = h
        layers.append(Linear(prev, out_features))
        super().__init__(*layers)
