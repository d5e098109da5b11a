"""HAR 1.2 files (browser developer tools, mitmproxy ``hardump``, Charles, Fiddler exports).

Each ``log.entries[]`` item gives one request: ``request.method``, ``request.url``,
``request.headers[{name, value}]``, ``request.postData{mimeType, text, params[], encoding?}``,
``startedDateTime`` and, when the writer knew it, ``serverIPAddress``.

HAR says nothing about the client: requests come out with ``client_ip=""`` and no MAC, and the
pipeline attributes them to the device the user names (or to one pseudo-device for the file).
``postData.text`` is the body as the tool showed it, normally already decoded; when it is base64
(``encoding: base64``) the bytes are decoded and any ``Content-Encoding`` undone. With only
``params`` (form fields), the body is rebuilt as ``application/x-www-form-urlencoded``.

Files are streamed with ijson's event parser, so a HAR of any size is read in bounded memory:
one entry at a time, and of it only the request, its time and the server address (responses
are skipped as they stream past). Without ijson the file is loaded whole, and files over 1 GB
are refused.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import datetime as dt
import ipaddress
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from phonehome.model import InputSummary
from phonehome.sources.bodies import TRUNCATED, RecordFile, decode_content, header, looks_compressed
from phonehome.sources.interface import MAX_BODY_BYTES, HttpRequest, Item, ProgressCallback, SourceError
from phonehome.sources.textfile import head_text

MAX_UNSTREAMED_BYTES = 1 << 30
"""Largest HAR loaded whole when ijson is not installed."""
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_CHECK_HEAD = 4096
_MAX_BASE64_CHARS = (8 * MAX_BODY_BYTES // 3) * 4
"""Base64 bodies are decoded up to 8 MB of bytes: room for compression, bounded all the same."""
_BAD_ENTRY = (KeyError, TypeError, ValueError, AttributeError, OverflowError)


def _ijson() -> Any:
    try:
        import ijson
    except ImportError:
        return None
    return ijson


_END = object()
_MAX_DEPTH = 64
"""Deepest JSON nesting built inside an entry's kept fields; HAR needs about six levels."""
_KEPT_FIELDS = frozenset({"request", "startedDateTime", "serverIPAddress"})
_OPENERS = frozenset({"start_map", "start_array"})
_CLOSERS = frozenset({"end_map", "end_array"})
Event = tuple[str, Any]


def _next(events: Iterator[Event]) -> Event:
    event = next(events, None)
    if event is None:
        raise ValueError("JSON ends early")
    return event


def _skip(events: Iterator[Event], first: Event) -> None:
    """Consumes the value that starts with ``first`` without building it."""
    if first[0] not in _OPENERS:
        return
    depth = 1
    for kind, _ in events:
        if kind in _OPENERS:
            depth += 1
        elif kind in _CLOSERS:
            depth -= 1
            if not depth:
                return
    raise ValueError("JSON ends inside a value")


def _build(events: Iterator[Event], first: Event) -> object:
    """The value that starts with ``first``, built without recursion and at most 64 levels deep."""
    kind, value = first
    if kind not in _OPENERS:
        return value
    root: dict[str, object] | list[object] = {} if kind == "start_map" else []
    stack = [root]
    key = ""
    for kind, value in events:
        if kind == "map_key":
            key = value
            continue
        if kind in _CLOSERS:
            stack.pop()
            if not stack:
                return root
            continue
        if kind in _OPENERS:
            value = {} if kind == "start_map" else []
        parent = stack[-1]
        if isinstance(parent, dict):
            parent[key] = value
        else:
            parent.append(value)
        if kind in _OPENERS:
            stack.append(value)
            if len(stack) > _MAX_DEPTH:
                raise ValueError(f"JSON nested more than {_MAX_DEPTH} levels deep")
    raise ValueError("JSON ends inside a value")


def _entry(events: Iterator[Event]) -> dict[str, object]:
    """One entry (its ``start_map`` consumed), keeping only the fields a request needs."""
    entry: dict[str, object] = {}
    while True:
        kind, key = _next(events)
        if kind != "map_key":
            return entry
        first = _next(events)
        if key in _KEPT_FIELDS:
            entry[key] = _build(events, first)
        else:
            _skip(events, first)  # the response, timings, cache...: never held


def _streamed_entries(events: Iterator[Event]) -> Iterator[object]:
    """``log.entries[]`` from ijson's basic events: ijson's own prefixed parser costs time and
    memory in the square of the nesting depth, which a hostile file could exploit."""
    if _next(events)[0] != "start_map":
        raise ValueError("the document is not a JSON object")
    while (event := _next(events))[0] == "map_key":
        value = _next(events)
        if event[1] != "log" or value[0] != "start_map":
            _skip(events, value)
            continue
        while (field := _next(events))[0] == "map_key":
            value = _next(events)
            if field[1] != "entries" or value[0] != "start_array":
                _skip(events, value)
                continue
            while (item := _next(events))[0] != "end_array":
                yield _entry(events) if item[0] == "start_map" else _build(events, item)


def _started(value: object) -> float | None:
    """Unix seconds from an ISO 8601 ``startedDateTime``; a time without zone is taken as UTC."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _ip(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        ip = ipaddress.ip_address(value.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ip)


def _headers(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        (str(h["name"]), str(h.get("value", "")))
        for h in value
        if isinstance(h, dict) and isinstance(h.get("name"), str)
    )


def _body(post: object, headers: tuple[tuple[str, str], ...]) -> tuple[bytes, str]:
    """``(body, note)`` from ``postData``."""
    if not isinstance(post, dict):
        return b"", ""
    text = post.get("text")
    if isinstance(text, str) and text:
        if str(post.get("encoding", "")).lower() == "base64":
            cut = len(text) > _MAX_BASE64_CHARS
            try:
                raw = base64.b64decode(text[:_MAX_BASE64_CHARS], validate=False)
            except (binascii.Error, ValueError):
                return b"", "undecodable base64"
            return decode_content(raw, header(headers, "content-encoding"), truncated=cut)
        raw = text.encode("utf-8", "replace")
        encoding = header(headers, "content-encoding")
        if encoding and looks_compressed(raw):
            body, note = decode_content(raw, encoding)
            if not note.startswith("undecodable"):
                return body, note
        return (raw[:MAX_BODY_BYTES], TRUNCATED) if len(raw) > MAX_BODY_BYTES else (raw, "")
    params = post.get("params")
    if isinstance(params, list) and params:
        fields = [
            (str(p.get("name", "")), str(p.get("value", "")))
            for p in params
            if isinstance(p, dict) and "name" in p
        ]
        raw = urlencode(fields).encode()
        return (raw[:MAX_BODY_BYTES], TRUNCATED) if len(raw) > MAX_BODY_BYTES else (raw, "")
    return b"", ""


class HarSource:
    """HTTP Archive (HAR) files, plain or gzip-compressed."""

    name = "har"

    def sniff(self, path: Path, head: bytes) -> float:
        text = head_text(head).lstrip()
        if not text.startswith("{") or '"log"' not in text:
            return -1.0
        return 0.95 if any(k in text for k in ('"entries"', '"creator"', '"version"')) else 0.6

    def read(self, path: Path, progress: ProgressCallback | None = None) -> Iterator[Item]:
        record = RecordFile(path)  # raises SourceError before anything is yielded
        try:
            head = record.stream.peek(_CHECK_HEAD)[:_CHECK_HEAD]  # type: ignore[attr-defined]
            if head.startswith(codecs.BOM_UTF8):
                record.stream.read(len(codecs.BOM_UTF8))
            text = head_text(head).lstrip()
            if not text:
                raise SourceError(f"{path}: empty file, not a HAR file")
            if not text.startswith("{") or '"log"' not in text:
                raise SourceError(f'{path}: not a HAR file (no JSON object with a "log" key)')
            ijson = _ijson()
            if ijson is None and record.size > MAX_UNSTREAMED_BYTES:
                raise SourceError(
                    f"{path}: HAR file of {record.size >> 20} MB is too large to load whole; "
                    "install ijson to stream it"
                )
        except OSError as e:
            record.close()
            raise SourceError(f"{path}: unreadable ({e})") from e
        except BaseException:
            record.close()
            raise
        return self._read(path, record, ijson, progress)

    def _entries(self, record: RecordFile, ijson: Any) -> Iterator[object]:
        if ijson is not None:
            yield from _streamed_entries(iter(ijson.basic_parse(record.stream, use_float=True)))
            return
        document = json.load(record.stream)
        log = document.get("log") if isinstance(document, dict) else None
        entries = log.get("entries") if isinstance(log, dict) else None
        if isinstance(entries, list):
            yield from entries

    def _read(
        self, path: Path, record: RecordFile, ijson: Any, progress: ProgressCallback | None
    ) -> Iterator[Item]:
        source = str(path)
        entries = 0
        skipped = 0
        errors: list[str] = []
        next_report = 1 << 23
        with record:
            stream = self._entries(record, ijson)
            while True:
                try:
                    entry = next(stream, _END)
                except Exception as e:  # noqa: BLE001 - ijson/json/gzip errors: keep what was read
                    where = f"after {entries} entries" if entries else "before the first entry"
                    message = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
                    if not entries:
                        raise SourceError(f"{path}: not a readable HAR file ({message})") from e
                    errors.append(f"stopped {where}: {message}")
                    break
                if entry is _END:
                    break
                entries += 1
                request = self._request(entry, source)
                if request is None:
                    skipped += 1
                else:
                    yield request
                if progress and record.bytes_read >= next_report:
                    progress("read", record.bytes_read, record.size)
                    next_report = record.bytes_read + (1 << 23)
            sha256 = record.sha256()
        if progress:
            progress("read", record.size, record.size)
        yield InputSummary(
            path=source,
            kind=f"har{record.kind_suffix}",
            packets=entries,
            sha256=sha256,
            errors=tuple(errors),
            skipped=skipped,
        )

    def _request(self, entry: object, source: str) -> HttpRequest | None:
        """The HttpRequest for one entry; None when it lacks a method, URL or time."""
        try:
            if not isinstance(entry, dict):
                return None
            req = entry["request"]
            method = str(req["method"]).strip().upper()
            url = str(req["url"]).strip()
            split = urlsplit(url)
            scheme = split.scheme.lower()
            host = (split.hostname or "").rstrip(".")
            port = split.port or _DEFAULT_PORTS.get(scheme, 0)
            started = _started(entry.get("startedDateTime"))
            if not method or not host or started is None:
                return None
            headers = _headers(req.get("headers"))
            body, note = _body(req.get("postData"), headers)
            return HttpRequest(
                client_mac=None,
                client_ip="",
                server_ip=_ip(entry.get("serverIPAddress")),
                server_port=port,
                time=started,
                method=method,
                host=host,
                url=url,
                headers=headers,
                body=body,
                source=source,
                transport="decrypted",
                body_note=note,
            )
        except _BAD_ENTRY:
            return None
