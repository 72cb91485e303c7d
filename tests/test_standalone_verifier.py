"""The standalone verifier shipped in every bundle (``verify_bundle.py``) against ``custody verify``:
the same checks, statuses, verdict and exit code on the untouched bundle (zip and folder), on every
tampering of tests/test_bundle.py (and a few that recompute the manifests, so the deeper checks
decide), on hostile archives, and with --trust; on bundles that withhold artifacts (selective
disclosure) and every tampering with what they withhold; run here and, in a fresh venv, with
PyNaCl alone."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from custody import bundle as exporter
from custody import merkle
from custody.bag import BAGIT_TXT, BagFile, bag_info_text, manifest_text, write_zip
from custody.bundle_layout import FORMAT, artifact_path
from custody.canonical import parse_json_object
from custody.checkpoint import Checkpoint, sign_checkpoint
from custody.disclosure import WithheldEntry
from custody.dossier_model import DOSSIER
from custody.errors import FormatError
from custody.events import ARTIFACT_RECORDED, CASE_OPENED, CASE_SEALED, _unverified_event
from custody.exhibits import exhibit_index, ledger_keys
from custody.keys import PublicKey
from custody.models import HIL, ArtifactRole, HILFunction, HumanInvolvement, Origin, Provenance, ToolRef
from custody.standalone import verify_bundle as standalone
from custody.statement import Subject
from custody.timeutil import parse_rfc3339
from custody.workspace import Workspace
from custody_cli.main import cli as custody_command
from tests import test_bundle
from tests.conftest import PASSPHRASE, REPO, TOOLCARDS, CliResult, make_cli
from tests.core.ledger_builder import CASE_ID, LedgerBuilder, fixed_signer, key_description

SCRIPT = Path(standalone.__file__)

# The module-scoped bundle of tests/test_bundle.py: sample case (b) exported by cole.
exported = test_bundle.exported


def _run_script(target: Path | None, *extra: str, python: str = sys.executable, cwd: Path | None = None):
    command = [python, str(SCRIPT if cwd is None else cwd / "verify_bundle.py")]
    command += [str(target)] if target is not None else []
    return subprocess.run(
        [*command, "--json", *extra], capture_output=True, text=True, check=False, cwd=cwd, timeout=120
    )


def _custody_verify(target: Path, *extra: str) -> CliResult:
    """``custody verify TARGET --json ...``: the real click command, run in-process (a subprocess
    per bundle would make this file several times slower; tests/test_bundle.py runs it as one)."""
    result = CliRunner().invoke(custody_command, ["verify", str(target), "--json", *extra])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback from custody verify is a bug, not a verdict
    return CliResult(result.exit_code, result.stdout, result.stderr)


def _assert_same(target: Path, *extra: str) -> dict[str, Any]:
    """Run both verifiers on ``target``; they must agree; return the standalone report (or {})."""
    reference = _custody_verify(target, *extra)
    ours = _run_script(target, *extra)
    assert "Traceback" not in reference.err + ours.stderr, (reference, ours.stderr)
    assert ours.returncode == reference.code, (str(reference), ours.stdout, ours.stderr)
    if reference.code == 3:
        assert ours.stdout == ""
        assert ours.stderr.startswith("Error: "), ours.stderr
        assert ours.stderr == reference.err  # the same reason, word for word
        return {}
    expected, found = json.loads(reference.out), json.loads(ours.stdout)
    assert found["verdict"] == expected["verdict"]
    assert [(c["number"], c["title"], c["status"]) for c in found["checks"]] == [
        (c["number"], c["title"], c["status"]) for c in expected["checks"]
    ]
    assert found == expected  # subject, failure messages and anchors too
    return dict(found)


def _unzip(bundle: Path, into: Path) -> Path:
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(into)
    (top,) = into.iterdir()
    return top


@pytest.fixture
def bag(exported: tuple[Path, Path, str], tmp_path: Path) -> Path:
    return _unzip(exported[1], tmp_path / "unzipped")


def test_the_bundle_ships_the_verifier_as_a_tag_file(bag: Path) -> None:
    shipped = bag / "verify_bundle.py"
    assert shipped.read_bytes() == SCRIPT.read_bytes()
    digest = hashlib.sha256(shipped.read_bytes()).hexdigest()
    assert f"{digest}  verify_bundle.py\n" in (bag / "tagmanifest-sha256.txt").read_text()
    assert "python3 verify_bundle.py" in (bag / "VERIFY.md").read_text()
    assert "when the bundle includes it" not in (bag / "VERIFY.md").read_text()


def test_untouched_bundle_zip_and_folder(exported: tuple[Path, Path, str], bag: Path) -> None:
    for target in (exported[1], bag):
        report = _assert_same(target)
        assert report["verdict"] == "VALID, not anchored to a trusted key"
        assert [c["number"] for c in report["checks"]] == list(range(1, 14))


def test_run_inside_the_unzipped_bag_without_arguments(bag: Path) -> None:
    result = subprocess.run(
        [sys.executable, "verify_bundle.py"], cwd=bag, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Verification of bundle {bag.name}:"
    assert lines[-1] == "Result: VALID, not anchored to a trusted key"
    assert sum(line.startswith("  ") and "[OK]" in line for line in lines) == 13


def _log_key_id(bag: Path) -> str:
    return str(json.loads((bag / "data" / "keys" / "keys.json").read_text())["log"]["key_id"])


def test_trust(exported: tuple[Path, Path, str], bag: Path) -> None:
    _, bundle, cole = exported
    fingerprint = ":".join(cole[i : i + 4] for i in range(0, 16, 4))
    anchored = _assert_same(bundle, "--trust", fingerprint)
    assert anchored["verdict"] == "VALID, anchored to a trusted key"
    assert anchored["anchored_by"] == [cole]
    both = _assert_same(bag, "--trust", "0123456789abcdef", "--trust", _log_key_id(bag)[:20])
    assert both["anchored_by"] == [_log_key_id(bag)]
    stranger = _assert_same(bundle, "--trust", "0123456789abcdef")
    assert stranger["verdict"] == "INVALID"
    assert stranger["checks"][-1]["number"] == 14
    assert stranger["checks"][-1]["status"] == "FAIL"
    for odd in ("sha256:" + cole, cole[:15], cole.upper()):
        _assert_same(bundle, "--trust", odd)


@pytest.mark.parametrize("mutation", sorted(test_bundle.MUTATIONS))
def test_every_tampering_gives_the_same_report(bag: Path, mutation: str) -> None:
    change, expected = test_bundle.MUTATIONS[mutation]
    change(bag)
    report = _assert_same(bag)
    assert report["verdict"] == "INVALID"
    failed = {c["number"] for c in report["checks"] if c["status"] == "FAIL"}
    assert set(expected) <= failed
    # With --trust the tampered bundle stays invalid, in both.
    _assert_same(bag, "--trust", _log_key_id(bag))


def _reseal(bag: Path) -> None:
    """Recompute both manifests after a change (what an attacker can do; the signature stays)."""
    for manifest in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
        lines = []
        for line in (bag / manifest).read_text().splitlines():
            _, path = line.split("  ", 1)
            lines.append(f"{hashlib.sha256((bag / path).read_bytes()).hexdigest()}  {path}\n")
        (bag / manifest).write_text("".join(lines))


def _edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n")


def _drop_last_entry(bag: Path) -> None:
    entries = bag / "data" / "ledger" / "entries.jsonl"
    entries.write_bytes(b"".join(line + b"\n" for line in entries.read_bytes().split(b"\n")[:-2]))


def _reorder_entries(bag: Path) -> None:
    entries = bag / "data" / "ledger" / "entries.jsonl"
    lines = entries.read_bytes().split(b"\n")[:-1]
    lines[5], lines[6] = lines[6], lines[5]
    entries.write_bytes(b"".join(line + b"\n" for line in lines))


def _garble_entry(bag: Path) -> None:
    entries = bag / "data" / "ledger" / "entries.jsonl"
    lines = entries.read_bytes().split(b"\n")[:-1]
    lines[2] = (
        b'{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"","sig":""}]}'
    )
    lines[3] = b" " + lines[3]
    entries.write_bytes(b"".join(line + b"\n" for line in lines))


def _swap_checkpoint_signature(bag: Path) -> None:
    note = bag / "data" / "ledger" / "checkpoint"
    text = note.read_text()
    head, signature = text.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(signature))
    raw[10] ^= 1
    note.write_text(head + " " + base64.b64encode(bytes(raw)).decode() + "\n")


def _withdraw_artifact(bag: Path) -> None:
    artifact = test_bundle._first_artifact(bag)
    listed = f"  {artifact.relative_to(bag).as_posix()}\n"
    artifact.unlink()
    manifest = bag / "manifest-sha256.txt"
    manifest.write_text("".join(line for line in manifest.read_text().splitlines(True) if listed not in line))


RESEALED: dict[str, Callable[[Path], None]] = {
    "exhibits.json renumbered": lambda b: _edit_json(
        b / "data" / "exhibits.json", lambda d: d["exhibits"].reverse()
    ),
    "keys.json role changed": lambda b: _edit_json(
        b / "data" / "keys" / "keys.json", lambda d: d["keys"][0].update(role="prosecutor")
    ),
    "keys.json exporter changed": lambda b: _edit_json(
        b / "data" / "keys" / "keys.json", lambda d: d.update(exporter="0" * 64)
    ),
    "last entry dropped": _drop_last_entry,
    "entries reordered": _reorder_entries,
    "entries garbled": _garble_entry,
    "checkpoint signature changed": _swap_checkpoint_signature,
    "an artifact withdrawn from the bag and its manifest": _withdraw_artifact,
    "verify_bundle.py edited": lambda b: (b / "verify_bundle.py").write_text("print('all fine')\n"),
}


@pytest.mark.parametrize("mutation", sorted(RESEALED))
def test_tampering_behind_recomputed_manifests(bag: Path, mutation: str) -> None:
    RESEALED[mutation](bag)
    _reseal(bag)
    report = _assert_same(bag)
    assert report["verdict"] == "INVALID"
    assert report["checks"][6]["status"] == "FAIL"  # 7: the manifests are no longer the signed ones


@pytest.mark.parametrize("case", sorted(test_bundle.HOSTILE))
def test_hostile_archives_are_refused_the_same_way(tmp_path: Path, case: str) -> None:
    members, symlink, message = test_bundle.HOSTILE[case]
    path = test_bundle._zip_with(tmp_path, members, symlink=symlink)
    _assert_same(path)
    result = _run_script(path)
    assert result.returncode == 3
    assert message in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.zip"]  # nothing written


def test_unreadable_inputs_exit_3(exported: tuple[Path, Path, str], tmp_path: Path) -> None:
    cut = tmp_path / "cut.zip"
    cut.write_bytes(exported[1].read_bytes()[:-200])
    _assert_same(cut)
    _assert_same(tmp_path / "missing.zip")
    not_a_bag = tmp_path / "empty"
    not_a_bag.mkdir()
    _assert_same(not_a_bag)


def test_a_tampered_zip(exported: tuple[Path, Path, str], tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(exported[1]) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("data/exhibits.json"):
                data = data.replace(b'"exhibit":1,', b'"exhibit":2,')
            dst.writestr(info, data)
    assert _assert_same(tampered)["verdict"] == "INVALID"


# --- selective disclosure: bundles that withhold artifacts -----------------------------------------

WCASE = "WH-1"
PAGE, IMAGE, CHAT = b"<html>an advert</html>", b"\x89PNG not really an image", b"hello"
DIGEST = {
    name: hashlib.sha256(data).hexdigest()
    for name, data in (("page", PAGE), ("image", IMAGE), ("chat", CHAT))
}
PRIVATE = "victim's image"


@pytest.fixture(scope="module")
def withheld_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small case exported by cole four times: in full, withholding the page ("one"), the page and
    the image ("two"), and the image alone, which is recorded twice, around the chat ("several").
    Entries: 2 the page, 3 and 5 the image, 4 the chat; then the custody transfer to cole."""
    cli = make_cli(tmp_path_factory.mktemp("withheld"), None)
    cli.ok("init")
    cli.ok("key", "new", "ana", "--role", "investigator")
    cli.ok("key", "new", "cole", "--role", "custodian")
    cli.ok("case", "open", WCASE, "--title", "W", "--jurisdiction", "UK", "--authority", "AUTH/9")
    cli.ok("tool", "add", TOOLCARDS / "scraper.yaml")
    for name, data in (("page.html", PAGE), ("victim.png", IMAGE), ("chat.txt", CHAT)):
        (cli.cwd / name).write_bytes(data)
    cli.ok("record", "page.html", "victim.png", "--case", WCASE, "--tool", "adscraper")
    cli.ok("record", "chat.txt", "--case", WCASE, "--tool", "adscraper")
    cli.ok("record", "victim.png", "--case", WCASE, "--tool", "adscraper", "--note", "seen again")
    cli.ok("transfer", "--case", WCASE, "--to", "cole", "--reason", "to the exhibits officer")
    cli.ok("--as", "cole", "accept", "--case", WCASE)
    withholdings = {
        "full": (),
        "one": (("page", "not relevant"),),
        "two": (("page", "not relevant"), ("image", PRIVATE)),
        "several": (("image", PRIVATE),),
    }
    bundles = {}
    for label, withhold in withholdings.items():
        bundles[label] = cli.cwd / f"{label}.zip"
        options = [
            text for name, reason in withhold for text in ("--withhold", DIGEST[name], "--reason", reason)
        ]
        out = cli.ok("--as", "cole", "bundle", WCASE, "-o", bundles[label], *options).out
        assert (f"({len(withhold)} withheld)" in out) == bool(withhold), out
    bundles["cole"] = Path(cli.ok("key", "export", "cole", "--format", "keyid").out.strip())  # a key id
    return bundles


def _failed(report: dict[str, Any]) -> dict[int, list[str]]:
    return {c["number"]: c["failures"] for c in report["checks"] if c["status"] == "FAIL"}


@pytest.mark.parametrize("label", ["one", "two", "several"])
def test_withheld_bundles_verify_the_same(
    withheld_bundles: dict[str, Path], tmp_path: Path, label: str
) -> None:
    bundle = withheld_bundles[label]
    bag = _unzip(bundle, tmp_path / "bag")
    for target in (bundle, bag):
        report = _assert_same(target)
        assert report["verdict"] == "VALID, not anchored to a trusted key", _failed(report)
        assert [c["number"] for c in report["checks"]] == list(range(1, 14))
    cole = withheld_bundles["cole"].name
    assert _assert_same(bundle, "--trust", cole[:16])["anchored_by"] == [cole]
    # What the verifiers accepted: lines that stand in for the withheld entries, the schedule, and
    # the exhibit numbers of the full disclosure.
    schedule = json.loads((bag / "data" / "withheld.json").read_bytes())["withheld"]
    full = _unzip(withheld_bundles["full"], tmp_path / "full")
    full_exhibits = json.loads((full / "data" / "exhibits.json").read_bytes())["exhibits"]
    exhibits = json.loads((bag / "data" / "exhibits.json").read_bytes())["exhibits"]
    assert [(e["exhibit"], e["sha256"], e["records"]) for e in exhibits] == [
        (e["exhibit"], e["sha256"], e["records"]) for e in full_exhibits
    ]
    withheld = {e["sha256"]: e for e in exhibits if "withheld" in e}
    assert {item["sha256"] for item in schedule} == set(withheld)
    assert len(withheld) == (2 if label == "two" else 1)
    if label == "several":
        assert schedule == [
            {"exhibit": 2, "sha256": DIGEST["image"], "scope": "record", "entries": [3, 5], "reason": PRIVATE}
        ]
    lines = _ledger_lines(bag)
    full_lines = _ledger_lines(full)
    for item in schedule:
        assert not list((bag / "data" / "artifacts").glob(item["sha256"] + "*"))
        for index in item["entries"]:
            assert lines[index] == _withheld_line(merkle.leaf_hash(full_lines[index]), item["reason"])


def _ledger_lines(bag: Path) -> list[bytes]:
    return (bag / "data" / "ledger" / "entries.jsonl").read_bytes().split(b"\n")[:-1]


def _write_lines(bag: Path, lines: list[bytes]) -> None:
    (bag / "data" / "ledger" / "entries.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def _withheld_line(leaf: bytes, reason: str) -> bytes:
    return WithheldEntry(leaf, reason).to_line()


def _set_line(index: int, line: bytes) -> Callable[[Path], None]:
    def change(bag: Path) -> None:
        lines = _ledger_lines(bag)
        lines[index] = line
        _write_lines(bag, lines)

    return change


def _edit_line(index: int, **changes: Any) -> Callable[[Path], None]:
    """Change fields of withheld line ``index`` (leaf_hash stays first, as the format needs)."""

    def change(bag: Path) -> None:
        lines = _ledger_lines(bag)
        document = {**json.loads(lines[index]), **changes}
        lines[index] = json.dumps(document, separators=(",", ":")).encode()
        _write_lines(bag, lines)

    return change


def _forge_withheld(index: int, reason: str) -> Callable[[Path], None]:
    """Replace disclosed entry ``index`` by a withheld line with its true leaf hash."""

    def change(bag: Path) -> None:
        lines = _ledger_lines(bag)
        lines[index] = _withheld_line(merkle.leaf_hash(lines[index]), reason)
        _write_lines(bag, lines)

    return change


def _schedule(change: Callable[[list[dict[str, Any]]], None]) -> Callable[[Path], None]:
    return lambda bag: _edit_json(bag / "data" / "withheld.json", lambda d: change(d["withheld"]))


def _add_back_the_page(bag: Path) -> None:
    inner = artifact_path(DIGEST["page"], "page.html")
    (bag / inner).write_bytes(PAGE)
    with (bag / "manifest-sha256.txt").open("a") as manifest:
        manifest.write(f"{DIGEST['page']}  {inner}\n")


def _forge_a_complete_withholding(bag: Path) -> None:
    """Withhold the chat as the exporter would have: line, schedule, exhibits.json, bytes removed."""
    _forge_withheld(4, "forged")(bag)
    _schedule(
        lambda s: s.append(
            {"exhibit": 3, "sha256": DIGEST["chat"], "scope": "record", "entries": [4], "reason": "forged"}
        )
    )(bag)
    chat = {"exhibit": 3, "sha256": DIGEST["chat"], "records": [4], "withheld": "forged"}
    _edit_json(bag / "data" / "exhibits.json", lambda d: d["exhibits"].__setitem__(2, chat))
    inner = artifact_path(DIGEST["chat"], "chat.txt")
    (bag / inner).unlink()
    manifest = bag / "manifest-sha256.txt"
    manifest.write_text("".join(line for line in manifest.read_text().splitlines(True) if inner not in line))


def _hide_the_release(bag: Path) -> None:
    """The custody release, withheld under an invented artifact: check 11 sees an acceptance of
    nothing; the invented exhibit is not in exhibits.json."""
    lines = _ledger_lines(bag)
    (release,) = [n for n, line in enumerate(lines) if b"custody.released" in _payload(line)]
    _forge_withheld(release, "not relevant")(bag)
    item = {
        "exhibit": 4,
        "sha256": "e" * 64,
        "scope": "record",
        "entries": [release],
        "reason": "not relevant",
    }
    _schedule(lambda s: s.append(item))(bag)


def _payload(line: bytes) -> bytes:
    document = json.loads(line)
    return base64.b64decode(document["payload"]) if "payload" in document else b""


# bundle, change to the unzipped bag, whether both manifests are then recomputed (a forger's
# move: check 7 fails, but the deeper checks are reached), {failing check: a fragment of a failure}
# (exactly the failing checks).
WITHHELD_TAMPERING: dict[str, tuple[str, Callable[[Path], None], bool, dict[int, str]]] = {
    "a withheld line's leaf hash changed": (
        "one",
        _edit_line(2, leaf_hash="0" * 64),
        True,
        {7: "tagmanifest-sha256.txt.sig", 9: "the entries give"},
    ),
    "a withheld line's leaf hash changed, manifests untouched": (
        "several",
        _edit_line(5, leaf_hash="0" * 64),
        False,
        {1: "data/ledger/entries.jsonl: expected sha256", 9: "the entries give"},
    ),
    "a withheld line's reason changed": (
        "several",
        _edit_line(5, withheld="nothing to see"),
        True,
        {
            7: "",
            12: "entry 5 is withheld for 'nothing to see' in data/ledger/entries.jsonl, not \"victim's",
        },
    ),
    "the schedule's reason changed": (
        "two",
        _schedule(lambda s: s[1].update(reason="other")),
        True,
        {7: "", 12: "entry 3 is withheld for \"victim's image\" in data/ledger/entries.jsonl, not 'other'"},
    ),
    "the schedule emptied": (
        "one",
        _schedule(lambda s: s.clear()),
        True,
        {7: "", 12: "entry 2 is withheld ('not relevant') but data/withheld.json does not schedule it"},
    ),
    "one of two records unscheduled": (
        "several",
        _schedule(lambda s: s[0].update(entries=[3])),
        True,
        {7: "", 12: 'entry 5 is withheld ("victim\'s image") but data/withheld.json does not schedule it'},
    ),
    "a disclosed entry scheduled": (
        "one",
        _schedule(lambda s: s[0].update(entries=[2, 4])),
        True,
        {7: "", 12: "entry 4 is scheduled as withheld but is not withheld in data/ledger/entries.jsonl"},
    ),
    "an entry past the end scheduled": (
        "one",
        _schedule(lambda s: s[0].update(entries=[2, 99])),
        True,
        {7: "", 12: "entry 99 is scheduled as withheld but is not withheld"},
    ),
    "an entry scheduled twice": (
        "two",
        _schedule(lambda s: s[1].update(entries=[2, 3, 5])),
        True,
        {7: "", 12: "item 1: entry 2 is already scheduled for " + DIGEST["page"][:16]},
    ),
    "the schedule's digest changed": (
        "one",
        _schedule(lambda s: s[0].update(sha256="f" * 64)),
        True,
        {7: "", 12: "exhibits.json does not match"},
    ),
    "a withheld artifact's bytes added back": (
        "one",
        _add_back_the_page,
        True,
        {7: "", 12: "exhibit 1 is scheduled as withheld, but its bytes are in the bundle"},
    ),
    "a withheld artifact's bytes added back, unlisted": (
        "one",
        lambda bag: (bag / artifact_path(DIGEST["page"], "page.html")).write_bytes(PAGE),
        False,
        {1: "present but not listed in manifest-sha256.txt"},
    ),
    "a disclosed entry replaced by a forged withheld line": (
        "one",
        _forge_withheld(4, "forged"),
        True,
        {7: "", 12: "entry 4 is withheld ('forged') but data/withheld.json does not schedule it"},
    ),
    "a disclosed entry replaced by a withheld line with another leaf": (
        "several",
        _set_line(4, _withheld_line(b"\x01" * 32, "forged")),
        True,
        {7: "", 9: "the entries give", 12: "does not schedule it"},
    ),
    "a disclosed entry withheld as the exporter would have": (
        "one",
        _forge_a_complete_withholding,
        True,
        {7: ""},
    ),
    "the custody release hidden as a withheld entry": (
        "one",
        _hide_the_release,
        True,
        {7: "", 11: "accepts custody, but no release is pending", 12: "exhibits.json does not match"},
    ),
}


@pytest.mark.parametrize("tampering", sorted(WITHHELD_TAMPERING))
def test_tampering_with_what_is_withheld(
    withheld_bundles: dict[str, Path], tmp_path: Path, tampering: str
) -> None:
    label, change, reseal, expected = WITHHELD_TAMPERING[tampering]
    bag = _unzip(withheld_bundles[label], tmp_path / "bag")
    change(bag)
    if reseal:
        _reseal(bag)
    report = _assert_same(bag)
    assert report["verdict"] == "INVALID"
    failed = _failed(report)
    assert set(failed) == set(expected), failed
    for number, fragment in expected.items():
        assert any(fragment in message for message in failed[number]), (number, fragment, failed[number])


# --- redacted transcripts: check 13 ----------------------------------------------------------------

RCASE = "OP-LANTERN"
CONVERSATIONS = REPO / "sample_cases" / "op-lantern" / "conversations"
REDACTION_REASON = "the counterpart's messages hold third-party personal data"
STAND_IN = "the counterpart's personal data; the redacted copy stands in"


@pytest.fixture(scope="module")
def redacted_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo's setup from the CLI: the op-lantern conversations imported in a HIL2 run
    supervised by cole, one of them redacted to the decoy's lines, then exported by cole in full
    ("full") and withholding the redacted transcript's original ("parent withheld")."""
    cli = make_cli(tmp_path_factory.mktemp("redacted"), None)
    cli.ok("init")
    cli.ok("key", "new", "ana", "--role", "investigator")
    cli.ok("key", "new", "cole", "--role", "custodian")
    cli.ok("case", "open", RCASE, "--title", "Decoy", "--jurisdiction", "UK", "--authority", "AUTH/7")
    cli.ok("tool", "add", TOOLCARDS / "decoy-chatbot.yaml", "--case", RCASE)
    run = (
        cli.ok(
            "run",
            "start",
            "--case",
            RCASE,
            "--tool",
            "lantern-decoy",
            "--hil",
            "HIL2_APPROVED",
            "--supervisor",
            "cole",
        )
        .out.strip()
        .split()[-1]
    )
    cli.ok("import", "chat", CONVERSATIONS, "--case", RCASE, "--run", run)
    cli.ok("run", "end", run, "--case", RCASE)
    transcript = sorted(CONVERSATIONS.glob("*.jsonl"))[1]
    parent = hashlib.sha256(transcript.read_bytes()).hexdigest()
    out = cli.ok(
        "redact",
        parent[:12],
        "--case",
        RCASE,
        "--keep-speaker",
        "decoy",
        "--reason",
        REDACTION_REASON,
        "-o",
        "redacted.json",
    ).out
    assert "withheld" in out, out
    redacted = hashlib.sha256((cli.cwd / "redacted.json").read_bytes()).hexdigest()
    cli.ok("transfer", "--case", RCASE, "--to", "cole", "--reason", "to the exhibits officer")
    cli.ok("--as", "cole", "accept", "--case", RCASE)
    full, stand_in = cli.cwd / "full.zip", cli.cwd / "stand-in.zip"
    withheld = cli.cwd / "parent-withheld.zip"
    cli.ok("--as", "cole", "bundle", RCASE, "-o", full)
    # Withholding the original of a disclosed redaction withholds its bytes only: the redacted
    # copy stands in for it and is checked against the original's record, which stays disclosed.
    out = cli.ok(
        "--as", "cole", "bundle", RCASE, "-o", stand_in, "--withhold", parent, "--reason", STAND_IN
    ).out
    assert "bytes only" in out, out
    # A bundle that withholds the original's record as well, with the stand-in rule switched off
    # (as a careless or forging exporter could): the copy cannot be checked.
    with (
        pytest.MonkeyPatch.context() as patch,
        Workspace.open(cli.cwd, passphrase_callback=lambda _what: PASSPHRASE) as ws,
    ):
        patch.setattr(exporter, "_stand_ins", lambda _events, withheld: withheld)
        # The exporter's own payload checks (run before it renders the dossier) catch it too.
        patch.setattr(exporter, "dossier_for_payload", lambda *_args, **_kw: BagFile(DOSSIER, b"%PDF-1.4\n"))
        exporter.export_bundle(
            ws, RCASE, withheld, withhold=[exporter.Withholding(parent, "not relevant")], actor_name="cole"
        )
    return {
        "full": full,
        "stand-in": stand_in,
        "parent withheld": withheld,
        "parent": parent,
        "redacted": redacted,
    }


def _redacted_file(bag: Path, digest: str) -> Path:
    (path,) = (bag / "data" / "artifacts").glob(digest + "*")
    return path


def test_a_redacted_transcript_proves_out(redacted_bundles: dict[str, Any], tmp_path: Path) -> None:
    bag = _unzip(redacted_bundles["full"], tmp_path / "bag")
    assert _redacted_file(bag, redacted_bundles["redacted"]).name.endswith(".json")
    for target in (redacted_bundles["full"], bag):
        report = _assert_same(target)
        assert report["verdict"] == "VALID, not anchored to a trusted key", _failed(report)
        assert [c["number"] for c in report["checks"]] == list(range(1, 14))
        assert report["checks"][12]["title"] == (
            "every redacted transcript proves out against its original's signed commitment root"
        )


def test_a_shown_word_changed_in_a_redacted_transcript(
    redacted_bundles: dict[str, Any], tmp_path: Path
) -> None:
    bag = _unzip(redacted_bundles["full"], tmp_path / "bag")
    path = _redacted_file(bag, redacted_bundles["redacted"])
    document = json.loads(path.read_bytes())
    (entry, position) = next(
        (e["shown"], n)
        for n, e in enumerate(document["entries"])
        if "shown" in e and '"message"' in e["shown"]["line"]
    )
    line = json.loads(entry["line"])
    line["text"] = "changed " + line["text"]
    entry["line"] = json.dumps(line, separators=(",", ":"))
    path.write_bytes(json.dumps(document, sort_keys=True, separators=(",", ":")).encode())
    _reseal(bag)
    report = _assert_same(bag)
    assert report["verdict"] == "INVALID"
    failed = _failed(report)
    assert {7, 13} <= set(failed), failed
    inner = path.relative_to(bag).as_posix()
    (message,) = failed[13]
    assert message.startswith(
        f"{inner}: does not prove out against the signed commitment root of transcript "
        f"{redacted_bundles['parent'][:16]}...: redacted transcript entry {position} "
        f"(transcript line {position + 1}, the line says seq {line['seq']}): the shown line and salt give"
    ), message
    assert message.endswith("the line or its salt was changed")


def test_a_redacted_transcript_whose_original_is_withheld(
    redacted_bundles: dict[str, Any], tmp_path: Path
) -> None:
    bundle = redacted_bundles["parent withheld"]
    bag = _unzip(bundle, tmp_path / "bag")
    for target in (bundle, bag):
        report = _assert_same(target)
        assert report["verdict"] == "INVALID"
        failed = _failed(report)
        assert set(failed) == {13}, failed
        inner = _redacted_file(bag, redacted_bundles["redacted"]).relative_to(bag).as_posix()
        assert failed[13] == [
            f"{inner}: its original transcript's record is not disclosed (transcript "
            f"{redacted_bundles['parent'][:16]}..., withheld: not relevant); it cannot be checked "
            "against the signed commitment root"
        ]


def test_a_redacted_transcript_stands_in_for_its_withheld_original(
    redacted_bundles: dict[str, Any], tmp_path: Path
) -> None:
    parent, redacted = redacted_bundles["parent"], redacted_bundles["redacted"]
    bag = _unzip(redacted_bundles["stand-in"], tmp_path / "bag")
    for target in (redacted_bundles["stand-in"], bag):
        report = _assert_same(target)
        assert report["verdict"] == "VALID, not anchored to a trusted key", _failed(report)
    # The original's bytes are out; its records are in (not withheld lines), the copy's bytes too.
    assert not list((bag / "data" / "artifacts").glob(parent + "*"))
    assert _redacted_file(bag, redacted).is_file()
    exhibits = json.loads((bag / "data" / "exhibits.json").read_bytes())["exhibits"]
    original = next(e for e in exhibits if e["sha256"] == parent)
    assert original["withheld"] == STAND_IN, original
    assert original["name"].endswith(".jsonl"), original
    lines = _ledger_lines(bag)
    assert all(b'"leaf_hash"' not in lines[n] for n in original["records"])
    schedule = json.loads((bag / "data" / "withheld.json").read_bytes())["withheld"]
    assert schedule == [
        {
            "exhibit": original["exhibit"],
            "sha256": parent,
            "scope": "bytes",
            "entries": [],
            "reason": STAND_IN,
        }
    ]


def _put_the_original_back(bundles: dict[str, Any]) -> Callable[[Path], None]:
    def change(bag: Path) -> None:
        full = _unzip(bundles["full"], bag.parent / "full")
        (source,) = (full / "data" / "artifacts").glob(bundles["parent"] + "*")
        (bag / "data" / "artifacts" / source.name).write_bytes(source.read_bytes())
        with (bag / "manifest-sha256.txt").open("a") as manifest:
            manifest.write(f"{bundles['parent']}  data/artifacts/{source.name}\n")

    return change


STAND_IN_FORGERIES: dict[str, tuple[Callable[[dict[str, Any]], Callable[[Path], None]], dict[int, str]]] = {
    "the original's bytes put back": (
        _put_the_original_back,
        {12: "is scheduled as withheld, but its bytes are in the bundle"},
    ),
    "a bytes-only withholding of an artifact no entry records": (
        lambda _b: _schedule(
            lambda s: s.append(
                {"exhibit": 9, "sha256": "d" * 64, "scope": "bytes", "entries": [], "reason": "x"}
            )
        ),
        {12: f"{'d' * 16}... is withheld bytes only, but no disclosed entry records it"},
    ),
    "the original scheduled twice": (
        lambda _b: _schedule(lambda s: s.append(dict(s[0]))),
        {12: "is scheduled twice"},
    ),
}


@pytest.mark.parametrize("forgery", sorted(STAND_IN_FORGERIES))
def test_forged_stand_ins_fail_the_same_way(
    redacted_bundles: dict[str, Any], tmp_path: Path, forgery: str
) -> None:
    make, expected = STAND_IN_FORGERIES[forgery]
    bag = _unzip(redacted_bundles["stand-in"], tmp_path / "bag")
    make(redacted_bundles)(bag)
    _reseal(bag)
    failed = _failed(_assert_same(bag))
    assert set(failed) == {7, *expected}, failed
    for number, fragment in expected.items():
        assert any(fragment in message for message in failed[number]), failed[number]


# Redacted documents behind recomputed manifests that neither verifier may accept: the same
# failure of check 13 (and of 7 and 12: the bytes and the signature no longer match).
REDACTED_FORGERIES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "a withheld commitment changed": (
        lambda d: next(e for e in d["entries"] if "withheld" in e)["withheld"].update(commitment="0" * 64),
        "commitments lead to root",
    ),
    "the stated root changed": (lambda d: d.update(root="1" * 64), "is for commitment root"),
    "an entry dropped": (lambda d: d["entries"].pop(), "transcript lines says"),
    "an entry of another kind": (lambda d: d["entries"].__setitem__(0, {"hidden": {}}), "entry 0 must be"),
    "a salt in uppercase": (
        lambda d: next(e for e in d["entries"] if "shown" in e)["shown"].update(salt="A" * 64),
        "salt must be 64 lowercase hex",
    ),
    "a withheld line without a reason": (
        lambda d: next(e for e in d["entries"] if "withheld" in e)["withheld"].update(reason=" "),
        "needs a reason",
    ),
    "another schema": (lambda d: d.update(schema="v0"), "schema must be"),
}


@pytest.mark.parametrize("forgery", sorted(REDACTED_FORGERIES))
def test_forged_redacted_transcripts_fail_the_same_way(
    redacted_bundles: dict[str, Any], tmp_path: Path, forgery: str
) -> None:
    change, fragment = REDACTED_FORGERIES[forgery]
    bag = _unzip(redacted_bundles["full"], tmp_path / "bag")
    path = _redacted_file(bag, redacted_bundles["redacted"])
    _edit_json(path, change)
    _reseal(bag)
    failed = _failed(_assert_same(bag))
    assert {7, 13} <= set(failed), failed
    assert any(fragment in message for message in failed[13]), failed[13]


def test_the_text_report_of_a_redaction_reads_the_same(
    redacted_bundles: dict[str, Any], tmp_path: Path
) -> None:
    target = redacted_bundles["parent withheld"]
    reference = CliRunner().invoke(custody_command, ["verify", str(target)])
    ours = subprocess.run(
        [sys.executable, str(SCRIPT), str(target)], capture_output=True, text=True, check=False
    )
    assert (ours.returncode, ours.stdout) == (reference.exit_code, reference.stdout)
    assert "13. [FAIL] every redacted transcript" in ours.stdout


LONG = "x" * 1025
# A line that starts as a withheld line but is not one: the bundle cannot be read (exit 3).
MALFORMED_LINES: dict[str, tuple[bytes, str]] = {
    "an extra key": (
        b'{"leaf_hash":"' + b"a" * 64 + b'","withheld":"r","x":1}',
        "holds exactly leaf_hash and withheld",
    ),
    "no reason": (b'{"leaf_hash":"' + b"a" * 64 + b'"}', "holds exactly leaf_hash and withheld"),
    "uppercase hex": (b'{"leaf_hash":"' + b"A" * 64 + b'","withheld":"r"}', "64 lowercase hex"),
    "a short leaf hash": (b'{"leaf_hash":"abcd","withheld":"r"}', "64 lowercase hex"),
    "a leaf hash as a number": (b'{"leaf_hash":12,"withheld":"r"}', "64 lowercase hex"),
    "a reason that is not text": (
        b'{"leaf_hash":"' + b"a" * 64 + b'","withheld":["r"]}',
        "reason must be text",
    ),
    "a blank reason": (b'{"leaf_hash":"' + b"a" * 64 + b'","withheld":" \\t"}', "a reason of 1 to 1024"),
    "an over-long reason": (
        b'{"leaf_hash":"' + b"a" * 64 + b'","withheld":"' + LONG.encode() + b'"}',
        "a reason of 1 to 1024",
    ),
    "cut short": (b'{"leaf_hash":"' + b"a" * 30, "(withheld) is not valid JSON"),
    "a duplicate key": (
        b'{"leaf_hash":"' + b"a" * 64 + b'","withheld":"r","withheld":"s"}',
        "duplicate key 'withheld'",
    ),
    "not UTF-8": (b'{"leaf_hash":"' + b"a" * 64 + b'","withheld":"\xff"}', "(withheld) is not valid UTF-8"),
    "a huge number": (b'{"leaf_hash":"' + b"a" * 64 + b'","withheld":"r","n":1e400}', "outside the range"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_LINES))
def test_a_malformed_withheld_line_is_exit_3(
    withheld_bundles: dict[str, Path], tmp_path: Path, case: str
) -> None:
    line, fragment = MALFORMED_LINES[case]
    bag = _unzip(withheld_bundles["one"], tmp_path / "bag")
    _set_line(2, line)(bag)
    assert _assert_same(bag) == {}  # exit 3, the same reason word for word
    assert fragment in _run_script(bag).stderr


@pytest.mark.parametrize("case", sorted(MALFORMED_LINES))
def test_withheld_lines_parse_as_custody_s(case: str) -> None:
    line = MALFORMED_LINES[case][0]
    for text in (
        line,
        _withheld_line(b"\x07" * 32, "a reason, \u00e9t\u00e9"),
        _withheld_line(b"\x00" * 32, LONG[1:]),
    ):
        try:
            parsed = WithheldEntry.from_line(text, index=7)
            expected: object = (parsed.leaf_hash, parsed.reason)
        except FormatError as exc:
            expected = exc.message
        try:
            ours = standalone.parse_withheld_line(text, index=7)
            found: object = (ours.leaf_hash, ours.reason)
        except standalone.Refusal as exc:
            found = exc.message
        assert found == expected


# The schedule, data/withheld.json, in a form neither verifier can read (exit 3).
MALFORMED_SCHEDULES: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing": (lambda b: (b / "data" / "withheld.json").unlink(), "the bag has no data/withheld.json"),
    "another format": (
        lambda b: _edit_json(b / "data" / "withheld.json", lambda d: d.update(format="v0")),
        "is not a custody-bundle/v1 schedule",
    ),
    "not a list": (
        lambda b: _edit_json(b / "data" / "withheld.json", lambda d: d.update(withheld={})),
        "is not a custody-bundle/v1 schedule",
    ),
    "not JSON": (lambda b: (b / "data" / "withheld.json").write_text("[]\n"), "must be a JSON object"),
    "an item without its reason": (
        _schedule(lambda s: s[0].pop("reason")),
        "item 0 must hold exhibit, sha256",
    ),
    "an item with an extra key": (_schedule(lambda s: s[0].update(name="page.html")), "must hold exhibit"),
    "no entries": (
        _schedule(lambda s: s[0].update(entries=[])),
        "item 0: scope 'record' needs the entries it withholds",
    ),
    "an unknown scope": (
        _schedule(lambda s: s[0].update(scope="all")),
        "item 0: scope must be one of ['record', 'bytes']",
    ),
    "entries withheld bytes only": (
        _schedule(lambda s: s[0].update(scope="bytes")),
        "item 0: scope 'bytes' withholds no entries",
    ),
    "an entry that is not a number": (_schedule(lambda s: s[0].update(entries=["2"])), "entries must be"),
    "an entry that is a fraction": (_schedule(lambda s: s[0].update(entries=[2.5])), "entries must be"),
    "an uppercase digest": (
        _schedule(lambda s: s[0].update(sha256=DIGEST["page"].upper())),
        "data/withheld.json item 0 sha256 must be 64 lowercase hex",
    ),
    "a reason that is not text": (
        _schedule(lambda s: s[0].update(reason=None)),
        "item 0: reason must be text",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_SCHEDULES))
def test_a_malformed_schedule_is_exit_3(withheld_bundles: dict[str, Path], tmp_path: Path, case: str) -> None:
    change, fragment = MALFORMED_SCHEDULES[case]
    bag = _unzip(withheld_bundles["one"], tmp_path / "bag")
    change(bag)
    assert _assert_same(bag) == {}
    assert fragment in _run_script(bag).stderr


def test_the_text_report_of_a_withheld_bundle_reads_the_same(
    withheld_bundles: dict[str, Path], tmp_path: Path
) -> None:
    bag = _unzip(withheld_bundles["two"], tmp_path / "bag")
    _edit_line(3, withheld="other")(bag)
    for target in (withheld_bundles["several"], bag):
        reference = CliRunner().invoke(custody_command, ["verify", str(target)])
        ours = subprocess.run(
            [sys.executable, str(SCRIPT), str(target)], capture_output=True, text=True, check=False
        )
        assert (ours.returncode, ours.stdout) == (reference.exit_code, reference.stdout)


# --- the script stands alone ----------------------------------------------------------------------


def _imported_modules(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            names.add(str(node.module).split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            raise AssertionError("no dynamic imports")
    return names


def test_the_script_imports_only_the_standard_library_and_an_ed25519_library() -> None:
    modules = _imported_modules(SCRIPT.read_text())
    outside = modules - set(sys.stdlib_module_names) - {"__future__"}
    assert outside == {"nacl", "cryptography"}, outside
    assert "custody" not in modules
    ast.parse(SCRIPT.read_text(), feature_version=(3, 9))  # no syntax a defence expert's older Python lacks


def test_the_text_report_reads_as_custody_verify_s(exported: tuple[Path, Path, str], bag: Path) -> None:
    test_bundle._replace_key(bag)
    for target, extra in ((exported[1], ("--trust", exported[2][:16])), (bag, ())):
        reference = CliRunner().invoke(custody_command, ["verify", str(target), *extra])
        ours = subprocess.run(
            [sys.executable, str(SCRIPT), str(target), *extra], capture_output=True, text=True, check=False
        )
        assert (ours.returncode, ours.stdout) == (reference.exit_code, reference.stdout)


@pytest.fixture(scope="module")
def nacl_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh venv with PyNaCl and nothing else (not cryptography, not custody)."""
    venv = tmp_path_factory.mktemp("nacl-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "pynacl"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    python = str(venv / "bin" / "python")
    for absent in ("cryptography", "custody"):
        probe = subprocess.run([python, "-c", f"import {absent}"], capture_output=True, check=False)
        assert probe.returncode != 0, f"{absent} must not be importable in the PyNaCl-only venv"
    return python


@pytest.mark.slow
def test_with_pynacl_alone(nacl_python: str, exported: tuple[Path, Path, str], bag: Path) -> None:
    untouched = _custody_verify(exported[1])
    ours = _run_script(None, cwd=bag, python=nacl_python)
    assert ours.returncode == untouched.code == 0, ours.stderr
    assert json.loads(ours.stdout)["verdict"] == json.loads(untouched.out)["verdict"]
    anchored = _run_script(exported[1], "--trust", exported[2][:16], python=nacl_python)
    assert json.loads(anchored.stdout)["verdict"] == "VALID, anchored to a trusted key"

    test_bundle._reseal_manifests(bag)  # a changed artifact behind recomputed manifests: check 7
    reference = _custody_verify(bag)
    ours = _run_script(None, cwd=bag, python=nacl_python)
    assert ours.returncode == reference.code == 1
    assert json.loads(ours.stdout) == json.loads(reference.out)


@pytest.mark.slow
def test_a_withheld_bundle_with_pynacl_alone(
    nacl_python: str, withheld_bundles: dict[str, Path], tmp_path: Path
) -> None:
    for target in (withheld_bundles["two"], withheld_bundles["several"]):
        reference = _custody_verify(target)
        ours = _run_script(target, python=nacl_python)
        assert ours.returncode == reference.code == 0, ours.stderr
        assert json.loads(ours.stdout) == json.loads(reference.out)
    bag = _unzip(withheld_bundles["two"], tmp_path / "bag")
    _edit_line(3, leaf_hash="0" * 64)(bag)  # behind recomputed manifests: checks 7 and 9
    _reseal(bag)
    reference = _custody_verify(bag)
    ours = _run_script(None, cwd=bag, python=nacl_python)
    assert ours.returncode == reference.code == 1
    assert json.loads(ours.stdout) == json.loads(reference.out)
    assert set(_failed(json.loads(ours.stdout))) == {7, 9}


def test_the_script_says_what_is_missing_without_an_ed25519_library(bag: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(bag / "verify_bundle.py"), str(bag)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    assert result.stderr.startswith("Error: this verifier needs PyNaCl or cryptography"), result.stderr


# --- its building blocks agree with custody's ------------------------------------------------------

TIMES = [
    "2026-03-01T14:05:00Z",
    "2026-03-01t14:05:00z",
    " 2026-03-01T14:05:00.5+01:30 ",
    "2026-03-01T14:05:00.123456789-00:00",
    "2026-03-01T14:05:00.1234569Z",
    "2026-03-01T14:05:60Z",
    "2026-02-30T00:00:00Z",
    "2026-03-01T24:00:00Z",
    "2026-03-01T00:00:00+24:00",
    "2026-03-01T00:00:00+23:60",
    "2026-03-01T00:00:00+00:99",
    "0000-01-01T00:00:00Z",
    "2026-03-01 14:05:00Z",
    "2026-03-01T14:05Z",
    "\u0662\u0660\u0662\u0666-03-01T14:05:00Z",
    "2026-03-01T14:05:00",
]


JSON_DOCUMENTS = [
    b'{"a":1}',
    b'{"a":9007199254740991,"b":-9007199254740991}',
    b'{"a":9007199254740992}',
    b'{"a":[1,{"b":-9007199254740993}]}',
    b'{"a":1e400}',
    b'{"a":-1e400,"a":2}',
    b'{"a":2,"a":1e400}',
    b'{"a":1' + b"0" * 5000 + b"}",
    b'{"a":NaN}',
    b'{"a":Infinity}',
    b'{"a":1.5e300,"b":true,"c":null}',
    b"[1]",
    b'{"a":"\\ud800"}',
    b'{"a":"\xff"}',
    b'{"a":1} x',
]


@pytest.mark.parametrize("data", JSON_DOCUMENTS)
def test_strict_json_agrees(data: bytes) -> None:
    try:
        expected: object = parse_json_object(data, what="doc")
    except FormatError as exc:
        expected = exc.message
    try:
        found: object = standalone.parse_json_object(data, what="doc")
    except standalone.Refusal as exc:
        found = exc.message
    assert found == expected


@pytest.mark.parametrize("text", TIMES)
def test_rfc3339_parsing_agrees(text: str) -> None:
    try:
        expected: object = parse_rfc3339(text)
    except Exception:
        expected = "refused"
    try:
        found: object = standalone.parse_rfc3339(text)
    except standalone.Refusal:
        found = "refused"
    assert found == expected


def test_merkle_roots_agree() -> None:
    entries = [bytes([n]) * n for n in range(40)]
    for size in range(len(entries) + 1):
        leaves = [hashlib.sha256(b"\x00" + entry).digest() for entry in entries[:size]]
        assert standalone.merkle_root(leaves) == merkle.mth(entries[:size])


@pytest.mark.parametrize(
    "name",
    [None, "", "a.HTML", "x.tar.gz", ".hidden", "a.", "dir/a.pdf", "a.pdf/", "a/./b.JPG", "a.verylongext1"],
)
def test_artifact_paths_agree(name: str | None) -> None:
    assert standalone.artifact_path("ab" * 32, name) == artifact_path("ab" * 32, name)


# --- synthetic bundles: ledger rules the sample case does not exercise --------------------------

LOG = fixed_signer("the log")
LOG_NAME, ORIGIN = "custody-log-test", f"custody/test/{CASE_ID}"


def _provenance(content: bytes, operator: str, **changes: Any) -> dict[str, Any]:
    document = Provenance(
        digest=hashlib.sha256(content).hexdigest(),
        size=len(content),
        media_type="text/plain",
        name="capture.txt",
        origin=Origin.CAPTURED,
        role=ArtifactRole.ORIGINAL,
        hil=HumanInvolvement(HIL.HIL0_MANUAL, HILFunction.ACQUIRE),
        tool=ToolRef("adscraper", "1.0", "c" * 64),
        operator=operator,
    ).to_dict()
    document.update(changes)
    return document


class Case(LedgerBuilder):
    """A ledger whose case.opened publishes the log key, with artifacts recorded as custody does."""

    def __init__(self) -> None:
        super().__init__()
        self.contents: dict[str, bytes] = {}
        alice = self.signer("alice")
        log = {
            "note_name": LOG_NAME,
            "key_id": LOG.key_id,
            "public_key": LOG.public_key.hex,
            "origin": ORIGIN,
        }
        body = {"title": "T", "opened_by": key_description("alice", alice), "log": log}
        self.append(CASE_OPENED, alice, (Subject(f"case:{CASE_ID}", "a" * 64),), body)

    def record(self, by: str, content: bytes, **changes: Any) -> None:
        digest = hashlib.sha256(content).hexdigest()
        self.contents[digest] = content
        body = _provenance(content, by, **changes)
        self.append(ARTIFACT_RECORDED, self.signer(by), (Subject("artifact", digest),), body)


def _write_bundle(case: Case, path: Path, *, exporter: str = "alice", covered: int | None = None) -> Path:
    """A bundle of ``case`` as custody.bundle lays it out (checkpoint over ``covered`` entries)."""
    entries = case.entries
    size = len(entries) if covered is None else covered
    note = sign_checkpoint(Checkpoint(ORIGIN, size, merkle.mth(entries[:size])), LOG_NAME, LOG).to_bytes()
    events = [_unverified_event(entry)[1] for entry in entries]
    keys = ledger_keys(events)
    try:
        exhibits = exhibit_index(events)
    except FormatError:  # a malformed provenance: the verifiers fail check 12 naming the entry
        exhibits = []
    payload = [BagFile(artifact_path(e["sha256"], e["name"]), case.contents[e["sha256"]]) for e in exhibits]
    payload.append(
        BagFile("data/exhibits.json", _canonical({"format": FORMAT, "case": CASE_ID, "exhibits": exhibits}))
    )
    schedule = {"format": FORMAT, "case": CASE_ID, "withheld": []}
    payload.append(BagFile("data/withheld.json", _canonical(schedule)))
    payload.append(BagFile("data/ledger/entries.jsonl", b"".join(entry + b"\n" for entry in entries)))
    payload.append(BagFile("data/ledger/checkpoint", note))
    for key in keys:
        payload.append(
            BagFile(f"data/keys/{key['name']}.pem", PublicKey.from_hex(key["public_key"]).to_pem())
        )
    signer = case.signer(exporter)
    index = {
        "format": FORMAT,
        "keys": [{**key, "pem": f"keys/{key['name']}.pem"} for key in keys],
        "exporter": signer.key_id,
    }
    payload.append(BagFile("data/keys/keys.json", _canonical(index)))
    info = bag_info_text(
        [("Custody-Case", CASE_ID), ("Custody-Exporter-Key-Id", signer.key_id), ("Custody-Format", FORMAT)]
    )
    tags = {
        "bagit.txt": BAGIT_TXT,
        "bag-info.txt": info,
        "manifest-sha256.txt": manifest_text({item.path: item.digest for item in payload}),
    }
    tag_manifest = manifest_text({name: hashlib.sha256(data).hexdigest() for name, data in tags.items()})
    files = [*payload, *(BagFile(name, data) for name, data in tags.items())]
    files += [BagFile("tagmanifest-sha256.txt", tag_manifest)]
    files += [BagFile("tagmanifest-sha256.txt.sig", signer.sign(tag_manifest).value)]
    with path.open("wb") as out:
        write_zip(out, f"{CASE_ID}-{size:06d}", files)
    return path


def _canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def _valid(case: Case) -> None:
    case.add_key("bob")
    case.add_key("cole", role="custodian")
    case.record("alice", b"first capture")
    case.record("bob", b"second capture")
    case.release("alice", "bob")
    case.accept("bob", case.next_sequence - 1)
    case.access("bob", b"first capture")


def _sealed_then_recorded(case: Case) -> None:
    case.record("alice", b"capture")
    case.append(CASE_SEALED, case.signer("alice"), (Subject("case", "b" * 64),), {"size": 2})
    case.access("alice", b"capture")
    case.record("alice", b"after the seal")


# (what is appended after case.opened, the check numbers that must fail; None: exit 3)
SCENARIOS: dict[str, tuple[Callable[[Case], None], set[int] | None]] = {
    "valid": (_valid, set()),
    "signed after its revocation": (
        lambda c: (c.add_key("bob"), c.revoke_key("bob"), c.record("bob", b"late")),
        {5},
    ),
    "revoked by a non-custodian": (
        lambda c: (c.add_key("bob"), c.add_key("dan"), c.revoke_key("bob", signed_by="dan")),
        {5},
    ),
    "revoked by a custodian": (
        lambda c: (
            c.add_key("bob"),
            c.add_key("cole", role="custodian"),
            c.revoke_key("bob", signed_by="cole"),
        ),
        set(),
    ),
    "a tool key releases custody": (
        lambda c: (c.add_key("svc", role="tool"), c.record("svc", b"x"), c.release("svc", "alice")),
        {5, 11},
    ),
    "a key introduced by another key": (lambda c: c.add_key("bob", signed_by="alice"), {5}),
    "recorded after the seal": (_sealed_then_recorded, {4}),
    "time runs backwards": (
        lambda c: (
            c.record("alice", b"x"),
            c.record(
                "alice",
                b"y",
            ),
            c.access("alice", b"x", time="2020-01-01T00:00:00+01:00"),
        ),
        {6},
    ),
    "accessed by a non-custodian": (
        lambda c: (c.add_key("bob"), c.record("alice", b"x"), c.access("bob", b"x")),
        {11},
    ),
    "release never accepted": (lambda c: (c.add_key("bob"), c.release("alice", "bob")), {11}),
    "acceptance cites another digest": (
        lambda c: (c.add_key("bob"), c.release("alice", "bob"), c.accept("bob", 2, entry_sha256="d" * 64)),
        {11},
    ),
    "a derivative without parents": (lambda c: c.record("alice", b"x", role="derivative"), {12}),
    "an unknown HIL level": (
        lambda c: c.record("alice", b"x", hil={"level": "HIL9", "function": "act"}),
        {12},
    ),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_ledger_rules_agree(tmp_path: Path, scenario: str) -> None:
    build, failing = SCENARIOS[scenario]
    case = Case()
    build(case)
    report = _assert_same(_write_bundle(case, tmp_path / "synthetic.zip"))
    if failing is None:
        assert report == {}  # exit 3, as custody verify
    else:
        assert {c["number"] for c in report["checks"] if c["status"] == "FAIL"} == failing, report


def test_checkpoint_rules_agree(tmp_path: Path) -> None:
    case = Case()
    _valid(case)
    short = _assert_same(_write_bundle(case, tmp_path / "short.zip", covered=len(case.entries) - 1))
    assert [c["number"] for c in short["checks"] if c["status"] == "FAIL"] == [10]
    stranger = _assert_same(_write_bundle(case, tmp_path / "stranger.zip", exporter="zed"))
    assert {c["number"] for c in stranger["checks"] if c["status"] == "FAIL"} == {7}
