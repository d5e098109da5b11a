"""nfdump CSV flow listings read from real-format fixtures."""

from __future__ import annotations

import gzip
import random
import struct
from pathlib import Path

import pytest

from phonehome.model import InputSummary
from phonehome.sources.interface import FlowRecord, Item, SourceError
from phonehome.sources.leases import LeasesSource
from phonehome.sources.neighbours import NeighbourTableSource
from phonehome.sources.nfdump import NfdumpSource
from phonehome.sources.registry import read_head
from phonehome.testing.damage import damage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nfdump"
SOURCE = NfdumpSource()

PCAP_HEAD = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1) + b"\x00" * 40
NMAP_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n<?xml-sty'
ZEEK_HEAD = b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_fie"
HEADER_16 = (
    "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,"
    "dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr"
)
CAMERA, GATEWAY = "44:19:b6:2a:3b:4c", "00:1e:10:1f:00:01"
T0 = 1683194400.0  # 2023-05-04 10:00:00 UTC


def _read(path: Path) -> tuple[list[Item], InputSummary]:
    items = list(SOURCE.read(path))
    summary = items.pop()
    assert isinstance(summary, InputSummary)
    assert all(isinstance(i, FlowRecord) for i in items)
    return items, summary


def _flow(
    path: Path,
    src: str,
    dst: str,
    proto: int,
    sport: int,
    dport: int,
    sbytes: int,
    dbytes: int,
    first: float,
    last: float,
    src_mac: str | None = None,
    dst_mac: str | None = None,
    sni: str | None = None,
    ja4: str | None = None,
) -> FlowRecord:
    return FlowRecord(
        src_mac=src_mac,
        src_ip=src,
        dst_mac=dst_mac,
        dst_ip=dst,
        protocol=proto,
        src_port=sport,
        dst_port=dport,
        src_bytes=sbytes,
        dst_bytes=dbytes,
        first_seen=first,
        last_seen=last,
        server_name=sni,
        application=None,
        user_agent=None,
        client_fingerprint=ja4,
        source=str(path),
    )


def test_nfdump_1_6_csv_with_summary_block() -> None:
    path = FIXTURES / "nfdump-1.6.csv"
    items, summary = _read(path)
    assert items == [
        _flow(
            path,
            "192.168.1.64",
            "47.246.24.228",
            6,
            51514,
            443,
            3456,
            0,
            T0 + 0.123,
            T0 + 5.456,
            CAMERA,
            GATEWAY,
        ),
        _flow(path, "192.168.1.64", "8.8.8.8", 17, 40000, 53, 72, 0, T0 + 1.0, T0 + 1.02),
        # ICMP echo printed as "8.0": type * 256 + code
        _flow(path, "192.168.1.64", "192.168.1.1", 1, 0, 8 * 256, 84, 0, T0 + 2.5, T0 + 2.5),
        _flow(path, "2001:db8:1::64", "2606:4700::6810:84e5", 6, 51600, 443, 1500, 0, T0 + 3, T0 + 4),
    ]
    # the three Summary lines are neither flows nor skipped
    assert (summary.kind, summary.packets, summary.skipped, summary.errors) == ("nfdump-csv", 4, 0, ())
    assert summary.path == str(path) and len(summary.sha256) == 64


def test_nfdump_1_7_csv_with_out_bytes_and_egress_macs() -> None:
    path = FIXTURES / "nfdump-1.7.csv"
    items, summary = _read(path)
    assert items == [
        _flow(path, "192.168.1.64", "47.246.24.228", 6, 51514, 443, 3456, 52000, T0, T0 + 5, CAMERA, GATEWAY),
        _flow(path, "192.168.1.64", "8.8.8.8", 17, 40000, 53, 72, 120, T0 + 1, T0 + 1),
        # ingress MACs zero: the egress pair (osmc, odmc) is used
        _flow(path, "192.168.1.64", "192.168.1.1", 1, 0, 2048, 84, 0, T0 + 2, T0 + 2, GATEWAY, CAMERA),
    ]
    assert (summary.kind, summary.packets, summary.skipped) == ("nfdump-csv", 3, 0)


def test_user_csv_format_with_long_column_names_sni_and_ja4() -> None:
    path = FIXTURES / "nfdump-csv-format-long-names.csv"
    items, summary = _read(path)
    ja4 = "t13d1516h2_8daaf6152771_02713d6af862"
    assert items == [
        _flow(
            path,
            "192.168.1.64",
            "47.246.24.228",
            6,
            51514,
            443,
            3456,
            52000,
            T0 + 0.123,
            T0 + 5.456,
            CAMERA,
            GATEWAY,
            "open.ys7.com",
            ja4,
        ),
        # sniName "0" and ja4 "no-ja4" mean none
        _flow(path, "192.168.1.64", "192.168.1.1", 1, 0, 2048, 84, 0, T0 + 2.5, T0 + 2.5),
    ]
    assert (summary.kind, summary.packets, summary.skipped) == ("nfdump-csv", 2, 0)


def test_nfdump_csv_fast_epoch_milliseconds() -> None:
    path = FIXTURES / "nfdump-csv-fast.csv"
    items, summary = _read(path)
    assert items == [
        _flow(path, "192.168.1.64", "47.246.24.228", 6, 51514, 443, 3456, 0, T0 + 0.123, T0 + 5.456),
        _flow(path, "2001:db8:1::64", "2606:4700::6810:84e5", 6, 51600, 443, 1500, 0, T0 + 3, T0 + 4),
    ]
    assert summary.packets == 2


def test_bad_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    good = "2023-05-04 10:00:00,2023-05-04 10:00:01,1.000,10.0.0.1,10.0.0.2,1000,80,TCP,........,0,0,1,60,0,0"
    path.write_text(
        "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt\n"
        f"{good}\n"
        "garbage\n"
        "2023-05-04 10:00:00,2023-05-04 10:00:01,1.000,10.0.0.1,not-an-ip,1000,80,TCP,........,0,0,1,60,0,0\n"
        "2023-13-45 10:00:00,2023-05-04 10:00:01,1.000,10.0.0.1,10.0.0.2,1000,80,TCP,........,0,0,1,60,0,0\n"
        "2023-05-04 10:00:00,2023-05-04 10:00:01,1.000,10.0.0.1,10.0.0.2,99999,80,TCP,........,0,0,1,60,0,0\n"
        "2023-05-04 10:00:00,2023-05-04 10:00:01,1.000,10.0.0.1,10.0.0.2,1000,80,TCP,........,0,0,1,x,0,0\n"
        "\n"
        f"{good.replace('10.0.0.2', '10.0.0.3')}\n"
    )
    items, summary = _read(path)
    assert [i.dst_ip for i in items if isinstance(i, FlowRecord)] == ["10.0.0.2", "10.0.0.3"]
    assert (summary.packets, summary.skipped) == (2, 5)


def test_unknown_protocol_names_are_kept_as_zero_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    path.write_text(
        "ts,te,sa,da,sp,dp,pr,ibyt\n"
        "2023-05-04 10:00:00,2023-05-04 10:00:01,10.0.0.1,10.0.0.2,0,0,  GRE,100\n"
        "2023-05-04 10:00:00,2023-05-04 10:00:01,10.0.0.1,10.0.0.2,0,0,WEIRD,100\n"
    )
    items, summary = _read(path)
    assert [i.protocol for i in items if isinstance(i, FlowRecord)] == [47, 0]
    assert summary.errors == ("1 rows with unknown protocol names (WEIRD) recorded as protocol 0",)


def test_times_are_read_as_utc() -> None:
    path = FIXTURES / "nfdump-1.7.csv"
    first = next(iter(SOURCE.read(path)))
    assert isinstance(first, FlowRecord) and first.first_seen == 1683194400.0


def test_gzip_compressed_listing(tmp_path: Path) -> None:
    path = tmp_path / "flows.csv.gz"
    path.write_bytes(gzip.compress((FIXTURES / "nfdump-1.6.csv").read_bytes()))
    assert SOURCE.sniff(path, read_head(path)[2:]) == 1.0
    items, summary = _read(path)
    assert (summary.kind, summary.packets, len(items)) == ("nfdump-csv+gzip", 4, 4)


def test_rows_stream_without_reading_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    row = "2023-05-04 10:00:00,2023-05-04 10:00:01,10.0.0.1,10.0.0.2,1000,80,6,60\n"
    path.write_text("ts,te,sa,da,sp,dp,pr,ibyt\n" + row * 200_000)
    items = SOURCE.read(path)
    assert isinstance(next(iter(items)), FlowRecord)  # a generator, not a list built up front


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (random.Random(3).randbytes(4096), "binary data|not an nfdump flow listing"),
        # nfdump -s proto -o csv: a statistics table, not flows
        (b"ts,te,td,pr,val,fl,flP,ipkt,ipktP,ibyt,ibytP,ipps,ipbs,ibpp\n", "not an nfdump flow listing"),
    ],
    ids=["empty", "binary", "statistics"],
)
def test_unreadable_files_raise_before_yielding(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "flows.csv"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message) as caught:
        next(iter(SOURCE.read(path)))
    assert str(caught.value).startswith(str(path))


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir()))
def test_sniff_claims_every_fixture_over_the_other_text_sources(name: str) -> None:
    path = FIXTURES / name
    head = read_head(path)
    mine = SOURCE.sniff(path, head)
    assert mine > 0.5
    assert all(other.sniff(path, head) < mine for other in (LeasesSource(), NeighbourTableSource()))


def test_sniff_reads_an_unfamiliar_header_by_its_column_names(tmp_path: Path) -> None:
    assert SOURCE.sniff(tmp_path / "x", b"te,ts,sa,da,pr,sp,dp,ibyt\n2023-05-04 10:00:00,") == 0.6
    assert SOURCE.sniff(tmp_path / "x", HEADER_16.encode()[:64]) == 1.0


@pytest.mark.parametrize(
    "head",
    [
        PCAP_HEAD,
        NMAP_HEAD,
        ZEEK_HEAD,
        b"",
        random.Random(7).randbytes(64),
        b"address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd",
        b"name,mac,ip,vendor,model,location\nCam 1,44:19:b6:2a:3b:4c,192.1",
    ],
    ids=["pcap", "nmap-xml", "zeek", "empty", "binary", "kea", "asset-register"],
)
def test_sniff_rejects_other_files(head: bytes, tmp_path: Path) -> None:
    assert SOURCE.sniff(tmp_path / "flows.csv", head) < 0


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
