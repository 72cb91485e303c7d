"""Interoperability: our DSSE envelopes and in-toto statements against securesystemslib's
independent implementation (DESIGN.md: any DSSE/in-toto verifier must accept our envelopes)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib import exceptions as sslib_exceptions
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.signer import CryptoSigner, Key, SSlibKey

from custody.digests import sha256_hex
from custody.envelope import IN_TOTO_PAYLOAD_TYPE, Envelope
from custody.errors import SignatureError
from custody.events import ARTIFACT_RECORDED, CustodyEvent, sign_event, verify_entry
from custody.keys import PublicKey, Signer
from custody.statement import STATEMENT_TYPE, Statement, Subject

CONTENT = b"screenshot of the classified ad, 2026-06-01"
DIGEST = sha256_hex(CONTENT)


def sslib_key(public: PublicKey) -> SSlibKey:
    # Same key id on both sides: custody's SHA-256 of the raw key.
    return SSlibKey(public.key_id, "ed25519", "ed25519", {"public": public.hex})


def sslib_envelope(data: bytes) -> SslibEnvelope:
    return SslibEnvelope.from_dict(json.loads(data))


def custody_event(signer: Signer) -> CustodyEvent:
    return CustodyEvent(
        event_type=ARTIFACT_RECORDED,
        case_id="OP-LANTERN",
        sequence=3,
        time="2026-06-01T09:03:00Z",
        actor=signer.key_id,
        subjects=(Subject("ad-screenshot.png", DIGEST),),
        body={"artifact": {"digest": {"sha256": DIGEST}, "size": len(CONTENT)}, "origin": "captured"},
    )


def test_securesystemslib_verifies_custody_envelope(alice: Signer) -> None:
    statement = Statement(
        (Subject("ad.png", DIGEST),), "https://custody.dev/event/artifact.recorded/v1", {"case": "OP-LANTERN"}
    )
    data = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, statement.to_bytes(), alice).to_bytes()
    accepted = sslib_envelope(data).verify([sslib_key(alice.public_key)], 1)
    assert list(accepted) == [alice.key_id]


def test_securesystemslib_verifies_custody_ledger_entry(alice: Signer) -> None:
    entry = sign_event(custody_event(alice), alice)
    envelope = sslib_envelope(entry)
    assert envelope.payload_type == IN_TOTO_PAYLOAD_TYPE
    assert list(envelope.verify([sslib_key(alice.public_key)], 1)) == [alice.key_id]

    statement = json.loads(envelope.payload)
    assert statement["_type"] == STATEMENT_TYPE == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [{"name": "ad-screenshot.png", "digest": {"sha256": DIGEST}}]
    assert statement["predicateType"] == "https://custody.dev/event/artifact.recorded/v1"
    assert statement["predicate"] == {
        "case": "OP-LANTERN",
        "sequence": 3,
        "time": "2026-06-01T09:03:00Z",
        "actor": alice.key_id,
        "artifact": {"digest": {"sha256": DIGEST}, "size": len(CONTENT)},
        "origin": "captured",
    }


def test_securesystemslib_threshold_two(alice: Signer, bob: Signer) -> None:
    data = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, b"{}", alice).add_signature(bob).to_bytes()
    keys: list[Key] = [sslib_key(alice.public_key), sslib_key(bob.public_key)]
    assert set(sslib_envelope(data).verify(keys, 2)) == {alice.key_id, bob.key_id}


def test_securesystemslib_rejects_tampered_custody_envelope(alice: Signer) -> None:
    entry = sign_event(custody_event(alice), alice)
    envelope = sslib_envelope(entry)
    envelope.payload = envelope.payload.replace(b"OP-LANTERN", b"OP-LANTERX")
    with pytest.raises(sslib_exceptions.VerificationError):
        envelope.verify([sslib_key(alice.public_key)], 1)


def test_securesystemslib_rejects_custody_envelope_for_other_key(alice: Signer, mallory: Signer) -> None:
    data = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, b"{}", mallory).to_bytes()
    forged = json.loads(data)
    forged["signatures"][0]["keyid"] = alice.key_id
    with pytest.raises(sslib_exceptions.VerificationError):
        SslibEnvelope.from_dict(forged).verify([sslib_key(alice.public_key)], 1)


@pytest.fixture
def sslib_signer() -> tuple[CryptoSigner, PublicKey]:
    private = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    public = PublicKey(private.public_key())
    return CryptoSigner(private, sslib_key(public)), public


def test_custody_verifies_securesystemslib_envelope(sslib_signer: tuple[CryptoSigner, PublicKey]) -> None:
    signer, public = sslib_signer
    statement = Statement((Subject("ad.png", DIGEST),), "https://example.org/attestation/v1", {"k": "v"})
    envelope = SslibEnvelope(statement.to_bytes(), IN_TOTO_PAYLOAD_TYPE, {})
    envelope.sign(signer)
    data = json.dumps(envelope.to_dict()).encode()  # not canonical JSON: we must still read it

    ours = Envelope.from_bytes(data)
    assert ours.verify({public.key_id: public}) == [public.key_id]
    assert Statement.from_bytes(ours.payload) == statement


def test_custody_verifies_securesystemslib_entry_as_event(
    sslib_signer: tuple[CryptoSigner, PublicKey],
) -> None:
    # An event signed by another DSSE implementation is a valid custody entry once it is stored
    # as the canonical bytes of its envelope.
    signer, public = sslib_signer
    event = CustodyEvent(
        ARTIFACT_RECORDED,
        "OP-LANTERN",
        0,
        "2026-06-01T09:00:00Z",
        public.key_id,
        (Subject("ad.png", DIGEST),),
        {"origin": "captured"},
    )
    envelope = SslibEnvelope(event.to_statement().to_bytes(), IN_TOTO_PAYLOAD_TYPE, {})
    envelope.sign(signer)
    entry = Envelope.from_dict(envelope.to_dict()).to_bytes()
    assert verify_entry(entry, public) == event


def test_custody_rejects_tampered_securesystemslib_envelope(
    sslib_signer: tuple[CryptoSigner, PublicKey],
) -> None:
    signer, public = sslib_signer
    envelope = SslibEnvelope(b'{"a": 1}', "application/json", {})
    envelope.sign(signer)
    document = envelope.to_dict()
    ours = Envelope.from_dict(document)
    tampered = Envelope(ours.payload_type, b'{"a": 2}', ours.signatures)
    with pytest.raises(SignatureError):
        tampered.verify({public.key_id: public})
