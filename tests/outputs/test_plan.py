"""The removal plan: rows, priority, XLSX/CSV rendering, and the edit round trip through openpyxl."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
import zipfile
from pathlib import Path

import openpyxl
import pytest

from phonehome.model import Evidence, Report, Severity
from phonehome.outputs.plan import (
    COLUMNS,
    KEY_HEADER,
    STATUSES,
    Plan,
    PlanImportError,
    build_plan,
    merge_edits,
    priority_for,
    read_plan,
    render_csv,
    render_xlsx,
    score_for,
)
from phonehome.store.workspace import PlanEdit, Workspace
from phonehome.testing.factories import make_device, make_finding, make_report

CAMERA = "mac:c0:56:e3:4a:7b:01"
ROUTER = "mac:00:e0:fc:12:34:56"
PHONE = "mac:64:09:80:9c:21:0e"
HEADERS = [c.header for c in COLUMNS]


def _row(plan: Plan, device_id: str):  # type: ignore[no-untyped-def]
    return next(r for r in plan.rows if r.device_id == device_id)


def _workspace(tmp_path: Path, report: Report | None = None) -> tuple[Workspace, int, Report]:
    report = report or make_report()
    ws = Workspace(tmp_path / "ws")
    return ws, ws.save(report), report


def _export(ws: Workspace, audit_id: int, report: Report) -> Plan:
    return build_plan(report, ws.plan_edits(), audit_id)


def _import(ws: Workspace, path: Path):  # type: ignore[no-untyped-def]
    result = merge_edits(path, read_plan(path), ws.plan_edits(), ws.device_ids())
    ws.save_plan_edits(result.changed, str(path))
    return result


# --- rows and priority ------------------------------------------------------------------------


def test_rows_are_the_affected_devices_ranked_by_priority() -> None:
    plan = build_plan(make_report(), audit_id=3)
    assert [r.device_id for r in plan.rows] == [CAMERA, ROUTER, PHONE]
    camera, router, phone = plan.rows
    assert (camera.action.kind, router.action.kind, phone.action.kind) == (
        "replace",
        "replace",
        "review traffic",
    )
    # Camera: high (4) x vendor cloud and CN traffic (2.0) x 48.9 MB sent.
    expected = 4 * 2.0 * (1 + math.log10(1 + 48_911_204 / 1e6))
    assert camera.action.score == pytest.approx(expected, abs=0.01)
    assert (camera.action.priority, router.action.priority, phone.action.priority) == ("P1", "P1", "P3")
    assert camera.action.rules == ("PH-FCC-001", "PH-NDAA-001", "PH-UK-CAM-001")
    assert camera.action.policies == ("fcc-covered-list", "ndaa-889", "uk-2022-cameras")
    assert camera.equipment.manufacturer == "Hikvision" and camera.equipment.device_type == "camera"
    assert camera.location.hostnames == ("DS-2CD2143G2-I",) and camera.location.ips == ("192.168.1.20",)


def test_score_and_rank_thresholds() -> None:
    assert score_for(Severity.HIGH, False, False, 0) == 4.0
    assert score_for(Severity.HIGH, True, True, 0) == 8.0
    assert score_for(Severity.LOW, True, False, 9_000_000) == pytest.approx(1.5 * 2.0)
    assert [priority_for(s) for s in (8.0, 7.99, 4.0, 3.99, 2.0, 1.99, 0.0)] == [
        "P1",
        "P2",
        "P2",
        "P3",
        "P3",
        "P4",
        "P4",
    ]


def test_deadline_says_in_force_or_future_relative_to_the_audit() -> None:
    plan = build_plan(make_report())
    camera = _row(plan, CAMERA)
    assert camera.action.deadline == "2019-08-13"
    assert camera.action.deadline_note == "in force since 2019-08-13 (PH-NDAA-001)"
    assert _row(plan, PHONE).action.deadline_note == "no date in the policy"
    router = make_device("00:e0:fc:00:00:01", vendor="huawei", device_type="router", confidence=0.9)
    future = make_report(
        devices=(router,),
        findings=(make_finding(router, "PH-FCC-014", effective="2026-03-23", severity=Severity.MEDIUM),),
    )
    row = build_plan(future).rows[0]
    assert row.action.deadline_note == "takes effect 2026-03-23 (PH-FCC-014)"
    assert row.action.priority == "P3"


def test_containment_names_vendor_cloud_and_device_role() -> None:
    plan = build_plan(make_report())
    camera = _row(plan, CAMERA).action.containment
    assert camera.startswith("block vendor cloud domains: hik-connect.com, ys7.com;")
    assert "camera VLAN" in camera
    router = _row(plan, ROUTER).action.containment
    assert "block vendor cloud domains: hicloud.com" in router and "it is a gateway" in router
    phone = _row(plan, PHONE).action.containment
    assert "block egress to CN" not in phone  # both CN domains are already the vendor's cloud
    assert phone.endswith("review whether this traffic is needed")


def test_switch_port_and_recorded_location_come_from_evidence() -> None:
    evidence = (
        Evidence("oui", "c0:56:e3 Hikvision", "scan.xml"),
        Evidence("switch_port", "vlan 20 Gi1/0/7", "mac-table.txt"),
        Evidence("asset_location", "Depot, Room 2", "assets.xlsx"),
    )
    device = make_device("c0:56:e3:00:00:02", vendor="hikvision", device_type="camera", evidence=evidence)
    report = make_report(devices=(device,), findings=(make_finding(device),))
    row = build_plan(report).rows[0]
    assert row.location.switch_ports == ("vlan 20 Gi1/0/7",)
    assert row.location.recorded == ("Depot, Room 2",)


def test_stored_edits_fill_the_editable_columns() -> None:
    edit = PlanEdit(CAMERA, owner="Facilities", status="replacement ordered", due="2025-01-31")
    row = _row(build_plan(make_report(), {CAMERA: edit}), CAMERA)
    assert row.edit == edit
    assert _row(build_plan(make_report(), {}), ROUTER).edit == PlanEdit(ROUTER)


# --- CSV --------------------------------------------------------------------------------------


def test_csv_has_bom_header_and_parses_back() -> None:
    text = render_csv(build_plan(make_report()))
    assert text.startswith("\ufeffPriority,Score,Device,")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert rows[0] == HEADERS
    assert [r[HEADERS.index("Device")] for r in rows[1:]] == [CAMERA, ROUTER, PHONE]
    assert all(r[HEADERS.index("Status")] == "open" for r in rows[1:])
    assert "\r\n" in text


def test_csv_neutralises_formula_like_host_names() -> None:
    device = make_device("02:00:00:00:00:09", hostnames=('=HYPERLINK("http://x")',), vendor="hikvision")
    report = make_report(devices=(device,), findings=(make_finding(device),))
    rows = list(csv.reader(io.StringIO(render_csv(build_plan(report), bom=False), newline="")))
    assert rows[1][HEADERS.index("Hostnames")] == '\'=HYPERLINK("http://x")'


# --- XLSX -------------------------------------------------------------------------------------


def test_xlsx_layout(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(render_xlsx(build_plan(make_report(), audit_id=7)))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Plan", "Read me", "phonehome"]
    assert book["phonehome"].sheet_state == "hidden"
    assert dict(book["phonehome"].iter_rows(values_only=True))["audit_id"] == 7
    sheet = book["Plan"]
    header = [c.value for c in sheet[1]]
    assert header == [*HEADERS, KEY_HEADER]
    assert sheet.freeze_panes == "D2"
    key_letter = openpyxl.utils.get_column_letter(len(header))
    assert sheet.column_dimensions[key_letter].hidden
    assert [sheet.cell(row=r, column=len(header)).value for r in (2, 3, 4)] == [CAMERA, ROUTER, PHONE]
    owner = HEADERS.index("Owner") + 1
    priority = HEADERS.index("Priority") + 1
    assert sheet.cell(row=2, column=owner).fill.fgColor.rgb.endswith("FFF2CC")
    assert sheet.cell(row=2, column=priority).fill.fill_type is None
    assert (
        sheet.cell(row=1, column=owner).fill.fgColor.rgb
        != sheet.cell(row=1, column=priority).fill.fgColor.rgb
    )
    [validation] = sheet.data_validations.dataValidation
    status_letter = openpyxl.utils.get_column_letter(HEADERS.index("Status") + 1)
    assert validation.type == "list" and str(validation.sqref) == f"{status_letter}2:{status_letter}4"
    assert validation.formula1 == '"' + ",".join(STATUSES) + '"'
    deadline = sheet.cell(row=2, column=HEADERS.index("Deadline") + 1)
    assert deadline.is_date and deadline.value == dt.datetime(2019, 8, 13)
    assert isinstance(sheet.cell(row=2, column=HEADERS.index("Score") + 1).value, float)


def test_xlsx_is_deterministic_and_keeps_formula_text_as_text(tmp_path: Path) -> None:
    device = make_device("02:00:00:00:00:09", hostnames=("=1+2",), vendor="hikvision")
    report = make_report(devices=(device,), findings=(make_finding(device),))
    data = render_xlsx(build_plan(report))
    assert data == render_xlsx(build_plan(report))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2024-05-01T12:00:00Z</dcterms:modified>" in core
    path = tmp_path / "p.xlsx"
    path.write_bytes(data)
    cell = openpyxl.load_workbook(path)["Plan"].cell(row=2, column=HEADERS.index("Hostnames") + 1)
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("=1+2", "s", True)


# --- round trip -------------------------------------------------------------------------------

EDITS = {
    CAMERA: {
        "Owner": "Zoë Ångström (ІТ-відділ)",
        "Site": "Lobby — 北京 office",
        "Status": "replacement ordered",
        "Replacement": "Axis P3245-V, PO #4471",
        "Due date": dt.datetime(2025, 3, 31),
        "Notes": '=not a formula\nsecond line; "quoted" , comma',
    },
    ROUTER: {
        "Owner": None,
        "Site": "HQ",
        "Status": "accepted risk",
        "Replacement": None,
        "Due date": None,
        "Notes": "-5 dB on port 3 ' apostrophe",
    },
}


def _edit_xlsx(path: Path) -> None:
    """What a user does in a spreadsheet: type in the yellow columns, overwrite generated cells."""
    book = openpyxl.load_workbook(path)
    sheet = book["Plan"]
    header = [c.value for c in sheet[1]]
    key = header.index(KEY_HEADER) + 1
    for r in range(2, sheet.max_row + 1):
        device = sheet.cell(row=r, column=key).value
        for name, value in EDITS.get(device, {}).items():
            cell = sheet.cell(row=r, column=header.index(name) + 1)
            cell.value = value
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # as Excel stores text typed after an apostrophe
        sheet.cell(row=r, column=header.index("Manufacturer") + 1).value = "edited, ignored"
        sheet.cell(row=r, column=header.index("Device") + 1).value = "retyped by hand"
    book.save(path)


def _editable_cells(path: Path) -> dict[str, dict[str, object]]:
    sheet = openpyxl.load_workbook(path)["Plan"]
    header = [c.value for c in sheet[1]]
    out = {}
    for row in sheet.iter_rows(min_row=2, values_only=True):
        out[row[header.index(KEY_HEADER)]] = {
            c.header: row[header.index(c.header)] for c in COLUMNS if c.edit_field
        }
    return out


def test_xlsx_round_trip_loses_nothing(tmp_path: Path) -> None:
    ws, audit_id, report = _workspace(tmp_path)
    first = tmp_path / "plan.xlsx"
    first.write_bytes(render_xlsx(_export(ws, audit_id, report)))
    _edit_xlsx(first)

    result = _import(ws, first)
    assert (len(result.changed), result.unchanged, result.skipped, result.warnings) == (2, 1, 0, ())
    stored = ws.plan_edits()
    assert stored[CAMERA] == PlanEdit(
        CAMERA,
        owner="Zoë Ångström (ІТ-відділ)",
        site="Lobby — 北京 office",
        status="replacement ordered",
        replacement="Axis P3245-V, PO #4471",
        due="2025-03-31",
        notes='=not a formula\nsecond line; "quoted" , comma',
    )
    assert stored[ROUTER] == PlanEdit(
        ROUTER, site="HQ", status="accepted risk", notes="-5 dB on port 3 ' apostrophe"
    )
    assert PHONE not in stored

    second = tmp_path / "again.xlsx"
    second.write_bytes(render_xlsx(_export(ws, audit_id, report)))
    cells = _editable_cells(second)
    for device, typed in EDITS.items():
        assert cells[device] == typed
    assert cells[PHONE] == {
        "Owner": None,
        "Site": None,
        "Status": "open",
        "Replacement": None,
        "Due date": None,
        "Notes": None,
    }
    # Importing the unedited re-export changes nothing and exports the same bytes.
    assert _import(ws, second).changed == ()
    assert render_xlsx(_export(ws, audit_id, report)) == second.read_bytes()


def test_csv_round_trip_loses_nothing(tmp_path: Path) -> None:
    ws, audit_id, report = _workspace(tmp_path)
    text = render_csv(_export(ws, audit_id, report))
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    header = rows[0]
    typed = {
        CAMERA: {"Owner": "Zoë", "Status": "Replaced", "Due date": "2025-03-31", "Notes": "=2+2 stays text"},
        ROUTER: {"Site": "Depot ☃", "Notes": "'=quoted already"},
    }
    for row in rows[1:]:
        for name, value in typed.get(row[header.index("Device")], {}).items():
            row[header.index(name)] = value
    edited = tmp_path / "plan.csv"
    with edited.open("w", encoding="utf-8", newline="") as f:  # a tool writing plain UTF-8 without BOM
        csv.writer(f).writerows(rows)
    _import(ws, edited)
    assert ws.plan_edits()[CAMERA].status == "replaced"
    assert ws.plan_edits()[CAMERA].notes == "=2+2 stays text"

    again = render_csv(_export(ws, audit_id, report))
    parsed = {r[2]: r for r in csv.reader(io.StringIO(again.removeprefix("\ufeff"), newline=""))}
    assert parsed[CAMERA][header.index("Owner")] == "Zoë"
    assert parsed[CAMERA][header.index("Status")] == "replaced"
    assert parsed[CAMERA][header.index("Notes")] == "'=2+2 stays text"  # neutralised on the way out
    assert parsed[ROUTER][header.index("Notes")] == "'=quoted already"
    assert parsed[ROUTER][header.index("Site")] == "Depot ☃"
    again_path = tmp_path / "again.csv"
    again_path.write_text(again, encoding="utf-8", newline="")
    assert _import(ws, again_path).changed == ()


def test_excel_style_csv_semicolons_and_windows_1252(tmp_path: Path) -> None:
    ws, _, _ = _workspace(tmp_path)
    path = tmp_path / "excel.csv"
    path.write_bytes(f"Device;Owner;Status\r\n{CAMERA};Jos\xe9;removed\r\n".encode("cp1252"))
    _import(ws, path)
    assert ws.plan_edits()[CAMERA] == PlanEdit(CAMERA, owner="José", status="removed")


def test_missing_editable_columns_keep_stored_values(tmp_path: Path) -> None:
    ws, _, _ = _workspace(tmp_path)
    ws.save_plan_edits([PlanEdit(CAMERA, owner="Ann", notes="keep me")])
    path = tmp_path / "partial.csv"
    path.write_text(f"Device,Status\n{CAMERA},removed\n", encoding="utf-8")
    _import(ws, path)
    assert ws.plan_edits()[CAMERA] == PlanEdit(CAMERA, owner="Ann", status="removed", notes="keep me")


# --- import errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            f"Device,Status\n{CAMERA},open\n{ROUTER},done\n",
            "row 3: unknown status 'done' (expected one of: open,",
        ),
        (
            f"Device,Due date\n{CAMERA},31/03/2025\n",
            "row 2: due date '31/03/2025' is not a date (use YYYY-MM-DD)",
        ),
        (f"Device,Owner\n{CAMERA},a\n{CAMERA},b\n", f"row 3: device {CAMERA} already given in row 2"),
        (",Owner\n,Ann\n", "no header row with a 'Device' column; not a phonehome plan"),
        ("Device,Vendor\nx,y\n", "row 1: no editable column"),
        ("Device,Owner\n,Ann\n", "row 2: edits but no device id"),
    ],
)
def test_bad_plans_are_one_line_errors_naming_file_and_row(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "edited.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PlanImportError) as caught:
        read_plan(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_unknown_status_in_xlsx_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(render_xlsx(build_plan(make_report())))
    book = openpyxl.load_workbook(path)
    sheet = book["Plan"]
    sheet.cell(row=3, column=HEADERS.index("Status") + 1).value = "binned"
    book.save(path)
    with pytest.raises(PlanImportError, match=r"plan\.xlsx: row 3: unknown status 'binned'"):
        read_plan(path)


def test_unreadable_files(tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(PlanImportError, match="fake.xlsx: not a readable XLSX workbook"):
        read_plan(fake)
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(PlanImportError, match="neither an XLSX workbook nor CSV text"):
        read_plan(binary)
    with pytest.raises(PlanImportError, match="is a directory"):
        read_plan(tmp_path)
    with pytest.raises(PlanImportError, match="cannot read"):
        read_plan(tmp_path / "missing.csv")


def test_newer_plan_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(render_xlsx(build_plan(make_report())))
    book = openpyxl.load_workbook(path)
    book["phonehome"]["B1"] = "phonehome-plan/2"
    book.save(path)
    with pytest.raises(PlanImportError, match="plan format phonehome-plan/2"):
        read_plan(path)


def test_rows_for_devices_not_in_the_workspace_are_skipped_with_a_warning(tmp_path: Path) -> None:
    ws, _, _ = _workspace(tmp_path)
    path = tmp_path / "plan.csv"
    path.write_text(f"Device,Owner\nmac:02:99:99:99:99:99,Bob\n{CAMERA},Ann\n", encoding="utf-8")
    result = _import(ws, path)
    assert result.skipped == 1
    assert result.warnings == (
        f"{path}: row 2: device mac:02:99:99:99:99:99 is not in the workspace; skipped",
    )
    assert list(ws.plan_edits()) == [CAMERA]


def test_edits_carry_forward_to_a_later_audit_of_the_same_device(tmp_path: Path) -> None:
    ws, _, report = _workspace(tmp_path)
    ws.save_plan_edits([PlanEdit(CAMERA, owner="Ann", status="replacement ordered")])
    later = dataclasses.replace(report, generated_at="2024-06-01T12:00:00Z", inputs=())
    later_id = ws.save(later)
    row = _row(build_plan(ws.load(later_id)[1], ws.plan_edits(), later_id), CAMERA)
    assert (row.edit.owner, row.edit.status) == ("Ann", "replacement ordered")
