"""When devices talk: beacons (regular flows to one destination) and traffic while idle.

Everything here works on the flow-start samples the inventory keeps per device-destination
pair (``PairTraffic.starts``: up to ``MAX_FLOW_SAMPLES`` (start time, bytes sent) pairs), so
the facts are exact for pairs with few flows and lower bounds for busier ones.

**Periodicity.** Flow starts less than ``BURST_GAP`` seconds apart are one beat (a beacon that
opens two connections at once is still one beacon). The period is the median interval between
beats when, over at least ``MIN_INTERVALS`` intervals:

* at least half the intervals (``MIN_ON_BEAT``) are within ``BEAT_TOLERANCE`` of the median;
* the others are within that tolerance of 2..``MAX_MISSED + 1`` times it (missed beats), except
  at most ``MAX_OUTLIERS`` of them (an extra flow between two beats);
* the folded intervals (each divided by its number of beats) have a median absolute deviation
  below ``MAX_DISPERSION`` of their median.

On simulated series, jitter of +-10% is always accepted and +-20% about two times in three;
Poisson (random) timing is accepted for about 1.5% of five-flow series and never from about
eight flows on (see ``tests/analyze/test_activity.py``).

**Idle, given windows.** A flow is idle when it started inside one of the user's idle windows
(``--idle-window START/END``). When a pair's whole span (first to last seen) lies inside the
windows, all its flows and bytes are idle; otherwise the sampled flows are counted.

**Idle, inferred.** Without windows, a device counts as *active* around the flows it starts to
destinations that are neither periodic nor infrastructure (DNS, NTP): from the minute before
such a flow's start minute to the end of the minute after it. Everything else is idle, so the
flows counted as idle are those of periodic (background) destinations that started while the
device started nothing else. Limits: only flow starts are known (a long download keeps the
device busy but marks only the minute it began); a destination with too few flows to show a
period counts as activity even if it is background traffic; a user-driven app that talks to one
periodic destination only looks idle; and flows beyond the sampled ones are not classified.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from phonehome.model import DeviceID

if TYPE_CHECKING:
    from phonehome.identify.inventory import PairTraffic

IdleWindow = tuple[float, float]
"""(start, end) in Unix seconds; a flow starting at ``start <= t < end`` is inside."""

BURST_GAP = 2.0
"""Flow starts closer than this (seconds) are one beat."""
MIN_INTERVALS = 4
"""Intervals between beats needed before a period is claimed (five beats)."""
BEAT_TOLERANCE = 0.25
"""How far (share of the period) an interval may be from a whole number of periods."""
MAX_MISSED = 3
"""Consecutive missed beats an interval may span (an interval of up to four periods)."""
MIN_ON_BEAT = 0.5
"""Share of intervals that must be single periods."""
MAX_OUTLIERS = 0.1
"""Share of intervals (rounded down) that may be neither single nor missed beats."""
MAX_DISPERSION = 0.1
"""Largest median absolute deviation of the folded intervals, as a share of the period."""
ACTIVE_MINUTE = 60.0
"""Granularity of the inferred activity timeline (seconds)."""
INFRASTRUCTURE_PORTS = frozenset({"udp/53", "tcp/53", "udp/853", "tcp/853", "udp/123", "udp/5353"})
"""Remote ports whose flows follow other traffic (name lookups, clock sync), not the user."""


@dataclass(frozen=True)
class ActivityFacts:
    """Timing facts about one device-destination pair, for ``Traffic``."""

    period_seconds: float | None
    """Median interval between beats when flows recur regularly, else None."""
    idle_bytes_out: int
    """Bytes sent in flows that started while the device was idle."""
    idle_flows: int
    """Flows that started while the device was idle."""


# ---------------------------------------------------------------------------------------------
# idle windows from the command line

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_EXAMPLE = "e.g. 2024-05-01T22:00Z/2024-05-02T06:00Z or 2024-05-01T22:00Z/PT8H"


def _moment(text: str, whole: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{whole!r}: {text!r} is not an ISO 8601 date-time ({_EXAMPLE})") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # no offset given: UTC, as capture times are
    return moment.timestamp()


def _duration(text: str) -> float | None:
    match = _DURATION.match(text)
    if match is None or text.upper() in ("P", "PT") or text.upper().endswith("T"):
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)


def parse_idle_window(text: str) -> IdleWindow:
    """``START/END`` (ISO 8601 date-times; either side may be a duration such as ``PT8H``).

    Times without a UTC offset are taken as UTC. Raises ``ValueError`` with a message that
    quotes ``text`` and says what was expected.
    """
    whole = text.strip()
    start_text, sep, end_text = whole.partition("/")
    start_text, end_text = start_text.strip(), end_text.strip()
    if not sep or not start_text or not end_text or "/" in end_text:
        raise ValueError(f"{whole!r}: expected START/END ({_EXAMPLE})")
    start_span, end_span = _duration(start_text), _duration(end_text)
    if start_span is not None and end_span is not None:
        raise ValueError(f"{whole!r}: give at least one date-time, not two durations ({_EXAMPLE})")
    if end_span is not None:
        start = _moment(start_text, whole)
        end = start + end_span
    elif start_span is not None:
        end = _moment(end_text, whole)
        start = end - start_span
    else:
        start, end = _moment(start_text, whole), _moment(end_text, whole)
    if not end > start:
        raise ValueError(f"{whole!r}: the end must be after the start")
    return (start, end)


def format_idle_window(window: IdleWindow) -> str:
    """``(start, end)`` -> ``2024-05-01T22:00:00Z/2024-05-02T06:00:00Z`` (what reports store)."""

    def iso(seconds: float) -> str:
        moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).replace(microsecond=0)
        return moment.isoformat().replace("+00:00", "Z")

    return f"{iso(window[0])}/{iso(window[1])}"


# ---------------------------------------------------------------------------------------------
# periodicity


def beats(times: Iterable[float], gap: float = BURST_GAP) -> list[float]:
    """Sorted start times with starts less than ``gap`` after the previous one folded in."""
    out: list[float] = []
    last = -math.inf
    for t in sorted(times):
        if t - last >= gap:
            out.append(t)
        last = t
    return out


def _median(values: Iterable[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def detect_period(times: Iterable[float]) -> float | None:
    """The beacon period of these flow starts in seconds, or None when they are not regular."""
    listed = list(times)
    if len(listed) <= MIN_INTERVALS:
        return None
    ticks = beats(listed)
    intervals = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    if len(intervals) < MIN_INTERVALS:
        return None
    median = _median(intervals)
    if median <= 0:
        return None
    low, high = (1 - BEAT_TOLERANCE) * median, (1 + BEAT_TOLERANCE) * median
    on_beat = sum(1 for x in intervals if low <= x <= high)
    if on_beat < MIN_ON_BEAT * len(intervals):
        return None  # the common case for irregular traffic: decided without folding
    folded: list[float] = []
    for interval in intervals:
        count = int(interval / median + 0.5) or 1
        if count > MAX_MISSED + 1 or abs(interval - count * median) > BEAT_TOLERANCE * median:
            continue  # an extra or a shifted flow: not part of the rhythm
        folded.append(interval / count)
    outliers = len(intervals) - len(folded)
    if len(folded) < MIN_INTERVALS or outliers > int(MAX_OUTLIERS * len(intervals)):
        return None
    period = _median(folded)
    spread = _median(abs(x - period) for x in folded)
    if spread > MAX_DISPERSION * period:
        return None
    return round(period, 3)


# ---------------------------------------------------------------------------------------------
# idle traffic


def merge_windows(windows: Iterable[IdleWindow]) -> list[IdleWindow]:
    """Sorted, disjoint windows covering the same time as ``windows``."""
    merged: list[IdleWindow] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        elif end > start:
            merged.append((start, end))
    return merged


def _in_spans(t: float, spans: Sequence[IdleWindow], starts: Sequence[float]) -> bool:
    """``t`` inside one of ``spans`` (sorted, disjoint; ``starts`` are their start times)."""
    i = bisect.bisect_right(starts, t) - 1
    return i >= 0 and t < spans[i][1]


def idle_in_windows(
    pair: PairTraffic, windows: Sequence[IdleWindow], starts: Sequence[tuple[float, int]] | None = None
) -> tuple[int, int]:
    """(flows, bytes sent) of ``pair`` that started inside one of ``windows``.

    ``starts`` are the pair's samples when the caller already has them.
    """
    starts = pair.starts if starts is None else starts
    spans = merge_windows(windows)
    if not spans or (pair.flows <= 0 and not starts):
        return (0, 0)
    opens = [a for a, _ in spans]
    if pair.first_seen <= pair.last_seen and _in_spans(pair.first_seen, spans, opens):
        i = bisect.bisect_right(opens, pair.first_seen) - 1
        if pair.last_seen < spans[i][1]:
            return (max(pair.flows, len(starts)), pair.bytes_out)
    flows = sent = 0
    for t, b in starts:
        if _in_spans(t, spans, opens):
            flows += 1
            sent += b
    return (flows, sent)


def active_spans(times: Iterable[float]) -> list[IdleWindow]:
    """Merged [start, end) spans in which a device counts as active around these flow starts.

    Each start makes active its UTC minute plus the minute before and the minute after.
    """
    spans: list[IdleWindow] = []
    for minute in sorted({math.floor(t / ACTIVE_MINUTE) for t in times}):
        start, end = (minute - 1) * ACTIVE_MINUTE, (minute + 2) * ACTIVE_MINUTE
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def is_infrastructure(ports: Iterable[str]) -> bool:
    """Every remote port of the pair is a name-lookup or clock port."""
    seen = set(ports)
    return bool(seen) and seen <= INFRASTRUCTURE_PORTS


def analyze_activity(
    pairs: Mapping[tuple[DeviceID, str], PairTraffic],
    idle_windows: Sequence[IdleWindow],
) -> dict[tuple[DeviceID, str], ActivityFacts]:
    """Period and idle traffic of every device-destination pair (see the module notes).

    With ``idle_windows`` the user's windows decide what is idle; without, idleness is
    inferred per device from its own non-periodic flows.
    """
    samples = {key: pair.starts for key, pair in pairs.items()}  # sorted copies, made once
    periods = {key: detect_period([t for t, _ in starts]) for key, starts in samples.items()}
    idle: dict[tuple[DeviceID, str], tuple[int, int]] = {}
    if idle_windows:
        windows = merge_windows(idle_windows)
        for key, pair in pairs.items():
            idle[key] = idle_in_windows(pair, windows, samples[key])
    else:
        activity: dict[DeviceID, list[float]] = defaultdict(list)
        for key, pair in pairs.items():
            if periods[key] is None and samples[key] and not is_infrastructure(pair.ports):
                activity[key[0]].extend(t for t, _ in samples[key])
        spans = {device: active_spans(times) for device, times in activity.items()}
        span_starts = {device: [a for a, _ in found] for device, found in spans.items()}
        for key, starts in samples.items():
            if periods[key] is None:
                continue
            device_spans, opens = spans.get(key[0], []), span_starts.get(key[0], [])
            quiet = [(t, b) for t, b in starts if not _in_spans(t, device_spans, opens)]
            idle[key] = (len(quiet), sum(b for _, b in quiet))
    facts: dict[tuple[DeviceID, str], ActivityFacts] = {}
    for key in sorted(pairs):
        flows, sent = idle.get(key, (0, 0))
        facts[key] = ActivityFacts(period_seconds=periods[key], idle_bytes_out=sent, idle_flows=flows)
    return facts
