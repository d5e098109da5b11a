"""Store layout upgrades (version 1 -> 2 adds plan edits) and the plan-edit table itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from phonehome.store.workspace import STORE_VERSION, PlanEdit, Workspace, WorkspaceError
from phonehome.testing.factories import make_report

V1_DUMP = Path(__file__).parent.parent / "fixtures" / "store" / "workspace-store-v1.sql"


def _v1_workspace(root: Path) -> Path:
    """A workspace exactly as phonehome wrote it before plan edits existed."""
    root.mkdir()
    with sqlite3.connect(root / "phonehome.db") as db:
        db.executescript(V1_DUMP.read_text(encoding="utf-8"))
    return root


def _tables(db_path: Path) -> set[str]:
    with sqlite3.connect(db_path) as db:
        return {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}


def _store_version(db_path: Path) -> str:
    with sqlite3.connect(db_path) as db:
        return str(db.execute("select value from meta where key = 'store_version'").fetchone()[0])


def test_version_1_workspace_is_upgraded_in_place_and_keeps_its_audit(tmp_path: Path) -> None:
    root = _v1_workspace(tmp_path / "ws")
    assert _store_version(root / "phonehome.db") == "1"
    assert "plan_edits" not in _tables(root / "phonehome.db")

    ws = Workspace(root)
    assert _store_version(root / "phonehome.db") == STORE_VERSION == "2"
    assert "plan_edits" in _tables(root / "phonehome.db")
    audit_id, report = ws.load()
    assert audit_id == 1 and report.generated_at == "2024-05-01T12:00:00Z"
    assert [d.id for d in report.devices] == [d.id for d in make_report().devices]
    assert ws.device_ids() == {d.id for d in make_report().devices}
    ws.save_plan_edits([PlanEdit("mac:c0:56:e3:4a:7b:01", owner="Ann")])
    ws.close()
    # Opening again is a no-op: same version, edits kept.
    assert Workspace(root).plan_edits() == {
        "mac:c0:56:e3:4a:7b:01": PlanEdit("mac:c0:56:e3:4a:7b:01", owner="Ann")
    }


def test_newer_layout_is_refused(tmp_path: Path) -> None:
    Workspace(tmp_path).close()
    with sqlite3.connect(tmp_path / "phonehome.db") as db:
        db.execute("update meta set value = '99' where key = 'store_version'")
    with pytest.raises(WorkspaceError, match="workspace layout version 99; this phonehome uses 2"):
        Workspace(tmp_path)


def test_plan_edits_replace_per_device_and_empty_edits_clear(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    a, b = "mac:02:00:00:00:00:0a", "mac:02:00:00:00:00:0b"
    ws.save_plan_edits([PlanEdit(a, owner="Ann", status="removed"), PlanEdit(b, notes="Zoë ☃")], "plan.xlsx")
    ws.save_plan_edits([PlanEdit(a, site="HQ")])
    assert ws.plan_edits() == {a: PlanEdit(a, site="HQ"), b: PlanEdit(b, notes="Zoë ☃")}
    ws.save_plan_edits([PlanEdit(b, status="open")])  # open and nothing else is no edit at all
    assert list(ws.plan_edits()) == [a]
    with sqlite3.connect(tmp_path / "phonehome.db") as db:
        imported_from, updated = db.execute("select imported_from, updated_at from plan_edits").fetchone()
    assert imported_from == "" and updated.endswith("Z")
