"""Derived views shared by the human-readable renderers.

Every function here takes the plain report data from ``report_to_dict`` (never the model), so
the HTML and terminal outputs show exactly what the JSON twin says. All orderings are total,
so equal reports give equal output.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from phonehome.analyze.activity import IdleWindow, parse_idle_window

Data = Mapping[str, Any]

SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
"""Severity labels, most severe first."""

UNKNOWN = "unknown"

_UNITS = ("kB", "MB", "GB", "TB", "PB")


def human_bytes(value: int | float | None) -> str:
    """``1234567`` -> ``1.2 MB`` (decimal units); exact below 1000 bytes."""
    if value is None:
        return "—"
    size = float(value)
    if abs(size) < 1000:
        return f"{int(size)} B"
    for unit in _UNITS:
        size /= 1000.0
        if abs(size) < 1000 or unit == _UNITS[-1]:
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def thousands(value: int | float | None) -> str:
    """``48213`` -> ``48,213``."""
    if value is None:
        return "—"
    return f"{int(value):,}"


def percent(value: float | None) -> str:
    """Confidence ``0.97`` -> ``97%``."""
    if value is None:
        return "—"
    return f"{round(float(value) * 100):d}%"


def timestamp(value: str | None) -> str:
    """``2024-05-01T08:00:05Z`` -> ``2024-05-01 08:00:05Z``; sub-seconds dropped."""
    if not value:
        return "—"
    text = value.replace("T", " ", 1)
    if "." in text:
        head, _, tail = text.partition(".")
        text = head + ("Z" if tail.endswith("Z") else "")
    return text


def _ip_key(ip: str) -> tuple[int, int, str]:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return (9, 0, ip)
    return (addr.version, int(addr), ip)


def device_sort_key(device: Data) -> tuple[Any, ...]:
    """Devices in address order (IPv4 first), then by id."""
    ips = device.get("ips") or []
    first = min((_ip_key(ip) for ip in ips), default=(10, 0, ""))
    return (first, str(device.get("id")))


def sorted_devices(data: Data) -> list[Data]:
    return sorted(data.get("devices") or [], key=device_sort_key)


def device_label(device: Data) -> str:
    """Short human name: first hostname, else first IP, else the id."""
    hostnames = device.get("hostnames") or []
    if hostnames:
        return str(hostnames[0])
    ips = device.get("ips") or []
    if ips:
        return str(sorted(ips, key=_ip_key)[0])
    return str(device.get("id"))


def device_description(device: Data) -> str:
    """``Hikvision camera`` / ``phone`` / ``unidentified``."""
    parts = [str(p) for p in (device.get("vendor") or device.get("brand"), device.get("device_type")) if p]
    return " ".join(parts) if parts else "unidentified"


def severity_rank(label: str) -> int:
    return SEVERITIES.index(label) if label in SEVERITIES else len(SEVERITIES)


def finding_sort_key(finding: Data) -> tuple[Any, ...]:
    return (
        severity_rank(str(finding.get("severity"))),
        str(finding.get("rule_id")),
        str(finding.get("device_id")),
        str(finding.get("id")),
    )


def sorted_findings(data: Data) -> list[Data]:
    return sorted(data.get("findings") or [], key=finding_sort_key)


def severity_counts(data: Data) -> dict[str, int]:
    """Findings per severity, every severity present, most severe first."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for finding in data.get("findings") or []:
        label = str(finding.get("severity"))
        counts[label] = counts.get(label, 0) + 1
    return counts


def severity_phrase(counts: Mapping[str, int]) -> str:
    """``2 high, 1 medium`` (non-zero severities only) or ``none``."""
    parts = [f"{n} {label}" for label, n in counts.items() if n]
    return ", ".join(parts) if parts else "none"


def findings_by_severity(data: Data) -> list[tuple[str, list[Data]]]:
    """(severity, findings) for each severity that has findings, most severe first."""
    groups: dict[str, list[Data]] = {}
    for finding in sorted_findings(data):
        groups.setdefault(str(finding.get("severity")), []).append(finding)
    return sorted(groups.items(), key=lambda item: severity_rank(item[0]))


def findings_by_device(data: Data) -> dict[str, list[Data]]:
    out: dict[str, list[Data]] = {}
    for finding in sorted_findings(data):
        out.setdefault(str(finding.get("device_id")), []).append(finding)
    return out


def restricted_device_ids(data: Data) -> list[str]:
    """Devices that an equipment rule (vendor or categorical) matched, sorted."""
    return sorted(
        {
            str(f.get("device_id"))
            for f in data.get("findings") or []
            if f.get("category", "equipment") == "equipment"
        }
    )


def destination_sort_key(dest: Data) -> tuple[Any, ...]:
    return (
        -int(dest.get("bytes_out") or 0),
        -int(dest.get("bytes_in") or 0),
        str(dest.get("name") or ""),
        _ip_key(str(dest.get("ip") or "")),
    )


def destinations_by_device(data: Data) -> dict[str, list[Data]]:
    """Each device's destinations, most bytes out first."""
    out: dict[str, list[Data]] = {}
    for dest in sorted(data.get("destinations") or [], key=destination_sort_key):
        out.setdefault(str(dest.get("device_id")), []).append(dest)
    return out


def _totals(rows: Iterable[Data]) -> dict[str, int]:
    totals = {"bytes_out": 0, "bytes_in": 0, "flows": 0, "idle_bytes_out": 0}
    for row in rows:
        for key in totals:
            totals[key] += int(row.get(key) or 0)
    return totals


def countries(data: Data) -> list[dict[str, Any]]:
    """Per destination country: totals, devices, organisations; most bytes out first.

    Destinations without a country are grouped under ``country`` None, listed last among
    equal volumes.
    """
    groups: dict[str | None, list[Data]] = {}
    for dest in data.get("destinations") or []:
        groups.setdefault(dest.get("country"), []).append(dest)
    rows = []
    for country, dests in groups.items():
        row: dict[str, Any] = {"country": country, **_totals(dests)}
        row["devices"] = sorted({str(d.get("device_id")) for d in dests})
        row["organisations"] = sorted({str(d["organisation"]) for d in dests if d.get("organisation")})
        row["destinations"] = len(dests)
        rows.append(row)
    rows.sort(key=lambda r: (-r["bytes_out"], -r["bytes_in"], r["country"] is None, r["country"] or ""))
    return rows


def countries_reached(data: Data) -> list[str]:
    """Distinct known destination countries, alphabetical."""
    return sorted({str(d["country"]) for d in data.get("destinations") or [] if d.get("country")})


def organisations(data: Data) -> list[dict[str, Any]]:
    """Per owning organisation: countries, devices and totals; most bytes out first.

    Destinations with no known owner are grouped under ``organisation`` None.
    """
    hq = {str(e.get("id")): e.get("country") for e in data.get("entities") or []}
    groups: dict[tuple[str | None, str | None], list[Data]] = {}
    for dest in data.get("destinations") or []:
        key = (dest.get("organisation_id"), dest.get("organisation"))
        groups.setdefault(key, []).append(dest)
    rows = []
    for (org_id, org_name), dests in groups.items():
        row: dict[str, Any] = {
            "organisation_id": org_id,
            "organisation": org_name or org_id,
            "headquarters": hq.get(org_id) if org_id else None,
            **_totals(dests),
        }
        row["countries"] = sorted({str(d["country"]) for d in dests if d.get("country")})
        row["devices"] = sorted({str(d.get("device_id")) for d in dests})
        row["destinations"] = len(dests)
        row["parties"] = sorted({str(d["party"]) for d in dests if d.get("party")})
        rows.append(row)
    rows.sort(
        key=lambda r: (
            -r["bytes_out"],
            -r["bytes_in"],
            r["organisation"] is None,
            str(r["organisation"] or ""),
            str(r["organisation_id"] or ""),
        )
    )
    return rows


def device_countries(data: Data, device_id: str, limit: int = 3) -> list[str]:
    """The device's destination countries, most bytes out first."""
    totals: dict[str, tuple[int, int]] = {}
    for dest in data.get("destinations") or []:
        if dest.get("device_id") != device_id or not dest.get("country"):
            continue
        out, inn = totals.get(str(dest["country"]), (0, 0))
        totals[str(dest["country"])] = (
            out + int(dest.get("bytes_out") or 0),
            inn + int(dest.get("bytes_in") or 0),
        )
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
    return [country for country, _ in ranked[:limit]]


def total_bytes(data: Data) -> dict[str, int]:
    """Remote bytes out/in and flows over all destinations."""
    return _totals(data.get("destinations") or [])


# ---------------------------------------------------------------------------------------------
# timing: beacons, idle traffic, flow starts


def parse_time(value: Any) -> float | None:
    """Unix seconds from a number or an ISO 8601 string (``2024-05-01T08:00:05Z``); else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def iso_time(seconds: float) -> str:
    """Unix seconds -> ``2024-05-01T08:00:05Z`` (whole seconds)."""
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


_PERIOD_UNITS: tuple[tuple[float, str, str], ...] = (
    (1, "second", "s"),
    (60, "minute", "min"),
    (3600, "hour", "h"),
    (86400, "day", "d"),
)


def _period_unit(seconds: float) -> tuple[float, str, str]:
    """The largest unit of which ``seconds`` is a whole number, or at least two."""
    chosen = _PERIOD_UNITS[0]
    for unit in _PERIOD_UNITS[1:]:
        value = seconds / unit[0]
        if value >= 2 or (round(value) >= 1 and abs(value - round(value)) < 0.02):
            chosen = unit
    return chosen


def _number(value: float) -> str:
    rounded = round(value, 1)
    return f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"


def human_period(seconds: float | None) -> str:
    """``300`` -> ``every 5 minutes``; ``60`` -> ``every minute``; ``90`` -> ``every 90 seconds``."""
    if seconds is None or seconds <= 0:
        return ""
    size, name, _ = _period_unit(seconds)
    text = _number(seconds / size)
    return f"every {name}" if text == "1" else f"every {text} {name}s"


def short_period(seconds: float | None) -> str:
    """``300`` -> ``5 min``; ``45`` -> ``45 s``; ``5400`` -> ``90 min``; None -> ``""``."""
    if seconds is None or seconds <= 0:
        return ""
    size, _, short = _period_unit(seconds)
    return f"{_number(seconds / size)} {short}"


def destination_label(dest: Data) -> str:
    """Name, else domain, else IP."""
    return str(dest.get("name") or dest.get("domain") or dest.get("ip") or "?")


def beacon_sentence(dest: Data) -> str | None:
    """``sent 12.0 kB to api.hik-connect.com every 5 minutes while idle``; None when neither
    periodic nor idle."""
    period = dest.get("period_seconds")
    idle_bytes = int(dest.get("idle_bytes_out") or 0)
    idle_flows = int(dest.get("idle_flows") or 0)
    every = human_period(period) if isinstance(period, int | float) else ""
    target = destination_label(dest)
    if idle_bytes > 0:
        parts = [f"sent {human_bytes(idle_bytes)} to {target}", every, "while idle"]
    elif idle_flows > 0:
        parts = [f"contacted {target}", every, "while idle"]
    elif every:
        parts = [f"contacted {target}", every]
    else:
        return None
    return " ".join(p for p in parts if p)


def _beacon_key(dest: Data) -> tuple[Any, ...]:
    return (
        -int(dest.get("idle_bytes_out") or 0),
        -int(dest.get("idle_flows") or 0),
        dest.get("period_seconds") is None,
        *destination_sort_key(dest),
    )


def device_beacons(data: Data) -> dict[str, list[str]]:
    """Per device, its periodic or idle-time destinations as sentences, most idle bytes first."""
    out: dict[str, list[str]] = {}
    for dest in sorted(data.get("destinations") or [], key=_beacon_key):
        sentence = beacon_sentence(dest)
        if sentence:
            out.setdefault(str(dest.get("device_id")), []).append(sentence)
    return out


def idle_windows(data: Data) -> list[IdleWindow]:
    """The idle windows the audit used (``settings.idle_windows``), sorted; invalid ones ignored.

    Each may be stored as ``"START/END"`` text or as a ``[start, end]`` pair of Unix seconds.
    """
    windows: list[IdleWindow] = []
    for item in (data.get("settings") or {}).get("idle_windows") or []:
        if isinstance(item, str):
            try:
                windows.append(parse_idle_window(item))
            except ValueError:
                continue
        elif isinstance(item, list | tuple) and len(item) == 2:
            start, end = parse_time(item[0]), parse_time(item[1])
            if start is not None and end is not None and end > start:
                windows.append((start, end))
    return sorted(windows)


def samples(dest: Data) -> list[float]:
    """Sampled flow start times of a destination (``samples``, when the report keeps them)."""
    times = (parse_time(v) for v in dest.get("samples") or [])
    return sorted(t for t in times if t is not None)


def device_flows(data: Data, device_id: str) -> dict[str, Any]:
    """One device's destinations, with totals by organisation and by country (``phonehome flows``)."""
    dests = sorted(
        (d for d in data.get("destinations") or [] if str(d.get("device_id")) == device_id),
        key=destination_sort_key,
    )
    device = next((d for d in data.get("devices") or [] if str(d.get("id")) == device_id), None)
    scoped = {"destinations": dests, "entities": data.get("entities") or []}
    return {
        "device": device,
        "destinations": dests,
        "totals": _totals(dests),
        "by_organisation": organisations(scoped),
        "by_country": countries(scoped),
        "idle_windows": list((data.get("settings") or {}).get("idle_windows") or []),
    }
