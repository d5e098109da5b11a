"""A hosts file: ``0.0.0.0 name`` and ``:: name`` for every name.

Hosts files match exact names only, so every observed name is listed; a catalogue domain blocks
its apex, not the names below it that were never observed (use a suffix-matching format for that).
"""

from __future__ import annotations

from typing import ClassVar

from phonehome.outputs.blocklists.common import commented, footer, header, why_name
from phonehome.outputs.blocklists.model import Blocklist

SEMANTICS = """\
format: one name per line, answered with 0.0.0.0 (IPv4) and :: (IPv6); exact names only,
  so names below a catalogue domain are blocked only when observed."""


class HostsRenderer:
    name: ClassVar[str] = "hosts"
    suffix: ClassVar[str] = ".hosts"
    comment: ClassVar[str] = "#"
    suffix_match: ClassVar[bool] = False

    def render(self, blocklist: Blocklist) -> str:
        lines = commented("#", header(blocklist, self.name, SEMANTICS))
        for entry in blocklist.names:
            lines += [
                "",
                *commented("#", why_name(blocklist, entry)),
                f"0.0.0.0 {entry.name}",
                f":: {entry.name}",
            ]
        lines += ["", *commented("#", footer(blocklist))]
        return "\n".join(lines).rstrip() + "\n"
