"""Sidecar provenance files: the ``custody/sidecar/v1`` format, parsed strictly.

A sidecar (``sidecar.json`` by default) sits in a folder of files that tools produced (OCR texts,
translations, classifier outputs...) and says, per file, what it is, what it was made from, by
which tool and with how much human involvement (docs/sidecar-format.md).

Invariants:
- Pure: ``parse_sidecar`` takes bytes and a name and returns a ``Sidecar`` or raises a
  ``FormatError`` whose message starts with ``"<name>: "`` and names the entry
  (``files[3] (ocr/ad-1.txt)``) and the field.
- Strict like transcripts: UTF-8 JSON without duplicate keys; optional fields omitted, never
  ``null``; unknown fields refused except vendor extensions (``x_...``).
- Paths are hostile until proven otherwise: relative, ``/``-separated, no ``.``/``..`` or empty
  components, no backslashes or control characters, each path once. (Symbolic links can only be
  refused against the real folder: the importer does that.)
- An entry's role and its ``derived_from`` agree: a derivative names its parents, an original
  names none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from custody.canonical import parse_json_object
from custody.digests import check_sha256_hex
from custody.errors import FormatError
from custody.fields import (
    check_fields,
    hil_from_dict,
    json_array,
    json_object,
    optional_text,
    text,
    timestamp,
    whole_number,
)
from custody.models import ArtifactRole, HumanInvolvement, Origin, Source, check_slug, parse_enum

SCHEMA = "custody/sidecar/v1"
MAX_SIDECAR_BYTES = 64 * 1024 * 1024
MAX_FILES = 100_000
MAX_PATH = 1024
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
_FILE_FIELDS_REQUIRED = ("path", "sha256", "size", "media_type", "origin", "role", "tool", "hil")
_FILE_FIELDS_OPTIONAL = ("derived_from", "captured_at", "language", "source_language", "source")


@dataclass(frozen=True)
class SidecarParent:
    sha256: str
    note: str | None = None


@dataclass(frozen=True)
class SidecarFile:
    """One file the sidecar describes."""

    path: str
    sha256: str
    size: int
    media_type: str
    origin: Origin
    role: ArtifactRole
    tool_name: str
    tool_version: str
    hil: HumanInvolvement
    parents: tuple[SidecarParent, ...] = ()
    transformation: str | None = None
    captured_at: str | None = None
    language: str | None = None
    source_language: str | None = None
    source: Source = field(default_factory=Source)

    @property
    def parent_digests(self) -> tuple[str, ...]:
        return tuple(parent.sha256 for parent in self.parents)


@dataclass(frozen=True)
class Sidecar:
    description: str | None
    files: tuple[SidecarFile, ...]


def check_relative_path(value: Any, what: str) -> str:
    """A relative ``/``-separated path that cannot leave its folder."""
    path = text(value, what, limit=MAX_PATH)
    if "\\" in path or any(ord(c) < 0x20 or c == "\x7f" for c in path):
        raise FormatError(f"{what} {path!r} holds a backslash or a control character")
    if path.startswith("/"):
        raise FormatError(f"{what} {path!r} is absolute; paths are relative to the sidecar's folder")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise FormatError(f"{what} {path!r} has an empty, '.' or '..' component")
    return str(PurePosixPath(path))


def _language(value: Any, what: str) -> str | None:
    tag = optional_text(value, what, limit=64)
    if tag is not None and not _LANGUAGE.fullmatch(tag):
        raise FormatError(f"{what} {tag!r} is not a BCP 47 language tag (e.g. en, ro, pt-BR)")
    return tag


def _parents(document: Mapping[str, Any]) -> tuple[tuple[SidecarParent, ...], str | None]:
    check_fields(document, "derived_from", ("parents",), ("transformation",))
    items = json_array(document["parents"], "derived_from.parents")
    if not items:
        raise FormatError("derived_from.parents is empty; a derivative names at least one parent")
    parents = []
    for index, value in enumerate(items):
        where = f"derived_from.parents[{index}]"
        item = json_object(value, where)
        check_fields(item, where, ("sha256",), ("note",))
        digest = check_sha256_hex(text(item["sha256"], f"{where}.sha256", limit=64), what=f"{where}.sha256")
        parents.append(SidecarParent(digest, optional_text(item.get("note"), f"{where}.note", limit=4096)))
    if len({p.sha256 for p in parents}) != len(parents):
        raise FormatError("derived_from.parents names the same parent twice")
    transformation = optional_text(document.get("transformation"), "derived_from.transformation")
    return tuple(parents), transformation


def _source(value: Any) -> Source:
    document = json_object(value, "source")
    fields = ("url", "platform", "account", "message_id")
    check_fields(document, "source", (), fields)
    return Source(
        **{name: optional_text(document.get(name), f"source.{name}", limit=4096) for name in fields}
    )


def _file(document: Any) -> SidecarFile:
    document = json_object(document, "entry")
    check_fields(document, "entry", _FILE_FIELDS_REQUIRED, _FILE_FIELDS_OPTIONAL)
    path = check_relative_path(document["path"], "path")
    digest = check_sha256_hex(text(document["sha256"], "sha256", limit=64), what="sha256")
    size = whole_number(document["size"], "size", minimum=0)
    if size > 2**53 - 1:
        raise FormatError(f"size {size} is beyond 2**53-1")
    media_type = text(document["media_type"], "media_type", limit=255)
    if not _MEDIA_TYPE.fullmatch(media_type):
        raise FormatError(f"media_type {media_type!r} does not look like type/subtype")
    origin = parse_enum(Origin, document["origin"], what="origin")
    role = parse_enum(ArtifactRole, document["role"], what="role")
    tool = json_object(document["tool"], "tool")
    check_fields(tool, "tool", ("name", "version"), ())
    tool_name = check_slug(tool["name"], what="tool.name")
    tool_version = text(tool["version"], "tool.version", limit=64)
    parents: tuple[SidecarParent, ...] = ()
    transformation = None
    if "derived_from" in document:
        parents, transformation = _parents(json_object(document["derived_from"], "derived_from"))
    if role is ArtifactRole.DERIVATIVE and not parents:
        raise FormatError("a derivative needs derived_from (its parents and the transformation)")
    if role is ArtifactRole.ORIGINAL and parents:
        raise FormatError("an original has no derived_from; use role 'derivative'")
    if digest in (p.sha256 for p in parents):
        raise FormatError("a file cannot be derived from itself")
    captured_at = timestamp(document["captured_at"], "captured_at")[0] if "captured_at" in document else None
    return SidecarFile(
        path=path,
        sha256=digest,
        size=size,
        media_type=media_type,
        origin=origin,
        role=role,
        tool_name=tool_name,
        tool_version=tool_version,
        hil=hil_from_dict(document["hil"]),
        parents=parents,
        transformation=transformation,
        captured_at=captured_at,
        language=_language(document.get("language"), "language"),
        source_language=_language(document.get("source_language"), "source_language"),
        source=_source(document["source"]) if "source" in document else Source(),
    )


def parse_sidecar(data: bytes, *, name: str) -> Sidecar:
    """Parse a ``custody/sidecar/v1`` document; ``name`` prefixes every error message."""
    if len(data) > MAX_SIDECAR_BYTES:
        raise FormatError(f"{name}: {len(data)} bytes; sidecars are limited to {MAX_SIDECAR_BYTES}")
    try:
        document = parse_json_object(data, what="the sidecar")
        check_fields(document, "the sidecar", ("schema", "files"), ("description",))
        if document["schema"] != SCHEMA:
            raise FormatError(f"schema must be {SCHEMA!r}, got {document['schema']!r}")
        description = optional_text(document.get("description"), "description", limit=4096)
        entries = json_array(document["files"], "files")
    except FormatError as exc:
        raise FormatError(f"{name}: {exc.message}") from exc
    if not entries:
        raise FormatError(f"{name}: files is empty; list the files to import")
    if len(entries) > MAX_FILES:
        raise FormatError(f"{name}: {len(entries)} files; a sidecar lists at most {MAX_FILES}")
    files: list[SidecarFile] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        label = f"files[{index}]"
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            label += f" ({entry['path']})"
        try:
            parsed = _file(entry)
        except FormatError as exc:
            raise FormatError(f"{name}: {label}: {exc.message}") from exc
        if parsed.path in seen:
            raise FormatError(f"{name}: {label}: path is already listed at files[{seen[parsed.path]}]")
        seen[parsed.path] = index
        files.append(parsed)
    return Sidecar(description, tuple(files))
