"""Asset registers: CSV or XLSX inventories that say what each device is and where it sits.

A register names a host by MAC, IP or name and states facts about it (manufacturer, model,
device type, firmware, serial number, location). Columns are found by their header text, from
a table of common synonyms, or from a mapping the user gives (``--columns mac="Hardware ID"``).
"""

from __future__ import annotations

import csv
import hashlib
import ipaddress
import re
import warnings
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import chain, islice
from pathlib import Path

from phonehome.macaddr import normalise_mac
from phonehome.model import InputSummary
from phonehome.sources.interface import (
    HostSighting,
    HostSignal,
    Item,
    Observation,
    ProgressCallback,
    SourceError,
)
from phonehome.sources.textfile import TextInput, head_text, looks_binary, open_text

ROLES = (
    *("mac", "ip", "hostname", "vendor", "brand", "model"),
    *("type", "firmware", "serial", "location", "notes"),
)
"""What a register column can hold; the keys of a ``--columns`` mapping."""
IDENTITY_ROLES = ("mac", "ip", "hostname")
"""A row needs at least one of these to name a host."""

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "mac": (
        "MAC", "MAC Address", "MAC Addr", "Hardware Address", "HW Address", "HWaddr",
        "Physical Address", "Ethernet Address", "Ethernet MAC", "Wired MAC", "LAN MAC",
    ),
    "ip": ("IP", "IP Address", "IP Addr", "IPv4", "IPv4 Address", "IPv6", "IPv6 Address", "Management IP"),
    "hostname": (
        "Hostname", "Host Name", "Host", "Name", "Device Name", "Asset Name", "Computer Name",
        "DNS Name", "FQDN",
    ),
    "vendor": ("Vendor", "Manufacturer", "Make", "Mfr", "Mfg"),
    "brand": ("Brand", "Brand Name"),
    "model": ("Model", "Model Number", "Model No", "Model No.", "Model Name"),
    "type": ("Type", "Device Type", "Asset Type", "Category", "Asset Category", "Device Category"),
    "firmware": (
        "Firmware", "Firmware Version", "Firmware Revision", "FW", "FW Version", "Software Version",
    ),
    "serial": ("Serial", "Serial Number", "Serial No", "Serial No.", "Serial #", "S/N", "SN"),
    "location": ("Location", "Site", "Building", "Room"),
    "notes": ("Notes", "Note", "Comments", "Comment", "Description", "Remarks"),
}  # fmt: skip


def header_key(text: str) -> str:
    """A header cell as compared with the synonyms: lower case, no spaces, ``_``, ``-`` or ``.``."""
    return re.sub(r"[\s_.\-]+", "", text).casefold()


_ROLE_BY_KEY = {header_key(s): role for role, names in _SYNONYMS.items() for s in names}

MAX_ROWS = 1_000_000
"""Rows read after the header at most; no register comes close, a decompression bomb would."""
HEADER_SEARCH_ROWS = 10
"""The header row is looked for among this many first rows (title rows may come first)."""
MAX_PART_BYTES = 128_000_000
"""Largest unpacked size of a workbook part openpyxl loads whole (shared strings, styles)."""

_DELIMITERS = (",", ";", "\t", "|")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0"
_PLACEHOLDERS = frozenset(
    {"", "-", "--", "?", "n/a", "na", "none", "null", "nil", "unknown", "tbc", "tbd", "not known"}
)
_MAX_VALUE_CHARS = 512
_PROGRESS_ROWS = 1 << 16
_LIST_SEPARATORS = re.compile(r"[,;/|\n]+")
_IP_SEPARATORS = re.compile(r"[,;/|\s]+")


def parse_column_mapping(text: str) -> dict[str, str]:
    """Parse ``mac="Hardware ID",vendor=Make`` into ``{"mac": "Hardware ID", "vendor": "Make"}``.

    Pairs are comma-separated; a header may be quoted with ``"`` or ``'`` (needed when it holds a
    comma). Raises ``ValueError`` for an unknown role, a pair without ``=`` or an empty header.
    """
    pairs: list[str] = []
    current: list[str] = []
    quote = ""
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
            current.append(ch)
        elif ch in "\"'":
            quote = ch
            current.append(ch)
        elif ch == ",":
            pairs.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quote:
        raise ValueError(f"unterminated quote in column mapping {text!r}")
    pairs.append("".join(current))
    mapping: dict[str, str] = {}
    for pair in pairs:
        if not pair.strip():
            continue
        role, eq, header = pair.partition("=")
        role = role.strip().lower()
        header = header.strip()
        if not eq:
            raise ValueError(f"expected role=header in column mapping, got {pair.strip()!r}")
        if len(header) >= 2 and header[0] == header[-1] and header[0] in "\"'":
            header = header[1:-1].strip()
        _check_role(role, header)
        if role in mapping:
            raise ValueError(f"column role {role!r} given twice in column mapping")
        mapping[role] = header
    if not mapping:
        raise ValueError('empty column mapping; expected role=header pairs such as mac="Hardware ID"')
    return mapping


def _check_role(role: str, header: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown column role {role!r}; valid roles are: {', '.join(ROLES)}")
    if not header:
        raise ValueError(f"no header text given for column role {role!r}")


def _normalise_mac(text: str) -> str | None:
    """A station MAC in any common notation; all-zero and broadcast placeholders are not MACs."""
    mac = normalise_mac(text)
    return None if mac in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff") else mac


def _parse_mac(text: str) -> str | None:
    """A MAC, or the first of a list of them (``wired / wireless`` cells)."""
    mac = _normalise_mac(text)
    if mac is None and _LIST_SEPARATORS.search(text):
        mac = _normalise_mac(_LIST_SEPARATORS.split(text.strip(), maxsplit=1)[0])
    return mac


def _parse_ip(text: str) -> str | None:
    """An IPv4 or IPv6 address (a ``/prefix`` or IPv6 zone is dropped), or the first of a list."""
    value = text.strip()
    try:
        return str(ipaddress.ip_address(value.partition("%")[0]))
    except ValueError:
        first = _IP_SEPARATORS.split(value, maxsplit=1)[0].partition("%")[0]
    try:
        return str(ipaddress.ip_address(first))
    except ValueError:
        return None


def _cell_text(value: object) -> str:
    """A cell as one trimmed line of text; spreadsheet numbers lose their ``.0``."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = str(value).upper()
    elif isinstance(value, float):
        text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    elif isinstance(value, datetime | date | time):
        text = value.isoformat()
    else:
        text = str(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[:_MAX_VALUE_CHARS]
    return " ".join(text.split())


def _show(cells: Sequence[str]) -> str:
    """Header cells for an error message: non-empty ones, short and on one line."""
    shown = [c if len(c) <= 40 else c[:37] + "..." for c in cells if c]
    if not shown:
        return "(none)"
    text = ", ".join(shown[:30])
    return text + (", ..." if len(shown) > 30 else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True, slots=True)
class _Header:
    """A header row candidate among the first rows: its cells and the column of each role."""

    index: int
    """Position among the rows read (0-based)."""
    cells: list[str]
    columns: dict[str, int]
    missing: list[str]
    """Roles of the user's mapping whose header is not in this row."""

    @property
    def rank(self) -> tuple[int, int, int]:
        identity = sum(1 for role in IDENTITY_ROLES if role in self.columns)
        return (-len(self.missing), min(identity, 1), len(self.columns))


def _resolve(cells: list[str], mapping: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """Which column holds each role: the user's mapping first, then the synonyms."""
    exact = [" ".join(c.split()).casefold() for c in cells]
    columns: dict[str, int] = {}
    missing: list[str] = []
    for role, header in mapping.items():
        want = " ".join(header.split()).casefold()
        if want in exact:
            columns[role] = exact.index(want)
        else:
            missing.append(role)
    claimed = set(columns.values())
    for i, cell in enumerate(cells):
        found = _ROLE_BY_KEY.get(header_key(cell)) if cell else None
        if found and i not in claimed and found not in columns and found not in mapping:
            columns[found] = i
    return columns, missing


def _find_header(rows: list[list[str]], mapping: dict[str, str]) -> _Header | None:
    """The best header candidate among ``rows`` (the earliest on a tie); None when all are blank."""
    best: _Header | None = None
    for i, cells in enumerate(rows):
        if any(cells):
            candidate = _Header(i, cells, *_resolve(cells, mapping))
            if best is None or candidate.rank > best.rank:
                best = candidate
    return best


def _header_problem(header: _Header | None, mapping: dict[str, str]) -> str | None:
    """Why ``header`` cannot be used, as the part of a SourceError after the path."""
    if header is None:
        return "no rows; expected an asset register with a header row"
    if header.missing:
        role = header.missing[0]
        return f"column {mapping[role]!r} (for {role}) not found; headers are: {_show(header.cells)}"
    if not any(role in header.columns for role in IDENTITY_ROLES):
        return (
            f"no MAC, IP or host name column in the first {HEADER_SEARCH_ROWS} rows; "
            f"headers are: {_show(header.cells)}; name the columns with --columns, "
            'e.g. mac="Hardware ID"'
        )
    return None


class _Table(ABC):
    """An open register: the header found, then the data rows after it."""

    kind: str
    unit: str
    """What the numbers from ``rows()`` count: ``line`` (CSV) or ``row`` (XLSX)."""
    header: _Header
    problems: list[str]
    """Reading problems found along the way (encoding, malformed rows, a stop)."""
    malformed: int

    @abstractmethod
    def rows(self) -> Iterator[tuple[int, Sequence[object]]]:
        """``(row or line number, cells)`` for every row after the header."""

    @abstractmethod
    def sha256(self) -> str:
        """Checksum of the whole file."""

    @abstractmethod
    def close(self) -> None:
        """Release the file."""


class _CsvTable(_Table):
    def __init__(self, path: Path, mapping: dict[str, str], progress: ProgressCallback | None) -> None:
        self.path = path
        self.unit = "line"
        self.problems = []
        self.malformed = 0
        self._text: TextInput = open_text(path)
        self._progress = progress
        try:
            self._open(mapping)
        except BaseException:
            self._text.close()
            raise

    def _open(self, mapping: dict[str, str]) -> None:
        self.kind = "asset-csv" + self._text.kind_suffix
        self._lines = self._text.lines(self._progress)
        self._first = list(islice(self._lines, HEADER_SEARCH_ROWS * 2))
        if any("\x00" in line for line in self._first):
            raise SourceError(f"{self.path}: binary data, not a CSV or XLSX asset register")
        best: tuple[tuple[int, int, int], str, _Header | None] | None = None
        for delimiter in _DELIMITERS:
            rows = _parse_rows(self._first, delimiter, HEADER_SEARCH_ROWS)
            header = _find_header(rows, mapping)
            rank = header.rank if header else (-99, 0, 0)
            if best is None or rank > best[0]:
                best = (rank, delimiter, header)
        assert best is not None
        _, self.delimiter, found = best
        problem = _header_problem(found, mapping)
        if problem or found is None:
            raise SourceError(f"{self.path}: {problem}")
        self.header = found

    def rows(self) -> Iterator[tuple[int, Sequence[object]]]:
        lines = (line + "\n" for line in chain(self._first, self._lines))
        reader = csv.reader(lines, delimiter=self.delimiter)
        index = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                if not self.malformed:
                    self.problems.append(f"first malformed row at line {reader.line_num}: {e}")
                self.malformed += 1
                index += 1
                continue
            if index > self.header.index:
                if index - self.header.index > MAX_ROWS:
                    self.problems.append(f"stopped after {MAX_ROWS:,} rows; the rest was not read")
                    break
                yield reader.line_num, cells
            index += 1
        self.problems.extend(self._text.errors)

    def sha256(self) -> str:
        return self._text.sha256()

    def close(self) -> None:
        self._text.close()


def _parse_rows(lines: list[str], delimiter: str, limit: int) -> list[list[str]]:
    """The first ``limit`` records of ``lines``, cells trimmed; a malformed record ends the list."""
    rows: list[list[str]] = []
    reader = csv.reader((line + "\n" for line in lines), delimiter=delimiter)
    try:
        for cells in reader:
            rows.append([_cell_text(c) for c in cells])
            if len(rows) >= limit:
                break
    except csv.Error:
        pass
    return rows


class _XlsxTable(_Table):
    def __init__(
        self, path: Path, mapping: dict[str, str], sheet: str | None, progress: ProgressCallback | None
    ) -> None:
        self.path = path
        self.kind = "asset-xlsx"
        self.unit = "row"
        self.problems = []
        self.malformed = 0
        self._progress = progress
        _check_archive(path)
        import openpyxl  # only now: it takes a while to import

        # A file object, not the path: openpyxl refuses paths without an .xlsx-like extension.
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            try:
                with warnings.catch_warnings(), _unsized_sheets():
                    warnings.simplefilter("ignore")
                    self._book = openpyxl.load_workbook(self._file, read_only=True, data_only=True)
            except Exception as e:  # openpyxl lets anything through, from KeyError to XML parse errors
                raise SourceError(f"{path}: unreadable XLSX workbook ({_one_line(e)})") from e
            try:
                self._open(mapping, sheet)
            except BaseException:
                self._book.close()
                raise
        except BaseException:
            self._file.close()
            raise

    def _open(self, mapping: dict[str, str], sheet: str | None) -> None:
        sheets = [ws for ws in self._book.worksheets if hasattr(ws, "reset_dimensions")]
        if sheet is not None:
            named = [ws for ws in sheets if ws.title == sheet] or [
                ws for ws in sheets if ws.title.casefold() == sheet.strip().casefold()
            ]
            if not named:
                names = [ws.title for ws in sheets]
                raise SourceError(f"{self.path}: no sheet named {sheet!r}; sheets are: {_show(names)}")
            sheets = named[:1]
        if not sheets:
            raise SourceError(f"{self.path}: workbook has no worksheets")
        first_problem = ""
        for ws in sheets:  # the named sheet, else the first one with a usable header
            ws.reset_dimensions()  # a wrong declared size would cut rows short or pad them wide
            self._rows: Iterator[Sequence[object]] = iter(ws.iter_rows(values_only=True))
            self._first = self._next_rows(HEADER_SEARCH_ROWS, ws.title)
            header = _find_header([[_cell_text(v) for v in row] for row in self._first], mapping)
            problem = _header_problem(header, mapping)
            if problem is None and header is not None:
                self.header = header
                self.sheet = ws.title
                return
            first_problem = first_problem or f"{problem} (sheet {ws.title!r})"
            getattr(self._rows, "close", lambda: None)()  # let go of the sheet's zip member
        raise SourceError(f"{self.path}: {first_problem}")

    def _next_rows(self, n: int, title: str) -> list[Sequence[object]]:
        """Up to ``n`` rows; a broken sheet keeps the rows before the break, noted in ``_broken``."""
        rows: list[Sequence[object]] = []
        self._broken = ""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rows.extend(islice(self._rows, n))
        except Exception as e:
            problem = f"unreadable worksheet ({_one_line(e)})"
            self._broken = f"stopped at row {len(rows) + 1}: {problem}"
            if not rows:
                raise SourceError(f"{self.path}: sheet {title!r}: {problem}") from e
        return rows

    def rows(self) -> Iterator[tuple[int, Sequence[object]]]:
        start = self.header.index + 1
        for n in range(start, len(self._first)):
            yield n + 1, self._first[n]
        if self._broken:
            self.problems.append(self._broken)
            return
        number = len(self._first)
        while True:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    row = next(self._rows)
            except StopIteration:
                break
            except Exception as e:
                self.problems.append(f"stopped at row {number + 1}: unreadable worksheet ({_one_line(e)})")
                break
            number += 1
            if number - start > MAX_ROWS:
                self.problems.append(f"stopped after {MAX_ROWS:,} rows; the rest of the sheet was not read")
                break
            if self._progress and number % _PROGRESS_ROWS == 0:
                self._progress("reading", number, 0)
            yield number, row

    def sha256(self) -> str:
        digest = hashlib.sha256()
        with open(self.path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()

    def close(self) -> None:
        self._book.close()
        self._file.close()


@contextmanager
def _unsized_sheets() -> Iterator[None]:
    """Load a read-only workbook without sizing its sheets.

    openpyxl sizes each sheet at load from its ``<dimension>`` record, parsing the whole sheet
    when there is none (openpyxl's own write-only mode writes none): a second full pass, unbounded
    on a decompression bomb. The size is discarded by ``reset_dimensions`` anyway.
    """
    from openpyxl.worksheet import _read_only

    cls = _read_only.ReadOnlyWorksheet
    original = cls.__dict__.get("_get_size")
    if original is None:  # a later openpyxl: nothing to skip
        yield
        return
    cls._get_size = lambda self: None
    try:
        yield
    finally:
        cls._get_size = original


def _size(n: int) -> str:
    return f"{n / 1e6:.0f} MB" if n >= 1_000_000 else f"{n / 1e3:.0f} kB"


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _check_archive(path: Path) -> None:
    """Refuse zips that are not workbooks, and workbooks whose parts would unpack too far."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            if "xl/workbook.xml" not in names:
                if "xl/workbook.bin" in names:
                    raise SourceError(f"{path}: binary .xlsb workbook; save as .xlsx or CSV")
                if "content.xml" in names and "mimetype" in names:
                    raise SourceError(f"{path}: OpenDocument file; save as .xlsx or CSV")
                raise SourceError(f"{path}: a zip file but not an XLSX workbook")
            for info in infos:
                name = info.filename
                if name.startswith("xl/worksheets/"):
                    continue  # streamed row by row, with the row cap
                if name.endswith((".xml", ".rels")) and info.file_size > MAX_PART_BYTES:
                    raise SourceError(
                        f"{path}: workbook part {name} unpacks to {_size(info.file_size)} "
                        f"(limit {_size(MAX_PART_BYTES)}); not a plausible asset register"
                    )
    except SourceError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError) as e:
        raise SourceError(f"{path}: corrupt zip file ({_one_line(e)})") from e
    except OSError as e:
        raise SourceError(f"{path}: cannot read ({e.strerror or _one_line(e)})") from e


def _read_head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(8)
    except IsADirectoryError:
        raise SourceError(f"{path}: is a directory") from None
    except OSError as e:
        raise SourceError(f"{path}: cannot open ({e.strerror or e})") from e


class AssetRegisterSource:
    """Asset registers exported as CSV (comma, semicolon or tab separated) or XLSX workbooks."""

    name = "assets"

    def __init__(self, columns: dict[str, str] | None = None, sheet: str | None = None) -> None:
        """``columns`` maps a role (see ``ROLES``) to its header text; ``sheet`` names the XLSX sheet."""
        mapping: dict[str, str] = {}
        for role, header in (columns or {}).items():
            key = role.strip().lower()
            _check_role(key, header.strip())
            mapping[key] = header.strip()
        self._mapping = mapping
        self._sheet = sheet

    def sniff(self, path: Path, head: bytes) -> float:
        if head.startswith(_ZIP_MAGIC):
            return 0.5  # any zip starts so; read() checks for a workbook
        if head.startswith(_OLE2_MAGIC):
            return 0.2  # legacy .xls or an encrypted workbook: claimed only to explain
        if looks_binary(head):
            return -1.0
        line, newline, _ = head_text(head).partition("\n")
        best = 0
        for delimiter in _DELIMITERS:
            try:
                cells = next(csv.reader([line.rstrip("\r")], delimiter=delimiter), [])
            except csv.Error:
                continue
            if not newline:
                cells = cells[:-1]  # the head may cut the last cell short
            mapped = {header_key(h) for h in self._mapping.values()}
            roles = {_ROLE_BY_KEY.get(header_key(c)) for c in cells} - {None}
            roles |= {f"mapped:{header_key(c)}" for c in cells if header_key(c) in mapped}
            best = max(best, len(roles))
        return -1.0 if best < 2 else min(0.8, 0.4 + 0.1 * best)

    def read(self, path: Path, progress: ProgressCallback | None = None) -> Iterator[Item]:
        head = _read_head(path)
        if head.startswith(_OLE2_MAGIC):
            raise SourceError(f"{path}: legacy .xls or encrypted workbook; save as .xlsx or CSV")
        table: _Table
        if head.startswith(_ZIP_MAGIC):
            table = _XlsxTable(path, self._mapping, self._sheet, progress)
        else:
            table = _CsvTable(path, self._mapping, progress)
        return self._read(path, table)

    def _read(self, path: Path, table: _Table) -> Iterator[Item]:
        source = str(path)
        rows = unnamed = 0
        bad_macs, bad_ips = _Tally(), _Tally()
        columns = table.header.columns
        try:
            for number, cells in table.rows():
                texts = {role: _value(cells, i, role) for role, i in columns.items()}
                if not any(texts.values()) and not any(_cell_text(c) for c in cells):
                    continue  # a blank row
                rows += 1
                items = _row_items(source, f"{table.unit} {number}", texts, bad_macs, bad_ips)
                if items is None:
                    unnamed += 1
                    continue
                yield from items
            sha256 = table.sha256()
        finally:
            table.close()
        errors = list(table.problems)
        if table.malformed:
            errors.append(f"{_plural(table.malformed, 'malformed row')} skipped")
        if unnamed:
            errors.append(f"{_plural(unnamed, 'row')} without MAC, IP or name skipped")
        for tally, what in ((bad_macs, "MAC"), (bad_ips, "IP")):
            if tally.count:
                errors.append(
                    f"{_plural(tally.count, f'invalid {what} value')} ignored (first: {tally.first})"
                )
        yield InputSummary(
            path=source,
            kind=table.kind,
            packets=rows,
            sha256=sha256,
            errors=tuple(errors),
            skipped=unnamed + table.malformed,
        )


class _Tally:
    """How many values were bad, and the first one with where it was."""

    def __init__(self) -> None:
        self.count = 0
        self.first = ""

    def add(self, value: str, where: str) -> None:
        if not self.count:
            self.first = f"{value[:40]!r} at {where}"
        self.count += 1


def _value(cells: Sequence[object], index: int, role: str) -> str | None:
    if index >= len(cells):
        return None
    raw = cells[index]
    if role == "mac" and isinstance(raw, int | float) and not isinstance(raw, bool) and 0 < raw < 1e12:
        if raw == int(raw):
            raw = f"{int(raw):012d}"  # a spreadsheet turned an all-digit MAC into a number
    text = _cell_text(raw)
    return None if text.casefold() in _PLACEHOLDERS else text


def _row_items(
    source: str, where: str, texts: dict[str, str | None], bad_macs: _Tally, bad_ips: _Tally
) -> list[Observation] | None:
    """The sighting and signals of one row; None when it names no host."""
    mac = ip = None
    if raw := texts.get("mac"):
        mac = _parse_mac(raw)
        if mac is None:
            bad_macs.add(raw, where)
    if raw := texts.get("ip"):
        ip = _parse_ip(raw)
        if ip is None:
            bad_ips.add(raw, where)
    hostname = texts.get("hostname")
    if not (mac or ip or hostname):
        return None
    items: list[Observation] = [HostSighting(mac, ip, "asset_register", source, hostname=hostname)]
    host = None if (mac or ip) else hostname  # a row known only by name: signals follow the name
    vendor, brand, model = texts.get("vendor"), texts.get("brand"), texts.get("model")
    if brand and vendor and brand.casefold() != vendor.casefold():
        if not model:
            model = brand
        elif not model.casefold().startswith(brand.casefold()):
            model = f"{brand} {model}"
    elif brand and not vendor:
        vendor = brand
    facts: tuple[tuple[str, str | None], ...] = (
        ("asset_vendor", vendor),
        ("asset_model", model),
        ("asset_type", texts.get("type")),
        ("asset_firmware", texts.get("firmware")),
        ("asset_serial", texts.get("serial")),
        ("asset_location", texts.get("location")),
    )
    items.extend(HostSignal(mac, ip, kind, value, source, host) for kind, value in facts if value)
    return items
