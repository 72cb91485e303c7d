"""Which blob store a workspace uses, and the interface every store offers.

``files`` (the default) keeps blobs under ``.custody/blobs``; ``database`` keeps them in the ledger
database, so a team sharing PostgreSQL needs no shared file system. The choice is made when the
ledger database is created and recorded in it, so every host sharing the ledger agrees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol

from sqlalchemy.engine import Engine

from custody import db
from custody.dbstore import DatabaseBlobStore
from custody.errors import FormatError
from custody.store import FileBlobStore, StoredBlob

BLOB_STORE_KEY = "blob_store"
BLOB_STORES = ("files", "database")


class BlobBatchHandle(Protocol):
    """What ``BlobStore.batch()`` yields: ``flush()`` makes every blob of the batch durable."""

    def flush(self) -> None: ...


class BlobStore(Protocol):
    """A content-addressed, write-once store; see ``custody.store`` for the invariants."""

    root: Path

    def create(self) -> None: ...
    def batch(self) -> AbstractContextManager[BlobBatchHandle]: ...
    def exists(self, digest: str) -> bool: ...
    def put_stream(self, stream: BinaryIO) -> StoredBlob: ...
    def put_file(self, path: Path, progress: Callable[[int], None] | None = None) -> StoredBlob: ...
    def put_bytes(self, data: bytes) -> StoredBlob: ...
    def open_raw(self, digest: str) -> AbstractContextManager[BinaryIO]: ...
    def iter_verified(self, digest: str) -> Iterator[bytes]: ...
    def verify(self, digest: str) -> int: ...
    def read_bytes(self, digest: str, *, verify: bool = True) -> bytes: ...
    def copy_out(self, digest: str, destination: Path) -> None: ...
    def iter_digests(self) -> Iterator[str]: ...
    def stray_temp_files(self) -> list[Path]: ...


def check_kind(kind: str) -> str:
    if kind not in BLOB_STORES:
        raise FormatError(f"blob store must be one of {', '.join(BLOB_STORES)}; got {kind!r}")
    return kind


def record_kind(engine: Engine, kind: str) -> str:
    """Record the store kind for a new ledger database; an existing choice wins (and is returned)."""
    check_kind(kind)
    with db.transaction(engine) as session:
        row = session.get(db.MetaRow, BLOB_STORE_KEY)
        if row is not None:
            return row.value
        session.add(db.MetaRow(key=BLOB_STORE_KEY, value=kind))
        return kind


def open_blob_store(engine: Engine, files_root: Path) -> BlobStore:
    with db.transaction(engine) as session:
        row = session.get(db.MetaRow, BLOB_STORE_KEY)
    kind = row.value if row is not None else "files"
    if kind == "database":
        return DatabaseBlobStore(engine)
    return FileBlobStore(files_root)
