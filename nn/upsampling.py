"""Resampling layers: Upsample and its fixed-mode forms."""

__all__ = []
