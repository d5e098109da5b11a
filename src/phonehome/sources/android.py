"""Android handsets read through adb: package lists, package dumps, system properties, bug reports.

Formats read, recognised by content (``InputSummary.kind`` in brackets, ``+gzip`` when compressed):

* ``adb shell pm list packages`` [``adb-pm-list``] with any of ``-f -U -i --show-versioncode
  -d -e -s -3 -u``: one ``package:`` line per package. AOSP's ``PackageManagerShellCommand``
  prints ``package:``, with ``-f`` the APK path and ``=``, the name, then `` versionCode:N``,
  ``  installer=NAME`` and `` uid:N``; the trailing fields are read in any order. The path can
  itself hold ``=`` (``/data/app/~~Ab1==/com.x-Cd2==/base.apk``), so the name is what follows
  the last ``=`` of the first field. The list does not say whether a package is enabled (``-d``
  and ``-e`` only filter), so the state is ``unknown``; a package whose APK lies on a read-only
  partition (``/system``, ``/product``, ``/vendor``, ...) is a system package.
* ``adb shell dumpsys package`` [``adb-dumpsys-package``], whole or for some packages: the
  ``Packages:`` section's ``  Package [name] (hash):`` blocks with ``codePath=``,
  ``versionName=``, ``versionCode=``, ``flags=[ SYSTEM ... ]`` (``pkgFlags=`` on old releases),
  ``userId=`` or ``appId=``, ``installerPackageName=``, the ``User 0: ... installed=true ...
  enabled=N`` line (N is the enabled-setting constant: 0 default, 1 enabled, 2 disabled, 3
  disabled by the user, 4 disabled until used; ``installed=false`` after ``pm uninstall --user
  0``) and the granted ``install permissions:`` and user 0 ``runtime permissions:``. The factory
  copies under ``Hidden system packages:`` are left out.
* ``adb shell getprop`` [``adb-getprop``]: ``[name]: [value]`` lines; a value holding a newline
  continues on the following lines up to the one ending in ``]``.
* ``adb bugreport`` [``android-bugreport``; ``android-bugreport-txt`` for the text itself]: the
  ``bugreport-*.txt`` inside the zip (named by ``main_entry.txt`` when present) is streamed, never
  extracted. From it: the ``------ SYSTEM PROPERTIES (getprop) ------`` section, up to its
  ``duration of 'SYSTEM PROPERTIES'`` line (dumpstate runs sections in parallel, so other
  sections' header and timing lines can fall inside it; only property lines are taken), and the
  ``Packages:`` section of ``DUMP OF SERVICE package:``. A zip whose entry declares more than
  ``MAX_ENTRY_BYTES``, a compression ratio over ``MAX_RATIO``, encryption, or more than
  ``MAX_ENTRIES`` entries is refused before anything is decompressed.

Each input gives one ``HostSighting(kind="android")`` without MAC or IP, named
``android:<serial or model>`` (the file name when the input names neither), then ``android_prop``
signals for the identity, ROM and region properties (``REPORTED_PROPS``) and one
``android_package`` signal per package, ``name|system|state|code path``, all carrying
``host=`` that name. Lines that fit no record of the detected format are counted in ``skipped``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import posixpath
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from phonehome.model import InputSummary
from phonehome.sources.interface import (
    HostSighting,
    HostSignal,
    Item,
    ProgressCallback,
    SourceError,
)
from phonehome.sources.textfile import MAX_LINE_CHARS, head_text, looks_binary, open_text

PM_LIST, DUMPSYS, GETPROP = "adb-pm-list", "adb-dumpsys-package", "adb-getprop"
BUGREPORT, BUGREPORT_TXT = "android-bugreport", "android-bugreport-txt"

MAX_ENTRY_BYTES = 2 << 30
"""Largest bug report text read from a zip (real ones are tens to a few hundred MB)."""
MAX_RATIO = 200
"""Largest declared compression ratio; dumpstate text compresses about 10 to 30 times."""
MAX_ENTRIES = 100_000
MAX_PACKAGES = 200_000
MAX_PROPS = 100_000
_MAX_CONTINUATION = 64
"""Lines a multi-line property value may take before it is counted as garbage."""
_DETECT_LINES = 200
_CHUNK = 1 << 20
_ZIP_MAGIC = b"PK\x03\x04"

STATES = ("enabled", "disabled", "disabled-user", "disabled-until-used", "uninstalled", "unknown")
_ENABLED_SETTING = {
    "0": "enabled", "1": "enabled", "2": "disabled", "3": "disabled-user", "4": "disabled-until-used",
}  # fmt: skip
"""PackageManager.COMPONENT_ENABLED_STATE_*: 0 is the manifest default, which for an app is enabled."""
SYSTEM_PARTITIONS = (
    "/system/", "/system_ext/", "/product/", "/vendor/", "/odm/", "/oem/", "/apex/",
    "/my_", "/preload/", "/hw_product/", "/cust/", "/version/",
)  # fmt: skip
"""Code paths on read-only partitions (OPPO's ``/my_*``, Huawei's ``/hw_product``, ``/cust``)."""

REPORTED_PROPS = (
    "ro.boot.wifimacaddr", "persist.vendor.wlan.mac",  # factory Wi-Fi MAC: ties the handset to its traffic
    "ro.product.manufacturer", "ro.product.brand", "ro.product.model", "ro.product.marketname",
    "ro.product.device", "ro.product.name", "ro.build.fingerprint", "ro.build.display.id",
    "ro.build.version.release", "ro.build.version.sdk", "ro.build.version.incremental",
    "ro.miui.ui.version.name", "ro.miui.ui.version.code", "ro.mi.os.version.name",
    "ro.mi.os.version.incremental", "ro.miui.build.region", "ro.miui.region", "ro.vendor.miui.region",
    "ro.build.version.emui", "hw_sc.build.platform.version", "ro.huawei.build.display.id",
    "msc.config.magic.version", "ro.build.version.magic", "ro.build.version.oplusrom",
    "ro.build.version.opporom", "ro.build.version.realmeui", "ro.oxygen.version", "ro.rom.version",
    "ro.vivo.os.build.display.id", "ro.vivo.os.version", "ro.build.version.oneui",
    "ro.oppo.regionmark", "ro.vendor.oplus.regionmark", "persist.sys.oplus.region",
    "persist.sys.oppo.region", "ro.hw.country", "gsm.vivo.countrycode", "ro.csc.countryiso_code",
    "ro.product.locale", "persist.sys.country", "ro.product.locale.region",
)  # fmt: skip
"""Properties emitted as ``android_prop`` signals: identity, ROM and region (analyze/handset.py)."""

_PACKAGE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*$")
_PROP = re.compile(r"^\[([^\[\]\s]+)\]: \[(.*)\]$")
_PROP_OPEN = re.compile(r"^\[([^\[\]\s]+)\]: \[(.*)$")
_PKG_HEAD = re.compile(r"^  Package \[([^\]\s]+)\] \(([0-9a-fA-F]+)\):\s*$")
_USER_LINE = re.compile(r"^\s+User (\d+):(.*)$")
_PERMISSION = re.compile(r"^\s+([A-Za-z0-9_.]+): granted=(true|false)\b")
_FLAGS = re.compile(r"^\s+(flags|pkgFlags)=\[(.*)\]\s*$")
_FIELD = re.compile(r"^\s{4}(codePath|versionName|versionCode|userId|appId|installerPackageName)=(.*)$")
_DUMPSYS_TITLES = (
    "Activity Resolver Table:", "Receiver Resolver Table:", "Service Resolver Table:",
    "Provider Resolver Table:", "Domain verification status:", "Permissions:",
    "Registered ContentProviders:", "ContentProvider Authorities:", "Key Set Manager:",
    "Packages:", "Hidden system packages:", "Database versions:", "Verifiers:", "Libraries:",
    "Features:", "Shared users:", "Preferred Activities User", "Intent Filter Verifier:",
    "Queries:", "Package Changes:", "Dexopt state:", "Compiler stats:", "DUMP OF SERVICE package:",
)  # fmt: skip
_DUMPSTATE_RULE = "=" * 56
_PROPS_START = "------ SYSTEM PROPERTIES"
_PROPS_END = "was the duration of 'SYSTEM PROPERTIES'"
_BUGREPORT_ENTRY_NAMES = (
    "bugreport-", "dumpstate", "main_entry.txt", "version.txt", "FS/", "proto/", "lshal-debug/",
    "anrs/", "tombstones/", "visible_windows", "modem", "dumpsys_",
)  # fmt: skip
"""First entry names of dumpstate zips (entries are added as dumpstate produces them)."""


@dataclass(slots=True)
class PackageRecord:
    """One package as the input describes it."""

    name: str
    code_path: str | None = None
    system: bool | None = None
    """True for system packages, False for user-installed ones, None when the input does not say."""
    state: str = "unknown"
    """For user 0: one of ``STATES``."""
    version_name: str | None = None
    version_code: str | None = None
    uid: int | None = None
    installer: str | None = None
    flags: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    """Granted install permissions and user 0 runtime permissions, sorted."""

    def merged(self, other: PackageRecord) -> PackageRecord:
        """This record completed by ``other``; a known state beats ``unknown``."""
        return replace(
            self,
            code_path=self.code_path or other.code_path,
            system=self.system if self.system is not None else other.system,
            state=self.state if self.state != "unknown" else other.state,
            version_name=self.version_name or other.version_name,
            version_code=self.version_code or other.version_code,
            uid=self.uid if self.uid is not None else other.uid,
            installer=self.installer or other.installer,
            flags=self.flags or other.flags,
            permissions=self.permissions or other.permissions,
        )


@dataclass
class AndroidDump:
    """Everything one input says about one handset."""

    path: str
    kind: str
    props: dict[str, str] = field(default_factory=dict)
    packages: dict[str, PackageRecord] = field(default_factory=dict)
    records: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    sha256: str = ""

    @property
    def host(self) -> str:
        """The handset's name in the inventory: ``android:<serial or model>``."""
        return handset_name(self.props) or f"android:{Path(self.path).name}"

    def summary(self) -> InputSummary:
        return InputSummary(
            path=self.path,
            kind=self.kind,
            packets=self.records,
            sha256=self.sha256,
            errors=tuple(self.errors),
            skipped=self.skipped,
        )


def handset_name(props: dict[str, str]) -> str | None:
    """``android:<serial>`` or ``android:<model>`` from the properties, None when neither is given."""
    for key in ("ro.serialno", "ro.boot.serialno", "ro.product.model"):
        value = props.get(key, "").strip()
        if value:
            return f"android:{value}"
    return None


def system_partition(code_path: str | None) -> bool | None:
    """True when the APK lies on a read-only partition, None when the path does not tell."""
    if not code_path:
        return None
    return True if code_path.startswith(SYSTEM_PARTITIONS) else None


# --- per-format parsers ----------------------------------------------------------------------


class _Parser:
    """One format, fed line by line into ``dump``."""

    def __init__(self, dump: AndroidDump) -> None:
        self.dump = dump

    def line(self, line: str) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        return None

    def add_package(self, record: PackageRecord) -> None:
        packages = self.dump.packages
        old = packages.get(record.name)
        if old is None and len(packages) >= MAX_PACKAGES:
            self.dump.skipped += 1
            return
        packages[record.name] = record.merged(old) if old else record
        self.dump.records += 1

    def add_prop(self, key: str, value: str) -> None:
        props = self.dump.props
        if key not in props and len(props) >= MAX_PROPS:
            self.dump.skipped += 1
            return
        props[key] = value
        self.dump.records += 1


class _PmListParser(_Parser):
    def line(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        record = parse_pm_list_line(text)
        if record is None:
            self.dump.skipped += 1
        else:
            self.add_package(record)


def parse_pm_list_line(text: str) -> PackageRecord | None:
    """One ``pm list packages`` line, or None when it is not one."""
    if not text.startswith("package:"):
        return None
    fields = text[len("package:") :].split()
    if not fields:
        return None
    first, *rest = fields
    path, equals, name = first.rpartition("=")
    if not equals:
        path = ""
    if not _PACKAGE_NAME.match(name) or (equals and not path.startswith("/")):
        return None
    record = PackageRecord(name=name, code_path=path or None, system=system_partition(path))
    for token in rest:
        colon = token.startswith(("uid:", "versionCode:"))
        key, sep, value = token.partition(":" if colon else "=")
        if not sep:
            return None
        if key == "uid":
            first_uid = value.split(",")[0]
            if not first_uid.isdigit():
                return None
            record.uid = int(first_uid)
        elif key == "versionCode":
            record.version_code = value
        elif key == "installer":
            record.installer = None if value == "null" else value
        else:
            return None
    return record


class _GetpropParser(_Parser):
    def __init__(self, dump: AndroidDump) -> None:
        super().__init__(dump)
        self._open: tuple[str, list[str]] | None = None

    def line(self, line: str) -> None:
        if self._open is not None:
            key, parts = self._open
            if line.endswith("]"):
                parts.append(line[:-1])
                self._open = None
                self.add_prop(key, "\n".join(parts))
            elif len(parts) >= _MAX_CONTINUATION:
                self._open = None
                self.dump.skipped += 1
                self.line(line)
            else:
                parts.append(line)
            return
        if not line.strip():
            return
        match = _PROP.match(line)
        if match:
            self.add_prop(match.group(1), match.group(2))
            return
        opened = _PROP_OPEN.match(line)
        if opened:
            self._open = (opened.group(1), [opened.group(2)])
        else:
            self.dump.skipped += 1

    @property
    def in_value(self) -> bool:
        """True while a multi-line value is open."""
        return self._open is not None

    def finish(self) -> None:
        if self._open is not None:
            self.dump.skipped += 1
            self.dump.errors.append(f"property [{self._open[0]}] has no closing ']'")
            self._open = None


@dataclass(slots=True)
class _Block:
    record: PackageRecord
    enabled: str | None = None
    installed: bool | None = None
    user: int | None = None
    """User block the current lines belong to (``User N:``), None at package level."""
    granted: set[str] = field(default_factory=set)


class _DumpsysParser(_Parser):
    """The ``Packages:`` section; ``only_in_service`` keeps to ``DUMP OF SERVICE package:``."""

    def __init__(self, dump: AndroidDump, only_in_service: bool = False) -> None:
        super().__init__(dump)
        self.only_in_service = only_in_service
        self.in_service = not only_in_service
        self.in_packages = False
        self.block: _Block | None = None

    def line(self, line: str) -> None:
        if self.only_in_service:
            if line.startswith("DUMP OF SERVICE "):
                self._end_section()
                self.in_service = line.strip() == "DUMP OF SERVICE package:"
                return
            if "was the duration of dumpsys package" in line:
                self._end_section()
                self.in_service = False
                return
            if not self.in_service:
                return
        if not self.in_packages:
            if line.rstrip() == "Packages:":
                self.in_packages = True
            return
        if not line.strip():
            return
        if not line.startswith(" "):
            self._end_section()
            if line.rstrip() == "Packages:":
                self.in_packages = True
            return
        if line.startswith("  Package ["):
            self._close_block()
            head = _PKG_HEAD.match(line)
            if head and _PACKAGE_NAME.match(head.group(1)):
                self.block = _Block(PackageRecord(name=head.group(1)))
            else:
                self.dump.skipped += 1
            return
        if self.block is not None:
            self._field(self.block, line)

    def _field(self, block: _Block, line: str) -> None:
        record = block.record
        user = _USER_LINE.match(line)
        if user:
            block.user = int(user.group(1))
            if block.user == 0:
                values = dict(t.partition("=")[::2] for t in user.group(2).split() if "=" in t)
                if "installed" not in values and "enabled" not in values:
                    self.dump.skipped += 1
                block.installed = {"true": True, "false": False}.get(values.get("installed", ""))
                block.enabled = values.get("enabled")
            return
        permission = _PERMISSION.match(line)
        if permission:
            if permission.group(2) == "true" and block.user in (None, 0):
                block.granted.add(permission.group(1))
            return
        if line.startswith("    ") and not line.startswith("     "):
            block.user = None  # a package-level line ends the user block
        flags = _FLAGS.match(line)
        if flags:
            tokens = tuple(flags.group(2).split())
            if flags.group(1) == "flags" or not record.flags:
                record.flags = tokens
            return
        found = _FIELD.match(line)
        if not found:
            return
        key, value = found.group(1), found.group(2).strip()
        if key != "versionName":
            value = value.split(" ", 1)[0]  # "versionCode=33 minSdk=30 targetSdk=33"
        if key == "codePath":
            record.code_path = value
        elif key == "versionName":
            record.version_name = value
        elif key == "versionCode":
            record.version_code = value
        elif key in ("userId", "appId") and value.isdigit():
            record.uid = int(value)
        elif key == "installerPackageName":
            record.installer = None if value == "null" else value

    def _close_block(self) -> None:
        block, self.block = self.block, None
        if block is None:
            return
        record = block.record
        record.system = "SYSTEM" in record.flags if record.flags else system_partition(record.code_path)
        if block.installed is False:
            record.state = "uninstalled"
        elif block.enabled is not None:
            record.state = _ENABLED_SETTING.get(block.enabled, "unknown")
        record.permissions = tuple(sorted(block.granted))
        self.add_package(record)

    def _end_section(self) -> None:
        self._close_block()
        self.in_packages = False

    def finish(self) -> None:
        self._end_section()


class _BugreportParser(_Parser):
    """A dumpstate text: its SYSTEM PROPERTIES and ``dumpsys package`` sections."""

    def __init__(self, dump: AndroidDump) -> None:
        super().__init__(dump)
        self.props = _GetpropParser(dump)
        self.packages = _DumpsysParser(dump, only_in_service=True)
        self.in_props = False

    def line(self, line: str) -> None:
        if line.startswith(_PROPS_START):
            self.in_props = True
            return
        if self.in_props:
            if _PROPS_END in line or line.startswith("DUMP OF SERVICE ") or line.startswith("------ DUMPSYS"):
                self.in_props = False
                self.props.finish()
            elif line.startswith("[") or self.props.in_value:
                before = self.dump.skipped
                self.props.line(line)
                self.dump.skipped = before  # interleaved output of other sections is not garbage
                return
            else:
                return
        self.packages.line(line)

    def finish(self) -> None:
        self.props.finish()
        self.packages.finish()


_PARSERS = {PM_LIST: _PmListParser, GETPROP: _GetpropParser, DUMPSYS: _DumpsysParser}


# --- detection -------------------------------------------------------------------------------


def detect_line(line: str) -> str | None:
    """The text format one line proves, if any."""
    text = line.rstrip()
    if not text.strip():
        return None
    if text.startswith("== dumpstate:") or text.startswith(_PROPS_START):
        return BUGREPORT_TXT
    if text.startswith("package:"):
        return PM_LIST if parse_pm_list_line(text.strip()) else None
    if _PROP.match(text) or _PROP_OPEN.match(text):
        return GETPROP
    if text.startswith(_DUMPSYS_TITLES) or _PKG_HEAD.match(text):
        return DUMPSYS
    return None


def _zip_entry_name(head: bytes) -> str | None:
    """The first entry's name from a zip local file header, when the head holds it."""
    if len(head) < 30 or not head.startswith(_ZIP_MAGIC):
        return None
    length = int.from_bytes(head[26:28], "little")
    name = head[30 : 30 + length]
    return name.decode("utf-8", errors="replace") if len(name) == length else None


class AndroidSource:
    """adb outputs of an Android handset (see the module docstring)."""

    name = "android"

    def sniff(self, path: Path, head: bytes) -> float:
        if head.startswith(_ZIP_MAGIC):
            entry = _zip_entry_name(head)
            return 0.9 if entry and entry.startswith(_BUGREPORT_ENTRY_NAMES) else -1.0
        if looks_binary(head):
            return -1.0
        lines = head_text(head).splitlines()
        complete = lines[:-1] if len(lines) > 1 else lines
        for line in complete[:8]:
            if not line.strip():
                continue
            if line.startswith(_DUMPSTATE_RULE) or line.startswith("== dumpstate:"):
                return 0.95
            kind = detect_line(line)
            return 0.9 if kind else -1.0
        text = head_text(head).lstrip()
        if text.startswith(("package:", "[ro.", "[persist.", "[init.", "Activity Resolver Table:")):
            return 0.6  # one long first line; read() confirms
        return -1.0

    def read(self, path: Path, progress: ProgressCallback | None = None) -> Iterator[Item]:
        dump = read_dump(path, progress)  # raises SourceError before anything is yielded
        return iter(observations(dump))


def observations(dump: AndroidDump) -> list[Item]:
    """The sighting, signals and summary of one input, in that order."""
    host = dump.host
    items: list[Item] = [HostSighting(mac=None, ip=None, kind="android", source=dump.path, hostname=host)]
    items += [
        HostSignal(None, None, "android_prop", f"{key}={dump.props[key]}", dump.path, host=host)
        for key in REPORTED_PROPS
        if dump.props.get(key)
    ]
    for name in sorted(dump.packages):
        record = dump.packages[name]
        system = {True: "system", False: "user", None: "unknown"}[record.system]
        value = f"{name}|{system}|{record.state}|{record.code_path or ''}"
        items.append(HostSignal(None, None, "android_package", value, dump.path, host=host))
    items.append(dump.summary())
    return items


# --- reading ---------------------------------------------------------------------------------


def read_dump(path: Path, progress: ProgressCallback | None = None) -> AndroidDump:
    """Parse one adb output file; raises ``SourceError`` (message starts with the path)."""
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except IsADirectoryError:
        raise SourceError(f"{path}: is a directory") from None
    except OSError as e:
        raise SourceError(f"{path}: cannot open ({e.strerror or e})") from e
    if magic == _ZIP_MAGIC:
        return _read_bugreport_zip(path, progress)
    text = open_text(path)
    with text:
        lines = text.lines(progress)
        dump = parse_lines(lines, str(path), suffix=text.kind_suffix)
        dump.sha256 = text.sha256()
        dump.errors[:0] = text.errors
    return dump


def parse_lines(lines: Iterable[str], source: str, suffix: str = "") -> AndroidDump:
    """Detect the format from the first lines and parse them all (also used for live adb output)."""
    iterator = iter(lines)
    looked: list[str] = []
    kind = None
    for line in iterator:
        if "\x00" in line:
            raise SourceError(f"{source}: binary data, not adb output")
        looked.append(line)
        kind = detect_line(line)
        if kind or len(looked) >= _DETECT_LINES:
            break
    if kind is None:
        if not any(line.strip() for line in looked):
            raise SourceError(f"{source}: empty file, no adb output")
        raise SourceError(
            f"{source}: not adb output phonehome reads "
            "(pm list packages, dumpsys package, getprop, bugreport)"
        )
    dump = AndroidDump(path=source, kind=kind + suffix)
    parser = _BugreportParser(dump) if kind == BUGREPORT_TXT else _PARSERS[kind](dump)
    for line in itertools.chain(looked, iterator):
        parser.line(line)
    parser.finish()
    if not dump.records:
        what = {
            BUGREPORT_TXT: "no SYSTEM PROPERTIES or dumpsys package section in the bug report",
            DUMPSYS: "no Packages: section in the dumpsys output",
        }.get(kind, f"no {kind} records")
        raise SourceError(f"{source}: {what}")
    return dump


def _bugreport_entry(path: Path, zf: zipfile.ZipFile) -> zipfile.ZipInfo:
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise SourceError(f"{path}: zip lists {len(infos)} entries (more than {MAX_ENTRIES}); refused")
    by_name = {i.filename: i for i in infos}
    chosen: zipfile.ZipInfo | None = None
    main = by_name.get("main_entry.txt")
    if main is not None and main.file_size <= 4096:
        with zf.open(main) as f:
            named = f.read(4096).decode("utf-8", errors="replace").strip()
        chosen = by_name.get(named)
    if chosen is None:
        candidates = sorted(
            name
            for name in by_name
            if fnmatch.fnmatch(posixpath.basename(name), "bugreport-*.txt")
            or fnmatch.fnmatch(posixpath.basename(name), "dumpstate-*.txt")
        )
        if not candidates:
            raise SourceError(f"{path}: zip holds no bugreport-*.txt; not an adb bugreport")
        chosen = by_name[candidates[0]]
    if chosen.flag_bits & 0x1:
        raise SourceError(f"{path}: {chosen.filename} is encrypted")
    if chosen.file_size > MAX_ENTRY_BYTES:
        raise SourceError(
            f"{path}: {chosen.filename} declares {chosen.file_size} bytes (limit {MAX_ENTRY_BYTES}); refused"
        )
    ratio = chosen.file_size / max(chosen.compress_size, 1)
    if ratio > MAX_RATIO:
        raise SourceError(
            f"{path}: {chosen.filename} declares a {ratio:.0f}:1 compression ratio (limit {MAX_RATIO}:1); "
            "refused as a possible zip bomb"
        )
    return chosen


def _read_bugreport_zip(path: Path, progress: ProgressCallback | None) -> AndroidDump:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise SourceError(f"{path}: not a readable zip ({e})") from e
    with zf:
        info = _bugreport_entry(path, zf)
        try:
            stream = zf.open(info)
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as e:
            raise SourceError(f"{path}: cannot read {info.filename} ({e})") from e
        with stream:
            reader = _ByteLines(stream, info.file_size, progress)
            dump = parse_lines(reader.lines(), str(path))
        dump.kind = BUGREPORT
        dump.errors[:0] = reader.errors
    dump.sha256 = _file_sha256(path)
    return dump


class _ByteLines:
    """Bounded line splitting of a binary stream, decoded as UTF-8 with replacement."""

    def __init__(self, stream: IO[bytes], total: int, progress: ProgressCallback | None) -> None:
        self.stream = stream
        self.total = total
        self.progress = progress
        self.errors: list[str] = []

    def lines(self) -> Iterator[str]:
        pending = b""
        done = 0
        next_report = _CHUNK * 8
        limit = MAX_LINE_CHARS * 4
        while True:
            try:
                chunk = self.stream.read(_CHUNK)
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                self.errors.append(f"stopped after {done} bytes: corrupt compressed data ({e})")
                chunk = b""
            if not chunk:
                break
            done += len(chunk)
            parts = (pending + chunk).split(b"\n")
            pending = parts.pop()[:limit]
            for part in parts:
                yield part[:limit].decode("utf-8", errors="replace")[:MAX_LINE_CHARS].rstrip("\r")
            if self.progress and done >= next_report:
                self.progress("reading", done, self.total)
                next_report = done + _CHUNK * 8
        if pending:
            yield pending.decode("utf-8", errors="replace")[:MAX_LINE_CHARS].rstrip("\r")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_android_input(path: Path) -> bool:
    """Whether ``path`` is adb output this module reads (a zip is checked for a bug report entry)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as zf:
                names = [posixpath.basename(n) for n in zf.namelist()[:MAX_ENTRIES]]
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
        return "main_entry.txt" in names or any(fnmatch.fnmatch(n, "bugreport-*.txt") for n in names)
    if head[:2] == b"\x1f\x8b":
        return AndroidSource().sniff(path, _gunzip_head(path)) > 0
    return AndroidSource().sniff(path, head) > 0


def _gunzip_head(path: Path) -> bytes:
    import gzip
    import zlib

    try:
        with gzip.open(path, "rb") as g:
            return g.read(4096)
    except (OSError, EOFError, zlib.error):
        return b""
