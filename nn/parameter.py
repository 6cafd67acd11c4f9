"""Parameter: the Tensor subclass a Module registers as learnable (torch.nn.Parameter); Buffer,
a tensor that registers itself as a buffer when assigned to a Module; and the uninitialized
placeholders of lazy modules (UninitializedParameter, UninitializedBuffer)."""
import numpy as np

import autodiff as ad
from autodiff import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


class Parameter(Tensor):
    """A leaf Tensor that a Module registers as a learnable parameter (requires_grad=True).

    Parameter(t) shares t's memory, as torch.nn.Parameter(t) does; lists and arrays are copied."""

    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = ad.empty(0)
        elif not isinstance(data, Tensor):
            data = ad.tensor(data)
        if requires_grad and data.dtype.kind != "f":
            raise RuntimeError(f"Parameter: only floating-point data can require gradients, "
                               f"got dtype {data.dtype}; convert first (e.g. t.float()) or pass "
                               f"requires_grad=False")  # (PyTorch's class)
        return data.detach().as_subclass(cls).requires_grad_(requires_grad)

    def __init__(self, data=None, requires_grad=True):
        pass  # __new__ made it; Tensor.__init__ would rebuild it from the arguments

    def __reduce_ex__(self, protocol):
        return (Parameter, (self.data, self.requires_grad))  # rebuilt from a copy of the array

    def __deepcopy__(self, memo):
        p = Parameter(self.data, self.requires_grad)  # an array is copied (a Tensor is shared)
        if self.grad is not None:
            p.grad = ad.tensor(self.grad.data)
        memo[id(self)] = p
        return p

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__


class _BufferMeta(type):
    # nn.Buffer(t) returns a plain Tensor marked as a buffer (as torch does), so that
    # isinstance(x, Buffer) asks for the mark rather than the class
    def __instancecheck__(cls, instance):
        if cls is Buffer:
            return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """A tensor that a Module registers as a buffer when assigned as its attribute (in its
    state_dict unless persistent=False). Buffer(t) is t detached, sharing its memory."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = ad.empty(0)
        elif not isinstance(data, Tensor):
            data = ad.tensor(data)
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t


_UNINIT = ("Can't access the shape of an uninitialized parameter or buffer. This error usually "
           "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
           "initialized one. Call `forward` (e.g. with a dummy batch) to initialize the "
           "parameters before accessing their attributes.")


class _Uninitialized:
    """What UninitializedParameter and UninitializedBuffer share: no shape until materialize()."""

    __slots__ = ()
    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None):
        """Gives this tensor uninitialized memory of `shape` (dtype kept unless given) and
        turns it into a cls_to_become (Parameter or Tensor), the same object."""
        dtype = self.data.dtype if dtype is None else np.dtype(dtype)
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.data = np.empty(shape, dtype)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(_UNINIT)

    @property
    def ndim(self):
        raise RuntimeError(_UNINIT)

    def size(self, dim=None):
        raise RuntimeError(_UNINIT)

    def numel(self):
        raise RuntimeError(_UNINIT)

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call "
                           "`forward` to initialize the parameters before calling "
                           "`module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    __str__ = __repr__


class UninitializedParameter(_Uninitialized, Parameter):
    """A Parameter whose shape is not known yet (a lazy module's, until its first call);
    materialize(shape) turns it into a Parameter in place, so optimizers built before keep it."""

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        return ad.empty(0, dtype=dtype).as_subclass(cls).requires_grad_(requires_grad)

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass

    def __reduce_ex__(self, protocol):
        return (type(self), (self.requires_grad, None, self.data.dtype))

    def __deepcopy__(self, memo):
        p = type(self)(self.requires_grad, None, self.data.dtype)
        memo[id(self)] = p
        return p


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer whose shape is not known yet; materialize(shape) turns it into a Tensor."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        t = ad.empty(0, dtype=dtype).as_subclass(cls).requires_grad_(requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        pass

    def __reduce_ex__(self, protocol):
        return (type(self), (self.requires_grad, None, self.data.dtype))

    def __deepcopy__(self, memo):
        b = type(self)(self.requires_grad, None, self.data.dtype)
        memo[id(self)] = b
        return b


def is_lazy(param):
    """True for an UninitializedParameter or UninitializedBuffer."""
    return isinstance(param, _Uninitialized)
