"""Content-addressed, write-once blob store inside the ledger database (team deployments).

With PostgreSQL shared by several hosts, this store means no shared file system is needed: the
blobs live beside the ledger. Blobs are split into chunks (``blob_chunk``) so neither writing nor
reading ever holds a whole blob in memory.

Invariants (the same as ``FileBlobStore``):
- The digest is computed while the input is read, once.
- A blob appears atomically: its chunks are written under a random upload id in one transaction,
  renamed to the digest and registered in ``blob`` at commit. A crash rolls everything back.
- Write-once: a digest that is already stored is never rewritten (a concurrent writer of the same
  bytes loses the race harmlessly).
- Reads re-hash when asked to verify and raise ``IntegrityError`` naming the digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlmodel import Session, col, select

from custody import db
from custody.digests import check_sha256_hex
from custody.errors import InputFileError, IntegrityError, NotFoundError
from custody.store import ProgressReader, StoredBlob, verified_chunks, write_verified_copy
from custody.timeutil import format_rfc3339, utc_now

DB_CHUNK = 4 * 1024 * 1024


class _Committed:
    """The batch handle of the database store: its blobs are durable when ``put`` returns."""

    def flush(self) -> None:
        """Nothing to wait for."""


class DatabaseBlobStore:
    """Blobs as chunked rows in the ledger database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.root = Path(f"database:{engine.url.render_as_string(hide_password=True)}")

    def create(self) -> None:
        """Nothing to do: the tables are part of the schema."""

    def batch(self) -> contextlib.AbstractContextManager[_Committed]:
        """Nothing to defer: every blob commits (durably) in its own transaction."""
        return contextlib.nullcontext(_Committed())

    def exists(self, digest: str) -> bool:
        check_sha256_hex(digest)
        with Session(self.engine) as session:
            return session.get(db.BlobRow, digest) is not None

    def put_stream(self, stream: BinaryIO) -> StoredBlob:
        hasher = hashlib.sha256()
        size = 0
        chunks = 0
        upload_id = f"upload-{uuid.uuid4().hex}"
        try:
            with db.transaction(self.engine) as session:
                while chunk := stream.read(DB_CHUNK):
                    hasher.update(chunk)
                    session.add(db.BlobChunkRow(upload_id=upload_id, seq=chunks, data=chunk))
                    session.flush()
                    session.expunge_all()  # keep memory bounded to one chunk
                    size += len(chunk)
                    chunks += 1
                digest = hasher.hexdigest()
                if session.get(db.BlobRow, digest) is not None:
                    raise _AlreadyStored(digest)
                session.execute(
                    update(db.BlobChunkRow)
                    .where(col(db.BlobChunkRow.upload_id) == upload_id)
                    .values(upload_id=digest)
                )
                session.add(
                    db.BlobRow(digest=digest, size=size, chunks=chunks, created_at=format_rfc3339(utc_now()))
                )
        except _AlreadyStored as already:
            return StoredBlob(already.digest, size, created=False)
        except DbIntegrityError:  # a concurrent writer stored the same bytes first
            digest = hasher.hexdigest()
            if not self.exists(digest):
                raise
            return StoredBlob(digest, size, created=False)
        return StoredBlob(digest, size, created=True)

    def put_file(self, path: Path, progress: Callable[[int], None] | None = None) -> StoredBlob:
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
        with stream:
            source: BinaryIO = ProgressReader(stream, progress) if progress else stream  # type: ignore[assignment]
            return self.put_stream(source)

    def put_bytes(self, data: bytes) -> StoredBlob:
        return self.put_stream(io.BytesIO(data))

    def _chunk_count(self, digest: str) -> int:
        check_sha256_hex(digest)
        with Session(self.engine) as session:
            row = session.get(db.BlobRow, digest)
        if row is None:
            raise NotFoundError(f"blob {digest} is not in the database blob store")
        return row.chunks

    def _iter_raw(self, digest: str) -> Iterator[bytes]:
        for seq in range(self._chunk_count(digest)):
            with Session(self.engine) as session:
                row = session.get(db.BlobChunkRow, (digest, seq))
                if row is None:
                    raise IntegrityError(
                        f"blob {digest} is corrupt: chunk {seq} is missing from the database"
                    )
                yield bytes(row.data)

    @contextmanager
    def open_raw(self, digest: str) -> Iterator[BinaryIO]:
        yield io.BytesIO(b"".join(self._iter_raw(digest)))

    def iter_verified(self, digest: str) -> Iterator[bytes]:
        yield from verified_chunks(self._iter_raw(digest), digest, "database blob store")

    def verify(self, digest: str) -> int:
        return sum(len(chunk) for chunk in self.iter_verified(digest))

    def read_bytes(self, digest: str, *, verify: bool = True) -> bytes:
        return b"".join(self.iter_verified(digest) if verify else self._iter_raw(digest))

    def copy_out(self, digest: str, destination: Path) -> None:
        write_verified_copy(self.iter_verified(digest), destination)

    def iter_digests(self) -> Iterator[str]:
        with Session(self.engine) as session:
            yield from session.exec(select(db.BlobRow.digest).order_by(db.BlobRow.digest)).all()

    def stray_temp_files(self) -> list[Path]:
        return []  # uploads are transactions: an interrupted one leaves nothing


class _AlreadyStored(Exception):
    def __init__(self, digest: str) -> None:
        super().__init__(digest)
        self.digest = digest
