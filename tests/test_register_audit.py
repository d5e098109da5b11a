"""Asset registers through ``phonehome audit``: stated types and vendors raise categorical findings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from phonehome import exitcodes

FIXTURES = Path(__file__).parent / "fixtures" / "assets"


def _audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "phonehome",
            "audit",
            *args,
            "--no-save",
            "-q",
            "-f",
            "json",
            "--fail-on",
            "never",
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_stated_types_and_vendors_raise_categorical_findings(tmp_path: Path) -> None:
    register = tmp_path / "register.csv"
    register.write_text(
        "Asset Tag,Hostname,Manufacturer,Model,Device Type\n"
        "CAM-7,cam-7,Hikvision,,Camera\n"
        "RTR-2,rtr-2,Huawei,AX3 Pro,Router\n"
        "UAV-1,uav-01,DJI,Mavic 3,Drone\n",
        encoding="utf-8",
    )
    result = _audit(str(register))
    assert result.returncode == exitcodes.OK, result.stderr
    doc = json.loads(result.stdout)
    types = {d["id"]: (d["vendor_id"], d["device_type"]) for d in doc["devices"]}
    assert types == {
        "name:cam-7": ("hikvision", "camera"),
        "name:rtr-2": ("huawei", "router"),
        "name:uav-01": ("dji", "drone"),
    }
    rules = {(f["device_id"], f["rule_id"]) for f in doc["findings"]}
    assert ("name:cam-7", "PH-UK-001") in rules
    assert ("name:rtr-2", "PH-FCC-014") in rules
    assert any(d == "name:uav-01" and r.startswith("PH-FCC-") for d, r in rules)


def test_column_mapping_makes_an_unknown_layout_readable() -> None:
    path = FIXTURES / "user_mapping.csv"
    assert _audit(str(path)).returncode == exitcodes.UNREADABLE_INPUT
    result = _audit(str(path), "--columns", 'mac="Hardware ID",vendor=Make')
    assert result.returncode == exitcodes.OK, result.stderr
    vendors = sorted(d["vendor_id"] for d in json.loads(result.stdout)["devices"])
    assert vendors == ["hikvision", "hytera"]


def test_a_pipe_is_refused_in_one_line(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = _audit(str(fifo))
    assert result.returncode == exitcodes.UNREADABLE_INPUT
    assert (
        result.stderr
        == f"phonehome: error: {fifo}: not a regular file (save a pipe or device to a file first)\n"
    )
