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

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import groupby
from typing import Any, TypeVar

from sqlalchemy import and_, insert, or_
from sqlmodel import Session, SQLModel, col, select

from custody import db, merkle
from custody.digests import sha256_hex
from custody.errors import NotFoundError, PolicyError
from custody.events import (
    AFTER_SEAL_EVENTS,
    CASE_OPENED,
    KEY_ADDED,
    CustodyEvent,
    role_may_sign,
    sign_event,
)
from custody.keys import PublicKey, Signer
from custody.parallel import map_halves
from custody.statement import Subject
from custody.timeutil import format_rfc3339
from custody.workspace import Clock, Workspace

T = TypeVar("T")
R = TypeVar("R")

_NAMED_PARAMETERS = {"qmark": ":{}", "named": ":{}", "pyformat": "%({})s"}
"""How a named parameter is written, by the driver's paramstyle (pysqlite, whose style is qmark,
also takes named parameters); other drivers go through SQLAlchemy's insert."""


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


@dataclass(frozen=True)
class EventBody:
    """What one event says besides the common fields: its subjects and body (``members``: the
    body's members already canonicalised, see ``CustodyEvent.body_members``)."""

    subjects: Sequence[Subject]
    body: Mapping[str, Any]
    members: Mapping[str, bytes] | None = None


@dataclass(frozen=True)
class SignedEntry:
    """An entry signed for a place in the log, not appended yet (``LedgerWriter.sign_built``)."""

    event_type: str
    sequence: int
    time: str
    entry: bytes
    entry_sha256: str
    leaf_hash: bytes
    """The entry's Merkle leaf hash: computed where it is signed, on both cores in bulk."""


@dataclass(frozen=True)
class AppendedEntry:
    """One entry appended by a ``LedgerWriter`` (written to the database by ``flush``)."""

    case_id: str
    sequence: int
    event_type: str
    actor: str
    time: str
    entry_sha256: str
    leaf_hash: str
    entry: bytes


class LedgerWriter:
    """Appends events to one case's ledger within a locked transaction.

    New rows (entries, Merkle nodes, and index rows handed to ``add_row``) are kept and written in
    bulk (one multi-row INSERT per table) by ``flush``; reading ``session`` flushes first, so any
    query through it sees everything appended so far. Bulk importers append thousands of entries
    without touching ``session``; that keeps the ORM's per-object cost off the hot path.
    """

    def __init__(
        self, session: Session, case: db.CaseRow, signer: Signer, actor: db.ActorRow, clock: Clock
    ) -> None:
        self._session = session
        self.case = case
        self.signer = signer
        self.actor = actor
        self.clock = clock
        self._nodes: dict[merkle.Node, bytes] = {}  # every node read or written in this transaction
        self._pending: dict[type[SQLModel], list[dict[str, Any]]] = {}
        self._key_known = False

    @property
    def session(self) -> Session:
        """The transaction's session, with every pending row written first."""
        self.flush()
        return self._session

    def add_row(self, table: type[SQLModel], values: Mapping[str, Any]) -> None:
        """Insert a row into ``table`` with the next ``flush`` (in the same transaction)."""
        self._pending.setdefault(table, []).append(dict(values))

    def flush(self) -> None:
        """Write the pending rows, table by table (entries before what refers to them).

        The rows go to the database driver's ``executemany`` directly (they hold only text, integers
        and bytes): SQLAlchemy's per-row parameter processing cost more than the inserts."""
        pending, self._pending = self._pending, {}
        connection = self._session.connection()
        style = _NAMED_PARAMETERS.get(connection.dialect.paramstyle)
        for table, rows in pending.items():
            if style is None:
                self._session.execute(insert(table.__table__), rows)  # type: ignore[attr-defined]
                continue
            quote = connection.dialect.identifier_preparer.quote
            for columns, group in groupby(rows, key=tuple):
                names = ", ".join(quote(column) for column in columns)
                values = ", ".join(style.format(column) for column in columns)
                into = quote(str(table.__tablename__))
                # Our own table and column names, quoted; the values are parameters.
                statement = f"INSERT INTO {into} ({names}) VALUES ({values})"  # noqa: S608
                connection.exec_driver_sql(statement, list(group))

    def append(
        self,
        event_type: str,
        subjects: Sequence[Subject],
        body: Mapping[str, Any],
        *,
        body_members: Mapping[str, bytes] | None = None,
    ) -> AppendedEntry:
        """Sign and append one event (``body_members``: see ``CustodyEvent.body_members``)."""
        return self.append_many(event_type, [EventBody(subjects, body, body_members)])[0]

    def append_many(self, event_type: str, bodies: Sequence[EventBody]) -> list[AppendedEntry]:
        """Sign and append one event of ``event_type`` per body, in order. Bulk importers pass
        thousands: they are signed on both cores (``parallel.map_halves``)."""
        signed = self.sign_built(event_type, _as_built, bodies)
        return self.add_signed([entry for entry, _ in signed])

    def sign_built(
        self, event_type: str, build: Callable[[T], tuple[EventBody, R]], items: Sequence[T]
    ) -> list[tuple[SignedEntry, R]]:
        """Build one event body per item (``build`` also returns what its caller needs back) and
        sign it as the next entries, in order, on both cores: the building too, which is most of
        the work of a bulk import. Nothing is appended until ``add_signed``, which must come
        next, before any other append."""
        self._check_may_append(event_type)
        base = self.case.log_size
        times = [format_rfc3339(self.clock()) for _ in items]
        sign = partial(_build_and_sign, build, event_type, self.case.id, self.signer, base, times)
        return map_halves(sign, list(enumerate(items)))

    def add_signed(self, entries: Sequence[SignedEntry]) -> list[AppendedEntry]:
        """Append entries ``sign_built`` signed (their sequences must follow on from the log's)."""
        return [self._add_entry(entry) for entry in entries]

    def _check_may_append(self, event_type: str) -> None:
        if self.case.sealed_at is not None and event_type not in AFTER_SEAL_EVENTS:
            raise PolicyError(
                f"case {self.case.id} was sealed at {self.case.sealed_at}: it takes no new evidence or "
                f"claims ({event_type}); only accesses and custody transfers are still recorded"
            )
        if not role_may_sign(self.actor.role, event_type):
            raise PolicyError(
                f"key {self.actor.name!r} is a tool's service key (role {self.actor.role}): it cannot sign "
                f"{event_type}; a person's key must"
            )
        if event_type not in (KEY_ADDED, CASE_OPENED):
            self._ensure_key_introduced()

    def _append(self, event_type: str, subjects: Sequence[Subject], body: Mapping[str, Any]) -> AppendedEntry:
        time = format_rfc3339(self.clock())
        body_of = EventBody(subjects, body)
        return self._add_entry(
            _sign(event_type, self.case.id, self.signer, self.case.log_size, time, body_of)
        )

    def _add_entry(self, signed: SignedEntry) -> AppendedEntry:
        """Add a signed event at the end of the log (its sequence must be the log's size)."""
        if signed.sequence != self.case.log_size:
            raise AssertionError(f"entry {signed.sequence} appended at {self.case.log_size}")
        appended = AppendedEntry(
            case_id=self.case.id,
            sequence=signed.sequence,
            event_type=signed.event_type,
            actor=self.signer.key_id,
            time=signed.time,
            entry_sha256=signed.entry_sha256,
            leaf_hash=signed.leaf_hash.hex(),
            entry=signed.entry,
        )
        self.add_row(db.LedgerEntryRow, appended.__dict__)  # asdict() deep-copies: 40 us an entry
        self._add_to_tree(signed.sequence, signed.leaf_hash)
        self.case.log_size += 1
        return appended

    def _tree_nodes(self, wanted: Sequence[merkle.Node]) -> dict[merkle.Node, bytes]:
        """The nodes in ``wanted`` that exist, read from the database at most once each."""
        missing = [node for node in wanted if node not in self._nodes]
        if missing:
            self._nodes.update(load_nodes(self._session, self.case.id, missing))
        return self._nodes

    def _add_to_tree(self, size: int, leaf: bytes) -> None:
        nodes = self._tree_nodes(merkle.append_needs(size))
        for level, index, value in merkle.append_nodes(size, leaf, nodes):
            nodes[(level, index)] = value
            row = {"case_id": self.case.id, "level": level, "idx": index, "hash": value}
            self.add_row(db.MerkleNodeRow, row)

    def tree_root(self) -> bytes:
        """The Merkle root over every entry so far, including this transaction's."""
        size = self.case.log_size
        return merkle.root(size, self._tree_nodes(merkle.nodes_for_root(size)))

    def _ensure_key_introduced(self) -> None:
        if self._key_known:
            return
        known = self._session.get(db.CaseKeyRow, (self.case.id, self.actor.key_id))
        if known is not None:
            self._key_known = True  # one look-up per transaction, not one per append
            return
        row = self._append(KEY_ADDED, [key_subject(self.actor)], {"key": key_description(self.actor)})
        self.mark_key_introduced(row.sequence)

    def mark_key_introduced(self, sequence: int) -> None:
        row = {"case_id": self.case.id, "key_id": self.actor.key_id, "sequence": sequence}
        self.add_row(db.CaseKeyRow, row)
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


def _as_built(body: EventBody) -> tuple[EventBody, None]:
    return body, None


def _sign(
    event_type: str, case_id: str, signer: Signer, sequence: int, time: str, body: EventBody
) -> SignedEntry:
    """The entry of one event, signed for its place in the log."""
    event = CustodyEvent(
        event_type=event_type,
        case_id=case_id,
        sequence=sequence,
        time=time,
        actor=signer.key_id,
        subjects=tuple(body.subjects),
        body=dict(body.body),
        body_members=body.members,
    )
    entry = sign_event(event, signer)
    return SignedEntry(event_type, sequence, time, entry, sha256_hex(entry), merkle.leaf_hash(entry))


def _build_and_sign(
    build: Callable[[T], tuple[EventBody, R]],
    event_type: str,
    case_id: str,
    signer: Signer,
    base: int,
    times: Sequence[str],
    numbered: tuple[int, T],
) -> tuple[SignedEntry, R]:
    offset, item = numbered
    body, extra = build(item)
    return _sign(event_type, case_id, signer, base + offset, times[offset], body), extra


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
        writer = LedgerWriter(session, case, signer, current, ws.clock)
        yield writer
        writer.flush()
        session.add(case)  # log_size moved on
