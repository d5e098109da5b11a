"""Which source reads which file: every source sniffs the file's first bytes; the best score wins."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from phonehome.sources.android import AndroidSource
from phonehome.sources.apk import ApkSource
from phonehome.sources.assets import AssetRegisterSource
from phonehome.sources.capture import CaptureSource
from phonehome.sources.har import HarSource
from phonehome.sources.interface import Source, SourceError
from phonehome.sources.leases import LeasesSource
from phonehome.sources.mitmproxy import MitmproxySource
from phonehome.sources.neighbours import NeighbourTableSource
from phonehome.sources.nfdump import NfdumpSource
from phonehome.sources.nmap import NmapSource
from phonehome.sources.zeek import ZeekSource


@dataclass(frozen=True)
class SourceOptions:
    """User settings some sources take (asset register column mapping, sheet)."""

    asset_columns: dict[str, str] = field(default_factory=dict)
    asset_sheet: str | None = None


def build_sources(options: SourceOptions | None = None) -> dict[str, Source]:
    """One instance of every built-in source, by name."""
    options = options or SourceOptions()
    return {
        "capture": CaptureSource(),
        "nmap": NmapSource(),
        "zeek": ZeekSource(),
        "leases": LeasesSource(),
        "neighbours": NeighbourTableSource(),
        "nfdump": NfdumpSource(),
        "assets": AssetRegisterSource(columns=options.asset_columns or None, sheet=options.asset_sheet),
        "mitmproxy": MitmproxySource(),
        "har": HarSource(),
        "android": AndroidSource(),
        "apk": ApkSource(),
    }


KNOWN_INPUTS = (
    "pcap/pcapng captures, nmap XML, Zeek logs, DHCP leases (dnsmasq, ISC, Kea), ARP/neighbour and "
    "switch MAC tables, nfdump CSV, CSV/XLSX asset registers, mitmproxy flow files, HAR, "
    "adb package lists, dumpsys, getprop and bug reports, APKs"
)
_HEAD_BYTES = 512
"""Enough for a CSV header row or the first lines of a table; binary formats need far less."""


def read_head(path: Path) -> bytes:
    """The first bytes of ``path``, looking through gzip compression."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
            if head[:2] == b"\x1f\x8b":
                f.seek(0)
                try:
                    with gzip.GzipFile(fileobj=f) as g:
                        return head[:2] + g.read(_HEAD_BYTES)
                except (OSError, EOFError, zlib.error) as e:
                    raise SourceError(f"{path}: unreadable gzip data ({e})") from e
            return head
    except IsADirectoryError:
        raise SourceError(f"{path}: is a directory") from None
    except OSError as e:
        raise SourceError(f"{path}: cannot open ({e.strerror or e})") from e


def detect(path: Path, sources: dict[str, Source]) -> Source | None:
    """The source that claims ``path`` most confidently, or None."""
    head = read_head(path)
    inner = head[2:] if head[:2] == b"\x1f\x8b" else head
    scored = sorted(((s.sniff(path, inner), name) for name, s in sources.items()), reverse=True)
    if scored and scored[0][0] > 0:
        return sources[scored[0][1]]
    return None


def expand_inputs(paths: list[Path]) -> Iterator[tuple[Path, bool]]:
    """Files to read, with whether the user named them (directories are walked, sorted)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(p.startswith(".") for p in child.relative_to(path).parts):
                    yield child, False
        else:
            yield path, True
