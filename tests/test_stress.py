"""Stress test of the case ledger under concurrent writers (issue 3, "Team deployment").

Eight writer processes append 200 records each into ONE case, at the same moment, on SQLite and
on the real PostgreSQL server. Every record is its own ``record_files`` call, so its own locked
transaction: 1,600 contended appends. Three keys write (``ana``, who opened the case, and ``bo``
and ``cy``, who have never written to it), and two tools (``adscraper`` and ``lantern-decoy``,
neither in the case yet), so the first-use ``key.added`` and ``tool.registered`` entries race
too. While the writers run, the parent signs a checkpoint, which takes the same case lock.

What must hold afterwards: one linear log (dense sequence numbers, one entry per number, exactly
one introduction per key and tool, every writer's records in the order it made them), a clean
``verify_case_log``, an inclusion proof for every entry against the signed final checkpoint, and
consistency proofs between the checkpoint signed before the writers started, the one signed
while they ran and the one signed after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlmodel import select

from custody import db, merkle
from custody.actors import create_key
from custody.case_checkpoints import prove_inclusion, sign_case_checkpoint
from custody.caselog import list_entries, verify_case_log
from custody.checkpoint import Checkpoint, open_checkpoint
from custody.ledger import load_nodes
from custody.logkey import log_key_info
from custody.workspace import Workspace
from tests.conftest import PASSPHRASE, REPO

CASE = "OP-TEST"
WRITERS = 8
PER_WRITER = 200
# Writer w acts as KEYS[w] with TOOLS[w]: every key and tool is used by several writers at once.
KEYS = ["ana", "bo", "cy", "ana", "bo", "cy", "ana", "bo"]
TOOLS = ["adscraper", "lantern-decoy"] * 4
MID_CHECKPOINT_AFTER = 500  # entries in the log before the parent signs its checkpoint
TIMEOUT = 240  # seconds for the whole run; it takes far less (see the test docstring)

# Each writer unlocks its key (Argon2id, slow on purpose) and opens the workspace, says "ready",
# waits for "go" on stdin so that all eight start appending at the same moment, then records its
# files one call at a time and prints the sequence numbers it was given, as JSON.
WRITER = """
import json, sys, time
from pathlib import Path
from custody.recording import RecordOptions, record_files
from custody.workspace import Workspace

root, folder = Path(sys.argv[1]), Path(sys.argv[2])
worker, count, actor, tool, case = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
folder.mkdir(parents=True, exist_ok=True)
# The decoy's default level (HIL2_APPROVED) names the human who approved each message.
options = RecordOptions(approved_by=actor) if tool == "lantern-decoy" else RecordOptions()
with Workspace.open(root) as ws:
    ws.signer(actor)
    print("ready", flush=True)
    sys.stdin.readline()
    sequences, started, slowest = [], time.perf_counter(), 0.0
    for i in range(count):
        path = folder / f"w{worker}-{i:03d}.txt"
        path.write_text(f"writer {worker} ({actor}, {tool}) record {i}\\n")
        before = time.perf_counter()
        [outcome] = record_files(ws, case, [path], tool_spec=tool, options=options, actor_name=actor)
        slowest = max(slowest, time.perf_counter() - before)
        assert not outcome.duplicate, outcome
        sequences.append(outcome.sequence)
    elapsed = time.perf_counter() - started
print(json.dumps({"sequences": sequences, "seconds": elapsed, "slowest": slowest}), flush=True)
"""


def _writer_env(ws: Workspace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env["CUSTODY_PASSPHRASE"] = PASSPHRASE
    if not ws.database_url.startswith("sqlite"):
        env["CUSTODY_DATABASE_URL"] = ws.database_url
    return env


def _log_size(ws: Workspace) -> int:
    with db.transaction(ws.engine) as session:
        case = session.get(db.CaseRow, CASE)
        assert case is not None
        return case.log_size


def _open_checkpoints(ws: Workspace) -> list[Checkpoint]:
    """Every stored checkpoint of the case, its signature verified with the log key."""
    with db.transaction(ws.engine) as session:
        info = log_key_info(session)
        notes = session.exec(
            select(db.CheckpointRow.note)
            .where(db.CheckpointRow.case_id == CASE)
            .order_by(db.CheckpointRow.size)  # type: ignore[arg-type]
        ).all()
    return [open_checkpoint(note, {info.name: info.public_key}, origin=info.origin(CASE)) for note in notes]


def test_eight_writers_two_hundred_appends_each_give_one_linear_log(
    case_workspace: Workspace, tmp_path: Path
) -> None:
    """8 processes x 200 separate record transactions into one case: one linear, provable log.

    Why: appends must be serialised per case across processes and hosts by the database itself
    (BEGIN IMMEDIATE on SQLite, SELECT ... FOR UPDATE on PostgreSQL). A lost update would show
    up as a gap, a fork (two entries claiming one sequence), a duplicated key or tool
    introduction, a Merkle node computed from a stale tree, or a checkpoint that no later tree
    extends. Runs on both databases: 15-25 s each on an idle 2-core machine (up to ~45 s
    when other work shares the CPUs).
    """
    ws = case_workspace
    create_key(ws, "bo", "investigator")
    create_key(ws, "cy", "analyst")
    before = sign_case_checkpoint(ws, CASE, reason="manual")

    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(ws.root),
                str(tmp_path / "inputs" / f"w{w}"),
                str(w),
                str(PER_WRITER),
                KEYS[w],
                TOOLS[w],
                CASE,
            ],
            env=_writer_env(ws),
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WRITERS)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            ready = process.stdout.readline()
            assert ready.strip() == "ready", f"writer failed to start: {ready!r} {process.communicate()[1]}"
        started = time.monotonic()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()

        # A checkpoint signed in the middle of the run, contending for the same case lock.
        while _log_size(ws) < MID_CHECKPOINT_AFTER:
            assert time.monotonic() - started < TIMEOUT, "writers made no progress"
            for w, process in enumerate(processes):
                assert process.poll() in (None, 0), f"writer {w} failed:\n{process.communicate()[1]}"
            time.sleep(0.05)
        middle = sign_case_checkpoint(ws, CASE, reason="manual")

        results = []
        for w, process in enumerate(processes):
            remaining = max(1.0, TIMEOUT - (time.monotonic() - started))
            out, err = process.communicate(timeout=remaining)
            assert process.returncode == 0, f"writer {w} failed:\n{err}"
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    elapsed = time.monotonic() - started
    after = sign_case_checkpoint(ws, CASE, reason="manual")
    slowest = max(r["slowest"] for r in results)
    print(
        f"\n{WRITERS * PER_WRITER} appends by {WRITERS} writers in {elapsed:.1f} s; slowest {slowest:.2f} s"
    )

    # One linear log: dense sequence numbers, one entry each, one introduction per key and tool.
    entries = list_entries(ws, CASE)
    n = len(entries)
    sequences = [e.sequence for e in entries]
    assert sequences == list(range(n)), "sequence numbers have a gap"
    with db.transaction(ws.engine) as session:
        stored = session.exec(
            select(db.LedgerEntryRow.sequence).where(db.LedgerEntryRow.case_id == CASE)
        ).all()
        case = session.get(db.CaseRow, CASE)
        artifacts = session.exec(select(db.ArtifactRow).where(db.ArtifactRow.case_id == CASE)).all()
    assert sorted(stored) == list(range(n)), "a sequence number has more than one entry (a fork)"
    assert case is not None
    assert case.log_size == n
    kinds = Counter(e.event_type for e in entries)
    assert kinds == {
        "case.opened": 1,
        "key.added": 2,  # bo and cy, once each, however many of their writers raced
        "tool.registered": 2,  # adscraper and lantern-decoy, once each
        "artifact.recorded": WRITERS * PER_WRITER,
    }, kinds

    # Every writer's records are in the log, in the order it made them, and nothing else is.
    recorded = {e.sequence for e in entries if e.event_type == "artifact.recorded"}
    claimed: list[int] = []
    for w, result in enumerate(results):
        assert len(result["sequences"]) == PER_WRITER
        assert result["sequences"] == sorted(result["sequences"]), f"writer {w} saw time run backwards"
        claimed.extend(result["sequences"])
    assert sorted(claimed) == sorted(recorded)
    assert len(artifacts) == WRITERS * PER_WRITER
    assert len({a.digest for a in artifacts}) == WRITERS * PER_WRITER
    assert sorted(a.sequence for a in artifacts) == sorted(recorded)

    # The full checklist: signatures, sequence, keys, Merkle root, every checkpoint, continuity.
    report = verify_case_log(ws, CASE)
    assert report.ok, report.to_dict()

    # Checkpoints: signed by the log key, over the roots the entries themselves give.
    checkpoints = _open_checkpoints(ws)
    assert [c.size for c in checkpoints] == [before.size, middle.size, after.size]
    assert before.size == 1
    assert MID_CHECKPOINT_AFTER <= middle.size < n
    assert after.size == n
    tree = merkle.MemoryTree.from_entries(e.entry for e in entries)
    for checkpoint in checkpoints:
        assert checkpoint.root_hash == tree.root(checkpoint.size), f"checkpoint at {checkpoint.size}"

    # Every entry proves into the final signed checkpoint, with proofs built from the stored
    # Merkle nodes (read once here; the same functions prove_inclusion uses), and a spread of
    # entries through prove_inclusion itself (one query of O(log n) nodes per proof).
    final = checkpoints[-1]
    with db.transaction(ws.engine) as session:
        rows = session.exec(select(db.MerkleNodeRow).where(db.MerkleNodeRow.case_id == CASE)).all()
    stored_nodes = {(row.level, row.idx): row.hash for row in rows}
    assert len(stored_nodes) == len(tree.nodes), "stored Merkle nodes differ in number from the tree's"
    assert merkle.root(final.size, stored_nodes) == final.root_hash
    for entry in entries:
        path = merkle.inclusion_proof(entry.sequence, final.size, stored_nodes)
        merkle.verify_inclusion(
            merkle.leaf_hash(entry.entry), entry.sequence, final.size, path, final.root_hash
        )
    for sequence in sorted({0, 1, n // 2, n - 2, n - 1, *range(0, n, 37)}):
        proof = prove_inclusion(ws, CASE, sequence, size=final.size)
        assert proof.leaf_hash == merkle.leaf_hash(entries[sequence].entry)
        assert proof.root == final.root_hash
        merkle.verify_inclusion(proof.leaf_hash, sequence, final.size, proof.path, final.root_hash)

    # Each later checkpoint extends each earlier one (proofs computed from the stored nodes).
    with db.transaction(ws.engine) as session:
        for i, old in enumerate(checkpoints):
            for new in checkpoints[i + 1 :]:
                wanted = merkle.nodes_for_consistency(old.size, new.size)
                proof_path = merkle.consistency_proof(old.size, new.size, load_nodes(session, CASE, wanted))
                assert proof_path == tree.consistency_proof(old.size, new.size)
                merkle.verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof_path)
