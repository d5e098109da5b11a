"""STIX 2.1 export: vendors as identities, the endpoints of flagged devices as indicators.

A device is flagged when any finding names it. Every remote endpoint a restricted device
(one an equipment rule matched) contacted, and every endpoint a traffic finding cites, becomes
an indicator (its name as ``domain-name``, its address as ``ipv4-addr``/``ipv6-addr``),
linked with ``related-to`` to the identity of the organisation the intel data says operates it
(STIX 2.1 defines no indicator-to-identity type more specific than that). Identities point to
their headquarters country with ``located-at``. A ``report`` object carries the audit stamp and
lists everything.

Ids derive from a hash of the audit stamp and the object's content; every timestamp is the audit's own
``generated_at``, so equal reports give equal bundles.
"""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from phonehome import __version__
from phonehome.model import Destination, Device, Report
from phonehome.outputs.compliance import AuditStamp, audit_stamp
from phonehome.outputs.interface import OutputError

NAMESPACE = "phonehome-stix-2.1"
"""Prefix of the hashed text that STIX identifiers derive from."""


def _sid(kind: str, stamp: AuditStamp, *content: str) -> str:
    """A deterministic identifier: SHA-256 of the stamp and content, shaped as a version-4 UUID.

    STIX 2.1 asks for UUIDv4 on SDOs and SROs (stix2-validator warns on uuid5), and a hash
    taken as the random bits gives the same id for the same content every time.
    """
    digest = hashlib.sha256("|".join((NAMESPACE, stamp.seed, kind, *content)).encode()).digest()
    return f"{kind}--{uuid.UUID(bytes=digest[:16], version=4)}"


def _quote(value: str) -> str:
    """A STIX pattern string literal (single quotes, backslash escapes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ip_pattern(ip: str) -> str | None:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    kind = "ipv4-addr" if addr.version == 4 else "ipv6-addr"
    return f"[{kind}:value = {_quote(str(addr))}]"


def _domain(name: str | None) -> str | None:
    if not name:
        return None
    text = name.strip().rstrip(".").lower()
    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return None  # an address used as a name is covered by the IP indicator
    if not text or any(ch.isspace() for ch in text) or "." not in text:
        return None
    return text


@dataclass
class _Endpoint:
    """One indicator value with everything that points at it."""

    pattern: str
    value: str
    kind: str
    devices: set[str] = field(default_factory=set)
    organisations: set[str] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)
    rules: set[str] = field(default_factory=set)
    bytes_out: int = 0
    flows: int = 0


def _endpoints(report: Report, flagged: dict[str, set[str]]) -> dict[tuple[str, str], _Endpoint]:
    """Every endpoint of a restricted device, and those a traffic finding cites for others."""
    restricted = {f.device_id for f in report.findings if f.category == "equipment"}
    cited: dict[str, set[str]] = defaultdict(set)
    for f in report.findings:
        cited[f.device_id].update(e.value for e in f.evidence if e.kind == "destination")
    out: dict[tuple[str, str], _Endpoint] = {}

    def add(key: tuple[str, str], pattern: str, d: Destination) -> None:
        ep = out.setdefault(key, _Endpoint(pattern, key[1], key[0]))
        ep.devices.add(d.device_id)
        ep.rules.update(flagged[d.device_id])
        if d.organisation:
            ep.organisations.add(d.organisation)
        if d.country:
            ep.countries.add(d.country)
        ep.bytes_out += d.traffic.bytes_out
        ep.flows += d.traffic.flows

    for d in report.destinations:
        if d.device_id not in flagged:
            continue
        if d.device_id not in restricted and f"{d.name or d.ip} ({d.ip})" not in cited[d.device_id]:
            continue
        domain = _domain(d.name)
        if domain:
            add(("domain-name", domain), f"[domain-name:value = {_quote(domain)}]", d)
        pattern = _ip_pattern(d.ip)
        if pattern:
            kind = "ipv6-addr" if ":" in d.ip else "ipv4-addr"
            add((kind, str(ipaddress.ip_address(d.ip))), pattern, d)
    return out


def stix_objects(report: Report, audit_id: int | None = None) -> list[Any]:
    """The STIX objects of ``report``, sorted by type and id (bundle excluded)."""
    from stix2.v21 import Identity, Indicator, Location, Relationship
    from stix2.v21 import Report as StixReport

    stamp = audit_stamp(report, audit_id)
    when = report.generated_at
    common = {"created": when, "modified": when}
    names = {e.id: e.name for e in report.entities}
    countries = {e.id: e.country for e in report.entities}
    devices: dict[str, Device] = {d.id: d for d in report.devices}
    flagged: dict[str, set[str]] = defaultdict(set)
    for f in report.findings:
        flagged[f.device_id].add(f.rule_id)

    author = Identity(
        id=_sid("identity", stamp, "phonehome"),
        name=f"phonehome {__version__}",
        identity_class="system",
        description="The network audit tool that produced this bundle.",
        **common,
    )
    objects: list[Any] = [author]
    by_author = {"created_by_ref": author.id, **common}
    identities: dict[str, Any] = {}
    locations: dict[str, Any] = {}

    def identity(entity: str) -> Any:
        if entity not in identities:
            country = countries.get(entity)
            identities[entity] = Identity(
                id=_sid("identity", stamp, "entity", entity),
                name=names.get(entity, entity),
                identity_class="organization",
                description=(
                    f"Entity '{entity}' in phonehome's intel data"
                    + (f"; headquarters country {country}" if country else "")
                    + "."
                ),
                **by_author,
            )
            if country:
                if country not in locations:
                    locations[country] = Location(
                        id=_sid("location", stamp, country), country=country, **by_author
                    )
                objects.append(
                    Relationship(
                        id=_sid("relationship", stamp, "located-at", entity, country),
                        relationship_type="located-at",
                        source_ref=identities[entity].id,
                        target_ref=locations[country].id,
                        description="Headquarters country according to phonehome's intel data.",
                        **by_author,
                    )
                )
        return identities[entity]

    for device_id in sorted(flagged):
        device = devices.get(device_id)
        vendor = device.attribution.vendor if device else None
        if vendor:
            identity(vendor)

    for (kind, value), ep in sorted(_endpoints(report, flagged).items()):
        vendors = {devices[d].attribution.vendor for d in ep.devices if d in devices}
        labels = sorted(f"device-vendor:{v}" for v in vendors if v)
        operated = ", ".join(names.get(o, o) for o in sorted(ep.organisations)) or "unknown"
        description = (
            f"Contacted by {len(ep.devices)} flagged device(s) ({', '.join(sorted(ep.devices))}; "
            f"rules {', '.join(sorted(ep.rules))}); sent {ep.bytes_out} bytes in {ep.flows} flows. "
            f"Operator per phonehome intel data: {operated}. "
            f"Countries (IP geolocation): {', '.join(sorted(ep.countries)) or 'unknown'}."
        )
        indicator = Indicator(
            id=_sid("indicator", stamp, kind, value),
            name=f"{value} ({kind})",
            description=description,
            indicator_types=["attribution"] if ep.organisations else ["unknown"],
            pattern=ep.pattern,
            pattern_type="stix",
            valid_from=when,
            **({"labels": labels} if labels else {}),
            **by_author,
        )
        objects.append(indicator)
        for org in sorted(ep.organisations):
            target = identity(org)
            objects.append(
                Relationship(
                    id=_sid("relationship", stamp, "related-to", kind, value, org),
                    relationship_type="related-to",
                    source_ref=indicator.id,
                    target_ref=target.id,
                    description=(
                        f"Endpoint operated by {names.get(org, org)} according to phonehome's intel data."
                    ),
                    **by_author,
                )
            )
    objects.extend(identities.values())
    objects.extend(locations.values())
    inputs = "; ".join(f"{i.path} sha256:{i.sha256}" for i in report.inputs) or "none"
    objects.append(
        StixReport(
            id=_sid("report", stamp, "audit"),
            name=f"phonehome audit {stamp.audit_key}",
            description=(
                f"Audit generated at {stamp.generated_at} with intel data {stamp.intel_version} "
                f"by phonehome {stamp.phonehome_version}"
                + (f" (workspace audit {audit_id})" if audit_id is not None else "")
                + f". Inputs: {inputs}."
            ),
            report_types=["indicator", "identity"],
            published=when,
            object_refs=sorted(o.id for o in objects),
            **by_author,
        )
    )
    objects.sort(key=lambda o: (o.type, o.id))
    return objects


def render_stix(report: Report, audit_id: int | None = None) -> str:
    """The STIX 2.1 bundle for ``report`` as JSON text."""
    try:
        objects = stix_objects(report, audit_id)
    except Exception as e:  # stix2 raises its own hierarchy for invalid values
        from stix2.exceptions import STIXError

        if isinstance(e, STIXError | ValueError):
            raise OutputError(f"stix: cannot build the bundle: {e}") from e
        raise
    from stix2.v21 import Bundle

    bundle = Bundle(id=_sid("bundle", audit_stamp(report, audit_id), "bundle"), objects=objects)
    return str(bundle.serialize(pretty=True)) + "\n"


class StixFormat:
    """``phonehome export --format stix``."""

    name = "stix"
    suffix = ".stix.json"

    def render(self, report: Report) -> str:
        return render_stix(report)
