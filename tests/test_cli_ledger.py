"""The ledger commands as a user runs them (real subprocesses): transfer, accept, export-artifact,
show --content, checkpoint, cosign, prove, case seal, key revoke, fsck and ``log``'s custodian line;
exit codes and ``Error: ...`` messages without tracebacks."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from custody import merkle
from custody.actors import create_key
from custody.caselog import list_entries
from custody.cases import open_case
from custody.checkpoint import SignedNote, open_checkpoint
from custody.events import _unverified_event
from custody.keys import KdfParams, PublicKey, encrypt_private_key
from custody.recording import record_files
from custody.tools import register_tool
from custody.workspace import Workspace
from tests.conftest import TOOLCARDS, Cli, assert_error, passphrase_callback

CASE = "OP-CLI"
AD = b"<html>an advert for a phone</html>"
AD_DIGEST = hashlib.sha256(AD).hexdigest()


@pytest.fixture(autouse=True, scope="module")
def _fast_key_files() -> Iterator[None]:
    """The prepared workspace's key files use the cheapest Argon2id parameters custody accepts, so
    each command unlocks its key quickly (the end-to-end test creates real keys with the CLI)."""
    with pytest.MonkeyPatch.context() as patch:
        assert encrypt_private_key.__kwdefaults__ is not None
        patch.setitem(encrypt_private_key.__kwdefaults__, "params", KdfParams(1, 1, 8 * 1024))
        yield


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite workspace made once per module (in process, for speed) and copied by ``ready``:
    keys ana (investigator, default), bob (investigator), carol (custodian) and pat (prosecutor);
    case OP-CLI opened by ana, in which ana recorded ad.html and bob recorded bob.html."""
    base = tmp_path_factory.mktemp("prepared")
    with Workspace.init(base, passphrase_callback=passphrase_callback) as ws:
        for name, role in (("ana", "investigator"), ("bob", "investigator"), ("carol", "custodian")):
            create_key(ws, name, role)
        create_key(ws, "pat", "prosecutor")
        open_case(ws, CASE, title="CLI case", jurisdictions=["UK"], authority="AUTH/1")
        register_tool(ws, TOOLCARDS / "scraper.yaml")
        (base / "ad.html").write_bytes(AD)
        (base / "bob.html").write_bytes(b"<html>bob's capture</html>")
        record_files(ws, CASE, [base / "ad.html"], tool_spec="adscraper")
        record_files(ws, CASE, [base / "bob.html"], tool_spec="adscraper", actor_name="bob")
    return base / ".custody"


@pytest.fixture
def ready(cli: Cli, prepared: Path) -> Cli:
    """``cli`` in a copy of the prepared workspace."""
    shutil.copytree(prepared, cli.cwd / ".custody")
    return cli


def custodian_line(cli: Cli) -> str:
    return cli.ok("log", CASE).out.splitlines()[-1]


def log_entries(cli: Cli) -> list[bytes]:
    with Workspace.open(cli.cwd, passphrase_callback=passphrase_callback) as ws:
        return [row.entry for row in list_entries(ws, CASE)]


def open_with_published_log_key(cli: Cli, note: bytes) -> tuple[int, bytes]:
    """Open a checkpoint with the log key that the case's case.opened entry publishes."""
    _, opened = _unverified_event(log_entries(cli)[0])
    log = opened.body["log"]
    key = PublicKey.from_hex(log["public_key"])
    checkpoint = open_checkpoint(note, [(log["note_name"], key)], origin=log["origin"])
    return checkpoint.size, checkpoint.root_hash


def test_transfer_and_accept(ready: Cli) -> None:
    cli = ready
    assert custodian_line(cli) == "Custodian: ana"
    assert_error(
        cli("--as", "bob", "transfer", "--case", CASE, "--to", "carol"), 1, "bob is not the custodian"
    )

    released = cli.ok("transfer", "--case", CASE, "--to", "bob", "--reason", "end of shift")
    sequence = len(log_entries(cli)) - 1
    assert released.out == (
        f"Released custody of {CASE} to bob (entry {sequence}); waiting for bob to accept\n"
    )
    assert custodian_line(cli) == f"Custodian: ana (released at entry {sequence}, not yet accepted)"

    pending = cli("log", CASE, "--verify")
    assert pending.code == 1, str(pending)
    assert "[FAIL] custody passed hand to hand" in pending.out
    assert f"- entry {sequence}: release to " in pending.out
    assert pending.out.rstrip().endswith("Result: INVALID")
    assert "Traceback" not in pending.err

    assert_error(cli("accept", "--case", CASE), 1, f"custody of {CASE} was released to bob, not ana")
    accepted = cli.ok("--as", "bob", "accept", "--case", CASE)
    assert accepted.out == f"Accepted custody of {CASE} (entry {sequence + 1})\n"
    assert custodian_line(cli) == "Custodian: bob"
    report = json.loads(cli.ok("log", CASE, "--verify", "--json").out)
    assert report["valid"] is True, report


def test_export_artifact_and_show_content(ready: Cli) -> None:
    cli = ready
    exported = cli.ok(
        "export-artifact", AD_DIGEST[:12], "--case", CASE, "-o", "copy.html", "--purpose", "court"
    )
    sequence = len(log_entries(cli)) - 1
    assert exported.out == f"Wrote sha256:{AD_DIGEST} to copy.html (access recorded as entry {sequence})\n"
    assert exported.err == ""  # ana is the custodian: no warning
    assert (cli.cwd / "copy.html").read_bytes() == AD
    assert_error(
        cli("export-artifact", AD_DIGEST, "--case", CASE, "-o", "copy.html"), 3, "copy.html already exists"
    )
    assert len(log_entries(cli)) == sequence + 1  # the refused export recorded nothing

    shown = cli.ok("show", AD_DIGEST, "--content", "--case", CASE)
    assert shown.out.encode() == AD
    usage = cli("show", AD_DIGEST, "--content")
    assert usage.code == 2, str(usage)
    assert "--content needs --case" in usage.err
    assert "Traceback" not in usage.err

    by_bob = cli.ok("--as", "bob", "show", AD_DIGEST, "--content", "--case", CASE)
    assert by_bob.out.encode() == AD
    assert "Warning: you are not this case's custodian" in by_bob.err
    flagged = cli("log", CASE, "--verify")
    assert flagged.code == 1, str(flagged)
    assert f"- entry {sequence + 2}: artifact accessed by bob (" in flagged.out


def test_checkpoint_cosign_and_prove(ready: Cli) -> None:
    cli = ready
    note = cli.ok("checkpoint", CASE).out.encode()
    entries = log_entries(cli)
    size, root = open_with_published_log_key(cli, note)
    assert (size, root) == (len(entries), merkle.mth(entries))

    cosigned = cli.ok("--as", "pat", "cosign", CASE)
    assert cosigned.err == "# cosigned by pat\n"
    assert cosigned.out.encode().startswith(note)  # the text and the log's line are unchanged
    assert [s.name for s in SignedNote.from_bytes(cosigned.out.encode()).signatures][1:] == ["pat"]
    assert open_with_published_log_key(cli, cosigned.out.encode()) == (size, root)
    assert_error(cli("--as", "pat", "cosign", CASE), 1, f"pat already cosigned the checkpoint of {CASE}")
    (listed,) = cli.ok("checkpoint", CASE, "--list").out.splitlines()
    assert listed.startswith(f"size {size:>6}  root {root.hex()[:16]}...  manual")
    assert listed.endswith(", pat")

    proof = json.loads(cli.ok("prove", CASE, "2", "--json").out)
    assert (proof["case"], proof["entry"], proof["tree_size"]) == (CASE, 2, size)
    assert proof["leaf_hash"] == merkle.leaf_hash(entries[2]).hex()
    assert proof["root_hash"] == root.hex()
    assert proof["root_hash_base64"] == note.decode().splitlines()[2]  # the checkpoint's root line
    path = [bytes.fromhex(node) for node in proof["inclusion_path"]]
    merkle.verify_inclusion(merkle.leaf_hash(entries[2]), 2, size, path, root)
    assert_error(cli("prove", CASE, "99"), 1, f"case {CASE} has no entry 99")


def test_seal(ready: Cli) -> None:
    cli = ready
    assert_error(
        cli("--as", "bob", "case", "seal", CASE), 1, f"only the custodian of {CASE} (ana) can seal it"
    )
    sealed = cli.ok("case", "seal", CASE)
    entries = log_entries(cli)
    assert sealed.out == (
        f"Sealed {CASE} at entry {len(entries) - 1}; checkpoint size {len(entries)}, "
        f"root {merkle.mth(entries).hex()}\n"
    )
    (cli.cwd / "late.html").write_text("late")
    assert_error(
        cli("record", "late.html", "--case", CASE, "--tool", "adscraper"), 1, f"case {CASE} was sealed at"
    )
    assert custodian_line(cli).startswith("Custodian: ana; sealed ")
    assert "Result: VALID" in cli.ok("log", CASE, "--verify").out
    assert len(log_entries(cli)) == len(entries)


def test_key_revoke(ready: Cli) -> None:
    cli = ready
    assert_error(
        cli("--as", "bob", "key", "revoke", "ana", "--reason", "hostile"),
        1,
        "only ana or a custodian may revoke ana's key",
    )
    revoked = cli.ok("--as", "carol", "key", "revoke", "bob", "--reason", "lost laptop")
    entries = log_entries(cli)
    assert revoked.out == f"Revoked key bob\n  {CASE}: key.revoked at entry {len(entries) - 1}\n"
    (cli.cwd / "late.html").write_text("late")
    assert_error(
        cli("--as", "bob", "record", "late.html", "--case", CASE, "--tool", "adscraper"),
        1,
        "key 'bob' (",
        "was revoked at",
    )
    keys = {key["name"]: key for key in json.loads(cli.ok("key", "list", "--json").out)}
    assert keys["bob"]["revoked_at"] is not None
    assert keys["carol"]["revoked_at"] is None


def test_fsck_notes_cleaning_and_corruption(ready: Cli) -> None:
    cli = ready
    clean = json.loads(cli.ok("fsck", "--json").out)
    assert (clean["valid"], clean["notes"]) == (True, [])
    stray = cli.cwd / ".custody" / "blobs" / "tmp" / "incoming-xyz"
    stray.write_bytes(b"half a capture")
    an_hour_ago = time.time() - 3601
    os.utime(stray, (an_hour_ago, an_hour_ago))  # a younger one may belong to a running record
    noted = cli.ok("fsck")
    assert (
        "Note: 1 temporary file(s) of interrupted or running writes "
        "(remove those older than an hour with --clean)" in noted.out
    )
    assert noted.out.rstrip().endswith("Workspace: CONSISTENT")
    assert "(removed 1;" in cli.ok("fsck", "--clean").out
    assert not stray.exists()

    blob = cli.cwd / ".custody" / "blobs" / "sha256" / AD_DIGEST[:2] / AD_DIGEST
    blob.chmod(0o644)
    blob.write_bytes(b"<html>an advert for a gun</html>")
    before = len(log_entries(cli))
    assert_error(
        cli("export-artifact", AD_DIGEST, "--case", CASE, "-o", "copy.html"),
        1,
        f"blob {AD_DIGEST} is corrupt",
    )
    assert not (cli.cwd / "copy.html").exists()
    assert len(log_entries(cli)) == before  # no access recorded for bytes never released
    broken = cli("fsck")
    assert broken.code == 1, str(broken)
    assert f"blob {AD_DIGEST} is corrupt" in broken.out
    assert broken.out.rstrip().endswith("Workspace: INCONSISTENT")


def test_transfer_export_checkpoint_end_to_end(cli_any_db: Cli) -> None:
    """From ``custody init`` with real keys, on SQLite and on PostgreSQL."""
    cli = cli_any_db
    cli.ok("init")
    cli.ok("key", "new", "ana", "--role", "investigator")
    cli.ok("key", "new", "bob", "--role", "investigator")
    cli.ok("case", "open", CASE, "--title", "CLI case", "--jurisdiction", "UK", "--authority", "AUTH/1")
    cli.ok("tool", "add", TOOLCARDS / "scraper.yaml")
    (cli.cwd / "ad.html").write_bytes(AD)
    cli.ok("record", "ad.html", "--case", CASE, "--tool", "adscraper")
    cli.ok("transfer", "--case", CASE, "--to", "bob")
    cli.ok("--as", "bob", "accept", "--case", CASE)
    exported = cli.ok("--as", "bob", "export-artifact", AD_DIGEST, "--case", CASE, "-o", "copy.html")
    assert "Warning" not in exported.err  # bob is the custodian now
    assert (cli.cwd / "copy.html").read_bytes() == AD
    cli.ok("checkpoint", CASE)
    log = cli.ok("log", CASE).out.splitlines()
    assert [line.split()[2] for line in log[:-1]] == [
        "case.opened",
        "tool.registered",
        "artifact.recorded",
        "custody.released",
        "key.added",
        "custody.accepted",
        "artifact.accessed",
    ]
    assert log[-1] == "Custodian: bob"
    verified = cli.ok("log", CASE, "--verify")
    assert "[FAIL]" not in verified.out
    assert verified.out.rstrip().endswith("Result: VALID")
