"""What the PDF dossier says, computed from the contents of a disclosure bag alone.

``build_dossier_model`` reads a bag through ``custody.bundle_verify.BagSource`` (the verified bag
of ``custody dossier BUNDLE.zip``, or the staged payload while ``custody.bundle`` exports) and
returns a ``DossierModel``: plain value objects that ``custody.dossier_render`` lays out. Nothing
here touches the database, the clock or the file system.

Invariants:
- Every fact comes from the bag: the signed ledger entries (``data/ledger/entries.jsonl``), the
  exhibit index, the schedule of withheld material, the keys, and the bytes of the transcripts,
  redacted transcripts and analyses. Tool and model facts come from the signed
  ``tool.registered`` entries.
- Every file read is checked against its digest in the payload manifest as it is read, so the
  dossier shows the bytes that were verified, even if the bag changes after verification.
- Only transcripts, redacted transcripts and analyses are read into memory, one at a time and
  each at most ``MAX_LAID_OUT_BYTES``; other artifacts (captures, screenshots) are never read.
- Dates are the ledger's signed times; there is no wall-clock time anywhere in the model.
- The questionnaire is recomputed from the bag's signed entries by ``custody.questionnaire``
  (see ``questionnaires_of``), never taken from the bag's own ``data/questionnaire.json``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from custody.analysis import Analysis
from custody.bag import PAYLOAD_MANIFEST, parse_manifest
from custody.bundle_layout import CHECKPOINT, ENTRIES, EXHIBITS, KEYS_INDEX, WITHHELD, artifact_path
from custody.bundle_questionnaire import MAX_ARTIFACT_READ, bag_questionnaires
from custody.bundle_verify import BagSource
from custody.canonical import parse_json_object
from custody.checkpoint import _unverified_checkpoint
from custody.commitments import REDACTED_KIND, RedactedTranscript, ShownEntry
from custody.disclosure import WithheldEntry, parse_ledger_lines
from custody.errors import CustodyError, FormatError, IntegrityError, NotFoundError
from custody.events import (
    ARTIFACT_DERIVED,
    ARTIFACT_RECORDED,
    CASE_OPENED,
    CASE_SEALED,
    CUSTODY_ACCEPTED,
    CUSTODY_RELEASED,
    RUN_STARTED,
    TOOL_REGISTERED,
    CustodyEvent,
    _unverified_event,
)
from custody.keys import fingerprint
from custody.models import HIL, Provenance
from custody.transcript import DeletionEvent, EditEvent, Message, parse_record, parse_transcript

DOSSIER = "data/dossier.pdf"
TRANSCRIPT_MEDIA_TYPE = "application/vnd.custody.transcript+jsonl"
ANALYSIS_KIND = "transcript-analysis"
MAX_LAID_OUT_BYTES = 8 * 1024 * 1024
"""Largest transcript or analysis laid out in the dossier (a larger one is listed, not shown)."""
FINGERPRINT_RECIPE = f"grep -v ' {DOSSIER}$' {PAYLOAD_MANIFEST} | sha256sum"


def bundle_fingerprint(payload_manifest: bytes) -> str:
    """SHA-256 of ``manifest-sha256.txt`` without its ``data/dossier.pdf`` line.

    The dossier is itself in the payload manifest, so it cannot print the digest of a manifest
    that lists it; this is the fingerprint of everything else in the payload, and what
    ``FINGERPRINT_RECIPE`` computes by hand."""
    suffix = f" {DOSSIER}\n".encode()
    kept = [line for line in payload_manifest.splitlines(keepends=True) if not line.endswith(suffix)]
    return hashlib.sha256(b"".join(kept)).hexdigest()


# --- value objects --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyView:
    name: str
    role: str
    key_id: str
    fingerprint: str
    introduced_at: int | None
    revoked_at: int | None = None


@dataclass(frozen=True)
class CaseView:
    case_id: str
    title: str
    jurisdictions: tuple[str, ...]
    authority: str
    legal_basis: str
    operator_type: str
    opened_at: str
    opened_by: str
    sealed_at: str | None


@dataclass(frozen=True)
class BundleView:
    top: str
    entries: int
    withheld_entries: int
    checkpoint_root: str
    checkpoint_origin: str
    log_key: KeyView | None
    fingerprint: str
    exporter: KeyView | None
    as_of: str
    """Time of the last disclosed entry: the moment the disclosed record ends."""
    tag_manifest_sha256: str | None = None
    """Only when rendered from a finished bundle (``custody dossier``)."""
    recipient: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    provider: str
    model_id: str
    snapshot: str
    replayable: bool | None
    parameters: Mapping[str, Any]
    weights_sha256: str | None
    system_prompt_sha256: str | None
    persona_script_sha256: str | None


@dataclass(frozen=True)
class ToolInfo:
    name: str
    version: str
    kind: str
    card_sha256: str
    build_hash: str | None
    config_sha256: str | None
    vendor: str | None
    sop: str | None
    validation: tuple[str, ...]
    known_issues: tuple[str, ...]
    model: ModelInfo | None
    registered_at: int | None


@dataclass(frozen=True)
class RecordView:
    """One signed entry recording an exhibit."""

    sequence: int
    event_type: str
    time: str
    signer: str
    role: str


@dataclass(frozen=True)
class ChainStep:
    exhibit: int | None
    sha256: str
    name: str | None
    transformation: str | None


@dataclass(frozen=True)
class ExhibitView:
    number: int
    sha256: str
    name: str
    media_type: str
    size: int | None
    kind: str
    origin: str
    role: str
    hil: str
    hil_function: str
    humans: tuple[tuple[str, str], ...]  # ("approved by", "ana")
    tool: ToolInfo | None
    tool_label: str
    model_label: str
    operator: str
    captured_at: str | None
    records: tuple[RecordView, ...]
    chain: tuple[ChainStep, ...]  # from this exhibit's parents up to the originals
    transformation: str | None
    source: Mapping[str, str]
    run: str | None
    note: str | None
    findings: tuple[str, ...]
    prompt_sha256: str | None
    persona_sha256: str | None
    withheld: str | None = None  # the reason, for an exhibit withheld from the bundle


@dataclass(frozen=True)
class MessageView:
    seq: int
    time: str
    speaker: str
    authorship: str
    origin: str
    hil: str | None
    hil_humans: str | None
    text: str | None  # None: redacted
    redaction_reason: str | None = None
    model_snapshot: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TranscriptView:
    exhibit: int
    sha256: str
    name: str
    conversation_id: str
    platform: str
    counterpart: str
    persona: str
    redacted: bool
    messages: tuple[MessageView, ...]
    withheld_lines: int
    redaction_reason: str | None
    findings: tuple[str, ...]
    note: str | None = None  # why it is not laid out (too large, unreadable)


@dataclass(frozen=True)
class MentionView:
    topic: str
    speaker: str | None
    seq: int | None
    matched: str | None
    count_decoy: int
    count_counterpart: int


@dataclass(frozen=True)
class ConductView:
    exhibit: int  # the analysis
    transcript_exhibit: int | None
    conversation_id: str
    label: str
    mentions: tuple[MentionView, ...]
    bot_initiated_turns: int
    reengagements_after_silence: int
    reengagements_after_refusal: int
    refusals: int
    operator_takeovers: int
    most_automated_hil: str | None


@dataclass(frozen=True)
class EventView:
    sequence: int
    time: str
    event_type: str
    actor: str
    summary: str


@dataclass(frozen=True)
class CustodySpan:
    custodian: str
    start: str
    end: str | None  # None: still the custodian when the record ends


@dataclass(frozen=True)
class RunView:
    run_id: str
    tool: str
    configured: str | None
    observed: str | None
    supervisor: str | None

    @property
    def mismatch(self) -> bool:
        return bool(self.configured and self.observed and _rank(self.observed) > _rank(self.configured))


@dataclass(frozen=True)
class WithheldView:
    what: str  # "exhibit" or "transcript lines"
    exhibit: int | None
    sha256: str
    detail: str
    reason: str


@dataclass(frozen=True)
class QuestionView:
    id: str
    group: str
    text: str
    rules: tuple[str, ...]
    mode: str
    status: str
    answer: str | None
    evidence_exhibits: tuple[str, ...]
    evidence_entries: tuple[str, ...]
    answered_by: str | None  # the person's name and key id, as the dossier shows them
    answered_at: str | None
    entry: int | None = None  # the answer.recorded entry
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuestionnaireView:
    jurisdiction: str
    title: str
    answered: int
    total: int
    questions: tuple[QuestionView, ...]


@dataclass(frozen=True)
class DossierModel:
    case: CaseView
    bundle: BundleView
    exhibits: tuple[ExhibitView, ...]
    transcripts: tuple[TranscriptView, ...]
    conduct: tuple[ConductView, ...]
    events: tuple[EventView, ...]  # custody events (not artifact records)
    events_total: int
    custody: tuple[CustodySpan, ...]
    event_times: tuple[tuple[str, str, str], ...]  # (time, actor name, event type) of every entry
    runs: tuple[RunView, ...]
    messages_by_hil: Mapping[str, int]
    exhibits_by_hil: Mapping[str, int]
    most_automated: str | None
    withheld: tuple[WithheldView, ...]
    questionnaires: tuple[QuestionnaireView, ...]
    keys: tuple[KeyView, ...]
    tools: tuple[ToolInfo, ...] = field(default=())

    @property
    def readiness(self) -> tuple[int, int] | None:
        """(answered, total) over every jurisdiction's questions; None if none was evaluated."""
        if not self.questionnaires:
            return None
        return sum(q.answered for q in self.questionnaires), sum(q.total for q in self.questionnaires)

    @property
    def custodian(self) -> str | None:
        return self.custody[-1].custodian if self.custody else None


# --- building ---------------------------------------------------------------------------------


class _Reader:
    """Reads bag files, checking each against its payload-manifest digest."""

    def __init__(self, bag: BagSource, manifest: Mapping[str, str]) -> None:
        self.bag = bag
        self.manifest = manifest

    def read(self, path: str, *, limit: int = 1 << 34) -> bytes:
        data = self.bag.read(path, limit=limit)
        expected = self.manifest.get(path)
        if expected is None or hashlib.sha256(data).hexdigest() != expected:
            raise IntegrityError(
                f"{self.bag.name}: {path} does not match its manifest digest "
                f"{(expected or 'none')[:16]}... (changed since it was verified?)"
            )
        return data

    def has(self, path: str) -> bool:
        return path in self.bag.sizes and path in self.manifest


def build_dossier_model(
    bag: BagSource,
    *,
    payload_manifest: bytes,
    tag_manifest_sha256: str | None = None,
    recipient: str | None = None,
    jurisdiction: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> DossierModel:
    """The dossier of the bag ``bag``, whose payload manifest is ``payload_manifest``.

    Raises:
        FormatError: a file the dossier needs is missing or malformed.
        IntegrityError: a file read does not match its manifest digest.
    """
    say = progress or (lambda _text: None)
    reader = _Reader(bag, parse_manifest(payload_manifest, name=PAYLOAD_MANIFEST))
    lines = parse_ledger_lines(reader.read(ENTRIES), name=f"{bag.name}: {ENTRIES}")
    events: list[CustodyEvent | None] = [
        None if isinstance(line, WithheldEntry) else _unverified_event(line, what=f"entry {n}")[1]
        for n, line in enumerate(lines)
    ]
    say(f"read {len(lines)} ledger entries")
    disclosed = [event for event in events if event is not None]
    if not disclosed or disclosed[0].event_type != CASE_OPENED:
        raise FormatError(f"{bag.name}: {ENTRIES} does not start with the case.opened entry")
    index = _json(reader, EXHIBITS).get("exhibits")
    if not isinstance(index, list):
        raise FormatError(f"{bag.name}: {EXHIBITS} holds no exhibit list")
    keys_doc = _json(reader, KEYS_INDEX)
    keys = _keys(keys_doc)
    names = {key.key_id: key for key in keys}
    tools = _tools(disclosed)
    case = _case(disclosed)
    _, checkpoint = _unverified_checkpoint(reader.read(CHECKPOINT, limit=1 << 20))
    log = _obj(keys_doc.get("log"))
    log_key = (
        KeyView("log", "log key", str(log.get("key_id")), str(log.get("fingerprint")), None)
        if log.get("key_id")
        else None
    )
    bundle = BundleView(
        top=bag.top,
        entries=len(lines),
        withheld_entries=sum(1 for line in lines if isinstance(line, WithheldEntry)),
        checkpoint_root=checkpoint.root_hash.hex(),
        checkpoint_origin=checkpoint.origin,
        log_key=log_key,
        fingerprint=bundle_fingerprint(payload_manifest),
        exporter=names.get(str(keys_doc.get("exporter"))),
        as_of=disclosed[-1].time,
        tag_manifest_sha256=tag_manifest_sha256,
        recipient=recipient,
    )
    records = _records_by_digest(disclosed)
    exhibits = _exhibits(index, records, tools, names)
    say(f"described {len(exhibits)} exhibits")
    by_digest = {exhibit.sha256: exhibit for exhibit in exhibits}
    transcripts, conduct = _conversations(reader, exhibits, records, by_digest, say)
    messages_by_hil = {level.value: 0 for level in HIL} | {"none": 0}
    for transcript in transcripts:
        for message in transcript.messages:
            if message.speaker == "decoy":
                messages_by_hil[message.hil or "none"] += 1
    exhibits_by_hil = {level.value: 0 for level in HIL}
    for exhibit in exhibits:
        if exhibit.withheld is None and exhibit.hil in exhibits_by_hil:
            exhibits_by_hil[exhibit.hil] += 1
    relied = [e.hil for e in exhibits if e.withheld is None and e.hil in exhibits_by_hil]
    relied += [m.hil for t in transcripts for m in t.messages if m.hil]
    withheld = _withheld(reader, transcripts)
    return DossierModel(
        case=case,
        bundle=bundle,
        exhibits=tuple(exhibits),
        transcripts=tuple(transcripts),
        conduct=tuple(conduct),
        events=tuple(_custody_events(disclosed, names)),
        events_total=len(lines),
        custody=tuple(_custody_spans(disclosed, names)),
        event_times=tuple((e.time, _name(names, e.actor), e.event_type) for e in disclosed),
        runs=tuple(_runs(disclosed, exhibits, transcripts, names)),
        messages_by_hil=messages_by_hil,
        exhibits_by_hil=exhibits_by_hil,
        most_automated=max(relied, key=_rank) if relied else None,
        withheld=tuple(withheld),
        questionnaires=tuple(questionnaires_of(events, index, reader, jurisdiction)),
        keys=tuple(keys),
        tools=tuple(tools.values()),
    )


def questionnaires_of(
    events: Sequence[CustodyEvent | None],
    index: Sequence[Any],
    reader: _Reader,
    jurisdiction: str | None = None,
) -> list[QuestionnaireView]:
    """The admissibility questionnaire, one per jurisdiction of the case (or the one named),
    evaluated by ``custody.questionnaire`` over exactly what the bag discloses: its entries, its
    withheld schedule and the artifacts it carries (each read checked against the manifest). The
    bag's own ``data/questionnaire.json`` is not trusted for this: it is recomputed. A case with no
    question set for its jurisdictions has no questionnaire (the cover says so)."""
    try:
        questionnaires = bag_questionnaires(
            events,
            index,
            _json(reader, WITHHELD),
            read=lambda inner: reader.read(inner, limit=MAX_ARTIFACT_READ),
            has=reader.has,
            jurisdictions=[jurisdiction] if jurisdiction else None,
        )
    except NotFoundError:
        return []
    return [questionnaire_view(q.to_dict()) for q in questionnaires]


def questionnaire_view(document: Any) -> QuestionnaireView:
    """A ``Questionnaire.to_dict()`` document as the dossier shows it."""
    if not isinstance(document, dict) or not isinstance(document.get("questions"), list):
        raise FormatError("a questionnaire must be an object with a list of questions")
    questions = []
    for item in document["questions"]:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise FormatError("every question of a questionnaire needs an id")
        evidence = _obj(item.get("evidence"))
        questions.append(
            QuestionView(
                id=item["id"],
                group=str(item.get("group") or ""),
                text=str(item.get("text") or ""),
                rules=tuple(str(rule) for rule in item.get("rules") or ()),
                mode=str(item.get("mode") or ""),
                status=str(item.get("status") or "open"),
                answer=None if item.get("answer") is None else str(item["answer"]),
                evidence_exhibits=tuple(str(x) for x in evidence.get("exhibits") or ()),
                evidence_entries=tuple(str(x) for x in evidence.get("entries") or ()),
                answered_by=_answerer(item.get("answered_by"), item.get("answered_by_name")),
                answered_at=None if item.get("answered_at") is None else str(item["answered_at"]),
                entry=item["entry"] if isinstance(item.get("entry"), int) else None,
                warnings=tuple(str(w) for w in item.get("warnings") or ()),
            )
        )
    answered = sum(1 for q in questions if q.status == "answered")
    return QuestionnaireView(
        jurisdiction=str(document.get("jurisdiction") or ""),
        title=str(document.get("title") or ""),
        answered=int(document.get("answered", answered)),
        total=int(document.get("total", len(questions))),
        questions=tuple(questions),
    )


def _answerer(key_id: Any, name: Any) -> str | None:
    """Who answered: "cole (key 2c414426...)" when the name is known, else the key id."""
    if key_id is None:
        return None
    return f"{name} (key {str(key_id)[:16]}...)" if name else str(key_id)


def _json(reader: _Reader, path: str) -> dict[str, Any]:
    return parse_json_object(reader.read(path, limit=64 * 1024 * 1024), what=f"{reader.bag.name}: {path}")


def _rank(level: str) -> int:
    try:
        return HIL(level).rank
    except ValueError:
        return -1


def _name(names: Mapping[str, KeyView], key_id: str) -> str:
    key = names.get(key_id)
    return key.name if key else f"key {key_id[:12]}"


def _keys(document: Mapping[str, Any]) -> list[KeyView]:
    keys = []
    for item in document.get("keys") or ():
        if isinstance(item, dict) and isinstance(item.get("key_id"), str):
            keys.append(
                KeyView(
                    name=str(item.get("name")),
                    role=str(item.get("role")),
                    key_id=item["key_id"],
                    fingerprint=fingerprint(item["key_id"]),
                    introduced_at=item.get("introduced_at"),
                    revoked_at=item.get("revoked_at"),
                )
            )
    return keys


def _case(events: Sequence[CustodyEvent]) -> CaseView:
    opened = events[0]
    body = opened.body
    sealed = next((e.time for e in events if e.event_type == CASE_SEALED), None)
    opener = _obj(body.get("opened_by"))
    return CaseView(
        case_id=opened.case_id,
        title=str(body.get("title") or ""),
        jurisdictions=tuple(str(j) for j in body.get("jurisdictions") or ()),
        authority=str(body.get("authority") or ""),
        legal_basis=str(body.get("legal_basis") or ""),
        operator_type=str(body.get("operator_type") or ""),
        opened_at=opened.time,
        opened_by=str(opener.get("name") or opened.actor[:12]),
        sealed_at=sealed,
    )


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _digest_of(value: Any) -> str | None:
    if isinstance(value, dict):
        digest = value.get("digest", value)
        if isinstance(digest, dict) and isinstance(digest.get("sha256"), str):
            return str(digest["sha256"])
    return None


def _issue(item: Mapping[str, Any]) -> str:
    parts = [str(item.get(k)) for k in ("id", "reference", "description") if item.get(k)]
    when = "-".join(str(item[k]) for k in ("from", "to", "date") if item.get(k))
    metrics = item.get("metrics")
    if isinstance(metrics, dict):
        parts.append(", ".join(f"{k} {v}" for k, v in sorted(metrics.items())))
    return " ".join(parts) + (f" ({when})" if when else "")


def _tools(events: Sequence[CustodyEvent]) -> dict[str, ToolInfo]:
    """Tools by card digest, from the signed ``tool.registered`` entries."""
    tools: dict[str, ToolInfo] = {}
    for event in events:
        if event.event_type != TOOL_REGISTERED:
            continue
        card = event.body.get("tool")
        digest = _digest_of(event.body.get("card"))
        if not isinstance(card, dict) or digest is None or digest in tools:
            continue
        model = card.get("model") if isinstance(card.get("model"), dict) else None
        tools[digest] = ToolInfo(
            name=str(card.get("name")),
            version=str(card.get("version")),
            kind=str(card.get("kind") or ""),
            card_sha256=digest,
            build_hash=_text_or_none(card.get("build_hash")),
            config_sha256=_digest_of(card.get("config_digest")),
            vendor=_text_or_none(card.get("vendor")),
            sop=_text_or_none(card.get("sop")),
            validation=tuple(_issue(v) for v in card.get("validation") or () if isinstance(v, dict)),
            known_issues=tuple(_issue(k) for k in card.get("known_issues") or () if isinstance(k, dict)),
            model=None
            if model is None
            else ModelInfo(
                provider=str(model.get("provider") or ""),
                model_id=str(model.get("model_id") or ""),
                snapshot=str(model.get("snapshot") or ""),
                replayable=model.get("replayable") if isinstance(model.get("replayable"), bool) else None,
                parameters=dict(model.get("parameters") or {}),
                weights_sha256=_digest_of(model.get("weights_digest")),
                system_prompt_sha256=_digest_of(model.get("system_prompt")),
                persona_script_sha256=_digest_of(model.get("persona_script")),
            ),
            registered_at=event.sequence,
        )
    return tools


def _records_by_digest(events: Sequence[CustodyEvent]) -> dict[str, list[tuple[CustodyEvent, Provenance]]]:
    records: dict[str, list[tuple[CustodyEvent, Provenance]]] = {}
    for event in events:
        if event.event_type in (ARTIFACT_RECORDED, ARTIFACT_DERIVED):
            try:
                provenance = Provenance.from_dict(event.body)
            except CustodyError:
                continue  # the verifier reports it; the dossier shows what the index says
            records.setdefault(provenance.digest, []).append((event, provenance))
    return records


_KINDS = {
    "transcript": "decoy conversation",
    "transcript-analysis": "conduct analysis",
    REDACTED_KIND: "redacted conversation",
}


def _kind(provenance: Provenance | None, media_type: str, tool: ToolInfo | None) -> str:
    details = provenance.details or {} if provenance else {}
    kind = details.get("kind")
    if isinstance(kind, str):
        return _KINDS.get(kind, kind.replace("-", " "))
    if provenance is not None and provenance.transformation:
        return f"{tool.kind if tool else 'derivative'}".replace("_", " ")
    major = media_type.split("/", 1)[0]
    if media_type in ("text/html", "application/xhtml+xml"):
        return "web page"
    return {"image": "image", "text": "text", "video": "video", "audio": "audio"}.get(major, media_type)


def _exhibits(
    index: Sequence[Any],
    records: Mapping[str, list[tuple[CustodyEvent, Provenance]]],
    tools: Mapping[str, ToolInfo],
    names: Mapping[str, KeyView],
) -> list[ExhibitView]:
    numbers = {
        str(item.get("sha256")): int(item.get("exhibit", 0)) for item in index if isinstance(item, dict)
    }
    first: dict[str, Provenance] = {digest: found[0][1] for digest, found in records.items()}
    exhibits = []
    for item in index:
        if not isinstance(item, dict):
            continue
        digest = str(item.get("sha256"))
        found = records.get(digest, [])
        provenance = first.get(digest)
        if provenance is None:
            exhibits.append(_withheld_exhibit(item, digest))
            continue
        tool = tools.get(provenance.tool.card_digest)
        details = provenance.details or {}
        model = tool.model if tool else None
        hil = provenance.hil
        humans = tuple(
            (label, value)
            for label, value in (
                ("approved by", hil.approved_by),
                ("supervised by", hil.supervised_by),
                ("reviewed by", hil.reviewed_by),
            )
            if value
        )
        findings = tuple(str(f.get("message")) for f in details.get("findings") or () if isinstance(f, dict))
        exhibits.append(
            ExhibitView(
                number=numbers.get(digest, 0),
                sha256=digest,
                name=provenance.name or digest[:16],
                media_type=provenance.media_type,
                size=provenance.size,
                kind=_kind(provenance, provenance.media_type, tool),
                origin=provenance.origin.value,
                role=provenance.role.value,
                hil=hil.level.value,
                hil_function=hil.function.value,
                humans=humans,
                tool=tool,
                tool_label=f"{provenance.tool.name} {provenance.tool.version}",
                model_label=model.snapshot if model else "",
                operator=provenance.operator,
                captured_at=provenance.captured_at,
                records=tuple(
                    RecordView(
                        event.sequence,
                        event.event_type,
                        event.time,
                        _name(names, event.actor),
                        names[event.actor].role if event.actor in names else "?",
                    )
                    for event, _ in found
                ),
                chain=tuple(_chain(provenance, first, numbers)),
                transformation=provenance.transformation,
                source=provenance.source.to_dict(),
                run=provenance.run,
                note=provenance.note,
                findings=findings,
                prompt_sha256=_digest_of(details.get("system_prompt"))
                or (model.system_prompt_sha256 if model else None),
                persona_sha256=_digest_of(details.get("persona_script"))
                or (model.persona_script_sha256 if model else None),
            )
        )
    return exhibits


def _withheld_exhibit(item: Mapping[str, Any], digest: str) -> ExhibitView:
    reason = str(item.get("withheld") or "withheld")
    return ExhibitView(
        number=int(item.get("exhibit", 0)),
        sha256=digest,
        name="(withheld)",
        media_type="",
        size=None,
        kind="withheld",
        origin="",
        role="",
        hil="",
        hil_function="",
        humans=(),
        tool=None,
        tool_label="",
        model_label="",
        operator="",
        captured_at=None,
        records=(),
        chain=(),
        transformation=None,
        source={},
        run=None,
        note=None,
        findings=(),
        prompt_sha256=None,
        persona_sha256=None,
        withheld=reason,
    )


def _chain(
    provenance: Provenance, first: Mapping[str, Provenance], numbers: Mapping[str, int]
) -> list[ChainStep]:
    """The derivation chain: each parent, then its parents, up to the originals (breadth first,
    each digest once, so a cycle or a shared ancestor cannot loop)."""
    steps: list[ChainStep] = []
    seen = {provenance.digest}
    pending = list(provenance.derived_from)
    transformation = provenance.transformation
    while pending and len(steps) < 50:
        digest = pending.pop(0)
        if digest in seen:
            continue
        seen.add(digest)
        parent = first.get(digest)
        steps.append(ChainStep(numbers.get(digest), digest, parent.name if parent else None, transformation))
        if parent is not None:
            pending.extend(parent.derived_from)
            transformation = parent.transformation
    return steps


def _conversations(
    reader: _Reader,
    exhibits: Sequence[ExhibitView],
    records: Mapping[str, list[tuple[CustodyEvent, Provenance]]],
    by_digest: Mapping[str, ExhibitView],
    say: Callable[[str], None],
) -> tuple[list[TranscriptView], list[ConductView]]:
    transcripts: list[TranscriptView] = []
    conduct: list[ConductView] = []
    roots: dict[str, Provenance] = {}
    for exhibit in exhibits:
        if exhibit.withheld is not None:
            continue
        provenance = records[exhibit.sha256][0][1]
        kind = (provenance.details or {}).get("kind")
        path = artifact_path(exhibit.sha256, provenance.name)
        if not reader.has(path):
            continue
        if (reader.bag.sizes.get(path) or 0) > MAX_LAID_OUT_BYTES:
            if kind in ("transcript", REDACTED_KIND):
                transcripts.append(_unshown(exhibit, provenance, "too large to lay out here"))
            continue
        if kind == "transcript" or provenance.media_type == TRANSCRIPT_MEDIA_TYPE:
            roots[exhibit.sha256] = provenance
            transcripts.append(_transcript(exhibit, provenance, reader.read(path)))
        elif kind == REDACTED_KIND:
            transcripts.append(_redacted(exhibit, provenance, reader.read(path)))
        elif kind == ANALYSIS_KIND:
            view = _conduct(exhibit, reader.read(path), by_digest)
            if view is not None:
                conduct.append(view)
    if transcripts or conduct:
        say(f"laid out {len(transcripts)} conversations and {len(conduct)} analyses")
    return transcripts, conduct


def _hil_humans(message: Message) -> str | None:
    if message.hil is None:
        return None
    who = [
        f"{label} {value}"
        for label, value in (
            ("approved by", message.hil.approved_by),
            ("supervised by", message.hil.supervised_by),
            ("reviewed by", message.hil.reviewed_by),
        )
        if value
    ]
    return ", ".join(who) or None


def _message_view(message: Message, notes: Mapping[int, list[str]]) -> MessageView:
    return MessageView(
        seq=message.seq,
        time=message.time,
        speaker=message.speaker.value,
        authorship=message.authorship.value,
        origin=message.origin.value,
        hil=message.hil.level.value if message.hil else None,
        hil_humans=_hil_humans(message),
        text=message.text,
        model_snapshot=message.model.snapshot if message.model else None,
        notes=tuple(notes.get(message.seq, ())),
    )


def _event_notes(records: Sequence[object]) -> dict[int, list[str]]:
    notes: dict[int, list[str]] = {}
    for record in records:
        if isinstance(record, EditEvent):
            notes.setdefault(record.target_seq, []).append(
                f"edited on the platform at {record.time}; new text: {record.new_text}"
            )
        elif isinstance(record, DeletionEvent):
            notes.setdefault(record.target_seq, []).append(
                f"deleted on the platform at {record.time}; the text captured before is shown"
            )
    return notes


def _header_facts(header: Any) -> tuple[str, str, str, str]:
    counterpart = header.counterpart.account + (
        f" ({header.counterpart.display_name})" if header.counterpart.display_name else ""
    )
    return (
        header.conversation_id,
        header.platform,
        counterpart,
        f"{header.persona.id} v{header.persona.version}",
    )


def _unshown(exhibit: ExhibitView, provenance: Provenance, why: str) -> TranscriptView:
    return TranscriptView(
        exhibit=exhibit.number,
        sha256=exhibit.sha256,
        name=exhibit.name,
        conversation_id=str((provenance.details or {}).get("conversation_id") or ""),
        platform="",
        counterpart="",
        persona="",
        redacted=(provenance.details or {}).get("kind") == REDACTED_KIND,
        messages=(),
        withheld_lines=0,
        redaction_reason=None,
        findings=(),
        note=why,
    )


def _transcript(exhibit: ExhibitView, provenance: Provenance, data: bytes) -> TranscriptView:
    try:
        transcript = parse_transcript(data, name=exhibit.name)
    except FormatError as exc:
        return _unshown(exhibit, provenance, f"cannot be laid out: {exc.message}")
    conversation, platform, counterpart, persona = _header_facts(transcript.header)
    notes = _event_notes(transcript.records)
    return TranscriptView(
        exhibit=exhibit.number,
        sha256=exhibit.sha256,
        name=exhibit.name,
        conversation_id=conversation,
        platform=platform,
        counterpart=counterpart,
        persona=persona,
        redacted=False,
        messages=tuple(_message_view(m, notes) for m in transcript.messages),
        withheld_lines=0,
        redaction_reason=None,
        findings=tuple(str(f) for f in transcript.findings),
    )


def _redacted(exhibit: ExhibitView, provenance: Provenance, data: bytes) -> TranscriptView:
    """A redacted copy: shown messages with their text, withheld lines as redactions (their
    position from the commitment order; their seq is not disclosed)."""
    try:
        document = RedactedTranscript.unverified_from_bytes(data, what=exhibit.name)
        parsed: list[object] = []
        header = None
        items: list[tuple[int, object]] = []
        for position, entry in enumerate(document.entries):
            if isinstance(entry, ShownEntry):
                record = parse_record(entry.line, name=exhibit.name, line_number=position + 1)
                parsed.append(record)
                if position == 0:
                    header = record
                else:
                    items.append((position, record))
            else:
                items.append((position, entry))
    except FormatError as exc:
        return _unshown(exhibit, provenance, f"cannot be laid out: {exc.message}")
    notes = _event_notes(parsed)
    messages: list[MessageView] = []
    withheld = 0
    reasons: set[str] = set()
    for position, item in items:
        if isinstance(item, Message):
            messages.append(_message_view(item, notes))
        elif isinstance(item, (EditEvent, DeletionEvent)):
            continue
        elif not isinstance(item, ShownEntry) and hasattr(item, "reason"):
            withheld += 1
            reasons.add(str(item.reason))
            messages.append(
                MessageView(
                    seq=0,
                    time="",
                    speaker="",
                    authorship="",
                    origin="",
                    hil=None,
                    hil_humans=None,
                    text=None,
                    redaction_reason=f"transcript line {position + 1}: {item.reason}",
                )
            )
    facts = (
        _header_facts(header)
        if header is not None and hasattr(header, "counterpart")
        else (str((provenance.details or {}).get("conversation_id") or ""), "", "(header withheld)", "")
    )
    return TranscriptView(
        exhibit=exhibit.number,
        sha256=exhibit.sha256,
        name=exhibit.name,
        conversation_id=facts[0],
        platform=facts[1],
        counterpart=facts[2],
        persona=facts[3],
        redacted=True,
        messages=tuple(messages),
        withheld_lines=withheld,
        redaction_reason="; ".join(sorted(reasons)) or None,
        findings=(),
    )


def _conduct(exhibit: ExhibitView, data: bytes, by_digest: Mapping[str, ExhibitView]) -> ConductView | None:
    try:
        analysis = Analysis.from_dict(parse_json_object(data, what=exhibit.name))
    except (FormatError, KeyError, TypeError):
        return None
    transcript = by_digest.get(analysis.transcript_sha256)
    mentions = []
    for topic in sorted(analysis.first_mentions):
        first = analysis.first_mentions[topic]
        counts = analysis.mention_counts.get(topic, {})
        mentions.append(
            MentionView(
                topic=topic,
                speaker=first.speaker.value if first else None,
                seq=first.seq if first else None,
                matched=first.matched if first else None,
                count_decoy=int(counts.get("decoy", 0)),
                count_counterpart=int(counts.get("counterpart", 0)),
            )
        )
    return ConductView(
        exhibit=exhibit.number,
        transcript_exhibit=transcript.number if transcript else None,
        conversation_id=analysis.conversation_id,
        label=analysis.label,
        mentions=tuple(mentions),
        bot_initiated_turns=len(analysis.bot_initiated_turns),
        reengagements_after_silence=len(analysis.reengagements_after_silence),
        reengagements_after_refusal=len(analysis.reengagements_after_refusal),
        refusals=len(analysis.refusals),
        operator_takeovers=len(analysis.operator_takeovers),
        most_automated_hil=analysis.most_automated_hil.value if analysis.most_automated_hil else None,
    )


def _summary(event: CustodyEvent, names: Mapping[str, KeyView]) -> str:  # noqa: PLR0911 - one line per type
    body = event.body
    if event.event_type == CASE_OPENED:
        return f"case opened: {body.get('title', '')}"
    if event.event_type == CUSTODY_RELEASED:
        to = _obj(body.get("to"))
        return f"custody released to {to.get('name')} ({to.get('role')}): {body.get('reason', '')}"
    if event.event_type == CUSTODY_ACCEPTED:
        release = _obj(body.get("release"))
        return f"custody accepted (release entry {release.get('sequence')})"
    if event.event_type == RUN_STARTED:
        run = _obj(body.get("run"))
        tool = _obj(run.get("tool"))
        return (
            f"run {run.get('id')} of {tool.get('name')} started, configured {run.get('hil_configured')}, "
            f"supervisor {run.get('supervisor') or 'none'}"
        )
    key = body.get("key") if isinstance(body.get("key"), dict) else None
    if key is not None:
        return f"key {key.get('name') or str(key.get('key_id'))[:12]} ({key.get('role', '')})"
    card = _obj(body.get("tool"))
    if event.event_type == TOOL_REGISTERED and card:
        return f"tool {card.get('name')} {card.get('version')} ({card.get('kind')})"
    names_of = ", ".join(subject.name for subject in event.subjects[:3])
    return names_of + (" ..." if len(event.subjects) > 3 else "")


def _custody_events(events: Sequence[CustodyEvent], names: Mapping[str, KeyView]) -> list[EventView]:
    return [
        EventView(e.sequence, e.time, e.event_type, _name(names, e.actor), _summary(e, names))
        for e in events
        if e.event_type not in (ARTIFACT_RECORDED, ARTIFACT_DERIVED)
    ]


def _custody_spans(events: Sequence[CustodyEvent], names: Mapping[str, KeyView]) -> list[CustodySpan]:
    """Who held custody when: the case's opener, then each key that accepted a release."""
    spans: list[CustodySpan] = []
    holder = _name(names, events[0].actor)
    start = events[0].time
    for event in events:
        if event.event_type == CUSTODY_ACCEPTED:
            spans.append(CustodySpan(holder, start, event.time))
            holder, start = _name(names, event.actor), event.time
    spans.append(CustodySpan(holder, start, None))
    return spans


def _runs(
    events: Sequence[CustodyEvent],
    exhibits: Sequence[ExhibitView],
    transcripts: Sequence[TranscriptView],
    names: Mapping[str, KeyView],
) -> list[RunView]:
    """Each run's configured HIL level beside the most automated level its records show."""
    levels: dict[str, list[str]] = {}
    transcript_levels = {t.exhibit: [m.hil for m in t.messages if m.hil] for t in transcripts}
    for exhibit in exhibits:
        if exhibit.run:
            levels.setdefault(exhibit.run, []).append(exhibit.hil)
            levels[exhibit.run].extend(level for level in transcript_levels.get(exhibit.number, ()) if level)
    runs = []
    for event in events:
        run = event.body.get("run") if event.event_type == RUN_STARTED else None
        if not isinstance(run, dict) or not isinstance(run.get("id"), str):
            continue
        tool = _obj(run.get("tool"))
        observed = levels.get(run["id"], [])
        runs.append(
            RunView(
                run_id=run["id"],
                tool=f"{tool.get('name')} {tool.get('version')}",
                configured=_text_or_none(run.get("hil_configured")),
                observed=max(observed, key=_rank) if observed else None,
                supervisor=_text_or_none(run.get("supervisor")),
            )
        )
    return runs


def _withheld(reader: _Reader, transcripts: Sequence[TranscriptView]) -> list[WithheldView]:
    """The schedule of withheld material: artifacts withheld from the bundle (``withheld.json``)
    and lines withheld from redacted transcripts."""
    document = _json(reader, WITHHELD)
    schedule = []
    for item in document.get("withheld") or ():
        if not isinstance(item, dict):
            continue
        entries = ", ".join(str(n) for n in item.get("entries") or ())
        schedule.append(
            WithheldView(
                what="exhibit",
                exhibit=item.get("exhibit"),
                sha256=str(item.get("sha256")),
                detail=f"bytes and ledger entries {entries} (leaf hashes shown in the ledger)",
                reason=str(item.get("reason")),
            )
        )
    for transcript in transcripts:
        if transcript.redacted and transcript.withheld_lines:
            schedule.append(
                WithheldView(
                    what="transcript lines",
                    exhibit=transcript.exhibit,
                    sha256=transcript.sha256,
                    detail=f"{transcript.withheld_lines} line(s) of a redacted conversation "
                    "(salted commitments shown)",
                    reason=transcript.redaction_reason or "",
                )
            )
    return schedule
