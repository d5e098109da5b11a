"""Readable HTTP payloads: body decoding (``bodies``) and cleartext requests rebuilt from captures.

Captures are written with ``phonehome.testing.craft`` (real TCP/IP framing, requests cut into
segments of chosen sizes) and read back through the real ``CaptureSource`` or ``SidePass``.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import brotli
import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from phonehome.model import InputSummary
from phonehome.sources import sidepass
from phonehome.sources.bodies import ChunkedDecoder, dechunk, decode_content, host_name
from phonehome.sources.capture import CaptureSource
from phonehome.sources.interface import MAX_BODY_BYTES, HttpRequest
from phonehome.sources.pcapfile import open_capture
from phonehome.sources.sidepass import SidePass
from phonehome.testing import craft
from phonehome.testing.craft import Host

T0 = 1_790_000_000.0
GATEWAY = "e0:06:30:11:22:33"
CAMERA = Host("54:8c:81:aa:bb:cc", "192.168.1.64", "2001:db8:1::64")
LAPTOP = Host("00:1b:21:0a:0b:0c", "192.168.1.40")
CLOUD = "203.0.113.7"
PAYLOAD = {"serial": "DS-2CD2142FWD-I20180101", "mac": "54:8c:81:aa:bb:cc", "ssid": "HomeNet"}


# -- body decoding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "coding"),
    [
        (gzip.compress(b"hello world", mtime=0), "gzip"),
        (gzip.compress(b"hello world", mtime=0), "x-gzip"),
        (zlib.compress(b"hello world"), "deflate"),
        (zlib.compress(b"hello world")[2:-4], "deflate"),  # raw deflate, as some servers send it
        (brotli.compress(b"hello world"), "br"),
        (gzip.compress(brotli.compress(b"hello world"), mtime=0), "br, gzip"),
        (brotli.compress(gzip.compress(b"hello world", mtime=0)), "GZIP , BR"),
        (b"hello world", "identity"),
        (b"hello world", ""),
        (b"hello world", None),
    ],
)
def test_content_codings_are_undone(encoded: bytes, coding: str | None) -> None:
    assert decode_content(encoded, coding) == (b"hello world", "")


def test_concatenated_gzip_members_are_all_decoded() -> None:
    data = gzip.compress(b"one ", mtime=0) + gzip.compress(b"two", mtime=0)
    assert decode_content(data, "gzip") == (b"one two", "")


@pytest.mark.parametrize(
    ("data", "coding", "note"),
    [
        (b"not gzip at all", "gzip", "undecodable gzip"),
        (b"\x00\x01garbage", "br", "undecodable br"),
        (b"\xff\xfe\xfd", "deflate", "undecodable deflate"),
        (b"(\xb5/\xfd", "zstd", "undecodable zstd"),
        (gzip.compress(b"x", mtime=0), "compress, gzip", "undecodable compress"),
    ],
)
def test_undecodable_bodies_are_empty_with_a_note(data: bytes, coding: str, note: str) -> None:
    assert decode_content(data, coding) == (b"", note)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_decompression_bombs_stop_at_the_bound(coding: str) -> None:
    plain = b"\x00" * (64 * MAX_BODY_BYTES)
    bomb = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}[coding](plain)
    assert len(bomb) < MAX_BODY_BYTES // 4
    body, note = decode_content(bomb, coding)
    assert len(body) == MAX_BODY_BYTES
    assert note == "truncated"


def test_a_cut_compressed_body_keeps_what_decodes() -> None:
    text = bytes(range(256)) * 64
    body, note = decode_content(gzip.compress(text, mtime=0)[:-40], "gzip")
    assert note == "truncated"
    assert 0 < len(body) < len(text) and text.startswith(body)


def test_empty_bodies_stay_empty_whatever_the_header_says() -> None:
    assert decode_content(b"", "gzip, br") == (b"", "")
    assert decode_content(b"", "gzip", truncated=True) == (b"", "truncated")


def test_bodies_over_the_bound_are_cut_and_input_cuts_are_reported() -> None:
    assert decode_content(b"x" * (MAX_BODY_BYTES + 5), None) == (b"x" * MAX_BODY_BYTES, "truncated")
    assert decode_content(b"abc", None, truncated=True) == (b"abc", "truncated")
    assert decode_content(b"abcdef", None, limit=4) == (b"abcd", "truncated")


def test_chunked_bodies_decode_whole_or_fed_a_byte_at_a_time() -> None:
    wire = b"5;ext=1\r\nhello\r\n1\r\n \r\nB\r\nworld again\r\n0\r\nX-Trailer: 1\r\n\r\nGET / HTTP/1.1"
    assert dechunk(wire) == (b"hello world again", "")
    decoder = ChunkedDecoder()
    used = 0
    for i in range(len(wire)):
        used += decoder.feed(wire[i : i + 1])
        if decoder.done:
            break
    assert decoder.done and bytes(decoder.body) == b"hello world again"
    assert wire[used:] == b"GET / HTTP/1.1"


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (b"5\r\nhel", (b"hel", "truncated")),
        (b"zz\r\nhello\r\n0\r\n\r\n", (b"", "malformed chunked body (malformed chunk size)")),
        (b"5\r\nhelloXX0\r\n\r\n", (b"hello", "malformed chunked body (missing CRLF after chunk data)")),
        (b"f" * 5000, (b"", "malformed chunked body (chunk size line too long)")),
    ],
)
def test_broken_chunked_bodies_are_reported(wire: bytes, expected: tuple[bytes, str]) -> None:
    assert dechunk(wire) == expected


def test_chunked_bodies_are_bounded() -> None:
    assert dechunk(b"a\r\n0123456789\r\n0\r\n\r\n", limit=4) == (b"0123", "truncated")


@pytest.mark.parametrize(
    ("authority", "host"),
    [("Example.COM:8080", "example.com"), ("[2001:DB8::1]:443", "2001:db8::1"), ("cam.local.", "cam.local")],
)
def test_host_names_lose_ports_brackets_and_case(authority: str, host: str) -> None:
    assert host_name(authority) == host


# -- requests rebuilt from captures ---------------------------------------------------------------


def _requests(tmp_path: Path, packets: list, *, name: str = "cap.pcap", **write: object) -> list[HttpRequest]:
    """HTTP requests read back through the real capture source."""
    path = craft.write_capture(tmp_path / name, packets, **write)  # type: ignore[arg-type]
    items = list(CaptureSource().read(path))
    assert isinstance(items[-1], InputSummary)
    return [item for item in items if isinstance(item, HttpRequest)]


def _side_pass(tmp_path: Path, packets: list, **write: object) -> list[HttpRequest]:
    """HTTP requests from the side pass alone (fast: no flow meter)."""
    path = craft.write_capture(tmp_path / "side.pcap", packets, **write)  # type: ignore[arg-type]
    side = SidePass(str(path))
    found = []
    with open_capture(path) as capture:
        for linktype, ts, frame in capture.frames():
            found += side.frame(linktype, ts, frame)
    found += side.finish()
    return [item for item in found if isinstance(item, HttpRequest)]


def _session(requests: list[bytes], **options: object) -> list:
    return craft.http_session(CAMERA, CLOUD, T0, requests, gateway_mac=GATEWAY, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("gzip_capture", [False, True], ids=["parallel", "sequential"])
def test_a_request_split_over_many_segments_is_one_request(tmp_path: Path, gzip_capture: bool) -> None:
    wire = craft.http_request("GET", "/v1/ping?sn=DS-2CD2142FWD-I20180101", host="cloud.example-camera.cn")
    packets = _session([wire], segment_size=7)
    assert sum(1 for p in packets if p.haslayer(Raw) and p[TCP].dport == 80) > 20
    (request,) = _requests(tmp_path, packets, gzip=gzip_capture)
    assert request.client_mac == CAMERA.mac
    assert request.client_ip == CAMERA.ip
    assert (request.server_ip, request.server_port) == (CLOUD, 80)
    assert request.method == "GET"
    assert request.host == "cloud.example-camera.cn"
    assert request.url == "http://cloud.example-camera.cn/v1/ping?sn=DS-2CD2142FWD-I20180101"
    assert request.headers[0] == ("Host", "cloud.example-camera.cn")
    assert ("Accept", "*/*") in request.headers
    assert request.body == b""
    assert request.transport == "http"
    assert request.body_note == ""
    first_data = min(float(p.time) for p in packets if p.haslayer(Raw))
    assert request.time == pytest.approx(first_data)


def test_keep_alive_requests_with_form_and_json_bodies(tmp_path: Path) -> None:
    form = craft.http_request(
        "POST", "/login", host="nvr.example.com", form=[("user", "admin"), ("pw", "12345")]
    )
    post = craft.http_request("POST", "/api/report", host="nvr.example.com", json_body=PAYLOAD)
    requests = _requests(tmp_path, _session([form, post], segment_size=50))
    assert [(r.method, r.url) for r in requests] == [
        ("POST", "http://nvr.example.com/login"),
        ("POST", "http://nvr.example.com/api/report"),
    ]
    assert requests[0].body == b"user=admin&pw=12345"
    assert json.loads(requests[1].body) == PAYLOAD
    assert requests[0].time < requests[1].time
    assert ("Content-Type", "application/json") in requests[1].headers


def test_pipelined_requests_in_one_segment(tmp_path: Path) -> None:
    first = craft.http_request("POST", "/a", host="h.example", body=b"first")
    second = craft.http_request("GET", "/b", host="h.example")
    third = craft.http_request("POST", "/c", host="h.example", body=b"third", chunk_size=2)
    found = _side_pass(tmp_path, _session([first + second + third]))
    assert [(r.url, r.body) for r in found] == [
        ("http://h.example/a", b"first"),
        ("http://h.example/b", b""),
        ("http://h.example/c", b"third"),
    ]


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "gzip, br"])
def test_compressed_request_bodies_are_decoded(tmp_path: Path, coding: str) -> None:
    wire = craft.http_request(
        "POST", "/upload", host="api.example.cn", json_body=PAYLOAD, content_encoding=coding
    )
    (request,) = _side_pass(tmp_path, _session([wire], segment_size=33))
    assert json.loads(request.body) == PAYLOAD
    assert request.body_note == ""


def test_chunked_bodies_split_anywhere_are_decoded(tmp_path: Path) -> None:
    body = json.dumps(PAYLOAD).encode() * 20
    chunked = craft.http_request("POST", "/c", host="h.example", body=body, chunk_size=37)
    chunked_gzip = craft.http_request(
        "PUT", "/g", host="h.example", body=body, chunk_size=100, content_encoding="gzip"
    )
    found = _requests(tmp_path, _session([chunked, chunked_gzip], segment_size=13))
    assert [r.body for r in found] == [body, body]
    assert [r.body_note for r in found] == ["", ""]


def test_requests_on_other_ports_are_found_by_their_request_line(tmp_path: Path) -> None:
    wire = craft.http_request("POST", "/ISAPI/Event", host="192.168.1.10:9000", body=b"x" * 3000)
    packets = _session([wire], dport=9000, segment_size=500)
    (request,) = _requests(tmp_path, packets)
    assert request.server_port == 9000
    assert request.url == "http://192.168.1.10:9000/ISAPI/Event"
    assert request.host == "192.168.1.10"
    assert request.body == b"x" * 3000


def test_absolute_targets_and_missing_host_headers(tmp_path: Path) -> None:
    proxied = craft.http_request("GET", "http://update.example.com/fw.bin", host="update.example.com")
    bare = craft.http_request("GET", "/status", host=None, version="HTTP/1.0")
    found = _side_pass(tmp_path, _session([proxied]) + _session([bare], dport=8080, sport=40001))
    assert [(r.url, r.host) for r in found] == [
        ("http://update.example.com/fw.bin", "update.example.com"),
        (f"http://{CLOUD}:8080/status", CLOUD),
    ]


def test_non_http_data_on_http_ports_gives_nothing(tmp_path: Path) -> None:
    tls = craft.tls_session(CAMERA, CLOUD, T0, "cloud.example.cn", GATEWAY, dport=80)
    junk = craft.tcp_session(
        CAMERA.mac, CAMERA.ip, GATEWAY, CLOUD, 40000, 8080, T0, [(0.01, 0, b"\x00\x01binary" * 50)]
    )
    postcard = craft.tcp_session(
        CAMERA.mac, CAMERA.ip, GATEWAY, CLOUD, 40001, 7000, T0, [(0.01, 0, b"POSTCARD")]
    )
    assert _side_pass(tmp_path, tls + junk + postcard) == []


def test_responses_are_not_requests(tmp_path: Path) -> None:
    wire = craft.http_request("GET", "/", host="h.example")
    found = _side_pass(tmp_path, _session([wire], response_body=b"GET / HTTP/1.1\r\n\r\n" * 3))
    assert len(found) == 1


def test_retransmitted_and_overlapping_segments_are_dropped(tmp_path: Path) -> None:
    wire = craft.http_request("POST", "/r", host="h.example", body=b"0123456789" * 30)
    packets = _session([wire], segment_size=100)
    data = [p for p in packets if p.haslayer(Raw) and p[TCP].dport == 80]
    again = data[1].copy()
    again.time = float(data[2].time) + 0.0001  # a retransmission after a later segment
    overlap = data[2].copy()  # a resend that overlaps the previous segment by 10 bytes
    overlap[TCP].seq = data[2][TCP].seq - 10
    overlap[Raw].load = bytes(data[1][Raw].load[-10:]) + bytes(data[2][Raw].load)
    overlap.time = float(data[2].time) + 0.0002
    del overlap[TCP].chksum
    (request,) = _side_pass(tmp_path, [*packets, again, overlap])
    assert request.body == b"0123456789" * 30
    assert request.body_note == ""


def test_a_lost_body_segment_marks_the_body_and_keeps_the_next_request(tmp_path: Path) -> None:
    first = craft.http_request("POST", "/one", host="h.example", body=b"a" * 250)
    second = craft.http_request("GET", "/two", host="h.example")
    packets = _session([first, second], segment_size=100)
    data = [p for p in packets if p.haslayer(Raw) and p[TCP].dport == 80]
    lost = next(p for p in data if bytes(p[Raw].load) == b"a" * 100)
    found = _side_pass(tmp_path, [p for p in packets if p is not lost])
    assert [(r.url, r.body_note) for r in found] == [
        ("http://h.example/one", "truncated"),
        ("http://h.example/two", ""),
    ]
    assert found[0].body == b"a" * 150


def test_a_lost_head_segment_resyncs_at_the_next_request(tmp_path: Path) -> None:
    first = craft.http_request("GET", "/one", host="h.example", headers=[("X-Pad", "p" * 300)])
    second = craft.http_request("GET", "/two", host="h.example")
    packets = _session([first, second], segment_size=100)
    data = [p for p in packets if p.haslayer(Raw) and p[TCP].dport == 80]
    found = _side_pass(tmp_path, [p for p in packets if p is not data[1]])
    assert [r.url for r in found] == ["http://h.example/two"]


def test_segments_cut_by_the_snap_length(tmp_path: Path) -> None:
    first = craft.http_request("POST", "/one", host="h.example", body=b"b" * 1000)
    second = craft.http_request("GET", "/two", host="h.example")
    found = _side_pass(tmp_path, _session([first, second]), snaplen=400)
    assert [(r.url, r.body_note) for r in found] == [
        ("http://h.example/one", "truncated"),
        ("http://h.example/two", ""),
    ]
    assert 0 < len(found[0].body) < 1000


def test_bodies_over_the_bound_are_cut_and_the_stream_goes_on(tmp_path: Path) -> None:
    big = craft.http_request("PUT", "/big", host="h.example", body=b"z" * (MAX_BODY_BYTES + 100_000))
    after = craft.http_request("GET", "/after", host="h.example")
    found = _side_pass(tmp_path, _session([big, after], segment_size=60_000))
    assert [(r.url, len(r.body), r.body_note) for r in found] == [
        ("http://h.example/big", MAX_BODY_BYTES, "truncated"),
        ("http://h.example/after", 0, ""),
    ]


def test_requests_open_at_the_end_of_the_capture_are_reported(tmp_path: Path) -> None:
    wire = craft.http_request("POST", "/unfinished", host="h.example", body=b"q" * 500)
    packets = _session([wire], segment_size=100)
    data = [p for p in packets if p.haslayer(Raw) and p[TCP].dport == 80]
    kept = [p for p in packets if float(p.time) < float(data[3].time)]
    (request,) = _requests(tmp_path, kept)
    assert request.body == b"q" * (300 - len(wire) + 500)
    assert request.body_note == "truncated"


@pytest.mark.parametrize(
    ("extra", "note"),
    [
        ([("Content-Length", "abc")], "invalid Content-Length"),
        ([("Content-Length", "5"), ("Content-Length", "6")], "invalid Content-Length"),
        ([("Transfer-Encoding", "gzip")], "unsupported Transfer-Encoding gzip"),
    ],
)
def test_bad_framing_is_reported_once(tmp_path: Path, extra: list[tuple[str, str]], note: str) -> None:
    wire = craft.http_request("GET", "/x", host="h.example", headers=extra) + b"hello"
    (request,) = _side_pass(tmp_path, _session([wire]))
    assert (request.url, request.body, request.body_note) == ("http://h.example/x", b"", note)


def test_ipv6_and_linux_cooked_captures(tmp_path: Path) -> None:
    wire = craft.http_request("POST", "/v6", host="[2001:db8::80]", body=b"six")
    packets = craft.http_session(CAMERA, "2001:db8::80", T0, [wire], gateway_mac=GATEWAY, segment_size=20)
    (request,) = _requests(tmp_path, packets)
    assert (request.client_ip, request.server_ip, request.host) == (
        CAMERA.ipv6,
        "2001:db8::80",
        "2001:db8::80",
    )
    assert request.body == b"six"
    (cooked,) = _side_pass(tmp_path, _session([wire], segment_size=20), linktype=craft.LINKTYPE_LINUX_SLL)
    assert (cooked.client_mac, cooked.client_ip, cooked.body) == (CAMERA.mac, CAMERA.ip, b"six")


def test_vlan_tags_and_offloaded_lengths(tmp_path: Path) -> None:
    wire = craft.http_request("POST", "/tagged", host="h.example", body=b"v" * 100)
    tagged = []
    for p in _session([wire], segment_size=60):
        frame = Ether(src=p[Ether].src, dst=p[Ether].dst) / Dot1Q(vlan=7) / p[IP]
        frame.time = p.time
        tagged.append(frame)
    offloaded = _session([craft.http_request("POST", "/tso", host="h.example", body=b"t" * 50)], sport=40002)
    for p in offloaded:
        p[IP].len = 0  # as captured on the sending host with segmentation offload
    found = _side_pass(tmp_path, tagged + offloaded)
    assert sorted((r.url, r.body) for r in found) == [
        ("http://h.example/tagged", b"v" * 100),
        ("http://h.example/tso", b"t" * 50),
    ]


def test_many_open_streams_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sidepass, "MAX_HTTP_STREAMS", 2)
    packets = []
    for n in range(4):
        wire = craft.http_request("POST", f"/s{n}", host="h.example", body=b"w" * 200)
        session = craft.http_session(
            LAPTOP, CLOUD, T0 + n, [wire], gateway_mac=GATEWAY, sport=41000 + n, segment_size=len(wire) - 50
        )
        data = [p for p in session if p.haslayer(Raw) and p[TCP].dport == 80]
        packets += [p for p in session if p is not data[-1]]  # every body stays unfinished
    found = _side_pass(tmp_path, packets)
    assert sorted(r.url for r in found) == [f"http://h.example/s{n}" for n in range(4)]
    assert {r.body_note for r in found} == {"truncated"}


def test_the_pre_filter_lets_only_request_data_through() -> None:
    get = craft.http_request("GET", "/", host="h")

    def frames(dport: int, payload: bytes) -> list[bytes]:
        session = craft.tcp_session(
            CAMERA.mac, CAMERA.ip, GATEWAY, CLOUD, 40000, dport, T0, [(0.0, 0, payload)]
        )
        return [bytes(p) for p in session]

    on_80 = frames(80, get)
    assert [sidepass._maybe_interesting(f, set()) for f in on_80].count(True) == 1  # data only, no ACKs
    assert any(sidepass._maybe_interesting(f, set()) for f in frames(9999, get))
    assert not any(
        sidepass._maybe_interesting(f, set()) for f in frames(443, b"\x16\x03\x01" + b"\x00" * 200)
    )
    assert not any(sidepass._maybe_interesting(f, set()) for f in frames(9999, b"HELLO / HTTP/1.1\r\n"))
