"""The workspace log key: the Ed25519 key that signs checkpoints of every case's Merkle log.

Invariants:
- One log key per ledger database, created with the database (``custody init``), kept in the
  database itself as an encrypted key file (so team members on other hosts can sign checkpoints
  without a shared file system), unlocked only through the passphrase callback.
- The log's origin prefix (``custody/<uuid>``) also lives in the database: every host sharing the
  ledger names the same log the same way. A case's checkpoint origin is ``<prefix>/<case id>``.
- Each case's ``case.opened`` entry publishes the log key (note name and public key), so a
  verifier finds it in the ledger it checks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from custody import db
from custody.errors import NotFoundError
from custody.keys import (
    PassphraseCallback,
    PublicKey,
    Signer,
    decrypt_private_key,
    encrypt_private_key,
    read_key_file_public,
)

_KEY_FILE = "log_key_file"
_KEY_NAME = "log_key_name"
_ORIGIN = "log_origin_prefix"


@dataclass(frozen=True)
class LogKeyInfo:
    name: str  # the signed-note key name
    public_key: PublicKey
    origin_prefix: str

    def origin(self, case_id: str) -> str:
        return f"{self.origin_prefix}/{case_id}"

    def describe(self) -> dict[str, Any]:
        """How the log key is published in ``case.opened``."""
        return {
            "note_name": self.name,
            "key_id": self.public_key.key_id,
            "public_key": self.public_key.hex,
            "origin_prefix": self.origin_prefix,
        }


def ensure_log_key(engine: Engine, passphrase_callback: PassphraseCallback) -> bool:
    """Create the log key and origin prefix unless the database already has them.

    Returns True when a new key was made (its passphrase came from ``passphrase_callback``).
    """
    with db.transaction(engine) as session:
        if session.get(db.MetaRow, _KEY_FILE) is not None:
            return False
    passphrase = passphrase_callback("the new workspace log key (it signs checkpoints)")
    signer = Signer.generate()
    ledger_id = uuid.uuid4().hex
    name = f"custody-log-{ledger_id[:12]}"
    key_file = encrypt_private_key(signer, passphrase, metadata={"name": name, "role": "log"})
    with db.transaction(engine) as session:
        if session.get(db.MetaRow, _KEY_FILE) is not None:  # another host won the race
            return False
        session.add(db.MetaRow(key=_KEY_FILE, value=key_file.decode("utf-8")))
        session.add(db.MetaRow(key=_KEY_NAME, value=name))
        session.add(db.MetaRow(key=_ORIGIN, value=f"custody/{ledger_id}"))
    return True


def _meta(session: Session, key: str) -> str:
    row = session.get(db.MetaRow, key)
    if row is None:
        raise NotFoundError("this ledger database has no log key", hint="it is created by 'custody init'")
    return row.value


def log_key_info(session: Session) -> LogKeyInfo:
    public, _ = read_key_file_public(_meta(session, _KEY_FILE).encode(), what="workspace log key")
    return LogKeyInfo(_meta(session, _KEY_NAME), public, _meta(session, _ORIGIN))


def unlock_log_key(engine: Engine, passphrase_callback: PassphraseCallback) -> tuple[LogKeyInfo, Signer]:
    with db.transaction(engine) as session:
        info = log_key_info(session)
        data = _meta(session, _KEY_FILE).encode()
    return info, decrypt_private_key(data, passphrase_callback, what="the workspace log key")
