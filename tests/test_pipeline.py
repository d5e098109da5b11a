"""The whole pipeline on the synthetic office capture shipped as the demo."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from phonehome.intel.loader import default_intel
from phonehome.model import Report
from phonehome.pipeline import AuditOptions, plan_inputs, run_audit
from phonehome.policy.engine import PolicySettings, default_watch_countries

DEMO = Path(__file__).resolve().parents[1] / "demo" / "office.pcapng"
GATEWAY, CAMERA, NVR = "mac:e0:06:30:5a:1c:01", "mac:54:8c:81:3e:92:a7", "mac:3c:ef:8c:71:40:2d"
PHONE, PLUG, LAPTOP, RANDOM = (
    "mac:64:09:80:c2:5d:18",
    "mac:d8:1f:12:7d:3e:2a",
    "mac:f8:b1:56:0a:4b:6e",
    "mac:da:a1:19:6e:2f:83",
)
progress_calls: list[tuple[str, int, int]] = []


@pytest.fixture(scope="module")
def report() -> Report:
    intel = default_intel()
    packs = tuple(sorted(intel.packs))
    settings = PolicySettings(packs=packs, watch_countries=default_watch_countries(intel, packs))
    planned, skipped = plan_inputs([DEMO])
    assert skipped == []
    return run_audit(planned, intel, AuditOptions(policy=settings), lambda *a: progress_calls.append(a))


def _rules(report: Report) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for f in report.findings:
        out[f.device_id].add(f.rule_id)
    return out


def test_every_device_is_found_and_attributed(report: Report) -> None:
    devices = {d.id: d for d in report.devices}
    assert set(devices) == {GATEWAY, CAMERA, NVR, PHONE, PLUG, LAPTOP, RANDOM}
    expected = {
        GATEWAY: ("huawei", "router"),
        CAMERA: ("hikvision", "camera"),
        NVR: ("dahua", None),
        PHONE: ("xiaomi", "phone"),
        PLUG: ("tuya", "iot"),
    }
    for dev_id, (vendor, kind) in expected.items():
        a = devices[dev_id].attribution
        assert a.vendor == vendor, dev_id
        if kind:
            assert a.device_type == kind, dev_id
        assert a.confidence >= 0.5
    assert "gateway" in devices[GATEWAY].roles and "192.168.1.1" in devices[GATEWAY].ips
    random = devices[RANDOM]
    assert "randomised-mac" in random.roles and random.oui_vendor is None
    assert not any(e.kind == "oui" for e in random.attribution.evidence)
    assert devices[LAPTOP].oui_vendor == "Dell Inc." and devices[LAPTOP].attribution.device_type == "pc"


def test_findings_follow_the_policies(report: Report) -> None:
    rules = _rules(report)
    assert {"PH-FCC-001", "PH-889-001", "PH-FCC-014"} <= rules[GATEWAY]
    assert {"PH-FCC-004", "PH-889-004", "PH-UK-001", "PH-TRF-001"} <= rules[CAMERA]
    assert {"PH-FCC-005", "PH-889-005", "PH-TRF-001", "PH-TRF-002"} <= rules[NVR]
    # The phone posts its own Wi-Fi MAC and an IMEI-shaped value to MIUI tracking in cleartext.
    assert rules[PHONE] == {"PH-TRF-002", "PH-TRF-003", "PH-TRF-005"}
    leaks = {(k.identifier, k.location) for k in report.leaks if k.device_id == PHONE}
    assert leaks == {("mac", "body:mac"), ("pattern:imei", "body:imei")}
    assert LAPTOP not in rules and PLUG not in rules
    fcc = next(f for f in report.findings if f.id == f"PH-FCC-004:{CAMERA}")
    assert "to the extent" in fcc.policy.scope and fcc.policy.effective == "2021-03-12"
    assert {e.kind for e in fcc.evidence} >= {"attribution", "oui"}


def test_destinations_are_named_and_located(report: Report) -> None:
    by_name = {(d.device_id, d.name): d for d in report.destinations}
    miui = by_name[(PHONE, "tracking.miui.com")]
    assert (miui.domain, miui.organisation, miui.country) == ("miui.com", "xiaomi", "CN")
    hik = by_name[(CAMERA, "api.hik-connect.com")]
    assert hik.organisation == "hikvision" and hik.country == "DE" and hik.asn
    # UDP to the Dahua relay has no SNI: its name comes from the DNS answer.
    assert (NVR, "www.easy4ipcloud.com") in by_name
    assert any(":" in d.ip for d in report.destinations if d.device_id == LAPTOP)


def test_progress_is_reported(report: Report) -> None:
    reads = [c for c in progress_calls if c[0] == "read"]
    assert reads and reads[-1] == ("read", DEMO.stat().st_size, DEMO.stat().st_size)
    assert report.inputs[0].packets == 2302
