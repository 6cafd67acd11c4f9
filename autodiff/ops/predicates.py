"""Comparisons, predicates and random factories: isclose, equal, isin, isposinf, ..., logspace, normal, bernoulli, multinomial, poisson, *_like."""

__all__ = []

# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {}
