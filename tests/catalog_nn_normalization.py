"""Catalog entries for nn_normalization (ENTRIES: a list of tests/catalog.py's Op)."""

ENTRIES = []
