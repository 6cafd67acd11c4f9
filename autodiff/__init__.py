"""autodiff: reverse-mode automatic differentiation on numpy, with a PyTorch-like API.

    import autodiff as ad
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    x.grad  # tensor([2., 4.])
"""
from . import _malloc  # noqa: F401  (memory reuse between steps; see docs/performance.md)
from . import dtypes
from .dtypes import (float16, float32, float64, int8, int16, int32, int64, uint8, bool_,
                     get_default_dtype, set_default_dtype)
from .tensor import Tensor, is_tensor
from .function import Function, Node
from .grad_mode import (no_grad, enable_grad, set_grad_enabled, is_grad_enabled, name_scope,
                        inference_mode)
from .engine import grad, backward, detect_anomaly, toposort
from .random import Generator, manual_seed, default_generator
from .creation import (tensor, as_tensor, from_numpy, zeros, ones, empty, full, eye, arange,
                       linspace, rand, randn, randint, randperm, zeros_like, ones_like, empty_like,
                       full_like, rand_like, randn_like)
from .ops import *  # noqa: F401,F403
from .ops import (sum, mean, var, std, amax, amin, max, min, argmax, argmin, logsumexp,  # noqa
                  softmax, log_softmax, softmax_cross_entropy, prod, norm, all, any, broadcast_to,
                  sum_to, reshape,
                  flatten, squeeze, unsqueeze, permute, transpose, swapaxes, expand, gather, cat,
                  stack, split, chunk, unbind, repeat, flip, pad, matmul, einsum, linear, index_add,
                  index_put, narrow, select)
from .ops import (mm, bmm, dot, outer, square, rsqrt, tril, triu, cumsum, sort, topk,  # noqa
                  isinf, allclose, clone)
from . import tensor_methods  # noqa: F401  (attaches the ops to Tensor as methods)
from . import functional
from . import linalg, special  # the torch.linalg and torch.special namespaces

# PyTorch spellings of dtypes
float = float32
double = float64
half = float16
long = int64
int = int32
bool = bool_



def device(spec="cpu"):
    """PyTorch's torch.device for ported code: only 'cpu' exists (returned as the string)."""
    if not str(spec).startswith("cpu"):
        raise ValueError(f"device {spec!r} is not available: autodiff runs on the CPU only")
    return "cpu"


class cuda:
    """torch.cuda stand-in for ported code: no CUDA devices."""

    @staticmethod
    def is_available():
        return False

    @staticmethod
    def device_count():
        return 0


__version__ = "0.1.0"
