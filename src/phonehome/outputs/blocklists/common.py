"""What every blocklist format shares: the renderer protocol, the header and the "why" comments."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import ClassVar, Protocol

from phonehome.model import DeviceID
from phonehome.outputs.blocklists.model import AddressEntry, Blocklist, NameEntry, Withheld
from phonehome.outputs.blocklists.names import collapse, covered_by, printable


class BlocklistRenderer(Protocol):
    """Renders a ``Blocklist`` in one consumer's syntax; prints nothing, same input -> same text."""

    name: ClassVar[str]
    """Value of ``--format``."""
    suffix: ClassVar[str]
    """File suffix for a default output name."""
    comment: ClassVar[str]
    """Comment prefix of the format."""
    suffix_match: ClassVar[bool]
    """True when a rule for a name also matches every name below it."""

    def render(self, blocklist: Blocklist) -> str:
        """The whole file."""
        ...


MAX_COMMENT = 400
"""Longest comment line written, prefix included."""
MAX_LISTED_DEVICES = 5
"""Devices named in one comment; the rest are counted."""


def clean(text: str) -> str:
    """Free text (host names, notes, sources) safe for a one-line comment."""
    return " ".join(printable(text, 300).split())


def device_labels(blocklist: Blocklist, ids: Iterable[DeviceID]) -> str:
    """``label [id]`` of the first few devices, then how many more."""
    ids = list(ids)
    parts = []
    for device_id in ids[:MAX_LISTED_DEVICES]:
        ref = blocklist.device(device_id)
        label = ref.label if ref else device_id
        parts.append(clean(label if label == device_id else f"{label} [{device_id}]"))
    if len(ids) > MAX_LISTED_DEVICES:
        parts.append(f"and {len(ids) - MAX_LISTED_DEVICES} more")
    return ", ".join(parts) or "none"


def origin(blocklist: Blocklist, entry: NameEntry) -> str:
    where = []
    if entry.observed:
        audit = f"audit {blocklist.audit_id}" if blocklist.audit_id is not None else "this audit"
        where.append(f"observed in {audit}")
    if entry.flagged_by:
        where.append("named by " + ", ".join(entry.flagged_by))
    if entry.catalogue_sources:
        where.append(f"intel catalogue {blocklist.catalogue_intel} ({'; '.join(entry.catalogue_sources)})")
    return "; ".join(where)


def why_name(blocklist: Blocklist, entry: NameEntry, covers: Iterable[NameEntry] = ()) -> list[str]:
    """Comment lines: the name, its operator, purpose, devices and origin; then one line per
    name it covers (suffix formats fold those into it)."""
    lines = [clean(f"{entry.name}: {reason_name(blocklist, entry)}")]
    lines += ["  " + clean(f"also covers {c.name}: {reason_name(blocklist, c)}") for c in covers]
    return lines


def reason_name(blocklist: Blocklist, entry: NameEntry) -> str:
    """Why a name is blocked, without the name itself (for formats that already show it)."""
    text = (
        f"{blocklist.entity(entry.operator)} {entry.purpose}"
        f" | devices: {device_labels(blocklist, entry.devices)}"
        f" | {origin(blocklist, entry)}"
    )
    if entry.blocking != "unknown":
        text += f" | blocking: {entry.blocking}"
    return clean(text)


def reason_address(blocklist: Blocklist, entry: AddressEntry) -> str:
    """Why an address is blocked, without the address itself."""
    names = ", ".join(entry.names) or "no name seen"
    text = (
        f"{names} ({blocklist.entity(entry.operator)} {entry.purpose})"
        f" | devices: {device_labels(blocklist, entry.devices)}"
    )
    if entry.flagged_by:
        text += " | named by " + ", ".join(entry.flagged_by)
    return clean(text)


def header(blocklist: Blocklist, fmt: str, semantics: str) -> list[str]:
    """Header lines (without comment prefix): provenance, options, counts, matching semantics."""
    audit = str(blocklist.audit_id) if blocklist.audit_id is not None else "(not saved)"
    catalogue = blocklist.catalogue_intel or "not used (--observed-only)"
    devices = [
        f"  {clean(d.label)} [{d.id}] {blocklist.entity(d.vendor) if d.vendor else 'vendor unknown'}"
        f" ({', '.join(d.reasons) or 'no finding'}): {', '.join(d.addresses) or 'no address'}"
        for d in blocklist.devices
    ]
    lines = [
        f"phonehome containment blocklist ({fmt})",
        f"audit: {audit}; report generated_at: {blocklist.generated_at}",
        f"intel: report {blocklist.report_intel}; catalogue {catalogue}",
        f"options: {blocklist.options.describe(fmt)}",
        f"devices ({len(blocklist.devices)}):",
        *devices,
        f"entries: {len(blocklist.names)} names, {len(blocklist.addresses)} addresses; "
        f"{len(blocklist.withheld)} withheld (listed at the end); {len(blocklist.invalid)} invalid dropped",
        *(semantics.splitlines()),
    ]
    return [clean(line) if not line.startswith("  ") else "  " + clean(line) for line in lines]


def footer(blocklist: Blocklist) -> list[str]:
    """Withheld targets and dropped names, for the end of the file."""
    lines: list[str] = []
    if blocklist.withheld:
        lines.append("not blocked:")
        lines += [
            f"  {w.target}: {clean(w.reason)} (devices: {device_labels(blocklist, w.devices)})"
            for w in blocklist.withheld
        ]
        if any(not w.required for w in blocklist.withheld):
            lines.append("  (--all-destinations blocks destinations not tied to the vendor too)")
    if blocklist.invalid:
        lines.append(f"invalid names or addresses dropped ({len(blocklist.invalid)}):")
        lines += [f"  {clean(text)}" for text in blocklist.invalid]
    return lines


def commented(prefix: str, lines: Iterable[str]) -> list[str]:
    """``lines`` as comments, each cut to ``MAX_COMMENT`` characters.

    The bound matters: dnsmasq reads a configuration line in pieces of about 1,000 bytes, so the
    tail of a longer comment would be parsed as an option.
    """
    out = []
    for line in lines:
        text = f"{prefix} {line}".rstrip()
        out.append(text if len(text) <= MAX_COMMENT else text[: MAX_COMMENT - 3] + "...")
    return out


def suffix_groups(blocklist: Blocklist) -> list[tuple[NameEntry, list[NameEntry]]]:
    """Names for suffix-matching formats: those under a listed parent fold into the parent."""
    return collapse(blocklist.names, lambda e: e.name)


def exceptions(blocklist: Blocklist) -> list[Withheld]:
    """Required names (``--keep-required``) that a blocked parent would otherwise cover."""
    blocked = [e.name for e in blocklist.names]
    return [
        w
        for w in blocklist.withheld
        if w.required and not is_address(w.target) and covered_by(w.target, blocked)
    ]


def is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
