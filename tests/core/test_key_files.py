"""Encrypted private key files: Argon2id + ChaCha20-Poly1305, public key bound as associated data."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from custody.canonical import canonical_bytes
from custody.errors import FormatError, PassphraseError
from custody.keys import (
    KEY_FILE_TYPE,
    KdfParams,
    Signer,
    decrypt_private_key,
    encrypt_private_key,
    read_key_file_public,
)

PASSPHRASE = "correct horse battery staple"


def give(passphrase: str) -> Callable[[str], str]:
    return lambda _what: passphrase


def never_asked(what: str) -> str:
    pytest.fail(f"the passphrase was requested for {what} before the key file was validated")


def edit(data: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    document = json.loads(data)
    change(document)
    return canonical_bytes(document)


def flip_b64(value: str, index: int = 0) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.fixture
def key_file(alice: Signer, fast_kdf: KdfParams) -> bytes:
    return encrypt_private_key(
        alice, PASSPHRASE, metadata={"name": "alice", "role": "investigator"}, params=fast_kdf
    )


def test_round_trip(alice: Signer, key_file: bytes) -> None:
    asked: list[str] = []

    def callback(what: str) -> str:
        asked.append(what)
        return PASSPHRASE

    signer = decrypt_private_key(key_file, callback, what="key 'alice'")
    assert asked == ["key 'alice'"]
    assert signer.public_key == alice.public_key
    # Ed25519 is deterministic: the same seed gives the same signature.
    assert signer.sign(b"exhibit 1").value == alice.sign(b"exhibit 1").value


def test_round_trip_with_default_parameters(bob: Signer) -> None:
    data = encrypt_private_key(bob, PASSPHRASE)
    kdf = json.loads(data)["kdf"]
    assert (kdf["name"], kdf["iterations"], kdf["lanes"], kdf["memory_kib"]) == ("argon2id", 3, 4, 65536)
    assert decrypt_private_key(data, give(PASSPHRASE)).key_id == bob.key_id


def test_file_layout(alice: Signer, key_file: bytes) -> None:
    document = json.loads(key_file)
    assert key_file == canonical_bytes(document) + b"\n"
    assert document["type"] == KEY_FILE_TYPE
    assert document["version"] == 1
    assert document["key_id"] == alice.key_id
    assert document["public_key"] == alice.public_key.hex
    assert document["metadata"] == {"name": "alice", "role": "investigator"}
    assert document["aead"]["name"] == "chacha20-poly1305"
    assert len(base64.b64decode(document["aead"]["nonce"])) == 12
    assert len(base64.b64decode(document["kdf"]["salt"])) == 16
    # 32-byte seed + 16-byte Poly1305 tag
    assert len(base64.b64decode(document["ciphertext"])) == 48


def test_read_public_part_without_passphrase(alice: Signer, key_file: bytes) -> None:
    public, document = read_key_file_public(key_file)
    assert public == alice.public_key
    assert document["metadata"]["name"] == "alice"


def test_salt_and_nonce_are_fresh(alice: Signer, fast_kdf: KdfParams) -> None:
    one = json.loads(encrypt_private_key(alice, PASSPHRASE, params=fast_kdf))
    two = json.loads(encrypt_private_key(alice, PASSPHRASE, params=fast_kdf))
    assert one["kdf"]["salt"] != two["kdf"]["salt"]
    assert one["aead"]["nonce"] != two["aead"]["nonce"]
    assert one["ciphertext"] != two["ciphertext"]


def test_file_never_holds_seed_or_passphrase(alice: Signer, key_file: bytes) -> None:
    seed = alice._seed()
    for secret in (
        seed,
        seed.hex().encode(),
        seed.hex().upper().encode(),
        base64.b64encode(seed),
        base64.b64encode(seed).rstrip(b"="),
        PASSPHRASE.encode(),
    ):
        assert secret not in key_file


def test_wrong_passphrase(key_file: bytes) -> None:
    wrong = "Tr0ub4dor&3 wrong passphrase"
    with pytest.raises(PassphraseError, match="wrong passphrase for key 'alice'") as caught:
        decrypt_private_key(key_file, give(wrong), what="key 'alice'")
    error = caught.value
    assert error.exit_code == 1
    for text in (str(error), error.diagnostics(), repr(error)):
        assert wrong not in text
        assert PASSPHRASE not in text
    assert "CUSTODY_PASSPHRASE" in error.diagnostics()


def test_empty_passphrase_from_callback_is_wrong(key_file: bytes) -> None:
    with pytest.raises(PassphraseError):
        decrypt_private_key(key_file, give(""))


def test_empty_passphrase_refused_when_encrypting(alice: Signer, fast_kdf: KdfParams) -> None:
    with pytest.raises(PassphraseError, match="empty passphrase"):
        encrypt_private_key(alice, "", params=fast_kdf)


def test_swapped_public_key_does_not_decrypt(key_file: bytes, mallory: Signer) -> None:
    def swap(document: dict[str, Any]) -> None:
        document["public_key"] = mallory.public_key.hex
        document["key_id"] = mallory.key_id

    with pytest.raises((PassphraseError, FormatError)):
        decrypt_private_key(edit(key_file, swap), give(PASSPHRASE))


def test_swapped_public_key_only(key_file: bytes, mallory: Signer) -> None:
    def swap(document: dict[str, Any]) -> None:
        document["public_key"] = mallory.public_key.hex

    with pytest.raises((PassphraseError, FormatError)):
        decrypt_private_key(edit(key_file, swap), give(PASSPHRASE))


@pytest.mark.parametrize("index", [0, 31, 32, 47])  # seed bytes and tag bytes
def test_corrupted_ciphertext(key_file: bytes, index: int) -> None:
    def corrupt(document: dict[str, Any]) -> None:
        document["ciphertext"] = flip_b64(document["ciphertext"], index)

    with pytest.raises(PassphraseError):
        decrypt_private_key(edit(key_file, corrupt), give(PASSPHRASE))


def test_truncated_ciphertext(key_file: bytes) -> None:
    def truncate(document: dict[str, Any]) -> None:
        document["ciphertext"] = base64.b64encode(base64.b64decode(document["ciphertext"])[:40]).decode()

    with pytest.raises(PassphraseError):
        decrypt_private_key(edit(key_file, truncate), give(PASSPHRASE))


@pytest.mark.parametrize("field", ["salt", "nonce"])
def test_corrupted_salt_or_nonce(key_file: bytes, field: str) -> None:
    def corrupt(document: dict[str, Any]) -> None:
        section = "kdf" if field == "salt" else "aead"
        document[section][field] = flip_b64(document[section][field])

    with pytest.raises(PassphraseError):
        decrypt_private_key(edit(key_file, corrupt), give(PASSPHRASE))


def test_lowered_kdf_cost_does_not_decrypt(key_file: bytes) -> None:
    # Parameters are not in the AAD, but changing them changes the derived key.
    def lower(document: dict[str, Any]) -> None:
        document["kdf"]["memory_kib"] = 16 * 1024

    with pytest.raises(PassphraseError):
        decrypt_private_key(edit(key_file, lower), give(PASSPHRASE))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = document
        for name in parents:
            target = target[name]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()

MALFORMED = {
    "wrong type": (_set("type", "custody/rsa-private-key"), "not a custody key file"),
    "wrong version": (_set("version", 2), "not a custody key file version 1"),
    "version as text": (_set("version", "1"), "not a custody key file"),
    "public key not hex": (_set("public_key", "not-hex"), "64 lowercase hex"),
    "public key too short": (_set("public_key", "ab" * 31), "64 lowercase hex"),
    "key id not the public key's": (_set("key_id", "ab" * 32), "key_id does not match"),
    "metadata not an object": (_set("metadata", ["name"]), "metadata must be an object"),
    "no kdf": (_set("kdf", _DELETE), "unsupported key derivation"),
    "kdf scrypt": (_set("kdf.name", "scrypt"), "unsupported key derivation"),
    "aead aes": (_set("aead.name", "aes-256-gcm"), "unsupported encryption"),
    "iterations text": (_set("kdf.iterations", "many"), "malformed Argon2id parameters"),
    "lanes missing": (_set("kdf.lanes", _DELETE), "malformed Argon2id parameters"),
    "iterations zero": (_set("kdf.iterations", 0), "out of range"),
    "iterations huge": (_set("kdf.iterations", 1_000_000), "out of range"),
    "lanes huge": (_set("kdf.lanes", 65), "out of range"),
    "memory tiny": (_set("kdf.memory_kib", 8), "out of range"),
    "memory absurd": (_set("kdf.memory_kib", 2**40), "out of range"),
    "memory float absurd": (_set("kdf.memory_kib", 1e300), "out of range"),
    "salt not base64": (_set("kdf.salt", "***"), "kdf.salt is not valid base64"),
    "salt not text": (_set("kdf.salt", 16), "kdf.salt must be base64 text"),
    "salt too short": (_set("kdf.salt", base64.b64encode(b"0123456").decode()), "wrong length"),
    "nonce too short": (_set("aead.nonce", base64.b64encode(b"012345").decode()), "wrong length"),
    "ciphertext missing": (_set("ciphertext", _DELETE), "ciphertext must be base64 text"),
}


@pytest.mark.parametrize(("change", "message"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_key_file(key_file: bytes, change: Callable[[dict[str, Any]], None], message: str) -> None:
    with pytest.raises(FormatError, match=message) as caught:
        decrypt_private_key(edit(key_file, change), never_asked)
    assert caught.value.exit_code == 3


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[1, 2]", b"\xff\xfe", b'{"type": "a", "type": "b"}', b"null"],
    ids=["empty", "text", "array", "not utf-8", "duplicate key", "null"],
)
def test_not_a_key_file(data: bytes) -> None:
    with pytest.raises(FormatError):
        decrypt_private_key(data, never_asked)


@pytest.mark.parametrize(
    "params",
    [
        KdfParams(0, 1, 8192),
        KdfParams(1, 0, 8192),
        KdfParams(65, 1, 8192),
        KdfParams(1, 1, 8191),
        KdfParams(1, 1, 4 * 1024 * 1024 + 1),
    ],
)
def test_encrypt_refuses_out_of_range_parameters(alice: Signer, params: KdfParams) -> None:
    with pytest.raises(FormatError, match="out of range"):
        encrypt_private_key(alice, PASSPHRASE, params=params)


def test_unicode_passphrase(alice: Signer, fast_kdf: KdfParams) -> None:
    passphrase = "pässwört – 鍵 🔑"
    data = encrypt_private_key(alice, passphrase, params=fast_kdf)
    assert decrypt_private_key(data, give(passphrase)).key_id == alice.key_id
    with pytest.raises(PassphraseError):
        decrypt_private_key(data, give("passwort – 鍵 🔑"))
