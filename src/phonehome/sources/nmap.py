"""nmap XML output (``nmap -oX``, optionally gzip-compressed): hosts, addresses and service evidence.

The file is parsed with defusedxml one ``<host>`` at a time: each host is turned into
observations and then dropped from the tree, and each ``<port>`` is dropped as soon as it has
been read, so memory does not grow with the number of hosts or ports. Entity declarations
(which nmap never writes) are refused before anything is read.

What is reported, per host that was up:

* a ``HostSighting`` per IP address, with the MAC (or the MAC nbstat learnt, for hosts scanned
  across a router), the scan times and the first host name;
* ``HostSignal``s: ``hostname``, ``open_port`` (``tcp/554 rtsp``), ``nmap_service`` (``-sV``
  product line, its CPEs, and SNMP sysDescr), ``nmap_os`` (OS matches of at least 85%), and
  what NSE scripts printed: ``http_title``, ``http_server``, ``http_realm``, ``favicon_md5``,
  ``tls_subject``, ``tls_issuer``, ``ssh_banner``, ``telnet_banner``, ``ftp_banner``,
  ``rtsp_server``, ``ssdp_server``, ``upnp_manufacturer``, ``upnp_model``,
  ``onvif_manufacturer``, ``onvif_model``.

nmap's own MAC vendor guess (``<address vendor=...>``) is ignored: phonehome looks up OUIs itself.
"""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import unquote

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import ParseError, iterparse

from phonehome.macaddr import normalise_mac as _parse_mac
from phonehome.model import InputSummary
from phonehome.sources.interface import HostSighting, HostSignal, Item, ProgressCallback, SourceError
from phonehome.sources.textfile import head_text, looks_binary

if TYPE_CHECKING:  # type names only; parsing goes through defusedxml
    from xml.etree.ElementTree import Element  # noqa: TID251

MAX_VALUE_CHARS = 300
"""Evidence values are whitespace-collapsed and cut to this length."""
MIN_OS_ACCURACY = 85
"""``<osmatch>`` entries below this accuracy are too uncertain to report."""
_PROGRESS_EVERY = 1024
_CHUNK = 1 << 20

_OPEN = "open"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEX_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})")
_TELNET_OPTION = re.compile(r"(?:\\xFF\\xF[B-E]\\x[0-9A-F]{2})+", re.IGNORECASE)
_BANNER_BLANKS = re.compile(r"\\x(?:0[09ADad]|00)")
_FAVICON_MD5 = re.compile(r"Unknown favicon MD5: ([0-9A-Fa-f]{32})")
_REALM = re.compile(r"\brealm=(.*?)(?=\s+[\w-]+=|$)")
_FP_RESPONSE = re.compile(r'%r\(([^,()]+),[0-9A-Fa-f]+,"((?:[^"\\]|\\.)*)"\)', re.DOTALL)
_FP_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)", re.DOTALL)
_FP_SIMPLE = {"r": "\r", "n": "\n", "t": "\t", "0": "\0"}
_NBSTAT = re.compile(r"NetBIOS name: ([^,]+), .*NetBIOS MAC: ([0-9A-Fa-f:]{17})")
_ONVIF_SCOPE = re.compile(r"onvif://www\.onvif\.org/(name|hardware)/([^\s,<>\"]+)", re.IGNORECASE)
_DN_ORDER = (
    "commonName",
    "organizationalUnitName",
    "organizationName",
    "localityName",
    "stateOrProvinceName",
    "countryName",
)
_ERRORS_TO_KEEP = 20


class NmapSource:
    """nmap XML (``-oX``), optionally gzip-compressed."""

    name = "nmap"

    def sniff(self, path: Path, head: bytes) -> float:
        if looks_binary(head):
            return -1.0
        text = head_text(head).lstrip()
        if "<!DOCTYPE nmaprun" in text or "<nmaprun" in text:
            return 0.95
        if text.startswith("<?xml") and "nmap" in text.lower():
            return 0.6  # old nmap: stylesheet nmap.xsl before the (unseen) <nmaprun>
        return -1.0

    def read(self, path: Path, progress: ProgressCallback | None = None) -> Iterator[Item]:
        scan = _NmapScan(path)  # raises SourceError before anything is yielded
        return scan.items(progress)


class _HashingReader:
    """Raw file bytes, hashed and counted as they are read."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.sha256.update(data)
        self.consumed += len(data)
        return data

    def finish(self) -> str:
        """Checksum of the whole file, reading whatever the parser did not."""
        while self.read(_CHUNK):
            pass
        return self.sha256.hexdigest()


class _GuardedStream:
    """What the XML parser reads: a corrupt compressed tail ends the stream, noted in ``error``."""

    def __init__(self, stream: _HashingReader | gzip.GzipFile) -> None:
        self._stream = stream
        self.error: str | None = None

    def read(self, size: int = -1) -> bytes:
        if self.error is not None:
            return b""
        try:
            # read1 on gzip: a corrupt tail loses only what follows, not the chunk being decoded
            return (
                self._stream.read1(size)
                if isinstance(self._stream, gzip.GzipFile)
                else self._stream.read(size)
            )
        except (OSError, EOFError, zlib.error) as e:
            self.error = str(e) or type(e).__name__
            return b""


class _Evidence:
    """One host's (kind, value) pairs: cleaned, bounded, without duplicates, in order."""

    def __init__(self) -> None:
        self.pairs: dict[tuple[str, str], None] = {}

    def add(self, kind: str, value: str | None) -> None:
        text = _clean(value)
        if text:
            self.pairs[(kind, text)] = None

    def extend(self, pairs: Iterable[tuple[str, str]]) -> None:
        for pair in pairs:
            self.pairs[pair] = None


class _NmapScan:
    """One open nmap XML file, positioned just after the ``<nmaprun>`` start tag."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = str(path)
        try:
            self._file: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by items()
        except IsADirectoryError:
            raise SourceError(f"{path}: is a directory") from None
        except OSError as e:
            raise SourceError(f"{path}: cannot open ({e.strerror or e})") from e
        try:
            self.size = path.stat().st_size
            compressed = self._file.read(2) == b"\x1f\x8b"
            self._file.seek(0)
        except OSError as e:
            self._file.close()
            raise SourceError(f"{path}: cannot read ({e.strerror or e})") from e
        self._raw = _HashingReader(self._file)
        self.kind = "nmap-xml+gzip" if compressed else "nmap-xml"
        inner: _HashingReader | gzip.GzipFile = self._raw
        if compressed:
            inner = gzip.GzipFile(fileobj=self._raw, mode="rb")  # type: ignore[call-overload]
        self._stream = _GuardedStream(inner)
        self._events = iterparse(self._stream, events=("start", "end"))
        self.hosts = 0
        self.skipped = 0
        self.errors: list[str] = []
        self._pending: dict[str, _Evidence] = {}
        """Evidence broadcast scripts found for an address, until that host's record arrives."""
        try:
            _, self._root = next(self._events)
        except (ParseError, DefusedXmlException, StopIteration) as e:
            self._file.close()
            raise SourceError(self._opening_error(e)) from e
        if self._root.tag != "nmaprun":
            self._file.close()
            raise SourceError(f"{path}: not nmap XML (root element <{self._root.tag}>, expected <nmaprun>)")
        self.run_start = _seconds(self._root.get("start"))

    def _opening_error(self, e: BaseException) -> str:
        if self._stream.error is not None:
            return f"{self.path}: unreadable gzip data ({self._stream.error})"
        if isinstance(e, EntitiesForbidden):
            return (
                f"{self.path}: refused XML with entity declarations"
                " (nmap writes none; possible entity-expansion attack)"
            )
        if isinstance(e, ExternalReferenceForbidden):
            return f"{self.path}: refused XML with external entity references"
        if isinstance(e, DTDForbidden):
            return f"{self.path}: refused XML with a document type definition"
        if isinstance(e, DefusedXmlException):
            return f"{self.path}: refused XML ({type(e).__name__})"
        if isinstance(e, ParseError) and _reason(e) == "no element found":
            return f"{self.path}: no XML element found (empty or truncated file), expected nmap XML"
        if isinstance(e, ParseError):
            return f"{self.path}: not XML ({_reason(e)} at line {e.position[0]}, column {e.position[1]})"
        return f"{self.path}: not XML (no root element)"

    def items(self, progress: ProgressCallback | None) -> Iterator[Item]:
        try:
            yield from self._read(progress)
            for ip, evidence in self._pending.items():
                yield from _signals(None, ip, evidence, self.source)
            if self._stream.error is not None:
                self._error(f"corrupt compressed data after {self.hosts} hosts ({self._stream.error})")
            sha256 = self._raw.finish()
        finally:
            self._file.close()
        if progress:
            progress("reading", self.size, self.size)
        yield InputSummary(
            path=self.source,
            kind=self.kind,
            packets=self.hosts,
            sha256=sha256,
            errors=tuple(self.errors),
            skipped=self.skipped,
        )

    def _read(self, progress: ProgressCallback | None) -> Iterator[HostSighting | HostSignal]:
        root = self._root
        stack: list[Element] = [root]
        ports = _Evidence()
        try:
            for event, elem in self._events:
                if event == "start":
                    stack.append(elem)
                    if len(stack) == 2 and elem.tag == "host":
                        ports = _Evidence()
                    continue
                stack.pop()
                depth = len(stack)
                if depth == 3 and elem.tag == "port" and stack[2].tag == "ports" and stack[1].tag == "host":
                    _port_evidence(elem, ports)
                    del stack[2][-1]  # the port just read is the last child of <ports>
                elif depth == 1:
                    if elem.tag == "host":
                        yield from self._host(elem, ports)
                        self.hosts += 1
                        if progress and not self.hosts % _PROGRESS_EVERY:
                            progress("reading", self._raw.consumed, self.size)
                    elif elem.tag == "prescript":
                        self._broadcast(elem)
                    del root[:]
        except ParseError as e:
            if self._stream.error is None:
                line, column = e.position
                reason = _reason(e)
                if reason == "no element found":
                    reason = "file ends before </nmaprun> (truncated?)"
                self._error(f"stopped at line {line}, column {column} after {self.hosts} hosts: {reason}")
        except DefusedXmlException as e:
            self._error(f"stopped after {self.hosts} hosts: refused XML construct ({type(e).__name__})")

    def _error(self, message: str) -> None:
        if len(self.errors) < _ERRORS_TO_KEEP:
            self.errors.append(message)

    def _host(self, host: Element, ports: _Evidence) -> Iterator[HostSighting | HostSignal]:
        mac: str | None = None
        ips: list[str] = []
        names: list[str] = []
        os_names: list[str | None] = []
        up = False
        for child in host:  # one pass over the host's direct children
            tag = child.tag
            if tag == "status":
                up = child.get("state") == "up"
            elif tag == "address":
                kind = child.get("addrtype")
                if kind == "mac":
                    mac = mac or normalise_mac(child.get("addr", ""))
                elif kind in ("ipv4", "ipv6"):
                    ip = _ip(child.get("addr", ""))
                    if ip and ip not in ips:
                        ips.append(ip)
            elif tag == "hostnames":
                for entry in child:
                    name = _clean(entry.get("name"))
                    if name and name not in names and _ip(name) is None:
                        names.append(name)
            elif tag == "os":
                os_names.extend(
                    m.get("name")
                    for m in child
                    if m.tag == "osmatch" and _int(m.get("accuracy")) >= MIN_OS_ACCURACY
                )
            elif tag == "hostscript":
                for script in child:
                    if script.get("id") == "nbstat":
                        nb_name, nb_mac = _nbstat(script)
                        mac = mac or nb_mac
                        if nb_name and nb_name not in names:
                            names.append(nb_name)
        if not up:
            return
        if not ips and mac is None:
            self.skipped += 1
            return
        evidence = _Evidence()
        for name in names:
            evidence.add("hostname", name)
        evidence.extend(ports.pairs)
        for os_name in os_names:
            evidence.add("nmap_os", os_name)
        for ip in ips:
            found = self._pending.pop(ip, None)
            if found is not None:
                evidence.extend(found.pairs)
        first = _seconds(host.get("starttime")) or self.run_start
        last = _seconds(host.get("endtime"))
        hostname = names[0] if names else None
        addresses: list[str | None] = list(ips) if ips else [None]
        for ip in addresses:
            yield HostSighting(mac, ip, "nmap", self.source, first, last, hostname)
        yield from _signals(mac, addresses[0], evidence, self.source)

    def _broadcast(self, prescript: Element) -> None:
        """Broadcast discovery results, keyed by the address that answered."""
        for script in prescript.iterfind("script"):
            handler = _BROADCAST_SCRIPTS.get(script.get("id", ""))
            if handler is None:
                continue
            for ip, lines in _blocks_by_address(script.get("output", "")):
                handler(lines, self._pending.setdefault(ip, _Evidence()))


def _signals(mac: str | None, ip: str | None, evidence: _Evidence, source: str) -> Iterator[HostSignal]:
    for kind, value in evidence.pairs:
        yield HostSignal(mac=mac, ip=ip, kind=kind, value=value, source=source)


# --- ports ------------------------------------------------------------------------------------------


def _port_evidence(port: Element, evidence: _Evidence) -> None:
    state = service = None
    scripts: list[Element] = []
    for child in port:
        tag = child.tag
        if tag == "state":
            state = child.get("state")
        elif tag == "service":
            service = child
        elif tag == "script":
            scripts.append(child)
    name = service.get("name", "") if service is not None else ""
    if state == _OPEN:
        label = f"{port.get('protocol', '')}/{port.get('portid', '')}"
        if name and name != "unknown":
            tunnel = "ssl/" if service is not None and service.get("tunnel") == "ssl" else ""
            label = f"{label} {tunnel}{name}"
        evidence.add("open_port", label)
    if service is not None:
        evidence.add("hostname", service.get("hostname"))
        evidence.add("nmap_service", _service_line(service))
        for cpe in service:
            if cpe.tag == "cpe":
                evidence.add("nmap_service", cpe.text)
        fingerprint = service.get("servicefp")
        if fingerprint:
            for response in _fingerprint_responses(fingerprint):
                _response_evidence(response, evidence)
    for script in scripts:
        handler = _PORT_SCRIPTS.get(script.get("id", ""))
        if handler is not None:
            handler(script, evidence, name, port.get("portid", ""))


def _service_line(service: Element) -> str | None:
    """``product version (extrainfo) devicetype=...``, as ``nmap -sV`` reports it."""
    product = service.get("product")
    if not product:
        return None
    line = " ".join(part for part in (product, service.get("version")) if part)
    if extra := service.get("extrainfo"):
        line += f" ({extra})"
    if devicetype := service.get("devicetype"):
        line += f" devicetype={devicetype}"
    return line


def _fingerprint_responses(fingerprint: str) -> Iterator[str]:
    """Responses recorded in a ``servicefp`` (``%r(Probe,LEN,"escaped bytes")``), unescaped."""
    flat = fingerprint.replace("\nSF:", "").replace("\r", "")
    for match in _FP_RESPONSE.finditer(flat):
        yield _FP_ESCAPE.sub(_fp_unescape, match.group(2))


def _fp_unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] == "x" and len(code) == 3:
        return chr(int(code[1:], 16))
    return _FP_SIMPLE.get(code, code)


def _response_evidence(response: str, evidence: _Evidence) -> None:
    """Server header of an HTTP or RTSP reply, or an SSH greeting, a probe got back."""
    lines = [line.strip() for line in response.splitlines() if line.strip()]
    if not lines:
        return
    first = lines[0]
    if first.startswith("SSH-"):
        evidence.add("ssh_banner", first)
        return
    if first.startswith("RTSP/"):
        kind = "rtsp_server"
    elif first.startswith("HTTP/"):
        kind = "http_server"
    else:
        return
    for line in lines[1:]:
        header, sep, value = line.partition(":")
        if sep and header.strip().lower() == "server":
            evidence.add(kind, value)


# --- NSE scripts on a port ----------------------------------------------------------------------------

_PortScript = Callable[["Element", _Evidence, str, str], None]
"""(script element, evidence, service name, port number)."""


def _http_title(script: Element, evidence: _Evidence, service: str, port: str) -> None:
    title = _keyed(script, "title")
    if title is None and len(script) == 0:  # nmap before structured output: the display text
        output = script.get("output", "")
        if not output.startswith(("Site doesn't have a title", "Did not follow redirect")):
            title = output.split("\n", 1)[0]
    evidence.add("http_title", title)


def _http_server_header(script: Element, evidence: _Evidence, service: str, port: str) -> None:
    values = [e.text or "" for e in script.iter("elem") if e.get("key") is None]
    if not values and len(script) == 0:
        values = script.get("output", "").splitlines()
    for value in values:
        if value.strip() != "<empty>":
            evidence.add("http_server", value)


def _http_auth(script: Element, evidence: _Evidence, service: str, port: str) -> None:
    realms = [
        elem.text
        for table in script.iter("table")
        if table.get("key") == "params"
        for elem in table
        if elem.get("key") == "realm"
    ]
    if not realms and len(script) == 0:
        for line in script.get("output", "").splitlines():
            realms.extend(m.group(1) for m in _REALM.finditer(line.strip()))
    for realm in realms:
        evidence.add("http_realm", realm)


def _http_favicon(script: Element, evidence: _Evidence, service: str, port: str) -> None:
    # A favicon nmap knows is printed as an application name; only unknown ones show the hash.
    match = _FAVICON_MD5.search(script.get("output", ""))
    if match:
        evidence.add("favicon_md5", match.group(1).lower())


def _ssl_cert(script: Element, evidence: _Evidence, service: str, port: str) -> None:
    tables = {t.get("key"): t for t in script if t.tag == "table"}
    for key, kind in (("subject", "tls_subject"), ("issuer", "tls_issuer")):
        table = tables.get(key)
        if table is not None:
            evidence.add(kind, _distinguished_name(table))
            continue
        prefix = f"{key.capitalize()}: "
        for line in script.get("output", "").splitlines():
            if line.startswith(prefix):  # nmap before structured output: a=b/c=d
                evidence.add(kind, ", ".join(re.split(r"/(?=[\w.]+=)", line[len(prefix) :])))


def _distinguished_name(table: Element) -> str:
    fields = {e.get("key", ""): e.text or "" for e in table if e.tag == "elem"}
    ordered = [k for k in _DN_ORDER if k in fields] + [k for k in fields if k not in _DN_ORDER]
    return ", ".join(f"{k}={fields[k]}" for k in ordered)


def _banner(script: Element, evidence: _Evidence, service: str, port: str) -> None:
    text = _banner_text(script.get("output", ""))
    if service == "ssh" or text.startswith("SSH-"):
        evidence.add("ssh_banner", text)
    elif service == "telnet" or (not service and port == "23"):
        evidence.add("telnet_banner", text)
    elif service == "ftp" or (not service and port == "21"):
        evidence.add("ftp_banner", text)


def _banner_text(output: str) -> str:
    """The banner script's text: its line wrapping undone, telnet option negotiation dropped."""
    text = output.replace("\n", "")
    text = _TELNET_OPTION.sub("", text)
    return _BANNER_BLANKS.sub(" ", text)


def _fingerprint_strings(script: Element, evidence: _Evidence, service: str, port: str) -> None:
    """Printable text of the responses to each probe, for services nmap did not recognise."""
    for elem in script.iter("elem"):
        _response_evidence(elem.text or "", evidence)


def _upnp_info(script: Element, evidence: _Evidence, service: str, port: str) -> None:
    lines = [line for line in script.get("output", "").splitlines() if _ip(line.strip()) is None]
    _upnp_lines(lines, evidence)


def _snmp_sysdescr(script: Element, evidence: _Evidence, service: str, port: str) -> None:
    # No dedicated evidence kind for SNMP sysDescr: it is nmap-reported service identity.
    description = script.get("output", "").split("System uptime:", 1)[0]
    evidence.add("nmap_service", description)


_PORT_SCRIPTS: dict[str, _PortScript] = {
    "http-title": _http_title,
    "http-server-header": _http_server_header,
    "http-auth": _http_auth,
    "http-favicon": _http_favicon,
    "ssl-cert": _ssl_cert,
    "banner": _banner,
    "fingerprint-strings": _fingerprint_strings,
    "upnp-info": _upnp_info,
    "snmp-sysdescr": _snmp_sysdescr,
}


# --- UPnP and WS-Discovery ------------------------------------------------------------------------------


def _upnp_lines(lines: list[str], evidence: _Evidence) -> None:
    """``Server:``, ``Manufacturer:``, ``Model Name:``/``Model Version:`` lines of nmap's upnp library."""
    model: str | None = None
    description: str | None = None

    def flush() -> None:
        nonlocal model, description
        evidence.add("upnp_model", model or description)
        model = description = None

    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        value = value.strip()
        if not sep:
            evidence.add("ssdp_server", line)  # old nmap printed the SERVER header unlabelled
        elif key == "Server":
            evidence.add("ssdp_server", value)
        elif key == "Webserver":
            evidence.add("http_server", value)
        elif key in ("Name", "Manufacturer"):
            flush()
            if key == "Manufacturer":
                evidence.add("upnp_manufacturer", value)
        elif key == "Model Name":
            if model:
                flush()
            model = value
        elif key == "Model Descr":
            description = value
        elif key == "Model Version" and model:
            model = f"{model} {value}"
    flush()


def _wsdd_block(lines: list[str], evidence: _Evidence) -> None:
    """ONVIF scopes in a WS-Discovery answer (stock nmap prints only types and addresses)."""
    for line in lines:
        for match in _ONVIF_SCOPE.finditer(line):
            kind = "onvif_manufacturer" if match.group(1).lower() == "name" else "onvif_model"
            evidence.add(kind, unquote(match.group(2)))


_BROADCAST_SCRIPTS: dict[str, Callable[[list[str], _Evidence], None]] = {
    "broadcast-upnp-info": _upnp_lines,
    "broadcast-wsdd-discover": _wsdd_block,
}


def _blocks_by_address(output: str) -> Iterator[tuple[str, list[str]]]:
    """Split broadcast script output into the lines under each responding address."""
    ip: str | None = None
    lines: list[str] = []
    for line in output.splitlines():
        address = _ip(line.strip())
        if address is not None:
            if ip is not None:
                yield ip, lines
            ip, lines = address, []
        elif ip is not None:
            lines.append(line)
    if ip is not None:
        yield ip, lines


# --- host scripts ---------------------------------------------------------------------------------


def _nbstat(script: Element) -> tuple[str | None, str | None]:
    """NetBIOS name and the MAC the host reported about itself."""
    name = _keyed(script, "server_name")
    mac = _keyed(script, "mac")  # older nmap: a plain element
    table = script.find("table[@key='mac']")
    if table is not None:
        mac = _keyed(table, "address")
    if name is None and len(script) == 0:
        match = _NBSTAT.search(script.get("output", ""))
        if match:
            name, mac = match.group(1), match.group(2)
    return _clean(name), normalise_mac(mac or "")


# --- values -----------------------------------------------------------------------------------------


def normalise_mac(text: str) -> str | None:
    """The shared parser, with nmap's all-zero placeholder treated as no MAC."""
    mac = _parse_mac(text)
    return None if mac == "00:00:00:00:00:00" else mac


def _ip(text: str) -> str | None:
    if not text or len(text) > 45 or not (text[0].isdigit() or ":" in text):
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    if (
        len(value) <= MAX_VALUE_CHARS
        and value.isprintable()
        and value[0] != " " != value[-1]
        and "  " not in value
    ):
        return value  # already clean: most values
    text = " ".join(_CONTROL.sub(" ", value).split())[:MAX_VALUE_CHARS].rstrip()
    return text or None


def _keyed(elem: Element, key: str) -> str | None:
    for child in elem:
        if child.tag == "elem" and child.get("key") == key:
            return child.text
    return None


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value else 0.0
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _reason(e: ParseError) -> str:
    return str(e).split(": line ", 1)[0]
