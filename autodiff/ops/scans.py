"""Reductions, scans and order statistics beyond the core set: cumulative products and extrema, median, quantile, mode, kthvalue, nan-reductions, unique, bincount, histc, searchsorted."""

__all__ = []

# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {}
