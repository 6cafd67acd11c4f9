"""Catalog entries for nn_normalization (see tests/catalog.py: ENTRIES, a list of Op, plus optional sets)."""

ENTRIES = []
