"""Derived views for the human-readable outputs: periods, beacon sentences, idle windows."""

from __future__ import annotations

import pytest

from phonehome.outputs.summary import (
    beacon_sentence,
    device_beacons,
    human_period,
    idle_windows,
    parse_time,
    samples,
    short_period,
)

T0 = 1_714_550_400.0  # 2024-05-01T08:00:00Z


@pytest.mark.parametrize(
    ("seconds", "long", "short"),
    [
        (5, "every 5 seconds", "5 s"),
        (45, "every 45 seconds", "45 s"),
        (59.98, "every minute", "1 min"),
        (60, "every minute", "1 min"),
        (90, "every 90 seconds", "90 s"),
        (300, "every 5 minutes", "5 min"),
        (330, "every 5.5 minutes", "5.5 min"),
        (3600, "every hour", "1 h"),
        (5400, "every 90 minutes", "90 min"),
        (7200, "every 2 hours", "2 h"),
        (86400, "every day", "1 d"),
        (604800, "every 7 days", "7 d"),
        (None, "", ""),
        (0, "", ""),
    ],
)
def test_periods(seconds: float | None, long: str, short: str) -> None:
    assert human_period(seconds) == long
    assert short_period(seconds) == short


def dest(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {"device_id": "mac:02:00:00:00:00:01", "name": "api.hik-connect.com"}
    base["ip"] = "203.0.113.4"
    return base | fields


def test_beacon_sentences() -> None:
    assert (
        beacon_sentence(dest(period_seconds=300.0, idle_bytes_out=12_000, idle_flows=40))
        == "sent 12.0 kB to api.hik-connect.com every 5 minutes while idle"
    )
    only_idle = dest(idle_bytes_out=800, idle_flows=1)
    assert beacon_sentence(only_idle) == "sent 800 B to api.hik-connect.com while idle"
    assert (
        beacon_sentence(dest(period_seconds=60.0, idle_flows=3))
        == "contacted api.hik-connect.com every minute while idle"
    )
    assert beacon_sentence(dest(period_seconds=60.0)) == "contacted api.hik-connect.com every minute"
    unnamed = dest(name=None, domain=None, period_seconds=60.0)
    assert beacon_sentence(unnamed) == "contacted 203.0.113.4 every minute"
    assert beacon_sentence(dest(period_seconds=None, idle_bytes_out=0, idle_flows=0)) is None


def test_device_beacons_most_idle_bytes_first() -> None:
    data = {
        "destinations": [
            dest(name="a.example", period_seconds=60.0),
            dest(name="b.example", idle_bytes_out=500, idle_flows=2),
            dest(name="c.example", period_seconds=300.0, idle_bytes_out=9000, idle_flows=9),
            dest(name="d.example"),
            dest(device_id="mac:02:00:00:00:00:02", name="e.example", period_seconds=30.0),
        ]
    }
    assert device_beacons(data) == {
        "mac:02:00:00:00:00:01": [
            "sent 9.0 kB to c.example every 5 minutes while idle",
            "sent 500 B to b.example while idle",
            "contacted a.example every minute",
        ],
        "mac:02:00:00:00:00:02": ["contacted e.example every 30 seconds"],
    }


def test_idle_windows_from_settings() -> None:
    data = {
        "settings": {
            "idle_windows": [
                "2024-05-01T22:00:00Z/2024-05-02T06:00:00Z",
                [T0, T0 + 60],
                ["2024-05-01T09:00:00Z", "2024-05-01T09:30:00Z"],
                "not a window",
                [T0 + 60, T0],
            ]
        }
    }
    assert idle_windows(data) == [
        (T0, T0 + 60),
        (T0 + 3600, T0 + 5400),
        (T0 + 14 * 3600, T0 + 22 * 3600),
    ]
    assert idle_windows({"settings": {}}) == []
    assert idle_windows({}) == []


def test_times_and_samples() -> None:
    assert parse_time("2024-05-01T08:00:05Z") == T0 + 5
    assert parse_time("2024-05-01T08:00:05") == T0 + 5  # no offset: UTC
    assert parse_time(T0) == T0
    assert parse_time("soon") is None
    assert parse_time(None) is None
    assert parse_time(True) is None
    assert samples({"samples": [T0 + 60, "2024-05-01T08:00:00Z", "bad"]}) == [T0, T0 + 60]
    assert samples({}) == []
