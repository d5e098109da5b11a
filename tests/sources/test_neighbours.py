"""ARP, neighbour and switch MAC tables read from real-format fixtures."""

from __future__ import annotations

import codecs
import random
import struct
from pathlib import Path

import pytest

from phonehome.model import InputSummary
from phonehome.sources.interface import HostSighting, HostSignal, Item, SourceError
from phonehome.sources.leases import LeasesSource
from phonehome.sources.neighbours import NeighbourTableSource, normalise_mac
from phonehome.sources.nfdump import NfdumpSource
from phonehome.sources.registry import read_head
from phonehome.testing.damage import damage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "neighbours"
SOURCE = NeighbourTableSource()

PCAP_HEAD = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1) + b"\x00" * 40
NMAP_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n<?xml-sty'
ZEEK_HEAD = b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_fie"

HUAWEI, HIKVISION, DAHUA, APPLE = (
    "00:1e:10:1f:00:01",
    "44:19:b6:2a:3b:4c",
    "3c:ef:8c:0a:0b:0c",
    "3c:22:fb:01:02:03",
)
CISCO = "00:11:22:33:44:55"


def _read(path: Path) -> tuple[list[Item], InputSummary]:
    items = list(SOURCE.read(path))
    summary = items.pop()
    assert isinstance(summary, InputSummary)
    assert not any(isinstance(i, InputSummary) for i in items)
    return items, summary


def _arp(path: Path, pairs: list[tuple[str, str, str | None]]) -> list[Item]:
    return [HostSighting(mac, ip, "arp", str(path), hostname=name) for mac, ip, name in pairs]


def _port(path: Path, pairs: list[tuple[str, str]]) -> list[Item]:
    out: list[Item] = []
    for mac, port in pairs:
        out += [
            HostSighting(mac, None, "mac_table", str(path)),
            HostSignal(mac, None, "switch_port", port, str(path)),
        ]
    return out


@pytest.mark.parametrize(
    ("name", "kind", "records", "expected"),
    [
        (
            "ip-neigh.txt",
            "ip-neigh",
            7,  # FAILED and INCOMPLETE are read but have no MAC
            [
                (HUAWEI, "192.168.1.1", None),
                (HIKVISION, "192.168.1.64", None),
                (HUAWEI, "fe80::21e:10ff:fe1f:1", None),  # the "router" flag does not hide the address
                (HIKVISION, "2001:db8:1::64", None),
                (APPLE, "192.168.1.9", None),
            ],
        ),
        (
            "arp-linux-a.txt",
            "arp-linux",
            4,
            [
                (HUAWEI, "192.168.1.1", None),
                (HIKVISION, "192.168.1.64", "camera-hall.lan"),
                (APPLE, "192.168.1.9", None),
            ],
        ),
        (
            "arp-linux-n.txt",
            "arp-linux",
            4,
            [(HUAWEI, "192.168.1.1", None), (HIKVISION, "192.168.1.64", None), (APPLE, "192.168.1.9", None)],
        ),
        (
            "arp-macos.txt",
            "arp-macos",
            5,  # unpadded octets; incomplete, broadcast and multicast entries left out
            [(HUAWEI, "192.168.1.1", None), (DAHUA, "192.168.1.108", "nvr.local")],
        ),
        (
            "arp-windows.txt",
            "arp-windows",
            7,  # two interfaces; broadcast and 01-00-5e multicast entries left out
            [
                (HUAWEI, "192.168.1.1", None),
                (HIKVISION, "192.168.1.64", None),
                ("00:ff:8a:11:22:33", "10.8.0.1", None),
            ],
        ),
        (
            "cisco-show-ip-arp.txt",
            "cisco-arp",
            4,
            [(CISCO, "10.1.1.1", None), (HIKVISION, "10.1.1.20", None), (DAHUA, "10.1.1.40", None)],
        ),
        ("nxos-show-ip-arp.txt", "cisco-arp", 3, [(CISCO, "10.1.1.1", None), (HIKVISION, "10.1.1.20", None)]),
    ],
)
def test_arp_layouts(name: str, kind: str, records: int, expected: list[tuple[str, str, str | None]]) -> None:
    path = FIXTURES / name
    items, summary = _read(path)
    assert items == _arp(path, expected)
    assert (summary.kind, summary.packets, summary.skipped, summary.errors) == (kind, records, 0, ())
    assert summary.path == str(path) and len(summary.sha256) == 64


@pytest.mark.parametrize(
    ("name", "records", "expected"),
    [
        (
            "cisco-show-mac-address-table.txt",
            6,  # the "All" rows are multicast and broadcast
            [(CISCO, "vlan 1 Gi1/0/1"), (HIKVISION, "vlan 1 Gi1/0/7"), (DAHUA, "vlan 20 Po1")],
        ),
        (
            "cisco-show-mac-address-table-legacy.txt",
            2,
            [(CISCO, "vlan 1 FastEthernet0/1"), (HIKVISION, "vlan 20 FastEthernet0/2")],
        ),
        (
            "cisco-show-mac-address-table-cat6500.txt",
            2,
            [(CISCO, "vlan 1 Gi1/1"), (HIKVISION, "vlan 20 Gi1/2")],
        ),
        (
            "nxos-show-mac-address-table.txt",
            3,
            [(CISCO, "vlan 10 Eth1/1"), (HIKVISION, "vlan 10 Po10"), ("00:22:33:44:55:66", "sup-eth1(R)")],
        ),
    ],
)
def test_mac_table_layouts(name: str, records: int, expected: list[tuple[str, str]]) -> None:
    path = FIXTURES / name
    items, summary = _read(path)
    assert items == _port(path, expected)
    assert (summary.kind, summary.packets, summary.skipped, summary.errors) == (
        "cisco-mac-table",
        records,
        0,
        (),
    )


def test_garbage_lines_are_counted_and_good_lines_kept(tmp_path: Path) -> None:
    path = tmp_path / "neigh.txt"
    path.write_text(
        "192.168.1.1 dev eth0 lladdr 00:1e:10:1f:00:01 REACHABLE\n"
        "the quick brown fox\n"
        "192.168.1.2 dev eth0 lladdr not-a-mac STALE\n"
        "999.1.1.1 dev eth0 lladdr 44:19:b6:2a:3b:4c STALE\n"
        "\n"
        "192.168.1.64 dev eth0 lladdr 44:19:b6:2a:3b:4c STALE\n"
    )
    items, summary = _read(path)
    assert items == _arp(path, [(HUAWEI, "192.168.1.1", None), (HIKVISION, "192.168.1.64", None)])
    assert (summary.kind, summary.packets, summary.skipped) == ("ip-neigh", 2, 3)


def test_windows_arp_saved_as_utf16_in_another_language(tmp_path: Path) -> None:
    path = tmp_path / "arp.txt"
    text = (
        "\r\nSchnittstelle: 192.168.1.5 --- 0xb\r\n"
        "  Internetadresse       Physische Adresse     Typ\r\n"
        "  192.168.1.64          44-19-b6-2a-3b-4c     dynamisch \r\n"
    )
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))  # PowerShell's "arp -a > arp.txt"
    assert SOURCE.sniff(path, read_head(path)) > 0.5
    items, summary = _read(path)
    assert items == _arp(path, [(HIKVISION, "192.168.1.64", None)])
    assert (summary.kind, summary.packets, summary.skipped) == ("arp-windows", 1, 0)


def test_a_terminal_log_with_several_show_commands(tmp_path: Path) -> None:
    path = tmp_path / "switch01.log"
    path.write_text(
        (FIXTURES / "cisco-show-ip-arp.txt").read_text()
        + (FIXTURES / "cisco-show-mac-address-table.txt").read_text()
    )
    items, summary = _read(path)
    assert len([i for i in items if isinstance(i, HostSighting) and i.kind == "arp"]) == 3
    assert len([i for i in items if isinstance(i, HostSignal) and i.kind == "switch_port"]) == 3
    assert (summary.kind, summary.packets, summary.skipped) == ("cisco-arp", 10, 0)


def test_a_table_with_only_its_header_is_an_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "arp.txt"
    path.write_text("Address                  HWtype  HWaddress           Flags Mask            Iface\n")
    items, summary = _read(path)
    assert items == [] and (summary.kind, summary.packets) == ("arp-linux", 0)


@pytest.mark.parametrize(
    "content",
    [b"", b"\n\n", b"hello\nworld\nno addresses here\n", random.Random(5).randbytes(4096)],
    ids=["empty", "blank", "other-text", "binary"],
)
def test_files_without_any_entry_raise(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "arp.txt"
    path.write_bytes(content)
    with pytest.raises(SourceError) as caught:
        next(iter(SOURCE.read(path)))
    message = str(caught.value)
    assert message.startswith(str(path))
    assert "no ARP/neighbour entries recognised" in message or "binary data" in message


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir()))
def test_sniff_claims_every_fixture_over_the_other_text_sources(name: str) -> None:
    path = FIXTURES / name
    head = read_head(path)
    mine = SOURCE.sniff(path, head)
    assert mine > 0
    assert all(other.sniff(path, head) < mine for other in (LeasesSource(), NfdumpSource()))


@pytest.mark.parametrize(
    "head",
    [PCAP_HEAD, NMAP_HEAD, ZEEK_HEAD, b"", random.Random(7).randbytes(64), b"ts,te,td,sa,da,sp,dp,pr,flg"],
    ids=["pcap", "nmap-xml", "zeek", "empty", "binary", "nfdump"],
)
def test_sniff_rejects_other_files(head: bytes, tmp_path: Path) -> None:
    assert SOURCE.sniff(tmp_path / "arp.txt", head) < 0


@pytest.mark.parametrize(
    ("text", "mac"),
    [
        ("AA:BB:CC:DD:EE:FF", "aa:bb:cc:dd:ee:ff"),
        ("aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:ff"),
        ("aabb.ccdd.eeff", "aa:bb:cc:dd:ee:ff"),
        ("0:1a:2b:3c:4d:5e", "00:1a:2b:3c:4d:5e"),
        ("aabbccddeeff", "aa:bb:cc:dd:ee:ff"),
        ("aa:bb:cc:dd:ee", None),
        ("aa:bb:cc:dd:ee:fg", None),
        ("aab.bccdd.eeff", None),
        ("<incomplete>", None),
    ],
)
def test_normalise_mac(text: str, mac: str | None) -> None:
    assert normalise_mac(text) == mac


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir()))
def test_damaged_files_give_a_summary_or_a_source_error(tmp_path: Path, name: str) -> None:
    rng = random.Random(name)
    path = tmp_path / name
    for _ in range(40):
        path.write_bytes(damage((FIXTURES / name).read_bytes(), rng))
        try:
            items = list(SOURCE.read(path))
        except SourceError as e:
            assert str(e).startswith(str(path))
            continue
        assert [i for i in items if isinstance(i, InputSummary)] == items[-1:]
