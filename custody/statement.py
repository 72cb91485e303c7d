"""in-toto Statement v1 (https://in-toto.io/Statement/v1).

Invariant: a ``Statement`` has a non-empty subject list of (name, SHA-256 digest set), a
predicate type URI and an object predicate; ``to_bytes`` is RFC 8785 canonical JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from custody.canonical import canonical_bytes, join_members, parse_json_object
from custody.digests import check_sha256_hex
from custody.errors import FormatError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


@dataclass(frozen=True)
class Subject:
    name: str
    sha256: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise FormatError(f"subject name must be a string, got {self.name!r}")
        check_sha256_hex(self.sha256, what=f"subject {self.name!r} digest")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "digest": {"sha256": self.sha256}}

    @classmethod
    def from_dict(cls, document: Any) -> Subject:
        if not isinstance(document, dict):
            raise FormatError("statement subject must be an object")
        digest = document.get("digest")
        if not isinstance(digest, dict) or "sha256" not in digest:
            raise FormatError(f"subject {document.get('name')!r} has no sha256 digest")
        return cls(document.get("name", ""), digest["sha256"])


@dataclass(frozen=True)
class Statement:
    subjects: tuple[Subject, ...]
    predicate_type: str
    predicate: Mapping[str, Any] = field(default_factory=dict)
    predicate_members: Mapping[str, bytes] | None = field(default=None, compare=False, repr=False)
    """The predicate's members already canonicalised (``canonical.canonical_members``), when the
    caller has them: ``to_bytes`` then joins them instead of canonicalising the predicate again.
    They must be the members of ``predicate``."""

    def __post_init__(self) -> None:
        if not self.subjects:
            raise FormatError("an in-toto statement needs at least one subject")
        if not isinstance(self.predicate_type, str) or not self.predicate_type:
            raise FormatError("statement predicateType must be a non-empty string")
        if not isinstance(self.predicate, Mapping):
            raise FormatError("statement predicate must be an object")

    def to_dict(self) -> dict[str, Any]:
        return {
            "_type": STATEMENT_TYPE,
            "subject": [s.to_dict() for s in self.subjects],
            "predicateType": self.predicate_type,
            "predicate": dict(self.predicate),
        }

    def to_bytes(self) -> bytes:
        if self.predicate_members is None:
            return canonical_bytes(self.to_dict())
        return join_members(
            {
                "_type": canonical_bytes(STATEMENT_TYPE),
                "subject": canonical_bytes([s.to_dict() for s in self.subjects]),
                "predicateType": canonical_bytes(self.predicate_type),
                "predicate": join_members(self.predicate_members),
            }
        )

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Statement:
        if document.get("_type") != STATEMENT_TYPE:
            raise FormatError(f"statement _type must be {STATEMENT_TYPE!r}, got {document.get('_type')!r}")
        subjects = document.get("subject")
        if not isinstance(subjects, list):
            raise FormatError("statement subject must be a list")
        predicate = document.get("predicate", {})
        if not isinstance(predicate, dict):
            raise FormatError("statement predicate must be an object")
        return cls(
            tuple(Subject.from_dict(s) for s in subjects),
            document.get("predicateType", ""),
            predicate,
        )

    @classmethod
    def from_bytes(cls, data: bytes, *, what: str = "statement") -> Statement:
        return cls.from_dict(parse_json_object(data, what=what))
