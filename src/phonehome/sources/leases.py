"""DHCP server lease files: dnsmasq, ISC dhcpd and Kea (memfile CSV).

Formats read (``InputSummary.kind`` in brackets, ``+gzip`` appended when compressed):

* dnsmasq ``dnsmasq.leases`` [``dnsmasq-leases``]: ``<expiry> <mac> <ip> <hostname|*> <client-id|*>``;
  DHCPv6 leases follow a ``duid <server duid>`` line as ``<expiry> <[T]iaid> <ipv6> <hostname|*> <duid>``.
  An expiry of 0 means an infinite lease. The file has no start time.
* ISC dhcpd ``dhcpd.leases`` [``isc-dhcpd-leases``]: ``lease <ip> { starts ...; ends ...; hardware
  ethernet ...; client-hostname "..."; set vendor-class-identifier = "..."; }`` blocks, with comments,
  ``authoring-byte-order``, ``server-duid``, ``failover peer`` and ``host`` blocks around them;
  DHCPv6 ``ia-na``/``ia-ta`` blocks with ``iaaddr`` leases. Times are UTC (``4 2023/05/04 10:00:00``)
  or ``epoch <seconds>`` when dhcpd runs with ``db-time-format local``.
* Kea memfile CSV [``kea-leases``]: the header line names the columns (``address,hwaddr,client_id,
  valid_lifetime,expire,...`` for DHCPv4, ``address,duid,valid_lifetime,expire,...`` for DHCPv6), so
  every schema version since Kea 1.0 is read. ``expire - valid_lifetime`` is the client's last
  transaction time. Rows with ``valid_lifetime`` 0 are deletion markers and declined leases
  (state 1) have no client; both are counted but give no sighting. Prefix delegations are left out.

Each lease gives ``HostSighting(kind="dhcp_lease")`` with the lease's MAC, address, start and end,
plus a ``dhcp_hostname`` signal for the client's host name and, from ISC files, a
``dhcp_vendor_class`` signal. For DHCPv6 leases without a hardware address the MAC is taken from
a DUID-LL or DUID-LLT of Ethernet type. Lines that fit no statement of the detected format are
counted in ``skipped``.
"""

from __future__ import annotations

import calendar
import ipaddress
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from phonehome.model import InputSummary
from phonehome.sources.interface import (
    HostSighting,
    HostSignal,
    Item,
    Observation,
    ProgressCallback,
    SourceError,
)
from phonehome.sources.neighbours import is_unicast_mac, normalise_mac
from phonehome.sources.textfile import TextInput, head_text, looks_binary, open_text

DNSMASQ, ISC, KEA = "dnsmasq-leases", "isc-dhcpd-leases", "kea-leases"
_DETECT_LINES = 200
"""Lines looked at to decide the format before giving up."""


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _unicast(mac: str | None) -> str | None:
    return mac if mac and is_unicast_mac(mac) else None


def mac_from_duid(duid: bytes) -> str | None:
    """The Ethernet address inside a DUID-LLT (type 1) or DUID-LL (type 3), if it has one."""
    if len(duid) < 4 or duid[2:4] != b"\x00\x01":
        return None
    if duid[:2] == b"\x00\x01" and len(duid) == 14:
        address = duid[8:]
    elif duid[:2] == b"\x00\x03" and len(duid) == 10:
        address = duid[4:]
    else:
        return None
    return _unicast(":".join(f"{b:02x}" for b in address))


def _hex_bytes(text: str) -> bytes | None:
    try:
        return bytes.fromhex(text.replace(":", "").replace("-", ""))
    except ValueError:
        return None


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


@dataclass(slots=True)
class _Lease:
    ip: str
    mac: str | None = None
    start: float | None = None
    end: float | None = None
    hostname: str | None = None
    vendor_class: str | None = None

    def observations(self, source: str) -> Iterator[Observation]:
        hostname = self.hostname.strip("\x00 \t") if self.hostname else None
        yield HostSighting(
            mac=self.mac,
            ip=self.ip,
            kind="dhcp_lease",
            source=source,
            first_seen=self.start,
            last_seen=self.end,
            hostname=hostname or None,
        )
        if hostname:
            yield HostSignal(mac=self.mac, ip=self.ip, kind="dhcp_hostname", value=hostname, source=source)
        if self.vendor_class:
            yield HostSignal(
                mac=self.mac, ip=self.ip, kind="dhcp_vendor_class", value=self.vendor_class, source=source
            )


class _Parser:
    """One lease file format, fed line by line."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.records = 0
        self.skipped = 0
        self.errors: list[str] = []

    def line(self, line: str) -> Iterator[Observation]:
        raise NotImplementedError

    def finish(self) -> Iterator[Observation]:
        return iter(())


# --- dnsmasq ---------------------------------------------------------------------------------

_DNSMASQ_V4 = re.compile(r"^\d{1,12} [0-9A-Fa-f:\-]{2,} \d{1,3}(?:\.\d{1,3}){3} \S+( \S+)?$")
_DNSMASQ_V6 = re.compile(r"^\d{1,12} T?\d{1,10} [0-9A-Fa-f:]{2,} \S+ \S+$")
_DNSMASQ_DUID = re.compile(r"^duid [0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})+$")
_HW_FIELD = re.compile(r"^[0-9A-Fa-f:\-]+$")


class _DnsmasqParser(_Parser):
    def line(self, line: str) -> Iterator[Observation]:
        tokens = line.split()
        if not tokens or (len(tokens) == 2 and tokens[0] == "duid"):
            return
        if len(tokens) not in (4, 5) or not (tokens[0].isascii() and tokens[0].isdigit()):
            self.skipped += 1
            return
        ip = _ip(tokens[2])
        if ip is None:
            self.skipped += 1
            return
        if ":" in ip:
            if not re.fullmatch(r"T?\d+", tokens[1]):  # IAID, "T" for temporary addresses
                self.skipped += 1
                return
            duid = _hex_bytes(tokens[4]) if len(tokens) == 5 and tokens[4] != "*" else None
            mac = mac_from_duid(duid) if duid else None
        else:
            if not _HW_FIELD.match(tokens[1]):
                self.skipped += 1
                return
            mac = _unicast(normalise_mac(tokens[1]))  # None for non-Ethernet hardware types
        expiry = int(tokens[0])
        self.records += 1
        hostname = None if tokens[3] == "*" else tokens[3]
        lease = _Lease(ip, mac, None, float(expiry) if expiry else None, hostname)
        yield from lease.observations(self.source)


# --- ISC dhcpd -------------------------------------------------------------------------------

_ISC_TOP = re.compile(r"^(authoring-byte-order|server-duid|db-time-format)\s.*;\s*(#.*)?$")
_ISC_LEASE = re.compile(r"^lease\s+(\S+)\s*\{$")
_ISC_IA = re.compile(r'^ia-(na|ta|pd)\s+"((?:[^"\\]|\\.)*)"\s*\{$')
_ISC_IAADDR = re.compile(r"^iaaddr\s+(\S+)\s*\{$")
_ISC_STATEMENT = re.compile(r"^(.*;)\s*(#.*)?$")
_ISC_TIME = re.compile(r"^(starts|ends|cltt)\s+(.+);$")
_ISC_DATE = re.compile(r"^\d\s+(\d{4})/(\d{1,2})/(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})$")
_ISC_HARDWARE = re.compile(r"^hardware\s+(\S+)\s+(\S+);$")
_ISC_HOSTNAME = re.compile(r'^client-hostname\s+"((?:[^"\\]|\\.)*)";$')
_ISC_VENDOR = re.compile(r'^set\s+vendor[-_]class[-_]identifier\s*=\s*"((?:[^"\\]|\\.)*)";$')


def isc_string(body: str) -> bytes:
    """The bytes of a dhcpd quoted string body: ``\\ooo`` octal escapes and ``\\"``, ``\\\\``."""
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            octal = body[i + 1 : i + 4]
            if len(octal) == 3 and all(d in "01234567" for d in octal):
                out.append(int(octal, 8) & 0xFF)
                i += 4
                continue
            c = body[i + 1]
            i += 1
        out += c.encode("utf-8")
        i += 1
    return bytes(out)


def _isc_time(value: str) -> float | None:
    """``4 2023/05/04 10:00:00`` (UTC) or ``epoch 1683194400``; None for ``never`` or nonsense."""
    m = _ISC_DATE.match(value)
    if m:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        try:
            return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))
        except (ValueError, OverflowError):
            return None
    parts = value.split()
    if len(parts) == 2 and parts[0] == "epoch" and parts[1].isascii() and parts[1].isdigit():
        return float(parts[1])
    return None


class _IscParser(_Parser):
    def __init__(self, source: str) -> None:
        super().__init__(source)
        self._blocks: list[str] = []
        """Open blocks, innermost last: ``lease``, ``ia``, ``iaaddr`` or ``other``."""
        self._lease: _Lease | None = None
        self._ia_mac: str | None = None

    def line(self, line: str) -> Iterator[Observation]:
        line = line.strip()
        if not line or line.startswith("#"):
            return
        if line.endswith("{"):
            self._open(line)
            return
        if line == "}":
            yield from self._close()
            return
        m = _ISC_STATEMENT.match(line)
        if m is None:
            self.skipped += 1
            return
        statement = m.group(1)
        if not self._blocks:
            if not _ISC_TOP.match(statement):
                self.skipped += 1
            return
        if self._lease is not None and self._blocks[-1] in ("lease", "iaaddr"):
            self._statement(self._lease, statement)

    def _open(self, line: str) -> None:
        inner = self._blocks[-1] if self._blocks else None
        block = "other"
        if inner is None and (m := _ISC_LEASE.match(line)):
            ip = _ip(m.group(1))
            if ip is None:
                self.skipped += 1
            else:
                block, self._lease = "lease", _Lease(ip)
        elif inner is None and (m := _ISC_IA.match(line)) and m.group(1) != "pd":
            block = "ia"
            ia = isc_string(m.group(2))  # 4-byte IAID, then the client's DUID
            self._ia_mac = mac_from_duid(ia[4:])
        elif inner == "ia" and (m := _ISC_IAADDR.match(line)):
            ip = _ip(m.group(1))
            if ip is None:
                self.skipped += 1
            else:
                block, self._lease = "iaaddr", _Lease(ip, self._ia_mac)
        self._blocks.append(block)

    def _close(self) -> Iterator[Observation]:
        if not self._blocks:
            self.skipped += 1
            return
        block = self._blocks.pop()
        if block in ("lease", "iaaddr") and self._lease is not None:
            lease, self._lease = self._lease, None
            self.records += 1
            if lease.mac or lease.hostname:
                yield from lease.observations(self.source)
        elif block == "ia":
            self._ia_mac = None

    def _statement(self, lease: _Lease, statement: str) -> None:
        if m := _ISC_TIME.match(statement):
            when = _isc_time(m.group(2).strip())
            if m.group(1) == "starts":
                lease.start = when
            elif m.group(1) == "ends":
                lease.end = when
        elif m := _ISC_HARDWARE.match(statement):
            if m.group(1) == "ethernet":
                lease.mac = _unicast(normalise_mac(m.group(2)))
        elif m := _ISC_HOSTNAME.match(statement):
            lease.hostname = _text(isc_string(m.group(1)))
        elif m := _ISC_VENDOR.match(statement):
            lease.vendor_class = _text(isc_string(m.group(1))) or None

    def finish(self) -> Iterator[Observation]:
        if self._lease is not None:
            self.skipped += 1
            self.errors.append(f"file ends inside the lease block for {self._lease.ip} (truncated?)")
        return iter(())


# --- Kea memfile CSV -------------------------------------------------------------------------

_KEA_ESCAPE = re.compile(r"&#x([0-9A-Fa-f]{2})")
_KEA_V4 = ("address", "hwaddr", "valid_lifetime", "expire")
_KEA_V6 = ("address", "duid", "valid_lifetime", "expire")
_KEA_DECLINED = "1"
_KEA_PREFIX_DELEGATION = "2"
_INFINITE = 0xFFFFFFFF


def _kea_unescape(value: str) -> str:
    return _KEA_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value) if "&#x" in value else value


class _KeaParser(_Parser):
    def __init__(self, source: str) -> None:
        super().__init__(source)
        self._columns: dict[str, int] | None = None
        self._v6 = False

    def line(self, line: str) -> Iterator[Observation]:
        if not line.strip():
            return
        fields = line.split(",")
        if fields[0] == "address":
            self._header(fields)
            return
        columns = self._columns
        if columns is None or len(fields) < len(columns):
            self.skipped += 1
            return
        try:
            lease = self._lease(fields, columns)
        except ValueError:
            self.skipped += 1
            return
        self.records += 1
        if lease is not None:
            yield from lease.observations(self.source)

    def _header(self, fields: list[str]) -> None:
        columns = {name.strip(): i for i, name in enumerate(fields)}
        v6 = "duid" in columns
        if not all(c in columns for c in (_KEA_V6 if v6 else _KEA_V4)):
            self._columns = None
            self.skipped += 1
            return
        self._columns, self._v6 = columns, v6

    def _lease(self, fields: list[str], columns: dict[str, int]) -> _Lease | None:
        """The lease on a row, None when the row names no client; ValueError for a bad row."""
        ip = _ip(fields[columns["address"]])
        lifetime = int(fields[columns["valid_lifetime"]])
        expire = int(fields[columns["expire"]])
        if ip is None:
            raise ValueError("not an address")

        def field(name: str) -> str:
            at = columns.get(name)
            return _kea_unescape(fields[at]) if at is not None else ""

        if lifetime == 0 or field("state") == _KEA_DECLINED:
            return None  # deletion marker, or an address a client declined
        if self._v6 and field("lease_type") == _KEA_PREFIX_DELEGATION:
            return None
        mac = _unicast(normalise_mac(field("hwaddr"))) if field("hwaddr") else None
        if mac is None and self._v6:
            duid = _hex_bytes(field("duid"))
            mac = mac_from_duid(duid) if duid else None
        start = float(expire - lifetime)
        end = None if lifetime == _INFINITE else float(expire)
        return _Lease(ip, mac, start, end, field("hostname").rstrip(".") or None)


# --- detection and the source ----------------------------------------------------------------


def _detect(line: str) -> str | None:
    """The format a single line proves, if any."""
    s = line.strip()
    if not s:
        return None
    if s.startswith(("address,hwaddr,", "address,duid,")):
        return KEA
    if s.startswith("#") or _ISC_TOP.match(s) or _ISC_LEASE.match(s) or _ISC_IA.match(s):
        return ISC
    if _DNSMASQ_V4.match(s) or _DNSMASQ_V6.match(s) or _DNSMASQ_DUID.match(s):
        return DNSMASQ
    return None


_PARSERS: dict[str, type[_Parser]] = {DNSMASQ: _DnsmasqParser, ISC: _IscParser, KEA: _KeaParser}
_SNIFF_ISC = re.compile(r"^(authoring-byte-order |server-duid |lease \d[\d.]+ \{|failover peer |ia-na \")")
_SNIFF_DNSMASQ = re.compile(r"^\d{1,12} (?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2} \d{1,3}(?:\.\d{1,3}){3} ")
_SNIFF_DNSMASQ_V6 = re.compile(r"^(duid (?:[0-9A-Fa-f]{2}:){3}|\d{1,12} T?\d{1,10} [0-9A-Fa-f]{1,4}:)")


class LeasesSource:
    """DHCP server lease files from dnsmasq, ISC dhcpd and Kea (see the module docstring)."""

    name = "leases"

    def sniff(self, path: Path, head: bytes) -> float:
        if looks_binary(head):
            return -1.0
        text = head_text(head).lstrip("\r\n")
        if text.startswith(("address,hwaddr,client_id,", "address,duid,valid_lifetime,")):
            return 1.0
        if text.startswith("# The format of this file is documented in the dhcpd"):
            return 1.0
        if _SNIFF_ISC.match(text) or _SNIFF_DNSMASQ.match(text):
            return 0.9
        if _SNIFF_DNSMASQ_V6.match(text):
            return 0.7
        return -1.0

    def read(self, path: Path, progress: ProgressCallback | None = None) -> Iterator[Item]:
        return self._read(open_text(path), progress)  # open_text raises before anything is yielded

    def _read(self, text: TextInput, progress: ProgressCallback | None) -> Iterator[Item]:
        source = str(text.path)
        with text:
            lines = text.lines(progress)
            looked: list[str] = []
            kind = None
            for line in lines:
                if "\x00" in line:
                    raise SourceError(f"{source}: binary data, not a DHCP lease file")
                looked.append(line)
                kind = _detect(line)
                if kind or len(looked) >= _DETECT_LINES:
                    break
            if kind is None:
                if not any(line.strip() for line in looked):
                    raise SourceError(f"{source}: empty file, no leases")
                raise SourceError(f"{source}: not a dnsmasq, ISC dhcpd or Kea lease file")
            parser = _PARSERS[kind](source)
            for line in itertools.chain(looked, lines):
                yield from parser.line(line)
            yield from parser.finish()
            yield InputSummary(
                path=source,
                kind=kind + text.kind_suffix,
                packets=parser.records,
                sha256=text.sha256(),
                errors=tuple(text.errors + parser.errors),
                skipped=parser.skipped,
            )
