"""The packet factories in phonehome.testing.craft, read back with nfstream and dpkt."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import ipaddress
import json
import shutil
import struct
import sys
from pathlib import Path

import pytest

pytest.importorskip("scapy")
dpkt = pytest.importorskip("dpkt")

from phonehome.testing import craft  # noqa: E402
from phonehome.testing.craft import Host  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_793_610_000.0  # 2026-11-02T09:00:00Z
GW = Host("e0:06:30:5a:1c:01", "192.168.1.1")
CAM = Host("54:8c:81:3e:92:a7", "192.168.1.64")
PHONE = Host("64:09:80:c2:5d:18", "192.168.1.23", "2001:db8:1:1::23")
UA = "Dalvik/2.1.0 (Linux; U; Android 13; Redmi Note 11 MIUI/V14.0.6.0.TGCMIXM)"
V6_SERVER = "2a00:1450:4001:82b::2004"

# (fmt, linktype, gzip)
VARIANTS = [
    ("pcap", None, False),
    ("pcapng", None, False),
    ("pcap", 101, False),
    ("pcapng", 101, False),
    ("pcap", 113, False),
    ("pcapng", 113, False),
    ("pcap", 276, False),
    ("pcapng", 276, False),
    ("pcap", None, True),
    ("pcapng", 276, True),
]


def _ids(v: tuple) -> str:
    fmt, lt, gz = v
    return f"{fmt}-{lt or 1}{'-gz' if gz else ''}"


def scenario() -> list:
    pk: list = []
    pk += craft.dhcp_exchange(
        PHONE,
        GW,
        T0,
        hostname="Redmi-Note-11",
        vendor_class="android-dhcp-13",
        param_request_list=[1, 3, 6, 15],
    )
    pk += craft.dhcp_exchange(CAM, GW, T0 + 0.5, hostname="HIKVISION-CAM")
    pk += craft.dns_exchange(
        PHONE,
        GW,
        T0 + 1,
        "api.hik-connect.com",
        ["3.64.112.47"],
        cname_chain=["hik.eu.example", "elb.eu.example"],
    )
    pk += craft.dns_exchange(PHONE, GW, T0 + 1.5, "www.google.com", [V6_SERVER], qtype="AAAA")
    pk += craft.tls_session(
        PHONE, "3.64.112.47", T0 + 2, "api.hik-connect.com", GW.mac, up_bytes=4000, down_bytes=30000
    )
    pk += craft.tls_session(
        PHONE, "18.184.33.190", T0 + 3, "litedev.hik-connect.com", GW.mac, tls13=False, dport=8883
    )
    pk += craft.tls_session(PHONE, V6_SERVER, T0 + 4, "www.google.com", GW.mac)
    pk += craft.http_exchange(
        PHONE,
        "120.92.96.10",
        T0 + 5,
        "tracking.miui.com",
        "/track/v4",
        method="POST",
        user_agent=UA,
        body=b'{"imei":"868123051234566"}',
        gateway_mac=GW.mac,
    )
    pk += craft.udp_exchange(
        CAM,
        "47.96.44.150",
        T0 + 6,
        8800,
        [b"probe"] * 3,
        [b"ok"] * 3,
        gateway_mac=GW.mac,
        sport=37778,
    )
    pk += craft.mdns_announce(PHONE, T0 + 7, "DESKTOP-OFFICE1", ["_smb._tcp"], {"k": "v"}, port=445)
    pk += craft.ssdp_notify(
        CAM,
        T0 + 8,
        "Linux/3.10.0, UPnP/1.0, HIKVISION/1.0",
        "http://192.168.1.64:49152/rootDesc.xml",
        "upnp:rootdevice",
        "uuid:abc::upnp:rootdevice",
    )
    pk += craft.ssdp_msearch_response(
        CAM,
        PHONE,
        T0 + 9,
        "Linux/3.10.0, UPnP/1.0, HIKVISION/1.0",
        "http://192.168.1.64:49152/rootDesc.xml",
        "ssdp:all",
        "uuid:abc",
    )
    pk += craft.rtsp_session(
        PHONE, CAM, T0 + 10, "rtsp://192.168.1.64:554/ch1", duration=2, media_bytes=20000
    )
    return pk


@pytest.fixture(scope="module")
def packets() -> list:
    return scenario()


@pytest.fixture(scope="module", params=VARIANTS, ids=_ids)
def capture(request, packets, tmp_path_factory) -> tuple[Path, int, str, bool]:
    fmt, lt, gz = request.param
    path = tmp_path_factory.mktemp("cap") / f"c.{fmt}{'.gz' if gz else ''}"
    craft.write_capture(path, packets, fmt=fmt, linktype=lt, gzip=gz, comment="SYNTHETIC test")
    return path, lt or 1, fmt, gz


def _plain_bytes(path: Path, gz: bool) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if gz else data


def _header_linktype(data: bytes, fmt: str) -> int:
    if fmt == "pcap":
        return struct.unpack("<I", data[20:24])[0]
    shb_len = struct.unpack("<I", data[4:8])[0]
    assert struct.unpack("<I", data[shb_len : shb_len + 4])[0] == 1  # IDB follows the SHB
    return struct.unpack("<H", data[shb_len + 8 : shb_len + 10])[0]


def _frames(path: Path, fmt: str, gz: bool):
    fh = gzip.open(path, "rb") if gz else path.open("rb")
    with fh:
        reader = dpkt.pcap.Reader(fh) if fmt == "pcap" else dpkt.pcapng.Reader(fh)
        yield from reader


def _decode(buf: bytes, linktype: int):
    """``(src_mac or None, ip packet)`` for one frame."""
    if linktype == 1:
        eth = dpkt.ethernet.Ethernet(buf)
        return eth.src, eth.data
    if linktype == 101:
        return None, (dpkt.ip.IP(buf) if buf[0] >> 4 == 4 else dpkt.ip6.IP6(buf))
    if linktype == 113:
        sll = dpkt.sll.SLL(buf)
        assert sll.hlen == 6
        return sll.hdr[:6], sll.data
    if linktype == 276:
        sll2 = dpkt.sll2.SLL2(buf)
        assert sll2.hlen == 6
        return sll2.hdr[:6], sll2.data
    raise AssertionError(linktype)


def _mac(s: str) -> bytes:
    return bytes.fromhex(s.replace(":", ""))


def test_header_linktype_and_sorted_times(capture):
    path, lt, fmt, gz = capture
    data = _plain_bytes(path, gz)
    if gz:
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert _header_linktype(data, fmt) == lt
    times = [float(ts) for ts, _ in _frames(path, fmt, gz)]
    assert times == sorted(times)
    assert times[0] == pytest.approx(T0, abs=1e-6)


def test_dpkt_parses_protocols(capture):
    path, lt, fmt, gz = capture
    seen: dict[str, list] = {"dhcp": [], "dns": [], "mdns": [], "ssdp": [], "sni": [], "http": []}
    macs = set()
    for _ts, buf in _frames(path, fmt, gz):
        src_mac, ip = _decode(buf, lt)
        macs.add(src_mac)
        l4 = ip.data
        if isinstance(l4, dpkt.udp.UDP):
            ports = {l4.sport, l4.dport}
            if 67 in ports:
                seen["dhcp"].append(dict(dpkt.dhcp.DHCP(l4.data).opts))
            elif 5353 in ports:
                seen["mdns"].append(dpkt.dns.DNS(l4.data))
            elif 53 in ports:
                seen["dns"].append(dpkt.dns.DNS(l4.data))
            elif 1900 in ports:
                seen["ssdp"].append(l4.data)
        elif isinstance(l4, dpkt.tcp.TCP) and l4.data:
            if l4.dport in (443, 8883) and l4.data[:1] == b"\x16" and l4.data[5:6] == b"\x01":
                hello = dpkt.ssl.TLSHandshake(dpkt.ssl.TLSRecord(l4.data).data).data
                sni = dict(hello.extensions)[0]
                seen["sni"].append(sni[5:].decode())
            elif l4.dport == 80:
                seen["http"].append(dpkt.http.Request(l4.data))

    if lt in (113, 276):
        assert _mac(PHONE.mac) in macs and _mac(GW.mac) in macs
    elif lt == 1:
        assert _mac(CAM.mac) in macs

    discover = seen["dhcp"][0]
    assert discover[12] == b"Redmi-Note-11"
    assert discover[60] == b"android-dhcp-13"
    assert discover[55] == bytes([1, 3, 6, 15])
    assert any(o.get(12) == b"HIKVISION-CAM" for o in seen["dhcp"])

    responses = [d for d in seen["dns"] if d.qr == dpkt.dns.DNS_R]
    a_resp = next(d for d in responses if d.qd[0].name == "api.hik-connect.com")
    assert [rr.cname for rr in a_resp.an if rr.type == dpkt.dns.DNS_CNAME] == [
        "hik.eu.example",
        "elb.eu.example",
    ]
    a = [rr for rr in a_resp.an if rr.type == dpkt.dns.DNS_A]
    assert [(rr.name, rr.ip) for rr in a] == [("elb.eu.example", bytes([3, 64, 112, 47]))]
    aaaa_resp = next(d for d in responses if d.qd[0].type == dpkt.dns.DNS_AAAA)
    assert ipaddress.ip_address(aaaa_resp.an[0].ip6) == ipaddress.ip_address(V6_SERVER)

    (mdns,) = seen["mdns"]
    by_type = {(rr.type, rr.name): rr for rr in mdns.an}
    assert by_type[(dpkt.dns.DNS_A, "DESKTOP-OFFICE1.local")].ip == bytes([192, 168, 1, 23])
    assert by_type[(dpkt.dns.DNS_PTR, "_smb._tcp.local")].ptrname == (
        "DESKTOP-OFFICE1._smb._tcp.local"
    )
    srv = by_type[(dpkt.dns.DNS_SRV, "DESKTOP-OFFICE1._smb._tcp.local")]
    assert (srv.srvname, srv.port) == ("DESKTOP-OFFICE1.local", 445)
    assert by_type[(dpkt.dns.DNS_TXT, "DESKTOP-OFFICE1._smb._tcp.local")].text == ["k=v"]

    assert seen["ssdp"][0].startswith(b"NOTIFY * HTTP/1.1\r\n")
    assert b"SERVER: Linux/3.10.0, UPnP/1.0, HIKVISION/1.0\r\n" in seen["ssdp"][0]
    assert any(p.startswith(b"M-SEARCH * HTTP/1.1") for p in seen["ssdp"])
    assert any(p.startswith(b"HTTP/1.1 200 OK") and b"USN: uuid:abc" in p for p in seen["ssdp"])

    assert seen["sni"] == ["api.hik-connect.com", "litedev.hik-connect.com", "www.google.com"]
    (req,) = seen["http"]
    assert (req.method, req.uri, req.headers["host"]) == ("POST", "/track/v4", "tracking.miui.com")
    assert req.headers["user-agent"] == UA
    assert json.loads(req.body) == {"imei": "868123051234566"}


def _nfstream_flows(path: Path, gz: bool, tmp_path: Path):
    nfstream = pytest.importorskip("nfstream")
    if gz:  # libpcap reads no gzip: look at the decompressed copy
        plain = tmp_path / path.name.removesuffix(".gz")
        with gzip.open(path, "rb") as src, plain.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        path = plain
    return list(nfstream.NFStreamer(source=str(path)))


def test_nfstream_sees_names(capture, tmp_path):
    path, lt, fmt, gz = capture
    if lt == 276:
        pytest.skip("nfstream 6.6 decodes no DLT_LINUX_SLL2 frames; covered by dpkt above")
    flows = _nfstream_flows(path, gz, tmp_path)
    by_port: dict[int, list] = {}
    for f in flows:
        by_port.setdefault(f.dst_port, []).append(f)

    tls = {(f.dst_ip, f.requested_server_name) for p in (443, 8883) for f in by_port[p]}
    assert tls == {
        ("3.64.112.47", "api.hik-connect.com"),
        ("18.184.33.190", "litedev.hik-connect.com"),
        (V6_SERVER, "www.google.com"),
    }
    hik = next(f for f in by_port[443] if f.dst_ip == "3.64.112.47")
    assert hik.src_ip == PHONE.ip
    assert hik.src2dst_bytes > 4000 and hik.dst2src_bytes > 30000
    if lt == 1:
        assert (hik.src_mac, hik.dst_mac) == (PHONE.mac, GW.mac)

    (http,) = by_port[80]
    assert http.requested_server_name == "tracking.miui.com"
    assert http.user_agent == UA

    dhcp_names = {f.requested_server_name for f in by_port[67]}
    assert "redmi-note-11" in {str(n).lower() for n in dhcp_names}

    assert {f.requested_server_name for f in by_port[53]} >= {
        "api.hik-connect.com",
        "www.google.com",
    }
    assert by_port[554][0].application_name == "RTSP"
    assert by_port[5353][0].application_name == "MDNS"
    assert by_port[1900][0].application_name == "SSDP"


def test_write_capture_is_deterministic(packets, tmp_path):
    for fmt, lt, gz in VARIANTS:
        a = craft.write_capture(tmp_path / f"a.{fmt}", packets, fmt=fmt, linktype=lt, gzip=gz)
        b = craft.write_capture(tmp_path / f"b.{fmt}", scenario(), fmt=fmt, linktype=lt, gzip=gz)
        assert a.read_bytes() == b.read_bytes(), (fmt, lt, gz)


def test_raw_ip_drops_nothing_but_non_ip(packets, tmp_path):
    path = craft.write_capture(tmp_path / "raw.pcap", packets, linktype=101)
    assert sum(1 for _ in _frames(path, "pcap", False)) == len(packets)


def test_pcapng_section_comment(tmp_path, packets):
    path = craft.write_capture(
        tmp_path / "c.pcapng", packets[:2], fmt="pcapng", comment="SYNTHETIC capture"
    )
    shb_len = struct.unpack("<I", path.read_bytes()[4:8])[0]
    assert b"SYNTHETIC capture" in path.read_bytes()[:shb_len]


def test_tls_client_hello_bytes():
    rec = dpkt.ssl.TLSRecord(craft.tls_client_hello("m1.tuyaeu.com", tls13=True, seed=1))
    hello = dpkt.ssl.TLSHandshake(rec.data).data
    exts = dict(hello.extensions)
    assert exts[0][5:] == b"m1.tuyaeu.com"
    assert exts[43] == b"\x04\x03\x04\x03\x03"  # supported_versions: TLS 1.3, 1.2
    assert craft.tls_client_hello("x", seed=1) == craft.tls_client_hello("x", seed=1)
    assert craft.tls_client_hello("x", seed=1) != craft.tls_client_hello("x", seed=2)


def _load_demo_script():
    spec = importlib.util.spec_from_file_location(
        "make_demo_capture", ROOT / "scripts" / "make_demo_capture.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_demo_script_is_deterministic(tmp_path):
    demo = _load_demo_script()
    first, second = tmp_path / "one.pcapng", tmp_path / "two.pcapng"
    assert demo.main(["--output", str(first)]) == 0
    assert demo.main(["--output", str(second)]) == 0
    data = first.read_bytes()
    assert data == second.read_bytes()
    shb_len = struct.unpack("<I", data[4:8])[0]
    assert b"SYNTHETIC" in data[:shb_len]
    committed = ROOT / "demo" / "office.pcapng"
    if committed.exists():
        assert (
            hashlib.sha256(committed.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
        ), "demo/office.pcapng is stale: run scripts/make_demo_capture.py"


def test_demo_capture_flows(tmp_path):
    nfstream = pytest.importorskip("nfstream")
    demo = _load_demo_script()
    path = demo.build_demo(tmp_path / "office.pcapng")
    flows = list(nfstream.NFStreamer(source=str(path)))
    snis = {f.requested_server_name for f in flows if f.dst_port in (443, 8883, 10001)}
    assert snis == {
        "api.hik-connect.com",
        "litedev.hik-connect.com",
        "iotaccess.easy4ipcloud.com",
        "a1.tuyaeu.com",
        "m1.tuyaeu.com",
        "data.mistat.xiaomi.com",
        "api.account.xiaomi.com",
        "loc.map.baidu.com",
        "www.bbc.co.uk",
        "outlook.office365.com",
        "www.google.com",
        "www.apple.com",
        "gateway.icloud.com",
    }
    remote_macs = {f.dst_mac for f in flows if f.dst_port in (443, 8883, 10001, 8800, 80)}
    assert remote_macs == {demo.GATEWAY.mac}
    assert any(f.ip_version == 6 for f in flows)
    miui = next(
        f for f in flows if f.requested_server_name == "tracking.miui.com" and f.dst_port == 80
    )
    assert miui.user_agent == demo.MIUI_UA
    assert miui.src_mac == demo.XIAOMI.mac
    p2p = [f for f in flows if f.dst_port == 8800]
    assert p2p and p2p[0].src_mac == demo.NVR.mac and p2p[0].dst_ip == "47.96.44.150"
