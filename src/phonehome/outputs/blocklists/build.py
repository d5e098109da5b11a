"""From a report and the intel catalogue to a ``Blocklist``: which devices, names and addresses.

Devices: those with findings, or the ones named with ``--device``.

Observed destinations of those devices are blocked when the evidence ties them to the device's
vendor: a finding names the destination, or the destination is operated by the vendor's family
(subsidiaries, brands, OEMs). Destinations run by anyone else (NTP pools, connectivity checks,
other companies' clouds) or by nobody phonehome knows are withheld and listed instead: a DNS
blocklist applies to every client of the resolver, so blocking them could break other devices.
``--all-destinations`` blocks them too.

The catalogue (``intel/data/domains.yaml``) adds the domains of each selected device's vendor
family, unless ``--observed-only``. ``--purpose`` keeps only the named purposes (``unknown``
for what the catalogue does not describe); catalogue names whose purpose is ``cdn`` or
``cloud-platform`` carry other organisations' services and are added only when ``--purpose``
names that purpose. ``--keep-required`` withholds names whose catalogue entry says blocking
them breaks the device.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from phonehome.intel import schema
from phonehome.intel.loader import Intel
from phonehome.intel.schema import DomainEntry
from phonehome.model import Destination, Device, DeviceID, Report
from phonehome.outputs.blocklists.model import (
    UNKNOWN_PURPOSE,
    AddressEntry,
    Blocklist,
    BlocklistOptions,
    DeviceRef,
    NameEntry,
    Withheld,
)
from phonehome.outputs.blocklists.names import InvalidName, name_key, normalise_name, printable
from phonehome.outputs.explain import DeviceNotFound, find_device
from phonehome.outputs.interface import OutputError

REQUIRED = "breaks"
"""Catalogue ``blocking`` value meaning the device stops working without the name."""
SHARED_PURPOSES = frozenset({"cdn", "cloud-platform"})
"""Catalogue purposes of names that carry other organisations' services (a vendor's CDN or cloud
hosting): added from the catalogue only when ``--purpose`` names them."""


class BlocklistError(OutputError):
    """The blocklist options do not fit the report (unknown device, unknown purpose)."""


def blocking_of(entry: DomainEntry | None) -> tuple[str, str]:
    """(blocking, note) of a catalogue entry; ``unknown`` while the catalogue has no such field."""
    if entry is None:
        return "unknown", ""
    blocking = getattr(entry, "blocking", None)
    note = getattr(entry, "blocking_note", None)
    value = getattr(blocking, "value", blocking)
    return (str(value) if value else "unknown"), str(note or "")


def known_purposes(intel: Intel) -> frozenset[str]:
    """Values ``--purpose`` accepts: the catalogue's vocabulary and purposes, plus ``unknown``."""
    vocabulary = getattr(schema, "PURPOSES", ())
    return frozenset(
        {*vocabulary, *(e.purpose for e in intel.domains.values() if e.purpose), UNKNOWN_PURPOSE}
    )


@dataclass
class _Name:
    operator: str | None = None
    purpose: str = UNKNOWN_PURPOSE
    blocking: str = "unknown"
    devices: set[DeviceID] = field(default_factory=set)
    observed: bool = False
    sources: tuple[str, ...] = ()
    flagged: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)


@dataclass
class _Address:
    version: int
    names: set[str] = field(default_factory=set)
    operators: set[str] = field(default_factory=set)
    purposes: set[str] = field(default_factory=set)
    devices: set[DeviceID] = field(default_factory=set)
    flagged: set[str] = field(default_factory=set)


@dataclass
class _Collector:
    names: dict[str, _Name] = field(default_factory=lambda: defaultdict(_Name))
    addresses: dict[str, _Address] = field(default_factory=dict)
    withheld: dict[str, Withheld] = field(default_factory=dict)
    invalid: set[str] = field(default_factory=set)

    def withhold(self, target: str, reason: str, devices: Iterable[DeviceID], required: bool = False) -> None:
        old = self.withheld.get(target)
        merged = tuple(sorted({*devices, *(old.devices if old else ())}))
        if old is not None and old.required and not required:
            required, reason = True, old.reason
        self.withheld[target] = Withheld(target, reason, merged, required)


def _select(report: Report, queries: Iterable[str]) -> list[tuple[Device, tuple[str, ...]]]:
    queries = tuple(queries)
    if queries:
        chosen: dict[DeviceID, Device] = {}
        for query in queries:
            try:
                device = find_device(report, query)
            except DeviceNotFound as e:
                raise BlocklistError(f"--device: {e}") from None
            chosen[device.id] = device
        return [(d, ("--device",)) for d in sorted(chosen.values(), key=lambda d: d.id)]
    rules: dict[DeviceID, set[str]] = defaultdict(set)
    for finding in report.findings:
        rules[finding.device_id].add(finding.rule_id)
    return [
        (d, tuple(sorted(rules[d.id]))) for d in sorted(report.devices, key=lambda d: d.id) if d.id in rules
    ]


def _source_addresses(device: Device) -> tuple[str, ...]:
    out = []
    for text in device.ips:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            continue
        if not (ip.is_link_local or ip.is_loopback or ip.is_unspecified or ip.is_multicast):
            out.append(ip)
    return tuple(str(ip) for ip in sorted(set(out), key=lambda ip: (ip.version, int(ip))))


def _flagging_rules(report: Report, device_id: DeviceID) -> dict[str, set[str]]:
    """Evidence value (``name (ip)``, name or ip) -> rule ids of findings that name it."""
    out: dict[str, set[str]] = defaultdict(set)
    for finding in report.findings:
        if finding.device_id != device_id:
            continue
        for ev in finding.evidence:
            if ev.kind == "destination":
                out[ev.value.strip()].add(finding.rule_id)
    return out


def _flagged(dest: Destination, flags: dict[str, set[str]]) -> set[str]:
    keys = [dest.ip]
    if dest.name:
        keys += [dest.name, f"{dest.name} ({dest.ip})"]
    return set().union(*(flags.get(k, set()) for k in keys))


def _remote_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if ip.is_link_local or ip.is_loopback or ip.is_unspecified or ip.is_multicast:
        return None
    return ip


def build_blocklist(
    report: Report,
    intel: Intel,
    options: BlocklistOptions,
    audit_id: int | None = None,
) -> Blocklist:
    """The blocklist for ``report`` under ``options``; deterministic for equal inputs."""
    purposes = frozenset(options.purposes)
    unknown = sorted(purposes - known_purposes(intel))
    if unknown:
        choices = ", ".join(sorted(known_purposes(intel)))
        raise BlocklistError(f"--purpose: unknown purpose {unknown[0]!r} (expected one of {choices})")
    selected = _select(report, options.devices)
    col = _Collector()
    by_device: dict[DeviceID, list[Destination]] = defaultdict(list)
    for dest in report.destinations:
        by_device[dest.device_id].append(dest)
    for device, _reasons in selected:
        family = intel.family(device.attribution.vendor) if device.attribution.vendor else frozenset()
        flags = _flagging_rules(report, device.id)
        for dest in by_device.get(device.id, []):
            _observe(col, intel, options, purposes, device, family, dest, _flagged(dest, flags))
        if options.include_catalogue and family:
            for entry in intel.domains.values():
                if entry.entity in family:
                    _catalogue(col, options, purposes, device, entry)
    # Something withheld for one device but blocked for another is blocked: drop the note.
    for target in [t for t in col.withheld if not col.withheld[t].required]:
        if target in col.names or target in col.addresses:
            del col.withheld[target]
    entity_names = {e.id: e.name for e in report.entities}
    for ent_id, ent in intel.entities.items():
        entity_names.setdefault(ent_id, ent.short)
    return Blocklist(
        audit_id=audit_id,
        generated_at=report.generated_at,
        report_intel=report.intel_version,
        catalogue_intel=intel.version if options.include_catalogue else None,
        options=options,
        devices=tuple(
            DeviceRef(
                id=d.id,
                label=printable(d.hostnames[0] if d.hostnames else (d.ips[0] if d.ips else d.id), 60),
                vendor=d.attribution.vendor,
                addresses=_source_addresses(d),
                reasons=reasons,
            )
            for d, reasons in selected
        ),
        names=tuple(_name_entries(col)),
        addresses=tuple(_address_entries(col)),
        withheld=tuple(sorted(col.withheld.values(), key=lambda w: _target_key(w.target))),
        invalid=tuple(sorted(col.invalid)),
        entity_names=entity_names,
    )


def _observe(
    col: _Collector,
    intel: Intel,
    options: BlocklistOptions,
    purposes: frozenset[str],
    device: Device,
    family: frozenset[str],
    dest: Destination,
    flagged: set[str],
) -> None:
    name: str | None = None
    if dest.name:
        try:
            name = normalise_name(dest.name)
        except InvalidName as e:
            col.invalid.add(f"{printable(dest.name)} ({e})")
    entry = intel.domain_entry(name) if name else None
    operator = dest.organisation or (entry.entity if entry else None)
    purpose = entry.purpose if entry and entry.purpose else UNKNOWN_PURPOSE
    blocking, note = blocking_of(entry)
    target = name or printable(dest.ip)
    if not (flagged or (operator and operator in family) or options.all_destinations):
        who = f"operated by {intel.name(operator)}" if operator else "operator unknown"
        vendor = intel.name(device.attribution.vendor) or "no known vendor"
        col.withhold(
            target, f"{who}, not by the device's vendor ({vendor}), and no finding names it", [device.id]
        )
        return
    if purposes and purpose not in purposes:
        return
    if options.keep_required and blocking == REQUIRED:
        col.withhold(target, _required_reason(note), [device.id], required=True)
        return
    ip = _remote_ip(dest.ip)
    if ip is None:
        col.invalid.add(f"{printable(dest.ip)} (not a routable remote address)")
    else:
        addr = col.addresses.setdefault(str(ip), _Address(ip.version))
        addr.devices.add(device.id)
        addr.flagged |= flagged
        addr.purposes.add(purpose)
        if operator:
            addr.operators.add(operator)
        if name:
            addr.names.add(name)
    if name:
        item = col.names[name]
        item.operator = item.operator or operator
        item.purpose, item.blocking = purpose, blocking
        item.devices.add(device.id)
        item.observed = True
        item.flagged |= flagged
        if ip is not None:
            item.addresses.add(str(ip))


def _catalogue(
    col: _Collector,
    options: BlocklistOptions,
    purposes: frozenset[str],
    device: Device,
    entry: DomainEntry,
) -> None:
    purpose = entry.purpose or UNKNOWN_PURPOSE
    if purposes and purpose not in purposes:
        return
    if not purposes and purpose in SHARED_PURPOSES:
        col.withhold(
            entry.domain,
            f"catalogue purpose {purpose}: it carries other organisations' services "
            f"(--purpose {purpose} blocks it)",
            [device.id],
        )
        return
    try:
        name = normalise_name(entry.domain)
    except InvalidName as e:
        col.invalid.add(f"{printable(entry.domain)} ({e})")
        return
    blocking, note = blocking_of(entry)
    if options.keep_required and blocking == REQUIRED:
        col.withhold(name, _required_reason(note), [device.id], required=True)
        return
    item = col.names[name]
    item.operator = item.operator or entry.entity
    item.purpose, item.blocking = purpose, blocking
    item.devices.add(device.id)
    item.sources = tuple(entry.sources)


def _required_reason(note: str) -> str:
    return "the catalogue says the device needs it" + (f": {note}" if note else "")


def _name_entries(col: _Collector) -> list[NameEntry]:
    return [
        NameEntry(
            name=name,
            operator=item.operator,
            purpose=item.purpose,
            blocking=item.blocking,
            devices=tuple(sorted(item.devices)),
            observed=item.observed,
            catalogue_sources=item.sources,
            flagged_by=tuple(sorted(item.flagged)),
            addresses=tuple(sorted(item.addresses, key=_ip_key)),
        )
        for name, item in sorted(col.names.items(), key=lambda kv: name_key(kv[0]))
    ]


def _address_entries(col: _Collector) -> list[AddressEntry]:
    return [
        AddressEntry(
            ip=ip,
            version=addr.version,
            names=tuple(sorted(addr.names, key=name_key)),
            operator=min(addr.operators) if addr.operators else None,
            purpose=",".join(sorted(addr.purposes)),
            devices=tuple(sorted(addr.devices)),
            flagged_by=tuple(sorted(addr.flagged)),
        )
        for ip, addr in sorted(col.addresses.items(), key=lambda kv: _ip_key(kv[0]))
    ]


@functools.lru_cache(maxsize=65536)
def _ip_key(text: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(text)
    return ip.version, int(ip)


def _target_key(target: str) -> tuple[int, tuple[str, tuple[str, ...]], int]:
    try:
        ip = ipaddress.ip_address(target)
    except ValueError:
        return 0, name_key(target), 0
    return ip.version, ("", ()), int(ip)
