"""The audit pipeline: sources -> identify -> analyze -> policy -> Report."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from phonehome.analyze.activity import ActivityFacts, IdleWindow, analyze_activity, format_idle_window
from phonehome.analyze.destinations import GeoLookup, analyze_destinations
from phonehome.analyze.identifiers import DeviceIdentifiers, bind_identifiers
from phonehome.analyze.leaks import LeakScanner
from phonehome.analyze.party import classify_party
from phonehome.analyze.redact import identifier_pattern, redact
from phonehome.errors import UsageError
from phonehome.identify.attribution import Attributor
from phonehome.identify.inventory import Inventory, InventoryBuilder
from phonehome.intel.loader import Intel
from phonehome.model import Destination, DeviceID, EntityRef, Finding, InputSummary, Report
from phonehome.policy.engine import PolicySettings, evaluate
from phonehome.sources.interface import (
    FlowRecord,
    HostSighting,
    HttpRequest,
    ProgressCallback,
    ServerName,
    Source,
    SourceError,
)
from phonehome.sources.neighbours import normalise_mac
from phonehome.sources.registry import KNOWN_INPUTS, SourceOptions, build_sources, detect, expand_inputs


@dataclass(frozen=True)
class AuditOptions:
    """Everything that shapes an audit besides its inputs."""

    policy: PolicySettings
    local_nets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    skipped: tuple[str, ...] = field(default=())
    idle_windows: tuple[IdleWindow, ...] = ()
    """When the user says the devices were idle; empty: idleness is inferred per device."""
    identifier_files: tuple[Path, ...] = ()
    """``--identifiers`` files: each device's own identifiers, searched for in readable traffic."""
    identifiers: tuple[DeviceIdentifiers, ...] = ()
    """Their parsed content (loaded by the caller, so a bad file fails before any input is read)."""
    proxy_device: str | None = None
    """MAC or IP of the device behind a proxy dump whose records name no client (HAR)."""
    generic_leak_patterns: bool = True


def plan_inputs(
    paths: Sequence[Path], options: SourceOptions | None = None
) -> tuple[list[tuple[Path, Source]], list[str]]:
    """Match every input to a source before reading anything.

    A file the user named that no source can read is an error; unknown files found while
    walking a directory are skipped and reported.
    """
    sources = build_sources(options)
    planned: list[tuple[Path, Source]] = []
    skipped: list[str] = []
    for path, named in expand_inputs(list(paths)):
        if named and not path.exists():
            raise SourceError(f"{path}: no such file or directory")
        if named and not path.is_file():
            # Sources sniff the head and then reopen the file; a pipe cannot be read twice.
            raise SourceError(f"{path}: not a regular file (save a pipe or device to a file first)")
        source = detect(path, sources)
        if source is None:
            if named:
                head = _head_hex(path)
                raise SourceError(
                    f"{path}: not a recognised input ({KNOWN_INPUTS}); starts with 0x{head}"
                    if head
                    else f"{path}: empty file"
                )
            skipped.append(f"{path}: skipped, not a recognised input")
            continue
        planned.append((path, source))
    if not planned:
        raise SourceError(f"{', '.join(map(str, paths))}: no readable inputs found")
    return planned, skipped


def _handsets(
    planned: Sequence[tuple[Path, Source]], inventory: Inventory, intel: Intel, options: AuditOptions
) -> list[Finding]:
    """adb outputs and APKs saved in one directory describe one handset: one device, its findings.

    The handset's OEM components are checked against the enabled packs' handset rules here,
    because they need every output of the handset together (props name it, lists hold packages).
    """
    from phonehome.analyze.handset import HandsetError, analyze_handset
    from phonehome.sources.android import read_dump

    groups: dict[Path, list[Path]] = defaultdict(list)
    for path, source in planned:
        if source.name in ("android", "apk"):
            groups[path.parent].append(path)
    findings: list[Finding] = []
    handset_packs = [
        p
        for p in options.policy.packs
        if p in intel.packs and any(r.match.handset for r in intel.packs[p].rules)
    ]
    for directory, paths in sorted(groups.items()):
        members = {
            d.id
            for d in inventory.devices.values()
            if d.id.startswith("name:android:") and d.sources & set(map(str, paths))
        }
        try:
            dumps = [read_dump(p) for p, src in planned if p in paths and src.name == "android"]
            report = analyze_handset(dumps, intel, handset_packs) if dumps else None
        except (HandsetError, SourceError):
            continue  # outputs of several handsets in one directory: left as separate devices
        target = report.device_id if report else DeviceID(f"name:android:{directory.name.lower()}")
        # The handset's factory Wi-Fi MAC ties it to its traffic when it did not randomise it.
        network = next(
            (
                DeviceID(f"mac:{mac}")
                for key, value in (report.props if report else ())
                if _WIFI_MAC_PROP.search(key)
                and (mac := value.strip().lower())
                and f"mac:{mac}" in inventory.devices
            ),
            None,
        )
        inventory.merge(target, members)
        if network is not None:
            inventory.merge(network, [target])
        if report:
            findings.extend(
                dataclasses.replace(f, device_id=network, id=f.id.replace(target, network, 1))
                if network
                else f
                for f in report.findings
            )
    return findings


_WIFI_MAC_PROP = re.compile(r"wifimac|wifi\.mac|wlan\.mac|wlan0.*mac", re.IGNORECASE)


class _PayloadRouter:
    """Sends each readable HTTP request to the leak scanner, keyed so identifiers can find it.

    Requests are scanned as they stream past (bodies are never kept); leaks carry a provisional
    ``mac:``/``ip:`` key that is resolved to the final device once the inventory is built.
    """

    def __init__(self, builder: InventoryBuilder, options: AuditOptions) -> None:
        self._builder = builder
        bound = bind_identifiers(options.identifiers)
        self._known = set(bound)
        if options.identifiers:
            # Any device's identifiers, for requests whose sender the entries do not name directly.
            bound[_ANY_DEVICE] = bind_identifiers(options.identifiers, lambda mac, ip: _ANY_DEVICE)[
                _ANY_DEVICE
            ]
        self.scanner = LeakScanner(bound, generic=options.generic_leak_patterns)
        self._proxy = _proxy_key(options.proxy_device)
        self._clientless: set[str] = set()
        self._proxy_announced = False
        self.notes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        """Input -> why a request's body could not be searched in full -> how many requests."""

    def add(self, request: HttpRequest) -> None:
        key = self._key(request)
        if request.client_ip and request.server_ip:
            if request.transport == "http":
                # The flow meter saw this connection; the request only names its server.
                self._builder.add(
                    ServerName(
                        request.client_ip,
                        request.server_ip,
                        request.host,
                        "http_host",
                        request.time,
                        request.source,
                    )
                )
            else:
                # A proxy's record is the only trace of the exchange: count it as a flow of its size.
                sent = (
                    len(request.method)
                    + len(request.url)
                    + sum(len(n) + len(v) + 4 for n, v in request.headers)
                )
                self._builder.add(
                    FlowRecord(
                        request.client_mac,
                        request.client_ip,
                        None,
                        request.server_ip,
                        6,
                        0,
                        request.server_port,
                        sent + len(request.body),
                        0,
                        request.time,
                        request.time,
                        request.host,
                        "HTTP.decrypted",
                        {n.lower(): v for n, v in request.headers}.get("user-agent"),
                        None,
                        request.source,
                    )
                )
        if request.body_note:
            self.notes[request.source][request.body_note.split(" (")[0]] += 1
        self.scanner.scan(request, key, None if key in self._known or not self._known else _ANY_DEVICE)

    def annotate(self, summary: InputSummary) -> InputSummary:
        """The input's summary with the requests whose bodies were not searched in full."""
        notes = self.notes.pop(summary.path, None)
        if not notes:
            return summary
        extra = tuple(f"{n} request bodies not searched in full: {why}" for why, n in sorted(notes.items()))
        return dataclasses.replace(summary, errors=summary.errors + extra)

    def _key(self, request: HttpRequest) -> DeviceID:
        candidates = []
        if request.client_mac:
            candidates.append(DeviceID(f"mac:{request.client_mac}"))
        if request.client_ip:
            candidates.append(DeviceID(f"ip:{request.client_ip}"))
        for key in candidates:
            if key in self._known:
                return key
        if candidates:
            return candidates[0]
        if self._proxy is not None:
            if not self._proxy_announced:
                self._proxy_announced = True
                mac = self._proxy[4:] if self._proxy.startswith("mac:") else None
                ip = self._proxy[3:] if self._proxy.startswith("ip:") else None
                self._builder.add(HostSighting(mac, ip, "proxy_dump", request.source))
            return self._proxy
        # A proxy record that names no client: one device per dump, known by the file's name.
        name = f"proxy-client {Path(request.source).name}"
        if request.source not in self._clientless:
            self._clientless.add(request.source)
            self._builder.add(HostSighting(None, None, "proxy_dump", request.source, hostname=name))
        return DeviceID(f"name:{name.lower()}")


_ANY_DEVICE = DeviceID("any:identifiers")


def _proxy_key(text: str | None) -> DeviceID | None:
    """``--proxy-device`` as a device key; raises ``UsageError`` for neither a MAC nor an IP."""
    if not text:
        return None
    if _is_ip(text.strip()):
        return DeviceID(f"ip:{text.strip()}")
    mac = normalise_mac(text)
    if mac is None:
        raise UsageError(f"--proxy-device: not a MAC or IP address: {text!r}")
    return DeviceID(f"mac:{mac}")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class _Resolver:
    devices: frozenset[DeviceID]
    by_ip: dict[str, DeviceID]

    def by_key(self, key: DeviceID) -> DeviceID:
        """The final device for a provisional ``mac:``/``ip:`` key (the key itself if unknown)."""
        if key in self.devices:
            return key
        if key.startswith("ip:"):
            return self.by_ip.get(key[3:], key)
        return key


def _resolver(inventory: Inventory) -> _Resolver:
    by_ip: dict[str, DeviceID] = {}
    for draft in inventory.devices.values():
        for ip in draft.ips:
            by_ip.setdefault(ip, draft.id)
    return _Resolver(frozenset(inventory.devices), by_ip)


def _with_timing(d: Destination, facts: ActivityFacts | None, inventory: Inventory) -> Destination:
    pair = inventory.traffic.get((d.device_id, d.ip))
    samples = tuple(round(t, 3) for t, _ in pair.starts) if pair is not None else ()
    if facts is None:
        return dataclasses.replace(d, traffic=dataclasses.replace(d.traffic, samples=samples))
    traffic = dataclasses.replace(
        d.traffic,
        period_seconds=facts.period_seconds,
        idle_bytes_out=facts.idle_bytes_out,
        idle_flows=facts.idle_flows,
        samples=samples,
    )
    return dataclasses.replace(d, traffic=traffic)


def _head_hex(path: Path) -> str:
    with open(path, "rb") as f:
        return f.read(4).hex()


def run_audit(
    planned: Sequence[tuple[Path, Source]],
    intel: Intel,
    options: AuditOptions,
    progress: ProgressCallback | None = None,
    now: dt.datetime | None = None,
) -> Report:
    """Read every input, then identify, analyze and evaluate. Raises ``SourceError``."""
    builder = InventoryBuilder(options.local_nets)
    summaries: list[InputSummary] = []
    payloads = _PayloadRouter(builder, options)
    for path, source in planned:
        for item in source.read(path, progress):
            if isinstance(item, InputSummary):
                summaries.append(payloads.annotate(item))
            elif isinstance(item, HttpRequest):
                payloads.add(item)
            else:
                builder.add(item)
    inventory = builder.build()
    handset_findings = _handsets(planned, inventory, intel, options)
    resolve = _resolver(inventory)
    leaks = tuple(
        sorted(
            (
                dataclasses.replace(k, device_id=resolve.by_key(k.device_id))
                for k in payloads.scanner.results()
            ),
            key=lambda k: (k.device_id, k.host, k.identifier, k.encoding, k.location),
        )
    )
    destinations, _ = analyze_destinations(inventory, intel, GeoLookup())
    timing = analyze_activity(inventory.traffic, options.idle_windows)
    destinations = [_with_timing(d, timing.get((d.device_id, d.ip)), inventory) for d in destinations]
    by_device: dict[DeviceID, list[Destination]] = defaultdict(list)
    for d in destinations:
        by_device[d.device_id].append(d)
    attributor = Attributor(intel)
    devices = sorted(
        (attributor.attribute(draft, by_device[draft.id]) for draft in inventory.devices.values()),
        key=lambda d: d.id,
    )
    vendors = {d.id: d.attribution.vendor for d in devices}
    destinations = [
        dataclasses.replace(
            d,
            traffic=dataclasses.replace(
                d.traffic,
                party=classify_party(vendors.get(d.device_id), d.organisation, d.asn, intel, name=d.name),
            ),
        )
        for d in destinations
    ]
    findings = evaluate(devices, destinations, intel, options.policy, leaks)
    findings = sorted([*findings, *handset_findings], key=lambda f: (-f.severity, f.rule_id, f.id))
    referenced = {d.attribution.vendor for d in devices} | {d.organisation for d in destinations}
    entities = tuple(
        EntityRef(e, intel.name(e) or e, intel.country(e)) for e in sorted(x for x in referenced if x)
    )
    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    report = Report(
        generated_at=moment.isoformat().replace("+00:00", "Z"),
        inputs=tuple(summaries),
        devices=tuple(devices),
        destinations=tuple(destinations),
        findings=tuple(findings),
        intel_version=intel.version,
        leaks=leaks,
        entities=entities,
        settings={
            "policies": list(options.policy.packs),
            "watch_countries": sorted(options.policy.watch_countries),
            "min_confidence": options.policy.min_confidence,
            "local_networks": [str(n) for n in options.local_nets],
            "skipped_inputs": list(options.skipped),
            "idle_windows": [format_idle_window(w) for w in options.idle_windows],
            "identifiers": [str(p) for p in options.identifier_files],
            "generic_leak_patterns": options.generic_leak_patterns,
            "http_requests_searched": payloads.scanner.requests,
        },
    )
    # The settings keep the identifiers files' paths, never their values.
    return redact(report, identifier_pattern(options.identifiers))
