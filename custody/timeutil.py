"""RFC 3339 UTC timestamps.

Invariant: every time custody signs is written ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` in UTC. The core
never reads the clock; adapters pass the current time in (``utc_now`` is for adapters only).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

from custody.errors import FormatError

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_rfc3339(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC with a ``Z`` suffix."""
    if moment.tzinfo is None:
        raise FormatError(f"time {moment.isoformat()} has no time zone; custody records UTC only")
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def parse_rfc3339(text: str, *, what: str = "time") -> datetime:
    """Parse an RFC 3339 timestamp with an explicit offset (``Z`` or ``+hh:mm``).

    Raises:
        FormatError: if the text is not a full date-time with an offset.
    """
    if not isinstance(text, str):
        raise FormatError(f"{what} must be an RFC 3339 string, got {type(text).__name__}")
    candidate = text.strip()
    if not _RFC3339.fullmatch(candidate):
        raise FormatError(
            f"{what} {text!r} is not an RFC 3339 date-time (expected e.g. 2026-03-01T14:05:00Z)"
        )
    if candidate[-1] in "zZ":
        candidate = candidate[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError as exc:
        raise FormatError(
            f"{what} {text!r} is not an RFC 3339 date-time (expected e.g. 2026-03-01T14:05:00Z)"
        ) from exc
    if moment.tzinfo is None:
        raise FormatError(f"{what} {text!r} has no UTC offset; add Z or +hh:mm")
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:30:00+01:00 is before year 1 in UTC
        raise FormatError(f"{what} {text!r} is outside the years 1 to 9999 in UTC") from exc


def normalise_rfc3339(text: str, *, what: str = "time") -> str:
    """Parse and re-format a timestamp in custody's canonical UTC form."""
    if type(text) is str:
        return _normalise_text(text, what)
    return format_rfc3339(parse_rfc3339(text, what=what))  # raises: not a string


@lru_cache(maxsize=4096)  # bulk imports normalise the same capture times over and over
def _normalise_text(text: str, what: str) -> str:
    return format_rfc3339(parse_rfc3339(text, what=what))
