"""``phonehome compliance``: a policy pack's compliance report (HTML or PDF) from a saved audit."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
from phonehome.errors import UsageError

if TYPE_CHECKING:
    from phonehome.model import Report
    from phonehome.store.workspace import Workspace


class ComplianceFormat(enum.StrEnum):
    """Values of ``phonehome compliance --format``."""

    html = "html"
    pdf = "pdf"


def older_audits(store: Workspace, number: int) -> list[Report]:
    """Every audit saved in ``store`` before audit ``number``, oldest first."""
    return [store.load(row.id)[1] for row in store.list_audits() if row.id < number]


def register(app: typer.Typer) -> None:
    @app.command()
    def compliance(
        policy: Annotated[
            str,
            typer.Option(
                "--policy",
                "-p",
                help="Policy pack to report on: ndaa-889, fcc-covered-list, uk-sensitive-sites-2022, ...",
                show_default=False,
            ),
        ],
        fmt: Annotated[
            ComplianceFormat | None,
            typer.Option(
                "--format",
                "-f",
                help="html or pdf (default: pdf when the output ends in .pdf, else html).",
                show_default=False,
            ),
        ] = None,
        output: OutputOpt = None,
        workspace: WorkspaceOpt = None,
        audit_id: AuditIdOpt = None,
        trend: Annotated[
            bool, typer.Option(help="Add a trend section from the workspace's older audits.")
        ] = True,
        policy_pack: Annotated[
            list[Path] | None,
            typer.Option(
                "--policy-pack", help="Extra policy pack YAML file (repeatable).", show_default=False
            ),
        ] = None,
    ) -> None:
        """Compliance report for one policy pack: scope, method, findings, status and limits."""
        with reporting_errors():
            run_compliance(policy, fmt, output, workspace, audit_id, trend, policy_pack or [])


def run_compliance(
    policy: str,
    fmt: ComplianceFormat | None,
    output: str | None,
    workspace: Path | None,
    audit_id: int | None,
    trend: bool,
    policy_pack: list[Path],
) -> None:
    """Render and write the compliance report (shared by ``compliance`` and ``report --policy``)."""
    from phonehome.intel.loader import default_intel, load_intel
    from phonehome.outputs.compliance import render_compliance

    chosen = fmt or (
        ComplianceFormat.pdf if output and output.lower().endswith(".pdf") else ComplianceFormat.html
    )
    if chosen is ComplianceFormat.pdf and output is None and sys.stdout.isatty():
        raise UsageError("--format pdf: give --output FILE (or '-' to write the PDF to stdout)")
    intel = load_intel((), policy_pack) if policy_pack else default_intel()
    if policy not in intel.packs:
        raise UsageError(f"--policy: unknown pack {policy!r} (known: {', '.join(sorted(intel.packs))})")
    store = open_workspace(workspace)
    number, saved = store.load(audit_id)
    history = older_audits(store, number) if trend else None
    status = {device: edit.status or "open" for device, edit in store.plan_edits().items()}
    data = render_compliance(
        saved, policy, intel, chosen.value, history=history, plan_status=status, audit_id=number
    )
    write_output(data, output)
    if output not in (None, "-"):
        err.print(f"Compliance report written to {output}", markup=False, soft_wrap=True)
