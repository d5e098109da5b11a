"""Finds a device's identifiers, and identifier-like values, in the HTTP requests it sent.

``LeakScanner.scan(request, device_id)`` is called once per readable request; ``results()``
returns the ``Leak`` values, aggregated per device, host, identifier, encoding and location.

**Known identifiers** (from ``analyze/identifiers.py``). For every identifier the scanner
precomputes the forms a device or SDK may send:

* plain: the value and its usual notations (MAC with ``:``, ``-``, none and Cisco dots, upper and
  lower case; IMEI with and without its check digit; phone numbers with ``+``, ``00`` or no
  international prefix and the local forms given; advertising id with and without hyphens);
* ``url``: percent-encoded (only when that differs from plain);
* ``hex``: hex of the form's bytes;
* ``base64``: standard and URL-safe alphabets. A value inside a longer base64 blob is found too:
  for each of the three byte alignments the value can have in the blob, only the characters that
  depend on the value alone are searched (at least 8 of them);
* ``md5``/``sha1``/``sha256``: hex digests of each form.

All of a device's forms go into one Aho-Corasick automaton (pyahocorasick), which runs once over
each text: the URL (as sent, and percent-decoded when it has escapes), the request headers (all
values joined, each located as ``header:<Name>``) and the body (``body``, or ``body:<field>``
when the body is JSON or form-encoded: the body is parsed only after a hit, to name the field).
Texts are lower-cased before the pass (case-insensitive for everything but base64), and base64
hits are then compared with the original text, case and all. A plain, URL, hex or hash hit must
not touch another character of its own class (digit, hex digit or letter/digit), so a 14-digit
IMEI does not match inside the 15-digit form and a short serial not inside a longer word.

**Home coordinates** are matched at three decimals (about 110 m): the scanner searches for the
latitude and longitude rounded to 0.001°, and the neighbouring 0.001° on either side, as the
start of a decimal number (more decimals may follow; the sign must agree). A location leak is a
latitude hit and a longitude hit within 64 characters of each other in the same text.

**Generic patterns** (identifier ``pattern:<kind>``, lower confidence): Luhn-valid 15-digit
IMEIs, MAC addresses (``:`` or ``-``), coordinate pairs with 4+ decimals (next to each other,
or named lat/lon/gps/geo/location nearby), e-mail addresses and E.164 numbers. A regular
expression alternation over every byte runs at about 2 MB/s in CPython; instead each text is
translated (``bytes.translate``) to character classes once, candidates are found with literal
``find`` (15 digits in a row, ``xx:xx:xx:xx:xx:xx``, ``.dddd``, ``+dddddddd``, ``@``) and only
candidates are checked in Python (at most ``MAX_GENERIC_CHECKS`` candidates and
``MAX_GENERIC_HITS`` hits per kind and text). E-mail addresses need two characters before the
``@`` and before the top-level domain, which must be in one case. Generic
hits equal to one of the device's known identifiers are not reported again, and a MAC equal to
the one the device used on the network (its ``mac:`` device id) is reported as identifier ``mac``
even without an identifiers file.

A leak's ``masked`` value keeps at most the first and last two characters of the identifier;
raw values are kept nowhere in the results (field and host names that contain an identifier are
replaced by ``*``). ``count`` is the number of requests in which the identifier appeared in that
form at that location.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import itertools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

import ahocorasick

from phonehome.analyze.identifiers import (
    DeviceIdentifiers,
    GeoPoint,
    KnownIdentifier,
    luhn_valid,
    mask,
)
from phonehome.model import DeviceID, Leak
from phonehome.sources.interface import MAX_BODY_BYTES, HttpRequest

MAX_FIELD_BYTES = 1 << 16
"""The URL and each header value are searched up to this many bytes."""
MAX_GENERIC_CHECKS = 4096
"""Generic-pattern candidates examined per pattern kind and text (each ``@``, ``.dddd``, ...)."""
MAX_GENERIC_HITS = 64
"""Generic-pattern hits kept per pattern kind and text."""
MAX_GENERIC_LEAKS = 10_000
"""Distinct generic-pattern leaks kept; further ones are counted in ``dropped``."""
MAX_HITS = 4096
"""Automaton hits examined per text (a body repeating a value thousands of times stays cheap)."""
MAX_JSON_LEAVES = 20_000
"""JSON values examined to name the field of a body hit."""
MIN_FRAGMENT = 8
"""Shortest base64 fragment searched; shorter ones would match random base64 too often."""
COORD_WINDOW = 64
"""Latitude and longitude must be this close (characters) to count as one location."""

CONFIDENCE = {
    "plain": 0.99,
    "url": 0.98,
    "hex": 0.97,
    "base64": 0.96,
    "md5": 0.9,
    "sha1": 0.9,
    "sha256": 0.9,
}
"""Confidence of a known identifier by how it appeared."""
LOCATION_CONFIDENCE = 0.9
OWN_MAC_CONFIDENCE = 0.95
"""A MAC in the device's requests equal to the MAC it used on the network (found by the generic
pattern, so only with ``:`` or ``-`` separators, when no identifiers file lists it)."""
GENERIC_CONFIDENCE = {"imei": 0.5, "mac": 0.4, "gps": 0.35, "email": 0.5, "phone": 0.3}
"""Confidence of generic hits; IMEI and GPS gain 0.1-0.15 when named nearby (``imei``, ``lat``)."""

_DIGITS = "0123456789"
_HEX = _DIGITS + "abcdef"
_WORD = _DIGITS + "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class _Variant:
    ident: int
    """Index of the identifier in the device's matcher."""
    encoding: str
    length: int
    exact: str | None
    """Case-sensitive text the hit must equal (base64 fragments)."""
    before: str
    """Characters that must not precede the hit."""
    after: str
    """Characters that must not follow the hit."""
    coord: str = ""
    """``lat`` or ``lon`` for home coordinates."""
    sign: int = 0
    """For coordinates: -1 must be negative, 1 must not be, 0 either."""


@dataclass(frozen=True, slots=True)
class _Ident:
    kind: str
    masked: str


class _Matcher:
    """One device's identifiers compiled into an automaton."""

    def __init__(self, entry: DeviceIdentifiers) -> None:
        self.idents: list[_Ident] = []
        self.known: dict[str, set[str]] = {"imei": set(), "mac": set(), "email": set(), "phone": set()}
        self.lowered_values: list[str] = []
        """Every plain form, lower-cased: field and host names containing one are hidden."""
        self.home: GeoPoint | None = entry.home
        table: dict[str, dict[tuple[int, str, str | None, str], _Variant]] = {}
        for ident in entry.identifiers:
            index = len(self.idents)
            self.idents.append(_Ident(ident.kind, mask(ident.value)))
            forms = _forms(ident)
            self._remember(ident, forms)
            for variant_key, variant in _variants(index, forms):
                table.setdefault(variant_key, {})[(index, variant.encoding, variant.exact, variant.coord)] = (
                    variant
                )
        if entry.home is not None:
            index = len(self.idents)
            self.idents.append(_Ident("location", mask(entry.home.text)))
            for variant_key, variant in _coordinate_variants(index, entry.home):
                table.setdefault(variant_key, {})[(index, variant.coord, str(variant.sign), "")] = variant
        self.automaton: Any = None
        if table:
            self.automaton = ahocorasick.Automaton()
            for key, variants in table.items():
                self.automaton.add_word(key, tuple(variants.values()))
            self.automaton.make_automaton()

    def _remember(self, ident: KnownIdentifier, forms: list[str]) -> None:
        self.lowered_values.extend(f.lower() for f in forms if len(f) >= 6)
        if ident.kind in ("imei", "mac", "email"):
            self.known[ident.kind].add(ident.value.lower())
        elif ident.kind == "phone":
            self.known["phone"].update(f.lstrip("+") for f in forms)

    def hides(self, name: str) -> bool:
        """True when ``name`` contains one of the device's identifiers."""
        low = name.lower()
        return any(v in low for v in self.lowered_values)


def _forms(ident: KnownIdentifier) -> list[str]:
    """The notations of one identifier a device may send, case as sent (deduplicated)."""
    v = ident.value
    kind = ident.kind
    if kind == "imei":
        forms = [v, v[:14]]
    elif kind == "mac":
        bare = v.replace(":", "")
        forms = [v, v.replace(":", "-"), bare, f"{bare[0:4]}.{bare[4:8]}.{bare[8:12]}"]
        forms += [f.upper() for f in forms[:3]]
    elif kind in ("meid", "android_id"):
        forms = [v, v.upper()]
    elif kind == "advertising_id":
        bare = v.replace("-", "")
        forms = [v, v.upper(), bare, bare.upper()]
    elif kind == "phone":
        digits = v.lstrip("+")
        if v.startswith("+"):
            forms = [v, digits, "00" + digits]
        else:
            forms = [v]
            if v.startswith("0") and not v.startswith("00") and len(v) > 7:
                forms.append(v[1:])  # national significant number, without the trunk prefix
    elif kind == "email":
        forms = [v, v.lower()]
    elif kind == "serial" or kind.startswith("other:"):
        forms = [v, v.upper(), v.lower()]
    else:  # imsi, iccid
        forms = [v]
    return list(dict.fromkeys(f for f in forms if len(f) >= 5))


def _edge(ch: str) -> str:
    if ch in _DIGITS:
        return _DIGITS
    if ch in _HEX:
        return _HEX
    if ch in _WORD:
        return _WORD
    return ""


def _bounded(index: int, encoding: str, text: str, hex_text: bool = False) -> tuple[str, _Variant]:
    low = text.lower()
    if hex_text:
        before = after = _HEX
    else:
        cls = _DIGITS if low.lstrip("+").isdigit() else _HEX if all(c in _HEX for c in low) else _WORD
        before = cls if _edge(low[0]) else ""
        after = cls if _edge(low[-1]) else ""
    return low, _Variant(index, encoding, len(low), None, before, after)


def base64_fragments(value: bytes) -> list[str]:
    """Base64 text that appears wherever ``value`` is encoded inside a longer blob.

    For each alignment ``a`` of the value's first byte within a 3-byte group, the characters
    whose 6 bits come from the value alone: after skipping the characters that also carry the
    ``a`` preceding bytes, up to the last character completed by the value's own bits.
    Standard alphabet; padding is never part of a fragment.
    """
    out = []
    for a in range(3):
        encoded = base64.b64encode(b"\0" * a + value).decode("ascii")
        skip = (8 * a + 5) // 6
        stop = (8 * (a + len(value))) // 6
        out.append(encoded[skip:stop])
    return out


def _variants(index: int, forms: list[str]) -> Iterator[tuple[str, _Variant]]:
    for form in forms:
        raw = form.encode("utf-8")
        yield _bounded(index, "plain", form)
        quoted = quote(form, safe="")
        if quoted != form:
            yield _bounded(index, "url", quoted)
        yield _bounded(index, "hex", raw.hex(), hex_text=True)
        for frag in base64_fragments(raw):
            if len(frag) < MIN_FRAGMENT:
                continue
            for alphabet in (frag, frag.replace("+", "-").replace("/", "_")):
                yield alphabet.lower(), _Variant(index, "base64", len(alphabet), alphabet, "", "")
        for name in ("md5", "sha1", "sha256"):
            yield _bounded(index, name, hashlib.new(name, raw).hexdigest(), hex_text=True)


def _coordinate_variants(index: int, home: GeoPoint) -> Iterator[tuple[str, _Variant]]:
    for coord, degrees in (("lat", home.lat), ("lon", home.lon)):
        centre = round(degrees * 1000)
        for milli in (centre - 1, centre, centre + 1):
            text = f"{abs(milli) // 1000}.{abs(milli) % 1000:03d}"
            sign = -1 if milli < 0 else 1 if milli > 0 else 0
            yield text, _Variant(index, "plain", len(text), None, _DIGITS + ".", "", coord, sign)


# --- generic patterns ----------------------------------------------------------------------------


def _class_table(mapping: dict[bytes, bytes]) -> bytes:
    table = bytearray(b" " * 256)
    for chars, cls in mapping.items():
        for c in chars:
            table[c] = cls[0]
    return bytes(table)


_NUM_CLASSES = _class_table({b"0123456789": b"0", b".": b".", b"-": b"-", b"+": b"+", b"\n": b"\n"})
_HEX_CLASSES = _class_table({b"0123456789abcdefABCDEF": b"x", b":-": b":"})
_IMEI_RUN = b"0" * 15
_MAC_SHAPE = b"xx:xx:xx:xx:xx:xx"
_PHONE_START = b"+" + b"0" * 8
_DECIMALS = b".0000"
_ZEROS = re.compile(rb"0+")
_SECOND_COORD = re.compile(rb"[^0.\n]{1,32}?(-?)(0{1,3})\.(0{4,12})")
_EMAIL_LOCAL = re.compile(rb"[A-Za-z0-9._%+-]+\Z")
_EMAIL_DOMAIN = re.compile(
    rb"[A-Za-z0-9][A-Za-z0-9-]{0,62}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.([a-z]{2,24}|[A-Z]{2,24})(?![A-Za-z0-9-])"
)
_NOT_TLDS = frozenset(b"png jpg jpeg gif svg webp ico js css json html htm xml txt mp4 webm".split())
_NOT_MACS = frozenset(("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "02:00:00:00:00:00"))
_COORD_WORDS = (b"lat", b"lon", b"lng", b"gps", b"geo", b"loc", b"coord")
_IMEI_WORDS = (b"imei", b"deviceid", b"device_id", b"did")


@dataclass(frozen=True, slots=True)
class _Generic:
    kind: str
    value: str
    start: int
    end: int
    confidence: float


def _generic_hits(data: bytes) -> list[_Generic]:
    """Identifier-like values in ``data`` (see the module docstring for the method)."""
    finders: list[Iterator[_Generic]] = []
    num = data.translate(_NUM_CLASSES)
    if b"0000" in num:  # every numeric pattern has 4 digits in a row
        finders += [_imeis(data, num), _coordinates(data, num), _phones(data, num)]
    if b":" in data or b"-" in data:
        finders.append(_macs(data))
    if b"@" in data:
        finders.append(_emails(data))
    return [hit for finder in finders for hit in itertools.islice(finder, MAX_GENERIC_HITS)]


def _near(data: bytes, start: int, words: tuple[bytes, ...], span: int = 32) -> bool:
    window = data[max(0, start - span) : start].lower()
    return any(w in window for w in words)


def _imeis(data: bytes, num: bytes) -> Iterator[_Generic]:
    pos = checked = 0
    while checked < MAX_GENERIC_CHECKS:
        i = num.find(_IMEI_RUN, pos)
        if i < 0:
            return
        run = _ZEROS.match(num, i)
        end = run.end() if run else i + 15
        pos = end
        checked += 1
        if end - i != 15 or (i and num[i - 1] in b".-+") or num[end : end + 1] == b".":
            continue
        if data[i - 1 : i].isalnum() or data[end : end + 1].isalnum():
            continue  # part of a token such as a hex signature or a session id
        value = data[i:end].decode("ascii")
        if luhn_valid(value) and len(set(value)) > 2:
            bonus = 0.1 if _near(data, i, _IMEI_WORDS) else 0.0
            yield _Generic("imei", value, i, end, GENERIC_CONFIDENCE["imei"] + bonus)


def _phones(data: bytes, num: bytes) -> Iterator[_Generic]:
    pos = checked = 0
    while checked < MAX_GENERIC_CHECKS:
        i = num.find(_PHONE_START, pos)
        if i < 0:
            return
        run = _ZEROS.match(num, i + 1)
        end = run.end() if run else i + 9
        pos = end
        checked += 1
        if end - i - 1 > 15 or data[i + 1] == 0x30 or num[end : end + 1] == b".":
            continue
        if i and (data[i - 1 : i].isalnum() or num[i - 1] == 0x2B):
            continue
        yield _Generic("phone", data[i:end].decode("ascii"), i, end, GENERIC_CONFIDENCE["phone"])


def _number_at(num: bytes, dot: int) -> tuple[int, bool] | None:
    """Start of the decimal number whose point is at ``dot`` and whether it is negative."""
    start = dot
    while start > 0 and dot - start < 3 and num[start - 1] == 0x30:
        start -= 1
    if start == dot or (start > 0 and num[start - 1] in b"0."):
        return None
    negative = start > 0 and num[start - 1] == 0x2D
    return (start - 1 if negative else start), negative


def _coordinates(data: bytes, num: bytes) -> Iterator[_Generic]:
    pos = checked = 0
    while checked < MAX_GENERIC_CHECKS:
        dot = num.find(_DECIMALS, pos)
        if dot < 0:
            return
        checked += 1
        run = _ZEROS.match(num, dot + 1)
        first_end = run.end() if run else dot + 5
        pos = first_end
        first = _number_at(num, dot)
        second = _SECOND_COORD.match(num, first_end)
        if first is None or second is None or second.end() - first_end > 64:
            continue
        if num[second.end() : second.end() + 1] in (b"0", b"."):
            continue
        lat_text = data[first[0] : first_end].decode("ascii")
        lon_start = second.start(1) if second.group(1) else second.start(2)
        lon_text = data[lon_start : second.end()].decode("ascii")
        try:
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            continue
        if abs(lat) > 90 or abs(lon) > 180 or (abs(lat) < 1 and abs(lon) < 1):
            continue
        between = data[first_end : second.start(2)].strip(b"- ")
        named = _near(data, first[0], _COORD_WORDS) or any(w in between.lower() for w in _COORD_WORDS)
        if not named and between not in (b",", b";", b"/", b"", b"|"):
            continue
        confidence = GENERIC_CONFIDENCE["gps"] + (0.15 if named else 0.0)
        pos = second.end()
        yield _Generic("gps", f"{lat_text},{lon_text}", first[0], second.end(), confidence)


def _macs(data: bytes) -> Iterator[_Generic]:
    hexc = data.translate(_HEX_CLASSES)
    pos = checked = 0
    while checked < MAX_GENERIC_CHECKS:
        i = hexc.find(_MAC_SHAPE, pos)
        if i < 0:
            return
        checked += 1
        end = i + len(_MAC_SHAPE)
        pos = end
        if (i and hexc[i - 1] in b"x:") or hexc[end : end + 1] in (b"x", b":"):
            continue
        text = data[i:end].decode("ascii")
        if len({text[2], text[5], text[8], text[11], text[14]}) != 1:
            continue
        value = text.lower().replace("-", ":")
        if value not in _NOT_MACS:
            yield _Generic("mac", value, i, end, GENERIC_CONFIDENCE["mac"])


def _emails(data: bytes) -> Iterator[_Generic]:
    pos = checked = 0
    while checked < MAX_GENERIC_CHECKS:
        at = data.find(b"@", pos)
        if at < 0:
            return
        checked += 1
        pos = at + 1
        local = _EMAIL_LOCAL.search(data, max(0, at - 64), at)
        if local is None:
            continue
        start = local.start()
        while start < at and data[start] == 0x2E:
            start += 1
        if at - start < 2 or (start == at - 64 and start > 0 and data[start - 1 : start].isalnum()):
            continue
        domain = _EMAIL_DOMAIN.match(data, at + 1, at + 320)
        if domain is None or domain.start(1) - domain.start() < 3 or domain.group(1).lower() in _NOT_TLDS:
            continue
        local_text = data[start:at].decode("ascii")
        value = f"{local_text}@{domain.group(0).decode('ascii').lower()}"
        pos = domain.end()
        yield _Generic("email", value, start, domain.end(), GENERIC_CONFIDENCE["email"])


# --- scanning ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Acc:
    ip: str | None
    masked: str
    confidence: float
    first_seen: float
    last_seen: float
    count: int
    source: str
    transport: str


_Found = dict[tuple[str, ...], tuple[str, str, float]]
"""One request's hits: aggregation key -> (identifier, masked value, confidence)."""


@dataclass(frozen=True, slots=True)
class _Hit:
    ident: int
    encoding: str
    segment: int
    start: int
    end: int
    coord: str = ""


class _Text:
    """One searched text: its bytes, named segments, and (when needed) its str views."""

    __slots__ = ("data", "names", "starts", "_low", "_orig")

    def __init__(self, parts: list[tuple[str, bytes]]) -> None:
        self.names = [name for name, _ in parts]
        self.starts: list[int] = []
        offset = 0
        for _, chunk in parts:
            self.starts.append(offset)
            offset += len(chunk) + 1
        self.data = b"\n".join(chunk for _, chunk in parts)
        self._low: str | None = None
        self._orig: str | None = None

    @property
    def low(self) -> str:
        """Lower-cased (ASCII only, so offsets stay) latin-1 view: one character per byte."""
        if self._low is None:
            self._low = self.data.lower().decode("latin-1")
        return self._low

    @property
    def orig(self) -> str:
        if self._orig is None:
            self._orig = self.data.decode("latin-1")
        return self._orig

    def segment(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos) - 1


class LeakScanner:
    """Searches requests for each device's known identifiers and for generic identifier patterns.

    ``identifiers_by_device`` maps audit device ids to what is known about them (see
    ``identifiers.bind_identifiers``). ``generic`` turns the lower-confidence generic patterns on.
    Not thread-safe; one scanner per audit.
    """

    def __init__(
        self, identifiers_by_device: Mapping[DeviceID, DeviceIdentifiers], *, generic: bool = True
    ) -> None:
        self._entries = dict(identifiers_by_device)
        self._matchers: dict[DeviceID, _Matcher | None] = {}
        self._generic = generic
        self._acc: dict[tuple[str, ...], _Acc] = {}
        self._generic_keys = 0
        self.dropped = 0
        """Generic leaks not kept because ``MAX_GENERIC_LEAKS`` was reached."""
        self.requests = 0
        """Requests scanned."""
        self.bytes = 0
        """Bytes searched (URL, header values and body)."""

    def _matcher(self, device_id: DeviceID) -> _Matcher | None:
        if device_id not in self._matchers:
            entry = self._entries.get(device_id)
            self._matchers[device_id] = _Matcher(entry) if entry is not None else None
        return self._matchers[device_id]

    def scan(self, request: HttpRequest, device_id: DeviceID, identifiers_of: DeviceID | None = None) -> None:
        """Search one request sent by ``device_id``; results accumulate until ``results()``.

        ``identifiers_of`` names the identifiers entry to search for when it is not the sender's
        own key (a proxy record whose client is known only by an address the entry does not name).
        """
        matcher = self._matcher(identifiers_of or device_id)
        if (matcher is None or matcher.automaton is None) and not self._generic:
            return
        self.requests += 1
        url = _utf8(request.url[:MAX_FIELD_BYTES])[:MAX_FIELD_BYTES]
        parts: list[tuple[str, bytes]] = [("url", url)]
        if b"%" in url:
            parts.append(("url:decoded", _utf8(unquote(request.url[:MAX_FIELD_BYTES]))))
        content_type = ""
        for name, value in request.headers:
            parts.append((f"header:{name}", _utf8(value[:MAX_FIELD_BYTES])[:MAX_FIELD_BYTES]))
            if name.lower() == "content-type":
                content_type = value.lower()
        head = _Text(parts)
        texts = [head]
        body = request.body[:MAX_BODY_BYTES]
        if body:
            texts.append(_Text([("body", body)]))
        self.bytes += sum(len(t.data) for t in texts)
        found: _Found = {}
        if matcher is not None and matcher.automaton is not None:
            for text in texts:
                self._known(matcher, text, content_type, found)
        if self._generic:
            own_mac = device_id[4:] if device_id.startswith("mac:") else ""
            for text in texts:
                self._generic_pass(matcher, text, content_type, found, own_mac)
        if found:
            self._record(request, device_id, matcher, found)

    # known identifiers

    def _known(self, matcher: _Matcher, text: _Text, content_type: str, found: _Found) -> None:
        hits = _outermost(_known_hits(matcher, text))
        if not hits:
            return
        raw_url = {h.ident for h in hits if text.names[h.segment] == "url"}
        coords: list[_Hit] = []
        fields = _FieldNamer(text, content_type, matcher)
        for hit in hits:
            if hit.coord:
                coords.append(hit)
                continue
            name = text.names[hit.segment]
            encoding = hit.encoding
            if name == "url:decoded":
                if hit.ident in raw_url:
                    continue
                name = "url"
                encoding = "url" if encoding == "plain" else encoding
            elif name == "body":
                name = fields.name(hit.start, hit.end)
            ident = matcher.idents[hit.ident]
            key = ("k", str(hit.ident), ident.kind, encoding, name)
            found.setdefault(key, (ident.kind, ident.masked, CONFIDENCE[encoding]))
        if coords:
            self._locations(matcher, text, coords, fields, found)

    def _locations(
        self,
        matcher: _Matcher,
        text: _Text,
        coords: list[_Hit],
        fields: _FieldNamer,
        found: _Found,
    ) -> None:
        lats = [h for h in coords if h.coord == "lat"]
        lons = [h for h in coords if h.coord == "lon"]
        for lat in lats:
            pair = next(
                (
                    lon
                    for lon in lons
                    if lon.segment == lat.segment
                    and lon.start != lat.start
                    and abs(lon.start - lat.start) <= COORD_WINDOW
                ),
                None,
            )
            if pair is None:
                continue
            name = text.names[lat.segment]
            if name == "url:decoded":
                name = "url"
            elif name == "body":
                name = fields.name(lat.start, lat.end)
            ident = matcher.idents[lat.ident]
            key = ("k", str(lat.ident), ident.kind, "plain", name)
            found.setdefault(key, (ident.kind, ident.masked, LOCATION_CONFIDENCE))

    # generic patterns

    def _generic_pass(
        self,
        matcher: _Matcher | None,
        text: _Text,
        content_type: str,
        found: _Found,
        own_mac: str,
    ) -> None:
        hits = _generic_hits(text.data)
        if not hits:
            return
        fields = _FieldNamer(text, content_type, matcher)
        for g in hits:
            if matcher is not None and _is_known(matcher, g):
                continue
            name = text.names[text.segment(g.start)]
            if name == "url:decoded":
                name = "url"
            elif name == "body":
                name = fields.name(g.start, g.end)
            if g.kind == "mac" and g.value == own_mac:
                # The MAC the device used on the network is known without an identifiers file.
                found.setdefault(
                    ("k", "network-mac", "mac", "plain", name), ("mac", mask(g.value), OWN_MAC_CONFIDENCE)
                )
                continue
            digest = hashlib.sha256(g.value.encode()).hexdigest()[:16]
            key = ("g", digest, f"pattern:{g.kind}", "plain", name)
            if key not in found or found[key][2] < g.confidence:
                found[key] = (f"pattern:{g.kind}", mask(g.value), g.confidence)

    def _record(
        self,
        request: HttpRequest,
        device_id: DeviceID,
        matcher: _Matcher | None,
        found: _Found,
    ) -> None:
        host = _host(request, matcher)
        for key, (_, masked, confidence) in found.items():
            full = (device_id, host, *key)
            acc = self._acc.get(full)
            if acc is None:
                if key[0] == "g":
                    if self._generic_keys >= MAX_GENERIC_LEAKS:
                        self.dropped += 1
                        continue
                    self._generic_keys += 1
                self._acc[full] = _Acc(
                    request.server_ip,
                    masked,
                    confidence,
                    request.time,
                    request.time,
                    1,
                    request.source,
                    request.transport,
                )
                continue
            acc.count += 1
            acc.first_seen = min(acc.first_seen, request.time)
            acc.last_seen = max(acc.last_seen, request.time)
            acc.confidence = max(acc.confidence, confidence)

    def results(self) -> list[Leak]:
        """Every leak found so far, sorted by device, host, identifier, location and encoding."""
        out = [
            Leak(
                device_id=DeviceID(key[0]),
                host=key[1],
                ip=acc.ip,
                identifier=key[4],
                encoding=key[5],
                location=key[6],
                masked=acc.masked,
                confidence=round(acc.confidence, 3),
                first_seen=acc.first_seen,
                last_seen=acc.last_seen,
                count=acc.count,
                source=acc.source,
                transport=acc.transport,
            )
            for key, acc in self._acc.items()
        ]
        out.sort(key=lambda k: (k.device_id, k.host, k.identifier, k.location, k.encoding, k.masked))
        return out


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "backslashreplace")  # lone surrogates must not raise


def _known_hits(matcher: _Matcher, text: _Text) -> Iterator[_Hit]:
    low = text.low
    n = len(low)
    for seen, (end, variants) in enumerate(matcher.automaton.iter(low)):
        if seen >= MAX_HITS:
            return
        for v in variants:
            start = end - v.length + 1
            if v.exact is not None and text.orig[start : end + 1] != v.exact:
                continue
            if v.before and start > 0 and low[start - 1] in v.before:
                continue
            if v.after and end + 1 < n and low[end + 1] in v.after:
                continue
            if v.coord:
                prev = low[start - 1] if start > 0 else ""
                if (v.sign < 0 and prev != "-") or (v.sign > 0 and prev == "-"):
                    continue
            yield _Hit(v.ident, v.encoding, text.segment(start), start, end + 1, v.coord)


def _outermost(hits: Iterator[_Hit]) -> list[_Hit]:
    """Hits not inside a longer hit of the same identifier (``447...`` inside ``%2B447...``)."""
    ordered = sorted(hits, key=lambda h: (h.start, -h.end))
    kept: list[_Hit] = []
    reach: dict[tuple[int, str], int] = {}
    for hit in ordered:
        key = (hit.ident, hit.coord)
        if reach.get(key, -1) >= hit.end:
            continue
        kept.append(hit)
        reach[key] = max(reach.get(key, -1), hit.end)
    return kept


def _is_known(matcher: _Matcher, g: _Generic) -> bool:
    if g.kind == "phone":
        return g.value.lstrip("+") in matcher.known["phone"]
    if g.kind == "gps":
        home = matcher.home
        if home is None:
            return False
        lat, lon = (float(x) for x in g.value.split(","))
        return abs(lat - home.lat) <= 0.002 and abs(lon - home.lon) <= 0.002
    return g.value.lower() in matcher.known.get(g.kind, ())


_NAME = re.compile(r"[A-Za-z_$@][\w$@.:\[\]-]{0,47}")
_FORM_SHAPE = re.compile(rb"[\w.%\[\]*-]{1,64}=[^&\s]*(?:&[\w.%\[\]*-]{1,64}=[^&\s]*)*")
_LONG_DIGITS = re.compile(r"\d{6}")


def _safe_name(name: str, matcher: _Matcher | None) -> str:
    """A field or header name fit to show: ``*`` when it could itself carry an identifier."""
    if not _NAME.fullmatch(name) or _LONG_DIGITS.search(name):
        return "*"
    if matcher is not None and matcher.hides(name):
        return "*"
    return name


def _host(request: HttpRequest, matcher: _Matcher | None) -> str:
    host = request.host.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host or (request.server_ip or "")
    if matcher is not None and matcher.hides(host):
        host = ".".join("*" if matcher.hides(label) else label for label in host.split("."))
    return host


class _FieldNamer:
    """Names the body field a hit is in; parses the body only when first asked."""

    def __init__(self, text: _Text, content_type: str, matcher: _Matcher | None) -> None:
        self._text = text
        self._content_type = content_type
        self._matcher = matcher
        self._kind: str | None = None
        self._leaves: list[tuple[str, str]] = []
        self._paths: dict[str, str] = {}

    def name(self, start: int, end: int) -> str:
        if self._text.names != ["body"]:
            return "body"
        if self._kind is None:
            self._parse()
        if self._kind == "form":
            return self._form_field(start)
        if self._kind == "json":
            needle = self._text.orig[start:end]
            if needle not in self._paths:
                self._paths[needle] = self._json_path(needle)
            return self._paths[needle]
        return "body"

    def _json_path(self, needle: str) -> str:
        low = needle.lower()
        for path, leaf in self._leaves:
            if needle in leaf or low in leaf.lower():
                return f"body:{path}"
        return "body"

    def _parse(self) -> None:
        data = self._text.data
        ct = self._content_type
        self._kind = "raw"
        if "json" in ct or data[:256].lstrip()[:1] in (b"{", b"["):
            try:
                doc = json.loads(data.decode("utf-8", errors="replace"))
            except ValueError:
                return
            self._kind = "json"
            self._leaves = list(_json_leaves(doc, self._matcher))
        elif "x-www-form-urlencoded" in ct:
            self._kind = "form"
        elif not ct:
            sample = data[:1024]
            shape = _FORM_SHAPE.match(sample)
            if shape is not None and shape.end() == len(sample):
                self._kind = "form"

    def _form_field(self, start: int) -> str:
        data = self._text.data
        pair_start = data.rfind(b"&", 0, start) + 1
        eq = data.find(b"=", pair_start)
        if eq < 0 or eq >= start:
            return "body"
        name = unquote_plus(data[pair_start:eq].decode("latin-1"))
        return f"body:{_safe_name(name, self._matcher)}"


def _json_leaves(doc: object, matcher: _Matcher | None) -> Iterator[tuple[str, str]]:
    stack: list[tuple[str, object]] = [("", doc)]
    seen = 0
    while stack and seen < MAX_JSON_LEAVES:
        path, node = stack.pop()
        seen += 1
        if isinstance(node, dict):
            for key, value in reversed(list(node.items())):
                part = _safe_name(str(key), matcher)
                stack.append((f"{path}.{part}" if path else part, value))
        elif isinstance(node, list):
            stack.extend((f"{path}[]", value) for value in reversed(node))
        elif node is not None and not isinstance(node, bool):
            yield path or "(value)", str(node)
