"""Public keys and raw signatures are checkable with the openssl command line alone (DESIGN.md:
a defence expert verifies ``tagmanifest-sha256.txt.sig`` with ``openssl pkeyutl -verify -rawin``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from custody.keys import Signer

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")

RFC8032_TEST1_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
RFC8032_TEST1_SECRET = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], capture_output=True, text=True, check=False, timeout=30)


def verify_with_openssl(pem: Path, data: Path, sig: Path) -> subprocess.CompletedProcess[str]:
    return openssl(
        "pkeyutl", "-verify", "-pubin", "-inkey", str(pem), "-rawin", "-in", str(data), "-sigfile", str(sig)
    )


@pytest.fixture
def signed_file(tmp_path: Path, alice: Signer) -> tuple[Path, Path, Path]:
    pem = tmp_path / "alice.pem"
    pem.write_bytes(alice.public_key.to_pem())
    data = tmp_path / "tagmanifest-sha256.txt"
    data.write_bytes(b"0" * 64 + b"  bagit.txt\n" + b"1" * 64 + b"  data/exhibits.json\n")
    sig = tmp_path / "tagmanifest-sha256.txt.sig"
    sig.write_bytes(alice.sign(data.read_bytes()).value)
    return pem, data, sig


def test_openssl_reads_our_pem(tmp_path: Path) -> None:
    pem = tmp_path / "key.pem"
    pem.write_bytes(Signer.from_seed(bytes.fromhex(RFC8032_TEST1_SECRET)).public_key.to_pem())
    result = openssl("pkey", "-pubin", "-in", str(pem), "-noout", "-text")
    assert result.returncode == 0, result.stderr
    assert "ED25519 Public-Key" in result.stdout
    # openssl prints the raw key as colon-separated hex over several lines.
    printed = "".join(c for c in result.stdout.split("pub:", 1)[1] if c in "0123456789abcdef")
    assert printed == RFC8032_TEST1_PUBLIC


def test_openssl_verifies_raw_signature(signed_file: tuple[Path, Path, Path]) -> None:
    pem, data, sig = signed_file
    result = verify_with_openssl(pem, data, sig)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Signature Verified Successfully" in result.stdout


@pytest.mark.parametrize("position", [0, -1])
def test_openssl_rejects_changed_file(signed_file: tuple[Path, Path, Path], position: int) -> None:
    pem, data, sig = signed_file
    content = bytearray(data.read_bytes())
    content[position] ^= 0x01
    data.write_bytes(bytes(content))
    assert verify_with_openssl(pem, data, sig).returncode != 0


def test_openssl_rejects_signature_by_another_key(
    signed_file: tuple[Path, Path, Path], mallory: Signer
) -> None:
    pem, data, sig = signed_file
    sig.write_bytes(mallory.sign(data.read_bytes()).value)
    assert verify_with_openssl(pem, data, sig).returncode != 0
