"""A handset's adb outputs and a capture of its traffic, in one audit: one device."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from phonehome import exitcodes
from phonehome.testing.craft import Host, dhcp_exchange, tls_session, write_capture

FIXTURES = Path(__file__).parent / "fixtures" / "android" / "xiaomi-redmi-note-11"
PHONE = Host("64:09:80:c2:5d:18", "192.168.1.30")
ROUTER = Host("e0:06:30:11:22:33", "192.168.1.1")
T0 = 1_790_000_000


def _audit(*paths: Path) -> dict:  # type: ignore[type-arg]
    result = subprocess.run(
        [sys.executable, "-m", "phonehome", "audit", *map(str, paths), "--no-save", "-f", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (exitcodes.OK, exitcodes.FINDINGS), result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_adb_outputs_of_one_handset_are_one_device_with_its_findings() -> None:
    doc = _audit(FIXTURES)
    handsets = [d for d in doc["devices"] if d["id"].startswith("name:android:")]
    assert [d["id"] for d in handsets] == ["name:android:8d3f0a5c"]
    assert handsets[0]["vendor_id"] == "xiaomi" and handsets[0]["device_type"] == "phone"
    rules = {f["rule_id"] for f in doc["findings"]}
    assert {"PH-HST-001", "PH-HST-002", "PH-HST-003"} <= rules


def test_factory_wifi_mac_ties_the_handset_to_its_traffic(tmp_path: Path) -> None:
    phone_dir = tmp_path / "redmi"
    shutil.copytree(FIXTURES, phone_dir)
    getprop = phone_dir / "getprop.txt"
    getprop.write_text(getprop.read_text() + f"[ro.boot.wifimacaddr]: [{PHONE.mac}]\n")
    packets = dhcp_exchange(PHONE, ROUTER, T0, hostname="Redmi-Note-11")
    packets += tls_session(PHONE, "47.246.2.7", T0 + 5, "tracking.miui.com", ROUTER.mac)
    capture = write_capture(tmp_path / "lan.pcap", packets)
    doc = _audit(phone_dir, capture)
    phone = next(d for d in doc["devices"] if d["id"] == f"mac:{PHONE.mac}")
    assert not any(d["id"].startswith("name:android:") for d in doc["devices"])
    assert any(s.endswith("getprop.txt") for s in phone["sources"])
    assert any(d["name"] == "tracking.miui.com" for d in doc["destinations"] if d["device_id"] == phone["id"])
    handset_findings = [f for f in doc["findings"] if f["rule_id"].startswith("PH-HST-")]
    assert handset_findings and {f["device_id"] for f in handset_findings} == {phone["id"]}
