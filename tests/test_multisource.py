"""One audit over every kind of evidence a network team has: one merged, attributed inventory.

The site: a council office where an EZVIZ (Hikvision) camera sits on a Wi-Fi module whose OUI
names the module maker, behind a Huawei router. An nmap scan, the DHCP server's leases, Zeek
logs without MACs, the switch's ARP table, the asset register (XLSX) and a short capture each see
part of it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from phonehome import exitcodes
from phonehome.testing.craft import Host, dhcp_exchange, tls_session, write_capture

T0 = 1_790_000_000
CAMERA = Host("24:0a:c4:11:22:33", "10.20.0.64")  # Espressif module OUI: the maker of the Wi-Fi chip
LAPTOP = Host("3c:22:fb:01:02:03", "10.20.0.9")
ROUTER = Host("00:e0:fc:3a:7b:21", "10.20.0.1")  # Huawei OUI

NMAP_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sV -oX scan.xml 10.20.0.0/24" start="{T0}" startstr="" version="7.93"
 xmloutputversion="1.05">
<scaninfo type="syn" protocol="tcp" numservices="1000" services="1-1000"/>
<host starttime="{T0}" endtime="{T0 + 60}"><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="10.20.0.64" addrtype="ipv4"/>
<address addr="24:0A:C4:11:22:33" addrtype="mac" vendor="Espressif"/>
<hostnames></hostnames>
<ports>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/>
<service name="http" product="Hikvision IP camera httpd" devicetype="webcam" method="probed"
 conf="10"/></port>
<port protocol="tcp" portid="554"><state state="open" reason="syn-ack" reason_ttl="64"/>
<service name="rtsp" method="table" conf="3"/></port>
</ports>
</host>
<host starttime="{T0}" endtime="{T0 + 60}"><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="10.20.0.1" addrtype="ipv4"/>
<address addr="00:E0:FC:3A:7B:21" addrtype="mac" vendor="Huawei Technologies"/>
<hostnames><hostname name="router.lan" type="PTR"/></hostnames>
<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/>
<service name="ssh" product="Huawei VRP sshd" extrainfo="protocol 2.0" devicetype="router" method="probed"
 conf="10"/></port></ports>
</host>
<runstats><finished time="{T0 + 60}" timestr="" elapsed="60" summary="" exit="success"/>
<hosts up="2" down="254" total="256"/></runstats>
</nmaprun>
"""

LEASES = f"""{T0 + 86400} 24:0a:c4:11:22:33 10.20.0.64 lobby-cam 01:24:0a:c4:11:22:33
{T0 + 86400} 3c:22:fb:01:02:03 10.20.0.9 clerk-laptop *
"""

_ZEEK_HEAD = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
CONN_LOG = (
    _ZEEK_HEAD
    + "#path\tconn\n#open\t2026-09-21-12-00-00\n"
    + "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\t"
    "resp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\t"
    "resp_pkts\tresp_ip_bytes\ttunnel_parents\n"
    + "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\t"
    "bool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n"
    + f"{T0 + 100}.000000\tC1\t10.20.0.64\t51514\t47.246.2.1\t443\ttcp\tssl\t12.5\t15200\t4821\t"
    "SF\tT\tF\t0\t"
    "ShADadFf\t22\t16000\t41\t5000\t-\n"
    + f"{T0 + 200}.000000\tC2\t10.20.0.9\t40213\t17.253.53.207\t443\ttcp\tssl\t1.5\t900\t48000\tSF\tT\tF\t0\t"
    "ShADadFf\t10\t1200\t40\t50000\t-\n" + "#close\t2026-09-21-13-00-00\n"
)
SSL_LOG = (
    _ZEEK_HEAD
    + "#path\tssl\n#open\t2026-09-21-12-00-00\n"
    + "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tcipher\tcurve\tserver_name\t"
    "resumed\tlast_alert\tnext_protocol\testablished\tssl_history\tcert_chain_fps\tclient_cert_chain_fps\t"
    "sni_matches_cert\tvalidation_status\n"
    + "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tstring\tbool\tstring\t"
    "string\tbool\tstring\tvector[string]\tvector[string]\tbool\tstring\n"
    + f"{T0 + 100}.100000\tC1\t10.20.0.64\t51514\t47.246.2.1\t443\tTLSv13\t"
    "TLS_AES_128_GCM_SHA256\tx25519\t"
    "apiieu.ezvizlife.com\tF\t-\t-\tT\tCsiI\t-\t-\t-\t-\n" + "#close\t2026-09-21-13-00-00\n"
)
ARP_TABLE = """Protocol  Address          Age (min)  Hardware Addr   Type   Interface
Internet  10.20.0.1               -   00e0.fc3a.7b21  ARPA   Vlan20
Internet  10.20.0.64              3   240a.c411.2233  ARPA   Vlan20
Internet  10.20.0.9               1   3c22.fb01.0203  ARPA   Vlan20
"""


def _register(path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Civic Centre asset register", None, None, None, None])
    sheet.append([])
    sheet.append(["Asset Tag", "Description", "Manufacturer", "Model", "IP Address", "Serial Number"])
    sheet.append(["CC-0042", "Lobby camera", "EZVIZ", "CS-C6N-A0-1C2WFR", "10.20.0.64", "F12345678"])
    sheet.append(["CC-0007", "Clerk laptop", "Dell", "Latitude 5440", "10.20.0.9", "8XK2PQ3"])
    book.save(path)


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("site")
    # Names say nothing about the format: detection must use the content.
    files = {
        "scan-results": NMAP_XML,
        "leases-export": LEASES,
        "log-a": CONN_LOG,
        "log-b": SSL_LOG,
        "switch-arp": ARP_TABLE,
    }
    paths = []
    for name, text in files.items():
        (d / name).write_text(text, encoding="utf-8")
        paths.append(d / name)
    _register(d / "register")
    paths.append(d / "register")
    packets = dhcp_exchange(CAMERA, ROUTER, T0 + 5, hostname="lobby-cam")
    packets += tls_session(CAMERA, "47.246.2.1", T0 + 10, "apiieu.ezvizlife.com", ROUTER.mac, up_bytes=4000)
    packets += tls_session(LAPTOP, "198.51.100.30", T0 + 11, "www.example.org", ROUTER.mac)
    paths.append(write_capture(d / "span-port", packets))
    return paths


def _audit(paths: list[Path], workspace: Path) -> dict:  # type: ignore[type-arg]
    result = subprocess.run(
        [sys.executable, "-m", "phonehome", "audit", *map(str, paths), "-w", str(workspace), "-f", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (exitcodes.OK, exitcodes.FINDINGS), result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_every_input_is_recognised_by_content(evidence: list[Path], tmp_path: Path) -> None:
    doc = _audit(evidence, tmp_path / "ws")
    kinds = {Path(i["path"]).name: i["kind"] for i in doc["inputs"]}
    assert kinds == {
        "scan-results": "nmap-xml",
        "leases-export": "dnsmasq-leases",
        "log-a": "zeek-conn",
        "log-b": "zeek-ssl",
        "switch-arp": "cisco-arp",
        "register": "asset-xlsx",
        "span-port": "pcap",
    }


def test_one_device_per_host_across_all_inputs(evidence: list[Path], tmp_path: Path) -> None:
    doc = _audit(evidence, tmp_path / "ws")
    ids = sorted(d["id"] for d in doc["devices"])
    assert ids == [f"mac:{ROUTER.mac}", f"mac:{CAMERA.mac}", f"mac:{LAPTOP.mac}"]
    camera = next(d for d in doc["devices"] if d["id"] == f"mac:{CAMERA.mac}")
    assert {Path(s).name for s in camera["sources"]} == {
        "scan-results",
        "leases-export",
        "log-a",
        "log-b",
        "switch-arp",
        "register",
        "span-port",
    }
    ip_sources = {Path(a["source"]).name for a in camera["addresses"] if a["value"] == CAMERA.ip}
    assert {"leases-export", "register", "switch-arp", "log-a"} <= ip_sources
    laptop = next(d for d in doc["devices"] if d["id"] == f"mac:{LAPTOP.mac}")
    assert laptop["bytes_out"] >= 1200  # the MAC-less Zeek flow was joined through the lease


def test_rebranded_camera_on_a_module_oui_is_attributed_to_hikvision(
    evidence: list[Path], tmp_path: Path
) -> None:
    doc = _audit(evidence, tmp_path / "ws")
    camera = next(d for d in doc["devices"] if d["id"] == f"mac:{CAMERA.mac}")
    assert camera["vendor_id"] in ("hikvision", "ezviz")
    assert camera["device_type"] == "camera"
    assert camera["model"] == "CS-C6N-A0-1C2WFR"
    assert camera["confidence"] >= 0.9
    kinds = {e["kind"] for e in camera["evidence"] if e.get("weight")}
    assert {"nmap_service", "asset_vendor", "asset_model", "cloud_endpoint"} <= kinds
    # The module maker's OUI disagrees and stays visible.
    assert any(e["kind"] == "oui" and "Espressif" in e["value"] for e in camera["evidence"])
    rules = {f["rule_id"] for f in doc["findings"] if f["device_id"] == camera["id"]}
    assert {"PH-FCC-004", "PH-889-004"} <= rules
    router_rules = {f["rule_id"] for f in doc["findings"] if f["device_id"] == f"mac:{ROUTER.mac}"}
    assert "PH-FCC-001" in router_rules


def test_explain_names_every_source(evidence: list[Path], tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _audit(evidence, ws)
    result = subprocess.run(
        [sys.executable, "-m", "phonehome", "explain", "lobby-cam", "-w", str(ws)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == exitcodes.OK, result.stderr
    assert "Device mac:24:0a:c4:11:22:33" in result.stdout
    assert "asset_model: CS-C6N-A0-1C2WFR" in result.stdout
    assert "Espressif" in result.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "phonehome", "explain", "no-such-host", "-w", str(ws)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == exitcodes.USAGE
    assert missing.stderr.count("\n") == 1 and "no device" in missing.stderr
