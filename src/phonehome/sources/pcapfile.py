"""Streaming reader for pcap and pcapng files, plain or gzip-compressed.

It yields raw frames with their link type and timestamp, counts them, hashes the file while
reading it, and stops cleanly at a truncated tail. It is the one place that knows file formats,
so everything downstream sees ``(linktype, time, frame)`` only.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from phonehome.sources.interface import SourceError

GZIP_MAGIC = b"\x1f\x8b"
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
SUPPORTED_LINKTYPES = {
    LINKTYPE_NULL: "BSD loopback",
    LINKTYPE_ETHERNET: "Ethernet",
    LINKTYPE_RAW: "raw IP",
    LINKTYPE_LINUX_SLL: "Linux cooked (SLL)",
    LINKTYPE_IPV4: "raw IPv4",
    LINKTYPE_IPV6: "raw IPv6",
    LINKTYPE_LINUX_SLL2: "Linux cooked v2 (SLL2)",
}
_CHUNK = 1 << 20


class _HashingReader:
    """Buffered reader that hashes the file a chunk at a time as it is consumed.

    Packet records are small, so reads are served from a chunk held in memory: one Python slice
    per read instead of a file call and a hash update per packet.
    """

    def __init__(self, raw: BinaryIO, compressed: BinaryIO | None) -> None:
        self._raw = raw
        self._stream = compressed or raw
        self._hash = hashlib.sha256()
        self._compressed = compressed is not None
        self._buf = b""
        self._pos = 0

    def read(self, n: int) -> bytes:
        pos = self._pos
        end = pos + n
        if end <= len(self._buf):
            self._pos = end
            return self._buf[pos:end]
        parts = [self._buf[pos:]]
        have = len(parts[0])
        while have < n:
            # read1 on gzip: a truncated stream yields what it decompressed before the EOFError.
            size = max(_CHUNK, n - have)
            chunk = self._stream.read1(size) if self._compressed else self._stream.read(size)  # type: ignore[attr-defined]
            if not chunk:
                break
            if not self._compressed:
                self._hash.update(chunk)
            parts.append(chunk)
            have += len(chunk)
        data = b"".join(parts)
        self._buf, self._pos = data[n:], 0
        return data[:n]

    def raw_position(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()

    def hexdigest(self) -> str:
        if self._compressed:
            # The identity of a compressed input is the compressed file itself.
            self._raw.seek(0)
        while chunk := self._raw.read(_CHUNK):
            self._hash.update(chunk)
        return self._hash.hexdigest()


@dataclass
class CaptureReader:
    """Iterates the frames of one capture file. Use ``open_capture`` to create it."""

    path: Path
    kind: str
    """``pcap`` or ``pcapng``, with ``+gzip`` when compressed."""
    file_size: int
    packets: int = 0
    errors: list[str] = field(default_factory=list)
    linktypes: set[int] = field(default_factory=set)
    _reader: _HashingReader | None = None
    _head: bytes = b""

    @property
    def position(self) -> int:
        """Bytes of the file (compressed, if it is) consumed so far."""
        return self._reader.raw_position() if self._reader else 0

    def frames(self) -> Iterator[tuple[int, float, bytes]]:
        """``(linktype, unix_time, frame)`` for every packet; stops at a truncated tail."""
        assert self._reader is not None
        try:
            if self.kind.startswith("pcapng"):
                yield from self._pcapng_frames(self._reader)
            else:
                yield from self._pcap_frames(self._reader)
        except (OSError, EOFError, zlib.error) as e:
            self._truncated(f"read error ({e})")

    def sha256(self) -> str:
        """Hash of the whole input file (call after iterating)."""
        assert self._reader is not None
        return self._reader.hexdigest()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _truncated(self, why: str) -> None:
        self.errors.append(f"{why} after {self.packets} packets; kept what was read")

    def _pcap_frames(self, r: _HashingReader) -> Iterator[tuple[int, float, bytes]]:
        head = self._head
        endian, resolution = _PCAP_MAGICS[head[:4]]
        linktype = struct.unpack(endian + "I", head[20:24])[0] & 0x0FFFFFFF
        _check_linktype(self.path, linktype)
        self.linktypes.add(linktype)
        record = struct.Struct(endian + "IIII")
        read = r.read
        while True:
            header = read(16)
            if len(header) < 16:
                if header:
                    self._truncated("truncated packet header")
                return
            sec, frac, caplen, _ = record.unpack(header)
            if caplen > 0x4000000:
                self._truncated(f"implausible packet length {caplen}")
                return
            data = read(caplen)
            if len(data) < caplen:
                self._truncated("truncated packet")
                return
            self.packets += 1
            yield linktype, sec + frac * resolution, data

    def _pcapng_frames(self, r: _HashingReader) -> Iterator[tuple[int, float, bytes]]:
        endian = "<"
        interfaces: list[tuple[int, float]] = []
        pending = self._head  # the first 8 bytes were read while sniffing
        read = r.read
        while True:
            header = pending + read(8 - len(pending))
            pending = b""
            if len(header) < 8:
                if header:
                    self._truncated("truncated block header")
                return
            block_type = struct.unpack(endian + "I", header[:4])[0]
            if block_type == 0x0A0D0D0A:
                bom = read(4)
                if len(bom) < 4:
                    self._truncated("truncated section header")
                    return
                endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
                length = struct.unpack(endian + "I", header[4:8])[0]
                body = read(length - 12) if length >= 12 else b""
                interfaces = []
                if len(body) < length - 12:
                    self._truncated("truncated section header")
                    return
                continue
            length = struct.unpack(endian + "I", header[4:8])[0]
            if length < 12 or length > 0x4000000 or length % 4:
                self._truncated(f"corrupt block (length {length})")
                return
            body = read(length - 8)
            if len(body) < length - 8:
                self._truncated("truncated block")
                return
            if block_type == 1:  # interface description
                linktype = struct.unpack(endian + "H", body[:2])[0]
                _check_linktype(self.path, linktype)
                self.linktypes.add(linktype)
                interfaces.append((linktype, _if_tsresol(body[8:-4], endian)))
            elif block_type == 6:  # enhanced packet
                iface, ts_hi, ts_lo, caplen = struct.unpack(endian + "IIII", body[:16])
                if iface >= len(interfaces):
                    self._truncated(f"packet for undeclared interface {iface}")
                    return
                linktype, resolution = interfaces[iface]
                self.packets += 1
                yield linktype, ((ts_hi << 32) | ts_lo) * resolution, body[20 : 20 + caplen]
            elif block_type == 3:  # simple packet: no timestamp
                if not interfaces:
                    continue
                caplen = min(struct.unpack(endian + "I", body[:4])[0], len(body) - 8)
                self.packets += 1
                yield interfaces[0][0], 0.0, body[4 : 4 + caplen]


def _if_tsresol(options: bytes, endian: str) -> float:
    """Timestamp resolution from an interface block's options (default microseconds)."""
    i = 0
    while i + 4 <= len(options):
        code, length = struct.unpack(endian + "HH", options[i : i + 4])
        if code == 0:
            break
        if code == 9 and length >= 1:
            value = options[i + 4]
            return 2.0 ** -(value & 0x7F) if value & 0x80 else 10.0**-value
        i += 4 + ((length + 3) & ~3)
    return 1e-6


def _check_linktype(path: Path, linktype: int) -> None:
    if linktype not in SUPPORTED_LINKTYPES:
        names = ", ".join(f"{v} ({k})" for k, v in sorted(SUPPORTED_LINKTYPES.items()))
        raise SourceError(f"{path}: unsupported link type {linktype} (supported: {names})")


def sniff_capture(head: bytes) -> str | None:
    """``pcap``/``pcapng`` if ``head`` starts like one (gzip is looked through by the caller)."""
    if head[:4] in _PCAP_MAGICS:
        return "pcap"
    if head[:4] == PCAPNG_MAGIC:
        return "pcapng"
    return None


def open_capture(path: Path) -> CaptureReader:
    """Open ``path`` and check its header; raises ``SourceError`` naming the file."""
    try:
        raw: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by the reader's owner
    except IsADirectoryError:
        raise SourceError(f"{path}: is a directory") from None
    except OSError as e:
        raise SourceError(f"{path}: cannot open ({e.strerror or e})") from e
    size = path.stat().st_size
    try:
        first = raw.read(2)
        raw.seek(0)
        compressed: BinaryIO | None = None
        if first == GZIP_MAGIC:
            compressed = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        reader = _HashingReader(raw, compressed)
        try:
            head = reader.read(24)
        except (OSError, EOFError, zlib.error) as e:
            raise SourceError(f"{path}: unreadable gzip data ({e})") from e
    except SourceError:
        raw.close()
        raise
    if not head:
        raw.close()
        what = "empty compressed capture" if compressed else "empty file"
        raise SourceError(f"{path}: {what}")
    kind = sniff_capture(head)
    if kind is None:
        raw.close()
        raise SourceError(f"{path}: not a pcap or pcapng capture (starts with 0x{head[:4].hex()})")
    if kind == "pcap" and len(head) < 24:
        raw.close()
        raise SourceError(f"{path}: truncated pcap file header ({len(head)} of 24 bytes)")
    if kind == "pcap":
        linktype_field = struct.unpack(_PCAP_MAGICS[head[:4]][0] + "I", head[20:24])[0]
        try:
            _check_linktype(path, linktype_field & 0x0FFFFFFF)
        except SourceError:
            raw.close()
            raise
    capture = CaptureReader(
        path=path,
        kind=kind + ("+gzip" if compressed else ""),
        file_size=size,
        _reader=reader,
        _head=head if kind == "pcap" else head[:8],
    )
    if kind == "pcapng":
        # Re-feed the bytes read past the block header back to the block parser.
        capture._head = head[:8]
        reader_rest = head[8:]
        capture._reader = _Prepend(reader, reader_rest)  # type: ignore[assignment]
    return capture


class _Prepend:
    """A ``_HashingReader`` with some already-read bytes put back in front."""

    def __init__(self, inner: _HashingReader, pending: bytes) -> None:
        self._inner = inner
        self._pending = pending

    def read(self, n: int) -> bytes:
        if self._pending:
            out, self._pending = self._pending[:n], self._pending[n:]
            if len(out) < n:
                out += self._inner.read(n - len(out))
            return out
        return self._inner.read(n)

    def raw_position(self) -> int:
        return self._inner.raw_position()

    def hexdigest(self) -> str:
        return self._inner.hexdigest()

    def close(self) -> None:
        self._inner.close()
