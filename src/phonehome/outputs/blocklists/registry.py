"""Blocklist formats by ``--format`` name."""

from __future__ import annotations

import enum
from typing import assert_never

from phonehome.outputs.blocklists.adblock import AdblockRenderer, PlainRenderer
from phonehome.outputs.blocklists.common import BlocklistRenderer
from phonehome.outputs.blocklists.dnsmasq import DnsmasqRenderer
from phonehome.outputs.blocklists.hosts import HostsRenderer
from phonehome.outputs.blocklists.nftables import NftablesRenderer
from phonehome.outputs.blocklists.rpz import RpzRenderer
from phonehome.outputs.blocklists.suricata import SuricataRenderer
from phonehome.outputs.blocklists.unbound import UnboundRenderer
from phonehome.outputs.blocklists.zeek import ZeekIntelRenderer


class BlocklistFormat(enum.StrEnum):
    """Values of ``phonehome blocklist --format``."""

    hosts = "hosts"
    dnsmasq = "dnsmasq"
    unbound = "unbound"
    rpz = "rpz"
    adblock = "adblock"
    domains = "domains"
    nftables = "nftables"
    zeek_intel = "zeek-intel"
    suricata = "suricata"

    def to_renderer(self) -> BlocklistRenderer:
        if self is BlocklistFormat.hosts:
            return HostsRenderer()
        if self is BlocklistFormat.dnsmasq:
            return DnsmasqRenderer()
        if self is BlocklistFormat.unbound:
            return UnboundRenderer()
        if self is BlocklistFormat.rpz:
            return RpzRenderer()
        if self is BlocklistFormat.adblock:
            return AdblockRenderer()
        if self is BlocklistFormat.domains:
            return PlainRenderer()
        if self is BlocklistFormat.nftables:
            return NftablesRenderer()
        if self is BlocklistFormat.zeek_intel:
            return ZeekIntelRenderer()
        if self is BlocklistFormat.suricata:
            return SuricataRenderer()
        assert_never(self)
