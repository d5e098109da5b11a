"""Fingerprint matching: what one piece of evidence says about a device, by the signature rules.

Rules live in ``identify/signatures.yaml`` (and in users' ``--intel`` directories); the loader
compiles them and indexes them by evidence kind, so matching a value costs only the rules of its
kind. A rule may name a fast-path ``literal`` that a value must contain before its regular
expression runs. Model, firmware and brand come from the named groups ``model``, ``firmware``
and ``brand`` of the pattern, or from the rule's fixed fields of the same names.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from phonehome.intel.loader import CompiledSignature, Intel, default_intel

MAX_VALUE_CHARS = 4096
"""Longer values are cut before matching: banners and titles that long carry nothing more."""

KIND_ALIASES: dict[str, tuple[str, ...]] = {
    "dhcp_hostname": ("dhcp_hostname", "hostname"),
    "mdns_name": ("mdns_name", "hostname"),
    "dhcp_fqdn": ("hostname",),
}
"""Evidence kinds that are also tried against the rules of another kind (host names)."""


@dataclass(frozen=True)
class FingerprintMatch:
    """One rule that matched one value, and what it says about the device."""

    signature_id: str
    vendor: str | None
    """Entity id of the producer the rule names, or None."""
    brand: str | None
    model: str | None
    firmware: str | None
    device_type: str | None
    certainty: float
    """How strongly the match supports ``vendor`` and/or ``device_type`` (0..1)."""
    detail: str
    """Short text for evidence lists: the rule id and what it extracted."""


class Fingerprinter:
    """Matches evidence values against the compiled signatures of one ``Intel``."""

    def __init__(self, intel: Intel) -> None:
        self._intel = intel

    def match(self, kind: str, value: str) -> list[FingerprintMatch]:
        """Every rule for ``kind`` (and its aliases) that matches ``value``, in rule order."""
        text = value.strip()[:MAX_VALUE_CHARS]
        if not text:
            return []
        lowered = text.lower()
        found: list[FingerprintMatch] = []
        seen: set[str] = set()
        for rule_kind in KIND_ALIASES.get(kind, (kind,)):
            for compiled in self._intel.signatures_for(rule_kind):
                sig_id = compiled.signature.id
                if sig_id in seen or (compiled.literal and compiled.literal not in lowered):
                    continue
                hit = compiled.regex.search(text)
                if hit is not None:
                    seen.add(sig_id)
                    found.append(_result(compiled, hit))
        return found


def _group(hit: re.Match[str], name: str) -> str | None:
    if name not in hit.re.groupindex:
        return None
    captured = hit.group(name)
    return (captured.strip() or None) if captured else None


def _result(compiled: CompiledSignature, hit: re.Match[str]) -> FingerprintMatch:
    sig = compiled.signature
    model = _group(hit, "model") or sig.model
    firmware = _group(hit, "firmware") or sig.firmware
    brand = _group(hit, "brand") or sig.brand
    said = [
        f"{label}={text}"
        for label, text in (
            ("vendor", sig.vendor),
            ("brand", brand),
            ("model", model),
            ("firmware", firmware),
            ("type", sig.device_type),
        )
        if text
    ]
    detail = f"{sig.id}: {', '.join(said)}" if said else sig.id
    return FingerprintMatch(
        signature_id=sig.id,
        vendor=sig.vendor,
        brand=brand,
        model=model,
        firmware=firmware,
        device_type=sig.device_type,
        certainty=sig.certainty,
        detail=detail,
    )


@functools.cache
def _default_fingerprinter() -> Fingerprinter:
    return Fingerprinter(default_intel())


def match(kind: str, value: str, intel: Intel | None = None) -> list[FingerprintMatch]:
    """Match one evidence value against the shipped signatures (or those of ``intel``)."""
    fingerprinter = _default_fingerprinter() if intel is None else Fingerprinter(intel)
    return fingerprinter.match(kind, value)
