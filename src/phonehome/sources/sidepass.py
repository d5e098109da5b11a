"""The side pass over a capture: what the flow meter does not expose.

Only frames on a few UDP ports and ARP are decoded; everything else is skipped after a look at a
handful of header bytes, which keeps the pass cheap on large captures. The ports: DNS, mDNS,
DHCP, SSDP, and the discovery protocols cameras and recorders answer on: Hikvision SADP (37020),
Dahua DHIP (37810) and ONVIF WS-Discovery (3702). Their payloads are untrusted: XML is parsed
with defusedxml (no DTDs, no entities), and discovery payloads over 8 KB are ignored.

Cleartext HTTP requests are rebuilt from the client-to-server half of TCP connections to ports
80, 8080, 8000 and 8888, and of any connection whose data starts with a request line
(``GET /``, ``POST http://...``): only segments that carry data pass the pre-filter, and only
those on these ports or starting with a method name reach the reassembler (``HttpRequests``).
"""

from __future__ import annotations

import ipaddress
import json
import re
import struct
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import dpkt
from defusedxml import ElementTree as SafeET

from phonehome.sources.bodies import ChunkedDecoder, decode_content, header, header_text, host_name
from phonehome.sources.interface import MAX_BODY_BYTES, DnsAnswer, HostSignal, HttpRequest, Observation
from phonehome.sources.pcapfile import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)

DNS_PORT, MDNS_PORT, SSDP_PORT = 53, 5353, 1900
DHCP_PORTS = (67, 68)
SADP_PORT = 37020  # Hikvision Search Active Devices Protocol (XML over UDP)
DHIP_PORT = 37810  # Dahua discovery: a 32-byte "DHIP" header, then JSON
WSD_PORT = 3702  # WS-Discovery (ONVIF)
WATCHED_UDP_PORTS = frozenset({DNS_PORT, MDNS_PORT, SSDP_PORT, *DHCP_PORTS, SADP_PORT, DHIP_PORT, WSD_PORT})
_ETH_IPV4, _ETH_IPV6, _ETH_ARP, _ETH_VLAN, _ETH_QINQ = 0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8
_SSDP_FIELDS = {
    b"server": "ssdp_server",
    b"user-agent": "user_agent",
    b"x-user-agent": "user_agent",
    b"location": "ssdp_location",
    b"nt": "ssdp_type",
    b"st": "ssdp_type",
    b"usn": "ssdp_usn",
}
_MAX_TEXT = 300
_MAX_DISCOVERY_PAYLOAD = 8192
"""Discovery replies are a few hundred bytes to a few KB; anything larger is not parsed."""
_MAX_TXT_STRINGS, _MAX_TXT_CHARS = 16, 200
_DHCP_CLIENT_REQUESTS = (b"\x01", b"\x03")  # DHCPDISCOVER, DHCPREQUEST (option 53)
_SADP_FIELDS = ("DeviceType", "DeviceDescription", "SoftwareVersion")
_DHIP_FIELDS = ("Vendor", "DeviceType", "Version")
_DHIP_HEADER = 32
_WSD_RESPONSES = frozenset({"ProbeMatches", "ResolveMatches", "Hello"})
"""Messages a WS-Discovery target service sends about itself (a Probe describes the searcher)."""
_ONVIF_SCOPE = "onvif://www.onvif.org/"
_ONVIF_SCOPE_KINDS = {"name": "onvif_manufacturer", "hardware": "onvif_model"}
HTTP_PORTS = frozenset({80, 8080, 8000, 8888})
"""TCP ports whose client data is always looked at for HTTP requests."""
_HTTP_METHODS = (b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"OPTIONS", b"PATCH", b"TRACE")
_METHOD_PREFIXES = frozenset((m + b" ")[:4] for m in _HTTP_METHODS)
"""First four bytes of a request line: how segments on other ports get past the pre-filter."""
_REQUEST_LINE = re.compile(rb"(?:GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH|TRACE) (?:/|http://|\*)")


def _mac(raw: bytes) -> str | None:
    if len(raw) != 6 or raw == b"\x00" * 6:
        return None
    return ":".join(f"{b:02x}" for b in raw)


def split_frame(linktype: int, frame: bytes) -> tuple[str | None, str | None, int, bytes]:
    """``(src_mac, dst_mac, ethertype, l3_payload)``; ethertype 0 when not understood."""
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            return None, None, 0, b""
        ethertype = (frame[12] << 8) | frame[13]
        offset = 14
        while ethertype in (_ETH_VLAN, _ETH_QINQ) and len(frame) >= offset + 4:
            ethertype = (frame[offset + 2] << 8) | frame[offset + 3]
            offset += 4
        return _mac(frame[6:12]), _mac(frame[0:6]), ethertype, frame[offset:]
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        if not frame:
            return None, None, 0, b""
        version = frame[0] >> 4
        return None, None, _ETH_IPV4 if version == 4 else _ETH_IPV6 if version == 6 else 0, frame
    if linktype == LINKTYPE_LINUX_SLL:
        if len(frame) < 16:
            return None, None, 0, b""
        addr_len = (frame[4] << 8) | frame[5]
        src = _mac(frame[6:12]) if addr_len == 6 else None
        return src, None, (frame[14] << 8) | frame[15], frame[16:]
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(frame) < 20:
            return None, None, 0, b""
        src = _mac(frame[12:18]) if frame[11] == 6 else None
        return src, None, (frame[0] << 8) | frame[1], frame[20:]
    if linktype == LINKTYPE_NULL:
        if len(frame) < 5:
            return None, None, 0, b""
        version = frame[4] >> 4
        return (
            None,
            None,
            _ETH_IPV4 if version == 4 else _ETH_IPV6 if version == 6 else 0,
            frame[4:],
        )
    return None, None, 0, b""


def _maybe_interesting(frame: bytes, odd_streams: set[bytes]) -> bool:
    """Cheap pre-filter on an Ethernet frame (VLAN-tagged frames always pass).

    Passes ARP, UDP with a watched port, and TCP segments carrying data that go to an HTTP port,
    start with an HTTP method name, or continue a request on another port (``odd_streams``).
    """
    if len(frame) < 42:
        return len(frame) >= 14 and frame[12:14] == b"\x08\x06"
    kind = frame[12:14]
    if kind == b"\x08\x00":
        protocol = frame[23]
        at = 14 + (frame[14] & 0x0F) * 4
        if protocol == 6:
            if len(frame) < at + 20:
                return False
            data = at + (frame[at + 12] >> 4) * 4
            if frame[data : data + 4] in _METHOD_PREFIXES:
                return True
            if ((frame[at + 2] << 8) | frame[at + 3]) in HTTP_PORTS:
                # data, not a bare ACK/FIN (total length 0: segmentation offload on the capturer)
                return 14 + (((frame[16] << 8) | frame[17]) or len(frame)) > data
            return bool(odd_streams) and frame[26:34] + frame[at : at + 4] in odd_streams
        if protocol != 17:
            return False
    elif kind == b"\x86\xdd":
        if len(frame) < 58:
            return False
        at = 54
        if frame[20] == 6:
            if len(frame) < 74:
                return False
            header = (frame[66] >> 4) * 4
            if frame[at + header : at + header + 4] in _METHOD_PREFIXES:
                return True
            if ((frame[56] << 8) | frame[57]) in HTTP_PORTS:
                return (((frame[18] << 8) | frame[19]) or len(frame) - 54) > header
            return bool(odd_streams) and frame[22:58] in odd_streams
        if frame[20] != 17:
            return False
    else:
        return kind in (b"\x08\x06", b"\x81\x00", b"\x88\xa8")
    sport = (frame[at] << 8) | frame[at + 1]
    dport = (frame[at + 2] << 8) | frame[at + 3]
    return sport in WATCHED_UDP_PORTS or dport in WATCHED_UDP_PORTS


def _udp(ethertype: int, l3: bytes) -> tuple[str, str, int, int, bytes] | None:
    """``(src_ip, dst_ip, sport, dport, payload)`` for UDP on a watched port, else None."""
    if ethertype == _ETH_IPV4:
        if len(l3) < 28 or l3[9] != 17:
            return None
        if (l3[6] & 0x1F) or l3[7]:  # a non-first fragment carries no UDP header
            return None
        ihl = (l3[0] & 0x0F) * 4
        sport, dport = struct.unpack_from("!HH", l3, ihl)
        if sport not in WATCHED_UDP_PORTS and dport not in WATCHED_UDP_PORTS:
            return None
        return (
            str(ipaddress.IPv4Address(l3[12:16])),
            str(ipaddress.IPv4Address(l3[16:20])),
            sport,
            dport,
            l3[ihl + 8 :],
        )
    if ethertype == _ETH_IPV6:
        if len(l3) < 48 or l3[6] != 17:
            return None
        sport, dport = struct.unpack_from("!HH", l3, 40)
        if sport not in WATCHED_UDP_PORTS and dport not in WATCHED_UDP_PORTS:
            return None
        return (
            str(ipaddress.IPv6Address(l3[8:24])),
            str(ipaddress.IPv6Address(l3[24:40])),
            sport,
            dport,
            l3[48:],
        )
    return None


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return "".join(ch if ch.isprintable() else "?" for ch in text.strip())[:_MAX_TEXT]


def _xml(payload: bytes) -> Any:
    """The root element of an untrusted XML payload (raises on anything malformed or with a DTD)."""
    return SafeET.fromstring(payload.rstrip(b"\x00\r\n\t "), forbid_dtd=True)


def _local(tag: object) -> str:
    """Element name without its namespace."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _json_text(value: object) -> str:
    """A JSON scalar as text; objects, lists and null give an empty string."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return ""
    return _text(str(value))


_SEQ_MASK = 0xFFFFFFFF
_MAX_HEAD_BYTES = 64 << 10
"""A request's line and headers must fit here; a longer head is dropped and the stream resynced."""
MAX_HTTP_STREAMS = 4096
"""Open client-to-server streams followed at once; the least recently active is dropped first."""
MAX_HELD_BYTES = 64 << 20
"""Bytes of unfinished requests held across all streams; over it the oldest streams are flushed."""
MAX_KEPT_BODY_BYTES = 256 << 20
"""Body bytes kept over a whole capture; later requests are reported without their body."""
_HEAD, _BODY, _CHUNKED, _SYNC = range(4)


def _tcp(ethertype: int, l3: bytes, odd_streams: set[bytes]) -> tuple[bytes, int, int, bytes, int] | None:
    """``(stream key, dport, seq, payload, missing)`` for a TCP segment that may carry a request.

    That is data to an HTTP port, data starting with a method name, or data on a stream in
    ``odd_streams``. The key is the source and destination addresses and ports as on the wire
    (the bytes the pre-filter looks up). ``missing`` counts payload bytes the capture did not
    keep (snap length). IP fragments and IPv6 extension headers are not followed.
    """
    if ethertype == _ETH_IPV4:
        if len(l3) < 40 or l3[9] != 6 or (l3[6] & 0x3F) or l3[7]:
            return None
        tcp = (l3[0] & 0x0F) * 4
        total = ((l3[2] << 8) | l3[3]) or len(l3)  # 0: segmentation offload on the capturing host
        key = l3[12:20] + l3[tcp : tcp + 4]
    elif ethertype == _ETH_IPV6:
        if len(l3) < 60 or l3[6] != 6:
            return None
        tcp = 40
        total = (40 + ((l3[4] << 8) | l3[5])) if l3[4] or l3[5] else len(l3)
        key = l3[8:44]
    else:
        return None
    if len(l3) < tcp + 20:
        return None
    start = tcp + (l3[tcp + 12] >> 4) * 4
    if total <= start:
        return None
    dport = (l3[tcp + 2] << 8) | l3[tcp + 3]
    if dport not in HTTP_PORTS and l3[start : start + 4] not in _METHOD_PREFIXES and key not in odd_streams:
        return None
    seq = int.from_bytes(l3[tcp + 4 : tcp + 8], "big")
    end = min(total, len(l3))
    return key, dport, seq, l3[start:end], total - max(end, start)


def _ip_text(raw: bytes) -> str:
    return str(ipaddress.IPv4Address(raw) if len(raw) == 4 else ipaddress.IPv6Address(raw))


class _HttpStream:
    """Reassembly state of one client-to-server TCP stream."""

    __slots__ = (
        "body",
        "chunked",
        "client_ip",
        "client_mac",
        "cut",
        "dport",
        "head",
        "key",
        "next_seq",
        "pending",
        "remaining",
        "server_ip",
        "started",
        "state",
    )

    def __init__(self, key: bytes, client_mac: str | None, dport: int, seq: int) -> None:
        size = 4 if len(key) == 12 else 16
        self.key = key
        self.client_mac = client_mac
        self.client_ip = _ip_text(key[:size])
        self.server_ip = _ip_text(key[size : 2 * size])
        self.dport = dport
        self.next_seq = seq
        self.state = _HEAD
        self.pending = bytearray()
        """Head bytes not yet ending in a blank line."""
        self.head: tuple[str, str, tuple[tuple[str, str], ...]] | None = None
        self.started = 0.0
        self.body = bytearray()
        self.cut = False
        self.remaining = 0
        self.chunked: ChunkedDecoder | None = None

    def held(self) -> int:
        return len(self.pending) + len(self.body) + (len(self.chunked.body) if self.chunked else 0)


def _parse_head(block: bytes) -> tuple[str, str, tuple[tuple[str, str], ...]] | None:
    """``(method, target, headers)`` from a request head without its blank line."""
    lines = block.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) < 2 or not _REQUEST_LINE.match(lines[0]):
        return None
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding
            previous, folded = headers[-1]
            headers[-1] = (previous, f"{folded} {header_text(line.strip())}")
            continue
        name, sep, value = line.partition(b":")
        if sep and name and not name.endswith((b" ", b"\t")):
            headers.append((header_text(name), header_text(value.strip())))
    return parts[0].decode("ascii"), header_text(parts[1]), tuple(headers)


class HttpRequests:
    """Rebuilds HTTP requests from the client-to-server segments of TCP streams.

    Handled: requests split over any number of segments, several requests per connection
    (keep-alive and pipelining), ``Content-Length`` and chunked bodies, retransmitted and
    overlapping segments (dropped by sequence number), lost segments inside a body of known
    length (the body is marked ``truncated`` and the next request still found), and segments cut
    by the capture's snap length. Not handled: segments that arrive out of order (the later one
    wins and the earlier is dropped as a retransmission), heads lost in a gap (the stream waits
    for a segment that starts with a request line), IP fragments, IPv6 extension headers, and
    HTTP/2 (cleartext ``h2c``), which is binary. State is bounded: ``MAX_HTTP_STREAMS`` streams,
    ``MAX_HELD_BYTES`` held in all, 64 KB of head and ``MAX_BODY_BYTES`` of body per request.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._streams: OrderedDict[bytes, _HttpStream] = OrderedDict()
        self.odd_streams: set[bytes] = set()
        """Keys of streams on ports outside ``HTTP_PORTS``, for the pre-filter."""
        self._held = 0
        self._kept = 0

    def segment(
        self,
        ts: float,
        client_mac: str | None,
        key: bytes,
        dport: int,
        seq: int,
        payload: bytes,
        missing: int,
    ) -> Iterator[HttpRequest]:
        """Requests completed by one segment."""
        stream = self._streams.get(key)
        if stream is None:
            if not _REQUEST_LINE.match(payload):
                return
            stream = self._open(key, client_mac, dport, seq)
            yield from self._evict()
        else:
            self._streams.move_to_end(key)
        before = stream.held()
        ahead = (seq - stream.next_seq) & _SEQ_MASK
        if ahead >= 0x80000000:  # starts before the expected byte: a retransmission or overlap
            overlap = (stream.next_seq - seq) & _SEQ_MASK
            if overlap >= len(payload):
                return
            payload = payload[overlap:]
            seq = stream.next_seq
        elif ahead:
            yield from self._gap(stream, ahead, ts)
        stream.next_seq = (seq + len(payload) + missing) & _SEQ_MASK
        yield from self._feed(stream, payload, ts)
        if missing:
            yield from self._gap(stream, missing, ts)
        self._held += stream.held() - before
        if self._held > MAX_HELD_BYTES:
            yield from self._evict()

    def finish(self) -> Iterator[HttpRequest]:
        """Requests still open at the end of the capture, with what arrived of their bodies."""
        for stream in self._streams.values():
            yield from self._flush(stream)
        self._streams.clear()
        self.odd_streams.clear()
        self._held = 0

    def _open(self, key: bytes, client_mac: str | None, dport: int, seq: int) -> _HttpStream:
        stream = _HttpStream(key, client_mac, dport, seq)
        self._streams[key] = stream
        if dport not in HTTP_PORTS:
            self.odd_streams.add(key)
        return stream

    def _evict(self) -> Iterator[HttpRequest]:
        while self._streams and (len(self._streams) > MAX_HTTP_STREAMS or self._held > MAX_HELD_BYTES):
            _, stream = self._streams.popitem(last=False)
            self._held -= stream.held()
            self.odd_streams.discard(stream.key)
            yield from self._flush(stream)

    def _flush(self, stream: _HttpStream) -> Iterator[HttpRequest]:
        if stream.state in (_BODY, _CHUNKED):
            stream.cut = True
            yield self._emit(stream)

    def _gap(self, stream: _HttpStream, missing: int, ts: float) -> Iterator[HttpRequest]:
        """``missing`` bytes of the stream were not seen."""
        if stream.state == _BODY and missing < stream.remaining:
            stream.remaining -= missing
            stream.cut = True
            return
        if stream.state == _BODY and missing == stream.remaining:
            stream.cut = True
            yield self._emit(stream)
            return
        yield from self._flush(stream)
        stream.pending.clear()
        stream.state = _SYNC

    def _feed(self, stream: _HttpStream, payload: bytes, ts: float) -> Iterator[HttpRequest]:
        pos = 0
        size = len(payload)
        if stream.state == _SYNC:
            if not _REQUEST_LINE.match(payload):
                return
            stream.state = _HEAD
        while pos < size:
            if stream.state == _HEAD:
                if not stream.pending:
                    stream.started = ts
                before = len(stream.pending)
                stream.pending += payload[pos:]
                end = stream.pending.find(b"\r\n\r\n", max(0, before - 3))
                if end < 0:
                    if len(stream.pending) > _MAX_HEAD_BYTES or (
                        len(stream.pending) >= 8 and not _REQUEST_LINE.match(stream.pending)
                    ):
                        stream.pending.clear()
                        stream.state = _SYNC
                    return
                pos += end + 4 - before
                block = bytes(stream.pending[:end])
                stream.pending.clear()
                yield from self._start(stream, block)
                if stream.state == _SYNC:
                    return
            elif stream.state == _BODY:
                n = min(stream.remaining, size - pos)
                room = MAX_BODY_BYTES - len(stream.body)
                if n > room:
                    stream.cut = True
                stream.body += payload[pos : pos + min(n, max(room, 0))]
                pos += n
                stream.remaining -= n
                if not stream.remaining:
                    yield self._emit(stream)
            elif stream.state == _CHUNKED:
                chunked = stream.chunked
                assert chunked is not None
                pos += chunked.feed(memoryview(payload)[pos:])
                if chunked.error:
                    yield self._emit(stream, f"malformed chunked body ({chunked.error})")
                    stream.state = _SYNC
                    return
                if chunked.done:
                    yield self._emit(stream)
            else:
                return

    def _start(self, stream: _HttpStream, block: bytes) -> Iterator[HttpRequest]:
        """A complete head has arrived: decide how the body is framed."""
        head = _parse_head(block)
        if head is None:
            stream.state = _SYNC
            return
        stream.head = head
        stream.body = bytearray()
        stream.cut = False
        headers = head[2]
        encoding = header(headers, "transfer-encoding")
        lengths = {value.strip() for name, value in headers if name.lower() == "content-length"}
        if encoding is not None:
            if encoding.rsplit(",", 1)[-1].strip().lower() != "chunked":
                yield self._emit(stream, f"unsupported Transfer-Encoding {encoding[:40]}")
                stream.state = _SYNC
                return
            stream.chunked = ChunkedDecoder()
            stream.state = _CHUNKED
        elif lengths:
            value = lengths.pop()
            if lengths or not value.isdigit() or len(value) > 15:
                yield self._emit(stream, "invalid Content-Length")
                stream.state = _SYNC
                return
            stream.remaining = int(value)
            stream.state = _BODY
            if not stream.remaining:
                yield self._emit(stream)
        else:
            yield self._emit(stream)

    def _emit(self, stream: _HttpStream, problem: str = "") -> HttpRequest:
        """The request now complete (or given up on); the stream waits for the next one."""
        assert stream.head is not None
        method, target, headers = stream.head
        raw = bytes(stream.chunked.body) if stream.chunked else bytes(stream.body)
        cut = stream.cut or bool(stream.chunked and stream.chunked.truncated)
        body, note = decode_content(raw, header(headers, "content-encoding"), truncated=cut)
        if problem:
            note = problem
        if body and self._kept + len(body) > MAX_KEPT_BODY_BYTES:
            body, note = b"", "not kept: the capture's body budget is spent"
        self._kept += len(body)
        authority = header(headers, "host") or ""
        if target.startswith("http://"):
            url = target
            authority = authority or target[7:].partition("/")[0]
        else:
            server = f"[{stream.server_ip}]" if ":" in stream.server_ip else stream.server_ip
            shown = authority or (server if stream.dport == 80 else f"{server}:{stream.dport}")
            url = f"http://{shown}{target}"
        request = HttpRequest(
            client_mac=stream.client_mac,
            client_ip=stream.client_ip,
            server_ip=stream.server_ip,
            server_port=stream.dport,
            time=stream.started,
            method=method,
            host=host_name(authority) or stream.server_ip,
            url=url,
            headers=headers,
            body=body,
            source=self.source,
            transport="http",
            body_note=note,
        )
        stream.state = _HEAD
        stream.head = None
        stream.body = bytearray()
        stream.chunked = None
        stream.cut = False
        stream.remaining = 0
        return request


class SidePass:
    """Decodes the frames of one capture into DNS answers, host signals and HTTP requests.

    Call ``finish()`` after the last frame: it gives the requests still open then.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._seen_signals: set[tuple[str | None, str | None, str, str]] = set()
        self._seen_answers: set[tuple[str, str, str]] = set()
        self._http = HttpRequests(source)

    def frame(self, linktype: int, ts: float, frame: bytes) -> Iterator[Observation]:
        """Observations in one frame (usually none)."""
        if linktype == LINKTYPE_ETHERNET and not _maybe_interesting(frame, self._http.odd_streams):
            return  # the common case, decided without slicing or formatting anything
        src_mac, dst_mac, ethertype, l3 = split_frame(linktype, frame)
        if ethertype == _ETH_ARP:
            yield from self._arp(l3)
            return
        udp = _udp(ethertype, l3)
        if udp is None:
            segment = _tcp(ethertype, l3, self._http.odd_streams)
            if segment is not None:
                key, dport, seq, payload, missing = segment
                yield from self._http.segment(ts, src_mac, key, dport, seq, payload, missing)
            return
        src_ip, dst_ip, sport, dport, payload = udp
        try:
            if sport == DNS_PORT:
                yield from self._dns(dst_ip, payload, ts, multicast=False)
            elif MDNS_PORT in (sport, dport):
                yield from self._mdns(src_mac, src_ip, payload, ts)
            elif sport in DHCP_PORTS and dport in DHCP_PORTS:
                yield from self._dhcp(src_mac, src_ip, payload)
            elif dport == SSDP_PORT or sport == SSDP_PORT:
                yield from self._ssdp(src_mac, src_ip, payload)
            elif SADP_PORT in (sport, dport):
                yield from self._sadp(src_mac, src_ip, payload)
            elif DHIP_PORT in (sport, dport):
                yield from self._dhip(src_mac, src_ip, payload)
            elif WSD_PORT in (sport, dport):
                yield from self._wsd(src_mac, src_ip, payload)
        except (dpkt.UnpackError, struct.error, IndexError, ValueError, SafeET.ParseError, RecursionError):
            # Malformed payload (ValueError covers bad JSON, bad UTF-8 and defusedxml's refusals).
            return

    def finish(self) -> Iterator[Observation]:
        """Observations held back until the end of the capture (requests still open)."""
        yield from self._http.finish()

    def _signal(self, mac: str | None, ip: str | None, kind: str, value: str) -> Iterator[HostSignal]:
        if not value:
            return
        key = (mac, ip, kind, value)
        if key in self._seen_signals:
            return
        self._seen_signals.add(key)
        yield HostSignal(mac=mac, ip=ip, kind=kind, value=value, source=self.source)

    def _answer(self, client: str, name: str, address: str, ts: float) -> Iterator[DnsAnswer]:
        key = (client, name, address)
        if key in self._seen_answers:
            return
        self._seen_answers.add(key)
        yield DnsAnswer(client_ip=client, name=name, address=address, time=ts, source=self.source)

    def _arp(self, l3: bytes) -> Iterator[HostSignal]:
        if len(l3) < 28 or l3[0:2] != b"\x00\x01" or l3[2:4] != b"\x08\x00":
            return
        mac = _mac(l3[8:14])
        ip = str(ipaddress.IPv4Address(l3[14:18]))
        if mac and ip != "0.0.0.0":
            yield from self._signal(mac, ip, "arp", f"{ip} is-at {mac}")

    def _dns(self, client: str, payload: bytes, ts: float, multicast: bool) -> Iterator[Observation]:
        msg = dpkt.dns.DNS(payload)
        if msg.qr != dpkt.dns.DNS_R:
            return
        client_ip = "" if multicast else client
        # Follow CNAME chains so the answer is attributed to the name the client asked for.
        cname_of: dict[str, str] = {}
        for rr in msg.an:
            if rr.type == dpkt.dns.DNS_CNAME:
                cname_of[rr.cname.lower()] = rr.name.lower()
        for rr in msg.an:
            if rr.type == dpkt.dns.DNS_A and len(rr.ip) == 4:
                address = str(ipaddress.IPv4Address(rr.ip))
            elif rr.type == dpkt.dns.DNS_AAAA and len(rr.ip6) == 16:
                address = str(ipaddress.IPv6Address(rr.ip6))
            else:
                continue
            name = rr.name.lower()
            hops = 0
            while name in cname_of and hops < 8:
                name = cname_of[name]
                hops += 1
            yield from self._answer(client_ip, name, address, ts)

    def _mdns(self, mac: str | None, ip: str, payload: bytes, ts: float) -> Iterator[Observation]:
        msg = dpkt.dns.DNS(payload)
        if msg.qr != dpkt.dns.DNS_R:
            return
        for rr in [*msg.an, *msg.ar]:
            name = rr.name
            if rr.type in (dpkt.dns.DNS_A, dpkt.dns.DNS_AAAA):
                yield from self._signal(mac, ip, "mdns_name", _text(name))
            elif rr.type == dpkt.dns.DNS_PTR:
                service = name if name.startswith("_") else ""
                if service and not service.startswith("_services._dns-sd"):
                    yield from self._signal(mac, ip, "mdns_service", _text(service))
                if rr.ptrname and not rr.ptrname.startswith("_"):
                    yield from self._signal(mac, ip, "mdns_instance", _text(rr.ptrname))
            elif rr.type == dpkt.dns.DNS_TXT:
                # RFC 6763 6.4: a string starting with "=" has no key and is ignored.
                strings = (_text(entry)[:_MAX_TXT_CHARS] for entry in rr.text)
                kept = [text for text in strings if text and not text.startswith("=")]
                for text in kept[:_MAX_TXT_STRINGS]:
                    yield from self._signal(mac, ip, "mdns_txt", text)
            elif rr.type == dpkt.dns.DNS_SRV:
                yield from self._signal(mac, ip, "mdns_name", _text(rr.srvname))

    def _dhcp(self, frame_mac: str | None, ip: str, payload: bytes) -> Iterator[HostSignal]:
        msg = dpkt.dhcp.DHCP(payload)
        options = dict(msg.opts)
        if msg.op != dpkt.dhcp.DHCP_OP_REQUEST:
            # Server replies: the server is a host too; note the leased address for the client.
            client = _mac(msg.chaddr[:6]) if msg.hln == 6 else None
            if client and msg.yiaddr:
                leased = str(ipaddress.IPv4Address(msg.yiaddr))
                yield from self._signal(client, leased, "dhcp_lease", leased)
            if frame_mac:
                yield from self._signal(frame_mac, ip, "dhcp_server", ip)
            return
        client = _mac(msg.chaddr[:6]) if msg.hln == 6 else frame_mac
        client_ip = ip if ip != "0.0.0.0" else None
        if 60 in options:
            yield from self._signal(client, client_ip, "dhcp_vendor_class", _text(options[60]))
        if 12 in options:
            yield from self._signal(client, client_ip, "dhcp_hostname", _text(options[12]))
        if 55 in options and options.get(53, b"")[:1] in _DHCP_CLIENT_REQUESTS:
            prl = ",".join(str(code) for code in options[55])
            yield from self._signal(client, client_ip, "dhcp_prl", prl)
        if 81 in options and len(options[81]) > 3:
            yield from self._signal(client, client_ip, "dhcp_fqdn", _text(options[81][3:]))

    def _ssdp(self, mac: str | None, ip: str, payload: bytes) -> Iterator[HostSignal]:
        head, _, _ = payload.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        if not lines or lines[0].startswith(b"M-SEARCH"):
            # A search request describes the searcher only through its user agent.
            wanted = {b"user-agent", b"x-user-agent"}
        else:
            wanted = set(_SSDP_FIELDS)
        for line in lines[1:]:
            key, sep, value = line.partition(b":")
            key = key.strip().lower()
            if sep and key in wanted:
                yield from self._signal(mac, ip, _SSDP_FIELDS[key], _text(value))

    def _sadp(self, mac: str | None, ip: str, payload: bytes) -> Iterator[HostSignal]:
        """Hikvision SADP: a device answers a ``<Probe>`` with ``<ProbeMatch>`` describing itself."""
        if len(payload) > _MAX_DISCOVERY_PAYLOAD or b"<ProbeMatch" not in payload:
            return
        root = _xml(payload)
        if _local(root.tag) != "ProbeMatch":
            return
        fields: dict[str, str] = {}
        for child in root:
            name = _local(child.tag)
            if name not in fields and child.text:
                fields[name] = _text(child.text)
        value = ";".join(f"{name}={fields[name]}" for name in _SADP_FIELDS if fields.get(name))
        yield from self._signal(mac, ip, "sadp", value)
        yield from self._signal(mac, ip, "device_serial", fields.get("DeviceSN", ""))

    def _dhip(self, mac: str | None, ip: str, payload: bytes) -> Iterator[HostSignal]:
        """Dahua discovery: ``client.notifyDevInfo`` JSON after a 32-byte DHIP header."""
        if (
            len(payload) <= _DHIP_HEADER
            or len(payload) > _MAX_DISCOVERY_PAYLOAD
            or payload[4:8] != b"DHIP"
            or struct.unpack_from("<I", payload, 0)[0] != _DHIP_HEADER
        ):
            return
        length = struct.unpack_from("<I", payload, 16)[0]
        end = _DHIP_HEADER + length if 0 < length <= len(payload) - _DHIP_HEADER else len(payload)
        body = payload[_DHIP_HEADER:end].rstrip(b"\x00\r\n\t ")
        message = json.loads(body.decode("utf-8", "replace"))
        params = message.get("params") if isinstance(message, dict) else None
        info = params.get("deviceInfo") if isinstance(params, dict) else None
        if not isinstance(info, dict):
            return  # a search request, or some other method
        fields = {name: _json_text(info.get(name)) for name in (*_DHIP_FIELDS, "SerialNo")}
        value = ";".join(f"{name}={fields[name]}" for name in _DHIP_FIELDS if fields[name])
        yield from self._signal(mac, ip, "dahua_discovery", value)
        yield from self._signal(mac, ip, "device_serial", fields["SerialNo"])

    def _wsd(self, mac: str | None, ip: str, payload: bytes) -> Iterator[HostSignal]:
        """WS-Discovery: ONVIF ``name/`` and ``hardware/`` scopes a target service announces."""
        if len(payload) > _MAX_DISCOVERY_PAYLOAD or b"Scopes" not in payload:
            return
        root = _xml(payload)
        if _local(root.tag) != "Envelope":
            return
        for part in root:
            if _local(part.tag) != "Body":
                continue
            for message in part:
                if _local(message.tag) not in _WSD_RESPONSES:
                    continue
                for element in message.iter():
                    if _local(element.tag) == "Scopes" and element.text:
                        yield from self._onvif_scopes(mac, ip, element.text)

    def _onvif_scopes(self, mac: str | None, ip: str, scopes: str) -> Iterator[HostSignal]:
        for uri in scopes.split():
            if uri[: len(_ONVIF_SCOPE)].lower() != _ONVIF_SCOPE:
                continue
            category, _, value = uri[len(_ONVIF_SCOPE) :].partition("/")
            kind = _ONVIF_SCOPE_KINDS.get(category.lower())
            if kind and value:
                yield from self._signal(mac, ip, kind, _text(unquote(value, errors="replace")))
