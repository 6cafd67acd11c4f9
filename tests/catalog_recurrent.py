"""Catalog entries for recurrent (ENTRIES: a list of tests/catalog.py Op)."""

ENTRIES = []
