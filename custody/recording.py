"""Recording artifacts with signed provenance (``custody record``), and showing them.

Invariants:
- Everything is checked before anything is written: input files exist, case, tool, run, parents
  and options are valid. Then each file is stored (one read: hashed while copied), then all
  ``artifact.recorded`` entries of the call are appended in one transaction: all or nothing.
- The same bytes with the same provenance in the same case are recorded once; recording them again
  is a reported no-op.
- ``show_artifact`` displays provenance from the signed entry bytes, never from database columns,
  and says whether that entry's signature verifies.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import groupby
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from custody import db
from custody.errors import (
    CustodyError,
    FormatError,
    InputFileError,
    IntegrityError,
    NotFoundError,
    PolicyError,
)
from custody.events import ARTIFACT_RECORDED, _unverified_event, verify_entry
from custody.keys import PublicKey
from custody.ledger import AppendedEntry, EventBody, LedgerWriter, ledger_writer, unlock_actor
from custody.models import (
    HIL,
    ArtifactRole,
    HILFunction,
    HumanInvolvement,
    Origin,
    Provenance,
    Source,
    ToolKind,
    ToolRef,
    parse_enum,
)
from custody.runs import load_open_run
from custody.statement import Subject
from custody.tools import card_of, ensure_tool_in_case, resolve_tool
from custody.workspace import Workspace

T = TypeVar("T")

_EXTRA_TYPES = {
    ".jsonl": "application/jsonl",
    ".warc": "application/warc",
    ".wacz": "application/wacz",
    ".md": "text/markdown",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
}
MIN_PREFIX = 8
_PLACEHOLDER_DIGEST = "0" * 64


def guess_media_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in _EXTRA_TYPES:
        return _EXTRA_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


@dataclass(frozen=True)
class RecordOptions:
    """The provenance claims of a ``custody record`` call (shared by all its files)."""

    origin: str | None = None
    role: str | None = None
    hil: str | None = None
    hil_function: str | None = None
    approved_by: str | None = None
    supervised_by: str | None = None
    reviewed_by: str | None = None
    derived_from: tuple[str, ...] = ()
    transformation: str | None = None
    source: Source = field(default_factory=Source)
    captured_at: str | None = None
    run: str | None = None
    operator: str | None = None
    media_type: str | None = None
    note: str | None = None
    details: Mapping[str, Any] | None = None  # source-specific signed facts (recorder API)


@dataclass(frozen=True)
class NamedBytes:
    """Content to record that is not a file (the recorder API): its bytes and the name to record."""

    name: str
    data: bytes


RecordInput = Path | NamedBytes


@dataclass(frozen=True)
class RecordOutcome:
    path: Path
    digest: str
    size: int
    sequence: int  # the artifact.recorded entry (the earlier one for a duplicate)
    duplicate: bool


def _default_role(options: RecordOptions) -> ArtifactRole:
    if options.role:
        return parse_enum(ArtifactRole, options.role, what="role")
    return ArtifactRole.DERIVATIVE if options.derived_from else ArtifactRole.ORIGINAL


def _default_origin(options: RecordOptions, role: ArtifactRole) -> Origin:
    if options.origin:
        return parse_enum(Origin, options.origin, what="origin")
    return Origin.GENERATED if role is ArtifactRole.DERIVATIVE else Origin.CAPTURED


def _default_function(options: RecordOptions, role: ArtifactRole, origin: Origin) -> HILFunction:
    if options.hil_function:
        return parse_enum(HILFunction, options.hil_function, what="HIL function")
    if role is ArtifactRole.DERIVATIVE:
        return HILFunction.ANALYSE
    return HILFunction.ACT if origin is Origin.GENERATED else HILFunction.ACQUIRE


def _hil_level(options: RecordOptions, run: db.RunRow | None, tool: db.ToolRow) -> HIL:
    """The HIL level: given, else the run's configured level, else the tool card's default.
    Never guessed: the automation level is what a court asks first."""
    if options.hil:
        return parse_enum(HIL, options.hil, what="HIL level")
    if run is not None:
        return HIL(run.hil_configured)
    default = card_of(tool).get("default_hil")
    if isinstance(default, str):
        return HIL(default)
    if tool.kind == ToolKind.MANUAL_CAPTURE.value:
        return HIL.HIL0_MANUAL
    raise FormatError(
        f"no HIL level for this record: pass --hil (tool {tool.name} {tool.version} has no "
        "default_hil and no --run was given)"
    )


def check_case_takes_evidence(session: Session, case_id: str) -> db.CaseRow:
    """The case, if it exists and is not sealed (checked before any byte is stored)."""
    case = session.get(db.CaseRow, case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id!r} in this workspace", hint="see 'custody case list'")
    if case.sealed_at is not None:
        raise PolicyError(f"case {case_id} was sealed at {case.sealed_at}: it takes no new evidence")
    return case


def involvement(
    options: RecordOptions, run: db.RunRow | None, tool: db.ToolRow, role: ArtifactRole, origin: Origin
) -> HumanInvolvement:
    """The HIL of a record: level from the options, the run or the tool card (never guessed),
    function from the options or the kind of record, the run's supervisor when none is named."""
    return HumanInvolvement(
        level=_hil_level(options, run, tool),
        function=_default_function(options, role, origin),
        approved_by=options.approved_by,
        supervised_by=options.supervised_by or (run.supervisor if run else None),
        reviewed_by=options.reviewed_by,
    )


def resolve_artifact_digest(session: Session, case_id: str, prefix: str) -> str:
    """A full digest from a digest or an unambiguous prefix (at least 8 hex digits) in a case."""
    text = prefix.strip().lower().removeprefix("sha256:")
    if len(text) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in text):
        raise FormatError(f"{prefix!r} is not a SHA-256 digest or a prefix of {MIN_PREFIX}+ hex digits")
    statement = select(db.ArtifactRow.digest).where(
        db.ArtifactRow.case_id == case_id,
        db.ArtifactRow.digest.startswith(text),
    )
    found = sorted(set(session.exec(statement).all()))
    if not found:
        raise NotFoundError(f"no artifact {prefix} recorded in case {case_id}")
    if len(found) > 1:
        raise FormatError(f"digest prefix {prefix} is ambiguous in case {case_id}: {len(found)} artifacts")
    return found[0]


def _check_inputs(inputs: Sequence[RecordInput]) -> None:
    if not inputs:
        raise FormatError("nothing to record: name at least one file")
    for path in inputs:
        if isinstance(path, NamedBytes):
            continue
        if not path.exists():
            raise InputFileError(f"file to record not found: {path}")
        if not path.is_file():
            raise InputFileError(
                f"not a regular file: {path} (record files one by one, or use 'custody import dir')"
            )


def record_files(
    ws: Workspace,
    case_id: str,
    paths: Sequence[Path],
    *,
    tool_spec: str | None,
    options: RecordOptions = RecordOptions(),
    actor_name: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[RecordOutcome]:
    """Store ``paths`` and append one signed ``artifact.recorded`` entry per new record
    (``record_inputs`` for files)."""
    return record_inputs(
        ws, case_id, paths, tool_spec=tool_spec, options=options, actor_name=actor_name, progress=progress
    )


def record_inputs(
    ws: Workspace,
    case_id: str,
    inputs: Sequence[RecordInput],
    *,
    tool_spec: str | None,
    options: RecordOptions = RecordOptions(),
    actor_name: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[RecordOutcome]:
    """Store ``inputs`` (files, or named bytes) and append one signed ``artifact.recorded``
    entry per new record.

    Raises:
        InputFileError: a file is missing (nothing is recorded).
        NotFoundError: unknown case, tool, run or parent artifact.
        FormatError / PolicyError: invalid options, sealed case, ended run, revoked key.
    """
    _check_inputs(inputs)
    actor, signer = unlock_actor(ws, actor_name)

    # 1. Validate everything against the database before storing a byte.
    with db.transaction(ws.engine) as session:
        check_case_takes_evidence(session, case_id)
        run = load_open_run(session, case_id, options.run) if options.run else None
        if tool_spec is None and run is None:
            raise FormatError("name the tool that produced the files (--tool NAME) or a --run")
        tool = resolve_tool(session, tool_spec) if tool_spec else session.get(db.ToolRow, run.tool_id)  # type: ignore[union-attr]
        if tool is None or tool.id is None:
            raise NotFoundError(f"the tool of run {options.run} is no longer registered")
        if run is not None and run.tool_id != tool.id:
            raise PolicyError(f"run {run.id} is a run of another tool; records in a run come from its tool")
        parents = tuple(resolve_artifact_digest(session, case_id, p) for p in options.derived_from)
    role = _default_role(options)
    origin = _default_origin(options, role)
    hil = involvement(options, run, tool, role, origin)
    template = Provenance(
        digest=_PLACEHOLDER_DIGEST,
        size=0,
        media_type=options.media_type or "application/octet-stream",
        name="placeholder",
        origin=origin,
        role=role,
        hil=hil,
        tool=ToolRef(tool.name, tool.version, tool.card_digest),
        operator=options.operator or (run.operator if run else actor.name),
        derived_from=parents,
        transformation=options.transformation,
        source=options.source,
        captured_at=options.captured_at,
        run=run.id if run else None,
        note=options.note,
        details=options.details,
    )

    # 2. Store the bytes (write-once; a crash here leaves at most unreferenced blobs).
    records = []
    for item in inputs:
        if isinstance(item, NamedBytes):
            stored, name, path = ws.store.put_bytes(item.data), item.name, Path(item.name)
        else:
            stored, name, path = ws.store.put_file(item, progress), item.name, item
        provenance = replace(
            template,
            digest=stored.digest,
            size=stored.size,
            name=name,
            media_type=options.media_type or guess_media_type(name),
        )
        records.append((path, provenance))

    # 3. Sign and append, all in one transaction.
    outcomes = []
    with ledger_writer(ws, case_id, actor, signer) as writer:
        ensure_tool_in_case(writer, tool)
        appended = append_artifact_records(writer, [ArtifactRecord(p, tool) for _, p in records])
        for (path, provenance), (sequence, duplicate) in zip(records, appended, strict=True):
            outcomes.append(RecordOutcome(path, provenance.digest, provenance.size, sequence, duplicate))
    return outcomes


@dataclass(frozen=True)
class ArtifactRecord:
    """One artifact record to append: its provenance, the tool it names, and the event type
    (``artifact.recorded``, or ``artifact.derived`` for what custody itself derives)."""

    provenance: Provenance
    tool: db.ToolRow
    event_type: str = ARTIFACT_RECORDED


_IN_CHUNK = 500  # digests per IN (...) query: well under every database's parameter limit


def recorded_in_case(
    session: Session, case_id: str, values: Sequence[str], *, by: Any = db.ArtifactRow.provenance_digest
) -> dict[str, int]:
    """For each value in ``values`` that some artifact record of the case has in column ``by``
    (``ArtifactRow.provenance_digest`` or ``ArtifactRow.digest``), the sequence of such a record.
    A few queries however many values (``_IN_CHUNK`` per query)."""
    found: dict[str, int] = {}
    for start in range(0, len(values), _IN_CHUNK):
        statement = select(by, db.ArtifactRow.sequence).where(
            db.ArtifactRow.case_id == case_id, col(by).in_(values[start : start + _IN_CHUNK])
        )
        found.update(dict(session.exec(statement).all()))
    return found


def recorded_as(session: Session, case_id: str, digest: str, media_types: Sequence[str]) -> int | None:
    """The entry of a record of ``digest`` in the case under one of ``media_types``, if any: an
    importer's own records of a file carry its media type, so the same bytes recorded otherwise
    (``custody record``) do not count as imported."""
    return session.exec(
        select(db.ArtifactRow.sequence).where(
            db.ArtifactRow.case_id == case_id,
            db.ArtifactRow.digest == digest,
            col(db.ArtifactRow.media_type).in_(media_types),
        )
    ).first()


def append_artifact_records(
    writer: LedgerWriter, records: Sequence[ArtifactRecord]
) -> list[tuple[int, bool]]:
    """Append one signed record per artifact and index it, skipping those whose provenance is
    already recorded in the case (or earlier in ``records``). Returns, per record, (sequence of
    its entry, whether it was a duplicate). One query for the whole batch, however long; the
    entries are signed together (``LedgerWriter.append_many``)."""
    keys = [record.provenance.provenance_digest for record in records]
    known = recorded_in_case(writer.session, writer.case.id, sorted(set(keys)))
    first: dict[str, int] = {}  # provenance digest -> index of the record that appends it
    for index, key in enumerate(keys):
        if key not in known:
            first.setdefault(key, index)
    for event_type, run in groupby(first.values(), key=lambda index: records[index].event_type):
        batch = [records[index] for index in run]
        bodies = [_event_body(record.provenance) for record in batch]
        for record, entry in zip(batch, writer.append_many(event_type, bodies), strict=True):
            key = record.provenance.provenance_digest
            _index_artifact(writer, _row_of(record.provenance), record.tool, key, entry)
            known[key] = entry.sequence
    return [(known[key], first.get(key) != index) for index, key in enumerate(keys)]


def append_new_artifact_records(
    writer: LedgerWriter, tool: db.ToolRow, build: Callable[[T], Provenance], items: Sequence[T]
) -> list[int]:
    """Append one ``artifact.recorded`` entry per item, with the provenance ``build`` makes of it,
    for records new to the case by construction (e.g. the extracts of a capture recorded in this
    transaction: each names it as its parent). Building, canonicalising and signing run together
    on both cores (``LedgerWriter.sign_built``); only the signed entries and the rows that index
    them come back. Returns the entries' sequences.

    Raises:
        IntegrityError: a provenance is recorded in the case already, or twice in ``items``
            (nothing is appended then).
    """

    def body(item: T) -> tuple[EventBody, tuple[str, dict[str, Any]]]:
        provenance = build(item)
        return _event_body(provenance), (provenance.provenance_digest, _row_of(provenance))

    signed = writer.sign_built(ARTIFACT_RECORDED, body, items)
    keys = [key for _, (key, _) in signed]
    known = recorded_in_case(writer.session, writer.case.id, keys)
    if known or len(set(keys)) != len(keys):
        raise IntegrityError(
            f"case {writer.case.id}: {len(known) or len(keys) - len(set(keys))} of {len(keys)} new records "
            "are recorded already"
        )
    appended = writer.add_signed([entry for entry, _ in signed])
    for entry, (_, (key, row)) in zip(appended, signed, strict=True):
        _index_artifact(writer, row, tool, key, entry)
    return [entry.sequence for entry in appended]


def _event_body(provenance: Provenance) -> EventBody:
    """What an ``artifact.recorded`` event says of ``provenance`` (its members canonicalised once)."""
    subject = Subject(provenance.name or provenance.digest, provenance.digest)
    return EventBody([subject], provenance.to_dict(), provenance.canonical_members)


def _row_of(provenance: Provenance) -> dict[str, Any]:
    """The columns of an artifact's index row that come from its provenance."""
    return {
        "digest": provenance.digest,
        "size": provenance.size,
        "media_type": provenance.media_type,
        "name": provenance.name or "",
        "origin": provenance.origin.value,
        "role": provenance.role.value,
        "hil_level": provenance.hil.level.value,
        "run_id": provenance.run,
    }


def _index_artifact(
    writer: LedgerWriter, row: dict[str, Any], tool: db.ToolRow, key: str, entry: AppendedEntry
) -> None:
    """Index an appended artifact record (``row``: ``_row_of`` its provenance)."""
    assert tool.id is not None
    columns = {"case_id": writer.case.id, "tool_id": tool.id, "provenance_digest": key}
    writer.add_row(db.ArtifactRow, {**row, **columns, "sequence": entry.sequence, "recorded_at": entry.time})


def append_artifact_record(
    writer: LedgerWriter, provenance: Provenance, tool: db.ToolRow, *, event_type: str = ARTIFACT_RECORDED
) -> tuple[int, bool]:
    """``append_artifact_records`` for one record."""
    return append_artifact_records(writer, [ArtifactRecord(provenance, tool, event_type)])[0]


@dataclass(frozen=True)
class ArtifactView:
    """One signed record of an artifact, as read back from its ledger entry."""

    case_id: str
    sequence: int
    recorded_at: str
    signer_name: str | None
    signer_role: str | None
    signer_key_id: str
    signature_ok: bool
    signature_error: str | None
    provenance: Provenance
    entry_sha256: str
    blob_error: str | None = None


def show_artifact(
    ws: Workspace, digest: str, *, case_id: str | None = None, verify_blob: bool = True
) -> list[ArtifactView]:
    """Every record of an artifact (in one case, or in all), with signature and blob checks."""
    with db.transaction(ws.engine) as session:
        case_ids = (
            [case_id] if case_id else list(session.exec(select(db.CaseRow.id).order_by(db.CaseRow.id)).all())
        )
        matches: list[tuple[db.ArtifactRow, db.LedgerEntryRow, db.ActorRow | None]] = []
        for cid in case_ids:
            try:
                full = resolve_artifact_digest(session, cid, digest)
            except NotFoundError:
                continue
            rows = session.exec(
                select(db.ArtifactRow).where(db.ArtifactRow.case_id == cid, db.ArtifactRow.digest == full)
            ).all()
            for row in rows:
                entry = session.get(db.LedgerEntryRow, (cid, row.sequence))
                if entry is None:
                    raise CustodyError(
                        f"case {cid}: ledger entry {row.sequence} for {full[:16]}... is missing"
                    )
                matches.append((row, entry, session.get(db.ActorRow, entry.actor)))
    if not matches:
        where = f"case {case_id}" if case_id else "any case of this workspace"
        raise NotFoundError(f"no artifact {digest} recorded in {where}")
    return [_view(ws, row, entry, actor, verify_blob) for row, entry, actor in matches]


def _view(
    ws: Workspace, row: db.ArtifactRow, entry: db.LedgerEntryRow, actor: db.ActorRow | None, verify_blob: bool
) -> ArtifactView:
    what = f"case {row.case_id} entry {row.sequence}"
    try:
        _, event = _unverified_event(entry.entry, what=what)
    except FormatError as exc:
        raise IntegrityError(
            f"{what} (the record of {row.digest[:16]}...) is corrupt and cannot be shown: {exc.message}",
            hint=f"run 'custody log {row.case_id} --verify' for the full check",
        ) from exc
    signature_error = None
    if actor is None:
        signature_error = f"signing key {entry.actor[:16]}... is not registered in this workspace"
    else:
        try:
            verify_entry(entry.entry, PublicKey.from_hex(actor.public_key), what=what)
        except CustodyError as exc:
            signature_error = exc.message
    blob_error = None
    if verify_blob:
        try:
            ws.store.verify(row.digest)
        except CustodyError as exc:
            blob_error = exc.message
    return ArtifactView(
        case_id=row.case_id,
        sequence=row.sequence,
        recorded_at=event.time,
        signer_name=actor.name if actor else None,
        signer_role=actor.role if actor else None,
        signer_key_id=event.actor,
        signature_ok=signature_error is None,
        signature_error=signature_error,
        provenance=Provenance.from_dict(event.body),
        entry_sha256=entry.entry_sha256,
        blob_error=blob_error,
    )
