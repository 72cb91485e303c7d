"""Database tables (SQLModel) and the engine: SQLite by default, PostgreSQL for teams.

Rows are not signed objects. The signed bytes of every event live in ``ledger_entry.entry``
exactly as signed; the other tables are indexes over them, rebuilt-able from the ledger, and
never the source of what is shown as evidence.

Invariants:
- ``(case_id, sequence)`` is the primary key of a ledger entry: a case's log cannot fork.
- Writers serialise per case: on PostgreSQL by ``SELECT ... FOR UPDATE`` on the case row, on
  SQLite by starting every transaction with ``BEGIN IMMEDIATE`` (one writer at a time).
- SQLite runs in WAL mode with ``synchronous=FULL``: a committed record survives a power cut.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, LargeBinary, UniqueConstraint, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Field, Session, SQLModel, create_engine, select

from custody.errors import CustodyError, NotFoundError

SCHEMA_VERSION = 1


class MetaRow(SQLModel, table=True):
    __tablename__ = "custody_meta"
    key: str = Field(primary_key=True)
    value: str


class ActorRow(SQLModel, table=True):
    __tablename__ = "actor"
    key_id: str = Field(primary_key=True)
    name: str = Field(unique=True, index=True)
    role: str
    public_key: str  # raw 32 bytes, hex
    created_at: str
    revoked_at: str | None = None


class CaseRow(SQLModel, table=True):
    __tablename__ = "case_record"  # "case" is an SQL keyword
    id: str = Field(primary_key=True)
    title: str
    jurisdictions: str  # JSON list
    legal_basis: str | None = None
    authority: str
    operator_type: str
    opened_at: str
    opened_by: str  # key id
    sealed_at: str | None = None
    log_size: int = 0
    custodian: str  # key id of the current custodian (the opener at first)
    pending_release: int | None = None  # sequence of a custody.released not yet accepted


class ToolRow(SQLModel, table=True):
    __tablename__ = "tool"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    version: str
    kind: str
    card_digest: str
    card_name: str
    config_digest: str
    build_hash: str | None = None
    vendor: str | None = None
    card_json: str  # canonical JSON of the normalised card (ToolCard.to_dict)
    registered_at: str


class CaseToolRow(SQLModel, table=True):
    """Which tools have a ``tool.registered`` entry in which case's ledger."""

    __tablename__ = "case_tool"
    case_id: str = Field(primary_key=True, foreign_key="case_record.id")
    tool_id: int = Field(primary_key=True, foreign_key="tool.id")
    sequence: int


class CaseKeyRow(SQLModel, table=True):
    """Which keys have a ``key.added`` entry in which case's ledger."""

    __tablename__ = "case_key"
    case_id: str = Field(primary_key=True, foreign_key="case_record.id")
    key_id: str = Field(primary_key=True, foreign_key="actor.key_id")
    sequence: int


class RunRow(SQLModel, table=True):
    __tablename__ = "run"
    id: str = Field(primary_key=True)
    case_id: str = Field(index=True, foreign_key="case_record.id")
    tool_id: int = Field(foreign_key="tool.id")
    operator: str
    supervisor: str | None = None
    hil_configured: str
    authorisation: str | None = None
    started_at: str
    ended_at: str | None = None


class LedgerEntryRow(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    case_id: str = Field(primary_key=True, foreign_key="case_record.id")
    sequence: int = Field(primary_key=True)
    event_type: str
    actor: str  # key id
    time: str
    entry_sha256: str
    leaf_hash: str  # RFC 9162 leaf hash of the entry, hex
    entry: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class MerkleNodeRow(SQLModel, table=True):
    """A complete subtree of a case's Merkle tree (see ``custody.merkle``); written once."""

    __tablename__ = "merkle_node"
    case_id: str = Field(primary_key=True, foreign_key="case_record.id")
    level: int = Field(primary_key=True)
    idx: int = Field(primary_key=True)
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CheckpointRow(SQLModel, table=True):
    """A signed checkpoint (C2SP signed note) of a case's log; cosignatures update ``note``."""

    __tablename__ = "checkpoint"
    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(index=True, foreign_key="case_record.id")
    size: int
    root_hash: str  # hex
    reason: str  # "manual", "seal", "export"
    created_at: str
    note: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class TranscriptSaltsRow(SQLModel, table=True):
    """The secret salts of an imported transcript's per-line commitments (never disclosed whole:
    a redacted copy reveals only the salts of the lines it shows)."""

    __tablename__ = "transcript_salts"
    case_id: str = Field(primary_key=True, foreign_key="case_record.id")
    digest: str = Field(primary_key=True)  # the transcript's sha256
    salts: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # 32 bytes per line


class BlobRow(SQLModel, table=True):
    """A blob kept in the database (team deployments without a shared file system)."""

    __tablename__ = "blob"
    digest: str = Field(primary_key=True)
    size: int
    chunks: int
    created_at: str


class BlobChunkRow(SQLModel, table=True):
    __tablename__ = "blob_chunk"
    upload_id: str = Field(primary_key=True)  # the blob's digest once complete
    seq: int = Field(primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ArtifactRow(SQLModel, table=True):
    __tablename__ = "artifact"
    __table_args__ = (UniqueConstraint("case_id", "provenance_digest"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(index=True, foreign_key="case_record.id")
    digest: str = Field(index=True)
    size: int
    media_type: str
    name: str
    origin: str
    role: str
    hil_level: str
    tool_id: int = Field(foreign_key="tool.id")
    run_id: str | None = None
    provenance_digest: str
    sequence: int
    recorded_at: str


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see "Serializable
        # isolation / Savepoints / Transactional DDL" in the SQLAlchemy SQLite docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 60000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` (sqlite:///... or postgresql+psycopg://...).

    Raises:
        CustodyError: if the URL is not a database URL SQLAlchemy understands.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, poolclass=NullPool)
            _configure_sqlite(engine)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise CustodyError(f"cannot use database URL {redact_url(url)}: {exc}") from exc
    return engine


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
    return url


def create_schema(engine: Engine) -> None:
    try:
        SQLModel.metadata.create_all(engine)
        with Session(engine) as session:
            if session.get(MetaRow, "schema_version") is None:
                session.add(MetaRow(key="schema_version", value=str(SCHEMA_VERSION)))
            session.commit()
    except OperationalError as exc:
        raise CustodyError(f"cannot create the database schema: {exc.orig}") from exc


def check_schema(engine: Engine) -> None:
    try:
        with Session(engine) as session:
            row = session.get(MetaRow, "schema_version")
    except OperationalError as exc:
        raise CustodyError(
            f"cannot open the custody database at {redact_url(str(engine.url))}: {exc.orig}",
            hint="is the database server running, and was 'custody init' run against it?",
        ) from exc
    if row is None:
        raise NotFoundError(
            f"database {redact_url(str(engine.url))} holds no custody schema",
            hint="run 'custody init' with the same CUSTODY_DATABASE_URL",
        )
    if row.value != str(SCHEMA_VERSION):
        raise CustodyError(f"database schema version is {row.value}, this custody expects {SCHEMA_VERSION}")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def lock_case(session: Session, case_id: str) -> CaseRow:
    """Lock a case row for the rest of the transaction (serialises appends to its ledger)."""
    statement = select(CaseRow).where(CaseRow.id == case_id).with_for_update()
    case = session.exec(statement).first()
    if case is None:
        raise NotFoundError(f"no case {case_id!r} in this workspace", hint="see 'custody case list'")
    return case
