"""CycloneDX export: validated by cyclonedx-python-lib's strict JSON schema validator."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from phonehome import __version__
from phonehome.intel.loader import default_intel
from phonehome.model import Report
from phonehome.outputs.compliance import audit_stamp
from phonehome.outputs.cyclonedx import render_cyclonedx, serial_number
from phonehome.pipeline import AuditOptions, plan_inputs, run_audit
from phonehome.policy.engine import PolicySettings, default_watch_countries
from phonehome.store.workspace import Workspace
from phonehome.testing.factories import make_device, make_report

DEMO = Path(__file__).resolve().parents[2] / "demo" / "office.pcapng"
CAMERA = "mac:c0:56:e3:4a:7b:01"
PHONE = "mac:64:09:80:9c:21:0e"
LAPTOP = "mac:3c:22:fb:0a:11:5d"
RANDOMISED = "mac:da:a1:19:5e:03:c2"


def validate(text: str) -> None:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, str(error)


def _props(component: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in component.get("properties", []):
        out.setdefault(p["name"], []).append(p["value"])
    return out


def test_sample_audit_is_a_valid_bom_with_one_device_per_device() -> None:
    report = make_report()
    text = render_cyclonedx(report)
    validate(text)
    bom = json.loads(text)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    components = {c["bom-ref"]: c for c in bom["components"]}
    assert set(components) == {d.id for d in report.devices}
    assert {c["type"] for c in components.values()} == {"device"}
    camera = components[CAMERA]
    assert camera["manufacturer"] == {"name": "Hikvision"}
    assert camera["supplier"] == {"name": "Hikvision"}
    assert camera["name"] == "Hikvision camera"
    props = _props(camera)
    assert props["phonehome:restricted"] == ["true"]
    assert props["phonehome:rules"] == ["PH-FCC-001,PH-NDAA-001,PH-UK-CAM-001"]
    assert props["phonehome:confidence"] == ["0.970"]
    assert props["phonehome:device_id"] == [CAMERA]
    assert props["phonehome:mac"] == ["c0:56:e3:4a:7b:01"]
    assert props["phonehome:ip"] == ["192.168.1.20"]
    assert props["phonehome:max_severity"] == ["high"]
    # A traffic finding alone does not make a device restricted.
    assert _props(components[PHONE])["phonehome:restricted"] == ["false"]
    assert _props(components[PHONE])["phonehome:rules"] == ["PH-TRF-002"]
    assert _props(components[LAPTOP])["phonehome:restricted"] == ["false"]
    assert "phonehome:rules" not in _props(components[LAPTOP])
    # Below the threshold, no manufacturer is claimed.
    randomised = components[RANDOMISED]
    assert "manufacturer" not in randomised and "supplier" not in randomised
    assert randomised["name"] == "phone"


def test_model_and_firmware_become_name_and_version() -> None:
    device = make_device("c0:56:e3:00:00:01", vendor="hikvision", brand="EZVIZ", confidence=0.9)
    device = dataclasses.replace(
        device,
        attribution=dataclasses.replace(
            device.attribution, model="DS-2CD2143G2-I", firmware="V5.7.3 build 220112"
        ),
    )
    text = render_cyclonedx(make_report(devices=(device,)))
    validate(text)
    (component,) = json.loads(text)["components"]
    assert component["name"] == "DS-2CD2143G2-I"
    assert component["version"] == "V5.7.3 build 220112"
    assert component["supplier"] == {"name": "EZVIZ"}
    assert component["manufacturer"] == {"name": "Hikvision"}


def test_metadata_carries_the_tool_and_the_audit_stamp() -> None:
    report = make_report()
    bom = json.loads(render_cyclonedx(report, audit_id=4))
    stamp = audit_stamp(report)
    assert bom["serialNumber"] == f"urn:uuid:{serial_number(stamp)}"
    meta = bom["metadata"]
    assert dt.datetime.fromisoformat(meta["timestamp"]) == dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    assert meta["tools"]["components"][0]["name"] == "phonehome"
    assert meta["tools"]["components"][0]["version"] == __version__
    props = _props(meta)
    assert props["phonehome:audit_key"] == [stamp.audit_key]
    assert props["phonehome:audit_id"] == ["4"]
    assert props["phonehome:intel_version"] == [report.intel_version]
    assert sorted(props["phonehome:input"]) == sorted(f"sha256:{i.sha256} {i.path}" for i in report.inputs)


def test_output_is_deterministic_and_the_serial_follows_the_audit() -> None:
    report = make_report()
    first = render_cyclonedx(report)
    shuffled = dataclasses.replace(report, devices=tuple(reversed(report.devices)))
    assert render_cyclonedx(report) == first == render_cyclonedx(shuffled)
    later = render_cyclonedx(make_report(generated_at="2024-06-01T12:00:00Z"))
    assert json.loads(later)["serialNumber"] != json.loads(first)["serialNumber"]


def test_empty_audit_is_a_valid_bom() -> None:
    text = render_cyclonedx(make_report(devices=(), inputs=(), settings={}))
    validate(text)
    assert json.loads(text).get("components", []) == []


def test_the_validator_rejects_a_broken_bom() -> None:
    # The consumer the tests rely on is not a rubber stamp.
    bom = json.loads(render_cyclonedx(make_report()))
    bom["components"][0]["type"] = "gadget"
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom)) is not None


@pytest.fixture(scope="module")
def demo_report() -> Report:
    intel = default_intel()
    packs = tuple(sorted(intel.packs))
    settings = PolicySettings(packs=packs, watch_countries=default_watch_countries(intel, packs))
    planned, _ = plan_inputs([DEMO])
    return run_audit(
        planned, intel, AuditOptions(policy=settings), now=dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)
    )


def test_demo_audit(demo_report: Report) -> None:
    text = render_cyclonedx(demo_report)
    validate(text)
    components = {c["bom-ref"]: c for c in json.loads(text)["components"]}
    restricted = {ref for ref, c in components.items() if _props(c)["phonehome:restricted"] == ["true"]}
    assert restricted == {"mac:e0:06:30:5a:1c:01", "mac:54:8c:81:3e:92:a7", "mac:3c:ef:8c:71:40:2d"}
    assert components["mac:3c:ef:8c:71:40:2d"]["manufacturer"] == {"name": "Dahua"}


def test_export_command(tmp_path: Path) -> None:
    Workspace(tmp_path / "ws").save(make_report())
    out = tmp_path / "bom.cdx.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "phonehome",
            "export",
            "--format",
            "cyclonedx",
            "-w",
            str(tmp_path / "ws"),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    validate(out.read_text(encoding="utf-8"))
    assert _props(json.loads(out.read_text())["metadata"])["phonehome:audit_id"] == ["1"]
