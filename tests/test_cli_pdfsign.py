"""custody ca init / export, key cert / import-cert and pdf verify, run as the real command;
and pyHanko's own CLI validating a dossier offline as the README says."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custody import pki
from custody.pdfsign import sign_pdf
from custody.workspace import Workspace
from tests.conftest import PASSPHRASE, Cli, assert_error, passphrase_callback
from tests.test_pdfsign import PEM_PRIVATE_MARKERS, _agency, make_pdf


def _sign_as(cli: Cli, name: str, pdf: bytes) -> bytes:
    from custody.certificates import load_signing_credential  # noqa: PLC0415

    with Workspace.open(cli.cwd, passphrase_callback=passphrase_callback) as ws:
        credential = load_signing_credential(ws, name, passphrase_callback)
    return sign_pdf(pdf, credential, reason="Custodian's signature on the dossier")


@pytest.fixture
def signed_dossier(cli: Cli) -> tuple[Path, Path]:
    """A workspace with custodian cole's certificate; (signed dossier, exported CA)."""
    cli.ok("init")
    cli.ok("key", "new", "cole", "--role", "custodian")
    cli.ok("ca", "init", "--name", "Test Unit")
    issued = cli.ok("key", "cert", "cole")
    assert "Document-signing certificate for cole (issued by the workspace CA)" in issued.out
    assert "title=custodian,O=Test Unit,CN=cole" in issued.out
    exported = cli.ok("ca", "export", "-o", "ca.pem")
    assert "SHA-256" in exported.err
    dossier = cli.cwd / "dossier.pdf"
    dossier.write_bytes(_sign_as(cli, "cole", make_pdf()))
    return dossier, cli.cwd / "ca.pem"


def test_pdf_verify_trusted_untrusted_tampered_and_unreadable(
    tmp_path: Path, cli: Cli, signed_dossier: tuple[Path, Path]
) -> None:
    dossier, ca = signed_dossier
    ok = cli.ok("pdf", "verify", dossier, "--ca", ca)
    assert "[OK] trusted" in ok.out
    assert "[OK] covers the whole document" in ok.out
    assert "Result: VALID" in ok.out

    untrusted = cli("pdf", "verify", dossier)
    assert untrusted.code == 1, str(untrusted)
    assert "[FAIL] trusted" in untrusted.out
    assert "no --ca given" in untrusted.out
    assert "Result: INVALID" in untrusted.out
    assert "not trusted" in untrusted.out

    data = dossier.read_bytes()
    at = data.index(b"Exhibit 1")
    tampered = cli.cwd / "tampered.pdf"
    tampered.write_bytes(data[: at + 8] + b"9" + data[at + 9 :])
    broken = cli("pdf", "verify", tampered, "--ca", ca)
    assert broken.code == 1, str(broken)
    assert "[FAIL] intact" in broken.out
    assert "is not intact" in broken.out

    as_json = cli("pdf", "verify", dossier, "--ca", ca, "--json")
    assert as_json.code == 0, str(as_json)
    document = json.loads(as_json.out)
    assert document["ok"] is True
    assert document["signatures"][0]["signer_subject"].endswith("Common Name: cole")

    assert_error(cli("pdf", "verify", "missing.pdf", "--ca", ca), 3, "missing.pdf")
    (cli.cwd / "notes.txt").write_text("not a pdf\n")
    assert_error(cli("pdf", "verify", "notes.txt", "--ca", ca), 3, "not a readable PDF")
    assert_error(cli("pdf", "verify", dossier, "--ca", "notes.txt"), 3, "no readable X.509 certificate")

    # the defence needs no workspace, only the two files
    elsewhere = tmp_path / "defence"
    elsewhere.mkdir()
    shutil.copy(dossier, elsewhere / "dossier.pdf")
    shutil.copy(ca, elsewhere / "ca.pem")
    result = Cli(elsewhere, cli.env).ok("pdf", "verify", "dossier.pdf", "--ca", "ca.pem")
    assert "Result: VALID" in result.out

    _check_with_pyhanko_cli(cli, dossier, ca)


def test_wrong_passphrase_is_refused_with_exit_1_and_not_echoed(cli: Cli) -> None:
    cli.ok("init")
    cli.ok("key", "new", "cole", "--role", "custodian")
    cli.ok("ca", "init")
    wrong = "definitely-wrong-4711"
    result = cli("key", "cert", "cole", env={"CUSTODY_PASSPHRASE": wrong})
    assert_error(result, 1, "wrong passphrase for the workspace CA key")
    assert wrong not in result.err
    assert not (cli.cwd / ".custody" / "keys" / "x509" / "cole.key").exists()


def test_key_cert_for_an_unknown_actor_and_twice(cli: Cli) -> None:
    cli.ok("init")
    cli.ok("key", "new", "cole", "--role", "custodian")
    assert_error(cli("key", "cert", "nobody"), 1, "no key named 'nobody'")
    cli.ok("key", "cert", "cole")  # makes the CA on first use
    assert (cli.cwd / ".custody" / "pki" / "ca.pem").is_file()
    assert_error(cli("key", "cert", "cole"), 1, "already has a document-signing certificate")
    assert_error(cli("ca", "init"), 1, "already has a certificate authority")


def test_import_cert_rsa_and_mismatch(tmp_path: Path, cli: Cli) -> None:
    cli.ok("init")
    cli.ok("key", "new", "cole", "--role", "custodian")
    cli.ok("key", "new", "ana", "--role", "investigator")
    agency = tmp_path / "agency"
    agency.mkdir()
    cert_file, key_file, chain_file, _ = _agency(agency)
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    _, other_key, _, _ = _agency(other_dir)

    refused = cli("key", "import-cert", "ana", "--cert", cert_file, "--key", other_key, "--chain", chain_file)
    assert_error(refused, 1, "the private key does not belong to certificate 'CN=DS Cole'")
    missing = cli("key", "import-cert", "ana", "--cert", tmp_path / "nope.pem", "--key", key_file)
    assert_error(missing, 3, "nope.pem")

    imported = cli.ok(
        "key", "import-cert", "cole", "--cert", cert_file, "--key", key_file, "--chain", chain_file
    )
    assert "Document-signing certificate for cole (imported)" in imported.out
    dossier = cli.cwd / "dossier.pdf"
    dossier.write_bytes(_sign_as(cli, "cole", make_pdf()))
    result = cli.ok("pdf", "verify", dossier, "--ca", chain_file)
    assert "CN=DS Cole" in result.out or "Common Name: DS Cole" in result.out

    for path in (cli.cwd / ".custody").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(marker in data for marker in PEM_PRIVATE_MARKERS), path
            assert PASSPHRASE.encode() not in data, path


def test_help_texts_show_examples(cli: Cli) -> None:
    assert "custody pdf verify" in cli.ok("pdf", "verify", "--help").out
    assert "custody ca export -o" in cli.ok("ca", "init", "--help").out
    assert "custody key import-cert cole" in cli.ok("key", "import-cert", "--help").out
    assert "ca" in cli.ok("--help").out


def _check_with_pyhanko_cli(cli: Cli, dossier: Path, ca: Path) -> None:
    """The README's command for checking a dossier with pyHanko's own tool, offline."""
    script = Path(sys.executable).parent / "pyhanko"
    if not script.exists():
        pytest.skip("pyhanko-cli is not installed (it is a dev dependency)")
    command = [
        str(script),
        "sign",
        "validate",
        "--trust",
        str(ca),
        "--trust-replace",
        "--no-revocation-check",
    ]
    good = subprocess.run(
        [*command, "--pretty-print", str(dossier)], capture_output=True, text=True, timeout=120, check=False
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert "The signature is judged VALID." in good.stdout
    assert "The signature covers the entire file." in good.stdout
    other = cli.cwd / "other-ca.pem"
    other.write_bytes(pki.certificates_pem([pki.create_ca("Elsewhere", now=datetime.now(UTC))[1]]))
    untrusted = subprocess.run(
        [
            str(script),
            "sign",
            "validate",
            "--trust",
            str(other),
            "--trust-replace",
            "--no-revocation-check",
            "--executive-summary",
            str(dossier),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert untrusted.returncode != 0
    assert "INVALID" in untrusted.stdout or "UNTRUSTED" in untrusted.stdout
