"""The write-once, content-addressed blob store."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from custody.errors import InputFileError, IntegrityError, NotFoundError
from custody.store import FileBlobStore


class CountingStream(io.RawIOBase):
    """A readable stream that counts how many bytes were read from it."""

    def __init__(self, data: bytes, fail_after: int | None = None) -> None:
        self._inner = io.BytesIO(data)
        self.bytes_read = 0
        self.fail_after = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.fail_after is not None and self.bytes_read >= self.fail_after:
            raise OSError(5, "simulated I/O error")
        count = self._inner.readinto(buffer)
        self.bytes_read += count
        return count


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    store = FileBlobStore(tmp_path / "blobs")
    store.create()
    return store


def test_put_hashes_while_copying_in_one_read(store: FileBlobStore) -> None:
    data = os.urandom(9 * 1024 * 1024 + 17)  # spans several copy chunks
    stream = CountingStream(data)
    stored = store.put_stream(stream)  # type: ignore[arg-type]
    assert stored.digest == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    assert stored.created
    assert stream.bytes_read == len(data)  # every byte read exactly once
    assert store.path_for(stored.digest).read_bytes() == data


def test_blobs_are_write_once_and_read_only(store: FileBlobStore) -> None:
    first = store.put_bytes(b"evidence")
    second = store.put_bytes(b"evidence")
    assert first.digest == second.digest
    assert first.created
    assert not second.created
    mode = stat.S_IMODE(store.path_for(first.digest).stat().st_mode)
    assert mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0
    assert store.stray_temp_files() == []


def test_a_batch_stores_small_blobs_once_and_never_rewrites_stored_ones(store: FileBlobStore) -> None:
    already = store.put_bytes(b"stored before the batch")
    before = store.path_for(already.digest).stat()
    contents = [f"payload {n}".encode() for n in range(150)]
    with store.batch() as batch:
        stored = [store.put_bytes(data) for data in [*contents, *contents[:5]]]
        again = store.put_bytes(b"stored before the batch")
        batch.flush()
    assert [s.created for s in stored] == [True] * 150 + [False] * 5  # repeats within the batch
    for blob, data in zip(stored, contents, strict=False):
        assert store.read_bytes(blob.digest) == data
    assert not again.created
    after = store.path_for(already.digest).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten
    assert store.stray_temp_files() == []


def test_failed_write_leaves_no_blob_and_no_temp_file(store: FileBlobStore) -> None:
    stream = CountingStream(os.urandom(10 * 1024 * 1024), fail_after=4 * 1024 * 1024)
    with pytest.raises(Exception, match="simulated I/O error"):
        store.put_stream(stream)  # type: ignore[arg-type]
    assert list(store.iter_digests()) == []
    assert store.stray_temp_files() == []


def test_read_rehashes_and_names_a_corrupted_blob(store: FileBlobStore) -> None:
    stored = store.put_bytes(b"the original bytes of an exhibit")
    path = store.path_for(stored.digest)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[5] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=f"blob {stored.digest} is corrupt"):
        store.read_bytes(stored.digest)
    with pytest.raises(IntegrityError, match=stored.digest):
        store.verify(stored.digest)
    assert store.read_bytes(stored.digest, verify=False) == bytes(data)


def test_copy_out_removes_a_partial_copy_of_a_corrupt_blob(store: FileBlobStore, tmp_path: Path) -> None:
    stored = store.put_bytes(b"x" * 100)
    path = store.path_for(stored.digest)
    path.chmod(0o644)
    path.write_bytes(b"y" * 100)
    destination = tmp_path / "out.bin"
    with pytest.raises(IntegrityError):
        store.copy_out(stored.digest, destination)
    assert not destination.exists()


def test_missing_blob_and_missing_input(store: FileBlobStore, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="not in the store"):
        store.read_bytes("a" * 64)
    with pytest.raises(InputFileError, match=r"nope\.bin"):
        store.put_file(tmp_path / "nope.bin")


def test_path_rejects_non_digests(store: FileBlobStore) -> None:
    with pytest.raises(Exception, match="64 lowercase hex"):
        store.path_for("../../etc/passwd")
