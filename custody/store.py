"""Content-addressed, write-once blob store on the local file system.

Layout: ``<root>/sha256/<first two hex>/<full digest>``; temporary files in ``<root>/tmp``.

Invariants:
- A blob's path is derived from the SHA-256 of its bytes, computed while copying (the input is
  read exactly once).
- Writes are atomic: temp file in the same file system, fsync, rename, fsync of the directory.
  A crash leaves either no blob or a complete one (plus, at worst, a stray temp file). Inside
  ``batch()`` small blobs are written by a background thread and the fsyncs are replaced by one
  sync of the file system at ``flush()``: bulk importers store thousands of payloads, and the
  ledger entries naming them commit only after that flush.
- Write-once: an existing blob is never overwritten; stored files are made read-only.
- ``open_verified`` / ``read_bytes(verify=True)`` re-hash on read and raise ``IntegrityError``
  naming the digest when the bytes on disk no longer match.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import os
import secrets
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from custody.digests import CHUNK_SIZE, check_sha256_hex
from custody.errors import InputFileError, IntegrityError, NotFoundError, StoreError

COPY_CHUNK = 4 * CHUNK_SIZE
SMALL_BLOB = 256 * 1024
"""Inputs shorter than this are read whole and hashed before anything is written."""


def _read_up_to(stream: BinaryIO, limit: int) -> bytes:
    """Up to ``limit`` bytes from ``stream``; fewer only at the end of the stream."""
    parts: list[bytes] = []
    size = 0
    while size < limit:
        chunk = stream.read(limit - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


@dataclass(frozen=True)
class StoredBlob:
    digest: str
    size: int
    created: bool  # False when identical content was already stored (in a batch: found so before
    # the writer thread ran; a small blob it then finds stored is not written again)


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


class BlobBatch:
    """The blobs stored inside one ``FileBlobStore.batch()`` block (one thread's).

    Small blobs reach the writer thread in groups: one hand-off per group, not per blob, because
    each hand-off wakes the writer and costs both threads a turn at the GIL."""

    GROUP_BLOBS = 64  # small blobs handed to the writer at once
    GROUP_BYTES = 4 * CHUNK_SIZE  # or fewer, once they hold this many bytes
    MAX_GROUPS = 4  # groups queued for the writer at once (bounds the memory held)

    def __init__(self, root: Path, write: Callable[[bytes, Path], None]) -> None:
        self.root = root
        self.written: list[Path] = []
        self.pending: set[str] = set()
        self._write = write
        self._group: list[tuple[bytes, Path]] = []
        self._group_bytes = 0
        self._writer: ThreadPoolExecutor | None = None
        self._queued: deque[Future[None]] = deque()

    def add(self, digest: str, data: bytes, final: Path) -> None:
        """Queue a new small blob for writing to ``final``."""
        self.pending.add(digest)
        self.written.append(final)
        self._group.append((data, final))
        self._group_bytes += len(data)
        if len(self._group) >= self.GROUP_BLOBS or self._group_bytes >= self.GROUP_BYTES:
            self._hand_off()

    def _hand_off(self) -> None:
        if not self._group:
            return
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="custody-blobs")
        while len(self._queued) >= self.MAX_GROUPS:
            self._queued.popleft().result()
        group, self._group, self._group_bytes = self._group, [], 0
        self._queued.append(self._writer.submit(self._write_group, group))

    def _write_group(self, group: list[tuple[bytes, Path]]) -> None:
        for data, final in group:
            if not final.exists():  # write-once: known content is never written again
                self._write(data, final)

    def flush(self) -> None:
        """Write every queued blob, then make the batch durable (one sync of the file system
        holding the store, or an fsync per file and folder where that is not available)."""
        self._hand_off()
        while self._queued:
            self._queued.popleft().result()  # raises the writer's StoreError
        try:
            if self.written and not _syncfs(self.root):
                for path in self.written:
                    _fsync_path(path)
                for folder in {path.parent for path in self.written}:
                    _fsync_path(folder)
        except OSError as exc:
            raise StoreError(f"cannot sync blob store {self.root}: {exc.strerror or exc}") from exc
        self.written = []

    def close(self) -> None:
        self._group = []
        if self._writer is not None:
            self._writer.shutdown(wait=True, cancel_futures=True)


class FileBlobStore:
    """Blobs as files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._local = threading.local()  # the open batch of this thread, if any
        self._folders: set[Path] = set()  # folders known to exist (a mkdir call per blob adds up)

    @contextmanager
    def batch(self) -> Iterator[BlobBatch]:
        """Store many blobs and make them durable together: small blobs are hashed at once (their
        digest is returned) and written by a background thread, and one file-system sync replaces
        two fsyncs per blob. Call ``flush()`` on the handle before committing anything that names
        a blob of the batch (the block's end flushes too): until then a blob may not be on disk."""
        current: BlobBatch | None = getattr(self._local, "batch", None)
        if current is not None:
            yield current  # nested: the outer block flushes
            return
        batch = BlobBatch(self.root, partial(self._write_new, durable=False))
        self._local.batch = batch
        try:
            yield batch
            batch.flush()
        finally:
            self._local.batch = None
            batch.close()

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
        batch: BlobBatch | None = getattr(self._local, "batch", None)
        prefix = _read_up_to(stream, SMALL_BLOB)
        if len(prefix) < SMALL_BLOB:
            return self._put_small(prefix, batch)
        hasher = hashlib.sha256()
        size = 0
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
                hasher.update(prefix)
                write_all(memoryview(prefix), 0)
                size = len(prefix)
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
                batch.written.append(final)
            return StoredBlob(digest, size, created=True)
        except OSError as exc:
            raise StoreError(f"cannot write to blob store {self.root}: {exc.strerror or exc}") from exc
        finally:
            if tmp_path.exists():
                tmp_path.unlink()

    def _put_small(self, data: bytes, batch: BlobBatch | None) -> StoredBlob:
        """Store a blob already read whole: hashed first, so known content is never written again;
        in a batch, written by the batch's writer thread."""
        digest = hashlib.sha256(data).hexdigest()
        final = self.root / "sha256" / digest[:2] / digest  # path_for, minus checking our own digest
        if batch is None:
            if final.exists():
                return StoredBlob(digest, len(data), created=False)
            self._write_new(data, final, durable=True)
        elif digest in batch.pending:
            return StoredBlob(digest, len(data), created=False)
        else:
            # The writer thread skips content already stored (a stat per blob, off this thread).
            batch.add(digest, data, final)
        return StoredBlob(digest, len(data), created=True)

    def _write_new(self, data: bytes, final: Path, *, durable: bool) -> None:
        """Write ``data`` to a new read-only temp file and rename it to ``final``."""
        tmp_path = self._tmp / f"incoming-{secrets.token_hex(8)}"
        try:
            self._ensure_folder(self._tmp)
            self._ensure_folder(final.parent)
            fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp_path, final)
            if durable:
                _fsync_path(final.parent)
        except OSError as exc:
            with suppress(OSError):
                tmp_path.unlink()
            raise StoreError(f"cannot write to blob store {self.root}: {exc.strerror or exc}") from exc

    def _ensure_folder(self, folder: Path) -> None:
        if folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)

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
