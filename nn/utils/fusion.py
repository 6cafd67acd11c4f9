"""Folding an eval-mode BatchNorm into the conv or linear layer before it (torch.nn.utils
.fusion): one layer computing bn(layer(x)) with the running statistics."""
import copy

import autodiff as ad
from nn.parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """W' = W s, b' = (b - mean) s + beta with s = gamma / sqrt(var + eps) per output channel
    (dim 1 of W for a transposed conv); returns (W', b') as Parameters."""
    w_dtype = conv_w.dtype
    b_dtype = w_dtype if conv_b is None else conv_b.dtype
    with ad.no_grad():
        conv_b = ad.zeros_like(bn_rm) if conv_b is None else conv_b
        bn_w = ad.ones_like(bn_rm) if bn_w is None else bn_w
        bn_b = ad.zeros_like(bn_rm) if bn_b is None else bn_b
        rsqrt = (bn_rv + bn_eps).rsqrt()
        shape = ([1, -1] if transpose else [-1, 1]) + [1] * (conv_w.ndim - 2)
        w = (conv_w * (bn_w * rsqrt).reshape(shape)).to(w_dtype)
        b = ((conv_b - bn_rm) * rsqrt * bn_w + bn_b).to(b_dtype)
    return Parameter(w, conv_w.requires_grad), Parameter(b, conv_b.requires_grad)


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of conv (eval mode) whose output equals bn(conv(x)) for eval-mode bn."""
    if conv.training or bn.training:
        raise AssertionError("Fusion only for eval! (call .eval() on the conv and the bn first)")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("fuse_conv_bn_eval: bn needs running statistics "
                             "(track_running_stats=True)")
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias,
        transpose)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """W' = diag(s) W, b' = (b - mean) s + beta with s = gamma / sqrt(var + eps); returns
    (W', b') as Parameters."""
    with ad.no_grad():
        if linear_b is None:
            linear_b = ad.zeros_like(bn_rm)
        scale = bn_w * (bn_rv + bn_eps).rsqrt()
        w = linear_w * scale.unsqueeze(-1)
        b = (linear_b - bn_rm) * scale + bn_b
    return Parameter(w, linear_w.requires_grad), Parameter(b, linear_b.requires_grad)


def fuse_linear_bn_eval(linear, bn):
    """A copy of linear (eval mode) whose output equals bn(linear(x)) for eval-mode bn."""
    if linear.training or bn.training:
        raise AssertionError("Fusion only for eval! (call .eval() on the linear and the bn "
                             "first)")
    if not (linear.out_features == bn.num_features or bn.num_features == 1):
        raise AssertionError("To fuse, linear.out_features must equal bn.num_features or "
                             "bn.num_features must be 1")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("fuse_linear_bn_eval: bn needs running statistics "
                             "(track_running_stats=True)")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    return fused
