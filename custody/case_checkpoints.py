"""Signing, cosigning and reading the checkpoints of a case's log, and proving entries.

Invariants:
- A checkpoint is signed by the workspace log key over the root the stored Merkle nodes give for
  the case's size at that moment, read under the case lock (so no append can slip in between).
- At most one checkpoint per (case, size): asking again returns the existing one.
- A cosignature appends one signature line; the text and every earlier line stay byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from custody import db, merkle
from custody.checkpoint import Checkpoint, SignedNote, _unverified_checkpoint, add_signature, sign_checkpoint
from custody.errors import NotFoundError, PolicyError
from custody.keys import Signer
from custody.ledger import load_nodes, unlock_actor
from custody.logkey import log_key_info, unlock_log_key
from custody.timeutil import format_rfc3339
from custody.workspace import Workspace


def stored_root(session: Session, case_id: str, size: int) -> bytes:
    return merkle.root(size, load_nodes(session, case_id, merkle.nodes_for_root(size)))


def checkpoint_in_transaction(
    session: Session, ws: Workspace, case: db.CaseRow, note_name: str, signer: Signer, reason: str
) -> db.CheckpointRow:
    """Sign a checkpoint of ``case`` at its current size inside the caller's locked transaction."""
    existing = session.exec(
        select(db.CheckpointRow).where(
            db.CheckpointRow.case_id == case.id, db.CheckpointRow.size == case.log_size
        )
    ).first()
    if existing is not None:
        return existing
    info = log_key_info(session)
    root = stored_root(session, case.id, case.log_size)
    note = sign_checkpoint(Checkpoint(info.origin(case.id), case.log_size, root), note_name, signer)
    row = db.CheckpointRow(
        case_id=case.id,
        size=case.log_size,
        root_hash=root.hex(),
        reason=reason,
        created_at=format_rfc3339(ws.clock()),
        note=note.to_bytes(),
    )
    session.add(row)
    return row


def sign_case_checkpoint(ws: Workspace, case_id: str, *, reason: str = "manual") -> db.CheckpointRow:
    """Sign a checkpoint of ``case_id``'s log as it is now (asks for the log key's passphrase)."""
    info, signer = unlock_log_key(ws.engine, ws.passphrase_callback)
    with db.transaction(ws.engine) as session:
        case = db.lock_case(session, case_id)
        return checkpoint_in_transaction(session, ws, case, info.name, signer, reason)


def cosign_checkpoint(
    ws: Workspace, case_id: str, *, size: int | None = None, actor_name: str | None = None
) -> tuple[db.CheckpointRow, str]:
    """Add the acting key's signature line (note name = the actor's name) to a checkpoint:
    the latest one, or the one at ``size``. Returns the row and the cosigner's name."""
    actor, signer = unlock_actor(ws, actor_name)
    with db.transaction(ws.engine) as session:
        db.lock_case(session, case_id)
        row = _find_checkpoint(session, case_id, size)
        note = SignedNote.from_bytes(row.note)
        if any(s.name == actor.name for s in note.signatures):
            raise PolicyError(f"{actor.name} already cosigned the checkpoint of {case_id} at size {row.size}")
        row.note = add_signature(note, actor.name, signer).to_bytes()
        session.add(row)
        return row, actor.name


def _find_checkpoint(session: Session, case_id: str, size: int | None) -> db.CheckpointRow:
    statement = select(db.CheckpointRow).where(db.CheckpointRow.case_id == case_id)
    if size is not None:
        statement = statement.where(db.CheckpointRow.size == size)
    row = session.exec(statement.order_by(col(db.CheckpointRow.size).desc())).first()
    if row is None:
        at = f" at size {size}" if size is not None else ""
        raise NotFoundError(
            f"case {case_id} has no checkpoint{at}", hint=f"sign one: custody checkpoint {case_id}"
        )
    return row


def list_checkpoints(ws: Workspace, case_id: str) -> list[db.CheckpointRow]:
    with db.transaction(ws.engine) as session:
        if session.get(db.CaseRow, case_id) is None:
            raise NotFoundError(f"no case {case_id!r} in this workspace")
        statement = select(db.CheckpointRow).where(db.CheckpointRow.case_id == case_id)
        return list(session.exec(statement.order_by(col(db.CheckpointRow.size))).all())


@dataclass(frozen=True)
class InclusionProof:
    case_id: str
    sequence: int
    size: int
    leaf_hash: bytes
    root: bytes
    path: list[bytes]


def prove_inclusion(ws: Workspace, case_id: str, sequence: int, size: int | None = None) -> InclusionProof:
    """An RFC 9162 inclusion proof of entry ``sequence`` in the tree of ``size`` entries
    (default: the latest checkpoint's size, else the whole log)."""
    with db.transaction(ws.engine) as session:
        case = session.get(db.CaseRow, case_id)
        if case is None:
            raise NotFoundError(f"no case {case_id!r} in this workspace")
        if size is None:
            latest = session.exec(
                select(db.CheckpointRow)
                .where(db.CheckpointRow.case_id == case_id)
                .order_by(col(db.CheckpointRow.size).desc())
            ).first()
            size = latest.size if latest is not None and latest.size > sequence else case.log_size
        if not 0 <= sequence < size <= case.log_size:
            raise NotFoundError(f"case {case_id} has no entry {sequence} in a log of {size} entries")
        wanted = merkle.nodes_for_inclusion(sequence, size) + merkle.nodes_for_root(size)
        nodes = load_nodes(session, case_id, wanted)
        entry = session.get(db.LedgerEntryRow, (case_id, sequence))
        assert entry is not None
        return InclusionProof(
            case_id,
            sequence,
            size,
            bytes.fromhex(entry.leaf_hash),
            merkle.root(size, nodes),
            merkle.inclusion_proof(sequence, size, nodes),
        )


def describe_checkpoint(row: db.CheckpointRow) -> tuple[Checkpoint, list[str]]:
    """The parsed checkpoint and the names on its signature lines (not verified here)."""
    note, checkpoint = _unverified_checkpoint(row.note)
    return checkpoint, [s.name for s in note.signatures]
