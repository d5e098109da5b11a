"""The values a blocklist is rendered from: what to block, for which devices, and why.

``build.build_blocklist`` makes a ``Blocklist`` from a report and the intel catalogue; every
renderer reads only these values, so all formats agree on what is blocked and why.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field

from phonehome.model import DeviceID


class Scope(enum.StrEnum):
    """Which sources the nftables rules match (``--scope``)."""

    device = "device"
    """Each device's own addresses, to the addresses that device was seen contacting."""
    subnet = "subnet"
    """Every address in the devices' subnets (/24, /64), to every blocked address."""


UNKNOWN_PURPOSE = "unknown"
"""Purpose of a name or address the intel catalogue does not describe."""


@dataclass(frozen=True)
class BlocklistOptions:
    """What the user asked for; echoed in every header so a file says how it was made."""

    devices: tuple[str, ...] = ()
    """``--device`` queries (id, MAC, IP or host name); empty means every device with a finding."""
    purposes: tuple[str, ...] = ()
    """``--purpose`` values; empty means every purpose."""
    keep_required: bool = False
    """Leave out names the catalogue says the device needs to work (``blocking: breaks``)."""
    include_catalogue: bool = True
    """Add the catalogue's domains for the devices' vendors, not only what was observed."""
    all_destinations: bool = False
    """Also block observed destinations that no finding names and the vendor does not operate."""
    scope: Scope = Scope.device

    def describe(self, fmt: str) -> str:
        """The options as command-line flags, in a fixed order."""
        parts = [f"--format {fmt}"]
        parts += [f"--device {d}" for d in sorted(self.devices)]
        parts += [f"--purpose {p}" for p in sorted(self.purposes)]
        if self.keep_required:
            parts.append("--keep-required")
        parts.append("--include-catalogue" if self.include_catalogue else "--observed-only")
        if self.all_destinations:
            parts.append("--all-destinations")
        if fmt == "nftables":
            parts.append(f"--scope {self.scope.value}")
        return " ".join(parts)


@dataclass(frozen=True)
class DeviceRef:
    """A device the blocklist contains."""

    id: DeviceID
    label: str
    """Host name, else first address, else the id: what a person recognises."""
    vendor: str | None
    """Entity id of the attributed vendor."""
    addresses: tuple[str, ...]
    """The device's own routable addresses (link-local ones are left out): rule sources."""
    reasons: tuple[str, ...]
    """Rule ids of its findings, or ``--device`` when named on the command line."""


@dataclass(frozen=True)
class NameEntry:
    """A domain name to block (IDNA ASCII form, lower case, no trailing dot)."""

    name: str
    operator: str | None
    """Entity id operating the name, from the report or the catalogue."""
    purpose: str
    """Catalogue purpose of the most specific entry covering the name, or ``unknown``."""
    blocking: str
    """Catalogue ``blocking`` value (``breaks``, ``degrades``, ``safe``) or ``unknown``."""
    devices: tuple[DeviceID, ...]
    """Devices observed contacting the name, or whose vendor the catalogue entry belongs to."""
    observed: bool
    """Seen in the audit (as opposed to added from the catalogue only)."""
    catalogue_sources: tuple[str, ...] = ()
    """Sources of the catalogue entry, when the name is itself a catalogue domain."""
    flagged_by: tuple[str, ...] = ()
    """Rule ids of findings whose evidence names this destination."""
    addresses: tuple[str, ...] = ()
    """Addresses the name was observed at."""


@dataclass(frozen=True)
class AddressEntry:
    """A remote address the selected devices were observed contacting."""

    ip: str
    version: int
    names: tuple[str, ...]
    operator: str | None
    purpose: str
    devices: tuple[DeviceID, ...]
    flagged_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Withheld:
    """Something the evidence pointed at that the blocklist deliberately leaves out."""

    target: str
    """Domain name or address."""
    reason: str
    devices: tuple[DeviceID, ...] = ()
    required: bool = False
    """True when left out by ``--keep-required``: suffix formats add an exception for it."""


@dataclass(frozen=True)
class Blocklist:
    """Everything any blocklist format needs; renderers add only syntax."""

    audit_id: int | None
    generated_at: str
    """The report's own timestamp (never the time of rendering)."""
    report_intel: str
    catalogue_intel: str | None
    """Version of the intel catalogue used, or None with ``--observed-only``."""
    options: BlocklistOptions
    devices: tuple[DeviceRef, ...]
    names: tuple[NameEntry, ...]
    """Sorted by reversed labels, so a domain's names sit together."""
    addresses: tuple[AddressEntry, ...]
    """Sorted IPv4 first, then numerically."""
    withheld: tuple[Withheld, ...]
    invalid: tuple[str, ...]
    """Names dropped as invalid (printable form), sorted."""
    entity_names: dict[str, str] = field(default_factory=dict)
    """Entity id -> display name."""

    def entity(self, entity_id: str | None) -> str:
        if not entity_id:
            return "unknown operator"
        return self.entity_names.get(entity_id, entity_id)

    def device(self, device_id: DeviceID) -> DeviceRef | None:
        return self._devices_by_id.get(device_id)

    def addresses_of(self, device_id: DeviceID, version: int | None = None) -> list[AddressEntry]:
        """The blocked addresses ``device_id`` was seen contacting, in file order."""
        found = self._addresses_by_device.get(device_id, [])
        return found if version is None else [a for a in found if a.version == version]

    @functools.cached_property
    def _devices_by_id(self) -> dict[DeviceID, DeviceRef]:
        return {d.id: d for d in self.devices}

    @functools.cached_property
    def _addresses_by_device(self) -> dict[DeviceID, list[AddressEntry]]:
        index: dict[DeviceID, list[AddressEntry]] = {}
        for entry in self.addresses:
            for device_id in entry.devices:
                index.setdefault(device_id, []).append(entry)
        return index
