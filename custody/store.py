"""Content-addressed, write-once blob store on the local file system.

Layout: ``<root>/sha256/<first two hex>/<full digest>``; temporary files in ``<root>/tmp``; the
small blobs of bulk imports in pack files under ``<root>/packs`` (``custody.packs``).

Invariants:
- A blob's path is derived from the SHA-256 of its bytes, computed while copying (the input is
  read exactly once).
- Writes are atomic: temp file in the same file system, fsync, rename, fsync of the directory.
  A crash leaves either no blob or a complete one (plus, at worst, a stray temp file). Inside
  ``batch()`` small blobs are appended to one pack file and the fsyncs are replaced by one sync
  at ``flush()``: bulk importers store thousands of payloads, and the ledger entries naming them
  commit only after that flush.
- Write-once: an existing blob is never overwritten; stored files and sealed packs are
  read-only.
- ``open_verified`` / ``read_bytes(verify=True)`` re-hash on read and raise ``IntegrityError``
  naming the digest when the bytes on disk no longer match.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from custody.digests import CHUNK_SIZE, check_sha256_hex
from custody.durability import fsync_path, start_writeback, syncfs
from custody.errors import InputFileError, IntegrityError, NotFoundError, StoreError
from custody.packs import MAX_PACK_BYTES, PackedReader, PackIndex, PackWriter

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


class BlobBatch:
    """The blobs stored inside one ``FileBlobStore.batch()`` block (one thread's).

    Small blobs are appended to a pack file (``custody.packs``): one ``write`` each instead of a
    file creation each. Large ones are written as files of their own, without their fsyncs.
    ``flush()`` seals the pack and makes every blob of the batch durable."""

    def __init__(self, root: Path, packs: PackIndex) -> None:
        self.root = root
        self.loose: list[Path] = []  # large blobs written since the last flush, not yet synced
        self.pending: set[str] = set()  # small blobs in the unsealed pack
        self._packs = packs
        self._pack: PackWriter | None = None

    def add_small(self, digest: str, data: bytes) -> None:
        """Append a new small blob to this batch's pack."""
        if self._pack is None:
            self._pack = PackWriter(self._packs.folder)
        self._pack.add(digest, data)
        self.pending.add(digest)
        if self._pack.size >= MAX_PACK_BYTES:
            self._seal()

    def _seal(self) -> None:
        pack, self._pack = self._pack, None
        if pack is None:
            return
        try:
            self._packs.add(pack.name, pack.seal())
        except OSError:
            pack.discard()
            raise
        finally:
            self.pending.clear()

    def flush(self) -> None:
        """Seal the pack, then make the batch's large blobs durable (one sync of the file system
        holding the store, or an fsync per file and folder where that is not available)."""
        try:
            self._seal()
            if self.loose and not syncfs(self.root):
                for path in self.loose:
                    fsync_path(path)
                for folder in {path.parent for path in self.loose}:
                    fsync_path(folder)
        except OSError as exc:
            raise StoreError(f"cannot sync blob store {self.root}: {exc.strerror or exc}") from exc
        self.loose = []

    def close(self) -> None:
        """Drop an unsealed pack: the block failed before flushing, so nothing names its blobs."""
        if self._pack is not None:
            self._pack.discard()
            self._pack = None
        self.pending.clear()


class FileBlobStore:
    """Blobs as files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._local = threading.local()  # the open batch of this thread, if any
        self._packs = PackIndex(root / "packs")
        self._loose = str(root / "sha256")

    @contextmanager
    def batch(self) -> Iterator[BlobBatch]:
        """Store many blobs and make them durable together: small blobs go into one pack file,
        and one sync at the end replaces two fsyncs per blob. Call ``flush()`` on the handle
        before committing anything that names a blob of the batch (the block's end flushes too):
        until then a blob may not be on disk, nor readable. If the block fails, its unsealed
        pack is removed."""
        current: BlobBatch | None = getattr(self._local, "batch", None)
        if current is not None:
            yield current  # nested: the outer block flushes
            return
        self._packs.reload()  # blobs packed by other processes are then not packed again
        batch = BlobBatch(self.root, self._packs)
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
        return self.path_for(digest).is_file() or self._packs.find(digest) is not None

    def put_stream(self, stream: BinaryIO) -> StoredBlob:
        """Copy a stream into the store, hashing as it goes (one read of the input).

        Each chunk is read once into one buffer; for large chunks a writer thread writes it while
        this thread hashes it (hashlib and os.write release the GIL), and the buffer is reused only
        once both are done. Small inputs never start the thread. Written chunks are handed to the
        kernel's write-back early (``durability.start_writeback``), so the final fsync overlaps
        with the copy; inside ``batch()``, only chunks of 1 MiB or more (thousands of small
        write-backs would only slow the file system)."""
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
            if batch is None or length >= CHUNK_SIZE:
                start_writeback(fd, offset, length)

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
                fsync_path(final.parent)
            else:
                batch.loose.append(final)
            return StoredBlob(digest, size, created=True)
        except OSError as exc:
            raise StoreError(f"cannot write to blob store {self.root}: {exc.strerror or exc}") from exc
        finally:
            if tmp_path.exists():
                tmp_path.unlink()

    def _put_small(self, data: bytes, batch: BlobBatch | None) -> StoredBlob:
        """Store a blob already read whole: hashed first, so known content is never written again;
        in a batch, appended to the batch's pack."""
        digest = hashlib.sha256(data).hexdigest()
        # path_for, minus checking our own digest, and as text: a bulk import asks thousands of times
        final = f"{self._loose}/{digest[:2]}/{digest}"
        try:
            if batch is None:
                if os.path.exists(final) or self._packs.find(digest) is not None:
                    return StoredBlob(digest, len(data), created=False)
                self._write_new(data, Path(final))
            elif (
                digest in batch.pending
                or self._packs.find(digest, reload=False) is not None  # read when the batch began
                or os.path.exists(final)
            ):
                return StoredBlob(digest, len(data), created=False)
            else:
                batch.add_small(digest, data)
        except OSError as exc:
            raise StoreError(f"cannot write to blob store {self.root}: {exc.strerror or exc}") from exc
        return StoredBlob(digest, len(data), created=True)

    def _write_new(self, data: bytes, final: Path) -> None:
        """Write ``data`` durably to a new read-only temp file and rename it to ``final``."""
        tmp_path = self._tmp / f"incoming-{secrets.token_hex(8)}"
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
            final.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp_path, final)
            fsync_path(final.parent)
        except OSError:
            with suppress(OSError):
                tmp_path.unlink()
            raise

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

    def _open(self, digest: str) -> tuple[BinaryIO, str]:
        """A blob's stream (a file of its own, or its slice of a pack) and where it is, in words."""
        path = self.path_for(digest)
        try:
            return path.open("rb"), str(path)
        except FileNotFoundError:
            pass
        packed = self._packs.find(digest)
        if packed is None:
            raise NotFoundError(f"blob {digest} is not in the store {self.root}")
        try:
            reader = PackedReader(digest, packed)
        except FileNotFoundError:
            raise NotFoundError(
                f"blob {digest} is not in the store {self.root}: its pack {packed.pack} is missing"
            ) from None
        return reader, f"{packed.pack}, {packed.size} bytes at offset {packed.offset}"  # type: ignore[return-value]

    @contextmanager
    def open_raw(self, digest: str) -> Iterator[BinaryIO]:
        """Open a blob without re-hashing (callers that verify use ``open_verified``)."""
        stream, _ = self._open(digest)
        with stream:
            yield stream

    def iter_verified(self, digest: str) -> Iterator[bytes]:
        """Yield a blob's chunks; after the last one, raise IntegrityError if they did not hash to
        ``digest``. Callers must not treat the bytes as good until the iterator is exhausted."""
        stream, where = self._open(digest)
        with stream:
            yield from verified_chunks(iter(lambda: stream.read(COPY_CHUNK), b""), digest, where)

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
        """Every stored digest, files and packs alike, in order."""
        base = self.root / "sha256"
        folders = base.iterdir() if base.is_dir() else ()
        loose = {item.name for folder in folders for item in folder.iterdir()}
        yield from sorted(loose | self._packs.digests())

    def stray_temp_files(self) -> list[Path]:
        """Temp files of interrupted or running writes, and packs of interrupted batches."""
        temp = sorted(self._tmp.glob("incoming-*")) if self._tmp.is_dir() else []
        return temp + self._packs.stray_files()
