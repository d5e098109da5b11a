"""``phonehome plan`` as a user runs it: export, edit in a spreadsheet, import, export again."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from phonehome import exitcodes
from phonehome.store.workspace import Workspace
from phonehome.testing.factories import make_report

CAMERA = "mac:c0:56:e3:4a:7b:01"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phonehome", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    Workspace(root).save(make_report())
    return root


def test_export_edit_import_export(workspace: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.xlsx"
    result = run("plan", "-w", str(workspace), "-o", str(plan))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"Plan for audit 1 (3 devices) written to {plan}"

    book = openpyxl.load_workbook(plan)
    sheet = book["Plan"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(row=r, column=3).value == CAMERA)
    sheet.cell(row=row, column=header.index("Owner") + 1).value = "Łukasz"
    sheet.cell(row=row, column=header.index("Status") + 1).value = "Replacement ordered"
    book.save(plan)

    result = run("plan", "-w", str(workspace), "--import", str(plan))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"{plan}: 1 devices updated, 2 unchanged, 0 skipped"
    assert result.stdout == ""

    result = run("plan", "-w", str(workspace), "-f", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    camera = next(r for r in rows if r["Device"] == CAMERA)
    assert (camera["Owner"], camera["Status"]) == ("Łukasz", "replacement ordered")

    terminal = run("plan", "-w", str(workspace))
    assert "replacement ordered" in terminal.stdout and "Łukasz" in terminal.stdout


def test_bad_status_is_one_error_line_and_stores_nothing(workspace: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited.csv"
    edited.write_text(
        f"Device,Owner,Status\n{CAMERA},Ann,open\nmac:02:00:00:00:00:77,Bob,gone\n", encoding="utf-8"
    )
    result = run("plan", "-w", str(workspace), "--import", str(edited))
    assert result.returncode == exitcodes.USAGE
    assert result.stderr.splitlines() == [
        f"phonehome: error: {edited}: row 3: unknown status 'gone' "
        "(expected one of: open, replacement ordered, replaced, removed, accepted risk)"
    ]
    assert Workspace(workspace).plan_edits() == {}


def test_unknown_device_is_a_warning(workspace: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited.csv"
    edited.write_text(f"Device,Owner\nmac:02:00:00:00:00:77,Bob\n{CAMERA},Ann\n", encoding="utf-8")
    result = run("plan", "-w", str(workspace), "--import", str(edited))
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        f"phonehome: warning: {edited}: row 2: device mac:02:00:00:00:00:77 is not in the workspace; skipped",
        f"{edited}: 1 devices updated, 0 unchanged, 1 skipped",
    ]
    assert Workspace(workspace).plan_edits()[CAMERA].owner == "Ann"


def test_xlsx_needs_an_output_file(workspace: Path) -> None:
    result = run("plan", "-w", str(workspace), "-f", "xlsx")
    assert result.returncode == exitcodes.USAGE
    assert "give an output file with -o FILE.xlsx" in result.stderr
