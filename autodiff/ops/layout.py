"""Shape and joining ops beyond the core set: roll, rot90, movedim, atleast_*, h/v/dstack, tensor_split, tile, repeat_interleave, diff, meshgrid, block_diag, unfold."""

__all__ = []

# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {}
