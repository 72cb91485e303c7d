"""DSSE v1 envelopes: PAE known answer, canonical bytes, threshold verification."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.canonical import canonical_bytes
from custody.envelope import IN_TOTO_PAYLOAD_TYPE, MAX_SIGNATURES, Envelope, pae
from custody.errors import FormatError, SignatureError
from custody.keys import PublicKey, Signature, Signer

PAYLOAD = b'{"_type":"https://in-toto.io/Statement/v1"}'


def trusted(*signers: Signer) -> dict[str, PublicKey]:
    return {s.key_id: s.public_key for s in signers}


def test_pae_known_answer_from_dsse_spec() -> None:
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_counts_bytes_not_characters() -> None:
    assert pae("\u00e9", b"") == b"DSSEv1 2 \xc3\xa9 0 "
    assert pae("t", b"\x00 \xff") == b"DSSEv1 1 t 3 \x00 \xff"


def test_pae_lengths_prevent_splicing() -> None:
    # Moving a byte between type and payload changes the encoding.
    assert pae("ab", b"c") != pae("a", b"bc")


def test_sign_signs_pae(alice: Signer) -> None:
    envelope = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, alice)
    (signature,) = envelope.signatures
    assert signature.key_id == alice.key_id
    alice.public_key.verify(signature.value, pae(IN_TOTO_PAYLOAD_TYPE, PAYLOAD))
    with pytest.raises(SignatureError):  # not over the bare payload
        alice.public_key.verify(signature.value, PAYLOAD)


def test_wire_format(alice: Signer) -> None:
    envelope = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, alice)
    data = envelope.to_bytes()
    document = json.loads(data)
    assert list(document) == ["payload", "payloadType", "signatures"]
    assert base64.b64decode(document["payload"], validate=True) == PAYLOAD
    assert document["payloadType"] == IN_TOTO_PAYLOAD_TYPE
    assert document["signatures"] == [
        {"keyid": alice.key_id, "sig": base64.b64encode(envelope.signatures[0].value).decode()}
    ]
    assert canonical_bytes(document) == data


def test_round_trip_keeps_exact_payload(alice: Signer, bob: Signer) -> None:
    payload = b'{"b": 1,  "a": 2}'  # deliberately not canonical: must survive unchanged
    envelope = Envelope.sign("application/json", payload, alice).add_signature(bob)
    again = Envelope.from_bytes(envelope.to_bytes())
    assert again == envelope
    assert again.payload == payload
    assert again.to_bytes() == envelope.to_bytes()


def test_verify_returns_verified_key_ids(alice: Signer) -> None:
    envelope = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, alice)
    assert envelope.verify(trusted(alice)) == [alice.key_id]


def test_threshold_two_of_two(alice: Signer, bob: Signer) -> None:
    envelope = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, alice).add_signature(bob)
    assert envelope.verify(trusted(alice, bob), threshold=2) == [alice.key_id, bob.key_id]


def test_threshold_not_met(alice: Signer, bob: Signer) -> None:
    envelope = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, alice)
    with pytest.raises(SignatureError, match=r"needs 2 signature\(s\).*verified 1"):
        envelope.verify(trusted(alice, bob), threshold=2)


def test_same_key_twice_counts_once(alice: Signer, bob: Signer) -> None:
    envelope = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, alice).add_signature(alice)
    assert len(envelope.signatures) == 2
    assert envelope.verify(trusted(alice, bob)) == [alice.key_id]
    with pytest.raises(SignatureError, match="verified 1"):
        envelope.verify(trusted(alice, bob), threshold=2)


@pytest.mark.parametrize("threshold", [0, -1])
def test_threshold_below_one_refused(alice: Signer, threshold: int) -> None:
    envelope = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, alice)
    with pytest.raises(ValueError, match="threshold must be at least 1"):
        envelope.verify({}, threshold=threshold)


def test_unknown_keys_ignored(alice: Signer, mallory: Signer) -> None:
    envelope = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, mallory).add_signature(alice)
    assert envelope.verify(trusted(alice)) == [alice.key_id]


def test_unknown_garbage_signature_ignored(alice: Signer) -> None:
    envelope = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, alice)
    noisy = Envelope(
        envelope.payload_type,
        envelope.payload,
        (Signature("not-a-key-we-know", b"\x00" * 7), *envelope.signatures),
    )
    assert noisy.verify(trusted(alice)) == [alice.key_id]


def test_no_trusted_signer(alice: Signer, mallory: Signer) -> None:
    envelope = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, mallory)
    with pytest.raises(SignatureError, match=f"verified 0 .*{mallory.key_id[:16]}"):
        envelope.verify(trusted(alice))


def test_bad_signature_by_trusted_key_raises_even_if_threshold_met(
    alice: Signer, bob: Signer, mallory: Signer
) -> None:
    good = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, alice)
    forged = Signature(bob.key_id, mallory.sign(pae(IN_TOTO_PAYLOAD_TYPE, PAYLOAD)).value)
    envelope = Envelope(good.payload_type, good.payload, (*good.signatures, forged))
    with pytest.raises(SignatureError, match=bob.key_id[:16]):
        envelope.verify(trusted(alice, bob), threshold=1)


def test_payload_tamper_detected(alice: Signer) -> None:
    envelope = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, alice)
    tampered = Envelope(envelope.payload_type, PAYLOAD.replace(b"v1", b"v2"), envelope.signatures)
    with pytest.raises(SignatureError, match="does not verify"):
        tampered.verify(trusted(alice))


def test_payload_type_tamper_detected(alice: Signer) -> None:
    envelope = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, alice)
    tampered = Envelope("application/json", envelope.payload, envelope.signatures)
    with pytest.raises(SignatureError):
        tampered.verify(trusted(alice))


def test_tamper_in_serialised_payload_detected(alice: Signer) -> None:
    document = json.loads(Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, alice).to_bytes())
    document["payload"] = base64.b64encode(PAYLOAD + b" ").decode()
    with pytest.raises(SignatureError):
        Envelope.from_dict(document).verify(trusted(alice))


def test_url_safe_base64_accepted(alice: Signer) -> None:
    payload = b"\xfb\xff\xfe"  # standard base64 "+//+", URL-safe "-__-"
    envelope = Envelope.sign("application/octet-stream", payload, alice)
    document = envelope.to_dict()
    assert "+" in document["payload"]
    document["payload"] = base64.urlsafe_b64encode(payload).decode()
    again = Envelope.from_dict(document)
    assert again.payload == payload
    again.verify(trusted(alice))


def _document(alice: Signer) -> dict[str, Any]:
    return Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, alice).to_dict()


MALFORMED = {
    "payloadType missing": (lambda d: d.pop("payloadType"), "payloadType must be a string"),
    "payloadType number": (lambda d: d.update(payloadType=1), "payloadType must be a string"),
    "payloadType empty": (lambda d: d.update(payloadType=""), "payloadType must not be empty"),
    "payload missing": (lambda d: d.pop("payload"), "payload must be a base64 string"),
    "payload not base64": (lambda d: d.update(payload="!!!"), "payload is not valid base64"),
    "payload junk in base64": (
        lambda d: d.update(payload=d["payload"][:4] + "!" + d["payload"][4:]),
        "payload is not valid base64",
    ),
    "payload not ascii": (lambda d: d.update(payload="\u00e9A=="), "payload is not valid base64"),
    "signatures missing": (lambda d: d.pop("signatures"), "signatures must be a non-empty list"),
    "signatures empty": (lambda d: d.update(signatures=[]), "signatures must be a non-empty list"),
    "signatures object": (lambda d: d.update(signatures={}), "signatures must be a non-empty list"),
    "signature not object": (lambda d: d.update(signatures=["x"]), "signature 0 must be an object"),
    "keyid number": (lambda d: d["signatures"][0].update(keyid=7), "signature 0 keyid must be a string"),
    "sig missing": (lambda d: d["signatures"][0].pop("sig"), "signature 0 must be a base64 string"),
    "sig not base64": (lambda d: d["signatures"][0].update(sig="%%%"), "signature 0 is not valid base64"),
    "too many signatures": (
        lambda d: d.update(signatures=d["signatures"] * (MAX_SIGNATURES + 1)),
        f"{MAX_SIGNATURES + 1} signatures",
    ),
}


@pytest.mark.parametrize(("change", "message"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_envelope(alice: Signer, change: Any, message: str) -> None:
    document = _document(alice)
    change(document)
    with pytest.raises(FormatError, match=message):
        Envelope.from_bytes(canonical_bytes(document), what="bundle entry 7")


def test_malformed_envelope_names_the_input(alice: Signer) -> None:
    document = _document(alice)
    document["signatures"] = []
    with pytest.raises(FormatError, match=r"^bundle entry 7: signatures"):
        Envelope.from_dict(document, what="bundle entry 7")


@pytest.mark.parametrize("data", [b"", b"[]", b"{", b'{"payload": "", "payload": ""}'])
def test_envelope_bytes_not_an_object(data: bytes) -> None:
    with pytest.raises(FormatError):
        Envelope.from_bytes(data)


def test_max_signatures_allowed(alice: Signer) -> None:
    envelope = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, PAYLOAD, alice)
    full = Envelope(envelope.payload_type, envelope.payload, envelope.signatures * MAX_SIGNATURES)
    assert full.verify(trusted(alice)) == [alice.key_id]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=300), payload_type=st.text(min_size=1, max_size=40))
def test_sign_verify_property(alice: Signer, payload: bytes, payload_type: str) -> None:
    envelope = Envelope.from_bytes(Envelope.sign(payload_type, payload, alice).to_bytes())
    assert envelope.payload == payload
    assert envelope.verify(trusted(alice)) == [alice.key_id]
    changed = Envelope(payload_type, payload + b"\x00", envelope.signatures)
    with pytest.raises(SignatureError):
        changed.verify(trusted(alice))
