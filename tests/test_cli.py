"""The command line as a user runs it: real subprocesses, real files, real workspace."""

from __future__ import annotations

import gzip
import json
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from phonehome import exitcodes
from phonehome.model import SCHEMA_VERSION


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phonehome", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    packets = []
    for i in range(3):
        p = (
            Ether(src="00:1b:21:0a:0b:0c", dst="66:77:88:99:aa:bb")
            / IP(src="192.168.1.10", dst="198.51.100.7")
            / TCP(sport=40000 + i, dport=80, flags="PA")
            / Raw(b"GET / HTTP/1.1\r\nHost: example.org\r\nUser-Agent: test-agent/1.0\r\n\r\n")
        )
        p.time = 1_700_000_000 + i
        packets.append(p)
    path = tmp_path / "small.pcap"
    wrpcap(str(path), packets)
    return path


def _audit_count(workspace: Path) -> int:
    with sqlite3.connect(workspace / "phonehome.db") as db:
        return int(db.execute("select count(*) from audits").fetchone()[0])


def test_audit_json_and_saved_workspace(capture: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    result = run("audit", str(capture), "-w", str(ws), "-f", "json", "--fail-on", "never")
    assert result.returncode == exitcodes.OK, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == SCHEMA_VERSION == "1.1"
    assert doc["inputs"][0]["packets"] == 3
    device = next(d for d in doc["devices"] if d["id"] == "mac:00:1b:21:0a:0b:0c")
    assert device["ips"] == ["192.168.1.10"]
    dest = next(d for d in doc["destinations"] if d["device_id"] == device["id"])
    assert dest["name"] == "example.org" and dest["ip"] == "198.51.100.7"
    assert any(
        e["kind"] == "user_agent" and e["value"] == "test-agent/1.0" for e in device["evidence"]
    )
    assert _audit_count(ws) == 1
    # The same input again replaces the earlier audit instead of adding one.
    again = run("audit", str(capture), "-w", str(ws), "-f", "json", "--fail-on", "never", "-q")
    assert again.returncode == exitcodes.OK
    assert _audit_count(ws) == 1
    listed = run("devices", "-w", str(ws), "-f", "json")
    assert listed.returncode == 0
    assert "mac:00:1b:21:0a:0b:0c" in {d["id"] for d in json.loads(listed.stdout)}


def test_report_renders_saved_audit_to_file(capture: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run("audit", str(capture), "-w", str(ws), "-q", "--fail-on", "never").returncode == 0
    out = tmp_path / "r.json"
    result = run("report", "-w", str(ws), "-f", "json", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["inputs"][0]["path"] == str(capture)


def test_report_without_audits_is_a_usage_error(tmp_path: Path) -> None:
    result = run("findings", "-w", str(tmp_path / "empty"))
    assert result.returncode == exitcodes.USAGE
    assert result.stderr.startswith("phonehome: error: ")
    assert "no audits yet" in result.stderr


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    text = tmp_path / "notes.pcap"
    text.write_text("this is a text file, not a capture\n")
    radiotap = tmp_path / "wifi.pcap"
    radiotap.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 127))
    unreadable = tmp_path / "locked.pcap"
    unreadable.write_bytes(b"")
    badgz = tmp_path / "bad.pcap.gz"
    badgz.write_bytes(gzip.compress(b"not a capture inside"))
    return {
        "empty": (empty, "empty file"),
        "not-a-capture": (text, "not a recognised input"),
        "link-type": (radiotap, "unsupported link type 127"),
        "missing": (tmp_path / "missing.pcap", "no such file or directory"),
        "gzip-of-text": (badgz, "not a recognised input"),
    }


@pytest.mark.parametrize("case", ["empty", "not-a-capture", "link-type", "missing", "gzip-of-text"])
def test_bad_input_is_one_line_exit_3_and_keeps_workspace(
    case: str, capture: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    assert run("audit", str(capture), "-w", str(ws), "-q", "--fail-on", "never").returncode == 0
    before = (ws / "phonehome.db").read_bytes()
    path, message = _bad_inputs(tmp_path)[case]
    # The good capture comes first: a bad input anywhere must still store nothing.
    result = run("audit", str(capture), str(path), "-w", str(ws), "-q")
    assert result.returncode == exitcodes.UNREADABLE_INPUT
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"phonehome: error: {path}: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    assert (ws / "phonehome.db").read_bytes() == before


def test_truncated_capture_warns_and_keeps_packets(capture: Path, tmp_path: Path) -> None:
    data = capture.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:-20])
    result = run(
        "audit", str(cut), "-w", str(tmp_path / "ws"), "-f", "json", "-q", "--fail-on", "never"
    )
    assert result.returncode == 0
    doc = json.loads(result.stdout)
    assert doc["inputs"][0]["packets"] == 2
    assert doc["inputs"][0]["errors"] == ["truncated packet after 2 packets; kept what was read"]
    assert "warning" in result.stderr and "after 2 packets" in result.stderr


def test_directory_input_skips_unknown_files(capture: Path, tmp_path: Path) -> None:
    folder = tmp_path / "caps"
    folder.mkdir()
    (folder / "a.pcap").write_bytes(capture.read_bytes())
    (folder / "README.txt").write_text("notes")
    result = run(
        "audit", str(folder), "-w", str(tmp_path / "ws"), "-f", "json", "-q", "--fail-on", "never"
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [i["path"] for i in doc["inputs"]] == [str(folder / "a.pcap")]
    assert "README.txt: skipped" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-on", "sometimes"], "--fail-on"),
        (["--watch-country", "China"], "--watch-country"),
        (["--local-net", "10.0.0.0/33"], "--local-net"),
        (["--policy", "no-such-pack"], "unknown pack"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str, capture: Path, tmp_path: Path) -> None:
    result = run("audit", str(capture), "-w", str(tmp_path / "ws"), "-q", *args)
    assert result.returncode == exitcodes.USAGE
    assert message in result.stderr and "Traceback" not in result.stderr


def test_unusable_workspace_is_a_usage_error(capture: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "phonehome.db").write_bytes(b"definitely not sqlite" * 100)
    result = run("audit", str(capture), "-w", str(ws), "-q")
    assert result.returncode == exitcodes.USAGE
    assert result.stderr.startswith(f"phonehome: error: {ws / 'phonehome.db'}: ")
