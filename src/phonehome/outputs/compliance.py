"""Compliance reports: one policy pack's findings with their scope, method, status and limits.

``compliance_view`` builds one JSON-ready context from a ``Report``, the pack's text from the
intel data and, optionally, older audits and the removal plan's status per device. The HTML
template renders that context unchanged; the PDF is Chromium's print of the same HTML. Nothing
here reads the clock: the report's own ``generated_at`` is the only time shown, so equal inputs
give equal bytes.

The report states facts from the evidence and quotes the pack's scope wording. It draws no
legal conclusion.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ipaddress
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from phonehome import __version__
from phonehome.model import Destination, Device, Finding, InputSummary, Report, Severity
from phonehome.outputs import summary
from phonehome.outputs.interface import OutputError

if TYPE_CHECKING:
    import jinja2

    from phonehome.intel.loader import Intel
    from phonehome.intel.schema import PolicyPack, Rule

FORMATS = ("html", "pdf")
"""Values of ``fmt`` that ``render_compliance`` accepts."""

REPRESENTATION_PACKS = frozenset({"ndaa-889"})
"""Packs whose report gets the section supporting a FAR 52.204-24/26 representation."""

OPEN = "open"
"""Remediation status of a device the plan says nothing about."""

ENCRYPTED_APPLICATIONS = frozenset(
    {"TLS", "QUIC", "DTLS", "SSH", "WireGuard", "OpenVPN", "IPSec", "IPsec", "Tor", "HTTPS"}
)
ENCRYPTED_PORTS = frozenset({"tcp/443", "udp/443", "tcp/22", "tcp/853", "tcp/993", "tcp/995", "udp/51820"})
"""Flows on these nDPI applications or remote ports carry content phonehome cannot read."""

_SIGNATURE_ID = re.compile(r"\bSIG-[A-Z0-9-]+\b")


@dataclass(frozen=True)
class AuditStamp:
    """What identifies an audit in every compliance output and export."""

    generated_at: str
    audit_key: str
    """First 16 hex digits of SHA-256 over ``generated_at`` and the sorted input hashes."""
    intel_version: str
    phonehome_version: str
    audit_id: int | None = None
    """Number of the audit in its workspace, when the caller knows it."""

    @property
    def seed(self) -> str:
        """Text that deterministic identifiers (uuid5) of this audit's exports derive from."""
        return f"phonehome:{self.generated_at}:{self.audit_key}"


def audit_stamp(report: Report, audit_id: int | None = None) -> AuditStamp:
    """The stamp of ``report``: equal reports get equal stamps."""
    hashes = "\n".join(sorted(i.sha256 for i in report.inputs))
    key = hashlib.sha256(f"{report.generated_at}\n{hashes}".encode()).hexdigest()[:16]
    return AuditStamp(report.generated_at, key, report.intel_version, __version__, audit_id)


def iso_time(seconds: float | None) -> str | None:
    """Unix seconds as ``2024-05-01T08:00:05Z`` (milliseconds kept when present)."""
    if seconds is None:
        return None
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def _ip_key(ip: str) -> tuple[int, int, str]:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return (9, 0, ip)
    return (addr.version, int(addr), ip)


def local_network(ip: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The /24 (IPv4) or /64 (IPv6) holding ``ip``; None for link-local and special addresses."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if addr.is_link_local or addr.is_loopback or addr.is_unspecified or addr.is_multicast:
        return None
    prefix = 24 if addr.version == 4 else 64
    return ipaddress.ip_network(f"{addr}/{prefix}", strict=False)


def _window(dests: Iterable[Destination]) -> tuple[float | None, float | None]:
    first: float | None = None
    last: float | None = None
    for d in dests:
        t = d.traffic
        first = t.first_seen if first is None else min(first, t.first_seen)
        last = t.last_seen if last is None else max(last, t.last_seen)
    return first, last


def _encrypted(d: Destination) -> bool:
    t = d.traffic
    return bool(ENCRYPTED_APPLICATIONS.intersection(t.applications) or ENCRYPTED_PORTS.intersection(t.ports))


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _min_confidence(report: Report) -> float:
    value = report.settings.get("min_confidence", 0.5)
    return float(value) if isinstance(value, int | float) else 0.5


def _match_text(rule: Rule, intel: Intel) -> str:
    m = rule.match
    parts: list[str] = []
    if m.vendors:
        names = ", ".join(intel.name(v) or v for v in m.vendors)
        parts.append(f"vendor is {names}" + (" or a related company" if m.include_related else ""))
    if m.device_types:
        parts.append("device type is " + ", ".join(m.device_types))
    if m.producer_country_in:
        parts.append("producer country is " + ", ".join(m.producer_country_in))
    if m.producer_country_not_in:
        parts.append("producer country is not " + ", ".join(m.producer_country_not_in))
    if m.restricted_only:
        parts.append("device already matched by a vendor rule")
    if m.destination == "vendor-cloud":
        parts.append("traffic to the vendor's own endpoints")
    elif m.destination == "watch-country":
        parts.append("traffic to a watch-list country")
    return "; ".join(parts) or "—"


class _Scope:
    """Which vendors a pack's equipment rules can name, for flagging unresolved devices."""

    def __init__(self, pack: PolicyPack, intel: Intel) -> None:
        self.intel = intel
        self.vendors: set[str] = set()
        self.rule_of: dict[str, str] = {}
        self.countries: set[str] = set()
        self.not_countries: set[str] = set()
        for rule in pack.rules:
            for named in rule.match.vendors:
                family = intel.family(named) if rule.match.include_related else {named}
                self.vendors.update(family)
                for member in sorted(family):
                    self.rule_of.setdefault(member, named)
            self.countries.update(rule.match.producer_country_in)
            self.not_countries.update(rule.match.producer_country_not_in)

    def covers(self, vendor: str | None) -> bool:
        if not vendor:
            return False
        if vendor in self.vendors:
            return True
        country = self.intel.country(vendor)
        if country is None:
            return False
        if self.countries:
            return country in self.countries and country not in self.not_countries
        return bool(self.not_countries) and country not in self.not_countries


def _device_dict(device: Device, names: Mapping[str, str], dests: Sequence[Destination]) -> dict[str, Any]:
    a = device.attribution
    first, last = _window(dests)
    networks = sorted(
        {str(n) for ip in device.ips if (n := local_network(ip)) is not None},
        key=lambda text: _ip_key(text.split("/")[0]),
    )
    hostnames = list(device.hostnames)
    ips = sorted(device.ips, key=_ip_key)
    return {
        "id": device.id,
        "label": hostnames[0] if hostnames else (ips[0] if ips else device.id),
        "mac": device.mac,
        "ips": ips,
        "hostnames": hostnames,
        "networks": networks,
        "vendor_id": a.vendor,
        "vendor": names.get(a.vendor, a.vendor) if a.vendor else None,
        "brand": a.brand,
        "model": a.model,
        "firmware": a.firmware,
        "device_type": a.device_type,
        "confidence": round(a.confidence, 3),
        "alternatives": [
            {
                "vendor_id": c.vendor,
                "vendor": names.get(c.vendor, c.vendor),
                "confidence": round(c.confidence, 3),
            }
            for c in a.alternatives
        ],
        "roles": list(device.roles),
        "oui_vendor": device.oui_vendor,
        "bytes_out": device.bytes_out,
        "bytes_in": device.bytes_in,
        "first_seen": iso_time(first),
        "last_seen": iso_time(last),
        "destinations": len(dests),
    }


def _evidence(finding: Finding) -> list[dict[str, Any]]:
    return [
        {"kind": e.kind, "value": e.value, "source": e.source, "detail": e.detail} for e in finding.evidence
    ]


def _residual(
    device: dict[str, Any] | None,
    status: str,
    dests: Sequence[Destination],
    family: frozenset[str],
    names: Mapping[str, str],
) -> list[str]:
    """Factual sentences on what remains after the recorded remediation status."""
    out: list[str] = []
    if status == OPEN:
        out.append("No remediation is recorded: the device is taken to be in place as observed.")
    else:
        out.append(
            f"The plan records the status {status!r}; this audit's evidence predates that entry "
            "and does not verify it. A later audit shows whether the device is still seen."
        )
    if device is None:
        out.append("The device is not in this audit's inventory.")
        return out
    if device["first_seen"]:
        first, last = summary.timestamp(device["first_seen"]), summary.timestamp(device["last_seen"])
        out.append(f"Traffic from the device was seen from {first} to {last} (UTC).")
    else:
        out.append("No traffic to remote addresses was recorded for the device.")
    if dests:
        sent = sum(d.traffic.bytes_out for d in dests)
        countries = sorted({d.country for d in dests if d.country})
        where = f" in {', '.join(countries)}" if countries else ""
        out.append(
            f"It sent {summary.human_bytes(sent)} ({sent:,} bytes) to "
            f"{_plural(len(dests), 'remote endpoint')}{where}."
        )
        own = sorted({d.name or d.ip for d in dests if d.organisation and d.organisation in family})
        if own:
            vendor = names.get(str(device["vendor_id"]), str(device["vendor_id"]))
            out.append(f"Endpoints attributed to {vendor} or a related company: {', '.join(own)}.")
    if "gateway" in device["roles"]:
        out.append("The device is a gateway: other hosts' traffic passes through it.")
    if device["alternatives"]:
        alts = ", ".join(f"{a['vendor']} ({a['confidence']:.2f})" for a in device["alternatives"])
        out.append(f"Other vendors the evidence also supports: {alts}.")
    return out


def _input_row(i: InputSummary, span: tuple[float | None, float | None]) -> dict[str, Any]:
    # InputSummary may later carry its own time span; use it when it does.
    first = getattr(i, "first_seen", None)
    last = getattr(i, "last_seen", None)
    if first is None and last is None:
        first, last = span
    return {
        "path": i.path,
        "kind": i.kind,
        "sha256": i.sha256,
        "records": i.packets,
        "skipped": i.skipped,
        "errors": list(i.errors),
        "first_seen": iso_time(first),
        "last_seen": iso_time(last),
    }


def _scope_section(report: Report, dests_by_device: Mapping[str, list[Destination]]) -> dict[str, Any]:
    first, last = _window(report.destinations)
    single = len(report.inputs) == 1
    inputs = [_input_row(i, (first, last) if single else (None, None)) for i in report.inputs]
    inputs.sort(key=lambda row: (row["path"], row["sha256"]))
    nets: dict[ipaddress.IPv4Network | ipaddress.IPv6Network, set[str]] = defaultdict(set)
    for device in report.devices:
        for ip in device.ips:
            net = local_network(ip)
            if net is not None:
                nets[net].add(device.id)
    networks = []
    for net in sorted(nets, key=lambda n: (n.version, int(n.network_address))):
        members = sorted(nets[net])
        nfirst, nlast = _window(d for m in members for d in dests_by_device.get(m, []))
        networks.append(
            {
                "network": str(net),
                "version": net.version,
                "devices": len(members),
                "first_seen": iso_time(nfirst),
                "last_seen": iso_time(nlast),
            }
        )
    declared = report.settings.get("local_networks") or []
    skipped = report.settings.get("skipped_inputs") or []
    return {
        "inputs": inputs,
        "per_input_span": single or any(row["first_seen"] for row in inputs),
        "first_seen": iso_time(first),
        "last_seen": iso_time(last),
        "networks": networks,
        "declared_networks": sorted(str(n) for n in declared) if isinstance(declared, list) else [],
        "skipped_inputs": sorted(str(s) for s in skipped) if isinstance(skipped, list) else [],
        "link_local_only": sorted(
            d.id for d in report.devices if d.ips and all(local_network(ip) is None for ip in d.ips)
        ),
    }


def _method_section(report: Report, intel: Intel, pack: PolicyPack) -> dict[str, Any]:
    uses: dict[str, set[str]] = defaultdict(set)
    kinds: Counter[str] = Counter()
    for device in report.devices:
        for e in device.attribution.evidence:
            if e.supports or e.weight:
                kinds[e.kind] += 1
            for sig in _SIGNATURE_ID.findall(e.detail):
                uses[sig].add(device.id)
    known = {c.signature.id: c.signature for c in intel.signatures}
    signatures = []
    for sig_id in sorted(uses):
        sig = known.get(sig_id)
        signatures.append(
            {
                "id": sig_id,
                "anchor": f"sig-{sig_id}",
                "known": sig is not None,
                "kinds": list(sig.kinds) if sig else [],
                "says": ", ".join(
                    f"{k}={v}"
                    for k, v in (
                        ("vendor", sig.vendor if sig else None),
                        ("brand", sig.brand if sig else None),
                        ("type", sig.device_type if sig else None),
                        ("model", sig.model if sig else None),
                    )
                    if v
                ),
                "certainty": sig.certainty if sig else None,
                "sources": list(sig.sources) if sig else [],
                "devices": len(uses[sig_id]),
            }
        )
    return {
        "min_confidence": _min_confidence(report),
        "signatures": signatures,
        "signature_count": len(intel.signatures),
        "evidence_kinds": sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])),
        "rules": [
            {
                "id": r.id,
                "anchor": f"rule-{r.id}",
                "title": r.title,
                "severity": r.severity,
                "effective": r.effective.isoformat() if r.effective else None,
                "match": _match_text(r, intel),
                "scope": r.scope,
                "references": list(r.references),
            }
            for r in pack.rules
        ],
    }


def _inventory_section(report: Report, names: Mapping[str, str], threshold: float) -> dict[str, Any]:
    by_type: Counter[str] = Counter()
    by_vendor: dict[str | None, Counter[str]] = defaultdict(Counter)
    for device in report.devices:
        a = device.attribution
        kind = a.device_type or "unknown"
        by_type[kind] += 1
        vendor = a.vendor if a.vendor and a.confidence >= threshold else None
        by_vendor[vendor][kind] += 1
    hq = {e.id: e.country for e in report.entities}
    vendors: list[dict[str, Any]] = [
        {
            "vendor_id": vendor,
            "vendor": names.get(vendor, vendor) if vendor else None,
            "country": hq.get(vendor) if vendor else None,
            "devices": sum(types.values()),
            "types": sorted(types.items(), key=lambda kv: (-kv[1], kv[0])),
        }
        for vendor, types in by_vendor.items()
    ]
    vendors.sort(key=lambda row: (row["vendor_id"] is None, -row["devices"], str(row["vendor"] or "")))
    return {
        "devices": len(report.devices),
        "by_type": sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])),
        "by_vendor": vendors,
    }


def _unresolved(
    report: Report, names: Mapping[str, str], threshold: float, scope: _Scope
) -> list[dict[str, Any]]:
    rows = []
    for device in sorted(report.devices, key=lambda d: d.id):
        a = device.attribution
        if a.vendor and a.confidence >= threshold:
            continue
        candidates = [(a.vendor, a.confidence)] if a.vendor else []
        candidates += [(c.vendor, c.confidence) for c in a.alternatives]
        rows.append(
            {
                "id": device.id,
                "ips": sorted(device.ips, key=_ip_key),
                "hostnames": list(device.hostnames),
                "mac": device.mac,
                "device_type": a.device_type,
                "oui_vendor": device.oui_vendor,
                "candidates": [
                    {"vendor": names.get(v, v), "vendor_id": v, "confidence": round(c, 3)}
                    for v, c in candidates
                    if v
                ],
                "possibly_in_scope": any(scope.covers(v) for v, _ in candidates),
            }
        )
    return rows


def _limits(
    report: Report,
    view: dict[str, Any],
    pack: PolicyPack,
    intel: Intel,
) -> list[dict[str, Any]]:
    """What the evidence cannot show, from the inputs themselves."""
    scope = view["scope"]
    out: list[dict[str, Any]] = []
    nets = [n["network"] for n in scope["networks"]]
    out.append(
        {
            "title": "Only the networks seen",
            "text": (
                "Local hosts were seen on " + ", ".join(nets) + ". Subnets, VLANs and sites that "
                "no input covers are not covered by this report."
                if nets
                else "No local host with a routable address was seen: no network is covered."
            ),
            "items": [],
        }
    )
    if scope["first_seen"]:
        first, last = summary.timestamp(scope["first_seen"]), summary.timestamp(scope["last_seen"])
        when = f"between {first} and {last} (UTC)"
        text = (
            f"Traffic was recorded {when}. Devices that were powered off, disconnected or silent "
            "in that window, or that only talk to other local hosts, leave no trace in these inputs."
        )
    else:
        text = (
            "The inputs record no traffic times. Devices that were powered off or absent when the "
            "evidence was collected are not in it."
        )
    out.append({"title": "Devices powered off or silent", "text": text, "items": []})
    encrypted = [d for d in report.destinations if _encrypted(d)]
    if report.destinations:
        flows = sum(d.traffic.flows for d in encrypted)
        out.append(
            {
                "title": "Encrypted traffic content",
                "text": (
                    f"{len(encrypted)} of {_plural(len(report.destinations), 'remote endpoint')} "
                    f"({flows:,} flows) used encrypted protocols. phonehome reads names (DNS, TLS "
                    "SNI), addresses and volumes, not the content of encrypted traffic."
                ),
                "items": [],
            }
        )
    unresolved = view["unresolved"]
    threshold = view["method"]["min_confidence"]
    flagged = sum(1 for u in unresolved if u["possibly_in_scope"])
    out.append(
        {
            "title": "Unresolved devices",
            "text": (
                f"{_plural(len(unresolved), 'device')} could not be attributed to a vendor at or above "
                f"the confidence threshold {threshold:.2f}; no vendor rule was applied to them"
                + (
                    f". For {flagged} of them the evidence points to a vendor in this pack's scope."
                    if flagged
                    else "."
                )
                if unresolved
                else f"Every device was attributed at or above the confidence threshold {threshold:.2f}."
            ),
            "items": [u["id"] for u in unresolved],
            "anchor": "unresolved",
        }
    )
    problems = [f"{i['path']}: {e}" for i in scope["inputs"] for e in i["errors"]] + [
        f"{i['path']}: {_plural(i['skipped'], 'record')} skipped (unparseable)"
        for i in scope["inputs"]
        if i["skipped"]
    ]
    problems += scope["skipped_inputs"]
    out.append(
        {
            "title": "Inputs with errors or skipped records",
            "text": (
                "Part of the evidence could not be read; what it held is not in this report."
                if problems
                else "Every input was read without errors or skipped records."
            ),
            "items": problems,
        }
    )
    no_mac = sorted(d.id for d in report.devices if not d.mac)
    randomised = sorted(d.id for d in report.devices if "randomised-mac" in d.roles)
    if no_mac:
        out.append(
            {
                "title": "Devices seen only by IP address",
                "text": (
                    f"{_plural(len(no_mac), 'device')} had no MAC address in the evidence (seen behind a "
                    "router or only in flow logs), so no manufacturer prefix (OUI) could be read."
                ),
                "items": no_mac,
            }
        )
    if randomised:
        out.append(
            {
                "title": "Randomised MAC addresses",
                "text": (
                    f"{_plural(len(randomised), 'device')} used a locally administered (randomised) MAC, "
                    "which names no manufacturer; the same device may appear under several addresses."
                ),
                "items": randomised,
            }
        )
    if any(r.match.vendors and r.match.include_related for r in pack.rules):
        out.append(
            {
                "title": "Subsidiaries, affiliates and relabelled equipment",
                "text": (
                    "Related companies are recognised only through current, verified relations in the "
                    "intel data. Equipment made by a named company but sold under another name, with no "
                    "evidence of its maker, is attributed to the name it carries or not at all."
                ),
                "items": [],
            }
        )
    if any(r.match.producer_country_in or r.match.producer_country_not_in for r in pack.rules):
        out.append(
            {
                "title": "Producer country",
                "text": (
                    "Where a rule depends on where equipment is produced, phonehome uses the vendor's "
                    "headquarters country; the place of design or assembly is not observed."
                ),
                "items": [],
            }
        )
    out.append(
        {
            "title": "Use, purpose, ownership and site",
            "text": (
                "Network evidence does not show what a device is used for, who owns or operates it, "
                "or the status of the site it is on. Where a rule's scope depends on these, the "
                "finding reports the equipment only."
            ),
            "items": [],
        }
    )
    if report.intel_version != intel.version:
        out.append(
            {
                "title": "Intel data version",
                "text": (
                    f"The audit was evaluated with intel data {report.intel_version}; the pack text and "
                    f"rule descriptions shown come from intel data {intel.version}. Re-run the audit "
                    "to apply the newer data."
                ),
                "items": [],
            }
        )
    if "policies" not in report.settings:
        out.append(
            {
                "title": "Policies applied",
                "text": "The saved audit does not record which policy packs it applied.",
                "items": [],
            }
        )
    return out


def _representation(
    report: Report,
    pack: PolicyPack,
    intel: Intel,
    findings: list[dict[str, Any]],
    unresolved: list[dict[str, Any]],
    names: Mapping[str, str],
) -> dict[str, Any]:
    """Facts for a FAR 52.204-24/26 representation: found or not, where, and the plan."""
    entities = []
    covered: set[str] = set()
    for rule in pack.rules:
        for named in rule.match.vendors:
            family = intel.family(named) if rule.match.include_related else frozenset({named})
            covered.update(family)
            entity = intel.entities.get(named)
            entities.append(
                {
                    "id": named,
                    "name": entity.name if entity else named,
                    "short": intel.name(named) or named,
                    "rule_id": rule.id,
                    "related": sorted(intel.name(m) or m for m in family if m != named),
                    "devices": sorted(
                        {
                            f["device_id"]
                            for f in findings
                            if f["category"] == "equipment"
                            and f["device"]
                            and f["device"]["vendor_id"] in family
                        }
                    ),
                    "scope": rule.scope,
                }
            )
    equipment = [f for f in findings if f["category"] == "equipment"]
    services: list[dict[str, Any]] = [
        {
            "device_id": d.device_id,
            "name": d.name,
            "ip": d.ip,
            "organisation": names.get(d.organisation or "", d.organisation),
            "country": d.country,
            "bytes_out": d.traffic.bytes_out,
            "flows": d.traffic.flows,
            "first_seen": iso_time(d.traffic.first_seen),
            "last_seen": iso_time(d.traffic.last_seen),
        }
        for d in report.destinations
        if d.organisation and d.organisation in covered
    ]
    services.sort(key=lambda s: (s["device_id"], -s["bytes_out"], str(s["name"] or ""), _ip_key(s["ip"])))
    return {
        "found": bool(equipment),
        "devices": sorted({f["device_id"] for f in equipment}),
        "entities": entities,
        "services": services,
        "possible": [u for u in unresolved if u["possibly_in_scope"]],
    }


def _trend(report: Report, history: Sequence[Report], pack_id: str, threshold: float) -> list[dict[str, Any]]:
    rows = []
    for n, item in enumerate([*history, report]):
        mine = [f for f in item.findings if f.policy.policy == pack_id]
        rules = Counter(f.rule_id for f in mine)
        item_threshold = _min_confidence(item) if "min_confidence" in item.settings else threshold
        rows.append(
            {
                "generated_at": item.generated_at,
                "audit_key": audit_stamp(item).audit_key,
                "current": item is report,
                "inputs": len(item.inputs),
                "devices": len(item.devices),
                "findings": len(mine),
                "affected": len({f.device_id for f in mine}),
                "unresolved": sum(
                    1
                    for d in item.devices
                    if not d.attribution.vendor or d.attribution.confidence < item_threshold
                ),
                "by_rule": dict(sorted(rules.items())),
                "order": n,
            }
        )
    rows.sort(key=lambda r: (r["generated_at"], r["audit_key"], r["order"]))
    for row in rows:
        del row["order"]
    return rows


def compliance_view(
    report: Report,
    pack_id: str,
    intel: Intel,
    history: Sequence[Report] | None = None,
    plan_status: Mapping[str, str] | None = None,
    audit_id: int | None = None,
) -> dict[str, Any]:
    """The JSON-ready context of a compliance report; raises ``OutputError`` for an unknown pack."""
    pack = intel.packs.get(pack_id)
    if pack is None:
        known = ", ".join(sorted(intel.packs))
        raise OutputError(f"compliance: unknown policy pack {pack_id!r} (known: {known})")
    applied = report.settings.get("policies")
    if isinstance(applied, list) and pack_id not in applied:
        raise OutputError(
            f"compliance: the audit of {report.generated_at} did not apply policy pack {pack_id!r} "
            f"(applied: {', '.join(map(str, applied)) or 'none'}); re-run the audit with --policy {pack_id}"
        )
    names = {e.id: e.name for e in report.entities}
    threshold = _min_confidence(report)
    dests_by_device: dict[str, list[Destination]] = defaultdict(list)
    for d in report.destinations:
        dests_by_device[d.device_id].append(d)
    devices = {d.id: _device_dict(d, names, dests_by_device.get(d.id, [])) for d in report.devices}
    statuses = {str(k): (str(v).strip() or OPEN) for k, v in (plan_status or {}).items()}
    rule_ids = {r.id for r in pack.rules}
    scope = _Scope(pack, intel)

    findings: list[dict[str, Any]] = []
    mine = sorted(
        (f for f in report.findings if f.policy.policy == pack_id),
        key=lambda f: (-int(f.severity), f.rule_id, f.device_id, f.id),
    )
    for f in mine:
        device = devices.get(f.device_id)
        status = statuses.get(f.device_id, OPEN)
        vendor = device["vendor_id"] if device else None
        family = intel.family(vendor) if vendor else frozenset()
        findings.append(
            {
                "id": f.id,
                "anchor": "finding-" + re.sub(r"[^A-Za-z0-9_-]+", "-", f.id).strip("-"),
                "rule_id": f.rule_id,
                "rule_in_pack": f.rule_id in rule_ids,
                "severity": f.severity.label,
                "category": f.category,
                "title": f.title,
                "device_id": f.device_id,
                "device": device,
                "scope": f.policy.scope,
                "effective": f.policy.effective,
                "references": list(f.policy.references),
                "evidence": _evidence(f),
                "status": status,
                "residual": _residual(device, status, dests_by_device.get(f.device_id, []), family, names),
            }
        )
    status_counts = Counter(f["status"] for f in {f["device_id"]: f for f in findings}.values())
    stamp = audit_stamp(report, audit_id)
    view: dict[str, Any] = {
        "stamp": {
            "generated_at": stamp.generated_at,
            "audit_key": stamp.audit_key,
            "audit_id": stamp.audit_id,
            "intel_version": stamp.intel_version,
            "intel_version_rendered": intel.version,
            "phonehome_version": stamp.phonehome_version,
            "schema_version": report.schema_version,
            "inputs": sorted(
                [{"path": i.path, "sha256": i.sha256} for i in report.inputs],
                key=lambda x: (x["path"], x["sha256"]),
            ),
        },
        "pack": {
            "id": pack.id,
            "title": pack.title,
            "authority": pack.authority,
            "jurisdiction": pack.jurisdiction,
            "version": pack.version,
            "summary": pack.summary,
            "references": list(pack.references),
        },
        "scope": _scope_section(report, dests_by_device),
        "method": _method_section(report, intel, pack),
        "inventory": _inventory_section(report, names, threshold),
        "findings": findings,
        "finding_counts": {
            "total": len(findings),
            "devices": len({f["device_id"] for f in findings}),
            "by_severity": [
                (s.label, n)
                for s in sorted(Severity, reverse=True)
                if (n := sum(1 for f in findings if f["severity"] == s.label))
            ],
        },
        "status_counts": sorted(status_counts.items(), key=lambda kv: (kv[0] != OPEN, kv[0])),
        "unresolved": _unresolved(report, names, threshold, scope),
        "trend": _trend(report, history, pack_id, threshold) if history else [],
    }
    view["trend_rules"] = sorted({r for row in view["trend"] for r in row["by_rule"]})
    view["limits"] = _limits(report, view, pack, intel)
    view["representation"] = (
        _representation(report, pack, intel, findings, view["unresolved"], names)
        if pack_id in REPRESENTATION_PACKS
        else None
    )
    return view


def _link_signatures(text: Any, known: Iterable[str]) -> Any:
    """Escape ``text`` and link every signature id the method section lists."""
    import markupsafe

    ids = set(known)
    escaped = str(markupsafe.escape("" if text is None else text))

    def link(m: re.Match[str]) -> str:
        sig = m.group(0)
        return f'<a href="#sig-{sig}">{sig}</a>' if sig in ids else sig

    return markupsafe.Markup(_SIGNATURE_ID.sub(link, escaped))


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("phonehome", "outputs/templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        bytes=summary.human_bytes,
        thousands=summary.thousands,
        percent=summary.percent,
        timestamp=summary.timestamp,
        link_signatures=_link_signatures,
    )
    env.tests["web_url"] = lambda v: isinstance(v, str) and v.lower().startswith(("https://", "http://"))
    return env


def render_compliance_html(view: Mapping[str, Any]) -> str:
    """The self-contained HTML document for a ``compliance_view`` context."""
    import jinja2

    try:
        return _environment().get_template("compliance.html.j2").render(c=view)
    except jinja2.TemplateError as exc:  # a packaging or template bug, not bad input
        raise OutputError(f"compliance: cannot render the report template: {exc}") from exc


def render_compliance(
    report: Report,
    pack_id: str,
    intel: Intel,
    fmt: str,
    history: list[Report] | None = None,
    plan_status: Mapping[str, str] | None = None,
    *,
    audit_id: int | None = None,
) -> bytes:
    """The compliance report for ``pack_id`` as HTML (UTF-8) or PDF bytes.

    ``history`` holds older audits for the trend section; ``plan_status`` maps device ids to the
    remediation status recorded in the removal plan (devices it omits are ``open``).
    """
    if fmt not in FORMATS:
        raise OutputError(f"compliance: unknown format {fmt!r} (expected {' or '.join(FORMATS)})")
    view = compliance_view(report, pack_id, intel, history, plan_status, audit_id)
    html = render_compliance_html(view)
    if fmt == "html":
        return html.encode("utf-8")
    from phonehome.outputs.pdf import html_to_pdf

    footer = f"{pack_id} · audit {view['stamp']['audit_key']} · {report.generated_at}"
    return html_to_pdf(html, created=report.generated_at, footer=footer)
