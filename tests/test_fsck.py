"""``fsck``: database vs blobs vs ledger vs checkpoints, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from custody import db
from custody.case_checkpoints import sign_case_checkpoint
from custody.cases import open_case
from custody.fsck import fsck
from custody.keys import KdfParams, encrypt_private_key
from custody.ledger_verify import Report
from custody.recording import record_files
from custody.store import FileBlobStore
from custody.tools import list_tools
from custody.workspace import Workspace

CASE = "OP-TEST"


@pytest.fixture(autouse=True, scope="module")
def _fast_key_files() -> Iterator[None]:
    """New key files use the cheapest Argon2id parameters custody accepts: these tests are about
    the workspace, not key derivation (tests/core/test_key_files.py covers the real parameters)."""
    with pytest.MonkeyPatch.context() as patch:
        assert encrypt_private_key.__kwdefaults__ is not None
        patch.setitem(encrypt_private_key.__kwdefaults__, "params", KdfParams(1, 1, 8 * 1024))
        yield


@pytest.fixture
def recorded(case_workspace: Workspace, tmp_path: Path) -> tuple[Workspace, str]:
    """The case workspace with one recorded artifact and a checkpoint; returns its digest."""
    page = tmp_path / "page.html"
    page.write_bytes(b"<html>captured page</html>")
    (outcome,) = record_files(case_workspace, CASE, [page], tool_spec="adscraper")
    sign_case_checkpoint(case_workspace, CASE)
    return case_workspace, outcome.digest


def blob_path(ws: Workspace, digest: str) -> Path:
    assert isinstance(ws.store, FileBlobStore)
    return ws.store.path_for(digest)


def corrupt_blob(ws: Workspace, digest: str) -> None:
    path = blob_path(ws, digest)
    path.chmod(0o644)  # blobs are stored read-only
    path.write_bytes(b"something else entirely")


def all_failures(*reports: Report) -> list[str]:
    return [failure for report in reports for check in report.checks for failure in check.failures]


def test_clean_workspace_is_consistent(recorded: tuple[Workspace, str]) -> None:
    ws, _ = recorded
    open_case(ws, "OP-SECOND", title="Second case", jurisdictions=["US"], authority="AUTH/2")
    result = fsck(ws)
    assert result.ok, [r.to_dict() for r in (*result.cases, result.store)]
    assert [report.subject for report in result.cases] == ["case OP-SECOND", f"case {CASE}"]
    assert all(check.ok for check in result.store.checks)
    assert result.notes == []


def test_orphan_blobs_and_temp_files_are_notes_not_failures(recorded: tuple[Workspace, str]) -> None:
    ws, _ = recorded
    orphan = ws.store.put_bytes(b"stored, then the writer was killed before recording").digest
    stray = ws.store.root / "tmp" / "incoming-xyz"
    stray.write_bytes(b"half a capture")

    result = fsck(ws)
    assert result.ok
    assert all_failures(*result.cases, result.store) == []
    assert len(result.notes) == 2
    assert result.notes[0].startswith("1 stored blob(s) referenced by no record")
    assert orphan[:16] in result.notes[0]
    assert result.notes[1] == (
        "1 temporary file(s) of interrupted or running writes (remove those older than an hour with --clean)"
    )
    assert stray.exists()  # fsck only reads unless asked to clean

    young = fsck(ws, clean_temp=True)  # a fresh temp file may belong to a record still running
    assert young.notes[1].startswith("1 temporary file(s) of interrupted or running writes (removed 0;")
    assert stray.exists()
    an_hour_ago = time.time() - 3601
    os.utime(stray, (an_hour_ago, an_hour_ago))
    cleaned = fsck(ws, clean_temp=True)
    assert cleaned.ok
    assert cleaned.notes[1].startswith("1 temporary file(s) of interrupted or running writes (removed 1;")
    assert not stray.exists()
    assert ws.store.exists(orphan)  # blobs are never removed: only temp files are

    assert fsck(ws).notes == [result.notes[0]]


def test_corrupted_artifact_blob_is_inconsistent_naming_the_digest(recorded: tuple[Workspace, str]) -> None:
    ws, digest = recorded
    corrupt_blob(ws, digest)
    result = fsck(ws)
    assert not result.ok
    (store_failure,) = all_failures(result.store)
    assert store_failure.startswith(f"blob {digest} is corrupt: its bytes now hash to ")
    # The case's own checklist names it too; nothing else in the case is wrong.
    (case_failure,) = all_failures(*result.cases)
    assert digest in case_failure


def test_corrupted_or_missing_tool_card_blob_is_inconsistent(recorded: tuple[Workspace, str]) -> None:
    ws, _ = recorded
    cards = sorted(tool.card_digest for tool in list_tools(ws))
    assert len(cards) == 2
    corrupt_blob(ws, cards[0])
    blob_path(ws, cards[1]).unlink()
    result = fsck(ws)
    assert not result.ok
    assert all(report.ok for report in result.cases)  # the ledger and artifacts are fine
    failures = all_failures(result.store)
    assert len(failures) == 2
    assert any(f.startswith(f"blob {cards[0]} is corrupt") for f in failures)
    assert any(cards[1] in f and "not in the store" in f for f in failures)


def test_a_broken_case_log_makes_the_workspace_inconsistent(recorded: tuple[Workspace, str]) -> None:
    ws, _ = recorded
    open_case(ws, "OP-SECOND", title="Second case", jurisdictions=["US"], authority="AUTH/2")
    with db.transaction(ws.engine) as session:
        row = session.get(db.LedgerEntryRow, (CASE, 1))
        assert row is not None
        row.entry_sha256 = "0" * 64
        session.add(row)
    result = fsck(ws)
    assert not result.ok
    second, broken = result.cases
    assert second.ok
    (failure,) = all_failures(broken)
    assert failure.startswith(f"entry 1: stored digest {'0' * 16}..., bytes hash to ")
    assert result.store.ok
