"""What goes into a containment blocklist, and why: selection, catalogue, filters, names, determinism.

The consumers' own checks (nft, unbound-checkconf, named-checkzone, dnsmasq, Zeek's reader,
Suricata's rule syntax) are in ``test_blocklist_consumers.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from phonehome.intel.loader import Intel
from phonehome.intel.schema import DomainEntry, Entity
from phonehome.model import Destination, Device, Evidence, Report
from phonehome.outputs.blocklists import (
    Blocklist,
    BlocklistError,
    BlocklistFormat,
    BlocklistOptions,
    Scope,
    build_blocklist,
)
from phonehome.outputs.blocklists.names import InvalidName, collapse, normalise_name
from phonehome.outputs.blocklists.suricata import SID_BASE, SID_SPAN, allocate_sids
from phonehome.testing.factories import make_destination, make_device, make_finding, make_report

HAS_BLOCKING = "blocking" in DomainEntry.model_fields
SRC = "https://example.org/source"


def _entity(eid: str, short: str, relations: tuple[tuple[str, str], ...] = ()) -> Entity:
    return Entity.model_validate(
        {
            "id": eid,
            "name": short,
            "short": short,
            "kind": "manufacturer",
            "sources": [SRC],
            "relations": [{"type": t, "target": target, "sources": [SRC]} for t, target in relations],
        }
    )


def _domain(domain: str, entity: str, purpose: str, blocking: str = "unknown", note: str = "") -> DomainEntry:
    data: dict[str, Any] = {"domain": domain, "entity": entity, "purpose": purpose}
    data["sources"] = [f"{SRC}/{domain}"]
    if HAS_BLOCKING and blocking != "unknown":
        data |= {"blocking": blocking, "blocking_note": note}
    return DomainEntry.model_validate(data)


def make_intel() -> Intel:
    """A small catalogue: Hikvision (with its EZVIZ brand), Huawei, Xiaomi and some bystanders."""
    entities = [
        _entity("hikvision", "Hikvision", (("brand", "ezviz"),)),
        _entity("ezviz", "EZVIZ"),
        _entity("huawei", "Huawei"),
        _entity("xiaomi", "Xiaomi"),
        _entity("microsoft", "Microsoft"),
        _entity("google", "Google"),
        _entity("apple", "Apple"),
    ]
    domains = [
        _domain("hik-connect.com", "hikvision", "app-api"),
        _domain("ys7.com", "ezviz", "app-api"),
        _domain("ezvizlife.com", "ezviz", "app-api"),
        _domain("hicloud.com", "huawei", "vendor-services"),
        _domain("grs.hicloud.com", "huawei", "device-cloud", "breaks", "router cloud management stops"),
        _domain("metrics.data.hicloud.com", "huawei", "analytics", "safe", "nothing stops"),
        _domain("xiaomi.com", "xiaomi", "vendor-services"),
        _domain("data.mistat.xiaomi.com", "xiaomi", "analytics"),
        _domain("mi.com", "xiaomi", "vendor-services"),
        _domain("miui.com", "xiaomi", "vendor-services"),
        _domain("windows.com", "microsoft", "general"),
        _domain("gstatic.com", "google", "cdn"),
        _domain("icloud.com", "apple", "cloud-platform"),
    ]
    return Intel(
        entities={e.id: e for e in entities},
        registrants={},
        domains={d.domain: d for d in domains},
        signatures=[],
        packs={},
        version="test-intel-1",
    )


INTEL = make_intel()


def build(report: Report | None = None, **options: Any) -> Blocklist:
    return build_blocklist(report or make_report(), INTEL, BlocklistOptions(**options), audit_id=7)


def render(fmt: BlocklistFormat, report: Report | None = None, **options: Any) -> str:
    return fmt.to_renderer().render(build(report, **options))


def names(blocklist: Blocklist) -> list[str]:
    return [e.name for e in blocklist.names]


# --- selection -----------------------------------------------------------------------------------


def test_devices_with_findings_are_selected_and_others_are_not() -> None:
    bl = build()
    # Sample report: findings on the Huawei router, the Hikvision camera and the Xiaomi phone.
    assert [d.id for d in bl.devices] == [
        "mac:00:e0:fc:12:34:56",
        "mac:64:09:80:9c:21:0e",
        "mac:c0:56:e3:4a:7b:01",
    ]
    camera = bl.device(bl.devices[2].id)
    assert camera is not None
    assert camera.reasons == ("PH-FCC-001", "PH-NDAA-001", "PH-UK-CAM-001")
    assert camera.addresses == ("192.168.1.20",)
    phone = bl.device(bl.devices[1].id)
    assert phone is not None and phone.addresses == ("192.168.1.42",)  # fe80:: is not routed
    # The laptop's and the randomised phone's destinations are nowhere.
    others = {"outlook.office365.com", "gateway.icloud.com", "connectivitycheck.gstatic.com"}
    assert not others & set(names(bl))
    assert "192.0.2.99" not in [a.ip for a in bl.addresses]


def test_named_device_is_selected_even_without_findings() -> None:
    bl = build(devices=("alice-macbook",), all_destinations=True)
    assert [d.id for d in bl.devices] == ["mac:3c:22:fb:0a:11:5d"]
    assert bl.devices[0].reasons == ("--device",)
    assert "www.bbc.co.uk" in names(bl)


def test_unknown_device_is_a_usage_error() -> None:
    with pytest.raises(BlocklistError, match=r"^--device: no device .*'nosuch'"):
        build(devices=("nosuch",))


def test_unknown_purpose_is_a_usage_error_naming_the_choices() -> None:
    expected = r"^--purpose: unknown purpose 'spying' \(expected one of .*app-api"
    with pytest.raises(BlocklistError, match=expected):
        build(purposes=("spying",))


# --- observed and catalogue entries --------------------------------------------------------------


def test_observed_vendor_destinations_and_the_vendor_family_catalogue() -> None:
    bl = build()
    got = set(names(bl))
    # Observed, operated by the device's own vendor.
    assert {"litedev.hik-connect.com", "open.ys7.com", "connectivitycheck.platform.hicloud.com"} <= got
    # Catalogue: Hikvision's family includes its EZVIZ brand.
    assert {"hik-connect.com", "ys7.com", "ezvizlife.com", "hicloud.com", "xiaomi.com"} <= got
    entry = next(e for e in bl.names if e.name == "ezvizlife.com")
    assert (entry.operator, entry.purpose, entry.observed) == ("ezviz", "app-api", False)
    assert entry.devices == ("mac:c0:56:e3:4a:7b:01",)
    assert entry.catalogue_sources == (f"{SRC}/ezvizlife.com",)
    observed = next(e for e in bl.names if e.name == "litedev.hik-connect.com")
    assert observed.observed and observed.addresses == ("203.0.113.40",)
    assert observed.purpose == "app-api"  # from the covering catalogue entry


def test_destinations_of_other_organisations_are_withheld_and_listed() -> None:
    bl = build()
    withheld = {w.target: w for w in bl.withheld}
    # The camera's NTP server is Microsoft's: a DNS block would hit every Windows PC.
    assert "time.windows.com" not in names(bl)
    assert "203.0.113.123" not in [a.ip for a in bl.addresses]
    reason = withheld["time.windows.com"].reason
    assert "operated by Microsoft, not by the device's vendor (Hikvision)" in reason
    assert withheld["time.windows.com"].devices == ("mac:c0:56:e3:4a:7b:01",)
    assert "www.youtube.com" in withheld
    text = render(BlocklistFormat.hosts)
    assert "#   time.windows.com: operated by Microsoft" in text
    assert "--all-destinations blocks" in text

    everything = build(all_destinations=True)
    assert {"time.windows.com", "www.youtube.com"} <= set(names(everything))
    assert not everything.withheld


def test_destination_named_by_a_finding_is_blocked_whoever_operates_it() -> None:
    device = make_device("02:00:00:00:00:09", ips=("10.0.0.9",), vendor="hikvision")
    dest = make_destination(device, "cloud.unknown-maker.example.cn", "198.51.100.9")
    other = make_destination(device, "pool.ntp.org", "198.51.100.123")
    finding = make_finding(
        device,
        "PH-TRF-002",
        evidence=(Evidence("destination", "cloud.unknown-maker.example.cn (198.51.100.9)", "flows"),),
    )
    report = make_report(devices=(device,), destinations=(dest, other), findings=(finding,))
    bl = build(report, include_catalogue=False)
    assert names(bl) == ["cloud.unknown-maker.example.cn"]
    assert bl.names[0].flagged_by == ("PH-TRF-002",)
    assert [a.ip for a in bl.addresses] == ["198.51.100.9"]
    assert [w.target for w in bl.withheld] == ["pool.ntp.org"]
    assert "operator unknown" in bl.withheld[0].reason


def test_observed_only_leaves_the_catalogue_out() -> None:
    bl = build(include_catalogue=False)
    assert bl.catalogue_intel is None
    assert all(e.observed for e in bl.names)
    assert "ezvizlife.com" not in names(bl)
    assert "catalogue not used (--observed-only)" in render(BlocklistFormat.hosts, include_catalogue=False)


def test_purpose_filter_keeps_only_those_purposes() -> None:
    bl = build(purposes=("analytics",))
    assert set(names(bl)) == {"data.mistat.xiaomi.com", "metrics.data.hicloud.com"}
    assert {a.ip for a in bl.addresses} == {"198.51.100.141"}
    unknown = build(purposes=("unknown",), devices=("alice-macbook",), all_destinations=True)
    assert names(unknown) == ["www.bbc.co.uk", "outlook.office365.com"]  # not in the catalogue


def test_catalogue_cdn_and_cloud_hosting_only_when_asked_for() -> None:
    # The laptop is Apple's; icloud.com is Apple's cloud platform, which carries others' services.
    bl = build(devices=("alice-macbook",))
    assert "icloud.com" not in names(bl)
    assert "gateway.icloud.com" in names(bl)  # observed, and Apple operates it
    withheld = {w.target: w.reason for w in bl.withheld}
    assert withheld["icloud.com"].startswith("catalogue purpose cloud-platform: it carries other")
    asked = build(devices=("alice-macbook",), purposes=("cloud-platform",))
    assert names(asked) == ["icloud.com", "gateway.icloud.com"]


@pytest.mark.skipif(not HAS_BLOCKING, reason="the intel schema has no `blocking` field yet")
def test_keep_required_withholds_what_the_device_needs_and_exempts_it_below_a_blocked_parent() -> None:
    assert "grs.hicloud.com" in names(build())
    bl = build(keep_required=True)
    assert "grs.hicloud.com" not in names(bl)
    required = [w for w in bl.withheld if w.required]
    assert [w.target for w in required] == ["grs.hicloud.com"]
    assert required[0].reason == "the catalogue says the device needs it: router cloud management stops"
    # hicloud.com is still blocked, so suffix formats must carve the required name out.
    assert 'local-zone: "grs.hicloud.com." transparent' in render(BlocklistFormat.unbound, keep_required=True)
    assert "server=/grs.hicloud.com/#" in render(BlocklistFormat.dnsmasq, keep_required=True)
    assert "@@||grs.hicloud.com^" in render(BlocklistFormat.adblock, keep_required=True)
    rpz = render(BlocklistFormat.rpz, keep_required=True)
    assert "grs.hicloud.com CNAME rpz-passthru." in rpz
    assert "*.grs.hicloud.com CNAME rpz-passthru." in rpz
    hosts = render(BlocklistFormat.hosts, keep_required=True)
    assert "0.0.0.0 grs.hicloud.com" not in hosts
    assert "#   grs.hicloud.com: the catalogue says the device needs it" in hosts


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Litedev.Hik-Connect.COM.", "litedev.hik-connect.com"),
        ("bücher.example.de", "xn--bcher-kva.example.de"),
        ("ＡＰＩ.example.com", "api.example.com"),
        ("_dmarc.example.com", "_dmarc.example.com"),
        ("xn--bcher-kva.example.de", "xn--bcher-kva.example.de"),
    ],
)
def test_names_are_normalised_to_idna_ascii(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "com",
        "co.uk",
        "localhost",
        "*",
        "*.example.com",
        "198.51.100.1",
        "2001:db8::1",
        "a..b.com",
        "-bad.example.com",
        "bad-.example.com",
        "x" * 64 + ".example.com",
        ("a" * 60 + ".") * 5 + "com",
        "evil.com\naddress=/#/",
        "space name.com",
        "example.com/path",
    ],
)
def test_invalid_names_are_refused(raw: str) -> None:
    with pytest.raises(InvalidName):
        normalise_name(raw)


def test_invalid_observed_names_are_dropped_and_counted_but_their_address_stays() -> None:
    device = make_device("02:00:00:00:00:09", ips=("10.0.0.9",), vendor="hikvision")
    dests = (
        make_destination(device, "co.uk", "198.51.100.1", organisation="hikvision"),
        make_destination(device, "bad name\n.example.com", "198.51.100.2", organisation="hikvision"),
        make_destination(device, "bücher.hik-connect.com", "198.51.100.3", organisation="hikvision"),
        make_destination(device, "ok.hik-connect.com", "fe80::1", organisation="hikvision"),
    )
    finding = make_finding(device)
    report = make_report(devices=(device,), destinations=dests, findings=(finding,))
    bl = build(report, include_catalogue=False)
    assert names(bl) == ["ok.hik-connect.com", "xn--bcher-kva.hik-connect.com"]
    assert [a.ip for a in bl.addresses] == ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
    assert len(bl.invalid) == 3
    assert any(text.startswith("co.uk (a top-level domain or public suffix)") for text in bl.invalid)
    assert any("bad name?.example.com" in text for text in bl.invalid)  # control character shown as ?
    assert any(text.startswith("fe80::1 (not a routable remote address)") for text in bl.invalid)
    text = render(BlocklistFormat.dnsmasq, report, include_catalogue=False)
    assert "3 invalid dropped" in text
    assert "\naddress=/co.uk/" not in text
    assert all(line.startswith(("#", "address=/")) or not line for line in text.splitlines())


def test_collapse_folds_names_under_a_listed_parent() -> None:
    items = ["a.b.example.com", "b.example.com", "example.com"]
    items += ["example.org", "x.example.org", "notexample.com"]
    assert collapse(items, lambda s: s) == [
        ("example.com", ["a.b.example.com", "b.example.com"]),
        ("example.org", ["x.example.org"]),
        ("notexample.com", []),
    ]


def test_suffix_formats_fold_subdomains_exact_formats_keep_them() -> None:
    dnsmasq = render(BlocklistFormat.dnsmasq)
    assert "address=/hik-connect.com/" in dnsmasq
    assert "address=/litedev.hik-connect.com/" not in dnsmasq
    assert "\n#   also covers litedev.hik-connect.com: Hikvision app-api | devices: DS-2CD" in dnsmasq
    hosts = render(BlocklistFormat.hosts)
    assert "0.0.0.0 hik-connect.com" in hosts
    assert "0.0.0.0 litedev.hik-connect.com" in hosts
    assert ":: litedev.hik-connect.com" in hosts
    plain = render(BlocklistFormat.domains)
    assert "\nlitedev.hik-connect.com\n" in plain
    adblock = render(BlocklistFormat.adblock)
    assert "||hik-connect.com^" in adblock and "||litedev.hik-connect.com^" not in adblock


# --- every format --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(BlocklistFormat))
def test_every_format_is_deterministic_and_headed_with_provenance(fmt: BlocklistFormat) -> None:
    first = render(fmt)
    assert first == render(fmt)
    # Devices and destinations in another order: same bytes.
    report = make_report()
    shuffled = dataclasses.replace(
        report,
        devices=tuple(reversed(report.devices)),
        destinations=tuple(reversed(report.destinations)),
        findings=tuple(reversed(report.findings)),
    )
    assert render(fmt, shuffled) == first
    head = first[:2000]
    assert "audit: 7; report generated_at: 2024-05-01T12:00:00Z" in head
    assert "intel: report 2024.05.0; catalogue test-intel-1" in head
    assert f"options: --format {fmt.value}" in head
    assert "2026" not in first  # no wall-clock time anywhere
    assert first.endswith("\n") and "\r" not in first


@pytest.mark.parametrize("fmt", list(BlocklistFormat))
def test_every_format_renders_an_empty_selection(fmt: BlocklistFormat) -> None:
    text = render(fmt, make_report(findings=()))
    assert "devices (0):" in text
    assert "entries: 0 names, 0 addresses" in text


def test_every_entry_says_why() -> None:
    text = render(BlocklistFormat.dnsmasq)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("address=/"):
            why = lines[i - 1]
            assert why.startswith("# ") and " | devices: " in why
    hik = next(line for line in lines if line.startswith("# hik-connect.com:"))
    assert "Hikvision app-api" in hik
    assert "DS-2CD2143G2-I [mac:c0:56:e3:4a:7b:01]" in hik
    assert f"intel catalogue test-intel-1 ({SRC}/hik-connect.com)" in hik
    litedev = render(BlocklistFormat.hosts).split("# litedev.hik-connect.com:")[1].splitlines()[0]
    assert "observed in audit 7" in litedev


def test_hostile_host_names_cannot_break_out_of_comments() -> None:
    device = make_device(
        "02:00:00:00:00:09", ips=("10.0.0.9",), hostnames=("cam\naddress=/#/\n",), vendor="hikvision"
    )
    dest = make_destination(device, "x.hik-connect.com", "198.51.100.9", organisation="hikvision")
    report = make_report(devices=(device,), destinations=(dest,), findings=(make_finding(device),))
    for fmt in BlocklistFormat:
        text = render(fmt, report)
        assert "\naddress=/#/" not in text, fmt
        assert all(not line.startswith("address=/#") for line in text.splitlines()), fmt


def test_suricata_sids_are_stable_unique_and_in_range() -> None:
    keys = [f"dns:host{i}.example.com" for i in range(3000)]
    sids = allocate_sids(keys)
    assert len(set(sids.values())) == len(keys)
    assert all(SID_BASE <= s < SID_BASE + SID_SPAN for s in sids.values())
    # A rule keeps its sid when others come and go (barring a hash collision).
    fewer = allocate_sids(keys[:10] + ["dns:new.example.com"])
    assert all(fewer[k] == sids[k] for k in keys[:10])


def test_nftables_scope_device_and_subnet() -> None:
    by_device = render(BlocklistFormat.nftables)
    assert "set mac_c056e34a7b01_v4 {" in by_device
    assert "ip saddr { 192.168.1.20 } ip daddr @mac_c056e34a7b01_v4 counter drop" in by_device
    by_subnet = render(BlocklistFormat.nftables, scope=Scope.subnet)
    assert "set blocked_v4 {" in by_subnet
    assert "ip saddr { 192.168.1.0/24 } ip daddr @blocked_v4 counter drop" in by_subnet
    assert "--scope subnet" in by_subnet


def ipv6_report() -> Report:
    device: Device = make_device(
        "02:00:00:00:00:66", ips=("2001:db8:1::66", "fe80::66", "192.0.2.66"), vendor="hikvision"
    )
    dests: tuple[Destination, ...] = (
        make_destination(device, "v6.hik-connect.com", "2001:db8:ffff::1", organisation="hikvision"),
        make_destination(device, "v4.hik-connect.com", "203.0.113.1", organisation="hikvision"),
    )
    return make_report(devices=(device,), destinations=dests, findings=(make_finding(device),))


def test_nftables_has_ipv6_sets_and_rules() -> None:
    text = render(BlocklistFormat.nftables, ipv6_report())
    assert "type ipv6_addr" in text
    assert "ip6 saddr { 2001:db8:1::66 } ip6 daddr @mac_020000000066_v6 counter drop" in text
    assert "fe80::66" not in text.split("table inet phonehome_blocklist {")[1]
    subnet = render(BlocklistFormat.nftables, ipv6_report(), scope=Scope.subnet)
    assert "ip6 saddr { 2001:db8:1::/64 } ip6 daddr @blocked_v6 counter drop" in subnet


def odd_report() -> Report:
    """Awkward but real input: IDNs, underscores, invalid names, hostile and huge host names,
    many devices sharing destinations, and more addresses than one Suricata rule holds."""
    devices = tuple(
        make_device(
            f"02:00:00:00:01:{i:02x}",
            ips=(f"10.1.{i // 200}.{i % 200 + 1}", f"2001:db8:1::{i + 1:x}"),
            hostnames=(('cam;"\\|\t' + "x" * 3000) if i == 0 else f"cam-{i}",),
            vendor="hikvision",
        )
        for i in range(12)
    )
    dests = [
        make_destination(devices[0], "bücher.hik-connect.com", "198.51.100.1", organisation="hikvision"),
        make_destination(devices[0], "_srv.hik-connect.com", "198.51.100.2", organisation="hikvision"),
        make_destination(devices[0], "com", "198.51.100.3", organisation="hikvision"),
        make_destination(devices[0], "*.hik-connect.com", "198.51.100.4", organisation="hikvision"),
        make_destination(devices[1], None, "2001:db8:ff::1", organisation="hikvision"),
    ]
    dests += [
        make_destination(d, f"n{j}.hik-connect.com", f"203.0.113.{j}", organisation="hikvision")
        for d in devices
        for j in range(1, 4)
    ]
    dests += [
        make_destination(devices[2], f"m{j}.ys7.com", f"198.18.0.{j + 1}", organisation="ezviz")
        for j in range(230)
    ]
    findings = tuple(make_finding(d) for d in devices)
    return make_report(devices=devices, destinations=tuple(dests), findings=findings)


def test_odd_input_stays_bounded_and_in_syntax() -> None:
    bl = build(odd_report())
    assert "xn--bcher-kva.hik-connect.com" in names(bl)
    assert "_srv.hik-connect.com" in names(bl)
    assert len(bl.invalid) == 2  # "com" and the wildcard
    for fmt in BlocklistFormat:
        text = render(fmt, odd_report())
        for line in text.splitlines():
            if line.lstrip().startswith(("#", ";", "!")):
                assert len(line) <= 400, (fmt, line[:80])
        assert "\t" not in text or fmt is BlocklistFormat.zeek_intel
    hik = next(e for e in bl.names if e.name == "hik-connect.com")
    assert len(hik.devices) == 12
    assert "and 7 more" in render(BlocklistFormat.dnsmasq, odd_report())
    suricata = render(BlocklistFormat.suricata, odd_report())
    ip_rules = [line for line in suricata.splitlines() if line.startswith("alert ip ")]
    assert len(ip_rules) == 12 + 2  # one device contacted 233 addresses: three rules
