"""nmap XML source on hand-written files in the shape nmap 7.94 writes (tests/fixtures/nmap)."""

from __future__ import annotations

import gzip
import hashlib
import struct
from collections.abc import Iterable
from pathlib import Path

import pytest

from phonehome.model import InputSummary
from phonehome.sources.capture import CaptureSource
from phonehome.sources.interface import HostSighting, HostSignal, Item, Source, SourceError
from phonehome.sources.nmap import MAX_VALUE_CHARS, NmapSource, normalise_mac
from phonehome.sources.registry import detect, read_head

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nmap"
LAN = FIXTURES / "lan-sV-O.xml"

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<?xml-stylesheet href="file:///usr/bin/../share/nmap/nmap.xsl" type="text/xsl"?>
<!-- Nmap 7.94SVN scan initiated Tue Mar  5 10:12:03 2024 as: nmap -sV -oX t.xml 192.168.1.0/24 -->
<nmaprun scanner="nmap" args="nmap -sV -oX t.xml 192.168.1.0/24" start="1709633523" \
startstr="Tue Mar  5 10:12:03 2024" version="7.94SVN" xmloutputversion="1.05">
<scaninfo type="syn" protocol="tcp" numservices="1000" services="1,3-4,6-7"/>
<verbose level="0"/>
<debugging level="0"/>
"""
FOOTER = """<runstats><finished time="1709633712" timestr="Tue Mar  5 10:15:12 2024" elapsed="189.41" \
exit="success"/><hosts up="1" down="0" total="1"/>
</runstats>
</nmaprun>
"""


def _host(
    ports: str = "", *, ip: str = "192.168.1.50", mac: str | None = "C0:56:E3:00:00:01", extra: str = ""
) -> str:
    mac_line = (
        f'<address addr="{mac}" addrtype="mac" vendor="Hangzhou Hikvision Digital Technology"/>\n'
        if mac
        else ""
    )
    return (
        '<host starttime="1709633535" endtime="1709633712"><status state="up" reason="arp-response" '
        'reason_ttl="0"/>\n'
        f'<address addr="{ip}" addrtype="ipv4"/>\n{mac_line}<hostnames>\n</hostnames>\n'
        f'<ports>{ports}</ports>\n{extra}<times srtt="1234" rttvar="312" to="100000"/>\n</host>\n'
    )


def _port(
    portid: int, scripts: str, service: str = '<service name="http" method="probed" conf="10"/>'
) -> str:
    return (
        f'<port protocol="tcp" portid="{portid}"><state state="open" reason="syn-ack" reason_ttl="64"/>'
        f"{service}{scripts}</port>\n"
    )


def _write(tmp_path: Path, body: str, name: str = "scan.xml") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body + FOOTER, encoding="utf-8")
    return path


def _read(path: Path) -> tuple[list[HostSighting], list[HostSignal], InputSummary]:
    items = list(NmapSource().read(path))
    summaries = [i for i in items if isinstance(i, InputSummary)]
    assert len(summaries) == 1 and items[-1] is summaries[0]
    sightings = [i for i in items if isinstance(i, HostSighting)]
    signals = [i for i in items if isinstance(i, HostSignal)]
    assert len(sightings) + len(signals) + 1 == len(items)
    return sightings, signals, summaries[0]


def _pairs(
    signals: Iterable[HostSignal], mac: str | None = None, ip: str | None = None
) -> set[tuple[str, str]]:
    return {
        (s.kind, s.value) for s in signals if (mac is None or s.mac == mac) and (ip is None or s.ip == ip)
    }


# --- detection -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.xml")), ids=lambda p: p.name)
def test_sniff_claims_real_nmap_heads(fixture: Path) -> None:
    assert NmapSource().sniff(fixture, read_head(fixture)) > 0.9


def test_sniff_looks_through_gzip_as_the_registry_passes_it(tmp_path: Path) -> None:
    path = tmp_path / "scan.xml.gz"
    path.write_bytes(gzip.compress(LAN.read_bytes()))
    head = read_head(path)
    assert head[:2] == b"\x1f\x8b"
    assert NmapSource().sniff(path, head[2:]) > 0.9


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0"?>\r\n<!-- masscan v1.0 scan -->\r\n<nmaprun scanner="masscan" start',
        b'<?xml version="1.0" ?>\n<?xml-stylesheet href="/usr/share/nmap/nmap.xsl" type="te',
        b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n',
    ],
    ids=["masscan", "old-nmap-stylesheet", "bom"],
)
def test_sniff_claims_other_nmap_style_heads(head: bytes) -> None:
    assert NmapSource().sniff(Path("x"), head[:64]) > 0.5


@pytest.mark.parametrize(
    "head",
    [
        struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + b"\x00" * 40,
        b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a\x01\x00\x00\x00" + b"\xff" * 8,
        b"ip,mac,hostname,vendor\n192.168.1.64,c0:56:e3:a1:b2:c3,cam,Hikvision\n",
        b'<?xml version="1.0" encoding="UTF-8"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0">',
        b"",
    ],
    ids=["pcap", "pcapng", "csv", "other-xml", "empty"],
)
def test_sniff_rejects_other_inputs(head: bytes) -> None:
    assert NmapSource().sniff(Path("scan.xml"), head[:64]) < 0


def test_detect_picks_nmap_for_scans_and_capture_for_pcaps(tmp_path: Path) -> None:
    sources: dict[str, Source] = {"capture": CaptureSource(), "nmap": NmapSource()}
    pcap = tmp_path / "capture.pcap"
    pcap.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    gz = tmp_path / "scan.xml.gz"
    gz.write_bytes(gzip.compress(LAN.read_bytes()))
    assert isinstance(detect(LAN, sources), NmapSource)
    assert isinstance(detect(gz, sources), NmapSource)
    assert isinstance(detect(pcap, sources), CaptureSource)


# --- a LAN scan with -sV -O and scripts ------------------------------------------------------------

ROUTER, CAMERA, NVR, PC = "00:e0:fc:3a:7b:21", "c0:56:e3:a1:b2:c3", "3c:ef:8c:11:22:33", "3c:a9:f4:de:5f:60"


def test_lan_scan_sightings_and_summary() -> None:
    sightings, signals, summary = _read(LAN)
    assert {(s.mac, s.ip, s.hostname) for s in sightings} == {
        (ROUTER, "192.168.1.1", "router.lan"),
        (CAMERA, "192.168.1.64", None),
        (NVR, "192.168.1.108", "nvr-entrance"),
        (PC, "192.168.1.23", "desktop-7q2m4kd.lan"),
    }
    assert all(
        s.kind == "nmap" and s.first_seen == 1709633535 and s.last_seen == 1709633712 for s in sightings
    )
    assert all(s.source == str(LAN) for s in [*sightings, *signals])
    assert not [s for s in [*sightings, *signals] if s.ip == "192.168.1.200"]  # the host that was down
    assert summary.kind == "nmap-xml"
    assert summary.packets == 5  # four up, one down
    assert summary.sha256 == hashlib.sha256(LAN.read_bytes()).hexdigest()
    assert summary.errors == () and summary.skipped == 0
    assert all(s.mac is not None and s.ip is not None for s in signals)


def test_lan_scan_hikvision_camera_evidence() -> None:
    _, signals, _ = _read(LAN)
    assert _pairs(signals, CAMERA) == {
        ("open_port", "tcp/23 telnet"),
        ("open_port", "tcp/80 http"),
        ("open_port", "tcp/443 ssl/http"),
        ("open_port", "tcp/554 rtsp"),
        ("nmap_service", "BusyBox telnetd"),
        ("nmap_service", "cpe:/a:busybox:busybox"),
        ("nmap_service", "Hikvision IP camera httpd devicetype=webcam"),
        ("nmap_service", "cpe:/h:hikvision:ds-2cd2042wd"),
        ("nmap_service", "Hikvision IP camera rtspd devicetype=webcam"),
        ("telnet_banner", "192.0.0.64 login:"),
        ("http_server", "App-webs/"),
        ("favicon_md5", "89a932fcc4f5d5a6e4b3f7c4f1a2e3d0"),
        (
            "tls_subject",
            "commonName=www.hikvision.com, organizationalUnitName=DVRNVR, organizationName=HIKVISION, "
            "localityName=HangZhou, stateOrProvinceName=ZheJiang, countryName=CN",
        ),
        (
            "tls_issuer",
            "commonName=www.hikvision.com, organizationalUnitName=DVRNVR, organizationName=HIKVISION, "
            "localityName=HangZhou, stateOrProvinceName=ZheJiang, countryName=CN",
        ),
        ("nmap_os", "Linux 3.2 - 4.9"),
        ("nmap_os", "Hikvision DS-7600 NVR or DS-2CD camera (Linux 3.0)"),
    }


def test_lan_scan_dahua_nvr_evidence_from_fingerprint_and_broadcast_upnp() -> None:
    _, signals, _ = _read(LAN)
    assert _pairs(signals, NVR) == {
        ("hostname", "nvr-entrance"),
        ("hostname", "nvr-entrance.lan"),
        ("open_port", "tcp/80 http"),
        ("open_port", "tcp/443 https"),
        ("open_port", "tcp/554 rtsp"),
        ("open_port", "tcp/37777"),
        ("http_title", "WEB SERVICE"),
        ("favicon_md5", "1e3f5a7c9b2d4f6081a3c5e7092b4d6f"),
        ("rtsp_server", "Dahua Rtsp Server"),
        ("nmap_os", "Linux 3.10 - 4.11"),
        ("ssdp_server", "Linux, UPnP/1.0, Private UPnP SDK"),
        ("http_server", "Linux, UPnP/1.0, Private UPnP SDK"),
        ("upnp_manufacturer", "Dahua"),
        ("upnp_model", "DHI-NVR4108HS-4KS2 4.001.0000000.6.R"),
    }


def test_lan_scan_huawei_router_evidence() -> None:
    _, signals, _ = _read(LAN)
    found = _pairs(signals, ROUTER)
    assert {
        ("ssh_banner", "SSH-2.0-HUAWEI-VRP8.0"),
        ("nmap_service", "Huawei VRP sshd (protocol 2.0) devicetype=router"),
        ("nmap_service", "cpe:/o:huawei:vrp:8.0"),
        ("telnet_banner", "Login authentication Username:"),
        ("http_title", "HUAWEI AX3 Pro"),
        ("tls_subject", "commonName=mediarouter.home, organizationName=Huawei, countryName=CN"),
        ("tls_issuer", "commonName=root.home, organizationName=Huawei, countryName=CN"),
        ("upnp_manufacturer", "Huawei Technologies Co., Ltd."),
        ("upnp_model", "WS7200 1.0"),
        ("nmap_os", "Huawei AR-series router (VRP 8)"),
        ("open_port", "udp/161 snmp"),
        ("open_port", "udp/1900 upnp"),
    } <= found
    sysdescr = [v for k, v in found if k == "nmap_service" and v.startswith("Huawei Versatile")]
    assert sysdescr == [
        "Huawei Versatile Routing Platform Software VRP (R) software, Version 8.180 "
        "(AR6120 V300R019C10SPC300) Copyright (C) 2011-2020 HUAWEI TECH CO., LTD HUAWEI AR6120"
    ]
    assert ("nmap_os", "Linux 4.4") not in found  # accuracy 84
    assert ("upnp_model", "Wireless Router") not in found  # the description only stands in for a name
    assert not [v for k, v in found if k == "open_port" and v.startswith("udp/137")]  # closed


def test_lan_scan_windows_pc_names_and_os_threshold() -> None:
    _, signals, _ = _read(LAN)
    found = _pairs(signals, PC)
    assert {
        ("hostname", "desktop-7q2m4kd.lan"),
        ("hostname", "DESKTOP-7Q2M4KD"),
        ("tls_subject", "commonName=DESKTOP-7Q2M4KD"),
        ("nmap_service", "Microsoft Windows RPC"),
        ("nmap_service", "cpe:/o:microsoft:windows"),
        ("nmap_os", "Microsoft Windows 10 1709 - 21H2"),
        ("nmap_os", "Microsoft Windows Server 2012"),  # exactly 85
    } <= found
    assert ("nmap_os", "Microsoft Windows 7 SP1") not in found  # 82
    assert not [v for k, v in found if k == "open_port" and v.startswith("udp/161")]  # open|filtered


def test_values_are_not_repeated_per_host() -> None:
    _, signals, _ = _read(LAN)
    keys = [(s.mac, s.kind, s.value) for s in signals]
    assert len(keys) == len(set(keys))


# --- other scans --------------------------------------------------------------------------------


def test_remote_scan_without_mac() -> None:
    sightings, signals, summary = _read(FIXTURES / "remote-no-mac.xml")
    assert [(s.mac, s.ip, s.hostname) for s in sightings] == [(None, "203.0.113.45", "cam-gate.example.net")]
    assert {s.mac for s in signals} == {None} and {s.ip for s in signals} == {"203.0.113.45"}
    assert _pairs(signals) == {
        ("hostname", "cam-gate.example.net"),
        ("hostname", "45.113.0.203.static.example-isp.net"),
        ("open_port", "tcp/80 http"),
        ("open_port", "tcp/554 rtsp"),
        ("open_port", "tcp/37777"),
        ("nmap_service", "Dahua webcam httpd devicetype=webcam"),
        ("nmap_service", "Dahua rtspd devicetype=webcam"),
        ("http_title", "WEB SERVICE"),
    }
    assert summary.packets == 1


def test_ipv6_host() -> None:
    sightings, signals, _ = _read(FIXTURES / "ipv6.xml")
    assert [(s.mac, s.ip) for s in sightings] == [("44:19:b6:0a:0b:0c", "2001:db8:10::64")]
    assert ("open_port", "tcp/554 rtsp") in _pairs(signals, "44:19:b6:0a:0b:0c", "2001:db8:10::64")
    assert ("open_port", "tcp/22 ssh") not in _pairs(signals)  # closed


def test_gzip_compressed_scan(tmp_path: Path) -> None:
    path = tmp_path / "lan.xml.gz"
    path.write_bytes(gzip.compress(LAN.read_bytes()))
    plain = _read(LAN)
    sightings, signals, summary = _read(path)
    assert summary.kind == "nmap-xml+gzip"
    assert summary.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [(s.mac, s.ip) for s in sightings] == [(s.mac, s.ip) for s in plain[0]]
    assert [(s.kind, s.value) for s in signals] == [(s.kind, s.value) for s in plain[1]]


def test_nbstat_gives_the_mac_of_a_host_scanned_across_a_router(tmp_path: Path) -> None:
    nbstat = (
        '<hostscript><script id="nbstat" output="NetBIOS name: OFFICE-PC, NetBIOS user: &lt;unknown&gt;, '
        'NetBIOS MAC: 3c:a9:f4:de:5f:61 (Intel Corporate)"><elem key="server_name">OFFICE-PC</elem>\n'
        '<elem key="user">&lt;unknown&gt;</elem>\n<table key="mac">\n'
        '<elem key="manuf">Intel Corporate</elem>\n'
        '<elem key="address">3c:a9:f4:de:5f:61</elem>\n</table>\n</script></hostscript>'
    )
    sightings, signals, _ = _read(_write(tmp_path, _host(ip="10.20.0.5", mac=None, extra=nbstat)))
    assert [(s.mac, s.ip, s.hostname) for s in sightings] == [("3c:a9:f4:de:5f:61", "10.20.0.5", "OFFICE-PC")]
    assert _pairs(signals, "3c:a9:f4:de:5f:61") == {("hostname", "OFFICE-PC")}


def test_nbstat_text_only_and_unknown_mac(tmp_path: Path) -> None:
    samba = (
        '<hostscript><script id="nbstat" output="NetBIOS name: NAS01, NetBIOS user: &lt;unknown&gt;, '
        'NetBIOS MAC: &lt;unknown&gt; (unknown)"/></hostscript>'
    )
    sightings, signals, _ = _read(_write(tmp_path, _host(ip="10.20.0.6", mac=None, extra=samba)))
    assert [(s.mac, s.ip) for s in sightings] == [(None, "10.20.0.6")]
    assert _pairs(signals) == set()  # old text without the MAC pattern: nothing guessed


def test_hosts_without_start_time_take_the_scan_start(tmp_path: Path) -> None:
    body = (
        '<host><status state="up" reason="arp-response" reason_ttl="0"/>\n'
        '<address addr="192.168.1.9" addrtype="ipv4"/>\n<address addr="00:11:22:33:44:55" addrtype="mac"/>\n'
        "<hostnames>\n</hostnames>\n</host>\n"
    )
    sightings, signals, _ = _read(_write(tmp_path, body))
    assert [(s.first_seen, s.last_seen) for s in sightings] == [(1709633523.0, None)]
    assert signals == []


def test_host_without_usable_address_is_counted_as_skipped(tmp_path: Path) -> None:
    body = (
        '<host><status state="up" reason="user-set" reason_ttl="0"/>\n'
        '<address addr="not-an-address" addrtype="ipv4"/>\n</host>\n'
    )
    sightings, signals, summary = _read(_write(tmp_path, body))
    assert sightings == [] and signals == []
    assert summary.packets == 1 and summary.skipped == 1


# --- scripts: current and older output shapes -----------------------------------------------------


def test_http_auth_structured_and_text_realms(tmp_path: Path) -> None:
    structured = (
        '<script id="http-auth" output="&#xa;HTTP/1.1 401 Unauthorized&#xd;&#xa;  Digest realm=DS-2CD2042WD '
        'nonce=4e6a513d qop=auth"><table>\n<elem key="scheme">Digest</elem>\n<table key="params">\n'
        '<elem key="nonce">4e6a513d</elem>\n<elem key="realm">DS-2CD2042WD</elem>\n'
        '<elem key="qop">auth</elem>\n'
        "</table>\n</table>\n</script>"
    )
    text_only = (
        '<script id="http-auth" output="&#xa;HTTP/1.0 401 Unauthorized&#xa;'
        "  Basic realm=IP Camera(C1234)&#xa;"
        '  Digest nonce=a1b2 realm=DVRNVRDVS qop=auth"/>'
    )
    body = _host(_port(80, structured) + _port(8080, text_only))
    _, signals, _ = _read(_write(tmp_path, body))
    assert {v for k, v in _pairs(signals) if k == "http_realm"} == {
        "DS-2CD2042WD",
        "IP Camera(C1234)",
        "DVRNVRDVS",
    }


def test_older_text_only_title_certificate_and_server_header(tmp_path: Path) -> None:
    scripts = (
        '<script id="http-title" output="Embedded Net DVR"/>'
        '<script id="http-server-header" output="DNVRS-Webs"><table key="Server">\n<elem>DNVRS-Webs</elem>\n'
        "</table>\n</script>"
        '<script id="ssl-cert" output="Subject: commonName=www.hikvision.com/organizationName=HIKVISION/'
        'stateOrProvinceName=ZheJiang/countryName=CN&#xa;Not valid before: 2017-06-22 08:15:43"/>'
    )
    _, signals, _ = _read(_write(tmp_path, _host(_port(80, scripts))))
    assert {
        ("http_title", "Embedded Net DVR"),
        ("http_server", "DNVRS-Webs"),
        (
            "tls_subject",
            "commonName=www.hikvision.com, organizationName=HIKVISION, "
            "stateOrProvinceName=ZheJiang, countryName=CN",
        ),
    } <= _pairs(signals)


def test_titles_nmap_could_not_get_are_not_titles(tmp_path: Path) -> None:
    scripts = (
        '<script id="http-title" output="Site doesn&apos;t have a title (text/html)."/>'
        '<script id="http-favicon" output="Apache on Mac OS X"/>'
    )
    redirect = (
        '<script id="http-title" output="Did not follow redirect to https://192.168.1.50/">'
        '<elem key="redirect_url">https://192.168.1.50/</elem>\n</script>'
    )
    _, signals, _ = _read(_write(tmp_path, _host(_port(80, scripts) + _port(8080, redirect))))
    assert {k for k, _ in _pairs(signals)} == {"open_port"}


def test_banners_by_service(tmp_path: Path) -> None:
    ftp = _port(
        21,
        '<script id="banner" output="220 DVR FTP server ready.\\x0D\\x0A"/>',
        '<service name="ftp" method="table" conf="3"/>',
    )
    ssh = _port(
        2222,
        '<script id="banner" output="SSH-2.0-dropbear_2019.78"/>',
        '<service name="EtherNetIP-1" method="table" conf="3"/>',
    )
    wrapped = _port(
        23,
        '<script id="banner" output="\\xFF\\xFB\\x01\\xFF\\xFB\\x03\\xFF\\xFD\\x18\\xFF\\xFD\\x1F'
        "Dahua NVR Tel&#xa;"
        'net login:"/>',
        '<service name="telnet" method="table" conf="3"/>',
    )
    other = _port(
        25, '<script id="banner" output="220 mail ESMTP"/>', '<service name="smtp" method="table" conf="3"/>'
    )
    _, signals, _ = _read(_write(tmp_path, _host(ftp + ssh + wrapped + other)))
    found = _pairs(signals)
    assert {
        ("ftp_banner", "220 DVR FTP server ready."),
        ("ssh_banner", "SSH-2.0-dropbear_2019.78"),
        ("telnet_banner", "Dahua NVR Telnet login:"),
    } <= found
    assert not [v for k, v in found if v.startswith("220 mail")]


def test_service_fingerprint_server_headers_and_ssh_greeting(tmp_path: Path) -> None:
    fp_http = (
        "SF-Port8081-TCP:V=7.94SVN%I=7%D=3/5%Time=65E6F1B2%P=x86_64-pc-linux-gnu%r(GetR&#xa;SF:equest,5C,&quot;"
        "HTTP/1\\.1\\x20200\\x20OK\\r\\nServer:\\x20Hikvision-Webs\\r\\nContent-Length:\\x200\\r\\n\\r\\n&quot;)"
        "%r(&#xa;SF:RTSPRequest,2C,&quot;RTSP/1\\.0\\x20200\\x20OK\\r\\nServer:\\x20Hikvision\\x20Rtsp&#xa;SF:"
        "\\r\\n\\r\\n&quot;);"
    )
    fp_ssh = (
        "SF-Port2022-TCP:V=7.94SVN%I=7%D=3/5%Time=65E6F1B2%P=x86_64-pc-linux-gnu%r(NULL,&#xa;SF:17,&quot;"
        "SSH-2\\.0-HUAWEI-1\\.5\\r\\n&quot;);"
    )
    body = _host(
        _port(8081, "", f'<service name="http" servicefp="{fp_http}" method="probed" conf="10"/>')
        + _port(2022, "", f'<service name="ssh" servicefp="{fp_ssh}" method="probed" conf="10"/>')
    )
    _, signals, _ = _read(_write(tmp_path, body))
    assert {
        ("http_server", "Hikvision-Webs"),
        ("rtsp_server", "Hikvision Rtsp"),
        ("ssh_banner", "SSH-2.0-HUAWEI-1.5"),
    } <= _pairs(signals)


def test_service_hostname_attribute_is_a_host_name(tmp_path: Path) -> None:
    service = (
        '<service name="netbios-ns" product="Microsoft Windows netbios-ns" extrainfo="workgroup: WORKGROUP" '
        'hostname="LAPTOP-9" ostype="Windows" method="probed" conf="10"/>'
    )
    _, signals, _ = _read(_write(tmp_path, _host(_port(137, "", service))))
    assert ("hostname", "LAPTOP-9") in _pairs(signals)
    assert ("nmap_service", "Microsoft Windows netbios-ns (workgroup: WORKGROUP)") in _pairs(signals)


def test_broadcast_answers_without_a_host_record_keep_the_address(tmp_path: Path) -> None:
    prescript = (
        '<prescript><script id="broadcast-upnp-info" output="&#xa;  192.168.1.77&#xa;      Server: Linux, '
        "UPnP/1.0, Private UPnP SDK&#xa;      Location: http://192.168.1.77:49152/description.xml&#xa;"
        "        Name: IPC&#xa;        Manufacturer: Dahua&#xa;"
        '        Model Descr: IP Camera"/></prescript>\n'
    )
    _, signals, _ = _read(_write(tmp_path, prescript + _host()))
    assert {(s.mac, s.ip) for s in signals} == {(None, "192.168.1.77")}
    assert _pairs(signals) == {
        ("ssdp_server", "Linux, UPnP/1.0, Private UPnP SDK"),
        ("upnp_manufacturer", "Dahua"),
        ("upnp_model", "IP Camera"),
    }


def test_onvif_scopes_in_ws_discovery_output(tmp_path: Path) -> None:
    # Stock broadcast-wsdd-discover prints message id, address and types only; a version that
    # prints the answer's scopes gives ONVIF identity, which is read when present.
    prescript = (
        '<prescript><script id="broadcast-wsdd-discover" output="&#xa;  Devices&#xa;    192.168.1.50&#xa;'
        "        Message id: 4a1b8e2c-5f3d-4e1a-9c2b-c056e3000001&#xa;"
        "        Type: dn:NetworkVideoTransmitter"
        "&#xa;        Scopes: onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/name/HIKVISION "
        'onvif://www.onvif.org/hardware/DS-2CD2042WD-I onvif://www.onvif.org/location/city/hangzhou"/></prescript>\n'
    )
    _, signals, _ = _read(_write(tmp_path, prescript + _host()))
    assert _pairs(signals, "c0:56:e3:00:00:01") == {
        ("onvif_manufacturer", "HIKVISION"),
        ("onvif_model", "DS-2CD2042WD-I"),
    }


def test_values_are_trimmed_and_bounded(tmp_path: Path) -> None:
    long_title = "Camera " * 200
    scripts = f'<script id="http-title" output="x"><elem key="title">&#xa;  {long_title}&#x9;</elem></script>'
    _, signals, summary = _read(_write(tmp_path, _host(_port(80, scripts))))
    titles = [v for k, v in _pairs(signals) if k == "http_title"]
    assert summary.errors == ()
    assert len(titles) == 1 and len(titles[0]) == MAX_VALUE_CHARS
    assert titles[0].startswith("Camera Camera") and titles[0] == titles[0].strip()


# --- broken and hostile input ------------------------------------------------------------------------


def test_truncated_file_keeps_the_hosts_read(tmp_path: Path) -> None:
    data = LAN.read_bytes()
    cut = data.index(b'<address addr="192.168.1.108"')
    path = tmp_path / "cut.xml"
    path.write_bytes(data[:cut])
    sightings, signals, summary = _read(path)
    assert {s.ip for s in sightings} == {"192.168.1.1", "192.168.1.64"}
    assert summary.packets == 2
    assert len(summary.errors) == 1
    line = data[:cut].count(b"\n") + 1
    assert summary.errors[0].startswith(f"stopped at line {line}, ")
    assert "after 2 hosts" in summary.errors[0] and "truncated" in summary.errors[0]
    assert summary.sha256 == hashlib.sha256(data[:cut]).hexdigest()


def test_malformed_host_stops_with_the_line_noted(tmp_path: Path) -> None:
    good = _host(ip="192.168.1.10")
    bad = '<host><status state="up"/><address addr="192.168.1.11" addrtype="ipv4"></host>\n'
    sightings, _, summary = _read(_write(tmp_path, good + bad + _host(ip="192.168.1.12")))
    assert [s.ip for s in sightings] == ["192.168.1.10"]
    assert summary.packets == 1
    assert "mismatched tag" in summary.errors[0] and "after 1 hosts" in summary.errors[0]


def test_corrupt_gzip_tail_keeps_the_hosts_read(tmp_path: Path) -> None:
    compressed = gzip.compress(LAN.read_bytes())
    path = tmp_path / "lan.xml.gz"
    path.write_bytes(compressed[: len(compressed) * 3 // 4])
    sightings, _, summary = _read(path)
    assert summary.kind == "nmap-xml+gzip"
    assert 1 <= summary.packets < 5 and len(sightings) >= 1
    assert len(summary.errors) == 1 and "corrupt compressed data" in summary.errors[0]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE nmaprun [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<nmaprun><host><status state="up"/><address addr="10.0.0.1" addrtype="ipv4"/>
<hostnames><hostname name="&lol9;" type="PTR"/></hostnames></host></nmaprun>
"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE nmaprun [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<nmaprun><host><status state="up"/><address addr="10.0.0.1" addrtype="ipv4"/>
<hostnames><hostname name="&xxe;" type="PTR"/></hostnames></host></nmaprun>
"""
PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE nmaprun [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<nmaprun/>
"""


@pytest.mark.parametrize(
    "document",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY],
    ids=["billion-laughs", "xxe", "parameter"],
)
def test_entity_declarations_are_refused_before_anything_is_read(tmp_path: Path, document: str) -> None:
    path = tmp_path / "hostile.xml"
    path.write_text(document)
    with pytest.raises(SourceError, match="refused XML with entity declarations") as info:
        NmapSource().read(path)  # raises on the call, before any item
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


def test_old_public_doctype_is_read_without_fetching_it(tmp_path: Path) -> None:
    path = tmp_path / "old.xml"
    path.write_text(
        '<?xml version="1.0" ?>\n<?xml-stylesheet href="/usr/share/nmap/nmap.xsl" type="text/xsl"?>\n'
        '<!DOCTYPE nmaprun PUBLIC "-//IDN nmap.org//DTD Nmap XML 1.04//EN" "http://127.0.0.1:9/nmap.dtd">\n'
        '<nmaprun scanner="nmap" start="1258080887" version="4.76" xmloutputversion="1.02">\n'
        + _host(ip="192.168.0.1")
        + "</nmaprun>\n"
    )
    sightings, _, summary = _read(path)
    assert [s.ip for s in sightings] == ["192.168.0.1"] and summary.errors == ()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'<?xml version="1.0"?>\n<project><host/></project>\n', "not nmap XML (root element <project>"),
        (b"ip,mac\n192.168.1.1,00:11:22:33:44:55\n", "not XML (syntax error at line 1, column 0)"),
        (b"", "no XML element found"),
        (b'<?xml version="1.0"?>\n', "no XML element found"),
        (b"\x1f\x8b\x08\x00garbage-not-deflate", "unreadable gzip data"),
    ],
    ids=["wrong-root", "csv", "empty", "declaration-only", "bad-gzip"],
)
def test_unreadable_files_raise_one_line_source_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "input.xml"
    path.write_bytes(content)
    with pytest.raises(SourceError) as info:
        NmapSource().read(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot open"):
        NmapSource().read(tmp_path / "absent.xml")
    with pytest.raises(SourceError, match="is a directory"):
        NmapSource().read(tmp_path)


def test_progress_reports_bytes(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    items: list[Item] = list(
        NmapSource().read(LAN, lambda phase, done, total: calls.append((phase, done, total)))
    )
    size = LAN.stat().st_size
    assert items and calls[-1] == ("reading", size, size)


@pytest.mark.parametrize(
    ("text", "mac"),
    [
        ("C0:56:E3:A1:B2:C3", "c0:56:e3:a1:b2:c3"),
        ("c0-56-e3-a1-b2-c3", "c0:56:e3:a1:b2:c3"),
        ("c056.e3a1.b2c3", "c0:56:e3:a1:b2:c3"),
        ("0:1a:2b:3:4c:5d", "00:1a:2b:03:4c:5d"),
        ("00:00:00:00:00:00", None),
        ("<unknown>", None),
        ("c0:56:e3:a1:b2", None),
    ],
)
def test_normalise_mac(text: str, mac: str | None) -> None:
    assert normalise_mac(text) == mac
