#!/usr/bin/env python3
"""Write a large, realistic, deterministic Ethernet capture for benchmarking ``phonehome audit``.

    python benchmarks/make_large_capture.py --size-mb 250 --output /tmp/big.pcap [--seed N]
                                            [--format pcap|pcapng]

How it stays fast: scapy builds a few hundred *template* frames once (headers with zero
addresses, ports, sequence numbers and IDs), then every packet of every flow is a copy of a
template with its MACs, IPs, ports, TCP seq/ack, IPv4 ID, DNS ID and QUIC connection IDs
written in with ``struct``/slice assignment. Because the template checksums were computed over
zero-valued fields, the real checksum is the template's plus the one's-complement sum of the
patched-in words (RFC 1624), so every IPv4, TCP and UDP checksum in the output is valid at the
cost of a few integer additions per packet.

What is in it (one home/office LAN behind one gateway MAC):
  * ~40 local hosts with real vendor OUIs (cameras, phones, TVs, speakers, IoT plugs, PCs),
    some dual-stack (IPv6 ULA addresses);
  * TLS 1.3-style TCP/443 flows: handshake, ClientHello with a per-destination SNI and one of
    three client profiles (browser, IoT, OpenSSL-like; padded to a fixed length per profile),
    encrypted server flight, then requests and responses whose sizes range from one segment to
    several MB in full-MSS (1514-byte) frames with the client ACKing every second segment,
    some uploads (cameras), FIN close; sequence numbers are consistent;
  * plain HTTP/80 flows with Host and User-Agent and Content-Length bodies;
  * DNS A/AAAA queries and answers (some CNAME chains) to the gateway or public resolvers;
  * QUIC-like UDP/443 flows (long-header Initial/Handshake then short-header datagrams; the
    payload is random bytes, not real QUIC encryption);
  * NTP, DHCP (DISCOVER/OFFER/REQUEST/ACK with hostname, vendor class, parameter list),
    mDNS announcements, SSDP NOTIFY/M-SEARCH, ARP.

Flows are interleaved: a pool of concurrent flows is drained in bursts, with timestamps that
only move forward. Same ``--seed`` and size give a byte-identical file.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import logging
import random
import struct
import sys
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.layers.dhcp import BOOTP, DHCP  # noqa: E402
from scapy.layers.dns import DNS, DNSQR, DNSRR  # noqa: E402
from scapy.layers.inet import IP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

MIB = 1 << 20
MSS = 1448  # with the TCP timestamp option: 14 + 20 + 32 + 1448 = 1514-byte frames
START_US = 1_714_550_400_000_000  # 2024-05-01T08:00:00Z
GATEWAY_MAC = "3c:a6:2f:10:20:30"  # AVM (FRITZ!Box)
GATEWAY_V4 = "192.168.178.1"
GATEWAY_V6 = "fd00:178::1"
LAN_V4 = "192.168.178."
LAN_V6 = "fd00:178::"
PUBLIC_RESOLVERS = ["8.8.8.8", "1.1.1.1", "9.9.9.9", "114.114.114.114"]
PUBLIC_RESOLVERS_V6 = ["2001:4860:4860::8888", "2606:4700:4700::1111"]

# --------------------------------------------------------------------------------------------
# The world: destinations and devices
# --------------------------------------------------------------------------------------------

# owner -> (IPv4 prefixes, IPv6 prefix or None)
PROVIDERS = {
    "google": (["142.250.", "172.217.", "216.58."], "2a00:1450:4001:"),
    "apple": (["17.253.", "17.248."], "2620:149:a44:"),
    "amazon": (["52.94.", "54.239.", "18.160."], "2600:9000:2150:"),
    "microsoft": (["13.107.", "20.190.", "40.126."], "2620:1ec:c11:"),
    "akamai": (["23.32.", "23.215.", "104.86."], "2a02:26f0:fd:"),
    "cloudflare": (["104.16.", "172.67."], "2606:4700:3033:"),
    "alibaba": (["47.88.", "47.246.", "120.55."], None),
    "huawei": (["119.8.", "159.138.", "190.92."], None),
    "tencent": (["43.129.", "129.226."], None),
    "samsung": (["34.120.", "52.58."], None),
    "meta": (["157.240.", "31.13."], "2a03:2880:f10c:"),
    "misc": (["185.199.", "151.101.", "93.184."], "2a04:4e42:600:"),
}

DOMAINS: dict[str, str] = {}
for _owner, _names in {
    "google": "www.google.com clients4.google.com googleapis.com www.googleapis.com "
    "android.clients.google.com play.googleapis.com youtubei.googleapis.com "
    "rr3---sn-4g5e6nz7.googlevideo.com i.ytimg.com connectivitycheck.gstatic.com "
    "mtalk.google.com firebaseinstallations.googleapis.com tools.l.google.com "
    "clientservices.googleapis.com fonts.gstatic.com",
    "apple": "www.apple.com gateway.icloud.com p45-contacts.icloud.com init.itunes.apple.com "
    "gsp64-ssl.ls.apple.com mesu.apple.com configuration.apple.com "
    "captive.apple.com api.smoot.apple.com weather-data.apple.com time.apple.com",
    "amazon": "device-metrics-us.amazon.com api.amazonalexa.com avs-alexa-4-na.amazon.com "
    "unagi-na.amazon.com fireoscaptiveportal.com s3.amazonaws.com "
    "iot.us-east-1.amazonaws.com m.media-amazon.com",
    "microsoft": "login.microsoftonline.com settings-win.data.microsoft.com "
    "v10.events.data.microsoft.com outlook.office365.com teams.microsoft.com "
    "dl.delivery.mp.microsoft.com www.msftconnecttest.com graph.microsoft.com",
    "akamai": "www.netflix.com occ-0-2794-2219.1.nflxso.net ipv4-c001.1.lhr001.ix.nflxvideo.net "
    "e6858.dscx.akamaiedge.net www.samsung.com",
    "cloudflare": "cdnjs.cloudflare.com discord.com api.github.com registry.npmjs.org",
    "alibaba": "a1.tuyaeu.com a3.tuyaus.com m1.tuyaeu.com mq.gw.tuyaeu.com "
    "de.api.io.mi.com api.io.mi.com ot.io.mi.com data.mistat.xiaomi.com "
    "api.ezvizlife.com devices.ezvizlife.com",
    "huawei": "grs.dbankcloud.com query.hicloud.com metrics1.data.hicloud.com "
    "dev.hik-connect.com litedev.hik-connect.com api.hik-connect.com "
    "www.easy4ip.com p2p.easy4ipcloud.com dahua-p2p.com "
    "ims.zte.com.cn mdm.ztedevices.com",
    "tencent": "log.tbs.qq.com wup.imtt.qq.com",
    "samsung": "osb.samsungqbe.com log-config.samsungacr.com samsungcloudsolution.com "
    "cdn.samsungcloudsolution.com lcprd1.samsungcloudsolution.net",
    "meta": "graph.facebook.com edge-mqtt.facebook.com www.instagram.com "
    "scontent.cdninstagram.com g.whatsapp.net",
    "misc": "raw.githubusercontent.com www.example.com pool.ntp.org api.spotify.com "
    "audio-ak-spotify-com.akamaized.net ws.sonos.com api.roku.com scribe.logs.roku.com "
    "hpeprint.com h10141.www1.hp.com firmware.tplinkcloud.com use1-wap.tplinkcloud.com "
    "n-devs.tplinkcloud.com archive.raspberrypi.org deb.debian.org",
}.items():
    for _name in _names.split():
        DOMAINS[_name] = _owner

CNAMES = {
    "www.apple.com": ["www.apple.com.edgekey.net", "e6858.dscx.akamaiedge.net"],
    "www.netflix.com": ["www.dradis.netflix.com", "www.eu-west-1.internal.dradis.netflix.com"],
    "s3.amazonaws.com": ["s3-1-w.amazonaws.com"],
    "www.samsung.com": ["www.samsung.com.edgekey.net", "e2490.dscb.akamaiedge.net"],
    "graph.facebook.com": ["star.c10r.facebook.com"],
    "api.spotify.com": ["edge-web.dual-gslb.spotify.com"],
}

HTTP_PATHS = {
    "connectivitycheck.gstatic.com": "/generate_204",
    "captive.apple.com": "/hotspot-detect.html",
    "www.msftconnecttest.com": "/connecttest.txt",
    "deb.debian.org": "/debian/dists/bookworm/InRelease",
    "archive.raspberrypi.org": "/debian/pool/main/r/raspberrypi-sys-mods/rsm_20240101_arm64.deb",
    "firmware.tplinkcloud.com": "/firmware/HS110/latest.bin",
    "dahua-p2p.com": "/online/relay",
    "hpeprint.com": "/ePrintCenter/poll",
    "fireoscaptiveportal.com": "/generate_204",
    "data.mistat.xiaomi.com": "/mistats/v2",
    "www.example.com": "/index.html",
    "log.tbs.qq.com": "/ajax?c=dl&k=abc",
}

HTTP_COMMON = [d for d, path in HTTP_PATHS.items() if not path.endswith((".deb", ".bin"))]

# vendor, OUIs, device kind, TLS profile, DHCP vendor class, user agent, destinations,
# mDNS service or None, SSDP server string or None, dual-stack?
DEVICES = [
    (
        "Hikvision",
        ["28:57:be", "c0:56:e3", "44:19:b6", "bc:ad:28"],
        "camera",
        "iot",
        "",
        "Hikvision-Webs",
        "dev.hik-connect.com litedev.hik-connect.com api.hik-connect.com "
        "api.ezvizlife.com devices.ezvizlife.com pool.ntp.org",
        None,
        "Linux/3.0.8, UPnP/1.0, Hikvision/1.0",
        False,
    ),
    (
        "Dahua",
        ["3c:ef:8c", "90:02:a9", "e0:50:8b"],
        "camera",
        "iot",
        "udhcp 1.22.1",
        "Dahua/1.0",
        "www.easy4ip.com p2p.easy4ipcloud.com dahua-p2p.com pool.ntp.org",
        None,
        "Linux/2.6, UPnP/1.0, Dahua IPC/1.0",
        False,
    ),
    (
        "Apple",
        ["f0:18:98", "ac:bc:32", "3c:22:fb"],
        "phone",
        "browser",
        "",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15",
        "gateway.icloud.com p45-contacts.icloud.com init.itunes.apple.com gsp64-ssl.ls.apple.com "
        "mesu.apple.com configuration.apple.com captive.apple.com api.smoot.apple.com "
        "weather-data.apple.com www.apple.com graph.facebook.com www.instagram.com "
        "scontent.cdninstagram.com g.whatsapp.net api.spotify.com",
        "_companion-link._tcp",
        None,
        True,
    ),
    (
        "Samsung",
        ["00:16:32", "00:1e:e1"],
        "tv",
        "browser",
        "",
        "Mozilla/5.0 (SMART-TV; LINUX; Tizen 7.0) AppleWebKit/537.36 SamsungBrowser/5.0",
        "osb.samsungqbe.com log-config.samsungacr.com samsungcloudsolution.com "
        "cdn.samsungcloudsolution.com lcprd1.samsungcloudsolution.net www.netflix.com "
        "occ-0-2794-2219.1.nflxso.net ipv4-c001.1.lhr001.ix.nflxvideo.net www.samsung.com "
        "youtubei.googleapis.com rr3---sn-4g5e6nz7.googlevideo.com",
        None,
        "Linux/4.1, UPnP/1.0, Samsung UPnP SDK/1.0",
        False,
    ),
    (
        "Espressif",
        ["24:0a:c4", "84:f3:eb", "30:ae:a4"],
        "plug",
        "iot",
        "",
        "ESP32 HTTP Client/1.0",
        "a1.tuyaeu.com a3.tuyaus.com m1.tuyaeu.com mq.gw.tuyaeu.com pool.ntp.org",
        None,
        None,
        False,
    ),
    (
        "TP-Link",
        ["50:c7:bf", "ec:08:6b"],
        "plug",
        "iot",
        "",
        "TP-Link HS110",
        "firmware.tplinkcloud.com use1-wap.tplinkcloud.com n-devs.tplinkcloud.com pool.ntp.org",
        None,
        None,
        False,
    ),
    (
        "Amazon",
        ["f0:27:2d", "74:c2:46", "44:65:0d"],
        "speaker",
        "openssl",
        "",
        "Dalvik/2.1.0 (Linux; U; Android 9; AFTMM Build/PS7633)",
        "device-metrics-us.amazon.com api.amazonalexa.com avs-alexa-4-na.amazon.com "
        "unagi-na.amazon.com fireoscaptiveportal.com s3.amazonaws.com iot.us-east-1.amazonaws.com "
        "m.media-amazon.com api.spotify.com audio-ak-spotify-com.akamaized.net",
        None,
        None,
        False,
    ),
    (
        "Google",
        ["f4:f5:d8", "54:60:09"],
        "speaker",
        "browser",
        "",
        "Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 CrKey/1.56.500000",
        "clients4.google.com www.googleapis.com tools.l.google.com mtalk.google.com "
        "connectivitycheck.gstatic.com youtubei.googleapis.com rr3---sn-4g5e6nz7.googlevideo.com "
        "i.ytimg.com clientservices.googleapis.com",
        "_googlecast._tcp",
        None,
        True,
    ),
    (
        "Huawei",
        ["00:e0:fc", "00:25:9e"],
        "phone",
        "openssl",
        "HUAWEI:android:P40",
        "Mozilla/5.0 (Linux; Android 10; ELS-NX9; HMSCore 6.11) AppleWebKit/537.36",
        "grs.dbankcloud.com query.hicloud.com metrics1.data.hicloud.com www.google.com "
        "graph.facebook.com edge-mqtt.facebook.com g.whatsapp.net log.tbs.qq.com wup.imtt.qq.com",
        None,
        None,
        True,
    ),
    (
        "Xiaomi",
        ["28:6c:07", "64:09:80"],
        "vacuum",
        "iot",
        "",
        "MIoT/1.0",
        "de.api.io.mi.com api.io.mi.com ot.io.mi.com data.mistat.xiaomi.com pool.ntp.org",
        None,
        None,
        False,
    ),
    (
        "ZTE",
        ["00:19:c6"],
        "router",
        "iot",
        "udhcp 1.30.1",
        "ZTE/1.0",
        "ims.zte.com.cn mdm.ztedevices.com pool.ntp.org",
        None,
        "Linux/3.4 UPnP/1.0 ZTE/1.0",
        False,
    ),
    (
        "Intel",
        ["3c:a9:f4"],
        "pc",
        "browser",
        "MSFT 5.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
        "login.microsoftonline.com settings-win.data.microsoft.com v10.events.data.microsoft.com "
        "outlook.office365.com teams.microsoft.com dl.delivery.mp.microsoft.com "
        "www.msftconnecttest.com graph.microsoft.com www.google.com fonts.gstatic.com "
        "cdnjs.cloudflare.com discord.com api.github.com raw.githubusercontent.com "
        "www.example.com",
        None,
        None,
        True,
    ),
    (
        "Raspberry Pi",
        ["b8:27:eb", "dc:a6:32"],
        "server",
        "openssl",
        "dhcpcd-9.4.1:Linux-6.1",
        "curl/7.88.1",
        "archive.raspberrypi.org deb.debian.org registry.npmjs.org "
        "api.github.com raw.githubusercontent.com pool.ntp.org",
        "_ssh._tcp",
        None,
        True,
    ),
    (
        "Sonos",
        ["94:9f:3e"],
        "speaker",
        "openssl",
        "",
        "Linux UPnP/1.0 Sonos/78.1",
        "ws.sonos.com api.spotify.com audio-ak-spotify-com.akamaized.net",
        "_sonos._tcp",
        "Linux UPnP/1.0 Sonos/78.1-51030 (ZPS23)",
        False,
    ),
    (
        "HP",
        ["3c:d9:2b"],
        "printer",
        "iot",
        "",
        "HP-ePrint/1.0",
        "hpeprint.com h10141.www1.hp.com",
        "_ipp._tcp",
        None,
        False,
    ),
    (
        "Roku",
        ["b0:a7:37"],
        "tv",
        "openssl",
        "",
        "Roku/DVP-12.5 (12.5.0.4178)",
        "api.roku.com scribe.logs.roku.com www.netflix.com ipv4-c001.1.lhr001.ix.nflxvideo.net",
        None,
        "Roku/12.5.0 UPnP/1.0 Roku/12.5.0",
        False,
    ),
]
HOSTS_PER_DEVICE = [4, 3, 5, 2, 5, 3, 3, 2, 2, 2, 1, 3, 2, 2, 1, 1]  # 41 hosts

TLS_PROFILES = {
    # cipher suites, supported groups, ALPN, TLS 1.3?, padded ClientHello handshake length
    "browser": (
        [
            0x1301,
            0x1302,
            0x1303,
            0xC02B,
            0xC02F,
            0xC02C,
            0xC030,
            0xCCA9,
            0xCCA8,
            0xC013,
            0xC014,
            0x009C,
            0x009D,
            0x002F,
            0x0035,
        ],
        [0x001D, 0x0017, 0x0018],
        [b"h2", b"http/1.1"],
        True,
        512,
    ),
    "iot": (
        [0xC02F, 0xC030, 0xC02B, 0xC02C, 0x009C, 0x009D, 0x002F, 0x0035, 0x000A],
        [0x0017, 0x0018],
        [],
        False,
        220,
    ),
    "openssl": (
        [
            0x1302,
            0x1303,
            0x1301,
            0xC02C,
            0xC030,
            0x009F,
            0xCCA9,
            0xCCA8,
            0xCCAA,
            0xC02B,
            0xC02F,
            0x009E,
            0xC024,
            0xC028,
            0x006B,
            0xC023,
            0xC027,
            0x0067,
            0xC00A,
            0xC014,
            0x0039,
            0xC009,
            0xC013,
            0x0033,
            0x009D,
            0x009C,
            0x003D,
            0x003C,
            0x0035,
            0x002F,
            0x00FF,
        ],
        [0x001D, 0x0017, 0x001E, 0x0019, 0x0018],
        [b"http/1.1"],
        True,
        508,
    ),
}


@dataclass
class Host:
    vendor: str
    kind: str
    mac: bytes
    ip4: str
    ip6: str | None
    profile: str
    dhcp_vendor: str
    user_agent: str
    hostname: str
    domains: list[str]
    mdns: str | None
    ssdp: str | None


# --------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------


@dataclass
class Template:
    raw: bytes
    v6: bool
    tcp: bool
    l4: int  # offset of the L4 header
    a0: int  # offset of the source address
    a1: int  # end of the destination address
    l4ck: int  # offset of the L4 checksum
    l4inv: int  # one's complement of the template's L4 checksum (over zeroed fields)
    ipinv: int = 0  # same for the IPv4 header checksum
    patches: tuple[tuple[int, str, int], ...] = ()  # (offset, key, odd) per-flow fields


def _inv_at(raw: bytes, off: int) -> int:
    return ~((raw[off] << 8) | raw[off + 1]) & 0xFFFF


def make_template(pkt, patches: tuple[tuple[int, str], ...] = ()) -> Template:
    raw = bytes(pkt)
    v6 = IPv6 in pkt
    tcp = TCP in pkt
    l4 = 54 if v6 else 34
    if not v6:
        assert raw[14] == 0x45, "IPv4 options are not supported in templates"
    l4ck = l4 + (16 if tcp else 6)
    t = Template(
        raw=raw,
        v6=v6,
        tcp=tcp,
        l4=l4,
        a0=22 if v6 else 26,
        a1=54 if v6 else 34,
        l4ck=l4ck,
        l4inv=_inv_at(raw, l4ck),
        ipinv=0 if v6 else _inv_at(raw, 24),
        patches=tuple((l4 + 8 + off, key, 1 + (off & 1)) for off, key in patches),
    )
    return t


def _l3(v6: bool, ttl: int):
    if v6:
        return IPv6(src="::", dst="::", hlim=ttl)
    return IP(src="0.0.0.0", dst="0.0.0.0", id=0, ttl=ttl, flags="DF")


TS_OPT = [("NOP", None), ("NOP", None), ("Timestamp", (0x5C3A1B20, 0x1F2E3D4C))]
SYN_OPT = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (0x5C3A1B00, 0)), ("NOP", None), ("WScale", 7)]


class Templates:
    """Builds templates on first use and caches them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.cache: dict[tuple, Template] = {}
        self.built = 0

    def _get(self, key: tuple, build) -> Template:
        t = self.cache.get(key)
        if t is None:
            t = self.cache[key] = build()
            self.built += 1
        return t

    def tcp(self, name: str, payload: bytes, flags: str, to_server: bool, v6: bool) -> Template:
        def build() -> Template:
            ttl = 64 if to_server else 53
            opts = SYN_OPT if "S" in flags else TS_OPT
            win = 64240 if flags == "S" else 65160 if "S" in flags else (502 if to_server else 501)
            pkt = (
                Ether(src="00:00:00:00:00:00", dst="00:00:00:00:00:00")
                / _l3(v6, ttl)
                / TCP(sport=0, dport=0, seq=0, ack=0, flags=flags, window=win, options=opts)
            )
            if payload:
                pkt = pkt / Raw(payload)
            return make_template(pkt)

        return self._get(("tcp", name, flags, to_server, v6), build)

    def udp(
        self, name: str, payload: bytes, to_server: bool, v6: bool, patches: tuple[tuple[int, str], ...] = ()
    ) -> Template:
        def build() -> Template:
            ttl = 64 if to_server else 53
            pkt = (
                Ether(src="00:00:00:00:00:00", dst="00:00:00:00:00:00")
                / _l3(v6, ttl)
                / UDP(sport=0, dport=0)
                / Raw(payload)
            )
            return make_template(pkt, patches)

        return self._get(("udp", name, to_server, v6), build)


def client_hello(sni: str, profile: str, rng: random.Random) -> bytes:
    """A TLS record with a ClientHello, padded to the profile's fixed handshake length."""
    ciphers, groups, alpn, tls13, target = TLS_PROFILES[profile]

    def ext(kind: int, body: bytes) -> bytes:
        return struct.pack("!HH", kind, len(body)) + body

    name = sni.encode()
    exts = [ext(0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name)]
    exts.append(ext(23, b""))
    exts.append(ext(0xFF01, b"\x00"))
    exts.append(ext(10, struct.pack("!H", 2 * len(groups)) + b"".join(struct.pack("!H", g) for g in groups)))
    exts.append(ext(11, b"\x01\x00"))
    if profile != "iot":
        exts.append(ext(35, b""))
    if alpn:
        body = b"".join(bytes([len(p)]) + p for p in alpn)
        exts.append(ext(16, struct.pack("!H", len(body)) + body))
    if profile == "browser":
        exts.append(ext(5, b"\x01\x00\x00\x00\x00"))
    sigalgs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
    exts.append(
        ext(13, struct.pack("!H", 2 * len(sigalgs)) + b"".join(struct.pack("!H", s) for s in sigalgs))
    )
    if profile == "browser":
        exts.append(ext(18, b""))
    if tls13:
        exts.append(ext(51, struct.pack("!HHH", 36, 0x001D, 32) + rng.randbytes(32)))
        exts.append(ext(45, b"\x01\x01"))
        exts.append(ext(43, b"\x04\x03\x04\x03\x03"))
    if profile == "browser":
        exts.append(ext(27, b"\x02\x00\x02"))
    cipher_bytes = b"".join(struct.pack("!H", c) for c in ciphers)
    body = (
        b"\x03\x03"
        + rng.randbytes(32)
        + b"\x20"
        + rng.randbytes(32)
        + struct.pack("!H", len(cipher_bytes))
        + cipher_bytes
        + b"\x01\x00"
    )

    def assemble(ext_list: list[bytes]) -> bytes:
        e = b"".join(ext_list)
        return body + struct.pack("!H", len(e)) + e

    hello = assemble(exts)
    pad = target - 4 - len(hello) - 4  # handshake header + padding extension header
    if pad < 0:
        raise ValueError(f"SNI {sni!r} too long for profile {profile}")
    hello = assemble([*exts, ext(21, b"\x00" * pad)])
    hs = b"\x01" + len(hello).to_bytes(3, "big") + hello
    assert len(hs) == target
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def app_record(length: int, rng: random.Random) -> bytes:
    return b"\x17\x03\x03" + struct.pack("!H", length) + rng.randbytes(length)


def segments(stream: bytes, size: int = MSS) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


class Payloads:
    """Constant payloads shared by every flow (built once, from the seed)."""

    def __init__(self, rng: random.Random) -> None:
        server_hello = (
            b"\x02"
            + (118).to_bytes(3, "big")
            + b"\x03\x03"
            + rng.randbytes(32)
            + b"\x20"
            + rng.randbytes(32)
            + b"\x13\x01\x00"
            + struct.pack("!H", 46)
            + struct.pack("!HHH", 43, 2, 0x0304)
            + struct.pack("!HHHH", 51, 36, 0x001D, 32)
            + rng.randbytes(32)
        )
        sh_record = b"\x16\x03\x03" + struct.pack("!H", len(server_hello)) + server_hello
        flight = sh_record + b"\x14\x03\x03\x00\x01\x01"
        flight += app_record(3 * MSS - 200 - len(flight) - 5, rng)  # EE+Certificate+CV+Fin
        self.server_flight = segments(flight)  # 1448, 1448, 1248
        self.client_finished = b"\x14\x03\x03\x00\x01\x01" + app_record(53, rng)
        self.tickets = app_record(250, rng) + app_record(250, rng)
        self.requests = [app_record(n, rng) for n in (92, 356, 731)]
        self.small_responses = [app_record(n, rng) for n in (43, 380, 1100, MSS - 5)]
        # Bulk data: TLS records of exactly 11 segments, so record boundaries repeat.
        self.bulk = segments(app_record(11 * MSS - 5, rng))
        self.http_body = rng.randbytes(MSS)
        self.quic_initial_c = self._quic_long(0xC3, 1252, rng)
        self.quic_initial_s = self._quic_long(0xC1, 1200, rng, server=True)
        self.quic_handshake_s = self._quic_long(0xE1, 1200, rng, server=True)
        self.quic_short = {n: b"\x41" + b"\x00" * 8 + rng.randbytes(n - 9) for n in (42, 64, 350, 1200, 1252)}
        self.ntp_request = b"\x23" + b"\x00" * 39 + rng.randbytes(8)
        self.ntp_reply = b"\x24\x02\x00\xe7" + rng.randbytes(44)

    @staticmethod
    def _quic_long(first: int, size: int, rng: random.Random, server: bool = False) -> bytes:
        # first byte, version 1, DCID (8, patched), SCID (8, patched), [token len], length, body
        head = bytes([first]) + b"\x00\x00\x00\x01" + b"\x08" + b"\x00" * 8 + b"\x08" + b"\x00" * 8
        if first & 0x30 == 0:  # Initial: token length
            head += b"\x00"
        rest = size - len(head) - 2
        return head + struct.pack("!H", 0x4000 | rest) + rng.randbytes(rest)


# Offsets inside UDP payloads that flows patch (relative to the payload start).
QUIC_LONG_C = ((6, "cs"), (15, "cc"))  # client->server: DCID = server CID, SCID = client CID
QUIC_LONG_S = ((6, "cc"), (15, "cs"))
QUIC_SHORT_C = ((1, "cs"),)
QUIC_SHORT_S = ((1, "cc"),)
DNS_ID = ((0, "id"),)


# --------------------------------------------------------------------------------------------
# Flows
# --------------------------------------------------------------------------------------------


def _words(b: bytes) -> int:
    return (
        sum(array("H", b))
        if sys.byteorder == "big"
        else sum(((x & 0xFF) << 8) | (x >> 8) for x in array("H", b))
    )


class Flow:
    __slots__ = ("macs", "addrs", "ports", "asum", "sum", "extra", "steps", "burst", "ipid")

    def __init__(
        self,
        host: Host,
        gw_mac: bytes,
        client: str,
        server: str,
        sport: int,
        dport: int,
        steps: Iterator,
        burst: tuple[int, int],
        extra: dict[str, bytes] | None = None,
        ipid: int = 0,
    ) -> None:
        c = ipaddress.ip_address(client).packed
        s = ipaddress.ip_address(server).packed
        self.macs = (gw_mac + host.mac, host.mac + gw_mac)  # to server, to client
        self.addrs = (c + s, s + c)
        self.ports = (struct.pack("!HH", sport, dport), struct.pack("!HH", dport, sport))
        self.asum = _words(c + s)  # same in both directions, so is everything below
        self.sum = self.asum + sport + dport
        # value, its word sum at an even offset, and at an odd one
        self.extra = {
            k: (v, _words(v + b"\0" * (len(v) & 1)), _words(b"\0" + v + b"\0" * (~len(v) & 1)))
            for k, v in (extra or {}).items()
        }
        self.steps = steps
        self.burst = burst
        self.ipid = ipid


class World:
    def __init__(self, seed: int) -> None:
        self.rng = rng = random.Random(seed)
        self.t = Templates(random.Random(seed + 1))
        self.p = Payloads(random.Random(seed + 2))
        self.ch_rng = random.Random(seed + 3)
        self.gw_mac = bytes.fromhex(GATEWAY_MAC.replace(":", ""))
        self.hosts: list[Host] = []
        n = 10
        for spec, count in zip(DEVICES, HOSTS_PER_DEVICE, strict=True):
            vendor, ouis, kind, profile, dhcpv, ua, dests, mdns, ssdp, dual = spec
            for i in range(count):
                mac = bytes.fromhex(ouis[i % len(ouis)].replace(":", "")) + rng.randbytes(3)
                n += 1
                self.hosts.append(
                    Host(
                        vendor=vendor,
                        kind=kind,
                        mac=mac,
                        ip4=f"{LAN_V4}{n}",
                        ip6=f"{LAN_V6}{mac[3]:02x}{mac[4]:02x}:{mac[5]:02x}{n:02x}" if dual else None,
                        profile=profile,
                        dhcp_vendor=dhcpv,
                        user_agent=ua,
                        hostname=f"{vendor.lower().replace(' ', '')}-{kind}-{i + 1}",
                        domains=dests.split(),
                        mdns=mdns,
                        ssdp=ssdp,
                    )
                )
        self.ip4: dict[str, str] = {}
        self.ip6: dict[str, str | None] = {}
        for name, owner in DOMAINS.items():
            v4s, v6 = PROVIDERS[owner]
            h = hashlib.sha256(f"{seed}:{name}".encode()).digest()
            self.ip4[name] = f"{v4s[h[0] % len(v4s)]}{h[1] % 250 + 2}.{h[2] % 250 + 2}"
            self.ip6[name] = f"{v6}:{h[3]:x}{h[4]:02x}" if v6 else None
        self.local_frames = self._local_frames()
        # weights: kind -> relative share of flows
        self.kinds = ["dns", "tls", "tls_medium", "tls_bulk", "tls_upload", "http", "quic", "ntp", "local"]
        self.weights = [44, 31, 6, 0.4, 0.12, 5, 4, 2, 4.5]
        self.flows = 0

    # -- local (non-patched) traffic --------------------------------------------------------

    def _local_frames(self) -> list[list[bytes]]:
        """Groups of complete frames (DHCP, mDNS, SSDP, ARP) built with real addresses."""
        groups: list[list[bytes]] = []
        gw = GATEWAY_MAC
        for h in self.hosts:
            mac = h.mac.hex(":")
            xid = self.rng.getrandbits(32)
            prl = (
                [1, 3, 6, 15, 28, 51, 58, 59]
                if not h.dhcp_vendor.startswith("MSFT")
                else [1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252]
            )
            opts_common = [("hostname", h.hostname), ("param_req_list", prl)]
            if h.dhcp_vendor:
                opts_common.append(("vendor_class_id", h.dhcp_vendor))

            def dhcp(
                op: int,
                src_ip: str,
                dst_ip: str,
                smac: str,
                dmac: str,
                opts: list,
                yiaddr: str = "0.0.0.0",
                h: Host = h,
                xid: int = xid,
            ) -> bytes:
                sport, dport = (68, 67) if op == 1 else (67, 68)
                return bytes(
                    Ether(src=smac, dst=dmac)
                    / IP(src=src_ip, dst=dst_ip, ttl=64)
                    / UDP(sport=sport, dport=dport)
                    / BOOTP(op=op, chaddr=h.mac + b"\x00" * 10, xid=xid, yiaddr=yiaddr, flags=0)
                    / DHCP(options=[*opts, "end"])
                )

            groups.append(
                [
                    dhcp(
                        1,
                        "0.0.0.0",
                        "255.255.255.255",
                        mac,
                        "ff:ff:ff:ff:ff:ff",
                        [("message-type", "discover"), *opts_common],
                    ),
                    dhcp(
                        2,
                        GATEWAY_V4,
                        h.ip4,
                        gw,
                        mac,
                        [
                            ("message-type", "offer"),
                            ("server_id", GATEWAY_V4),
                            ("lease_time", 864000),
                            ("router", GATEWAY_V4),
                            ("name_server", GATEWAY_V4),
                        ],
                        yiaddr=h.ip4,
                    ),
                    dhcp(
                        1,
                        "0.0.0.0",
                        "255.255.255.255",
                        mac,
                        "ff:ff:ff:ff:ff:ff",
                        [
                            ("message-type", "request"),
                            ("requested_addr", h.ip4),
                            ("server_id", GATEWAY_V4),
                            *opts_common,
                        ],
                    ),
                    dhcp(
                        2,
                        GATEWAY_V4,
                        h.ip4,
                        gw,
                        mac,
                        [
                            ("message-type", "ack"),
                            ("server_id", GATEWAY_V4),
                            ("lease_time", 864000),
                            ("router", GATEWAY_V4),
                            ("name_server", GATEWAY_V4),
                        ],
                        yiaddr=h.ip4,
                    ),
                ]
            )
            groups.append(
                [
                    bytes(
                        Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
                        / ARP(op=1, hwsrc=mac, psrc=h.ip4, pdst=GATEWAY_V4)
                    ),
                    bytes(
                        Ether(src=gw, dst=mac) / ARP(op=2, hwsrc=gw, psrc=GATEWAY_V4, hwdst=mac, pdst=h.ip4)
                    ),
                ]
            )
            if h.mdns:
                inst = f"{h.hostname}.{h.mdns}.local"
                txt = {
                    "_googlecast._tcp": [b"md=Google Nest Mini", b"fn=Kitchen speaker"],
                    "_companion-link._tcp": [b"rpMd=iPhone15,2", b"rpVr=510.7"],
                    "_ipp._tcp": [b"ty=HP LaserJet Pro M404dn", b"usb_MDL=LaserJet"],
                    "_sonos._tcp": [b"model=S23", b"fn=Living Room"],
                    "_ssh._tcp": [b""],
                }[h.mdns]
                ans = [
                    DNSRR(rrname=f"{h.mdns}.local", type="PTR", rdata=inst, ttl=4500),
                    DNSRR(rrname=inst, type="TXT", rdata=txt, ttl=4500),
                    DNSRR(rrname=f"{h.hostname}.local", type="A", rdata=h.ip4, ttl=120),
                ]
                groups.append(
                    [
                        bytes(
                            Ether(src=mac, dst="01:00:5e:00:00:fb")
                            / IP(src=h.ip4, dst="224.0.0.251", ttl=255)
                            / UDP(sport=5353, dport=5353)
                            / DNS(id=0, qr=1, aa=1, rd=0, qd=[], an=ans)
                        )
                    ]
                )
                groups.append(
                    [
                        bytes(
                            Ether(src=mac, dst="01:00:5e:00:00:fb")
                            / IP(src=h.ip4, dst="224.0.0.251", ttl=255)
                            / UDP(sport=5353, dport=5353)
                            / DNS(id=0, rd=0, qd=[DNSQR(qname="_services._dns-sd._udp.local", qtype="PTR")])
                        )
                    ]
                )
            if h.ssdp:
                notify = (
                    "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
                    "CACHE-CONTROL: max-age=1800\r\n"
                    f"LOCATION: http://{h.ip4}:49152/description.xml\r\n"
                    "NT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n"
                    f"SERVER: {h.ssdp}\r\nUSN: uuid:{h.mac.hex()}-0000-1000-8000-{h.mac.hex()}"
                    "::upnp:rootdevice\r\n\r\n"
                )
                groups.append(
                    [
                        bytes(
                            Ether(src=mac, dst="01:00:5e:7f:ff:fa")
                            / IP(src=h.ip4, dst="239.255.255.250", ttl=4)
                            / UDP(sport=1900, dport=1900)
                            / Raw(notify.encode())
                        )
                    ]
                )
            if h.kind in ("phone", "pc", "tv"):
                search = (
                    "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
                    'MAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n'
                    f"USER-AGENT: {h.user_agent} UPnP/1.1\r\n\r\n"
                )
                groups.append(
                    [
                        bytes(
                            Ether(src=mac, dst="01:00:5e:7f:ff:fa")
                            / IP(src=h.ip4, dst="239.255.255.250", ttl=4)
                            / UDP(sport=self.rng.randrange(49152, 65535), dport=1900)
                            / Raw(search.encode())
                        )
                    ]
                )
        return groups

    # -- flow factories ---------------------------------------------------------------------

    def new_flow(self) -> Flow | list[bytes]:
        rng = self.rng
        kind = rng.choices(self.kinds, self.weights)[0]
        self.flows += 1
        if kind == "local":
            return rng.choice(self.local_frames)
        host = rng.choice(self.hosts)
        sport = rng.randrange(32768, 61000)
        if kind == "ntp":
            if "pool.ntp.org" not in host.domains and rng.random() < 0.7:
                kind = "dns"
            else:
                return self._ntp_flow(host)
        domain = rng.choice(host.domains)
        if domain == "pool.ntp.org" and kind != "dns":
            return self._ntp_flow(host)  # the NTP pool gets DNS lookups and NTP, not TLS
        v6 = host.ip6 is not None and self.ip6[domain] is not None and rng.random() < 0.35
        client = host.ip6 if v6 else host.ip4
        server = self.ip6[domain] if v6 else self.ip4[domain]
        ipid = rng.getrandbits(16)
        if kind == "dns":
            qtype = "AAAA" if host.ip6 and rng.random() < 0.45 else "A"
            dns_v6 = host.ip6 is not None and rng.random() < 0.3
            if dns_v6:
                client = host.ip6
                resolver = GATEWAY_V6 if rng.random() < 0.8 else rng.choice(PUBLIC_RESOLVERS_V6)
            else:
                client = host.ip4
                resolver = GATEWAY_V4 if rng.random() < 0.75 else rng.choice(PUBLIC_RESOLVERS)
            return Flow(
                host,
                self.gw_mac,
                client,
                resolver,
                sport,
                53,
                self._dns(domain, qtype, dns_v6),
                (2, 2),
                extra={"id": struct.pack("!H", rng.getrandbits(16))},
                ipid=ipid,
            )
        if kind == "quic":
            if not (host.profile == "browser" or host.vendor == "Huawei"):
                kind = "tls"
            else:
                extra = {"cc": rng.randbytes(8), "cs": rng.randbytes(8)}
                n = int(rng.paretovariate(1.2) * 5)
                return Flow(
                    host,
                    self.gw_mac,
                    client,
                    server,
                    sport,
                    443,
                    self._quic(v6, min(n, 1500)),
                    (2, 12),
                    extra=extra,
                    ipid=ipid,
                )
        if kind == "http":
            if domain not in HTTP_PATHS:
                domain = rng.choice(HTTP_COMMON)
                v6 = False
                client, server = host.ip4, self.ip4[domain]
            big = HTTP_PATHS[domain].endswith((".deb", ".bin"))
            body = rng.choice([40, 120]) if big else rng.choice([0, 0, 0, 1, 2, 3, 12])
            return Flow(
                host,
                self.gw_mac,
                client,
                server,
                sport,
                80,
                self._http(host, domain, v6, body),
                (1, 6),
                ipid=ipid,
            )
        if kind == "tls":
            rounds, seg = rng.choice([(1, 0), (1, 0), (1, 1), (2, 0), (1, 2), (3, 1)])
            return Flow(
                host,
                self.gw_mac,
                client,
                server,
                sport,
                443,
                self._tls(host, domain, v6, rounds, seg, 0, False),
                (1, 4),
                ipid=ipid,
            )
        if kind == "tls_medium":
            return Flow(
                host,
                self.gw_mac,
                client,
                server,
                sport,
                443,
                self._tls(host, domain, v6, rng.randrange(2, 6), 3, rng.randrange(1, 4), False),
                (2, 10),
                ipid=ipid,
            )
        upload = kind == "tls_upload" or (host.kind == "camera" and rng.random() < 0.3)
        records = int(min(rng.paretovariate(1.3) * 8, 400))
        return Flow(
            host,
            self.gw_mac,
            client,
            server,
            sport,
            443,
            self._tls(host, domain, v6, 1, 3, records, upload),
            (6, 40),
            ipid=ipid,
        )

    def _ntp_flow(self, host: Host) -> Flow:
        server = self.ip4["pool.ntp.org"]
        ipid = self.rng.getrandbits(16)
        return Flow(host, self.gw_mac, host.ip4, server, 123, 123, self._ntp(), (2, 2), ipid=ipid)

    # Each step: (direction, template, seq, ack); direction 0 = to server, 1 = to client.

    def _dns(self, domain: str, qtype: str, v6: bool) -> Iterator:
        t = self.t
        query = DNS(id=0, rd=1, qd=[DNSQR(qname=domain, qtype=qtype)])
        q = t.udp(f"dnsq {domain} {qtype}", bytes(query), True, v6, DNS_ID)
        yield 0, q, 0, 0

        def answer() -> bytes:
            chain = [domain, *CNAMES.get(domain, [])]
            rrs = [
                DNSRR(rrname=a, type="CNAME", rdata=b, ttl=300)
                for a, b in zip(chain, chain[1:], strict=False)
            ]
            addr = self.ip4[domain] if qtype == "A" else self.ip6[domain]
            if addr:
                rrs.append(DNSRR(rrname=chain[-1], type=qtype, rdata=addr, ttl=60))
            return bytes(DNS(id=0, qr=1, rd=1, ra=1, qd=[DNSQR(qname=domain, qtype=qtype)], an=rrs))

        key = ("udp", f"dnsr {domain} {qtype}", False, v6)
        r = t.cache.get(key) or t.udp(f"dnsr {domain} {qtype}", answer(), False, v6, DNS_ID)
        yield 1, r, 0, 0

    def _ntp(self) -> Iterator:
        yield 0, self.t.udp("ntpq", self.p.ntp_request, True, False), 0, 0
        yield 1, self.t.udp("ntpr", self.p.ntp_reply, False, False), 0, 0

    def _handshake(self, v6: bool, c: int, s: int) -> Iterator:
        t = self.t
        yield 0, t.tcp("syn", b"", "S", True, v6), c, 0
        yield 1, t.tcp("synack", b"", "SA", False, v6), s, c + 1
        yield 0, t.tcp("ack", b"", "A", True, v6), c + 1, s + 1

    def _close(self, v6: bool, c: int, s: int, client_first: bool) -> Iterator:
        t = self.t
        if client_first:
            yield 0, t.tcp("fin", b"", "FA", True, v6), c, s
            yield 1, t.tcp("fin", b"", "FA", False, v6), s, c + 1
            yield 0, t.tcp("ack", b"", "A", True, v6), c + 1, s + 1
        else:
            yield 1, t.tcp("fin", b"", "FA", False, v6), s, c
            yield 0, t.tcp("fin", b"", "FA", True, v6), c, s + 1
            yield 1, t.tcp("ack", b"", "A", False, v6), s + 1, c + 1

    def _bulk(
        self, v6: bool, sender: int, seq: int, peer: int, segs: list[bytes], names: list[str], count: int
    ) -> Iterator:
        """``count`` data segments cycling through ``segs``, ACKed every second segment."""
        t = self.t
        to_server = sender == 0
        tmpls = [
            t.tcp(n, s, "PA" if i == len(segs) - 1 else "A", to_server, v6)
            for i, (n, s) in enumerate(zip(names, segs, strict=True))
        ]
        acks = t.tcp("ack", b"", "A", not to_server, v6)
        for i in range(count):
            tm = tmpls[i % len(tmpls)]
            yield sender, tm, seq, peer
            seq = (seq + len(segs[i % len(segs)])) & 0xFFFFFFFF
            if i % 2 == 1 or i == count - 1:
                yield 1 - sender, acks, peer, seq
        return seq

    def _tls(
        self, host: Host, domain: str, v6: bool, rounds: int, small: int, records: int, upload: bool
    ) -> Iterator:
        t, p, rng = self.t, self.p, self.rng
        c, s = rng.getrandbits(32), rng.getrandbits(32)
        yield from self._handshake(v6, c, s)
        c, s = c + 1, s + 1
        ch = t.cache.get(("tcp", f"ch {domain} {host.profile}", "PA", True, v6))
        if ch is None:
            ch = t.tcp(
                f"ch {domain} {host.profile}", client_hello(domain, host.profile, self.ch_rng), "PA", True, v6
            )
        yield 0, ch, c, s
        c += len(ch.raw) - ch.l4 - 32
        yield 1, t.tcp("ack", b"", "A", False, v6), s, c
        for i, seg in enumerate(p.server_flight):
            yield 1, t.tcp(f"sflight{i}", seg, "PA" if i == 2 else "A", False, v6), s, c
            s += len(seg)
        yield 0, t.tcp("ack", b"", "A", True, v6), c, s
        yield 0, t.tcp("cfin", p.client_finished, "PA", True, v6), c, s
        c += len(p.client_finished)
        yield 1, t.tcp("tickets", p.tickets, "PA", False, v6), s, c
        s += len(p.tickets)
        for _ in range(rounds):
            k = rng.randrange(len(p.requests))
            yield 0, t.tcp(f"req{k}", p.requests[k], "PA", True, v6), c, s
            c += len(p.requests[k])
            k = min(small, len(p.small_responses) - 1) if small else rng.randrange(3)
            yield 1, t.tcp(f"resp{k}", p.small_responses[k], "PA", False, v6), s, c
            s += len(p.small_responses[k])
            yield 0, t.tcp("ack", b"", "A", True, v6), c, s
        if records:
            names = [f"bulk{i}" for i in range(len(p.bulk))]
            if upload:
                c = yield from self._bulk(v6, 0, c, s, p.bulk, names, records * len(p.bulk))
            else:
                k = rng.randrange(len(p.requests))
                yield 0, t.tcp(f"req{k}", p.requests[k], "PA", True, v6), c, s
                c += len(p.requests[k])
                s = yield from self._bulk(v6, 1, s, c, p.bulk, names, records * len(p.bulk))
        yield from self._close(v6, c, s, client_first=rng.random() < 0.6)

    def _http(self, host: Host, domain: str, v6: bool, body_segments: int) -> Iterator:
        t, p, rng = self.t, self.p, self.rng
        c, s = rng.getrandbits(32), rng.getrandbits(32)
        yield from self._handshake(v6, c, s)
        c, s = c + 1, s + 1
        req = (
            f"GET {HTTP_PATHS[domain]} HTTP/1.1\r\nHost: {domain}\r\n"
            f"User-Agent: {host.user_agent}\r\nAccept: */*\r\n"
            "Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n"
        ).encode()
        rq = t.tcp(f"http {domain} {host.user_agent}", req, "PA", True, v6)
        yield 0, rq, c, s
        c += len(req)
        yield 1, t.tcp("ack", b"", "A", False, v6), s, c
        if body_segments == 0 and HTTP_PATHS[domain] == "/generate_204":
            head = (
                b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nDate: Wed, 01 May 2024 08:00:00 GMT\r\n\r\n"
            )
            yield 1, t.tcp("http204", head, "PA", False, v6), s, c
            s += len(head)
        else:
            tail = 300

            def first(n: int) -> bytes:
                for digits in range(1, 12):
                    h = (
                        f"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: "
                        f"application/octet-stream\r\nContent-Length: {{:0{digits}d}}\r\n"
                        "Cache-Control: max-age=3600\r\n\r\n"
                    )
                    body0 = MSS - len(h.format(0))
                    total = body0 + n * MSS + tail
                    if len(str(total)) <= digits:
                        out = h.format(total).encode()
                        return out + p.http_body[: MSS - len(out)]
                raise AssertionError

            key = ("tcp", f"http200 {body_segments}", "A", False, v6)
            head = t.cache[key].raw[t.cache[key].l4 + 32 :] if key in t.cache else first(body_segments)
            yield 1, t.tcp(f"http200 {body_segments}", head, "A", False, v6), s, c
            s += len(head)
            if body_segments:
                s = yield from self._bulk(v6, 1, s, c, [p.http_body], ["httpbody"], body_segments)
            last = p.http_body[:tail]
            yield 1, t.tcp("httptail", last, "PA", False, v6), s, c
            s += len(last)
        yield 0, t.tcp("ack", b"", "A", True, v6), c, s
        yield from self._close(v6, c, s, client_first=rng.random() < 0.5)

    def _quic(self, v6: bool, n: int) -> Iterator:
        t, p, rng = self.t, self.p, self.rng
        yield 0, t.udp("qinit_c", p.quic_initial_c, True, v6, QUIC_LONG_C), 0, 0
        yield 1, t.udp("qinit_s", p.quic_initial_s, False, v6, QUIC_LONG_S), 0, 0
        yield 1, t.udp("qhs_s", p.quic_handshake_s, False, v6, QUIC_LONG_S), 0, 0
        yield 0, t.udp("qshort_c64", p.quic_short[64], True, v6, QUIC_SHORT_C), 0, 0
        yield 0, t.udp("qshort_c350", p.quic_short[350], True, v6, QUIC_SHORT_C), 0, 0
        big = t.udp("qshort_s1252", p.quic_short[1252], False, v6, QUIC_SHORT_S)
        mid = t.udp("qshort_s1200", p.quic_short[1200], False, v6, QUIC_SHORT_S)
        ack = t.udp("qshort_c42", p.quic_short[42], True, v6, QUIC_SHORT_C)
        for i in range(n):
            yield 1, big if rng.random() < 0.8 else mid, 0, 0
            if i % 4 == 3:
                yield 0, ack, 0, 0


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


class Writer:
    def __init__(self, path: Path, fmt: str) -> None:
        self.f = open(path, "wb")  # noqa: SIM115
        self.fmt = fmt
        self.buf: list[bytes] = []
        self.buffered = 0
        self.size = 0
        self.packets = 0
        if fmt == "pcap":
            self._put(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        else:
            shb_body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
            self._put(
                struct.pack("<II", 0x0A0D0D0A, 12 + len(shb_body))
                + shb_body
                + struct.pack("<I", 12 + len(shb_body))
            )
            idb_body = struct.pack("<HHI", 1, 0, 262144)
            self._put(
                struct.pack("<II", 1, 12 + len(idb_body)) + idb_body + struct.pack("<I", 12 + len(idb_body))
            )

    def _put(self, b: bytes) -> None:
        self.buf.append(b)
        self.buffered += len(b)
        if self.buffered >= 8 * MIB:
            self.flush()

    def flush(self) -> None:
        self.f.write(b"".join(self.buf))
        self.size += self.buffered
        self.buf, self.buffered = [], 0

    def close(self) -> None:
        self.flush()
        self.f.close()


def generate(
    path: Path,
    size_mb: float,
    seed: int,
    fmt: str,
    concurrency: int = 160,
    stale_checksums: bool = False,
    gap_ms: float = 12.0,
) -> dict:
    world = World(seed)
    rng = random.Random(seed + 4)
    w = Writer(path, fmt)
    target = int(size_mb * MIB)
    pack_into = struct.pack_into
    hdr = struct.Struct("<IIII").pack
    epb = struct.Struct("<IIIIIII").pack
    pcap = fmt == "pcap"
    clock = START_US + seed % 1000 * 1_000_000
    gap_rate = 1 / (gap_ms * 1000)
    active: list = [world.new_flow() for _ in range(concurrency)]
    written = w.buffered
    buf = w.buf
    started = time.perf_counter()
    n_packets = 0
    while written < target:
        i = rng.randrange(concurrency)
        fl = active[i]
        clock += int(rng.expovariate(gap_rate)) + 1  # mean gap_ms between bursts
        if isinstance(fl, list):  # a group of complete local frames
            frames = fl
            active[i] = world.new_flow()
        else:
            lo, hi = fl.burst
            frames = []
            for _ in range(rng.randint(lo, hi)):
                step = next(fl.steps, None)
                if step is None:
                    active[i] = world.new_flow()
                    break
                d, t, seq, ack = step
                f = bytearray(t.raw)
                f[0:12] = fl.macs[d]
                f[t.a0 : t.a1] = fl.addrs[d]
                l4 = t.l4
                f[l4 : l4 + 4] = fl.ports[d]
                s = t.l4inv + fl.sum
                if t.tcp:
                    seq &= 0xFFFFFFFF
                    ack &= 0xFFFFFFFF
                    pack_into("!II", f, l4 + 4, seq, ack)
                    s += (seq >> 16) + (seq & 0xFFFF) + (ack >> 16) + (ack & 0xFFFF)
                for off, key, odd in t.patches:
                    e = fl.extra[key]
                    f[off : off + len(e[0])] = e[0]
                    s += e[odd]
                s = (s & 0xFFFF) + (s >> 16)
                s = (s & 0xFFFF) + (s >> 16)
                ck = ~s & 0xFFFF
                if not t.tcp and ck == 0:
                    ck = 0xFFFF
                if not stale_checksums:
                    pack_into("!H", f, t.l4ck, ck)
                if not t.v6:
                    fl.ipid = ipid = (fl.ipid + 1) & 0xFFFF
                    pack_into("!H", f, 18, ipid)
                    if not stale_checksums:
                        s = t.ipinv + fl.asum + ipid
                        s = (s & 0xFFFF) + (s >> 16)
                        s = (s & 0xFFFF) + (s >> 16)
                        pack_into("!H", f, 24, ~s & 0xFFFF)
                frames.append(bytes(f))
        for f in frames:
            n = len(f)
            clock += rng.randrange(20, 400)
            if pcap:
                buf.append(hdr(clock // 1_000_000, clock % 1_000_000, n, n))
                buf.append(f)
                written += 16 + n
            else:
                pad = -n % 4
                total = 32 + n + pad
                buf.append(epb(6, total, 0, clock >> 32, clock & 0xFFFFFFFF, n, n))
                buf.append(f + b"\x00" * pad + struct.pack("<I", total))
                written += total
        n_packets += len(frames)
        if written - w.size >= 8 * MIB:
            w.buffered = written - w.size
            w.flush()
            buf = w.buf
    w.buffered = written - w.size
    w.close()
    return {
        "path": str(path),
        "format": fmt,
        "bytes": path.stat().st_size,
        "packets": n_packets,
        "flows": world.flows,
        "hosts": len(world.hosts),
        "templates": world.t.built,
        "seconds": round(time.perf_counter() - started, 2),
        "duration_s": round((clock - START_US - seed % 1000 * 1_000_000) / 1e6, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--size-mb",
        type=float,
        required=True,
        help="minimum size of the output in MiB (the last burst may go past it)",
    )
    ap.add_argument("--output", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", choices=("pcap", "pcapng"), default="pcap")
    ap.add_argument(
        "--concurrency", type=int, default=160, help="flows in progress at any time (default 160)"
    )
    ap.add_argument(
        "--gap-ms",
        type=float,
        default=12.0,
        help="mean time between bursts (default 12); smaller means more flows per "
        "second of capture, i.e. a busier network",
    )
    ap.add_argument(
        "--stale-checksums",
        action="store_true",
        help="leave the template checksums in place (for testing dissectors)",
    )
    args = ap.parse_args(argv)
    if args.size_mb <= 0:
        ap.error("--size-mb must be positive")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    info = generate(
        args.output, args.size_mb, args.seed, args.format, args.concurrency, args.stale_checksums, args.gap_ms
    )
    print(
        f"wrote {info['path']}: {info['bytes'] / MIB:.1f} MiB {info['format']}, "
        f"{info['packets']} packets, ~{info['flows']} flows, {info['hosts']} hosts, "
        f"{info['duration_s']:.0f} s of traffic ({info['flows'] / max(info['duration_s'], 1):.0f} "
        f"flows/s), {info['templates']} templates, "
        f"in {info['seconds']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
