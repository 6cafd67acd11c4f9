"""Attention (torch.nn.modules.activation's MultiheadAttention)."""

__all__ = []
