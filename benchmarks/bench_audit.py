#!/usr/bin/env python3
"""Time and memory of ``phonehome audit`` against a tshark field extraction, in the same run.

    python benchmarks/bench_audit.py CAPTURE [--repeat N] [--json FILE] [--no-filter-variant]

Both tools read the same capture and pull out the same metadata (TLS SNI, DNS names and
answers, HTTP Host):

  tshark      tshark -r CAPTURE -T fields -e frame.number -e tls.handshake.extensions_server_name
                     -e dns.qry.name -e dns.a -e dns.aaaa -e http.host -E separator=,  >/dev/null
  tshark -Y   the same with a display filter keeping only frames that carry one of the fields
              (reported as an extra row; the ratio uses the plain command)
  phonehome   phonehome audit CAPTURE --workspace TMP --format json -o /dev/null
              (exit status 1 means "findings", which is success here, unless stderr
              shows a Python traceback)

Each run is a fresh child process. Measured for each:
  * wall time (monotonic clock around the child);
  * max RSS: ``ru_maxrss`` from ``os.wait4`` on the child -- what GNU ``time -f %M`` reports:
    the largest single process of the tree (children that were reaped are included);
  * tree RSS: a sampler sums the RSS of the child and all its descendants every 50 ms and keeps
    the peak. nfstream forks a meter process, so this is the figure that bounds memory use; it
    counts pages shared between parent and forked child twice, so it is an upper bound;
  * tree PSS: the same sum with proportional set size (shared pages split between sharers),
    sampled every 250 ms; the closest to "memory this run costs the machine";
  * CPU time: user + system seconds of the child and its reaped descendants (``os.wait4``),
    which moves less than wall time when the (virtual) machine is shared.
Before each run the script samples /proc/stat for one second and records how busy the machine
was; if other processes used more than 15% of the CPUs it prints a warning.

Runs alternate (tshark, phonehome, tshark, ...) after one untimed read of the capture, so both
see a warm page cache. With --repeat N the table shows the median wall time and the highest
memory figures over the N runs of each tool.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
FIELDS = [
    "frame.number",
    "tls.handshake.extensions_server_name",
    "dns.qry.name",
    "dns.a",
    "dns.aaaa",
    "http.host",
]
FILTER = "tls.handshake.extensions_server_name || dns.qry.name || dns.a || dns.aaaa || http.host"
MIB = 1 << 20
BUSY_WARNING = 0.15
RSS_EVERY = 0.05
PSS_EVERY = 0.25


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    tree_rss_mb: float
    tree_pss_mb: float
    processes: int
    exit_code: int
    busy_before: float  # share of the machine's CPU used by others in the second before


@dataclass
class Tool:
    name: str
    command: list[str]
    ok_codes: tuple[int, ...] = (0,)
    runs: list[Run] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "wall_s": round(statistics.median(r.wall_s for r in self.runs), 2),
            "wall_s_all": [round(r.wall_s, 2) for r in self.runs],
            "cpu_s": round(statistics.median(r.cpu_s for r in self.runs), 2),
            "max_rss_mb": round(max(r.max_rss_mb for r in self.runs), 1),
            "tree_rss_mb": round(max(r.tree_rss_mb for r in self.runs), 1),
            "tree_pss_mb": round(max(r.tree_pss_mb for r in self.runs), 1),
            "processes": max(r.processes for r in self.runs),
        }


class TreeSampler(threading.Thread):
    """Peak of the summed RSS (and PSS) of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.done = threading.Event()
        self.peak_rss = 0
        self.peak_pss = 0
        self.max_procs = 0

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        next_pss = 0.0
        while not self.done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            now = time.monotonic()
            want_pss = now >= next_pss
            rss = pss = 0
            for p in procs:
                try:
                    if want_pss:
                        info = p.memory_full_info()
                        rss += info.rss
                        pss += info.pss
                    else:
                        rss += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_rss = max(self.peak_rss, rss)
            if want_pss:
                self.peak_pss = max(self.peak_pss, pss)
                next_pss = now + PSS_EVERY
            self.max_procs = max(self.max_procs, len(procs))
            self.done.wait(RSS_EVERY)


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine since boot."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def background_load(seconds: float = 1.0) -> float:
    """Share of all CPUs busy during ``seconds`` while this script sleeps (0..1)."""
    try:
        b0, t0 = _cpu_times()
        time.sleep(seconds)
        b1, t1 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return 0.0
    return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


def measure(command: list[str], stdout: int | None = subprocess.DEVNULL) -> tuple[Run, str]:
    busy = background_load()
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.done.set()
        sampler.join()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return Run(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,  # includes reaped descendants
        max_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        tree_rss_mb=max(sampler.peak_rss, usage.ru_maxrss * 1024) / MIB,
        tree_pss_mb=sampler.peak_pss / MIB,
        processes=sampler.max_procs,
        exit_code=proc.returncode,
        busy_before=busy,
    ), stderr


def count_packets(path: Path) -> tuple[str, int]:
    """Format and packet count, read straight from the file (pcap or pcapng, uncompressed)."""
    with open(path, "rb") as f:
        head = f.read(24)
        if head[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            endian = "<" if head[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
            rec = struct.Struct(endian + "IIII")
            n = 0
            while len(h := f.read(16)) == 16:
                f.seek(rec.unpack(h)[2], 1)
                n += 1
            return "pcap", n
        if head[:4] == b"\x0a\x0d\x0d\x0a":
            f.seek(0)
            endian, n = "<", 0
            while len(h := f.read(12)) == 12:
                btype = struct.unpack(endian + "I", h[:4])[0]
                if btype == 0x0A0D0D0A:
                    endian = "<" if h[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
                length = struct.unpack(endian + "I", h[4:8])[0]
                if length < 12:
                    break
                n += btype in (3, 6)
                f.seek(length - 12, 1)
            return "pcapng", n
    return "unknown", -1


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor() or "unknown",
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def source_digest() -> str:
    """Short hash of phonehome's Python sources, to tie figures to a state of the code."""
    h = hashlib.sha256()
    for f in sorted((REPO / "src" / "phonehome").rglob("*.py")):
        h.update(f.relative_to(REPO).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(8 * MIB):
            pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("capture", type=Path)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each tool (default 1)")
    ap.add_argument("--json", type=Path, help="also write the results to this file")
    ap.add_argument(
        "--no-filter-variant", action="store_true", help="skip the extra tshark run with a -Y display filter"
    )
    ap.add_argument("--tshark", default=shutil.which("tshark") or "tshark")
    ap.add_argument("--phonehome", default=str(REPO / ".venv" / "bin" / "phonehome"))
    args = ap.parse_args(argv)
    capture = args.capture.resolve()
    if not capture.is_file():
        ap.error(f"{capture}: no such file")
    if shutil.which(args.tshark) is None:
        ap.error("tshark not found: run benchmarks/setup.sh")
    if not Path(args.phonehome).exists():
        ap.error(f"{args.phonehome} not found: pip install -e . in the venv")

    fields = [x for f in FIELDS for x in ("-e", f)]
    tshark_cmd = [args.tshark, "-r", str(capture), "-T", "fields", *fields, "-E", "separator=,"]
    tools = [Tool("tshark", tshark_cmd)]
    if not args.no_filter_variant:
        tools.append(Tool("tshark -Y", [*tshark_cmd[:3], "-Y", FILTER, *tshark_cmd[3:]]))
    workspace_root = Path(tempfile.mkdtemp(prefix="phonehome-bench-"))
    tools.append(
        Tool(
            "phonehome",
            [
                args.phonehome,
                "audit",
                str(capture),
                "--workspace",
                "WORKSPACE",
                "--format",
                "json",
                "-o",
                os.devnull,
            ],
            ok_codes=(0, 1),
        )
    )

    fmt, packets = count_packets(capture)
    size = capture.stat().st_size
    info = machine()
    versions = {
        "tshark": version([args.tshark, "--version"]),
        "phonehome": version([args.phonehome, "--version"]) + f" (source {source_digest()})",
        "nfstream": version(
            [
                str(Path(args.phonehome).parent / "python"),
                "-c",
                "import nfstream; print(nfstream.__version__)",
            ]
        ),
    }
    print(f"capture:  {capture} ({fmt}, {size / MIB:.1f} MiB, {packets} packets)")
    print(
        f"machine:  {info['nproc']} CPUs, {info['cpu']}, {info['memory_gb']} GiB, "
        f"Linux {info['kernel']}, Python {info['python']}"
    )
    print(f"versions: {versions['tshark']}; {versions['phonehome']}; nfstream {versions['nfstream']}")
    warm(capture)
    try:
        for i in range(args.repeat):
            for tool in tools:
                command = list(tool.command)
                if "WORKSPACE" in command:
                    ws = workspace_root / f"run{i}"
                    command[command.index("WORKSPACE")] = str(ws)
                print(f"  run {i + 1}/{args.repeat} {tool.name} ...", end="", flush=True)
                run, stderr = measure(command)
                print(
                    f" {run.wall_s:.2f} s wall, {run.cpu_s:.2f} s CPU, tree RSS "
                    f"{run.tree_rss_mb:.0f} MiB (machine {run.busy_before:.0%} busy before)",
                    flush=True,
                )
                # Exit status 1 is "findings" for phonehome, but an uncaught exception exits 1
                # too: a traceback on stderr is a failure whatever the status.
                if run.exit_code not in tool.ok_codes or "Traceback (most recent call" in stderr:
                    sys.stderr.write(stderr[-4000:])
                    print(
                        f"{tool.name} failed with exit status {run.exit_code}: {' '.join(command)}",
                        file=sys.stderr,
                    )
                    return 2
                tool.runs.append(run)
    finally:
        shutil.rmtree(workspace_root, ignore_errors=True)

    rows = {t.name: t.summary() for t in tools}
    ph, ts = rows["phonehome"], rows["tshark"]
    ratio = ts["wall_s"] / ph["wall_s"] if ph["wall_s"] else float("inf")
    print()
    print(
        f"{'tool':<11} {'wall s':>8} {'CPU s':>8} {'max RSS MiB':>12} {'tree RSS MiB':>13} "
        f"{'tree PSS MiB':>13} {'procs':>6}"
    )
    for name, r in rows.items():
        print(
            f"{name:<11} {r['wall_s']:>8.2f} {r['cpu_s']:>8.2f} {r['max_rss_mb']:>12.0f} "
            f"{r['tree_rss_mb']:>13.0f} {r['tree_pss_mb']:>13.0f} {r['processes']:>6}"
        )
    print()
    print(f"time ratio tshark/phonehome: {ratio:.2f}x (target >= 2x: {'met' if ratio >= 2 else 'NOT met'})")
    paired = [a.wall_s / b.wall_s for a, b in zip(tools[0].runs, tools[-1].runs, strict=True)]
    if len(paired) > 1:
        print(
            f"paired ratios (tshark run i / phonehome run i): "
            f"{', '.join(f'{x:.2f}' for x in paired)}; median {statistics.median(paired):.2f}x"
        )
    print(
        f"CPU time ratio tshark/phonehome: {ts['cpu_s'] / ph['cpu_s']:.2f}x "
        "(phonehome uses a second process, tshark one)"
    )
    if "tshark -Y" in rows:
        print(f"time ratio (tshark -Y)/phonehome: {rows['tshark -Y']['wall_s'] / ph['wall_s']:.2f}x")
    peak = max(ph["tree_rss_mb"], ph["max_rss_mb"])
    pss = ph["tree_pss_mb"]

    def verdict(x: float) -> str:
        return "met" if x < 400 else "NOT met"

    print(
        f"phonehome peak memory (target < 400 MiB): tree PSS {pss:.0f} MiB ({verdict(pss)}); "
        f"tree RSS sum {peak:.0f} MiB ({verdict(peak)}; counts pages shared with forked "
        "children once per process)"
    )
    print(
        f"throughput: phonehome {size / MIB / ph['wall_s']:.1f} MiB/s, "
        f"tshark {size / MIB / ts['wall_s']:.1f} MiB/s"
    )
    busiest = max(r.busy_before for t in tools for r in t.runs)
    if busiest > BUSY_WARNING:
        print(
            f"WARNING: other processes used up to {busiest:.0%} of the CPUs just before a run; "
            "wall times are unreliable, run again on a quiet machine"
        )

    if args.json:
        result = {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "capture": {"path": str(capture), "format": fmt, "bytes": size, "packets": packets},
            "machine": info,
            "versions": versions,
            "repeat": args.repeat,
            "commands": {t.name: t.command for t in tools},
            "results": rows,
            "runs": {t.name: [asdict(r) for r in t.runs] for t in tools},
            "ratio_tshark_over_phonehome": round(ratio, 3),
            "paired_ratios": [round(x, 3) for x in paired],
            "cpu_ratio_tshark_over_phonehome": round(ts["cpu_s"] / ph["cpu_s"], 3),
            "max_background_busy": round(busiest, 3),
            "phonehome_peak_tree_rss_mb": round(peak, 1),
            "phonehome_peak_tree_pss_mb": round(pss, 1),
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
