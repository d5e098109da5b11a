"""Progress between saved audits (diff) and counts across audits (trend)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from phonehome.model import InputSummary, Report, Severity
from phonehome.outputs.diff import diff_reports, diff_to_dict, render_text, trend, trend_to_dict
from phonehome.store.workspace import PlanEdit, Workspace
from phonehome.testing.factories import make_destination, make_device, make_finding, make_report

CAMERA = "mac:c0:56:e3:4a:7b:01"
ROUTER = "mac:00:e0:fc:12:34:56"
PHONE = "mac:64:09:80:9c:21:0e"
LAPTOP = "mac:3c:22:fb:0a:11:5d"
RANDOM = "mac:da:a1:19:5e:03:c2"


def _later(old: Report) -> Report:
    """A month on: the router was replaced, a new ZTE router appeared, the camera found new endpoints."""
    kept = tuple(d for d in old.devices if d.id != ROUTER)
    zte = make_device(
        "34:4b:50:00:00:01",
        ips=("192.168.1.2",),
        hostnames=("ZXHN-F670",),
        vendor="zte",
        device_type="router",
        confidence=0.9,
    )
    camera = next(d for d in kept if d.id == CAMERA)
    extra = (
        make_destination(
            camera, "ru.example-cdn.net", "203.0.113.99", organisation="examplecdn", country="RU"
        ),
        make_destination(camera, "open.ys7.com", "198.51.100.89", organisation="hikvision", country="CN"),
    )
    findings = (
        *(f for f in old.findings if f.device_id != ROUTER),
        make_finding(zte, "PH-FCC-003", title="ZTE equipment (FCC Covered List)", severity=Severity.HIGH),
    )
    return dataclasses.replace(
        old,
        generated_at="2024-06-01T12:00:00Z",
        inputs=(InputSummary("captures/office-2024-06-01.pcapng", "pcapng", 10, "cd" * 32),),
        devices=(*kept, zte),
        destinations=(*(d for d in old.destinations if d.device_id != ROUTER), *extra),
        findings=findings,
    )


def test_diff_of_two_saved_audits(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    first, second = ws.save(make_report()), ws.save(_later(make_report()))
    ws.save_plan_edits([PlanEdit(ROUTER, status="replaced"), PlanEdit(CAMERA, status="replacement ordered")])
    statuses = {d: e.status for d, e in ws.plan_edits().items()}
    diff = diff_reports(ws.load(first)[1], ws.load(second)[1], statuses, old_id=first, new_id=second)

    assert [c.device_id for c in diff.removed] == [ROUTER]
    assert diff.removed[0].status == "replaced" and diff.removed[0].restricted
    assert [c.device_id for c in diff.appeared] == ["mac:34:4b:50:00:00:01"]
    assert diff.appeared[0].restricted and diff.appeared[0].label == "ZXHN-F670"
    present = {c.device_id: c for c in diff.still_present}
    assert set(present) == {CAMERA, PHONE, LAPTOP, RANDOM}
    assert present[CAMERA].status == "replacement ordered" and present[CAMERA].findings == 3
    assert present[LAPTOP].status == "" and not present[LAPTOP].restricted

    [camera] = diff.new_destinations
    assert camera.device_id == CAMERA
    assert camera.domains == ("example-cdn.net",)  # ys7.com on a new IP is not new
    assert (camera.organisations, camera.countries) == (("examplecdn",), ("RU",))

    assert [f.rule_id for f in diff.resolved_findings] == ["PH-FCC-002", "PH-NDAA-002"]
    assert [(f.rule_id, f.device_id) for f in diff.new_findings] == [("PH-FCC-003", "mac:34:4b:50:00:00:01")]

    data = json.loads(json.dumps(diff_to_dict(diff)))
    assert data["old"] == {"audit_id": first, "generated_at": "2024-05-01T12:00:00Z"}
    assert data["summary"]["restricted_removed"] == 1 and data["summary"]["findings_new"] == 1
    assert data["removed"][0]["status"] == "replaced"


def test_terminal_text_flags_devices_marked_done_but_still_seen() -> None:
    old = make_report()
    diff = diff_reports(old, _later(old), {CAMERA: "replaced"})
    text = render_text(diff)
    assert "1 devices removed (1 restricted)" in text
    assert "replaced (but still seen)" in text
    assert "and 2 other devices with no findings" in text
    assert "example-cdn.net" in text and "PH-FCC-003" in text


def test_ip_keyed_device_matches_the_mac_keyed_one_holding_its_address() -> None:
    before = make_device(None, ips=("192.168.1.99",), vendor="dahua", device_type="nvr")
    after = make_device("3c:ef:8c:00:00:99", ips=("192.168.1.99",), vendor="dahua", device_type="nvr")
    old = make_report(devices=(before,), findings=(make_finding(before, "PH-FCC-005"),))
    new = make_report(devices=(after,), findings=(make_finding(after, "PH-FCC-005"),))
    diff = diff_reports(old, new, {"ip:192.168.1.99": "accepted risk"})
    assert (diff.removed, diff.appeared) == ((), ())
    [kept] = diff.still_present
    assert (kept.device_id, kept.previous_id, kept.status) == (after.id, "ip:192.168.1.99", "accepted risk")
    assert diff.resolved_findings == () and diff.new_findings == ()


def test_trend_counts_per_audit_in_order() -> None:
    old = make_report()
    points = trend([old, _later(old)])
    assert [p.generated_at for p in points] == ["2024-05-01T12:00:00Z", "2024-06-01T12:00:00Z"]
    assert [p.devices for p in points] == [5, 5]
    assert [p.restricted_devices for p in points] == [2, 2]
    assert [p.affected_devices for p in points] == [3, 3]
    assert points[0].findings_by_severity == {"critical": 0, "high": 4, "medium": 1, "low": 1, "info": 0}
    assert list(points[0].destinations_by_country) == sorted(points[0].destinations_by_country)
    assert points[0].destinations_by_country["CN"] == 4 and points[0].destinations_by_country["unknown"] == 1
    assert points[1].destinations_by_country["CN"] == 4  # router's hicloud gone, camera's new ys7 IP
    assert points[1].destinations_by_country["RU"] == 1
    assert points[0].bytes_out_by_country["DE"] == 41_520_811
    data = trend_to_dict(points, [4, 9])
    assert [d["audit_id"] for d in data] == [4, 9] and json.loads(json.dumps(data)) == data
    assert trend([]) == []
