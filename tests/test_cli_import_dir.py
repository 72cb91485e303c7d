"""``custody import dir``: sample case (b) end to end from the CLI (WARC, then the OCR and
translation derivatives its sidecar describes), and the ways a folder import is refused."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from custody.warc import read_warc
from tests.conftest import REPO, TOOLCARDS, Cli, assert_error, make_cli

CASE = "SWEEP-1"
SAMPLE = REPO / "sample_cases" / "classifieds-sweep"
WARC = SAMPLE / "sweep-2026-06-03.warc.gz"
SIDECAR = json.loads((SAMPLE / "sidecar.json").read_bytes())
NOT_LISTED = ["README.md", "make_sample.py", "ocr-engine.yaml", "sweep-2026-06-03.wacz", WARC.name]


def _events(cli: Cli) -> list[str]:
    return [line.split()[2] for line in cli.ok("log", CASE).out.splitlines()[:-1]]


def _provenance(cli: Cli, digest: str) -> dict:
    (record,) = json.loads(cli.ok("show", digest, "--case", CASE, "--json").out)
    assert (record["signature"], record["content"]) == ("valid", "intact")
    return record["provenance"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with case SWEEP-1 and the sweep's three tools registered, made once."""
    runner = make_cli(tmp_path_factory.mktemp("prepared-dir"), None)
    runner.ok("init")
    runner.ok("key", "new", "ana", "--role", "investigator")
    runner.ok("case", "open", CASE, "--title", "Sweep", "--jurisdiction", "UK", "--authority", "AUTH/2")
    for card in (TOOLCARDS / "scraper.yaml", TOOLCARDS / "translator.yaml", SAMPLE / "ocr-engine.yaml"):
        runner.ok("tool", "add", card)
    return runner.cwd / ".custody"


@pytest.fixture
def ready(cli: Cli, prepared: Path) -> Cli:
    shutil.copytree(prepared, cli.cwd / ".custody")
    return cli


@pytest.fixture
def derivatives(tmp_path: Path) -> Path:
    """A copy of the sweep's sidecar folder holding only what the sidecar lists."""
    folder = tmp_path / "derivatives"
    folder.mkdir()
    shutil.copy(SAMPLE / "sidecar.json", folder)
    shutil.copytree(SAMPLE / "ocr", folder / "ocr")
    shutil.copytree(SAMPLE / "translation", folder / "translation")
    return folder


def test_sample_case_b_imports_end_to_end(ready: Cli) -> None:
    cli = ready
    cli.ok("import", "warc", WARC, "--case", CASE, "--tool", "adscraper")
    before = _events(cli)

    result = cli.ok("import", "dir", SAMPLE, "--case", CASE)
    lines = result.out.splitlines()
    recorded = [line.split()[1].rstrip(":") for line in lines if line.startswith("recorded")]
    # Parents first (they are all in the WARC here, so the sidecar's order is kept).
    assert recorded == [entry["path"] for entry in SIDECAR["files"]]
    assert [line.split()[1].rstrip(":") for line in lines if line.startswith("skipped")] == NOT_LISTED
    assert lines[-1].startswith("7 file(s) recorded, 0 already present, 5 not listed (sidecar sha256:")
    assert _events(cli) == [*before, "tool.registered", "tool.registered", *["artifact.recorded"] * 7]

    # Each derivative is signed with the sidecar's claims and leads back to the capture.
    capture = read_warc(WARC.read_bytes(), name=WARC.name)
    encoded_page = next(r for r in capture.responses if r.record.target_uri.endswith("/51911"))
    translation = next(e for e in SIDECAR["files"] if e["path"] == "translation/ad-51911.en.txt")
    assert translation["derived_from"]["parents"][0]["sha256"] == encoded_page.payload.sha256
    provenance = _provenance(cli, translation["sha256"])
    assert provenance["hil"] == {"level": "HIL4_POST_REVIEW", "function": "analyse", "reviewed_by": "cole"}
    assert provenance["tool"]["name"] == "translator"
    assert provenance["tool"]["version"] == "3.0.2"
    assert provenance["derived_from"] == {
        "parents": [{"sha256": encoded_page.payload.sha256}],
        "transformation": "translation ru->en of the page text",
    }
    details = provenance["details"]
    assert (details["path"], details["language"], details["source_language"]) == (
        "translation/ad-51911.en.txt",
        "en",
        "ru",
    )
    assert (
        details["sidecar"]["digest"]["sha256"]
        == hashlib.sha256((SAMPLE / "sidecar.json").read_bytes()).hexdigest()
    )
    assert "chunked and gzip-encoded" in details["parent_notes"][0]["note"]

    lineage = cli.ok("lineage", translation["sha256"], "--case", CASE).out.splitlines()
    assert [line.split()[0] for line in lineage] == ["ad-51911.en.txt", "00005-51911.html", WARC.name]
    ocr = next(e for e in SIDECAR["files"] if e["path"] == "ocr/ad-51911.txt")
    ocr_lineage = cli.ok("lineage", ocr["sha256"], "--case", CASE).out
    assert "generated derivative, ocr-engine 5.3.1, HIL5_AUTONOMOUS <- ocr" in ocr_lineage
    assert "urn:screenshot" not in ocr_lineage  # names are file names, the URI is in the details

    # Importing the same folder again adds nothing.
    after = _events(cli)
    again = cli.ok("import", "dir", SAMPLE, "--case", CASE).out.splitlines()
    assert sum(line.startswith("unchanged") for line in again) == 7
    assert again[-1].startswith("0 file(s) recorded, 7 already present, 5 not listed")
    assert _events(cli) == after
    assert "Result: VALID" in cli.ok("log", CASE, "--verify").out


def test_a_folder_without_its_sidecar_is_exit_3(ready: Cli, derivatives: Path) -> None:
    (derivatives / "sidecar.json").unlink()
    result = ready("import", "dir", derivatives, "--case", CASE)
    assert_error(result, 3, f"no sidecar sidecar.json in {derivatives}", "docs/sidecar-format.md")
    assert_error(
        ready("import", "dir", derivatives / "nowhere", "--case", CASE), 3, "folder to import not found"
    )


def test_parents_must_be_in_the_case_first(ready: Cli, derivatives: Path) -> None:
    before = _events(ready)
    result = ready("import", "dir", derivatives, "--case", CASE)
    parent = SIDECAR["files"][0]["derived_from"]["parents"][0]["sha256"]
    assert_error(result, 1, f"ocr/ad-51907.txt is derived from {parent[:16]}..., which is not an artifact")
    assert "import or record the parent first" in result.err
    assert _events(ready) == before


def test_a_file_changed_after_the_sidecar_was_written_stops_the_import(ready: Cli, derivatives: Path) -> None:
    ready.ok("import", "warc", WARC, "--case", CASE, "--tool", "adscraper")
    before = _events(ready)
    target = derivatives / "translation" / "ad-51924.en.txt"
    data = bytearray(target.read_bytes())
    data[10] ^= 0x20  # one changed letter
    target.write_bytes(bytes(data))
    result = ready("import", "dir", derivatives, "--case", CASE)
    assert_error(result, 1, f"{target} does not match", "the file changed after the sidecar was written")
    assert _events(ready) == before  # all or nothing: the six good files were not recorded either


def test_a_symbolic_link_in_the_folder_is_refused(ready: Cli, derivatives: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    target = derivatives / "ocr" / "ad-51920.txt"
    outside.write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(outside)
    result = ready("import", "dir", derivatives, "--case", CASE)
    assert_error(result, 3, "lists ocr/ad-51920.txt, but", "is a symbolic link")


def test_a_malformed_sidecar_is_exit_3_naming_the_entry(ready: Cli, derivatives: Path) -> None:
    document = json.loads((derivatives / "sidecar.json").read_bytes())
    document["files"][2]["path"] = "../../etc/passwd"
    (derivatives / "sidecar.json").write_text(json.dumps(document))
    result = ready("import", "dir", derivatives, "--case", CASE)
    assert_error(result, 3, "sidecar.json: files[2] (../../etc/passwd): path", "'..' component")


def test_an_unregistered_tool_is_refused_with_a_hint(ready: Cli, derivatives: Path) -> None:
    document = json.loads((derivatives / "sidecar.json").read_bytes())
    document["files"][0]["tool"]["version"] = "9.9.9"
    (derivatives / "sidecar.json").write_text(json.dumps(document))
    result = ready("import", "dir", derivatives, "--case", CASE)
    assert_error(result, 1, "no tool 'ocr-engine@9.9.9' registered", "custody tool add")
