"""``custody import chat``: decoy-chatbot transcripts (custody/transcript/v1 JSON Lines).

For each transcript: the file is recorded unchanged as the original artifact; its signed record
carries a Merkle root over salted per-line commitments (``custody.commitments``), the parser's
findings (gaps, time running backwards, edits, deletions: recorded, never fixed) and the digests
of the tool's persona script and system prompt. The salts stay in the workspace (they make
verifiable redaction possible). The assisted conduct analysis (``custody.analysis``) is recorded
as a signed derivative (``artifact.derived``) of the transcript.

Invariants: all transcripts of one import are parsed and checked before anything is stored, and
all their entries are appended in one transaction (all or nothing). A transcript whose bytes are
already imported into the case is skipped (reported), so importing again adds nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from custody import db
from custody.analysis import METHOD_VERSION, Analysis, TermList, analyse, load_term_list
from custody.bulkgc import fewer_collections
from custody.canonical import canonical_bytes
from custody.commitments import COMMITMENT_SCHEME, SALT_SIZE, commit_messages
from custody.errors import FormatError, InputFileError, NotFoundError, PolicyError
from custody.events import ARTIFACT_DERIVED
from custody.ledger import ledger_writer, unlock_actor
from custody.models import (
    HIL,
    ArtifactRole,
    HILFunction,
    HumanInvolvement,
    Origin,
    Provenance,
    Source,
    ToolRef,
)
from custody.recording import append_artifact_record, check_case_takes_evidence, recorded_as
from custody.resources import templates_dir
from custody.runs import load_open_run
from custody.tools import card_of, ensure_tool_in_case, register_tool, resolve_tool
from custody.transcript import Speaker, Transcript, parse_transcript
from custody.workspace import Workspace

TRANSCRIPT_MEDIA_TYPE = "application/vnd.custody.transcript+jsonl"
ANALYSIS_MEDIA_TYPE = "application/vnd.custody.analysis+json"
MAX_TRANSCRIPT_BYTES = 256 * 1024 * 1024
TERM_TOPICS = ("payment", "sex", "age", "refusal")
ANALYSIS_TOOL_CARD = "custody-analysis.yaml"


@dataclass(frozen=True)
class ImportedTranscript:
    path: Path
    digest: str
    conversation_id: str
    messages: int
    findings: int
    sequence: int  # the transcript's artifact.recorded entry (the earlier one if already imported)
    analysis_digest: str | None
    analysis: Analysis
    duplicate: bool


def transcript_files(path: Path) -> list[Path]:
    """The transcripts at ``path``: the file itself, or every ``*.jsonl`` below a folder (sorted;
    symbolic links are refused, since an import must not wander outside what was named)."""
    if path.is_symlink():
        raise InputFileError(f"{path} is a symbolic link; name the file itself")
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputFileError(f"transcript file or folder not found: {path}")
    found = []
    for candidate in sorted(path.rglob("*.jsonl")):
        if candidate.is_symlink():
            raise InputFileError(f"{candidate} is a symbolic link; refusing to follow it")
        if candidate.is_file():
            found.append(candidate)
    if not found:
        raise InputFileError(f"no *.jsonl transcripts in {path}")
    return found


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_TRANSCRIPT_BYTES:
            raise InputFileError(f"{path} is {size} bytes; transcripts are limited to {MAX_TRANSCRIPT_BYTES}")
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from exc


def load_term_lists() -> list[TermList]:
    folder = templates_dir() / "terms"
    return [
        load_term_list((folder / f"{topic}.yaml").read_bytes(), name=f"templates/terms/{topic}.yaml")
        for topic in TERM_TOPICS
    ]


def _artifact_hil(transcript: Transcript, analysis: Analysis) -> HumanInvolvement:
    """The transcript's HIL as one artifact: the most automated level among the decoy's messages,
    with the human named on a message at that level (per-message levels stay in the file)."""
    level = analysis.most_automated_hil or HIL.HIL0_MANUAL
    for message in transcript.messages:
        if message.speaker is Speaker.DECOY and message.hil is not None and message.hil.level is level:
            hil = message.hil
            return HumanInvolvement(
                level, HILFunction.ACT, hil.approved_by, hil.supervised_by, hil.reviewed_by
            )
    return HumanInvolvement(level, HILFunction.ACQUIRE if level is HIL.HIL0_MANUAL else HILFunction.ACT)


def _model_files(tool: db.ToolRow) -> dict[str, Any]:
    model = card_of(tool).get("model")
    files: dict[str, Any] = {}
    if isinstance(model, dict):
        for field in ("persona_script", "system_prompt"):
            entry = model.get(field)
            if isinstance(entry, dict) and "digest" in entry:
                files[field] = entry["digest"]
    return files


def _transcript_details(transcript: Transcript, root: bytes, tool: db.ToolRow) -> dict[str, Any]:
    header = transcript.header
    return {
        "kind": "transcript",
        "schema": "custody/transcript/v1",
        "conversation_id": header.conversation_id,
        "persona": {"id": header.persona.id, "version": header.persona.version},
        "lines": len(transcript.lines),
        "messages": len(transcript.messages),
        "commitments": {"scheme": COMMITMENT_SCHEME, "entries": len(transcript.lines), "root": root.hex()},
        "findings": [
            {"kind": str(f.kind), "line": f.line, "message": f.message} for f in transcript.findings
        ],
        **_model_files(tool),
    }


@fewer_collections()  # millions of short-lived objects
def import_chat(
    ws: Workspace,
    case_id: str,
    path: Path,
    *,
    tool_spec: str | None = None,
    run_id: str | None = None,
    actor_name: str | None = None,
) -> list[ImportedTranscript]:
    """Import the transcript file, or every ``*.jsonl`` under the folder, at ``path``.

    Raises:
        InputFileError / FormatError: a file is missing or malformed (naming file and line);
            nothing is imported.
        NotFoundError / PolicyError: unknown case, tool or run; sealed case.
    """
    files = transcript_files(path)
    parsed = []
    for file in files:
        data = _read(file)
        parsed.append((file, parse_transcript(data, name=str(file)), data))
    term_lists = load_term_lists()
    actor, signer = unlock_actor(ws, actor_name)
    analysis_tool = register_tool(ws, templates_dir() / "toolcards" / ANALYSIS_TOOL_CARD).tool

    with db.transaction(ws.engine) as session:
        check_case_takes_evidence(session, case_id)
        run = load_open_run(session, case_id, run_id) if run_id else None
        tools = {}
        for file, transcript, _ in parsed:
            spec = tool_spec or f"{transcript.header.tool.name}@{transcript.header.tool.version}"
            tool = resolve_tool(session, spec)
            if tool.kind != "decoy_chatbot":
                raise PolicyError(f"{file}: tool {tool.name} is a {tool.kind}, not a decoy_chatbot")
            if run is not None and run.tool_id != tool.id:
                raise PolicyError(
                    f"run {run.id} is a run of another tool; records in a run come from its tool"
                )
            tools[file] = tool

    prepared = []
    with ws.store.batch():  # stored durably together, before any entry names them
        for file, transcript, data in parsed:
            analysis = analyse(transcript, term_lists)
            salts = [os.urandom(SALT_SIZE) for _ in transcript.lines]
            commitments = commit_messages(transcript.lines, salts)
            analysis_bytes = canonical_bytes(analysis.to_dict())
            stored = ws.store.put_bytes(data)
            analysis_stored = ws.store.put_bytes(analysis_bytes)
            prepared.append((file, transcript, analysis, salts, commitments.root, stored, analysis_stored))

    results = []
    with ledger_writer(ws, case_id, actor, signer) as writer:
        for file, transcript, analysis, salts, root, stored, analysis_stored in prepared:
            tool = tools[file]
            existing = recorded_as(writer.session, case_id, stored.digest, [TRANSCRIPT_MEDIA_TYPE])
            if existing is not None:
                results.append(
                    ImportedTranscript(
                        file,
                        stored.digest,
                        transcript.header.conversation_id,
                        len(transcript.messages),
                        len(transcript.findings),
                        existing,
                        None,
                        analysis,
                        True,
                    )
                )
                continue
            ensure_tool_in_case(writer, tool)
            header = transcript.header
            last = transcript.messages[-1].time if transcript.messages else None
            provenance = Provenance(
                digest=stored.digest,
                size=stored.size,
                media_type=TRANSCRIPT_MEDIA_TYPE,
                name=file.name,
                origin=transcript.artifact_origin,
                role=ArtifactRole.ORIGINAL,
                hil=_artifact_hil(transcript, analysis),
                tool=ToolRef(tool.name, tool.version, tool.card_digest),
                operator=run.operator if run else actor.name,
                source=Source(platform=header.platform, account=header.counterpart.account),
                captured_at=last,
                run=run.id if run else None,
                details=_transcript_details(transcript, root, tool),
            )
            sequence, _ = append_artifact_record(writer, provenance, tool)
            writer.add_row(
                db.TranscriptSaltsRow, {"case_id": case_id, "digest": stored.digest, "salts": b"".join(salts)}
            )
            ensure_tool_in_case(writer, analysis_tool)
            derived = Provenance(
                digest=analysis_stored.digest,
                size=analysis_stored.size,
                media_type=ANALYSIS_MEDIA_TYPE,
                name=f"{file.stem}.analysis.json",
                origin=Origin.GENERATED,
                role=ArtifactRole.DERIVATIVE,
                hil=HumanInvolvement(HIL.HIL5_AUTONOMOUS, HILFunction.ANALYSE),
                tool=ToolRef(analysis_tool.name, analysis_tool.version, analysis_tool.card_digest),
                operator=actor.name,
                derived_from=(stored.digest,),
                transformation=f"assisted conduct analysis ({METHOD_VERSION}); a human must confirm",
                details={"kind": "transcript-analysis", "label": analysis.to_dict()["label"]},
            )
            append_artifact_record(writer, derived, analysis_tool, event_type=ARTIFACT_DERIVED)
            results.append(
                ImportedTranscript(
                    file,
                    stored.digest,
                    header.conversation_id,
                    len(transcript.messages),
                    len(transcript.findings),
                    sequence,
                    analysis_stored.digest,
                    analysis,
                    False,
                )
            )
    return results


def stored_salts(session: Session, case_id: str, digest: str, lines: int) -> Sequence[bytes]:
    """The salts an imported transcript was committed with."""
    row = session.get(db.TranscriptSaltsRow, (case_id, digest))
    if row is None:
        raise NotFoundError(f"case {case_id} has no imported transcript {digest[:16]}... (with salts)")
    if len(row.salts) != lines * SALT_SIZE:
        raise FormatError(f"stored salts of {digest[:16]}... do not fit its {lines} lines")
    return [row.salts[i : i + SALT_SIZE] for i in range(0, len(row.salts), SALT_SIZE)]
