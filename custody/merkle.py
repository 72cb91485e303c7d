"""Merkle tree math for the case ledger: RFC 9162 section 2.1 (= RFC 6962 section 2.1), pure.

Invariants:
- Hashing is exactly RFC 9162 section 2.1.1: leaf hash = SHA-256(0x00 || entry), interior node =
  SHA-256(0x01 || left || right), the hash of the empty list is SHA-256(b"") (``EMPTY_ROOT``), and
  a list of n > 1 entries splits at k, the largest power of two smaller than n. ``mth`` is that
  definition written out recursively; everything else must agree with it.
- Storage model: node ``(level, index)`` is the hash of the COMPLETE subtree over entries
  ``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes. Only complete
  subtrees are ever stored, and each is written once, when its last entry is appended
  (``append_nodes``), so stored nodes never change.
- Right-edge (incomplete) subtrees are folded from their complete parts on demand, so a root, an
  inclusion proof or a consistency proof reads O(log n) stored nodes (a consistency proof at most
  O(log^2 n)), never O(n). Each ``nodes_for_...`` function lists exactly the nodes that the
  matching function will read, so a database adapter can fetch them in one query.
- Proofs are the RFC 9162 section 2.1.3.1 PATH and section 2.1.4.1 PROOF/SUBPROOF lists, so any
  RFC 6962/9162 verifier accepts them; the verifiers follow sections 2.1.3.2 and 2.1.4.2 step by
  step and raise ``IntegrityError`` naming the entry, the sizes and expected vs computed hashes.
- No I/O: nodes come in as a mapping or a getter. A node the caller cannot supply is an
  ``IntegrityError`` (the store lost part of the tree). Asking for an entry beyond the tree is a
  ``NotFoundError``; arguments no log could satisfy (negative sizes, a shrinking log, a subtree
  that is not made of complete subtrees) are ``ValueError``s, i.e. programming errors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType

from custody.errors import IntegrityError, NotFoundError

HASH_SIZE = 32
"""Bytes in a SHA-256 hash: every leaf, node, root and proof element."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}): the root hash of the empty log."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

Node = tuple[int, int]
"""``(level, index)``: the complete subtree over entries [index * 2**level, (index+1) * 2**level)."""

NodeGetter = Callable[[int, int], bytes]
"""``(level, index) -> hash`` of a stored complete subtree."""

Nodes = Mapping[Node, bytes] | NodeGetter
"""Where proofs read stored nodes from: a mapping (e.g. one batched query) or a getter."""


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || entry)."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (RFC 9162's k), for n >= 2."""
    if n < 2:
        raise ValueError(f"a tree of {n} entries has no split point; need at least 2")
    return 1 << ((n - 1).bit_length() - 1)


def mth(entries: Sequence[bytes]) -> bytes:
    """MTH(D[n]) straight from the RFC 9162 section 2.1.1 definition (reference; O(n))."""
    if not entries:
        return EMPTY_ROOT
    if len(entries) == 1:
        return leaf_hash(entries[0])
    k = split_point(len(entries))
    return node_hash(mth(entries[:k]), mth(entries[k:]))


# --- which stored nodes make up a subtree -------------------------------------------------------


def _check_size(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}")


def nodes_for_range(start: int, end: int) -> list[Node]:
    """The complete subtrees, largest first, whose fold is MTH(D[start:end]).

    The range must be made of aligned complete subtrees: ``start`` a multiple of the largest
    power of two not exceeding ``end - start``. Every subtree the RFC recursion visits is.

    Raises:
        ValueError: the range is reversed or not made of complete subtrees.
    """
    _check_size(start, "subtree start")
    _check_size(end, "subtree end")
    if end < start:
        raise ValueError(f"subtree [{start}, {end}) ends before it starts")
    result: list[Node] = []
    position = start
    remaining = end - start
    for level in reversed(range(remaining.bit_length())):
        if remaining >> level & 1:
            if position % (1 << level):
                raise ValueError(
                    f"subtree [{start}, {end}) is not made of complete subtrees: "
                    f"[{position}, {position + (1 << level)}) is not aligned to {1 << level}"
                )
            result.append((level, position >> level))
            position += 1 << level
    return result


def _getter(nodes: Nodes) -> NodeGetter:
    if not isinstance(nodes, Mapping):
        return _checked(nodes)
    mapping = nodes

    def get(level: int, index: int) -> bytes:
        try:
            return mapping[(level, index)]
        except KeyError:
            raise IntegrityError(
                f"Merkle node (level {level}, index {index}) covering entries "
                f"{index << level}..{((index + 1) << level) - 1} is missing from the store"
            ) from None

    return _checked(get)


def _checked(get: NodeGetter) -> NodeGetter:
    def checked(level: int, index: int) -> bytes:
        value = get(level, index)
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            size = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
            raise IntegrityError(
                f"Merkle node (level {level}, index {index}) is {size}, expected {HASH_SIZE} bytes"
            )
        return value

    return checked


def _fold(parts: Sequence[Node], get: NodeGetter) -> bytes:
    # MTH of a range made of complete subtrees of decreasing size: each split point is the
    # boundary after the first (largest) part, so the hash folds from the right.
    if not parts:
        return EMPTY_ROOT
    result = get(*parts[-1])
    for level, index in reversed(parts[:-1]):
        result = node_hash(get(level, index), result)
    return result


def _unique_nodes(ranges: Iterable[tuple[int, int]]) -> list[Node]:
    seen: dict[Node, None] = {}
    for start, end in ranges:
        for node in nodes_for_range(start, end):
            seen.setdefault(node, None)
    return list(seen)


def subtree_hash(start: int, end: int, nodes: Nodes) -> bytes:
    """MTH(D[start:end]) from stored complete subtrees (see ``nodes_for_range``)."""
    return _fold(nodes_for_range(start, end), _getter(nodes))


# --- roots ---------------------------------------------------------------------------------------


def nodes_for_root(size: int) -> list[Node]:
    """The stored nodes ``root(size, ...)`` reads: one per set bit of ``size``."""
    _check_size(size, "tree size")
    return nodes_for_range(0, size)


def root(size: int, nodes: Nodes) -> bytes:
    """The root hash MTH(D[0:size]) of the first ``size`` entries."""
    return _fold(nodes_for_root(size), _getter(nodes))


# --- appends -------------------------------------------------------------------------------------


def append_needs(size: int) -> list[Node]:
    """The stored left siblings ``append_nodes(size, ...)`` reads (at most log2(size) + 1)."""
    _check_size(size, "tree size")
    needs: list[Node] = []
    level, index = 0, size
    while index & 1:
        needs.append((level, index - 1))
        level, index = level + 1, index >> 1
    return needs


def append_nodes(size: int, new_leaf_hash: bytes, nodes: Nodes) -> list[tuple[int, int, bytes]]:
    """The complete subtrees created by appending entry number ``size`` to a tree of ``size``.

    Returns ``(level, index, hash)`` for the new leaf (level 0) and for every parent that becomes
    complete, lowest first. Only these are new; no stored node ever changes.
    """
    _check_size(size, "tree size")
    if not isinstance(new_leaf_hash, bytes) or len(new_leaf_hash) != HASH_SIZE:
        raise ValueError(f"a leaf hash must be {HASH_SIZE} bytes, got {new_leaf_hash!r}")
    get = _getter(nodes)
    created = [(0, size, new_leaf_hash)]
    current = new_leaf_hash
    level, index = 0, size
    while index & 1:
        current = node_hash(get(level, index - 1), current)
        level, index = level + 1, index >> 1
        created.append((level, index, current))
    return created


# --- inclusion proofs (RFC 9162 section 2.1.3) ---------------------------------------------------


def _check_entry(index: int, size: int) -> None:
    _check_size(index, "entry index")
    _check_size(size, "tree size")
    if index >= size:
        raise NotFoundError(f"entry {index} is not in a log of {size} entries")


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    # PATH(m, D[n]): m < k gives PATH(m, D[0:k]) : MTH(D[k:n]), else PATH(m - k, D[k:n]) :
    # MTH(D[0:k]). Walking down collects the siblings top first; the proof lists them leaf first.
    ranges: list[tuple[int, int]] = []
    low, high = 0, size
    while high - low > 1:
        k = split_point(high - low)
        if index < low + k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low += k
    ranges.reverse()
    return ranges


def nodes_for_inclusion(index: int, size: int) -> list[Node]:
    """The stored nodes ``inclusion_proof(index, size, ...)`` reads (O(log size))."""
    _check_entry(index, size)
    return _unique_nodes(_inclusion_ranges(index, size))


def inclusion_proof(index: int, size: int, nodes: Nodes) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 section 2.1.3.1: sibling hashes, leaf level first.

    Raises:
        NotFoundError: ``index`` is not below ``size``.
        IntegrityError: a node it needs is missing or malformed.
    """
    _check_entry(index, size)
    get = _getter(nodes)
    return [_fold(nodes_for_range(start, end), get) for start, end in _inclusion_ranges(index, size)]


def inclusion_proof_length(index: int, size: int) -> int:
    """How many hashes PATH(index, D[size]) has (0 <= index < size)."""
    _check_entry(index, size)
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


# --- consistency proofs (RFC 9162 section 2.1.4) -------------------------------------------------


def _check_sizes(old_size: int, new_size: int) -> None:
    _check_size(old_size, "old tree size")
    _check_size(new_size, "new tree size")
    if old_size > new_size:
        raise ValueError(f"a log only grows: old size {old_size} is larger than new size {new_size}")


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    # SUBPROOF(m, D[n], b): m == n gives {} when b, else {MTH(D[n])}; m <= k gives
    # SUBPROOF(m, D[0:k], b) : MTH(D[k:n]); m > k gives SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]).
    if old_size in (0, new_size):
        return []
    ranges: list[tuple[int, int]] = []
    low, high, m, known = 0, new_size, old_size, True
    while m != high - low:
        k = split_point(high - low)
        if m <= k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low += k
            m -= k
            known = False
    if not known:
        ranges.append((low, high))
    ranges.reverse()
    return ranges


def nodes_for_consistency(old_size: int, new_size: int) -> list[Node]:
    """The stored nodes ``consistency_proof(old_size, new_size, ...)`` reads."""
    _check_sizes(old_size, new_size)
    return _unique_nodes(_consistency_ranges(old_size, new_size))


def consistency_proof(old_size: int, new_size: int, nodes: Nodes) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 section 2.1.4.1.

    Empty when ``old_size`` is 0 or equals ``new_size`` (every log extends the empty log and
    itself).

    Raises:
        ValueError: ``old_size > new_size`` or a size is negative.
        IntegrityError: a node it needs is missing or malformed.
    """
    _check_sizes(old_size, new_size)
    get = _getter(nodes)
    return [_fold(nodes_for_range(start, end), get) for start, end in _consistency_ranges(old_size, new_size)]


def consistency_proof_length(old_size: int, new_size: int) -> int:
    """How many hashes PROOF(old_size, D[new_size]) has."""
    _check_sizes(old_size, new_size)
    if old_size in (0, new_size):
        return 0
    shift = (old_size & -old_size).bit_length() - 1
    inner = ((old_size - 1) ^ (new_size - 1)).bit_length()
    border = ((old_size - 1) >> inner).bit_count()
    seed = 0 if old_size == 1 << shift else 1
    return seed + inner - shift + border


# --- verification --------------------------------------------------------------------------------


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        size = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise IntegrityError(f"{what} is {size}, expected a {HASH_SIZE}-byte SHA-256 hash")


def _check_proof_hashes(proof: Sequence[bytes], what: str) -> None:
    for position, value in enumerate(proof):
        _check_hash(value, f"hash {position} of the {what}")


def _check_claimed_size(value: int, what: str, context: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise IntegrityError(f"{context}: {what} {value!r} is not a non-negative integer")


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is entry ``index`` of the log of ``size`` entries with ``root``.

    RFC 9162 section 2.1.3.2, with the proof length checked first so that a wrong length is
    reported as such.

    Raises:
        IntegrityError: naming the entry, the size and the expected vs computed root.
    """
    what = f"inclusion proof for entry {index} of {size}"
    # 1. Inputs are well formed: sizes, hash lengths, entry inside the tree.
    _check_claimed_size(index, "entry index", what)
    _check_claimed_size(size, "tree size", what)
    _check_hash(leaf_hash, f"the leaf hash of the {what}")
    _check_hash(root, f"the root hash of the {what}")
    if index >= size:
        raise IntegrityError(f"{what}: entry {index} is not in a log of {size} entries")
    # 2. The proof has exactly as many hashes as PATH(index, D[size]).
    expected = inclusion_proof_length(index, size)
    if len(proof) != expected:
        raise IntegrityError(f"{what} has {len(proof)} hashes, expected {expected}")
    _check_proof_hashes(proof, what)
    # 3. Recompute the root (RFC 9162 section 2.1.3.2 steps 2-5).
    fn, sn, computed = index, size - 1, leaf_hash
    for sibling in proof:
        if sn == 0:
            raise IntegrityError(f"{what} is longer than the path from the entry to the root")
        if fn & 1 or fn == sn:
            computed = node_hash(sibling, computed)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            computed = node_hash(computed, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise IntegrityError(f"{what} is shorter than the path from the entry to the root")
    # 4. The recomputed root is the expected one.
    if computed != root:
        raise IntegrityError(f"{what} does not lead to root {root.hex()}, computed {computed.hex()}")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the log of ``new_size`` entries with ``new_root`` extends the one of
    ``old_size`` entries with ``old_root`` (RFC 9162 section 2.1.4.2).

    Edge cases: equal sizes need an empty proof and equal roots; ``old_size == 0`` needs an empty
    proof and ``old_root == EMPTY_ROOT`` (stricter than verifiers that ignore the old root there).

    Raises:
        IntegrityError: naming both sizes and the expected vs computed roots.
    """
    what = f"consistency proof from size {old_size} to {new_size}"
    # 1. Inputs are well formed and the log did not shrink.
    _check_claimed_size(old_size, "old tree size", what)
    _check_claimed_size(new_size, "new tree size", what)
    _check_hash(old_root, f"the old root hash of the {what}")
    _check_hash(new_root, f"the new root hash of the {what}")
    if old_size > new_size:
        raise IntegrityError(f"{what}: the log shrank from {old_size} to {new_size} entries")
    # 2. The proof has exactly as many hashes as PROOF(old_size, D[new_size]).
    expected = consistency_proof_length(old_size, new_size)
    if len(proof) != expected:
        raise IntegrityError(f"{what} has {len(proof)} hashes, expected {expected}")
    _check_proof_hashes(proof, what)
    # 3. Trivial cases: nothing to prove beyond the roots themselves.
    if old_size == new_size:
        if old_root != new_root:
            raise IntegrityError(
                f"{what}: two roots for the same {old_size} entries differ: "
                f"{old_root.hex()} and {new_root.hex()}"
            )
        return
    if old_size == 0:
        if old_root != EMPTY_ROOT:
            raise IntegrityError(
                f"{what}: the root of the empty log must be {EMPTY_ROOT.hex()}, got {old_root.hex()}"
            )
        return
    # 4. Recompute both roots (RFC 9162 section 2.1.4.2 steps 2-7).
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old_computed = new_computed = path[0]
    for sibling in path[1:]:
        if sn == 0:
            raise IntegrityError(f"{what} is longer than the path to the new root")
        if fn & 1 or fn == sn:
            old_computed = node_hash(sibling, old_computed)
            new_computed = node_hash(sibling, new_computed)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            new_computed = node_hash(new_computed, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise IntegrityError(f"{what} is shorter than the path to the new root")
    # 5. Both recomputed roots are the expected ones.
    if old_computed != old_root:
        raise IntegrityError(
            f"{what} does not lead to old root {old_root.hex()}, computed {old_computed.hex()}"
        )
    if new_computed != new_root:
        raise IntegrityError(
            f"{what} does not lead to new root {new_root.hex()}, computed {new_computed.hex()}"
        )


# --- an in-memory tree ---------------------------------------------------------------------------


class MemoryTree:
    """An append-only Merkle tree holding its complete-subtree nodes in a dict.

    The same storage model as the database adapter, for tests, benchmarks and offline
    verification (rebuilding a tree from a bundle's entries).
    """

    def __init__(self) -> None:
        self._nodes: dict[Node, bytes] = {}
        self._size = 0

    @classmethod
    def from_entries(cls, entries: Iterable[bytes]) -> MemoryTree:
        tree = cls()
        for entry in entries:
            tree.append(entry)
        return tree

    @property
    def size(self) -> int:
        return self._size

    @property
    def nodes(self) -> Mapping[Node, bytes]:
        """A read-only view of the stored complete-subtree nodes."""
        return MappingProxyType(self._nodes)

    def append(self, entry: bytes) -> int:
        """Append an entry; returns its 0-based index."""
        return self.append_leaf_hash(leaf_hash(entry))

    def append_leaf_hash(self, hashed: bytes) -> int:
        """Append an entry known only by its leaf hash (e.g. a withheld entry); returns its index."""
        index = self._size
        for level, position, value in append_nodes(index, hashed, self._nodes):
            self._nodes[(level, position)] = value
        self._size += 1
        return index

    def leaf_hash(self, index: int) -> bytes:
        _check_entry(index, self._size)
        return self._nodes[(0, index)]

    def _size_or_current(self, size: int | None) -> int:
        if size is None:
            return self._size
        _check_size(size, "tree size")
        if size > self._size:
            raise NotFoundError(f"the log has {self._size} entries; there is no tree of size {size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """The root hash of the first ``size`` entries (default: all)."""
        return root(self._size_or_current(size), self._nodes)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self._size_or_current(size), self._nodes)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        return consistency_proof(old_size, self._size_or_current(new_size), self._nodes)

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"MemoryTree(size={self._size}, root={self.root().hex()[:16]}...)"
