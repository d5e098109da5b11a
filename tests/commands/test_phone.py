"""``phonehome phone`` as a user runs it: saved adb outputs, a (fake) connected handset, scripts.

The fake ``adb`` put first on PATH records every call it gets, so the tests check phonehome's own
guard: without ``--apply`` nothing but ``getprop`` and ``dumpsys package`` is ever run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from phonehome import exitcodes

FIXTURES = Path(__file__).parent.parent / "fixtures" / "android"
XIAOMI = FIXTURES / "xiaomi-redmi-note-11"
ONEPLUS = FIXTURES / "oneplus-9"

FAKE_ADB = """#!{python}
import os, sys
with open(os.environ["FAKE_ADB_LOG"], "a", encoding="utf-8") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
if args[:2] == ["-s", "5e1c77b2"]:
    args = args[2:]
if os.environ.get("FAKE_ADB_FAIL"):
    sys.stderr.write("adb: no devices/emulators found\\n")
    sys.exit(1)
if args == ["shell", "getprop"]:
    sys.stdout.write(open({getprop!r}, encoding="utf-8").read())
elif args == ["shell", "dumpsys", "package"]:
    sys.stdout.write(open({dumpsys!r}, encoding="utf-8").read())
else:
    sys.stdout.write("Success\\n")
"""


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phonehome", "phone", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


@pytest.fixture
def fake_adb(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose PATH holds only a recording fake adb, and the log it writes."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    adb = bin_dir / "adb"
    adb.write_text(
        FAKE_ADB.format(
            python=sys.executable,
            getprop=str(ONEPLUS / "getprop.txt"),
            dumpsys=str(ONEPLUS / "dumpsys-package.txt"),
        ),
        encoding="utf-8",
    )
    adb.chmod(0o755)
    log = tmp_path / "adb.log"
    log.touch()
    env = {**os.environ, "PATH": str(bin_dir), "FAKE_ADB_LOG": str(log)}
    return env, log


def test_report_from_saved_files() -> None:
    result = run(str(XIAOMI / "getprop.txt"), str(XIAOMI / "pm-list-packages-f-U-i.txt"))
    assert result.returncode == exitcodes.OK, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Handset   Xiaomi Redmi Note 11 5G (evergo), Android 13 (SDK 33)"
    assert lines[2] == "ROM       MIUI 14 (build V14.0.3.0.TGBCNXM)  [ro.miui.ui.version.code]"
    assert lines[3] == "Region    cn  [ro.miui.build.region]"
    assert "  unknown  safe      com.baidu.input_mi                 Baidu *    " in result.stdout
    assert (
        "  medium   PH-HST-002  Third-party input method preinstalled: "
        "Baidu input method (Xiaomi edition) (com.baidu.input_mi)"
    ) in lines
    assert result.stderr == ""


def test_json_report_from_a_directory() -> None:
    result = run(str(ONEPLUS), "-f", "json")
    assert result.returncode == exitcodes.OK, result.stderr
    doc = json.loads(result.stdout)
    assert doc["format"] == "phonehome-handset/1"
    assert doc["rom"] == {
        "name": "OxygenOS",
        "version": "13.1.0.580",
        "property": "ro.oxygen.version",
        "build": "R.1234567_1_2",
    }
    assert [f["rule_id"] for f in doc["findings"]] == ["PH-HST-001", "PH-HST-005"]
    assert {c["package"]: c["state"] for c in doc["components"]} == {
        "com.oneplus.opbugreportlite": "uninstalled",
        "com.heytap.mcs": "disabled-user",
        "com.heytap.openid": "enabled",
        "com.oplus.statistics.rom": "enabled",
        "com.oplus.deepthinker": "enabled",
    }


DISABLE_ONEPLUS = """#!/bin/sh
# phonehome phone --script disable
# Handset: OnePlus LE2113 (OnePlus9), Android 13 (SDK 33)
# android:5e1c77b2; ROM OxygenOS 13.1.0.580 (build R.1234567_1_2); region EUEX
# From the handset's adb outputs and phonehome's OEM package catalogue (intel 2026.11.23).
# Each command acts on user 0 only; the APK stays on the system partition.
# Undo with: phonehome phone <the same inputs> --script restore --select <the same>
# Read every comment before running this; connect one handset (or set ANDROID_SERIAL).
set -u

# OPBugReportLite (OnePlus), com.oneplus.opbugreportlite: crash-reports, analytics
# state uninstalled; removability safe
# ADL rates it "Safe to delete"; BADb lists it for removal.
# already uninstalled; nothing to do

# User Experience Program (ColorOS statistics) (OPPO), com.oplus.statistics.rom: analytics
# state enabled; removability safe
# ADL rates it "Safe to delete".
# undo: adb shell pm enable --user 0 com.oplus.statistics.rom
adb shell pm disable-user --user 0 com.oplus.statistics.rom
"""


def test_disable_script_is_exact() -> None:
    result = run(str(ONEPLUS), "--script", "disable", "--select", "analytics")
    assert result.returncode == exitcodes.OK, result.stderr
    assert result.stdout == DISABLE_ONEPLUS


RESTORE_ONEPLUS_TAIL = """set -u

# OPBugReportLite (OnePlus), com.oneplus.opbugreportlite: crash-reports, analytics
# state uninstalled; removability safe
# ADL rates it "Safe to delete"; BADb lists it for removal.
adb shell cmd package install-existing --user 0 com.oneplus.opbugreportlite

# HeyTap System Messages (OPPO), com.heytap.mcs: system-services
# state disabled-user; removability safe
# ADL rates it "Safe to delete".
adb shell pm enable --user 0 com.heytap.mcs
"""


def test_restore_script_follows_the_recorded_states() -> None:
    result = run(str(ONEPLUS), "--script", "restore")
    assert result.returncode == exitcodes.OK, result.stderr
    assert result.stdout.endswith(RESTORE_ONEPLUS_TAIL)
    assert "Undo with" not in result.stdout


def test_uninstall_script_leaves_out_what_sources_report_harmful(tmp_path: Path) -> None:
    out = tmp_path / "uninstall.sh"
    result = run(
        str(XIAOMI),
        "--script",
        "uninstall",
        "--select",
        "com.xiaomi.finddevice",
        "--select",
        "MIUI Analytics",
        "-o",
        str(out),
    )
    assert result.returncode == exitcodes.OK, result.stderr
    body = out.read_text(encoding="utf-8").split("set -u\n", 1)[1]
    assert body == (
        "\n"
        "# MIUI Analytics (Xiaomi), com.miui.analytics: analytics\n"
        "# state unknown; removability safe\n"
        '# ADL rates it "Safe to delete" and BADb lists it for removal. A MIUI debloat script notes that\n'
        "# the Mi app store may update or reinstall it over the network.\n"
        "# undo: adb shell cmd package install-existing --user 0 com.miui.analytics\n"
        "adb shell pm uninstall --user 0 com.miui.analytics\n"
        "\n"
        "# Find Device (Xiaomi), com.xiaomi.finddevice: security\n"
        "# state unknown; removability breaks\n"
        '# WARNING: ADL rates it "Unsafe"; depending on the MIUI version removing it bootloops the device.\n'
        "# not run: BADb and ADL report bootloops after removal.\n"
        "# adb shell pm uninstall --user 0 com.xiaomi.finddevice\n"
    )


def test_nothing_runs_on_the_handset_without_apply(fake_adb: tuple[dict[str, str], Path]) -> None:
    env, log = fake_adb
    result = run(str(ONEPLUS), "--script", "disable", env=env)
    assert result.returncode == exitcodes.OK, result.stderr
    assert log.read_text() == ""  # saved files: adb is never called

    result = run("--adb", env=env)
    assert result.returncode == exitcodes.OK, result.stderr
    assert "Handset   OnePlus LE2113 (OnePlus9)" in result.stdout
    assert "  adb:getprop  adb-getprop, 19 records" in result.stdout
    assert log.read_text() == "shell getprop\nshell dumpsys package\n"

    log.write_text("")
    result = run("--adb", "-s", "5e1c77b2", "--script", "uninstall", env=env)
    assert result.returncode == exitcodes.OK, result.stderr
    assert "adb shell pm uninstall --user 0 com.oplus.statistics.rom" in result.stdout  # printed only
    assert log.read_text() == "-s 5e1c77b2 shell getprop\n-s 5e1c77b2 shell dumpsys package\n"


def test_apply_is_refused_without_adb_or_script(fake_adb: tuple[dict[str, str], Path]) -> None:
    env, log = fake_adb
    for args in (
        (str(ONEPLUS), "--script", "disable", "--apply"),
        ("--adb", "--apply"),
    ):
        result = run(*args, env=env)
        assert result.returncode == exitcodes.USAGE
        assert result.stderr.strip() == (
            "phonehome: error: --apply runs a --script on the handset: it needs --script and --adb"
        )
    assert log.read_text() == ""


def test_adb_missing_or_failing(fake_adb: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = run("--adb", env={**os.environ, "PATH": str(empty)})
    assert result.returncode == exitcodes.USAGE
    assert result.stderr.strip() == (
        "phonehome: error: adb: not found on PATH; install Android platform-tools or give saved adb outputs"
    )
    env, _ = fake_adb
    result = run("--adb", env={**env, "FAKE_ADB_FAIL": "1"})
    assert result.returncode == exitcodes.USAGE
    assert result.stderr.strip() == "phonehome: error: adb shell getprop: adb: no devices/emulators found"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give saved adb outputs (FILES...) or --adb to read the connected handset"),
        ((str(ONEPLUS), "--adb"), "give adb output files or --adb, not both"),
        ((str(ONEPLUS), "--select", "analytics"), "--select chooses the components of a --script"),
        (
            (str(ONEPLUS), "--script", "disable", "--select", "com.miui.analytics"),
            "--select com.miui.analytics: no catalogued component, package or purpose of that name on this "
            "handset (see the components listed by `phonehome phone` without --script)",
        ),
        (
            (str(XIAOMI / "getprop.txt"), str(ONEPLUS / "getprop.txt")),
            f"{ONEPLUS / 'getprop.txt'}: ro.serialno is '5e1c77b2' but {XIAOMI / 'getprop.txt'} says "
            "'8d3f0a5c'; give the outputs of one handset at a time",
        ),
    ],
)
def test_usage_errors(args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.returncode == exitcodes.USAGE
    assert result.stderr.strip() == f"phonehome: error: {message}"
    assert result.stdout == ""


def test_unreadable_input(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n", encoding="utf-8")
    result = run(str(path))
    assert result.returncode == exitcodes.UNREADABLE_INPUT
    assert result.stderr.strip() == (
        f"phonehome: error: {path}: not adb output phonehome reads "
        "(pm list packages, dumpsys package, getprop, bugreport)"
    )


def test_default_script_keeps_every_keyboard() -> None:
    """Input methods are disabled only when selected by name, and then with a warning."""
    import subprocess
    import sys

    fixture = Path(__file__).parents[1] / "fixtures" / "android" / "xiaomi-redmi-note-11"
    default = subprocess.run(
        [sys.executable, "-m", "phonehome", "phone", str(fixture), "--script", "disable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "\nadb shell pm disable-user --user 0 com.baidu.input_mi" not in default
    chosen = subprocess.run(
        [
            sys.executable,
            "-m",
            "phonehome",
            "phone",
            str(fixture),
            "--script",
            "disable",
            "--select",
            "input-method",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "\nadb shell pm disable-user --user 0 com.baidu.input_mi" in chosen
    assert "# WARNING: this script disables or removes input methods" in chosen
