"""Acceptance tests on real captures recorded by others (../shared/corpus, absent in a user's clone)."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "ndpi"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.is_dir(), reason=f"real-capture corpus not present at {CORPUS}"),
]


@cache
def audit(name: str) -> dict[str, Any]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "phonehome",
            "audit",
            str(CORPUS / name),
            "--no-save",
            "-f",
            "json",
            "-q",
            "--fail-on",
            "never",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    assert all(not i["errors"] for i in doc["inputs"]), doc["inputs"]
    return doc


def device(doc: dict[str, Any], mac: str) -> dict[str, Any]:
    return next(d for d in doc["devices"] if d["mac"] == mac)


def test_tuya_devices_are_attributed() -> None:
    doc = audit("tuya_lp.pcap")
    tuya = [d for d in doc["devices"] if d["vendor_id"] == "tuya"]
    # Modules registered to Tuya and Espressif modules speaking Tuya's LAN protocol.
    assert len(tuya) >= 10
    assert any(d["mac"].startswith("38:1f:8d") for d in tuya)
    assert all(d["device_type"] == "iot" for d in tuya)
    espressif = [d for d in tuya if d["oui_vendor"] == "Espressif Inc."]
    assert espressif and all(
        any(e["kind"] == "ndpi_application" and e["value"] == "TuyaLP" for e in d["evidence"])
        for d in espressif
    )


@pytest.mark.parametrize(
    ("capture", "mac"),
    [("dns.pcap", "d4:94:e8:0e:ad:c1"), ("4in4tunnel.pcap", "a4:c6:4f:3b:b3:9a")],
)
def test_huawei_device_is_reported_with_policy_findings(capture: str, mac: str) -> None:
    doc = audit(capture)
    huawei = device(doc, mac)
    assert huawei["vendor_id"] == "huawei"
    assert any(e["kind"] == "oui" and "HUAWEI" in e["value"].upper() for e in huawei["evidence"])
    policies = {f["policy"] for f in doc["findings"] if f["device_id"] == huawei["id"]}
    assert {"fcc-covered-list", "ndaa-889"} <= policies


def test_quic_capture_tp_link_gateway_and_named_destinations() -> None:
    doc = audit("quic.pcap")
    gateway = device(doc, "64:70:02:8d:3d:39")
    assert gateway["vendor_id"] == "tp-link"
    assert "gateway" in gateway["roles"] and gateway["device_type"] == "router"
    clients = [d for d in doc["devices"] if d["bytes_out"] > 0]
    assert clients and all(d["vendor_id"] != "tp-link" for d in clients)
    names = {d["name"] for d in doc["destinations"]}
    assert {"www.youtube.com", "mail.google.com"} <= names
    google = [d for d in doc["destinations"] if d["name"] == "mail.google.com"]
    assert google[0]["organisation"] == "Google" and google[0]["country"] == "US"


def test_teams_capture_tp_link_switch_and_microsoft_destinations() -> None:
    doc = audit("teams.pcap")
    switch = device(doc, "d8:0d:17:d6:55:ab")
    assert switch["vendor_id"] == "tp-link" and "TL-SG116E" in switch["hostnames"]
    laptop = device(doc, "28:37:37:00:6d:c8")
    mine = [d for d in doc["destinations"] if d["device_id"] == laptop["id"]]
    assert len(mine) >= 20
    assert {
        d["organisation"] for d in mine if d["name"] and d["name"].endswith("teams.microsoft.com")
    } == {"Microsoft"}
    # Most destinations are named from SNI or a DNS answer; the rest (STUN media, flows begun
    # before the capture) still get their network and country.
    assert sum(1 for d in mine if d["name"]) >= 20
    assert all(d["name"] or (d["asn"] and d["country"]) for d in mine)


def test_rtsp_server_is_treated_as_a_camera() -> None:
    doc = audit("rtsp.pcap")
    servers = [
        d
        for d in doc["devices"]
        if any(e["kind"] == "ndpi_served" and e["value"] == "RTSP" for e in d["evidence"])
    ]
    assert len(servers) == 1 and servers[0]["device_type"] == "camera"


def test_ssdp_user_agent_is_evidence() -> None:
    doc = audit("ssdp-m-search-ua.pcap")
    mac = device(doc, "f0:2f:4b:09:93:bc")
    assert {"kind": "user_agent", "value": "Google Chrome/99.0.4844.74 Mac OS X"}.items() <= next(
        e for e in mac["evidence"] if e["kind"] == "user_agent"
    ).items()
    searcher = device(audit("ssdp-m-search.pcap"), "00:08:9b:c9:d0:8c")
    assert any(e["value"] == "SSDP" for e in searcher["evidence"])
