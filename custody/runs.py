"""Runs: one execution of a tool in a case, with its operator, supervisor and configured HIL.

Invariant: a run exists in the database only together with its signed ``run.started`` entry; an
ended run (``run.ended``) takes no new records.
"""

from __future__ import annotations

import platform
import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from custody import __version__, db
from custody.canonical import canonical_bytes
from custody.digests import sha256_hex
from custody.errors import NotFoundError, PolicyError
from custody.events import RUN_ENDED, RUN_STARTED
from custody.ledger import ledger_writer, unlock_actor
from custody.models import HIL, check_slug, parse_enum
from custody.statement import Subject
from custody.tools import ensure_tool_in_case, resolve_tool
from custody.workspace import Workspace


def runtime_environment() -> dict[str, str]:
    """What is recorded about the machine a run was started on."""
    return {
        "custody_version": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "host": platform.node(),
    }


def _run_subject(run_id: str, description: dict[str, Any]) -> Subject:
    return Subject(f"run:{run_id}", sha256_hex(canonical_bytes(description)))


@dataclass(frozen=True)
class RunView:
    run: db.RunRow
    tool: db.ToolRow


def start_run(
    ws: Workspace,
    case_id: str,
    tool_spec: str,
    *,
    hil_configured: str,
    operator: str | None = None,
    supervisor: str | None = None,
    authorisation: str | None = None,
    actor_name: str | None = None,
) -> db.RunRow:
    """Start a run of ``tool_spec`` in ``case_id``; the operator defaults to the acting key's name."""
    level = parse_enum(HIL, hil_configured, what="configured HIL level")
    actor, signer = unlock_actor(ws, actor_name)
    operator_name = check_slug(operator or actor.name, what="operator")
    if supervisor is not None:
        check_slug(supervisor, what="supervisor")
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    with ledger_writer(ws, case_id, actor, signer) as writer:
        tool = resolve_tool(writer.session, tool_spec)
        ensure_tool_in_case(writer, tool)
        description: dict[str, Any] = {
            "id": run_id,
            "tool": {"name": tool.name, "version": tool.version, "card_digest": tool.card_digest},
            "operator": operator_name,
            "hil_configured": level.value,
            "environment": runtime_environment(),
        }
        if supervisor:
            description["supervisor"] = supervisor
        if authorisation:
            description["authorisation"] = authorisation
        row = writer.append(RUN_STARTED, [_run_subject(run_id, description)], {"run": description})
        assert tool.id is not None
        run = db.RunRow(
            id=run_id,
            case_id=case_id,
            tool_id=tool.id,
            operator=operator_name,
            supervisor=supervisor,
            hil_configured=level.value,
            authorisation=authorisation,
            started_at=row.time,
        )
        writer.session.add(run)
    return run


def load_open_run(session: Session, case_id: str, run_id: str) -> db.RunRow:
    run = session.get(db.RunRow, run_id)
    if run is None or run.case_id != case_id:
        raise NotFoundError(f"no run {run_id!r} in case {case_id}", hint=f"see 'custody run list {case_id}'")
    if run.ended_at is not None:
        raise PolicyError(f"run {run_id} ended at {run.ended_at}; it takes no new records")
    return run


def end_run(ws: Workspace, case_id: str, run_id: str, *, actor_name: str | None = None) -> db.RunRow:
    actor, signer = unlock_actor(ws, actor_name)
    with ledger_writer(ws, case_id, actor, signer) as writer:
        run = load_open_run(writer.session, case_id, run_id)
        body = {"run": {"id": run_id, "started_at": run.started_at}}
        row = writer.append(RUN_ENDED, [_run_subject(run_id, body["run"])], body)
        run.ended_at = row.time
        writer.session.add(run)
    return run


def list_runs(ws: Workspace, case_id: str) -> list[RunView]:
    with db.transaction(ws.engine) as session:
        if session.get(db.CaseRow, case_id) is None:
            raise NotFoundError(f"no case {case_id!r} in this workspace")
        statement = (
            select(db.RunRow, db.ToolRow)
            .where(db.RunRow.case_id == case_id, db.RunRow.tool_id == db.ToolRow.id)
            .order_by(db.RunRow.started_at)
        )
        return [RunView(run, tool) for run, tool in session.exec(statement).all()]
