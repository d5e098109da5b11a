"""A phone's identifiers found in its own traffic, end to end through ``phonehome audit``."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from phonehome import exitcodes
from phonehome.testing.craft import Host, dhcp_exchange, http_request, http_session, write_capture

T0 = 1_790_000_000
PHONE = Host("64:09:80:c2:5d:18", "192.168.1.30")  # Xiaomi OUI
ROUTER = Host("e0:06:30:11:22:33", "192.168.1.1")
IMEI = "358240051111110"
ANDROID_ID = "51b6be48bac8c569"
SERVER = "47.246.2.7"  # a Chinese address in the shipped geo data


@pytest.fixture(scope="module")
def phone_capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("phone")
    requests = [
        http_request("GET", f"/v1/config?imei={IMEI}&v=14", host="tracking.miui.com"),
        http_request(
            "POST",
            "/stat",
            host="data.mistat.xiaomi.com",
            json_body={"device": {"aid": hashlib.md5(ANDROID_ID.encode()).hexdigest()}},
            content_encoding="gzip",
        ),
        http_request(
            "POST",
            "/loc",
            host="loc.map.baidu.com",
            headers=[("X-Device", base64.b64encode(f"imei:{IMEI}".encode()).decode())],
            form=[("lat", "51.50142"), ("lon", "-0.14191")],
        ),
    ]
    packets = dhcp_exchange(PHONE, ROUTER, T0, hostname="Redmi-Note-11")
    packets += http_session(PHONE, SERVER, T0 + 5, requests, gateway_mac=ROUTER.mac, segment_size=300)
    capture = write_capture(d / "phone.pcap", packets)
    identifiers = d / "phone.yaml"
    identifiers.write_text(
        "version: 1\n"
        "devices:\n"
        "  - name: Redmi\n"
        f"    match: {{mac: {PHONE.mac}}}\n"
        f'    imei: ["{IMEI}"]\n'
        f"    android_id: {ANDROID_ID}\n"
        "    home: {lat: 51.5014, lon: -0.1419}\n",
        encoding="utf-8",
    )
    return capture, identifiers


def _audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phonehome", "audit", *args, "--no-save", "-f", "json"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_identifiers_found_in_each_form_and_place(phone_capture: tuple[Path, Path]) -> None:
    capture, identifiers = phone_capture
    result = _audit(str(capture), "--identifiers", str(identifiers))
    assert result.returncode == exitcodes.FINDINGS, result.stderr
    doc = json.loads(result.stdout)
    leaks = {(k["host"], k["identifier"], k["encoding"], k["location"]) for k in doc["leaks"]}
    assert ("tracking.miui.com", "imei", "plain", "url") in leaks
    assert ("data.mistat.xiaomi.com", "android_id", "md5", "body:device.aid") in leaks
    assert ("loc.map.baidu.com", "imei", "base64", "header:X-Device") in leaks
    assert any(h == "loc.map.baidu.com" and i == "location" for h, i, _, _ in leaks)
    assert {k["device_id"] for k in doc["leaks"]} == {f"mac:{PHONE.mac}"}
    assert IMEI not in result.stdout and ANDROID_ID not in result.stdout  # masked everywhere
    rules = {f["rule_id"] for f in doc["findings"] if f["device_id"] == f"mac:{PHONE.mac}"}
    assert {"PH-TRF-003", "PH-TRF-004"} <= rules


def test_without_identifiers_only_generic_patterns(phone_capture: tuple[Path, Path]) -> None:
    capture, _ = phone_capture
    doc = json.loads(_audit(str(capture)).stdout)
    assert doc["leaks"] and all(k["identifier"].startswith("pattern:") for k in doc["leaks"])
    quiet = json.loads(_audit(str(capture), "--no-generic-leaks").stdout)
    assert quiet["leaks"] == []


def test_bad_identifiers_file_is_one_line(tmp_path: Path, phone_capture: tuple[Path, Path]) -> None:
    capture, _ = phone_capture
    bad = tmp_path / "ids.yaml"
    bad.write_text("devices:\n  - imei: [123]\n", encoding="utf-8")
    result = _audit(str(capture), "--identifiers", str(bad))
    assert result.returncode == exitcodes.USAGE
    assert result.stderr.startswith(f"phonehome: error: {bad}")
    assert result.stderr.count("\n") == 1


def test_decrypted_requests_are_destinations_with_their_size() -> None:
    flows = Path(__file__).parent / "fixtures" / "mitmproxy" / "mitmproxy11.flows"
    result = _audit(str(flows), "--fail-on", "never")
    assert result.returncode == exitcodes.OK, result.stderr
    doc = json.loads(result.stdout)
    assert doc["destinations"]
    assert all(d["flows"] >= 1 and d["bytes_out"] > 0 and d["name"] for d in doc["destinations"])
