"""``custody fsck``: check a workspace end to end: database vs blobs vs ledger vs checkpoints.

Invariants: fsck only reads (``clean_temp=True`` removes temp files of interrupted writes older
than an hour, which nothing references and no running write still owns). Every case gets the full
``verify_case_log`` checklist; the store gets its own: every blob the database references exists
and re-hashes; blobs nothing references and temp files left by an interrupted write are reported
as notes, not failures (a killed ``record`` leaves exactly these, and they are harmless).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import select

from custody import db
from custody.caselog import verify_case_log
from custody.errors import CustodyError
from custody.ledger_verify import Report
from custody.tools import card_of
from custody.workspace import Workspace

TEMP_FILE_GRACE_SECONDS = 3600


@dataclass
class FsckResult:
    cases: list[Report] = field(default_factory=list)
    store: Report = field(default_factory=lambda: Report(subject="blob store"))
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.store.ok and all(report.ok for report in self.cases)


def referenced_digests(ws: Workspace) -> set[str]:
    """Every blob the database points at: artifacts, tool cards and the files cards name."""
    with db.transaction(ws.engine) as session:
        digests = set(session.exec(select(db.ArtifactRow.digest)).all())
        for tool in session.exec(select(db.ToolRow)).all():
            digests.add(tool.card_digest)
            model = card_of(tool).get("model")
            if isinstance(model, dict):
                for value in model.values():
                    if isinstance(value, dict) and isinstance(value.get("digest"), dict):
                        digests.add(value["digest"]["sha256"])
    return digests


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()  # finished meanwhile: treat as young


def fsck(ws: Workspace, *, clean_temp: bool = False) -> FsckResult:
    result = FsckResult()
    with db.transaction(ws.engine) as session:
        case_ids = list(session.exec(select(db.CaseRow.id).order_by(db.CaseRow.id)).all())
    for case_id in case_ids:
        result.cases.append(verify_case_log(ws, case_id))

    referenced = referenced_digests(ws)
    present = set(ws.store.iter_digests())
    check = result.store.add("every blob the database references is stored and re-hashes to its digest")
    for digest in sorted(referenced):
        try:
            ws.store.verify(digest)
        except CustodyError as exc:
            check.fail(exc.message)
    orphans = sorted(present - referenced)
    if orphans:
        result.notes.append(
            f"{len(orphans)} stored blob(s) referenced by no record (an interrupted record leaves "
            f"these; harmless): {', '.join(d[:16] + '...' for d in orphans[:5])}"
        )
    stray = ws.store.stray_temp_files()
    if stray:
        # A temp file this young may belong to a record still running: never pull it away.
        cutoff = time.time() - TEMP_FILE_GRACE_SECONDS
        old = [path for path in stray if _mtime(path) < cutoff]
        if clean_temp:
            for path in old:
                path.unlink(missing_ok=True)
            verb = f"removed {len(old)}; files younger than an hour may belong to a running write"
        else:
            verb = "remove those older than an hour with --clean"
        result.notes.append(f"{len(stray)} temporary file(s) of interrupted or running writes ({verb})")
    return result
