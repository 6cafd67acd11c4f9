"""Attaches the ops to Tensor as methods and Python operators (one list, in one place).

Attached at import time, they are invisible in autodiff/tensor.py; autodiff/tensor.pyi, the
stub that readers, IDEs and type checkers see, lists them all with their signatures, docstrings
and implementing functions. It is generated from the live class: after changing this table,
autodiff/inplace.py, tensor.py or an op's signature, run `python scripts/gen_tensor_stub.py`
(tests/test_tensor_stub.py fails until the stub matches).
"""
import numpy as np

from . import ops
from . import creation as ops_creation
from .function import stamp_mutation
from .ops.reduce import _numpy_axis
from .ops.elementwise import add, cast, div, logical_not, mul, sub, where
from .ops.linalg import matmul
from .inplace import METHODS as inplace_methods
from .tensor import Tensor, device


def _swap(fn):
    def reflected(self, other):
        return fn(other, self)
    return reflected


def _to(self, *args, **kwargs):
    """to(dtype) casts (differentiably between floats); a device such as 'cpu' is accepted and
    ignored, a tensor argument means its dtype"""
    dtype = kwargs.get("dtype")
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, (str, device)) and str(a).split(":")[0] == "cpu":
            continue
        elif a is not None:
            try:
                dtype = np.dtype(a)
            except TypeError:
                raise TypeError(f"to(): expected a dtype or 'cpu', got {a!r} (autodiff runs on "
                                f"the CPU only)") from None
    return self if dtype is None else cast(self, dtype)


# --- numpy interop: np.exp(t), np.ones(3) + t -> Tensors in the graph ---------------------------

_UFUNCS = {
    np.add: ops.add, np.subtract: ops.sub, np.multiply: ops.mul, np.true_divide: ops.div,
    np.power: ops.pow, np.matmul: matmul, np.negative: ops.neg, np.exp: ops.exp,
    np.log: ops.log, np.log1p: ops.log1p, np.sqrt: ops.sqrt, np.sin: ops.sin, np.cos: ops.cos,
    np.tanh: ops.tanh, np.abs: ops.abs, np.absolute: ops.abs, np.maximum: ops.maximum,
    np.minimum: ops.minimum, np.less: ops.lt, np.less_equal: ops.le, np.greater: ops.gt,
    np.greater_equal: ops.ge, np.equal: ops.eq, np.not_equal: ops.ne,
}


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    if "out" in kwargs:  # e.g. p.data -= lr * p.grad: plain numpy on the arrays, in place
        raw = [t.data if isinstance(t, Tensor) else t for t in inputs]
        out = tuple(t.data if isinstance(t, Tensor) else t for t in kwargs["out"])
        result = getattr(ufunc, method)(*raw, **dict(kwargs, out=out))
        for t in kwargs["out"]:
            if isinstance(t, Tensor):
                stamp_mutation(t)  # (written in place through a tensor: its version counts)
        return result
    if method == "reduce":  # np.add.reduce(t, axis): the recorded reduction (sum, amax, amin)
        fn = _REDUCTIONS.get(ufunc)
        if fn is None or len(inputs) != 1 or set(kwargs) - {"axis", "keepdims"}:
            return NotImplemented
        axis = kwargs.get("axis", 0)
        return fn(inputs[0], axis, bool(kwargs.get("keepdims", False)))
    fn = _UFUNCS.get(ufunc)
    if fn is None or method != "__call__" or kwargs:
        return NotImplemented
    return fn(*inputs)


_REDUCTIONS = {np.add: ops.sum, np.maximum: ops.amax, np.minimum: ops.amin}


def _where_method(self, condition, other):
    return where(condition, self, other)


@_numpy_axis
def _max_method(self, dim=None, keepdim=False):
    if isinstance(dim, Tensor):  # x.max(y): elementwise, as in PyTorch
        return ops.maximum(self, dim)
    return ops.max(self, dim, keepdim)


@_numpy_axis
def _min_method(self, dim=None, keepdim=False):
    if isinstance(dim, Tensor):
        return ops.minimum(self, dim)
    return ops.min(self, dim, keepdim)


def _format(self, spec):
    """f'{loss:.4f}' works for one-element tensors, as in PyTorch"""
    if spec and self.data.size == 1:
        return format(self.item(), spec)
    return format(repr(self), spec)


def _hardshrink(self, lambd=0.5):
    """x where |x| > lambd, else 0 (PyTorch's Tensor.hardshrink)"""
    return where(ops.abs(self) > lambd, self, 0.0)


def _prelu(self, weight):
    """max(0, x) + weight * min(0, x), one weight per channel (dim 1) or one for all"""
    w = weight
    if weight.ndim == 1 and weight.shape[0] != 1 and self.ndim >= 2:
        if weight.shape[0] != self.shape[1]:
            raise RuntimeError(f"prelu: weight has {weight.shape[0]} values but the input "
                               f"(shape {tuple(self.shape)}) has {self.shape[1]} channels in "
                               f"dim 1; give one weight per channel or a single one")
        w = ops.reshape(weight, (-1,) + (1,) * (self.ndim - 2))
    return where(self > 0, self, mul(w, self))


def _contiguous(self, memory_format=None):
    """self if its memory is in row-major order, else a recorded row-major copy"""
    return self if self.data.flags.c_contiguous else ops.clone(self)


def _install():
    T = Tensor
    methods = {
        # arithmetic
        "add": add, "sub": sub, "mul": mul, "div": div, "neg": ops.neg, "pow": ops.pow,
        "matmul": matmul, "exp": ops.exp, "log": ops.log, "log1p": ops.log1p, "sqrt": ops.sqrt,
        "sin": ops.sin, "cos": ops.cos, "tanh": ops.tanh, "sigmoid": ops.sigmoid, "erf": ops.erf,
        "relu": ops.relu, "abs": ops.abs, "clamp": ops.clamp, "clip": ops.clamp,
        "maximum": ops.maximum, "minimum": ops.minimum, "sign": ops.sign,
        "floor": ops.floor, "ceil": ops.ceil, "round": ops.round, "isnan": ops.isnan,
        "isfinite": ops.isfinite,
        # comparisons
        "lt": ops.lt, "le": ops.le, "gt": ops.gt, "ge": ops.ge, "eq": ops.eq, "ne": ops.ne,
        "logical_not": logical_not, "logical_and": ops.logical_and, "logical_or": ops.logical_or,
        # reductions
        "sum": ops.sum, "mean": ops.mean, "var": ops.var, "std": ops.std, "amax": ops.amax,
        "amin": ops.amin, "max": _max_method, "min": _min_method, "argmax": ops.argmax,
        "argmin": ops.argmin, "logsumexp": ops.logsumexp, "prod": ops.prod, "norm": ops.norm,
        "softmax": ops.softmax, "log_softmax": ops.log_softmax, "all": ops.all, "any": ops.any,
        # shape
        "reshape": ops.reshape, "view": ops.view, "flatten": ops.flatten,
        "squeeze": ops.squeeze, "unsqueeze": ops.unsqueeze, "transpose": ops.transpose,
        "swapaxes": ops.swapaxes, "permute": ops.permute, "expand": ops.expand,
        "broadcast_to": ops.broadcast_to, "split": ops.split, "chunk": ops.chunk,
        "unbind": ops.unbind, "repeat": ops.repeat, "narrow": ops.narrow, "select": ops.select,
        "flip": ops.flip, "gather": ops.gather,
        "where": _where_method,
        # conversions
        "to": _to, "clone": ops.clone, "type_as": lambda self, other: cast(self, other.dtype),
        "float": lambda self: cast(self, np.float32), "double": lambda self: cast(self, np.float64),
        "half": lambda self: cast(self, np.float16), "long": lambda self: cast(self, np.int64),
        "int": lambda self: cast(self, np.int32), "bool": lambda self: cast(self, np.bool_),
        "short": lambda self: cast(self, np.int16), "char": lambda self: cast(self, np.int8),
        "byte": lambda self: cast(self, np.uint8),
        "hardshrink": _hardshrink, "prelu": _prelu,
        "expand_as": lambda self, other: ops.expand(self, *other.shape),
        "view_as": lambda self, other: ops.view(self, other.shape),
        "reshape_as": lambda self, other: ops.reshape(self, other.shape),
        # operators
        "__add__": add, "__radd__": _swap(add), "__sub__": sub, "__rsub__": _swap(sub),
        "__mul__": mul, "__rmul__": _swap(mul), "__truediv__": div, "__rtruediv__": _swap(div),
        "__pow__": ops.pow, "__rpow__": _swap(ops.pow), "__matmul__": matmul,
        "__rmatmul__": _swap(matmul), "__neg__": ops.neg, "__pos__": lambda self: self,
        "__abs__": ops.abs,
        "__lt__": ops.lt, "__le__": ops.le, "__gt__": ops.gt, "__ge__": ops.ge,
        "__eq__": ops.eq, "__ne__": ops.ne,
        # (// % << >> & | ^ ~ and their reflected and in-place forms: ops/binary.py METHODS)
        "__format__": _format, "contiguous": _contiguous,
        "mm": ops.mm, "bmm": ops.bmm, "dot": ops.dot, "outer": ops.outer, "square": ops.square,
        "tril": ops.tril, "triu": ops.triu, "cumsum": ops.cumsum, "isinf": ops.isinf,
        "rsqrt": ops.rsqrt, "sort": ops.sort, "topk": ops.topk,
        "allclose": ops.allclose,
        "new_zeros": lambda self, *size, dtype=None, **kw: ops_creation.zeros(
            *size, dtype=dtype or self.dtype, **kw),
        "new_ones": lambda self, *size, dtype=None, **kw: ops_creation.ones(
            *size, dtype=dtype or self.dtype, **kw),
        "new_full": lambda self, size, fill_value, dtype=None, **kw: ops_creation.full(
            size, fill_value, dtype=dtype or self.dtype, **kw),
        "new_tensor": lambda self, data, dtype=None, **kw: ops_creation.tensor(
            data, dtype=dtype or self.dtype, **kw),
        "__getitem__": ops.getitem, "__array_ufunc__": _array_ufunc,
    }
    methods.update(ops._FAMILY_METHODS)  # the wider surface: autodiff/ops/<family>.py METHODS
    methods.update(inplace_methods)
    for name, fn in methods.items():
        setattr(T, name, fn)
    T.T = property(lambda self: ops.permute(self, tuple(reversed(range(self.ndim)))))
    T.mT = property(ops.mT)


_install()
