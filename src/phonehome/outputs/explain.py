"""``phonehome explain``: the reasoning behind one device's attribution, as plain text.

A pure renderer: the same report and device always give the same text.
"""

from __future__ import annotations

from collections import defaultdict

from phonehome.model import Device, Evidence, Report
from phonehome.outputs.summary import thousands
from phonehome.sources.neighbours import normalise_mac


class DeviceNotFound(LookupError):
    """No device, or more than one, answers to the name asked for."""


def find_device(report: Report, query: str) -> Device:
    """The device whose id, MAC, IP or host name is ``query`` (case-insensitive)."""
    q = query.strip().lower()
    mac = normalise_mac(q)  # 54-8C-81-..., 548c.813e.92a7: the notations ARP tables print
    exact = [
        d for d in report.devices if q in (d.id.lower(), (d.mac or "").lower()) or (mac and d.mac == mac)
    ]
    if not exact:
        exact = [d for d in report.devices if q in d.ips or q in (h.lower() for h in d.hostnames)]
    if len(exact) == 1:
        return exact[0]
    if not exact:
        raise DeviceNotFound(f"no device with id, MAC, IP or host name {query!r}")
    ids = ", ".join(d.id for d in exact[:5])
    raise DeviceNotFound(f"{query!r} matches {len(exact)} devices ({ids}); give a device id")


def _claims(evidence: Evidence) -> dict[str, str]:
    claims: dict[str, str] = {}
    for part in evidence.supports.split(","):
        key, _, value = part.strip().partition("=")
        if value:
            claims[key] = value
    return claims


def _line(e: Evidence) -> str:
    weight = f"{e.weight:+.2f}" if e.weight else "  .  "
    detail = f"  -- {e.detail}" if e.detail else ""
    return f"  {weight}  {e.kind}: {e.value}  [{e.source}]{detail}"


def explain(report: Report, device: Device) -> str:
    names = {e.id: e.name for e in report.entities}

    def name(entity: str | None) -> str:
        if not entity:
            return "unknown"
        if entity.startswith("oui:"):
            return f"{entity[4:]} (IEEE registrant, not in the intel data)"
        return names.get(entity, entity)

    a = device.attribution
    out = [f"Device {device.id}"]
    by_address: dict[str, list[str]] = defaultdict(list)
    for e in device.addresses:
        by_address[e.value].append(e.source)
    for address in [device.mac or "", *device.ips]:
        if address:
            label = "MAC" if address == device.mac else "IP "
            seen = ", ".join(sorted(set(by_address.get(address, [])))) or "capture"
            out.append(f"  {label} {address}  (reported by: {seen})")
    if device.hostnames:
        out.append(f"  names: {', '.join(device.hostnames)}")
    if device.oui_vendor:
        out.append(f"  OUI registrant: {device.oui_vendor}")
    if device.roles:
        out.append(f"  roles: {', '.join(device.roles)}")
    if device.sources:
        out.append(f"  seen in: {', '.join(device.sources)}")
    volume = f"{thousands(device.bytes_out)} B out, {thousands(device.bytes_in)} B in"
    out.append(f"  traffic to remote addresses: {volume}")

    out.append("")
    what = [name(a.vendor)]
    if a.brand and a.brand != name(a.vendor):
        what.append(f"brand {a.brand}")
    if a.model:
        what.append(f"model {a.model}")
    if a.firmware:
        what.append(f"firmware {a.firmware}")
    what.append(f"type {a.device_type or 'unknown'}")
    out.append(f"Verdict: {', '.join(what)}; confidence {a.confidence:.2f}")
    out.append("  Independent pieces of evidence for one vendor combine as 1 - (1 - w1)(1 - w2)...;")
    out.append("  the vendor with the strongest combined support wins.")

    groups: dict[str, list[Evidence]] = defaultdict(list)
    typed: list[Evidence] = []
    neutral: list[Evidence] = []
    for e in a.evidence:
        claims = _claims(e)
        if "vendor" in claims:
            groups[claims["vendor"]].append(e)
        elif "type" in claims:
            typed.append(e)
        else:
            neutral.append(e)
    if a.vendor and a.vendor in groups:
        out += ["", f"Evidence for {name(a.vendor)}:"]
        out += [_line(e) for e in sorted(groups.pop(a.vendor), key=lambda e: (-e.weight, e))]
    for c in a.alternatives:
        items = groups.pop(c.vendor, [])
        out += ["", f"Conflicting evidence, for {name(c.vendor)} (combined {c.confidence:.2f}):"]
        out += [_line(e) for e in sorted(items, key=lambda e: (-e.weight, e))]
    for vendor, items in sorted(groups.items()):
        out += ["", f"Evidence for {name(vendor)}:"]
        out += [_line(e) for e in sorted(items, key=lambda e: (-e.weight, e))]
    if typed:
        out += ["", "Evidence about the device type only:"]
        out += [_line(e) for e in sorted(typed, key=lambda e: (-e.weight, e))]
    if neutral:
        out += ["", "Other facts considered (no rule gives them weight):"]
        out += [_line(e) for e in neutral]

    findings = [f for f in report.findings if f.device_id == device.id]
    out += ["", f"Findings: {len(findings) or 'none'}"]
    for f in sorted(findings, key=lambda f: (-f.severity, f.rule_id, f.id)):
        out.append(f"  {f.severity.label:<8} {f.rule_id}  {f.title}  ({f.policy.policy})")
    return "\n".join(out) + "\n"
