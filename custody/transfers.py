"""Two-party custody transfers, access events, key revocation and sealing.

Invariants:
- Custody of a case passes only when the receiver signs ``custody.accepted`` citing the pending
  ``custody.released`` (its sequence number and entry digest); until then the releaser remains
  the custodian. One release may be pending at a time.
- Reading an artifact's bytes out of the store (``export_artifact``, ``read_artifact``) is
  recorded as ``artifact.accessed`` before the bytes leave, and only after they re-hash to their
  digest. An access by someone who is not the custodian is recorded truthfully (and flagged by
  verification), not hidden.
- A sealed case takes no new evidence or claims (see ``events.AFTER_SEAL_EVENTS``); sealing
  signs a checkpoint in the same transaction.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from custody import db
from custody.case_checkpoints import checkpoint_in_transaction
from custody.errors import InputFileError, NotFoundError, PolicyError
from custody.events import (
    ARTIFACT_ACCESSED,
    CASE_SEALED,
    CUSTODY_ACCEPTED,
    CUSTODY_RELEASED,
    KEY_REVOKED,
    _unverified_event,
)
from custody.ledger import AppendedEntry, LedgerWriter, key_subject, ledger_writer, load_actor, unlock_actor
from custody.logkey import unlock_log_key
from custody.recording import resolve_artifact_digest
from custody.statement import Subject
from custody.timeutil import format_rfc3339
from custody.workspace import Workspace


def _case_subject(writer: LedgerWriter) -> Subject:
    """The case as it stands before this entry: its Merkle root (an event's subject must have a
    digest; this one binds the event to the exact log it follows)."""
    return Subject(f"case:{writer.case.id}@{writer.case.log_size}", writer.tree_root().hex())


def _name(session: Session, key_id: str) -> str:
    actor = session.get(db.ActorRow, key_id)
    return actor.name if actor else f"{key_id[:16]}..."


def release_custody(
    ws: Workspace, case_id: str, to: str, *, reason: str | None = None, actor_name: str | None = None
) -> AppendedEntry:
    """The current custodian releases the case to ``to``; custody passes when they accept."""
    actor, signer = unlock_actor(ws, actor_name)
    with ledger_writer(ws, case_id, actor, signer) as writer:
        case = writer.case
        if case.custodian != actor.key_id:
            raise PolicyError(
                f"{actor.name} is not the custodian of {case_id}; {_name(writer.session, case.custodian)} is",
                hint="only the custodian can release custody",
            )
        if case.pending_release is not None:
            raise PolicyError(
                f"custody of {case_id} was already released at entry {case.pending_release} "
                "and not yet accepted"
            )
        receiver = load_actor(writer.session, to)
        if receiver.revoked_at is not None:
            raise PolicyError(f"key {to!r} was revoked at {receiver.revoked_at}; it cannot receive custody")
        if receiver.key_id == actor.key_id:
            raise PolicyError(f"{actor.name} already holds custody of {case_id}")
        body: dict[str, object] = {
            "to": {"key_id": receiver.key_id, "name": receiver.name, "role": receiver.role}
        }
        if reason:
            body["reason"] = reason
        row = writer.append(CUSTODY_RELEASED, [_case_subject(writer)], body)
        case.pending_release = row.sequence
        return row


def accept_custody(ws: Workspace, case_id: str, *, actor_name: str | None = None) -> AppendedEntry:
    """The named receiver accepts the pending release and becomes the custodian."""
    actor, signer = unlock_actor(ws, actor_name)
    with ledger_writer(ws, case_id, actor, signer) as writer:
        case = writer.case
        if case.pending_release is None:
            raise PolicyError(f"no custody release of {case_id} is waiting to be accepted")
        release = writer.session.get(db.LedgerEntryRow, (case_id, case.pending_release))
        assert release is not None
        _, event = _unverified_event(release.entry)
        receiver = event.body.get("to", {}).get("key_id")
        if receiver != actor.key_id:
            raise PolicyError(
                f"custody of {case_id} was released to {_name(writer.session, str(receiver))}, "
                f"not {actor.name}"
            )
        body = {"release": {"sequence": release.sequence, "entry_sha256": release.entry_sha256}}
        row = writer.append(CUSTODY_ACCEPTED, [_case_subject(writer)], body)
        case.custodian = actor.key_id
        case.pending_release = None
        return row


@dataclass(frozen=True)
class Access:
    digest: str
    sequence: int
    by_custodian: bool


def _record_access(
    ws: Workspace, case_id: str, digest: str, action: str, purpose: str | None, actor_name: str | None
) -> Access:
    actor, signer = unlock_actor(ws, actor_name)
    with db.transaction(ws.engine) as session:
        full = resolve_artifact_digest(session, case_id, digest)
    ws.store.verify(full)  # corrupt bytes are never released, and their access never logged
    with ledger_writer(ws, case_id, actor, signer) as writer:
        body = {"artifact": {"sha256": full}, "action": action}
        if purpose:
            body["purpose"] = purpose
        row = writer.append(ARTIFACT_ACCESSED, [Subject(f"artifact:{full[:16]}", full)], body)
        return Access(full, row.sequence, writer.case.custodian == actor.key_id)


def export_artifact(
    ws: Workspace,
    case_id: str,
    digest: str,
    destination: Path,
    *,
    purpose: str | None = None,
    actor_name: str | None = None,
) -> Access:
    """Write a verified copy of an artifact to ``destination`` (never overwritten) and record
    the access."""
    if destination.exists():
        raise InputFileError(f"{destination} already exists; custody never overwrites a file")
    if not destination.parent.is_dir():
        raise InputFileError(f"folder {destination.parent} does not exist")
    access = _record_access(ws, case_id, digest, "export", purpose, actor_name)
    fd, temp = tempfile.mkstemp(prefix=".custody-export-", dir=destination.parent)
    os.close(fd)
    os.unlink(temp)
    try:
        ws.store.copy_out(access.digest, Path(temp))
        os.link(temp, destination)  # fails rather than overwrite a file created meanwhile
    finally:
        Path(temp).unlink(missing_ok=True)
    return access


def read_artifact(
    ws: Workspace, case_id: str, digest: str, *, purpose: str | None = None, actor_name: str | None = None
) -> tuple[Access, bytes]:
    """An artifact's verified bytes (for display), with the access recorded."""
    access = _record_access(ws, case_id, digest, "view", purpose, actor_name)
    return access, ws.store.read_bytes(access.digest)


def revoke_key(
    ws: Workspace, name: str, *, reason: str, actor_name: str | None = None
) -> list[tuple[str, int]]:
    """Revoke key ``name``: a ``key.revoked`` entry in every unsealed case that knows the key, then the
    workspace refuses it. The revoker is the key itself or a custodian.
    Returns (case, entry) for each revocation entry written."""
    actor, signer = unlock_actor(ws, actor_name)
    with db.transaction(ws.engine) as session:
        target = load_actor(session, name)
        if target.revoked_at is not None:
            raise PolicyError(f"key {name!r} was already revoked at {target.revoked_at}")
        if target.key_id != actor.key_id and actor.role != "custodian":
            raise PolicyError(
                f"only {name} or a custodian may revoke {name}'s key; {actor.name}'s role is {actor.role}"
            )
        # Sealed cases take no entries; every signature in them predates this revocation.
        cases = list(
            session.exec(
                select(db.CaseKeyRow.case_id).where(
                    db.CaseKeyRow.key_id == target.key_id,
                    db.CaseKeyRow.case_id == db.CaseRow.id,
                    col(db.CaseRow.sealed_at).is_(None),
                )
            ).all()
        )
    written = []
    for case_id in sorted(cases):
        with ledger_writer(ws, case_id, actor, signer) as writer:
            body = {"key": {"key_id": target.key_id, "name": target.name}, "reason": reason}
            row = writer.append(KEY_REVOKED, [key_subject(target)], body)
            written.append((case_id, row.sequence))
    with db.transaction(ws.engine) as session:
        stored = session.get(db.ActorRow, target.key_id)
        if stored is None:
            raise NotFoundError(f"key {name!r} disappeared while being revoked")
        stored.revoked_at = _time_of(session, *written[-1]) if written else format_rfc3339(ws.clock())
        session.add(stored)
    return written


def _time_of(session: Session, case_id: str, sequence: int) -> str:
    row = session.get(db.LedgerEntryRow, (case_id, sequence))
    assert row is not None
    return row.time


def seal_case(
    ws: Workspace, case_id: str, *, actor_name: str | None = None
) -> tuple[AppendedEntry, db.CheckpointRow]:
    """The custodian seals the case: a final ``case.sealed`` entry and a checkpoint over it."""
    actor, signer = unlock_actor(ws, actor_name)
    info, log_signer = unlock_log_key(ws.engine, ws.passphrase_callback)
    with ledger_writer(ws, case_id, actor, signer) as writer:
        case = writer.case
        if case.custodian != actor.key_id:
            raise PolicyError(
                f"only the custodian of {case_id} ({_name(writer.session, case.custodian)}) can seal it"
            )
        if case.pending_release is not None:
            raise PolicyError(
                f"custody release at entry {case.pending_release} is still pending; resolve it first"
            )
        body = {"size": case.log_size, "root": writer.tree_root().hex()}
        row = writer.append(CASE_SEALED, [_case_subject(writer)], body)
        case.sealed_at = row.time
        checkpoint = checkpoint_in_transaction(writer.session, ws, case, info.name, log_signer, "seal")
        return row, checkpoint
