"""The ledger verifier: numbered checks over raw entries, failures naming the entry."""

from __future__ import annotations

import json
import re

import pytest
from ledger_builder import CASE_ID, LedgerBuilder, fixed_signer, key_description, small_ledger

from custody.canonical import canonical_bytes
from custody.envelope import Envelope
from custody.events import ARTIFACT_RECORDED, CASE_OPENED, CASE_SEALED, KEY_ADDED
from custody.ledger_verify import Report, VerifiedLedger, verify_ledger
from custody.statement import Subject

PARSE, ORDER, SIGNATURES, TIMES = 1, 2, 3, 4
ENTRY_NUMBER = re.compile(r"^entry (\d+)\b")


def verify(entries: list[bytes], case_id: str = CASE_ID) -> tuple[Report, VerifiedLedger]:
    report = Report(subject=f"ledger {case_id}")
    return report, verify_ledger(case_id, entries, report)


def failures(report: Report, number: int) -> list[str]:
    return report.checks[number - 1].failures


def entry_number(message: str) -> int:
    match = ENTRY_NUMBER.match(message)
    assert match, f"failure does not name its entry: {message!r}"
    return int(match.group(1))


def failed_checks(report: Report) -> set[int]:
    return {check.number for check in report.checks if not check.ok}


def test_small_ledger_is_valid() -> None:
    builder = small_ledger()
    report, ledger = verify(builder.entries)
    assert report.ok, report.to_dict()
    assert [c.number for c in report.checks] == [1, 2, 3, 4]
    assert [e.event_type if e else None for e in ledger.events] == [
        CASE_OPENED,
        KEY_ADDED,
        ARTIFACT_RECORDED,
        ARTIFACT_RECORDED,
        ARTIFACT_RECORDED,
    ]
    assert set(ledger.keys) == {fixed_signer("alice").key_id, fixed_signer("bob").key_id}
    assert ledger.keys[fixed_signer("bob").key_id]["name"] == "bob"


def test_ledger_is_reproducible() -> None:
    assert small_ledger().entries == small_ledger().entries


def test_report_dict() -> None:
    report, _ = verify(small_ledger().entries)
    document = report.to_dict()
    assert document["valid"] is True
    assert document["subject"] == f"ledger {CASE_ID}"
    assert [c["status"] for c in document["checks"]] == ["OK"] * 4
    json.dumps(document)


def test_opening_entry_alone_is_valid() -> None:
    builder = LedgerBuilder()
    builder.open_case()
    report, _ = verify(builder.entries)
    assert report.ok


def test_empty_ledger() -> None:
    report, _ = verify([])
    assert not report.ok
    assert failures(report, ORDER) == ["the ledger has no entries (expected case.opened at sequence 0)"]


def test_swapped_entries() -> None:
    entries = small_ledger().entries
    entries[2], entries[3] = entries[3], entries[2]
    report, _ = verify(entries)
    assert not report.ok
    assert failures(report, ORDER) == [
        "entry 2: expected sequence 2, found 3",
        "entry 3: expected sequence 3, found 2",
    ]
    assert any(f.startswith("entry 3: time") for f in failures(report, TIMES))
    assert failures(report, SIGNATURES) == []  # every entry is still validly signed


def test_gap() -> None:
    entries = small_ledger().entries
    del entries[2]
    report, _ = verify(entries)
    assert not report.ok
    assert failures(report, ORDER) == [
        "entry 2: expected sequence 2, found 3",
        "entry 3: expected sequence 3, found 4",
    ]


def test_missing_first_entry() -> None:
    report, _ = verify(small_ledger().entries[1:])
    assert not report.ok
    assert "entry 0: expected sequence 0, found 1" in failures(report, ORDER)
    assert "entry 0: expected case.opened, found key.added" in failures(report, ORDER)


def test_truncated_ledger_is_still_consistent() -> None:
    # Dropping entries at the end cannot be seen from the entries alone (the checkpoint catches it).
    report, _ = verify(small_ledger().entries[:3])
    assert report.ok


def test_entry_for_another_case() -> None:
    builder = small_ledger()
    builder.record_artifact("alice", b"other case", case_id="OP-OTHER")
    report, _ = verify(builder.entries)
    assert failures(report, ORDER) == [f"entry 5: expected case {CASE_ID}, found OP-OTHER"]


def test_verifying_against_the_wrong_case_id() -> None:
    report, _ = verify(small_ledger().entries, case_id="OP-OTHER")
    assert len(failures(report, ORDER)) == 5
    assert failures(report, ORDER)[0] == f"entry 0: expected case OP-OTHER, found {CASE_ID}"


def test_entry_signed_by_unintroduced_key() -> None:
    builder = small_ledger()
    builder.record_artifact("mallory", b"planted")
    report, _ = verify(builder.entries)
    assert failed_checks(report) == {SIGNATURES}
    (message,) = failures(report, SIGNATURES)
    assert message.startswith("entry 5 (artifact.recorded): signed by key ")
    assert fixed_signer("mallory").key_id[:16] in message
    assert "no earlier case.opened or key.added entry introduced" in message


def test_key_used_before_it_is_introduced() -> None:
    builder = LedgerBuilder()
    builder.open_case("alice")
    builder.record_artifact("bob", b"too early")
    builder.add_key("bob")
    builder.record_artifact("bob", b"fine now")
    report, _ = verify(builder.entries)
    assert [m.split(" (")[0] for m in failures(report, SIGNATURES)] == ["entry 1"]


def test_a_tool_service_key_records_but_cannot_hand_custody_on() -> None:
    builder = small_ledger()
    builder.add_key("scraper-svc", role="tool")
    builder.record_artifact("scraper-svc", b"a capture the tool made")  # what a tool does: fine
    builder.release("scraper-svc", "bob")  # what only people do
    report, _ = verify(builder.entries)
    assert failed_checks(report) == {SIGNATURES}
    (message,) = failures(report, SIGNATURES)
    assert message.startswith("entry 7 (custody.released): signed by key ")
    assert (
        "whose role is tool; a tool's service key may sign only artifact.derived, artifact.recorded"
        in message
    )


def test_key_added_signed_by_a_different_key() -> None:
    builder = LedgerBuilder()
    builder.open_case("alice")
    builder.add_key("mallory", signed_by="alice")
    builder.record_artifact("mallory", b"planted")
    report, ledger = verify(builder.entries)
    assert not report.ok
    messages = failures(report, SIGNATURES)
    assert messages[0].startswith("entry 1 (key.added): introduces key ")
    assert "a key must introduce itself" in messages[0]
    assert messages[1].startswith("entry 2 (artifact.recorded): signed by key ")
    assert fixed_signer("mallory").key_id not in ledger.keys


def test_key_added_whose_public_key_does_not_match_its_id() -> None:
    builder = LedgerBuilder()
    builder.open_case("alice")
    bob, mallory = fixed_signer("bob"), fixed_signer("mallory")
    description = {**key_description("bob", bob), "public_key": mallory.public_key.hex}
    builder.append(KEY_ADDED, bob, (Subject("key:bob", bob.key_id),), {"key": description})
    report, _ = verify(builder.entries)
    (message,) = failures(report, SIGNATURES)
    assert message.startswith("entry 1 (key.added): introduced public key hashes to ")


def test_second_case_opened_cannot_introduce_a_key() -> None:
    builder = small_ledger()
    mallory = fixed_signer("mallory")
    body = {"title": "hijack", "opened_by": key_description("mallory", mallory)}
    builder.append(CASE_OPENED, mallory, (Subject(f"case:{CASE_ID}", mallory.key_id),), body)
    builder.record_artifact("mallory", b"planted")
    report, _ = verify(builder.entries)
    assert not report.ok
    assert "entry 5: case.opened may only be entry 0" in failures(report, ORDER)


def test_time_running_backwards() -> None:
    builder = small_ledger()
    builder.record_artifact("alice", b"late", time="2026-06-01T09:01:30Z")  # entry 4 was 09:04
    report, _ = verify(builder.entries)
    assert failed_checks(report) == {TIMES}
    (message,) = failures(report, TIMES)
    assert message.startswith("entry 5: time 2026-06-01T09:01:30Z is earlier than ")
    assert "2026-06-01T09:04:00Z" in message


def test_equal_times_are_fine() -> None:
    builder = small_ledger()
    builder.record_artifact("alice", b"same minute", time=builder.time_at(4))
    report, _ = verify(builder.entries)
    assert report.ok


@pytest.mark.parametrize("index", [0, 1, 3, 4])
def test_corrupted_byte(index: int) -> None:
    entries = small_ledger().entries
    entry = bytearray(entries[index])
    position = entry.index(b'"payload":"') + 40  # inside the base64 statement
    entry[position] = ord("A") if entry[position] != ord("A") else ord("B")
    entries[index] = bytes(entry)
    report, _ = verify(entries)
    assert not report.ok
    named = [entry_number(f) for check in report.checks for f in check.failures]
    # The corrupted entry is named first; later failures can only be knock-on effects (a key
    # introduced by a corrupted entry is unknown afterwards).
    assert named[0] == index
    assert min(named) == index
    assert f"entry {index}" in failures(report, PARSE)[0]


@pytest.mark.parametrize("index", [0, 2, 4])
def test_unreadable_entry(index: int) -> None:
    entries = small_ledger().entries
    entries[index] = entries[index][:-1]  # truncated JSON
    report, ledger = verify(entries)
    assert failures(report, PARSE)[0].startswith(f"entry {index} is not valid JSON")
    assert (
        failures(report, SIGNATURES)[0] == f"entry {index}: cannot check a signature on an unreadable entry"
    )
    assert ledger.events[index] is None


def test_non_canonical_entry_is_reported() -> None:
    entries = small_ledger().entries
    entries[2] = json.dumps(json.loads(entries[2]), indent=1).encode()
    report, _ = verify(entries)
    assert failures(report, PARSE) == ["entry 2 is not the RFC 8785 canonical form of its DSSE envelope"]


def test_signature_replaced_by_another_valid_signature_of_the_same_key() -> None:
    builder = small_ledger()
    entries = builder.entries
    document = json.loads(entries[3])
    document["signatures"] = json.loads(entries[1])["signatures"]  # bob's signature on entry 1
    entries[3] = canonical_bytes(document)
    report, _ = verify(entries)
    (message,) = failures(report, SIGNATURES)
    assert message.startswith("entry 3 (artifact.recorded): ")
    assert "does not verify" in message


def test_invalid_event_inside_a_validly_signed_entry_names_the_entry() -> None:
    builder = small_ledger()
    alice = builder.signers["alice"]
    statement = (
        builder.event(ARTIFACT_RECORDED, alice, (Subject("x", "0" * 64),), {}).to_statement().to_dict()
    )
    statement["predicate"]["time"] = "yesterday"
    envelope = Envelope.sign("application/vnd.in-toto+json", canonical_bytes(statement), alice)
    report, _ = verify([*builder.entries, envelope.to_bytes()])
    (message,) = failures(report, PARSE)
    assert message.startswith("entry 5: event time 'yesterday'")


def test_cosigned_entry_by_unknown_key_still_verifies() -> None:
    builder = small_ledger()
    entries = builder.entries
    entries[2] = Envelope.from_bytes(entries[2]).add_signature(fixed_signer("mallory")).to_bytes()
    report, _ = verify(entries)
    assert report.ok


# --- key revocation --------------------------------------------------------------------------------


def revocation_ledger() -> LedgerBuilder:
    """alice opens; bob and carol (a custodian) add themselves; bob records (entries 0-3)."""
    builder = LedgerBuilder()
    builder.open_case("alice")
    builder.add_key("bob")
    builder.add_key("carol", role="custodian")
    builder.record_artifact("bob", b"before revocation")
    return builder


@pytest.mark.parametrize("revoker", ["bob", "carol"])
def test_entry_signed_after_its_key_was_revoked(revoker: str) -> None:
    builder = revocation_ledger()
    builder.revoke_key("bob", signed_by=revoker)  # 4
    builder.record_artifact("alice", b"others still sign")  # 5
    builder.record_artifact("bob", b"after revocation")  # 6
    report, _ = verify(builder.entries)
    assert failed_checks(report) == {SIGNATURES}
    (message,) = failures(report, SIGNATURES)
    bob = fixed_signer("bob").key_id
    assert message == (
        f"entry 6 (artifact.recorded): signed by key {bob[:16]}... after its revocation at entry 4"
    )


def test_revocation_alone_is_valid() -> None:
    builder = revocation_ledger()
    builder.revoke_key("bob", signed_by="carol")
    builder.record_artifact("carol", b"after revocation")
    report, ledger = verify(builder.entries)
    assert report.ok, report.to_dict()
    assert fixed_signer("bob").key_id in ledger.keys  # still known: its earlier entries stay valid


def test_revoked_key_cannot_introduce_itself_again() -> None:
    builder = revocation_ledger()
    builder.revoke_key("bob")  # 4
    builder.add_key("bob")  # 5
    builder.record_artifact("bob", b"after re-adding")  # 6
    report, _ = verify(builder.entries)
    assert [entry_number(m) for m in failures(report, SIGNATURES)] == [5, 6]
    assert "after its revocation at entry 4" in failures(report, SIGNATURES)[0]


def test_revocation_by_a_non_custodian_other_key_fails_and_has_no_effect() -> None:
    builder = revocation_ledger()
    builder.revoke_key("bob", signed_by="alice")  # 4: alice is an investigator
    builder.record_artifact("bob", b"still allowed")  # 5
    report, _ = verify(builder.entries)
    assert failed_checks(report) == {SIGNATURES}
    (message,) = failures(report, SIGNATURES)
    assert message.startswith("entry 4 (key.revoked): only the key itself or a custodian may revoke it")
    assert "whose role is investigator" in message


def test_revocation_of_a_key_the_ledger_never_introduced() -> None:
    builder = revocation_ledger()
    builder.revoke_key("mallory", signed_by="carol")  # 4
    report, _ = verify(builder.entries)
    assert failures(report, SIGNATURES) == ["entry 4 (key.revoked): names no key this ledger introduced"]


def test_revocation_is_by_position_not_by_claimed_time() -> None:
    builder = revocation_ledger()
    builder.revoke_key("bob", signed_by="carol")  # 4
    # Back-dating the entry does not help: it is still after the revocation in the log.
    builder.record_artifact("bob", b"back-dated", time=builder.time_at(2))  # 5
    report, _ = verify(builder.entries)
    assert failed_checks(report) == {SIGNATURES, TIMES}
    assert entry_number(failures(report, SIGNATURES)[0]) == 5
    assert entry_number(failures(report, TIMES)[0]) == 5


def _seal(builder: LedgerBuilder, by: str = "alice") -> None:
    body = {"size": builder.next_sequence, "root": "00" * 32}
    builder.append(CASE_SEALED, builder.signer(by), (builder._case_subject(),), body)


def test_after_a_seal_only_accesses_and_transfers_may_follow() -> None:
    builder = small_ledger()
    _seal(builder)
    builder.access("alice", b"first capture")
    builder.release("alice", "bob")
    builder.accept("bob", builder.next_sequence - 1)
    assert verify(builder.entries)[0].ok
    builder.record_artifact("bob", b"late evidence")
    report, _ = verify(builder.entries)
    order = report.checks[1]
    assert order.failures == [
        f"entry {len(builder.entries) - 1}: artifact.recorded after the case was sealed at entry 5 "
        "(only accesses and custody transfers may follow)"
    ]
