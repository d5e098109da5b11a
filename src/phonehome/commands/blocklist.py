"""``phonehome blocklist``: a containment blocklist from a saved audit, in a consumer's syntax."""

from __future__ import annotations

from typing import Annotated

import typer

from phonehome.cliutil import (
    AuditIdOpt,
    OutputOpt,
    WorkspaceOpt,
    err,
    open_workspace,
    reporting_errors,
    write_output,
)
from phonehome.outputs.blocklists.model import Scope
from phonehome.outputs.blocklists.registry import BlocklistFormat

HELP = (
    "Write a containment blocklist for restricted or flagged devices from a saved audit.\n\n"
    "Entries are what those devices were seen contacting (when a finding names the destination or "
    "the device's vendor operates it) plus the intel catalogue's domains for their vendors; each "
    "carries a comment saying why. Output is sorted and carries no clock time, so the same audit "
    "and options always give the same file.\n\n"
    "Formats: hosts (0.0.0.0 and :: lines), dnsmasq (address=/d/, NXDOMAIN), unbound (local-zone "
    "always_nxdomain), rpz (BIND response policy zone), adblock (||d^ for AdGuard Home and Pi-hole), "
    "domains (plain list), nftables (sets of observed addresses and forward drop rules), zeek-intel "
    "(Intel framework file), suricata (dns.query, tls.sni and ip alert rules)."
)


def register(app: typer.Typer) -> None:
    @app.command(help=HELP)
    def blocklist(
        fmt: Annotated[
            BlocklistFormat,
            typer.Option(
                "--format", "-f", help="Blocklist syntax (see the formats above).", show_default=False
            ),
        ],
        output: OutputOpt = None,
        workspace: WorkspaceOpt = None,
        audit_id: AuditIdOpt = None,
        device: Annotated[
            list[str] | None,
            typer.Option(
                "--device",
                "-d",
                help="Device id, MAC, IP or host name to contain (repeatable). Default: every device "
                "with a finding.",
                show_default=False,
            ),
        ] = None,
        purpose: Annotated[
            list[str] | None,
            typer.Option(
                "--purpose",
                help="Only destinations with this catalogue purpose (repeatable): app-api, analytics, "
                "device-cloud, ...; 'unknown' for names the catalogue does not describe.",
                show_default=False,
            ),
        ] = None,
        keep_required: Annotated[
            bool,
            typer.Option(
                "--keep-required",
                help="Leave out names the catalogue says the device needs to work (blocking: breaks); "
                "they are listed in a comment, and suffix formats exempt them from a blocked parent.",
            ),
        ] = False,
        include_catalogue: Annotated[
            bool,
            typer.Option(
                "--include-catalogue/--observed-only",
                help="Add the intel catalogue's domains for the devices' vendors, or only what was seen.",
            ),
        ] = True,
        all_destinations: Annotated[
            bool,
            typer.Option(
                "--all-destinations",
                help="Also block observed destinations that no finding names and the device's vendor "
                "does not operate (NTP, connectivity checks, other companies' services). DNS blocklists "
                "apply to every client of the resolver.",
            ),
        ] = False,
        scope: Annotated[
            Scope,
            typer.Option(
                "--scope",
                help="nftables: match each device's own addresses, or its whole subnet (/24, /64).",
            ),
        ] = Scope.device,
    ) -> None:
        with reporting_errors():
            from phonehome.intel.loader import default_intel
            from phonehome.outputs.blocklists import BlocklistOptions, render_blocklist

            number, saved = open_workspace(workspace).load(audit_id)
            options = BlocklistOptions(
                devices=tuple(device or ()),
                purposes=tuple(purpose or ()),
                keep_required=keep_required,
                include_catalogue=include_catalogue,
                all_destinations=all_destinations,
                scope=scope,
            )
            text, result = render_blocklist(saved, fmt, options, number, default_intel())
            write_output(text, output)
            if result.invalid:
                examples = "; ".join(result.invalid[:3])
                err.print(
                    f"phonehome: warning: dropped {len(result.invalid)} invalid name(s) or address(es): "
                    f"{examples}{' ...' if len(result.invalid) > 3 else ''}",
                    markup=False,
                    soft_wrap=True,
                )
            if not result.devices:
                err.print(
                    f"phonehome: warning: audit {number} has no device with a finding; "
                    "the blocklist is empty (name devices with --device)",
                    markup=False,
                    soft_wrap=True,
                )
            if output not in (None, "-"):
                err.print(
                    f"Blocklist written to {output}: {len(result.names)} names, {len(result.addresses)} "
                    f"addresses for {len(result.devices)} device(s); {len(result.withheld)} withheld",
                    markup=False,
                    soft_wrap=True,
                )
