"""The admissibility questionnaire: question sets and their evaluation over a case's records.

The catalogue (``templates/questions/catalogue.yaml``) holds every question of DOMAIN.md with its
id, group, answer mode and the standards behind it; a jurisdiction set (``us.yaml``, ``uk.yaml``,
``eu.yaml``) selects questions, may word them in its own terms and cites its own rules.
``evaluate`` answers one set from a case's ledger:

- ``auto`` questions are computed from the signed records and cite exhibit numbers and ledger
  entries; where the records lack what a question needs, it stays ``open`` and the answer says
  what is missing (a signed human answer then closes it);
- ``manual`` questions are ``open`` until a named human answers (an ``answer.recorded`` entry);
- ``assisted`` questions (ENT-1) carry the analysis's proposal as ``proposed`` until a human
  confirms it (the confirmation cites the SHA-256 of the proposal it saw, so a proposal that
  changed since is not confirmed) or answers in their own words.

A later human answer to a question supersedes an earlier one (the earlier ones stay in
``history``); the computed answer is kept beside a human one.

Invariants:
- Pure: template bytes and parsed events in, values out. ``evaluate`` reads artifact bytes only
  through ``read_artifact`` and only for artifacts whose records it was given, so a workspace and
  a verified bundle's disclosed entries (withheld entries as None) give the same questionnaire.
- Question sets are validated strictly on load (unknown fields, duplicate or unknown ids, wrong
  types): a malformed set raises ``FormatError`` naming the file and the field.
- ``Questionnaire.to_dict`` is JSON-ready (no floats) and deterministic.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.resources import files
from typing import Any

from custody.analysis import Analysis
from custody.canonical import parse_json_object
from custody.commitments import REDACTED_KIND
from custody.digests import sha256_hex
from custody.errors import CustodyError, FormatError, NotFoundError, PolicyError
from custody.events import (
    ANSWER_RECORDED,
    ARTIFACT_ACCESSED,
    BUNDLE_EXPORTED,
    CASE_OPENED,
    CUSTODY_ACCEPTED,
    CUSTODY_RELEASED,
    RUN_ENDED,
    RUN_STARTED,
    TOOL_REGISTERED,
    CustodyEvent,
)
from custody.exhibits import ARTIFACT_EVENTS, WithheldExhibit, exhibit_index, ledger_keys
from custody.models import HIL, Origin, Provenance
from custody.strict_yaml import load_strict_yaml_bytes
from custody.transcript import Authorship, Speaker, Transcript, parse_transcript

SCHEMA = "custody/questions/v1"
TEMPLATES_PACKAGE = "custody_templates"
CATALOGUE_FILE = "questions/catalogue.yaml"
SET_FILES = {"US": "questions/us.yaml", "UK": "questions/uk.yaml", "EU": "questions/eu.yaml"}
GROUPS = (
    "integrity",
    "provenance",
    "reliability",
    "human",
    "completeness",
    "conduct",
    "disclosure",
    "privacy",
)
MAX_SET_BYTES = 1 << 20
MAX_ANSWER_LENGTH = 20_000
_QUESTION_ID = re.compile(r"^[A-Z]{2,8}-[0-9]{1,3}$")
_LISTED = 8  # items named in an answer before "and N more"

ArtifactReader = Callable[[str], bytes | None]


class AnswerMode(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"
    ASSISTED = "assisted"
    AUTO_OR_MANUAL = "auto_or_manual"


class Status(StrEnum):
    ANSWERED = "answered"
    PROPOSED = "proposed"
    """An assisted answer awaiting a human's confirmation."""
    OPEN = "open"


# --- question sets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One question as a jurisdiction set asks it."""

    id: str
    group: str
    text: str
    mode: AnswerMode
    answered_from: str
    rules: tuple[str, ...]


@dataclass(frozen=True)
class QuestionSet:
    """A jurisdiction's questions, in catalogue order."""

    jurisdiction: str
    title: str
    questions: tuple[Question, ...]
    sha256: str
    """SHA-256 of the set file's bytes (which wording was asked)."""
    catalogue_sha256: str

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise NotFoundError(
            f"question {question_id!r} is not in the {self.jurisdiction} question set",
            hint=f"its questions: {', '.join(q.id for q in self.questions)}",
        )

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)


def _fields(document: Any, allowed: set[str], required: set[str], where: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise FormatError(f"{where} must be a mapping, got {type(document).__name__}")
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise FormatError(f"{where}: unknown field(s) {', '.join(unknown)}")
    missing = sorted(required - set(document))
    if missing:
        raise FormatError(f"{where}: missing field(s) {', '.join(missing)}")
    return document


def _text_field(document: Mapping[str, Any], key: str, where: str) -> str:
    value = document[key]
    if not isinstance(value, str) or not value.strip():
        raise FormatError(f"{where}.{key} must be non-empty text, got {value!r}")
    return " ".join(value.split())


def _rules_field(document: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = document.get("rules", [])
    if not isinstance(value, list):
        raise FormatError(f"{where}.rules must be a list of citations, got {type(value).__name__}")
    rules = []
    for index, rule in enumerate(value):
        if not isinstance(rule, str) or not rule.strip():
            raise FormatError(f"{where}.rules[{index}] must be non-empty text, got {rule!r}")
        rules.append(rule.strip())
    return tuple(rules)


def _load_document(data: bytes, *, name: str, kind: str) -> dict[str, Any]:
    document = load_strict_yaml_bytes(data, what=name, limit=MAX_SET_BYTES, kind="question sets")
    allowed = {"schema", "kind", "questions"} | (
        {"jurisdiction", "title"} if kind == "jurisdiction" else set()
    )
    document = _fields(document, allowed, allowed, name)
    if document["schema"] != SCHEMA:
        raise FormatError(f"{name}: schema must be {SCHEMA!r}, got {document['schema']!r}")
    if document["kind"] != kind:
        raise FormatError(f"{name}: kind must be {kind!r}, got {document['kind']!r}")
    if not isinstance(document["questions"], list) or not document["questions"]:
        raise FormatError(f"{name}: questions must be a non-empty list")
    return document


def parse_catalogue(data: bytes, *, name: str = "catalogue.yaml") -> dict[str, Question]:
    """Parse the question catalogue: question id -> question (in file order).

    Raises:
        FormatError: naming ``name`` and the bad field.
    """
    document = _load_document(data, name=name, kind="catalogue")
    questions: dict[str, Question] = {}
    required = {"id", "group", "text", "mode", "answered_from"}
    for index, raw in enumerate(document["questions"]):
        where = f"{name}: questions[{index}]"
        item = _fields(raw, {*required, "rules"}, required, where)
        question_id = item["id"]
        if not isinstance(question_id, str) or not _QUESTION_ID.fullmatch(question_id):
            raise FormatError(f"{where}.id must look like AUTH-1, got {question_id!r}")
        where = f"{name}: question {question_id}"
        if question_id in questions:
            raise FormatError(f"{where}: the id appears twice")
        if item["group"] not in GROUPS:
            raise FormatError(f"{where}.group must be one of {', '.join(GROUPS)}; got {item['group']!r}")
        try:
            mode = AnswerMode(item["mode"])
        except ValueError:
            choices = ", ".join(m.value for m in AnswerMode)
            raise FormatError(f"{where}.mode must be one of {choices}; got {item['mode']!r}") from None
        questions[question_id] = Question(
            id=question_id,
            group=item["group"],
            text=_text_field(item, "text", where),
            mode=mode,
            answered_from=_text_field(item, "answered_from", where),
            rules=_rules_field(item, where),
        )
    return questions


def parse_question_set(
    data: bytes,
    catalogue: Mapping[str, Question],
    *,
    name: str,
    catalogue_sha256: str,
) -> QuestionSet:
    """Parse a jurisdiction set against the catalogue. The set's rules come first, then the
    catalogue's standards; its wording replaces the catalogue's where given.

    Raises:
        FormatError: naming ``name`` and the bad field (an id the catalogue lacks, a duplicate...).
    """
    document = _load_document(data, name=name, kind="jurisdiction")
    code = document["jurisdiction"]
    if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{2}", code):
        raise FormatError(f"{name}.jurisdiction must be a code like US, UK or EU, got {code!r}")
    title = _text_field(document, "title", name)
    chosen: dict[str, Question] = {}
    for index, raw in enumerate(document["questions"]):
        where = f"{name}: questions[{index}]"
        item = _fields(raw, {"id", "text", "rules"}, {"id"}, where)
        question_id = item["id"]
        if question_id not in catalogue:
            raise FormatError(f"{where}.id {question_id!r} is not a question of the catalogue")
        if question_id in chosen:
            raise FormatError(f"{where}.id {question_id!r} appears twice")
        base = catalogue[question_id]
        where = f"{name}: question {question_id}"
        own_rules = _rules_field(item, where)
        chosen[question_id] = Question(
            id=question_id,
            group=base.group,
            text=_text_field(item, "text", where) if "text" in item else base.text,
            mode=base.mode,
            answered_from=base.answered_from,
            rules=tuple(dict.fromkeys((*own_rules, *base.rules))),
        )
    ordered = tuple(chosen[q] for q in catalogue if q in chosen)
    return QuestionSet(code, title, ordered, sha256_hex(data), catalogue_sha256)


def _template_bytes(path: str) -> bytes:
    return files(TEMPLATES_PACKAGE).joinpath(path).read_bytes()


def load_catalogue() -> dict[str, Question]:
    """The shipped catalogue (``templates/questions/catalogue.yaml``)."""
    return parse_catalogue(_template_bytes(CATALOGUE_FILE), name=f"templates/{CATALOGUE_FILE}")


@functools.lru_cache(maxsize=8)
def load_question_set(jurisdiction: str) -> QuestionSet:
    """The shipped question set of ``jurisdiction`` (``US``, ``UK`` or ``EU``, as cases use them).

    Raises:
        NotFoundError: no set ships for that code.
        FormatError: the shipped set or catalogue is malformed (naming file and field).
    """
    code = jurisdiction.strip().upper()
    path = SET_FILES.get(code)
    if path is None:
        raise NotFoundError(
            f"no admissibility question set for jurisdiction {jurisdiction!r}; "
            f"sets exist for {', '.join(SET_FILES)}"
        )
    catalogue_data = _template_bytes(CATALOGUE_FILE)
    catalogue = parse_catalogue(catalogue_data, name=f"templates/{CATALOGUE_FILE}")
    question_set = parse_question_set(
        _template_bytes(path),
        catalogue,
        name=f"templates/{path}",
        catalogue_sha256=sha256_hex(catalogue_data),
    )
    if question_set.jurisdiction != code:
        raise FormatError(
            f"templates/{path}: jurisdiction is {question_set.jurisdiction!r}, expected {code!r}"
        )
    return question_set


# --- human answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HumanAnswer:
    """One ``answer.recorded`` entry: a named human's signed answer to a question."""

    question: str
    jurisdictions: tuple[str, ...]
    text: str
    confirms: str | None
    """SHA-256 of the proposed (assisted) answer the human confirmed, if this is a confirmation."""
    key_id: str
    name: str | None
    time: str
    entry: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "answered_by": self.key_id,
            "answered_by_name": self.name,
            "answered_at": self.time,
            "entry": self.entry,
            "confirms": self.confirms,
        }


def answer_body(
    question_set: Sequence[QuestionSet],
    question_id: str,
    text: str,
    *,
    confirms: str | None = None,
) -> dict[str, Any]:
    """The body of an ``answer.recorded`` event answering ``question_id`` for each set given
    (with the wording each set asked), optionally confirming a proposal by its SHA-256.

    Raises:
        NotFoundError: a set does not ask the question.
        FormatError: empty or overlong text.
    """
    if not isinstance(text, str) or not text.strip():
        raise FormatError(f"the answer to {question_id} is empty")
    if len(text) > MAX_ANSWER_LENGTH:
        raise FormatError(f"the answer to {question_id} is {len(text)} characters (max {MAX_ANSWER_LENGTH})")
    if not question_set:
        raise FormatError(f"no question set to answer {question_id} in")
    wording = {s.jurisdiction: s.question(question_id).text for s in question_set}
    body: dict[str, Any] = {
        "question": question_id,
        "jurisdictions": sorted(wording),
        "wording": wording,
        "question_sets": {s.jurisdiction: {"sha256": s.sha256} for s in question_set},
        "answer": text.strip(),
    }
    if confirms is not None:
        body["confirms"] = {"sha256": confirms}
    return body


def _human_answer(event: CustodyEvent, names: Mapping[str, str | None]) -> HumanAnswer:
    body = event.body
    question, text, codes = body.get("question"), body.get("answer"), body.get("jurisdictions")
    if not isinstance(question, str) or not _QUESTION_ID.fullmatch(question):
        raise FormatError(f"entry {event.sequence}: answer.recorded names no valid question id")
    if not isinstance(text, str) or not text.strip():
        raise FormatError(f"entry {event.sequence}: answer.recorded has no answer text")
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
        raise FormatError(f"entry {event.sequence}: answer.recorded names no jurisdictions")
    confirms: Any = body.get("confirms")
    digest = confirms.get("sha256") if isinstance(confirms, dict) else None
    if confirms is not None and not isinstance(digest, str):
        raise FormatError(f"entry {event.sequence}: answer.recorded 'confirms' names no sha256")
    return HumanAnswer(
        question, tuple(codes), text, digest, event.actor, names.get(event.actor), event.time, event.sequence
    )


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Computed:
    """What the records give for a question (before any human answer)."""

    status: Status
    answer: str
    exhibits: tuple[int, ...] = ()
    entries: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    """Structured values behind the answer (e.g. ``most_automated_hil``), JSON-ready."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "answer": self.answer,
            "evidence": {"exhibits": list(self.exhibits), "entries": list(self.entries)},
            "warnings": list(self.warnings),
            **({"facts": dict(self.facts)} if self.facts else {}),
        }


@dataclass(frozen=True)
class QuestionResult:
    question: Question
    status: Status
    answer: str | None
    computed: Computed | None
    human: HumanAnswer | None = None
    history: tuple[HumanAnswer, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def exhibits(self) -> tuple[int, ...]:
        return self.computed.exhibits if self.computed else ()

    @property
    def entries(self) -> tuple[int, ...]:
        own = (self.human.entry,) if self.human else ()
        return tuple(sorted({*own, *(self.computed.entries if self.computed else ())}))

    def to_dict(self) -> dict[str, Any]:
        question = self.question
        warnings = [*(self.computed.warnings if self.computed else ()), *self.notes]
        return {
            "id": question.id,
            "group": question.group,
            "text": question.text,
            "rules": list(question.rules),
            "mode": question.mode.value,
            "answered_from": question.answered_from,
            "status": self.status.value,
            "answer": self.answer,
            "evidence": {"exhibits": list(self.exhibits), "entries": list(self.entries)},
            "warnings": warnings,
            "answered_by": self.human.key_id if self.human else None,
            "answered_by_name": self.human.name if self.human else None,
            "answered_at": self.human.time if self.human else None,
            "entry": self.human.entry if self.human else None,
            "confirms": self.human.confirms if self.human else None,
            "computed": self.computed.to_dict() if self.computed else None,
            "facts": dict(self.computed.facts) if self.computed else {},
            "history": [h.to_dict() for h in self.history],
        }


@dataclass(frozen=True)
class Questionnaire:
    """One jurisdiction set evaluated over a case's records."""

    case_id: str | None
    question_set: QuestionSet
    results: tuple[QuestionResult, ...]
    entries: int
    withheld_entries: tuple[int, ...]
    problems: tuple[str, ...] = ()

    @property
    def jurisdiction(self) -> str:
        return self.question_set.jurisdiction

    @property
    def answered(self) -> int:
        return sum(1 for r in self.results if r.status is Status.ANSWERED)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def unanswered(self) -> tuple[QuestionResult, ...]:
        """Questions without an answer: open ones and proposals no human has confirmed."""
        return tuple(r for r in self.results if r.status is not Status.ANSWERED)

    @property
    def complete(self) -> bool:
        """Court-ready: every question of the set answered."""
        return not self.unanswered

    def result(self, question_id: str) -> QuestionResult:
        for result in self.results:
            if result.question.id == question_id:
                return result
        raise NotFoundError(f"question {question_id!r} is not in the {self.jurisdiction} question set")

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "jurisdiction": self.jurisdiction,
            "title": self.question_set.title,
            "answered": self.answered,
            "proposed": sum(1 for r in self.results if r.status is Status.PROPOSED),
            "open": sum(1 for r in self.results if r.status is Status.OPEN),
            "total": self.total,
            "complete": self.complete,
            "unanswered": [r.question.id for r in self.unanswered],
            "question_set": {
                "sha256": self.question_set.sha256,
                "catalogue_sha256": self.question_set.catalogue_sha256,
            },
            "ledger": {"entries": self.entries, "withheld_entries": list(self.withheld_entries)},
            "problems": list(self.problems),
            "questions": [r.to_dict() for r in self.results],
        }


# --- the records, read once ---------------------------------------------------------------------


def _listing(items: Sequence[str], limit: int = _LISTED) -> str:
    shown = list(items[:limit])
    if len(items) > limit:
        shown.append(f"and {len(items) - limit} more")
    return "; ".join(shown)


def _numbers(values: Iterable[int]) -> str:
    ordered = sorted(set(values))
    return ", ".join(map(str, ordered[:12])) + (f" and {len(ordered) - 12} more" if len(ordered) > 12 else "")


@dataclass(frozen=True)
class _Record:
    sequence: int
    time: str
    provenance: Provenance

    @property
    def kind(self) -> str | None:
        kind = (self.provenance.details or {}).get("kind")
        return kind if isinstance(kind, str) else None


@dataclass(frozen=True)
class _Tool:
    name: str
    version: str
    card: Mapping[str, Any]
    sequence: int

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def model(self) -> Mapping[str, Any] | None:
        model = self.card.get("model")
        return model if isinstance(model, dict) else None

    def entries(self, key: str) -> list[Mapping[str, Any]]:
        value = self.card.get(key)
        return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


@dataclass(frozen=True)
class _Conversation:
    record: _Record
    analysis: Analysis | None
    analysis_record: _Record | None
    transcript: Transcript | None

    @property
    def name(self) -> str:
        conversation = (self.record.provenance.details or {}).get("conversation_id")
        return str(conversation or self.record.provenance.name or self.record.provenance.digest[:12])


class _Records:
    """Everything the questions read, gathered once from the events (in sequence order)."""

    def __init__(
        self,
        events: Sequence[CustodyEvent | None],
        read_artifact: ArtifactReader,
        withheld: Sequence[WithheldExhibit],
    ) -> None:
        self.problems: list[str] = []
        self.size = len(events)
        self.withheld_entries = tuple(n for n, event in enumerate(events) if event is None)
        self.events = [event for event in events if event is not None]
        self.withheld = tuple(withheld)
        self.exhibits = exhibit_index(events, withheld=withheld, problems=self.problems)
        self.exhibit_of = {e["sha256"]: int(e["exhibit"]) for e in self.exhibits}
        self.keys = ledger_keys(events)
        self.names: dict[str, str | None] = {k["key_id"]: k.get("name") for k in self.keys}
        self.roles: dict[str, str | None] = {k["key_id"]: k.get("role") for k in self.keys}
        self.case: Mapping[str, Any] = {}
        self.case_id: str | None = None
        self.tools: dict[tuple[str, str], _Tool] = {}
        self.records: list[_Record] = []
        self.first_record: dict[str, _Record] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.answers: list[HumanAnswer] = []
        self.exports: list[CustodyEvent] = []
        self.accesses: list[CustodyEvent] = []
        self.releases: list[CustodyEvent] = []
        self.acceptances: list[CustodyEvent] = []
        for event in self.events:
            self._take(event)
        self.conversations = self._conversations(read_artifact)

    def _take(self, event: CustodyEvent) -> None:
        body = event.body
        kind = event.event_type
        if kind == CASE_OPENED and self.case_id is None:
            self.case, self.case_id = body, event.case_id
        elif kind == TOOL_REGISTERED:
            card = body.get("tool")
            if isinstance(card, dict) and isinstance(card.get("name"), str):
                key = (card["name"], str(card.get("version")))
                self.tools.setdefault(key, _Tool(key[0], key[1], card, event.sequence))
        elif kind in ARTIFACT_EVENTS:
            try:
                record = _Record(event.sequence, event.time, Provenance.from_dict(body))
            except FormatError:
                return  # exhibit_index has described it in problems
            self.records.append(record)
            self.first_record.setdefault(record.provenance.digest, record)
        elif kind in (RUN_STARTED, RUN_ENDED):
            run = body.get("run")
            if isinstance(run, dict) and isinstance(run.get("id"), str):
                entry = self.runs.setdefault(run["id"], {"id": run["id"]})
                entry["started" if kind == RUN_STARTED else "ended"] = (event.sequence, event.time, run)
        elif kind == ANSWER_RECORDED:
            try:
                self.answers.append(_human_answer(event, self.names))
            except FormatError as exc:
                self.problems.append(exc.message)
        elif kind == BUNDLE_EXPORTED:
            self.exports.append(event)
        elif kind == ARTIFACT_ACCESSED:
            self.accesses.append(event)
        elif kind == CUSTODY_RELEASED:
            self.releases.append(event)
        elif kind == CUSTODY_ACCEPTED:
            self.acceptances.append(event)

    def _conversations(self, read_artifact: ArtifactReader) -> list[_Conversation]:
        transcripts = [r for r in self.first_record.values() if r.kind == "transcript"]
        analyses = {
            r.provenance.derived_from[0]: r
            for r in self.first_record.values()
            if r.kind == "transcript-analysis" and r.provenance.derived_from
        }
        conversations = []
        for record in transcripts:
            analysis_record = analyses.get(record.provenance.digest)
            analysis = None
            if analysis_record is not None:
                analysis = self._read_analysis(analysis_record, read_artifact)
            transcript = None
            data = read_artifact(record.provenance.digest)
            if data is not None and sha256_hex(data) == record.provenance.digest:
                try:
                    transcript = parse_transcript(
                        data, name=f"exhibit {self.exhibit_of[record.provenance.digest]}"
                    )
                except CustodyError as exc:
                    self.problems.append(exc.message)
            conversations.append(_Conversation(record, analysis, analysis_record, transcript))
        return conversations

    def _read_analysis(self, record: _Record, read_artifact: ArtifactReader) -> Analysis | None:
        digest = record.provenance.digest
        data = read_artifact(digest)
        if data is None:
            return None
        where = f"analysis exhibit {self.exhibit_of.get(digest)}"
        if sha256_hex(data) != digest:
            self.problems.append(f"{where}: its bytes do not match its digest; not used")
            return None
        try:
            return Analysis.from_dict(parse_json_object(data, what=where))
        except CustodyError as exc:
            self.problems.append(f"{where}: {exc.message}")
            return None

    # helpers

    def ex(self, digest: str) -> int:
        return self.exhibit_of.get(digest, 0)

    def who(self, key_id: str) -> str:
        name = self.names.get(key_id)
        return f"{name} ({self.roles.get(key_id)})" if name else f"key {key_id[:12]}..."

    def exhibit_records(self) -> list[_Record]:
        """The first record of each disclosed exhibit, in exhibit order."""
        return sorted(self.first_record.values(), key=lambda r: self.ex(r.provenance.digest))

    def tools_used(self) -> list[tuple[tuple[str, str], list[_Record]]]:
        used: dict[tuple[str, str], list[_Record]] = {}
        for record in self.exhibit_records():
            used.setdefault((record.provenance.tool.name, record.provenance.tool.version), []).append(record)
        return sorted(used.items())

    def exhibit_list(self, records: Iterable[_Record]) -> tuple[int, ...]:
        return tuple(sorted({self.ex(r.provenance.digest) for r in records}))


def _computed(
    answer: str,
    *,
    status: Status = Status.ANSWERED,
    exhibits: Iterable[int] = (),
    entries: Iterable[int] = (),
    warnings: Iterable[str] = (),
    **facts: Any,
) -> Computed:
    return Computed(
        status, answer, tuple(sorted(set(exhibits))), tuple(sorted(set(entries))), tuple(warnings), facts
    )


def _missing(answer: str, **kwargs: Any) -> Computed:
    return _computed(answer, status=Status.OPEN, **kwargs)


# --- the computed answers -----------------------------------------------------------------------


def _auth_1(r: _Records) -> Computed:
    records = r.exhibit_records()
    if not records:
        return _computed("No artifact is recorded in the disclosed entries.")
    sizes: dict[str, set[int]] = {}
    for record in r.records:
        sizes.setdefault(record.provenance.digest, set()).add(record.provenance.size)
    conflicts = [
        f"exhibit {r.ex(d)} is recorded with sizes {sorted(s)}" for d, s in sizes.items() if len(s) > 1
    ]
    transfers = [e.sequence for e in r.acceptances]
    answer = (
        f"Each of the {len(records)} exhibits is identified by the SHA-256 signed into its record at "
        "recording (the hash at capture); records of the same bytes agree on digest and size"
        + (" except where noted" if conflicts else "")
        + ". "
        + (
            f"Custody passed at entries {_numbers(transfers)}; each transfer signs the ledger that holds "
            "those records, "
            if transfers
            else "Custody never changed hands; "
        )
        + "and every disclosed artifact is re-hashed against its record by 'custody verify' "
        "(and every stored blob by 'custody log --verify')."
    )
    entries = [rec.sequence for rec in records] + transfers
    return _computed(answer, exhibits=r.exhibit_list(records), entries=entries, warnings=conflicts)


def _auth_2(r: _Records) -> Computed:
    counts = Counter(event.actor for event in r.events)
    introduced = {k["key_id"]: k for k in r.keys}
    signers = [
        f"{r.who(key_id)}: {count} entr{'y' if count == 1 else 'ies'}"
        + (f", key introduced at entry {introduced[key_id]['introduced_at']}" if key_id in introduced else "")
        + (
            f", revoked at entry {introduced[key_id]['revoked_at']}"
            if "revoked_at" in introduced.get(key_id, {})
            else ""
        )
        for key_id, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    unknown = [
        f"key {k[:12]}... signs entries but no disclosed entry introduces it"
        for k in counts
        if k not in introduced
    ]
    answer = (
        f"All {len(r.events)} disclosed entries are DSSE envelopes signed with Ed25519 by the key each "
        f"names as its actor. Signers: {_listing(signers)}. The signatures, the keys' introduction "
        "before use, revocations and roles are checked by 'custody log --verify' and 'custody verify'."
    )
    entries = [k["introduced_at"] for k in r.keys]
    return _computed(
        answer,
        entries=entries,
        warnings=unknown,
        signers=dict(sorted(Counter({r.who(k): c for k, c in counts.items()}).items())),
    )


def _auth_3(r: _Records) -> Computed:
    records = r.exhibit_records()
    if not records:
        return _computed("No artifact is recorded in the disclosed entries.")
    claimed = [rec for rec in records if rec.provenance.captured_at]
    late = [
        f"exhibit {r.ex(rec.provenance.digest)} claims capture at {rec.provenance.captured_at}, after its "
        f"recording at {rec.time} (entry {rec.sequence})"
        for rec in claimed
        if (rec.provenance.captured_at or "") > rec.time
    ]
    lags = sorted(claimed, key=lambda rec: rec.time, reverse=True)
    window = (
        f" Claimed capture times run from {min(c.provenance.captured_at or '' for c in claimed)} to "
        f"{max(c.provenance.captured_at or '' for c in claimed)}."
        if claimed
        else ""
    )
    answer = (
        f"{len(claimed)} of {len(records)} exhibits carry a capture time claimed by their tool"
        f"{' (exhibits ' + _numbers(r.exhibit_list(claimed)) + ')' if claimed else ''}; every exhibit has "
        f"its recording time in its signed ledger entry.{window} The recording times are attested by the "
        "signing keys and fixed in order by the log key's signed checkpoints; no third-party timestamp "
        "(such as RFC 3161) is recorded."
    )
    return _computed(
        answer, exhibits=r.exhibit_list(lags), entries=[c.sequence for c in claimed], warnings=late
    )


def _auth_4(r: _Records) -> Computed:
    records = r.exhibit_records()
    derivatives = [rec for rec in records if rec.provenance.derived_from]
    lines = [
        f"exhibit {r.ex(rec.provenance.digest)} ({rec.provenance.name}) from exhibit(s) "
        f"{', '.join(str(r.ex(p) or p[:12] + '...') for p in rec.provenance.derived_from)} by "
        f"{rec.provenance.tool.name} {rec.provenance.tool.version}"
        + (f": {rec.provenance.transformation}" if rec.provenance.transformation else "")
        for rec in derivatives
    ]
    answer = f"{len(records) - len(derivatives)} original(s) and {len(derivatives)} derivative(s)." + (
        f" Derivatives: {_listing(lines)}." if lines else ""
    )
    return _computed(answer, exhibits=r.exhibit_list(derivatives), entries=[d.sequence for d in derivatives])


def _auth_5(r: _Records) -> Computed:
    records = r.exhibit_records()
    by_origin = Counter(rec.provenance.origin.value for rec in records)
    parts = [f"{by_origin.get(o.value, 0)} {o.value}" for o in Origin]
    messages: Counter[str] = Counter()
    for conversation in r.conversations:
        if conversation.analysis is not None:
            messages.update(conversation.analysis.counts.by_origin)
    answer = f"Exhibits by origin: {', '.join(parts)}."
    if messages:
        answer += (
            " Transcript messages by origin: "
            + ", ".join(f"{n} {o}" for o, n in sorted(messages.items()))
            + "."
        )
    mixed = [rec for rec in records if rec.provenance.origin is Origin.MIXED]
    if mixed:
        answer += " Mixed exhibits (transcripts) record the origin of every message."
    return _computed(
        answer,
        exhibits=r.exhibit_list(mixed),
        by_origin=dict(sorted(by_origin.items())),
        messages_by_origin=dict(sorted(messages.items())),
    )


def _auth_6(r: _Records) -> Computed:
    opener = r.events[0].actor if r.events and r.events[0].event_type == CASE_OPENED else None
    accepted = {}
    for event in r.acceptances:
        cited = event.body.get("release")
        if isinstance(cited, dict) and isinstance(cited.get("sequence"), int):
            accepted[cited["sequence"]] = event
    chain = [r.who(opener)] if opener else []
    gaps, entries = [], []
    for release in r.releases:
        to: Any = release.body.get("to")
        receiver = to.get("key_id") if isinstance(to, dict) else None
        acceptance = accepted.get(release.sequence)
        entries.append(release.sequence)
        if acceptance is None:
            gaps.append(f"the release at entry {release.sequence} was never accepted (custody in transit)")
            continue
        entries.append(acceptance.sequence)
        if acceptance.actor != receiver:
            gaps.append(
                f"entry {acceptance.sequence} accepts the release at entry {release.sequence} by another key"
            )
        chain.append(
            f"{r.who(acceptance.actor)} (released at entry {release.sequence}, "
            f"accepted at entry {acceptance.sequence})"
        )
    if r.withheld_entries:
        gaps.append(
            f"entries {_numbers(r.withheld_entries)} are withheld from this view (shown by leaf hash only)"
        )
    answer = f"Custodians in order: {' -> '.join(chain) or 'none recorded'}. " + (
        "Every release was accepted by its named receiver; no gap in the chain."
        if not gaps
        else "Gaps: " + "; ".join(gaps) + "."
    )
    return _computed(answer, entries=entries, warnings=gaps)


def _prov_1(r: _Records) -> Computed:
    lines, missing, warnings, entries = [], [], [], []
    for (name, version), records in r.tools_used():
        tool = r.tools.get((name, version))
        exhibits = f"exhibits {_numbers(r.exhibit_list(records))}"
        if tool is None:
            missing.append(
                f"{name} {version} ({exhibits}) has no tool.registered entry in the disclosed ledger"
            )
            continue
        entries.append(tool.sequence)
        config = tool.card.get("config_digest", {})
        build = tool.card.get("build_hash")
        if not build:
            warnings.append(f"{tool.label} records no build hash")
        lines.append(
            f"{tool.label} ({tool.card.get('kind')}; build {build or 'not recorded'}; configuration "
            f"sha256:{str(config.get('sha256', '?'))[:16]}...; card registered at entry {tool.sequence}) "
            f"produced {exhibits}"
        )
    if missing:
        return _missing("Missing: " + "; ".join(missing) + ".", entries=entries, warnings=warnings)
    if not lines:
        return _computed("No artifact is recorded, so no tool produced evidence.")
    return _computed("; ".join(lines) + ".", entries=entries, warnings=warnings)


def _model_tools(r: _Records) -> list[tuple[_Tool, list[_Record]]]:
    found = []
    for key, records in r.tools_used():
        tool = r.tools.get(key)
        if tool is not None and (tool.model is not None or tool.card.get("kind") == "decoy_chatbot"):
            found.append((tool, records))
    return found


def _prov_2(r: _Records) -> Computed:
    lines, missing, warnings = [], [], []
    for tool, records in _model_tools(r):
        model = tool.model
        if model is None:
            missing.append(f"{tool.label} is a decoy chatbot but its card declares no model")
            continue
        weights: Any = model.get("weights_digest")
        lines.append(
            f"{tool.label}: {model.get('model_id')} snapshot {model.get('snapshot')} "
            f"from {model.get('provider')}"
            + (f", weights sha256:{str(weights.get('sha256'))[:16]}..." if isinstance(weights, dict) else "")
            + f" (exhibits {_numbers(r.exhibit_list(records))})"
        )
        for conversation in r.conversations:
            if conversation.transcript is None or conversation.record.provenance.tool.name != tool.name:
                continue
            seen = {m.model.snapshot for m in conversation.transcript.messages if m.model is not None}
            other = sorted(seen - {str(model.get("snapshot"))})
            if other:
                warnings.append(
                    f"{conversation.name} (exhibit {r.ex(conversation.record.provenance.digest)}) "
                    "has messages from "
                    f"snapshot(s) {', '.join(other)}, not the card's {model.get('snapshot')}"
                )
    entries = [tool.sequence for tool, _ in _model_tools(r)]
    if missing:
        return _missing("Missing: " + "; ".join(missing) + ".", entries=entries)
    if not lines:
        return _computed("No tool that produced an exhibit declares a model (no AI model is relied on).")
    checked = [c for c in r.conversations if c.transcript is not None]
    note = (
        f" The model snapshot named on each message of {len(checked)} transcript(s) was compared "
        "with the card."
        if checked
        else ""
    )
    return _computed("; ".join(lines) + "." + note, entries=entries, warnings=warnings)


def _prov_3(r: _Records) -> Computed:
    lines, missing = [], []
    for tool, _ in _model_tools(r):
        model = tool.model or {}
        parameters = model.get("parameters") or {}
        files = []
        for name in ("system_prompt", "persona_script"):
            entry = model.get(name)
            if isinstance(entry, dict) and isinstance(entry.get("digest"), dict):
                files.append(
                    f"{name.replace('_', ' ')} {entry.get('path')} "
                    f"sha256:{entry['digest'].get('sha256', '')[:16]}..."
                )
            elif tool.card.get("kind") == "decoy_chatbot":
                missing.append(f"{tool.label} records no {name.replace('_', ' ')}")
        if not parameters:
            missing.append(f"{tool.label} records no decoding parameters")
        shown = ", ".join(f"{k}={v}" for k, v in sorted(parameters.items()))
        lines.append(
            f"{tool.label}: parameters {shown or 'none'}" + (f"; {'; '.join(files)}" if files else "")
        )
    entries = [tool.sequence for tool, _ in _model_tools(r)]
    if missing:
        return _missing("; ".join(lines) + ". Missing: " + "; ".join(missing) + ".", entries=entries)
    if not lines:
        return _computed("No tool that produced an exhibit declares a model: no prompt or parameters apply.")
    return _computed(
        "; ".join(lines)
        + ". The prompt and persona files are stored by digest with the tool card, signed at "
        "the tool.registered entries.",
        entries=entries,
    )


def _prov_4(r: _Records) -> Computed:
    lines, warnings, unread = [], [], []
    for conversation in r.conversations:
        transcript = conversation.transcript
        if transcript is None:
            unread.append(conversation.name)
            continue
        automated = [
            m
            for m in transcript.messages
            if m.authorship in (Authorship.MODEL, Authorship.MODEL_EDITED_BY_OPERATOR)
        ]
        with_context = sum(1 for m in automated if m.context_digest)
        calls = Counter(call.name for m in transcript.messages for call in m.tool_calls)
        lines.append(
            f"{conversation.name}: {with_context} of {len(automated)} model-drafted message(s) name the "
            f"digest of their model context; tool calls: "
            f"{', '.join(f'{n} x{c}' for n, c in sorted(calls.items())) or 'none'}"
        )
        if with_context < len(automated):
            warnings.append(
                f"{conversation.name}: {len(automated) - with_context} model message(s) "
                "without a context digest"
            )
    extracts = [rec for rec in r.exhibit_records() if (rec.kind or "").startswith("warc-")]
    if extracts:
        lines.append(f"{len(extracts)} web payload(s) extracted from WARC records with their linked requests")
    if unread:
        warnings.append(f"transcript bytes not available for {', '.join(unread)}")
    if not lines:
        return _computed("No model-generated output or platform capture with external inputs is recorded.")
    exhibits = [r.ex(c.record.provenance.digest) for c in r.conversations] + [
        r.ex(e.provenance.digest) for e in extracts
    ]
    return _computed("; ".join(lines) + ".", exhibits=exhibits, warnings=warnings)


def _prov_5(r: _Records) -> Computed:
    captured = [
        rec
        for rec in r.exhibit_records()
        if rec.provenance.origin is not Origin.GENERATED and not rec.provenance.derived_from
    ]
    if not captured:
        return _computed("No captured original is recorded.")
    without = [rec for rec in captured if not rec.provenance.source]
    raw = [rec for rec in captured if rec.kind in ("warc", "wacz")]
    described = [
        f"exhibit {r.ex(rec.provenance.digest)}: "
        + ", ".join(f"{k} {v}" for k, v in rec.provenance.source.to_dict().items())
        for rec in captured
        if rec.provenance.source
    ]
    answer = (
        f"{len(captured) - len(without)} of {len(captured)} captured original(s) name their source "
        f"({_listing(described)})."
    )
    answer += (
        f" Raw captures kept as WARC/WACZ: exhibit(s) {_numbers(r.exhibit_list(raw))}."
        if raw
        else " No raw WARC/API payload is recorded; captured pages and transcripts are kept byte for "
        "byte as captured."
    )
    if without:
        return _missing(
            answer + f" Missing: the source of exhibit(s) {_numbers(r.exhibit_list(without))}.",
            exhibits=r.exhibit_list(captured),
        )
    return _computed(answer, exhibits=r.exhibit_list(captured))


def _tool_facts(
    r: _Records, key: str, describe: Callable[[Mapping[str, Any]], str | None], what: str
) -> Computed:
    """REL-1/REL-2/REL-4: each tool that produced an exhibit, with ``describe``'s account of its card."""
    lines, missing, entries = [], [], []
    for (name, version), records in r.tools_used():
        tool = r.tools.get((name, version))
        exhibits = r.exhibit_list(records)
        told = describe(tool.card) if tool is not None else None
        if tool is not None:
            entries.append(tool.sequence)
        if told is None:
            missing.append(f"{name} {version} (exhibits {_numbers(exhibits)})")
        else:
            lines.append(f"{name} {version}: {told}")
    if not lines and not missing:
        return _computed("No artifact is recorded, so no tool is relied on.")
    answer = "; ".join(lines) + "." if lines else ""
    if missing:
        return _missing(
            f"{answer} Missing: {what} for {'; '.join(missing)}; answer with 'custody answer' or "
            "register a card "
            f"with {key}.".strip(),
            entries=entries,
        )
    return _computed(answer, entries=entries)


def _validation(card: Mapping[str, Any]) -> str | None:
    refs = [v for v in card.get("validation") or [] if isinstance(v, dict) and v.get("reference")]
    if not refs:
        return None
    return ", ".join(f"{v['reference']}" + (f" ({v['date']})" if v.get("date") else "") for v in refs)


def _metrics(card: Mapping[str, Any]) -> str | None:
    found = [
        f"{name} {value}"
        for v in card.get("validation") or []
        if isinstance(v, dict) and isinstance(v.get("metrics"), dict)
        for name, value in sorted(v["metrics"].items())
    ]
    return ", ".join(found) if found else None


def _sop(card: Mapping[str, Any]) -> str | None:
    sop = card.get("sop")
    return f"{sop}; version in use {card.get('version')} bound to its registered card" if sop else None


def _rel_5(r: _Records) -> Computed:
    tools = _model_tools(r)
    if not tools:
        return _computed("No tool that produced an exhibit declares a model; replay does not apply.")
    lines = [
        f"{tool.label}: "
        + ("replayable" if (tool.model or {}).get("replayable") else "not replayable")
        + f" (exhibits {_numbers(r.exhibit_list(records))})"
        for tool, records in tools
    ]
    return _computed(
        "; ".join(lines) + ". No replay run is recorded, so no replay could differ.",
        entries=[tool.sequence for tool, _ in tools],
    )


def _rel_6(r: _Records) -> Computed:
    lines, overlapping, entries = [], [], []
    for key, records in r.tools_used():
        tool = r.tools.get(key)
        if tool is None:
            continue
        times = [(rec.provenance.captured_at or rec.time)[:10] for rec in records]
        start, end = min(times), max(times)
        for issue in tool.entries("known_issues"):
            since, until = str(issue.get("from") or "")[:10], str(issue.get("to") or "")[:10]
            label = (
                f"{tool.label} {issue.get('id', '?')} ({since or '?'} to {until or 'open'}): "
                f"{str(issue.get('description')).rstrip('. ')}"
            )
            if (not since or since <= end) and (not until or until >= start):
                overlapping.append(f"{label}, during its capture window {start} to {end}")
                entries.append(tool.sequence)
            else:
                lines.append(label)
    answer = (
        f"Known issues overlapping the capture window: {_listing(overlapping)}."
        if overlapping
        else "No known issue of a tool overlaps its capture window."
    )
    if lines:
        answer += f" Outside the window: {_listing(lines)}."
    return _computed(answer, entries=entries, warnings=overlapping)


def _hil_of(records: Iterable[_Record]) -> HIL | None:
    levels = [rec.provenance.hil.level for rec in records]
    return max(levels, key=lambda level: level.rank) if levels else None


def _hum_1(r: _Records) -> Computed:
    records = r.exhibit_records()
    if not records:
        return _computed("No artifact is recorded.")
    by_level = Counter(rec.provenance.hil.level.value for rec in records)
    top = _hil_of(records)
    assert top is not None
    at_top = [rec for rec in records if rec.provenance.hil.level is top]
    functions: dict[str, str] = {}
    for rec in records:
        function = rec.provenance.hil.function.value
        level = rec.provenance.hil.level
        if function not in functions or level.rank > HIL(functions[function]).rank:
            functions[function] = level.value
    answer = (
        f"Most automated HIL relied on: {top.value} (exhibit(s) {_numbers(r.exhibit_list(at_top))}). "
        f"Exhibits by level: {', '.join(f'{k} {v}' for k, v in sorted(by_level.items()))}. "
        f"Most automated by function: {', '.join(f'{k} {v}' for k, v in sorted(functions.items()))}."
    )
    messages: Counter[str] = Counter()
    for conversation in r.conversations:
        if conversation.analysis is not None:
            messages.update({k: v for k, v in conversation.analysis.counts.by_hil.items() if v})
    top_message = None
    if messages:
        ranked = [HIL(level) for level in messages if level in HIL.__members__]
        top_message = max(ranked, key=lambda level: level.rank).value if ranked else None
        answer += (
            f" Decoy messages by level: {', '.join(f'{k} {v}' for k, v in sorted(messages.items()))}"
            + (f"; most automated message: {top_message}." if top_message else ".")
        )
    return _computed(
        answer,
        exhibits=r.exhibit_list(at_top),
        entries=[rec.sequence for rec in at_top],
        most_automated_hil=top.value,
        most_automated_message_hil=top_message,
        by_function=dict(sorted(functions.items())),
    )


def _hum_2(r: _Records) -> Computed:
    lines, missing, entries = [], [], []
    for run_id, run in sorted(r.runs.items()):
        started = run.get("started")
        if started is None:
            continue
        sequence, _, body = started
        entries.append(sequence)
        supervisor = body.get("supervisor")
        text = (
            f"run {run_id} (entry {sequence}, {body.get('hil_configured')}): operator {body.get('operator')}"
        )
        if supervisor:
            lines.append(f"{text}, supervised by {supervisor}")
        else:
            missing.append(f"run {run_id} names no supervisor")
            lines.append(text)
    humans = Counter(
        name
        for rec in r.exhibit_records()
        for name in (
            rec.provenance.hil.approved_by,
            rec.provenance.hil.supervised_by,
            rec.provenance.hil.reviewed_by,
        )
        if name
    )
    takeovers = [
        f"{c.name} seq {t.start_seq}-{t.end_seq}"
        for c in r.conversations
        if c.analysis
        for t in c.analysis.operator_takeovers
    ]
    answer = "; ".join(lines) + "." if lines else "No run is recorded."
    if humans:
        answer += (
            f" Humans named on the records: {', '.join(f'{n} ({c})' for n, c in sorted(humans.items()))}."
        )
    answer += (
        f" Interventions (operator takeovers): {', '.join(takeovers) if takeovers else 'none recorded'}."
    )
    if missing or (not lines and not humans):
        reason = "; ".join(missing) or "no supervisor or approving human is recorded"
        return _missing(answer + f" Missing: {reason}.", entries=entries)
    return _computed(answer, entries=entries)


def _hum_3(r: _Records) -> Computed:
    lines, unread = [], []
    for conversation in r.conversations:
        if conversation.analysis is None:
            unread.append(conversation.name)
            continue
        counts = conversation.analysis.counts.by_authorship
        lines.append(f"{conversation.name}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    if unread:
        return _missing(
            f"The analysis of {', '.join(unread)} is not available."
            + (f" {'; '.join(lines)}." if lines else "")
        )
    if not lines:
        return _computed(
            "No conversation transcript is recorded; every exhibit's authorship follows its origin and HIL."
        )
    exhibits = [r.ex(c.record.provenance.digest) for c in r.conversations]
    return _computed("Messages by authorship: " + "; ".join(lines) + ".", exhibits=exhibits)


def _hum_4(r: _Records) -> Computed:
    decisions = [
        rec
        for rec in r.exhibit_records()
        if rec.provenance.hil.function.value == "decide" and rec.kind != REDACTED_KIND
    ]
    if not decisions:
        return _missing(
            "The records hold no decision to escalate or report (no record with HIL function 'decide'); "
            "a named human must answer who decided, on what trigger."
        )
    lines = [
        f"exhibit {r.ex(rec.provenance.digest)} by {rec.provenance.operator} "
        f"({rec.provenance.hil.level.value})" + (f": {rec.provenance.note}" if rec.provenance.note else "")
        for rec in decisions
    ]
    return _computed("Decisions recorded: " + _listing(lines) + ".", exhibits=r.exhibit_list(decisions))


def _hum_5(r: _Records) -> Computed:
    by_run: dict[str, list[_Record]] = {}
    for rec in r.exhibit_records():
        if rec.provenance.run:
            by_run.setdefault(rec.provenance.run, []).append(rec)
    analyses = {c.record.provenance.digest: c.analysis for c in r.conversations}
    lines, mismatches, entries = [], [], []
    for run_id, run in sorted(r.runs.items()):
        if "started" not in run:
            continue
        sequence, _, body = run["started"]
        entries.append(sequence)
        configured = HIL(body.get("hil_configured", HIL.HIL0_MANUAL.value))
        records = by_run.get(run_id, [])
        levels = Counter(rec.provenance.hil.level.value for rec in records)
        messages: Counter[str] = Counter()
        for rec in records:
            analysis = analyses.get(rec.provenance.digest)
            if analysis is not None:
                messages.update(
                    {k: v for k, v in analysis.counts.by_hil.items() if v and k in HIL.__members__}
                )
        seen = {HIL(level) for level in (*levels, *messages)}
        observed = max(seen, key=lambda level: level.rank, default=None)
        line = f"run {run_id}: configured {configured.value}, records " + (
            ", ".join(f"{k} {v}" for k, v in sorted(levels.items())) or "none"
        )
        if messages:
            line += ", decoy messages " + ", ".join(f"{k} {v}" for k, v in sorted(messages.items()))
        lines.append(line)
        if observed is not None and observed.rank > configured.rank:
            mismatches.append(
                f"run {run_id} ran more automated ({observed.value}) than configured ({configured.value})"
            )
        lower = sorted(level.value for level in seen if level.rank < configured.rank)
        if lower:
            lines[-1] += f" ({', '.join(lower)}: below the configured level, a human acted)"
    outside = []
    for rec in r.exhibit_records():
        tool = r.tools.get((rec.provenance.tool.name, rec.provenance.tool.version))
        default = tool.card.get("default_hil") if tool else None
        if rec.provenance.run is None and default and rec.provenance.hil.level.value != default:
            outside.append(
                f"exhibit {r.ex(rec.provenance.digest)} {rec.provenance.hil.level.value} vs "
                f"{tool.label if tool else '?'} default {default}"
            )
    answer = ("; ".join(lines) + ". ") if lines else "No run is recorded. "
    answer += (
        "Configured and observed levels match."
        if not mismatches
        else "Mismatch: " + "; ".join(mismatches) + "."
    )
    if outside:
        answer += f" Records outside runs that differ from their tool's default level: {_listing(outside)}."
    return _computed(answer, entries=entries, warnings=mismatches)


def _comp_1(r: _Records) -> Computed:
    if not r.conversations:
        return _computed("No conversation transcript is recorded.")
    complete, flagged, warnings = [], [], []
    for conversation in r.conversations:
        details = conversation.record.provenance.details or {}
        findings = [f for f in details.get("findings") or [] if isinstance(f, dict)]
        if findings:
            described = "; ".join(
                f"line {f.get('line')} {f.get('kind')}: {f.get('message')}" for f in findings
            )
            flagged.append(
                f"{conversation.name} (exhibit {r.ex(conversation.record.provenance.digest)}): {described}"
            )
            warnings.append(f"{conversation.name}: {len(findings)} finding(s)")
        else:
            complete.append(conversation.name)
    answer = (
        f"{len(r.conversations)} transcript(s), each checked line by line at import (sequence, "
        "platform message "
        f"ids, times, edits and deletions recorded, never fixed). "
        + (f"Complete: {', '.join(complete)}. " if complete else "")
        + (f"Findings: {' | '.join(flagged)}." if flagged else "No gap, edit or deletion found.")
    )
    exhibits = [r.ex(c.record.provenance.digest) for c in r.conversations]
    return _computed(
        answer, exhibits=exhibits, entries=[c.record.sequence for c in r.conversations], warnings=warnings
    )


def _comp_2(r: _Records) -> Computed:
    by_run = Counter(rec.provenance.run for rec in r.exhibit_records() if rec.provenance.run)
    lines, unfinished, entries = [], [], []
    for run_id, run in sorted(r.runs.items()):
        started, ended = run.get("started"), run.get("ended")
        if started is None:
            continue
        entries.append(started[0])
        if ended is None:
            unfinished.append(f"run {run_id} (started at entry {started[0]}) has not ended")
        else:
            entries.append(ended[0])
        lines.append(f"run {run_id}: {by_run.get(run_id, 0)} exhibit(s)" + ("" if ended else ", not ended"))
    nowhere = [
        c.name
        for c in r.conversations
        if c.analysis is not None and all(m is None for m in c.analysis.first_mentions.values())
    ]
    outside = sum(1 for rec in r.exhibit_records() if not rec.provenance.run)
    answer = (
        ("; ".join(lines) + ". " if lines else "No run is recorded. ")
        + f"{outside} exhibit(s) were recorded outside runs. "
        + (f"Conversations that led nowhere are kept: {', '.join(nowhere)}." if nowhere else "")
    ).strip()
    if r.withheld:
        numbers = _numbers(w.exhibit or r.ex(w.sha256) for w in r.withheld)
        answer += f" Withheld from this disclosure (scheduled): exhibit(s) {numbers}."
    if unfinished:
        return _missing(
            answer + " Missing: " + "; ".join(unfinished) + " (its records may be incomplete).",
            entries=entries,
        )
    exhibits = [r.ex(c.record.provenance.digest) for c in r.conversations if c.name in nowhere]
    return _computed(answer, exhibits=exhibits, entries=entries)


TOPICS = ("payment", "sex", "age")


def _ent_1(r: _Records) -> Computed:
    if not r.conversations:
        return _computed(
            "No conversation transcript is recorded; nothing was raised in a decoy conversation."
        )
    lines, unread, warnings = [], [], []
    for conversation in r.conversations:
        analysis = conversation.analysis
        if analysis is None:
            unread.append(conversation.name)
            continue
        parts = []
        for topic in TOPICS:
            mention = analysis.first_mentions.get(topic)
            if mention is None:
                parts.append(f"{topic}: nobody")
                continue
            who = "the decoy" if mention.speaker is Speaker.DECOY else "the counterpart"
            parts.append(
                f'{topic}: {who} ({mention.authorship.value}) at seq {mention.seq}, "{mention.matched}"'
                + (", later deleted on the platform" if mention.deleted else "")
            )
            if mention.speaker is Speaker.DECOY:
                warnings.append(f"{conversation.name}: the decoy raised {topic} first (seq {mention.seq})")
        lines.append(f"{conversation.name}: " + "; ".join(parts))
    if unread:
        return _missing(
            f"The analysis of {', '.join(unread)} is not available, so no answer can be proposed."
        )
    exhibits = [r.ex(c.analysis_record.provenance.digest) for c in r.conversations if c.analysis_record]
    exhibits += [r.ex(c.record.provenance.digest) for c in r.conversations]
    entries = [c.analysis_record.sequence for c in r.conversations if c.analysis_record]
    return _computed(
        f"First mentions found by keyword analysis of {len(lines)} conversation(s): "
        + " | ".join(lines)
        + ".",
        status=Status.PROPOSED,
        exhibits=exhibits,
        entries=entries,
        warnings=warnings,
    )


def _ent_2(r: _Records) -> Computed:
    if not r.conversations:
        return _computed("No conversation transcript is recorded.")
    lines, unread = [], []
    totals: Counter[str] = Counter()
    for conversation in r.conversations:
        analysis = conversation.analysis
        if analysis is None:
            unread.append(conversation.name)
            continue
        silence = [e.seq for e in analysis.reengagements_after_silence]
        refusal = [e.seq for e in analysis.reengagements_after_refusal]
        totals.update(
            bot_initiated=len(analysis.bot_initiated_turns),
            after_silence=len(silence),
            after_refusal=len(refusal),
        )
        lines.append(
            f"{conversation.name}: bot-initiated turns {_seqs(analysis.bot_initiated_turns)}, "
            "re-engagements after "
            f"silence {_seqs(silence)}, after refusal {_seqs(refusal)}"
        )
    if unread:
        return _missing(f"The analysis of {', '.join(unread)} is not available.")
    exhibits = [r.ex(c.analysis_record.provenance.digest) for c in r.conversations if c.analysis_record]
    answer = (
        f"Across {len(lines)} conversation(s): {totals['bot_initiated']} bot-initiated turn(s), "
        f"{totals['after_silence']} re-engagement(s) after silence, {totals['after_refusal']} after refusal. "
        + " | ".join(lines)
        + "."
    )
    return _computed(answer, exhibits=exhibits, totals=dict(sorted(totals.items())))


def _seqs(values: Sequence[int]) -> str:
    return f"{len(values)} (seq {', '.join(map(str, values))})" if values else "0"


def _ent_3(r: _Records) -> Computed:
    case = r.case
    if not case:
        return _missing("The case.opened entry is not disclosed.")
    answer = (
        f"Authorisation: {case.get('authority') or 'not recorded'}. Legal basis: "
        f"{case.get('legal_basis') or 'not recorded'}. "
        f"Operator: {case.get('operator_type') or 'not recorded'}. "
        f"Jurisdictions: {', '.join(case.get('jurisdictions') or [])} "
        f"(entry 0, signed by {r.who(r.events[0].actor)})."
    )
    missing = [name for name in ("authority", "legal_basis", "operator_type") if not case.get(name)]
    if missing:
        return _missing(answer + f" Missing: {', '.join(m.replace('_', ' ') for m in missing)}.", entries=[0])
    return _computed(answer, entries=[0])


def _ent_4(r: _Records) -> Computed:
    personas = sorted(
        {
            f"{p.get('id')} version {p.get('version')}"
            for c in r.conversations
            if isinstance(p := (c.record.provenance.details or {}).get("persona"), dict)
        }
    )
    scripts = []
    entries = []
    for tool, _ in _model_tools(r):
        entry = (tool.model or {}).get("persona_script")
        if isinstance(entry, dict) and isinstance(entry.get("digest"), dict):
            scripts.append(
                f"{entry.get('path')} sha256:{str(entry['digest'].get('sha256'))[:16]}... ({tool.label})"
            )
            entries.append(tool.sequence)
    if not personas and not scripts:
        return _missing(
            "No persona is recorded; a named human must say what the persona claimed and why this target."
        )
    answer = (
        f"Persona(s): {', '.join(personas) or 'none named in transcripts'}; persona script(s): "
        f"{', '.join(scripts) or 'none recorded'} (what it claims is in the script). "
        "The records do not say why this target or venue was chosen: a named human must answer."
    )
    exhibits = [r.ex(c.record.provenance.digest) for c in r.conversations]
    return _missing(answer, exhibits=exhibits, entries=entries)


def _disc_1(r: _Records) -> Computed:
    lines = []
    for event in r.exports:
        bundle: Any = event.body.get("bundle") or {}
        withheld = event.body.get("withheld") or []
        reasons = "; ".join(
            f"exhibit {r.ex(str(w.get('sha256'))) or str(w.get('sha256'))[:12]} ({w.get('reason')})"
            for w in withheld
            if isinstance(w, dict)
        )
        lines.append(
            f"entry {event.sequence}, {event.time}: bundle {bundle.get('name')} to "
            f"{event.body.get('recipient') or 'recipient not named'} ({bundle.get('entries')} entries, "
            f"{bundle.get('artifacts')} artifacts; withheld: {reasons or 'nothing'}) by {r.who(event.actor)}"
        )
    answer = f"Earlier disclosures: {_listing(lines)}." if lines else "No earlier disclosure is recorded."
    if r.withheld:
        answer += (
            " This view withholds "
            + "; ".join(
                f"exhibit {w.exhibit or r.ex(w.sha256)} (entries {_numbers(w.records)}): {w.reason}"
                for w in r.withheld
            )
            + "."
        )
    elif r.withheld_entries:
        answer += f" This view withholds entries {_numbers(r.withheld_entries)}."
    else:
        answer += f" This view discloses all {r.size} ledger entries."
    return _computed(answer, entries=[e.sequence for e in r.exports])


def _priv_2(r: _Records) -> Computed:
    custodians = {r.events[0].actor} if r.events else set()
    accesses = []
    for event in r.accesses:
        artifact: Any = event.body.get("artifact") or {}
        accesses.append(
            f"entry {event.sequence}: {event.body.get('action')} of exhibit "
            f"{r.ex(str(artifact.get('sha256')))} by "
            f"{r.who(event.actor)}" + (f" ({event.body.get('purpose')})" if event.body.get("purpose") else "")
        )
    custodians.update(e.actor for e in r.acceptances)
    outsiders = [e.sequence for e in r.accesses if e.actor not in custodians]
    redactions = [rec for rec in r.exhibit_records() if rec.kind == REDACTED_KIND]
    redacted = [
        f"exhibit {r.ex(rec.provenance.digest)} redacts exhibit "
        f"{', '.join(str(r.ex(p)) for p in rec.provenance.derived_from)}: "
        f"{(rec.provenance.details or {}).get('reason')}"
        for rec in redactions
    ]
    answer = (
        f"Accesses to evidence bytes: {_listing(accesses) if accesses else 'none recorded'}. "
        f"Redactions: {_listing(redacted) if redacted else 'none recorded'}."
    )
    warnings = [f"entry {n}: access by a key that never held custody" for n in outsiders]
    return _computed(
        answer,
        exhibits=r.exhibit_list(redactions),
        entries=[e.sequence for e in r.accesses] + [rec.sequence for rec in redactions],
        warnings=warnings,
    )


_COMPUTATIONS: dict[str, Callable[[_Records], Computed]] = {
    "AUTH-1": _auth_1,
    "AUTH-2": _auth_2,
    "AUTH-3": _auth_3,
    "AUTH-4": _auth_4,
    "AUTH-5": _auth_5,
    "AUTH-6": _auth_6,
    "PROV-1": _prov_1,
    "PROV-2": _prov_2,
    "PROV-3": _prov_3,
    "PROV-4": _prov_4,
    "PROV-5": _prov_5,
    "REL-1": lambda r: _tool_facts(r, "validation", _validation, "validation references"),
    "REL-2": lambda r: _tool_facts(r, "validation metrics", _metrics, "measured error rates"),
    "REL-4": lambda r: _tool_facts(r, "sop", _sop, "an SOP reference"),
    "REL-5": _rel_5,
    "REL-6": _rel_6,
    "HUM-1": _hum_1,
    "HUM-2": _hum_2,
    "HUM-3": _hum_3,
    "HUM-4": _hum_4,
    "HUM-5": _hum_5,
    "COMP-1": _comp_1,
    "COMP-2": _comp_2,
    "ENT-1": _ent_1,
    "ENT-2": _ent_2,
    "ENT-3": _ent_3,
    "ENT-4": _ent_4,
    "DISC-1": _disc_1,
    "PRIV-2": _priv_2,
}


_AWAITING = Computed(
    Status.OPEN,
    "Not answered yet: a named human answers this question ('custody answer'); the answer is signed.",
)


def proposal_digest(text: str) -> str:
    """What a confirmation of an assisted answer cites: the SHA-256 of the proposal's UTF-8 text."""
    return sha256_hex(text.encode("utf-8"))


def _result(question: Question, computed: Computed | None, answers: Sequence[HumanAnswer]) -> QuestionResult:
    latest = answers[-1] if answers else None
    history = tuple(answers[:-1])
    if latest is None:
        if computed is None:
            return QuestionResult(question, Status.OPEN, None, None)
        return QuestionResult(question, computed.status, computed.answer, computed)
    if latest.confirms is not None and (
        computed is None
        or computed.status is not Status.PROPOSED
        or proposal_digest(computed.answer) != latest.confirms
    ):
        note = (
            f"the confirmation at entry {latest.entry} is for an earlier proposal; the analysis now proposes "
            "a different answer, which no human has confirmed"
        )
        status = computed.status if computed else Status.OPEN
        return QuestionResult(
            question, status, computed.answer if computed else None, computed, None, tuple(answers), (note,)
        )
    return QuestionResult(question, Status.ANSWERED, latest.text, computed, latest, history)


def evaluate(
    events: Sequence[CustodyEvent | None],
    question_set: QuestionSet,
    *,
    read_artifact: ArtifactReader,
    withheld: Sequence[WithheldExhibit] = (),
) -> Questionnaire:
    """Answer ``question_set`` from a case's ledger.

    Args:
        events: the case's events in sequence order; None where a bundle withheld an entry.
        question_set: the jurisdiction set to answer.
        read_artifact: an artifact's bytes by SHA-256, or None when not available. Only artifacts
            whose records are in ``events`` are asked for (analyses, transcripts).
        withheld: what a bundle withholds (its schedule), so that exhibit numbers stay those of
            the bundle and DISC-1 can say what is withheld and why.
    """
    records = _Records(events, read_artifact, withheld)
    applicable: dict[str, list[HumanAnswer]] = {}
    for answer in records.answers:
        if question_set.jurisdiction in answer.jurisdictions:
            applicable.setdefault(answer.question, []).append(answer)
    results = []
    for question in question_set.questions:
        compute = _COMPUTATIONS.get(question.id) if question.mode is not AnswerMode.MANUAL else None
        computed = compute(records) if compute is not None else _AWAITING
        results.append(_result(question, computed, applicable.get(question.id, [])))
    return Questionnaire(
        records.case_id,
        question_set,
        tuple(results),
        records.size,
        records.withheld_entries,
        tuple(records.problems),
    )


def case_jurisdictions(events: Sequence[CustodyEvent | None]) -> list[str]:
    """The jurisdiction codes the case's ``case.opened`` entry names."""
    for event in events:
        if event is not None and event.event_type == CASE_OPENED:
            codes = event.body.get("jurisdictions")
            return [c for c in codes if isinstance(c, str)] if isinstance(codes, list) else []
    return []


def question_sets_for(
    events: Sequence[CustodyEvent | None], jurisdictions: Sequence[str] | None = None
) -> list[QuestionSet]:
    """The question sets to answer: those named, else each of the case's jurisdictions that has one.

    Raises:
        NotFoundError: a named jurisdiction has no set, or the case has none with a set.
        PolicyError: a named jurisdiction is not one of the case's.
    """
    own = case_jurisdictions(events)
    if jurisdictions:
        codes = list(dict.fromkeys(code.strip().upper() for code in jurisdictions))
        foreign = [code for code in codes if code not in own]
        if foreign:
            raise PolicyError(
                f"the case is under {', '.join(own) or 'no jurisdiction'}, not {', '.join(foreign)}",
                hint="questions are answered for the jurisdictions the case was opened with",
            )
        return [load_question_set(code) for code in codes]
    sets = [load_question_set(code) for code in own if code in SET_FILES]
    if not sets:
        raise NotFoundError(
            f"none of the case's jurisdictions ({', '.join(own) or 'none'}) has a question set; "
            f"sets exist for {', '.join(SET_FILES)}"
        )
    return sets
