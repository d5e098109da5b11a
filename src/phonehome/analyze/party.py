"""First, support or third party: whose endpoint a device's traffic goes to.

* ``first``: the destination's organisation is the device's vendor or in its corporate family, in
  either direction (a Xiaomi phone talking to a Xiaomi domain; an EZVIZ camera talking to
  Hikvision, which owns EZVIZ; a Hikvision camera talking to EZVIZ).
* ``support``: plumbing that says little about whose service answers: the organisation (or, when
  no organisation is known, the AS) is a cloud, CDN or hosting network (``role: infrastructure``
  in the intel data), or the endpoint's documented purpose is a CDN, time, DNS or connectivity
  check.
* ``third``: anything else that is known.

The organisation comes from the destination's name (``domains.yaml``) and decides when known; the
AS (``networks.yaml``) is consulted only without one, because a vendor's own services and other
companies' alike are hosted on the big clouds. Brands that share a parent without one owning the
other (OPPO and vivo under BBK) are not each other's family here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from phonehome.intel.loader import Intel
from phonehome.intel.schema import SUPPORT_PURPOSES

Party = Literal["first", "support", "third"]


@dataclass(frozen=True)
class PartyVerdict:
    """A party with the reason for it, written for a report reader."""

    party: Party
    reason: str


def classify_party(
    device_vendor: str | None,
    organisation: str | None,
    asn: str | None,
    intel: Intel,
    *,
    name: str | None = None,
) -> Party | None:
    """``first``, ``support`` or ``third``; None when neither organisation nor AS is known.

    ``device_vendor`` and ``organisation`` are entity ids, ``asn`` is the AS name as the geo data
    gives it, and ``name`` (optional) the destination host name, used for its documented purpose.
    """
    verdict = party_verdict(device_vendor, organisation, asn, intel, name=name)
    return verdict.party if verdict else None


def party_verdict(
    device_vendor: str | None,
    organisation: str | None,
    asn: str | None,
    intel: Intel,
    *,
    name: str | None = None,
) -> PartyVerdict | None:
    """As ``classify_party``, with the reason."""
    entry = intel.domain_entry(name) if name else None
    organisation = organisation or (entry.entity if entry else None)
    if organisation:
        shown = intel.name(organisation)
        if device_vendor and _same_family(device_vendor, organisation, intel):
            return PartyVerdict("first", _family_reason(device_vendor, organisation, intel))
        if entry and entry.purpose in SUPPORT_PURPOSES:
            return PartyVerdict("support", f"{entry.domain} is a {entry.purpose} endpoint ({shown})")
        if intel.is_infrastructure(organisation):
            return PartyVerdict("support", f"{shown} is a cloud, CDN or hosting provider")
        return PartyVerdict("third", f"{shown} is not the device vendor or its corporate family")
    network = intel.network_entity(asn)
    if asn and network:
        shown = intel.name(network)
        if intel.is_infrastructure(network):
            return PartyVerdict("support", f"AS {asn} belongs to {shown}, a cloud, CDN or hosting provider")
        if device_vendor and _same_family(device_vendor, network, intel):
            reason = _family_reason(device_vendor, network, intel)
            return PartyVerdict("first", f"AS {asn} belongs to {shown}; {reason}")
        return PartyVerdict("third", f"AS {asn} belongs to {shown}, not the device vendor or its family")
    if asn:
        return PartyVerdict("third", f"AS {asn} is not a known infrastructure network and no name was seen")
    return None


def _same_family(vendor: str, organisation: str, intel: Intel) -> bool:
    return organisation in intel.family(vendor) or vendor in intel.family(organisation)


def _family_reason(vendor: str, organisation: str, intel: Intel) -> str:
    if vendor == organisation:
        return f"{intel.name(organisation)} is the device vendor"
    path = intel.relation_path(organisation, vendor) or intel.relation_path(vendor, organisation)
    link = ", ".join(f"{intel.name(parent)} {rel.type} {intel.name(rel.target)}" for parent, rel in path)
    pair = f"{intel.name(organisation)} and the device vendor {intel.name(vendor)}"
    return f"{pair} are one corporate family ({link})"
