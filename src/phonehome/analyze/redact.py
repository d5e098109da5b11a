"""Known identifiers masked in every part of a report, not only in its leak records.

A device's identifiers also turn up in host names (``android-<Android ID>``), User-Agents and
server names; once the user has said a value is an identifier, no output may show it whole.
The device's own network MAC is left alone: it is how every output names the device.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any, TypeVar

from phonehome.analyze.identifiers import DeviceIdentifiers, mask

_UNMASKED_KINDS = frozenset({"mac"})
_MIN_LENGTH = 6
"""Shorter values (a PIN-like "other" value) would mask ordinary text."""
_T = TypeVar("_T")


def identifier_pattern(entries: Iterable[DeviceIdentifiers]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for every maskable identifier value, longest first."""
    values = {
        i.value
        for entry in entries
        for i in entry.identifiers
        if i.kind not in _UNMASKED_KINDS and len(i.value) >= _MIN_LENGTH
    }
    if not values:
        return None
    return re.compile(
        "|".join(re.escape(v) for v in sorted(values, key=lambda v: (-len(v), v))), re.IGNORECASE
    )


def redact(value: _T, pattern: re.Pattern[str] | None) -> _T:
    """``value`` (a report or any part of one) with every identifier in its strings masked."""
    if pattern is None:
        return value
    return _walk(value, pattern)


def _walk(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(lambda m: mask(m.group(0)), value) if pattern.search(value) else value
    if isinstance(value, tuple):
        return tuple(_walk(v, pattern) for v in value)
    if isinstance(value, list):
        return [_walk(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, pattern) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _walk(getattr(value, f.name), pattern) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value
