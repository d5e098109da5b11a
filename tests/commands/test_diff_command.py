"""``phonehome diff`` on a real workspace, run as a user runs it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

from phonehome import exitcodes
from phonehome.model import InputSummary
from phonehome.store.workspace import PlanEdit, Workspace
from phonehome.testing.factories import make_report

ROUTER = "mac:00:e0:fc:12:34:56"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phonehome", *args], capture_output=True, text=True, timeout=120, check=False
    )


def _two_audits(root: Path) -> Workspace:
    ws = Workspace(root)
    old = make_report()
    ws.save(old)
    ws.save(
        dataclasses.replace(
            old,
            generated_at="2024-06-01T12:00:00Z",
            inputs=(InputSummary("june.pcapng", "pcapng", 1, "ef" * 32),),
            devices=tuple(d for d in old.devices if d.id != ROUTER),
            destinations=tuple(d for d in old.destinations if d.device_id != ROUTER),
            findings=tuple(f for f in old.findings if f.device_id != ROUTER),
        )
    )
    ws.save_plan_edits([PlanEdit(ROUTER, status="replaced")])
    return ws


def test_diff_defaults_to_the_two_latest_audits(tmp_path: Path) -> None:
    _two_audits(tmp_path / "ws")
    result = run("diff", "-w", str(tmp_path / "ws"), "-f", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["old"]["audit_id"], data["new"]["audit_id"]) == (1, 2)
    assert [(d["device_id"], d["status"]) for d in data["removed"]] == [(ROUTER, "replaced")]
    assert data["summary"]["findings_resolved"] == 2

    text = run("diff", "1", "2", "-w", str(tmp_path / "ws"))
    assert text.returncode == 0 and "1 devices removed (1 restricted)" in text.stdout

    trend = run("diff", "--trend", "-w", str(tmp_path / "ws"), "-f", "json")
    assert [p["restricted_devices"] for p in json.loads(trend.stdout)] == [2, 1]


def test_diff_needs_two_audits(tmp_path: Path) -> None:
    Workspace(tmp_path / "ws").save(make_report())
    result = run("diff", "-w", str(tmp_path / "ws"))
    assert result.returncode == exitcodes.USAGE
    assert result.stderr.startswith(f"phonehome: error: {tmp_path / 'ws'}: no audit before audit 1")
    missing = run("diff", "1", "5", "-w", str(tmp_path / "ws"))
    assert missing.returncode == exitcodes.USAGE and "no audit with id 5" in missing.stderr
