"""What an Android package holds: permissions, signing certificates, tracker SDKs and hard-coded endpoints.

An APK is not a network device, so the result is a model of its own (``ApkReport``), rendered by
``phonehome apk``. Reading goes through ``sources/apk.ApkArchive``, which refuses zip bombs and
huge files before anything is decompressed; androguard parses the manifest (binary XML), each
``classes*.dex`` and the v2/v3 signing blocks, and only ever sees bytes read within those bounds.

* Permissions: ``uses-permission`` (and ``-sdk-23``) names; those of protection level
  ``dangerous`` on the Android platform are flagged (``DANGEROUS_PERMISSIONS``).
* Certificates: v1 (JAR) from ``META-INF/*.RSA|DSA|EC`` (PKCS#7), v2, v3 and v3.1 from the APK
  Signing Block as androguard reads it; subject and issuer in RFC 4514 form, SHA-256 of the DER.
  Signatures are listed, not verified. An unsigned APK is analysed all the same.
* Trackers: every class name of every dex is matched against the code signatures of
  ``intel/data/trackers.yaml`` (package prefixes, longest first), as εxodus does; endpoints under a
  tracker's documented domains name the tracker too.
* Endpoints: URLs (``http``, ``https``, ``ws``, ``wss``, ``ftp``), bare host names (a whole string
  such as ``log.umeng.com``, optionally with ``:port`` or ``/path``) and IPv4 literals in dex
  string pools, the resource table's string pool (``resources.arsc``), the manifest's values and
  text files under ``assets/`` and ``res/raw/`` (URLs only there). A host must end in a public
  suffix (tldextract's bundled list, offline); Java package and class names that look like hosts
  (``com.umeng.analytics``, ``android.app``) are recognised and dropped, as are XML namespace and
  licence URLs (``NON_ENDPOINTS``), documentation domains and file names such as ``libfoo.so``.
  Bare IPv4 strings count only when global and not shaped like a version number. Each host is
  looked up in ``domains.yaml`` (owner and purpose).

``analyze_apks`` runs each APK in a forked worker with a time budget (``ApkLimits.time_budget``)
so that one pathological file cannot stall a batch; a failure is an ``ApkFailure`` and the batch
goes on.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import multiprocessing
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from phonehome.analyze.destinations import registrable_domain
from phonehome.intel.loader import Intel
from phonehome.intel.schema import TrackerSdk
from phonehome.sources.apk import (
    ApkArchive,
    ApkError,
    ApkLimits,
    Manifest,
    androguard,
    read_manifest,
)

DANGEROUS_PERMISSIONS = frozenset(
    {
        "android.permission.ACCEPT_HANDOVER",
        "android.permission.ACCESS_BACKGROUND_LOCATION",
        "android.permission.ACCESS_COARSE_LOCATION",
        "android.permission.ACCESS_FINE_LOCATION",
        "android.permission.ACCESS_MEDIA_LOCATION",
        "android.permission.ACTIVITY_RECOGNITION",
        "android.permission.ANSWER_PHONE_CALLS",
        "android.permission.BLUETOOTH_ADVERTISE",
        "android.permission.BLUETOOTH_CONNECT",
        "android.permission.BLUETOOTH_SCAN",
        "android.permission.BODY_SENSORS",
        "android.permission.BODY_SENSORS_BACKGROUND",
        "android.permission.CALL_PHONE",
        "android.permission.CAMERA",
        "android.permission.EYE_TRACKING_COARSE",
        "android.permission.EYE_TRACKING_FINE",
        "android.permission.FACE_TRACKING",
        "android.permission.GET_ACCOUNTS",
        "android.permission.HAND_TRACKING",
        "android.permission.HEAD_TRACKING",
        "android.permission.NEARBY_WIFI_DEVICES",
        "android.permission.POST_NOTIFICATIONS",
        "android.permission.PROCESS_OUTGOING_CALLS",
        "android.permission.RANGING",
        "android.permission.READ_CALENDAR",
        "android.permission.READ_CALL_LOG",
        "android.permission.READ_CELL_BROADCASTS",
        "android.permission.READ_CONTACTS",
        "android.permission.READ_EXTERNAL_STORAGE",
        "android.permission.READ_MEDIA_AUDIO",
        "android.permission.READ_MEDIA_IMAGES",
        "android.permission.READ_MEDIA_VIDEO",
        "android.permission.READ_MEDIA_VISUAL_USER_SELECTED",
        "android.permission.READ_PHONE_NUMBERS",
        "android.permission.READ_PHONE_STATE",
        "android.permission.READ_SMS",
        "android.permission.RECEIVE_MMS",
        "android.permission.RECEIVE_SMS",
        "android.permission.RECEIVE_WAP_PUSH",
        "android.permission.RECORD_AUDIO",
        "android.permission.SCENE_UNDERSTANDING_COARSE",
        "android.permission.SCENE_UNDERSTANDING_FINE",
        "android.permission.SEND_SMS",
        "android.permission.USE_SIP",
        "android.permission.UWB_RANGING",
        "android.permission.WRITE_CALENDAR",
        "android.permission.WRITE_CALL_LOG",
        "android.permission.WRITE_CONTACTS",
        "android.permission.WRITE_EXTERNAL_STORAGE",
        "com.android.voicemail.permission.ADD_VOICEMAIL",
    }
)
"""Permissions whose ``android:protectionLevel`` is ``dangerous`` (runtime permissions) on Android 16
(API 36), as declared in the platform manifest
https://android.googlesource.com/platform/frameworks/base/+/refs/heads/main/core/res/AndroidManifest.xml
(also listed per permission at https://developer.android.com/reference/android/Manifest.permission).
Checked in the tests against androguard's extraction of the same manifest (``permissions_36.json``)."""

NON_ENDPOINTS: tuple[tuple[str, str], ...] = (
    # XML namespaces and schema locations: identifiers, never fetched by an app.
    ("schemas.android.com", ""),
    ("w3.org", ""),
    ("xmlpull.org", ""),
    ("xmlsoap.org", ""),
    ("purl.org", ""),
    ("jcp.org", ""),
    ("java.sun.com", "/xml"),
    ("ns.adobe.com", ""),
    ("xml.org", ""),
    ("schemas.microsoft.com", ""),
    ("json-schema.org", ""),
    # Licence texts quoted in code and resources.
    ("apache.org", "/licenses"),
    ("gnu.org", "/licenses"),
    ("gnu.org", "/copyleft"),
    ("opensource.org", "/licenses"),
    ("creativecommons.org", "/licenses"),
    ("mozilla.org", "/mpl"),
    # Reserved for documentation (RFC 2606, RFC 6761).
    ("example.com", ""),
    ("example.net", ""),
    ("example.org", ""),
)
"""(domain, path prefix) pairs that are not endpoints: the domain matches itself and every name
below it; an empty prefix drops every URL and bare name under the domain."""

_JAVA_ROOTS = frozenset(
    {
        "android",
        "androidx",
        "java",
        "javax",
        "kotlin",
        "kotlinx",
        "dalvik",
        "sun",
        "junit",
        "okhttp3",
        "retrofit2",
    }
)
"""First labels of package names that are not public suffixes."""
_FILE_SUFFIXES = frozenset({"so", "zip", "mov", "py", "sh", "md", "pl", "kt", "rs", "cc", "gz", "apk", "dex"})
"""Public suffixes that are also file extensions: ``libfoo.so`` is a file, not a host."""
_URL = re.compile(r"(?i)\b(?:https?|wss?|ftp)://[^\s\"'<>\\^`{|}]{1,2048}")
_HOST = re.compile(
    r"^(?P<host>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9])"
    r"(?::\d{1,5})?(?P<path>/\S*)?$"
)
_IPV4 = re.compile(r"^(?P<ip>(?:\d{1,3}\.){3}\d{1,3})(?::\d{1,5})?(?:/\S*)?$")
_WELL_KNOWN_IPS = frozenset({"1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4", "9.9.9.9"})
"""Public resolvers whose addresses are too small to tell from version numbers otherwise."""
_TEXT_ASSET = re.compile(
    r"^(?:assets|res/raw)/.+\.(?:json|xml|txt|properties|cfg|conf|ini|js|html?|ya?ml)$", re.I
)
_SIGNATURE_FILE = re.compile(r"^META-INF/[^/]+\.(?:RSA|DSA|EC)$", re.I)
MAX_TEXT_ASSET = 1 << 20
MAX_TEXT_TOTAL = 16 << 20
MAX_ENDPOINTS = 5000
MAX_URLS_PER_HOST = 5
MAX_ARSC_FOR_LABEL = 16 << 20
"""The resource table is parsed whole (to resolve a ``@string`` label) only up to this size."""


@dataclass(frozen=True)
class Permission:
    name: str
    dangerous: bool
    """Protection level ``dangerous`` on the Android platform (``DANGEROUS_PERMISSIONS``)."""


@dataclass(frozen=True)
class SigningCertificate:
    """One certificate of the APK's signers, with the schemes that carry it."""

    sha256: str
    """SHA-256 of the certificate's DER encoding, lower-case hex."""
    subject: str
    """RFC 4514, as ``CN=...,O=...,C=..``."""
    issuer: str
    serial: str
    """Serial number, hex."""
    not_before: str
    not_after: str
    schemes: tuple[str, ...]
    """``v1``, ``v2``, ``v3``, ``v3.1``: the signature schemes this certificate signs with."""


@dataclass(frozen=True)
class TrackerHit:
    """A tracker SDK of the catalogue found in the APK."""

    id: str
    name: str
    owner: str
    entity: str | None
    categories: tuple[str, ...]
    signatures: tuple[str, ...]
    """Code signatures that matched at least one class."""
    classes: int
    """Classes under those signatures (0 when only an endpoint named the tracker)."""
    hosts: tuple[str, ...] = ()
    """Endpoints found in the APK under the tracker's documented domains."""


@dataclass(frozen=True)
class Endpoint:
    """A host the APK's code or resources name, with what the catalogue says of it."""

    host: str
    """Lower-case host name, or an IPv4 address."""
    kind: Literal["domain", "ip"]
    domain: str | None
    """Registrable domain (``umeng.com``); None for addresses."""
    urls: tuple[str, ...]
    """Up to ``MAX_URLS_PER_HOST`` URLs naming the host, sorted; empty when only the bare host was found."""
    found_in: tuple[str, ...]
    """Entries naming the host: ``classes.dex``, ``resources.arsc``, ``AndroidManifest.xml``, assets."""
    entity: str | None = None
    """Operator from ``domains.yaml``."""
    purpose: str | None = None
    tracker: str | None = None
    """Tracker id whose documented domains cover the host."""


@dataclass(frozen=True)
class CodeSummary:
    dex_files: tuple[str, ...]
    classes: int
    strings: int


@dataclass(frozen=True)
class ApkReport:
    """Everything ``phonehome apk`` says about one APK."""

    path: str
    sha256: str
    size: int
    manifest: Manifest
    permissions: tuple[Permission, ...]
    certificates: tuple[SigningCertificate, ...]
    """Sorted by SHA-256; empty for an unsigned APK."""
    trackers: tuple[TrackerHit, ...]
    """Sorted by name."""
    endpoints: tuple[Endpoint, ...]
    """Sorted by host."""
    code: CodeSummary
    notes: tuple[str, ...] = ()
    """What did not stop the analysis: odd zip entries, an unreadable resource table, caps reached."""

    @property
    def schemes(self) -> tuple[str, ...]:
        """Signature schemes present, in ``v1, v2, v3, v3.1`` order."""
        found = {s for c in self.certificates for s in c.schemes}
        return tuple(s for s in ("v1", "v2", "v3", "v3.1") if s in found)


@dataclass(frozen=True)
class ApkFailure:
    """An APK that could not be analysed; ``reason`` starts with its path."""

    path: str
    reason: str


ApkResult = ApkReport | ApkFailure


# --- analysis ---------------------------------------------------------------------------------


def analyze_apk(path: Path, intel: Intel, limits: ApkLimits | None = None) -> ApkReport:
    """Analyse one APK in this process; ApkError (message starting with the path) when it cannot be."""
    limits = limits or ApkLimits()
    with ApkArchive(path, limits) as archive:
        manifest = read_manifest(archive)
        dex_names = archive.dex_names
        matcher = _TrackerMatcher(intel)
        finder = _EndpointFinder()
        notes: list[str] = (
            [] if dex_names else ["no classes.dex: a resource-only package (no code to search)"]
        )
        class_count = string_count = 0
        for name in dex_names:
            classes, strings = _read_dex(archive, name)
            class_count += len(classes)
            string_count += len(strings)
            matcher.add(classes)
            finder.packages.update(_package_names(classes))
            finder.add(strings, name)
            del classes, strings
        finder.add(manifest.values, "AndroidManifest.xml")
        label = manifest.label
        if "resources.arsc" in archive.names:
            label = _scan_resources(archive, finder, notes, label)
        _scan_text_assets(archive, finder, notes)
        raw = path.read_bytes()
        certificates = _certificates(archive, raw, notes)
        notes[:0] = archive.notes
    if label != manifest.label:
        manifest = _with_label(manifest, label)
    endpoints, capped = finder.endpoints(intel, matcher.domain_index())
    if capped:
        notes.append(f"more than {MAX_ENDPOINTS} hosts found; the first {MAX_ENDPOINTS} by name are listed")
    return ApkReport(
        path=str(path),
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        manifest=manifest,
        permissions=tuple(Permission(p, p in DANGEROUS_PERMISSIONS) for p in manifest.permissions),
        certificates=certificates,
        trackers=matcher.hits(endpoints),
        endpoints=endpoints,
        code=CodeSummary(tuple(dex_names), class_count, string_count),
        notes=tuple(notes),
    )


def _with_label(manifest: Manifest, label: str | None) -> Manifest:
    return replace(manifest, label=label)


def _read_dex(archive: ApkArchive, name: str) -> tuple[list[str], list[str]]:
    """Dotted class names and every string of one dex; ApkError when androguard cannot parse it."""
    data = archive.read(name)
    if data[:4] != b"dex\n":
        raise ApkError(f"{archive.path}: {name}: not a dex file (magic {data[:8]!r})")
    try:
        dex = androguard().dex.DEX(data)
        classes = [_dotted(c) for c in dex.get_classes_names()]
        strings = [s for s in dex.get_strings() if isinstance(s, str)]
    except Exception as e:  # androguard raises many kinds on malformed dex
        raise ApkError(f"{archive.path}: {name}: malformed dex ({_brief(e)})") from e
    return classes, strings


def _dotted(descriptor: str) -> str:
    """``Lcom/umeng/analytics/MobclickAgent;`` -> ``com.umeng.analytics.MobclickAgent``."""
    if descriptor.startswith("L") and descriptor.endswith(";"):
        descriptor = descriptor[1:-1]
    return descriptor.replace("/", ".")


def _package_names(classes: Iterable[str]) -> set[str]:
    """Every class name and every package above it: strings that look like hosts but are code."""
    names: set[str] = set()
    for name in classes:
        lowered = name.lower()
        names.add(lowered)
        cut = lowered.rfind(".")
        while cut > 0:
            package = lowered[:cut]
            if package in names:
                break
            names.add(package)
            cut = lowered.rfind(".", 0, cut)
    return names


def _brief(e: BaseException) -> str:
    text = str(e).splitlines()[0][:160] if str(e) else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _scan_resources(
    archive: ApkArchive, finder: _EndpointFinder, notes: list[str], label: str | None
) -> str | None:
    """Feed the resource table's string pool to the finder; resolve an ``@`` label when small enough."""
    try:
        data = archive.read("resources.arsc")
    except ApkError as e:
        notes.append(str(e).removeprefix(f"{archive.path}: "))
        return label
    axml = androguard().axml
    try:
        buff = io.BufferedReader(io.BytesIO(data))
        table = axml.ARSCHeader(buff, expected_type=axml.RES_TABLE_TYPE)
        buff.seek(table.start + table.header_size)
        head = axml.ARSCHeader(buff)
        if head.type != axml.RES_STRING_POOL_TYPE:
            raise ValueError("no string pool after the table header")
        finder.add(list(axml.StringBlock(buff, head)), "resources.arsc")
    except Exception as e:
        notes.append(f"resources.arsc: string pool unreadable ({_brief(e)})")
        return label
    if label and re.fullmatch(r"@[0-9A-Fa-f]{8}", label) and len(data) <= MAX_ARSC_FOR_LABEL:
        try:
            parser = axml.ARSCParser(data)
            resolved = parser.get_resolved_res_configs(
                int(label[1:], 16), axml.ARSCResTableConfig.default_config()
            )
            if resolved and isinstance(resolved[0][1], str) and resolved[0][1]:
                return str(resolved[0][1])
        except Exception as e:
            notes.append(f"resources.arsc: label {label} not resolved ({_brief(e)})")
    return label


def _scan_text_assets(archive: ApkArchive, finder: _EndpointFinder, notes: list[str]) -> None:
    budget = MAX_TEXT_TOTAL
    for name in sorted(n for n in archive.names if _TEXT_ASSET.match(n)):
        size = archive.declared_size(name)
        if size > MAX_TEXT_ASSET or size > budget:
            continue
        budget -= size
        try:
            text = archive.read(name).decode("utf-8", errors="replace")
        except ApkError as e:
            notes.append(str(e).removeprefix(f"{archive.path}: "))
            continue
        finder.add_urls(text, name)


def _certificates(archive: ApkArchive, raw: bytes, notes: list[str]) -> tuple[SigningCertificate, ...]:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

    by_der: dict[bytes, set[str]] = {}
    for name in sorted(n for n in archive.names if _SIGNATURE_FILE.match(n)):
        try:
            for cert in pkcs7.load_der_pkcs7_certificates(archive.read(name)):
                by_der.setdefault(cert.public_bytes(Encoding.DER), set()).add("v1")
        except ApkError as e:
            notes.append(str(e).removeprefix(f"{archive.path}: "))
        except Exception as e:
            notes.append(f"{name}: unreadable PKCS#7 signature ({_brief(e)})")
    try:
        apk = androguard().apk.APK(raw, raw=True, skip_analysis=True)
        for scheme, signed, certs in (
            ("v2", apk.is_signed_v2, apk.get_certificates_der_v2),
            ("v3", apk.is_signed_v3, apk.get_certificates_der_v3),
            ("v3.1", apk.is_signed_v31, apk.get_certificates_der_v31),
        ):
            if signed():
                for der in certs():
                    by_der.setdefault(bytes(der), set()).add(scheme)
    except Exception as e:
        notes.append(f"APK Signing Block unreadable ({_brief(e)})")
    out = []
    for der, schemes in by_der.items():
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError as e:
            notes.append(f"signing certificate unreadable ({_brief(e)})")
            continue
        out.append(
            SigningCertificate(
                sha256=_sha256(der),
                subject=cert.subject.rfc4514_string(),
                issuer=cert.issuer.rfc4514_string(),
                serial=format(cert.serial_number, "x"),
                not_before=cert.not_valid_before_utc.isoformat(),
                not_after=cert.not_valid_after_utc.isoformat(),
                schemes=tuple(s for s in ("v1", "v2", "v3", "v3.1") if s in schemes),
            )
        )
    return tuple(sorted(out, key=lambda c: c.sha256))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- trackers ---------------------------------------------------------------------------------


class _TrackerMatcher:
    """Counts classes under each code signature: a dict lookup per package level of a class name."""

    def __init__(self, intel: Intel) -> None:
        self.intel = intel
        self.prefixes = intel.tracker_prefixes()
        self.max_depth = max((p.count(".") for p in self.prefixes), default=0)
        self.counts: dict[str, int] = {}

    def add(self, classes: Iterable[str]) -> None:
        prefixes, counts, depth = self.prefixes, self.counts, self.max_depth
        if not prefixes:
            return
        for name in classes:
            best = None
            cut = name.find(".")
            level = 0
            while cut > 0 and level < depth:
                candidate = name[: cut + 1]
                if candidate in prefixes:
                    best = candidate
                cut = name.find(".", cut + 1)
                level += 1
            if best is not None:
                counts[best] = counts.get(best, 0) + 1

    def domain_index(self) -> dict[str, str]:
        """Documented tracker host or domain -> tracker id."""
        return {d: t.id for t in self.intel.trackers.values() for d in t.domains}

    def hits(self, endpoints: Iterable[Endpoint]) -> tuple[TrackerHit, ...]:
        found: dict[str, tuple[set[str], int, set[str]]] = {}
        for signature, count in self.counts.items():
            owner_id = self.prefixes[signature].id
            sigs, total, hosts = found.setdefault(owner_id, (set(), 0, set()))
            sigs.add(signature)
            found[owner_id] = (sigs, total + count, hosts)
        for endpoint in endpoints:
            if endpoint.tracker:
                sigs, total, hosts = found.setdefault(endpoint.tracker, (set(), 0, set()))
                hosts.add(endpoint.host)
        out = []
        for tracker_id, (sigs, total, hosts) in found.items():
            tracker: TrackerSdk = self.intel.trackers[tracker_id]
            out.append(
                TrackerHit(
                    id=tracker.id,
                    name=tracker.name,
                    owner=tracker.owner,
                    entity=tracker.entity,
                    categories=tuple(tracker.categories),
                    signatures=tuple(sorted(sigs)),
                    classes=total,
                    hosts=tuple(sorted(hosts)),
                )
            )
        return tuple(sorted(out, key=lambda h: (h.name.lower(), h.id)))


# --- endpoints --------------------------------------------------------------------------------


@dataclass
class _HostFinding:
    urls: set[str] = field(default_factory=set)
    found_in: set[str] = field(default_factory=set)


class _EndpointFinder:
    """Collects candidate hosts from strings, then filters and maps them."""

    def __init__(self) -> None:
        self.packages: set[str] = set()
        self.hosts: dict[str, _HostFinding] = {}

    def add(self, strings: Iterable[str], where: str) -> None:
        for s in strings:
            if len(s) < 4 or len(s) > 4096 or "." not in s:
                continue
            if "://" in s:
                self.add_urls(s, where)
                continue
            text = s.strip()
            m = _IPV4.match(text)
            if m:
                if _plausible_ip(m.group("ip")):
                    self._note(m.group("ip"), None, where)
                continue
            m = _HOST.match(text)
            if m and self._plausible_host(m.group("host"), bool(m.group("path"))):
                self._note(m.group("host"), None, where)

    def add_urls(self, text: str, where: str) -> None:
        for m in _URL.finditer(text):
            url = m.group(0).rstrip(".,;:)]'\"")
            try:
                host = (urlsplit(url).hostname or "").rstrip(".")
            except ValueError:
                continue
            if not host:
                continue
            if _is_ip(host):
                if _global_ip(host):
                    self._note(host, url, where)
            elif _HOST.match(host) and registrable_domain(host) and not _non_endpoint(host, url):
                self._note(host, url, where)

    def _plausible_host(self, host: str, has_path: bool) -> bool:
        labels = host.split(".")
        if labels[0] in _JAVA_ROOTS or host in self.packages:
            return False
        if not has_path and len(labels) == 2 and labels[-1] in _FILE_SUFFIXES:
            return False
        if _is_public_suffix(labels[0]):
            return False  # reversed-domain package names: com.umeng.analytics, cn.jpush.android
        return registrable_domain(host) is not None and not _non_endpoint(host, None)

    def _note(self, host: str, url: str | None, where: str) -> None:
        finding = self.hosts.get(host)
        if finding is None:
            finding = self.hosts[host] = _HostFinding()
        if url is not None and len(finding.urls) < 64:
            finding.urls.add(url)
        finding.found_in.add(where)

    def endpoints(self, intel: Intel, tracker_domains: dict[str, str]) -> tuple[tuple[Endpoint, ...], bool]:
        names = sorted(self.hosts)
        capped = len(names) > MAX_ENDPOINTS
        out = []
        for host in names[:MAX_ENDPOINTS]:
            finding = self.hosts[host]
            is_ip = _is_ip(host)
            entry = None if is_ip else intel.domain_entry(host)
            out.append(
                Endpoint(
                    host=host,
                    kind="ip" if is_ip else "domain",
                    domain=None if is_ip else registrable_domain(host),
                    urls=tuple(sorted(finding.urls)[:MAX_URLS_PER_HOST]),
                    found_in=tuple(sorted(finding.found_in)),
                    entity=entry.entity if entry else None,
                    purpose=(entry.purpose or None) if entry else None,
                    tracker=None if is_ip else _covering(host, tracker_domains),
                )
            )
        return tuple(out), capped


def _covering(host: str, index: dict[str, str]) -> str | None:
    labels = host.split(".")
    for i in range(len(labels) - 1):
        hit = index.get(".".join(labels[i:]))
        if hit:
            return hit
    return None


def _non_endpoint(host: str, url: str | None) -> bool:
    path = ""
    if url is not None:
        try:
            path = urlsplit(url).path.lower()
        except ValueError:
            path = ""
    for domain, prefix in NON_ENDPOINTS:
        if host == domain or host.endswith("." + domain):
            if not prefix or (url is not None and path.startswith(prefix)):
                return True
    return False


def _is_public_suffix(label: str) -> bool:
    return registrable_domain(f"x.{label}") == f"x.{label}"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _global_ip(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).is_global
    except ValueError:
        return False


def _plausible_ip(text: str) -> bool:
    """A global IPv4 literal that does not look like a version number (``4.1.0.2``)."""
    parts = text.split(".")
    if any(len(p) > 1 and p.startswith("0") for p in parts) or not _global_ip(text):
        return False
    return text in _WELL_KNOWN_IPS or (max(int(p) for p in parts) >= 10 and parts[-1] != "0")


# --- batches with a time budget -----------------------------------------------------------------


def analyze_apks(paths: Iterable[Path], intel: Intel, limits: ApkLimits | None = None) -> Iterator[ApkResult]:
    """Each APK's report or failure, in order. With a time budget, each runs in a forked worker."""
    limits = limits or ApkLimits()
    androguard()  # import once here, so that forked workers start warm
    isolate = limits.time_budget > 0 and "fork" in multiprocessing.get_all_start_methods()
    for path in paths:
        yield _run_isolated(path, intel, limits) if isolate else _run(path, intel, limits)


def _run(path: Path, intel: Intel, limits: ApkLimits) -> ApkResult:
    try:
        return analyze_apk(path, intel, limits)
    except ApkError as e:
        return ApkFailure(str(path), str(e))
    except MemoryError:
        return ApkFailure(str(path), f"{path}: out of memory while analysing")
    except Exception as e:  # a parser bug on odd input must not end the batch
        return ApkFailure(str(path), f"{path}: analysis failed ({_brief(e)})")


def _child(conn: Any, path: Path, intel: Intel, limits: ApkLimits) -> None:
    try:
        conn.send(_run(path, intel, limits))
    finally:
        conn.close()


def _run_isolated(path: Path, intel: Intel, limits: ApkLimits) -> ApkResult:
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=_child, args=(sender, path, intel, limits), daemon=True)
    started = time.monotonic()
    worker.start()
    sender.close()
    try:
        if receiver.poll(limits.time_budget):
            try:
                result: ApkResult = receiver.recv()
            except EOFError:
                code = worker.exitcode if worker.exitcode is not None else "?"
                result = ApkFailure(
                    str(path), f"{path}: analysis ended without a result (worker exit {code})"
                )
        else:
            waited = time.monotonic() - started
            result = ApkFailure(
                str(path),
                f"{path}: analysis stopped after {waited:.0f} s (time budget {limits.time_budget:g} s; "
                "raise it with --time-budget)",
            )
    finally:
        if worker.is_alive():
            worker.kill()
        worker.join()
        receiver.close()
    return result
