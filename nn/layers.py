"""Layers: Linear, MLP, Identity, Flatten, Dropout, BatchNorm1d, LayerNorm, Embedding."""
import math

import autodiff as ad

from . import activations as A
from . import functional as F
from . import init
from .containers import Sequential
from .module import Module
from .parameter import Parameter


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

class Dropout(Module):
    """Inverted dropout: zeroes each element with probability p and scales the rest by
    1/(1 - p) in training (a new mask every call); the identity in eval. p is the DROP
    probability, as in PyTorch - the lecture convention's p is the KEEP probability."""

    def __init__(self, p=0.5, inplace=False, generator=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p is the probability of dropping an element and must be "
                             f"in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def forward(self, input):
        return F.dropout(input, self.p, self.training, generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}, inplace=False"


class BatchNorm1d(Module):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta per feature over (N,) or (N, L):
    training uses batch mean and biased variance and updates running_mean/running_var
    (unbiased) with `momentum` (None: cumulative average); eval uses the running stats"""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.has_bias = bool(affine and bias)
        if affine:
            self.weight = Parameter(ad.ones(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(ad.zeros(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", ad.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ad.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", ad.tensor(0, dtype=ad.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            with ad.no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        if input.ndim not in (2, 3) or input.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}): expected input of shape "
                             f"(N, {self.num_features}) or (N, {self.num_features}, L), got "
                             f"{tuple(input.shape)}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with ad.no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                momentum = 1.0 / int(self.num_batches_tracked.item())
        # running stats are None when not tracked; then eval also uses the batch statistics
        use_batch = self.training or not self.track_running_stats
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch, momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.has_bias}, "
                f"track_running_stats={self.track_running_stats}")


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta over the trailing normalized_shape
    dims (biased variance); the same in training and eval"""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ad.ones(*self.normalized_shape, dtype=dtype))
            self.bias = Parameter(ad.zeros(*self.normalized_shape, dtype=dtype)) if bias else None
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class Embedding(Module):
    """out = weight[ids]: a lookup table of num_embeddings rows of size embedding_dim, ~ N(0, 1)
    (the padding_idx row starts at zero and gets no gradient)"""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=None):
        super().__init__()
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for "
                             f"{num_embeddings} embeddings")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        self.weight = Parameter(ad.empty(num_embeddings, embedding_dim, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with ad.no_grad():
                self.weight[self.padding_idx] = 0.0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """An Embedding whose weight is the 2-D tensor embeddings (values kept as given, the
        padding_idx row included); freeze=True (default, as PyTorch) makes it untrainable"""
        embeddings = F._float_input(embeddings, "Embedding.from_pretrained", "embeddings")
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D "
                             f"(num_embeddings, embedding_dim), "
                             f"got shape {tuple(embeddings.shape)}")
        module = cls(*embeddings.shape, padding_idx=padding_idx, dtype=embeddings.dtype)
        module.weight = Parameter(embeddings.detach(), requires_grad=not freeze)
        return module

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


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
