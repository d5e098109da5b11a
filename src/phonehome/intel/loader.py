"""Loads and indexes the intel data files and policy packs.

The package ships its own data under ``intel/data`` and ``policy/packs``; users add files of the
same shape with ``--intel DIR`` and ``--policy-pack FILE``. Every file is validated before use.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from phonehome.errors import PhonehomeError
from phonehome.intel.schema import (
    AndroidPackage,
    AndroidPackageFile,
    DomainEntry,
    DomainFile,
    Entity,
    EntityFile,
    NetworkEntry,
    NetworkFile,
    OuiFile,
    PackagePrefix,
    PolicyPack,
    Relation,
    Signature,
    SignatureFile,
    TrackerFile,
    TrackerSdk,
)

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml when present: the intel files load several times faster."""

_M = TypeVar("_M", bound=BaseModel)
_AS_NUMBER = re.compile(r"^\s*AS(\d+)\b", re.IGNORECASE)
COVERING_RELATIONS = frozenset({"subsidiary", "affiliate", "brand", "oem"})
"""Relations through which equipment counts as produced by the parent entity."""


class IntelError(PhonehomeError):
    """An intel data file or policy pack is missing, malformed or inconsistent."""


def normalise_registrant(name: str) -> str:
    """Registrant names compared without case, punctuation or spacing differences."""
    return re.sub(r"[^a-z0-9]+", "", name.casefold())


@dataclass(frozen=True)
class CompiledSignature:
    """A signature ready to match values of one evidence kind.

    A signature that lists several kinds yields one of these per kind, each carrying a copy of
    the signature whose ``kind`` is that single kind, so code that reads ``signature.kind`` sees
    one kind.
    """

    signature: Signature
    regex: re.Pattern[str]
    literal: str | None = None
    """Lower-cased fast-path needle, or None."""


@dataclass
class Intel:
    """Indexed intel data. Build it with ``load_intel``."""

    entities: dict[str, Entity]
    registrants: dict[str, tuple[str, str]]
    """Normalised IEEE registrant name -> (entity id, registrant as written)."""
    domains: dict[str, DomainEntry]
    signatures: list[CompiledSignature]
    packs: dict[str, PolicyPack]
    version: str
    networks: dict[str, NetworkEntry] = field(default_factory=dict)
    """Normalised AS name -> the network entry naming it."""
    network_numbers: dict[int, NetworkEntry] = field(default_factory=dict)
    """AS number -> the network entry listing it."""
    _family_cache: dict[str, frozenset[str]] = field(default_factory=dict)
    _signature_index: dict[str, tuple[CompiledSignature, ...]] | None = None
    packages: dict[str, AndroidPackage] = field(default_factory=dict)
    """Android package name -> its entry in the OEM package catalogue (``android_packages.yaml``)."""
    package_prefixes: tuple[PackagePrefix, ...] = ()
    """Vendor package-name prefixes, longest first."""
    trackers: dict[str, TrackerSdk] = field(default_factory=dict)
    """Tracker SDKs found in apps by code signature (``trackers.yaml``), by id."""

    def tracker_prefixes(self) -> dict[str, TrackerSdk]:
        """Code signature (package prefix ending with a dot) -> its tracker."""
        return {sig: t for t in self.trackers.values() for sig in t.code_signatures}

    def package_entry(self, name: str) -> AndroidPackage | PackagePrefix | None:
        """The catalogue entry for an Android package: exact name first, then the longest prefix."""
        exact = self.packages.get(name)
        if exact is not None:
            return exact
        return next((p for p in self.package_prefixes if name.startswith(p.prefix)), None)

    def signatures_for(self, kind: str) -> tuple[CompiledSignature, ...]:
        """The signatures that apply to evidence of ``kind``, in file order."""
        if self._signature_index is None:
            index: dict[str, list[CompiledSignature]] = {}
            for compiled in self.signatures:
                index.setdefault(str(compiled.signature.kind), []).append(compiled)
            self._signature_index = {k: tuple(v) for k, v in index.items()}
        return self._signature_index.get(kind, ())

    def entity_for_registrant(self, registrant: str) -> str | None:
        hit = self.registrants.get(normalise_registrant(registrant))
        return hit[0] if hit else None

    def domain_entry(self, name: str) -> DomainEntry | None:
        """The most specific domain entry covering ``name`` (label-boundary match)."""
        labels = name.lower().rstrip(".").split(".")
        for i in range(len(labels) - 1):
            entry = self.domains.get(".".join(labels[i:]))
            if entry:
                return entry
        return None

    def network_entity(self, as_name: str | None) -> str | None:
        """The entity an AS belongs to, from its name (``AMAZON-02``) or number (``AS16509 ...``)."""
        if not as_name or not as_name.strip():
            return None
        text = as_name.strip()
        entry = self.networks.get(normalise_registrant(text))
        number = _AS_NUMBER.match(text)
        if entry is None and number:
            entry = self.network_numbers.get(int(number.group(1)))
            text = text[number.end() :].strip()
            entry = entry or self.networks.get(normalise_registrant(text))
        if entry is None and " " in text:
            # "HANDLE Organisation name", as registries and some geo data print it.
            handle, rest = text.split(None, 1)
            entry = self.networks.get(normalise_registrant(handle)) or self.networks.get(
                normalise_registrant(rest)
            )
        return entry.entity if entry else None

    def is_infrastructure(self, entity_id: str | None) -> bool:
        """Whether the entity is marked as a cloud, CDN or hosting network."""
        entity = self.entities.get(entity_id) if entity_id else None
        return entity is not None and entity.role == "infrastructure"

    def family(self, entity_id: str) -> frozenset[str]:
        """``entity_id`` and what it covers through current, verified subsidiary/affiliate/brand/OEM links.

        Relations marked ``verified: false`` are shown in the data but never extend a policy.
        """
        cached = self._family_cache.get(entity_id)
        if cached is not None:
            return cached
        seen = {entity_id}
        todo = [entity_id]
        while todo:
            current = self.entities.get(todo.pop())
            if current is None:
                continue
            for rel in current.relations:
                if _covers(rel) and rel.target not in seen:
                    seen.add(rel.target)
                    todo.append(rel.target)
        result = frozenset(seen)
        self._family_cache[entity_id] = result
        return result

    def relation_path(self, parent: str, child: str) -> list[tuple[str, Relation]]:
        """The chain of relations that puts ``child`` in ``parent``'s family (empty if same)."""
        paths: dict[str, list[tuple[str, Relation]]] = {parent: []}
        todo = [parent]
        while todo:
            current_id = todo.pop(0)
            current = self.entities.get(current_id)
            if current is None:
                continue
            for rel in current.relations:
                if _covers(rel) and rel.target not in paths:
                    paths[rel.target] = [*paths[current_id], (current_id, rel)]
                    todo.append(rel.target)
        return paths.get(child, [])

    def name(self, entity_id: str | None) -> str | None:
        if entity_id is None:
            return None
        entity = self.entities.get(entity_id)
        return entity.short if entity else entity_id

    def country(self, entity_id: str | None) -> str | None:
        entity = self.entities.get(entity_id) if entity_id else None
        return entity.country if entity else None


def _covers(rel: Relation) -> bool:
    """Relations a policy may follow: current, of a covering type, and from primary sources."""
    return rel.type in COVERING_RELATIONS and rel.until is None and rel.verified


def _load(path: Path, model: type[_M]) -> _M:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except OSError as e:
        raise IntelError(f"{path}: cannot read ({e.strerror or e})") from e
    except yaml.YAMLError as e:
        raise IntelError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from e
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise IntelError(f"{path}: {where}: {first['msg']}") from e


def _package_dir(*parts: str) -> Path:
    return Path(str(resources.files("phonehome").joinpath(*parts)))


def builtin_pack_paths() -> list[Path]:
    return sorted(_package_dir("policy", "packs").glob("*.yaml"))


def load_intel(extra_dirs: Iterable[Path] = (), extra_packs: Iterable[Path] = ()) -> Intel:
    """Load the shipped data plus any user directories (same file names) and packs."""
    data_dirs = [_package_dir("intel", "data"), *extra_dirs]
    entities: dict[str, Entity] = {}
    registrants: dict[str, tuple[str, str]] = {}
    domains: dict[str, DomainEntry] = {}
    signatures: list[CompiledSignature] = []
    networks: dict[str, NetworkEntry] = {}
    network_numbers: dict[int, NetworkEntry] = {}
    packages: dict[str, AndroidPackage] = {}
    prefixes: dict[str, PackagePrefix] = {}
    trackers: dict[str, TrackerSdk] = {}
    versions: list[str] = []
    for directory in data_dirs:
        found = False
        for name, model in (("entities.yaml", EntityFile),):
            path = directory / name
            if path.exists():
                found = True
                ef = _load(path, model)
                versions.append(ef.version)
                for entity in ef.entities:
                    entities[entity.id] = entity
        path = directory / "oui.yaml"
        if path.exists():
            found = True
            of = _load(path, OuiFile)
            for reg in of.registrants:
                registrants[normalise_registrant(reg.registrant)] = (reg.entity, reg.registrant)
        path = directory / "domains.yaml"
        if path.exists():
            found = True
            df = _load(path, DomainFile)
            for entry in df.domains:
                domains[entry.domain] = entry
        path = directory / "networks.yaml"
        if path.exists():
            found = True
            _index_networks(path, _load(path, NetworkFile), networks, network_numbers)
        path = directory / "signatures.yaml"
        if path.exists():
            found = True
            signatures.extend(_compile(path, _load(path, SignatureFile).signatures))
        path = directory / "android_packages.yaml"
        if path.exists():
            found = True
            _index_packages(path, _load(path, AndroidPackageFile), packages, prefixes)
        path = directory / "trackers.yaml"
        if path.exists():
            found = True
            _index_trackers(path, _load(path, TrackerFile), trackers)
        if not found and directory != data_dirs[0]:
            raise IntelError(f"{directory}: no intel files (entities/oui/domains/networks/signatures.yaml)")
    sig_path = _package_dir("identify", "signatures.yaml")
    if sig_path.exists():
        signatures[:0] = _compile(sig_path, _load(sig_path, SignatureFile).signatures)
    packs: dict[str, PolicyPack] = {}
    for path in [*builtin_pack_paths(), *extra_packs]:
        pack = _load(path, PolicyPack)
        packs[pack.id] = pack
    intel = Intel(
        entities=entities,
        registrants=registrants,
        domains=domains,
        signatures=signatures,
        packs=packs,
        version="+".join(versions) or "none",
        networks=networks,
        network_numbers=network_numbers,
        packages=packages,
        package_prefixes=tuple(sorted(prefixes.values(), key=lambda p: (-len(p.prefix), p.prefix))),
        trackers=trackers,
    )
    _check_references(intel)
    return intel


def _index_packages(
    path: Path,
    pf: AndroidPackageFile,
    packages: dict[str, AndroidPackage],
    prefixes: dict[str, PackagePrefix],
) -> None:
    """Add a file's packages and prefixes; a later directory's entry replaces an earlier one."""
    seen: set[str] = set()
    for entry in pf.packages:
        if entry.package in seen:
            raise IntelError(f"{path}: android package {entry.package} listed twice")
        seen.add(entry.package)
        packages[entry.package] = entry
    for prefix in pf.prefixes:
        if prefix.prefix in seen:
            raise IntelError(f"{path}: android package prefix {prefix.prefix} listed twice")
        seen.add(prefix.prefix)
        prefixes[prefix.prefix] = prefix


def _index_trackers(path: Path, tf: TrackerFile, trackers: dict[str, TrackerSdk]) -> None:
    """Add a file's trackers; a later directory's tracker of the same id replaces an earlier one."""
    ids: set[str] = set()
    signatures: dict[str, str] = {}
    for tracker in tf.trackers:
        if tracker.id in ids:
            raise IntelError(f"{path}: tracker {tracker.id} listed twice")
        ids.add(tracker.id)
        for sig in tracker.code_signatures:
            if sig in signatures:
                raise IntelError(f"{path}: code signature {sig} used by {signatures[sig]} and {tracker.id}")
            signatures[sig] = tracker.id
        trackers[tracker.id] = tracker


def _index_networks(
    path: Path,
    nf: NetworkFile,
    names: dict[str, NetworkEntry],
    numbers: dict[int, NetworkEntry],
) -> None:
    """Add a file's AS names and numbers; a later directory's entry replaces an earlier one."""
    seen_names: set[str] = set()
    seen_numbers: set[int] = set()
    for entry in nf.networks:
        for name in entry.names:
            key = normalise_registrant(name)
            if key in seen_names:
                raise IntelError(f"{path}: AS name {name!r} listed twice")
            seen_names.add(key)
            names[key] = entry
        for number in entry.asn:
            if number in seen_numbers:
                raise IntelError(f"{path}: AS{number} listed twice")
            seen_numbers.add(number)
            numbers[number] = entry


def _compile(path: Path, items: list[Signature]) -> list[CompiledSignature]:
    out = []
    seen: set[str] = set()
    for sig in items:
        if sig.id in seen:
            raise IntelError(f"{path}: {sig.id}: signature id used twice")
        seen.add(sig.id)
        try:
            regex = re.compile(sig.pattern, re.IGNORECASE)
        except re.error as e:
            raise IntelError(f"{path}: {sig.id}: bad pattern ({e})") from e
        literal = sig.literal.lower() if sig.literal else None
        kinds = sig.kinds
        for kind in kinds:
            single = sig if len(kinds) == 1 else sig.model_copy(update={"kind": kind})
            out.append(CompiledSignature(single, regex, literal))
    return out


def _check_references(intel: Intel) -> None:
    known = intel.entities
    problems: list[str] = []
    for entity in known.values():
        problems += [
            f"entity {entity.id}: relation to unknown entity {rel.target!r}"
            for rel in entity.relations
            if rel.target not in known
        ]
    problems += [
        f"oui registrant {written!r}: unknown entity {eid!r}"
        for eid, written in intel.registrants.values()
        if eid not in known
    ]
    problems += [
        f"domain {d.domain}: unknown entity {d.entity!r}"
        for d in intel.domains.values()
        if d.entity not in known
    ]
    problems += sorted(
        {
            f"network {n.names[0]!r}: unknown entity {n.entity!r}"
            for n in [*intel.networks.values(), *intel.network_numbers.values()]
            if n.entity not in known
        }
    )
    problems += [
        f"signature {s.signature.id}: unknown vendor {s.signature.vendor!r}"
        for s in intel.signatures
        if s.signature.vendor and s.signature.vendor not in known
    ]
    for pack in intel.packs.values():
        for rule in pack.rules:
            problems += [
                f"pack {pack.id} rule {rule.id}: unknown vendor {v!r}"
                for v in rule.match.vendors
                if v not in known
            ]
    problems += [
        f"android package {entry.package}: unknown entity {entry.entity!r}"
        for entry in intel.packages.values()
        if entry.entity is not None and entry.entity not in known
    ]
    problems += [
        f"android package prefix {entry.prefix}: unknown entity {entry.entity!r}"
        for entry in intel.package_prefixes
        if entry.entity is not None and entry.entity not in known
    ]
    problems += [
        f"tracker {t.id}: unknown entity {t.entity!r}"
        for t in intel.trackers.values()
        if t.entity is not None and t.entity not in known
    ]
    seen_rules: dict[str, str] = {}
    for pack in intel.packs.values():
        for rule in pack.rules:
            if rule.id in seen_rules:
                problems.append(f"rule id {rule.id} is used by {seen_rules[rule.id]} and {pack.id}")
            seen_rules[rule.id] = pack.id
    if problems:
        raise IntelError("intel data is inconsistent: " + "; ".join(problems[:5]))


@functools.cache
def default_intel() -> Intel:
    """The shipped intel data, loaded once per process."""
    return load_intel()
