"""Keys, cases, tools, runs and signed artifact records, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest
from sqlmodel import Session, select

from custody import db
from custody.actors import create_key, list_actors
from custody.caselog import list_entries, verify_case_log
from custody.cases import get_case, open_case
from custody.errors import FormatError, InputFileError, IntegrityError, NotFoundError, PolicyError
from custody.events import _unverified_event
from custody.ledger import ledger_writer, unlock_actor
from custody.models import (
    HIL,
    ArtifactRole,
    HILFunction,
    HumanInvolvement,
    Origin,
    Provenance,
    Source,
    ToolRef,
)
from custody.recording import RecordOptions, append_new_artifact_records, record_files, show_artifact
from custody.runs import end_run, start_run
from custody.tools import register_tool, resolve_tool
from custody.workspace import Workspace
from tests.conftest import PASSPHRASE, TOOLCARDS


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _events(ws: Workspace, case_id: str = "OP-TEST") -> list[str]:
    return [row.event_type for row in list_entries(ws, case_id)]


def test_key_file_is_private_and_encrypted(workspace: Workspace) -> None:
    path = workspace.key_path("ana")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert PASSPHRASE not in text
    (actor,) = list_actors(workspace)
    assert actor.name == "ana"
    assert workspace.config.default_actor == "ana"
    assert json.loads(text)["key_id"] == actor.key_id


def test_duplicate_and_invalid_keys_are_refused(workspace: Workspace) -> None:
    with pytest.raises(PolicyError, match="already exists"):
        create_key(workspace, "ana", "analyst")
    with pytest.raises(FormatError, match="role must be one of"):
        create_key(workspace, "bo", "sheriff")
    with pytest.raises(FormatError, match="key name"):
        create_key(workspace, "../evil", "analyst")
    assert [a.name for a in list_actors(workspace)] == ["ana"]


def test_case_opens_with_a_signed_first_entry(case_workspace: Workspace) -> None:
    summary = get_case(case_workspace, "OP-TEST")
    assert summary.jurisdictions == ["UK"]
    entries = list_entries(case_workspace, "OP-TEST")
    assert [e.sequence for e in entries] == [0]
    _, event = _unverified_event(entries[0].entry)
    assert event.event_type == "case.opened"
    assert event.body["opened_by"]["name"] == "ana"
    with pytest.raises(PolicyError, match="already exists"):
        open_case(case_workspace, "OP-TEST", title="x", jurisdictions=["US"], authority="y")
    with pytest.raises(FormatError, match="jurisdiction"):
        open_case(case_workspace, "OP-2", title="x", jurisdictions=["Narnia!"], authority="y")


def test_tool_registration_is_idempotent_and_versions_are_immutable(
    case_workspace: Workspace, tmp_path: Path
) -> None:
    again = register_tool(case_workspace, TOOLCARDS / "scraper.yaml")
    assert not again.created
    assert case_workspace.store.exists(again.tool.card_digest)
    changed = tmp_path / "scraper.yaml"
    changed.write_text(
        (TOOLCARDS / "scraper.yaml").read_text().replace("timeout_seconds: 60", "timeout_seconds: 90")
    )
    with pytest.raises(PolicyError, match="already registered with another card"):
        register_tool(case_workspace, changed)


def test_decoy_card_stores_prompt_and_persona(case_workspace: Workspace) -> None:
    registration = register_tool(case_workspace, TOOLCARDS / "decoy-chatbot.yaml", case_id="OP-TEST")
    card = json.loads(registration.tool.card_json)
    prompt_digest = card["model"]["system_prompt"]["digest"]["sha256"]
    stored = case_workspace.store.read_bytes(prompt_digest)
    assert stored == (TOOLCARDS / "decoy-chatbot" / "system-prompt.txt").read_bytes()
    assert _events(case_workspace) == ["case.opened", "tool.registered"]


def test_record_signs_provenance_and_repeats_are_no_ops(case_workspace: Workspace, tmp_path: Path) -> None:
    page = _write(tmp_path, "ad.html", b"<html>ad 1</html>")
    options = RecordOptions(
        source=Source(url="https://ads.example/1", platform="ads.example"),
        captured_at="2026-06-03T21:20:05+02:00",
    )
    (first,) = record_files(case_workspace, "OP-TEST", [page], tool_spec="adscraper", options=options)
    assert not first.duplicate
    assert _events(case_workspace) == ["case.opened", "tool.registered", "artifact.recorded"]
    (again,) = record_files(case_workspace, "OP-TEST", [page], tool_spec="adscraper", options=options)
    assert again.duplicate
    assert again.sequence == first.sequence
    assert len(list_entries(case_workspace, "OP-TEST")) == 3
    (view,) = show_artifact(case_workspace, first.digest[:10])
    assert view.signature_ok
    assert view.blob_error is None
    assert view.signer_name == "ana"
    p = view.provenance
    assert (p.origin.value, p.role.value, p.hil.level) == ("captured", "original", HIL.HIL0_MANUAL)
    assert p.captured_at == "2026-06-03T19:20:05Z"  # normalised to UTC
    assert p.source.url == "https://ads.example/1"
    assert p.tool.name == "adscraper"
    # The same bytes with another claim are a second, separate record.
    (other,) = record_files(
        case_workspace,
        "OP-TEST",
        [page],
        tool_spec="adscraper",
        options=RecordOptions(captured_at="2026-06-04T00:00:00Z"),
    )
    assert not other.duplicate
    assert len(show_artifact(case_workspace, first.digest)) == 2


def test_derivatives_name_their_parents(case_workspace: Workspace, tmp_path: Path) -> None:
    (parent,) = record_files(
        case_workspace, "OP-TEST", [_write(tmp_path, "a.html", b"ad")], tool_spec="adscraper"
    )
    child_file = _write(tmp_path, "a.txt", b"translation")
    (child,) = record_files(
        case_workspace,
        "OP-TEST",
        [child_file],
        tool_spec="adscraper",
        options=RecordOptions(derived_from=(parent.digest[:8],), transformation="translation ro->en"),
    )
    (view,) = show_artifact(case_workspace, child.digest)
    assert view.provenance.derived_from == (parent.digest,)
    assert view.provenance.role.value == "derivative"
    assert view.provenance.origin.value == "generated"
    with pytest.raises(NotFoundError, match="no artifact"):
        record_files(
            case_workspace,
            "OP-TEST",
            [child_file],
            tool_spec="adscraper",
            options=RecordOptions(derived_from=("ab" * 8,)),
        )


def test_a_missing_file_records_nothing(case_workspace: Workspace, tmp_path: Path) -> None:
    good = _write(tmp_path, "good.html", b"good")
    before = list_entries(case_workspace, "OP-TEST")
    with pytest.raises(InputFileError, match=r"missing\.html"):
        record_files(case_workspace, "OP-TEST", [good, tmp_path / "missing.html"], tool_spec="adscraper")
    assert list_entries(case_workspace, "OP-TEST") == before
    assert not any(
        case_workspace.store.exists(d) for d in [__import__("hashlib").sha256(b"good").hexdigest()]
    )


def test_hil_is_never_guessed(case_workspace: Workspace, tmp_path: Path) -> None:
    reply = _write(tmp_path, "reply.txt", b"bot reply")
    with pytest.raises(FormatError, match="HIL2_APPROVED names a human"):
        record_files(case_workspace, "OP-TEST", [reply], tool_spec="lantern-decoy")
    (outcome,) = record_files(
        case_workspace,
        "OP-TEST",
        [reply],
        tool_spec="lantern-decoy",
        options=RecordOptions(origin="generated", approved_by="ana"),
    )
    (view,) = show_artifact(case_workspace, outcome.digest)
    assert view.provenance.hil.level is HIL.HIL2_APPROVED  # the card's default_hil
    assert view.provenance.hil.function.value == "act"


def test_runs_set_defaults_and_close(case_workspace: Workspace, tmp_path: Path) -> None:
    run = start_run(
        case_workspace, "OP-TEST", "lantern-decoy", hil_configured="HIL3_SUPERVISED", supervisor="cole"
    )
    (outcome,) = record_files(
        case_workspace,
        "OP-TEST",
        [_write(tmp_path, "m.txt", b"msg")],
        tool_spec=None,
        options=RecordOptions(run=run.id),
    )
    (view,) = show_artifact(case_workspace, outcome.digest)
    assert view.provenance.run == run.id
    assert view.provenance.hil.level is HIL.HIL3_SUPERVISED
    assert view.provenance.hil.supervised_by == "cole"
    end_run(case_workspace, "OP-TEST", run.id)
    with pytest.raises(PolicyError, match="ended"):
        record_files(
            case_workspace,
            "OP-TEST",
            [_write(tmp_path, "n.txt", b"n")],
            tool_spec=None,
            options=RecordOptions(run=run.id),
        )
    run2 = start_run(case_workspace, "OP-TEST", "lantern-decoy", hil_configured="HIL0_MANUAL")
    with pytest.raises(PolicyError, match="another tool"):
        record_files(
            case_workspace,
            "OP-TEST",
            [_write(tmp_path, "o.txt", b"o")],
            tool_spec="adscraper",
            options=RecordOptions(run=run2.id),
        )


def test_second_actor_is_introduced_by_a_self_signed_key_added(
    case_workspace: Workspace, tmp_path: Path
) -> None:
    create_key(case_workspace, "bo", "analyst")
    record_files(
        case_workspace, "OP-TEST", [_write(tmp_path, "x", b"x")], tool_spec="adscraper", actor_name="bo"
    )
    assert _events(case_workspace) == ["case.opened", "key.added", "tool.registered", "artifact.recorded"]
    assert verify_case_log(case_workspace, "OP-TEST").ok


def test_revoked_key_cannot_sign(case_workspace: Workspace, tmp_path: Path) -> None:
    with Session(case_workspace.engine) as session:
        actor = session.exec(select(db.ActorRow)).one()
        actor.revoked_at = "2026-01-01T00:00:00Z"
        session.add(actor)
        session.commit()
    with pytest.raises(PolicyError, match="revoked"):
        record_files(case_workspace, "OP-TEST", [_write(tmp_path, "x", b"x")], tool_spec="adscraper")


def test_unknown_names_are_not_found(case_workspace: Workspace, tmp_path: Path) -> None:
    f = _write(tmp_path, "x", b"x")
    with pytest.raises(NotFoundError, match="no case 'OP-NOPE'"):
        record_files(case_workspace, "OP-NOPE", [f], tool_spec="adscraper")
    with pytest.raises(NotFoundError, match="no tool 'nope'"):
        record_files(case_workspace, "OP-TEST", [f], tool_spec="nope")
    with pytest.raises(NotFoundError, match="no key named 'nobody'"):
        record_files(case_workspace, "OP-TEST", [f], tool_spec="adscraper", actor_name="nobody")


def _tamper_entry(ws: Workspace, sequence: int) -> None:
    with Session(ws.engine) as session:
        row = session.get(db.LedgerEntryRow, ("OP-TEST", sequence))
        assert row is not None
        data = bytearray(row.entry)
        index = data.index(b'"payload":"') + 40  # inside the signed payload
        data[index] = ord("A") if data[index] != ord("A") else ord("B")
        row.entry = bytes(data)
        session.add(row)
        session.commit()


def test_verify_detects_a_one_byte_change_to_a_stored_envelope(
    case_workspace: Workspace, tmp_path: Path
) -> None:
    (outcome,) = record_files(case_workspace, "OP-TEST", [_write(tmp_path, "a", b"a")], tool_spec="adscraper")
    assert verify_case_log(case_workspace, "OP-TEST").ok
    _tamper_entry(case_workspace, outcome.sequence)
    report = verify_case_log(case_workspace, "OP-TEST")
    assert not report.ok
    failures = [f for check in report.checks for f in check.failures]
    assert any(f.startswith(f"entry {outcome.sequence}") for f in failures), failures
    with pytest.raises(IntegrityError, match=f"OP-TEST entry {outcome.sequence} .* is corrupt"):
        show_artifact(case_workspace, outcome.digest)


def test_verify_detects_a_one_byte_change_to_a_blob(case_workspace: Workspace, tmp_path: Path) -> None:
    (outcome,) = record_files(
        case_workspace, "OP-TEST", [_write(tmp_path, "a", b"abcdef")], tool_spec="adscraper"
    )
    path = case_workspace.store.path_for(outcome.digest)
    path.chmod(0o644)
    path.write_bytes(b"abcdeg")
    report = verify_case_log(case_workspace, "OP-TEST")
    assert not report.ok
    assert any(outcome.digest in f for check in report.checks for f in check.failures)
    (view,) = show_artifact(case_workspace, outcome.digest)
    assert view.blob_error is not None
    assert outcome.digest in view.blob_error


def _bulk_payload(number: int) -> bytes:
    return f"<p>listing {number}</p>".encode()


def _bulk_provenance(number: int) -> Provenance:
    return Provenance(
        digest=hashlib.sha256(_bulk_payload(number)).hexdigest(),
        size=len(_bulk_payload(number)),
        media_type="text/html",
        name=f"{number:05d}-page.html",
        origin=Origin.CAPTURED,
        role=ArtifactRole.ORIGINAL,
        hil=HumanInvolvement(HIL.HIL0_MANUAL, HILFunction.ACQUIRE),
        tool=ToolRef("adscraper", "1.4.0", "a" * 64),
        operator="ana",
        details={"number": number},
    )


def test_new_records_built_and_signed_on_both_cores_verify(case_workspace: Workspace) -> None:
    ws = case_workspace
    for number in range(600):
        ws.store.put_bytes(_bulk_payload(number))
    actor, signer = unlock_actor(ws, None)
    before = len(list_entries(ws, "OP-TEST"))
    with ledger_writer(ws, "OP-TEST", actor, signer) as writer:
        tool = resolve_tool(writer.session, "adscraper")
        sequences = append_new_artifact_records(writer, tool, _bulk_provenance, range(600))
    entries = list_entries(ws, "OP-TEST")
    assert sequences == list(range(len(entries) - 600, len(entries)))
    assert len(entries) >= before + 600
    assert verify_case_log(ws, "OP-TEST").ok
    [view] = show_artifact(ws, _bulk_provenance(599).digest, case_id="OP-TEST", verify_blob=False)
    assert view.signature_ok
    assert view.provenance == _bulk_provenance(599)
    assert view.sequence == sequences[-1]


def test_new_records_already_recorded_are_refused_whole(case_workspace: Workspace) -> None:
    ws = case_workspace
    ws.store.put_bytes(_bulk_payload(7))
    actor, signer = unlock_actor(ws, None)
    with ledger_writer(ws, "OP-TEST", actor, signer) as writer:
        tool = resolve_tool(writer.session, "adscraper")
        append_new_artifact_records(writer, tool, _bulk_provenance, [7])
    size = len(list_entries(ws, "OP-TEST"))
    with (
        pytest.raises(IntegrityError, match="1 of 300 new records are recorded already"),
        ledger_writer(ws, "OP-TEST", actor, signer) as writer,
    ):
        append_new_artifact_records(writer, tool, _bulk_provenance, range(300))
    assert len(list_entries(ws, "OP-TEST")) == size
    assert verify_case_log(ws, "OP-TEST").ok
