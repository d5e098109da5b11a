"""HAR files: ``mitmproxy11.har`` was written by mitmproxy 11 (``hardump``), ``chrome.har`` in the
layout Chrome DevTools exports; other variants are written here from those shapes.
"""

from __future__ import annotations

import base64
import codecs
import gzip
import json
from pathlib import Path

import pytest

from phonehome.model import InputSummary
from phonehome.sources import har
from phonehome.sources.har import HarSource
from phonehome.sources.interface import MAX_BODY_BYTES, HttpRequest, SourceError
from phonehome.sources.registry import build_sources, read_head

FIXTURES = Path(__file__).parent.parent / "fixtures"
MITMPROXY = FIXTURES / "har" / "mitmproxy11.har"
CHROME = FIXTURES / "har" / "chrome.har"
T0 = 1_790_000_000.0


def _read(path: Path) -> tuple[list[HttpRequest], InputSummary]:
    items = list(HarSource().read(path))
    summary = items[-1]
    assert isinstance(summary, InputSummary)
    assert all(isinstance(item, HttpRequest) for item in items[:-1])
    return items[:-1], summary  # type: ignore[return-value]


def _entry(url: str = "https://api.example.cn/upload", **request: object) -> dict[str, object]:
    return {
        "startedDateTime": "2026-09-21T14:13:20.000Z",
        "time": 10.0,
        "request": {"method": "POST", "url": url, "httpVersion": "HTTP/1.1", "headers": [], **request},
        "response": {"status": 200, "content": {"size": 0, "mimeType": ""}},
    }


def _write(tmp_path: Path, entries: list[object], name: str = "test.har") -> Path:
    path = tmp_path / name
    document = {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": entries}}
    path.write_text(json.dumps(document, indent=2))
    return path


@pytest.fixture(params=["ijson", "json"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every reading test runs streamed (ijson) and loaded whole (the fallback without ijson)."""
    if request.param == "json":
        monkeypatch.setattr(har, "_ijson", lambda: None)
    return str(request.param)


def test_a_har_written_by_mitmproxy(loader: str) -> None:
    requests, summary = _read(MITMPROXY)
    assert [(r.method, r.url, r.server_ip, r.server_port) for r in requests] == [
        (
            "GET",
            "https://telemetry.example-camera.cn/v1/ping?sn=DS-2CD2142FWD-I20180101&mac=54:8c:81:aa:bb:cc",
            "203.0.113.7",
            443,
        ),
        ("POST", "https://api.example-camera.cn/upload", "203.0.113.8", 443),
        ("POST", "https://cloud.example.org/form", "2001:db8:1::80", 443),
        ("PUT", "http://nvr.local:8080/ISAPI/System/deviceInfo", None, 8080),
    ]
    # mitmproxy writes the decoded text although the request carried Content-Encoding: gzip
    assert requests[1].body == b'{"serial": "DS-2CD2142FWD-I20180101", "ssid": "HomeNet", "lat": 52.52}'
    assert requests[1].body_note == ""
    assert requests[2].body == b"user=alice&email=alice%40example.com"
    assert [r.time for r in requests] == [T0, T0 + 5, T0 + 10, T0 + 20]
    assert {(r.client_ip, r.client_mac, r.transport) for r in requests} == {("", None, "decrypted")}
    assert (summary.kind, summary.packets, summary.skipped, summary.errors) == ("har", 4, 0, ())


def test_a_har_in_chromes_layout(loader: str) -> None:
    requests, summary = _read(CHROME)
    login, report, logo = requests
    assert (login.method, login.host, login.server_port) == ("POST", "192.168.1.64", 80)
    assert login.body.startswith(b"<SessionLogin><userName>admin</userName>")
    assert login.time == pytest.approx(T0 + 1.25)
    assert ("Host", "192.168.1.64") in login.headers
    assert report.server_ip == "2001:db8:5::10"
    assert report.host == "ezviz-cloud.example.com"
    assert report.headers[0] == (":authority", "ezviz-cloud.example.com")
    assert json.loads(report.body) == {"deviceSerial": "DS-2CD2142FWD-I20180101", "wifiSsid": "Café HomeNet"}
    assert (logo.method, logo.body, logo.body_note) == ("GET", b"", "")
    assert summary.packets == 3


def test_post_data_variants(tmp_path: Path, loader: str) -> None:
    gz = gzip.compress(b'{"imei":"861234567890123"}', mtime=0)
    entries = [
        _entry(postData={"mimeType": "application/octet-stream", "encoding": "base64",
                         "text": base64.b64encode(b"\x00\x01bin").decode()}),
        _entry(headers=[{"name": "Content-Encoding", "value": "gzip"}],
               postData={"mimeType": "application/json", "text": base64.b64encode(gz).decode(),
                         "encoding": "base64"}),
        _entry(postData={"mimeType": "application/x-www-form-urlencoded",
                         "params": [{"name": "user", "value": "bob smith"}, {"name": "id", "value": "7&8"}]}),
        _entry(postData={"mimeType": "text/plain", "text": "x" * (MAX_BODY_BYTES + 1)}),
        _entry(postData={"mimeType": "text/plain", "text": "!!not base64!!", "encoding": "base64"}),
        _entry(headers=[{"name": "Content-Encoding", "value": "gzip"}],
               postData={"mimeType": "application/json", "text": '{"already": "decoded"}'}),
    ]  # fmt: skip
    requests, _ = _read(_write(tmp_path, entries))
    assert [(r.body[:26], r.body_note) for r in requests] == [
        (b"\x00\x01bin", ""),
        (b'{"imei":"861234567890123"}', ""),
        (b"user=bob+smith&id=7%268", ""),
        (b"x" * 26, "truncated"),
        (b"", "undecodable base64"),
        (b'{"already": "decoded"}', ""),
    ]
    assert len(requests[3].body) == MAX_BODY_BYTES


def test_entries_without_what_a_request_needs_are_skipped(tmp_path: Path, loader: str) -> None:
    no_time = _entry()
    del no_time["startedDateTime"]
    bad_time = {**_entry(), "startedDateTime": "yesterday"}
    no_url = _entry(url="")
    local_time = {**_entry("http://[2001:db8::7]:8081/x"), "startedDateTime": "2026-09-21T14:13:20"}
    offset = {
        **_entry(),
        "startedDateTime": "2026-09-21T16:13:20.500+02:00",
        "serverIPAddress": "::ffff:10.0.0.9",
    }
    entries = [no_time, bad_time, no_url, "not an entry", {"request": None}, local_time, offset]
    requests, summary = _read(_write(tmp_path, entries))
    assert [(r.host, r.server_port, r.time, r.server_ip) for r in requests] == [
        ("2001:db8::7", 8081, T0, None),
        ("api.example.cn", 443, T0 + 0.5, "10.0.0.9"),
    ]
    assert (summary.packets, summary.skipped) == (7, 5)


def test_a_truncated_har_keeps_the_entries_before_the_cut(tmp_path: Path) -> None:
    text = CHROME.read_text()
    path = tmp_path / "cut.har"
    path.write_text(text[: text.index('"url": "http://192.168.1.64/doc/images/logo.png"')])
    requests, summary = _read(path)
    assert len(requests) == 2
    assert summary.packets == 2
    (error,) = summary.errors
    assert error.startswith("stopped after 2 entries: ")


def test_hostile_nesting_costs_nothing_in_responses_and_stops_in_requests(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    good = json.dumps(_entry())
    path = tmp_path / "deep.har"
    path.write_text(
        f'{{"log": {{"entries": [{{"response": {deep}}}, {good}, {{"request": {deep}}}, {good}]}}}}'
    )
    requests, summary = _read(path)
    assert len(requests) == 1
    assert (summary.packets, summary.skipped) == (2, 1)
    assert summary.errors == ("stopped after 2 entries: JSON nested more than 64 levels deep",)


def test_gzip_and_bom(tmp_path: Path, loader: str) -> None:
    zipped = tmp_path / "capture.har.gz"
    zipped.write_bytes(gzip.compress(CHROME.read_bytes(), mtime=0))
    requests, summary = _read(zipped)
    assert len(requests) == 3 and summary.kind == "har+gzip"
    bom = tmp_path / "bom.har"
    bom.write_bytes(codecs.BOM_UTF8 + CHROME.read_bytes())
    assert len(_read(bom)[0]) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file, not a HAR file"),
        (b"   \n", "empty file, not a HAR file"),
        (b"[1, 2, 3]", 'not a HAR file \\(no JSON object with a "log" key\\)'),
        (b'{"ts": 1, "uid": "C1"}', "not a HAR file"),
        (b'{"log": {"entries": [{"request": ', "not a readable HAR file"),
        (b'{"log": {"entries": [}}', "not a readable HAR file"),
    ],
)
def test_files_that_are_not_har(tmp_path: Path, content: bytes, message: str, loader: str) -> None:
    path = tmp_path / "bad.har"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=f"^{path}: {message}"):
        list(HarSource().read(path))


def test_valid_json_without_entries_is_an_empty_har(tmp_path: Path, loader: str) -> None:
    path = tmp_path / "empty.har"
    path.write_text('{"log": {"version": "1.2", "creator": {"name": "x"}, "entries": []}}')
    requests, summary = _read(path)
    assert requests == [] and summary.packets == 0


def test_huge_files_need_ijson(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(har, "_ijson", lambda: None)
    monkeypatch.setattr(har, "MAX_UNSTREAMED_BYTES", 100)
    with pytest.raises(SourceError, match=f"^{CHROME}: HAR file of 0 MB is too large .* install ijson"):
        HarSource().read(CHROME)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=f"^{tmp_path / 'none.har'}: cannot open"):
        HarSource().read(tmp_path / "none.har")


def test_sniffing_claims_har_files_and_nothing_else() -> None:
    source = HarSource()
    assert source.sniff(CHROME, read_head(CHROME)) >= 0.9
    assert source.sniff(MITMPROXY, read_head(MITMPROXY)[:64]) >= 0.9
    assert source.sniff(MITMPROXY, read_head(MITMPROXY)) >= 0.9
    assert source.sniff(CHROME, b'{"log": {') > 0
    others = [p for p in FIXTURES.rglob("*") if p.is_file() and p.parent.name != "har"]
    assert others
    for path in others:
        assert source.sniff(path, read_head(path)) <= 0, path
    for name, other in build_sources().items():
        if name == "har":
            continue
        assert other.sniff(CHROME, read_head(CHROME)) <= 0, name
        assert other.sniff(MITMPROXY, read_head(MITMPROXY)) <= 0, name
