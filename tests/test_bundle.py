"""Disclosure bundles from the CLI: export sample case (b), verify it offline with ``custody
verify``, with the recipe of its VERIFY.md (sha256sum, openssl, Python) and after tampering."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from custody.caselog import list_entries
from custody.events import _unverified_event
from custody.keys import Signer
from custody.workspace import Workspace
from tests.conftest import PASSPHRASE, REPO, TOOLCARDS, Cli, assert_error, make_cli

CASE = "SWEEP-1"
SAMPLE = REPO / "sample_cases" / "classifieds-sweep"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """Sample case (b) imported, custody handed to cole, exported by cole once: (workspace root,
    bundle zip, cole's key id)."""
    runner = make_cli(tmp_path_factory.mktemp("bundle"), None)
    runner.ok("init")
    runner.ok("key", "new", "ana", "--role", "investigator")
    runner.ok("key", "new", "cole", "--role", "custodian")
    runner.ok("case", "open", CASE, "--title", "Sweep", "--jurisdiction", "UK", "--authority", "AUTH/3")
    for card in (TOOLCARDS / "scraper.yaml", TOOLCARDS / "translator.yaml", SAMPLE / "ocr-engine.yaml"):
        runner.ok("tool", "add", card)
    runner.ok("import", "warc", SAMPLE / "sweep-2026-06-03.warc.gz", "--case", CASE, "--tool", "adscraper")
    runner.ok("import", "dir", SAMPLE, "--case", CASE)
    runner.ok("transfer", "--case", CASE, "--to", "cole", "--reason", "to the exhibits officer")
    runner.ok("--as", "cole", "accept", "--case", CASE)
    bundle = runner.cwd / "sweep.zip"
    out = runner.ok("--as", "cole", "bundle", CASE, "-o", bundle, "--recipient", "defence solicitors").out
    assert out.startswith(f"Wrote {bundle}: 16 artifact(s), ")
    key_id = runner.ok("key", "export", "cole", "--format", "keyid").out.strip()
    return runner.cwd, bundle, key_id


@pytest.fixture
def bag(exported: tuple[Path, Path, str], tmp_path: Path) -> Path:
    """The bundle unzipped into a fresh folder: the bag's top folder."""
    with zipfile.ZipFile(exported[1]) as archive:
        archive.extractall(tmp_path / "unzipped")
    (top,) = (tmp_path / "unzipped").iterdir()
    return top


def _verify(cli: Cli, target: Path, *extra: str) -> tuple[int, dict]:
    result = cli("verify", target, "--json", *extra)
    assert "Traceback" not in result.err, str(result)
    return result.code, json.loads(result.out)


def _failed(report: dict) -> dict[int, list[str]]:
    return {check["number"]: check["failures"] for check in report["checks"] if check["status"] == "FAIL"}


def test_an_untouched_bundle_is_valid_and_its_export_is_recorded(
    exported: tuple[Path, Path, str], cli: Cli
) -> None:
    workspace, bundle, cole = exported
    result = cli("verify", bundle)  # in an empty folder: no workspace, no database
    assert result.code == 0, str(result)
    assert result.out.splitlines()[0] == f"Verification of bundle {CASE}-{_entries(bundle):06d}:"
    assert "[FAIL]" not in result.out
    assert result.out.splitlines()[-1] == "Result: VALID, not anchored to a trusted key"

    anchored = cli(
        "verify", bundle, "--trust", cole[:4] + ":" + cole[4:8] + ":" + cole[8:12] + ":" + cole[12:16]
    )
    assert anchored.code == 0, str(anchored)
    assert anchored.out.splitlines()[-1] == "Result: VALID, anchored to a trusted key"
    prefixed = cli("verify", bundle, "--trust", f"sha256:{cole}")  # a full key id, as 'key export' gives
    assert prefixed.out.splitlines()[-1] == "Result: VALID, anchored to a trusted key", str(prefixed)
    stranger = cli("verify", bundle, "--trust", "0123456789abcdef")
    assert stranger.code == 1
    assert "is one you trust (0123456789abcdef)" in stranger.out
    assert stranger.out.splitlines()[-1] == "Result: INVALID"

    # The export itself is the next ledger entry, naming this exact tag manifest and recipient.
    with zipfile.ZipFile(bundle) as archive:
        top = archive.namelist()[0].split("/")[0]
        tag_manifest = archive.read(f"{top}/tagmanifest-sha256.txt")
    with Workspace.open(workspace, passphrase_callback=lambda _what: PASSPHRASE) as ws:
        entries = list_entries(ws, CASE)
    assert len(entries) == _entries(bundle) + 1
    _, event = _unverified_event(entries[-1].entry)
    assert (event.event_type, event.actor) == ("bundle.exported", cole)
    assert event.body["bundle"]["tagmanifest"] == {"sha256": hashlib.sha256(tag_manifest).hexdigest()}
    assert event.body["bundle"]["name"] == top
    assert event.body["recipient"] == "defence solicitors"


def _entries(bundle: Path) -> int:
    with zipfile.ZipFile(bundle) as archive:
        name = next(n for n in archive.namelist() if n.endswith("data/ledger/entries.jsonl"))
        return archive.read(name).count(b"\n")


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def _code_blocks(markdown: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", markdown, flags=re.DOTALL)


def test_the_recipe_in_verify_md_works_by_hand(bag: Path) -> None:
    """What a defence expert runs without our software: every command block of VERIFY.md."""
    doc = (bag / "VERIFY.md").read_text()
    for block in _code_blocks(doc, "sh"):
        result = _run(["bash", "-euo", "pipefail", "-c", block], bag)
        assert result.returncode == 0, f"{block}\n{result.stdout}\n{result.stderr}"
        assert "FAILED" not in result.stdout
    outputs = _run(["bash", "-c", "\n".join(_code_blocks(doc, "sh"))], bag).stdout
    assert outputs.count("Signature Verified Successfully") == 2  # tag manifest, checkpoint
    (python,) = _code_blocks(doc, "python")
    result = _run([sys.executable, "-c", python], bag)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Merkle root OK:")
    # Nothing the recipe did left a file in the bag (the bag must hold only what it lists).
    assert sorted(p.name for p in bag.iterdir()) == [
        "VERIFY.md",
        "bag-info.txt",
        "bagit.txt",
        "data",
        "manifest-sha256.txt",
        "tagmanifest-sha256.txt",
        "tagmanifest-sha256.txt.sig",
        "verify_bundle.py",
    ]


def test_the_recipe_catches_a_changed_entry(bag: Path) -> None:
    entries = bag / "data" / "ledger" / "entries.jsonl"
    data = bytearray(entries.read_bytes())
    data[200] ^= 0x01
    entries.write_bytes(bytes(data))
    (python,) = _code_blocks((bag / "VERIFY.md").read_text(), "python")
    result = _run([sys.executable, "-c", python], bag)
    assert result.returncode != 0
    assert "Merkle root differs from the checkpoint" in result.stderr
    check = _run(["sha256sum", "-c", "manifest-sha256.txt"], bag)
    assert "data/ledger/entries.jsonl: FAILED" in check.stdout


def _flip(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _first_artifact(bag: Path) -> Path:
    return sorted((bag / "data" / "artifacts").iterdir())[0]


def _swap_lines(path: Path, first: int, second: int) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[first], lines[second] = lines[second], lines[first]
    path.write_bytes(b"\n".join(lines))


def _replace_key(bag: Path) -> None:
    (bag / "data" / "keys" / "cole.pem").write_bytes(Signer.generate().public_key.to_pem())


def _rename(bag: Path) -> None:
    artifact = _first_artifact(bag)
    artifact.rename(artifact.with_name("0" * 64 + ".html"))


def _reseal_manifests(bag: Path) -> None:
    """An attacker changes an artifact and recomputes both manifests (but cannot sign)."""
    _flip(_first_artifact(bag), 5)
    lines = []
    for line in (bag / "manifest-sha256.txt").read_text().splitlines():
        _, path = line.split("  ", 1)
        lines.append(f"{hashlib.sha256((bag / path).read_bytes()).hexdigest()}  {path}\n")
    (bag / "manifest-sha256.txt").write_text("".join(lines))
    tags = []
    for line in (bag / "tagmanifest-sha256.txt").read_text().splitlines():
        _, path = line.split("  ", 1)
        tags.append(f"{hashlib.sha256((bag / path).read_bytes()).hexdigest()}  {path}\n")
    (bag / "tagmanifest-sha256.txt").write_text("".join(tags))


def _edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


def _rewrite_checkpoint_size(bag: Path) -> None:
    note = bag / "data" / "ledger" / "checkpoint"
    lines = note.read_text().split("\n")
    lines[1] = str(int(lines[1]) - 1)
    note.write_text("\n".join(lines))


# (what is done to the unzipped bag, {check number: a fragment of its failure})
MUTATIONS: dict[str, tuple[Callable[[Path], None], dict[int, str]]] = {
    "one byte of an artifact": (lambda b: _flip(_first_artifact(b), 3), {1: "expected sha256"}),
    "one byte of a ledger entry": (
        lambda b: _flip(b / "data" / "ledger" / "entries.jsonl", 120),
        {1: "data/ledger/entries.jsonl: expected sha256"},
    ),
    "an artifact deleted": (lambda b: _first_artifact(b).unlink(), {1: "missing (deleted or renamed?)"}),
    "a file added": (
        lambda b: (b / "data" / "artifacts" / "extra.txt").write_text("planted"),
        {1: "data/artifacts/extra.txt: present but not listed"},
    ),
    "an artifact renamed": (_rename, {1: "present but not listed"}),
    "two ledger lines swapped": (
        lambda b: _swap_lines(b / "data" / "ledger" / "entries.jsonl", 3, 4),
        {1: "entries.jsonl: expected sha256", 4: "entry 3: expected sequence 3, found 4"},
    ),
    "a key replaced": (
        _replace_key,
        {1: "data/keys/cole.pem: expected sha256", 8: "data/keys/cole.pem: holds key"},
    ),
    "bag-info edited": (
        lambda b: (b / "bag-info.txt").write_text(
            (b / "bag-info.txt").read_text().replace("defence", "nobody")
        ),
        {2: "bag-info.txt: expected sha256"},
    ),
    "manifests recomputed after a change": (_reseal_manifests, {7: "tagmanifest-sha256.txt.sig"}),
    "signature removed": (lambda b: (b / "tagmanifest-sha256.txt.sig").unlink(), {7: "is missing"}),
    "checkpoint size lowered": (_rewrite_checkpoint_size, {1: "data/ledger/checkpoint: expected sha256"}),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_tampering_fails_naming_what_broke(cli: Cli, bag: Path, mutation: str) -> None:
    change, expected = MUTATIONS[mutation]
    change(bag)
    code, report = _verify(cli, bag)
    assert code == 1, report
    assert report["verdict"] == "INVALID"
    failed = _failed(report)
    for number, fragment in expected.items():
        assert number in failed, (number, failed)
        assert any(fragment in message for message in failed[number]), (fragment, failed[number])


def test_a_tampered_zip_fails_too(cli: Cli, exported: tuple[Path, Path, str], tmp_path: Path) -> None:
    source = exported[1]
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if "/data/artifacts/" in info.filename and not any(
                "/data/artifacts/" in n for n in dst.namelist()
            ):
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.writestr(info, data)
    code, report = _verify(cli, tampered)
    assert code == 1
    assert any("expected sha256" in m for m in _failed(report)[1])


def _zip_with(tmp_path: Path, members: list[tuple[str, bytes]], *, symlink: str | None = None) -> Path:
    path = tmp_path / "hostile.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name we write on purpose
        for name, data in members:
            info = zipfile.ZipInfo(name)
            if name == symlink:
                info.external_attr = 0o120777 << 16
            archive.writestr(info, data)
    return path


HOSTILE = {
    "zip slip": (
        [("top/bagit.txt", b"x"), ("top/../../escape.txt", b"x")],
        None,
        "leaves the package folder",
    ),
    "absolute path": ([("/etc/top/bagit.txt", b"x")], None, "has an absolute path; refusing the bundle"),
    "symbolic link": (
        [("top/bagit.txt", b"/etc/passwd")],
        "top/bagit.txt",
        "is a symbolic link; refusing the bundle",
    ),
    "duplicate names": ([("top/a.txt", b"1"), ("top/a.txt", b"2")], None, "appears more than once"),
    "two top folders": ([("one/bagit.txt", b"x"), ("two/bagit.txt", b"x")], None, "one top folder"),
    "not a bag": ([("top/readme.txt", b"x")], None, "the bag has no bagit.txt"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archives_are_refused_with_exit_3(cli: Cli, tmp_path: Path, case: str) -> None:
    members, symlink, message = HOSTILE[case]
    path = _zip_with(tmp_path, members, symlink=symlink)
    assert_error(cli("verify", path), 3, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.zip", "work"]  # nothing written


def test_a_truncated_bundle_is_exit_3(cli: Cli, exported: tuple[Path, Path, str], tmp_path: Path) -> None:
    cut = tmp_path / "cut.zip"
    cut.write_bytes(exported[1].read_bytes()[:-200])
    assert_error(cli("verify", cut), 3, "not a readable zip file")


def test_the_same_case_state_gives_the_same_bytes(tmp_path: Path) -> None:
    runner = make_cli(tmp_path, None)
    runner.ok("init")
    runner.ok("key", "new", "ana", "--role", "investigator")
    runner.ok("case", "open", "OP-1", "--title", "T", "--jurisdiction", "UK", "--authority", "A/1")
    runner.ok("tool", "add", TOOLCARDS / "scraper.yaml")
    page = runner.cwd / "page.html"
    page.write_text("<html>an ad</html>")
    runner.ok("record", page, "--case", "OP-1", "--tool", "adscraper")
    copy = tmp_path / "copy"
    shutil.copytree(runner.cwd, copy)
    runner.ok("bundle", "OP-1", "-o", tmp_path / "first.zip")
    twin = Cli(copy, runner.env)
    twin.ok("bundle", "OP-1", "-o", tmp_path / "second.zip")
    assert (tmp_path / "first.zip").read_bytes() == (tmp_path / "second.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "first.zip") as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        names = archive.namelist()
        assert names == sorted(names)
    # The first export is now in the log; a second bundle includes it and still verifies.
    runner.ok("bundle", "OP-1", "-o", tmp_path / "third.zip")
    assert runner("verify", tmp_path / "third.zip").code == 0
    assert runner("bundle", "OP-1", "-o", tmp_path / "third.zip").code == 2  # never overwritten


def test_a_tool_key_cannot_export(tmp_path: Path) -> None:
    runner = make_cli(tmp_path, None)
    runner.ok("init")
    runner.ok("key", "new", "ana", "--role", "investigator")
    runner.ok("key", "new", "svc", "--role", "tool")
    runner.ok("case", "open", "OP-1", "--title", "T", "--jurisdiction", "UK", "--authority", "A/1")
    assert_error(
        runner("--as", "svc", "bundle", "OP-1", "-o", tmp_path / "b.zip"), 1, "a person exports bundles"
    )
    assert not (tmp_path / "b.zip").exists()


def test_a_bundle_of_a_sealed_case_verifies(cli_any_db: Cli) -> None:
    cli = cli_any_db
    cli.ok("init")
    cli.ok("key", "new", "ana", "--role", "investigator")
    cli.ok("case", "open", "OP-1", "--title", "T", "--jurisdiction", "UK", "--authority", "A/1")
    cli.ok("tool", "add", TOOLCARDS / "scraper.yaml")
    page = cli.cwd / "page.html"
    page.write_text("<html>an ad</html>")
    cli.ok("record", page, "--case", "OP-1", "--tool", "adscraper")
    cli.ok("case", "seal", "OP-1")
    cli.ok("bundle", "OP-1", "-o", cli.cwd / "sealed.zip")
    assert cli.ok("verify", cli.cwd / "sealed.zip").out.splitlines()[-1].startswith("Result: VALID")
    assert "bundle.exported" in cli.ok("log", "OP-1").out


def test_bag_info_names_the_signed_checkpoint_root(bag: Path) -> None:
    lines = (bag / "data" / "ledger" / "checkpoint").read_bytes().split(b"\n")
    info = (bag / "bag-info.txt").read_text()
    assert f"Custody-Checkpoint-Root: {base64.b64decode(lines[2]).hex()}" in info


def test_a_later_disclosure_extends_the_earlier_one(tmp_path: Path) -> None:
    cli = make_cli(tmp_path, None)
    cli.ok("init")
    cli.ok("key", "new", "ana", "--role", "investigator")
    cli.ok("case", "open", "OP-1", "--title", "T", "--jurisdiction", "UK", "--authority", "A/1")
    cli.ok("tool", "add", TOOLCARDS / "scraper.yaml")
    for number in (1, 2):
        page = cli.cwd / f"page{number}.html"
        page.write_text(f"<html>ad {number}</html>")
        cli.ok("record", page, "--case", "OP-1", "--tool", "adscraper")
        cli.ok("bundle", "OP-1", "-o", tmp_path / f"disclosure{number}.zip")
    first, second = tmp_path / "disclosure1.zip", tmp_path / "disclosure2.zip"
    code, report = _verify(cli, second, "--previous", first)
    assert code == 0, report
    assert report["checks"][-1]["title"].startswith("the earlier disclosure's log is a prefix")

    # Backwards, the "earlier" bundle holds entries the "later" one lacks.
    code, report = _verify(cli, first, "--previous", second)
    assert code == 1
    assert any("(log cut back)" in m for m in _failed(report)[len(report["checks"])])

    # A later bundle whose history was rewritten: entry 1 differs from what was disclosed first.
    rewritten = tmp_path / "rewritten"
    with zipfile.ZipFile(second) as archive:
        archive.extractall(rewritten)
    (top,) = rewritten.iterdir()
    entries = top / "data" / "ledger" / "entries.jsonl"
    lines = entries.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"payloadType"', b' "payloadType"', 1)  # a different byte string
    entries.write_bytes(b"\n".join(lines))
    code, report = _verify(cli, top, "--previous", first)
    assert code == 1
    messages = _failed(report)[len(report["checks"])]
    assert any(m.startswith("entry 1 differs from disclosure1.zip: leaf hash ") for m in messages), messages


def test_the_bundle_carries_a_valid_case_uco_graph(bag: Path) -> None:
    graph = json.loads((bag / "data" / "case.jsonld").read_bytes())
    exhibits = json.loads((bag / "data" / "exhibits.json").read_bytes())["exhibits"]
    numbers = sorted(
        int(node["case-investigation:exhibitNumber"])
        for node in graph["@graph"]
        if node["@type"] == "case-investigation:ProvenanceRecord"
    )
    assert numbers == [exhibit["exhibit"] for exhibit in exhibits]
    validator = Path(sys.executable).with_name("case_validate")
    result = _run([str(validator), str(bag / "data" / "case.jsonld")], bag.parent)
    assert result.returncode == 0, result.stdout[-2000:]


def _sweep_case(tmp_path: Path) -> Cli:
    cli = make_cli(tmp_path, None)
    cli.ok("init")
    cli.ok("key", "new", "ana", "--role", "investigator")
    cli.ok("case", "open", CASE, "--title", "Sweep", "--jurisdiction", "UK", "--authority", "AUTH/4")
    for card in (TOOLCARDS / "scraper.yaml", TOOLCARDS / "translator.yaml", SAMPLE / "ocr-engine.yaml"):
        cli.ok("tool", "add", card)
    cli.ok("import", "warc", SAMPLE / "sweep-2026-06-03.warc.gz", "--case", CASE, "--tool", "adscraper")
    cli.ok("import", "dir", SAMPLE, "--case", CASE)
    return cli


def _unzip(bundle: Path, folder: Path) -> Path:
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder)
    (top,) = folder.iterdir()
    return top


def test_selective_disclosure_withholds_bytes_and_entries_but_proves_they_exist(tmp_path: Path) -> None:
    cli = _sweep_case(tmp_path)
    full = _unzip(_export(cli, tmp_path / "full.zip"), tmp_path / "full")
    exhibits = json.loads((full / "data" / "exhibits.json").read_bytes())["exhibits"]
    screenshot = next(e for e in exhibits if e["media_type"] == "image/png")

    withheld_zip = tmp_path / "withheld.zip"
    out = cli.ok(
        "bundle",
        CASE,
        "-o",
        withheld_zip,
        "--withhold",
        screenshot["sha256"][:12],
        "--reason",
        "victim's image",
    ).out
    assert "(1 withheld)" in out
    code, report = _verify(cli, withheld_zip)
    assert code == 0, report

    bag = _unzip(withheld_zip, tmp_path / "withheld")
    assert not list((bag / "data" / "artifacts").glob(f"{screenshot['sha256']}*"))
    schedule = json.loads((bag / "data" / "withheld.json").read_bytes())["withheld"]
    assert schedule == [
        {
            "exhibit": screenshot["exhibit"],
            "sha256": screenshot["sha256"],
            "scope": "record",
            "entries": screenshot["records"],
            "reason": "victim's image",
        }
    ]
    # Every other exhibit keeps its number and description; the withheld one shows only what it must.
    after = json.loads((bag / "data" / "exhibits.json").read_bytes())["exhibits"]
    assert [e for e in after if e["sha256"] != screenshot["sha256"]] == [
        e for e in exhibits if e["sha256"] != screenshot["sha256"]
    ]
    assert next(e for e in after if e["sha256"] == screenshot["sha256"]) == {
        "exhibit": screenshot["exhibit"],
        "sha256": screenshot["sha256"],
        "records": screenshot["records"],
        "withheld": "victim's image",
    }
    lines = (bag / "data" / "ledger" / "entries.jsonl").read_bytes().split(b"\n")
    (record,) = screenshot["records"]
    full_lines = (full / "data" / "ledger" / "entries.jsonl").read_bytes().split(b"\n")
    assert json.loads(lines[record]) == {
        "leaf_hash": hashlib.sha256(b"\x00" + full_lines[record]).hexdigest(),
        "withheld": "victim's image",
    }
    assert b"screenshot" not in b"".join(lines[record : record + 1])
    # The case.jsonld view leaks nothing of it either, and the hand recipe still verifies the root.
    assert screenshot["name"] not in (bag / "data" / "case.jsonld").read_text()
    (python,) = _code_blocks((bag / "VERIFY.md").read_text(), "python")
    assert _run([sys.executable, "-c", python], bag).stdout.startswith("Merkle root OK:")
    # A later full disclosure extends the withheld one (leaves match where entries were withheld).
    code, report = _verify(cli, _export(cli, tmp_path / "later.zip"), "--previous", withheld_zip)
    assert code == 0, report


def _export(cli: Cli, path: Path) -> Path:
    cli.ok("bundle", CASE, "-o", path)
    return path


WITHHELD_TAMPERING: dict[str, tuple[Callable[[Path, int], None], dict[int, str]]] = {
    "leaf hash changed": (
        lambda bag, n: _edit_line(bag, n, lambda d: {**d, "leaf_hash": "0" * 64}),
        {9: "the entries give"},
    ),
    "reason changed in the ledger only": (
        lambda bag, n: _edit_line(bag, n, lambda d: {**d, "withheld": "something else"}),
        {12: "entry 4 is withheld for 'something else'"},
    ),
    "exhibit number changed in the schedule": (
        lambda bag, n: _renumber_schedule(bag),
        {12: "but the ledger numbers"},
    ),
    "schedule emptied": (
        lambda bag, n: (bag / "data" / "withheld.json").write_text(
            json.dumps({"case": CASE, "format": "custody-bundle/v1", "withheld": []})
        ),
        {12: "but data/withheld.json does not schedule it"},
    ),
}


def _renumber_schedule(bag: Path) -> None:
    schedule = bag / "data" / "withheld.json"
    document = json.loads(schedule.read_bytes())
    document["withheld"][0]["exhibit"] += 1
    schedule.write_text(json.dumps(document))


def _edit_line(bag: Path, index: int, change: Callable[[dict], dict]) -> None:
    entries = bag / "data" / "ledger" / "entries.jsonl"
    lines = entries.read_bytes().split(b"\n")
    lines[index] = json.dumps(change(json.loads(lines[index])), separators=(",", ":")).encode()
    entries.write_bytes(b"\n".join(lines))


@pytest.mark.parametrize("tampering", sorted(WITHHELD_TAMPERING))
def test_tampering_with_what_is_withheld_is_caught(tmp_path: Path, tampering: str) -> None:
    cli = _sweep_case(tmp_path)
    bundle = tmp_path / "w.zip"
    full = _unzip(_export(cli, tmp_path / "full.zip"), tmp_path / "full")
    exhibits = json.loads((full / "data" / "exhibits.json").read_bytes())["exhibits"]
    shot = next(e for e in exhibits if e["media_type"] == "image/png")
    cli.ok("bundle", CASE, "-o", bundle, "--withhold", shot["sha256"], "--reason", "victim's image")
    bag = _unzip(bundle, tmp_path / "bag")
    change, expected = WITHHELD_TAMPERING[tampering]
    change(bag, shot["records"][0])
    _reseal(bag)
    code, report = _verify(cli, bag)
    assert code == 1, report
    failed = _failed(report)
    for number, fragment in expected.items():
        assert any(fragment in message for message in failed.get(number, [])), (number, fragment, failed)


def _reseal(bag: Path) -> None:
    """Recompute both manifests, as a forger would, so that the deeper checks are reached."""
    for manifest in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
        lines = []
        for line in (bag / manifest).read_text().splitlines():
            _, path = line.split("  ", 1)
            lines.append(f"{hashlib.sha256((bag / path).read_bytes()).hexdigest()}  {path}\n")
        (bag / manifest).write_text("".join(lines))


def test_withholding_needs_a_known_digest_and_a_reason(tmp_path: Path) -> None:
    cli = _sweep_case(tmp_path)
    target = tmp_path / "x.zip"
    assert_error(
        cli("bundle", CASE, "-o", target, "--withhold", "ffffffffffff", "--reason", "r"), 1, "no artifact"
    )
    assert cli("bundle", CASE, "-o", target, "--withhold", "ffffffffffff").code == 2  # no --reason
    assert_error(cli("bundle", CASE, "-o", target, "--withhold", "abc", "--reason", "r"), 3, "8+ hex digits")
    assert not target.exists()


def _reseal_tags(bag: Path) -> None:
    """Recompute only the tag manifest (after editing the payload manifest itself)."""
    lines = []
    for line in (bag / "tagmanifest-sha256.txt").read_text().splitlines():
        _, path = line.split("  ", 1)
        lines.append(f"{hashlib.sha256((bag / path).read_bytes()).hexdigest()}  {path}\n")
    (bag / "tagmanifest-sha256.txt").write_text("".join(lines))


def _huge_number(bag: Path) -> None:
    entries = bag / "data" / "ledger" / "entries.jsonl"
    lines = entries.read_bytes().split(b"\n")
    lines[2] = b'{"payload":"x","payloadType":' + b"9" * 400 + b',"signatures":[]}'
    entries.write_bytes(b"\n".join(lines))


# Hostile or malformed content inside an otherwise well-formed bag, each resealed as a forger
# would: (what is done, exit code, what stderr or a failed check says)
MALFORMED: dict[str, tuple[Callable[[Path], None], int, str]] = {
    "exhibits.json not JSON": (
        lambda b: (b / "data" / "exhibits.json").write_text("{not json"),
        3,
        "data/exhibits.json is not valid JSON",
    ),
    "keys.json with the wrong types": (
        lambda b: (b / "data" / "keys" / "keys.json").write_text(json.dumps({"keys": "x", "exporter": 1})),
        1,
        "'keys' is not a list of objects",
    ),
    "withheld.json with the wrong types": (
        lambda b: (b / "data" / "withheld.json").write_text(
            json.dumps({"format": "custody-bundle/v1", "withheld": "x"})
        ),
        3,
        "is not a custody-bundle/v1 schedule of withheld material",
    ),
    "a huge number in an entry": (_huge_number, 1, "entry 2"),
    "a ledger line that is not JSON": (
        lambda b: _edit(
            b / "data" / "ledger" / "entries.jsonl",
            '{"payload"',
            "{payload",
        ),
        1,
        "entry 0",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_content_is_refused_precisely(cli: Cli, bag: Path, case: str) -> None:
    change, code, message = MALFORMED[case]
    change(bag)
    _reseal(bag)
    result = cli("verify", bag, "--json")
    assert "Traceback" not in result.err
    assert result.code == code, str(result)
    if code == 3:
        assert result.err.startswith("Error: "), str(result)
        assert message in result.err, str(result)
    else:
        report = json.loads(result.out)
        assert any(message in m for failures in _failed(report).values() for m in failures), report


def test_a_malformed_manifest_or_bag_info_is_exit_3(cli: Cli, bag: Path) -> None:
    manifest = bag / "manifest-sha256.txt"
    original = manifest.read_text()
    manifest.write_text(original + "not a manifest line\n")
    _reseal_tags(bag)
    assert_error(cli("verify", bag), 3, "manifest-sha256.txt line ", "expected '<sha256 hex>  <path>'")
    manifest.write_text(original)
    info = bag / "bag-info.txt"
    info.write_text(info.read_text() + f"Custody-Case: {CASE}\n")
    assert_error(cli("verify", bag), 3, "must have one Custody-Case line, found 2")
