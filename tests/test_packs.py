"""Pack files: the small blobs of one bulk import in one file (custody.packs)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from custody import packs
from custody.errors import IntegrityError, StoreError
from custody.store import SMALL_BLOB, FileBlobStore


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    store = FileBlobStore(tmp_path / "blobs")
    store.create()
    return store


def _packs(store: FileBlobStore) -> list[Path]:
    return sorted((store.root / "packs").glob("*.pack"))


def _batch_of(store: FileBlobStore, contents: list[bytes]) -> list[str]:
    with store.batch():
        return [store.put_bytes(data).digest for data in contents]


def test_a_batch_packs_small_blobs_into_one_indexed_file(store: FileBlobStore) -> None:
    contents = [f"page {n}".encode() * (n + 1) for n in range(40)]
    digests = _batch_of(store, contents)
    assert digests == [hashlib.sha256(data).hexdigest() for data in contents]
    [pack] = _packs(store)
    assert pack.read_bytes() == b"".join(contents)  # the blobs, one after another
    assert pack.stat().st_mode & 0o222 == 0  # read-only once sealed
    index = pack.with_suffix(".idx").read_text().splitlines()
    assert index[0] == f"{digests[0]} 0 {len(contents[0])}"
    assert len(index) == 40
    assert not any((store.root / "sha256").iterdir())  # no file per blob
    for digest, data in zip(digests, contents, strict=True):
        assert store.exists(digest)
        assert store.read_bytes(digest) == data
        assert store.verify(digest) == len(data)
    assert set(store.iter_digests()) == set(digests)
    assert store.stray_temp_files() == []


def test_a_pack_is_handed_to_write_back_in_steps_and_reads_back_whole(
    store: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Write-back hints flush the pack's buffer mid-batch: every byte must still land where the
    # index says, and the hinted ranges must follow on from each other over what was written.
    hinted: list[tuple[int, int]] = []

    def record(fd: int, offset: int, length: int) -> None:
        assert os.fstat(fd).st_size >= offset + length  # the bytes are in the file, not a buffer
        hinted.append((offset, length))

    monkeypatch.setattr(packs, "WRITEBACK_BYTES", 1000)
    monkeypatch.setattr(packs, "start_writeback", record)
    contents = [os.urandom(300 + n) for n in range(20)]
    digests = _batch_of(store, contents)
    assert len(hinted) >= 5
    assert [offset for offset, _ in hinted] == [0] + [sum(step) for step in hinted[:-1]]
    for digest, data in zip(digests, contents, strict=True):
        assert store.read_bytes(digest) == data
    [pack] = _packs(store)
    assert pack.read_bytes() == b"".join(contents)


def test_a_large_blob_in_a_batch_stays_a_file_of_its_own(store: FileBlobStore) -> None:
    large = os.urandom(SMALL_BLOB + 1)
    [digest] = _batch_of(store, [large])
    assert store.path_for(digest).read_bytes() == large
    assert _packs(store) == []


def test_packed_blobs_are_not_packed_again(store: FileBlobStore) -> None:
    first = _batch_of(store, [b"alpha", b"beta"])
    with store.batch():
        again = [store.put_bytes(b"alpha"), store.put_bytes(b"gamma")]
    assert [blob.created for blob in again] == [False, True]
    assert store.put_bytes(b"beta").created is False  # outside a batch too
    assert sorted(store.iter_digests()) == sorted({*first, again[1].digest})
    assert sum(pack.stat().st_size for pack in _packs(store)) == len(b"alphabetagamma")


def test_a_failed_batch_leaves_no_pack_behind(store: FileBlobStore) -> None:
    def import_that_fails() -> str:
        with store.batch():
            digest = store.put_bytes(b"payload of a capture that then failed to parse").digest
            raise RuntimeError(f"parse failed after storing {digest}")

    with pytest.raises(RuntimeError, match="parse failed") as failure:
        import_that_fails()
    digest = str(failure.value).split()[-1]
    assert list((store.root / "packs").iterdir()) == []
    assert not store.exists(digest)
    assert store.stray_temp_files() == []


def test_a_pack_killed_before_its_index_is_a_stray_not_a_blob(store: FileBlobStore) -> None:
    digests = _batch_of(store, [b"sealed"])
    orphan = store.root / "packs" / "0123456789abcdef01234567.pack"
    orphan.write_bytes(b"bytes of a batch killed before it sealed")
    half = store.root / "packs" / "0123456789abcdef01234567.idx.tmp"
    half.write_text("half an index")
    assert store.stray_temp_files() == sorted([orphan, half])
    assert set(store.iter_digests()) == set(digests)


def test_a_changed_byte_in_a_pack_fails_the_blob_it_belongs_to(store: FileBlobStore) -> None:
    digests = _batch_of(store, [b"first exhibit", b"second exhibit"])
    [pack] = _packs(store)
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    data[len(b"first exhibit") + 3] ^= 0x01  # inside the second blob
    pack.write_bytes(bytes(data))
    assert store.verify(digests[0]) == len(b"first exhibit")
    with pytest.raises(
        IntegrityError, match=rf"blob {digests[1]} is corrupt: .*{pack.name}, 14 bytes at offset 13"
    ):
        store.verify(digests[1])


def test_a_cut_pack_reads_as_corrupt_not_short(store: FileBlobStore) -> None:
    digests = _batch_of(store, [b"first exhibit", b"second exhibit"])
    [pack] = _packs(store)
    pack.chmod(0o644)
    pack.write_bytes(pack.read_bytes()[:-4])
    with pytest.raises(IntegrityError, match=rf"blob {digests[1]} is corrupt: its pack .* is shorter"):
        store.read_bytes(digests[1])


def test_a_damaged_index_is_a_clear_error(store: FileBlobStore) -> None:
    _batch_of(store, [b"one", b"two"])
    [pack] = _packs(store)
    index = pack.with_suffix(".idx")
    index.chmod(0o644)
    index.write_text(index.read_text() + "not a line of an index\n")
    with pytest.raises(StoreError, match=rf"{index.name} is damaged at line 3"):
        FileBlobStore(store.root).exists("a" * 64)


def test_a_pack_sealed_by_another_process_is_found(store: FileBlobStore) -> None:
    reader = FileBlobStore(store.root)  # e.g. `custody verify` running while an import commits
    assert not reader.exists(hashlib.sha256(b"later").hexdigest())
    [digest] = _batch_of(store, [b"later"])
    assert reader.read_bytes(digest) == b"later"
