"""Zeek logs in either of Zeek's formats: tab-separated with ``#`` headers, or JSON lines.

What each log becomes (field names as Zeek 5.x-7.x write them):

* ``conn``: one ``FlowRecord`` per connection. Bytes are IP-layer (``orig_ip_bytes``) when
  logged, else payload bytes; MACs come from ``orig_l2_addr``/``resp_l2_addr`` when the
  ``mac-logging`` policy is loaded; ``application`` is Zeek's ``service``.
* ``dns``: a ``DnsAnswer`` per answer that is an IP address (A/AAAA), for the query name.
* ``ssl`` and ``quic``: ``ServerName`` (``tls_sni``) from ``server_name``. ``subject`` and
  ``issuer`` (logged by default before Zeek 6, since then with
  ``SSL::log_include_server_certificate_subject_issuer``) become ``tls_subject``/``tls_issuer``
  signals of the server, ``client_subject``/``client_issuer`` of the client; ``ja4`` (FoxIO's
  package) a ``tls_ja4`` signal of the client.
* ``x509``: the log names no host, only the certificate's ``fingerprint`` (a file ``id`` in
  older versions) that ``ssl.log`` refers to. Joining the two logs is out of scope for a reader
  of one file, so a certificate is used only when its record carries a host address itself
  (``id.resp_h``, ``host`` or ``server_ip``, added by site scripts); other host certificates are
  counted as read, nothing is emitted, and the summary says how many and why. CA certificates
  (``host_cert`` false) are never used: they name the CA, not the host.
* ``known_certs``: ``tls_subject``/``tls_issuer`` signals of ``host``.
* ``http``: ``ServerName`` (``http_host``) from ``host`` and a ``user_agent`` signal of the client.
* ``dhcp``: a ``dhcp_lease`` sighting (MAC, assigned or client address, lease window, name) and
  ``dhcp_hostname``/``hostname`` (``client_fqdn``) signals; ``client_software``/``vendor_class``
  (policy scripts) give ``dhcp_vendor_class``, ``params``/``client_params`` give ``dhcp_prl``.
  Zeek 2.x's ``assigned_ip`` is read too.
* ``software``: signals of ``host``: ``HTTP::BROWSER`` -> ``user_agent``, ``HTTP::SERVER`` and
  ``HTTP::APPSERVER`` -> ``http_server``, ``SSH::SERVER`` -> ``ssh_banner`` (Zeek strips the
  ``SSH-2.0-`` prefix), ``FTP::SERVER`` -> ``ftp_banner``, ``DHCP::CLIENT`` ->
  ``dhcp_vendor_class``; other software types are not used.
* ``known_hosts``/``known_devices``: ``zeek`` sightings (address, or MAC with its DHCP name);
  ``known_services``: ``open_port`` signals such as ``tcp/80 http``.
* Any other log (weird, files, notice, ...) is read and counted; nothing is emitted and the
  summary notes "no evidence phonehome uses".

The format is sniffed from the content. JSON records without ``_path`` get their log type from
their keys; ``ts`` may be epoch seconds, epoch milliseconds or ISO 8601 (``JSON::TS_ISO8601``).
TSV files may hold several header blocks (concatenated logs); each ``#fields`` line re-indexes.

Memory stays bounded: records are streamed, and host signals (user agents, banners, subjects)
are de-duplicated through a set of at most ``MAX_REMEMBERED_SIGNALS`` entries that is emptied
when full, so a log with millions of requests from one client yields one signal per user agent.

Lines that cannot be used (wrong field count, non-numeric ``ts``, bad numbers, not JSON) are
skipped, counted in ``InputSummary.skipped`` and summarised per reason in its ``errors``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from types import MemberDescriptorType
from typing import Any, TypeVar

from phonehome.macaddr import normalise_mac as _parse_mac
from phonehome.model import InputSummary
from phonehome.sources.interface import (
    DnsAnswer,
    FlowRecord,
    HostSighting,
    HostSignal,
    Item,
    Observation,
    ProgressCallback,
    ServerName,
    SourceError,
)
from phonehome.sources.textfile import TextInput, head_text, open_text

MAX_REMEMBERED_SIGNALS = 100_000
"""Host signals remembered for de-duplication; the set is emptied when it reaches this size."""
MAX_VALUE_CHARS = 300
"""Signal values (user agents, banners, certificate names) are cut to this length."""
_PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1}
_ICMPV6 = 58
_HEADER_DIRECTIVES = ("#separator", "#fields", "#path", "#set_separator", "#unset_field", "#empty_field")
_ESCAPES = re.compile(r"(?:\\x[0-9a-fA-F]{2})+")
_CACHE_LIMIT = 4096
"""Distinct ``service`` and MAC strings whose conversion a conn.log read remembers."""
_MILLIS_ABOVE = 1e11
"""Epoch values above this are milliseconds (``JSON::TS_MILLIS``); seconds reach it in 5138."""

_T = TypeVar("_T")
Record = dict[str, Any]
"""One log record: field name -> str (TSV), JSON value, or list (sets and vectors)."""


class _Skip(ValueError):
    """A record that cannot be used; the message is the reason shown in the summary."""


# ---------------------------------------------------------------------------------------------
# Values


def _unescape(text: str) -> str:
    """Zeek writes non-printable bytes as ``\\xNN``; runs of them are UTF-8 sequences."""
    if "\\x" not in text:
        return text
    return _ESCAPES.sub(
        lambda m: bytes.fromhex(m.group().replace("\\x", "")).decode("utf-8", "replace"), text
    )


def _text(value: Any) -> str | None:
    """A string field as text, or None when unset or empty."""
    if value is None:
        return None
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    text = _unescape(str(value)).strip()
    return text[:MAX_VALUE_CHARS] or None


def _time(value: Any) -> float:
    """Epoch seconds from a Zeek time: ``1700000000.123456``, epoch ms, or ISO 8601."""
    if value is None or isinstance(value, bool):
        raise _Skip("bad timestamp")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise _Skip("bad timestamp") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise _Skip("bad timestamp")
    return seconds / 1000.0 if seconds > _MILLIS_ABOVE else seconds


def _count(value: Any) -> int:
    """A count or port; unset is 0."""
    if value is None or value == "":
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            raise _Skip("bad number") from None


def _interval(value: Any) -> float:
    if value is None or value == "":
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _Skip("bad number") from None


def _truthy(value: Any) -> bool | None:
    """A Zeek bool (``T``/``F`` in TSV, true/false in JSON); None when unset."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    return str(value) in ("T", "true", "1")


def _ip(value: Any) -> str | None:
    """An address field as text, None when unset."""
    if value is None or value == "":
        return None
    return str(value)


def _is_ip(text: str) -> bool:
    if not text or not (text[0].isdigit() or ":" in text):
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _items(value: Any) -> list[str]:
    """A set or vector field as a list of strings."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v for v in str(value).split(",") if v]


def normalise_mac(value: Any) -> str | None:
    """The shared parser for any JSON value; Zeek's all-zero placeholder is no MAC."""
    if not value:
        return None
    mac = _parse_mac(str(value))
    return None if mac == "00:00:00:00:00:00" else mac


def _service(value: Any) -> str | None:
    """Zeek's ``service``; protocols DPD removed again (``-ssl``) are dropped."""
    if not value:
        return None
    names = value if isinstance(value, list) else str(value).split(",")
    kept = [n for n in names if n and not n.startswith("-")]
    return ",".join(kept) or None


def _protocol(name: Any, src_ip: str, ip_proto: Any) -> int:
    number = _PROTOCOLS.get(str(name), 0)
    if number == 1 and ":" in src_ip:
        return _ICMPV6
    if not number and ip_proto is not None:
        return _count(ip_proto)
    return number


def _host_only(value: str) -> str:
    """An HTTP Host header without its port (IPv6 literals keep their brackets)."""
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else value
    host, sep, port = value.rpartition(":")
    return host if sep and port.isdigit() and ":" not in host else value


def _slot_constructor(cls: type[_T]) -> Callable[..., _T]:
    """A positional constructor for a frozen, slotted dataclass that fills the slots directly.

    The generated ``__init__`` of a frozen dataclass stores every field through
    ``object.__setattr__``, which costs about half of the time spent on a conn.log line. This
    one calls each slot's descriptor instead: same object, same checks on read, two to three
    times faster. Falls back to the class itself if it is not a plain slotted dataclass.
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    slots = [cls.__dict__.get(f.name) for f in fields]
    setters = {
        f.name: s.__set__ for f, s in zip(fields, slots, strict=True) if isinstance(s, MemberDescriptorType)
    }
    if hasattr(cls, "__post_init__") or len(setters) != len(fields):
        return cls
    if any(f.default_factory is not dataclasses.MISSING for f in fields):
        return cls
    params = ", ".join(
        f.name if f.default is dataclasses.MISSING else f"{f.name}=_d_{f.name}" for f in fields
    )
    body = "".join(f"    _set_{name}(self, {name})\n" for name in setters)
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    namespace.update({f"_d_{f.name}": f.default for f in fields})
    namespace.update({f"_set_{name}": setter for name, setter in setters.items()})
    exec(f"def make({params}):\n    self = _new(_cls)\n{body}    return self\n", namespace)
    make: Callable[..., _T] = namespace["make"]
    return make


_new_flow = _slot_constructor(FlowRecord)


# ---------------------------------------------------------------------------------------------
# Per-file state


class _Recent:
    """A bounded set of keys already emitted: emptied when full, so memory stays bounded."""

    def __init__(self, limit: int | None = None) -> None:
        self._seen: set[tuple[Any, ...]] = set()
        self._limit = limit or MAX_REMEMBERED_SIGNALS

    def __len__(self) -> int:
        return len(self._seen)

    def first(self, key: tuple[Any, ...]) -> bool:
        if key in self._seen:
            return False
        if len(self._seen) >= self._limit:
            self._seen.clear()
        self._seen.add(key)
        return True


@dataclass
class _State:
    """What one read of one file has seen so far."""

    source: str
    records: int = 0
    skipped: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Reason -> (count, first line number)."""
    paths: list[str] = field(default_factory=list)
    """Log types in order of appearance."""
    unused: set[str] = field(default_factory=set)
    hostless_certs: int = 0
    recent: _Recent = field(default_factory=_Recent)

    def skip(self, reason: str, line: int) -> None:
        count, first = self.skipped.get(reason, (0, line))
        self.skipped[reason] = (count + 1, first)

    def seen_path(self, path: str) -> None:
        if path not in self.paths:
            self.paths.append(path)

    def signal(self, mac: str | None, ip: str | None, kind: str, value: Any) -> Iterator[HostSignal]:
        text = _text(value)
        if text and (mac or ip) and self.recent.first((mac, ip, kind, text)):
            yield HostSignal(mac=mac, ip=ip, kind=kind, value=text, source=self.source)

    def errors(self) -> list[str]:
        out = []
        for reason, (count, first) in sorted(self.skipped.items(), key=lambda kv: kv[1][1]):
            lines = "line" if count == 1 else "lines"
            out.append(f"{count} {lines} skipped: {reason} (first at line {first})")
        out.extend(
            f"zeek {path} log: no evidence phonehome uses" for path in self.paths if path in self.unused
        )
        if self.hostless_certs:
            count = self.hostless_certs
            out.append(
                f"zeek x509 log: {count} host {'certificate' if count == 1 else 'certificates'} not used: "
                "x509.log names no host address (set SSL::log_include_server_certificate_subject_issuer "
                "to have subjects and issuers in ssl.log)"
            )
        return out


# ---------------------------------------------------------------------------------------------
# Log types: the fields each one reads and what a record becomes

Emit = Callable[[Record, float, _State], Iterator[Observation]]


def _conn(rec: Record, ts: float, st: _State) -> Iterator[Observation]:
    src, dst = _ip(rec.get("id.orig_h")), _ip(rec.get("id.resp_h"))
    if not src or not dst:
        raise _Skip("no id.orig_h/id.resp_h")
    src_bytes = rec.get("orig_ip_bytes")
    dst_bytes = rec.get("resp_ip_bytes")
    yield FlowRecord(
        src_mac=normalise_mac(rec.get("orig_l2_addr")),
        src_ip=src,
        dst_mac=normalise_mac(rec.get("resp_l2_addr")),
        dst_ip=dst,
        protocol=_protocol(rec.get("proto"), src, rec.get("ip_proto")),
        src_port=_count(rec.get("id.orig_p")),
        dst_port=_count(rec.get("id.resp_p")),
        src_bytes=_count(rec.get("orig_bytes") if src_bytes is None else src_bytes),
        dst_bytes=_count(rec.get("resp_bytes") if dst_bytes is None else dst_bytes),
        first_seen=ts,
        last_seen=ts + _interval(rec.get("duration")),
        server_name=None,
        application=_service(rec.get("service")),
        user_agent=None,
        client_fingerprint=None,
        source=st.source,
    )


def _dns(rec: Record, ts: float, st: _State) -> Iterator[Observation]:
    name = _text(rec.get("query"))
    client = _ip(rec.get("id.orig_h"))
    if not name or not client:
        return
    for answer in _items(rec.get("answers")):
        if _is_ip(answer):
            yield DnsAnswer(client_ip=client, name=name, address=answer, time=ts, source=st.source)


def _ssl(rec: Record, ts: float, st: _State) -> Iterator[Observation]:
    client, server = _ip(rec.get("id.orig_h")), _ip(rec.get("id.resp_h"))
    name = _text(rec.get("server_name"))
    if name and client and server:
        yield ServerName(
            client_ip=client, server_ip=server, name=name, kind="tls_sni", time=ts, source=st.source
        )
    yield from st.signal(None, server, "tls_subject", rec.get("subject"))
    yield from st.signal(None, server, "tls_issuer", rec.get("issuer"))
    yield from st.signal(None, client, "tls_subject", rec.get("client_subject"))
    yield from st.signal(None, client, "tls_issuer", rec.get("client_issuer"))
    yield from st.signal(None, client, "tls_ja4", rec.get("ja4"))


def _x509(rec: Record, ts: float, st: _State) -> Iterator[Observation]:
    if _truthy(rec.get("host_cert")) is False:
        return  # a CA certificate from the chain: it names the CA, not the host
    if _truthy(rec.get("client_cert")):
        host = _ip(rec.get("id.orig_h"))
    else:
        host = _ip(rec.get("id.resp_h")) or _ip(rec.get("host")) or _ip(rec.get("server_ip"))
    if not host:
        st.hostless_certs += 1
        return
    yield from st.signal(None, host, "tls_subject", rec.get("certificate.subject"))
    yield from st.signal(None, host, "tls_issuer", rec.get("certificate.issuer"))


def _known_certs(rec: Record, ts: float, st: _State) -> Iterator[Observation]:
    host = _ip(rec.get("host"))
    yield from st.signal(None, host, "tls_subject", rec.get("subject"))
    yield from st.signal(None, host, "tls_issuer", rec.get("issuer_subject"))


def _http(rec: Record, ts: float, st: _State) -> Iterator[Observation]:
    client, server = _ip(rec.get("id.orig_h")), _ip(rec.get("id.resp_h"))
    host = _text(rec.get("host"))
    if host and client and server:
        yield ServerName(
            client_ip=client,
            server_ip=server,
            name=_host_only(host),
            kind="http_host",
            time=ts,
            source=st.source,
        )
    yield from st.signal(None, client, "user_agent", rec.get("user_agent"))


def _dhcp(rec: Record, ts: float, st: _State) -> Iterator[Observation]:
    mac = normalise_mac(rec.get("mac"))
    ip = _ip(rec.get("assigned_addr")) or _ip(rec.get("assigned_ip")) or _ip(rec.get("client_addr"))
    if ip == "0.0.0.0":
        ip = None
    host_name = _text(rec.get("host_name"))
    fqdn = _text(rec.get("client_fqdn"))
    if mac or ip:
        lease = rec.get("lease_time")
        yield HostSighting(
            mac=mac,
            ip=ip,
            kind="dhcp_lease",
            source=st.source,
            first_seen=ts,
            last_seen=ts + _interval(lease) if lease is not None else None,
            hostname=host_name or fqdn,
        )
    yield from st.signal(mac, ip, "dhcp_hostname", host_name)
    yield from st.signal(mac, ip, "hostname", fqdn)
    yield from st.signal(mac, ip, "dhcp_vendor_class", rec.get("client_software") or rec.get("vendor_class"))
    params = rec.get("params", rec.get("client_params"))
    if params is not None:
        yield from st.signal(mac, ip, "dhcp_prl", ",".join(_items(params)))


_SOFTWARE_KINDS = {
    "HTTP::BROWSER": "user_agent",
    "HTTP::SERVER": "http_server",
    "HTTP::APPSERVER": "http_server",
    "SSH::SERVER": "ssh_banner",
    "FTP::SERVER": "ftp_banner",
    "DHCP::CLIENT": "dhcp_vendor_class",
}


def _software(rec: Record, ts: float, st: _State) -> Iterator[Observation]:
    kind = _SOFTWARE_KINDS.get(str(rec.get("software_type")))
    if kind:
        yield from st.signal(None, _ip(rec.get("host")), kind, rec.get("unparsed_version") or rec.get("name"))


def _known_hosts(rec: Record, ts: float, st: _State) -> Iterator[Observation]:
    host = _ip(rec.get("host"))
    if host:
        yield HostSighting(mac=None, ip=host, kind="zeek", source=st.source, first_seen=ts)


def _known_devices(rec: Record, ts: float, st: _State) -> Iterator[Observation]:
    mac = normalise_mac(rec.get("mac"))
    if not mac:
        return
    name = _text(rec.get("dhcp_host_name"))
    yield HostSighting(mac=mac, ip=None, kind="zeek", source=st.source, first_seen=ts, hostname=name)
    yield from st.signal(mac, None, "dhcp_hostname", name)


def _known_services(rec: Record, ts: float, st: _State) -> Iterator[Observation]:
    port = rec.get("port_num")
    if port is None:
        return
    proto = _text(rec.get("port_proto")) or "tcp"
    services = ",".join(s.lower() for s in _items(rec.get("service")) if s)
    value = f"{proto}/{_count(port)}" + (f" {services}" if services else "")
    yield from st.signal(None, _ip(rec.get("host")), "open_port", value)


@dataclass(frozen=True)
class _LogType:
    fields: tuple[str, ...]
    """Columns the mapping reads (besides ``ts``)."""
    emit: Emit | None
    """None: a log phonehome has no use for."""


_CONN_FIELDS = (
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "orig_ip_bytes",
    "resp_ip_bytes",
    "orig_l2_addr",
    "resp_l2_addr",
    "ip_proto",
)
LOG_TYPES: dict[str, _LogType] = {
    "conn": _LogType(_CONN_FIELDS, _conn),
    "dns": _LogType(("id.orig_h", "query", "answers"), _dns),
    "ssl": _LogType(
        (
            "id.orig_h",
            "id.resp_h",
            "server_name",
            "subject",
            "issuer",
            "client_subject",
            "client_issuer",
            "ja4",
        ),
        _ssl,
    ),
    "quic": _LogType(("id.orig_h", "id.resp_h", "server_name"), _ssl),
    "x509": _LogType(
        (
            "certificate.subject",
            "certificate.issuer",
            "host_cert",
            "client_cert",
            "id.orig_h",
            "id.resp_h",
            "host",
            "server_ip",
        ),
        _x509,
    ),
    "known_certs": _LogType(("host", "subject", "issuer_subject"), _known_certs),
    "http": _LogType(("id.orig_h", "id.resp_h", "host", "user_agent"), _http),
    "dhcp": _LogType(
        (
            "mac",
            "assigned_addr",
            "assigned_ip",
            "client_addr",
            "host_name",
            "client_fqdn",
            "lease_time",
            "client_software",
            "vendor_class",
            "params",
            "client_params",
        ),
        _dhcp,
    ),
    "software": _LogType(("host", "software_type", "name", "unparsed_version"), _software),
    "known_hosts": _LogType(("host",), _known_hosts),
    "known_devices": _LogType(("mac", "dhcp_host_name"), _known_devices),
    "known_services": _LogType(("host", "port_num", "port_proto", "service"), _known_services),
}
"""Log types phonehome uses, by Zeek ``#path``."""
_UNUSED = _LogType((), None)
_CONTAINER_FIELDS = frozenset({"answers", "TTLs", "service", "params", "client_params", "msg_types", "uids"})
"""Set/vector columns, for TSV files that lack a ``#types`` line."""
_META_KEYS = frozenset({"ts", "_path", "_write_ts", "_system_name", "_node", "_node_name", "uid"})


def infer_path(keys: Any) -> str:
    """The Zeek log type of a record (or ``#fields`` list) that does not name it."""
    k = keys if isinstance(keys, (set, frozenset, dict)) else set(keys)
    if "conn_state" in k or "orig_ip_bytes" in k or ("history" in k and "duration" in k):
        return "conn"
    if "qtype_name" in k or ("query" in k and ("answers" in k or "trans_id" in k)):
        return "dns"
    if "client_initial_dcid" in k:
        return "quic"
    if (
        "server_name" in k
        or "ssl_history" in k
        or "cert_chain_fps" in k
        or "cert_chain_fuids" in k
        or "curve" in k
    ):
        return "ssl"
    if "certificate.subject" in k or "certificate.serial" in k:
        return "x509"
    if "issuer_subject" in k:
        return "known_certs"
    if (
        "trans_depth" in k
        and ("method" in k or "uri" in k or "status_code" in k)
        and not ("call_id" in k or "request_from" in k or "response_to" in k)
    ):
        return "http"
    if "msg_types" in k or "assigned_addr" in k or "assigned_ip" in k or "lease_time" in k:
        return "dhcp"
    if "software_type" in k:
        return "software"
    if "port_num" in k and "port_proto" in k:
        return "known_services"
    rest = set(k) - _META_KEYS
    if rest <= {"host"} and "host" in k:
        return "known_hosts"
    if "mac" in rest and rest <= {"mac", "dhcp_host_name"}:
        return "known_devices"
    for path, markers in _OTHER_MARKERS:
        if markers & rest:
            return path
    return "unknown"


_OTHER_MARKERS = (
    ("files", frozenset({"fuid", "seen_bytes", "analyzers"})),
    ("notice", frozenset({"note", "actions"})),
    ("weird", frozenset({"addl", "notice"})),
    ("ssh", frozenset({"auth_success", "host_key", "kex_alg"})),
    ("smtp", frozenset({"helo", "mailfrom", "rcptto"})),
    ("sip", frozenset({"call_id", "request_from"})),
)


# ---------------------------------------------------------------------------------------------
# TSV


@dataclass
class _Header:
    """The current TSV header block."""

    separator: str = "\t"
    set_separator: str = ","
    empty: str = "(empty)"
    unset: str = "-"
    path: str | None = None
    fields: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)

    def feed(self, line: str) -> _Header:
        """The header after ``line``: a ``#separator`` line starts a new block."""
        if line.startswith("#separator"):
            value = line[len("#separator") :].strip()
            return _Header(separator=_unescape(value) if value else "\t")
        key, _, value = line.partition(self.separator)
        if key == "#fields":
            self.fields, self.types = value.split(self.separator), []
        elif key == "#types":
            self.types = value.split(self.separator)
        elif key == "#path":
            self.path = value.strip() or None
        elif key == "#set_separator":
            self.set_separator = _unescape(value) or ","
        elif key == "#unset_field":
            self.unset = value
        elif key == "#empty_field":
            self.empty = value
        return self

    def columns(self, names: Iterable[str]) -> list[tuple[str, int, bool]]:
        """``(name, index, is a set or vector)`` for each of ``names`` that this block has."""
        if len(self.types) == len(self.fields):
            containers = {
                f
                for f, t in zip(self.fields, self.types, strict=True)
                if t.startswith(("set[", "vector[", "table["))
            }
        else:
            containers = set(self.fields) & _CONTAINER_FIELDS
        return [(name, self.fields.index(name), name in containers) for name in names if name in self.fields]

    def record(self, parts: list[str], columns: list[tuple[str, int, bool]]) -> Record:
        """The given columns of a split line: unset ones left out, sets and vectors as lists."""
        rec: Record = {}
        for name, at, container in columns:
            value = parts[at]
            if value == self.unset:
                continue
            if container:
                rec[name] = [] if value == self.empty else value.split(self.set_separator)
            else:
                rec[name] = "" if value == self.empty else value
        return rec


class ZeekSource:
    """Zeek logs (TSV or JSON lines, optionally gzip-compressed)."""

    name = "zeek"

    def sniff(self, path: Path, head: bytes) -> float:
        text = head_text(head).lstrip()
        if text.startswith("#separator \\x"):
            return 1.0
        if text.startswith("#fields\t") or text.startswith("#path\t"):
            return 0.8
        if text.startswith("{"):
            if '"_path":' in text or '"id.orig_h":' in text or '"uid":"C' in text:
                return 0.9
            if text.replace(" ", "").startswith('{"ts":'):
                return 0.6
        return -1.0

    def read(self, path: Path, progress: ProgressCallback | None = None) -> Iterator[Item]:
        text = open_text(path)  # raises SourceError before anything is yielded
        try:
            lines = text.lines(progress)
            first = next((line for line in lines if line.strip()), None)
            if first is None:
                problem = text.errors[0] if text.errors else "empty file, not a Zeek log"
                raise SourceError(f"{path}: {problem}")
            if first.lstrip().startswith("{"):
                fmt = "json"
            elif first.startswith(_HEADER_DIRECTIVES):
                fmt = "tsv"
            else:
                raise SourceError(f"{path}: not a Zeek log (no '#separator' header and not JSON lines)")
        except BaseException:
            text.close()
            raise
        return self._read(path, text, fmt, first, lines)

    def _read(
        self, path: Path, text: TextInput, fmt: str, first: str, lines: Iterator[str]
    ) -> Iterator[Item]:
        st = _State(source=str(path))
        with text:
            if fmt == "tsv":
                yield from self._tsv(text, first, lines, st)
            else:
                yield from self._json(text, first, lines, st)
            sha256 = text.sha256()
        kind = f"zeek-{st.paths[0] if st.paths else 'unknown'}{text.kind_suffix}"
        yield InputSummary(
            path=str(path),
            kind=kind,
            packets=st.records,
            sha256=sha256,
            errors=tuple(text.errors + st.errors()),
            skipped=sum(count for count, _ in st.skipped.values()),
        )

    # -- TSV --------------------------------------------------------------------------------

    def _tsv(self, text: TextInput, first: str, lines: Iterator[str], st: _State) -> Iterator[Observation]:
        header = _Header()
        pending: str | None = first
        while True:
            line = pending if pending is not None else next(lines, None)
            pending = None
            if line is None:
                return
            if line.startswith("#"):
                header = header.feed(line)
                if header.path and line.startswith("#path"):
                    st.seen_path(header.path)  # names the log even when it has no records
                continue
            if not line.strip():
                continue
            if not header.fields:
                st.skip("data before the #fields header", text.line_number)
                continue
            path = header.path or infer_path(header.fields)
            st.seen_path(path)
            log = LOG_TYPES.get(path, _UNUSED)
            if log.emit is None:
                st.unused.add(path)
            if log.emit is _conn and {"ts", "id.orig_h", "id.resp_h"} <= set(header.fields):
                pending = yield from self._tsv_conn(text, header, line, lines, st)
            else:
                pending = yield from self._tsv_records(text, header, log, line, lines, st)

    def _tsv_records(
        self,
        text: TextInput,
        header: _Header,
        log: _LogType,
        first: str,
        lines: Iterator[str],
        st: _State,
    ) -> Generator[Observation, None, str | None]:
        """Data lines of any log until the next header line, which is returned.

        Only the columns the log type reads become a record; sets and vectors become lists.
        """
        fields = header.fields
        count = len(fields)
        columns = header.columns(log.fields)
        ts_at = fields.index("ts") if "ts" in fields else -1
        sep = header.separator
        emit = log.emit
        for line in chain((first,), lines):
            parts = line.split(sep)
            if len(parts) != count:
                if line.startswith("#"):
                    return line
                if line.strip():
                    st.skip("wrong field count", text.line_number)
                continue
            if ts_at < 0 and line.startswith("#"):
                return line  # with a ts column, a header line fails as a timestamp below
            try:
                ts = _time(parts[ts_at]) if ts_at >= 0 else 0.0
                out = [] if emit is None else list(emit(header.record(parts, columns), ts, st))
            except _Skip as e:
                if line.startswith("#"):
                    return line
                st.skip(str(e), text.line_number)
                continue
            st.records += 1
            yield from out
        return None

    def _tsv_conn(
        self, text: TextInput, header: _Header, first: str, lines: Iterator[str], st: _State
    ) -> Generator[Observation, None, str | None]:
        """conn.log data lines until the next header line, which is returned.

        conn.log is the bulk of any Zeek data set, so this loop is kept tight: columns are
        indexed once, a missing optional column reads the "unset" value appended to each row,
        and the few distinct ``service`` and MAC values are converted once each.
        """
        fields = header.fields
        count = len(fields)
        missing = count  # index of the "unset" value appended to every row

        def at(name: str) -> int:
            return fields.index(name) if name in fields else missing

        i_ts, i_oh, i_op, i_rh, i_rp = (
            at("ts"),
            at("id.orig_h"),
            at("id.orig_p"),
            at("id.resp_h"),
            at("id.resp_p"),
        )
        i_proto, i_service, i_duration = at("proto"), at("service"), at("duration")
        i_ob, i_rb, i_oib, i_rib = (
            at("orig_bytes"),
            at("resp_bytes"),
            at("orig_ip_bytes"),
            at("resp_ip_bytes"),
        )
        i_omac, i_rmac, i_ipproto = at("orig_l2_addr"), at("resp_l2_addr"), at("ip_proto")
        has_macs = i_omac != missing or i_rmac != missing
        sep, unset = header.separator, header.unset
        source = st.source
        protocols = _PROTOCOLS
        new_flow = _new_flow
        applications: dict[str, str | None] = {unset: None, header.empty: None}
        macs: dict[str, str | None] = {unset: None}
        src_mac = dst_mac = None
        slow_columns = header.columns(("ts", *_CONN_FIELDS))
        records = 0
        try:
            for line in chain((first,), lines):
                f = line.split(sep)
                if len(f) != count:
                    if line.startswith("#"):
                        return line
                    if line.strip():
                        st.skip("wrong field count", text.line_number)
                    continue
                f.append(unset)
                src, dst = f[i_oh], f[i_rh]
                try:
                    ts = float(f[i_ts])
                    duration = f[i_duration]
                    sb = f[i_oib]
                    if sb == unset:
                        sb = f[i_ob]
                    db = f[i_rib]
                    if db == unset:
                        db = f[i_rb]
                    protocol = protocols.get(f[i_proto])
                    if protocol is None or (protocol == 1 and ":" in src):
                        protocol = _protocol(f[i_proto], src, None if f[i_ipproto] == unset else f[i_ipproto])
                    # "" marks a value not converted yet (a conversion never gives "")
                    application = applications.get(f[i_service], "")
                    if application == "":
                        application = _remember(applications, f[i_service], _service(f[i_service]))
                    if has_macs:
                        src_mac = macs.get(f[i_omac], "")
                        if src_mac == "":
                            src_mac = _remember(macs, f[i_omac], normalise_mac(f[i_omac]))
                        dst_mac = macs.get(f[i_rmac], "")
                        if dst_mac == "":
                            dst_mac = _remember(macs, f[i_rmac], normalise_mac(f[i_rmac]))
                    record = new_flow(
                        src_mac,
                        src,
                        dst_mac,
                        dst,
                        protocol,
                        int(f[i_op]),
                        int(f[i_rp]),
                        0 if sb == unset else int(sb),
                        0 if db == unset else int(db),
                        ts,
                        ts if duration == unset else ts + float(duration),
                        None,
                        application,
                        None,
                        None,
                        source,
                    )
                except (ValueError, _Skip):
                    record = None
                # ts - ts is NaN (truthy) for NaN and infinite timestamps, 0.0 otherwise
                if record is None or src == unset or dst == unset or ts - ts:
                    if line.startswith("#"):
                        return line
                    record = self._conn_slow(text, header, f, slow_columns, st)
                    if record is None:
                        continue
                records += 1
                yield record
            return None
        finally:
            st.records += records

    def _conn_slow(
        self,
        text: TextInput,
        header: _Header,
        parts: list[str],
        columns: list[tuple[str, int, bool]],
        st: _State,
    ) -> FlowRecord | None:
        """A conn line the fast path did not take (an unset port, a bad number): the general path
        decides, as for JSON records; a line it cannot use either is counted as skipped."""
        try:
            rec = header.record(parts, columns)
            (record,) = _conn(rec, _time(rec.get("ts")), st)
        except _Skip as e:
            st.skip(str(e), text.line_number)
            return None
        assert isinstance(record, FlowRecord)
        return record

    # -- JSON -------------------------------------------------------------------------------

    def _json(self, text: TextInput, first: str, lines: Iterator[str], st: _State) -> Iterator[Observation]:
        loads = json.loads
        inferred: dict[tuple[str, ...], str] = {}
        for line in chain((first,), lines):
            if not line.strip():
                continue
            try:
                rec = loads(line)
            except (ValueError, RecursionError):
                st.skip("not JSON", text.line_number)
                continue
            if type(rec) is not dict:
                st.skip("not a JSON object", text.line_number)
                continue
            yield from self._json_record(rec, text, st, inferred)

    def _json_record(
        self, rec: Record, text: TextInput, st: _State, inferred: dict[tuple[str, ...], str]
    ) -> Iterator[Observation]:
        if "id" in rec or "certificate" in rec or "san" in rec:
            rec = _flatten(rec)
        path = rec.get("_path")
        if not isinstance(path, str) or not path:
            keys = tuple(rec)
            path = inferred.get(keys)
            if path is None:
                path = infer_path(rec)
                if len(inferred) < 1000:
                    inferred[keys] = path
        st.seen_path(path)
        log = LOG_TYPES.get(path, _UNUSED)
        try:
            ts = _time(rec.get("ts"))
            if log.emit is None:
                st.unused.add(path)
                out: list[Observation] = []
            else:
                out = list(log.emit(rec, ts, st))
        except _Skip as e:
            st.skip(str(e), text.line_number)
            return
        st.records += 1
        yield from out


def _remember(cache: dict[str, str | None], key: str, value: str | None) -> str | None:
    if len(cache) < _CACHE_LIMIT:
        cache[key] = value
    return value


def _flatten(rec: Record) -> Record:
    """Nested JSON (``{"id": {"orig_h": ...}}``, some log shippers) to Zeek's dotted keys."""
    flat: Record = {}
    for key, value in rec.items():
        if isinstance(value, dict):
            for inner, v in value.items():
                flat[f"{key}.{inner}"] = v
        else:
            flat[key] = value
    return flat
