"""Signed value objects: the vocabulary of custody records and the provenance of an artifact.

Invariants: an object that exists is valid. Constructors check every field and raise
``FormatError`` naming the bad value; ``to_dict`` gives exactly what is signed and ``from_dict``
accepts exactly that back. Nothing here touches files, the database or the clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from custody.canonical import canonical_members, drop_none, join_members
from custody.digests import check_sha256_hex, sha256_hex
from custody.errors import FormatError
from custody.timeutil import normalise_rfc3339

E = TypeVar("E", bound=StrEnum)


class HIL(StrEnum):
    """Human-involvement level, from fully manual (0) to autonomous (5)."""

    HIL0_MANUAL = "HIL0_MANUAL"
    HIL1_ASSISTED = "HIL1_ASSISTED"
    HIL2_APPROVED = "HIL2_APPROVED"
    HIL3_SUPERVISED = "HIL3_SUPERVISED"
    HIL4_POST_REVIEW = "HIL4_POST_REVIEW"
    HIL5_AUTONOMOUS = "HIL5_AUTONOMOUS"

    @property
    def rank(self) -> int:
        """0 (most human) to 5 (most automated)."""
        return int(self.value[3])


class HILFunction(StrEnum):
    ACQUIRE = "acquire"
    ANALYSE = "analyse"
    DECIDE = "decide"
    ACT = "act"


class Origin(StrEnum):
    CAPTURED = "captured"
    GENERATED = "generated"
    MIXED = "mixed"


class ArtifactRole(StrEnum):
    ORIGINAL = "original"
    DERIVATIVE = "derivative"


class OperatorType(StrEnum):
    STATE = "state"
    STATE_TASKED = "state_tasked"
    PRIVATE = "private"


class ActorRole(StrEnum):
    INVESTIGATOR = "investigator"
    ANALYST = "analyst"
    CUSTODIAN = "custodian"
    PROSECUTOR = "prosecutor"
    TOOL = "tool"


class ToolKind(StrEnum):
    DECOY_CHATBOT = "decoy_chatbot"
    SCRAPER = "scraper"
    CRAWLER = "crawler"
    OCR = "ocr"
    TRANSLATOR = "translator"
    CLASSIFIER = "classifier"
    TRANSCRIBER = "transcriber"
    MANUAL_CAPTURE = "manual_capture"
    OTHER = "other"


def parse_enum(enum: type[E], value: Any, *, what: str) -> E:
    """Convert ``value`` to a member of ``enum`` or raise a FormatError listing the choices."""
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(m.value for m in enum)
        raise FormatError(f"{what} must be one of {choices}; got {value!r}") from None


_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_slug(value: Any, *, what: str) -> str:
    """Case ids, actor and tool names: 1-64 letters, digits, '.', '_' or '-', not starting
    with punctuation (they appear in file names and checkpoint origin lines)."""
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise FormatError(
            f"{what} {value!r} is not valid: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def _optional_text(value: Any, *, what: str, limit: int = 4096) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FormatError(f"{what} must be text, got {type(value).__name__}")
    if len(value) > limit:
        raise FormatError(f"{what} is {len(value)} characters long (max {limit})")
    return value or None


@dataclass(frozen=True)
class Source:
    """Where captured content came from."""

    url: str | None = None
    platform: str | None = None
    account: str | None = None
    message_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("url", "platform", "account", "message_id"):
            _optional_text(getattr(self, name), what=f"source {name}")

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "url": self.url,
                "platform": self.platform,
                "account": self.account,
                "message_id": self.message_id,
            }
        )

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Source:
        return cls(**{k: document.get(k) for k in ("url", "platform", "account", "message_id")})

    def __bool__(self) -> bool:
        return bool(self.to_dict())


@dataclass(frozen=True)
class HumanInvolvement:
    """The HIL level of one artifact or message, the function it applies to, and who the humans
    were (names of actors)."""

    level: HIL
    function: HILFunction
    approved_by: str | None = None
    supervised_by: str | None = None
    reviewed_by: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", parse_enum(HIL, self.level, what="HIL level"))
        object.__setattr__(self, "function", parse_enum(HILFunction, self.function, what="HIL function"))
        for name in ("approved_by", "supervised_by", "reviewed_by"):
            _optional_text(getattr(self, name), what=name, limit=256)
        needed = {
            HIL.HIL2_APPROVED: ("approved_by", "approver"),
            HIL.HIL3_SUPERVISED: ("supervised_by", "supervisor"),
            HIL.HIL4_POST_REVIEW: ("reviewed_by", "reviewer"),
        }.get(self.level)
        if needed and not getattr(self, needed[0]):
            raise FormatError(
                f"HIL level {self.level.value} names a human: give the {needed[1]} "
                f"({needed[0].replace('_', ' ')})"
            )

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "level": self.level.value,
                "function": self.function.value,
                "approved_by": self.approved_by,
                "supervised_by": self.supervised_by,
                "reviewed_by": self.reviewed_by,
            }
        )

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> HumanInvolvement:
        return cls(
            level=document.get("level"),  # type: ignore[arg-type]  # validated in __post_init__
            function=document.get("function"),  # type: ignore[arg-type]
            approved_by=document.get("approved_by"),
            supervised_by=document.get("supervised_by"),
            reviewed_by=document.get("reviewed_by"),
        )


@dataclass(frozen=True)
class ToolRef:
    """The tool (exact version and card) that produced or captured an artifact."""

    name: str
    version: str
    card_digest: str

    def __post_init__(self) -> None:
        check_slug(self.name, what="tool name")
        if not isinstance(self.version, str) or not self.version:
            raise FormatError(f"tool version must be non-empty text, got {self.version!r}")
        check_sha256_hex(self.card_digest, what="tool card digest")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "card_digest": self.card_digest}

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> ToolRef:
        return cls(document.get("name"), document.get("version"), document.get("card_digest"))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Provenance:
    """Everything recorded about one artifact: the body of an ``artifact.recorded`` event.

    The artifact's recording time is the ledger time of that event, not a field here, so the same
    bytes recorded twice with the same provenance give the same ``provenance_digest``.
    """

    digest: str
    size: int
    media_type: str
    name: str | None
    origin: Origin
    role: ArtifactRole
    hil: HumanInvolvement
    tool: ToolRef
    operator: str
    derived_from: tuple[str, ...] = ()
    transformation: str | None = None
    source: Source = field(default_factory=Source)
    captured_at: str | None = None
    run: str | None = None
    note: str | None = None
    details: Mapping[str, Any] | None = None
    """Source-specific signed facts (a transcript's commitment root and findings, a WARC record's
    URI and headers...); canonical JSON, validated by the importer that writes it."""
    _members: Mapping[str, bytes] = field(init=False, repr=False, compare=False, default_factory=dict)
    _canonical: bytes = field(init=False, repr=False, compare=False, default=b"")

    def __post_init__(self) -> None:
        check_sha256_hex(self.digest, what="artifact digest")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 0 <= self.size <= 2**53 - 1:
            raise FormatError(f"artifact size must be an integer from 0 to 2**53-1, got {self.size!r}")
        if not isinstance(self.media_type, str) or "/" not in self.media_type:
            raise FormatError(f"media type must look like type/subtype, got {self.media_type!r}")
        _optional_text(self.name, what="artifact name", limit=1024)
        object.__setattr__(self, "origin", parse_enum(Origin, self.origin, what="origin"))
        object.__setattr__(self, "role", parse_enum(ArtifactRole, self.role, what="role"))
        object.__setattr__(self, "derived_from", tuple(self.derived_from))
        for parent in self.derived_from:
            check_sha256_hex(parent, what="derived-from digest")
        if self.digest in self.derived_from:
            raise FormatError(f"artifact {self.digest[:16]}... cannot be derived from itself")
        if self.role is ArtifactRole.DERIVATIVE and not self.derived_from:
            raise FormatError("a derivative must name what it was derived from (--derived-from)")
        if self.role is ArtifactRole.ORIGINAL and self.derived_from:
            raise FormatError("an original cannot have --derived-from; use --role derivative")
        if self.transformation is not None and not self.derived_from:
            raise FormatError("a transformation only applies to a derivative (--derived-from)")
        _optional_text(self.transformation, what="transformation", limit=256)
        check_slug(self.operator, what="operator")
        if self.captured_at is not None:
            object.__setattr__(self, "captured_at", normalise_rfc3339(self.captured_at, what="captured-at"))
        _optional_text(self.run, what="run id", limit=64)
        _optional_text(self.note, what="note")
        if self.details is not None and not isinstance(self.details, Mapping):
            raise FormatError(f"artifact details must be an object, got {type(self.details).__name__}")
        # Canonicalised once, now, member by member: a value JSON cannot carry fails here, not
        # when signing; provenance_digest (asked for every record of a bulk import) and the signed
        # statement (which merges these members with the event's) cost no second pass.
        object.__setattr__(self, "_members", canonical_members(self.to_dict()))
        object.__setattr__(self, "_canonical", join_members(self._members))

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "artifact": {
                "digest": {"sha256": self.digest},
                "size": self.size,
                "media_type": self.media_type,
                "name": self.name,
            },
            "origin": self.origin.value,
            "role": self.role.value,
            "hil": self.hil.to_dict(),
            "tool": self.tool.to_dict(),
            "operator": self.operator,
        }
        if self.derived_from:
            document["derived_from"] = {
                "parents": [{"sha256": p} for p in self.derived_from],
                "transformation": self.transformation,
            }
            document["derived_from"] = drop_none(document["derived_from"])
        optional = {
            "source": self.source.to_dict() or None,
            "captured_at": self.captured_at,
            "run": self.run,
            "note": self.note,
            "details": dict(self.details) if self.details is not None else None,
        }
        document.update(drop_none(optional))
        return document

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Provenance:
        try:
            artifact = document["artifact"]
            derived = document.get("derived_from") or {}
            return cls(
                digest=artifact["digest"]["sha256"],
                size=artifact["size"],
                media_type=artifact["media_type"],
                name=artifact.get("name"),
                origin=document["origin"],
                role=document["role"],
                hil=HumanInvolvement.from_dict(document["hil"]),
                tool=ToolRef.from_dict(document["tool"]),
                operator=document["operator"],
                derived_from=tuple(p["sha256"] for p in derived.get("parents", [])),
                transformation=derived.get("transformation"),
                source=Source.from_dict(document.get("source") or {}),
                captured_at=document.get("captured_at"),
                run=document.get("run"),
                note=document.get("note"),
                details=document.get("details"),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise FormatError(f"artifact provenance is missing or has a malformed field: {exc}") from exc

    @property
    def canonical_members(self) -> Mapping[str, bytes]:
        """The RFC 8785 bytes of each member of ``to_dict()`` (``canonical.canonical_members``)."""
        return self._members

    @property
    def provenance_digest(self) -> str:
        """SHA-256 of the canonical provenance: equal for the same bytes and the same claims."""
        return sha256_hex(self._canonical)
