#!/usr/bin/env python3
"""Speed and peak memory of the nmap XML source on a large synthetic scan.

    python benchmarks/bench_nmap.py [--hosts N] [--ports P] [--repeat R] [--keep DIR] [--json FILE]

Writes a synthetic ``nmap -sV -O --script default,banner`` XML file of N hosts (default 65,536;
each with P open ports, service versions, CPEs, http-title, http-server-header, ssl-cert, banner,
OS matches, and some hosts down) into a temporary directory, then reads it in fresh child
processes, one per measurement, so that the figures cover only the reader:

  phonehome   ``NmapSource().read(path)``, every item consumed (sightings, signals, summary)
  reference   defusedxml ``iterparse`` over the same file, clearing each ``<host>``: the
              parser's own floor, with no evidence extraction

Runs of the two readers alternate. For each: wall time, CPU time (user + system of the child,
which moves less than wall time on a shared machine), and peak RSS (``ru_maxrss`` of the child)
minus the RSS the child had after its imports, i.e. what reading the file cost. The same is
measured on a file of N/16 hosts: if memory is bounded, the peak does not grow with the hosts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MIB = 1 << 20

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<?xml-stylesheet href="file:///usr/bin/../share/nmap/nmap.xsl" type="text/xsl"?>
<!-- Nmap 7.94SVN scan initiated Tue Mar  5 10:12:03 2024 as: nmap -sV -O -v -&#45;script default,banner \
-oX bench.xml 10.0.0.0/8 -->
<nmaprun scanner="nmap" args="nmap -sV -O -v -&#45;script default,banner -oX bench.xml 10.0.0.0/8" \
start="1709633523" startstr="Tue Mar  5 10:12:03 2024" version="7.94SVN" xmloutputversion="1.05">
<scaninfo type="syn" protocol="tcp" numservices="1000" services="1,3-4,6-7,9,13,17,19-26"/>
<verbose level="1"/>
<debugging level="0"/>
"""
FOOTER = """<runstats><finished time="1709720000" timestr="Wed Mar  6 10:13:20 2024" elapsed="86477.00" \
exit="success"/><hosts up="{up}" down="{down}" total="{total}"/>
</runstats>
</nmaprun>
"""

# (OUI, service product, devicetype, title, server header, subject O, ssh banner)
PROFILES = [
    (
        "C0:56:E3",
        "Hikvision IP camera httpd",
        "webcam",
        "",
        "App-webs/",
        "HIKVISION",
        "SSH-2.0-dropbear_2019.78",
    ),
    ("3C:EF:8C", "Dahua webcam httpd", "webcam", "WEB SERVICE", "", "Dahua", "SSH-2.0-dropbear_2017.75"),
    (
        "00:E0:FC",
        "Huawei WS7200 router httpd",
        "WAP",
        "HUAWEI AX3 Pro",
        "",
        "Huawei",
        "SSH-2.0-HUAWEI-VRP8.0",
    ),
    ("3C:A9:F4", "nginx", "", "Welcome to nginx!", "nginx/1.24.0", "Example Ltd", "SSH-2.0-OpenSSH_9.6p1"),
]


def _port(portid: int, profile: tuple[str, ...], rnd: random.Random, host: int) -> str:
    _, product, devicetype, title, server, org, ssh = profile
    state = '<state state="open" reason="syn-ack" reason_ttl="64"/>'
    dtype = f' devicetype="{devicetype}"' if devicetype else ""
    if portid == 22:
        return (
            f'<port protocol="tcp" portid="22">{state}<service name="ssh" product="OpenSSH" version="9.6p1" '
            f'extrainfo="protocol 2.0" method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh:9.6p1</cpe>'
            f'</service><script id="banner" output="{ssh}"/></port>\n'
        )
    if portid == 443:
        return (
            f'<port protocol="tcp" portid="443">{state}<service name="http" product="{product}"{dtype} '
            f'tunnel="ssl" method="probed" conf="10"/><script id="ssl-cert" output="Subject: commonName='
            f"host{host}.example/organizationName={org}/countryName=CN&#xa;"
            f'Not valid before: 2020-01-01T00:00:00"><table key="subject">\n'
            f'<elem key="countryName">CN</elem>\n'
            f'<elem key="commonName">host{host}.example</elem>\n<elem key="organizationName">{org}</elem>\n'
            f'</table>\n<table key="issuer">\n<elem key="commonName">{org} CA</elem>\n</table>\n'
            f'<table key="validity">\n<elem key="notBefore">2020-01-01T00:00:00</elem>\n'
            f'<elem key="notAfter">2030-01-01T00:00:00</elem>\n'
            f'</table>\n<elem key="md5">{rnd.getrandbits(128):032x}</elem>\n</script></port>\n'
        )
    if portid == 554:
        return (
            f'<port protocol="tcp" portid="554">{state}<service name="rtsp" method="probed" conf="10"/>'
            f'<script id="rtsp-methods" output="&#xa;  OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"/></port>\n'
        )
    scripts = (
        f'<script id="http-title" output="{title}"><elem key="title">{title}</elem>\n</script>'
        if title
        else ""
    )
    if server:
        scripts += f'<script id="http-server-header" output="{server}"><elem>{server}</elem>\n</script>'
    return (
        f'<port protocol="tcp" portid="{portid}">{state}<service name="http" product="{product}"{dtype} '
        f'method="probed" conf="10"><cpe>cpe:/a:example:httpd</cpe></service>{scripts}</port>\n'
    )


def write_scan(path: Path, hosts: int, ports: int, seed: int = 7) -> tuple[int, int]:
    """A deterministic synthetic scan; returns (hosts up, hosts down)."""
    rnd = random.Random(seed)
    port_choices = [80, 443, 22, 554, 8080, 8000, 8443, 81]
    up = down = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(hosts):
            ip = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
            if n % 10 == 9:
                down += 1
                out.write(
                    f'<host><status state="down" reason="no-response" reason_ttl="0"/>\n'
                    f'<address addr="{ip}" addrtype="ipv4"/>\n</host>\n'
                )
                continue
            up += 1
            profile = PROFILES[n % len(PROFILES)]
            mac = f"{profile[0]}:{n >> 16 & 255:02X}:{n >> 8 & 255:02X}:{n & 255:02X}"
            body = "".join(_port(p, profile, rnd, n) for p in port_choices[:ports])
            out.write(
                f'<host starttime="{1709633535 + n}" endtime="{1709633600 + n}"><status state="up" '
                f'reason="arp-response" reason_ttl="0"/>\n<address addr="{ip}" addrtype="ipv4"/>\n'
                f'<address addr="{mac}" addrtype="mac" vendor="Example"/>\n<hostnames>\n'
                f'<hostname name="host{n}.lan" type="PTR"/>\n</hostnames>\n'
                f'<ports><extraports state="closed" count="{1000 - ports}">\n<extrareasons reason="reset" '
                f'count="{1000 - ports}" proto="tcp" ports="1-21,23-79"/>\n</extraports>\n{body}</ports>\n'
                f'<os><portused state="open" proto="tcp" portid="80"/>\n<osmatch name="Linux 3.2 - 4.9" '
                f'accuracy="96" line="65100">\n<osclass type="general purpose" vendor="Linux" '
                f'osfamily="Linux" osgen="3.X" accuracy="96"><cpe>cpe:/o:linux:linux_kernel:3</cpe>'
                f"</osclass>\n</osmatch>\n"
                f'<osmatch name="Linux 2.6.32" accuracy="{80 + n % 10}" line="55000">\n</osmatch>\n</os>\n'
                f'<distance value="1"/>\n<times srtt="1234" rttvar="312" to="100000"/>\n</host>\n'
            )
        out.write(FOOTER.format(up=up, down=down, total=hosts))
    return up, down


def _child(mode: str, path: Path) -> None:
    """Runs in the measured child process: read ``path`` and print one JSON line."""
    sys.path.insert(0, str(REPO / "src"))
    from defusedxml.ElementTree import iterparse

    from phonehome.sources.nmap import NmapSource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    baseline, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    items = hosts = 0
    if mode == "phonehome":
        for item in NmapSource().read(path):
            items += 1
            hosts = getattr(item, "packets", hosts)
    else:
        root = None
        for event, elem in iterparse(str(path), events=("start", "end")):
            if root is None:
                root = elem
            elif event == "end" and elem.tag == "host":
                hosts += 1
                root.clear()
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu
    print(
        json.dumps(
            {
                "mode": mode,
                "seconds": elapsed,
                "cpu": cpu,
                "hosts": hosts,
                "items": items,
                "peak_kib": peak,
                "baseline_kib": baseline,
            }
        )
    )


def _measure(mode: str, path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--hosts", type=int, default=65536, help="hosts in the synthetic scan (default 65536)"
    )
    parser.add_argument(
        "--ports",
        type=int,
        default=4,
        choices=range(1, 9),
        metavar="1-8",
        help="open ports per host (default 4)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each reader (median time, max memory)")
    parser.add_argument("--keep", type=Path, help="write the scans into this directory and keep them")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], Path(args.child[1]))
        return 0

    with tempfile.TemporaryDirectory(prefix="phonehome-bench-nmap-") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        results = []
        for hosts in (max(1, args.hosts // 16), args.hosts):
            path = directory / f"scan-{hosts}.xml"
            started = time.perf_counter()
            up, down = write_scan(path, hosts, args.ports)
            size = path.stat().st_size
            print(
                f"wrote {path.name}: {hosts} hosts ({up} up, {down} down), {size / MIB:.1f} MiB "
                f"in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            runs: dict[str, list[dict[str, float]]] = {"reference": [], "phonehome": []}
            for _ in range(args.repeat):  # alternate, so both see the same machine load
                for mode in runs:
                    runs[mode].append(_measure(mode, path))
            for mode, measured in runs.items():
                seconds = statistics.median(r["seconds"] for r in measured)
                cpu = statistics.median(r["cpu"] for r in measured)
                results.append(
                    {
                        "mode": mode,
                        "hosts": hosts,
                        "file_mib": round(size / MIB, 1),
                        "seconds": round(seconds, 2),
                        "cpu_seconds": round(cpu, 2),
                        "hosts_per_cpu_s": round(hosts / cpu),
                        "items": measured[0]["items"],
                        "peak_rss_mib": round(max(r["peak_kib"] for r in measured) / 1024, 1),
                        "reader_rss_mib": round(
                            max(r["peak_kib"] - r["baseline_kib"] for r in measured) / 1024, 1
                        ),
                    }
                )
    print(
        f"{'reader':<10} {'hosts':>6} {'MiB':>6} {'wall s':>7} {'cpu s':>6} {'hosts/cpu s':>11} {'items':>7} "
        f"{'peak RSS':>9} {'reading':>8}"
    )
    for r in results:
        print(
            f"{r['mode']:<10} {r['hosts']:>6} {r['file_mib']:>6} {r['seconds']:>7} {r['cpu_seconds']:>6} "
            f"{r['hosts_per_cpu_s']:>11} {r['items']:>7} {r['peak_rss_mib']:>8}M {r['reader_rss_mib']:>7}M"
        )
    reference, phonehome = (r for r in results if r["hosts"] == args.hosts)
    print(
        f"phonehome needs {phonehome['cpu_seconds'] / reference['cpu_seconds']:.2f}x the CPU time of the "
        f"bare parser (medians of {args.repeat} alternating runs). Peak RSS is the child's ru_maxrss; "
        "'reading' is that minus its RSS after imports."
    )
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
