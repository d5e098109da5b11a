"""The APK source and its bounded archive reader, on APKs built in the test (real zip, AXML, dex)."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from phonehome.model import InputSummary
from phonehome.sources.apk import ApkArchive, ApkLimits, ApkSource, read_manifest
from phonehome.sources.interface import HostSighting, HostSignal, SourceError
from phonehome.testing.apk import ApkSpec, ManifestSpec, build_apk, build_dex, build_manifest, write_zip

PACKAGE = "com.example.weather"


def _apk(tmp_path: Path, name: str = "weather.apk", **kw: object) -> Path:
    spec = ApkSpec(ManifestSpec(PACKAGE, version_code=7, version_name="2.1", target_sdk=30), **kw)  # type: ignore[arg-type]
    handset = tmp_path / "R58M12345"
    handset.mkdir(exist_ok=True)
    return build_apk(handset / name, spec)


def _head(path: Path) -> bytes:
    return path.read_bytes()[:512]


def test_sniff_claims_apks_only(tmp_path: Path) -> None:
    source = ApkSource()
    apk = _apk(tmp_path)
    assert source.sniff(apk, _head(apk)) == pytest.approx(0.95)
    workbook = write_zip(
        tmp_path / "book.xlsx", {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"}
    )
    assert source.sniff(workbook, _head(workbook)) < 0
    resources = write_zip(tmp_path / "res.apk", {"AndroidManifest.xml": build_manifest(ManifestSpec("a.b"))})
    assert source.sniff(resources, _head(resources)) < 0, "no classes.dex: not an application package"
    text = tmp_path / "notes.txt"
    text.write_text("PK is not enough\n")
    assert source.sniff(text, _head(text)) < 0


def test_read_yields_handset_sighting_package_signal_and_summary(tmp_path: Path) -> None:
    apk = _apk(tmp_path)
    items = list(ApkSource().read(apk))
    assert items[0] == HostSighting(
        mac=None, ip=None, kind="android", source=str(apk), hostname="android:R58M12345"
    )
    assert items[1] == HostSignal(
        None,
        None,
        "android_package",
        f"{PACKAGE}|unknown|unknown|weather.apk",
        str(apk),
        host="android:R58M12345",
    )
    summary = items[2]
    assert isinstance(summary, InputSummary)
    assert (summary.kind, summary.packets, summary.errors) == ("apk", 1, ())
    assert summary.sha256 == hashlib.sha256(apk.read_bytes()).hexdigest()


def test_manifest_facts(tmp_path: Path) -> None:
    spec = ManifestSpec(
        PACKAGE,
        version_code=12,
        version_name="3.4.5",
        min_sdk=23,
        target_sdk=34,
        permissions=("android.permission.CAMERA", "android.permission.INTERNET", "android.permission.CAMERA"),
        label="Weather",
    )
    apk = build_apk(tmp_path / "w.apk", ApkSpec(spec))
    with ApkArchive(apk) as archive:
        manifest = read_manifest(archive)
        assert archive.dex_names == ["classes.dex"]
    assert (manifest.package, manifest.version_code, manifest.version_name) == (PACKAGE, "12", "3.4.5")
    assert (manifest.min_sdk, manifest.target_sdk, manifest.label) == (23, 34, "Weather")
    assert manifest.permissions == ("android.permission.CAMERA", "android.permission.INTERNET")


def test_multidex_order(tmp_path: Path) -> None:
    dex = build_dex(["a.B"])
    apk = _apk(tmp_path, extra_dex=(dex,) * 10)
    with ApkArchive(apk) as archive:
        assert archive.dex_names == ["classes.dex", *(f"classes{i}.dex" for i in range(2, 12))]


def _central_entry(raw: bytes, name: str) -> int:
    """Offset of the central directory header of ``name``."""
    at = raw.find(b"PK\x01\x02")
    while at >= 0:
        name_len = struct.unpack_from("<H", raw, at + 28)[0]
        if raw[at + 46 : at + 46 + name_len] == name.encode():
            return at
        at = raw.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{name} not in the central directory")


def _flag_encrypted(path: Path, name: str) -> None:
    """Set the encryption bit of ``name`` in its local and central headers (zipfile never writes it)."""
    raw = bytearray(path.read_bytes())
    central = _central_entry(bytes(raw), name)
    local = struct.unpack_from("<I", raw, central + 42)[0]
    raw[local + 6] |= 0x1
    raw[central + 8] |= 0x1
    path.write_bytes(bytes(raw))


def test_fake_encryption_flag_is_read_like_android(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "fake.apk",
        {"AndroidManifest.xml": build_manifest(ManifestSpec(PACKAGE)), "classes.dex": build_dex(["a.B"])},
    )
    _flag_encrypted(path, "AndroidManifest.xml")  # "encrypted", but the data is in clear
    items = list(ApkSource().read(path))
    summary = items[-1]
    assert isinstance(summary, InputSummary)
    assert summary.errors == (
        "AndroidManifest.xml is flagged encrypted but stored in clear (ignored, as Android does)",
    )


# --- bad inputs ---------------------------------------------------------------------------------


def _zip_bomb(tmp_path: Path) -> Path:
    return write_zip(
        tmp_path / "bomb.apk",
        {
            "AndroidManifest.xml": build_manifest(ManifestSpec(PACKAGE)),
            "classes.dex": build_dex(["a.B"]),
            "assets/zeros.bin": bytes(16 << 20),
        },
    )


def _truncated(tmp_path: Path) -> Path:
    full = _apk(tmp_path).read_bytes()
    path = tmp_path / "cut.apk"
    path.write_bytes(full[: len(full) // 2])
    return path


def _not_apk(tmp_path: Path) -> Path:
    return write_zip(tmp_path / "photos.zip", {"a.jpg": b"\xff\xd8\xff" + bytes(100)})


def _garbage_manifest(tmp_path: Path) -> Path:
    return write_zip(
        tmp_path / "garbage.apk",
        {"AndroidManifest.xml": b"\x00\x01garbage" * 10, "classes.dex": build_dex(["a.B"])},
    )


def _encrypted(tmp_path: Path) -> Path:
    manifest = build_manifest(ManifestSpec(PACKAGE))
    path = write_zip(
        tmp_path / "locked.apk",
        {"AndroidManifest.xml": manifest, "classes.dex": build_dex(["a.B"])},
        stored=["AndroidManifest.xml"],
    )
    _flag_encrypted(path, "AndroidManifest.xml")
    raw = bytearray(path.read_bytes())
    at = raw.find(manifest)
    raw[at : at + len(manifest)] = bytes(b ^ 0x5A for b in manifest)  # what ZipCrypto leaves: noise
    path.write_bytes(bytes(raw))
    return path


def _understated(tmp_path: Path) -> Path:
    """The central directory says 10 bytes; the data inflates to far more."""
    path = write_zip(
        tmp_path / "liar.apk",
        {
            "AndroidManifest.xml": build_manifest(ManifestSpec(PACKAGE)) + bytes(4096),
            "classes.dex": build_dex(["a.B"]),
        },
    )
    raw = bytearray(path.read_bytes())
    central = _central_entry(bytes(raw), "AndroidManifest.xml")
    struct.pack_into("<I", raw, central + 24, 10)
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize(
    ("make", "limits", "message"),
    [
        (_zip_bomb, None, r"assets/zeros\.bin declares a \d+:1 compression ratio .*zip bomb"),
        (
            _apk,
            ApkLimits(max_uncompressed_bytes=1000),
            r"entries declare \d+ bytes uncompressed \(limit 1000\)",
        ),
        (_apk, ApkLimits(max_file_bytes=100), r"over the APK size limit of 100 \(raise it with --max-size\)"),
        (_apk, ApkLimits(max_entries=1), r"zip lists 2 entries \(limit 1\)"),
        (_truncated, None, r"not a readable zip .*truncated or not an APK"),
        (_not_apk, None, r"zip holds no AndroidManifest\.xml; not an APK"),
        (_garbage_manifest, None, r"AndroidManifest\.xml: unreadable binary XML"),
        (_encrypted, None, r"AndroidManifest\.xml: encrypted \(password-protected zip entry\)"),
        (_understated, None, r"AndroidManifest\.xml inflates beyond its declared 10 bytes"),
    ],
    ids=[
        "zip-bomb",
        "total-size",
        "file-size",
        "entries",
        "truncated",
        "not-apk",
        "garbage-axml",
        "encrypted",
        "liar",
    ],
)
def test_bad_inputs_raise_source_error_naming_the_file(
    tmp_path: Path, make: object, limits: ApkLimits | None, message: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(SourceError, match=message) as caught:
        list(ApkSource(limits).read(path))
    assert str(caught.value).startswith(f"{path}: ")
