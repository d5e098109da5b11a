"""``phonehome apk FILES_OR_DIRS...``: permissions, signers, tracker SDKs and hard-coded endpoints of APKs.

Directories are walked for files that are APKs by content (a zip listing ``AndroidManifest.xml``);
files named on the command line are analysed whatever they are. An APK that cannot be analysed
(zip bomb, over the size limit, truncated, malformed dex, over the time budget) gets one warning
line on stderr and the others go on; the exit status is then 3 (``exitcodes.UNREADABLE_INPUT``).
"""

from __future__ import annotations

import enum
import io
import json
import shutil
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from phonehome import exitcodes
from phonehome.cliutil import OutputOpt, err, reporting_errors, write_output
from phonehome.errors import UsageError

if TYPE_CHECKING:
    from phonehome.analyze.apk import ApkReport, ApkResult
    from phonehome.intel.loader import Intel

PIPED_WIDTH = 160
"""Table width when the output is not a terminal."""
JSON_SCHEMA = "phonehome-apk/1"


class ApkFormat(enum.StrEnum):
    """Values of ``apk --format``."""

    terminal = "terminal"
    json = "json"


def find_apks(paths: Sequence[Path]) -> list[Path]:
    """Named files as given; directories walked (sorted, hidden entries skipped) for APKs by content."""
    from phonehome.sources.apk import MANIFEST

    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)
            continue
        inside = []
        for child in sorted(path.rglob("*")):
            if not child.is_file() or any(p.startswith(".") for p in child.relative_to(path).parts):
                continue
            try:
                with zipfile.ZipFile(child) as zf:
                    if MANIFEST in zf.namelist():
                        inside.append(child)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
                continue
        if not inside:
            raise UsageError(f"{path}: no APK files (zips holding AndroidManifest.xml)")
        found += inside
    return found


def register(app: typer.Typer) -> None:
    """Add ``apk`` to ``app``."""

    @app.command()
    def apk(
        paths: Annotated[
            list[Path],
            typer.Argument(help="APK files, or directories holding them.", show_default=False),
        ],
        fmt: Annotated[ApkFormat, typer.Option("--format", "-f", help="Output format.")] = ApkFormat.terminal,
        output: OutputOpt = None,
        max_size: Annotated[
            int, typer.Option("--max-size", help="Largest APK to read, in MiB.", min=1)
        ] = 512,
        max_uncompressed: Annotated[
            int,
            typer.Option(
                "--max-uncompressed", help="Largest total declared uncompressed size, in MiB.", min=1
            ),
        ] = 1024,
        time_budget: Annotated[
            float,
            typer.Option("--time-budget", help="Seconds one APK's analysis may take (0: no limit).", min=0),
        ] = 120.0,
        intel_dir: Annotated[
            list[Path] | None,
            typer.Option("--intel", help="Extra intel data directory (repeatable).", show_default=False),
        ] = None,
    ) -> None:
        """Permissions, signing certificates, tracker SDKs and hard-coded endpoints of Android packages."""
        with reporting_errors():
            from phonehome.analyze.apk import ApkFailure, analyze_apks
            from phonehome.intel.loader import default_intel, load_intel
            from phonehome.sources.apk import ApkLimits

            intel = load_intel(intel_dir) if intel_dir else default_intel()
            limits = ApkLimits(
                max_file_bytes=max_size << 20,
                max_uncompressed_bytes=max_uncompressed << 20,
                time_budget=time_budget,
            )
            results = list(analyze_apks(find_apks(paths), intel, limits))
            failures = [r for r in results if isinstance(r, ApkFailure)]
            for failure in failures:
                err.print(f"phonehome: warning: {failure.reason}", markup=False, soft_wrap=True)
            if fmt is ApkFormat.json:
                text = json.dumps(results_to_dict(results, intel), indent=2, ensure_ascii=False) + "\n"
            else:
                text = render_text(results, intel, _width(output))
            write_output(text, output)
            if failures:
                done = len(results) - len(failures)
                err.print(f"phonehome: {done} APK(s) analysed, {len(failures)} failed", markup=False)
                raise typer.Exit(exitcodes.UNREADABLE_INPUT)


def _width(output: str | None) -> int:
    if output in (None, "-") and sys.stdout.isatty():
        return max(80, shutil.get_terminal_size().columns)
    return PIPED_WIDTH


# --- JSON -------------------------------------------------------------------------------------


def results_to_dict(results: Sequence[ApkResult], intel: Intel) -> dict[str, Any]:
    """The JSON document: analysed APKs and failures, in input order."""
    from phonehome.analyze.apk import ApkFailure

    return {
        "schema": JSON_SCHEMA,
        "intel_version": intel.version,
        "apks": [report_to_dict(r, intel) for r in results if not isinstance(r, ApkFailure)],
        "failed": [{"path": r.path, "reason": r.reason} for r in results if isinstance(r, ApkFailure)],
    }


def report_to_dict(report: ApkReport, intel: Intel) -> dict[str, Any]:
    manifest = asdict(report.manifest)
    manifest.pop("values", None)
    manifest.pop("permissions", None)
    return {
        "path": report.path,
        "sha256": report.sha256,
        "size": report.size,
        **manifest,
        "permissions": [asdict(p) for p in report.permissions],
        "dangerous_permissions": sum(p.dangerous for p in report.permissions),
        "signature_schemes": list(report.schemes),
        "certificates": [asdict(c) for c in report.certificates],
        "trackers": [{**asdict(t), "owner_name": intel.name(t.entity) or t.owner} for t in report.trackers],
        "endpoints": [{**asdict(e), "owner_name": intel.name(e.entity)} for e in report.endpoints],
        "code": asdict(report.code),
        "notes": list(report.notes),
    }


# --- terminal ---------------------------------------------------------------------------------


def render_text(results: Sequence[ApkResult], intel: Intel, width: int = PIPED_WIDTH) -> str:
    """Plain text: one block per APK, then the failures."""
    from rich.console import Console

    from phonehome.analyze.apk import ApkFailure

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system=None,
        force_terminal=False,
        no_color=True,
        highlight=False,
        emoji=False,
        markup=False,
    )
    reports = [r for r in results if not isinstance(r, ApkFailure)]
    failures = [r for r in results if isinstance(r, ApkFailure)]
    for i, report in enumerate(reports):
        if i:
            console.print()
        _print_report(console, report, intel)
    if failures:
        if reports:
            console.print()
        console.print(f"Not analysed ({len(failures)})")
        for failure in failures:
            console.print(f"  {failure.reason}", soft_wrap=True)
    if not results:
        console.print("no APKs")
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def _print_report(console: Any, report: ApkReport, intel: Intel) -> None:
    from rich.table import Table

    m = report.manifest
    version = m.version_name or "?"
    if m.version_code:
        version += f" ({m.version_code})"
    label = f'  "{m.label}"' if m.label else ""
    console.print(f"{m.package} {version}{label}", soft_wrap=True)
    console.print(f"  file      {report.path}  {_size(report.size)}  sha256 {report.sha256}", soft_wrap=True)
    min_sdk = m.min_sdk if m.min_sdk is not None else "?"
    target_sdk = m.target_sdk if m.target_sdk is not None else "?"
    sdk = f"min SDK {min_sdk}, target SDK {target_sdk}"
    code = report.code
    console.print(
        f"  code      {len(code.dex_files)} dex, {code.classes} classes, {code.strings} strings; {sdk}"
    )
    if report.certificates:
        for cert in report.certificates:
            console.print(f"  signed    {'+'.join(cert.schemes)}  {cert.subject}", soft_wrap=True)
            issuer = "self-signed" if cert.issuer == cert.subject else f"issuer {cert.issuer}"
            console.print(
                f"            sha256 {cert.sha256}  {issuer}  "
                f"valid {cert.not_before[:10]} to {cert.not_after[:10]}",
                soft_wrap=True,
            )
    else:
        console.print("  signed    no (unsigned APK)")
    dangerous = [p.name for p in report.permissions if p.dangerous]
    others = [p.name for p in report.permissions if not p.dangerous]
    console.print(f"  permissions  {len(report.permissions)} requested, {len(dangerous)} dangerous")
    for name in dangerous:
        console.print(f"    ! {name}")
    for name in others:
        console.print(f"      {name}")
    if report.trackers:
        table = Table(title=f"Tracker SDKs ({len(report.trackers)})", title_justify="left", expand=False)
        for column in ("tracker", "owner", "categories", "code signatures", "classes", "hosts"):
            table.add_column(column, overflow="fold")
        for hit in report.trackers:
            table.add_row(
                hit.name,
                intel.name(hit.entity) or hit.owner,
                ", ".join(hit.categories),
                " ".join(hit.signatures) or "-",
                str(hit.classes),
                " ".join(hit.hosts) or "-",
            )
        console.print(table)
    else:
        console.print("  trackers  none of the catalogue's code signatures")
    if report.endpoints:
        table = Table(
            title=f"Hard-coded endpoints ({len(report.endpoints)})", title_justify="left", expand=False
        )
        for column in ("host", "owner", "purpose", "tracker", "found in", "example"):
            table.add_column(column, overflow="fold")
        for e in report.endpoints:
            table.add_row(
                e.host,
                intel.name(e.entity) or "-",
                e.purpose or "-",
                e.tracker or "-",
                ", ".join(e.found_in),
                e.urls[0] if e.urls else "-",
            )
        console.print(table)
    else:
        console.print("  endpoints none found")
    for note in report.notes:
        console.print(f"  note      {note}", soft_wrap=True)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"
