"""``phonehome plan``: the removal and replacement plan, and importing the user's edits to it."""

from __future__ import annotations

import enum
from pathlib import Path
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
from phonehome.errors import UsageError


class PlanFormat(enum.StrEnum):
    """Values of ``plan --format``."""

    terminal = "terminal"
    csv = "csv"
    xlsx = "xlsx"


def _format_for(fmt: PlanFormat | None, output: str | None) -> PlanFormat:
    if fmt is not None:
        return fmt
    if output in (None, "-"):
        return PlanFormat.terminal
    return PlanFormat.xlsx if output.lower().endswith(".xlsx") else PlanFormat.csv


def register(app: typer.Typer) -> None:
    """Add ``plan`` to ``app``."""

    @app.command()
    def plan(
        workspace: WorkspaceOpt = None,
        audit_id: AuditIdOpt = None,
        fmt: Annotated[
            PlanFormat | None,
            typer.Option(
                "--format",
                "-f",
                help="terminal, csv or xlsx (default: from the -o suffix; terminal without -o).",
                show_default=False,
            ),
        ] = None,
        output: OutputOpt = None,
        import_path: Annotated[
            Path | None,
            typer.Option(
                "--import",
                help="Read the editable columns (owner, site, status, replacement, due date, notes) of an "
                "edited plan (.xlsx or .csv) into the workspace; they show in every later plan.",
                show_default=False,
            ),
        ] = None,
    ) -> None:
        """Removal and replacement plan: one row per affected device, with your edits kept across audits."""
        with reporting_errors():
            from phonehome.outputs import plan as planner

            store = open_workspace(workspace)
            if import_path is not None:
                rows = planner.read_plan(import_path)
                result = planner.merge_edits(import_path, rows, store.plan_edits(), store.device_ids())
                for warning in result.warnings:
                    err.print(f"phonehome: warning: {warning}", markup=False, soft_wrap=True)
                store.save_plan_edits(result.changed, imported_from=str(import_path))
                err.print(
                    f"{import_path}: {len(result.changed)} devices updated, {result.unchanged} unchanged, "
                    f"{result.skipped} skipped",
                    markup=False,
                    soft_wrap=True,
                )
                if output is None and fmt is None:
                    return
            chosen = _format_for(fmt, output)
            number, saved = store.load(audit_id)
            built = planner.build_plan(saved, store.plan_edits(), number)
            if chosen is PlanFormat.xlsx:
                if output in (None, "-"):
                    raise UsageError("--format xlsx: give an output file with -o FILE.xlsx")
                write_output(planner.render_xlsx(built), output)
            elif chosen is PlanFormat.csv:
                write_output(planner.render_csv(built, bom=output not in (None, "-")), output)
            else:
                write_output(planner.render_text(built), output)
            if output not in (None, "-"):
                err.print(
                    f"Plan for audit {number} ({len(built.rows)} devices) written to {output}",
                    markup=False,
                    soft_wrap=True,
                )
