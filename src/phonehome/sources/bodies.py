"""Readable HTTP payloads: request bodies decoded and bounded, shared by every source that has them.

Bodies come from untrusted senders, so decoding never raises and never grows past a bound:
``decode_content`` undoes ``Content-Encoding`` (gzip, deflate with or without its zlib wrapper,
brotli, and chains such as ``gzip, br``) and stops at ``MAX_BODY_BYTES`` whatever the stream
claims, which also defuses decompression bombs. ``ChunkedDecoder`` undoes chunked transfer
coding incrementally for the capture side pass. What could not be done is said in a short note
(``truncated``, ``undecodable br``) rather than by an exception.

The proxy-record sources (mitmproxy flows, HAR) also share ``RecordFile``: a binary input that
looks through gzip and hashes the raw bytes as they are read.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import zlib
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from phonehome.sources.interface import MAX_BODY_BYTES, SourceError

TRUNCATED = "truncated"
_IDENTITY = frozenset({"", "identity"})
_GZIP = frozenset({"gzip", "x-gzip"})
_MAX_GZIP_MEMBERS = 64


@functools.cache
def _brotli() -> Any:
    """The brotli module when it can decode with a bounded output (brotli >= 1.2), else None."""
    try:
        import brotli
    except ImportError:
        return None
    return brotli if hasattr(brotli.Decompressor(), "can_accept_more_data") else None


def _inflate(data: bytes, wbits: int, limit: int, members: bool) -> tuple[bytes, bool]:
    """``(output, complete)``: at most ``limit + 1`` bytes out; raises ``zlib.error``."""
    out = bytearray()
    for _ in range(_MAX_GZIP_MEMBERS if members else 1):
        d = zlib.decompressobj(wbits)
        out += d.decompress(data, limit + 1 - len(out))
        if len(out) > limit or not d.eof:
            return bytes(out), False
        data = d.unused_data
        if not data or not members or data[:2] != b"\x1f\x8b":
            return bytes(out), True
    return bytes(out), False


def _deflate_wbits(data: bytes) -> int:
    """HTTP ``deflate`` should be zlib-wrapped (RFC 9110); some senders use raw deflate."""
    if len(data) >= 2 and data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0:
        return zlib.MAX_WBITS
    return -zlib.MAX_WBITS


def _unbrotli(data: bytes, limit: int) -> tuple[bytes, bool] | None:
    brotli = _brotli()
    if brotli is None:
        return None
    d = brotli.Decompressor()
    out = d.process(data, output_buffer_limit=limit + 1)
    return out, len(out) <= limit and d.is_finished()


def _decode_one(data: bytes, coding: str, limit: int) -> tuple[bytes, bool] | None:
    """One content coding undone: ``(output, complete)``, or None when it cannot be."""
    result: tuple[bytes, bool] | None = None
    try:
        if coding in _GZIP:
            result = _inflate(data, 16 + zlib.MAX_WBITS, limit, members=True)
        elif coding == "deflate":
            result = _inflate(data, _deflate_wbits(data), limit, members=False)
        elif coding == "br":
            result = _unbrotli(data, limit)
    except Exception:  # noqa: BLE001 - zlib.error, brotli.error: any failure means "undecodable"
        return None
    if result is not None and data and not result[0] and not result[1]:
        return None  # nothing came out and the stream never ended: not this coding at all
    return result


def decode_content(
    raw: bytes, content_encoding: str | None, *, limit: int = MAX_BODY_BYTES, truncated: bool = False
) -> tuple[bytes, str]:
    """``(body, note)`` for a body sent with ``Content-Encoding: content_encoding``.

    Codings are undone last-applied first. The body is cut at ``limit`` bytes (note
    ``truncated``), also when the input was already cut (``truncated=True``) or ends early. A
    coding that cannot be undone gives an empty body and the note ``undecodable <coding>``.
    """
    if not raw:
        return b"", TRUNCATED if truncated else ""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    data = raw
    complete = not truncated
    for coding in reversed([c for c in codings if c not in _IDENTITY]):
        decoded = _decode_one(data, coding, limit)
        if decoded is None:
            return b"", f"undecodable {coding[:40]}"
        data, whole = decoded
        complete = complete and whole
    if len(data) > limit:
        data, complete = data[:limit], False
    return data, "" if complete else TRUNCATED


def looks_compressed(data: bytes) -> bool:
    """Whether ``data`` starts like a gzip or zlib stream (records that may hold decoded text)."""
    return data[:2] == b"\x1f\x8b" or _deflate_wbits(data) == zlib.MAX_WBITS


class ChunkedDecoder:
    """Incremental decoder for ``Transfer-Encoding: chunked`` (RFC 9112 section 7.1).

    ``feed`` takes bytes as they arrive and returns how many it used; once ``done`` is set the
    rest belongs to the next message. Decoded data is kept up to ``limit`` bytes and the
    remainder only counted (``truncated``). Malformed framing sets ``error``.
    """

    _SIZE, _DATA, _DATA_END, _TRAILER = range(4)
    _MAX_LINE = 4096

    def __init__(self, limit: int = MAX_BODY_BYTES) -> None:
        self.body = bytearray()
        self.limit = limit
        self.truncated = False
        self.done = False
        self.error = ""
        self._state = self._SIZE
        self._line = bytearray()
        self._remaining = 0

    def _keep(self, data: bytes | memoryview) -> None:
        room = self.limit - len(self.body)
        if len(data) > room:
            self.truncated = True
            data = data[: max(room, 0)]
        self.body += data

    def _take_line(self, data: memoryview, pos: int) -> tuple[int, bytes | None]:
        """Accumulates one CRLF-terminated line; ``(new_pos, line or None if incomplete)``."""
        end = bytes(data[pos : pos + self._MAX_LINE]).find(b"\n")
        if end < 0:
            self._line += data[pos:]
            if len(self._line) > self._MAX_LINE:
                self.error = "chunk size line too long"
            return len(data), None
        self._line += data[pos : pos + end]
        line = bytes(self._line).rstrip(b"\r")
        self._line.clear()
        return pos + end + 1, line

    def feed(self, data: bytes | memoryview) -> int:
        """Consumes from ``data``; returns the number of bytes used (all of it unless done)."""
        view = memoryview(data)
        pos = 0
        while pos < len(view) and not self.done and not self.error:
            if self._state == self._SIZE:
                pos, line = self._take_line(view, pos)
                if line is None:
                    continue
                digits = line.split(b";", 1)[0].strip()
                if not digits or len(digits) > 15 or digits.strip(b"0123456789abcdefABCDEF"):
                    self.error = "malformed chunk size"
                    break
                self._remaining = int(digits, 16)
                self._state = self._DATA if self._remaining else self._TRAILER
            elif self._state == self._DATA:
                n = min(self._remaining, len(view) - pos)
                self._keep(view[pos : pos + n])
                pos += n
                self._remaining -= n
                if not self._remaining:
                    self._state = self._DATA_END
            elif self._state == self._DATA_END:
                pos, line = self._take_line(view, pos)
                if line is None:
                    continue
                if line:
                    self.error = "missing CRLF after chunk data"
                    break
                self._state = self._SIZE
            else:  # trailer fields, then an empty line
                pos, line = self._take_line(view, pos)
                if line is not None and not line:
                    self.done = True
        return pos


def dechunk(raw: bytes, limit: int = MAX_BODY_BYTES) -> tuple[bytes, str]:
    """A whole chunked body decoded: ``(body, note)``; an incomplete one is ``truncated``."""
    decoder = ChunkedDecoder(limit)
    decoder.feed(raw)
    if decoder.error:
        return bytes(decoder.body), f"malformed chunked body ({decoder.error})"
    return bytes(decoder.body), "" if decoder.done and not decoder.truncated else TRUNCATED


def header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The first value of header ``name`` (case-insensitive), or None."""
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


def host_name(authority: str) -> str:
    """``host`` from ``host[:port]`` or ``[v6]:port``, lower-cased, without a trailing dot."""
    text = authority.strip()
    if text.startswith("["):
        return text[1:].partition("]")[0].lower()
    if text.count(":") == 1:
        text = text.partition(":")[0]
    return text.rstrip(".").lower()


def header_text(raw: bytes) -> str:
    """A header name or value as text: UTF-8 when it is, else Latin-1 (byte for byte)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class _Hashing(io.RawIOBase):
    """Counts and hashes the raw bytes as they are read."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.consumed += n
        return n


class RecordFile:
    """A proxy record file opened for streaming: ``stream`` is the (gunzipped) content.

    ``kind_suffix`` is ``+gzip`` when compressed; ``sha256()`` covers the raw file.
    """

    _CHUNK = 1 << 20

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
            self.size = path.stat().st_size
        except IsADirectoryError:
            raise SourceError(f"{path}: is a directory") from None
        except OSError as e:
            raise SourceError(f"{path}: cannot open ({e.strerror or e})") from e
        self._hasher = _Hashing(self._file)
        buffered = io.BufferedReader(self._hasher, self._CHUNK)
        self.kind_suffix = ""
        self.stream: BinaryIO = buffered
        if buffered.peek(2)[:2] == b"\x1f\x8b":
            self.kind_suffix = "+gzip"
            self.stream = gzip.GzipFile(fileobj=buffered)  # type: ignore[assignment]

    def __enter__(self) -> RecordFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    @property
    def bytes_read(self) -> int:
        """Raw (possibly compressed) bytes consumed so far, for progress against ``size``."""
        return self._hasher.consumed

    def sha256(self) -> str:
        """Checksum of the whole raw file: reads whatever has not been read yet."""
        while self._hasher.readinto(bytearray(self._CHUNK)):
            pass
        return self._hasher.sha256.hexdigest()
