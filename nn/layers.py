"""Layers: Identity, Linear, Bilinear, MLP, Flatten, Unflatten."""
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
    "Identity", "Linear", "Bilinear", "MLP", "Flatten", "Unflatten",
]


def _check_device(device, who):
    """device=None or 'cpu' (autodiff runs on the CPU); anything else raises."""
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"{who}: device={device!r} is not available; autodiff runs on the CPU "
                           f"only (pass device='cpu' or leave it out)")


def _check_features(who, **sizes):
    for name, v in sizes.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{who}: {name} must be a non-negative int, got {v!r}")


class Identity(Module):
    """y = x (any arguments accepted and ignored, as PyTorch)"""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x W^T + b, W of shape (out_features, in_features); W and b ~ U(-1/sqrt(in),
    1/sqrt(in)) (PyTorch's kaiming_uniform with a = sqrt(5))"""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        _check_features("Linear", in_features=in_features, out_features=out_features)
        _check_device(device, "Linear")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(ad.empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(ad.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        # (dict reads: self.weight goes through __getattr__; a parametrized weight is a property)
        params = self._parameters
        return F.linear(input, params["weight"] if "weight" in params else self.weight,
                        params["bias"] if "bias" in params else self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """y_o = x1^T A_o x2 + b_o, A of shape (out_features, in1_features, in2_features); A and b
    ~ U(-1/sqrt(in1), 1/sqrt(in1))"""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        _check_features("Bilinear", in1_features=in1_features, in2_features=in2_features,
                        out_features=out_features)
        _check_device(device, "Bilinear")
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(ad.empty(out_features, in1_features, in2_features, dtype=dtype))
        if bias:
            self.bias = Parameter(ad.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.in1_features <= 0:
            raise ValueError(f"Bilinear: in1_features must be > 0, but got (in1_features="
                             f"{self.in1_features})")
        bound = 1.0 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


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
