"""DHCP lease files (dnsmasq, ISC dhcpd, Kea) read from real-format fixtures."""

from __future__ import annotations

import gzip
import random
import struct
from pathlib import Path

import pytest

from phonehome.model import InputSummary
from phonehome.sources.interface import HostSighting, HostSignal, Item, SourceError
from phonehome.sources.leases import LeasesSource, mac_from_duid
from phonehome.sources.neighbours import NeighbourTableSource
from phonehome.sources.nfdump import NfdumpSource
from phonehome.sources.registry import read_head
from phonehome.testing.damage import damage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "leases"
SOURCE = LeasesSource()

PCAP_HEAD = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1) + b"\x00" * 40
NMAP_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n<?xml-sty'
ZEEK_HEAD = b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_fie"


def _read(path: Path) -> tuple[list[Item], InputSummary]:
    items = list(SOURCE.read(path))
    summary = items.pop()
    assert isinstance(summary, InputSummary)
    assert not any(isinstance(i, InputSummary) for i in items)
    return items, summary


def _lease(
    path: Path,
    mac: str | None,
    ip: str,
    start: float | None,
    end: float | None,
    name: str | None = None,
    vendor: str | None = None,
) -> list[Item]:
    source = str(path)
    out: list[Item] = [HostSighting(mac, ip, "dhcp_lease", source, start, end, name)]
    if name:
        out.append(HostSignal(mac, ip, "dhcp_hostname", name, source))
    if vendor:
        out.append(HostSignal(mac, ip, "dhcp_vendor_class", vendor, source))
    return out


def test_dnsmasq_v4_and_v6_leases() -> None:
    path = FIXTURES / "dnsmasq.leases"
    items, summary = _read(path)
    assert items == [
        *_lease(path, "44:19:b6:2a:3b:4c", "192.168.1.64", None, 1683237600.0, "DS-2CD2143G2"),
        *_lease(path, "00:1e:10:1f:00:02", "192.168.1.20", None, 1683230400.0),
        *_lease(path, "3c:22:fb:01:02:03", "192.168.1.9", None, None, "macbook-air"),  # expiry 0: infinite
        # DHCPv6: the MAC comes from the client's DUID-LL; a DUID-EN carries none
        *_lease(path, "44:19:b6:2a:3b:4c", "2001:db8:1::64", None, 1683237600.0, "DS-2CD2143G2"),
        *_lease(path, None, "2001:db8:1::99", None, 1683234000.0),
    ]
    assert (summary.kind, summary.packets, summary.skipped, summary.errors) == ("dnsmasq-leases", 5, 0, ())
    assert summary.path == str(path) and len(summary.sha256) == 64


def test_isc_dhcpd_leases() -> None:
    path = FIXTURES / "dhcpd.leases"
    items, summary = _read(path)
    assert items == [
        *_lease(
            path,
            "44:19:b6:2a:3b:4c",
            "192.168.1.64",
            1683194400.0,
            1683237600.0,
            "DS-2CD2143G2",
            "udhcp 1.19.4",
        ),
        # client-hostname "Caf\351-PC": an octal-escaped Latin-1 byte
        *_lease(path, "f0:18:98:11:22:33", "192.168.1.30", 1683194700.0, 1683237900.0, "Café-PC", "MSFT 5.0"),
        # the abandoned lease has no client; the OMAPI host block is not a lease
        *_lease(path, "3c:ef:8c:0a:0b:0c", "192.168.1.31", 1683187200.0, None),  # ends never
    ]
    assert (summary.kind, summary.packets, summary.skipped, summary.errors) == ("isc-dhcpd-leases", 4, 0, ())


def test_isc_dhcpd_leases_with_epoch_times() -> None:
    path = FIXTURES / "dhcpd-epoch.leases"
    items, summary = _read(path)
    assert items == _lease(
        path, "00:1e:10:1f:00:02", "10.0.0.50", 1683194400.0, 1683237600.0, "HUAWEI_P30-abc123"
    )
    assert (summary.kind, summary.packets, summary.skipped) == ("isc-dhcpd-leases", 1, 0)


def test_isc_dhcpd6_leases_take_the_mac_from_the_duid() -> None:
    path = FIXTURES / "dhcpd6.leases"
    items, summary = _read(path)
    # ia-na: IAID then a DUID-LLT ending in 44:19:b6:2a:3b:4c; the ia-pd prefix is not a host
    assert items == _lease(path, "44:19:b6:2a:3b:4c", "2001:db8:1::64", None, 1683237600.0)
    assert (summary.kind, summary.packets, summary.skipped) == ("isc-dhcpd-leases", 1, 0)


def test_kea_v4_memfile() -> None:
    path = FIXTURES / "kea-leases4.csv"
    items, summary = _read(path)
    assert items == [
        # start = expire - valid_lifetime; the FQDN's trailing dot is dropped
        *_lease(
            path, "44:19:b6:2a:3b:4c", "192.168.1.64", 1683194000.0, 1683198000.0, "ds-2cd2143g2.example.org"
        ),
        # user_context with an escaped comma (&#x2c) does not shift the columns
        *_lease(path, "3c:ef:8c:0a:0b:0c", "192.168.1.65", 1683194400.0, 1683198400.0),
        # declined (state 1): no client; expired-reclaimed (state 2) still places the MAC
        *_lease(path, "f0:18:98:11:22:33", "192.168.1.67", 1683186000.0, 1683190000.0),
        # valid_lifetime 0: the deletion marker of the first lease
    ]
    assert (summary.kind, summary.packets, summary.skipped, summary.errors) == ("kea-leases", 5, 0, ())


def test_kea_v6_memfile() -> None:
    path = FIXTURES / "kea-leases6.csv"
    items, summary = _read(path)
    assert items == [
        *_lease(path, "44:19:b6:2a:3b:4c", "2001:db8:1::64", 1683194000.0, 1683198000.0),  # from DUID-LL
        *_lease(path, "3c:ef:8c:0a:0b:0c", "2001:db8:1::65", 1683194000.0, 1683198000.0, "nvr.example.org"),
        # lease_type 2 (prefix delegation) is left out
    ]
    assert (summary.kind, summary.packets, summary.skipped) == ("kea-leases", 3, 0)


def test_kea_schema_1_0_without_state_columns(tmp_path: Path) -> None:
    path = tmp_path / "kea-leases4.csv.2"
    path.write_text(
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname\n"
        "10.0.0.7,00:1e:10:1f:00:07,,3600,1683198000,1,0,0,printer\n"
    )
    items, summary = _read(path)
    assert items == _lease(path, "00:1e:10:1f:00:07", "10.0.0.7", 1683194400.0, 1683198000.0, "printer")
    assert summary.packets == 1


def test_dnsmasq_garbage_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "dnsmasq.leases"
    path.write_text(
        "1683237600 44:19:b6:2a:3b:4c 192.168.1.64 cam *\n"
        "this is not a lease\n"
        "1683237600 44:19:b6:2a:3b:4c 999.1.1.1 bad-ip *\n"
        "notanumber 44:19:b6:2a:3b:4c 192.168.1.65 bad-expiry *\n"
        "1683237600 zz:zz 192.168.1.66 bad-mac *\n"
        "\n"
        "1683230400 00:1e:10:1f:00:02 192.168.1.20 * *\n"
    )
    items, summary = _read(path)
    assert items == [
        *_lease(path, "44:19:b6:2a:3b:4c", "192.168.1.64", None, 1683237600.0, "cam"),
        *_lease(path, "00:1e:10:1f:00:02", "192.168.1.20", None, 1683230400.0),
    ]
    assert (summary.packets, summary.skipped) == (2, 4)


def test_isc_garbage_lines_and_truncated_tail(tmp_path: Path) -> None:
    path = tmp_path / "dhcpd.leases"
    path.write_text(
        "# The format of this file is documented in the dhcpd.leases(5) manual page.\n"
        "authoring-byte-order little-endian;\n"
        "garbage at the top level\n"
        "lease 192.168.1.64 {\n"
        "  starts 4 2023/05/04 10:00:00;\n"
        "  half a statement without its semicolon\n"
        "  hardware ethernet 44:19:b6:2a:3b:4c;\n"
        "}\n"
        "}\n"
        "lease not-an-ip {\n"
        "  hardware ethernet 00:1e:10:1f:00:02;\n"
        "}\n"
        "lease 192.168.1.65 {\n"
        "  starts 4 2023/05/04 10:00:00;\n"
        "  hardware ethernet 3c:ef:8c:0a:0b:0c;\n"
    )
    items, summary = _read(path)
    assert items == _lease(path, "44:19:b6:2a:3b:4c", "192.168.1.64", 1683194400.0, None)
    # top-level garbage, the broken statement, the stray brace, the bad address, the unfinished lease
    assert (summary.packets, summary.skipped) == (1, 5)
    assert summary.errors == ("file ends inside the lease block for 192.168.1.65 (truncated?)",)


def test_kea_bad_rows_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "kea-leases4.csv"
    path.write_text(
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n"
        "192.168.1.64,44:19:b6:2a:3b:4c,,4000,1683198000,1,0,0,cam,0,\n"
        "192.168.1.65,too,few\n"
        "192.168.1.66,3c:ef:8c:0a:0b:0c,,forever,1683198000,1,0,0,,0,\n"
        "not-an-address,3c:ef:8c:0a:0b:0c,,4000,1683198000,1,0,0,,0,\n"
    )
    items, summary = _read(path)
    assert items == _lease(path, "44:19:b6:2a:3b:4c", "192.168.1.64", 1683194000.0, 1683198000.0, "cam")
    assert (summary.packets, summary.skipped) == (1, 3)


def test_latin1_hostname_in_a_raw_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "kea-leases4.csv"
    path.write_bytes(
        b"address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n"
        b"192.168.1.70,f0:18:98:11:22:33,,4000,1683198000,1,0,0,caf\xe9-t\xe9l\xe9,0,\n"
    )
    items, summary = _read(path)
    assert items == _lease(path, "f0:18:98:11:22:33", "192.168.1.70", 1683194000.0, 1683198000.0, "café-télé")
    assert summary.errors == ("not valid UTF-8 from about line 1; read as Latin-1",)


def test_gzip_compressed_lease_file(tmp_path: Path) -> None:
    path = tmp_path / "dnsmasq.leases.gz"
    path.write_bytes(gzip.compress((FIXTURES / "dnsmasq.leases").read_bytes()))
    head = read_head(path)
    assert SOURCE.sniff(path, head[2:]) > 0.5
    items, summary = _read(path)
    assert summary.kind == "dnsmasq-leases+gzip" and summary.packets == 5
    assert len([i for i in items if isinstance(i, HostSighting)]) == 5


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir()))
def test_sniff_claims_every_fixture_over_the_other_text_sources(name: str) -> None:
    path = FIXTURES / name
    head = read_head(path)
    mine = SOURCE.sniff(path, head)
    assert mine > 0.5
    assert all(other.sniff(path, head) < mine for other in (NeighbourTableSource(), NfdumpSource()))


@pytest.mark.parametrize(
    "head",
    [PCAP_HEAD, NMAP_HEAD, ZEEK_HEAD, b"", random.Random(7).randbytes(64), b"ts,te,td,sa,da,sp,dp,pr,flg"],
    ids=["pcap", "nmap-xml", "zeek", "empty", "binary", "nfdump"],
)
def test_sniff_rejects_other_files(head: bytes, tmp_path: Path) -> None:
    assert SOURCE.sniff(tmp_path / "dhcpd.leases", head) < 0  # the name plays no part


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\n\n  \n", "empty file"),
        (random.Random(3).randbytes(4096), "binary data"),
        (b"hello\nworld\n", "not a dnsmasq, ISC dhcpd or Kea lease file"),
    ],
    ids=["empty", "blank", "binary", "other-text"],
)
def test_unreadable_files_raise_before_yielding(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "leases"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message) as caught:
        next(iter(SOURCE.read(path)))
    assert str(caught.value).startswith(str(path))


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot open"):
        SOURCE.read(tmp_path / "absent.leases")
    with pytest.raises(SourceError, match="is a directory"):
        SOURCE.read(tmp_path)


@pytest.mark.parametrize(
    ("duid", "mac"),
    [
        ("00:01:00:01:2b:9b:01:02:44:19:b6:2a:3b:4c", "44:19:b6:2a:3b:4c"),  # DUID-LLT, Ethernet
        ("00:03:00:01:3c:ef:8c:0a:0b:0c", "3c:ef:8c:0a:0b:0c"),  # DUID-LL, Ethernet
        ("00:02:00:00:ab:11:58:d3:9c:27:9e:4a:21:20", None),  # DUID-EN: no link-layer address
        ("00:03:00:06:3c:ef:8c:0a:0b:0c", None),  # hardware type 6 (IEEE 802): not Ethernet
        ("00:03:00:01:01:00:5e:00:00:01", None),  # multicast: not a station
        ("00:03", None),
    ],
)
def test_mac_from_duid(duid: str, mac: str | None) -> None:
    assert mac_from_duid(bytes.fromhex(duid.replace(":", ""))) == mac


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
