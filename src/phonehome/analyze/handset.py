"""What an Android handset runs: its ROM and region, and the OEM components in its adb outputs.

The inputs are the ``AndroidDump``s of one handset (``sources/android.py``): any mix of a package
list, a package dump, system properties and a bug report. They are merged (a known package state
beats ``unknown``; inputs that name different handsets are refused), then:

* ROM: the first of these properties that is set, in this order (property names and example
  values from XXPermissions' ``DeviceOs``, https://github.com/getActivity/XXPermissions):
  HyperOS ``ro.mi.os.version.name``; MIUI ``ro.miui.ui.version.code``/``.name``; HarmonyOS
  ``hw_sc.build.platform.version``; MagicOS/MagicUI ``msc.config.magic.version``,
  ``ro.build.version.magic``; EMUI ``ro.build.version.emui``; realme UI
  ``ro.build.version.realmeui``; OxygenOS ``ro.oxygen.version``; H2OS ``ro.rom.version``;
  ColorOS ``ro.build.version.oplusrom``/``opporom``; OriginOS or Funtouch OS
  ``ro.vivo.os.build.display.id`` (``ro.vivo.os.version`` as a fallback); One UI
  ``ro.build.version.oneui``; otherwise plain Android. Newer ROMs keep their predecessor's
  properties (HyperOS devices still set MIUI's, HarmonyOS devices EMUI's), hence the order.
* Region: the first set of ``ro.miui.build.region`` (``cn``/``global``), ``ro.miui.region``,
  ``ro.vendor.miui.region``, ``ro.vendor.oplus.regionmark``, ``ro.oppo.regionmark``,
  ``persist.sys.oplus.region``, ``persist.sys.oppo.region``, ``ro.hw.country``,
  ``gsm.vivo.countrycode``, ``ro.csc.countryiso_code``, ``persist.sys.country``,
  ``ro.product.locale.region``, then the region part of ``ro.product.locale``. The value is shown
  as the property gives it, with the property's name.
* Components: every package whose exact name is in the OEM package catalogue
  (``intel/data/android_packages.yaml``), with its purposes, removability, endpoints (looked up
  in ``domains.yaml``) and state; packages matching only a vendor prefix are listed as that
  vendor's other packages, without purpose.
* Findings: the rules of the ``phonehome-handset`` pack (and any other enabled pack rule with a
  ``handset`` block), one per rule and matching package. A component is *third-party* when its
  owner is neither the handset's maker nor related to it through ``entities.yaml``; the maker is
  the entity whose id, short name or brand equals ``ro.product.manufacturer`` (else
  ``ro.product.brand``), compared without case or punctuation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from phonehome.errors import PhonehomeError
from phonehome.intel.loader import Intel, normalise_registrant
from phonehome.intel.schema import AndroidPackage, PackagePrefix, PolicyPack, RemovalMethod, Rule
from phonehome.model import DeviceID, Evidence, Finding, InputSummary, PolicyRef, RuleID, Severity
from phonehome.sources.android import REPORTED_PROPS, AndroidDump, PackageRecord, handset_name

HANDSET_PACK = "phonehome-handset"
ACTIVE_STATES = frozenset({"enabled", "unknown"})
_IDENTITY_PROPS = ("ro.serialno", "ro.boot.serialno", "ro.product.model")

_ROM_PROPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("HyperOS", ("ro.mi.os.version.name",)),
    ("MIUI", ("ro.miui.ui.version.code", "ro.miui.ui.version.name")),
    ("HarmonyOS", ("hw_sc.build.platform.version",)),
    ("MagicOS", ("msc.config.magic.version", "ro.build.version.magic")),
    ("EMUI", ("ro.build.version.emui",)),
    ("realme UI", ("ro.build.version.realmeui",)),
    ("OxygenOS", ("ro.oxygen.version",)),
    ("H2OS", ("ro.rom.version",)),
    ("ColorOS", ("ro.build.version.oplusrom", "ro.build.version.opporom")),
    ("vivo", ("ro.vivo.os.build.display.id", "ro.vivo.os.version")),
    ("One UI", ("ro.build.version.oneui",)),
)
_ROM_BUILD = {
    "HyperOS": ("ro.mi.os.version.incremental", "ro.build.version.incremental"),
    "HarmonyOS": ("ro.huawei.build.display.id", "ro.build.display.id"),
}
_REGION_PROPS = (
    "ro.miui.build.region", "ro.miui.region", "ro.vendor.miui.region", "ro.vendor.oplus.regionmark",
    "ro.oppo.regionmark", "persist.sys.oplus.region", "persist.sys.oppo.region", "ro.hw.country",
    "gsm.vivo.countrycode", "ro.csc.countryiso_code", "persist.sys.country", "ro.product.locale.region",
)  # fmt: skip


class HandsetError(PhonehomeError):
    """The inputs cannot describe one handset (different handsets, nothing read)."""


@dataclass(frozen=True)
class Rom:
    """The vendor ROM and its version, as the properties state them."""

    name: str
    version: str
    prop: str
    """Property the version was read from."""
    build: str | None = None
    """Build number (``ro.build.version.incremental`` or the ROM's own build property)."""


@dataclass(frozen=True)
class Region:
    value: str
    """As the property gives it: ``cn``, ``global``, ``CN``, ``EUEX``, ``zh-CN``'s ``CN``."""
    prop: str


@dataclass(frozen=True)
class Endpoint:
    """A domain the catalogue says the component contacts, with what ``domains.yaml`` says of it."""

    domain: str
    entity: str | None
    purpose: str | None


@dataclass(frozen=True)
class Component:
    """A package on the handset and what the catalogue says about it."""

    package: str
    match: str
    """``exact`` (catalogue entry) or ``prefix`` (vendor namespace only)."""
    owner: str
    entity: str | None
    component: str
    purposes: tuple[str, ...]
    description: str
    removability: str
    removal_note: str
    source_rating: str
    endpoints: tuple[Endpoint, ...]
    methods: tuple[RemovalMethod, ...]
    sources: tuple[str, ...]
    state: str
    system: bool | None
    code_path: str | None
    version_name: str | None
    third_party: bool
    input: str
    """The input that listed the package (the first one, when several did)."""

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


@dataclass(frozen=True)
class HandsetReport:
    """One handset: identity, ROM, region, OEM components and findings."""

    device_id: DeviceID
    """``name:android:<serial or model>``, the id the inventory gives the handset's sighting."""
    name: str
    props: tuple[tuple[str, str], ...]
    """Identity, ROM and region properties (``sources.android.REPORTED_PROPS``) that are set."""
    maker: str | None
    """Entity id of ``ro.product.manufacturer`` (or brand), when the intel data knows it."""
    device_type: str
    rom: Rom | None
    region: Region | None
    packages: int
    system_packages: int
    disabled: int
    uninstalled: int
    components: tuple[Component, ...]
    """Catalogued components, then vendor-prefix packages; sorted by owner and package."""
    findings: tuple[Finding, ...]
    inputs: tuple[InputSummary, ...]
    intel_version: str

    def prop(self, key: str) -> str | None:
        return dict(self.props).get(key)


def merge_dumps(
    dumps: Sequence[AndroidDump],
) -> tuple[dict[str, str], dict[str, PackageRecord], dict[str, str]]:
    """Properties, packages and the input each package was first seen in, across inputs.

    Raises ``HandsetError`` when two inputs name different handsets (serial or model).
    """
    props: dict[str, str] = {}
    seen_from: dict[str, str] = {}
    for dump in dumps:
        for key in _IDENTITY_PROPS:
            value = dump.props.get(key)
            if value and props.get(key) and props[key] != value:
                raise HandsetError(
                    f"{dump.path}: {key} is {value!r} but {seen_from[key]} says {props[key]!r}; "
                    "give the outputs of one handset at a time"
                )
            if value and key not in seen_from:
                seen_from[key] = dump.path
        for key, value in dump.props.items():
            props.setdefault(key, value)
    packages: dict[str, PackageRecord] = {}
    origin: dict[str, str] = {}
    for dump in dumps:
        for name, record in dump.packages.items():
            old = packages.get(name)
            packages[name] = old.merged(record) if old else record
            origin.setdefault(name, dump.path)
    return props, packages, origin


def detect_rom(props: dict[str, str]) -> Rom | None:
    """The vendor ROM named by the properties (see the module docstring), or None."""
    for name, keys in _ROM_PROPS:
        for key in keys:
            value = props.get(key, "").strip()
            if not value:
                continue
            rom = name
            if name == "vivo":
                rom = "OriginOS" if "originos" in value.lower() else "Funtouch OS"
            elif name == "H2OS" and "h2os" not in value.lower():
                continue
            elif name == "MagicOS" and value.lower().startswith("magicui"):
                rom = "MagicUI"
            build_keys = _ROM_BUILD.get(name, ("ro.build.version.incremental", "ro.build.display.id"))
            build = next((props[k] for k in build_keys if props.get(k)), None)
            return Rom(rom, _version_text(name, key, value), key, build)
    if props.get("ro.build.version.release"):
        return Rom("Android", props["ro.build.version.release"], "ro.build.version.release",
                   props.get("ro.build.display.id"))  # fmt: skip
    return None


def _version_text(name: str, key: str, value: str) -> str:
    if name == "EMUI" and value.startswith("EmotionUI_"):
        return value[len("EmotionUI_") :]
    if key == "ro.miui.ui.version.name" and value.startswith("V"):
        return value  # "V140", "V9": the code property is preferred when both are set
    if name == "One UI" and value.isdigit() and len(value) == 5:
        return f"{int(value[:-4])}.{int(value[-4:-2])}"  # 60101 -> 6.1
    return value


def detect_region(props: dict[str, str]) -> Region | None:
    """The region the ROM was built or set for (see the module docstring), or None."""
    for key in _REGION_PROPS:
        value = props.get(key, "").strip()
        if value:
            return Region(value, key)
    locale = props.get("ro.product.locale", "").strip()
    if "-" in locale:
        return Region(locale.rsplit("-", 1)[1], "ro.product.locale")
    return None


def maker_entity(props: dict[str, str], intel: Intel) -> str | None:
    """The intel entity of the handset's manufacturer (or brand), matched by name."""
    names: dict[str, str] = {}
    for entity in intel.entities.values():  # ids and short names before brands: OnePlus, not BBK
        for name in (entity.id, entity.short):
            names.setdefault(normalise_registrant(name), entity.id)
    for entity in intel.entities.values():
        for name in entity.brands:
            names.setdefault(normalise_registrant(name), entity.id)
    for key in ("ro.product.manufacturer", "ro.product.brand"):
        value = props.get(key, "").strip()
        if value and normalise_registrant(value) in names:
            return names[normalise_registrant(value)]
    return None


def _third_party(owner: str | None, owner_name: str, maker: str | None, intel: Intel) -> bool:
    if maker is None:
        return owner is None or owner not in _OEMS
    if owner is None:
        return normalise_registrant(owner_name) != normalise_registrant(intel.name(maker) or "")
    return owner not in intel.family(maker) and maker not in intel.family(owner)


_OEMS = frozenset(
    {"xiaomi", "huawei", "honor", "oppo", "oneplus", "realme", "vivo", "bbk", "samsung", "google"}
)
"""Handset makers: with no known maker, their components are not counted as third-party."""


def _endpoints(domains: Iterable[str], intel: Intel) -> tuple[Endpoint, ...]:
    out = []
    for domain in domains:
        entry = intel.domain_entry(domain)
        if entry is None:
            out.append(Endpoint(domain, None, None))
        else:
            out.append(Endpoint(domain, entry.entity, entry.purpose or None))
    return tuple(out)


def _component(record: PackageRecord, origin: str, maker: str | None, intel: Intel) -> Component | None:
    entry = intel.package_entry(record.name)
    if entry is None:
        return None
    exact = entry if isinstance(entry, AndroidPackage) else None
    note = entry.note if isinstance(entry, PackagePrefix) else ""
    return Component(
        package=record.name,
        match="exact" if exact else "prefix",
        owner=entry.owner,
        entity=entry.entity,
        component=exact.component if exact else f"other {entry.owner} package",
        purposes=tuple(exact.purposes) if exact else (),
        description=" ".join((exact.description if exact else note).split()),
        removability=exact.removability if exact else "unknown",
        removal_note=" ".join(exact.removal_note.split()) if exact else "",
        source_rating=exact.source_rating if exact else "",
        endpoints=_endpoints(exact.endpoints, intel) if exact else (),
        methods=tuple(exact.methods) if exact else (),
        sources=tuple(entry.sources),
        state=record.state,
        system=record.system,
        code_path=record.code_path,
        version_name=record.version_name,
        third_party=_third_party(entry.entity, entry.owner, maker, intel),
        input=origin,
    )


def analyze_handset(
    dumps: Sequence[AndroidDump], intel: Intel, packs: Iterable[str] = (HANDSET_PACK,)
) -> HandsetReport:
    """The handset report for the inputs of one handset."""
    if not dumps:
        raise HandsetError("no adb outputs to read")
    props, packages, origin = merge_dumps(dumps)
    name = handset_name(props) or dumps[0].host
    device_id = DeviceID(f"name:{name.lower()}")
    maker = maker_entity(props, intel)
    device_type = "tablet" if "tablet" in props.get("ro.build.characteristics", "") else "phone"
    components = [
        c for n in sorted(packages) if (c := _component(packages[n], origin[n], maker, intel)) is not None
    ]
    components.sort(key=lambda c: (c.match != "exact", c.owner.casefold(), c.package))
    chosen = [intel.packs[p] for p in packs if p in intel.packs]
    findings = evaluate_handset_rules(chosen, components, device_id, device_type)
    return HandsetReport(
        device_id=device_id,
        name=name,
        props=tuple((k, props[k]) for k in REPORTED_PROPS if props.get(k)),
        maker=maker,
        device_type=device_type,
        rom=detect_rom(props),
        region=detect_region(props),
        packages=len(packages),
        system_packages=sum(1 for r in packages.values() if r.system),
        disabled=sum(1 for r in packages.values() if r.state.startswith("disabled")),
        uninstalled=sum(1 for r in packages.values() if r.state == "uninstalled"),
        components=tuple(components),
        findings=tuple(findings),
        inputs=tuple(d.summary() for d in dumps),
        intel_version=intel.version,
    )


def rule_matches(rule: Rule, component: Component, device_type: str) -> bool:
    """Whether a handset rule holds for one component."""
    match = rule.match.handset
    if match is None or component.match != "exact":
        return False
    if rule.match.device_types and device_type not in rule.match.device_types:
        return False
    if not set(match.purposes) & set(component.purposes):
        return False
    if component.state not in match.states:
        return False
    return component.third_party or not match.third_party


def evaluate_handset_rules(
    packs: Sequence[PolicyPack], components: Sequence[Component], device_id: DeviceID, device_type: str
) -> list[Finding]:
    """One finding per handset rule and matching component, most severe first."""
    findings = [
        _finding(pack, rule, component, device_id)
        for pack in packs
        for rule in pack.rules
        for component in components
        if rule_matches(rule, component, device_type)
    ]
    findings.sort(key=lambda f: (-f.severity, f.rule_id, f.id))
    return findings


def _finding(pack: PolicyPack, rule: Rule, c: Component, device_id: DeviceID) -> Finding:
    where = "system package" if c.system else ("user package" if c.system is False else "package")
    state = c.state if c.state != "unknown" else "state not given by the input"
    return Finding(
        id=f"{rule.id}:{device_id}:{c.package}",
        rule_id=RuleID(rule.id),
        severity=Severity.parse(rule.severity),
        device_id=device_id,
        title=f"{rule.title}: {c.component} ({c.package})",
        policy=PolicyRef(
            policy=pack.id,
            scope=" ".join(rule.scope.split()),
            effective=rule.effective.isoformat() if rule.effective else None,
            references=tuple(rule.references),
        ),
        evidence=(
            Evidence(
                "android_package",
                c.package,
                c.input,
                f"{where}, {state}" + (f", {c.code_path}" if c.code_path else ""),
            ),
            Evidence(
                "catalogue",
                f"{c.component} ({c.owner}): {', '.join(c.purposes)}",
                "intel/android_packages.yaml",
                "; ".join(c.sources),
            ),
        ),
        category="software",
    )
