"""``custody demo`` runs the sample case end to end and its log verifies."""

from __future__ import annotations

from tests.conftest import Cli


def test_demo_runs_end_to_end(cli: Cli) -> None:
    result = cli.ok("demo", "--out", "out")
    for step in (
        "custody init",
        "key new ana",
        "case open OP-LANTERN",
        "tool add",
        "run start",
        "record",
        "import chat",
        "custody redact",
        "unchanged: already recorded",
        "custody show",
        "custody checkpoint",
        "custody transfer",
        "accept",
        "cosign",
        "--verify",
        "bundle OP-LANTERN",
        "custody verify",
    ):
        assert step in result.out, step
    assert "[FAIL]" not in result.out
    assert "Result: VALID, not anchored to a trusted key" in result.out
    bundle = cli.cwd / "out" / "OP-LANTERN-disclosure.zip"
    assert f"Disclosure bundle: {bundle.resolve()}" in result.out
    assert cli.ok("verify", bundle).out.splitlines()[-1] == "Result: VALID, not anchored to a trusted key"
    workspace = cli.cwd / "out" / "workspace"
    verified = cli.ok("--workspace", workspace, "log", "OP-LANTERN", "--verify")
    assert "Result: VALID" in verified.out
    lines = cli.ok("--workspace", workspace, "log", "OP-LANTERN").out.splitlines()
    assert lines[0].split()[2] == "case.opened"
    assert sum("artifact.recorded" in line for line in lines) == 7  # ad, translation, 5 transcripts
    assert sum("artifact.derived" in line for line in lines) == 6  # 5 analyses, 1 redaction
    assert (
        "conv-0002.jsonl: 6 messages, 0 finding(s); first raised (assisted): payment by decoy" in result.out
    )
    redacted = cli.cwd / "out" / "conv-0002.redacted.json"
    assert (
        "VALID" in cli.ok("--workspace", workspace, "verify-redaction", redacted, "--case", "OP-LANTERN").out
    )
    assert lines[-1] == "Custodian: cole"
    listed = cli.ok("--workspace", workspace, "checkpoint", "OP-LANTERN", "--list").out
    assert "signed by custody-log-" in listed
    assert ", cole" in listed
