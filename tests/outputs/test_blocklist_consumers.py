"""Every blocklist format checked by the program that will read it, plus a strict line syntax check.

Consumers (Debian packages): ``nft -c -f`` (nftables), ``unbound-checkconf`` (unbound),
``named-checkzone`` (bind9-utils), ``dnsmasq --test`` (dnsmasq-base), ``suricata -T`` (not in
Debian 12; runs where installed). Zeek is not packaged either: its Intel file is read by
phonehome's own Zeek reader and by a re-implementation of Zeek's input reader rules. A test whose
program is missing is skipped with the reason. Each consumer also gets a broken file, to show the
check can fail.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_blocklist import build, ipv6_report, odd_report
from typer.testing import CliRunner, Result

from phonehome.outputs.blocklists import Blocklist, BlocklistFormat, Scope
from phonehome.outputs.blocklists.names import normalise_name
from phonehome.outputs.blocklists.suricata import SID_BASE, SID_SPAN
from phonehome.testing.factories import make_report

DEMO = Path(__file__).resolve().parents[2] / "demo" / "office.pcapng"

VARIANTS: dict[str, Callable[[], Blocklist]] = {
    "sample": lambda: build(),
    "keep-required": lambda: build(keep_required=True),
    "all-destinations": lambda: build(all_destinations=True),
    "observed-only": lambda: build(include_catalogue=False),
    "subnet": lambda: build(scope=Scope.subnet),
    "ipv6": lambda: build(ipv6_report()),
    "ipv6-subnet": lambda: build(ipv6_report(), scope=Scope.subnet),
    "odd": lambda: build(odd_report()),
    "empty": lambda: build(make_report(findings=())),
}


def write(tmp_path: Path, fmt: BlocklistFormat, blocklist: Blocklist) -> Path:
    path = tmp_path / f"blocklist{fmt.to_renderer().suffix}"
    path.write_text(fmt.to_renderer().render(blocklist), encoding="utf-8")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def need(program: str) -> str:
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if found is None:
        pytest.skip(f"{program} is not installed")
    return found


def body(text: str, *comments: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith(comments)]


def assert_name(name: str) -> None:
    assert normalise_name(name) == name, name


# --- the demo audit, through the command line ------------------------------------------------------


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DEMO.exists():
        pytest.skip("demo/office.pcapng is missing")
    ws = tmp_path_factory.mktemp("blocklist-ws")
    done = subprocess.run(
        [sys.executable, "-m", "phonehome", "audit", str(DEMO), "-w", str(ws), "-q", "--fail-on", "never"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return ws


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``phonehome blocklist`` as a user runs it, in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "phonehome", "blocklist", *args], capture_output=True, text=True, timeout=120
    )


def cli_here(*args: str) -> Result:
    """The same command in this process (a subprocess costs seconds of imports)."""
    from phonehome.cli import app

    return CliRunner().invoke(app, ["blocklist", *args])


def demo_blocklist(ws: Path, **options: object) -> Blocklist:
    from phonehome.intel.loader import default_intel
    from phonehome.outputs.blocklists import BlocklistOptions, build_blocklist
    from phonehome.store.workspace import Workspace

    number, report = Workspace(ws).load()
    return build_blocklist(report, default_intel(), BlocklistOptions(**options), number)  # type: ignore[arg-type]


def test_cli_writes_the_demo_blocklist_and_is_repeatable(demo_workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo.conf"
    done = cli("-w", str(demo_workspace), "--format", "dnsmasq", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "Blocklist written to" in done.stderr
    text = out.read_text()
    # The demo's restricted Hikvision camera and Dahua NVR reach their vendors' clouds.
    assert "\naddress=/hik-connect.com/\n" in text
    assert "\naddress=/easy4ipcloud.com/\n" in text
    assert "#   also covers iotaccess.easy4ipcloud.com: Dahua" in text
    assert "# audit: 1; report generated_at: " in text
    again = cli_here("-w", str(demo_workspace), "--format", "dnsmasq")
    assert again.exit_code == 0
    assert again.stdout == text


def test_cli_usage_errors_exit_2(demo_workspace: Path, tmp_path: Path) -> None:
    done = cli_here("-w", str(demo_workspace), "-f", "hosts", "--device", "no-such-device")
    assert done.exit_code == 2
    assert done.stderr.startswith("phonehome: error: --device: no device with id, MAC, IP or host name")
    done = cli_here("-w", str(demo_workspace), "-f", "hosts", "--purpose", "spying")
    assert done.exit_code == 2 and "--purpose: unknown purpose 'spying'" in done.stderr
    done = cli_here("-w", str(tmp_path / "empty-ws"), "-f", "hosts")
    assert done.exit_code == 2 and "no audits yet" in done.stderr
    done = cli_here("-w", str(demo_workspace), "-f", "bogus")
    assert done.exit_code == 2


def test_cli_device_and_observed_only(demo_workspace: Path) -> None:
    done = cli_here(
        "-w", str(demo_workspace), "-f", "domains", "--device", "HIKVISION-CAM", "--observed-only"
    )
    assert done.exit_code == 0, done.stderr
    assert body(done.stdout, "#") == ["api.hik-connect.com", "litedev.hik-connect.com"]
    assert "options: --format domains --device HIKVISION-CAM --observed-only" in done.stdout


def test_cli_lists_what_it_withholds(demo_workspace: Path) -> None:
    # The office PC has no known vendor: nothing it contacted is tied to one, so nothing is blocked.
    done = cli_here("-w", str(demo_workspace), "-f", "hosts", "--device", "DESKTOP-OFFICE1")
    assert done.exit_code == 0
    assert "entries: 0 names, 0 addresses" in done.stdout
    assert "#   www.google.com: operated by Google, not by the device's vendor" in done.stdout
    assert "#   neverssl.com: operator unknown" in done.stdout
    everything = cli_here(
        "-w", str(demo_workspace), "-f", "hosts", "--device", "DESKTOP-OFFICE1", "--all-destinations"
    )
    assert "\n0.0.0.0 neverssl.com\n" in everything.stdout


# --- consumers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_nftables_loads(variant: str, tmp_path: Path) -> None:
    nft = need("nft")
    probe = tmp_path / "probe.nft"
    probe.write_text("table inet phonehome_probe {\n}\n")
    if run(nft, "-c", "-f", str(probe)).returncode != 0:
        pytest.skip("nft -c cannot check rulesets here (no netlink access)")
    path = write(tmp_path, BlocklistFormat.nftables, VARIANTS[variant]())
    done = run(nft, "-c", "-f", str(path))
    assert done.returncode == 0, done.stderr + path.read_text()[:3000]


def test_nftables_check_catches_a_broken_file(tmp_path: Path) -> None:
    nft = need("nft")
    path = write(tmp_path, BlocklistFormat.nftables, build(ipv6_report()))
    # An IPv6 address in an ipv4_addr set.
    text = path.read_text()
    assert "203.0.113.1" in text
    path.write_text(text.replace("203.0.113.1", "2001:db8::9"))
    assert run(nft, "-c", "-f", str(path)).returncode != 0


def test_nftables_demo(demo_workspace: Path, tmp_path: Path) -> None:
    nft = need("nft")
    for scope in Scope:
        path = write(tmp_path, BlocklistFormat.nftables, demo_blocklist(demo_workspace, scope=scope))
        done = run(nft, "-c", "-f", str(path))
        assert done.returncode == 0, done.stderr


def test_nftables_applies_and_reloads_in_a_network_namespace(tmp_path: Path) -> None:
    nft, unshare = need("nft"), need("unshare")
    if run(unshare, "-n", "true").returncode != 0:
        pytest.skip("cannot create a network namespace here")
    path = write(tmp_path, BlocklistFormat.nftables, build(ipv6_report()))
    script = f"{nft} -f {path} && {nft} -f {path} && {nft} list table inet phonehome_blocklist"
    done = run(unshare, "-n", "sh", "-c", script)
    assert done.returncode == 0, done.stderr
    # Loaded twice, defined once: the file replaces its own table.
    rules = [line.strip() for line in done.stdout.splitlines() if " drop" in line]
    assert rules == [
        "ip saddr 192.0.2.66 ip daddr @mac_020000000066_v4 counter packets 0 bytes 0 drop",
        "ip6 saddr 2001:db8:1::66 ip6 daddr @mac_020000000066_v6 counter packets 0 bytes 0 drop",
    ]
    assert "2001:db8:ffff::1" in done.stdout and "203.0.113.1" in done.stdout


UNBOUND_LINE = re.compile(r'^    local-zone: "([^"]+)\." (always_nxdomain|transparent)$')


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_unbound_checkconf(variant: str, tmp_path: Path) -> None:
    path = write(tmp_path, BlocklistFormat.unbound, VARIANTS[variant]())
    lines = body(path.read_text(), "#")
    assert lines[0] == "server:"
    for line in lines[1:]:
        match = UNBOUND_LINE.match(line)
        assert match, line
        assert_name(match.group(1))
    done = run(need("unbound-checkconf"), str(path))
    assert done.returncode == 0, done.stderr + done.stdout
    assert "no errors" in done.stdout


def test_unbound_checkconf_catches_a_broken_file(tmp_path: Path) -> None:
    path = write(tmp_path, BlocklistFormat.unbound, build())
    text = path.read_text()
    assert '." always_nxdomain\n' in text
    path.write_text(text.replace('." always_nxdomain\n', '." always_nowhere\n', 1))
    assert run(need("unbound-checkconf"), str(path)).returncode != 0


RPZ_LINE = re.compile(r"^(\*\.)?([a-z0-9_.-]+) CNAME (\.|rpz-passthru\.)$")


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rpz_zone_loads(variant: str, tmp_path: Path) -> None:
    path = write(tmp_path, BlocklistFormat.rpz, VARIANTS[variant]())
    lines = body(path.read_text(), ";")
    assert lines[:3] == [
        "$TTL 300",
        "@ IN SOA localhost. hostmaster.localhost. 1714564800 3600 600 604800 300",
        "@ IN NS localhost.",
    ]
    for line in lines[3:]:
        match = RPZ_LINE.match(line)
        assert match, line
        assert_name(match.group(2))
    done = run(need("named-checkzone"), "-k", "fail", "rpz.phonehome", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("OK")


def test_named_checkzone_catches_a_broken_zone(tmp_path: Path) -> None:
    path = write(tmp_path, BlocklistFormat.rpz, build())
    text = path.read_text()
    assert " CNAME .\n" in text
    path.write_text(text.replace(" CNAME .\n", " CNAME\n", 1))
    assert run(need("named-checkzone"), "rpz.phonehome", str(path)).returncode != 0


DNSMASQ_LINE = re.compile(r"^(address=/([^/]+)/|server=/([^/]+)/#)$")


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_dnsmasq_test(variant: str, tmp_path: Path) -> None:
    path = write(tmp_path, BlocklistFormat.dnsmasq, VARIANTS[variant]())
    for line in body(path.read_text(), "#"):
        match = DNSMASQ_LINE.match(line)
        assert match, line
        assert_name(match.group(2) or match.group(3))
    done = run(need("dnsmasq"), "--test", f"--conf-file={path}")
    assert done.returncode == 0, done.stderr
    assert "syntax check OK" in done.stderr


def test_dnsmasq_test_catches_a_broken_file(tmp_path: Path) -> None:
    path = write(tmp_path, BlocklistFormat.dnsmasq, build())
    # A comment line long enough that dnsmasq reads its tail as an option: why comments are bounded.
    path.write_text(path.read_text() + "# " + "x" * 1100 + " no-such-option\n")
    assert run(need("dnsmasq"), "--test", f"--conf-file={path}").returncode != 0


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_hosts_adblock_and_plain_syntax(variant: str, tmp_path: Path) -> None:
    blocklist = VARIANTS[variant]()
    hosts = body(write(tmp_path, BlocklistFormat.hosts, blocklist).read_text(), "#")
    v4 = [line.split(" ")[1] for line in hosts if line.startswith("0.0.0.0 ")]
    v6 = [line.split(" ")[1] for line in hosts if line.startswith(":: ")]
    assert len(v4) + len(v6) == len(hosts) and v4 == v6 == [e.name for e in blocklist.names]
    for name in v4:
        assert_name(name)
    adblock = body(write(tmp_path, BlocklistFormat.adblock, blocklist).read_text(), "!")
    for line in adblock:
        match = re.fullmatch(r"(@@)?\|\|([a-z0-9_.-]+)\^", line)
        assert match, line
        assert_name(match.group(2))
    plain = body(write(tmp_path, BlocklistFormat.domains, blocklist).read_text(), "#")
    assert plain == [e.name for e in blocklist.names]


def zeek_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Rows as Zeek's ASCII input reader (``Intel::read_files``) sees them.

    Its ``GetLine`` skips empty lines and lines starting with ``#``, except a ``#fields`` line
    followed by the separator; the first line it returns is the header, the rest are records.
    """
    lines = []
    for raw in path.read_text().split("\n"):
        line = raw.removesuffix("\r")
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#fields\t"):
                lines.append(line[len("#fields\t") :])
            continue
        lines.append(line)
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_zeek_intel_reads_as_zeek_reads_it(variant: str, tmp_path: Path) -> None:
    blocklist = VARIANTS[variant]()
    path = write(tmp_path, BlocklistFormat.zeek_intel, blocklist)
    fields, rows = zeek_rows(path)
    assert fields == ["indicator", "indicator_type", "meta.source", "meta.desc"]
    assert len(rows) == len(blocklist.names) + len(blocklist.addresses)
    for indicator, kind, source, desc in rows:  # exactly four fields, or unpacking fails
        assert source == "phonehome-audit-7"
        assert desc and desc not in ("-", "(empty)")
        if kind == "Intel::DOMAIN":
            assert_name(indicator)
        else:
            assert kind == "Intel::ADDR"
            assert str(ipaddress.ip_address(indicator)) == indicator


@pytest.mark.parametrize("variant", ["sample", "odd"])
def test_zeek_intel_reads_with_phonehomes_zeek_reader(variant: str, tmp_path: Path) -> None:
    zeek = pytest.importorskip("phonehome.sources.zeek")
    from phonehome.model import InputSummary

    blocklist = VARIANTS[variant]()
    path = write(tmp_path, BlocklistFormat.zeek_intel, blocklist)
    source = zeek.ZeekSource()
    assert source.sniff(path, path.read_bytes()[:64]) > 0.5
    items = list(source.read(path))
    summary = items[-1]
    assert isinstance(summary, InputSummary)
    assert summary.skipped == 0, summary.errors
    assert summary.packets == len(blocklist.names) + len(blocklist.addresses)
    # A row with a field missing is what both readers reject.
    broken = path.read_text().replace("\tIntel::ADDR\t", "\t", 1)
    path.write_text(broken)
    assert list(source.read(path))[-1].skipped == 1


SURICATA_RULE = re.compile(
    r"^alert (dns|tls|ip) (any|\[[0-9a-f.:,]+\]) any -> (any|\[[0-9a-f.:,]+\]) any \((.*)\)$"
)
SURICATA_OPTION = re.compile(r'\s*([a-z_.]+)(?::("[^"\\;|]*"|[^";]+))?;')
SURICATA_KEYWORDS = {"msg", "dns.query", "tls.sni", "dotprefix", "content", "endswith", "nocase"}
SURICATA_KEYWORDS |= {"classtype", "sid", "rev"}
DEFAULT_CLASSTYPES = {"policy-violation", "misc-activity", "bad-unknown", "trojan-activity"}


def check_suricata(text: str) -> list[int]:
    sids = []
    for line in body(text, "#"):
        match = SURICATA_RULE.match(line)
        assert match, line
        options = match.group(4)
        parsed = SURICATA_OPTION.findall(options)
        assert "".join(f" {k}:{v};" if v else f" {k};" for k, v in parsed).strip() == options, line
        values = dict(parsed)
        assert set(values) <= SURICATA_KEYWORDS, line
        assert values["classtype"] in DEFAULT_CLASSTYPES
        if match.group(1) != "ip":
            assert_name(values["content"].strip('"').removeprefix("."))
        sids.append(int(values["sid"]))
    assert len(sids) == len(set(sids))
    assert all(SID_BASE <= sid < SID_BASE + SID_SPAN for sid in sids)
    return sids


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_suricata_rules_syntax(variant: str, tmp_path: Path) -> None:
    path = write(tmp_path, BlocklistFormat.suricata, VARIANTS[variant]())
    check_suricata(path.read_text())
    try:
        from idstools import rule as idsrule  # OISF's rule parser, as used by suricata-update
    except ImportError:
        return
    for line in body(path.read_text(), "#"):
        parsed = idsrule.parse(line)
        assert parsed is not None and parsed.sid >= SID_BASE and parsed.classtype == "policy-violation"


def test_suricata_syntax_check_catches_a_broken_rule() -> None:
    rules = BlocklistFormat.suricata.to_renderer().render(build())
    with pytest.raises(AssertionError):
        check_suricata(rules.replace("; endswith;", "; endswith", 1))
    with pytest.raises(AssertionError):
        check_suricata(rules.replace('msg:"phonehome', 'msg:"phone"home', 1))


@pytest.mark.parametrize("variant", ["sample", "odd"])
def test_suricata_loads_rules(variant: str, tmp_path: Path) -> None:
    suricata = need("suricata")
    path = write(tmp_path, BlocklistFormat.suricata, VARIANTS[variant]())
    done = run(suricata, "-T", "-S", str(path), "-l", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("fmt", list(BlocklistFormat))
def test_demo_every_format_is_consumable(demo_workspace: Path, fmt: BlocklistFormat, tmp_path: Path) -> None:
    blocklist = demo_blocklist(demo_workspace, keep_required=True)
    assert blocklist.devices and blocklist.names and blocklist.addresses
    path = write(tmp_path, fmt, blocklist)
    checks: dict[BlocklistFormat, Callable[[], subprocess.CompletedProcess[str] | None]] = {
        BlocklistFormat.dnsmasq: lambda: run(need("dnsmasq"), "--test", f"--conf-file={path}"),
        BlocklistFormat.unbound: lambda: run(need("unbound-checkconf"), str(path)),
        BlocklistFormat.rpz: lambda: run(need("named-checkzone"), "-k", "fail", "rpz.phonehome", str(path)),
        BlocklistFormat.nftables: lambda: run(need("nft"), "-c", "-f", str(path)),
    }
    if fmt is BlocklistFormat.suricata:
        check_suricata(path.read_text())
    elif fmt is BlocklistFormat.zeek_intel:
        fields, rows = zeek_rows(path)
        assert len(fields) == 4 and all(len(r) == 4 for r in rows) and rows
    elif fmt in checks:
        done = checks[fmt]()
        assert done is not None and done.returncode == 0, done.stdout + done.stderr if done else ""
