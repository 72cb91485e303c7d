"""Two-party custody transfers, access events, sealing and key revocation, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from custody import merkle
from custody.actors import create_key, list_actors
from custody.case_checkpoints import cosign_checkpoint, sign_case_checkpoint
from custody.caselog import list_entries, verify_case_log
from custody.cases import get_case, open_case
from custody.checkpoint import open_checkpoint
from custody.errors import InputFileError, IntegrityError, NotFoundError, PolicyError
from custody.events import (
    ARTIFACT_ACCESSED,
    CASE_SEALED,
    CUSTODY_ACCEPTED,
    CUSTODY_RELEASED,
    KEY_ADDED,
    KEY_REVOKED,
    CustodyEvent,
    _unverified_event,
)
from custody.keys import KdfParams, PublicKey, encrypt_private_key
from custody.ledger_verify import Report
from custody.recording import record_files
from custody.store import FileBlobStore
from custody.transfers import (
    accept_custody,
    export_artifact,
    read_artifact,
    release_custody,
    revoke_key,
    seal_case,
)
from custody.workspace import Workspace

CASE = "OP-TEST"
CONTENT = b"<html>an advert, captured</html>"
CONTINUITY = "custody passed hand to hand"
BLOBS = "every recorded artifact's bytes"


@pytest.fixture(autouse=True, scope="module")
def _fast_key_files() -> Iterator[None]:
    """New key files use the cheapest Argon2id parameters custody accepts: these tests are about
    the ledger, not key derivation (tests/core/test_key_files.py covers the real parameters)."""
    with pytest.MonkeyPatch.context() as patch:
        assert encrypt_private_key.__kwdefaults__ is not None
        patch.setitem(encrypt_private_key.__kwdefaults__, "params", KdfParams(1, 1, 8 * 1024))
        yield


@dataclass
class Team:
    """ana (investigator, opened the case, custodian), bob (investigator), carol (custodian role),
    and one artifact recorded by ana."""

    ws: Workspace
    digest: str
    files: Path

    def key_id(self, name: str) -> str:
        return next(actor.key_id for actor in list_actors(self.ws) if actor.name == name)

    def record(self, name: str, content: bytes, *, actor: str | None = None, case: str = CASE) -> str:
        path = self.files / name
        path.write_bytes(content)
        (outcome,) = record_files(self.ws, case, [path], tool_spec="adscraper", actor_name=actor)
        return outcome.digest


@pytest.fixture
def team(case_workspace: Workspace, tmp_path: Path) -> Team:
    create_key(case_workspace, "bob", "investigator")
    create_key(case_workspace, "carol", "custodian")
    files = tmp_path / "files"
    files.mkdir()
    team = Team(case_workspace, "", files)
    team.digest = team.record("advert.html", CONTENT)
    return team


def events(ws: Workspace, case: str = CASE) -> list[CustodyEvent]:
    return [_unverified_event(row.entry)[1] for row in list_entries(ws, case)]


def log_size(ws: Workspace, case: str = CASE) -> int:
    return get_case(ws, case).case.log_size


def failed(report: Report) -> dict[str, list[str]]:
    """Failed checks by title, with their failures."""
    return {check.title: check.failures for check in report.checks if not check.ok}


def only_failures(report: Report, title_start: str) -> list[str]:
    """The failures of the one failing check, which must be the one whose title starts so."""
    failing = failed(report)
    assert [title for title in failing if title.startswith(title_start)] == list(failing), failing
    return next(iter(failing.values()))


def corrupt_blob(ws: Workspace, digest: str) -> None:
    assert isinstance(ws.store, FileBlobStore)
    path = ws.store.path_for(digest)
    path.chmod(0o644)  # blobs are stored read-only
    path.write_bytes(b"<html>an advert, altered</html>")


# --- transfers ---------------------------------------------------------------------------------


def test_release_then_accept_passes_custody(team: Team) -> None:
    ws = team.ws
    release = release_custody(ws, CASE, "bob", reason="end of shift")
    event = events(ws)[release.sequence]
    assert event.event_type == CUSTODY_RELEASED
    assert event.actor == team.key_id("ana")
    assert event.body["to"] == {"key_id": team.key_id("bob"), "name": "bob", "role": "investigator"}
    assert event.body["reason"] == "end of shift"
    summary = get_case(ws, CASE)
    assert summary.custodian == "ana"  # until bob accepts
    assert summary.case.pending_release == release.sequence

    # While the release is pending, verification names it.
    (finding,) = only_failures(verify_case_log(ws, CASE), CONTINUITY)
    assert finding.startswith(f"entry {release.sequence}: release to ")
    assert team.key_id("bob")[:12] in finding  # bob's key is not in this case's ledger yet: no name
    assert finding.endswith("has not been accepted (custody is in transit)")

    acceptance = accept_custody(ws, CASE, actor_name="bob")
    # bob's first entry in this case: his key is introduced (self-signed) just before.
    assert [e.event_type for e in events(ws)[release.sequence + 1 :]] == [KEY_ADDED, CUSTODY_ACCEPTED]
    accepted = events(ws)[acceptance.sequence]
    assert accepted.actor == team.key_id("bob")
    assert accepted.body["release"] == {"sequence": release.sequence, "entry_sha256": release.entry_sha256}
    summary = get_case(ws, CASE)
    assert summary.custodian == "bob"
    assert summary.case.pending_release is None
    report = verify_case_log(ws, CASE)
    assert report.ok, report.to_dict()

    # The new custodian can pass it on; custody can come back.
    release_custody(ws, CASE, "ana", actor_name="bob")
    accept_custody(ws, CASE, actor_name="ana")
    assert get_case(ws, CASE).custodian == "ana"
    assert verify_case_log(ws, CASE).ok


def test_transfer_refusals_write_nothing(team: Team) -> None:
    ws = team.ws
    before = log_size(ws)
    with pytest.raises(PolicyError, match=f"no custody release of {CASE} is waiting to be accepted"):
        accept_custody(ws, CASE, actor_name="bob")
    with pytest.raises(PolicyError, match=f"bob is not the custodian of {CASE}; ana is"):
        release_custody(ws, CASE, "carol", actor_name="bob")
    with pytest.raises(PolicyError, match=f"ana already holds custody of {CASE}"):
        release_custody(ws, CASE, "ana")
    with pytest.raises(NotFoundError, match="no key named 'nobody'"):
        release_custody(ws, CASE, "nobody")
    assert log_size(ws) == before  # not even a key.added for bob or carol

    release = release_custody(ws, CASE, "bob")
    with pytest.raises(
        PolicyError, match=f"already released at entry {release.sequence} and not yet accepted"
    ):
        release_custody(ws, CASE, "carol")
    with pytest.raises(PolicyError, match=f"custody of {CASE} was released to bob, not carol"):
        accept_custody(ws, CASE, actor_name="carol")
    with pytest.raises(PolicyError, match=f"custody of {CASE} was released to bob, not ana"):
        accept_custody(ws, CASE)
    with pytest.raises(PolicyError, match=f"release at entry {release.sequence} is still pending"):
        seal_case(ws, CASE)
    assert log_size(ws) == release.sequence + 1
    assert get_case(ws, CASE).case.pending_release == release.sequence

    accept_custody(ws, CASE, actor_name="bob")
    with pytest.raises(PolicyError, match="no custody release"):
        accept_custody(ws, CASE, actor_name="bob")
    with pytest.raises(PolicyError, match=f"ana is not the custodian of {CASE}; bob is"):
        release_custody(ws, CASE, "carol")
    assert get_case(ws, CASE).custodian == "bob"
    assert verify_case_log(ws, CASE).ok


# --- access events -------------------------------------------------------------------------------


def test_export_artifact_writes_a_verified_copy_and_records_the_access(team: Team, tmp_path: Path) -> None:
    ws = team.ws
    out = tmp_path / "out"
    out.mkdir()
    destination = out / "copy.html"
    access = export_artifact(ws, CASE, team.digest[:12], destination, purpose="expert review")
    assert access.digest == team.digest
    assert access.by_custodian
    assert destination.read_bytes() == CONTENT
    assert list(out.iterdir()) == [destination]  # no temporary file left beside it
    event = events(ws)[access.sequence]
    assert access.sequence == log_size(ws) - 1
    assert event.event_type == ARTIFACT_ACCESSED
    assert event.actor == team.key_id("ana")
    assert event.body == {"artifact": {"sha256": team.digest}, "action": "export", "purpose": "expert review"}
    assert [s.sha256 for s in event.subjects] == [team.digest]

    # Never overwritten; nothing recorded for the refusal.
    before = log_size(ws)
    with pytest.raises(InputFileError, match=r"copy\.html already exists; custody never overwrites a file"):
        export_artifact(ws, CASE, team.digest, destination)
    with pytest.raises(InputFileError, match="does not exist"):
        export_artifact(ws, CASE, team.digest, out / "missing" / "copy.html")
    assert destination.read_bytes() == CONTENT
    assert log_size(ws) == before

    viewed, data = read_artifact(ws, CASE, team.digest)
    assert data == CONTENT
    assert events(ws)[viewed.sequence].body == {"artifact": {"sha256": team.digest}, "action": "view"}
    report = verify_case_log(ws, CASE)
    assert report.ok, report.to_dict()


def test_corrupted_blob_is_never_released_and_no_access_is_recorded(team: Team, tmp_path: Path) -> None:
    ws = team.ws
    corrupt_blob(ws, team.digest)
    before = log_size(ws)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(IntegrityError, match=f"blob {team.digest} is corrupt"):
        export_artifact(ws, CASE, team.digest, out / "copy.html")
    with pytest.raises(IntegrityError, match=f"blob {team.digest} is corrupt"):
        read_artifact(ws, CASE, team.digest)
    assert list(out.iterdir()) == []
    assert log_size(ws) == before
    assert ARTIFACT_ACCESSED not in [e.event_type for e in events(ws)]
    (failure,) = only_failures(verify_case_log(ws, CASE), BLOBS)
    assert team.digest in failure


def test_access_by_a_non_custodian_is_recorded_and_flagged(team: Team, tmp_path: Path) -> None:
    ws = team.ws
    access, data = read_artifact(ws, CASE, team.digest, actor_name="bob", purpose="curiosity")
    assert data == CONTENT
    assert not access.by_custodian
    event = events(ws)[access.sequence]
    assert (event.event_type, event.actor) == (ARTIFACT_ACCESSED, team.key_id("bob"))
    (finding,) = only_failures(verify_case_log(ws, CASE), CONTINUITY)
    assert finding.startswith(f"entry {access.sequence}: artifact accessed by bob (")
    assert "who was not the custodian (ana (" in finding

    exported = export_artifact(ws, CASE, team.digest, tmp_path / "bob.html", actor_name="bob")
    assert not exported.by_custodian
    findings = only_failures(verify_case_log(ws, CASE), CONTINUITY)
    assert [f.split(":")[0] for f in findings] == [f"entry {access.sequence}", f"entry {exported.sequence}"]


# --- sealing -------------------------------------------------------------------------------------


def test_seal_takes_a_final_checkpoint_and_then_only_accesses_and_transfers(
    team: Team, tmp_path: Path
) -> None:
    ws = team.ws
    with pytest.raises(PolicyError, match=rf"only the custodian of {CASE} \(ana\) can seal it"):
        seal_case(ws, CASE, actor_name="bob")
    before = log_size(ws)
    row, checkpoint = seal_case(ws, CASE)
    assert row.sequence == before
    assert row.event_type == CASE_SEALED
    assert checkpoint.size == before + 1 == log_size(ws)
    assert checkpoint.reason == "seal"
    assert get_case(ws, CASE).case.sealed_at == row.time

    entries = [r.entry for r in list_entries(ws, CASE)]
    sealed = events(ws)[row.sequence]
    # The seal entry binds the log it closes; the checkpoint covers the seal entry too.
    assert sealed.body == {"size": before, "root": merkle.mth(entries[:before]).hex()}
    log = events(ws)[0].body["log"]
    opened = open_checkpoint(
        checkpoint.note, [(log["note_name"], PublicKey.from_hex(log["public_key"]))], origin=log["origin"]
    )
    assert (opened.size, opened.root_hash) == (len(entries), merkle.mth(entries))
    assert checkpoint.root_hash == merkle.mth(entries).hex()
    report = verify_case_log(ws, CASE)
    assert report.ok, report.to_dict()

    with pytest.raises(PolicyError, match=f"case {CASE} was sealed at .*: it takes no new evidence"):
        team.record("late.html", b"too late")
    with pytest.raises(PolicyError, match=r"sealed .* no new evidence or claims \(case.sealed\)"):
        seal_case(ws, CASE)
    assert log_size(ws) == len(entries)
    # Asking for a checkpoint of a sealed case gives the seal's; a cosignature is still welcome.
    assert sign_case_checkpoint(ws, CASE).id == checkpoint.id
    cosigned, _ = cosign_checkpoint(ws, CASE, actor_name="carol")
    assert cosigned.note.startswith(checkpoint.note)
    assert verify_case_log(ws, CASE).ok
    # Evidence stays readable, every read logged, and custody can still pass on (e.g. to court).
    release_custody(ws, CASE, "bob", reason="to the court's exhibits officer")
    accept_custody(ws, CASE, actor_name="bob")
    export_artifact(ws, CASE, team.digest, tmp_path / "court-copy.html", actor_name="bob")
    assert verify_case_log(ws, CASE).ok
    after_transfers = log_size(ws)
    assert revoke_key(ws, "ana", reason="left the unit") == []  # a sealed case gets no key.revoked
    assert log_size(ws) == after_transfers


# --- key revocation ------------------------------------------------------------------------------


def test_revoked_key_is_recorded_in_each_open_case_and_cannot_sign(team: Team) -> None:
    ws = team.ws
    team.record("bob.html", b"recorded by bob", actor="bob")  # the case now knows bob's key
    open_case(ws, "OP-OTHER", title="Other case", jurisdictions=["UK"], authority="AUTH/2")
    other_before = log_size(ws, "OP-OTHER")

    written = revoke_key(ws, "bob", reason="lost laptop", actor_name="carol")
    size = log_size(ws)
    assert written == [(CASE, size - 1)]  # OP-OTHER never knew bob's key
    assert log_size(ws, "OP-OTHER") == other_before
    carol_added, revoked = events(ws)[-2:]
    assert (carol_added.event_type, carol_added.actor) == (KEY_ADDED, team.key_id("carol"))
    assert revoked.event_type == KEY_REVOKED
    assert revoked.actor == team.key_id("carol")
    assert revoked.body == {"key": {"key_id": team.key_id("bob"), "name": "bob"}, "reason": "lost laptop"}
    bob = next(actor for actor in list_actors(ws) if actor.name == "bob")
    assert bob.revoked_at == revoked.time

    with pytest.raises(PolicyError, match=r"key 'bob' \(.*\) was revoked at"):
        team.record("late.html", b"after revocation", actor="bob")
    with pytest.raises(PolicyError, match=r"key 'bob' .* was revoked"):
        read_artifact(ws, CASE, team.digest, actor_name="bob")
    with pytest.raises(PolicyError, match=r"key 'bob' .* was revoked"):
        cosign_checkpoint(ws, CASE, actor_name="bob")
    with pytest.raises(PolicyError, match=r"key 'bob' was revoked at .*; it cannot receive custody"):
        release_custody(ws, CASE, "bob")
    with pytest.raises(PolicyError, match="key 'bob' was already revoked"):
        revoke_key(ws, "bob", reason="again", actor_name="carol")
    assert log_size(ws) == size
    report = verify_case_log(ws, CASE)
    assert report.ok, report.to_dict()


def test_revocation_needs_the_key_itself_or_a_custodian(team: Team) -> None:
    ws = team.ws
    team.record("bob.html", b"recorded by bob", actor="bob")
    before = log_size(ws)
    with pytest.raises(PolicyError, match="only ana or a custodian may revoke ana's key; bob's role"):
        revoke_key(ws, "ana", reason="hostile", actor_name="bob")
    # Being the case's custodian is not the custodian role.
    with pytest.raises(PolicyError, match="only bob or a custodian may revoke bob's key; ana's role"):
        revoke_key(ws, "bob", reason="hostile")
    assert log_size(ws) == before
    assert all(actor.revoked_at is None for actor in list_actors(ws))

    assert revoke_key(ws, "bob", reason="leaving", actor_name="bob") == [(CASE, before)]
    revoked = events(ws)[before]
    assert (revoked.event_type, revoked.actor) == (KEY_REVOKED, team.key_id("bob"))
    assert verify_case_log(ws, CASE).ok
