"""Catalog entries for nn_activation (ENTRIES: a list of tests/catalog.py's Op)."""

ENTRIES = []
