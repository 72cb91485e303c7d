"""Custody events: the signed entries of a case ledger.

An event is an in-toto Statement v1 whose predicate type names the event type and version
(``https://custody.dev/event/<type>/v1``) and whose predicate carries the case id, the 0-based
sequence number, the RFC 3339 UTC time and the acting key id beside the event's own fields. A
ledger entry is the RFC 8785 bytes of the DSSE envelope that signs such a statement.

Invariants:
- ``CustodyEvent`` validates its common fields; the event-specific fields never shadow them.
- ``verify_entry`` checks the DSSE signature against the key the event names as its actor, so an
  entry signed by one key cannot claim another actor.
- Functions that parse without verifying are named ``_unverified_...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from custody.canonical import canonical_members
from custody.digests import check_sha256_hex
from custody.envelope import IN_TOTO_PAYLOAD_TYPE, Envelope
from custody.errors import FormatError, SignatureError
from custody.keys import PublicKey, Signer
from custody.models import check_slug
from custody.statement import Statement, Subject
from custody.timeutil import normalise_rfc3339

PREDICATE_PREFIX = "https://custody.dev/event/"
PREDICATE_VERSION = "v1"

CASE_OPENED = "case.opened"
KEY_ADDED = "key.added"
KEY_REVOKED = "key.revoked"
TOOL_REGISTERED = "tool.registered"
RUN_STARTED = "run.started"
RUN_ENDED = "run.ended"
ARTIFACT_RECORDED = "artifact.recorded"
ARTIFACT_DERIVED = "artifact.derived"
ARTIFACT_ACCESSED = "artifact.accessed"
CUSTODY_RELEASED = "custody.released"
CUSTODY_ACCEPTED = "custody.accepted"
ANSWER_RECORDED = "answer.recorded"
BUNDLE_EXPORTED = "bundle.exported"
CASE_SEALED = "case.sealed"

EVENT_TYPES = frozenset(
    {
        CASE_OPENED,
        KEY_ADDED,
        KEY_REVOKED,
        TOOL_REGISTERED,
        RUN_STARTED,
        RUN_ENDED,
        ARTIFACT_RECORDED,
        ARTIFACT_DERIVED,
        ARTIFACT_ACCESSED,
        CUSTODY_RELEASED,
        CUSTODY_ACCEPTED,
        ANSWER_RECORDED,
        BUNDLE_EXPORTED,
        CASE_SEALED,
    }
)

AFTER_SEAL_EVENTS = frozenset(
    {ARTIFACT_ACCESSED, CUSTODY_RELEASED, CUSTODY_ACCEPTED, KEY_ADDED, BUNDLE_EXPORTED}
)
"""What a sealed case still records: reading evidence out, disclosing it and handing custody on."""

TOOL_ROLE = "tool"
TOOL_ROLE_EVENTS = frozenset(
    {KEY_ADDED, TOOL_REGISTERED, RUN_STARTED, RUN_ENDED, ARTIFACT_RECORDED, ARTIFACT_DERIVED}
)
"""What a tool's service key (role ``tool``) may sign: what the tool captured and produced in
its runs. Opening, handing on or sealing a case, revoking keys, reading evidence out, answering
questions and exporting bundles are for people."""


def role_may_sign(role: str | None, event_type: str) -> bool:
    """Whether a key of ``role`` may sign an event of ``event_type`` (writer and verifier agree)."""
    return role != TOOL_ROLE or event_type in TOOL_ROLE_EVENTS


COMMON_FIELDS = ("case", "sequence", "time", "actor")
MAX_SEQUENCE = 2**53 - 1


def predicate_type_for(event_type: str) -> str:
    if event_type not in EVENT_TYPES:
        raise FormatError(f"unknown event type {event_type!r}")
    return f"{PREDICATE_PREFIX}{event_type}/{PREDICATE_VERSION}"


def event_type_from_predicate(predicate_type: str) -> str:
    suffix = f"/{PREDICATE_VERSION}"
    if not (predicate_type.startswith(PREDICATE_PREFIX) and predicate_type.endswith(suffix)):
        raise FormatError(f"predicateType {predicate_type!r} is not a custody event type")
    event_type = predicate_type[len(PREDICATE_PREFIX) : -len(suffix)]
    if event_type not in EVENT_TYPES:
        raise FormatError(f"predicateType {predicate_type!r} names an unknown event type")
    return event_type


@dataclass(frozen=True)
class CustodyEvent:
    """One custody event, before or after signing."""

    event_type: str
    case_id: str
    sequence: int
    time: str
    actor: str
    subjects: tuple[Subject, ...]
    body: Mapping[str, Any] = field(default_factory=dict)
    body_members: Mapping[str, bytes] | None = field(default=None, compare=False, repr=False)
    """The body's members already canonicalised (``canonical.canonical_members`` of ``body``),
    when the caller has them (a ``Provenance`` does): signing then does not canonicalise the
    body a second time. Never read back from a ledger entry."""

    def __post_init__(self) -> None:
        predicate_type_for(self.event_type)
        check_slug(self.case_id, what="case id")
        if (
            isinstance(self.sequence, bool)
            or not isinstance(self.sequence, int)
            or not 0 <= self.sequence <= MAX_SEQUENCE
        ):
            raise FormatError(f"event sequence must be a non-negative integer, got {self.sequence!r}")
        object.__setattr__(self, "time", normalise_rfc3339(self.time, what="event time"))
        check_sha256_hex(self.actor, what="event actor key id")
        clash = set(COMMON_FIELDS) & set(self.body)
        if clash:
            raise FormatError(f"event body must not redefine common fields {sorted(clash)}")
        if not self.subjects:
            raise FormatError(f"{self.event_type} event needs at least one subject")

    def to_statement(self) -> Statement:
        predicate = {
            "case": self.case_id,
            "sequence": self.sequence,
            "time": self.time,
            "actor": self.actor,
            **self.body,
        }
        members = None
        if self.body_members is not None:
            members = {
                **canonical_members({name: predicate[name] for name in COMMON_FIELDS}),
                **self.body_members,
            }
        return Statement(self.subjects, predicate_type_for(self.event_type), predicate, members)

    @classmethod
    def from_statement(cls, statement: Statement) -> CustodyEvent:
        predicate = dict(statement.predicate)
        missing = [name for name in COMMON_FIELDS if name not in predicate]
        if missing:
            raise FormatError(f"custody event predicate lacks {missing}")
        return cls(
            event_type=event_type_from_predicate(statement.predicate_type),
            case_id=predicate.pop("case"),
            sequence=predicate.pop("sequence"),
            time=predicate.pop("time"),
            actor=predicate.pop("actor"),
            subjects=statement.subjects,
            body=predicate,
        )


def introduced_key(event: CustodyEvent) -> dict[str, Any] | None:
    """The key description an event introduces: ``case.opened`` (its opener) or ``key.added``."""
    key: Any = None
    if event.event_type == KEY_ADDED:
        key = event.body.get("key")
    elif event.event_type == CASE_OPENED:
        key = event.body.get("opened_by")
    return key if isinstance(key, dict) else None


def revoked_key_id(event: CustodyEvent) -> str | None:
    """The key id a ``key.revoked`` event names (None if it names none)."""
    key: Any = event.body.get("key")
    key_id = key.get("key_id") if isinstance(key, dict) else None
    return key_id if isinstance(key_id, str) else None


def sign_event(event: CustodyEvent, signer: Signer) -> bytes:
    """Sign ``event`` with ``signer`` (who must be its actor); return the ledger entry bytes."""
    if signer.key_id != event.actor:
        raise SignatureError(
            f"event names actor {event.actor[:16]}... but the signing key is {signer.key_id[:16]}..."
        )
    envelope = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, event.to_statement().to_bytes(), signer)
    return envelope.to_bytes()


def _unverified_event(entry: bytes, *, what: str = "ledger entry") -> tuple[Envelope, CustodyEvent]:
    """Parse an entry without checking any signature (for display and to find the actor)."""
    envelope = Envelope.from_bytes(entry, what=what)
    # An entry is exactly the RFC 8785 bytes of its envelope. Without this check, bytes that
    # decode to the same envelope (unused trailing base64 bits, URL-safe base64, whitespace,
    # key order) would pass the signature check while changing the entry's leaf hash.
    if envelope.to_bytes() != entry:
        raise FormatError(f"{what} is not the RFC 8785 canonical form of its DSSE envelope")
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise FormatError(
            f"{what}: payloadType must be {IN_TOTO_PAYLOAD_TYPE!r}, got {envelope.payload_type!r}"
        )
    try:
        statement = Statement.from_bytes(envelope.payload, what=f"{what} payload")
        return envelope, CustodyEvent.from_statement(statement)
    except FormatError as exc:
        if exc.message.startswith(what):
            raise
        # Name the entry: statement and event validation do not know which entry they read.
        raise FormatError(f"{what}: {exc.message}") from exc


def verify_entry(entry: bytes, actor_key: PublicKey, *, what: str = "ledger entry") -> CustodyEvent:
    """Verify an entry's signature by its actor's key and return the event.

    Raises:
        FormatError: the entry is not a well-formed custody event.
        SignatureError: the actor key is not the one the event names, or its signature fails.
    """
    envelope, event = _unverified_event(entry, what=what)
    if actor_key.key_id != event.actor:
        raise SignatureError(
            f"{what}: event names actor {event.actor[:16]}..., checked against key {actor_key.key_id[:16]}..."
        )
    try:
        envelope.verify({actor_key.key_id: actor_key})
    except SignatureError as exc:
        raise SignatureError(f"{what} ({event.event_type}): {exc.message}") from exc
    return event
