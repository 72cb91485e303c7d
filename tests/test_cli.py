"""The ``custody`` command as a user runs it: real subprocesses, exit codes and messages."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import TOOLCARDS, Cli, make_cli

MODEL_CARD = "name: x\nversion: '1'\nkind: ocr\nmodel:\n  provider: p\n  model_id: m\n  snapshot: s\n"
CASE_ARGS = ("case", "open", "OP-CLI", "--title", "CLI case", "--jurisdiction", "UK", "--authority", "AUTH/1")


def _setup(cli: Cli) -> None:
    cli.ok("init")
    cli.ok("key", "new", "ana", "--role", "investigator")
    cli.ok(*CASE_ARGS)
    cli.ok("tool", "add", TOOLCARDS / "scraper.yaml")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite workspace after _setup, made once per module and copied by ``ready``."""
    base = tmp_path_factory.mktemp("prepared")
    runner = make_cli(base, None)
    _setup(runner)
    return runner.cwd / ".custody"


@pytest.fixture
def ready(cli: Cli, prepared: Path) -> Cli:
    """``cli`` in a copy of the prepared workspace (key ana, case OP-CLI, tool adscraper)."""
    shutil.copytree(prepared, cli.cwd / ".custody")
    return cli


def _assert_user_error(result: object, code: int, *fragments: str) -> None:
    text = str(result)
    assert result.code == code, text  # type: ignore[attr-defined]
    assert result.err.startswith("Error: "), text  # type: ignore[attr-defined]
    assert "Traceback" not in result.err, text  # type: ignore[attr-defined]
    for fragment in fragments:
        assert fragment in result.err, text  # type: ignore[attr-defined]


def test_end_to_end_record_show_log(cli_any_db: Cli) -> None:
    cli = cli_any_db
    _setup(cli)
    (cli.cwd / "ad.html").write_text("<html>ad</html>")
    record = ("record", "ad.html", "--case", "OP-CLI", "--tool", "adscraper")
    claims = ("--source", "https://ads.example/1", "--captured-at", "2026-06-03T21:20:05Z")
    result = cli.ok(*record, *claims)
    assert "recorded   ad.html: sha256:" in result.out
    digest = result.out.split("sha256:")[1].split()[0]
    again = cli.ok(*record, *claims)
    assert "unchanged" in again.out
    shown = cli.ok("show", digest[:12])
    assert f"sha256:{digest}" in shown.out
    assert "signature:       valid" in shown.out
    assert "https://ads.example/1" in shown.out
    as_json = json.loads(cli.ok("show", digest, "--json").out)
    assert as_json[0]["provenance"]["artifact"]["digest"]["sha256"] == digest
    log = cli.ok("log", "OP-CLI").out.splitlines()
    assert [line.split()[2] for line in log[:-1]] == ["case.opened", "tool.registered", "artifact.recorded"]
    assert log[-1] == "Custodian: ana"
    verified = cli.ok("log", "OP-CLI", "--verify")
    assert "Result: VALID" in verified.out
    report = json.loads(cli.ok("log", "OP-CLI", "--verify", "--json").out)
    assert report["valid"] is True
    assert [c["status"] for c in report["checks"]] == ["OK"] * len(report["checks"])


def test_lists_and_exports(ready: Cli) -> None:
    cli = ready
    keys = json.loads(cli.ok("key", "list", "--json").out)
    assert keys[0]["name"] == "ana"
    assert keys[0]["default"] is True
    pem = cli.ok("key", "export", "ana").out
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert "PRIVATE" not in pem
    key_id = cli.ok("key", "export", "ana", "--format", "keyid").out.strip()
    assert key_id == keys[0]["key_id"]
    (cli.cwd / "ana.pem").write_text(pem)
    openssl = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", "ana.pem", "-noout"], cwd=cli.cwd, check=False
    )
    assert openssl.returncode == 0
    assert json.loads(cli.ok("case", "list", "--json").out)[0]["id"] == "OP-CLI"
    assert "OP-CLI" in cli.ok("case", "show", "OP-CLI").out
    assert "adscraper" in cli.ok("tool", "list").out
    assert json.loads(cli.ok("tool", "show", "adscraper").out)["kind"] == "scraper"


def test_runs_from_the_cli(ready: Cli) -> None:
    cli = ready
    cli.ok("tool", "add", TOOLCARDS / "decoy-chatbot.yaml", "--case", "OP-CLI")
    run_id = cli.ok(
        "run",
        "start",
        "--case",
        "OP-CLI",
        "--tool",
        "lantern-decoy",
        "--hil",
        "HIL3_SUPERVISED",
        "--supervisor",
        "cole",
    ).out.strip()
    (cli.cwd / "reply.txt").write_text("hello")
    cli.ok("record", "reply.txt", "--case", "OP-CLI", "--run", run_id, "--origin", "generated")
    assert "open" in cli.ok("run", "list", "OP-CLI").out
    cli.ok("run", "end", run_id, "--case", "OP-CLI")
    (cli.cwd / "late.txt").write_text("late")
    _assert_user_error(cli("record", "late.txt", "--case", "OP-CLI", "--run", run_id), 1, "ended")


def test_missing_file_is_exit_3_and_records_nothing(ready: Cli) -> None:
    cli = ready
    (cli.cwd / "a.html").write_text("a")
    before = cli.ok("log", "OP-CLI").out
    _assert_user_error(
        cli("record", "a.html", "nope.html", "--case", "OP-CLI", "--tool", "adscraper"), 3, "nope.html"
    )
    assert cli.ok("log", "OP-CLI").out == before
    _assert_user_error(cli("tool", "add", "missing.yaml"), 3, "missing.yaml")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("record", "a.html", "--case", "OP-NOPE", "--tool", "adscraper"), "no case 'OP-NOPE'"),
        (("record", "a.html", "--case", "OP-CLI", "--tool", "nope"), "no tool 'nope'"),
        (
            ("--as", "nobody", "record", "a.html", "--case", "OP-CLI", "--tool", "adscraper"),
            "no key named 'nobody'",
        ),
        (("show", "deadbeefdeadbeef"), "no artifact deadbeefdeadbeef"),
        (("log", "OP-NOPE"), "no case 'OP-NOPE'"),
        (("key", "export", "nobody"), "no key named 'nobody'"),
    ],
)
def test_unknown_names_exit_1(ready: Cli, args: tuple[str, ...], fragment: str) -> None:
    cli = ready
    (cli.cwd / "a.html").write_text("a")
    _assert_user_error(cli(*args), 1, fragment)


def test_invalid_enum_value_is_a_usage_error(ready: Cli) -> None:
    cli = ready
    (cli.cwd / "a.html").write_text("a")
    result = cli("record", "a.html", "--case", "OP-CLI", "--tool", "adscraper", "--hil", "HIL9_ROBOT")
    assert result.code == 2, str(result)
    assert "HIL9_ROBOT" in result.err
    assert "Traceback" not in result.err


def test_wrong_passphrase_is_refused_and_writes_nothing(ready: Cli) -> None:
    cli = ready
    (cli.cwd / "a.html").write_text("a")
    before = cli.ok("log", "OP-CLI").out
    result = cli(
        "record", "a.html", "--case", "OP-CLI", "--tool", "adscraper", env={"CUSTODY_PASSPHRASE": "wrong"}
    )
    _assert_user_error(result, 1, "wrong passphrase for key 'ana'")
    assert "wrong" not in result.err.replace("wrong passphrase", "")
    assert cli.ok("log", "OP-CLI").out == before


def test_passphrase_is_prompted_when_not_in_the_environment(ready: Cli) -> None:
    cli = ready
    (cli.cwd / "a.html").write_text("a")
    env = {k: v for k, v in cli.env.items() if k != "CUSTODY_PASSPHRASE"}
    prompted = Cli(cli.cwd, env)
    result = prompted(
        "record", "a.html", "--case", "OP-CLI", "--tool", "adscraper", stdin="correct horse battery staple\n"
    )
    assert result.code == 0, str(result)
    assert "Passphrase for key 'ana'" in result.err


@pytest.mark.parametrize(
    ("card", "code", "fragment"),
    [
        ("name: [unclosed", 3, "not valid YAML"),
        ("- just\n- a list\n", 3, "must be a mapping"),
        ("name: x\nversion: '1'\nkind: teleporter\n", 3, "kind must be one of"),
        ("version: '1'\nkind: ocr\n", 3, "'name' is required"),
        (
            MODEL_CARD + "  replayable: maybe\n",
            3,
            "replayable",
        ),
        (
            MODEL_CARD + "  replayable: true\n  system_prompt: ../../etc/passwd\n",
            3,
            "stay inside",
        ),
    ],
)
def test_malformed_tool_cards(cli: Cli, card: str, code: int, fragment: str) -> None:
    cli.ok("init")
    (cli.cwd / "card.yaml").write_text(card)
    _assert_user_error(cli("tool", "add", "card.yaml"), code, "card.yaml", fragment)
    assert cli.ok("tool", "list").out.startswith("No tools yet")


def test_no_workspace_is_a_clear_error(cli: Cli) -> None:
    _assert_user_error(cli("case", "list"), 1, "no custody workspace", "custody init")


def test_init_twice_and_workspace_option(cli: Cli, tmp_path: Path) -> None:
    cli.ok("init", "elsewhere")
    _assert_user_error(cli("init", "elsewhere"), 1, "already holds a custody workspace")
    assert "No cases yet" in cli.ok("--workspace", "elsewhere", "case", "list").out
    assert "No cases yet" in cli.ok("case", "list", env={"CUSTODY_WORKSPACE": str(cli.cwd / "elsewhere")}).out


def test_every_command_has_help(cli: Cli) -> None:
    top = cli.ok("--help").out
    for command in ("init", "key", "case", "tool", "run", "record", "show", "log", "demo"):
        assert command in top
    for path in (
        ("init",),
        ("key", "new"),
        ("key", "list"),
        ("key", "export"),
        ("case", "open"),
        ("case", "list"),
        ("case", "show"),
        ("tool", "add"),
        ("tool", "list"),
        ("tool", "show"),
        ("run", "start"),
        ("run", "end"),
        ("run", "list"),
        ("record",),
        ("show",),
        ("log",),
        ("demo",),
    ):
        text = cli.ok(*path, "--help").out
        assert "Usage: custody" in text
        assert len(text.splitlines()) > 4, path


def test_debug_shows_a_traceback(cli: Cli) -> None:
    result = cli("--debug", "case", "list")
    assert result.code == 1
    assert "Traceback" in result.err
    assert "Error: no custody workspace" in result.err
