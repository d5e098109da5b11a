"""Renderers for a handset report (``analyze/handset.py``): terminal text, JSON, adb scripts.

All are pure and deterministic: the same report (and selection) gives the same bytes.

Scripts. ``disable`` writes ``adb shell pm disable-user --user 0 PKG`` per selected component,
``uninstall`` writes ``adb shell pm uninstall --user 0 PKG``, and ``restore`` undoes either:
``adb shell pm enable --user 0 PKG`` for a package the inputs show disabled,
``adb shell cmd package install-existing --user 0 PKG`` for one they show uninstalled, both when
the inputs do not say. Every command acts on user 0 only; the APK stays on the system partition.
Each component gets a comment with its owner, purposes, removability, what the catalogue's
source says removing it does, and the command that undoes it. A command a cited source reports
as failing or harmful for that package (``methods`` with ``works: false``) is written commented
out, with the reason. Packages already in the wanted state get a comment and no command.

Without ``--select`` the disable and uninstall scripts take the catalogued components rated
``safe`` that are enabled (or of unknown state); the restore script takes every catalogued or
vendor package the inputs show disabled or uninstalled. A selector is a package name, a
component name or a purpose (``analytics``), compared without case.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from phonehome.analyze.handset import Component, HandsetReport
from phonehome.errors import UsageError
from phonehome.intel.schema import PACKAGE_PURPOSES
from phonehome.model import Finding

ScriptAction = Literal["disable", "uninstall", "restore"]
HANDSET_FORMAT = "phonehome-handset/1"
"""``format`` field of the JSON output."""
_METHOD = {"disable": "disable-user", "uninstall": "uninstall"}
_WRAP = 96
"""Script comments are wrapped at this width."""
_DONE = {"disable": ("disabled", "disabled-user", "uninstalled"), "uninstall": ("uninstalled",)}
"""States in which a package needs no command."""


def _rom_text(report: HandsetReport) -> str:
    rom = report.rom
    if rom is None:
        return "unknown"
    text = f"{rom.name} {rom.version}"
    return text + (f" (build {rom.build})" if rom.build and rom.build != rom.version else "")


def _title(report: HandsetReport) -> str:
    maker = report.prop("ro.product.manufacturer") or report.prop("ro.product.brand") or "Android"
    model = report.prop("ro.product.marketname") or report.prop("ro.product.model") or ""
    device = report.prop("ro.product.device")
    title = f"{maker} {model}".strip()
    if device and device != model:
        title += f" ({device})"
    android = report.prop("ro.build.version.release")
    if android:
        sdk = report.prop("ro.build.version.sdk")
        title += f", Android {android}" + (f" (SDK {sdk})" if sdk else "")
    return title


# --- JSON ------------------------------------------------------------------------------------


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "rule_id": f.rule_id,
        "policy": f.policy.policy,
        "severity": f.severity.label,
        "category": f.category,
        "device_id": f.device_id,
        "title": f.title,
        "scope": f.policy.scope,
        "evidence": [
            {"kind": e.kind, "value": e.value, "source": e.source, "detail": e.detail} for e in f.evidence
        ],
        "references": list(f.policy.references),
    }


def _component(c: Component) -> dict[str, Any]:
    return {
        "package": c.package,
        "match": c.match,
        "component": c.component,
        "owner": c.owner,
        "entity": c.entity,
        "third_party": c.third_party,
        "purposes": list(c.purposes),
        "state": c.state,
        "system": c.system,
        "code_path": c.code_path,
        "version_name": c.version_name,
        "description": c.description,
        "removability": c.removability,
        "removal_note": c.removal_note,
        "source_rating": c.source_rating,
        "endpoints": [{"domain": e.domain, "entity": e.entity, "purpose": e.purpose} for e in c.endpoints],
        "methods": [
            {"command": m.command, "works": m.works, "note": m.note, "sources": list(m.sources)}
            for m in c.methods
        ],
        "sources": list(c.sources),
        "input": c.input,
    }


def handset_to_dict(report: HandsetReport) -> dict[str, Any]:
    """The JSON document of a handset report."""
    rom = report.rom
    region = report.region
    return {
        "format": HANDSET_FORMAT,
        "device_id": report.device_id,
        "name": report.name,
        "device_type": report.device_type,
        "maker": report.maker,
        "properties": dict(report.props),
        "rom": (
            {"name": rom.name, "version": rom.version, "property": rom.prop, "build": rom.build}
            if rom
            else None
        ),
        "region": {"value": region.value, "property": region.prop} if region else None,
        "packages": {
            "total": report.packages,
            "system": report.system_packages,
            "disabled": report.disabled,
            "uninstalled": report.uninstalled,
        },
        "components": [_component(c) for c in report.components],
        "findings": [_finding(f) for f in report.findings],
        "inputs": [
            {
                "path": i.path,
                "kind": i.kind,
                "records": i.packets,
                "skipped": i.skipped,
                "sha256": i.sha256,
                "errors": list(i.errors),
            }  # fmt: skip
            for i in report.inputs
        ],
        "intel_version": report.intel_version,
    }


def render_json(report: HandsetReport) -> str:
    return json.dumps(handset_to_dict(report), indent=2, ensure_ascii=False) + "\n"


# --- terminal --------------------------------------------------------------------------------


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        out.append((indent + "  ".join([*cells, row[-1]])).rstrip())
    return out


def render_text(report: HandsetReport) -> str:
    """The handset report as plain text for a terminal."""
    lines = [f"Handset   {_title(report)}", f"Name      {report.name}  [{report.device_id}]"]
    lines.append(f"ROM       {_rom_text(report)}" + (f"  [{report.rom.prop}]" if report.rom else ""))
    if report.region:
        lines.append(f"Region    {report.region.value}  [{report.region.prop}]")
    else:
        lines.append("Region    not given by the inputs")
    exact = [c for c in report.components if c.match == "exact"]
    vendor = [c for c in report.components if c.match == "prefix"]
    lines.append(
        f"Packages  {report.packages} ({report.system_packages} system), {report.disabled} disabled, "
        f"{report.uninstalled} uninstalled; {len(exact)} catalogued OEM components, "
        f"{len(vendor)} other vendor packages"
    )
    lines.append("")
    if exact:
        lines.append("OEM components")
        rows = [("STATE", "REMOVAL", "PACKAGE", "OWNER", "COMPONENT [PURPOSES]")]
        rows += [
            (
                c.state,
                c.removability,
                c.package,
                c.owner + (" *" if c.third_party else ""),
                f"{c.component} [{', '.join(c.purposes)}]",
            )  # fmt: skip
            for c in exact
        ]
        lines += _table(rows)
        if any(c.third_party for c in exact):
            lines.append("  * owner is not the handset's maker or a related company")
        lines.append("")
    if vendor:
        lines.append("Other vendor packages (owner from the package name only)")
        lines += _table([("STATE", "PACKAGE", "OWNER")] + [(c.state, c.package, c.owner) for c in vendor])
        lines.append("")
    lines.append("Findings" if report.findings else "Findings: none")
    for f in report.findings:
        lines.append(f"  {f.severity.label:<8} {f.rule_id}  {f.title}")
    lines.append("")
    lines.append("Inputs")
    for i in report.inputs:
        extra = f", {i.skipped} skipped" if i.skipped else ""
        lines.append(f"  {i.path}  {i.kind}, {i.packets} records{extra}")
        lines += [f"    ! {e}" for e in i.errors]
    lines.append(f"Intel data {report.intel_version}")
    return "\n".join(lines) + "\n"


# --- scripts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptStep:
    """One selected component in a script: the adb arguments to run, if any, and why."""

    component: Component
    commands: tuple[tuple[str, ...], ...]
    """Arguments after ``adb`` (``shell pm disable-user --user 0 PKG``); empty: nothing to run."""
    comments: tuple[str, ...]
    skipped: tuple[tuple[str, ...], ...] = ()
    """Commands a source reports as failing or harmful: written commented out, never run."""


def select_components(
    report: HandsetReport, action: ScriptAction, selectors: Sequence[str] = ()
) -> list[Component]:
    """The components a script acts on (see the module docstring); raises ``UsageError``."""
    if not selectors:
        if action == "restore":
            return [c for c in report.components if c.state not in ("enabled", "unknown")]
        # Input methods only when asked for by name: removing every keyboard leaves the user unable
        # to type, an unlock password included.
        return [
            c
            for c in report.components
            if c.match == "exact"
            and c.removability == "safe"
            and c.active
            and "input-method" not in c.purposes
        ]
    chosen: dict[str, Component] = {}
    for selector in selectors:
        key = selector.strip().casefold()
        hits = [
            c
            for c in report.components
            if key in (c.package.casefold(), c.component.casefold())
            or (key in PACKAGE_PURPOSES and key in c.purposes)
        ]
        if not hits:
            raise UsageError(
                f"--select {selector}: no catalogued component, package or purpose of that name on this "
                "handset (see the components listed by `phonehome phone` without --script)"
            )
        chosen.update((c.package, c) for c in hits)
    return [chosen[k] for k in sorted(chosen, key=lambda p: [c.package for c in report.components].index(p))]


def _undo(c: Component, action: ScriptAction) -> tuple[tuple[str, ...], ...]:
    enable = ("shell", "pm", "enable", "--user", "0", c.package)
    install = ("shell", "cmd", "package", "install-existing", "--user", "0", c.package)
    if action == "disable":
        return (enable,)
    if action == "uninstall":
        return (install,)
    if c.state == "uninstalled":
        return (install,)
    if c.state.startswith("disabled"):
        return (enable,)
    return (install, enable)


def script_steps(action: ScriptAction, components: Sequence[Component]) -> list[ScriptStep]:
    """What the script does for each selected component."""
    steps = []
    for c in components:
        purposes = ", ".join(c.purposes) or "purpose not catalogued"
        comments = [f"{c.component} ({c.owner}), {c.package}: {purposes}"]
        comments.append(f"state {c.state}; removability {c.removability}")
        if c.removability == "breaks":
            comments.append(f"WARNING: {c.removal_note}")
        elif c.removal_note:
            comments.append(c.removal_note)
        if action == "restore":
            steps.append(ScriptStep(c, _undo(c, action), tuple(comments)))
            continue
        if c.state in _DONE[action]:
            comments.append(f"already {c.state}; nothing to do")
            steps.append(ScriptStep(c, (), tuple(comments)))
            continue
        command = (
            ("shell", "pm", "disable-user", "--user", "0", c.package)
            if action == "disable"
            else ("shell", "pm", "uninstall", "--user", "0", c.package)
        )
        refused = [m for m in c.methods if m.command == _METHOD[action] and not m.works]
        if refused:
            comments += [f"not run: {m.note}" for m in refused]
            steps.append(ScriptStep(c, (), tuple(comments), skipped=(command,)))
            continue
        comments.append("undo: " + " ; ".join("adb " + " ".join(u) for u in _undo(c, action)))
        steps.append(ScriptStep(c, (command,), tuple(comments)))
    return steps


def render_script(report: HandsetReport, action: ScriptAction, components: Sequence[Component]) -> str:
    """The shell script for ``action`` on the selected components."""
    lines = [
        "#!/bin/sh",
        f"# phonehome phone --script {action}",
        f"# Handset: {_title(report)}",
        f"# {report.name}; ROM {_rom_text(report)}"
        + (f"; region {report.region.value}" if report.region else ""),
        "# From the handset's adb outputs and phonehome's OEM package catalogue "
        f"(intel {report.intel_version}).",
        "# Each command acts on user 0 only; the APK stays on the system partition.",
    ]
    if action != "restore":
        lines.append("# Undo with: phonehome phone <the same inputs> --script restore --select <the same>")
    lines.append("# Read every comment before running this; connect one handset (or set ANDROID_SERIAL).")
    lines.append("set -u")
    if not components:
        lines.append("# No component selected: nothing to do.")
    keyboards = [c for c in components if "input-method" in c.purposes]
    if keyboards and action != "restore":
        lines += [
            "",
            "# WARNING: this script disables or removes input methods ("
            + ", ".join(c.package for c in keyboards)
            + ").",
            "# Install and select another keyboard first, or the handset may be left with none to type",
            "# with (an alphanumeric unlock password included).",
        ]
    for step in script_steps(action, components):
        lines.append("")
        lines += [f"# {part}" for c in step.comments for part in textwrap.wrap(c, _WRAP) or [""]]
        lines += ["# adb " + " ".join(cmd) for cmd in step.skipped]
        lines += ["adb " + " ".join(cmd) for cmd in step.commands]
    return "\n".join(lines) + "\n"
