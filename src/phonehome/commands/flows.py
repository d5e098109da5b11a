"""``phonehome flows DEVICE``: where one device sent data, when, and whether it did so while idle."""

from __future__ import annotations

import enum
import json
import shutil
import sys
from typing import Annotated

import typer

from phonehome.cliutil import (
    AuditIdOpt,
    OutputOpt,
    WorkspaceOpt,
    open_workspace,
    reporting_errors,
    write_output,
)
from phonehome.errors import UsageError

PIPED_WIDTH = 160
"""Table width when the output is not a terminal."""


class FlowsFormat(enum.StrEnum):
    """Values of ``phonehome flows --format``."""

    terminal = "terminal"
    json = "json"


FormatOpt = Annotated[FlowsFormat, typer.Option("--format", "-f", help="Output format.")]


def _width(output: str | None) -> int:
    if output in (None, "-") and sys.stdout.isatty():
        return max(80, shutil.get_terminal_size().columns)
    return PIPED_WIDTH


def register(app: typer.Typer) -> None:
    @app.command()
    def flows(
        device: Annotated[str, typer.Argument(help="Device id, MAC, IP or host name.", show_default=False)],
        workspace: WorkspaceOpt = None,
        audit_id: AuditIdOpt = None,
        fmt: FormatOpt = FlowsFormat.terminal,
        output: OutputOpt = None,
    ) -> None:
        """Every destination of one device: volumes, owner, country, period and traffic while idle."""
        with reporting_errors():
            from phonehome.outputs.explain import DeviceNotFound, find_device

            _, saved = open_workspace(workspace).load(audit_id)
            try:
                found = find_device(saved, device)
            except DeviceNotFound as e:
                raise UsageError(str(e)) from None
            if fmt is FlowsFormat.json:
                from phonehome.outputs.jsonformat import report_to_dict
                from phonehome.outputs.summary import device_flows

                payload = device_flows(report_to_dict(saved), found.id)
                write_output(json.dumps(payload, indent=2) + "\n", output)
                return
            from phonehome.outputs.terminal import render_flows

            write_output(render_flows(saved, found, _width(output)), output)
