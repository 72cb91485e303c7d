"""Transcript analysis for the admissibility questionnaire (ENT-1, ENT-2, HUM-1, HUM-3).

ASSISTED: this is machine analysis and a human must confirm it. It answers, for one decoy
conversation: who first mentioned payment, sex or age (term lists, several languages), which decoy
turns the bot initiated, when it re-engaged after silence or after a refusal, where an operator
took over from the model, and how the messages split by speaker, authorship, origin and HIL.

Invariants:
- Pure: term lists are loaded from bytes (``load_term_list``), the analysis takes a parsed
  ``Transcript`` and returns an ``Analysis``; no files, clock or randomness.
- Deterministic and reproducible: the result depends only on the transcript, the term-list bytes
  (their SHA-256 digests are in ``method``) and the silence threshold. ``Analysis.to_dict`` is
  RFC 8785-serialisable (no floats) and carries ``label`` = ``LABEL``.
- Matching (docs/transcript-format.md, "Term lists"): text and terms are compared after case
  folding, Unicode compatibility decomposition with all combining marks removed (so accents,
  Romanian comma/cedilla letters, Arabic harakat and Russian yo/ie do not matter), tatweel removed,
  curly apostrophes straightened and every decimal digit read as ASCII. A term matches on word
  boundaries; ``*`` at its end matches any word continuing it (prefix stemming), ``#`` stands for
  a number, and ``=`` at its start matches only a whole message (punctuation aside). Reported
  matches quote the original text.
- Messages are analysed in seq order (the platform's order). A message the platform reports as
  deleted still counts (and says so); text from platform-reported edits is reported separately and
  never replaces the text first captured.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from custody.digests import check_sha256_hex, sha256_hex
from custody.errors import FormatError
from custody.models import HIL, parse_enum
from custody.strict_yaml import load_strict_yaml_bytes
from custody.transcript import (
    AUTOMATED_AUTHORSHIPS,
    Authorship,
    DeletionEvent,
    EditEvent,
    Finding,
    Message,
    MessageOrigin,
    Speaker,
    Transcript,
)

LABEL = "ASSISTED: machine analysis; a human must confirm"
METHOD_VERSION = "custody/transcript-analysis/v1"
TERMS_SCHEMA = "custody/terms/v1"
REFUSAL_TOPIC = "refusal"
DEFAULT_SILENCE = timedelta(hours=24)
MAX_TERM_FILE_BYTES = 1 << 20
MAX_TERM_LENGTH = 200

_TOPIC = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_TERM_FILE_KEYS = {"schema", "topic", "title", "description", "languages"}


# --- text normalisation -------------------------------------------------------------------------

_CHAR_FOLD = {
    "\u2019": "'",  # right single quotation mark, as typed by phones for an apostrophe
    "\u2018": "'",
    "\u02bc": "'",
    "\u0640": "",  # Arabic tatweel (kashida): stretches a word, never changes it
}


@functools.lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    folded = []
    for part in unicodedata.normalize("NFKD", char.casefold()):
        if unicodedata.category(part) == "Mn":
            continue
        digit = unicodedata.decimal(part, None)
        folded.append(str(digit) if digit is not None else _CHAR_FOLD.get(part, part))
    return "".join(folded)


class _Folded(NamedTuple):
    original: str
    text: str
    origin: tuple[int, ...]
    """``origin[i]``: the index in ``original`` of the character folded into ``text[i]``."""

    def quote(self, start: int, end: int) -> str:
        return self.original[self.origin[start] : self.origin[end - 1] + 1]


def _fold(text: str) -> _Folded:
    pieces: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = _fold_char(char)
        pieces.append(folded)
        origin.extend([index] * len(folded))
    return _Folded(text, "".join(pieces), tuple(origin))


def normalise_for_matching(text: str) -> str:
    """The form text and terms are compared in (see the module docstring)."""
    return _fold(text).text


# --- term lists ---------------------------------------------------------------------------------


_LITERAL, _NUMBER, _WHOLE = "literal", "number", "whole"


def _compile_term(term: str) -> tuple[str, str, str]:
    """``(pattern, group, alternative)``: the term's own regular expression (over folded text),
    which combined expression it joins, and its alternative in that expression.

    Combined expressions keep a literal first character in front of every alternative (the word
    boundary check moves behind it), so that Python's regex engine skips ahead to positions where
    one of the terms can start instead of trying every alternative at every position.
    """
    whole = term.startswith("=")
    body = term[1:] if whole else term
    prefix = body.endswith("*")
    if prefix:
        body = body[:-1]
    if "*" in body:
        raise FormatError(f"'*' is only allowed at the end of a term (prefix match), in {term!r}")
    pieces: list[str] = []
    literal = ""
    for index, part in enumerate(body.split("#")):
        if index:
            pieces.append("[0-9]+")  # folding turns every decimal digit into ASCII
        folded = normalise_for_matching(part)
        literal += folded
        pieces.extend(
            r"\W+" if token.isspace() else re.escape(token) for token in re.split(r"(\s+)", folded) if token
        )
    if not literal.strip():
        raise FormatError(f"term {term!r} has no text to match")
    core = "".join(pieces)
    if whole:
        alternative = core + (r"\w*" if prefix else "")
        return rf"\A\W*{alternative}\W*\Z", _WHOLE, alternative
    folded_body = normalise_for_matching(body).strip()
    ends_word = body.rstrip().endswith("#") or bool(re.search(r"\w\Z", folded_body))
    tail = r"\w*" if prefix else (r"(?!\w)" if ends_word else "")
    if body.lstrip().startswith("#"):
        rest = core.removeprefix("[0-9]+") + tail
        return rf"(?<!\w)[0-9]+{rest}", _NUMBER, rest
    if re.match(r"\w", folded_body):
        # core starts with the first letter itself (re.escape leaves word characters alone).
        return rf"(?<!\w){core}{tail}", _LITERAL, rf"{core[0]}(?<!\w\w){core[1:]}{tail}"
    return core + tail, _LITERAL, core + tail


_COMBINED = {
    _LITERAL: "{}",
    _NUMBER: r"[0-9](?<!\w[0-9])[0-9]*(?:{})",
    _WHOLE: r"\A\W*(?:{})\W*\Z",
}


@dataclass(frozen=True)
class Term:
    """One entry of a term list, as written (see ``load_term_list`` for the syntax)."""

    text: str
    language: str
    pattern: str = field(init=False)
    """The regular expression the term compiles to, over folded text."""
    group: str = field(init=False, repr=False, compare=False)
    alternative: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip() or len(self.text) > MAX_TERM_LENGTH:
            raise FormatError(f"a term must be 1-{MAX_TERM_LENGTH} characters of text, got {self.text!r}")
        if not isinstance(self.language, str) or not _LANGUAGE.fullmatch(self.language):
            raise FormatError(f"{self.language!r} is not a language code (e.g. en, ro, ru, ar, es)")
        pattern, group, alternative = _compile_term(self.text.strip())
        object.__setattr__(self, "pattern", pattern)
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "alternative", alternative)


@dataclass(frozen=True)
class TermMatch:
    term: str
    language: str
    matched: str
    """The matching part of the original text."""
    start: int


@dataclass(frozen=True)
class TermList:
    """A topic's terms in several languages, loaded from a YAML file (``load_term_list``)."""

    topic: str
    name: str
    sha256: str
    """SHA-256 (hex) of the file's bytes: which list the analysis used."""
    terms: tuple[Term, ...]
    title: str | None = None
    _finders: tuple[tuple[re.Pattern[str], tuple[tuple[re.Pattern[str], int], ...]], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not isinstance(self.topic, str) or not _TOPIC.fullmatch(self.topic):
            raise FormatError(f"topic {self.topic!r} must be lowercase letters, digits or '_' (max 32)")
        check_sha256_hex(self.sha256, what="term list digest")
        object.__setattr__(self, "terms", tuple(self.terms))
        if not self.terms:
            raise FormatError(f"{self.name}: a term list needs at least one term")
        # Longest first, so that at one position "how much" wins over "how"; then file order.
        ordered = sorted(range(len(self.terms)), key=lambda i: -len(self.terms[i].text))
        finders = []
        for group, template in _COMBINED.items():
            members = [i for i in ordered if self.terms[i].group == group]
            if members:
                combined = re.compile(template.format("|".join(self.terms[i].alternative for i in members)))
                finders.append((combined, tuple((re.compile(self.terms[i].pattern), i) for i in members)))
        object.__setattr__(self, "_finders", tuple(finders))

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(term.language for term in self.terms))

    def search(self, text: str) -> TermMatch | None:
        """The first (leftmost) term occurring in ``text``, or None; at one position the longest
        term (then the first in the file) wins."""
        return self._search(_fold(text))

    def _search(self, folded: _Folded) -> TermMatch | None:
        best: tuple[int, int, int, int] | None = None  # start, -length, file position, end
        for combined, members in self._finders:
            found = combined.search(folded.text)
            if found is None:
                continue
            start = found.start()
            for pattern, index in members:  # the alternative the combined expression took
                own = pattern.match(folded.text, start)
                if own is not None and own.end() > start:
                    candidate = (start, -len(self.terms[index].text), index, own.end())
                    best = candidate if best is None or candidate < best else best
                    break
        if best is None:
            return None
        start, _, index, end = best
        term = self.terms[index]
        return TermMatch(term.text, term.language, folded.quote(start, end), folded.origin[start])


def load_term_list(data: bytes, *, name: str) -> TermList:
    """Parse a term list (YAML, schema ``custody/terms/v1``) from its bytes.

    Raises:
        FormatError: naming ``name`` and the bad entry (for example an unquoted ``no``, which YAML
            reads as false).
    """
    document = load_strict_yaml_bytes(data, what=name, limit=MAX_TERM_FILE_BYTES, kind="term lists")
    if not isinstance(document, dict):
        raise FormatError(f"{name} must be a mapping (schema, topic, languages)")
    unknown = sorted(set(document) - _TERM_FILE_KEYS)
    if unknown:
        raise FormatError(f"{name}: unknown field(s) {', '.join(unknown)}")
    if document.get("schema") != TERMS_SCHEMA:
        raise FormatError(f"{name}: schema must be {TERMS_SCHEMA!r}, got {document.get('schema')!r}")
    topic = document.get("topic")
    if not isinstance(topic, str) or not _TOPIC.fullmatch(topic):
        raise FormatError(f"{name}: topic must be lowercase letters, digits or '_', got {topic!r}")
    title = document.get("title")
    if title is not None and not isinstance(title, str):
        raise FormatError(f"{name}: title must be text, got {title!r}")
    languages = document.get("languages")
    if not isinstance(languages, dict) or not languages:
        raise FormatError(f"{name}: 'languages' must map language codes (en, ro, ...) to lists of terms")
    terms: list[Term] = []
    for language, entries in languages.items():
        if not _LANGUAGE.fullmatch(language):
            raise FormatError(f"{name}: {language!r} is not a language code (e.g. en, ro, ru, ar, es)")
        if not isinstance(entries, list) or not entries:
            raise FormatError(f"{name}: languages.{language} must be a non-empty list of terms")
        seen: dict[str, str] = {}
        for index, entry in enumerate(entries):
            where = f"{name}: languages.{language}[{index}]"
            if not isinstance(entry, str):
                raise FormatError(
                    f"{where} is {entry!r} ({type(entry).__name__}), not text; quote it in YAML "
                    "(no, yes, on, off and numbers need quotes)"
                )
            if not entry.strip() or len(entry) > MAX_TERM_LENGTH:
                raise FormatError(f"{where} must be 1-{MAX_TERM_LENGTH} characters, got {entry!r}")
            try:
                term = Term(entry.strip(), language)
            except FormatError as exc:
                raise FormatError(f"{where}: {exc.message}") from exc
            if term.pattern in seen:
                raise FormatError(
                    f"{where}: {entry!r} is the same term as {seen[term.pattern]!r} once case and accents "
                    "are ignored"
                )
            seen[term.pattern] = entry
            terms.append(term)
    return TermList(topic=topic, name=name, sha256=sha256_hex(data), terms=tuple(terms), title=title)


# --- the analysis value objects -----------------------------------------------------------------


def _int(value: Any, what: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FormatError(f"{what} must be a whole number >= {minimum}, got {value!r}")
    return value


def _optional_int(value: Any, what: str, *, minimum: int = 0) -> int | None:
    return None if value is None else _int(value, what, minimum=minimum)


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise FormatError(f"{what} must be non-empty text, got {value!r}")
    return value


def _get(document: Any, key: str, what: str) -> Any:
    if not isinstance(document, Mapping):
        raise FormatError(f"{what} must be an object, got {type(document).__name__}")
    if key not in document:
        raise FormatError(f"{what} is missing {key!r}")
    return document[key]


def _counts(value: Any, keys: Sequence[str], what: str) -> dict[str, int]:
    if not isinstance(value, Mapping) or set(value) != set(keys):
        raise FormatError(f"{what} must count exactly {', '.join(keys)}, got {value!r}")
    return {key: _int(value[key], f"{what}.{key}") for key in keys}


@dataclass(frozen=True)
class TermListRef:
    topic: str
    name: str
    sha256: str

    def __post_init__(self) -> None:
        _str(self.topic, "term list topic")
        _str(self.name, "term list name")
        check_sha256_hex(self.sha256, what="term list digest")

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "name": self.name, "digest": {"sha256": self.sha256}}

    @classmethod
    def from_dict(cls, document: Any) -> TermListRef:
        what = "term list"
        return cls(
            _get(document, "topic", what),
            _get(document, "name", what),
            _get(_get(document, "digest", what), "sha256", "term list digest"),
        )


@dataclass(frozen=True)
class Mention:
    """A message (or a platform-reported edit of one) where a topic's term occurs."""

    topic: str
    seq: int
    line: int
    speaker: Speaker
    authorship: Authorship
    term: str
    language: str
    matched: str
    deleted: bool = False
    """The platform reports the message as deleted (its captured text is still analysed)."""
    in_edit: bool = False
    """The term is in the text of a platform-reported edit (``line`` is the edit's line)."""

    def __post_init__(self) -> None:
        _str(self.topic, "mention topic")
        _int(self.seq, "mention seq", minimum=1)
        _int(self.line, "mention line", minimum=1)
        object.__setattr__(self, "speaker", parse_enum(Speaker, self.speaker, what="mention speaker"))
        object.__setattr__(
            self, "authorship", parse_enum(Authorship, self.authorship, what="mention authorship")
        )
        for name in ("term", "language", "matched"):
            _str(getattr(self, name), f"mention {name}")
        for name in ("deleted", "in_edit"):
            if not isinstance(getattr(self, name), bool):
                raise FormatError(f"mention {name} must be true or false")

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "seq": self.seq,
            "line": self.line,
            "speaker": self.speaker.value,
            "authorship": self.authorship.value,
            "term": self.term,
            "language": self.language,
            "matched": self.matched,
            "deleted": self.deleted,
            "in_edit": self.in_edit,
        }

    @classmethod
    def from_dict(cls, document: Any) -> Mention:
        keys = (
            "topic",
            "seq",
            "line",
            "speaker",
            "authorship",
            "term",
            "language",
            "matched",
            "deleted",
            "in_edit",
        )
        return cls(*(_get(document, key, "mention") for key in keys))


class ReEngagementKind(StrEnum):
    SILENCE = "silence"
    """The message before was the decoy's own, more than the silence threshold earlier."""
    REFUSAL = "refusal"
    """The counterpart's latest message matched the refusal list."""


@dataclass(frozen=True)
class ReEngagement:
    """A decoy message sent after silence (``kind`` "silence": the message before it was the
    decoy's own, more than the threshold earlier) or after a refusal (``kind`` "refusal": the
    counterpart's latest message matched the refusal list)."""

    kind: ReEngagementKind
    seq: int
    line: int
    after_seq: int
    """Silence: the decoy's previous message. Refusal: the counterpart's refusal."""
    gap_seconds: int
    term: str | None = None
    language: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", parse_enum(ReEngagementKind, self.kind, what="re-engagement kind"))
        _int(self.seq, "re-engagement seq", minimum=1)
        _int(self.line, "re-engagement line", minimum=1)
        _int(self.after_seq, "re-engagement after_seq", minimum=1)
        if isinstance(self.gap_seconds, bool) or not isinstance(self.gap_seconds, int):
            raise FormatError(f"gap_seconds must be a whole number, got {self.gap_seconds!r}")
        refusal = self.kind is ReEngagementKind.REFUSAL
        if refusal != (self.term is not None and self.language is not None):
            raise FormatError(
                "a refusal re-engagement names the refusal term and language; a silence one does not"
            )

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "kind": self.kind.value,
            "seq": self.seq,
            "line": self.line,
            "after_seq": self.after_seq,
            "gap_seconds": self.gap_seconds,
        }
        if self.kind is ReEngagementKind.REFUSAL:
            document.update(term=self.term, language=self.language)
        return document

    @classmethod
    def from_dict(cls, document: Any) -> ReEngagement:
        what = "re-engagement"
        kind = _get(document, "kind", what)
        refusal = kind == ReEngagementKind.REFUSAL.value
        return cls(
            kind,
            _get(document, "seq", what),
            _get(document, "line", what),
            _get(document, "after_seq", what),
            _get(document, "gap_seconds", what),
            _get(document, "term", what) if refusal else None,
            _get(document, "language", what) if refusal else None,
        )


@dataclass(frozen=True)
class OperatorTakeover:
    """A run of operator-written decoy messages after the model had been drafting."""

    start_seq: int
    end_seq: int
    messages: int
    returned_to_model_seq: int | None
    """The next model-drafted decoy message, or None if the operator kept the conversation."""

    def __post_init__(self) -> None:
        _int(self.start_seq, "takeover start_seq", minimum=1)
        _int(self.end_seq, "takeover end_seq", minimum=self.start_seq)
        _int(self.messages, "takeover messages", minimum=1)
        _optional_int(self.returned_to_model_seq, "takeover returned_to_model_seq", minimum=self.end_seq + 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_seq": self.start_seq,
            "end_seq": self.end_seq,
            "messages": self.messages,
            "returned_to_model_seq": self.returned_to_model_seq,
        }

    @classmethod
    def from_dict(cls, document: Any) -> OperatorTakeover:
        keys = ("start_seq", "end_seq", "messages", "returned_to_model_seq")
        return cls(*(_get(document, key, "operator takeover") for key in keys))


_SPEAKERS = tuple(s.value for s in Speaker)
_AUTHORSHIPS = tuple(a.value for a in Authorship)
_ORIGINS = tuple(o.value for o in MessageOrigin)
NO_HIL = "none"
_HIL_KEYS = (*(h.value for h in HIL), NO_HIL)


@dataclass(frozen=True)
class Counts:
    """Message counts. ``by_hil`` counts decoy messages only; ``none`` = no hil recorded."""

    messages: int
    by_speaker: Mapping[str, int]
    by_authorship: Mapping[str, int]
    by_origin: Mapping[str, int]
    by_hil: Mapping[str, int]
    deleted: int
    edited: int

    def __post_init__(self) -> None:
        _int(self.messages, "messages")
        for name, keys in (
            ("by_speaker", _SPEAKERS),
            ("by_authorship", _AUTHORSHIPS),
            ("by_origin", _ORIGINS),
            ("by_hil", _HIL_KEYS),
        ):
            counts = _counts(getattr(self, name), keys, name)
            object.__setattr__(self, name, counts)
            if name != "by_hil" and sum(counts.values()) != self.messages:
                raise FormatError(f"{name} adds up to {sum(counts.values())}, not {self.messages} messages")
        if sum(self.by_hil.values()) != self.by_speaker[Speaker.DECOY.value]:
            raise FormatError("by_hil must count every decoy message once")
        _int(self.deleted, "deleted")
        _int(self.edited, "edited")

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "by_speaker": dict(self.by_speaker),
            "by_authorship": dict(self.by_authorship),
            "by_origin": dict(self.by_origin),
            "by_hil": dict(self.by_hil),
            "deleted": self.deleted,
            "edited": self.edited,
        }

    @classmethod
    def from_dict(cls, document: Any) -> Counts:
        keys = ("messages", "by_speaker", "by_authorship", "by_origin", "by_hil", "deleted", "edited")
        return cls(*(_get(document, key, "counts") for key in keys))


@dataclass(frozen=True)
class Analysis:
    """The signed analysis record of one transcript (``to_dict`` is what is signed)."""

    conversation_id: str
    transcript_sha256: str
    silence_threshold_seconds: int
    term_lists: tuple[TermListRef, ...]
    first_mentions: Mapping[str, Mention | None]
    mention_counts: Mapping[str, Mapping[str, int]]
    mentions_in_edits: tuple[Mention, ...]
    refusals: tuple[Mention, ...]
    bot_initiated_turns: tuple[int, ...]
    reengagements: tuple[ReEngagement, ...]
    operator_takeovers: tuple[OperatorTakeover, ...]
    counts: Counts
    most_automated_hil: HIL | None
    findings: tuple[Finding, ...]

    def __post_init__(self) -> None:
        _str(self.conversation_id, "conversation_id")
        check_sha256_hex(self.transcript_sha256, what="transcript digest")
        _int(self.silence_threshold_seconds, "silence_threshold_seconds", minimum=1)
        for name in (
            "term_lists",
            "mentions_in_edits",
            "refusals",
            "bot_initiated_turns",
            "reengagements",
            "operator_takeovers",
            "findings",
        ):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "first_mentions", dict(self.first_mentions))
        if set(self.mention_counts) != set(self.first_mentions):
            raise FormatError("mention_counts and first_mentions must cover the same topics")
        object.__setattr__(
            self,
            "mention_counts",
            {t: _counts(c, _SPEAKERS, f"mention_counts.{t}") for t, c in self.mention_counts.items()},
        )
        for turn in self.bot_initiated_turns:
            _int(turn, "bot-initiated turn seq", minimum=1)
        if self.most_automated_hil is not None:
            object.__setattr__(
                self,
                "most_automated_hil",
                parse_enum(HIL, self.most_automated_hil, what="most_automated_hil"),
            )

    @property
    def label(self) -> str:
        return LABEL

    def first_raised_by(self, topic: str) -> Speaker | None:
        """Who first mentioned ``topic`` (None: nobody did)."""
        mention = self.first_mentions[topic]
        return None if mention is None else mention.speaker

    @property
    def reengagements_after_silence(self) -> tuple[ReEngagement, ...]:
        return tuple(r for r in self.reengagements if r.kind is ReEngagementKind.SILENCE)

    @property
    def reengagements_after_refusal(self) -> tuple[ReEngagement, ...]:
        return tuple(r for r in self.reengagements if r.kind is ReEngagementKind.REFUSAL)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": LABEL,
            "method": {
                "version": METHOD_VERSION,
                "silence_threshold_seconds": self.silence_threshold_seconds,
                "term_lists": [ref.to_dict() for ref in self.term_lists],
            },
            "transcript": {
                "conversation_id": self.conversation_id,
                "digest": {"sha256": self.transcript_sha256},
            },
            "first_mentions": {t: (m.to_dict() if m else None) for t, m in self.first_mentions.items()},
            "mention_counts": {t: dict(c) for t, c in self.mention_counts.items()},
            "mentions_in_edits": [m.to_dict() for m in self.mentions_in_edits],
            "refusals": [m.to_dict() for m in self.refusals],
            "bot_initiated_turns": list(self.bot_initiated_turns),
            "reengagements": [r.to_dict() for r in self.reengagements],
            "operator_takeovers": [t.to_dict() for t in self.operator_takeovers],
            "counts": self.counts.to_dict(),
            "most_automated_hil": self.most_automated_hil.value if self.most_automated_hil else None,
            "transcript_findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Analysis:
        what = "analysis"
        if _get(document, "label", what) != LABEL:
            raise FormatError(f"analysis label must be {LABEL!r}, got {document['label']!r}")
        method = _get(document, "method", what)
        if _get(method, "version", "method") != METHOD_VERSION:
            raise FormatError(
                f"analysis method version must be {METHOD_VERSION!r}, got {method['version']!r}"
            )
        transcript = _get(document, "transcript", what)
        first = _get(document, "first_mentions", what)
        if not isinstance(first, Mapping):
            raise FormatError("first_mentions must be an object")
        return cls(
            conversation_id=_get(transcript, "conversation_id", "transcript"),
            transcript_sha256=_get(_get(transcript, "digest", "transcript"), "sha256", "transcript digest"),
            silence_threshold_seconds=_get(method, "silence_threshold_seconds", "method"),
            term_lists=tuple(TermListRef.from_dict(r) for r in _list(method, "term_lists")),
            first_mentions={t: (None if m is None else Mention.from_dict(m)) for t, m in first.items()},
            mention_counts=_get(document, "mention_counts", what),
            mentions_in_edits=tuple(Mention.from_dict(m) for m in _list(document, "mentions_in_edits")),
            refusals=tuple(Mention.from_dict(m) for m in _list(document, "refusals")),
            bot_initiated_turns=tuple(_list(document, "bot_initiated_turns")),
            reengagements=tuple(ReEngagement.from_dict(r) for r in _list(document, "reengagements")),
            operator_takeovers=tuple(
                OperatorTakeover.from_dict(t) for t in _list(document, "operator_takeovers")
            ),
            counts=Counts.from_dict(_get(document, "counts", what)),
            most_automated_hil=_get(document, "most_automated_hil", what),
            findings=tuple(Finding.from_dict(f) for f in _list(document, "transcript_findings")),
        )


def _list(document: Any, key: str) -> list[Any]:
    value = _get(document, key, "analysis")
    if not isinstance(value, list):
        raise FormatError(f"{key} must be an array, got {type(value).__name__}")
    return value


# --- the analysis -------------------------------------------------------------------------------


def _mention(topic: str, message: Message, found: TermMatch, *, deleted: bool) -> Mention:
    return Mention(
        topic=topic,
        seq=message.seq,
        line=message.line_number,
        speaker=message.speaker,
        authorship=message.authorship,
        term=found.term,
        language=found.language,
        matched=found.matched,
        deleted=deleted,
    )


def _takeovers(ordered: Sequence[Message]) -> list[OperatorTakeover]:
    takeovers: list[OperatorTakeover] = []
    model_seen = False
    run: list[Message] = []
    for message in ordered:
        if message.speaker is not Speaker.DECOY:
            continue
        if message.authorship is Authorship.OPERATOR:
            if model_seen:
                run.append(message)
            continue
        if message.authorship in AUTOMATED_AUTHORSHIPS:
            if run:
                takeovers.append(OperatorTakeover(run[0].seq, run[-1].seq, len(run), message.seq))
                run = []
            model_seen = True
    if run:
        takeovers.append(OperatorTakeover(run[0].seq, run[-1].seq, len(run), None))
    return takeovers


def analyse(
    transcript: Transcript,
    term_lists: Sequence[TermList],
    *,
    silence_threshold: timedelta = DEFAULT_SILENCE,
) -> Analysis:
    """Analyse one transcript (ASSISTED: a human must confirm the result).

    Args:
        transcript: the parsed transcript.
        term_lists: one list per topic; every topic except ``refusal`` gets first-mention
            analysis, the ``refusal`` list (optional) finds refusals for re-engagement.
        silence_threshold: a decoy message sent more than this long after the decoy's own previous
            message, with no counterpart message between, is a re-engagement after silence.

    Raises:
        ValueError: two lists for one topic, or a threshold that is not a positive whole number
            of seconds.
    """
    seconds = silence_threshold.total_seconds()
    if seconds <= 0 or seconds != int(seconds):
        raise ValueError(
            f"the silence threshold must be a positive whole number of seconds, got {silence_threshold}"
        )
    by_topic: dict[str, TermList] = {}
    for terms in term_lists:
        if terms.topic in by_topic:
            raise ValueError(
                f"two term lists for topic {terms.topic!r}: {by_topic[terms.topic].name}, {terms.name}"
            )
        by_topic[terms.topic] = terms
    refusal_list = by_topic.pop(REFUSAL_TOPIC, None)
    topics = sorted(by_topic)

    ordered = sorted(transcript.messages, key=lambda m: m.seq)
    deleted = {e.target_seq for e in transcript.events if isinstance(e, DeletionEvent)}
    edited = {e.target_seq for e in transcript.events if isinstance(e, EditEvent)}

    first: dict[str, Mention | None] = dict.fromkeys(topics)
    mention_counts = {topic: dict.fromkeys(_SPEAKERS, 0) for topic in topics}
    refusals: list[Mention] = []
    turns: list[int] = []
    reengagements: list[ReEngagement] = []
    previous: Message | None = None
    last_refusal: tuple[Mention, Message] | None = None
    for message in ordered:
        folded = _fold(message.text)
        for topic in topics:
            found = by_topic[topic]._search(folded)
            if found is not None:
                mention_counts[topic][message.speaker.value] += 1
                if first[topic] is None:
                    first[topic] = _mention(topic, message, found, deleted=message.seq in deleted)
        if message.speaker is Speaker.COUNTERPART:
            last_refusal = None
            if refusal_list is not None and (found := refusal_list._search(folded)) is not None:
                refusal = _mention(REFUSAL_TOPIC, message, found, deleted=message.seq in deleted)
                refusals.append(refusal)
                last_refusal = (refusal, message)
        else:
            if previous is None or previous.speaker is Speaker.DECOY:
                turns.append(message.seq)
            if previous is not None and previous.speaker is Speaker.DECOY:
                gap = message.moment - previous.moment
                if gap > silence_threshold:
                    reengagements.append(
                        ReEngagement(
                            ReEngagementKind.SILENCE,
                            message.seq,
                            message.line_number,
                            previous.seq,
                            int(gap.total_seconds()),
                        )
                    )
            if last_refusal is not None:
                refusal, refused = last_refusal
                gap = message.moment - refused.moment
                reengagements.append(
                    ReEngagement(
                        ReEngagementKind.REFUSAL,
                        message.seq,
                        message.line_number,
                        refused.seq,
                        int(gap.total_seconds()),
                        refusal.term,
                        refusal.language,
                    )
                )
        previous = message

    speakers = {m.seq: m for m in ordered}
    in_edits: list[Mention] = []
    for event in transcript.events:
        if not isinstance(event, EditEvent):
            continue
        target = speakers[event.target_seq]
        folded = _fold(event.new_text)
        for topic in topics:
            found = by_topic[topic]._search(folded)
            if found is not None:
                mention = _mention(topic, target, found, deleted=target.seq in deleted)
                in_edits.append(replace(mention, line=event.line_number, in_edit=True))

    decoys = [m for m in ordered if m.speaker is Speaker.DECOY]
    by_hil = dict.fromkeys(_HIL_KEYS, 0)
    for message in decoys:
        by_hil[message.hil.level.value if message.hil else NO_HIL] += 1
    levels = [m.hil.level for m in decoys if m.hil is not None]
    counts = Counts(
        messages=len(ordered),
        by_speaker={s: sum(1 for m in ordered if m.speaker.value == s) for s in _SPEAKERS},
        by_authorship={a: sum(1 for m in ordered if m.authorship.value == a) for a in _AUTHORSHIPS},
        by_origin={o: sum(1 for m in ordered if m.origin.value == o) for o in _ORIGINS},
        by_hil=by_hil,
        deleted=len(deleted),
        edited=len(edited),
    )
    refs = sorted(term_lists, key=lambda t: t.topic)
    return Analysis(
        conversation_id=transcript.header.conversation_id,
        transcript_sha256=transcript.sha256,
        silence_threshold_seconds=int(seconds),
        term_lists=tuple(TermListRef(t.topic, t.name, t.sha256) for t in refs),
        first_mentions=first,
        mention_counts=mention_counts,
        mentions_in_edits=tuple(in_edits),
        refusals=tuple(refusals),
        bot_initiated_turns=tuple(turns),
        reengagements=tuple(reengagements),
        operator_takeovers=tuple(_takeovers(ordered)),
        counts=counts,
        most_automated_hil=max(levels, key=lambda level: level.rank) if levels else None,
        findings=transcript.findings,
    )
