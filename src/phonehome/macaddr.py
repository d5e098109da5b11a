"""MAC address notation: one parser for every input that writes MACs its own way."""

from __future__ import annotations

import re

_SEPARATED = re.compile(r"[0-9a-f]{1,2}([:\- ])[0-9a-f]{1,2}(?:\1[0-9a-f]{1,2}){4}")
"""Six groups: colon (Linux, macOS unpadded), hyphen (Windows) or space separated."""
_DOTTED = re.compile(r"[0-9a-f]{4}([.\-])[0-9a-f]{4}\1[0-9a-f]{4}")
"""Three groups of four: Cisco ``aabb.ccdd.eeff``, Huawei ``aabb-ccdd-eeff``."""
_BARE = re.compile(r"[0-9a-f]{12}")


def normalise_mac(text: str) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` from any common notation; None if ``text`` is not a MAC.

    Only the notation is checked: whether the address names a station (not all zeros, not
    broadcast) is the caller's question.
    """
    value = text.strip().lower()
    if _SEPARATED.fullmatch(value):
        octets = [part.zfill(2) for part in re.split(r"[:\- ]", value)]
        return ":".join(octets)
    if _DOTTED.fullmatch(value) or _BARE.fullmatch(value):
        digits = value.replace(".", "").replace("-", "")
        return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    return None
