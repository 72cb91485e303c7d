"""The workspace CA and the actors' document-signing certificates, kept in the workspace folder.

Layout (all under ``.custody/``; folders mode 0700, files mode 0600, never overwritten):

```
keys/ca/ca.key            the workspace CA's ECDSA P-256 key (custody X.509 key file, encrypted)
keys/x509/<name>.key      <name>'s document-signing key (custody X.509 key file, encrypted)
pki/ca.pem                the workspace CA certificate (public: give it to readers and the defence)
pki/actors/<name>.pem     <name>'s certificate, then its chain (issuer first)
pki/actors/<name>.json    the binding: a DSSE envelope signed by <name>'s Ed25519 key, stating
                          "certificate with SHA-256 F is mine" (actor, key id, fingerprint, ...)
```

Invariants:
- A signing certificate belongs to an actor with an Ed25519 key in the workspace; the binding is
  signed by that key, and ``load_signing_credential`` checks it (and that the key is not revoked)
  before the certificate signs anything.
- Private keys are encrypted with ``custody.keys.seal_secret`` (via ``custody.pki``); passphrases
  come only from callbacks. No private key or passphrase reaches a message, a log or a bundle.
- If issuing or importing fails part way, the files it wrote are removed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from custody import db
from custody.actors import write_private_file
from custody.canonical import canonical_bytes, parse_json_object
from custody.envelope import Envelope
from custody.errors import (
    CustodyError,
    FormatError,
    InputFileError,
    IntegrityError,
    NotFoundError,
    PolicyError,
)
from custody.keys import PassphraseCallback, PublicKey
from custody.ledger import check_actor_can_sign, load_actor
from custody.models import check_slug
from custody.pki import (
    SigningCredential,
    certificate_fingerprint,
    certificates_pem,
    check_importable,
    check_valid_at,
    create_ca,
    decrypt_x509_key,
    describe,
    encrypt_x509_key,
    issue_signing_certificate,
    load_certificates,
    load_private_key,
    name_text,
)
from custody.timeutil import format_rfc3339
from custody.workspace import Workspace

BINDING_PAYLOAD_TYPE = "application/vnd.custody.certificate-binding+json"
BINDING_TYPE = "custody/certificate-binding"
BINDING_VERSION = 1
SOURCE_WORKSPACE_CA = "workspace-ca"
SOURCE_IMPORTED = "imported"


# -- paths -----------------------------------------------------------------------------------------
def ca_key_path(ws: Workspace) -> Path:
    return ws.keys_dir / "ca" / "ca.key"


def ca_certificate_path(ws: Workspace) -> Path:
    return ws.custody_dir / "pki" / "ca.pem"


def signing_key_path(ws: Workspace, name: str) -> Path:
    return ws.keys_dir / "x509" / f"{check_slug(name, what='key name')}.key"


def certificate_path(ws: Workspace, name: str) -> Path:
    return ws.custody_dir / "pki" / "actors" / f"{check_slug(name, what='key name')}.pem"


def binding_path(ws: Workspace, name: str) -> Path:
    return ws.custody_dir / "pki" / "actors" / f"{check_slug(name, what='key name')}.json"


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CustodyError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


# -- the workspace CA ------------------------------------------------------------------------------
def has_ca(ws: Workspace) -> bool:
    return ca_certificate_path(ws).is_file()


def ca_certificate(ws: Workspace) -> x509.Certificate:
    """The workspace CA certificate.

    Raises:
        NotFoundError: the workspace has no CA yet.
    """
    path = ca_certificate_path(ws)
    if not path.is_file():
        raise NotFoundError(
            f"this workspace has no certificate authority ({path})",
            hint="create it with 'custody ca init --name ORG' (or it is made by 'custody key cert')",
        )
    return load_certificates(_read(path, "CA certificate"), what=str(path))[0]


def init_ca(
    ws: Workspace, *, organisation: str | None = None, passphrase_callback: PassphraseCallback | None = None
) -> x509.Certificate:
    """Create the workspace CA (ECDSA P-256 key, self-signed certificate valid ten years).

    ``organisation`` names the agency (default: ``custody workspace <id>``). The new CA key's
    passphrase comes from ``passphrase_callback``, else the workspace's callback.

    Raises:
        PolicyError: the workspace already has a CA.
    """
    return _create_ca(ws, organisation, passphrase_callback)[1]


def _create_ca(
    ws: Workspace, organisation: str | None, passphrase_callback: PassphraseCallback | None
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    cert_path, key_path = ca_certificate_path(ws), ca_key_path(ws)
    if cert_path.exists() or key_path.exists():
        raise PolicyError(f"this workspace already has a certificate authority ({cert_path}); it is kept")
    organisation = organisation or f"custody workspace {ws.config.workspace_id[:8]}"
    key, certificate = create_ca(organisation, now=ws.clock())
    passphrase = (passphrase_callback or ws.passphrase_callback)("the new workspace CA key")
    key_file = encrypt_x509_key(key, passphrase, metadata={"name": "workspace-ca", "role": "ca"})
    _write_all([(key_path, key_file), (cert_path, certificates_pem([certificate]))])
    return key, certificate


def _unlock_ca(ws: Workspace) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    certificate = ca_certificate(ws)
    key = decrypt_x509_key(
        _read(ca_key_path(ws), "CA key file"), ws.passphrase_callback, what="the workspace CA key"
    )
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise FormatError(f"the workspace CA key ({ca_key_path(ws)}) is not an ECDSA key")
    return key, certificate


def _write_all(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write new files in order; if one fails, remove those already written."""
    written: list[Path] = []
    try:
        for path, data in files:
            write_private_file(path, data)
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


# -- bindings ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CertificateBinding:
    """An actor's document-signing certificate and the signed statement that it is theirs."""

    actor: str
    role: str
    key_id: str  # the actor's Ed25519 key id
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    source: str  # "workspace-ca" or "imported"
    bound_at: str

    @property
    def fingerprint(self) -> str:
        return certificate_fingerprint(self.certificate)

    def statement(self) -> dict[str, Any]:
        """What the actor's Ed25519 key signs."""
        return {
            "type": BINDING_TYPE,
            "version": BINDING_VERSION,
            "actor": self.actor,
            "role": self.role,
            "key_id": self.key_id,
            "certificate_sha256": self.fingerprint,
            "subject": name_text(self.certificate.subject),
            "issuer": name_text(self.certificate.issuer),
            "serial_number": format(self.certificate.serial_number, "x"),
            "not_before": format_rfc3339(self.certificate.not_valid_before_utc),
            "not_after": format_rfc3339(self.certificate.not_valid_after_utc),
            "source": self.source,
            "bound_at": self.bound_at,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.statement(), "chain_sha256": [certificate_fingerprint(c) for c in self.chain]}


def _store_credential(
    ws: Workspace,
    name: str,
    key: Any,
    certificate: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    *,
    source: str,
    passphrase_callback: PassphraseCallback | None,
) -> CertificateBinding:
    actor = _signing_actor(ws, name)
    paths = (signing_key_path(ws, name), certificate_path(ws, name), binding_path(ws, name))
    existing = [p for p in paths if p.exists()]
    if existing:
        raise PolicyError(
            f"{name!r} already has a document-signing certificate ({existing[0]}); it is never replaced here"
        )
    binding = CertificateBinding(
        actor=name,
        role=actor.role,
        key_id=actor.key_id,
        certificate=certificate,
        chain=chain,
        source=source,
        bound_at=format_rfc3339(ws.clock()),
    )
    # The actor's Ed25519 key signs the binding: the certificate is theirs by their own word.
    signer = ws.signer(name)
    check_actor_can_sign(actor, signer)
    envelope = Envelope.sign(BINDING_PAYLOAD_TYPE, canonical_bytes(binding.statement()), signer)
    new_passphrase = passphrase_callback or ws.passphrase_callback
    passphrase = new_passphrase(f"the new signing certificate key of '{name}'")
    key_file = encrypt_x509_key(key, passphrase, metadata={"name": name, "role": actor.role})
    _write_all(
        [
            (paths[0], key_file),
            (paths[1], certificates_pem([certificate, *chain])),
            (paths[2], envelope.to_bytes() + b"\n"),
        ]
    )
    return binding


def _signing_actor(ws: Workspace, name: str) -> db.ActorRow:
    with db.transaction(ws.engine) as session:
        actor = load_actor(session, name)
    if actor.revoked_at is not None:
        raise PolicyError(f"key {name!r} ({actor.key_id[:16]}...) was revoked at {actor.revoked_at}")
    return actor


def issue_actor_certificate(
    ws: Workspace,
    name: str,
    *,
    passphrase_callback: PassphraseCallback | None = None,
    organisation: str | None = None,
) -> CertificateBinding:
    """Issue a document-signing key and certificate for actor ``name`` from the workspace CA
    (created first, named ``organisation``, if the workspace has none).

    Unlocks the CA key and ``name``'s Ed25519 key through the workspace's passphrase callback;
    the new keys' passphrases come from ``passphrase_callback`` (else the workspace's).

    Raises:
        NotFoundError: no actor ``name``.
        PolicyError: the key is revoked, or ``name`` already has a certificate.
    """
    actor = _signing_actor(ws, name)
    if signing_key_path(ws, name).exists() or binding_path(ws, name).exists():
        raise PolicyError(f"{name!r} already has a document-signing certificate ({binding_path(ws, name)})")
    # A CA made just now is used as it is: its new passphrase is not asked for again.
    made_now = None if has_ca(ws) else _create_ca(ws, organisation, passphrase_callback)
    ca_key, ca_cert = made_now or _unlock_ca(ws)
    key, certificate = issue_signing_certificate(ca_key, ca_cert, actor=name, role=actor.role, now=ws.clock())
    return _store_credential(
        ws,
        name,
        key,
        certificate,
        (ca_cert,),
        source=SOURCE_WORKSPACE_CA,
        passphrase_callback=passphrase_callback,
    )


def import_actor_certificate(
    ws: Workspace,
    name: str,
    *,
    certificate_file: Path,
    key_file: Path,
    chain_file: Path | None = None,
    passphrase_callback: PassphraseCallback | None = None,
) -> CertificateBinding:
    """Import an agency-issued certificate and its private key (RSA >= 2048 or ECDSA P-256) for
    actor ``name``. The key is re-encrypted as a custody X.509 key file; the PEM given is not
    kept. An encrypted ``key_file`` is opened with the workspace's passphrase callback.

    Raises:
        InputFileError / FormatError: a file is missing or not a certificate / key.
        PolicyError: see ``custody.pki.check_importable``; or ``name`` already has a certificate.
    """

    def read_input(path: Path, what: str) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise InputFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc

    certificates = load_certificates(read_input(certificate_file, "certificate"), what=str(certificate_file))
    certificate, extra = certificates[0], certificates[1:]
    key = load_private_key(
        read_input(key_file, "key file"), ws.passphrase_callback, what=f"the key file {key_file}"
    )
    chain_given = list(extra)
    if chain_file is not None:
        chain_given += load_certificates(read_input(chain_file, "chain"), what=str(chain_file))
    chain = check_importable(certificate, key, chain_given, now=ws.clock())
    return _store_credential(
        ws, name, key, certificate, chain, source=SOURCE_IMPORTED, passphrase_callback=passphrase_callback
    )


def actor_certificate(ws: Workspace, name: str) -> CertificateBinding:
    """``name``'s certificate and chain, after checking its binding signature by ``name``'s
    Ed25519 key (as registered in the database) and the certificate's fingerprint.

    Raises:
        NotFoundError: ``name`` has no document-signing certificate.
        SignatureError: the binding is not signed by ``name``'s key.
        IntegrityError / FormatError: the certificate file is not the bound one, or unreadable.
    """
    path = binding_path(ws, name)
    if not path.is_file():
        raise NotFoundError(
            f"{name!r} has no document-signing certificate ({path})",
            hint=f"issue one with 'custody key cert {name}' or import one with 'custody key import-cert'",
        )
    with db.transaction(ws.engine) as session:
        actor = load_actor(session, name)
    envelope = Envelope.from_bytes(_read(path, "certificate binding"), what=str(path))
    if envelope.payload_type != BINDING_PAYLOAD_TYPE:
        raise FormatError(f"{path}: payloadType {envelope.payload_type!r}, expected {BINDING_PAYLOAD_TYPE!r}")
    envelope.verify({actor.key_id: PublicKey.from_hex(actor.public_key)})
    statement = parse_json_object(envelope.payload, what=f"{path} payload")
    if statement.get("type") != BINDING_TYPE or statement.get("version") != BINDING_VERSION:
        raise FormatError(f"{path} is not a custody certificate binding version {BINDING_VERSION}")
    if statement.get("actor") != name or statement.get("key_id") != actor.key_id:
        raise IntegrityError(
            f"{path} binds actor {statement.get('actor')!r} key {str(statement.get('key_id'))[:16]}..., "
            f"expected {name!r} key {actor.key_id[:16]}..."
        )
    cert_file = certificate_path(ws, name)
    certificates = load_certificates(_read(cert_file, "certificate file"), what=str(cert_file))
    certificate = certificates[0]
    if certificate_fingerprint(certificate) != statement.get("certificate_sha256"):
        raise IntegrityError(
            f"{cert_file} holds {describe(certificate)}; the binding signed by {name!r} names "
            f"SHA-256 {str(statement.get('certificate_sha256'))[:16]}..."
        )
    return CertificateBinding(
        actor=name,
        role=str(statement.get("role", actor.role)),
        key_id=actor.key_id,
        certificate=certificate,
        chain=tuple(certificates[1:]),
        source=str(statement.get("source")),
        bound_at=str(statement.get("bound_at")),
    )


def load_signing_credential(
    ws: Workspace, actor_name: str, passphrase_callback: PassphraseCallback | None = None
) -> SigningCredential:
    """Unlock ``actor_name``'s document-signing key (through ``passphrase_callback``, else the
    workspace's) with its checked certificate and chain.

    Raises:
        NotFoundError, SignatureError, IntegrityError: see ``actor_certificate``.
        PolicyError: the actor's key is revoked, or the certificate is outside its validity.
        PassphraseError: the passphrase is wrong.
    """
    binding = actor_certificate(ws, actor_name)
    _signing_actor(ws, actor_name)  # refuses a revoked key
    check_valid_at(binding.certificate, ws.clock(), what=f"{actor_name!r}'s ")
    path = signing_key_path(ws, actor_name)
    if not path.is_file():
        raise NotFoundError(f"no document-signing key for {actor_name!r} in this workspace ({path})")
    key = decrypt_x509_key(
        _read(path, "signing key file"),
        passphrase_callback or ws.passphrase_callback,
        what=f"the signing certificate key of '{actor_name}'",
    )
    return SigningCredential(actor=actor_name, certificate=binding.certificate, chain=binding.chain, key=key)
