"""Verify a case ledger from its raw entries alone (pure: bytes in, report out).

The numbered checks here are the ledger part of the verifier checklist; later checks (Merkle root,
checkpoints, custody continuity) extend the same report.

Invariants: nothing is trusted from outside the entries: keys come from the ledger's own
``case.opened`` and ``key.added`` entries; a check that fails names the entry (sequence number)
and says expected vs observed. Verification never raises for bad entries; it reports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from custody import merkle
from custody.checkpoint import Checkpoint, SignedNote, verify_note
from custody.continuity import Continuity, trace_custody
from custody.digests import sha256_hex
from custody.disclosure import LedgerLine, WithheldEntry, tree_of
from custody.errors import CustodyError
from custody.events import (
    AFTER_SEAL_EVENTS,
    CASE_OPENED,
    CASE_SEALED,
    KEY_REVOKED,
    TOOL_ROLE_EVENTS,
    CustodyEvent,
    _unverified_event,
    introduced_key,
    revoked_key_id,
    role_may_sign,
)
from custody.keys import PublicKey
from custody.timeutil import parse_rfc3339

MAX_DETAILS = 20


@dataclass
class Check:
    """One numbered check with its outcome and what failed."""

    number: int
    title: str
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, message: str) -> None:
        self.failures.append(message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "title": self.title,
            "status": "OK" if self.ok else "FAIL",
            "failures": self.failures,
        }


@dataclass
class Report:
    """The outcome of every check, in order."""

    subject: str
    checks: list[Check] = field(default_factory=list)

    def add(self, title: str) -> Check:
        check = Check(len(self.checks) + 1, title)
        self.checks.append(check)
        return check

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "valid": self.ok,
            "checks": [check.to_dict() for check in self.checks],
        }


@dataclass(frozen=True)
class VerifiedLedger:
    events: list[CustodyEvent | None]  # None where an entry could not be parsed
    keys: dict[str, dict[str, Any]]  # key id -> key description from the ledger


def verify_ledger(case_id: str, entries: Sequence[LedgerLine], report: Report) -> VerifiedLedger:
    """Check a case's entries (in stored order) and add the numbered checks to ``report``.

    A ``WithheldEntry`` (a bundle's stand-in for an entry it does not disclose) is skipped by every
    check here: it has no bytes to parse or sign. Its leaf still counts in the Merkle tree
    (``verify_checkpoints``), and its event is ``None`` in the result."""
    parse = report.add("every entry is a DSSE envelope holding an in-toto custody event")
    order = report.add("sequence numbers run 0..n-1 without gaps, all for this case")
    signatures = report.add("every entry is signed by a key the ledger introduced before it")
    times = report.add("entry times never run backwards")

    events: list[CustodyEvent | None] = []
    parsed: list[tuple[Any, CustodyEvent] | None] = []
    withheld: set[int] = set()
    for index, entry in enumerate(entries):
        if isinstance(entry, WithheldEntry):
            withheld.add(index)
            parsed.append(None)
            events.append(None)
            continue
        try:
            envelope, event = _unverified_event(entry, what=f"entry {index}")
            parsed.append((envelope, event))
            events.append(event)
        except CustodyError as exc:
            parse.fail(exc.message)
            parsed.append(None)
            events.append(None)

    sealed_at: int | None = None
    for index, item in enumerate(parsed):
        if item is None:
            continue
        event = item[1]
        if event.sequence != index:
            order.fail(f"entry {index}: expected sequence {index}, found {event.sequence}")
        if event.case_id != case_id:
            order.fail(f"entry {index}: expected case {case_id}, found {event.case_id}")
        if index > 0 and event.event_type == CASE_OPENED:
            # A later case.opened would introduce a key of its own choosing.
            order.fail(f"entry {index}: case.opened may only be entry 0")
        if sealed_at is not None and event.event_type not in AFTER_SEAL_EVENTS:
            order.fail(
                f"entry {index}: {event.event_type} after the case was sealed at entry {sealed_at} "
                "(only accesses and custody transfers may follow)"
            )
        if event.event_type == CASE_SEALED and sealed_at is None:
            sealed_at = index
    if not entries:
        order.fail("the ledger has no entries (expected case.opened at sequence 0)")
    elif parsed[0] is not None and parsed[0][1].event_type != CASE_OPENED:
        order.fail(f"entry 0: expected case.opened, found {parsed[0][1].event_type}")

    keys: dict[str, dict[str, Any]] = {}
    revoked: dict[str, int] = {}  # key id -> entry of its revocation
    for index, item in enumerate(parsed):
        if item is None:
            if index not in withheld:
                signatures.fail(f"entry {index}: cannot check a signature on an unreadable entry")
            continue
        envelope, event = item
        if event.actor in revoked:
            signatures.fail(
                f"entry {index} ({event.event_type}): signed by key {event.actor[:16]}... after its "
                f"revocation at entry {revoked[event.actor]}"
            )
            continue
        introduced = introduced_key(event)
        if introduced is not None and introduced.get("key_id") != event.actor:
            signatures.fail(
                f"entry {index} ({event.event_type}): introduces key "
                f"{str(introduced.get('key_id'))[:16]}... but is signed as {event.actor[:16]}... "
                "(a key must introduce itself)"
            )
            continue
        known = keys.get(event.actor) or introduced
        if known is None:
            signatures.fail(
                f"entry {index} ({event.event_type}): signed by key {event.actor[:16]}..., "
                "which no earlier case.opened or key.added entry introduced"
            )
            continue
        try:
            public = PublicKey.from_hex(str(known.get("public_key", "")))
            if public.key_id != event.actor:
                raise CustodyError(
                    f"introduced public key hashes to {public.key_id[:16]}..., expected {event.actor[:16]}..."
                )
            envelope.verify({public.key_id: public})
        except CustodyError as exc:
            signatures.fail(f"entry {index} ({event.event_type}): {exc.message}")
            continue
        role = known.get("role")
        if not role_may_sign(str(role) if role is not None else None, event.event_type):
            signatures.fail(
                f"entry {index} ({event.event_type}): signed by key {event.actor[:16]}..., whose role is "
                f"{role}; a tool's service key may sign only {', '.join(sorted(TOOL_ROLE_EVENTS))}"
            )
            continue
        if introduced is not None:
            keys[event.actor] = introduced
        if event.event_type == KEY_REVOKED:
            target = revoked_key_id(event)
            if target is None or target not in keys:
                signatures.fail(f"entry {index} (key.revoked): names no key this ledger introduced")
            elif target != event.actor and keys[event.actor].get("role") != "custodian":
                signatures.fail(
                    f"entry {index} (key.revoked): only the key itself or a custodian may revoke it; "
                    f"signed by a key whose role is {keys[event.actor].get('role')}"
                )
            else:
                revoked[target] = index

    previous: tuple[int, CustodyEvent] | None = None
    for index, current in enumerate(events):
        if current is None:
            continue
        if previous is not None and parse_rfc3339(current.time) < parse_rfc3339(previous[1].time):
            times.fail(
                f"entry {index}: time {current.time} is earlier than "
                f"entry {previous[0]}'s ({previous[1].time})"
            )
        previous = (index, current)
    return VerifiedLedger(events, keys)


def log_key_of(ledger: VerifiedLedger) -> tuple[str, PublicKey, str] | None:
    """The log key (note name, public key) and origin that the ledger's case.opened publishes."""
    first = ledger.events[0] if ledger.events else None
    log: Any = first.body.get("log") if first is not None and first.event_type == CASE_OPENED else None
    if not isinstance(log, dict):
        return None
    try:
        return str(log["note_name"]), PublicKey.from_hex(str(log["public_key"])), str(log["origin"])
    except (KeyError, CustodyError):
        return None


def verify_checkpoints(
    entries: Sequence[LedgerLine],
    ledger: VerifiedLedger,
    notes: Sequence[bytes],
    report: Report,
    *,
    cosigners: Sequence[tuple[str, PublicKey]] = (),
) -> merkle.MemoryTree:
    """Recompute the Merkle tree from the entries; check every checkpoint against it.

    A checkpoint must be signed by the log key the ledger publishes, name this case's log as its
    origin, cover no more entries than there are, and carry the root of that many entries.
    Returns the recomputed tree (for proofs and further checks).
    """
    check = report.add("every checkpoint is signed by the log key and matches the Merkle root of the entries")
    tree = tree_of(entries)
    published = log_key_of(ledger)
    if published is None:
        check.fail("entry 0 publishes no log key: checkpoints cannot be checked")
        return tree
    note_name, log_key, origin = published
    trusted = [(note_name, log_key), *cosigners]
    for number, note in enumerate(notes, 1):
        try:
            signed = SignedNote.from_bytes(note)
            signed_by = verify_note(signed, trusted)
            checkpoint = Checkpoint.from_text(signed.text)
        except CustodyError as exc:
            check.fail(f"checkpoint {number}: {exc.message}")
            continue
        if note_name not in signed_by:
            check.fail(f"checkpoint {number} (size {checkpoint.size}): not signed by the log key {note_name}")
            continue
        if checkpoint.origin != origin:
            check.fail(f"checkpoint {number}: is for log {checkpoint.origin!r}, expected {origin!r}")
            continue
        if checkpoint.size > tree.size:
            check.fail(
                f"checkpoint {number}: covers {checkpoint.size} entries, but the ledger has {tree.size}"
            )
            continue
        expected = tree.root(checkpoint.size)
        if checkpoint.root_hash != expected:
            check.fail(
                f"checkpoint {number} (size {checkpoint.size}): root {checkpoint.root_hash.hex()[:16]}..., "
                f"the entries give {expected.hex()[:16]}..."
            )
    return tree


def verify_continuity(entries: Sequence[LedgerLine], ledger: VerifiedLedger, report: Report) -> Continuity:
    """Add the custody-continuity check (see ``custody.continuity``)."""
    check = report.add("custody passed hand to hand: every release accepted, accesses by the custodian")
    names = {key_id: str(key.get("name")) for key_id, key in ledger.keys.items()}
    digests = ["" if isinstance(entry, WithheldEntry) else sha256_hex(entry) for entry in entries]
    continuity = trace_custody(ledger.events, digests, names)
    for finding in continuity.findings:
        check.fail(finding)
    return continuity
