"""Synthetic sample cases that the demo and the tests run end to end (data, not code)."""
