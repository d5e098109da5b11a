"""The HTML report: self-contained, complete, escaped and deterministic."""

from __future__ import annotations

import dataclasses
import re
from importlib import resources

import pytest
from bs4 import BeautifulSoup

from phonehome.model import Evidence, Report, Severity
from phonehome.outputs.html import HtmlFormat, anchors
from phonehome.outputs.interface import OutputFormat
from phonehome.testing.factories import (
    T0,
    make_destination,
    make_device,
    make_empty_report,
    make_finding,
    make_report,
)

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def report() -> Report:
    return make_report()


@pytest.fixture(scope="module")
def page(report: Report) -> str:
    return HtmlFormat().render(report)


@pytest.fixture(scope="module")
def soup(page: str) -> BeautifulSoup:
    return BeautifulSoup(page, "html.parser")


def test_is_an_output_format() -> None:
    fmt: OutputFormat = HtmlFormat()
    assert (fmt.name, fmt.suffix) == ("html", ".html")


def test_document_shape(soup: BeautifulSoup, page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert soup.html is not None and soup.html.get("lang") == "en"
    assert soup.find("meta", charset="utf-8") is not None
    assert soup.title is not None and "2024-05-01T12:00:00Z" in soup.title.get_text()
    for section in ("summary", "findings", "devices", "destinations", "per-device"):
        assert soup.find(id=section) is not None, section


def test_self_contained(soup: BeautifulSoup, page: str) -> None:
    lowered = page.lower()
    assert "<script src" not in lowered
    assert not re.search(r"<link[^>]+href\s*=\s*[\"']?https?:", lowered)
    assert "url(http" not in lowered
    assert "@import" not in lowered
    assert soup.find("link") is None
    assert soup.find("img") is None
    assert all(not s.get("src") for s in soup.find_all("script"))
    assert all(not tag.get("src") for tag in soup.find_all(["iframe", "embed", "object", "video"]))
    assert soup.find("style") is not None


def test_every_finding_and_device_appears(report: Report, soup: BeautifulSoup) -> None:
    text = soup.get_text(" ")
    for finding in report.findings:
        assert finding.id in text
        assert finding.rule_id in text
        assert finding.title in text
        assert finding.policy.scope in text
    for device in report.devices:
        assert device.id in text
        assert soup.find(id=anchors("device", [device.id])[device.id]) is not None


def test_evidence_values_appear(report: Report, soup: BeautifulSoup) -> None:
    cells = {td.get_text() for td in soup.find_all("td")}
    for finding in report.findings:
        for ev in finding.evidence:
            assert ev.value in cells
    for device in report.devices:
        for ev in device.attribution.evidence:
            if ev.value:
                assert ev.value in cells


def test_finding_shows_policy_facts(report: Report, soup: BeautifulSoup) -> None:
    finding = next(f for f in report.findings if f.rule_id == "PH-FCC-001")
    article = soup.find(id=anchors("finding", [finding.id])[finding.id])
    assert article is not None
    text = article.get_text(" ")
    assert "fcc-covered-list" in text
    assert "2021-03-12" in text
    quote = article.find("blockquote")
    assert quote is not None and finding.policy.scope in quote.get_text()
    links = [a["href"] for a in article.find_all("a", href=True) if not a["href"].startswith("#")]
    assert links == list(finding.policy.references)
    rows = article.find("table").find("tbody").find_all("tr")
    assert len(rows) == len(finding.evidence)
    assert [c.get_text() for c in rows[0].find_all("td")[:3]] == [
        finding.evidence[0].kind,
        finding.evidence[0].value,
        finding.evidence[0].source,
    ]


def test_findings_grouped_by_severity_most_severe_first(soup: BeautifulSoup) -> None:
    groups = soup.select("section.sevgroup")
    labels = [g.find("h3").find(class_="badge").get_text() for g in groups]
    assert labels == ["high", "medium", "low"]


def test_summary_counts(soup: BeautifulSoup) -> None:
    cards = {
        c.find(class_="label").get_text(): c.find(class_="figure").get_text()
        for c in soup.select(".summary .card")
    }
    assert cards["Devices"] == "5"
    assert cards["Restricted devices"] == "2"  # the phone has only a traffic finding
    assert cards["Findings"] == "6"
    assert cards["Countries reached"] == "6"


def test_destinations_sections(report: Report, soup: BeautifulSoup) -> None:
    countries = [
        tr.find("td").get_text(strip=True) for tr in soup.select("table.countries tbody tr")
    ]
    assert countries[0] == "DE"  # the most bytes out
    assert set(countries) == {"DE", "CN", "IE", "US", "SG", "GB", "unknown"}
    orgs = [
        tr.find("td").get_text(strip=True) for tr in soup.select("table.organisations tbody tr")
    ]
    assert orgs[0] == "Hikvision"
    assert "unattributed" in orgs
    rows = soup.select("table.dests tbody tr")
    assert len(rows) == len(report.destinations)
    text = soup.get_text(" ")
    for dest in report.destinations:
        assert dest.ip in text
        if dest.name:
            assert dest.name in text


def test_human_byte_sizes(soup: BeautifulSoup) -> None:
    text = soup.get_text(" ")
    assert "48.9 MB" in text  # the camera's bytes out
    assert "48911204" not in text.replace(",", "")


def test_hostile_values_are_escaped() -> None:
    device = make_device(
        "02:00:00:00:00:66",
        ips=("192.168.1.66",),
        hostnames=(HOSTILE,),
        vendor="hikvision",
        device_type="camera",
        evidence=(Evidence("dhcp_hostname", HOSTILE, "x.pcap#1", '"quoted" & <b>bold</b>'),),
    )
    finding = make_finding(
        device,
        severity=Severity.CRITICAL,
        title=f"title {HOSTILE}",
        references=("javascript:alert(1)", "https://example.org/?a=1&b=2"),
    )
    dest = make_destination(device, name=f"{HOSTILE}.example", ip="198.51.100.66")
    report = make_report(devices=(device,), destinations=(dest,), findings=(finding,))
    page = HtmlFormat().render(report)
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    soup = BeautifulSoup(page, "html.parser")
    for script in soup.find_all("script"):
        assert "alert(1)" not in script.get_text()
    assert HOSTILE in soup.get_text()
    assert soup.find("b") is None
    hrefs = [a["href"] for a in soup.find_all("a", href=True)]
    assert "javascript:alert(1)" not in hrefs
    assert "https://example.org/?a=1&b=2" in hrefs
    assert "javascript:alert(1)" in soup.get_text()  # still shown, as text


def test_deterministic(report: Report) -> None:
    first = HtmlFormat().render(report)
    second = HtmlFormat().render(make_report())
    assert first == second
    assert first.encode() == HtmlFormat().render(report).encode()


def test_input_order_does_not_matter(report: Report, page: str) -> None:
    shuffled = dataclasses.replace(
        report,
        devices=tuple(reversed(report.devices)),
        destinations=tuple(reversed(report.destinations)),
        findings=tuple(reversed(report.findings)),
    )
    assert HtmlFormat().render(shuffled) == page


def test_inputs_and_errors_shown(report: Report, soup: BeautifulSoup) -> None:
    table = soup.find("table", class_="inputs")
    assert table is not None
    text = table.get_text(" ")
    for item in report.inputs:
        assert item.path in text
        assert f"{item.packets:,}" in text
        for error in item.errors:
            assert error in text


def test_no_findings_state() -> None:
    report = make_report(findings=())
    soup = BeautifulSoup(HtmlFormat().render(report), "html.parser")
    findings = soup.find(id="findings")
    assert findings is not None
    assert "No policy rule matched" in findings.get_text()
    assert soup.select("article.finding") == []
    assert len(soup.select("table.devices tbody.device")) == len(report.devices)


def test_empty_report_renders() -> None:
    page = HtmlFormat().render(make_empty_report())
    soup = BeautifulSoup(page, "html.parser")
    text = soup.get_text(" ")
    assert "No input files were read." in text
    assert "No policy rule matched" in text
    assert "No devices were identified" in text
    assert "No traffic to remote addresses was recorded." in text
    assert soup.find("table", class_="devices") is None


def test_unknown_device_in_finding_still_rendered() -> None:
    report = make_report(devices=(), findings=(make_finding("mac:02:00:00:00:00:99"),))
    text = BeautifulSoup(HtmlFormat().render(report), "html.parser").get_text(" ")
    assert "mac:02:00:00:00:00:99" in text


def test_anchor_ids_are_unique() -> None:
    result = anchors("device", ["mac:aa:bb", "mac-aa-bb", "mac:aa:bb"])
    assert len(set(result.values())) == 2
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", v) for v in result.values())


# --- destinations: map, organisations, timelines, background traffic ---------------------------


def timed_report(*, samples: bool, windows: list[str] | None = None) -> Report:
    """The sample report with periods, idle bytes and parties filled in."""
    report = make_report()
    dests = []
    for d in report.destinations:
        extra: dict[str, object] = {}
        if d.name == "litedev.hik-connect.com":
            starts = tuple(T0 + 12 + 300 * i for i in range(48))
            extra = {"period_seconds": 300.0, "idle_bytes_out": 12_400, "idle_flows": 31, "party": "first"}
        elif d.name == "api.io.mi.com":
            starts = tuple(T0 + 90 + 60 * i for i in range(64))
            extra = {"period_seconds": 60.0, "party": "first"}
        elif d.name == "www.youtube.com":
            starts = (T0 + 600, T0 + 700, T0 + 1500, T0 + 2410)
            extra = {"party": "third"}
        else:
            starts = ()
        traffic = dataclasses.replace(d.traffic, **extra)  # type: ignore[arg-type]
        if samples and starts:
            traffic = dataclasses.replace(traffic, samples=starts)
        dests.append(dataclasses.replace(d, traffic=traffic))
    settings = dict(report.settings)
    if windows is not None:
        settings["idle_windows"] = windows
    return dataclasses.replace(report, destinations=tuple(dests), settings=settings)


def test_world_map(soup: BeautifulSoup) -> None:
    svg = soup.select_one("figure.map svg")
    assert svg is not None and svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "map-title map-desc"
    assert soup.find(id="map-title").get_text() == "Bytes sent per destination country"
    shapes = {p["data-country"]: p for p in svg.find_all("path")}
    assert len(shapes) > 170
    codes = ("DE", "CN", "US", "GB", "FR")
    classes = {code: [c for c in shapes[code]["class"] if c != "watched"][0] for code in codes}
    assert classes == {"DE": "c4", "CN": "c4", "US": "c3", "GB": "c2", "FR": "blank"}
    assert "watched" in shapes["CN"]["class"] and "watched" not in shapes["DE"]["class"]
    assert shapes["DE"].find("title").get_text() == (
        "Germany (DE): 41.5 MB sent, 980.1 kB received, 1 destination, 1 device"
    )
    assert shapes["FR"].find("title").get_text() == "France (FR): no traffic"
    # Singapore is too small for the 1:110m shapes: a dot, drawn only because traffic went there.
    dots = {c["data-country"]: c for c in svg.find_all("circle")}
    assert set(dots) == {"SG"}
    assert dots["SG"].find("title").get_text().startswith("Singapore (SG): 412.9 kB sent")
    legend = [li.get_text(" ", strip=True) for li in soup.select("ul.legend li")]
    assert legend[0] == "contacted, nothing sent" and legend[-1] == "watched country (CN)"
    caption = soup.select_one("figure.map figcaption").get_text(" ")
    assert "Not on the map: unknown country (383.9 kB)" in caption
    assert "Natural Earth" in caption


def test_map_data_is_small_and_page_stays_small(page: str) -> None:
    data = resources.files("phonehome").joinpath("outputs/templates/worldmap.json")
    assert len(data.read_bytes()) < 300_000
    assert len(page.encode()) < 400_000


def test_organisations_show_party() -> None:
    soup = BeautifulSoup(HtmlFormat().render(timed_report(samples=False)), "html.parser")
    headers = [th.get_text() for th in soup.select("table.organisations thead th")]
    assert headers[:2] == ["Organisation", "Party"]
    rows = {tr.find("td").get_text(strip=True): tr for tr in soup.select("table.organisations tbody tr")}
    assert rows["Hikvision"].find_all("td")[1].get_text() == "first"
    assert rows["Google"].find_all("td")[1].get_text() == "third"
    assert rows["Huawei"].find_all("td")[1].get_text() == "—"


def test_per_device_period_and_idle_columns() -> None:
    soup = BeautifulSoup(HtmlFormat().render(timed_report(samples=False)), "html.parser")
    table = soup.select("section.device-dests")[1].find("table")  # the camera
    headers = [th.get_text() for th in table.select("thead th")]
    assert headers[4] == "Party" and headers[10:12] == ["Period", "Idle out"]
    first = [td.get_text() for td in table.select("tbody tr")[0].find_all("td")]
    assert first[0] == "litedev.hik-connect.com"
    assert (first[4], first[10], first[11]) == ("first", "5 min", "12.4 kB")
    second = [td.get_text() for td in table.select("tbody tr")[1].find_all("td")]
    assert (second[4], second[10], second[11]) == ("—", "—", "—")


def test_background_sentences() -> None:
    soup = BeautifulSoup(HtmlFormat().render(timed_report(samples=False)), "html.parser")
    items = [ul.get_text(" ", strip=True) for ul in soup.select("ul.beacons")]
    assert items == [
        "sent 12.4 kB to litedev.hik-connect.com every 5 minutes while idle",
        "contacted api.io.mi.com every minute",
    ]


def test_timeline_without_samples_draws_first_to_last_seen(report: Report, soup: BeautifulSoup) -> None:
    figures = soup.select("section.device-dests figure.timeline")
    assert len(figures) == len({d.device_id for d in report.destinations})
    camera = figures[1]
    svg = camera.find("svg")
    assert svg.get("role") == "img"
    title_id, desc_id = svg["aria-labelledby"].split()
    assert svg.find(id=title_id).get_text() == "Timeline of the flows of DS-2CD2143G2-I"
    assert "3 destinations" in svg.find(id=desc_id).get_text()
    rows = svg.select("g.row")
    labels = [r.find("text").get_text() for r in rows]
    assert labels == ["litedev.hik-connect.com", "open.ys7.com", "time.windows.com"]
    assert len(svg.select("rect.bar")) == 3 and not svg.select("rect.mark")
    assert not svg.select("rect.idle") and not svg.select("rect.active")
    ticks = [t.get_text() for t in svg.select("text.axis")]
    assert ticks == ["08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert "2024-05-01 08:00:02 – 11:59:50" in camera.find("figcaption").get_text()


def test_timeline_marks_each_sampled_flow_and_shades_idle_windows() -> None:
    report = timed_report(samples=True, windows=["2024-05-01T10:00:00Z/2024-05-01T11:30:00Z"])
    soup = BeautifulSoup(HtmlFormat().render(report), "html.parser")
    camera = soup.select("section.device-dests figure.timeline")[1].find("svg")
    first_row = camera.select("g.row")[0]
    assert len(first_row.select("rect.mark")) == 48
    assert first_row.select_one("text.period").get_text() == "5 min"
    xs = [float(r["x"]) for r in first_row.select("rect.mark")]
    assert xs == sorted(xs) and 250 <= xs[0] < xs[-1] <= 935
    assert len(camera.select("rect.bar")) == 2  # destinations without samples keep their bars
    idle = camera.select("rect.idle")
    assert len(idle) == 1 and idle[0].find("title").get_text() == "idle window 2024-05-01 10:00:00 – 11:30:00"
    assert not camera.select("rect.active")
    # 10:00-11:30 of a 08:00:02-11:59:50 axis 685 units wide.
    assert float(idle[0]["x"]) == pytest.approx(250 + 685 * (7198 / 14388), abs=0.1)


def test_timeline_shades_inferred_activity_without_windows() -> None:
    soup = BeautifulSoup(HtmlFormat().render(timed_report(samples=True)), "html.parser")
    phone = soup.select("section.device-dests figure.timeline")[2]
    active = phone.select("rect.active")
    # YouTube (not periodic) at 08:10, 08:11:40, 08:25, 08:40:10: three spans (08:10 and 08:11 merge).
    assert [r.find("title").get_text() for r in active] == [
        "active (inferred) 2024-05-01 08:09:00 – 08:13:00",
        "active (inferred) 2024-05-01 08:24:00 – 08:27:00",
        "active (inferred) 2024-05-01 08:39:00 – 08:42:00",
    ]
    assert "inferred from flows to non-periodic destinations" in phone.find("figcaption").get_text()


def test_timeline_keeps_the_busiest_destinations() -> None:
    device = make_device("02:00:00:00:00:07", ips=("192.168.1.7",))
    dests = tuple(
        make_destination(device, f"host{i:02d}.example", f"198.51.100.{i}", bytes_out=1000 + i)
        for i in range(30)
    )
    report = make_report(devices=(device,), destinations=dests)
    soup = BeautifulSoup(HtmlFormat().render(report), "html.parser")
    figure = soup.select_one("figure.timeline")
    rows = figure.select("g.row")
    assert len(rows) == 25
    assert rows[0].find("text").get_text() == "host29.example"
    assert "5 more destinations not drawn." in figure.find("figcaption").get_text()
    assert len(soup.select("table.dests tbody tr")) == 30
