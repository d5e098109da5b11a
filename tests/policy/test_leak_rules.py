"""Leak findings: the shipped PH-TRF-003..005 rules and the ``leak:`` match block of user packs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from phonehome.intel.loader import Intel, IntelError, load_intel
from phonehome.model import Attribution, Destination, Device, DeviceID, Leak, Severity, Traffic
from phonehome.policy.engine import PolicySettings, evaluate

PHONE = DeviceID("mac:3c:28:6d:12:34:56")
T0 = 1714550400.0

USER_PACK = """
id: leak-test
title: Leak test pack
authority: Example security office
jurisdiction: internal
version: "1"
summary: For tests.
references: ["https://example.org/policy"]
rules:
  - id: PH-LKT-001
    title: Advertising id to a third party
    severity: low
    match:
      leak:
        identifiers: [advertising_id]
        parties: [third]
        raise_for_watch_country: false
    scope: Advertising identifiers sent to third parties.
    references: ["https://example.org/policy#1"]
  - id: PH-LKT-002
    title: Confident generic e-mail, cameras only
    severity: medium
    match:
      device_types: [camera]
      leak:
        identifiers: ["pattern:email"]
        min_confidence: 0.5
    scope: E-mail addresses in camera traffic.
    references: ["https://example.org/policy#2"]
"""


@pytest.fixture(scope="module")
def intel(tmp_path_factory: pytest.TempPathFactory) -> Intel:
    pack = tmp_path_factory.mktemp("packs") / "leak-test.yaml"
    pack.write_text(textwrap.dedent(USER_PACK))
    return load_intel([], [pack])


def _device(device_id: DeviceID = PHONE, device_type: str = "phone") -> Device:
    return Device(
        id=device_id,
        mac=device_id.removeprefix("mac:"),
        ips=("192.168.1.23",),
        hostnames=(),
        attribution=Attribution(None, None, device_type, 0.0, ()),
    )


def _dest(ip: str, name: str, country: str, party: str = "third") -> Destination:
    return Destination(
        device_id=PHONE,
        ip=ip,
        name=name,
        domain=name,
        organisation=None,
        asn="EXAMPLE-AS",
        country=country,
        traffic=Traffic(bytes_out=500, bytes_in=100, flows=2, first_seen=T0, last_seen=T0 + 60, party=party),
    )


def _leak(
    identifier: str,
    host: str = "api.example.com",
    ip: str | None = "198.51.100.7",
    encoding: str = "plain",
    location: str = "url",
    confidence: float = 0.99,
    device: DeviceID = PHONE,
) -> Leak:
    return Leak(
        device_id=device,
        host=host,
        ip=ip,
        identifier=identifier,
        encoding=encoding,
        location=location,
        masked="35******10",
        confidence=confidence,
        first_seen=T0,
        last_seen=T0 + 30,
        count=4,
        source="phone.pcapng",
    )


DESTS = [
    _dest("198.51.100.7", "api.example.com", "US"),
    _dest("203.0.113.9", "log.example.cn", "CN"),
    _dest("192.0.2.44", "cdn.example.net", "NL", party="support"),
]


DESTINATION_RULES = frozenset({"PH-TRF-001", "PH-TRF-002"})


def _settings(*packs: str, skip: frozenset[str] = frozenset()) -> PolicySettings:
    """The traffic pack's leak rules only (its destination rules are tested in test_engine.py)."""
    return PolicySettings(
        packs=packs or ("phonehome-traffic",),
        watch_countries=frozenset({"CN"}),
        skip_rules=DESTINATION_RULES | skip,
    )


def _by_id(findings: list) -> dict[str, object]:
    return {f.id: f for f in findings}


def test_identifier_severity_by_kind_and_watch_country(intel: Intel) -> None:
    leaks = [
        _leak("imei"),
        _leak("imei", encoding="sha256", location="body:device.h"),
        _leak("mac"),
        _leak("android_id", host="log.example.cn", ip="203.0.113.9"),
        _leak("imei", host="log.example.cn", ip="203.0.113.9", encoding="base64"),
        _leak("other:account_id"),
    ]
    found = _by_id(evaluate([_device()], DESTS, intel, _settings(), leaks))
    imei = found[f"PH-TRF-003:{PHONE}:imei@api.example.com"]
    assert imei.severity is Severity.HIGH
    assert imei.category == "traffic"
    assert imei.title == "Device identifier sent in readable traffic: imei to api.example.com (US)"
    leak_evidence = [e for e in imei.evidence if e.kind == "leak"]
    assert [e.value for e in leak_evidence] == [
        "imei 35******10 (sha256) in body:device.h to api.example.com",
        "imei 35******10 (plain) in url to api.example.com",
    ]
    assert leak_evidence[0].source == "phone.pcapng"
    assert leak_evidence[0].detail == "sent in 4 requests over http; confidence 0.99"
    (dest,) = [e for e in imei.evidence if e.kind == "destination"]
    assert dest.value == "api.example.com (198.51.100.7)"
    assert "third party" in dest.detail
    assert found[f"PH-TRF-003:{PHONE}:mac@api.example.com"].severity is Severity.MEDIUM
    assert found[f"PH-TRF-003:{PHONE}:other:account_id@api.example.com"].severity is Severity.MEDIUM
    # A watch-list country raises the severity one level.
    android = found[f"PH-TRF-003:{PHONE}:android_id@log.example.cn"]
    assert android.severity is Severity.HIGH
    assert android.title.endswith("android_id to log.example.cn (CN, watch list)")
    assert found[f"PH-TRF-003:{PHONE}:imei@log.example.cn"].severity is Severity.CRITICAL


def test_location_and_generic_rules(intel: Intel) -> None:
    leaks = [
        _leak("location", location="body:geo.lat", confidence=0.9),
        _leak("pattern:email", confidence=0.5),
        _leak("pattern:gps", host="log.example.cn", ip="203.0.113.9", confidence=0.35),
    ]
    found = _by_id(evaluate([_device()], DESTS, intel, _settings(), leaks))
    assert set(found) == {
        f"PH-TRF-004:{PHONE}:location@api.example.com",
        f"PH-TRF-005:{PHONE}:pattern:email@api.example.com",
        f"PH-TRF-005:{PHONE}:pattern:gps@log.example.cn",
    }
    assert found[f"PH-TRF-004:{PHONE}:location@api.example.com"].severity is Severity.HIGH
    assert found[f"PH-TRF-005:{PHONE}:pattern:email@api.example.com"].severity is Severity.LOW
    assert found[f"PH-TRF-005:{PHONE}:pattern:gps@log.example.cn"].severity is Severity.MEDIUM


def test_leak_without_known_destination(intel: Intel) -> None:
    # A proxy record may not say which address was reached; the name still finds the destination.
    found = evaluate([_device()], DESTS, intel, _settings(), [_leak("imei", host="log.example.cn", ip=None)])
    assert found[0].severity is Severity.CRITICAL
    unknown = evaluate([_device()], [], intel, _settings(), [_leak("imei", host="nowhere.example")])
    assert [(f.severity, f.title) for f in unknown] == [
        (Severity.HIGH, "Device identifier sent in readable traffic: imei to nowhere.example")
    ]
    assert [e.kind for e in unknown[0].evidence] == ["leak"]


def test_leaks_of_unknown_devices_and_skipped_rules(intel: Intel) -> None:
    stranger = _leak("imei", device=DeviceID("mac:00:11:22:33:44:55"))
    assert evaluate([_device()], DESTS, intel, _settings(), [stranger]) == []
    skip = _settings(skip=frozenset({"PH-TRF-003"}))
    assert evaluate([_device()], DESTS, intel, skip, [_leak("imei")]) == []


def test_existing_callers_without_leaks(intel: Intel) -> None:
    assert evaluate([_device()], [], intel, _settings()) == []


def test_user_pack_parties_types_and_confidence(intel: Intel) -> None:
    camera = _device(DeviceID("mac:c0:56:e3:00:00:01"), "camera")
    leaks = [
        _leak("advertising_id"),  # third party
        _leak("advertising_id", host="cdn.example.net", ip="192.0.2.44"),  # support party
        _leak("pattern:email", confidence=0.5),  # phone, not a camera
        _leak("pattern:email", device=camera.id, confidence=0.5),
        _leak("pattern:email", device=camera.id, host="x.example", confidence=0.3),  # below 0.5
    ]
    found = evaluate([_device(), camera], DESTS, intel, _settings("leak-test"), leaks)
    assert sorted(f.id for f in found) == [
        f"PH-LKT-001:{PHONE}:advertising_id@api.example.com",
        f"PH-LKT-002:{camera.id}:pattern:email@api.example.com",
    ]


def test_rule_cannot_be_about_destinations_and_leaks(tmp_path: Path) -> None:
    pack = tmp_path / "bad.yaml"
    pack.write_text(
        textwrap.dedent(USER_PACK).replace(
            "        raise_for_watch_country: false\n",
            "        raise_for_watch_country: false\n      destination: watch-country\n",
        )
    )
    with pytest.raises(IntelError, match="destinations or about leaks"):
        load_intel([], [pack])
