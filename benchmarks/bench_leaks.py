#!/usr/bin/env python3
"""Speed of the identifier leak search (``LeakScanner.scan``), on synthetic requests or a capture.

    python benchmarks/bench_leaks.py [--requests N] [--repeat R] [--seed S] [--json FILE]
    python benchmarks/bench_leaks.py --capture CAPTURE [--repeat R]

Synthetic mode generates N requests (default 20,000) like a phone's app traffic: analytics and API
URLs with 5-15 query parameters, 8-12 headers (cookies, bearer tokens, signatures), and bodies:
55% JSON event batches (0.3-16 KiB, a few up to 256 KiB), 15% form posts, 15% none (GET), 10%
binary (protobuf-like random bytes, 1-32 KiB), 5% gzip-looking noise. 1% of the requests carry
one of the device's identifiers, each time in a randomly chosen form (plain, percent-encoded,
base64 alone or inside a longer blob, hex, MD5/SHA-1/SHA-256 digests; home coordinates as a
lat/lon pair) and place (URL, a header, a JSON field, a form field). The device has 10
identifiers: two IMEIs, serial, Wi-Fi and Bluetooth MACs, Android ID, advertising ID, phone
number, e-mail and home coordinates. Each configuration scans every request once per repeat:

  ids+generic   10 identifiers, generic patterns on (the default of an audit)
  ids           10 identifiers, generic patterns off
  generic       no identifiers, generic patterns only
  iterate       the loop with no scan: what the harness itself costs

and the table gives the best repeat's requests/s and MB/s (URL + header values + body bytes), the
injected requests found (recall) and the generic hits. Generation is deterministic (``--seed``).

Capture mode reads CAPTURE with phonehome's own capture source (as ``phonehome audit`` does),
keeps the HttpRequest observations, then scans them with 10 identifiers for every client device.
It prints the read time, the scan time and the ratio (read + scan) / read: an upper bound of
what the leak search adds to an audit, whose time includes the read and more.

Timings are wall and CPU (``time.process_time``) of this process; on a shared machine compare
the CPU figures and ratios from the same run.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from phonehome.analyze.identifiers import DeviceIdentifiers, GeoPoint, KnownIdentifier  # noqa: E402
from phonehome.analyze.leaks import LeakScanner  # noqa: E402
from phonehome.model import DeviceID  # noqa: E402
from phonehome.sources.interface import HttpRequest  # noqa: E402

MIB = 1 << 20
MAC = "3c:28:6d:12:34:56"
DEVICE = DeviceID(f"mac:{MAC}")
IDENTIFIERS = (
    ("imei", "358240051111110"),
    ("imei", "490154203237518"),
    ("serial", "R58M123ABCD"),
    ("mac", MAC),
    ("mac", "3c:28:6d:ab:cd:ef"),
    ("android_id", "51b6be48bac8c569"),
    ("advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d"),
    ("phone", "+447700900123"),
    ("email", "someone.test@example.org"),
)
HOME = GeoPoint(51.5014, -0.1419, "bench")
HOSTS = (
    "tracking.miui.com",
    "data.mistat.xiaomi.com",
    "sdkconfig.ad.xiaomi.com",
    "log.aliyuncs.com",
    "api.amplitude.com",
    "app-measurement.com",
    "graph.facebook.com",
    "sdk.hockeyapp.net",
    "mon.snssdk.com",
    "log.tiktokv.com",
    "api.weibo.cn",
    "grs.dbankcloud.com",
    "metrics.data.hicloud.com",
    "hm.baidu.com",
    "api.example-shop.com",
)
PATHS = ("/track/v4", "/api/v1/events", "/collect", "/log/sdk/v2", "/v1/batch", "/stat/report", "/2/httpapi")
UAS = (
    "Dalvik/2.1.0 (Linux; U; Android 13; Redmi Note 11 MIUI/V14.0.6.0.TGCMIXM)",
    "okhttp/4.9.2",
    "com.ss.android.ugc.trill/300904 (Linux; U; Android 12; en_GB; SM-A525F; Build/SP1A.210812.016)",
    "Mozilla/5.0 (Linux; Android 13; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile",
)
EVENT_NAMES = ("app_open", "screen_view", "click", "impression", "heartbeat", "session_end", "push_recv")


def identifiers_entry() -> DeviceIdentifiers:
    idents = tuple(KnownIdentifier(kind, value, "bench") for kind, value in IDENTIFIERS)
    return DeviceIdentifiers("bench phone", (MAC,), (), (), idents, HOME, "bench")


class Generator:
    """Deterministic synthetic requests; ``injected`` counts the requests given an identifier."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.injected = 0

    def hexs(self, n: int) -> str:
        return self.rng.randbytes(n).hex()

    def token(self, n: int) -> str:
        return base64.urlsafe_b64encode(self.rng.randbytes(n)).decode().rstrip("=")

    def params(self) -> dict[str, str]:
        rng = self.rng
        out = {
            "appid": str(rng.randint(10000, 99999)),
            "ver": f"{rng.randint(1, 14)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}",
            "ts": str(1714550400000 + rng.randint(0, 10**8)),
            "sign": self.hexs(16),
            "sid": str(uuid.UUID(bytes=rng.randbytes(16))),
        }
        extra = ("lang", "os", "model", "net", "channel", "region", "sdk", "abi", "dpi", "tz")
        for key in rng.sample(extra, rng.randint(0, len(extra))):
            out[key] = rng.choice(
                ("en_GB", "android_13", "2201117TG", "wifi", "google", "GB", "5.2.1", "arm64")
            )
        return out

    def event(self) -> dict[str, object]:
        rng = self.rng
        return {
            "name": rng.choice(EVENT_NAMES),
            "ts": 1714550400000 + rng.randint(0, 10**8),
            "dur": rng.randint(0, 60000),
            "props": {
                "screen": rng.choice(("Home", "Feed", "Settings", "Player")),
                "item": self.hexs(8),
                "pos": rng.randint(0, 50),
                "ratio": round(rng.random(), 4),
                "tags": [self.token(6) for _ in range(rng.randint(0, 4))],
            },
        }

    def body(self) -> tuple[str, bytes]:
        rng = self.rng
        kind = rng.random()
        if kind < 0.55:
            size = min(int(rng.lognormvariate(7.5, 1.0)), 256 * 1024)
            events: list[dict[str, object]] = []
            length = 40
            while length < size:
                events.append(self.event())
                length += len(json.dumps(events[-1])) + 2
            doc = {"app": "com.example.app", "v": 3, "events": events}
            return "application/json; charset=utf-8", json.dumps(doc).encode()
        if kind < 0.70:
            return "application/x-www-form-urlencoded", urlencode(self.params()).encode()
        if kind < 0.85:
            return "", b""
        if kind < 0.95:
            return "application/x-protobuf", self.rng.randbytes(rng.randint(1024, 32 * 1024))
        return "application/octet-stream", self.rng.randbytes(rng.randint(256, 8192))

    def request(self, n: int) -> HttpRequest:
        rng = self.rng
        host = rng.choice(HOSTS)
        params = self.params()
        headers = [
            ("Host", host),
            ("User-Agent", rng.choice(UAS)),
            ("Accept", "*/*"),
            ("Accept-Encoding", "gzip"),
            ("Cookie", f"uid={self.token(12)}; sess={self.token(24)}; _ga=GA1.2.{rng.randint(10**8, 10**9)}"),
            ("Authorization", f"Bearer {self.token(120)}"),
            ("X-Request-Id", str(uuid.UUID(bytes=rng.randbytes(16)))),
            ("X-Sign", self.hexs(32)),
        ]
        content_type, body = self.body()
        if content_type:
            headers.append(("Content-Type", content_type))
            headers.append(("Content-Length", str(len(body))))
        url = f"http://{host}{rng.choice(PATHS)}?{urlencode(params)}"
        if rng.random() < 0.01:
            self.injected += 1
            url, headers, body = self.inject(url, headers, content_type, body)
        return HttpRequest(
            client_mac=MAC,
            client_ip="192.168.1.23",
            server_ip=f"203.0.113.{n % 250 + 1}",
            server_port=80,
            time=1714550400.0 + n,
            method="POST" if body else "GET",
            host=host,
            url=url,
            headers=tuple(headers),
            body=body,
            source="bench",
        )

    def inject(
        self, url: str, headers: list[tuple[str, str]], content_type: str, body: bytes
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        rng = self.rng
        if rng.random() < 0.1:
            value = "lat=51.50139&lng=-0.14187"
        else:
            kind, raw = rng.choice(IDENTIFIERS)
            form = raw.upper() if kind in ("mac", "android_id") and rng.random() < 0.5 else raw
            encode: Callable[[str], str] = rng.choice(
                (
                    lambda v: v,
                    lambda v: quote(v, safe=""),
                    lambda v: base64.b64encode(v.encode()).decode(),
                    lambda v: base64.b64encode(
                        self.rng.randbytes(self.rng.randint(1, 40)) + v.encode()
                    ).decode(),
                    lambda v: v.encode().hex(),
                    lambda v: hashlib.md5(v.encode()).hexdigest(),
                    lambda v: hashlib.sha1(v.encode()).hexdigest(),
                    lambda v: hashlib.sha256(v.encode()).hexdigest().upper(),
                )
            )
            value = "did=" + encode(form)
        place = rng.random()
        if place < 0.4 or not body:
            return f"{url}&{value}", headers, body
        if place < 0.6:
            return url, [*headers, ("X-Device", value.split("=", 1)[1])], body
        if content_type.startswith("application/json"):
            doc = json.loads(body)
            doc["device"] = {"id": value.split("=", 1)[1]}
            return url, headers, json.dumps(doc).encode()
        return url, headers, body + b"&" + value.encode()


def payload_bytes(requests: list[HttpRequest]) -> int:
    return sum(len(r.url) + sum(len(v) for _, v in r.headers) + len(r.body) for r in requests)


def run(requests: list[HttpRequest], config: str) -> tuple[float, float, LeakScanner | None]:
    scanner: LeakScanner | None
    if config == "iterate":
        scanner = None
    elif config == "generic":
        scanner = LeakScanner({}, generic=True)
    else:
        scanner = LeakScanner({DEVICE: identifiers_entry()}, generic=config == "ids+generic")
    wall, cpu = time.perf_counter(), time.process_time()
    if scanner is None:
        for r in requests:
            _ = DEVICE, r
    else:
        for r in requests:
            scanner.scan(r, DEVICE)
    return time.perf_counter() - wall, time.process_time() - cpu, scanner


def synthetic(args: argparse.Namespace) -> dict[str, object]:
    gen = Generator(args.seed)
    t = time.perf_counter()
    requests = [gen.request(n) for n in range(args.requests)]
    size = payload_bytes(requests)
    print(
        f"generated {len(requests):,} requests, {size / MIB:.1f} MiB, {gen.injected} with an identifier "
        f"({time.perf_counter() - t:.1f} s)"
    )
    rows = []
    for config in ("ids+generic", "ids", "generic", "iterate"):
        times = []
        scanner = None
        for _ in range(args.repeat):
            wall, cpu, scanner = run(requests, config)
            times.append((wall, cpu))
        wall, cpu = min(times)
        leaks = scanner.results() if scanner else []
        known = [k for k in leaks if not k.identifier.startswith("pattern:")]
        found_requests = sum(k.count for k in known)
        generic = sum(k.count for k in leaks if k.identifier.startswith("pattern:"))
        rows.append(
            {
                "config": config,
                "wall_s": round(wall, 3),
                "cpu_s": round(cpu, 3),
                "requests_per_s": round(len(requests) / wall),
                "mib_per_s": round(size / MIB / wall, 1),
                "known_hits": found_requests,
                "generic_hits": generic,
                "wall_median_s": round(statistics.median(w for w, _ in times), 3),
            }
        )
    columns = ("config", "wall_s", "cpu_s", "requests_per_s", "mib_per_s", "known_hits", "generic_hits")
    print("\n" + " ".join(f"{c:>14}" for c in columns))
    for r in rows:
        print(" ".join(f"{r[c]:>14}" for c in columns))
    print(
        f"\nknown hits count requests x places x forms; {gen.injected} requests were given an identifier "
        "(a request with the value in the URL and in its decoded form counts once)"
    )
    return {"requests": len(requests), "mib": round(size / MIB, 2), "injected": gen.injected, "rows": rows}


def capture(args: argparse.Namespace) -> dict[str, object]:
    from phonehome.sources.registry import build_sources, detect

    path = Path(args.capture)
    source = detect(path, build_sources(None))
    if source is None:
        sys.exit(f"{path}: not a readable capture")
    wall, cpu = time.perf_counter(), time.process_time()
    requests = [item for item in source.read(path) if isinstance(item, HttpRequest)]
    read_wall, read_cpu = time.perf_counter() - wall, time.process_time() - cpu
    size = payload_bytes(requests)
    devices = {DeviceID(f"mac:{r.client_mac}" if r.client_mac else f"ip:{r.client_ip}") for r in requests}
    entry = identifiers_entry()
    print(
        f"{path}: read in {read_wall:.1f} s wall / {read_cpu:.1f} s CPU of this process (the flow "
        f"meter runs in a child); {len(requests):,} HTTP requests, {size / MIB:.2f} MiB, "
        f"{len(devices)} client devices"
    )
    out: dict[str, object] = {
        "capture": str(path),
        "read_wall_s": round(read_wall, 2),
        "requests": len(requests),
    }
    for generic in (True, False):
        best = None
        for _ in range(args.repeat):
            scanner = LeakScanner(dict.fromkeys(devices, entry), generic=generic)
            wall, cpu = time.perf_counter(), time.process_time()
            for r in requests:
                scanner.scan(r, DeviceID(f"mac:{r.client_mac}" if r.client_mac else f"ip:{r.client_ip}"))
            took = (time.perf_counter() - wall, time.process_time() - cpu)
            best = took if best is None else min(best, took)
        assert best is not None
        label = "10 ids + generic" if generic else "10 ids"
        ratio = (read_wall + best[0]) / read_wall
        print(
            f"scan, {label:<16}: {best[0]:.3f} s wall / {best[1]:.3f} s CPU "
            f"({len(requests) / max(best[0], 1e-9):,.0f} req/s); (read + scan) / read = {ratio:.3f}x"
        )
        out[f"scan_wall_s_{'generic' if generic else 'ids'}"] = round(best[0], 4)
        out[f"ratio_{'generic' if generic else 'ids'}"] = round(ratio, 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--capture", help="time the search on the HTTP requests of this capture")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    result = capture(args) if args.capture else synthetic(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
