"""Checks on the shipped intel data files and policy packs.

Every file must validate against the schema, every cross-reference must resolve, every OUI example
must be registered in netaddr's bundled IEEE registry under the stated name, and every signature
example (and counter-example) must behave as stated.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

import netaddr
import pytest
import yaml

from phonehome.intel.schema import (
    DEVICE_TYPES,
    DomainFile,
    EntityFile,
    OuiFile,
    PolicyPack,
    SignatureFile,
)

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "src" / "phonehome"
DATA = PKG / "intel" / "data"
PACKS = sorted((PKG / "policy" / "packs").glob("*.yaml"))
SIGNATURES = PKG / "identify" / "signatures.yaml"


def _load(path: Path) -> object:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _norm(name: str) -> str:
    """Registrant names compared without case, spacing or punctuation differences."""
    return re.sub(r"[^a-z0-9]+", "", name.casefold())


@pytest.fixture(scope="module")
def entities() -> EntityFile:
    return EntityFile.model_validate(_load(DATA / "entities.yaml"))


@pytest.fixture(scope="module")
def entity_ids(entities: EntityFile) -> set[str]:
    return {e.id for e in entities.entities}


@pytest.fixture(scope="module")
def ouis() -> OuiFile:
    return OuiFile.model_validate(_load(DATA / "oui.yaml"))


@pytest.fixture(scope="module")
def domains() -> DomainFile:
    return DomainFile.model_validate(_load(DATA / "domains.yaml"))


@pytest.fixture(scope="module")
def signatures() -> SignatureFile:
    return SignatureFile.model_validate(_load(SIGNATURES))


@pytest.fixture(scope="module")
def packs() -> list[PolicyPack]:
    return [PolicyPack.model_validate(_load(p)) for p in PACKS]


# --- files validate and hold something -----------------------------------------------------------


def test_all_files_present_and_valid(
    entities: EntityFile,
    ouis: OuiFile,
    domains: DomainFile,
    signatures: SignatureFile,
    packs: list[PolicyPack],
) -> None:
    assert entities.entities
    assert ouis.registrants
    assert domains.domains
    assert len(signatures.signatures) >= 100
    assert {p.id for p in packs} >= {
        "fcc-covered-list",
        "ndaa-889",
        "uk-sensitive-sites-2022",
        "phonehome-traffic",
    }


def test_versions_match(
    entities: EntityFile, ouis: OuiFile, domains: DomainFile, signatures: SignatureFile
) -> None:
    assert {entities.version, ouis.version, domains.version, signatures.version} == {
        entities.version
    }


# --- entities ------------------------------------------------------------------------------------


def test_entity_ids_unique(entities: EntityFile) -> None:
    dupes = [k for k, n in Counter(e.id for e in entities.entities).items() if n > 1]
    assert not dupes


def test_relation_targets_exist(entities: EntityFile, entity_ids: set[str]) -> None:
    missing = [
        (e.id, r.target)
        for e in entities.entities
        for r in e.relations
        if r.target not in entity_ids
    ]
    assert not missing


def test_relations_are_not_self_links(entities: EntityFile) -> None:
    assert not [e.id for e in entities.entities for r in e.relations if r.target == e.id]


_DATEISH = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def test_relation_dates_are_iso(entities: EntityFile) -> None:
    bad = []
    for e in entities.entities:
        for r in e.relations:
            for value in (r.since, r.until):
                if value is None:
                    continue
                if not _DATEISH.match(value):
                    bad.append((e.id, r.target, value))
                elif len(value) == 10:
                    dt.date.fromisoformat(value)
            if r.since and r.until:
                assert r.since <= r.until, (e.id, r.target)
    assert not bad


def test_former_subsidiaries_have_an_end(entities: EntityFile) -> None:
    open_ended = [
        (e.id, r.target)
        for e in entities.entities
        for r in e.relations
        if r.type == "former-subsidiary" and not r.until
    ]
    assert not open_ended


def test_unverified_relations_explain_themselves(entities: EntityFile) -> None:
    bare = [
        (e.id, r.target)
        for e in entities.entities
        for r in e.relations
        if not r.verified and not r.note
    ]
    assert not bare


def test_sources_are_non_empty(entities: EntityFile) -> None:
    for e in entities.entities:
        assert all(s.strip() for s in e.sources), e.id
        for r in e.relations:
            assert all(s.strip() for s in r.sources), (e.id, r.target)


# --- OUI registrants -----------------------------------------------------------------------------


def test_oui_entities_exist(ouis: OuiFile, entity_ids: set[str]) -> None:
    assert not [r.registrant for r in ouis.registrants if r.entity not in entity_ids]


def test_oui_registrants_do_not_conflict(ouis: OuiFile) -> None:
    seen: dict[str, str] = {}
    for r in ouis.registrants:
        key = _norm(r.registrant)
        assert seen.setdefault(key, r.entity) == r.entity, r.registrant


def test_every_registrant_has_examples(ouis: OuiFile) -> None:
    assert not [r.registrant for r in ouis.registrants if not r.examples]


def _oui_cases() -> list[tuple[str, str]]:
    data = OuiFile.model_validate(_load(DATA / "oui.yaml"))
    return [(r.registrant, ex) for r in data.registrants for ex in r.examples]


@pytest.mark.parametrize(("registrant", "oui"), _oui_cases())
def test_oui_example_registered_to_registrant(registrant: str, oui: str) -> None:
    assert re.fullmatch(r"[0-9A-F]{2}-[0-9A-F]{2}-[0-9A-F]{2}", oui), oui
    record = netaddr.EUI(f"{oui}-00-00-00").oui
    orgs = [record.registration(i).org for i in range(record.reg_count)]
    assert _norm(registrant) in {_norm(o) for o in orgs}, (oui, orgs)


# --- domains -------------------------------------------------------------------------------------


def test_domain_entities_exist(domains: DomainFile, entity_ids: set[str]) -> None:
    assert not [d.domain for d in domains.domains if d.entity not in entity_ids]


def test_domains_unique_and_well_formed(domains: DomainFile) -> None:
    names = [d.domain for d in domains.domains]
    assert not [k for k, n in Counter(names).items() if n > 1]
    for name in names:
        labels = name.split(".")
        assert len(labels) >= 2 and all(labels), name


# --- signatures ----------------------------------------------------------------------------------


def test_signature_ids_unique(signatures: SignatureFile) -> None:
    assert not [k for k, n in Counter(s.id for s in signatures.signatures).items() if n > 1]


def test_signature_vendors_and_types_exist(signatures: SignatureFile, entity_ids: set[str]) -> None:
    for sig in signatures.signatures:
        assert sig.vendor is None or sig.vendor in entity_ids, sig.id
        assert sig.device_type is None or sig.device_type in DEVICE_TYPES, sig.id


def _signature_cases() -> list[tuple[str, str, str, bool]]:
    data = SignatureFile.model_validate(_load(SIGNATURES))
    cases = [(s.id, s.pattern, ex.value, True) for s in data.signatures for ex in s.examples]
    cases += [(s.id, s.pattern, ex, False) for s in data.signatures for ex in s.counter_examples]
    return cases


@pytest.mark.parametrize(("sig_id", "pattern", "value", "should_match"), _signature_cases())
def test_signature_examples(sig_id: str, pattern: str, value: str, should_match: bool) -> None:
    # The plain pattern; tests/identify/test_fingerprint.py runs the same values through match().
    matched = re.search(pattern, value, re.IGNORECASE) is not None
    assert matched is should_match, (sig_id, value)


# --- policy packs --------------------------------------------------------------------------------


def test_rule_ids_unique_across_packs(packs: list[PolicyPack]) -> None:
    ids = [r.id for p in packs for r in p.rules]
    assert not [k for k, n in Counter(ids).items() if n > 1]


def test_pack_ids_unique(packs: list[PolicyPack]) -> None:
    assert not [k for k, n in Counter(p.id for p in packs).items() if n > 1]


def test_pack_vendors_exist(packs: list[PolicyPack], entity_ids: set[str]) -> None:
    missing = [
        (r.id, v) for p in packs for r in p.rules for v in r.match.vendors if v not in entity_ids
    ]
    assert not missing


def test_pack_match_fields_are_known(packs: list[PolicyPack]) -> None:
    for pack in packs:
        for rule in pack.rules:
            m = rule.match
            assert set(m.device_types) <= set(DEVICE_TYPES), rule.id
            for code in (*m.producer_country_in, *m.producer_country_not_in):
                assert re.fullmatch(r"[A-Z]{2}", code), (rule.id, code)
            has_condition = bool(
                m.vendors or m.device_types or m.producer_country_in or m.producer_country_not_in
            )
            assert has_condition or m.destination is not None or m.leak is not None, rule.id


def test_rule_ids_carry_pack_prefix(packs: list[PolicyPack]) -> None:
    prefixes = {
        "fcc-covered-list": "PH-FCC-",
        "ndaa-889": "PH-889-",
        "uk-sensitive-sites-2022": "PH-UK-",
        "phonehome-traffic": "PH-TRF-",
    }
    for pack in packs:
        prefix = prefixes.get(pack.id)
        if prefix:
            assert all(r.id.startswith(prefix) for r in pack.rules), pack.id


def test_entity_countries_used_by_packs_are_known(
    packs: list[PolicyPack], entities: EntityFile
) -> None:
    """Rules about producer country need the named entities' countries to mean anything."""
    countries = {e.id: e.country for e in entities.entities}
    for pack in packs:
        for rule in pack.rules:
            if rule.match.producer_country_in or rule.match.producer_country_not_in:
                assert not rule.match.vendors or all(countries[v] for v in rule.match.vendors), (
                    rule.id
                )
