"""Packet captures (pcap, pcapng, gzip-compressed): flows from nfstream plus the side pass."""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from phonehome.model import InputSummary
from phonehome.sources.interface import FlowRecord, Item, ProgressCallback, SourceError
from phonehome.sources.pcapfile import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_RAW,
    CaptureReader,
    open_capture,
    sniff_capture,
)
from phonehome.sources.sidepass import SidePass, split_frame

NFSTREAM_LINKTYPES = frozenset({LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL})
"""Link types nfstream reads correctly; others are rewritten to Ethernet first."""
_PROGRESS_EVERY = 1 << 22


class _EthernetWriter:
    """Writes frames of any supported link type as an Ethernet pcap for the flow meter."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        out.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 0x40000, LINKTYPE_ETHERNET))

    def write(self, linktype: int, ts: float, frame: bytes) -> None:
        if linktype != LINKTYPE_ETHERNET:
            src, dst, ethertype, l3 = split_frame(linktype, frame)
            if not ethertype:
                return
            frame = _mac_bytes(dst) + _mac_bytes(src) + struct.pack("!H", ethertype) + l3
        sec = int(ts)
        self._out.write(struct.pack("<IIII", sec, int((ts - sec) * 1e9), len(frame), len(frame)))
        self._out.write(frame)


def _mac_bytes(mac: str | None) -> bytes:
    return bytes.fromhex(mac.replace(":", "")) if mac else b"\x00" * 6


class CaptureSource:
    """pcap/pcapng files, optionally gzip-compressed."""

    name = "capture"

    def __init__(self, idle_timeout: int = 120, active_timeout: int = 1800) -> None:
        self._idle_timeout = idle_timeout
        self._active_timeout = active_timeout

    def sniff(self, path: Path, head: bytes) -> float:
        return 1.0 if sniff_capture(head) else -1.0

    def read(self, path: Path, progress: ProgressCallback | None = None) -> Iterator[Item]:
        capture = open_capture(path)  # raises SourceError before anything is yielded
        return self._read(capture, progress)

    def _read(self, capture: CaptureReader, progress: ProgressCallback | None) -> Iterator[Item]:
        source = str(capture.path)
        with tempfile.TemporaryDirectory(prefix="phonehome-") as tmp, capture:
            copy_path = Path(tmp) / "normalised.pcap"
            needs_copy = capture.kind.endswith("+gzip") or (
                capture.kind == "pcap" and capture._head and not self._native(capture)
            )
            side = SidePass(source)
            out = open(copy_path, "wb") if needs_copy else None  # noqa: SIM115
            try:
                writer = _EthernetWriter(out) if out else None
                next_report = 0
                for linktype, ts, frame in capture.frames():
                    if writer:
                        writer.write(linktype, ts, frame)
                    yield from side.frame(linktype, ts, frame)
                    if progress and capture.position >= next_report:
                        progress("read", capture.position, capture.file_size)
                        next_report = capture.position + _PROGRESS_EVERY
            finally:
                if out:
                    out.close()
            if progress:
                progress("read", capture.file_size, capture.file_size)
            sha256 = capture.sha256()
            if not needs_copy and not capture.linktypes <= NFSTREAM_LINKTYPES:
                # A pcapng whose interfaces the meter cannot read: rewrite it in a second pass.
                needs_copy = True
                self._rewrite(capture.path, copy_path)
            if capture.packets:
                meter_input = copy_path if needs_copy else capture.path
                yield from self._flows(meter_input, source, progress)
            yield InputSummary(
                path=source,
                kind=capture.kind,
                packets=capture.packets,
                sha256=sha256,
                errors=tuple(capture.errors),
            )

    @staticmethod
    def _native(capture: CaptureReader) -> bool:
        linktype = struct.unpack(
            ("<" if capture._head[:1] in (b"\xd4", b"\x4d") else ">") + "I", capture._head[20:24]
        )[0]
        return (linktype & 0x0FFFFFFF) in NFSTREAM_LINKTYPES

    @staticmethod
    def _rewrite(path: Path, copy_path: Path) -> None:
        with open_capture(path) as again, open(copy_path, "wb") as out:
            writer = _EthernetWriter(out)
            for linktype, ts, frame in again.frames():
                writer.write(linktype, ts, frame)

    def _flows(self, path: Path, source: str, progress: ProgressCallback | None) -> Iterator[FlowRecord]:
        from nfstream import NFStreamer  # imported late: it starts slowly and spawns workers

        try:
            streamer = NFStreamer(
                source=str(path),
                decode_tunnels=True,
                idle_timeout=self._idle_timeout,
                active_timeout=self._active_timeout,
                accounting_mode=1,  # IP-layer bytes: comparable across link types
                n_dissections=20,
                statistical_analysis=False,
                n_meters=1,
            )
            count = 0
            for flow in streamer:
                count += 1
                if progress and count % 2000 == 0:
                    progress("flows", count, 0)
                yield _flow_record(flow, source)
        except ValueError as e:
            raise SourceError(f"{source}: flow meter could not read the capture ({e})") from e


def _clean(value: Any) -> str | None:
    if not value:
        return None
    text = str(value).strip()
    return text or None


def _flow_record(flow: Any, source: str) -> FlowRecord:
    return FlowRecord(
        src_mac=_mac_or_none(flow.src_mac),
        src_ip=flow.src_ip,
        dst_mac=_mac_or_none(flow.dst_mac),
        dst_ip=flow.dst_ip,
        protocol=flow.protocol,
        src_port=flow.src_port,
        dst_port=flow.dst_port,
        src_bytes=flow.src2dst_bytes,
        dst_bytes=flow.dst2src_bytes,
        first_seen=flow.bidirectional_first_seen_ms / 1000.0,
        last_seen=flow.bidirectional_last_seen_ms / 1000.0,
        server_name=_clean(flow.requested_server_name),
        application=_clean(flow.application_name),
        user_agent=_clean(flow.user_agent),
        client_fingerprint=_clean(flow.client_fingerprint),
        source=source,
    )


def _mac_or_none(mac: str | None) -> str | None:
    if not mac or mac == "00:00:00:00:00:00":
        return None
    return str(mac).lower()
