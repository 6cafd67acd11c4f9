"""Catalog entries for pooling (see tests/catalog.py: ENTRIES, a list of Op, plus optional sets)."""

ENTRIES = []
