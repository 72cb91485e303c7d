"""Ed25519 signing keys and encrypted private key files.

Invariants:
- A key id is the lowercase hex SHA-256 of the raw 32-byte Ed25519 public key.
- Public keys export as PEM SubjectPublicKeyInfo (``openssl pkey -pubin`` reads them) and raw hex.
- Private key files hold the 32-byte seed encrypted with ChaCha20-Poly1305 under a key derived
  from the passphrase by Argon2id (RFC 9106 second recommended profile: t=3, p=4, m=64 MiB). The
  public key is bound into the AEAD associated data, so a file whose public key was swapped fails
  to decrypt rather than signing under a different identity.
- Passphrases reach this module only through a callback; they and the seed are never put into an
  exception message or a log line.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from nacl.exceptions import CryptoError

from custody.canonical import canonical_bytes, parse_json_object
from custody.digests import sha256_hex
from custody.errors import FormatError, PassphraseError, SignatureError

PassphraseCallback = Callable[[str], str]
"""Called with a description of the key (e.g. ``key 'alice'``); returns the passphrase."""

KEY_FILE_TYPE = "custody/ed25519-private-key"
KEY_FILE_VERSION = 1
_AAD_PREFIX = b"custody/ed25519-private-key/v1\x00"
_PUBLIC_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters, stored in each key file so they can be raised later."""

    iterations: int = 3
    lanes: int = 4
    memory_kib: int = 64 * 1024

    def check(self) -> None:
        # Bounds stop a hostile key file from asking for absurd work or trivially weak keys.
        if not (1 <= self.iterations <= 64 and 1 <= self.lanes <= 64):
            raise FormatError(f"key file Argon2id parameters out of range: {self}")
        if not (8 * 1024 <= self.memory_kib <= 4 * 1024 * 1024):
            raise FormatError(f"key file Argon2id memory {self.memory_kib} KiB out of range")


@dataclass(frozen=True)
class Signature:
    """One signature: the signing key's id and the raw 64-byte Ed25519 signature."""

    key_id: str
    value: bytes


class PublicKey:
    """An Ed25519 public key. Construct with ``from_raw``, ``from_hex`` or ``from_pem``."""

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key
        self.raw: bytes = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id: str = sha256_hex(self.raw)
        self._verifier: Any = None  # a nacl.signing.VerifyKey, made on first verify

    @classmethod
    def from_raw(cls, raw: bytes) -> PublicKey:
        if len(raw) != 32:
            raise FormatError(f"Ed25519 public key must be 32 bytes, got {len(raw)}")
        return cls(Ed25519PublicKey.from_public_bytes(raw))

    @classmethod
    def from_hex(cls, text: str) -> PublicKey:
        if not isinstance(text, str) or not _PUBLIC_HEX.fullmatch(text):
            raise FormatError(f"public key must be 64 lowercase hex characters, got {text!r}")
        return cls.from_raw(bytes.fromhex(text))

    @classmethod
    def from_pem(cls, pem: bytes) -> PublicKey:
        try:
            key = serialization.load_pem_public_key(pem)
        except (ValueError, TypeError) as exc:
            raise FormatError(f"not a PEM public key: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise FormatError(f"PEM public key is {type(key).__name__}, expected Ed25519")
        return cls(key)

    @property
    def hex(self) -> str:
        return self.raw.hex()

    def to_pem(self) -> bytes:
        """PEM SubjectPublicKeyInfo, readable by ``openssl pkey -pubin``."""
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def verify(self, signature: bytes, data: bytes) -> None:
        """Verify an Ed25519 signature over ``data``.

        Raises:
            SignatureError: naming this key id, if the signature does not verify.
        """
        if len(signature) != 64:
            raise SignatureError(
                f"signature by key {self.key_id[:16]}... must be 64 bytes, got {len(signature)}"
            )
        if self._verifier is None:
            # libsodium (PyNaCl): twice as fast as OpenSSL's Ed25519 here, and strict (it refuses
            # non-canonical signatures and small-order keys), which a verifier of evidence wants.
            # Imported on first use: commands that only sign never pay for it.
            from nacl.signing import VerifyKey  # noqa: PLC0415

            self._verifier = VerifyKey(self.raw)
        try:
            self._verifier.verify(data, signature)
        except (CryptoError, ValueError, TypeError) as exc:
            raise SignatureError(f"signature by key {self.key_id[:16]}... does not verify") from exc

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"PublicKey(key_id={self.key_id[:16]}...)"


class Signer:
    """An Ed25519 private key able to sign. Never printed, never serialised unencrypted."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key = PublicKey(key.public_key())

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Signer:
        """A signer from its 32-byte RFC 8032 secret (for test vectors and key files)."""
        if len(seed) != 32:
            raise FormatError(f"Ed25519 seed must be 32 bytes, got {len(seed)}")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def key_id(self) -> str:
        return self.public_key.key_id

    def sign(self, data: bytes) -> Signature:
        return Signature(self.key_id, self._key.sign(data))

    def _seed(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id[:16]}...)"


def _derive(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    return Argon2id(
        salt=salt,
        length=32,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    ).derive(passphrase.encode("utf-8"))


def _b64decode(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise FormatError(f"key file field {what} must be base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"key file field {what} is not valid base64") from exc


def seal_secret(
    secret: bytes, passphrase: str, *, aad: bytes, params: KdfParams | None = None
) -> dict[str, Any]:
    """Encrypt ``secret`` under a passphrase (Argon2id + ChaCha20-Poly1305, ``aad`` bound in).

    Returns the ``kdf``, ``aead`` and ``ciphertext`` fields of a key file; every encrypted key
    file of custody (Ed25519 keys here, X.509 keys in ``custody.pki``) is made by this function.
    """
    if not passphrase:
        raise PassphraseError("an empty passphrase is not allowed for a signing key")
    params = params or KdfParams()
    params.check()
    salt = os.urandom(16)
    nonce = os.urandom(12)
    ciphertext = ChaCha20Poly1305(_derive(passphrase, salt, params)).encrypt(nonce, secret, aad)
    return {
        "kdf": {
            "name": "argon2id",
            "salt": base64.b64encode(salt).decode(),
            "iterations": params.iterations,
            "lanes": params.lanes,
            "memory_kib": params.memory_kib,
        },
        "aead": {"name": "chacha20-poly1305", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }


def open_secret(
    document: dict[str, Any], passphrase_callback: PassphraseCallback, *, aad: bytes, what: str
) -> bytes:
    """Decrypt the fields written by ``seal_secret``, asking ``passphrase_callback``.

    Raises:
        FormatError: the fields are malformed or name an unsupported algorithm.
        PassphraseError: the passphrase is wrong (or the file or its ``aad`` was altered).
    """
    kdf = document.get("kdf")
    aead = document.get("aead")
    if not isinstance(kdf, dict) or kdf.get("name") != "argon2id":
        raise FormatError(f"{what}: unsupported key derivation {kdf!r}")
    if not isinstance(aead, dict) or aead.get("name") != "chacha20-poly1305":
        raise FormatError(f"{what}: unsupported encryption {aead!r}")
    try:
        params = KdfParams(int(kdf["iterations"]), int(kdf["lanes"]), int(kdf["memory_kib"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{what}: malformed Argon2id parameters") from exc
    params.check()
    salt = _b64decode(kdf.get("salt"), "kdf.salt")
    nonce = _b64decode(aead.get("nonce"), "aead.nonce")
    ciphertext = _b64decode(document.get("ciphertext"), "ciphertext")
    if len(nonce) != 12 or len(salt) < 16:
        raise FormatError(f"{what}: nonce or salt has the wrong length")
    passphrase = passphrase_callback(what)
    try:
        return ChaCha20Poly1305(_derive(passphrase, salt, params)).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise PassphraseError(f"wrong passphrase for {what} (or the key file was altered)") from None


def encrypt_private_key(
    signer: Signer,
    passphrase: str,
    *,
    metadata: dict[str, str] | None = None,
    params: KdfParams | None = None,
) -> bytes:
    """Encrypt a signer's seed under a passphrase; returns the key file bytes (JSON).

    ``metadata`` (e.g. name and role) is stored in clear beside the ciphertext for display.
    """
    sealed = seal_secret(signer._seed(), passphrase, aad=_AAD_PREFIX + signer.public_key.raw, params=params)
    document = {
        "type": KEY_FILE_TYPE,
        "version": KEY_FILE_VERSION,
        "key_id": signer.key_id,
        "public_key": signer.public_key.hex,
        "metadata": dict(metadata or {}),
        **sealed,
    }
    return canonical_bytes(document) + b"\n"


def read_key_file_public(data: bytes, *, what: str = "key file") -> tuple[PublicKey, dict[str, Any]]:
    """Return the public key and clear metadata of a key file without decrypting it."""
    document = parse_json_object(data, what=what)
    if document.get("type") != KEY_FILE_TYPE or document.get("version") != KEY_FILE_VERSION:
        raise FormatError(
            f"{what} is not a custody key file version {KEY_FILE_VERSION} "
            f"(type={document.get('type')!r}, version={document.get('version')!r})"
        )
    public = PublicKey.from_hex(str(document.get("public_key", "")))
    if document.get("key_id") != public.key_id:
        raise FormatError(f"{what}: key_id does not match its public key")
    metadata = document.get("metadata", {})
    if not isinstance(metadata, dict):
        raise FormatError(f"{what}: metadata must be an object")
    return public, document


def decrypt_private_key(
    data: bytes, passphrase_callback: PassphraseCallback, *, what: str = "key file"
) -> Signer:
    """Decrypt a key file, asking ``passphrase_callback`` for the passphrase.

    Raises:
        FormatError: the file is not a custody key file.
        PassphraseError: the passphrase is wrong (or the file was altered).
    """
    public, document = read_key_file_public(data, what=what)
    seed = open_secret(document, passphrase_callback, aad=_AAD_PREFIX + public.raw, what=what)
    signer = Signer.from_seed(seed)
    if signer.public_key != public:
        raise PassphraseError(f"{what}: decrypted key does not match its public key")
    return signer


def fingerprint(key_id: str) -> str:
    """A short human-readable form of a key id: first 16 hex digits in groups of four."""
    head = key_id[:16]
    return ":".join(head[i : i + 4] for i in range(0, 16, 4))
