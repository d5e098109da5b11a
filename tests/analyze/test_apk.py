"""APK analysis on APKs built in the test: trackers, endpoints, permissions, certificates, failures."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from phonehome import exitcodes
from phonehome.analyze.apk import (
    DANGEROUS_PERMISSIONS,
    ApkFailure,
    ApkReport,
    analyze_apk,
    analyze_apks,
)
from phonehome.intel.loader import IntelError, default_intel, load_intel
from phonehome.sources.apk import ApkError, ApkLimits
from phonehome.testing.apk import ApkSpec, ManifestSpec, Signer, build_apk, build_dex, make_signer, write_zip

FRAMEWORK_RES = Path("/usr/share/android-framework-res/framework-res.apk")

STRINGS = (
    # endpoints
    "https://alog.umeng.com/app_logs",
    "http://android.bugly.qq.com/rqd/async",
    "log.tracker-cn.cn",
    "api.weather.example.cn:8443/v2/forecast",
    "https://203.0.113.7/upload",  # documentation range: not global, dropped
    "http://47.100.12.34/report",
    "114.114.114.114",
    # not endpoints
    "http://schemas.android.com/apk/res/android",
    "http://www.apache.org/licenses/LICENSE-2.0",
    "https://www.example.com/help",
    "http://192.168.1.1/admin",
    "com.umeng.analytics",
    "com.example.weather.MainActivity",
    "android.app.Activity",
    "cn.jpush.android.service",
    "libweather.so",
    "config.json",
    "4.12.0.0",
    "1.2.3.4",
    "Hello world.",
)
CLASSES = (
    "com.example.weather.MainActivity",
    "com.umeng.analytics.MobclickAgent",
    "com.umeng.analytics.pro.z",
    "com.umeng.commonsdk.UMConfigure",
    "com.tencent.bugly.crashreport.CrashReport",
    "com.huawei.hms.analytics.HiAnalytics",
    "com.appsflyer.AppsFlyerLib",
    "com.umengx.NotUmeng",
)
PERMISSIONS = (
    "android.permission.INTERNET",
    "android.permission.ACCESS_FINE_LOCATION",
    "android.permission.READ_PHONE_STATE",
    "com.example.weather.permission.C2D_MESSAGE",
)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return make_signer("Weather Developer", "Example Weather Ltd")


def _weather(tmp_path: Path, signer: Signer | None, **kw: object) -> Path:
    spec = ApkSpec(
        ManifestSpec(
            "com.example.weather",
            version_code=40,
            version_name="4.0.1",
            min_sdk=24,
            target_sdk=34,
            permissions=PERMISSIONS,
            label="Weather",
            meta_data=(("UMENG_APPKEY", "5b6a80000000000000000a9"), ("push.host", "push.weather-cloud.cn")),
        ),
        classes=CLASSES,
        strings=STRINGS,
        extra_dex=(build_dex(["cn.jpush.android.api.JPushInterface"], ["https://stats.jpush.cn/v3/report"]),),
        files={"assets/config.json": b'{"api": "https://api.weather-cloud.cn/v1", "name": "ok"}'},
        signer=signer,
        **kw,  # type: ignore[arg-type]
    )
    return build_apk(tmp_path / "weather.apk", spec)


def test_full_analysis(tmp_path: Path, signer: Signer) -> None:
    report = analyze_apk(_weather(tmp_path, signer), default_intel())
    m = report.manifest
    assert (m.package, m.version_name, m.version_code, m.min_sdk, m.target_sdk, m.label) == (
        "com.example.weather",
        "4.0.1",
        "40",
        24,
        34,
        "Weather",
    )
    assert {p.name: p.dangerous for p in report.permissions} == {
        "android.permission.ACCESS_FINE_LOCATION": True,
        "android.permission.INTERNET": False,
        "android.permission.READ_PHONE_STATE": True,
        "com.example.weather.permission.C2D_MESSAGE": False,
    }
    (cert,) = report.certificates
    assert cert.sha256 == signer.sha256
    assert cert.subject == "CN=Weather Developer,O=Example Weather Ltd,C=GB"
    assert (cert.issuer, cert.schemes, report.schemes) == (cert.subject, ("v1",), ("v1",))
    assert report.code.dex_files == ("classes.dex", "classes2.dex")
    assert report.code.classes == len(CLASSES) + 1

    trackers = {t.id: t for t in report.trackers}
    assert set(trackers) == {"umeng-analytics", "tencent-bugly", "huawei-analytics", "appsflyer", "jpush"}
    umeng = trackers["umeng-analytics"]
    assert (umeng.classes, umeng.signatures) == (3, ("com.umeng.analytics.", "com.umeng.commonsdk."))
    assert (umeng.entity, umeng.hosts) == ("alibaba", ("alog.umeng.com",))
    assert trackers["tencent-bugly"].hosts == ("android.bugly.qq.com",)
    assert trackers["jpush"].classes == 1

    endpoints = {e.host: e for e in report.endpoints}
    assert set(endpoints) == {
        "alog.umeng.com",
        "android.bugly.qq.com",
        "log.tracker-cn.cn",
        "api.weather.example.cn",
        "47.100.12.34",
        "114.114.114.114",
        "stats.jpush.cn",
        "push.weather-cloud.cn",
        "api.weather-cloud.cn",
    }
    umeng_host = endpoints["alog.umeng.com"]
    assert (umeng_host.entity, umeng_host.purpose, umeng_host.tracker) == (
        "alibaba",
        "analytics",
        "umeng-analytics",
    )
    assert umeng_host.urls == ("https://alog.umeng.com/app_logs",)
    assert umeng_host.domain == "umeng.com"
    assert endpoints["stats.jpush.cn"].found_in == ("classes2.dex",)
    assert endpoints["push.weather-cloud.cn"].found_in == ("AndroidManifest.xml",)
    assert endpoints["api.weather-cloud.cn"].found_in == ("assets/config.json",)
    assert (endpoints["47.100.12.34"].kind, endpoints["47.100.12.34"].domain) == ("ip", None)
    assert report.notes == ()


def test_unsigned_apk_is_analysed(tmp_path: Path) -> None:
    report = analyze_apk(_weather(tmp_path, None), default_intel())
    assert report.certificates == () and report.schemes == ()
    assert {t.id for t in report.trackers} >= {"umeng-analytics"}


@pytest.mark.skipif(
    shutil.which("apksigner") is None, reason="apksigner (Debian package apksigner) not installed"
)
def test_v2_v3_signatures_from_apksigner(tmp_path: Path, signer: Signer) -> None:
    unsigned = build_apk(tmp_path / "in.apk", ApkSpec(ManifestSpec("com.example.signed", min_sdk=24)))
    key, cert = signer.write_pem(tmp_path)
    signed = tmp_path / "signed.apk"
    subprocess.run(
        ["apksigner", "sign", "--key", str(key), "--cert", str(cert), "--v3-signing-enabled", "true",
         "--out", str(signed), str(unsigned)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    report = analyze_apk(signed, default_intel())
    (found,) = report.certificates
    assert found.sha256 == signer.sha256
    assert "v2" in found.schemes and "v3" in found.schemes


def _garbage_dex(tmp_path: Path) -> Path:
    return build_apk(
        tmp_path / "bad.apk", ApkSpec(ManifestSpec("com.example.bad"), extra_dex=(b"garbage" * 100,))
    )


def _broken_dex(tmp_path: Path) -> Path:
    dex = bytearray(build_dex(["a.B", "a.C"]))
    dex[0x38:0x40] = b"\xff" * 8  # string_ids_size and offset point far outside the file
    return build_apk(
        tmp_path / "broken.apk", ApkSpec(ManifestSpec("com.example.broken"), extra_dex=(bytes(dex),))
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_garbage_dex, r"classes2\.dex: not a dex file"),
        (_broken_dex, r"classes2\.dex: malformed dex \("),
    ],
)
def test_bad_dex_fails_with_one_line_naming_the_file(tmp_path: Path, make: object, message: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ApkError, match=message) as caught:
        analyze_apk(path, default_intel())
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


def test_batch_goes_on_after_failures(tmp_path: Path, signer: Signer) -> None:
    bad = _broken_dex(tmp_path)
    bomb = write_zip(
        tmp_path / "bomb.apk",
        {"AndroidManifest.xml": b"x", "classes.dex": b"x", "assets/zeros.bin": bytes(8 << 20)},
    )
    good = _weather(tmp_path, signer)
    results = list(analyze_apks([bad, bomb, good], default_intel()))
    assert [type(r) for r in results] == [ApkFailure, ApkFailure, ApkReport]
    assert results[0].path == str(bad) and "malformed dex" in results[0].reason  # type: ignore[union-attr]
    assert "zip bomb" in results[1].reason  # type: ignore[union-attr]


def test_time_budget_stops_a_slow_analysis(tmp_path: Path) -> None:
    apk = _weather(tmp_path, None)
    (result,) = analyze_apks([apk], default_intel(), ApkLimits(time_budget=1e-6))
    assert isinstance(result, ApkFailure)
    assert result.reason.startswith(f"{apk}: analysis stopped after") and "--time-budget" in result.reason


def test_dangerous_permissions_match_the_platform_list() -> None:
    """The constant against androguard's extraction of the platform manifest (API 36)."""
    resources = Path(__import__("androguard").__file__).parent / "core" / "api_specific_resources"
    data = json.loads((resources / "aosp_permissions" / "permissions_36.json").read_text())
    platform = {
        name for name, p in data["permissions"].items() if "dangerous" in p["protectionLevel"].split("|")
    }
    assert platform == DANGEROUS_PERMISSIONS


@pytest.mark.skipif(not FRAMEWORK_RES.exists(), reason="Debian package android-framework-res not installed")
def test_real_resource_only_apk() -> None:
    report = analyze_apk(FRAMEWORK_RES, default_intel())
    assert report.manifest.package == "android"
    assert report.code.dex_files == ()
    assert report.notes == ("no classes.dex: a resource-only package (no code to search)",)
    assert "time.android.com" in {e.host for e in report.endpoints}


def test_tracker_catalogue_is_consistent() -> None:
    intel = default_intel()
    assert len(intel.trackers) >= 20
    prefixes = intel.tracker_prefixes()
    assert "com.umeng.analytics." in prefixes and "com.tencent.bugly." in prefixes
    for tracker in intel.trackers.values():
        assert tracker.entity is None or tracker.entity in intel.entities
        assert all(s.startswith("http") for s in tracker.sources)


def test_user_tracker_file_is_validated(tmp_path: Path) -> None:
    entry = {
        "id": "dup",
        "name": "Dup",
        "entity": None,
        "owner": "Nobody",
        "categories": ["analytics"],
        "code_signatures": ["com.umeng.analytics."],
        "sources": ["https://example.org"],
    }
    (tmp_path / "trackers.yaml").write_text(
        yaml.safe_dump({"version": "1", "trackers": [entry, {**entry, "id": "dup2"}]})
    )
    with pytest.raises(IntelError, match="code signature com.umeng.analytics. used by dup and dup2"):
        load_intel([tmp_path])
    entry = {**entry, "code_signatures": ["com.umeng"]}
    (tmp_path / "trackers.yaml").write_text(yaml.safe_dump({"version": "1", "trackers": [entry]}))
    with pytest.raises(IntelError, match="package prefixes ending with a dot"):
        load_intel([tmp_path])


# --- phonehome apk ------------------------------------------------------------------------------


def test_command_json_and_failures(tmp_path: Path, signer: Signer) -> None:
    from phonehome.cli import app

    folder = tmp_path / "pulled"
    folder.mkdir()
    _weather(folder, signer)
    (folder / "notes.txt").write_text("not an apk")
    _broken_dex(folder)
    result = CliRunner().invoke(app, ["apk", str(folder), "-f", "json"])
    assert result.exit_code == exitcodes.UNREADABLE_INPUT, result.output
    document = json.loads(result.stdout)
    assert document["schema"] == "phonehome-apk/1"
    (apk,) = document["apks"]
    assert apk["package"] == "com.example.weather" and apk["dangerous_permissions"] == 2
    assert apk["signature_schemes"] == ["v1"]
    assert {t["id"] for t in document["apks"][0]["trackers"]} >= {"umeng-analytics", "jpush"}
    assert [f["path"] for f in document["failed"]] == [str(folder / "broken.apk")]
    assert f"phonehome: warning: {folder / 'broken.apk'}: classes2.dex: malformed dex" in result.stderr


def test_command_terminal(tmp_path: Path, signer: Signer) -> None:
    from phonehome.cli import app

    apk = _weather(tmp_path, signer)
    result = CliRunner().invoke(app, ["apk", str(apk)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith('com.example.weather 4.0.1 (40)  "Weather"\n')
    assert "    ! android.permission.ACCESS_FINE_LOCATION" in text
    assert "Umeng Analytics (U-App)" in text and "alog.umeng.com" in text
    assert f"sha256 {signer.sha256}" in text
    again = CliRunner().invoke(app, ["apk", str(apk)])
    assert again.stdout == text, "same APK, same bytes"
