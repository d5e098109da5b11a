"""Packet captures (pcap, pcapng, gzip-compressed): flows from nfstream plus the side pass."""

from __future__ import annotations

import multiprocessing
import struct
import tempfile
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, BinaryIO

from phonehome.model import InputSummary
from phonehome.sources.interface import FlowRecord, Item, Observation, ProgressCallback, SourceError
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
        if capture.kind.endswith("+gzip") or not _first_linktypes(capture.path) <= NFSTREAM_LINKTYPES:
            return self._read_sequential(capture, progress)
        capture.close()
        return self._read_parallel(capture.path, capture.kind, capture.file_size, progress)

    def _read_parallel(
        self, path: Path, kind: str, size: int, progress: ProgressCallback | None
    ) -> Iterator[Item]:
        """The meter reads the file itself while a second process runs the side pass."""
        source = str(path)
        ctx = multiprocessing.get_context("fork")
        receiver, sender = ctx.Pipe(duplex=False)
        position = ctx.Value("q", 0)
        worker = ctx.Process(target=_side_pass_worker, args=(path, sender, position), daemon=True)
        worker.start()
        sender.close()
        finished = False
        try:
            yield from self._flows(path, source, progress, position, size)
            outcome = receiver.recv()
            finished = True
        except EOFError:
            raise SourceError(f"{source}: side pass ended without a result") from None
        finally:
            # On success the worker is exiting; on failure it may be mid-file: stop it.
            worker.join(timeout=10 if finished else 0)
            if worker.is_alive():
                worker.terminate()
                worker.join()
            receiver.close()
        if isinstance(outcome, str):
            raise SourceError(outcome)
        observations, packets, errors, sha256, linktypes = outcome
        if progress:
            progress("read", size, size)
        if not linktypes <= NFSTREAM_LINKTYPES:
            missed = ", ".join(str(t) for t in sorted(linktypes - NFSTREAM_LINKTYPES))
            errors.append(f"flows on interfaces with link type {missed} were not metered")
        yield from observations
        yield InputSummary(path=source, kind=kind, packets=packets, sha256=sha256, errors=tuple(errors))

    def _read_sequential(self, capture: CaptureReader, progress: ProgressCallback | None) -> Iterator[Item]:
        """Side pass first, writing an Ethernet copy the meter can read; then the meter."""
        source = str(capture.path)
        with tempfile.TemporaryDirectory(prefix="phonehome-") as tmp, capture:
            copy_path = Path(tmp) / "normalised.pcap"
            side = SidePass(source)
            with open(copy_path, "wb") as out:
                writer = _EthernetWriter(out)
                next_report = 0
                for linktype, ts, frame in capture.frames():
                    writer.write(linktype, ts, frame)
                    yield from side.frame(linktype, ts, frame)
                    if progress and capture.position >= next_report:
                        progress("read", capture.position, capture.file_size)
                        next_report = capture.position + _PROGRESS_EVERY
                yield from side.finish()
            if progress:
                progress("read", capture.file_size, capture.file_size)
            sha256 = capture.sha256()
            if capture.packets:
                yield from self._flows(copy_path, source, progress)
            yield InputSummary(
                path=source,
                kind=capture.kind,
                packets=capture.packets,
                sha256=sha256,
                errors=tuple(capture.errors),
            )

    def _flows(
        self,
        path: Path,
        source: str,
        progress: ProgressCallback | None,
        position: Any = None,
        size: int = 0,
    ) -> Iterator[FlowRecord]:
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
                    if position is not None:
                        progress("read", position.value, size)
                    progress("flows", count, 0)
                yield _flow_record(flow, source)
        except ValueError as e:
            raise SourceError(f"{source}: flow meter could not read the capture ({e})") from e


def _first_linktypes(path: Path) -> set[int]:
    """Link types declared before the first packet (pcap: the header; pcapng: leading IDBs)."""
    with open_capture(path) as capture:
        next(iter(capture.frames()), None)
        return set(capture.linktypes)


def _side_pass_worker(path: Path, sender: Connection, position: Any) -> None:
    """Runs in a child process: the side pass over ``path``, sent back in one message."""
    try:
        with open_capture(path) as capture:
            side = SidePass(str(path))
            observations: list[Observation] = []
            for n, (linktype, ts, frame) in enumerate(capture.frames()):
                observations.extend(side.frame(linktype, ts, frame))
                if not n & 0x3FFF:
                    position.value = capture.position
            observations.extend(side.finish())
            sender.send((observations, capture.packets, capture.errors, capture.sha256(), capture.linktypes))
    except SourceError as e:
        sender.send(str(e))
    finally:
        sender.close()


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
