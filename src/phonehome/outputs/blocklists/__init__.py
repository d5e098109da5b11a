"""Containment blocklists: what restricted or flagged devices contacted, and what the intel
catalogue lists for their vendors, in the syntax of the tool that will enforce or watch it.

``build_blocklist(report, intel, options, audit_id)`` decides the content once (``build.py``);
one renderer per format adds only syntax (``registry.BlocklistFormat``). Every file starts with
the audit id, the report's ``generated_at``, the intel versions and the options used, carries a
comment saying why each entry is there, and is sorted, so the same audit and options always give
the same bytes and a new audit diffs cleanly against the last.

Formats: ``hosts``, ``dnsmasq``, ``unbound``, ``rpz`` (BIND), ``adblock`` (AdGuard Home,
Pi-hole), ``domains`` (plain list), ``nftables``, ``zeek-intel``, ``suricata``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phonehome.model import Report
from phonehome.outputs.blocklists.model import Blocklist, BlocklistOptions, Scope
from phonehome.outputs.blocklists.registry import BlocklistFormat

if TYPE_CHECKING:
    from phonehome.intel.loader import Intel
    from phonehome.outputs.blocklists.build import BlocklistError, build_blocklist, known_purposes

_LAZY = {"BlocklistError", "build_blocklist", "known_purposes"}
"""Names from ``build`` (which loads the intel schema), imported on first use so that the CLI
starts without them."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from phonehome.outputs.blocklists import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def render_blocklist(
    report: Report,
    fmt: BlocklistFormat,
    options: BlocklistOptions,
    audit_id: int | None = None,
    intel: Intel | None = None,
) -> tuple[str, Blocklist]:
    """The file text for ``fmt`` and the blocklist it was made from (for counts and warnings).

    ``intel`` defaults to the shipped intel data.
    """
    from phonehome.outputs.blocklists.build import build_blocklist

    if intel is None:
        from phonehome.intel.loader import default_intel

        intel = default_intel()
    blocklist = build_blocklist(report, intel, options, audit_id)
    return fmt.to_renderer().render(blocklist), blocklist


__all__ = [
    "Blocklist",
    "BlocklistError",
    "BlocklistFormat",
    "BlocklistOptions",
    "Scope",
    "build_blocklist",
    "known_purposes",
    "render_blocklist",
]
