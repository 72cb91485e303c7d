"""Actors and their keys: create, list, export.

Invariants: a key's private half exists only in its encrypted key file (mode 0600, written with
O_EXCL so an existing file is never overwritten); the database holds the public key and role.
If registering the key in the database fails, the new key file is removed again.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlmodel import select

from custody import db
from custody.errors import CustodyError, PolicyError
from custody.keys import PassphraseCallback, PublicKey, Signer, encrypt_private_key
from custody.ledger import load_actor
from custody.models import ActorRole, check_slug, parse_enum
from custody.timeutil import format_rfc3339
from custody.workspace import Workspace


def write_private_file(path: Path, data: bytes) -> None:
    """Write a new file readable by its owner only (0600), fsynced; an existing file is never
    overwritten (O_EXCL) and a half-written one is removed."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise PolicyError(f"key file {path} already exists; it is never overwritten") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def create_key(
    ws: Workspace, name: str, role: str, *, passphrase_callback: PassphraseCallback | None = None
) -> db.ActorRow:
    """Create an Ed25519 key for actor ``name``. The passphrase comes from
    ``passphrase_callback`` (e.g. a prompt that asks twice), else the workspace's callback.
    The first key of a workspace becomes its default acting key."""
    check_slug(name, what="key name")
    role_value = parse_enum(ActorRole, role, what="role")
    with db.transaction(ws.engine) as session:
        if session.exec(select(db.ActorRow).where(db.ActorRow.name == name)).first():
            raise PolicyError(f"a key named {name!r} already exists in this workspace")
    passphrase = (passphrase_callback or ws.passphrase_callback)(f"new key '{name}'")
    signer = Signer.generate()
    key_file = encrypt_private_key(signer, passphrase, metadata={"name": name, "role": role_value.value})
    path = ws.key_path(name)
    write_private_file(path, key_file)
    row = db.ActorRow(
        key_id=signer.key_id,
        name=name,
        role=role_value.value,
        public_key=signer.public_key.hex,
        created_at=format_rfc3339(ws.clock()),
    )
    try:
        with db.transaction(ws.engine) as session:
            session.add(row)
    except DbIntegrityError as exc:
        path.unlink(missing_ok=True)
        raise PolicyError(f"a key named {name!r} already exists in this workspace") from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if ws.config.default_actor is None:
        ws.config.default_actor = name
        try:
            ws.save_config()
        except OSError as exc:
            raise CustodyError(f"key created, but the default could not be saved: {exc}") from exc
    return row


def list_actors(ws: Workspace) -> list[db.ActorRow]:
    with db.transaction(ws.engine) as session:
        statement = select(db.ActorRow).order_by(db.ActorRow.name)
        return list(session.exec(statement).all())


def public_key_of(ws: Workspace, name: str) -> tuple[db.ActorRow, PublicKey]:
    with db.transaction(ws.engine) as session:
        actor = load_actor(session, name)
    return actor, PublicKey.from_hex(actor.public_key)


def has_private_key(ws: Workspace, name: str) -> bool:
    return ws.key_path(name).is_file()
