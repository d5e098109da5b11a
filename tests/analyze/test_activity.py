"""Beacons and idle traffic from flow-start samples."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from phonehome.analyze.activity import (
    ActivityFacts,
    active_spans,
    analyze_activity,
    beats,
    detect_period,
    format_idle_window,
    idle_in_windows,
    merge_windows,
    parse_idle_window,
)
from phonehome.identify.inventory import PairTraffic
from phonehome.model import DeviceID

T0 = 1_714_550_400.0  # 2024-05-01T08:00:00Z
CAMERA = DeviceID("mac:c0:56:e3:4a:7b:01")
PHONE = DeviceID("mac:64:09:80:9c:21:0e")


def series(intervals: list[float], start: float = T0) -> list[float]:
    times = [start]
    for gap in intervals:
        times.append(times[-1] + gap)
    return times


def pair(
    starts: list[tuple[float, int]], *, flows: int | None = None, ports: tuple[str, ...] = ()
) -> PairTraffic:
    """A device-destination pair as the inventory builds it."""
    p = PairTraffic()
    for t, sent in starts:
        p.add_start(t, sent)
    p.flows = len(starts) if flows is None else flows
    p.bytes_out = sum(sent for _, sent in starts)
    p.first_seen = min((t for t, _ in starts), default=float("inf"))
    p.last_seen = max((t for t, _ in starts), default=0.0) + 1.0
    for port in ports:
        p.add_port(port)
    return p


# --- periodicity ---------------------------------------------------------------------------


def test_exact_series() -> None:
    assert detect_period(series([300.0] * 20)) == 300.0


def test_order_of_samples_does_not_matter() -> None:
    times = series([60.0] * 10)
    assert detect_period(reversed(times)) == 60.0


def test_jittered_series() -> None:
    rng = random.Random(7)
    period = detect_period(series([300 * rng.uniform(0.95, 1.05) for _ in range(30)]))
    assert period is not None and abs(period - 300) < 10


def test_missed_beats_are_tolerated() -> None:
    gaps = [300.0] * 20
    gaps[3] = gaps[11] = 600.0  # two beats missed
    gaps[15] = 900.0  # two in a row
    assert detect_period(series(gaps)) == 300.0


def test_an_extra_flow_between_beats_is_tolerated() -> None:
    gaps = [120.0] * 20
    gaps[5:6] = [40.0, 80.0]  # a user-driven flow in between
    assert detect_period(series(gaps)) == 120.0


def test_simultaneous_connections_are_one_beat() -> None:
    times = series([300.0] * 8)
    doubled = sorted(times + [t + 0.4 for t in times])
    assert beats(doubled) == times
    assert detect_period(doubled) == 300.0


def test_random_timing_is_not_a_period() -> None:
    for seed in range(200):
        rng = random.Random(seed)
        assert detect_period(series([rng.expovariate(1 / 300) for _ in range(20)])) is None, seed
        assert detect_period(series([rng.uniform(10, 600) for _ in range(20)])) is None, seed


def test_too_few_flows() -> None:
    assert detect_period(series([300.0] * 3)) is None  # four flows, three intervals
    assert detect_period(series([300.0] * 4)) == 300.0
    assert detect_period([]) is None
    assert detect_period([T0] * 10) is None  # one burst


def test_mostly_irregular_series_with_a_regular_run() -> None:
    gaps = [300.0] * 6 + [17.0, 950.0, 44.0, 1300.0, 31.0, 700.0]
    assert detect_period(series(gaps)) is None


def test_heavy_jitter_is_not_a_period() -> None:
    rng = random.Random(3)
    assert detect_period(series([300 * rng.uniform(0.5, 1.5) for _ in range(40)])) is None


def test_jitter_acceptance_rates() -> None:
    """+-10% jitter is always a beacon; documented in the module notes."""
    for seed in range(100):
        rng = random.Random(seed)
        assert detect_period(series([300 * rng.uniform(0.9, 1.1) for _ in range(20)])) is not None, seed


# --- idle windows from the command line ---------------------------------------------------------


def utc(*parts: int) -> float:
    return dt.datetime(*parts, tzinfo=dt.UTC).timestamp()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T22:00:00Z/2024-05-02T06:00:00Z", (utc(2024, 5, 1, 22), utc(2024, 5, 2, 6))),
        ("2024-05-01T22:00Z/2024-05-02T06:00Z", (utc(2024, 5, 1, 22), utc(2024, 5, 2, 6))),
        ("2024-05-01T22:00/2024-05-02T06:00", (utc(2024, 5, 1, 22), utc(2024, 5, 2, 6))),  # naive: UTC
        ("2024-05-02T00:00+02:00/2024-05-02T08:00+02:00", (utc(2024, 5, 1, 22), utc(2024, 5, 2, 6))),
        ("2024-05-01 22:00:00/2024-05-02 06:00:00", (utc(2024, 5, 1, 22), utc(2024, 5, 2, 6))),
        (" 2024-05-01T22:00Z / PT8H ", (utc(2024, 5, 1, 22), utc(2024, 5, 2, 6))),
        ("PT8H/2024-05-02T06:00Z", (utc(2024, 5, 1, 22), utc(2024, 5, 2, 6))),
        ("2024-05-01T22:00Z/P1DT30M", (utc(2024, 5, 1, 22), utc(2024, 5, 2, 22, 30))),
        ("2024-05-01/2024-05-02", (utc(2024, 5, 1), utc(2024, 5, 2))),
    ],
)
def test_parse_idle_window(text: str, expected: tuple[float, float]) -> None:
    assert parse_idle_window(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected START/END"),
        ("2024-05-01T22:00Z", "expected START/END"),
        ("2024-05-01T22:00Z/", "expected START/END"),
        ("a/b/c", "expected START/END"),
        ("yesterday/today", "'yesterday' is not an ISO 8601 date-time"),
        ("2024-05-01T22:00Z/2024-13-01T00:00Z", "'2024-13-01T00:00Z' is not an ISO 8601"),
        ("2024-05-02T06:00Z/2024-05-01T22:00Z", "the end must be after the start"),
        ("2024-05-01T22:00Z/2024-05-01T22:00Z", "the end must be after the start"),
        ("PT1H/PT2H", "not two durations"),
        ("2024-05-01T22:00Z/PT", "'PT' is not an ISO 8601"),
    ],
)
def test_parse_idle_window_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_idle_window(text)
    assert repr(text.strip()) in str(caught.value)  # the message quotes what the user typed


def test_format_idle_window_round_trips() -> None:
    window = (utc(2024, 5, 1, 22), utc(2024, 5, 2, 6))
    text = format_idle_window(window)
    assert text == "2024-05-01T22:00:00Z/2024-05-02T06:00:00Z"
    assert parse_idle_window(text) == window


# --- idle traffic ----------------------------------------------------------------------------


NIGHT = (T0 + 3600, T0 + 7200)


def test_flows_started_inside_a_window() -> None:
    p = pair([(T0 + 10, 100), (T0 + 3600, 200), (T0 + 5000, 300), (T0 + 7200, 400), (T0 + 9000, 500)])
    assert idle_in_windows(p, [NIGHT]) == (2, 500)  # the window's end is outside it
    assert idle_in_windows(p, [NIGHT, (T0, T0 + 60)]) == (3, 600)
    assert idle_in_windows(p, []) == (0, 0)


def test_pair_entirely_inside_a_window_counts_every_flow() -> None:
    # 64 samples kept of 500 flows: the whole span is inside the window, so all are idle.
    p = pair([(T0 + 3700 + i, 10) for i in range(64)], flows=500)
    p.bytes_out = 5000
    p.last_seen = T0 + 7000
    assert idle_in_windows(p, [NIGHT]) == (500, 5000)
    p.last_seen = T0 + 7300  # the last flow ends after the window: only the samples are known
    assert idle_in_windows(p, [NIGHT]) == (64, 640)


def test_analyze_with_windows() -> None:
    beacon = pair([(T0 + 300 * i, 1000) for i in range(40)])
    browsing = pair([(T0 + 30, 50_000), (T0 + 4000, 80_000), (T0 + 9000, 5_000)])
    facts = analyze_activity({(CAMERA, "203.0.113.40"): beacon, (PHONE, "198.51.100.9"): browsing}, [NIGHT])
    assert facts[(CAMERA, "203.0.113.40")] == ActivityFacts(300.0, 12 * 1000, 12)
    assert facts[(PHONE, "198.51.100.9")] == ActivityFacts(None, 80_000, 1)
    assert list(facts) == sorted(facts)


def test_inferred_idle_is_background_traffic_while_nothing_else_starts() -> None:
    beacon = [(T0 + 300 * i, 1000) for i in range(40)]  # every 5 minutes for 3h15
    # The user browses around T0+3000 and T0+6005: those beats (T0+3000, T0+6000) are not idle.
    browsing = [(T0 + 2990, 40_000), (T0 + 3010, 9_000), (T0 + 6005, 1_000), (T0 + 6560, 500)]
    dns = [(T0 + 300 * i - 1, 60) for i in range(40)] + [(T0 + 1234, 60)]  # lookups before each beat
    facts = analyze_activity(
        {
            (CAMERA, "203.0.113.40"): pair(beacon),
            (CAMERA, "198.51.100.9"): pair(browsing),
            (CAMERA, "192.0.2.53"): pair(dns, ports=("udp/53",)),
        },
        [],
    )
    got = facts[(CAMERA, "203.0.113.40")]
    assert got.period_seconds == 300.0
    # Active (minute before to minute after): T0+2880..3120, T0+5940..6120, T0+6480..6660.
    assert got.idle_flows == 40 - 3  # T0+3000, T0+6000 and T0+6600 fall in active spans
    assert got.idle_bytes_out == 37_000
    assert facts[(CAMERA, "198.51.100.9")] == ActivityFacts(None, 0, 0)  # activity is never idle
    # Lookups do not make the device active, but are themselves periodic background traffic.
    assert facts[(CAMERA, "192.0.2.53")] == ActivityFacts(300.0, 38 * 60, 38)


def test_inferred_idle_is_per_device() -> None:
    beacon = [(T0 + 60 * i, 10) for i in range(10)]
    other_device_busy = [(T0 + 60 * i + 5, 999) for i in range(10)]
    facts = analyze_activity(
        {(CAMERA, "203.0.113.40"): pair(beacon), (PHONE, "198.51.100.9"): pair(other_device_busy)}, []
    )
    assert facts[(CAMERA, "203.0.113.40")] == ActivityFacts(60.0, 100, 10)


def test_pairs_without_samples() -> None:
    named_only = PairTraffic()  # a server name from a log: a count, no flow starts
    named_only.flows = 3
    facts = analyze_activity({(CAMERA, "203.0.113.40"): named_only}, [])
    assert facts[(CAMERA, "203.0.113.40")] == ActivityFacts(None, 0, 0)
    facts = analyze_activity({(CAMERA, "203.0.113.40"): named_only}, [NIGHT])
    assert facts[(CAMERA, "203.0.113.40")] == ActivityFacts(None, 0, 0)


def test_active_spans_merge_adjacent_minutes() -> None:
    assert active_spans([T0 + 5, T0 + 70]) == [(T0 - 60, T0 + 180)]
    assert active_spans([T0 + 5, T0 + 600]) == [(T0 - 60, T0 + 120), (T0 + 540, T0 + 720)]
    assert active_spans([]) == []


def test_overlapping_windows_count_a_flow_once() -> None:
    assert merge_windows([(T0 + 50, T0 + 200), (T0, T0 + 100), (T0 + 300, T0 + 300)]) == [(T0, T0 + 200)]
    p = pair([(T0 + 10, 1), (T0 + 60, 2), (T0 + 150, 4), (T0 + 250, 8)])
    assert idle_in_windows(p, [(T0 + 50, T0 + 200), (T0, T0 + 100)]) == (3, 7)
    # The whole span lies inside the union of two touching windows: every flow is idle.
    busy = pair([(T0 + 10, 1)] * 64, flows=100)
    busy.bytes_out, busy.last_seen = 999, T0 + 150
    assert idle_in_windows(busy, [(T0, T0 + 100), (T0 + 100, T0 + 200)]) == (100, 999)
