"""Custody continuity from signed events alone: who held the case, and every broken rule named."""

from __future__ import annotations

import pytest
from ledger_builder import LedgerBuilder, fixed_signer, small_ledger

from custody.continuity import Continuity, CustodySpan, trace_custody
from custody.events import CustodyEvent

ALICE, BOB, CAROL = (fixed_signer(name).key_id for name in ("alice", "bob", "carol"))
NAMES = {ALICE: "alice", BOB: "bob", CAROL: "carol"}


def trace(builder: LedgerBuilder) -> Continuity:
    return trace_custody(builder.events(), builder.entry_digests(), NAMES)


def opened_with(*names: str) -> LedgerBuilder:
    """alice opens the case; the other keys introduce themselves."""
    builder = LedgerBuilder()
    builder.open_case("alice")
    for name in names:
        builder.add_key(name)
    return builder


def test_the_opener_is_the_first_custodian() -> None:
    builder = small_ledger()
    result = trace(builder)
    assert result.findings == []
    assert result.spans == [CustodySpan(ALICE, 0, builder.time_at(0))]
    assert result.custodian == ALICE
    assert result.pending_release is None


def test_valid_chain_of_two_transfers() -> None:
    builder = opened_with("bob", "carol")  # entries 0-2
    builder.release("alice", "bob", reason="end of shift")  # 3
    builder.accept("bob", 3)  # 4
    builder.access("bob", b"capture")  # 5: the custodian reads the bytes
    builder.release("bob", "carol")  # 6
    builder.accept("carol", 6)  # 7
    builder.access("carol", b"capture")  # 8
    result = trace(builder)
    assert result.findings == []
    assert [(span.custodian, span.since_sequence) for span in result.spans] == [
        (ALICE, 0),
        (BOB, 4),
        (CAROL, 7),
    ]
    assert result.spans[1].since_time == builder.time_at(4)
    assert result.custodian == CAROL
    assert result.pending_release is None


def test_custody_can_come_back() -> None:
    builder = opened_with("bob")
    builder.release("alice", "bob")  # 2
    builder.accept("bob", 2)  # 3
    builder.release("bob", "alice")  # 4
    builder.accept("alice", 4)  # 5
    result = trace(builder)
    assert result.findings == []
    assert [span.custodian for span in result.spans] == [ALICE, BOB, ALICE]


def test_release_by_a_non_custodian() -> None:
    builder = opened_with("bob", "carol")
    builder.release("bob", "carol")  # 3: bob never held custody
    builder.accept("carol", 3)  # 4
    result = trace(builder)
    assert len(result.findings) == 1
    finding = result.findings[0]
    assert finding.startswith("entry 3: released by bob (")
    assert finding.endswith(f"but the custodian was alice ({ALICE[:12]}...)")


def test_acceptance_citing_the_wrong_sequence() -> None:
    builder = opened_with("bob")
    builder.release("alice", "bob")  # 2
    builder.accept("bob", 1, entry_sha256=builder.entry_digests()[2])  # 3: right digest, wrong number
    result = trace(builder)
    assert result.findings[0].startswith(
        "entry 3: accepts release 1, expected the pending release at entry 2 (sha256 "
    )
    assert builder.entry_digests()[2][:16] in result.findings[0]
    assert result.custodian == ALICE  # the release stays pending: custody did not pass
    assert result.findings[1:] == [
        f"entry 2: release to bob ({BOB[:12]}...) has not been accepted (custody is in transit)"
    ]
    assert result.pending_release == 2


def test_acceptance_citing_the_wrong_entry_digest() -> None:
    builder = opened_with("bob")
    builder.release("alice", "bob")  # 2
    builder.accept("bob", 2, entry_sha256=builder.entry_digests()[1])  # 3: digest of another entry
    result = trace(builder)
    assert result.findings[0].startswith(
        "entry 3: accepts release 2, expected the pending release at entry 2"
    )
    assert result.custodian == ALICE
    assert result.pending_release == 2


def test_acceptance_citing_nothing_readable() -> None:
    builder = opened_with("bob")
    builder.release("alice", "bob")  # 2
    builder.append("custody.accepted", builder.signer("bob"), builder.events()[2].subjects, {"release": 2})
    result = trace(builder)
    assert result.findings[0].startswith(
        "entry 3: accepts release ?, expected the pending release at entry 2"
    )
    assert result.custodian == ALICE


def test_acceptance_by_someone_else() -> None:
    builder = opened_with("bob", "carol")
    builder.release("alice", "bob")  # 3
    builder.accept("carol", 3)  # 4: carol cites bob's release correctly, but it was not for her
    result = trace(builder)
    assert result.findings[0] == (
        f"entry 4: accepted by carol ({CAROL[:12]}...), but entry 3 released to bob ({BOB[:12]}...)"
    )
    assert result.custodian == ALICE
    assert result.pending_release == 3  # bob can still accept
    builder.accept("bob", 3)  # 5
    result = trace(builder)
    assert len(result.findings) == 1
    assert result.custodian == BOB


def test_acceptance_with_no_release_pending() -> None:
    builder = opened_with("bob")
    builder.release("alice", "bob")  # 2
    builder.accept("bob", 2)  # 3
    builder.accept("bob", 2)  # 4: the same release accepted twice
    result = trace(builder)
    assert result.findings == ["entry 4: accepts custody, but no release is pending"]
    assert result.custodian == BOB


def test_second_release_while_one_is_pending() -> None:
    builder = opened_with("bob", "carol")
    builder.release("alice", "bob")  # 3
    builder.release("alice", "carol")  # 4
    result = trace(builder)
    assert result.findings[0] == "entry 4: a new release while the release at entry 3 is still pending"
    # The later release is the pending one; bob can no longer accept the first.
    assert result.pending_release == 4
    assert result.findings[-1].startswith("entry 4: release to carol (")


def test_release_naming_no_receiver() -> None:
    builder = opened_with("bob")
    subjects = builder.events()[0].subjects
    builder.append("custody.released", builder.signer("alice"), subjects, {"to": "bob"})  # 2
    result = trace(builder)
    assert "entry 2: release names no receiver key" in result.findings
    assert result.findings[-1].startswith("entry 2: release to ?")
    assert result.pending_release == 2


def test_access_by_a_non_custodian() -> None:
    builder = opened_with("bob")
    builder.access("alice", b"capture")  # 2: fine, alice holds custody
    builder.access("bob", b"capture", action="view")  # 3
    result = trace(builder)
    assert result.findings == [
        f"entry 3: artifact accessed by bob ({BOB[:12]}...), who was not the custodian "
        f"(alice ({ALICE[:12]}...))"
    ]


def test_access_during_a_pending_release_is_the_releasers() -> None:
    builder = opened_with("bob")
    builder.release("alice", "bob")  # 2
    builder.access("bob", b"capture")  # 3: bob has not accepted yet
    builder.access("alice", b"capture")  # 4: alice still holds custody
    builder.accept("bob", 2)  # 5
    builder.access("alice", b"capture")  # 6: not any more
    result = trace(builder)
    assert [finding.split(":")[0] for finding in result.findings] == ["entry 3", "entry 6"]


def test_pending_release_at_the_end() -> None:
    builder = opened_with("bob")
    builder.record_artifact("alice", b"capture")  # 2
    builder.release("alice", "bob")  # 3
    builder.record_artifact("alice", b"later")  # 4
    result = trace(builder)
    assert result.findings == [
        f"entry 3: release to bob ({BOB[:12]}...) has not been accepted (custody is in transit)"
    ]
    assert result.pending_release == 3
    assert result.custodian == ALICE


def test_unknown_names_fall_back_to_key_ids() -> None:
    builder = opened_with("bob")
    builder.access("bob", b"capture")
    (finding,) = trace_custody(builder.events(), builder.entry_digests()).findings
    assert finding == (
        f"entry 2: artifact accessed by {BOB[:12]}..., who was not the custodian ({ALICE[:12]}...)"
    )


@pytest.mark.parametrize("unreadable", [1, 3])
def test_unreadable_entries_are_skipped(unreadable: int) -> None:
    builder = opened_with("bob")
    builder.release("alice", "bob")  # 2
    builder.accept("bob", 2)  # 3
    events: list[CustodyEvent | None] = list(builder.events())
    events[unreadable] = None
    result = trace_custody(events, builder.entry_digests(), NAMES)
    if unreadable == 3:  # the acceptance is lost: the release is still pending
        assert result.pending_release == 2
        assert result.custodian == ALICE
    else:
        assert result.findings == []
        assert result.custodian == BOB


def test_unreadable_first_entry_leaves_no_custodian() -> None:
    builder = small_ledger()
    events: list[CustodyEvent | None] = list(builder.events())
    events[0] = None
    result = trace_custody(events, builder.entry_digests())
    assert result.spans == []
    assert result.custodian is None
