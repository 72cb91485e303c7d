"""The blob store inside the ledger database (team deployments), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, delete, select

from custody import db
from custody.actors import create_key
from custody.caselog import verify_case_log
from custody.cases import open_case
from custody.dbstore import DB_CHUNK, DatabaseBlobStore
from custody.errors import IntegrityError, NotFoundError
from custody.fsck import fsck
from custody.recording import record_files
from custody.tools import register_tool
from custody.transfers import export_artifact
from custody.workspace import Workspace
from tests.conftest import TOOLCARDS, passphrase_callback


@pytest.fixture
def db_workspace(tmp_path: Path, database_url: str | None) -> Iterator[Workspace]:
    ws = Workspace.init(
        tmp_path / "ws",
        database_url=database_url,
        passphrase_callback=passphrase_callback,
        blob_store="database",
    )
    create_key(ws, "ana", "investigator")
    open_case(ws, "OP-DB", title="t", jurisdictions=["EU"], authority="a")
    register_tool(ws, TOOLCARDS / "scraper.yaml")
    try:
        yield ws
    finally:
        ws.close()


def test_workspace_keeps_blobs_in_the_database(db_workspace: Workspace, tmp_path: Path) -> None:
    store = db_workspace.store
    assert isinstance(store, DatabaseBlobStore)
    data = os.urandom(2 * DB_CHUNK + 123)  # several chunks
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    (outcome,) = record_files(db_workspace, "OP-DB", [source], tool_spec="adscraper")
    assert outcome.digest == hashlib.sha256(data).hexdigest()
    assert not any((db_workspace.custody_dir / "blobs" / "sha256").iterdir())  # nothing on disk
    assert store.read_bytes(outcome.digest) == data
    assert verify_case_log(db_workspace, "OP-DB").ok
    assert fsck(db_workspace).ok
    export_artifact(db_workspace, "OP-DB", outcome.digest, tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == data
    again = store.put_bytes(data)
    assert not again.created
    assert again.digest == outcome.digest


def test_reopened_workspace_uses_the_recorded_store(db_workspace: Workspace) -> None:
    with Workspace.open(db_workspace.root, database_url=db_workspace.database_url) as reopened:
        assert isinstance(reopened.store, DatabaseBlobStore)


def test_changed_chunk_is_detected_naming_the_digest(db_workspace: Workspace) -> None:
    stored = db_workspace.store.put_bytes(b"exhibit bytes " * 1000)
    with Session(db_workspace.engine) as session:
        session.execute(
            update(db.BlobChunkRow)
            .where(col(db.BlobChunkRow.upload_id) == stored.digest)
            .values(data=b"exhibit bytez " * 1000)
        )
        session.commit()
    with pytest.raises(IntegrityError, match=f"blob {stored.digest} is corrupt"):
        db_workspace.store.verify(stored.digest)


def test_missing_chunk_and_missing_blob(db_workspace: Workspace) -> None:
    stored = db_workspace.store.put_bytes(b"x" * 10)
    with Session(db_workspace.engine) as session:
        session.execute(delete(db.BlobChunkRow).where(col(db.BlobChunkRow.upload_id) == stored.digest))
        session.commit()
    with pytest.raises(IntegrityError, match="chunk 0 is missing"):
        db_workspace.store.read_bytes(stored.digest)
    with pytest.raises(NotFoundError, match="not in the database blob store"):
        db_workspace.store.read_bytes("ab" * 32)


def test_failed_upload_leaves_nothing(db_workspace: Workspace) -> None:
    class Broken:
        def __init__(self) -> None:
            self.calls = 0

        def read(self, _size: int) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError(5, "simulated read error")
            return b"y" * 1000

    before = list(db_workspace.store.iter_digests())
    with pytest.raises(OSError, match="simulated read error"):
        db_workspace.store.put_stream(Broken())  # type: ignore[arg-type]
    with Session(db_workspace.engine) as session:
        uploads = session.exec(select(db.BlobChunkRow.upload_id)).all()
    assert not [u for u in uploads if u.startswith("upload-")]
    assert list(db_workspace.store.iter_digests()) == before
