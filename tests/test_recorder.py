"""The recorder API (``Workspace.run``): records and live conversations, from threads and from
several processes, with a tool's own service key, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from custody.actors import create_key
from custody.caselog import list_entries, verify_case_log
from custody.errors import FormatError, PolicyError
from custody.events import ARTIFACT_RECORDED, CUSTODY_RELEASED, RUN_ENDED, RUN_STARTED
from custody.ledger import ledger_writer, unlock_actor
from custody.models import HIL, HILFunction, HumanInvolvement, Source
from custody.recording import show_artifact
from custody.statement import Subject
from custody.transcript import parse_transcript
from custody.workspace import Workspace
from tests.conftest import PASSPHRASE, REPO

CASE = "OP-TEST"
DECOY = "lantern-decoy@2.3.1"
APPROVED = HumanInvolvement(HIL.HIL2_APPROVED, HILFunction.ACT, approved_by="ana")
CAPTURE_APPROVED = HumanInvolvement(HIL.HIL2_APPROVED, HILFunction.ACQUIRE, approved_by="ana")


def _events(ws: Workspace) -> list[str]:
    return [entry.event_type for entry in list_entries(ws, CASE)]


def _conversation(run, cid: str = "conv-1") -> None:  # type: ignore[no-untyped-def]
    run.conversation(cid, platform="classifieds-messaging", counterpart="user_7781", persona=("ava-v3", "3"))


def test_a_run_records_files_bytes_and_a_live_conversation(case_workspace: Workspace, tmp_path: Path) -> None:
    ws = case_workspace
    page = tmp_path / "ad.html"
    page.write_bytes(b"<html>an ad</html>")
    with ws.run(CASE, DECOY, operator="ana") as run:
        # The decoy's runs are HIL2 (its card's default): a record names who approved it.
        with pytest.raises(FormatError, match="HIL level HIL2_APPROVED names a human"):
            run.record(page)
        from_file = run.record(page, source=Source(url="https://ads.example/1"), hil=CAPTURE_APPROVED)
        from_bytes = run.record(
            b'{"persona": "ava-v3"}', name="state.json", details={"step": 1}, hil=CAPTURE_APPROVED
        )
        _conversation(run)
        first = run.message("conv-1", speaker="counterpart", text="hi, free?", platform_message_id="m-1")
        assert first == 1
        assert (
            run.message(
                "conv-1",
                speaker="decoy",
                authorship="model",
                text="Maybe. Who is this?",
                platform_message_id="m-2",
                model={"snapshot": "chat-large-2026-04-15"},
                hil=APPROVED,
            )
            == 2
        )
        journal = run.journal / "conv-1.jsonl"
        # Every message is on disk (and parses as a transcript) before it is signed in.
        on_disk = parse_transcript(journal.read_bytes(), name="journal")
        assert on_disk.messages[1].text == "Maybe. Who is this?"
        run_id = run.id

    events = _events(ws)
    assert events[events.index(RUN_STARTED) :] == [
        RUN_STARTED,
        ARTIFACT_RECORDED,
        ARTIFACT_RECORDED,
        ARTIFACT_RECORDED,  # the transcript, when the run closed it
        "tool.registered",  # custody's analysis tool, first used in this case
        "artifact.derived",  # the transcript's assisted analysis
        RUN_ENDED,
    ]
    assert not journal.exists()
    (view,) = show_artifact(ws, from_file.digest, case_id=CASE)
    p = view.provenance
    assert (p.run, p.operator, p.hil.level, p.origin.value) == (run_id, "ana", HIL.HIL2_APPROVED, "captured")
    assert p.source.url == "https://ads.example/1"
    (view,) = show_artifact(ws, from_bytes.digest, case_id=CASE)
    assert (view.provenance.name, dict(view.provenance.details or {})) == ("state.json", {"step": 1})
    (transcript,) = run.transcripts
    assert (transcript.messages, transcript.conversation_id, transcript.findings) == (2, "conv-1", 0)
    assert verify_case_log(ws, CASE).ok


def test_a_bad_message_is_refused_before_anything_is_written(case_workspace: Workspace) -> None:
    with case_workspace.run(CASE, DECOY) as run:
        _conversation(run)
        with pytest.raises(FormatError, match="authorship must be one of"):
            run.message("conv-1", speaker="decoy", text="no authorship", platform_message_id="m-1")
        with pytest.raises(FormatError, match="only applies to decoy messages"):
            run.message("conv-1", speaker="counterpart", text="x", platform_message_id="m-1", hil=APPROVED)
        with pytest.raises(PolicyError, match="no conversation 'conv-9' is open"):
            run.message("conv-9", speaker="counterpart", text="x", platform_message_id="m-1")
        assert run.message("conv-1", speaker="counterpart", text="first", platform_message_id="m-1") == 1
    (transcript,) = run.transcripts
    assert transcript.messages == 1
    with pytest.raises(PolicyError, match="has ended"):
        run.record(b"late", name="late.txt", hil=CAPTURE_APPROVED)


def test_a_failing_tool_keeps_what_it_captured(case_workspace: Workspace) -> None:
    def tool_that_fails() -> None:
        with case_workspace.run(CASE, DECOY) as run:
            _conversation(run)
            run.message("conv-1", speaker="counterpart", text="still there?", platform_message_id="m-1")
            raise RuntimeError("platform went away")

    with pytest.raises(RuntimeError, match="platform went away"):
        tool_that_fails()
    kept = [ARTIFACT_RECORDED, "tool.registered", "artifact.derived", RUN_ENDED]
    assert _events(case_workspace)[-4:] == kept


def test_threads_share_one_recorder(case_workspace: Workspace) -> None:
    errors: list[BaseException] = []
    with case_workspace.run(CASE, DECOY) as run:
        for t in range(4):
            _conversation(run, f"conv-{t}")

        def work(t: int) -> None:
            try:
                for i in range(5):
                    run.record(f"thread {t} item {i}".encode(), name=f"t{t}-{i}.txt", hil=CAPTURE_APPROVED)
                    run.message(
                        f"conv-{t}", speaker="counterpart", text=f"m{i}", platform_message_id=f"{t}-{i}"
                    )
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sorted(t.messages for t in run.transcripts) == [5, 5, 5, 5]
    events = _events(case_workspace)
    assert events.count(ARTIFACT_RECORDED) == 20 + 4
    assert verify_case_log(case_workspace, CASE).ok


RECORDER_PROCESS = """
import sys
from pathlib import Path
from custody.workspace import Workspace

root, worker, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
with Workspace.open(root) as ws, ws.run("OP-TEST", "adscraper", actor="scraper-svc") as run:
    for i in range(count):
        run.record(f"process {worker} capture {i}".encode(), name=f"p{worker}-{i}.html")
"""


def test_processes_record_into_one_case_with_a_service_key(case_workspace: Workspace) -> None:
    create_key(case_workspace, "scraper-svc", "tool")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env["CUSTODY_PASSPHRASE"] = PASSPHRASE
    if not case_workspace.database_url.startswith("sqlite"):
        env["CUSTODY_DATABASE_URL"] = case_workspace.database_url
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", RECORDER_PROCESS, str(case_workspace.root), str(w), "8"],
            env=env,
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(3)
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    entries = list_entries(case_workspace, CASE)
    assert [e.sequence for e in entries] == list(range(len(entries)))
    events = [e.event_type for e in entries]
    assert (events.count(RUN_STARTED), events.count(RUN_ENDED), events.count(ARTIFACT_RECORDED)) == (3, 3, 24)
    service_key = unlock_actor(case_workspace, "scraper-svc")[0].key_id
    assert {e.actor for e in entries if e.event_type == ARTIFACT_RECORDED} == {service_key}
    assert verify_case_log(case_workspace, CASE).ok


def test_a_service_key_signs_only_what_a_tool_does(case_workspace: Workspace) -> None:
    create_key(case_workspace, "scraper-svc", "tool")
    actor, signer = unlock_actor(case_workspace, "scraper-svc")
    with (
        pytest.raises(PolicyError, match=r"a tool's service key .* cannot sign custody\.released"),
        ledger_writer(case_workspace, CASE, actor, signer) as writer,
    ):
        writer.append(CUSTODY_RELEASED, [Subject("case:OP-TEST", "0" * 64)], {"to": {"key_id": "x"}})
    assert CUSTODY_RELEASED not in _events(case_workspace)


def test_the_journal_name_of_a_hostile_conversation_id_stays_inside(case_workspace: Workspace) -> None:
    with case_workspace.run(CASE, DECOY) as run:
        _conversation(run, "../../etc/passwd")
        run.message("../../etc/passwd", speaker="counterpart", text="x", platform_message_id="m-1")
        # The only journal written anywhere in or around the workspace is the one in the run's folder.
        everywhere = sorted(case_workspace.root.parent.rglob("*.jsonl"))
        assert everywhere == [next(run.journal.iterdir())]
        (journal,) = everywhere
        assert journal.name.startswith("_.._etc_passwd-")
        assert journal.name.endswith(".jsonl")
    (transcript,) = run.transcripts
    assert transcript.conversation_id == "../../etc/passwd"
