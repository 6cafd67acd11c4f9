"""Scaled dot-product attention as one fused primitive."""

__all__ = []
