"""Terminal output: a short readable summary built with ``rich``.

``TerminalFormat.render`` returns plain text (no colour codes) for ``--format terminal``;
``print_summary`` prints the same renderables, in colour, to a console the CLI owns. Every
value from the report is wrapped in ``rich.text.Text`` so report data is never parsed as
markup.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from phonehome.model import Device, Report
from phonehome.outputs import summary
from phonehome.outputs.jsonformat import report_to_dict

WIDTH = 120
TOP = 10
"""Rows shown in the organisation and country tables."""

SEVERITY_STYLES: Mapping[str, str] = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


def _t(value: Any, style: str = "") -> Text:
    if value is None or value == "" or value == []:
        return Text("-", style="dim")
    if isinstance(value, list | tuple):
        return Text(", ".join(str(v) for v in value), style=style)
    return Text(str(value), style=style)


def _severity(label: str) -> Text:
    return Text(label, style=SEVERITY_STYLES.get(label, ""))


def _table(title: str) -> Table:
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        expand=False,
    )


def headline(data: Mapping[str, Any]) -> str:
    """``5 devices, 3 restricted, 6 findings (4 high, 1 medium, 1 low)``."""
    devices = len(data.get("devices") or [])
    restricted = len(summary.restricted_device_ids(data))
    findings = len(data.get("findings") or [])
    counts = summary.severity_counts(data)
    plural = "" if devices == 1 else "s"
    text = f"{devices} device{plural}, {restricted} restricted, {findings} finding"
    text += "" if findings == 1 else "s"
    if findings:
        text += f" ({summary.severity_phrase(counts)})"
    return text


def _headline(data: Mapping[str, Any]) -> Text:
    text = Text()
    text.append("phonehome audit: ", style="bold")
    text.append(headline(data))
    packets = sum(int(i.get("packets") or 0) for i in data.get("inputs") or [])
    errors = sum(len(i.get("errors") or []) for i in data.get("inputs") or [])
    text.append(
        f"\n{len(data.get('inputs') or [])} input(s), {summary.thousands(packets)} packets"
        f", {errors} read error(s); generated {data.get('generated_at')}"
        f"; intel {data.get('intel_version') or '-'}",
        style="dim",
    )
    return text


def _labels(data: Mapping[str, Any]) -> dict[str, str]:
    return {str(d["id"]): summary.device_label(d) for d in data.get("devices") or []}


def _findings_table(data: Mapping[str, Any], labels: Mapping[str, str]) -> RenderableType:
    findings = summary.sorted_findings(data)
    if not findings:
        return Text("No findings: no policy rule matched any device.")
    table = _table("Findings")
    table.add_column("Severity", no_wrap=True)
    table.add_column("Rule", no_wrap=True)
    table.add_column("Policy", no_wrap=True)
    table.add_column("Device", overflow="fold", min_width=23)
    table.add_column("Title", overflow="fold", ratio=1)
    for f in findings:
        device_id = str(f.get("device_id"))
        device = labels.get(device_id)
        device_text = Text(device) if device else Text()
        if device and device != device_id:
            device_text.append(f" ({device_id})", style="dim")
        elif not device:
            device_text.append(device_id)
        table.add_row(
            _severity(str(f.get("severity"))),
            _t(f.get("rule_id")),
            _t(f.get("policy")),
            device_text,
            _t(f.get("title")),
        )
    return table


def _devices_table(data: Mapping[str, Any]) -> RenderableType:
    devices = summary.sorted_devices(data)
    if not devices:
        return Text("No devices were identified in the inputs.")
    by_device = summary.findings_by_device(data)
    table = _table("Devices")
    table.add_column("Device", overflow="fold", min_width=21)
    table.add_column("Vendor / brand", overflow="fold")
    table.add_column("Type", no_wrap=True)
    table.add_column("Conf.", justify="right", no_wrap=True)
    table.add_column("IPs", overflow="fold", max_width=20)
    table.add_column("Out", justify="right", no_wrap=True)
    table.add_column("Countries", overflow="fold")
    table.add_column("Findings", overflow="fold")
    for d in devices:
        device_id = str(d["id"])
        name = Text(summary.device_label(d), style="bold")
        if summary.device_label(d) != device_id:
            name.append(f"\n{device_id}", style="dim")
        vendor, brand = d.get("vendor"), d.get("brand")
        makers = [str(vendor)] if vendor else []
        if brand and brand != vendor:
            makers.append(str(brand))
        maker = " / ".join(makers)
        findings = Text()
        for i, f in enumerate(by_device.get(device_id, [])):
            if i:
                findings.append("\n")
            findings.append(str(f.get("severity")), style=SEVERITY_STYLES.get(str(f.get("severity")), ""))
            findings.append(f" {f.get('rule_id')}")
        table.add_row(
            name,
            _t(maker),
            _t(d.get("device_type")),
            Text(summary.percent(d.get("confidence"))),
            _t("\n".join(d.get("ips") or [])),
            Text(summary.human_bytes(d.get("bytes_out"))),
            _t(summary.device_countries(data, device_id)),
            findings if findings.plain else Text("-", style="dim"),
        )
    return table


def _organisations_table(data: Mapping[str, Any], labels: Mapping[str, str]) -> RenderableType:
    rows = summary.organisations(data)
    table = _table(f"Top destinations by organisation ({min(TOP, len(rows))} of {len(rows)})")
    table.add_column("Organisation", overflow="fold")
    table.add_column("HQ", no_wrap=True)
    table.add_column("Countries", overflow="fold")
    table.add_column("Devices", overflow="fold")
    table.add_column("Out", justify="right", no_wrap=True)
    table.add_column("In", justify="right", no_wrap=True)
    table.add_column("Flows", justify="right", no_wrap=True)
    for row in rows[:TOP]:
        table.add_row(
            _t(row["organisation"]) if row["organisation"] else Text("(unattributed)", style="dim"),
            _t(row["headquarters"]),
            _t(row["countries"]),
            _t([labels.get(i, i) for i in row["devices"]]),
            Text(summary.human_bytes(row["bytes_out"])),
            Text(summary.human_bytes(row["bytes_in"])),
            Text(summary.thousands(row["flows"])),
        )
    return table


def _countries_table(data: Mapping[str, Any]) -> RenderableType:
    rows = summary.countries(data)
    total = sum(r["bytes_out"] for r in rows)
    table = _table(f"Top destinations by country ({min(TOP, len(rows))} of {len(rows)})")
    table.add_column("Country", no_wrap=True)
    table.add_column("Out", justify="right", no_wrap=True)
    table.add_column("Share", justify="right", no_wrap=True)
    table.add_column("In", justify="right", no_wrap=True)
    table.add_column("Flows", justify="right", no_wrap=True)
    table.add_column("Devices", justify="right", no_wrap=True)
    table.add_column("Organisations", overflow="fold")
    for row in rows[:TOP]:
        share = 100.0 * row["bytes_out"] / total if total else 0.0
        table.add_row(
            _t(row["country"]) if row["country"] else Text("(unknown)", style="dim"),
            Text(summary.human_bytes(row["bytes_out"])),
            Text(f"{share:.1f}%"),
            Text(summary.human_bytes(row["bytes_in"])),
            Text(summary.thousands(row["flows"])),
            Text(str(len(row["devices"]))),
            _t(row["organisations"]),
        )
    return table


def _background(data: Mapping[str, Any], labels: Mapping[str, str], limit: int = 3) -> RenderableType | None:
    """A line per device with beacons or idle-time traffic; None when there is none."""
    beacons = summary.device_beacons(data)
    if not beacons:
        return None
    order = [str(d["id"]) for d in summary.sorted_devices(data)]
    order += sorted(set(beacons) - set(order))
    text = Text()
    text.append("Background traffic", style="bold")
    windows = summary.idle_windows(data)
    basis = "inside the given idle windows" if windows else "inferred: no other flows started"
    text.append(f" (idle = {basis})", style="dim")
    for device_id in order:
        sentences = beacons.get(device_id)
        if not sentences:
            continue
        text.append("\n")
        text.append(labels.get(device_id, device_id), style="bold")
        text.append(": " + "; ".join(sentences[:limit]))
        if len(sentences) > limit:
            text.append(f"; and {len(sentences) - limit} more", style="dim")
    return text


def renderables(report: Report) -> list[RenderableType]:
    """The summary, in display order."""
    data = report_to_dict(report)
    labels = _labels(data)
    parts: list[RenderableType] = [_headline(data), _findings_table(data, labels)]
    parts.append(_devices_table(data))
    background = _background(data, labels)
    if background is not None:
        parts.append(background)
    if data.get("destinations"):
        parts += [_organisations_table(data, labels), _countries_table(data)]
    else:
        parts.append(Text("No traffic to remote addresses was recorded."))
    return parts


def print_summary(report: Report, console: Console) -> None:
    """Print the summary to ``console`` (in colour when the console supports it)."""
    for i, part in enumerate(renderables(report)):
        if i:
            console.print()
        console.print(part)


def _plain_console(buffer: io.StringIO, width: int) -> Console:
    """A console that writes plain text (no colour, markup or emoji) to ``buffer``."""
    return Console(
        file=buffer,
        width=width,
        color_system=None,
        force_terminal=False,
        force_jupyter=False,
        force_interactive=False,
        no_color=True,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
        soft_wrap=False,
    )


class TerminalFormat:
    """``--format terminal``: the same summary as plain text."""

    name = "terminal"
    suffix = ".txt"

    def render(self, report: Report) -> str:
        buffer = io.StringIO()
        print_summary(report, _plain_console(buffer, WIDTH))
        return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


# ---------------------------------------------------------------------------------------------
# ``phonehome flows DEVICE``


def _bytes_cell(value: Any) -> Text:
    return Text(summary.human_bytes(int(value or 0)))


def _days(dests: list[Mapping[str, Any]]) -> set[str]:
    return {str(d.get(k) or "")[:10] for d in dests for k in ("first_seen", "last_seen") if d.get(k)}


def _clock(value: Any, one_day: bool) -> str:
    """``2024-05-01T08:00:12Z`` -> ``08:00:12`` (one-day reports) or ``05-01 08:00:12``."""
    text = summary.timestamp(value)
    if text == "—":
        return "-"
    text = text.rstrip("Z")
    return text[11:] if one_day else text[5:]


def _flows_table(dests: list[Mapping[str, Any]]) -> Table:
    days = _days(dests)
    one_day = len(days) == 1
    when = f"times UTC on {next(iter(days))}" if one_day else "times UTC"
    table = _table(f"Destinations ({len(dests)}; {when})")
    table.add_column("Destination / IP", overflow="fold", ratio=3)
    table.add_column("Domain", overflow="fold", ratio=2)
    table.add_column("Owner (party) / ASN", overflow="fold", ratio=3)
    table.add_column("CC", no_wrap=True)
    table.add_column("Out", justify="right", no_wrap=True)
    table.add_column("In", justify="right", no_wrap=True)
    table.add_column("Flows", justify="right", no_wrap=True)
    table.add_column("First / last", no_wrap=True)
    table.add_column("Period", justify="right", no_wrap=True)
    table.add_column("Idle out", justify="right", no_wrap=True)
    for d in dests:
        name = Text(str(d.get("name") or d.get("ip")))
        if d.get("name"):
            name.append(f"\n{d.get('ip')}", style="dim")
        owner = Text(str(d.get("organisation") or "-"), style="" if d.get("organisation") else "dim")
        if d.get("party"):
            owner.append(f" ({d['party']})")
        if d.get("asn"):
            asn = str(d["asn"])
            owner.append(f"\n{asn if len(asn) <= 24 else asn[:23] + '…'}", style="dim")
        period = d.get("period_seconds")
        idle = int(d.get("idle_bytes_out") or 0)
        table.add_row(
            name,
            _t(d.get("domain")),
            owner,
            _t(d.get("country")),
            _bytes_cell(d.get("bytes_out")),
            _bytes_cell(d.get("bytes_in")),
            Text(summary.thousands(d.get("flows"))),
            Text(f"{_clock(d.get('first_seen'), one_day)}\n{_clock(d.get('last_seen'), one_day)}"),
            _t(summary.short_period(period if isinstance(period, int | float) else None)),
            _bytes_cell(idle) if idle or d.get("idle_flows") else _t(None),
        )
    return table


def _flow_totals_tables(flows: Mapping[str, Any]) -> list[RenderableType]:
    orgs = _table("By organisation")
    for column in ("Organisation", "Party", "Countries"):
        orgs.add_column(column, overflow="fold")
    for column in ("Destinations", "Out", "In", "Flows", "Idle out"):
        orgs.add_column(column, justify="right", no_wrap=True)
    for row in flows["by_organisation"]:
        orgs.add_row(
            _t(row["organisation"]) if row["organisation"] else Text("(unattributed)", style="dim"),
            _t(row["parties"]),
            _t(row["countries"]),
            Text(str(row["destinations"])),
            _bytes_cell(row["bytes_out"]),
            _bytes_cell(row["bytes_in"]),
            Text(summary.thousands(row["flows"])),
            _bytes_cell(row["idle_bytes_out"]),
        )
    total = flows["totals"]["bytes_out"]
    countries = _table("By country")
    countries.add_column("Country", no_wrap=True)
    for column in ("Destinations", "Out", "Share", "In", "Flows", "Idle out"):
        countries.add_column(column, justify="right", no_wrap=True)
    countries.add_column("Organisations", overflow="fold")
    for row in flows["by_country"]:
        share = 100.0 * row["bytes_out"] / total if total else 0.0
        countries.add_row(
            _t(row["country"]) if row["country"] else Text("(unknown)", style="dim"),
            Text(str(row["destinations"])),
            _bytes_cell(row["bytes_out"]),
            Text(f"{share:.1f}%"),
            _bytes_cell(row["bytes_in"]),
            Text(summary.thousands(row["flows"])),
            _bytes_cell(row["idle_bytes_out"]),
            _t(row["organisations"]),
        )
    return [orgs, countries]


def flows_renderables(report: Report, device: Device) -> list[RenderableType]:
    """Every destination of ``device`` with timing facts, then totals by organisation and country."""
    data = report_to_dict(report)
    flows = summary.device_flows(data, device.id)
    entry = flows["device"] or {"id": device.id}
    head = Text()
    head.append(f"Flows of {summary.device_label(entry)}", style="bold")
    if summary.device_label(entry) != device.id:
        head.append(f" ({device.id})", style="dim")
    totals = flows["totals"]
    n = len(flows["destinations"])
    head.append(
        f"\n{summary.device_description(entry)}; {n} destination{'' if n == 1 else 's'}; "
        f"{summary.human_bytes(totals['bytes_out'])} out, {summary.human_bytes(totals['bytes_in'])} in, "
        f"{summary.thousands(totals['flows'])} flows; "
        f"{summary.human_bytes(totals['idle_bytes_out'])} sent while idle"
    )
    windows = summary.idle_windows(data)
    if windows:
        spans = ", ".join(
            f"{summary.timestamp(summary.iso_time(a))} - {summary.timestamp(summary.iso_time(b))}"
            for a, b in windows
        )
        head.append(f"\nIdle windows: {spans}", style="dim")
    else:
        head.append(
            "\nIdle (when no --idle-window is given): flows to periodic destinations that started while "
            "the device started no other flow",
            style="dim",
        )
    if not flows["destinations"]:
        return [head, Text("No traffic to remote addresses was recorded for this device.")]
    parts: list[RenderableType] = [head, _flows_table(flows["destinations"]), *_flow_totals_tables(flows)]
    sentences = summary.device_beacons({"destinations": flows["destinations"]}).get(device.id)
    if sentences:
        text = Text("Background traffic", style="bold")
        for sentence in sentences:
            text.append(f"\n  {sentence}")
        parts.append(text)
    return parts


def render_flows(report: Report, device: Device, width: int = WIDTH) -> str:
    """``phonehome flows`` as plain text, ``width`` columns wide."""
    buffer = io.StringIO()
    console = _plain_console(buffer, width)
    for i, part in enumerate(flows_renderables(report, device)):
        if i:
            console.print()
        console.print(part)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
