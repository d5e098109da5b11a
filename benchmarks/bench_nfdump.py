#!/usr/bin/env python3
"""Speed and memory of the nfdump CSV source against a bare ``csv.reader`` pass, in the same run.

    python benchmarks/bench_nfdump.py [--rows N] [--repeat R] [--keep PATH] [--json FILE]

Writes N rows (default 2,000,000) of ``nfdump -o csv`` output in the nfdump 1.7 layout (48
columns, protocol names, ingress MACs on a fifth of the rows, the ``Summary`` block at the end)
to a temporary file, then runs, alternating, each in a fresh child process:

  wc -l       ``wc -l FILE``: the cost of reading the bytes once;
  csv.reader  Python's C CSV tokeniser over the file, counting rows: the floor for any Python
              reader of this file (no field is converted);
  phonehome   ``NfdumpSource().read(FILE)`` consumed to the end, every row turned into a
              ``FlowRecord`` (addresses validated, times, ports, protocol and MACs converted).

For each: wall time, CPU time (user + system, from ``os.wait4``) and peak RSS (``ru_maxrss``, what
GNU ``time -f %M`` reports; it includes the forked parent's pages before ``exec``, so about 17 MiB
is the floor). On a shared machine compare CPU times: wall time includes waiting.
With --repeat the table shows the median time and the highest RSS.
The file is generated with a fixed seed, so the same N gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIB = 1 << 20
HEADER = (
    "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,"
    "dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr"
)
_ZERO_MAC = "00:00:00:00:00:00"
_MPLS = ",".join(["0-0-0"] * 10)
_LATENCY = "    0.000,    0.000,    0.000"


def write_listing(path: Path, rows: int, seed: int = 1) -> None:
    """A deterministic nfdump 1.7 CSV listing of ``rows`` flows, in time order."""
    rng = random.Random(seed)
    hosts = [f"192.168.{i // 250}.{i % 250 + 2}" for i in range(2000)]
    macs = [f"44:19:b6:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}" for i in range(len(hosts))]
    octet = rng.randrange
    remotes = [f"{octet(1, 224)}.{octet(256)}.{octet(256)}.{octet(1, 255)}" for _ in range(20000)]
    services = [("TCP", 443), ("TCP", 443), ("UDP", 53), ("TCP", 80), ("UDP", 443), ("UDP", 123), ("ICMP", 0)]
    start = 1683194400
    with open(path, "w", buffering=1 << 20) as out:
        out.write(HEADER + "\n")
        for n in range(rows):
            t = start + n // 200  # about 200 flows a second
            ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
            te = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t + n % 7))
            h = rng.randrange(len(hosts))
            proto, port = services[n % len(services)]
            dport = "2048" if proto == "ICMP" else str(port)
            ismc, idmc = (macs[h], "00:1e:10:1f:00:01") if n % 5 == 0 else (_ZERO_MAC, _ZERO_MAC)
            packets = rng.randrange(1, 400)
            out.write(
                f"{ts},{te},{n % 7}.000,{hosts[h]},{remotes[rng.randrange(len(remotes))]},"
                f"{rng.randrange(1024, 65536)},{dport},{proto},...AP.SF,0,0,{packets},{packets * 310},0,0,"
                f"2,3,0,0,24,0,0,0,0.0.0.0,0.0.0.0,0,0,{ismc},{_ZERO_MAC},{idmc},{_ZERO_MAC},{_MPLS},"
                f"{_LATENCY},192.168.1.1,0/0,1,{ts}.000\n"
            )
        out.write(f"Summary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n{rows},0,0,0,0,0\n")


def _child(tool: str, path: str) -> None:
    """Runs inside the measured process: read the file and print what was read."""
    if tool == "csv.reader":
        import csv

        with open(path, newline="") as f:
            print(json.dumps({"rows": sum(1 for _ in csv.reader(f)) - 1}))
        return
    from phonehome.model import InputSummary
    from phonehome.sources.nfdump import NfdumpSource

    flows = 0
    summary = None
    for item in NfdumpSource().read(Path(path)):
        if isinstance(item, InputSummary):
            summary = item
        else:
            flows += 1
    assert summary is not None
    print(json.dumps({"rows": flows, "skipped": summary.skipped}))


def measure(command: list[str]) -> dict[str, float | str]:
    begin = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    output = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - begin
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{command[0]} failed with exit status {proc.returncode}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss_mib": usage.ru_maxrss / 1024,
        "output": output.strip(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write the listing here and keep it (default: a temp file)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("--child", nargs=2, metavar=("TOOL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0

    with tempfile.TemporaryDirectory(prefix="phonehome-bench-") as tmp:
        path = args.keep or Path(tmp) / "flows.csv"
        begin = time.monotonic()
        write_listing(path, args.rows)
        size = path.stat().st_size
        print(f"wrote {args.rows:,} rows, {size / MIB:.0f} MiB, in {time.monotonic() - begin:.1f} s: {path}")
        commands = {
            "wc -l": ["wc", "-l", str(path)],
            "csv.reader": [sys.executable, __file__, "--child", "csv.reader", str(path)],
            "phonehome": [sys.executable, __file__, "--child", "phonehome", str(path)],
        }
        subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
        runs: dict[str, list[dict[str, float | str]]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():
                runs[name].append(measure(command))

    print("\ntool          wall s    cpu s      rows/s  rows/cpu-s  max RSS MiB  output")
    results = {}
    for name, measured in runs.items():
        wall = statistics.median(float(r["wall_s"]) for r in measured)
        cpu = statistics.median(float(r["cpu_s"]) for r in measured)
        rss = max(float(r["max_rss_mib"]) for r in measured)
        per_s, per_cpu_s = args.rows / wall, args.rows / max(cpu, 1e-9)
        results[name] = {"wall_s": wall, "cpu_s": cpu, "rows_per_s": per_s, "max_rss_mib": rss}
        output = measured[-1]["output"]
        print(f"{name:<11} {wall:8.2f} {cpu:8.2f} {per_s:11,.0f} {per_cpu_s:11,.0f} {rss:12.1f}  {output}")
    ratio = results["phonehome"]["wall_s"] / results["csv.reader"]["wall_s"]
    cpu_ratio = results["phonehome"]["cpu_s"] / results["csv.reader"]["cpu_s"]
    print(
        f"\nphonehome takes {ratio:.2f}x the wall time ({cpu_ratio:.2f}x the CPU time) of a bare "
        "csv.reader pass over the same file"
    )
    print(f"machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    if args.json:
        report = {
            "rows": args.rows,
            "bytes": size,
            "results": results,
            "ratio_vs_csv_reader": {"wall": ratio, "cpu": cpu_ratio},
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
