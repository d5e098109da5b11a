"""Lossless conversion between a ``Report`` and plain data, for the store.

The stored form carries ``schema_version``; loaders upgrade older versions step by step through
``MIGRATIONS`` before decoding.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from phonehome.model import (
    SCHEMA_VERSION,
    Attribution,
    Candidate,
    Destination,
    Device,
    DeviceID,
    EntityRef,
    Evidence,
    Finding,
    InputSummary,
    Leak,
    PolicyRef,
    Report,
    RuleID,
    Severity,
    Traffic,
)


def _from_1_0(state: dict[str, Any]) -> dict[str, Any]:
    """1.0 -> 1.1: devices gained model, firmware, alternatives, addresses and sources."""
    for device in state.get("devices", []):
        device.setdefault("addresses", [])
        device.setdefault("sources", [])
        device.get("attribution", {}).setdefault("alternatives", [])
    state.setdefault("leaks", [])
    state["schema_version"] = "1.1"
    return state


MIGRATIONS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {"1.0": ("1.1", _from_1_0)}
"""``from_version -> (to_version, upgrade)``."""


class CodecError(ValueError):
    """Stored data that cannot be decoded."""


def encode(report: Report) -> dict[str, Any]:
    state = dataclasses.asdict(report)
    for finding in state["findings"]:
        finding["severity"] = int(finding["severity"])
    return state


def _evidence(items: list[dict[str, Any]]) -> tuple[Evidence, ...]:
    return tuple(Evidence(**e) for e in items)  # 1.0 evidence lacks supports/weight: defaults apply


def decode(state: dict[str, Any]) -> Report:
    version = state.get("schema_version")
    while version != SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise CodecError(
                f"stored audit has schema version {version!r}; this phonehome reads {SCHEMA_VERSION}"
            )
        version, upgrade = MIGRATIONS[version]
        state = upgrade(state)
    try:
        devices = tuple(
            Device(
                id=DeviceID(d["id"]),
                mac=d["mac"],
                ips=tuple(d["ips"]),
                hostnames=tuple(d["hostnames"]),
                attribution=Attribution(
                    **{
                        **d["attribution"],
                        "evidence": _evidence(d["attribution"]["evidence"]),
                        "alternatives": tuple(Candidate(**c) for c in d["attribution"]["alternatives"]),
                    }
                ),
                bytes_out=d["bytes_out"],
                bytes_in=d["bytes_in"],
                roles=tuple(d["roles"]),
                oui_vendor=d.get("oui_vendor"),
                addresses=_evidence(d["addresses"]),
                sources=tuple(d["sources"]),
            )
            for d in state["devices"]
        )
        destinations = tuple(
            Destination(
                **{
                    **d,
                    "device_id": DeviceID(d["device_id"]),
                    "traffic": Traffic(
                        **{
                            **d["traffic"],
                            "applications": tuple(d["traffic"]["applications"]),
                            "ports": tuple(d["traffic"]["ports"]),
                            "samples": tuple(d["traffic"].get("samples", ())),
                        }
                    ),
                }
            )
            for d in state["destinations"]
        )
        findings = tuple(
            Finding(
                id=f["id"],
                rule_id=RuleID(f["rule_id"]),
                severity=Severity(f["severity"]),
                device_id=DeviceID(f["device_id"]),
                title=f["title"],
                policy=PolicyRef(**{**f["policy"], "references": tuple(f["policy"]["references"])}),
                evidence=_evidence(f["evidence"]),
                category=f.get("category", "equipment"),
            )
            for f in state["findings"]
        )
        return Report(
            generated_at=state["generated_at"],
            inputs=tuple(InputSummary(**{**i, "errors": tuple(i["errors"])}) for i in state["inputs"]),
            devices=devices,
            destinations=destinations,
            findings=findings,
            intel_version=state["intel_version"],
            entities=tuple(EntityRef(**e) for e in state["entities"]),
            settings=state["settings"],
            leaks=tuple(Leak(**{**k, "device_id": DeviceID(k["device_id"])}) for k in state.get("leaks", [])),
            schema_version=state["schema_version"],
        )
    except (KeyError, TypeError, ValueError) as e:
        raise CodecError(f"stored audit is malformed ({e})") from e
