#!/usr/bin/env python3
"""Speed and memory of the Zeek log source on a large generated conn.log.

    python benchmarks/bench_zeek.py [--lines N] [--format tsv|json|both] [--gzip] [--dir DIR]

Writes a deterministic conn.log of N lines (default 10,000,000; about 1.6 GB as TSV) in the
real Zeek 6/7 TSV layout (and/or JSON lines) into a temporary directory, then reads it in a
fresh child process with ``ZeekSource`` -- consuming the iterator, keeping nothing -- and reports
records/s and the child's peak RSS (``ru_maxrss``), so the memory is the reader's alone.

The same run also times a reference in another child: the cheapest possible Python loop over
the same file (``for line in open(...): line.split("\\t")`` for TSV, ``json.loads`` per line for
JSON). The ratio says how much the source costs on top of merely splitting the lines.

Generated files are deleted afterwards unless ``--dir`` is given.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

REPO = Path(__file__).resolve().parent.parent
MIB = 1 << 20

HEADER = (
    "#separator \\x09\n"
    "#set_separator\t,\n"
    "#empty_field\t(empty)\n"
    "#unset_field\t-\n"
    "#path\tconn\n"
    "#open\t2024-05-02-09-00-00\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes"
    "\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes"
    "\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool"
    "\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n"
)
CLOSE = "#close\t2024-05-02-10-00-00\n"

# Each reader runs in its own interpreter; it prints one JSON line with its figures.
CHILD = r"""
import gzip, json, resource, sys, time
from pathlib import Path
mode, path = sys.argv[1], Path(sys.argv[2])
records = 0
if mode == "phonehome":
    from phonehome.model import InputSummary
    from phonehome.sources.zeek import ZeekSource
start, cpu_start = time.perf_counter(), time.process_time()
if mode == "phonehome":
    summary = None
    for item in ZeekSource().read(path):
        if isinstance(item, InputSummary):
            summary = item
        else:
            records += 1
    extra = {"summary_records": summary.packets, "skipped": summary.skipped, "kind": summary.kind}
elif mode == "split":
    with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                line.rstrip("\n").split("\t")
                records += 1
    extra = {}
else:
    loads = json.loads
    with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as f:
        for line in f:
            loads(line)
            records += 1
    extra = {}
seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
figures = {"records": records, "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mb": peak_kb / 1024}
print(json.dumps({**figures, **extra}))
"""


def _hosts(rng: random.Random) -> tuple[list[str], list[str]]:
    local = [f"192.168.{rng.randrange(0, 4)}.{rng.randrange(2, 250)}" for _ in range(300)]
    local += [f"fd00::{rng.randrange(1, 0xFFFF):x}" for _ in range(30)]
    remote = [
        f"{rng.choice((23, 34, 52, 104, 142, 151, 172, 185, 203))}.{rng.randrange(256)}.{rng.randrange(256)}."
        f"{rng.randrange(1, 255)}"
        for _ in range(5000)
    ]
    remote += [f"2606:4700:{rng.randrange(0xFFFF):x}::{rng.randrange(0xFFFF):x}" for _ in range(200)]
    return local, remote


_PROFILES = (
    # proto, service, resp_p, weight
    ("tcp", "ssl", 443, 45),
    ("udp", "dns", 53, 25),
    ("tcp", "http", 80, 8),
    ("udp", "-", 443, 8),
    ("udp", "ntp", 123, 4),
    ("tcp", "-", 8883, 3),
    ("tcp", "ssh", 22, 2),
    ("icmp", "-", 0, 3),
    ("tcp", "-", 554, 2),
)


def write_conn_log(out: TextIO, lines: int, fmt: str, seed: int = 7) -> None:
    """``lines`` conn records in Zeek's TSV layout (with headers) or as JSON lines."""
    rng = random.Random(seed)
    local, remote = _hosts(rng)
    profiles = [p for p in _PROFILES for _ in range(p[3])]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    ts = 1_714_640_400.0
    if fmt == "tsv":
        out.write(HEADER)
    batch: list[str] = []
    for n in range(lines):
        ts += rng.random() * 0.01
        proto, service, resp_p, _ = profiles[n % len(profiles)]
        src = local[rng.randrange(len(local))]
        dst = remote[rng.randrange(len(remote))]
        if ":" in src:
            dst = f"2606:4700::{n % 4000:x}"
        uid = "C" + "".join(rng.choices(alphabet, k=17))
        orig_p = 0 if proto == "icmp" else rng.randrange(1024, 65535)
        duration = rng.random() * 30
        ob, rb = rng.randrange(0, 5000), rng.randrange(0, 200000)
        op, rp = ob // 1000 + 2, rb // 1400 + 2
        oib, rib = ob + 40 * op, rb + 40 * rp
        state, history = ("SF", "ShADadFf") if proto == "tcp" else ("SF", "Dd")
        if fmt == "tsv":
            batch.append(
                f"{ts:.6f}\t{uid}\t{src}\t{orig_p}\t{dst}\t{resp_p}\t{proto}\t{service}\t{duration:.6f}\t{ob}"
                f"\t{rb}\t{state}\tT\tF\t0\t{history}\t{op}\t{oib}\t{rp}\t{rib}\t-\n"
            )
        else:
            record = {
                "ts": round(ts, 6),
                "uid": uid,
                "id.orig_h": src,
                "id.orig_p": orig_p,
                "id.resp_h": dst,
                "id.resp_p": resp_p,
                "proto": proto,
                **({"service": service} if service != "-" else {}),
                "duration": round(duration, 6),
                "orig_bytes": ob,
                "resp_bytes": rb,
                "conn_state": state,
                "local_orig": True,
                "local_resp": False,
                "missed_bytes": 0,
                "history": history,
                "orig_pkts": op,
                "orig_ip_bytes": oib,
                "resp_pkts": rp,
                "resp_ip_bytes": rib,
            }
            batch.append(json.dumps(record, separators=(",", ":")) + "\n")
        if len(batch) >= 10000:
            out.write("".join(batch))
            batch.clear()
    out.write("".join(batch))
    if fmt == "tsv":
        out.write(CLOSE)


@dataclass
class Reading:
    """What one child process reported."""

    records: int
    seconds: float
    """Wall time of the read loop (imports excluded)."""
    cpu_seconds: float
    """CPU time of the read loop: steadier than wall time on a shared machine."""
    peak_rss_mb: float
    summary_records: int = 0
    skipped: int = 0
    kind: str = ""


@dataclass
class Row:
    format: str
    lines: int
    size_mb: float
    phonehome: Reading
    reference_name: str
    reference: Reading

    @property
    def lines_per_s(self) -> float:
        return self.lines / self.phonehome.seconds

    @property
    def lines_per_cpu_s(self) -> float:
        return self.lines / self.phonehome.cpu_seconds

    @property
    def ratio(self) -> float:
        """CPU time of phonehome over CPU time of the reference loop."""
        return self.phonehome.cpu_seconds / max(self.reference.cpu_seconds, 1e-9)


def _run(mode: str, path: Path) -> Reading:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    if done.returncode != 0:
        sys.exit(f"bench_zeek: {mode} reader failed:\n{done.stderr}")
    return Reading(**json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=10_000_000, help="conn records to generate")
    parser.add_argument("--format", choices=("tsv", "json", "both"), default="tsv")
    parser.add_argument("--gzip", action="store_true", help="write the log gzip-compressed")
    parser.add_argument("--dir", type=Path, help="write (and keep) the logs here instead of a temp dir")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    formats = ("tsv", "json") if args.format == "both" else (args.format,)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="phonehome-zeek-") as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            path = folder / (f"conn.{fmt}.log" + (".gz" if args.gzip else ""))
            started = time.perf_counter()
            if args.gzip:
                with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
                    write_conn_log(out, args.lines, fmt)
            else:
                with open(path, "w", encoding="utf-8") as out:
                    write_conn_log(out, args.lines, fmt)
            size_mb = path.stat().st_size / MIB
            took = time.perf_counter() - started
            print(f"{fmt}: wrote {args.lines:,} lines, {size_mb:,.0f} MiB in {took:.0f} s", flush=True)
            reference = _run("split" if fmt == "tsv" else "loads", path)
            ours = _run("phonehome", path)
            if ours.records != args.lines or ours.summary_records != args.lines or ours.skipped:
                sys.exit(f"bench_zeek: expected {args.lines} records, got {ours}")
            name = "str.split per line" if fmt == "tsv" else "json.loads per line"
            label = fmt + ("+gzip" if args.gzip else "")
            rows.append(Row(label, args.lines, size_mb, ours, name, reference))
    print()
    print(
        f"{'format':<10} {'lines':>12} {'MiB':>7} {'wall s':>7} {'CPU s':>7} {'lines/s':>9}"
        f" {'lines/CPU s':>11} {'peak RSS':>9}  reference: CPU s, peak RSS, phonehome/reference CPU"
    )
    for r in rows:
        ref, ours = r.reference, r.phonehome
        print(
            f"{r.format:<10} {r.lines:>12,} {r.size_mb:>7,.0f} {ours.seconds:>7.1f} {ours.cpu_seconds:>7.1f}"
            f" {r.lines_per_s:>9,.0f} {r.lines_per_cpu_s:>11,.0f} {ours.peak_rss_mb:>6.0f} MB"
            f"  {r.reference_name}: {ref.cpu_seconds:.1f} s, {ref.peak_rss_mb:.0f} MB, x{r.ratio:.2f}"
        )
    if args.json:
        extra = ("lines_per_s", "lines_per_cpu_s", "ratio")
        figures = [asdict(r) | {k: round(getattr(r, k), 2) for k in extra} for r in rows]
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
