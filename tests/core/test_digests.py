"""SHA-256 digests: known answers, streaming, strict lowercase hex, in-toto digest sets."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.digests import (
    check_sha256_hex,
    digest_set,
    is_sha256_hex,
    sha256_chunks,
    sha256_file,
    sha256_hex,
    sha256_stream,
)
from custody.errors import FormatError, InputFileError

# FIPS 180-2 appendix B known answers.
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
ABC_448 = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
MILLION_A = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"


def test_known_answers() -> None:
    assert sha256_hex(b"") == EMPTY
    assert sha256_hex(b"abc") == ABC
    assert sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == ABC_448


def test_stream_across_chunks() -> None:
    digest, size = sha256_stream(io.BytesIO(b"a" * 1_000_000), chunk_size=4096)
    assert (digest, size) == (MILLION_A, 1_000_000)


def test_chunks() -> None:
    assert sha256_chunks([b"a", b"", b"bc"]) == ABC


def test_file(tmp_path: Path) -> None:
    path = tmp_path / "exhibit.bin"
    path.write_bytes(b"a" * 1_000_000)
    assert sha256_file(path) == (MILLION_A, 1_000_000)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert sha256_file(empty) == (EMPTY, 0)


def test_missing_file_is_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.bin"
    with pytest.raises(InputFileError, match=r"nope\.bin") as caught:
        sha256_file(missing)
    assert caught.value.exit_code == 3


def test_directory_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot read"):
        sha256_file(tmp_path)


@given(st.binary(max_size=5000), st.integers(min_value=1, max_value=700))
def test_stream_equals_one_shot(data: bytes, chunk_size: int) -> None:
    assert sha256_stream(io.BytesIO(data), chunk_size=chunk_size) == (sha256_hex(data), len(data))


@pytest.mark.parametrize(
    "value",
    [
        ABC.upper(),
        ABC[:-1],
        ABC + "0",
        ABC + "\n",  # "$" in a regex also matches before a final newline
        "\n" + ABC,
        " " + ABC,
        "sha256:" + ABC,
        ABC[:-1] + "g",
        "",
        None,
        42,
        ABC.encode(),
    ],
    ids=[
        "upper",
        "short",
        "long",
        "trailing newline",
        "leading newline",
        "space",
        "prefixed",
        "non-hex",
        "empty",
        "None",
        "int",
        "bytes",
    ],
)
def test_bad_digests_rejected(value: object) -> None:
    assert not is_sha256_hex(value)
    with pytest.raises(FormatError, match="parent digest must be 64 lowercase hex"):
        check_sha256_hex(value, what="parent digest")


def test_good_digest_accepted() -> None:
    assert is_sha256_hex(ABC)
    assert check_sha256_hex(ABC) == ABC


def test_digest_set() -> None:
    assert digest_set(ABC) == {"sha256": ABC}
    with pytest.raises(FormatError):
        digest_set(ABC.upper())
