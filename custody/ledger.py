"""Appending signed custody events to a case's ledger.

Invariants:
- Every append happens inside one database transaction that holds the case lock
  (``db.lock_case``): sequence numbers are dense, 0-based, and never reused or forked, across
  processes and hosts.
- The entry bytes stored are exactly the signed DSSE envelope bytes (``events.sign_event``).
- Before a key's first event in a case, the ledger gets a ``key.added`` entry introducing it,
  signed by that key itself (proof of possession); the case opener is introduced by
  ``case.opened`` at sequence 0.
- A sealed case takes no new evidence or claims: only ``AFTER_SEAL_EVENTS`` (accesses, custody
  transfers, the key.added that introduces their signer) may follow ``case.sealed``, because
  evidence must stay readable, and every read logged, until the case ends in court.
- The passphrase is asked before the transaction starts, so no lock is held while a human types.
- Each append adds the entry's RFC 9162 leaf to the case's Merkle tree, storing only the complete
  subtrees it creates (``merkle.append_nodes``): O(log n) work and one read query per append,
  however long the log is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from custody import db, merkle
from custody.digests import sha256_hex
from custody.errors import NotFoundError, PolicyError
from custody.events import AFTER_SEAL_EVENTS, CASE_OPENED, KEY_ADDED, CustodyEvent, sign_event
from custody.keys import PublicKey, Signer
from custody.statement import Subject
from custody.timeutil import format_rfc3339
from custody.workspace import Clock, Workspace


def key_description(actor: db.ActorRow) -> dict[str, Any]:
    """How a key is described inside signed events (``key.added``, ``case.opened``)."""
    public = PublicKey.from_hex(actor.public_key)
    return {
        "key_id": actor.key_id,
        "name": actor.name,
        "role": actor.role,
        "algorithm": "ed25519",
        "public_key": public.hex,
        "public_key_pem": public.to_pem().decode("ascii"),
    }


def key_subject(actor: db.ActorRow) -> Subject:
    # The key id is the SHA-256 of the raw public key, so it is a digest of the subject itself.
    return Subject(f"key:{actor.name}", actor.key_id)


class LedgerWriter:
    """Appends events to one case's ledger within a locked transaction."""

    def __init__(
        self, session: Session, case: db.CaseRow, signer: Signer, actor: db.ActorRow, clock: Clock
    ) -> None:
        self.session = session
        self.case = case
        self.signer = signer
        self.actor = actor
        self.clock = clock
        self.appended: list[db.LedgerEntryRow] = []
        self._new_nodes: dict[merkle.Node, bytes] = {}
        self._key_known = False

    def append(
        self, event_type: str, subjects: Sequence[Subject], body: Mapping[str, Any]
    ) -> db.LedgerEntryRow:
        """Sign and append one event; returns its stored row."""
        if self.case.sealed_at is not None and event_type not in AFTER_SEAL_EVENTS:
            raise PolicyError(
                f"case {self.case.id} was sealed at {self.case.sealed_at}: it takes no new evidence or "
                f"claims ({event_type}); only accesses and custody transfers are still recorded"
            )
        if event_type not in (KEY_ADDED, CASE_OPENED):
            self._ensure_key_introduced()
        return self._append(event_type, subjects, body)

    def _append(
        self, event_type: str, subjects: Sequence[Subject], body: Mapping[str, Any]
    ) -> db.LedgerEntryRow:
        event = CustodyEvent(
            event_type=event_type,
            case_id=self.case.id,
            sequence=self.case.log_size,
            time=format_rfc3339(self.clock()),
            actor=self.signer.key_id,
            subjects=tuple(subjects),
            body=dict(body),
        )
        entry = sign_event(event, self.signer)
        leaf = merkle.leaf_hash(entry)
        row = db.LedgerEntryRow(
            case_id=self.case.id,
            sequence=event.sequence,
            event_type=event_type,
            actor=event.actor,
            time=event.time,
            entry_sha256=sha256_hex(entry),
            leaf_hash=leaf.hex(),
            entry=entry,
        )
        self.session.add(row)
        self._add_to_tree(event.sequence, leaf)
        self.case.log_size += 1
        self.session.add(self.case)
        self.appended.append(row)
        return row

    def _add_to_tree(self, size: int, leaf: bytes) -> None:
        needed = [node for node in merkle.append_needs(size) if node not in self._new_nodes]
        nodes = {**load_nodes(self.session, self.case.id, needed), **self._new_nodes}
        for level, index, value in merkle.append_nodes(size, leaf, nodes):
            self._new_nodes[(level, index)] = value
            self.session.add(db.MerkleNodeRow(case_id=self.case.id, level=level, idx=index, hash=value))

    def tree_root(self) -> bytes:
        """The Merkle root over every entry so far, including this transaction's."""
        size = self.case.log_size
        needed = [node for node in merkle.nodes_for_root(size) if node not in self._new_nodes]
        return merkle.root(size, {**load_nodes(self.session, self.case.id, needed), **self._new_nodes})

    def _ensure_key_introduced(self) -> None:
        if self._key_known:
            return
        known = self.session.get(db.CaseKeyRow, (self.case.id, self.actor.key_id))
        if known is not None:
            self._key_known = True  # one look-up per transaction, not one per append
            return
        row = self._append(KEY_ADDED, [key_subject(self.actor)], {"key": key_description(self.actor)})
        self.mark_key_introduced(row.sequence)

    def mark_key_introduced(self, sequence: int) -> None:
        self.session.add(db.CaseKeyRow(case_id=self.case.id, key_id=self.actor.key_id, sequence=sequence))
        self._key_known = True


def load_nodes(session: Session, case_id: str, wanted: Sequence[merkle.Node]) -> dict[merkle.Node, bytes]:
    """Fetch stored Merkle nodes of a case in one query (missing ones are simply absent)."""
    if not wanted:
        return {}
    # case_id inside every term: SQLite then looks each node up by the full primary key
    # ("MULTI-INDEX OR"); with case_id outside the OR it scanned every node of the case (O(n)).
    pairs = [
        and_(
            col(db.MerkleNodeRow.case_id) == case_id,
            col(db.MerkleNodeRow.level) == level,
            col(db.MerkleNodeRow.idx) == index,
        )
        for level, index in wanted
    ]
    rows = session.exec(select(db.MerkleNodeRow).where(or_(*pairs))).all()
    return {(row.level, row.idx): row.hash for row in rows}


def load_actor(session: Session, name: str) -> db.ActorRow:
    actor = session.exec(select(db.ActorRow).where(db.ActorRow.name == name)).first()
    if actor is None:
        raise NotFoundError(f"no key named {name!r} in this workspace", hint="see 'custody key list'")
    return actor


def check_actor_can_sign(actor: db.ActorRow, signer: Signer) -> None:
    if actor.revoked_at is not None:
        raise PolicyError(f"key {actor.name!r} ({actor.key_id[:16]}...) was revoked at {actor.revoked_at}")
    if actor.key_id != signer.key_id:
        raise PolicyError(
            f"key file for {actor.name!r} holds key {signer.key_id[:16]}..., "
            f"but the workspace registers {actor.key_id[:16]}..."
        )


def unlock_actor(ws: Workspace, actor_name: str | None) -> tuple[db.ActorRow, Signer]:
    """Resolve the acting key (``--as``, ``CUSTODY_ACTOR`` or the default) and unlock it.

    Call this before ``ledger_writer`` so that no lock is held while the passphrase is asked.
    """
    name = ws.acting_actor_name(actor_name)
    with db.transaction(ws.engine) as session:
        actor = load_actor(session, name)
    signer = ws.signer(name)
    check_actor_can_sign(actor, signer)
    return actor, signer


@contextmanager
def ledger_writer(ws: Workspace, case_id: str, actor: db.ActorRow, signer: Signer) -> Iterator[LedgerWriter]:
    """A transaction holding ``case_id``'s lock, with a writer acting as ``actor``. Everything
    appended commits together when the block ends, or nothing does."""
    with db.transaction(ws.engine) as session:
        case = db.lock_case(session, case_id)
        # Re-read the actor under the lock: a revocation committed meanwhile must win.
        current = session.get(db.ActorRow, actor.key_id)
        if current is None:
            raise NotFoundError(f"key {actor.name!r} is no longer registered")
        check_actor_can_sign(current, signer)
        yield LedgerWriter(session, case, signer, current, ws.clock)
