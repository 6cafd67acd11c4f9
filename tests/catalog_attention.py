"""Catalog entries for attention (ENTRIES: a list of tests/catalog.py Op)."""

ENTRIES = []
