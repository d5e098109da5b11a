"""The fingerprint matcher and the shipped signature rules.

Every example in ``identify/signatures.yaml`` goes through the real ``match()`` and must hit its
rule with the model, firmware and brand it lists; every counter-example must miss its rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from phonehome.identify.fingerprint import Fingerprinter, FingerprintMatch, match
from phonehome.intel.loader import Intel, IntelError, load_intel
from phonehome.intel.schema import Signature, SignatureExample, SignatureFile

SIGNATURES = Path(__file__).resolve().parents[2] / "src" / "phonehome" / "identify" / "signatures.yaml"
RESTRICTED = ("hikvision", "dahua", "huawei", "zte", "hytera")


def _rules() -> list[Signature]:
    data = yaml.safe_load(SIGNATURES.read_text(encoding="utf-8"))
    return SignatureFile.model_validate(data).signatures


def _example_cases() -> list[Any]:
    return [
        pytest.param(sig, kind, ex, id=f"{sig.id}-{kind}-{n}")
        for sig in _rules()
        for kind in sig.kinds
        for n, ex in enumerate(sig.examples)
    ]


def _counter_cases() -> list[Any]:
    return [
        pytest.param(sig, kind, value, id=f"{sig.id}-{kind}-not-{n}")
        for sig in _rules()
        for kind in sig.kinds
        for n, value in enumerate(sig.counter_examples)
    ]


def _hit(sig_id: str, kind: str, value: str) -> FingerprintMatch | None:
    return next((m for m in match(kind, value) if m.signature_id == sig_id), None)


# --- every rule's examples, through the real matcher ---------------------------------------------


@pytest.mark.parametrize(("sig", "kind", "example"), _example_cases())
def test_example_matches_its_rule(sig: Signature, kind: str, example: SignatureExample) -> None:
    hit = _hit(sig.id, kind, example.value)
    assert hit is not None, f"{sig.id} ({kind}) did not match {example.value!r}"
    assert hit.vendor == sig.vendor
    assert hit.device_type == sig.device_type
    assert hit.certainty == sig.certainty
    if example.model is not None:
        assert hit.model == example.model
    if example.firmware is not None:
        assert hit.firmware == example.firmware
    if example.brand is not None:
        assert hit.brand == example.brand


@pytest.mark.parametrize(("sig", "kind", "value"), _counter_cases())
def test_counter_example_misses_its_rule(sig: Signature, kind: str, value: str) -> None:
    assert _hit(sig.id, kind, value) is None, f"{sig.id} ({kind}) matched {value!r}"


# --- the rule file as a whole ----------------------------------------------------------------------


def test_rule_ids_are_unique() -> None:
    ids = [s.id for s in _rules()]
    assert len(ids) == len(set(ids))


def test_every_rule_has_examples_and_sources() -> None:
    for sig in _rules():
        assert sig.examples, sig.id
        assert all(s.strip() for s in sig.sources), sig.id


def test_literal_is_in_every_example() -> None:
    """A fast-path needle missing from a real example would silently disable the rule."""
    for sig in _rules():
        if sig.literal:
            for ex in sig.examples:
                assert sig.literal.lower() in ex.value.lower(), (sig.id, ex.value)


def test_restricted_vendors_have_rules_with_counter_examples() -> None:
    # Hytera radios show little on an IP network: its rules are the register's name and models.
    at_least = {"hikvision": 10, "dahua": 5, "huawei": 10, "zte": 10, "hytera": 2}
    rules = _rules()
    for vendor in RESTRICTED:
        own = [s for s in rules if s.vendor == vendor]
        assert len(own) >= at_least[vendor], vendor
        assert sum(1 for s in own if s.counter_examples) >= len(own) * 0.8, vendor


def test_required_kinds_are_covered() -> None:
    covered = {k for s in _rules() for k in s.kinds}
    required = {
        "http_server", "http_realm", "http_title", "favicon_md5", "rtsp_server", "tls_subject",
        "tls_issuer", "ssh_banner", "telnet_banner", "onvif_manufacturer", "onvif_model", "sadp",
        "dahua_discovery", "upnp_manufacturer", "upnp_model", "mdns_txt", "dhcp_vendor_class",
        "dhcp_prl", "user_agent", "nmap_service", "nmap_os", "asset_vendor", "asset_model",
    }  # fmt: skip
    assert required <= covered, required - covered


# --- asset-register rules never match loose substrings ---------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "Hangzhou Something Else",
        "Hangzhou Something Else Co., Ltd.",
        "Hikvisionary Systems",
        "Andahuaylas",
        "ZTEK Inc",
        "Huaweicloud reseller",
        "Hyteralabs",
        "Honor Device Co., Ltd.",
        "Uniview",
    ],
)
def test_asset_vendor_look_alikes_name_no_restricted_vendor(value: str) -> None:
    vendors = {m.vendor for m in match("asset_vendor", value)}
    assert not vendors & set(RESTRICTED), (value, vendors)


@pytest.mark.parametrize(
    ("value", "vendor", "model"),
    [
        ("DS-2CD2387G2-LU", "hikvision", "DS-2CD2387G2-LU"),
        ("DS-7616NXI-I2/16P/S", "hikvision", "DS-7616NXI-I2/16P/S"),
        ("DS-KV8213-WME1", "hikvision", "DS-KV8213-WME1"),
        ("IPC-HFW3549T1-AS-PV", "dahua", "IPC-HFW3549T1-AS-PV"),
        ("NVR5432-16P-EI", "dahua", "NVR5432-16P-EI"),
        ("DHI-NVR4216-16P-4KS2", "dahua", "DHI-NVR4216-16P-4KS2"),
        ("HG8245Q2", "huawei", "HG8245Q2"),
        ("ZXHN F670L", "zte", "ZXHN F670L"),
        ("PD985", "hytera", "PD985"),
        ("HP705", "hytera", "HP705"),
        ("RD965", "hytera", "RD965"),
    ],
)
def test_asset_model_numbers(value: str, vendor: str, model: str) -> None:
    hits = [m for m in match("asset_model", value) if m.vendor == vendor]
    assert hits and hits[0].model == model, match("asset_model", value)


@pytest.mark.parametrize(
    "value",
    [
        "IPC2124LR3-PF40",
        "RLC-810A",
        "XNO-6080R",
        "AXIS M3106-L Mk II",
        "DS-920+",
        "Canon MF643Cdw",
        "HP 705 Ink",
    ],
)
def test_asset_model_look_alikes_name_no_restricted_vendor(value: str) -> None:
    vendors = {m.vendor for m in match("asset_model", value)}
    assert not vendors & set(RESTRICTED), (value, vendors)


# --- the matcher ---------------------------------------------------------------------------------


def test_match_result_carries_detail() -> None:
    (hit,) = [m for m in match("onvif_model", "DS-2CD2143G2-I") if m.signature_id == "SIG-HIK-010"]
    assert hit.detail == "SIG-HIK-010: vendor=hikvision, model=DS-2CD2143G2-I, type=camera"


def test_match_is_case_insensitive() -> None:
    assert [m.signature_id for m in match("http_server", "hikvision-webs")] == ["SIG-HTTP-001"]


def test_unknown_kind_and_empty_value_match_nothing() -> None:
    assert match("no_such_kind", "Hikvision-Webs") == []
    assert match("http_server", "   ") == []


def test_host_name_kinds_use_hostname_rules() -> None:
    assert [m.signature_id for m in match("dhcp_hostname", "Johns-iPhone")] == ["SIG-HOST-001"]
    assert [m.signature_id for m in match("mdns_name", "Johns-iPad.local")] == ["SIG-HOST-002"]


def test_multi_kind_rule_matches_each_kind() -> None:
    for kind in ("onvif_manufacturer", "upnp_manufacturer", "asset_vendor"):
        assert [m.vendor for m in match(kind, "HIKVISION")] == ["hikvision"], kind


def test_fixed_model_applies_when_no_group(tmp_path: Path) -> None:
    intel = _user_intel(
        tmp_path,
        """
  - id: SIG-T-001
    kind: [http_title, http_server]
    pattern: '^Acme Cam'
    literal: acme
    vendor: hikvision
    model: AC-1
    firmware: "1.0"
    brand: Acme
    certainty: 0.5
    examples: [{value: "Acme Cam", model: AC-1, firmware: "1.0", brand: Acme}]
    sources: [test]
""",
    )
    fingerprinter = Fingerprinter(intel)
    for kind in ("http_title", "http_server"):
        (hit,) = [m for m in fingerprinter.match(kind, "acme cam 3") if m.signature_id == "SIG-T-001"]
        assert (hit.model, hit.firmware, hit.brand) == ("AC-1", "1.0", "Acme")
    # The fast path: a value without the literal never reaches the pattern.
    assert not [m for m in fingerprinter.match("http_title", "Cam") if m.signature_id == "SIG-T-001"]


def test_group_that_did_not_take_part_falls_back_to_fixed_value(tmp_path: Path) -> None:
    intel = _user_intel(
        tmp_path,
        """
  - id: SIG-T-002
    kind: http_title
    pattern: '^Acme(?: (?P<model>X\\d+))?$'
    vendor: hikvision
    model: generic
    certainty: 0.5
    examples: [{value: "Acme X9", model: X9}, {value: "Acme", model: generic}]
    sources: [test]
""",
    )
    fingerprinter = Fingerprinter(intel)

    def models(value: str) -> list[str | None]:
        return [m.model for m in fingerprinter.match("http_title", value) if m.signature_id == "SIG-T-002"]

    assert models("Acme X9") == ["X9"]
    assert models("Acme") == ["generic"]


def test_old_style_consumers_see_one_kind_per_compiled_signature() -> None:
    """Code that reads ``compiled.signature.kind`` (one string) keeps working with list kinds."""
    intel = load_intel()
    kinds = [c.signature.kind for c in intel.signatures if c.signature.id == "SIG-HIK-007"]
    assert sorted(kinds) == ["asset_vendor", "onvif_manufacturer", "upnp_manufacturer"]
    assert all(isinstance(c.signature.kind, str) for c in intel.signatures)


def _rule(rule_id: str = "SIG-T-1", kind: str = "http_title", pattern: str = "x", **extra: str) -> str:
    lines = [f"  - id: {rule_id}", f"    kind: {kind}", f"    pattern: '{pattern}'"]
    lines += [f"    {key}: {value}" for key, value in extra.items()]
    lines += ["    certainty: 0.5"]
    if "examples" not in extra:
        lines += ["    examples: [x]"]
    lines += ["    sources: [t]"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_rule(pattern="("), "bad pattern"),
        (_rule(kind="[]"), "at least one kind"),
        (_rule(examples="[]"), "examples"),
        (_rule(device_type="toaster"), "unknown device type"),
        (_rule() + _rule(pattern="y"), "used twice"),
    ],
)
def test_bad_rule_files_are_refused_with_the_path(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(IntelError, match=message) as info:
        _user_intel(tmp_path, body)
    assert str(tmp_path) in str(info.value)


def _user_intel(tmp_path: Path, body: str) -> Intel:
    text = 'version: "t"\nsignatures:\n' + body.lstrip("\n")
    (tmp_path / "signatures.yaml").write_text(text, encoding="utf-8")
    return load_intel([tmp_path])
