"""The telemetry endpoint catalogue (domains.yaml) and the AS-name map (networks.yaml).

Every entry states a purpose from the fixed vocabulary, what blocking it is documented to do and
its sources; lookups for sample hosts of each vendor give the expected owner and purpose; every
AS name is one geoip2fast's bundled data reports (or a registry handle next to one that is).
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from phonehome.intel.loader import Intel, IntelError, load_intel, normalise_registrant
from phonehome.intel.schema import PURPOSES, SUPPORT_PURPOSES, DomainEntry, DomainFile, NetworkFile

DATA = Path(__file__).resolve().parents[2] / "src" / "phonehome" / "intel" / "data"


def _raw(name: str) -> Any:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def intel() -> Intel:
    return load_intel()


@pytest.fixture(scope="module")
def raw_domains() -> list[dict[str, Any]]:
    return list(_raw("domains.yaml")["domains"])


# --- the catalogue validates -----------------------------------------------------------------------


def test_every_entry_states_purpose_blocking_and_sources(raw_domains: list[dict[str, Any]]) -> None:
    missing = [
        (d.get("domain"), key)
        for d in raw_domains
        for key in ("entity", "purpose", "blocking", "sources")
        if not d.get(key)
    ]
    assert not missing


def test_purposes_come_from_the_vocabulary(raw_domains: list[dict[str, Any]]) -> None:
    assert not [d["domain"] for d in raw_domains if d["purpose"] not in PURPOSES]


def test_blocking_notes_accompany_known_effects(raw_domains: list[dict[str, Any]]) -> None:
    for d in raw_domains:
        if d["blocking"] == "unknown":
            assert not d.get("blocking_note"), d["domain"]
        else:
            assert len(d.get("blocking_note", "")) >= 20, d["domain"]


def test_no_duplicate_domains(raw_domains: list[dict[str, Any]]) -> None:
    assert not [k for k, n in Counter(d["domain"] for d in raw_domains).items() if n > 1]


def test_sources_are_addresses(raw_domains: list[dict[str, Any]]) -> None:
    bad = [(d["domain"], s) for d in raw_domains for s in d["sources"] if not s.startswith("https://")]
    assert not bad


def test_dates_are_iso(raw_domains: list[dict[str, Any]]) -> None:
    bad = [
        d["domain"] for d in raw_domains if "date" in d and not re.match(r"^\d{4}(-\d{2}){0,2}$", d["date"])
    ]
    assert not bad


def test_vocabulary_keeps_the_purposes_attribution_weighs() -> None:
    from phonehome.identify.attribution import CLOUD_CERTAINTY

    assert set(CLOUD_CERTAINTY) <= set(PURPOSES)
    assert SUPPORT_PURPOSES <= set(PURPOSES)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"purpose": "account-api"}, "unknown purpose 'account-api'"),
        ({"purpose": "telemetry"}, "unknown purpose 'telemetry'"),
        ({"blocking": "maybe"}, "blocking"),
        ({"blocking": "breaks"}, "needs a blocking_note"),
        ({"sources": []}, "sources"),
    ],
)
def test_schema_rejects_bad_entries(entry: dict[str, Any], message: str) -> None:
    base = {"domain": "a.example", "entity": "x", "purpose": "analytics", "sources": ["https://example.org"]}
    with pytest.raises(ValueError, match=message):
        DomainEntry.model_validate({**base, **entry})


def test_a_user_file_with_an_unknown_purpose_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "domains.yaml").write_text(
        "version: x\ndomains:\n  - {domain: a.example, entity: huawei, purpose: spying, sources: [s]}\n"
    )
    with pytest.raises(IntelError, match=rf"^{tmp_path / 'domains.yaml'}: domains.0.purpose: .*'spying'"):
        load_intel([tmp_path])


def test_a_user_file_may_leave_purpose_out(tmp_path: Path) -> None:
    (tmp_path / "domains.yaml").write_text(
        "version: x\ndomains:\n  - {domain: a.example, entity: huawei, sources: [s]}\n"
    )
    entry = load_intel([tmp_path]).domain_entry("x.a.example")
    assert entry is not None and entry.purpose == "" and entry.blocking == "unknown"


# --- lookups per vendor ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "entity", "purpose"),
    [
        # Xiaomi
        ("tracking.miui.com", "xiaomi", "os-telemetry"),
        ("data.mistat.xiaomi.com", "xiaomi", "analytics"),
        ("data.mistat.intl.xiaomi.com", "xiaomi", "analytics"),
        ("sdkconfig.ad.xiaomi.com", "xiaomi", "ads"),
        ("api.ad.xiaomi.com", "xiaomi", "ads"),
        ("api.ad.intl.xiaomi.com", "xiaomi", "ads"),
        ("connect.rom.miui.com", "xiaomi", "connectivity-check"),
        ("api.xmpush.xiaomi.com", "xiaomi", "push"),
        ("sgp-api.xmpush.global.xiaomi.com", "xiaomi", "push"),
        ("api.account.xiaomi.com", "xiaomi", "account"),
        ("api.io.mi.com", "xiaomi", "vendor-services"),
        # Huawei
        ("metrics3.data.hicloud.com", "huawei", "analytics"),
        ("datacollector-dre.dt.hicloud.com", "huawei", "analytics"),
        ("metrics1-drcn.dt.dbankcloud.cn", "huawei", "analytics"),
        ("logservice1.hicloud.com", "huawei", "analytics"),
        ("grs.dbankcloud.com", "huawei", "vendor-services"),
        ("query.hicloud.com", "huawei", "software-update"),
        ("connectivitycheck.platform.hicloud.com", "huawei", "connectivity-check"),
        ("push-api.cloud.huawei.com", "huawei", "push"),
        ("ecs.ap-southeast-1.myhuaweicloud.com", "huawei-cloud", "cloud-platform"),
        # OPPO, OnePlus, realme, vivo
        ("dc.heytapmobile.com", "oppo", "analytics"),
        ("stat-in.dc.oppomobile.com", "oppo", "analytics"),
        ("adx-in.ads.heytapmobile.com", "oppo", "ads"),
        ("istore.oppomobile.com", "oppo", "vendor-services"),
        ("open.oneplus.net", "oneplus", "os-telemetry"),
        ("click.oneplus.com", "oneplus", "analytics"),
        ("iot-logser.realme.com", "realme", "analytics"),
        ("bdapi-ads.realmemobile.com", "realme", "ads"),
        ("eu-stsdk.vivoglobal.com", "vivo", "analytics"),
        ("wifi.vivo.com.cn", "vivo", "connectivity-check"),
        # Hikvision / EZVIZ
        ("api.hik-connect.com", "hikvision", "app-api"),
        ("api.hik-connectru.com", "hikvision", "app-api"),
        ("apiieu.ezvizlife.com", "ezviz", "app-api"),
        ("open.ys7.com", "ezviz", "app-api"),
        # Dahua / Imou
        ("www.easy4ipcloud.com", "dahua", "p2p-relay"),
        ("iotaccess.easy4ipcloud.com", "dahua", "device-cloud"),
        ("openapi-fk.easy4ip.com", "imou", "app-api"),
        # Tuya
        ("openapi.tuyaeu.com", "tuya", "cloud-platform"),
        # ByteDance
        ("log.byteoversea.com", "bytedance", "analytics"),
        ("log16-normal-useast1a.tiktokv.com", "bytedance", "app-api"),
        ("log.tiktokv.com", "bytedance", "analytics"),
        ("sf16-muse-va.ibytedtos.com", "bytedance", "cdn"),
        # Baidu, Tencent, Alibaba
        ("hmma.baidu.com", "baidu", "analytics"),
        ("loc.map.baidu.com", "baidu", "location"),
        ("android.bugly.qq.com", "tencent", "crash-reports"),
        ("pingma.qq.com", "tencent", "analytics"),
        ("api.tpns.sgp.tencent.com", "tencent", "push"),
        ("apis.map.qq.com", "tencent", "location"),
        ("alog.umeng.com", "alibaba", "analytics"),
        # support services
        ("time.google.com", "google", "time"),
        ("ntp.aliyun.com", "alibaba-cloud", "time"),
        ("dns.google", "google", "dns"),
        ("connectivitycheck.gstatic.com", "google", "connectivity-check"),
        ("www.gstatic.com", "google", "cdn"),
        ("d1.cloudfront.net", "aws", "cdn"),
        ("bucket.s3.amazonaws.com", "aws", "cloud-platform"),
        ("a1.akamaized.net", "akamai", "cdn"),
    ],
)
def test_lookup(intel: Intel, host: str, entity: str, purpose: str) -> None:
    entry = intel.domain_entry(host)
    assert entry is not None, host
    assert (entry.entity, entry.purpose) == (entity, purpose)


def test_lookup_matches_on_label_boundaries(intel: Intel) -> None:
    assert intel.domain_entry("notmiui.com") is None
    assert intel.domain_entry("evil-hicloud.com") is None


def test_connectivity_checks_say_what_blocking_degrades(intel: Intel) -> None:
    entry = intel.domain_entry("connect.rom.miui.com")
    assert entry is not None and entry.blocking == "degrades" and "no internet" in entry.blocking_note


def test_every_vendor_of_the_brief_is_covered(intel: Intel) -> None:
    owners = Counter(entry.entity for entry in intel.domains.values())
    for vendor in ("xiaomi", "huawei", "oppo", "oneplus", "realme", "vivo", "hikvision", "ezviz", "dahua"):
        assert owners[vendor] >= 1, vendor
    for vendor in ("imou", "tuya", "bytedance", "baidu", "tencent"):
        assert owners[vendor] >= 1, vendor


# --- infrastructure entities and AS names -----------------------------------------------------------


@pytest.fixture(scope="module")
def networks() -> NetworkFile:
    return NetworkFile.model_validate(_raw("networks.yaml"))


@pytest.fixture(scope="module")
def geo_names() -> set[str]:
    pytest.importorskip("geoip2fast")
    from geoip2fast import GeoIP2Fast
    from geoip2fast import geoip2fast as module

    GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn-ipv6.dat.gz", verbose=False)
    return {normalise_registrant(n) for n in module.mainListNamesASN}


def test_network_entities_are_infrastructure_or_named_on_purpose(intel: Intel, networks: NetworkFile) -> None:
    for entry in networks.networks:
        assert entry.entity in intel.entities, entry.entity
        assert intel.is_infrastructure(entry.entity) or entry.entity == "google", entry.names


def test_infrastructure_entities(intel: Intel) -> None:
    infra = {e.id for e in intel.entities.values() if e.role == "infrastructure"}
    assert infra >= {
        "akamai",
        "cloudflare",
        "aws",
        "google-cloud",
        "microsoft-azure",
        "fastly",
        "alibaba-cloud",
        "tencent-cloud",
        "huawei-cloud",
    }
    # Device makers and their groups are never infrastructure.
    assert not infra & {"huawei", "xiaomi", "google", "amazon", "alibaba", "tencent"}


def test_every_network_entry_has_a_name_geoip2fast_reports(
    networks: NetworkFile, geo_names: set[str]
) -> None:
    missing = [
        e.names for e in networks.networks if not any(normalise_registrant(n) in geo_names for n in e.names)
    ]
    assert not missing


def test_network_names_and_numbers_unique(networks: NetworkFile) -> None:
    names = [normalise_registrant(n) for e in networks.networks for n in e.names]
    numbers = [a for e in networks.networks for a in e.asn]
    assert not [k for k, n in Counter(names).items() if n > 1]
    assert not [k for k, n in Counter(numbers).items() if n > 1]


@pytest.mark.parametrize(
    ("as_name", "entity"),
    [
        ("AMAZON-02", "aws"),
        ("amazon-02", "aws"),
        ("AS16509", "aws"),
        ("AS16509 Amazon.com, Inc.", "aws"),
        ("CLOUDFLARENET", "cloudflare"),
        ("Akamai International B.V.", "akamai"),
        ("FASTLY", "fastly"),
        ("GOOGLE-CLOUD-PLATFORM", "google-cloud"),
        ("GOOGLE", "google"),
        ("MICROSOFT-CORP-MSN-AS-BLOCK", "microsoft-azure"),
        ("Alibaba US Technology Co., Ltd.", "alibaba-cloud"),
        ("ALIBABA-CN-NET Hangzhou Alibaba Advertising Co.,Ltd.", "alibaba-cloud"),
        ("Tencent Building, Kejizhongyi Avenue", "tencent-cloud"),
        ("TENCENT-NET-AP", "tencent-cloud"),
        ("HWCLOUDS-AS-AP HUAWEI CLOUDS", "huawei-cloud"),
        ("Comcast Cable Communications, LLC", None),
        ("AMAZON", None),  # no substring matching
        ("", None),
        (None, None),
    ],
)
def test_network_entity(intel: Intel, as_name: str | None, entity: str | None) -> None:
    assert intel.network_entity(as_name) == entity


def test_geoip2fast_names_resolve(intel: Intel) -> None:
    """The names geoip2fast returns for well-known addresses map to the right entities."""
    pytest.importorskip("geoip2fast")
    from phonehome.analyze.destinations import GeoLookup

    geo = GeoLookup()
    assert intel.network_entity(geo.lookup("1.1.1.1").asn) == "cloudflare"
    assert intel.network_entity(geo.lookup("151.101.1.1").asn) == "fastly"


def test_user_networks_file_overrides_and_is_checked(tmp_path: Path) -> None:
    (tmp_path / "networks.yaml").write_text(
        textwrap.dedent(
            """\
            version: local
            networks:
              - {names: [EXAMPLE-NET], asn: [64500], entity: aws, sources: [https://example.org]}
            """
        )
    )
    intel = load_intel([tmp_path])
    assert intel.network_entity("example-net") == "aws"
    assert intel.network_entity("AS64500") == "aws"
    assert intel.network_entity("AMAZON-02") == "aws"  # shipped entries stay


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  - {names: [X], entity: nobody, sources: [s]}\n", "unknown entity 'nobody'"),
        (
            "  - {names: [X], entity: aws, sources: [s]}\n  - {names: [x], entity: aws, sources: [s]}\n",
            "listed twice",
        ),
        ("  - {names: [X, Y], asn: [1, 1], entity: aws, sources: [s]}\n", "AS1 listed twice"),
        ("  - {names: [], entity: aws, sources: [s]}\n", "names"),
    ],
)
def test_bad_networks_file(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "networks.yaml").write_text("version: x\nnetworks:\n" + body)
    with pytest.raises(IntelError, match=message):
        load_intel([tmp_path])


def test_domain_file_model_accepts_the_catalogue() -> None:
    assert len(DomainFile.model_validate(_raw("domains.yaml")).domains) >= 150
