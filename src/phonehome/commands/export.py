"""``phonehome export``: a saved audit as CycloneDX (hardware BOM) or STIX 2.1 (indicators)."""

from __future__ import annotations

import enum
from typing import Annotated, assert_never

import typer

from phonehome.cliutil import (
    AuditIdOpt,
    OutputOpt,
    WorkspaceOpt,
    err,
    open_workspace,
    reporting_errors,
    write_output,
)
from phonehome.model import Report


class ExportFormat(enum.StrEnum):
    """Values of ``phonehome export --format``."""

    cyclonedx = "cyclonedx"
    stix = "stix"

    def render(self, report: Report, audit_id: int | None = None) -> str:
        # Imported here so each export loads only the library it needs.
        if self is ExportFormat.cyclonedx:
            from phonehome.outputs.cyclonedx import render_cyclonedx

            return render_cyclonedx(report, audit_id)
        if self is ExportFormat.stix:
            from phonehome.outputs.stix import render_stix

            return render_stix(report, audit_id)
        assert_never(self)


def register(app: typer.Typer) -> None:
    """Add ``export`` to ``app``."""

    @app.command()
    def export(
        fmt: Annotated[
            ExportFormat,
            typer.Option(
                "--format",
                "-f",
                help="cyclonedx: CycloneDX 1.6 JSON, one hardware component per device; "
                "stix: STIX 2.1 bundle of vendor identities and endpoint indicators.",
                show_default=False,
            ),
        ],
        output: OutputOpt = None,
        workspace: WorkspaceOpt = None,
        audit_id: AuditIdOpt = None,
    ) -> None:
        """Export a saved audit for other tools: CycloneDX hardware BOM or STIX 2.1 bundle."""
        with reporting_errors():
            number, saved = open_workspace(workspace).load(audit_id)
            write_output(fmt.render(saved, number), output)
            if output not in (None, "-"):
                err.print(
                    f"{fmt.value} export of audit {number} written to {output}", markup=False, soft_wrap=True
                )
