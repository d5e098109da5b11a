"""The ``phonehome`` command line. Only this module decides how to report errors and exit."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from phonehome import __version__, exitcodes
from phonehome.cliutil import (
    AuditIdOpt,
    FormatOpt,
    OutputOpt,
    WorkspaceOpt,
    err,
    open_workspace,
    reporting_errors,
    write_json,
    write_output,
)
from phonehome.commands import register_all
from phonehome.errors import UsageError
from phonehome.model import Report, Severity
from phonehome.outputs.registry import FormatChoice
from phonehome.sources.interface import ProgressCallback

app = typer.Typer(
    name="phonehome",
    help=(
        "Audit a network for equipment from restricted vendors and for data leaving it.\n\n"
        "Exit codes: 0 no finding at or above --fail-on; 1 findings; 2 usage error; "
        "3 unreadable input (nothing stored)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _table_console() -> Console:
    """Tables use the terminal's width, or a fixed readable width when piped."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _emit(report: Report, fmt: FormatChoice, output: str | None, default_html: Path | None) -> None:
    if fmt is FormatChoice.terminal and output in (None, "-"):
        from phonehome.outputs.terminal import print_summary

        # Piped output gets a fixed readable width instead of rich's 80-column default.
        print_summary(report, Console(highlight=False, width=None if sys.stdout.isatty() else 140))
        return
    if fmt is FormatChoice.html and output is None and default_html is not None:
        default_html.parent.mkdir(parents=True, exist_ok=True)
        output = str(default_html)
    write_output(fmt.to_format().render(report), output)
    if output not in (None, "-"):
        err.print(f"Report written to {output}", markup=False, soft_wrap=True)


def _exit_for(report: Report, fail_on: str) -> int:
    if fail_on == "never":
        return exitcodes.OK
    threshold = Severity.parse(fail_on)
    return exitcodes.FINDINGS if any(f.severity >= threshold for f in report.findings) else exitcodes.OK


@contextmanager
def _progress(enabled: bool) -> Iterator[ProgressCallback | None]:
    if not enabled:
        yield None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                label = "reading capture" if phase == "read" else "metering flows"
                tasks[phase] = bar.add_task(label, total=total or None)
            if phase == "flows":
                bar.update(tasks[phase], completed=done, description=f"metering flows ({done:,})")
            else:
                bar.update(tasks[phase], completed=done, total=total or None)

        def callback(phase: str, done: int, total: int) -> None:
            if phase == "read" and "flows" in tasks:
                # A new input starts: restart the per-file bars.
                for task in tasks.values():
                    bar.remove_task(task)
                tasks.clear()
            update(phase, done, total)

        yield callback


FAIL_ON_CHOICES = ("info", "low", "medium", "high", "critical", "never")


@app.command()
def audit(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="Evidence files or directories: captures (pcap, pcapng, .gz), nmap XML, Zeek logs, DHCP "
            "leases, ARP/neighbour and MAC tables, nfdump CSV, CSV/XLSX asset registers. "
            "Each file's kind is detected from its content.",
            show_default=False,
        ),
    ],
    fmt: FormatOpt = FormatChoice.terminal,
    output: OutputOpt = None,
    workspace: WorkspaceOpt = None,
    policy: Annotated[
        list[str] | None,
        typer.Option(
            "--policy",
            "-p",
            help="Policy pack id to apply (repeatable; default: all).",
            show_default=False,
        ),
    ] = None,
    policy_pack: Annotated[
        list[Path] | None,
        typer.Option("--policy-pack", help="Extra policy pack YAML file (repeatable).", show_default=False),
    ] = None,
    intel_dir: Annotated[
        list[Path] | None,
        typer.Option("--intel", help="Extra intel data directory (repeatable).", show_default=False),
    ] = None,
    watch_country: Annotated[
        list[str] | None,
        typer.Option(
            "--watch-country",
            help="ISO country code whose destinations raise a finding (repeatable; 'none' for no list). "
            "Default: the countries of the vendors named by the enabled policies.",
            envvar="PHONEHOME_WATCH_COUNTRIES",
            show_default=False,
        ),
    ] = None,
    local_net: Annotated[
        list[str] | None,
        typer.Option("--local-net", help="Extra local network CIDR (repeatable).", show_default=False),
    ] = None,
    min_confidence: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Minimum attribution confidence for a vendor finding."),
    ] = 0.5,
    skip_rule: Annotated[
        list[str] | None,
        typer.Option("--skip-rule", help="Rule id to skip (repeatable).", show_default=False),
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            help="Exit 1 when a finding is at least this severity: " + ", ".join(FAIL_ON_CHOICES) + "."
        ),
    ] = "high",
    identifiers: Annotated[
        list[Path] | None,
        typer.Option(
            "--identifiers",
            help="YAML file of a device's own identifiers (IMEI, serial, MACs, Android/advertising ID, "
            "phone, e-mail, home location) or a saved adb getprop/dumpsys output; searched for in every "
            "readable request (repeatable). See docs/leaks.md.",
            show_default=False,
        ),
    ] = None,
    proxy_device: Annotated[
        str | None,
        typer.Option(
            "--proxy-device",
            help="MAC or IP of the device behind HAR/proxy records that do not name their client.",
            show_default=False,
        ),
    ] = None,
    generic_leaks: Annotated[
        bool,
        typer.Option(
            "--generic-leaks/--no-generic-leaks",
            help="Also flag identifier-like values (IMEIs, MACs, coordinates, e-mails, phone numbers).",
        ),
    ] = True,
    idle_window: Annotated[
        list[str] | None,
        typer.Option(
            "--idle-window",
            help="START/END (ISO 8601; either side may be a duration like PT8H) when the devices were "
            "left idle (repeatable). Default: idleness is inferred from each device's own traffic.",
            show_default=False,
        ),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            help="Asset register column mapping, e.g. 'mac=\"Hardware ID\",vendor=Make,ip=Address' "
            "(roles: mac, ip, hostname, vendor, brand, model, type, firmware, serial, location, notes).",
            show_default=False,
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            "--sheet", help="XLSX asset register: sheet to read (default: the first).", show_default=False
        ),
    ] = None,
    save: Annotated[bool, typer.Option(help="Save the audit in the workspace.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Audit evidence files: devices, vendors, restricted equipment and where data goes."""
    with reporting_errors():
        if fail_on not in FAIL_ON_CHOICES:
            raise UsageError(f"--fail-on: expected one of {', '.join(FAIL_ON_CHOICES)}, got {fail_on!r}")
        nets = []
        for text in local_net or []:
            try:
                nets.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                raise UsageError(f"--local-net: not a network: {text!r}") from None
        from phonehome.intel.loader import default_intel, load_intel
        from phonehome.pipeline import AuditOptions, plan_inputs, run_audit
        from phonehome.policy.engine import PolicySettings, default_watch_countries

        intel = (
            load_intel(intel_dir or [], policy_pack or []) if (intel_dir or policy_pack) else default_intel()
        )
        packs = tuple(policy or sorted(intel.packs))
        unknown = [p for p in packs if p not in intel.packs]
        if unknown:
            raise UsageError(
                f"--policy: unknown pack {unknown[0]!r} (known: {', '.join(sorted(intel.packs))})"
            )
        countries = _watch_list(watch_country)
        watch = countries if countries is not None else default_watch_countries(intel, packs)
        from phonehome.sources.assets import parse_column_mapping
        from phonehome.sources.registry import SourceOptions

        try:
            mapping = parse_column_mapping(columns) if columns else {}
        except ValueError as e:
            raise UsageError(f"--columns: {e}") from None
        planned, skipped = plan_inputs(inputs, SourceOptions(asset_columns=mapping, asset_sheet=sheet))
        store = open_workspace(workspace) if save else None
        settings = PolicySettings(
            packs=packs,
            watch_countries=watch,
            min_confidence=min_confidence,
            skip_rules=frozenset(skip_rule or []),
        )
        from phonehome.analyze.activity import parse_idle_window

        windows = []
        for text in idle_window or []:
            try:
                windows.append(parse_idle_window(text))
            except ValueError as e:
                raise UsageError(f"--idle-window: {e}") from None
        from phonehome.analyze.identifiers import load_identifiers

        known = tuple(entry for path in identifiers or [] for entry in load_identifiers(path))
        options = AuditOptions(
            policy=settings,
            local_nets=tuple(nets),
            skipped=tuple(skipped),
            idle_windows=tuple(windows),
            identifier_files=tuple(identifiers or []),
            identifiers=known,
            proxy_device=proxy_device,
            generic_leak_patterns=generic_leaks,
        )
        with _progress(not quiet and err.is_terminal) as progress:
            report = run_audit(planned, intel, options, progress)
        for note in skipped:
            err.print(f"phonehome: warning: {note}", markup=False, soft_wrap=True)
        for summary in report.inputs:
            for problem in summary.errors:
                err.print(f"phonehome: warning: {summary.path}: {problem}", markup=False, soft_wrap=True)
            if summary.skipped and not any("skipped" in e for e in summary.errors):
                note = f"{summary.skipped} unreadable record(s) skipped"
                err.print(f"phonehome: warning: {summary.path}: {note}", markup=False, soft_wrap=True)
        default_html = None
        if store is not None:
            audit_id = store.save(report)
            default_html = store.root / "reports" / f"audit-{audit_id}.html"
            if not quiet:
                err.print(f"Saved as audit {audit_id} in {store.root}", markup=False, soft_wrap=True)
        _emit(report, fmt, output, default_html)
    raise typer.Exit(_exit_for(report, fail_on))


def _watch_list(values: list[str] | None) -> frozenset[str] | None:
    if not values:
        return None
    codes = {c.strip().upper() for v in values for c in v.split(",") if c.strip()}
    if codes == {"NONE"}:
        return frozenset()
    bad = sorted(c for c in codes if len(c) != 2 or not c.isalpha())
    if bad:
        raise UsageError(f"--watch-country: not an ISO 3166 alpha-2 code: {bad[0]!r}")
    return frozenset(codes)


@app.command()
def report(
    fmt: FormatOpt = FormatChoice.html,
    output: OutputOpt = None,
    workspace: WorkspaceOpt = None,
    audit_id: AuditIdOpt = None,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            "-p",
            help="Compliance report for this policy pack (HTML, or PDF when -o ends in .pdf); "
            "see also `phonehome compliance`.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Render a saved audit (HTML by default) without re-reading the captures."""
    with reporting_errors():
        if policy:
            from phonehome.commands.compliance import ComplianceFormat, run_compliance

            if fmt is not FormatChoice.html:
                raise UsageError(
                    f"--policy: compliance reports are HTML or PDF (-o FILE.pdf), not {fmt.value}; "
                    "`phonehome findings -f json` lists findings as JSON"
                )
            chosen = (
                ComplianceFormat.pdf if output and output.lower().endswith(".pdf") else ComplianceFormat.html
            )
            run_compliance(policy, chosen, output, workspace, audit_id, True, [])
            return
        store = open_workspace(workspace)
        number, saved = store.load(audit_id)
        _emit(saved, fmt, output, store.root / "reports" / f"audit-{number}.html")


@app.command()
def devices(
    workspace: WorkspaceOpt = None,
    audit_id: AuditIdOpt = None,
    fmt: FormatOpt = FormatChoice.terminal,
) -> None:
    """List the devices of a saved audit."""
    with reporting_errors():
        _, saved = open_workspace(workspace).load(audit_id)
        if fmt is FormatChoice.json:
            from phonehome.outputs.jsonformat import report_to_dict

            write_json(report_to_dict(saved)["devices"])
            return
        names = {e.id: e.name for e in saved.entities}
        table = Table(title=f"{len(saved.devices)} devices")
        for column in ("device", "IPs", "hostnames", "vendor", "type", "confidence", "roles"):
            table.add_column(column)
        for d in saved.devices:
            a = d.attribution
            table.add_row(
                d.id,
                ", ".join(d.ips[:4]),
                ", ".join(d.hostnames[:3]),
                names.get(a.vendor or "", "") or "",
                a.device_type or "",
                f"{a.confidence:.2f}",
                ", ".join(d.roles),
            )
        _table_console().print(table)


@app.command()
def findings(
    workspace: WorkspaceOpt = None,
    audit_id: AuditIdOpt = None,
    fmt: FormatOpt = FormatChoice.terminal,
) -> None:
    """List the findings of a saved audit."""
    with reporting_errors():
        _, saved = open_workspace(workspace).load(audit_id)
        if fmt is FormatChoice.json:
            from phonehome.outputs.jsonformat import report_to_dict

            write_json(report_to_dict(saved)["findings"])
            return
        table = Table(title=f"{len(saved.findings)} findings")
        for column in ("severity", "rule", "policy", "device", "title"):
            table.add_column(column)
        for f in saved.findings:
            table.add_row(f.severity.label, f.rule_id, f.policy.policy, f.device_id, f.title)
        _table_console().print(table)


@app.command()
def explain(
    device: Annotated[str, typer.Argument(help="Device id, MAC, IP or host name.", show_default=False)],
    workspace: WorkspaceOpt = None,
    audit_id: AuditIdOpt = None,
    fmt: FormatOpt = FormatChoice.terminal,
) -> None:
    """Why a device was attributed as it was: every piece of evidence, its weight and conflicts."""
    with reporting_errors():
        from phonehome.outputs.explain import DeviceNotFound, explain, find_device

        _, saved = open_workspace(workspace).load(audit_id)
        try:
            found = find_device(saved, device)
        except DeviceNotFound as e:
            raise UsageError(str(e)) from None
        if fmt is FormatChoice.json:
            from phonehome.outputs.jsonformat import report_to_dict

            doc = report_to_dict(saved)
            payload = {
                "device": next(d for d in doc["devices"] if d["id"] == found.id),
                "findings": [f for f in doc["findings"] if f["device_id"] == found.id],
            }
            write_json(payload)
            return
        write_output(explain(saved, found), None)


@app.command()
def audits(workspace: WorkspaceOpt = None) -> None:
    """List the audits saved in the workspace."""
    with reporting_errors():
        store = open_workspace(workspace)
        table = Table(title=f"audits in {store.root}")
        for column in ("id", "generated", "inputs", "devices", "findings"):
            table.add_column(column)
        for row in store.list_audits():
            table.add_row(
                str(row.id),
                row.generated_at,
                "\n".join(row.inputs),
                str(row.devices),
                str(row.findings),
            )
        _table_console().print(table)


@app.command()
def policies() -> None:
    """List the policy packs and their rules."""
    with reporting_errors():
        from phonehome.intel.loader import default_intel

        intel = default_intel()
        table = Table(title=f"policy packs (intel {intel.version})")
        for column in ("pack", "rule", "severity", "effective", "title"):
            table.add_column(column)
        for pack in sorted(intel.packs.values(), key=lambda p: p.id):
            for rule in pack.rules:
                effective = rule.effective.isoformat() if rule.effective else ""
                table.add_row(pack.id, rule.id, rule.severity, effective, rule.title)
        _table_console().print(table)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"phonehome {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Audit a network for restricted-vendor equipment and for data leaving it."""


register_all(app)


def main() -> None:
    """Console-script entry point."""
    app()
