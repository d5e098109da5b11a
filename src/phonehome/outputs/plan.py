"""The removal and replacement plan: one row per affected device, as CSV or XLSX, and back.

A device is *affected* when it has at least one equipment finding (action ``replace``) or only
traffic findings (action ``review traffic``). Each row carries where to find the device, what it
is, which rules require action and by when, a priority, suggested interim containment and the
evidence; then the columns the user edits (owner, site, status, replacement, due date, notes).
``read_plan`` reads those edited columns back, and ``merge_edits`` validates them against the
workspace, so ``phonehome plan --import`` can store them per device.

Priority. Each row gets a score, the product of three factors:

* severity weight of the device's most severe finding: critical 8, high 4, medium 2, low 1,
  info 0.5 (``SEVERITY_WEIGHT``);
* exposure ``1 + 0.5 x`` the number of these that hold: it sent data to its own vendor's
  endpoints (destination organisation is the device's vendor, or the traffic is marked
  ``first`` party); it sent data to a country on the audit's watch list; it is a gateway (every
  other device's traffic passes through it);
* data flows ``1 + log10(1 + bytes_out / 1 MB)``, ``bytes_out`` being what the device sent to
  remote addresses (1 MB = 10^6 bytes).

Ranks: P1 from a score of 8, P2 from 4, P3 from 2, P4 below (``PRIORITY_THRESHOLDS``). A high
severity finding alone is P2; with vendor-cloud and watch-list traffic, or megabytes sent, P1.

Deadline: the earliest ``effective`` date among the device's findings, stated as "in force
since" when it is on or before the audit's date and "takes effect" when after it (the audit's
date keeps the output deterministic).

Files. CSV is UTF-8 with a byte-order mark (Excel otherwise reads UTF-8 as the local code
page), ``\\r\\n`` line ends, cells that would run as formulas prefixed with an apostrophe
(``csvexport.neutralise``; undone on import). XLSX has a styled, frozen header row, filters,
editable columns shaded yellow, a drop-down list on Status, date cells for dates, a hidden
``phonehome key`` column holding the device id (the import trusts it over the visible Device
column, so sorting or retyping rows is harmless), a "Read me" sheet and a hidden ``phonehome``
sheet with the audit id. Both renderers are deterministic (the XLSX zip carries fixed
timestamps and the audit's time as its creation time).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from phonehome.errors import PhonehomeError
from phonehome.model import Destination, Device, Evidence, Finding, Report, Severity
from phonehome.outputs.csvexport import FORMULA_PREFIXES, neutralise, restore
from phonehome.store.workspace import EDIT_FIELDS, PlanEdit

STATUSES = ("open", "replacement ordered", "replaced", "removed", "accepted risk")
"""Values of the Status column; an empty status means ``open``."""
SEVERITY_WEIGHT: Mapping[Severity, float] = {
    Severity.CRITICAL: 8.0,
    Severity.HIGH: 4.0,
    Severity.MEDIUM: 2.0,
    Severity.LOW: 1.0,
    Severity.INFO: 0.5,
}
EXPOSURE_STEP = 0.5
"""Added to the exposure factor for vendor-cloud traffic and again for watch-list traffic."""
MEGABYTE = 1_000_000
PRIORITY_THRESHOLDS: tuple[tuple[str, float], ...] = (("P1", 8.0), ("P2", 4.0), ("P3", 2.0), ("P4", 0.0))
"""``(rank, minimum score)``, checked in order."""
PLAN_FORMAT = "phonehome-plan/1"
"""Written to the hidden ``phonehome`` sheet; an import refuses a newer major version."""
MAX_IMPORT_BYTES = 64 * 1024 * 1024
MAX_IMPORT_ROWS = 200_000
KEY_HEADER = "phonehome key"
SHEET_PLAN = "Plan"
SHEET_META = "phonehome"

_CAMERA_TYPES = frozenset({"camera", "nvr", "doorbell"})
_NETWORK_TYPES = frozenset({"router", "modem", "access-point", "switch"})
_CLIENT_TYPES = frozenset({"phone", "tablet", "pc"})
_SUMMARY_SKIP = frozenset({"policy_entity", "relation"})
_SUMMARY_ITEMS = 6
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Control characters an XLSX cell cannot hold (openpyxl refuses them)."""


class PlanImportError(PhonehomeError):
    """An edited plan that cannot be imported; the message names the file, row and value."""


@dataclass(frozen=True)
class Location:
    """Where to find the device."""

    hostnames: tuple[str, ...]
    ips: tuple[str, ...]
    mac: str | None
    switch_ports: tuple[str, ...]
    """Values of ``switch_port`` evidence (``vlan 10 Gi1/0/7``)."""
    recorded: tuple[str, ...]
    """Values of ``asset_location`` evidence: the site an asset register gives."""


@dataclass(frozen=True)
class Equipment:
    """What the device is."""

    manufacturer: str | None
    brand: str | None
    model: str | None
    firmware: str | None
    device_type: str | None


@dataclass(frozen=True)
class Action:
    """What must be done, why, by when and how urgently."""

    kind: str
    """``replace`` (an equipment finding) or ``review traffic`` (traffic findings only)."""
    policies: tuple[str, ...]
    rules: tuple[str, ...]
    deadline: str | None
    """Earliest ``effective`` date among the findings (ISO), when any policy gives one."""
    deadline_note: str
    score: float
    priority: str
    containment: str
    evidence: str


@dataclass(frozen=True)
class PlanRow:
    """One affected device."""

    device_id: str
    location: Location
    equipment: Equipment
    action: Action
    edit: PlanEdit


@dataclass(frozen=True)
class Plan:
    """Rows sorted by priority, then score (highest first), then device id."""

    audit_id: int | None
    generated_at: str
    rows: tuple[PlanRow, ...]


# --- building ---------------------------------------------------------------------------------


def _watch_countries(report: Report) -> frozenset[str]:
    value = report.settings.get("watch_countries")
    return frozenset(str(c) for c in value) if isinstance(value, list | tuple) else frozenset()


def _vendor_cloud(device: Device, destinations: Sequence[Destination]) -> list[Destination]:
    vendor = device.attribution.vendor
    return [
        d
        for d in destinations
        if d.traffic.bytes_out > 0 and ((vendor and d.organisation == vendor) or d.traffic.party == "first")
    ]


def priority_for(score: float) -> str:
    """The rank for a score (see the module docstring)."""
    for rank, minimum in PRIORITY_THRESHOLDS:
        if score >= minimum:
            return rank
    return PRIORITY_THRESHOLDS[-1][0]


def score_for(
    severity: Severity, vendor_cloud: bool, watch_country: bool, bytes_out: int, gateway: bool = False
) -> float:
    """severity weight x exposure x data flows (see the module docstring)."""
    exposure = 1.0 + EXPOSURE_STEP * (int(vendor_cloud) + int(watch_country) + int(gateway))
    flows = 1.0 + math.log10(1.0 + max(bytes_out, 0) / MEGABYTE)
    return SEVERITY_WEIGHT[severity] * exposure * flows


def _domain(d: Destination) -> str:
    return d.domain or d.name or d.ip


def _containment(
    device: Device, kind: str, cloud: Sequence[Destination], watched: Mapping[str, list[Destination]]
) -> str:
    steps: list[str] = []
    if cloud:
        steps.append("block vendor cloud domains: " + ", ".join(sorted({_domain(d) for d in cloud})))
    for country in sorted(watched):
        hits = watched[country]
        names = sorted({_domain(d) for d in hits} - {_domain(d) for d in cloud})
        if names:
            steps.append(f"block egress to {country}: " + ", ".join(names))
    device_type = device.attribution.device_type
    if kind == "review traffic":
        steps.append("review whether this traffic is needed")
    elif device_type in _CAMERA_TYPES:
        steps.append("isolate on a camera VLAN with no internet egress; view through the local NVR/VMS only")
    elif device_type in _NETWORK_TYPES:
        steps.append(
            "disable remote and cloud management; reach the management interface only from an "
            "admin VLAN; replace first (other traffic passes through it)"
        )
    elif device_type in _CLIENT_TYPES:
        steps.append("move to the guest network with no access to internal systems")
    elif device_type == "radio":
        steps.append("keep off the data network pending replacement")
    elif device_type == "drone":
        steps.append("fly without network connection; keep off the corporate network")
    elif device_type in (None, "unknown"):
        steps.append("isolate on a restricted VLAN with no internet egress")
    else:
        steps.append("isolate on an IoT VLAN with no internet egress")
    if kind == "replace" and "gateway" in device.roles:
        steps.append("it is a gateway: plan a maintenance window")
    return "; ".join(steps)


def _evidence_summary(findings: Sequence[Finding]) -> str:
    seen: set[tuple[str, str]] = set()
    parts: list[str] = []
    for f in findings:
        for e in f.evidence:
            if e.kind in _SUMMARY_SKIP or (e.kind, e.value) in seen:
                continue
            seen.add((e.kind, e.value))
            parts.append(f"{e.kind}: {e.value}")
    more = len(parts) - _SUMMARY_ITEMS
    return "; ".join(parts[:_SUMMARY_ITEMS]) + (f"; (+{more} more)" if more > 0 else "")


def _deadline(findings: Sequence[Finding], audit_date: str) -> tuple[str | None, str]:
    dated = sorted((f.policy.effective, f.rule_id) for f in findings if f.policy.effective)
    if not dated:
        return None, "no date in the policy"
    date, rule = dated[0]
    verb = "in force since" if date <= audit_date else "takes effect"
    return date, f"{verb} {date} ({rule})"


def _location(device: Device, findings: Sequence[Finding]) -> Location:
    items: list[Evidence] = [*device.attribution.evidence, *device.addresses]
    for f in findings:
        items.extend(f.evidence)
    ports = sorted({e.value for e in items if e.kind == "switch_port" and e.value})
    recorded = sorted({e.value for e in items if e.kind == "asset_location" and e.value})
    return Location(device.hostnames, device.ips, device.mac, tuple(ports), tuple(recorded))


def build_plan(
    report: Report, edits: Mapping[str, PlanEdit] | None = None, audit_id: int | None = None
) -> Plan:
    """The plan for ``report``, with the user's stored ``edits`` (by device id) filled in."""
    edits = edits or {}
    names = {e.id: e.name for e in report.entities}
    by_device: dict[str, list[Finding]] = {}
    for f in sorted(report.findings, key=lambda f: (f.category != "equipment", -int(f.severity), f.id)):
        by_device.setdefault(f.device_id, []).append(f)
    destinations: dict[str, list[Destination]] = {}
    for d in report.destinations:
        destinations.setdefault(d.device_id, []).append(d)
    watch = _watch_countries(report)
    audit_date = report.generated_at[:10]
    rows: list[PlanRow] = []
    for device in report.devices:
        findings = by_device.get(device.id)
        if not findings:
            continue
        if any(f.category == "equipment" for f in findings):
            kind = "replace"
        elif any(f.category == "traffic" for f in findings):
            kind = "review traffic"
        else:
            kind = "disable components (phonehome phone --script)"
        dests = destinations.get(device.id, [])
        cloud = _vendor_cloud(device, dests)
        watched: dict[str, list[Destination]] = {}
        for d in dests:
            if d.country in watch and d.traffic.bytes_out > 0:
                watched.setdefault(d.country, []).append(d)
        severity = max(f.severity for f in findings)
        score = score_for(severity, bool(cloud), bool(watched), device.bytes_out, "gateway" in device.roles)
        deadline, note = _deadline(findings, audit_date)
        a = device.attribution
        rows.append(
            PlanRow(
                device_id=device.id,
                location=_location(device, findings),
                equipment=Equipment(
                    manufacturer=names.get(a.vendor, a.vendor) if a.vendor else None,
                    brand=a.brand,
                    model=a.model,
                    firmware=a.firmware,
                    device_type=a.device_type,
                ),
                action=Action(
                    kind=kind,
                    policies=tuple(sorted({f.policy.policy for f in findings})),
                    rules=tuple(sorted({f.rule_id for f in findings})),
                    deadline=deadline,
                    deadline_note=note,
                    score=round(score, 2),
                    priority=priority_for(score),
                    containment=_containment(device, kind, cloud, watched),
                    evidence=_evidence_summary(findings),
                ),
                edit=edits.get(device.id, PlanEdit(device.id)),
            )
        )
    rows.sort(key=lambda r: (r.action.priority, -r.action.score, r.device_id))
    return Plan(audit_id=audit_id, generated_at=report.generated_at, rows=tuple(rows))


# --- columns ----------------------------------------------------------------------------------

CellKind = Literal["text", "number", "date"]


@dataclass(frozen=True)
class Column:
    """One column of the plan as written."""

    header: str
    value: Callable[[PlanRow], str]
    width: int
    kind: CellKind = "text"
    edit_field: str | None = None
    """The ``PlanEdit`` field of an editable column; None for generated columns."""


def _join(items: Iterable[str | None]) -> str:
    return ", ".join(i for i in items if i)


def _editable(header: str, field: str, width: int, kind: CellKind = "text") -> Column:
    if field == "status":
        return Column(header, lambda r: r.edit.status or "open", width, kind, field)
    return Column(header, lambda r: str(getattr(r.edit, field)), width, kind, field)


COLUMNS: tuple[Column, ...] = (
    Column("Priority", lambda r: r.action.priority, 9),
    Column("Score", lambda r: f"{r.action.score:g}", 8, "number"),
    Column("Device", lambda r: r.device_id, 24),
    Column("Action", lambda r: r.action.kind, 14),
    Column("Hostnames", lambda r: _join(r.location.hostnames), 20),
    Column("IPs", lambda r: _join(r.location.ips), 16),
    Column("MAC", lambda r: r.location.mac or "", 18),
    Column("Switch port", lambda r: _join(r.location.switch_ports), 16),
    Column("Recorded location", lambda r: _join(r.location.recorded), 18),
    Column("Manufacturer", lambda r: r.equipment.manufacturer or "", 14),
    Column("Brand", lambda r: r.equipment.brand or "", 12),
    Column("Model", lambda r: r.equipment.model or "", 16),
    Column("Firmware", lambda r: r.equipment.firmware or "", 12),
    Column("Type", lambda r: r.equipment.device_type or "", 10),
    Column("Policies", lambda r: _join(r.action.policies), 22),
    Column("Rules", lambda r: _join(r.action.rules), 22),
    Column("Deadline", lambda r: r.action.deadline or "", 12, "date"),
    Column("Deadline status", lambda r: r.action.deadline_note, 30),
    Column("Containment", lambda r: r.action.containment, 50),
    Column("Evidence", lambda r: r.action.evidence, 50),
    _editable("Owner", "owner", 16),
    _editable("Site", "site", 16),
    _editable("Status", "status", 20),
    _editable("Replacement", "replacement", 24),
    _editable("Due date", "due", 12, "date"),
    _editable("Notes", "notes", 40),
)
"""Every visible column, in order; editable ones last."""
EDITABLE_COLUMNS = tuple(c for c in COLUMNS if c.edit_field)


# --- CSV --------------------------------------------------------------------------------------


def render_csv(plan: Plan, *, bom: bool = True) -> str:
    """The plan as CSV (see the module docstring for the dialect)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in COLUMNS])
    for row in plan.rows:
        writer.writerow([neutralise(c.value(row)) for c in COLUMNS])
    return ("\ufeff" if bom else "") + buffer.getvalue()


# --- XLSX -------------------------------------------------------------------------------------

_HEADER_FILL = "1F3864"
_EDIT_HEADER_FILL = "BF8F00"
_EDIT_FILL = "FFF2CC"
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_README = (
    ("phonehome removal and replacement plan", ""),
    ("", ""),
    ("Editable columns (shaded yellow)", ", ".join(c.header for c in EDITABLE_COLUMNS)),
    ("Status values", ", ".join(STATUSES) + " (empty means open)"),
    ("Due date", "a date cell, or text as YYYY-MM-DD"),
    ("Import your edits", "phonehome plan --import THIS-FILE.xlsx"),
    ("", ""),
    (
        "What the import reads",
        "only the editable columns, matched to devices by the hidden 'phonehome key' column; "
        "edits to other columns are ignored and replaced by the next export",
    ),
    ("Priority", "score = severity weight x exposure x data flows; P1 >= 8, P2 >= 4, P3 >= 2, else P4"),
)


def _xlsx_value(column: Column, text: str) -> object:
    if not text:
        return None
    if column.kind == "number":
        return float(text)
    if column.kind == "date":
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return text
    return _ILLEGAL_XML.sub("\ufffd", text)


def _set(cell: object, value: object) -> None:
    """Write ``value``; text that looks like a formula stays text (and is shown as typed)."""
    cell.value = value  # type: ignore[attr-defined]
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        cell.data_type = "s"  # type: ignore[attr-defined]
        cell.quotePrefix = True  # type: ignore[attr-defined]


def _deterministic_zip(data: bytes, created: dt.datetime) -> bytes:
    """Re-pack the workbook with fixed member times and the audit's time as 'modified'."""
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + stamp + rb"\g<2>",
                    content,
                )
            member = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            target.writestr(member, content)
    return out.getvalue()


def _audit_time(plan: Plan) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(plan.generated_at.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime(2000, 1, 1)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def render_xlsx(plan: Plan) -> bytes:
    """The plan as an XLSX workbook (see the module docstring)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    created = _audit_time(plan)
    book.properties.creator = "phonehome"
    book.properties.title = "Removal and replacement plan"
    book.properties.created = created
    book.properties.modified = created
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET_PLAN
    headers = [*COLUMNS, Column(KEY_HEADER, lambda r: r.device_id, 24)]
    white_bold = Font(bold=True, color="FFFFFF")
    for index, column in enumerate(headers, 1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font = white_bold
        cell.fill = PatternFill("solid", fgColor=_EDIT_HEADER_FILL if column.edit_field else _HEADER_FILL)
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    # Named styles: one lookup per cell instead of hashing a fill, alignment and format each time.
    styles: dict[tuple[bool, bool, bool], str] = {}
    for editable in (False, True):
        for wide in (False, True):
            for date in (False, True):
                name = "phonehome " + ("editable" if editable else "generated") + (" wrap" if wide else "")
                name += " date" if date else ""
                style = NamedStyle(name=name, alignment=Alignment(vertical="top", wrap_text=wide))
                if editable:
                    style.fill = PatternFill("solid", fgColor=_EDIT_FILL)
                if date:
                    style.number_format = "yyyy-mm-dd"
                book.add_named_style(style)
                styles[(editable, wide, date)] = name
    column_styles = [styles[(bool(c.edit_field), c.width >= 40, c.kind == "date")] for c in headers]
    for r, row in enumerate(plan.rows, 2):
        for index, column in enumerate(headers, 1):
            cell = sheet.cell(row=r, column=index)
            cell.style = column_styles[index - 1]
            _set(cell, _xlsx_value(column, column.value(row)))
    last_row = max(len(plan.rows) + 1, 2)
    last_column = get_column_letter(len(headers))
    sheet.column_dimensions[last_column].hidden = True
    sheet.freeze_panes = "D2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{last_row}"
    status_letter = get_column_letter(next(i for i, c in enumerate(COLUMNS, 1) if c.edit_field == "status"))
    validation = DataValidation(
        type="list",
        formula1='"' + ",".join(STATUSES) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Status",
        error="Choose one of: " + ", ".join(STATUSES),
    )
    validation.add(f"{status_letter}2:{status_letter}{last_row}")
    sheet.add_data_validation(validation)

    readme = book.create_sheet("Read me")
    for line in _README:
        readme.append(list(line))
    readme["A1"].font = Font(bold=True, size=13)
    readme.column_dimensions["A"].width = 34
    readme.column_dimensions["B"].width = 100

    meta = book.create_sheet(SHEET_META)
    meta.append(["format", PLAN_FORMAT])
    meta.append(["audit_id", plan.audit_id])
    meta.append(["generated_at", plan.generated_at])
    meta.sheet_state = "hidden"

    buffer = io.BytesIO()
    book.save(buffer)
    return _deterministic_zip(buffer.getvalue(), created)


# --- terminal ---------------------------------------------------------------------------------


def render_text(plan: Plan, width: int = 140) -> str:
    """A compact table of the plan for the terminal."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"removal plan: {len(plan.rows)} devices", title_justify="left", box=box.SIMPLE_HEAD)
    for header in ("priority", "device", "what", "rules", "deadline", "status", "owner", "due"):
        table.add_column(header)
    for row in plan.rows:
        what = " ".join(
            x for x in (row.equipment.manufacturer, row.equipment.model, row.equipment.device_type) if x
        )
        table.add_row(
            *(
                Text(x)
                for x in (
                    row.action.priority,
                    _join([*row.location.hostnames[:1], row.device_id]),
                    what or "-",
                    _join(row.action.rules),
                    row.action.deadline_note,
                    row.edit.status or "open",
                    row.edit.owner or "-",
                    row.edit.due or "-",
                )
            )
        )
    buffer = io.StringIO()
    Console(file=buffer, width=width, highlight=False, color_system=None).print(table)
    return buffer.getvalue()


# --- import -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedRow:
    """The editable cells of one row of an edited plan."""

    row: int
    """Row number as a spreadsheet shows it (the header is row 1 when it is the first row)."""
    device_id: str
    values: Mapping[str, str]
    """``PlanEdit`` field -> text, for each editable column the file has."""


@dataclass(frozen=True)
class MergeResult:
    """What an import would change in the workspace."""

    changed: tuple[PlanEdit, ...]
    """Edits to store (an empty one clears a device's stored edit)."""
    unchanged: int
    skipped: int
    warnings: tuple[str, ...]


def _header_key(text: object) -> str:
    return " ".join(str(text or "").split()).casefold()


_FIELD_BY_HEADER = {_header_key(c.header): c.edit_field for c in EDITABLE_COLUMNS if c.edit_field}
_FIELD_BY_HEADER["due"] = "due"
_DEVICE_HEADER = _header_key("Device")


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return _ILLEGAL_XML.sub("", str(value))


def normalise_status(text: str) -> str | None:
    """The canonical status for ``text`` (case, ``-`` and ``_`` ignored), or None if unknown."""
    key = " ".join(text.replace("_", " ").replace("-", " ").split()).casefold()
    if not key:
        return ""
    return key if key in STATUSES else None


def _due(path: Path, row: int, value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = _cell_text(value).strip()
    if not text:
        return ""
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        raise PlanImportError(
            f"{path}: row {row}: due date {text!r} is not a date (use YYYY-MM-DD)"
        ) from None


def _rows_from_table(
    path: Path, table: Iterable[tuple[int, Sequence[object]]], from_csv: bool
) -> list[ImportedRow]:
    header: dict[str, int] | None = None
    key_column: int | None = None
    out: list[ImportedRow] = []
    first_row: dict[str, int] = {}
    for number, cells in table:
        if number > MAX_IMPORT_ROWS:
            raise PlanImportError(f"{path}: more than {MAX_IMPORT_ROWS} rows; not a phonehome plan")
        if header is None:
            keys = [_header_key(c) for c in cells]
            if _DEVICE_HEADER in keys or _header_key(KEY_HEADER) in keys:
                header = {k: i for i, k in reversed(list(enumerate(keys))) if k}
                key_column = header.get(_header_key(KEY_HEADER), header.get(_DEVICE_HEADER))
                if not any(k in _FIELD_BY_HEADER for k in header):
                    raise PlanImportError(
                        f"{path}: row {number}: no editable column "
                        f"({', '.join(c.header for c in EDITABLE_COLUMNS)}); nothing to import"
                    )
            elif number >= 10:
                break
            continue
        assert key_column is not None

        def cell(index: int, cells: Sequence[object] = cells) -> object:
            value = cells[index] if index < len(cells) else None
            return restore(value) if from_csv and isinstance(value, str) else value

        device_id = _cell_text(cell(key_column)).strip()
        fields = {f: i for k, i in header.items() if (f := _FIELD_BY_HEADER.get(k))}
        raw = {f: cell(i) for f, i in fields.items()}
        if not device_id:
            if any(_cell_text(v).strip() for v in raw.values()):
                raise PlanImportError(f"{path}: row {number}: edits but no device id")
            continue
        if device_id in first_row:
            raise PlanImportError(
                f"{path}: row {number}: device {device_id} already given in row {first_row[device_id]}"
            )
        first_row[device_id] = number
        values: dict[str, str] = {}
        for field, value in raw.items():
            if field == "status":
                status = normalise_status(_cell_text(value))
                if status is None:
                    raise PlanImportError(
                        f"{path}: row {number}: unknown status {_cell_text(value)!r} "
                        f"(expected one of: {', '.join(STATUSES)})"
                    )
                values[field] = status
            elif field == "due":
                values[field] = _due(path, number, value)
            else:
                values[field] = _cell_text(value)
        out.append(ImportedRow(number, device_id, values))
    if header is None:
        raise PlanImportError(f"{path}: no header row with a 'Device' column; not a phonehome plan")
    return out


def _csv_table(path: Path, data: bytes) -> Iterable[tuple[int, Sequence[object]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel's plain "CSV" on Windows
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from enumerate(reader, 1)
    except csv.Error as e:
        raise PlanImportError(f"{path}: row {reader.line_num}: unreadable CSV ({e})") from e


def _xlsx_table(path: Path) -> Iterable[tuple[int, Sequence[object]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a damaged file
        raise PlanImportError(f"{path}: not a readable XLSX workbook ({type(e).__name__}: {e})") from e
    try:
        if SHEET_META in book.sheetnames:
            for key, value, *_ in book[SHEET_META].iter_rows(max_col=2, values_only=True):
                if (
                    key == "format"
                    and isinstance(value, str)
                    and value.split("/")[0] == PLAN_FORMAT.split("/")[0]
                ):
                    if value != PLAN_FORMAT:
                        raise PlanImportError(
                            f"{path}: plan format {value}; this phonehome reads {PLAN_FORMAT}"
                        )
        sheet = book[SHEET_PLAN] if SHEET_PLAN in book.sheetnames else book.worksheets[0]
        yield from enumerate(sheet.iter_rows(values_only=True), 1)
    finally:
        book.close()


def read_plan(path: Path) -> list[ImportedRow]:
    """The editable cells of an edited plan (XLSX or CSV, told apart by content), validated."""
    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise PlanImportError(f"{path}: {size} bytes; larger than any plan ({MAX_IMPORT_BYTES} bytes)")
        data = path.read_bytes()
    except IsADirectoryError:
        raise PlanImportError(f"{path}: is a directory") from None
    except OSError as e:
        raise PlanImportError(f"{path}: cannot read ({e.strerror or e})") from e
    if data.startswith(b"PK\x03\x04"):
        return _rows_from_table(path, _xlsx_table(path), from_csv=False)
    if b"\x00" in data[:4096]:
        raise PlanImportError(f"{path}: neither an XLSX workbook nor CSV text")
    return _rows_from_table(path, _csv_table(path, data), from_csv=True)


def merge_edits(
    path: Path, rows: Iterable[ImportedRow], stored: Mapping[str, PlanEdit], known: set[str]
) -> MergeResult:
    """Imported rows applied over the stored edits; rows for unknown devices become warnings."""
    changed: list[PlanEdit] = []
    unchanged = skipped = 0
    warnings: list[str] = []
    for row in rows:
        if row.device_id not in known:
            warnings.append(f"{path}: row {row.row}: device {row.device_id} is not in the workspace; skipped")
            skipped += 1
            continue
        before = stored.get(row.device_id, PlanEdit(row.device_id))
        after = dataclasses.replace(before, **{f: v for f, v in row.values.items() if f in EDIT_FIELDS})
        if after.status == "open":
            after = dataclasses.replace(after, status="")
        if (after.is_empty() and before.is_empty()) or after == before:
            unchanged += 1
            continue
        changed.append(after)
    return MergeResult(tuple(changed), unchanged, skipped, tuple(warnings))
