"""The mutation-testing harness behind scripts/mutation.py (docs/guides/mutation-testing.md)."""
