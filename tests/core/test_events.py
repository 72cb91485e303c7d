"""Custody events: signed ledger entries (DSSE envelope of an in-toto statement)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.canonical import canonical_bytes, canonical_members
from custody.digests import sha256_hex
from custody.envelope import IN_TOTO_PAYLOAD_TYPE, Envelope
from custody.errors import FormatError, SignatureError
from custody.events import (
    ARTIFACT_RECORDED,
    COMMON_FIELDS,
    EVENT_TYPES,
    KEY_ADDED,
    CustodyEvent,
    _unverified_event,
    event_type_from_predicate,
    predicate_type_for,
    sign_event,
    verify_entry,
)
from custody.keys import Signer
from custody.statement import Statement, Subject

DIGEST = sha256_hex(b"chat transcript, 2026-06-01")
TIME = "2026-06-01T09:00:00Z"

# DESIGN.md: "Event types (at least)".
DESIGN_EVENT_TYPES = {
    "case.opened",
    "key.added",
    "key.revoked",
    "tool.registered",
    "artifact.recorded",
    "artifact.derived",
    "artifact.accessed",
    "custody.released",
    "custody.accepted",
    "answer.recorded",
    "bundle.exported",
    "case.sealed",
}


def make_event(signer: Signer, **changes: Any) -> CustodyEvent:
    fields: dict[str, Any] = {
        "event_type": ARTIFACT_RECORDED,
        "case_id": "OP-LANTERN",
        "sequence": 4,
        "time": TIME,
        "actor": signer.key_id,
        "subjects": (Subject("transcript.jsonl", DIGEST),),
        "body": {"artifact": {"digest": {"sha256": DIGEST}, "size": 27}, "origin": "captured"},
    }
    fields.update(changes)
    return CustodyEvent(**fields)


@pytest.fixture
def entry(alice: Signer) -> bytes:
    return sign_event(make_event(alice), alice)


def test_round_trip(alice: Signer, entry: bytes) -> None:
    assert verify_entry(entry, alice.public_key) == make_event(alice)


def test_entry_is_canonical_envelope_of_statement(alice: Signer, entry: bytes) -> None:
    envelope = Envelope.from_bytes(entry)
    assert envelope.to_bytes() == entry
    assert envelope.payload_type == IN_TOTO_PAYLOAD_TYPE
    assert envelope.payload == make_event(alice).to_statement().to_bytes()
    statement = json.loads(envelope.payload)
    assert statement["predicateType"] == "https://custody.dev/event/artifact.recorded/v1"
    assert {k: statement["predicate"][k] for k in COMMON_FIELDS} == {
        "case": "OP-LANTERN",
        "sequence": 4,
        "time": TIME,
        "actor": alice.key_id,
    }


def test_signing_is_deterministic(alice: Signer) -> None:
    assert sign_event(make_event(alice), alice) == sign_event(make_event(alice), alice)


def test_sign_refuses_a_signer_that_is_not_the_actor(alice: Signer, bob: Signer) -> None:
    with pytest.raises(SignatureError, match="event names actor"):
        sign_event(make_event(alice), bob)


def test_verify_with_another_key(entry: bytes, bob: Signer) -> None:
    with pytest.raises(SignatureError, match=f"checked against key {bob.key_id[:16]}"):
        verify_entry(entry, bob.public_key)


def test_entry_claiming_another_actor(alice: Signer, bob: Signer) -> None:
    # alice signs a statement that names bob as its actor (sign_event would refuse this).
    statement = make_event(bob).to_statement()
    forged = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, statement.to_bytes(), alice).to_bytes()
    with pytest.raises(SignatureError, match="verified 0"):
        verify_entry(forged, bob.public_key)
    with pytest.raises(SignatureError, match="event names actor"):
        verify_entry(forged, alice.public_key)


def test_signature_over_different_statement(alice: Signer, entry: bytes) -> None:
    other = sign_event(make_event(alice, sequence=5), alice)
    document = json.loads(entry)
    document["signatures"] = json.loads(other)["signatures"]
    with pytest.raises(SignatureError, match=r"ledger entry \(artifact.recorded\)"):
        verify_entry(canonical_bytes(document), alice.public_key)


def _flip(data: bytes, position: int, mask: int) -> bytes:
    mutated = bytearray(data)
    mutated[position] ^= mask
    return bytes(mutated)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_byte_change_is_detected(alice: Signer, entry: bytes, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(entry) - 1), label="position")
    mask = data.draw(st.integers(min_value=1, max_value=255), label="xor mask")
    with pytest.raises((FormatError, SignatureError)):
        verify_entry(_flip(entry, position, mask), alice.public_key)


def test_every_position_low_bits_change_is_detected(alice: Signer, entry: bytes) -> None:
    # Exhaustive over positions for the masks that keep a base64 character inside the alphabet
    # most often (the malleable cases hypothesis might miss).
    for position in range(len(entry)):
        for mask in (0x01, 0x02, 0x03, 0x06, 0x20):
            with pytest.raises((FormatError, SignatureError)):
                verify_entry(_flip(entry, position, mask), alice.public_key)


def test_unused_base64_bits_in_signature_are_detected(alice: Signer, entry: bytes) -> None:
    # A 64-byte signature is 86 base64 characters + "=="; the last character carries 4 unused
    # bits. Changing them decodes to the same signature, yet the entry bytes (its leaf) differ.
    end = entry.index(b'=="}]}')
    last = entry[end - 1 : end]
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    same_bits = alphabet[alphabet.index(last) ^ 0x01 : (alphabet.index(last) ^ 0x01) + 1]
    variant = entry[: end - 1] + same_bits + entry[end:]
    assert Envelope.from_bytes(variant) == Envelope.from_bytes(entry)  # decodes identically
    with pytest.raises(FormatError, match="not the RFC 8785 canonical form"):
        verify_entry(variant, alice.public_key)


def _url_safe_signature(entry: bytes) -> bytes:
    sig = json.loads(entry)["signatures"][0]["sig"]
    assert "+" in sig or "/" in sig, "the fixed test key's signature should use + or /"
    return entry.replace(sig.encode(), sig.replace("+", "-").replace("/", "_").encode())


NON_CANONICAL: dict[str, Callable[[bytes], bytes]] = {
    "pretty printed": lambda e: json.dumps(json.loads(e), indent=2).encode(),
    "trailing newline": lambda e: e + b"\n",
    "leading space": lambda e: b" " + e,
    "keys reordered": lambda e: json.dumps(
        dict(reversed(json.loads(e).items())), separators=(",", ":")
    ).encode(),
    "url-safe signature": _url_safe_signature,
    "escaped character": lambda e: e.replace(b'"payloadType"', b'"payload\\u0054ype"'),
}


@pytest.mark.parametrize("rewrite", NON_CANONICAL.values(), ids=NON_CANONICAL.keys())
def test_equivalent_but_non_canonical_entry_rejected(
    alice: Signer, entry: bytes, rewrite: Callable[[bytes], bytes]
) -> None:
    variant = rewrite(entry)
    assert variant != entry
    with pytest.raises(FormatError, match="canonical form"):
        verify_entry(variant, alice.public_key, what="entry 4")


@pytest.mark.parametrize("field", COMMON_FIELDS)
def test_body_cannot_redefine_common_fields(alice: Signer, field: str) -> None:
    with pytest.raises(FormatError, match=f"must not redefine common fields \\['{field}'\\]"):
        make_event(alice, body={field: "OP-OTHER", "origin": "captured"})


def test_unknown_event_type_rejected(alice: Signer) -> None:
    with pytest.raises(FormatError, match=r"unknown event type 'artifact\.deleted'"):
        make_event(alice, event_type="artifact.deleted")


def test_predicate_type_uris() -> None:
    assert DESIGN_EVENT_TYPES <= EVENT_TYPES
    for event_type in EVENT_TYPES:
        uri = predicate_type_for(event_type)
        assert uri == f"https://custody.dev/event/{event_type}/v1"
        assert event_type_from_predicate(uri) == event_type


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("https://custody.dev/event/artifact.recorded/v2", "not a custody event type"),
        ("https://example.org/event/artifact.recorded/v1", "not a custody event type"),
        ("https://slsa.dev/provenance/v1", "not a custody event type"),
        ("https://custody.dev/event/artifact.deleted/v1", "unknown event type"),
        ("https://custody.dev/event//v1", "unknown event type"),
    ],
)
def test_predicate_type_not_a_custody_event(uri: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        event_type_from_predicate(uri)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"case_id": "op lantern"}, "case id"),
        ({"case_id": "-OP"}, "case id"),
        ({"case_id": "OP\n"}, "case id"),
        ({"case_id": "X" * 65}, "case id"),
        ({"sequence": -1}, "sequence"),
        ({"sequence": True}, "sequence"),
        ({"sequence": "3"}, "sequence"),
        ({"sequence": 2**53}, "sequence"),
        ({"time": "2026-06-01T09:00:00"}, "event time"),
        ({"time": "June 1st"}, "event time"),
        ({"actor": "alice"}, "event actor key id"),
        ({"subjects": ()}, "needs at least one subject"),
    ],
)
def test_invalid_event_fields(alice: Signer, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        make_event(alice, **changes)


def test_time_is_normalised_to_utc(alice: Signer) -> None:
    event = make_event(alice, time="2026-06-01T11:00:00+02:00")
    assert event.time == TIME
    assert verify_entry(sign_event(event, alice), alice.public_key).time == TIME


def test_largest_sequence_accepted(alice: Signer) -> None:
    event = make_event(alice, sequence=2**53 - 1)
    assert verify_entry(sign_event(event, alice), alice.public_key).sequence == 2**53 - 1


def _signed_statement(
    signer: Signer, statement: dict[str, Any], payload_type: str = IN_TOTO_PAYLOAD_TYPE
) -> bytes:
    return Envelope.sign(payload_type, canonical_bytes(statement), signer).to_bytes()


def test_wrong_payload_type(alice: Signer) -> None:
    statement = make_event(alice).to_statement().to_dict()
    entry = _signed_statement(alice, statement, payload_type="application/json")
    with pytest.raises(FormatError, match=r"entry 9: payloadType must be 'application/vnd\.in-toto"):
        verify_entry(entry, alice.public_key, what="entry 9")


@pytest.mark.parametrize("field", COMMON_FIELDS)
def test_statement_without_common_field(alice: Signer, field: str) -> None:
    statement = make_event(alice).to_statement().to_dict()
    del statement["predicate"][field]
    with pytest.raises(FormatError, match=f"^entry 9: custody event predicate lacks \\['{field}'\\]"):
        verify_entry(_signed_statement(alice, statement), alice.public_key, what="entry 9")


def test_invalid_field_inside_signed_statement_names_the_entry(alice: Signer) -> None:
    statement = make_event(alice).to_statement().to_dict()
    statement["predicate"]["sequence"] = -5
    with pytest.raises(FormatError, match=r"^entry 9: event sequence"):
        _unverified_event(_signed_statement(alice, statement), what="entry 9")


def test_foreign_predicate_type(alice: Signer) -> None:
    statement = make_event(alice).to_statement().to_dict()
    statement["predicateType"] = "https://slsa.dev/provenance/v1"
    with pytest.raises(FormatError, match=r"^entry 9: predicateType"):
        verify_entry(_signed_statement(alice, statement), alice.public_key, what="entry 9")


def test_payload_not_json(alice: Signer) -> None:
    entry = Envelope.sign(IN_TOTO_PAYLOAD_TYPE, b"not json", alice).to_bytes()
    with pytest.raises(FormatError, match=r"^entry 9 payload is not valid JSON"):
        verify_entry(entry, alice.public_key, what="entry 9")


def test_extra_signature_by_unknown_key_is_tolerated(alice: Signer, mallory: Signer, entry: bytes) -> None:
    cosigned = Envelope.from_bytes(entry).add_signature(mallory).to_bytes()
    assert verify_entry(cosigned, alice.public_key) == make_event(alice)


def test_unverified_event_does_not_check_signature(alice: Signer, entry: bytes) -> None:
    document = json.loads(entry)
    document["signatures"][0]["sig"] = base64.b64encode(b"\x00" * 64).decode()
    bad = canonical_bytes(document)
    _, event = _unverified_event(bad)
    assert event == make_event(alice)
    with pytest.raises(SignatureError):
        verify_entry(bad, alice.public_key)


def test_key_added_event_round_trip(bob: Signer) -> None:
    event = CustodyEvent(
        KEY_ADDED,
        "OP-LANTERN",
        1,
        TIME,
        bob.key_id,
        (Subject("key:bob", bob.key_id),),
        {"key": {"key_id": bob.key_id, "public_key": bob.public_key.hex}},
    )
    assert (
        verify_entry(sign_event(event, bob), bob.public_key).body["key"]["public_key"] == bob.public_key.hex
    )


def test_from_statement_round_trip(alice: Signer) -> None:
    event = make_event(alice)
    assert CustodyEvent.from_statement(Statement.from_bytes(event.to_statement().to_bytes())) == event


@given(
    st.dictionaries(
        st.sampled_from(["artifact", "origin", "details", "note", "zeta", "actorx", "Case"]),
        st.recursive(
            st.none() | st.booleans() | st.integers(-(2**53 - 1), 2**53 - 1) | st.text(max_size=8),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
            max_leaves=8,
        ),
        max_size=5,
    )
)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_body_given_as_canonical_members_signs_the_same_bytes(alice: Signer, body: dict[str, Any]) -> None:
    # A provenance hands its members already canonicalised (body_members) so the statement is
    # not canonicalised twice: the signed entry must be byte-identical to signing the body itself.
    plain = make_event(alice, body=body)
    joined = make_event(alice, body=body, body_members=canonical_members(body))
    assert sign_event(joined, alice) == sign_event(plain, alice)
