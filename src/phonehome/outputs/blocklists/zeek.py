"""A Zeek Intel framework file (``Intel::read_files``).

Tab-separated, with the header ``#fields indicator indicator_type meta.source meta.desc``:
``Intel::DOMAIN`` rows for names, ``Intel::ADDR`` rows for observed addresses. Zeek's input
reader skips lines starting with ``#`` other than ``#fields``, so the provenance comments are
safe before the header and after the rows. The first line is the ``#separator \\x09`` line that
Zeek's own TSV logs start with, so tools that read Zeek logs (phonehome's included) recognise
the file. Zeek matches intel domains exactly (DNS queries, TLS SNI, HTTP Host), so every name
is listed. ``meta.desc`` never contains a tab or newline.
"""

from __future__ import annotations

from typing import ClassVar

from phonehome.outputs.blocklists.common import commented, footer, header, reason_address, reason_name
from phonehome.outputs.blocklists.model import Blocklist

FIELDS = ("indicator", "indicator_type", "meta.source", "meta.desc")
SEMANTICS = """\
format: Zeek Intel framework file (load with Intel::read_files); Intel::DOMAIN matches exact names,
  so every observed name is listed; Intel::ADDR rows are the observed addresses."""


class ZeekIntelRenderer:
    name: ClassVar[str] = "zeek-intel"
    suffix: ClassVar[str] = ".intel"
    comment: ClassVar[str] = "#"
    suffix_match: ClassVar[bool] = False

    def render(self, blocklist: Blocklist) -> str:
        source = f"phonehome-audit-{blocklist.audit_id}" if blocklist.audit_id is not None else "phonehome"
        lines = ["#separator \\x09", *commented("#", header(blocklist, self.name, SEMANTICS))]
        lines.append("#fields\t" + "\t".join(FIELDS))
        rows = [(e.name, "Intel::DOMAIN", reason_name(blocklist, e)) for e in blocklist.names]
        rows += [(a.ip, "Intel::ADDR", reason_address(blocklist, a)) for a in blocklist.addresses]
        lines += ["\t".join((indicator, kind, source, desc)) for indicator, kind, desc in rows]
        lines += commented("#", footer(blocklist))
        return "\n".join(lines).rstrip() + "\n"
