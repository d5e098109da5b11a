"""Evaluates policy packs against attributed devices, their destinations and identifier leaks.

Rules are data (``policy/packs/*.yaml``). A rule's ``match`` block is checked by a small set of
condition functions; a rule matches a device when every condition it states holds. Rules with a
``destination`` yield a finding per device and target; rules with a ``leak`` block yield a
finding per device, identifier kind and host the identifier was sent to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from phonehome.intel.loader import Intel
from phonehome.intel.schema import LeakMatch, PolicyPack, Rule
from phonehome.model import (
    Destination,
    Device,
    DeviceID,
    Evidence,
    Finding,
    Leak,
    PolicyRef,
    RuleID,
    Severity,
)


@dataclass(frozen=True)
class PolicySettings:
    """Which packs and rules apply, and the thresholds that shape findings."""

    packs: tuple[str, ...]
    watch_countries: frozenset[str]
    min_confidence: float = 0.5
    skip_rules: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Context:
    intel: Intel
    settings: PolicySettings
    destinations: dict[DeviceID, list[Destination]]
    restricted: frozenset[DeviceID]


Condition = Callable[[Rule, Device, _Context], list[Evidence] | None]
"""Returns the evidence that satisfies the condition, or None when it does not hold."""


def _vendor_condition(rule: Rule, device: Device, ctx: _Context) -> list[Evidence] | None:
    vendor = device.attribution.vendor
    if not rule.match.vendors:
        return []
    if vendor is None or device.attribution.confidence < ctx.settings.min_confidence:
        return None
    for named in rule.match.vendors:
        covered = ctx.intel.family(named) if rule.match.include_related else {named}
        if vendor not in covered:
            continue
        support = [e for e in device.attribution.evidence if vendor in e.detail]
        chain = [
            Evidence(
                "relation",
                f"{ctx.intel.name(parent)} {rel.type} {ctx.intel.name(rel.target)}",
                "; ".join(rel.sources),
                ("since " + rel.since if rel.since else "")
                + ("" if rel.verified else " (secondary source only)"),
            )
            for parent, rel in ctx.intel.relation_path(named, vendor)
        ]
        summary = Evidence(
            "attribution",
            f"{ctx.intel.name(vendor)} (confidence {device.attribution.confidence:.2f})",
            "phonehome",
            f"rule names {ctx.intel.name(named)}",
        )
        return [summary, *support, *chain]
    return None


def _type_condition(rule: Rule, device: Device, ctx: _Context) -> list[Evidence] | None:
    if not rule.match.device_types:
        return []
    if device.attribution.device_type not in rule.match.device_types:
        return None
    support = [
        e
        for e in device.attribution.evidence
        if f"type={device.attribution.device_type}" in e.detail or e.kind == "gateway"
    ]
    return support or [
        Evidence("device_type", device.attribution.device_type or "", "phonehome", "attributed type")
    ]


def _producer_condition(rule: Rule, device: Device, ctx: _Context) -> list[Evidence] | None:
    m = rule.match
    if not m.producer_country_in and not m.producer_country_not_in:
        return []
    vendor = device.attribution.vendor
    country = ctx.intel.country(vendor)
    if country is None or device.attribution.confidence < ctx.settings.min_confidence:
        return None
    if m.producer_country_in and country not in m.producer_country_in:
        return None
    if m.producer_country_not_in and country in m.producer_country_not_in:
        return None
    return [
        Evidence(
            "producer_country",
            country,
            "intel/entities.yaml",
            f"headquarters of {ctx.intel.name(vendor)}; production location not observed directly",
        )
    ]


def _restricted_condition(rule: Rule, device: Device, ctx: _Context) -> list[Evidence] | None:
    if not rule.match.restricted_only:
        return []
    return [] if device.id in ctx.restricted else None


def _handset_condition(rule: Rule, device: Device, ctx: _Context) -> list[Evidence] | None:
    # Handset rules are checked against adb evidence by analyze/handset.py, never here.
    return None if rule.match.handset is not None else []


DEVICE_CONDITIONS: tuple[Condition, ...] = (
    _handset_condition,
    _restricted_condition,
    _vendor_condition,
    _type_condition,
    _producer_condition,
)


def _destination_evidence(d: Destination) -> Evidence:
    where = ", ".join(x for x in (d.country, d.asn) if x)
    return Evidence(
        "destination",
        f"{d.name or d.ip} ({d.ip})",
        "flows",
        f"{where}; sent {d.traffic.bytes_out} B, received {d.traffic.bytes_in} B in {d.traffic.flows} flows",
    )


def _vendor_cloud(device: Device, ctx: _Context) -> Iterable[tuple[str, str, list[Evidence]]]:
    vendor = device.attribution.vendor
    if vendor is None:
        return
    family = ctx.intel.family(vendor)
    hits = [
        d
        for d in ctx.destinations.get(device.id, [])
        if d.organisation and (d.organisation in family or vendor in ctx.intel.family(d.organisation))
    ]
    if hits:
        yield (
            "",
            f"sent data to {ctx.intel.name(vendor)} cloud endpoints",
            [_destination_evidence(d) for d in hits],
        )


def _watch_country(device: Device, ctx: _Context) -> Iterable[tuple[str, str, list[Evidence]]]:
    by_country: dict[str, list[Destination]] = defaultdict(list)
    for d in ctx.destinations.get(device.id, []):
        if d.country in ctx.settings.watch_countries and d.traffic.bytes_out > 0:
            by_country[d.country].append(d)
    for country in sorted(by_country):
        hits = by_country[country]
        total = sum(d.traffic.bytes_out for d in hits)
        yield country, f"sent {total} bytes to {country}", [_destination_evidence(d) for d in hits]


DESTINATION_CHECKS = {"vendor-cloud": _vendor_cloud, "watch-country": _watch_country}


def evaluate(
    devices: Iterable[Device],
    destinations: Iterable[Destination],
    intel: Intel,
    settings: PolicySettings,
    leaks: Iterable[Leak] = (),
) -> list[Finding]:
    """Findings for every enabled rule, device-rules first so ``restricted_only`` can see them."""
    devices = list(devices)
    by_device: dict[DeviceID, list[Destination]] = defaultdict(list)
    for d in destinations:
        by_device[d.device_id].append(d)
    packs = [intel.packs[p] for p in settings.packs]
    findings: list[Finding] = []
    ctx = _Context(intel, settings, by_device, frozenset())
    device_rules = [(p, r) for p in packs for r in p.rules if not _is_traffic_rule(r)]
    dest_rules = [(p, r) for p in packs for r in p.rules if r.match.destination is not None]
    leak_rules = [(p, r) for p in packs for r in p.rules if r.match.leak is not None]
    for pack, rule in device_rules:
        if rule.id in settings.skip_rules:
            continue
        for device in devices:
            evidence = _check_device(rule, device, ctx)
            if evidence is not None:
                findings.append(_finding(pack, rule, device, "", rule.title, evidence))
    restricted = frozenset(f.device_id for f in findings if f.category == "equipment")
    ctx = _Context(intel, settings, by_device, restricted)
    for pack, rule in dest_rules:
        if rule.id in settings.skip_rules:
            continue
        check = DESTINATION_CHECKS[rule.match.destination or ""]
        for device in devices:
            if _check_device(rule, device, ctx) is None:
                continue
            for target, what, evidence in check(device, ctx):
                title = f"{rule.title}: {what}"
                findings.append(_finding(pack, rule, device, target, title, evidence))
    if leak_rules:
        findings.extend(_leak_findings(leak_rules, devices, list(leaks), ctx))
    findings.sort(key=lambda f: (-f.severity, f.rule_id, f.device_id, f.id))
    return findings


def _check_device(rule: Rule, device: Device, ctx: _Context) -> list[Evidence] | None:
    collected: list[Evidence] = []
    for condition in DEVICE_CONDITIONS:
        result = condition(rule, device, ctx)
        if result is None:
            return None
        collected.extend(result)
    if not _is_traffic_rule(rule) and not collected:
        return None  # a rule with no device conditions would match everything
    return list(dict.fromkeys(collected))


def _is_traffic_rule(rule: Rule) -> bool:
    return rule.match.destination is not None or rule.match.leak is not None


def _finding(
    pack: PolicyPack,
    rule: Rule,
    device: Device,
    target: str,
    title: str,
    evidence: list[Evidence],
    severity: Severity | None = None,
) -> Finding:
    suffix = f":{target}" if target else ""
    return Finding(
        id=f"{rule.id}:{device.id}{suffix}",
        rule_id=RuleID(rule.id),
        severity=severity if severity is not None else Severity.parse(rule.severity),
        device_id=device.id,
        title=title,
        policy=PolicyRef(
            policy=pack.id,
            scope=rule.scope,
            effective=rule.effective.isoformat() if rule.effective else None,
            references=tuple(rule.references),
        ),
        evidence=tuple(evidence),
        category="traffic" if _is_traffic_rule(rule) else "equipment",
    )


# --- leak rules ----------------------------------------------------------------------------------


def _leak_findings(
    rules: list[tuple[PolicyPack, Rule]], devices: list[Device], leaks: list[Leak], ctx: _Context
) -> Iterable[Finding]:
    by_device: dict[DeviceID, list[Leak]] = defaultdict(list)
    for leak in leaks:
        by_device[leak.device_id].append(leak)
    for pack, rule in rules:
        match = rule.match.leak
        if match is None or rule.id in ctx.settings.skip_rules:
            continue
        for device in devices:
            found = by_device.get(device.id)
            if not found or _check_device(rule, device, ctx) is None:
                continue
            groups: dict[tuple[str, str], list[tuple[Leak, Destination | None]]] = defaultdict(list)
            for leak in found:
                dest = _leak_destination(leak, ctx)
                if _leak_matches(match, leak, dest):
                    groups[(leak.identifier, leak.host)].append((leak, dest))
            for (identifier, host), hits in sorted(groups.items()):
                yield _leak_finding(pack, rule, match, device, identifier, host, hits, ctx)


def _leak_destination(leak: Leak, ctx: _Context) -> Destination | None:
    """The destination a leak went to: same device and address, else same device and name."""
    candidates = ctx.destinations.get(leak.device_id, [])
    if leak.ip:
        for d in candidates:
            if d.ip == leak.ip:
                return d
    for d in candidates:
        if d.name and d.name.lower() == leak.host:
            return d
    return None


def _leak_matches(match: LeakMatch, leak: Leak, dest: Destination | None) -> bool:
    if not match.covers(leak.identifier) or leak.confidence < match.min_confidence:
        return False
    if match.parties:
        party = (dest.traffic.party if dest else None) or "unknown"
        return party in match.parties
    return True


def _leak_finding(
    pack: PolicyPack,
    rule: Rule,
    match: LeakMatch,
    device: Device,
    identifier: str,
    host: str,
    hits: list[tuple[Leak, Destination | None]],
    ctx: _Context,
) -> Finding:
    severity = Severity.parse(match.severity_of(identifier, rule.severity))
    countries = sorted({d.country for _, d in hits if d is not None and d.country})
    watched = [c for c in countries if c in ctx.settings.watch_countries]
    if watched and match.raise_for_watch_country:
        severity = Severity(min(severity + 1, Severity.CRITICAL))
    where = f" ({', '.join(countries)}{', watch list' if watched else ''})" if countries else ""
    title = f"{rule.title}: {identifier} to {host}{where}"
    evidence = [_leak_evidence(leak) for leak, _ in sorted(hits, key=lambda h: _leak_order(h[0]))]
    dests = {d.ip: d for _, d in hits if d is not None}
    evidence += [_leak_destination_evidence(d, ctx) for _, d in sorted(dests.items())]
    return _finding(pack, rule, device, f"{identifier}@{host}", title, evidence, severity)


def _leak_order(leak: Leak) -> tuple[str, str, str]:
    return (leak.location, leak.encoding, leak.masked)


def _leak_evidence(leak: Leak) -> Evidence:
    times = "once" if leak.count == 1 else f"in {leak.count} requests"
    return Evidence(
        "leak",
        f"{leak.identifier} {leak.masked} ({leak.encoding}) in {leak.location} to {leak.host}",
        leak.source,
        f"sent {times} over {leak.transport}; confidence {leak.confidence:.2f}",
    )


def _leak_destination_evidence(d: Destination, ctx: _Context) -> Evidence:
    facts = [d.country or "country unknown"]
    if d.country and d.country in ctx.settings.watch_countries:
        facts[0] += " (watch list)"
    if d.organisation:
        facts.append(f"operated by {ctx.intel.name(d.organisation) or d.organisation}")
    if d.traffic.party:
        facts.append(f"{d.traffic.party} party")
    if d.asn:
        facts.append(d.asn)
    return Evidence("destination", f"{d.name or d.ip} ({d.ip})", "flows", "; ".join(facts))


def default_watch_countries(intel: Intel, packs: Iterable[str]) -> frozenset[str]:
    """Countries of the vendors named by the enabled packs, plus producer countries they name."""
    countries: set[str] = set()
    for pack_id in packs:
        for rule in intel.packs[pack_id].rules:
            countries.update(c for v in rule.match.vendors if (c := intel.country(v)))
            countries.update(rule.match.producer_country_in)
    return frozenset(countries)
