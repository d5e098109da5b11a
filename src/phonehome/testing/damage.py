"""Seeded damage to real-format files, for tests that readers never crash on bad input."""

from __future__ import annotations

import random

_SPECIAL = (b",", b"\n", b"{", b"}", b";", b'"', b"\\", b" ", b"\x00", b":", b"\xe9")
"""Bytes that separate, quote or end records in text formats, plus a NUL and a Latin-1 byte."""


def damage(data: bytes, rng: random.Random) -> bytes:
    """``data`` with 1-9 random cuts, random insertions and inserted structural bytes."""
    out = bytearray(data)
    for _ in range(rng.randrange(1, 10)):
        at = rng.randrange(len(out) + 1)
        choice = rng.randrange(3)
        if choice == 0:
            del out[at : at + rng.randrange(1, 20)]
        elif choice == 1:
            out[at:at] = rng.randbytes(rng.randrange(1, 8))
        else:
            out[at:at] = rng.choice(_SPECIAL)
    return bytes(out)
