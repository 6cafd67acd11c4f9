"""Elementwise functions of one tensor beyond the core set: trigonometric and hyperbolic, exp/log variants, rounding parts, sign predicates, nan_to_num."""

__all__ = []

# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {}
