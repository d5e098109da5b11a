"""Attribution: who made each device and what it is, with every piece of evidence kept.

Each signal votes for a vendor and/or a device type with a certainty; votes for the same answer
combine as independent evidence (1 - prod(1 - c)). Evidence that points elsewhere stays in the
list, so a reader sees the disagreement.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import netaddr

from phonehome.identify.fingerprint import Fingerprinter
from phonehome.identify.inventory import DeviceDraft, is_randomised_mac
from phonehome.intel.loader import Intel
from phonehome.model import Attribution, Candidate, Destination, Device, Evidence

OUI_CERTAINTY = 0.6
"""An OUI names the network interface's maker, which for modules and OEM kit is not the brand."""
GATEWAY_TYPE_CERTAINTY = 0.6
CLOUD_CERTAINTY = {
    "device-cloud": 0.7,
    "p2p-relay": 0.5,  # the vendor's apps use the relay too, not only its devices
    "os-telemetry": 0.5,
    "app-api": 0.4,
    "vendor-services": 0.4,
    "software-update": 0.4,
}
"""Support for 'made by X' when a device contacts X's endpoints, by documented purpose.

Only entities that make devices count, once each (the strongest purpose), so browsing a
vendor's website cannot outvote the hardware evidence.
"""
_UNMAPPED = "oui:"
_NO_IDENTITY_KINDS = frozenset({"arp", "dhcp_lease", "dhcp_server"})
"""Signals that only restate an address; serials, switch ports and locations stay as zero-weight
evidence because the removal plan reads them."""
_HOSTNAME_KINDS = ("dhcp_hostname", "mdns_name", "dhcp_fqdn", "hostname")


@dataclass(frozen=True)
class _Vote:
    vendor: str | None
    device_type: str | None
    brand: str | None
    certainty: float
    evidence: Evidence
    model: str | None = None
    firmware: str | None = None

    def weighed(self) -> _Vote:
        """The vote with its evidence saying what it argues for and how strongly."""
        claims = [
            f"vendor={self.vendor}" if self.vendor else "",
            f"type={self.device_type}" if self.device_type else "",
        ]
        supports = ", ".join(c for c in claims if c)
        if not supports or self.certainty == 0.0:
            return self
        evidence = dataclasses.replace(self.evidence, supports=supports, weight=round(self.certainty, 3))
        return dataclasses.replace(self, evidence=evidence)


@functools.lru_cache(maxsize=4096)
def oui_registrant(mac: str) -> tuple[str, str] | None:
    """(OUI ``aa:bb:cc``, IEEE registrant name) from netaddr's bundled registry."""
    try:
        oui = netaddr.EUI(mac).oui
        return f"{mac[:8]}", oui.registration().org
    except (netaddr.NotRegisteredError, netaddr.AddrFormatError, ValueError, IndexError):
        return None


def _combine(values: Iterable[float]) -> float:
    remaining = 1.0
    for v in values:
        remaining *= 1.0 - v
    return 1.0 - remaining


class Attributor:
    """Turns device drafts into attributed devices using the intel data."""

    def __init__(self, intel: Intel) -> None:
        self._intel = intel
        self._fingerprints = Fingerprinter(intel)

    def attribute(self, draft: DeviceDraft, destinations: list[Destination]) -> Device:
        votes = [*self._oui_votes(draft), *self._signal_votes(draft), *self._role_votes(draft)]
        votes += self._cloud_votes(draft, destinations)
        attribution = self._decide([v.weighed() for v in votes])
        hostnames = sorted({s.value for s in draft.signals if s.kind in _HOSTNAME_KINDS and s.value})
        addresses = tuple(
            sorted(
                Evidence(
                    "mac" if ":" in address and len(address) == 17 and "." not in address else "ip",
                    address,
                    src,
                )
                for address, sources in draft.address_sources.items()
                for src in sources
            )
        )
        return Device(
            id=draft.id,
            mac=draft.mac,
            ips=tuple(sorted(draft.ips, key=_ip_sort_key)),
            hostnames=tuple(hostnames),
            attribution=attribution,
            bytes_out=draft.bytes_out,
            bytes_in=draft.bytes_in,
            roles=tuple(sorted(draft.roles)),
            oui_vendor=_registrant(draft.mac),
            addresses=addresses,
            sources=tuple(sorted(draft.sources)),
        )

    def _oui_votes(self, draft: DeviceDraft) -> list[_Vote]:
        if not draft.mac:
            return []
        source = ", ".join(sorted(draft.sources)) or "capture"
        if is_randomised_mac(draft.mac):
            note = "locally administered (randomised) MAC: no manufacturer assigned it"
            return [_Vote(None, None, None, 0.0, Evidence("mac", draft.mac, source, note))]
        hit = oui_registrant(draft.mac)
        if hit is None:
            return [
                _Vote(
                    None,
                    None,
                    None,
                    0.0,
                    Evidence("oui", draft.mac[:8], source, "not in the IEEE registry"),
                )
            ]
        oui, registrant = hit
        entity = self._intel.entity_for_registrant(registrant)
        detail = (
            f"IEEE registrant; intel maps it to {entity}"
            if entity
            else "IEEE registrant; not mapped to an intel entity"
        )
        evidence = Evidence("oui", f"{oui} {registrant}", source, detail)
        # An unmapped registrant still votes, so weaker evidence cannot overrule the hardware.
        return [_Vote(entity or _UNMAPPED + registrant, None, None, OUI_CERTAINTY, evidence)]

    def _signal_votes(self, draft: DeviceDraft) -> list[_Vote]:
        votes: list[_Vote] = []
        seen: set[tuple[str, str]] = set()
        for signal in sorted(draft.signals, key=lambda s: (s.kind, s.value, s.source)):
            if signal.kind in _NO_IDENTITY_KINDS or (signal.kind, signal.value) in seen:
                continue
            seen.add((signal.kind, signal.value))  # the same fact from several files counts once
            sources = sorted(
                {s.source for s in draft.signals if (s.kind, s.value) == (signal.kind, signal.value)}
            )
            source = ", ".join(sources)
            matches = self._fingerprints.match(signal.kind, signal.value)
            votes.extend(
                _Vote(
                    m.vendor,
                    m.device_type,
                    m.brand,
                    m.certainty,
                    Evidence(signal.kind, signal.value, source, m.detail),
                    model=m.model,
                    firmware=m.firmware,
                )
                for m in matches
            )
            if not matches:
                votes.append(_Vote(None, None, None, 0.0, Evidence(signal.kind, signal.value, source)))
        return votes

    def _role_votes(self, draft: DeviceDraft) -> list[_Vote]:
        if "gateway" not in draft.roles:
            return []
        source = ", ".join(sorted(draft.sources)) or "capture"
        evidence = Evidence(
            "gateway",
            draft.mac or draft.id,
            source,
            "next hop for local hosts' traffic to remote addresses",
        )
        return [_Vote(None, "router", None, GATEWAY_TYPE_CERTAINTY, evidence)]

    def _cloud_votes(self, draft: DeviceDraft, destinations: list[Destination]) -> list[_Vote]:
        best: dict[str, _Vote] = {}
        for d in sorted(destinations, key=lambda d: (d.name or "", d.ip)):
            entry = self._intel.domain_entry(d.name) if d.name else None
            if entry is None:
                continue
            entity = self._intel.entities.get(entry.entity)
            certainty = CLOUD_CERTAINTY.get(entry.purpose, 0.0)
            if entity is None or not entity.products or certainty == 0.0:
                continue
            if entry.entity in best and best[entry.entity].certainty >= certainty:
                continue
            detail = f"{entry.domain}: {entry.entity} {entry.purpose} endpoint"
            evidence = Evidence("cloud_endpoint", d.name or d.ip, _first_source(draft), detail)
            best[entry.entity] = _Vote(entry.entity, None, None, certainty, evidence)
        return [best[k] for k in sorted(best)]

    def _decide(self, votes: list[_Vote]) -> Attribution:
        by_vendor: dict[str, list[float]] = defaultdict(list)
        by_type: dict[str, list[float]] = defaultdict(list)
        by_brand: dict[str, list[float]] = defaultdict(list)
        for v in votes:
            if v.vendor:
                by_vendor[v.vendor].append(v.certainty)
            if v.device_type:
                by_type[v.device_type].append(v.certainty)
            if v.brand:
                by_brand[v.brand].append(v.certainty)
        ranked = _ranked(by_vendor)
        vendor, confidence = ranked[0] if ranked else (None, 0.0)
        alternatives = tuple(Candidate(k, round(c, 3)) for k, c in ranked[1:] if c > 0)
        if vendor and vendor.startswith(_UNMAPPED):
            alternatives = (Candidate(vendor, round(confidence, 3)), *alternatives)
            vendor, confidence = None, 0.0
        device_type, _ = _best(by_type)
        brand, _ = _best(by_brand)
        # Model and firmware only from evidence that agrees with the verdict (or names no vendor).
        agreeing = [v for v in votes if v.vendor in (None, vendor)]
        model = _strongest(agreeing, "model")
        firmware = _strongest(agreeing, "firmware")
        extra: list[Evidence] = []
        if vendor and device_type is None:
            products = self._intel.entities[vendor].products if vendor in self._intel.entities else []
            if len(products) == 1:
                device_type = products[0]
                detail = f"the only product type the intel data documents for {self._intel.name(vendor)}"
                extra.append(Evidence("device_type", device_type, "intel/entities.yaml", detail))
        if vendor and brand is None:
            brand = self._intel.name(vendor)
        evidence = tuple(sorted({v.evidence for v in votes} | set(extra)))
        return Attribution(
            vendor,
            brand,
            device_type,
            round(confidence, 3),
            evidence,
            model=model,
            firmware=firmware,
            alternatives=alternatives,
        )


def _strongest(votes: list[_Vote], attribute: str) -> str | None:
    values = sorted(
        ((v.certainty, str(getattr(v, attribute))) for v in votes if getattr(v, attribute)),
        key=lambda t: (-t[0], t[1]),
    )
    return values[0][1].strip() if values else None


def _ranked(scores: dict[str, list[float]]) -> list[tuple[str, float]]:
    return [
        (k, c) for c, k in sorted(((_combine(v), k) for k, v in scores.items()), key=lambda t: (-t[0], t[1]))
    ]


def _best(scores: dict[str, list[float]]) -> tuple[str | None, float]:
    if not scores:
        return None, 0.0
    ranked = sorted(((_combine(v), k) for k, v in scores.items()), key=lambda t: (-t[0], t[1]))
    return ranked[0][1], ranked[0][0]


def _registrant(mac: str | None) -> str | None:
    if not mac or is_randomised_mac(mac):
        return None
    hit = oui_registrant(mac)
    return hit[1] if hit else None


def _first_source(draft: DeviceDraft) -> str:
    return sorted(draft.sources)[0] if draft.sources else "capture"


def _ip_sort_key(ip: str) -> tuple[int, str]:
    return (1 if ":" in ip else 0, ip)
