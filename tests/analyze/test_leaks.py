"""Identifier leak search on crafted requests: every encoding, every place, masking, bounds."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import random
from pathlib import Path
from urllib.parse import quote

import pytest

from phonehome.analyze.identifiers import DeviceIdentifiers, GeoPoint, KnownIdentifier, load_identifiers
from phonehome.analyze.leaks import MAX_FIELD_BYTES, MAX_GENERIC_HITS, LeakScanner, base64_fragments
from phonehome.model import DeviceID, Leak
from phonehome.sources.interface import HttpRequest

FIXTURES = Path(__file__).parent.parent / "fixtures" / "identifiers"
MAC = "3c:28:6d:12:34:56"
DEVICE = DeviceID(f"mac:{MAC}")
OTHER = DeviceID("mac:00:11:22:33:44:55")
IMEI = "358240051111110"
SERIAL = "R58M123ABCD"
ANDROID_ID = "51b6be48bac8c569"
ADID = "38400000-8cf0-11bd-b23e-10b96e40000d"
PHONE = "+447700900123"
EMAIL = "someone.test@example.org"
HOME = GeoPoint(51.5014, -0.1419, "ids.yaml")
RAW_VALUES = (IMEI, SERIAL, ANDROID_ID, ADID, PHONE, EMAIL, "447700900123", "7700900123", "51.5014")
T0 = 1714550400.0


def _entry(home: GeoPoint | None = HOME) -> DeviceIdentifiers:
    idents = (
        KnownIdentifier("imei", IMEI, "ids.yaml"),
        KnownIdentifier("serial", SERIAL, "ids.yaml"),
        KnownIdentifier("mac", MAC, "ids.yaml"),
        KnownIdentifier("android_id", ANDROID_ID, "ids.yaml"),
        KnownIdentifier("advertising_id", ADID, "ids.yaml"),
        KnownIdentifier("phone", PHONE, "ids.yaml"),
        KnownIdentifier("phone", "07700900123", "ids.yaml"),
        KnownIdentifier("email", EMAIL, "ids.yaml"),
    )
    return DeviceIdentifiers("phone", (MAC,), (), (), idents, home, "ids.yaml")


def _scanner(generic: bool = False) -> LeakScanner:
    return LeakScanner({DEVICE: _entry()}, generic=generic)


def _request(
    url: str = "http://api.example.com/v1/ping",
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
    time: float = T0,
    host: str = "api.example.com",
) -> HttpRequest:
    return HttpRequest(
        client_mac=MAC,
        client_ip="192.168.1.23",
        server_ip="203.0.113.10",
        server_port=80,
        time=time,
        method="POST" if body else "GET",
        host=host,
        url=url,
        headers=(("Host", host), ("User-Agent", "okhttp/4.9.2"), *headers),
        body=body,
        source="phone.pcapng",
    )


def _found(*requests: HttpRequest, generic: bool = False) -> set[tuple[str, str, str]]:
    scanner = _scanner(generic)
    for r in requests:
        scanner.scan(r, DEVICE)
    return {(k.identifier, k.encoding, k.location) for k in scanner.results()}


def _body(text: str, content_type: str = "application/octet-stream") -> HttpRequest:
    return _request(headers=(("Content-Type", content_type),), body=text.encode())


# --- forms and encodings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identifier", "sent"),
    [
        ("imei", IMEI),
        ("imei", IMEI[:14]),  # without the check digit
        ("mac", "3c:28:6d:12:34:56"),
        ("mac", "3C:28:6D:12:34:56"),
        ("mac", "3c-28-6d-12-34-56"),
        ("mac", "3C-28-6D-12-34-56"),
        ("mac", "3c286d123456"),
        ("mac", "3C286D123456"),
        ("mac", "3c28.6d12.3456"),
        ("android_id", ANDROID_ID.upper()),
        ("advertising_id", ADID.upper()),
        ("advertising_id", ADID.replace("-", "")),
        ("phone", PHONE),
        ("phone", "447700900123"),
        ("phone", "00447700900123"),
        ("phone", "07700900123"),
        ("phone", "7700900123"),
        ("email", EMAIL),
        ("email", EMAIL.upper()),
        ("serial", SERIAL),
    ],
)
def test_plain_forms(identifier: str, sent: str) -> None:
    assert _found(_body(f"v=1;id={sent};x=2")) == {(identifier, "plain", "body")}


@pytest.mark.parametrize("digest", ["md5", "sha1", "sha256"])
@pytest.mark.parametrize("upper", [False, True])
def test_hashed_forms(digest: str, upper: bool) -> None:
    for identifier, form in (
        ("imei", IMEI),
        ("mac", MAC.upper()),
        ("email", EMAIL),
        ("android_id", ANDROID_ID),
    ):
        value = hashlib.new(digest, form.encode()).hexdigest()
        value = value.upper() if upper else value
        assert _found(_body(f"h={value}&t=1")) == {(identifier, digest, "body")}, identifier


def test_hex_and_url_and_base64_forms() -> None:
    assert _found(_body("d=" + IMEI.encode().hex())) == {("imei", "hex", "body")}
    assert _found(_body("d=" + SERIAL.encode().hex().upper())) == {("serial", "hex", "body")}
    assert _found(_body("e=" + quote(EMAIL, safe=""))) == {("email", "url", "body")}
    assert _found(_body("p=" + quote(PHONE, safe=""))) == {("phone", "url", "body")}
    assert _found(_body("b=" + base64.b64encode(IMEI.encode()).decode())) == {("imei", "base64", "body")}


@pytest.mark.parametrize("prefix", range(6))
@pytest.mark.parametrize("urlsafe", [False, True])
def test_base64_inside_a_longer_blob(prefix: int, urlsafe: bool) -> None:
    """The value sits at every byte alignment inside a base64 blob of other data."""
    rnd = random.Random(prefix)
    blob = rnd.randbytes(prefix) + b'{"imei":"' + IMEI.encode() + b'","t":1}' + rnd.randbytes(7)
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    assert _found(_body("payload=" + encode(blob).decode())) == {("imei", "base64", "body")}


def test_base64_fragments_cover_each_alignment() -> None:
    fragments = base64_fragments(IMEI.encode())
    for offset in range(3):
        blob = base64.b64encode(b"x" * offset + IMEI.encode() + b"yz").decode()
        assert fragments[offset] in blob
    # Case matters in base64: the same letters in another case are not the value.
    swapped = base64.b64encode(b"ab" + IMEI.encode()).decode().swapcase()
    assert _found(_body("payload=" + swapped)) == set()


# --- places --------------------------------------------------------------------------------------


def test_url_raw_and_decoded() -> None:
    assert _found(_request(f"http://api.example.com/r?imei={IMEI}")) == {("imei", "plain", "url")}
    # Percent-escaped digits are only seen after decoding: reported as URL-encoded.
    escaped = "".join(f"%{ord(c):02X}" for c in IMEI)
    assert _found(_request(f"http://api.example.com/r?imei={escaped}")) == {("imei", "url", "url")}
    # Appearing both raw and decoded counts once, as sent.
    both = _found(_request(f"http://api.example.com/r?imei={IMEI}&x=%41"))
    assert both == {("imei", "plain", "url")}


def test_headers_are_named() -> None:
    req = _request(headers=(("X-Device-Id", ANDROID_ID), ("Cookie", f"uid={quote(EMAIL, safe='')}")))
    assert _found(req) == {("android_id", "plain", "header:X-Device-Id"), ("email", "url", "header:Cookie")}


def test_json_field_paths() -> None:
    doc = {
        "app": "com.example",
        "device": {"ids": {"imei": IMEI, "aid": ANDROID_ID.upper()}},
        "events": [{"name": "open"}, {"name": "ping", "props": {"wifi": MAC.replace(":", "")}}],
        "hash": hashlib.md5(EMAIL.encode()).hexdigest(),
        "blob": base64.b64encode(b"\x01" + SERIAL.encode()).decode(),
    }
    found = _found(_body(json.dumps(doc), "application/json; charset=utf-8"))
    assert found == {
        ("imei", "plain", "body:device.ids.imei"),
        ("android_id", "plain", "body:device.ids.aid"),
        ("mac", "plain", "body:events[].props.wifi"),
        ("email", "md5", "body:hash"),
        ("serial", "base64", "body:blob"),
    }


def test_json_names_hide_identifiers_used_as_keys() -> None:
    doc = {"devices": {IMEI: {"imei": IMEI}}}
    assert _found(_body(json.dumps(doc), "application/json")) == {("imei", "plain", "body:devices.*.imei")}


def test_truncated_json_is_body() -> None:
    text = json.dumps({"imei": IMEI, "pad": "x" * 100})[:-20]
    assert _found(_body(text, "application/json")) == {("imei", "plain", "body")}


def test_form_fields() -> None:
    form = f"a=1&device%5Bimei%5D={IMEI}&mail={quote(EMAIL, safe='')}&n=2"
    found = _found(_body(form, "application/x-www-form-urlencoded"))
    assert found == {("imei", "plain", "body:device[imei]"), ("email", "url", "body:mail")}
    # Without a content type, a body shaped like a form is read as one.
    assert _found(_request(body=f"sn={SERIAL}".encode())) == {("serial", "plain", "body:sn")}


def test_multipart_body_is_body() -> None:
    body = f'--b0undary\r\nContent-Disposition: form-data; name="meta"\r\n\r\nimei={IMEI}\r\n--b0undary--\r\n'
    found = _found(_body(body, "multipart/form-data; boundary=b0undary"))
    assert found == {("imei", "plain", "body")}


# --- boundaries ----------------------------------------------------------------------------------


def test_values_inside_longer_runs_are_not_matched() -> None:
    assert _found(_body(f"ts=9{IMEI}7")) == set()  # part of a longer number
    assert _found(_body(f"id=X{SERIAL}9")) == set()  # part of a longer word
    md5 = hashlib.md5(IMEI.encode()).hexdigest()
    assert _found(_body(f"h=a{md5}b")) == set()  # part of a longer hex string
    assert _found(_body(f"id=:{SERIAL}-")) == {("serial", "plain", "body")}


def test_other_devices_identifiers_are_not_attributed() -> None:
    scanner = _scanner()
    scanner.scan(_body(f"imei={IMEI}"), OTHER)
    assert scanner.results() == []


# --- home location -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"lat": 51.50139, "lng": -0.14187}',
        "ll=51.501,-0.142",
        "loc=51.5023%2C-0.1411",
        "<lat>51.50140000</lat><lon>-0.14190000</lon>",
    ],
)
def test_home_location_found(text: str) -> None:
    found = _found(_body(text))
    assert {(i, e) for i, e, _ in found} == {("location", "plain")}


@pytest.mark.parametrize(
    "text",
    [
        "ll=51.5014,0.1419",  # wrong sign
        "ll=51.5090,-0.1419",  # 0.0076 degrees off
        "lat=51.5014&" + "x" * 100 + "&lon=-0.1419",  # too far apart to be one pair
        "lat=51.5014",  # latitude alone
        "v=151.5014,-0.1419",
    ],
)
def test_home_location_not_found(text: str) -> None:
    assert _found(_body(text)) == set()


def test_location_field_and_url() -> None:
    found = _found(_body(json.dumps({"geo": {"lat": 51.5014, "lon": -0.1419}}), "application/json"))
    assert found == {("location", "plain", "body:geo.lat")}
    assert _found(_request("http://api.example.com/w?lat=51.5014&lon=-0.1419")) == {
        ("location", "plain", "url")
    }


# --- generic patterns ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("imei=490154203237518", "pattern:imei"),
        ("bssid=a4:2b:b0:c1:d2:e3", "pattern:mac"),
        ("bssid=A4-2B-B0-C1-D2-E3", "pattern:mac"),
        ('{"latitude": 48.858370, "longitude": 2.294481}', "pattern:gps"),
        ("pos=48.8584,2.2945", "pattern:gps"),
        ("to=alice.smith@mail.example.net", "pattern:email"),
        ("tel=+33612345678", "pattern:phone"),
    ],
)
def test_generic_patterns(text: str, pattern: str) -> None:
    assert _found(_body(text), generic=True) == {(pattern, "plain", "body")}
    assert _found(_body(text), generic=False) == set()


@pytest.mark.parametrize(
    "text",
    [
        "n=490154203237519",  # Luhn fails
        "sign=ab490154203237518cd",  # digits inside a hex token
        "n=4901542032375180",  # 16 digits
        "t=12:34:56:78",  # a time, not a MAC
        "m=00:00:00:00:00:00",
        "v=0.1234,0.5678",  # within a degree of 0,0: fractions, not a place
        '{"cpu": 12.3456, "mem": 45.6789}',  # two decimals, not named as coordinates
        "img=logo@2x.png",
        "tz=+0100",
        "x=2+12345678901234567",
        "ver=1.2.3.4",
    ],
)
def test_generic_non_matches(text: str) -> None:
    assert _found(_body(text), generic=True) == set()


def test_generic_hits_equal_to_known_identifiers_are_not_repeated() -> None:
    text = f"imei={IMEI}&mac={MAC}&e={EMAIL}&tel={PHONE}&ll=51.5014,-0.1419"
    found = _found(_body(text), generic=True)
    assert {i for i, _, _ in found} == {"imei", "mac", "email", "phone", "location"}


def test_generic_for_devices_without_identifiers() -> None:
    scanner = LeakScanner({}, generic=True)
    scanner.scan(_body("mail=bob@example.net"), OTHER)
    assert [(k.device_id, k.identifier) for k in scanner.results()] == [(OTHER, "pattern:email")]
    idle = LeakScanner({}, generic=False)
    idle.scan(_body("mail=bob@example.net"), OTHER)
    assert idle.results() == [] and idle.requests == 0


def test_network_mac_is_known_without_identifiers() -> None:
    scanner = LeakScanner({}, generic=True)
    scanner.scan(_body(f'{{"mac":"{MAC.upper()}","ap":"a4:2b:b0:c1:d2:e3"}}'), DEVICE)
    found = {(k.identifier, k.location, k.confidence) for k in scanner.results()}
    assert found == {("mac", "body:mac", 0.95), ("pattern:mac", "body:ap", 0.4)}


def test_generic_candidates_are_bounded() -> None:
    body = "&".join(f"u{i}=user{i}@example.net" for i in range(1000))
    scanner = LeakScanner({}, generic=True)
    scanner.scan(_body(body), OTHER)
    assert len(scanner.results()) == MAX_GENERIC_HITS


# --- aggregation and masking ---------------------------------------------------------------------


def test_aggregation() -> None:
    scanner = _scanner()
    for n in range(3):
        scanner.scan(_request(f"http://api.example.com/r?i={IMEI}&n={n}", time=T0 + n), DEVICE)
    scanner.scan(_request(f"http://t.example.net/r?i={IMEI}", host="t.example.net:8080", time=T0 + 9), DEVICE)
    scanner.scan(_body(f"i={IMEI}", "text/plain"), DEVICE)
    leaks = scanner.results()
    by_place = {(k.host, k.location): k for k in leaks}
    assert set(by_place) == {
        ("api.example.com", "url"),
        ("t.example.net", "url"),
        ("api.example.com", "body"),
    }
    first = by_place[("api.example.com", "url")]
    assert (first.count, first.first_seen, first.last_seen) == (3, T0, T0 + 2)
    assert (first.masked, first.confidence, first.ip, first.source) == (
        "35******10",
        0.99,
        "203.0.113.10",
        "phone.pcapng",
    )
    assert (first.identifier, first.encoding, first.transport) == ("imei", "plain", "http")


def _leak_text(leaks: list[Leak]) -> str:
    """Every field but ``device_id``: that is the audit's own key (the MAC seen on the network)."""
    anonymous = [dataclasses.replace(k, device_id=DeviceID("x")) for k in leaks]
    return repr(anonymous) + json.dumps([dataclasses.asdict(k) for k in anonymous])


def test_raw_values_appear_nowhere_in_results() -> None:
    scanner = _scanner(generic=True)
    blob = base64.b64encode(b"xy" + IMEI.encode()).decode()
    scanner.scan(_request(f"http://{IMEI}.t.example.net/c?m={MAC}", host=f"{IMEI}.t.example.net"), DEVICE)
    scanner.scan(_body(json.dumps({SERIAL: {"p": PHONE, "e": EMAIL, "b": blob}}), "application/json"), DEVICE)
    scanner.scan(_body(f"{ANDROID_ID}={ADID}&ll=51.5014,-0.1419"), DEVICE)
    scanner.scan(_body("c=alice.smith@mail.example.net&imei2=490154203237518"), DEVICE)
    leaks = scanner.results()
    assert len(leaks) >= 10
    text = _leak_text(leaks)
    for raw in (*RAW_VALUES, MAC, MAC.replace(":", ""), blob, "alice.smith", "490154203237518"):
        assert raw not in text, raw
    assert {k.host for k in leaks} == {"*.t.example.net", "api.example.com"}


# --- hostile input -------------------------------------------------------------------------------


def test_random_binary_body_gives_no_false_hits() -> None:
    """1 MiB of random bytes, generic patterns on: nothing is reported."""
    body = random.Random(20240501).randbytes(1 << 20)
    scanner = _scanner(generic=True)
    scanner.scan(_request(headers=(("Content-Type", "application/octet-stream"),), body=body), DEVICE)
    leaks = scanner.results()
    assert [k for k in leaks if not k.identifier.startswith("pattern:")] == []
    assert leaks == []  # generic false positives measured on this body: 0


def test_identifier_in_binary_body() -> None:
    body = (
        random.Random(7).randbytes(5000)
        + b"\x00"
        + IMEI.encode()
        + b"\xff"
        + random.Random(8).randbytes(5000)
    )
    assert _found(_request(body=body)) == {("imei", "plain", "body")}


def test_huge_header_values_are_bounded() -> None:
    near = "a" * 100 + IMEI + "b" * (8 << 20)
    far = "a" * (MAX_FIELD_BYTES + 10) + IMEI
    assert _found(_request(headers=(("X-Big", near),))) == {("imei", "plain", "header:X-Big")}
    assert _found(_request(headers=(("X-Big", far),))) == set()
    assert _found(_request("http://api.example.com/" + "x" * (1 << 20) + IMEI)) == set()


def test_repeated_values_stay_cheap() -> None:
    """A 1 MiB JSON body repeating the value: every hit is named once, the count is one request."""
    doc = json.dumps({"rows": [{"imei": IMEI, "ll": "51.5014,-0.1419"}] * 25_000})[: 1 << 20]
    scanner = _scanner(generic=True)
    scanner.scan(_body(doc, "application/json"), DEVICE)
    found = {(k.identifier, k.location, k.count) for k in scanner.results()}
    assert found == {("imei", "body", 1), ("location", "body", 1)}  # truncated JSON: no field names


def test_odd_text_does_not_break_the_scan() -> None:
    odd = _request(
        "http://api.example.com/\udcff?q=%ZZ%&imei=" + IMEI,
        headers=(("X-Odd", "\ud800\x00\u0130İ" + SERIAL),),
        body=b"\xff\xfe{" + EMAIL.encode(),
    )
    found = _found(odd, generic=True)
    assert {i for i, _, _ in found} == {"imei", "serial", "email"}


def test_identifiers_file_end_to_end() -> None:
    entry = load_identifiers(FIXTURES / "phone.yaml")[0]
    scanner = LeakScanner({DEVICE: entry})
    scanner.scan(_request("http://api.example.com/r?imei2=490154203237518&bt=3C:28:6D:AB:CD:EF"), DEVICE)
    scanner.scan(_request(body=f"acct={hashlib.sha256(b'u-4711-abcd').hexdigest()}".encode()), DEVICE)
    found = {(k.identifier, k.encoding, k.location) for k in scanner.results()}
    assert found == {
        ("imei", "plain", "url"),
        ("mac", "plain", "url"),
        ("other:account_id", "sha256", "body:acct"),
    }
