"""The JSON contract other renderers rely on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from phonehome.model import SCHEMA_VERSION
from phonehome.outputs.interface import OutputFormat
from phonehome.outputs.jsonformat import JsonFormat, report_to_dict
from phonehome.testing.factories import make_empty_report, make_report

OPT_STR = (str, type(None))
OPT_NUM = (int, float, type(None))

TOP: dict[str, Any] = {
    "schema_version": str,
    "generated_at": str,
    "inputs": list,
    "devices": list,
    "destinations": list,
    "findings": list,
}
INPUT: dict[str, Any] = {"path": str, "kind": str, "packets": int, "errors": list}
EVIDENCE: dict[str, Any] = {"kind": str, "value": str, "source": str}
DEVICE: dict[str, Any] = {
    "id": str,
    "mac": OPT_STR,
    "ips": list,
    "hostnames": list,
    "vendor": OPT_STR,
    "brand": OPT_STR,
    "device_type": OPT_STR,
    "confidence": (int, float),
    "evidence": list,
    "bytes_out": int,
    "bytes_in": int,
}
DESTINATION: dict[str, Any] = {
    "device_id": str,
    "name": OPT_STR,
    "domain": OPT_STR,
    "ip": str,
    "organisation": OPT_STR,
    "asn": OPT_STR,
    "country": OPT_STR,
    "bytes_out": int,
    "bytes_in": int,
    "flows": int,
    "first_seen": str,
    "last_seen": str,
}
FINDING: dict[str, Any] = {
    "id": str,
    "rule_id": str,
    "policy": str,
    "severity": str,
    "device_id": str,
    "title": str,
    "evidence": list,
    "references": list,
}


def check(obj: dict[str, Any], spec: dict[str, Any]) -> None:
    for key, types in spec.items():
        assert key in obj, key
        assert isinstance(obj[key], types), (key, obj[key])
        assert not isinstance(obj[key], bool), key


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return report_to_dict(make_report())


def test_is_an_output_format() -> None:
    fmt: OutputFormat = JsonFormat()
    assert (fmt.name, fmt.suffix) == ("json", ".json")


def test_contract(data: dict[str, Any]) -> None:
    check(data, TOP)
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["inputs"] and data["devices"] and data["destinations"] and data["findings"]
    for item in data["inputs"]:
        check(item, INPUT)
        assert all(isinstance(e, str) for e in item["errors"])
    for device in data["devices"]:
        check(device, DEVICE)
        assert all(isinstance(ip, str) for ip in device["ips"])
        for ev in device["evidence"]:
            check(ev, EVIDENCE)
    for dest in data["destinations"]:
        check(dest, DESTINATION)
        assert dest["first_seen"].endswith("Z") and dest["last_seen"] >= dest["first_seen"]
    for finding in data["findings"]:
        check(finding, FINDING)
        assert finding["severity"] in {"info", "low", "medium", "high", "critical"}
        for ev in finding["evidence"]:
            check(ev, EVIDENCE)
        assert all(isinstance(r, str) for r in finding["references"])


def test_vendor_is_entity_display_name(data: dict[str, Any]) -> None:
    by_mac = {d["mac"]: d for d in data["devices"]}
    camera = by_mac["c0:56:e3:4a:7b:01"]
    assert camera["vendor"] == "Hikvision"
    assert camera["vendor_id"] == "hikvision"
    randomised = by_mac["da:a1:19:5e:03:c2"]
    assert randomised["vendor"] is None


def test_organisation_is_entity_display_name(data: dict[str, Any]) -> None:
    dest = next(d for d in data["destinations"] if d["name"] == "api.io.mi.com")
    assert dest["organisation"] == "Xiaomi"
    assert dest["country"] == "CN"


def test_render_is_valid_json_and_deterministic() -> None:
    text = JsonFormat().render(make_report())
    assert text == JsonFormat().render(make_report())
    assert json.loads(text) == json.loads(json.dumps(report_to_dict(make_report())))


def test_empty_report() -> None:
    data = json.loads(JsonFormat().render(make_empty_report()))
    check(data, TOP)
    assert data["devices"] == [] and data["findings"] == [] and data["inputs"] == []
