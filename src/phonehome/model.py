"""The typed model shared by every pipeline stage.

Everything here is a frozen value. Stages build new values instead of mutating old ones,
so a report can be rendered, stored and compared without surprises.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NewType

DeviceID = NewType("DeviceID", str)
"""Stable device key: ``mac:aa:bb:cc:dd:ee:ff`` or ``ip:192.0.2.1`` when no MAC was seen."""

RuleID = NewType("RuleID", str)
"""Stable policy rule identifier, such as ``PH-FCC-001``."""

SCHEMA_VERSION = "1.1"
"""Version of the JSON report and the stored audit; bump on incompatible change."""


class Severity(enum.IntEnum):
    """Finding severity, ordered so thresholds compare naturally."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Severity from its lower-case name; raises ``ValueError`` for anything else."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})") from None

    @property
    def label(self) -> str:
        """Lower-case name used in every output."""
        return self.name.lower()


@dataclass(frozen=True, order=True)
class Evidence:
    """One observed fact and where it came from."""

    kind: str
    """What sort of fact: ``oui``, ``dhcp_vendor_class``, ``tls_sni``, ``gateway``, ..."""
    value: str
    """The fact itself, as observed."""
    source: str
    """The input file (and, where useful, the packet or flow) the fact came from."""
    detail: str = ""
    """How phonehome read the fact: the intel entry or rule it matched, if any."""
    supports: str = ""
    """What the fact argues for in an attribution (``vendor=hikvision``, ``type=camera``), if anything."""
    weight: float = 0.0
    """How strongly it argues (0..1); facts that argue for nothing weigh 0."""


@dataclass(frozen=True, order=True)
class Candidate:
    """A vendor some evidence supports, with the combined strength of that evidence."""

    vendor: str
    """Entity id, or ``oui:<IEEE registrant>`` for a registrant the intel data does not map."""
    confidence: float


@dataclass(frozen=True)
class Attribution:
    """Who made a device and what it is, with the evidence that says so."""

    vendor: str | None = None
    """Canonical entity id from the intel data (``hikvision``), or None when unknown."""
    brand: str | None = None
    """Brand as marketed, when the evidence names one (``EZVIZ``)."""
    device_type: str | None = None
    """``camera``, ``nvr``, ``phone``, ``router``, ``iot``, ``pc``, ``drone``, ..."""
    confidence: float = 0.0
    """0..1: how strongly the evidence supports ``vendor``."""
    evidence: tuple[Evidence, ...] = ()
    """Every fact considered, including those that disagree with the verdict."""
    model: str | None = None
    """Model as the evidence states it (``DS-2CD2142FWD-I``)."""
    firmware: str | None = None
    """Firmware or software version as the evidence states it."""
    alternatives: tuple[Candidate, ...] = ()
    """Other vendors the evidence supports, strongest first: conflicts are shown, not dropped."""


@dataclass(frozen=True)
class Device:
    """A local host seen in the evidence."""

    id: DeviceID
    mac: str | None
    ips: tuple[str, ...]
    hostnames: tuple[str, ...]
    attribution: Attribution
    bytes_out: int = 0
    """Bytes the device sent to remote (non-local) addresses."""
    bytes_in: int = 0
    """Bytes the device received from remote addresses."""
    roles: tuple[str, ...] = ()
    """Observed roles: ``gateway`` (next hop of others' traffic), ``randomised-mac``."""
    oui_vendor: str | None = None
    """IEEE registrant of the MAC's OUI, as registered (None for randomised or unknown MACs)."""
    addresses: tuple[Evidence, ...] = ()
    """Each MAC and IP with the input that reported it (kind ``mac`` or ``ip``)."""
    sources: tuple[str, ...] = ()
    """Every input that mentions the device."""


@dataclass(frozen=True)
class Destination:
    """A remote endpoint one device exchanged traffic with, aggregated over flows."""

    device_id: DeviceID
    ip: str
    name: str | None
    """Best name for the endpoint: TLS SNI, HTTP Host, then a DNS answer."""
    domain: str | None
    """Registrable domain of ``name`` (public-suffix aware)."""
    organisation: str | None
    """Entity id owning ``domain`` according to the intel data."""
    asn: str | None
    """Autonomous system name from the offline geo data."""
    country: str | None
    """ISO 3166 alpha-2 of ``ip`` from the offline geo data."""
    traffic: Traffic


@dataclass(frozen=True)
class Traffic:
    """Volume and timing of the flows between one device and one endpoint."""

    bytes_out: int
    bytes_in: int
    flows: int
    first_seen: float
    """Unix seconds."""
    last_seen: float
    applications: tuple[str, ...] = ()
    """nDPI application names seen on these flows."""
    ports: tuple[str, ...] = ()
    """``proto/port`` of the remote side, e.g. ``tcp/443``."""
    period_seconds: float | None = None
    """Median interval between flow starts when they recur regularly (a beacon), else None."""
    idle_bytes_out: int = 0
    """Bytes sent in flows that started while the device was idle (see ``Report.settings``)."""
    idle_flows: int = 0
    party: str | None = None
    """``first`` (the device's own vendor), ``support`` (CDN/cloud/infrastructure) or ``third``."""
    samples: tuple[float, ...] = ()
    """Start times of up to 64 of the flows (the first ones), for timelines."""


@dataclass(frozen=True)
class Leak:
    """A device identifier found in traffic, aggregated per device, destination and form."""

    device_id: DeviceID
    host: str
    """Server name the request went to."""
    ip: str | None
    identifier: str
    """What leaked: ``imei``, ``mac``, ``serial``, ``android_id``, ``advertising_id``, ``phone``,
    ``email``, ``location``, ... (generic pattern hits are prefixed ``pattern:``)."""
    encoding: str
    """How it appeared: ``plain``, ``url``, ``base64``, ``hex``, ``md5``, ``sha1``, ``sha256``."""
    location: str
    """Where in the request: ``url``, ``header:User-Agent``, ``body``, ``body:field.name``."""
    masked: str
    """The matched value with most characters hidden; the raw value is never stored."""
    confidence: float
    first_seen: float
    last_seen: float
    count: int
    source: str
    transport: str = "http"


@dataclass(frozen=True)
class PolicyRef:
    """Which policy entry produced a finding, with the wording a user must see."""

    policy: str
    """Policy pack id, e.g. ``fcc-covered-list``."""
    scope: str
    """The entry's scope wording, quoted or closely paraphrased from the source."""
    effective: str | None
    """ISO date the entry took effect, when the source gives one."""
    references: tuple[str, ...]
    """Source addresses for the entry."""


@dataclass(frozen=True)
class Finding:
    """A rule that matched a device, and why."""

    id: str
    """Deterministic id: rule id plus device id (plus target, for per-destination rules)."""
    rule_id: RuleID
    severity: Severity
    device_id: DeviceID
    title: str
    policy: PolicyRef
    evidence: tuple[Evidence, ...]
    category: str = "equipment"
    """``equipment`` (the device itself is restricted), ``traffic`` (what it sent, where) or
    ``software`` (components installed on a handset: disable them, the device may stay)."""


@dataclass(frozen=True)
class InputSummary:
    """One input file as read: what it was and what went wrong while reading it."""

    path: str
    kind: str
    """Detected kind: ``pcap``, ``pcapng`` (``+gzip`` when compressed), ``nmap-xml``, ``zeek-conn``, ..."""
    packets: int
    """Packets read from a capture; records (hosts, log lines, rows) read from any other input."""
    sha256: str
    errors: tuple[str, ...] = ()
    """Problems that did not stop the audit, e.g. a truncated capture."""
    skipped: int = 0
    """Records that could not be parsed and were left out (garbage lines, bad rows)."""


@dataclass(frozen=True)
class EntityRef:
    """Display facts about an intel entity referenced by a report."""

    id: str
    name: str
    """Short display name, e.g. ``Hikvision``."""
    country: str | None
    """Country of headquarters (ISO 3166 alpha-2)."""


@dataclass(frozen=True)
class Report:
    """The result of one audit: everything the outputs render and the store keeps."""

    generated_at: str
    """ISO 8601 UTC timestamp of the audit."""
    inputs: tuple[InputSummary, ...]
    devices: tuple[Device, ...]
    destinations: tuple[Destination, ...]
    findings: tuple[Finding, ...]
    intel_version: str
    entities: tuple[EntityRef, ...] = ()
    """Every entity the devices, destinations and findings refer to, for display."""
    settings: dict[str, object] = field(default_factory=dict)
    """Options that shaped the result (watch countries, enabled policies, ...)."""
    leaks: tuple[Leak, ...] = ()
    """Identifiers found in readable traffic (empty when no payloads or identifiers were given)."""
    schema_version: str = SCHEMA_VERSION
