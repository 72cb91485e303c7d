"""X.509 credentials for signed PDF dossiers: the workspace CA, document-signing certificates,
agency-issued certificates, and their encrypted key files.

A PDF reader shows a PAdES signature only with an X.509 certificate (Ed25519 custody keys are not
shown by common readers), so each signing actor gets one beside their Ed25519 key.

Invariants:
- Keys made here are ECDSA P-256. Imported keys are ECDSA P-256 or RSA of at least 2048 bits;
  anything else is refused before anything is stored.
- A private key exists on disk only as a custody X.509 key file (``custody/x509-private-key``
  version 1): its PKCS#8 DER sealed by ``custody.keys.seal_secret`` (Argon2id +
  ChaCha20-Poly1305), with the key's SubjectPublicKeyInfo bound into the associated data, so a
  file whose public half was swapped fails to decrypt.
- Pure: time is a parameter; nothing here reads the clock, files or the database. Messages name
  certificates by subject and SHA-256 fingerprint, never by key material.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from custody.canonical import canonical_bytes, parse_json_object
from custody.digests import sha256_hex
from custody.errors import FormatError, PassphraseError, PolicyError
from custody.keys import PassphraseCallback, seal_secret
from custody.keys import open_secret as _open_secret

X509_KEY_FILE_TYPE = "custody/x509-private-key"
X509_KEY_FILE_VERSION = 1
_AAD_PREFIX = b"custody/x509-private-key/v1\x00"

CA_VALIDITY = timedelta(days=10 * 365)
SIGNING_CERT_VALIDITY = timedelta(days=3 * 365)
CLOCK_SKEW = timedelta(minutes=5)  # not_before is set this far back: a reader's clock may be behind
MIN_RSA_BITS = 2048

# RFC 9336 id-kp-documentSigning says what the certificate is for; emailProtection is added because
# Adobe Acrobat, when a certificate has an extendedKeyUsage at all, accepts it for signing documents
# only with one of a few purposes, and emailProtection is the standard one among them.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
SIGNING_EKUS = (DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class SigningCredential:
    """A document-signing key with its certificate and chain (issuer first, root last).

    The key is left out of ``repr`` so a credential printed by mistake shows no key material.
    """

    actor: str
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key: PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        check_key_matches(self.key, self.certificate)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate's DER, lowercase hex."""
        return certificate_fingerprint(self.certificate)


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def name_text(name: x509.Name) -> str:
    """RFC 4514 text of a name, with ``title`` spelled out (cryptography prints its OID)."""
    return name.rfc4514_string({NameOID.TITLE: "title"})


def describe(certificate: x509.Certificate) -> str:
    """How messages name a certificate: its subject and the start of its fingerprint."""
    subject = name_text(certificate.subject)
    return f"certificate '{subject}' (SHA-256 {certificate_fingerprint(certificate)[:16]}...)"


def _spki(public_key: Any) -> bytes:
    return bytes(
        public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def key_algorithm(key: Any) -> str:
    """``ecdsa-p256`` or ``rsa-<bits>`` for a supported key (private or public).

    Raises:
        PolicyError: any other key type, curve or a short RSA key.
    """
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return "ecdsa-p256"
        raise PolicyError(f"ECDSA key on curve {key.curve.name} is not supported; expected P-256 (secp256r1)")
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise PolicyError(f"RSA key of {key.key_size} bits is too short; expected {MIN_RSA_BITS} or more")
        return f"rsa-{key.key_size}"
    raise PolicyError(f"{type(key).__name__} keys are not supported; expected ECDSA P-256 or RSA")


def check_key_matches(key: PrivateKey, certificate: x509.Certificate) -> None:
    """Raises PolicyError unless ``key`` is the private half of ``certificate``'s public key."""
    if _spki(key.public_key()) != _spki(certificate.public_key()):
        raise PolicyError(
            f"the private key does not belong to {describe(certificate)}: the key's public half "
            f"has SHA-256 {sha256_hex(_spki(key.public_key()))[:16]}..., the certificate's "
            f"{sha256_hex(_spki(certificate.public_key()))[:16]}..."
        )


def check_valid_at(certificate: x509.Certificate, now: datetime, *, what: str = "") -> None:
    """Raises PolicyError unless ``now`` is inside the certificate's validity period."""
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise PolicyError(
            f"{what}{describe(certificate)} is valid from {certificate.not_valid_before_utc.isoformat()} "
            f"to {certificate.not_valid_after_utc.isoformat()}; now is {now.isoformat()}"
        )


# -- encrypted key files ---------------------------------------------------------------------------
def encrypt_x509_key(key: PrivateKey, passphrase: str, *, metadata: dict[str, str] | None = None) -> bytes:
    """The bytes of a custody X.509 key file (JSON) holding ``key`` encrypted under ``passphrase``."""
    algorithm = key_algorithm(key)
    spki = _spki(key.public_key())
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    document = {
        "type": X509_KEY_FILE_TYPE,
        "version": X509_KEY_FILE_VERSION,
        "algorithm": algorithm,
        "public_key": base64.b64encode(spki).decode(),
        "public_key_sha256": sha256_hex(spki),
        "metadata": dict(metadata or {}),
        **seal_secret(pkcs8, passphrase, aad=_AAD_PREFIX + spki),
    }
    return canonical_bytes(document) + b"\n"


def _read_x509_key_file(data: bytes, *, what: str) -> tuple[bytes, dict[str, Any]]:
    document = parse_json_object(data, what=what)
    if document.get("type") != X509_KEY_FILE_TYPE or document.get("version") != X509_KEY_FILE_VERSION:
        raise FormatError(
            f"{what} is not a custody X.509 key file version {X509_KEY_FILE_VERSION} "
            f"(type={document.get('type')!r}, version={document.get('version')!r})"
        )
    try:
        spki = base64.b64decode(str(document.get("public_key", "")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"{what}: public_key is not valid base64") from exc
    if document.get("public_key_sha256") != sha256_hex(spki):
        raise FormatError(f"{what}: public_key_sha256 does not match its public key")
    return spki, document


def decrypt_x509_key(data: bytes, passphrase_callback: PassphraseCallback, *, what: str) -> PrivateKey:
    """Decrypt a custody X.509 key file, asking ``passphrase_callback`` for the passphrase.

    Raises:
        FormatError: the file is not a custody X.509 key file.
        PassphraseError: the passphrase is wrong (or the file was altered).
    """
    spki, document = _read_x509_key_file(data, what=what)
    pkcs8 = _open_secret(document, passphrase_callback, aad=_AAD_PREFIX + spki, what=what)
    try:
        key = serialization.load_der_private_key(pkcs8, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise FormatError(f"{what}: the decrypted key is not a PKCS#8 private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) or _spki(key.public_key()) != spki:
        raise PassphraseError(f"{what}: decrypted key does not match its public key")
    key_algorithm(key)
    return key


# -- PEM input ---------------------------------------------------------------------------------
def load_certificates(data: bytes, *, what: str) -> list[x509.Certificate]:
    """All certificates in a PEM file (or a single DER certificate).

    Raises:
        FormatError: nothing in ``data`` is a certificate.
    """
    try:
        if b"-----BEGIN" in data:
            certificates = x509.load_pem_x509_certificates(data)
        else:
            certificates = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise FormatError(f"{what} holds no readable X.509 certificate (PEM or DER): {exc}") from None
    return certificates


def load_private_key(data: bytes, passphrase_callback: PassphraseCallback, *, what: str) -> PrivateKey:
    """A private key from PEM (PKCS#8 or traditional, encrypted or not) or DER.

    The callback is asked only when the file is encrypted. Errors never quote the file.
    """
    pem = b"-----BEGIN" in data
    loader = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    try:
        key = loader(data, password=None)
    except TypeError:  # encrypted: ask for its password
        try:
            key = loader(data, password=passphrase_callback(what).encode("utf-8"))
        except (ValueError, TypeError):
            raise PassphraseError(f"wrong password for {what} (or it is not a private key)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise FormatError(f"{what} is not a readable private key (PEM or DER)") from None
    key_algorithm(key)
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)  # key_algorithm checked
    return key


def certificates_pem(certificates: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


# -- issuing ---------------------------------------------------------------------------------------
def _name(common_name: str, organisation: str, *, title: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
    ]
    if title:
        attributes.append(x509.NameAttribute(NameOID.TITLE, title))
    return x509.Name(attributes)


def create_ca(organisation: str, *, now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A new ECDSA P-256 CA key and its self-signed certificate, valid ten years from ``now``.

    Subject: CN = "<organisation> custody CA", O = organisation. The CA may issue end-entity
    certificates only (pathLenConstraint 0).
    """
    if not organisation.strip() or len(organisation) > 48:
        raise FormatError(f"CA organisation name must be 1-48 characters, got {organisation!r}")
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"{organisation} custody CA", organisation)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def issue_signing_certificate(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_certificate: x509.Certificate,
    *,
    actor: str,
    role: str,
    now: datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A new ECDSA P-256 key and a document-signing certificate for ``actor`` issued by the CA.

    Subject: CN = actor, title = role, O = the CA's organisation. keyUsage digitalSignature +
    nonRepudiation (critical), extendedKeyUsage documentSigning + emailProtection, SKI and AKI.
    Valid three years, never beyond the CA.

    Raises:
        PolicyError: ``ca_key`` is not the CA certificate's key, or the CA has expired.
    """
    check_key_matches(ca_key, ca_certificate)
    check_valid_at(ca_certificate, now, what="the workspace CA's ")
    organisations = ca_certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    organisation = str(organisations[0].value) if organisations else "custody"
    key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(actor, organisation, title=role))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(min(now + SIGNING_CERT_VALIDITY, ca_certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation: PDF validators (pyHanko) require it
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(list(SIGNING_EKUS)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, certificate


# -- imported (agency) credentials ------------------------------------------------------------------
def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def order_chain(
    certificate: x509.Certificate, chain: Sequence[x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    """``chain`` ordered from the certificate's issuer upwards, each one checked to have issued
    the one before (by name and signature). Certificates that are not on the path are dropped.

    Raises:
        PolicyError: ``chain`` is not empty but does not hold the certificate's issuer.
    """
    ordered: list[x509.Certificate] = []
    remaining = [c for c in chain if c != certificate]
    current = certificate
    while remaining and current.issuer != current.subject:
        issuer = next((c for c in remaining if c.subject == current.issuer and _issued_by(current, c)), None)
        if issuer is None:
            break
        ordered.append(issuer)
        remaining.remove(issuer)
        current = issuer
    if chain and not ordered and certificate.issuer != certificate.subject:
        raise PolicyError(
            f"the chain does not hold the issuer of {describe(certificate)}: expected a certificate "
            f"for '{name_text(certificate.issuer)}' that signed it, found "
            + ", ".join(f"'{name_text(c.subject)}'" for c in chain)
        )
    return tuple(ordered)


def check_importable(
    certificate: x509.Certificate, key: PrivateKey, chain: Sequence[x509.Certificate], *, now: datetime
) -> tuple[x509.Certificate, ...]:
    """Check an agency-issued credential before it is stored; return its chain in order.

    Refused (PolicyError): a key other than ECDSA P-256 or RSA >= 2048 bits, a key that is not the
    certificate's, a certificate outside its validity period at ``now``, a CA certificate, a
    keyUsage that allows neither digitalSignature nor nonRepudiation, or a chain that does not
    hold the certificate's issuer.
    """
    key_algorithm(certificate.public_key())
    check_key_matches(key, certificate)
    check_valid_at(certificate, now)
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is not None and constraints.ca:
        raise PolicyError(f"{describe(certificate)} is a CA certificate; expected a signing (end-entity) one")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        raise PolicyError(
            f"{describe(certificate)} has keyUsage without digitalSignature or nonRepudiation; "
            "it cannot sign documents"
        )
    return order_chain(certificate, chain)
