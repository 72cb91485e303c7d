"""SIGKILL safety: a writer killed in the middle of recording leaves a consistent workspace.

A child process records files into one case in a loop (every third one about 20 MiB, so that the
copy into the blob store takes a measurable time), and the parent kills it with SIGKILL at chosen
moments, one child after another in the same workspace:

- ``count``: as soon as N more records are visible in the database (the child is then anywhere:
  writing its next input, copying it into the store, or inside its ledger transaction);
- ``copy``: while a large file is being copied into the store (an ``incoming-*`` temp file of at
  least 1 MiB exists; the child is frozen with SIGSTOP first, so the kill provably lands before
  the blob is complete);
- ``hold``: inside the ledger transaction, after the ``artifact.recorded`` entry and its Merkle
  nodes were sent to the database but before the commit, while the case lock is held (the child
  wraps ``LedgerWriter.append_many`` to stop there; the library itself is unmodified).

After every kill: the case log verifies, ``fsck`` is OK (orphan blobs and stray temp files are
notes, not failures), the artifact rows match the ``artifact.recorded`` entries one to one, every
recorded blob re-hashes, and the next writer gets the case lock. At the end, the file whose
transaction was killed records normally (it was never half-recorded), and the ``custody fsck``
command exits 0.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from sqlmodel import func, select
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from custody import db
from custody.case_checkpoints import sign_case_checkpoint
from custody.caselog import list_entries, verify_case_log
from custody.fsck import fsck
from custody.packs import INDEX_SUFFIX, PACK_SUFFIX
from custody.recording import record_files
from custody.workspace import Workspace
from tests.conftest import PASSPHRASE, REPO, custody_command, make_cli

CASE = "OP-TEST"
TOOL = "adscraper"
BIG = 20 << 20
TIMEOUT = 30.0  # seconds to wait for any one moment to kill at
T = TypeVar("T")

CHILD = """
import os, sys, time
from pathlib import Path
from custody.ledger import LedgerWriter
from custody.recording import record_files
from custody.workspace import Workspace

root, folder, mode, prefix = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
case, tool, big = sys.argv[5], sys.argv[6], int(sys.argv[7])
folder.mkdir(parents=True, exist_ok=True)
block = os.urandom(big)

if mode == "hold":
    # Stop inside the ledger transaction of this child's third record: the entry and its Merkle
    # nodes are flushed to the database, the case lock is held, nothing is committed.
    original, seen = LedgerWriter.append_many, []

    def append_many(self, event_type, bodies):
        rows = original(self, event_type, bodies)
        if event_type == "artifact.recorded":
            seen.extend(row.sequence for row in rows)
            if len(seen) >= 3:
                self.session.flush()
                # Written whole, then renamed: the parent must never read a half-written file.
                (folder / "holding.tmp").write_text(f"{rows[-1].sequence} {current}")
                os.replace(folder / "holding.tmp", folder / "holding")
                time.sleep(600)
        return rows

    LedgerWriter.append_many = append_many

with Workspace.open(root) as ws:
    ws.signer(ws.acting_actor_name())
    print("ready", flush=True)
    i = 0
    while True:
        current = folder / f"{prefix}-{i:04d}.bin"
        with current.open("wb") as out:
            out.write(f"{prefix} record {i}\\n".encode())
            if i % 3 == 2:
                out.write(block)
        [outcome] = record_files(ws, case, [current], tool_spec=tool)
        assert not outcome.duplicate
        print(i, outcome.sequence, flush=True)
        i += 1
"""


def _env(ws: Workspace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env["CUSTODY_PASSPHRASE"] = PASSPHRASE
    if not ws.database_url.startswith("sqlite"):
        env["CUSTODY_DATABASE_URL"] = ws.database_url
    return env


def _artifact_count(ws: Workspace) -> int:
    with db.transaction(ws.engine) as session:
        return session.exec(
            select(func.count()).select_from(db.ArtifactRow).where(db.ArtifactRow.case_id == CASE)
        ).one()


def _big_temp_file(ws: Workspace) -> Path | None:
    for path in ws.store.stray_temp_files():
        try:
            if path.stat().st_size >= 1 << 20:
                return path
        except FileNotFoundError:  # renamed into place meanwhile
            continue
    return None


def _wait_for(condition: Callable[[], T], what: str, child: subprocess.Popen[str]) -> T:
    """Poll ``condition`` every millisecond until it is truthy; fail if the child dies first."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        value = condition()
        if value:
            return value
        if child.poll() is not None:
            raise AssertionError(
                f"the child exited ({child.returncode}) before {what}:\n{child.communicate()[1]}"
            )
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def _kill_child(ws: Workspace, inputs: Path, mode: str, round_number: int, count: int = 0) -> str:
    """Start a recording child, SIGKILL it at the moment ``mode`` names; returns what it hit."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(ws.root),
            str(inputs),
            mode,
            f"r{round_number}",
            CASE,
            TOOL,
            str(BIG),
        ],
        env=_env(ws),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        ready = child.stdout.readline()
        assert ready.strip() == "ready", f"child failed to start: {ready!r} {child.communicate()[1]}"
        if mode == "count":
            target = _artifact_count(ws) + count
            _wait_for(lambda: _artifact_count(ws) >= target, f"{count} records", child)
            os.kill(child.pid, signal.SIGKILL)
            hit = f"after {count} records"
        elif mode == "copy":
            _wait_for(lambda: _big_temp_file(ws), "a large temp file", child)
            os.kill(child.pid, signal.SIGSTOP)
            # Frozen: if the temp file is still there, the kill lands before the blob is complete.
            temp = _big_temp_file(ws)
            while temp is None:  # it completed between the two looks; catch the next one
                os.kill(child.pid, signal.SIGCONT)
                _wait_for(lambda: _big_temp_file(ws), "a large temp file", child)
                os.kill(child.pid, signal.SIGSTOP)
                temp = _big_temp_file(ws)
            os.kill(child.pid, signal.SIGKILL)
            hit = f"copying {temp.stat().st_size >> 20} MiB into {temp.name}"
        else:
            holding = inputs / "holding"
            _wait_for(holding.exists, "the open transaction", child)
            os.kill(child.pid, signal.SIGKILL)
            hit = holding.read_text()
        child.wait(timeout=TIMEOUT)
        assert child.returncode == -signal.SIGKILL, child.communicate()[1]
        print(f"{mode}: killed {hit}")
        return hit
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        assert child.stdout is not None
        assert child.stderr is not None
        child.stdout.close()
        child.stderr.close()


def _assert_consistent(ws: Workspace, what: str) -> list[str]:
    """Everything a killed writer must not break; returns fsck's notes."""
    report = verify_case_log(ws, CASE)
    assert report.ok, (what, report.to_dict())
    result = fsck(ws)
    assert result.ok, (what, result.store.to_dict(), [r.to_dict() for r in result.cases])
    entries = list_entries(ws, CASE)
    assert [e.sequence for e in entries] == list(range(len(entries))), what
    recorded = {e.sequence for e in entries if e.event_type == "artifact.recorded"}
    with db.transaction(ws.engine) as session:
        artifacts = session.exec(select(db.ArtifactRow).where(db.ArtifactRow.case_id == CASE)).all()
    assert len(artifacts) == len(recorded), what
    assert {a.sequence for a in artifacts} == recorded, what
    for artifact in artifacts:
        assert ws.store.verify(artifact.digest) == artifact.size, (what, artifact.digest)
    return result.notes


def test_sigkill_while_recording_leaves_a_consistent_workspace(
    case_workspace: Workspace, tmp_path: Path
) -> None:
    """SIGKILL at four moments of recording; after each, the workspace is consistent.

    Why: the blob store is written before the ledger transaction (so a crash leaves at most an
    orphan blob or a temp file, never a record without its bytes), and the transaction commits
    the entry, its Merkle nodes and the artifact row together or not at all. A writer killed while
    holding the case lock must not block the next one (SQLite releases its file locks with the
    process; PostgreSQL rolls back when the connection drops). Runs on both databases.
    """
    ws = case_workspace
    sign_case_checkpoint(ws, CASE)
    inputs = tmp_path / "inputs"

    hit = _kill_child(ws, inputs, "count", 1, count=4)
    _assert_consistent(ws, hit)

    hit = _kill_child(ws, inputs, "copy", 2)
    assert ws.store.stray_temp_files(), "the kill was meant to land mid-copy"
    notes = _assert_consistent(ws, hit)
    assert any("temporary file" in note for note in notes), notes

    hit = _kill_child(ws, inputs, "hold", 3)
    held_sequence, held_path = int(hit.split()[0]), Path(hit.split(maxsplit=1)[1])
    notes = _assert_consistent(ws, f"killed in the transaction of entry {held_sequence}")
    assert any("referenced by no record" in note for note in notes), notes  # its blob was stored
    assert len(list_entries(ws, CASE)) == held_sequence, "the uncommitted entry is not in the log"

    hit = _kill_child(ws, inputs, "count", 4, count=7)
    _assert_consistent(ws, hit)

    # The workspace takes new records: the file whose transaction was killed was never recorded,
    # so recording it now is a new record (at the next free sequence), not a duplicate.
    size = len(list_entries(ws, CASE))
    [outcome] = record_files(ws, CASE, [held_path], tool_spec=TOOL)
    assert not outcome.duplicate
    assert outcome.sequence == size
    sign_case_checkpoint(ws, CASE)
    _assert_consistent(ws, "after recording again")

    cli = make_cli(tmp_path, None if ws.database_url.startswith("sqlite") else ws.database_url)
    env = {"CUSTODY_WORKSPACE": str(ws.root)}
    checked = cli("fsck", env=env)
    assert checked.code == 0, str(checked)
    assert "Workspace: CONSISTENT" in checked.out, str(checked)
    assert "temporary file" in checked.out, str(checked)
    cli.ok("fsck", "--clean", env=env)
    assert ws.store.stray_temp_files(), "a young temp file may belong to a running record: kept"
    an_hour_ago = time.time() - 3601
    for stray in ws.store.stray_temp_files():
        os.utime(stray, (an_hour_ago, an_hour_ago))
    cli.ok("fsck", "--clean", env=env)
    assert not ws.store.stray_temp_files()
    assert not any("temporary file" in note for note in _assert_consistent(ws, "after fsck --clean"))


def _write_sweep(path: Path, pages: int) -> None:
    """A gzip WARC of ``pages`` HTML responses of 2 KiB each (one gzip member per record)."""
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True, warc_version="1.1")
        for page in range(pages):
            body = f"<html><p>listing {page}</p>".encode() + os.urandom(1024).hex().encode()
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            record = writer.create_warc_record(
                f"https://ads.example/listing/{page}", "response", payload=io.BytesIO(body), http_headers=http
            )
            writer.write_record(record)


def _unsealed_pack(ws: Workspace) -> Path | None:
    folder = ws.store.root / "packs"
    packs = sorted(folder.glob(f"*{PACK_SUFFIX}")) if folder.is_dir() else []
    return next((pack for pack in packs if not pack.with_suffix(INDEX_SUFFIX).exists()), None)


def test_sigkill_during_a_warc_import_leaves_a_consistent_workspace(
    case_workspace: Workspace, tmp_path: Path
) -> None:
    """A bulk import killed while it packs payloads leaves no record and no visible blob.

    Why: payloads go into a pack file that becomes visible (through its index) only once sealed,
    and the entries naming them commit after that; a killed import leaves an unindexed pack,
    which fsck lists as a stray file and ``fsck --clean`` removes once it is old. Importing the
    same file again then records it whole.
    """
    ws = case_workspace
    if ws.store.root.name != "blobs":
        pytest.skip("the database blob store has no packs")
    capture = tmp_path / "sweep.warc.gz"
    _write_sweep(capture, 3000)
    before, artifacts = len(list_entries(ws, CASE)), _artifact_count(ws)
    cli = make_cli(tmp_path, None if ws.database_url.startswith("sqlite") else ws.database_url)
    command = [*custody_command(), "import", "warc", str(capture), "--case", CASE, "--tool", TOOL]
    child = subprocess.Popen(
        command,
        env={**cli.env, "CUSTODY_WORKSPACE": str(ws.root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: _unsealed_pack(ws), "an unsealed pack", child)  # type: ignore[arg-type]
        os.kill(child.pid, signal.SIGSTOP)
        pack = _unsealed_pack(ws)
        assert pack is not None, "the pack was sealed between the two looks; make the capture larger"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdout, child.stderr):
            assert stream is not None
            stream.close()
    assert len(list_entries(ws, CASE)) == before, "nothing of the killed import is in the log"
    notes = _assert_consistent(ws, "killed while packing payloads")
    assert pack in ws.store.stray_temp_files()
    assert any("temporary file" in note for note in notes), notes

    again = cli(
        "import",
        "warc",
        str(capture),
        "--case",
        CASE,
        "--tool",
        TOOL,
        env={"CUSTODY_WORKSPACE": str(ws.root)},
    )
    assert again.code == 0, str(again)
    assert _artifact_count(ws) == artifacts + 3001  # the capture and its 3,000 payloads
    _assert_consistent(ws, "after importing again")
    an_hour_ago = time.time() - 3601
    os.utime(pack, (an_hour_ago, an_hour_ago))
    cli.ok("fsck", "--clean", env={"CUSTODY_WORKSPACE": str(ws.root)})
    assert not pack.exists()
    assert _unsealed_pack(ws) is None
