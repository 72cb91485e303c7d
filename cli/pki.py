"""custody ca init / export: the workspace certificate authority for signed PDF dossiers."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography import x509

from custody.certificates import ca_certificate, ca_certificate_path, ca_key_path, init_ca
from custody.pki import certificate_fingerprint, certificates_pem, name_text
from custody_cli.context import CliState, pass_state, prompt_new_passphrase


def echo_certificate(certificate: x509.Certificate, *, indent: str = "  ") -> None:
    click.echo(f"{indent}subject:     {name_text(certificate.subject)}")
    click.echo(f"{indent}issuer:      {name_text(certificate.issuer)}")
    click.echo(
        f"{indent}valid:       {certificate.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ} to "
        f"{certificate.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
    )
    click.echo(f"{indent}SHA-256:     {certificate_fingerprint(certificate)}")


@click.group("ca")
def ca() -> None:
    """The workspace certificate authority (CA) that issues document-signing certificates.

    PDF readers show a dossier's signature with an X.509 certificate. The workspace CA (an
    ECDSA P-256 key and a self-signed certificate, valid ten years) issues one per signing
    actor ('custody key cert NAME'); give its certificate ('custody ca export') to whoever
    checks a dossier, to add to their PDF reader's trusted certificates or to pass to
    'custody pdf verify --ca'.
    """


@ca.command("init")
@click.option(
    "--name",
    "organisation",
    metavar="ORG",
    help="The agency or unit the CA speaks for (its certificate's O; CN is 'ORG custody CA').",
)
@pass_state
def ca_init(state: CliState, organisation: str | None) -> None:
    """Create the workspace CA (done automatically by the first 'custody key cert').

    The CA key is encrypted with a passphrase (Argon2id + ChaCha20-Poly1305) in
    .custody/keys/ca/ca.key (mode 0600); the certificate is .custody/pki/ca.pem.

    \b
    Example:
      custody ca init --name "Metropolitan Police Cyber Unit"
      custody ca export -o cyber-unit-ca.pem
    """
    with state.open_workspace() as ws:
        certificate = init_ca(ws, organisation=organisation, passphrase_callback=prompt_new_passphrase)
        click.echo("Created the workspace certificate authority")
        echo_certificate(certificate)
        click.echo(f"  certificate: {ca_certificate_path(ws)}")
        click.echo(f"  private key: {ca_key_path(ws)} (encrypted, mode 0600)")


@ca.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@pass_state
def ca_export(state: CliState, output: Path | None) -> None:
    """Export the workspace CA certificate (PEM; never the key).

    \b
    Trust it in a PDF reader (e.g. Adobe Acrobat: Preferences > Signatures > Identities &
    Trusted Certificates > Import), or check a dossier with it:
      custody ca export -o CA.pem
      custody pdf verify DOSSIER.pdf --ca CA.pem
    """
    with state.open_workspace() as ws:
        certificate = ca_certificate(ws)
    pem = certificates_pem([certificate])
    if output is None:
        click.echo(pem.decode("ascii"), nl=False)
        return
    output.write_bytes(pem)
    click.echo(f"Wrote the workspace CA certificate to {output}", err=True)
    click.echo(f"  SHA-256: {certificate_fingerprint(certificate)}", err=True)


COMMANDS = [ca]
