"""ARP, neighbour and switch MAC tables saved as text.

Layouts read (``InputSummary.kind`` in brackets):

* Linux ``ip neigh`` [``ip-neigh``]: ``192.168.1.1 dev eth0 lladdr aa:bb:cc:dd:ee:ff REACHABLE``,
  IPv6 entries and the ``router`` flag included;
* Linux ``arp -a`` and ``arp -n`` [``arp-linux``]: ``? (192.168.1.1) at aa:bb:... [ether] on eth0``
  and the ``Address HWtype HWaddress Flags Mask Iface`` table;
* macOS and BSD ``arp -a`` [``arp-macos``]: ``? (192.168.1.1) at 0:1a:2b:3c:4d:5e on en0 ifscope [ethernet]``;
* Windows ``arp -a`` [``arp-windows``]: ``Interface: ... --- 0xb`` blocks of
  ``192.168.1.1  aa-bb-cc-dd-ee-ff  dynamic`` (any display language);
* Cisco IOS ``show ip arp`` and NX-OS ``show ip arp`` [``cisco-arp``];
* Cisco ``show mac address-table`` (IOS, IOS-XE, NX-OS, Catalyst 6500) and the older
  ``show mac-address-table`` layout [``cisco-mac-table``].

Every line is tried against every layout, so a terminal log holding several ``show`` commands
is read whole; the kind is the layout of the first line recognised. ARP entries become
``HostSighting(kind="arp")`` with MAC and IP; MAC-table entries become
``HostSighting(kind="mac_table")`` (MAC only) plus a ``switch_port`` signal such as
``vlan 1 Gi1/0/1``. Incomplete, failed, broadcast and multicast entries are left out without
being counted as errors; lines that fit no layout and are not a known header, prompt or legend
are counted in ``skipped``. A file in which nothing fits any layout is not a neighbour table.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from phonehome.macaddr import normalise_mac
from phonehome.model import InputSummary
from phonehome.sources.interface import (
    HostSighting,
    HostSignal,
    Item,
    Observation,
    ProgressCallback,
    SourceError,
)
from phonehome.sources.textfile import TextInput, head_text, looks_binary, open_text


def is_unicast_mac(mac: str) -> bool:
    """A real station address: not multicast or broadcast (group bit clear), not all zeros."""
    return not int(mac[:2], 16) & 1 and mac != "00:00:00:00:00:00"


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Entry:
    """One table line: an ARP entry (ip set) or a MAC-table entry (port set)."""

    kind: str
    ip: str | None
    mac: str | None
    """None for incomplete and failed entries."""
    hostname: str | None = None
    port: str | None = None


_IP_NEIGH, _ARP_LINUX, _ARP_MACOS, _ARP_WINDOWS = "ip-neigh", "arp-linux", "arp-macos", "arp-windows"
_CISCO_ARP, _CISCO_MAC = "cisco-arp", "cisco-mac-table"

_ARP_A = re.compile(r"^(\S+) \(([0-9A-Fa-f.:]+)\) at (\S+)(.*)$")
_WINDOWS = re.compile(r"^\s*(\d{1,3}(?:\.\d{1,3}){3})\s+([0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5})\s+\S+\s*$")
_ARP_N_INCOMPLETE = re.compile(r"^(\S+)\s+\(incomplete\)\s+\S+\s*$")
_CISCO_IOS_ARP = re.compile(r"^Internet\s+(\S+)\s+\S+\s+(\S+)\s+\S+(?:\s+\S+)?\s*$")
_DOTTED = r"[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}"
_NXOS_ARP = re.compile(rf"^(\d{{1,3}}(?:\.\d{{1,3}}){{3}})\s+\S+\s+({_DOTTED}|INCOMPLETE)\s+\S+")
_DOTTED_MAC = re.compile(rf"^{_DOTTED}$")
_IPV4_ANYWHERE = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_NEIGH_STATES = frozenset(
    {"REACHABLE", "STALE", "DELAY", "PROBE", "FAILED", "INCOMPLETE", "PERMANENT", "NOARP", "NONE"}
)
_VLAN_TOKEN = re.compile(r"^(\d{1,4}|All|N/A)$", re.IGNORECASE)

_HEADERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^Address\s+HWtype\s+HWaddress", re.I), _ARP_LINUX),
    (re.compile(r"^\s*Internet Address\s+Physical Address\s+Type", re.I), _ARP_WINDOWS),
    (re.compile(r"^\S[^:]*:\s+\d{1,3}(?:\.\d{1,3}){3}\s+---\s+0x[0-9A-Fa-f]+\s*$"), _ARP_WINDOWS),
    (re.compile(r"^Protocol\s+Address\s+Age", re.I), _CISCO_ARP),
    (re.compile(r"^\s*Address\s+Age\s+MAC Address\s+Interface", re.I), _CISCO_ARP),
    (re.compile(r"^IP ARP Table\b", re.I), _CISCO_ARP),
    (re.compile(r"^[\s*]*Vlan\s+Mac Address\s+Type", re.I), _CISCO_MAC),
    (re.compile(r"^\s*Mac Address Table\s*$", re.I), _CISCO_MAC),
    (re.compile(r"^\s*Destination Address\s+Address Type\s+VLAN", re.I), _CISCO_MAC),
)
"""Header lines: recognised (they make a file a neighbour table) but carry no entry."""

_NOISE = (
    re.compile(r"^[\s\-=+*|_]*$"),  # blank lines and rulers
    re.compile(r"^[\w.\-()/:]+[#>]"),  # router prompt, e.g. "switch#show ip arp"
    re.compile(r"^\s*(Total\b|Legend:|Flags:|Multicast Entries)", re.I),
    re.compile(r"^\s+\S+\s+-\s+\S"),  # legend continuation: "  age - seconds since last seen"
    re.compile(r"^[A-Za-z][A-Za-z ()\-/]*:\s*\d*\s*$"),  # counters: "Dynamic Address Count:   2"
    re.compile(r"^\s{2}\D+?\s{2,}\D+?\s{2,}\D+$"),  # translated Windows header: "  Internetadresse  ..."
)
"""Lines that belong to the saved command output but are not entries: neither counted nor recognised."""


def _parse_ip_neigh(tokens: list[str]) -> _Entry | None:
    if len(tokens) < 2 or not ("dev" in tokens[1:3] or tokens[1] == "lladdr" or tokens[-1] in _NEIGH_STATES):
        return None
    ip = _ip(tokens[0])
    if ip is None:
        return None
    if "lladdr" not in tokens:
        return _Entry(_IP_NEIGH, ip, None)  # FAILED, INCOMPLETE, NOARP: no link-layer address
    at = tokens.index("lladdr") + 1
    mac = normalise_mac(tokens[at]) if at < len(tokens) else None
    return _Entry(_IP_NEIGH, ip, mac) if mac else None


def _parse_arp_a(line: str) -> _Entry | None:
    m = _ARP_A.match(line)
    if m is None:
        return None
    name, ip_text, hw, rest = m.groups()
    ip = _ip(ip_text)
    if ip is None:
        return None
    linux = hw == "<incomplete>" or rest.lstrip().startswith("[")
    kind = _ARP_LINUX if linux else _ARP_MACOS
    hostname = None if name == "?" else name
    if hw in ("<incomplete>", "(incomplete)"):
        return _Entry(kind, ip, None, hostname)
    mac = normalise_mac(hw)
    return _Entry(kind, ip, mac, hostname) if mac else None


def _parse_windows(line: str) -> _Entry | None:
    m = _WINDOWS.match(line)
    if m is None:
        return None
    ip = _ip(m.group(1))
    return _Entry(_ARP_WINDOWS, ip, normalise_mac(m.group(2))) if ip else None


def _parse_arp_n(line: str, tokens: list[str]) -> _Entry | None:
    m = _ARP_N_INCOMPLETE.match(line)
    if m:
        return _Entry(_ARP_LINUX, _ip(m.group(1)), None)
    if len(tokens) not in (5, 6) or ":" not in tokens[2] or not tokens[1].isalnum():
        return None
    mac = normalise_mac(tokens[2])
    if mac is None:
        return None
    ip = _ip(tokens[0])
    return _Entry(_ARP_LINUX, ip, mac, None if ip else tokens[0])  # without -n: a host name


def _parse_cisco_arp(line: str) -> _Entry | None:
    m = _CISCO_IOS_ARP.match(line) or _NXOS_ARP.match(line)
    if m is None:
        return None
    ip = _ip(m.group(1))
    if ip is None:
        return None
    if m.group(2).lower() == "incomplete":
        return _Entry(_CISCO_ARP, ip, None)
    mac = normalise_mac(m.group(2))
    return _Entry(_CISCO_ARP, ip, mac) if mac else None


def _parse_mac_table(line: str, tokens: list[str]) -> _Entry | None:
    """IOS ``vlan mac type ports``, 6500/NX-OS ``* vlan mac type ... ports``, old ``mac type vlan port``."""
    if len(tokens) < 3 or _IPV4_ANYWHERE.search(line):
        return None
    at = [i for i, t in enumerate(tokens) if _DOTTED_MAC.match(t)]
    if len(at) != 1 or at[0] == len(tokens) - 1:
        return None
    i = at[0]
    before = [t for t in tokens[:i] if _VLAN_TOKEN.match(t)]
    if before:
        vlan: str | None = before[-1]
    elif i == 0 and len(tokens) >= 4 and tokens[2].isdigit():  # mac-address-table: mac type vlan port
        vlan = tokens[2]
    else:
        vlan = None
    port = tokens[-1]
    value = f"vlan {vlan} {port}" if vlan and vlan.lower() != "n/a" else port
    return _Entry(_CISCO_MAC, None, normalise_mac(tokens[i]), port=value)


def _parse_line(line: str) -> _Entry | str | None:
    """The entry on ``line``, the layout a header line belongs to, or None."""
    tokens = line.split()
    if not tokens:
        return None
    entry = (
        _parse_arp_a(line)
        or _parse_ip_neigh(tokens)
        or _parse_windows(line)
        or _parse_arp_n(line, tokens)
        or _parse_cisco_arp(line)
        or _parse_mac_table(line, tokens)
    )
    if entry:
        return entry
    for pattern, kind in _HEADERS:
        if pattern.match(line):
            return kind
    return None


_SNIFF: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(r"^Address\s+HWtype\s+HWaddress"), 0.95),
    (re.compile(r"^Protocol\s+Address\s+Age"), 0.95),
    (re.compile(r"^\S[^:\n]*:\s+\d{1,3}(?:\.\d{1,3}){3}\s+---\s+0x"), 0.95),
    (re.compile(r"^\S[^:\n]*:\s+\d{1,3}(?:\.\d{1,3}){3}\s+-*$"), 0.6),  # UTF-16: 64 bytes end here
    (re.compile(r"^Vlan\s+Mac Address\s+Type", re.I), 0.95),
    (re.compile(r"^Mac Address Table", re.I), 0.9),
    (re.compile(r"^Destination Address\s+Address Type", re.I), 0.9),
    (re.compile(r"^IP ARP Table\b"), 0.9),
    (re.compile(r"^\S+ \([0-9A-Fa-f.:]+\) at \S"), 0.9),
    (re.compile(r"^[0-9A-Fa-f.:]{3,} (dev \S+ |lladdr )"), 0.9),
    (re.compile(r"^Internet\s+\d{1,3}(?:\.\d{1,3}){3}\s"), 0.85),
    (re.compile(r"^[\w.\-()/]+[#>]\s*sh\w*\s+(ip\s+arp|arp|mac)", re.I), 0.8),
    (re.compile(r"^Flags:\s+\* - Adjacencies"), 0.6),
    (re.compile(r"^Legend:"), 0.4),
)
_ANY_MAC = re.compile(rf"{_DOTTED}|[0-9A-Fa-f]{{1,2}}(?:[:-][0-9A-Fa-f]{{1,2}}){{5}}")


class NeighbourTableSource:
    """ARP/neighbour tables and switch MAC tables saved as text (see the module docstring)."""

    name = "neighbours"

    def sniff(self, path: Path, head: bytes) -> float:
        if looks_binary(head):
            return -1.0
        text = head_text(head).lstrip()
        for pattern, score in _SNIFF:
            if pattern.match(text):
                return score
        if _IPV4_ANYWHERE.search(text) and _ANY_MAC.search(text):
            return 0.4  # an address pair in an unknown wrapper: read() decides
        return -1.0

    def read(self, path: Path, progress: ProgressCallback | None = None) -> Iterator[Item]:
        return self._read(open_text(path), progress)  # open_text raises before anything is yielded

    def _read(self, text: TextInput, progress: ProgressCallback | None) -> Iterator[Item]:
        source = str(text.path)
        kind: str | None = None
        records = skipped = 0
        with text:
            for line in text.lines(progress):
                parsed = _parse_line(line)
                if parsed is None:
                    if "\x00" in line and kind is None:
                        raise SourceError(f"{source}: binary data, not an ARP/neighbour table")
                    if not any(p.match(line) for p in _NOISE):
                        skipped += 1
                    continue
                if isinstance(parsed, str):
                    kind = kind or parsed
                    continue
                kind = kind or parsed.kind
                records += 1
                yield from _observations(parsed, source)
            if kind is None:
                raise SourceError(f"{source}: no ARP/neighbour entries recognised")
            yield InputSummary(
                path=source,
                kind=kind + text.kind_suffix,
                packets=records,
                sha256=text.sha256(),
                errors=tuple(text.errors),
                skipped=skipped,
            )


def _observations(entry: _Entry, source: str) -> Iterator[Observation]:
    mac = entry.mac
    if mac is None or not is_unicast_mac(mac):
        return  # incomplete, broadcast, multicast
    if entry.port is not None:
        yield HostSighting(mac=mac, ip=None, kind="mac_table", source=source)
        yield HostSignal(mac=mac, ip=None, kind="switch_port", value=entry.port, source=source)
        return
    if entry.ip is not None and ipaddress.ip_address(entry.ip).is_multicast:
        return
    yield HostSighting(mac=mac, ip=entry.ip, kind="arp", source=source, hostname=entry.hostname)
