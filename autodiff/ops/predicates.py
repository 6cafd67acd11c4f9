"""Comparisons, predicates and random factories: isclose, equal, isin, isposinf, ...,
logspace, normal, bernoulli, multinomial, poisson, randint_like, and the in-place samplers."""
import math

import numpy as np

from .. import creation, dtypes
from ..compiler import replayed
from ..function import Node, apply
from ..random import rng
from ..tensor import Tensor
from . import elementwise as ew
from ._operands import broadcast_shape, promote, tensor_arg
from .broadcast import broadcast_operands
from .elementwise import Where


def _tensor_only(x, op):
    """PyTorch's predicates on one tensor take a Tensor and nothing else."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


# --- comparisons and predicates: no gradient ---------------------------------------------------

def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol * |other| elementwise (a bool tensor; equal infs are close)"""
    x, y = _tensor_only(input, "isclose"), other
    if not isinstance(y, Tensor):
        raise TypeError(f"isclose(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(y).__name__}; wrap a number with autodiff.tensor(...)")
    if x.dtype != y.dtype:
        raise RuntimeError(f"isclose: input has dtype {x.dtype} but other has dtype {y.dtype}; "
                           f"both must have the same dtype (convert one with .to(...))")
    if rtol < 0 or atol < 0:
        raise RuntimeError(f"isclose: rtol and atol must be greater than or equal to zero, but "
                           f"got rtol={rtol}, atol={atol}")
    _check_broadcast("isclose", x, y)
    a, b = x.data, y.data
    if a.dtype == np.bool_:
        return Tensor._const(np.asarray(a == b))
    return Tensor._const(np.asarray(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def _check_broadcast(op, x, y):
    try:
        broadcast_shape(op, x.shape, y.shape)
    except ValueError as e:
        raise RuntimeError(str(e)) from None


def equal(input, other):
    """True if both tensors have the same shape and elements (a Python bool; nan != nan)"""
    x, y = _tensor_only(input, "equal"), other
    if not isinstance(y, Tensor):
        raise TypeError(f"equal(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(y).__name__}")
    return x.shape == y.shape and bool(np.array_equal(x.data, y.data))


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """True where an element of `elements` is in `test_elements` (either may be a number)"""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): at least one of elements and test_elements must be a Tensor")
    e = tensor_arg(elements, "isin", "elements").data
    t = tensor_arg(test_elements, "isin", "test_elements").data
    return Tensor._const(np.asarray(np.isin(e, t, assume_unique=assume_unique, invert=invert)))


def isneginf(input):
    """True where input is -inf (no gradient)"""
    x = tensor_arg(input, "isneginf").data
    return Tensor._const(np.isneginf(x) if x.dtype.kind == "f" else np.zeros(x.shape, bool))


def isposinf(input):
    """True where input is +inf (no gradient)"""
    x = tensor_arg(input, "isposinf").data
    return Tensor._const(np.isposinf(x) if x.dtype.kind == "f" else np.zeros(x.shape, bool))


def isreal(input):
    """True where input has no imaginary part: everywhere, as autodiff's dtypes are real"""
    return Tensor._const(np.ones(tensor_arg(input, "isreal").shape, bool))


def is_nonzero(input):
    """bool(input) for a one-element tensor; PyTorch's RuntimeError for any other size"""
    x = _tensor_only(input, "is_nonzero")
    if x.data.size == 0:
        raise RuntimeError("is_nonzero: Boolean value of Tensor with no values is ambiguous")
    if x.data.size > 1:
        raise RuntimeError(f"is_nonzero: Boolean value of Tensor with more than one value is "
                           f"ambiguous (shape {tuple(x.shape)}); use .any() or .all()")
    return bool(x.data.reshape(()) != 0)


def is_floating_point(input):
    """True if input's dtype is a floating-point one"""
    return _tensor_only(input, "is_floating_point").data.dtype.kind == "f"


def is_complex(input):
    """False: autodiff has no complex dtypes"""
    return _tensor_only(input, "is_complex").data.dtype.kind == "c"


def is_signed(input):
    """True if input's dtype holds negative values (floats and signed ints, not uint8 or bool)"""
    return _tensor_only(input, "is_signed").data.dtype.kind in "fi"


def numel(input):
    """The number of elements of input"""
    return int(_tensor_only(input, "numel").data.size)


# PyTorch's long names of the comparisons
greater, less, greater_equal, less_equal, not_equal = ew.gt, ew.lt, ew.ge, ew.le, ew.ne


# --- factories -----------------------------------------------------------------------------------

def _number(v, op, name):
    if isinstance(v, Tensor):
        if v.data.size != 1:
            raise RuntimeError(f"{op}: {name} must be a number or a one-element tensor, got "
                               f"shape {tuple(v.shape)}")
        return v.item()
    return v


def logspace(start, end, steps, base=10.0, *, dtype=None, requires_grad=False, device=None):
    """base ** linspace(start, end, steps); an integer dtype truncates start, end and the
    results toward zero, as PyTorch"""
    creation._device(device, "logspace")
    start, end = _number(start, "logspace", "start"), _number(end, "logspace", "end")
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool):
        raise TypeError(f"logspace: steps must be an int, got {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError(f"logspace: number of steps must be non-negative, got {steps}")
    dt = creation._float(dtype)
    if dt.kind != "f":
        start, end = math.trunc(start), math.trunc(end)
    with np.errstate(invalid="ignore", over="ignore"):
        values = np.power(float(base), np.linspace(start, end, steps))
    if dt.kind != "f":
        values = np.trunc(values)
    return creation._finish(values.astype(dt), requires_grad)


@replayed
def randint_like(input, low=0, high=None, *, generator=None, dtype=None, requires_grad=False,
                 device=None):
    """Integers uniform on [low, high) with input's shape (and dtype unless given);
    randint_like(x, high) as in PyTorch"""
    creation._device(device, "randint_like")
    x = _tensor_only(input, "randint_like")
    if high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"randint_like: random_ expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    dt = x.data.dtype if dtype is None else dtypes.as_dtype(dtype)
    values = rng(generator).integers(low, high, size=x.shape)
    return creation._finish(values.astype(dt), requires_grad)


class Sample(Node):
    """out = a random sample from a distribution the inputs parameterise; dx = 0 (samples are
    not reparameterised: PyTorch's zero gradient)"""
    __slots__ = ("_sample",)
    reads = ((), ())

    def __init__(self, sample):
        self._sample = sample

    def forward(self, *xs):
        out, self._sample = self._sample, None  # (drawn by the caller; the node keeps nothing)
        return out

    def backward(self, g, out, *xs):
        zero = Where.apply(np.zeros((), bool), g, np.zeros((), g.dtype))
        return tuple(zero if need else None for need in self.needs_input_grad)


def _sampled(sample, *params):
    """sample as the output of the tensors `params` (a zero gradient, as PyTorch)."""
    return apply(Sample(sample), *params)


def _check_float(x, op, name="input"):
    if x.data.dtype.kind != "f":
        raise RuntimeError(f"{op}: {name} must be a floating-point tensor, got dtype "
                           f"{x.data.dtype}; convert with .float() or .double()")


@replayed
def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False,
           device=None):
    """Samples of N(mean, std^2): mean and std tensors (broadcast) or numbers (then `size`)"""
    creation._device(device, "normal")
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise TypeError("normal(): with a number mean and std, give size=(...) (or pass "
                            "mean or std as a tensor)")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        shape = creation._shape((size,), "normal")
        values = rng(generator).normal(mean, std, shape).astype(creation._float(dtype))
        return creation._finish(values, requires_grad)
    if isinstance(mean, Tensor) and isinstance(std, Tensor):
        _check_broadcast("normal", mean, std)
        mean, std = broadcast_operands("normal", *promote(mean, std, "normal"))
    for t, name in ((mean, "mean"), (std, "std")):
        if isinstance(t, Tensor):
            _check_float(t, "normal", name)
    m = mean.data if isinstance(mean, Tensor) else mean
    s = std.data if isinstance(std, Tensor) else std
    if np.any(np.asarray(s) < 0):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    params = [t for t in (mean, std) if isinstance(t, Tensor)]
    shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    values = rng(generator).normal(m, s, shape).astype(params[0].data.dtype)
    return _sampled(values, *params)


@replayed
def bernoulli(input, p=None, *, generator=None):
    """1 with probability input (or p, a number), else 0, in input's dtype"""
    x = tensor_arg(input, "bernoulli")
    _check_float(x, "bernoulli")
    prob = x.data if p is None else p
    _check_probability(prob, "bernoulli")
    draw = rng(generator).random(x.shape) < prob
    return _sampled(draw.astype(x.data.dtype), x)


def _check_probability(p, op):
    p = np.asarray(p)
    if p.size and not np.all((p >= 0) & (p <= 1)):
        raise RuntimeError(f"{op}: expected every probability p to satisfy 0 <= p <= 1, got "
                           f"values from {np.nanmin(p)} to {np.nanmax(p)}"
                           + (" and nan" if np.isnan(p).any() else ""))


@replayed
def multinomial(input, num_samples, replacement=False, *, generator=None):
    """num_samples category indices (int64) per row of the weights input (1-d or 2-d)"""
    x = tensor_arg(input, "multinomial")
    w = x.data
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {w.shape}")
    if w.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{w.dtype}")
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples (got "
                           f"{num_samples})")
    n = w.shape[-1]
    if not replacement and num_samples > n:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples "
                           f"without replacement ({num_samples} > {n}); pass replacement=True")
    rows = w.reshape(-1, n).astype(np.float64)
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or "
                           "element < 0")
    totals = rows.sum(-1, keepdims=True)
    if np.any(totals <= 0):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    r = rng(generator)
    if replacement:  # inverse of the CDF at uniform draws (zero weights are never drawn)
        cdf = np.cumsum(rows / totals, -1)
        u = r.random((rows.shape[0], num_samples))
        out = np.stack([np.searchsorted(c, ui, side="right") for c, ui in zip(cdf, u)])
        out = np.minimum(out, n - 1)
    else:  # largest w / Exponential(1) keys: sequential draws without replacement
        keys = rows / r.exponential(size=rows.shape)
        out = np.argsort(-keys, axis=-1, kind="stable")[:, :num_samples]
    return Tensor._const(out.reshape(w.shape[:-1] + (num_samples,)).astype(np.int64))


def binomial(count, prob, generator=None):
    """Binomial(count, prob) samples (count and prob broadcast), in their float dtype (no
    gradient: PyTorch does not implement one)"""
    n, p = _tensor_only(count, "binomial"), tensor_arg(prob, "binomial", "prob")
    for t, name in ((n, "count"), (p, "prob")):
        if t.data.dtype.kind != "f":
            raise ValueError(f"binomial only supports floating-point dtypes for {name}, got: "
                             f"{t.data.dtype}")
    _check_broadcast("binomial", n, p)
    _check_probability(p.data, "binomial")
    if np.any(n.data < 0) or np.any(n.data != np.floor(n.data)):
        raise RuntimeError("binomial: count must hold non-negative whole numbers")
    dt = np.result_type(n.data.dtype, p.data.dtype)
    return Tensor._const(rng(generator).binomial(n.data.astype(np.int64), p.data).astype(dt))


@replayed
def poisson(input, generator=None):
    """Poisson samples with rates input, in input's dtype"""
    x = tensor_arg(input, "poisson")
    if x.data.dtype.kind != "f":
        raise RuntimeError(f"poisson: the rates must be a floating-point tensor, got dtype "
                           f"{x.data.dtype}; convert with .float() or .double()")
    if np.any(x.data < 0):
        raise RuntimeError("poisson: invalid Poisson rate, expected rate to be non-negative")
    return _sampled(rng(generator).poisson(x.data).astype(x.data.dtype), x)


# --- Tensor methods: in-place samplers ---------------------------------------------------------

def _fill(self, sample):
    """Writes sample into self (recorded as copy_ while gradients are)."""
    from ..inplace import copy_  # (autodiff.inplace imports this package)
    copy_(self, sample)
    return self


def _float_only(self, op):
    if self.data.dtype.kind != "f":
        raise RuntimeError(f"{op}: a continuous distribution needs a floating-point tensor, "
                           f"got dtype {self.data.dtype}; convert with .float() first")


def bernoulli_(self, p=0.5, *, generator=None):
    """Fills self with 1 (probability p, a number or a tensor broadcast to self) or 0"""
    prob = p.data if isinstance(p, Tensor) else p
    _check_probability(prob, "bernoulli_")
    return _fill(self, rng(generator).random(self.shape) < prob)


def exponential_(self, lambd=1.0, *, generator=None):
    """Fills self with samples of Exponential(rate lambd)"""
    _float_only(self, "exponential_")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _fill(self, rng(generator).exponential(1 / lambd, self.shape))


def geometric_(self, p, *, generator=None):
    """Fills self with the number of Bernoulli(p) trials up to the first success (1, 2, ...)"""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return _fill(self, rng(generator).geometric(p, self.shape))


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fills self with samples of Cauchy(median, sigma)"""
    _float_only(self, "cauchy_")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    return _fill(self, median + sigma * rng(generator).standard_cauchy(self.shape))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fills self with exp of N(mean, std^2) samples"""
    _float_only(self, "log_normal_")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    return _fill(self, rng(generator).lognormal(mean, std, self.shape))


def _random_bound(dtype):
    """random_()'s exclusive upper bound: every integer the dtype holds exactly."""
    if dtype == np.bool_:
        return 2
    if dtype.kind == "f":
        return 2 ** (np.finfo(dtype).nmant + 1) + 1
    return int(np.iinfo(dtype).max) + 1


def random_(self, from_=0, to=None, *, generator=None, **kwargs):
    """Fills self with integers uniform on [from, to - 1]; random_(to) is [0, to - 1]; with no
    bound, every integer the dtype holds exactly (as PyTorch)"""
    named_from = "from" in kwargs
    from_ = kwargs.pop("from", from_)
    if kwargs:
        raise TypeError(f"random_() got an unexpected keyword argument {next(iter(kwargs))!r}")
    if to is None and from_ != 0 and not named_from:  # random_(to)
        from_, to = 0, from_
    if to is None:
        to = _random_bound(self.data.dtype)
    if from_ >= to:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                           f"from={from_} >= to={to}")
    values = rng(generator).integers(from_, to - 1, size=self.shape, endpoint=True,
                                     dtype=np.uint64 if to - 1 > 2 ** 63 - 1 else np.int64)
    return _fill(self, values.astype(self.data.dtype))


def _compare_(fn, name):
    """The in-place comparison `name`: self = fn(self, other) in self's dtype (no gradient)."""
    def method(self, *other):
        try:
            result = fn(self, *other).data
        except ValueError as e:  # (shapes that do not broadcast: PyTorch's RuntimeError)
            raise RuntimeError(f"{name}: {e}") from None
        return _fill(self, result.astype(self.data.dtype))
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"self = {name[:-1]}(self, other) in self's dtype, in place (no gradient)"
    return method


_COMPARISONS_ = {"eq_": ew.eq, "ne_": ew.ne, "lt_": ew.lt, "le_": ew.le, "gt_": ew.gt,
                 "ge_": ew.ge, "greater_": ew.gt, "greater_equal_": ew.ge, "less_": ew.lt,
                 "less_equal_": ew.le, "not_equal_": ew.ne, "logical_and_": ew.logical_and,
                 "logical_or_": ew.logical_or, "logical_xor_": ew.logical_xor,
                 "logical_not_": ew.logical_not}


def _new_empty(self, *size, dtype=None, requires_grad=False, device=None):
    """An uninitialised tensor of `size` with self's dtype (unless given)"""
    return creation.empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad,
                          device=device)


def _bernoulli_method(self, p=None, *, generator=None):
    return bernoulli(self, p, generator=generator)


__all__ = ["isclose", "equal", "isin", "isneginf", "isposinf", "isreal", "is_nonzero",
           "is_floating_point", "is_complex", "numel", "greater", "less", "greater_equal",
           "less_equal", "not_equal", "is_signed", "logspace", "randint_like", "normal",
           "bernoulli", "multinomial", "poisson", "binomial"]

# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {
    "isclose": isclose, "equal": equal, "isneginf": isneginf, "isposinf": isposinf,
    "isreal": isreal, "is_nonzero": is_nonzero, "is_floating_point": is_floating_point,
    "is_complex": is_complex, "greater": greater, "less": less, "greater_equal": greater_equal,
    "less_equal": less_equal, "not_equal": not_equal, "logical_xor": ew.logical_xor,
    "new_empty": _new_empty, "bernoulli": _bernoulli_method, "multinomial": multinomial,
    "bernoulli_": bernoulli_, "exponential_": exponential_, "geometric_": geometric_,
    "cauchy_": cauchy_, "log_normal_": log_normal_, "random_": random_, "is_signed": is_signed,
}
METHODS.update({name: _compare_(fn, name) for name, fn in _COMPARISONS_.items()})
