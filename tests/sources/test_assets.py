"""Asset registers: CSV exports in the fixtures, XLSX workbooks written here with openpyxl."""

from __future__ import annotations

import gzip
import re
import shutil
import zipfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from phonehome.model import InputSummary
from phonehome.sources import assets
from phonehome.sources.assets import AssetRegisterSource, parse_column_mapping
from phonehome.sources.interface import HostSighting, HostSignal, Item, SourceError
from phonehome.sources.registry import read_head

FIXTURES = Path(__file__).parent.parent / "fixtures" / "assets"


def fixture(name: str) -> Path:
    path = FIXTURES / name
    assert path.is_file(), path
    return path


def read_all(path: Path, source: AssetRegisterSource | None = None) -> list[Item]:
    items = list((source or AssetRegisterSource()).read(path))
    assert isinstance(items[-1], InputSummary)
    assert not any(isinstance(i, InputSummary) for i in items[:-1])
    return items


def sightings(items: Iterable[Item]) -> list[HostSighting]:
    return [i for i in items if isinstance(i, HostSighting)]


def signals(items: Iterable[Item], mac: str | None = None, ip: str | None = None) -> dict[str, str]:
    """Signals of one host as ``{kind: value}``."""
    found: dict[str, str] = {}
    for i in items:
        if isinstance(i, HostSignal) and (mac is None or i.mac == mac) and (ip is None or i.ip == ip):
            assert i.kind not in found, f"two {i.kind} signals for {mac or ip}"
            found[i.kind] = i.value
    return found


def summary(items: list[Item]) -> InputSummary:
    last = items[-1]
    assert isinstance(last, InputSummary)
    return last


def sniff(path: Path) -> float:
    return AssetRegisterSource().sniff(path, read_head(path))


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def add_shared_strings(path: Path, xml: bytes) -> None:
    """Give a workbook a shared strings table (openpyxl itself writes strings inline)."""
    with zipfile.ZipFile(path) as z:
        types = z.read("[Content_Types].xml")
    override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_TYPE}"/>'.encode()
    replace_member(path, "[Content_Types].xml", types.replace(b"</Types>", override + b"</Types>"))
    replace_member(path, "xl/sharedStrings.xml", xml)


def replace_member(path: Path, name: str, data: bytes) -> None:
    """Rewrite one part of a zip, keeping the others (deflated, as Excel stores them)."""
    with zipfile.ZipFile(path) as old:
        parts = {info.filename: old.read(info) for info in old.infolist()}
    parts[name] = data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for member, content in parts.items():
            new.writestr(member, content)


REGISTER_HEADER = [
    "Asset ID",
    "Asset Name",
    "Asset Type",
    "Manufacturer",
    "Model",
    "MAC Address",
    "IP Address",
]


# --- CSV --------------------------------------------------------------------------------------------


def test_council_register_export() -> None:
    path = fixture("council_register.csv")
    items = read_all(path)
    seen = sightings(items)
    assert [(s.mac, s.ip) for s in seen] == [
        ("44:19:b6:3a:91:0c", "10.40.12.21"),  # Windows notation
        ("44:19:b6:3a:91:0d", "10.40.12.22"),  # Cisco dotted
        ("3c:ef:8c:1f:2a:3b", "10.40.12.20"),  # bare hex
        ("80:5e:c0:12:34:56", "10.40.20.31"),
        (None, "10.40.20.44"),  # MAC "N/A" is a placeholder, not an error
        ("00:e0:fc:12:34:56", "10.40.30.5"),  # Huawei xxxx-xxxx-xxxx
        (None, "10.40.30.1"),  # five-octet MAC: invalid
        ("00:1e:42:aa:bb:cc", None),  # IP 10.40.50.300: invalid
    ]
    assert all(s.kind == "asset_register" and s.source == str(path) and s.hostname is None for s in seen)
    assert signals(items, mac="44:19:b6:3a:91:0c") == {
        "asset_vendor": "Hikvision",
        "asset_model": "DS-2CD2143G2-IU",
        "asset_serial": "G12345678",
        "asset_location": "Depot, Mill Lane",  # a quoted field with a comma
    }
    assert signals(items, ip="10.40.30.1")["asset_vendor"] == "Huawei"
    done = summary(items)
    assert done.kind == "asset-csv"
    assert done.packets == 10  # the two blank rows are not rows
    assert done.skipped == 2  # the router in store and the disposed printer name no host
    assert done.errors == (
        "2 rows without MAC, IP or name skipped",
        "1 invalid MAC value ignored (first: '00:E0:FC:12:34' at line 10)",
        "1 invalid IP value ignored (first: '10.40.50.300' at line 13)",
    )
    assert len(done.sha256) == 64


def test_semicolon_csv_with_bom_and_brands() -> None:
    path = fixture("semicolon_bom.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    items = read_all(path)
    seen = sightings(items)
    assert [s.hostname for s in seen] == [
        "cam-entree-01", "cam-entree-02", "nvr-accueil", "imprimante-2", "poste-dg", "borne-wifi",
    ]  # fmt: skip
    assert seen[4] == HostSighting(None, None, "asset_register", str(path), hostname="poste-dg")
    # A brand next to a manufacturer joins the model; a brand alone is the vendor.
    assert signals(items, mac="bc:ad:28:01:02:03") == {
        "asset_vendor": "Hikvision",
        "asset_model": "EZVIZ C6N",
        "asset_type": "Caméra IP",
        "asset_firmware": "V5.3.0 build 210312",
        "asset_location": "Bâtiment A",
    }
    assert signals(items, mac="bc:ad:28:01:02:04")["asset_vendor"] == "Lorex"
    assert signals(items, mac="bc:ad:28:01:02:04")["asset_model"] == "LNB4321B"
    assert signals(items, ip="192.168.10.20")["asset_model"] == "NVR4104HS-P-4KS2"  # brand == vendor
    assert signals(items, ip="fe80::1")["asset_vendor"] == "Huawei"
    # A host known only by name gets its sighting; its facts need an address to attach to.
    # A row known only by name: its facts carry the name so the inventory can attach them.
    nameless = [i for i in items if isinstance(i, HostSignal) and i.mac is None and i.ip is None]
    assert nameless and {i.host for i in nameless} == {"poste-dg"}
    assert ("asset_vendor", "Dell") in {(i.kind, i.value) for i in nameless}
    done = summary(items)
    assert (done.kind, done.packets, done.skipped, done.errors) == ("asset-csv", 6, 0, ())


def test_latin1_tab_separated() -> None:
    items = read_all(fixture("latin1_tabs.tsv"))
    seen = sightings(items)
    assert [(s.hostname, s.mac) for s in seen] == [
        ("kamera-lager", "00:12:12:0a:0b:0c"),  # macOS unpadded notation
        ("drucker-büro", "00:80:77:ab:cd:ef"),
        ("telefon-empfang", None),
    ]
    assert signals(items, ip="172.16.4.11") == {
        "asset_vendor": "Hikvision",
        "asset_model": "DS-2CD1023G0E-I",
        "asset_firmware": "V5.7.3",
        "asset_serial": "DS-2CD1023G0E-I20230101AAWRJ12345678",
        "asset_location": "Lager Süd",
    }
    done = summary(items)
    assert done.packets == 3
    assert done.errors == ("not valid UTF-8 from about line 1; read as Latin-1",)


@pytest.mark.parametrize(
    ("mac", "ip", "expected"),
    [
        ("AA BB CC DD EE FF", "192.168.1.9/24", ("aa:bb:cc:dd:ee:ff", "192.168.1.9")),
        ("00:11:22:33:44:55 / 00:11:22:33:44:56", "10.0.0.1, 10.0.0.2", ("00:11:22:33:44:55", "10.0.0.1")),
        ("0:1:2:3:4:5", "10.0.0.5 (DHCP reservation)", ("00:01:02:03:04:05", "10.0.0.5")),
        ("00-00-00-00-00-00", "2001:DB8::1/64", (None, "2001:db8::1")),
        ("ff:ff:ff:ff:ff:ff", "fe80::1%eth0", (None, "fe80::1")),
        ("00:11:22:33:44:5g", "010.000.000.001", (None, None)),
    ],
)
def test_address_notations(
    tmp_path: Path, mac: str, ip: str, expected: tuple[str | None, str | None]
) -> None:
    path = tmp_path / "register.csv"
    path.write_text(f'Name,MAC,IP\nhost,"{mac}","{ip}"\n')
    (seen,) = sightings(read_all(path))
    assert (seen.mac, seen.ip) == expected


def test_rows_with_only_other_columns_are_skipped_not_ignored(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text("Asset Tag,MAC,IP\nT-1,,\n,,\nT-2,00:11:22:33:44:55,\n")
    done = summary(read_all(path))
    assert (done.packets, done.skipped) == (2, 1)


def test_gzip_compressed_csv(tmp_path: Path) -> None:
    path = tmp_path / "register.csv.gz"
    path.write_bytes(gzip.compress(fixture("council_register.csv").read_bytes()))
    items = read_all(path)
    assert summary(items).kind == "asset-csv+gzip"
    assert len(sightings(items)) == 8


def test_title_rows_and_quoted_multiline_cells(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text(
        "Network asset register\n"
        "Exported 2024-05-02,,,\n"
        "\n"
        "Hostname,IP Address,Notes,Model\n"
        'sw-core-1,10.0.0.2,"Core switch\nrack B, U12",S6730-H24X6C\n'
        "sw-edge-1,10.0.0.3,,S5735\n",
        encoding="utf-8",
    )
    items = read_all(path)
    assert [(s.hostname, s.ip) for s in sightings(items)] == [
        ("sw-core-1", "10.0.0.2"),
        ("sw-edge-1", "10.0.0.3"),
    ]
    assert signals(items, ip="10.0.0.2") == {"asset_model": "S6730-H24X6C"}
    assert summary(items).packets == 2


def test_header_only_register_is_empty_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("MAC Address,IP Address,Hostname\n")
    items = read_all(path)
    assert len(items) == 1 and summary(items).packets == 0 and summary(items).errors == ()


def test_malformed_rows_are_counted_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    runaway = ("x" * 60_000 + "\n") * 3
    path.write_text(
        "MAC,IP,Notes\n"
        "00:11:22:33:44:01,10.0.0.1,fine\n"
        f'00:11:22:33:44:02,10.0.0.2,"never closed\n{runaway}'
        "00:11:22:33:44:03,10.0.0.3,after\n",
        encoding="utf-8",
    )
    items = read_all(path)
    assert [s.ip for s in sightings(items)] == ["10.0.0.1", "10.0.0.3"]
    done = summary(items)
    assert done.skipped == 1
    assert done.errors[0].startswith("first malformed row at line ")
    assert "1 malformed row skipped" in done.errors


def test_row_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assets, "MAX_ROWS", 50)
    path = tmp_path / "register.csv"
    path.write_text("MAC,IP\n" + "".join(f"00:11:22:33:{i // 256:02x}:{i % 256:02x},\n" for i in range(200)))
    items = read_all(path)
    assert len(sightings(items)) == 50
    assert summary(items).errors == ("stopped after 50 rows; the rest was not read",)


# --- column mapping ---------------------------------------------------------------------------------


def test_user_mapping() -> None:
    path = fixture("user_mapping.csv")
    with pytest.raises(SourceError, match="no MAC, IP or host name column"):
        AssetRegisterSource().read(path)
    mapping = parse_column_mapping('mac="Hardware ID",type=kit, location = "where"')
    items = read_all(path, AssetRegisterSource(columns=mapping))
    assert [s.mac for s in sightings(items)] == ["a4:14:37:11:22:33", "a4:14:37:11:22:34"]
    assert signals(items, mac="a4:14:37:11:22:34") == {
        "asset_vendor": "Hytera",  # "Make" is still found by its synonym
        "asset_type": "DMR repeater",
        "asset_location": "Mast 3",
    }
    assert summary(items).errors == (
        "1 row without MAC, IP or name skipped",
        "1 invalid MAC value ignored (first: 'not recorded' at line 4)",
    )


def test_user_mapping_overrides_a_synonym(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text("Name,Asset Tag,IP Address\nReception camera,CAM-0042,10.1.1.9\n")
    items = read_all(path, AssetRegisterSource(columns={"hostname": "asset tag"}))
    assert sightings(items)[0].hostname == "CAM-0042"


def test_mapping_to_a_missing_header(tmp_path: Path) -> None:
    path = fixture("council_register.csv")
    source = AssetRegisterSource(columns={"mac": "Hardware ID"})
    with pytest.raises(SourceError) as info:
        source.read(path)
    assert str(info.value) == (
        f"{path}: column 'Hardware ID' (for mac) not found; headers are: Asset Tag, Description, "
        "Manufacturer, Model, Serial Number, MAC Address, IP Address, Location"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mac=MAC", {"mac": "MAC"}),
        ('mac="Hardware ID",vendor=Make', {"mac": "Hardware ID", "vendor": "Make"}),
        ("MAC = 'Hardware ID' , ip=Addr,", {"mac": "Hardware ID", "ip": "Addr"}),
        ('location="Site, building"', {"location": "Site, building"}),
        ("serial=S/N,firmware=FW=ver", {"serial": "S/N", "firmware": "FW=ver"}),
    ],
)
def test_parse_column_mapping(text: str, expected: dict[str, str]) -> None:
    assert parse_column_mapping(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "manufacturer=Make",
            "unknown column role 'manufacturer'; valid roles are: mac, ip, hostname, vendor",
        ),
        ("mac", "expected role=header in column mapping, got 'mac'"),
        ("mac=", "no header text given for column role 'mac'"),
        ('mac=""', "no header text given for column role 'mac'"),
        ("mac=A,mac=B", "column role 'mac' given twice"),
        ('mac="Hardware ID', "unterminated quote"),
        (" , ", "empty column mapping"),
    ],
)
def test_bad_column_mappings(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        parse_column_mapping(text)


def test_constructor_checks_roles() -> None:
    with pytest.raises(ValueError, match="valid roles are: mac, ip, hostname, vendor, brand, model, type"):
        AssetRegisterSource(columns={"mac_address": "MAC"})


# --- sniffing ---------------------------------------------------------------------------------------


def test_sniff_csv_registers() -> None:
    for name in ("council_register.csv", "semicolon_bom.csv", "latin1_tabs.tsv"):
        assert sniff(fixture(name)) >= 0.6, name
    assert sniff(fixture("no_known_columns.csv")) < 0
    assert sniff(fixture("user_mapping.csv")) < 0  # only "Make" is known: read it with --columns


def test_sniff_counts_only_whole_cells() -> None:
    source = AssetRegisterSource()
    # 64 bytes of a longer header: "IP Addr" is cut short and must not count.
    head = b"Asset Number,Asset Description,Purchase Order,MAC Address,IP Addr"[:64]
    assert source.sniff(Path("x"), head) < 0
    assert source.sniff(Path("x"), b"Asset Number,MAC Address,IP Address,Notes\r\n1,") == pytest.approx(0.7)


def test_sniff_binary_heads(tmp_path: Path) -> None:
    source = AssetRegisterSource()
    assert source.sniff(Path("x"), b"PK\x03\x04\x14\x00\x06\x00") == 0.5
    assert source.sniff(Path("x"), b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 24) == 0.2
    assert source.sniff(Path("x"), b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + b"\x00" * 16) < 0
    book = write_xlsx(tmp_path / "r.xlsx", {"Assets": [REGISTER_HEADER]})
    assert sniff(book) == 0.5


# --- XLSX -------------------------------------------------------------------------------------------


def test_xlsx_with_title_rows(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "register.xlsx",
        {
            "Register": [
                ["Borough Council ICT asset register"],
                ["Printed", date(2024, 5, 2)],
                [],
                REGISTER_HEADER + ["Serial Number", "Firmware"],
                ["A-100", "cctv-gate-1", "IP camera", "Hikvision", "DS-2CD2387G2-LU", "C0-56-E3-01-02-03",
                 "10.9.0.11", 20230101, 5.7],
                ["A-101", "nvr-1", "NVR", "Dahua", "NVR5216-16P-I", 1122334455, "10.9.0.10",
                 "6J0123PAZ", None],
                [None, None, None, None, None, None, None, None, None],
                ["A-103", "ap-1", "Access point", "Huawei", "AP4050DN", 1.12233445566e11, None, None, None],
                ["A-102", "old-cam", "IP camera", "Hikvision", "DS-2CD2042WD-I", "missing", None, None, None],
            ]
        },
    )  # fmt: skip
    items = read_all(path)
    assert [(s.mac, s.ip, s.hostname) for s in sightings(items)] == [
        ("c0:56:e3:01:02:03", "10.9.0.11", "cctv-gate-1"),
        ("00:11:22:33:44:55", "10.9.0.10", "nvr-1"),  # all-digit MAC stored as a number
        ("11:22:33:44:55:66", None, "ap-1"),  # ... or as a float
        (None, None, "old-cam"),
    ]
    assert signals(items, ip="10.9.0.11") == {
        "asset_vendor": "Hikvision",
        "asset_model": "DS-2CD2387G2-LU",
        "asset_type": "IP camera",
        "asset_serial": "20230101",
        "asset_firmware": "5.7",
    }
    done = summary(items)
    assert (done.kind, done.packets, done.skipped) == ("asset-xlsx", 4, 0)
    assert done.errors == ("1 invalid MAC value ignored (first: 'missing' at row 9)",)


def test_xlsx_sheet_choice(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "register.xlsx",
        {
            "Cover": [["Asset register"], ["Owner", "ICT"]],
            "Cameras": [["Name", "IP"], ["cam-1", "10.0.0.1"]],
            "Phones": [["Name", "IP"], ["phone-1", "10.0.1.1"]],
        },
    )
    assert [s.hostname for s in sightings(read_all(path))] == ["cam-1"]  # first sheet with a header
    named = AssetRegisterSource(sheet="phones")
    assert [s.hostname for s in sightings(read_all(path, named))] == ["phone-1"]
    with pytest.raises(SourceError, match=r": no sheet named 'Radios'; sheets are: Cover, Cameras, Phones$"):
        AssetRegisterSource(sheet="Radios").read(path)
    with pytest.raises(SourceError, match=r"no MAC, IP or host name column .*\(sheet 'Cover'\)$"):
        AssetRegisterSource(sheet="Cover").read(path)


def test_xlsx_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "assets-export.dat", {"S": [["Name", "IP"], ["cam-1", "10.0.0.1"]]})
    assert sniff(path) == 0.5
    assert [s.hostname for s in sightings(read_all(path))] == ["cam-1"]


def test_xlsx_user_mapping(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", {"S": [["Kit ID", "Hardware ID"], ["K1", "a4:14:37:00:00:01"]]})
    with pytest.raises(
        SourceError, match=r"r\.xlsx: column 'HW' \(for mac\) not found; headers are: Kit ID, Hardware ID"
    ):
        AssetRegisterSource(columns={"mac": "HW"}).read(path)
    items = read_all(path, AssetRegisterSource(columns=parse_column_mapping('mac="hardware id"')))
    assert sightings(items)[0].mac == "a4:14:37:00:00:01"


def test_xlsx_wrong_declared_dimension(tmp_path: Path) -> None:
    """A sheet claiming to span A1:XFD1048576 is read as the rows it really holds."""
    path = write_xlsx(tmp_path / "r.xlsx", {"S": [["Name", "IP"], ["a", "10.0.0.1"], ["b", "10.0.0.2"]]})
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    # openpyxl writes the element with or without a space before "/>" (stdlib or lxml writer).
    assert re.search(rb'<dimension ref="A1:B3"\s*/>', sheet)
    replace_member(path, "xl/worksheets/sheet1.xml", sheet.replace(b"A1:B3", b"A1:XFD1048576"))
    items = read_all(path)
    assert summary(items).packets == 2 and summary(items).errors == ()


def _inline_row(n: int, cells: Iterable[str]) -> str:
    inner = "".join(
        f'<c r="{col}{n}" t="inlineStr"><is><t>{text}</t></is></c>'
        for col, text in zip("ABC", cells, strict=False)
    )
    return f'<row r="{n}">{inner}</row>'


def _sheet_xml(rows: Iterable[str], dimension: str | None = "A1:C2") -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    body = "".join(rows)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{MAIN_NS}">'
        f"{dim}<sheetData>{body}</sheetData></worksheet>"
    ).encode()


def _bomb_rows(n: int) -> Iterable[str]:
    yield _inline_row(1, ["MAC", "IP", "Name"])
    cells = "".join(
        f'<c t="inlineStr"><is><t>{t}</t></is></c>' for t in ("00:11:22:33:44:55", "10.0.0.1", "cam")
    )
    row = f"<row>{cells}</row>"  # row and cell references are optional
    for _ in range(n):
        yield row


def test_xlsx_huge_sheet_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small file whose sheet unpacks to ~30 MB of rows: read in a stream, stopped at the cap."""
    monkeypatch.setattr(assets, "MAX_ROWS", 1000)
    path = write_xlsx(tmp_path / "bomb.xlsx", {"S": [["MAC"]]})
    replace_member(path, "xl/worksheets/sheet1.xml", _sheet_xml(_bomb_rows(300_000)))
    with zipfile.ZipFile(path) as z:
        assert z.getinfo("xl/worksheets/sheet1.xml").file_size > 30_000_000
    assert path.stat().st_size < 400_000
    items = read_all(path)
    assert len(sightings(items)) == 1000
    assert summary(items).errors == ("stopped after 1,000 rows; the rest of the sheet was not read",)


def test_xlsx_sheet_without_dimension_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """openpyxl would parse an unsized sheet whole at load to size it; we skip that pass.

    The sheet below breaks after its first rows: a sizing pass would fail at load.
    """
    monkeypatch.setattr(assets, "MAX_ROWS", 1000)
    path = write_xlsx(tmp_path / "bomb.xlsx", {"S": [["MAC"]]})
    sheet = _sheet_xml(_bomb_rows(300_000), dimension=None)
    replace_member(path, "xl/worksheets/sheet1.xml", sheet[: len(sheet) // 2] + b"<<<")
    items = read_all(path)
    assert len(sightings(items)) == 1000
    assert summary(items).errors == ("stopped after 1,000 rows; the rest of the sheet was not read",)


def test_xlsx_oversized_shared_strings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assets, "MAX_PART_BYTES", 20_000)  # above the theme's 10 kB
    path = write_xlsx(tmp_path / "r.xlsx", {"S": [["Name", "IP"], ["a", "10.0.0.1"]]})
    strings = "".join(f"<si><t>{i:0100d}</t></si>" for i in range(300))
    add_shared_strings(path, f'<sst xmlns="{MAIN_NS}" count="300" uniqueCount="300">{strings}</sst>'.encode())
    with pytest.raises(SourceError) as info:
        AssetRegisterSource().read(path)
    with zipfile.ZipFile(path) as z:
        size = z.getinfo("xl/sharedStrings.xml").file_size
    assert str(info.value) == (
        f"{path}: workbook part xl/sharedStrings.xml unpacks to {size / 1000:.0f} kB (limit 20 kB); "
        "not a plausible asset register"
    )


def test_xlsx_entity_expansion_is_refused(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", {"S": [["Name", "IP"], ["a", "10.0.0.1"]]})
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si><t>&lol2;</t></si></sst>'
    )
    add_shared_strings(path, laughs.encode())
    with pytest.raises(SourceError, match=r"r\.xlsx: unreadable XLSX workbook \(") as info:
        AssetRegisterSource().read(path)
    assert "\n" not in str(info.value)


def test_xlsx_corrupt_sheet_keeps_rows_read(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", {"S": [["Name"]]})
    good = [_inline_row(i, [f"h{i}", "10.0.0.1"]) for i in range(2, 1002)]
    rows = [_inline_row(1, ["Name", "IP"]), *good, '<row r="1002"><c <<</row>', *good]
    replace_member(path, "xl/worksheets/sheet1.xml", _sheet_xml(rows))
    items = read_all(path)
    names = [s.hostname for s in sightings(items)]
    # The XML parser works in 16 kB chunks: rows just before the break may be lost with it.
    assert 0 < len(names) <= 1000 and names == [f"h{i}" for i in range(2, len(names) + 2)]
    (error,) = summary(items).errors
    assert error.startswith(f"stopped at row {len(names) + 2}: unreadable worksheet (not well-formed")


def test_xlsx_broken_within_the_header_rows(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", {"S": [["Name"]]})
    replace_member(path, "xl/worksheets/sheet1.xml", _sheet_xml([_inline_row(1, ["Name", "IP"])])[:-30])
    with pytest.raises(SourceError, match=r"r\.xlsx: sheet 'S': unreadable worksheet \(no element found"):
        AssetRegisterSource().read(path)


# --- unreadable inputs ------------------------------------------------------------------------------


def test_legacy_xls_or_encrypted(tmp_path: Path) -> None:
    path = tmp_path / "register.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    with pytest.raises(SourceError) as info:
        AssetRegisterSource().read(path)
    assert str(info.value) == f"{path}: legacy .xls or encrypted workbook; save as .xlsx or CSV"


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(SourceError) as info:
        AssetRegisterSource().read(path)
    assert str(info.value) == f"{path}: a zip file but not an XLSX workbook"


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("xl/workbook.bin", "binary .xlsb workbook; save as .xlsx or CSV"),
        ("content.xml", "OpenDocument file; save as .xlsx or CSV"),
    ],
)
def test_other_spreadsheet_zips(tmp_path: Path, member: str, message: str) -> None:
    path = tmp_path / "register.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr(member, "<x/>")
    with pytest.raises(SourceError) as info:
        AssetRegisterSource().read(path)
    assert str(info.value) == f"{path}: {message}"


@pytest.mark.parametrize("cut", [30, 2000, -30])
def test_corrupt_zip(tmp_path: Path, cut: int) -> None:
    good = write_xlsx(
        tmp_path / "good.xlsx", {"S": [REGISTER_HEADER, ["1", "a", "b", "c", "d", "", "10.0.0.1"]]}
    )
    path = tmp_path / "bad.xlsx"
    data = good.read_bytes()
    path.write_bytes(data[:cut] if cut > 0 else data[:cut] + b"\x00" * 30)
    with pytest.raises(SourceError, match=rf"^{path}: ") as info:
        AssetRegisterSource().read(path)
    assert "\n" not in str(info.value)


def test_unreadable_csv_inputs(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(
        SourceError, match=r"empty\.csv: no rows; expected an asset register with a header row"
    ):
        AssetRegisterSource().read(empty)
    with pytest.raises(
        SourceError, match=r"no_known_columns\.csv: no MAC, IP or host name column in the first 10"
    ):
        AssetRegisterSource().read(fixture("no_known_columns.csv"))
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"MAC,IP\n\x00\x01\x02\x03")
    with pytest.raises(SourceError, match=r"blob\.csv: binary data"):
        AssetRegisterSource().read(binary)
    with pytest.raises(SourceError, match=r": is a directory"):
        AssetRegisterSource().read(tmp_path)
    with pytest.raises(SourceError, match=r"missing\.csv: cannot open"):
        AssetRegisterSource().read(tmp_path / "missing.csv")


def test_progress_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    shutil.copy(fixture("council_register.csv"), path)
    calls: list[tuple[str, int, int]] = []
    list(AssetRegisterSource().read(path, lambda phase, done, total: calls.append((phase, done, total))))
    size = path.stat().st_size
    assert calls[-1] == ("reading", size, size)
