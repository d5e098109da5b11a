"""STIX 2.1 export: parsed back by stix2 (no custom content) and checked by stix2-validator."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import stix2

from phonehome.intel.loader import default_intel
from phonehome.model import Report
from phonehome.outputs.stix import render_stix
from phonehome.pipeline import AuditOptions, plan_inputs, run_audit
from phonehome.policy.engine import PolicySettings, default_watch_countries
from phonehome.store.workspace import Workspace
from phonehome.testing.factories import make_destination, make_device, make_finding, make_report

DEMO = Path(__file__).resolve().parents[2] / "demo" / "office.pcapng"


def parse(text: str) -> Any:
    return stix2.parse(text, allow_custom=False)


def validate(text: str) -> None:
    stix2validator = pytest.importorskip("stix2validator", reason="stix2-validator is not installed")
    results = stix2validator.validate_string(text, stix2validator.ValidationOptions(strict=True))
    assert results.is_valid, [str(e) for o in results.object_results for e in o.errors + o.warnings]


def _by_type(bundle: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for obj in bundle.objects:
        out.setdefault(obj.type, []).append(obj)
    return out


def test_sample_bundle_parses_back_and_validates() -> None:
    text = render_stix(make_report())
    validate(text)
    bundle = parse(text)
    objects = _by_type(bundle)
    assert set(objects) == {"identity", "indicator", "relationship", "location", "report"}
    patterns = {i.pattern for i in objects["indicator"]}
    # Every endpoint of the restricted camera and router ...
    assert "[domain-name:value = 'litedev.hik-connect.com']" in patterns
    assert "[ipv4-addr:value = '203.0.113.40']" in patterns
    assert "[domain-name:value = 'connectivitycheck.platform.hicloud.com']" in patterns
    # ... and the endpoints the phone's traffic finding cites, but none it does not cite.
    assert "[domain-name:value = 'data.mistat.xiaomi.com']" in patterns
    assert "[domain-name:value = 'www.youtube.com']" not in patterns
    # Devices without findings contribute nothing.
    assert "[domain-name:value = 'gateway.icloud.com']" not in patterns
    orgs = {i.name: i for i in objects["identity"] if i.identity_class == "organization"}
    assert {"Hikvision", "Huawei", "Xiaomi"} <= set(orgs)
    ids = {o.id for o in bundle.objects}
    for rel in objects["relationship"]:
        assert rel.source_ref in ids and rel.target_ref in ids
    hik = next(
        i for i in objects["indicator"] if i.pattern == "[domain-name:value = 'litedev.hik-connect.com']"
    )
    related = [r for r in objects["relationship"] if r.source_ref == hik.id]
    assert [(r.relationship_type, r.target_ref) for r in related] == [("related-to", orgs["Hikvision"].id)]
    located = [r for r in objects["relationship"] if r.source_ref == orgs["Hikvision"].id]
    assert located[0].relationship_type == "located-at"
    (report,) = objects["report"]
    assert set(report.object_refs) == ids - {report.id}


def test_timestamps_are_the_audits_own_and_ids_are_deterministic() -> None:
    report = make_report()
    first = render_stix(report)
    shuffled = dataclasses.replace(
        report, destinations=tuple(reversed(report.destinations)), findings=tuple(reversed(report.findings))
    )
    assert render_stix(report) == first == render_stix(shuffled)
    moment = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    for obj in parse(first).objects:
        assert obj.created == moment and obj.modified == moment
        if obj.type == "indicator":
            assert obj.valid_from == moment
    later = parse(render_stix(make_report(generated_at="2024-06-01T12:00:00Z")))
    assert {o.id for o in later.objects}.isdisjoint({o.id for o in parse(first).objects})


def test_ipv6_and_quote_escaping() -> None:
    device = make_device("00:e0:fc:00:00:01", ips=("192.168.1.2",), vendor="huawei", confidence=0.9)
    dests = (
        make_destination(device, "odd'name.example.com", "2001:db8::7", organisation="huawei"),
        make_destination(device, "198.51.100.9", "198.51.100.9"),
    )
    finding = make_finding(device, "PH-FCC-001")
    text = render_stix(make_report(devices=(device,), destinations=dests, findings=(finding,)))
    validate(text)
    patterns = {o.pattern for o in parse(text).objects if o.type == "indicator"}
    assert patterns == {
        "[domain-name:value = 'odd\\'name.example.com']",
        "[ipv6-addr:value = '2001:db8::7']",
        "[ipv4-addr:value = '198.51.100.9']",  # an address used as a name is not a domain
    }


def test_no_findings_gives_a_bundle_with_the_report_only() -> None:
    text = render_stix(make_report(findings=()))
    validate(text)
    types = sorted(o.type for o in parse(text).objects)
    assert types == ["identity", "report"]


def test_parse_rejects_a_tampered_bundle() -> None:
    bundle = json.loads(render_stix(make_report()))
    indicator = next(o for o in bundle["objects"] if o["type"] == "indicator")
    indicator["pattern"] = "[domain-name:value = "
    with pytest.raises(stix2.exceptions.InvalidValueError, match="pattern"):
        stix2.parse(json.dumps(bundle), allow_custom=False)
    custom = json.loads(render_stix(make_report()))
    custom["objects"][0]["x_phonehome"] = 1
    with pytest.raises(stix2.exceptions.STIXError):
        stix2.parse(json.dumps(custom), allow_custom=False)


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
    text = render_stix(demo_report)
    validate(text)
    objects = _by_type(parse(text))
    patterns = {i.pattern for i in objects["indicator"]}
    assert "[domain-name:value = 'api.hik-connect.com']" in patterns
    assert "[domain-name:value = 'iotaccess.easy4ipcloud.com']" in patterns
    names = {i.name for i in objects["identity"]}
    assert {"Hikvision", "Dahua"} <= names


def test_export_command(tmp_path: Path) -> None:
    Workspace(tmp_path / "ws").save(make_report())
    done = subprocess.run(
        [sys.executable, "-m", "phonehome", "export", "-f", "stix", "-w", str(tmp_path / "ws")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    validate(done.stdout)
    assert (
        "workspace audit 1" in next(o for o in parse(done.stdout).objects if o.type == "report").description
    )
