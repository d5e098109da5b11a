"""Plain CSV exports of devices and findings: parse back with the csv module, no formula injection."""

from __future__ import annotations

import csv
import dataclasses
import io

from hypothesis import given
from hypothesis import strategies as st

from phonehome.model import Evidence, Severity
from phonehome.outputs.csvexport import (
    DEVICE_COLUMNS,
    FINDING_COLUMNS,
    devices_csv,
    findings_csv,
    neutralise,
    restore,
)
from phonehome.testing.factories import make_device, make_finding, make_report


def _parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def test_devices_parse_back_sorted_by_id() -> None:
    report = make_report()
    text = devices_csv(report)
    assert text.splitlines()[0] == ",".join(DEVICE_COLUMNS)
    rows = _parse(text)
    assert [r["id"] for r in rows] == sorted(d.id for d in report.devices)
    camera = next(r for r in rows if r["id"] == "mac:c0:56:e3:4a:7b:01")
    assert camera["vendor"] == "Hikvision" and camera["vendor_id"] == "hikvision"
    assert camera["type"] == "camera" and camera["confidence"] == "0.97"
    phone = next(r for r in rows if r["id"] == "mac:64:09:80:9c:21:0e")
    assert phone["ips"].split("; ") == ["192.168.1.42", "fe80::6609:80ff:fe9c:210e"]
    assert phone["brand"] == "Redmi"


def test_findings_parse_back_highest_severity_first() -> None:
    report = make_report()
    rows = _parse(findings_csv(report))
    assert list(rows[0]) == list(FINDING_COLUMNS)
    assert len(rows) == len(report.findings)
    order = [Severity.parse(r["severity"]) for r in rows]
    assert order == sorted(order, reverse=True)
    ndaa = next(r for r in rows if r["rule"] == "PH-NDAA-001")
    assert ndaa["policy"] == "ndaa-889" and ndaa["effective"] == "2019-08-13"
    assert ndaa["references"].split("; ") == [
        "https://www.acquisition.gov/far/52.204-25",
        "https://www.congress.gov/bill/115th-congress/house-bill/5515",
    ]
    assert "oui: C0:56:E3 (intel hikvision: OUI C0:56:E3)" in ndaa["evidence"]


def test_output_is_deterministic_whatever_the_input_order() -> None:
    report = make_report()
    shuffled = dataclasses.replace(
        report, devices=tuple(reversed(report.devices)), findings=tuple(reversed(report.findings))
    )
    assert devices_csv(shuffled) == devices_csv(report)
    assert findings_csv(shuffled) == findings_csv(report)


def test_formula_cells_get_an_apostrophe() -> None:
    hostile = make_device(
        "02:00:00:00:00:66",
        hostnames=("=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "plain"),
        brand="\tTab",
        vendor="hikvision",
    )
    finding = make_finding(hostile, title='=HYPERLINK("http://evil")', evidence=(Evidence("x", "+y", "z"),))
    report = make_report(devices=(hostile,), findings=(finding,))
    device = _parse(devices_csv(report))[0]
    assert device["hostnames"] == "'=cmd|' /C calc'!A0; +1; -2; @SUM(A1); plain"
    assert device["brand"] == "'\tTab"
    row = _parse(findings_csv(report))[0]
    assert row["title"] == '\'=HYPERLINK("http://evil")'
    for cell in (*device.values(), *row.values()):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_bom_is_optional() -> None:
    report = make_report()
    assert devices_csv(report, bom=True) == "\ufeff" + devices_csv(report)
    assert not findings_csv(report).startswith("\ufeff")


@given(st.text(alphabet=st.sampled_from("=+-@'\t\rab"), max_size=6))
def test_restore_undoes_neutralise(text: str) -> None:
    assert restore(neutralise(text)) == text
    assert not neutralise(text).startswith(("=", "+", "-", "@", "\t", "\r"))
