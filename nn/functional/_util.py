"""Shared argument checks and helpers of the functional forms."""

import numpy as np

import autodiff as ad
from autodiff import Tensor

__all__ = ['_REDUCTIONS', '_const', '_tensor', '_float_input', '_check_reduction', '_reduce',
           '_same_shape']


_REDUCTIONS = ("mean", "sum", "none")


def _const(arr, dtype=None):
    """A constant tensor holding arr (0-d results of numpy reductions included)."""
    return ad.from_numpy(np.asarray(arr, dtype))


def _tensor(x, op, name):
    if isinstance(x, Tensor):
        return x
    try:
        return ad.as_tensor(x)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be a Tensor (or array-like), got "
                        f"{type(x).__name__}") from None


def _float_input(x, op, name="input"):
    x = _tensor(x, op, name)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a floating-point tensor, got dtype {x.dtype}; "
                        f"convert it with {name}.float()")
    return x


def _check_reduction(reduction, op):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _same_shape(input, target, op):
    if input.shape != target.shape:
        raise ValueError(
            f"{op}: target shape {tuple(target.shape)} differs from input shape "
            f"{tuple(input.shape)}; broadcasting them would silently compare every pair of "
            f"elements. Make them match, e.g. target.reshape({tuple(input.shape)}) or "
            f"input.squeeze(-1)")
