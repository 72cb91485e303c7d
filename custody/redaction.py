"""Redacted copies of imported transcripts, checking them, and artifact lineage.

Invariants:
- A redacted copy is built from the stored transcript bytes (re-hashed) and the salts kept at
  import; it is written to a new file (never overwriting) and recorded as a signed derivative
  (``artifact.derived``) naming who chose to withhold what and why.
- ``check_redaction`` proves a redacted copy against the commitment root in the transcript's
  signed record (whose signature it checks), so what is shown is proven unchanged and what is
  withheld is proven to exist.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlmodel import select

from custody import db
from custody.commitments import (
    REDACTED_KIND,
    RedactedTranscript,
    VerifiedRedaction,
    keep_speakers,
    redact,
    verify_redacted,
)
from custody.errors import FormatError, InputFileError, IntegrityError, NotFoundError
from custody.events import ARTIFACT_DERIVED
from custody.importers.chat import TRANSCRIPT_MEDIA_TYPE, stored_salts
from custody.ledger import ledger_writer, unlock_actor
from custody.models import HIL, ArtifactRole, HILFunction, HumanInvolvement, Origin, Provenance, ToolRef
from custody.recording import ArtifactView, append_artifact_record, resolve_artifact_digest, show_artifact
from custody.resources import templates_dir
from custody.tools import ensure_tool_in_case, register_tool
from custody.transcript import parse_transcript
from custody.workspace import Workspace

REDACTED_MEDIA_TYPE = "application/vnd.custody.redacted-transcript+json"


@dataclass(frozen=True)
class Redaction:
    digest: str
    sequence: int
    shown: int
    withheld: int


def redact_transcript(
    ws: Workspace,
    case_id: str,
    digest: str,
    output: Path,
    *,
    reason: str,
    seqs: Collection[int] = (),
    speakers: Collection[str] = (),
    actor_name: str | None = None,
) -> Redaction:
    """Write a redacted copy of an imported transcript showing the messages with ``seqs`` or by
    ``speakers`` (and the header), and record it as a signed derivative."""
    if bool(seqs) == bool(speakers):
        raise FormatError("choose what to show: message numbers (--keep-seq) or speakers (--keep-speaker)")
    if output.exists():
        raise InputFileError(f"{output} already exists; custody never overwrites a file")
    actor, signer = unlock_actor(ws, actor_name)
    with db.transaction(ws.engine) as session:
        full = resolve_artifact_digest(session, case_id, digest)
        row = session.exec(
            select(db.ArtifactRow).where(
                db.ArtifactRow.case_id == case_id,
                db.ArtifactRow.digest == full,
                db.ArtifactRow.media_type == TRANSCRIPT_MEDIA_TYPE,
            )
        ).first()
        if row is None:
            raise NotFoundError(f"{full[:16]}... in case {case_id} is not an imported transcript")
        transcript = parse_transcript(ws.store.read_bytes(full), name=row.name)
        salts = stored_salts(session, case_id, full, len(transcript.lines))
    # Seqs as a collection (not keep_seqs): redact() then refuses a seq the transcript lacks.
    selection = set(seqs) if seqs else keep_speakers(speakers)
    document = redact(transcript, salts, selection, reason=reason).to_bytes()
    verified = verify_redacted(document, _signed_root(ws, case_id, full))
    tool = register_tool(ws, templates_dir() / "toolcards" / "custody-redaction.yaml").tool
    stored = ws.store.put_bytes(document)
    # Create the file before recording: a redaction is never recorded without its file.
    out = _create_output(output)
    try:
        with ledger_writer(ws, case_id, actor, signer) as writer:
            ensure_tool_in_case(writer, tool)
            what = (
                f"messages {', '.join(map(str, sorted(set(seqs))))}"
                if seqs
                else f"speakers {', '.join(sorted(speakers))}"
            )
            provenance = Provenance(
                digest=stored.digest,
                size=stored.size,
                media_type=REDACTED_MEDIA_TYPE,
                name=f"{Path(row.name).stem}.redacted.json",
                origin=Origin.MIXED,
                role=ArtifactRole.DERIVATIVE,
                hil=HumanInvolvement(HIL.HIL0_MANUAL, HILFunction.DECIDE),
                tool=ToolRef(tool.name, tool.version, tool.card_digest),
                operator=actor.name,
                derived_from=(full,),
                transformation=f"redaction showing {what}",
                details={
                    "kind": REDACTED_KIND,
                    "reason": reason,
                    "shown_lines": len(verified.shown),
                    "withheld_lines": len(verified.withheld),
                },
            )
            sequence, _ = append_artifact_record(writer, provenance, tool, event_type=ARTIFACT_DERIVED)
    except BaseException:
        out.close()
        output.unlink(missing_ok=True)
        raise
    with out:
        out.write(document)
    return Redaction(stored.digest, sequence, len(verified.shown), len(verified.withheld))


def _create_output(output: Path) -> BinaryIO:
    """Create ``output`` exclusively (never replacing a file), or raise ``InputFileError``."""
    try:
        return output.open("xb")
    except FileExistsError as exc:
        raise InputFileError(f"{output} already exists; custody never overwrites a file") from exc
    except OSError as exc:
        raise InputFileError(f"cannot create {output}: {exc.strerror or exc}") from exc


def _signed_record(ws: Workspace, case_id: str, digest: str) -> ArtifactView:
    views = [
        v
        for v in show_artifact(ws, digest, case_id=case_id, verify_blob=False)
        if (v.provenance.details or {}).get("kind") == "transcript"
    ]
    if not views:
        raise NotFoundError(f"no signed transcript record of {digest[:16]}... in case {case_id}")
    view = views[0]
    if not view.signature_ok:
        raise IntegrityError(
            f"the signed record of transcript {digest[:16]}... does not verify: {view.signature_error}"
        )
    return view


def _signed_root(ws: Workspace, case_id: str, digest: str) -> bytes:
    details = _signed_record(ws, case_id, digest).provenance.details or {}
    try:
        return bytes.fromhex(str(details["commitments"]["root"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"the record of transcript {digest[:16]}... carries no commitment root") from exc


def check_redaction(ws: Workspace, case_id: str, path: Path) -> VerifiedRedaction:
    """Prove a redacted copy against its transcript's signed commitment root."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    claimed = RedactedTranscript.unverified_from_bytes(data, what=str(path))
    return verify_redacted(data, _signed_root(ws, case_id, claimed.transcript_sha256))


@dataclass(frozen=True)
class LineageStep:
    depth: int
    view: ArtifactView


def lineage(ws: Workspace, case_id: str, digest: str) -> list[LineageStep]:
    """The derivation chain of an artifact back to its originals, depth first (depth 0 = the
    artifact itself). A parent that is not recorded in the case is an error: the chain is broken."""
    steps: list[LineageStep] = []
    seen: set[str] = set()

    def walk(current: str, depth: int) -> None:
        view = show_artifact(ws, current, case_id=case_id)[0]
        steps.append(LineageStep(depth, view))
        if current in seen:
            return
        seen.add(current)
        for parent in view.provenance.derived_from:
            walk(parent, depth + 1)

    walk(digest, 0)
    return steps
