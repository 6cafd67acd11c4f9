"""Activation functions and softmax forms.

Every function is composed from autodiff's public ops. Subgradients at the kinks are PyTorch's
(hardtanh, relu6 and hardsigmoid: 0 at their bounds; hardswish: 0 at -3 and 1 at 3;
softshrink and hardshrink: 0 at +-lambd; threshold: 0 at the threshold; relu, leaky_relu, elu:
the left side's at 0). The in-place forms (`relu_`, `elu_`, ..., and `inplace=True`) write the
result into the input's memory through `Tensor.copy_`, so the change is counted in the version
counter and recorded in the graph like any in-place op."""
import warnings

import numpy as np

import autodiff as ad
from autodiff.ops.elementwise import gelu as _gelu
from nn.functional._util import _const, _float_input, _tensor

__all__ = [
    "relu", "relu_", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "rrelu_", "elu", "elu_",
    "selu", "selu_", "celu", "celu_", "threshold", "threshold_", "hardtanh", "hardtanh_",
    "relu6", "hardsigmoid", "hardswish", "softplus", "log_sigmoid", "logsigmoid", "sigmoid",
    "tanh", "erf", "gelu", "silu", "mish", "softsign", "softshrink", "hardshrink",
    "tanhshrink", "glu", "softmax", "log_softmax", "softmin", "gumbel_softmax",
]

# SELU's constants (Klambauer et al. 2017): the fixed point of mean 0 and variance 1
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# --- in place --------------------------------------------------------------------------------

def _recording(x):
    return ad.is_grad_enabled() and x.requires_grad


def _inplace(input, fn, op):
    """input's values replaced by fn(input), in place; returns input."""
    input = _tensor(input, op, "input")
    if _recording(input):
        if input.is_leaf:
            raise RuntimeError(
                f"{op}: a leaf Variable that requires grad is being used in an in-place "
                f"operation. Use the out-of-place form ({op.rstrip('_')}(x), or inplace=False), "
                f"or apply it to a non-leaf copy (x.clone())")
        # computed from a copy, so no recorded op reads the memory copy_ overwrites
        # (copy_'s own rule reads nothing)
        return input.copy_(fn(input.clone()))
    return input.copy_(fn(input))


def _check_slope_inplace(input, value, op, what):
    """PyTorch refuses to differentiate these in-place forms with a negative coefficient (their
    backward reads the result, whose sign no longer tells the input's); refused here at the
    call."""
    if value < 0 and _recording(_tensor(input, op, "input")):
        raise RuntimeError(
            f"{op}: in-place {what} with a negative {'slope' if 'relu' in op else 'alpha'} "
            f"({value}) is not supported while gradients are recorded: the result does not "
            f"determine the gradient. Call the out-of-place version ({op.rstrip('_')}(x))")


# --- rectifiers ------------------------------------------------------------------------------

def relu(input, inplace=False):
    """max(x, 0)   (relu'(0) = 0)"""
    if inplace:
        return relu_(input)
    return ad.relu(input)


def relu_(input):
    """relu(x), in place"""
    return _tensor(input, "relu_", "input").relu_()


def _leaky_relu(x, negative_slope):
    return ad.where(x > 0, x, x * negative_slope)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x"""
    if inplace:
        return leaky_relu_(input, negative_slope)
    return _leaky_relu(_float_input(input, "leaky_relu"), negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    """leaky_relu(x), in place"""
    _float_input(input, "leaky_relu_")
    _check_slope_inplace(input, negative_slope, "leaky_relu_", "leaky_relu")
    return _inplace(input, lambda x: _leaky_relu(x, negative_slope), "leaky_relu_")


def prelu(input, weight):
    """x if x > 0 else a * x, with learnable a (one, or one per channel along dim 1)"""
    input = _float_input(input, "prelu")
    if weight.numel() != 1:
        if input.ndim < 2 or input.shape[1] != weight.numel():
            raise ValueError(f"prelu: weight has {weight.numel()} values, so the input needs "
                             f"that many channels in dim 1, got shape {tuple(input.shape)}")
        weight = weight.reshape((weight.numel(),) + (1,) * (input.ndim - 2))
    elif weight.ndim:
        weight = weight.reshape(())
    return ad.where(input > 0, input, input * weight)


def _rrelu(x, lower, upper, training, generator):
    if not training:
        return _leaky_relu(x, (lower + upper) / 2)
    # one slope per element, drawn for all (used where x <= 0, as PyTorch's noise)
    slope = (generator or ad.default_generator).rng.uniform(lower, upper, x.shape)
    return ad.where(x > 0, x, x * _const(slope, x.dtype))


def _check_rrelu(lower, upper, op):
    if lower > upper:
        raise RuntimeError(f"{op}: Lower bound should be less than or equal to the upper bound, "
                           f"got lower={lower}, upper={upper}")


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False, *,
          generator=None):
    """x if x > 0 else a * x: a ~ U(lower, upper) per element when training (autodiff's
    generator), a = (lower + upper) / 2 otherwise"""
    if inplace:
        return rrelu_(input, lower, upper, training, generator=generator)
    _check_rrelu(lower, upper, "rrelu")
    return _rrelu(_float_input(input, "rrelu"), lower, upper, training, generator)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False, *, generator=None):
    """rrelu(x), in place"""
    _check_rrelu(lower, upper, "rrelu_")
    _float_input(input, "rrelu_")
    return _inplace(input, lambda x: _rrelu(x, lower, upper, training, generator), "rrelu_")


# --- exponential linear units ----------------------------------------------------------------

def _elu(x, alpha, scale=1.0, input_scale=1.0):
    """scale * x if x > 0 else scale * alpha * (exp(input_scale * x) - 1)"""
    # exp only sees x <= 0, so large x cannot overflow in the unused branch; the clamp passes
    # the gradient at 0, so elu'(0) is the left side's, alpha * scale * input_scale (PyTorch)
    neg = ad.clamp(x, max=0.0)
    if input_scale != 1.0:
        neg = neg * input_scale
    neg = (neg.exp() - 1.0) * (alpha * scale)
    # NaN takes the positive branch, as in PyTorch's elu_backward (x <= 0 picks the other)
    return ad.where(~(x <= 0), x * scale if scale != 1.0 else x, neg)


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x) - 1)"""
    if inplace:
        return elu_(input, alpha)
    return _elu(_float_input(input, "elu"), alpha)


def elu_(input, alpha=1.0):
    """elu(x), in place"""
    _float_input(input, "elu_")
    _check_slope_inplace(input, alpha, "elu_", "elu")
    return _inplace(input, lambda x: _elu(x, alpha), "elu_")


def selu(input, inplace=False):
    """scale * (x if x > 0 else alpha * (exp(x) - 1)), alpha = 1.6733, scale = 1.0507"""
    if inplace:
        return selu_(input)
    return _elu(_float_input(input, "selu"), SELU_ALPHA, SELU_SCALE)


def selu_(input):
    """selu(x), in place"""
    _float_input(input, "selu_")
    return _inplace(input, lambda x: _elu(x, SELU_ALPHA, SELU_SCALE), "selu_")


def _check_celu(alpha, op):
    if alpha == 0:
        raise RuntimeError(f"{op}: ZeroDivisionError: alpha cannot be 0 for CELU "
                           f"(it divides x); use a nonzero alpha")


def celu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x / alpha) - 1)"""
    if inplace:
        return celu_(input, alpha)
    _check_celu(alpha, "celu")
    return _elu(_float_input(input, "celu"), alpha, 1.0, 1.0 / alpha)


def celu_(input, alpha=1.0):
    """celu(x), in place"""
    _check_celu(alpha, "celu_")
    _float_input(input, "celu_")
    _check_slope_inplace(input, alpha, "celu_", "celu")
    return _inplace(input, lambda x: _elu(x, alpha, 1.0, 1.0 / alpha), "celu_")


# --- thresholds and hard functions -------------------------------------------------------------

def _threshold(x, threshold, value):
    if x.dtype.kind != "f":  # (integer tensors, as PyTorch: value cast to their dtype)
        return ad.where(x > threshold, x, value).to(x.dtype)
    return ad.where(~(x <= threshold), x, value)  # NaN stays NaN and passes the gradient


def threshold(input, threshold, value, inplace=False):
    """x if x > threshold else value   (gradient 0 at the threshold)"""
    if inplace:
        return threshold_(input, threshold, value)
    return _threshold(_tensor(input, "threshold", "input"), threshold, value)


def threshold_(input, threshold, value):
    """threshold(x, threshold, value), in place"""
    return _inplace(input, lambda x: _threshold(x, threshold, value), "threshold_")


def _hardtanh(x, min_val, max_val):
    if x.dtype.kind != "f":
        return ad.clamp(x, min_val, max_val).to(x.dtype)
    # gradient 1 strictly between the bounds and 0 at them (PyTorch), unlike clamp's; NaN
    # counts as inside (PyTorch's hardtanh_backward zeroes x <= min_val or x >= max_val)
    inside = ~((x <= min_val) | (x >= max_val))
    return ad.where(inside, x, ad.clamp(x.detach(), min_val, max_val))


def _check_hardtanh(min_val, max_val, op):
    if min_val > max_val:
        raise ValueError(f"{op}: min_val cannot be greater than max_val, got min_val={min_val}, "
                         f"max_val={max_val}")


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """min(max(x, min_val), max_val)   (gradient 1 strictly inside, 0 at the bounds)"""
    if inplace:
        return hardtanh_(input, min_val, max_val)
    _check_hardtanh(min_val, max_val, "hardtanh")
    return _hardtanh(_tensor(input, "hardtanh", "input"), min_val, max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """hardtanh(x), in place"""
    _check_hardtanh(min_val, max_val, "hardtanh_")
    return _inplace(input, lambda x: _hardtanh(x, min_val, max_val), "hardtanh_")


def relu6(input, inplace=False):
    """min(max(x, 0), 6)   (gradient 0 at 0 and at 6)"""
    if inplace:
        return hardtanh_(input, 0.0, 6.0)
    return hardtanh(input, 0.0, 6.0)


def _hardsigmoid(x):
    inside = (x > -3.0) & (x < 3.0)
    # outside: 0 or 1 as a constant (gradient 0), and NaN for NaN as PyTorch
    return ad.where(inside, x * (1.0 / 6.0) + 0.5, x.detach().clamp(-3.0, 3.0) * (1.0 / 6.0) + 0.5)


def hardsigmoid(input, inplace=False):
    """0 if x <= -3, 1 if x >= 3, else x / 6 + 1/2   (gradient 0 at +-3)"""
    if inplace:
        return _inplace(input, _hardsigmoid, "hardsigmoid_")
    return _hardsigmoid(_float_input(input, "hardsigmoid"))


def _hardswish(x):
    # the outer pieces own the bounds, so the gradient is 0 at -3 and 1 at 3 (PyTorch's); NaN
    # takes the upper piece (x), as in PyTorch's hardswish_backward. The middle piece sees
    # only its own inputs (0 elsewhere): an infinite or NaN x would put inf * 0 or NaN into
    # its gradient otherwise
    xm = ad.where((x > -3.0) & (x < 3.0), x, 0.0)
    middle = xm * (xm + 3.0) * (1.0 / 6.0)
    return ad.where(x <= -3.0, 0.0, ad.where(~(x < 3.0), x, middle))


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6   (gradient 0 at -3 and 1 at 3, as PyTorch)"""
    if inplace:
        return _inplace(input, _hardswish, "hardswish_")
    return _hardswish(_float_input(input, "hardswish"))


def _check_lambd(lambd, op):
    if not lambd >= 0:
        raise RuntimeError(f"{op}: lambda must be in range [0, inf) but found to be {lambd}")


def softshrink(input, lambd=0.5):
    """x - lambd if x > lambd, x + lambd if x < -lambd, else 0   (gradient 0 at +-lambd)"""
    _check_lambd(lambd, "softshrink")
    x = _float_input(input, "softshrink")
    # NaN is outside the zero zone, so it stays NaN and passes the gradient (PyTorch)
    zero = (x >= -lambd) & (x <= lambd)
    return ad.where(zero, 0.0, ad.where(x > lambd, x - lambd, x + lambd))


def hardshrink(input, lambd=0.5):
    """x if |x| > lambd else 0   (gradient 0 at +-lambd)"""
    x = _float_input(input, "hardshrink")
    return ad.where((x >= -lambd) & (x <= lambd), 0.0, x)  # NaN stays NaN (PyTorch)


def tanhshrink(input):
    """x - tanh(x)"""
    x = _float_input(input, "tanhshrink")
    return x - x.tanh()


def softsign(input):
    """x / (1 + |x|)"""
    x = _tensor(input, "softsign", "input")
    if x.dtype.kind != "f":  # (integers promote to the default float dtype, as PyTorch)
        x = x.to(ad.get_default_dtype())
    return x / (x.abs() + 1.0)


# --- smooth activations ----------------------------------------------------------------------

def _log1pexp(x):
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)), both pieces taken
    from the same side of 0 so the gradient at 0 is exactly sigmoid(0) = 1/2"""
    pos = x > 0
    return ad.where(pos, x, 0.0) + ad.where(pos, -x, x).exp().log1p()


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold"""
    input = _float_input(input, "softplus")
    bx = input * beta if beta != 1 else input
    soft = _log1pexp(bx) / beta if beta != 1 else _log1pexp(bx)
    return ad.where(bx > threshold, input, soft)


def log_sigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), stable"""
    return -_log1pexp(-_float_input(input, "log_sigmoid"))


def logsigmoid(input):
    """log(sigmoid(x)) = -log(1 + exp(-x)), stable (PyTorch's name)"""
    return -_log1pexp(-_float_input(input, "logsigmoid"))


def sigmoid(input):
    """1 / (1 + exp(-x))"""
    return ad.sigmoid(input)


def tanh(input):
    """tanh(x)"""
    return ad.tanh(input)


def erf(input):
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt (one op; relative error below 1.5e-11)"""
    return ad.erf(_float_input(input, "erf"))


def gelu(input, approximate="none"):
    """x * Phi(x) = x/2 (1 + erf(x / sqrt 2)); approximate='tanh':
    x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))"""
    return _gelu(_float_input(input, "gelu"), approximate)  # one node (autodiff's Gelu, which
    # checks `approximate`)


def _silu(x):
    return x * ad.sigmoid(x)


def silu(input, inplace=False):
    """x * sigmoid(x)"""
    if inplace:
        return _inplace(input, _silu, "silu_")
    return _silu(input)


def _mish(x):
    return x * _log1pexp(x).tanh()


def mish(input, inplace=False):
    """x * tanh(softplus(x))"""
    if inplace:
        return _inplace(input, _mish, "mish_")
    return _mish(_float_input(input, "mish"))


def glu(input, dim=-1):
    """a * sigmoid(b), where a and b are the first and second halves of input along dim"""
    input = _float_input(input, "glu")
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even; "
                           "give a tensor with an even-sized dim")
    d = dim + input.ndim if dim < 0 else dim
    if not 0 <= d < input.ndim:
        raise IndexError(f"glu: Dimension out of range (expected to be in range of "
                         f"[{-input.ndim}, {input.ndim - 1}], but got {dim})")
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"glu: Halving dimension must be even, but dimension {d} is size {n} "
                           f"(input shape {tuple(input.shape)})")
    a, b = input.narrow(d, 0, n // 2), input.narrow(d, n // 2, n // 2)
    return a * ad.sigmoid(b)


# --- softmax forms ---------------------------------------------------------------------------

def _implicit_dim(name, ndim, stacklevel=3):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated; pass dim= "
                  f"(usually dim=-1 or dim=1 for (N, C) scores)", UserWarning,
                  stacklevel=stacklevel + 1)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_input(input, op, dim, stacklevel, dtype):
    input = _tensor(input, op, "input")
    if dtype is not None:
        input = input.to(dtype)
    input = _float_input(input, op)
    return input, _implicit_dim(op, input.ndim, stacklevel) if dim is None else dim


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x_i) / sum_j exp(x_j) along dim, stably (dtype: input cast first)"""
    input, dim = _softmax_input(input, "softmax", dim, _stacklevel, dtype)
    return ad.softmax(input, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x_i - logsumexp(x) along dim (dtype: input cast first)"""
    input, dim = _softmax_input(input, "log_softmax", dim, _stacklevel, dtype)
    return ad.log_softmax(input, dim)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along dim (dtype: input cast first)"""
    input, dim = _softmax_input(input, "softmin", dim, _stacklevel, dtype)
    return ad.softmax(-input, dim)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1, *, generator=None):
    """softmax((logits + g) / tau) along dim, g ~ Gumbel(0, 1) drawn from autodiff's generator;
    hard=True: the one-hot of its argmax forward, the soft sample's gradient (straight through)"""
    logits = _float_input(logits, "gumbel_softmax", "logits")
    if eps != 1e-10:
        warnings.warn("gumbel_softmax: `eps` parameter is deprecated and has no effect.",
                      stacklevel=2)
    e = (generator or ad.default_generator).rng.standard_exponential(logits.shape)
    gumbels = (logits + _const(-np.log(e), logits.dtype)) / tau
    y_soft = ad.softmax(gumbels, dim)
    if not hard:
        return y_soft
    index = y_soft.detach().argmax(dim, keepdim=True)
    y_hard = ad.zeros_like(logits).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
