"""Canonical JSON (RFC 8785, JCS) and strict JSON parsing.

Invariants:
- ``canonical_bytes`` is the only way custody turns an object that is hashed or signed into bytes.
- Parsing is strict: duplicate keys, NaN/Infinity, non-UTF-8 and non-object roots (where an object
  is required) are ``FormatError``s, never silently accepted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any

import rfc8785

from custody.errors import FormatError

# Integers beyond I-JSON's exact range (RFC 7493) cannot round-trip through JCS.
_MAX_SAFE_INTEGER = 2**53 - 1
# The C encoder's settings for JCS, made once: ``json.dumps`` with these keywords builds a new
# encoder per call, a third of the time of a small document. No circular check: what custody
# signs are trees (parsed JSON, its own documents), and a too-deep value is a RecursionError.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False)


def canonical_bytes(value: Any) -> bytes:
    """Serialise ``value`` to RFC 8785 canonical JSON bytes.

    Values without floats whose keys are all ASCII (nearly everything custody signs) are written
    by the standard library's C encoder, which then produces exactly the JCS bytes: same
    separators, same escapes (short forms and lowercase ``\\u00xx`` for control characters, no
    others), UTF-8 output, and code-point key order, which equals JCS's UTF-16 order for ASCII
    keys. Everything else (floats, non-ASCII keys) goes through ``rfc8785``. A property test holds
    the two paths byte-identical.

    Raises:
        FormatError: if the value holds something JSON cannot carry exactly (floats that are
            NaN/Infinity, integers beyond 2**53-1 and floats JCS would write as such integers,
            non-string keys, lone surrogates).
    """
    try:
        if type(value) is str:
            return _string(value)
        if _plain(value):
            return _ENCODER.encode(value).encode()
        _check_float_domain(value)
        return rfc8785.dumps(value)
    except UnicodeEncodeError as exc:
        raise FormatError(f"value cannot be canonicalised as RFC 8785 JSON: it holds {exc.reason}") from exc
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise FormatError(f"value cannot be canonicalised as RFC 8785 JSON: {exc}") from exc


def _string(value: str) -> bytes:
    """A string's RFC 8785 bytes: what ``json.dumps(value, ensure_ascii=False)`` writes, without
    the encoder it sets up per call (a signed entry has a dozen short strings as members)."""
    return encode_basestring(value).encode()


def canonical_members(document: Mapping[str, Any]) -> dict[str, bytes]:
    """The RFC 8785 bytes of each member's value of ``document`` (ASCII keys), for
    ``join_members``: an object canonicalised once can then be merged into a larger one.

    Raises:
        FormatError: a key is not ASCII text, or a value cannot be canonicalised.
    """
    for key in document:
        if not isinstance(key, str) or not key.isascii():
            raise FormatError(f"member keys must be ASCII text to be joined, got {key!r}")
    return {key: canonical_bytes(value) for key, value in document.items()}


def join_members(members: Mapping[str, bytes]) -> bytes:
    """The RFC 8785 bytes of the object whose members are ``members`` (ASCII keys, each value
    already RFC 8785 bytes, as ``canonical_members`` gives them): the bytes ``canonical_bytes``
    gives for that object, without walking its values again. ASCII keys sort the same by code
    point as by JCS's UTF-16 code units. A property test holds the two byte-identical."""
    return b"{" + b",".join(_key(key) + members[key] for key in sorted(members)) + b"}"


@lru_cache(maxsize=4096)  # the member names of custody's own documents, in practice
def _key(key: str) -> bytes:
    """``"key":`` for ``join_members``."""
    if not isinstance(key, str) or not key.isascii():
        raise FormatError(f"member keys must be ASCII text to be joined, got {key!r}")
    return _string(key) + b":"


_PLAIN_CONTAINERS = 100_000
"""``_plain`` walks at most this many objects and arrays: beyond, the value takes the general path,
which also stops on a value that contains itself (a walk of it would never end)."""


def _plain(value: Any) -> bool:
    """Whether ``value`` can take the C-encoder path: no floats, ASCII keys only, at most
    ``_PLAIN_CONTAINERS`` objects and arrays. Raises ``ValueError`` for what no path may write
    (non-string keys, integers beyond 2**53-1).

    Iterative, and strings (most of any document) are never pushed: this walk is on the path of
    every signed entry, so it is kept cheap."""
    stack = [value]
    pop, push = stack.pop, stack.append  # plain loops, no generators: a third faster
    budget = _PLAIN_CONTAINERS
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            budget -= 1
            if not budget:
                return False
            for key, child in item.items():
                if type(key) is not str and not isinstance(key, str):
                    raise ValueError(f"object keys must be strings, got {type(key).__name__}")
                if not key.isascii():
                    return False
                if type(child) is not str:
                    push(child)
        elif kind is list or kind is tuple:
            budget -= 1
            if not budget:
                return False
            for child in item:
                if type(child) is not str:
                    push(child)
        elif kind is int:
            if abs(item) > _MAX_SAFE_INTEGER:
                raise ValueError(f"{item} exceeds safe integer domain for JSON numbers")
        elif kind is float:
            return False
        elif item is None or kind is bool or kind is str:
            continue
        elif not _plain_subclass(item, stack):
            return False
    return True


def _plain_subclass(item: Any, stack: list[Any]) -> bool:
    """``_plain`` for instances of subclasses (StrEnum, IntEnum, OrderedDict...), as rare as they
    are slow to recognise."""
    if isinstance(item, (str, bool)):
        return True
    if isinstance(item, int):
        if abs(item) > _MAX_SAFE_INTEGER:
            raise ValueError(f"{item} exceeds safe integer domain for JSON numbers")
        return True
    if isinstance(item, float):
        return False
    if isinstance(item, dict):
        stack.append(dict(item))
        return True
    if isinstance(item, (list, tuple)):
        stack.append(list(item))
        return True
    raise TypeError(f"unsupported type: {type(item).__name__}")


def _check_float_domain(value: Any) -> None:
    # JCS writes a double with 2**53 <= |x| < 1e21 as bare integer digits (e.g. 1e16 becomes
    # 10000000000000000), which parse_json, like any I-JSON reader, refuses. Refuse it here too, so
    # custody never signs bytes it cannot read back; rfc8785 already refuses such ints.
    if isinstance(value, float):
        if math.isfinite(value) and _MAX_SAFE_INTEGER < abs(value) < 1e21:
            raise ValueError(f"{value!r} would be written as an integer beyond 2**53-1")
    elif isinstance(value, dict):
        for item in value.values():
            _check_float_domain(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_float_domain(item)


def drop_none(document: Mapping[str, Any]) -> dict[str, Any]:
    """The mapping without its None values: optional fields are omitted, never written as null."""
    return {key: value for key, value in document.items() if value is not None}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


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
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
            parse_int=_parse_int,  # checked as the scanner meets them: no second walk of the value
            parse_float=_parse_float,
        )
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
