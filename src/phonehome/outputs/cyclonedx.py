"""CycloneDX export: one hardware (``device``) component per device, with restriction status.

Built with cyclonedx-python-lib and emitted as CycloneDX 1.6 JSON. Manufacturer, model and
firmware come from the device's attribution; phonehome's verdicts travel as ``phonehome:*``
properties. The serial number derives from the audit stamp (uuid5), and the only timestamp is
the audit's own, so equal reports give equal documents.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import TYPE_CHECKING

from phonehome import __version__
from phonehome.model import Device, Finding, Report
from phonehome.outputs.compliance import AuditStamp, audit_stamp
from phonehome.outputs.interface import OutputError

if TYPE_CHECKING:
    from cyclonedx.model import Property
    from cyclonedx.model.component import Component

SCHEMA_VERSION = "1.6"
"""CycloneDX specification version of the output."""

NAMESPACE = uuid.UUID("5d0c6c1e-2a57-4c38-9f0e-6f1d3b3c8a10")
"""uuid5 namespace of phonehome's CycloneDX serial numbers."""


def _timestamp(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise OutputError(f"cyclonedx: report time is not ISO 8601: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def serial_number(stamp: AuditStamp) -> uuid.UUID:
    """The BOM serial number of an audit: the same audit always gets the same one."""
    return uuid.uuid5(NAMESPACE, stamp.seed + ":cyclonedx")


def _properties(pairs: list[tuple[str, str | None]]) -> list[Property]:
    from cyclonedx.model import Property

    return [Property(name=name, value=value) for name, value in pairs if value not in (None, "")]


def _device_component(
    device: Device,
    findings: list[Finding],
    names: dict[str, str],
    threshold: float,
) -> Component:
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.contact import OrganizationalEntity

    a = device.attribution
    resolved = a.vendor is not None and a.confidence >= threshold
    vendor_name = names.get(a.vendor, a.vendor) if a.vendor else None
    manufacturer = OrganizationalEntity(name=vendor_name) if resolved and vendor_name else None
    supplier_name = a.brand or (vendor_name if resolved else None)
    supplier = OrganizationalEntity(name=supplier_name) if supplier_name else None
    described = " ".join(x for x in ((vendor_name if resolved else None), a.device_type) if x)
    name = a.model or described or "unidentified device"
    restricted = any(f.category == "equipment" for f in findings)
    pairs: list[tuple[str, str | None]] = [
        ("phonehome:device_id", device.id),
        ("phonehome:restricted", "true" if restricted else "false"),
        ("phonehome:rules", ",".join(sorted({f.rule_id for f in findings}))),
        ("phonehome:policies", ",".join(sorted({f.policy.policy for f in findings}))),
        (
            "phonehome:max_severity",
            max(findings, key=lambda f: f.severity).severity.label if findings else None,
        ),
        ("phonehome:confidence", f"{a.confidence:.3f}"),
        ("phonehome:vendor_id", a.vendor),
        ("phonehome:vendor_resolved", "true" if resolved else "false"),
        ("phonehome:brand", a.brand),
        ("phonehome:device_type", a.device_type),
        ("phonehome:oui_registrant", device.oui_vendor),
        ("phonehome:mac", device.mac),
        ("phonehome:bytes_out", str(device.bytes_out)),
        ("phonehome:bytes_in", str(device.bytes_in)),
    ]
    pairs += [("phonehome:ip", ip) for ip in device.ips]
    pairs += [("phonehome:hostname", h) for h in device.hostnames]
    pairs += [("phonehome:role", r) for r in device.roles]
    pairs += [("phonehome:alternative", f"{c.vendor}={c.confidence:.3f}") for c in a.alternatives]
    return Component(
        type=ComponentType.DEVICE,
        bom_ref=device.id,
        name=name,
        version=a.firmware,
        manufacturer=manufacturer,
        supplier=supplier,
        description=f"Network device {device.id} observed by phonehome",
        properties=_properties(pairs),
    )


def render_cyclonedx(report: Report, audit_id: int | None = None) -> str:
    """The CycloneDX 1.6 JSON document for ``report``."""
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.tool import ToolRepository
    from cyclonedx.output.json import JsonV1Dot6

    stamp = audit_stamp(report, audit_id)
    names = {e.id: e.name for e in report.entities}
    value = report.settings.get("min_confidence", 0.5)
    threshold = float(value) if isinstance(value, int | float) else 0.5
    by_device: dict[str, list[Finding]] = defaultdict(list)
    for f in report.findings:
        by_device[f.device_id].append(f)
    tool = Component(
        type=ComponentType.APPLICATION,
        bom_ref="tool:phonehome",
        name="phonehome",
        version=__version__,
        description="Audits network evidence for equipment from restricted vendors",
    )
    meta: list[tuple[str, str | None]] = [
        ("phonehome:audit_key", stamp.audit_key),
        ("phonehome:audit_id", None if audit_id is None else str(audit_id)),
        ("phonehome:generated_at", stamp.generated_at),
        ("phonehome:intel_version", stamp.intel_version),
        ("phonehome:report_schema", report.schema_version),
        ("phonehome:min_confidence", f"{threshold:.2f}"),
    ]
    policies = report.settings.get("policies")
    if isinstance(policies, list):
        meta.append(("phonehome:policies", ",".join(sorted(map(str, policies)))))
    meta += [("phonehome:input", f"sha256:{i.sha256} {i.path}") for i in report.inputs]
    bom = Bom(
        serial_number=serial_number(stamp),
        metadata=BomMetaData(
            timestamp=_timestamp(report.generated_at),
            tools=ToolRepository(components=[tool]),
            properties=_properties(meta),
        ),
        components=[_device_component(d, by_device.get(d.id, []), names, threshold) for d in report.devices],
    )
    return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"


class CycloneDxFormat:
    """``phonehome export --format cyclonedx``."""

    name = "cyclonedx"
    suffix = ".cdx.json"

    def render(self, report: Report) -> str:
        return render_cyclonedx(report)
