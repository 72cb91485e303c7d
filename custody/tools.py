"""Tools: register from a tool card, resolve by name, introduce into a case ledger.

Invariants:
- The card's exact bytes, and every file it names (system prompt, persona script), are stored in
  the blob store; the normalised card (with those files' digests) is what ``tool.registered``
  signs. A (name, version) pair is bound to one card digest for ever: a changed card needs a new
  version.
- A tool is introduced into a case's ledger (``tool.registered``) before its first use there.
- Files a card names must lie inside the card's folder: a card is input, and input is hostile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlmodel import Session, select

from custody import db
from custody.canonical import canonical_bytes, parse_json_object
from custody.errors import FormatError, InputFileError, NotFoundError, PolicyError
from custody.events import TOOL_REGISTERED
from custody.ledger import LedgerWriter, ledger_writer, unlock_actor
from custody.statement import Subject
from custody.timeutil import format_rfc3339
from custody.toolcard import MAX_CARD_BYTES, ToolCard, parse_tool_card
from custody.workspace import Workspace


@dataclass(frozen=True)
class ToolRegistration:
    tool: db.ToolRow
    created: bool
    case_sequence: int | None  # the tool.registered entry, when a case was given


def _read_input(path: Path, *, limit: int, what: str) -> bytes:
    try:
        if not path.is_file():
            raise InputFileError(f"{what} {path} does not exist or is not a regular file")
        size = path.stat().st_size
        if size > limit:
            raise InputFileError(f"{what} {path} is {size} bytes (limit {limit})")
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def _resolve_card_file(card_path: Path, written: str, field: str) -> Path:
    relative = PurePosixPath(written)
    if relative.is_absolute() or ".." in relative.parts:
        raise FormatError(
            f"tool card {card_path}: model.{field} path {written!r} must be relative to the "
            "card's folder and stay inside it"
        )
    base = card_path.parent.resolve()
    resolved = (base / relative).resolve()
    if not resolved.is_relative_to(base):
        raise FormatError(f"tool card {card_path}: model.{field} {written!r} leaves the card's folder")
    if not resolved.is_file():
        raise InputFileError(f"tool card {card_path}: model.{field} file {written!r} not found")
    return resolved


def card_of(tool: db.ToolRow) -> dict[str, object]:
    return parse_json_object(tool.card_json, what=f"stored card of tool {tool.name}")


def register_tool(
    ws: Workspace, card_path: Path, *, case_id: str | None = None, actor_name: str | None = None
) -> ToolRegistration:
    """Register the tool described by ``card_path``; with ``case_id``, also introduce it into that
    case's ledger.

    Raises:
        InputFileError / FormatError: the card (or a file it names) is missing or malformed.
        PolicyError: the same name and version were registered with a different card.
    """
    what = f"tool card {card_path}"
    data = _read_input(card_path, limit=MAX_CARD_BYTES, what="tool card")
    card = parse_tool_card(data, what=what)
    referenced = {
        field: _resolve_card_file(card_path, written, field)
        for field, written in card.referenced_files.items()
    }
    # Everything is read and valid: now store (blobs are write-once; orphans are harmless).
    digests = {field: ws.store.put_file(path).digest for field, path in referenced.items()}
    card = card.with_file_digests(digests)
    stored = ws.store.put_bytes(data)
    tool, created = _upsert_tool(ws, card, stored.digest, card_path.name)
    sequence = None
    if case_id is not None:
        actor, signer = unlock_actor(ws, actor_name)
        with ledger_writer(ws, case_id, actor, signer) as writer:
            sequence = ensure_tool_in_case(writer, tool)
    return ToolRegistration(tool, created, sequence)


def _upsert_tool(ws: Workspace, card: ToolCard, card_digest: str, card_name: str) -> tuple[db.ToolRow, bool]:
    try:
        with db.transaction(ws.engine) as session:
            existing = session.exec(
                select(db.ToolRow).where(db.ToolRow.name == card.name, db.ToolRow.version == card.version)
            ).first()
            if existing is not None:
                if existing.card_digest != card_digest:
                    raise PolicyError(
                        f"tool {card.name} {card.version} is already registered with another card "
                        f"(sha256 {existing.card_digest[:16]}..., this one {card_digest[:16]}...)",
                        hint="a changed tool is a new version: raise 'version' in the card",
                    )
                return existing, False
            row = db.ToolRow(
                name=card.name,
                version=card.version,
                kind=card.kind.value,
                card_digest=card_digest,
                card_name=card_name,
                config_digest=card.config_digest,
                build_hash=card.build_hash,
                vendor=card.vendor,
                card_json=canonical_bytes(card.to_dict()).decode("utf-8"),
                registered_at=format_rfc3339(ws.clock()),
            )
            session.add(row)
            session.flush()
            return row, True
    except DbIntegrityError:  # registered concurrently by another writer: take theirs
        return _upsert_tool(ws, card, card_digest, card_name)


def resolve_tool(session: Session, spec: str) -> db.ToolRow:
    """Find a tool by ``NAME`` (latest registered version) or ``NAME@VERSION``."""
    name, _, version = spec.partition("@")
    statement = select(db.ToolRow).where(db.ToolRow.name == name)
    if version:
        statement = statement.where(db.ToolRow.version == version)
    rows = session.exec(statement.order_by(db.ToolRow.id.desc())).all()  # type: ignore[union-attr]
    if not rows:
        raise NotFoundError(
            f"no tool {spec!r} registered in this workspace",
            hint="register it with 'custody tool add CARD.yaml'; see 'custody tool list'",
        )
    return rows[0]


def ensure_tool_in_case(writer: LedgerWriter, tool: db.ToolRow) -> int:
    """Append ``tool.registered`` to the writer's case unless the tool is already there.
    Returns the sequence number of the tool's ``tool.registered`` entry."""
    assert tool.id is not None
    known = writer.session.get(db.CaseToolRow, (writer.case.id, tool.id))
    if known is not None:
        return known.sequence
    card = card_of(tool)
    subjects = [Subject(f"tool-card:{tool.name}@{tool.version}", tool.card_digest)]
    model = card.get("model")
    if isinstance(model, dict):
        for field_name in ("system_prompt", "persona_script"):
            entry = model.get(field_name)
            if isinstance(entry, dict) and "digest" in entry:
                subjects.append(Subject(f"{field_name}:{entry['path']}", entry["digest"]["sha256"]))
    row = writer.append(
        TOOL_REGISTERED,
        subjects,
        {"tool": card, "card": {"name": tool.card_name, "digest": {"sha256": tool.card_digest}}},
    )
    writer.session.add(db.CaseToolRow(case_id=writer.case.id, tool_id=tool.id, sequence=row.sequence))
    return row.sequence


def list_tools(ws: Workspace) -> list[db.ToolRow]:
    with db.transaction(ws.engine) as session:
        statement = select(db.ToolRow).order_by(db.ToolRow.name, db.ToolRow.id)  # type: ignore[arg-type]
        return list(session.exec(statement).all())


def get_tool(ws: Workspace, spec: str) -> db.ToolRow:
    with db.transaction(ws.engine) as session:
        return resolve_tool(session, spec)
