"""Transcript analysis: term lists load strictly and match across languages; the five sample
conversations give exactly the answers in sample_cases/op-lantern/conversations/README.md."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.analysis import (
    LABEL,
    METHOD_VERSION,
    Analysis,
    Mention,
    OperatorTakeover,
    ReEngagement,
    ReEngagementKind,
    TermList,
    analyse,
    load_term_list,
    normalise_for_matching,
)
from custody.canonical import canonical_bytes
from custody.errors import FormatError
from custody.models import HIL
from custody.timeutil import format_rfc3339, parse_rfc3339
from custody.transcript import Authorship, Speaker, Transcript, parse_transcript

REPO = Path(__file__).resolve().parents[2]
TERMS = REPO / "templates" / "terms"
CONVERSATIONS = REPO / "sample_cases" / "op-lantern" / "conversations"
TOPICS = ("payment", "sex", "age", "refusal")


def term_file(topic: str) -> bytes:
    return (TERMS / f"{topic}.yaml").read_bytes()


LISTS = {topic: load_term_list(term_file(topic), name=f"{topic}.yaml") for topic in TOPICS}
ALL_LISTS = list(LISTS.values())


def conversation(name: str) -> Transcript:
    return parse_transcript((CONVERSATIONS / f"{name}.jsonl").read_bytes(), name=f"{name}.jsonl")


def run(name: str) -> Analysis:
    return analyse(conversation(name), ALL_LISTS)


def terms(text: str, topic: str = "terms") -> TermList:
    return load_term_list(
        f"schema: custody/terms/v1\ntopic: {topic}\nlanguages:\n{text}".encode(), name="t.yaml"
    )


def first(analysis: Analysis, topic: str) -> tuple[str, int, int, str, str] | None:
    mention = analysis.first_mentions[topic]
    if mention is None:
        return None
    return (mention.speaker.value, mention.seq, mention.line, mention.term, mention.language)


def hil_counts(**levels: int) -> dict[str, int]:
    counts = dict.fromkeys([*(h.value for h in HIL), "none"], 0)
    counts.update(levels)
    return counts


# --- term lists ---------------------------------------------------------------------------------


def test_shipped_term_lists_cover_five_languages() -> None:
    for topic, term_list in LISTS.items():
        assert term_list.topic == topic
        assert {"en", "ro", "ru", "ar", "es"} <= set(term_list.languages)
        assert term_list.sha256 == hashlib.sha256(term_file(topic)).hexdigest()


@pytest.mark.parametrize(
    ("topic", "text", "term", "language", "matched"),
    [
        ("payment", "How MUCH for the evening?", "how much", "en", "How MUCH"),
        ("payment", "Cât costă?", "cât costă", "ro", "Cât costă"),
        ("payment", "cat costa o ora", "cât costă", "ro", "cat costa"),
        ("payment", "Cât COSTĂ? (cedilla-free keyboard)", "cât costă", "ro", "Cât COSTĂ"),
        ("payment", "Ce pret ai?", "ce preț", "ro", "Ce pret"),
        ("payment", "ce preţ?", "ce preț", "ro", "ce preţ"),  # cedilla t
        ("payment", "СКОЛЬКО СТОИТ?", "сколько стоит", "ru", "СКОЛЬКО СТОИТ"),
        ("payment", "сколько берешь", "сколько берёшь", "ru", "сколько берешь"),
        ("payment", "كم السعر؟", "كم السعر", "ar", "كم السعر"),
        ("payment", "السّعر", "السعر", "ar", "السّعر"),  # with shadda
        ("payment", "ﺍﻟﺴﻌﺮ", "السعر", "ar", "ﺍﻟﺴﻌﺮ"),  # presentation forms
        ("payment", "¿Cuánto cobras?", "cuánto cobras", "es", "Cuánto cobras"),
        ("payment", "ok $150?", "$#", "en", "$150"),
        ("payment", "prices please", "price*", "en", "prices"),
        ("age", "I am 17yo", "#yo", "en", "17yo"),
        ("age", "عمري ١٧ سنة", "عمري", "ar", "عمري"),
        ("age", "١٧ سنة", "# سنة", "ar", "١٧ سنة"),
        ("age", "Are you 18?", "are you 18", "en", "Are you 18"),
        ("age", "сколько тебе лет?", "сколько тебе лет", "ru", "сколько тебе лет"),
        ("sex", "something more intimate?", "intimate", "en", "intimate"),
        ("sex", "servicios?", "servicios", "es", "servicios"),
        ("refusal", "No.", "=no", "en", "No."),
        ("refusal", "don\u2019t contact me again", "don't contact me", "en", "don\u2019t contact me"),
        ("refusal", "Nu, mersi", "nu mersi", "ro", "Nu, mersi"),
        ("refusal", "нет", "=нет", "ru", "нет"),
    ],
)
def test_matching_is_case_and_accent_insensitive_across_languages(
    topic: str, text: str, term: str, language: str, matched: str
) -> None:
    found = LISTS[topic].search(text)
    assert found is not None
    assert (found.term, found.language, found.matched) == (term, language, matched)
    assert text[found.start : found.start + len(found.matched)] == found.matched


@pytest.mark.parametrize(
    ("topic", "text"),
    [
        ("payment", "I rated the film"),  # word boundary: "rate" is not in "rated"
        ("payment", "compared"),
        ("payment", "a costume party"),
        ("age", "a message"),  # "age" inside a word
        ("age", "I am 2000"),
        ("refusal", "no problem, see you"),  # "=no" is the whole message only
        ("refusal", "No. Why would you think that?"),
        ("sex", "extraordinary"),
    ],
)
def test_matching_respects_word_boundaries_and_whole_message_terms(topic: str, text: str) -> None:
    assert LISTS[topic].search(text) is None


def test_normalisation() -> None:
    assert normalise_for_matching("Ţară ŞI ȚARĂ și") == "tara si tara si"
    assert normalise_for_matching("Ёлка") == "елка"
    assert normalise_for_matching("١٨ ۱۸") == "18 18"
    assert normalise_for_matching("مـــرحبا") == "مرحبا"
    assert normalise_for_matching("Straße") == "strasse"


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("  en: [no, stop]\n", r"languages\.en\[0\] is False \(bool\), not text; quote it"),
        ("  en: [18]\n", r"languages\.en\[0\] is 18 \(int\)"),
        ("  en: [a]\n  en: [b]\n", "duplicate key 'en'"),
        ("  en: &x [a]\n  ro: *x\n", "aliases"),
        ("  english: [a]\n", "'english' is not a language code"),
        ("  en: []\n", "must be a non-empty list"),
        ("  en: [pr*ice]\n", r"'\*' is only allowed at the end"),
        ("  en: ['#']\n", "has no text to match"),
        ("  ro: [cât costă, cat costa]\n", "'cat costa' is the same term as 'cât costă'"),
        ("  en: ['']\n", "must be 1-200 characters"),
    ],
)
def test_bad_term_lists(yaml_text: str, message: str) -> None:
    with pytest.raises(FormatError, match=rf"^t\.yaml.*{message}"):
        terms(yaml_text)


def test_bad_term_list_documents() -> None:
    with pytest.raises(FormatError, match="schema must be 'custody/terms/v1'"):
        load_term_list(b"topic: x\nlanguages: {en: [a]}\n", name="t.yaml")
    with pytest.raises(FormatError, match="unknown field"):
        load_term_list(
            b"schema: custody/terms/v1\ntopic: x\nterms: []\nlanguages: {en: [a]}\n", name="t.yaml"
        )
    with pytest.raises(FormatError, match="topic must be lowercase"):
        load_term_list(b"schema: custody/terms/v1\ntopic: Pay Ment\nlanguages: {en: [a]}\n", name="t.yaml")
    with pytest.raises(FormatError, match="not UTF-8"):
        load_term_list(b"\xff\xfe", name="t.yaml")
    with pytest.raises(FormatError, match="not valid YAML"):
        load_term_list(b"languages: [unclosed", name="t.yaml")
    with pytest.raises(FormatError, match="limited to"):
        load_term_list(b"#" * (2 << 20), name="t.yaml")


def _reference_search(term_list: TermList, text: str) -> tuple[str, int] | None:
    """One regular expression per term, tried everywhere: slow and obviously right."""
    folded = normalise_for_matching(text)
    best: tuple[int, int, int, str] | None = None
    for order, term in enumerate(term_list.terms):
        for start in range(len(folded) + 1):
            found = re.compile(term.pattern).match(folded, start)
            if found is not None and found.end() > start:
                candidate = (start, -len(term.text), order, term.text)
                best = candidate if best is None or candidate < best else best
                break
    return None if best is None else (best[3], best[0])


_fragments = st.sampled_from(
    [t.text.lstrip("=").rstrip("*").replace("#", "17") for tl in LISTS.values() for t in tl.terms]
    + ["hello", "no", "ok", "x", "18", "17yo", "a", "", ".", ",", "!", "-", "'"]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_fragments, st.sampled_from(["", " ", "  ", ", ", "x", "1"])), max_size=6))
def test_combined_search_agrees_with_one_regex_per_term(parts: list[tuple[str, str]]) -> None:
    text = "".join(fragment + separator for fragment, separator in parts)
    for term_list in LISTS.values():
        found = term_list.search(text)
        expected = _reference_search(term_list, text)
        folded_start = len(normalise_for_matching(text[: found.start])) if found else None
        assert (None if found is None else (found.term, folded_start)) == expected


def test_longest_term_wins_at_the_same_position() -> None:
    term_list = terms("  en: [how, how much]\n")
    found = term_list.search("how much is it")
    assert found is not None
    assert found.term == "how much"


# --- the five sample conversations (README.md) --------------------------------------------------


def test_conv_0001_counterpart_raises_payment_first() -> None:
    analysis = run("conv-0001")
    assert first(analysis, "payment") == ("counterpart", 3, 4, "how much", "en")
    assert first(analysis, "age") == ("counterpart", 5, 6, "how old", "en")
    assert first(analysis, "sex") == ("counterpart", 7, 8, "intimate", "en")
    assert analysis.mention_counts["payment"] == {"decoy": 0, "counterpart": 2}
    assert analysis.bot_initiated_turns == ()
    assert analysis.reengagements == ()
    assert analysis.operator_takeovers == ()
    assert analysis.counts.messages == 10
    assert analysis.counts.by_speaker == {"decoy": 5, "counterpart": 5}
    assert analysis.counts.by_authorship == {
        "model": 4,
        "template": 0,
        "operator": 0,
        "model_edited_by_operator": 1,
        "counterpart": 5,
    }
    assert analysis.counts.by_hil == hil_counts(HIL2_APPROVED=5)
    assert analysis.most_automated_hil is HIL.HIL2_APPROVED
    assert analysis.findings == ()


def test_conv_0002_bot_raises_payment_first_and_re_engages_after_refusal() -> None:
    analysis = run("conv-0002")
    assert first(analysis, "payment") == ("decoy", 4, 5, "rate", "en")
    assert analysis.first_raised_by("payment") is Speaker.DECOY
    payment = analysis.first_mentions["payment"]
    assert payment is not None
    assert payment.authorship is Authorship.MODEL
    assert payment.matched == "rate"
    assert first(analysis, "age") is None
    assert first(analysis, "sex") is None
    assert analysis.mention_counts["payment"] == {"decoy": 1, "counterpart": 1}
    assert [(r.seq, r.term) for r in analysis.refusals] == [(5, "no thanks")]
    assert analysis.reengagements == (ReEngagement(ReEngagementKind.REFUSAL, 6, 7, 5, 75, "no thanks", "en"),)
    assert analysis.reengagements_after_silence == ()
    assert analysis.bot_initiated_turns == ()
    assert analysis.operator_takeovers == ()
    assert analysis.counts.by_speaker == {"decoy": 3, "counterpart": 3}
    assert analysis.counts.by_hil == hil_counts(HIL2_APPROVED=3)
    assert analysis.most_automated_hil is HIL.HIL2_APPROVED


def test_conv_0003_operator_takeover_and_back_to_the_model() -> None:
    analysis = run("conv-0003")
    assert analysis.operator_takeovers == (OperatorTakeover(6, 8, 2, 10),)
    assert first(analysis, "payment") == ("counterpart", 11, 12, "how much", "en")
    assert first(analysis, "age") is None
    assert first(analysis, "sex") is None
    assert analysis.counts.messages == 12
    assert analysis.counts.by_authorship == {
        "model": 4,
        "template": 0,
        "operator": 2,
        "model_edited_by_operator": 0,
        "counterpart": 6,
    }
    assert analysis.counts.by_origin == {
        "captured": 6,
        "generated": 4,
        "human_authored": 2,
        "generated_human_edited": 0,
    }
    assert analysis.counts.by_hil == hil_counts(HIL2_APPROVED=4, HIL0_MANUAL=2)
    assert analysis.most_automated_hil is HIL.HIL2_APPROVED
    assert analysis.bot_initiated_turns == ()
    assert analysis.reengagements == ()


def test_conv_0004_led_nowhere_one_follow_up_after_silence() -> None:
    analysis = run("conv-0004")
    assert all(mention is None for mention in analysis.first_mentions.values())
    assert analysis.bot_initiated_turns == (5,)
    assert analysis.reengagements == (ReEngagement(ReEngagementKind.SILENCE, 5, 6, 4, 128330),)
    assert analysis.reengagements_after_refusal == ()
    assert analysis.operator_takeovers == ()
    assert analysis.counts.by_speaker == {"decoy": 3, "counterpart": 2}
    assert analysis.counts.by_hil == hil_counts(HIL2_APPROVED=3)
    assert analysis.most_automated_hil is HIL.HIL2_APPROVED


def test_conv_0005_deletion_and_gap() -> None:
    analysis = run("conv-0005")
    assert first(analysis, "age") == ("counterpart", 8, 7, "how old", "en")
    assert first(analysis, "payment") == ("counterpart", 10, 9, "rate", "en")
    payment = analysis.first_mentions["payment"]
    assert payment is not None
    assert payment.deleted
    assert first(analysis, "sex") is None
    assert [(f.kind.value, f.line) for f in analysis.findings] == [("seq_gap", 5), ("deleted", 11)]
    assert analysis.findings[0].message == "messages 4-5 missing: seq jumps from 3 to 6"
    assert analysis.counts.messages == 9
    assert analysis.counts.by_speaker == {"decoy": 4, "counterpart": 5}
    assert analysis.counts.deleted == 1
    assert analysis.counts.edited == 0
    assert analysis.bot_initiated_turns == ()
    assert analysis.reengagements == ()
    assert analysis.operator_takeovers == ()
    assert analysis.most_automated_hil is HIL.HIL2_APPROVED


@pytest.mark.parametrize("name", [f"conv-000{i}" for i in range(1, 6)])
def test_analysis_record_is_canonical_labelled_and_round_trips(name: str) -> None:
    analysis = run(name)
    document = analysis.to_dict()
    data = canonical_bytes(document)
    assert json.loads(data) == document
    assert document["label"] == LABEL == "ASSISTED: machine analysis; a human must confirm"
    assert document["method"]["version"] == METHOD_VERSION
    assert document["method"]["silence_threshold_seconds"] == 86400
    assert document["method"]["term_lists"] == [
        {"topic": t, "name": f"{t}.yaml", "digest": {"sha256": hashlib.sha256(term_file(t)).hexdigest()}}
        for t in sorted(TOPICS)
    ]
    transcript = conversation(name)
    assert document["transcript"] == {
        "conversation_id": name,
        "digest": {"sha256": transcript.sha256},
    }
    assert Analysis.from_dict(json.loads(data)) == analysis
    assert canonical_bytes(run(name).to_dict()) == data  # deterministic


def test_from_dict_rejects_a_relabelled_record() -> None:
    document = run("conv-0001").to_dict()
    document["label"] = "AUTO"
    with pytest.raises(FormatError, match="label must be"):
        Analysis.from_dict(document)
    document = run("conv-0001").to_dict()
    document["counts"]["by_speaker"]["decoy"] = 99
    with pytest.raises(FormatError, match="by_speaker adds up to"):
        Analysis.from_dict(document)


# --- the definitions, on small transcripts ------------------------------------------------------

HEADER = {
    "type": "conversation",
    "schema": "custody/transcript/v1",
    "conversation_id": "a-1",
    "platform": "p",
    "counterpart": {"account": "u"},
    "persona": {"id": "ava-v3", "version": "3"},
    "tool": {"name": "lantern-decoy", "version": "2.3.1"},
}


def transcript(
    *messages: tuple[str, str, str] | dict[str, Any], start: str = "2026-06-01T10:00:00Z"
) -> Transcript:
    """messages: (who, text, time offset like '+5m' / '+2d') with who in C, M (model), O (operator),
    T (template), S (model, HIL3 supervised), N (model, no hil); or a raw event dict."""
    now = parse_rfc3339(start)
    lines = [json.dumps(HEADER)]
    seq = 0
    for item in messages:
        if isinstance(item, dict):
            lines.append(json.dumps(item))
            continue
        who, text, offset = item
        unit = {"m": "minutes", "h": "hours", "d": "days"}[offset[-1]]
        now += timedelta(**{unit: int(offset[1:-1])})
        seq += 1
        record: dict[str, Any] = {
            "type": "message",
            "seq": seq,
            "platform_message_id": f"m{seq}",
            "time": format_rfc3339(now),
            "text": text,
        }
        if who == "C":
            record.update(speaker="counterpart", authorship="counterpart")
        else:
            authorship = {"M": "model", "O": "operator", "T": "template", "S": "model", "N": "model"}[who]
            record.update(speaker="decoy", authorship=authorship)
            if who == "O":
                record["hil"] = {"level": "HIL0_MANUAL"}
            elif who == "S":
                record["hil"] = {"level": "HIL3_SUPERVISED", "supervised_by": "cole"}
            elif who != "N":
                record["hil"] = {"level": "HIL2_APPROVED", "approved_by": "ana"}
        lines.append(json.dumps(record, ensure_ascii=False))
    return parse_transcript("\n".join(lines).encode() + b"\n", name="a.jsonl")


def test_bot_initiated_turns_include_the_opening_and_double_messages() -> None:
    analysis = analyse(
        transcript(
            ("M", "Hi there.", "+0m"),
            ("M", "Are you around?", "+1m"),
            ("C", "yes", "+1m"),
            ("M", "Ok.", "+1m"),
        ),
        ALL_LISTS,
    )
    assert analysis.bot_initiated_turns == (1, 2)
    assert analysis.reengagements == ()


def test_silence_threshold_is_configurable_and_strict() -> None:
    conv = transcript(
        ("C", "hi", "+0m"), ("M", "Hi.", "+1m"), ("M", "Still there?", "+24h"), ("M", "Hello?", "+25h")
    )
    default = analyse(conv, ALL_LISTS)
    assert [(r.seq, r.after_seq, r.gap_seconds) for r in default.reengagements] == [(4, 3, 90000)]
    hourly = analyse(conv, ALL_LISTS, silence_threshold=timedelta(hours=1))
    assert [r.seq for r in hourly.reengagements_after_silence] == [3, 4]
    assert hourly.to_dict()["method"]["silence_threshold_seconds"] == 3600
    with pytest.raises(ValueError, match="positive whole number of seconds"):
        analyse(conv, ALL_LISTS, silence_threshold=timedelta(0))
    with pytest.raises(ValueError, match="positive whole number of seconds"):
        analyse(conv, ALL_LISTS, silence_threshold=timedelta(seconds=1.5))


def test_every_decoy_message_after_a_refusal_until_the_counterpart_writes_again() -> None:
    conv = transcript(
        ("C", "not interested", "+0m"),
        ("M", "Ok.", "+1m"),
        ("M", "Sure?", "+1m"),
        ("C", "ok what then", "+1m"),
        ("M", "Nothing.", "+1m"),
    )
    analysis = analyse(conv, ALL_LISTS)
    assert [(r.kind, r.seq, r.after_seq, r.term) for r in analysis.reengagements] == [
        (ReEngagementKind.REFUSAL, 2, 1, "not interested"),
        (ReEngagementKind.REFUSAL, 3, 1, "not interested"),
    ]
    without_refusal_list = analyse(conv, [LISTS["payment"]])
    assert without_refusal_list.reengagements == ()
    assert without_refusal_list.refusals == ()
    assert set(without_refusal_list.first_mentions) == {"payment"}


def test_operator_only_conversation_is_not_a_takeover_and_open_run_has_no_return() -> None:
    manual = transcript(("C", "hi", "+0m"), ("O", "Hi.", "+1m"), ("C", "ok", "+1m"), ("O", "Ok.", "+1m"))
    assert analyse(manual, ALL_LISTS).operator_takeovers == ()
    kept = transcript(("C", "hi", "+0m"), ("T", "Hi.", "+1m"), ("C", "ok", "+1m"), ("O", "Ok.", "+1m"))
    assert analyse(kept, ALL_LISTS).operator_takeovers == (OperatorTakeover(4, 4, 1, None),)


def test_most_automated_level_and_missing_hil() -> None:
    conv = transcript(("C", "hi", "+0m"), ("M", "Hi.", "+1m"), ("S", "Ok.", "+1m"), ("N", "Yes.", "+1m"))
    analysis = analyse(conv, ALL_LISTS)
    assert analysis.most_automated_hil is HIL.HIL3_SUPERVISED
    assert analysis.counts.by_hil == hil_counts(HIL2_APPROVED=1, HIL3_SUPERVISED=1, none=1)
    assert analyse(transcript(("C", "hi", "+0m")), ALL_LISTS).most_automated_hil is None


def test_mentions_in_platform_reported_edits_are_separate() -> None:
    conv = transcript(
        ("C", "hi", "+0m"),
        ("M", "Hello.", "+1m"),
        {"type": "edit", "target_seq": 1, "time": "2026-06-01T10:05:00Z", "new_text": "hi, how much?"},
    )
    analysis = analyse(conv, ALL_LISTS)
    assert analysis.first_mentions["payment"] is None
    assert analysis.mentions_in_edits == (
        Mention(
            "payment",
            1,
            4,
            Speaker.COUNTERPART,
            Authorship.COUNTERPART,
            "how much",
            "en",
            "how much",
            in_edit=True,
        ),
    )
    assert analysis.counts.edited == 1


def test_two_lists_for_one_topic_are_refused() -> None:
    with pytest.raises(ValueError, match="two term lists for topic 'payment'"):
        analyse(conversation("conv-0001"), [LISTS["payment"], LISTS["payment"]])
