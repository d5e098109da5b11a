"""dnsmasq configuration: ``address=/domain/`` for every name.

``address=/example.com/`` with no address is dnsmasq's "no such domain" form (the same as
``server=/example.com/`` and ``local=/example.com/``): every query for example.com and every
name below it, of any record type, gets NXDOMAIN and is never forwarded. NXDOMAIN was chosen
over the NULL-address form (``address=/example.com/#`` or ``/0.0.0.0``) because clients given
0.0.0.0 or :: end up connecting to themselves; NXDOMAIN makes them give up cleanly. Names in
/etc/hosts or DHCP leases still answer (dnsmasq lets those override ``address=``).

With ``--keep-required``, a required name below a blocked domain gets ``server=/name/#``: the
more specific domain wins in dnsmasq, and ``#`` means "forward to the usual upstream servers".
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
format: address=/name/ answers NXDOMAIN for the name and every name below it (any record type,
  never forwarded); names under a listed parent are folded into it; hosts/DHCP names override.
  server=/name/# lines (--keep-required) exempt required names below a blocked domain."""


class DnsmasqRenderer:
    name: ClassVar[str] = "dnsmasq"
    suffix: ClassVar[str] = ".conf"
    comment: ClassVar[str] = "#"
    suffix_match: ClassVar[bool] = True

    def render(self, blocklist: Blocklist) -> str:
        lines = commented("#", header(blocklist, self.name, SEMANTICS))
        for entry, covers in suffix_groups(blocklist):
            lines += ["", *commented("#", why_name(blocklist, entry, covers)), f"address=/{entry.name}/"]
        for w in exceptions(blocklist):
            lines += ["", f"# {w.target}: exempt: {clean(w.reason)}", f"server=/{w.target}/#"]
        lines += ["", *commented("#", footer(blocklist))]
        return "\n".join(lines).rstrip() + "\n"
