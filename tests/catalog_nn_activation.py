"""Catalog entries for nn_activation (see tests/catalog.py: ENTRIES, a list of Op, plus optional sets)."""

ENTRIES = []
