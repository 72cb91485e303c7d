"""``custody bundle``: export a case as a disclosure bundle (a zipped BagIt bag).

Layout (DESIGN.md, "Disclosure bundle"), under one top folder ``<case>-<size>``:

    bagit.txt  bag-info.txt  manifest-sha256.txt  tagmanifest-sha256.txt
    tagmanifest-sha256.txt.sig   raw Ed25519 signature over tagmanifest-sha256.txt by the exporter
    VERIFY.md                    how to check it with sha256sum, openssl and a few lines of Python
    verify_bundle.py             the standalone verifier (custody/standalone/verify_bundle.py)
    data/artifacts/<sha256>[.ext]
    data/exhibits.json           exhibit numbers, digests, records (``custody.exhibits``)
    data/withheld.json           the schedule of withheld material: exhibit, digest, entries, reason
    data/case.jsonld             the case as CASE/UCO JSON-LD (``custody.caseuco``): a derived view
    data/questionnaire.json      the admissibility questionnaires (``custody.questionnaire``), one per
                                 jurisdiction set of the case, evaluated over the disclosed entries
    data/ledger/entries.jsonl    every entry, exactly the signed bytes, one per line
    data/ledger/checkpoint       the checkpoint (C2SP signed note) over exactly those entries
    data/dossier.pdf             the PDF dossier, rendered from the rest of the payload once it
                                 passes the verifier's payload checks (``custody.dossier``)
    data/keys/<name>.pem, data/keys/log.pem, data/keys/keys.json

Invariants:
- The bundle covers a fixed prefix of the log: a checkpoint is signed (or found) first, and
  exactly the entries it covers are disclosed, whatever is appended meanwhile.
- The exporter's key is introduced into the case before that checkpoint, so the key that signs
  the tag manifest is one the disclosed ledger introduces.
- Artifact bytes are copied from the blob store through a verified read: a blob that no longer
  matches its digest stops the export.
- The zip is written to a temporary file beside the output and renamed into place when complete;
  the same case state gives the same bytes (no wall-clock data beyond the signed records).
- After the file is in place, a ``bundle.exported`` event names its tag-manifest digest and
  recipient (the bundle cannot contain its own export event).
- No private key material is written: keys are exported as public PEM only.
- ``data/dossier.pdf`` is rendered from the staged payload after the verifier's payload checks,
  and carries the exporter's PAdES signature when they hold a document-signing certificate (then
  the bundle's bytes differ between two exports of the same state: the signature has its time
  and a randomised ECDSA value).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from custody import db, merkle
from custody.bag import (
    BAG_DECLARATION,
    BAG_INFO,
    BAGIT_TXT,
    PAYLOAD_MANIFEST,
    TAG_MANIFEST,
    BagFile,
    bag_info_text,
    manifest_text,
    write_zip,
)
from custody.bundle_layout import (
    CASE_JSONLD,
    CHECKPOINT,
    ENTRIES,
    EXHIBITS,
    FORMAT,
    KEYS_INDEX,
    LOG_KEY_PEM,
    QUESTIONNAIRE,
    SIGNATURE_FILE,
    STANDALONE_VERIFIER,
    VERIFY_DOC,
    WITHHELD,
    artifact_path,
    key_pem_path,
)
from custody.canonical import canonical_bytes
from custody.case_checkpoints import sign_case_checkpoint
from custody.caselog import list_entries
from custody.caseuco import graph_of
from custody.certificates import binding_path
from custody.checkpoint import _unverified_checkpoint
from custody.commitments import REDACTED_KIND
from custody.digests import sha256_hex
from custody.disclosure import WithheldEntry
from custody.dossier import dossier_for_payload
from custody.errors import FormatError, IntegrityError, NotFoundError, PolicyError
from custody.events import (
    BUNDLE_EXPORTED,
    KEY_ADDED,
    CustodyEvent,
    _unverified_event,
    role_may_sign,
)
from custody.exhibits import (
    ARTIFACT_EVENTS,
    WITHHELD_BYTES,
    WITHHELD_RECORD,
    WithheldExhibit,
    exhibit_index,
    ledger_keys,
)
from custody.keys import PublicKey, fingerprint
from custody.ledger import key_description, key_subject, ledger_writer, unlock_actor
from custody.ledger_verify import VerifiedLedger, log_key_of
from custody.models import Provenance
from custody.outputs import write_atomically
from custody.questionnaire import evaluate, question_sets_for
from custody.resources import templates_dir
from custody.statement import Subject
from custody.workspace import Workspace


@dataclass(frozen=True)
class ExportedBundle:
    path: Path
    top: str
    entries: int
    root: str
    artifacts: int
    tagmanifest_sha256: str
    sequence: int  # the bundle.exported entry
    withheld: tuple[WithheldExhibit, ...] = ()


@dataclass(frozen=True)
class Withholding:
    """An artifact to leave out of a bundle (a digest or an unambiguous prefix) and why."""

    digest: str
    reason: str


def export_bundle(
    ws: Workspace,
    case_id: str,
    output: Path,
    *,
    recipient: str | None = None,
    withhold: Sequence[Withholding] = (),
    actor_name: str | None = None,
    progress: Callable[[int], None] | None = None,
    strict: bool = False,
) -> ExportedBundle:
    """Write the disclosure bundle of ``case_id`` to ``output`` and record its export.

    A withheld artifact's bytes are left out and the entries recording it are replaced by their
    leaf hash and the reason (``custody.disclosure``): the signed Merkle root still verifies, the
    exhibit keeps its number, and ``data/withheld.json`` schedules what was withheld and why. A
    withheld transcript whose redacted copy is disclosed is withheld bytes only: its records stay,
    so the copy can be checked against the original's signed commitment root.

    With ``strict``, the export is refused while any admissibility question of the case's sets is
    unanswered in what the bundle discloses (``data/questionnaire.json`` is in every bundle).

    Raises:
        NotFoundError / PolicyError: unknown case or artifact to withhold; a key that may not
            export (a tool's key); with ``strict``, an unanswered question (nothing is written
            but the exporter's key.added, if new, and the export checkpoint).
        FormatError: an ambiguous digest prefix, an empty reason.
        IntegrityError: a stored artifact no longer matches its digest (nothing is written).
        StoreError: the output cannot be written.
    """
    actor, signer = unlock_actor(ws, actor_name)
    if not role_may_sign(actor.role, BUNDLE_EXPORTED):
        raise PolicyError(f"key {actor.name!r} is a tool's service key: a person exports bundles")
    sign_dossier = _dossier_signer(ws, actor, case_id)  # unlocked before anything is written
    with ledger_writer(ws, case_id, actor, signer) as writer:  # the exporter's key, in the case first
        if writer.session.get(db.CaseKeyRow, (case_id, actor.key_id)) is None:
            row = writer.append(KEY_ADDED, [key_subject(actor)], {"key": key_description(actor)})
            writer.mark_key_introduced(row.sequence)
    checkpoint = sign_case_checkpoint(ws, case_id, reason="export")
    entries = [row.entry for row in list_entries(ws, case_id)[: checkpoint.size]]
    events = [_unverified_event(entry, what=f"entry {n}")[1] for n, entry in enumerate(entries)]
    top = f"{case_id}-{checkpoint.size:06d}"

    withheld = _stand_ins(events, _withheld_exhibits(exhibit_index(events), withhold, case_id))
    hidden = {sequence for item in withheld for sequence in item.records}
    reasons = {sequence: item.reason for item in withheld for sequence in item.records}
    lines = [
        WithheldEntry(merkle.leaf_hash(entry), reasons[n]).to_line() if n in hidden else entry
        for n, entry in enumerate(entries)
    ]
    disclosed = [None if n in hidden else event for n, event in enumerate(events)]
    exhibits = exhibit_index(disclosed, withheld=withheld)  # what the verifier recomputes
    payload = [*_artifact_files(ws, exhibits)]
    payload.append(BagFile(EXHIBITS, _json({"format": FORMAT, "case": case_id, "exhibits": exhibits})))
    scopes = {item.sha256: item.scope for item in withheld}
    schedule = [
        {
            "exhibit": e["exhibit"],
            "sha256": e["sha256"],
            "scope": scopes[e["sha256"]],
            "entries": e["records"] if scopes[e["sha256"]] == WITHHELD_RECORD else [],
            "reason": e["withheld"],
        }
        for e in exhibits
        if "withheld" in e
    ]
    payload.append(BagFile(WITHHELD, _json({"format": FORMAT, "case": case_id, "withheld": schedule})))
    payload.append(BagFile(CASE_JSONLD, _json(graph_of(case_id, disclosed, exhibits))))
    payload.append(_questionnaire_file(ws, case_id, disclosed, exhibits, withheld, strict=strict))
    payload.append(BagFile(ENTRIES, b"".join(line + b"\n" for line in lines)))
    payload.append(BagFile(CHECKPOINT, checkpoint.note))
    payload.extend(_key_files(events, actor, case_id))
    # Rendered from the staged payload after the verifier's payload checks, before the manifests
    # and the signature: the dossier is covered by them like every payload file.
    payload.append(
        dossier_for_payload(
            top,
            payload,
            case_id=case_id,
            exporter=actor.key_id,
            recipient=recipient,
            sign=sign_dossier,
        )
    )

    _, signed = _unverified_checkpoint(checkpoint.note)
    payload_digests = {item.path: item.digest for item in payload}
    octets = sum(item.size for item in payload)
    info = bag_info_text(
        [
            ("Bag-Software-Agent", "custody"),
            ("External-Identifier", case_id),
            ("Bagging-Date", events[-1].time[:10]),
            ("Payload-Oxum", f"{octets}.{len(payload)}"),
            ("Custody-Format", FORMAT),
            ("Custody-Case", case_id),
            ("Custody-Ledger-Entries", str(checkpoint.size)),
            ("Custody-Checkpoint-Root", signed.root_hash.hex()),
            ("Custody-Exporter-Key-Id", actor.key_id),
            ("Custody-Exporter-Name", actor.name),
            *([("Custody-Recipient", recipient)] if recipient else []),
        ]
    )
    verify_doc = _verify_doc(top, case_id, checkpoint.size, len(exhibits), actor)
    tags = {
        BAG_DECLARATION: BAGIT_TXT,
        BAG_INFO: info,
        PAYLOAD_MANIFEST: manifest_text(payload_digests),
        VERIFY_DOC: verify_doc,
        STANDALONE_VERIFIER: resources.files("custody.standalone").joinpath(STANDALONE_VERIFIER).read_bytes(),
    }
    tag_manifest = manifest_text({path: sha256_hex(data) for path, data in tags.items()})
    signature = signer.sign(tag_manifest).value
    files = [*payload, *(BagFile(p, d) for p, d in tags.items()), BagFile(TAG_MANIFEST, tag_manifest)]
    files.append(BagFile(SIGNATURE_FILE, signature))
    write_atomically(output, lambda out: write_zip(out, top, files, progress), what="the bundle")

    tag_digest = sha256_hex(tag_manifest)
    body: dict[str, Any] = {
        "bundle": {
            "name": top,
            "format": FORMAT,
            "tagmanifest": {"sha256": tag_digest},
            "entries": checkpoint.size,
            "root": signed.root_hash.hex(),
            "artifacts": len(exhibits),
        },
        "withheld": [
            {"sha256": item.sha256, "scope": item.scope, "reason": item.reason} for item in withheld
        ],
    }
    if recipient:
        body["recipient"] = recipient
    with ledger_writer(ws, case_id, actor, signer) as writer:
        exported = writer.append(BUNDLE_EXPORTED, [Subject(f"bundle:{top}", tag_digest)], body)
    return ExportedBundle(
        output,
        top,
        checkpoint.size,
        signed.root_hash.hex(),
        len(exhibits),
        tag_digest,
        exported.sequence,
        tuple(withheld),
    )


def _withheld_exhibits(
    exhibits: Sequence[dict[str, Any]], withhold: Sequence[Withholding], case_id: str
) -> list[WithheldExhibit]:
    chosen: dict[str, WithheldExhibit] = {}
    for item in withhold:
        text = item.digest.strip().lower().removeprefix("sha256:")
        matches = [e for e in exhibits if len(text) >= 8 and e["sha256"].startswith(text)]
        if len(text) < 8 or any(c not in "0123456789abcdef" for c in text):
            raise FormatError(
                f"--withhold {item.digest!r}: give a SHA-256 digest or a prefix of 8+ hex digits"
            )
        if not matches:
            raise NotFoundError(f"--withhold {item.digest}: no artifact of case {case_id} has this digest")
        if len(matches) > 1:
            raise FormatError(f"--withhold {item.digest}: the prefix matches {len(matches)} artifacts")
        if not item.reason.strip():
            raise FormatError(f"--withhold {item.digest}: give the reason it is withheld (--reason)")
        exhibit = matches[0]
        chosen[exhibit["sha256"]] = WithheldExhibit(exhibit["sha256"], tuple(exhibit["records"]), item.reason)
    return list(chosen.values())


def _stand_ins(events: Sequence[CustodyEvent], withheld: Sequence[WithheldExhibit]) -> list[WithheldExhibit]:
    """A withheld transcript with a disclosed redacted copy is withheld bytes only: the redacted
    copy stands in for it, and is checked against the commitment root in the original's signed
    record, so that record stays disclosed (withholding it too would leave the copy unverifiable)."""
    hidden = {item.sha256 for item in withheld}
    stood_in: set[str] = set()
    for event in events:
        if event.event_type not in ARTIFACT_EVENTS:
            continue
        provenance = Provenance.from_dict(event.body)
        if (provenance.details or {}).get("kind") == REDACTED_KIND and provenance.digest not in hidden:
            stood_in.update(hidden.intersection(provenance.derived_from))
    return [
        replace(item, records=(), scope=WITHHELD_BYTES) if item.sha256 in stood_in else item
        for item in withheld
    ]


def _dossier_signer(ws: Workspace, actor: db.ActorRow, case_id: str) -> Callable[[bytes], bytes] | None:
    """The exporter's PAdES signature for the bundle's dossier, when they hold a document-signing
    certificate (``custody key cert`` / ``import-cert``); None otherwise (the dossier is then
    unsigned, and its certificate of authenticity is left for a wet-ink signature)."""
    if not binding_path(ws, actor.name).is_file():
        return None
    # pyHanko costs half a second to import: only exporters who sign pay for it.
    from custody.pdfsign import load_signing_credential, sign_pdf  # noqa: PLC0415

    credential = load_signing_credential(ws, actor.name)
    reason = f"{actor.name} ({actor.role}) certifies this dossier of a disclosure bundle of case {case_id}"
    return lambda pdf: sign_pdf(pdf, credential, reason=reason, signing_time=ws.clock())


def _questionnaire_file(
    ws: Workspace,
    case_id: str,
    disclosed: Sequence[CustodyEvent | None],
    exhibits: Sequence[dict[str, Any]],
    withheld: Sequence[WithheldExhibit],
    *,
    strict: bool,
) -> BagFile:
    """``data/questionnaire.json``: the questionnaires evaluated over exactly what the bundle
    discloses (so a reader of the bundle recomputes the same); with ``strict``, refuse while any
    question is unanswered."""
    shown = {e["sha256"] for e in exhibits if "withheld" not in e}

    def read(digest: str) -> bytes | None:
        return ws.store.read_bytes(digest) if digest in shown else None

    try:
        sets = question_sets_for(disclosed)
    except NotFoundError:
        sets = []  # no set for the case's jurisdictions: nothing to answer, and not court-ready
    questionnaires = [evaluate(disclosed, s, read_artifact=read, withheld=withheld) for s in sets]
    unanswered = [
        f"{q.jurisdiction}: {', '.join(r.question.id for r in q.unanswered)}"
        for q in questionnaires
        if q.unanswered
    ]
    if strict and (unanswered or not sets):
        raise PolicyError(
            f"--strict: case {case_id} is not court-ready; "
            + (f"unanswered questions {'; '.join(unanswered)}" if sets else "no question set applies to it"),
            hint=f"see 'custody questions {case_id}'; answer: custody answer {case_id} QUESTION-ID TEXT",
        )
    document = {"format": FORMAT, "case": case_id, "questionnaires": [q.to_dict() for q in questionnaires]}
    return BagFile(QUESTIONNAIRE, _json(document))


def _artifact_files(ws: Workspace, exhibits: Sequence[dict[str, Any]]) -> Iterator[BagFile]:
    for exhibit in exhibits:
        if "withheld" in exhibit:
            continue
        digest = exhibit["sha256"]
        yield BagFile(
            artifact_path(digest, exhibit["name"]),
            # Read once, re-hashed while the zip is written: a blob that no longer matches its
            # digest raises IntegrityError and the partial zip is removed.
            partial(ws.store.iter_verified, digest),
            length=exhibit["size"],
            sha256=digest,
            compress=False,  # stored: captures are mostly compressed, and read back at disk speed
        )


def _key_files(events: Sequence[CustodyEvent], actor: db.ActorRow, case_id: str) -> Iterator[BagFile]:
    """Every key the ledger introduces and the log key, as PEM, and ``keys.json``."""
    keys = ledger_keys(events)
    log = log_key_of(VerifiedLedger(list(events), {}))
    if log is None:
        raise IntegrityError(f"case {case_id}: entry 0 publishes no log key; checkpoints cannot be checked")
    note_name, log_key, origin = log
    for key in keys:
        yield BagFile(key_pem_path(key["name"]), PublicKey.from_hex(key["public_key"]).to_pem())
    yield BagFile(LOG_KEY_PEM, log_key.to_pem())
    index = {
        "format": FORMAT,
        "keys": [{**key, "pem": key_pem_path(key["name"]).removeprefix("data/")} for key in keys],
        "log": {
            "note_name": note_name,
            "key_id": log_key.key_id,
            "fingerprint": fingerprint(log_key.key_id),
            "origin": origin,
            "pem": LOG_KEY_PEM.removeprefix("data/"),
        },
        "exporter": actor.key_id,
    }
    yield BagFile(KEYS_INDEX, _json(index))


def _json(document: Any) -> bytes:
    return canonical_bytes(document) + b"\n"


def _verify_doc(top: str, case_id: str, entries: int, artifacts: int, exporter: db.ActorRow) -> bytes:
    template = Template((templates_dir() / "bundle" / VERIFY_DOC).read_text(encoding="utf-8"))
    return template.substitute(
        top=top,
        case=case_id,
        entries=entries,
        artifacts=artifacts,
        exporter_name=exporter.name,
        exporter_role=exporter.role,
        exporter_key_id=exporter.key_id,
        exporter_fingerprint=fingerprint(exporter.key_id),
        exporter_pem=f"{exporter.name}.pem",
    ).encode("utf-8")
