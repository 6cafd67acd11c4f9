"""Catalog entries for nn_sampling (ENTRIES: a list of tests/catalog.py's Op)."""

ENTRIES = []
