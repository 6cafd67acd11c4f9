"""Sliding-block layers: Unfold (im2col) and Fold (col2im)."""

__all__ = []
