"""``custody import warc`` as a user runs it: real subprocesses, output, exit codes, no tracebacks."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from custody.warc import read_warc
from tests.conftest import (
    REPO,
    TOOLCARDS,
    Cli,
    CliResult,
    anonymous_signed_data,
    assert_error,
    make_cli,
    spki_der,
)

CASE = "OP-CLI"
SAMPLE = REPO / "sample_cases" / "classifieds-sweep"
WARC = SAMPLE / "sweep-2026-06-03.warc.gz"
WACZ = SAMPLE / "sweep-2026-06-03.wacz"
FIXTURES = REPO / "tests" / "fixtures" / "warc"
FIXTURE_RESPONSE_ID = "<urn:uuid:5a1d7a19-5bbb-5626-bc9f-f807b2416562>"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _import(cli: Cli, path: Path, *extra: str) -> CliResult:
    return cli("import", "warc", path, "--case", CASE, "--tool", "adscraper", *extra)


def _log_lines(cli: Cli) -> list[str]:
    return cli.ok("log", CASE).out.splitlines()


def _provenance(cli: Cli, digest: str) -> dict:
    (record,) = json.loads(cli.ok("show", digest, "--case", CASE, "--json").out)
    assert (record["signature"], record["content"]) == ("valid", "intact")
    return record["provenance"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A SQLite workspace with key ana, case OP-CLI and tool adscraper, made once per module, and
    the lines ``custody log OP-CLI`` prints for it."""
    runner = make_cli(tmp_path_factory.mktemp("prepared-warc"), None)
    runner.ok("init")
    runner.ok("key", "new", "ana", "--role", "investigator")
    runner.ok("case", "open", CASE, "--title", "Sweep", "--jurisdiction", "UK", "--authority", "AUTH/1")
    runner.ok("tool", "add", TOOLCARDS / "scraper.yaml")
    log = _log_lines(runner)
    assert [line.split()[2] for line in log[:-1]] == ["case.opened"]
    return runner.cwd / ".custody", log


@pytest.fixture
def ready(cli: Cli, prepared: tuple[Path, list[str]]) -> Cli:
    """``cli`` in a copy of the prepared workspace."""
    shutil.copytree(prepared[0], cli.cwd / ".custody")
    return cli


def test_import_a_warc_then_again(ready: Cli) -> None:
    cli = ready
    digest = _sha256(WARC)

    first = _import(cli, WARC)
    assert first.code == 0, str(first)
    assert "Traceback" not in first.err
    assert first.out == (f"imported   {WARC}: entry 2, sha256:{digest[:16]}..., 8 payload(s), 0 finding(s)\n")
    again = _import(cli, WARC)
    assert again.code == 0, str(again)
    assert again.out == f"unchanged  {WARC}: already imported (entry 2)\n"

    log = _log_lines(cli)
    events = [line.split()[2] for line in log[:-1]]
    assert events == ["case.opened", "tool.registered", *["artifact.recorded"] * 9]
    assert log[-1] == "Custodian: ana"
    assert sum("captured derivative HIL0_MANUAL" in line for line in log) == 8

    original = _provenance(cli, digest)
    assert original["artifact"]["media_type"] == "application/warc"
    assert (original["role"], original["origin"]) == ("original", "captured")
    assert original["hil"] == {"level": "HIL0_MANUAL", "function": "acquire"}

    # An extract leads back to the capture.
    html = read_warc(WARC.read_bytes(), name="x").responses[0].payload.sha256
    lineage = cli.ok("lineage", html, "--case", CASE).out.splitlines()
    assert len(lineage) == 2, lineage
    assert f"sha256:{html[:16]}..." in lineage[0]
    assert "payload of WARC response record" in lineage[0]
    assert lineage[1].startswith(f"  {WARC.name}  sha256:{digest[:16]}...")

    assert "Result: VALID" in cli.ok("log", CASE, "--verify").out


def test_a_capture_recorded_as_a_file_is_still_imported_then_not_again(ready: Cli) -> None:
    # Recording the capture file first (as an investigator may, at capture time) did not extract
    # its payloads: import warc once said "already imported" and left them out for good.
    cli = ready
    digest = _sha256(WARC)
    recorded = cli.ok("record", WARC, "--case", CASE, "--tool", "adscraper").out
    assert f"sha256:{digest}" in recorded
    assert "entry 2" in recorded

    first = _import(cli, WARC)
    assert first.code == 0, str(first)
    assert first.out.startswith(f"imported   {WARC}: entry 3, sha256:{digest[:16]}..., 8 payload(s)")
    again = _import(cli, WARC)
    assert again.out == f"unchanged  {WARC}: already imported (entry 3)\n"

    events = [line.split()[2] for line in _log_lines(cli)[:-1]]
    assert events == ["case.opened", "tool.registered", *["artifact.recorded"] * 10]
    records = json.loads(cli.ok("show", digest, "--case", CASE, "--json").out)
    assert sorted(r["provenance"]["artifact"]["media_type"] for r in records) == [
        "application/octet-stream",
        "application/warc",
    ]
    assert "Result: VALID" in cli.ok("log", CASE, "--verify").out


def _signed_copy(destination: Path, key: ec.EllipticCurvePrivateKey, *, tamper: bool = False) -> Path:
    """The sample WACZ, its datapackage-digest.json carrying an anonymous signature by ``key`` (as
    ArchiveWeb.page signs); with ``tamper``, the signature's last byte changed."""
    with zipfile.ZipFile(WACZ) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    package_hash = "sha256:" + hashlib.sha256(members["datapackage.json"]).hexdigest()
    digest = json.loads(members["datapackage-digest.json"])
    digest["signedData"] = anonymous_signed_data(package_hash, key, tamper=tamper)
    members["datapackage-digest.json"] = json.dumps(digest).encode()
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_STORED) as out:
        for name, data in members.items():
            out.writestr(name, data)
    return destination


def test_a_signed_wacz_is_imported_with_its_verified_signature_and_a_forged_one_refused(
    ready: Cli, prepared: tuple[Path, list[str]]
) -> None:
    cli = ready
    key = ec.generate_private_key(ec.SECP256R1())
    forged = _import(cli, _signed_copy(cli.cwd / "forged.wacz", key, tamper=True))
    assert_error(forged, 1, "datapackage-digest.json: the package's anonymous signature does not verify")
    assert _log_lines(cli) == prepared[1]  # nothing recorded

    signed = _signed_copy(cli.cwd / "signed.wacz", key)
    assert _import(cli, signed).code == 0
    spki = spki_der(key.public_key())
    package = _provenance(cli, _sha256(signed))["details"]["wacz"]["datapackage"]
    assert package["signature"] == {
        "kind": "anonymous",
        "verified": True,
        "created": "2026-06-03T21:20:00Z",
        "software": "ArchiveWeb.page 0.12.8",
        "public_key": {"sha256": hashlib.sha256(spki).hexdigest()},
    }


def test_import_a_wacz_with_an_explicit_hil(ready: Cli, prepared: tuple[Path, list[str]]) -> None:
    cli = ready
    digest = _sha256(WACZ)
    size = len(prepared[1])

    unnamed = _import(cli, WACZ, "--hil", "HIL4_POST_REVIEW")
    assert_error(unnamed, 3, "HIL level HIL4_POST_REVIEW names a human: give the reviewer")

    # Nothing was recorded by the refused import: this one is new and its entries come next.
    result = _import(cli, WACZ, "--hil", "HIL4_POST_REVIEW", "--reviewed-by", "cole")
    assert result.code == 0, str(result)
    assert result.out == (
        f"imported   {WACZ}: entry 2, sha256:{digest[:16]}..., 8 payload(s), 0 finding(s)\n"
    )
    original = _provenance(cli, digest)
    assert original["artifact"]["media_type"] == "application/wacz"
    assert original["hil"] == {"level": "HIL4_POST_REVIEW", "function": "acquire", "reviewed_by": "cole"}
    log = _log_lines(cli)
    assert len(log) == size + 10
    assert sum("captured derivative HIL4_POST_REVIEW" in line for line in log) == 8


# (fixture, exit code, how stderr starts; {path} is the fixture's path)
BAD = [
    (
        "warc_truncated.warc.gz",
        3,
        f"Error: {{path}}: record {FIXTURE_RESPONSE_ID} at offset 346: its gzip member is cut off",
    ),
    ("warc_not_a_warc.bin", 3, "Error: {path}: not a WARC file: it starts with b'%PDF-1.7"),
    ("does-not-exist.warc.gz", 3, "Error: capture file not found (or not a regular file): {full}\n"),
    (
        "warc_payload_digest_mismatch.warc",
        1,
        f"Error: {{path}}: record {FIXTURE_RESPONSE_ID} at offset 323: WARC-Payload-Digest mismatch",
    ),
]


def test_bad_captures_exit_with_the_documented_codes_and_record_nothing(
    ready: Cli, prepared: tuple[Path, list[str]]
) -> None:
    cli = ready
    for fixture, code, start in BAD:
        path = FIXTURES / fixture
        result = _import(cli, path)
        assert_error(result, code)
        assert result.err.startswith(start.format(path=path.name, full=path)), str(result)
    assert _log_lines(cli) == prepared[1]
