"""SHA-256 digests: lowercase hex, in-toto digest sets, streaming over files.

Invariant: a digest in custody is always 64 lowercase hex characters of SHA-256; anything else is
rejected by ``check_sha256_hex`` before it reaches a record.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from custody.errors import FormatError, InputFileError

CHUNK_SIZE = 1 << 20
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_stream(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> tuple[str, int]:
    """Hash a binary stream to its end. Returns (hex digest, number of bytes)."""
    hasher = hashlib.sha256()
    size = 0
    while chunk := stream.read(chunk_size):
        hasher.update(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


def sha256_chunks(chunks: Iterable[bytes]) -> str:
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
    return hasher.hexdigest()


def sha256_file(path: Path) -> tuple[str, int]:
    """Hash a file in one streaming pass. Returns (hex digest, size in bytes)."""
    try:
        with path.open("rb") as stream:
            return sha256_stream(stream)
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from exc


def is_sha256_hex(value: object) -> bool:
    return isinstance(value, str) and bool(_SHA256_HEX.fullmatch(value))


def check_sha256_hex(value: object, *, what: str = "digest") -> str:
    """Return ``value`` if it is a lowercase hex SHA-256 digest, else raise FormatError."""
    if not is_sha256_hex(value):
        raise FormatError(f"{what} must be 64 lowercase hex characters (SHA-256), got {value!r}")
    assert isinstance(value, str)
    return value


def digest_set(hex_digest: str) -> dict[str, str]:
    """The in-toto DigestSet for a SHA-256 digest: ``{"sha256": hex}``."""
    return {"sha256": check_sha256_hex(hex_digest)}
