"""Deterministic packet factories for tests and the synthetic demo capture.

Every factory returns a list of scapy packets whose ``time`` is set explicitly, so the same
arguments always give the same frames. Nothing here sends traffic: packets are only built and,
with :func:`write_capture`, written to a file.

Conventions:

* ``t`` is a Unix timestamp (seconds, float); times are rounded to whole microseconds.
* A :class:`Host` is a station on the captured LAN (MAC, IPv4, optional IPv6).
* Remote servers are given by IP only; frames to and from them carry ``gateway_mac`` (the next
  hop) as the LAN-side address, as a capture on the LAN would show. For a server on the LAN,
  pass that server's own MAC as ``gateway_mac``.
* When the server address is IPv6 the client's ``ipv6`` is used as the source.

scapy is a development dependency and is imported by this module only.
"""

from __future__ import annotations

import gzip as _gzip
import hashlib
import json
import struct
import uuid as _uuid
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRRSRV
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from scapy.utils import mac2str

__all__ = [
    "Host",
    "LINKTYPE_ETHERNET",
    "LINKTYPE_RAW",
    "LINKTYPE_LINUX_SLL",
    "LINKTYPE_LINUX_SLL2",
    "tls_client_hello",
    "dhcp_exchange",
    "dns_exchange",
    "tcp_session",
    "tls_session",
    "http_exchange",
    "http_request",
    "http_session",
    "udp_exchange",
    "mdns_announce",
    "ssdp_notify",
    "ssdp_msearch_response",
    "sadp_reply",
    "dahua_discovery_reply",
    "dhip_frame",
    "wsd_probe_match",
    "wsd_hello",
    "udp_datagram",
    "rtsp_session",
    "write_capture",
    "frame_bytes",
]

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
MDNS_MAC = "01:00:5e:00:00:fb"
MDNS_IP = "224.0.0.251"
SSDP_MAC = "01:00:5e:7f:ff:fa"
SSDP_IP = "239.255.255.250"  # also the group of Hikvision SADP and WS-Discovery
DHIP_MAC = "01:00:5e:7f:ff:fb"
DHIP_IP = "239.255.255.251"
WSD_NS = "http://schemas.xmlsoap.org/ws/2005/04/discovery"

_MSS = 1400
_DEFAULT_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0"
)


@dataclass(frozen=True)
class Host:
    """A station on the captured LAN."""

    mac: str
    ip: str
    ipv6: str | None = None


# ---------------------------------------------------------------------------------------------
# small deterministic helpers


def _seed(*parts: object) -> int:
    return zlib.crc32("|".join(str(p) for p in parts).encode())


def _bytes(n: int, *parts: object) -> bytes:
    """``n`` pseudo-random bytes that depend only on ``parts``."""
    out = bytearray()
    key = "|".join(str(p) for p in parts).encode()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(key + counter.to_bytes(4, "big")).digest()
        counter += 1
    return bytes(out[:n])


def _port(*parts: object) -> int:
    return 49152 + _seed("port", *parts) % 16000


def _stamp(pkt: Packet, t: float) -> Packet:
    pkt.time = round(t, 6)
    return pkt


def _is_v6(ip: str) -> bool:
    return ":" in ip


def _l3(src: str, dst: str, ttl: int = 64) -> Packet:
    if _is_v6(dst):
        return IPv6(src=src, dst=dst, hlim=ttl)
    return IP(src=src, dst=dst, ttl=ttl, flags="DF")


def _src_ip(client: Host, server_ip: str) -> str:
    if _is_v6(server_ip):
        if not client.ipv6:
            raise ValueError(f"{client.mac} has no IPv6 address to reach {server_ip}")
        return client.ipv6
    return client.ip


# ---------------------------------------------------------------------------------------------
# TCP


def tcp_session(
    client_mac: str,
    client_ip: str,
    server_mac: str,
    server_ip: str,
    sport: int,
    dport: int,
    t: float,
    exchanges: Sequence[tuple[float, int, bytes]],
    *,
    rtt: float = 0.03,
    server_ttl: int = 52,
    close: bool = True,
    segment_size: int = _MSS,
) -> list[Packet]:
    """A complete TCP connection: handshake, data, and (if ``close``) FIN from the client.

    ``exchanges`` is a list of ``(delay, direction, payload)``: ``delay`` seconds after the
    previous event, ``direction`` 0 for client to server and 1 for server to client. Payloads
    are cut into segments of at most ``segment_size`` bytes (1400 by default) and acknowledged
    by the receiver.
    """
    key = (client_ip, sport, server_ip, dport, t)
    seq = [_seed("isn-c", *key), _seed("isn-s", *key)]
    macs = [(client_mac, server_mac), (server_mac, client_mac)]
    ips = [(client_ip, server_ip), (server_ip, client_ip)]
    ports = [(sport, dport), (dport, sport)]
    ttls = [64, server_ttl]
    ip_id = [_seed("ipid-c", *key) & 0xFFFF, _seed("ipid-s", *key) & 0xFFFF]
    out: list[Packet] = []

    def emit(d: int, when: float, flags: str, payload: bytes = b"", options: list | None = None) -> None:
        l3 = _l3(ips[d][0], ips[d][1], ttls[d])
        if isinstance(l3, IP):
            l3.id = ip_id[d]
            ip_id[d] = (ip_id[d] + 1) & 0xFFFF
        tcp = TCP(
            sport=ports[d][0],
            dport=ports[d][1],
            seq=seq[d] & 0xFFFFFFFF,
            ack=(seq[1 - d] & 0xFFFFFFFF) if "A" in flags else 0,
            flags=flags,
            window=64240 if d == 0 else 65160,
            options=options or [],
        )
        pkt = Ether(src=macs[d][0], dst=macs[d][1]) / l3 / tcp
        if payload:
            pkt = pkt / Raw(load=payload)
        out.append(_stamp(pkt, when))

    mss = 1440 if _is_v6(server_ip) else 1460
    now = t
    emit(0, now, "S", options=[("MSS", mss), ("SAckOK", b""), ("WScale", 7)])
    seq[0] += 1
    now += rtt
    emit(1, now, "SA", options=[("MSS", mss), ("SAckOK", b""), ("WScale", 7)])
    seq[1] += 1
    now += 0.0004
    emit(0, now, "A")

    for delay, d, payload in exchanges:
        now += delay
        chunks = [payload[i : i + segment_size] for i in range(0, len(payload), segment_size)] or []
        for n, chunk in enumerate(chunks):
            emit(d, now, "PA", chunk)
            seq[d] += len(chunk)
            now += 0.0002
            if n % 2 == 1 and n != len(chunks) - 1:
                emit(1 - d, now + 0.0001, "A")
        now += rtt / 2
        emit(1 - d, now, "A")

    if close:
        now += 0.05
        emit(0, now, "FA")
        seq[0] += 1
        now += rtt
        emit(1, now, "FA")
        seq[1] += 1
        now += 0.0004
        emit(0, now, "A")
    return out


# ---------------------------------------------------------------------------------------------
# TLS


def _u8(b: bytes) -> bytes:
    return struct.pack("!B", len(b)) + b


def _u16(b: bytes) -> bytes:
    return struct.pack("!H", len(b)) + b


def _u24(b: bytes) -> bytes:
    return struct.pack("!I", len(b))[1:] + b


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!H", kind) + _u16(body)


def _record(content_type: int, body: bytes, version: int = 0x0303) -> bytes:
    return struct.pack("!BH", content_type, version) + _u16(body)


def tls_client_hello(
    sni: str | None,
    *,
    tls13: bool = True,
    alpn: Sequence[str] = ("h2", "http/1.1"),
    seed: object = "",
) -> bytes:
    """A TLS record holding a ClientHello with the given SNI (bytes on the wire).

    ``tls13`` adds supported_versions (TLS 1.3, 1.2) and an x25519 key share; otherwise the
    hello offers TLS 1.2 only. Random, session id and key share come from ``seed``.
    """
    ciphers = [0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014, 0x009C, 0x009D]
    ciphers += [0x002F, 0x0035]
    if tls13:
        ciphers = [0x1301, 0x1302, 0x1303, *ciphers]
    exts = b""
    if sni:
        name = sni.encode("idna")
        exts += _ext(0, _u16(b"\x00" + _u16(name)))
    exts += _ext(23, b"")
    exts += _ext(0xFF01, b"\x00")
    exts += _ext(10, _u16(struct.pack("!3H", 0x001D, 0x0017, 0x0018)))
    exts += _ext(11, _u8(b"\x00"))
    exts += _ext(35, b"")
    if alpn:
        exts += _ext(16, _u16(b"".join(_u8(p.encode()) for p in alpn)))
    exts += _ext(5, b"\x01\x00\x00\x00\x00")
    sig_algs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
    exts += _ext(13, _u16(struct.pack(f"!{len(sig_algs)}H", *sig_algs)))
    if tls13:
        exts += _ext(43, _u8(struct.pack("!2H", 0x0304, 0x0303)))
        exts += _ext(51, _u16(struct.pack("!H", 0x001D) + _u16(_bytes(32, "ks", sni, seed))))
        exts += _ext(45, _u8(b"\x01"))
    body = struct.pack("!H", 0x0303) + _bytes(32, "crandom", sni, seed)
    body += _u8(_bytes(32, "sid", sni, seed))
    body += _u16(struct.pack(f"!{len(ciphers)}H", *ciphers))
    body += _u8(b"\x00")
    body += _u16(exts)
    return _record(22, b"\x01" + _u24(body), version=0x0301)


def _server_hello(tls13: bool, seed: object) -> bytes:
    sid = _bytes(32, "sid", seed)
    body = struct.pack("!H", 0x0303) + _bytes(32, "srandom", seed) + _u8(sid)
    if tls13:
        body += struct.pack("!HB", 0x1301, 0)
        exts = _ext(43, struct.pack("!H", 0x0304))
        exts += _ext(51, struct.pack("!H", 0x001D) + _u16(_bytes(32, "sks", seed)))
    else:
        body += struct.pack("!HB", 0xC02F, 0)
        exts = _ext(0xFF01, b"\x00") + _ext(11, _u8(b"\x00")) + _ext(23, b"")
    body += _u16(exts)
    return _record(22, b"\x02" + _u24(body))


def _app_records(total: int, *seed: object) -> bytes:
    """Application-data records whose total size (headers included) is ``total`` bytes."""
    out = b""
    n = 0
    while total - len(out) > 0:
        body_len = max(1, min(total - len(out) - 5, 16384 + 256))
        out += _record(23, _bytes(body_len, "app", n, *seed))
        n += 1
    return out


def tls_session(
    client: Host,
    server_ip: str,
    t: float,
    sni: str | None,
    gateway_mac: str,
    *,
    sport: int | None = None,
    dport: int = 443,
    up_bytes: int = 1200,
    down_bytes: int = 6000,
    tls13: bool = True,
    alpn: Sequence[str] = ("h2", "http/1.1"),
    rounds: int = 1,
    duration: float = 0.5,
    rtt: float = 0.03,
) -> list[Packet]:
    """TCP handshake, a ClientHello carrying ``sni``, the server's reply, application data, FIN.

    ``up_bytes``/``down_bytes`` are the application-data bytes (TLS record headers included)
    sent by the client and by the server, split over ``rounds`` request/response rounds spread
    evenly over ``duration`` seconds.
    """
    src = _src_ip(client, server_ip)
    sport = sport if sport is not None else _port(src, server_ip, dport, t)
    seed = (src, sport, server_ip, dport, t)
    hello = tls_client_hello(sni, tls13=tls13, alpn=alpn, seed=seed)
    shello = _server_hello(tls13, seed)
    if tls13:
        server_flight = shello + _record(20, b"\x01") + _app_records(2800, "sflight", *seed)
        client_flight = _record(20, b"\x01") + _app_records(74, "cfin", *seed)
        server_finish = b""
    else:
        server_flight = shello + _record(22, b"\x0e\x00\x00\x00")
        client_flight = (
            _record(22, b"\x10" + _u24(_u8(_bytes(32, "cke", *seed))))
            + _record(20, b"\x01")
            + _record(22, _bytes(40, "cfin", *seed))
        )
        server_finish = _record(20, b"\x01") + _record(22, _bytes(40, "sfin", *seed))
    ex: list[tuple[float, int, bytes]] = [
        (0.0005, 0, hello),
        (rtt / 2, 1, server_flight),
        (rtt / 2, 0, client_flight),
    ]
    if server_finish:
        ex.append((rtt / 2, 1, server_finish))
    rounds = max(1, rounds)
    gap = duration / rounds
    for r in range(rounds):
        up = up_bytes // rounds + (up_bytes % rounds if r == rounds - 1 else 0)
        down = down_bytes // rounds + (down_bytes % rounds if r == rounds - 1 else 0)
        if up:
            ex.append((0.001 if r == 0 else gap, 0, _app_records(up, "up", r, *seed)))
        if down:
            ex.append((rtt / 2, 1, _app_records(down, "down", r, *seed)))
    return tcp_session(client.mac, src, gateway_mac, server_ip, sport, dport, t, ex, rtt=rtt)


# ---------------------------------------------------------------------------------------------
# HTTP and RTSP


def http_exchange(
    client: Host,
    server_ip: str,
    t: float,
    host: str,
    path: str,
    *,
    method: str = "GET",
    user_agent: str | None = _DEFAULT_UA,
    body: bytes = b"",
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    response_body: bytes = b"<html><body>OK</body></html>",
    response_type: str = "text/html; charset=utf-8",
    status: str = "200 OK",
    gateway_mac: str,
    sport: int | None = None,
    dport: int = 80,
    rtt: float = 0.03,
) -> list[Packet]:
    """One cleartext HTTP/1.1 request and its response over a fresh TCP connection."""
    src = _src_ip(client, server_ip)
    sport = sport if sport is not None else _port(src, server_ip, dport, t)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if user_agent is not None:
        lines.append(f"User-Agent: {user_agent}")
    lines += ["Accept: */*", "Accept-Encoding: gzip, deflate", "Connection: keep-alive"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method in {"POST", "PUT"}:
        lines += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    response = (
        f"HTTP/1.1 {status}\r\nServer: nginx\r\nDate: {formatdate(t, usegmt=True)}\r\n"
        f"Content-Type: {response_type}\r\nContent-Length: {len(response_body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    ).encode() + response_body
    ex = [(0.0005, 0, request), (rtt, 1, response)]
    return tcp_session(client.mac, src, gateway_mac, server_ip, sport, dport, t, ex, rtt=rtt)


def _content_encode(body: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return _gzip.compress(body, mtime=0)
    if coding == "deflate":
        return zlib.compress(body)
    if coding == "br":
        import brotli  # a runtime dependency of phonehome's body decoding

        return bytes(brotli.compress(body))
    raise ValueError(f"unsupported content coding {coding!r}")


def http_request(
    method: str = "GET",
    target: str = "/",
    *,
    host: str | None,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    form: Sequence[tuple[str, str]] | None = None,
    json_body: object = None,
    content_type: str | None = None,
    content_encoding: str | None = None,
    chunk_size: int | None = None,
    user_agent: str | None = _DEFAULT_UA,
    version: str = "HTTP/1.1",
) -> bytes:
    """One HTTP/1.x request as sent on the wire.

    The body is ``body``, or ``form`` (URL-encoded) or ``json_body`` (JSON), compressed with
    ``content_encoding`` (``gzip``, ``deflate``, ``br``, or a chain such as ``gzip, br``,
    applied left to right) and, with ``chunk_size``, sent with chunked transfer coding in
    chunks of that size; otherwise with a ``Content-Length``. ``host=None`` leaves out the Host
    header (HTTP/1.0 style).
    """
    from urllib.parse import urlencode

    if form is not None:
        body = urlencode(list(form)).encode()
        content_type = content_type or "application/x-www-form-urlencoded"
    elif json_body is not None:
        body = json.dumps(json_body, separators=(",", ":")).encode()
        content_type = content_type or "application/json"
    lines = [f"{method} {target} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    if user_agent is not None:
        lines.append(f"User-Agent: {user_agent}")
    lines.append("Accept: */*")
    lines += [f"{name}: {value}" for name, value in headers]
    if content_encoding:
        for coding in content_encoding.split(","):
            body = _content_encode(body, coding.strip())
        lines.append(f"Content-Encoding: {content_encoding}")
    if content_type and (body or method in {"POST", "PUT", "PATCH"}):
        lines.append(f"Content-Type: {content_type}")
    if chunk_size:
        lines.append("Transfer-Encoding: chunked")
        pieces = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    elif body or method in {"POST", "PUT", "PATCH"}:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def http_session(
    client: Host,
    server_ip: str,
    t: float,
    requests: Sequence[bytes],
    *,
    gateway_mac: str,
    sport: int | None = None,
    dport: int = 80,
    segment_size: int = _MSS,
    response_body: bytes = b"OK",
    gap: float = 0.5,
    rtt: float = 0.03,
    close: bool = True,
) -> list[Packet]:
    """Several requests on one kept-alive TCP connection, each answered with ``200 OK``.

    ``requests`` are wire bytes (see :func:`http_request`); each is cut into segments of at most
    ``segment_size`` bytes, so a small size splits request lines and headers across segments.
    """
    src = _src_ip(client, server_ip)
    sport = sport if sport is not None else _port(src, server_ip, dport, t, "keep-alive")
    response = (
        f"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: {formatdate(t, usegmt=True)}\r\n"
        f"Content-Type: text/plain\r\nContent-Length: {len(response_body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    ).encode() + response_body
    exchanges: list[tuple[float, int, bytes]] = []
    for n, request in enumerate(requests):
        exchanges += [(gap if n else 0.0005, 0, request), (rtt, 1, response)]
    return tcp_session(
        client.mac,
        src,
        gateway_mac,
        server_ip,
        sport,
        dport,
        t,
        exchanges,
        rtt=rtt,
        close=close,
        segment_size=segment_size,
    )


def rtsp_session(
    client: Host,
    server: Host,
    t: float,
    url: str,
    *,
    user_agent: str = "LibVLC/3.0.20 (LIVE555 Streaming Media v2016.11.28)",
    server_name: str = "Rtsp Server/3.0",
    media_bytes: int = 200_000,
    duration: float = 10.0,
    dport: int = 554,
    sport: int | None = None,
) -> list[Packet]:
    """An RTSP session on the LAN: OPTIONS, DESCRIBE, SETUP, PLAY, interleaved media, TEARDOWN."""
    sport = sport if sport is not None else _port(client.ip, server.ip, dport, t)
    seed = (client.ip, sport, server.ip, t)
    sdp = (
        f"v=0\r\no=- 1 1 IN IP4 {server.ip}\r\ns=Media Presentation\r\nc=IN IP4 0.0.0.0\r\n"
        "t=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=1\r\n"
    ).encode()
    session = f"{_seed('rtsp', *seed) % 10**9:09d}"
    transport = "RTP/AVP/TCP;unicast;interleaved=0-1"

    def req(cseq: int, method: str, target: str, extra: str = "") -> bytes:
        return (
            f"{method} {target} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: {user_agent}\r\n{extra}\r\n"
        ).encode()

    def resp(cseq: int, extra: str = "", body: bytes = b"") -> bytes:
        head = f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nServer: {server_name}\r\n{extra}"
        if body:
            head += f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n"
        return (head + "\r\n").encode() + body

    ex: list[tuple[float, int, bytes]] = [
        (0.001, 0, req(1, "OPTIONS", url)),
        (0.002, 1, resp(1, "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n")),
        (0.002, 0, req(2, "DESCRIBE", url, "Accept: application/sdp\r\n")),
        (0.002, 1, resp(2, f"Content-Base: {url}/\r\n", sdp)),
        (0.002, 0, req(3, "SETUP", f"{url}/trackID=1", f"Transport: {transport}\r\n")),
        (0.002, 1, resp(3, f"Session: {session};timeout=60\r\nTransport: {transport}\r\n")),
        (0.002, 0, req(4, "PLAY", url, f"Session: {session}\r\nRange: npt=0.000-\r\n")),
        (0.002, 1, resp(4, f"Session: {session}\r\n")),
    ]
    chunks = max(1, int(duration))
    per = media_bytes // chunks
    rtp_seq = _seed("rtpseq", *seed) & 0xFFFF
    ssrc = _seed("ssrc", *seed)
    for i in range(chunks):
        data = _bytes(max(per, 20), "rtp", i, *seed)
        framed = b""
        for j in range(0, len(data), 1384):
            rtp_seq += 1
            rtp = struct.pack("!BBHII", 0x80, 96, rtp_seq & 0xFFFF, 90000 * i, ssrc)
            part = rtp + data[j : j + 1384]
            framed += b"$\x00" + struct.pack("!H", len(part)) + part
        ex.append((1.0 if i else 0.01, 1, framed))
    ex.append((0.01, 0, req(5, "TEARDOWN", url, f"Session: {session}\r\n")))
    ex.append((0.002, 1, resp(5, f"Session: {session}\r\n")))
    return tcp_session(
        client.mac, client.ip, server.mac, server.ip, sport, dport, t, ex, rtt=0.001, server_ttl=64
    )


# ---------------------------------------------------------------------------------------------
# UDP: DHCP, DNS, mDNS, SSDP, generic


def _udp(
    src_mac: str,
    dst_mac: str,
    src_ip: str,
    dst_ip: str,
    sport: int,
    dport: int,
    payload: Packet | bytes,
    t: float,
    ttl: int = 64,
) -> Packet:
    l3 = _l3(src_ip, dst_ip, ttl)
    if isinstance(l3, IP):
        l3.flags = 0
        l3.id = _seed("udp-id", src_ip, dst_ip, sport, dport, t) & 0xFFFF
    pkt = Ether(src=src_mac, dst=dst_mac) / l3 / UDP(sport=sport, dport=dport)
    pkt = pkt / (payload if isinstance(payload, Packet) else Raw(load=payload))
    return _stamp(pkt, t)


def dhcp_exchange(
    client: Host,
    server: Host,
    t: float,
    hostname: str | None = None,
    vendor_class: str | None = None,
    param_request_list: Sequence[int] | None = None,
    *,
    lease_time: int = 86400,
    netmask: str = "255.255.255.0",
    domain: str | None = "lan",
) -> list[Packet]:
    """DISCOVER, OFFER, REQUEST, ACK; the client asks from 0.0.0.0 with options 12, 60, 55.

    ``param_request_list`` is option 55 in the order sent (default ``1,3,6,15,28,51,58,59``); an
    empty sequence leaves option 55 out. The server offers ``client.ip`` and names itself as
    router and DNS server.
    """
    prl = [1, 3, 6, 15, 28, 51, 58, 59] if param_request_list is None else list(param_request_list)
    xid = _seed("xid", client.mac, t)
    chaddr = mac2str(client.mac)

    def client_opts(kind: str, extra: list) -> list:
        opts: list = [("message-type", kind), ("client_id", b"\x01" + chaddr), *extra]
        if hostname is not None:
            opts.append(("hostname", hostname.encode()))
        if vendor_class is not None:
            opts.append(("vendor_class_id", vendor_class.encode()))
        if prl:
            opts.append(("param_req_list", prl))
        return [*opts, "end"]

    def server_opts(kind: str) -> list:
        opts: list = [
            ("message-type", kind),
            ("server_id", server.ip),
            ("lease_time", lease_time),
            ("renewal_time", lease_time // 2),
            ("rebinding_time", lease_time * 7 // 8),
            ("subnet_mask", netmask),
            ("router", server.ip),
            ("name_server", server.ip),
        ]
        if domain:
            opts.append(("domain", domain.encode()))
        return [*opts, "end"]

    def from_client(kind: str, extra: list, when: float) -> Packet:
        bootp = BOOTP(op=1, chaddr=chaddr, xid=xid, flags=0)
        return _udp(
            client.mac,
            BROADCAST_MAC,
            "0.0.0.0",
            "255.255.255.255",
            68,
            67,
            bootp / DHCP(options=client_opts(kind, extra)),
            when,
        )

    def from_server(kind: str, when: float) -> Packet:
        bootp = BOOTP(op=2, chaddr=chaddr, xid=xid, yiaddr=client.ip, siaddr=server.ip)
        return _udp(
            server.mac,
            client.mac,
            server.ip,
            client.ip,
            67,
            68,
            bootp / DHCP(options=server_opts(kind)),
            when,
        )

    return [
        from_client("discover", [], t),
        from_server("offer", t + 0.012),
        from_client("request", [("requested_addr", client.ip), ("server_id", server.ip)], t + 0.05),
        from_server("ack", t + 0.061),
    ]


def dns_exchange(
    client: Host,
    resolver: Host,
    t: float,
    qname: str,
    answers: Sequence[str],
    qtype: str = "A",
    *,
    cname_chain: Sequence[str] = (),
    ttl: int = 300,
    sport: int | None = None,
    txid: int | None = None,
    rtt: float = 0.015,
) -> list[Packet]:
    """A query for ``qname`` and the resolver's answer.

    With ``cname_chain`` the answer goes ``qname`` -> CNAME chain[0] -> ... -> chain[-1], and
    the A/AAAA records (``answers``) belong to the last name. An empty ``answers`` with no chain
    gives NXDOMAIN.
    """
    if qtype not in {"A", "AAAA"}:
        raise ValueError("qtype must be 'A' or 'AAAA'")
    sport = sport if sport is not None else _port("dns", client.ip, qname, t)
    txid = txid if txid is not None else _seed("txid", client.ip, qname, t) & 0xFFFF
    query = DNS(id=txid, rd=1, qd=DNSQR(qname=qname, qtype=qtype))
    rrs = []
    name = qname
    for target in cname_chain:
        rrs.append(DNSRR(rrname=name, type="CNAME", ttl=ttl, rdata=target))
        name = target
    rrs += [DNSRR(rrname=name, type=qtype, ttl=ttl, rdata=a) for a in answers]
    rcode = 0 if rrs else 3
    reply = DNS(id=txid, qr=1, rd=1, ra=1, rcode=rcode, qd=DNSQR(qname=qname, qtype=qtype), an=rrs or None)
    return [
        _udp(client.mac, resolver.mac, client.ip, resolver.ip, sport, 53, query, t),
        _udp(resolver.mac, client.mac, resolver.ip, client.ip, 53, sport, reply, t + rtt),
    ]


def udp_exchange(
    client: Host,
    server_ip: str,
    t: float,
    dport: int,
    requests: Sequence[bytes],
    responses: Sequence[bytes] = (),
    *,
    gateway_mac: str,
    sport: int | None = None,
    interval: float = 1.0,
    rtt: float = 0.05,
    server_ttl: int = 52,
) -> list[Packet]:
    """Request datagrams ``interval`` seconds apart, each answered by ``responses[i]`` if given."""
    src = _src_ip(client, server_ip)
    sport = sport if sport is not None else _port("udp", src, server_ip, dport, t)
    out = []
    for i, payload in enumerate(requests):
        when = t + i * interval
        out.append(_udp(client.mac, gateway_mac, src, server_ip, sport, dport, payload, when))
        if i < len(responses) and responses[i]:
            out.append(
                _udp(
                    gateway_mac,
                    client.mac,
                    server_ip,
                    src,
                    dport,
                    sport,
                    responses[i],
                    when + rtt,
                    ttl=server_ttl,
                )
            )
    return out


def mdns_announce(
    host: Host,
    t: float,
    name: str,
    services: Sequence[str],
    txt: dict[str, str] | None = None,
    *,
    port: int = 80,
    ttl: int = 120,
    txt_strings: Sequence[bytes] | None = None,
    txt_section: str = "an",
) -> list[Packet]:
    """An unsolicited mDNS response to 224.0.0.251:5353 announcing ``name`` and its services.

    It carries A (and AAAA) for ``<name>.local`` first, then for each service (e.g.
    ``"_http._tcp"``) the DNS-SD enumeration PTR, PTR ``<svc>.local`` -> instance, SRV
    instance -> ``<name>.local:port`` and TXT. The TXT strings are ``key=value`` from ``txt``
    (a single empty string when there are none), or exactly ``txt_strings`` when given (each
    at most 255 bytes). ``txt_section="ar"`` puts the TXT records in the additional section.
    """
    if txt_section not in {"an", "ar"}:
        raise ValueError("txt_section must be 'an' or 'ar'")
    target = f"{name}.local"
    if txt_strings is not None:
        txt_data = list(txt_strings) or [b""]
    else:
        txt_data = [f"{k}={v}".encode() for k, v in (txt or {}).items()] or [b""]
    ar: list[Packet] = []
    an: list[Packet] = [DNSRR(rrname=target, type="A", cacheflush=1, ttl=ttl, rdata=host.ip)]
    if host.ipv6:
        an.append(DNSRR(rrname=target, type="AAAA", cacheflush=1, ttl=ttl, rdata=host.ipv6))
    for svc in services:
        stype = f"{svc}.local"
        instance = f"{name}.{stype}"
        an.append(DNSRR(rrname="_services._dns-sd._udp.local", type="PTR", ttl=4500, rdata=stype))
        an.append(DNSRR(rrname=stype, type="PTR", ttl=4500, rdata=instance))
        an.append(
            DNSRRSRV(
                rrname=instance,
                cacheflush=1,
                ttl=ttl,
                priority=0,
                weight=0,
                port=port,
                target=target,
            )
        )
        txt_rr = DNSRR(rrname=instance, type="TXT", cacheflush=1, ttl=4500, rdata=txt_data)
        (an if txt_section == "an" else ar).append(txt_rr)
    msg = DNS(id=0, qr=1, aa=1, rd=0, qd=[], an=an, ar=ar)
    return [_udp(host.mac, MDNS_MAC, host.ip, MDNS_IP, 5353, 5353, msg, t, ttl=255)]


def ssdp_notify(
    host: Host,
    t: float,
    server: str,
    location: str,
    nt: str,
    usn: str,
    *,
    max_age: int = 1800,
) -> list[Packet]:
    """An SSDP ``NOTIFY * HTTP/1.1`` (ssdp:alive) to 239.255.255.250:1900."""
    msg = (
        "NOTIFY * HTTP/1.1\r\n"
        f"HOST: {SSDP_IP}:1900\r\n"
        f"CACHE-CONTROL: max-age={max_age}\r\n"
        f"LOCATION: {location}\r\n"
        f"NT: {nt}\r\n"
        "NTS: ssdp:alive\r\n"
        f"SERVER: {server}\r\n"
        f"USN: {usn}\r\n\r\n"
    ).encode()
    return [_udp(host.mac, SSDP_MAC, host.ip, SSDP_IP, 1900, 1900, msg, t, ttl=4)]


def ssdp_msearch_response(
    host: Host,
    searcher: Host,
    t: float,
    server: str,
    location: str,
    st: str,
    usn: str,
    *,
    searcher_port: int | None = None,
    include_search: bool = True,
    max_age: int = 1800,
) -> list[Packet]:
    """Optionally the searcher's M-SEARCH, then ``host``'s unicast ``HTTP/1.1 200 OK`` reply."""
    sport = searcher_port if searcher_port is not None else _port("ssdp", searcher.ip, t)
    out = []
    if include_search:
        search = (
            "M-SEARCH * HTTP/1.1\r\n"
            f"HOST: {SSDP_IP}:1900\r\n"
            'MAN: "ssdp:discover"\r\n'
            "MX: 2\r\n"
            f"ST: {st}\r\n\r\n"
        ).encode()
        out.append(_udp(searcher.mac, SSDP_MAC, searcher.ip, SSDP_IP, sport, 1900, search, t, ttl=4))
    reply = (
        "HTTP/1.1 200 OK\r\n"
        f"CACHE-CONTROL: max-age={max_age}\r\n"
        f"DATE: {formatdate(t, usegmt=True)}\r\n"
        "EXT:\r\n"
        f"LOCATION: {location}\r\n"
        f"SERVER: {server}\r\n"
        f"ST: {st}\r\n"
        f"USN: {usn}\r\n\r\n"
    ).encode()
    out.append(_udp(host.mac, searcher.mac, host.ip, searcher.ip, 1900, sport, reply, t + 0.2))
    return out


def udp_datagram(
    src: Host,
    dst: Host,
    t: float,
    sport: int,
    dport: int,
    payload: bytes,
    *,
    ttl: int = 64,
) -> list[Packet]:
    """One UDP datagram between two LAN stations (``dst`` may be a multicast group and its MAC)."""
    return [_udp(src.mac, dst.mac, src.ip, dst.ip, sport, dport, payload, t, ttl=ttl)]


# ---------------------------------------------------------------------------------------------
# camera and recorder discovery: Hikvision SADP, Dahua DHIP, ONVIF WS-Discovery


def _uuid_for(*parts: object) -> str:
    return str(_uuid.UUID(bytes=_bytes(16, "uuid", *parts), version=4))


def _xml_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sadp_reply(
    device: Host,
    t: float,
    *,
    description: str | None = "DS-2CD2042WD-I",
    device_type: str | None = "138153",
    serial: str | None = "DS-2CD2042WD-I20170301AAWR000000001",
    software_version: str | None = "V5.4.5build 170123",
    dsp_version: str | None = "V7.3, build 170112",
    boot_time: str = "2026-11-02 08:12:41",
    activated: bool = True,
    searcher: Host | None = None,
    searcher_port: int = 37020,
) -> list[Packet]:
    """A Hikvision SADP ``<ProbeMatch>`` multicast by ``device`` to 239.255.255.250:37020.

    With ``searcher``, first that station's ``<Probe>`` (``Types`` ``inquiry``) to the same
    group; the reply echoes the probe's ``Uuid``. The reply's elements follow the order a real
    device sends; a field given as None is left out.
    """
    probe_id = _uuid_for("sadp", device.mac, t).upper()
    out: list[Packet] = []
    group = Host(SSDP_MAC, SSDP_IP)
    if searcher is not None:
        probe = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f"<Probe><Uuid>{probe_id}</Uuid><Types>inquiry</Types></Probe>"
        ).encode()
        out += udp_datagram(searcher, group, t, searcher_port, 37020, probe, ttl=1)
    gateway = device.ip.rsplit(".", 1)[0] + ".1"
    elements: list[tuple[str, str | None]] = [
        ("Uuid", probe_id),
        ("Types", "inquiry"),
        ("DeviceType", device_type),
        ("DeviceDescription", description),
        ("DeviceSN", serial),
        ("CommandPort", "8000"),
        ("HttpPort", "80"),
        ("MAC", device.mac.replace(":", "-")),
        ("IPv4Address", device.ip),
        ("IPv4SubnetMask", "255.255.255.0"),
        ("IPv4Gateway", gateway),
        ("IPv6Address", "::"),
        ("IPv6Gateway", "::"),
        ("IPv6MaskLen", "64"),
        ("DHCP", "false"),
        ("AnalogChannelNum", "0"),
        ("DigitalChannelNum", "1"),
        ("SoftwareVersion", software_version),
        ("DSPVersion", dsp_version),
        ("BootTime", boot_time),
        ("Encrypt", "true"),
        ("ResetAbility", "false"),
        ("DiskNumber", "0"),
        ("Activated", "true" if activated else "false"),
        ("PasswordResetAbility", "true"),
        ("PasswordResetModeSecond", "true"),
        ("SupportSecurityQuestion", "true"),
        ("SupportHCPlatform", "true"),
        ("HCPlatformEnable", "false"),
        ("IsModifyVerificationCode", "false"),
        ("Salt", _bytes(32, "salt", device.mac).hex()),
        ("DeviceLock", "true"),
        ("SupportMailBox", "true"),
        ("supportEzvizUnbind", "true"),
    ]
    body = "".join(f"<{k}>{_xml_escape(v)}</{k}>" for k, v in elements if v is not None)
    reply = f'<?xml version="1.0" encoding="UTF-8" ?><ProbeMatch>{body}</ProbeMatch>'.encode()
    out += udp_datagram(device, group, t + 0.15, 37020, 37020, reply, ttl=1)
    return out


def dhip_frame(body: bytes) -> bytes:
    """``body`` behind the 32-byte DHIP header: size 0x20, ``DHIP``, session 0, length twice (LE)."""
    return struct.pack("<I4s8sI4sI4s", 0x20, b"DHIP", b"\x00" * 8, len(body), b"", len(body), b"") + body


def dahua_discovery_reply(
    device: Host,
    t: float,
    *,
    device_type: str = "IPC-HDW2431T-AS-S2",
    serial: str = "6G0A1B2PAZ00001",
    version: str = "2.800.0000000.25.R",
    vendor: str | None = "Dahua",
    device_class: str = "IPC",
    manufacturer: str = "General",
    searcher: Host | None = None,
    searcher_port: int | None = None,
) -> list[Packet]:
    """A Dahua ``client.notifyDevInfo`` reply from ``device``'s UDP port 37810.

    With ``searcher``, first its ``DHDiscover.search`` to 239.255.255.251:37810, answered
    unicast; without, the device notifies the group itself. The JSON body follows the header
    with the device's key order (``mac``, ``method``, ``params.deviceInfo`` keys sorted) and
    ends with a newline counted in the header's length. ``vendor=None`` omits ``Vendor``.
    """
    sport = searcher_port if searcher_port is not None else _port("dhip", device.ip, t)
    out: list[Packet] = []
    if searcher is not None:
        search = b'{ "method" : "DHDiscover.search", "params" : { "mac" : "", "uni" : 1 } }\n'
        out += udp_datagram(searcher, Host(DHIP_MAC, DHIP_IP), t, sport, 37810, dhip_frame(search), ttl=1)
    info: dict[str, object] = {
        "AlarmInputChannels": 0,
        "AlarmOutputChannels": 0,
        "DeviceClass": device_class,
        "DeviceType": device_type,
        "HttpPort": 80,
        "IPv4Address": {
            "DefaultGateway": device.ip.rsplit(".", 1)[0] + ".1",
            "DhcpEnable": True,
            "IPAddress": device.ip,
            "SubnetMask": "255.255.255.0",
        },
        "MachineName": serial,
        "Manufacturer": manufacturer,
        "Port": 37777,
        "RemoteVideoInputChannels": 0,
        "SerialNo": serial,
        "Version": version,
        "VideoInputChannels": 1,
        "VideoOutputChannels": 0,
    }
    if vendor is not None:
        info["Vendor"] = vendor
    message = {
        "mac": device.mac,
        "method": "client.notifyDevInfo",
        "params": {"deviceInfo": dict(sorted(info.items()))},
    }
    body = (json.dumps(message, separators=(", ", " : ")) + "\n").encode()
    if searcher is not None:
        out += udp_datagram(device, searcher, t + 0.08, 37810, sport, dhip_frame(body))
    else:
        out += udp_datagram(device, Host(DHIP_MAC, DHIP_IP), t, 37810, 37810, dhip_frame(body), ttl=1)
    return out


def _wsd_envelope(action: str, header_extra: str, body: str, message_id: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        f'xmlns:wsdd="{WSD_NS}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" '
        'xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
        "<SOAP-ENV:Header>"
        f"<wsa:MessageID>uuid:{message_id}</wsa:MessageID>{header_extra}"
        f"<wsa:Action>{WSD_NS}/{action}</wsa:Action>"
        "</SOAP-ENV:Header>"
        f"<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def _wsd_target(device: Host, scopes: Sequence[str], types: str, xaddrs: str | None) -> str:
    endpoint = _uuid_for("wsd-endpoint", device.mac)
    xaddrs = xaddrs if xaddrs is not None else f"http://{device.ip}/onvif/device_service"
    return (
        f"<wsa:EndpointReference><wsa:Address>urn:uuid:{endpoint}</wsa:Address></wsa:EndpointReference>"
        f"<wsdd:Types>{types}</wsdd:Types>"
        f"<wsdd:Scopes>{_xml_escape(' '.join(scopes))}</wsdd:Scopes>"
        f"<wsdd:XAddrs>{_xml_escape(xaddrs)}</wsdd:XAddrs>"
        "<wsdd:MetadataVersion>10</wsdd:MetadataVersion>"
    )


def wsd_probe_match(
    device: Host,
    searcher: Host,
    t: float,
    scopes: Sequence[str],
    *,
    types: str = "dn:NetworkVideoTransmitter tds:Device",
    xaddrs: str | None = None,
    probe_scopes: Sequence[str] = (),
    include_probe: bool = True,
    searcher_port: int | None = None,
) -> list[Packet]:
    """``searcher``'s WS-Discovery Probe to 239.255.255.250:3702 and ``device``'s ProbeMatches.

    The reply goes unicast from port 3702 to the searcher's port and lists ``scopes`` (full
    URIs, e.g. ``onvif://www.onvif.org/hardware/DS-2CD2142FWD-I``). ``probe_scopes`` puts a
    Scopes filter in the Probe itself.
    """
    sport = searcher_port if searcher_port is not None else _port("wsd", searcher.ip, t)
    probe_id = _uuid_for("wsd-probe", searcher.mac, t)
    out: list[Packet] = []
    if include_probe:
        wanted = f"<wsdd:Scopes>{_xml_escape(' '.join(probe_scopes))}</wsdd:Scopes>" if probe_scopes else ""
        body = f"<wsdd:Probe><wsdd:Types>dn:NetworkVideoTransmitter</wsdd:Types>{wanted}</wsdd:Probe>"
        header = "<wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>"
        probe = _wsd_envelope("Probe", header, body, probe_id)
        out += udp_datagram(searcher, Host(SSDP_MAC, SSDP_IP), t, sport, 3702, probe, ttl=1)
    header = (
        f"<wsa:RelatesTo>uuid:{probe_id}</wsa:RelatesTo>"
        "<wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>"
    )
    body = f"<wsdd:ProbeMatches><wsdd:ProbeMatch>{_wsd_target(device, scopes, types, xaddrs)}"
    body += "</wsdd:ProbeMatch></wsdd:ProbeMatches>"
    reply = _wsd_envelope("ProbeMatches", header, body, _uuid_for("wsd-reply", device.mac, t))
    out += udp_datagram(device, searcher, t + 0.05, 3702, sport, reply)
    return out


def wsd_hello(
    device: Host,
    t: float,
    scopes: Sequence[str],
    *,
    types: str = "dn:NetworkVideoTransmitter tds:Device",
    xaddrs: str | None = None,
) -> list[Packet]:
    """A WS-Discovery Hello multicast by ``device`` to 239.255.255.250:3702 as it joins."""
    header = "<wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>"
    body = f"<wsdd:Hello>{_wsd_target(device, scopes, types, xaddrs)}</wsdd:Hello>"
    hello = _wsd_envelope("Hello", header, body, _uuid_for("wsd-hello", device.mac, t))
    return udp_datagram(device, Host(SSDP_MAC, SSDP_IP), t, 3702, 3702, hello, ttl=1)


# ---------------------------------------------------------------------------------------------
# writing


def _pkttype(dst_mac: str) -> int:
    first = int(dst_mac.split(":")[0], 16)
    if dst_mac.lower() == BROADCAST_MAC:
        return 1  # PACKET_BROADCAST
    if first & 1:
        return 2  # PACKET_MULTICAST
    return 3  # PACKET_OTHERHOST: seen by a passive capture


def frame_bytes(pkt: Packet, linktype: int = LINKTYPE_ETHERNET) -> bytes | None:
    """The frame for ``pkt`` (an Ether packet) under ``linktype``; None if it cannot be shown."""
    if linktype == LINKTYPE_ETHERNET:
        return bytes(pkt)
    eth = pkt[Ether]
    payload = bytes(eth.payload)
    if linktype == LINKTYPE_RAW:
        return payload if eth.type in (0x0800, 0x86DD) else None
    addr = mac2str(eth.src).ljust(8, b"\x00")
    if linktype == LINKTYPE_LINUX_SLL:
        return struct.pack("!HHH8sH", _pkttype(eth.dst), 1, 6, addr, eth.type) + payload
    if linktype == LINKTYPE_LINUX_SLL2:
        head = struct.pack("!HHIHBB8s", eth.type, 0, 2, 1, _pkttype(eth.dst), 6, addr)
        return head + payload
    raise ValueError(f"unsupported link type {linktype}")


def _pcapng_option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def _pcapng_block(kind: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    total = 12 + len(body)
    return struct.pack("<II", kind, total) + body + struct.pack("<I", total)


def write_capture(
    path: str | Path,
    packets: Iterable[Packet],
    fmt: str = "pcap",
    linktype: int | None = None,
    gzip: bool = False,
    *,
    comment: str | None = None,
    snaplen: int = 262144,
) -> Path:
    """Write ``packets`` sorted by time (stable) as pcap or pcapng, optionally gzip-compressed.

    ``linktype``: 1 Ethernet (default), 101 raw IP (non-IP frames are dropped), 113 Linux
    cooked SLL, 276 Linux cooked SLL2. ``comment`` goes into the pcapng section header
    (``shb_comment``); pcap has no place for it. The output depends only on the arguments:
    microsecond timestamps, and a gzip header with no name and mtime 0.
    """
    if fmt not in {"pcap", "pcapng"}:
        raise ValueError("fmt must be 'pcap' or 'pcapng'")
    linktype = LINKTYPE_ETHERNET if linktype is None else linktype
    ordered = sorted(packets, key=lambda p: float(p.time))
    out = bytearray()
    if fmt == "pcap":
        out += struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)
    else:
        opts = b""
        if comment:
            opts += _pcapng_option(1, comment.encode())
        opts += _pcapng_option(4, b"phonehome.testing.craft")
        if opts:
            opts += struct.pack("<HH", 0, 0)
        out += _pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + opts)
        idb_opts = _pcapng_option(2, b"synthetic0") + _pcapng_option(9, b"\x06")
        idb_opts += struct.pack("<HH", 0, 0)
        out += _pcapng_block(1, struct.pack("<HHI", linktype, 0, snaplen) + idb_opts)
    for pkt in ordered:
        frame = frame_bytes(pkt, linktype)
        if frame is None:
            continue
        usec = round(float(pkt.time) * 1_000_000)
        caplen = min(len(frame), snaplen)
        if fmt == "pcap":
            sec, frac = divmod(usec, 1_000_000)
            out += struct.pack("<IIII", sec, frac, caplen, len(frame)) + frame[:caplen]
        else:
            body = struct.pack("<IIIII", 0, usec >> 32, usec & 0xFFFFFFFF, caplen, len(frame))
            out += _pcapng_block(6, body + frame[:caplen] + b"\x00" * (-caplen % 4))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if gzip:
        with (
            path.open("wb") as raw,
            _gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        ):
            gz.write(bytes(out))
    else:
        path.write_bytes(bytes(out))
    return path
