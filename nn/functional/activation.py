"""Activation functions and softmax forms."""
import math
import warnings

import autodiff as ad
from nn.functional._util import _float_input

__all__ = [
    "relu", "leaky_relu", "prelu", "elu", "softplus", "log_sigmoid", "sigmoid", "tanh",
    "erf", "gelu", "silu", "softmax", "log_softmax",
]


def relu(input, inplace=False):
    """max(x, 0)   (relu'(0) = 0)"""
    return ad.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x"""
    input = _float_input(input, "leaky_relu")
    return ad.where(input > 0, input, input * negative_slope)


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


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x) - 1)"""
    input = _float_input(input, "elu")
    # exp only sees x <= 0, so large x cannot overflow in the unused branch
    return ad.where(input > 0, input, alpha * (ad.clamp(input, max=0.0).exp() - 1.0))


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


def sigmoid(input):
    """1 / (1 + exp(-x))"""
    return ad.sigmoid(input)


def tanh(input):
    """tanh(x)"""
    return ad.tanh(input)


def erf(input):
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt (autodiff's erf: one op, max error 4e-9)"""
    return ad.erf(_float_input(input, "erf"))


def gelu(input, approximate="none"):
    """x * Phi(x) = x/2 (1 + erf(x / sqrt 2)); approximate='tanh':
    x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))"""
    input = _float_input(input, "gelu")
    if approximate == "none":
        return 0.5 * input * (1.0 + erf(input * (1.0 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (input + 0.044715 * input * input * input)
        return 0.5 * input * (1.0 + inner.tanh())
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input):
    """x * sigmoid(x)"""
    return input * ad.sigmoid(input)


def _implicit_dim(ndim):
    warnings.warn("Implicit dimension choice for softmax has been deprecated; pass dim= "
                  "(usually dim=-1 or dim=1 for (N, C) scores)", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None):
    """exp(x_i) / sum_j exp(x_j) along dim, stably"""
    input = _float_input(input, "softmax")
    return ad.softmax(input, _implicit_dim(input.ndim) if dim is None else dim)


def log_softmax(input, dim=None):
    """x_i - logsumexp(x) along dim"""
    input = _float_input(input, "log_softmax")
    return ad.log_softmax(input, _implicit_dim(input.ndim) if dim is None else dim)
