"""PAdES signatures on PDF dossiers (pyHanko): sign with an actor's X.509 credential, and validate
offline against trust roots the caller names.

Invariants:
- ``sign_pdf`` appends one incremental update holding a PAdES B-B signature
  (``/SubFilter /ETSI.CAdES.detached``, SHA-256) over every byte of the document before it; the
  input bytes are kept unchanged as the first revision. The signer's certificate and chain are
  embedded so a reader can show them.
- ``validate_pdf`` never fetches anything (no OCSP, CRL or AIA): trust is exactly the roots given.
  The operating system's trust store is never used. Revocation is not checked: a B-B signature
  carries no revocation data, and checking it would need the network.
- Validation reports every check of every signature; the verdict is VALID only if there is at least
  one signature, every signature is intact, cryptographically valid and trusted, no signature's
  later revisions hold changes the validator judges illegitimate, and the last signature covers
  the whole file (nothing unsigned was appended after it).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.sign.validation import EmbeddedPdfSignature, validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from custody.errors import FormatError, PolicyError, SignatureError
from custody.keys import PassphraseCallback
from custody.pki import SigningCredential

if TYPE_CHECKING:
    from custody.workspace import Workspace

__all__ = [
    "PdfSignatureCheck",
    "PdfSignatureReport",
    "SigningCredential",
    "load_signing_credential",
    "sign_pdf",
    "validate_pdf",
]

# pyHanko logs each validation failure (with a traceback) at WARNING; with no logging configured,
# Python's last-resort handler would print it to stderr. The report says what failed instead; an
# application that configures logging still receives these records.
for _logger in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_logger).addHandler(logging.NullHandler())

# Key usages a signer's certificate may carry for us to accept it (either one): agency
# certificates often have only digitalSignature, ours have both.
_ACCEPTED_KEY_USAGES = frozenset({"digital_signature", "non_repudiation"})


def load_signing_credential(
    workspace: Workspace, actor_name: str, passphrase_callback: PassphraseCallback | None = None
) -> SigningCredential:
    """Unlock ``actor_name``'s document-signing key with its checked certificate and chain.

    See ``custody.certificates.load_signing_credential`` (which this calls) for the checks.
    """
    from custody.certificates import load_signing_credential as load  # noqa: PLC0415 - adapter

    return load(workspace, actor_name, passphrase_callback)


def _asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


# What pyHanko raises for a PDF it cannot parse: its own PdfError, and the plain errors of a
# hostile or truncated file that its parser lets through.
_PDF_READ_ERRORS = (PdfError, ValueError, KeyError, TypeError, IndexError)


class _PdfSignerAt(signers.PdfSigner):
    """A PdfSigner whose signing session uses a given time instead of the clock (pyHanko has no
    public parameter for it; the session's ``system_time`` is what it writes as ``/M``)."""

    def __init__(self, metadata: signers.PdfSignatureMetadata, signer: signers.Signer, at: datetime | None):
        super().__init__(metadata, signer)
        self._at = at

    def init_signing_session(
        self,
        pdf_out: BasePdfFileWriter,
        existing_fields_only: bool = False,
    ) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        if self._at is not None:
            session.system_time = self._at
        return session


def sign_pdf(
    pdf: bytes,
    credential: SigningCredential,
    *,
    reason: str,
    location: str | None = None,
    field_name: str = "Custodian",
    signing_time: datetime | None = None,
) -> bytes:
    """Sign ``pdf`` with ``credential``: a PAdES B-B signature in a new invisible signature field
    ``field_name``, appended as an incremental update; returns the signed PDF's bytes.

    ``signing_time`` (timezone-aware; default: now) is the claimed signing time written into the
    signature dictionary (``/M``); without a timestamp authority it is the signer's claim.

    Raises:
        FormatError: ``pdf`` cannot be parsed as a PDF.
        PolicyError: the field already holds a signature, or the time is not timezone-aware.
    """
    if signing_time is not None and signing_time.utcoffset() is None:
        raise PolicyError(f"signing time {signing_time.isoformat()} has no time zone; expected an aware time")
    if not reason.strip():
        raise PolicyError("a signature needs a reason, e.g. 'custodian's signature on the dossier'")
    pkcs8 = credential.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    chain_store = SimpleCertificateStore()  # type: ignore[no-untyped-call]  # untyped in pyHanko
    for certificate in credential.chain:
        chain_store.register(_asn1_certificate(certificate))
    signer = signers.SimpleSigner(
        signing_cert=_asn1_certificate(credential.certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(pkcs8),
        cert_registry=chain_store,
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        reason=reason,
        location=location,
        name=credential.actor,
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    pdf_signer = _PdfSignerAt(metadata, signer, signing_time)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        output = pdf_signer.sign_pdf(writer)
    except SigningError as exc:
        raise PolicyError(f"cannot sign field {field_name!r}: {exc}") from None
    except _PDF_READ_ERRORS as exc:
        raise FormatError(f"the document to sign is not a readable PDF: {exc}") from None
    return bytes(output.getvalue())


@dataclass(frozen=True)
class PdfSignatureCheck:
    """The checks of one signature field, as pyHanko's validator found them."""

    field_name: str
    intact: bool  # the signed bytes hash to the value that was signed
    valid: bool  # the signature over that hash verifies with the embedded certificate's key
    trusted: bool  # the certificate chains to a given trust root, with acceptable key usage
    covers_whole_document: bool  # no byte was added to the file after this signature
    coverage: str  # pyHanko's SignatureCoverageLevel name
    modifications_ok: bool  # pyHanko's difference analysis found no illegitimate later change
    signer_subject: str
    certificate_sha256: str
    signing_time: datetime | None  # claimed by the signer (no timestamp authority)
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field_name,
            "intact": self.intact,
            "valid": self.valid,
            "trusted": self.trusted,
            "covers_whole_document": self.covers_whole_document,
            "coverage": self.coverage,
            "modifications_ok": self.modifications_ok,
            "signer_subject": self.signer_subject,
            "certificate_sha256": self.certificate_sha256,
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class PdfSignatureReport:
    """Every signature of a PDF and the verdict (see the module docstring for the rule)."""

    signatures: tuple[PdfSignatureCheck, ...]
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def verdict(self) -> str:
        if self.ok:
            return "VALID: every signature intact, valid and trusted; the last one covers the whole file"
        return "INVALID: " + "; ".join(self.problems)

    def check(self) -> None:
        """Raise SignatureError naming every problem unless the verdict is VALID."""
        if not self.ok:
            raise SignatureError("PDF signature check failed: " + "; ".join(self.problems))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verdict": self.verdict,
            "problems": list(self.problems),
            "signatures": [s.to_dict() for s in self.signatures],
        }


def _check_signature(
    embedded: EmbeddedPdfSignature, context_factory: Callable[[], ValidationContext]
) -> PdfSignatureCheck:
    name = str(embedded.field_name)
    try:
        status = validate_pdf_signature(
            embedded,
            signer_validation_context=context_factory(),
            key_usage_settings=KeyUsageConstraints(
                key_usage=set(_ACCEPTED_KEY_USAGES), match_all_key_usages=False
            ),
        )
    except (SignatureValidationError, *_PDF_READ_ERRORS) as exc:
        return PdfSignatureCheck(
            field_name=name,
            intact=False,
            valid=False,
            trusted=False,
            covers_whole_document=False,
            coverage="UNCLEAR",
            modifications_ok=False,
            signer_subject="",
            certificate_sha256="",
            signing_time=None,
            problems=(f"signature {name!r} could not be validated: {exc}",),
        )
    certificate = status.signing_cert
    covers = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    modifications_ok = covers or status.docmdp_ok is not False
    problems = []
    subject = str(certificate.subject.human_friendly)
    if not status.intact:
        problems.append(
            f"signature {name!r} is not intact: the signed bytes do not hash to the signed digest "
            "(the document was changed inside the signed range)"
        )
    if not status.valid:
        problems.append(f"signature {name!r} does not verify with the key of its certificate ({subject})")
    if status.intact and status.valid and not status.trusted:
        indication = status.trust_problem_indic
        reason = str(getattr(indication, "name", indication)) if indication else "no path to a trust root"
        problems.append(
            f"signature {name!r} by '{subject}' is not trusted: expected a chain to one of the given "
            f"trust roots, observed {reason}"
        )
    if not modifications_ok:
        problems.append(f"signature {name!r}: the changes made after it are not legitimate signature updates")
    return PdfSignatureCheck(
        field_name=name,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        covers_whole_document=covers,
        coverage=status.coverage.name if status.coverage is not None else "UNCLEAR",
        modifications_ok=modifications_ok,
        signer_subject=subject,
        certificate_sha256=bytes(certificate.sha256).hex(),
        signing_time=status.signer_reported_dt,
        problems=tuple(problems),
    )


def validate_pdf(
    pdf: bytes, trust_roots: Sequence[x509.Certificate], *, validation_time: datetime | None = None
) -> PdfSignatureReport:
    """Validate every signature in ``pdf`` with pyHanko's validator, trusting exactly
    ``trust_roots`` (an empty list trusts nothing), offline, at ``validation_time`` (default: now).

    Raises:
        FormatError: ``pdf`` cannot be parsed as a PDF (a damaged signature is a reported problem).
    """
    roots = [_asn1_certificate(c) for c in trust_roots]

    def context_factory() -> ValidationContext:
        return ValidationContext(
            trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail", moment=validation_time
        )

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_regular_signatures)
    except _PDF_READ_ERRORS as exc:
        raise FormatError(f"not a readable PDF: {exc}") from None
    if not embedded:
        return PdfSignatureReport((), ("the PDF holds no signature",))
    checks = tuple(_check_signature(signature, context_factory) for signature in embedded)
    problems = [problem for check in checks for problem in check.problems]
    last = checks[-1]
    if not last.covers_whole_document and last.intact:
        problems.append(
            f"the last signature {last.field_name!r} does not cover the whole document: expected no "
            f"bytes after it, observed coverage {last.coverage} (an unsigned update was appended)"
        )
    return PdfSignatureReport(checks, tuple(problems))
