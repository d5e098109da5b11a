#!/usr/bin/env python3
"""Speed and memory of APK analysis (``phonehome apk``), on generated APKs and, if given, real ones.

    python benchmarks/bench_apk.py [--count N] [--classes C] [--strings S] [--dex D] [--seed S]
                                   [--real APK ...] [--json FILE]

Generated APKs are built by ``phonehome.testing.apk`` (binary-XML manifest with 12 permissions,
D dex files holding C classes in all, each with one method, and S string constants of which 2%
are URLs and host names; 1% of the classes lie under tracker SDK prefixes; a v1 signature),
deterministically from ``--seed``. Each configuration analyses every APK once, as the command
does (``analyze_apks``: one forked worker per APK with the default time budget), and once in this
process (``analyze_apk``) to show what the worker costs. Reported: wall seconds, APKs per minute,
MB/s of APK bytes, and peak resident memory: of this process (ru_maxrss of self) and of the
largest worker (ru_maxrss of children, which includes the fork of this process).

``--real`` adds APKs found on the machine (Debian's ``android-framework-res`` ships
``/usr/share/android-framework-res/framework-res.apk``, 43 MiB, resources only), analysed one by
one in a worker, with their size and time.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from phonehome.analyze.apk import ApkFailure, analyze_apk, analyze_apks  # noqa: E402
from phonehome.intel.loader import default_intel  # noqa: E402
from phonehome.sources.apk import ApkLimits, androguard  # noqa: E402
from phonehome.testing.apk import ApkSpec, ManifestSpec, build_apk, build_dex, make_signer  # noqa: E402

FRAMEWORK_RES = Path("/usr/share/android-framework-res/framework-res.apk")
PERMISSIONS = tuple(
    f"android.permission.{p}"
    for p in (
        "INTERNET",
        "ACCESS_NETWORK_STATE",
        "ACCESS_WIFI_STATE",
        "ACCESS_FINE_LOCATION",
        "ACCESS_COARSE_LOCATION",
        "READ_PHONE_STATE",
        "CAMERA",
        "RECORD_AUDIO",
        "READ_CONTACTS",
        "WAKE_LOCK",
        "VIBRATE",
        "POST_NOTIFICATIONS",
    )
)
TRACKER_PACKAGES = (
    "com.umeng.analytics.pro",
    "com.umeng.commonsdk.statistics",
    "com.tencent.bugly.crashreport",
    "com.baidu.location",
    "com.huawei.hms.analytics",
    "com.appsflyer.internal",
    "cn.jpush.android.service",
    "com.bytedance.sdk.openadsdk.core",
)
HOSTS = (
    "alog.umeng.com",
    "android.bugly.qq.com",
    "loc.map.baidu.com",
    "api.example-app.cn",
    "cdn.example-app.cn",
)
WORDS = ("user", "event", "config", "session", "device", "token", "report", "load", "cache", "view")


def make_apk(path: Path, rng: random.Random, classes: int, strings: int, dexes: int, signer: object) -> Path:
    names = []
    for i in range(classes):
        if rng.random() < 0.01:
            names.append(f"{rng.choice(TRACKER_PACKAGES)}.C{i}")
        else:
            names.append(f"com.example.app{rng.randrange(5)}.{rng.choice(WORDS)}.C{i}")
    constants = []
    for i in range(strings):
        roll = rng.random()
        if roll < 0.01:
            constants.append(f"https://{rng.choice(HOSTS)}/v{rng.randrange(4)}/{rng.choice(WORDS)}?id={i}")
        elif roll < 0.02:
            constants.append(rng.choice(HOSTS))
        else:
            constants.append(f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{i}")
    per = max(1, classes // dexes)
    chunks = [names[i * per : (i + 1) * per] for i in range(dexes)]
    chunks[-1] += names[dexes * per :]
    spec = ApkSpec(
        ManifestSpec(f"com.example.bench{path.stem}", permissions=PERMISSIONS, target_sdk=34),
        classes=tuple(chunks[0]),
        strings=tuple(constants),
        extra_dex=tuple(build_dex(c, ()) for c in chunks[1:]),
        signer=signer,  # type: ignore[arg-type]
    )
    return build_apk(path, spec)


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--classes", type=int, default=6000)
    parser.add_argument("--strings", type=int, default=20000)
    parser.add_argument("--dex", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--real", type=Path, nargs="*", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    intel = default_intel()
    started = time.perf_counter()
    androguard()
    import_seconds = time.perf_counter() - started
    rng = random.Random(args.seed)
    signer = make_signer()
    results: dict[str, object] = {
        "machine": f"{platform.machine()} {platform.python_version()}",
        "androguard_import_s": round(import_seconds, 3),
        "config": vars(args) | {"real": [str(p) for p in args.real or []], "json": None},
    }
    with tempfile.TemporaryDirectory(prefix="bench-apk-") as tmp:
        t0 = time.perf_counter()
        apks = [
            make_apk(Path(tmp) / f"{i:04d}.apk", rng, args.classes, args.strings, args.dex, signer)
            for i in range(args.count)
        ]
        build_s = time.perf_counter() - t0
        total_bytes = sum(p.stat().st_size for p in apks)
        print(
            f"built {len(apks)} APKs ({args.classes} classes, {args.strings} strings, {args.dex} dex each; "
            f"{total_bytes / len(apks) / 1024:.0f} KiB average) in {build_s:.1f} s"
        )

        t0, c0 = time.perf_counter(), time.process_time()
        analysed = list(analyze_apks(apks, intel, ApkLimits()))
        wall = time.perf_counter() - t0
        failed = sum(isinstance(r, ApkFailure) for r in analysed)
        worker_peak = _peak_mb(resource.RUSAGE_CHILDREN)
        results["workers"] = {
            "apks": len(apks),
            "failed": failed,
            "seconds": round(wall, 2),
            "apks_per_minute": round(len(apks) / wall * 60, 1),
            "mb_per_s": round(total_bytes / wall / 1e6, 2),
            "peak_worker_rss_mb": round(worker_peak, 1),
            "parent_cpu_s": round(time.process_time() - c0, 2),
        }

        t0 = time.perf_counter()
        trackers = 0
        for path in apks:
            trackers += len(analyze_apk(path, intel).trackers)
        wall_in = time.perf_counter() - t0
        results["in_process"] = {
            "seconds": round(wall_in, 2),
            "apks_per_minute": round(len(apks) / wall_in * 60, 1),
            "peak_rss_mb": round(_peak_mb(resource.RUSAGE_SELF), 1),
            "trackers_found": trackers,
        }

    real = args.real if args.real is not None else ([FRAMEWORK_RES] if FRAMEWORK_RES.exists() else [])
    rows = []
    for path in real:
        before = _peak_mb(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        (result,) = analyze_apks([path], intel, ApkLimits())
        seconds = time.perf_counter() - t0
        rows.append(
            {
                "path": str(path),
                "mib": round(path.stat().st_size / (1 << 20), 1),
                "seconds": round(seconds, 2),
                "peak_worker_rss_mb": round(max(before, _peak_mb(resource.RUSAGE_CHILDREN)), 1),
                "result": "failed: " + result.reason if isinstance(result, ApkFailure) else "ok",
            }
        )
    results["real"] = rows

    w, p = results["workers"], results["in_process"]
    print(f"androguard import: {import_seconds:.2f} s (once per run)")
    print(f"{'mode':<12}{'seconds':>9}{'APKs/min':>10}{'MB/s':>7}{'peak RSS MB':>13}")
    print(
        f"{'workers':<12}{w['seconds']:>9}{w['apks_per_minute']:>10}{w['mb_per_s']:>7}{w['peak_worker_rss_mb']:>13}"
    )  # type: ignore[index]
    print(f"{'in-process':<12}{p['seconds']:>9}{p['apks_per_minute']:>10}{'':>7}{p['peak_rss_mb']:>13}")  # type: ignore[index]
    for row in rows:
        print(
            f"real: {row['path']} ({row['mib']} MiB): {row['seconds']} s, "
            f"worker peak {row['peak_worker_rss_mb']} MB, {row['result']}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
