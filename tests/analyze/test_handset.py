"""Handset analysis: ROM, region, OEM components, findings; and the OEM package catalogue itself."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from phonehome.analyze.handset import (
    HandsetError,
    Region,
    Rom,
    analyze_handset,
    detect_region,
    detect_rom,
    maker_entity,
    merge_dumps,
)
from phonehome.intel.loader import IntelError, default_intel, load_intel
from phonehome.intel.schema import PACKAGE_PURPOSES, AndroidPackage
from phonehome.model import Finding
from phonehome.policy.engine import PolicySettings, evaluate
from phonehome.sources.android import AndroidDump, PackageRecord, parse_lines, read_dump
from phonehome.testing.factories import make_device

FIXTURES = Path(__file__).parent.parent / "fixtures" / "android"
XIAOMI = FIXTURES / "xiaomi-redmi-note-11"
ONEPLUS = FIXTURES / "oneplus-9"
HUAWEI_TXT = FIXTURES / "huawei-p30" / "bugreport-ELE-L29EEA-HUAWEIELE-L29-2023-04-12-09-14-02.txt"


def dumps(*paths: Path) -> list[AndroidDump]:
    return [read_dump(p) for p in paths]


def finding_ids(findings: Sequence[Finding]) -> list[str]:
    return [f.id for f in findings]


def test_xiaomi_china_rom() -> None:
    report = analyze_handset(
        dumps(XIAOMI / "getprop.txt", XIAOMI / "pm-list-packages-f-U-i.txt"), default_intel()
    )
    assert report.device_id == "name:android:8d3f0a5c"
    assert report.maker == "xiaomi"
    assert report.rom == Rom("MIUI", "14", "ro.miui.ui.version.code", "V14.0.3.0.TGBCNXM")
    assert report.region == Region("cn", "ro.miui.build.region")
    assert (report.packages, report.system_packages, report.disabled, report.uninstalled) == (34, 32, 0, 0)
    third = sorted(c.package for c in report.components if c.third_party)
    assert third == [
        "com.baidu.input_mi",
        "com.iflytek.inputmethod.miui",
        "com.sohu.inputmethod.sogou.xiaomi",
        "com.tencent.mm",  # a vendor-prefix package: owner only, never a finding
    ]
    device = "name:android:8d3f0a5c"
    assert finding_ids(report.findings) == [
        f"PH-HST-001:{device}:com.miui.analytics",
        f"PH-HST-001:{device}:com.miui.daemon",
        f"PH-HST-001:{device}:com.miui.systemAdSolution",
        f"PH-HST-001:{device}:com.xiaomi.ab",
        f"PH-HST-001:{device}:com.xiaomi.joyose",
        f"PH-HST-002:{device}:com.baidu.input_mi",
        f"PH-HST-002:{device}:com.iflytek.inputmethod.miui",
        f"PH-HST-002:{device}:com.sohu.inputmethod.sogou.xiaomi",
        f"PH-HST-003:{device}:com.miui.hybrid",
        f"PH-HST-003:{device}:com.miui.systemAdSolution",
        f"PH-HST-003:{device}:com.xiaomi.joyose",
    ]
    analytics = report.findings[0]
    assert analytics.severity.label == "medium" and analytics.policy.policy == "phonehome-handset"
    assert analytics.title == "OEM analytics component enabled: MIUI Analytics (com.miui.analytics)"
    assert analytics.evidence[0].detail == (
        "system package, state not given by the input, /system/app/AnalyticsCore/AnalyticsCore.apk"
    )
    assert analytics.evidence[0].source.endswith("pm-list-packages-f-U-i.txt")
    # Baidu's location provider is third-party on a Xiaomi; not on this handset, so no PH-HST-004
    assert not [f for f in report.findings if f.rule_id == "PH-HST-004"]


def test_oneplus_states_decide_findings() -> None:
    report = analyze_handset(dumps(ONEPLUS / "dumpsys-package.txt", ONEPLUS / "getprop.txt"), default_intel())
    assert report.maker == "oneplus"
    assert report.rom == Rom("OxygenOS", "13.1.0.580", "ro.oxygen.version", "R.1234567_1_2")
    assert report.region == Region("EUEX", "ro.vendor.oplus.regionmark")
    by_package = {c.package: c for c in report.components}
    assert by_package["com.heytap.openid"].third_party is False  # OnePlus is an OPPO brand
    assert by_package["com.oplus.deepthinker"].match == "prefix"
    device = "name:android:5e1c77b2"
    # com.heytap.mcs is disabled-user and com.oneplus.opbugreportlite uninstalled: no findings
    assert finding_ids(report.findings) == [
        f"PH-HST-001:{device}:com.oplus.statistics.rom",
        f"PH-HST-005:{device}:com.heytap.openid",
    ]
    assert (report.disabled, report.uninstalled) == (1, 1)


def test_huawei_bugreport() -> None:
    report = analyze_handset(dumps(HUAWEI_TXT), default_intel())
    assert report.name == "android:7NJ4C19A28012345"
    assert report.maker == "huawei"
    assert report.rom == Rom("EMUI", "12.0.0", "ro.build.version.emui", "12.0.0.165C432")
    assert report.region == Region("GB", "ro.product.locale")
    hms = next(c for c in report.components if c.package == "com.huawei.hwid")
    assert (hms.component, hms.removability, hms.purposes) == (
        "HMS Core",
        "degrades",
        ("account", "push", "system-services"),
    )
    assert finding_ids(report.findings) == ["PH-HST-001:name:android:7nj4c19a28012345:com.huawei.bd"]


def test_endpoints_are_looked_up_in_the_domain_catalogue() -> None:
    text = "package:/system/app/OPOdm/OPOdm.apk=net.oneplus.odm\n[ro.product.manufacturer]: [OnePlus]\n"
    report = analyze_handset([parse_lines(text.splitlines(), "mixed.txt")], default_intel())
    odm = next(c for c in report.components if c.package == "net.oneplus.odm")
    assert [(e.domain, e.entity, e.purpose) for e in odm.endpoints] == [
        ("open.oneplus.net", "oneplus", "os-telemetry")
    ]


@pytest.mark.parametrize(
    ("props", "rom"),
    [
        (
            {
                "ro.mi.os.version.name": "OS1.0",
                "ro.mi.os.version.incremental": "OS1.0.3.0.TKXCNXM",
                "ro.miui.ui.version.code": "816",
            },
            Rom("HyperOS", "OS1.0", "ro.mi.os.version.name", "OS1.0.3.0.TKXCNXM"),
        ),
        ({"ro.miui.ui.version.name": "V130"}, Rom("MIUI", "V130", "ro.miui.ui.version.name")),
        (
            {
                "hw_sc.build.platform.version": "4.2.0",
                "ro.build.version.emui": "EmotionUI_14.2.0",
                "ro.huawei.build.display.id": "LIO-AL00 4.2.0.120(SP1C00E100R5P4)",
            },
            Rom("HarmonyOS", "4.2.0", "hw_sc.build.platform.version", "LIO-AL00 4.2.0.120(SP1C00E100R5P4)"),
        ),
        (
            {"ro.build.version.magic": "MagicUI_6.1.0"},
            Rom("MagicUI", "MagicUI_6.1.0", "ro.build.version.magic"),
        ),
        ({"msc.config.magic.version": "9.0"}, Rom("MagicOS", "9.0", "msc.config.magic.version")),
        (
            {"ro.build.version.realmeui": "V5.0", "ro.build.version.oplusrom": "V14.0"},
            Rom("realme UI", "V5.0", "ro.build.version.realmeui"),
        ),
        ({"ro.build.version.oplusrom": "V12.1"}, Rom("ColorOS", "V12.1", "ro.build.version.oplusrom")),
        ({"ro.rom.version": "H2OS V3.5"}, Rom("H2OS", "H2OS V3.5", "ro.rom.version")),
        (
            {"ro.rom.version": "11.1.2.2", "ro.build.version.release": "11"},
            Rom("Android", "11", "ro.build.version.release"),
        ),
        (
            {"ro.vivo.os.build.display.id": "OriginOS 4"},
            Rom("OriginOS", "OriginOS 4", "ro.vivo.os.build.display.id"),
        ),
        (
            {"ro.vivo.os.build.display.id": "Funtouch OS_10"},
            Rom("Funtouch OS", "Funtouch OS_10", "ro.vivo.os.build.display.id"),
        ),
        ({"ro.build.version.oneui": "60101"}, Rom("One UI", "6.1", "ro.build.version.oneui")),
        ({}, None),
    ],
)
def test_detect_rom(props: dict[str, str], rom: Rom | None) -> None:
    assert detect_rom(props) == rom


@pytest.mark.parametrize(
    ("props", "region"),
    [
        (
            {"ro.miui.region": "HK", "ro.miui.build.region": "global"},
            Region("global", "ro.miui.build.region"),
        ),
        ({"ro.oppo.regionmark": "CN"}, Region("CN", "ro.oppo.regionmark")),
        ({"ro.product.locale": "zh-Hans-CN"}, Region("CN", "ro.product.locale")),
        ({"ro.product.locale": "en"}, None),
    ],
)
def test_detect_region(props: dict[str, str], region: Region | None) -> None:
    assert detect_region(props) == region


def test_maker_by_manufacturer_or_brand() -> None:
    intel = default_intel()
    assert maker_entity({"ro.product.manufacturer": "HUAWEI"}, intel) == "huawei"
    assert (
        maker_entity({"ro.product.manufacturer": "unknown-odm", "ro.product.brand": "Redmi"}, intel)
        == "xiaomi"
    )
    assert maker_entity({"ro.product.manufacturer": "Fairphone"}, intel) is None


def test_inputs_of_two_handsets_are_refused() -> None:
    one = parse_lines(["[ro.product.model]: [LE2113]"], "a.txt")
    other = parse_lines(["[ro.product.model]: [ELE-L29]"], "b.txt")
    with pytest.raises(HandsetError, match=r"^b.txt: ro.product.model is 'ELE-L29' but a.txt says 'LE2113'"):
        merge_dumps([one, other])


@pytest.mark.parametrize("order", [0, 1])
def test_known_state_beats_unknown_in_either_order(order: int) -> None:
    listed = parse_lines(["package:/system/app/HwUE/HwUE.apk=com.huawei.bd"], "list.txt")
    dumped = parse_lines(
        [
            "Packages:",
            "  Package [com.huawei.bd] (4b5a697):",
            "    versionName=11.0.0.320",
            "    User 0: ceDataInode=1 installed=true hidden=false stopped=true notLaunched=false enabled=3",
        ],
        "dumpsys.txt",
    )
    pair = [listed, dumped] if order == 0 else [dumped, listed]
    _, packages, origin = merge_dumps(pair)
    assert packages["com.huawei.bd"] == PackageRecord(
        "com.huawei.bd", "/system/app/HwUE/HwUE.apk", True, "disabled-user", "11.0.0.320"
    )
    assert origin["com.huawei.bd"] == pair[0].path


def test_network_audits_never_match_handset_rules() -> None:
    intel = default_intel()
    phone = make_device(vendor="xiaomi", device_type="phone", confidence=0.95)
    settings = PolicySettings(packs=("phonehome-handset",), watch_countries=frozenset())
    assert evaluate([phone], [], intel, settings) == []


# --- the catalogue ---------------------------------------------------------------------------


def test_catalogue_entries_are_sourced_and_consistent() -> None:
    intel = default_intel()
    assert len(intel.packages) >= 45
    for entry in intel.packages.values():
        assert entry.sources and all(s.startswith("https://") for s in entry.sources), entry.package
        assert entry.removability == "unknown" or entry.removal_note, entry.package
        assert not entry.source_rating or entry.source_rating.startswith("ADL: "), entry.package
        for domain in entry.endpoints:
            assert intel.domain_entry(domain) is not None, (entry.package, domain)
        for method in entry.methods:
            assert method.sources, entry.package
    # every vendor the issue names has entries
    owners = {e.entity or e.owner for e in intel.packages.values()}
    assert {"xiaomi", "huawei", "oppo", "oneplus", "vivo", "baidu", "iFlytek", "Sogou", "alibaba"} <= owners
    assert {p.prefix for p in intel.package_prefixes} >= {"com.heytap.", "com.hihonor.", "com.bbk."}


def test_handset_pack_purposes_exist() -> None:
    pack = default_intel().packs["phonehome-handset"]
    assert [r.id for r in pack.rules] == [f"PH-HST-00{i}" for i in range(1, 6)]
    used = {p for r in pack.rules for p in r.match.handset.purposes}  # type: ignore[union-attr]
    assert used <= set(PACKAGE_PURPOSES)


def test_exact_entries_win_over_prefixes_and_prefixes_end_at_a_dot() -> None:
    intel = default_intel()
    assert isinstance(intel.package_entry("com.heytap.openid"), AndroidPackage)
    assert intel.package_entry("com.heytap.someapp").owner == "OPPO (HeyTap)"  # type: ignore[union-attr]
    assert intel.package_entry("com.heytapx.app") is None
    assert intel.package_entry("com.sohu.inputmethod.sogou.vivo").owner == "Sogou"  # type: ignore[union-attr]


def test_user_catalogue_overrides_and_is_checked(tmp_path: Path) -> None:
    (tmp_path / "android_packages.yaml").write_text(
        "version: '1'\npackages:\n"
        "  - package: com.example.tracker\n    entity: xiaomi\n    owner: Xiaomi\n    component: Tracker\n"
        "    purposes: [analytics]\n    description: d\n    removability: unknown\n"
        "    sources: ['https://example.org']\n",
        encoding="utf-8",
    )
    intel = load_intel([tmp_path])
    assert intel.packages["com.example.tracker"].component == "Tracker"
    assert "com.miui.analytics" in intel.packages  # the shipped entries stay
    (tmp_path / "android_packages.yaml").write_text(
        "version: '1'\npackages:\n"
        "  - package: com.example.tracker\n    entity: nobody\n    owner: X\n    component: T\n"
        "    purposes: [analytics]\n    description: d\n    removability: safe\n"
        "    removal_note: n\n    sources: ['https://example.org']\n",
        encoding="utf-8",
    )
    with pytest.raises(IntelError, match="android package com.example.tracker: unknown entity 'nobody'"):
        load_intel([tmp_path])
    (tmp_path / "android_packages.yaml").write_text(
        "version: '1'\npackages:\n"
        "  - package: com.example.tracker\n    entity: null\n    owner: X\n    component: T\n"
        "    purposes: [mining]\n    description: d\n    removability: safe\n"
        "    sources: ['https://example.org']\n",
        encoding="utf-8",
    )
    with pytest.raises(IntelError, match=r"android_packages.yaml: packages.0.purposes.0: "):
        load_intel([tmp_path])
