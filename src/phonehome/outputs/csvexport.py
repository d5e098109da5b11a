"""Plain CSV exports of a report's devices and findings, safe to open in a spreadsheet.

Both tables are sorted (devices by id; findings by severity, highest first, then rule, device
and id), so exports of the same audit are byte-identical and diff cleanly. Lists inside a cell
are joined with ``"; "``. Text is UTF-8 with ``\\r\\n`` line ends (RFC 4180); ``bom=True`` adds the
byte-order mark that makes Excel read UTF-8 correctly.

Report data comes from the network (DHCP host names, HTTP headers, ...), so a cell could start
with ``=``, ``+``, ``-`` or ``@`` and run as a formula in a spreadsheet (CSV injection).
``neutralise`` prefixes such cells with an apostrophe; ``restore`` undoes it exactly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from phonehome.model import Evidence, Finding, Report

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection)."""

_ESCAPED_AFTER_QUOTE = (*FORMULA_PREFIXES, "'")

DEVICE_COLUMNS = (
    "id",
    "mac",
    "ips",
    "hostnames",
    "vendor",
    "vendor_id",
    "brand",
    "model",
    "firmware",
    "type",
    "confidence",
    "oui_vendor",
    "roles",
    "bytes_out",
    "bytes_in",
    "sources",
)
FINDING_COLUMNS = (
    "id",
    "rule",
    "policy",
    "severity",
    "category",
    "device",
    "title",
    "effective",
    "evidence",
    "references",
)
LIST_SEPARATOR = "; "


def neutralise(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would read it as a formula.

    Text that already starts with an apostrophe followed by a formula character or another
    apostrophe gets one too, so ``restore`` can always tell an added apostrophe from the user's.
    """
    if text.startswith(FORMULA_PREFIXES) or (
        len(text) > 1 and text[0] == "'" and text[1] in _ESCAPED_AFTER_QUOTE
    ):
        return "'" + text
    return text


def restore(text: str) -> str:
    """The inverse of ``neutralise``."""
    if len(text) > 1 and text[0] == "'" and text[1] in _ESCAPED_AFTER_QUOTE:
        return text[1:]
    return text


def write_rows(header: Sequence[str], rows: Iterable[Sequence[str]], *, bom: bool = False) -> str:
    """A CSV document with every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return ("\ufeff" if bom else "") + buffer.getvalue()


def _join(items: Iterable[str]) -> str:
    return LIST_SEPARATOR.join(items)


def evidence_summary(items: Iterable[Evidence]) -> str:
    """``kind: value (detail)`` per distinct fact, in the order given."""
    seen: set[tuple[str, str]] = set()
    parts: list[str] = []
    for e in items:
        if (e.kind, e.value) in seen:
            continue
        seen.add((e.kind, e.value))
        parts.append(f"{e.kind}: {e.value}" + (f" ({e.detail})" if e.detail else ""))
    return _join(parts)


def devices_csv(report: Report, *, bom: bool = False) -> str:
    """One row per device, sorted by device id."""
    names = {e.id: e.name for e in report.entities}
    rows = []
    for d in sorted(report.devices, key=lambda d: d.id):
        a = d.attribution
        rows.append(
            (
                d.id,
                d.mac or "",
                _join(d.ips),
                _join(d.hostnames),
                names.get(a.vendor, a.vendor) if a.vendor else "",
                a.vendor or "",
                a.brand or "",
                a.model or "",
                a.firmware or "",
                a.device_type or "",
                f"{a.confidence:.2f}",
                d.oui_vendor or "",
                _join(d.roles),
                str(d.bytes_out),
                str(d.bytes_in),
                _join(d.sources),
            )
        )
    return write_rows(DEVICE_COLUMNS, rows, bom=bom)


def finding_order(f: Finding) -> tuple[int, str, str, str]:
    """Sort key: severity (highest first), rule, device, id."""
    return (-int(f.severity), f.rule_id, f.device_id, f.id)


def findings_csv(report: Report, *, bom: bool = False) -> str:
    """One row per finding, highest severity first."""
    rows = [
        (
            f.id,
            f.rule_id,
            f.policy.policy,
            f.severity.label,
            f.category,
            f.device_id,
            f.title,
            f.policy.effective or "",
            evidence_summary(f.evidence),
            _join(f.policy.references),
        )
        for f in sorted(report.findings, key=finding_order)
    ]
    return write_rows(FINDING_COLUMNS, rows, bom=bom)
