"""Build small but real-format Android packages for tests and benchmarks.

Nothing here needs the Android SDK: the manifest is written as binary XML (AXML, the format
``aapt``/``aapt2`` produce and ``AndroidManifest.xml`` holds inside every APK), the code as a DEX
file (version 035: header, string/type/proto/method ids, class definitions with one method per
class whose code loads the chosen strings with ``const-string``, and a map list), and the package
as a zip with an optional JAR (v1) signature made with ``cryptography``.

Formats, as documented by AOSP:

* AXML: ``frameworks/base/libs/androidfw/include/androidfw/ResourceTypes.h`` (``ResChunk_header``,
  ``ResStringPool_header``, ``ResXMLTree_node``, ``ResXMLTree_attrExt``, ``Res_value``).
* DEX: https://source.android.com/docs/core/runtime/dex-format
* v1 signature: https://docs.oracle.com/javase/8/docs/technotes/guides/jar/jar.html#Signed_JAR_File
  (``MANIFEST.MF``, ``CERT.SF``, ``CERT.RSA``/``.EC``: a detached PKCS#7 signature of ``CERT.SF``).

The writers only write what readers need; they are not a toolchain.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import struct
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ANDROID_NS = "http://schemas.android.com/apk/res/android"

# android.R.attr identifiers of the manifest attributes written below (frameworks/base
# core/res/res/values/public.xml).
_ATTR_IDS = {
    "label": 0x01010001,
    "name": 0x01010003,
    "minSdkVersion": 0x0101020C,
    "versionCode": 0x0101021B,
    "versionName": 0x0101021C,
    "targetSdkVersion": 0x01010270,
}
_NO_INDEX = 0xFFFFFFFF
_TYPE_STRING = 0x03
_TYPE_INT_DEC = 0x10


@dataclass(frozen=True)
class ManifestSpec:
    """What the generated ``AndroidManifest.xml`` declares."""

    package: str
    version_code: int = 1
    version_name: str = "1.0"
    min_sdk: int = 21
    target_sdk: int = 33
    permissions: tuple[str, ...] = ()
    label: str = "Test app"
    meta_data: tuple[tuple[str, str], ...] = ()
    """``<meta-data android:name=... android:value=...>`` entries under ``<application>``."""


class _StringPool:
    """Strings in first-use order; attribute names with resource ids must come first."""

    def __init__(self, first: Sequence[str]) -> None:
        self.strings: list[str] = []
        self.index: dict[str, int] = {}
        for s in first:
            self.add(s)

    def add(self, s: str) -> int:
        if s not in self.index:
            self.index[s] = len(self.strings)
            self.strings.append(s)
        return self.index[s]

    def chunk(self) -> bytes:
        data = bytearray()
        offsets = []
        for s in self.strings:
            offsets.append(len(data))
            encoded = s.encode("utf-16-le")
            data += struct.pack("<H", len(encoded) // 2) + encoded + b"\x00\x00"
        while len(data) % 4:
            data += b"\x00"
        header_size = 28
        strings_start = header_size + 4 * len(offsets)
        size = strings_start + len(data)
        head = struct.pack("<HHI", 0x0001, header_size, size)
        head += struct.pack("<IIIII", len(self.strings), 0, 0, strings_start, 0)
        return head + b"".join(struct.pack("<I", o) for o in offsets) + bytes(data)


def build_manifest(spec: ManifestSpec) -> bytes:
    """The binary XML of a manifest with package, versions, SDKs, permissions and a label."""
    attr_names = list(_ATTR_IDS)
    pool = _StringPool(attr_names)
    nodes = bytearray()
    android = pool.add("android")
    uri = pool.add(ANDROID_NS)

    def attr(name: str, value: str | int, android_ns: bool = True) -> tuple[int, int, int, int, int]:
        ns = uri if android_ns else _NO_INDEX
        name_idx = pool.add(name)
        if isinstance(value, int):
            return (ns, name_idx, _NO_INDEX, _TYPE_INT_DEC, value)
        value_idx = pool.add(value)
        return (ns, name_idx, value_idx, _TYPE_STRING, value_idx)

    def start(tag: str, attrs: Sequence[tuple[int, int, int, int, int]]) -> None:
        # Attributes must be sorted by resource id (those without one after), as aapt writes them.
        ordered = sorted(attrs, key=lambda a: (_ATTR_IDS.get(pool.strings[a[1]], 1 << 32), a[1]))
        body = struct.pack("<IIHHHHHH", _NO_INDEX, pool.add(tag), 20, 20, len(ordered), 0, 0, 0)
        for ns, name_idx, raw, dtype, data in ordered:
            body += struct.pack("<IIIHBBI", ns, name_idx, raw, 8, 0, dtype, data)
        nodes.extend(struct.pack("<HHIII", 0x0102, 16, 16 + len(body), 1, _NO_INDEX) + body)

    def end(tag: str) -> None:
        nodes.extend(struct.pack("<HHIIIII", 0x0103, 16, 24, 1, _NO_INDEX, _NO_INDEX, pool.add(tag)))

    start(
        "manifest",
        [
            attr("versionCode", spec.version_code),
            attr("versionName", spec.version_name),
            attr("package", spec.package, android_ns=False),
        ],
    )
    start("uses-sdk", [attr("minSdkVersion", spec.min_sdk), attr("targetSdkVersion", spec.target_sdk)])
    end("uses-sdk")
    for permission in spec.permissions:
        start("uses-permission", [attr("name", permission)])
        end("uses-permission")
    start("application", [attr("label", spec.label)])
    for key, value in spec.meta_data:
        start("meta-data", [attr("name", key), attr("value", value)])
        end("meta-data")
    end("application")
    end("manifest")

    ns_start = struct.pack("<HHIIIII", 0x0100, 16, 24, 1, _NO_INDEX, android, uri)
    ns_end = struct.pack("<HHIIIII", 0x0101, 16, 24, 1, _NO_INDEX, android, uri)
    res_ids = b"".join(struct.pack("<I", _ATTR_IDS[n]) for n in attr_names)
    res_map = struct.pack("<HHI", 0x0180, 8, 8 + len(res_ids)) + res_ids
    body = pool.chunk() + res_map + ns_start + bytes(nodes) + ns_end
    return struct.pack("<HHI", 0x0003, 8, 8 + len(body)) + body


# --- DEX ---------------------------------------------------------------------------------------


def _uleb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _mutf8(s: str) -> bytes:
    """Modified UTF-8 as DEX stores it (NUL as two bytes, supplementary chars as surrogate pairs)."""
    out = bytearray()
    for unit in struct.unpack(f"<{len(s.encode('utf-16-le')) // 2}H", s.encode("utf-16-le")):
        if 0 < unit < 0x80:
            out.append(unit)
        elif unit < 0x800:
            out += bytes((0xC0 | (unit >> 6), 0x80 | (unit & 0x3F)))
        else:
            out += bytes((0xE0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3F), 0x80 | (unit & 0x3F)))
    return bytes(out)


def _descriptor(class_name: str) -> str:
    return "L" + class_name.replace(".", "/") + ";"


def build_dex(classes: Iterable[str], strings: Iterable[str] = ()) -> bytes:
    """A DEX file defining ``classes`` (dotted names), each with one static method ``run()V``.

    The method of the first class loads every string of ``strings`` with ``const-string``, as
    code that uses a URL constant does.
    """
    class_names = sorted(set(classes))
    if not class_names:
        raise ValueError("a dex needs at least one class")
    descriptors = [_descriptor(c) for c in class_names]
    object_type = "Ljava/lang/Object;"
    type_strings = sorted({*descriptors, object_type, "V"})
    constants = sorted(set(strings))
    all_strings = sorted({*type_strings, *constants, "run"}, key=lambda s: s.encode("utf-16-be"))
    string_index = {s: i for i, s in enumerate(all_strings)}
    types = sorted(type_strings, key=lambda s: string_index[s])
    type_index = {s: i for i, s in enumerate(types)}
    # One proto: ()V, shorty "V".
    protos = [(string_index["V"], type_index["V"], 0)]
    methods = sorted(
        ((type_index[d], 0, string_index["run"]) for d in descriptors), key=lambda m: (m[0], m[2], m[1])
    )
    method_for_class = {m[0]: i for i, m in enumerate(methods)}

    header_size = 0x70
    off = header_size
    string_ids_off = off
    off += 4 * len(all_strings)
    type_ids_off = off
    off += 4 * len(types)
    proto_ids_off = off
    off += 12 * len(protos)
    method_ids_off = off
    off += 8 * len(methods)
    class_defs_off = off
    off += 32 * len(descriptors)
    data_off = off

    data = bytearray()

    def here() -> int:
        return data_off + len(data)

    def align4() -> None:
        while len(data) % 4:
            data.append(0)

    # code items (4-byte aligned)
    code_offsets: dict[int, int] = {}
    for i in range(len(descriptors)):
        align4()
        code_offsets[i] = here()
        insns: list[int] = []
        if i == 0:
            for s in constants:
                idx = string_index[s]
                if idx <= 0xFFFF:
                    insns += [0x1A, idx]  # const-string v0, string@idx
                else:
                    insns += [0x1B, idx & 0xFFFF, idx >> 16]  # const-string/jumbo v0, string@idx
        insns.append(0x0E)  # return-void
        data += struct.pack("<HHHHII", 1, 0, 0, 0, 0, len(insns))
        data += struct.pack(f"<{len(insns)}H", *insns)
    code_items_off = code_offsets[0]
    # string data
    string_data_off = here()
    string_offsets = []
    for s in all_strings:
        string_offsets.append(here())
        data += _uleb128(len(s.encode("utf-16-le")) // 2) + _mutf8(s) + b"\x00"
    # class data
    class_data_off = here()
    class_data_offsets = []
    for i, descriptor in enumerate(descriptors):
        class_data_offsets.append(here())
        method_idx = method_for_class[type_index[descriptor]]
        data += _uleb128(0) + _uleb128(0) + _uleb128(1) + _uleb128(0)
        data += _uleb128(method_idx) + _uleb128(0x0009) + _uleb128(code_offsets[i])  # public static
    # map list
    align4()
    map_off = here()
    items = [
        (0x0000, 1, 0),
        (0x0001, len(all_strings), string_ids_off),
        (0x0002, len(types), type_ids_off),
        (0x0003, len(protos), proto_ids_off),
        (0x0005, len(methods), method_ids_off),
        (0x0006, len(descriptors), class_defs_off),
        (0x2001, len(descriptors), code_items_off),
        (0x2002, len(all_strings), string_data_off),
        (0x2000, len(descriptors), class_data_off),
        (0x1000, 1, map_off),
    ]
    data += struct.pack("<I", len(items))
    for kind, size, offset in items:
        data += struct.pack("<HHII", kind, 0, size, offset)

    ids = bytearray()
    ids += b"".join(struct.pack("<I", o) for o in string_offsets)
    ids += b"".join(struct.pack("<I", string_index[t]) for t in types)
    ids += b"".join(struct.pack("<III", *p) for p in protos)
    ids += b"".join(struct.pack("<HHI", *m) for m in methods)
    for i, descriptor in enumerate(descriptors):
        ids += struct.pack(
            "<IIIIIIII",
            type_index[descriptor],
            0x0001,  # public
            type_index[object_type],
            0,
            _NO_INDEX,
            0,
            class_data_offsets[i],
            0,
        )
    file_size = data_off + len(data)
    fields = (
        file_size,
        header_size,
        0x12345678,
        0,
        0,
        map_off,
        len(all_strings),
        string_ids_off,
        len(types),
        type_ids_off,
        len(protos),
        proto_ids_off,
        0,
        0,
        len(methods),
        method_ids_off,
        len(descriptors),
        class_defs_off,
        len(data),
        data_off,
    )
    body = struct.pack("<20I", *fields) + bytes(ids) + bytes(data)
    signature = hashlib.sha1(body).digest()
    checksum = zlib.adler32(signature + body)
    return b"dex\n035\x00" + struct.pack("<I", checksum) + signature + body


# --- signing and packaging -----------------------------------------------------------------------


@dataclass
class Signer:
    """A key and self-signed certificate for v1 (JAR) signatures."""

    key: Any
    certificate: Any

    @property
    def certificate_der(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return bytes(self.certificate.public_bytes(Encoding.DER))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.certificate_der).hexdigest()

    def write_pem(self, directory: Path) -> tuple[Path, Path]:
        """``key.pk8`` (PKCS#8 DER) and ``cert.pem``, as ``apksigner --key/--cert`` take them."""
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        key_path = directory / "key.pk8"
        cert_path = directory / "cert.pem"
        key_path.write_bytes(self.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()))
        cert_path.write_bytes(self.certificate.public_bytes(Encoding.PEM))
        return key_path, cert_path


def make_signer(common_name: str = "Test Developer", organisation: str = "Example Apps") -> Signer:
    """An RSA-2048 key with a self-signed certificate valid for 30 years from 2024-01-01."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "GB"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x5EED)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365 * 30))
        .sign(key, hashes.SHA256())
    )
    return Signer(key, certificate)


def _v1_signature(entries: dict[str, bytes], signer: Signer) -> dict[str, bytes]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

    def digest(data: bytes) -> str:
        return base64.b64encode(hashlib.sha256(data).digest()).decode()

    main = b"Manifest-Version: 1.0\r\nCreated-By: phonehome.testing\r\n\r\n"
    sections = {
        name: f"Name: {name}\r\nSHA-256-Digest: {digest(data)}\r\n\r\n".encode()
        for name, data in sorted(entries.items())
    }
    manifest = main + b"".join(sections.values())
    sf = (
        b"Signature-Version: 1.0\r\nCreated-By: phonehome.testing\r\n"
        + f"SHA-256-Digest-Manifest: {digest(manifest)}\r\n\r\n".encode()
        + b"".join(
            f"Name: {name}\r\nSHA-256-Digest: {digest(section)}\r\n\r\n".encode()
            for name, section in sections.items()
        )
    )
    signature = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(sf)
        .add_signer(signer.certificate, signer.key, hashes.SHA256())
        .sign(Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.NoCapabilities])
    )
    return {"META-INF/MANIFEST.MF": manifest, "META-INF/CERT.SF": sf, "META-INF/CERT.RSA": signature}


@dataclass
class ApkSpec:
    """Contents of a generated APK."""

    manifest: ManifestSpec
    classes: tuple[str, ...] = ("com.example.app.MainActivity",)
    strings: tuple[str, ...] = ()
    """String constants of ``classes.dex``."""
    extra_dex: tuple[bytes, ...] = ()
    """Further dex files, stored as ``classes2.dex``, ``classes3.dex``, ..."""
    files: dict[str, bytes] = field(default_factory=dict)
    """Other entries (assets, resources)."""
    signer: Signer | None = None


def build_apk(path: Path, spec: ApkSpec) -> Path:
    """Write the APK to ``path`` (deflated entries, v1-signed when ``spec.signer`` is set)."""
    entries: dict[str, bytes] = {
        "AndroidManifest.xml": build_manifest(spec.manifest),
        "classes.dex": build_dex(spec.classes, spec.strings),
    }
    for i, dex in enumerate(spec.extra_dex, start=2):
        entries[f"classes{i}.dex"] = dex
    entries.update(spec.files)
    if spec.signer is not None:
        entries.update(_v1_signature(entries, spec.signer))
    write_zip(path, entries)
    return path


def write_zip(path: Path, entries: dict[str, bytes], stored: Iterable[str] = ()) -> Path:
    """A zip of ``entries`` in the given order; names in ``stored`` are not compressed."""
    keep = set(stored)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name in keep else zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path
