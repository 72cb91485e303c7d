"""``import_chat`` on SQLite and PostgreSQL: signed transcript records with salted commitment roots,
the assisted analysis as a signed derivative, findings, idempotence and all-or-nothing imports."""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from custody import db
from custody.caselog import list_entries, verify_case_log
from custody.commitments import SALT_SIZE, commit_messages
from custody.digests import sha256_hex
from custody.errors import FormatError, NotFoundError, PolicyError
from custody.events import _unverified_event
from custody.importers.chat import ANALYSIS_MEDIA_TYPE, TRANSCRIPT_MEDIA_TYPE, import_chat
from custody.models import ArtifactRole, Origin
from custody.recording import show_artifact
from custody.runs import start_run
from custody.tools import card_of, get_tool
from custody.transcript import parse_transcript
from custody.transfers import seal_case
from custody.workspace import Workspace
from tests.conftest import REPO, TOOLCARDS

CASE = "OP-TEST"
SAMPLES = REPO / "sample_cases" / "op-lantern" / "conversations"
FIXTURES = REPO / "tests" / "fixtures" / "transcripts"
CONVERSATIONS = [f"conv-000{i}" for i in range(1, 6)]


def _entry_count(ws: Workspace) -> int:
    return len(list_entries(ws, CASE))


def _artifact_rows(ws: Workspace) -> list[db.ArtifactRow]:
    with db.transaction(ws.engine) as session:
        return list(session.exec(select(db.ArtifactRow).where(db.ArtifactRow.case_id == CASE)).all())


def _salt_rows(ws: Workspace) -> list[db.TranscriptSaltsRow]:
    with db.transaction(ws.engine) as session:
        statement = select(db.TranscriptSaltsRow).where(db.TranscriptSaltsRow.case_id == CASE)
        return list(session.exec(statement).all())


def _salts(ws: Workspace, digest: str) -> list[bytes]:
    with db.transaction(ws.engine) as session:
        row = session.get(db.TranscriptSaltsRow, (CASE, digest))
        assert row is not None, f"no salts stored for {digest}"
        blob = bytes(row.salts)
    return [blob[i : i + SALT_SIZE] for i in range(0, len(blob), SALT_SIZE)]


def test_import_records_each_transcript_and_its_analysis(case_workspace: Workspace) -> None:
    ws = case_workspace
    before = Counter(row.event_type for row in list_entries(ws, CASE))
    results = import_chat(ws, CASE, SAMPLES)

    assert [r.conversation_id for r in results] == CONVERSATIONS
    assert [r.path.name for r in results] == [f"{c}.jsonl" for c in CONVERSATIONS]
    assert not any(r.duplicate for r in results)
    assert [r.messages for r in results] == [10, 6, 12, 5, 9]
    assert [r.findings for r in results] == [0, 0, 0, 0, 2]
    after = Counter(row.event_type for row in list_entries(ws, CASE))
    assert after["artifact.recorded"] - before["artifact.recorded"] == 5
    assert after["artifact.derived"] - before["artifact.derived"] == 5

    entries = {row.sequence: row for row in list_entries(ws, CASE)}
    for result in results:
        # The transcript is recorded byte for byte as the original.
        assert result.digest == sha256_hex(result.path.read_bytes())
        assert entries[result.sequence].event_type == "artifact.recorded"
        (transcript,) = show_artifact(ws, result.digest, case_id=CASE)
        assert transcript.signature_ok
        assert transcript.blob_error is None
        p = transcript.provenance
        assert (p.media_type, p.role, p.origin) == (
            TRANSCRIPT_MEDIA_TYPE,
            ArtifactRole.ORIGINAL,
            Origin.MIXED,
        )
        assert p.tool.name == "lantern-decoy"
        assert p.details["conversation_id"] == result.conversation_id
        # The analysis is a signed derivative of exactly that transcript.
        assert result.analysis_digest is not None
        (analysis,) = show_artifact(ws, result.analysis_digest, case_id=CASE)
        assert analysis.signature_ok
        assert entries[analysis.sequence].event_type == "artifact.derived"
        a = analysis.provenance
        assert a.derived_from == (result.digest,)
        assert (a.media_type, a.role, a.origin) == (
            ANALYSIS_MEDIA_TYPE,
            ArtifactRole.DERIVATIVE,
            Origin.GENERATED,
        )
        assert "a human must confirm" in (a.transformation or "")

    rows = _artifact_rows(ws)
    assert Counter(r.media_type for r in rows) == {TRANSCRIPT_MEDIA_TYPE: 5, ANALYSIS_MEDIA_TYPE: 5}
    assert {r.digest for r in _salt_rows(ws)} == {r.digest for r in results}
    report = verify_case_log(ws, CASE)
    assert report.ok, report


def test_signed_record_carries_the_commitment_root_findings_and_model_files(
    case_workspace: Workspace,
) -> None:
    ws = case_workspace
    results = import_chat(ws, CASE, SAMPLES)
    model = card_of(get_tool(ws, "lantern-decoy@2.3.1"))["model"]
    assert isinstance(model, dict)
    persona = sha256_hex((TOOLCARDS / "decoy-chatbot" / "persona-ava.md").read_bytes())
    prompt = sha256_hex((TOOLCARDS / "decoy-chatbot" / "system-prompt.txt").read_bytes())
    assert model["persona_script"]["digest"] == {"sha256": persona}
    assert model["system_prompt"]["digest"] == {"sha256": prompt}

    roots = set()
    for result in results:
        transcript = parse_transcript(result.path.read_bytes(), name=result.path.name)
        salts = _salts(ws, result.digest)
        assert len(salts) == len(transcript.lines)
        (view,) = show_artifact(ws, result.digest, case_id=CASE)
        details = view.provenance.details
        expected = commit_messages(transcript.lines, salts).root.hex()
        assert details["commitments"] == {
            "scheme": "custody/message-commitment/v1",
            "entries": len(transcript.lines),
            "root": expected,
        }
        assert details["persona_script"] == {"sha256": persona}
        assert details["system_prompt"] == {"sha256": prompt}
        assert details["persona"] == {"id": "ava-v3", "version": "3"}
        roots.add(expected)
        if result.conversation_id != "conv-0005":
            assert details["findings"] == []
    assert len(roots) == 5

    (conv5,) = show_artifact(ws, results[4].digest, case_id=CASE)
    findings = conv5.provenance.details["findings"]
    assert [(f["kind"], f["line"]) for f in findings] == [("seq_gap", 5), ("deleted", 11)]
    assert findings[0]["message"] == "messages 4-5 missing: seq jumps from 3 to 6"
    assert "seq 10 (line 9) was deleted by counterpart at 2026-06-12T17:41:00Z" in findings[1]["message"]


def _mention(document: dict, topic: str) -> tuple | None:
    m = document["first_mentions"][topic]
    return None if m is None else (m["speaker"], m["seq"], m["line"], m["term"], m["deleted"])


def test_analysis_blob_gives_the_answers_of_the_sample_readme(case_workspace: Workspace) -> None:
    ws = case_workspace
    results = import_chat(ws, CASE, SAMPLES)
    docs = {}
    for result in results:
        assert result.analysis_digest is not None
        data = ws.store.read_bytes(result.analysis_digest)
        assert sha256_hex(data) == result.analysis_digest
        doc = json.loads(data)
        assert doc["label"] == "ASSISTED: machine analysis; a human must confirm"
        assert doc["transcript"] == {
            "conversation_id": result.conversation_id,
            "digest": {"sha256": result.digest},
        }
        docs[result.conversation_id] = doc

    # (speaker, seq, line, term, deleted) of the first mention, per topic.
    first = {
        "conv-0001": {
            "payment": ("counterpart", 3, 4, "how much", False),
            "age": ("counterpart", 5, 6, "how old", False),
            "sex": ("counterpart", 7, 8, "intimate", False),
        },
        "conv-0002": {"payment": ("decoy", 4, 5, "rate", False), "age": None, "sex": None},
        "conv-0003": {"payment": ("counterpart", 11, 12, "how much", False), "age": None, "sex": None},
        "conv-0004": {"payment": None, "age": None, "sex": None},
        "conv-0005": {
            "payment": ("counterpart", 10, 9, "rate", True),
            "age": ("counterpart", 8, 7, "how old", False),
            "sex": None,
        },
    }
    for conversation, topics in first.items():
        for topic, expected in topics.items():
            assert _mention(docs[conversation], topic) == expected, (conversation, topic)
    assert docs["conv-0002"]["first_mentions"]["payment"]["authorship"] == "model"
    assert docs["conv-0001"]["mention_counts"]["payment"] == {"counterpart": 2, "decoy": 0}
    assert docs["conv-0002"]["mention_counts"]["payment"] == {"counterpart": 1, "decoy": 1}

    turns = {c: d["bot_initiated_turns"] for c, d in docs.items()}
    assert turns == {"conv-0001": [], "conv-0002": [], "conv-0003": [], "conv-0004": [5], "conv-0005": []}
    reengagements = {c: d["reengagements"] for c, d in docs.items()}
    assert reengagements == {
        "conv-0001": [],
        "conv-0002": [
            {
                "kind": "refusal",
                "seq": 6,
                "line": 7,
                "after_seq": 5,
                "gap_seconds": 75,
                "term": "no thanks",
                "language": "en",
            }
        ],
        "conv-0003": [],
        "conv-0004": [{"kind": "silence", "seq": 5, "line": 6, "after_seq": 4, "gap_seconds": 128330}],
        "conv-0005": [],
    }
    assert [(r["seq"], r["term"]) for r in docs["conv-0002"]["refusals"]] == [(5, "no thanks")]
    takeovers = {c: d["operator_takeovers"] for c, d in docs.items()}
    assert takeovers == {
        "conv-0001": [],
        "conv-0002": [],
        "conv-0003": [{"start_seq": 6, "end_seq": 8, "messages": 2, "returned_to_model_seq": 10}],
        "conv-0004": [],
        "conv-0005": [],
    }
    assert {c: d["most_automated_hil"] for c, d in docs.items()} == dict.fromkeys(docs, "HIL2_APPROVED")

    counts = {c: d["counts"] for c, d in docs.items()}
    assert {c: (n["messages"], n["by_speaker"]) for c, n in counts.items()} == {
        "conv-0001": (10, {"counterpart": 5, "decoy": 5}),
        "conv-0002": (6, {"counterpart": 3, "decoy": 3}),
        "conv-0003": (12, {"counterpart": 6, "decoy": 6}),
        "conv-0004": (5, {"counterpart": 2, "decoy": 3}),
        "conv-0005": (9, {"counterpart": 5, "decoy": 4}),
    }
    assert counts["conv-0001"]["by_authorship"]["model_edited_by_operator"] == 1
    assert counts["conv-0001"]["by_authorship"]["model"] == 4
    conv3 = counts["conv-0003"]
    assert (conv3["by_authorship"]["model"], conv3["by_authorship"]["operator"]) == (4, 2)
    assert (conv3["by_hil"]["HIL2_APPROVED"], conv3["by_hil"]["HIL0_MANUAL"]) == (4, 2)
    assert {k: v for k, v in conv3["by_origin"].items() if v} == {
        "captured": 6,
        "generated": 4,
        "human_authored": 2,
    }
    assert (counts["conv-0005"]["deleted"], counts["conv-0005"]["edited"]) == (1, 0)
    assert [f["kind"] for f in docs["conv-0005"]["transcript_findings"]] == ["seq_gap", "deleted"]


def test_importing_again_adds_nothing(case_workspace: Workspace) -> None:
    ws = case_workspace
    first = import_chat(ws, CASE, SAMPLES)
    size = _entry_count(ws)
    rows = len(_artifact_rows(ws))
    salts = {r.digest: _salts(ws, r.digest) for r in first}

    again = import_chat(ws, CASE, SAMPLES)
    single = import_chat(ws, CASE, SAMPLES / "conv-0003.jsonl")

    assert all(r.duplicate for r in again)
    assert [(r.digest, r.sequence) for r in again] == [(r.digest, r.sequence) for r in first]
    assert [r.analysis_digest for r in again] == [None] * 5
    assert [(r.duplicate, r.sequence) for r in single] == [(True, first[2].sequence)]
    assert _entry_count(ws) == size
    assert len(_artifact_rows(ws)) == rows
    # The salts the signed roots were computed with are never replaced.
    assert {r.digest: _salts(ws, r.digest) for r in first} == salts


def test_one_malformed_transcript_imports_nothing(case_workspace: Workspace, tmp_path: Path) -> None:
    ws = case_workspace
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(SAMPLES / "conv-0001.jsonl", folder / "a-good.jsonl")
    bad = folder / "b-bad.jsonl"
    shutil.copy(FIXTURES / "transcript_malformed_line.jsonl", bad)
    size = _entry_count(ws)

    with pytest.raises(FormatError, match=rf"^{bad} line 3: the line is not valid JSON"):
        import_chat(ws, CASE, folder)

    assert _entry_count(ws) == size
    assert _artifact_rows(ws) == []
    assert _salt_rows(ws) == []
    assert verify_case_log(ws, CASE).ok
    # Without the bad file, the same folder imports.
    bad.unlink()
    (result,) = import_chat(ws, CASE, folder)
    assert not result.duplicate
    # tool.registered for the decoy and the analysis tool, the transcript, its analysis
    assert _entry_count(ws) == size + 4


CONTRADICTIONS = {
    "transcript_duplicate_message_id": "line 4: duplicate platform_message_id 'm-1': line 2 has it too",
    "transcript_duplicate_seq": "line 4: duplicate seq 2: line 3 has it too",
    "transcript_edit_unknown_target": "line 4: a deletion of seq 9",
}


def test_contradictory_transcripts_are_refused(case_workspace: Workspace) -> None:
    ws = case_workspace
    size = _entry_count(ws)
    for fixture, message in CONTRADICTIONS.items():
        path = FIXTURES / f"{fixture}.jsonl"
        with pytest.raises(FormatError) as raised:
            import_chat(ws, CASE, path)
        assert raised.value.message.startswith(f"{path} {message}"), raised.value.message
        assert raised.value.exit_code == 3
    assert _entry_count(ws) == size
    assert _artifact_rows(ws) == []


def test_unknown_tool_wrong_kind_and_sealed_case_are_refused(
    case_workspace: Workspace, tmp_path: Path
) -> None:
    ws = case_workspace
    size = _entry_count(ws)
    other_version = tmp_path / "other-version.jsonl"
    other_version.write_bytes(
        (SAMPLES / "conv-0001.jsonl").read_bytes().replace(b'"version":"2.3.1"', b'"version":"9.9.9"', 1)
    )

    with pytest.raises(NotFoundError, match="no tool 'nope'"):
        import_chat(ws, CASE, SAMPLES, tool_spec="nope")
    with pytest.raises(NotFoundError, match=re.escape("no tool 'lantern-decoy@9.9.9'")):
        import_chat(ws, CASE, other_version)
    with pytest.raises(PolicyError, match=r"tool adscraper is a scraper, not a decoy_chatbot"):
        import_chat(ws, CASE, SAMPLES, tool_spec="adscraper")
    with pytest.raises(NotFoundError, match="no case 'OP-NOPE'"):
        import_chat(ws, "OP-NOPE", SAMPLES)
    with pytest.raises(NotFoundError, match="run"):
        import_chat(ws, CASE, SAMPLES, run_id="run-that-does-not-exist")
    assert _entry_count(ws) == size
    assert _artifact_rows(ws) == []

    seal_case(ws, CASE)
    sealed = _entry_count(ws)
    with pytest.raises(PolicyError, match="sealed"):
        import_chat(ws, CASE, SAMPLES)
    assert _entry_count(ws) == sealed
    assert _artifact_rows(ws) == []


def test_run_of_the_decoy_is_named_and_a_run_of_another_tool_is_refused(case_workspace: Workspace) -> None:
    ws = case_workspace
    scraper_run = start_run(ws, CASE, "adscraper", hil_configured="HIL0_MANUAL")
    size = _entry_count(ws)
    with pytest.raises(PolicyError, match="another tool"):
        import_chat(ws, CASE, SAMPLES / "conv-0001.jsonl", run_id=scraper_run.id)
    assert _entry_count(ws) == size
    assert _artifact_rows(ws) == []

    decoy_run = start_run(ws, CASE, "lantern-decoy", hil_configured="HIL2_APPROVED", operator="cole")
    (result,) = import_chat(ws, CASE, SAMPLES / "conv-0001.jsonl", run_id=decoy_run.id)
    (view,) = show_artifact(ws, result.digest, case_id=CASE)
    assert (view.provenance.run, view.provenance.operator) == (decoy_run.id, "cole")


def _encodings(value: bytes) -> list[bytes]:
    return [
        value,
        value.hex().encode(),
        value.hex().upper().encode(),
        base64.b64encode(value).rstrip(b"="),
        base64.urlsafe_b64encode(value).rstrip(b"="),
    ]


def test_salts_never_appear_in_the_ledger(case_workspace: Workspace) -> None:
    ws = case_workspace
    results = import_chat(ws, CASE, SAMPLES)
    salts = [salt for r in results for salt in _salts(ws, r.digest)]
    assert len(salts) == 11 + 7 + 13 + 6 + 11
    assert len(set(salts)) == len(salts)
    entries = list_entries(ws, CASE)
    assert entries
    for row in entries:
        envelope, _ = _unverified_event(bytes(row.entry))
        for where in (bytes(row.entry), envelope.payload):
            for salt in salts:
                for form in _encodings(salt):
                    assert form not in where, f"a salt appears in ledger entry {row.sequence}"
