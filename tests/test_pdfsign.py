"""Signed PDF dossiers: the workspace CA, actors' certificates (issued and imported), PAdES signing
and pyHanko's validator (custody.pki, custody.certificates, custody.pdfsign)."""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from reportlab.pdfgen import canvas

from custody import pki
from custody.actors import create_key
from custody.certificates import (
    actor_certificate,
    ca_certificate,
    certificate_path,
    import_actor_certificate,
    init_ca,
    issue_actor_certificate,
    load_signing_credential,
)
from custody.errors import FormatError, IntegrityError, NotFoundError, PassphraseError, PolicyError
from custody.pdfsign import sign_pdf, validate_pdf
from custody.transfers import revoke_key
from custody.workspace import Workspace
from tests.conftest import PASSPHRASE, passphrase_callback

SIGNED_AT = datetime(2026, 6, 3, 21, 30, tzinfo=UTC)
PEM_PRIVATE_MARKERS = (b"PRIVATE KEY-----", b"BEGIN EC PRIVATE", b"BEGIN RSA PRIVATE")


def make_pdf(text: str = "Exhibit 1: advert captured 2026-06-03") -> bytes:
    """A real one-page PDF (uncompressed, so a test can find and change its text)."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pageCompression=0, invariant=1)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace with custodian 'cole' and investigator 'ana' (Ed25519 keys)."""
    workspace = Workspace.init(tmp_path / "ws", passphrase_callback=passphrase_callback)
    create_key(workspace, "cole", "custodian")
    create_key(workspace, "ana", "investigator")
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture
def cole_signed(ws: Workspace) -> tuple[bytes, bytes, x509.Certificate]:
    """(original PDF, PDF signed by cole's workspace-CA certificate, the CA certificate)."""
    issue_actor_certificate(ws, "cole", organisation="Test Unit")
    credential = load_signing_credential(ws, "cole", passphrase_callback)
    original = make_pdf()
    signed = sign_pdf(
        original, credential, reason="Custodian's signature", location="London", signing_time=SIGNED_AT
    )
    return original, signed, ca_certificate(ws)


# -- the workspace CA and issued certificates --------------------------------------------------------
def test_ca_certificate_is_a_p256_ca_naming_the_agency(ws: Workspace) -> None:
    ca = init_ca(ws, organisation="Cyber Unit")
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert isinstance(ca.public_key().curve, ec.SECP256R1)
    assert ca.subject == ca.issuer
    assert ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Cyber Unit"
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert not usage.digital_signature
    ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert ca.not_valid_after_utc - ca.not_valid_before_utc >= timedelta(days=3650)
    ca.verify_directly_issued_by(ca)
    with pytest.raises(PolicyError, match="already has a certificate authority"):
        init_ca(ws, organisation="Another")


def test_issued_certificate_names_the_actor_and_is_for_document_signing(ws: Workspace) -> None:
    asked: list[str] = []

    def recording_callback(what: str) -> str:
        asked.append(what)
        return PASSPHRASE

    ws.passphrase_callback = recording_callback
    binding = issue_actor_certificate(ws, "cole")  # creates the CA on first use
    # the new CA's passphrase once (not again to unlock it), cole's Ed25519 key, the new key
    assert asked == ["the new workspace CA key", "key 'cole'", "the new signing certificate key of 'cole'"]
    ca = ca_certificate(ws)
    cert = binding.certificate
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "cole"
    assert cert.subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "custodian"
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment
    assert not usage.value.key_cert_sign
    purposes = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert pki.DOCUMENT_SIGNING in purposes
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in purposes
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert cert.not_valid_after_utc <= ca.not_valid_after_utc
    # the binding: cole's Ed25519 key id next to the certificate fingerprint, signed by cole
    assert binding.chain == (ca,)
    assert binding.source == "workspace-ca"
    again = actor_certificate(ws, "cole")
    assert again.fingerprint == binding.fingerprint == pki.certificate_fingerprint(cert)
    assert again.key_id == binding.key_id
    with pytest.raises(PolicyError, match="already has a document-signing certificate"):
        issue_actor_certificate(ws, "cole")


def test_key_files_are_encrypted_0600_and_no_plain_private_key_is_anywhere(
    ws: Workspace, cole_signed: tuple[bytes, bytes, x509.Certificate]
) -> None:
    _, signed, _ = cole_signed
    key_files = [ws.keys_dir / "ca" / "ca.key", ws.keys_dir / "x509" / "cole.key"]
    for path in key_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert b'"ciphertext"' in path.read_bytes()
    for path in ws.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(marker in data for marker in PEM_PRIVATE_MARKERS), path
            assert PASSPHRASE.encode() not in data, path
    assert not any(marker in signed for marker in PEM_PRIVATE_MARKERS)
    credential = load_signing_credential(ws, "cole", passphrase_callback)
    der = credential.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert der not in signed
    assert "key" not in repr(credential).replace("SigningCredential", "")


def test_wrong_passphrase_is_refused_without_leaking_it(ws: Workspace) -> None:
    issue_actor_certificate(ws, "cole")
    with pytest.raises(
        PassphraseError, match="wrong passphrase for the signing certificate key of 'cole'"
    ) as err:
        load_signing_credential(ws, "cole", lambda _what: "not the passphrase 4711")
    assert "4711" not in err.value.diagnostics()


def test_a_swapped_certificate_file_is_caught_by_the_binding(ws: Workspace) -> None:
    issue_actor_certificate(ws, "cole")
    issue_actor_certificate(ws, "ana")
    certificate_path(ws, "cole").chmod(0o600)
    certificate_path(ws, "cole").write_bytes(certificate_path(ws, "ana").read_bytes())
    with pytest.raises(IntegrityError, match="the binding signed by 'cole' names SHA-256"):
        load_signing_credential(ws, "cole", passphrase_callback)


def test_no_certificate_and_revoked_actor_are_refused(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match="'cole' has no document-signing certificate"):
        load_signing_credential(ws, "cole", passphrase_callback)
    issue_actor_certificate(ws, "cole")
    revoke_key(ws, "cole", reason="left the unit", actor_name="cole")
    with pytest.raises(PolicyError, match="was revoked"):
        load_signing_credential(ws, "cole", passphrase_callback)


# -- signing and pyHanko's validator -------------------------------------------------------------
def test_signed_pdf_is_pades_over_the_whole_file_and_trusted_with_the_workspace_ca(
    ws: Workspace, cole_signed: tuple[bytes, bytes, x509.Certificate]
) -> None:
    original, signed, ca = cole_signed
    assert signed.startswith(original)  # an incremental update: the original is revision one
    assert b"/ETSI.CAdES.detached" in signed
    report = validate_pdf(signed, [ca])
    assert report.ok, report.verdict
    assert report.verdict.startswith("VALID")
    (check,) = report.signatures
    assert (check.field_name, check.intact, check.valid, check.trusted) == ("Custodian", True, True, True)
    assert check.covers_whole_document
    assert check.coverage == "ENTIRE_FILE"
    assert "cole" in check.signer_subject
    assert "Test Unit" in check.signer_subject
    assert check.certificate_sha256 == actor_certificate(ws, "cole").fingerprint
    assert check.signing_time == SIGNED_AT
    report.check()


def test_without_the_ca_the_signature_is_intact_but_untrusted(
    cole_signed: tuple[bytes, bytes, x509.Certificate],
) -> None:
    _, signed, _ = cole_signed
    other_ca = pki.create_ca("Someone Else", now=datetime.now(UTC))[1]
    for roots in ([], [other_ca]):
        report = validate_pdf(signed, roots)
        (check,) = report.signatures
        assert check.intact
        assert check.valid
        assert not check.trusted
        assert not report.ok
        assert "is not trusted: expected a chain to one of the given trust roots" in report.verdict
    with pytest.raises(Exception, match="not trusted"):
        validate_pdf(signed, []).check()


def test_a_changed_byte_in_the_signed_range_is_not_intact(
    cole_signed: tuple[bytes, bytes, x509.Certificate],
) -> None:
    _, signed, ca = cole_signed
    at = signed.index(b"Exhibit 1")
    tampered = signed[: at + 8] + b"7" + signed[at + 9 :]
    report = validate_pdf(tampered, [ca])
    (check,) = report.signatures
    assert not check.intact
    assert not check.trusted
    assert "is not intact" in report.verdict
    assert report.verdict.startswith("INVALID")


def test_an_appended_unsigned_update_is_not_covered(
    cole_signed: tuple[bytes, bytes, x509.Certificate],
) -> None:
    _, signed, ca = cole_signed
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    writer.root["/Lang"] = generic.TextStringObject("en-GB")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    report = validate_pdf(out.getvalue(), [ca])
    (check,) = report.signatures
    assert check.intact
    assert check.valid
    assert check.trusted
    assert not check.covers_whole_document
    assert check.coverage == "ENTIRE_REVISION"
    assert not report.ok
    assert "does not cover the whole document" in report.verdict


def test_a_countersignature_keeps_the_document_valid(
    ws: Workspace, cole_signed: tuple[bytes, bytes, x509.Certificate]
) -> None:
    _, signed, ca = cole_signed
    issue_actor_certificate(ws, "ana")
    twice = sign_pdf(
        signed,
        load_signing_credential(ws, "ana", passphrase_callback),
        reason="seen",
        field_name="Prosecutor",
    )
    report = validate_pdf(twice, [ca])
    assert report.ok, report.verdict
    assert [s.field_name for s in report.signatures] == ["Custodian", "Prosecutor"]
    assert not report.signatures[0].covers_whole_document
    assert report.signatures[0].modifications_ok
    with pytest.raises(PolicyError, match="cannot sign field 'Custodian'"):
        sign_pdf(signed, load_signing_credential(ws, "cole", passphrase_callback), reason="again")


def test_unreadable_and_unsigned_pdfs() -> None:
    with pytest.raises(FormatError, match="not a readable PDF"):
        validate_pdf(b"%PDF-1.4 this is not really a pdf", [])
    report = validate_pdf(make_pdf(), [])
    assert not report.ok
    assert report.problems == ("the PDF holds no signature",)


# -- agency-issued certificates ------------------------------------------------------------------
def _agency(
    tmp_path: Path,
    *,
    leaf_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
    not_after: datetime | None = None,
) -> tuple[Path, Path, Path, x509.Certificate]:
    """An agency RSA root and a leaf (RSA 3072 unless given) in PEM files: (cert, key, chain, root)."""
    now = datetime.now(UTC)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Agency Root CA")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    key = leaf_key or rsa.generate_private_key(public_exponent=65537, key_size=3072)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DS Cole")]))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=90))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
        )
        .sign(root_key, hashes.SHA256())
    )
    cert_file, key_file, chain_file = tmp_path / "cole.pem", tmp_path / "cole-key.pem", tmp_path / "chain.pem"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSPHRASE.encode()),
        )
    )
    chain_file.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    return cert_file, key_file, chain_file, root


def test_imported_rsa_certificate_signs_and_validates_against_the_agency_root(
    ws: Workspace, tmp_path: Path
) -> None:
    cert_file, key_file, chain_file, root = _agency(tmp_path)
    binding = import_actor_certificate(
        ws, "cole", certificate_file=cert_file, key_file=key_file, chain_file=chain_file
    )
    assert binding.source == "imported"
    assert binding.chain == (root,)
    credential = load_signing_credential(ws, "cole", passphrase_callback)
    assert isinstance(credential.key, rsa.RSAPrivateKey)
    signed = sign_pdf(make_pdf(), credential, reason="Custodian's signature")
    report = validate_pdf(signed, [root])
    assert report.ok, report.verdict
    assert report.signatures[0].certificate_sha256 == binding.fingerprint
    assert not validate_pdf(signed, []).ok
    stored = (ws.keys_dir / "x509" / "cole.key").read_bytes()
    assert not any(marker in stored for marker in PEM_PRIVATE_MARKERS)


def test_import_refuses_a_key_that_is_not_the_certificates(ws: Workspace, tmp_path: Path) -> None:
    cert_file, _, chain_file, _ = _agency(tmp_path)
    other = tmp_path / "other-key.pem"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(PolicyError, match="the private key does not belong to certificate 'CN=DS Cole'"):
        import_actor_certificate(
            ws, "cole", certificate_file=cert_file, key_file=other, chain_file=chain_file
        )
    assert not (ws.keys_dir / "x509" / "cole.key").exists()
    assert not certificate_path(ws, "cole").exists()


@pytest.mark.parametrize(
    ("leaf_key", "not_after", "message"),
    [
        (lambda: ec.generate_private_key(ec.SECP384R1()), None, "curve secp384r1 is not supported"),
        (lambda: rsa.generate_private_key(65537, 1024), None, "RSA key of 1024 bits is too short"),
        (lambda: None, datetime.now(UTC) - timedelta(hours=1), "is valid from .* now is"),
    ],
    ids=["p384", "rsa1024", "expired"],
)
def test_import_refuses_unsupported_or_expired(
    ws: Workspace, tmp_path: Path, leaf_key: object, not_after: datetime | None, message: str
) -> None:
    cert_file, key_file, chain_file, _ = _agency(tmp_path, leaf_key=leaf_key(), not_after=not_after)  # type: ignore[operator]
    with pytest.raises(PolicyError, match=message):
        import_actor_certificate(
            ws, "cole", certificate_file=cert_file, key_file=key_file, chain_file=chain_file
        )
    assert not (ws.keys_dir / "x509" / "cole.key").exists()


def test_import_refuses_a_chain_without_the_issuer(ws: Workspace, tmp_path: Path) -> None:
    cert_file, key_file, _, _ = _agency(tmp_path)
    unrelated = tmp_path / "unrelated.pem"
    unrelated.write_bytes(pki.certificates_pem([pki.create_ca("Elsewhere", now=datetime.now(UTC))[1]]))
    with pytest.raises(PolicyError, match="the chain does not hold the issuer"):
        import_actor_certificate(
            ws, "cole", certificate_file=cert_file, key_file=key_file, chain_file=unrelated
        )


def test_import_with_the_wrong_key_file_password(ws: Workspace, tmp_path: Path) -> None:
    cert_file, key_file, chain_file, _ = _agency(tmp_path)
    ws.passphrase_callback = lambda _what: "wrong password 4711"
    with pytest.raises(PassphraseError, match="wrong password for the key file") as err:
        import_actor_certificate(
            ws, "cole", certificate_file=cert_file, key_file=key_file, chain_file=chain_file
        )
    assert "4711" not in err.value.diagnostics()


def test_x509_key_file_round_trip_and_tamper() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    data = pki.encrypt_x509_key(key, "pass phrase", metadata={"name": "cole"})
    opened = pki.decrypt_x509_key(data, lambda _w: "pass phrase", what="test key")
    assert opened.private_numbers() == key.private_numbers()  # type: ignore[union-attr]
    swapped = data.replace(
        data.split(b'"public_key":"')[1].split(b'"')[0],
        pki.encrypt_x509_key(ec.generate_private_key(ec.SECP256R1()), "x")
        .split(b'"public_key":"')[1]
        .split(b'"')[0],
    )
    with pytest.raises(FormatError, match="public_key_sha256 does not match"):
        pki.decrypt_x509_key(swapped, lambda _w: "pass phrase", what="test key")
