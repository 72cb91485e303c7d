"""Field checks for the strict JSON input formats (transcripts, sidecars).

Shared rules: required fields present, unknown fields refused except vendor extensions whose names
start with ``x_``, optional fields omitted rather than ``null``, values of the right JSON type.
Every message names the field; the parser calling these adds the file and line or entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from custody.errors import FormatError
from custody.models import HIL, HILFunction, HumanInvolvement, parse_enum
from custody.timeutil import format_rfc3339, parse_rfc3339

ID_LIMIT = 256
EXTENSION_PREFIX = "x_"


def check_fields(
    document: Mapping[str, Any], record: str, required: Iterable[str], optional: Iterable[str]
) -> None:
    required, optional = tuple(required), tuple(optional)
    known = set(required) | set(optional)
    missing = [key for key in required if key not in document]
    if missing:
        raise FormatError(f"{record} is missing required field(s) {', '.join(repr(k) for k in missing)}")
    unknown = sorted(k for k in document if k not in known and not k.startswith(EXTENSION_PREFIX))
    if unknown:
        raise FormatError(
            f"{record} has unknown field(s) {', '.join(repr(k) for k in unknown)}; "
            f"vendor extensions must start with {EXTENSION_PREFIX!r}"
        )
    nulls = sorted(k for k in set(optional) if k in document and document[k] is None)
    if nulls:
        raise FormatError(
            f"in {record}, {', '.join(repr(k) for k in nulls)} {'is' if len(nulls) == 1 else 'are'} null; "
            "omit optional fields instead of writing null"
        )


def type_name(value: Any) -> str:
    return {
        type(None): "null",
        bool: "boolean",
        int: "number",
        float: "number",
        str: "text",
        list: "array",
        dict: "object",
    }.get(type(value), type(value).__name__)


def describe(value: Any) -> str:
    return "null" if value is None else f"{type_name(value)} {value!r}"


def text(value: Any, what: str, *, limit: int | None = ID_LIMIT, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise FormatError(f"{what} must be text, got {describe(value)}")
    if not allow_empty and not value.strip():
        raise FormatError(f"{what} must not be empty")
    if limit is not None and len(value) > limit:
        raise FormatError(f"{what} is {len(value)} characters long (max {limit})")
    return value


def optional_text(value: Any, what: str, *, limit: int | None = ID_LIMIT) -> str | None:
    return None if value is None else text(value, what, limit=limit)


def whole_number(value: Any, what: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FormatError(f"{what} must be a whole number, got {describe(value)}")
    if value < minimum:
        raise FormatError(f"{what} must be {minimum} or more, got {value}")
    return value


def json_object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise FormatError(f"{what} must be an object, got {type_name(value)}")
    return value


def json_array(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise FormatError(f"{what} must be an array, got {type_name(value)}")
    return value


def timestamp(value: Any, what: str) -> tuple[str, datetime]:
    """An RFC 3339 time, normalised (UTC, ``Z``), and the moment it names."""
    moment = parse_rfc3339(text(value, what, limit=64), what=what)
    return format_rfc3339(moment), moment


def hil_from_dict(document: Any, *, default_function: HILFunction | None = None) -> HumanInvolvement:
    """A ``hil`` object: ``level``, ``function`` (required unless a default is given) and the human
    the level names (``approved_by``, ``supervised_by``, ``reviewed_by``)."""
    document = json_object(document, "hil")
    names = ("approved_by", "supervised_by", "reviewed_by")
    required = ("level",) if default_function else ("level", "function")
    optional = ("function", *names) if default_function else names
    check_fields(document, "hil", required, optional)
    for name in ("level", "function", *names):
        if name in document:
            text(document[name], f"hil.{name}")
    level = parse_enum(HIL, document["level"], what="hil.level")
    function_value = document.get("function", default_function.value if default_function else None)
    function = parse_enum(HILFunction, function_value, what="hil.function")
    try:
        return HumanInvolvement(
            level=level,
            function=function,
            approved_by=document.get("approved_by"),
            supervised_by=document.get("supervised_by"),
            reviewed_by=document.get("reviewed_by"),
        )
    except FormatError as exc:
        raise FormatError(f"hil: {exc.message}") from exc
