"""Linear maps: linear and bilinear."""

import autodiff as ad
from nn.functional._util import _tensor

__all__ = ['linear', 'bilinear']


def linear(input, weight, bias=None):
    """y = x W^T + b, for x (..., in), W (out, in), b (out,): one fused autodiff op"""
    return ad.linear(_tensor(input, "linear", "input"), weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = sum_ij x1[..., i] A[o, i, j] x2[..., j] + b[o], for A (out, in1, in2)"""
    x1 = _tensor(input1, "bilinear", "input1")
    x2 = _tensor(input2, "bilinear", "input2")
    weight = _tensor(weight, "bilinear", "weight")
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out_features, in1_features, "
                           f"in2_features), got shape {tuple(weight.shape)}")
    if x1.ndim != x2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {x1.ndim} and "
                           f"{x2.ndim} (input1 {tuple(x1.shape)}, input2 {tuple(x2.shape)}); "
                           f"both need the same leading (batch) dims")
    for d, (a, b) in enumerate(zip(x1.shape[:-1], x2.shape[:-1])):
        if a != b:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: got "
                               f"{a} and {b} (input1 {tuple(x1.shape)}, input2 "
                               f"{tuple(x2.shape)})")
    for i, (x, k) in enumerate(((x1, 1), (x2, 2)), 1):
        if x.ndim == 0 or x.shape[-1] != weight.shape[k]:
            got = x.shape[-1] if x.ndim else "a 0-d tensor"
            raise RuntimeError(f"bilinear(): input{i} size does not match weight size: got "
                               f"{got} but expected {weight.shape[k]} (weight "
                               f"{tuple(weight.shape)} is (out, in1, in2))")
    if bias is not None:
        bias = _tensor(bias, "bilinear", "bias")
        if bias.ndim != 1 or bias.shape[0] != weight.shape[0]:
            raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                               f"{tuple(bias.shape)} but expected ({weight.shape[0]},)")
    y = ad.einsum("...i,oij,...j->...o", x1, weight, x2)
    return y if bias is None else y + bias
