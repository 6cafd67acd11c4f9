"""Resampling and padding."""

import autodiff as ad

__all__ = ['pad']


pad = ad.pad
