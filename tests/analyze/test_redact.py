"""Known identifiers are masked in every string of a report."""

from __future__ import annotations

import dataclasses

from phonehome.analyze.identifiers import DeviceIdentifiers, KnownIdentifier
from phonehome.analyze.redact import identifier_pattern, redact
from phonehome.testing.factories import make_report

ANDROID_ID = "51b6be48bac8c569"


def _entry() -> DeviceIdentifiers:
    return DeviceIdentifiers(
        name="phone",
        match_macs=("3c:28:6d:12:34:56",),
        match_ips=(),
        match_ids=(),
        identifiers=(
            KnownIdentifier("android_id", ANDROID_ID, "ids.yaml"),
            KnownIdentifier("mac", "3c:28:6d:12:34:56", "ids.yaml"),
        ),
    )


def test_identifier_masked_in_host_names_and_evidence_but_not_the_device_mac() -> None:
    report = make_report()
    device = report.devices[0]
    named = dataclasses.replace(device, hostnames=(f"android-{ANDROID_ID.upper()}",))
    report = dataclasses.replace(report, devices=(named, *report.devices[1:]))
    masked = redact(report, identifier_pattern([_entry()]))
    assert ANDROID_ID not in repr(masked).lower()
    assert masked.devices[0].hostnames == ("android-51******69",)
    assert masked.devices[0].id == device.id and masked.devices[0].mac == device.mac


def test_nothing_to_mask_leaves_the_report_as_it_is() -> None:
    report = make_report()
    assert redact(report, identifier_pattern([])) is report
    assert redact(report, identifier_pattern([_entry()])) == report
