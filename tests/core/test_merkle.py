"""Merkle tree math: RFC 6962 known answers, RFC recursion cross-checks, tamper probes, cost bounds.

The probes that corrupt a valid proof are those of the Certificate Transparency verifier tests
(transparency-dev/merkle proof/verify_test.go): every one of them must be rejected.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody import merkle
from custody.errors import IntegrityError, NotFoundError
from custody.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    append_needs,
    append_nodes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    mth,
    node_hash,
    nodes_for_consistency,
    nodes_for_inclusion,
    nodes_for_root,
    root,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)

VECTOR_FILE = Path(__file__).parents[1] / "vectors" / "rfc6962_merkle.json"
VECTORS: dict[str, Any] = json.loads(VECTOR_FILE.read_text())
LEAVES = [bytes.fromhex(leaf) for leaf in VECTORS["leaves"]]
ROOTS = {int(size): bytes.fromhex(value) for size, value in VECTORS["roots"].items()}
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def _h(values: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(value) for value in values]


# --- reference proofs, straight from the RFC 9162 section 2.1.3.1 / 2.1.4.1 recursion -----------


def reference_path(m: int, entries: Sequence[bytes]) -> list[bytes]:
    n = len(entries)
    if n == 1:
        return []
    k = merkle.split_point(n)
    if m < k:
        return [*reference_path(m, entries[:k]), mth(entries[k:])]
    return [*reference_path(m - k, entries[k:]), mth(entries[:k])]


def reference_subproof(m: int, entries: Sequence[bytes], known: bool) -> list[bytes]:
    n = len(entries)
    if m == n:
        return [] if known else [mth(entries)]
    k = merkle.split_point(n)
    if m <= k:
        return [*reference_subproof(m, entries[:k], known), mth(entries[k:])]
    return [*reference_subproof(m - k, entries[k:], False), mth(entries[:k])]


def reference_proof(m: int, entries: Sequence[bytes]) -> list[bytes]:
    return [] if m in (0, len(entries)) else reference_subproof(m, entries, True)


# --- corruption probes (transparency-dev/merkle verify_test.go) ---------------------------------


def _flip(data: bytes, position: int = 0, mask: int = 8) -> bytes:
    mutated = bytearray(data)
    mutated[position] ^= mask
    return bytes(mutated)


def inclusion_probes(
    index: int, size: int, proof: list[bytes], root_hash: bytes, leaf: bytes
) -> list[tuple[str, tuple[Any, ...]]]:
    probes: list[tuple[str, tuple[Any, ...]]] = [
        ("index - 1", (leaf, index - 1, size, proof, root_hash)),
        ("index + 1", (leaf, index + 1, size, proof, root_hash)),
        ("index ^ 2", (leaf, index ^ 2, size, proof, root_hash)),
        ("size * 2", (leaf, index, size * 2, proof, root_hash)),
        ("size // 2", (leaf, index, size // 2, proof, root_hash)),
        ("wrong leaf", (leaf_hash(b"WrongLeaf"), index, size, proof, root_hash)),
        ("empty root", (leaf, index, size, proof, EMPTY_ROOT)),
        ("random root", (leaf, index, size, proof, SOME_HASH)),
        ("flipped root", (leaf, index, size, proof, _flip(root_hash))),
        ("trailing garbage", (leaf, index, size, [*proof, b""], root_hash)),
        ("trailing root", (leaf, index, size, [*proof, root_hash], root_hash)),
        ("preceding garbage", (leaf, index, size, [b"", *proof], root_hash)),
        ("preceding root", (leaf, index, size, [root_hash, *proof], root_hash)),
    ]
    for i in range(len(proof)):
        for position in (0, 31):
            wrong = list(proof)
            wrong[i] = _flip(wrong[i], position)
            probes.append((f"proof[{i}] byte {position} flipped", (leaf, index, size, wrong, root_hash)))
    if proof:
        probes.append(("removed component", (leaf, index, size, proof[:-1], root_hash)))
    if len(proof) > 1:
        inserted = [proof[0], SOME_HASH, *proof[1:]]
        probes.append(("inserted component", (leaf, index, size, inserted, root_hash)))
    return probes


def consistency_probes(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> list[tuple[str, tuple[Any, ...]]]:
    probes: list[tuple[str, tuple[Any, ...]]] = [
        ("old - 1", (old - 1, new, old_root, new_root, proof)),
        ("old + 1", (old + 1, new, old_root, new_root, proof)),
        ("old ^ 2", (old ^ 2, new, old_root, new_root, proof)),
        ("new * 2", (old, new * 2, old_root, new_root, proof)),
        ("new // 2", (old, new // 2, old_root, new_root, proof)),
        ("wrong old root", (old, new, _flip(old_root), new_root, proof)),
        ("wrong new root", (old, new, old_root, _flip(new_root), proof)),
        ("swapped roots", (old, new, new_root, old_root, proof)),
        ("empty proof", (old, new, old_root, new_root, [])),
        ("trailing garbage", (old, new, old_root, new_root, [*proof, b""])),
        ("trailing old root", (old, new, old_root, new_root, [*proof, old_root])),
        ("trailing new root", (old, new, old_root, new_root, [*proof, new_root])),
        ("preceding garbage", (old, new, old_root, new_root, [b"", *proof])),
        ("preceding old root", (old, new, old_root, new_root, [old_root, *proof])),
        ("preceding new root", (old, new, old_root, new_root, [new_root, *proof])),
        ("preceding proof[0]", (old, new, old_root, new_root, [proof[0], *proof])),
        ("truncated proof", (old, new, old_root, new_root, proof[:-1])),
    ]
    for i in range(len(proof)):
        for position in (0, 31):
            wrong = list(proof)
            wrong[i] = _flip(wrong[i], position, 16)
            probes.append((f"proof[{i}] byte {position} flipped", (old, new, old_root, new_root, wrong)))
    return probes


def assert_inclusion_checks(index: int, size: int, proof: list[bytes], root_hash: bytes, leaf: bytes) -> None:
    verify_inclusion(leaf, index, size, proof, root_hash)
    accepted = []
    for description, arguments in inclusion_probes(index, size, proof, root_hash, leaf):
        try:
            verify_inclusion(*arguments)
        except IntegrityError:
            continue
        accepted.append(description)
    assert not accepted, f"entry {index} of {size}: corrupted proofs accepted: {accepted}"


def assert_consistency_checks(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> None:
    verify_consistency(old, new, old_root, new_root, proof)
    if not proof:
        return
    accepted = []
    for description, arguments in consistency_probes(old, new, old_root, new_root, proof):
        try:
            verify_consistency(*arguments)
        except IntegrityError:
            continue
        accepted.append(description)
    assert not accepted, f"{old} -> {new}: corrupted proofs accepted: {accepted}"


# --- known answers -------------------------------------------------------------------------------


def test_vector_file_holds_the_published_data() -> None:
    assert len(LEAVES) == 8
    assert sorted(ROOTS) == list(range(9))
    assert ROOTS[1].hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert ROOTS[8].hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def test_hash_primitives_are_rfc6962() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT == ROOTS[0]
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest() == ROOTS[1]
    assert node_hash(leaf_hash(LEAVES[0]), leaf_hash(LEAVES[1])) == ROOTS[2]


@pytest.mark.parametrize("size", range(9))
def test_reference_mth_matches_published_roots(size: int) -> None:
    # Guards the reference itself: every other check in this file trusts mth().
    assert mth(LEAVES[:size]) == ROOTS[size]


@pytest.mark.parametrize("size", range(9))
def test_stored_node_roots_match_published_roots(size: int) -> None:
    tree = MemoryTree.from_entries(LEAVES)
    assert tree.root(size) == ROOTS[size]
    assert root(size, tree.nodes) == ROOTS[size]


@pytest.mark.parametrize(
    ("n", "k"),
    [(2, 1), (3, 2), (4, 2), (5, 4), (6, 4), (7, 4), (8, 4), (9, 8), (1000, 512), (2**40 + 1, 2**40)],
)
def test_split_point_is_the_largest_power_of_two_below_n(n: int, k: int) -> None:
    # A midpoint split would give another, silently non-interoperable tree for odd sizes.
    assert merkle.split_point(n) == k


@pytest.mark.parametrize("vector", VECTORS["inclusion"], ids=lambda v: f"{v['index']}-of-{v['size']}")
def test_published_inclusion_proofs(vector: dict[str, Any]) -> None:
    index, size, expected = vector["index"], vector["size"], _h(vector["proof"])
    tree = MemoryTree.from_entries(LEAVES)
    assert tree.inclusion_proof(index, size) == expected
    assert reference_path(index, LEAVES[:size]) == expected
    assert_inclusion_checks(index, size, expected, ROOTS[size], leaf_hash(LEAVES[index]))


@pytest.mark.parametrize(
    "vector", VECTORS["consistency"], ids=lambda v: f"{v['old_size']}-to-{v['new_size']}"
)
def test_published_consistency_proofs(vector: dict[str, Any]) -> None:
    old, new, expected = vector["old_size"], vector["new_size"], _h(vector["proof"])
    tree = MemoryTree.from_entries(LEAVES)
    assert tree.consistency_proof(old, new) == expected
    assert reference_proof(old, LEAVES[:new]) == expected
    assert_consistency_checks(old, new, ROOTS[old], ROOTS[new], expected)


# --- every shape, against the RFC recursion ------------------------------------------------------

SMALL = [b"entry %d" % i for i in range(64)]
SMALL_TREE = MemoryTree.from_entries(SMALL)


@pytest.mark.parametrize("size", range(1, 65))
def test_every_inclusion_proof_up_to_64_entries(size: int) -> None:
    root_hash = SMALL_TREE.root(size)
    assert root_hash == mth(SMALL[:size])
    for index in range(size):
        proof = SMALL_TREE.inclusion_proof(index, size)
        assert proof == reference_path(index, SMALL[:size])
        assert len(proof) == merkle.inclusion_proof_length(index, size)
        assert_inclusion_checks(index, size, proof, root_hash, leaf_hash(SMALL[index]))


@pytest.mark.parametrize("new", range(65))
def test_every_consistency_proof_up_to_64_entries(new: int) -> None:
    for old in range(new + 1):
        proof = SMALL_TREE.consistency_proof(old, new)
        assert proof == reference_proof(old, SMALL[:new])
        assert len(proof) == merkle.consistency_proof_length(old, new)
        assert_consistency_checks(old, new, SMALL_TREE.root(old), SMALL_TREE.root(new), proof)


def test_subtree_hash_is_mth_of_the_slice() -> None:
    for start, end in [(0, 0), (0, 64), (32, 64), (32, 45), (40, 47), (8, 16), (4, 10), (63, 64)]:
        assert subtree_hash(start, end, SMALL_TREE.nodes) == mth(SMALL[start:end]), (start, end)


def test_subtree_hash_refuses_ranges_not_made_of_complete_subtrees() -> None:
    with pytest.raises(ValueError, match=r"\[3, 5\) is not made of complete subtrees"):
        subtree_hash(3, 5, SMALL_TREE.nodes)
    with pytest.raises(ValueError, match="ends before it starts"):
        subtree_hash(5, 3, SMALL_TREE.nodes)


# --- verifier edge cases and messages ------------------------------------------------------------


def test_inclusion_message_names_entry_size_and_both_roots() -> None:
    tree = MemoryTree.from_entries(LEAVES)
    proof = tree.inclusion_proof(5)
    wrong_root = _flip(ROOTS[8])
    with pytest.raises(IntegrityError) as caught:
        verify_inclusion(leaf_hash(LEAVES[5]), 5, 8, proof, wrong_root)
    assert str(caught.value) == (
        f"inclusion proof for entry 5 of 8 does not lead to root {wrong_root.hex()}, "
        f"computed {ROOTS[8].hex()}"
    )


@pytest.mark.parametrize(
    ("index", "size", "proof_length", "match"),
    [
        (8, 8, 3, "entry 8 is not in a log of 8 entries"),
        (0, 0, 0, "entry 0 is not in a log of 0 entries"),
        (-1, 8, 3, "entry index -1 is not a non-negative integer"),
        (5, 8, 2, "inclusion proof for entry 5 of 8 has 2 hashes, expected 3"),
        (5, 8, 4, "inclusion proof for entry 5 of 8 has 4 hashes, expected 3"),
        (0, 1, 1, "inclusion proof for entry 0 of 1 has 1 hashes, expected 0"),
    ],
)
def test_inclusion_refuses_impossible_claims(index: int, size: int, proof_length: int, match: str) -> None:
    with pytest.raises(IntegrityError, match=match):
        verify_inclusion(leaf_hash(b"x"), index, size, [SOME_HASH] * proof_length, SOME_HASH)


def test_inclusion_refuses_hashes_of_the_wrong_length() -> None:
    with pytest.raises(IntegrityError, match="hash 1 of the inclusion proof for entry 0 of 8 is 31 bytes"):
        verify_inclusion(leaf_hash(b"x"), 0, 8, [SOME_HASH, SOME_HASH[:31], SOME_HASH], SOME_HASH)
    with pytest.raises(IntegrityError, match=r"leaf hash .* is 0 bytes"):
        verify_inclusion(b"", 0, 1, [], SOME_HASH)
    with pytest.raises(IntegrityError, match=r"root hash .* is 33 bytes"):
        verify_inclusion(SOME_HASH, 0, 1, [], SOME_HASH + b"\x00")


def test_single_entry_tree_root_is_the_leaf_hash() -> None:
    verify_inclusion(leaf_hash(b"data"), 0, 1, [], leaf_hash(b"data"))
    with pytest.raises(IntegrityError, match="does not lead to root"):
        verify_inclusion(leaf_hash(b"data"), 0, 1, [], leaf_hash(b"other"))


def test_consistency_trivial_cases() -> None:
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    verify_consistency(5, 5, ROOTS[5], ROOTS[5], [])
    with pytest.raises(IntegrityError, match="two roots for the same 5 entries differ"):
        verify_consistency(5, 5, ROOTS[5], ROOTS[6], [])
    with pytest.raises(IntegrityError, match="root of the empty log must be e3b0c442"):
        verify_consistency(0, 5, ROOTS[1], ROOTS[5], [])
    with pytest.raises(IntegrityError, match="from size 5 to 5 has 1 hashes, expected 0"):
        verify_consistency(5, 5, ROOTS[5], ROOTS[5], [ROOTS[5]])
    with pytest.raises(IntegrityError, match="from size 0 to 5 has 1 hashes, expected 0"):
        verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [EMPTY_ROOT])


def test_consistency_refuses_a_shrinking_log() -> None:
    with pytest.raises(IntegrityError, match="the log shrank from 6 to 5 entries"):
        verify_consistency(6, 5, ROOTS[6], ROOTS[5], [])


def test_consistency_message_names_sizes_and_roots() -> None:
    proof = MemoryTree.from_entries(LEAVES).consistency_proof(6, 8)
    with pytest.raises(IntegrityError, match=f"from size 6 to 8 does not lead to old root {ROOTS[5].hex()}"):
        verify_consistency(6, 8, ROOTS[5], ROOTS[8], proof)
    with pytest.raises(IntegrityError, match=f"from size 6 to 8 does not lead to new root {ROOTS[7].hex()}"):
        verify_consistency(6, 8, ROOTS[6], ROOTS[7], proof)


def test_inclusion_proofs_do_not_bind_the_size_on_their_own() -> None:
    # RFC 6962 property worth knowing: entry 0's proof in the tree of 3 also "verifies" as a tree
    # of 4 against the size-3 root. Size and root must come from the same signed checkpoint.
    tree = MemoryTree.from_entries(LEAVES)
    proof = tree.inclusion_proof(0, 3)
    verify_inclusion(leaf_hash(LEAVES[0]), 0, 4, proof, ROOTS[3])
    with pytest.raises(IntegrityError):
        verify_inclusion(leaf_hash(LEAVES[0]), 0, 4, proof, ROOTS[4])


# --- generation errors ---------------------------------------------------------------------------


def test_generation_refuses_entries_outside_the_tree() -> None:
    tree = MemoryTree.from_entries(LEAVES)
    with pytest.raises(NotFoundError, match="entry 8 is not in a log of 8 entries"):
        tree.inclusion_proof(8)
    with pytest.raises(NotFoundError, match="entry 3 is not in a log of 3 entries"):
        inclusion_proof(3, 3, tree.nodes)
    with pytest.raises(NotFoundError, match="the log has 8 entries; there is no tree of size 9"):
        tree.root(9)
    with pytest.raises(ValueError, match="a log only grows: old size 6 is larger than new size 5"):
        consistency_proof(6, 5, tree.nodes)
    with pytest.raises(ValueError, match="tree size must be a non-negative integer"):
        root(-1, tree.nodes)


def test_missing_node_is_an_integrity_error_naming_it() -> None:
    tree = MemoryTree.from_entries(LEAVES)
    nodes = dict(tree.nodes)
    del nodes[(1, 2)]
    with pytest.raises(IntegrityError, match=r"node \(level 1, index 2\) covering entries 4..5 is missing"):
        inclusion_proof(7, 8, nodes)
    nodes[(1, 2)] = b"short"
    with pytest.raises(IntegrityError, match=r"node \(level 1, index 2\) is 5 bytes, expected 32"):
        root(6, nodes)


# --- the batched form reads exactly what it announces ---------------------------------------------


class RecordingNodes:
    """A NodeGetter over a real tree that records every lookup."""

    def __init__(self, tree: MemoryTree) -> None:
        self.tree = tree
        self.calls: list[tuple[int, int]] = []

    def __call__(self, level: int, index: int) -> bytes:
        self.calls.append((level, index))
        return self.tree.nodes[(level, index)]


def test_nodes_for_functions_list_exactly_the_nodes_read() -> None:
    tree = MemoryTree.from_entries(SMALL[:45])
    cases: list[tuple[list[tuple[int, int]], Callable[[merkle.Nodes], object]]] = []
    for index in (0, 13, 31, 32, 44):
        cases.append((nodes_for_inclusion(index, 45), functools.partial(inclusion_proof, index, 45)))
    for old in (1, 7, 16, 32, 33, 44):
        cases.append((nodes_for_consistency(old, 45), functools.partial(consistency_proof, old, 45)))
    cases.append((nodes_for_root(45), functools.partial(root, 45)))
    cases.append((append_needs(45), functools.partial(append_nodes, 45, leaf_hash(b"new"))))
    for announced, compute in cases:
        recording = RecordingNodes(tree)
        from_getter = compute(recording)
        assert set(recording.calls) == set(announced)
        assert len(announced) == len(set(announced))
        # One batched fetch of the announced nodes is enough.
        batch = {node: tree.nodes[node] for node in announced}
        assert compute(batch) == from_getter


# --- appends -------------------------------------------------------------------------------------


def _complete_subtrees(size: int) -> set[tuple[int, int]]:
    return {(level, index) for level in range(size.bit_length()) for index in range(size >> level)}


def test_append_nodes_of_the_eighth_entry() -> None:
    tree = MemoryTree.from_entries(LEAVES[:7])
    assert append_needs(7) == [(0, 6), (1, 2), (2, 0)]
    created = append_nodes(7, leaf_hash(LEAVES[7]), tree.nodes)
    assert [(level, index) for level, index, _ in created] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert created[-1][2] == ROOTS[8]
    assert append_needs(8) == []


@settings(max_examples=40, deadline=None)
@given(entries=st.lists(st.binary(max_size=12), max_size=300))
def test_append_stores_exactly_the_complete_subtrees(entries: list[bytes]) -> None:
    tree = MemoryTree()
    for position, entry in enumerate(entries):
        assert tree.append(entry) == position
    assert set(tree.nodes) == _complete_subtrees(len(entries))
    for (level, index), value in tree.nodes.items():
        assert value == mth(entries[index << level : (index + 1) << level])
    assert tree.root() == mth(entries)


# --- properties ----------------------------------------------------------------------------------

# Unique entries: with duplicates, a proof for one copy is honestly a proof for the other.
distinct_logs = st.lists(st.binary(max_size=16), unique=True, min_size=1, max_size=300)


@settings(max_examples=60, deadline=None)
@given(entries=distinct_logs, data=st.data())
def test_inclusion_proofs_verify_and_every_mutation_fails(entries: list[bytes], data: st.DataObject) -> None:
    tree = MemoryTree.from_entries(entries)
    size = data.draw(st.integers(1, len(entries)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    root_hash = tree.root(size)
    assert root_hash == mth(entries[:size])
    proof = tree.inclusion_proof(index, size)
    assert_inclusion_checks(index, size, proof, root_hash, leaf_hash(entries[index]))
    changed = data.draw(st.binary(max_size=16).filter(lambda e: e != entries[index]), label="changed")
    with pytest.raises(IntegrityError):
        verify_inclusion(leaf_hash(changed), index, size, proof, root_hash)


@settings(max_examples=60, deadline=None)
@given(entries=distinct_logs, data=st.data())
def test_consistency_proofs_verify_and_every_mutation_fails(
    entries: list[bytes], data: st.DataObject
) -> None:
    tree = MemoryTree.from_entries(entries)
    new = data.draw(st.integers(0, len(entries)), label="new")
    old = data.draw(st.integers(0, new), label="old")
    proof = tree.consistency_proof(old, new)
    assert proof == reference_proof(old, entries[:new])
    assert_consistency_checks(old, new, tree.root(old), tree.root(new), proof)


@settings(max_examples=30, deadline=None)
@given(entries=distinct_logs, data=st.data())
def test_a_rewritten_history_is_not_consistent(entries: list[bytes], data: st.DataObject) -> None:
    # The old checkpoint saw entries[:old]; one of them is later changed.
    old = data.draw(st.integers(1, len(entries)), label="old")
    victim = data.draw(st.integers(0, old - 1), label="victim")
    forged = list(entries)
    forged[victim] = entries[victim] + b"!"
    old_root = mth(entries[:old])
    forged_tree = MemoryTree.from_entries(forged)
    proof = forged_tree.consistency_proof(old, len(forged))
    with pytest.raises(IntegrityError):
        verify_consistency(old, len(forged), old_root, forged_tree.root(), proof)


# --- cost: proofs read O(log n) stored nodes, never O(n) -----------------------------------------

PERIOD = 7
BIG = 2**20 + 12345


def _periodic_entry(index: int) -> bytes:
    return b"periodic %d" % (index % PERIOD)


@functools.cache
def _periodic_subtree(level: int, phase: int) -> bytes:
    # Entry i is _periodic_entry(i), so a complete subtree's hash depends only on its level and
    # where it starts modulo PERIOD: a genuine tree of any size, computed lazily in O(levels).
    if level == 0:
        return leaf_hash(_periodic_entry(phase))
    half = 1 << (level - 1)
    return node_hash(
        _periodic_subtree(level - 1, phase), _periodic_subtree(level - 1, (phase + half) % PERIOD)
    )


class CountingNodes:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, level: int, index: int) -> bytes:
        self.calls.append((level, index))
        return _periodic_subtree(level, (index << level) % PERIOD)


def test_periodic_tree_is_a_real_tree() -> None:
    entries = [_periodic_entry(i) for i in range(300)]
    assert root(300, CountingNodes()) == mth(entries)
    assert inclusion_proof(123, 300, CountingNodes()) == reference_path(123, entries)


@pytest.mark.parametrize("index", [0, 1, 12345, 2**19 + 3, 2**20 - 1, 2**20, BIG - 1])
def test_inclusion_proof_in_a_million_entries_reads_few_nodes(index: int) -> None:
    counting = CountingNodes()
    proof = inclusion_proof(index, BIG, counting)
    bound = BIG.bit_length() ** 2
    assert len(counting.calls) < 500
    assert len(counting.calls) <= bound
    assert set(counting.calls) == set(nodes_for_inclusion(index, BIG))
    root_counter = CountingNodes()
    root_hash = root(BIG, root_counter)
    assert len(root_counter.calls) == BIG.bit_count()
    verify_inclusion(leaf_hash(_periodic_entry(index)), index, BIG, proof, root_hash)


@pytest.mark.parametrize("old", [1, 2, 1000, 2**19, 2**20, 2**20 + 1, BIG - 1])
def test_consistency_proof_in_a_million_entries_reads_few_nodes(old: int) -> None:
    counting = CountingNodes()
    proof = consistency_proof(old, BIG, counting)
    assert len(counting.calls) < 500
    assert len(counting.calls) <= BIG.bit_length() ** 2
    verify_consistency(old, BIG, root(old, CountingNodes()), root(BIG, CountingNodes()), proof)


def test_append_reads_at_most_log_n_nodes() -> None:
    assert max(len(append_needs(size)) for size in range(BIG - 5000, BIG)) <= BIG.bit_length()
    assert len(append_needs(2**20 - 1)) == 20
    counting = CountingNodes()
    created = append_nodes(2**20 - 1, leaf_hash(_periodic_entry(2**20 - 1)), counting)
    assert len(counting.calls) == 20
    assert created[-1] == (20, 0, _periodic_subtree(20, 0))
