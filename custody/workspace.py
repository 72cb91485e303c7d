"""A custody workspace: a ``.custody/`` folder with config, key files, blob store and (by
default) the SQLite database.

Found like git finds a repository: walk up from the current folder to the first ``.custody/``,
or take ``--workspace`` / ``CUSTODY_WORKSPACE``. ``CUSTODY_DATABASE_URL`` points the workspace at
another database (PostgreSQL for a team sharing one ledger).

Invariants:
- Private key files live under ``.custody/keys/``, mode 0600, always encrypted: Ed25519 keys as
  ``<name>.key``; the CA and document-signing X.509 keys in ``ca/`` and ``x509/``
  (``custody.certificates``).
- The clock and the passphrase source are injected; library code never prompts.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from custody import db
from custody.blobstore import BlobStore, check_kind, open_blob_store, record_kind
from custody.canonical import parse_json_object
from custody.errors import CustodyError, FormatError, NotFoundError, PolicyError, WorkspaceNotFoundError
from custody.keys import PassphraseCallback, Signer, decrypt_private_key
from custody.logkey import ensure_log_key
from custody.store import FileBlobStore
from custody.timeutil import utc_now

if TYPE_CHECKING:
    from custody.recorder import Recorder

MARKER = ".custody"
CONFIG_NAME = "config.json"
WORKSPACE_ENV = "CUSTODY_WORKSPACE"
DATABASE_ENV = "CUSTODY_DATABASE_URL"
ACTOR_ENV = "CUSTODY_ACTOR"
PASSPHRASE_ENV = "CUSTODY_PASSPHRASE"  # noqa: S105 - the variable name, not a secret

Clock = Callable[[], datetime]


def env_passphrase_callback(fallback: PassphraseCallback | None = None) -> PassphraseCallback:
    """A passphrase callback reading ``CUSTODY_PASSPHRASE``, else asking ``fallback``."""

    def callback(what: str) -> str:
        value = os.environ.get(PASSPHRASE_ENV)
        if value:
            return value
        if fallback is None:
            raise PolicyError(
                f"a passphrase is needed to unlock {what}",
                hint=f"set {PASSPHRASE_ENV} or run interactively",
            )
        return fallback(what)

    return callback


def find_workspace_root(start: Path | None = None) -> Path:
    """The folder holding ``.custody/``: from ``CUSTODY_WORKSPACE``, else walking up from
    ``start`` (default: the current folder)."""
    explicit = os.environ.get(WORKSPACE_ENV)
    if start is None and explicit:
        start_path = Path(explicit)
        if (start_path / MARKER).is_dir():
            return start_path.resolve()
        raise WorkspaceNotFoundError(f"{WORKSPACE_ENV}={explicit} is not a custody workspace")
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_dir():
            return folder
    raise WorkspaceNotFoundError(f"no custody workspace in {here} or any parent folder")


@dataclass
class WorkspaceConfig:
    workspace_id: str
    default_actor: str | None = None
    database_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.extra,
            "format": "custody-workspace",
            "version": 1,
            "workspace_id": self.workspace_id,
            "default_actor": self.default_actor,
            "database_url": self.database_url,
        }

    @classmethod
    def from_bytes(cls, data: bytes, *, what: str) -> WorkspaceConfig:
        document = parse_json_object(data, what=what)
        if document.get("format") != "custody-workspace" or document.get("version") != 1:
            raise FormatError(f"{what} is not a custody workspace config (version 1)")
        workspace_id = document.pop("workspace_id", None)
        if not isinstance(workspace_id, str) or not workspace_id:
            raise FormatError(f"{what} has no workspace_id")
        default_actor = document.pop("default_actor", None)
        database_url = document.pop("database_url", None)
        document.pop("format")
        document.pop("version")
        return cls(workspace_id, default_actor, database_url, document)


class Workspace:
    """An open workspace. Use ``Workspace.init`` to create one and ``Workspace.open`` to open one;
    close it (or use it as a context manager) to release the database connections."""

    def __init__(
        self,
        root: Path,
        config: WorkspaceConfig,
        *,
        passphrase_callback: PassphraseCallback | None = None,
        clock: Clock = utc_now,
        database_url: str | None = None,
    ) -> None:
        self.root = root
        self.config = config
        self.clock = clock
        self.passphrase_callback = passphrase_callback or env_passphrase_callback()
        self.database_url = (
            database_url
            or os.environ.get(DATABASE_ENV)
            or config.database_url
            or (f"sqlite:///{self.custody_dir / 'custody.db'}")
        )
        self.engine: Engine = db.make_engine(self.database_url)
        self._store: BlobStore | None = None
        self._signers: dict[str, Signer] = {}
        self._signers_lock = threading.Lock()  # recorder threads share the unlocked keys

    @property
    def store(self) -> BlobStore:
        """The blob store the ledger database says this workspace uses (files or database)."""
        if self._store is None:
            self._store = open_blob_store(self.engine, self.custody_dir / "blobs")
        return self._store

    # -- paths ---------------------------------------------------------------------------------
    @property
    def custody_dir(self) -> Path:
        return self.root / MARKER

    @property
    def keys_dir(self) -> Path:
        return self.custody_dir / "keys"

    @property
    def config_path(self) -> Path:
        return self.custody_dir / CONFIG_NAME

    def key_path(self, name: str) -> Path:
        return self.keys_dir / f"{name}.key"

    # -- lifecycle -----------------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        directory: Path,
        *,
        database_url: str | None = None,
        passphrase_callback: PassphraseCallback | None = None,
        clock: Clock = utc_now,
        blob_store: str = "files",
    ) -> Workspace:
        """Create a workspace in ``directory`` (created if missing).

        ``blob_store`` ("files" or "database") applies when the ledger database is new; joining
        an existing team database keeps the choice recorded there.

        Raises:
            PolicyError: if ``directory`` already holds a workspace.
        """
        check_kind(blob_store)
        root = directory.resolve()
        marker = root / MARKER
        if marker.exists():
            raise PolicyError(f"{root} already holds a custody workspace ({marker})")
        config = WorkspaceConfig(workspace_id=str(uuid.uuid4()), database_url=database_url)
        tmp_marker = root / f"{MARKER}.initialising-{os.getpid()}"
        try:
            root.mkdir(parents=True, exist_ok=True)
            tmp_marker.mkdir()
            (tmp_marker / "keys").mkdir(mode=0o700)
            FileBlobStore(tmp_marker / "blobs").create()
            (tmp_marker / CONFIG_NAME).write_text(json.dumps(config.to_dict(), indent=2) + "\n")
            os.replace(tmp_marker, marker)  # the workspace appears whole, or not at all
        except OSError as exc:
            raise CustodyError(f"cannot create a workspace in {root}: {exc.strerror or exc}") from exc
        finally:
            if tmp_marker.exists():
                shutil.rmtree(tmp_marker, ignore_errors=True)
        workspace = cls(
            root, config, passphrase_callback=passphrase_callback, clock=clock, database_url=database_url
        )
        try:
            db.create_schema(workspace.engine)
            record_kind(workspace.engine, blob_store)
            workspace._store = open_blob_store(workspace.engine, workspace.custody_dir / "blobs")
            ensure_log_key(workspace.engine, workspace.passphrase_callback)
        except BaseException:
            workspace.close()
            shutil.rmtree(marker, ignore_errors=True)  # no half-made workspace is left behind
            raise
        return workspace

    @classmethod
    def open(
        cls,
        directory: Path | None = None,
        *,
        passphrase_callback: PassphraseCallback | None = None,
        clock: Clock = utc_now,
        database_url: str | None = None,
    ) -> Workspace:
        """Open the workspace at or above ``directory`` (or found from the environment)."""
        root = find_workspace_root(directory)
        config_path = root / MARKER / CONFIG_NAME
        try:
            data = config_path.read_bytes()
        except OSError as exc:
            raise WorkspaceNotFoundError(f"cannot read {config_path}: {exc.strerror or exc}") from exc
        config = WorkspaceConfig.from_bytes(data, what=str(config_path))
        workspace = cls(
            root, config, passphrase_callback=passphrase_callback, clock=clock, database_url=database_url
        )
        db.check_schema(workspace.engine)
        # Resolved now, never lazily inside a transaction (SQLite would wait on its own lock).
        workspace._store = open_blob_store(workspace.engine, workspace.custody_dir / "blobs")
        return workspace

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def save_config(self) -> None:
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.config.to_dict(), indent=2) + "\n")
        os.replace(tmp, self.config_path)

    # -- recording as a tool runs --------------------------------------------------------------
    def run(
        self,
        case_id: str,
        tool: str,
        *,
        operator: str | None = None,
        hil: str | None = None,
        supervisor: str | None = None,
        authorisation: str | None = None,
        actor: str | None = None,
    ) -> Recorder:
        """Start a run of ``tool`` (``NAME`` or ``NAME@VERSION``) in ``case_id`` and return its
        recorder; use it as a context manager, which ends the run (see ``custody.recorder``).
        ``actor`` is the signing key (e.g. the tool's service key); ``hil`` defaults to the tool
        card's ``default_hil``."""
        from custody.recorder import open_run  # noqa: PLC0415 - the recorder builds on this module

        return open_run(
            self,
            case_id,
            tool,
            operator=operator,
            hil=hil,
            supervisor=supervisor,
            authorisation=authorisation,
            actor=actor,
        )

    # -- acting keys ---------------------------------------------------------------------------
    def acting_actor_name(self, explicit: str | None = None) -> str:
        """Who acts: ``explicit`` (``--as``), else ``CUSTODY_ACTOR``, else the workspace default."""
        name = explicit or os.environ.get(ACTOR_ENV) or self.config.default_actor
        if not name:
            raise NotFoundError(
                "no acting key: this workspace has no default key",
                hint="create one with 'custody key new NAME --role ROLE', or pass --as NAME",
            )
        return name

    def signer(self, name: str) -> Signer:
        """Unlock the private key of actor ``name`` (asks the passphrase callback once, also when
        several threads ask at the same time)."""
        with self._signers_lock:
            return self._unlock(name)

    def _unlock(self, name: str) -> Signer:
        if name in self._signers:
            return self._signers[name]
        path = self.key_path(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(
                f"no private key for {name!r} in this workspace ({path})",
                hint="see 'custody key list'; keys are created with 'custody key new'",
            ) from None
        except OSError as exc:
            raise CustodyError(f"cannot read key file {path}: {exc.strerror or exc}") from exc
        signer = decrypt_private_key(data, self.passphrase_callback, what=f"key '{name}'")
        self._signers[name] = signer
        return signer
