"""Reading and checking a case's log in a workspace (``custody log``).

Invariant: ``verify_case_log`` trusts nothing in the database but the entry bytes: it re-derives
keys and order from the entries (``ledger_verify``), compares each stored entry digest and every
stored Merkle node (inclusion proofs are served from them) with what the entries give, and
re-hashes every artifact's blob.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from custody import db, merkle
from custody.case_checkpoints import stored_root
from custody.checkpoint import _unverified_checkpoint
from custody.digests import sha256_hex
from custody.errors import CustodyError, NotFoundError
from custody.events import (
    ANSWER_RECORDED,
    ARTIFACT_ACCESSED,
    ARTIFACT_DERIVED,
    ARTIFACT_RECORDED,
    CASE_OPENED,
    CASE_SEALED,
    CUSTODY_ACCEPTED,
    CUSTODY_RELEASED,
    KEY_ADDED,
    KEY_REVOKED,
    RUN_ENDED,
    RUN_STARTED,
    TOOL_REGISTERED,
    CustodyEvent,
    _unverified_event,
)
from custody.keys import PublicKey
from custody.ledger_verify import (
    MAX_DETAILS,
    Check,
    Report,
    verify_checkpoints,
    verify_continuity,
    verify_ledger,
)
from custody.workspace import Workspace


def list_entries(ws: Workspace, case_id: str) -> list[db.LedgerEntryRow]:
    with db.transaction(ws.engine) as session:
        if session.get(db.CaseRow, case_id) is None:
            raise NotFoundError(f"no case {case_id!r} in this workspace", hint="see 'custody case list'")
        statement = (
            select(db.LedgerEntryRow)
            .where(db.LedgerEntryRow.case_id == case_id)
            .order_by(db.LedgerEntryRow.sequence)  # type: ignore[arg-type]
        )
        return list(session.exec(statement).all())


@dataclass(frozen=True)
class LogLine:
    sequence: int
    time: str
    event_type: str
    actor_key_id: str
    actor_name: str | None
    summary: str


def _artifact_summary(body: Mapping[str, Any]) -> str:
    artifact = body.get("artifact", {})
    digest = artifact.get("digest", {}).get("sha256", "")
    hil = body.get("hil", {}).get("level", "?")
    return f"{artifact.get('name')} sha256:{digest[:16]}... {body.get('origin')} {body.get('role')} {hil}"


def _released_summary(body: Mapping[str, Any]) -> str:
    reason = f": {body['reason']}" if body.get("reason") else ""
    return f"to {body['to'].get('name')}{reason}"


def _accessed_summary(body: Mapping[str, Any]) -> str:
    purpose = f" ({body['purpose']})" if body.get("purpose") else ""
    return f"{body.get('action')} sha256:{str(body['artifact'].get('sha256'))[:16]}...{purpose}"


_SUMMARIES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    ARTIFACT_RECORDED: _artifact_summary,
    ARTIFACT_DERIVED: _artifact_summary,
    CUSTODY_RELEASED: _released_summary,
    CUSTODY_ACCEPTED: lambda body: f"accepts the release at entry {body['release'].get('sequence')}",
    ARTIFACT_ACCESSED: _accessed_summary,
    KEY_REVOKED: lambda body: f"{body['key'].get('name')}: {body.get('reason')}",
    KEY_ADDED: lambda body: (
        f"{body['key'].get('name')} ({body['key'].get('role')}) {body['key'].get('key_id', '')[:16]}..."
    ),
    CASE_SEALED: lambda body: (
        f"sealed after {body.get('size')} entries, root {str(body.get('root'))[:16]}..."
    ),
    CASE_OPENED: lambda body: f"{body.get('title')} [{', '.join(body.get('jurisdictions', []))}]",
    TOOL_REGISTERED: lambda body: (
        f"{body['tool'].get('name')} {body['tool'].get('version')} ({body['tool'].get('kind')})"
    ),
    RUN_STARTED: lambda body: f"{body['run'].get('id')} {body['run'].get('hil_configured', '')}",
    RUN_ENDED: lambda body: str(body["run"].get("id")),
    ANSWER_RECORDED: lambda body: (
        f"{body.get('question')} [{', '.join(body.get('jurisdictions', []))}]"
        f"{' confirms the proposal' if body.get('confirms') else ''}: {str(body.get('answer'))[:60]}"
    ),
}


def _summary(event: CustodyEvent) -> str:
    """One line describing an event, for ``custody log``."""
    describe = _SUMMARIES.get(event.event_type)
    try:
        if describe is not None:
            return describe(event.body)
    except (AttributeError, KeyError, TypeError):
        pass  # a well-signed but oddly shaped body: fall back to its subjects
    return ", ".join(s.name for s in event.subjects)


def log_lines(ws: Workspace, case_id: str) -> list[LogLine]:
    entries = list_entries(ws, case_id)
    with db.transaction(ws.engine) as session:
        names = {a.key_id: a.name for a in session.exec(select(db.ActorRow)).all()}
    lines = []
    for row in entries:
        try:
            _, event = _unverified_event(row.entry, what=f"entry {row.sequence}")
            summary = _summary(event)
        except CustodyError as exc:
            summary = f"UNREADABLE: {exc.message}"
        lines.append(
            LogLine(row.sequence, row.time, row.event_type, row.actor, names.get(row.actor), summary)
        )
    return lines


def verify_case_log(ws: Workspace, case_id: str) -> Report:
    """Recompute every check of a case's log from the stored bytes; see ``Report``."""
    entries = list_entries(ws, case_id)
    raw = [row.entry for row in entries]
    report = Report(subject=f"case {case_id}")
    ledger = verify_ledger(case_id, raw, report)
    with db.transaction(ws.engine) as session:
        checkpoint_rows = list(
            session.exec(
                select(db.CheckpointRow)
                .where(db.CheckpointRow.case_id == case_id)
                .order_by(col(db.CheckpointRow.size))
            ).all()
        )
        notes = [row.note for row in checkpoint_rows]
        cosigners = [
            (actor.name, PublicKey.from_hex(actor.public_key))
            for actor in session.exec(select(db.ActorRow)).all()
        ]
        try:
            stored_nodes_root: bytes | str = stored_root(session, case_id, len(entries))
        except CustodyError as exc:
            stored_nodes_root = exc.message
        # Every stored node, not only the root's: inclusion proofs are served from all of them.
        stored_nodes = {
            (row.level, row.idx): row.hash
            for row in session.exec(select(db.MerkleNodeRow).where(db.MerkleNodeRow.case_id == case_id))
        }
    tree = verify_checkpoints(raw, ledger, notes, report, cosigners=cosigners)
    verify_continuity(raw, ledger, report)

    nodes = report.add("the stored Merkle tree matches the entries (leaf hashes, nodes and root)")
    for row in entries:
        if row.sequence < tree.size and row.leaf_hash != tree.leaf_hash(row.sequence).hex():
            nodes.fail(
                f"entry {row.sequence}: stored leaf hash {row.leaf_hash[:16]}... does not match its bytes"
            )
    if isinstance(stored_nodes_root, str):
        nodes.fail(f"stored Merkle nodes: {stored_nodes_root}")
    elif stored_nodes_root != tree.root():
        nodes.fail(
            f"stored Merkle nodes give root {stored_nodes_root.hex()[:16]}..., "
            f"the entries give {tree.root().hex()[:16]}..."
        )
    _compare_nodes(stored_nodes, tree.nodes, nodes)

    stored = report.add("the database's index columns match the signed bytes (entries, checkpoints)")
    for row in entries:
        observed = sha256_hex(row.entry)
        if observed != row.entry_sha256:
            stored.fail(
                f"entry {row.sequence}: stored digest {row.entry_sha256[:16]}..., "
                f"bytes hash to {observed[:16]}..."
            )
    with db.transaction(ws.engine) as session:
        case = session.get(db.CaseRow, case_id)
        artifacts = session.exec(select(db.ArtifactRow).where(db.ArtifactRow.case_id == case_id)).all()
    if case is not None and case.log_size != len(entries):
        stored.fail(f"case says the log has {case.log_size} entries, found {len(entries)}")
    for number, checkpoint_row in enumerate(checkpoint_rows, 1):
        try:
            _, signed = _unverified_checkpoint(checkpoint_row.note)
        except CustodyError:
            continue  # the checkpoint check above already names it
        if (checkpoint_row.size, checkpoint_row.root_hash) != (signed.size, signed.root_hash.hex()):
            stored.fail(
                f"checkpoint {number}: database says size {checkpoint_row.size} root "
                f"{checkpoint_row.root_hash[:16]}..., the signed note says size {signed.size} "
                f"root {signed.root_hash.hex()[:16]}..."
            )

    blobs = report.add("every recorded artifact's bytes are stored and re-hash to their digest")
    for digest in sorted({a.digest for a in artifacts}):
        try:
            ws.store.verify(digest)
        except CustodyError as exc:
            blobs.fail(exc.message)
    return report


def _compare_nodes(
    stored: Mapping[merkle.Node, bytes], expected: Mapping[merkle.Node, bytes], check: Check
) -> None:
    """Fail ``check`` for each stored node that is wrong, missing or beyond the log (at most
    ``MAX_DETAILS`` messages: one bad entry changes every node above it)."""
    problems = []
    for level, index in sorted(set(stored) | set(expected)):
        have, want = stored.get((level, index)), expected.get((level, index))
        if have == want:
            continue
        where = f"stored Merkle node (level {level}, index {index})"
        if have is None:
            problems.append(f"{where} is missing")
        elif want is None:
            problems.append(f"{where} covers entries the log does not have")
        else:
            problems.append(f"{where} is {have.hex()[:16]}..., the entries give {want.hex()[:16]}...")
    for problem in problems[:MAX_DETAILS]:
        check.fail(problem)
    if len(problems) > MAX_DETAILS:
        check.fail(f"... and {len(problems) - MAX_DETAILS} more stored Merkle nodes that do not match")
