"""Elementwise functions of two or three tensors beyond the core arithmetic: atan2, hypot, remainders, fmax/fmin, logaddexp, lerp, xlogy, float_power, addcmul/addcdiv, bitwise and shifts."""

__all__ = []

# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {}
