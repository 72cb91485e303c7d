"""``custody import warc``: web captures in WARC or WACZ (``custody.warc`` parses them).

The capture file itself is recorded unchanged as the evidentiary original (Berkeley Protocol: keep
the capture close to its original format). Every HTTP response payload and every ``resource``
record (screenshots...) is recorded as a byte-identical extract of it: a derivative naming the
WARC record id and offsets, with the target URI, WARC-Date, HTTP status and headers, the linked
request and the checked payload digest signed into its details. Certificate records and the
parser's findings are signed into the capture's own record.

Invariants: the whole file is parsed and every digest checked before any entry is written; all
entries of one import are appended in one transaction; a capture whose bytes are already imported
into the case is skipped (one recorded otherwise, e.g. with ``custody record``, is imported).
Payloads are stored as the file is read (``custody.warc.read_warc_file``, on both cores for a
large gzip WARC; small payloads are appended to one pack file of the blob store), and all of them
are on disk before the entries commit; if parsing fails, the unsealed pack is removed (a killed
import leaves it unindexed, and ``fsck`` lists it as a stray file). The extracts are new to the
case by construction (each names the capture just recorded), so they are built and signed on
both cores (``recording.append_new_artifact_records``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from custody import db
from custody.bulkgc import fewer_collections
from custody.digests import sha256_stream
from custody.errors import InputFileError, IntegrityError, PolicyError
from custody.ledger import LedgerWriter, ledger_writer, unlock_actor
from custody.models import ArtifactRole, HumanInvolvement, Origin, Provenance, Source, ToolRef
from custody.recording import (
    RecordOptions,
    append_artifact_record,
    append_new_artifact_records,
    check_case_takes_evidence,
    guess_media_type,
    involvement,
    recorded_as,
)
from custody.runs import load_open_run
from custody.store import StoredBlob
from custody.tools import ensure_tool_in_case, resolve_tool
from custody.warc import (
    RecordHead,
    WaczCapture,
    WarcCapture,
    WarcResource,
    WarcResponse,
    read_wacz,
    read_warc_file,
)
from custody.workspace import Workspace

CAPTURE_TOOL_KINDS = frozenset({"scraper", "crawler", "manual_capture", "other"})
WARC_MEDIA_TYPE = "application/warc"
WACZ_MEDIA_TYPE = "application/wacz"


@dataclass(frozen=True)
class ImportedCapture:
    digest: str
    sequence: int
    payloads: int
    findings: int
    duplicate: bool


def _payload_name(index: int, uri: str | None, media_type: str | None) -> str:
    tail = PurePosixPath(urlsplit(uri or "").path).name if uri else ""
    stem = tail or "index"
    if media_type and "." not in stem:
        suffix = {
            "text/html": ".html",
            "image/png": ".png",
            "image/jpeg": ".jpg",
            "application/json": ".json",
        }
        stem += suffix.get(media_type.split(";")[0].strip(), "")
    return f"{index:05d}-{stem}"[:200]


@fewer_collections()  # millions of short-lived objects
def import_warc(
    ws: Workspace,
    case_id: str,
    path: Path,
    *,
    tool_spec: str,
    run_id: str | None = None,
    options: RecordOptions | None = None,
    actor_name: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportedCapture:
    """Import one WARC (``.warc``, ``.warc.gz``) or WACZ file; ``options`` may set the HIL level
    and operator (the other claims come from the capture itself). ``progress`` is told how far
    into the file parsing has got, in bytes (for a WACZ, only when it is done)."""
    options = options or RecordOptions()
    if path.is_symlink() or not path.is_file():
        raise InputFileError(f"capture file not found (or not a regular file): {path}")
    actor, signer = unlock_actor(ws, actor_name)
    with db.transaction(ws.engine) as session:
        check_case_takes_evidence(session, case_id)
        run = load_open_run(session, case_id, run_id) if run_id else None
        tool = resolve_tool(session, tool_spec)
        if tool.kind not in CAPTURE_TOOL_KINDS:
            raise PolicyError(
                f"tool {tool.name} is a {tool.kind}; web captures come from a "
                f"{', '.join(sorted(CAPTURE_TOOL_KINDS))} tool"
            )
        if run is not None and run.tool_id != tool.id:
            raise PolicyError(f"run {run.id} is a run of another tool; records in a run come from its tool")

    with ws.store.batch() as blobs:  # payloads packed together; durable before the commit
        parsed = _parse_and_store(ws, path, progress or _no_progress)
        with ledger_writer(ws, case_id, actor, signer) as writer:
            digest = parsed.original.digest
            existing = recorded_as(writer.session, case_id, digest, (WARC_MEDIA_TYPE, WACZ_MEDIA_TYPE))
            if existing is not None:
                return ImportedCapture(digest, existing, 0, parsed.findings, True)
            operator = options.operator or (run.operator if run else actor.name)
            claims = _Claims(
                tool=tool,
                tool_ref=ToolRef(tool.name, tool.version, tool.card_digest),
                hil=involvement(options, run, tool, ArtifactRole.ORIGINAL, Origin.CAPTURED),
                operator=operator,
                run=run.id if run else None,
            )
            ensure_tool_in_case(writer, tool)
            sequence, payloads = _append_capture(writer, path.name, parsed, claims)
            blobs.flush()  # every payload on disk before the entries naming them commit
    return ImportedCapture(parsed.original.digest, sequence, payloads, parsed.findings, False)


@dataclass(frozen=True)
class _Parsed:
    """A capture file parsed, its payloads and the file itself stored."""

    original: StoredBlob
    captures: Sequence[WarcCapture]
    wacz: WaczCapture | None
    findings: int
    payloads: dict[tuple[str, str], StoredBlob]


@dataclass(frozen=True)
class _Claims:
    """What the importer claims about every record of the capture."""

    tool: db.ToolRow
    tool_ref: ToolRef
    hil: HumanInvolvement
    operator: str
    run: str | None


def _no_progress(_position: int) -> None:
    pass


def _parse_and_store(ws: Workspace, path: Path, progress: Callable[[int], None]) -> _Parsed:
    """Parse the capture, storing each response and resource payload as it is read (the parser
    drains and hashes the rest), then the capture file itself, which must not have changed."""
    payloads: dict[tuple[str, str], StoredBlob] = {}
    wacz_file = path.suffix.lower() == ".wacz"

    def sink(head: RecordHead, stream: BinaryIO) -> None:
        if head.record_type in ("response", "resource"):
            payloads[(head.source, head.record_id)] = ws.store.put_stream(stream)
        if not wacz_file:  # a WACZ member's offsets are not positions in the file
            progress(head.offset)

    wacz: WaczCapture | None = None
    try:
        if wacz_file:
            with path.open("rb") as stream:
                # A zip is read out of order, so hash the bytes about to be parsed first.
                parsed_digest, _ = sha256_stream(stream)
                stream.seek(0)
                wacz = read_wacz(stream, name=path.name, payload_sink=sink)
            captures: Sequence[WarcCapture] = wacz.captures
            findings = len(wacz.findings) + sum(len(c.findings) for c in captures)
        else:
            capture = read_warc_file(path, name=path.name, payload_sink=sink)  # on both cores
            captures = (capture,)
            parsed_digest = capture.sha256
            findings = len(capture.findings)
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    progress(wacz.size if wacz is not None else captures[0].size)  # parsed to the end
    original = ws.store.put_file(path)
    if original.digest != parsed_digest:
        raise IntegrityError(f"{path} changed while it was imported (its digest is no longer the one parsed)")
    return _Parsed(original, captures, wacz, findings, payloads)


def _append_capture(writer: LedgerWriter, name: str, parsed: _Parsed, claims: _Claims) -> tuple[int, int]:
    """Append the capture's record, then one per payload; returns (capture entry, payloads)."""
    captures = parsed.captures
    details: dict[str, Any] = {
        "kind": "warc" if parsed.wacz is None else "wacz",
        "captures": [_capture_summary(c) for c in captures],
    }
    if parsed.wacz is not None:
        details["wacz"] = {k: v for k, v in parsed.wacz.to_dict().items() if k not in ("archives",)}
    first_date = min((item.record.date for c in captures for item in c.items), default=None)
    original = parsed.original
    sequence, _ = append_artifact_record(
        writer,
        Provenance(
            digest=original.digest,
            size=original.size,
            media_type=WARC_MEDIA_TYPE if parsed.wacz is None else WACZ_MEDIA_TYPE,
            name=name,
            origin=Origin.CAPTURED,
            role=ArtifactRole.ORIGINAL,
            hil=claims.hil,
            tool=claims.tool_ref,
            operator=claims.operator,
            captured_at=first_date,
            run=claims.run,
            details=details,
        ),
        claims.tool,
    )
    # New to the case by construction (each names the capture just recorded); built and signed on
    # both cores: the provenance of thousands of payloads is most of an import's work.
    items = [
        (capture.name, item)
        for capture in captures
        for item in capture.items
        if isinstance(item, WarcResponse | WarcResource)
    ]
    build = partial(_extract_provenance, parsed=parsed, claims=claims)
    return sequence, len(append_new_artifact_records(writer, claims.tool, build, items))


def _extract_provenance(
    named: tuple[str, WarcResponse | WarcResource], *, parsed: _Parsed, claims: _Claims
) -> Provenance:
    """The provenance of one payload extract. An extract is acquired, not analysed: the tool
    only cut the bytes the capture holds, so it carries the capture's own HIL."""
    capture_name, item = named
    blob = parsed.payloads.get((capture_name, item.record.record_id))
    if blob is None or blob.digest != item.payload.sha256:
        raise IntegrityError(
            f"{capture_name}: payload of record {item.record.record_id} was not stored as parsed"
        )
    media = item.payload.media_type or guess_media_type(item.record.target_uri or "")
    return Provenance(
        digest=blob.digest,
        size=blob.size,
        media_type=media or "application/octet-stream",
        name=_payload_name(item.record.index, item.record.target_uri, media),
        origin=Origin.CAPTURED,
        role=ArtifactRole.DERIVATIVE,
        hil=claims.hil,
        tool=claims.tool_ref,
        operator=claims.operator,
        derived_from=(parsed.original.digest,),
        transformation=(
            f"payload of WARC {item.kind} record {item.record.record_id} "
            f"(record at byte {item.record.offset}, payload at byte "
            f"{item.payload.offset_in_block} of its block), byte-identical"
        ),
        source=Source(url=item.record.target_uri),
        captured_at=item.record.date,
        run=claims.run,
        details={**item.to_dict(), "kind": f"warc-{item.kind}", "warc": capture_name},
    )


def _capture_summary(capture: WarcCapture) -> dict[str, Any]:
    return {
        "name": capture.name,
        "digest": {"sha256": capture.sha256},
        "size": capture.size,
        "compression": capture.compression,
        "records": len(capture.items),
        "warcinfo": [info.to_dict() for info in capture.warcinfo],
        "certificate_records": [record.to_dict() for record in capture.certificate_records],
        "findings": [finding.to_dict() for finding in capture.findings],
    }
