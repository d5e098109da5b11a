"""HTML output: one self-contained, offline audit document (inline CSS, no external resources).

The template receives the ``report_to_dict`` data unchanged (as ``r``) plus derived views from
``phonehome.outputs.summary`` (as ``v``), so the page can never disagree with the JSON twin.

The world map is drawn from ``templates/worldmap.json``: Natural Earth 1:110m countries (public
domain) in the Equal Earth projection, built by ``outputs/static/build_worldmap.py``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Any

import jinja2

from phonehome.analyze.activity import IdleWindow, active_spans, is_infrastructure
from phonehome.model import Report
from phonehome.outputs import summary
from phonehome.outputs.interface import OutputError
from phonehome.outputs.jsonformat import report_to_dict

_NOT_ID = re.compile(r"[^A-Za-z0-9_-]+")


def _slug(text: str) -> str:
    return _NOT_ID.sub("-", text).strip("-") or "x"


def anchors(prefix: str, keys: list[str]) -> dict[str, str]:
    """Unique HTML ids for keys (``device``, ``mac:aa:bb`` -> ``device-mac-aa-bb``)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for key in sorted(set(keys)):
        base = f"{prefix}-{_slug(key)}"
        anchor, n = base, 2
        while anchor in used:
            anchor, n = f"{base}-{n}", n + 1
        used.add(anchor)
        out[key] = anchor
    return out


def _web_url(value: Any) -> bool:
    """Only http(s) references become links; anything else is shown as plain text."""
    return isinstance(value, str) and value.lower().startswith(("https://", "http://"))


def _join(values: Any, sep: str = ", ") -> str:
    items = [str(v) for v in (values or []) if v not in (None, "")]
    return sep.join(items) if items else "—"


def _dash(value: Any) -> Any:
    return "—" if value in (None, "") else value


def _share(value: int, total: int) -> str:
    """``value`` as a percentage of ``total``, one decimal: ``62.1%``."""
    if total <= 0 or value <= 0:
        return "0.0%"
    return f"{100.0 * value / total:.1f}%"


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("phonehome", "outputs/templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        bytes=summary.human_bytes,
        thousands=summary.thousands,
        percent=summary.percent,
        timestamp=summary.timestamp,
        join_or_dash=_join,
        dash=_dash,
        share=_share,
        period=lambda value: summary.short_period(value) or "—",
    )
    env.tests["web_url"] = _web_url
    return env


# ---------------------------------------------------------------------------------------------
# world map of bytes sent

MAP_CLASSES: tuple[tuple[str, str, float], ...] = (
    ("c0", "contacted, nothing sent", 1),
    ("c1", "under 10 kB", 10_000),
    ("c2", "10 kB – 1 MB", 1_000_000),
    ("c3", "1 – 10 MB", 10_000_000),
    ("c4", "10 – 100 MB", 100_000_000),
    ("c5", "100 MB or more", math.inf),
)
"""(css class, legend label, upper bound of bytes sent) of the map's shades, lightest first."""


@functools.cache
def _worldmap() -> dict[str, Any]:
    text = resources.files("phonehome").joinpath("outputs/templates/worldmap.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _map_class(bytes_out: int) -> str:
    return next(cls for cls, _, bound in MAP_CLASSES if bytes_out < bound)


def world_map(data: Mapping[str, Any], countries: list[dict[str, Any]]) -> dict[str, Any]:
    """Shapes, shades and titles of the world map of bytes sent per destination country."""
    base = _worldmap()
    rows = {str(c["country"]): c for c in countries if c.get("country")}
    watched = {str(c).upper() for c in (data.get("settings") or {}).get("watch_countries") or []}

    def describe(code: str, name: str) -> tuple[str, str]:
        row = rows.get(code)
        if row is None:
            return "blank", f"{name} ({code}): no traffic"
        n = len(row["devices"])
        title = (
            f"{name} ({code}): {summary.human_bytes(row['bytes_out'])} sent, "
            f"{summary.human_bytes(row['bytes_in'])} received, {row['destinations']} destination"
            f"{'' if row['destinations'] == 1 else 's'}, {n} device{'' if n == 1 else 's'}"
        )
        return _map_class(int(row["bytes_out"])), title

    shapes = []
    for country in base["countries"]:
        cls, title = describe(country["code"], country["name"])
        shapes.append({**country, "cls": cls, "title": title, "watched": country["code"] in watched})
    markers = []
    for marker in base["markers"]:
        if marker["code"] in rows:
            cls, title = describe(marker["code"], marker["name"])
            markers.append({**marker, "cls": cls, "title": title, "watched": marker["code"] in watched})
    drawn = {c["code"] for c in base["countries"]} | {m["code"] for m in markers}
    off_map = [c for c in countries if c.get("country") not in drawn]
    return {
        "width": base["width"],
        "height": base["height"],
        "source": base["source"],
        "shapes": shapes,
        "markers": markers,
        "off_map": off_map,
        "legend": [(cls, label) for cls, label, _ in MAP_CLASSES],
        "watched": sorted(watched),
    }


# ---------------------------------------------------------------------------------------------
# per-device timeline of flows

TIMELINE_WIDTH = 1000
TIMELINE_LABEL = 250
TIMELINE_PLOT_END = 935
TIMELINE_ROW = 16
TIMELINE_TOP = 4
TIMELINE_AXIS = 22
TIMELINE_ROWS = 25
"""Destinations drawn per device (most bytes sent first); the rest are counted."""
_TICK_STEPS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)


def time_range(window: IdleWindow) -> str:
    """``2024-05-01 08:00:02 – 11:59:50`` (UTC); the date is repeated only when it changes."""
    start, end = (dt.datetime.fromtimestamp(t, tz=dt.UTC) for t in window)
    tail = end.strftime("%H:%M:%S") if end.date() == start.date() else end.strftime("%Y-%m-%d %H:%M:%S")
    return f"{start.strftime('%Y-%m-%d %H:%M:%S')} – {tail}"


def report_span(data: Mapping[str, Any]) -> tuple[float, float] | None:
    """(first, last) moment of any destination's traffic, or None without destinations."""
    times = []
    for dest in data.get("destinations") or []:
        for key in ("first_seen", "last_seen"):
            t = summary.parse_time(dest.get(key))
            if t is not None:
                times.append(t)
    if not times:
        return None
    first, last = min(times), max(times)
    return (first, last if last > first else first + 1.0)


def _ticks(first: float, last: float, scale: Callable[[float], str]) -> list[dict[str, Any]]:
    span = last - first
    step = next((s for s in _TICK_STEPS if span / s <= 8), _TICK_STEPS[-1])
    ticks = []
    t = math.ceil(first / step) * step
    while t <= last:
        moment = dt.datetime.fromtimestamp(t, tz=dt.UTC)
        label = moment.strftime("%Y-%m-%d") if step >= 86400 else moment.strftime("%H:%M")
        ticks.append({"x": scale(t), "label": label})
        t += step
    return ticks


def _clip_shade(
    window: IdleWindow, first: float, last: float, scale: Callable[[float], str]
) -> tuple[str, str] | None:
    start, end = max(window[0], first), min(window[1], last)
    if end <= start:
        return None
    return scale(start), f"{float(scale(end)) - float(scale(start)):.1f}"


def timeline(
    dests: Sequence[Mapping[str, Any]],
    span: tuple[float, float],
    windows: Sequence[IdleWindow],
) -> dict[str, Any]:
    """Geometry of one device's timeline: a row per destination, a mark per sampled flow start
    (or a first-to-last-seen bar when the report keeps no samples), idle windows shaded."""
    first, last = span
    width = TIMELINE_PLOT_END - TIMELINE_LABEL

    def scale(t: float) -> str:
        return f"{TIMELINE_LABEL + width * (t - first) / (last - first):.1f}"

    shown = list(dests[:TIMELINE_ROWS])
    rows = []
    sampled: list[float] = []
    for i, dest in enumerate(shown):
        label = summary.destination_label(dest)
        times = [t for t in summary.samples(dest) if first <= t <= last]
        period = dest.get("period_seconds")
        row: dict[str, Any] = {
            "y": TIMELINE_TOP + i * TIMELINE_ROW,
            "label": label if len(label) <= 34 else label[:33] + "…",
            "full": f"{label} ({dest.get('ip')})",
            "period": summary.short_period(period if isinstance(period, int | float) else None),
            "marks": [scale(t) for t in times],
            "bar": None,
        }
        if not times:
            start = summary.parse_time(dest.get("first_seen")) or first
            end = summary.parse_time(dest.get("last_seen")) or start
            x0 = float(scale(start))
            row["bar"] = (f"{x0:.1f}", f"{max(2.0, float(scale(end)) - x0):.1f}")
        elif period is None and not is_infrastructure(dest.get("ports") or []):
            sampled.extend(times)
        rows.append(row)
    shades = []
    for window in windows:
        clipped = _clip_shade(window, first, last, scale)
        if clipped:
            title = f"idle window {time_range(window)}"
            shades.append({"x": clipped[0], "w": clipped[1], "kind": "idle", "title": title})
    if not windows and sampled:
        for active in active_spans(sampled):
            clipped = _clip_shade(active, first, last, scale)
            if clipped:
                title = f"active (inferred) {time_range(active)}"
                shades.append({"x": clipped[0], "w": clipped[1], "kind": "active", "title": title})
    plot_height = max(1, len(rows)) * TIMELINE_ROW
    return {
        "width": TIMELINE_WIDTH,
        "height": TIMELINE_TOP + plot_height + TIMELINE_AXIS,
        "plot_x0": TIMELINE_LABEL,
        "plot_x1": TIMELINE_PLOT_END,
        "plot_y1": TIMELINE_TOP + plot_height,
        "rows": rows,
        "shades": shades,
        "ticks": _ticks(first, last, scale),
        "hidden": len(dests) - len(shown),
        "sampled": any(r["marks"] for r in rows),
        "spans": any(r["bar"] for r in rows),
    }


def build_view(data: dict[str, Any]) -> dict[str, Any]:
    """Everything the template shows beyond the plain report data."""
    devices = summary.sorted_devices(data)
    device_ids = [str(d["id"]) for d in devices]
    ids_in_use = device_ids + [str(f.get("device_id")) for f in data.get("findings") or []]
    ids_in_use += [str(d.get("device_id")) for d in data.get("destinations") or []]
    by_id = {str(d["id"]): d for d in devices}
    countries = summary.countries(data)
    orgs = summary.organisations(data)
    counts = summary.severity_counts(data)
    windows = summary.idle_windows(data)
    span = report_span(data)
    by_device = summary.destinations_by_device(data)
    timelines = {}
    if span is not None:
        timelines = {i: timeline(dests, span, windows) for i, dests in by_device.items() if dests}
    return {
        "devices": devices,
        "device_by_id": by_id,
        "labels": {i: summary.device_label(d) for i, d in by_id.items()},
        "descriptions": {i: summary.device_description(d) for i, d in by_id.items()},
        "anchors": anchors("device", ids_in_use),
        "finding_anchors": anchors("finding", [str(f.get("id")) for f in data.get("findings") or []]),
        "severities": summary.SEVERITIES,
        "severity_counts": counts,
        "severity_phrase": summary.severity_phrase(counts),
        "finding_groups": summary.findings_by_severity(data),
        "findings_by_device": summary.findings_by_device(data),
        "restricted": summary.restricted_device_ids(data),
        "destinations_by_device": by_device,
        "beacons": summary.device_beacons(data),
        "timelines": timelines,
        "idle_windows": [time_range(w) for w in windows],
        "span": [time_range(span)] if span else [],
        "world_map": world_map(data, countries),
        "countries": countries,
        "countries_reached": summary.countries_reached(data),
        "organisations": orgs,
        "totals": summary.total_bytes(data),
        "packets": sum(int(i.get("packets") or 0) for i in data.get("inputs") or []),
        "input_errors": sum(len(i.get("errors") or []) for i in data.get("inputs") or []),
        "settings": sorted((str(k), v) for k, v in (data.get("settings") or {}).items()),
    }


def _with_samples(report: Report, data: dict[str, Any]) -> dict[str, Any]:
    """Flow-start samples from the model when the report keeps them and the data lacks them."""
    dests = data.get("destinations") or []
    if all("samples" in d for d in dests):
        return data
    filled = []
    for model, dest in zip(report.destinations, dests, strict=True):
        kept = getattr(model.traffic, "samples", None)
        filled.append(dest if "samples" in dest or not kept else {**dest, "samples": list(kept)})
    return {**data, "destinations": filled}


def render_html(report: Report) -> str:
    """The HTML document for ``report``."""
    data = _with_samples(report, report_to_dict(report))
    try:
        template = _environment().get_template("report.html.j2")
        return template.render(r=data, v=build_view(data))
    except jinja2.TemplateError as exc:  # a packaging or template bug, not bad input
        raise OutputError(f"html: cannot render report template: {exc}") from exc


class HtmlFormat:
    """``--format html``."""

    name = "html"
    suffix = ".html"

    def render(self, report: Report) -> str:
        return render_html(report)
