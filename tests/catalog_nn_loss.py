"""Catalog entries for nn_loss (ENTRIES: a list of tests/catalog.py's Op)."""

ENTRIES = []
