"""The root of phonehome's error hierarchy; each stage subclasses it in its ``interface.py``."""

from __future__ import annotations


class PhonehomeError(Exception):
    """An expected failure with a one-line message that starts with the file concerned."""


class UsageError(PhonehomeError):
    """The command line asked for something inconsistent or impossible."""
