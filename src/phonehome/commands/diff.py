"""``phonehome diff``: progress between two saved audits, or counts across all of them."""

from __future__ import annotations

import enum
import json
from typing import Annotated

import typer

from phonehome.cliutil import OutputOpt, WorkspaceOpt, open_workspace, reporting_errors, write_output
from phonehome.errors import UsageError


class DiffFormat(enum.StrEnum):
    """Values of ``diff --format``."""

    terminal = "terminal"
    json = "json"


def register(app: typer.Typer) -> None:
    """Add ``diff`` to ``app``."""

    @app.command()
    def diff(
        old: Annotated[
            int | None,
            typer.Argument(help="Older audit id (default: the second latest).", show_default=False),
        ] = None,
        new: Annotated[
            int | None, typer.Argument(help="Newer audit id (default: the latest).", show_default=False)
        ] = None,
        workspace: WorkspaceOpt = None,
        fmt: Annotated[
            DiffFormat, typer.Option("--format", "-f", help="Output format.")
        ] = DiffFormat.terminal,
        output: OutputOpt = None,
        show_trend: Annotated[
            bool, typer.Option("--trend", help="Counts for every saved audit instead of a comparison.")
        ] = False,
    ) -> None:
        """Devices removed, still present and new; new destinations; findings resolved and new."""
        with reporting_errors():
            from phonehome.outputs import diff as differ

            store = open_workspace(workspace)
            ids = [a.id for a in store.list_audits()]
            if show_trend:
                if old is not None or new is not None:
                    raise UsageError("--trend covers every audit; give no audit ids")
                if not ids:
                    store.load()  # raises the usual "no audits yet"
                points = differ.trend([store.load(i)[1] for i in ids])
                if fmt is DiffFormat.json:
                    write_output(json.dumps(differ.trend_to_dict(points, ids), indent=2) + "\n", output)
                else:
                    write_output(differ.render_trend_text(points, ids), output)
                return
            if new is None:
                if not ids:
                    store.load()
                new = ids[-1]
            if old is None:
                earlier = [i for i in ids if i < new]
                if not earlier:
                    raise UsageError(
                        f"{store.root}: no audit before audit {new} to compare with "
                        f"(saved: {', '.join(map(str, ids)) or 'none'})"
                    )
                old = earlier[-1]
            old_id, old_report = store.load(old)
            new_id, new_report = store.load(new)
            statuses = {d: e.status for d, e in store.plan_edits().items() if e.status}
            result = differ.diff_reports(old_report, new_report, statuses, old_id=old_id, new_id=new_id)
            if fmt is DiffFormat.json:
                write_output(json.dumps(differ.diff_to_dict(result), indent=2) + "\n", output)
            else:
                write_output(differ.render_text(result), output)
