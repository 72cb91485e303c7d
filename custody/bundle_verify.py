"""``custody verify``: check a disclosure bundle offline, with no workspace and no database.

A bundle is read as it is: a zip is never extracted (members are checked by ``custody.safezip``
and streamed), a folder is walked without following symbolic links. Nothing is written.

What cannot even be read as a bag (not a zip, unsafe members, no single top folder, no
``bagit.txt``, malformed manifests or indexes) raises ``FormatError`` (exit 3). Everything else
is a numbered check in a ``Report``; a failed check names the file or entry and says what was
expected and what was found (exit 1).
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from custody.bag import (
    BAG_DECLARATION,
    BAG_INFO,
    BAGIT_TXT,
    PAYLOAD_MANIFEST,
    TAG_MANIFEST,
    parse_bag_info,
    parse_manifest,
)
from custody.bundle_layout import (
    CHECKPOINT,
    ENTRIES,
    EXHIBITS,
    FORMAT,
    KEYS_INDEX,
    SIGNATURE_FILE,
    WITHHELD,
    artifact_path,
)
from custody.canonical import parse_json_object
from custody.checkpoint import _unverified_checkpoint, open_checkpoint
from custody.commitments import REDACTED_KIND, verify_redacted
from custody.digests import check_sha256_hex
from custody.disclosure import LedgerLine, WithheldEntry, leaf_of, parse_ledger_lines, tree_of
from custody.errors import CustodyError, FormatError, InputFileError, IntegrityError
from custody.events import CustodyEvent
from custody.exhibits import (
    ARTIFACT_EVENTS,
    WITHHELD_BYTES,
    WITHHELD_RECORD,
    WITHHELD_SCOPES,
    WithheldExhibit,
    exhibit_index,
    ledger_keys,
)
from custody.keys import PublicKey, fingerprint
from custody.ledger_verify import (
    Check,
    Report,
    VerifiedLedger,
    log_key_of,
    verify_checkpoints,
    verify_continuity,
    verify_ledger,
)
from custody.models import Provenance
from custody.safezip import MemberStream, ZipLimits, check_members, open_zip

MAX_INDEX_BYTES = 64 * 1024 * 1024
"""Largest manifest, index or ledger file read into memory."""
_CHUNK = 1 << 20


@dataclass
class BagSource:
    """The files of a bag (zip members or files of a folder), by path inside the bag."""

    name: str
    top: str
    sizes: dict[str, int]
    _open: Callable[[str], Any]

    def read(self, path: str, *, limit: int = MAX_INDEX_BYTES) -> bytes:
        if path not in self.sizes:
            raise FormatError(f"{self.name}: the bag has no {path}")
        if self.sizes[path] > limit:
            raise FormatError(f"{self.name}: {path} is {self.sizes[path]} bytes (limit {limit})")
        with self._open(path) as stream:
            return b"".join(iter(lambda: stream.read(_CHUNK), b""))

    def sha256(self, path: str, progress: Callable[[int], None] | None = None) -> str:
        hasher = hashlib.sha256()
        with self._open(path) as stream:
            while chunk := stream.read(_CHUNK):
                hasher.update(chunk)
                if progress is not None:
                    progress(len(chunk))
        return hasher.hexdigest()


@contextmanager
def open_bag(path: Path) -> Iterator[BagSource]:
    """Open a bundle: a zip (one top folder holding the bag) or an unzipped bag folder."""
    if path.is_dir() and not path.is_symlink():
        yield _folder_bag(path.resolve() if not path.name else path)
        return
    if not path.is_file():
        raise InputFileError(f"bundle not found (or not a regular file or folder): {path}")
    with ExitStack() as stack:
        try:
            stream = stack.enter_context(path.open("rb"))
        except OSError as exc:
            raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
        archive = stack.enter_context(open_zip(stream, name=path.name, kind="bundle"))
        members = check_members(archive, stream, name=path.name, limits=ZipLimits(), kind="bundle")
        tops = {info.filename.split("/", 1)[0] for info in archive.infolist()}
        if len(tops) != 1 or any("/" not in info.filename for info in members):
            raise FormatError(
                f"{path.name}: a bundle holds one top folder and files under it; found {sorted(tops)[:5]}"
            )
        top = tops.pop()
        by_path = {info.filename.split("/", 1)[1]: info for info in members}

        @contextmanager
        def opener(inner: str) -> Iterator[BinaryIO]:
            info = by_path[inner]
            if info.compress_type == zipfile.ZIP_STORED:
                # Stored members (the artifacts) are read straight from the file, with a handle of
                # their own: no CRC pass and no shared lock, so hashing runs at disk speed. Their
                # SHA-256, checked against the manifest, is the integrity check that counts.
                with _stored_member(path, info) as window:
                    yield window
                return
            try:
                raw = archive.open(info)
            except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError) as exc:
                raise FormatError(f"{path.name}: {inner} cannot be read: {exc}") from exc
            with raw:
                where = f"{path.name}: {inner}"
                yield MemberStream(raw, where=where, declared_size=info.file_size, hashing=False)  # type: ignore[misc]

        yield BagSource(path.name, top, {p: i.file_size for p, i in by_path.items()}, opener)


class _Window:
    """Reads the ``length`` bytes from ``start`` of an open file, and no more."""

    def __init__(self, stream: BinaryIO, start: int, length: int) -> None:
        stream.seek(start)
        self._stream = stream
        self._left = length

    def read(self, size: int = -1) -> bytes:
        wanted = self._left if size < 0 else min(size, self._left)
        data = self._stream.read(wanted)
        self._left -= len(data)
        return data


@contextmanager
def _stored_member(path: Path, info: zipfile.ZipInfo) -> Iterator[BinaryIO]:
    try:
        with path.open("rb", buffering=0) as stream:
            stream.seek(info.header_offset)
            local = stream.read(30)
            if len(local) != 30 or local[:4] != b"PK\x03\x04":
                raise FormatError(f"{path.name}: {info.filename} has no local header")
            start = info.header_offset + 30 + int.from_bytes(local[26:28], "little")
            start += int.from_bytes(local[28:30], "little")
            yield _Window(stream, start, info.compress_size)  # type: ignore[misc]
    except OSError as exc:
        raise FormatError(f"{path.name}: {info.filename} cannot be read: {exc.strerror or exc}") from exc


def _folder_bag(root: Path) -> BagSource:
    """The files under ``root`` by relative path; a symbolic link or special file anywhere is
    refused (a bag folder could otherwise point the verifier at files outside it)."""
    sizes: dict[str, int] = {}
    pending = [("", str(root))]
    while pending:
        prefix, folder = pending.pop()
        with os.scandir(folder) as found:
            for entry in found:
                inner = prefix + entry.name
                if entry.is_symlink():
                    raise FormatError(f"{root.name}: {inner} is a symbolic link; refusing the bundle")
                if entry.is_dir(follow_symlinks=False):
                    pending.append((inner + "/", entry.path))
                elif entry.is_file(follow_symlinks=False):
                    sizes[inner] = entry.stat(follow_symlinks=False).st_size
                else:
                    raise FormatError(f"{root.name}: {inner} is not a regular file or folder")

    @contextmanager
    def opener(inner: str) -> Iterator[BinaryIO]:
        with (root / inner).open("rb") as stream:
            yield stream

    return BagSource(root.name, root.name, sizes, opener)


@dataclass
class BundleVerdict:
    """The report, and whether the verdict is anchored to a key the verifier trusts."""

    report: Report
    anchored_by: list[str] = field(default_factory=list)  # trusted key ids that matched

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def summary(self) -> str:
        if not self.report.ok:
            return "INVALID"
        if self.anchored_by:
            return "VALID, anchored to a trusted key"
        # With --trust and no match, the trust check failed and the verdict is INVALID above.
        return "VALID, not anchored to a trusted key"

    def to_dict(self) -> dict[str, Any]:
        return {**self.report.to_dict(), "verdict": self.summary, "anchored_by": self.anchored_by}


def _matches(trusted: str, key_id: str) -> bool:
    """A trusted key id or fingerprint: at least its first 16 hex digits, ':' separators and a
    "sha256:" prefix allowed."""
    value = trusted.strip().lower().removeprefix("sha256:").replace(":", "")
    return len(value) >= 16 and key_id.startswith(value)


Progress = Callable[[int, int], None]
"""Called as payload bytes are hashed: (bytes just hashed, total payload bytes)."""


def verify_bundle(
    path: Path,
    *,
    trust: Sequence[str] = (),
    previous: Path | None = None,
    progress: Progress | None = None,
) -> BundleVerdict:
    """Verify the bundle at ``path``; ``trust`` holds key ids or fingerprints the caller trusts
    (the exporter's or the log key); ``previous`` is an earlier disclosure of the same case,
    whose log must be a prefix of this one."""
    with open_bag(path) as bag:
        total = sum(size for inner, size in bag.sizes.items() if inner.startswith("data/"))
        hashed = None if progress is None else (lambda count: progress(count, total))
        verdict, ledger, entries = _verify(bag, trust, hashed)
    if previous is not None:
        with open_bag(previous) as earlier:
            _check_previous(earlier, entries, ledger, verdict.report.add(_PREVIOUS_CHECK))
    return verdict


def verify_bag(
    bag: BagSource, *, trust: Sequence[str] = (), progress: Progress | None = None
) -> BundleVerdict:
    """``verify_bundle`` of a bag already open: ``custody dossier`` renders from the very bag it
    verified (without ``--previous``)."""
    total = sum(size for inner, size in bag.sizes.items() if inner.startswith("data/"))
    hashed = None if progress is None else (lambda count: progress(count, total))
    return _verify(bag, trust, hashed)[0]


def verify_staged_payload(
    bag: BagSource, *, case_id: str, exporter: str, payload_manifest: Mapping[str, str]
) -> Report:
    """The checks an exporter can run on its payload before it signs the tag manifest: the
    ledger, keys, checkpoint, continuity, exhibits against the ledger, the withheld schedule and
    the redactions, exactly as ``verify_bundle`` runs them. Not run: the tag files and their
    signature (not made yet), and hashing the payload files (artifacts are re-hashed from the
    store as the zip is written, and an export whose blob changed fails)."""
    report = Report(subject=f"payload of bundle {bag.top}")
    info = {"Custody-Case": [case_id], "Custody-Exporter-Key-Id": [exporter]}
    _verify_signed(bag, info, None, payload_manifest, report, ())
    return report


def _verify(
    bag: BagSource, trust: Sequence[str], progress: Callable[[int], None] | None
) -> tuple[BundleVerdict, VerifiedLedger, list[LedgerLine]]:
    if bag.read(BAG_DECLARATION, limit=4096) != BAGIT_TXT:
        raise FormatError(f"{bag.name}: {BAG_DECLARATION} is not a BagIt 1.0 declaration in UTF-8")
    payload_manifest = parse_manifest(bag.read(PAYLOAD_MANIFEST), name=PAYLOAD_MANIFEST)
    tag_manifest_bytes = bag.read(TAG_MANIFEST)
    info = parse_bag_info(bag.read(BAG_INFO))
    _single(info, "Custody-Exporter-Key-Id", bag)  # a malformed bag-info is refused before any work
    report = Report(subject=f"bundle {bag.top}")

    # Hashing the payload (most of the bytes) runs in a second thread while this one checks the
    # ledger: hashlib and file reads release the GIL, so the two cores share the work.
    payload_check = report.add(_PAYLOAD_CHECK)
    with ThreadPoolExecutor(1, thread_name_prefix="custody-verify") as hasher:
        hashing = hasher.submit(_check_payload, bag, payload_manifest, payload_check, progress)
        verdict, ledger, entries = _verify_signed(
            bag, info, tag_manifest_bytes, payload_manifest, report, trust
        )
        hashing.result()
    return verdict, ledger, entries


def _verify_signed(
    bag: BagSource,
    info: Mapping[str, list[str]],
    tag_manifest_bytes: bytes | None,
    payload_manifest: Mapping[str, str],
    report: Report,
    trust: Sequence[str],
) -> tuple[BundleVerdict, VerifiedLedger, list[LedgerLine]]:
    """The checks of the signed records; without ``tag_manifest_bytes`` (a payload not yet
    signed) the tag files and the tag-manifest signature are not checked."""
    exporter = _single(info, "Custody-Exporter-Key-Id", bag)
    if tag_manifest_bytes is not None:
        _check_tags(bag, parse_manifest(tag_manifest_bytes, name=TAG_MANIFEST), report.add(_TAGS_CHECK))
    entries = _entries(bag)
    ledger = verify_ledger(_single(info, "Custody-Case", bag), entries, report)
    keys = ledger_keys(ledger.events)
    if tag_manifest_bytes is not None:
        _check_signature(bag, exporter, keys, tag_manifest_bytes, report.add(_SIGNATURE_CHECK))
    _check_keys(bag, exporter, keys, _json(bag, KEYS_INDEX), report.add(_KEYS_CHECK))
    note = bag.read(CHECKPOINT, limit=1 << 20)
    verify_checkpoints(entries, ledger, [note], report)
    _check_coverage(note, len(entries), report.add(_COVERAGE_CHECK))
    verify_continuity(entries, ledger, report)
    artifacts = report.add(_ARTIFACTS_CHECK)
    withheld = _withheld_schedule(bag, entries, artifacts)
    exhibits = exhibit_index(ledger.events, withheld=withheld, problems=artifacts.failures)
    _check_scheduled_numbers(withheld, exhibits, artifacts)
    _check_artifacts(bag, payload_manifest, exhibits, artifacts)
    _check_redactions(bag, ledger.events, withheld, report.add(_REDACTIONS_CHECK))

    verdict = BundleVerdict(report)
    if trust:
        log = log_key_of(ledger)
        candidates = [exporter, *([log[1].key_id] if log else [])]
        verdict.anchored_by = [key for key in candidates if any(_matches(t, key) for t in trust)]
        anchored = report.add(_TRUST_CHECK)
        if not verdict.anchored_by:
            anchored.fail(
                f"neither the exporting key ({fingerprint(exporter)}) nor the log key"
                f"{f' ({fingerprint(log[1].key_id)})' if log else ''} is one you trust ({', '.join(trust)})"
            )
    return verdict, ledger, entries


_PAYLOAD_CHECK = "every payload file is listed in manifest-sha256.txt and intact, and nothing else is there"
_TAGS_CHECK = "every tag file is listed in tagmanifest-sha256.txt and intact"
_SIGNATURE_CHECK = "the tag manifest is signed by the exporting key, which the ledger introduces"
_KEYS_CHECK = "data/keys holds exactly the keys the ledger introduces, with their roles"
_COVERAGE_CHECK = "the checkpoint covers exactly the disclosed entries"
_PREVIOUS_CHECK = "the earlier disclosure's log is a prefix of this one: no entry was rewritten or removed"
_TRUST_CHECK = "the exporting key or the log key is one given with --trust"
_ARTIFACTS_CHECK = "every recorded artifact is disclosed under its digest; exhibits.json matches the ledger"
_REDACTIONS_CHECK = "every redacted transcript proves out against its original's signed commitment root"


def _check_payload(
    bag: BagSource, manifest: Mapping[str, str], check: Check, progress: Callable[[int], None] | None
) -> None:
    for inner in sorted(bag.sizes):
        if inner.startswith("data/") and inner not in manifest:
            check.fail(f"{inner}: present but not listed in {PAYLOAD_MANIFEST} (added?)")
    for inner, expected in sorted(manifest.items()):
        if not inner.startswith("data/"):
            check.fail(f"{PAYLOAD_MANIFEST} lists {inner}, which is not under data/")
        elif inner not in bag.sizes:
            check.fail(f"{inner}: listed in {PAYLOAD_MANIFEST} but missing (deleted or renamed?)")
        elif (observed := bag.sha256(inner, progress)) != expected:
            check.fail(f"{inner}: expected sha256 {expected}, found {observed} (changed?)")


def _check_tags(bag: BagSource, manifest: Mapping[str, str], check: Check) -> None:
    present = {p for p in bag.sizes if not p.startswith("data/")} - {TAG_MANIFEST, SIGNATURE_FILE}
    for inner in sorted(present - set(manifest)):
        check.fail(f"{inner}: present but not listed in {TAG_MANIFEST} (added?)")
    for inner, expected in sorted(manifest.items()):
        if inner not in bag.sizes:
            check.fail(f"{inner}: listed in {TAG_MANIFEST} but missing")
        elif (observed := bag.sha256(inner)) != expected:
            check.fail(f"{inner}: expected sha256 {expected}, found {observed} (changed?)")
    for required in (BAG_DECLARATION, BAG_INFO, PAYLOAD_MANIFEST):
        if required not in manifest:
            check.fail(f"{TAG_MANIFEST} does not cover {required}")


def _check_signature(
    bag: BagSource, exporter: str, keys: Sequence[Mapping[str, Any]], signed: bytes, check: Check
) -> None:
    known = {key["key_id"]: key for key in keys}
    if exporter not in known:
        check.fail(f"exporting key {exporter[:16]}... is not introduced by the disclosed ledger")
        return
    if SIGNATURE_FILE not in bag.sizes:
        check.fail(f"{SIGNATURE_FILE} is missing")
        return
    try:
        public = PublicKey.from_hex(str(known[exporter]["public_key"]))
        public.verify(bag.read(SIGNATURE_FILE, limit=1024), signed)
    except CustodyError as exc:
        check.fail(f"{SIGNATURE_FILE}: {exc.message}")


def _check_keys(
    bag: BagSource, exporter: str, keys: Sequence[Mapping[str, Any]], index: Mapping[str, Any], check: Check
) -> None:
    listed = index.get("keys")
    if not isinstance(listed, list) or not all(isinstance(item, dict) for item in listed):
        check.fail(f"{KEYS_INDEX}: 'keys' is not a list of objects")
        return
    if [{k: v for k, v in item.items() if k != "pem"} for item in listed] != list(keys):
        check.fail(f"{KEYS_INDEX} does not list the keys the ledger introduces (names, roles, ids)")
    for item in listed:
        pem_path = f"data/{item.get('pem')}"
        try:
            pem_key = PublicKey.from_pem(bag.read(pem_path, limit=4096))
        except CustodyError as exc:
            check.fail(f"{pem_path}: {exc.message}")
            continue
        if pem_key.key_id != item.get("key_id"):
            check.fail(
                f"{pem_path}: holds key {pem_key.key_id[:16]}..., "
                f"{KEYS_INDEX} says {str(item.get('key_id'))[:16]}..."
            )
    if index.get("exporter") != exporter:
        check.fail(
            f"{KEYS_INDEX} names exporter {str(index.get('exporter'))[:16]}..., "
            f"{BAG_INFO} names {exporter[:16]}..."
        )


def _check_coverage(note: bytes, entries: int, check: Check) -> None:
    try:
        _, checkpoint = _unverified_checkpoint(note)
    except CustodyError as exc:
        check.fail(f"{CHECKPOINT}: {exc.message}")
        return
    if checkpoint.size != entries:
        check.fail(f"{CHECKPOINT} covers {checkpoint.size} entries; {ENTRIES} holds {entries}")


def _check_artifacts(
    bag: BagSource, manifest: Mapping[str, str], exhibits: list[dict[str, Any]], check: Check
) -> None:
    disclosed = {p for p in manifest if p.startswith("data/artifacts/")}
    wanted = {artifact_path(e["sha256"], e["name"]): e for e in exhibits if "withheld" not in e}
    for exhibit in exhibits:
        if "withheld" in exhibit and any(
            p.startswith(f"data/artifacts/{exhibit['sha256']}") for p in disclosed
        ):
            check.fail(
                f"exhibit {exhibit['exhibit']} is scheduled as withheld, but its bytes are in the bundle"
            )
    for inner in sorted(set(wanted) - disclosed):
        exhibit = wanted[inner]
        check.fail(
            f"exhibit {exhibit['exhibit']} (sha256 {exhibit['sha256'][:16]}...): {inner} is not in the bundle"
        )
    for inner in sorted(disclosed - set(wanted)):
        check.fail(f"{inner}: no ledger entry records this artifact")
    for inner in sorted(set(wanted) & disclosed):
        if manifest[inner] != wanted[inner]["sha256"]:
            check.fail(f"{inner}: listed with sha256 {manifest[inner][:16]}..., not the recorded digest")
    index = _json(bag, EXHIBITS)
    if index.get("format") != FORMAT or index.get("exhibits") != exhibits:
        check.fail(f"{EXHIBITS} does not match the exhibits the ledger records (numbers, digests, records)")


def _check_redactions(
    bag: BagSource,
    events: Sequence[CustodyEvent | None],
    withheld: Sequence[WithheldExhibit],
    check: Check,
) -> None:
    """Check 13: every disclosed redacted transcript (a record whose details kind is
    "redacted-transcript") is verified with ``custody.commitments.verify_redacted`` against the
    commitment root in the disclosed record of the transcript it derives from. A record that is
    not a valid provenance is left to check 12, as is an artifact whose bytes are missing."""
    records = []
    for event in events:
        if event is None or event.event_type not in ARTIFACT_EVENTS:
            continue
        try:
            records.append(Provenance.from_dict(event.body))
        except FormatError:
            continue
    roots: dict[str, Any] = {}  # transcript digest -> the commitment root its first record gives
    disclosed: set[str] = set()
    for record in records:
        disclosed.add(record.digest)
        commitments = (record.details or {}).get("commitments")
        if isinstance(commitments, dict) and "root" in commitments:
            roots.setdefault(record.digest, commitments["root"])
    reasons = {item.sha256: item.reason for item in withheld}
    checked: set[str] = set()
    for record in records:
        if (record.details or {}).get("kind") != REDACTED_KIND or record.digest in checked:
            continue
        checked.add(record.digest)
        inner = artifact_path(record.digest, record.name)
        if inner not in bag.sizes:
            continue  # check 12 says it is missing
        original = next((p for p in record.derived_from if p in roots), None)
        if original is None:
            check.fail(_no_original(inner, record.derived_from, disclosed, reasons))
            continue
        root = roots[original]
        if not isinstance(root, str) or not _HEX64.fullmatch(root):
            check.fail(
                f"{inner}: the record of its original transcript {original[:16]}... "
                "carries no valid commitment root"
            )
            continue
        if bag.sizes[inner] > MAX_INDEX_BYTES:
            check.fail(f"{inner}: {bag.sizes[inner]} bytes, too large to check (limit {MAX_INDEX_BYTES})")
            continue
        try:
            verify_redacted(bag.read(inner), bytes.fromhex(root))
        except IntegrityError as exc:
            check.fail(
                f"{inner}: does not prove out against the signed commitment root of transcript "
                f"{original[:16]}...: {exc.message}"
            )
        except FormatError as exc:
            check.fail(f"{inner}: {exc.message}")


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _no_original(inner: str, parents: Sequence[str], disclosed: set[str], reasons: Mapping[str, str]) -> str:
    """Why a redacted transcript cannot be checked: no parent has a disclosed record with a root."""
    if not parents:
        return f"{inner}: a redacted transcript that names no original transcript (derived_from)"
    for parent in parents:
        if parent in disclosed:
            return (
                f"{inner}: the record of its original transcript {parent[:16]}... carries no commitment root"
            )
    parent = parents[0]
    why = f", withheld: {reasons[parent]}" if parent in reasons else ""
    return (
        f"{inner}: its original transcript's record is not disclosed (transcript {parent[:16]}...{why}); "
        "it cannot be checked against the signed commitment root"
    )


def _withheld_schedule(bag: BagSource, lines: Sequence[LedgerLine], check: Check) -> list[WithheldExhibit]:
    """``data/withheld.json``, checked against the withheld lines of the ledger: every withheld
    line belongs to exactly one artifact scheduled with scope "record", with the same reason, and
    nothing else does; an artifact withheld with scope "bytes" has no withheld lines (its records
    are disclosed, and ``_check_scheduled_numbers`` finds them)."""
    document = _json(bag, WITHHELD)
    items = document.get("withheld")
    if document.get("format") != FORMAT or not isinstance(items, list):
        raise FormatError(f"{bag.name}: {WITHHELD} is not a {FORMAT} schedule of withheld material")
    schedule: list[WithheldExhibit] = []
    claimed: dict[int, str] = {}
    for number, item in enumerate(items):
        where = f"{WITHHELD} item {number}"
        if not isinstance(item, dict) or set(item) != {"exhibit", "sha256", "scope", "entries", "reason"}:
            raise FormatError(f"{bag.name}: {where} must hold exhibit, sha256, scope, entries and reason")
        records, exhibit, scope = item["entries"], item["exhibit"], item["scope"]
        if scope not in WITHHELD_SCOPES:
            raise FormatError(f"{bag.name}: {where}: scope must be one of {list(WITHHELD_SCOPES)}")
        if not isinstance(records, list) or not all(_whole(n) for n in records):
            raise FormatError(f"{bag.name}: {where}: entries must be a list of entry numbers")
        if (scope == WITHHELD_RECORD) != bool(records):
            raise FormatError(
                f"{bag.name}: {where}: scope {scope!r} "
                + ("withholds no entries" if scope == WITHHELD_BYTES else "needs the entries it withholds")
            )
        if not _whole(exhibit):
            raise FormatError(f"{bag.name}: {where}: exhibit must be an exhibit number")
        digest = check_sha256_hex(item["sha256"], what=f"{where} sha256")
        reason = item["reason"]
        if not isinstance(reason, str):
            raise FormatError(f"{bag.name}: {where}: reason must be text")
        schedule.append(WithheldExhibit(digest, tuple(records), reason, exhibit, scope))
        for index in records:
            if index in claimed:
                check.fail(f"{where}: entry {index} is already scheduled for {claimed[index][:16]}...")
            claimed[index] = digest
            line = lines[index] if 0 <= index < len(lines) else None
            if not isinstance(line, WithheldEntry):
                check.fail(
                    f"{where}: entry {index} is scheduled as withheld but is not withheld in {ENTRIES}"
                )
            elif line.reason != reason:
                check.fail(
                    f"{where}: entry {index} is withheld for {line.reason!r} in {ENTRIES}, not {reason!r}"
                )
    for index, line in enumerate(lines):
        if isinstance(line, WithheldEntry) and index not in claimed:
            check.fail(f"entry {index} is withheld ({line.reason!r}) but {WITHHELD} does not schedule it")
    return schedule


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_scheduled_numbers(
    schedule: Sequence[WithheldExhibit], exhibits: Sequence[Mapping[str, Any]], check: Check
) -> None:
    """Each artifact is scheduled once, with the exhibit number the ledger gives it; one withheld
    bytes only has a disclosed record."""
    numbers = {exhibit["sha256"]: exhibit["exhibit"] for exhibit in exhibits}
    seen: set[str] = set()
    for number, item in enumerate(schedule):
        if item.sha256 in seen:
            check.fail(f"{WITHHELD} item {number}: {item.sha256[:16]}... is scheduled twice")
        seen.add(item.sha256)
        if item.sha256 not in numbers:
            check.fail(
                f"{WITHHELD} item {number}: {item.sha256[:16]}... is withheld bytes only, "
                "but no disclosed entry records it"
            )
        elif numbers[item.sha256] != item.exhibit:
            check.fail(
                f"{WITHHELD} item {number}: exhibit {item.exhibit}, but the ledger numbers "
                f"{item.sha256[:16]}... exhibit {numbers.get(item.sha256)}"
            )


def _check_previous(
    earlier: BagSource, entries: Sequence[LedgerLine], ledger: VerifiedLedger, check: Check
) -> None:
    """The earlier bundle's checkpoint is signed by this log's key and its entries are the first
    entries of this bundle (same leaf hashes: an entry withheld in one and disclosed in the other
    matches), so its signed root is the root of that prefix."""
    published = log_key_of(ledger)
    if published is None:
        check.fail("this bundle's ledger publishes no log key: the earlier checkpoint cannot be checked")
        return
    note_name, log_key, origin = published
    old_entries = _entries(earlier)
    try:
        old = open_checkpoint(earlier.read(CHECKPOINT, limit=1 << 20), [(note_name, log_key)], origin=origin)
    except CustodyError as exc:
        check.fail(f"{earlier.name}: {CHECKPOINT}: {exc.message} (not a checkpoint of this case's log)")
        return
    if old.size != len(old_entries):
        check.fail(f"{earlier.name}: its checkpoint covers {old.size} entries, it holds {len(old_entries)}")
    if old.size > len(entries):
        check.fail(
            f"{earlier.name} discloses {old.size} entries; this bundle only {len(entries)} (log cut back)"
        )
    for index, (then, now) in enumerate(zip(old_entries, entries, strict=False)):
        if leaf_of(then) != leaf_of(now):
            check.fail(
                f"entry {index} differs from {earlier.name}: leaf hash {leaf_of(then).hex()[:16]}... then, "
                f"{leaf_of(now).hex()[:16]}... now"
            )
    size = min(old.size, len(entries))
    if size and old.root_hash != tree_of(entries[:size]).root():
        check.fail(f"{earlier.name}: its signed root is not the root of this bundle's first {size} entries")


def _entries(bag: BagSource) -> list[LedgerLine]:
    return parse_ledger_lines(bag.read(ENTRIES, limit=1 << 34), name=f"{bag.name}: {ENTRIES}")


def _json(bag: BagSource, inner: str) -> dict[str, Any]:
    return parse_json_object(bag.read(inner), what=f"{bag.name}: {inner}")


def _single(info: Mapping[str, list[str]], label: str, bag: BagSource) -> str:
    values = info.get(label, [])
    if len(values) != 1:
        raise FormatError(f"{bag.name}: {BAG_INFO} must have one {label} line, found {len(values)}")
    return values[0]


def _case_of(info: Mapping[str, list[str]], bag: BagSource) -> str:
    return _single(info, "Custody-Case", bag)
