"""Exhibit numbers and the keys of a case, computed from its signed events alone.

Exhibit numbers are stable per case: exhibit N is the N-th distinct artifact digest recorded in
the ledger (``artifact.recorded`` or ``artifact.derived``), counting in sequence order. The ledger
is append-only, so a number once given never changes, and a later disclosure extends the list.
The exporter writes the index and the verifier recomputes it from the disclosed entries: both
call ``exhibit_index``.

Pure: events in, JSON-ready values out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from custody.errors import FormatError
from custody.events import (
    ARTIFACT_DERIVED,
    ARTIFACT_RECORDED,
    KEY_REVOKED,
    CustodyEvent,
    introduced_key,
    revoked_key_id,
)
from custody.keys import fingerprint
from custody.models import Provenance

ARTIFACT_EVENTS = (ARTIFACT_RECORDED, ARTIFACT_DERIVED)

WITHHELD_RECORD = "record"
"""Scope of a withholding: the artifact's bytes and the ledger entries recording it."""
WITHHELD_BYTES = "bytes"
"""Scope of a withholding: the artifact's bytes only; the entries recording it stay disclosed (so
a disclosed redacted copy can be checked against the original's signed commitment root)."""
WITHHELD_SCOPES = (WITHHELD_RECORD, WITHHELD_BYTES)


@dataclass(frozen=True)
class WithheldExhibit:
    """An artifact a bundle withholds: its digest, the entries withheld with it (none when only its
    bytes are withheld), why, and the scope of the withholding."""

    sha256: str
    records: tuple[int, ...]
    reason: str
    exhibit: int | None = None  # the number a schedule gives it (the index computes its own)
    scope: str = WITHHELD_RECORD


def exhibit_index(
    events: Sequence[CustodyEvent | None],
    *,
    withheld: Sequence[WithheldExhibit] = (),
    problems: list[str] | None = None,
) -> list[dict[str, Any]]:
    """One entry per distinct artifact digest, numbered from 1 in order of first record, with every
    record of it (sequence numbers) and what its first record says it is. A withheld artifact
    keeps its number and shows only its digest, records and the reason; one withheld bytes only
    shows what its disclosed records say, and the reason.

    A record whose body is not a valid provenance raises ``FormatError``; with ``problems`` it is
    left out and described there instead (a verifier reports it as a failed check)."""
    records: list[tuple[int, str, dict[str, Any]]] = []
    for event in events:
        if event is None or event.event_type not in ARTIFACT_EVENTS:
            continue
        try:
            provenance = Provenance.from_dict(event.body)
        except FormatError as exc:
            if problems is None:
                raise
            what = f"entry {event.sequence} ({event.event_type})"
            problems.append(f"{what}: not a valid artifact record: {exc.message}")
            continue
        records.append((event.sequence, provenance.digest, _described(provenance)))
    for item in withheld:
        records.extend((sequence, item.sha256, {"withheld": item.reason}) for sequence in item.records)
    exhibits: dict[str, dict[str, Any]] = {}
    for sequence, digest, described in sorted(records, key=lambda record: record[0]):
        known = exhibits.get(digest)
        if known is not None:
            known["records"].append(sequence)
        else:
            exhibits[digest] = {
                "exhibit": len(exhibits) + 1,
                "sha256": digest,
                **described,
                "records": [sequence],
            }
    for item in withheld:
        if item.scope == WITHHELD_BYTES and item.sha256 in exhibits:
            exhibits[item.sha256]["withheld"] = item.reason
    return list(exhibits.values())


def _described(provenance: Provenance) -> dict[str, Any]:
    return {
        "name": provenance.name,
        "media_type": provenance.media_type,
        "size": provenance.size,
        "origin": provenance.origin.value,
        "role": provenance.role.value,
        "hil": provenance.hil.level.value,
        "tool": {"name": provenance.tool.name, "version": provenance.tool.version},
    }


def ledger_keys(events: Sequence[CustodyEvent | None]) -> list[dict[str, Any]]:
    """Every key the ledger introduces (``case.opened``, ``key.added``) with its role, where it was
    introduced and, if so, revoked; in order of introduction."""
    keys: dict[str, dict[str, Any]] = {}
    for event in events:
        if event is None:
            continue
        if event.event_type == KEY_REVOKED:
            revoked = revoked_key_id(event)
            if revoked in keys:
                keys[revoked]["revoked_at"] = event.sequence
            continue
        described = introduced_key(event)
        if described is not None and isinstance(described.get("key_id"), str):
            key_id = described["key_id"]
            keys.setdefault(
                key_id,
                {
                    "key_id": key_id,
                    "fingerprint": fingerprint(key_id),
                    "name": described.get("name"),
                    "role": described.get("role"),
                    "public_key": described.get("public_key"),
                    "introduced_at": event.sequence,
                },
            )
    return list(keys.values())
