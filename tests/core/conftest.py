"""Fixtures for the pure-core tests: fixed keys (from seeds) and fast Argon2id parameters."""

from __future__ import annotations

import hashlib

import pytest

from custody.keys import KdfParams, Signer

# The smallest parameters KdfParams.check() accepts: key-file tests stay fast. One test in
# test_key_files.py uses the defaults.
FAST_KDF = KdfParams(iterations=1, lanes=1, memory_kib=8 * 1024)


def _signer(name: str) -> Signer:
    return Signer.from_seed(hashlib.sha256(f"custody core tests: {name}".encode()).digest())


@pytest.fixture
def alice() -> Signer:
    return _signer("alice")


@pytest.fixture
def bob() -> Signer:
    return _signer("bob")


@pytest.fixture
def mallory() -> Signer:
    return _signer("mallory")


@pytest.fixture
def fast_kdf() -> KdfParams:
    return FAST_KDF
