"""mitmproxy flow files (``mitmdump -w flows``): the requests the proxy decrypted.

A flow file is a plain sequence of tnetstrings (``<length>:<data><type>``, type one of
``, ; # ^ ! ~ ] }``), one dict per flow as ``Flow.get_state()`` returns it. mitmproxy writes a
dict's entries in reverse order, so ``type`` and ``version`` come last; keys are text (``;``) in
files from Python 3 versions and bytes (``,``) in 0.x files. The shapes handled, by the flow
format ``version``:

* 19 and later (mitmproxy 7+): ``client_conn.peername`` and ``server_conn.peername`` are
  ``[ip, port]``; ``server_conn.address`` is the host asked for.
* 2 to 18 (mitmproxy 2 to 6): ``client_conn.address`` and ``server_conn.ip_address``.
* 0.x and 1.0: the same wrapped as ``{"address": [ip, port]}``, bytes keys, ``httpversion``.

Requests carry ``method``, ``scheme``, ``host``, ``port``, ``path``, ``authority``, ``headers``
(``[[name, value], ...]`` as bytes) and ``content`` (still content-encoded) as bytes or text.

The reader streams: one flow at a time, and inside a flow the parts not needed (the response,
WebSocket or TCP messages) are skipped without being held in memory, so a flow with a large
download costs nothing. A value that would have to be held is refused over 256 MB. A truncated
or corrupt file keeps the flows read before the damage and says where it stopped.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from phonehome.model import InputSummary
from phonehome.sources.bodies import RecordFile, decode_content, header, header_text, host_name
from phonehome.sources.interface import (
    MAX_BODY_BYTES,
    HttpRequest,
    Item,
    ProgressCallback,
    SourceError,
)

MAX_VALUE_BYTES = 256 << 20
"""Largest tnetstring value read into memory; larger ones are only skipped over."""
_MAX_DIGITS = 9  # mitmproxy's own limit for a length prefix
_MAX_DEPTH = 32
_MAX_KEY = 256
_SKIP_CHUNK = 1 << 20
_TYPE_TAGS = frozenset(b",;#^!~]}")
_HEAD = re.compile(rb"\A(\d{1,9}):(\d{1,9}):([A-Za-z_]{1,32})([;,])")
_FLOW_KEYS = frozenset(
    {
        "websocket", "response", "request", "messages", "backup", "timestamp_created", "comment",
        "metadata", "marked", "is_replay", "intercepted", "server_conn", "client_conn", "error",
        "id", "type", "version", "mode", "live", "conn", "close_sender", "close_code",
    }
)  # fmt: skip
"""Top-level keys of ``Flow.get_state()`` across versions; the first one written is one of them."""
_WANTED = frozenset({"request", "client_conn", "server_conn", "type", "version"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class TnetError(ValueError):
    """The data is not a well-formed tnetstring (or ends early)."""


Value = None | bool | int | float | bytes | str | list["Value"] | dict[str, "Value"]


def _parse(data: bytes, start: int, end: int, depth: int) -> tuple[Value, int]:
    """The tnetstring at ``data[start:end]`` and where it ends."""
    colon = data.find(b":", start, min(end, start + _MAX_DIGITS + 1))
    if colon <= start or not data[start:colon].isdigit():
        raise TnetError("missing or invalid length prefix")
    size = int(data[start:colon])
    body, stop = colon + 1, colon + 1 + size
    if stop >= end:
        raise TnetError("value runs past its container")
    return _typed(data, body, stop, data[stop], depth), stop + 1


def _typed(data: bytes, start: int, stop: int, tag: int, depth: int) -> Value:
    if tag == 0x2C:  # ,
        return data[start:stop]
    if tag == 0x3B:  # ;
        return data[start:stop].decode("utf-8", "replace")
    if tag in (0x5D, 0x7D):  # ] }
        if depth >= _MAX_DEPTH:
            raise TnetError("nested too deeply")
        items: list[Value] = []
        pos = start
        while pos < stop:
            item, pos = _parse(data, pos, stop, depth + 1)
            items.append(item)
        if tag == 0x5D:
            return items
        if len(items) % 2:
            raise TnetError("dict with a key and no value")
        return {_key(items[i]): items[i + 1] for i in range(0, len(items), 2)}
    text = data[start:stop]
    if tag == 0x23:  # #
        if not text.lstrip(b"-").isdigit() or len(text) > 40:
            raise TnetError("invalid integer")
        return int(text)
    if tag == 0x5E:  # ^
        try:
            return float(text)
        except ValueError:
            raise TnetError("invalid float") from None
    if tag == 0x21:  # !
        if text not in (b"true", b"false"):
            raise TnetError("invalid boolean")
        return text == b"true"
    if tag == 0x7E and not text:  # ~
        return None
    raise TnetError(f"unknown type tag {chr(tag)!r}")


def _key(value: Value) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, str):
        return value
    raise TnetError("dict key is not a string")


def loads(data: bytes) -> Value:
    """One tnetstring from ``data`` (which must hold exactly one)."""
    value, end = _parse(data, 0, len(data), 0)
    if end != len(data):
        raise TnetError("trailing data")
    return value


class _Stream:
    """Reads tnetstrings from a binary stream, skipping what is not wanted without holding it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._f = stream
        self.offset = 0

    def _read(self, n: int) -> bytes:
        data = self._f.read(n)
        self.offset += len(data)
        if len(data) < n:
            raise TnetError("file ends inside a value")
        return data

    def length(self, first: bytes = b"") -> int | None:
        """The next length prefix (``first``: its first byte, already read); None at a clean end."""
        digits = first
        if not digits:
            digits = self._f.read(1)
            self.offset += len(digits)
            if not digits:
                return None
        if not digits.isdigit():
            raise TnetError("missing or invalid length prefix")
        while True:
            c = self._f.read(1)
            self.offset += len(c)
            if c == b":":
                return int(digits)
            if not c:
                raise TnetError("file ends inside a length prefix")
            digits += c
            if not c.isdigit() or len(digits) > _MAX_DIGITS:
                raise TnetError("missing or invalid length prefix")

    def value(self, size: int, limit: int = MAX_VALUE_BYTES) -> Value:
        """The value whose prefix gave ``size``, parsed in memory (refused over ``limit``)."""
        if size > limit:
            raise TnetError(f"a value of {size} bytes is over the {limit >> 20} MB limit")
        data = self._read(size + 1)
        return _typed(data, 0, size, data[size], 0)

    def skip(self, size: int) -> int:
        """Skips a value's data and returns its type tag."""
        left = size
        while left:
            left -= len(self._read(min(left, _SKIP_CHUNK)))
        tag = self._read(1)[0]
        if tag not in _TYPE_TAGS:
            raise TnetError(f"unknown type tag {chr(tag)!r}")
        return tag

    def entries(self, size: int) -> Iterator[tuple[str, int]]:
        """Walks a dict of ``size`` bytes: yields ``(key, value_size)``; the caller must then
        consume the value (``value``, ``skip`` or ``entries``). Checks the closing ``}``."""
        end = self.offset + size
        while self.offset < end:
            key_size = self.length()
            if key_size is None:
                raise TnetError("file ends inside a flow")
            if key_size > _MAX_KEY:
                raise TnetError(f"a dict key of {key_size} bytes")
            key = _key(self.value(key_size))
            value_size = self.length()
            if value_size is None:
                raise TnetError("file ends inside a flow")
            yield key, value_size
        if self.offset != end:
            raise TnetError("dict entries overrun the dict")
        if self._read(1) != b"}":
            raise TnetError("a flow is not a dict")

    def bounded_bytes(self, size: int, limit: int) -> tuple[bytes | str | None, bool]:
        """A bytes/text/null value kept up to ``limit`` bytes: ``(value, cut)``."""
        kept = self._read(min(size, limit))
        if size > limit:
            tag = self.skip(size - limit)
        else:
            tag = self._read(1)[0]
        if tag == 0x7E and not kept:
            return None, False
        if tag == 0x2C:
            return kept, size > limit
        if tag == 0x3B:
            return kept.decode("utf-8", "replace"), size > limit
        raise TnetError("request content is not bytes")


def _text(value: Value) -> str:
    if isinstance(value, bytes):
        return header_text(value)
    return value if isinstance(value, str) else ""


def _address(value: Value) -> str | None:
    """``ip`` from ``[ip, port, ...]`` or ``{"address": [ip, port]}``, if it is an IP literal."""
    if isinstance(value, dict):
        value = value.get("address")
    if not isinstance(value, list) or not value:
        return None
    text = _text(value[0]).strip("[]")
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ip)


def _headers(value: Value) -> tuple[tuple[str, str], ...]:
    if isinstance(value, dict):  # very old files: {"fields": [[name, value], ...]}
        value = value.get("fields")
    if not isinstance(value, list):
        return ()
    return tuple(
        (_text(field[0]), _text(field[1])) for field in value if isinstance(field, list) and len(field) == 2
    )


class _Flow:
    """The parts of one flow the source needs."""

    def __init__(self) -> None:
        self.request: dict[str, Value] = {}
        self.content: bytes | str | None = None
        self.content_cut = False
        self.client_conn: Value = None
        self.server_conn: Value = None
        self.type: str = ""
        self.version: Value = None


class MitmproxySource:
    """mitmproxy flow files (``mitmdump -w``), plain or gzip-compressed."""

    name = "mitmproxy"

    def sniff(self, path: Path, head: bytes) -> float:
        match = _HEAD.match(head)
        if not match:
            return -1.0
        outer, inner = int(match[1]), int(match[2])
        if inner >= outer:
            return -1.0
        key = match[3].decode()
        if key in ("type", "version") or (key in _FLOW_KEYS and b"request" in head):
            return 0.95
        return 0.9 if key in _FLOW_KEYS else 0.2

    def read(self, path: Path, progress: ProgressCallback | None = None) -> Iterator[Item]:
        record = RecordFile(path)  # raises SourceError before anything is yielded
        try:
            first = record.stream.read(1)
            if not first:
                raise SourceError(f"{path}: empty file, not a mitmproxy flow file")
            if not first.isdigit():
                raise SourceError(f"{path}: not a mitmproxy flow file (no tnetstring length prefix)")
        except OSError as e:
            record.close()
            raise SourceError(f"{path}: unreadable ({e})") from e
        except BaseException:
            record.close()
            raise
        return self._read(path, record, first, progress)

    def _read(
        self, path: Path, record: RecordFile, first: bytes, progress: ProgressCallback | None
    ) -> Iterator[Item]:
        source = str(path)
        reader = _Stream(record.stream)
        reader.offset = len(first)
        flows = 0
        skipped = 0
        errors: list[str] = []
        others: Counter[str] = Counter()
        next_report = 1 << 23
        with record:
            pending = first
            while True:
                start = reader.offset - len(pending)
                try:
                    size = reader.length(pending)
                    pending = b""
                    if size is None:
                        break
                    flow = self._flow(reader, size)
                except (TnetError, OSError, EOFError) as e:
                    where = f"at byte {start}" + (f" after {flows} flows" if flows else "")
                    errors.append(f"stopped {where}: {e}")
                    break
                except UnicodeDecodeError as e:
                    errors.append(f"stopped at byte {start}: {e}")
                    break
                flows += 1
                kind = flow.type or ("http" if flow.request else "")
                if kind != "http":
                    others[kind or "unknown"] += 1
                else:
                    request = self._request(flow, source)
                    if request is None:
                        skipped += 1
                    else:
                        yield request
                if progress and record.bytes_read >= next_report:
                    progress("read", record.bytes_read, record.size)
                    next_report = record.bytes_read + (1 << 23)
            if not flows and errors:
                raise SourceError(f"{path}: not a mitmproxy flow file ({errors[0]})")
            sha256 = record.sha256()
        if others:
            listed = ", ".join(f"{n} {kind}" for kind, n in sorted(others.items()))
            errors.append(f"flows without HTTP requests not read: {listed}")
        if progress:
            progress("read", record.size, record.size)
        yield InputSummary(
            path=source,
            kind=f"mitmproxy-flows{record.kind_suffix}",
            packets=flows,
            sha256=sha256,
            errors=tuple(errors),
            skipped=skipped,
        )

    def _flow(self, reader: _Stream, size: int) -> _Flow:
        flow = _Flow()
        for key, value_size in reader.entries(size):
            if key == "request":
                self._request_entries(reader, value_size, flow)
            elif key in _WANTED:
                value = reader.value(value_size)
                if key == "type":
                    flow.type = _text(value)
                elif key == "version":
                    flow.version = value
                elif key == "client_conn":
                    flow.client_conn = value
                else:
                    flow.server_conn = value
            else:
                reader.skip(value_size)
        return flow

    def _request_entries(self, reader: _Stream, size: int, flow: _Flow) -> None:
        """The request dict, streamed so that a large upload is cut, not held."""
        if size == 0:  # "0:~" (a flow without a request)
            reader.skip(0)
            return
        for key, value_size in reader.entries(size):
            if key == "content":
                flow.content, flow.content_cut = reader.bounded_bytes(value_size, MAX_BODY_BYTES)
            elif key in ("headers", "method", "scheme", "host", "port", "path", "authority",
                         "timestamp_start", "http_version", "httpversion"):  # fmt: skip
                flow.request[key] = reader.value(value_size)
            else:
                reader.skip(value_size)

    def _request(self, flow: _Flow, source: str) -> HttpRequest | None:
        """The HttpRequest for an HTTP flow; None when the flow lacks what one needs."""
        req = flow.request
        method = _text(req.get("method")).upper()
        started = req.get("timestamp_start")
        if not method or not isinstance(started, int | float) or isinstance(started, bool):
            return None
        headers = _headers(req.get("headers"))
        scheme = _text(req.get("scheme")).lower() or "http"
        given = req.get("port")
        port = given if isinstance(given, int) and not isinstance(given, bool) and 0 < given < 65536 else 0
        authority = _text(req.get("authority")) or header(headers, "host") or header(headers, ":authority")
        target_host = _text(req.get("host"))
        host = host_name(authority) if authority else host_name(target_host)
        if not host:
            return None
        if not port:
            port = _DEFAULT_PORTS.get(scheme, 0)
        path = _text(req.get("path"))
        if method == "CONNECT":
            path = ""
        elif not path.startswith("/"):
            path = "/" + path.lstrip("/")
        shown = f"[{host}]" if ":" in host else host
        default = _DEFAULT_PORTS.get(scheme)
        url = f"{scheme}://{shown}{'' if port == default else f':{port}'}{path}"
        content = flow.content
        raw = content.encode("utf-8") if isinstance(content, str) else content or b""
        body, note = decode_content(raw, header(headers, "content-encoding"), truncated=flow.content_cut)
        client = flow.client_conn if isinstance(flow.client_conn, dict) else {}
        server = flow.server_conn if isinstance(flow.server_conn, dict) else {}
        client_ip = _address(client.get("peername")) or _address(client.get("address"))
        server_ip = (
            _address(server.get("peername"))
            or _address(server.get("ip_address"))
            or _address(server.get("peer_address"))
            or _address(server.get("address"))
        )
        return HttpRequest(
            client_mac=None,
            client_ip=client_ip or "",
            server_ip=server_ip,
            server_port=port,
            time=float(started),
            method=method,
            host=host,
            url=url,
            headers=headers,
            body=body,
            source=source,
            transport="decrypted",
            body_note=note,
        )
