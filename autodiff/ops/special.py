"""Special functions for autodiff.special: gamma family, Bessel i0/i1, erf family, ndtr, entr, xlog1py (scipy.special forwards through the [special] extra where numpy lacks them)."""

__all__ = []

# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {}
