"""WACZ package signatures (webrecorder's "WACZ Signing and Verification" 0.1.0): checked offline.

A signed WACZ's ``datapackage-digest.json`` holds ``signedData``: the package hash it signs
(``hash``, ``sha256:<hex>`` of ``datapackage.json``), ``created``, ``software``, and either

- an **anonymous** signature: ``publicKey`` (base64 of a DER SubjectPublicKeyInfo, ECDSA P-256)
  and ``signature`` (base64 of the raw 64-byte ``r || s`` that WebCrypto writes) over the UTF-8
  bytes of ``hash``, as ArchiveWeb.page signs in the browser; or
- a **domain** signature: a certificate chain for ``domain`` and a timestamp signature, as
  Browsertrix signs through an authsign server.

Invariants:
- An anonymous signature is verified here, offline: it must sign the very hash the package was
  checked against, with a P-256 key; one that does not verify stops the import
  (``IntegrityError``). Verified, it shows that the package is unchanged since that key signed
  it, not who holds the key (its fingerprint is recorded, for a reader who knows it).
- A domain signature is kept, not verified: that needs certificate chains to public roots and a
  timestamp authority, which an offline check does not have. The caller records a finding.
- Everything in ``signedData`` is hostile: wrong types, bad base64, other curves and odd lengths
  are ``FormatError``s naming the field, never tracebacks.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_der_public_key

from custody.canonical import drop_none
from custody.digests import sha256_hex
from custody.errors import FormatError, IntegrityError

ANONYMOUS = "anonymous"
DOMAIN = "domain"
_MAX_FIELD = 16 * 1024
"""Longest ``signedData`` text field read (a P-256 key is 124 characters of base64)."""


@dataclass(frozen=True)
class WaczSignature:
    """A WACZ's ``signedData``: what it claims and whether custody verified it."""

    kind: str
    """``anonymous`` or ``domain``."""
    verified: bool
    created: str | None = None
    software: str | None = None
    public_key_sha256: str | None = None
    """SHA-256 of the anonymous key's DER SubjectPublicKeyInfo: the key's fingerprint."""
    domain: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "kind": self.kind,
                "verified": self.verified,
                "created": self.created,
                "software": self.software,
                "public_key": {"sha256": self.public_key_sha256} if self.public_key_sha256 else None,
                "domain": self.domain,
            }
        )


def check_signed_data(signed: Any, package_sha256: str, where: str) -> WaczSignature:
    """Check ``signedData`` of a package whose ``datapackage.json`` hashes to ``package_sha256``
    (hex; the reader checked it against ``datapackage-digest.json``).

    Raises:
        FormatError: ``signedData`` is malformed (not an object, a field of the wrong type or
            encoding, a key that is not ECDSA P-256, a signature that is not 64 bytes).
        IntegrityError: an anonymous signature signs another hash, or does not verify.
    """
    if not isinstance(signed, Mapping):
        raise FormatError(f"{where}: signedData must be an object, got {type(signed).__name__}")
    created = _text(signed, "created", where)
    software = _text(signed, "software", where)
    if "publicKey" not in signed:
        return WaczSignature(DOMAIN, False, created, software, domain=_text(signed, "domain", where))
    signed_hash = _text(signed, "hash", where)
    if signed_hash is None or signed_hash.lower() != f"sha256:{package_sha256}":
        raise IntegrityError(
            f"{where}: signedData signs hash {signed_hash!r}, not the package's sha256:{package_sha256}",
            hint="the signature was made for another datapackage.json, or moved here from one",
        )
    key_der = _base64(signed, "publicKey", where)
    try:
        key = load_der_public_key(key_der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise FormatError(f"{where}: signedData.publicKey is not a DER public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise FormatError(f"{where}: signedData.publicKey must be an ECDSA P-256 key")
    raw = _base64(signed, "signature", where)
    if len(raw) != 64:
        raise FormatError(f"{where}: signedData.signature must be 64 bytes (r || s), got {len(raw)}")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, signed_hash.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise IntegrityError(
            f"{where}: the package's anonymous signature does not verify with the key it names",
            hint="signedData was changed after signing, or the signature is not that key's",
        ) from None
    return WaczSignature(ANONYMOUS, True, created, software, public_key_sha256=sha256_hex(key_der))


def _text(signed: Mapping[str, Any], name: str, where: str) -> str | None:
    value = signed.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _MAX_FIELD:
        raise FormatError(f"{where}: signedData.{name} must be text of at most {_MAX_FIELD} characters")
    return value


def _base64(signed: Mapping[str, Any], name: str, where: str) -> bytes:
    value = _text(signed, name, where)
    if value is None:
        raise FormatError(f"{where}: signedData has publicKey but no {name}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"{where}: signedData.{name} is not base64") from exc
