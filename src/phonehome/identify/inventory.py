"""Builds the device inventory and per-device traffic from a stream of observations.

Observations arrive in any order (flows leave the meter when they expire, DNS answers when they
are seen), so this stage only accumulates while reading and decides who is who at the end:
which MACs are next hops (gateways), which addresses are local, and which side of each flow is
the device.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from phonehome.model import DeviceID
from phonehome.sources.interface import (
    DnsAnswer,
    FlowRecord,
    HostSighting,
    HostSignal,
    Observation,
    ServerName,
)

_SERVICE_PORTS = frozenset({53, 67, 68, 137, 138, 5353, 5355, 1900})
"""Ports whose flow 'server name' is a query or a client name, not the endpoint's own name."""
_MAX_NAMES = 8
_MAX_IPS = 32
_ROUTER_MIN_REMOTE_IPS = 4
MAX_FLOW_SAMPLES = 64
"""Flow start times kept per device-destination pair for periodicity and idle analysis."""
LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",  # RFC 1918
        "100.64.0.0/10",  # RFC 6598 shared address space (CGNAT)
        "169.254.0.0/16",
        "fe80::/10",  # link-local
        "fc00::/7",  # unique local
    )
)
"""Address ranges that are local to a site; documentation ranges are deliberately not here."""


def is_local_ip(ip: str, extra: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()) -> bool:
    """Private, link-local, ULA, CGNAT or user-declared addresses."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in extra) or any(addr in net for net in LOCAL_NETWORKS)


@functools.lru_cache(maxsize=65536)
def _is_local_cached(ip: str, extra: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    return is_local_ip(ip, extra)


@functools.lru_cache(maxsize=65536)
def is_unicast_ip(ip: str) -> bool:
    """Neither multicast, broadcast, unspecified nor loopback (cached: asked for every flow end)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if addr.is_multicast or addr.is_unspecified or addr.is_loopback:
        return False
    return not (addr.version == 4 and (ip == "255.255.255.255" or ip.endswith(".255")))


def is_unicast_mac(mac: str | None) -> bool:
    return bool(mac) and not (int(mac[:2], 16) & 0x01)  # type: ignore[index]


def is_randomised_mac(mac: str) -> bool:
    """Locally administered unicast MAC: set by software, not assigned by a manufacturer."""
    return bool(int(mac[:2], 16) & 0x02)


class PairTraffic:
    """Accumulated traffic between one device and one remote address.

    There can be hundreds of thousands of these on a large capture, so the class is slotted
    and its collections are created only when a flow has something to put in them.
    """

    __slots__ = (
        "bytes_out",
        "bytes_in",
        "flows",
        "first_seen",
        "last_seen",
        "_names",
        "_apps",
        "_ports",
        "_starts",
    )

    def __init__(self) -> None:
        self.bytes_out = 0
        self.bytes_in = 0
        self.flows = 0
        self.first_seen = float("inf")
        self.last_seen = 0.0
        self._names: dict[str, list[Any]] | None = None  # name -> [count, how it was learnt]
        self._apps: set[str] | None = None
        self._ports: set[str] | None = None
        self._starts: list[tuple[float, int]] | None = None  # (flow start, bytes sent), bounded

    @property
    def starts(self) -> list[tuple[float, int]]:
        """(start time, bytes sent by the device) of up to ``MAX_FLOW_SAMPLES`` flows, sorted.

        The first flows are kept as they arrive (consecutive flows are what a period is measured
        on); a pair with more flows keeps only its counters for the rest.
        """
        return sorted(self._starts or ())

    def add_start(self, start: float, sent: int) -> None:
        if self._starts is None:
            self._starts = []
        if len(self._starts) < MAX_FLOW_SAMPLES:
            self._starts.append((start, sent))

    @property
    def names(self) -> dict[str, int]:
        return {n: v[0] for n, v in (self._names or {}).items()}

    def name_kind(self, name: str) -> str:
        return str((self._names or {}).get(name, [0, "server_name"])[1])

    @property
    def applications(self) -> set[str]:
        return self._apps or set()

    @property
    def ports(self) -> set[str]:
        return self._ports or set()

    def add_name(self, name: str, kind: str, count: int = 1) -> None:
        if self._names is None:
            self._names = {}
        entry = self._names.get(name)
        if entry is None:
            if len(self._names) >= _MAX_NAMES:
                return
            self._names[name] = [count, kind]
        else:
            entry[0] += count

    def add_application(self, app: str) -> None:
        if self._apps is None:
            self._apps = set()
        self._apps.add(app)

    def add_port(self, port: str) -> None:
        if self._ports is None:
            self._ports = set()
        if len(self._ports) < _MAX_NAMES * 4:
            self._ports.add(port)

    def merge(self, other: PairTraffic, outbound: bool) -> None:
        """Add ``other`` seen from the device's side (``outbound``: the device started it)."""
        sent, received = (other.bytes_out, other.bytes_in) if outbound else (other.bytes_in, other.bytes_out)
        self.bytes_out += sent
        self.bytes_in += received
        self.flows += other.flows
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)
        for name, (count, kind) in (other._names or {}).items():
            self.add_name(name, kind, count)
        for app in other._apps or ():
            self.add_application(app)
        for start, sent in other._starts or ():
            self.add_start(start, sent if outbound else 0)
        if outbound:
            for port in other._ports or ():
                self.add_port(port)


@dataclass
class DeviceDraft:
    """What the capture says about one local host, before attribution."""

    id: DeviceID
    mac: str | None
    ips: set[str] = field(default_factory=set)
    signals: list[HostSignal] = field(default_factory=list)
    roles: set[str] = field(default_factory=set)
    bytes_out: int = 0
    bytes_in: int = 0
    sources: set[str] = field(default_factory=set)
    address_sources: dict[str, set[str]] = field(default_factory=dict)
    """IP or MAC -> the inputs that put it on this device."""
    first_seen: float = float("inf")
    last_seen: float = 0.0

    def add_ip(self, ip: str, source: str) -> None:
        if ip in self.ips or len(self.ips) < _MAX_IPS:
            self.ips.add(ip)
            self.note_address(ip, source)

    def note_address(self, address: str, source: str) -> None:
        sources = self.address_sources.setdefault(address, set())
        if len(sources) < _MAX_NAMES:
            sources.add(source)

    def seen(self, first: float | None, last: float | None) -> None:
        if first is not None:
            self.first_seen = min(self.first_seen, first)
        if last is not None:
            self.last_seen = max(self.last_seen, last)

    def absorb(self, other: DeviceDraft) -> None:
        """Take over everything ``other`` recorded (it was the same host seen without its MAC)."""
        for ip in other.ips:
            for source in other.address_sources.get(ip, ()):
                self.add_ip(ip, source)
        self.signals.extend(other.signals)
        self.roles |= other.roles
        self.bytes_out += other.bytes_out
        self.bytes_in += other.bytes_in
        self.sources |= other.sources
        self.seen(other.first_seen if other.first_seen != float("inf") else None, other.last_seen or None)


@dataclass(frozen=True)
class _Binding:
    mac: str
    first: float
    last: float
    source: str


class AddressBook:
    """Which MAC held which IP when, from ARP tables, leases, scans and registers.

    An IP reused over time (DHCP) maps to several MACs; a lookup picks the holder whose window
    overlaps the asked-for time the most, and gives up when the records cannot tell.
    """

    def __init__(self) -> None:
        self._by_ip: dict[str, list[_Binding]] = defaultdict(list)

    def add(self, ip: str, mac: str, first: float | None, last: float | None, source: str) -> None:
        bindings = self._by_ip[ip]
        lo = first if first is not None else float("-inf")
        hi = last if last is not None else float("inf")
        for i, b in enumerate(bindings):
            if b.mac == mac:
                bindings[i] = _Binding(mac, min(b.first, lo), max(b.last, hi), b.source)
                return
        if len(bindings) < _MAX_IPS:
            bindings.append(_Binding(mac, lo, hi, source))

    def __bool__(self) -> bool:
        return bool(self._by_ip)

    def mac_for(self, ip: str, first: float, last: float) -> str | None:
        bindings = self._by_ip.get(ip)
        if not bindings:
            return None
        if len(bindings) == 1:
            return bindings[0].mac
        scored = []
        for b in bindings:
            overlap = min(b.last, last) - max(b.first, first)
            if overlap >= 0:
                scored.append((overlap, b.mac))
        if not scored:
            return None
        scored.sort(reverse=True)
        if len(scored) > 1 and scored[0][0] == scored[1][0]:
            return None  # the records cannot tell which host held the address then
        return scored[0][1]


@dataclass
class Inventory:
    """Devices and their remote traffic, ready for attribution and destination analysis."""

    devices: dict[DeviceID, DeviceDraft]
    traffic: dict[tuple[DeviceID, str], PairTraffic]
    dns: dict[str, dict[str, set[str]]]
    """Address -> client IP ('' for anyone) -> names that resolved to it."""

    def merge(self, target: DeviceID, others: Iterable[DeviceID]) -> None:
        """Fold ``others`` into ``target`` (created if absent): inputs that describe one host."""
        others = [o for o in others if o != target and o in self.devices]
        if not others:
            return
        if target not in self.devices:
            self.devices[target] = DeviceDraft(id=target, mac=None)
        index = _TrafficIndex(self.traffic)
        for old in others:
            index.merge(self.devices, old, self.devices[target])


_FlowKey = tuple[str | None, str, str | None, str]


class InventoryBuilder:
    """Accumulates observations; ``build()`` resolves them into an ``Inventory``."""

    def __init__(self, local_nets: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network] = ()) -> None:
        self._local_nets = tuple(local_nets)
        self._flows: dict[_FlowKey, PairTraffic] = {}
        self._flow_sources: dict[_FlowKey, str] = {}
        self._user_agents: dict[tuple[str | None, str], set[tuple[str, str]]] = defaultdict(set)
        self._fingerprints: dict[tuple[str | None, str], set[tuple[str, str]]] = defaultdict(set)
        self._apps: dict[tuple[str | None, str], set[tuple[str, str]]] = defaultdict(set)
        self._served: dict[tuple[str | None, str], set[tuple[str, str]]] = defaultdict(set)
        self._signals: list[HostSignal] = []
        self._sightings: list[HostSighting] = []
        self._server_names: dict[tuple[str, str], PairTraffic] = {}
        self._server_name_sources: dict[str, set[str]] = defaultdict(set)
        self._dns: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._mac_remote_ips: dict[str, set[str]] = defaultdict(set)
        self._gateway_macs: set[str] = set()
        self._sighted_ips: set[str] = set()
        """IPs an inventory record (scan, lease, register) names as a host, local or not."""

    def _local(self, ip: str) -> bool:
        return _is_local_cached(ip, self._local_nets)

    def add(self, item: Observation) -> None:
        if isinstance(item, FlowRecord):
            self._add_flow(item)
        elif isinstance(item, DnsAnswer):
            names = self._dns[item.address][item.client_ip]
            if len(names) < _MAX_NAMES:
                names.add(item.name)
        elif isinstance(item, HostSignal):
            self._signals.append(item)
        elif isinstance(item, HostSighting):
            self._sightings.append(item)
            if item.ip and not item.mac:
                self._sighted_ips.add(item.ip)
        elif isinstance(item, ServerName):
            self._add_server_name(item)

    def _add_flow(self, f: FlowRecord) -> None:
        key = (f.src_mac, f.src_ip, f.dst_mac, f.dst_ip)
        agg = self._flows.get(key)
        if agg is None:
            agg = self._flows[key] = PairTraffic()
            self._flow_sources[key] = f.source
        agg.bytes_out += f.src_bytes
        agg.bytes_in += f.dst_bytes
        agg.flows += 1
        agg.first_seen = min(agg.first_seen, f.first_seen)
        agg.last_seen = max(agg.last_seen, f.last_seen)
        agg.add_start(f.first_seen, f.src_bytes)
        proto = {6: "tcp", 17: "udp"}.get(f.protocol, str(f.protocol))
        agg.add_port(f"{proto}/{f.dst_port}")
        if f.application:
            agg.add_application(f.application)
        service = f.dst_port in _SERVICE_PORTS or f.src_port in _SERVICE_PORTS
        if f.server_name and not service:
            agg.add_name(f.server_name.lower().rstrip("."), _name_kind(f))
        # DHCP names come from the side pass: the meter merges every client's 0.0.0.0 -> broadcast
        # request into one flow, so its hostname would be pinned on the first client only.
        if f.user_agent:
            self._user_agents[(f.src_mac, f.src_ip)].add((f.user_agent[:300], f.source))
        # Only bare protocols (TuyaLP, RTSP, ...) say something about the device itself;
        # "TLS.Google"-style names describe the remote service and live in the destinations.
        if f.application and f.application != "Unknown" and "." not in f.application:
            apps = self._apps[(f.src_mac, f.src_ip)]
            if len(apps) < _MAX_NAMES * 4:
                apps.add((f.application, f.source))
            if is_unicast_ip(f.dst_ip) and f.dst_bytes > 0:
                served = self._served[(f.dst_mac, f.dst_ip)]
                if len(served) < _MAX_NAMES:
                    served.add((f.application, f.source))
        if f.client_fingerprint and f.dst_port not in (67, 68):
            self._fingerprints[(f.src_mac, f.src_ip)].add((f.client_fingerprint, f.source))
        src_local, dst_local = self._local(f.src_ip), self._local(f.dst_ip)
        # The MAC that carries a local host's traffic to a remote address is a next hop.
        if src_local and not dst_local and f.dst_mac and is_unicast_ip(f.dst_ip):
            self._gateway_macs.add(f.dst_mac)
        if dst_local and not src_local and f.src_mac and is_unicast_ip(f.src_ip):
            self._gateway_macs.add(f.src_mac)
        for mac, ip, local in ((f.src_mac, f.src_ip, src_local), (f.dst_mac, f.dst_ip, dst_local)):
            if mac and not local:
                ips = self._mac_remote_ips[mac]
                if len(ips) < _ROUTER_MIN_REMOTE_IPS:
                    ips.add(ip)

    def _add_server_name(self, item: ServerName) -> None:
        """Each log line that names a server is one connection, counted when no flow covers it."""
        key = (item.client_ip, item.server_ip)
        agg = self._server_names.get(key)
        if agg is None:
            agg = self._server_names[key] = PairTraffic()
            sources = self._server_name_sources[item.client_ip]
            if len(sources) < _MAX_NAMES:
                sources.add(item.source)
        agg.flows += 1
        agg.first_seen = min(agg.first_seen, item.time)
        agg.last_seen = max(agg.last_seen, item.time)
        if item.name:
            agg.add_name(item.name.lower().rstrip("."), item.kind)

    def _is_gateway(self, mac: str | None) -> bool:
        if not mac:
            return False
        return mac in self._gateway_macs or (len(self._mac_remote_ips.get(mac, ())) >= _ROUTER_MIN_REMOTE_IPS)

    def _device_end(self, mac: str | None, ip: str) -> DeviceID | None:
        """The device a flow end belongs to, or None when the end is remote or not unicast."""
        if mac and not is_unicast_mac(mac):
            return None
        if not is_unicast_ip(ip) and ip != "0.0.0.0":
            return None
        if mac is None and ip in self._sighted_ips:
            return DeviceID(f"ip:{ip}")
        if mac and not self._is_gateway(mac):
            return DeviceID(f"mac:{mac}")
        if self._local(ip) and ip != "0.0.0.0":
            return DeviceID(f"mac:{mac}") if mac else DeviceID(f"ip:{ip}")
        return None

    def build(self) -> Inventory:
        devices: dict[DeviceID, DeviceDraft] = {}
        traffic: dict[tuple[DeviceID, str], PairTraffic] = {}
        ip_owner: dict[str, DeviceID] = {}

        def device(dev_id: DeviceID, mac: str | None) -> DeviceDraft:
            draft = devices.get(dev_id)
            if draft is None:
                draft = devices[dev_id] = DeviceDraft(id=dev_id, mac=mac)
            return draft

        for key, agg in self._flows.items():
            src_mac, src_ip, dst_mac, dst_ip = key
            source = self._flow_sources[key]
            src_dev, dst_dev = self._device_end(src_mac, src_ip), self._device_end(dst_mac, dst_ip)
            for dev_id, mac, ip in ((src_dev, src_mac, src_ip), (dst_dev, dst_mac, dst_ip)):
                if dev_id is None:
                    continue
                draft = device(dev_id, mac)
                draft.sources.add(source)
                draft.seen(agg.first_seen, agg.last_seen)
                if ip != "0.0.0.0" and is_unicast_ip(ip) and len(draft.ips) < _MAX_IPS:
                    if self._local(ip) or not self._is_gateway(mac):
                        draft.add_ip(ip, source)
                        ip_owner.setdefault(ip, dev_id)
            if src_dev and dst_dev:
                continue  # local traffic: not a destination
            if src_dev and is_unicast_ip(dst_ip):
                self._add_pair(traffic, devices[src_dev], dst_ip, agg, outbound=True)
            elif dst_dev and is_unicast_ip(src_ip):
                self._add_pair(traffic, devices[dst_dev], src_ip, agg, outbound=False)
            elif not src_dev and not dst_dev and is_unicast_ip(src_ip) and is_unicast_ip(dst_ip):
                # Neither end looks local (e.g. a capture of transit traffic): the initiator
                # is treated as the device.
                dev_id = DeviceID(f"mac:{src_mac}") if src_mac else DeviceID(f"ip:{src_ip}")
                draft = device(dev_id, src_mac)
                draft.add_ip(src_ip, source)
                draft.sources.add(source)
                self._add_pair(traffic, draft, dst_ip, agg, outbound=True)

        for mac in sorted(self._gateway_macs):
            if is_unicast_mac(mac):
                draft = device(DeviceID(f"mac:{mac}"), mac)
                draft.roles.add("gateway")
        book = self._attach_sightings(devices, ip_owner)
        for signal in self._signals:
            # A host announcing itself with both addresses (DHCP, mDNS, ARP) binds them, so flows
            # from captures without Ethernet headers join the MAC-identified device.
            if signal.mac and signal.ip and is_unicast_mac(signal.mac) and self._local(signal.ip):
                if is_unicast_ip(signal.ip) and signal.ip != "0.0.0.0":
                    book.add(signal.ip, signal.mac, None, None, signal.source)
        self._attach_server_names(devices, traffic, ip_owner)
        self._attach_signals(devices, ip_owner)
        if book:
            self._merge_by_address(devices, traffic, ip_owner, book)
        self._merge_by_hostname(devices, traffic)
        for draft in devices.values():
            if draft.mac and is_randomised_mac(draft.mac):
                draft.roles.add("randomised-mac")
            if draft.mac:
                for source in draft.sources:
                    draft.note_address(draft.mac, source)
        return Inventory(devices=devices, traffic=traffic, dns=self._dns)

    def _attach_sightings(
        self, devices: dict[DeviceID, DeviceDraft], ip_owner: dict[str, DeviceID]
    ) -> AddressBook:
        """Hosts that inventory records name, and the MAC<->IP bindings they state."""
        book = AddressBook()
        for s in self._sightings:
            mac = s.mac if s.mac and is_unicast_mac(s.mac) else None
            if mac is None and s.mac:
                continue  # a multicast or broadcast entry names no host
            if mac and s.ip and is_unicast_ip(s.ip):
                book.add(s.ip, mac, s.first_seen, s.last_seen, s.source)
            if mac:
                dev_id = DeviceID(f"mac:{mac}")
            elif s.ip and is_unicast_ip(s.ip):
                dev_id = ip_owner.get(s.ip) or DeviceID(f"ip:{s.ip}")
            elif s.hostname:
                dev_id = DeviceID(f"name:{s.hostname.lower()}")
            else:
                continue
            draft = devices.get(dev_id)
            if draft is None:
                draft = devices[dev_id] = DeviceDraft(id=dev_id, mac=mac)
            draft.sources.add(s.source)
            draft.seen(s.first_seen, s.last_seen)
            if s.ip and is_unicast_ip(s.ip):
                draft.add_ip(s.ip, s.source)
                ip_owner.setdefault(s.ip, dev_id)
            if s.hostname:
                draft.signals.append(HostSignal(mac, s.ip, "hostname", s.hostname, s.source))
        return book

    def _attach_server_names(
        self,
        devices: dict[DeviceID, DeviceDraft],
        traffic: dict[tuple[DeviceID, str], PairTraffic],
        ip_owner: dict[str, DeviceID],
    ) -> None:
        for (client_ip, server_ip), named in self._server_names.items():
            dev_id = ip_owner.get(client_ip)
            if dev_id is None:
                if not (self._local(client_ip) and is_unicast_ip(client_ip)):
                    continue
                dev_id = DeviceID(f"ip:{client_ip}")
                devices.setdefault(dev_id, DeviceDraft(id=dev_id, mac=None))
                ip_owner[client_ip] = dev_id
            draft = devices[dev_id]
            for source in self._server_name_sources.get(client_ip, ()):
                draft.add_ip(client_ip, source)
                draft.sources.add(source)
            pair = traffic.get((dev_id, server_ip))
            if pair is None:
                traffic[(dev_id, server_ip)] = named
            else:
                for name, kind in ((n, named.name_kind(n)) for n in named.names):
                    pair.add_name(name, kind, named.names[name])

    def _merge_by_address(
        self,
        devices: dict[DeviceID, DeviceDraft],
        traffic: dict[tuple[DeviceID, str], PairTraffic],
        ip_owner: dict[str, DeviceID],
        book: AddressBook,
    ) -> None:
        """A host seen only by IP becomes the MAC device that held that IP at the time."""
        index = _TrafficIndex(traffic)
        for dev_id in sorted(d for d in devices if d.startswith("ip:")):
            draft = devices[dev_id]
            first, last = draft.first_seen, draft.last_seen
            if first == float("inf"):
                first, last = float("-inf"), float("inf")
            mac = book.mac_for(dev_id[3:], first, last)
            if mac is None:
                continue
            target_id = DeviceID(f"mac:{mac}")
            target = devices.get(target_id)
            if target is None:
                target = devices[target_id] = DeviceDraft(id=target_id, mac=mac)
            index.merge(devices, dev_id, target)
            ip_owner[dev_id[3:]] = target_id

    @staticmethod
    def _merge_by_hostname(
        devices: dict[DeviceID, DeviceDraft], traffic: dict[tuple[DeviceID, str], PairTraffic]
    ) -> None:
        """A host known only by IP or name joins the one MAC-identified host with the same name."""
        by_name: dict[str, set[DeviceID]] = defaultdict(set)
        for draft in devices.values():
            if draft.mac:
                for name in _host_names(draft):
                    by_name[name].add(draft.id)
        index: _TrafficIndex | None = None
        for dev_id in sorted(d for d in devices if not d.startswith("mac:")):
            draft = devices[dev_id]
            candidates = set().union(*(by_name.get(n, set()) for n in _host_names(draft)))
            if len(candidates) == 1:
                index = index or _TrafficIndex(traffic)
                index.merge(devices, dev_id, devices[candidates.pop()])

    @staticmethod
    def _add_pair(
        traffic: dict[tuple[DeviceID, str], PairTraffic],
        draft: DeviceDraft,
        remote_ip: str,
        agg: PairTraffic,
        outbound: bool,
    ) -> None:
        pair = traffic.get((draft.id, remote_ip))
        if pair is None:
            pair = traffic[(draft.id, remote_ip)] = PairTraffic()
        before_out, before_in = pair.bytes_out, pair.bytes_in
        pair.merge(agg, outbound)
        draft.bytes_out += pair.bytes_out - before_out
        draft.bytes_in += pair.bytes_in - before_in

    def _attach_signals(self, devices: dict[DeviceID, DeviceDraft], ip_owner: dict[str, DeviceID]) -> None:
        def owner(mac: str | None, ip: str | None) -> DeviceDraft | None:
            if mac and is_unicast_mac(mac):
                dev_id = DeviceID(f"mac:{mac}")
                if dev_id not in devices:
                    devices[dev_id] = DeviceDraft(id=dev_id, mac=mac)
                return devices[dev_id]
            if ip and ip in ip_owner:
                return devices[ip_owner[ip]]
            if ip and self._local(ip) and is_unicast_ip(ip):
                dev_id = DeviceID(f"ip:{ip}")
                return devices.setdefault(dev_id, DeviceDraft(id=dev_id, mac=None))
            return None

        named = {
            (s.source, s.hostname.lower()): DeviceID(f"name:{s.hostname.lower()}")
            for s in self._sightings
            if s.hostname and not s.mac and not s.ip
        }
        for signal in self._signals:
            if signal.mac is None and signal.ip is None:
                dev_id = named.get((signal.source, (signal.host or "").lower()))
                if dev_id is not None and dev_id in devices:
                    devices[dev_id].signals.append(signal)
                continue
            draft = owner(signal.mac, signal.ip)
            if draft is None:
                continue
            if signal.ip and self._local(signal.ip):
                draft.add_ip(signal.ip, signal.source)
            if signal.kind == "dhcp_server":
                draft.roles.add("dhcp-server")
            draft.signals.append(signal)
            draft.sources.add(signal.source)
        tables = (
            (self._user_agents, "user_agent"),
            (self._fingerprints, "tls_ja4"),
            (self._apps, "ndpi_application"),
            (self._served, "ndpi_served"),
        )
        for table, kind in tables:
            for (mac, ip), values in table.items():
                draft = owner(mac, ip) if (mac and not self._is_gateway(mac)) or self._local(ip) else None
                if draft is None:
                    continue
                for value, source in sorted(values):
                    draft.signals.append(HostSignal(mac, ip, kind, value, source))


_NAME_KINDS = frozenset({"hostname", "dhcp_hostname", "mdns_name"})


def _host_names(draft: DeviceDraft) -> set[str]:
    """Short names a host goes by: lower-case, without domain suffix."""
    return {s.value.lower().split(".")[0] for s in draft.signals if s.kind in _NAME_KINDS and s.value}


class _TrafficIndex:
    """Remote addresses per device, so folding one device into another touches only its pairs."""

    def __init__(self, traffic: dict[tuple[DeviceID, str], PairTraffic]) -> None:
        self._traffic = traffic
        self._remotes: dict[DeviceID, list[str]] = defaultdict(list)
        for dev_id, remote in traffic:
            self._remotes[dev_id].append(remote)

    def merge(self, devices: dict[DeviceID, DeviceDraft], old_id: DeviceID, target: DeviceDraft) -> None:
        """Fold device ``old_id`` into ``target``; byte totals are recomputed from the pairs."""
        old = devices.pop(old_id)
        old.bytes_out = old.bytes_in = 0
        target.absorb(old)
        for remote in self._remotes.pop(old_id, []):
            pair = self._traffic.pop((old_id, remote))
            existing = self._traffic.get((target.id, remote))
            if existing is None:
                self._traffic[(target.id, remote)] = pair
                self._remotes[target.id].append(remote)
            else:
                existing.merge(pair, outbound=True)
            target.bytes_out += pair.bytes_out
            target.bytes_in += pair.bytes_in


def _name_kind(f: FlowRecord) -> str:
    app = (f.application or "").upper()
    if app.startswith("HTTP") or f.dst_port == 80:
        return "http_host"
    if app.startswith(("TLS", "QUIC")) or f.dst_port in (443, 8443, 853):
        return "tls_sni"
    return "server_name"
