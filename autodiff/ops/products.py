"""Products and distances beyond matmul: addmm family, mv, inner, tensordot, kron, cross, cdist/pdist, cov/corrcoef, trapezoid."""

__all__ = []

# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {}
