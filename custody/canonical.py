"""Canonical JSON (RFC 8785, JCS) and strict JSON parsing.

Invariants:
- ``canonical_bytes`` is the only way custody turns an object that is hashed or signed into bytes.
- Parsing is strict: duplicate keys, NaN/Infinity, non-UTF-8 and non-object roots (where an object
  is required) are ``FormatError``s, never silently accepted.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from custody.errors import FormatError

# Integers beyond I-JSON's exact range (RFC 7493) cannot round-trip through JCS.
_MAX_SAFE_INTEGER = 2**53 - 1


def canonical_bytes(value: Any) -> bytes:
    """Serialise ``value`` to RFC 8785 canonical JSON bytes.

    Raises:
        FormatError: if the value holds something JSON cannot carry exactly (floats that are
            NaN/Infinity, integers beyond 2**53-1, non-string keys).
    """
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise FormatError(f"value cannot be canonicalised as RFC 8785 JSON: {exc}") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _check_integers(value: Any) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int) and abs(value) > _MAX_SAFE_INTEGER:
        raise ValueError(f"integer {value} is outside the exact JSON range (|n| <= 2**53-1)")
    if isinstance(value, dict):
        for item in value.values():
            _check_integers(item)
    elif isinstance(value, list):
        for item in value:
            _check_integers(item)


def parse_json(data: bytes | str, *, what: str = "JSON") -> Any:
    """Parse JSON strictly.

    Args:
        data: the raw bytes (UTF-8) or text.
        what: names the input in error messages (a file name, "envelope", ...).

    Raises:
        FormatError: on invalid UTF-8, invalid JSON, duplicate keys, NaN/Infinity or huge integers.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
        _check_integers(value)
    except UnicodeDecodeError as exc:
        raise FormatError(f"{what} is not valid UTF-8: {exc}") from exc
    except RecursionError as exc:
        raise FormatError(f"{what} is nested too deeply") from exc
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise FormatError(f"{what} is not valid JSON: {exc}") from exc
    return value


def parse_json_object(data: bytes | str, *, what: str = "JSON") -> dict[str, Any]:
    """Parse strictly and require a JSON object at the root."""
    value = parse_json(data, what=what)
    if not isinstance(value, dict):
        raise FormatError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value
