"""Tensor: an ndarray plus what autograd needs (grad, requires_grad, the node that made it).

The differentiable operations (`+`, `exp`, `sum`, ...) live in `autodiff.ops` and are attached
as methods by `autodiff/tensor_methods.py` (one table); this file holds only the tensor's own
state and the methods that are not graph operations.
"""
import numbers
import warnings
from sys import modules as _modules  # (autodiff.function: imported after this module)

import numpy as np

from . import dtypes
from .dtypes import _WRAPPED
from .grad_mode import _state


def _to_array(data, dtype=None):
    """An ndarray for `data`: Python floats become the default dtype, ndarrays keep theirs."""
    if isinstance(data, Tensor):
        arr = data.data
    elif isinstance(data, (np.ndarray, np.generic)):
        arr = data
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"can't convert an ndarray of dtype {arr.dtype} to a tensor; the "
                            f"supported dtypes are floating, integer and bool")
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
            data = [d.data if isinstance(d, Tensor) else d for d in data]
        arr = np.asarray(data)
        if dtype is None and arr.dtype == np.float64:
            arr = arr.astype(dtypes.get_default_dtype())
        elif dtype is None and arr.dtype.kind in "iu":
            arr = arr.astype(np.int64, copy=False)
        elif dtype is None and arr.dtype.kind not in "fb":
            raise TypeError(f"cannot make a tensor from {type(data).__name__} data of dtype "
                            f"{arr.dtype}; pass numbers, nested lists of numbers, or an ndarray")
    if dtype is not None:
        arr = arr.astype(dtypes.as_dtype(dtype), copy=False)
    return arr


def _check_requires_grad(dtype, requires_grad):
    if requires_grad and dtype.kind != "f":
        raise RuntimeError(f"only floating-point tensors can require gradients, got dtype "
                           f"{dtype}; convert first, e.g. t.float() or "
                           f"autodiff.tensor(data, dtype=autodiff.float32)")


class Tensor:
    """A multi-dimensional array that records the operations applied to it for autograd."""

    # Hot fields are slots; rarely set ones live in the (lazily made) __dict__ with class-level
    # defaults, so making a tensor costs three attribute stores.
    __slots__ = ("data", "_requires_grad", "grad_fn", "__dict__", "__weakref__")
    _grad = None
    _output_nr = 0  # which output of grad_fn this is (multi-output custom Functions)
    _hooks = None
    name = None  # an optional label (autodiff.viz shows it)
    # Views and in-place history (autodiff/views.py): set only on the tensors they concern
    _view = None  # (source, view op node, base, made under no_grad, one of several views)
    _views = None  # on a base: weak references to its live views
    _history = None  # [(creation number, stand-in)]: earlier places in the graph
    _storage_record = None  # (data, its storage's version record), kept by stamp_mutation
    _detached_in_place = False  # on a stand-in: its tensor was detach_()ed (views.rebind)
    # numpy on the left (np.ones(3) + t) defers to our reflected operators / ufunc table
    __array_priority__ = 1000

    def __init__(self, *args, dtype=None, requires_grad=False):
        """PyTorch's legacy constructor: Tensor(3, 4) (sizes: zeros of the default dtype),
        Tensor(data) (a copy, in the default dtype unless dtype is given), Tensor() (empty).
        autodiff.tensor(data) infers the dtype from the data instead."""
        if len(args) == 1 and not isinstance(args[0], numbers.Integral):
            if isinstance(args[0], numbers.Number):
                raise TypeError(f"Tensor(): data must be a sequence, got "
                                f"{type(args[0]).__name__}; for a 0-d tensor use "
                                f"autodiff.tensor({args[0]!r})")
            arr = _to_array(args[0], dtypes.get_default_dtype() if dtype is None else dtype)
            arr = np.array(arr, copy=True)
        else:
            if not all(isinstance(a, numbers.Integral) for a in args) or any(a < 0 for a in args):
                raise TypeError(f"Tensor(): expected data or non-negative int sizes, got {args!r}")
            dt = dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)
            arr = np.zeros(tuple(map(int, args)) if args else (0,), dt)
        _check_requires_grad(arr.dtype, requires_grad)
        self.data = arr
        self._requires_grad = bool(requires_grad)
        self.grad_fn = None

    @staticmethod
    def _from_data(data, dtype=None, requires_grad=False):
        """A new leaf holding a copy of data, its dtype inferred (autodiff.tensor)."""
        arr = np.array(_to_array(data, dtype), copy=True)
        _check_requires_grad(arr.dtype, requires_grad)
        t = _new(Tensor)
        t.data = arr
        t._requires_grad = bool(requires_grad)
        t.grad_fn = None
        return t

    # --- construction shortcuts used on the hot path (no checks, no copies) -----------------
    @staticmethod
    def _make(arr, node, output_nr=0):
        """A non-leaf tensor made by `node` (recorded in the graph)."""
        t = _new(Tensor)
        t.data = arr if type(arr) is np.ndarray else np.asarray(arr)
        t._requires_grad = True
        t.grad_fn = node
        if output_nr:
            t._output_nr = output_nr
        return t

    @staticmethod
    def _const(arr):
        """A tensor outside the graph (requires_grad=False)."""
        t = _new(Tensor)
        t.data = arr if type(arr) is np.ndarray else np.asarray(arr)
        t._requires_grad = False
        t.grad_fn = None
        return t

    # --- autograd state --------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if self.grad_fn is not None:
            raise RuntimeError(
                f"requires_grad can only be changed on leaf tensors; this tensor was made by "
                f"{self.grad_fn.name}. Use .detach() to get a leaf that shares its data.")
        _check_requires_grad(self.data.dtype, flag)
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad=True):
        """Sets requires_grad in place and returns self (leaves only)."""
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self):
        if self.grad_fn is not None and not self.retains_grad:
            warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad must be a Tensor or None, "
                                f"got {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has shape {value.shape}, but the tensor has "
                                   f"shape {self.shape}")
            if value.dtype != self.dtype:
                raise RuntimeError(f"assigned grad has dtype {value.dtype}, but the tensor has "
                                   f"dtype {self.dtype}")
        tracer = _modules["autodiff.function"]._tracer
        if tracer is not None:  # autodiff.compile records the assignment
            tracer.set_grad(self, value)
        self._grad = value

    @property
    def is_leaf(self):
        return self.grad_fn is None

    def detach(self):
        """A new leaf sharing this tensor's data, cut off from the graph."""
        return Tensor._const(self.data)

    def as_subclass(self, cls):
        """This tensor as an instance of `cls` (a Tensor subclass), sharing its data and its
        place in the graph (torch.Tensor.as_subclass); nn.Parameter is made this way."""
        if not (isinstance(cls, type) and issubclass(cls, Tensor)):
            raise TypeError(f"as_subclass: cls must be a subclass of Tensor, got {cls!r}")
        t = _new(cls)
        t.data, t._requires_grad, t.grad_fn = self.data, self._requires_grad, self.grad_fn
        if self._output_nr:
            t._output_nr = self._output_nr
        return t

    def retain_grad(self):
        """Keeps .grad for this non-leaf tensor after backward (leaves always keep it)."""
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError(
                    f"can't retain_grad on Tensor that has requires_grad=False: this tensor "
                    f"(shape {tuple(self.shape)}) gets no gradient. Set requires_grad=True on "
                    f"the leaf before the forward pass.")
            return
        self.grad_fn._tensor_hooks().retain(self)

    @property
    def retains_grad(self):
        node = self.grad_fn
        return bool(node is not None and node.hooks is not None
                    and self._output_nr in node.hooks.retained)

    def register_hook(self, hook):
        """hook(grad) -> Tensor or None runs when this tensor's gradient is computed; it may
        return a replacement of the same shape and dtype. Returns a handle whose .remove()
        unregisters it."""
        if not self._requires_grad:
            raise RuntimeError(
                f"cannot register a hook on a tensor that doesn't require gradient (shape "
                f"{tuple(self.shape)}): set requires_grad=True on the leaf before the forward "
                f"pass, or register the hook on a tensor computed from one.")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            hooks = self.grad_fn._tensor_hooks().fns.setdefault(self._output_nr, [])
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    _post_accumulate_hooks = None

    def register_post_accumulate_grad_hook(self, hook):
        """hook(tensor) runs after backward() has accumulated this leaf's .grad (an optimizer
        step per parameter, as in PyTorch). Returns a handle whose .remove() unregisters it."""
        if self.grad_fn is not None or not self._requires_grad:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors (or on "
                f"tensors that do not require grad): this one (shape {tuple(self.shape)}) "
                f"{'is computed by ' + self.grad_fn.name if self.grad_fn else 'needs no grad'}"
                "; register it on the leaf instead.")
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = []
        self._post_accumulate_hooks.append(hook)
        return _HookHandle(self._post_accumulate_hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulates d(self)/d(leaf) into the .grad of every leaf that requires grad (or, with
        `inputs`, of exactly those tensors, leaves or not)."""
        from .engine import backward  # (the engine builds on this module, not the reverse)
        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                         inputs=inputs)

    # --- storage, views and versions (PyTorch's names) ---------------------------------------
    @property
    def _version(self):
        """How many in-place changes this tensor's storage has had (shared with its views and
        detach()ed aliases)."""
        from .versions import version
        return version(self.data)

    @property
    def _base(self):
        """The tensor this one is a view of (None if it is not a view)."""
        info = self._view
        return None if info is None else info[2]

    def _is_view(self):
        return self._view is not None

    is_view = _is_view

    def data_ptr(self):
        """The address of the first element."""
        return self.data.__array_interface__["data"][0]

    const_data_ptr = data_ptr

    def __dlpack__(self, **kwargs):
        """DLPack export (torch.from_dlpack(t) and np.from_dlpack(t) share this memory)."""
        return self.data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    def untyped_storage(self):
        """The memory this tensor (and its views) live in."""
        from .versions import storage_of
        return UntypedStorage(storage_of(self.data))

    def storage_offset(self):
        """Where the first element is in the storage, in elements."""
        from .versions import storage_of
        start = storage_of(self.data).__array_interface__["data"][0]
        return (self.data_ptr() - start) // self.data.itemsize

    def stride(self, dim=None):
        """Steps between elements along each dim, in elements."""
        strides = [s // self.data.itemsize for s in self.data.strides]
        shape = self.data.shape
        for d in reversed(range(len(shape))):  # new size-1 dims: numpy says 0, PyTorch the
            if shape[d] == 1 and strides[d] == 0:  # step over the dims after them
                strides[d] = strides[d + 1] * shape[d + 1] if d + 1 < len(shape) else 1
        strides = tuple(strides)
        return strides if dim is None else strides[_axis(dim, self.data.ndim, "stride")]

    def is_contiguous(self, memory_format=None):
        return self.data.flags.c_contiguous

    # --- array facts -----------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        """autodiff.float32 ...: equal to the numpy dtype and usable wherever numpy takes one"""
        d = self.data.dtype
        return _WRAPPED.get(d) or dtypes.wrap(d)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def device(self):
        return _CPU

    is_cpu = True

    @property
    def itemsize(self):
        return self.data.itemsize

    @property
    def nbytes(self):
        return self.data.nbytes

    def element_size(self):
        """Bytes per element."""
        return self.data.itemsize

    def dim(self):
        return self.data.ndim

    ndimension = dim

    def type(self, dtype=None, non_blocking=False):
        """The type name ('autodiff.FloatTensor'), or, given a dtype, a type name or a legacy
        class (autodiff.DoubleTensor), this tensor cast to it (self if it has it already)."""
        if dtype is None:
            return "autodiff." + _TYPE_NAMES[self.data.dtype]
        dt = _type_dtype(dtype)
        return self if dt == self.data.dtype else self.to(dt)

    def size(self, dim=None):
        """The shape, or the length of one dimension."""
        if dim is None:
            return Size(self.data.shape)
        return self.data.shape[_axis(dim, self.data.ndim, "size")]

    def numel(self):
        return self.data.size

    nelement = numel

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __bool__(self):
        _value_read(self, "bool()")
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.data.size} elements (shape "
                f"{tuple(self.shape)}) is ambiguous; use .any() or .all(), or compare one element")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())

    __hash__ = object.__hash__  # __eq__ is elementwise, so identity is the only sound hash

    # --- conversions -----------------------------------------------------------------------
    def numpy(self, force=False):
        """The underlying ndarray (shared, not a copy); force=True also for a tensor that
        requires grad (its data, detached, as PyTorch's numpy(force=True))."""
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        _value_read(self, ".numpy()")
        return self.data

    def __array__(self, dtype=None, copy=None):
        _value_read(self, "numpy conversion")
        if dtype is not None:
            return self.data.astype(dtype, copy=bool(copy))
        return self.data.copy() if copy else self.data

    def item(self):
        if self.data.size != 1:
            raise RuntimeError(f"item() needs a tensor with one element, got shape {self.shape}")
        _value_read(self, ".item()")
        return self.data.item()

    def tolist(self):
        _value_read(self, ".tolist()")
        return self.data.tolist()

    def cpu(self):
        return self

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self.data, self._requires_grad))

    def __repr__(self):
        from ._format import tensor_repr
        _value_read(self, "printing")
        return tensor_repr(self)

    __str__ = __repr__


_new = object.__new__


def _value_read(t, how):
    """Python is reading t's values: under autodiff.compile's tracing that ends the trace
    (a graph break), since a replay could not see a different value."""
    tracer = _modules["autodiff.function"]._tracer
    if tracer is not None:
        tracer.value_read(t, how)

_NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad field "
    "to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you "
    "access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead.")

_TYPE_NAMES = {np.dtype(k): v for k, v in (
    (np.float32, "FloatTensor"), (np.float64, "DoubleTensor"), (np.float16, "HalfTensor"),
    (np.int64, "LongTensor"), (np.int32, "IntTensor"), (np.int16, "ShortTensor"),
    (np.int8, "CharTensor"), (np.uint8, "ByteTensor"), (np.bool_, "BoolTensor"))}
_TYPE_DTYPES = {v: k for k, v in _TYPE_NAMES.items()}


def _type_dtype(spec):
    """The dtype of a .type() argument: a dtype, 'autodiff.FloatTensor' ('torch.' too) or a
    legacy class."""
    spec = getattr(spec, "_legacy_dtype", spec)
    if isinstance(spec, str) and spec.endswith("Tensor"):
        prefix, _, name = spec.rpartition(".")
        if prefix in ("", "autodiff", "torch") and name in _TYPE_DTYPES:
            return _TYPE_DTYPES[name]
        raise ValueError(f"invalid type: {spec!r} (e.g. 'autodiff.FloatTensor' or "
                         f"autodiff.float64)")
    return dtypes.as_dtype(spec)


class device:
    """PyTorch's torch.device: autodiff has only the CPU (device('cuda') raises)."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        kind, _, number = str(type).partition(":")
        if kind != "cpu":
            raise RuntimeError(f"device {str(type)!r} is not available: autodiff runs on the "
                               f"CPU only (use 'cpu'); autodiff.cuda.is_available() is False")
        if number:
            index = int(number)
        self.type, self.index = kind, index

    def __eq__(self, other):  # (also equal to its string, 'cpu', unlike torch's)
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, ValueError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"


_CPU = device("cpu")


class UntypedStorage:
    """The memory behind a tensor (t.untyped_storage()), as far as ported code asks about it."""

    __slots__ = ("_array",)

    def __init__(self, array):
        self._array = array

    def data_ptr(self):
        return self._array.__array_interface__["data"][0]

    def nbytes(self):
        return self._array.nbytes

    def size(self):
        return self._array.nbytes

    __len__ = size

    def __repr__(self):
        return f"UntypedStorage(nbytes={self.nbytes()}, data_ptr={self.data_ptr():#x})"


class Size(tuple):
    """A tensor's shape as PyTorch's torch.Size: a tuple with numel()."""

    __slots__ = ()

    def numel(self):
        n = 1
        for d in self:
            n *= d
        return n

    def __repr__(self):
        return f"autodiff.Size({list(self)})"

    def __getitem__(self, index):
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out


def _rebuild(data, requires_grad):
    return Tensor._from_data(data, requires_grad=requires_grad)


class _HookHandle:
    """Returned by register_hook; .remove() unregisters the hook."""

    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _axis(dim, ndim, op):
    """Normalises a possibly negative dimension index, with an error naming the op."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dimension {dim} is out of range for a tensor with {ndim} "
                         f"dimension(s) (valid: {-n} to {n - 1})")
    return dim % n


def is_tensor(x):
    return isinstance(x, Tensor)


# Hot-path views of the grad mode used by ops (kept here so ops import one module).
grad_state = _state
