"""Benchmark cases for the recurrent layers (registered into cases.CASES)."""
from cases import case  # noqa: F401
