"""Attribution accuracy on the labelled set ``eval/attribution.yaml`` (scripts/eval_accuracy.py).

The evaluation runs every case through the real ``Attributor`` with the shipped intel data and
must meet the targets: restricted-vendor precision >= 0.98 and recall >= 0.90.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from phonehome.intel.loader import Intel, load_intel

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "eval_accuracy.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_accuracy", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_accuracy"] = module
    spec.loader.exec_module(module)
    return module


ev = _load_script()


@pytest.fixture(scope="module")
def intel() -> Intel:
    return load_intel()


@pytest.fixture(scope="module")
def report(intel: Intel) -> Any:
    return ev.evaluate(ev.load_cases(ev.DEFAULT_CASES, intel), intel)


def test_targets_are_met(report: Any) -> None:
    overall = report.overall
    assert overall.precision >= ev.TARGET_PRECISION, ev.render(report)
    assert overall.recall >= ev.TARGET_RECALL, ev.render(report)


def test_set_covers_every_restricted_family_and_look_alikes(report: Any) -> None:
    assert len(report.outcomes) >= 150
    for root in ev.RESTRICTED:
        assert report.per_family[root].support >= 10, root
    others = [o for o in report.outcomes if o.expected_family is None]
    assert len(others) >= 50
    expected = {o.case.expect for o in report.outcomes}
    # Brands and subsidiaries counted through their families, and look-alikes.
    assert {"ezviz", "sepura", "honor", "lorex", "amcrest", "uniview", "axis", None} <= expected


def test_check_flag_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert ev.main(["--check"]) == 0
    assert "restricted" in capsys.readouterr().out


def test_brand_counts_within_its_family(intel: Intel) -> None:
    assert ev.family_of(intel, "ezviz") == "hikvision"
    assert ev.family_of(intel, "sepura") == "hytera"
    assert ev.family_of(intel, "honor") is None  # spun off from Huawei in 2020
    assert ev.family_of(intel, "lorex") is None  # sold by Dahua in 2022
    assert ev.family_of(intel, None) is None


def test_scoring_counts_wrong_family_as_both_false_positive_and_negative(intel: Intel) -> None:
    cases = [
        ev.Case("a", "ezviz", None, (("asset_model", "DS-2CD2143G2-I"),)),  # hikvision: right family
        ev.Case("b", "zte", None, (("asset_vendor", "Huawei"),)),  # wrong restricted family
        ev.Case("c", None, None, (("asset_vendor", "Dahua"),)),  # false alarm
        ev.Case("d", "hytera", None, (("asset_vendor", "Nobody"),)),  # missed
    ]
    report = ev.evaluate(cases, intel)
    assert [o.correct for o in report.outcomes] == [True, False, False, False]
    assert (report.overall.tp, report.overall.fp, report.overall.fn) == (1, 2, 2)
    assert (report.per_family["huawei"].fp, report.per_family["zte"].fn) == (1, 1)
    assert report.per_family["hytera"].fn == 1
    assert not report.meets_targets()
    assert [o.case.id for o in report.mistakes] == ["b", "c", "d"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cases: 3\n", "'cases' list"),
        ("cases:\n  - {expect: null, signals: [[a, b]]}\n", "needs an 'id'"),
        ("cases:\n  - {id: x, signals: [[a, b]]}\n", "'expect' is required"),
        ("cases:\n  - {id: x, expect: nosuch, signals: [[a, b]]}\n", "unknown entity"),
        ("cases:\n  - {id: x, expect: null, signals: [[a]]}\n", r"\[kind, value\]"),
        ("cases:\n  - {id: x, expect: null, mac: 'AA:BB:CC:DD:EE:FF', signals: []}\n", "lower-case"),
        ("cases:\n  - {id: x, expect: null, signals: []}\n", "signals or a mac"),
        ("cases:\n" + "  - {id: x, expect: null, signals: [[a, b]]}\n" * 2, "twice"),
        ("cases: [\n", "not valid YAML"),
    ],
)  # fmt: skip
def test_malformed_case_files_are_refused_with_the_path(
    tmp_path: Path, intel: Intel, text: str, message: str
) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ev.CaseFileError, match=message) as info:
        ev.load_cases(path, intel)
    assert str(info.value).startswith(str(path))


def test_bad_case_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.yaml"
    assert ev.main(["--cases", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err
