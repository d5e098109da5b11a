"""An nftables ruleset: named sets of the observed remote addresses and rules that drop
forwarded traffic from the devices to them.

``--scope device`` (default) gives each device its own pair of sets (``ipv4_addr`` and
``ipv6_addr``) holding the addresses that device was seen contacting, and matches the device's
own addresses. ``--scope subnet`` puts every blocked address in one pair of sets and matches the
devices' whole subnets (/24 for IPv4, /64 for IPv6): every host there is contained, including
ones the audit did not see. Link-local device addresses are never matched (they are not routed).

The file replaces its own table when loaded again (``nft -f``): it creates the table if missing,
deletes it, and defines it anew, so reloading never duplicates rules. Only names' addresses as
observed are in the sets: nftables cannot follow DNS, so pair it with a DNS blocklist.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import ClassVar

from phonehome.model import DeviceID
from phonehome.outputs.blocklists.common import clean, commented, footer, header, reason_address
from phonehome.outputs.blocklists.model import AddressEntry, Blocklist, Scope

TABLE = "phonehome_blocklist"
SUBNET_PREFIX = {4: 24, 6: 64}
SEMANTICS = f"""\
format: nftables (nft -f); table inet {TABLE} drops forwarded packets from the devices to the
  addresses they were observed contacting; it replaces itself when reloaded."""


def set_name(device_id: DeviceID, version: int) -> str:
    """``mac:54:8c:81:3e:92:a7`` -> ``mac_548c813e92a7_v4``: stable, and valid as an nft identifier."""
    kind, _, value = device_id.partition(":")
    if kind == "mac":
        body = value.replace(":", "")
    else:
        body = re.sub(r"[^0-9a-zA-Z]", "_", value)
    return re.sub(r"[^0-9a-zA-Z_]", "_", f"{kind}_{body}_v{version}")[:200]


def _set(name: str, version: int, entries: list[AddressEntry], blocklist: Blocklist) -> list[str]:
    lines = [f"    set {name} {{", f"        type ipv{version}_addr", "        elements = {"]
    for i, entry in enumerate(entries):
        comma = "," if i < len(entries) - 1 else ""
        lines.append(f"            {entry.ip}{comma}  # {reason_address(blocklist, entry)}")
    return [*lines, "        }", "    }"]


def _family(version: int) -> str:
    return "ip" if version == 4 else "ip6"


def _sources(addresses: Iterable[str], version: int) -> list[str]:
    return [a for a in addresses if ipaddress.ip_address(a).version == version]


def _subnets(addresses: Iterable[str], version: int) -> list[str]:
    nets = {
        ipaddress.ip_network(f"{a}/{SUBNET_PREFIX[version]}", strict=False)
        for a in _sources(addresses, version)
    }
    return [str(n) for n in sorted(nets, key=lambda n: int(n.network_address))]


class NftablesRenderer:
    name: ClassVar[str] = "nftables"
    suffix: ClassVar[str] = ".nft"
    comment: ClassVar[str] = "#"
    suffix_match: ClassVar[bool] = False

    def render(self, blocklist: Blocklist) -> str:
        lines = commented("#", header(blocklist, self.name, SEMANTICS))
        lines += ["", f"table inet {TABLE}", f"delete table inet {TABLE}", "", f"table inet {TABLE} {{"]
        if blocklist.options.scope is Scope.subnet:
            sets, rules = self._by_subnet(blocklist)
        else:
            sets, rules = self._by_device(blocklist)
        lines += sets
        lines += [
            "    chain forward {",
            "        type filter hook forward priority filter - 10; policy accept;",
            *rules,
            "    }",
            "}",
            "",
            *commented("#", footer(blocklist)),
        ]
        return "\n".join(lines).rstrip() + "\n"

    def _by_device(self, blocklist: Blocklist) -> tuple[list[str], list[str]]:
        sets: list[str] = []
        rules: list[str] = []
        for device in blocklist.devices:
            label = f"{clean(device.label)} [{device.id}]"
            for version in (4, 6):
                entries = blocklist.addresses_of(device.id, version)
                if not entries:
                    continue
                sources = _sources(device.addresses, version)
                name = set_name(device.id, version)
                sets += [
                    f"    # {label}: IPv{version} addresses it was seen contacting",
                    *_set(name, version, entries, blocklist),
                    "",
                ]
                if not sources:
                    rules.append(
                        f"        # {label}: no IPv{version} address of its own to match; set {name} unused"
                    )
                    continue
                family = _family(version)
                rules += [
                    f"        # {label}",
                    f"        {family} saddr {{ {', '.join(sources)} }} {family} daddr @{name} counter drop",
                ]
        return sets, rules

    def _by_subnet(self, blocklist: Blocklist) -> tuple[list[str], list[str]]:
        sets: list[str] = []
        rules: list[str] = []
        sources = sorted({a for d in blocklist.devices for a in d.addresses})
        for version in (4, 6):
            entries = [a for a in blocklist.addresses if a.version == version]
            if not entries:
                continue
            name = f"blocked_v{version}"
            sets += [
                f"    # IPv{version} addresses the devices were seen contacting",
                *_set(name, version, entries, blocklist),
                "",
            ]
            subnets = _subnets(sources, version)
            if not subnets:
                rules.append(f"        # no device has an IPv{version} address; set {name} unused")
                continue
            family = _family(version)
            rules += [
                f"        # subnets of: {', '.join(clean(d.label) for d in blocklist.devices)}",
                f"        {family} saddr {{ {', '.join(subnets)} }} {family} daddr @{name} counter drop",
            ]
        return sets, rules
