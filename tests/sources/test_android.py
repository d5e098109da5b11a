"""adb outputs of Android handsets: pm list packages, dumpsys package, getprop, bug reports."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest

from phonehome.model import InputSummary
from phonehome.sources import android
from phonehome.sources.android import AndroidSource, PackageRecord, parse_pm_list_line, read_dump
from phonehome.sources.interface import HostSighting, HostSignal, SourceError
from phonehome.sources.registry import read_head

FIXTURES = Path(__file__).parent.parent / "fixtures" / "android"
XIAOMI = FIXTURES / "xiaomi-redmi-note-11"
ONEPLUS = FIXTURES / "oneplus-9"
HUAWEI_TXT = FIXTURES / "huawei-p30" / "bugreport-ELE-L29EEA-HUAWEIELE-L29-2023-04-12-09-14-02.txt"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def bugreport_zip(tmp_path: Path, main_entry: bool = True, name: str = "bugreport.zip") -> Path:
    """A zip laid out as ``adb bugreport`` writes it: FS/ copies, version.txt, the text, main_entry.txt."""
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("FS/data/misc/recovery/last_log", "recovery log\n")
        zf.writestr("version.txt", "2.0")
        zf.write(HUAWEI_TXT, HUAWEI_TXT.name)
        if main_entry:
            zf.writestr("main_entry.txt", HUAWEI_TXT.name)
    return path


# --- pm list packages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # -f -U -i as the issue quotes it (uid before installer)
        (
            "package:/system/priv-app/MiuiAnalytics/MiuiAnalytics.apk=com.miui.analytics"
            "  uid:10123  installer=null",
            PackageRecord(
                "com.miui.analytics", "/system/priv-app/MiuiAnalytics/MiuiAnalytics.apk", True, uid=10123
            ),
        ),
        # -f -i -U in AOSP's print order: installer, then uid
        (
            "package:/product/app/BaiduIME/BaiduIME.apk=com.baidu.input_mi  installer=null uid:10188",
            PackageRecord("com.baidu.input_mi", "/product/app/BaiduIME/BaiduIME.apk", True, uid=10188),
        ),
        # plain, and -d/-e/-s/-3 (same line shape, the flag only filters)
        ("package:com.miui.analytics", PackageRecord("com.miui.analytics")),
        # Android 11+ code paths hold '=' themselves
        (
            "package:/data/app/~~hX3v0k1lTQ6VJ7cNuL2YgQ==/com.tencent.mm-3nLhR0pQyKZsWj5d8Q1rTg==/base.apk"
            "=com.tencent.mm  installer=com.xiaomi.market uid:10245",
            PackageRecord(
                "com.tencent.mm",
                "/data/app/~~hX3v0k1lTQ6VJ7cNuL2YgQ==/com.tencent.mm-3nLhR0pQyKZsWj5d8Q1rTg==/base.apk",
                None,
                uid=10245,
                installer="com.xiaomi.market",
            ),
        ),
        # --show-versioncode, and -U with a second user's uid
        (
            "package:com.heytap.openid versionCode:10007",
            PackageRecord("com.heytap.openid", version_code="10007"),
        ),
        (
            "package:/my_heytap/app/OpenID/OpenID.apk=com.heytap.openid versionCode:10007  "
            "installer=com.heytap.market uid:10121,1010121",
            PackageRecord(
                "com.heytap.openid",
                "/my_heytap/app/OpenID/OpenID.apk",
                True,
                version_code="10007",
                uid=10121,
                installer="com.heytap.market",
            ),
        ),
        ("package:android", PackageRecord("android")),
    ],
)
def test_pm_list_line_shapes(line: str, expected: PackageRecord) -> None:
    assert parse_pm_list_line(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "package:",
        "package:not a package",
        "package:relative/path.apk=com.x",
        "package:/system/app/X.apk=",
        "package:com.x uid:abc",
        "package:com.x colour=blue",
        "package:com..x",
        "Error: Unknown option: -z",
        "com.miui.analytics",
    ],
)
def test_pm_list_garbage_lines_are_not_packages(line: str) -> None:
    assert parse_pm_list_line(line) is None


def test_pm_list_fixture() -> None:
    dump = read_dump(XIAOMI / "pm-list-packages-f-U-i.txt")
    assert (dump.kind, dump.records, dump.skipped, dump.errors) == ("adb-pm-list", 34, 0, [])
    assert len(dump.packages) == 34
    assert dump.packages["com.miui.analytics"] == PackageRecord(
        "com.miui.analytics", "/system/app/AnalyticsCore/AnalyticsCore.apk", True, uid=10160
    )
    assert dump.packages["com.tencent.mm"].system is None  # /data/app: installed or an update
    assert {r.state for r in dump.packages.values()} == {"unknown"}
    assert dump.sha256 == hashlib.sha256((XIAOMI / "pm-list-packages-f-U-i.txt").read_bytes()).hexdigest()


def test_pm_list_garbage_is_counted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "list.txt",
        "package:com.miui.analytics\n\nWARNING: linker: unused DT entry\n"
        "package:com..bad\npackage:com.xiaomi.ab\n",
    )
    dump = read_dump(path)
    assert (dump.records, dump.skipped, sorted(dump.packages)) == (
        2,
        2,
        ["com.miui.analytics", "com.xiaomi.ab"],
    )


def test_observations_of_one_input(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "phone.txt",
        "[ro.product.manufacturer]: [Xiaomi]\n[ro.product.model]: [21091116AC]\n[ro.serialno]: [8d3f0a5c]\n"
        "[sys.boot_completed]: [1]\n",
    )
    items = list(AndroidSource().read(path))
    source = str(path)
    assert items[0] == HostSighting(None, None, "android", source, hostname="android:8d3f0a5c")
    assert items[1:3] == [
        HostSignal(
            None, None, "android_prop", "ro.product.manufacturer=Xiaomi", source, host="android:8d3f0a5c"
        ),
        HostSignal(
            None, None, "android_prop", "ro.product.model=21091116AC", source, host="android:8d3f0a5c"
        ),
    ]
    assert isinstance(items[-1], InputSummary) and items[-1].packets == 4 and len(items) == 4


def test_package_signals_and_fallback_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "list.txt",
        "package:/system/app/AnalyticsCore/AnalyticsCore.apk=com.miui.analytics  installer=null uid:10160\n"
        "package:com.tencent.mm\n",
    )
    items = list(AndroidSource().read(path))
    host = "android:list.txt"  # neither serial nor model: the input's own name
    assert items[0] == HostSighting(None, None, "android", str(path), hostname=host)
    assert [i.value for i in items if isinstance(i, HostSignal)] == [
        "com.miui.analytics|system|unknown|/system/app/AnalyticsCore/AnalyticsCore.apk",
        "com.tencent.mm|unknown|unknown|",
    ]
    assert {i.host for i in items if isinstance(i, HostSignal)} == {host}


# --- getprop ---------------------------------------------------------------------------------


def test_getprop_fixture() -> None:
    dump = read_dump(XIAOMI / "getprop.txt")
    assert (dump.kind, dump.records, dump.skipped) == ("adb-getprop", 35, 0)
    assert dump.props["ro.miui.ui.version.name"] == "V140"
    assert dump.props["ro.build.fingerprint"] == (
        "Redmi/evergo/evergo:13/TP1A.220624.014/V14.0.3.0.TGBCNXM:user/release-keys"
    )
    assert dump.host == "android:8d3f0a5c"


def test_getprop_multiline_values_and_garbage(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "getprop.txt",
        "[ro.product.brand]: [Redmi]\n"
        "[ro.vendor.multi]: [first line\n"
        "second line]\n"
        "[ro.empty]: []\n"
        "not a property\n"
        "[ro.product.model]: [M2101K6G]\n",
    )
    dump = read_dump(path)
    assert dump.props == {
        "ro.product.brand": "Redmi",
        "ro.vendor.multi": "first line\nsecond line",
        "ro.empty": "",
        "ro.product.model": "M2101K6G",
    }
    assert (dump.records, dump.skipped) == (4, 1)


def test_getprop_unclosed_value_is_reported(tmp_path: Path) -> None:
    dump = read_dump(write(tmp_path, "getprop.txt", "[ro.a]: [1]\n[ro.b]: [never closed\n"))
    assert dump.props == {"ro.a": "1"}
    assert dump.skipped == 1
    assert dump.errors == ["property [ro.b] has no closing ']'"]


# --- dumpsys package -------------------------------------------------------------------------


def test_dumpsys_fixture() -> None:
    dump = read_dump(ONEPLUS / "dumpsys-package.txt")
    assert (dump.kind, dump.records, dump.skipped, dump.errors) == ("adb-dumpsys-package", 9, 0, [])
    states = {name: r.state for name, r in dump.packages.items()}
    assert states == {
        "android": "enabled",
        "com.oplus.statistics.rom": "enabled",
        "com.heytap.openid": "enabled",  # the hidden factory copy (enabled=2) is left out
        "com.heytap.mcs": "disabled-user",  # user 0; user 10 has it enabled
        "com.oneplus.opbugreportlite": "uninstalled",
        "com.oplus.deepthinker": "enabled",
        "com.google.android.gms": "enabled",
        "com.android.vending": "enabled",
        "com.spotify.music": "enabled",
    }
    openid = dump.packages["com.heytap.openid"]
    assert (
        openid.code_path == "/data/app/~~d9F1bQ2uV0s8x7K3mN5pRw==/com.heytap.openid-Zk4Lr6Tq0YbW1cXv2aEo3A=="
    )
    assert (openid.system, openid.uid, openid.installer, openid.version_name, openid.version_code) == (
        True, 10121, "com.heytap.market", "1.0.7", "10007",
    )  # fmt: skip
    assert dump.packages["com.spotify.music"].system is False
    gms = dump.packages["com.google.android.gms"]
    assert gms.version_name == "23.45.23 (190400-583467213)"
    # runtime permissions of user 0 only (user 10's are not the handset owner's)
    assert gms.permissions == ("android.permission.ACCESS_FINE_LOCATION", "android.permission.READ_CONTACTS")
    assert dump.packages["com.heytap.mcs"].permissions == ("android.permission.INTERNET",)


@pytest.mark.parametrize(
    ("user0", "state"),
    [
        ("installed=true hidden=false stopped=false notLaunched=false enabled=0", "enabled"),
        ("installed=true hidden=false stopped=false notLaunched=false enabled=1", "enabled"),
        ("installed=true hidden=false stopped=false notLaunched=false enabled=2", "disabled"),
        ("installed=true hidden=false stopped=true notLaunched=false enabled=3", "disabled-user"),
        ("installed=true hidden=false stopped=true notLaunched=false enabled=4", "disabled-until-used"),
        ("installed=false hidden=false stopped=true notLaunched=true enabled=0", "uninstalled"),
    ],
)
def test_dumpsys_user0_states(tmp_path: Path, user0: str, state: str) -> None:
    # Android 10 shape: userId=, pkgFlags and flags, a User line without distractionFlags
    text = (
        "Packages:\n"
        "  Package [com.huawei.bd] (4b5a697):\n"
        "    userId=10035\n"
        "    codePath=/system/app/HwUE\n"
        "    versionCode=110000320 minSdk=24 targetSdk=29\n"
        "    versionName=11.0.0.320\n"
        "    flags=[ SYSTEM HAS_CODE ALLOW_CLEAR_USER_DATA ]\n"
        "    pkgFlags=[ SYSTEM HAS_CODE ALLOW_CLEAR_USER_DATA ]\n"
        f"    User 0: ceDataInode=310035 {user0} instant=false virtual=false\n"
    )
    dump = read_dump(write(tmp_path, "dumpsys.txt", text))
    assert dump.packages["com.huawei.bd"] == PackageRecord(
        "com.huawei.bd",
        "/system/app/HwUE",
        True,
        state,
        "11.0.0.320",
        "110000320",
        10035,
        flags=("SYSTEM", "HAS_CODE", "ALLOW_CLEAR_USER_DATA"),
    )


def test_dumpsys_old_release_and_malformed_blocks(tmp_path: Path) -> None:
    # Android 5/6: no flags=, only pkgFlags=; a User line without ceDataInode
    text = (
        "Database versions:\n  sdkVersion=23 databaseVersion=3\n\nPackages:\n"
        "  Package [com.xiaomi.ab] (1f2e3d4):\n"
        "    userId=10074 gids=[3003]\n"
        "    codePath=/system/app/mab\n"
        "    pkgFlags=[ SYSTEM HAS_CODE ALLOW_CLEAR_USER_DATA ]\n"
        "    User 0:  installed=true hidden=false stopped=false notLaunched=false enabled=0\n"
        "  Package [com.broken.entry (deadbeef):\n"
        "    userId=10999\n"
        "  Package [com.miui.daemon] (2e3d4c5):\n"
        "    codePath=/data/app/com.miui.daemon-1\n"
        "    pkgFlags=[ HAS_CODE ]\n"
        "    User 0: something unexpected\n"
        "\nShared users:\n  SharedUser [android.uid.system] (3d4c5b6):\n"
    )
    dump = read_dump(write(tmp_path, "dumpsys.txt", text))
    assert sorted(dump.packages) == ["com.miui.daemon", "com.xiaomi.ab"]
    assert dump.packages["com.xiaomi.ab"].state == "enabled"
    assert dump.packages["com.xiaomi.ab"].uid == 10074  # "userId=10074 gids=[3003]"
    assert dump.packages["com.xiaomi.ab"].system is True
    assert (dump.packages["com.miui.daemon"].state, dump.packages["com.miui.daemon"].system) == (
        "unknown",
        False,
    )
    assert dump.skipped == 2  # the broken header and the User line without state


def test_dumpsys_without_packages_section_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "dumpsys.txt", "Activity Resolver Table:\n  Non-Data Actions:\n")
    with pytest.raises(SourceError, match=r"^.*dumpsys.txt: no Packages: section in the dumpsys output$"):
        read_dump(path)


# --- bug reports -----------------------------------------------------------------------------


def test_bugreport_text() -> None:
    dump = read_dump(HUAWEI_TXT)
    assert (dump.kind, dump.skipped, dump.errors) == ("android-bugreport-txt", 0, [])
    assert len(dump.props) == 18  # interleaved header and timing lines of other sections are ignored
    assert dump.props["ro.build.version.emui"] == "EmotionUI_12.0.0"
    assert sorted(dump.packages) == [
        "android",
        "com.google.android.gms",
        "com.huawei.android.hsf",
        "com.huawei.android.pushagent",
        "com.huawei.appmarket",
        "com.huawei.bd",
        "com.huawei.hwid",
        "com.huawei.systemmanager",
        "com.touchtype.swiftkey",
    ]  # not the "Packages:" printed by the activity service, nor the hidden factory copy of HMS Core
    assert dump.packages["com.huawei.hwid"].code_path == "/data/app/com.huawei.hwid-Xr2cD9sWkP1mQ8vN4tLa0g=="
    assert dump.packages["com.huawei.android.pushagent"].state == "disabled-user"
    assert dump.records == 27


@pytest.mark.parametrize("main_entry", [True, False])
def test_bugreport_zip_is_streamed(tmp_path: Path, main_entry: bool) -> None:
    path = bugreport_zip(tmp_path, main_entry=main_entry)
    dump = read_dump(path)
    text = read_dump(HUAWEI_TXT)
    assert dump.kind == "android-bugreport"
    assert (dump.props, dump.packages, dump.records) == (text.props, text.packages, text.records)
    assert dump.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not list(tmp_path.glob("*.txt"))  # nothing extracted


def test_zip_bomb_ratio_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bugreport-x-2023.txt", b"\0" * (16 << 20))  # 16 MiB of zeros deflate ~1000:1
    with pytest.raises(
        SourceError, match=r"bomb.zip: bugreport-x-2023.txt declares a \d+:1 compression ratio"
    ):
        read_dump(path)


def test_declared_size_and_entry_count_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = bugreport_zip(tmp_path)
    monkeypatch.setattr(android, "MAX_ENTRY_BYTES", 1000)
    with pytest.raises(SourceError, match=r"declares \d+ bytes \(limit 1000\); refused"):
        read_dump(path)
    monkeypatch.setattr(android, "MAX_ENTRY_BYTES", 2 << 30)
    monkeypatch.setattr(android, "MAX_ENTRIES", 3)
    with pytest.raises(SourceError, match=r"zip lists 4 entries \(more than 3\); refused"):
        read_dump(path)


def test_zip_that_is_not_a_bugreport(tmp_path: Path) -> None:
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("IMG_0001.jpg", b"\xff\xd8\xff")
    with pytest.raises(SourceError, match=r"photos.zip: zip holds no bugreport-\*.txt; not an adb bugreport"):
        read_dump(path)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(SourceError, match=r"broken.zip: not a readable zip"):
        read_dump(broken)


# --- detection -------------------------------------------------------------------------------


def test_formats_are_detected_by_content_not_name(tmp_path: Path) -> None:
    swapped = {
        "getprop.txt": XIAOMI / "pm-list-packages-f-U-i.txt",
        "packages.txt": ONEPLUS / "getprop.txt",
        "getprop-too.txt": ONEPLUS / "dumpsys-package.txt",
        "dumpsys.log": HUAWEI_TXT,
    }
    kinds = {}
    for name, original in swapped.items():
        shutil.copy(original, tmp_path / name)
        kinds[name] = read_dump(tmp_path / name).kind
    assert kinds == {
        "getprop.txt": "adb-pm-list",
        "packages.txt": "adb-getprop",
        "getprop-too.txt": "adb-dumpsys-package",
        "dumpsys.log": "android-bugreport-txt",
    }


def test_gzip_input(tmp_path: Path) -> None:
    path = tmp_path / "list.gz"
    path.write_bytes(gzip.compress((XIAOMI / "pm-list-packages-f-U-i.txt").read_bytes()))
    assert read_dump(path).kind == "adb-pm-list+gzip"


def test_sniff_claims_adb_outputs_and_nothing_else(tmp_path: Path) -> None:
    source = AndroidSource()
    ours = [*sorted(FIXTURES.glob("*/*")), bugreport_zip(tmp_path)]
    for path in ours:
        assert source.sniff(path, read_head(path)) >= 0.9, path
    fixtures = Path(__file__).parent.parent / "fixtures"
    others = [
        p
        for p in sorted(fixtures.rglob("*"))
        if p.is_file() and FIXTURES not in p.parents and "getprop" not in p.name
    ]
    assert len(others) > 20
    for path in others:
        head = read_head(path)
        assert source.sniff(path, head[2:] if head[:2] == b"\x1f\x8b" else head) < 0, path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file, no adb output"),
        (b"\n\n  \n", "empty file, no adb output"),
        (b"hello world\nthis is not adb\n", "not adb output phonehome reads"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00\npackage:com.x\n", "binary data, not adb output"),
    ],
)
def test_unreadable_inputs(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "input.txt"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=rf"^{path}: {message}"):
        list(AndroidSource().read(path))


def test_missing_and_directory_inputs(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=rf"^{tmp_path / 'nope.txt'}: cannot open"):
        read_dump(tmp_path / "nope.txt")
    with pytest.raises(SourceError, match=rf"^{tmp_path}: is a directory"):
        read_dump(tmp_path)
