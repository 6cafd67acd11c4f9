"""Catalog entries for the products family (tests/catalog.py appends ENTRIES and merges the sets)."""
from catalog import Op  # noqa: F401  (and the shape/param helpers: unary, broadcastable, ...)

ENTRIES = []
NON_DIFFERENTIABLE = set()     # public functions with no gradient
