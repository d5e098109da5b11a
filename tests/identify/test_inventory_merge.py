"""One inventory across sources: MAC, then IP within a time window, then host name."""

from __future__ import annotations

from phonehome.identify.inventory import AddressBook, InventoryBuilder
from phonehome.sources.interface import FlowRecord, HostSighting, HostSignal, ServerName

T0 = 1_790_000_000.0
CAMERA_MAC = "54:8c:81:aa:bb:cc"
LAPTOP_MAC = "00:1b:21:0a:0b:0c"


def _flow(
    src_ip: str, dst_ip: str, t: float, up: int = 100, down: int = 50, src_mac: str | None = None
) -> FlowRecord:
    return FlowRecord(
        src_mac, src_ip, None, dst_ip, 6, 40000, 443, up, down, t, t + 1, None, None, None, None, "conn.log"
    )


def _build(*items: object) -> InventoryBuilder:
    builder = InventoryBuilder()
    for item in items:
        builder.add(item)  # type: ignore[arg-type]
    return builder


def test_flows_without_macs_join_the_device_a_lease_names() -> None:
    inventory = _build(
        _flow("192.168.1.20", "198.51.100.10", T0, up=700),
        HostSighting(CAMERA_MAC, "192.168.1.20", "dhcp_lease", "leases", T0 - 60, T0 + 3600, "cam-lobby"),
    ).build()
    assert set(inventory.devices) == {f"mac:{CAMERA_MAC}"}
    camera = inventory.devices[f"mac:{CAMERA_MAC}"]  # type: ignore[index]
    assert camera.ips == {"192.168.1.20"}
    assert camera.bytes_out == 700
    assert camera.address_sources["192.168.1.20"] == {"conn.log", "leases"}
    assert {s.value for s in camera.signals if s.kind == "hostname"} == {"cam-lobby"}
    assert (camera.id, "198.51.100.10") in inventory.traffic


def test_a_reused_address_goes_to_whoever_held_it_at_the_time() -> None:
    inventory = _build(
        HostSighting(CAMERA_MAC, "192.168.1.50", "dhcp_lease", "leases", T0, T0 + 100),
        HostSighting(LAPTOP_MAC, "192.168.1.50", "dhcp_lease", "leases", T0 + 1000, T0 + 2000),
        _flow("192.168.1.50", "198.51.100.10", T0 + 1500, up=999),
    ).build()
    laptop = inventory.devices[f"mac:{LAPTOP_MAC}"]  # type: ignore[index]
    camera = inventory.devices[f"mac:{CAMERA_MAC}"]  # type: ignore[index]
    assert laptop.bytes_out == 999
    assert camera.bytes_out == 0


def test_address_book_gives_up_when_records_cannot_tell() -> None:
    book = AddressBook()
    book.add("10.0.0.5", CAMERA_MAC, None, None, "arp-a")
    book.add("10.0.0.5", LAPTOP_MAC, None, None, "arp-b")
    assert book.mac_for("10.0.0.5", T0, T0 + 1) is None
    book2 = AddressBook()
    book2.add("10.0.0.5", CAMERA_MAC, None, None, "arp")
    assert book2.mac_for("10.0.0.5", T0, T0) == CAMERA_MAC


def test_a_host_known_only_by_name_joins_the_mac_device_with_that_name() -> None:
    inventory = _build(
        HostSignal(CAMERA_MAC, "192.168.1.20", "dhcp_hostname", "CAM-LOBBY", "capture.pcap"),
        HostSighting(None, None, "asset_register", "assets.csv", hostname="cam-lobby.council.local"),
        HostSignal(None, "10.9.9.9", "asset_model", "DS-2CD2142FWD-I", "assets.csv"),
    ).build()
    assert f"mac:{CAMERA_MAC}" in inventory.devices
    assert not any(d.startswith("name:") for d in inventory.devices)


def test_two_mac_devices_with_the_same_name_are_not_merged() -> None:
    inventory = _build(
        HostSignal(CAMERA_MAC, "192.168.1.20", "dhcp_hostname", "android", "capture.pcap"),
        HostSignal(LAPTOP_MAC, "192.168.1.21", "dhcp_hostname", "android", "capture.pcap"),
        HostSighting(None, None, "asset_register", "assets.csv", hostname="android"),
    ).build()
    assert "name:android" in inventory.devices


def test_server_names_from_logs_name_the_flow_destination() -> None:
    inventory = _build(
        _flow("192.168.1.20", "198.51.100.10", T0),
        ServerName("192.168.1.20", "198.51.100.10", "API.Hik-Connect.com.", "tls_sni", T0, "ssl.log"),
        ServerName("192.168.1.20", "203.0.113.9", "ntp.example.org", "tls_sni", T0, "ssl.log"),
    ).build()
    pair = inventory.traffic[("ip:192.168.1.20", "198.51.100.10")]  # type: ignore[index]
    assert pair.names == {"api.hik-connect.com": 1}
    assert pair.flows == 1
    only_named = inventory.traffic[("ip:192.168.1.20", "203.0.113.9")]  # type: ignore[index]
    assert only_named.flows == 1 and only_named.bytes_out == 0


def test_a_scanned_public_address_is_a_device() -> None:
    inventory = _build(
        HostSighting(None, "203.0.113.80", "nmap", "scan.xml", T0, T0 + 5, "cam.example")
    ).build()
    assert set(inventory.devices) == {"ip:203.0.113.80"}


def test_signals_of_a_name_only_record_follow_the_name() -> None:
    inventory = _build(
        HostSighting(None, None, "asset_register", "assets.csv", hostname="Stores-Camera"),
        HostSignal(None, None, "asset_vendor", "Hikvision", "assets.csv", host="Stores-Camera"),
        HostSignal(None, None, "asset_model", "DS-7608NI", "other.csv", host="Stores-Camera"),
    ).build()
    draft = inventory.devices["name:stores-camera"]  # type: ignore[index]
    kinds = {s.kind for s in draft.signals}
    assert "asset_vendor" in kinds
    assert "asset_model" not in kinds  # another input's row of the same name is not this row
