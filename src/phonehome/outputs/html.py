"""HTML output: one self-contained, offline audit document (inline CSS, no external resources).

The template receives the ``report_to_dict`` data unchanged (as ``r``) plus derived views from
``phonehome.outputs.summary`` (as ``v``), so the page can never disagree with the JSON twin.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jinja2

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
    )
    env.tests["web_url"] = _web_url
    return env


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
        "destinations_by_device": summary.destinations_by_device(data),
        "countries": countries,
        "countries_reached": summary.countries_reached(data),
        "organisations": orgs,
        "totals": summary.total_bytes(data),
        "packets": sum(int(i.get("packets") or 0) for i in data.get("inputs") or []),
        "input_errors": sum(len(i.get("errors") or []) for i in data.get("inputs") or []),
        "settings": sorted((str(k), v) for k, v in (data.get("settings") or {}).items()),
    }


def render_html(report: Report) -> str:
    """The HTML document for ``report``."""
    data = report_to_dict(report)
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
