"""NetFlow/IPFIX/sFlow records exported with ``nfdump -o csv`` (``InputSummary.kind`` ``nfdump-csv``).

The header line decides which column is which, so these layouts are all read:

* nfdump 1.6 and 1.7 up to 1.7.4: ``ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,
  sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,...,mpls10,cl,sl,al,ra,eng,
  exid,tr``, protocol as a name (``TCP``), times as ``2023-05-04 10:00:00`` (1.7: no fraction);
* recent nfdump, whose table-driven CSV writer (``-o 'csv:%ts,%sa,...'``) heads columns with long names
  (``firstSeen,lastSeen,duration,srcAddr,dstAddr,srcPort,dstPort,proto,...,inBytes,outBytes,
  inSrcMac,...``), protocol as a number, times with milliseconds and ICMP ``dstPort`` as
  ``type.code``; ``sniName`` and ``ja4`` columns fill ``server_name`` and ``client_fingerprint``;
* the fast CSV writer of recent nfdump (``output_csv_fast.c``: ``cnt,af,firstSeen,lastSeen,proto,
  srcAddr,...,bytes``) with times in epoch milliseconds, and raw epoch seconds (``1683194400.123``,
  ``%tsr``) anywhere.

Only ``ts``/``firstSeen``, ``sa``/``srcAddr`` and ``da``/``dstAddr`` are required. nfdump prints
times in the local time zone of the machine that ran it and does not say which: they are read as
**UTC**. Each row is one unidirectional flow: ``src_bytes`` is ``ibyt`` (or ``bytes``),
``dst_bytes`` is ``obyt`` when present, else 0. MACs come from ``ismc``/``idmc`` (the frame
entering the exporter), or ``osmc``/``odmc`` when those are zero. ICMP ``type.code`` ports become
``type * 256 + code``, as nfdump 1.7 prints them. The ``Summary`` block nfdump appends ends the
rows; any other line that is not a flow is counted in ``skipped``. Memory stays bounded: rows are
streamed and the time, address and protocol caches are cleared when they grow large.
"""

from __future__ import annotations

import calendar
import ipaddress
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from phonehome.model import InputSummary
from phonehome.sources.interface import FlowRecord, Item, ProgressCallback, SourceError
from phonehome.sources.neighbours import normalise_mac
from phonehome.sources.textfile import TextInput, head_text, looks_binary, open_text

KIND = "nfdump-csv"
_CACHE_LIMIT = 1 << 16

_ALIASES: dict[str, tuple[str, ...]] = {
    "first": ("ts", "firstseen"),
    "last": ("te", "lastseen"),
    "src": ("sa", "srcaddr"),
    "dst": ("da", "dstaddr"),
    "sport": ("sp", "srcport"),
    "dport": ("dp", "dstport"),
    "proto": ("pr", "proto"),
    "ibyt": ("ibyt", "inbytes", "byt", "bytes"),
    "obyt": ("obyt", "outbytes"),
    "ismc": ("ismc", "insrcmac"),
    "idmc": ("idmc", "indstmac"),
    "osmc": ("osmc", "outsrcmac"),
    "odmc": ("odmc", "outdstmac"),
    "sni": ("sniname",),
    "ja4": ("ja4",),
}
"""Our name for a column -> the names nfdump versions give it in the header (lower case)."""

PROTOCOLS: dict[str, int] = {
    "ICMP": 1, "IGMP": 2, "GGP": 3, "IPIP": 4, "ST": 5, "TCP": 6, "CBT": 7, "EGP": 8, "IGP": 9,
    "PUP": 12, "UDP": 17, "RDP": 27, "DCCP": 33, "IPV6": 41, "RTE6": 43, "FRAG6": 44, "RSVP": 46,
    "GRE": 47, "ESP": 50, "AH": 51, "ICMP6": 58, "ICMPV6": 58, "IPV6-ICMP": 58, "NOHE6": 59,
    "OPTS6": 60, "EIGRP": 88, "OSPF": 89, "ETHIP": 97, "ENCAP": 98, "PIM": 103, "IPCMP": 108,
    "VRRP": 112, "PGM": 113, "L2TP": 115, "ISIS4": 124, "SCTP": 132, "MHEAD": 135, "UDP-L": 136,
    "UDPLITE": 136, "MPLS": 137,
}  # fmt: skip
"""Protocol names nfdump prints (its own short forms, upper-cased) and common aliases."""

_NO_MAC = "00:00:00:00:00:00"
_ABSENT = frozenset({"", "0", "no-ja4", "no-sni"})
"""What nfdump prints in the ``sniName``/``ja4`` columns when the flow has none."""


def _columns(header: str) -> dict[str, int] | None:
    """Column index by our name, or None when the header is not a flow listing."""
    names = [name.strip().lower() for name in header.split(",")]
    found: dict[str, int] = {}
    for ours, theirs in _ALIASES.items():
        for alias in theirs:
            if alias in names:
                found[ours] = names.index(alias)
                break
    if not {"first", "src", "dst"} <= found.keys():
        return None
    return found


class _Clock:
    """Timestamps to Unix seconds, caching the whole-second part (rows arrive in time order)."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}

    def seconds(self, value: str) -> float:
        if value[4:5] != "-":  # epoch seconds "1683194400.123" or csv-fast milliseconds
            if "." in value:
                return float(value)
            number = int(value)
            return number / 1000.0 if number > 99_999_999_999 else float(number)
        base = value[:19]
        whole = self._seconds.get(base)
        if whole is None:
            if base.startswith("0000-"):
                whole = 0.0  # nfdump's "no time"
            else:
                whole = float(calendar.timegm(datetime.fromisoformat(base).timetuple()))
            if len(self._seconds) >= _CACHE_LIMIT:
                self._seconds.clear()
            self._seconds[base] = whole
        fraction = value[19:]
        return whole + float(fraction) if fraction else whole


class _Addresses:
    """Validated, canonical IP address strings; ``known`` is the cache callers look in first."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def learn(self, value: str) -> str:
        address = str(ipaddress.ip_address(value.strip()))  # ValueError: not an address
        if len(self.known) >= _CACHE_LIMIT:
            self.known.clear()
        self.known[value] = address
        return address


class _Protocols:
    """Protocol column to number; unknown names become 0 and are remembered for the summary."""

    def __init__(self) -> None:
        self.known: dict[str, int] = {}
        self.unknown: dict[str, int] = {}

    def learn(self, value: str) -> int:
        text = value.strip()
        if text.isascii() and text.isdigit():
            number = int(text)
            if number > 255:
                raise ValueError(f"protocol {number}")
        else:
            number = PROTOCOLS.get(text.upper(), 0)
            if not number:
                self.unknown[text] = self.unknown.get(text, 0) + 1
                return 0
        if len(self.known) < _CACHE_LIMIT:
            self.known[value] = number
        return number


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        icmp_type, _, code = value.partition(".")  # "8.0": ICMP type.code
        port = int(icmp_type) * 256 + int(code)
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"port {port}")
    return port


def _mac(value: str) -> str | None:
    if value == _NO_MAC or not value:
        return None
    if len(value) == 17 and value[2] == ":":
        return value.lower()
    return normalise_mac(value)


def _row_parser(columns: dict[str, int], source: str, protocols: _Protocols) -> Callable[[str], FlowRecord]:
    """A function from one CSV row to its FlowRecord; raises ValueError or IndexError on bad rows.

    This runs once per flow, so it avoids calls where it can: the address and protocol caches are
    looked up inline and FlowRecord is built positionally (its fields in declaration order).
    """
    seconds = _Clock().seconds
    addresses = _Addresses()
    known_ip, learn_ip = addresses.known, addresses.learn
    known_proto, learn_proto = protocols.known, protocols.learn
    need = max(columns.values()) + 1
    i_first, i_src, i_dst = columns["first"], columns["src"], columns["dst"]
    i_last = columns.get("last", i_first)
    i_sport, i_dport, i_proto = columns.get("sport"), columns.get("dport"), columns.get("proto")
    i_ibyt, i_obyt = columns.get("ibyt"), columns.get("obyt")
    i_ismc, i_idmc, i_osmc, i_odmc = (columns.get(name) for name in ("ismc", "idmc", "osmc", "odmc"))
    i_sni, i_ja4 = columns.get("sni"), columns.get("ja4")

    def parse(line: str) -> FlowRecord:
        f = line.split(",", need)  # the columns after the last one used stay unsplit
        if len(f) < need:
            raise ValueError("too few columns")
        src_mac = dst_mac = None
        if i_ismc is not None and f[i_ismc] != _NO_MAC:
            src_mac = _mac(f[i_ismc])
        if i_idmc is not None and f[i_idmc] != _NO_MAC:
            dst_mac = _mac(f[i_idmc])
        if src_mac is None and dst_mac is None:
            if i_osmc is not None and f[i_osmc] != _NO_MAC:
                src_mac = _mac(f[i_osmc])
            if i_odmc is not None and f[i_odmc] != _NO_MAC:
                dst_mac = _mac(f[i_odmc])
        server_name = f[i_sni].strip() if i_sni is not None else ""
        fingerprint = f[i_ja4].strip() if i_ja4 is not None else ""
        proto = f[i_proto] if i_proto is not None else "0"
        src_bytes = int(f[i_ibyt]) if i_ibyt is not None else 0
        dst_bytes = int(f[i_obyt]) if i_obyt is not None else 0
        if src_bytes < 0 or dst_bytes < 0:
            raise ValueError("negative byte count")
        return FlowRecord(
            src_mac,
            known_ip.get(f[i_src]) or learn_ip(f[i_src]),
            dst_mac,
            known_ip.get(f[i_dst]) or learn_ip(f[i_dst]),
            known_proto.get(proto) or learn_proto(proto),
            _port(f[i_sport]) if i_sport is not None else 0,
            _port(f[i_dport]) if i_dport is not None else 0,
            src_bytes,
            dst_bytes,
            seconds(f[i_first]),
            seconds(f[i_last]),
            None if server_name in _ABSENT else server_name,
            None,  # application: nfdump does not classify flows
            None,  # user_agent
            None if fingerprint in _ABSENT else fingerprint,
            source,
        )

    return parse


_SNIFF_PREFIXES = ("ts,te,td,sa,da,", "firstseen,lastseen,", "cnt,af,firstseen,lastseen,")
_CSV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


class NfdumpSource:
    """``nfdump -o csv`` flow listings (see the module docstring)."""

    name = "nfdump"

    def sniff(self, path: Path, head: bytes) -> float:
        if looks_binary(head):
            return -1.0
        first = head_text(head).lstrip("\r\n").split("\n", 1)[0].strip().lower()
        if first.startswith(_SNIFF_PREFIXES[0]):
            return 1.0
        if first.startswith(_SNIFF_PREFIXES[1:]):
            return 0.9
        names = first.split(",")
        if "\n" not in head_text(head).lstrip("\r\n"):
            names = names[:-1]  # the head may end inside the last name
        if len(names) >= 2 and all(_CSV_NAME.match(n) for n in names):
            has = {ours for ours, theirs in _ALIASES.items() if set(names).intersection(theirs)}
            if {"first", "src"} <= has or {"src", "dst"} <= has:
                return 0.6
        return -1.0

    def read(self, path: Path, progress: ProgressCallback | None = None) -> Iterator[Item]:
        return self._read(open_text(path), progress)  # open_text raises before anything is yielded

    def _read(self, text: TextInput, progress: ProgressCallback | None) -> Iterator[Item]:
        source = str(text.path)
        with text:
            lines = text.lines(progress)
            header = next((line for line in lines if line.strip()), None)
            if header is None:
                raise SourceError(f"{source}: empty file, no nfdump CSV header")
            if "\x00" in header:
                raise SourceError(f"{source}: binary data, not nfdump CSV")
            columns = _columns(header)
            if columns is None:
                raise SourceError(
                    f"{source}: not an nfdump flow listing (the header names no ts/firstSeen, "
                    "sa/srcAddr and da/dstAddr columns)"
                )
            protocols = _Protocols()
            parse = _row_parser(columns, source, protocols)
            records = skipped = 0
            for line in lines:
                if not line or line.isspace():
                    continue
                if line.startswith("Summary"):
                    break  # flows/bytes/packets totals follow
                try:
                    record = parse(line)
                except (ValueError, IndexError, OverflowError):
                    skipped += 1
                    continue
                records += 1
                yield record
            errors = list(text.errors)
            if protocols.unknown:
                names = ", ".join(sorted(protocols.unknown))
                count = sum(protocols.unknown.values())
                errors.append(f"{count} rows with unknown protocol names ({names}) recorded as protocol 0")
            sha256 = text.sha256()
            yield InputSummary(
                path=source,
                kind=KIND + text.kind_suffix,
                packets=records,
                sha256=sha256,
                errors=tuple(errors),
                skipped=skipped,
            )
