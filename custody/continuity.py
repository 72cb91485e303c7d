"""Custody continuity: who held a case at each moment, from its signed events alone (pure).

Rules (each broken rule is a finding naming the entry):
- The case opener (the actor of entry 0) is the first custodian.
- ``custody.released`` is signed by the current custodian, names a receiver, and only one release
  may be pending at a time.
- ``custody.accepted`` is signed by the named receiver of the pending release and cites that
  release's sequence number and entry digest; custody passes at that entry.
- A release still pending at the end of the log was never accepted.
- ``artifact.accessed`` (bytes read out of the store) is signed by the custodian of the moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from custody.events import ARTIFACT_ACCESSED, CUSTODY_ACCEPTED, CUSTODY_RELEASED, CustodyEvent


@dataclass(frozen=True)
class CustodySpan:
    """One custodian's holding: from the entry where custody passed to them."""

    custodian: str  # key id
    since_sequence: int
    since_time: str


@dataclass
class Continuity:
    spans: list[CustodySpan] = field(default_factory=list)
    pending_release: int | None = None
    findings: list[str] = field(default_factory=list)

    @property
    def custodian(self) -> str | None:
        return self.spans[-1].custodian if self.spans else None


def _short(key_id: str, names: dict[str, str]) -> str:
    name = names.get(key_id)
    return f"{name} ({key_id[:12]}...)" if name else f"{key_id[:12]}..."


def trace_custody(
    events: Sequence[CustodyEvent | None], entry_digests: Sequence[str], names: dict[str, str] | None = None
) -> Continuity:
    """Follow custody through ``events`` (in sequence order; None for unreadable entries).

    Args:
        events: the case's events.
        entry_digests: SHA-256 hex of each entry's bytes (an acceptance cites its release's).
        names: key id -> display name, for messages.
    """
    names = dict(names or {})
    result = Continuity()
    release: tuple[int, CustodyEvent] | None = None
    for index, event in enumerate(events):
        if event is None:
            continue
        if index == 0:
            result.spans.append(CustodySpan(event.actor, 0, event.time))
            continue
        custodian = result.custodian
        if event.event_type == CUSTODY_RELEASED:
            receiver = _receiver(event)
            to = event.body.get("to")
            if receiver is not None and isinstance(to, dict) and isinstance(to.get("name"), str):
                names.setdefault(receiver, to["name"])  # the receiver may not be introduced yet
            if event.actor != custodian:
                result.findings.append(
                    f"entry {index}: released by {_short(event.actor, names)}, but the custodian was "
                    f"{_short(custodian or '?', names)}"
                )
            if release is not None:
                result.findings.append(
                    f"entry {index}: a new release while the release at entry {release[0]} is still pending"
                )
            if receiver is None:
                result.findings.append(f"entry {index}: release names no receiver key")
            release = (index, event)
        elif event.event_type == CUSTODY_ACCEPTED:
            cited = _cited_release(event)
            if release is None:
                result.findings.append(f"entry {index}: accepts custody, but no release is pending")
                continue
            release_index, release_event = release
            expected = (release_index, entry_digests[release_index])
            if cited != expected:
                result.findings.append(
                    f"entry {index}: accepts release {cited[0] if cited else '?'}, expected the pending "
                    f"release at entry {release_index} (sha256 {str(expected[1])[:16]}...)"
                )
                continue
            if event.actor != _receiver(release_event):
                result.findings.append(
                    f"entry {index}: accepted by {_short(event.actor, names)}, but entry {release_index} "
                    f"released to {_short(_receiver(release_event) or '?', names)}"
                )
                continue
            result.spans.append(CustodySpan(event.actor, index, event.time))
            release = None
        elif event.event_type == ARTIFACT_ACCESSED and event.actor != custodian:
            result.findings.append(
                f"entry {index}: artifact accessed by {_short(event.actor, names)}, who was not the "
                f"custodian ({_short(custodian or '?', names)})"
            )
    if release is not None:
        receiver = _receiver(release[1])
        result.findings.append(
            f"entry {release[0]}: release to {_short(receiver or '?', names)} has not been accepted "
            "(custody is in transit)"
        )
        result.pending_release = release[0]
    return result


def _receiver(event: CustodyEvent) -> str | None:
    to: Any = event.body.get("to")
    key_id = to.get("key_id") if isinstance(to, dict) else None
    return key_id if isinstance(key_id, str) else None


def _cited_release(event: CustodyEvent) -> tuple[int, str | None] | None:
    cited: Any = event.body.get("release")
    if not isinstance(cited, dict) or not isinstance(cited.get("sequence"), int):
        return None
    digest = cited.get("entry_sha256")
    return cited["sequence"], digest if isinstance(digest, str) else None
