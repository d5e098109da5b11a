"""mitmproxy flow files.

``tests/fixtures/mitmproxy/mitmproxy11.flows`` was written by mitmproxy 11.0.2's own
``io.FlowWriter`` (flow format 21; see the README there). Other shapes are written here with a
small tnetstring writer that, like mitmproxy's, emits each dict's entries in reverse order:
the format 7 shape of mitmproxy 5/6 (``address`` / ``ip_address``) and the 0.x shape (bytes keys,
``{"address": {"address": [ip, port]}}``, ``httpversion``).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli
import pytest

from phonehome.model import InputSummary
from phonehome.sources.interface import MAX_BODY_BYTES, HttpRequest, SourceError
from phonehome.sources.mitmproxy import MitmproxySource, TnetError, loads
from phonehome.sources.registry import build_sources, read_head

FIXTURES = Path(__file__).parent.parent / "fixtures"
REAL = FIXTURES / "mitmproxy" / "mitmproxy11.flows"
T0 = 1_790_000_000.0


def _nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


DEEP = _nested(200)


def tnet(value: object) -> bytes:
    """A tnetstring, written the way mitmproxy's ``tnetstring.dumps`` lays it out."""
    if value is None:
        return b"0:~"
    if isinstance(value, bool):
        return b"4:true!" if value else b"5:false!"
    if isinstance(value, int):
        text = str(value).encode()
        return b"%d:%s#" % (len(text), text)
    if isinstance(value, float):
        text = repr(value).encode()
        return b"%d:%s^" % (len(text), text)
    if isinstance(value, bytes):
        return b"%d:%s," % (len(value), value)
    if isinstance(value, str):
        data = value.encode()
        return b"%d:%s;" % (len(data), data)
    if isinstance(value, list | tuple):
        data = b"".join(tnet(item) for item in value)
        return b"%d:%s]" % (len(data), data)
    if isinstance(value, dict):
        data = b"".join(tnet(k) + tnet(v) for k, v in reversed(list(value.items())))
        return b"%d:%s}" % (len(data), data)
    raise TypeError(type(value))


def flow21(
    *,
    method: bytes = b"POST",
    path: bytes = b"/upload?id=7",
    host: str = "api.example-camera.cn",
    port: int = 443,
    scheme: bytes = b"https",
    headers: list[list[bytes]] | None = None,
    content: bytes | None = b"",
    client: tuple[str, int] = ("192.168.1.64", 50123),
    server: tuple[str, int] | None = ("203.0.113.7", 443),
    started: float | None = T0,
    response: bytes = b"{}",
) -> dict[str, object]:
    """A flow in format 21 (mitmproxy 10 and 11), keys in ``get_state`` order."""
    headers = headers if headers is not None else [[b"Host", host.encode()]]
    return {
        "version": 21,
        "type": "http",
        "id": "8d0b7a9c-5f44-4f0e-9a53-1a2b3c4d5e6f",
        "error": None,
        "client_conn": {
            "id": "c1", "peername": list(client), "sockname": ["192.168.1.2", 8080], "tls": False,
            "timestamp_start": T0 - 1, "proxy_mode": "regular", "transport_protocol": "tcp",
        },
        "server_conn": {
            "id": "s1", "address": [host, port], "peername": list(server) if server else None,
            "sockname": ["192.168.1.2", 40000], "tls": scheme == b"https", "via": None,
        },
        "intercepted": False,
        "is_replay": None,
        "marked": "",
        "metadata": {},
        "comment": "",
        "timestamp_created": T0,
        "backup": None,
        "request": {
            "host": host, "port": port, "method": method, "scheme": scheme, "authority": b"",
            "path": path, "http_version": b"HTTP/1.1", "headers": headers, "content": content,
            "trailers": None, "timestamp_start": started, "timestamp_end": T0 + 0.1,
        },
        "response": {
            "http_version": b"HTTP/1.1", "status_code": 200, "reason": b"OK",
            "headers": [[b"Content-Length", str(len(response)).encode()]], "content": response,
            "trailers": None, "timestamp_start": T0 + 0.2, "timestamp_end": T0 + 0.3,
        },
        "websocket": None,
    }  # fmt: skip


def flow7() -> dict[str, object]:
    """Format 7 (mitmproxy 5 and 6): ``client_conn.address`` and ``server_conn.ip_address``."""
    return {
        "client_conn": {"address": ["192.168.1.41", 51515], "tls_established": False, "id": "c"},
        "server_conn": {
            "address": ["nvr.example.com", 80], "ip_address": ["198.51.100.9", 80],
            "source_address": ["192.168.1.2", 41000], "tls_established": False, "via": None,
        },
        "type": "http",
        "version": 7,
        "request": {
            "first_line_format": "relative", "method": b"GET", "scheme": b"http", "host": "nvr.example.com",
            "port": 80, "path": b"/cgi-bin/status?serial=ABC123", "http_version": b"HTTP/1.1",
            "headers": [[b"Host", b"nvr.example.com"], [b"User-Agent", b"curl/7.58"]], "content": b"",
            "timestamp_start": T0 + 1, "timestamp_end": T0 + 1.1, "is_replay": False,
        },
        "response": None,
        "error": None,
        "id": "f7",
        "marked": False,
    }  # fmt: skip


def flow016() -> dict[bytes, object]:
    """Format 0.16 (Python 2 mitmproxy): bytes keys, wrapped addresses, ``httpversion``."""
    return {
        b"version": [0, 16],
        b"type": b"http",
        b"client_conn": {b"address": {b"address": [b"192.168.1.42", 40404], b"use_ipv6": False}},
        b"server_conn": {
            b"address": {b"address": [b"legacy.example.net", 8080], b"use_ipv6": False},
            b"peer_address": {b"address": [b"192.0.2.80", 8080], b"use_ipv6": False},
        },
        b"request": {
            b"form_in": b"relative", b"method": b"PUT", b"scheme": b"http", b"host": b"legacy.example.net",
            b"port": 8080, b"path": b"/api", b"httpversion": [1, 1],
            b"headers": [[b"Host", b"legacy.example.net:8080"], [b"Content-Type", b"text/plain"]],
            b"content": b"old body", b"timestamp_start": T0 + 2,
        },
        b"response": None,
    }  # fmt: skip


def _write(tmp_path: Path, *flows: object, tail: bytes = b"", name: str = "flows") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(tnet(f) for f in flows) + tail)
    return path


def _read(path: Path) -> tuple[list[HttpRequest], InputSummary]:
    items = list(MitmproxySource().read(path))
    summary = items[-1]
    assert isinstance(summary, InputSummary)
    assert all(isinstance(item, HttpRequest) for item in items[:-1])
    return items[:-1], summary  # type: ignore[return-value]


def test_the_writer_matches_mitmproxys_layout() -> None:
    # the bytes mitmproxy 11's tnetstring.dumps gives for the same value
    assert tnet({"a": 1, "b": [b"x", None, True]}) == b"30:1:b;14:1:x,0:~4:true!]1:a;1:1#}"
    assert loads(tnet({"a": 1, "b": [b"x", None, True, -2.5]})) == {"a": 1, "b": [b"x", None, True, -2.5]}


def test_a_file_written_by_mitmproxy_11() -> None:
    requests, summary = _read(REAL)
    assert [(r.method, r.url) for r in requests] == [
        (
            "GET",
            "https://telemetry.example-camera.cn/v1/ping?sn=DS-2CD2142FWD-I20180101&mac=54:8c:81:aa:bb:cc",
        ),
        ("POST", "https://api.example-camera.cn/upload"),
        ("POST", "https://cloud.example.org/form"),
        ("PUT", "http://nvr.local:8080/ISAPI/System/deviceInfo"),
    ]
    assert [(r.client_ip, r.server_ip, r.server_port) for r in requests] == [
        ("192.168.1.64", "203.0.113.7", 443),
        ("192.168.1.64", "203.0.113.8", 443),
        ("2001:db8::64", "2001:db8:1::80", 443),
        ("192.168.1.40", None, 8080),  # the proxy never connected: no server address
    ]
    gzipped = requests[1]
    assert ("Content-Encoding", "gzip") in gzipped.headers
    assert gzipped.body == b'{"serial": "DS-2CD2142FWD-I20180101", "ssid": "HomeNet", "lat": 52.52}'
    assert requests[2].host == "cloud.example.org"  # HTTP/2: the name comes from the authority
    assert requests[2].body == b"user=alice&email=alice%40example.com"
    assert requests[3].body == b"<DeviceInfo/>"
    assert {r.transport for r in requests} == {"decrypted"}
    assert {r.client_mac for r in requests} == {None}
    assert [r.time for r in requests] == [T0, T0 + 5, T0 + 10, T0 + 20]
    assert summary.kind == "mitmproxy-flows"
    assert summary.packets == 6
    assert summary.skipped == 0
    assert summary.errors == ("flows without HTTP requests not read: 1 dns, 1 tcp",)
    assert len(summary.sha256) == 64


def test_current_format_bodies_are_decoded_and_bounded(tmp_path: Path) -> None:
    gz = flow21(content=gzip.compress(b"serial=ABC", mtime=0), headers=[[b"Content-Encoding", b"gzip"]])
    br = flow21(content=brotli.compress(b"mac=54:8c:81"), headers=[[b"content-encoding", b"br"]])
    big = flow21(content=b"u" * (MAX_BODY_BYTES + 10), response=b"r" * (3 * MAX_BODY_BYTES))
    bad = flow21(content=b"plain", headers=[[b"Content-Encoding", b"gzip"]])
    requests, summary = _read(_write(tmp_path, gz, br, big, bad))
    assert [(r.body[:12], r.body_note) for r in requests] == [
        (b"serial=ABC", ""),
        (b"mac=54:8c:81", ""),
        (b"u" * 12, "truncated"),
        (b"", "undecodable gzip"),
    ]
    assert len(requests[2].body) == MAX_BODY_BYTES
    assert requests[0].url == "https://api.example-camera.cn/upload?id=7"
    assert (summary.packets, summary.errors, summary.skipped) == (4, (), 0)


def test_older_formats(tmp_path: Path) -> None:
    requests, summary = _read(_write(tmp_path, flow7(), flow016()))
    assert [(r.client_ip, r.server_ip, r.server_port, r.method, r.host, r.url) for r in requests] == [
        ("192.168.1.41", "198.51.100.9", 80, "GET", "nvr.example.com",
         "http://nvr.example.com/cgi-bin/status?serial=ABC123"),
        ("192.168.1.42", "192.0.2.80", 8080, "PUT", "legacy.example.net", "http://legacy.example.net:8080/api"),
    ]  # fmt: skip
    assert requests[0].headers == (("Host", "nvr.example.com"), ("User-Agent", "curl/7.58"))
    assert requests[1].body == b"old body"
    assert summary.packets == 2 and not summary.errors


def test_addresses_and_flows_without_what_a_request_needs(tmp_path: Path) -> None:
    mapped = flow21(client=("::ffff:192.168.1.77", 5000), server=None)
    untimed = flow21(started=None)
    tcp = {"version": 21, "type": "tcp", "messages": [[True, b"hello", T0]], "client_conn": {}}
    udp = {"version": 21, "type": "udp", "messages": [], "client_conn": {}}
    requests, summary = _read(_write(tmp_path, mapped, untimed, tcp, udp, tcp))
    assert [(r.client_ip, r.server_ip) for r in requests] == [("192.168.1.77", None)]
    assert summary.packets == 5
    assert summary.skipped == 1
    assert summary.errors == ("flows without HTTP requests not read: 2 tcp, 1 udp",)


def test_a_truncated_file_keeps_the_flows_before_the_cut(tmp_path: Path) -> None:
    whole = tnet(flow21(path=b"/first")) + tnet(flow21(path=b"/second"))
    path = tmp_path / "cut.flows"
    path.write_bytes(whole[: len(whole) - 300])
    requests, summary = _read(path)
    assert [r.url for r in requests] == ["https://api.example-camera.cn/first"]
    assert summary.packets == 1
    (error,) = summary.errors
    assert error.startswith(f"stopped at byte {len(tnet(flow21(path=b'/first')))} after 1 flows: ")
    assert "ends inside" in error


@pytest.mark.parametrize(
    ("tail", "problem"),
    [
        (b"garbage", "missing or invalid length prefix"),
        (b"12", "file ends inside a length prefix"),
        (b"8:1:a;1:b;]", "a flow is not a dict"),
        (b"300000000:" + tnet("client_conn") + b"300000000:", "over the 256 MB limit"),
        (tnet({"client_conn": DEEP}), "nested too deeply"),
    ],
)
def test_damage_after_good_flows_is_noted(tmp_path: Path, tail: bytes, problem: str) -> None:
    requests, summary = _read(_write(tmp_path, flow21(), tail=tail))
    assert len(requests) == 1
    (error,) = summary.errors
    assert problem in error


def test_deep_nesting_is_refused_without_recursion() -> None:
    with pytest.raises(TnetError, match="nested too deeply"):
        loads(tnet(DEEP))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"hello world\n", "not a mitmproxy flow file"),
        (b'{"log": {}}', "not a mitmproxy flow file"),
        (b"99999999999:x", "not a mitmproxy flow file"),
        (b"5:hello,", "not a mitmproxy flow file"),
    ],
)
def test_files_that_are_not_flow_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.flows"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=f"^{path}: {message}"):
        list(MitmproxySource().read(path))


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=f"^{tmp_path / 'none'}: cannot open"):
        MitmproxySource().read(tmp_path / "none")
    with pytest.raises(SourceError, match=f"^{tmp_path}: is a directory"):
        MitmproxySource().read(tmp_path)


def test_gzip_compressed_flow_files(tmp_path: Path) -> None:
    path = tmp_path / "flows.gz"
    path.write_bytes(gzip.compress(REAL.read_bytes(), mtime=0))
    requests, summary = _read(path)
    assert len(requests) == 4
    assert summary.kind == "mitmproxy-flows+gzip"
    assert summary.sha256 != _read(REAL)[1].sha256


def test_progress_is_reported() -> None:
    calls: list[tuple[str, int, int]] = []
    list(MitmproxySource().read(REAL, lambda *call: calls.append(call)))
    size = REAL.stat().st_size
    assert calls[-1] == ("read", size, size)


def test_sniffing_claims_flow_files_and_nothing_else(tmp_path: Path) -> None:
    source = MitmproxySource()
    assert source.sniff(REAL, read_head(REAL)) >= 0.9
    assert source.sniff(REAL, read_head(REAL)[:64]) >= 0.9
    old = _write(tmp_path, flow016())
    assert source.sniff(old, read_head(old)) >= 0.9
    others = [p for p in FIXTURES.rglob("*") if p.is_file() and p.parent.name != "mitmproxy"]
    assert others
    for path in others:
        assert source.sniff(path, read_head(path)) <= 0, path
    sources = {**build_sources(), "mitmproxy": source}
    for name, other in sources.items():
        if name != "mitmproxy":
            assert other.sniff(REAL, read_head(REAL)) <= 0, name
