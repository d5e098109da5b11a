"""The workspace: every audit saved in SQLite (through SQLAlchemy Core) for later commands.

An audit is written in one transaction, after the whole pipeline has succeeded, so a failed or
interrupted run never leaves a partial audit behind. Audits are keyed by the hashes of their
inputs: re-running on the same files replaces the earlier audit instead of adding a copy.

Removal-plan edits (owner, site, status, ...) are kept per device, not per audit, so they carry
forward to later audits of the same device. The table layout has its own version
(``STORE_VERSION``); opening an older workspace upgrades it in place through ``STORE_MIGRATIONS``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import sqlalchemy as sa
from platformdirs import user_data_dir

from phonehome.errors import PhonehomeError
from phonehome.model import SCHEMA_VERSION, Report
from phonehome.store.codec import CodecError, decode, encode

STORE_VERSION = "2"
"""Version of the table layout (distinct from the report schema version)."""
ENV_HOME = "PHONEHOME_HOME"

_meta = sa.MetaData()
meta_table = sa.Table(
    "meta", _meta, sa.Column("key", sa.String, primary_key=True), sa.Column("value", sa.String)
)
audits = sa.Table(
    "audits",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("input_key", sa.String(64), nullable=False, unique=True),
    sa.Column("generated_at", sa.String, nullable=False),
    sa.Column("schema_version", sa.String, nullable=False),
    sa.Column("intel_version", sa.String, nullable=False),
    sa.Column("inputs", sa.Text, nullable=False),
    sa.Column("report", sa.Text, nullable=False),
    sqlite_autoincrement=True,  # never reuse the id of a replaced audit
)
devices = sa.Table(
    "devices",
    _meta,
    sa.Column("audit_id", sa.Integer, sa.ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("device_id", sa.String, primary_key=True),
    sa.Column("mac", sa.String),
    sa.Column("vendor", sa.String),
    sa.Column("device_type", sa.String),
    sa.Column("confidence", sa.Float),
)
findings = sa.Table(
    "findings",
    _meta,
    sa.Column("audit_id", sa.Integer, sa.ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("finding_id", sa.String, primary_key=True),
    sa.Column("rule_id", sa.String, nullable=False),
    sa.Column("policy", sa.String, nullable=False),
    sa.Column("severity", sa.Integer, nullable=False),
    sa.Column("device_id", sa.String, nullable=False),
)
plan_edits = sa.Table(
    "plan_edits",
    _meta,
    sa.Column("device_id", sa.String, primary_key=True),
    sa.Column("owner", sa.Text, nullable=False, server_default=""),
    sa.Column("site", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.String, nullable=False, server_default=""),
    sa.Column("replacement", sa.Text, nullable=False, server_default=""),
    sa.Column("due", sa.String, nullable=False, server_default=""),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("imported_from", sa.String, nullable=False, server_default=""),
    sa.Column("updated_at", sa.String, nullable=False, server_default=""),
)
"""The user's removal-plan edits, one row per device id (added in store version 2)."""


def _store_1_to_2(conn: sa.Connection) -> None:
    """1 -> 2: the ``plan_edits`` table."""
    plan_edits.create(conn, checkfirst=True)


STORE_MIGRATIONS: dict[str, tuple[str, Callable[[sa.Connection], None]]] = {"1": ("2", _store_1_to_2)}
"""``from_version -> (to_version, upgrade)`` for the table layout, applied in one transaction."""


class WorkspaceError(PhonehomeError):
    """The workspace cannot be opened, is from an incompatible version, or holds no audit."""


@dataclass(frozen=True)
class PlanEdit:
    """What the user wrote in the editable columns of a removal plan for one device.

    Every field is text as the user gave it ("" when empty); ``status`` and ``due`` (an ISO
    date) are validated by ``phonehome.outputs.plan`` before they are stored.
    """

    device_id: str
    owner: str = ""
    site: str = ""
    status: str = ""
    replacement: str = ""
    due: str = ""
    notes: str = ""

    def is_empty(self) -> bool:
        """True when no editable field holds anything (``open`` is the default status)."""
        return all(not getattr(self, f) for f in EDIT_FIELDS if f != "status") and self.status in ("", "open")


EDIT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(PlanEdit) if f.name != "device_id")
"""The editable fields of a plan row, in column order."""


@dataclass(frozen=True)
class AuditRow:
    id: int
    generated_at: str
    inputs: list[str]
    devices: int
    findings: int


def default_home() -> Path:
    env = os.environ.get(ENV_HOME)
    return Path(env) if env else Path(user_data_dir("phonehome", appauthor=False))


def input_key(report: Report) -> str:
    return hashlib.sha256("\n".join(sorted(i.sha256 for i in report.inputs)).encode()).hexdigest()


class Workspace:
    """One directory holding ``phonehome.db``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db_path = root / "phonehome.db"
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise WorkspaceError(f"{root}: cannot create workspace ({e.strerror or e})") from e
        self._engine = sa.create_engine(f"sqlite:///{self.db_path}")

        @sa.event.listens_for(self._engine, "connect")
        def _pragmas(conn: object, _record: object) -> None:
            cursor = conn.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        try:
            with self._engine.begin() as conn:
                _meta.create_all(conn)
                row = conn.execute(
                    sa.select(meta_table.c.value).where(meta_table.c.key == "store_version")
                ).scalar()
                if row is None:
                    conn.execute(sa.insert(meta_table).values(key="store_version", value=STORE_VERSION))
                elif row != STORE_VERSION:
                    self._upgrade(conn, row)
        except sa.exc.DatabaseError as e:
            raise WorkspaceError(f"{self.db_path}: not a usable phonehome workspace ({e.orig})") from e

    def _upgrade(self, conn: sa.Connection, version: str) -> None:
        """Bring an older table layout up to ``STORE_VERSION`` (inside the opening transaction)."""
        while version != STORE_VERSION:
            if version not in STORE_MIGRATIONS:
                raise WorkspaceError(
                    f"{self.db_path}: workspace layout version {version}; this phonehome uses {STORE_VERSION}"
                )
            version, upgrade = STORE_MIGRATIONS[version]
            upgrade(conn)
        conn.execute(
            sa.update(meta_table).where(meta_table.c.key == "store_version").values(value=STORE_VERSION)
        )

    def save(self, report: Report) -> int:
        """Store ``report`` atomically, replacing an earlier audit of the same inputs."""
        key = input_key(report)
        payload = json.dumps(encode(report), separators=(",", ":"))
        with self._engine.begin() as conn:
            conn.execute(sa.delete(audits).where(audits.c.input_key == key))
            audit_id = conn.execute(
                sa.insert(audits).values(
                    input_key=key,
                    generated_at=report.generated_at,
                    schema_version=report.schema_version,
                    intel_version=report.intel_version,
                    inputs=json.dumps([i.path for i in report.inputs]),
                    report=payload,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            if report.devices:
                conn.execute(
                    sa.insert(devices),
                    [
                        {
                            "audit_id": audit_id,
                            "device_id": d.id,
                            "mac": d.mac,
                            "vendor": d.attribution.vendor,
                            "device_type": d.attribution.device_type,
                            "confidence": d.attribution.confidence,
                        }
                        for d in report.devices
                    ],
                )
            if report.findings:
                conn.execute(
                    sa.insert(findings),
                    [
                        {
                            "audit_id": audit_id,
                            "finding_id": f.id,
                            "rule_id": f.rule_id,
                            "policy": f.policy.policy,
                            "severity": int(f.severity),
                            "device_id": f.device_id,
                        }
                        for f in report.findings
                    ],
                )
        return int(audit_id)

    def list_audits(self) -> list[AuditRow]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    audits.c.id,
                    audits.c.generated_at,
                    audits.c.inputs,
                    sa.select(sa.func.count()).where(devices.c.audit_id == audits.c.id).scalar_subquery(),
                    sa.select(sa.func.count()).where(findings.c.audit_id == audits.c.id).scalar_subquery(),
                ).order_by(audits.c.id)
            ).all()
        return [AuditRow(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]

    def load(self, audit_id: int | None = None) -> tuple[int, Report]:
        """The given audit, or the most recent one."""
        query = sa.select(audits.c.id, audits.c.report)
        query = (
            query.where(audits.c.id == audit_id)
            if audit_id is not None
            else query.order_by(audits.c.id.desc())
        )
        with self._engine.connect() as conn:
            row = conn.execute(query.limit(1)).first()
        if row is None:
            if audit_id is None:
                raise WorkspaceError(f"{self.root}: no audits yet (run `phonehome audit CAPTURE` first)")
            raise WorkspaceError(f"{self.root}: no audit with id {audit_id}")
        try:
            return int(row[0]), decode(json.loads(row[1]))
        except (CodecError, json.JSONDecodeError) as e:
            raise WorkspaceError(f"{self.db_path}: audit {row[0]}: {e}") from e

    def device_ids(self) -> set[str]:
        """Every device id in any saved audit."""
        with self._engine.connect() as conn:
            return set(conn.execute(sa.select(devices.c.device_id).distinct()).scalars())

    def plan_edits(self) -> dict[str, PlanEdit]:
        """The stored removal-plan edits by device id."""
        columns = [plan_edits.c.device_id, *(plan_edits.c[f] for f in EDIT_FIELDS)]
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(*columns).order_by(plan_edits.c.device_id)).all()
        return {r[0]: PlanEdit(r[0], *r[1:]) for r in rows}

    def save_plan_edits(self, edits: Iterable[PlanEdit], imported_from: str = "") -> None:
        """Replace the stored edits of each given device in one transaction; empty edits clear it."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        with self._engine.begin() as conn:
            for edit in edits:
                conn.execute(sa.delete(plan_edits).where(plan_edits.c.device_id == edit.device_id))
                if edit.is_empty():
                    continue
                values = {f: getattr(edit, f) for f in EDIT_FIELDS}
                conn.execute(
                    sa.insert(plan_edits).values(
                        device_id=edit.device_id, imported_from=imported_from, updated_at=now, **values
                    )
                )

    def close(self) -> None:
        self._engine.dispose()


__all__ = ["EDIT_FIELDS", "SCHEMA_VERSION", "PlanEdit", "Workspace", "WorkspaceError", "default_home"]
