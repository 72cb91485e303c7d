"""Redacted transcripts (``redact_transcript`` / ``check_redaction``) and artifact lineage, on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from custody.caselog import list_entries, verify_case_log
from custody.commitments import message_commitment
from custody.digests import sha256_hex
from custody.errors import FormatError, InputFileError, IntegrityError, NotFoundError
from custody.importers.chat import ImportedTranscript, import_chat
from custody.models import ArtifactRole, Origin
from custody.recording import RecordOptions, record_files, show_artifact
from custody.redaction import REDACTED_MEDIA_TYPE, check_redaction, lineage, redact_transcript
from custody.workspace import Workspace
from tests.conftest import REPO

CASE = "OP-TEST"
SAMPLES = REPO / "sample_cases" / "op-lantern" / "conversations"
REASON = "not relevant to the charge; third-party personal data"


def _import(ws: Workspace, name: str) -> ImportedTranscript:
    (result,) = import_chat(ws, CASE, SAMPLES / f"{name}.jsonl")
    return result


def _lines(name: str) -> list[bytes]:
    return (SAMPLES / f"{name}.jsonl").read_bytes().rstrip(b"\n").split(b"\n")


def _size(ws: Workspace) -> int:
    return len(list_entries(ws, CASE))


def test_redact_by_speaker_verifies_and_is_a_recorded_derivative(
    case_workspace: Workspace, tmp_path: Path
) -> None:
    ws = case_workspace
    transcript = _import(ws, "conv-0001")
    out = tmp_path / "counterpart-only.json"

    result = redact_transcript(ws, CASE, transcript.digest, out, reason=REASON, speakers=["counterpart"])

    assert (result.shown, result.withheld) == (6, 5)  # the header and 5 counterpart messages
    data = out.read_bytes()
    assert result.digest == sha256_hex(data)
    verified = check_redaction(ws, CASE, out)
    lines = _lines("conv-0001")
    speakers = [json.loads(line).get("speaker") for line in lines]
    expected = [i for i, s in enumerate(speakers) if s in (None, "counterpart")]
    assert [s.position for s in verified.shown] == expected
    assert [s.line for s in verified.shown] == [lines[i] for i in expected]
    assert [w.reason for w in verified.withheld] == [REASON] * 5
    assert not verified.complete
    assert verified.transcript_sha256 == transcript.digest
    # What is withheld is not in the file.
    for i, line in enumerate(lines):
        if i not in expected:
            assert json.loads(line)["text"].encode() not in data

    entry = list_entries(ws, CASE)[result.sequence]
    assert entry.event_type == "artifact.derived"
    (view,) = show_artifact(ws, result.digest, case_id=CASE)
    p = view.provenance
    assert view.signature_ok
    assert p.derived_from == (transcript.digest,)
    assert (p.role, p.origin, p.media_type) == (ArtifactRole.DERIVATIVE, Origin.MIXED, REDACTED_MEDIA_TYPE)
    assert p.transformation == "redaction showing speakers counterpart"
    assert p.details == {
        "kind": "redacted-transcript",
        "reason": REASON,
        "shown_lines": 6,
        "withheld_lines": 5,
    }
    assert verify_case_log(ws, CASE).ok


def test_redact_by_seq_shows_the_events_of_shown_messages(case_workspace: Workspace, tmp_path: Path) -> None:
    ws = case_workspace
    transcript = _import(ws, "conv-0005")
    out = tmp_path / "seq-10.json"

    # A digest prefix is enough, as everywhere else.
    result = redact_transcript(ws, CASE, transcript.digest[:16], out, reason=REASON, seqs=[10, 2])

    verified = check_redaction(ws, CASE, out)
    lines = _lines("conv-0005")
    # Line 1 the header, line 3 seq 2, line 9 seq 10 and line 11 the deletion of seq 10.
    assert [s.position for s in verified.shown] == [0, 2, 8, 10]
    assert [s.line for s in verified.shown] == [lines[i] for i in (0, 2, 8, 10)]
    assert (result.shown, result.withheld) == (4, 7)
    assert len(verified.withheld) == 7
    (view,) = show_artifact(ws, result.digest, case_id=CASE)
    assert view.provenance.transformation == "redaction showing messages 2, 10"

    # The same choice again gives the same bytes (same salts) and records nothing new.
    size = _size(ws)
    again = redact_transcript(
        ws, CASE, transcript.digest, tmp_path / "again.json", reason=REASON, seqs=[10, 2, 2]
    )
    assert (again.digest, again.sequence) == (result.digest, result.sequence)
    assert (tmp_path / "again.json").read_bytes() == out.read_bytes()
    assert _size(ws) == size


def test_showing_everything_rebuilds_the_original(case_workspace: Workspace, tmp_path: Path) -> None:
    ws = case_workspace
    transcript = _import(ws, "conv-0002")
    out = tmp_path / "all.json"
    redact_transcript(ws, CASE, transcript.digest, out, reason=REASON, speakers=["decoy", "counterpart"])
    verified = check_redaction(ws, CASE, out)
    assert verified.complete
    rebuilt = b"\n".join(s.line for s in verified.shown) + b"\n"
    assert rebuilt == (SAMPLES / "conv-0002.jsonl").read_bytes()


def _shown(document: dict[str, Any], position: int) -> dict[str, Any]:
    return document["entries"][position]["shown"]


def _withheld(document: dict[str, Any], position: int) -> dict[str, Any]:
    return document["entries"][position]["withheld"]


def _change_word(document: dict[str, Any]) -> None:
    entry = _shown(document, 3)  # line 4: seq 3, "how much"
    assert "how much" in entry["line"]
    entry["line"] = entry["line"].replace("how much", "how many")


def _change_salt(document: dict[str, Any]) -> None:
    entry = _shown(document, 3)
    entry["salt"] = ("0" if entry["salt"][0] != "0" else "1") + entry["salt"][1:]


def _change_withheld_commitment(document: dict[str, Any]) -> None:
    entry = _withheld(document, 2)
    entry["commitment"] = ("0" if entry["commitment"][0] != "0" else "1") + entry["commitment"][1:]


def _swap_withheld(document: dict[str, Any]) -> None:
    entries = document["entries"]
    entries[2], entries[4] = entries[4], entries[2]


def _drop_withheld(document: dict[str, Any]) -> None:
    del document["entries"][2]
    document["transcript"]["lines"] -= 1


def _change_line_and_commitment(document: dict[str, Any]) -> None:
    # Recompute the commitment for the changed line: the shown entry is consistent, but the
    # commitments no longer lead to the signed root.
    _change_word(document)
    entry = _shown(document, 3)
    entry["commitment"] = message_commitment(bytes.fromhex(entry["salt"]), entry["line"].encode()).hex()


def _claim_another_root(document: dict[str, Any]) -> None:
    document["root"] = "ab" * 32


TAMPERS: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_change_word, r"entry 3 \(transcript line 4, the line says seq 3\).*the line or its salt was changed"),
    (_change_salt, r"entry 3 \(transcript line 4, the line says seq 3\)"),
    (_change_withheld_commitment, "a commitment was changed, added, removed or reordered"),
    (_swap_withheld, "a commitment was changed, added, removed or reordered"),
    (_drop_withheld, "the 10 commitments lead to root"),
    (_change_line_and_commitment, "a commitment was changed, added, removed or reordered"),
    (_claim_another_root, "is for commitment root abab"),
]


def test_a_tampered_redaction_fails_naming_what_changed(case_workspace: Workspace, tmp_path: Path) -> None:
    ws = case_workspace
    transcript = _import(ws, "conv-0001")
    out = tmp_path / "redacted.json"
    redact_transcript(ws, CASE, transcript.digest, out, reason=REASON, speakers=["counterpart"])
    assert len(check_redaction(ws, CASE, out).shown) == 6

    for tamper, message in TAMPERS:
        document = json.loads(out.read_bytes())
        tamper(document)
        forged = tmp_path / f"{tamper.__name__}.json"
        forged.write_text(json.dumps(document))
        with pytest.raises(IntegrityError, match=message):
            check_redaction(ws, CASE, forged)


def test_an_existing_or_unwritable_output_is_refused_and_nothing_is_recorded(
    case_workspace: Workspace, tmp_path: Path
) -> None:
    ws = case_workspace
    transcript = _import(ws, "conv-0001")
    size = _size(ws)
    existing = tmp_path / "exists.json"
    existing.write_bytes(b"keep me")

    with pytest.raises(InputFileError, match="already exists"):
        redact_transcript(ws, CASE, transcript.digest, existing, reason=REASON, speakers=["decoy"])
    assert existing.read_bytes() == b"keep me"
    assert _size(ws) == size

    nowhere = tmp_path / "no-such-folder" / "out.json"
    with pytest.raises(InputFileError, match="no-such-folder"):
        redact_transcript(ws, CASE, transcript.digest, nowhere, reason=REASON, speakers=["decoy"])
    assert _size(ws) == size
    assert not nowhere.parent.exists()


def test_bad_selections_are_refused_and_nothing_is_recorded(
    case_workspace: Workspace, tmp_path: Path
) -> None:
    ws = case_workspace
    transcript = _import(ws, "conv-0001")
    analysis = transcript.analysis_digest
    assert analysis is not None
    size = _size(ws)
    out = tmp_path / "out.json"

    with pytest.raises(FormatError, match=r"choose what to show.*--keep-seq.*--keep-speaker"):
        redact_transcript(ws, CASE, transcript.digest, out, reason=REASON)
    with pytest.raises(FormatError, match="choose what to show"):
        redact_transcript(ws, CASE, transcript.digest, out, reason=REASON, seqs=[1], speakers=["decoy"])
    with pytest.raises(NotFoundError, match="no message with seq 99"):
        redact_transcript(ws, CASE, transcript.digest, out, reason=REASON, seqs=[3, 99])
    with pytest.raises(FormatError, match="speaker"):
        redact_transcript(ws, CASE, transcript.digest, out, reason=REASON, speakers=["bot"])
    with pytest.raises(FormatError, match="reason"):
        redact_transcript(ws, CASE, transcript.digest, out, reason="  ", speakers=["decoy"])
    with pytest.raises(NotFoundError, match="is not an imported transcript"):
        redact_transcript(ws, CASE, analysis, out, reason=REASON, speakers=["decoy"])
    with pytest.raises(NotFoundError, match="no artifact"):
        redact_transcript(ws, CASE, "ab" * 32, out, reason=REASON, speakers=["decoy"])
    assert _size(ws) == size
    assert not out.exists()


def test_lineage_of_a_redaction_and_of_an_analysis(case_workspace: Workspace, tmp_path: Path) -> None:
    ws = case_workspace
    transcript = _import(ws, "conv-0003")
    out = tmp_path / "r.json"
    redaction = redact_transcript(ws, CASE, transcript.digest, out, reason=REASON, seqs=[6, 8])

    steps = lineage(ws, CASE, redaction.digest)
    assert [(s.depth, s.view.provenance.digest) for s in steps] == [
        (0, redaction.digest),
        (1, transcript.digest),
    ]
    assert [s.view.provenance.role for s in steps] == [ArtifactRole.DERIVATIVE, ArtifactRole.ORIGINAL]
    assert steps[0].view.provenance.name == "conv-0003.redacted.json"
    assert all(s.view.signature_ok for s in steps)

    assert transcript.analysis_digest is not None
    steps = lineage(ws, CASE, transcript.analysis_digest)
    assert [(s.depth, s.view.provenance.digest) for s in steps] == [
        (0, transcript.analysis_digest),
        (1, transcript.digest),
    ]
    # An original's lineage is itself.
    assert [(s.depth, s.view.provenance.digest) for s in lineage(ws, CASE, transcript.digest)] == [
        (0, transcript.digest)
    ]


def test_lineage_of_a_two_step_derivation_chain(case_workspace: Workspace, tmp_path: Path) -> None:
    ws = case_workspace
    files = {}
    for name, text in (("ad.png", b"\x89PNG screenshot"), ("ad.txt", b"ocr text"), ("ad-en.txt", b"english")):
        files[name] = tmp_path / name
        files[name].write_bytes(text)
    (shot,) = record_files(ws, CASE, [files["ad.png"]], tool_spec="adscraper")
    (ocr,) = record_files(
        ws,
        CASE,
        [files["ad.txt"]],
        tool_spec="adscraper",
        options=RecordOptions(derived_from=(shot.digest[:12],), transformation="OCR"),
    )
    (translation,) = record_files(
        ws,
        CASE,
        [files["ad-en.txt"]],
        tool_spec="adscraper",
        options=RecordOptions(derived_from=(ocr.digest,), transformation="translation ro->en"),
    )

    steps = lineage(ws, CASE, translation.digest[:16])
    assert [(s.depth, s.view.provenance.digest) for s in steps] == [
        (0, translation.digest),
        (1, ocr.digest),
        (2, shot.digest),
    ]
    assert [s.view.provenance.transformation for s in steps] == ["translation ro->en", "OCR", None]
    assert [s.view.provenance.name for s in steps] == ["ad-en.txt", "ad.txt", "ad.png"]
    with pytest.raises(NotFoundError):
        lineage(ws, CASE, "cd" * 32)
