"""``custody import dir``: a folder of files described by a ``custody/sidecar/v1`` sidecar.

Each file the sidecar lists is recorded with the provenance the sidecar gives it (origin, role,
parents, transformation, tool and version, HIL); ``language``, ``source_language``, the parents'
notes, the file's path in the folder and the digest of the sidecar itself go into the signed
details. The sidecar's bytes are kept in the blob store, so the claims can be shown as written.

Invariants:
- Nothing is stored before the sidecar parses and every listed file is found inside the folder
  (no symbolic link anywhere on its path), every tool is registered, the run (if any) is open and
  every parent is an artifact of the case or another file of the same import.
- A file whose bytes differ from the sidecar's ``sha256``/``size`` stops the import
  (``IntegrityError``): it changed after the sidecar was written.
- All entries are appended in one transaction, parents before children; files whose provenance is
  already recorded are skipped, so importing the same folder again adds nothing.
- Files in the folder that the sidecar does not list are reported, never imported.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custody import db
from custody.bulkgc import fewer_collections
from custody.digests import sha256_hex
from custody.errors import FormatError, InputFileError, IntegrityError, NotFoundError, PolicyError
from custody.ledger import ledger_writer, unlock_actor
from custody.models import Provenance, ToolRef
from custody.recording import (
    ArtifactRecord,
    append_artifact_records,
    check_case_takes_evidence,
    recorded_in_case,
)
from custody.runs import load_open_run
from custody.sidecar import MAX_SIDECAR_BYTES, Sidecar, SidecarFile, parse_sidecar
from custody.store import StoredBlob
from custody.tools import ensure_tool_in_case, resolve_tool
from custody.workspace import Workspace

SIDECAR_NAME = "sidecar.json"
SIDECAR_SCHEMA_DOC = "docs/sidecar-format.md"


@dataclass(frozen=True)
class ImportedFile:
    path: str
    digest: str
    size: int
    sequence: int
    duplicate: bool


@dataclass(frozen=True)
class ImportedFolder:
    sidecar_digest: str
    files: tuple[ImportedFile, ...]
    unlisted: tuple[str, ...]  # files in the folder the sidecar does not list (not imported)


def _read_sidecar(folder: Path, name: str) -> bytes:
    path = folder / name
    if path.is_symlink():
        raise InputFileError(f"sidecar {path} is a symbolic link; refusing to follow it")
    if not path.is_file():
        raise InputFileError(
            f"no sidecar {name} in {folder}: a folder import needs a custody/sidecar/v1 file saying "
            f"what each file is and which tool made it",
            hint=f"see {SIDECAR_SCHEMA_DOC}, or record single files with 'custody record'",
        )
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            raise InputFileError(f"sidecar {path} is larger than {MAX_SIDECAR_BYTES} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read sidecar {path}: {exc.strerror or exc}") from exc


def _listed_file(folder: Path, relative: str, sidecar: str) -> Path:
    """The regular file at ``relative`` under ``folder``, refusing symbolic links on the way."""
    current = folder
    for part in relative.split("/"):
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            raise InputFileError(f"{sidecar} lists {relative}, but {current} does not exist") from None
        except OSError as exc:
            raise InputFileError(f"cannot read {current}: {exc.strerror or exc}") from exc
        if stat.S_ISLNK(mode):
            raise InputFileError(f"{sidecar} lists {relative}, but {current} is a symbolic link")
    if not stat.S_ISREG(mode):
        raise InputFileError(f"{sidecar} lists {relative}, but it is not a regular file")
    return current


def _unlisted(folder: Path, listed: set[str], sidecar_name: str) -> tuple[str, ...]:
    found = []
    for base, dirs, files in os.walk(folder):  # does not follow symbolic links to folders
        dirs.sort()
        for name in sorted(files):
            relative = Path(base, name).relative_to(folder).as_posix()
            if relative != sidecar_name and relative not in listed:
                found.append(relative)
    return tuple(found)


def _in_dependency_order(files: Sequence[SidecarFile], sidecar: str) -> list[SidecarFile]:
    """Parents before children when both are in the import; a cycle is a format error."""
    by_digest: dict[str, list[SidecarFile]] = {}
    for item in files:
        by_digest.setdefault(item.sha256, []).append(item)
    ordered: list[SidecarFile] = []
    state: dict[str, str] = {}  # path -> "visiting" | "done"

    def visit(item: SidecarFile) -> None:
        mark = state.get(item.path)
        if mark == "done":
            return
        if mark == "visiting":
            raise FormatError(f"{sidecar}: {item.path} is derived, through other files, from itself")
        state[item.path] = "visiting"
        for parent in item.parent_digests:
            for candidate in by_digest.get(parent, ()):
                visit(candidate)
        state[item.path] = "done"
        ordered.append(item)

    for item in files:
        visit(item)
    return ordered


def _details(item: SidecarFile, sidecar_name: str, sidecar_digest: str) -> dict[str, Any]:
    details: dict[str, Any] = {
        "kind": "sidecar-file",
        "path": item.path,
        "sidecar": {"name": sidecar_name, "digest": {"sha256": sidecar_digest}},
    }
    if item.language:
        details["language"] = item.language
    if item.source_language:
        details["source_language"] = item.source_language
    notes = [{"sha256": p.sha256, "note": p.note} for p in item.parents if p.note]
    if notes:
        details["parent_notes"] = notes
    return details


@fewer_collections()  # millions of short-lived objects
def import_folder(
    ws: Workspace,
    case_id: str,
    folder: Path,
    *,
    sidecar_name: str = SIDECAR_NAME,
    run_id: str | None = None,
    actor_name: str | None = None,
) -> ImportedFolder:
    """Import the files ``folder``'s sidecar lists.

    Raises:
        InputFileError: the folder, the sidecar or a listed file is missing, unreadable or a
            symbolic link (exit 3).
        FormatError: the sidecar is malformed (exit 3).
        IntegrityError: a file's bytes no longer match the sidecar.
        NotFoundError / PolicyError: unknown case, tool, run or parent; sealed case.
    """
    if folder.is_symlink() or not folder.is_dir():
        raise InputFileError(f"folder to import not found (or not a folder): {folder}")
    data = _read_sidecar(folder, sidecar_name)
    label = str(folder / sidecar_name)
    sidecar: Sidecar = parse_sidecar(data, name=label)
    paths = {item.path: _listed_file(folder, item.path, label) for item in sidecar.files}
    unlisted = _unlisted(folder, set(paths), sidecar_name)
    ordered = _in_dependency_order(sidecar.files, label)
    actor, signer = unlock_actor(ws, actor_name)

    with db.transaction(ws.engine) as session:
        check_case_takes_evidence(session, case_id)
        run = load_open_run(session, case_id, run_id) if run_id else None
        tools: dict[tuple[str, str], db.ToolRow] = {}
        for item in ordered:
            key = (item.tool_name, item.tool_version)
            if key not in tools:
                tools[key] = resolve_tool(session, f"{item.tool_name}@{item.tool_version}")
            if run is not None and run.tool_id != tools[key].id:
                raise PolicyError(
                    f"{label}: {item.path} was made by {item.tool_name} {item.tool_version}, but run "
                    f"{run.id} is a run of another tool; import files of other tools without --run"
                )
        in_import = {item.sha256 for item in ordered}
        parents = sorted({p for item in ordered for p in item.parent_digests} - in_import)
        missing = set(parents) - set(recorded_in_case(session, case_id, parents, by=db.ArtifactRow.digest))
        if missing:
            first = next(item for item in ordered if set(item.parent_digests) & missing)
            parent = sorted(set(first.parent_digests) & missing)[0]
            raise NotFoundError(
                f"{label}: {first.path} is derived from {parent[:16]}..., which is not an artifact of "
                f"case {case_id} nor a file of this import",
                hint="import or record the parent first (e.g. the WARC the page came from)",
            )

    stored: dict[str, StoredBlob] = {}
    with ws.store.batch():  # stored durably together, before any entry names them
        sidecar_blob = ws.store.put_bytes(data)
        for item in ordered:
            blob = ws.store.put_file(paths[item.path])
            if blob.digest != item.sha256 or blob.size != item.size:
                raise IntegrityError(
                    f"{folder / item.path} does not match {label}: expected sha256 {item.sha256} and "
                    f"{item.size} bytes, found {blob.digest} and {blob.size} bytes (the file changed "
                    "after the sidecar was written)"
                )
            stored[item.path] = blob
    assert sidecar_blob.digest == sha256_hex(data)

    operator = run.operator if run else actor.name
    records = []
    for item in ordered:
        tool = tools[(item.tool_name, item.tool_version)]
        provenance = Provenance(
            digest=item.sha256,
            size=item.size,
            media_type=item.media_type,
            name=Path(item.path).name,
            origin=item.origin,
            role=item.role,
            hil=item.hil,
            tool=ToolRef(tool.name, tool.version, tool.card_digest),
            operator=operator,
            derived_from=item.parent_digests,
            transformation=item.transformation,
            source=item.source,
            captured_at=item.captured_at,
            run=run.id if run else None,
            details=_details(item, sidecar_name, sidecar_blob.digest),
        )
        records.append(ArtifactRecord(provenance, tool))
    with ledger_writer(ws, case_id, actor, signer) as writer:
        for tool in tools.values():
            ensure_tool_in_case(writer, tool)
        appended = append_artifact_records(writer, records)
    files = tuple(
        ImportedFile(item.path, item.sha256, item.size, sequence, duplicate)
        for item, (sequence, duplicate) in zip(ordered, appended, strict=True)
    )
    return ImportedFolder(sidecar_blob.digest, files, unlisted)
