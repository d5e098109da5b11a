"""The HTML report: self-contained, complete, escaped and deterministic."""

from __future__ import annotations

import dataclasses
import re

import pytest
from bs4 import BeautifulSoup

from phonehome.model import Evidence, Report, Severity
from phonehome.outputs.html import HtmlFormat, anchors
from phonehome.outputs.interface import OutputFormat
from phonehome.testing.factories import (
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
