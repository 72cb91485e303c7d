#!/usr/bin/env python3
"""Verify a custody disclosure bundle offline, with this one file.

Usage:
    python3 verify_bundle.py [BUNDLE.zip | BAG_DIR] [--trust FINGERPRINT]... [--json]

With no argument it checks the bag folder it sits in (run it from the unzipped bundle). It needs
Python 3.9 or later with its standard library, plus PyNaCl (tried first) or cryptography for
Ed25519 signatures. It does not need, import or trust the software that made the bundle: every
rule below is written out here so that it can be read and checked by hand.

It performs the same numbered checks as ``custody verify`` and reaches the same verdict:

     1. every payload file is listed in manifest-sha256.txt and intact, and nothing else is there
     2. every tag file is listed in tagmanifest-sha256.txt and intact
     3. every ledger entry is a DSSE envelope holding an in-toto custody event
     4. sequence numbers run 0..n-1 without gaps, all for this case
     5. every entry is signed by a key the ledger introduced before it
     6. entry times never run backwards
     7. the tag manifest is signed by the exporting key, which the ledger introduces
     8. data/keys holds exactly the keys the ledger introduces, with their roles
     9. the checkpoint is signed by the log key and matches the Merkle root of the entries
    10. the checkpoint covers exactly the disclosed entries
    11. custody passed hand to hand: every release accepted, accesses by the custodian
    12. every recorded artifact is disclosed under its digest; exhibits.json matches the ledger
    13. every redacted transcript proves out against its original's signed commitment root
    14. (with --trust) the exporting key or the log key is one you trust

A bundle may withhold artifacts (selective disclosure): a withheld artifact's bytes are left out,
and each ledger entry recording it is replaced in data/ledger/entries.jsonl by the line
{"leaf_hash":"<64 hex>","withheld":"<reason>"}. Checks 3-6 and 11 skip such a line (there is
nothing to parse or verify); check 9 takes its leaf hash as given, so the signed Merkle root
still proves the entry exists at its place in the log; check 12 checks data/withheld.json, the
schedule of what is withheld and why, against those lines and recomputes the exhibit numbers over
disclosed and withheld records alike. An artifact may also be withheld bytes only (scope
"bytes" in the schedule): its records stay disclosed, typically because a disclosed redacted copy
stands in for it. Check 13 needs the record of a redacted transcript's original: when that record
is withheld, the redaction cannot be checked and the check fails.

Nothing is extracted or written: a zip is checked member by member against hostile archives
(zip slip, symbolic links, zip bombs...) and read in memory; a folder is walked without following
symbolic links. Without --trust, a valid bundle is "VALID, not anchored to a trusted key": it is
consistent and signed, but by keys it carries itself. Give the fingerprint of the exporter's key
or of the log key, obtained independently (e.g. from the prosecution's letter), to anchor it.

Exit status: 0 valid; 1 a check failed; 3 the input cannot be read as a bundle (the reason is
printed as "Error: ..." on stderr).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import math
import os
import re
import stat
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import IO, Any, BinaryIO

# --- Ed25519: PyNaCl, else cryptography ---------------------------------------------------------

Ed25519Verify = Callable[[bytes, bytes, bytes], bool]
"""(32-byte public key, 64-byte signature, message) -> whether the signature verifies."""


def _ed25519_backend() -> tuple[str, Ed25519Verify] | None:
    try:
        # The only imports beyond the standard library, made here so that either library will do.
        from nacl.exceptions import CryptoError  # type: ignore[import-not-found, import-untyped, unused-ignore]  # noqa: PLC0415
        from nacl.signing import VerifyKey  # type: ignore[import-not-found, import-untyped, unused-ignore]  # noqa: PLC0415
    except ImportError:
        pass
    else:

        def verify_nacl(public: bytes, signature: bytes, message: bytes) -> bool:
            try:
                VerifyKey(public).verify(message, signature)
            except (CryptoError, ValueError, TypeError):
                return False
            return True

        return "PyNaCl", verify_nacl
    try:
        from cryptography.exceptions import InvalidSignature  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: PLC0415
    except ImportError:
        return None

    def verify_cryptography(public: bytes, signature: bytes, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    return "cryptography", verify_cryptography


# --- errors --------------------------------------------------------------------------------------


class Refusal(Exception):
    """What makes a check fail (caught and reported), or, when nothing catches it, makes the input
    unreadable as a bundle (exit 3)."""

    @property
    def message(self) -> str:
        return str(self.args[0])


EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 3


def _no_backend(public: bytes, signature: bytes, message: bytes) -> bool:
    raise Refusal("no Ed25519 library (PyNaCl or cryptography) is installed")


ED25519_BACKEND = _ed25519_backend()
ED25519: tuple[str, Ed25519Verify] = ED25519_BACKEND or ("none", _no_backend)
"""(library name, verify function): every signature check below goes through it."""

# --- the pinned bundle layout (DESIGN.md, "Disclosure bundle") ----------------------------------

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
BAG_DECLARATION = "bagit.txt"
BAG_INFO = "bag-info.txt"
PAYLOAD_MANIFEST = "manifest-sha256.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"
SIGNATURE_FILE = "tagmanifest-sha256.txt.sig"
ENTRIES = "data/ledger/entries.jsonl"
CHECKPOINT = "data/ledger/checkpoint"
EXHIBITS = "data/exhibits.json"
WITHHELD = "data/withheld.json"
KEYS_INDEX = "data/keys/keys.json"
FORMAT = "custody-bundle/v1"
MAX_INDEX_BYTES = 64 * 1024 * 1024  # largest manifest, index or ledger file read into memory
CHUNK = 1 << 20

# --- keys ----------------------------------------------------------------------------------------

_PUBLIC_HEX = re.compile(r"[0-9a-f]{64}")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# An Ed25519 SubjectPublicKeyInfo (RFC 8410) is this 12-byte DER prefix and the 32-byte key.
_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


@dataclass(frozen=True)
class PublicKey:
    """A raw 32-byte Ed25519 public key; its key id is the SHA-256 hex of those bytes."""

    raw: bytes

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @classmethod
    def from_hex(cls, text: Any) -> PublicKey:
        if not isinstance(text, str) or not _PUBLIC_HEX.fullmatch(text):
            raise Refusal(f"public key must be 64 lowercase hex characters, got {text!r}")
        return cls(bytes.fromhex(text))

    @classmethod
    def from_pem(cls, pem: bytes) -> PublicKey:
        """The key of a PEM ``PUBLIC KEY`` block (what ``openssl pkey -pubin`` reads)."""
        match = re.search(rb"-----BEGIN PUBLIC KEY-----\r?\n(.*?)-----END PUBLIC KEY-----", pem, re.DOTALL)
        if match is None:
            raise Refusal("not a PEM public key: no BEGIN/END PUBLIC KEY block")
        try:
            der = base64.b64decode(b"".join(match.group(1).split()), validate=True)
        except (binascii.Error, ValueError):
            raise Refusal("not a PEM public key: the block is not base64") from None
        if len(der) != len(_ED25519_SPKI_PREFIX) + 32 or not der.startswith(_ED25519_SPKI_PREFIX):
            raise Refusal("PEM public key is not an Ed25519 SubjectPublicKeyInfo, expected Ed25519")
        return cls(der[len(_ED25519_SPKI_PREFIX) :])

    def verify(self, signature: bytes, data: bytes) -> None:
        if len(signature) != 64:
            raise Refusal(f"signature by key {self.key_id[:16]}... must be 64 bytes, got {len(signature)}")
        if not ED25519[1](self.raw, signature, data):
            raise Refusal(f"signature by key {self.key_id[:16]}... does not verify")


def fingerprint(key_id: str) -> str:
    """The short form of a key id: its first 16 hex digits in groups of four."""
    head = key_id[:16]
    return ":".join(head[i : i + 4] for i in range(0, 16, 4))


def check_sha256_hex(value: Any, *, what: str = "digest") -> str:
    if not (isinstance(value, str) and _SHA256_HEX.fullmatch(value)):
        raise Refusal(f"{what} must be 64 lowercase hex characters (SHA-256), got {value!r}")
    return value


# --- strict JSON ---------------------------------------------------------------------------------

_MAX_SAFE_INTEGER = 2**53 - 1


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _parse_int(text: str) -> int:
    value = int(text)  # beyond 4300 digits Python itself refuses (ValueError)
    if abs(value) > _MAX_SAFE_INTEGER:
        raise ValueError(f"integer {text[:40]} is outside the exact JSON range (|n| <= 2**53-1)")
    return value


def _parse_float(text: str) -> float:
    # A literal such as 1e400 would become inf: as non-standard as the literal Infinity.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is outside the range of a double")
    return value


def parse_json_object(data: bytes, *, what: str) -> dict[str, Any]:
    """Strict JSON: UTF-8, no duplicate keys, no NaN/Infinity, integers within 2**53-1, an object."""
    try:
        text = data.decode("utf-8")
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
            parse_int=_parse_int,  # numbers are checked as the scanner meets them
            parse_float=_parse_float,
        )
    except UnicodeDecodeError as exc:
        raise Refusal(f"{what} is not valid UTF-8: {exc}") from None
    except RecursionError:
        raise Refusal(f"{what} is nested too deeply") from None
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise Refusal(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise Refusal(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


# --- RFC 3339 times ------------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,  # ASCII digits only
)


def parse_rfc3339(text: Any, *, what: str = "time") -> datetime:
    """An RFC 3339 date-time with an explicit offset, as UTC (digits beyond microseconds dropped)."""
    if not isinstance(text, str):
        raise Refusal(f"{what} must be an RFC 3339 string, got {type(text).__name__}")
    bad = Refusal(f"{what} {text!r} is not an RFC 3339 date-time (expected e.g. 2026-03-01T14:05:00Z)")
    match = _RFC3339.fullmatch(text.strip())
    if match is None:
        raise bad
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    micro = int((match.group(7) or "").ljust(6, "0")[:6])
    offset = timedelta(0)
    if not match.group(8):
        offset = timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
        if offset >= timedelta(hours=24):
            raise bad
        offset = -offset if match.group(9) == "-" else offset
    try:
        local = datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone(offset))
        return local.astimezone(timezone.utc)  # noqa: UP017 (datetime.UTC needs Python 3.11)
    except (ValueError, OverflowError):
        raise bad from None


def normalise_rfc3339(text: Any, *, what: str) -> str:
    """Custody's canonical form of a time: UTC, ``Z``, microseconds only when not zero."""
    moment = parse_rfc3339(text, what=what)
    fraction = f".{moment.microsecond:06d}" if moment.microsecond else ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


# --- DSSE envelopes, in-toto statements, custody events -----------------------------------------

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_PREFIX, PREDICATE_SUFFIX = "https://custody.dev/event/", "/v1"
EVENT_TYPES = frozenset(
    {
        "case.opened",
        "key.added",
        "key.revoked",
        "tool.registered",
        "run.started",
        "run.ended",
        "artifact.recorded",
        "artifact.derived",
        "artifact.accessed",
        "custody.released",
        "custody.accepted",
        "answer.recorded",
        "bundle.exported",
        "case.sealed",
    }
)
# What a sealed case still records: reading evidence out, disclosing it, handing custody on.
AFTER_SEAL_EVENTS = frozenset(
    {"artifact.accessed", "custody.released", "custody.accepted", "key.added", "bundle.exported"}
)
# What a tool's service key (role "tool") may sign; everything else is for people.
TOOL_ROLE_EVENTS = frozenset(
    {"key.added", "tool.registered", "run.started", "run.ended", "artifact.recorded", "artifact.derived"}
)
COMMON_FIELDS = ("case", "sequence", "time", "actor")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 Pre-Authentication Encoding: what an entry's signature covers."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise Refusal(f"envelope {what} must be a base64 string, got {type(value).__name__}")
    for alphabet in (value, value.replace("-", "+").replace("_", "/")):  # DSSE allows URL-safe too
        try:
            return base64.b64decode(alphabet, validate=True)
        except (binascii.Error, ValueError):
            continue
    raise Refusal(f"envelope {what} is not valid base64")


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[tuple[str, bytes], ...]  # (keyid, raw signature)

    def canonical_bytes(self) -> bytes:
        """RFC 8785 bytes of the envelope. Its values are all strings and its keys ASCII, so sorted
        keys, no spaces and UTF-8 output (json's lowercase \\u00xx escapes) are exactly RFC 8785."""
        document = {
            "payload": _b64(self.payload),
            "payloadType": self.payload_type,
            "signatures": [{"keyid": key_id, "sig": _b64(sig)} for key_id, sig in self.signatures],
        }
        try:
            return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        except UnicodeEncodeError as exc:
            raise Refusal(f"value cannot be canonicalised as RFC 8785 JSON: it holds {exc.reason}") from None

    def verify(self, key: PublicKey) -> None:
        """At least one signature by ``key`` and every signature claiming its key id verify."""
        message = pae(self.payload_type, self.payload)
        verified = False
        for key_id, signature in self.signatures:
            if key_id == key.key_id:
                key.verify(signature, message)
                verified = True
        if not verified:
            claimed = ", ".join(key_id[:16] + "..." for key_id, _ in self.signatures) or "none"
            raise Refusal(f"envelope needs 1 signature(s) by a known key; verified 0 (signed by: {claimed})")


def parse_envelope(data: bytes, *, what: str) -> Envelope:
    document = parse_json_object(data, what=what)
    payload_type = document.get("payloadType")
    if not isinstance(payload_type, str):
        raise Refusal(f"{what}: payloadType must be a string")
    raw_signatures = document.get("signatures")
    if not isinstance(raw_signatures, list) or not raw_signatures:
        raise Refusal(f"{what}: signatures must be a non-empty list")
    signatures = []
    for index, item in enumerate(raw_signatures):
        if not isinstance(item, dict):
            raise Refusal(f"{what}: signature {index} must be an object")
        key_id = item.get("keyid", "")
        if not isinstance(key_id, str):
            raise Refusal(f"{what}: signature {index} keyid must be a string")
        signatures.append((key_id, _unb64(item.get("sig"), f"signature {index}")))
    payload = _unb64(document.get("payload"), "payload")
    if not payload_type:
        raise Refusal("envelope payloadType must not be empty")
    if len(signatures) > 16:
        raise Refusal(f"envelope has {len(signatures)} signatures (max 16)")
    return Envelope(payload_type, payload, tuple(signatures))


@dataclass(frozen=True)
class Event:
    """One custody event: the in-toto statement of a ledger entry, with its common fields apart."""

    event_type: str
    case_id: str
    sequence: int
    time: str  # normalised to UTC
    actor: str  # key id
    body: dict[str, Any]


def _subject(document: Any) -> None:
    if not isinstance(document, dict):
        raise Refusal("statement subject must be an object")
    digest = document.get("digest")
    if not isinstance(digest, dict) or "sha256" not in digest:
        raise Refusal(f"subject {document.get('name')!r} has no sha256 digest")
    name = document.get("name", "")
    if not isinstance(name, str):
        raise Refusal(f"subject name must be a string, got {name!r}")
    check_sha256_hex(digest["sha256"], what=f"subject {name!r} digest")


def _event_from_statement(document: dict[str, Any]) -> Event:
    if document.get("_type") != STATEMENT_TYPE:
        raise Refusal(f"statement _type must be {STATEMENT_TYPE!r}, got {document.get('_type')!r}")
    subjects = document.get("subject")
    if not isinstance(subjects, list):
        raise Refusal("statement subject must be a list")
    predicate = document.get("predicate", {})
    if not isinstance(predicate, dict):
        raise Refusal("statement predicate must be an object")
    for subject in subjects:
        _subject(subject)
    predicate_type = document.get("predicateType", "")
    if not subjects:
        raise Refusal("an in-toto statement needs at least one subject")
    if not isinstance(predicate_type, str) or not predicate_type:
        raise Refusal("statement predicateType must be a non-empty string")
    missing = [name for name in COMMON_FIELDS if name not in predicate]
    if missing:
        raise Refusal(f"custody event predicate lacks {missing}")
    # predicateType https://custody.dev/event/<type>/v1 names the event type.
    if not (predicate_type.startswith(PREDICATE_PREFIX) and predicate_type.endswith(PREDICATE_SUFFIX)):
        raise Refusal(f"predicateType {predicate_type!r} is not a custody event type")
    event_type = predicate_type[len(PREDICATE_PREFIX) : -len(PREDICATE_SUFFIX)]
    if event_type not in EVENT_TYPES:
        raise Refusal(f"predicateType {predicate_type!r} names an unknown event type")
    body = dict(predicate)
    case_id, sequence, time, actor = (body.pop(name) for name in COMMON_FIELDS)
    if not isinstance(case_id, str) or not _SLUG.fullmatch(case_id):
        raise Refusal(
            f"case id {case_id!r} is not valid: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 0 <= sequence <= _MAX_SAFE_INTEGER:
        raise Refusal(f"event sequence must be a non-negative integer, got {sequence!r}")
    time = normalise_rfc3339(time, what="event time")
    check_sha256_hex(actor, what="event actor key id")
    return Event(event_type, case_id, sequence, time, actor, body)


def parse_entry(entry: bytes, *, what: str) -> tuple[Envelope, Event]:
    """A ledger entry's envelope and event, before any signature is checked."""
    envelope = parse_envelope(entry, what=what)
    # An entry is exactly the RFC 8785 bytes of its envelope: other spellings of the same
    # envelope (whitespace, key order, other base64) would keep the signature but change the
    # entry's Merkle leaf hash.
    if envelope.canonical_bytes() != entry:
        raise Refusal(f"{what} is not the RFC 8785 canonical form of its DSSE envelope")
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise Refusal(f"{what}: payloadType must be {IN_TOTO_PAYLOAD_TYPE!r}, got {envelope.payload_type!r}")
    try:
        statement = parse_json_object(envelope.payload, what=f"{what} payload")
        return envelope, _event_from_statement(statement)
    except Refusal as exc:
        if exc.message.startswith(what):
            raise
        raise Refusal(f"{what}: {exc.message}") from None


# --- selective disclosure: withheld entries ------------------------------------------------------

MAX_REASON = 1024  # longest reason a withheld line may give, in characters
_WITHHELD_PREFIX = b'{"leaf_hash":'


@dataclass(frozen=True)
class WithheldEntry:
    """What stands in for a ledger entry the bundle does not disclose: the entry's RFC 9162 leaf
    hash, SHA-256(0x00 || entry), and why it is withheld."""

    leaf_hash: bytes
    reason: str


def parse_withheld_line(line: bytes, *, index: int) -> WithheldEntry:
    """A line ``{"leaf_hash":"<64 lowercase hex>","withheld":"<reason>"}``: exactly those two keys,
    a reason of 1 to 1024 characters that is not only whitespace. Anything else makes the bundle
    unreadable (exit 3)."""
    document = parse_json_object(line, what=f"entry {index} (withheld)")
    if set(document) != {"leaf_hash", "withheld"}:
        raise Refusal(f"entry {index}: a withheld line holds exactly leaf_hash and withheld")
    leaf = document["leaf_hash"]
    if not isinstance(leaf, str) or len(leaf) != 64 or any(c not in "0123456789abcdef" for c in leaf):
        raise Refusal(f"entry {index}: withheld leaf_hash must be 64 lowercase hex characters")
    reason = document["withheld"]
    if not isinstance(reason, str):
        raise Refusal(f"entry {index}: withheld reason must be text")
    if not reason.strip() or len(reason) > MAX_REASON:
        raise Refusal(f"a withheld entry needs a reason of 1 to {MAX_REASON} characters")
    return WithheldEntry(bytes.fromhex(leaf), reason)


def parse_ledger_lines(data: bytes, *, name: str) -> list[bytes | WithheldEntry]:
    """The lines of entries.jsonl: a line starting with ``{"leaf_hash":`` is a withheld entry
    (parsed here); any other line is an entry's bytes, left for checks 3-6 to parse and verify."""
    if data and not data.endswith(b"\n"):
        raise Refusal(f"{name} does not end with a line feed (cut short?)")
    lines: list[bytes | WithheldEntry] = []
    for index, line in enumerate(data.split(b"\n")[:-1] if data else []):
        if line.startswith(_WITHHELD_PREFIX):
            lines.append(parse_withheld_line(line, index=index))
        else:
            lines.append(line)
    return lines


def leaf_of(line: bytes | WithheldEntry) -> bytes:
    """An entry's Merkle leaf hash; a withheld entry's is the one its line gives."""
    if isinstance(line, WithheldEntry):
        return line.leaf_hash
    return hashlib.sha256(b"\x00" + line).digest()


# --- report ----------------------------------------------------------------------------------------


@dataclass
class Check:
    number: int
    title: str
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, message: str) -> None:
        self.failures.append(message)


@dataclass
class Report:
    subject: str
    checks: list[Check] = field(default_factory=list)

    def add(self, title: str) -> Check:
        check = Check(len(self.checks) + 1, title)
        self.checks.append(check)
        return check

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


# --- checks 3-6: the ledger ------------------------------------------------------------------------


@dataclass
class Ledger:
    events: list[Event | None]  # None where an entry could not be parsed or is withheld
    keys: dict[str, dict[str, Any]]  # key id -> its description, as the ledger introduced it


def _introduced_key(event: Event) -> dict[str, Any] | None:
    """The key a case.opened (its opener) or key.added entry introduces."""
    key: Any = None
    if event.event_type == "key.added":
        key = event.body.get("key")
    elif event.event_type == "case.opened":
        key = event.body.get("opened_by")
    return key if isinstance(key, dict) else None


def _role_may_sign(role: Any, event_type: str) -> bool:
    return role != "tool" or event_type in TOOL_ROLE_EVENTS


def verify_ledger(case_id: str, entries: Sequence[bytes | WithheldEntry], report: Report) -> Ledger:
    """Checks 3-6. A withheld entry is skipped by every one of them (it has no bytes to parse or
    verify): no failure, and its event is None."""
    parse = report.add("every entry is a DSSE envelope holding an in-toto custody event")
    order = report.add("sequence numbers run 0..n-1 without gaps, all for this case")
    signatures = report.add("every entry is signed by a key the ledger introduced before it")
    times = report.add("entry times never run backwards")

    # 3. Every entry parses.
    parsed: list[tuple[Envelope, Event] | None] = []
    withheld: set[int] = set()
    for index, entry in enumerate(entries):
        if isinstance(entry, WithheldEntry):
            withheld.add(index)
            parsed.append(None)
            continue
        try:
            parsed.append(parse_entry(entry, what=f"entry {index}"))
        except Refusal as exc:
            parse.fail(exc.message)
            parsed.append(None)
    events = [item[1] if item else None for item in parsed]

    # 4. Sequence numbers, case id, case.opened first and only first, nothing but accesses,
    #    transfers, new keys and exports after case.sealed.
    sealed_at: int | None = None
    for index, event in enumerate(events):
        if event is None:
            continue
        if event.sequence != index:
            order.fail(f"entry {index}: expected sequence {index}, found {event.sequence}")
        if event.case_id != case_id:
            order.fail(f"entry {index}: expected case {case_id}, found {event.case_id}")
        if index > 0 and event.event_type == "case.opened":
            order.fail(f"entry {index}: case.opened may only be entry 0")
        if sealed_at is not None and event.event_type not in AFTER_SEAL_EVENTS:
            order.fail(
                f"entry {index}: {event.event_type} after the case was sealed at entry {sealed_at} "
                "(only accesses and custody transfers may follow)"
            )
        if event.event_type == "case.sealed" and sealed_at is None:
            sealed_at = index
    if not entries:
        order.fail("the ledger has no entries (expected case.opened at sequence 0)")
    elif events[0] is not None and events[0].event_type != "case.opened":
        order.fail(f"entry 0: expected case.opened, found {events[0].event_type}")

    # 5. Signatures: each entry by its actor's key, which an earlier entry (or this one, for the
    #    key it introduces about itself) introduced, not revoked before, with a role allowed to
    #    sign this event type. Only the key itself or a custodian may revoke a key.
    keys: dict[str, dict[str, Any]] = {}
    revoked: dict[str, int] = {}
    for index, item in enumerate(parsed):
        if item is None:
            if index not in withheld:
                signatures.fail(f"entry {index}: cannot check a signature on an unreadable entry")
            continue
        envelope, event = item
        where = f"entry {index} ({event.event_type})"
        if event.actor in revoked:
            signatures.fail(
                f"{where}: signed by key {event.actor[:16]}... after its revocation at entry "
                f"{revoked[event.actor]}"
            )
            continue
        introduced = _introduced_key(event)
        if introduced is not None and introduced.get("key_id") != event.actor:
            signatures.fail(
                f"{where}: introduces key {str(introduced.get('key_id'))[:16]}... but is signed as "
                f"{event.actor[:16]}... (a key must introduce itself)"
            )
            continue
        known = keys.get(event.actor) or introduced
        if known is None:
            signatures.fail(
                f"{where}: signed by key {event.actor[:16]}..., "
                "which no earlier case.opened or key.added entry introduced"
            )
            continue
        try:
            public = PublicKey.from_hex(str(known.get("public_key", "")))
            if public.key_id != event.actor:
                raise Refusal(
                    f"introduced public key hashes to {public.key_id[:16]}..., expected {event.actor[:16]}..."
                )
            envelope.verify(public)
        except Refusal as exc:
            signatures.fail(f"{where}: {exc.message}")
            continue
        role = known.get("role")
        if not _role_may_sign(str(role) if role is not None else None, event.event_type):
            signatures.fail(
                f"{where}: signed by key {event.actor[:16]}..., whose role is {role}; a tool's service "
                f"key may sign only {', '.join(sorted(TOOL_ROLE_EVENTS))}"
            )
            continue
        if introduced is not None:
            keys[event.actor] = introduced
        if event.event_type == "key.revoked":
            target = _revoked_key(event)
            if target is None or target not in keys:
                signatures.fail(f"entry {index} (key.revoked): names no key this ledger introduced")
            elif target != event.actor and keys[event.actor].get("role") != "custodian":
                signatures.fail(
                    f"entry {index} (key.revoked): only the key itself or a custodian may revoke it; "
                    f"signed by a key whose role is {keys[event.actor].get('role')}"
                )
            else:
                revoked[target] = index

    # 6. Times never run backwards.
    previous: tuple[int, Event] | None = None
    for index, current in enumerate(events):
        if current is None:
            continue
        if previous is not None and parse_rfc3339(current.time) < parse_rfc3339(previous[1].time):
            times.fail(
                f"entry {index}: time {current.time} is earlier than "
                f"entry {previous[0]}'s ({previous[1].time})"
            )
        previous = (index, current)
    return Ledger(events, keys)


def _revoked_key(event: Event) -> str | None:
    key: Any = event.body.get("key")
    key_id = key.get("key_id") if isinstance(key, dict) else None
    return key_id if isinstance(key_id, str) else None


def log_key_of(ledger: Ledger) -> tuple[str, PublicKey, str] | None:
    """The log key (note name, key) and log origin that entry 0 (case.opened) publishes."""
    first = ledger.events[0] if ledger.events else None
    log: Any = first.body.get("log") if first is not None and first.event_type == "case.opened" else None
    if not isinstance(log, dict):
        return None
    try:
        return str(log["note_name"]), PublicKey.from_hex(str(log["public_key"])), str(log["origin"])
    except (KeyError, Refusal):
        return None


def ledger_keys(events: Sequence[Event | None]) -> list[dict[str, Any]]:
    """Every key the ledger introduces, in order, with its role and where it was introduced and
    revoked (what data/keys/keys.json must list)."""
    keys: dict[str, dict[str, Any]] = {}
    for event in events:
        if event is None:
            continue
        described: Any = None
        if event.event_type == "case.opened":
            described = event.body.get("opened_by")
        elif event.event_type == "key.added":
            described = event.body.get("key")
        elif event.event_type == "key.revoked":
            key_id = _revoked_key(event)
            if key_id is not None and key_id in keys:
                keys[key_id]["revoked_at"] = event.sequence
            continue
        if isinstance(described, dict) and isinstance(described.get("key_id"), str):
            key_id = described["key_id"]
            keys.setdefault(
                key_id,
                {
                    "key_id": key_id,
                    "fingerprint": fingerprint(key_id),
                    "name": described.get("name"),
                    "role": described.get("role"),
                    "public_key": described.get("public_key"),
                    "introduced_at": event.sequence,
                },
            )
    return list(keys.values())


# --- check 9: the checkpoint (C2SP signed note + tlog-checkpoint) and the Merkle root ------------

_TREE_SIZE = re.compile(r"0|[1-9][0-9]*", re.ASCII)
_CONTROL_NAMES = {"\r": "carriage return", "\t": "tab", "\n": "newline", "\x00": "NUL"}


def _describe(char: str) -> str:
    return f"U+{ord(char):04X}" + (f" ({_CONTROL_NAMES[char]})" if char in _CONTROL_NAMES else "")


def _control_character(text: str) -> tuple[int, str] | None:
    line = 1
    for char in text:
        if char == "\n":
            line += 1
        elif char < " ":
            return line, char
    return None


def _check_key_name(name: Any, what: str = "key name") -> None:
    if not isinstance(name, str) or not name:
        raise Refusal(f"{what} must be a non-empty string, got {name!r}")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Refusal(f"{what} cannot be encoded as UTF-8: {exc.reason}") from None
    for char in name:
        if char.isspace() or char < " ":
            raise Refusal(
                f"{what} {name!r} contains {_describe(char)}; names have no spaces or control characters"
            )
        if char == "+":
            raise Refusal(f"{what} {name!r} contains '+'; names must not")


def _b64decode_canonical(text: str, what: str) -> bytes:
    """Standard base64 with exactly one spelling per value (padding, zero trailing bits)."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Refusal(f"{what} is not valid standard base64: {text[:80]!r}") from None
    if _b64(data) != text:
        raise Refusal(f"{what} is not canonical standard base64: {text[:80]!r}")
    return data


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_hash: bytes  # 4 bytes
    signature: bytes

    @property
    def label(self) -> str:
        return f"{self.name}+{self.key_hash.hex()}"


def parse_signed_note(data: bytes) -> tuple[bytes, list[NoteSignature]]:
    """A C2SP signed note: the text (up to and including the newline before the last blank line)
    and its signature lines ``— <name> base64(4-byte key hash || signature)``."""
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refusal(f"signed note is not valid UTF-8 (byte {exc.start}: {exc.reason})") from None
    found = _control_character(decoded)
    if found is not None:
        raise Refusal(
            f"signed note line {found[0]} contains control character {_describe(found[1])}; "
            "only newline is allowed"
        )
    split = data.rfind(b"\n\n")
    if split < 0:
        raise Refusal("signed note has no blank line between the text and the signatures")
    text, block = data[: split + 1], data[split + 2 :]
    if not block:
        raise Refusal("signed note has no signature lines after the blank line")
    if not block.endswith(b"\n"):
        raise Refusal("signed note's last signature line does not end with a newline")
    lines = block[:-1].decode("utf-8").split("\n")
    if len(lines) > 100:
        raise Refusal(f"signed note has {len(lines)} signature lines, at most 100 are allowed")
    signatures = []
    for number, line in enumerate(lines, 1):
        what = f"signature line {number}"
        if not line.startswith("\u2014 "):
            raise Refusal(f"{what} does not start with an em dash (U+2014) and a space: {line[:40]!r}")
        name, space, encoded = line[2:].partition(" ")
        if not space:
            raise Refusal(f"{what} has no space between the key name and the signature")
        _check_key_name(name, f"{what}: key name")
        if not encoded:
            raise Refusal(f"{what} ({name}) has an empty signature")
        raw = _b64decode_canonical(encoded, f"{what} ({name}): signature")
        if len(raw) <= 4:
            raise Refusal(
                f"{what} ({name}): signature decodes to {len(raw)} bytes, expected a 4-byte "
                "key hash followed by the signature"
            )
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    return text, signatures


def verify_note(text: bytes, signatures: Sequence[NoteSignature], name: str, key: PublicKey) -> None:
    """The note must carry a valid signature by (name, key); key hash = SHA-256(name || "\\n" ||
    0x01 || key)[:4]. Lines by other keys are ignored (C2SP signed-note)."""
    _check_key_name(name)
    key_hash = hashlib.sha256(name.encode("utf-8") + b"\n\x01" + key.raw).digest()[:4]
    verified = False
    for number, signature in enumerate(signatures, 1):
        if (signature.name, signature.key_hash) != (name, key_hash):
            continue
        if len(signature.signature) != 64:
            raise Refusal(
                f"signature line {number} by {signature.label} is {len(signature.signature)} "
                "bytes, expected a 64-byte Ed25519 signature"
            )
        if not ED25519[1](key.raw, signature.signature, text):
            raise Refusal(f"signature line {number} by {signature.label} does not verify over the note text")
        verified = True
    if not verified:
        present = ", ".join(signature.label for signature in signatures)
        raise Refusal(
            f"no signature on the note is by a trusted key: signed by {present}; "
            f"trusted: {name}+{key_hash.hex()}"
        )


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes


def parse_checkpoint(text: bytes) -> Checkpoint:
    """The note text of a C2SP tlog-checkpoint: origin, tree size, base64 root, extension lines."""
    decoded = text.decode("utf-8")
    lines = decoded[:-1].split("\n")
    if len(lines) < 3:
        raise Refusal(
            f"checkpoint text has {len(lines)} line(s), expected at least 3 (origin, tree size, root hash)"
        )
    for number, line in enumerate(lines, 1):
        label = ["origin", "tree size", "root hash"][number - 1] if number <= 3 else "extension"
        if not line:
            raise Refusal(f"checkpoint line {number} ({label}) is empty")
    origin, size_text, root_text = lines[:3]
    if not _TREE_SIZE.fullmatch(size_text):
        raise Refusal(
            f"checkpoint line 2 (tree size) {size_text[:40]!r} is not a decimal number without leading zeros"
        )
    if len(size_text) > 20 or int(size_text) > (1 << 64) - 1:
        raise Refusal(f"checkpoint line 2 (tree size) {size_text} is larger than 2**64-1")
    root_hash = _b64decode_canonical(root_text, "checkpoint line 3 (root hash)")
    if len(root_hash) != 32:
        raise Refusal(
            f"checkpoint line 3 (root hash) decodes to {len(root_hash)} bytes, expected 32 (SHA-256)"
        )
    return Checkpoint(origin, int(size_text), root_hash)


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 section 2.1.1: MTH of the leaf hashes SHA-256(0x00 || entry); a node is
    SHA-256(0x01 || left || right), split at the largest power of two below the size."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:])).digest()


def verify_checkpoint(
    entries: Sequence[bytes | WithheldEntry], ledger: Ledger, note: bytes, report: Report
) -> None:
    check = report.add("every checkpoint is signed by the log key and matches the Merkle root of the entries")
    leaves = [leaf_of(entry) for entry in entries]  # a withheld entry's leaf hash as its line gives it
    published = log_key_of(ledger)
    if published is None:
        check.fail("entry 0 publishes no log key: checkpoints cannot be checked")
        return
    note_name, log_key, origin = published
    try:
        text, signatures = parse_signed_note(note)
        verify_note(text, signatures, note_name, log_key)
        checkpoint = parse_checkpoint(text)
    except Refusal as exc:
        check.fail(f"checkpoint 1: {exc.message}")
        return
    if checkpoint.origin != origin:
        check.fail(f"checkpoint 1: is for log {checkpoint.origin!r}, expected {origin!r}")
    elif checkpoint.size > len(leaves):
        check.fail(f"checkpoint 1: covers {checkpoint.size} entries, but the ledger has {len(leaves)}")
    elif checkpoint.root_hash != (expected := merkle_root(leaves[: checkpoint.size])):
        check.fail(
            f"checkpoint 1 (size {checkpoint.size}): root {checkpoint.root_hash.hex()[:16]}..., "
            f"the entries give {expected.hex()[:16]}..."
        )


# --- check 11: custody continuity ----------------------------------------------------------------


def verify_continuity(entries: Sequence[bytes | WithheldEntry], ledger: Ledger, report: Report) -> None:
    """The opener of the case is its first custodian. A release is signed by the custodian and
    names a receiver; one release at a time; the named receiver accepts it by citing its sequence
    number and entry digest; artifact.accessed is signed by the custodian of the moment. A withheld
    entry is skipped (its event is None; its entry digest is unknown, written "")."""
    check = report.add("custody passed hand to hand: every release accepted, accesses by the custodian")
    names = {key_id: str(key.get("name")) for key_id, key in ledger.keys.items()}
    digests = [
        "" if isinstance(entry, WithheldEntry) else hashlib.sha256(entry).hexdigest() for entry in entries
    ]

    def short(key_id: str) -> str:
        name = names.get(key_id)
        return f"{name} ({key_id[:12]}...)" if name else f"{key_id[:12]}..."

    custodian: str | None = None
    release: tuple[int, Event] | None = None
    for index, event in enumerate(ledger.events):
        if event is None:
            continue
        if index == 0:
            custodian = event.actor
            continue
        if event.event_type == "custody.released":
            receiver = _receiver(event)
            to = event.body.get("to")
            if receiver is not None and isinstance(to, dict) and isinstance(to.get("name"), str):
                names.setdefault(receiver, to["name"])  # the receiver may not be introduced yet
            if event.actor != custodian:
                check.fail(
                    f"entry {index}: released by {short(event.actor)}, but the custodian was "
                    f"{short(custodian or '?')}"
                )
            if release is not None:
                check.fail(
                    f"entry {index}: a new release while the release at entry {release[0]} is still pending"
                )
            if receiver is None:
                check.fail(f"entry {index}: release names no receiver key")
            release = (index, event)
        elif event.event_type == "custody.accepted":
            cited = _cited_release(event)
            if release is None:
                check.fail(f"entry {index}: accepts custody, but no release is pending")
                continue
            release_index, release_event = release
            expected = (release_index, digests[release_index])
            if cited != expected:
                check.fail(
                    f"entry {index}: accepts release {cited[0] if cited else '?'}, expected the pending "
                    f"release at entry {release_index} (sha256 {str(expected[1])[:16]}...)"
                )
                continue
            if event.actor != _receiver(release_event):
                check.fail(
                    f"entry {index}: accepted by {short(event.actor)}, but entry {release_index} "
                    f"released to {short(_receiver(release_event) or '?')}"
                )
                continue
            custodian = event.actor
            release = None
        elif event.event_type == "artifact.accessed" and event.actor != custodian:
            check.fail(
                f"entry {index}: artifact accessed by {short(event.actor)}, who was not the "
                f"custodian ({short(custodian or '?')})"
            )
    if release is not None:
        check.fail(
            f"entry {release[0]}: release to {short(_receiver(release[1]) or '?')} has not been accepted "
            "(custody is in transit)"
        )


def _receiver(event: Event) -> str | None:
    to: Any = event.body.get("to")
    key_id = to.get("key_id") if isinstance(to, dict) else None
    return key_id if isinstance(key_id, str) else None


def _cited_release(event: Event) -> tuple[int, str | None] | None:
    cited: Any = event.body.get("release")
    if not isinstance(cited, dict) or not isinstance(cited.get("sequence"), int):
        return None
    digest = cited.get("entry_sha256")
    return cited["sequence"], digest if isinstance(digest, str) else None


# --- the exhibit index: exhibit N is the N-th distinct artifact digest the ledger records --------

_ENUMS = {
    "HIL level": (
        "HIL0_MANUAL",
        "HIL1_ASSISTED",
        "HIL2_APPROVED",
        "HIL3_SUPERVISED",
        "HIL4_POST_REVIEW",
        "HIL5_AUTONOMOUS",
    ),
    "HIL function": ("acquire", "analyse", "decide", "act"),
    "origin": ("captured", "generated", "mixed"),
    "role": ("original", "derivative"),
}
# The human a HIL level names: HIL2 an approver, HIL3 a supervisor, HIL4 a reviewer.
_HIL_NEEDS = {
    "HIL2_APPROVED": ("approved_by", "approver"),
    "HIL3_SUPERVISED": ("supervised_by", "supervisor"),
    "HIL4_POST_REVIEW": ("reviewed_by", "reviewer"),
}


def _text(value: Any, what: str, limit: int = 4096) -> None:
    if value is not None and not isinstance(value, str):
        raise Refusal(f"{what} must be text, got {type(value).__name__}")
    if value is not None and len(value) > limit:
        raise Refusal(f"{what} is {len(value)} characters long (max {limit})")


def _enum(what: str, value: Any) -> str:
    if not isinstance(value, str) or value not in _ENUMS[what]:
        raise Refusal(f"{what} must be one of {', '.join(_ENUMS[what])}; got {value!r}")
    return value


def _slug(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise Refusal(
            f"{what} {value!r} is not valid: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def _canonicalisable(value: Any) -> None:
    """What RFC 8785 cannot write exactly: lone surrogates; doubles that would be written as
    integers beyond 2**53-1."""
    if isinstance(value, float) and math.isfinite(value) and _MAX_SAFE_INTEGER < abs(value) < 1e21:
        raise Refusal(
            f"value cannot be canonicalised as RFC 8785 JSON: {value!r} would be written as an integer "
            "beyond 2**53-1"
        )
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise Refusal(f"value cannot be canonicalised as RFC 8785 JSON: it holds {exc.reason}") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _canonicalisable(key)
            _canonicalisable(item)
    elif isinstance(value, list):
        for item in value:
            _canonicalisable(item)


def _human_involvement(hil: Any) -> str:
    level, function = hil.get("level"), hil.get("function")
    humans = {key: hil.get(key) for key in ("approved_by", "supervised_by", "reviewed_by")}
    _enum("HIL level", level)
    _enum("HIL function", function)
    for key, value in humans.items():
        _text(value, key, 256)
    if level in _HIL_NEEDS and not humans[_HIL_NEEDS[level][0]]:
        field_name, person = _HIL_NEEDS[level]
        raise Refusal(f"HIL level {level} names a human: give the {person} ({field_name.replace('_', ' ')})")
    _canonicalisable(list(humans.values()))
    return str(level)


def _tool(tool: Any) -> dict[str, Any]:
    name, version, card_digest = tool.get("name"), tool.get("version"), tool.get("card_digest")
    _slug(name, "tool name")
    if not isinstance(version, str) or not version:
        raise Refusal(f"tool version must be non-empty text, got {version!r}")
    check_sha256_hex(card_digest, what="tool card digest")
    _canonicalisable([name, version])
    return {"name": name, "version": version}


def artifact_provenance(document: dict[str, Any]) -> dict[str, Any]:
    """Check the body of an artifact.recorded / artifact.derived event as custody's Provenance
    does (in the same order), and return the fields the exhibit index shows. A malformed body
    makes the bundle unreadable (exit 3), as in ``custody verify``."""
    try:
        artifact = document["artifact"]
        derived = document.get("derived_from") or {}
        digest, size, media_type = artifact["digest"]["sha256"], artifact["size"], artifact["media_type"]
        name = artifact.get("name")
        origin, role = document["origin"], document["role"]
        level = _human_involvement(document["hil"])
        tool = _tool(document["tool"])
        operator = document["operator"]
        parents = tuple(parent["sha256"] for parent in derived.get("parents", []))
        transformation = derived.get("transformation")
        source_document = document.get("source") or {}
        for key in ("url", "platform", "account", "message_id"):
            _text(source_document.get(key), f"source {key}")
            _canonicalisable(source_document.get(key))
        captured_at, run, note = document.get("captured_at"), document.get("run"), document.get("note")
        details = document.get("details")
    except (KeyError, TypeError, AttributeError) as exc:
        raise Refusal(f"artifact provenance is missing or has a malformed field: {exc}") from None
    check_sha256_hex(digest, what="artifact digest")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= _MAX_SAFE_INTEGER:
        raise Refusal(f"artifact size must be an integer from 0 to 2**53-1, got {size!r}")
    if not isinstance(media_type, str) or "/" not in media_type:
        raise Refusal(f"media type must look like type/subtype, got {media_type!r}")
    _text(name, "artifact name", 1024)
    _enum("origin", origin)
    _enum("role", role)
    for parent in parents:
        check_sha256_hex(parent, what="derived-from digest")
    if digest in parents:
        raise Refusal(f"artifact {digest[:16]}... cannot be derived from itself")
    if role == "derivative" and not parents:
        raise Refusal("a derivative must name what it was derived from (--derived-from)")
    if role == "original" and parents:
        raise Refusal("an original cannot have --derived-from; use --role derivative")
    if transformation is not None and not parents:
        raise Refusal("a transformation only applies to a derivative (--derived-from)")
    _text(transformation, "transformation", 256)
    _slug(operator, "operator")
    if captured_at is not None:
        normalise_rfc3339(captured_at, what="captured-at")
    _text(run, "run id", 64)
    _text(note, "note")
    if details is not None and not isinstance(details, dict):
        raise Refusal(f"artifact details must be an object, got {type(details).__name__}")
    # Custody canonicalises the provenance it read (these fields, nothing else of the body).
    _canonicalisable([name, media_type, transformation, run, note, details])
    return {
        "sha256": digest,
        "name": name,
        "media_type": media_type,
        "size": size,
        "origin": origin,
        "role": role,
        "hil": level,
        "tool": tool,
    }


@dataclass(frozen=True)
class WithheldExhibit:
    """An artifact the bundle withholds (an item of data/withheld.json): its digest, the entries
    withheld with it (none when its scope is "bytes": its records are disclosed), why, the exhibit
    number the schedule gives it, and the scope."""

    sha256: str
    records: tuple[int, ...]
    reason: str
    exhibit: int | None = None
    scope: str = "record"


WITHHELD_SCOPES = ("record", "bytes")  # bytes and the entries recording it; or the bytes only


def exhibit_index(
    events: Sequence[Event | None], problems: list[str], withheld: Sequence[WithheldExhibit] = ()
) -> list[dict[str, Any]]:
    """One entry per distinct artifact digest, numbered from 1 in order of first record (by
    sequence number), over the disclosed records and the withheld ones the schedule lists. A
    withheld artifact shows only its number, digest, records and the reason; one withheld bytes only
    shows what its disclosed records say, and the reason. A record whose body is not a valid
    provenance is left out and described in ``problems``."""
    records: list[tuple[int, str, dict[str, Any]]] = []
    for event in events:
        if event is None or event.event_type not in ("artifact.recorded", "artifact.derived"):
            continue
        try:
            provenance = artifact_provenance(event.body)
        except Refusal as exc:
            what = f"entry {event.sequence} ({event.event_type})"
            problems.append(f"{what}: not a valid artifact record: {exc}")
            continue
        described = {k: v for k, v in provenance.items() if k != "sha256"}
        records.append((event.sequence, provenance["sha256"], described))
    for item in withheld:
        records.extend((sequence, item.sha256, {"withheld": item.reason}) for sequence in item.records)
    exhibits: dict[str, dict[str, Any]] = {}
    # A stable sort: for one sequence number, disclosed records come before scheduled ones.
    for sequence, digest, described in sorted(records, key=lambda record: record[0]):
        known = exhibits.get(digest)
        if known is not None:
            known["records"].append(sequence)
        else:
            exhibits[digest] = {
                "exhibit": len(exhibits) + 1,
                "sha256": digest,
                **described,
                "records": [sequence],
            }
    for item in withheld:
        if item.scope == "bytes" and item.sha256 in exhibits:
            exhibits[item.sha256]["withheld"] = item.reason
    return list(exhibits.values())


_EXTENSION = re.compile(r"\.[a-z0-9]{1,10}")


def artifact_path(digest: str, name: str | None) -> str:
    """``data/artifacts/<sha256>`` plus the recorded name's extension, if a plain one (the
    extension as Python's ``PurePosixPath(name).suffix`` gives it)."""
    parts = [part for part in (name or "").split("/") if part not in ("", ".")]
    base = parts[-1] if parts else ""
    dot = base.rfind(".")
    suffix = base[dot:].lower() if 0 < dot < len(base) - 1 else ""
    return f"data/artifacts/{digest}{suffix if _EXTENSION.fullmatch(suffix) else ''}"


# --- check 13: redacted transcripts against their original's signed commitment root --------------
#
# A decoy-chatbot transcript's record (artifact.recorded, details kind "transcript") carries
# details.commitments.root: the RFC 9162 Merkle root over one salted commitment per line of the
# transcript, SHA-256("custody/message-commitment/v1" 0x00 || salt || line). A redacted copy
# (artifact.derived, details kind "redacted-transcript", derived from the transcript) is a
# custody/redacted-transcript/v1 JSON document with one entry per line of the original: a shown
# line with its salt and commitment, or a withheld line's commitment and a reason. Re-hashing the
# shown lines and rebuilding the root from all the commitments proves that what is shown is
# unchanged and that what is withheld exists (docs/transcript-format.md). The rules and messages
# below are those of custody.commitments.verify_redacted.

REDACTED_SCHEMA = "custody/redacted-transcript/v1"
COMMITMENT_SCHEME = "custody/message-commitment/v1"
MAX_WITHHELD_REASON = 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")


class RedactionMismatch(Refusal):
    """A well-formed redacted transcript that does not lead to the signed root."""


def message_commitment(salt: bytes, line: bytes) -> bytes:
    return hashlib.sha256(COMMITMENT_SCHEME.encode() + b"\x00" + salt + line).digest()


def _hex32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise Refusal(f"{what} must be 64 lowercase hex characters, got {value!r}")
    return bytes.fromhex(value)


def _exact_keys(document: Mapping[str, Any], keys: set[str], where: str) -> None:
    if set(document) != keys:
        raise Refusal(f"{where} must have exactly the fields {sorted(keys)}, got {sorted(document)}")


def _withheld_reason(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Refusal(f"a withheld line needs a reason (non-empty text), got {value!r}")
    if len(value) > MAX_WITHHELD_REASON:
        raise Refusal(f"the reason is {len(value)} characters long (max {MAX_WITHHELD_REASON})")
    return value


@dataclass(frozen=True)
class RedactedLine:
    """One entry of a redacted transcript: ``line`` and ``salt`` are None when it is withheld."""

    commitment: bytes
    line: bytes | None = None
    salt: bytes | None = None


def _redacted_entry(document: Any, position: int) -> RedactedLine:
    """``{"shown": {"line", "salt", "commitment"}}`` or ``{"withheld": {"commitment", "reason"}}``."""
    where = f"entry {position}"
    if not isinstance(document, dict) or len(document) != 1:
        raise Refusal(f"{where} must be an object with exactly one of 'shown' or 'withheld'")
    ((kind, body),) = document.items()
    if not isinstance(body, dict):
        raise Refusal(f"{where}: {kind!r} must be an object, got {type(body).__name__}")
    try:
        if kind == "shown":
            _exact_keys(body, {"line", "salt", "commitment"}, f"{where}.shown")
            line = body["line"]
            if not isinstance(line, str):
                raise Refusal(f"line must be text, got {type(line).__name__}")
            try:
                line_bytes = line.encode("utf-8")  # the exact committed bytes
            except UnicodeEncodeError as exc:
                raise Refusal(f"line is not encodable as UTF-8: {exc}") from None
            salt, commitment = _hex32(body["salt"], "salt"), _hex32(body["commitment"], "commitment")
            if b"\n" in line_bytes:
                raise Refusal("a shown line cannot contain a line feed")
            return RedactedLine(commitment, line_bytes, salt)
        if kind == "withheld":
            _exact_keys(body, {"commitment", "reason"}, f"{where}.withheld")
            commitment = _hex32(body["commitment"], "commitment")
            _withheld_reason(body["reason"])
            return RedactedLine(commitment)
    except Refusal as exc:
        if exc.message.startswith(where):
            raise
        raise Refusal(f"{where}: {exc.message}") from None
    raise Refusal(f"{where} must be 'shown' or 'withheld', got {kind!r}")


def _parse_redacted(document: dict[str, Any]) -> tuple[str, Any, Any, bytes, list[RedactedLine]]:
    """The (transcript digest, size, final_newline, root, entries) of a redacted transcript,
    checked in custody's order so that the first problem found is the same."""
    _exact_keys(document, {"schema", "commitment_scheme", "transcript", "root", "entries"}, "the document")
    if document["schema"] != REDACTED_SCHEMA:
        raise Refusal(f"schema must be {REDACTED_SCHEMA!r}, got {document['schema']!r}")
    if document["commitment_scheme"] != COMMITMENT_SCHEME:
        raise Refusal(
            f"commitment_scheme must be {COMMITMENT_SCHEME!r}, got {document['commitment_scheme']!r}"
        )
    transcript = document["transcript"]
    if not isinstance(transcript, dict):
        raise Refusal("'transcript' must be an object")
    _exact_keys(transcript, {"digest", "size", "lines", "final_newline"}, "transcript")
    digest = transcript["digest"]
    if not isinstance(digest, dict) or set(digest) != {"sha256"}:
        raise Refusal(f"transcript digest must be {{'sha256': hex}}, got {digest!r}")
    items = document["entries"]
    if not isinstance(items, list):
        raise Refusal("'entries' must be an array")
    lines = transcript["lines"]
    if isinstance(lines, bool) or not isinstance(lines, int) or lines != len(items):
        raise Refusal(f"transcript lines says {lines!r} but the document has {len(items)} entries")
    root = _hex32(document["root"], "root")
    entries = [_redacted_entry(item, position) for position, item in enumerate(items)]
    sha256, size, final_newline = digest["sha256"], transcript["size"], transcript["final_newline"]
    check_sha256_hex(sha256, what="transcript digest")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= _MAX_SAFE_INTEGER:
        raise Refusal(f"transcript size must be a positive whole number, got {size!r}")
    if not isinstance(final_newline, bool):
        raise Refusal(f"final_newline must be true or false, got {final_newline!r}")
    if not entries:
        raise Refusal("a redacted transcript has at least one entry (the header line)")
    return sha256, size, final_newline, root, entries


def _claimed_seq(line: bytes) -> str:
    # Only to help a human find the entry; the line failed verification, so it proves nothing.
    try:
        seq = parse_json_object(line, what="JSON").get("seq")
    except Refusal:
        return ""
    return f", the line says seq {seq}" if isinstance(seq, int) and not isinstance(seq, bool) else ""


def verify_redacted(data: bytes, expected_root: bytes) -> None:
    """Verify a redacted transcript's bytes against the root from the signed record (never the
    root the document states). Refusal: malformed; RedactionMismatch: it does not prove out."""
    what = "redacted transcript"
    # 1. Parse the document strictly.
    document = parse_json_object(data, what=what)
    try:
        sha256, size, final_newline, root, entries = _parse_redacted(document)
    except Refusal as exc:
        raise Refusal(f"{what}: {exc.message}") from None
    # 2. It claims to be a copy of the signed transcript.
    if root != expected_root:
        raise RedactionMismatch(
            f"{what} is for commitment root {root.hex()}, but the signed record has {expected_root.hex()}"
        )
    # 3. Every shown line, with its salt, gives the commitment written beside it.
    for position, entry in enumerate(entries):
        if entry.line is not None and entry.salt is not None:
            computed = message_commitment(entry.salt, entry.line)
            if computed != entry.commitment:
                raise RedactionMismatch(
                    f"{what} entry {position} (transcript line {position + 1}{_claimed_seq(entry.line)}): "
                    f"the shown line and salt give commitment {computed.hex()}, expected "
                    f"{entry.commitment.hex()}; the line or its salt was changed"
                )
    # 4. The commitments, in order, are the entries of the RFC 9162 tree with the signed root.
    computed_root = merkle_root([hashlib.sha256(b"\x00" + entry.commitment).digest() for entry in entries])
    if computed_root != expected_root:
        raise RedactionMismatch(
            f"{what}: the {len(entries)} commitments lead to root {computed_root.hex()}, expected "
            f"{expected_root.hex()}; a commitment was changed, added, removed or reordered"
        )
    # 5. Nothing withheld: the lines, joined by LF, rebuild the original file exactly.
    if all(entry.line is not None for entry in entries):
        rebuilt = b"\n".join(entry.line or b"" for entry in entries) + (b"\n" if final_newline else b"")
        rebuilt_sha256 = hashlib.sha256(rebuilt).hexdigest()
        if len(rebuilt) != size or rebuilt_sha256 != sha256:
            raise RedactionMismatch(
                f"{what}: every line is shown but they rebuild a file of {len(rebuilt)} bytes with "
                f"SHA-256 {rebuilt_sha256}, expected {size} bytes with {sha256}"
            )


@dataclass(frozen=True)
class ArtifactRecord:
    """What check 13 reads of a disclosed, well-formed artifact record."""

    sha256: str
    name: str | None
    parents: tuple[str, ...]
    details: dict[str, Any]


def _artifact_records(events: Sequence[Event | None]) -> list[ArtifactRecord]:
    """The disclosed artifact records whose body is a valid provenance (check 12 reports the rest)."""
    records = []
    for event in events:
        if event is None or event.event_type not in ("artifact.recorded", "artifact.derived"):
            continue
        try:
            provenance = artifact_provenance(event.body)
        except Refusal:
            continue
        derived = event.body.get("derived_from") or {}
        parents = tuple(parent["sha256"] for parent in derived.get("parents", []))
        details = event.body.get("details") or {}
        records.append(ArtifactRecord(provenance["sha256"], provenance["name"], parents, details))
    return records


def check_redactions(
    bag: Bag, events: Sequence[Event | None], withheld: Sequence[WithheldExhibit], check: Check
) -> None:
    """Every disclosed redacted transcript proves out against the commitment root in the disclosed
    record of the transcript it is derived from. An artifact whose bytes are missing is left to
    check 12."""
    records = _artifact_records(events)
    roots: dict[str, Any] = {}  # transcript digest -> the commitment root its first record gives
    for record in records:
        commitments = record.details.get("commitments")
        if isinstance(commitments, dict) and "root" in commitments:
            roots.setdefault(record.sha256, commitments["root"])
    disclosed = {record.sha256 for record in records}
    reasons = {item.sha256: item.reason for item in withheld}
    checked: set[str] = set()
    for record in records:
        if record.details.get("kind") != "redacted-transcript" or record.sha256 in checked:
            continue
        checked.add(record.sha256)
        inner = artifact_path(record.sha256, record.name)
        if inner not in bag.sizes:
            continue  # check 12 says it is missing
        original = next((parent for parent in record.parents if parent in roots), None)
        if original is None:
            check.fail(_no_original(inner, record.parents, disclosed, reasons))
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
        except RedactionMismatch as exc:
            check.fail(
                f"{inner}: does not prove out against the signed commitment root of transcript "
                f"{original[:16]}...: {exc.message}"
            )
        except Refusal as exc:
            check.fail(f"{inner}: {exc.message}")


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


# --- reading the bag: a zip checked against hostile archives, or a folder ------------------------

MAX_MEMBERS = 100_000
MAX_TOTAL_BYTES = 64 * 1024**3
MAX_RATIO = 100  # uncompressed:compressed, checked for members above RATIO_FLOOR bytes
RATIO_FLOOR = 1024 * 1024


@dataclass
class Bag:
    """The files of a bag, by path inside it, and how to open each."""

    name: str
    top: str
    sizes: dict[str, int]
    open: Callable[[str], Any]  # path -> context manager giving a binary stream

    def read(self, path: str, *, limit: int = MAX_INDEX_BYTES) -> bytes:
        if path not in self.sizes:
            raise Refusal(f"{self.name}: the bag has no {path}")
        if self.sizes[path] > limit:
            raise Refusal(f"{self.name}: {path} is {self.sizes[path]} bytes (limit {limit})")
        with self.open(path) as stream:
            return b"".join(iter(lambda: stream.read(CHUNK), b""))

    def sha256(self, path: str) -> str:
        hasher = hashlib.sha256()
        with self.open(path) as stream:
            while chunk := stream.read(CHUNK):
                hasher.update(chunk)
        return hasher.hexdigest()


class _MemberStream:
    """A zip member as a stream that may yield no more than it declares; zip errors -> Refusal."""

    def __init__(self, raw: IO[bytes], where: str, declared: int) -> None:
        self.raw, self.where, self.declared, self.size = raw, where, declared, 0

    def read(self, size: int = -1) -> bytes:
        try:
            data = self.raw.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise Refusal(f"{self.where} cannot be read: {exc}") from None
        self.size += len(data)
        if self.size > self.declared:
            raise Refusal(f"{self.where} holds more than the {self.declared} bytes it declares")
        return data


def _check_member(info: zipfile.ZipInfo, name: str) -> None:
    path, shown = info.filename, info.orig_filename
    if "\x00" in shown or path != shown:
        raise Refusal(f"{name}: member {shown!r} has a NUL byte in its name")
    if path.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", path):
        raise Refusal(f"{name}: member {path!r} has an absolute path; refusing the bundle")
    if "\\" in path:
        raise Refusal(f"{name}: member {path!r} has a backslash in its path; refusing the bundle")
    parts = path.rstrip("/").split("/")
    if ".." in parts:
        raise Refusal(f"{name}: member {path!r} leaves the package folder ('..'); refusing the bundle")
    if any(part in ("", ".") for part in parts):
        raise Refusal(f"{name}: member {path!r} has an empty or '.' path segment")


def _checked_members(archive: zipfile.ZipFile, stream: BinaryIO, name: str) -> list[zipfile.ZipInfo]:
    """The file members, after refusing anything a hostile archive could use against a reader."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise Refusal(f"{name}: {len(infos)} members; the limit is {MAX_MEMBERS}")
    seen: dict[str, int] = {}
    total = 0
    files = []
    for number, info in enumerate(infos, 1):
        _check_member(info, name)
        path = info.filename
        if path in seen:
            raise Refusal(
                f"{name}: member name {path!r} appears more than once (entries {seen[path]} and {number}); "
                "refusing the bundle"
            )
        seen[path] = number
        mode = info.external_attr >> 16
        if stat.S_IFMT(mode) == stat.S_IFLNK:
            raise Refusal(f"{name}: member {path!r} is a symbolic link; refusing the bundle")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise Refusal(f"{name}: member {path!r} is not a regular file (mode {oct(mode)})")
        if info.flag_bits & 0x1:
            raise Refusal(f"{name}: member {path!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Refusal(
                f"{name}: member {path!r} uses compression method {info.compress_type}; "
                "a bundle uses stored or deflate"
            )
        if info.is_dir():
            if info.file_size:
                raise Refusal(f"{name}: directory member {path!r} has content")
            continue
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise Refusal(
                f"{name}: the members expand to more than {MAX_TOTAL_BYTES} bytes; refusing the bundle"
            )
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise Refusal(
                f"{name}: member {path!r} expands from {info.compress_size} to {info.file_size} bytes "
                f"(the limit is {MAX_RATIO}:1): a zip bomb? refusing the bundle"
            )
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise Refusal(
                f"{name}: stored member {path!r} declares {info.file_size} bytes but occupies "
                f"{info.compress_size}"
            )
        files.append(info)
    # Members must not share bytes (overlapping entries make a small zip expand many times over).
    spans = []
    for info in files:
        stream.seek(info.header_offset)
        local = stream.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise Refusal(
                f"{name}: member {info.filename!r} has no local header at offset {info.header_offset}"
            )
        end = info.header_offset + 30 + int.from_bytes(local[26:28], "little")
        end += int.from_bytes(local[28:30], "little") + info.compress_size
        spans.append((info.header_offset, end, info.filename))
    spans.sort()
    for (_, end, path), (start, _, following) in zip(spans, spans[1:]):  # noqa: B905, RUF007 (Python 3.9)
        if end > start:
            raise Refusal(f"{name}: members {path!r} and {following!r} overlap; refusing the bundle")
    return files


@contextmanager
def open_bag(path: str) -> Iterator[Bag]:
    """A bundle zip (one top folder holding the bag) or an unzipped bag folder."""
    if os.path.isdir(path) and not os.path.islink(path):
        yield _folder_bag(path)
        return
    if not os.path.isfile(path):
        raise Refusal(f"bundle not found (or not a regular file or folder): {path}")
    name = os.path.basename(path)
    try:
        stream = open(path, "rb")  # noqa: SIM115 (closed below, after the bag is used)
    except OSError as exc:
        raise Refusal(f"cannot read {path}: {exc.strerror or exc}") from None
    with stream:
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
            raise Refusal(f"{name}: not a bundle: not a readable zip file ({exc})") from None
        with archive:
            members = _checked_members(archive, stream, name)
            tops = {info.filename.split("/", 1)[0] for info in archive.infolist()}
            if len(tops) != 1 or any("/" not in info.filename for info in members):
                raise Refusal(
                    f"{name}: a bundle holds one top folder and files under it; found {sorted(tops)[:5]}"
                )
            by_path = {info.filename.split("/", 1)[1]: info for info in members}

            @contextmanager
            def opener(inner: str) -> Iterator[_MemberStream]:
                info = by_path[inner]
                try:
                    raw = archive.open(info)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
                    raise Refusal(f"{name}: {inner} cannot be read: {exc}") from None
                with raw:
                    yield _MemberStream(raw, f"{name}: {inner}", info.file_size)

            yield Bag(name, tops.pop(), {p: i.file_size for p, i in by_path.items()}, opener)


def _folder_bag(root: str) -> Bag:
    """Every regular file under ``root``; a symbolic link or a special file refuses the bag."""
    root_name = os.path.basename(os.path.abspath(root))
    sizes: dict[str, int] = {}
    for base, dirs, files in os.walk(root):  # os.walk does not follow symbolic links
        for entry in (*dirs, *files):
            full = os.path.join(base, entry)
            relative = os.path.relpath(full, root).replace(os.sep, "/")
            mode = os.lstat(full).st_mode
            if stat.S_ISLNK(mode):
                raise Refusal(f"{root_name}: {relative} is a symbolic link; refusing the bundle")
            if entry in files and not stat.S_ISREG(mode):
                raise Refusal(f"{root_name}: {relative} is not a regular file")
            if entry in files:
                sizes[relative] = os.stat(full).st_size

    @contextmanager
    def opener(inner: str) -> Iterator[BinaryIO]:
        with open(os.path.join(root, *inner.split("/")), "rb") as stream:
            yield stream

    return Bag(root_name, root_name, sizes, opener)


# --- BagIt (RFC 8493) manifests and bag-info ------------------------------------------------------

_MANIFEST_LINE = re.compile(r"([0-9a-f]{64})[ \t]+(\S.*)")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")


def _check_bag_path(path: str, what: str) -> str:
    if not path or "\\" in path or any(c in path for c in "\r\n%\x00"):
        raise Refusal(f"{what} {path!r} is empty or holds a backslash, CR, LF, '%' or NUL")
    if path.startswith("/") or any(part in ("", ".", "..") for part in path.split("/")):
        raise Refusal(f"{what} {path!r} is absolute or has an empty, '.' or '..' segment")
    return path


def parse_manifest(data: bytes, *, name: str) -> dict[str, str]:
    """Path -> SHA-256 from ``<64 lowercase hex><spaces or tabs><path>`` lines."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refusal(f"{name} is not UTF-8: {exc}") from None
    if text and not text.endswith("\n"):
        raise Refusal(f"{name}: the last line has no line feed (the file may be cut short)")
    result: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = _MANIFEST_LINE.fullmatch(line)
        if match is None:
            raise Refusal(f"{name} line {number}: expected '<sha256 hex>  <path>', got {line[:80]!r}")
        digest, path = match.groups()
        path = _check_bag_path(path, f"{name} line {number}: path")
        if path in result:
            raise Refusal(f"{name} line {number}: {path} is listed twice")
        result[path] = digest
    return result


def parse_bag_info(data: bytes) -> dict[str, list[str]]:
    """Label -> values; a line starting with whitespace continues the previous value."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refusal(f"{BAG_INFO} is not UTF-8: {exc}") from None
    fields: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line[:1] in (" ", "\t") and fields:
            fields[-1] = (fields[-1][0], f"{fields[-1][1]} {line.strip()}")
            continue
        label, sep, value = line.partition(":")
        if not sep or not _LABEL.fullmatch(label.strip()):
            raise Refusal(f"{BAG_INFO} line {number}: expected 'Label: value', got {line[:80]!r}")
        fields.append((label.strip(), value.strip()))
    result: dict[str, list[str]] = {}
    for label, value in fields:
        result.setdefault(label, []).append(value)
    return result


# --- the bundle checks ----------------------------------------------------------------------------

TITLES = {
    "payload": "every payload file is listed in manifest-sha256.txt and intact, and nothing else is there",
    "tags": "every tag file is listed in tagmanifest-sha256.txt and intact",
    "signature": "the tag manifest is signed by the exporting key, which the ledger introduces",
    "keys": "data/keys holds exactly the keys the ledger introduces, with their roles",
    "coverage": "the checkpoint covers exactly the disclosed entries",
    "trust": "the exporting key or the log key is one given with --trust",
    "artifacts": "every recorded artifact is disclosed under its digest; exhibits.json matches the ledger",
    "redactions": "every redacted transcript proves out against its original's signed commitment root",
}


@dataclass
class Verdict:
    report: Report
    anchored_by: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if not self.report.ok:
            return "INVALID"
        if self.anchored_by:
            return "VALID, anchored to a trusted key"
        # With --trust and no match, check 14 failed and the verdict is INVALID above.
        return "VALID, not anchored to a trusted key"

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.report.subject,
            "valid": self.report.ok,
            "checks": [
                {
                    "number": check.number,
                    "title": check.title,
                    "status": "OK" if check.ok else "FAIL",
                    "failures": check.failures,
                }
                for check in self.report.checks
            ],
            "verdict": self.summary,
            "anchored_by": self.anchored_by,
        }


def verify_bundle(path: str, trust: Sequence[str] = ()) -> Verdict:
    with open_bag(path) as bag:
        return _verify(bag, trust)


def _single(info: Mapping[str, list[str]], label: str, bag: Bag) -> str:
    values = info.get(label, [])
    if len(values) != 1:
        raise Refusal(f"{bag.name}: {BAG_INFO} must have one {label} line, found {len(values)}")
    return values[0]


def _json(bag: Bag, inner: str) -> dict[str, Any]:
    return parse_json_object(bag.read(inner), what=f"{bag.name}: {inner}")


def _verify(bag: Bag, trust: Sequence[str]) -> Verdict:
    if bag.read(BAG_DECLARATION, limit=4096) != BAGIT_TXT:
        raise Refusal(f"{bag.name}: {BAG_DECLARATION} is not a BagIt 1.0 declaration in UTF-8")
    payload_manifest = parse_manifest(bag.read(PAYLOAD_MANIFEST), name=PAYLOAD_MANIFEST)
    tag_manifest_bytes = bag.read(TAG_MANIFEST)
    info = parse_bag_info(bag.read(BAG_INFO))
    exporter = _single(info, "Custody-Exporter-Key-Id", bag)
    report = Report(subject=f"bundle {bag.top}")

    # 1. The payload (data/) is exactly what manifest-sha256.txt lists, byte for byte.
    check = report.add(TITLES["payload"])
    for inner in sorted(bag.sizes):
        if inner.startswith("data/") and inner not in payload_manifest:
            check.fail(f"{inner}: present but not listed in {PAYLOAD_MANIFEST} (added?)")
    for inner, expected in sorted(payload_manifest.items()):
        if not inner.startswith("data/"):
            check.fail(f"{PAYLOAD_MANIFEST} lists {inner}, which is not under data/")
        elif inner not in bag.sizes:
            check.fail(f"{inner}: listed in {PAYLOAD_MANIFEST} but missing (deleted or renamed?)")
        elif (observed := bag.sha256(inner)) != expected:
            check.fail(f"{inner}: expected sha256 {expected}, found {observed} (changed?)")

    # 2. The tag files (everything outside data/ but the tag manifest and its signature) are
    #    exactly what tagmanifest-sha256.txt lists; it covers bagit.txt, bag-info.txt and the
    #    payload manifest, so the signature over it (check 7) covers the whole bag.
    tag_manifest = parse_manifest(tag_manifest_bytes, name=TAG_MANIFEST)
    check = report.add(TITLES["tags"])
    present = {p for p in bag.sizes if not p.startswith("data/")} - {TAG_MANIFEST, SIGNATURE_FILE}
    for inner in sorted(present - set(tag_manifest)):
        check.fail(f"{inner}: present but not listed in {TAG_MANIFEST} (added?)")
    for inner, expected in sorted(tag_manifest.items()):
        if inner not in bag.sizes:
            check.fail(f"{inner}: listed in {TAG_MANIFEST} but missing")
        elif (observed := bag.sha256(inner)) != expected:
            check.fail(f"{inner}: expected sha256 {expected}, found {observed} (changed?)")
    for required in (BAG_DECLARATION, BAG_INFO, PAYLOAD_MANIFEST):
        if required not in tag_manifest:
            check.fail(f"{TAG_MANIFEST} does not cover {required}")

    # 3-6. The ledger, entry by entry (a withheld entry's line is parsed here, and skipped there).
    entries = parse_ledger_lines(bag.read(ENTRIES, limit=1 << 34), name=f"{bag.name}: {ENTRIES}")
    ledger = verify_ledger(_single(info, "Custody-Case", bag), entries, report)
    keys = ledger_keys(ledger.events)

    # 7. The tag manifest is signed by the exporter's key, as the ledger introduces it.
    check = report.add(TITLES["signature"])
    known = {key["key_id"]: key for key in keys}
    if exporter not in known:
        check.fail(f"exporting key {exporter[:16]}... is not introduced by the disclosed ledger")
    elif SIGNATURE_FILE not in bag.sizes:
        check.fail(f"{SIGNATURE_FILE} is missing")
    else:
        try:
            public = PublicKey.from_hex(str(known[exporter]["public_key"]))
            public.verify(bag.read(SIGNATURE_FILE, limit=1024), tag_manifest_bytes)
        except Refusal as exc:
            check.fail(f"{SIGNATURE_FILE}: {exc.message}")

    # 8. data/keys/keys.json lists exactly those keys (names, roles, where introduced and
    #    revoked), each PEM file holds the key it names, and the exporter is the one bag-info names.
    index = _json(bag, KEYS_INDEX)
    check = report.add(TITLES["keys"])
    listed = index.get("keys")
    if not isinstance(listed, list) or not all(isinstance(item, dict) for item in listed):
        check.fail(f"{KEYS_INDEX}: 'keys' is not a list of objects")
    else:
        if [{k: v for k, v in item.items() if k != "pem"} for item in listed] != keys:
            check.fail(f"{KEYS_INDEX} does not list the keys the ledger introduces (names, roles, ids)")
        for item in listed:
            pem_path = f"data/{item.get('pem')}"
            try:
                pem_key = PublicKey.from_pem(bag.read(pem_path, limit=4096))
            except Refusal as exc:
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

    # 9. The checkpoint: signed by the log key of entry 0, for this log, and with the Merkle root
    #    of the entries it covers.
    note = bag.read(CHECKPOINT, limit=1 << 20)
    verify_checkpoint(entries, ledger, note, report)

    # 10. ... and it covers all the disclosed entries, no fewer.
    check = report.add(TITLES["coverage"])
    try:
        text, _ = parse_signed_note(note)
        checkpoint = parse_checkpoint(text)
    except Refusal as exc:
        check.fail(f"{CHECKPOINT}: {exc.message}")
    else:
        if checkpoint.size != len(entries):
            check.fail(f"{CHECKPOINT} covers {checkpoint.size} entries; {ENTRIES} holds {len(entries)}")

    # 11. Custody continuity.
    verify_continuity(entries, ledger, report)

    # 12. Every artifact the ledger records is disclosed under its digest (and nothing else) or
    #     scheduled as withheld in data/withheld.json (and then its bytes are absent), and
    #     exhibits.json is the exhibit index recomputed from the entries and the schedule.
    check = report.add(TITLES["artifacts"])
    withheld = withheld_schedule(bag, entries, check)
    exhibits = exhibit_index(ledger.events, check.failures, withheld)
    _check_scheduled_numbers(withheld, exhibits, check)
    disclosed = {p for p in payload_manifest if p.startswith("data/artifacts/")}
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
        if payload_manifest[inner] != wanted[inner]["sha256"]:
            listed_digest = payload_manifest[inner][:16]
            check.fail(f"{inner}: listed with sha256 {listed_digest}..., not the recorded digest")
    exhibits_json = _json(bag, EXHIBITS)
    if exhibits_json.get("format") != FORMAT or exhibits_json.get("exhibits") != exhibits:
        check.fail(f"{EXHIBITS} does not match the exhibits the ledger records (numbers, digests, records)")

    # 13. Every disclosed redacted transcript proves out against the commitment root in its
    #     original transcript's disclosed, signed record.
    check_redactions(bag, ledger.events, withheld, report.add(TITLES["redactions"]))

    # 14. With --trust: the exporter's key or the log key is one the verifier trusts.
    verdict = Verdict(report)
    if trust:
        log = log_key_of(ledger)
        candidates = [exporter, *([log[1].key_id] if log else [])]
        verdict.anchored_by = [key for key in candidates if any(_matches(t, key) for t in trust)]
        check = report.add(TITLES["trust"])
        if not verdict.anchored_by:
            check.fail(
                f"neither the exporting key ({fingerprint(exporter)}) nor the log key"
                f"{f' ({fingerprint(log[1].key_id)})' if log else ''} is one you trust ({', '.join(trust)})"
            )
    return verdict


def withheld_schedule(
    bag: Bag, lines: Sequence[bytes | WithheldEntry], check: Check
) -> list[WithheldExhibit]:
    """data/withheld.json, checked against the withheld lines of the ledger: every withheld line
    belongs to exactly one artifact scheduled with scope "record", with the same reason, and
    nothing else is scheduled; an artifact withheld with scope "bytes" has no withheld lines (its
    records are disclosed). A schedule that is not of this form makes the bundle unreadable
    (exit 3)."""
    document = _json(bag, WITHHELD)
    items = document.get("withheld")
    if document.get("format") != FORMAT or not isinstance(items, list):
        raise Refusal(f"{bag.name}: {WITHHELD} is not a {FORMAT} schedule of withheld material")
    schedule: list[WithheldExhibit] = []
    claimed: dict[int, str] = {}  # entry -> the digest it is scheduled for
    for number, item in enumerate(items):
        where = f"{WITHHELD} item {number}"
        if not isinstance(item, dict) or set(item) != {"exhibit", "sha256", "scope", "entries", "reason"}:
            raise Refusal(f"{bag.name}: {where} must hold exhibit, sha256, scope, entries and reason")
        records, exhibit, scope = item["entries"], item["exhibit"], item["scope"]
        if scope not in WITHHELD_SCOPES:
            raise Refusal(f"{bag.name}: {where}: scope must be one of {list(WITHHELD_SCOPES)}")
        if not isinstance(records, list) or not all(_whole(n) for n in records):
            raise Refusal(f"{bag.name}: {where}: entries must be a list of entry numbers")
        if (scope == "record") != bool(records):
            raise Refusal(
                f"{bag.name}: {where}: scope {scope!r} "
                + ("withholds no entries" if scope == "bytes" else "needs the entries it withholds")
            )
        if not _whole(exhibit):
            raise Refusal(f"{bag.name}: {where}: exhibit must be an exhibit number")
        digest = check_sha256_hex(item["sha256"], what=f"{where} sha256")
        reason = item["reason"]
        if not isinstance(reason, str):
            raise Refusal(f"{bag.name}: {where}: reason must be text")
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


def _matches(trusted: str, key_id: str) -> bool:
    """A trusted key id or fingerprint: at least its first 16 hex digits, ':' separators and a
    "sha256:" prefix allowed."""
    value = trusted.strip().lower()
    value = value[len("sha256:") :] if value.startswith("sha256:") else value
    value = value.replace(":", "")
    return len(value) >= 16 and key_id.startswith(value)


# --- command line ---------------------------------------------------------------------------------


def _print_report(verdict: Verdict) -> None:
    if verdict.anchored_by:
        print("Trusted key(s) matched: " + ", ".join(k[:16] + "..." for k in verdict.anchored_by))
    print(f"Verification of {verdict.report.subject}:")
    for check in verdict.report.checks:
        print(f"  {check.number}. [{'OK' if check.ok else 'FAIL'}] {check.title}")
        for failure in check.failures:
            print(f"       - {failure}")
    print("Result: " + verdict.summary)


def main(argv: Sequence[str] | None = None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(
        prog="verify_bundle.py",
        description="Verify a custody disclosure bundle offline (the same checks as `custody verify`).",
    )
    parser.add_argument(
        "bundle", nargs="?", default=here, help="BUNDLE.zip or an unzipped bag folder (default: %(default)s)"
    )
    parser.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="FINGERPRINT",
        help="a key id or fingerprint you trust (the exporter's or the log key); repeatable",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    if ED25519_BACKEND is None:
        print("Error: this verifier needs PyNaCl or cryptography (pip install pynacl)", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        verdict = verify_bundle(args.bundle, args.trust)
    except Refusal as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        return EXIT_UNREADABLE
    except OSError as exc:
        print(f"Error: cannot read {args.bundle}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except Exception as exc:  # a defence expert gets a reason, never a traceback
        reason = f"{type(exc).__name__}: {exc}"
        print(f"Error: {args.bundle} cannot be read as a bundle ({reason})", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.json:
        print(json.dumps(verdict.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_report(verdict)
    return EXIT_VALID if verdict.report.ok else EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
