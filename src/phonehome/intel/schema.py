"""Schema of the intel data files and policy packs (validated with pydantic at load time).

Every fact carries ``sources`` (addresses of what it was read from) and a date where the source
gives one. Data files are YAML; see ``docs/intel.md`` for how to write your own.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEVICE_TYPES = (
    "camera",
    "nvr",
    "doorbell",
    "phone",
    "tablet",
    "router",
    "switch",
    "access-point",
    "modem",
    "iot",
    "smart-plug",
    "tv",
    "speaker",
    "pc",
    "server",
    "printer",
    "radio",
    "drone",
    "inverter",
    "vehicle",
    "unknown",
)
"""Device types a rule or signature may name."""

RelationType = Literal[
    "subsidiary",  # target is owned or controlled by this entity
    "affiliate",  # under common control
    "brand",  # target is a brand name this entity markets
    "oem",  # this entity manufactures products sold under target's name
    "former-subsidiary",  # was owned by this entity during [since, until]
    "spin-off",  # target was spun off from this entity and is now independent
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Relation(_Strict):
    """A dated, sourced link from one entity to another."""

    type: RelationType
    target: str
    """Entity id of the other party."""
    since: str | None = None
    """ISO date or year the relation began, when known."""
    until: str | None = None
    """ISO date or year it ended; None while it holds."""
    note: str = ""
    sources: list[str] = Field(min_length=1)
    verified: bool = True
    """False when only secondary or unconfirmed sources state the relation."""

    @field_validator("since", "until", mode="before")
    @classmethod
    def _date_text(cls, value: object) -> object:
        # YAML reads an unquoted 2022-11-24 as a date; keep every date as ISO text.
        return value.isoformat() if isinstance(value, dt.date) else value


class Entity(_Strict):
    """A company, brand-owning group, operator or service."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    """Legal or best-known full name."""
    short: str
    """Name shown in outputs."""
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    """Country of headquarters (ISO 3166 alpha-2); used as producer country when nothing better is known."""
    kind: Literal["manufacturer", "operator", "software", "cloud", "brand", "other"]
    products: list[str] = []
    """Device types the entity is known to make (see ``DEVICE_TYPES``)."""
    brands: list[str] = []
    """Brand names marketed by the entity, as written on products."""
    relations: list[Relation] = []
    role: Literal["infrastructure"] | None = None
    """``infrastructure``: a cloud, CDN or hosting network that carries other organisations' services.

    Traffic to it says little about whose service it is, so it counts as support traffic.
    """
    sources: list[str] = Field(min_length=1)

    @field_validator("products")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(DEVICE_TYPES))
        if unknown:
            raise ValueError(f"unknown device types {unknown}")
        return value


class EntityFile(_Strict):
    version: str
    entities: list[Entity]


class OuiRegistrant(_Strict):
    """Maps an exact IEEE registrant name to an entity (no substring matching)."""

    registrant: str
    """Registrant name exactly as in the IEEE registry (compared case- and spacing-insensitively)."""
    entity: str
    examples: list[str] = []
    """A few OUIs registered under this name (``AA-BB-CC``); the tests check them against netaddr."""
    sources: list[str] = Field(min_length=1)


class OuiFile(_Strict):
    version: str
    registrants: list[OuiRegistrant]


Purpose = Literal[
    # Weighed as evidence about the maker of a device that contacts them (see CLOUD_CERTAINTY in
    # identify/attribution.py).
    "device-cloud",  # devices register, report or relay through it
    "p2p-relay",  # peer-to-peer brokering or relay for devices and their apps
    "os-telemetry",  # the operating system reports usage or device data
    "app-api",  # the vendor's client apps call it
    "vendor-services",  # the vendor's other services (stores, accounts, web sites)
    "software-update",  # system, firmware or app updates
    # Only name the organisation: apps on any device may contact them.
    "analytics",  # usage statistics and event collection, including SDKs in third-party apps
    "crash-reports",  # crash and error reports
    "ads",  # advertising delivery, configuration and measurement
    "location",  # maps, geocoding and network location lookups
    "push",  # push-notification services
    "account",  # sign-in and account services
    "messaging",  # chat and calling services
    "cloud-platform",  # hosting that carries customers' services
    "general",  # web sites and portals with many uses
    # Support: plumbing that says little about who is served.
    "cdn",  # content-delivery edges
    "time",  # NTP and other time services
    "dns",  # public resolvers, including DNS over HTTPS
    "connectivity-check",  # captive-portal and internet reachability probes
]
"""What an endpoint is documented to do. ``docs/intel.md`` explains each value."""

PURPOSES: tuple[str, ...] = get_args(Purpose)
"""Every purpose, in the order above."""

SUPPORT_PURPOSES = frozenset({"cdn", "time", "dns", "connectivity-check"})
"""Purposes whose traffic is support traffic whoever operates the endpoint."""

Blocking = Literal["breaks", "degrades", "safe", "unknown"]
"""What blocking an endpoint is documented to do.

``breaks``: a main function of the device or app stops; ``degrades``: a secondary function stops
(updates, remote access, notifications, the connectivity indicator); ``safe``: a source states that
nothing stops; ``unknown``: no source says.
"""


class DomainEntry(_Strict):
    """A registrable domain (or a deeper name) and the entity operating it."""

    domain: str = Field(pattern=r"^[a-z0-9.-]+$")
    """Matches the name itself and every name below it."""
    entity: str
    purpose: Purpose | Literal[""] = ""
    """What the endpoint is documented to do (see ``Purpose``); empty when not stated.

    The shipped catalogue states a purpose for every entry.
    """
    blocking: Blocking = "unknown"
    """What blocking the endpoint is documented to do (see ``Blocking``)."""
    blocking_note: str = ""
    """What the cited source says stops (or that nothing does); required unless ``unknown``."""
    sources: list[str] = Field(min_length=1)
    date: str | None = None
    """Date of the source (its last change), when it has one."""

    @field_validator("purpose", mode="before")
    @classmethod
    def _known_purpose(cls, value: object) -> object:
        # Checked here so that the message names the value and the vocabulary in one line.
        if isinstance(value, str) and value and value not in PURPOSES:
            raise ValueError(f"unknown purpose {value!r}; one of {', '.join(PURPOSES)}")
        return value

    @model_validator(mode="after")
    def _note_for_known_effect(self) -> DomainEntry:
        if self.blocking != "unknown" and not self.blocking_note.strip():
            raise ValueError(f"blocking {self.blocking!r} needs a blocking_note stating the source")
        return self


class DomainFile(_Strict):
    version: str
    domains: list[DomainEntry]


class NetworkEntry(_Strict):
    """Autonomous-system names that belong to one entity."""

    names: list[str] = Field(min_length=1)
    """AS names as offline geo data reports them (geoip2fast returns the MaxMind GeoLite2 ASN
    organisation, such as ``AMAZON-02`` or ``Tencent Building, Kejizhongyi Avenue``) and as
    registries write them (``TENCENT-NET-AP``). Compared without case, spacing or punctuation."""
    asn: list[int] = []
    """AS numbers of those names, so that ``AS16509``-style values match too."""
    entity: str
    note: str = ""
    sources: list[str] = Field(min_length=1)
    date: str | None = None
    """Date of the source, when it has one."""


class NetworkFile(_Strict):
    version: str
    networks: list[NetworkEntry]


EvidenceKind = Literal[
    # DHCP (captures, Zeek dhcp.log, lease files)
    "dhcp_vendor_class",  # option 60
    "dhcp_prl",  # option 55 parameter request list, comma-separated decimal codes: "1,3,6,15,119"
    "dhcp_hostname",  # option 12
    "hostname",  # any other host name: PTR, lease client name, register name
    # multicast discovery (captures)
    "mdns_name",
    "mdns_service",
    "mdns_txt",  # one TXT record string, "key=value"
    "ssdp_server",
    "ssdp_model",
    "upnp_manufacturer",  # UPnP device description <manufacturer>
    "upnp_model",  # UPnP <modelName> (with <modelNumber> appended after a space when present)
    "onvif_manufacturer",  # ONVIF GetDeviceInformation or WS-Discovery scope name/
    "onvif_model",  # ONVIF model or WS-Discovery scope hardware/
    "onvif_firmware",
    "sadp",  # Hikvision SADP reply: "DeviceType=...;DeviceDescription=...;SoftwareVersion=..."
    "dahua_discovery",  # Dahua DHIP discovery reply: "DeviceType=...;SerialNo=...;Version=..."
    # application banners (captures, nmap scripts, Zeek software.log)
    "user_agent",
    "http_server",  # HTTP Server header
    "http_realm",  # WWW-Authenticate realm
    "http_title",  # HTML <title>
    "favicon_md5",  # MD5 of /favicon.ico, hex (as nmap's http-favicon computes it)
    "rtsp_server",  # RTSP Server header
    "tls_subject",  # certificate subject, RFC 4514 order as nmap/Zeek print it
    "tls_issuer",
    "ssh_banner",  # SSH identification string, e.g. "SSH-2.0-dropbear_2019.78"
    "telnet_banner",
    "ftp_banner",
    "nmap_service",  # nmap -sV: "product version (extrainfo)" plus " devicetype=..." when given
    "nmap_os",  # nmap -O osmatch name
    # asset registers (CSV/XLSX)
    "asset_vendor",
    "asset_model",
    "asset_type",
    "asset_firmware",
    # flow meter
    "ndpi_application",  # nDPI application of flows the device started
    "ndpi_served",  # nDPI application of flows the device answered (it runs that service)
    "tls_ja4",
    # Android handsets read through adb (sources/android.py)
    "android_prop",  # one system property, "ro.product.manufacturer=Xiaomi"
    "android_package",  # "com.miui.analytics|system|enabled|/system/priv-app/..."
]


class SignatureExample(_Strict):
    """A value a signature must match, with the values it must extract from it."""

    value: str
    model: str | None = None
    """Expected model (from the ``model`` group or the rule's fixed ``model``); None: not checked."""
    firmware: str | None = None
    """Expected firmware version; None: not checked."""
    brand: str | None = None
    """Expected brand; None: not checked."""


class Signature(_Strict):
    """A pattern over one or more kinds of evidence that says something about the device.

    Named groups ``(?P<model>...)``, ``(?P<firmware>...)`` and ``(?P<brand>...)`` in the pattern
    extract those values; the fixed fields of the same names apply when the group is absent or
    did not take part in the match.
    """

    id: str = Field(pattern=r"^SIG-[A-Z0-9-]+$")
    kind: EvidenceKind | list[EvidenceKind]
    """The evidence kind (or kinds) the pattern is tried against."""
    pattern: str
    """Python regular expression, matched with ``re.search`` and IGNORECASE."""
    literal: str | None = Field(default=None, min_length=2)
    """Optional fast path: text (any case) that every matching value contains.

    The matcher skips the regular expression when the value lacks it.
    """
    vendor: str | None = None
    device_type: str | None = None
    brand: str | None = None
    model: str | None = None
    """Fixed model name, for patterns that identify a single model."""
    firmware: str | None = None
    """Fixed firmware version, rarely useful; prefer a ``firmware`` group."""
    certainty: float = Field(ge=0.0, le=1.0)
    examples: list[SignatureExample] = Field(min_length=1)
    """Values that must match (with the values to extract); the tests run each through the matcher."""
    counter_examples: list[str] = []
    """Values that must not match."""
    sources: list[str] = Field(min_length=1)

    @field_validator("kind")
    @classmethod
    def _some_kind(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not value:
            raise ValueError("at least one kind is needed")
        return value

    @field_validator("examples", mode="before")
    @classmethod
    def _plain_examples(cls, value: object) -> object:
        # A plain string is an example whose extracted values are not checked.
        if isinstance(value, list):
            return [{"value": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("device_type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is not None and value not in DEVICE_TYPES:
            raise ValueError(f"unknown device type {value!r}")
        return value

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds as a tuple, whether the file gave one kind or a list."""
        return (self.kind,) if isinstance(self.kind, str) else tuple(self.kind)


class SignatureFile(_Strict):
    version: str
    signatures: list[Signature]


PackagePurpose = Literal[
    "analytics",  # usage statistics, telemetry, "user experience" programmes
    "ads",  # advertising delivery, targeting and ad configuration
    "advertising-id",  # provides an advertising or anonymous device identifier (OAID) to apps
    "push",  # push-notification channel
    "location",  # network location provider or maps
    "input-method",  # keyboard: sees everything typed
    "account",  # vendor account sign-in and account services
    "app-store",  # vendor app store or app installer
    "update",  # system or app updates
    "crash-reports",  # crash, bug and log collection
    "browser",  # web browser
    "cloud",  # cloud sync and backup
    "app-platform",  # quick apps, mini programs, app frameworks other apps call
    "system-services",  # framework services other vendor apps depend on
    "payment",  # wallet and payment services
    "security",  # security centre, antivirus, device finder
    "performance",  # game and performance tuning
]
"""What an Android package is documented to do. A package may have several purposes."""

PACKAGE_PURPOSES: tuple[str, ...] = get_args(PackagePurpose)

Removability = Literal["safe", "degrades", "breaks", "unknown"]
"""What removing (or disabling) a package is documented to do, as ``Blocking`` for endpoints:
``safe`` (a source states nothing visible stops), ``degrades`` (a secondary function stops or
the source advises caution), ``breaks`` (the device or a main function stops: bootloops, lost
settings pages), ``unknown``."""


class RemovalMethod(_Strict):
    """What a source says about one adb command on one package."""

    command: Literal["disable-user", "uninstall"]
    """``pm disable-user --user 0`` or ``pm uninstall --user 0``."""
    works: bool
    """False when the source says the command fails, is undone or harms the device."""
    note: str
    """What the source says happened."""
    sources: list[str] = Field(min_length=1)


class AndroidPackage(_Strict):
    """One Android package in the OEM package catalogue, matched by its exact name."""

    package: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$")
    entity: str | None
    """Entity id of the owner; None when the intel data has no entity for it (see ``owner``)."""
    owner: str
    """Owner's name as shown to the user."""
    component: str
    """Name of the component as users and sources know it: ``MIUI Analytics``, ``HMS Core``."""
    purposes: list[PackagePurpose] = Field(min_length=1)
    description: str
    """What the cited sources say it does, in the catalogue's own words."""
    endpoints: list[str] = []
    """Domains a source says the package contacts (looked up in ``domains.yaml`` for display)."""
    removability: Removability
    removal_note: str = ""
    """What the cited source says stops (or that nothing does); required unless ``unknown``."""
    source_rating: str = ""
    """The source's own rating, as written: ``ADL: Safe to delete``, ``ADL: Exercise caution``."""
    methods: list[RemovalMethod] = []
    """Commands a source reports on; empty when no source says which command works."""
    sources: list[str] = Field(min_length=1)
    date: str | None = None
    """Date the sources were read (or of the source itself, where it has one)."""

    @model_validator(mode="after")
    def _note_for_known_effect(self) -> AndroidPackage:
        if self.removability != "unknown" and not self.removal_note.strip():
            raise ValueError(f"removability {self.removability!r} needs a removal_note stating the source")
        return self


class PackagePrefix(_Strict):
    """A package-name prefix that a vendor uses for its own packages (owner only, no purpose)."""

    prefix: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*\.$")
    """Ends with a dot: ``com.heytap.`` matches ``com.heytap.market`` but not ``com.heytapx``."""
    entity: str | None
    owner: str
    note: str = ""
    sources: list[str] = Field(min_length=1)


class AndroidPackageFile(_Strict):
    version: str
    packages: list[AndroidPackage]
    prefixes: list[PackagePrefix] = []


TrackerCategory = Literal[
    "analytics",  # usage statistics and event collection
    "ads",  # advertising delivery, mediation and ad measurement
    "attribution",  # install and campaign attribution
    "crash-reports",  # crash and error reporting
    "location",  # location and maps SDKs that report the device's position
    "push",  # push-notification channels
    "identification",  # device identifiers offered to other SDKs (OAID and the like)
    "social",  # sharing and sign-in SDKs of social networks
]
"""What a tracker SDK embedded in apps is documented to do (εxodus uses the same kind of categories)."""


class TrackerSdk(_Strict):
    """A third-party SDK found in apps by the Java package names of its classes (``trackers.yaml``)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    entity: str | None
    """Entity id of the owner; None when ``entities.yaml`` has no entry for it (see ``owner``)."""
    owner: str
    categories: list[TrackerCategory] = Field(min_length=1)
    code_signatures: list[str] = Field(min_length=1)
    """Package-name prefixes ending with a dot: ``com.umeng.analytics.`` matches the class
    ``com.umeng.analytics.MobclickAgent`` and every class in sub-packages."""
    domains: list[str] = []
    """Registrable domains or host names the SDK is documented to contact."""
    sources: list[str] = Field(min_length=1)
    date: str | None = None
    """Date the sources were read."""

    @field_validator("code_signatures")
    @classmethod
    def _package_prefixes(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.fullmatch(r"[a-zA-Z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*\.", v)]
        if bad:
            raise ValueError(f"code signatures must be package prefixes ending with a dot: {bad}")
        return value

    @field_validator("domains")
    @classmethod
    def _host_names(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", v)]
        if bad:
            raise ValueError(f"domains must be lower-case host names: {bad}")
        return value


class TrackerFile(_Strict):
    version: str
    trackers: list[TrackerSdk]


class LeakMatch(_Strict):
    """Conditions on identifier leaks found in readable traffic (``analyze/leaks.py``).

    A leak rule yields one finding per device, identifier kind and host.
    """

    identifiers: list[str] = Field(min_length=1)
    """Identifier kinds: ``imei``, ``mac``, ``location``, ``pattern:email``, ...; ``pattern:*``
    and ``other:*`` name a whole family."""
    severity: dict[str, Literal["info", "low", "medium", "high", "critical"]] = {}
    """Severity per identifier kind (same names and wildcards); the rule's severity otherwise."""
    raise_for_watch_country: bool = True
    """One severity level more when the destination's country is on the watch list."""
    parties: list[Literal["first", "support", "third", "unknown"]] = []
    """Only leaks to destinations of these parties (empty: any destination)."""
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    """Leaks below this confidence are left out."""

    def covers(self, identifier: str) -> bool:
        """True when ``identifier`` is one of ``identifiers`` (or in a ``family:*`` given)."""
        return _named(self.identifiers, identifier)

    def severity_of(self, identifier: str, default: str) -> str:
        """The severity this rule gives ``identifier``: exact names first, then families."""
        if identifier in self.severity:
            return self.severity[identifier]
        for name, level in self.severity.items():
            if _named([name], identifier):
                return level
        return default


def _named(names: list[str], identifier: str) -> bool:
    return any(n == identifier or (n.endswith(":*") and identifier.startswith(n[:-1])) for n in names)


HandsetState = Literal[
    "enabled", "disabled", "disabled-user", "disabled-until-used", "uninstalled", "unknown"
]
"""State of a package for user 0 as adb reports it; ``unknown`` when the output does not say
(``pm list packages`` without ``-d``/``-e``)."""


class HandsetMatch(_Strict):
    """Conditions on OEM components found on an Android handset (``analyze/handset.py``).

    Handset rules are checked against adb evidence of one handset, not against network devices.
    """

    purposes: list[str] = Field(min_length=1)
    """The component must have one of these purposes (``PACKAGE_PURPOSES``)."""
    states: list[HandsetState] = ["enabled", "unknown"]
    """States that count: by default enabled, or present with a state the input does not give."""
    third_party: bool = False
    """Only components whose owner is neither the handset's maker nor a company related to it."""

    @field_validator("purposes")
    @classmethod
    def _known_purposes(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(PACKAGE_PURPOSES))
        if unknown:
            raise ValueError(f"unknown package purposes {unknown}")
        return value


class Match(_Strict):
    """Conditions of a policy rule; every condition given must hold."""

    vendors: list[str] = []
    """Entity ids; the device's attributed vendor must be one of them (or related, see below)."""
    include_related: bool = True
    """Also match subsidiaries, affiliates, brands and OEM customers of ``vendors``."""
    device_types: list[str] = []
    """Device must have one of these types (empty: any type)."""
    producer_country_in: list[str] = []
    producer_country_not_in: list[str] = []
    """Producer country of the device (the vendor's country unless evidence says otherwise)."""
    destination: Literal["vendor-cloud", "watch-country"] | None = None
    """Per-destination rules: traffic to the device vendor's own cloud, or to a watch-list country."""
    restricted_only: bool = False
    """Only for devices already matched by a vendor rule in an enabled pack."""
    leak: LeakMatch | None = None
    """Per-leak rules: identifiers of the device found in its traffic."""
    handset: HandsetMatch | None = None
    """Handset rules: OEM components found on an Android handset read through adb."""

    @model_validator(mode="after")
    def _one_target(self) -> Match:
        if self.leak is not None and self.destination is not None:
            raise ValueError("a rule is about destinations or about leaks, not both")
        return self


class Rule(_Strict):
    id: str = Field(pattern=r"^PH-[A-Z0-9]+-[0-9]{3}$")
    title: str
    severity: Literal["info", "low", "medium", "high", "critical"]
    match: Match
    scope: str
    """The entry's scope wording as the source states it, shown to the user."""
    effective: dt.date | None = None
    references: list[str] = Field(min_length=1)


class PolicyPack(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    authority: str
    jurisdiction: str
    version: str
    summary: str
    references: list[str] = Field(min_length=1)
    rules: list[Rule]
