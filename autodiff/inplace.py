"""In-place operations with PyTorch's meaning: `add_`, `relu_`, `x[i] = v`, `x += y`, ...

Every in-place op writes into the tensor's own memory, so its views, its base and detach()ed
aliases see the change, and counts the change in the storage's version (autodiff/versions.py):
a backward through an op recorded earlier that reads the old values raises instead of using
the new ones.

Outside the graph (under no_grad, or when nothing involved requires grad: parameter updates,
initialisers) that is all, with numpy `out=` calls for the updates optimizers make.

While gradients are recorded (the tensor, its base or an operand requires grad), the op is also
recorded: the new value is computed out of place from a stand-in for the old one, written into
the tensor's memory, and the tensor's history is rewritten to continue from it (views.rebind),
or its base's history when the tensor is a view (views.CopySlices). The tensor object keeps its
identity; ops recorded before keep the old history. In-place on a leaf that requires grad (or
a view of one) raises, as in PyTorch.
"""
import numpy as np

from . import dtypes, ops
from . import function as _function
from .function import Node, apply1, link, new_mutation, stamp_mutation
from .grad_mode import _state
from .ops.broadcast import SumTo
from .ops.elementwise import Cast
from .ops._operands import normalize_dims
from .ops.shape import (Permute, Reshape, _index_arg, _is_basic, _is_int, _split_ints, getitem,
                        index_add, index_put)
from .random import rng
from .tensor import Tensor
from .views import CopySlices, rebind, refresh_views, stand_in, view_chain


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _records(self, *others):
    """Whether an in-place op on self is recorded: grad mode is on and self, its base or an
    operand requires grad."""
    if not _state.enabled:
        return False
    if self._requires_grad or any(isinstance(o, Tensor) and o._requires_grad for o in others):
        return True
    info = self._view
    return info is not None and info[2]._requires_grad


# --- checks ------------------------------------------------------------------------------------

def _target(self, op):
    """self's memory, checked writable (an expanded view repeats elements: PyTorch refuses)."""
    data = self.data
    if not data.flags.writeable:
        if any(s == 0 and n > 1 for s, n in zip(data.strides, data.shape)):
            raise RuntimeError(
                f"{op}: unsupported operation: more than one element of the written-to tensor "
                f"refers to a single memory location (it is an expanded view, shape "
                f"{tuple(data.shape)}). Please clone() the tensor before performing the "
                f"operation.")
        if self._view is not None or self._views:
            raise RuntimeError(f"{op}: the tensor's memory (shape {tuple(data.shape)}) is "
                               f"read-only (it wraps a read-only numpy array) and shared with "
                               f"views; clone() it first")
        # a read-only array that no view shares (from_numpy of a read-only array): the tensor
        # gets its own writable copy; ops recorded on the old one see it as changed
        stamp_mutation(self)
        self.data = data = np.array(data)
    return data


def _check_recordable(self, op):
    """PyTorch's refusals for an in-place op that would be recorded."""
    info = self._view
    if info is None:
        if self.grad_fn is None and self._requires_grad:
            raise RuntimeError(
                f"{op}: a leaf Variable that requires grad is being used in an in-place "
                f"operation. Update parameters under `with autodiff.no_grad():`, or use the "
                f"out-of-place form (y = x + 1) or a copy (x.clone()).")
        return
    base = info[2]
    if base.grad_fn is None and base._requires_grad:
        raise RuntimeError(
            f"{op}: a view of a leaf Variable that requires grad is being used in an in-place "
            f"operation. Update parameters under `with autodiff.no_grad():`, or change a copy.")
    if info[4]:
        node = self.grad_fn if self.grad_fn is not None and self.grad_fn.n_outputs > 1 else info[1]
        raise RuntimeError(
            f"{op}: output {self._output_nr} of {node.name} is a view and is being modified "
            f"inplace. This view is the output of a function that returns multiple views "
            f"(split, chunk, unbind). Such functions do not allow the output views to be "
            f"modified inplace. You should replace the inplace operation by an out-of-place "
            f"one.")
    if info[3]:
        raise RuntimeError(
            f"{op}: A view was created in no_grad mode and is being modified inplace with grad "
            f"mode enabled. Given that this use case is ambiguous and error-prone, it is "
            f"forbidden. Make the view and change it both inside the no_grad block, or both "
            f"outside it, or change a clone.")


def _check_result(op, data, result):
    if result.shape != data.shape:
        raise RuntimeError(f"{op}: output with shape {list(data.shape)} doesn't match the "
                           f"broadcast shape {list(result.shape)}; an in-place result must keep "
                           f"the tensor's shape (use the out-of-place form)")
    if result.dtype != data.dtype and not np.can_cast(result.dtype, data.dtype, "same_kind"):
        raise RuntimeError(f"{op}: result type {result.dtype} can't be cast to the desired "
                           f"output type {data.dtype}; convert first (x = x.float()) or use "
                           f"the out-of-place form")


def _write(self, op, result, casting=None):
    """Writes result (broadcast to self's shape) into self's memory and counts the change.
    A number is converted as PyTorch converts it (fill_(1.5) on an integer tensor gives 1);
    an array must cast within its kind (float into int raises) unless casting says."""
    data = _target(self, op)
    result = np.asarray(result)
    try:
        np.copyto(data, result,
                  casting=casting or ("unsafe" if result.ndim == 0 else "same_kind"))
    except (TypeError, ValueError) as e:
        raise RuntimeError(f"{op}: cannot write a result of shape {result.shape} and dtype "
                           f"{result.dtype} into a tensor of shape {data.shape} and dtype "
                           f"{data.dtype} in place ({e})") from None
    stamp_mutation(self)
    return self


# --- the recorded path -------------------------------------------------------------------------

def record_inplace(self, op, compute, single=False):
    """self = compute(stand-in for self's old value), recorded and written into self's memory.

    `compute` returns the new value as a tensor recorded from the stand-in. The stand-in keeps
    a private copy of the old values, unless `single` says compute is one op whose node does
    not read them (add_, exp_: PyTorch saves nothing of the old self for these either)."""
    _check_recordable(self, op)
    data = _target(self, op)
    old = stand_in(self)
    new = compute(old)
    result = new.data
    _check_result(op, data, result)
    if result.dtype != data.dtype:
        new = Cast.apply(new, dtype=data.dtype)
    node = new.grad_fn
    if not single or node is None or _reads(node, old):
        old.data = data.copy()
    np.copyto(data, new.data)
    # numbered after the op: a rule that reads an operand sharing self's memory (a.mul_(a))
    # sees it changed, as in PyTorch
    seq = new_mutation()
    stamp_mutation(self, seq)
    if node is not None and node.out is new.data:
        # its rule reads self's memory, as written now: a later change is caught, as in PyTorch
        node.out, node.out_seq = data, seq
    info = self._view
    if info is None:
        rebind(self, node, new._output_nr, node is not None)
        refresh_views(self)
        return self
    base = info[2]
    earlier = stand_in(base)
    value = new if node is not None else Tensor._const(new.data)
    slices = CopySlices(view_chain(self))
    if link(slices, (earlier, value), (earlier._requires_grad, value._requires_grad)):
        rebind(base, slices)
    refresh_views(base)
    return self


def _reads(node, x):
    """Whether node's rule reads the value of its input x."""
    reads = node.reads
    if reads is None or not any(t is x for t in node.inputs):
        return True
    wanted = {a for r, need in zip(reads, node.needs_input_grad) if need for a in r}
    return any(node.inputs[a] is x for a in wanted if a >= 0)


# --- the methods -------------------------------------------------------------------------------

def _binary(ufunc, fn, op, doc, scaled):
    """The method `op`: self = fn(self, other) in place; `scaled` ones (add_, sub_) take
    PyTorch's keyword alpha (other * alpha). Outside the graph: one numpy ufunc call."""
    def method(self, other, *, alpha=1):
        tracer = _function._tracer
        if tracer is not None and tracer.mine():  # autodiff.compile: replayed on buffers
            return tracer.inplace(method, self, (other,), {"alpha": alpha})
        if alpha != 1 and not scaled:
            raise TypeError(f"{op}() got an unexpected keyword argument 'alpha'")
        if _state.enabled and (self._requires_grad or self._view is not None or (
                isinstance(other, Tensor) and other._requires_grad)) and _records(self, other):
            if scaled:
                return record_inplace(self, op, lambda old: fn(old, other, alpha=alpha), True)
            return record_inplace(self, op, lambda old: fn(old, other), True)
        o = other.data if isinstance(other, Tensor) else other
        if alpha != 1:
            o = o * alpha
        data = _target(self, op)
        try:
            ufunc(data, o, out=data)  # (numpy's default casting for out=: same_kind)
        except (TypeError, ValueError, np.exceptions.DTypePromotionError) as e:
            raise RuntimeError(f"{op}: cannot update a tensor of shape {data.shape} and dtype "
                               f"{data.dtype} in place with an operand of shape {np.shape(o)} "
                               f"and dtype {np.result_type(o)} ({e})") from None
        stamp_mutation(self)
        return self
    method.__name__ = method.__qualname__ = op
    method.__doc__ = doc
    return method


add_ = _binary(np.add, ops.add, "add_", "self += alpha * other, in place", scaled=True)
sub_ = _binary(np.subtract, ops.sub, "sub_", "self -= alpha * other, in place", scaled=True)
mul_ = _binary(np.multiply, ops.mul, "mul_", "self *= other, in place", scaled=False)
_true_div_ = _binary(np.true_divide, ops.div, "div_", "self /= other, in place", scaled=False)


def div_(self, other, *, rounding_mode=None):
    """self /= other, in place (rounding_mode 'trunc' or 'floor' rounds the quotient)"""
    if rounding_mode is None:
        return _true_div_(self, other)
    return _unary(lambda x: ops.div(x, other, rounding_mode=rounding_mode), "div_")(self)

pow_ = _binary(np.power, ops.pow, "pow_", "self = self ** exponent, in place", scaled=False)


def _unary(fn, op, single=True):
    """The method `op`: self = fn(self, *args, **kwargs) in place."""
    def method(self, *args, **kwargs):
        tracer = _function._tracer
        if tracer is not None and tracer.mine():  # autodiff.compile: replayed on buffers
            return tracer.inplace(method, self, args, kwargs)
        if _records(self, *args, *kwargs.values()):
            return record_inplace(self, op, lambda old: fn(old, *args, **kwargs), single)
        return _write(self, op, fn(Tensor._const(self.data), *args, **kwargs).data)
    method.__name__ = method.__qualname__ = op
    method.__doc__ = f"{fn.__name__}(self), in place"
    return method


_UNARY = {name + "_": getattr(ops, name) for name in (
    "exp", "log", "log1p", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "neg",
    "square", "erf", "floor", "ceil", "round", "sign")}
_UNARY["clamp_min_"] = lambda x, min: ops.clamp(x, min=min)
_UNARY["clamp_max_"] = lambda x, max: ops.clamp(x, max=max)
_UNARY["clamp_min_"].__name__, _UNARY["clamp_max_"].__name__ = "clamp_min", "clamp_max"


def sqrt_(self):
    """self = sqrt(self), in place"""
    if _records(self):
        return record_inplace(self, "sqrt_", ops.sqrt, True)
    data = _target(self, "sqrt_")
    np.sqrt(data, out=data)
    stamp_mutation(self)
    return self


def clamp_(self, min=None, max=None):
    """Limits self to [min, max], in place"""
    if min is None and max is None:
        raise RuntimeError("clamp_: at least one of min and max must not be None")
    if _records(self, min, max):
        return record_inplace(self, "clamp_", lambda old: ops.clamp(old, min, max), True)
    data = _target(self, "clamp_")
    np.clip(data, _raw(min), _raw(max), out=data)
    stamp_mutation(self)
    return self


def addcmul_(self, tensor1, tensor2, *, value=1):
    """self += value * tensor1 * tensor2, in place"""
    if _records(self, tensor1, tensor2):
        return record_inplace(self, "addcmul_",
                              lambda old: old + value * (tensor1 * tensor2), True)
    return add_(self, _raw(tensor1) * _raw(tensor2), alpha=value)


def addcdiv_(self, tensor1, tensor2, *, value=1):
    """self += value * tensor1 / tensor2, in place"""
    if _records(self, tensor1, tensor2):
        return record_inplace(self, "addcdiv_",
                              lambda old: old + value * (tensor1 / tensor2), True)
    return add_(self, _raw(tensor1) / _raw(tensor2), alpha=value)


def lerp_(self, end, weight):
    """self += weight * (end - self), in place"""
    if _records(self, end, weight):
        return record_inplace(self, "lerp_", lambda old: old + weight * (end - old))
    return add_(self, _raw(weight) * (_raw(end) - self.data))


class Copy(Node):
    """out = src broadcast to x's shape and cast to x's dtype (x's values are replaced);
    dx = 0, dsrc = g summed to src's shape (in src's dtype)"""
    __slots__ = ()
    reads = ((), ())

    def forward(self, x, src):
        out = np.empty_like(x)
        out[...] = src
        return out

    def backward(self, g, out, x, src):
        nx, ns = self.needs_input_grad
        gs = None
        if ns:
            gs = SumTo.apply(g, shape=src.shape) if g.shape != src.shape else g
            if gs.dtype != src.dtype:
                gs = Cast.apply(gs, dtype=src.dtype)
        return (g * 0 if nx else None), gs


def _copy(old, src):
    if not isinstance(src, Tensor):
        src = Tensor._const(np.asarray(src))
    _check_broadcast("copy_", src.shape, old.shape)
    return Copy.apply(old, src)


def _check_broadcast(op, shape, target):
    try:
        ok = np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"{op}: a value of shape {tuple(shape)} cannot be written into a "
                           f"tensor (or indexed part) of shape {tuple(target)}: the shapes must "
                           f"broadcast to it")


def copy_(self, src):
    """Copies src (broadcast to self's shape) into self, in place"""
    tracer = _function._tracer
    if tracer is not None and tracer.mine():  # autodiff.compile: replayed on buffers
        return tracer.inplace(copy_, self, (src,), {})
    if _records(self, src):
        return record_inplace(self, "copy_", lambda old: _copy(old, src), True)
    _check_broadcast("copy_", np.shape(_raw(src)), self.shape)
    return _write(self, "copy_", _raw(src), casting="unsafe")  # (as PyTorch: 2.7 -> 2)


def fill_(self, value):
    """Fills self with value, in place"""
    tracer = _function._tracer
    if tracer is not None and tracer.mine():  # autodiff.compile: replayed on buffers
        return tracer.inplace(fill_, self, (value,), {})
    if isinstance(value, Tensor) and value.data.ndim:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value.data.ndim} dimensions")
    if _records(self, value):
        return record_inplace(self, "fill_", lambda old: _copy(old, value), True)
    return _write(self, "fill_", dtypes.checked_scalar(_raw(value), self.data.dtype, "fill_"))


def zero_(self):
    """Fills self with zeros, in place"""
    tracer = _function._tracer
    if tracer is not None and tracer.mine():  # autodiff.compile: replayed on buffers
        return tracer.inplace(zero_, self, (), {})
    if _records(self):
        return fill_(self, 0)
    _target(self, "zero_").fill(0)
    stamp_mutation(self)
    return self


def uniform_(self, a=0.0, b=1.0, generator=None):
    """Fills self with samples from U(a, b), in place"""
    return copy_(self, rng(generator).uniform(a, b, self.shape))


def normal_(self, mean=0.0, std=1.0, generator=None):
    """Fills self with samples from N(mean, std^2), in place"""
    return copy_(self, rng(generator).normal(mean, std, self.shape))


def masked_fill_(self, mask, value):
    """self[mask] = value (mask broadcast to self's shape), in place"""
    if _records(self, value):
        return record_inplace(self, "masked_fill_", lambda old: ops.where(mask, value, old),
                              True)
    m = np.broadcast_to(_raw(mask), self.shape)
    data = _target(self, "masked_fill_")
    value = dtypes.checked_scalar(_raw(value), data.dtype, "masked_fill_")
    np.copyto(data, value, where=m,  # (a number converts as PyTorch's: 2.7 -> 2 for integers)
              casting="unsafe" if np.ndim(value) == 0 else "same_kind")
    stamp_mutation(self)
    return self


def index_put_(self, indices, values, accumulate=False):
    """self[indices] = values (or += with accumulate=True, repeated indices adding up)"""
    index = _index_arg(tuple(indices) if isinstance(indices, list) else indices)
    if _records(self, values):
        if accumulate:
            def compute(old):
                v = values if isinstance(values, Tensor) else Tensor._const(np.asarray(values))
                target = np.empty(old.shape, np.bool_)[index].shape
                return old + index_add(ops.broadcast_to(v.to(old.dtype), target), index,
                                       old.shape)
        else:
            def compute(old):
                return index_put(old, index, values)
        return record_inplace(self, "index_put_", compute, True)
    data = _target(self, "index_put_")
    try:
        if accumulate:
            np.add.at(data, index, _raw(values))
        else:
            data[index] = _raw(values)
    except (IndexError, ValueError) as e:
        raise IndexError(f"index_put_: cannot put values of shape {np.shape(_raw(values))} at "
                         f"index {index!r} of a tensor of shape {data.shape}: {e}") from None
    stamp_mutation(self)
    return self


def setitem(self, index, value):
    """x[index] = value, in place. Basic indexes write through a view (value broadcast into
    it), others are index_put_; recorded as PyTorch records them while gradients are on."""
    index = _index_arg(index)
    if isinstance(index, tuple) and not _is_basic(index) and any(_is_int(i) for i in index):
        first, rest = _split_ints(index)  # PyTorch's dims: the ints select first (as getitem)
        setitem(getitem(self, first), rest, value)
        return
    value = _without_extra_unit_dims(self, index, value)
    if _records(self, value):
        if _is_basic(index):
            copy_(getitem(self, index), value)
            return
        try:
            index_put_(self, index, value)
        except ValueError as e:  # (PyTorch's class for a value that does not fit)
            raise RuntimeError(f"x[index] = value: {e}") from None
        return
    data = _target(self, "x[index] = value")
    try:
        data[index] = _raw(value)
    except (IndexError, ValueError, TypeError) as e:
        kind = RuntimeError if isinstance(e, ValueError) else type(e)
        raise kind(f"x[index] = value: cannot assign a value of shape "
                   f"{np.shape(_raw(value))} at index {index!r} of a tensor of shape "
                   f"{data.shape}: {e}") from None
    stamp_mutation(self)


def _without_extra_unit_dims(self, index, value):
    """value with leading size-1 dims beyond the indexed part's dims dropped, as PyTorch
    drops them in x[index] = value (a[0] = ones(1, 3) writes the row)."""
    shape = np.shape(value.data if isinstance(value, Tensor) else value)
    if not shape or shape[0] != 1:
        return value
    try:
        target = np.broadcast_to(np.empty((), bool), self.data.shape)[index].shape
    except (IndexError, ValueError):
        return value  # (the write itself reports the bad index)
    extra = len(shape) - len(target)
    if extra <= 0 or any(n != 1 for n in shape[:extra]):
        return value
    if isinstance(value, Tensor):
        return value.reshape(shape[extra:])
    return np.reshape(value, shape[extra:])


def detach_(self):
    """Makes this tensor a leaf that does not require grad, in place. Ops recorded before keep
    its history (the graph is not cut under them), as in PyTorch."""
    if self._view is not None:
        raise RuntimeError("detach_: Can't detach views in-place. Use detach() instead.")
    if self.grad_fn is not None or self._requires_grad:
        rebind(self, None, requires_grad=False, detached=True)
    return self


# --- triangles, renorm and view ops in place -----------------------------------------------------

class ViewSteps(Node):
    """out = the view ops `steps` applied in turn (a view of x); dx = their rules, last first
    (the view step of a view whose source changed shape in place: squeeze_, t_, ...)"""
    __slots__ = ("steps",)
    reads = ()

    def __init__(self, steps):
        self.steps = tuple(steps)

    def forward(self, x):
        for step in self.steps:
            x = step.forward(x)
        return x

    def backward(self, g, out, x):
        shaped = [np.zeros(x.shape, np.int8)]  # (the rules of view ops read only the shapes)
        for step in self.steps[:-1]:
            shaped.append(step.forward(shaped[-1]))
        for step, xs in zip(reversed(self.steps), reversed(shaped)):
            g = step.backward(g, None, xs)[0]
        return (g,)


def _renorm(x, p, dim, maxnorm):
    """renorm (looked up when called: autodiff.ops is still loading when this module is)"""
    return ops.renorm(x, p, dim, maxnorm)


_renorm.__name__ = "renorm"


def _view_inplace(self, op, node):
    """self becomes node's view of self, in place (squeeze_, t_, ...): the same tensor object
    and memory, seen with a new shape; recorded as the view op on self's earlier value. Views
    of self, and self if it is a view, keep their place relative to the storage."""
    recording = _records(self)
    if recording:
        _check_recordable(self, op)
    inverse = Reshape(self.data.shape) if isinstance(node, Reshape) else \
        Permute(tuple(np.argsort(node.dims).tolist()))
    info = self._view
    if info is not None:
        self._view = (info[0], ViewSteps((info[1], node)), *info[2:])
    base = self if info is None else info[2]
    for ref in base._views or ():
        v = ref()
        if v is not None and v is not self and v._view[0] is self:
            v._view = (self, ViewSteps((inverse, v._view[1])), *v._view[2:])
    if recording:
        new = apply1(node, stand_in(self))
        rebind(self, new.grad_fn, requires_grad=new.grad_fn is not None)
        self.data = new.data
    else:
        self.data = node.forward(self.data)
    stamp_mutation(self)
    return self


def squeeze_(self, dim=None):
    """squeeze(self, dim), in place: size-1 dims removed from self's shape"""
    shape = ops.squeeze(Tensor._const(self.data), dim).shape
    return _view_inplace(self, "squeeze_", Reshape(shape))


def unsqueeze_(self, dim):
    """unsqueeze(self, dim), in place: a size-1 dim inserted in self's shape"""
    shape = ops.unsqueeze(Tensor._const(self.data), dim).shape
    return _view_inplace(self, "unsqueeze_", Reshape(shape))


def transpose_(self, dim0, dim1):
    """transpose(self, dim0, dim1), in place: two dims of self swapped"""
    nd = self.data.ndim
    d0, d1 = (normalize_dims(d, nd, "transpose_")[0] if nd else 0 for d in (dim0, dim1))
    dims = list(range(nd))
    if nd:
        dims[d0], dims[d1] = dims[d1], dims[d0]
    return _view_inplace(self, "transpose_", Permute(tuple(dims)))


def swapaxes_(self, axis0, axis1):
    """transpose_ under numpy's name"""
    return transpose_(self, axis0, axis1)


def swapdims_(self, dim0, dim1):
    """transpose_ under another name"""
    return transpose_(self, dim0, dim1)


def t_(self):
    """t(self), in place: a matrix transposed (a 0-d or 1-d tensor kept as it is)"""
    nd = self.data.ndim
    if nd > 2:
        raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {nd}D "
                           f"(shape {self.data.shape}); use transpose_(dim0, dim1)")
    return _view_inplace(self, "t_", Permute(tuple(reversed(range(nd)))))


def _augmented(method, symbol):
    def augmented(self, other):
        return method(self, other)
    augmented.__name__ = f"__i{method.__name__.rstrip('_')}__"
    augmented.__doc__ = f"x {symbol}= y: in place ({method.__name__}), as in PyTorch"
    return augmented


METHODS = {f.__name__: f for f in (
    add_, sub_, mul_, div_, pow_, sqrt_, clamp_, addcmul_, addcdiv_, lerp_, copy_, fill_, zero_,
    uniform_, normal_, masked_fill_, index_put_, detach_)}
METHODS.update({name: _unary(fn, name) for name, fn in _UNARY.items()})
METHODS["clip_"] = clamp_
METHODS.update({"__iadd__": _augmented(add_, "+"), "__isub__": _augmented(sub_, "-"),
                "__imul__": _augmented(mul_, "*"), "__itruediv__": _augmented(div_, "/"),
                "__ipow__": _augmented(pow_, "**"), "__setitem__": setitem})
METHODS["__itruediv__"].__name__ = "__itruediv__"
METHODS.update({f.__name__: f for f in (squeeze_, unsqueeze_, transpose_, swapaxes_, swapdims_,
                                        t_)})
METHODS.update({"tril_": _unary(ops.tril, "tril_"), "triu_": _unary(ops.triu, "triu_"),
                "renorm_": _unary(_renorm, "renorm_", single=False)})
