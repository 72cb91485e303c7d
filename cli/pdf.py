"""custody pdf verify: check a signed PDF dossier offline (no workspace, no network)."""

from __future__ import annotations

from pathlib import Path

import click

from custody.errors import InputFileError
from custody.pki import load_certificates
from custody_cli.context import echo_json


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


@click.group("pdf")
def pdf() -> None:
    """Signed PDF dossiers."""


@pdf.command("verify")
@click.argument("dossier", metavar="DOSSIER.pdf", type=click.Path(path_type=Path))
@click.option(
    "--ca",
    "ca_files",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="CA.pem",
    help="A root certificate to trust (PEM or DER; repeatable). Without it nothing is trusted.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def pdf_verify(dossier: Path, ca_files: tuple[Path, ...], as_json: bool) -> None:
    """Check the PAdES signatures of a PDF offline with pyHanko's validator.

    For each signature: intact (the signed bytes are unchanged), valid (the signature verifies
    with its certificate's key), trusted (the certificate chains to a --ca root), whether it
    covers the whole file, the signer and certificate fingerprint, and the claimed signing time.
    Nothing is fetched: no OCSP, CRL or operating-system trust store, so revocation is not
    checked.

    \b
    Exit codes: 0 every signature intact, valid and trusted and the last one covering the
    whole file; 1 otherwise (the output says which check failed); 3 unreadable file.

    \b
    Examples:
      custody pdf verify OP-LANTERN-dossier.pdf --ca agency-ca.pem
      custody pdf verify dossier.pdf --ca agency-ca.pem --json
    """
    from custody.pdfsign import validate_pdf  # noqa: PLC0415 - pyHanko is slow to import

    roots = [c for path in ca_files for c in load_certificates(_read(path, "CA file"), what=str(path))]
    report = validate_pdf(_read(dossier, "PDF"), roots)
    if as_json:
        echo_json({"file": str(dossier), **report.to_dict()})
    else:
        click.echo(f"Signatures in {dossier}:")
        if not roots:
            click.echo("  (no --ca given: no certificate is trusted)")
        last = len(report.signatures)
        for number, check in enumerate(report.signatures, start=1):
            click.echo(f"  {number}. field {check.field_name!r}")
            click.echo(f"       signer:      {check.signer_subject}")
            click.echo(f"       certificate: SHA-256 {check.certificate_sha256}")
            signed_at = check.signing_time.isoformat() if check.signing_time else "not stated"
            click.echo(f"       signed at:   {signed_at} (claimed by the signer)")
            checks = [("intact", check.intact), ("valid", check.valid), ("trusted", check.trusted)]
            if number == last:
                checks.append(("covers the whole document", check.covers_whole_document))
            else:  # a later signature covers what was added after this one
                checks.append(("later revisions are legitimate signature updates", check.modifications_ok))
            for title, ok in checks:
                click.echo(f"       [{'OK' if ok else 'FAIL'}] {title}")
            for problem in check.problems:
                click.echo(f"       - {problem}")
        click.echo(f"Result: {report.verdict}")
    if not report.ok:
        raise SystemExit(1)


COMMANDS = [pdf]
