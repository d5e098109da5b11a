"""Output formats by ``--format`` name."""

from __future__ import annotations

import enum
from typing import assert_never

from phonehome.outputs.interface import OutputFormat


class FormatChoice(enum.StrEnum):
    """Values of ``--format``."""

    terminal = "terminal"
    json = "json"
    html = "html"

    def to_format(self) -> OutputFormat:
        # Imported here so a command that never renders HTML does not load Jinja2.
        if self is FormatChoice.terminal:
            from phonehome.outputs.terminal import TerminalFormat

            return TerminalFormat()
        if self is FormatChoice.json:
            from phonehome.outputs.jsonformat import JsonFormat

            return JsonFormat()
        if self is FormatChoice.html:
            from phonehome.outputs.html import HtmlFormat

            return HtmlFormat()
        assert_never(self)
