"""Matrix functions and decompositions for autodiff.linalg: det, slogdet, inv, solve, lstsq, cholesky, qr, svd, eigh, pinv, matrix_power, matrix_exp, norms."""

__all__ = []

# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {}
