"""First, support and third party, with the shipped intel data and a small family of our own."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from phonehome.analyze.party import classify_party, party_verdict
from phonehome.intel.loader import Intel, default_intel, load_intel


@pytest.fixture(scope="module")
def intel() -> Intel:
    return default_intel()


@pytest.mark.parametrize(
    ("vendor", "organisation", "asn", "name", "party"),
    [
        # The device's own vendor.
        ("xiaomi", "xiaomi", "AMAZON-02", "tracking.intl.miui.com", "first"),
        ("huawei", "huawei", "HUAWEI CLOUDS", "metrics.data.hicloud.com", "first"),
        # The vendor's own connectivity check stays first party.
        ("xiaomi", "xiaomi", None, "connect.rom.miui.com", "first"),
        # Family, both directions: Hikvision owns EZVIZ.
        ("ezviz", "hikvision", None, "api.hik-connect.com", "first"),
        ("hikvision", "ezviz", None, "apiieu.ezvizlife.com", "first"),
        # OPPO brands: a OnePlus phone talking to OPPO's servers.
        ("oneplus", "oppo", None, "istore.oppomobile.com", "first"),
        # Siblings under BBK without ownership between them are not family.
        ("vivo", "oppo", None, "dc.heytapmobile.com", "third"),
        # Third parties, even when hosted on a cloud.
        ("hikvision", "alibaba", "ALIBABA-CN-NET", "alog.umeng.com", "third"),
        ("xiaomi", "baidu", None, "loc.map.baidu.com", "third"),
        ("xiaomi", "tencent", "TENCENT-NET-AP", "android.bugly.qq.com", "third"),
        # Support by purpose, whoever runs it.
        ("hikvision", "microsoft", "MICROSOFT-CORP-MSN-AS-BLOCK", "time.windows.com", "support"),
        ("xiaomi", "google", "GOOGLE", "connectivitycheck.gstatic.com", "support"),
        ("xiaomi", "google", "GOOGLE", "dns.google", "support"),
        ("xiaomi", "google", "GOOGLE", "www.gstatic.com", "support"),
        # Support by organisation: infrastructure.
        ("xiaomi", "aws", "AMAZON-02", "d1.cloudfront.net", "support"),
        ("dahua", "akamai", None, "a1.akamaized.net", "support"),
        # Only the AS is known.
        ("xiaomi", None, "AMAZON-02", None, "support"),
        ("xiaomi", None, "Tencent Building, Kejizhongyi Avenue", None, "support"),
        ("huawei", None, "HWCLOUDS-AS-AP HUAWEI CLOUDS", None, "support"),
        ("xiaomi", None, "GOOGLE", None, "third"),
        ("xiaomi", None, "Comcast Cable Communications, LLC", None, "third"),
        # Unknown device vendor: never first.
        (None, "xiaomi", None, "tracking.miui.com", "third"),
        (None, None, "CLOUDFLARENET", None, "support"),
        # Nothing known.
        ("xiaomi", None, None, None, None),
        (None, None, None, None, None),
        ("xiaomi", None, "", None, None),
    ],
)
def test_classify_party(
    intel: Intel,
    vendor: str | None,
    organisation: str | None,
    asn: str | None,
    name: str | None,
    party: str | None,
) -> None:
    assert classify_party(vendor, organisation, asn, intel, name=name) == party


def test_organisation_decides_over_the_as(intel: Intel) -> None:
    # Xiaomi telemetry hosted on AWS is Xiaomi's, not AWS's.
    assert classify_party("xiaomi", "xiaomi", "AMAZON-02", intel) == "first"
    # Umeng on Alibaba Cloud is third party, not plumbing.
    assert classify_party("xiaomi", "alibaba", "Alibaba US Technology Co., Ltd.", intel) == "third"


def test_organisation_from_the_name_when_not_given(intel: Intel) -> None:
    assert classify_party("xiaomi", None, None, intel, name="data.mistat.xiaomi.com") == "first"
    assert classify_party("xiaomi", None, None, intel, name="unlisted.example") is None


def test_reasons_name_the_link(intel: Intel) -> None:
    verdict = party_verdict("ezviz", "hikvision", None, intel)
    assert verdict is not None and verdict.party == "first"
    assert "Hikvision" in verdict.reason and "EZVIZ" in verdict.reason and "subsidiary" in verdict.reason
    verdict = party_verdict("xiaomi", None, "AMAZON-02", intel)
    assert verdict is not None and "AWS" in verdict.reason and "AMAZON-02" in verdict.reason
    verdict = party_verdict("xiaomi", "google", None, intel, name="time.google.com")
    assert verdict is not None and verdict.reason.startswith("time.google.com is a time endpoint")


def test_family_links_of_a_user_file(tmp_path: Path) -> None:
    """A three-level family: parent owns child, child markets a brand."""
    (tmp_path / "entities.yaml").write_text(
        textwrap.dedent(
            """\
            version: t
            entities:
              - id: parent-co
                name: Parent Co
                short: Parent
                kind: manufacturer
                products: [camera]
                relations:
                  - {type: subsidiary, target: child-co, sources: [s]}
                sources: [s]
              - id: child-co
                name: Child Co
                short: Child
                kind: manufacturer
                products: [camera]
                relations:
                  - {type: brand, target: brand-co, sources: [s]}
                  - {type: former-subsidiary, target: old-co, until: "2020", sources: [s]}
                sources: [s]
              - {id: brand-co, name: Brand Co, short: Brand, kind: brand, sources: [s]}
              - {id: old-co, name: Old Co, short: Old, kind: manufacturer, sources: [s]}
              - {id: host-co, name: Host Co, short: Host, kind: cloud, role: infrastructure, sources: [s]}
            """
        )
    )
    (tmp_path / "networks.yaml").write_text(
        "version: t\nnetworks:\n  - {names: [HOST-NET], asn: [64501], entity: host-co, sources: [s]}\n"
    )
    intel = load_intel([tmp_path])
    assert classify_party("brand-co", "parent-co", None, intel) == "first"
    assert classify_party("parent-co", "brand-co", None, intel) == "first"
    assert classify_party("old-co", "child-co", None, intel) == "third"  # relation ended
    assert classify_party("child-co", "host-co", None, intel) == "support"
    assert classify_party("child-co", None, "AS64501", intel) == "support"
    assert classify_party("child-co", None, "AS64502", intel) == "third"
