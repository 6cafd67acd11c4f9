"""Parameter: the Tensor subclass a Module registers as learnable (torch.nn.Parameter)."""
import autodiff as ad
from autodiff import Tensor


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
            raise TypeError(f"Parameter: only floating-point data can require gradients, got "
                            f"dtype {data.dtype}; convert first (e.g. t.float()) or pass "
                            f"requires_grad=False")
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
