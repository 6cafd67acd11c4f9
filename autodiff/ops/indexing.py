"""Indexing ops beyond getitem: index_select/copy/fill/reduce, masked ops, take, scatter family, select_scatter/slice_scatter, diagonal views, diag, trace, tril/triu indices."""

__all__ = []

# Tensor methods this family adds: name -> function (attached by autodiff/tensor_methods.py)
METHODS = {}
