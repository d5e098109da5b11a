"""Android packages (APK files): a bounded reader of the archive, its manifest, and the audit source.

An APK is a zip whose entries include ``AndroidManifest.xml`` (binary XML) and ``classes.dex``
(``classes2.dex``, ... for multidex). Nothing is decompressed before the archive passes these
checks on what the central directory declares:

* the file is at most ``ApkLimits.max_file_bytes`` (512 MiB by default);
* it lists at most ``max_entries`` entries (100,000);
* their declared sizes add up to at most ``max_uncompressed_bytes`` (1 GiB);
* no entry over 1 MiB declares a compression ratio above ``max_ratio`` (200:1; DEFLATE cannot
  exceed about 1032:1, and code and resources compress 2-10:1).

Entries are then read by ``ApkArchive.read``, which inflates at most the declared size (an entry
that inflates further is refused, so a central directory that understates sizes gains nothing),
checks the CRC, reads an entry whose encryption flag is set as Android does (the flag is ignored;
an entry that really is encrypted fails to inflate or fails its CRC and is reported as encrypted),
and reads an unknown compression method as stored when both sizes agree, else as DEFLATE, as
Android's package installer does. androguard (imported lazily: it takes about half a second) only
ever sees bytes read this way.

``ApkSource`` is the audit's view: one ``HostSighting(kind="android")`` without MAC or IP, named
``android:<directory>`` after the directory holding the APK (APKs pulled from one handset are kept
in one directory), and one ``android_package`` signal ``name|unknown|unknown|<file>`` in the
format of ``sources/android.py`` (an APK alone does not say whether it is a system package or
enabled). Trackers, endpoints and certificates are ``phonehome apk``'s work
(``analyze/apk.py``); the source reads the manifest only.
"""

from __future__ import annotations

import functools
import hashlib
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from phonehome.model import InputSummary
from phonehome.sources.interface import HostSighting, HostSignal, Item, ProgressCallback, SourceError

MANIFEST = "AndroidManifest.xml"
ANDROID_NS = "{http://schemas.android.com/apk/res/android}"
RATIO_FLOOR = 1 << 20
"""Entries smaller than this (uncompressed) are not held to the ratio limit."""
_ZIP_MAGIC = b"PK\x03\x04"
_DEX = re.compile(r"^classes(\d*)\.dex$")
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_CHUNK = 1 << 20


class ApkError(SourceError):
    """An APK cannot be read or is refused; the message starts with the path."""


@dataclass(frozen=True)
class ApkLimits:
    """Bounds applied before and while an APK is read."""

    max_file_bytes: int = 512 << 20
    max_uncompressed_bytes: int = 1 << 30
    """Sum of the declared uncompressed sizes of all entries."""
    max_ratio: float = 200.0
    """Declared compression ratio allowed for entries of 1 MiB or more."""
    max_entries: int = 100_000
    time_budget: float = 120.0
    """Seconds ``phonehome apk`` gives one APK's analysis; 0 for no limit."""


@dataclass(frozen=True)
class Manifest:
    """What ``AndroidManifest.xml`` declares."""

    package: str
    version_code: str | None
    version_name: str | None
    min_sdk: int | None
    target_sdk: int | None
    permissions: tuple[str, ...]
    """Requested permissions (``uses-permission`` and ``uses-permission-sdk-23``), sorted."""
    label: str | None
    """``application android:label`` as written: text, or ``@7F...`` for a string resource."""
    values: tuple[str, ...] = field(default=(), repr=False)
    """Every attribute value (but ``android:name``) and text of the manifest, for the endpoint search."""


class ApkArchive:
    """An APK opened for bounded reading. Use as a context manager."""

    def __init__(self, path: Path, limits: ApkLimits | None = None) -> None:
        self.path = path
        self.limits = limits or ApkLimits()
        self.notes: list[str] = []
        """Oddities that did not stop the reading (fake encryption, unknown compression)."""
        try:
            size = path.stat().st_size
        except OSError as e:
            raise ApkError(f"{path}: cannot open ({e.strerror or e})") from e
        self.size = size
        if size > self.limits.max_file_bytes:
            raise ApkError(
                f"{path}: {size} bytes, over the APK size limit of {self.limits.max_file_bytes} "
                "(raise it with --max-size)"
            )
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
            raise ApkError(f"{path}: not a readable zip ({e}); truncated or not an APK") from e
        try:
            self._infos = self._check(self._zip.infolist())
        except ApkError:
            self._zip.close()
            raise

    def _check(self, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        path, limits = self.path, self.limits
        if len(infos) > limits.max_entries:
            raise ApkError(f"{path}: zip lists {len(infos)} entries (limit {limits.max_entries}); refused")
        total = sum(i.file_size for i in infos)
        if total > limits.max_uncompressed_bytes:
            raise ApkError(
                f"{path}: entries declare {total} bytes uncompressed (limit "
                f"{limits.max_uncompressed_bytes}); refused as a possible zip bomb"
            )
        by_name: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size >= RATIO_FLOOR and ratio > limits.max_ratio:
                raise ApkError(
                    f"{path}: {info.filename} declares a {ratio:.0f}:1 compression ratio (limit "
                    f"{limits.max_ratio:.0f}:1); refused as a possible zip bomb"
                )
            if info.filename in by_name:
                self.notes.append(
                    f"{info.filename} is listed twice (Android refuses such APKs); the last is read"
                )
            by_name[info.filename] = info
        if MANIFEST not in by_name:
            raise ApkError(f"{path}: zip holds no {MANIFEST}; not an APK")
        return by_name

    def __enter__(self) -> ApkArchive:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    @property
    def names(self) -> list[str]:
        return list(self._infos)

    @property
    def dex_names(self) -> list[str]:
        """Top-level ``classes.dex``, ``classes2.dex``, ... in load order."""
        found = [(int(m.group(1) or 1), n) for n in self._infos if (m := _DEX.match(n))]
        return [n for _, n in sorted(found)]

    def declared_size(self, name: str) -> int:
        return self._infos[name].file_size

    def read(self, name: str) -> bytes:
        """The entry's bytes, inflated to at most its declared size; ApkError on any fault."""
        info = self._infos.get(name)
        if info is None:
            raise ApkError(f"{self.path}: no entry {name}")
        where = f"{self.path}: {name}"
        fp = self._zip.fp
        if fp is None:
            raise ApkError(f"{where}: archive is closed")
        try:
            fp.seek(info.header_offset)
            header = fp.read(_LOCAL_HEADER.size)
            if len(header) < _LOCAL_HEADER.size or header[:4] != _ZIP_MAGIC:
                raise ApkError(f"{where}: bad local header; the zip is damaged")
            name_len, extra_len = _LOCAL_HEADER.unpack(header)[9:11]
            fp.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
            raw = fp.read(info.compress_size)
        except OSError as e:
            raise ApkError(f"{where}: cannot read ({e.strerror or e})") from e
        if len(raw) < info.compress_size:
            raise ApkError(f"{where}: truncated ({len(raw)} of {info.compress_size} bytes)")
        encrypted = bool(info.flag_bits & 0x1)
        try:
            data = self._inflate(info, raw)
        except ApkError:
            if encrypted:
                raise ApkError(f"{where}: encrypted (password-protected zip entry)") from None
            raise
        if zlib.crc32(data) != info.CRC:
            if encrypted:
                raise ApkError(f"{where}: encrypted (password-protected zip entry)")
            raise ApkError(f"{where}: CRC mismatch; the entry is corrupt")
        if encrypted:
            self.notes.append(f"{name} is flagged encrypted but stored in clear (ignored, as Android does)")
        return data

    def _inflate(self, info: zipfile.ZipInfo, raw: bytes) -> bytes:
        method = info.compress_type
        if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            self.notes.append(f"{info.filename} declares compression method {method}; read as Android does")
            method = zipfile.ZIP_STORED if info.compress_size == info.file_size else zipfile.ZIP_DEFLATED
        if method == zipfile.ZIP_STORED:
            if len(raw) != info.file_size:
                raise ApkError(f"{self.path}: {info.filename}: stored entry sizes disagree")
            return raw
        inflater = zlib.decompressobj(-15)
        try:
            data = inflater.decompress(raw, info.file_size + 1)
        except zlib.error as e:
            raise ApkError(f"{self.path}: {info.filename}: corrupt compressed data ({e})") from e
        if len(data) > info.file_size or inflater.unconsumed_tail:
            raise ApkError(
                f"{self.path}: {info.filename} inflates beyond its declared {info.file_size} bytes; "
                "refused as a possible zip bomb"
            )
        if len(data) < info.file_size:
            raise ApkError(f"{self.path}: {info.filename}: inflates to fewer bytes than declared")
        return data

    def sha256(self) -> str:
        digest = hashlib.sha256()
        try:
            with open(self.path, "rb") as f:
                for chunk in iter(lambda: f.read(_CHUNK), b""):
                    digest.update(chunk)
        except OSError as e:
            raise ApkError(f"{self.path}: cannot read ({e.strerror or e})") from e
        return digest.hexdigest()


@functools.cache
def androguard() -> Any:
    """``androguard.core`` with its logging silenced; imported on first use (about 0.5 s)."""
    from loguru import logger

    logger.disable("androguard")
    import androguard.core.apk
    import androguard.core.axml
    import androguard.core.dex

    return androguard.core


def parse_manifest(data: bytes) -> Manifest:
    """The manifest's facts; ValueError when the binary XML cannot be read."""
    printer = androguard().axml.AXMLPrinter(data)
    root = printer.get_xml_obj() if printer.is_valid() else None
    if root is None or root.tag != "manifest":
        raise ValueError("AndroidManifest.xml is not valid binary XML with a <manifest> root")
    package = (root.get("package") or "").strip()
    if not package:
        raise ValueError("AndroidManifest.xml names no package")

    def attr(element: Any, name: str) -> str | None:
        value = element.get(ANDROID_NS + name)
        return str(value) if value is not None else None

    sdk = root.find("uses-sdk")
    permissions = {
        name
        for tag in ("uses-permission", "uses-permission-sdk-23", "uses-permission-sdk-m")
        for element in root.iter(tag)
        if (name := attr(element, "name"))
    }
    application = root.find("application")
    values: list[str] = []
    for element in root.iter():
        # android:name values are class, permission and meta-data key names, never hosts.
        values.extend(str(v) for k, v in element.attrib.items() if k != ANDROID_NS + "name")
        if element.text and element.text.strip():
            values.append(element.text.strip())
    return Manifest(
        package=package,
        version_code=attr(root, "versionCode"),
        version_name=attr(root, "versionName"),
        min_sdk=_int(attr(sdk, "minSdkVersion")) if sdk is not None else None,
        target_sdk=_int(attr(sdk, "targetSdkVersion")) if sdk is not None else None,
        permissions=tuple(sorted(permissions)),
        label=attr(application, "label") if application is not None else None,
        values=tuple(values),
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value, 0) if value is not None else None
    except ValueError:
        return None


def read_manifest(archive: ApkArchive) -> Manifest:
    """The archive's manifest; ApkError naming the file when it cannot be read."""
    data = archive.read(MANIFEST)
    try:
        return parse_manifest(data)
    except Exception as e:  # androguard raises many kinds on malformed binary XML
        raise ApkError(f"{archive.path}: {MANIFEST}: unreadable binary XML ({_brief(e)})") from e


def _brief(e: BaseException) -> str:
    text = str(e).splitlines()[0][:160] if str(e) else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def looks_like_apk(path: Path) -> bool:
    """A zip listing ``AndroidManifest.xml`` and at least one ``classes*.dex``."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return False
    return MANIFEST in names and any(_DEX.match(n) for n in names)


class ApkSource:
    """APK files: the package they hold, tied to the handset named after their directory."""

    name = "apk"

    def __init__(self, limits: ApkLimits | None = None) -> None:
        self._limits = limits or ApkLimits()

    def sniff(self, path: Path, head: bytes) -> float:
        if not head.startswith(_ZIP_MAGIC):
            return -1.0
        return 0.95 if looks_like_apk(path) else -1.0

    def read(self, path: Path, progress: ProgressCallback | None = None) -> Iterator[Item]:
        with ApkArchive(path, self._limits) as archive:
            manifest = read_manifest(archive)
            if not archive.dex_names:
                raise ApkError(f"{path}: no classes.dex; not an application package")
            sha256 = archive.sha256()
            notes = tuple(archive.notes)
        return iter(_observations(path, manifest, sha256, notes))


def handset_for(path: Path) -> str:
    """The name an APK's handset gets: ``android:`` and the APK's directory."""
    return f"android:{path.resolve().parent.name or 'apk'}"


def _observations(path: Path, manifest: Manifest, sha256: str, notes: tuple[str, ...]) -> list[Item]:
    source = str(path)
    host = handset_for(path)
    value = f"{manifest.package}|unknown|unknown|{path.name}"
    return [
        HostSighting(mac=None, ip=None, kind="android", source=source, hostname=host),
        HostSignal(None, None, "android_package", value, source, host=host),
        InputSummary(path=source, kind="apk", packets=1, sha256=sha256, errors=notes),
    ]
