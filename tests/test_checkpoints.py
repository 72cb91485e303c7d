"""Signed checkpoints, cosignatures and inclusion proofs of a case's log, and what
``verify_case_log`` says when the bytes behind them are changed in the database (SQLite and
PostgreSQL).

The tamper tests share one workspace per database (module scope): each changes real rows, checks
the report, and puts the original rows back; ``clean`` checks before every test that the log
verifies, so a tamper that was not undone cannot go unnoticed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest

from custody import db, merkle
from custody.actors import create_key, list_actors
from custody.case_checkpoints import (
    cosign_checkpoint,
    list_checkpoints,
    prove_inclusion,
    sign_case_checkpoint,
)
from custody.caselog import list_entries, verify_case_log
from custody.cases import open_case
from custody.checkpoint import Checkpoint, SignedNote, open_checkpoint, sign_checkpoint
from custody.errors import IntegrityError, NotFoundError, PolicyError, SignatureError
from custody.events import _unverified_event
from custody.keys import KdfParams, PublicKey, Signer, encrypt_private_key
from custody.ledger_verify import Report
from custody.logkey import unlock_log_key
from custody.recording import record_files
from custody.tools import register_tool
from custody.workspace import Workspace
from tests.conftest import REQUIRE_POSTGRES, TOOLCARDS, _postgres_base_url, passphrase_callback

CASE = "OP-TEST"
PARSE = "every entry is a DSSE envelope"
ORDER = "sequence numbers run 0..n-1"
SIGNATURES = "every entry is signed by a key"
TIMES = "entry times never run backwards"
CHECKPOINTS = "every checkpoint is signed by the log key"
CONTINUITY = "custody passed hand to hand"
TREE = "the stored Merkle tree matches the entries"
DIGESTS = "the database's index columns match the signed bytes"
COLUMNS = r"^checkpoint 2: database says size 7 root [0-9a-f]{16}\.\.\., the signed note says size 7 root"


@pytest.fixture(autouse=True, scope="module")
def _fast_key_files() -> Iterator[None]:
    """New key files use the cheapest Argon2id parameters custody accepts: these tests are about
    the ledger, not key derivation (tests/core/test_key_files.py covers the real parameters)."""
    with pytest.MonkeyPatch.context() as patch:
        assert encrypt_private_key.__kwdefaults__ is not None
        patch.setitem(encrypt_private_key.__kwdefaults__, "params", KdfParams(1, 1, 8 * 1024))
        yield


# --- helpers ---------------------------------------------------------------------------------------


def record(ws: Workspace, folder: Path, name: str, *, case: str = CASE) -> int:
    path = folder / name
    path.write_bytes(f"capture {name}".encode())
    (outcome,) = record_files(ws, case, [path], tool_spec="adscraper")
    return outcome.sequence


def entries(ws: Workspace) -> list[bytes]:
    return [row.entry for row in list_entries(ws, CASE)]


def published_log_key(ws: Workspace) -> tuple[str, PublicKey, str]:
    """(note name, public key, origin) as the case's case.opened entry publishes them."""
    _, opened = _unverified_event(entries(ws)[0])
    log = opened.body["log"]
    return log["note_name"], PublicKey.from_hex(log["public_key"]), log["origin"]


def open_with_log_key(ws: Workspace, note: bytes) -> Checkpoint:
    name, key, origin = published_log_key(ws)
    return open_checkpoint(note, [(name, key)], origin=origin)


def failed(report: Report) -> dict[str, list[str]]:
    """Failed checks by the first words of their title (the constants above), with failures."""
    titles = (PARSE, ORDER, SIGNATURES, TIMES, CHECKPOINTS, CONTINUITY, TREE, DIGESTS)
    result = {}
    for check in report.checks:
        if not check.ok:
            (short,) = [t for t in titles if check.title.startswith(t)] or [check.title]
            result[short] = check.failures
    return result


# --- one logged case per database, shared by the module --------------------------------------------


@contextmanager
def _postgres_schema() -> Iterator[str]:
    """Like conftest's ``postgres_url``, for a module-scoped workspace."""
    base = _postgres_base_url()
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL at {base} is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {base} is unreachable: {exc}")
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def logged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """Case OP-TEST with 8 entries: case.opened, tool.registered, six artifact.recorded (2-7).
    Checkpoint 1 at size 5, cosigned by pat (a prosecutor); checkpoint 2 at size 7; entry 7 is
    in no checkpoint yet."""
    with ExitStack() as stack:
        url = stack.enter_context(_postgres_schema()) if request.param == "postgres" else None
        base = tmp_path_factory.mktemp(f"logged-{request.param}")
        ws = Workspace.init(base / "ws", database_url=url, passphrase_callback=passphrase_callback)
        stack.callback(ws.close)
        create_key(ws, "ana", "investigator")
        create_key(ws, "pat", "prosecutor")
        open_case(ws, CASE, title="Test case", jurisdictions=["UK"], authority="AUTH/TEST/1")
        register_tool(ws, TOOLCARDS / "scraper.yaml")
        for name in ("a", "b", "c"):
            record(ws, base, name)
        assert sign_case_checkpoint(ws, CASE).size == 5
        cosign_checkpoint(ws, CASE, actor_name="pat")
        for name in ("d", "e"):
            record(ws, base, name)
        assert sign_case_checkpoint(ws, CASE).size == 7
        assert record(ws, base, "f") == 7
        yield ws


@pytest.fixture
def clean(logged: Workspace) -> Workspace:
    """The shared workspace, checked to verify before the test changes anything."""
    report = verify_case_log(logged, CASE)
    assert report.ok, f"the shared workspace was left tampered with: {failed(report)}"
    return logged


# --- signing, cosigning, opening -------------------------------------------------------------------


def test_checkpoint_opens_with_the_published_log_key_and_is_signed_once_per_size(
    case_workspace: Workspace, tmp_path: Path
) -> None:
    ws = case_workspace
    with pytest.raises(NotFoundError, match=f"case {CASE} has no checkpoint"):
        cosign_checkpoint(ws, CASE)
    size = len(entries(ws))
    row = sign_case_checkpoint(ws, CASE)
    assert (row.size, row.reason) == (size, "manual")
    checkpoint = open_with_log_key(ws, row.note)
    assert checkpoint.size == size
    assert checkpoint.root_hash == merkle.mth(entries(ws)) == bytes.fromhex(row.root_hash)
    name, _, origin = published_log_key(ws)
    assert checkpoint.origin == origin
    assert origin.endswith(f"/{CASE}")
    assert row.note.decode().splitlines()[-1].startswith(f"\u2014 {name} ")
    # Another key's signature is not the log's.
    with pytest.raises(SignatureError, match="no signature on the note is by a trusted key"):
        open_checkpoint(row.note, [(name, Signer.generate().public_key)])

    again = sign_case_checkpoint(ws, CASE)
    assert (again.id, again.note) == (row.id, row.note)
    assert [r.id for r in list_checkpoints(ws, CASE)] == [row.id]

    record(ws, tmp_path, "later.html")
    later = sign_case_checkpoint(ws, CASE)
    assert later.id != row.id
    assert open_with_log_key(ws, later.note).size == len(entries(ws)) > size
    assert [r.size for r in list_checkpoints(ws, CASE)] == [size, len(entries(ws))]


def test_cosign_appends_one_line_and_only_once(case_workspace: Workspace) -> None:
    ws = case_workspace
    create_key(ws, "pat", "prosecutor")
    original = sign_case_checkpoint(ws, CASE).note
    row, name = cosign_checkpoint(ws, CASE, actor_name="pat")
    assert name == "pat"
    assert row.note.startswith(original)  # text, blank line and the log's line: byte-identical
    before, after = SignedNote.from_bytes(original), SignedNote.from_bytes(row.note)
    assert after.text == before.text
    assert after.signatures[0] == before.signatures[0]
    assert [s.name for s in after.signatures] == [before.signatures[0].name, "pat"]
    assert row.note.count(b"\n") == original.count(b"\n") + 1
    # The cosignature verifies with pat's key alone, the log's with the log key alone.
    pat = PublicKey.from_hex(next(a.public_key for a in list_actors(ws) if a.name == "pat"))
    assert open_checkpoint(row.note, [("pat", pat)]) == open_with_log_key(ws, original)
    assert open_with_log_key(ws, row.note).size == open_with_log_key(ws, original).size

    with pytest.raises(PolicyError, match=f"pat already cosigned the checkpoint of {CASE} at size"):
        cosign_checkpoint(ws, CASE, actor_name="pat")
    with pytest.raises(NotFoundError, match=f"case {CASE} has no checkpoint at size 99"):
        cosign_checkpoint(ws, CASE, size=99)
    (stored,) = list_checkpoints(ws, CASE)
    assert stored.note == row.note
    # The default actor (ana) may cosign too; verification still passes with both.
    ana_row, _ = cosign_checkpoint(ws, CASE)
    assert ana_row.note.startswith(row.note)
    report = verify_case_log(ws, CASE)
    assert report.ok, failed(report)


def test_every_stored_checkpoint_opens_with_the_log_key(clean: Workspace) -> None:
    ws = clean
    log = entries(ws)
    rows = list_checkpoints(ws, CASE)
    assert [(r.size, r.reason) for r in rows] == [(5, "manual"), (7, "manual")]
    for row in rows:
        checkpoint = open_with_log_key(ws, row.note)
        assert checkpoint.size == row.size
        assert checkpoint.root_hash == merkle.mth(log[: row.size])


# --- inclusion proofs ------------------------------------------------------------------------------


def test_every_entry_has_an_inclusion_proof_to_a_checkpoint_root(clean: Workspace) -> None:
    ws = clean
    log = entries(ws)
    roots = {row.size: open_with_log_key(ws, row.note).root_hash for row in list_checkpoints(ws, CASE)}
    assert sorted(roots) == [5, 7]
    for sequence, entry in enumerate(log):
        proof = prove_inclusion(ws, CASE, sequence)
        # Default: the latest checkpoint that holds the entry, else the whole log.
        expected_size = 7 if sequence < 7 else len(log)
        assert (proof.sequence, proof.size) == (sequence, expected_size)
        assert proof.leaf_hash == merkle.leaf_hash(entry)
        root = roots.get(proof.size, merkle.mth(log))
        assert proof.root == root
        merkle.verify_inclusion(merkle.leaf_hash(entry), sequence, proof.size, proof.path, root)
        for size in range(sequence + 1, len(log) + 1):
            at = prove_inclusion(ws, CASE, sequence, size)
            root = roots.get(size, merkle.mth(log[:size]))
            merkle.verify_inclusion(merkle.leaf_hash(entry), sequence, size, at.path, root)


def test_a_proof_does_not_fit_another_entry_or_root(clean: Workspace) -> None:
    ws = clean
    log = entries(ws)
    proof = prove_inclusion(ws, CASE, 3)
    with pytest.raises(IntegrityError, match="inclusion proof for entry 3 of 7 does not lead to root"):
        merkle.verify_inclusion(merkle.leaf_hash(log[4]), 3, proof.size, proof.path, proof.root)
    path = [proof.path[0][:-1] + bytes([proof.path[0][-1] ^ 1]), *proof.path[1:]]
    with pytest.raises(IntegrityError, match="does not lead to root"):
        merkle.verify_inclusion(proof.leaf_hash, 3, proof.size, path, proof.root)
    with pytest.raises(NotFoundError, match=f"case {CASE} has no entry 8 in a log of 8 entries"):
        prove_inclusion(ws, CASE, 8)
    with pytest.raises(NotFoundError, match="no entry 5 in a log of 5 entries"):
        prove_inclusion(ws, CASE, 5, 5)
    with pytest.raises(NotFoundError, match="no entry 0 in a log of 9 entries"):
        prove_inclusion(ws, CASE, 0, 9)


# --- tampering with the stored bytes ---------------------------------------------------------------


@contextmanager
def changed(ws: Workspace, model: type[Any], key: tuple[Any, ...], **values: Any) -> Iterator[Any]:
    """Set columns of one row; put the old values back afterwards. Yields the old row values."""
    with db.transaction(ws.engine) as session:
        row = session.get(model, key)
        assert row is not None, key
        old = {name: getattr(row, name) for name in values}
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
    try:
        yield old
    finally:
        with db.transaction(ws.engine) as session:
            row = session.get(model, key)
            for name, value in old.items():
                setattr(row, name, value)
            session.add(row)


@contextmanager
def deleted(ws: Workspace, model: type[Any], key: tuple[Any, ...]) -> Iterator[None]:
    """Delete one row; insert it again afterwards."""
    with db.transaction(ws.engine) as session:
        row = session.get(model, key)
        assert row is not None, key
        copy = model(**row.model_dump())
        session.delete(row)
    try:
        yield
    finally:
        with db.transaction(ws.engine) as session:
            session.add(copy)


def checkpoint_key(ws: Workspace, size: int) -> tuple[int]:
    (row,) = [r for r in list_checkpoints(ws, CASE) if r.size == size]
    assert row.id is not None
    return (row.id,)


def note_of(ws: Workspace, size: int) -> SignedNote:
    (row,) = [r for r in list_checkpoints(ws, CASE) if r.size == size]
    return SignedNote.from_bytes(row.note)


def flip_signature_byte(note: SignedNote, line: int) -> bytes:
    """The note with one byte of signature line ``line`` (1-based) changed (its key hash kept)."""
    signatures = list(note.signatures)
    original = signatures[line - 1]
    value = bytearray(original.signature)
    value[17] ^= 0x01
    signatures[line - 1] = type(original)(original.name, original.key_hash, bytes(value))
    return SignedNote(note.text, tuple(signatures)).to_bytes()


def with_root(note: SignedNote, root: bytes) -> bytes:
    """The checkpoint text of ``note`` with another root hash (signatures not touched)."""
    checkpoint = Checkpoint.from_text(note.text)
    return Checkpoint(checkpoint.origin, checkpoint.size, root, checkpoint.extensions).to_text()


def forged_root(ws: Workspace) -> bytes:
    return merkle.mth(entries(ws)[:6])  # a real root, of the wrong size: a plausible fork


Tamper = Callable[[Workspace], Any]  # returns a context manager


def _signature_byte(ws: Workspace) -> Any:
    return changed(ws, db.CheckpointRow, checkpoint_key(ws, 5), note=flip_signature_byte(note_of(ws, 5), 1))


def _cosignature_byte(ws: Workspace) -> Any:
    return changed(ws, db.CheckpointRow, checkpoint_key(ws, 5), note=flip_signature_byte(note_of(ws, 5), 2))


def _root_signed_by_log_key(ws: Workspace) -> Any:
    name, _, _ = published_log_key(ws)
    _, log_signer = unlock_log_key(ws.engine, passphrase_callback)
    note = note_of(ws, 7)
    text = with_root(note, forged_root(ws))
    forged = sign_checkpoint(Checkpoint.from_text(text), name, log_signer).to_bytes()
    return changed(ws, db.CheckpointRow, checkpoint_key(ws, 7), note=forged)


def _root_signed_by_stranger_as_log(ws: Workspace) -> Any:
    name, _, _ = published_log_key(ws)
    note = note_of(ws, 7)
    text = with_root(note, forged_root(ws))
    forged = sign_checkpoint(Checkpoint.from_text(text), name, Signer.generate()).to_bytes()
    return changed(ws, db.CheckpointRow, checkpoint_key(ws, 7), note=forged)


def _root_signed_by_cosigner_only(ws: Workspace) -> Any:
    pat = ws.signer("pat")
    note = note_of(ws, 7)
    forged = sign_checkpoint(Checkpoint.from_text(with_root(note, forged_root(ws))), "pat", pat).to_bytes()
    return changed(ws, db.CheckpointRow, checkpoint_key(ws, 7), note=forged)


def _root_changed_signature_kept(ws: Workspace) -> Any:
    note = note_of(ws, 7)
    forged = SignedNote(with_root(note, forged_root(ws)), note.signatures).to_bytes()
    return changed(ws, db.CheckpointRow, checkpoint_key(ws, 7), note=forged)


def _root_changed_unsigned(ws: Workspace) -> Any:
    note = note_of(ws, 7)
    return changed(ws, db.CheckpointRow, checkpoint_key(ws, 7), note=with_root(note, forged_root(ws)) + b"\n")


def _merkle_node(level: int, index: int) -> Tamper:
    def tamper(ws: Workspace) -> Any:
        return changed(ws, db.MerkleNodeRow, (CASE, level, index), hash=bytes(32))

    return tamper


def _merkle_node_deleted(level: int, index: int) -> Tamper:
    def tamper(ws: Workspace) -> Any:
        return deleted(ws, db.MerkleNodeRow, (CASE, level, index))

    return tamper


def _leaf_hash_column(ws: Workspace) -> Any:
    return changed(ws, db.LedgerEntryRow, (CASE, 3), leaf_hash=merkle.leaf_hash(b"another entry").hex())


def _entry_digest_column(ws: Workspace) -> Any:
    return changed(ws, db.LedgerEntryRow, (CASE, 3), entry_sha256="0" * 64)


def _entry_deleted(ws: Workspace) -> Any:
    return deleted(ws, db.LedgerEntryRow, (CASE, 3))


@contextmanager
def _entries_swapped(ws: Workspace) -> Iterator[None]:
    log = entries(ws)
    with (
        changed(ws, db.LedgerEntryRow, (CASE, 3), entry=log[4]),
        changed(ws, db.LedgerEntryRow, (CASE, 4), entry=log[3]),
    ):
        yield


def _entry_byte(ws: Workspace) -> Any:
    entry = bytearray(entries(ws)[2])
    position = entry.index(b'"payload":"') + 60
    entry[position] = ord("A") if entry[position] != ord("A") else ord("B")
    return changed(ws, db.LedgerEntryRow, (CASE, 2), entry=bytes(entry))


def _log_size(ws: Workspace) -> Any:
    return changed(ws, db.CaseRow, (CASE,), log_size=7)


HEX = "[0-9a-f]{16}"
LOG_NOTE = r"custody-log-[0-9a-f]+\+[0-9a-f]{8}"


@dataclass(frozen=True)
class Expect:
    """What a tamper must do to the report: the checks that must fail, with patterns their first
    failures match in order, and the checks that may fail as a knock-on effect."""

    fails: dict[str, list[str]]
    may_also_fail: frozenset[str] = frozenset()


TAMPERS: dict[str, tuple[Tamper, Expect]] = {
    "checkpoint signature byte": (
        _signature_byte,
        Expect({CHECKPOINTS: [rf"^checkpoint 1: signature line 1 by {LOG_NOTE} does not verify over the"]}),
    ),
    "cosignature byte": (
        _cosignature_byte,
        Expect({CHECKPOINTS: [r"^checkpoint 1: signature line 2 by pat\+[0-9a-f]{8} does not verify over"]}),
    ),
    "root re-signed by the log key": (
        _root_signed_by_log_key,
        Expect(
            {
                CHECKPOINTS: [rf"^checkpoint 2 \(size 7\): root {HEX}\.\.\., the entries give {HEX}\.\.\.$"],
                DIGESTS: [COLUMNS],
            }
        ),
    ),
    "root re-signed by another key under the log's name": (
        _root_signed_by_stranger_as_log,
        Expect(
            {
                CHECKPOINTS: [r"^checkpoint 2: no signature on the note is by a trusted key"],
                DIGESTS: [COLUMNS],
            }
        ),
    ),
    "root re-signed by a cosigner only": (
        _root_signed_by_cosigner_only,
        Expect(
            {
                CHECKPOINTS: [r"^checkpoint 2 \(size 7\): not signed by the log key custody-log-"],
                DIGESTS: [COLUMNS],
            }
        ),
    ),
    "root changed, old signature kept": (
        _root_changed_signature_kept,
        Expect(
            {
                CHECKPOINTS: [rf"^checkpoint 2: signature line 1 by {LOG_NOTE} does not verify over the"],
                DIGESTS: [COLUMNS],
            }
        ),
    ),
    "root changed, signatures removed": (
        _root_changed_unsigned,
        Expect({CHECKPOINTS: [r"^checkpoint 2: signed note has no signature lines"]}),
    ),
    "merkle node on the root path": (
        _merkle_node(3, 0),
        Expect(
            {
                TREE: [
                    rf"^stored Merkle nodes give root 0{{16}}\.\.\., the entries give {HEX}\.\.\.$",
                    rf"^stored Merkle node \(level 3, index 0\) is 0{{16}}\.\.\., the entries give {HEX}",
                ]
            }
        ),
    ),
    "merkle node off the root path": (
        _merkle_node(1, 0),
        Expect(
            {TREE: [rf"^stored Merkle node \(level 1, index 0\) is 0{{16}}\.\.\., the entries give {HEX}"]}
        ),
    ),
    "merkle root node deleted": (
        _merkle_node_deleted(3, 0),
        Expect(
            {
                TREE: [
                    r"^stored Merkle nodes: Merkle node \(level 3, index 0\) covering entries 0\.\.7 ",
                    r"^stored Merkle node \(level 3, index 0\) is missing$",
                ]
            }
        ),
    ),
    "merkle node off the root path deleted": (
        _merkle_node_deleted(2, 1),
        Expect({TREE: [r"^stored Merkle node \(level 2, index 1\) is missing$"]}),
    ),
    "leaf hash column": (
        _leaf_hash_column,
        Expect({TREE: [rf"^entry 3: stored leaf hash {HEX}\.\.\. does not match its bytes$"]}),
    ),
    "entry digest column": (
        _entry_digest_column,
        Expect({DIGESTS: [rf"^entry 3: stored digest 0{{16}}\.\.\., bytes hash to {HEX}\.\.\.$"]}),
    ),
    "entry deleted (gap)": (
        _entry_deleted,
        Expect(
            {
                ORDER: [
                    r"^entry 3: expected sequence 3, found 4$",
                    r"^entry 4: expected sequence 4, found 5$",
                ],
                CHECKPOINTS: [r"^checkpoint 1 \(size 5\): root ", r"^checkpoint 2 \(size 7\): root "],
                DIGESTS: [r"^case says the log has 8 entries, found 7$"],
            },
            frozenset({TREE}),
        ),
    ),
    "entries swapped": (
        _entries_swapped,
        Expect(
            {
                ORDER: [
                    r"^entry 3: expected sequence 3, found 4$",
                    r"^entry 4: expected sequence 4, found 3$",
                ],
                CHECKPOINTS: [r"^checkpoint 1 \(size 5\): root ", r"^checkpoint 2 \(size 7\): root "],
                TREE: [r"^entry 3: stored leaf hash ", r"^entry 4: stored leaf hash "],
                DIGESTS: [r"^entry 3: stored digest ", r"^entry 4: stored digest "],
            },
            frozenset({TIMES}),
        ),
    ),
    "entry byte": (
        _entry_byte,
        Expect(
            {
                PARSE: [r"^entry 2 payload is not valid JSON"],
                SIGNATURES: [r"^entry 2: cannot check a signature on an unreadable entry$"],
                CHECKPOINTS: [r"^checkpoint 1 \(size 5\): root "],
                TREE: [r"^entry 2: stored leaf hash "],
                DIGESTS: [r"^entry 2: stored digest "],
            }
        ),
    ),
    "case log size": (
        _log_size,
        Expect({DIGESTS: [r"^case says the log has 7 entries, found 8$"]}),
    ),
}


@pytest.mark.parametrize("name", list(TAMPERS))
def test_tampering_is_reported_naming_what_broke(clean: Workspace, name: str) -> None:
    tamper, expect = TAMPERS[name]
    with tamper(clean):
        report = verify_case_log(clean, CASE)
    failures = failed(report)
    assert not report.ok
    assert set(expect.fails) <= set(failures) <= set(expect.fails) | expect.may_also_fail, failures
    for check, patterns in expect.fails.items():
        assert len(failures[check]) >= len(patterns), failures[check]
        for pattern, message in zip(patterns, failures[check], strict=False):
            assert re.search(pattern, message), (check, pattern, message)


def test_a_tampered_node_off_the_root_path_would_give_bad_proofs(clean: Workspace) -> None:
    """Why every stored node is checked, not only the root's: proofs are served from them."""
    ws = clean
    checkpoint = open_with_log_key(ws, note_of(ws, 7).to_bytes())
    leaf = merkle.leaf_hash(entries(ws)[2])
    with _merkle_node(1, 0)(ws):
        proof = prove_inclusion(ws, CASE, 2)
        with pytest.raises(IntegrityError, match="inclusion proof for entry 2 of 7 does not lead to root"):
            merkle.verify_inclusion(leaf, 2, proof.size, proof.path, checkpoint.root_hash)
        assert not verify_case_log(ws, CASE).ok
    proof = prove_inclusion(ws, CASE, 2)
    merkle.verify_inclusion(leaf, 2, proof.size, proof.path, checkpoint.root_hash)
