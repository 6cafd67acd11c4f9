"""In-place updates outside the graph (under no_grad, or on tensors that need no gradient), as
optimizers and initialisers use them: `p.add_(g, alpha=-lr)`, `m.mul_(b1).add_(g, alpha=1-b1)`.

Each one writes into the tensor's own array with a numpy `out=` call and stamps the tensor as
modified, so a backward through an op recorded before the change raises instead of using the
new values (PyTorch's version counter). While gradients are recorded, an in-place change of a
tensor in the graph raises (see _check).
"""
import numpy as np

from .function import stamp_mutation
from .grad_mode import _state
from .random import rng
from .tensor import Tensor


def _check(self, op, *others):
    if _state.enabled and (self._requires_grad or any(
            isinstance(o, Tensor) and o._requires_grad for o in others)):
        kind = "a leaf tensor that requires grad" if self.grad_fn is None else \
            f"a tensor recorded in the graph (made by {self.grad_fn.name})"
        raise RuntimeError(
            f"{op}: in-place operation on {kind} while gradients are recorded. Wrap parameter "
            f"updates in `with autodiff.no_grad():`, or use the out-of-place form (x = x + y).")


def writable(self):
    """self.data, ready for an in-place write; stamps self as modified. A tensor made by an op
    gets a fresh array (its node may have saved the old one)."""
    if self.grad_fn is not None or not self.data.flags.writeable:
        self.data = np.array(self.data)
    stamp_mutation(self)
    return self.data


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _store(self, op, result):
    """Writes result (an array or number, broadcast to self's shape) into self in place."""
    data = writable(self)
    try:
        np.copyto(data, result, casting="unsafe")
    except (TypeError, ValueError) as e:
        raise RuntimeError(f"{op}: cannot write a result of shape {np.shape(result)} and dtype "
                           f"{np.result_type(result)} into a tensor of shape {data.shape} and "
                           f"dtype {data.dtype} in place ({e})") from None
    return self


def _ufunc_inplace(ufunc, op, doc, scaled):
    """The method `op`: self = ufunc(self, other) written in place; `scaled` ones (add_, sub_)
    take PyTorch's keyword alpha, other * alpha."""
    def method(self, other, *, alpha=1):
        if _state.enabled:  # (under no_grad, as in optimizers, nothing can be recorded)
            _check(self, op, other)
        o = other.data if isinstance(other, Tensor) else other
        if alpha != 1:
            if not scaled:
                raise TypeError(f"{op}() got an unexpected keyword argument 'alpha'")
            o = o * alpha
        data = writable(self)
        try:
            ufunc(data, o, out=data)  # (numpy's default casting for out=: same_kind)
        except (TypeError, ValueError) as e:
            raise RuntimeError(f"{op}: cannot update a tensor of shape {data.shape} and dtype "
                               f"{data.dtype} in place with an operand of shape {np.shape(o)} "
                               f"({e})") from None
        return self
    method.__name__ = method.__qualname__ = op
    method.__doc__ = doc
    return method


add_ = _ufunc_inplace(np.add, "add_", "self += alpha * other, in place", scaled=True)
sub_ = _ufunc_inplace(np.subtract, "sub_", "self -= alpha * other, in place", scaled=True)
mul_ = _ufunc_inplace(np.multiply, "mul_", "self *= other, in place", scaled=False)
div_ = _ufunc_inplace(np.true_divide, "div_", "self /= other, in place", scaled=False)


def addcmul_(self, tensor1, tensor2, *, value=1):
    """self += value * tensor1 * tensor2, in place"""
    _check(self, "addcmul_", tensor1, tensor2)
    prod = _raw(tensor1) * _raw(tensor2)
    return add_(self, prod, alpha=value)


def addcdiv_(self, tensor1, tensor2, *, value=1):
    """self += value * tensor1 / tensor2, in place"""
    _check(self, "addcdiv_", tensor1, tensor2)
    return add_(self, _raw(tensor1) / _raw(tensor2), alpha=value)


def lerp_(self, end, weight):
    """self += weight * (end - self), in place"""
    _check(self, "lerp_", end, weight)
    return add_(self, _raw(weight) * (_raw(end) - self.data))


def sqrt_(self):
    """self = sqrt(self), in place"""
    _check(self, "sqrt_")
    data = writable(self)
    np.sqrt(data, out=data)
    return self


def zero_(self):
    """Fills self with zeros, in place"""
    _check(self, "zero_")
    writable(self).fill(0)
    return self


def fill_(self, value):
    """Fills self with value, in place"""
    _check(self, "fill_")
    return _store(self, "fill_", _raw(value))


def copy_(self, src):
    """Copies src (broadcast to self's shape) into self, in place"""
    _check(self, "copy_", src)
    return _store(self, "copy_", _raw(src))


def clamp_(self, min=None, max=None):
    """Limits self to [min, max], in place"""
    _check(self, "clamp_")
    if min is None and max is None:
        raise RuntimeError("clamp_: at least one of min and max must not be None")
    data = writable(self)
    np.clip(data, _raw(min), _raw(max), out=data)
    return self


def uniform_(self, a=0.0, b=1.0, generator=None):
    """Fills self with samples from U(a, b), in place"""
    _check(self, "uniform_")
    return _store(self, "uniform_", rng(generator).uniform(a, b, self.shape))


def normal_(self, mean=0.0, std=1.0, generator=None):
    """Fills self with samples from N(mean, std^2), in place"""
    _check(self, "normal_")
    return _store(self, "normal_", rng(generator).normal(mean, std, self.shape))


METHODS = {f.__name__: f for f in (add_, sub_, mul_, div_, addcmul_, addcdiv_, lerp_, sqrt_, zero_,
                                   fill_, copy_, clamp_, uniform_, normal_)}
