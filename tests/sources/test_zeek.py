"""The Zeek log source on logs in Zeek's own TSV and JSON layouts (tests/fixtures/zeek)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import math
from pathlib import Path

import pytest

from phonehome.model import InputSummary
from phonehome.sources import zeek
from phonehome.sources.interface import (
    DnsAnswer,
    FlowRecord,
    HostSighting,
    HostSignal,
    Item,
    Observation,
    ServerName,
    SourceError,
)
from phonehome.sources.registry import read_head
from phonehome.sources.zeek import ZeekSource, infer_path, normalise_mac

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "zeek"


def fixture(name: str) -> Path:
    path = FIXTURES / name
    assert path.is_file(), path
    return path


def read(path: Path) -> tuple[list[Observation], InputSummary]:
    items: list[Item] = list(ZeekSource().read(path))
    summary = items[-1]
    assert isinstance(summary, InputSummary)
    observations = [i for i in items[:-1] if not isinstance(i, InputSummary)]
    assert len(observations) == len(items) - 1, "exactly one summary, at the end"
    return observations, summary


def signals(observations: list[Observation]) -> list[tuple[str | None, str | None, str, str]]:
    return [(o.mac, o.ip, o.kind, o.value) for o in observations if isinstance(o, HostSignal)]


def flow_tuple(f: Observation) -> tuple[object, ...]:
    assert isinstance(f, FlowRecord)
    return dataclasses.astuple(dataclasses.replace(f, source=""))


# -- conn.log -------------------------------------------------------------------------------------


def test_conn_tsv_becomes_flows() -> None:
    path = fixture("conn.log")
    flows, summary = read(path)
    assert all(isinstance(f, FlowRecord) for f in flows)
    assert len(flows) == 6
    tls = flows[0]
    assert isinstance(tls, FlowRecord)
    assert (tls.src_ip, tls.src_port, tls.dst_ip, tls.dst_port, tls.protocol) == (
        "192.168.1.23",
        51514,
        "47.246.2.1",
        443,
        6,
    )
    assert (tls.src_bytes, tls.dst_bytes) == (2672, 49854), "IP-layer bytes when logged"
    assert tls.first_seen == 1714640401.123456
    assert tls.last_seen == pytest.approx(1714640401.123456 + 12.503)
    assert tls.application == "ssl"
    assert tls.server_name is None and tls.src_mac is None and tls.dst_mac is None
    assert tls.source == str(path)

    dns, s0, icmp, icmp6, http = flows[1:]
    assert isinstance(dns, FlowRecord) and (dns.protocol, dns.application) == (17, "dns")
    assert isinstance(s0, FlowRecord)
    assert (s0.application, s0.src_bytes, s0.dst_bytes, s0.last_seen) == (None, 60, 0, s0.first_seen)
    assert isinstance(icmp, FlowRecord) and (icmp.protocol, icmp.src_port, icmp.dst_port) == (1, 8, 0)
    assert isinstance(icmp6, FlowRecord) and icmp6.protocol == 58, "Zeek logs ICMPv6 as icmp"
    assert isinstance(http, FlowRecord) and http.application == "http"

    assert summary == InputSummary(
        path=str(path),
        kind="zeek-conn",
        packets=6,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        errors=(),
        skipped=0,
    )


def test_conn_json_gives_the_same_flows_as_tsv() -> None:
    tsv, _ = read(fixture("conn.log"))
    js, summary = read(fixture("conn.json"))
    assert [flow_tuple(f) for f in js] == [flow_tuple(f) for f in tsv]
    assert (summary.kind, summary.packets) == ("zeek-conn", 6)


def test_conn_with_mac_logging_and_ip_proto() -> None:
    flows, summary = read(fixture("conn-mac.log"))
    first, gre = flows
    assert isinstance(first, FlowRecord) and isinstance(gre, FlowRecord)
    assert (first.src_mac, first.dst_mac) == ("44:19:b6:01:02:03", "00:0c:29:aa:bb:cc")
    assert (gre.protocol, gre.src_port, gre.dst_port) == (47, 0, 0), "unknown_transport uses ip_proto"
    assert gre.src_bytes == 4200 and gre.application is None
    assert summary.packets == 2


def test_conn_with_few_columns_fills_defaults(tmp_path: Path) -> None:
    """zeek-cut style output keeps the headers but only some columns."""
    path = tmp_path / "conn.log"
    path.write_text(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
        "#fields\tts\tid.orig_h\tid.resp_h\tproto\torig_bytes\n#types\ttime\taddr\taddr\tenum\tcount\n"
        "1714640401.5\t10.0.0.2\t10.0.0.9\tudp\t77\n"
    )
    (flow,), summary = read(path)
    assert isinstance(flow, FlowRecord)
    assert (flow.src_port, flow.dst_port, flow.protocol, flow.src_bytes, flow.dst_bytes) == (0, 0, 17, 77, 0)
    assert flow.last_seen == flow.first_seen == 1714640401.5
    assert summary.errors == ()


def test_conn_lines_off_the_fast_path_are_still_read(tmp_path: Path) -> None:
    """Unset ports and byte counts (possible with trimmed columns) go through the general path."""
    lines = fixture("conn.log").read_text().splitlines()
    parts = lines[8].split("\t")
    parts[3] = parts[17] = parts[9] = "-"  # id.orig_p, orig_ip_bytes, orig_bytes
    lines[8] = "\t".join(parts)
    path = tmp_path / "conn.log"
    path.write_text("\n".join(lines) + "\n")
    flows, summary = read(path)
    first = flows[0]
    assert isinstance(first, FlowRecord)
    assert (first.src_port, first.src_bytes, first.dst_bytes, first.application) == (0, 0, 49854, "ssl")
    assert (summary.packets, summary.skipped) == (6, 0)


def test_fast_flow_constructor_builds_equal_frozen_records() -> None:
    args = (
        None,
        "10.0.0.1",
        "aa:bb:cc:dd:ee:ff",
        "1.2.3.4",
        6,
        1,
        2,
        3,
        4,
        1.5,
        2.5,
        None,
        "ssl",
        None,
        None,
        "x",
    )
    built = zeek._new_flow(*args)
    assert built == FlowRecord(*args)
    assert hash(built) == hash(FlowRecord(*args))
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.src_ip = "10.0.0.2"  # type: ignore[misc]


def test_fast_constructor_falls_back_and_keeps_defaults() -> None:
    @dataclasses.dataclass(frozen=True)
    class Plain:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class WithDefault:
        a: int
        b: str = "x"

    assert zeek._slot_constructor(Plain) is Plain
    make = zeek._slot_constructor(WithDefault)
    assert make is not WithDefault
    assert make(1) == WithDefault(1) and make(1, "y") == WithDefault(1, "y")


# -- dns, ssl, x509, http ----------------------------------------------------------------------


def test_dns_answers_that_are_addresses() -> None:
    answers, summary = read(fixture("dns.log"))
    assert [(a.client_ip, a.name, a.address, a.time) for a in answers] == [  # type: ignore[union-attr]
        ("192.168.1.64", "api.hik-connect.com", "47.246.2.1", 1714640410.1),
        ("192.168.1.64", "api.hik-connect.com", "47.246.2.2", 1714640410.1),
        ("192.168.1.23", "time.apple.com", "2a01:b740:a20:3000::1f2", 1714640411.2),
    ]
    assert all(isinstance(a, DnsAnswer) for a in answers)
    assert (summary.kind, summary.packets, summary.skipped) == ("zeek-dns", 5, 0), (
        "NXDOMAIN, PTR count as read"
    )


def test_dns_json_streaming_with_iso_timestamps() -> None:
    tsv, _ = read(fixture("dns.log"))
    js, summary = read(fixture("dns.json"))
    assert [(a.name, a.address) for a in js] == [(a.name, a.address) for a in tsv]  # type: ignore[union-attr]
    for a, b in zip(js, tsv, strict=True):
        assert a.time == pytest.approx(b.time, abs=1e-6)  # type: ignore[union-attr]
    assert summary.kind == "zeek-dns"


def test_ssl_server_names() -> None:
    observations, summary = read(fixture("ssl.log"))
    assert observations == [
        ServerName(
            client_ip="192.168.1.64",
            server_ip="47.246.2.1",
            name="api.hik-connect.com",
            kind="tls_sni",
            time=1714640420.0,
            source=str(fixture("ssl.log")),
        )
    ]
    assert (summary.packets, summary.errors) == (2, ())


def test_ssl_subject_and_issuer_of_older_zeek_belong_to_the_server() -> None:
    observations, summary = read(fixture("ssl-zeek4.log"))
    assert signals(observations) == [
        (
            None,
            "192.168.1.64",
            "tls_subject",
            "CN=192.168.1.64,OU=Hikvision,O=Hikvision,L=HangZhou,ST=ZheJiang,C=CN",
        ),
        (None, "192.168.1.64", "tls_issuer", "CN=hikvision CA,O=Hikvision,C=CN"),
    ], "two connections, one pair of signals"
    assert summary.packets == 2


def test_ssl_json_without_path_and_ja4() -> None:
    observations, summary = read(fixture("ssl.json"))
    names = [o for o in observations if isinstance(o, ServerName)]
    assert [(n.client_ip, n.server_ip, n.name, n.kind) for n in names] == [
        ("192.168.1.70", "47.91.1.20", "www.dahuasecurity.com", "tls_sni")
    ]
    assert signals(observations) == [
        (None, "192.168.1.70", "tls_ja4", "t13d1516h2_8daaf6152771_02713d6af862")
    ]
    assert summary.kind == "zeek-ssl"


def test_x509_without_addresses_is_counted_not_used() -> None:
    observations, summary = read(fixture("x509.log"))
    assert observations == []
    assert summary.packets == 2
    assert summary.skipped == 0
    (error,) = summary.errors
    assert error.startswith("zeek x509 log: 1 host certificate not used")


def test_x509_naming_its_host() -> None:
    observations, summary = read(fixture("x509-with-hosts.json"))
    assert signals(observations) == [
        (None, "192.168.1.80", "tls_subject", "CN=DH-IPC-HDW2431T,O=Dahua,C=CN"),
        (None, "192.168.1.80", "tls_issuer", "CN=Dahua Root CA,O=Dahua,C=CN"),
    ]
    assert summary.errors == ()


def test_http_hosts_and_user_agents() -> None:
    observations, summary = read(fixture("http.log"))
    names = [(o.client_ip, o.server_ip, o.name, o.kind) for o in observations if isinstance(o, ServerName)]
    assert names == [
        ("192.168.1.50", "93.184.216.34", "example.com", "http_host"),
        ("192.168.1.50", "93.184.216.34", "example.com", "http_host"),
        ("192.168.1.23", "192.168.1.64", "192.168.1.64", "http_host"),
        ("192.168.1.64", "47.246.2.1", "api.hik-connect.com", "http_host"),
    ]
    assert signals(observations) == [
        (
            None,
            "192.168.1.50",
            "user_agent",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Safari/537.36",
        ),
        (None, "192.168.1.64", "user_agent", "Hik-Connect/4.10.0 (Linux; HikOSé)"),
    ], "the same agent from the same client once; \\xNN escapes decoded"
    assert summary.packets == 4


def test_user_agents_deduplicated_over_many_requests(tmp_path: Path) -> None:
    head = fixture("http.log").read_text().splitlines()[:8]
    row = fixture("http.log").read_text().splitlines()[8]
    path = tmp_path / "http.log"
    path.write_text("\n".join(head + [row] * 5000) + "\n")
    observations, summary = read(path)
    assert len(signals(observations)) == 1
    assert sum(isinstance(o, ServerName) for o in observations) == 5000
    assert summary.packets == 5000


def test_signal_memory_is_bounded() -> None:
    recent = zeek._Recent(limit=3)
    assert [recent.first((n % 5,)) for n in range(10)] == [True] * 10, "emptied when full, so repeats return"
    assert len(recent) <= 3
    again = zeek._Recent(limit=10)
    assert [again.first(("a",)), again.first(("a",)), again.first(("b",))] == [True, False, True]


# -- dhcp, software, known_* --------------------------------------------------------------------


def test_dhcp_leases_and_names() -> None:
    observations, summary = read(fixture("dhcp.log"))
    source = str(fixture("dhcp.log"))
    sightings = [o for o in observations if isinstance(o, HostSighting)]
    assert sightings == [
        HostSighting(
            mac="44:19:b6:01:02:03",
            ip="192.168.1.64",
            kind="dhcp_lease",
            source=source,
            first_seen=1714640460.1,
            last_seen=1714640460.1 + 86400,
            hostname="DS-2CD2143G2-I",
        ),
        HostSighting(
            mac="3c:22:fb:aa:bb:cc",
            ip="192.168.1.23",
            kind="dhcp_lease",
            source=source,
            first_seen=1714640461.2,
            last_seen=None,
            hostname="Mac-mini",
        ),
        HostSighting(
            mac="e0:50:8b:10:20:30", ip=None, kind="dhcp_lease", source=source, first_seen=1714640462.3
        ),
    ]
    assert signals(observations) == [
        ("44:19:b6:01:02:03", "192.168.1.64", "dhcp_hostname", "DS-2CD2143G2-I"),
        ("3c:22:fb:aa:bb:cc", "192.168.1.23", "dhcp_hostname", "Mac-mini"),
        ("3c:22:fb:aa:bb:cc", "192.168.1.23", "hostname", "mac-mini.example.org"),
    ]
    assert summary.kind == "zeek-dhcp"


def test_dhcp_vendor_class_from_software_policy() -> None:
    observations, _ = read(fixture("dhcp-software.log"))
    assert ("3c:22:fb:aa:bb:cc", "192.168.1.23", "dhcp_vendor_class", "MSFT 5.0") in signals(observations)


def test_dhcp_of_zeek_2() -> None:
    (sighting,), summary = read(fixture("dhcp-zeek2.log"))
    assert isinstance(sighting, HostSighting)
    assert (sighting.mac, sighting.ip) == ("90:b1:1c:99:49:29", "128.2.6.189")
    assert sighting.last_seen == pytest.approx(1370200444.371332 + 900)
    assert summary.packets == 1


def test_dhcp_json_normalises_mac_and_reads_parameter_list() -> None:
    observations, _ = read(fixture("dhcp.json"))
    assert signals(observations) == [
        ("e0:50:8b:aa:00:01", "192.168.1.80", "dhcp_hostname", "IPC"),
        ("e0:50:8b:aa:00:01", "192.168.1.80", "dhcp_vendor_class", "udhcp 1.31.1"),
        ("e0:50:8b:aa:00:01", "192.168.1.80", "dhcp_prl", "1,3,6,12,15,28,42"),
    ]


def test_software_banners() -> None:
    observations, summary = read(fixture("software.log"))
    assert [(ip, kind, value) for _, ip, kind, value in signals(observations)] == [
        (
            "192.168.1.50",
            "user_agent",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Safari/537.36",
        ),
        ("192.168.1.64", "http_server", "App-webs/"),
        ("192.168.1.90", "http_server", "PHP/7.4.33"),
        ("192.168.1.70", "ssh_banner", "dropbear_2019.78"),
        ("192.168.1.95", "ftp_banner", "(vsFTPd 3.0.3)"),
        ("192.168.1.23", "dhcp_vendor_class", "MSFT 5.0"),
    ], "SSH clients and OS guesses are not used"
    assert summary.packets == 8


def test_known_hosts_services_devices_certs() -> None:
    hosts, _ = read(fixture("known_hosts.log"))
    assert [(h.mac, h.ip, h.kind, h.first_seen) for h in hosts] == [  # type: ignore[union-attr]
        (None, "192.168.1.64", "zeek", 1714640400.5),
        (None, "fd00::23", "zeek", 1714640401.5),
    ]
    services, _ = read(fixture("known_services.log"))
    assert signals(services) == [
        (None, "192.168.1.64", "open_port", "tcp/80 http"),
        (None, "192.168.1.64", "open_port", "tcp/554"),
        (None, "192.168.1.1", "open_port", "udp/53 dns"),
    ]
    devices, _ = read(fixture("known_devices.log"))
    assert [(d.mac, d.ip, d.hostname) for d in devices if isinstance(d, HostSighting)] == [
        ("44:19:b6:01:02:03", None, "DS-2CD2143G2-I"),
        ("e0:50:8b:aa:00:01", None, None),
    ]
    assert signals(devices) == [("44:19:b6:01:02:03", None, "dhcp_hostname", "DS-2CD2143G2-I")]
    certs, _ = read(fixture("known_certs.log"))
    assert [kind for _, ip, kind, _ in signals(certs) if ip == "192.168.1.64"] == [
        "tls_subject",
        "tls_issuer",
    ]


def test_logs_without_evidence_are_read_and_noted() -> None:
    observations, summary = read(fixture("weird.log"))
    assert observations == []
    assert (summary.kind, summary.packets, summary.skipped) == ("zeek-weird", 2, 0)
    assert summary.errors == ("zeek weird log: no evidence phonehome uses",)


# -- JSON streams -------------------------------------------------------------------------------


def test_json_stream_of_several_logs() -> None:
    observations, summary = read(fixture("mixed.json"))
    assert [type(o).__name__ for o in observations] == [
        "FlowRecord",
        "ServerName",
        "HostSignal",
        "HostSighting",
    ]
    assert summary.kind == "zeek-conn"
    assert summary.packets == 4
    assert summary.errors == ("zeek files log: no evidence phonehome uses",)


def test_json_log_type_inferred_from_keys() -> None:
    observations, summary = read(fixture("inferred.json"))
    assert signals(observations) == [
        (None, "192.168.1.64", "http_server", "App-webs/"),
        (None, "192.168.1.64", "open_port", "tcp/80 http"),
        ("44:19:b6:01:02:04", None, "dhcp_hostname", "NVR"),
    ]
    assert [(s.mac, s.ip) for s in observations if isinstance(s, HostSighting)] == [
        (None, "192.168.1.65"),
        ("44:19:b6:01:02:04", None),
    ]
    assert summary.packets == 5
    assert summary.errors == ("zeek weird log: no evidence phonehome uses",)


@pytest.mark.parametrize(
    "name",
    [
        "conn.log",
        "conn-mac.log",
        "dns.log",
        "ssl.log",
        "ssl-zeek4.log",
        "x509.log",
        "http.log",
        "dhcp.log",
        "dhcp-zeek2.log",
        "software.log",
        "known_hosts.log",
        "known_services.log",
        "known_devices.log",
        "known_certs.log",
        "weird.log",
    ],
)
def test_log_type_inferred_from_real_field_lists(name: str) -> None:
    lines = fixture(name).read_text().splitlines()
    path = next(line.split("\t")[1] for line in lines if line.startswith("#path"))
    fields = next(line.split("\t")[1:] for line in lines if line.startswith("#fields"))
    assert infer_path(fields) == path


def test_json_timestamp_forms(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts.json"
    records = [
        {"ts": 1714640400.5, "host": "10.0.0.1"},
        {"ts": 1714640400500, "host": "10.0.0.2"},
        {"ts": "2024-05-02T09:00:00.500000Z", "host": "10.0.0.3"},
        {"ts": "2024-05-02T09:00:00.5", "host": "10.0.0.4"},
        {"ts": "1714640400.5", "host": "10.0.0.5"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    observations, summary = read(path)
    assert [o.first_seen for o in observations] == [1714640400.5] * 5  # type: ignore[union-attr]
    assert summary.skipped == 0


def test_nested_json_is_flattened(tmp_path: Path) -> None:
    path = tmp_path / "conn.json"
    record = {
        "ts": 1714640401.0,
        "uid": "CQ3bHz2yJ5Gk0aXc1",
        "id": {"orig_h": "10.0.0.2", "orig_p": 5000, "resp_h": "10.0.0.9", "resp_p": 443},
        "proto": "tcp",
        "conn_state": "SF",
    }
    path.write_text(json.dumps(record) + "\n")
    (flow,), _ = read(path)
    assert isinstance(flow, FlowRecord)
    assert (flow.src_ip, flow.src_port, flow.dst_ip, flow.dst_port) == ("10.0.0.2", 5000, "10.0.0.9", 443)


# -- bad and unusual input ----------------------------------------------------------------------


def test_bad_tsv_lines_are_skipped_and_summarised() -> None:
    flows, summary = read(fixture("conn-bad.log"))
    assert [f.dst_ip for f in flows] == ["47.246.2.1", "93.184.216.34"]  # type: ignore[union-attr]
    assert summary.packets == 2
    assert summary.skipped == 4
    assert summary.errors == (
        "2 lines skipped: wrong field count (first at line 10)",
        "1 line skipped: bad timestamp (first at line 12)",
        "1 line skipped: bad number (first at line 13)",
    )


def test_non_finite_timestamp_is_skipped(tmp_path: Path) -> None:
    lines = fixture("conn.log").read_text().splitlines()
    lines[8] = "nan" + lines[8][lines[8].index("\t") :]
    lines[9] = "inf" + lines[9][lines[9].index("\t") :]
    path = tmp_path / "conn.log"
    path.write_text("\n".join(lines) + "\n")
    flows, summary = read(path)
    assert len(flows) == 4
    assert summary.errors == ("2 lines skipped: bad timestamp (first at line 9)",)
    assert all(isinstance(f, FlowRecord) and math.isfinite(f.first_seen) for f in flows)


def test_bad_json_lines_are_skipped(tmp_path: Path) -> None:
    good = fixture("conn.json").read_text().splitlines()
    path = tmp_path / "conn.json"
    path.write_text(
        "\n".join(
            [
                good[0],
                '{"ts": 1714640401.0, "id.orig_h": "10.0.0.1"',  # cut off
                "[1, 2, 3]",
                good[1].replace('"ts":1714640402.0001', '"ts":"last tuesday"'),
                good[2].replace('"id.orig_p":49152', '"id.orig_p":"many"'),
                good[3],
                "",
            ]
        )
    )
    flows, summary = read(path)
    assert len(flows) == 2
    assert summary.skipped == 4
    assert summary.errors == (
        "1 line skipped: not JSON (first at line 2)",
        "1 line skipped: not a JSON object (first at line 3)",
        "1 line skipped: bad timestamp (first at line 4)",
        "1 line skipped: bad number (first at line 5)",
    )


def test_data_before_fields_header(tmp_path: Path) -> None:
    path = tmp_path / "conn.log"
    path.write_text("#separator \\x09\n#path\tconn\n1714640401.0\t10.0.0.1\n")
    observations, summary = read(path)
    assert observations == []
    assert summary.errors == ("1 line skipped: data before the #fields header (first at line 3)",)


def test_headers_only_log_is_fine() -> None:
    observations, summary = read(fixture("conn-headers-only.log"))
    assert observations == []
    assert (summary.kind, summary.packets, summary.skipped, summary.errors) == ("zeek-conn", 0, 0, ())


def test_gzip_log(tmp_path: Path) -> None:
    path = tmp_path / "conn.00:00:00-01:00:00.log.gz"
    data = fixture("conn.log").read_bytes()
    path.write_bytes(gzip.compress(data))
    flows, summary = read(path)
    assert len(flows) == 6
    assert summary.kind == "zeek-conn+gzip"
    assert summary.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ZeekSource().sniff(path, read_head(path)[2:]) == 1.0


def test_truncated_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    path = tmp_path / "conn.log.gz"
    whole = gzip.compress(fixture("conn.log").read_bytes() * 1500)  # more than one 1 MiB read
    path.write_bytes(whole[: len(whole) * 3 // 4])
    flows, summary = read(path)
    assert 0 < len(flows) < 6 * 1500
    assert any("corrupt compressed data" in e for e in summary.errors)


def test_latin1_bytes_are_read(tmp_path: Path) -> None:
    text = fixture("http.log").read_text()
    path = tmp_path / "http.log"
    path.write_bytes(text.replace("HikOS\\xc3\\xa9", "HikOS\xe9").encode("latin-1"))
    observations, summary = read(path)
    assert (None, "192.168.1.64", "user_agent", "Hik-Connect/4.10.0 (Linux; HikOSé)") in signals(observations)
    assert any("Latin-1" in e for e in summary.errors)
    assert summary.packets == 4


def test_concatenated_logs_reindex_fields(tmp_path: Path) -> None:
    path = tmp_path / "all.log"
    path.write_text(fixture("conn.log").read_text() + fixture("dns.log").read_text())
    observations, summary = read(path)
    assert sum(isinstance(o, FlowRecord) for o in observations) == 6
    assert sum(isinstance(o, DnsAnswer) for o in observations) == 3
    assert (summary.kind, summary.packets, summary.errors) == ("zeek-conn", 11, ())


def test_concatenated_two_column_logs(tmp_path: Path) -> None:
    """``#close``/``#path`` lines have as many columns as known_hosts.log records."""
    path = tmp_path / "known_hosts.log"
    path.write_text(fixture("known_hosts.log").read_text() * 2)
    observations, summary = read(path)
    assert len(observations) == 4
    assert (summary.packets, summary.skipped, summary.errors) == (4, 0, ())


def test_other_separator(tmp_path: Path) -> None:
    lines = fixture("conn.log").read_text().splitlines()
    path = tmp_path / "conn.log"
    path.write_text("\n".join(["#separator \\x7c"] + [line.replace("\t", "|") for line in lines[1:]]) + "\n")
    flows, summary = read(path)
    assert [flow_tuple(f) for f in flows] == [flow_tuple(f) for f in read(fixture("conn.log"))[0]]
    assert summary.errors == ()


def test_progress_is_reported() -> None:
    calls: list[tuple[str, int, int]] = []
    list(ZeekSource().read(fixture("conn.log"), lambda *a: calls.append(a)))
    size = fixture("conn.log").stat().st_size
    assert calls and calls[-1][1:] == (size, size)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\n\n  \n", "empty file"),
        (b"hello, this is a README\n", "not a Zeek log"),
        (b"# comment of some other tool\n1 2 3\n", "not a Zeek log"),
        (b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + b"\x00" * 40, "not a Zeek log"),
        (b'[{"ts": 1}]\n', "not a Zeek log"),
    ],
)
def test_not_a_zeek_log(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "conn.log"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message) as caught:
        ZeekSource().read(path)
    assert str(caught.value).startswith(str(path))


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        ZeekSource().read(tmp_path / "missing.log")
    assert str(caught.value).startswith(str(tmp_path / "missing.log"))
    with pytest.raises(SourceError, match="is a directory"):
        ZeekSource().read(tmp_path)


# -- sniffing and values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_fi", 1.0),
        (b'{"_path":"conn","_write_ts":"2024-05-02T09:00:10.000000Z","ts":"2', 0.9),
        (b'{"ts":1714640401.123456,"uid":"CQ3bHz2yJ5Gk0aXc1","id.orig_h":"19', 0.9),
        (b'{"ts":1714640400.5,"host":"192.168.1.64"}\n', 0.6),
    ],
)
def test_sniff_zeek(head: bytes, expected: float) -> None:
    assert ZeekSource().sniff(Path("x"), head) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00",
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>',
        b'{"timestamp":"2024-05-02T09:00:00.000000+0000","flow_id":1234,',
        b"lease 192.168.1.64 {\n  starts 4 2024/05/02 09:00:00;\n",
        b"ip,mac,vendor\n192.168.1.64,44:19:b6:01:02:03,Hikvision\n",
        b"",
    ],
)
def test_sniff_others(head: bytes) -> None:
    assert ZeekSource().sniff(Path("conn.log"), head) < 0, "the file name does not matter"


@pytest.mark.parametrize(
    ("raw", "mac"),
    [
        ("44:19:B6:01:02:03", "44:19:b6:01:02:03"),
        ("44-19-b6-01-02-03", "44:19:b6:01:02:03"),
        ("4419.b601.0203", "44:19:b6:01:02:03"),
        ("4:19:b6:1:2:3", "04:19:b6:01:02:03"),
        ("4419b6010203", "44:19:b6:01:02:03"),
        ("00:00:00:00:00:00", None),
        ("not a mac", None),
        ("44:19:b6:01:02", None),
        ("zz:19:b6:01:02:03", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_mac(raw: str | None, mac: str | None) -> None:
    assert normalise_mac(raw) == mac


def test_unescape() -> None:
    assert zeek._unescape("a\\x09b") == "a\tb"
    assert zeek._unescape("caf\\xc3\\xa9 \\x2c") == "café ,"
    assert zeek._unescape("no escapes") == "no escapes"
    assert zeek._unescape("bad \\xff byte") == "bad \ufffd byte"
