"""Suricata rules: alerts on DNS queries and TLS SNI for each name, and on traffic from each
device to the addresses it was seen contacting.

Name rules use ``dotprefix; content:".name"; endswith; nocase``, which matches the name and every
name below it, so names under a listed parent are folded into it. ``classtype:policy-violation``
is in Suricata's default classification.config.

Signature ids come from ``SID_BASE``..``SID_BASE + SID_SPAN - 1`` (9100000-9199999, outside the
ranges used by public rule sets): each rule's sid is derived from a hash of what it matches, so a
rule keeps its sid from one audit to the next and diffs stay small; a collision moves to the next
free sid in sorted order. These are detection rules (action ``alert``): Suricata in IPS mode can
turn them into ``drop`` with its own ``drop.conf``.
"""

from __future__ import annotations

import hashlib
import re
from typing import ClassVar

from phonehome.outputs.blocklists.common import clean, commented, footer, header, suffix_groups, why_name
from phonehome.outputs.blocklists.model import Blocklist

SID_BASE = 9_100_000
SID_SPAN = 100_000
CLASSTYPE = "policy-violation"
IP_RULE_CHUNK = 100
"""Destination addresses per ``alert ip`` rule, keeping rules well under Suricata's 8 KiB line limit."""
SEMANTICS = f"""\
format: Suricata rules (alert); dns.query and tls.sni rules match the name and every name below it;
  names under a listed parent are folded into it; sids {SID_BASE}-{SID_BASE + SID_SPAN - 1} are
  derived from each rule's match, so a rule keeps its sid across audits."""


def message(text: str) -> str:
    """Text safe inside ``msg:"..."`` (no quotes, semicolons, backslashes or pipes)."""
    return re.sub(r"\s+", " ", re.sub(r'[";\\|]', " ", clean(text))).strip()[:200]


def allocate_sids(keys: list[str]) -> dict[str, int]:
    """A stable sid per key, unique within the file."""
    taken: set[int] = set()
    out: dict[str, int] = {}
    for key in sorted(keys):
        offset = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % SID_SPAN
        while SID_BASE + offset in taken:
            offset = (offset + 1) % SID_SPAN
        taken.add(SID_BASE + offset)
        out[key] = SID_BASE + offset
    return out


class SuricataRenderer:
    name: ClassVar[str] = "suricata"
    suffix: ClassVar[str] = ".rules"
    comment: ClassVar[str] = "#"
    suffix_match: ClassVar[bool] = True

    def render(self, blocklist: Blocklist) -> str:
        groups = suffix_groups(blocklist)
        ip_devices = [
            (device, [a.ip for a in blocklist.addresses_of(device.id)])
            for device in blocklist.devices
            if device.addresses and blocklist.addresses_of(device.id)
        ]
        chunks = [
            (device, n, ips[i : i + IP_RULE_CHUNK])
            for device, ips in ip_devices
            for n, i in enumerate(range(0, len(ips), IP_RULE_CHUNK))
        ]
        keys = [f"{proto}:{e.name}" for e, _ in groups for proto in ("dns", "tls")]
        keys += [f"ip:{d.id}:{n}" for d, n, _ in chunks]
        sids = allocate_sids(keys)
        lines = commented("#", header(blocklist, self.name, SEMANTICS))
        for entry, covers in groups:
            what = message(f"{blocklist.entity(entry.operator)} {entry.purpose} {entry.name}")
            lines += ["", *commented("#", why_name(blocklist, entry, covers))]
            for proto, buffer in (("dns", "dns.query"), ("tls", "tls.sni")):
                lines.append(
                    f'alert {proto} any any -> any any (msg:"phonehome blocklist {proto.upper()} {what}"; '
                    f'{buffer}; dotprefix; content:".{entry.name}"; endswith; nocase; '
                    f"classtype:{CLASSTYPE}; sid:{sids[f'{proto}:{entry.name}']}; rev:1;)"
                )
        for device, n, ips in chunks:
            what = message(f"{device.label} {device.id} to addresses it was seen contacting")
            sid = sids[f"ip:{device.id}:{n}"]
            lines += [
                "",
                *commented("#", [f"{clean(device.label)} [{device.id}] -> {len(ips)} observed addresses"]),
                f"alert ip [{','.join(device.addresses)}] any -> [{','.join(ips)}] any "
                f'(msg:"phonehome blocklist IP {what}"; classtype:{CLASSTYPE}; sid:{sid}; rev:1;)',
            ]
        lines += ["", *commented("#", footer(blocklist))]
        return "\n".join(lines).rstrip() + "\n"
