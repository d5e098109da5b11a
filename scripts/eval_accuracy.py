#!/usr/bin/env python3
"""Measure attribution accuracy on the labelled cases in ``eval/attribution.yaml``.

Each case (a few evidence signals and optionally a MAC) becomes a ``DeviceDraft`` that goes
through the real ``Attributor`` with the shipped intel data. Scoring is per restricted family:
a case counts for Hikvision when its expected entity is in Hikvision's family (``Intel.family``:
current, verified subsidiary/affiliate/brand/OEM links), and the attribution is right when the
attributed vendor is in the same family. Precision and recall are computed per family and over
all restricted families together; every mistake is listed.

    python scripts/eval_accuracy.py [--cases eval/attribution.yaml] [--check] [--json]

``--check`` exits 1 when restricted-vendor precision < 0.98 or recall < 0.90; a malformed case
file exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

import yaml  # noqa: E402

from phonehome.identify.attribution import Attributor  # noqa: E402
from phonehome.identify.inventory import DeviceDraft  # noqa: E402
from phonehome.intel.loader import Intel, load_intel  # noqa: E402
from phonehome.model import DeviceID  # noqa: E402
from phonehome.sources.interface import HostSignal  # noqa: E402

RESTRICTED = ("hikvision", "dahua", "huawei", "zte", "hytera")
"""Roots of the restricted families: the five companies named in NDAA section 889."""
TARGET_PRECISION = 0.98
TARGET_RECALL = 0.90
DEFAULT_CASES = ROOT / "eval" / "attribution.yaml"
SOURCE = "eval"


class CaseFileError(ValueError):
    """The case file cannot be read or a case is malformed."""


@dataclass(frozen=True)
class Case:
    id: str
    expect: str | None
    """Entity id that made the device, or None when the evidence cannot say."""
    mac: str | None
    signals: tuple[tuple[str, str], ...]
    note: str = ""


@dataclass(frozen=True)
class Outcome:
    case: Case
    got: str | None
    """Attributed vendor entity id, or None."""
    expected_family: str | None
    got_family: str | None
    evidence: tuple[str, ...]

    @property
    def correct(self) -> bool:
        return self.expected_family == self.got_family


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    support: int = 0
    """Cases whose expected entity is in the family."""

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Report:
    outcomes: list[Outcome]
    per_family: dict[str, Score] = field(default_factory=dict)
    overall: Score = field(default_factory=Score)
    exact: int = 0
    """Cases whose attributed entity is exactly the expected one (None for None included)."""

    @property
    def mistakes(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.correct]

    def meets_targets(self) -> bool:
        return self.overall.precision >= TARGET_PRECISION and self.overall.recall >= TARGET_RECALL


def load_cases(path: Path, intel: Intel) -> list[Case]:
    """Read and check the case file; problems raise ``CaseFileError`` naming the path and case."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CaseFileError(f"{path}: cannot read ({e.strerror or e})") from e
    except yaml.YAMLError as e:
        raise CaseFileError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from e
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise CaseFileError(f"{path}: expected a mapping with a 'cases' list")
    cases: list[Case] = []
    seen: set[str] = set()
    for n, raw in enumerate(data["cases"]):
        cases.append(_case(path, n, raw, intel, seen))
    return cases


def _case(path: Path, n: int, raw: Any, intel: Intel, seen: set[str]) -> Case:
    where = f"{path}: case {n}"
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise CaseFileError(f"{where}: each case needs an 'id'")
    case_id = raw["id"]
    where = f"{path}: case {case_id}"
    if case_id in seen:
        raise CaseFileError(f"{where}: id used twice")
    seen.add(case_id)
    if "expect" not in raw:
        raise CaseFileError(f"{where}: 'expect' is required (an entity id or null)")
    expect = raw["expect"]
    if expect is not None and expect not in intel.entities:
        raise CaseFileError(f"{where}: unknown entity {expect!r}")
    mac = raw.get("mac")
    if mac is not None and (not isinstance(mac, str) or mac != mac.lower() or len(mac) != 17):
        raise CaseFileError(f"{where}: mac must be lower-case aa:bb:cc:dd:ee:ff")
    signals = raw.get("signals") or []
    pairs: list[tuple[str, str]] = []
    for item in signals:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise CaseFileError(f"{where}: each signal is [kind, value], got {item!r}")
        pairs.append((item[0], item[1]))
    if not pairs and mac is None:
        raise CaseFileError(f"{where}: a case needs signals or a mac")
    return Case(case_id, expect, mac, tuple(pairs), str(raw.get("note", "")))


def family_of(intel: Intel, entity: str | None) -> str | None:
    """The restricted family root whose family holds ``entity``, or None."""
    if entity is None:
        return None
    for root in RESTRICTED:
        if entity in intel.family(root):
            return root
    return None


def draft_for(case: Case) -> DeviceDraft:
    draft = DeviceDraft(id=DeviceID(f"eval:{case.id}"), mac=case.mac)
    draft.signals.extend(HostSignal(case.mac, None, kind, value, SOURCE) for kind, value in case.signals)
    draft.sources.add(SOURCE)
    return draft


def evaluate(cases: Iterable[Case], intel: Intel) -> Report:
    attributor = Attributor(intel)
    outcomes: list[Outcome] = []
    for case in cases:
        device = attributor.attribute(draft_for(case), [])
        got = device.attribution.vendor
        evidence = tuple(f"{e.kind}: {e.detail}" for e in device.attribution.evidence if e.detail)
        outcomes.append(
            Outcome(case, got, family_of(intel, case.expect), family_of(intel, got), evidence)
        )
    report = Report(outcomes, per_family={root: Score() for root in RESTRICTED})
    for o in outcomes:
        report.exact += o.got == o.case.expect
        for root in RESTRICTED:
            _tally(report.per_family[root], o.expected_family == root, o.got_family == root)
        _tally(
            report.overall,
            o.expected_family is not None,
            o.got_family is not None,
            agree=o.expected_family == o.got_family,
        )
    return report


def _tally(score: Score, expected: bool, predicted: bool, agree: bool = True) -> None:
    """Add one case: a hit needs both sides positive (and, overall, the same family)."""
    score.support += expected
    if expected and predicted and agree:
        score.tp += 1
        return
    if predicted:
        score.fp += 1
    if expected:
        score.fn += 1


def render(report: Report) -> str:
    lines = [
        f"{'family':<12}{'cases':>7}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}",
    ]
    rows = [(root, report.per_family[root]) for root in RESTRICTED]
    rows.append(("restricted", report.overall))
    for name, s in rows:
        lines.append(
            f"{name:<12}{s.support:>7}{s.tp:>5}{s.fp:>5}{s.fn:>5}{s.precision:>11.3f}{s.recall:>8.3f}"
        )
    total = len(report.outcomes)
    unrestricted = sum(1 for o in report.outcomes if o.expected_family is None)
    lines.append("")
    lines.append(
        f"{total} cases ({total - unrestricted} restricted-family, {unrestricted} other); "
        f"exact entity agreement {report.exact}/{total}; "
        f"targets: precision >= {TARGET_PRECISION}, recall >= {TARGET_RECALL}: "
        f"{'met' if report.meets_targets() else 'NOT met'}"
    )
    mistakes = report.mistakes
    lines.append("")
    lines.append(f"mistakes ({len(mistakes)}):" if mistakes else "mistakes: none")
    for o in mistakes:
        lines.append(
            f"  {o.case.id}: expected {o.case.expect} ({o.expected_family or 'not restricted'}), "
            f"got {o.got} ({o.got_family or 'not restricted'}) -- {o.case.note}"
        )
        lines.extend(f"      {e}" for e in o.evidence)
    return "\n".join(lines)


def as_dict(report: Report) -> dict[str, Any]:
    def score(s: Score) -> dict[str, Any]:
        return {
            "cases": s.support,
            "tp": s.tp,
            "fp": s.fp,
            "fn": s.fn,
            "precision": round(s.precision, 4),
            "recall": round(s.recall, 4),
        }

    return {
        "cases": len(report.outcomes),
        "families": {root: score(report.per_family[root]) for root in RESTRICTED},
        "restricted": score(report.overall),
        "exact": report.exact,
        "meets_targets": report.meets_targets(),
        "mistakes": [
            {"id": o.case.id, "expected": o.case.expect, "got": o.got} for o in report.mistakes
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="case file (YAML)")
    parser.add_argument("--check", action="store_true", help="exit 1 when below the targets")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    intel = load_intel()
    try:
        cases = load_cases(args.cases, intel)
    except CaseFileError as e:
        print(f"eval_accuracy: error: {e}", file=sys.stderr)
        return 2
    report = evaluate(cases, intel)
    print(json.dumps(as_dict(report), indent=2) if args.json else render(report))
    return 1 if args.check and not report.meets_targets() else 0


if __name__ == "__main__":
    raise SystemExit(main())
