"""``phonehome export-csv devices|findings`` on a real workspace, run as a user runs it."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from phonehome.store.workspace import Workspace
from phonehome.testing.factories import make_report

ROUTER = "mac:00:e0:fc:12:34:56"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phonehome", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_export_devices_and_findings(tmp_path: Path) -> None:
    Workspace(tmp_path / "ws").save(make_report())
    devices = tmp_path / "devices.csv"
    result = run("export-csv", "devices", "-w", str(tmp_path / "ws"), "--audit", "1", "-o", str(devices))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"5 devices of audit 1 written to {devices}"
    with devices.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert ROUTER in [r["id"] for r in rows]

    findings = run("export-csv", "findings", "-w", str(tmp_path / "ws"), "--bom")
    assert findings.returncode == 0
    assert findings.stdout.startswith("\ufeffid,rule,policy,severity,")
    assert len(findings.stdout.splitlines()) == 1 + len(make_report().findings)
