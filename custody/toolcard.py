"""Tool cards: what a tool (and, for AI tools, its model) is, as registered evidence.

A tool card is a YAML or JSON file written by whoever operates the tool. ``parse_tool_card`` turns
its bytes into a validated ``ToolCard``; files the card names (system prompt, persona script) are
resolved and stored by the adapter, which then fills in their digests with ``with_file_digests``.

Invariants: a ``ToolCard`` has a slug name, a version, a known kind; its configuration digest is
the SHA-256 of the RFC 8785 bytes of the ``configuration`` mapping; ``to_dict`` is what goes into a
signed ``tool.registered`` event. The card's own bytes are stored unchanged as an artifact.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from custody.canonical import canonical_bytes, parse_json_object
from custody.digests import check_sha256_hex, sha256_hex
from custody.errors import FormatError
from custody.models import HIL, ToolKind, check_slug, parse_enum
from custody.strict_yaml import load_strict_yaml

MAX_CARD_BYTES = 1 << 20
MODEL_FILE_FIELDS = ("system_prompt", "persona_script")


def _plain(value: Any, where: str) -> Any:
    """Turn YAML values into JSON ones (dates become RFC 3339 text); reject anything else."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise FormatError(f"tool card: key {key!r} at {where} must be text")
            result[key] = _plain(item, f"{where}.{key}")
        return result
    if isinstance(value, list):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if value is None or isinstance(value, (str, int, float, bool)):
        if isinstance(value, float) and not math.isfinite(value):
            raise FormatError(f"tool card: {where} is not a finite number")
        return value
    raise FormatError(f"tool card: unsupported value at {where}: {type(value).__name__}")


def _text(document: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = document.get(key)
    if value is None:
        if required:
            raise FormatError(f"tool card: '{where}{key}' is required")
        return None
    if isinstance(value, float):
        # YAML reads "version: 2.10" as the float 2.1: refuse rather than sign a changed value.
        raise FormatError(f"tool card: '{where}{key}' is the number {value!r}; quote it as text ('...')")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise FormatError(f"tool card: '{where}{key}' must be non-empty text, got {value!r}")
    return value.strip()


@dataclass(frozen=True)
class ModelCard:
    """The model behind an AI tool."""

    provider: str
    model_id: str
    snapshot: str
    replayable: bool
    parameters: Mapping[str, Any] = field(default_factory=dict)
    weights_digest: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)  # field -> path as written in card
    file_digests: Mapping[str, str] = field(default_factory=dict)  # field -> sha256

    @classmethod
    def from_dict(cls, document: Any) -> ModelCard:
        if not isinstance(document, dict):
            raise FormatError("tool card: 'model' must be a mapping")
        replayable = document.get("replayable")
        if not isinstance(replayable, bool):
            raise FormatError(f"tool card: 'model.replayable' must be true or false, got {replayable!r}")
        parameters = document.get("parameters", {}) or {}
        if not isinstance(parameters, dict):
            raise FormatError("tool card: 'model.parameters' must be a mapping")
        weights = _text(document, "weights_digest", "model.")
        if weights is not None:
            weights = check_sha256_hex(weights.removeprefix("sha256:"), what="model.weights_digest")
        files = {}
        for name in MODEL_FILE_FIELDS:
            path = _text(document, name, "model.")
            if path is not None:
                files[name] = path
        return cls(
            provider=_text(document, "provider", "model.", required=True) or "",
            model_id=_text(document, "model_id", "model.", required=True) or "",
            snapshot=_text(document, "snapshot", "model.", required=True) or "",
            replayable=replayable,
            parameters=parameters,
            weights_digest=weights,
            files=files,
        )

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "provider": self.provider,
            "model_id": self.model_id,
            "snapshot": self.snapshot,
            "replayable": self.replayable,
            "parameters": dict(self.parameters),
        }
        if self.weights_digest:
            document["weights_digest"] = {"sha256": self.weights_digest}
        for name, path in self.files.items():
            entry: dict[str, Any] = {"path": path}
            if name in self.file_digests:
                entry["digest"] = {"sha256": self.file_digests[name]}
            document[name] = entry
        return document


@dataclass(frozen=True)
class ToolCard:
    name: str
    version: str
    kind: ToolKind
    build_hash: str | None
    configuration: Mapping[str, Any]
    vendor: str | None
    sop: str | None
    validation: tuple[Mapping[str, Any], ...]
    known_issues: tuple[Mapping[str, Any], ...]
    default_hil: HIL | None
    model: ModelCard | None
    description: str | None = None

    @property
    def config_digest(self) -> str:
        return sha256_hex(canonical_bytes(dict(self.configuration)))

    @property
    def referenced_files(self) -> dict[str, str]:
        """Files named by the card (field -> path as written, relative to the card)."""
        return dict(self.model.files) if self.model else {}

    def with_file_digests(self, digests: Mapping[str, str]) -> ToolCard:
        """A copy with the digests of the referenced files filled in."""
        if self.model is None:
            return self
        unknown = set(digests) - set(self.model.files)
        if unknown:
            raise FormatError(f"tool card has no file field(s) {sorted(unknown)}")
        for value in digests.values():
            check_sha256_hex(value, what="referenced file digest")
        return replace(self, model=replace(self.model, file_digests=dict(digests)))

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "kind": self.kind.value,
            "configuration": dict(self.configuration),
            "config_digest": {"sha256": self.config_digest},
            "validation": [dict(v) for v in self.validation],
            "known_issues": [dict(k) for k in self.known_issues],
        }
        optional = {
            "build_hash": self.build_hash,
            "vendor": self.vendor,
            "sop": self.sop,
            "description": self.description,
            "default_hil": self.default_hil.value if self.default_hil else None,
            "model": self.model.to_dict() if self.model else None,
        }
        document.update({k: v for k, v in optional.items() if v is not None})
        return document


def _records(document: Mapping[str, Any], key: str) -> tuple[Mapping[str, Any], ...]:
    value = document.get(key, []) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise FormatError(f"tool card: '{key}' must be a list of mappings")
    return tuple(value)


def parse_tool_card(data: bytes, *, what: str = "tool card") -> ToolCard:
    """Parse and validate a tool card (YAML or JSON).

    Raises:
        FormatError: naming ``what`` and the offending field.
    """
    if len(data) > MAX_CARD_BYTES:
        raise FormatError(f"{what} is {len(data)} bytes; tool cards are limited to {MAX_CARD_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{what} is not UTF-8 text: {exc}") from exc
    if text.lstrip().startswith("{"):
        raw: Any = parse_json_object(text, what=what)
    else:
        raw = load_strict_yaml(text, what=what)
    if not isinstance(raw, dict):
        raise FormatError(f"{what} must be a mapping of fields (name, version, kind, ...)")
    try:
        document = _plain(raw, "card")
        configuration = document.get("configuration", {}) or {}
        if not isinstance(configuration, dict):
            raise FormatError("tool card: 'configuration' must be a mapping")
        canonical_bytes(configuration)  # fail now, not at signing time
        build = document.get("build") or {}
        if not isinstance(build, dict):
            raise FormatError("tool card: 'build' must be a mapping (hash, commit, ...)")
        build_hash = _text(build, "hash", "build.") or _text(build, "commit", "build.")
        default_hil = document.get("default_hil")
        return ToolCard(
            name=check_slug(_text(document, "name", "", required=True), what="tool card: name"),
            version=_text(document, "version", "", required=True) or "",
            kind=parse_enum(ToolKind, document.get("kind"), what="tool card: kind"),
            build_hash=build_hash,
            configuration=configuration,
            vendor=_text(document, "vendor", ""),
            sop=_text(document, "sop", ""),
            validation=_records(document, "validation"),
            known_issues=_records(document, "known_issues"),
            default_hil=parse_enum(HIL, default_hil, what="tool card: default_hil")
            if default_hil is not None
            else None,
            model=ModelCard.from_dict(document["model"]) if document.get("model") else None,
            description=_text(document, "description", ""),
        )
    except FormatError as exc:
        if exc.message.startswith(what):
            raise
        raise FormatError(f"{what}: {exc.message.removeprefix('tool card: ')}") from exc
    except RecursionError as exc:
        raise FormatError(f"{what} is nested too deeply") from exc
