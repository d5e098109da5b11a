"""A BIND response policy zone (RPZ) file.

Each name gets ``name CNAME .`` and ``*.name CNAME .`` (NXDOMAIN for the name and every name
below it). Owner names are relative, so the file works under whatever zone name named.conf gives
it (``response-policy { zone "rpz.phonehome"; };``). The SOA serial is the report's
``generated_at`` in Unix seconds: a newer audit gives a higher serial, the same audit the same.

With ``--keep-required``, a required name below a blocked domain gets ``CNAME rpz-passthru.``
(and its wildcard), which RPZ applies before the less specific NXDOMAIN rule.
"""

from __future__ import annotations

from datetime import datetime
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
format: RPZ; name CNAME . and *.name CNAME . answer NXDOMAIN for the name and every name below it;
  names under a listed parent are folded into it. Owner names are relative to the zone name
  given in named.conf; the SOA serial is generated_at in Unix seconds."""


def serial(generated_at: str) -> int:
    """SOA serial from the report time: Unix seconds, which fit RFC 1982's 32 bits until 2106."""
    try:
        when = datetime.fromisoformat(generated_at.replace("Z", "+00:00"))
    except ValueError:
        return 1
    return max(1, min(int(when.timestamp()), 2**32 - 1))


class RpzRenderer:
    name: ClassVar[str] = "rpz"
    suffix: ClassVar[str] = ".zone"
    comment: ClassVar[str] = ";"
    suffix_match: ClassVar[bool] = True

    def render(self, blocklist: Blocklist) -> str:
        lines = commented(";", header(blocklist, self.name, SEMANTICS))
        lines += [
            "",
            "$TTL 300",
            f"@ IN SOA localhost. hostmaster.localhost. {serial(blocklist.generated_at)} 3600 600 604800 300",
            "@ IN NS localhost.",
        ]
        for entry, covers in suffix_groups(blocklist):
            lines += [
                "",
                *commented(";", why_name(blocklist, entry, covers)),
                f"{entry.name} CNAME .",
                f"*.{entry.name} CNAME .",
            ]
        for w in exceptions(blocklist):
            lines += [
                "",
                f"; {w.target}: exempt: {clean(w.reason)}",
                f"{w.target} CNAME rpz-passthru.",
                f"*.{w.target} CNAME rpz-passthru.",
            ]
        lines += ["", *commented(";", footer(blocklist))]
        return "\n".join(lines).rstrip() + "\n"
