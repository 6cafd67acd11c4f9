"""autodiff: reverse-mode automatic differentiation on numpy, with a PyTorch-like API.

    import autodiff as ad
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    x.grad  # tensor([2., 4.])
"""
from . import _malloc  # noqa: F401  (memory reuse between steps; see docs/performance.md)
from . import dtypes
from .dtypes import (dtype, float16, float32, float64, int8, int16, int32, int64, uint8, uint16,
                     uint32, uint64, bool_, get_default_dtype, set_default_dtype)
from .tensor import Tensor, Size, is_tensor
from .function import Function, Node, increment_version
from .grad_mode import (no_grad, enable_grad, set_grad_enabled, is_grad_enabled, name_scope,
                        inference_mode, is_inference_mode_enabled, set_anomaly_enabled,
                        is_anomaly_enabled, is_anomaly_check_nan_enabled)
from .engine import grad, backward, detect_anomaly, toposort
from .random import (Generator, manual_seed, default_generator, seed, initial_seed,
                     get_rng_state, set_rng_state)
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
from . import sequence  # recurrent and attention primitives (what nn.RNN / F.sdpa run on)
from .interop import *  # noqa: F401,F403  (finfo, iinfo, promote_types, DLPack, constants ...)
from ._format import set_printoptions
from .threads import set_num_threads, get_num_threads
from . import compiler  # autodiff.compile's tracer (torch.compiler's role)
from .compiler import compile  # noqa: A001  (torch.compile's name)
detach = Tensor.detach

# PyTorch spellings of dtypes
float = float32
double = float64
half = float16
long = int64
int = int32
short = int16
bool = bool_



from .tensor import device  # noqa: E402  (torch.device; only the CPU exists)


class _LegacyType(type):
    """isinstance(t, autodiff.FloatTensor) is True for float32 tensors, as in PyTorch."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.data.dtype == cls._legacy_dtype


def _legacy(name, dt):
    def __new__(cls, *args, requires_grad=False):
        return Tensor(*args, dtype=dt, requires_grad=requires_grad)
    return _LegacyType(name, (), {
        "__new__": __new__, "_legacy_dtype": dt, "__module__": __name__,
        "__doc__": f"PyTorch's legacy constructor: {name}(2, 3) (zeros) or {name}(data), "
                   f"dtype {dt.name}"})


FloatTensor = _legacy("FloatTensor", float32)
DoubleTensor = _legacy("DoubleTensor", float64)
HalfTensor = _legacy("HalfTensor", float16)
LongTensor = _legacy("LongTensor", int64)
IntTensor = _legacy("IntTensor", int32)
ShortTensor = _legacy("ShortTensor", int16)
CharTensor = _legacy("CharTensor", int8)
ByteTensor = _legacy("ByteTensor", uint8)
BoolTensor = _legacy("BoolTensor", bool_)


class cuda:
    """torch.cuda stand-in for ported code: no CUDA devices."""

    @staticmethod
    def is_available():
        return False

    @staticmethod
    def device_count():
        return 0


__version__ = "0.1.0"


def __getattr__(name):
    # autodiff.distributed (torch.distributed's names over MPI) loads on first use: most
    # programs never touch it, and `import autodiff` stays as fast as before
    if name == "distributed":
        import importlib
        return importlib.import_module(".distributed", __name__)
    raise AttributeError(f"module 'autodiff' has no attribute {name!r}")
