"""Lists for AdGuard Home and Pi-hole: adblock rules (``||name^``) and a plain domain list.

``||example.com^`` matches example.com and every name below it in AdGuard Home and in Pi-hole
v6 (which reads ABP-style lines in its lists); comments start with ``!``. With
``--keep-required``, a required name below a blocked domain gets an ``@@||name^`` exception.

The plain list has one name per line with ``#`` comments. Consumers differ on whether a plain
name covers the names below it (Pi-hole matches it exactly), so the plain list keeps every
observed name instead of folding them into a parent.
"""

from __future__ import annotations

from typing import ClassVar

from phonehome.outputs.blocklists.common import (
    clean,
    commented,
    exceptions,
    footer,
    header,
    suffix_groups,
    why_name,
)
from phonehome.outputs.blocklists.model import Blocklist

ADBLOCK_SEMANTICS = """\
format: adblock rules for AdGuard Home / Pi-hole; ||name^ matches the name and every name below
  it; names under a listed parent are folded into it; @@ lines (--keep-required) are exceptions."""
PLAIN_SEMANTICS = """\
format: one name per line; some consumers match exact names only, so every observed name is
  listed; names below a catalogue domain are blocked there only when observed."""


class AdblockRenderer:
    name: ClassVar[str] = "adblock"
    suffix: ClassVar[str] = ".txt"
    comment: ClassVar[str] = "!"
    suffix_match: ClassVar[bool] = True

    def render(self, blocklist: Blocklist) -> str:
        lines = commented("!", header(blocklist, self.name, ADBLOCK_SEMANTICS))
        for entry, covers in suffix_groups(blocklist):
            lines += ["!", *commented("!", why_name(blocklist, entry, covers)), f"||{entry.name}^"]
        for w in exceptions(blocklist):
            lines += ["!", f"! {w.target}: exempt: {clean(w.reason)}", f"@@||{w.target}^"]
        lines += ["!", *commented("!", footer(blocklist))]
        return "\n".join(lines).rstrip() + "\n"


class PlainRenderer:
    name: ClassVar[str] = "domains"
    suffix: ClassVar[str] = ".txt"
    comment: ClassVar[str] = "#"
    suffix_match: ClassVar[bool] = False

    def render(self, blocklist: Blocklist) -> str:
        lines = commented("#", header(blocklist, self.name, PLAIN_SEMANTICS))
        for entry in blocklist.names:
            lines += ["", *commented("#", why_name(blocklist, entry)), entry.name]
        lines += ["", *commented("#", footer(blocklist))]
        return "\n".join(lines).rstrip() + "\n"
