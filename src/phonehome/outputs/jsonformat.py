"""JSON output: the documented, versioned report contract (see ``docs/json-schema.md``).

``report_to_dict`` is also the context every other renderer starts from, so the HTML report
and the JSON twin can never disagree.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from phonehome.model import Destination, Device, Evidence, Finding, Leak, Report


def _time(seconds: float) -> str | None:
    """ISO 8601 UTC; None for a time no calendar date can hold (a corrupt record's timestamp)."""
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return None


def _evidence(items: tuple[Evidence, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for e in items:
        item: dict[str, Any] = {"kind": e.kind, "value": e.value, "source": e.source, "detail": e.detail}
        if e.supports:
            item["supports"] = e.supports
            item["weight"] = round(e.weight, 3)
        out.append(item)
    return out


def _device(device: Device, names: dict[str, str]) -> dict[str, Any]:
    a = device.attribution
    return {
        "id": device.id,
        "mac": device.mac,
        "ips": list(device.ips),
        "hostnames": list(device.hostnames),
        "vendor": names.get(a.vendor) if a.vendor else None,
        "vendor_id": a.vendor,
        "brand": a.brand,
        "oui_vendor": device.oui_vendor,
        "model": a.model,
        "firmware": a.firmware,
        "device_type": a.device_type,
        "confidence": round(a.confidence, 3),
        "alternatives": [
            {
                "vendor": names.get(c.vendor, c.vendor),
                "vendor_id": c.vendor,
                "confidence": round(c.confidence, 3),
            }
            for c in a.alternatives
        ],
        "roles": list(device.roles),
        "sources": list(device.sources),
        "addresses": _evidence(device.addresses),
        "evidence": _evidence(a.evidence),
        "bytes_out": device.bytes_out,
        "bytes_in": device.bytes_in,
    }


def _destination(d: Destination, names: dict[str, str]) -> dict[str, Any]:
    t = d.traffic
    return {
        "device_id": d.device_id,
        "name": d.name,
        "domain": d.domain,
        "ip": d.ip,
        "organisation": names.get(d.organisation) if d.organisation else None,
        "organisation_id": d.organisation,
        "asn": d.asn,
        "country": d.country,
        "bytes_out": t.bytes_out,
        "bytes_in": t.bytes_in,
        "flows": t.flows,
        "first_seen": _time(t.first_seen),
        "last_seen": _time(t.last_seen),
        "applications": list(t.applications),
        "ports": list(t.ports),
        "party": t.party,
        "period_seconds": t.period_seconds,
        "idle_bytes_out": t.idle_bytes_out,
        "idle_flows": t.idle_flows,
        "samples": list(t.samples),
    }


def _leak(k: Leak) -> dict[str, Any]:
    return {
        "device_id": k.device_id,
        "host": k.host,
        "ip": k.ip,
        "identifier": k.identifier,
        "encoding": k.encoding,
        "location": k.location,
        "masked": k.masked,
        "confidence": round(k.confidence, 3),
        "first_seen": _time(k.first_seen),
        "last_seen": _time(k.last_seen),
        "count": k.count,
        "transport": k.transport,
        "source": k.source,
    }


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "rule_id": f.rule_id,
        "policy": f.policy.policy,
        "severity": f.severity.label,
        "category": f.category,
        "device_id": f.device_id,
        "title": f.title,
        "scope": f.policy.scope,
        "effective": f.policy.effective,
        "evidence": _evidence(f.evidence),
        "references": list(f.policy.references),
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data, in the documented shape."""
    names = {e.id: e.name for e in report.entities}
    return {
        "schema_version": report.schema_version,
        "generated_at": report.generated_at,
        "intel_version": report.intel_version,
        "settings": report.settings,
        "inputs": [
            {
                "path": i.path,
                "kind": i.kind,
                "packets": i.packets,
                "skipped": i.skipped,
                "sha256": i.sha256,
                "errors": list(i.errors),
            }
            for i in report.inputs
        ],
        "entities": [{"id": e.id, "name": e.name, "country": e.country} for e in report.entities],
        "devices": [_device(d, names) for d in report.devices],
        "destinations": [_destination(d, names) for d in report.destinations],
        "findings": [_finding(f) for f in report.findings],
        "leaks": [_leak(k) for k in report.leaks],
    }


class JsonFormat:
    """``--format json``."""

    name = "json"
    suffix = ".json"

    def render(self, report: Report) -> str:
        return json.dumps(report_to_dict(report), indent=2, sort_keys=False) + "\n"
