"""custody key new / list / export."""

from __future__ import annotations

from pathlib import Path

import click

from custody.actors import create_key, has_private_key, list_actors, public_key_of
from custody.certificates import (
    CertificateBinding,
    certificate_path,
    import_actor_certificate,
    issue_actor_certificate,
    signing_key_path,
)
from custody.keys import fingerprint
from custody.models import ActorRole
from custody.transfers import revoke_key
from custody_cli.context import CliState, echo_json, pass_state, prompt_new_passphrase
from custody_cli.pki import echo_certificate


@click.group("key")
def key() -> None:
    """Signing keys (Ed25519) of investigators, custodians, prosecutors and tools, and their
    X.509 certificates for signing PDF dossiers (cert, import-cert)."""


@key.command("new")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in ActorRole]),
    help="What the key holder does; 'tool' is a service key for a recording tool.",
)
@pass_state
def key_new(state: CliState, name: str, role: str) -> None:
    """Create an encrypted Ed25519 key for NAME.

    The private key is encrypted with a passphrase (Argon2id + ChaCha20-Poly1305) and stored
    in .custody/keys/NAME.key with mode 0600. The first key becomes the workspace default.
    """
    with state.open_workspace() as ws:
        actor = create_key(ws, name, role, passphrase_callback=prompt_new_passphrase)
        click.echo(f"Created key {actor.name} ({actor.role})")
        click.echo(f"  key id:      {actor.key_id}")
        click.echo(f"  fingerprint: {fingerprint(actor.key_id)}")
        click.echo(f"  private key: {ws.key_path(name)} (encrypted, mode 0600)")
        if ws.config.default_actor == name:
            click.echo("  this is the workspace's default acting key")


@key.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def key_list(state: CliState, as_json: bool) -> None:
    """List the keys registered in the workspace."""
    with state.open_workspace() as ws:
        actors = list_actors(ws)
        rows = [
            {
                "name": a.name,
                "role": a.role,
                "key_id": a.key_id,
                "created_at": a.created_at,
                "revoked_at": a.revoked_at,
                "private_key_here": has_private_key(ws, a.name),
                "default": ws.config.default_actor == a.name,
            }
            for a in actors
        ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No keys yet. Create one with: custody key new NAME --role investigator")
        return
    for row in rows:
        flags = []
        if row["default"]:
            flags.append("default")
        if not row["private_key_here"]:
            flags.append("public only")
        if row["revoked_at"]:
            flags.append(f"revoked {row['revoked_at']}")
        suffix = f"  [{', '.join(flags)}]" if flags else ""
        click.echo(f"{row['name']:<16} {row['role']:<13} {fingerprint(str(row['key_id']))}{suffix}")


@key.command("export")
@click.argument("name")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pem", "hex", "keyid"]),
    default="pem",
    show_default=True,
    help="PEM SubjectPublicKeyInfo (openssl reads it), raw public key hex, or the key id.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@pass_state
def key_export(state: CliState, name: str, fmt: str, output: Path | None) -> None:
    """Export NAME's public key (never the private key).

    \b
    Check a signature with openssl:
      custody key export alice -o alice.pem
      openssl pkeyutl -verify -pubin -inkey alice.pem -rawin -in FILE -sigfile FILE.sig
    """
    with state.open_workspace() as ws:
        actor, public = public_key_of(ws, name)
    text = {"pem": public.to_pem().decode("ascii"), "hex": public.hex + "\n", "keyid": actor.key_id + "\n"}[
        fmt
    ]
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        click.echo(f"Wrote {name}'s public key ({fmt}) to {output}", err=True)


@key.command("revoke")
@click.argument("name")
@click.option("--reason", required=True, help="Why (lost device, left the unit, compromise...).")
@pass_state
def key_revoke(state: CliState, name: str, reason: str) -> None:
    """Revoke NAME's key (by NAME itself or a custodian).

    Every open case that knows the key gets a signed key.revoked entry; from then on the key
    cannot sign here, and verification fails any entry it signs after its revocation.
    """
    with state.open_workspace() as ws:
        written = revoke_key(ws, name, reason=reason, actor_name=state.actor)
    click.echo(f"Revoked key {name}")
    for case_id, sequence in written:
        click.echo(f"  {case_id}: key.revoked at entry {sequence}")


@key.command("cert")
@click.argument("name")
@click.option(
    "--ca-name",
    "organisation",
    metavar="ORG",
    help="If the workspace has no CA yet, create it for this agency or unit (see 'custody ca init').",
)
@pass_state
def key_cert(state: CliState, name: str, organisation: str | None) -> None:
    """Issue NAME a document-signing certificate from the workspace CA.

    A new ECDSA P-256 key (encrypted with a new passphrase in .custody/keys/x509/NAME.key,
    mode 0600) and an X.509 certificate (CN = NAME, title = NAME's role, keyUsage
    digitalSignature + nonRepudiation, extendedKeyUsage documentSigning + emailProtection,
    valid three years) in .custody/pki/actors/NAME.pem. NAME's Ed25519 key signs a binding of
    the certificate's SHA-256 fingerprint to its key id (.custody/pki/actors/NAME.json).
    Creates the workspace CA first if there is none. Asks for the CA key's and NAME's key's
    passphrases, then the new key's (or reads CUSTODY_PASSPHRASE).

    \b
    Example:
      custody key cert cole
      custody ca export -o CA.pem     # for the PDF reader and the defence
    """
    with state.open_workspace() as ws:
        binding = issue_actor_certificate(
            ws, name, passphrase_callback=prompt_new_passphrase, organisation=organisation
        )
        _echo_binding(binding, certificate_path(ws, name), signing_key_path(ws, name))


@key.command("import-cert")
@click.argument("name")
@click.option(
    "--cert",
    "cert_file",
    required=True,
    type=click.Path(path_type=Path),
    metavar="CERT.pem",
    help="NAME's certificate (PEM or DER); further certificates in it are taken as its chain.",
)
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(path_type=Path),
    metavar="KEY.pem",
    help="Its private key (PEM or DER, PKCS#8 or traditional, encrypted or not).",
)
@click.option(
    "--chain",
    "chain_file",
    type=click.Path(path_type=Path),
    metavar="CHAIN.pem",
    help="The issuing CA certificates (intermediates, root).",
)
@pass_state
def key_import_cert(
    state: CliState, name: str, cert_file: Path, key_file: Path, chain_file: Path | None
) -> None:
    """Import an agency-issued document-signing certificate for NAME.

    The key must be RSA (2048 bits or more) or ECDSA P-256 and belong to the certificate; the
    certificate must be valid now and not a CA; the chain, if given, must hold its issuer.
    Anything else is refused and nothing is stored. The key is re-encrypted with a new
    passphrase into .custody/keys/x509/NAME.key (mode 0600); delete or lock away your plain
    KEY.pem afterwards. An encrypted KEY.pem asks for its password first.

    \b
    Example (from a PKCS#12 file; openssl encrypts the key it writes):
      openssl pkcs12 -in cole.p12 -clcerts -nokeys -out cole.pem
      openssl pkcs12 -in cole.p12 -nocerts -out cole-key.pem
      openssl pkcs12 -in cole.p12 -cacerts -nokeys -out agency-chain.pem
      custody key import-cert cole --cert cole.pem --key cole-key.pem --chain agency-chain.pem
    """
    with state.open_workspace() as ws:
        binding = import_actor_certificate(
            ws,
            name,
            certificate_file=cert_file,
            key_file=key_file,
            chain_file=chain_file,
            passphrase_callback=prompt_new_passphrase,
        )
        _echo_binding(binding, certificate_path(ws, name), signing_key_path(ws, name))


def _echo_binding(binding: CertificateBinding, cert_path: Path, key_path: Path) -> None:
    source = "issued by the workspace CA" if binding.source == "workspace-ca" else "imported"
    click.echo(f"Document-signing certificate for {binding.actor} ({source})")
    echo_certificate(binding.certificate)
    click.echo(f"  bound to key: {fingerprint(binding.key_id)} (signed by {binding.actor}'s Ed25519 key)")
    click.echo(f"  certificate:  {cert_path} (with its chain of {len(binding.chain)})")
    click.echo(f"  private key:  {key_path} (encrypted, mode 0600)")


COMMANDS = [key]
