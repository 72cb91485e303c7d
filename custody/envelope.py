"""DSSE v1 envelopes (https://github.com/secure-systems-lab/dsse, protocol v1).

Invariants:
- Signatures are over PAE(payloadType, payload), never over the JSON envelope.
- ``Envelope.to_bytes`` is RFC 8785 canonical JSON; an envelope read with ``from_bytes`` keeps
  the exact payload bytes it carried (the payload is never re-serialised before verifying).
- ``verify`` raises unless at least ``threshold`` distinct trusted keys signed the envelope.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from custody.canonical import canonical_bytes, parse_json_object
from custody.errors import FormatError, SignatureError
from custody.keys import PublicKey, Signature, Signer

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_SIGNATURES = 16


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 Pre-Authentication Encoding."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise FormatError(f"envelope {what} must be a base64 string, got {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        # DSSE allows URL-safe base64 too. Validate it as strictly as the standard alphabet:
        # urlsafe_b64decode silently drops characters outside the alphabet ("!!!" -> b"").
        try:
            return base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FormatError(f"envelope {what} is not valid base64") from exc


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope. An instance is well-formed; whether it verifies is ``verify``'s job."""

    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    def __post_init__(self) -> None:
        if not self.payload_type:
            raise FormatError("envelope payloadType must not be empty")
        if len(self.signatures) > MAX_SIGNATURES:
            raise FormatError(f"envelope has {len(self.signatures)} signatures (max {MAX_SIGNATURES})")

    @classmethod
    def sign(cls, payload_type: str, payload: bytes, signer: Signer) -> Envelope:
        return cls(payload_type, payload, (signer.sign(pae(payload_type, payload)),))

    def add_signature(self, signer: Signer) -> Envelope:
        """A copy of this envelope with one more signature (a cosigner)."""
        signature = signer.sign(pae(self.payload_type, self.payload))
        return Envelope(self.payload_type, self.payload, (*self.signatures, signature))

    def to_dict(self) -> dict[str, Any]:
        return {
            "payload": _b64(self.payload),
            "payloadType": self.payload_type,
            "signatures": [{"keyid": s.key_id, "sig": _b64(s.value)} for s in self.signatures],
        }

    def to_bytes(self) -> bytes:
        """RFC 8785 bytes: what custody stores and what a ledger entry is."""
        return canonical_bytes(self.to_dict())

    @classmethod
    def from_dict(cls, document: Mapping[str, Any], *, what: str = "envelope") -> Envelope:
        payload_type = document.get("payloadType")
        if not isinstance(payload_type, str):
            raise FormatError(f"{what}: payloadType must be a string")
        raw_signatures = document.get("signatures")
        if not isinstance(raw_signatures, list) or not raw_signatures:
            raise FormatError(f"{what}: signatures must be a non-empty list")
        signatures = []
        for index, item in enumerate(raw_signatures):
            if not isinstance(item, dict):
                raise FormatError(f"{what}: signature {index} must be an object")
            key_id = item.get("keyid", "")
            if not isinstance(key_id, str):
                raise FormatError(f"{what}: signature {index} keyid must be a string")
            signatures.append(Signature(key_id, _unb64(item.get("sig"), f"signature {index}")))
        return cls(payload_type, _unb64(document.get("payload"), "payload"), tuple(signatures))

    @classmethod
    def from_bytes(cls, data: bytes, *, what: str = "envelope") -> Envelope:
        return cls.from_dict(parse_json_object(data, what=what), what=what)

    def verify(self, trusted: Mapping[str, PublicKey], *, threshold: int = 1) -> list[str]:
        """Check signatures against ``trusted`` (key id -> public key).

        Returns:
            The ids of the trusted keys whose signatures verified, in envelope order.

        Raises:
            SignatureError: if fewer than ``threshold`` distinct trusted keys signed validly, or
                if any signature that claims a trusted key id fails (a bad signature is never
                silently skipped).
            ValueError: if ``threshold`` is less than 1.
        """
        if threshold < 1:
            # A threshold of 0 would accept an envelope no trusted key signed.
            raise ValueError(f"threshold must be at least 1, got {threshold}")
        message = pae(self.payload_type, self.payload)
        verified: list[str] = []
        for signature in self.signatures:
            key = trusted.get(signature.key_id)
            if key is None:
                continue
            key.verify(signature.value, message)
            if signature.key_id not in verified:
                verified.append(signature.key_id)
        if len(verified) < threshold:
            claimed = ", ".join(s.key_id[:16] + "..." for s in self.signatures) or "none"
            raise SignatureError(
                f"envelope needs {threshold} signature(s) by a known key; "
                f"verified {len(verified)} (signed by: {claimed})"
            )
        return verified
