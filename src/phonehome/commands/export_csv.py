"""``phonehome export-csv devices|findings``: plain CSV tables of a saved audit.

A group of its own because ``phonehome export`` (CycloneDX, STIX) is one command with ``-f``.
"""

from __future__ import annotations

from typing import Annotated

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

export_app = typer.Typer(
    name="export-csv",
    help="Devices or findings of a saved audit as plain CSV (sorted; formula-like cells neutralised).",
    no_args_is_help=True,
)

BomOpt = Annotated[
    bool,
    typer.Option(
        "--bom", help="Start with a UTF-8 byte-order mark, so Excel reads non-ASCII text correctly."
    ),
]


def _write(text: str, output: str | None, what: str, audit: int) -> None:
    write_output(text, output)
    if output not in (None, "-"):
        err.print(f"{what} of audit {audit} written to {output}", markup=False, soft_wrap=True)


@export_app.command("devices")
def devices(
    workspace: WorkspaceOpt = None,
    audit_id: AuditIdOpt = None,
    output: OutputOpt = None,
    bom: BomOpt = False,
) -> None:
    """Devices as CSV: id, MAC, IPs, host names, vendor, brand, model, firmware, type, confidence, sources."""
    with reporting_errors():
        from phonehome.outputs.csvexport import devices_csv

        number, saved = open_workspace(workspace).load(audit_id)
        _write(devices_csv(saved, bom=bom), output, f"{len(saved.devices)} devices", number)


@export_app.command("findings")
def findings(
    workspace: WorkspaceOpt = None,
    audit_id: AuditIdOpt = None,
    output: OutputOpt = None,
    bom: BomOpt = False,
) -> None:
    """Findings as CSV: id, rule, policy, severity, device, title, evidence, references."""
    with reporting_errors():
        from phonehome.outputs.csvexport import findings_csv

        number, saved = open_workspace(workspace).load(audit_id)
        _write(findings_csv(saved, bom=bom), output, f"{len(saved.findings)} findings", number)


def register(app: typer.Typer) -> None:
    """Add the ``export-csv`` group to ``app``."""
    app.add_typer(export_app)
