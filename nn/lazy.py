"""Lazy modules: shapes inferred from the first input (LazyLinear, LazyConv*, ...)."""

__all__ = []
