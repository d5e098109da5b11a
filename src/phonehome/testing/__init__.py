"""Helpers for building deterministic synthetic packet captures in tests and the demo."""
