"""Benchmark case for a character-level Transformer step (registered into cases.CASES)."""
from cases import case  # noqa: F401
