"""RFC 3339 UTC timestamps: custody writes ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.errors import FormatError
from custody.timeutil import format_rfc3339, normalise_rfc3339, parse_rfc3339

MOMENT = datetime(2026, 3, 1, 14, 5, 0, tzinfo=UTC)


def test_format_whole_seconds() -> None:
    assert format_rfc3339(MOMENT) == "2026-03-01T14:05:00Z"


def test_format_microseconds() -> None:
    assert format_rfc3339(MOMENT.replace(microsecond=1500)) == "2026-03-01T14:05:00.001500Z"


def test_format_converts_to_utc() -> None:
    plus_two = datetime(2026, 3, 1, 16, 5, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_rfc3339(plus_two) == "2026-03-01T14:05:00Z"


def test_format_refuses_naive_time() -> None:
    with pytest.raises(FormatError, match="no time zone"):
        format_rfc3339(datetime(2026, 3, 1, 14, 5))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T14:05:00Z", "2026-03-01T14:05:00Z"),
        ("2026-03-01T14:05:00z", "2026-03-01T14:05:00Z"),
        ("2026-03-01t14:05:00Z", "2026-03-01T14:05:00Z"),
        ("2026-03-01T14:05:00+00:00", "2026-03-01T14:05:00Z"),
        ("2026-03-01T15:35:00+01:30", "2026-03-01T14:05:00Z"),
        ("2026-03-01T09:05:00-05:00", "2026-03-01T14:05:00Z"),
        ("2026-03-01T00:30:00+01:00", "2026-02-28T23:30:00Z"),
        ("2026-03-01T14:05:00.250Z", "2026-03-01T14:05:00.250000Z"),
        ("2026-03-01T14:05:00.000000Z", "2026-03-01T14:05:00Z"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise_rfc3339(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01",
        "2026-03-01T14:05:00",  # no offset
        "2026-03-01T14:05:00.123456",  # no offset, long enough to pass the length check
        "2026-03-01 14:05:00",
        "yesterday at noon, UTC",
        "2026-13-01T14:05:00Z",
        "2026-02-30T14:05:00Z",
        "2026-03-01T25:05:00Z",
        "",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(FormatError, match="captured-at"):
        parse_rfc3339(text, what="captured-at")


@pytest.mark.parametrize("value", [None, 1767225600, MOMENT])
def test_parse_rejects_non_text(value: object) -> None:
    with pytest.raises(FormatError, match="must be an RFC 3339 string"):
        parse_rfc3339(value)  # type: ignore[arg-type]


def test_parse_returns_aware_utc() -> None:
    moment = parse_rfc3339("2026-03-01T16:05:00+02:00")
    assert moment == MOMENT
    assert moment.utcoffset() == timedelta(0)


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
        ),
    )
)
def test_format_parse_round_trip(moment: datetime) -> None:
    text = format_rfc3339(moment)
    assert text.endswith("Z")
    assert parse_rfc3339(text) == moment
    assert normalise_rfc3339(text) == text


def test_a_time_that_leaves_the_calendar_in_utc_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="outside the years 1 to 9999 in UTC"):
        parse_rfc3339("0001-01-01T00:30:00+01:00")
