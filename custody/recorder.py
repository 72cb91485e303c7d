"""The recorder API: tools record what they capture and produce as they run.

    with Workspace.open(path) as ws:
        with ws.run("OP-1", "lantern-decoy@2.3.1", operator="ana", actor="decoy-svc") as run:
            run.record(Path("ad.html"), source=Source(url="https://..."))
            run.conversation("conv-1", platform="classifieds", counterpart="user_7781",
                             persona=("ava-v3", "3"))
            run.message("conv-1", speaker="counterpart", text="hi", platform_message_id="m-1")
            run.message("conv-1", speaker="decoy", authorship="model", text="Hello.",
                        platform_message_id="m-2", model={"snapshot": "chat-large-2026-04-15"},
                        hil=HumanInvolvement(HIL.HIL2_APPROVED, HILFunction.ACT, approved_by="ana"))

Entering the block signs ``run.started``; leaving it closes every open conversation (each
transcript is imported like ``custody import chat``: commitments, findings, analysis) and signs
``run.ended``, also when the tool fails, so what it captured before failing is kept.

Invariants:
- Every ``record`` is signed into the ledger before it returns (one transaction each).
- Every ``message`` is validated against the transcript format and written to the conversation's
  journal (``.custody/journal/<run>/<conversation>.jsonl``) and fsynced before it returns; the
  journal becomes a signed transcript when the conversation closes. A journal left by a crash is
  kept, and ``custody import chat`` imports it.
- Thread-safe: a ``Recorder`` may be shared by threads (records serialise on the case lock,
  messages on a per-conversation lock); several processes may record into the same case, each
  with its own run (the ledger's case lock keeps sequence numbers dense).
- The acting key is unlocked once, before the run starts; a tool's service key (role ``tool``)
  may sign only what a tool does (``events.TOOL_ROLE_EVENTS``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from custody import db
from custody.canonical import canonical_bytes
from custody.digests import sha256_hex
from custody.errors import CustodyError, FormatError, PolicyError
from custody.importers.chat import ImportedTranscript, import_chat
from custody.models import HumanInvolvement, Source
from custody.recording import NamedBytes, RecordOptions, RecordOutcome, record_inputs
from custody.runs import end_run, start_run
from custody.timeutil import format_rfc3339
from custody.tools import card_of, resolve_tool
from custody.transcript import (
    Attachment,
    ConversationHeader,
    Counterpart,
    Message,
    ModelRef,
    PersonaRef,
    ToolCall,
    TranscriptTool,
)
from custody.workspace import Workspace

JOURNAL_DIR = "journal"


@dataclass
class _Conversation:
    header: ConversationHeader
    path: Path
    lock: threading.Lock
    next_seq: int = 1
    closed: bool = False


class Recorder:
    """One run of a tool in a case, recording as it goes. Made by ``Workspace.run``."""

    def __init__(self, ws: Workspace, case_id: str, run: db.RunRow, tool: db.ToolRow, actor: str) -> None:
        self.ws = ws
        self.case_id = case_id
        self.run = run
        self.tool = tool
        self.actor = actor
        self.transcripts: list[ImportedTranscript] = []
        self._lock = threading.Lock()
        self._conversations: dict[str, _Conversation] = {}
        self._ended = False

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def journal(self) -> Path:
        return self.ws.custody_dir / JOURNAL_DIR / self.run.id

    # -- artifacts ---------------------------------------------------------------------------------
    def record(
        self,
        content: Path | bytes,
        *,
        name: str | None = None,
        media_type: str | None = None,
        origin: str | None = None,
        role: str | None = None,
        derived_from: Sequence[str] = (),
        transformation: str | None = None,
        hil: HumanInvolvement | None = None,
        source: Source | None = None,
        captured_at: str | None = None,
        note: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> RecordOutcome:
        """Store ``content`` (a file, or bytes named ``name``) and sign its record into the ledger
        as an output of this run. Claims default as for ``custody record --run``: the run's HIL
        level and supervisor, original and captured unless ``derived_from`` is given."""
        self._check_open()
        if isinstance(content, bytes | bytearray | memoryview):
            if not name:
                raise FormatError("recording bytes needs a name (name='page.html')")
            item: Path | NamedBytes = NamedBytes(name, bytes(content))
        else:
            item = Path(content)
        options = RecordOptions(
            origin=origin,
            role=role,
            hil=hil.level.value if hil else None,
            hil_function=hil.function.value if hil else None,
            approved_by=hil.approved_by if hil else None,
            supervised_by=hil.supervised_by if hil else None,
            reviewed_by=hil.reviewed_by if hil else None,
            derived_from=tuple(derived_from),
            transformation=transformation,
            source=source or Source(),
            captured_at=captured_at,
            run=self.run.id,
            media_type=media_type,
            note=note,
            details=details,
        )
        (outcome,) = record_inputs(
            self.ws, self.case_id, [item], tool_spec=None, options=options, actor_name=self.actor
        )
        return outcome

    # -- conversations -----------------------------------------------------------------------------
    def conversation(
        self,
        conversation_id: str,
        *,
        platform: str,
        counterpart: str,
        persona: tuple[str, str],
        counterpart_display_name: str | None = None,
        started_at: str | None = None,
    ) -> None:
        """Open a conversation: its header is validated and written to a new journal file."""
        self._check_open()
        header = ConversationHeader(
            conversation_id=conversation_id,
            platform=platform,
            counterpart=Counterpart(counterpart, counterpart_display_name),
            persona=PersonaRef(*persona),
            tool=TranscriptTool(self.tool.name, self.tool.version),
            run=self.run.id,
            started_at=started_at or format_rfc3339(self.ws.clock()),
        )
        with self._lock:
            if conversation_id in self._conversations:
                raise PolicyError(f"conversation {conversation_id!r} is already open in run {self.run.id}")
            self.journal.mkdir(parents=True, exist_ok=True)
            path = self.journal / f"{_file_stem(conversation_id)}.jsonl"
            _append_line(path, canonical_bytes(header.to_dict()), create=True)
            self._conversations[conversation_id] = _Conversation(header, path, threading.Lock())

    def message(
        self,
        conversation_id: str,
        *,
        speaker: str,
        text: str,
        platform_message_id: str,
        authorship: str | None = None,
        time: str | None = None,
        model: Mapping[str, str] | None = None,
        context_digest: str | None = None,
        tool_calls: Sequence[Mapping[str, Any]] = (),
        hil: HumanInvolvement | None = None,
        attachments: Sequence[Mapping[str, Any]] = (),
    ) -> int:
        """Append one message to an open conversation; returns its sequence number.

        The message is checked like a transcript line (a decoy message needs its authorship; a
        counterpart message carries no model, context or HIL) and is on disk when this returns."""
        conversation = self._open_conversation(conversation_id)
        with conversation.lock:
            if conversation.closed:
                raise PolicyError(f"conversation {conversation_id!r} is closed")
            message = Message(
                seq=conversation.next_seq,
                platform_message_id=platform_message_id,
                time=time or format_rfc3339(self.ws.clock()),
                speaker=speaker,  # type: ignore[arg-type]  # validated by Message
                authorship=authorship or ("counterpart" if speaker == "counterpart" else None),  # type: ignore[arg-type]
                text=text,
                model=ModelRef(model["snapshot"], model.get("parameters_ref")) if model else None,
                context_digest=context_digest,
                tool_calls=tuple(ToolCall.from_dict(dict(call)) for call in tool_calls),
                hil=hil,
                attachments=tuple(Attachment.from_dict(dict(item)) for item in attachments),
            )
            _append_line(conversation.path, canonical_bytes(message.to_dict()))
            conversation.next_seq += 1
            return message.seq

    def close_conversation(self, conversation_id: str) -> ImportedTranscript:
        """Import the conversation's journal as a signed transcript (with its analysis)."""
        conversation = self._open_conversation(conversation_id)
        with conversation.lock:
            if conversation.closed:
                raise PolicyError(f"conversation {conversation_id!r} is already closed")
            (result,) = import_chat(
                self.ws, self.case_id, conversation.path, run_id=self.run.id, actor_name=self.actor
            )
            conversation.closed = True
            conversation.path.unlink()
        with self._lock:
            self.transcripts.append(result)
        return result

    # -- the run -----------------------------------------------------------------------------------
    def end(self) -> None:
        """Close every open conversation and sign ``run.ended`` (idempotent)."""
        with self._lock:
            if self._ended:
                return
            open_ids = [cid for cid, c in self._conversations.items() if not c.closed]
        for conversation_id in open_ids:
            self.close_conversation(conversation_id)
        with self._lock:
            if not self._ended:
                end_run(self.ws, self.case_id, self.run.id, actor_name=self.actor)
                self._ended = True
        if self.journal.is_dir() and not any(self.journal.iterdir()):
            self.journal.rmdir()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.end()
            return
        try:  # keep what was captured before the failure; the tool's own error stays the one raised
            self.end()
        except CustodyError as cleanup:
            exc.add_note(f"custody: the run could not be closed cleanly: {cleanup.message}")

    def _check_open(self) -> None:
        if self._ended:
            raise PolicyError(f"run {self.run.id} has ended; it takes no new records")

    def _open_conversation(self, conversation_id: str) -> _Conversation:
        self._check_open()
        with self._lock:
            conversation = self._conversations.get(conversation_id)
        if conversation is None:
            raise PolicyError(
                f"no conversation {conversation_id!r} is open in run {self.run.id}; open it with "
                "run.conversation(...) first"
            )
        return conversation


def _file_stem(conversation_id: str) -> str:
    """A file name for a conversation id: the id itself when it is a safe name, else a safe
    version of it made unique by a digest of the id (ids are platform text, hence hostile)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in conversation_id)
    safe = safe[:80].lstrip(".")
    if safe == conversation_id:
        return safe
    return f"{safe or 'conversation'}-{sha256_hex(conversation_id.encode('utf-8'))[:12]}"


def _append_line(path: Path, line: bytes, *, create: bool = False) -> None:
    """Append ``line`` and a LF, and fsync: a message is evidence once it is on disk."""
    flags = os.O_WRONLY | os.O_APPEND | (os.O_CREAT | os.O_EXCL if create else 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise PolicyError(f"a journal for this conversation already exists: {path}") from None
    try:
        os.write(fd, line + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def open_run(
    ws: Workspace,
    case_id: str,
    tool_spec: str,
    *,
    operator: str | None = None,
    hil: str | None = None,
    supervisor: str | None = None,
    authorisation: str | None = None,
    actor: str | None = None,
) -> Recorder:
    """Start a run and return its recorder (``Workspace.run`` is the usual way in). The
    configured HIL level defaults to the tool card's ``default_hil``."""
    actor_name = ws.acting_actor_name(actor)
    ws.signer(actor_name)  # unlock once, before anything is signed
    with db.transaction(ws.engine) as session:
        tool = resolve_tool(session, tool_spec)
    level = hil or card_of(tool).get("default_hil")
    if not isinstance(level, str):
        raise FormatError(f"tool {tool.name} {tool.version} has no default_hil: give the run's HIL level")
    run = start_run(
        ws,
        case_id,
        f"{tool.name}@{tool.version}",
        hil_configured=level,
        operator=operator,
        supervisor=supervisor,
        authorisation=authorisation,
        actor_name=actor_name,
    )
    return Recorder(ws, case_id, run, tool, actor_name)
