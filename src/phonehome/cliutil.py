"""What every ``phonehome`` command shares: options, error reporting, workspace and output files.

Only the CLI decides how to exit; commands in ``phonehome.commands`` use these helpers too.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from phonehome import exitcodes
from phonehome.errors import PhonehomeError, UsageError
from phonehome.outputs.registry import FormatChoice
from phonehome.sources.interface import SourceError

if TYPE_CHECKING:
    from phonehome.store.workspace import Workspace

err = Console(stderr=True, highlight=False)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="PHONEHOME_HOME",
        help="Workspace directory (default: the user data directory).",
        show_default=False,
    ),
]
FormatOpt = Annotated[FormatChoice, typer.Option("--format", "-f", help="Output format.")]
OutputOpt = Annotated[
    str | None,
    typer.Option("--output", "-o", help="Write the output to FILE ('-' for stdout).", show_default=False),
]
AuditIdOpt = Annotated[
    int | None, typer.Option("--audit", help="Audit id (default: the latest).", show_default=False)
]


def fatal(message: str, code: int, hint: str | None = None) -> NoReturn:
    err.print(f"phonehome: error: {message}", markup=False, soft_wrap=True)
    if hint:
        err.print(f"Tip: {hint}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Map expected failures to one stderr line and a documented exit code."""
    try:
        yield
    except SourceError as e:
        fatal(str(e), exitcodes.UNREADABLE_INPUT)
    except PhonehomeError as e:
        fatal(str(e), exitcodes.USAGE)
    except KeyboardInterrupt:
        fatal("interrupted; nothing was stored", 130)


def open_workspace(path: Path | None) -> Workspace:
    from phonehome.store.workspace import Workspace, default_home

    return Workspace(path or default_home())


def write_output(data: str | bytes, output: str | None) -> None:
    """Write text (UTF-8) or bytes to ``output`` atomically, or to stdout for None or ``-``.

    A failed write leaves neither a partial file nor the temporary one.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if output in (None, "-"):
        sys.stdout.flush()
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
        return
    target = Path(output)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_bytes(raw)
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"{target}: cannot write output ({e.strerror or e})") from e


def write_json(payload: object, output: str | None = None) -> None:
    """``payload`` as indented JSON, the way every ``-f json`` command prints it."""
    write_output(json.dumps(payload, indent=2) + "\n", output)
