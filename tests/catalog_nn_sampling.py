"""Catalog entries for nn_sampling (see tests/catalog.py: ENTRIES, a list of Op, plus optional sets)."""

ENTRIES = []
