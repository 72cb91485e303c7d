"""Decoy-chatbot transcripts: the ``custody/transcript/v1`` JSON Lines format, parsed strictly.

A transcript is UTF-8 JSON Lines: line 1 is the conversation header, then message lines and the
edit/deletion events the platform reported, one JSON object per line (docs/transcript-format.md).

Invariants:
- Pure: ``parse_transcript`` takes bytes and a name and returns a ``Transcript`` or raises a
  ``FormatError`` whose message starts with ``"<name> line <n>: "`` (lines count from 1).
- What is malformed is an error. What is well formed but matters to a court (gaps in the message
  sequence, time running backwards, edits and deletions reported by the platform, decoy messages
  without a recorded human-involvement level) is a ``Finding``. Nothing is fixed, reordered or
  dropped: records stay in file order.
- Every record keeps the exact bytes of its line (without the terminating LF) and ``Transcript``
  keeps all of them in order: commitments (``custody.commitments``) are computed over those bytes,
  never over a re-serialisation.
- A message's origin follows from its speaker and authorship alone (``MessageOrigin``); a decoy
  message's HIL is a ``custody.models.HumanInvolvement``, so a level that needs a named human
  (approver, supervisor, reviewer) cannot exist without one.
- Optional fields are omitted, never ``null``. Unknown fields are errors, except vendor extensions
  whose names start with ``x_`` (kept in the line bytes, otherwise ignored).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from custody import fields
from custody.canonical import drop_none, parse_json_object
from custody.digests import check_sha256_hex, sha256_hex
from custody.errors import FormatError, NotFoundError
from custody.models import HIL, HILFunction, HumanInvolvement, Origin, check_slug, parse_enum
from custody.timeutil import parse_rfc3339

SCHEMA = "custody/transcript/v1"
MAX_LINE_BYTES = 1 << 20
"""Longest line accepted (1 MiB), LF excluded."""
MAX_LINES = 1_000_000
"""Most lines accepted in one transcript."""


class Speaker(StrEnum):
    DECOY = "decoy"
    COUNTERPART = "counterpart"


class Authorship(StrEnum):
    """Who wrote the words of a message."""

    MODEL = "model"
    TEMPLATE = "template"
    OPERATOR = "operator"
    MODEL_EDITED_BY_OPERATOR = "model_edited_by_operator"
    COUNTERPART = "counterpart"


DECOY_AUTHORSHIPS = frozenset(
    {Authorship.MODEL, Authorship.TEMPLATE, Authorship.OPERATOR, Authorship.MODEL_EDITED_BY_OPERATOR}
)
AUTOMATED_AUTHORSHIPS = frozenset(
    {Authorship.MODEL, Authorship.TEMPLATE, Authorship.MODEL_EDITED_BY_OPERATOR}
)
"""Decoy authorships where the system, not a human, produced the first draft."""


class MessageOrigin(StrEnum):
    """Where the words of one message came from (DOMAIN.md: captured vs generated)."""

    CAPTURED = "captured"
    GENERATED = "generated"
    HUMAN_AUTHORED = "human_authored"
    GENERATED_HUMAN_EDITED = "generated_human_edited"


_ORIGIN = {
    Authorship.COUNTERPART: MessageOrigin.CAPTURED,
    Authorship.MODEL: MessageOrigin.GENERATED,
    Authorship.TEMPLATE: MessageOrigin.GENERATED,
    Authorship.OPERATOR: MessageOrigin.HUMAN_AUTHORED,
    Authorship.MODEL_EDITED_BY_OPERATOR: MessageOrigin.GENERATED_HUMAN_EDITED,
}


class FindingKind(StrEnum):
    SEQ_GAP = "seq_gap"
    SEQ_OUT_OF_ORDER = "seq_out_of_order"
    TIME_BACKWARDS = "time_backwards"
    EDITED = "edited"
    DELETED = "deleted"
    DECOY_WITHOUT_HIL = "decoy_without_hil"
    HIL_AUTHORSHIP_MISMATCH = "hil_authorship_mismatch"
    ATTACHMENT_NOT_CAPTURED = "attachment_not_captured"
    NO_MESSAGES = "no_messages"


# --- the header ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counterpart:
    """The account the decoy talked to, as the platform names it."""

    account: str
    display_name: str | None = None

    def __post_init__(self) -> None:
        fields.text(self.account, "counterpart.account")
        fields.optional_text(self.display_name, "counterpart.display_name")

    def to_dict(self) -> dict[str, Any]:
        return drop_none({"account": self.account, "display_name": self.display_name})

    @classmethod
    def from_dict(cls, document: Any) -> Counterpart:
        document = fields.json_object(document, "counterpart")
        fields.check_fields(document, "counterpart", ("account",), ("display_name",))
        return cls(document["account"], document.get("display_name"))


@dataclass(frozen=True)
class PersonaRef:
    """The persona script the decoy played (its artifact is linked by the importer)."""

    id: str
    version: str

    def __post_init__(self) -> None:
        fields.text(self.id, "persona.id")
        fields.text(self.version, "persona.version")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version}

    @classmethod
    def from_dict(cls, document: Any) -> PersonaRef:
        document = fields.json_object(document, "persona")
        fields.check_fields(document, "persona", ("id", "version"), ())
        return cls(document["id"], document["version"])


@dataclass(frozen=True)
class TranscriptTool:
    """The tool that wrote the transcript: a registered tool's name and exact version."""

    name: str
    version: str

    def __post_init__(self) -> None:
        check_slug(self.name, what="tool.name")
        fields.text(self.version, "tool.version", limit=64)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version}

    @classmethod
    def from_dict(cls, document: Any) -> TranscriptTool:
        document = fields.json_object(document, "tool")
        fields.check_fields(document, "tool", ("name", "version"), ())
        return cls(document["name"], document["version"])


_HEADER_REQUIRED = ("type", "schema", "conversation_id", "platform", "counterpart", "persona", "tool")
_HEADER_OPTIONAL = ("run", "started_at")


@dataclass(frozen=True)
class ConversationHeader:
    """Line 1 of a transcript: which conversation, on which platform, with whom, by which tool."""

    conversation_id: str
    platform: str
    counterpart: Counterpart
    persona: PersonaRef
    tool: TranscriptTool
    run: str | None = None
    started_at: str | None = None
    line: bytes = field(default=b"", compare=False, repr=False)
    line_number: int = field(default=1, compare=False)

    def __post_init__(self) -> None:
        fields.text(self.conversation_id, "conversation_id")
        fields.text(self.platform, "platform")
        for name, kind in (("counterpart", Counterpart), ("persona", PersonaRef), ("tool", TranscriptTool)):
            if not isinstance(getattr(self, name), kind):
                raise FormatError(f"{name} must be a {kind.__name__}")
        fields.optional_text(self.run, "run")
        if self.started_at is not None:
            object.__setattr__(self, "started_at", fields.timestamp(self.started_at, "started_at")[0])

    @property
    def started_moment(self) -> datetime | None:
        return None if self.started_at is None else parse_rfc3339(self.started_at)

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "type": "conversation",
                "schema": SCHEMA,
                "conversation_id": self.conversation_id,
                "platform": self.platform,
                "counterpart": self.counterpart.to_dict(),
                "persona": self.persona.to_dict(),
                "run": self.run,
                "tool": self.tool.to_dict(),
                "started_at": self.started_at,
            }
        )

    @classmethod
    def from_dict(
        cls, document: Mapping[str, Any], *, line: bytes = b"", line_number: int = 1
    ) -> ConversationHeader:
        fields.check_fields(document, "the conversation header", _HEADER_REQUIRED, _HEADER_OPTIONAL)
        if document["type"] != "conversation":
            raise FormatError(f"the header's type must be 'conversation', got {document['type']!r}")
        if document["schema"] != SCHEMA:
            raise FormatError(f"schema must be {SCHEMA!r}, got {document['schema']!r}")
        return cls(
            conversation_id=document["conversation_id"],
            platform=document["platform"],
            counterpart=Counterpart.from_dict(document["counterpart"]),
            persona=PersonaRef.from_dict(document["persona"]),
            tool=TranscriptTool.from_dict(document["tool"]),
            run=document.get("run"),
            started_at=document.get("started_at"),
            line=line,
            line_number=line_number,
        )


# --- messages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRef:
    """The exact model snapshot behind a drafted message and a reference to its decoding
    parameters (recommended: ``sha256:<hex of the RFC 8785 bytes of the parameters>``)."""

    snapshot: str
    parameters_ref: str | None = None

    def __post_init__(self) -> None:
        fields.text(self.snapshot, "model.snapshot")
        fields.optional_text(self.parameters_ref, "model.parameters_ref")

    def to_dict(self) -> dict[str, Any]:
        return drop_none({"snapshot": self.snapshot, "parameters_ref": self.parameters_ref})

    @classmethod
    def from_dict(cls, document: Any) -> ModelRef:
        document = fields.json_object(document, "model")
        fields.check_fields(document, "model", ("snapshot",), ("parameters_ref",))
        return cls(document["snapshot"], document.get("parameters_ref"))


@dataclass(frozen=True)
class ToolCall:
    """An external call the model made while drafting (retrieval, platform API...).

    ``arguments`` is any JSON value as recorded; ``result_digest`` is the SHA-256 (hex) of the
    result fed back to the model."""

    name: str
    call_id: str | None = None
    arguments: Any = None
    result_digest: str | None = None

    def __post_init__(self) -> None:
        fields.text(self.name, "tool call name")
        fields.optional_text(self.call_id, "tool call id")
        if self.result_digest is not None:
            check_sha256_hex(self.result_digest, what="tool call result_digest")

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "name": self.name,
                "id": self.call_id,
                "arguments": self.arguments,
                "result_digest": self.result_digest,
            }
        )

    @classmethod
    def from_dict(cls, document: Any, *, what: str = "tool call") -> ToolCall:
        document = fields.json_object(document, what)
        fields.check_fields(document, what, ("name",), ("id", "arguments", "result_digest"))
        return cls(
            document["name"], document.get("id"), document.get("arguments"), document.get("result_digest")
        )


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message. ``sha256`` is the digest of the captured bytes; without it the
    attachment's content was not captured (a finding)."""

    sha256: str | None = None
    media_type: str | None = None
    name: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if self.sha256 is not None:
            check_sha256_hex(self.sha256, what="attachment sha256")
        if self.media_type is not None and "/" not in fields.text(self.media_type, "attachment media_type"):
            raise FormatError(f"attachment media_type must look like type/subtype, got {self.media_type!r}")
        fields.optional_text(self.name, "attachment name", limit=1024)
        fields.optional_text(self.url, "attachment url", limit=8192)
        if self.sha256 is None and self.url is None and self.name is None:
            raise FormatError("an attachment needs at least one of sha256, url or name")

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {"sha256": self.sha256, "media_type": self.media_type, "name": self.name, "url": self.url}
        )

    @classmethod
    def from_dict(cls, document: Any, *, what: str = "attachment") -> Attachment:
        document = fields.json_object(document, what)
        fields.check_fields(document, what, (), ("sha256", "media_type", "name", "url"))
        return cls(
            document.get("sha256"), document.get("media_type"), document.get("name"), document.get("url")
        )


_MESSAGE_REQUIRED = ("type", "seq", "platform_message_id", "time", "speaker", "authorship", "text")
_MESSAGE_OPTIONAL = ("model", "context_digest", "tool_calls", "hil", "attachments")


@dataclass(frozen=True)
class Message:
    """One message of the conversation, as the tool recorded it when it was sent or received."""

    seq: int
    platform_message_id: str
    time: str
    speaker: Speaker
    authorship: Authorship
    text: str
    model: ModelRef | None = None
    context_digest: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    hil: HumanInvolvement | None = None
    attachments: tuple[Attachment, ...] = ()
    line: bytes = field(default=b"", compare=False, repr=False)
    line_number: int = field(default=0, compare=False)
    moment: datetime = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        fields.whole_number(self.seq, "seq", minimum=1)
        fields.text(self.platform_message_id, "platform_message_id")
        time, moment = fields.timestamp(self.time, "time")
        object.__setattr__(self, "time", time)
        object.__setattr__(self, "moment", moment)
        object.__setattr__(self, "speaker", parse_enum(Speaker, self.speaker, what="speaker"))
        object.__setattr__(self, "authorship", parse_enum(Authorship, self.authorship, what="authorship"))
        fields.text(self.text, "text", limit=None, allow_empty=True)
        if self.context_digest is not None:
            check_sha256_hex(self.context_digest, what="context_digest")
        object.__setattr__(self, "tool_calls", tuple(self.tool_calls))
        object.__setattr__(self, "attachments", tuple(self.attachments))
        if self.speaker is Speaker.COUNTERPART:
            if self.authorship is not Authorship.COUNTERPART:
                raise FormatError(
                    f"a counterpart message's authorship must be 'counterpart', got {self.authorship.value!r}"
                )
            drafted = [
                name
                for name, present in (
                    ("model", self.model),
                    ("context_digest", self.context_digest),
                    ("tool_calls", self.tool_calls),
                    ("hil", self.hil),
                )
                if present
            ]
            if drafted:
                raise FormatError(
                    f"{', '.join(repr(n) for n in drafted)} only appl{'ies' if len(drafted) == 1 else 'y'} "
                    "to decoy messages; this message's speaker is 'counterpart'"
                )
        elif self.authorship not in DECOY_AUTHORSHIPS:
            choices = ", ".join(sorted(a.value for a in DECOY_AUTHORSHIPS))
            raise FormatError(
                f"a decoy message's authorship must be one of {choices}; got {self.authorship.value!r}"
            )

    @property
    def origin(self) -> MessageOrigin:
        return _ORIGIN[self.authorship]

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "type": "message",
                "seq": self.seq,
                "platform_message_id": self.platform_message_id,
                "time": self.time,
                "speaker": self.speaker.value,
                "authorship": self.authorship.value,
                "text": self.text,
                "model": self.model.to_dict() if self.model else None,
                "context_digest": self.context_digest,
                "tool_calls": [c.to_dict() for c in self.tool_calls] or None,
                "hil": self.hil.to_dict() if self.hil else None,
                "attachments": [a.to_dict() for a in self.attachments] or None,
            }
        )

    @classmethod
    def from_dict(cls, document: Mapping[str, Any], *, line: bytes = b"", line_number: int = 0) -> Message:
        fields.check_fields(document, "a message", _MESSAGE_REQUIRED, _MESSAGE_OPTIONAL)
        tool_calls = fields.json_array(document.get("tool_calls", []), "tool_calls")
        attachments = fields.json_array(document.get("attachments", []), "attachments")
        return cls(
            seq=fields.whole_number(document["seq"], "seq", minimum=1),
            platform_message_id=document["platform_message_id"],
            time=document["time"],
            speaker=document["speaker"],
            authorship=document["authorship"],
            text=document["text"],
            model=ModelRef.from_dict(document["model"]) if "model" in document else None,
            context_digest=document.get("context_digest"),
            tool_calls=tuple(
                ToolCall.from_dict(c, what=f"tool_calls[{i}]") for i, c in enumerate(tool_calls)
            ),
            hil=(
                fields.hil_from_dict(document["hil"], default_function=HILFunction.ACT)
                if "hil" in document
                else None
            ),
            attachments=tuple(
                Attachment.from_dict(a, what=f"attachments[{i}]") for i, a in enumerate(attachments)
            ),
            line=line,
            line_number=line_number,
        )


# --- platform-reported events -------------------------------------------------------------------


@dataclass(frozen=True)
class EditEvent:
    """The platform reported that message ``target_seq`` was edited; ``new_text`` is its new text.
    The message line keeps the text as first captured."""

    target_seq: int
    time: str
    new_text: str
    line: bytes = field(default=b"", compare=False, repr=False)
    line_number: int = field(default=0, compare=False)
    moment: datetime = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        fields.whole_number(self.target_seq, "target_seq", minimum=1)
        time, moment = fields.timestamp(self.time, "time")
        object.__setattr__(self, "time", time)
        object.__setattr__(self, "moment", moment)
        fields.text(self.new_text, "new_text", limit=None, allow_empty=True)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "edit", "target_seq": self.target_seq, "time": self.time, "new_text": self.new_text}

    @classmethod
    def from_dict(cls, document: Mapping[str, Any], *, line: bytes = b"", line_number: int = 0) -> EditEvent:
        fields.check_fields(document, "an edit event", ("type", "target_seq", "time", "new_text"), ())
        return cls(
            fields.whole_number(document["target_seq"], "target_seq", minimum=1),
            document["time"],
            document["new_text"],
            line=line,
            line_number=line_number,
        )


@dataclass(frozen=True)
class DeletionEvent:
    """The platform reported that message ``target_seq`` was deleted (``by`` whom, if it says).
    The message line keeps the text as captured before the deletion."""

    target_seq: int
    time: str
    by: str | None = None
    line: bytes = field(default=b"", compare=False, repr=False)
    line_number: int = field(default=0, compare=False)
    moment: datetime = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        fields.whole_number(self.target_seq, "target_seq", minimum=1)
        time, moment = fields.timestamp(self.time, "time")
        object.__setattr__(self, "time", time)
        object.__setattr__(self, "moment", moment)
        fields.optional_text(self.by, "by")

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {"type": "deletion", "target_seq": self.target_seq, "time": self.time, "by": self.by}
        )

    @classmethod
    def from_dict(
        cls, document: Mapping[str, Any], *, line: bytes = b"", line_number: int = 0
    ) -> DeletionEvent:
        fields.check_fields(document, "a deletion event", ("type", "target_seq", "time"), ("by",))
        return cls(
            fields.whole_number(document["target_seq"], "target_seq", minimum=1),
            document["time"],
            document.get("by"),
            line=line,
            line_number=line_number,
        )


Event = EditEvent | DeletionEvent
Record = ConversationHeader | Message | EditEvent | DeletionEvent
"""What one transcript line holds."""

_RECORD_TYPES: dict[str, Any] = {
    "conversation": ConversationHeader,
    "message": Message,
    "edit": EditEvent,
    "deletion": DeletionEvent,
}


# --- findings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """Something well formed but worth a court's attention, at a line of the transcript."""

    kind: FindingKind
    line: int
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", parse_enum(FindingKind, self.kind, what="finding kind"))
        if isinstance(self.line, bool) or not isinstance(self.line, int) or self.line < 1:
            raise FormatError(f"finding line must be a line number (1 or more), got {self.line!r}")
        fields.text(self.message, "finding message", limit=4096)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "line": self.line, "message": self.message}

    @classmethod
    def from_dict(cls, document: Any) -> Finding:
        document = fields.json_object(document, "finding")
        fields.check_fields(document, "finding", ("kind", "line", "message"), ())
        return cls(document["kind"], document["line"], document["message"])

    def __str__(self) -> str:
        return f"line {self.line}: {self.kind.value}: {self.message}"


# --- the transcript -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Transcript:
    """A parsed transcript: its records in file order, the exact line bytes and the findings."""

    name: str
    header: ConversationHeader
    messages: tuple[Message, ...]
    events: tuple[Event, ...]
    findings: tuple[Finding, ...]
    records: tuple[Record, ...]
    """Every line's record in file order; ``records[i]`` is line ``i + 1``."""
    lines: tuple[bytes, ...]
    """Every line's exact bytes (without the LF) in file order; what commitments are over."""
    sha256: str
    """SHA-256 (hex) of the whole transcript file: the artifact digest."""
    size: int
    final_newline: bool
    """Whether the file ends with LF; with ``lines`` it rebuilds the file byte for byte."""

    def message(self, seq: int) -> Message:
        """The message with sequence number ``seq``.

        Raises:
            NotFoundError: no message has that seq.
        """
        for message in self.messages:
            if message.seq == seq:
                return message
        raise NotFoundError(f"{self.name}: no message has seq {seq}")

    @property
    def artifact_origin(self) -> Origin:
        """The transcript's origin as an artifact: captured, generated, or mixed if it holds both
        the counterpart's captured words and the decoy side's."""
        speakers = {m.speaker for m in self.messages}
        if speakers == {Speaker.COUNTERPART}:
            return Origin.CAPTURED
        if speakers == {Speaker.DECOY}:
            return Origin.GENERATED
        return Origin.MIXED

    def to_bytes(self) -> bytes:
        """The file rebuilt from its lines: exactly the bytes that were parsed."""
        return b"\n".join(self.lines) + (b"\n" if self.final_newline else b"")


def _load_object(line: bytes, *, name: str, line_number: int) -> dict[str, Any]:
    where = f"{name} line {line_number}"
    if len(line) > MAX_LINE_BYTES:
        raise FormatError(f"{where}: the line is {len(line)} bytes long; the limit is {MAX_LINE_BYTES}")
    if not line.strip():
        raise FormatError(f"{where}: blank line; JSON Lines holds exactly one JSON object per line")
    try:
        document = parse_json_object(line, what="the line")
    except FormatError as exc:
        raise FormatError(f"{where}: {exc.message}") from exc
    kind = document.get("type")
    if not isinstance(kind, str) or kind not in _RECORD_TYPES:
        choices = ", ".join(repr(t) for t in _RECORD_TYPES)
        raise FormatError(f"{where}: unknown line type {kind!r}; expected one of {choices}")
    return document


def _build_record(document: Mapping[str, Any], line: bytes, *, name: str, line_number: int) -> Record:
    kind: Any = _RECORD_TYPES[document["type"]]
    try:
        record: Record = kind.from_dict(document, line=line, line_number=line_number)
    except FormatError as exc:
        raise FormatError(f"{name} line {line_number}: {exc.message}") from exc
    return record


def parse_record(line: bytes, *, name: str, line_number: int) -> Record:
    """Parse one transcript line on its own (no sequence checks), e.g. a line shown in a redacted
    transcript.

    Raises:
        FormatError: starting with ``"<name> line <line_number>: "``.
    """
    document = _load_object(line, name=name, line_number=line_number)
    return _build_record(document, line, name=name, line_number=line_number)


def _range_text(first: int, last: int) -> str:
    return f"message {first} missing" if first == last else f"messages {first}-{last} missing"


class _Checker:
    """Sequence checks across lines: errors for contradictions, findings for the rest."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.findings: list[Finding] = []
        self.seq_lines: dict[int, int] = {}
        self.id_lines: dict[str, int] = {}
        self.messages: dict[int, Message] = {}
        self.last: Message | None = None
        self.max_seq = 0

    def fail(self, line_number: int, message: str) -> FormatError:
        return FormatError(f"{self.name} line {line_number}: {message}")

    def note(self, kind: FindingKind, line_number: int, message: str) -> None:
        self.findings.append(Finding(kind, line_number, message))

    def message(self, message: Message, header: ConversationHeader) -> None:
        n = message.line_number
        if message.seq in self.seq_lines:
            raise self.fail(n, f"duplicate seq {message.seq}: line {self.seq_lines[message.seq]} has it too")
        if message.platform_message_id in self.id_lines:
            raise self.fail(
                n,
                f"duplicate platform_message_id {message.platform_message_id!r}: "
                f"line {self.id_lines[message.platform_message_id]} has it too",
            )
        self.seq_lines[message.seq] = n
        self.id_lines[message.platform_message_id] = n
        self.messages[message.seq] = message
        if message.seq < self.max_seq:
            self.note(
                FindingKind.SEQ_OUT_OF_ORDER,
                n,
                f"seq {message.seq} comes after seq {self.max_seq} (line {self.seq_lines[self.max_seq]})",
            )
        self.max_seq = max(self.max_seq, message.seq)
        previous = self.last
        if previous is not None and message.moment < previous.moment:
            self.note(
                FindingKind.TIME_BACKWARDS,
                n,
                f"time runs backwards: seq {message.seq} at {message.time} is earlier than seq "
                f"{previous.seq} at {previous.time} (line {previous.line_number})",
            )
        elif (
            header.started_at is not None
            and previous is None
            and message.moment < parse_rfc3339(header.started_at)
        ):
            self.note(
                FindingKind.TIME_BACKWARDS,
                n,
                f"time runs backwards: seq {message.seq} at {message.time} is earlier than the "
                f"conversation's started_at {header.started_at} (line {header.line_number})",
            )
        self.last = message
        self._hil(message)
        for index, attachment in enumerate(message.attachments):
            if attachment.sha256 is None:
                self.note(
                    FindingKind.ATTACHMENT_NOT_CAPTURED,
                    n,
                    f"attachment {index} of seq {message.seq} ({attachment.name or attachment.url}) "
                    "has no sha256: its content was not captured",
                )

    def _hil(self, message: Message) -> None:
        if message.speaker is not Speaker.DECOY:
            return
        n, hil = message.line_number, message.hil
        if hil is None:
            self.note(
                FindingKind.DECOY_WITHOUT_HIL,
                n,
                f"decoy message seq {message.seq} has no hil: how far a human was involved is not recorded",
            )
            return
        if message.authorship is Authorship.OPERATOR and hil.level.rank > HIL.HIL1_ASSISTED.rank:
            self.note(
                FindingKind.HIL_AUTHORSHIP_MISMATCH,
                n,
                f"seq {message.seq} was written by the operator but its hil level is {hil.level.value} "
                "(a human-written message is HIL0_MANUAL or HIL1_ASSISTED)",
            )
        elif message.authorship is not Authorship.OPERATOR and hil.level is HIL.HIL0_MANUAL:
            self.note(
                FindingKind.HIL_AUTHORSHIP_MISMATCH,
                n,
                f"seq {message.seq} has authorship {message.authorship.value!r} but hil level HIL0_MANUAL "
                "(which means a human wrote it)",
            )

    def event(self, event: Event) -> None:
        n = event.line_number
        what = "an edit" if isinstance(event, EditEvent) else "a deletion"
        target = self.messages.get(event.target_seq)
        if target is None:
            raise self.fail(
                n, f"{what} of seq {event.target_seq}, but no message with that seq comes before this line"
            )
        about = f"message seq {target.seq} (line {target.line_number})"
        if isinstance(event, EditEvent):
            self.note(
                FindingKind.EDITED,
                n,
                f"the platform reports that {about} was edited at {event.time}; the message line keeps "
                "the text as first captured and this line holds the new text",
            )
        else:
            by = f" by {event.by}" if event.by else ""
            self.note(
                FindingKind.DELETED,
                n,
                f"the platform reports that {about} was deleted{by} at {event.time}; the text captured "
                "before the deletion is kept",
            )
        if event.moment < target.moment:
            self.note(
                FindingKind.TIME_BACKWARDS,
                n,
                f"time runs backwards: {what} at {event.time} is earlier than the {about} it concerns, "
                f"at {target.time}",
            )

    def gaps(self) -> None:
        expected = 1
        previous: int | None = None
        for seq in sorted(self.seq_lines):
            if seq > expected:
                if previous is None:
                    detail = f"the first seq is {seq}"
                else:
                    detail = f"seq jumps from {previous} to {seq}"
                self.note(
                    FindingKind.SEQ_GAP, self.seq_lines[seq], f"{_range_text(expected, seq - 1)}: {detail}"
                )
            expected = seq + 1
            previous = seq


def parse_transcript(data: bytes, *, name: str) -> Transcript:
    """Parse and check a ``custody/transcript/v1`` transcript.

    Args:
        data: the file's exact bytes.
        name: names the input in errors and findings (usually the file name).

    Returns:
        The transcript, with findings for gaps, backward times, edits, deletions and missing HIL.

    Raises:
        FormatError: the message starts with ``"<name> line <n>: "``: invalid UTF-8 or JSON,
            an unknown line type, a missing/unknown/mistyped field, a bad enum value, a HIL level
            without its named human, a header that is missing, repeated or not first, a duplicate
            seq or platform_message_id (naming both lines), an edit or deletion of a seq not seen
            before it, an empty transcript, a line over 1 MiB or more than 1,000,000 lines.
    """
    if not isinstance(data, bytes):
        raise TypeError(f"transcript data must be bytes, got {type(data).__name__}")
    if not data:
        raise FormatError(f"{name} line 1: the transcript is empty; expected the conversation header")
    # Count before splitting, so a file of millions of empty lines is refused without a huge list.
    newlines = data.count(b"\n")
    final_newline = data.endswith(b"\n")
    line_count = newlines if final_newline else newlines + 1
    if line_count > MAX_LINES:
        raise FormatError(f"{name} line {MAX_LINES + 1}: the transcript has more than {MAX_LINES} lines")
    raw_lines = data.split(b"\n")
    if final_newline:
        raw_lines.pop()

    checker = _Checker(name)
    header: ConversationHeader | None = None
    records: list[Record] = []
    messages: list[Message] = []
    events: list[Event] = []
    for index, line in enumerate(raw_lines):
        n = index + 1
        document = _load_object(line, name=name, line_number=n)
        kind = document["type"]
        if n == 1 and kind != "conversation":
            raise checker.fail(
                1,
                f"the first line must be the conversation header (type 'conversation'), got a {kind!r} line",
            )
        if n > 1 and kind == "conversation":
            raise checker.fail(n, "a second conversation header; the header is line 1 and only line 1")
        record = _build_record(document, line, name=name, line_number=n)
        records.append(record)
        if isinstance(record, ConversationHeader):
            header = record
        elif isinstance(record, Message):
            assert header is not None
            checker.message(record, header)
            messages.append(record)
        else:
            checker.event(record)
            events.append(record)
    assert header is not None
    if not messages:
        checker.note(FindingKind.NO_MESSAGES, 1, "the transcript has a header but no messages")
    checker.gaps()
    findings = sorted(checker.findings, key=lambda f: f.line)
    return Transcript(
        name=name,
        header=header,
        messages=tuple(messages),
        events=tuple(events),
        findings=tuple(findings),
        records=tuple(records),
        lines=tuple(raw_lines),
        sha256=sha256_hex(data),
        size=len(data),
        final_newline=final_newline,
    )
