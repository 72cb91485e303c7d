"""A WACZ's replay index (CDXJ under ``indexes/``), cross-checked against the records read.

A replay tool (ReplayWeb.page, pywb) shows a page from the record its index entry points to: the
WARC file, byte offset and length. If an entry points elsewhere than the record custody extracted
for that URL and time (another record, no record, other bytes), what a court is shown on replay is
not the exhibit. Each index line is checked against the records of the WACZ's own WARCs.

Invariants:
- The index is a replay aid, not the evidence: what it gets wrong is reported (``IndexProblem``,
  recorded as findings by the caller), never a reason to refuse the capture; what cannot be
  checked (a compressed ZipNum index, a line that is not CDXJ) is reported as not checked.
- Every line is bounded; at most ``MAX_PROBLEMS`` problems are reported one by one per index, the
  rest as a count.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from custody.canonical import parse_json_object
from custody.errors import FormatError

INDEX_MEMBER = re.compile(r"indexes/[^/]+\.(?:cdxj?|cdx\.gz|cdxj\.gz|idx)")
"""The members a WACZ's index may be in: CDXJ (read), or compressed ZipNum (not read)."""
_PLAIN_INDEX = re.compile(r"indexes/[^/]+\.cdxj?")
_CDXJ_LINE = re.compile(rb"(\S+) (\d{4,17}) (\{.*\})\s*")
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class IndexProblem:
    """An index line that does not match the record it points to (``checked``), or index lines
    that could not be checked; ``line`` None: the whole member."""

    member: str
    line: int | None
    message: str
    checked: bool = True


@dataclass(frozen=True)
class IndexedRecord:
    """What an index entry is checked against: one record of a WARC of the WACZ."""

    offset: int
    length: int
    target_uri: str | None
    date: str
    """RFC 3339 UTC, as the WARC reader normalised WARC-Date."""
    payload_digest: str | None
    """The WARC-Payload-Digest value as written (e.g. ``sha1:...``), if any."""
    status: int | None
    """The HTTP status of a response, if any."""


class _Lines(Protocol):
    def readline(self, limit: int) -> bytes: ...


def check_index(
    lines: _Lines, path: str, records: Mapping[str, Mapping[int, IndexedRecord]], max_line_bytes: int
) -> list[IndexProblem]:
    """Check each line of the index member ``path`` (read through ``lines``) against ``records``:
    by WARC file name (as the index names it), the records of that WARC by offset."""
    if _PLAIN_INDEX.fullmatch(path) is None:
        return [IndexProblem(path, None, "a compressed (ZipNum) index: not checked", checked=False)]
    problems: list[IndexProblem] = []
    skipped = 0
    number = 0
    while True:
        line = lines.readline(max_line_bytes + 1)
        if not line:
            break
        number += 1
        if len(line) > max_line_bytes:
            skipped += 1
            _drain_line(lines, max_line_bytes)
            continue
        if not line.strip() or line.startswith(b"!"):
            continue  # blank, or a CDX header / comment
        entry = _cdxj_entry(line)
        if entry is None:
            skipped += 1
            continue
        problem = _check_entry(entry[1], entry[0], records)
        if problem:
            problems.append(IndexProblem(path, number, problem))
    capped = _capped(problems, path)
    if skipped:
        message = f"{skipped} line(s) are not CDXJ (or too long): not checked"
        capped.insert(0, IndexProblem(path, None, message, checked=False))
    return capped


def _cdxj_entry(line: bytes) -> tuple[str, dict[str, Any]] | None:
    """The timestamp and fields of a CDXJ line (``urlkey timestamp {json}``), or None."""
    match = _CDXJ_LINE.fullmatch(line)
    if match is None:
        return None
    try:
        return match[2].decode(), parse_json_object(match[3], what="index line")
    except FormatError:
        return None


def _check_entry(
    fields: Mapping[str, Any], timestamp: str, records: Mapping[str, Mapping[int, IndexedRecord]]
) -> str | None:
    """What is wrong with one entry, or None."""
    found = _record_of(fields, records)
    if isinstance(found, str):
        return found
    where = f"entry for {fields.get('url')!r} (record at offset {found.offset} of {fields['filename']})"
    digest, status = fields.get("digest"), fields.get("status")
    written = re.sub(r"\D", "", found.date)[:14]
    mismatches = [
        (
            _count(fields.get("length")) != found.length,
            f"length {fields.get('length')}, but the record is {found.length} bytes",
        ),
        (fields.get("url") != found.target_uri, f"the record is for {found.target_uri!r}"),
        (
            timestamp[:14] != written[: len(timestamp[:14])],
            f"timestamp {timestamp}, but the record's WARC-Date is {found.date}",
        ),
        (
            isinstance(digest, str)
            and found.payload_digest is not None
            and not _same_digest(digest, found.payload_digest),
            f"digest {digest}, but the record declares {found.payload_digest}",
        ),
        (
            status is not None and found.status is not None and str(status) != str(found.status),
            f"status {status}, but the record's HTTP status is {found.status}",
        ),
    ]
    return next((f"{where}: {message}" for wrong, message in mismatches if wrong), None)


def _record_of(
    fields: Mapping[str, Any], records: Mapping[str, Mapping[int, IndexedRecord]]
) -> IndexedRecord | str:
    """The record an entry points to, or what is wrong with where it points."""
    url, filename = fields.get("url"), fields.get("filename")
    offset, length = _count(fields.get("offset")), _count(fields.get("length"))
    if not isinstance(filename, str) or offset is None or length is None:
        return f"entry for {url!r} names no WARC file, offset and length: it cannot be replayed"
    in_file = records.get(filename)
    if in_file is None:
        return f"entry for {url!r} points into {filename!r}, which the WACZ does not hold"
    record = in_file.get(offset)
    if record is None:
        return f"entry for {url!r} points to offset {offset} of {filename}, where no record starts"
    return record


def _same_digest(indexed: str, declared: str) -> bool:
    """CDXJ writers drop the algorithm label or keep it; compare the values, ignoring case."""

    def value(text: str) -> str:
        return text.strip().rpartition(":")[2].upper()

    return value(indexed) == value(declared)


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def _drain_line(lines: _Lines, max_line_bytes: int) -> None:
    while True:
        rest = lines.readline(max_line_bytes + 1)
        if not rest or rest.endswith(b"\n"):
            return


def _capped(problems: list[IndexProblem], path: str) -> list[IndexProblem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], IndexProblem(path, None, f"and {more} more entries that do not match")]
