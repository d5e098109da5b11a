"""Policy evaluation with a user-written intel directory and pack (the vendor-neutral path)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from phonehome.intel.loader import Intel, IntelError, load_intel
from phonehome.model import Attribution, Destination, Device, DeviceID, Evidence, Traffic
from phonehome.policy.engine import PolicySettings, default_watch_countries, evaluate

ENTITIES = """
version: test-1
entities:
  - id: acme
    name: Acme Surveillance Co.
    short: Acme
    country: XA
    kind: manufacturer
    products: [camera]
    relations:
      - {type: subsidiary, target: acme-home, since: "2019", sources: ["https://example.org/acme-annual-report"]}
      - {type: former-subsidiary, target: oldcam, since: "2010", until: "2020", sources: ["https://example.org/sale"]}
      - {type: oem, target: rebrand, verified: false, sources: ["https://example.org/forum-post"]}
    sources: ["https://example.org/acme"]
  - id: acme-home
    name: Acme Home Ltd.
    short: Acme Home
    country: XA
    kind: manufacturer
    sources: ["https://example.org/acme-home"]
  - id: oldcam
    name: OldCam Inc.
    short: OldCam
    country: US
    kind: manufacturer
    sources: ["https://example.org/oldcam"]
  - id: rebrand
    name: Rebrand LLC
    short: Rebrand
    country: XD
    kind: brand
    sources: ["https://example.org/rebrand"]
  - id: routerco
    name: RouterCo
    short: RouterCo
    country: XB
    kind: manufacturer
    products: [router]
    sources: ["https://example.org/routerco"]
"""

PACK = """
id: test-pack
title: Test pack
authority: Example authority
jurisdiction: XX
version: "1"
summary: For tests.
references: ["https://example.org/law"]
rules:
  - id: PH-TST-001
    title: Equipment produced by Acme
    severity: high
    match: {vendors: [acme]}
    scope: Equipment produced by Acme or its subsidiaries.
    effective: 2024-01-01
    references: ["https://example.org/law#1"]
  - id: PH-TST-002
    title: Foreign-produced router
    severity: medium
    match: {device_types: [router], producer_country_not_in: [XC]}
    scope: Routers produced outside XC.
    references: ["https://example.org/law#2"]
  - id: PH-TST-003
    title: Restricted device talking to its vendor's cloud
    severity: medium
    match: {destination: vendor-cloud, restricted_only: true}
    scope: Traffic from a restricted device to its maker.
    references: ["https://example.org/law#3"]
  - id: PH-TST-004
    title: Data to a watched country
    severity: low
    match: {destination: watch-country}
    scope: Any device sending data to a watched country.
    references: ["https://example.org/law#4"]
"""

DOMAINS = """
version: test-1
domains:
  - {domain: acme-cloud.example, entity: acme, purpose: device-cloud, sources: ["https://example.org/acme-api"]}
"""


@pytest.fixture(scope="module")
def intel(tmp_path_factory: pytest.TempPathFactory) -> Intel:
    root = tmp_path_factory.mktemp("intel")
    (root / "entities.yaml").write_text(textwrap.dedent(ENTITIES))
    (root / "domains.yaml").write_text(textwrap.dedent(DOMAINS))
    pack = root / "pack.yaml"
    pack.write_text(textwrap.dedent(PACK))
    return load_intel([root], [pack])


def _device(
    name: str, vendor: str | None, device_type: str | None, confidence: float = 0.8
) -> Device:
    evidence = (
        Evidence(
            "oui", f"00:00:00 {vendor}", "cap.pcap", f"IEEE registrant; intel maps it to {vendor}"
        ),
    )
    return Device(
        id=DeviceID(f"mac:{name}"),
        mac=name,
        ips=("192.168.1.2",),
        hostnames=(),
        attribution=Attribution(vendor, None, device_type, confidence, evidence),
    )


def _dest(device: Device, name: str, org: str | None, country: str, sent: int = 100) -> Destination:
    return Destination(
        device_id=device.id,
        ip="198.51.100.1",
        name=name,
        domain=name,
        organisation=org,
        asn="EXAMPLE-AS",
        country=country,
        traffic=Traffic(bytes_out=sent, bytes_in=10, flows=1, first_seen=1.0, last_seen=2.0),
    )


def _rules(findings: list) -> set[tuple[str, str]]:
    return {(f.rule_id, f.device_id) for f in findings}


def test_vendor_rule_covers_subsidiaries_not_former_ones(intel: Intel) -> None:
    devices = [
        _device("a", "acme", "camera"),
        _device("b", "acme-home", "camera"),
        _device("c", "oldcam", "camera"),
        _device("d", "acme", "camera", confidence=0.3),
        _device("e", "rebrand", "camera"),  # linked to Acme by a secondary source only
    ]
    settings = PolicySettings(packs=("test-pack",), watch_countries=frozenset())
    found = evaluate(devices, [], intel, settings)
    assert _rules(found) == {("PH-TST-001", "mac:a"), ("PH-TST-001", "mac:b")}
    sub = next(f for f in found if f.device_id == "mac:b")
    assert any(
        e.kind == "relation" and e.value == "Acme subsidiary Acme Home" for e in sub.evidence
    )
    assert sub.policy.scope.startswith("Equipment produced by Acme")
    assert sub.policy.effective == "2024-01-01"
    assert sub.id == "PH-TST-001:mac:b"


def test_categorical_rule_on_type_and_producer_country(intel: Intel) -> None:
    devices = [
        _device("r", "routerco", "router"),
        _device("u", None, "router"),
        _device("k", "acme", "camera"),
    ]
    settings = PolicySettings(packs=("test-pack",), watch_countries=frozenset())
    found = _rules(evaluate(devices, [], intel, settings))
    assert ("PH-TST-002", "mac:r") in found
    # A router whose maker is unknown cannot be said to be foreign-produced.
    assert ("PH-TST-002", "mac:u") not in found
    assert ("PH-TST-002", "mac:k") not in found


def test_destination_rules(intel: Intel) -> None:
    cam, other = _device("a", "acme", "camera"), _device("z", "oldcam", "camera")
    dests = [
        _dest(cam, "api.acme-cloud.example", "acme", "XA"),
        _dest(other, "api.acme-cloud.example", "acme", "XA"),
        _dest(other, "quiet.example", None, "XA", sent=0),
    ]
    settings = PolicySettings(packs=("test-pack",), watch_countries=frozenset({"XA"}))
    found = evaluate([cam, other], dests, intel, settings)
    rules = _rules(found)
    assert ("PH-TST-003", "mac:a") in rules
    assert ("PH-TST-003", "mac:z") not in rules  # not restricted
    watch = [f for f in found if f.rule_id == "PH-TST-004"]
    assert {f.id for f in watch} == {"PH-TST-004:mac:a:XA", "PH-TST-004:mac:z:XA"}
    assert all(e.kind == "destination" for f in watch for e in f.evidence)


def test_skip_rule_and_default_watch_list(intel: Intel) -> None:
    settings = PolicySettings(
        packs=("test-pack",), watch_countries=frozenset(), skip_rules=frozenset({"PH-TST-001"})
    )
    assert evaluate([_device("a", "acme", "camera")], [], intel, settings) == []
    assert default_watch_countries(intel, ["test-pack"]) == frozenset({"XA"})


def test_inconsistent_intel_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "domains.yaml").write_text(
        "version: x\ndomains:\n  - {domain: a.example, entity: nobody, sources: [s]}\n"
    )
    with pytest.raises(IntelError, match="unknown entity 'nobody'"):
        load_intel([tmp_path])


def test_malformed_pack_names_the_file(tmp_path: Path) -> None:
    pack = tmp_path / "bad.yaml"
    pack.write_text("id: Bad Id\n")
    with pytest.raises(IntelError, match=rf"^{pack}: "):
        load_intel([], [pack])
