"""A device's own identifiers, read from an identifiers file or from saved adb output.

The leak scanner (``analyze/leaks.py``) searches readable traffic for these values. Two kinds of
file are accepted by ``load_identifiers``:

**An identifiers file** (YAML). One entry per device; every field but ``match`` is optional::

    version: 1
    devices:
      - name: Test phone                  # free text, shown nowhere but in messages
        match:                            # which audited device this is (one or more keys)
          mac: 3c:28:6d:12:34:56          #   the MAC the device used on the audited network
          # ip: 192.168.1.23              #   or its address (when no MAC was captured)
          # device: mac:3c:28:6d:12:34:56 #   or a device id as phonehome prints it
        imei: [358240051111110, "35824005111112"]   # 15 digits (Luhn-checked) or 14 without check
        serial: R58M123ABCD
        mac: [3c:28:6d:12:34:56, 3c:28:6d:ab:cd:ef]  # factory Wi-Fi/Bluetooth MACs, any notation
        android_id: 51b6be48bac8c569      # settings get secure android_id
        advertising_id: 38400000-8cf0-11bd-b23e-10b96e40000d   # GAID or IDFA
        phone: ["+447700900123", "07700900123"]   # E.164 and the local forms the device may use
        email: [someone@example.org]
        home: {lat: 51.5014, lon: -0.1419}        # where the device usually is
        imsi: "234150999999999"
        iccid: "8944110068240000000"
        other: {account_id: u-4711-abcd}          # anything else: name -> value
        adb: [pixel-getprop.txt, pixel-android-id.txt]   # adb output files, relative to this file

``match`` may be left out when ``mac`` lists the MAC seen on the network. A single value may be
written without a list. Values are validated and normalised (IMEIs must pass the Luhn check, MACs
become ``aa:bb:cc:dd:ee:ff``, advertising ids lower-case ``8-4-4-4-12``, phone numbers digits
with an optional leading ``+``). Quote long digit strings so YAML keeps leading zeros.

**Saved adb output**, either listed under ``adb:`` above or given directly (then the device is
matched by the Wi-Fi MACs the output names, e.g. ``[ro.boot.wifimacaddr]`` or ``link/ether``).
One file may hold the output of several commands, one after the other:

* ``adb shell getprop``: ``[ro.serialno]: [R58M123ABCD]`` lines. Serials from ``ro.serialno``,
  ``ro.boot.serialno``, ``ril.serialnumber``; IMEIs from any property whose name contains
  ``imei`` (``persist.radio.imei``, ``ro.ril.oem.imei1`` ...); MACs from ``*macaddr*``/
  ``*wifimac*``; ICCID, IMSI and MSISDN from properties naming them. ``ro.product.model`` and
  ``ro.product.manufacturer`` only label the device.
* ``adb shell settings get secure android_id``: a line of 16 hex digits alone (also
  ``android_id=...`` as ``settings list secure`` prints it).
* ``adb shell service call iphonesubinfo N``: the ``Result: Parcel(`` dump. The hex words are
  decoded (little-endian 32-bit words: status, UTF-16 length, then UTF-16LE characters); an
  exception parcel (status not 0) is ignored. The string is classified by shape: a Luhn-valid
  15-digit value is an IMEI, 14 hex digits an MEID, 18-22 digits starting ``89`` an ICCID, any
  other 15 digits an IMSI, a ``+`` number or 5-14 digits a phone number.
* ``adb shell dumpsys iphonesubinfo``: ``Device ID = 860955027785041`` (IMEI, or MEID on CDMA).
* ``key=value``/``key = value`` facts in ``dumpsys telephony.registry``, ``dumpsys isub`` or OEM
  dumps whose key names an IMEI, MEID, IMSI, ICCID or the device's own number (``mImei``,
  ``iccId``, ``Line1Number``, ``msisdn``). Masked values (``[****]``) fail validation and are
  skipped. ``mCallIncomingNumber`` is a caller's number, not the device's, and is ignored.
* ``adb shell cmd phone get-imei 0``: a Luhn-valid 15-digit line alone.
* ``adid_key`` in Google Play services' ``adid_settings.xml``: the advertising id.

Every problem is a ``UsageError`` whose one-line message starts with the file's path. Values are
never printed: messages and ``repr`` show them masked.
"""

from __future__ import annotations

import codecs
import ipaddress
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from phonehome.errors import UsageError
from phonehome.macaddr import normalise_mac as _parse_mac
from phonehome.model import DeviceID

MAX_FILE_BYTES = 16 << 20
"""Identifier files and adb dumps are read up to this size."""

KINDS = (
    "imei",
    "meid",
    "imsi",
    "iccid",
    "serial",
    "mac",
    "android_id",
    "advertising_id",
    "phone",
    "email",
)
"""Built-in identifier kinds; free-form ones are ``other:<name>``, coordinates are ``location``."""

_LIST_FIELDS = ("imei", "serial", "mac", "android_id", "advertising_id", "phone", "email", "imsi", "iccid")
_DEVICE_FIELDS = frozenset((*_LIST_FIELDS, "name", "match", "home", "other", "adb"))
_MATCH_FIELDS = frozenset(("mac", "ip", "device"))


def mask(value: str) -> str:
    """``358240051111110`` -> ``35******10``: at most the first and last two characters stay."""
    keep = 2 if len(value) >= 10 else 1 if len(value) >= 6 else 0
    return value[:keep] + "******" + (value[-keep:] if keep else "")


@dataclass(frozen=True, repr=False)
class KnownIdentifier:
    """One identifier of a device, normalised."""

    kind: str
    """One of ``KINDS`` or ``other:<name>``."""
    value: str
    """Normalised value (see the module docstring); never printed unmasked."""
    source: str
    """Where it was read: the file, plus the adb property or line kind when it came from adb."""

    def __repr__(self) -> str:
        return f"KnownIdentifier({self.kind!r}, {mask(self.value)!r}, {self.source!r})"


@dataclass(frozen=True, repr=False)
class GeoPoint:
    """A place the device is usually at (its owner's home), in decimal degrees."""

    lat: float
    lon: float
    source: str

    @property
    def text(self) -> str:
        """``51.5014,-0.1419``: how the point is shown (masked) in leaks."""
        return f"{self.lat:.4f},{self.lon:.4f}"

    def __repr__(self) -> str:
        return f"GeoPoint({mask(self.text)!r}, {self.source!r})"


@dataclass(frozen=True)
class DeviceIdentifiers:
    """Everything known about one device's identity, and how to find it in an audit."""

    name: str
    match_macs: tuple[str, ...]
    """MACs the device used on the audited network (lower-case, colon-separated)."""
    match_ips: tuple[str, ...]
    match_ids: tuple[DeviceID, ...]
    """Device ids as phonehome prints them (``mac:...``/``ip:...``)."""
    identifiers: tuple[KnownIdentifier, ...]
    home: GeoPoint | None = None
    source: str = ""
    model: str | None = None
    """``manufacturer model`` from ``getprop``, for messages only."""

    def device_keys(self) -> tuple[DeviceID, ...]:
        """The device ids this entry names directly: ``mac:<mac>``, ``ip:<ip>`` and given ids."""
        keys = [DeviceID(f"mac:{m}") for m in self.match_macs]
        keys += [DeviceID(f"ip:{ip}") for ip in self.match_ips]
        keys += list(self.match_ids)
        return tuple(dict.fromkeys(keys))

    def values(self, kind: str) -> tuple[str, ...]:
        """Normalised values of one kind."""
        return tuple(i.value for i in self.identifiers if i.kind == kind)


Resolver = Callable[[str | None, str | None], DeviceID | None]
"""``(mac, ip) -> device id`` in the audit's inventory, or None when no device has it."""


def bind_identifiers(
    entries: Iterable[DeviceIdentifiers], resolve: Resolver | None = None
) -> dict[DeviceID, DeviceIdentifiers]:
    """Identifiers keyed by the audit's device ids; entries naming the same device are merged.

    Without ``resolve`` an entry is keyed by ``mac:<mac>`` and ``ip:<ip>`` for every match key.
    With it, each MAC and IP is looked up in the audit (so an ``ip:`` match finds a device the
    audit keys by MAC); ids given as ``device:`` are kept as they are.
    """
    out: dict[DeviceID, DeviceIdentifiers] = {}
    for entry in entries:
        if resolve is None:
            keys: list[DeviceID] = list(entry.device_keys())
        else:
            found = [resolve(m, None) for m in entry.match_macs]
            found += [resolve(None, ip) for ip in entry.match_ips]
            keys = [k for k in found if k is not None] + list(entry.match_ids)
        for key in dict.fromkeys(keys):
            out[key] = _merge(out[key], entry) if key in out else entry
    return out


def _merge(a: DeviceIdentifiers, b: DeviceIdentifiers) -> DeviceIdentifiers:
    seen = {(i.kind, i.value) for i in a.identifiers}
    extra = tuple(i for i in b.identifiers if (i.kind, i.value) not in seen)
    return DeviceIdentifiers(
        name=a.name if a.name == b.name else f"{a.name} + {b.name}",
        match_macs=tuple(dict.fromkeys(a.match_macs + b.match_macs)),
        match_ips=tuple(dict.fromkeys(a.match_ips + b.match_ips)),
        match_ids=tuple(dict.fromkeys(a.match_ids + b.match_ids)),
        identifiers=a.identifiers + extra,
        home=a.home or b.home,
        source=a.source if a.source == b.source else f"{a.source}, {b.source}",
        model=a.model or b.model,
    )


# --- validation ----------------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """True when the decimal string passes the Luhn check (its last digit is the check digit)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_check_digit(digits: str) -> str:
    """The digit that makes ``digits + digit`` Luhn-valid."""
    for d in "0123456789":
        if luhn_valid(digits + d):
            return d
    raise ValueError("not a decimal string")  # unreachable for decimal input


def normalise_mac(text: str) -> str:
    """Any common MAC notation -> ``aa:bb:cc:dd:ee:ff``; ``ValueError`` for anything else."""
    mac = _parse_mac(text)
    if mac is None:
        raise ValueError("not a MAC address")
    return mac


def _imei(text: str) -> str:
    t = re.sub(r"[\s-]", "", text)
    if not t.isdigit():
        raise ValueError("an IMEI has only digits")
    if len(t) == 14:
        return t + luhn_check_digit(t)
    if len(t) == 16:  # IMEISV: 14 digits, then a 2-digit software version and no check digit
        return t[:14] + luhn_check_digit(t[:14])
    if len(t) != 15:
        raise ValueError(f"an IMEI has 15 digits (got {len(t)})")
    if not luhn_valid(t):
        raise ValueError("fails the IMEI Luhn check")
    return t


def _meid(text: str) -> str:
    t = text.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{14}", t):
        raise ValueError("an MEID has 14 hex digits")
    return t


def _digits(low: int, high: int, what: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        t = re.sub(r"[\s-]", "", text)
        if not t.isdigit() or not low <= len(t) <= high:
            raise ValueError(f"{what} has {low}-{high} digits")
        return t

    return check


def _serial(text: str) -> str:
    t = text.strip()
    if not re.fullmatch(r"[\x21-\x7e]{6,64}", t):
        raise ValueError("a serial number has 6-64 printable characters without spaces")
    return t


def _android_id(text: str) -> str:
    t = text.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{8,16}", t):
        raise ValueError("an Android ID has 8-16 hex digits")
    return t


def _advertising_id(text: str) -> str:
    t = text.strip().lower().replace("-", "")
    if not re.fullmatch(r"[0-9a-f]{32}", t):
        raise ValueError("an advertising id is a UUID (8-4-4-4-12 hex digits)")
    if set(t) == {"0"}:
        raise ValueError("an all-zero advertising id means tracking is limited; leave it out")
    return f"{t[:8]}-{t[8:12]}-{t[12:16]}-{t[16:20]}-{t[20:]}"


def _phone(text: str) -> str:
    t = re.sub(r"[\s().-]", "", text)
    plus = t.startswith("+")
    digits = t[1:] if plus else t
    if not digits.isdigit() or not 5 <= len(digits) <= 15:
        raise ValueError("a phone number has 5-15 digits, optionally after a '+'")
    return ("+" if plus else "") + digits


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}")


def _email(text: str) -> str:
    t = text.strip()
    if not _EMAIL.fullmatch(t):
        raise ValueError("not an e-mail address")
    local, domain = t.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _other(text: str) -> str:
    t = text.strip()
    if len(t) < 6 or len(t) > 256 or "\n" in t:
        raise ValueError("a value needs 6-256 characters on one line to be searched for")
    return t


VALIDATORS: Mapping[str, Callable[[str], str]] = {
    "imei": _imei,
    "meid": _meid,
    "imsi": _digits(6, 15, "an IMSI"),
    "iccid": _digits(18, 22, "an ICCID"),
    "serial": _serial,
    "mac": normalise_mac,
    "android_id": _android_id,
    "advertising_id": _advertising_id,
    "phone": _phone,
    "email": _email,
}
"""Normalising validators per built-in kind; each raises ``ValueError`` with a short reason."""


def normalise(kind: str, value: str) -> str:
    """Normalised value of ``kind``; ``ValueError`` when it is not a valid one."""
    check = VALIDATORS.get(kind, _other)
    return check(value)


# --- reading files -------------------------------------------------------------------------------


def load_identifiers(path: Path) -> tuple[DeviceIdentifiers, ...]:
    """Read an identifiers YAML file or a saved adb dump. Raises ``UsageError``."""
    text = _read_text(path)
    if _looks_like_adb(text):
        return (_adb_entry(path, text),)
    try:
        # BaseLoader keeps every scalar as text: "+4477..." and "0770..." must not become numbers.
        doc = yaml.load(text, Loader=yaml.BaseLoader)  # builds only str, list and dict
    except yaml.YAMLError as e:
        if _parse_adb(text, str(path)).identifiers:
            return (_adb_entry(path, text),)
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "syntax error"
        raise UsageError(f"{path}: not valid YAML{where} ({problem})") from None
    if isinstance(doc, dict) and "devices" in doc:
        return _yaml_entries(path, doc)
    if _parse_adb(text, str(path)).identifiers:
        return (_adb_entry(path, text),)
    raise UsageError(
        f"{path}: not an identifiers file (expected YAML with a 'devices:' list, or saved adb "
        "getprop/settings/dumpsys/service call output)"
    )


def _read_text(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES)
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not an identifiers file") from None
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e.strerror or e})") from None
    if not raw.strip():
        raise UsageError(f"{path}: empty file")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = raw.decode("utf-16", errors="replace")  # PowerShell's `>` writes UTF-16
    else:
        text = raw.decode("utf-8-sig", errors="replace")
    if "\x00" in text:
        raise UsageError(f"{path}: binary file, not an identifiers file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


_ADB_MARKERS = re.compile(
    r"^\[[\w.-]+\]: \[|Result: Parcel\(|^Phone Subscriber Info:|^last known state:", re.MULTILINE
)


def _looks_like_adb(text: str) -> bool:
    return _ADB_MARKERS.search(text) is not None


def _yaml_entries(path: Path, doc: dict[str, Any]) -> tuple[DeviceIdentifiers, ...]:
    unknown = sorted(set(doc) - {"version", "devices"})
    if unknown:
        raise UsageError(f"{path}: unknown top-level field {unknown[0]!r} (expected version, devices)")
    devices = doc["devices"]
    if not isinstance(devices, list) or not devices:
        raise UsageError(f"{path}: 'devices' must be a non-empty list of device entries")
    out = [_yaml_device(path, n, item) for n, item in enumerate(devices, 1)]
    return tuple(out)


def _yaml_device(path: Path, n: int, item: object) -> DeviceIdentifiers:
    if not isinstance(item, dict):
        raise UsageError(f"{path}: device {n}: expected a mapping of fields")
    name = str(item.get("name") or f"device {n}")
    where = f"{path}: device {n} ({name})" if item.get("name") else f"{path}: device {n}"
    unknown = sorted(str(k) for k in item if k not in _DEVICE_FIELDS)
    if unknown:
        expected = ", ".join(sorted(_DEVICE_FIELDS))
        raise UsageError(f"{where}: unknown field {unknown[0]!r} (expected one of {expected})")
    found: list[KnownIdentifier] = []
    for kind in _LIST_FIELDS:
        for i, value in enumerate(_as_list(item.get(kind), where, kind), 1):
            found.append(KnownIdentifier(kind, _valid(where, kind, value, i), str(path)))
    other = item.get("other") or {}  # an empty `other:` reads as ""
    if not isinstance(other, dict):
        raise UsageError(f"{where}: 'other' must map names to values")
    for key, value in other.items():
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,39}", str(key)):
            raise UsageError(f"{where}: other name {str(key)!r} must be a short word")
        found.append(KnownIdentifier(f"other:{key}", _valid(where, f"other {key}", value, 1), str(path)))
    home = _home(where, item.get("home"), str(path))
    model = None
    for i, ref in enumerate(_as_list(item.get("adb"), where, "adb"), 1):
        adb_path = (path.parent / ref) if not Path(ref).is_absolute() else Path(ref)
        if not adb_path.is_file():
            raise UsageError(f"{where}: adb file {i} ({ref}) not found")
        facts = _parse_adb(_read_text(adb_path), str(adb_path))
        found.extend(facts.identifiers)
        model = model or facts.model
    if not (found or home):
        raise UsageError(f"{where}: no identifiers given")
    macs, ips, ids = _match(where, item.get("match"), found)
    first: dict[tuple[str, str], KnownIdentifier] = {}
    for ident in found:
        first.setdefault((ident.kind, ident.value), ident)
    unique = tuple(first.values())
    return DeviceIdentifiers(name, macs, ips, ids, unique, home, str(path), model)


def _as_list(value: object, where: str, kind: str) -> list[str]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, str | int):
            raise UsageError(f"{where}: {kind} values must be text or numbers")
        out.append(str(v))
    return out


def _valid(where: str, kind: str, value: object, index: int) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UsageError(f"{where}: {kind} {index} must be text")
    text = str(value)
    try:
        return normalise(kind if kind in VALIDATORS else "other", text)
    except ValueError as e:
        raise UsageError(f"{where}: {kind} {index} ({mask(text.strip())}): {e}") from None


def _home(where: str, value: object, source: str) -> GeoPoint | None:
    if value is None or value == "":
        return None
    if not isinstance(value, dict) or set(value) != {"lat", "lon"}:
        raise UsageError(f"{where}: home must be {{lat: <degrees>, lon: <degrees>}}")
    try:
        lat, lon = float(value["lat"]), float(value["lon"])
    except (TypeError, ValueError):
        raise UsageError(f"{where}: home lat and lon must be decimal degrees") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise UsageError(f"{where}: home must have -90 <= lat <= 90 and -180 <= lon <= 180")
    return GeoPoint(lat, lon, source)


def _match(
    where: str, value: object, found: list[KnownIdentifier]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[DeviceID, ...]]:
    if value is None or value == "":
        macs = tuple(dict.fromkeys(i.value for i in found if i.kind == "mac"))
        if not macs:
            raise UsageError(f"{where}: needs 'match' (mac, ip or device) to know which device it is")
        return macs, (), ()
    if not isinstance(value, dict) or not value or set(value) - _MATCH_FIELDS:
        raise UsageError(f"{where}: 'match' must give mac, ip and/or device")
    try:
        macs = tuple(normalise_mac(v) for v in _as_list(value.get("mac"), where, "match mac"))
    except ValueError:
        raise UsageError(f"{where}: match mac is not a MAC address") from None
    ips = []
    for v in _as_list(value.get("ip"), where, "match ip"):
        try:
            ips.append(str(ipaddress.ip_address(v.strip())))
        except ValueError:
            raise UsageError(f"{where}: match ip {v!r} is not an IP address") from None
    ids = []
    for v in _as_list(value.get("device"), where, "match device"):
        if not re.fullmatch(r"(mac|ip):\S+", v.strip()):
            raise UsageError(f"{where}: match device {v!r} is not a device id (mac:... or ip:...)")
        ids.append(DeviceID(v.strip()))
    return macs, tuple(ips), tuple(ids)


# --- adb output ----------------------------------------------------------------------------------


@dataclass
class _AdbFacts:
    identifiers: list[KnownIdentifier] = field(default_factory=list)
    wifi_macs: list[str] = field(default_factory=list)
    model: str | None = None


_GETPROP = re.compile(r"^\[([\w.-]+)\]: \[(.*)\]\s*$")
_SERIAL_PROPS = frozenset(("ro.serialno", "ro.boot.serialno", "ril.serialnumber", "sys.serialnumber"))
_PLACEHOLDERS = frozenset(("", "unknown", "null", "0123456789abcdef", "0000000000000000"))
_KEY_VALUE = re.compile(r"(?<![\w.])([A-Za-z][A-Za-z0-9_ ]{1,30}?)\s*[=:]\s*(\+?[0-9A-Fa-f][0-9A-Fa-f]*)\b")
_FACT_KEYS = {
    "imei": "imei",
    "imei1": "imei",
    "imei2": "imei",
    "deviceid": "imei",
    "meid": "meid",
    "imsi": "imsi",
    "subscriberid": "imsi",
    "iccid": "iccid",
    "line1number": "phone",
    "msisdn": "phone",
    "phonenumber": "phone",
    "mynumber": "phone",
}
_HEX_WORD = re.compile(r"\b[0-9a-fA-F]{8}\b")
_ANDROID_ID_LINE = re.compile(r"^[0-9a-f]{16}$")
_IMEI_LINE = re.compile(r"^\d{15}$")
_MAC_LINE = re.compile(r"^(?:link/ether\s+)?([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})\b")
_NOT_MACS = frozenset(("00:00:00:00:00:00", "02:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"))
"""All-zero, broadcast, and the constant MAC Android reports to apps since 6.0."""
_ADID = re.compile(r"adid_key\W+([0-9a-fA-F-]{36})")


def _parse_adb(text: str, source: str) -> _AdbFacts:
    facts = _AdbFacts()
    manufacturer = model = None
    lines = text.split("\n")
    parcel: list[str] | None = None
    for line in lines:
        s = line.strip()
        if parcel is not None:
            parcel.append(s)
            if s.endswith(")"):
                _parcel_fact(facts, parcel, source)
                parcel = None
            continue
        if s.startswith("Result: Parcel("):
            parcel = [s[len("Result: Parcel(") :]]
            if s.endswith(")"):
                _parcel_fact(facts, parcel, source)
                parcel = None
            continue
        if m := _GETPROP.match(s):
            key, value = m.group(1), m.group(2).strip()
            if key == "ro.product.model":
                model = value
            elif key == "ro.product.manufacturer":
                manufacturer = value
            else:
                _prop_fact(facts, key, value, source)
            continue
        if _ANDROID_ID_LINE.match(s):
            _add(facts, "android_id", s, f"{source}: android_id")
        elif _IMEI_LINE.match(s) and luhn_valid(s):
            _add(facts, "imei", s, f"{source}: get-imei")
        elif (m := _MAC_LINE.match(s)) and normalise_mac(m.group(1)) not in _NOT_MACS:
            mac = normalise_mac(m.group(1))
            facts.wifi_macs.append(mac)
            _add(facts, "mac", mac, f"{source}: interface address")
        elif m := _ADID.search(s):
            _add(facts, "advertising_id", m.group(1), f"{source}: adid_key")
        elif s.lower().startswith("android_id="):
            _add(facts, "android_id", s.split("=", 1)[1], f"{source}: android_id")
        else:
            _line_facts(facts, s, source)
    if model:
        facts.model = f"{manufacturer} {model}" if manufacturer else model
    return facts


def _add(facts: _AdbFacts, kind: str, value: str, source: str) -> bool:
    try:
        norm = normalise(kind, value)
    except ValueError:
        return False
    if kind == "serial" and norm.lower() in _PLACEHOLDERS:
        return False
    if all((i.kind, i.value) != (kind, norm) for i in facts.identifiers):
        facts.identifiers.append(KnownIdentifier(kind, norm, source))
    return True


def _prop_fact(facts: _AdbFacts, key: str, value: str, source: str) -> None:
    where = f"{source}: [{key}]"
    lower = key.lower()
    if key in _SERIAL_PROPS:
        _add(facts, "serial", value, where)
    elif "imei" in lower:
        _add(facts, "imei", value, where)
    elif "meid" in lower:
        _add(facts, "meid", value, where)
    elif "iccid" in lower:
        _add(facts, "iccid", value, where)
    elif "imsi" in lower:
        _add(facts, "imsi", value, where)
    elif "msisdn" in lower:
        _add(facts, "phone", value, where)
    elif "macaddr" in lower or "wifimac" in lower or "wifi.mac" in lower or "wlan.mac" in lower:
        try:
            mac = normalise_mac(value)
        except ValueError:
            return
        if mac not in _NOT_MACS and _add(facts, "mac", mac, where) and "bt" not in lower:
            facts.wifi_macs.append(mac)


def _line_facts(facts: _AdbFacts, line: str, source: str) -> None:
    if "=" not in line and ":" not in line:
        return
    for key, value in _KEY_VALUE.findall(line):
        compact = key.replace(" ", "").replace("_", "")
        if len(compact) > 1 and compact[0] == "m" and compact[1].isupper():
            compact = compact[1:]  # Android field names: mImei, mLine1Number
        kind = _FACT_KEYS.get(compact.lower())
        if kind == "imei" and re.fullmatch(r"[0-9A-Fa-f]{14}", value) and not value.isdigit():
            kind = "meid"  # "Device ID" of a CDMA phone
        if kind is not None:
            _add(facts, kind, value, f"{source}: {key.strip()}")


def _parcel_fact(facts: _AdbFacts, lines: list[str], source: str) -> None:
    words: list[str] = []
    for line in lines:
        body = line.split("'", 1)[0]  # drop the ASCII gutter
        if ":" in body and body.lstrip().startswith("0x"):
            body = body.split(":", 1)[1]  # drop the "0x00000010:" offset
        words.extend(_HEX_WORD.findall(body))
    data = b"".join(int(w, 16).to_bytes(4, "little") for w in words)
    if len(data) < 8 or int.from_bytes(data[0:4], "little") != 0:
        return  # an exception parcel (no permission, no such call) carries no value
    length = int.from_bytes(data[4:8], "little", signed=True)
    if length <= 0 or 8 + 2 * length > len(data):
        return
    value = data[8 : 8 + 2 * length].decode("utf-16-le", errors="replace").strip()
    where = f"{source}: service call parcel"
    digits = value.lstrip("+")
    if digits.isdigit() and len(value) == 15 and luhn_valid(value):
        _add(facts, "imei", value, where)
    elif re.fullmatch(r"[0-9A-Fa-f]{14}", value) and not value.isdigit():
        _add(facts, "meid", value, where)
    elif value.isdigit() and 18 <= len(value) <= 22 and value.startswith("89"):
        _add(facts, "iccid", value, where)
    elif value.isdigit() and len(value) == 15:
        _add(facts, "imsi", value, where)
    elif digits.isdigit() and (value.startswith("+") or 5 <= len(value) <= 14):
        _add(facts, "phone", value, where)


def _adb_entry(path: Path, text: str) -> DeviceIdentifiers:
    facts = _parse_adb(text, str(path))
    if not facts.identifiers:
        raise UsageError(f"{path}: adb output with no identifier phonehome can read")
    if not facts.wifi_macs:
        raise UsageError(
            f"{path}: adb output names no Wi-Fi MAC to match a device; list it under 'adb:' in an "
            "identifiers YAML file with a 'match:' (see phonehome.analyze.identifiers)"
        )
    macs = tuple(dict.fromkeys(facts.wifi_macs))
    name = facts.model or path.name
    return DeviceIdentifiers(name, macs, (), (), tuple(facts.identifiers), None, str(path), facts.model)
