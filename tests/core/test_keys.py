"""Ed25519 keys: RFC 8032 section 7.1 known answers, key ids, PEM/hex import and export."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from custody.errors import FormatError, SignatureError
from custody.keys import PublicKey, Signer, fingerprint

VECTOR_FILE = Path(__file__).parents[1] / "vectors" / "rfc8032_ed25519.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTOR_FILE.read_text())["vectors"]
IDS = [v["name"] for v in VECTORS]

# RFC 8410 section 4: SubjectPublicKeyInfo DER prefix for an Ed25519 key (id-Ed25519 = 1.3.101.112).
SPKI_ED25519_PREFIX = bytes.fromhex("302a300506032b6570032100")


def _b(vector: dict[str, Any], field: str) -> bytes:
    return bytes.fromhex(vector[field])


def _flip_bit(data: bytes, index: int, bit: int = 0) -> bytes:
    mutated = bytearray(data)
    mutated[index] ^= 1 << bit
    return bytes(mutated)


def test_vector_file_holds_the_rfc_tests() -> None:
    assert IDS == ["TEST 1", "TEST 2", "TEST 3", "TEST 1024"]
    assert [len(_b(v, "message")) for v in VECTORS] == [0, 1, 2, 1023]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_verifies_with_cryptography_directly(vector: dict[str, Any]) -> None:
    # Guards the typed-in vectors themselves, independently of custody's code.
    key = Ed25519PublicKey.from_public_bytes(_b(vector, "public_key"))
    key.verify(_b(vector, "signature"), _b(vector, "message"))


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_rfc8032_public_key_from_secret(vector: dict[str, Any]) -> None:
    signer = Signer.from_seed(_b(vector, "secret_key"))
    assert signer.public_key.raw == _b(vector, "public_key")
    assert signer.public_key.hex == vector["public_key"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_rfc8032_signature(vector: dict[str, Any]) -> None:
    signer = Signer.from_seed(_b(vector, "secret_key"))
    signature = signer.sign(_b(vector, "message"))
    assert signature.value == _b(vector, "signature")
    assert signature.key_id == hashlib.sha256(_b(vector, "public_key")).hexdigest()


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_rfc8032_verify_accepts(vector: dict[str, Any]) -> None:
    PublicKey.from_hex(vector["public_key"]).verify(_b(vector, "signature"), _b(vector, "message"))


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_rfc8032_changed_message_rejected(vector: dict[str, Any]) -> None:
    message = _b(vector, "message")
    changed = [_flip_bit(message, 0), _flip_bit(message, len(message) - 1, 7)] if message else [b"\x00"]
    key = PublicKey.from_hex(vector["public_key"])
    for mutated in changed:
        with pytest.raises(SignatureError, match="does not verify"):
            key.verify(_b(vector, "signature"), mutated)


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
@pytest.mark.parametrize(("index", "bit"), [(0, 0), (31, 7), (32, 0), (63, 3)])
def test_rfc8032_flipped_signature_bit_rejected(vector: dict[str, Any], index: int, bit: int) -> None:
    key = PublicKey.from_hex(vector["public_key"])
    with pytest.raises(SignatureError):
        key.verify(_flip_bit(_b(vector, "signature"), index, bit), _b(vector, "message"))


def test_signature_by_another_key_rejected() -> None:
    one, two = (Signer.from_seed(_b(v, "secret_key")) for v in VECTORS[:2])
    with pytest.raises(SignatureError, match=one.key_id[:16]):
        one.public_key.verify(two.sign(b"evidence").value, b"evidence")


@pytest.mark.parametrize("length", [0, 63, 65])
def test_signature_of_wrong_length_rejected(length: int) -> None:
    key = PublicKey.from_hex(VECTORS[0]["public_key"])
    with pytest.raises(SignatureError, match=f"must be 64 bytes, got {length}"):
        key.verify(b"\x00" * length, b"")


def test_key_id_is_sha256_of_raw_public_key() -> None:
    raw = _b(VECTORS[0], "public_key")
    key = PublicKey.from_raw(raw)
    assert key.key_id == hashlib.sha256(raw).hexdigest()
    assert Signer.from_seed(_b(VECTORS[0], "secret_key")).key_id == key.key_id


def test_pem_is_subject_public_key_info() -> None:
    key = PublicKey.from_hex(VECTORS[0]["public_key"])
    pem = key.to_pem()
    lines = pem.decode("ascii").strip().splitlines()
    assert lines[0] == "-----BEGIN PUBLIC KEY-----"
    assert lines[-1] == "-----END PUBLIC KEY-----"
    assert base64.b64decode("".join(lines[1:-1])) == SPKI_ED25519_PREFIX + key.raw


def test_pem_round_trip() -> None:
    for vector in VECTORS:
        key = PublicKey.from_hex(vector["public_key"])
        again = PublicKey.from_pem(key.to_pem())
        assert again == key
        assert again.key_id == key.key_id
        assert hash(again) == hash(key)


def test_keys_compare_by_value() -> None:
    one, two = (PublicKey.from_hex(v["public_key"]) for v in VECTORS[:2])
    assert one != two
    assert one != one.raw  # not equal to its bytes
    assert len({one, PublicKey.from_raw(one.raw), two}) == 2


def test_from_pem_rejects_other_key_types() -> None:
    ec_key = ec.derive_private_key(12345, ec.SECP256R1()).public_key()
    pem = ec_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(FormatError, match="expected Ed25519"):
        PublicKey.from_pem(pem)


@pytest.mark.parametrize(
    "pem", [b"", b"not a pem", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"]
)
def test_from_pem_rejects_garbage(pem: bytes) -> None:
    with pytest.raises(FormatError, match="not a PEM public key"):
        PublicKey.from_pem(pem)


@pytest.mark.parametrize("raw", [b"", b"\x01" * 31, b"\x01" * 33])
def test_from_raw_rejects_wrong_length(raw: bytes) -> None:
    with pytest.raises(FormatError, match=f"must be 32 bytes, got {len(raw)}"):
        PublicKey.from_raw(raw)


@pytest.mark.parametrize("text", ["zz" * 32, "abc", "AB" * 32, "ab" * 31 + " ab"])
def test_from_hex_rejects_non_hex(text: str) -> None:
    with pytest.raises(FormatError, match="64 lowercase hex"):
        PublicKey.from_hex(text)


@pytest.mark.parametrize("seed", [b"", b"\x00" * 31, b"\x00" * 64])
def test_from_seed_rejects_wrong_length(seed: bytes) -> None:
    with pytest.raises(FormatError, match=f"seed must be 32 bytes, got {len(seed)}"):
        Signer.from_seed(seed)


def test_generated_keys_differ_and_sign() -> None:
    one, two = Signer.generate(), Signer.generate()
    assert one.key_id != two.key_id
    one.public_key.verify(one.sign(b"x").value, b"x")


def test_repr_shows_key_id_but_no_secret() -> None:
    vector = VECTORS[0]
    signer = Signer.from_seed(_b(vector, "secret_key"))
    text = repr(signer) + repr(signer.public_key)
    assert signer.key_id[:16] in text
    assert vector["secret_key"] not in text
    assert vector["secret_key"][:16] not in text


def test_fingerprint_groups_first_16_hex_digits() -> None:
    key_id = hashlib.sha256(b"x").hexdigest()
    assert fingerprint(key_id) == ":".join([key_id[0:4], key_id[4:8], key_id[8:12], key_id[12:16]])
    assert fingerprint("0123456789abcdef" + "0" * 48) == "0123:4567:89ab:cdef"
