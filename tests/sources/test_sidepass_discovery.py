"""Camera, recorder and router discovery evidence from the capture side pass.

Captures are written with ``phonehome.testing.craft`` (real wire formats: Hikvision SADP, Dahua
DHIP, ONVIF WS-Discovery, mDNS, DHCP) and read back through the real ``CaptureSource`` or
``SidePass``; malformed payloads on the same ports must give no signal and no exception.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phonehome.model import InputSummary
from phonehome.sources.capture import CaptureSource
from phonehome.sources.interface import HostSignal
from phonehome.sources.sidepass import SidePass
from phonehome.testing import craft
from phonehome.testing.craft import Host

T0 = 1_790_000_000.0
GATEWAY = Host("e0:06:30:11:22:33", "192.168.1.1")
CAMERA = Host("54:8c:81:aa:bb:cc", "192.168.1.64")  # Hikvision OUI
RECORDER = Host("3c:ef:8c:41:6c:ce", "192.168.1.108")  # Dahua OUI
LAPTOP = Host("00:1b:21:0a:0b:0c", "192.168.1.40")
SADP_GROUP = Host("01:00:5e:7f:ff:fa", "239.255.255.250")
DHIP_GROUP = Host("01:00:5e:7f:ff:fb", "239.255.255.251")
HIK_SCOPES = [
    "onvif://www.onvif.org/type/video_encoder",
    "onvif://www.onvif.org/Profile/Streaming",
    "onvif://www.onvif.org/hardware/DS-2CD2142FWD-I",
    "onvif://www.onvif.org/name/HIKVISION",
    "onvif://www.onvif.org/location/city/hangzhou",
]
DISCOVERY_KINDS = {
    "sadp",
    "dahua_discovery",
    "device_serial",
    "onvif_manufacturer",
    "onvif_model",
    "mdns_txt",
    "dhcp_prl",
}


def _read(tmp_path: Path, packets: list, name: str = "cap.pcap") -> tuple[set[tuple], InputSummary]:
    """Discovery signals ``(mac, ip, kind, value)`` and the summary from the real capture source."""
    path = craft.write_capture(tmp_path / name, packets)
    items = list(CaptureSource().read(path))
    summary = items[-1]
    assert isinstance(summary, InputSummary)
    signals = {
        (s.mac, s.ip, s.kind, s.value)
        for s in items
        if isinstance(s, HostSignal) and s.kind in DISCOVERY_KINDS
    }
    return signals, summary


def _side_pass(packets: list) -> list[HostSignal]:
    """Every host signal the side pass finds in ``packets`` (Ethernet frames)."""
    side = SidePass("test")
    found: list[HostSignal] = []
    for pkt in packets:
        frame = craft.frame_bytes(pkt)
        assert frame is not None
        found += [
            o
            for o in side.frame(craft.LINKTYPE_ETHERNET, float(pkt.time), frame)
            if isinstance(o, HostSignal)
        ]
    return found


def _kinds(signals: list[HostSignal]) -> set[tuple[str, str]]:
    return {(s.kind, s.value) for s in signals if s.kind in DISCOVERY_KINDS}


# ---------------------------------------------------------------------------------------------
# one capture with every protocol, through the real capture source


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[tuple], InputSummary]:
    packets = []
    packets += craft.dhcp_exchange(
        CAMERA, GATEWAY, T0, hostname="HIKCAM", param_request_list=[1, 3, 6, 15, 42]
    )
    packets += craft.sadp_reply(CAMERA, T0 + 1, searcher=LAPTOP)
    packets += craft.dahua_discovery_reply(RECORDER, T0 + 2, searcher=LAPTOP)
    packets += craft.wsd_probe_match(
        CAMERA, LAPTOP, T0 + 3, HIK_SCOPES, probe_scopes=["onvif://www.onvif.org/name/SEARCHER"]
    )
    packets += craft.wsd_hello(RECORDER, T0 + 4, ["onvif://www.onvif.org/name/Dahua%20Technology"])
    packets += craft.mdns_announce(
        LAPTOP, T0 + 5, "office-laptop", ["_ipp._tcp"], {"ty": "HP LaserJet", "usb_MDL": "LaserJet"}
    )
    tmp = tmp_path_factory.mktemp("discovery")
    return _read(tmp, packets, "office.pcapng")


def test_every_discovery_protocol_yields_exact_signals(office: tuple[set[tuple], InputSummary]) -> None:
    signals, summary = office
    assert summary.errors == ()
    cam, nvr = (CAMERA.mac, CAMERA.ip), (RECORDER.mac, RECORDER.ip)
    assert signals == {
        (CAMERA.mac, None, "dhcp_prl", "1,3,6,15,42"),
        (
            *cam,
            "sadp",
            "DeviceType=138153;DeviceDescription=DS-2CD2042WD-I;SoftwareVersion=V5.4.5build 170123",
        ),
        (*cam, "device_serial", "DS-2CD2042WD-I20170301AAWR000000001"),
        (*nvr, "dahua_discovery", "Vendor=Dahua;DeviceType=IPC-HDW2431T-AS-S2;Version=2.800.0000000.25.R"),
        (*nvr, "device_serial", "6G0A1B2PAZ00001"),
        (*cam, "onvif_manufacturer", "HIKVISION"),
        (*cam, "onvif_model", "DS-2CD2142FWD-I"),
        (*nvr, "onvif_manufacturer", "Dahua Technology"),
        (LAPTOP.mac, LAPTOP.ip, "mdns_txt", "ty=HP LaserJet"),
        (LAPTOP.mac, LAPTOP.ip, "mdns_txt", "usb_MDL=LaserJet"),
    }


def test_the_searcher_is_not_described_by_its_own_probes(office: tuple[set[tuple], InputSummary]) -> None:
    signals, _ = office
    assert not [s for s in signals if s[0] == LAPTOP.mac and s[2] != "mdns_txt"]


# ---------------------------------------------------------------------------------------------
# Hikvision SADP


def test_sadp_keeps_only_present_fields_in_order() -> None:
    packets = craft.sadp_reply(
        CAMERA, T0, description=None, serial=None, software_version="V5.5.0build 170725"
    )
    signals = _side_pass(packets)
    assert _kinds(signals) == {("sadp", "DeviceType=138153;SoftwareVersion=V5.5.0build 170725")}
    assert {(s.mac, s.ip) for s in signals} == {(CAMERA.mac, CAMERA.ip)}


def test_sadp_probe_alone_is_no_evidence() -> None:
    packets = craft.sadp_reply(CAMERA, T0, searcher=LAPTOP)[:1]
    assert b"<Probe>" in bytes(packets[0])
    assert _side_pass(packets) == []


def test_sadp_repeated_replies_are_reported_once() -> None:
    packets = craft.sadp_reply(CAMERA, T0) + craft.sadp_reply(CAMERA, T0 + 15)
    assert len(_side_pass(packets)) == 2


# ---------------------------------------------------------------------------------------------
# Dahua DHIP


def test_dahua_unsolicited_notify_without_vendor() -> None:
    packets = craft.dahua_discovery_reply(RECORDER, T0, vendor=None, device_type="DHI-NVR5216-4KS2")
    assert packets[0].dst == DHIP_GROUP.mac
    assert _kinds(_side_pass(packets)) == {
        ("dahua_discovery", "DeviceType=DHI-NVR5216-4KS2;Version=2.800.0000000.25.R"),
        ("device_serial", "6G0A1B2PAZ00001"),
    }


def test_dahua_search_request_is_no_evidence() -> None:
    packets = craft.dahua_discovery_reply(RECORDER, T0, searcher=LAPTOP)[:1]
    assert b"DHDiscover.search" in bytes(packets[0])
    assert _side_pass(packets) == []


def test_dahua_header_length_bounds_the_body() -> None:
    """Bytes after the length the header gives (padding) do not spoil the JSON."""
    body = json.dumps(
        {"mac": RECORDER.mac, "params": {"deviceInfo": {"DeviceType": "XVR5104C", "SerialNo": 7}}}
    )
    payload = craft.dhip_frame(body.encode()) + b"\x00\x00garbage"
    packets = craft.udp_datagram(RECORDER, LAPTOP, T0, 37810, 50000, payload)
    assert _kinds(_side_pass(packets)) == {("dahua_discovery", "DeviceType=XVR5104C"), ("device_serial", "7")}


# ---------------------------------------------------------------------------------------------
# ONVIF WS-Discovery


def test_probe_scopes_are_not_attributed_to_the_searcher() -> None:
    probe = craft.wsd_probe_match(
        CAMERA, LAPTOP, T0, HIK_SCOPES, probe_scopes=["onvif://www.onvif.org/hardware/X1"]
    )[:1]
    assert b"Scopes" in bytes(probe[0])
    assert _side_pass(probe) == []


def test_only_onvif_name_and_hardware_scopes_count() -> None:
    scopes = [
        "ONVIF://www.onvif.org/Name/IPC%2DCamera%20%E6%B5%B7",
        "http://www.onvif.org/name/NotOnvif",
        "onvif://www.onvif.org/hardware/",
        "onvif://www.onvif.org/type/NetworkVideoTransmitter",
        "ldap:///ou=engineering,o=exampleorg,c=us",
    ]
    signals = _side_pass(craft.wsd_hello(CAMERA, T0, scopes))
    assert _kinds(signals) == {("onvif_manufacturer", "IPC-Camera 海")}


def test_wsd_hello_over_ipv6() -> None:
    cam6 = Host(CAMERA.mac, "fe80::568c:81ff:feaa:bbcc")
    group6 = Host("33:33:00:00:00:0c", "ff02::c")
    hello = craft.wsd_hello(CAMERA, T0, HIK_SCOPES)[0]
    payload = bytes(hello["Raw"].load)
    signals = _side_pass(craft.udp_datagram(cam6, group6, T0, 3702, 3702, payload))
    assert {(s.mac, s.ip, s.kind, s.value) for s in signals} == {
        (CAMERA.mac, cam6.ip, "onvif_manufacturer", "HIKVISION"),
        (CAMERA.mac, cam6.ip, "onvif_model", "DS-2CD2142FWD-I"),
    }


def test_discovery_payloads_on_other_ports_are_not_parsed() -> None:
    reply = bytes(craft.sadp_reply(CAMERA, T0)[0]["Raw"].load)
    dhip = bytes(craft.dahua_discovery_reply(RECORDER, T0)[0]["Raw"].load)
    packets = craft.udp_datagram(CAMERA, LAPTOP, T0, 40000, 40001, reply)
    packets += craft.udp_datagram(RECORDER, LAPTOP, T0, 37811, 40001, dhip)
    assert _side_pass(packets) == []


# ---------------------------------------------------------------------------------------------
# mDNS TXT and DHCP option 55


def test_mdns_txt_strings_are_bounded_and_empty_ones_skipped() -> None:
    strings = [b"", b"=nokey", b"rpBA=AA:BB", b"flag", b"x" * 255, *(f"k{i}=v".encode() for i in range(20))]
    packets = craft.mdns_announce(LAPTOP, T0, "tv", ["_airplay._tcp"], txt_strings=strings, txt_section="ar")
    txt = [s.value for s in _side_pass(packets) if s.kind == "mdns_txt"]
    assert txt == ["rpBA=AA:BB", "flag", "x" * 200, *(f"k{i}=v" for i in range(13))]


def test_mdns_record_with_only_an_empty_txt_string_gives_nothing() -> None:
    packets = craft.mdns_announce(LAPTOP, T0, "host", ["_smb._tcp"])
    assert [s for s in _side_pass(packets) if s.kind == "mdns_txt"] == []


def test_dhcp_prl_from_discover_and_request_only() -> None:
    exchange = craft.dhcp_exchange(
        LAPTOP, GATEWAY, T0, param_request_list=[1, 121, 3, 6, 15, 119, 252, 95, 44, 46]
    )
    signals = _side_pass(exchange)
    assert [(s.mac, s.ip, s.value) for s in signals if s.kind == "dhcp_prl"] == [
        (LAPTOP.mac, None, "1,121,3,6,15,119,252,95,44,46")
    ]
    server_side = _side_pass([exchange[1], exchange[3]])  # OFFER and ACK
    assert [s for s in server_side if s.kind == "dhcp_prl"] == []


def test_dhcp_without_option_55_has_no_prl() -> None:
    signals = _side_pass(
        craft.dhcp_exchange(LAPTOP, GATEWAY, T0, vendor_class="MSFT 5.0", param_request_list=())
    )
    assert [s.kind for s in signals if s.kind.startswith("dhcp_") and s.mac == LAPTOP.mac] == [
        "dhcp_vendor_class",
        "dhcp_lease",
    ]


# ---------------------------------------------------------------------------------------------
# malformed and hostile payloads


def _sadp_xml() -> bytes:
    return bytes(craft.sadp_reply(CAMERA, T0)[0]["Raw"].load)


def _wsd_xml() -> bytes:
    return bytes(craft.wsd_hello(CAMERA, T0, HIK_SCOPES)[0]["Raw"].load)


_ENTITY_SADP = (
    b'<?xml version="1.0"?><!DOCTYPE ProbeMatch [<!ENTITY m "DS-2CD2042WD-I">]>'
    b"<ProbeMatch><DeviceType>1</DeviceType><DeviceDescription>&m;</DeviceDescription></ProbeMatch>"
)
_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{"&lol{};".format(i - 1 if i > 1 else "") * 10}">'.encode() for i in range(1, 9)
    )
    + b"]><ProbeMatch><DeviceType>&lol8;</DeviceType></ProbeMatch>"
)
_EXTERNAL_WSD = (
    b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
    b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>'
    b'<d:Hello xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">'
    b"<d:Scopes>onvif://www.onvif.org/name/&x;</d:Scopes></d:Hello></e:Body></e:Envelope>"
)
_JUNK = bytes(range(256)) * 4

MALFORMED = {
    "sadp truncated xml": (37020, _sadp_xml()[:300]),
    "sadp entity declaration": (37020, _ENTITY_SADP),
    "sadp billion laughs": (37020, _LAUGHS),
    "sadp over 8 KB": (
        37020,
        _sadp_xml().replace(b"</ProbeMatch>", b"<Pad>" + b"p" * 8192 + b"</Pad></ProbeMatch>"),
    ),
    "sadp wrong root": (
        37020,
        b"<Probe><!--<ProbeMatch>--><DeviceType>1</DeviceType><DeviceSN>9</DeviceSN></Probe>",
    ),
    "sadp junk": (37020, b"<ProbeMatch" + _JUNK),
    "sadp bad utf-8": (
        37020,
        b'<?xml version="1.0" encoding="UTF-8"?><ProbeMatch><DeviceType>\xff\xfe</DeviceType>',
    ),
    "dhip non-json": (37810, craft.dhip_frame(b"<html>not json</html>\n")),
    "dhip truncated json": (
        37810,
        craft.dhip_frame(b'{"mac" : "aa", "params" : { "deviceInfo" : { "DeviceType" : "IPC'),
    ),
    "dhip header only": (37810, craft.dhip_frame(b"")),
    "dhip short": (37810, b"\x20\x00\x00\x00DHIP"),
    "dhip wrong magic": (
        37810,
        craft.dhip_frame(b'{"params":{"deviceInfo":{"DeviceType":"X"}}}').replace(b"DHIP", b"DHIQ"),
    ),
    "dhip json list": (37810, craft.dhip_frame(b'[{"params":{"deviceInfo":{"DeviceType":"X"}}}]')),
    "dhip deviceInfo not an object": (37810, craft.dhip_frame(b'{"params":{"deviceInfo":"IPC"}}')),
    "dhip deep nesting": (37810, craft.dhip_frame(b"[" * 8000)),
    "dhip junk": (37810, craft.dhip_frame(_JUNK)),
    "wsd truncated xml": (3702, _wsd_xml()[:-40]),
    "wsd external entity": (3702, _EXTERNAL_WSD),
    "wsd junk": (3702, b"Scopes" + _JUNK),
    "wsd deep nesting": (3702, b"<a>" * 2000 + b"Scopes"),
    "mdns junk": (5353, _JUNK),
    "empty sadp": (37020, b""),
    "empty dhip": (37810, b""),
    "empty wsd": (3702, b""),
}


@pytest.mark.parametrize("port,payload", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_payload_gives_no_signal(port: int, payload: bytes) -> None:
    packets = craft.udp_datagram(CAMERA, SADP_GROUP, T0, port, port, payload)
    assert _side_pass(packets) == []


def test_malformed_capture_reads_cleanly_and_keeps_good_frames(tmp_path: Path) -> None:
    packets = []
    for n, (port, payload) in enumerate(MALFORMED.values()):
        packets += craft.udp_datagram(CAMERA, SADP_GROUP, T0 + n, port, port, payload)
    packets += craft.sadp_reply(CAMERA, T0 + 100, description="DS-7608NI-K2", serial=None)
    signals, summary = _read(tmp_path, packets)
    assert summary.errors == ()
    assert summary.packets == len(packets)
    assert signals == {
        (
            CAMERA.mac,
            CAMERA.ip,
            "sadp",
            "DeviceType=138153;DeviceDescription=DS-7608NI-K2;SoftwareVersion=V5.4.5build 170123",
        )
    }
