"""Build small, valid case ledgers in memory (no database) for the ledger verifier tests.

Entries are signed exactly as the ledger adapter does it: ``case.opened`` carries the opener's key
description under ``opened_by``; ``key.added`` carries the new key under ``key`` and is signed by
that key (a key introduces itself). Keys come from fixed seeds and times from a fixed clock, so
every ledger built here is byte-for-byte reproducible.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from custody.canonical import canonical_bytes
from custody.digests import sha256_hex
from custody.events import (
    ARTIFACT_RECORDED,
    CASE_OPENED,
    KEY_ADDED,
    CustodyEvent,
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
        signer = self.signers.setdefault(name, fixed_signer(name))
        description = {"id": self.case_id, "title": "Operation Lantern (synthetic)"}
        subject = Subject(f"case:{self.case_id}", sha256_hex(canonical_bytes(description)))
        body = {"title": description["title"], "opened_by": key_description(name, signer)}
        return self.append(CASE_OPENED, signer, (subject,), body)

    def add_key(self, name: str, *, signed_by: str | None = None) -> bytes:
        """``key.added`` for ``name``, self-signed unless ``signed_by`` names another key."""
        new = self.signers.setdefault(name, fixed_signer(name))
        signer = self.signers[signed_by] if signed_by else new
        body = {"key": key_description(name, new)}
        return self.append(KEY_ADDED, signer, (Subject(f"key:{name}", new.key_id),), body)

    def record_artifact(self, name: str, content: bytes, **overrides: Any) -> bytes:
        signer = self.signers.setdefault(name, fixed_signer(name))
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
