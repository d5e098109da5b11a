"""Line-oriented text inputs: encoding detection, gzip, bounded lines and a running checksum.

Every text source (leases, neighbour tables, Zeek logs, nfdump CSV, ...) reads through
``TextInput`` so that wrong encodings, NUL-laden binaries and endless lines are handled once.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from phonehome.sources.interface import ProgressCallback, SourceError

MAX_LINE_CHARS = 1 << 16
"""Longer lines are cut here; no legitimate record in these formats comes close."""
_CHUNK = 1 << 20
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def head_text(head: bytes) -> str:
    """The sniffing head decoded leniently (BOMs removed), for ``Source.sniff``."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return head.decode(codec, errors="replace").lstrip("\ufeff")
    return head.decode("utf-8", errors="replace")


def looks_binary(head: bytes) -> bool:
    """NUL bytes outside a UTF-16 BOM mean the file is not text."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    return b"\x00" in head


class _HashingReader(io.RawIOBase):
    """Counts and hashes the raw bytes as they are read."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.consumed += n
        return n


class TextInput:
    """An open text input: iterate ``lines()``; ``kind_suffix`` is ``+gzip`` when compressed.

    Encoding: a BOM decides; otherwise UTF-8, falling back to Latin-1 for the rest of the file
    at the first undecodable byte (device names in leases are often in a local code page).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
        except IsADirectoryError:
            raise SourceError(f"{path}: is a directory") from None
        except OSError as e:
            raise SourceError(f"{path}: cannot open ({e.strerror or e})") from e
        self.size = path.stat().st_size
        self._hasher = _HashingReader(self._file)
        buffered = io.BufferedReader(self._hasher, _CHUNK)
        self.kind_suffix = ""
        stream: BinaryIO = buffered
        if buffered.peek(2)[:2] == b"\x1f\x8b":
            self.kind_suffix = "+gzip"
            stream = gzip.GzipFile(fileobj=buffered)  # type: ignore[assignment]
        self._stream = stream
        self.errors: list[str] = []
        self.line_number = 0

    def __enter__(self) -> TextInput:
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
        while self._hasher.readinto(bytearray(_CHUNK)):
            pass
        return self._hasher.sha256.hexdigest()

    def lines(self, progress: ProgressCallback | None = None, phase: str = "reading") -> Iterator[str]:
        """Lines without their line ending; a corrupt gzip tail ends the iteration with an error noted."""
        encoding = "utf-8"
        first = True
        decoder = codecs.getincrementaldecoder(encoding)()
        pending = ""
        next_report = _CHUNK * 8
        while True:
            try:
                chunk = self._stream.read(_CHUNK)
            except (OSError, EOFError, zlib.error) as e:
                self.errors.append(f"stopped at line {self.line_number + 1}: corrupt compressed data ({e})")
                chunk = b""
            if first and chunk:
                first = False
                for bom, codec in _BOMS:
                    if chunk.startswith(bom):
                        encoding = codec
                        decoder = codecs.getincrementaldecoder(encoding)()
                        break
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError:
                encoding = "latin-1"
                self.errors.append(f"not valid UTF-8 from about line {self.line_number + 1}; read as Latin-1")
                decoder = codecs.getincrementaldecoder(encoding)()
                text = decoder.decode(chunk, final=not chunk)
            if text:
                parts = (pending + text).split("\n")
                pending = parts.pop()
                if len(pending) > MAX_LINE_CHARS:
                    pending = pending[:MAX_LINE_CHARS]
                for line in parts:
                    self.line_number += 1
                    yield line[:MAX_LINE_CHARS].rstrip("\r").lstrip("\ufeff") if self.line_number == 1 else (
                        line[:MAX_LINE_CHARS].rstrip("\r")
                    )
            if progress and self.bytes_read >= next_report:
                progress(phase, self.bytes_read, self.size)
                next_report = self.bytes_read + _CHUNK * 8
            if not chunk:
                break
        if pending:
            self.line_number += 1
            yield pending.rstrip("\r")
        if progress:
            progress(phase, self.size, self.size)


def open_text(path: Path) -> TextInput:
    """Open ``path`` for line reading; raises ``SourceError`` (message starts with the path)."""
    return TextInput(path)
