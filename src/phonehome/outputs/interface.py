"""Output formats: pure renderers from a ``Report`` to text or bytes."""

from __future__ import annotations

from typing import Protocol

from phonehome.errors import PhonehomeError
from phonehome.model import Report


class OutputError(PhonehomeError):
    """An output could not be produced."""


class OutputFormat(Protocol):
    """Renders a report. Implementations print nothing and depend only on the report."""

    name: str
    """Value of ``--format`` that selects this renderer."""
    suffix: str
    """File suffix for a default output name."""

    def render(self, report: Report) -> str:
        """The whole document for ``report``; deterministic for equal reports."""
        ...
