"""``explain`` on a device whose evidence disagrees: the verdict, the conflict and the weights."""

from __future__ import annotations

import pytest

from phonehome.identify.attribution import Attributor
from phonehome.identify.inventory import DeviceDraft
from phonehome.intel.loader import default_intel
from phonehome.model import Destination, DeviceID, EntityRef, Report, Traffic
from phonehome.outputs.explain import DeviceNotFound, explain, find_device
from phonehome.sources.interface import HostSignal

TP_LINK_MAC = "50:c7:bf:01:02:03"  # OUI registered to TP-LINK TECHNOLOGIES CO.,LTD.


def _report() -> Report:
    draft = DeviceDraft(id=DeviceID(f"mac:{TP_LINK_MAC}"), mac=TP_LINK_MAC, ips={"192.168.1.9"})
    draft.sources.add("scan.xml")
    draft.note_address("192.168.1.9", "leases")
    draft.signals.append(HostSignal(TP_LINK_MAC, "192.168.1.9", "dhcp_hostname", "lobby-cam", "leases"))
    cloud = Destination(
        DeviceID(draft.id),
        "198.51.100.10",
        "api.hik-connect.com",
        "hik-connect.com",
        "hikvision",
        None,
        "CN",
        Traffic(100, 50, 1, 0.0, 1.0),
    )
    device = Attributor(default_intel()).attribute(draft, [cloud])
    entities = (EntityRef("hikvision", "Hikvision", "CN"), EntityRef("tp-link", "TP-Link", "CN"))
    return Report("2026-11-23T00:00:00Z", (), (device,), (cloud,), (), "test", entities)


def test_explain_shows_verdict_conflict_and_weights() -> None:
    report = _report()
    device = find_device(report, "lobby-cam")
    text = explain(report, device)
    assert device.attribution.vendor == "tp-link"
    assert [c.vendor for c in device.attribution.alternatives] == ["hikvision"]
    assert "Verdict: TP-Link" in text
    assert "Conflicting evidence, for Hikvision (combined 0.40):" in text
    assert "+0.60  oui: 50:c7:bf TP-LINK TECHNOLOGIES CO.,LTD." in text
    assert "cloud_endpoint: api.hik-connect.com" in text
    assert "IP  192.168.1.9  (reported by: leases)" in text
    assert explain(report, device) == text  # deterministic


@pytest.mark.parametrize(
    "query",
    [
        "mac:50:c7:bf:01:02:03",
        "50:C7:BF:01:02:03",
        "50-C7-BF-01-02-03",
        "50c7.bf01.0203",
        "192.168.1.9",
        "LOBBY-CAM",
    ],
)
def test_find_device_by_any_identifier(query: str) -> None:
    assert find_device(_report(), query).mac == TP_LINK_MAC


def test_find_device_unknown() -> None:
    with pytest.raises(DeviceNotFound, match="no device"):
        find_device(_report(), "10.0.0.1")
