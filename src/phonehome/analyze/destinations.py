"""Names, registrable domains, owners, networks and countries of remote endpoints."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from phonehome.identify.inventory import Inventory, PairTraffic
from phonehome.intel.loader import Intel
from phonehome.model import Destination, DeviceID, Traffic


@dataclass(frozen=True)
class GeoFacts:
    country: str | None
    asn: str | None


class GeoLookup:
    """Country and AS name from geoip2fast's shipped data files (offline)."""

    def __init__(self) -> None:
        from geoip2fast import GeoIP2Fast  # slow import; only when an audit needs it

        self._db: Any = GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn-ipv6.dat.gz", verbose=False)

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one instance per audit
    def lookup(self, ip: str) -> GeoFacts:
        try:
            result = self._db.lookup(ip)
        except Exception:  # geoip2fast raises bare exceptions on odd input
            return GeoFacts(None, None)
        country = getattr(result, "country_code", "") or ""
        asn = getattr(result, "asn_name", "") or ""
        if getattr(result, "is_private", False) or len(country) != 2 or not country.isalpha():
            country = ""
        return GeoFacts(country or None, asn or None)


@functools.cache
def _extractor() -> Any:
    import tldextract

    # The bundled public-suffix snapshot only: never fetch the list over the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.lru_cache(maxsize=65536)
def registrable_domain(name: str) -> str | None:
    """``tracking.miui.com`` -> ``miui.com``; None for bare suffixes and IP literals."""
    result = _extractor()(name)
    domain = result.top_domain_under_public_suffix
    return domain or None


def best_name(
    pair: PairTraffic, ip: str, client_ips: set[str], inventory: Inventory
) -> tuple[str | None, str | None]:
    """(name, how it was learnt): the flow's own SNI/Host first, then DNS answers."""
    if pair.names:
        name = sorted(pair.names.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        return name, pair.name_kind(name)
    answers = inventory.dns.get(ip)
    if not answers:
        return None, None
    own = sorted(n for client in client_ips for n in answers.get(client, ()))
    if own:
        return own[0], "dns_answer"
    anyone = sorted(n for names in answers.values() for n in names)
    return (anyone[0], "dns_answer") if anyone else (None, None)


def analyze_destinations(
    inventory: Inventory, intel: Intel, geo: GeoLookup
) -> tuple[list[Destination], dict[tuple[DeviceID, str], str]]:
    """Destinations sorted by device then bytes sent; plus how each name was learnt."""
    out: list[Destination] = []
    name_sources: dict[tuple[DeviceID, str], str] = {}
    for (device_id, ip), pair in inventory.traffic.items():
        device = inventory.devices[device_id]
        name, how = best_name(pair, ip, device.ips, inventory)
        domain = registrable_domain(name) if name else None
        entry = intel.domain_entry(name) if name else None
        facts = geo.lookup(ip)
        if how:
            name_sources[(device_id, ip)] = how
        out.append(
            Destination(
                device_id=device_id,
                ip=ip,
                name=name,
                domain=domain,
                organisation=entry.entity if entry else None,
                asn=facts.asn,
                country=facts.country,
                traffic=Traffic(
                    bytes_out=pair.bytes_out,
                    bytes_in=pair.bytes_in,
                    flows=pair.flows,
                    first_seen=pair.first_seen,
                    last_seen=pair.last_seen,
                    applications=tuple(sorted(pair.applications)),
                    ports=tuple(sorted(pair.ports)),
                ),
            )
        )
    out.sort(key=lambda d: (d.device_id, -d.traffic.bytes_out, d.ip))
    return out, name_sources
