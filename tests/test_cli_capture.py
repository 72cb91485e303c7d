"""``custody import chat``, ``redact``, ``verify-redaction`` and ``lineage`` as a user runs them:
real subprocesses, exit codes (DESIGN.md: 1 refused or failed verification, 2 usage, 3 bad input)
and messages."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, TOOLCARDS, Cli, CliResult, make_cli

CASE = "OP-CLI"
CASE_ARGS = ("case", "open", CASE, "--title", "Lantern", "--jurisdiction", "UK", "--authority", "AUTH/1")
SAMPLES = REPO / "sample_cases" / "op-lantern" / "conversations"
FIXTURES = REPO / "tests" / "fixtures" / "transcripts"
REASON = "third-party personal data"
# What each conversation's "first raised" line says (sample README; assisted, to confirm).
FIRST_RAISED = {
    "conv-0001": "payment by counterpart, sex by counterpart, age by counterpart",
    "conv-0002": "payment by decoy",
    "conv-0003": "payment by counterpart",
    "conv-0004": "nothing",
    "conv-0005": "payment by counterpart, age by counterpart",
}
MESSAGES = {"conv-0001": 10, "conv-0002": 6, "conv-0003": 12, "conv-0004": 5, "conv-0005": 9}
FINDINGS = {"conv-0001": 0, "conv-0002": 0, "conv-0003": 0, "conv-0004": 0, "conv-0005": 2}


def _digest(name: str) -> str:
    return hashlib.sha256((SAMPLES / f"{name}.jsonl").read_bytes()).hexdigest()


def _setup(cli: Cli) -> None:
    cli.ok("init")
    cli.ok("key", "new", "ana", "--role", "investigator")
    cli.ok(*CASE_ARGS)
    cli.ok("tool", "add", TOOLCARDS / "decoy-chatbot.yaml")


def _assert_user_error(result: CliResult, code: int, *fragments: str) -> None:
    text = str(result)
    assert result.code == code, text
    assert result.err.startswith("Error: "), text
    assert "Traceback" not in result.err, text
    for fragment in fragments:
        assert fragment in result.err, text


def _log(cli: Cli) -> str:
    return cli.ok("log", CASE).out


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite workspace after _setup (key ana, case OP-CLI, tool lantern-decoy)."""
    runner = make_cli(tmp_path_factory.mktemp("prepared"), None)
    _setup(runner)
    return runner.cwd / ".custody"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, prepared: Path) -> Path:
    """The prepared workspace with the five sample conversations imported."""
    runner = make_cli(tmp_path_factory.mktemp("imported"), None)
    shutil.copytree(prepared, runner.cwd / ".custody")
    runner.ok("import", "chat", SAMPLES, "--case", CASE)
    return runner.cwd / ".custody"


@pytest.fixture
def ready(cli: Cli, prepared: Path) -> Cli:
    shutil.copytree(prepared, cli.cwd / ".custody")
    return cli


@pytest.fixture
def with_chats(cli: Cli, imported: Path) -> Cli:
    shutil.copytree(imported, cli.cwd / ".custody")
    return cli


def _per_conversation(out: str) -> dict[str, tuple[str, str]]:
    """conversation -> (its 'imported' line, its 'first raised' line)."""
    lines = out.splitlines()
    found = {}
    for i, line in enumerate(lines):
        match = re.match(r"^imported   (.+/(conv-\d{4})\.jsonl): ", line)
        if match:
            found[match.group(2)] = (line, lines[i + 1])
    return found


def test_import_chat_prints_each_conversation_and_again_adds_nothing(
    cli_any_db: Cli, database_url: str | None, prepared: Path
) -> None:
    cli = cli_any_db
    if database_url is None:
        shutil.copytree(prepared, cli.cwd / ".custody")
    else:
        _setup(cli)
    result = cli.ok("import", "chat", SAMPLES, "--case", CASE)

    found = _per_conversation(result.out)
    assert sorted(found) == sorted(FIRST_RAISED)
    for name, (imported, first) in found.items():
        assert imported.startswith(f"imported   {SAMPLES / name}.jsonl: "), imported
        assert f": {MESSAGES[name]} messages, {FINDINGS[name]} finding(s), entry " in imported
        assert f"sha256:{_digest(name)[:16]}..." in imported
        assert first == f"           first raised (assisted, to confirm): {FIRST_RAISED[name]}", name
    assert result.out.splitlines()[-1] == "5 transcript(s) imported, 0 already present"
    log = _log(cli)
    assert log.count("artifact.recorded") == 5
    assert log.count("artifact.derived") == 5

    again = cli.ok("import", "chat", SAMPLES, "--case", CASE)
    unchanged = [line for line in again.out.splitlines() if line.startswith("unchanged  ")]
    assert len(unchanged) == 5
    assert all(": already imported (entry " in line for line in unchanged)
    assert again.out.splitlines()[-1] == "0 transcript(s) imported, 5 already present"
    assert _log(cli) == log


def test_a_malformed_transcript_is_exit_3_naming_file_and_line(ready: Cli) -> None:
    cli = ready
    folder = cli.cwd / "batch"
    folder.mkdir()
    shutil.copy(SAMPLES / "conv-0002.jsonl", folder / "a.jsonl")
    shutil.copy(FIXTURES / "transcript_malformed_line.jsonl", folder / "b.jsonl")
    shutil.copy(FIXTURES / "transcript_duplicate_message_id.jsonl", cli.cwd / "dup.jsonl")
    before = _log(cli)

    _assert_user_error(
        cli("import", "chat", "batch", "--case", CASE),
        3,
        "Error: batch/b.jsonl line 3: the line is not valid JSON",
    )
    _assert_user_error(
        cli("import", "chat", "dup.jsonl", "--case", CASE),
        3,
        "Error: dup.jsonl line 4: duplicate platform_message_id 'm-1': line 2 has it too",
    )
    _assert_user_error(cli("import", "chat", "missing", "--case", CASE), 3, "not found: missing")
    assert _log(cli) == before


def test_redact_verify_tamper_and_lineage(with_chats: Cli) -> None:
    cli = with_chats
    digest = _digest("conv-0001")
    result = cli.ok(
        "redact",
        digest[:12],
        "--case",
        CASE,
        "--keep-speaker",
        "counterpart",
        "--reason",
        REASON,
        "-o",
        "r.json",
    )
    assert result.out.startswith("Wrote r.json: 6 line(s) shown, 5 withheld (recorded as entry "), result.out
    redaction = re.search(r"sha256:([0-9a-f]{16})\.\.\.", result.out)
    assert redaction is not None
    assert hashlib.sha256((cli.cwd / "r.json").read_bytes()).hexdigest().startswith(redaction.group(1))

    verified = cli.ok("verify-redaction", "r.json", "--case", CASE)
    assert verified.out.startswith(
        "VALID: 6 shown line(s) proven unchanged, 5 withheld line(s) proven to exist"
    )

    document = json.loads((cli.cwd / "r.json").read_bytes())
    shown = document["entries"][3]["shown"]
    assert "how much" in shown["line"]
    shown["line"] = shown["line"].replace("how much", "how many")
    (cli.cwd / "tampered.json").write_text(json.dumps(document))
    tampered = cli("verify-redaction", "tampered.json", "--case", CASE)
    _assert_user_error(
        tampered, 1, "entry 3 (transcript line 4, the line says seq 3)", "the line or its salt was changed"
    )
    assert "VALID" not in tampered.out

    lines = cli.ok("lineage", redaction.group(1), "--case", CASE).out.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"conv-0001.redacted.json  sha256:{redaction.group(1)}...  mixed derivative")
    assert "<- redaction showing speakers counterpart" in lines[0]
    assert lines[1].startswith(
        f"  conv-0001.jsonl  sha256:{digest[:16]}...  mixed original, lantern-decoy 2.3.1"
    )


def test_redact_refusals(with_chats: Cli) -> None:
    cli = with_chats
    digest = _digest("conv-0003")
    before = _log(cli)
    base = ("redact", digest, "--case", CASE, "--reason", REASON)

    _assert_user_error(
        cli(*base, "-o", "r.json"),
        3,
        "choose what to show: message numbers (--keep-seq) or speakers (--keep-speaker)",
    )
    _assert_user_error(cli(*base, "--keep-seq", "99", "-o", "r.json"), 1, "no message with seq 99")
    (cli.cwd / "taken.json").write_text("mine")
    _assert_user_error(cli(*base, "--keep-seq", "6", "-o", "taken.json"), 3, "taken.json already exists")
    assert (cli.cwd / "taken.json").read_text() == "mine"
    _assert_user_error(cli(*base, "--keep-seq", "6", "-o", "nodir/r.json"), 3, "cannot create nodir/r.json")
    assert not (cli.cwd / "r.json").exists()
    assert _log(cli) == before
