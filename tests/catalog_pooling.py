"""Catalog entries for pooling (ENTRIES: a list of tests/catalog.py's Op)."""

ENTRIES = []
