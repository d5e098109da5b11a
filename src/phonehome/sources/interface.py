"""Sources: read evidence files and emit observations for the identify and analyze stages.

A source never decides what a device *is*; it reports what the file says, with where it said it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from phonehome.errors import PhonehomeError
from phonehome.model import InputSummary


class SourceError(PhonehomeError):
    """An input file could not be read at all. The message starts with the path."""


ProgressCallback = Callable[[str, int, int], None]
"""``(phase, done, total)``; total is 0 when unknown."""


@dataclass(frozen=True, slots=True)
class FlowRecord:
    """One bidirectional flow, as the flow meter saw it."""

    src_mac: str | None
    src_ip: str
    dst_mac: str | None
    dst_ip: str
    protocol: int
    src_port: int
    dst_port: int
    src_bytes: int
    """Bytes from src to dst (the flow's initiator is src)."""
    dst_bytes: int
    first_seen: float
    last_seen: float
    server_name: str | None
    """TLS SNI, QUIC SNI or HTTP Host as the meter dissected it."""
    application: str | None
    """nDPI application name, e.g. ``TLS.Google``."""
    user_agent: str | None
    client_fingerprint: str | None
    """JA4 for TLS, DHCP option 55 fingerprint for DHCP."""
    source: str
    """Input file the flow was read from."""


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """A name resolved to an address, as seen in a DNS or mDNS response."""

    client_ip: str
    """Who asked (destination of the response); empty for multicast answers."""
    name: str
    address: str
    time: float
    source: str


@dataclass(frozen=True, slots=True)
class HostSignal:
    """An identity fact a host announced about itself (DHCP, mDNS, SSDP, ...)."""

    mac: str | None
    ip: str | None
    kind: str
    """Evidence kind: ``dhcp_vendor_class``, ``dhcp_hostname``, ``mdns_name``, ``ssdp_server``, ...

    The full vocabulary is ``phonehome.intel.schema.EvidenceKind`` plus a few kinds that carry
    no identity (``arp``, ``dhcp_lease``, ``dhcp_server``, ``open_port``, ``switch_port``,
    ``device_serial``, ``asset_serial``, ``asset_location``).
    """
    value: str
    source: str
    host: str | None = None
    """For a signal with neither MAC nor IP: the ``HostSighting.hostname`` of the same input that
    it belongs to (an asset-register row known only by name, a handset read through adb)."""


@dataclass(frozen=True, slots=True)
class HostSighting:
    """A host some record says exists, with the addresses it had then.

    ARP and neighbour tables, DHCP leases, nmap hosts, switch MAC tables and asset registers all
    say "this MAC had this IP" (or only one of the two, or only a name). The inventory merges
    sightings with flows: by MAC, then by IP within the sighting's time window, then by name.
    """

    mac: str | None
    """Lower-case colon-separated MAC, when the record has one."""
    ip: str | None
    kind: str
    """What recorded it: ``arp``, ``dhcp_lease``, ``nmap``, ``mac_table``, ``asset_register``, ``zeek``."""
    source: str
    first_seen: float | None = None
    """Unix seconds from which the record holds (lease start, scan start), if known."""
    last_seen: float | None = None
    """Unix seconds until which it holds (lease end, scan end), if known."""
    hostname: str | None = None
    """A name the record gives the host (lease client name, nmap PTR, register name)."""


@dataclass(frozen=True, slots=True)
class ServerName:
    """A name a client used for a server, learnt outside the flow meter (Zeek ssl/http logs)."""

    client_ip: str
    server_ip: str
    name: str
    kind: str
    """``tls_sni`` or ``http_host``."""
    time: float
    source: str


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One HTTP request whose content phonehome can read: cleartext in a capture, or decrypted
    by the user's proxy (mitmproxy flow files, HAR). Bodies are decoded (gzip, deflate, brotli)
    and cut at a bound; what could not be decoded is said in ``body_note``.
    """

    client_mac: str | None
    client_ip: str
    server_ip: str | None
    """None when the proxy record does not say which address it reached."""
    server_port: int
    time: float
    method: str
    host: str
    url: str
    """Full URL, ``scheme://host/path?query``."""
    headers: tuple[tuple[str, str], ...]
    """Request headers in order, names as sent."""
    body: bytes
    """Decoded request body, at most ``MAX_BODY_BYTES``."""
    source: str
    transport: str = "http"
    """``http`` (cleartext on the wire) or ``decrypted`` (from a proxy's records)."""
    body_note: str = ""
    """Why the body is partial or absent: ``truncated``, ``undecodable br``, ..."""


MAX_BODY_BYTES = 1 << 20
"""Request bodies are searched up to this size; the rest is counted, not read."""

Observation = FlowRecord | DnsAnswer | HostSignal | HostSighting | ServerName | HttpRequest
Item = Observation | InputSummary


class Source(Protocol):
    """A kind of evidence file."""

    name: str

    def sniff(self, path: Path, head: bytes) -> float:
        """How sure this source is that it can read ``path``: 0..1, negative for "not mine"."""
        ...

    def read(self, path: Path, progress: ProgressCallback | None = None) -> Iterator[Item]:
        """Stream the observations in ``path``, then exactly one ``InputSummary``.

        Raises ``SourceError`` before yielding anything when the file cannot be read at all;
        problems found later (a truncated tail) go into the summary's ``errors``.
        """
        ...
