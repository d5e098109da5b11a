"""``phonehome phone``: an Android handset's ROM, region and OEM components, from adb outputs.

Inputs are files the user saved (``pm list packages``, ``dumpsys package``, ``getprop``, an
``adb bugreport`` zip; see ``sources/android.py``) or, with ``--adb``, the connected handset,
read with ``adb shell getprop`` and ``adb shell dumpsys package`` only. Nothing that changes the
handset runs unless ``--apply`` is given with ``--adb`` and ``--script``, and then only after a
confirmation (or ``--yes``).
"""

from __future__ import annotations

import enum
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from phonehome.cliutil import OutputOpt, err, reporting_errors, write_output
from phonehome.errors import PhonehomeError, UsageError

if TYPE_CHECKING:
    from phonehome.outputs.handset import ScriptAction, ScriptStep
    from phonehome.sources.android import AndroidDump

READ_COMMANDS: tuple[tuple[str, ...], ...] = (("shell", "getprop"), ("shell", "dumpsys", "package"))
"""The only adb commands run without ``--apply``: both read, neither changes the handset."""
ADB_TIMEOUT = 300
"""Seconds one adb command may take (``dumpsys package`` on a handset with many apps is slow)."""


class PhoneFormat(enum.StrEnum):
    """Values of ``phone --format``."""

    terminal = "terminal"
    json = "json"


class ScriptChoice(enum.StrEnum):
    """Values of ``phone --script``."""

    disable = "disable"
    uninstall = "uninstall"
    restore = "restore"


def find_adb() -> str:
    """The adb executable on PATH; raises ``UsageError`` when there is none."""
    path = shutil.which("adb")
    if path is None:
        raise UsageError("adb: not found on PATH; install Android platform-tools or give saved adb outputs")
    return path


def run_adb(adb: str, serial: str | None, args: Sequence[str], timeout: int = ADB_TIMEOUT) -> bytes:
    """Run ``adb [-s SERIAL] ARGS`` (no shell) and return its output; raises ``PhonehomeError``."""
    argv = [adb, *(["-s", serial] if serial else []), *args]
    shown = "adb " + " ".join(args)
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise PhonehomeError(f"{shown}: no answer within {timeout} s") from None
    except OSError as e:
        raise PhonehomeError(f"{shown}: cannot run adb ({e.strerror or e})") from e
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).decode("utf-8", errors="replace").strip().splitlines()
        reason = lines[0] if lines else f"exit status {proc.returncode}"
        hint = " (give --serial)" if "more than one" in reason else ""
        raise PhonehomeError(f"{shown}: {reason}{hint}")
    return proc.stdout


def collect(adb: str, serial: str | None) -> list[AndroidDump]:
    """Read the connected handset: ``getprop`` and ``dumpsys package``, parsed as saved files are."""
    from phonehome.sources.android import parse_lines

    dumps = []
    for args in READ_COMMANDS:
        data = run_adb(adb, serial, args)
        source = "adb" + (f"-{serial}" if serial else "") + ":" + " ".join(args[1:])
        dump = parse_lines(data.decode("utf-8", errors="replace").splitlines(), source)
        dump.sha256 = hashlib.sha256(data).hexdigest()
        dumps.append(dump)
    return dumps


def _input_files(paths: Sequence[Path]) -> list[Path]:
    from phonehome.sources.android import is_android_input

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = [p for p in sorted(path.rglob("*")) if p.is_file() and is_android_input(p)]
            if not found:
                raise UsageError(
                    f"{path}: no adb outputs (pm list packages, dumpsys package, getprop, bugreport)"
                )
            files += found
        else:
            files.append(path)
    return files


def register(app: typer.Typer) -> None:
    """Add ``phone`` to ``app``."""

    @app.command()
    def phone(
        files: Annotated[
            list[Path] | None,
            typer.Argument(
                help="Saved adb outputs of one handset: pm list packages, dumpsys package, getprop, "
                "bugreport zip (recognised by content).",
                show_default=False,
            ),
        ] = None,
        adb: Annotated[
            bool,
            typer.Option("--adb", help="Read the connected handset with adb (getprop, dumpsys package)."),
        ] = False,
        serial: Annotated[
            str | None,
            typer.Option("--serial", "-s", help="adb serial of the handset, when several are connected."),
        ] = None,
        script: Annotated[
            ScriptChoice | None,
            typer.Option(
                "--script",
                help="Print an adb script: disable (pm disable-user), uninstall (pm uninstall --user 0) "
                "or restore (pm enable / cmd package install-existing).",
                show_default=False,
            ),
        ] = None,
        select: Annotated[
            list[str] | None,
            typer.Option(
                "--select",
                help="Component, package or purpose for --script (repeatable; default: components "
                "rated safe that are enabled).",
                show_default=False,
            ),
        ] = None,
        apply: Annotated[
            bool,
            typer.Option("--apply", help="Run the --script commands on the handset (needs --adb)."),
        ] = False,
        yes: Annotated[
            bool, typer.Option("--yes", help="With --apply: do not ask for confirmation.")
        ] = False,
        fmt: Annotated[
            PhoneFormat, typer.Option("--format", "-f", help="Report format.")
        ] = PhoneFormat.terminal,
        output: OutputOpt = None,
    ) -> None:
        """An Android handset's ROM, region and OEM components (analytics, ads, input methods, ...)."""
        with reporting_errors():
            from phonehome.analyze.handset import analyze_handset
            from phonehome.intel.loader import default_intel
            from phonehome.outputs import handset as render
            from phonehome.sources.android import read_dump

            if files and adb:
                raise UsageError("give adb output files or --adb, not both")
            if not files and not adb:
                raise UsageError("give saved adb outputs (FILES...) or --adb to read the connected handset")
            if apply and (script is None or not adb):
                raise UsageError("--apply runs a --script on the handset: it needs --script and --adb")
            if select and script is None:
                raise UsageError("--select chooses the components of a --script")
            adb_path = find_adb() if adb else None
            if adb_path is not None:
                dumps = collect(adb_path, serial)
            else:
                dumps = [read_dump(p) for p in _input_files(files or [])]
            report = analyze_handset(dumps, default_intel())
            for summary in report.inputs:
                for problem in summary.errors:
                    err.print(f"phonehome: warning: {summary.path}: {problem}", markup=False, soft_wrap=True)
            if script is None:
                text = render.render_json(report) if fmt is PhoneFormat.json else render.render_text(report)
                write_output(text, output)
                return
            action = cast("ScriptAction", script.value)
            chosen = render.select_components(report, action, select or [])
            write_output(render.render_script(report, action, chosen), output)
            if apply and adb_path is not None:
                _apply(adb_path, serial, render.script_steps(action, chosen), yes)


def _apply(adb: str, serial: str | None, steps: Sequence[ScriptStep], yes: bool) -> None:
    commands = [cmd for step in steps for cmd in step.commands]
    if not commands:
        err.print("phonehome: nothing to run", markup=False)
        return
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("--apply: confirm on a terminal, or add --yes")
        if not typer.confirm(f"Run these {len(commands)} adb commands on the handset?", default=False):
            raise typer.Exit(1)
    failed = 0
    for cmd in commands:
        shown = "adb " + " ".join(cmd)
        try:
            out = run_adb(adb, serial, cmd, timeout=60).decode("utf-8", errors="replace").strip()
            err.print(f"{shown}: {out or 'done'}", markup=False, soft_wrap=True)
        except PhonehomeError as e:
            failed += 1
            err.print(f"phonehome: warning: {e}", markup=False, soft_wrap=True)
    if failed:
        raise PhonehomeError(f"adb: {failed} of {len(commands)} commands failed (see above)")
    err.print("Done; run `phonehome phone --adb` again to see the new state.", markup=False)
