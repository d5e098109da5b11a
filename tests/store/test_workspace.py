"""The SQLite workspace and the report codec."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest

from phonehome.model import InputSummary
from phonehome.store.codec import CodecError, decode, encode
from phonehome.store.workspace import Workspace, WorkspaceError
from phonehome.testing.factories import make_report


def test_codec_round_trip_is_lossless() -> None:
    report = make_report()
    assert decode(json.loads(json.dumps(encode(report)))) == report


def test_unknown_schema_version_is_refused() -> None:
    state = encode(make_report())
    state["schema_version"] = "0.1"
    with pytest.raises(CodecError, match="schema version '0.1'"):
        decode(state)


def test_same_inputs_replace_different_inputs_add(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    report = make_report()
    first = ws.save(report)
    second = ws.save(report)
    assert [a.id for a in ws.list_audits()] == [second]
    assert second != first
    other = dataclasses.replace(
        report, inputs=(InputSummary("other.pcap", "pcap", 10, "ab" * 32),)
    )
    third = ws.save(other)
    rows = ws.list_audits()
    assert [r.id for r in rows] == [second, third]
    assert rows[0].devices == len(report.devices) and rows[0].findings == len(report.findings)
    assert ws.load()[0] == third
    assert ws.load(second) == (second, report)
    with sqlite3.connect(tmp_path / "phonehome.db") as db:
        assert db.execute("select count(*) from devices").fetchone()[0] == len(report.devices) * 2


def test_missing_audit_and_bad_database(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "a")
    with pytest.raises(WorkspaceError, match="no audits yet"):
        ws.load()
    with pytest.raises(WorkspaceError, match="no audit with id 7"):
        ws.load(7)
    bad = tmp_path / "b"
    bad.mkdir()
    (bad / "phonehome.db").write_bytes(b"not a database" * 200)
    with pytest.raises(WorkspaceError, match="not a usable phonehome workspace"):
        Workspace(bad)
