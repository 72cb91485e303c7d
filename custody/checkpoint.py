"""Checkpoints: C2SP tlog-checkpoint text in a C2SP signed-note, signed with Ed25519.

Formats (c2sp.org/tlog-checkpoint, c2sp.org/signed-note, golang.org/x/mod/sumdb/note):

    custody/<workspace-id>/<case-id>          origin
    1234                                      tree size, decimal, no leading zeros
    XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=    root hash, standard base64
                                              blank line: end of the note text
    — <key name> base64(key hash[4] || Ed25519 signature[64])

Invariants:
- The signed bytes are the note text exactly as received, including its final newline and
  excluding the separating blank line. Notes are kept and re-emitted as bytes; a text is never
  re-serialised before verifying.
- Parsing is strict: valid UTF-8, no ASCII control characters except newline (so no "\\r"),
  canonical base64, at most ``MAX_SIGNATURES`` signature lines, tree sizes without leading zeros.
  Malformed input is a ``FormatError`` naming the line and what is wrong with it.
- An Ed25519 note key is identified by its name and key hash = SHA-256(name || 0x0A || 0x01 ||
  public key)[:4]. A signature line whose (name, key hash) matches no known verifier is ignored,
  as the spec requires; one that matches and fails to verify rejects the whole note; a note with
  no verified signature is rejected (``SignatureError``).
- Cosigning appends a signature line; existing lines stay byte-identical.
- Functions that parse a checkpoint without verifying its signatures say so in their name
  (``_unverified_checkpoint``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from custody.errors import FormatError, IntegrityError, PolicyError, SignatureError
from custody.keys import PublicKey, Signer

SIGNATURE_PREFIX = "\u2014 "
"""Every signature line starts with an EM DASH (U+2014) and a space."""

ED25519_SIGNATURE_TYPE = 0x01
"""The signed-note signature type byte of Ed25519 keys."""

KEY_HASH_SIZE = 4
ED25519_SIGNATURE_SIZE = 64
ROOT_HASH_SIZE = 32
MAX_SIGNATURES = 100
"""Signature lines accepted per note (the spec requires at least 16; Go's note package uses 100)."""

MAX_NOTE_BYTES = 1 << 20
"""A bound on hostile input; real checkpoints are a few hundred bytes."""

MAX_TREE_SIZE = (1 << 64) - 1

_TREE_SIZE = re.compile(r"0|[1-9][0-9]*", re.ASCII)
_HEX_KEY_HASH = re.compile(r"[0-9a-fA-F]{8}", re.ASCII)


# --- shared checks -------------------------------------------------------------------------------


def _control_character(text: str) -> tuple[int, str] | None:
    """The (1-based line, character) of the first control character other than newline."""
    line = 1
    for char in text:
        if char == "\n":
            line += 1
        elif char < " ":
            return line, char
    return None


def _describe(char: str) -> str:
    names = {"\r": "carriage return", "\t": "tab", "\n": "newline", "\x00": "NUL"}
    return f"U+{ord(char):04X}" + (f" ({names[char]})" if char in names else "")


def _decode_utf8(data: bytes, what: str) -> str:
    if not isinstance(data, bytes):
        raise FormatError(f"{what} must be bytes, got {type(data).__name__}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{what} is not valid UTF-8 (byte {exc.start}: {exc.reason})") from None


def _encode_utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FormatError(f"{what} cannot be encoded as UTF-8: {exc.reason}") from None


def _check_key_name(name: str, what: str = "key name") -> None:
    if not isinstance(name, str) or not name:
        raise FormatError(f"{what} must be a non-empty string, got {name!r}")
    _encode_utf8(name, what)
    for char in name:
        if char.isspace() or char < " ":
            raise FormatError(
                f"{what} {name!r} contains {_describe(char)}; names have no spaces or control characters"
            )
        if char == "+":
            raise FormatError(f"{what} {name!r} contains '+'; names must not")


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode_canonical(text: str, what: str) -> bytes:
    # validate=True refuses characters outside the alphabet; comparing with the re-encoding also
    # refuses missing padding and non-zero trailing bits, so each value has exactly one spelling.
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError(f"{what} is not valid standard base64: {text[:80]!r}") from None
    if _b64encode(data) != text:
        raise FormatError(f"{what} is not canonical standard base64: {text[:80]!r}")
    return data


# --- keys ----------------------------------------------------------------------------------------


def note_key_hash(name: str, public_key: PublicKey) -> bytes:
    """The 4-byte signed-note key hash of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    _check_key_name(name)
    material = name.encode("utf-8") + b"\n" + bytes([ED25519_SIGNATURE_TYPE]) + public_key.raw
    return hashlib.sha256(material).digest()[:KEY_HASH_SIZE]


def verifier_key_string(name: str, public_key: PublicKey) -> str:
    """The verifier key in golang.org/x/mod/sumdb/note form: ``name+hash8hex+base64(0x01||key)``."""
    hashed = note_key_hash(name, public_key)
    return f"{name}+{hashed.hex()}+{_b64encode(bytes([ED25519_SIGNATURE_TYPE]) + public_key.raw)}"


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted note key: a key name and an Ed25519 public key."""

    name: str
    public_key: PublicKey

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if not isinstance(self.public_key, PublicKey):
            raise FormatError(
                f"note verifier {self.name!r} needs a PublicKey, got {type(self.public_key).__name__}"
            )

    @property
    def key_hash(self) -> bytes:
        return note_key_hash(self.name, self.public_key)

    @property
    def label(self) -> str:
        """``name+hash``, as the Go note package names keys in its errors."""
        return f"{self.name}+{self.key_hash.hex()}"

    def to_string(self) -> str:
        return verifier_key_string(self.name, self.public_key)

    @classmethod
    def from_string(cls, text: str) -> NoteVerifier:
        """Parse ``name+hash+base64(0x01 || key)`` (golang.org/x/mod/sumdb/note verifier key).

        Raises:
            FormatError: malformed, not Ed25519, or the key hash does not match name and key.
        """
        what = f"verifier key {text[:120]!r}"
        name, _, rest = text.partition("+")
        hash_hex, _, key_b64 = rest.partition("+")
        if not name or not hash_hex or not key_b64:
            raise FormatError(f"{what} is not of the form name+keyhash+base64key")
        _check_key_name(name, f"{what}: key name")
        if not _HEX_KEY_HASH.fullmatch(hash_hex):
            raise FormatError(f"{what}: key hash {hash_hex!r} is not 8 hex digits")
        material = _b64decode_canonical(key_b64, f"{what}: key")
        if not material or material[0] != ED25519_SIGNATURE_TYPE:
            kind = f"0x{material[0]:02x}" if material else "missing"
            raise FormatError(f"{what}: signature type {kind} is not Ed25519 (0x01)")
        if len(material) != 1 + 32:
            raise FormatError(f"{what}: Ed25519 key is {len(material) - 1} bytes, expected 32")
        verifier = cls(name, PublicKey.from_raw(material[1:]))
        if verifier.key_hash != bytes.fromhex(hash_hex):
            raise FormatError(
                f"{what}: key hash {hash_hex.lower()} does not match the name and key "
                f"(computed {verifier.key_hash.hex()})"
            )
        return verifier


Verifiers: TypeAlias = Mapping[str, PublicKey] | Iterable[NoteVerifier | tuple[str, PublicKey]]
"""Trusted keys: a mapping name -> key, or (name, key) pairs / ``NoteVerifier``s (which allow
several keys under one name, e.g. across a key rotation)."""


def _verifier_table(verifiers: Verifiers) -> dict[tuple[str, bytes], NoteVerifier]:
    items: Iterable[NoteVerifier | tuple[str, PublicKey]]
    items = verifiers.items() if isinstance(verifiers, Mapping) else verifiers
    table: dict[tuple[str, bytes], NoteVerifier] = {}
    for item in items:
        verifier = item if isinstance(item, NoteVerifier) else NoteVerifier(*item)
        key = (verifier.name, verifier.key_hash)
        known = table.get(key)
        if known is not None and known.public_key != verifier.public_key:
            raise SignatureError(
                f"two different trusted keys share the name and key hash {verifier.label}; "
                "signatures by them would be ambiguous"
            )
        table[key] = verifier
    return table


# --- signed notes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key hash and the signature bytes."""

    name: str
    key_hash: bytes
    signature: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if not isinstance(self.key_hash, bytes) or len(self.key_hash) != KEY_HASH_SIZE:
            raise FormatError(f"key hash of signature by {self.name!r} must be 4 bytes")
        if not isinstance(self.signature, bytes) or not self.signature:
            raise FormatError(f"signature by {self.name!r} is empty")

    @property
    def label(self) -> str:
        return f"{self.name}+{self.key_hash.hex()}"

    def to_line(self) -> bytes:
        """``— name base64(key hash || signature)\\n`` as UTF-8 bytes."""
        line = f"{SIGNATURE_PREFIX}{self.name} {_b64encode(self.key_hash + self.signature)}\n"
        return line.encode("utf-8")

    @classmethod
    def from_line(cls, line: str, *, number: int = 1) -> NoteSignature:
        """Parse one signature line (without its newline); ``number`` names it in errors."""
        what = f"signature line {number}"
        if not line.startswith(SIGNATURE_PREFIX):
            raise FormatError(f"{what} does not start with an em dash (U+2014) and a space: {line[:40]!r}")
        name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not space:
            raise FormatError(f"{what} has no space between the key name and the signature")
        _check_key_name(name, f"{what}: key name")
        if not encoded:
            raise FormatError(f"{what} ({name}) has an empty signature")
        data = _b64decode_canonical(encoded, f"{what} ({name}): signature")
        if len(data) <= KEY_HASH_SIZE:
            raise FormatError(
                f"{what} ({name}): signature decodes to {len(data)} bytes, expected a 4-byte "
                "key hash followed by the signature"
            )
        return cls(name, data[:KEY_HASH_SIZE], data[KEY_HASH_SIZE:])


def _check_note_text(text: bytes, what: str = "note text") -> str:
    decoded = _decode_utf8(text, what)
    if not decoded:
        raise FormatError(f"{what} is empty")
    if not decoded.endswith("\n"):
        raise FormatError(f"{what} does not end with a newline")
    found = _control_character(decoded)
    if found is not None:
        line, char = found
        raise FormatError(f"{what} line {line} contains control character {_describe(char)}")
    return decoded


@dataclass(frozen=True)
class SignedNote:
    """A C2SP signed note: the exact text bytes and one or more signature lines."""

    text: bytes
    signatures: tuple[NoteSignature, ...]

    def __post_init__(self) -> None:
        _check_note_text(self.text)
        if not isinstance(self.signatures, tuple):
            object.__setattr__(self, "signatures", tuple(self.signatures))
        if not self.signatures:
            raise FormatError("a signed note needs at least one signature line")
        if len(self.signatures) > MAX_SIGNATURES:
            raise FormatError(
                f"signed note has {len(self.signatures)} signature lines, at most "
                f"{MAX_SIGNATURES} are allowed"
            )
        for signature in self.signatures:
            if not isinstance(signature, NoteSignature):
                raise FormatError(f"not a NoteSignature: {type(signature).__name__}")

    def to_bytes(self) -> bytes:
        """Text, blank line, signature lines: the note as it is stored and exchanged."""
        return self.text + b"\n" + b"".join(signature.to_line() for signature in self.signatures)

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedNote:
        """Parse a signed note strictly (signatures are not verified here; see ``verify_note``).

        Raises:
            FormatError: naming what is malformed (encoding, control character, missing blank
                line, a bad signature line, too many signatures).
        """
        if isinstance(data, bytes) and len(data) > MAX_NOTE_BYTES:
            raise FormatError(f"signed note is {len(data)} bytes, more than the {MAX_NOTE_BYTES} allowed")
        decoded = _decode_utf8(data, "signed note")
        found = _control_character(decoded)
        if found is not None:
            line, char = found
            raise FormatError(
                f"signed note line {line} contains control character {_describe(char)}; "
                "only newline is allowed"
            )
        # The text ends at the last blank line: the text may hold blank lines, signatures cannot.
        split = data.rfind(b"\n\n")
        if split < 0:
            raise FormatError("signed note has no blank line between the text and the signatures")
        text, block = data[: split + 1], data[split + 2 :]
        if not block:
            raise FormatError("signed note has no signature lines after the blank line")
        if not block.endswith(b"\n"):
            raise FormatError("signed note's last signature line does not end with a newline")
        lines = block[:-1].decode("utf-8").split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise FormatError(
                f"signed note has {len(lines)} signature lines, at most {MAX_SIGNATURES} are allowed"
            )
        signatures = tuple(
            NoteSignature.from_line(line, number=number) for number, line in enumerate(lines, 1)
        )
        return cls(text, signatures)


def _signature_for(text: bytes, name: str, signer: Signer) -> NoteSignature:
    _check_note_text(text)
    key_hash = note_key_hash(name, signer.public_key)
    return NoteSignature(name, key_hash, signer.sign(text).value)


def sign_note(text: bytes, name: str, signer: Signer) -> SignedNote:
    """Sign ``text`` (ending in a newline) as note key ``name``.

    For a checkpoint the key name SHOULD be the origin line (c2sp.org/tlog-checkpoint).
    """
    return SignedNote(text, (_signature_for(text, name, signer),))


def add_signature(note: SignedNote, name: str, signer: Signer) -> SignedNote:
    """Cosign: append a signature line by ``signer``; existing lines stay byte-identical.

    Adding the same key's signature again returns the note unchanged (Ed25519 is deterministic).
    This does not verify the existing signatures: a cosigner checks the note with ``verify_note``
    (and any consistency proof) before calling this.

    Raises:
        PolicyError: the note already carries a different signature line for this key, or has
            ``MAX_SIGNATURES`` lines.
    """
    added = _signature_for(note.text, name, signer)
    for existing in note.signatures:
        if (existing.name, existing.key_hash) == (added.name, added.key_hash):
            if existing == added:
                return note
            raise PolicyError(f"note already carries a different signature line for key {added.label}")
    if len(note.signatures) >= MAX_SIGNATURES:
        raise PolicyError(f"note already has {MAX_SIGNATURES} signatures; no more can be added")
    return SignedNote(note.text, (*note.signatures, added))


def verify_note(note: SignedNote, verifiers: Verifiers) -> list[str]:
    """Verify the signatures of ``note`` made by known keys; returns the names that verified.

    Signature lines by unknown keys (name and key hash not both matching a verifier) are
    ignored. Every line by a known key is verified, duplicates included.

    Raises:
        SignatureError: a signature by a known key does not verify, or none is by a known key.
    """
    table = _verifier_table(verifiers)
    verified: list[str] = []
    # 1. Each signature line by a known key verifies over the exact text bytes.
    for number, signature in enumerate(note.signatures, 1):
        verifier = table.get((signature.name, signature.key_hash))
        if verifier is None:
            continue
        if len(signature.signature) != ED25519_SIGNATURE_SIZE:
            raise SignatureError(
                f"signature line {number} by {signature.label} is {len(signature.signature)} "
                f"bytes, expected a {ED25519_SIGNATURE_SIZE}-byte Ed25519 signature"
            )
        try:
            verifier.public_key.verify(signature.signature, note.text)
        except SignatureError:
            raise SignatureError(
                f"signature line {number} by {signature.label} does not verify over the note text"
            ) from None
        if signature.name not in verified:
            verified.append(signature.name)
    # 2. At least one known key signed.
    if not verified:
        present = ", ".join(signature.label for signature in note.signatures)
        known = ", ".join(sorted(v.label for v in table.values())) or "none"
        raise SignatureError(
            f"no signature on the note is by a trusted key: signed by {present}; trusted: {known}",
            hint="check that the checkpoint comes from this log and that its key is trusted",
        )
    return verified


# --- checkpoints ---------------------------------------------------------------------------------


def _check_line(value: str, what: str) -> None:
    if not isinstance(value, str):
        raise FormatError(f"{what} must be text, got {type(value).__name__}")
    if not value:
        raise FormatError(f"{what} is empty")
    _encode_utf8(value, what)
    for char in value:
        if char < " ":
            raise FormatError(f"{what} contains {_describe(char)}")


@dataclass(frozen=True)
class Checkpoint:
    """A tlog-checkpoint body: origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "checkpoint origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise FormatError(f"checkpoint tree size must be an integer, got {self.size!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise FormatError(f"checkpoint tree size {self.size} is outside 0..2**64-1")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != ROOT_HASH_SIZE:
            length = len(self.root_hash) if isinstance(self.root_hash, bytes) else "not"
            raise FormatError(f"checkpoint root hash is {length} bytes, expected {ROOT_HASH_SIZE} (SHA-256)")
        if not isinstance(self.extensions, tuple):
            object.__setattr__(self, "extensions", tuple(self.extensions))
        for number, extension in enumerate(self.extensions, 4):
            _check_line(extension, f"checkpoint line {number} (extension)")

    def to_text(self) -> bytes:
        """The note text: one line each for origin, size, base64 root and extensions."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(f"{line}\n" for line in lines).encode("utf-8")

    @classmethod
    def from_text(cls, text: bytes) -> Checkpoint:
        """Parse a checkpoint note text strictly.

        Raises:
            FormatError: naming the line that is malformed and how.
        """
        decoded = _decode_utf8(text, "checkpoint text")
        if not decoded.endswith("\n"):
            raise FormatError("checkpoint text does not end with a newline")
        lines = decoded[:-1].split("\n")
        if len(lines) < 3:
            raise FormatError(
                f"checkpoint text has {len(lines)} line(s), expected at least 3 "
                "(origin, tree size, root hash)"
            )
        names = ["origin", "tree size", "root hash"]
        for number, line in enumerate(lines, 1):
            label = names[number - 1] if number <= 3 else "extension"
            _check_line(line, f"checkpoint line {number} ({label})")
        origin, size_text, root_text, *extensions = lines
        if not _TREE_SIZE.fullmatch(size_text):
            raise FormatError(
                f"checkpoint line 2 (tree size) {size_text[:40]!r} is not a decimal number "
                "without leading zeros"
            )
        if len(size_text) > len(str(MAX_TREE_SIZE)):
            raise FormatError(
                f"checkpoint line 2 (tree size) has {len(size_text)} digits; sizes end at 2**64-1"
            )
        size = int(size_text)
        if size > MAX_TREE_SIZE:
            raise FormatError(f"checkpoint line 2 (tree size) {size_text} is larger than 2**64-1")
        root_hash = _b64decode_canonical(root_text, "checkpoint line 3 (root hash)")
        if len(root_hash) != ROOT_HASH_SIZE:
            raise FormatError(
                f"checkpoint line 3 (root hash) decodes to {len(root_hash)} bytes, "
                f"expected {ROOT_HASH_SIZE} (SHA-256)"
            )
        return cls(origin, size, root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, name: str, signer: Signer) -> SignedNote:
    """Sign a checkpoint as note key ``name`` (which SHOULD equal the origin)."""
    return sign_note(checkpoint.to_text(), name, signer)


def _unverified_checkpoint(note_bytes: bytes) -> tuple[SignedNote, Checkpoint]:
    """Parse a signed checkpoint WITHOUT verifying any signature (for display and diagnostics)."""
    note = SignedNote.from_bytes(note_bytes)
    return note, Checkpoint.from_text(note.text)


def open_checkpoint(note_bytes: bytes, verifiers: Verifiers, *, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint, then parse it.

    Args:
        note_bytes: the signed note exactly as stored or received.
        verifiers: the trusted keys (see ``verify_note``).
        origin: when given, the checkpoint must be for this log; a key that signs checkpoints of
            several logs could otherwise vouch for the wrong one.

    Raises:
        FormatError: the note or the checkpoint text is malformed.
        SignatureError: no trusted signature, or a trusted key's signature fails.
        IntegrityError: the checkpoint is for another origin.
    """
    note = SignedNote.from_bytes(note_bytes)
    verify_note(note, verifiers)
    checkpoint = Checkpoint.from_text(note.text)
    if origin is not None and checkpoint.origin != origin:
        raise IntegrityError(f"checkpoint is for log {checkpoint.origin!r}, expected {origin!r}")
    return checkpoint
