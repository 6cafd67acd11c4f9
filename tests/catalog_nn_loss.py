"""Catalog entries for nn_loss (see tests/catalog.py: ENTRIES, a list of Op, plus optional sets)."""

ENTRIES = []
