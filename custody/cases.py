"""Cases: open, list, show.

Invariant: a case exists in the database only together with its ``case.opened`` ledger entry at
sequence 0 (both are written in one transaction).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlmodel import Session, select

from custody import db
from custody.canonical import canonical_bytes
from custody.digests import sha256_hex
from custody.errors import FormatError, NotFoundError, PolicyError
from custody.events import CASE_OPENED
from custody.ledger import LedgerWriter, key_description, unlock_actor
from custody.logkey import log_key_info
from custody.models import OperatorType, check_slug, parse_enum
from custody.statement import Subject
from custody.timeutil import format_rfc3339
from custody.workspace import Workspace

KNOWN_JURISDICTIONS = {"US": "United States (federal)", "UK": "England & Wales", "EU": "European Union"}
_JURISDICTION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,8})?$")


def _check_jurisdictions(values: Sequence[str]) -> list[str]:
    result = []
    for value in values:
        code = value.strip().upper()
        if not _JURISDICTION.match(code):
            raise FormatError(
                f"jurisdiction {value!r} is not a code like US, UK or EU "
                f"(known question sets: {', '.join(KNOWN_JURISDICTIONS)})"
            )
        if code not in result:
            result.append(code)
    if not result:
        raise FormatError("a case needs at least one jurisdiction (--jurisdiction US|UK|EU)")
    return result


def open_case(
    ws: Workspace,
    case_id: str,
    *,
    title: str,
    jurisdictions: Sequence[str],
    authority: str,
    legal_basis: str | None = None,
    operator_type: str = OperatorType.STATE.value,
    actor_name: str | None = None,
) -> db.CaseRow:
    """Open a case; its ledger starts with a ``case.opened`` entry signed by the acting key."""
    check_slug(case_id, what="case id")
    if not title.strip():
        raise FormatError("a case needs a title (--title)")
    if not authority.strip():
        raise FormatError("a case needs the authorisation reference it runs under (--authority)")
    codes = _check_jurisdictions(jurisdictions)
    operator = parse_enum(OperatorType, operator_type, what="operator type")
    actor, signer = unlock_actor(ws, actor_name)
    description = {
        "id": case_id,
        "title": title.strip(),
        "jurisdictions": codes,
        "authority": authority.strip(),
        "legal_basis": legal_basis.strip() if legal_basis else None,
        "operator_type": operator.value,
    }
    try:
        with db.transaction(ws.engine) as session:
            if session.get(db.CaseRow, case_id) is not None:
                raise PolicyError(f"case {case_id} already exists")
            case = db.CaseRow(
                id=case_id,
                title=description["title"],  # type: ignore[arg-type]
                jurisdictions=json.dumps(codes),
                legal_basis=description["legal_basis"],  # type: ignore[arg-type]
                authority=description["authority"],  # type: ignore[arg-type]
                operator_type=operator.value,
                opened_at=format_rfc3339(ws.clock()),
                opened_by=actor.key_id,
                custodian=actor.key_id,
            )
            session.add(case)
            session.flush()
            writer = LedgerWriter(session, case, signer, actor, ws.clock)
            subject = Subject(f"case:{case_id}", sha256_hex(canonical_bytes(description)))
            body = {k: v for k, v in description.items() if k != "id" and v is not None}
            log = log_key_info(session)
            row = writer.append(
                CASE_OPENED,
                [subject],
                {
                    **body,
                    "opened_by": key_description(actor),
                    "log": {**log.describe(), "origin": log.origin(case_id)},
                },
            )
            case.opened_at = row.time
            writer.mark_key_introduced(row.sequence)
            writer.flush()
    except DbIntegrityError as exc:  # a concurrent open of the same id
        raise PolicyError(f"case {case_id} already exists") from exc
    return case


@dataclass(frozen=True)
class CaseSummary:
    case: db.CaseRow
    artifacts: int
    tools: int
    runs: int
    custodian: str  # name (or key id prefix) of the current custodian

    @property
    def jurisdictions(self) -> list[str]:
        return list(json.loads(self.case.jurisdictions))


def get_case(ws: Workspace, case_id: str) -> CaseSummary:
    with db.transaction(ws.engine) as session:
        case = session.get(db.CaseRow, case_id)
        if case is None:
            raise NotFoundError(f"no case {case_id!r} in this workspace", hint="see 'custody case list'")
        return _summarise(session, case)


def list_cases(ws: Workspace) -> list[CaseSummary]:
    with db.transaction(ws.engine) as session:
        rows = session.exec(select(db.CaseRow).order_by(db.CaseRow.id)).all()
        return [_summarise(session, case) for case in rows]


def _summarise(session: Session, case: db.CaseRow) -> CaseSummary:
    def count(model: type, column: object) -> int:
        statement = select(func.count()).select_from(model).where(column == case.id)
        return int(session.exec(statement).one())

    holder = session.get(db.ActorRow, case.custodian)
    return CaseSummary(
        case=case,
        artifacts=count(db.ArtifactRow, db.ArtifactRow.case_id),
        tools=count(db.CaseToolRow, db.CaseToolRow.case_id),
        runs=count(db.RunRow, db.RunRow.case_id),
        custodian=holder.name if holder else f"{case.custodian[:16]}...",
    )
