"""Build small, valid case ledgers in memory (no database) for the ledger verifier tests.

Entries are signed exactly as the ledger adapter does it: ``case.opened`` carries the opener's key
description under ``opened_by``; ``key.added`` carries the new key under ``key`` and is signed by
that key (a key introduces itself); ``key.revoked``, ``custody.released``, ``custody.accepted`` and
``artifact.accessed`` carry the bodies ``custody.transfers`` writes. Keys come from fixed seeds and
times from a fixed clock, so every ledger built here is byte-for-byte reproducible.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from custody import merkle
from custody.canonical import canonical_bytes
from custody.digests import sha256_hex
from custody.events import (
    ARTIFACT_ACCESSED,
    ARTIFACT_RECORDED,
    CASE_OPENED,
    CUSTODY_ACCEPTED,
    CUSTODY_RELEASED,
    KEY_ADDED,
    KEY_REVOKED,
    CustodyEvent,
    _unverified_event,
    sign_event,
)
from custody.keys import Signer
from custody.statement import Subject
from custody.timeutil import format_rfc3339

CASE_ID = "OP-LANTERN"
T0 = datetime(2026, 6, 1, 9, 0, 0, tzinfo=UTC)


def fixed_signer(name: str) -> Signer:
    """The same Ed25519 key for the same name in every run."""
    return Signer.from_seed(hashlib.sha256(f"custody core tests: {name}".encode()).digest())


def key_description(name: str, signer: Signer, role: str = "investigator") -> dict[str, Any]:
    """A key as described inside ``case.opened`` / ``key.added`` bodies (as custody.ledger does)."""
    public = signer.public_key
    return {
        "key_id": signer.key_id,
        "name": name,
        "role": role,
        "algorithm": "ed25519",
        "public_key": public.hex,
        "public_key_pem": public.to_pem().decode("ascii"),
    }


@dataclass
class LedgerBuilder:
    """Appends signed events with consecutive sequence numbers and a clock ticking one minute."""

    case_id: str = CASE_ID
    entries: list[bytes] = field(default_factory=list)
    signers: dict[str, Signer] = field(default_factory=dict)

    @property
    def next_sequence(self) -> int:
        return len(self.entries)

    def time_at(self, sequence: int) -> str:
        return format_rfc3339(T0 + timedelta(minutes=sequence))

    def event(
        self,
        event_type: str,
        signer: Signer,
        subjects: tuple[Subject, ...],
        body: Mapping[str, Any],
        *,
        sequence: int | None = None,
        time: str | None = None,
        case_id: str | None = None,
    ) -> CustodyEvent:
        sequence = self.next_sequence if sequence is None else sequence
        return CustodyEvent(
            event_type=event_type,
            case_id=case_id or self.case_id,
            sequence=sequence,
            time=time or self.time_at(sequence),
            actor=signer.key_id,
            subjects=subjects,
            body=dict(body),
        )

    def append(
        self,
        event_type: str,
        signer: Signer,
        subjects: tuple[Subject, ...],
        body: Mapping[str, Any],
        **overrides: Any,
    ) -> bytes:
        entry = sign_event(self.event(event_type, signer, subjects, body, **overrides), signer)
        self.entries.append(entry)
        return entry

    def open_case(self, name: str = "alice") -> bytes:
        signer = self.signer(name)
        description = {"id": self.case_id, "title": "Operation Lantern (synthetic)"}
        subject = Subject(f"case:{self.case_id}", sha256_hex(canonical_bytes(description)))
        body = {"title": description["title"], "opened_by": key_description(name, signer)}
        return self.append(CASE_OPENED, signer, (subject,), body)

    def signer(self, name: str) -> Signer:
        return self.signers.setdefault(name, fixed_signer(name))

    def add_key(self, name: str, *, signed_by: str | None = None, role: str = "investigator") -> bytes:
        """``key.added`` for ``name``, self-signed unless ``signed_by`` names another key."""
        new = self.signer(name)
        signer = self.signers[signed_by] if signed_by else new
        body = {"key": key_description(name, new, role)}
        return self.append(KEY_ADDED, signer, (Subject(f"key:{name}", new.key_id),), body)

    def revoke_key(self, name: str, *, signed_by: str | None = None, **overrides: Any) -> bytes:
        """``key.revoked`` for ``name``, signed by ``signed_by`` (default: the key itself)."""
        target = self.signer(name)
        signer = self.signer(signed_by or name)
        body = {"key": {"key_id": target.key_id, "name": name}, "reason": "lost laptop"}
        return self.append(KEY_REVOKED, signer, (Subject(f"key:{name}", target.key_id),), body, **overrides)

    def _case_subject(self) -> Subject:
        # As custody.transfers does: the log this event follows, by its Merkle root.
        return Subject(f"case:{self.case_id}@{self.next_sequence}", merkle.mth(self.entries).hex())

    def release(self, by: str, to: str, *, reason: str | None = None, **overrides: Any) -> bytes:
        """``custody.released`` by ``by`` naming ``to`` as the receiver."""
        receiver = self.signer(to)
        body: dict[str, Any] = {"to": {"key_id": receiver.key_id, "name": to, "role": "investigator"}}
        if reason:
            body["reason"] = reason
        return self.append(CUSTODY_RELEASED, self.signer(by), (self._case_subject(),), body, **overrides)

    def accept(
        self,
        by: str,
        release: int,
        *,
        entry_sha256: str | None = None,
        **overrides: Any,
    ) -> bytes:
        """``custody.accepted`` by ``by`` citing entry ``release`` (and, unless given, its digest)."""
        cited = entry_sha256 if entry_sha256 is not None else sha256_hex(self.entries[release])
        body = {"release": {"sequence": release, "entry_sha256": cited}}
        return self.append(CUSTODY_ACCEPTED, self.signer(by), (self._case_subject(),), body, **overrides)

    def access(self, by: str, content: bytes, *, action: str = "export", **overrides: Any) -> bytes:
        """``artifact.accessed``: ``by`` read the bytes of the artifact ``content`` out of the store."""
        digest = sha256_hex(content)
        body = {"artifact": {"sha256": digest}, "action": action}
        return self.append(
            ARTIFACT_ACCESSED,
            self.signer(by),
            (Subject(f"artifact:{digest[:16]}", digest),),
            body,
            **overrides,
        )

    def events(self) -> list[CustodyEvent]:
        """The parsed events of every entry so far (signatures not checked)."""
        return [_unverified_event(entry)[1] for entry in self.entries]

    def entry_digests(self) -> list[str]:
        return [sha256_hex(entry) for entry in self.entries]

    def record_artifact(self, name: str, content: bytes, **overrides: Any) -> bytes:
        signer = self.signer(name)
        digest = sha256_hex(content)
        body = {"artifact": {"digest": {"sha256": digest}, "size": len(content)}}
        return self.append(
            ARTIFACT_RECORDED, signer, (Subject(f"artifact:{digest[:12]}", digest),), body, **overrides
        )


def small_ledger() -> LedgerBuilder:
    """A valid five-entry ledger: alice opens, bob adds himself, both record artifacts."""
    builder = LedgerBuilder()
    builder.open_case("alice")
    builder.add_key("bob")
    builder.record_artifact("alice", b"first capture")
    builder.record_artifact("bob", b"second capture")
    builder.record_artifact("alice", b"third capture")
    return builder
