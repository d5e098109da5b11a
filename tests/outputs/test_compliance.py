"""Compliance reports: the view, the HTML (parsed back), the PDF (read with pdftotext), the command."""

from __future__ import annotations

import dataclasses
import http.server
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from phonehome import __version__, exitcodes
from phonehome.intel.loader import Intel, default_intel
from phonehome.model import Attribution, Candidate, Evidence, InputSummary, Report
from phonehome.outputs.compliance import audit_stamp, compliance_view, local_network, render_compliance
from phonehome.outputs.interface import OutputError
from phonehome.outputs.pdf import find_chromium, html_to_pdf
from phonehome.store.workspace import PlanEdit, Workspace
from phonehome.testing.factories import make_device, make_finding, make_report

DEMO = Path(__file__).resolve().parents[2] / "demo" / "office.pcapng"
CAMERA = "mac:c0:56:e3:4a:7b:01"
ROUTER = "mac:00:e0:fc:12:34:56"
RANDOMISED = "mac:da:a1:19:5e:03:c2"
DEMO_GATEWAY, DEMO_CAMERA, DEMO_NVR = (
    "mac:e0:06:30:5a:1c:01",
    "mac:54:8c:81:3e:92:a7",
    "mac:3c:ef:8c:71:40:2d",
)

needs_chromium = pytest.mark.skipif(
    find_chromium() is None, reason="Chromium is not installed (apt: chromium)"
)
needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext is not installed (apt: poppler-utils)"
)


@pytest.fixture(scope="module")
def intel() -> Intel:
    return default_intel()


def _html(report: Report, pack: str, intel: Intel, **kwargs: Any) -> str:
    return render_compliance(report, pack, intel, "html", **kwargs).decode("utf-8")


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", _soup(html).get_text(" "))


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


# --- the view --------------------------------------------------------------------------------


def test_view_holds_only_the_packs_findings_with_status_and_residual_risk(intel: Intel) -> None:
    view = compliance_view(make_report(), "ndaa-889", intel, plan_status={CAMERA: "replaced"})
    assert [(f["rule_id"], f["device_id"]) for f in view["findings"]] == [
        ("PH-NDAA-001", CAMERA),
        ("PH-NDAA-002", ROUTER),
    ]
    by_device = {f["device_id"]: f for f in view["findings"]}
    assert by_device[CAMERA]["status"] == "replaced"
    assert by_device[ROUTER]["status"] == "open"
    assert dict(view["status_counts"]) == {"open": 1, "replaced": 1}
    camera_risk = " ".join(by_device[CAMERA]["residual"])
    assert "'replaced'" in camera_risk and "does not verify" in camera_risk
    assert "litedev.hik-connect.com" in camera_risk and "open.ys7.com" in camera_risk
    assert "gateway" in " ".join(by_device[ROUTER]["residual"])
    # The scope wording travels with the finding, as the pack stated it at audit time.
    assert by_device[ROUTER]["scope"].startswith("Telecommunications equipment produced by Huawei")


def test_scope_lists_inputs_networks_and_the_traffic_window(intel: Intel) -> None:
    report = make_report()
    scope = compliance_view(report, "ndaa-889", intel)["scope"]
    assert [i["path"] for i in scope["inputs"]] == sorted(i.path for i in report.inputs)
    assert {i["path"]: (i["sha256"], i["records"], i["kind"]) for i in scope["inputs"]} == {
        i.path: (i.sha256, i.packets, i.kind) for i in report.inputs
    }
    # fe80:: on the phone is link-local: it names no network.
    assert [n["network"] for n in scope["networks"]] == ["192.168.1.0/24"]
    assert scope["networks"][0]["devices"] == 5
    assert scope["first_seen"] == "2024-05-01T08:00:02Z" and scope["last_seen"] == "2024-05-01T11:59:50Z"
    # Two inputs and no per-file times in the model: the span per file is not invented.
    assert not scope["per_input_span"] and all(i["first_seen"] is None for i in scope["inputs"])


def test_local_networks_are_slash_24_and_slash_64() -> None:
    assert str(local_network("10.1.2.3")) == "10.1.2.0/24"
    assert str(local_network("2001:db8:1:1:c8e:27ff:4a1b:7d05")) == "2001:db8:1:1::/64"
    assert local_network("fe80::1") is None
    assert local_network("169.254.3.4") is None
    assert local_network("not-an-ip") is None


def test_limits_are_generated_from_the_inputs(intel: Intel) -> None:
    report = make_report()
    report = dataclasses.replace(
        report,
        inputs=(
            *report.inputs,
            InputSummary("leases/dhcpd.leases", "isc-dhcpd-leases", 40, "ab" * 32, skipped=3),
        ),
    )
    view = compliance_view(report, "ndaa-889", intel)
    limits = {item["title"]: item for item in view["limits"]}
    assert "192.168.1.0/24" in limits["Only the networks seen"]["text"]
    assert "2024-05-01 08:00:02Z" in limits["Devices powered off or silent"]["text"]
    assert "encrypted" in limits["Encrypted traffic content"]["text"]
    assert limits["Unresolved devices"]["items"] == [RANDOMISED]
    problems = limits["Inputs with errors or skipped records"]["items"]
    assert "captures/lobby-camera.pcap.gz: truncated final packet at offset 1048576" in problems
    assert "leases/dhcpd.leases: 3 records skipped (unparseable)" in problems
    assert limits["Randomised MAC addresses"]["items"] == [RANDOMISED]
    assert "Intel data version" in limits  # audit data 2024.05.0, pack text from the shipped data


def test_unresolved_device_pointing_at_a_named_company_is_flagged(intel: Intel) -> None:
    weak = dataclasses.replace(
        make_device("00:e0:fc:00:00:09", ips=("192.168.7.9",), device_type="router"),
        attribution=Attribution(
            vendor="huawei", confidence=0.3, device_type="router", alternatives=(Candidate("zte", 0.2),)
        ),
    )
    report = make_report(devices=(weak,), settings={"policies": ["ndaa-889"], "min_confidence": 0.5})
    view = compliance_view(report, "ndaa-889", intel)
    assert view["findings"] == []
    assert view["unresolved"][0]["possibly_in_scope"] is True
    rep = view["representation"]
    assert rep["found"] is False and [u["id"] for u in rep["possible"]] == [weak.id]
    text = _text(_html(report, "ndaa-889", intel))
    assert "No equipment attributed at or above the confidence threshold 0.50" in text
    assert "Unresolved devices whose evidence points to a named company" in text


def test_method_links_the_signatures_used(intel: Intel) -> None:
    sig = intel.signatures[0].signature
    ev = make_device(
        "02:00:00:00:00:05",
        ips=("192.168.1.5",),
        vendor="hikvision",
        confidence=0.9,
        evidence=[],
    )
    device = dataclasses.replace(
        ev,
        attribution=dataclasses.replace(
            ev.attribution,
            evidence=(
                Evidence(
                    "http_server", "x", "a.pcap", f"{sig.id}: vendor=hikvision", "vendor=hikvision", 0.5
                ),
            ),
        ),
    )
    finding = make_finding(device, "PH-889-004", policy="ndaa-889", evidence=device.attribution.evidence)
    report = make_report(devices=(device,), findings=(finding,), settings={"policies": ["ndaa-889"]})
    view = compliance_view(report, "ndaa-889", intel)
    assert [s["id"] for s in view["method"]["signatures"]] == [sig.id]
    soup = _soup(_html(report, "ndaa-889", intel))
    assert soup.find(id=f"sig-{sig.id}") is not None
    assert soup.select_one(f'table.evidence a[href="#sig-{sig.id}"]') is not None
    assert soup.select_one('a[href="#rule-PH-889-004"]') is not None


def test_trend_counts_per_audit_oldest_first(intel: Intel) -> None:
    current = make_report()
    older = dataclasses.replace(
        make_report(generated_at="2024-04-01T12:00:00Z"),
        findings=tuple(f for f in make_report().findings if f.device_id != ROUTER),
    )
    oldest = make_report(generated_at="2024-03-01T12:00:00Z", devices=(), inputs=())
    view = compliance_view(current, "ndaa-889", intel, history=[older, oldest])
    rows = [
        (t["generated_at"], t["findings"], t["affected"], t["devices"], t["current"]) for t in view["trend"]
    ]
    assert rows == [
        ("2024-03-01T12:00:00Z", 0, 0, 0, False),
        ("2024-04-01T12:00:00Z", 1, 1, 5, False),
        ("2024-05-01T12:00:00Z", 2, 2, 5, True),
    ]
    assert view["trend_rules"] == ["PH-NDAA-001", "PH-NDAA-002"]
    assert compliance_view(current, "ndaa-889", intel)["trend"] == []


def test_unknown_pack_format_or_a_pack_the_audit_did_not_apply(intel: Intel) -> None:
    with pytest.raises(OutputError, match=r"^compliance: unknown policy pack 'nope'"):
        render_compliance(make_report(), "nope", intel, "html")
    with pytest.raises(OutputError, match=r"^compliance: unknown format 'docx'"):
        render_compliance(make_report(), "ndaa-889", intel, "docx")
    # The sample audit applied uk-2022-cameras, not uk-sensitive-sites-2022: "nothing found" would mislead.
    with pytest.raises(OutputError, match="did not apply policy pack 'uk-sensitive-sites-2022'"):
        render_compliance(make_report(), "uk-sensitive-sites-2022", intel, "html")


# --- the HTML -------------------------------------------------------------------------------


def test_html_is_stamped_and_quotes_the_pack(intel: Intel) -> None:
    report = make_report()
    html = _html(report, "ndaa-889", intel, audit_id=7)
    text = _text(html)
    stamp = audit_stamp(report)
    for i in report.inputs:
        assert f"sha256:{i.sha256}" in text
        assert i.path in text
    assert f"intel data {report.intel_version}" in text
    assert f"phonehome {__version__}" in text
    assert f"audit 7 / {stamp.audit_key}" in text
    assert report.generated_at in text
    assert "not legal advice" in text.lower()
    assert "FAR 52.204-24 / 52.204-26" in text
    pack = intel.packs["ndaa-889"]
    for rule in pack.rules:  # every rule's scope wording, quoted in the FAR section
        assert f"“{rule.scope}”" in text
    for title in ("Hikvision video surveillance equipment (NDAA section 889)", "Huawei telecommunications"):
        assert title in text
    # Other packs' findings stay out.
    assert "PH-FCC-001" not in text and "PH-UK-CAM-001" not in text


def test_html_sections_and_internal_links_resolve(intel: Intel) -> None:
    html = _html(make_report(), "ndaa-889", intel, history=[make_report(generated_at="2024-04-01T00:00:00Z")])
    soup = _soup(html)
    for section in (
        "summary",
        "scope",
        "method",
        "inventory",
        "far",
        "findings",
        "limits",
        "trend",
        "unresolved",
    ):
        assert soup.find(id=section) is not None, section
    ids = {tag["id"] for tag in soup.find_all(id=True)}
    assert len(ids) == len(soup.find_all(id=True)), "duplicate ids"
    for link in soup.find_all("a", href=True):
        href = link["href"]
        if href.startswith("#"):
            assert href[1:] in ids, href
        else:
            assert href.startswith(("https://", "http://")), href
    # Self-contained: no external scripts, styles or images.
    assert not soup.find_all(["script", "img", "link"])


def test_fcc_report_has_no_far_section(intel: Intel) -> None:
    soup = _soup(_html(make_report(), "fcc-covered-list", intel))
    assert soup.find(id="far") is None
    assert soup.find(id="finding-PH-FCC-001-mac-c0-56-e3-4a-7b-01") is not None


def test_uk_report_when_the_audit_applied_it(intel: Intel) -> None:
    report = make_report(settings={"policies": ["uk-sensitive-sites-2022"], "min_confidence": 0.5})
    text = _text(_html(report, "uk-sensitive-sites-2022", intel))
    assert "No rule of the uk-sensitive-sites-2022 pack matched" in text
    assert "headquarters country" in text  # the producer-country limit of PH-UK-001


def test_empty_audit_renders(intel: Intel) -> None:
    empty = make_report(devices=(), destinations=(), findings=(), inputs=(), entities=(), settings={})
    text = _text(_html(empty, "ndaa-889", intel))
    assert "No local host with a routable address was seen" in text
    assert "The audit read no input files." in text
    assert "does not record which policy packs it applied" in text


def test_html_is_deterministic_and_independent_of_input_order(intel: Intel) -> None:
    report = make_report()
    shuffled = dataclasses.replace(
        report,
        devices=tuple(reversed(report.devices)),
        destinations=tuple(reversed(report.destinations)),
        findings=tuple(reversed(report.findings)),
        inputs=tuple(reversed(report.inputs)),
    )
    status = {CAMERA: "contained", ROUTER: "open"}
    first = render_compliance(report, "ndaa-889", intel, "html", plan_status=status)
    assert first == render_compliance(
        report, "ndaa-889", intel, "html", plan_status=dict(reversed(status.items()))
    )
    assert first == render_compliance(shuffled, "ndaa-889", intel, "html", plan_status=status)


# --- the PDF ---------------------------------------------------------------------------------


@needs_chromium
@needs_pdftotext
def test_pdf_holds_the_key_content_and_is_deterministic(intel: Intel, tmp_path: Path) -> None:
    report = make_report()
    first = render_compliance(report, "ndaa-889", intel, "pdf", plan_status={CAMERA: "replaced"})
    assert first.startswith(b"%PDF-")
    text = pdf_text(first, tmp_path)
    flat = re.sub(r"\s+", " ", text)
    for needle in (
        "Hikvision video surveillance equipment (NDAA section 889)",
        "Huawei telecommunications equipment (NDAA section 889)",
        "PH-889-001",
        "PH-NDAA-001",
        "Facts for a FAR 52.204-24 / 52.204-26 representation",
        "not legal advice",
        "replaced",
    ):
        assert needle in flat, needle
    for i in report.inputs:
        assert f"sha256:{i.sha256}" in text
    # Chromium's own clock is replaced by the audit's time, so a second print is byte-identical.
    assert b"/CreationDate (D:20240501120000+00'00')" in first
    assert render_compliance(report, "ndaa-889", intel, "pdf", plan_status={CAMERA: "replaced"}) == first


@pytest.fixture
def loopback_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that records every request it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


@needs_chromium
@needs_pdftotext
@pytest.mark.parametrize("engine", ["chromium", "playwright"])
def test_pdf_engines_print_and_fetch_nothing(
    engine: str, tmp_path: Path, loopback_server: tuple[str, list[str]]
) -> None:
    if engine == "playwright":
        pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    base, hits = loopback_server
    html = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>t</title>"
        f"<link rel='stylesheet' href='{base}/style.css'></head><body>"
        "<h1>Direct print</h1><p>PH-889-004</p>"
        f"<img src='{base}/x.png' alt=''><img src='http://example.invalid/y.png' alt=''></body></html>"
    )
    data = html_to_pdf(html, created="2024-05-01T12:00:00Z", engine=engine)
    assert b"/CreationDate (D:20240501120000+00'00')" in data
    text = pdf_text(data, tmp_path)
    assert "Direct print" in text and "PH-889-004" in text
    assert hits == []  # even a loopback address in the page is not fetched


def test_pdf_without_chromium_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHONEHOME_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(OutputError, match=r"^pdf: Chromium not found"):
        html_to_pdf("<p>x</p>", created="2024-05-01T12:00:00Z")


# --- on the demo capture, through the command line ----------------------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phonehome", *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo-ws")
    done = run("audit", str(DEMO), "-w", str(root), "-q", "--fail-on", "never", "-f", "json", "-o", "-")
    assert done.returncode == 0, done.stderr
    return root


def test_demo_audit_ndaa_report(demo_workspace: Path, intel: Intel, tmp_path: Path) -> None:
    Workspace(demo_workspace).save_plan_edits([PlanEdit(DEMO_CAMERA, status="removed")])
    out = tmp_path / "ndaa.html"
    done = run("compliance", "--policy", "ndaa-889", "-w", str(demo_workspace), "-o", str(out))
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    _, saved = Workspace(demo_workspace).load()
    view = compliance_view(saved, "ndaa-889", intel, plan_status={DEMO_CAMERA: "removed"})
    assert {(f["rule_id"], f["device_id"]) for f in view["findings"]} == {
        ("PH-889-001", DEMO_GATEWAY),
        ("PH-889-004", DEMO_CAMERA),
        ("PH-889-005", DEMO_NVR),
    }
    assert [n["network"] for n in view["scope"]["networks"]] == ["192.168.1.0/24", "2001:db8:1:1::/64"]
    assert view["scope"]["per_input_span"] and view["scope"]["inputs"][0]["first_seen"]
    assert {s["name"] for s in view["representation"]["services"]} >= {"api.hik-connect.com"}
    soup = _soup(html)
    rows = {
        tr.find_all("td")[0].find("code").get_text(): tr.find_all("td")[-1].get_text(strip=True)
        for tr in soup.select("#far table.where tbody tr")
    }
    assert rows == {DEMO_GATEWAY: "open", DEMO_CAMERA: "removed", DEMO_NVR: "open"}
    text = _text(html)
    assert saved.inputs[0].sha256 in text and "id 1" in text


@needs_chromium
@needs_pdftotext
def test_demo_audit_pdf_from_the_command_line(demo_workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "fcc.pdf"
    done = run("compliance", "-p", "fcc-covered-list", "-w", str(demo_workspace), "-o", str(out))
    assert done.returncode == 0, done.stderr
    text = pdf_text(out.read_bytes(), tmp_path)
    assert "Compliance report: US FCC Covered List" in re.sub(r"\s+", " ", text)
    for rule in ("PH-FCC-001", "PH-FCC-004", "PH-FCC-005"):
        assert rule in text


def test_command_errors_name_the_problem(demo_workspace: Path, tmp_path: Path) -> None:
    done = run("compliance", "-p", "nope", "-w", str(demo_workspace), "-o", str(tmp_path / "x.html"))
    assert done.returncode == exitcodes.USAGE
    assert "--policy: unknown pack 'nope'" in done.stderr
    assert not (tmp_path / "x.html").exists()
    done = run("compliance", "-p", "ndaa-889", "-w", str(tmp_path / "empty"), "-o", str(tmp_path / "y.html"))
    assert done.returncode == exitcodes.USAGE and "no audits yet" in done.stderr
