"""Progress over time: what changed between two audits, and counts across many.

``diff_reports(old, new)`` matches devices by id (``mac:...`` or ``ip:...``); a device keyed by
IP in one audit and by MAC in the other is matched through its address when only one device
can be. It lists devices removed, still present (with their plan status) and newly appeared,
the destinations each device that stayed added (domains, organisations, countries) and the
findings resolved and new. Findings match by rule, device and target (the part of the finding
id after the device id, such as a country).

``trend(audits)`` gives one ``TrendPoint`` of counts per audit, in the order given (pass them
oldest first), for the report's trend section; ``trend_to_dict`` is its JSON form.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from phonehome.model import Destination, Device, Finding, Report, Severity

UNKNOWN_COUNTRY = "unknown"
"""Country key for destinations the geo data could not place."""
_DONE_STATUSES = frozenset({"replaced", "removed"})


@dataclass(frozen=True)
class AuditRef:
    """One side of a comparison."""

    id: int | None
    generated_at: str


@dataclass(frozen=True)
class DeviceChange:
    """A device on one side (or both sides) of a comparison."""

    device_id: str
    """Id in the newer audit when the device is in it, else in the older."""
    label: str
    """First host name, else first IP, else the id."""
    vendor: str | None
    """Display name of the attributed vendor."""
    device_type: str | None
    restricted: bool
    """At least one equipment finding (in the newer audit when present there)."""
    findings: int
    status: str
    """The plan status the user gave ("" when none)."""
    previous_id: str | None = None
    """Id in the older audit, when it differs (matched by address)."""


@dataclass(frozen=True)
class NewDestinations:
    """What a device that stayed started talking to."""

    device_id: str
    domains: tuple[str, ...]
    """Registrable domains (or names, or IPs when unnamed) not seen for it before."""
    organisations: tuple[str, ...]
    countries: tuple[str, ...]


@dataclass(frozen=True)
class FindingChange:
    """A finding present on only one side."""

    finding_id: str
    rule_id: str
    severity: Severity
    device_id: str
    title: str


@dataclass(frozen=True)
class AuditDiff:
    """What changed from ``old`` to ``new``; every tuple is sorted by device id (and rule)."""

    old: AuditRef
    new: AuditRef
    removed: tuple[DeviceChange, ...]
    still_present: tuple[DeviceChange, ...]
    appeared: tuple[DeviceChange, ...]
    new_destinations: tuple[NewDestinations, ...]
    resolved_findings: tuple[FindingChange, ...]
    new_findings: tuple[FindingChange, ...]


def _match(old: Sequence[Device], new: Sequence[Device]) -> dict[str, str]:
    """new id -> old id."""
    old_ids = {d.id for d in old}
    pairs: dict[str, str] = {d.id: d.id for d in new if d.id in old_ids}
    taken_old = set(pairs.values())
    # An IP-keyed device on either side pairs with the one unpaired device holding that IP.
    for device in old:
        if device.id in taken_old or not device.id.startswith("ip:"):
            continue
        hits = [d for d in new if d.id not in pairs and device.id[3:] in d.ips]
        if len(hits) == 1:
            pairs[hits[0].id] = device.id
            taken_old.add(device.id)
    for device in new:
        if device.id in pairs or not device.id.startswith("ip:"):
            continue
        hits = [d for d in old if d.id not in taken_old and device.id[3:] in d.ips]
        if len(hits) == 1:
            pairs[device.id] = hits[0].id
            taken_old.add(hits[0].id)
    return pairs


def _label(device: Device) -> str:
    return (device.hostnames[:1] or device.ips[:1] or (device.id,))[0]


def _change(
    device: Device,
    findings: Sequence[Finding],
    names: Mapping[str, str],
    statuses: Mapping[str, str],
    previous_id: str | None = None,
) -> DeviceChange:
    a = device.attribution
    status = statuses.get(device.id) or (statuses.get(previous_id, "") if previous_id else "")
    return DeviceChange(
        device_id=device.id,
        label=_label(device),
        vendor=names.get(a.vendor, a.vendor) if a.vendor else None,
        device_type=a.device_type,
        restricted=any(f.category == "equipment" for f in findings),
        findings=len(findings),
        status=status,
        previous_id=previous_id if previous_id != device.id else None,
    )


def _by_device(report: Report) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in report.findings:
        out.setdefault(f.device_id, []).append(f)
    return out


def _finding_key(f: Finding, device_id: str) -> tuple[str, str, str]:
    prefix = f"{f.rule_id}:{f.device_id}"
    target = f.id[len(prefix) :] if f.id.startswith(prefix) else f.id
    return (f.rule_id, device_id, target)


def _finding_change(f: Finding) -> FindingChange:
    return FindingChange(f.id, f.rule_id, f.severity, f.device_id, f.title)


def _destination_facts(destinations: Sequence[Destination]) -> tuple[set[str], set[str], set[str]]:
    return (
        {d.domain or d.name or d.ip for d in destinations},
        {d.organisation for d in destinations if d.organisation},
        {d.country for d in destinations if d.country},
    )


def diff_reports(
    old: Report,
    new: Report,
    statuses: Mapping[str, str] | None = None,
    *,
    old_id: int | None = None,
    new_id: int | None = None,
) -> AuditDiff:
    """What changed from ``old`` to ``new``; ``statuses`` maps device id to plan status."""
    statuses = statuses or {}
    names = {e.id: e.name for e in (*old.entities, *new.entities)}
    pairs = _match(old.devices, new.devices)
    matched_old = set(pairs.values())
    old_findings, new_findings = _by_device(old), _by_device(new)
    removed = [
        _change(d, old_findings.get(d.id, []), names, statuses)
        for d in old.devices
        if d.id not in matched_old
    ]
    present = [
        _change(d, new_findings.get(d.id, []), names, statuses, pairs[d.id])
        for d in new.devices
        if d.id in pairs
    ]
    appeared = [
        _change(d, new_findings.get(d.id, []), names, statuses) for d in new.devices if d.id not in pairs
    ]

    old_dest: dict[str, list[Destination]] = {}
    for d in old.destinations:
        old_dest.setdefault(d.device_id, []).append(d)
    new_dest: dict[str, list[Destination]] = {}
    for d in new.destinations:
        new_dest.setdefault(d.device_id, []).append(d)
    added: list[NewDestinations] = []
    for new_device, old_device in pairs.items():
        before = _destination_facts(old_dest.get(old_device, []))
        after = _destination_facts(new_dest.get(new_device, []))
        fresh = [tuple(sorted(a - b)) for a, b in zip(after, before, strict=True)]
        if any(fresh):
            added.append(NewDestinations(new_device, *fresh))

    old_keys = {_finding_key(f, f.device_id): f for f in old.findings}
    new_keys = {_finding_key(f, pairs.get(f.device_id, f.device_id)): f for f in new.findings}
    resolved = [_finding_change(f) for k, f in old_keys.items() if k not in new_keys]
    opened = [_finding_change(f) for k, f in new_keys.items() if k not in old_keys]

    def by_id(c: DeviceChange) -> str:
        return c.device_id

    def by_finding(c: FindingChange) -> tuple[str, str, str]:
        return (c.device_id, c.rule_id, c.finding_id)

    return AuditDiff(
        old=AuditRef(old_id, old.generated_at),
        new=AuditRef(new_id, new.generated_at),
        removed=tuple(sorted(removed, key=by_id)),
        still_present=tuple(sorted(present, key=by_id)),
        appeared=tuple(sorted(appeared, key=by_id)),
        new_destinations=tuple(sorted(added, key=lambda n: n.device_id)),
        resolved_findings=tuple(sorted(resolved, key=by_finding)),
        new_findings=tuple(sorted(opened, key=by_finding)),
    )


def _device_dict(c: DeviceChange) -> dict[str, Any]:
    return {
        "device_id": c.device_id,
        "previous_id": c.previous_id,
        "label": c.label,
        "vendor": c.vendor,
        "device_type": c.device_type,
        "restricted": c.restricted,
        "findings": c.findings,
        "status": c.status or None,
    }


def _finding_dict(c: FindingChange) -> dict[str, Any]:
    return {
        "id": c.finding_id,
        "rule_id": c.rule_id,
        "severity": c.severity.label,
        "device_id": c.device_id,
        "title": c.title,
    }


def diff_to_dict(diff: AuditDiff) -> dict[str, Any]:
    """The comparison as JSON-ready data (``phonehome diff -f json``)."""
    return {
        "old": {"audit_id": diff.old.id, "generated_at": diff.old.generated_at},
        "new": {"audit_id": diff.new.id, "generated_at": diff.new.generated_at},
        "summary": {
            "removed": len(diff.removed),
            "still_present": len(diff.still_present),
            "appeared": len(diff.appeared),
            "restricted_removed": sum(c.restricted for c in diff.removed),
            "restricted_still_present": sum(c.restricted for c in diff.still_present),
            "restricted_appeared": sum(c.restricted for c in diff.appeared),
            "devices_with_new_destinations": len(diff.new_destinations),
            "findings_resolved": len(diff.resolved_findings),
            "findings_new": len(diff.new_findings),
        },
        "removed": [_device_dict(c) for c in diff.removed],
        "still_present": [_device_dict(c) for c in diff.still_present],
        "appeared": [_device_dict(c) for c in diff.appeared],
        "new_destinations": [
            {
                "device_id": n.device_id,
                "domains": list(n.domains),
                "organisations": list(n.organisations),
                "countries": list(n.countries),
            }
            for n in diff.new_destinations
        ],
        "resolved_findings": [_finding_dict(c) for c in diff.resolved_findings],
        "new_findings": [_finding_dict(c) for c in diff.new_findings],
    }


def _side(ref: AuditRef) -> str:
    return f"audit {ref.id} ({ref.generated_at})" if ref.id is not None else ref.generated_at


def render_text(diff: AuditDiff, width: int = 140) -> str:
    """The comparison as plain text tables; unaffected devices that stayed are only counted."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, highlight=False, color_system=None)
    data = diff_to_dict(diff)
    s = data["summary"]
    console.print(
        Text(
            f"{_side(diff.old)} -> {_side(diff.new)}: {s['removed']} devices removed "
            f"({s['restricted_removed']} restricted), {s['still_present']} still present "
            f"({s['restricted_still_present']} restricted), {s['appeared']} new "
            f"({s['restricted_appeared']} restricted); findings {s['findings_resolved']} resolved, "
            f"{s['findings_new']} new"
        )
    )

    def devices(title: str, rows: Sequence[DeviceChange], note: str = "", present: bool = False) -> None:
        if not rows:
            return
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, caption=note or None)
        for header in ("device", "name", "vendor", "type", "restricted", "findings", "plan status"):
            table.add_column(header)
        for c in rows:
            status = c.status or "-"
            if present and c.status in _DONE_STATUSES:
                status += " (but still seen)"
            table.add_row(
                *(
                    Text(x)
                    for x in (
                        c.device_id,
                        c.label,
                        c.vendor or "-",
                        c.device_type or "-",
                        "yes" if c.restricted else "no",
                        str(c.findings),
                        status,
                    )
                )
            )
        console.print(table)

    devices("Removed", diff.removed)
    affected = [c for c in diff.still_present if c.findings or c.status]
    others = len(diff.still_present) - len(affected)
    devices(
        "Still present (with findings or a plan status)",
        affected,
        f"and {others} other devices with no findings" if others else "",
        present=True,
    )
    devices("Newly appeared", diff.appeared)
    if diff.new_destinations:
        table = Table(title="New destinations", title_justify="left", box=box.SIMPLE_HEAD)
        for header in ("device", "domains", "organisations", "countries"):
            table.add_column(header)
        for n in diff.new_destinations:
            table.add_row(
                *(
                    Text(x or "-")
                    for x in (
                        n.device_id,
                        ", ".join(n.domains),
                        ", ".join(n.organisations),
                        ", ".join(n.countries),
                    )
                )
            )
        console.print(table)
    for title, findings in (
        ("Findings resolved", diff.resolved_findings),
        ("New findings", diff.new_findings),
    ):
        if not findings:
            continue
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
        for header in ("severity", "rule", "device", "title"):
            table.add_column(header)
        for c in findings:
            table.add_row(*(Text(x) for x in (c.severity.label, c.rule_id, c.device_id, c.title)))
        console.print(table)
    return buffer.getvalue()


# --- trend ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    """Counts for one audit."""

    generated_at: str
    devices: int
    restricted_devices: int
    """Devices with at least one equipment finding."""
    affected_devices: int
    """Devices with at least one finding of any category."""
    findings_by_severity: Mapping[str, int]
    """Every severity label, highest first, with its count (0 included)."""
    destinations_by_country: Mapping[str, int]
    """Distinct (device, remote IP) pairs per country code (``unknown`` when not placed), sorted."""
    bytes_out_by_country: Mapping[str, int]
    """Bytes local devices sent per country, same keys as ``destinations_by_country``."""


def trend(audits: Sequence[Report]) -> list[TrendPoint]:
    """One point per audit, in the order given (pass the workspace's audits oldest first).

    The HTML report can show these as a table or small charts when the workspace holds more
    than one audit; ``trend_to_dict`` gives the JSON form.
    """
    points: list[TrendPoint] = []
    for report in audits:
        severities = {s.label: 0 for s in sorted(Severity, reverse=True)}
        for f in report.findings:
            severities[f.severity.label] += 1
        pairs: dict[str, set[tuple[str, str]]] = {}
        sent: dict[str, int] = {}
        for d in report.destinations:
            country = d.country or UNKNOWN_COUNTRY
            pairs.setdefault(country, set()).add((d.device_id, d.ip))
            sent[country] = sent.get(country, 0) + d.traffic.bytes_out
        points.append(
            TrendPoint(
                generated_at=report.generated_at,
                devices=len(report.devices),
                restricted_devices=len({f.device_id for f in report.findings if f.category == "equipment"}),
                affected_devices=len({f.device_id for f in report.findings}),
                findings_by_severity=severities,
                destinations_by_country={c: len(pairs[c]) for c in sorted(pairs)},
                bytes_out_by_country={c: sent[c] for c in sorted(sent)},
            )
        )
    return points


def trend_to_dict(
    points: Sequence[TrendPoint], audit_ids: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """JSON-ready trend; ``audit_ids`` (same order as ``points``) are added when given."""
    out: list[dict[str, Any]] = []
    for i, p in enumerate(points):
        item: dict[str, Any] = {"audit_id": audit_ids[i]} if audit_ids is not None else {}
        item.update(
            generated_at=p.generated_at,
            devices=p.devices,
            restricted_devices=p.restricted_devices,
            affected_devices=p.affected_devices,
            findings_by_severity=dict(p.findings_by_severity),
            destinations_by_country=dict(p.destinations_by_country),
            bytes_out_by_country=dict(p.bytes_out_by_country),
        )
        out.append(item)
    return out


def render_trend_text(points: Sequence[TrendPoint], audit_ids: Sequence[int], width: int = 140) -> str:
    """The trend as one plain-text table, one row per audit."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="audits over time", title_justify="left", box=box.SIMPLE_HEAD)
    for header in (
        "audit",
        "generated",
        "devices",
        "restricted",
        "affected",
        "findings",
        "countries (dest.)",
    ):
        table.add_column(header)
    for audit_id, p in zip(audit_ids, points, strict=True):
        findings = ", ".join(f"{n} {label}" for label, n in p.findings_by_severity.items() if n) or "0"
        countries = ", ".join(f"{c} {n}" for c, n in p.destinations_by_country.items()) or "-"
        table.add_row(
            *(
                Text(x)
                for x in (
                    str(audit_id),
                    p.generated_at,
                    str(p.devices),
                    str(p.restricted_devices),
                    str(p.affected_devices),
                    findings,
                    countries,
                )
            )
        )
    buffer = io.StringIO()
    Console(file=buffer, width=width, highlight=False, color_system=None).print(table)
    return buffer.getvalue()
