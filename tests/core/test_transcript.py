"""Transcript parsing: named bad-input fixtures fail naming file and line; findings are recorded,
never fixed; records keep their exact line bytes; the sample conversations parse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.errors import FormatError, NotFoundError
from custody.models import HIL, HILFunction, Origin
from custody.transcript import (
    MAX_LINE_BYTES,
    MAX_LINES,
    Authorship,
    ConversationHeader,
    DeletionEvent,
    EditEvent,
    Finding,
    FindingKind,
    Message,
    MessageOrigin,
    Speaker,
    parse_record,
    parse_transcript,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "transcripts"
CONVERSATIONS = REPO / "sample_cases" / "op-lantern" / "conversations"

HEADER: dict[str, Any] = {
    "type": "conversation",
    "schema": "custody/transcript/v1",
    "conversation_id": "t-1",
    "platform": "classifieds-messaging",
    "counterpart": {"account": "user_1"},
    "persona": {"id": "ava-v3", "version": "3"},
    "tool": {"name": "lantern-decoy", "version": "2.3.1"},
}
APPROVED = {"level": "HIL2_APPROVED", "approved_by": "ana"}


def counterpart(seq: int, text: str = "hi", *, time: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "seq": seq,
        "platform_message_id": f"m-{seq}",
        "time": time or f"2026-06-01T10:{seq:02d}:00Z",
        "speaker": "counterpart",
        "authorship": "counterpart",
        "text": text,
        **extra,
    }


def decoy(
    seq: int, text: str = "Hello.", *, authorship: str = "model", time: str | None = None, **extra: Any
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": "message",
        "seq": seq,
        "platform_message_id": f"m-{seq}",
        "time": time or f"2026-06-01T10:{seq:02d}:00Z",
        "speaker": "decoy",
        "authorship": authorship,
        "text": text,
        "hil": APPROVED,
    }
    document.update(extra)
    return document


def jsonl(*records: dict[str, Any] | str) -> bytes:
    lines = [r if isinstance(r, str) else json.dumps(r, separators=(",", ":")) for r in records]
    return ("\n".join(lines) + "\n").encode()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- named bad inputs ---------------------------------------------------------------------------

BAD_FIXTURES = [
    ("transcript_malformed_line.jsonl", 3, "the line is not valid JSON"),
    ("transcript_header_missing.jsonl", 1, "the first line must be the conversation header.*'message' line"),
    ("transcript_second_header.jsonl", 3, "a second conversation header"),
    ("transcript_duplicate_message_id.jsonl", 4, "duplicate platform_message_id 'm-1': line 2 has it too"),
    ("transcript_duplicate_seq.jsonl", 4, "duplicate seq 2: line 3 has it too"),
    ("transcript_bad_hil.jsonl", 3, r"hil: HIL level HIL2_APPROVED names a human: give the approver"),
    ("transcript_bad_hil_level.jsonl", 3, "hil.level must be one of HIL0_MANUAL.*got 'HIL9_ROGUE'"),
    ("transcript_unknown_type.jsonl", 3, "unknown line type 'reaction'"),
    ("transcript_unknown_field.jsonl", 2, "unknown field.*'sender'.*must start with 'x_'"),
    ("transcript_missing_field.jsonl", 2, "missing required field.*'platform_message_id'"),
    ("transcript_wrong_type.jsonl", 2, "seq must be a whole number, got text '1'"),
    ("transcript_null_field.jsonl", 3, "'model' is null; omit optional fields"),
    (
        "transcript_bad_authorship.jsonl",
        2,
        "a counterpart message's authorship must be 'counterpart', got 'model'",
    ),
    ("transcript_bad_time.jsonl", 2, "time 'yesterday at 10' is not an RFC 3339 date-time"),
    (
        "transcript_wrong_schema.jsonl",
        1,
        "schema must be 'custody/transcript/v1', got 'custody/transcript/v2'",
    ),
    ("transcript_blank_line.jsonl", 3, "blank line"),
    ("transcript_not_utf8.jsonl", 2, "not valid UTF-8"),
    ("transcript_empty.jsonl", 1, "the transcript is empty"),
    (
        "transcript_edit_unknown_target.jsonl",
        4,
        "a deletion of seq 9, but no message with that seq comes before",
    ),
]


@pytest.mark.parametrize(("name", "line", "message"), BAD_FIXTURES)
def test_bad_fixture_fails_naming_file_and_line(name: str, line: int, message: str) -> None:
    with pytest.raises(FormatError, match=rf"^{name} line {line}: .*{message}") as info:
        parse_transcript(fixture(name), name=name)
    assert info.value.exit_code == 3


def test_every_bad_fixture_is_tested() -> None:
    tested = {name for name, _, _ in BAD_FIXTURES}
    findings_only = {
        "transcript_valid.jsonl",
        "transcript_gap_in_sequence.jsonl",
        "transcript_time_backwards.jsonl",
        "transcript_edit_and_deletion.jsonl",
        "transcript_decoy_without_hil.jsonl",
    }
    assert {p.name for p in FIXTURES.glob("*.jsonl")} == tested | findings_only


# --- findings: recorded, never fixed ------------------------------------------------------------


def test_gap_in_sequence_is_a_finding_not_an_error() -> None:
    data = fixture("transcript_gap_in_sequence.jsonl")
    transcript = parse_transcript(data, name="gap.jsonl")
    assert transcript.findings == (
        Finding(FindingKind.SEQ_GAP, 5, "messages 4-5 missing: seq jumps from 3 to 6"),
    )
    assert [m.seq for m in transcript.messages] == [1, 2, 3, 6, 7]
    assert transcript.to_bytes() == data


def test_time_backwards_is_a_finding() -> None:
    transcript = parse_transcript(fixture("transcript_time_backwards.jsonl"), name="t")
    (finding,) = transcript.findings
    assert finding.kind is FindingKind.TIME_BACKWARDS
    assert finding.line == 4
    assert (
        "seq 3 at 2026-06-01T09:59:00Z is earlier than seq 2 at 2026-06-01T10:01:00Z (line 3)"
        in finding.message
    )


def test_edits_and_deletions_are_findings_and_keep_the_captured_text() -> None:
    transcript = parse_transcript(fixture("transcript_edit_and_deletion.jsonl"), name="t")
    assert [(f.kind, f.line) for f in transcript.findings] == [
        (FindingKind.EDITED, 5),
        (FindingKind.DELETED, 7),
    ]
    assert "message seq 3 (line 4) was edited at 2026-06-01T10:02:30Z" in transcript.findings[0].message
    assert "message seq 1 (line 2) was deleted by counterpart" in transcript.findings[1].message
    assert transcript.message(3).text == "are you free?"
    edit, deletion = transcript.events
    assert isinstance(edit, EditEvent)
    assert edit.new_text == "are you free tonight?"
    assert isinstance(deletion, DeletionEvent)
    assert deletion.by == "counterpart"


def test_decoy_message_without_hil_is_a_finding() -> None:
    transcript = parse_transcript(fixture("transcript_decoy_without_hil.jsonl"), name="t")
    assert [(f.kind, f.line) for f in transcript.findings] == [(FindingKind.DECOY_WITHOUT_HIL, 3)]
    assert transcript.message(2).hil is None


def test_first_seq_not_one_and_out_of_order_seq() -> None:
    data = jsonl(HEADER, counterpart(3), decoy(5), counterpart(4))
    findings = parse_transcript(data, name="t").findings
    assert [(f.kind, f.line, f.message) for f in findings] == [
        (FindingKind.SEQ_GAP, 2, "messages 1-2 missing: the first seq is 3"),
        (FindingKind.SEQ_OUT_OF_ORDER, 4, "seq 4 comes after seq 5 (line 3)"),
        (FindingKind.TIME_BACKWARDS, 4, findings[2].message),
    ]


def test_single_missing_message_wording() -> None:
    findings = parse_transcript(jsonl(HEADER, counterpart(1), decoy(3)), name="t").findings
    assert findings[0].message == "message 2 missing: seq jumps from 1 to 3"


def test_event_earlier_than_its_message_and_message_before_started_at() -> None:
    header = {**HEADER, "started_at": "2026-06-01T10:05:00Z"}
    data = jsonl(
        header,
        counterpart(1),
        {"type": "edit", "target_seq": 1, "time": "2026-06-01T09:00:00Z", "new_text": "x"},
    )
    kinds = [(f.kind, f.line) for f in parse_transcript(data, name="t").findings]
    assert kinds == [
        (FindingKind.TIME_BACKWARDS, 2),
        (FindingKind.EDITED, 3),
        (FindingKind.TIME_BACKWARDS, 3),
    ]


def test_hil_that_contradicts_authorship_is_a_finding() -> None:
    data = jsonl(
        HEADER,
        counterpart(1),
        decoy(2, authorship="operator"),  # HIL2 but typed by a human
        decoy(3, hil={"level": "HIL0_MANUAL"}),  # model text at HIL0
        decoy(4, authorship="operator", hil={"level": "HIL0_MANUAL"}),
    )
    findings = parse_transcript(data, name="t").findings
    assert [(f.kind, f.line) for f in findings] == [
        (FindingKind.HIL_AUTHORSHIP_MISMATCH, 3),
        (FindingKind.HIL_AUTHORSHIP_MISMATCH, 4),
    ]


def test_attachment_not_captured_and_no_messages() -> None:
    data = jsonl(HEADER, counterpart(1, "", attachments=[{"name": "photo.jpg"}, {"sha256": "ab" * 32}]))
    (finding,) = parse_transcript(data, name="t").findings
    assert finding.kind is FindingKind.ATTACHMENT_NOT_CAPTURED
    assert "attachment 0 of seq 1 (photo.jpg)" in finding.message
    (empty,) = parse_transcript(jsonl(HEADER), name="t").findings
    assert empty.kind is FindingKind.NO_MESSAGES


# --- more errors (built in memory) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (decoy(2, authorship="counterpart"), "a decoy message's authorship must be one of"),
        (counterpart(2, hil=APPROVED), "'hil' only applies to decoy messages"),
        (
            counterpart(2, model={"snapshot": "x"}, context_digest="ab" * 32),
            "'model', 'context_digest' only apply",
        ),
        (decoy(2, context_digest="XYZ"), "context_digest must be 64 lowercase hex"),
        (decoy(2, speaker="bot"), "speaker must be one of decoy, counterpart; got 'bot'"),
        ({**decoy(2), "seq": 0}, "seq must be 1 or more"),
        ({**decoy(2), "seq": True}, "seq must be a whole number, got boolean True"),
        ({**decoy(2), "text": None}, "text must be text, got null"),
        (decoy(2, tool_calls={"name": "x"}), "tool_calls must be an array"),
        (decoy(2, tool_calls=[{"id": "c1"}]), r"tool_calls\[0\] is missing required field.*'name'"),
        (decoy(2, attachments=[{}]), "an attachment needs at least one of sha256, url or name"),
        (decoy(2, hil={"level": "HIL3_SUPERVISED", "approved_by": "ana"}), "give the supervisor"),
        (decoy(2, hil={"level": "HIL2_APPROVED", "approved_by": "ana", "function": "dance"}), "hil.function"),
        (decoy(2, model={"snapshot": "s", "temperature": 0.7}), "model has unknown field.*'temperature'"),
        (
            {"type": "edit", "target_seq": 1, "time": "2026-06-01T10:00:00Z"},
            "missing required field.*'new_text'",
        ),
        ("[1, 2]", "must be a JSON object, got list"),
        ('{"type":"message","seq":1,"seq":2}', "duplicate key 'seq'"),
    ],
)
def test_invalid_line_fails_naming_line(record: dict[str, Any] | str, message: str) -> None:
    with pytest.raises(FormatError, match=rf"^chat\.jsonl line 3: .*{message}"):
        parse_transcript(jsonl(HEADER, counterpart(1), record), name="chat.jsonl")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({**HEADER, "counterpart": "user_1"}, "counterpart must be an object, got text"),
        ({**HEADER, "tool": {"name": "bad name", "version": "1"}}, "tool.name 'bad name' is not valid"),
        ({**HEADER, "persona": {"id": "ava"}}, "persona is missing required field.*'version'"),
        ({**HEADER, "started_at": "2026-06-01"}, "started_at '2026-06-01' is not an RFC 3339"),
        ({k: v for k, v in HEADER.items() if k != "platform"}, "missing required field.*'platform'"),
    ],
)
def test_invalid_header(header: dict[str, Any], message: str) -> None:
    with pytest.raises(FormatError, match=rf"^h\.jsonl line 1: .*{message}"):
        parse_transcript(jsonl(header, counterpart(1)), name="h.jsonl")


def test_line_over_one_mebibyte_is_refused() -> None:
    long_line = json.dumps(counterpart(1, "x" * MAX_LINE_BYTES))
    with pytest.raises(
        FormatError, match=rf"^big line 2: the line is {len(long_line)} bytes long; the limit is 1048576"
    ):
        parse_transcript(jsonl(HEADER, long_line), name="big")


def test_more_than_a_million_lines_is_refused_before_parsing() -> None:
    data = jsonl(HEADER) + b"{}\n" * MAX_LINES
    with pytest.raises(FormatError, match=r"^many line 1000001: the transcript has more than 1000000 lines"):
        parse_transcript(data, name="many")


def test_bytes_only() -> None:
    with pytest.raises(TypeError):
        parse_transcript(jsonl(HEADER).decode(), name="t")  # type: ignore[arg-type]


# --- exact bytes, origins, values ---------------------------------------------------------------


def test_records_keep_their_exact_line_bytes_including_cr_and_spacing() -> None:
    header = json.dumps(HEADER)  # with spaces after separators
    message = json.dumps(counterpart(1, "caf\u00e9"), ensure_ascii=False)
    data = (header + "\r\n" + message + "\r\n").encode()
    transcript = parse_transcript(data, name="crlf")
    assert transcript.lines == (header.encode() + b"\r", message.encode() + b"\r")
    assert transcript.messages[0].line == message.encode() + b"\r"
    assert transcript.header.line == transcript.lines[0]
    assert transcript.to_bytes() == data
    assert transcript.final_newline


def test_no_final_newline_rebuilds_exactly() -> None:
    data = jsonl(HEADER, counterpart(1)).rstrip(b"\n")
    transcript = parse_transcript(data, name="t")
    assert not transcript.final_newline
    assert transcript.to_bytes() == data
    assert transcript.size == len(data)


def test_origin_follows_authorship() -> None:
    data = jsonl(
        HEADER,
        counterpart(1),
        decoy(2),
        decoy(3, authorship="template"),
        decoy(4, authorship="operator", hil={"level": "HIL0_MANUAL"}),
        decoy(5, authorship="model_edited_by_operator"),
    )
    transcript = parse_transcript(data, name="t")
    assert [m.origin for m in transcript.messages] == [
        MessageOrigin.CAPTURED,
        MessageOrigin.GENERATED,
        MessageOrigin.GENERATED,
        MessageOrigin.HUMAN_AUTHORED,
        MessageOrigin.GENERATED_HUMAN_EDITED,
    ]
    assert transcript.artifact_origin is Origin.MIXED
    assert parse_transcript(jsonl(HEADER, counterpart(1)), name="t").artifact_origin is Origin.CAPTURED
    assert parse_transcript(jsonl(HEADER, decoy(1)), name="t").artifact_origin is Origin.GENERATED


def test_message_fields_are_typed_and_times_normalised_to_utc() -> None:
    record = decoy(
        2,
        time="2026-06-01T12:01:00+02:00",
        model={"snapshot": "chat-large-2026-04-15", "parameters_ref": "sha256:00"},
        context_digest="cd" * 32,
        tool_calls=[{"name": "lookup", "id": "c1", "arguments": {"q": "x"}, "result_digest": "ef" * 32}],
        attachments=[{"sha256": "ab" * 32, "media_type": "image/jpeg", "name": "a.jpg"}],
        x_adapter="classifieds-messaging-1.2",
    )
    transcript = parse_transcript(jsonl(HEADER, counterpart(1), record), name="t")
    message = transcript.message(2)
    assert message.time == "2026-06-01T10:01:00Z"
    assert message.speaker is Speaker.DECOY
    assert message.authorship is Authorship.MODEL
    assert message.hil is not None
    assert message.hil.level is HIL.HIL2_APPROVED
    assert message.hil.function is HILFunction.ACT
    assert message.hil.approved_by == "ana"
    assert message.model is not None
    assert message.model.snapshot == "chat-large-2026-04-15"
    assert message.tool_calls[0].arguments == {"q": "x"}
    assert message.attachments[0].media_type == "image/jpeg"
    assert message.line_number == 3
    assert Message.from_dict(message.to_dict()) == message
    with pytest.raises(NotFoundError, match="no message has seq 9"):
        transcript.message(9)


def test_parse_record_on_its_own() -> None:
    line = json.dumps(counterpart(4)).encode()
    record = parse_record(line, name="shown", line_number=5)
    assert isinstance(record, Message)
    assert record.line == line
    assert record.line_number == 5
    header = parse_record(json.dumps(HEADER).encode(), name="shown", line_number=1)
    assert isinstance(header, ConversationHeader)
    assert ConversationHeader.from_dict(header.to_dict()) == header
    with pytest.raises(FormatError, match=r"^shown line 7: unknown line type None"):
        parse_record(b'{"seq": 1}', name="shown", line_number=7)


def test_finding_round_trip_and_validation() -> None:
    finding = Finding(FindingKind.SEQ_GAP, 3, "message 2 missing")
    assert Finding.from_dict(finding.to_dict()) == finding
    with pytest.raises(FormatError, match="finding kind"):
        Finding.from_dict({"kind": "typo", "line": 3, "message": "x"})


# --- the sample conversations -------------------------------------------------------------------


def test_sample_conversations_parse() -> None:
    paths = sorted(CONVERSATIONS.glob("conv-*.jsonl"))
    assert [p.name for p in paths] == [f"conv-000{i}.jsonl" for i in range(1, 6)]
    for path in paths:
        transcript = parse_transcript(path.read_bytes(), name=path.name)
        assert transcript.header.persona.id == "ava-v3"
        assert transcript.header.tool.name == "lantern-decoy"
        assert transcript.header.tool.version == "2.3.1"
        assert transcript.header.platform == "classifieds-messaging"
        for message in transcript.messages:
            if message.speaker is Speaker.DECOY:
                assert message.hil is not None
                if message.authorship is Authorship.OPERATOR:
                    assert message.hil.level is HIL.HIL0_MANUAL
                else:
                    assert message.hil.level is HIL.HIL2_APPROVED
                    assert message.hil.approved_by == "ana"
        expected = {"conv-0005.jsonl": [FindingKind.SEQ_GAP, FindingKind.DELETED]}.get(path.name, [])
        assert [f.kind for f in transcript.findings] == expected


# --- properties ---------------------------------------------------------------------------------

_texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), _texts), min_size=1, max_size=8))
def test_any_well_formed_transcript_round_trips(messages: list[tuple[bool, str]]) -> None:
    records: list[dict[str, Any]] = [HEADER]
    for index, (is_decoy, text) in enumerate(messages, start=1):
        records.append(decoy(index, text) if is_decoy else counterpart(index, text))
    data = b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records)
    transcript = parse_transcript(data, name="p")
    assert transcript.to_bytes() == data
    assert [m.text for m in transcript.messages] == [t for _, t in messages]
    assert transcript.findings == ()
    for message in transcript.messages:
        assert Message.from_dict(json.loads(message.line)) == message
