"""The streaming capture reader on real files written by scapy."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap, wrpcapng

from phonehome.sources.interface import SourceError
from phonehome.sources.pcapfile import open_capture


def _packets(n: int = 5) -> list[Ether]:
    out = []
    for i in range(n):
        p = (
            Ether(src="00:11:22:33:44:55", dst="66:77:88:99:aa:bb")
            / IP(src="192.168.1.10", dst="198.51.100.7")
            / TCP(sport=40000 + i, dport=443)
            / Raw(b"x" * (10 + i))
        )
        p.time = 1_700_000_000 + i + 0.25
        out.append(p)
    return out


def _read(path: Path) -> tuple[list[tuple[int, float, bytes]], list[str], str]:
    with open_capture(path) as capture:
        frames = list(capture.frames())
        assert capture.packets == len(frames)
        return frames, capture.errors, capture.kind


def test_reads_pcap_with_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "a.pcap"
    wrpcap(str(path), _packets())
    frames, errors, kind = _read(path)
    assert kind == "pcap" and errors == []
    assert len(frames) == 5
    assert frames[0][0] == 1
    assert frames[0][1] == pytest.approx(1_700_000_000.25)
    assert frames[4][2] == bytes(_packets()[4])


def test_reads_pcapng(tmp_path: Path) -> None:
    path = tmp_path / "a.pcapng"
    wrpcapng(str(path), _packets())
    frames, errors, kind = _read(path)
    assert kind == "pcapng" and errors == []
    assert [f[2] for f in frames] == [bytes(p) for p in _packets()]
    assert frames[1][1] == pytest.approx(1_700_000_001.25)


def test_reads_gzip_compressed(tmp_path: Path) -> None:
    plain = tmp_path / "a.pcap"
    wrpcap(str(plain), _packets())
    packed = tmp_path / "a.pcap.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    frames, errors, kind = _read(packed)
    assert kind == "pcap+gzip" and len(frames) == 5 and errors == []


def test_truncated_capture_keeps_what_was_read(tmp_path: Path) -> None:
    path = tmp_path / "a.pcap"
    wrpcap(str(path), _packets())
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    frames, errors, _ = _read(path)
    assert len(frames) == 4
    assert errors == ["truncated packet after 4 packets; kept what was read"]


def test_truncated_gzip_capture_keeps_what_was_read(tmp_path: Path) -> None:
    plain = tmp_path / "a.pcap"
    wrpcap(str(plain), _packets(2000))
    packed = gzip.compress(plain.read_bytes())
    path = tmp_path / "cut.pcap.gz"
    path.write_bytes(packed[: len(packed) // 2])
    frames, errors, kind = _read(path)
    assert kind == "pcap+gzip"
    assert 0 < len(frames) < 2000
    assert len(errors) == 1 and errors[0].endswith(f"after {len(frames)} packets; kept what was read")


def test_truncated_pcapng_block(tmp_path: Path) -> None:
    path = tmp_path / "a.pcapng"
    wrpcapng(str(path), _packets())
    path.write_bytes(path.read_bytes()[:-10])
    frames, errors, _ = _read(path)
    assert len(frames) == 4 and "truncated block" in errors[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (
            b"hello, this is not a capture at all",
            "not a pcap or pcapng capture (starts with 0x68656c6c)",
        ),
        (b"\xd4\xc3\xb2\xa1\x02\x00", "truncated pcap file header"),
        (gzip.compress(b""), "empty compressed capture"),
        (b"\x1f\x8b\x08\x00garbage-after-gzip-magic", "unreadable gzip data"),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    with pytest.raises(SourceError) as info:
        open_capture(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_unsupported_link_type(tmp_path: Path) -> None:
    path = tmp_path / "radiotap.pcap"
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 127)
    path.write_bytes(header)
    with pytest.raises(SourceError, match=r"unsupported link type 127"):
        open_capture(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot open"):
        open_capture(tmp_path / "nope.pcap")
    with pytest.raises(SourceError, match="is a directory"):
        open_capture(tmp_path)


def test_sha256_is_of_the_file(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "a.pcap"
    wrpcap(str(path), _packets())
    with open_capture(path) as capture:
        for _ in capture.frames():
            pass
        assert capture.sha256() == hashlib.sha256(path.read_bytes()).hexdigest()
