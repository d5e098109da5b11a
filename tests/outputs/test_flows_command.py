"""``phonehome flows DEVICE``: every destination of one device, with timing facts and totals."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phonehome import exitcodes
from phonehome.analyze.activity import analyze_activity
from phonehome.cli import app
from phonehome.identify.inventory import InventoryBuilder
from phonehome.model import InputSummary, Report
from phonehome.outputs.explain import find_device
from phonehome.outputs.terminal import render_flows
from phonehome.pipeline import plan_inputs
from phonehome.store.workspace import Workspace
from phonehome.testing import craft
from phonehome.testing.factories import T0, make_report

CAMERA = "mac:c0:56:e3:4a:7b:01"
runner = CliRunner()


def with_timing(report: Report) -> Report:
    """The sample report with the timing facts the activity analysis fills in."""
    dests = []
    for d in report.destinations:
        if d.name == "litedev.hik-connect.com":
            t = dataclasses.replace(
                d.traffic, period_seconds=300.0, idle_bytes_out=12_400, idle_flows=31, party="first"
            )
            d = dataclasses.replace(d, traffic=t)
        elif d.name == "time.windows.com":
            d = dataclasses.replace(d, traffic=dataclasses.replace(d.traffic, party="support"))
        dests.append(d)
    return dataclasses.replace(
        report,
        destinations=tuple(dests),
        settings={**report.settings, "idle_windows": ["2024-05-01T10:00:00Z/2024-05-01T11:30:00Z"]},
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    Workspace(ws).save(with_timing(make_report()))
    return ws


def flows(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["flows", *args])
    return result.exit_code, result.output


def test_table_lists_every_destination(workspace: Path) -> None:
    code, out = flows("192.168.1.20", "-w", str(workspace))
    assert code == exitcodes.OK, out
    assert "Flows of DS-2CD2143G2-I (mac:c0:56:e3:4a:7b:01)" in out
    assert "Destinations (3; times UTC on 2024-05-01)" in out
    for text in (
        "litedev.hik-connect.com",
        "203.0.113.40",
        "open.ys7.com",
        "time.windows.com",
        "hik-connect.com",
        "Hikvision (first)",
        "Microsoft (support)",
        "AMAZON-02",
        "41.5 MB",
        "980.1 kB",
        "08:00:12",
        "11:59:50",
        "5 min",
        "12.4 kB",
    ):
        assert text in out, text
    assert "Idle windows: 2024-05-01 10:00:00Z - 2024-05-01 11:30:00Z" in out
    assert "sent 12.4 kB to litedev.hik-connect.com every 5 minutes while idle" in out
    # Totals by organisation, then by country.
    orgs = out[out.index("By organisation") : out.index("By country")]
    assert orgs.index("Hikvision") < orgs.index("Microsoft")
    hik = next(line for line in orgs.splitlines() if line.lstrip().startswith("Hikvision"))
    assert hik.split()[1:] == ["first", "CN,", "DE", "2", "48.9", "MB", "1.2", "MB", "248", "12.4", "kB"]
    countries = out[out.index("By country") :]
    de = next(line for line in countries.splitlines() if line.lstrip().startswith("DE"))
    assert "84.9%" in de
    # Other devices' destinations are not listed.
    assert "api.io.mi.com" not in out


def test_json_has_the_same_facts(workspace: Path) -> None:
    code, out = flows(CAMERA, "-w", str(workspace), "--format", "json")
    assert code == exitcodes.OK, out
    doc = json.loads(out)
    assert doc["device"]["id"] == CAMERA
    names = [d["name"] for d in doc["destinations"]]
    assert names == ["litedev.hik-connect.com", "open.ys7.com", "time.windows.com"]  # most bytes out first
    hik = doc["destinations"][0]
    assert (hik["period_seconds"], hik["idle_bytes_out"], hik["idle_flows"], hik["party"]) == (
        300.0,
        12_400,
        31,
        "first",
    )
    totals = {"bytes_out": 48_911_204, "bytes_in": 1_204_993, "flows": 252, "idle_bytes_out": 12_400}
    assert doc["totals"] == totals
    assert [(o["organisation"], o["bytes_out"]) for o in doc["by_organisation"]] == [
        ("Hikvision", 48_911_204),
        ("Microsoft", 0),
    ]
    assert [c["country"] for c in doc["by_country"]] == ["DE", "CN", "US"]
    assert doc["idle_windows"] == ["2024-05-01T10:00:00Z/2024-05-01T11:30:00Z"]


def test_output_file(workspace: Path, tmp_path: Path) -> None:
    target = tmp_path / "flows.json"
    code, out = flows("DS-2CD2143G2-I", "-w", str(workspace), "-f", "json", "-o", str(target))
    assert code == exitcodes.OK, out
    assert json.loads(target.read_text())["device"]["id"] == CAMERA


def test_report_without_timing_facts(tmp_path: Path) -> None:
    """A report saved before the activity analysis: no party, period or idle bytes."""
    ws = tmp_path / "ws"
    Workspace(ws).save(make_report())
    code, out = flows(CAMERA, "-w", str(ws))
    assert code == exitcodes.OK, out
    assert "litedev.hik-connect.com" in out
    assert "sent while idle" in out and "Background traffic" not in out
    assert "Idle (when no --idle-window is given)" in out


def test_device_without_destinations(tmp_path: Path) -> None:
    report = make_report()
    ws = tmp_path / "ws"
    Workspace(ws).save(dataclasses.replace(report, destinations=()))
    code, out = flows(CAMERA, "-w", str(ws))
    assert code == exitcodes.OK, out
    assert "No traffic to remote addresses was recorded for this device." in out


def test_unknown_device_is_a_usage_error(workspace: Path) -> None:
    code, out = flows("10.9.9.9", "-w", str(workspace))
    assert code == exitcodes.USAGE
    assert "no device with id, MAC, IP or host name '10.9.9.9'" in out


def test_html_format_is_refused(workspace: Path) -> None:
    code, _ = flows(CAMERA, "-w", str(workspace), "-f", "html")
    assert code == 2  # click rejects the choice


def test_render_is_deterministic() -> None:
    report = with_timing(make_report())
    device = find_device(report, CAMERA)
    first = render_flows(report, device)
    assert first == render_flows(with_timing(make_report()), device)
    assert "\x1b" not in first
    assert all(len(line) <= 120 for line in first.splitlines())


# --- end to end: a crafted capture, audited, then asked about ------------------------------------

GATEWAY = "00:e0:fc:12:34:56"
HIK_IP = "203.0.113.40"


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    camera = craft.Host("c0:56:e3:4a:7b:01", "192.168.1.20")
    packets = []
    for i in range(12):  # a heartbeat every 5 minutes
        packets += craft.tls_session(
            camera, HIK_IP, T0 + 300 * i, "litedev.hik-connect.com", GATEWAY, up_bytes=900, down_bytes=400
        )
    for offset in (95.0, 1260.0, 1302.0, 2950.0):  # irregular uploads
        packets += craft.tls_session(camera, "198.51.100.88", T0 + offset, "open.ys7.com", GATEWAY)
    for i in range(3):
        ntp = [b"\x23" + b"\0" * 47], [b"\x24" + b"\0" * 47]
        packets += craft.udp_exchange(camera, "203.0.113.123", T0 + 1000 * i, 123, *ntp, gateway_mac=GATEWAY)
    return craft.write_capture(tmp_path_factory.mktemp("cap") / "camera.pcap", packets)


def test_activity_from_a_crafted_capture(capture: Path) -> None:
    builder = InventoryBuilder()
    planned, _ = plan_inputs([capture])
    for path, source in planned:
        for item in source.read(path, None):
            if not isinstance(item, InputSummary):
                builder.add(item)
    traffic = builder.build().traffic
    key = next(k for k in traffic if k[1] == HIK_IP)
    assert traffic[key].flows == 12
    facts = analyze_activity(traffic, [])
    assert facts[key].period_seconds is not None and abs(facts[key].period_seconds - 300.0) < 1.0
    # Inferred idle: the uploads (+95 s, +1260 s, +1302 s, +2950 s) make the camera active from
    # the minute before to the minute after, so the beats at +0, +1200 and +3000 are not idle.
    # NTP (udp/123) is infrastructure and does not count as activity.
    assert facts[key].idle_flows == 9
    assert facts[key].idle_bytes_out * 12 == traffic[key].bytes_out * 9
    ys7 = next(k for k in traffic if k[1] == "198.51.100.88")
    assert facts[ys7].period_seconds is None


def test_flows_after_auditing_a_crafted_capture(capture: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    audit = subprocess.run(
        [sys.executable, "-m", "phonehome", "audit", str(capture), "-w", str(ws), "-q", "--fail-on", "never"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert audit.returncode == exitcodes.OK, audit.stderr
    code, out = flows("192.168.1.20", "-w", str(ws), "-f", "json")
    assert code == exitcodes.OK, out
    doc = json.loads(out)
    by_name = {d["name"]: d for d in doc["destinations"]}
    assert set(by_name) >= {"litedev.hik-connect.com", "open.ys7.com"}
    hik = by_name["litedev.hik-connect.com"]
    assert hik["flows"] == 12 and hik["ip"] == HIK_IP
    # Until the pipeline runs the activity analysis, the period is simply absent.
    assert hik["period_seconds"] is None or abs(hik["period_seconds"] - 300.0) < 1.0
    code, text = flows("192.168.1.20", "-w", str(ws))
    assert code == exitcodes.OK
    assert "litedev.hik-connect.com" in text and "open.ys7.com" in text
