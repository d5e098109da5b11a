"""Unbound configuration: a ``server:`` clause with ``local-zone: "name." always_nxdomain``.

A local zone covers the name and every name below it. ``always_nxdomain`` answers NXDOMAIN even
where local data exists; ``always_refuse`` was not used because a REFUSED answer sends many
clients to their next resolver, which may not block. The file can be ``include:``d anywhere in
unbound.conf, since it opens its own ``server:`` clause.

With ``--keep-required``, a required name below a blocked domain gets a ``transparent`` local
zone: the most specific local zone wins, and transparent resolves normally.
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

SEMANTICS = """\
format: local-zone always_nxdomain answers NXDOMAIN for the name and every name below it;
  names under a listed parent are folded into it. Include with include: in unbound.conf.
  transparent zones (--keep-required) exempt required names below a blocked domain."""


class UnboundRenderer:
    name: ClassVar[str] = "unbound"
    suffix: ClassVar[str] = ".conf"
    comment: ClassVar[str] = "#"
    suffix_match: ClassVar[bool] = True

    def render(self, blocklist: Blocklist) -> str:
        lines = [*commented("#", header(blocklist, self.name, SEMANTICS)), "", "server:"]
        for entry, covers in suffix_groups(blocklist):
            lines += [
                *commented("    #", why_name(blocklist, entry, covers)),
                f'    local-zone: "{entry.name}." always_nxdomain',
            ]
        for w in exceptions(blocklist):
            lines += [
                f"    # {w.target}: exempt: {clean(w.reason)}",
                f'    local-zone: "{w.target}." transparent',
            ]
        lines += ["", *commented("#", footer(blocklist))]
        return "\n".join(lines).rstrip() + "\n"
