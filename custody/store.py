"""Content-addressed, write-once blob store on the local file system.

Layout: ``<root>/sha256/<first two hex>/<full digest>``; temporary files in ``<root>/tmp``.

Invariants:
- A blob's path is derived from the SHA-256 of its bytes, computed while copying (the input is
  read exactly once).
- Writes are atomic: temp file in the same file system, fsync, rename, fsync of the directory.
  A crash leaves either no blob or a complete one (plus, at worst, a stray temp file). Inside
  ``batch()`` the fsyncs are replaced by one sync of the file system when the block ends: bulk
  importers store thousands of payloads, and the ledger entries naming them commit only after.
- Write-once: an existing blob is never overwritten; stored files are made read-only.
- ``open_verified`` / ``read_bytes(verify=True)`` re-hash on read and raise ``IntegrityError``
  naming the digest when the bytes on disk no longer match.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from custody.digests import CHUNK_SIZE, check_sha256_hex
from custody.errors import InputFileError, IntegrityError, NotFoundError, StoreError

COPY_CHUNK = 4 * CHUNK_SIZE


@dataclass(frozen=True)
class StoredBlob:
    digest: str
    size: int
    created: bool  # False when identical content was already stored


class ProgressReader(io.RawIOBase):
    """Wraps a binary stream and reports how many bytes each read returned (for progress bars)."""

    def __init__(self, raw: BinaryIO, callback: Callable[[int], None]) -> None:
        super().__init__()
        self._raw = raw
        self._callback = callback

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if count:
            self._callback(count)
        return int(count or 0)

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if data:
            self._callback(len(data))
        return data


def verified_chunks(chunks: Iterable[bytes], digest: str, where: str) -> Iterator[bytes]:
    """Pass ``chunks`` through; after the last one, raise ``IntegrityError`` naming ``digest`` and
    ``where`` if they did not hash to ``digest`` (shared by every blob store)."""
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk
    observed = hasher.hexdigest()
    if observed != digest:
        raise IntegrityError(f"blob {digest} is corrupt: its bytes now hash to {observed} ({where})")


def write_verified_copy(chunks: Iterator[bytes], destination: Path) -> None:
    """Write ``chunks`` (from a store's ``iter_verified``) to a new file; if they turn out not to
    hash to their digest, the partial copy is removed and the ``IntegrityError`` propagates."""
    try:
        with destination.open("xb") as out:
            for chunk in chunks:
                out.write(chunk)
    except IntegrityError:
        destination.unlink(missing_ok=True)
        raise


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _syncfs(path: Path) -> bool:
    """Flush the whole file system holding ``path`` to disk (Linux ``syncfs``, which waits for the
    writes); False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error))
    finally:
        os.close(fd)
    return True


class FileBlobStore:
    """Blobs as files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._local = threading.local()  # the open batch of this thread, if any

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Store many blobs and make them durable together when the block ends (one file-system
        sync instead of two fsyncs per blob). Until then, a blob stored inside the block may not
        survive a power cut: commit nothing that names it before the block has ended."""
        if getattr(self._local, "written", None) is not None:
            yield  # nested: the outer block syncs
            return
        written: list[Path] = []
        self._local.written = written
        try:
            yield
            try:
                if written and not _syncfs(self.root):
                    for path in written:
                        _fsync_path(path)
                    for folder in {path.parent for path in written}:
                        _fsync_path(folder)
            except OSError as exc:
                raise StoreError(f"cannot sync blob store {self.root}: {exc.strerror or exc}") from exc
        finally:
            self._local.written = None

    def create(self) -> None:
        (self.root / "sha256").mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, digest: str) -> Path:
        check_sha256_hex(digest)
        return self.root / "sha256" / digest[:2] / digest

    def exists(self, digest: str) -> bool:
        return self.path_for(digest).is_file()

    def put_stream(self, stream: BinaryIO) -> StoredBlob:
        """Copy a stream into the store, hashing as it goes (one read of the input).

        Each chunk is read once into one buffer; for large chunks a writer thread writes it while
        this thread hashes it (hashlib and os.write release the GIL), and the buffer is reused only
        once both are done. Small inputs never start the thread. Written chunks are handed to the
        kernel's write-back early (posix_fadvise), so the final fsync overlaps with the copy
        (not inside ``batch()``: thousands of small write-backs would only slow the file system)."""
        hasher = hashlib.sha256()
        size = 0
        batch: list[Path] | None = getattr(self._local, "written", None)
        self._tmp.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix="incoming-", dir=self._tmp)
        tmp_path = Path(tmp_name)

        def write_all(data: memoryview, offset: int) -> None:
            length = len(data)
            while data:
                data = data[os.write(fd, data) :]
            if batch is None and hasattr(os, "posix_fadvise"):
                # A hint: start writing this chunk back now (Linux does so for dirty pages), so that
                # the fsync below has little left to wait for. Durability still rests on that fsync.
                with suppress(OSError):
                    os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)

        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                buffer = bytearray(COPY_CHUNK)
                view = memoryview(buffer)
                writer: ThreadPoolExecutor | None = None
                try:
                    while count := stream.readinto(view):  # type: ignore[attr-defined]
                        chunk = view[:count]
                        if writer is None and count < CHUNK_SIZE:
                            hasher.update(chunk)
                            write_all(chunk, size)
                        else:
                            if writer is None:
                                writer = ThreadPoolExecutor(1, thread_name_prefix="custody-store")
                            written = writer.submit(write_all, chunk, size)
                            hasher.update(chunk)  # while the writer thread writes the same bytes
                            written.result()  # raises the writer's OSError; frees the buffer
                        size += count
                finally:
                    if writer is not None:
                        writer.shutdown()
                if batch is None:
                    os.fsync(out.fileno())
            digest = hasher.hexdigest()
            final = self.path_for(digest)
            if final.exists():
                tmp_path.unlink()
                return StoredBlob(digest, size, created=False)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp_path, 0o444)
            os.replace(tmp_path, final)
            if batch is None:
                _fsync_path(final.parent)
            else:
                batch.append(final)
            return StoredBlob(digest, size, created=True)
        except OSError as exc:
            raise StoreError(f"cannot write to blob store {self.root}: {exc.strerror or exc}") from exc
        finally:
            if tmp_path.exists():
                tmp_path.unlink()

    def put_file(self, path: Path, progress: Callable[[int], None] | None = None) -> StoredBlob:
        """Store a file's bytes; ``progress`` is called with the size of each chunk read."""
        try:
            stream = path.open("rb", buffering=0)
        except OSError as exc:
            raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
        with stream:
            source: BinaryIO = ProgressReader(stream, progress) if progress else stream  # type: ignore[assignment]
            return self.put_stream(source)

    def put_bytes(self, data: bytes) -> StoredBlob:
        return self.put_stream(io.BytesIO(data))

    @contextmanager
    def open_raw(self, digest: str) -> Iterator[BinaryIO]:
        """Open a blob without re-hashing (callers that verify use ``open_verified``)."""
        path = self.path_for(digest)
        try:
            stream = path.open("rb")
        except FileNotFoundError:
            raise NotFoundError(f"blob {digest} is not in the store {self.root}") from None
        with stream:
            yield stream

    def iter_verified(self, digest: str) -> Iterator[bytes]:
        """Yield a blob's chunks; after the last one, raise IntegrityError if they did not hash to
        ``digest``. Callers must not treat the bytes as good until the iterator is exhausted."""
        with self.open_raw(digest) as stream:
            yield from verified_chunks(
                iter(lambda: stream.read(COPY_CHUNK), b""), digest, str(self.path_for(digest))
            )

    def verify(self, digest: str) -> int:
        """Re-hash a stored blob. Returns its size; raises IntegrityError if it changed."""
        return sum(len(chunk) for chunk in self.iter_verified(digest))

    def read_bytes(self, digest: str, *, verify: bool = True) -> bytes:
        if verify:
            return b"".join(self.iter_verified(digest))
        with self.open_raw(digest) as stream:
            return stream.read()

    def copy_out(self, digest: str, destination: Path) -> None:
        """Write a verified copy of a blob to ``destination`` (removed again if it fails)."""
        write_verified_copy(self.iter_verified(digest), destination)

    def iter_digests(self) -> Iterator[str]:
        base = self.root / "sha256"
        if not base.is_dir():
            return
        for folder in sorted(base.iterdir()):
            for item in sorted(folder.iterdir()):
                yield item.name

    def stray_temp_files(self) -> list[Path]:
        return sorted(self._tmp.glob("incoming-*")) if self._tmp.is_dir() else []
