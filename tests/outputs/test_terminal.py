"""The terminal summary: plain text, complete and deterministic."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from phonehome.model import Report
from phonehome.outputs.interface import OutputFormat
from phonehome.outputs.jsonformat import report_to_dict
from phonehome.outputs.terminal import TerminalFormat, headline, print_summary
from phonehome.testing.factories import make_device, make_empty_report, make_report


def test_is_an_output_format() -> None:
    fmt: OutputFormat = TerminalFormat()
    assert (fmt.name, fmt.suffix) == ("terminal", ".txt")


def test_headline() -> None:
    text = TerminalFormat().render(make_report())
    first = text.splitlines()[0]
    assert "5 devices, 2 restricted, 6 findings (4 high, 1 medium, 1 low)" in first


def test_headline_singular_and_empty() -> None:
    report = make_report(devices=(make_device(),))
    assert headline(report_to_dict(report)) == "1 device, 0 restricted, 0 findings"


def test_plain_text_no_escape_codes() -> None:
    text = TerminalFormat().render(make_report())
    assert "\x1b" not in text
    assert all(len(line) <= 120 for line in text.splitlines())


def test_contains_tables() -> None:
    report = make_report()
    text = TerminalFormat().render(report)
    for heading in ("Findings", "Devices", "by organisation", "by country"):
        assert heading in text
    for finding in report.findings:
        assert finding.rule_id in text
    for device in report.devices:
        assert device.id in text
    for org in ("Hikvision", "Xiaomi", "Microsoft", "(unattributed)"):
        assert org in text
    assert "48.9 MB" in text
    assert "DE, CN, US" in text  # the camera's top destination countries


def test_markup_in_data_is_not_interpreted() -> None:
    device = make_device(hostnames=("[bold red]evil[/]",))
    text = TerminalFormat().render(make_report(devices=(device,)))
    assert "[bold red]evil[/]" in text


def test_deterministic() -> None:
    assert TerminalFormat().render(make_report()) == TerminalFormat().render(make_report())


def test_empty_report() -> None:
    text = TerminalFormat().render(make_empty_report())
    assert text.splitlines()[0].endswith("0 devices, 0 restricted, 0 findings")
    assert "No findings" in text
    assert "No devices" in text


def test_print_summary_in_colour() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=120, force_terminal=True, color_system="standard")
    report: Report = make_report()
    print_summary(report, console)
    out = buffer.getvalue()
    assert "\x1b[" in out
    assert "PH-FCC-001" in out


def _with_beacons(windows: list[str] | None = None) -> Report:
    report = make_report()
    dests = []
    for d in report.destinations:
        timing: dict[str, object] = {}
        if d.name == "litedev.hik-connect.com":
            timing = {"period_seconds": 300.0, "idle_bytes_out": 12_400, "idle_flows": 31}
        elif d.name == "open.ys7.com":
            timing = {"idle_bytes_out": 2_000, "idle_flows": 1}
        elif d.name == "api.io.mi.com":
            timing = {"period_seconds": 60.0}
        dests.append(dataclasses.replace(d, traffic=dataclasses.replace(d.traffic, **timing)))  # type: ignore[arg-type]
    settings = {**report.settings, **({"idle_windows": windows} if windows else {})}
    return dataclasses.replace(report, destinations=tuple(dests), settings=settings)


def test_background_traffic_line_per_device() -> None:
    text = TerminalFormat().render(_with_beacons())
    block = text[text.index("Background traffic") :].split("\n\n")[0]
    heading, *rest = block.splitlines()
    assert heading == "Background traffic (idle = inferred: no other flows started)"
    assert " ".join(rest) == (  # one line per device, wrapped at the terminal width
        "DS-2CD2143G2-I: sent 12.4 kB to litedev.hik-connect.com every 5 minutes while idle; "
        "sent 2.0 kB to open.ys7.com while idle "
        "Redmi-Note-12: contacted api.io.mi.com every minute"
    )
    assert rest[-1] == "Redmi-Note-12: contacted api.io.mi.com every minute"
    assert text.index("Background traffic") < text.index("by organisation")


def test_background_traffic_names_the_idle_windows_basis() -> None:
    text = TerminalFormat().render(_with_beacons(["2024-05-01T10:00:00Z/2024-05-01T11:30:00Z"]))
    assert "Background traffic (idle = inside the given idle windows)" in text


def test_no_background_section_without_timing_facts() -> None:
    assert "Background traffic" not in TerminalFormat().render(make_report())
