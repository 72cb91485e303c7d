"""Salted commitments and redacted transcripts: known answers, redact/verify round trips, and any
change to a shown line, a salt, a commitment or the order is caught and located."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from custody.canonical import canonical_bytes
from custody.commitments import (
    COMMITMENT_PREFIX,
    REDACTED_SCHEMA,
    SALT_SIZE,
    RedactedTranscript,
    ShownEntry,
    TranscriptCommitment,
    WithheldEntry,
    commit_messages,
    keep_seqs,
    keep_speakers,
    message_commitment,
    redact,
    verify_redacted,
)
from custody.errors import FormatError, IntegrityError, NotFoundError
from custody.merkle import leaf_hash, mth
from custody.transcript import (
    ConversationHeader,
    DeletionEvent,
    Message,
    Record,
    Speaker,
    Transcript,
    parse_transcript,
)

REPO = Path(__file__).resolve().parents[2]
CONVERSATIONS = REPO / "sample_cases" / "op-lantern" / "conversations"
REASON = "third-party personal data"


def load(name: str) -> Transcript:
    return parse_transcript((CONVERSATIONS / name).read_bytes(), name=name)


def fixed_salts(count: int, seed: int = 0) -> list[bytes]:
    return [hashlib.sha256(f"salt {seed} {i}".encode()).digest() for i in range(count)]


CONV5 = load("conv-0005.jsonl")  # header, 9 messages (seq 1,2,3,6,7,8,9,10,11), a deletion of seq 10
CONV5_SALTS = fixed_salts(len(CONV5.lines))
CONV5_ROOT = commit_messages(CONV5.lines, CONV5_SALTS).root


def edit_document(data: bytes, change: Any) -> bytes:
    document = json.loads(data)
    change(document)
    return canonical_bytes(document)


# --- commitments --------------------------------------------------------------------------------


def test_commitment_known_answer() -> None:
    salt = bytes(range(32))
    line = b'{"type":"message","seq":1}'
    expected = hashlib.sha256(b"custody/message-commitment/v1\x00" + salt + line).digest()
    assert COMMITMENT_PREFIX == b"custody/message-commitment/v1\x00"
    assert message_commitment(salt, line) == expected
    assert expected.hex() == hashlib.sha256(COMMITMENT_PREFIX + salt + line).hexdigest()


def test_root_is_the_rfc9162_root_of_the_commitments() -> None:
    commitments = commit_messages(CONV5.lines, CONV5_SALTS)
    assert len(commitments.commitments) == len(CONV5.lines) == 11
    assert commitments.root == mth(list(commitments.commitments))
    single = commit_messages(CONV5.lines[:1], CONV5_SALTS[:1])
    assert single.root == leaf_hash(message_commitment(CONV5_SALTS[0], CONV5.lines[0]))
    assert commitments.to_dict() == {
        "scheme": "custody/message-commitment/v1",
        "entries": 11,
        "root": commitments.root.hex(),
    }
    assert TranscriptCommitment.from_dict(commitments.to_dict()) == commitments.record


@pytest.mark.parametrize(
    ("lines", "salts", "message"),
    [
        ([], [], "nothing to commit to"),
        ([b"a", b"b"], fixed_salts(1), "2 lines need 2 salts, got 1"),
        ([b"a"], [b"short"], "salt 0 must be 32 random bytes"),
        ([b"a", b"b"], [bytes(32), bytes(32)], "salts must be distinct"),
    ],
)
def test_commit_messages_refuses_bad_salts(lines: list[bytes], salts: list[bytes], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        commit_messages(lines, salts)


def test_transcript_commitment_validation() -> None:
    with pytest.raises(FormatError, match="scheme"):
        TranscriptCommitment.from_dict({"scheme": "other", "entries": 1, "root": "00" * 32})
    with pytest.raises(FormatError, match="root must be 64 lowercase hex"):
        TranscriptCommitment.from_dict(
            {"scheme": "custody/message-commitment/v1", "entries": 1, "root": "AB"}
        )
    with pytest.raises(FormatError, match="entries"):
        TranscriptCommitment.from_dict(
            {"scheme": "custody/message-commitment/v1", "entries": 0, "root": "00" * 32}
        )


# --- redact -------------------------------------------------------------------------------------


def test_redact_by_seq_shows_header_messages_and_their_events() -> None:
    redacted = redact(CONV5, CONV5_SALTS, {1, 10}, reason=REASON)
    kinds = ["shown" if isinstance(e, ShownEntry) else "withheld" for e in redacted.entries]
    # lines: header, seq 1, 2, 3, 6, 7, 8, 9, 10, 11, deletion of 10
    assert kinds == ["shown", "shown"] + ["withheld"] * 6 + ["shown", "withheld", "shown"]
    assert all(e.reason == REASON for e in redacted.entries if isinstance(e, WithheldEntry))
    verified = verify_redacted(redacted.to_bytes(), CONV5_ROOT)
    assert [s.position for s in verified.shown] == [0, 1, 8, 10]
    assert [s.line for s in verified.shown] == [CONV5.lines[i] for i in (0, 1, 8, 10)]
    assert [w.position for w in verified.withheld] == [2, 3, 4, 5, 6, 7, 9]
    assert not verified.complete
    assert verified.entries == 11
    assert verified.transcript_sha256 == CONV5.sha256
    records = dict(verified.records())
    assert isinstance(records[0], ConversationHeader)
    assert isinstance(records[8], Message)
    assert records[8].seq == 10
    assert isinstance(records[10], DeletionEvent)


def test_event_is_withheld_with_its_message() -> None:
    redacted = redact(CONV5, CONV5_SALTS, {1}, reason=REASON)
    assert isinstance(redacted.entries[10], WithheldEntry)


def test_redact_by_speaker() -> None:
    redacted = redact(CONV5, CONV5_SALTS, keep_speakers(["counterpart"]), reason=REASON)
    verified = verify_redacted(redacted.to_bytes(), CONV5_ROOT)
    shown = dict(verified.records())
    messages = [r for r in shown.values() if isinstance(r, Message)]
    assert [m.seq for m in messages] == [1, 3, 6, 8, 10]
    assert {m.speaker for m in messages} == {Speaker.COUNTERPART}
    assert 10 in shown  # the deletion of counterpart message 10
    with pytest.raises(FormatError, match="speaker must be one of"):
        keep_speakers(["bot"])


def test_header_can_be_withheld_with_a_custom_selection() -> None:
    def messages_only(record: Record) -> bool:
        return isinstance(record, Message) and record.seq < 3

    redacted = redact(CONV5, CONV5_SALTS, messages_only, reason="counterpart account (PRIV-2)")
    assert isinstance(redacted.entries[0], WithheldEntry)
    verified = verify_redacted(redacted.to_bytes(), CONV5_ROOT)
    assert [s.position for s in verified.shown] == [1, 2]


def test_show_everything_is_complete_and_proves_the_transcript_digest() -> None:
    redacted = redact(CONV5, CONV5_SALTS, lambda record: True, reason=REASON)
    verified = verify_redacted(redacted.to_bytes(), CONV5_ROOT)
    assert verified.complete
    rebuilt = b"\n".join(s.line for s in verified.shown) + b"\n"
    assert rebuilt == CONV5.to_bytes() == (CONVERSATIONS / "conv-0005.jsonl").read_bytes()

    def lie_about_digest(document: dict[str, Any]) -> None:
        document["transcript"]["digest"]["sha256"] = "00" * 32

    with pytest.raises(IntegrityError, match="every line is shown but they rebuild a file"):
        verify_redacted(edit_document(redacted.to_bytes(), lie_about_digest), CONV5_ROOT)


def test_redact_refuses_unknown_seqs_and_empty_reason() -> None:
    with pytest.raises(NotFoundError, match="no message with seq 4, 5 to show"):
        redact(CONV5, CONV5_SALTS, {1, 4, 5}, reason=REASON)
    with pytest.raises(FormatError, match="needs a reason"):
        redact(CONV5, CONV5_SALTS, {1}, reason=" ")
    with pytest.raises(ValueError, match="salts"):
        redact(CONV5, CONV5_SALTS[:-1], {1}, reason=REASON)


def test_document_shape_and_determinism() -> None:
    redacted = redact(CONV5, CONV5_SALTS, keep_seqs([2]), reason=REASON)
    data = redacted.to_bytes()
    assert data == canonical_bytes(json.loads(data))
    document = json.loads(data)
    assert document["schema"] == REDACTED_SCHEMA == "custody/redacted-transcript/v1"
    assert document["transcript"] == {
        "digest": {"sha256": CONV5.sha256},
        "size": CONV5.size,
        "lines": 11,
        "final_newline": True,
    }
    assert document["root"] == CONV5_ROOT.hex()
    assert document["entries"][2] == {
        "shown": {
            "line": CONV5.lines[2].decode(),
            "salt": CONV5_SALTS[2].hex(),
            "commitment": message_commitment(CONV5_SALTS[2], CONV5.lines[2]).hex(),
        }
    }
    assert document["entries"][3] == {
        "withheld": {"commitment": message_commitment(CONV5_SALTS[3], CONV5.lines[3]).hex(), "reason": REASON}
    }
    assert RedactedTranscript.unverified_from_bytes(data) == redacted
    assert redact(CONV5, CONV5_SALTS, keep_seqs([2]), reason=REASON).to_bytes() == data


# --- tampering ----------------------------------------------------------------------------------

SHOWN_SEQ1 = redact(CONV5, CONV5_SALTS, {1, 3}, reason=REASON).to_bytes()


def test_a_changed_word_in_a_shown_message_fails_naming_the_entry() -> None:
    def change_word(document: dict[str, Any]) -> None:
        shown = document["entries"][3]["shown"]
        assert '"are you the girl in the pictures?"' in shown["line"]
        shown["line"] = shown["line"].replace("pictures", "picture")

    with pytest.raises(
        IntegrityError,
        match=r"entry 3 \(transcript line 4, the line says seq 3\): .* the line or its salt was changed",
    ):
        verify_redacted(edit_document(SHOWN_SEQ1, change_word), CONV5_ROOT)


def test_a_changed_salt_fails_naming_the_entry() -> None:
    def change_salt(document: dict[str, Any]) -> None:
        document["entries"][1]["shown"]["salt"] = "00" * 32

    with pytest.raises(IntegrityError, match=r"entry 1 \(transcript line 2"):
        verify_redacted(edit_document(SHOWN_SEQ1, change_salt), CONV5_ROOT)


def test_recomputed_commitment_for_a_changed_line_still_fails_at_the_root() -> None:
    def forge(document: dict[str, Any]) -> None:
        shown = document["entries"][1]["shown"]
        shown["line"] = shown["line"].replace('"hello"', '"hello there"')
        forged = message_commitment(bytes.fromhex(shown["salt"]), shown["line"].encode())
        shown["commitment"] = forged.hex()

    with pytest.raises(IntegrityError, match=r"11 commitments lead to root .* expected"):
        verify_redacted(edit_document(SHOWN_SEQ1, forge), CONV5_ROOT)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["entries"][2]["withheld"].update(commitment="ab" * 32),
        lambda d: d["entries"].reverse(),
        lambda d: (d["entries"].pop(), d["transcript"].update(lines=10)),
        lambda d: (d["entries"].append(d["entries"][-1]), d["transcript"].update(lines=12)),
    ],
    ids=["withheld-commitment", "reordered", "removed", "added"],
)
def test_changed_commitments_or_order_fail_at_the_root(change: Any) -> None:
    with pytest.raises(IntegrityError, match="commitments lead to root"):
        verify_redacted(edit_document(SHOWN_SEQ1, change), CONV5_ROOT)


def test_wrong_expected_root_fails() -> None:
    with pytest.raises(IntegrityError, match=r"is for commitment root .* but the signed record has"):
        verify_redacted(SHOWN_SEQ1, bytes(32))
    with pytest.raises(ValueError, match="32-byte root"):
        verify_redacted(SHOWN_SEQ1, b"short")


def test_changing_only_the_withheld_reason_still_verifies() -> None:
    # The reason is the discloser's statement, not part of the original: the bundle signature
    # covers it, the commitment root does not.
    def new_reason(document: dict[str, Any]) -> None:
        document["entries"][2]["withheld"]["reason"] = "legal privilege"

    verified = verify_redacted(edit_document(SHOWN_SEQ1, new_reason), CONV5_ROOT)
    assert verified.withheld[0].reason == "legal privilege"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(schema="custody/redacted-transcript/v2"), "schema must be"),
        (lambda d: d.update(extra=1), "exactly the fields"),
        (lambda d: d["transcript"].update(lines=3), "transcript lines says 3 but the document has 11"),
        (lambda d: d.update(root="XYZ"), "root must be 64 lowercase hex"),
        (lambda d: d["entries"][1]["shown"].update(salt="00"), r"entry 1: salt must be 64 lowercase hex"),
        (
            lambda d: d["entries"][1]["shown"].pop("commitment"),
            r"entry 1\.shown must have exactly the fields",
        ),
        (lambda d: d["entries"].__setitem__(2, {"hidden": {}}), "entry 2 must be 'shown' or 'withheld'"),
        (lambda d: d["entries"][2]["withheld"].update(reason=""), "entry 2: a withheld line needs a reason"),
        (lambda d: d["entries"].__setitem__(2, {"shown": {}, "withheld": {}}), "exactly one of"),
        (lambda d: d["entries"][1]["shown"].update(line=5), "entry 1: line must be text"),
        (lambda d: d.update(entries=[]), "transcript lines says 11 but the document has 0"),
        (lambda d: d["transcript"].update(size=-1), "transcript size"),
    ],
)
def test_malformed_documents(change: Any, message: str) -> None:
    with pytest.raises(FormatError, match=rf"^redacted transcript: .*{message}"):
        verify_redacted(edit_document(SHOWN_SEQ1, change), CONV5_ROOT)


def test_not_json_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="redacted transcript is not valid JSON"):
        verify_redacted(b"{not json", CONV5_ROOT)
    with pytest.raises(FormatError, match="not encodable as UTF-8"):
        verify_redacted(SHOWN_SEQ1.replace(b"hello", b"\\ud800", 1), CONV5_ROOT)


# --- properties ---------------------------------------------------------------------------------

_messages = st.lists(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30), min_size=1, max_size=12
)


def _transcript(texts: list[str]) -> Transcript:
    lines = [
        json.dumps(
            {
                "type": "conversation",
                "schema": "custody/transcript/v1",
                "conversation_id": "p",
                "platform": "x",
                "counterpart": {"account": "a"},
                "persona": {"id": "ava-v3", "version": "3"},
                "tool": {"name": "lantern-decoy", "version": "2.3.1"},
            }
        )
    ]
    for seq, text in enumerate(texts, start=1):
        lines.append(
            json.dumps(
                {
                    "type": "message",
                    "seq": seq,
                    "platform_message_id": f"m{seq}",
                    "time": "2026-06-01T10:00:00Z",
                    "speaker": "counterpart",
                    "authorship": "counterpart",
                    "text": text,
                },
                ensure_ascii=False,
            )
        )
    return parse_transcript("\n".join(lines).encode() + b"\n", name="p")


@settings(max_examples=60, deadline=None)
@given(_messages, st.data(), st.integers(0, 2**32))
def test_redact_then_verify_round_trip(texts: list[str], data: st.DataObject, seed: int) -> None:
    transcript = _transcript(texts)
    salts = fixed_salts(len(transcript.lines), seed)
    root = commit_messages(transcript.lines, salts).root
    keep = data.draw(st.sets(st.integers(1, len(texts))))
    verified = verify_redacted(redact(transcript, salts, keep, reason=REASON).to_bytes(), root)
    assert [s.position for s in verified.shown] == [0, *sorted(keep)]
    assert all(s.line == transcript.lines[s.position] for s in verified.shown)
    assert len(verified.withheld) == len(texts) - len(keep)
    assert verified.complete == (len(keep) == len(texts))


@settings(max_examples=100, deadline=None)
@given(_messages, st.data())
def test_any_single_byte_change_in_a_shown_line_fails(texts: list[str], data: st.DataObject) -> None:
    transcript = _transcript(texts)
    salts = fixed_salts(len(transcript.lines))
    root = commit_messages(transcript.lines, salts).root
    redacted = redact(transcript, salts, lambda record: True, reason=REASON)
    position = data.draw(st.integers(0, len(transcript.lines) - 1))
    line = transcript.lines[position]
    offset = data.draw(st.integers(0, len(line) - 1))
    new_byte = data.draw(st.integers(0, 255).filter(lambda b: b != line[offset]))
    changed = line[:offset] + bytes([new_byte]) + line[offset + 1 :]
    try:
        changed.decode("utf-8")
    except UnicodeDecodeError:
        assume(False)
    assume(b"\n" not in changed)
    entries = list(redacted.entries)
    original = entries[position]
    assert isinstance(original, ShownEntry)
    entries[position] = ShownEntry(changed, original.salt, original.commitment)
    tampered = RedactedTranscript(
        redacted.transcript_sha256,
        redacted.transcript_size,
        redacted.final_newline,
        redacted.root,
        tuple(entries),
    )
    with pytest.raises(IntegrityError, match=rf"entry {position} \(transcript line {position + 1}"):
        verify_redacted(tampered.to_bytes(), root)


@settings(max_examples=100, deadline=None)
@given(
    st.binary(max_size=200),
    st.binary(min_size=SALT_SIZE, max_size=SALT_SIZE),
    st.binary(min_size=SALT_SIZE, max_size=SALT_SIZE),
)
def test_commitments_differ_for_different_salts(line: bytes, salt_a: bytes, salt_b: bytes) -> None:
    assume(salt_a != salt_b)
    assert message_commitment(salt_a, line) != message_commitment(salt_b, line)
    assert message_commitment(salt_a, line) == message_commitment(salt_a, line)
