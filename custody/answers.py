"""The admissibility questionnaire of a case in a workspace: evaluate it, record human answers.

``custody questions`` and ``custody answer`` call these; the pure core is ``custody.questionnaire``.

Invariants:
- A human answer is an ``answer.recorded`` ledger entry signed by a person's key (never a tool's
  service key), naming the question, the jurisdiction sets it answers (with the wording each
  asked) and the answer text; confirming an assisted proposal cites the proposal's SHA-256.
- The workspace evaluates exactly as a bundle reader does: from the parsed ledger entries and
  the artifacts' bytes in the blob store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from custody.canonical import canonical_bytes
from custody.caselog import list_entries
from custody.digests import sha256_hex
from custody.errors import CustodyError, FormatError, NotFoundError, PolicyError
from custody.events import ANSWER_RECORDED, CustodyEvent, _unverified_event, role_may_sign
from custody.ledger import ledger_writer, unlock_actor
from custody.questionnaire import (
    AnswerMode,
    ArtifactReader,
    Questionnaire,
    Status,
    answer_body,
    evaluate,
    load_catalogue,
    proposal_digest,
    question_sets_for,
)
from custody.statement import Subject
from custody.workspace import Workspace


def case_events(ws: Workspace, case_id: str) -> list[CustodyEvent]:
    """The case's events in sequence order, parsed from the stored entries (unverified: ``custody
    log --verify`` checks the signatures)."""
    return [
        _unverified_event(row.entry, what=f"entry {row.sequence}")[1] for row in list_entries(ws, case_id)
    ]


def store_reader(ws: Workspace) -> ArtifactReader:
    """An artifact's verified bytes from the blob store, or None if absent or corrupt (``custody
    log --verify`` reports a corrupt blob; the questionnaire then says the artifact is unavailable)."""

    def read(digest: str) -> bytes | None:
        try:
            return ws.store.read_bytes(digest) if ws.store.exists(digest) else None
        except CustodyError:
            return None

    return read


def case_questionnaires(
    ws: Workspace, case_id: str, jurisdictions: Sequence[str] | None = None
) -> list[Questionnaire]:
    """The case's questionnaires, one per jurisdiction set, evaluated over its whole ledger."""
    events = case_events(ws, case_id)
    read = store_reader(ws)
    return [evaluate(events, s, read_artifact=read) for s in question_sets_for(events, jurisdictions)]


@dataclass(frozen=True)
class RecordedAnswer:
    question: str
    jurisdictions: tuple[str, ...]
    answer: str
    confirmed: bool
    sequence: int


def record_answer(
    ws: Workspace,
    case_id: str,
    question_id: str,
    text: str | None,
    *,
    jurisdictions: Sequence[str] | None = None,
    confirm: bool = False,
    actor_name: str | None = None,
) -> RecordedAnswer:
    """Sign a human answer to ``question_id`` into the case ledger (``answer.recorded``).

    With ``confirm``, the answer is the assisted proposal as it stands (``text`` must be None):
    the entry cites the proposal's SHA-256, so a proposal that changes later is not confirmed.

    Raises:
        NotFoundError: unknown question, or no set of the case asks it.
        PolicyError: a tool's service key; nothing to confirm; a jurisdiction not of the case.
        FormatError: an empty answer.
    """
    question_id = question_id.strip().upper()
    catalogue = load_catalogue()
    if question_id not in catalogue:
        raise NotFoundError(
            f"no admissibility question {question_id!r}",
            hint=f"the questions are {', '.join(catalogue)} (see 'custody questions {case_id}')",
        )
    actor, signer = unlock_actor(ws, actor_name)
    if not role_may_sign(actor.role, ANSWER_RECORDED):
        raise PolicyError(
            f"key {actor.name!r} is a tool's service key: answers to admissibility questions are signed by "
            "a named person"
        )
    events = case_events(ws, case_id)
    asked = question_sets_for(events, jurisdictions)
    sets = [s for s in asked if question_id in s.ids]
    if not sets:
        raise NotFoundError(
            f"question {question_id} is not in the question set(s) of case {case_id} "
            f"({', '.join(s.jurisdiction for s in asked)})"
        )
    confirms = None
    if confirm:
        if text is not None:
            raise FormatError("--confirm takes the proposal as it stands; give no answer text with it")
        if catalogue[question_id].mode is not AnswerMode.ASSISTED:
            raise PolicyError(
                f"{question_id} is answered {catalogue[question_id].mode.value}; only assisted questions "
                "have a proposal to confirm"
            )
        result = evaluate(events, sets[0], read_artifact=store_reader(ws)).result(question_id)
        computed = result.computed
        if computed is None or computed.status is not Status.PROPOSED:
            raise PolicyError(
                f"{question_id} has no proposed answer to confirm (status {result.status.value}): "
                f"{computed.answer if computed else 'nothing computed'}"
            )
        text = computed.answer
        confirms = proposal_digest(text)
    if text is None:
        raise FormatError(f"give the answer to {question_id} as text, or --confirm an assisted proposal")
    body = answer_body(sets, question_id, text, confirms=confirms)
    subject = Subject(f"question:{question_id}", sha256_hex(canonical_bytes(body)))
    with ledger_writer(ws, case_id, actor, signer) as writer:
        row = writer.append(ANSWER_RECORDED, [subject], body)
    return RecordedAnswer(question_id, tuple(body["jurisdictions"]), body["answer"], confirm, row.sequence)
