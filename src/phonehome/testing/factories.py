"""Builders of realistic ``Report`` values for tests and renderer previews.

Everything here is deterministic: the same call always returns an equal report. Remote
addresses come from the documentation ranges (RFC 5737), so no real host is named by address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from phonehome.model import (
    Attribution,
    Destination,
    Device,
    DeviceID,
    EntityRef,
    Evidence,
    Finding,
    InputSummary,
    PolicyRef,
    Report,
    RuleID,
    Severity,
    Traffic,
)

T0 = 1714550400.0
"""2024-05-01T08:00:00Z: start of the sample captures."""

GENERATED_AT = "2024-05-01T12:00:00Z"
INTEL_VERSION = "2024.05.0"

OFFICE_PCAP = "captures/office-2024-05-01.pcapng"
LOBBY_PCAP = "captures/lobby-camera.pcap.gz"

FCC_REFERENCES = ("https://www.fcc.gov/supplychain/coveredlist",)
NDAA_REFERENCES = (
    "https://www.acquisition.gov/far/52.204-25",
    "https://www.congress.gov/bill/115th-congress/house-bill/5515",
)
UK_REFERENCES = ("https://questions-statements.parliament.uk/written-statements/detail/2022-11-24/hcws386",)

FCC_HIKVISION_SCOPE = (
    "Video surveillance and telecommunications equipment produced by Hangzhou Hikvision "
    "Digital Technology Company, to the extent it is used for the purpose of public safety, "
    "security of government facilities, physical security surveillance of critical "
    "infrastructure, and other national security purposes, including telecommunications or "
    "video surveillance services provided by such entity or using such equipment."
)
FCC_HUAWEI_SCOPE = (
    "Telecommunications equipment produced by Huawei Technologies Company, including "
    "telecommunications or video surveillance services provided by such entity or using such "
    "equipment."
)
NDAA_HIKVISION_SCOPE = (
    "Video surveillance and telecommunications equipment produced by Hytera Communications "
    "Corporation, Hangzhou Hikvision Digital Technology Company, or Dahua Technology Company "
    "(or any subsidiary or affiliate of such entities)."
)
NDAA_HUAWEI_SCOPE = (
    "Telecommunications equipment produced by Huawei Technologies Company or ZTE Corporation "
    "(or any subsidiary or affiliate of such entities)."
)
UK_CAMERA_SCOPE = (
    "Departments have been instructed to cease deployment of visual surveillance systems "
    "produced by companies subject to the National Intelligence Law of the People's Republic "
    "of China onto sensitive sites."
)

ENTITIES: tuple[EntityRef, ...] = (
    EntityRef("apple", "Apple", "US"),
    EntityRef("google", "Google", "US"),
    EntityRef("hikvision", "Hikvision", "CN"),
    EntityRef("huawei", "Huawei", "CN"),
    EntityRef("microsoft", "Microsoft", "US"),
    EntityRef("xiaomi", "Xiaomi", "CN"),
)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_device(
    mac: str | None = "02:00:00:00:00:01",
    *,
    ips: Iterable[str] = ("192.168.1.10",),
    hostnames: Iterable[str] = (),
    vendor: str | None = None,
    brand: str | None = None,
    device_type: str | None = None,
    confidence: float = 0.0,
    evidence: Iterable[Evidence] = (),
    bytes_out: int = 0,
    bytes_in: int = 0,
    roles: Iterable[str] = (),
    device_id: str | None = None,
) -> Device:
    """A device keyed by MAC (or by its first IP when ``mac`` is None)."""
    ip_tuple = tuple(ips)
    if device_id is None:
        device_id = f"mac:{mac}" if mac else f"ip:{ip_tuple[0] if ip_tuple else '0.0.0.0'}"
    return Device(
        id=DeviceID(device_id),
        mac=mac,
        ips=ip_tuple,
        hostnames=tuple(hostnames),
        attribution=Attribution(
            vendor=vendor,
            brand=brand,
            device_type=device_type,
            confidence=confidence,
            evidence=tuple(evidence),
        ),
        bytes_out=bytes_out,
        bytes_in=bytes_in,
        roles=tuple(roles),
    )


def _device_id(device: Device | str) -> DeviceID:
    return device.id if isinstance(device, Device) else DeviceID(device)


def make_destination(
    device: Device | str,
    name: str | None = "example.com",
    ip: str = "198.51.100.10",
    *,
    domain: str | None = None,
    organisation: str | None = None,
    asn: str | None = None,
    country: str | None = None,
    bytes_out: int = 1000,
    bytes_in: int = 2000,
    flows: int = 1,
    first_seen: float = T0,
    last_seen: float | None = None,
    applications: Iterable[str] = (),
    ports: Iterable[str] = ("tcp/443",),
) -> Destination:
    """A destination of ``device``; ``domain`` defaults to the last two labels of ``name``."""
    if domain is None and name is not None:
        domain = ".".join(name.split(".")[-2:])
    return Destination(
        device_id=_device_id(device),
        ip=ip,
        name=name,
        domain=domain,
        organisation=organisation,
        asn=asn,
        country=country,
        traffic=Traffic(
            bytes_out=bytes_out,
            bytes_in=bytes_in,
            flows=flows,
            first_seen=first_seen,
            last_seen=first_seen + 600.0 if last_seen is None else last_seen,
            applications=tuple(applications),
            ports=tuple(ports),
        ),
    )


def make_finding(
    device: Device | str,
    rule_id: str = "PH-FCC-001",
    *,
    policy: str = "fcc-covered-list",
    severity: Severity = Severity.HIGH,
    title: str = "Equipment from an entity on the FCC Covered List",
    scope: str = FCC_HIKVISION_SCOPE,
    effective: str | None = "2021-03-12",
    references: Iterable[str] = FCC_REFERENCES,
    evidence: Iterable[Evidence] | None = None,
    category: str = "equipment",
) -> Finding:
    """A finding on ``device``; evidence defaults to the device's attribution evidence."""
    device_id = _device_id(device)
    if evidence is None:
        evidence = device.attribution.evidence if isinstance(device, Device) else ()
    return Finding(
        id=f"{rule_id}:{device_id}",
        rule_id=RuleID(rule_id),
        severity=severity,
        device_id=device_id,
        title=title,
        policy=PolicyRef(policy=policy, scope=scope, effective=effective, references=tuple(references)),
        evidence=tuple(evidence),
        category=category,
    )


def _ev(kind: str, value: str, packet: int, detail: str = "", path: str = OFFICE_PCAP) -> Evidence:
    return Evidence(kind=kind, value=value, source=f"{path}#{packet}", detail=detail)


def sample_devices() -> tuple[Device, ...]:
    """The five devices of the sample office network."""
    router = make_device(
        "00:e0:fc:12:34:56",
        ips=("192.168.1.1",),
        hostnames=("HG8245H",),
        vendor="huawei",
        brand="Huawei",
        device_type="router",
        confidence=0.95,
        roles=("gateway",),
        bytes_out=184_220,
        bytes_in=97_310,
        evidence=(
            _ev("oui", "00:E0:FC", 1, "intel huawei: OUI 00:E0:FC"),
            _ev("gateway", "next hop for 4 local hosts", 1, "inventory: gateway heuristic"),
            _ev("http_server", "HuaweiHomeGateway", 2210, "intel huawei: HTTP Server header"),
            _ev("dhcp_server", "192.168.1.1", 14, ""),
        ),
    )
    camera = make_device(
        "c0:56:e3:4a:7b:01",
        ips=("192.168.1.20",),
        hostnames=("DS-2CD2143G2-I",),
        vendor="hikvision",
        brand="Hikvision",
        device_type="camera",
        confidence=0.97,
        bytes_out=48_911_204,
        bytes_in=1_204_993,
        evidence=(
            _ev("oui", "C0:56:E3", 3, "intel hikvision: OUI C0:56:E3"),
            _ev("dhcp_hostname", "DS-2CD2143G2-I", 31, "intel hikvision: model prefix DS-2CD"),
            _ev("tls_sni", "litedev.hik-connect.com", 410, "intel hikvision: domain hik-connect.com"),
            _ev("http_server", "App-webs/", 52, "intel hikvision: HTTP Server header", LOBBY_PCAP),
        ),
    )
    phone = make_device(
        "64:09:80:9c:21:0e",
        ips=("192.168.1.42", "fe80::6609:80ff:fe9c:210e"),
        hostnames=("Redmi-Note-12",),
        vendor="xiaomi",
        brand="Redmi",
        device_type="phone",
        confidence=0.9,
        bytes_out=3_812_400,
        bytes_in=27_450_120,
        evidence=(
            _ev("oui", "64:09:80", 77, "intel xiaomi: OUI 64:09:80"),
            _ev("dhcp_vendor_class", "android-dhcp-13", 78, "phone: Android DHCP client"),
            _ev("dhcp_hostname", "Redmi-Note-12", 78, "intel xiaomi: brand Redmi"),
            _ev("tls_sni", "api.io.mi.com", 1021, "intel xiaomi: domain mi.com"),
        ),
    )
    laptop = make_device(
        "3c:22:fb:0a:11:5d",
        ips=("192.168.1.50",),
        hostnames=("alice-macbook",),
        vendor="apple",
        brand="Apple",
        device_type="pc",
        confidence=0.8,
        bytes_out=9_120_555,
        bytes_in=152_884_001,
        evidence=(
            _ev("oui", "3C:22:FB", 120, "intel apple: OUI 3C:22:FB"),
            _ev("mdns_model", "MacBookPro18,3", 133, "intel apple: mDNS model"),
            _ev("dhcp_vendor_class", "", 121, "no vendor class sent"),
        ),
    )
    randomised = make_device(
        "da:a1:19:5e:03:c2",
        ips=("192.168.1.77",),
        device_type="phone",
        confidence=0.0,
        roles=("randomised-mac",),
        bytes_out=402_118,
        bytes_in=2_980_440,
        evidence=(
            _ev("mac_locally_administered", "da:a1:19:5e:03:c2", 301, "randomised MAC address"),
            _ev("dhcp_vendor_class", "android-dhcp-14", 302, "phone: Android DHCP client"),
        ),
    )
    return (router, camera, phone, laptop, randomised)


def sample_destinations(devices: tuple[Device, ...]) -> tuple[Destination, ...]:
    """Where the sample devices sent data."""
    router, camera, phone, laptop, randomised = devices
    alibaba = "ALIBABA-CN-NET Hangzhou Alibaba Advertising Co.,Ltd."
    return (
        make_destination(
            router,
            "connectivitycheck.platform.hicloud.com",
            "198.51.100.21",
            organisation="huawei",
            asn="HWCLOUDS-AS-AP HUAWEI CLOUDS",
            country="CN",
            bytes_out=184_220,
            bytes_in=97_310,
            flows=48,
            first_seen=T0 + 5,
            last_seen=T0 + 14_100,
            ports=("tcp/443",),
            applications=("TLS",),
        ),
        make_destination(
            camera,
            "litedev.hik-connect.com",
            "203.0.113.40",
            organisation="hikvision",
            asn="AMAZON-02",
            country="DE",
            bytes_out=41_520_811,
            bytes_in=980_112,
            flows=212,
            first_seen=T0 + 12,
            last_seen=T0 + 14_390,
            ports=("tcp/443", "udp/6800"),
            applications=("TLS",),
        ),
        make_destination(
            camera,
            "open.ys7.com",
            "198.51.100.88",
            organisation="hikvision",
            asn=alibaba,
            country="CN",
            bytes_out=7_390_393,
            bytes_in=224_881,
            flows=36,
            first_seen=T0 + 40,
            last_seen=T0 + 13_800,
            ports=("tcp/443",),
            applications=("TLS",),
        ),
        make_destination(
            camera,
            "time.windows.com",
            "203.0.113.123",
            organisation="microsoft",
            asn="MICROSOFT-CORP-MSN-AS-BLOCK",
            country="US",
            bytes_out=0,
            bytes_in=0,
            flows=4,
            first_seen=T0 + 2,
            last_seen=T0 + 10_802,
            ports=("udp/123",),
            applications=("NTP",),
        ),
        make_destination(
            phone,
            "api.io.mi.com",
            "198.51.100.140",
            organisation="xiaomi",
            asn=alibaba,
            country="CN",
            bytes_out=1_904_112,
            bytes_in=2_118_004,
            flows=61,
            first_seen=T0 + 90,
            last_seen=T0 + 14_250,
            ports=("tcp/443",),
            applications=("TLS", "Xiaomi"),
        ),
        make_destination(
            phone,
            "data.mistat.xiaomi.com",
            "198.51.100.141",
            organisation="xiaomi",
            asn=alibaba,
            country="CN",
            bytes_out=1_288_904,
            bytes_in=88_120,
            flows=19,
            first_seen=T0 + 95,
            last_seen=T0 + 13_990,
            ports=("tcp/443",),
            applications=("TLS", "Xiaomi"),
        ),
        make_destination(
            phone,
            "tracking.intl.miui.com",
            "203.0.113.77",
            organisation="xiaomi",
            asn="AMAZON-02",
            country="SG",
            bytes_out=412_880,
            bytes_in=40_210,
            flows=12,
            first_seen=T0 + 101,
            last_seen=T0 + 12_010,
            ports=("tcp/443",),
            applications=("TLS",),
        ),
        make_destination(
            phone,
            "www.youtube.com",
            "203.0.113.200",
            organisation="google",
            asn="GOOGLE",
            country="US",
            bytes_out=206_504,
            bytes_in=25_203_786,
            flows=9,
            first_seen=T0 + 600,
            last_seen=T0 + 2_410,
            ports=("udp/443",),
            applications=("QUIC", "YouTube"),
        ),
        make_destination(
            laptop,
            "outlook.office365.com",
            "203.0.113.150",
            organisation="microsoft",
            asn="MICROSOFT-CORP-MSN-AS-BLOCK",
            country="IE",
            bytes_out=6_800_120,
            bytes_in=40_220_913,
            flows=88,
            first_seen=T0 + 30,
            last_seen=T0 + 14_380,
            ports=("tcp/443",),
            applications=("TLS", "Outlook"),
        ),
        make_destination(
            laptop,
            "www.bbc.co.uk",
            "198.51.100.60",
            domain="bbc.co.uk",
            asn="BBC",
            country="GB",
            bytes_out=120_430,
            bytes_in=12_663_088,
            flows=14,
            first_seen=T0 + 700,
            last_seen=T0 + 1_900,
            ports=("tcp/443",),
            applications=("TLS",),
        ),
        make_destination(
            laptop,
            "gateway.icloud.com",
            "203.0.113.17",
            organisation="apple",
            asn="APPLE-ENGINEERING",
            country="US",
            bytes_out=2_200_005,
            bytes_in=100_000_000,
            flows=31,
            first_seen=T0 + 60,
            last_seen=T0 + 14_000,
            ports=("tcp/443",),
            applications=("TLS", "iCloud"),
        ),
        make_destination(
            randomised,
            "connectivitycheck.gstatic.com",
            "203.0.113.201",
            organisation="google",
            asn="GOOGLE",
            country="US",
            bytes_out=18_220,
            bytes_in=9_040,
            flows=22,
            first_seen=T0 + 300,
            last_seen=T0 + 14_300,
            ports=("tcp/80",),
            applications=("HTTP",),
        ),
        make_destination(
            randomised,
            None,
            "192.0.2.99",
            asn=None,
            country=None,
            bytes_out=383_898,
            bytes_in=2_971_400,
            flows=3,
            first_seen=T0 + 5_000,
            last_seen=T0 + 5_630,
            ports=("udp/51820",),
            applications=("WireGuard",),
        ),
    )


def sample_findings(devices: tuple[Device, ...]) -> tuple[Finding, ...]:
    """Policy findings on the sample devices."""
    router, camera, phone, _laptop, _randomised = devices
    cam_ev = camera.attribution.evidence
    return (
        make_finding(
            camera,
            "PH-FCC-001",
            policy="fcc-covered-list",
            severity=Severity.HIGH,
            title="Hikvision video surveillance equipment (FCC Covered List)",
            scope=FCC_HIKVISION_SCOPE,
            effective="2021-03-12",
            references=FCC_REFERENCES,
            evidence=(
                *cam_ev,
                Evidence(
                    "policy_entity",
                    "hikvision",
                    "fcc-covered-list",
                    "Covered List entry: Hangzhou Hikvision Digital Technology Company",
                ),
            ),
        ),
        make_finding(
            camera,
            "PH-NDAA-001",
            policy="ndaa-889",
            severity=Severity.HIGH,
            title="Hikvision video surveillance equipment (NDAA section 889)",
            scope=NDAA_HIKVISION_SCOPE,
            effective="2019-08-13",
            references=NDAA_REFERENCES,
            evidence=(
                *cam_ev,
                Evidence(
                    "policy_entity",
                    "hikvision",
                    "ndaa-889",
                    "Section 889(f)(3)(B) named entity",
                ),
            ),
        ),
        make_finding(
            camera,
            "PH-UK-CAM-001",
            policy="uk-2022-cameras",
            severity=Severity.MEDIUM,
            title="Visual surveillance system from a company subject to China's NIL",
            scope=UK_CAMERA_SCOPE,
            effective="2022-11-24",
            references=UK_REFERENCES,
            evidence=cam_ev,
        ),
        make_finding(
            router,
            "PH-FCC-002",
            policy="fcc-covered-list",
            severity=Severity.HIGH,
            title="Huawei telecommunications equipment (FCC Covered List)",
            scope=FCC_HUAWEI_SCOPE,
            effective="2021-03-12",
            references=FCC_REFERENCES,
        ),
        make_finding(
            router,
            "PH-NDAA-002",
            policy="ndaa-889",
            severity=Severity.HIGH,
            title="Huawei telecommunications equipment (NDAA section 889)",
            scope=NDAA_HUAWEI_SCOPE,
            effective="2019-08-13",
            references=NDAA_REFERENCES,
        ),
        make_finding(
            phone,
            "PH-TRF-002",
            policy="phonehome-traffic",
            category="traffic",
            severity=Severity.LOW,
            title="Sends data to an address in a watched country (CN)",
            scope="Traffic to addresses geolocated in a country listed in --watch-country.",
            effective=None,
            references=(),
            evidence=(
                Evidence(
                    "destination",
                    "api.io.mi.com (198.51.100.140)",
                    OFFICE_PCAP,
                    "country CN; 1904112 bytes out",
                ),
                Evidence(
                    "destination",
                    "data.mistat.xiaomi.com (198.51.100.141)",
                    OFFICE_PCAP,
                    "country CN; 1288904 bytes out",
                ),
            ),
        ),
    )


def sample_inputs() -> tuple[InputSummary, ...]:
    """Two capture files, one with a non-fatal read error."""
    return (
        InputSummary(OFFICE_PCAP, "pcapng", 48_213, _sha256(OFFICE_PCAP)),
        InputSummary(
            LOBBY_PCAP,
            "pcap+gzip",
            1_290,
            _sha256(LOBBY_PCAP),
            errors=("truncated final packet at offset 1048576",),
        ),
    )


def make_report(
    *,
    devices: tuple[Device, ...] | None = None,
    destinations: tuple[Destination, ...] | None = None,
    findings: tuple[Finding, ...] | None = None,
    inputs: tuple[InputSummary, ...] | None = None,
    entities: tuple[EntityRef, ...] | None = None,
    generated_at: str = GENERATED_AT,
    intel_version: str = INTEL_VERSION,
    settings: dict[str, object] | None = None,
) -> Report:
    """The sample office audit; any part can be replaced (pass ``()`` to empty it).

    Destinations and findings default to the sample ones only when ``devices`` is defaulted
    too, so ``make_report(devices=(...))`` never refers to devices that are not there.
    """
    sample = devices is None
    device_tuple = sample_devices() if devices is None else devices
    if destinations is None:
        destinations = sample_destinations(device_tuple) if sample else ()
    if findings is None:
        findings = sample_findings(device_tuple) if sample else ()
    return Report(
        generated_at=generated_at,
        inputs=sample_inputs() if inputs is None else inputs,
        devices=device_tuple,
        destinations=destinations,
        findings=findings,
        intel_version=intel_version,
        entities=ENTITIES if entities is None else entities,
        settings=(
            {
                "watch_countries": ["CN"],
                "policies": ["fcc-covered-list", "ndaa-889", "uk-2022-cameras", "watch-countries"],
            }
            if settings is None
            else settings
        ),
    )


def make_empty_report() -> Report:
    """An audit of nothing: no inputs, devices, destinations or findings."""
    return make_report(devices=(), destinations=(), findings=(), inputs=(), entities=(), settings={})
