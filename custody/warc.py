"""WARC and WACZ web captures, parsed strictly: what a scraper recorded, checked and described.

``read_warc`` reads a WARC file (plain or gzip, WARC/1.0 or WARC/1.1) with warcio and returns a
``WarcCapture``: one value object per record, in file order, with the findings a court should see.
``read_wacz`` opens a WACZ package safely, checks it against its ``datapackage.json`` and reads
every WARC inside it. Both take bytes or a stream and a display name; neither touches the
database, the blob store or the clock. ``read_warc_file`` reads a WARC on disk with the same
result, on both cores when it is a large gzip WARC (a forked child reads the second part).

Invariants:
- Pure: bytes in, value objects out. Every ``to_dict()`` is canonical-JSON-able (RFC 8785): only
  text, integers, booleans, lists and objects; optional fields are omitted, never ``null``.
- Streamed, never buffered: payloads pass through hashers (and, if asked, a caller's sink) in one
  pass. Only header sections and small ``application/warc-fields`` and certificate blocks (bounded
  by ``WarcLimits.max_fields_bytes``) are held in memory. Memory grows with the number of records,
  not their size.
- What is malformed, cut off or does not match its digest is a hard error: ``FormatError`` (input
  could not be read; exit 3) or ``IntegrityError`` (a declared digest does not match; exit 1). Every
  message starts with the name and names the record (WARC-Record-ID) and its byte offset, or the
  WACZ member. What is well formed but matters to a court is a ``CaptureFinding``; nothing is fixed,
  dropped or reordered.

Decisions (see also the sample case README):
- The artifact digest of a response is over the HTTP *message body exactly as recorded*: the bytes
  after the HTTP header section, with any chunked transfer coding and content coding (gzip, ...)
  left in place. That is what the server sent, with no transformation by us or by a decoder in
  between, and anyone can cut it out of the record with ``dd`` and check it with ``sha256sum``
  (``Payload.offset_in_block``). When the body carries a transfer or content coding, the decoded
  content (what a browser renders and what OCR or translation work from; what warcio's
  ``content_stream()`` gives) is hashed as well (``Payload.content``), so an importer can record
  it as a derivative of the raw body. Decoding is strict: a malformed chunk or corrupt gzip body is
  a finding and no ``content`` digest, never a silently shortened one.
- ``WARC-Payload-Digest`` is checked against the raw message body and, when the body is chunked,
  also against the body with the chunked coding removed: the WARC standard defines the payload as
  the transfer-decoded entity body, but most writers (warcio, wget, older Heritrix) hash the bytes
  as recorded. A match with either is recorded (``DeclaredDigest.covers``); a match with neither is
  an ``IntegrityError``. ``WARC-Block-Digest`` is checked against the whole record block.
  Algorithms: sha1, sha224, sha256, sha384, sha512, md5; values in base32, hex or base64. An
  unsupported algorithm is a finding, not an error.
- Locations: ``RecordInfo.offset`` and ``length`` are positions in the file as given. In a
  ``.warc.gz`` they span the record's gzip member(s); in a plain WARC they run from the record's
  first byte to the next record (the trailing CRLF CRLF included). Either way the bytes
  ``[offset, offset + length)`` are a valid one-record WARC, which ``read_record_at`` re-reads.
  Every record of a ``.warc.gz`` must start a new gzip member (as warcio requires).
- Payload bytes reach the caller in the same pass through ``payload_sink(head, stream)``, called
  once per record that has a payload, in file order, while the record is read. The digests are
  known only after the sink returns, and a later record can still fail, so nothing the sink stored
  may be trusted until ``read_warc`` returns (an import is all-or-nothing). To read one payload
  later, ``read_record_at(source, record_info)`` reads and re-verifies just that record.
- TLS information recognised: the ``WARC-Protocol`` (repeatable) and ``WARC-Cipher-Suite`` record
  headers (IIPC proposals, used by wget-at, Browsertrix, StormCrawler), and ``resource`` or
  ``metadata`` records whose Content-Type is a certificate type (``CERTIFICATE_MEDIA_TYPES``, PEM or
  DER). For those, each certificate's SHA-256 fingerprint, subject, issuer, serial and validity are
  extracted. The WARC standard has no convention for certificates; other shapes are kept as plain
  resource or metadata records.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from cryptography import x509
from cryptography.x509.oid import ExtensionOID
from warcio.archiveiterator import WARCIterator  # type: ignore[import-untyped]
from warcio.exceptions import ArchiveLoadFailed  # type: ignore[import-untyped]

from custody.canonical import drop_none, parse_json_object
from custody.errors import CustodyError, FormatError, InputFileError, IntegrityError
from custody.parallel import ForkedCall, can_fork
from custody.safezip import MemberStream, ZipLimits, check_members, read_small
from custody.timeutil import format_rfc3339, normalise_rfc3339
from custody.wacz_index import INDEX_MEMBER, IndexedRecord, check_index
from custody.wacz_signature import WaczSignature, check_signed_data

__all__ = [
    "CERTIFICATE_MEDIA_TYPES",
    "CaptureFinding",
    "CaptureFindingKind",
    "Certificate",
    "DeclaredDigest",
    "DecodedContent",
    "HttpRequestHead",
    "HttpResponseHead",
    "Payload",
    "PayloadSink",
    "RecordHead",
    "RecordInfo",
    "WaczArchive",
    "WaczCapture",
    "WaczLimits",
    "WaczPage",
    "WaczResource",
    "WarcCapture",
    "WarcInfo",
    "WarcItem",
    "WarcLimits",
    "WarcMetadata",
    "WarcOtherRecord",
    "WarcRequest",
    "WarcResource",
    "WarcResponse",
    "WarcRevisit",
    "read_record_at",
    "read_wacz",
    "read_warc",
]

_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
_WARC_VERSIONS = ("WARC/1.0", "WARC/1.1")
_SINGLE_VALUED = (
    "WARC-Type",
    "WARC-Record-ID",
    "WARC-Date",
    "Content-Length",
    "Content-Type",
    "WARC-Target-URI",
    "WARC-Payload-Digest",
    "WARC-Block-Digest",
)
_NEEDS_TARGET_URI = ("response", "request", "revisit", "resource")

CERTIFICATE_MEDIA_TYPES = frozenset(
    {
        "application/pem-certificate-chain",
        "application/x-pem-file",
        "application/pkix-cert",
        "application/x-x509-ca-cert",
        "application/x-x509-user-cert",
    }
)
"""Content-Types that mark a ``resource`` or ``metadata`` record as TLS certificate(s)."""

_DIGEST_ALGORITHMS = {
    "sha1": "sha1",
    "sha-1": "sha1",
    "sha224": "sha224",
    "sha-224": "sha224",
    "sha256": "sha256",
    "sha-256": "sha256",
    "sha384": "sha384",
    "sha-384": "sha384",
    "sha512": "sha512",
    "sha-512": "sha512",
    "md5": "md5",
}
_DIGEST_SIZES = {"sha1": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64, "md5": 16}


# --- limits ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarcLimits:
    """Bounds that keep a hostile WARC from exhausting memory or time; all in bytes or counts."""

    max_record_bytes: int = 2 * 1024**3
    """Largest record block (its Content-Length) accepted."""
    max_records: int = 1_000_000
    max_line_bytes: int = 64 * 1024
    """Longest header line (WARC or HTTP), line end included."""
    max_header_bytes: int = 1024 * 1024
    """Largest WARC plus HTTP header section of one record."""
    max_fields_bytes: int = 1024 * 1024
    """Largest warc-fields or certificate block parsed in memory (larger ones are kept, not parsed)."""
    max_decoded_bytes: int = 2 * 1024**3
    """Largest decoded content (after gzip/deflate) that is hashed; larger is a finding."""

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"WarcLimits.{name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class WaczLimits:
    """Bounds on a WACZ package (zip bombs, oversized manifests) and on the WARCs inside it."""

    warc: WarcLimits = field(default_factory=WarcLimits)
    max_members: int = 100_000
    max_total_bytes: int = 64 * 1024**3
    """Most uncompressed bytes all members may declare together."""
    max_ratio: int = 100
    """Highest uncompressed:compressed ratio of one member (checked above ``ratio_floor``)."""
    ratio_floor: int = 1024 * 1024
    """Members that expand to at most this many bytes are not ratio-checked (tiny files can be
    very compressible without harm)."""
    max_json_bytes: int = 16 * 1024 * 1024
    """Largest datapackage.json / datapackage-digest.json read into memory."""
    max_page_line_bytes: int = 16 * 1024 * 1024
    """Longest line of pages/*.jsonl."""

    @property
    def zip(self) -> ZipLimits:
        return ZipLimits(self.max_members, self.max_total_bytes, self.max_ratio, self.ratio_floor)

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "warc":
                if not isinstance(value, WarcLimits):
                    raise ValueError(f"WaczLimits.warc must be WarcLimits, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"WaczLimits.{name} must be a positive integer, got {value!r}")


# --- value objects --------------------------------------------------------------------------------


def _pairs(headers: Iterable[tuple[str, str]]) -> list[list[str]]:
    return [[name, value] for name, value in headers]


def _first(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


def _all(headers: Iterable[tuple[str, str]], name: str) -> tuple[str, ...]:
    wanted = name.lower()
    return tuple(value for key, value in headers if key.lower() == wanted)


def _index(headers: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """Header values by lower-cased name, in order."""
    index: dict[str, list[str]] = {}
    for key, value in headers:
        index.setdefault(key.lower(), []).append(value)
    return {key: tuple(values) for key, values in index.items()}


def _check_count(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**53 - 1:
        raise FormatError(f"{what} must be an integer from 0 to 2**53-1, got {value!r}")


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _check_hex(value: str, what: str) -> None:
    if not isinstance(value, str) or not _SHA256_HEX.fullmatch(value):
        raise FormatError(f"{what} must be 64 lowercase hex characters (SHA-256), got {value!r}")


class CaptureFindingKind(StrEnum):
    RESPONSE_WITHOUT_REQUEST = "response_without_request"
    DUPLICATE_TARGET_URI = "duplicate_target_uri"
    MISSING_PAYLOAD_DIGEST = "missing_payload_digest"
    REVISIT = "revisit"
    DIGEST_NOT_CHECKED = "digest_not_checked"
    CONTENT_NOT_DECODED = "content_not_decoded"
    HTTP_LENGTH_MISMATCH = "http_length_mismatch"
    MALFORMED_HEADER = "malformed_header"
    TRUNCATED_BY_TOOL = "truncated_by_tool"
    SEGMENTED_RECORD = "segmented_record"
    UNKNOWN_RECORD_TYPE = "unknown_record_type"
    FIELDS_NOT_PARSED = "fields_not_parsed"
    CERTIFICATE_UNREADABLE = "certificate_unreadable"
    REQUEST_TARGET_MISMATCH = "request_target_mismatch"
    NO_WARCINFO = "no_warcinfo"
    UNLISTED_MEMBER = "unlisted_member"
    PAGE_WITHOUT_RESPONSE = "page_without_response"
    SIGNATURE_NOT_VERIFIED = "signature_not_verified"
    INDEX_MISMATCH = "index_mismatch"
    INDEX_NOT_CHECKED = "index_not_checked"


@dataclass(frozen=True)
class CaptureFinding:
    """Something well formed but worth a court's attention, at a record (WARC) or member (WACZ)."""

    kind: CaptureFindingKind
    message: str
    record_id: str | None = None
    offset: int | None = None
    member: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "kind": self.kind.value,
                "message": self.message,
                "record_id": self.record_id,
                "offset": self.offset,
                "member": self.member,
            }
        )

    def __str__(self) -> str:
        where = self.member or (f"record {self.record_id}" if self.record_id else "")
        if self.offset is not None:
            where = f"{where} at offset {self.offset}".strip()
        return (
            f"{where}: {self.kind.value}: {self.message}" if where else f"{self.kind.value}: {self.message}"
        )


@dataclass(frozen=True)
class DeclaredDigest:
    """A digest a WARC header declares, and what checking it showed.

    ``covers`` says which bytes matched: ``message_body`` (the HTTP body as recorded),
    ``transfer_decoded_body`` (chunked coding removed), ``payload`` (a non-HTTP record's block)
    or ``block`` (WARC-Block-Digest). ``verified`` is false only when the digest could not be
    checked (``note`` says why); a mismatch is an error, not an unverified digest.
    """

    value: str
    algorithm: str | None
    verified: bool
    covers: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "value": self.value,
                "algorithm": self.algorithm,
                "verified": self.verified,
                "covers": self.covers,
                "note": self.note,
            }
        )


@dataclass(frozen=True)
class DecodedContent:
    """The body after removing its transfer and content codings (``codings``, in the order they
    were removed)."""

    sha256: str
    size: int
    codings: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_hex(self.sha256, "decoded content sha256")
        _check_count(self.size, "decoded content size")

    def to_dict(self) -> dict[str, Any]:
        return {"digest": {"sha256": self.sha256}, "size": self.size, "codings": list(self.codings)}


@dataclass(frozen=True)
class Payload:
    """A record's payload: for HTTP records the message body as recorded, else the whole block.

    It is bytes ``[offset_in_block, offset_in_block + size)`` of the record block."""

    sha256: str
    size: int
    offset_in_block: int
    media_type: str | None = None
    declared_digest: DeclaredDigest | None = None
    content: DecodedContent | None = None

    def __post_init__(self) -> None:
        _check_hex(self.sha256, "payload sha256")
        _check_count(self.size, "payload size")
        _check_count(self.offset_in_block, "payload offset")

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "digest": {"sha256": self.sha256},
                "size": self.size,
                "offset_in_block": self.offset_in_block,
                "media_type": self.media_type,
                "declared_digest": self.declared_digest.to_dict() if self.declared_digest else None,
                "content": self.content.to_dict() if self.content else None,
            }
        )


@dataclass(frozen=True)
class HttpResponseHead:
    """The status line and headers of a recorded HTTP response (header order and case kept)."""

    protocol: str
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    header_length: int
    """Bytes of the header section in the record block, the empty line included."""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        return _first(self.headers, name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "status": self.status,
            "reason": self.reason,
            "headers": _pairs(self.headers),
            "header_length": self.header_length,
        }


@dataclass(frozen=True)
class HttpRequestHead:
    """The request line and headers of a recorded HTTP request (header order and case kept)."""

    method: str
    target: str
    protocol: str
    headers: tuple[tuple[str, str], ...]
    header_length: int

    def header(self, name: str) -> str | None:
        return _first(self.headers, name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "target": self.target,
            "protocol": self.protocol,
            "headers": _pairs(self.headers),
            "header_length": self.header_length,
        }


@dataclass(frozen=True)
class Certificate:
    """One X.509 certificate found in a certificate record. ``sha256`` is the fingerprint (SHA-256
    of the DER bytes, as ``openssl x509 -fingerprint -sha256`` prints it without colons)."""

    sha256: str
    subject: str | None = None
    issuer: str | None = None
    serial: str | None = None
    not_before: str | None = None
    not_after: str | None = None
    dns_names: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "fingerprint": {"sha256": self.sha256},
                "subject": self.subject,
                "issuer": self.issuer,
                "serial": self.serial,
                "not_before": self.not_before,
                "not_after": self.not_after,
                "dns_names": list(self.dns_names) or None,
            }
        )


@dataclass(frozen=True)
class RecordInfo:
    """What every WARC record has: identity, time, location in the file and its WARC headers."""

    index: int
    """0-based position of the record in the file."""
    record_type: str
    record_id: str
    date: str
    """WARC-Date normalised to RFC 3339 UTC (``...Z``); the header as written is in ``warc_headers``."""
    offset: int
    length: int
    warc_version: str
    block_sha256: str
    block_size: int
    warc_headers: tuple[tuple[str, str], ...]
    target_uri: str | None = None
    content_type: str | None = None
    ip_address: str | None = None
    concurrent_to: tuple[str, ...] = ()
    block_digest: DeclaredDigest | None = None
    tls_protocols: tuple[str, ...] = ()
    cipher_suite: str | None = None

    def __post_init__(self) -> None:
        for name in ("index", "offset", "length", "block_size"):
            _check_count(getattr(self, name), f"record {name}")
        _check_hex(self.block_sha256, "record block sha256")

    def header(self, name: str) -> str | None:
        """The first value of WARC header ``name`` (case-insensitive), or None."""
        return _first(self.warc_headers, name)

    def to_dict(self) -> dict[str, Any]:
        tls = drop_none({"protocols": list(self.tls_protocols) or None, "cipher_suite": self.cipher_suite})
        return drop_none(
            {
                "index": self.index,
                "type": self.record_type,
                "record_id": self.record_id,
                "date": self.date,
                "offset": self.offset,
                "length": self.length,
                "warc_version": self.warc_version,
                "block": {"digest": {"sha256": self.block_sha256}, "size": self.block_size},
                "block_digest": self.block_digest.to_dict() if self.block_digest else None,
                "target_uri": self.target_uri,
                "content_type": self.content_type,
                "ip_address": self.ip_address,
                "concurrent_to": list(self.concurrent_to) or None,
                "tls": tls or None,
                "warc_headers": _pairs(self.warc_headers),
            }
        )


@dataclass(frozen=True)
class WarcInfo:
    """A ``warcinfo`` record: the capture tool and its settings, as ``application/warc-fields``."""

    record: RecordInfo
    payload: Payload
    fields: tuple[tuple[str, str], ...] | None
    """The fields in order; None when the block is not warc-fields or was too large to parse."""

    kind = "warcinfo"

    def field(self, name: str) -> str | None:
        return _first(self.fields or (), name)

    @property
    def software(self) -> str | None:
        return self.field("software")

    @property
    def operator(self) -> str | None:
        return self.field("operator")

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "kind": self.kind,
                "record": self.record.to_dict(),
                "payload": self.payload.to_dict(),
                "fields": _pairs(self.fields) if self.fields is not None else None,
            }
        )


@dataclass(frozen=True)
class WarcRequest:
    """A ``request`` record: the HTTP request the capture tool sent."""

    record: RecordInfo
    http: HttpRequestHead | None
    payload: Payload

    kind = "request"

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "kind": self.kind,
                "record": self.record.to_dict(),
                "http": self.http.to_dict() if self.http else None,
                "payload": self.payload.to_dict(),
            }
        )


@dataclass(frozen=True)
class WarcResponse:
    """A ``response`` record with its request. ``request_link`` says how the request was found:
    ``concurrent_to`` (a WARC-Concurrent-To header links the two) or ``target_uri`` (the nearest
    unlinked request for the same URI)."""

    record: RecordInfo
    http: HttpResponseHead | None
    payload: Payload
    request: WarcRequest | None = None
    request_link: str | None = None

    kind = "response"

    def to_dict(self) -> dict[str, Any]:
        request = None
        if self.request is not None:
            request = {**self.request.to_dict(), "link": self.request_link}
            del request["kind"]
        return drop_none(
            {
                "kind": self.kind,
                "record": self.record.to_dict(),
                "http": self.http.to_dict() if self.http else None,
                "payload": self.payload.to_dict(),
                "request": request,
            }
        )


@dataclass(frozen=True)
class WarcResource:
    """A ``resource`` record (a screenshot, a certificate, a file fetched without HTTP...)."""

    record: RecordInfo
    payload: Payload
    certificates: tuple[Certificate, ...] = ()

    kind = "resource"

    @property
    def is_certificate_record(self) -> bool:
        return (self.payload.media_type or "") in CERTIFICATE_MEDIA_TYPES

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "kind": self.kind,
                "record": self.record.to_dict(),
                "payload": self.payload.to_dict(),
                "certificates": [c.to_dict() for c in self.certificates] or None,
            }
        )


@dataclass(frozen=True)
class WarcMetadata:
    """A ``metadata`` record: warc-fields about another record, or certificates, or other data."""

    record: RecordInfo
    payload: Payload
    fields: tuple[tuple[str, str], ...] | None = None
    certificates: tuple[Certificate, ...] = ()

    kind = "metadata"

    @property
    def is_certificate_record(self) -> bool:
        return (self.payload.media_type or "") in CERTIFICATE_MEDIA_TYPES

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "kind": self.kind,
                "record": self.record.to_dict(),
                "payload": self.payload.to_dict(),
                "fields": _pairs(self.fields) if self.fields is not None else None,
                "certificates": [c.to_dict() for c in self.certificates] or None,
            }
        )


@dataclass(frozen=True)
class WarcRevisit:
    """A ``revisit`` record: the tool saw content it had already stored and kept only a reference,
    so the payload is not here (``refers_to`` names the record that has it)."""

    record: RecordInfo
    http: HttpResponseHead | None
    profile: str | None = None
    refers_to: str | None = None
    refers_to_target_uri: str | None = None
    refers_to_date: str | None = None
    declared_payload_digest: DeclaredDigest | None = None

    kind = "revisit"

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "kind": self.kind,
                "record": self.record.to_dict(),
                "http": self.http.to_dict() if self.http else None,
                "profile": self.profile,
                "refers_to": self.refers_to,
                "refers_to_target_uri": self.refers_to_target_uri,
                "refers_to_date": self.refers_to_date,
                "declared_payload_digest": self.declared_payload_digest.to_dict()
                if self.declared_payload_digest
                else None,
            }
        )


@dataclass(frozen=True)
class WarcOtherRecord:
    """A ``conversion``, ``continuation`` or unknown record type, kept as it is."""

    record: RecordInfo
    payload: Payload | None

    kind = "other"

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "kind": self.kind,
                "record": self.record.to_dict(),
                "payload": self.payload.to_dict() if self.payload else None,
            }
        )


WarcItem = WarcInfo | WarcRequest | WarcResponse | WarcResource | WarcMetadata | WarcRevisit | WarcOtherRecord
"""One record of a capture, by type."""


@dataclass(frozen=True)
class RecordHead:
    """What a payload sink is told about the record whose payload it receives."""

    source: str
    """The name the WARC was read under (for a WACZ: ``"<wacz> member <path>"``)."""
    index: int
    record_id: str
    record_type: str
    target_uri: str | None
    media_type: str | None
    offset: int = 0
    """Where the record starts in the file read (for a WACZ: in its member), for progress."""


PayloadSink = Callable[[RecordHead, BinaryIO], None]
"""Called with each payload while it is read; see the module docstring for when to trust it."""


@dataclass(frozen=True)
class WarcCapture:
    """A parsed WARC file: its records in file order, the file's digest and the findings."""

    name: str
    sha256: str
    """SHA-256 of the file's bytes as given (compressed, for ``.warc.gz``)."""
    size: int
    compression: str
    """``gzip`` or ``none``."""
    items: tuple[WarcItem, ...]
    findings: tuple[CaptureFinding, ...]

    def _of(self, kind: type[Any]) -> tuple[Any, ...]:
        return tuple(item for item in self.items if isinstance(item, kind))

    @property
    def responses(self) -> tuple[WarcResponse, ...]:
        return self._of(WarcResponse)

    @property
    def requests(self) -> tuple[WarcRequest, ...]:
        return self._of(WarcRequest)

    @property
    def resources(self) -> tuple[WarcResource, ...]:
        return self._of(WarcResource)

    @property
    def metadata(self) -> tuple[WarcMetadata, ...]:
        return self._of(WarcMetadata)

    @property
    def warcinfo(self) -> tuple[WarcInfo, ...]:
        return self._of(WarcInfo)

    @property
    def revisits(self) -> tuple[WarcRevisit, ...]:
        return self._of(WarcRevisit)

    @property
    def certificate_records(self) -> tuple[WarcResource | WarcMetadata, ...]:
        return tuple(
            item
            for item in self.items
            if isinstance(item, WarcResource | WarcMetadata) and item.is_certificate_record
        )

    def item(self, record_id: str) -> WarcItem:
        """The record with this WARC-Record-ID.

        Raises:
            KeyError: no record has it.
        """
        for candidate in self.items:
            if candidate.record.record_id == record_id:
                return candidate
        raise KeyError(f"{self.name}: no record has WARC-Record-ID {record_id}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "digest": {"sha256": self.sha256},
            "size": self.size,
            "compression": self.compression,
            "records": [item.to_dict() for item in self.items],
            "findings": [finding.to_dict() for finding in self.findings],
        }


@dataclass(frozen=True)
class WaczResource:
    """One file listed in ``datapackage.json``, checked against the member's bytes."""

    path: str
    sha256: str
    size: int
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {"path": self.path, "digest": {"sha256": self.sha256}, "size": self.size, "name": self.name}
        )


@dataclass(frozen=True)
class WaczPage:
    """One entry of ``pages/*.jsonl`` (``line`` counts from 1 in ``member``)."""

    url: str
    member: str
    line: int
    ts: str | None = None
    title: str | None = None
    page_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "url": self.url,
                "member": self.member,
                "line": self.line,
                "ts": self.ts,
                "title": self.title,
                "id": self.page_id,
            }
        )


@dataclass(frozen=True)
class WaczArchive:
    """A WARC inside a WACZ: its member path and what it holds."""

    path: str
    capture: WarcCapture

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, **self.capture.to_dict()}


@dataclass(frozen=True)
class WaczCapture:
    """A parsed WACZ: its manifest (checked), the WARCs inside it and the pages it lists."""

    name: str
    size: int
    datapackage_sha256: str
    wacz_version: str | None
    metadata: tuple[tuple[str, str], ...]
    """Text fields of datapackage.json (title, software, created, ...), in file order."""
    resources: tuple[WaczResource, ...]
    archives: tuple[WaczArchive, ...]
    pages: tuple[WaczPage, ...]
    findings: tuple[CaptureFinding, ...]
    datapackage_digest_verified: bool
    """True when datapackage-digest.json was present and matched datapackage.json."""
    signature: WaczSignature | None = None
    """The package's signature (``signedData`` of datapackage-digest.json), if it has one."""

    @property
    def captures(self) -> tuple[WarcCapture, ...]:
        return tuple(archive.capture for archive in self.archives)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "datapackage": drop_none(
                {
                    "digest": {"sha256": self.datapackage_sha256},
                    "wacz_version": self.wacz_version,
                    "metadata": _pairs(self.metadata),
                    "digest_file_verified": self.datapackage_digest_verified,
                    "signature": self.signature.to_dict() if self.signature else None,
                }
            ),
            "resources": [r.to_dict() for r in self.resources],
            "archives": [a.to_dict() for a in self.archives],
            "pages": [p.to_dict() for p in self.pages],
            "findings": [f.to_dict() for f in self.findings],
        }


# --- declared digests -----------------------------------------------------------------------------


_HEX_TEXT = re.compile(r"[0-9A-Fa-f]+")
_BASE32_TEXT = re.compile(r"[A-Za-z2-7]+=*")
_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/_-]+=*")
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648, digit values 0-31
_BASE32_AS_DIGITS = str.maketrans(  # to the digits int(..., 32) reads; lower case as upper
    _BASE32 + _BASE32.lower()[:26], "0123456789abcdefghijklmnopqrstuv" + "0123456789abcdefghijklmnop"
)


def _decode_declared(value: str, size: int) -> tuple[bytes, str] | None:
    """Decode a digest value of ``size`` bytes written in hex, base32 or base64; returns the bytes
    and the encoding, or None if it is none of them."""
    text = value.strip()
    if len(text) == 2 * size and _HEX_TEXT.fullmatch(text):
        return bytes.fromhex(text), "base16"
    b32_len = -(-size // 5) * 8
    b32_unpadded = -(-size * 8 // 5)
    if len(text) in (b32_len, b32_unpadded) and _BASE32_TEXT.fullmatch(text):
        decoded = _decode_base32(text, size)
        return None if decoded is None else (decoded, "base32")
    b64_len = -(-size // 3) * 4
    b64_unpadded = -(-size * 4 // 3)
    if len(text) in (b64_len, b64_unpadded) and _BASE64_TEXT.fullmatch(text):
        try:
            decoded = base64.b64decode(
                text.replace("-", "+").replace("_", "/") + "=" * (b64_len - len(text)), validate=True
            )
        except binascii.Error:
            return None
        return decoded, "base64"
    return None


def _decode_base32(text: str, size: int) -> bytes | None:
    if 5 * len(text) == 8 * size and "=" not in text:  # whole quanta, e.g. SHA-1: one number
        return int(text.translate(_BASE32_AS_DIGITS), 32).to_bytes(size, "big")
    b32_len = -(-size // 5) * 8
    try:
        return base64.b32decode(text.upper() + "=" * (b32_len - len(text)))
    except binascii.Error:
        return None


def _encode_like(digest: bytes, encoding: str) -> str:
    if encoding == "base16":
        return digest.hex()
    if encoding == "base32":
        return base64.b32encode(digest).decode("ascii")
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class _Declared:
    header: str
    value: str
    algorithm: str | None
    expected: bytes | None
    encoding: str | None

    def hasher(self) -> Any:
        # sha1 and md5 only check what the capture tool declared; custody's own digest is SHA-256.
        return hashlib.new(self.algorithm, usedforsecurity=False) if self.algorithm else None

    def observed(self, digest: bytes) -> str:
        return f"{self.value.split(':', 1)[0]}:{_encode_like(digest, self.encoding or 'base32')}"


def _parse_declared(header: str, value: str | None, where: str) -> _Declared | None:
    if value is None:
        return None
    label, sep, encoded = value.strip().partition(":")
    if not sep or not encoded:
        raise FormatError(f"{where}: {header} {value!r} is not '<algorithm>:<value>'")
    algorithm = _DIGEST_ALGORITHMS.get(label.strip().lower())
    if algorithm is None:
        return _Declared(header, value, None, None, None)
    size = _DIGEST_SIZES[algorithm]
    decoded = _decode_declared(encoded, size)
    if decoded is None:
        raise FormatError(
            f"{where}: {header} {value!r} is not a {size}-byte {algorithm} digest in base32, hex or base64"
        )
    return _Declared(header, value, algorithm, decoded[0], decoded[1])


# --- HTTP bodies: strict decoding of transfer and content codings ---------------------------------


class _DecodeError(Exception):
    pass


class _Dechunker:
    """Removes the chunked transfer coding, fed in pieces."""

    _MAX_LINE = 4096

    def __init__(self) -> None:
        self._state = "size"
        self._line = bytearray()
        self._left = 0

    def _take_line(self, data: bytes, start: int) -> tuple[bytes | None, int]:
        end = data.find(b"\n", start)
        if end < 0:
            self._line += data[start:]
            if len(self._line) > self._MAX_LINE:
                raise _DecodeError("a chunk-size or trailer line is longer than 4096 bytes")
            return None, len(data)
        self._line += data[start : end + 1]
        line = bytes(self._line)
        self._line.clear()
        return line.removesuffix(b"\n").removesuffix(b"\r"), end + 1

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        position = 0
        while position < len(data):
            if self._state == "data":
                take = min(self._left, len(data) - position)
                out += data[position : position + take]
                position += take
                self._left -= take
                if self._left == 0:
                    self._state = "data_end"
                continue
            if self._state == "done":
                raise _DecodeError("data follows the last chunk")
            line, position = self._take_line(data, position)
            if line is None:
                break
            if self._state == "size":
                size_text = line.split(b";", 1)[0].strip()
                if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_text):
                    raise _DecodeError(f"bad chunk-size line {line[:40]!r}")
                self._left = int(size_text, 16)
                self._state = "data" if self._left else "trailer"
            elif self._state == "data_end":
                if line:
                    raise _DecodeError(f"a chunk is not followed by CRLF (got {line[:40]!r})")
                self._state = "size"
            elif not line:  # trailer section ends with an empty line
                self._state = "done"
        return bytes(out)

    def finish(self) -> None:
        if self._state != "done":
            raise _DecodeError("the chunked body ends before its last (zero-size) chunk")


class _Inflater:
    """Removes one gzip or deflate content coding, fed in pieces, with bounded output per step."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._gzip = coding in ("gzip", "x-gzip")
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS)
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while pending:
            if self._d.eof:
                raise _DecodeError(f"data follows the end of the {self.coding} stream")
            try:
                out = self._d.decompress(pending, _CHUNK)
            except zlib.error as exc:
                if not self._started and not self._gzip:
                    # HTTP "deflate" is often raw deflate without the zlib wrapper; browsers accept both.
                    self._d = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._started = True
                    continue
                raise _DecodeError(f"corrupt {self.coding} data: {exc}") from exc
            self._started = True
            pending = self._d.unused_data if self._d.eof else self._d.unconsumed_tail
            if out:
                yield out
        yield from self._flush()

    def _flush(self) -> Iterator[bytes]:
        while not self._d.eof:
            out = self._d.decompress(b"", _CHUNK)
            if not out:
                return
            yield out

    def finish(self) -> Iterator[bytes]:
        yield from self._flush()
        if not self._d.eof:
            raise _DecodeError(f"the {self.coding} data ends early")


class _Decoder:
    """Decodes an HTTP body as it streams past: chunked, then content codings in reverse order."""

    def __init__(
        self, *, chunked: bool, encodings: tuple[str, ...], declared: _Declared | None, limit: int
    ) -> None:
        self.codings = (("chunked",) if chunked else ()) + tuple(reversed(encodings))
        self._dechunker = _Dechunker() if chunked else None
        self.entity_hasher = declared.hasher() if chunked and declared else None
        self._inflaters = [_Inflater(coding) for coding in reversed(encodings)]
        self._limit = limit
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.error: str | None = None

    def _inflate(self, pieces: Iterable[bytes], stage: int) -> Iterator[bytes]:
        if stage == len(self._inflaters):
            yield from pieces
            return
        for piece in pieces:
            yield from self._inflate(self._inflaters[stage].feed(piece), stage + 1)

    def _emit(self, pieces: Iterable[bytes]) -> None:
        for piece in pieces:
            self.size += len(piece)
            if self.size > self._limit:
                raise _DecodeError(f"the decoded content exceeds {self._limit} bytes")
            self.sha256.update(piece)

    def feed(self, data: bytes) -> None:
        if self.error is not None:
            return
        try:
            if self._dechunker is not None:
                data = self._dechunker.feed(data)
                if self.entity_hasher is not None:
                    self.entity_hasher.update(data)
            self._emit(self._inflate([data], 0))
        except _DecodeError as exc:
            self.error = str(exc)

    def finish(self) -> None:
        if self.error is not None:
            return
        try:
            if self._dechunker is not None:
                self._dechunker.finish()
            for stage, inflater in enumerate(self._inflaters):
                self._emit(self._inflate(inflater.finish(), stage + 1))
        except _DecodeError as exc:
            self.error = str(exc)


# --- the byte source: hashing, gzip members, offsets ----------------------------------------------


class _GzipCutError(FormatError):
    """A gzip member of the WARC ends before its data does (raised from inside warcio's reads)."""

    def __init__(self, message: str, *, member_offset: int, detail: str) -> None:
        super().__init__(message)
        self.member_offset = member_offset
        self.detail = detail


class _Slice:
    """At most ``length`` bytes of a stream, from where it stands."""

    def __init__(self, stream: BinaryIO, length: int) -> None:
        self._stream = stream
        self._left = length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.read(want) or b""
        self._left -= len(data)
        return data


@dataclass(frozen=True)
class _Member:
    """A gzip member: where it starts in the file and in the uncompressed stream."""

    comp_start: int
    unc_start: int


class _Source:
    """The stream warcio reads: the file's bytes, hashed, gunzipped member by member here (so
    every gzip member is checked whole, and a cut or corrupt one is an error, not a short read),
    with a map from uncompressed positions back to gzip members for record offsets."""

    def __init__(self, raw: Any, *, name: str, limits: WarcLimits, base_offset: int) -> None:
        self._raw = raw
        self._name = name
        self._base = base_offset
        self._hasher = hashlib.sha256()
        self.raw_size = 0
        self.position = 0
        self.eof = False
        self._pending = bytearray()
        self._inbuf = b""
        self._inflater: Any = None
        self._members: list[_Member] = []
        self._by_unc_start: dict[int, int] = {}
        self._unc_produced = 0
        self._max_member = limits.max_record_bytes + 2 * limits.max_header_bytes + 1024 * 1024
        self._max_members = 4 * limits.max_records + 16
        head = self._read_raw(_CHUNK)
        if not head:
            raise FormatError(f"{name}: the file is empty; expected a WARC")
        self.gzip = head.startswith(_GZIP_MAGIC)
        if self.gzip:
            self._inbuf = head
        else:
            self._pending += head
        while len(self._pending) < 5 and not self.eof:
            self._produce()
        if not self._pending.startswith(b"WARC/"):
            shown = bytes(self._pending[:16])
            after = " after gzip decompression" if self.gzip else ""
            raise FormatError(
                f"{name}: not a WARC file: it starts with {shown!r}{after}; "
                "expected 'WARC/1.0' or 'WARC/1.1' (optionally gzip-compressed)"
            )

    # file side

    def _read_raw(self, size: int) -> bytes:
        data = self._raw.read(size) or b""
        if data:
            self._hasher.update(data)
            self.raw_size += len(data)
        return bytes(data)

    @property
    def sha256(self) -> str:
        return self._hasher.hexdigest()

    def hasher(self) -> Any:
        """A copy of the SHA-256 of the bytes read so far, to hash on from there."""
        return self._hasher.copy()

    def _produce(self) -> None:
        if not self.gzip:
            data = self._read_raw(_CHUNK)
            if data:
                self._pending += data
            else:
                self.eof = True
            return
        self._produce_gzip()

    def _gzip_error(self, member: _Member, message: str) -> FormatError:
        return FormatError(
            f"{self._name}: the gzip member at offset {self._base + member.comp_start} {message}"
        )

    def _produce_gzip(self) -> None:
        if self._inflater is None:
            while len(self._inbuf) < 2:
                more = self._read_raw(_CHUNK)
                if not more:
                    break
                self._inbuf += more
            if not self._inbuf:
                self.eof = True
                return
            start = self.raw_size - len(self._inbuf)
            if not self._inbuf.startswith(_GZIP_MAGIC):
                raise FormatError(
                    f"{self._name}: the bytes at offset {self._base + start} are not a gzip member: a "
                    ".warc.gz must be gzip members only (trailing garbage, or a cut or corrupt file)"
                )
            if len(self._members) >= self._max_members:
                raise FormatError(f"{self._name}: more than {self._max_members} gzip members")
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            self._members.append(_Member(start, self._unc_produced))
        member = self._members[-1]
        inflater = self._inflater
        try:
            if self._inbuf:
                out = inflater.decompress(self._inbuf, _CHUNK)
            else:
                out = inflater.decompress(b"", _CHUNK)  # output held back by the size cap
                if not out and not inflater.eof:
                    more = self._read_raw(_CHUNK)
                    if not more:
                        detail = (
                            f"is cut off: the file ends after {self._base + self.raw_size} bytes, "
                            "before the member does (the WARC is truncated)"
                        )
                        raise _GzipCutError(
                            self._gzip_error(member, detail).message,
                            member_offset=self._base + member.comp_start,
                            detail=detail,
                        )
                    out = inflater.decompress(more, _CHUNK)
        except zlib.error as exc:
            raise self._gzip_error(member, f"is corrupt: {exc}") from exc
        if inflater.eof:
            self._inbuf = inflater.unused_data
            self._inflater = None
        else:
            self._inbuf = inflater.unconsumed_tail
        if out:
            if self._unc_produced == member.unc_start:
                self._by_unc_start.setdefault(member.unc_start, len(self._members) - 1)
            self._unc_produced += len(out)
            if self._unc_produced - member.unc_start > self._max_member:
                raise self._gzip_error(member, f"expands to more than {self._max_member} bytes")
            self._pending += out

    # warcio side

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while not self.eof:
                self._produce()
            size = len(self._pending)
        # Short reads are fine for warcio; producing lazily keeps an error in a gzip member from
        # surfacing before warcio reaches that member's record.
        while not self._pending and not self.eof:
            self._produce()
        data = bytes(self._pending[:size])
        del self._pending[:size]
        self.position += len(data)
        return data

    def tell(self) -> int:
        return self.position

    def close(self) -> None:
        """warcio may close its stream; the caller owns the real one."""

    def drain(self) -> None:
        """Read (and check) whatever warcio left unread, so the digest covers the whole file."""
        while not self.eof:
            self._produce()
            self._pending.clear()

    # offsets

    def file_offset(self, unc_start: int, what: str) -> int:
        """The file offset of a record that starts at ``unc_start`` in the uncompressed stream."""
        if not self.gzip:
            return self._base + unc_start
        index = self._by_unc_start.get(unc_start)
        if index is None:
            raise FormatError(
                f"{self._name}: {what} does not start a gzip member (uncompressed offset {unc_start}): "
                "each record of a .warc.gz must be compressed as its own gzip member "
                "('warcio recompress' rewrites such a file)"
            )
        return self._base + self._members[index].comp_start

    def describe(self, unc_start: int) -> str:
        """Where a position of the uncompressed stream is, in words, for error messages."""
        if not self.gzip:
            return f"offset {self._base + unc_start}"
        index = self._by_unc_start.get(unc_start)
        if index is None:
            return f"uncompressed offset {unc_start}"
        return f"offset {self._base + self._members[index].comp_start}"

    def location(self, unc_start: int, unc_next: int, what: str) -> tuple[int, int]:
        """(offset, length) in the file of the record spanning ``[unc_start, unc_next)``."""
        start = self.file_offset(unc_start, what)
        if not self.gzip:
            return start, unc_next - unc_start
        if self.eof and unc_next == self.position:
            return start, self._base + self.raw_size - len(self._inbuf) - start
        end = self.file_offset(unc_next, "the record after " + what)
        return start, end - start


# --- one record's block ---------------------------------------------------------------------------


class _Block:
    """A record block as warcio hands it out (limited to Content-Length), hashed as it is read."""

    def __init__(self, stream: Any, declared: _Declared | None) -> None:
        self._stream = stream
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.declared_hasher = declared.hasher() if declared else None

    def _seen(self, data: bytes) -> bytes:
        if data:
            self.size += len(data)
            self.sha256.update(data)
            if self.declared_hasher is not None:
                self.declared_hasher.update(data)
        return data

    def read(self, size: int) -> bytes:
        return self._seen(bytes(self._stream.read(size)))

    def readline(self, size: int) -> bytes:
        return self._seen(bytes(self._stream.readline(size)))


class _PayloadPipe(io.RawIOBase):
    """The payload part of a block: hashed (ours and the declared algorithm), decoded if it carries
    codings, partly kept if small records need parsing, and handed to the sink as it flows."""

    def __init__(
        self, block: _Block, declared: _Declared | None, decoder: _Decoder | None, keep: int
    ) -> None:
        super().__init__()
        self._block = block
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.declared_hasher = declared.hasher() if declared else None
        self.decoder = decoder
        self._keep = keep
        self.kept = bytearray()

    def readable(self) -> bool:
        return True

    def pull(self, size: int) -> bytes:
        data = self._block.read(size)
        if data:
            self.size += len(data)
            self.sha256.update(data)
            if self.declared_hasher is not None:
                self.declared_hasher.update(data)
            if self.decoder is not None:
                self.decoder.feed(data)
            if len(self.kept) <= self._keep:
                self.kept += data[: self._keep + 1 - len(self.kept)]
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        if view.format != "B":
            view = view.cast("B")
        data = self.pull(len(view))
        view[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        while self.pull(_CHUNK):
            pass
        if self.decoder is not None:
            self.decoder.finish()


# --- header sections ------------------------------------------------------------------------------

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_STATUS_LINE = re.compile(r"(HTTP/\d+(?:\.\d+)?) (\d{3})(?: (.*))?")
_REQUEST_LINE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) (HTTP/\d+(?:\.\d+)?)")
_MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")


def _text_of(line: bytes) -> str:
    """Header bytes as text: UTF-8, else ISO-8859-1 (which maps every byte; as warcio does)."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("iso-8859-1")


def _media_type(value: str | None) -> str | None:
    if not value:
        return None
    media = value.split(";", 1)[0].strip().lower()
    return media if _MEDIA_TYPE.fullmatch(media) else None


def _parse_fields(lines: Iterable[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """``name: value`` lines (obs-fold continuation lines joined with a space). Returns the fields in
    order and the lines that are not fields."""
    fields: list[tuple[str, str]] = []
    malformed: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if fields:
                name, value = fields[-1]
                fields[-1] = (name, f"{value} {line.strip()}".strip())
            else:
                malformed.append(line)
            continue
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.fullmatch(name):
            malformed.append(line)
            continue
        fields.append((name, value.strip()))
    return fields, malformed


def _codings(values: Iterable[str]) -> tuple[str, ...]:
    tokens: list[str] = []
    for value in values:
        tokens.extend(token.strip().lower() for token in value.split(","))
    return tuple(token for token in tokens if token)


# --- certificates ---------------------------------------------------------------------------------

_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.DOTALL)


def _certificates(data: bytes) -> tuple[list[Certificate], list[str]]:
    """The certificates in a PEM or DER block, and problems with any that could not be read."""
    problems: list[str] = []
    if b"-----BEGIN" in data:
        ders = []
        for number, match in enumerate(_PEM_BLOCK.finditer(data), 1):
            try:
                ders.append(base64.b64decode(b"".join(match.group(1).split()), validate=True))
            except binascii.Error as exc:
                problems.append(f"PEM certificate {number} is not valid base64: {exc}")
        if not ders and not problems:
            problems.append("no '-----BEGIN CERTIFICATE-----' block")
    else:
        ders = [data]
    found = []
    for der in ders:
        try:
            found.append(_describe_certificate(der))
        except ValueError as exc:  # cryptography parses lazily: any field can be the bad one
            fingerprint = hashlib.sha256(der).hexdigest()
            problems.append(f"certificate {fingerprint[:16]}... could not be read as X.509: {exc}")
            found.append(Certificate(fingerprint))
    return found, problems


def _describe_certificate(der: bytes) -> Certificate:
    """Fingerprint, names and validity of one DER certificate; ValueError if it is not X.509."""
    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        dns_names = tuple(san.get_values_for_type(x509.DNSName))  # type: ignore[attr-defined]
    except x509.ExtensionNotFound:
        dns_names = ()
    return Certificate(
        sha256=hashlib.sha256(der).hexdigest(),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "x"),
        not_before=format_rfc3339(cert.not_valid_before_utc),
        not_after=format_rfc3339(cert.not_valid_after_utc),
        dns_names=dns_names,
    )


# --- the reader -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    """A record's WARC header section, checked."""

    index: int
    unc_start: int
    offset: int
    where: str
    headers: tuple[tuple[str, str], ...]
    version: str
    record_type: str
    record_id: str
    date: str
    content_length: int
    target_uri: str | None
    content_type: str | None
    segmented: bool
    block_declared: _Declared | None
    payload_declared: _Declared | None
    named: Mapping[str, tuple[str, ...]]
    """Header values by lower-cased name."""

    def first(self, name: str) -> str | None:
        values = self.named.get(name.lower())
        return values[0] if values else None


@dataclass
class _Parsed:
    """One record as read, before requests are linked to responses."""

    info: RecordInfo
    payload: Payload | None
    http_request: HttpRequestHead | None = None
    http_response: HttpResponseHead | None = None
    fields: tuple[tuple[str, str], ...] | None = None
    certificates: tuple[Certificate, ...] = ()
    revisit_digest: DeclaredDigest | None = None


class _Reader:
    """One pass over a WARC: warcio frames the records, this checks and hashes each one as it
    streams past, then links requests to responses and assembles the capture."""

    def __init__(
        self,
        raw: Any,
        *,
        name: str,
        limits: WarcLimits,
        sink: PayloadSink | None,
        base_offset: int = 0,
        first_index: int = 0,
        max_records: int | None = None,
    ) -> None:
        self.first_index = first_index
        self.name = name
        self.limits = limits
        self.sink = sink
        self.max_records = limits.max_records if max_records is None else max_records
        self.source = _Source(raw, name=name, limits=limits, base_offset=base_offset)
        self.findings: list[CaptureFinding] = []
        self.parsed: list[_Parsed] = []
        self.ids: dict[str, RecordInfo] = {}
        self.header_bytes = 0

    def note(self, kind: CaptureFindingKind, message: str, info: RecordInfo | None = None) -> None:
        self.findings.append(
            CaptureFinding(kind, message, info.record_id if info else None, info.offset if info else None)
        )

    def _near(self) -> str:
        kind = "uncompressed offset" if self.source.gzip else "offset"
        return f"near {kind} {self.source.position}"

    # warcio reads header lines with an unbounded readline; bound each line and each header section.
    def _bound_readline(self, iterator: Any) -> None:
        reader = iterator.reader
        unbounded = reader.readline
        limit = self.limits.max_line_bytes
        cap = limit + 1
        max_header_bytes = self.limits.max_header_bytes

        def readline(length: int | None = None) -> bytes:  # once per header line: kept lean
            line: bytes = unbounded(cap if length is None or length > cap else length)
            size = len(line)
            if size > limit:
                raise FormatError(f"{self.name}: {self._near()}: a header line is longer than {limit} bytes")
            self.header_bytes += size
            if self.header_bytes > max_header_bytes:
                raise FormatError(
                    f"{self.name}: {self._near()}: a record's header sections "
                    f"exceed {self.limits.max_header_bytes} bytes"
                )
            return line

        reader.readline = readline

    def run(self) -> WarcCapture:
        self.read_records()
        return self.capture(self.source.sha256, self.source.raw_size)

    def read_records(self) -> None:
        """Read and check every record of the source, to its end."""
        iterator = WARCIterator(self.source, no_record_parse=True)
        self._bound_readline(iterator)
        records = iter(iterator)
        index = self.first_index
        while True:
            unc_start = iterator.offset
            try:
                record = next(records)
            except StopIteration:
                break
            except ArchiveLoadFailed as exc:
                reason = exc.msg.strip()[:200]
                where = self.source.describe(unc_start)
                raise FormatError(f"{self.name}: {where}: not a WARC record ({reason})") from exc
            if index - self.first_index >= self.max_records:
                raise FormatError(f"{self.name}: more than {self.max_records} records (the limit)")
            self.parsed.append(self._record(record, iterator, index, unc_start))
            self.header_bytes = 0
            index += 1
        self.source.drain()

    def capture(self, sha256: str, size: int) -> WarcCapture:
        """The capture of the records read (``sha256`` and ``size``: of the whole file)."""
        items = self._assemble()
        return WarcCapture(
            name=self.name,
            sha256=sha256,
            size=size,
            compression="gzip" if self.source.gzip else "none",
            items=items,
            findings=tuple(self.findings),
        )

    def continue_with(self, tail: _Tail, first_index: int) -> None:
        """Take on the records another reader read from where this one stopped, numbered from
        ``first_index``, as if this reader had read on: their indexes follow on, and the record
        limit and duplicate ids are checked as reading on checks them."""
        shift = self.first_index + len(self.parsed) - first_index
        for parsed in tail.parsed:
            index = parsed.info.index + shift
            if index - self.first_index >= self.max_records:
                raise FormatError(f"{self.name}: more than {self.max_records} records (the limit)")
            info = replace(parsed.info, index=index) if index != parsed.info.index else parsed.info
            self._check_unique(
                info.record_id, f"{self.name}: record {info.record_id} at offset {info.offset}"
            )
            parsed.info = info
            self.ids[info.record_id] = info
            self.parsed.append(parsed)
        self.findings.extend(tail.findings)

    def _check_unique(self, record_id: str, where: str) -> None:
        if record_id in self.ids:
            raise FormatError(
                f"{where}: WARC-Record-ID {record_id} is not unique: record {self.ids[record_id].index} "
                f"at offset {self.ids[record_id].offset} has it too"
            )

    # one record

    def _record(self, record: Any, iterator: Any, index: int, unc_start: int) -> _Parsed:
        header = self._header(record, index, unc_start)
        try:
            return self._read_block(record, iterator, header)
        except _GzipCutError as exc:
            if exc.member_offset != header.offset:
                raise
            raise FormatError(f"{header.where}: its gzip member {exc.detail}") from exc

    def _header(self, record: Any, index: int, unc_start: int) -> _Header:
        """Check the WARC header section warcio parsed; every mandatory field, once."""
        headers: list[tuple[str, str]] = [(str(k), str(v)) for k, v in record.rec_headers.headers]
        named = _index(headers)

        def first(name: str) -> str | None:
            values = named.get(name.lower())
            return values[0] if values else None

        offset = self.source.file_offset(unc_start, f"record {index}")
        record_id = first("WARC-Record-ID")
        where = f"{self.name}: record {record_id or index} at offset {offset}"
        if not record_id:
            where = f"{self.name}: record {index} at offset {offset}"
            raise FormatError(f"{where}: no WARC-Record-ID header")
        if not (record_id.startswith("<") and record_id.endswith(">")) or len(record_id) > 4096:
            raise FormatError(f"{where}: WARC-Record-ID must be a URI in angle brackets, got {record_id!r}")
        self._check_unique(record_id, where)
        for name in _SINGLE_VALUED:
            if len(named.get(name.lower(), ())) > 1:
                raise FormatError(f"{where}: the {name} header appears more than once")
        version = str(record.rec_headers.protocol)
        if version not in _WARC_VERSIONS:
            raise FormatError(
                f"{where}: unsupported WARC version {version!r} (expected WARC/1.0 or WARC/1.1)"
            )
        record_type = first("WARC-Type")
        if not record_type:
            raise FormatError(f"{where}: no WARC-Type header")
        date_text = first("WARC-Date")
        if not date_text:
            raise FormatError(f"{where}: no WARC-Date header")
        try:
            date = normalise_rfc3339(date_text, what="WARC-Date")
        except FormatError as exc:
            raise FormatError(f"{where}: {exc.message}") from exc
        length_text = first("Content-Length")
        if length_text is None or not re.fullmatch(r"\d{1,19}", length_text.strip()):
            raise FormatError(f"{where}: Content-Length must be a whole number of bytes, got {length_text!r}")
        content_length = int(length_text)
        if content_length > self.limits.max_record_bytes:
            raise FormatError(
                f"{where}: the record block is {content_length} bytes; the limit is "
                f"{self.limits.max_record_bytes} (WarcLimits.max_record_bytes)"
            )
        target_uri = first("WARC-Target-URI")
        if record_type in _NEEDS_TARGET_URI and not target_uri:
            raise FormatError(f"{where}: a {record_type} record needs a WARC-Target-URI header")
        content_type = first("Content-Type")
        segmented = first("WARC-Segment-Number") is not None
        block_declared = _parse_declared("WARC-Block-Digest", first("WARC-Block-Digest"), where)
        payload_declared = _parse_declared("WARC-Payload-Digest", first("WARC-Payload-Digest"), where)

        return _Header(
            index=index,
            unc_start=unc_start,
            offset=offset,
            where=where,
            headers=tuple(headers),
            version=version,
            record_type=record_type,
            record_id=record_id,
            date=date,
            content_length=content_length,
            target_uri=target_uri,
            content_type=content_type,
            segmented=segmented,
            block_declared=block_declared,
            payload_declared=payload_declared,
            named=named,
        )

    def _read_block(self, record: Any, iterator: Any, h: _Header) -> _Parsed:
        """Read the block once: HTTP head, payload (through the sink), digests, location."""
        block = _Block(record.raw_stream, h.block_declared)
        is_http = h.record_type in ("response", "request", "revisit") and (
            _media_type(h.content_type) == "application/http"
            or (h.content_type is None and (h.target_uri or "").lower().startswith(("http:", "https:")))
        )
        request_head: HttpRequestHead | None = None
        response_head: HttpResponseHead | None = None
        malformed: list[str] = []
        if is_http and h.content_length > 0:
            request_head, response_head, malformed = self._http_head(block, h.record_type, h.where)
        http = request_head or response_head
        header_length = http.header_length if http else 0
        http_headers = http.headers if http else ()

        pipe: _PayloadPipe | None = None
        decoder: _Decoder | None = None
        media = _media_type(_first(http_headers, "Content-Type")) if is_http else _media_type(h.content_type)
        has_payload = h.record_type not in ("revisit", "continuation")
        if has_payload:
            if h.record_type == "response" and is_http:
                decoder = self._decoder(http_headers, h.payload_declared)
            keep = (
                self.limits.max_fields_bytes
                if h.record_type in ("warcinfo", "metadata", "resource")
                and (
                    _media_type(h.content_type) in CERTIFICATE_MEDIA_TYPES
                    or _media_type(h.content_type) == "application/warc-fields"
                )
                else 0
            )
            pipe = _PayloadPipe(block, h.payload_declared, decoder, keep)
            if self.sink is not None:
                head = RecordHead(
                    self.name, h.index, h.record_id, h.record_type, h.target_uri, media, h.offset
                )
                with io.BufferedReader(pipe, buffer_size=_CHUNK) as stream:
                    self.sink(head, stream)
            pipe.drain()
        while block.read(_CHUNK):
            pass

        if block.size != h.content_length:
            raise FormatError(
                f"{h.where}: the record is cut off: Content-Length says {h.content_length} bytes, the file "
                f"holds {block.size} (the WARC is truncated)"
            )
        errors_before = iterator.err_count
        iterator.read_to_end()
        if iterator.err_count != errors_before:
            raise FormatError(
                f"{h.where}: the record is not followed by the empty lines that end a WARC record: its "
                "Content-Length is wrong or the file is damaged"
            )
        unc_next = int(iterator.offset)
        trailer = unc_next - h.unc_start - int(iterator.member_info[1])
        if trailer < 2:
            raise FormatError(
                f"{h.where}: the record does not end with CRLF CRLF: the WARC is truncated after the "
                "record's content"
            )
        offset, length = self.source.location(h.unc_start, unc_next, f"record {h.record_id}")

        # digests: payload before block, so the more specific mismatch is the one reported
        payload: Payload | None = None
        if pipe is not None:
            declared_result = self._check_payload_digest(
                h.payload_declared, pipe, decoder, is_http, h.segmented, h.where, h.record_type
            )
            content = None
            if decoder is not None and decoder.codings and decoder.error is None:
                content = DecodedContent(decoder.sha256.hexdigest(), decoder.size, decoder.codings)
            payload = Payload(
                sha256=pipe.sha256.hexdigest(),
                size=pipe.size,
                offset_in_block=header_length,
                media_type=media,
                declared_digest=declared_result,
                content=content,
            )
        block_result = None
        if h.block_declared is not None:
            block_result = self._check_block_digest(h.block_declared, block, h.where)

        info = RecordInfo(
            index=h.index,
            record_type=h.record_type,
            record_id=h.record_id,
            date=h.date,
            offset=offset,
            length=length,
            warc_version=h.version,
            block_sha256=block.sha256.hexdigest(),
            block_size=block.size,
            warc_headers=tuple(h.headers),
            target_uri=h.target_uri,
            content_type=h.content_type,
            ip_address=h.first("WARC-IP-Address"),
            concurrent_to=h.named.get("warc-concurrent-to", ()),
            block_digest=block_result,
            tls_protocols=h.named.get("warc-protocol", ()),
            cipher_suite=h.first("WARC-Cipher-Suite"),
        )
        parsed = _Parsed(info, payload, http_request=request_head, http_response=response_head)
        self.ids[h.record_id] = info
        for bad in malformed:
            self.note(
                CaptureFindingKind.MALFORMED_HEADER,
                f"HTTP header line {bad[:200]!r} is not 'name: value'; it stays in the record block but "
                "not in the parsed headers",
                info,
            )
        self._record_findings(parsed, h.payload_declared, decoder, pipe, h.segmented)
        if h.record_type == "revisit" and h.payload_declared is not None:
            parsed.revisit_digest = DeclaredDigest(
                h.payload_declared.value,
                h.payload_declared.algorithm,
                verified=False,
                note="a revisit record does not carry the payload it declares",
            )
        return parsed

    def _http_head(
        self, block: _Block, record_type: str, where: str
    ) -> tuple[HttpRequestHead | None, HttpResponseHead | None, list[str]]:
        """Read the HTTP start line and header section at the start of a block. Returns the request
        or response head (none for an empty revisit block) and the lines that are not headers."""
        limit = self.limits.max_line_bytes
        lines: list[str] = []
        start_line = block.readline(limit + 1)
        if record_type == "revisit" and not start_line:
            return None, None, []
        while True:
            line = block.readline(limit + 1)
            if not line:
                raise FormatError(
                    f"{where}: the HTTP header section is not closed by an empty line before the block ends"
                )
            if line in (b"\r\n", b"\n"):
                break
            lines.append(_text_of(line).rstrip("\r\n"))
        fields, malformed = _parse_fields(lines)
        headers = tuple(fields)
        first = _text_of(start_line).rstrip("\r\n")
        if record_type == "request":
            match = _REQUEST_LINE.fullmatch(first)
            if not match:
                raise FormatError(f"{where}: malformed HTTP request line {first[:200]!r}")
            return HttpRequestHead(match[1], match[2], match[3], headers, block.size), None, malformed
        match = _STATUS_LINE.fullmatch(first)
        if not match:
            raise FormatError(f"{where}: malformed HTTP status line {first[:200]!r}")
        response = HttpResponseHead(match[1], int(match[2]), match[3] or "", headers, block.size)
        return None, response, malformed

    def _decoder(self, headers: tuple[tuple[str, str], ...], declared: _Declared | None) -> _Decoder | None:
        transfer = _codings(_all(headers, "Transfer-Encoding"))
        content = tuple(c for c in _codings(_all(headers, "Content-Encoding")) if c != "identity")
        if not transfer and not content:
            return None
        unsupported = [c for c in transfer if c != "chunked"] + [
            c for c in content if c not in ("gzip", "x-gzip", "deflate")
        ]
        if unsupported or transfer.count("chunked") > 1:
            decoder = _Decoder(
                chunked=False, encodings=(), declared=None, limit=self.limits.max_decoded_bytes
            )
            decoder.codings = tuple(transfer) + tuple(reversed(content))
            decoder.error = f"unsupported coding(s) {', '.join(unsupported) or 'chunked, chunked'}"
            return decoder
        return _Decoder(
            chunked=bool(transfer), encodings=content, declared=declared, limit=self.limits.max_decoded_bytes
        )

    def _check_payload_digest(
        self,
        declared: _Declared | None,
        pipe: _PayloadPipe,
        decoder: _Decoder | None,
        is_http: bool,
        segmented: bool,
        where: str,
        record_type: str,
    ) -> DeclaredDigest | None:
        if declared is None:
            return None
        if declared.algorithm is None:
            return DeclaredDigest(declared.value, None, verified=False, note="unsupported digest algorithm")
        if segmented:
            return DeclaredDigest(
                declared.value,
                declared.algorithm,
                verified=False,
                note="a segmented record's payload digest covers all segments",
            )
        assert pipe.declared_hasher is not None  # made for every supported declared algorithm
        raw = pipe.declared_hasher.digest()
        if raw == declared.expected:
            return DeclaredDigest(
                declared.value,
                declared.algorithm,
                verified=True,
                covers="message_body" if is_http else "payload",
            )
        entity = None
        if decoder is not None and decoder.entity_hasher is not None and decoder.error is None:
            entity = decoder.entity_hasher.digest()
            if entity == declared.expected:
                return DeclaredDigest(
                    declared.value, declared.algorithm, verified=True, covers="transfer_decoded_body"
                )
        also = (
            f", or {declared.observed(entity)} with the chunked transfer coding removed"
            if entity is not None
            else ""
        )
        raise IntegrityError(
            f"{where}: WARC-Payload-Digest mismatch: the record declares {declared.value}, its "
            f"{pipe.size}-byte payload hashes to {declared.observed(raw)}{also}",
            hint="the payload changed after capture, or the capture tool wrote a wrong digest",
        )

    def _check_block_digest(self, declared: _Declared, block: _Block, where: str) -> DeclaredDigest:
        if declared.algorithm is None:
            return DeclaredDigest(declared.value, None, verified=False, note="unsupported digest algorithm")
        assert block.declared_hasher is not None
        observed = block.declared_hasher.digest()
        if observed != declared.expected:
            raise IntegrityError(
                f"{where}: WARC-Block-Digest mismatch: the record declares {declared.value}, its "
                f"{block.size}-byte block hashes to {declared.observed(observed)}",
                hint="the record changed after capture, or the capture tool wrote a wrong digest",
            )
        return DeclaredDigest(declared.value, declared.algorithm, verified=True, covers="block")

    def _record_findings(
        self,
        parsed: _Parsed,
        declared: _Declared | None,
        decoder: _Decoder | None,
        pipe: _PayloadPipe | None,
        segmented: bool,
    ) -> None:
        info = parsed.info
        kind = info.record_type
        if declared is None and kind in ("response", "resource"):
            self.note(
                CaptureFindingKind.MISSING_PAYLOAD_DIGEST,
                f"the {kind} record has no WARC-Payload-Digest: the capture tool did not say what the "
                "payload hashed to, so only our own digest (taken now) vouches for it",
                info,
            )
        if declared is not None and declared.algorithm is None:
            self.note(
                CaptureFindingKind.DIGEST_NOT_CHECKED,
                f"WARC-Payload-Digest {declared.value!r} uses an algorithm custody does not support; "
                "it was not checked",
                info,
            )
        if info.block_digest is not None and not info.block_digest.verified:
            self.note(
                CaptureFindingKind.DIGEST_NOT_CHECKED,
                f"WARC-Block-Digest {info.block_digest.value!r} uses an algorithm custody does not "
                "support; it was not checked",
                info,
            )
        if decoder is not None and decoder.error is not None:
            self.note(
                CaptureFindingKind.CONTENT_NOT_DECODED,
                f"the HTTP body ({', '.join(decoder.codings)}) could not be decoded: {decoder.error}; "
                "the body as recorded is kept and hashed",
                info,
            )
        truncated = info.header("WARC-Truncated")
        if truncated is not None:
            self.note(
                CaptureFindingKind.TRUNCATED_BY_TOOL,
                f"the capture tool marked the record truncated (WARC-Truncated: {truncated}): the "
                "payload is incomplete",
                info,
            )
        if segmented:
            self.note(
                CaptureFindingKind.SEGMENTED_RECORD,
                f"the record is segment {info.header('WARC-Segment-Number')} of a segmented record; "
                "custody does not join segments, so this payload is partial",
                info,
            )
        if kind == "revisit":
            self.note(
                CaptureFindingKind.REVISIT,
                f"a revisit record (profile {info.header('WARC-Profile')!r}) refers to "
                f"{info.header('WARC-Refers-To') or info.header('WARC-Refers-To-Target-URI')!r} "
                "instead of carrying the payload",
                info,
            )
        if kind not in (
            "warcinfo",
            "response",
            "resource",
            "request",
            "metadata",
            "revisit",
            "conversion",
            "continuation",
        ):
            self.note(
                CaptureFindingKind.UNKNOWN_RECORD_TYPE,
                f"WARC-Type {kind!r} is not a WARC/1.1 record type; the record is kept as it is",
                info,
            )
        if pipe is None:
            return
        media = parsed.payload.media_type if parsed.payload else None
        if kind in ("warcinfo", "metadata") and media == "application/warc-fields":
            if pipe.size > self.limits.max_fields_bytes:
                self.note(
                    CaptureFindingKind.FIELDS_NOT_PARSED,
                    f"the {pipe.size}-byte warc-fields block is larger than "
                    f"{self.limits.max_fields_bytes} bytes; it is kept but its fields are not parsed",
                    info,
                )
            else:
                try:
                    text = bytes(pipe.kept).decode("utf-8")
                except UnicodeDecodeError as exc:
                    self.note(
                        CaptureFindingKind.FIELDS_NOT_PARSED,
                        f"the warc-fields block is not UTF-8 ({exc}); it is kept but not parsed",
                        info,
                    )
                else:
                    fields, malformed = _parse_fields(line for line in text.splitlines() if line.strip())
                    parsed.fields = tuple(fields)
                    for bad in malformed:
                        self.note(
                            CaptureFindingKind.MALFORMED_HEADER,
                            f"warc-fields line {bad[:200]!r} is not 'name: value'",
                            info,
                        )
        if kind in ("resource", "metadata") and media in CERTIFICATE_MEDIA_TYPES:
            if pipe.size > self.limits.max_fields_bytes:
                self.note(
                    CaptureFindingKind.CERTIFICATE_UNREADABLE,
                    f"the {pipe.size}-byte certificate block is too large to parse; it is kept",
                    info,
                )
            else:
                certificates, problems = _certificates(bytes(pipe.kept))
                parsed.certificates = tuple(certificates)
                for problem in problems:
                    self.note(CaptureFindingKind.CERTIFICATE_UNREADABLE, problem, info)

    # after the last record

    def _assemble(self) -> tuple[WarcItem, ...]:
        requests: dict[str, WarcRequest] = {}
        for parsed in self.parsed:
            if parsed.info.record_type == "request":
                assert parsed.payload is not None
                requests[parsed.info.record_id] = WarcRequest(
                    parsed.info, parsed.http_request, parsed.payload
                )
        links = self._link_requests(requests)
        items: list[WarcItem] = []
        seen_uris: dict[str, RecordInfo] = {}
        for parsed in self.parsed:
            info = parsed.info
            kind = info.record_type
            item: WarcItem
            if kind == "warcinfo":
                assert parsed.payload is not None
                item = WarcInfo(info, parsed.payload, parsed.fields)
            elif kind == "request":
                item = requests[info.record_id]
            elif kind == "response":
                assert parsed.payload is not None
                request, link = links.get(info.record_id, (None, None))
                item = WarcResponse(info, parsed.http_response, parsed.payload, request, link)
                self._response_findings(item, seen_uris)
            elif kind == "resource":
                assert parsed.payload is not None
                item = WarcResource(info, parsed.payload, parsed.certificates)
            elif kind == "metadata":
                assert parsed.payload is not None
                item = WarcMetadata(info, parsed.payload, parsed.fields, parsed.certificates)
            elif kind == "revisit":
                item = WarcRevisit(
                    info,
                    parsed.http_response,
                    profile=info.header("WARC-Profile"),
                    refers_to=info.header("WARC-Refers-To"),
                    refers_to_target_uri=info.header("WARC-Refers-To-Target-URI"),
                    refers_to_date=info.header("WARC-Refers-To-Date"),
                    declared_payload_digest=parsed.revisit_digest,
                )
            else:
                item = WarcOtherRecord(info, parsed.payload)
            items.append(item)
        if self.parsed and not any(p.info.record_type == "warcinfo" for p in self.parsed):
            self.note(
                CaptureFindingKind.NO_WARCINFO,
                "the WARC has no warcinfo record: the capture tool and its settings are not recorded in it",
            )
        self.findings.sort(key=lambda f: (f.offset is None, f.offset or 0))
        return tuple(items)

    def _link_requests(self, requests: dict[str, WarcRequest]) -> dict[str, tuple[WarcRequest, str]]:
        """Pair responses with requests: WARC-Concurrent-To (either direction) first, then the
        nearest unpaired request for the same target URI. Each request serves one response."""
        responses = [p.info for p in self.parsed if p.info.record_type == "response"]
        naming: dict[str, list[WarcRequest]] = {}  # response id -> requests that name it
        by_uri: dict[str | None, list[WarcRequest]] = {}
        for candidate in requests.values():
            for target in candidate.record.concurrent_to:
                naming.setdefault(target, []).append(candidate)
            by_uri.setdefault(candidate.record.target_uri, []).append(candidate)
        links: dict[str, tuple[WarcRequest, str]] = {}
        used: set[str] = set()
        for info in responses:
            named = [requests[r] for r in info.concurrent_to if r in requests]
            for candidate in named + naming.get(info.record_id, []):
                if candidate.record.record_id not in used:
                    links[info.record_id] = (candidate, "concurrent_to")
                    used.add(candidate.record.record_id)
                    break
        for info in responses:
            if info.record_id in links:
                continue
            same = [r for r in by_uri.get(info.target_uri, []) if r.record.record_id not in used]
            if same:
                nearest = min(same, key=lambda r: abs(r.record.index - info.index))
                links[info.record_id] = (nearest, "target_uri")
                used.add(nearest.record.record_id)
        return links

    def _response_findings(self, item: WarcResponse, seen_uris: dict[str, RecordInfo]) -> None:
        info = item.record
        uri = info.target_uri or ""
        if item.request is None:
            self.note(
                CaptureFindingKind.RESPONSE_WITHOUT_REQUEST,
                f"no request record for the response to {uri}: what the capture tool asked for is "
                "not recorded",
                info,
            )
        elif item.request.record.target_uri != uri:
            self.note(
                CaptureFindingKind.REQUEST_TARGET_MISMATCH,
                f"the linked request {item.request.record.record_id} is for "
                f"{item.request.record.target_uri}, the response for {uri}",
                info,
            )
        if uri in seen_uris:
            first = seen_uris[uri]
            self.note(
                CaptureFindingKind.DUPLICATE_TARGET_URI,
                f"{uri} was captured more than once: record {first.record_id} at offset {first.offset} "
                "has a response for it too",
                info,
            )
        else:
            seen_uris[uri] = info
        http = item.http
        if http is None:
            return
        declared = http.header("Content-Length")
        method = item.request.http.method if item.request and item.request.http else None
        if (
            declared is not None
            and declared.strip().isdigit()
            and http.header("Transfer-Encoding") is None
            and method != "HEAD"
            and not (100 <= http.status < 200 or http.status in (204, 304))
            and int(declared) != item.payload.size
        ):
            self.note(
                CaptureFindingKind.HTTP_LENGTH_MISMATCH,
                f"the HTTP Content-Length is {int(declared)} but the recorded body has "
                f"{item.payload.size} bytes: the capture may be incomplete",
                info,
            )


def _as_stream(source: BinaryIO | bytes | bytearray | memoryview) -> Any:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source))
    if not hasattr(source, "read"):
        raise TypeError(f"a WARC source must be bytes or a binary stream, got {type(source).__name__}")
    return source


def read_warc(
    source: BinaryIO | bytes,
    *,
    name: str,
    limits: WarcLimits | None = None,
    payload_sink: PayloadSink | None = None,
) -> WarcCapture:
    """Parse and check a WARC file (plain or gzip), streaming it once.

    Args:
        source: the file's bytes, or a binary stream positioned at its start (need not seek).
        name: names the input in errors and findings (usually the file name).
        limits: bounds on record size, record count and header sizes.
        payload_sink: called with each payload as it is read (see the module docstring).

    Returns:
        The capture: records in file order, each with its location, digests and headers.

    Raises:
        FormatError: starting with ``"<name>: "``: not a WARC, a cut or corrupt gzip member, a record
            shorter than its Content-Length or not ended by CRLF CRLF, a missing or repeated
            mandatory header, a duplicate WARC-Record-ID, malformed HTTP header sections, a record
            over ``max_record_bytes`` or more than ``max_records`` records.
        IntegrityError: a WARC-Payload-Digest or WARC-Block-Digest does not match, naming the
            record id and offset, the declared and the observed digest.
    """
    return _Reader(_as_stream(source), name=name, limits=limits or WarcLimits(), sink=payload_sink).run()


SPLIT_MIN_BYTES = 4 * 1024 * 1024
"""``read_warc_file`` parses a gzip WARC at least this large on both cores."""
_TAIL_PAYLOAD_BYTES = 256 * 1024
"""Payloads the child sends back must each be smaller than this..."""
_TAIL_PAYLOADS_TOTAL = 256 * 1024 * 1024
"""...and this much in all; otherwise this process reads the second part itself."""
_SPLIT_WINDOW = 1024 * 1024
SPLIT_AT = 0.55
"""Where the child's part starts, as a fraction of the file: past the middle, because this
process also stores the payloads and takes on the child's records."""


@dataclass
class _Tail:
    """The records of the second part of a file, as a child process read them."""

    parsed: list[_Parsed]
    findings: list[CaptureFinding]
    payloads: list[tuple[RecordHead, bytes]]
    sha256: str


class _TailTooLarge(Exception):
    """A payload of the second part is too large to send from the child."""


def read_warc_file(
    path: Path, *, name: str, limits: WarcLimits | None = None, payload_sink: PayloadSink | None = None
) -> WarcCapture:
    """``read_warc`` for a file on disk, with the same result, errors and sink calls (in file order).

    A gzip WARC of ``SPLIT_MIN_BYTES`` or more is parsed on both cores where the system can fork
    (``parallel.can_fork``): a child process reads the records from a gzip member at ``SPLIT_AT``
    of the file on, while this one reads the first part; the child's records then continue this reader's, and
    its payloads reach the sink, in file order. Only a clean run takes this path: if the first
    part fails, the whole file is read again in one pass, which raises what one pass raises; if
    the child fails or its payloads are large, this process reads the second part itself.
    Finally the second part is read once more, hashing on from the first part's digest as parsed:
    it must hash as the child parsed it, and the capture's digest is of the bytes parsed."""
    limits = limits or WarcLimits()
    with path.open("rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        gzip = stream.read(len(_GZIP_MAGIC)) == _GZIP_MAGIC
        split = _member_to_split_at(stream, size) if gzip and size >= SPLIT_MIN_BYTES and can_fork() else None
        stream.seek(0)
        if split is None:
            return read_warc(stream, name=name, limits=limits, payload_sink=payload_sink)
        child = ForkedCall(partial(_read_tail, path, split, size, name, limits))
        head = _Reader(_Slice(stream, split), name=name, limits=limits, sink=payload_sink)
        try:
            head.read_records()
        except CustodyError:  # the first part has an error, or the split was not a record boundary
            child.cancel()
            stream.seek(0)
            return read_warc(stream, name=name, limits=limits, payload_sink=payload_sink)
        except BaseException:
            child.cancel()
            raise
        tail = child.result()
        if tail is None:
            stream.seek(split)
            tail = _read_on(head, _Slice(stream, size - split), split)
        else:
            _take_on(head, tail)
        stream.seek(split)
        whole, rest = _hash_on(head.source.hasher(), stream)
    if rest != tail.sha256:
        raise IntegrityError(
            f"{name}: the file changed while it was read (its second part no longer hashes as parsed)"
        )
    return head.capture(whole, size)


def _take_on(head: _Reader, tail: _Tail) -> None:
    """Continue ``head`` with the records the child read (numbered from 0), then hand their
    payloads to the sink, in file order."""
    shift = head.first_index + len(head.parsed)
    head.continue_with(tail, 0)
    if head.sink is not None:
        for record, data in tail.payloads:
            head.sink(replace(record, index=record.index + shift), io.BytesIO(data))


def _read_on(head: _Reader, rest: Any, split: int) -> _Tail:
    """Read the second part here, as ``head`` would have read on (same ids, indexes, limit)."""
    reader = _Reader(
        rest,
        name=head.name,
        limits=head.limits,
        sink=head.sink,
        base_offset=split,
        first_index=head.first_index + len(head.parsed),
        max_records=head.max_records - len(head.parsed),
    )
    reader.ids = dict(head.ids)
    reader.read_records()
    tail = _Tail(reader.parsed, reader.findings, [], reader.source.sha256)
    head.continue_with(tail, reader.first_index)
    return tail


def _read_tail(path: Path, split: int, size: int, name: str, limits: WarcLimits) -> _Tail:
    """In the child: read the file from ``split`` on, keeping each payload's bytes."""
    payloads: list[tuple[RecordHead, bytes]] = []
    total = 0

    def keep(record: RecordHead, stream: BinaryIO) -> None:
        nonlocal total
        data = stream.read(_TAIL_PAYLOAD_BYTES)
        total += len(data)
        if len(data) >= _TAIL_PAYLOAD_BYTES or total > _TAIL_PAYLOADS_TOTAL:
            raise _TailTooLarge
        payloads.append((record, data))

    with path.open("rb") as stream:
        stream.seek(split)
        reader = _Reader(_Slice(stream, size - split), name=name, limits=limits, sink=keep, base_offset=split)
        reader.read_records()
    return _Tail(reader.parsed, reader.findings, payloads, reader.source.sha256)


def _member_to_split_at(stream: BinaryIO, size: int) -> int | None:
    """The offset of a gzip member that holds the start of a WARC record, in the megabyte after
    ``SPLIT_AT`` of the file; None if there is none (huge records). A false match (bytes inside a
    member that look like one) makes the first part end inside a record: an error, then one pass."""
    at = int(size * SPLIT_AT)
    stream.seek(at)
    window = stream.read(_SPLIT_WINDOW)
    start = window.find(_GZIP_MAGIC)
    while start != -1:
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(window[start : start + _CHUNK], 8)
            if head.startswith(b"WARC/"):
                return at + start
        except zlib.error:
            pass
        start = window.find(_GZIP_MAGIC, start + 1)
    return None


def _hash_on(whole: Any, stream: BinaryIO) -> tuple[str, str]:
    """The rest of ``stream`` hashed on from ``whole`` (the digest of what came before it), and
    hashed alone: (the whole file's SHA-256, the rest's)."""
    rest = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        whole.update(chunk)
        rest.update(chunk)
    return whole.hexdigest(), rest.hexdigest()


def read_record_at(
    source: BinaryIO | bytes,
    record: RecordInfo,
    *,
    name: str,
    limits: WarcLimits | None = None,
    payload_sink: PayloadSink | None = None,
) -> WarcItem:
    """Re-read and re-verify one record of a WARC file from its location (``record.offset`` and
    ``record.length``), e.g. to stream its payload into a store after ``read_warc``.

    The source must be seekable. The item returned is the one ``read_warc`` gave, except that a
    response is not linked to its request (another record) and no findings are made.

    Raises:
        FormatError: as ``read_warc``, or the range does not hold exactly one record.
        IntegrityError: as ``read_warc``, or the record read now differs from ``record`` (the file
            changed since it was first read).
    """
    stream = _as_stream(source)
    stream.seek(record.offset)
    reader = _Reader(
        _Slice(stream, record.length),
        name=name,
        limits=limits or WarcLimits(),
        sink=payload_sink,
        base_offset=record.offset,
        first_index=record.index,
        max_records=1,
    )
    capture = reader.run()
    where = f"{name}: record {record.record_id} at offset {record.offset}"
    if reader.source.raw_size != record.length:
        raise FormatError(
            f"{where}: the file ends {record.length - reader.source.raw_size} bytes before the record does"
        )
    if len(capture.items) != 1:
        raise FormatError(f"{where}: the range holds no WARC record")
    item = capture.items[0]
    if item.record != record:
        raise IntegrityError(
            f"{where}: the record read again differs from the one read before: record "
            f"{item.record.record_id}, block sha256 {item.record.block_sha256} now, "
            f"{record.block_sha256} then",
            hint="the file changed between the two reads",
        )
    if isinstance(item, WarcResponse):
        return WarcResponse(item.record, item.http, item.payload)
    return item


# --- WACZ -----------------------------------------------------------------------------------------

_WARC_MEMBER = re.compile(r"archive/[^/]+\.warc(?:\.gz)?")
_PAGES_MEMBER = re.compile(r"pages/[^/]+\.jsonl")
_DATAPACKAGE = "datapackage.json"
_DATAPACKAGE_DIGEST = "datapackage-digest.json"
_METADATA_FIELDS = ("title", "description", "software", "created", "modified", "mainPageUrl", "mainPageDate")


def _parse_hash(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.startswith("sha256:"):
        raise FormatError(f"{where}: hash must be 'sha256:<64 hex>', got {value!r}")
    digest = value.removeprefix("sha256:").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise FormatError(f"{where}: hash must be 'sha256:<64 hex>', got {value!r}")
    return digest


def read_wacz(
    source: Path | bytes | BinaryIO,
    *,
    name: str,
    limits: WaczLimits | None = None,
    payload_sink: PayloadSink | None = None,
) -> WaczCapture:
    """Open a WACZ safely, check it against its datapackage.json and read every WARC in it; its
    signature (``custody.wacz_signature``) and replay index (``custody.wacz_index``) are checked.

    Nothing is extracted to disk: members are streamed from the zip. Before any member is read, the
    zip is refused if a member name is absolute, contains '..', a backslash or NUL, or repeats; if a
    member is a symlink or other non-regular file, encrypted, uses an unusual compression method,
    overlaps another, or expands beyond the size or ratio limits.

    Args:
        source: a path, the bytes, or a seekable binary stream of the .wacz file.
        name: names the input in errors and findings.
        limits: zip and WARC bounds.
        payload_sink: passed to ``read_warc`` for every WARC member (``RecordHead.source`` names it).

    Raises:
        FormatError: the zip is unsafe or unreadable, datapackage.json is missing or malformed, a
            WARC inside is malformed (see ``read_warc``), pages.jsonl is malformed.
        IntegrityError: a member does not match the size or sha256 datapackage.json lists, a listed
            member is missing, datapackage-digest.json does not match, an anonymous signature
            does not verify, or a WARC digest mismatches.
    """
    limits = limits or WaczLimits()
    if isinstance(source, Path):
        try:
            with source.open("rb") as handle:
                return _read_wacz(handle, name=name, limits=limits, sink=payload_sink)
        except OSError as exc:
            raise InputFileError(f"cannot read {source}: {exc.strerror or exc}") from exc
    return _read_wacz(_as_stream(source), name=name, limits=limits, sink=payload_sink)


def _read_wacz(stream: Any, *, name: str, limits: WaczLimits, sink: PayloadSink | None) -> WaczCapture:
    try:
        stream.seek(0, io.SEEK_END)
        size = stream.tell()
        stream.seek(0)
        zf = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise FormatError(f"{name}: not a WACZ: not a readable zip file ({exc})") from exc
    with zf:
        files = check_members(zf, stream, name=name, limits=limits.zip, kind="WACZ")
        by_path = {info.filename: info for info in files}
        if _DATAPACKAGE not in by_path:
            raise FormatError(f"{name}: not a WACZ: it has no {_DATAPACKAGE}")
        package_bytes, package_sha256 = read_small(zf, by_path[_DATAPACKAGE], name, limits.max_json_bytes)
        package = parse_json_object(package_bytes, what=f"{name}: {_DATAPACKAGE}")
        listed = _listed_resources(package, name)
        findings: list[CaptureFinding] = []
        digest_verified = _DATAPACKAGE_DIGEST in by_path
        signature = None
        if digest_verified:
            signature = _check_datapackage_digest(
                zf, by_path[_DATAPACKAGE_DIGEST], package_sha256, name, limits, findings
            )
        archives: list[WaczArchive] = []
        pages: list[WaczPage] = []
        resources: list[WaczResource] = []
        for info in files:
            path = info.filename
            if path in (_DATAPACKAGE, _DATAPACKAGE_DIGEST):
                continue
            expected = listed.get(path)
            where = f"{name} member {path}"
            member = MemberStream(zf.open(info), where=where, declared_size=info.file_size)
            try:
                if _WARC_MEMBER.fullmatch(path):
                    capture = read_warc(member, name=where, limits=limits.warc, payload_sink=sink)  # type: ignore[arg-type]
                    archives.append(WaczArchive(path, capture))
                elif _PAGES_MEMBER.fullmatch(path):
                    pages.extend(_read_pages(member, path, where, limits))
                member.drain()
            except CustodyError as exc:
                # A member that does not match the manifest is the more fundamental problem.
                member.drain()
                if expected is not None and member.hasher.hexdigest() != expected[0]:
                    raise _mismatch(name, path, expected, member) from exc
                raise
            if expected is None:
                findings.append(
                    CaptureFinding(
                        CaptureFindingKind.UNLISTED_MEMBER,
                        f"{path} is not listed in {_DATAPACKAGE}: its bytes are not covered by the manifest",
                        member=path,
                    )
                )
                continue
            if member.hasher.hexdigest() != expected[0] or member.size != expected[1]:
                raise _mismatch(name, path, expected, member)
            resources.append(WaczResource(path, expected[0], expected[1], expected[2]))
        missing = sorted(set(listed) - {info.filename for info in files})
        if missing:
            raise IntegrityError(
                f"{name}: {_DATAPACKAGE} lists {', '.join(repr(m) for m in missing)} but the WACZ has "
                f"no such member{'s' if len(missing) > 1 else ''}"
            )
        if not archives:
            raise FormatError(f"{name}: not a WACZ: it has no archive/*.warc or archive/*.warc.gz member")
        responded = {r.record.target_uri for a in archives for r in a.capture.responses}
        for page in pages:
            if page.url not in responded:
                findings.append(
                    CaptureFinding(
                        CaptureFindingKind.PAGE_WITHOUT_RESPONSE,
                        f"page {page.url} (line {page.line}) has no response record in the WACZ's WARCs",
                        member=page.member,
                    )
                )
        indexes = [info for info in files if INDEX_MEMBER.fullmatch(info.filename)]
        findings.extend(_index_findings(zf, indexes, archives, name, limits))
        metadata = tuple(
            (key, value)
            for key, value in package.items()
            if key in _METADATA_FIELDS and isinstance(value, str)
        )
        version = package.get("wacz_version")
        return WaczCapture(
            name=name,
            size=size,
            datapackage_sha256=package_sha256,
            wacz_version=version if isinstance(version, str) else None,
            metadata=metadata,
            resources=tuple(resources),
            archives=tuple(archives),
            pages=tuple(pages),
            findings=tuple(findings),
            datapackage_digest_verified=digest_verified,
            signature=signature,
        )


def _index_findings(
    zf: zipfile.ZipFile,
    indexes: list[zipfile.ZipInfo],
    archives: list[WaczArchive],
    name: str,
    limits: WaczLimits,
) -> list[CaptureFinding]:
    """The replay index members checked against the records of the WACZ's WARCs
    (``custody.wacz_index``): what does not match, or could not be checked, as findings."""
    if not indexes:
        return []
    records = {
        PurePosixPath(archive.path).name: {
            item.record.offset: _indexed(item) for item in archive.capture.items
        }
        for archive in archives
    }
    findings = []
    for info in indexes:
        where = f"{name} member {info.filename}"  # its bytes were checked with the other members
        lines = MemberStream(zf.open(info), where=where, declared_size=info.file_size, hashing=False)
        for problem in check_index(lines, info.filename, records, limits.max_page_line_bytes):
            kind = (
                CaptureFindingKind.INDEX_MISMATCH if problem.checked else CaptureFindingKind.INDEX_NOT_CHECKED
            )
            line = f"line {problem.line}: " if problem.line is not None else ""
            findings.append(CaptureFinding(kind, line + problem.message, member=problem.member))
    return findings


def _indexed(item: WarcItem) -> IndexedRecord:
    http = getattr(item, "http", None)
    return IndexedRecord(
        offset=item.record.offset,
        length=item.record.length,
        target_uri=item.record.target_uri,
        date=item.record.date,
        payload_digest=item.record.header("WARC-Payload-Digest"),
        status=http.status if isinstance(http, HttpResponseHead) else None,
    )


def _mismatch(
    name: str, path: str, expected: tuple[str, int, str | None], member: MemberStream
) -> IntegrityError:
    return IntegrityError(
        f"{name}: member {path} does not match {_DATAPACKAGE}: expected sha256 {expected[0]} "
        f"({expected[1]} bytes), observed sha256 {member.hasher.hexdigest()} ({member.size} bytes)",
        hint="the WACZ was changed after it was packaged",
    )


def _listed_resources(package: Mapping[str, Any], name: str) -> dict[str, tuple[str, int, str | None]]:
    where = f"{name}: {_DATAPACKAGE}"
    resources = package.get("resources")
    if not isinstance(resources, list):
        raise FormatError(f"{where}: 'resources' must be a list")
    listed: dict[str, tuple[str, int, str | None]] = {}
    for number, resource in enumerate(resources):
        at = f"{where}: resources[{number}]"
        if not isinstance(resource, dict):
            raise FormatError(f"{at} must be an object")
        path = resource.get("path")
        if not isinstance(path, str) or not path:
            raise FormatError(f"{at}: 'path' must be text")
        if path in listed:
            raise FormatError(f"{at}: {path!r} is listed twice")
        size = resource.get("bytes")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise FormatError(f"{at}: 'bytes' must be a whole number, got {size!r}")
        label = resource.get("name")
        listed[path] = (
            _parse_hash(resource.get("hash"), at),
            size,
            label if isinstance(label, str) else None,
        )
    return listed


def _check_datapackage_digest(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    package_sha256: str,
    name: str,
    limits: WaczLimits,
    findings: list[CaptureFinding],
) -> WaczSignature | None:
    """Check datapackage-digest.json against datapackage.json (raising on a mismatch), and the
    package's signature if it has one (``custody.wacz_signature``)."""
    data, _ = read_small(zf, info, name, limits.max_json_bytes)
    document = parse_json_object(data, what=f"{name}: {_DATAPACKAGE_DIGEST}")
    if document.get("path", _DATAPACKAGE) != _DATAPACKAGE:
        raise FormatError(
            f"{name}: {_DATAPACKAGE_DIGEST} is for {document.get('path')!r}, not {_DATAPACKAGE}"
        )
    expected = _parse_hash(document.get("hash"), f"{name}: {_DATAPACKAGE_DIGEST}")
    if expected != package_sha256:
        raise IntegrityError(
            f"{name}: {_DATAPACKAGE_DIGEST} does not match {_DATAPACKAGE}: expected sha256 {expected}, "
            f"observed {package_sha256}",
            hint="the WACZ manifest was changed after it was packaged",
        )
    if "signedData" not in document:
        return None
    signature = check_signed_data(document["signedData"], package_sha256, f"{name}: {_DATAPACKAGE_DIGEST}")
    if not signature.verified:
        findings.append(
            CaptureFinding(
                CaptureFindingKind.SIGNATURE_NOT_VERIFIED,
                f"{_DATAPACKAGE_DIGEST} carries a domain signature (certificate chain and timestamp); "
                "custody checks offline and does not verify those, so who packaged it is not "
                "established by it",
                member=_DATAPACKAGE_DIGEST,
            )
        )
    return signature


def _read_pages(member: MemberStream, path: str, where: str, limits: WaczLimits) -> list[WaczPage]:
    pages = []
    number = 0
    while True:
        line = member.readline(limits.max_page_line_bytes + 1)
        if not line:
            break
        number += 1
        if len(line) > limits.max_page_line_bytes:
            raise FormatError(f"{where} line {number}: longer than {limits.max_page_line_bytes} bytes")
        if not line.strip():
            continue
        document = parse_json_object(line, what=f"{where} line {number}")
        if "url" not in document:
            if number == 1 and "format" in document:
                continue  # the header line ("format": "json-pages-1.0", ...)
            raise FormatError(f"{where} line {number}: a page needs a 'url'")
        url = document["url"]
        if not isinstance(url, str) or not url:
            raise FormatError(f"{where} line {number}: 'url' must be text")

        def text(key: str, document: Mapping[str, Any] = document) -> str | None:
            value = document.get(key)
            return value if isinstance(value, str) else None

        pages.append(WaczPage(url, path, number, text("ts"), text("title"), text("id")))
    return pages
