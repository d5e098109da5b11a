"""Inventory building on crafted captures read through the real capture source."""

from __future__ import annotations

from pathlib import Path

import pytest

from phonehome.identify.inventory import Inventory, InventoryBuilder, is_local_ip
from phonehome.sources.capture import CaptureSource
from phonehome.sources.interface import FlowRecord
from phonehome.testing.craft import (
    Host,
    dhcp_exchange,
    dns_exchange,
    mdns_announce,
    ssdp_notify,
    tls_session,
    udp_exchange,
    write_capture,
)

T0 = 1_790_000_000.0
GATEWAY = Host("e0:06:30:11:22:33", "192.168.1.1")  # Huawei OUI
CAMERA = Host("54:8c:81:aa:bb:cc", "192.168.1.20")  # Hikvision OUI
PHONE = Host("da:a1:19:01:02:03", "192.168.1.30")  # locally administered
LAPTOP = Host("00:1b:21:0a:0b:0c", "192.168.1.40", "fd00::40")


def _office() -> list:
    packets = []
    packets += dhcp_exchange(
        CAMERA, GATEWAY, T0, hostname="HIKVISION-CAM", vendor_class="hik-vc/1.0"
    )
    packets += dns_exchange(CAMERA, GATEWAY, T0 + 1, "relay.example.net", ["203.0.113.50"])
    packets += udp_exchange(
        CAMERA, "203.0.113.50", T0 + 2, 8800, [b"hello" * 20], [b"ok"], gateway_mac=GATEWAY.mac
    )
    packets += tls_session(
        CAMERA, "198.51.100.10", T0 + 3, "api.hik-connect.com", GATEWAY.mac, up_bytes=3000
    )
    packets += tls_session(PHONE, "198.51.100.20", T0 + 4, "www.apple.com", GATEWAY.mac)
    packets += tls_session(LAPTOP, "198.51.100.30", T0 + 5, "www.example.org", GATEWAY.mac)
    packets += tls_session(LAPTOP, "2001:db8::30", T0 + 6, "v6.example.org", GATEWAY.mac)
    packets += mdns_announce(LAPTOP, T0 + 7, "office-laptop", ["_workstation._tcp"])
    packets += ssdp_notify(
        CAMERA,
        T0 + 8,
        "Linux/3.0 UPnP/1.0 App-Webs/",
        "http://192.168.1.20/desc.xml",
        "upnp:rootdevice",
        "uuid:1234::upnp:rootdevice",
    )
    return packets


def _inventory(path: Path) -> tuple[Inventory, list]:
    builder = InventoryBuilder()
    items = list(CaptureSource().read(path))
    for item in items[:-1]:
        builder.add(item)
    return builder.build(), items


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    path = write_capture(tmp_path_factory.mktemp("cap") / "office.pcap", _office())
    return _inventory(path)[0]


def test_devices_are_merged_by_mac(office: Inventory) -> None:
    assert set(office.devices) == {f"mac:{h.mac}" for h in (GATEWAY, CAMERA, PHONE, LAPTOP)}
    assert office.devices[f"mac:{LAPTOP.mac}"].ips == {"192.168.1.40", "fd00::40"}


def test_gateway_is_a_device_with_its_role(office: Inventory) -> None:
    gateway = office.devices[f"mac:{GATEWAY.mac}"]
    assert "gateway" in gateway.roles
    assert "192.168.1.1" in gateway.ips
    # Remote addresses reached through the gateway are not the gateway's own.
    assert not any(ip.startswith("198.51.100.") for ip in gateway.ips)


def test_randomised_mac_is_flagged(office: Inventory) -> None:
    assert "randomised-mac" in office.devices[f"mac:{PHONE.mac}"].roles
    assert "randomised-mac" not in office.devices[f"mac:{CAMERA.mac}"].roles


def test_signals_reach_their_device(office: Inventory) -> None:
    camera = office.devices[f"mac:{CAMERA.mac}"]
    kinds = {(s.kind, s.value) for s in camera.signals}
    assert ("dhcp_hostname", "HIKVISION-CAM") in kinds
    assert ("dhcp_vendor_class", "hik-vc/1.0") in kinds
    assert ("ssdp_server", "Linux/3.0 UPnP/1.0 App-Webs/") in kinds
    laptop = office.devices[f"mac:{LAPTOP.mac}"]
    assert ("mdns_name", "office-laptop.local") in {(s.kind, s.value) for s in laptop.signals}


def test_traffic_is_per_device_and_remote_address(office: Inventory) -> None:
    camera = f"mac:{CAMERA.mac}"
    tls = office.traffic[(camera, "198.51.100.10")]
    assert tls.names == {"api.hik-connect.com": 1}
    assert tls.bytes_out > 3000 and tls.bytes_in > 0 and tls.flows == 1
    # A flow without SNI is named later from the DNS answer the camera received.
    assert (camera, "203.0.113.50") in office.traffic
    assert "relay.example.net" in office.dns["203.0.113.50"]["192.168.1.20"]
    # Traffic to the resolver on the LAN is not a destination.
    assert (camera, "192.168.1.1") not in office.traffic
    assert (f"mac:{LAPTOP.mac}", "2001:db8::30") in office.traffic


@pytest.mark.parametrize(
    ("fmt", "linktype", "gz"), [("pcapng", 276, False), ("pcap", 113, True), ("pcap", 101, False)]
)
def test_other_link_types_and_gzip(tmp_path: Path, fmt: str, linktype: int, gz: bool) -> None:
    path = write_capture(tmp_path / f"c.{fmt}", _office(), fmt=fmt, linktype=linktype, gzip=gz)
    inventory, items = _inventory(path)
    flows = [i for i in items if isinstance(i, FlowRecord)]
    assert any(f.server_name == "api.hik-connect.com" for f in flows)
    assert items[-1].packets == len(_office()) or linktype == 101
    if linktype == 101:
        # No Ethernet headers: the camera is known by the MAC its DHCP request carries (chaddr),
        # and its flows, keyed by IP on the wire, join that device; other hosts stay keyed by IP.
        camera = f"mac:{CAMERA.mac}"
        assert "ip:192.168.1.20" not in inventory.devices
        assert (camera, "198.51.100.10") in inventory.traffic
        assert "ip:192.168.1.40" in inventory.devices


def test_local_address_ranges() -> None:
    assert is_local_ip("10.1.2.3") and is_local_ip("100.64.0.1") and is_local_ip("fe80::1")
    assert not is_local_ip("198.51.100.1") and not is_local_ip("8.8.8.8")
