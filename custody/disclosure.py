"""Selective disclosure: ledger entries a bundle withholds, shown by their leaf hash and a reason.

In ``data/ledger/entries.jsonl`` a disclosed entry is its exact signed bytes; a withheld entry is
the line ``{"leaf_hash":"<64 hex>","withheld":"<reason>"}`` (RFC 8785). The leaf hash is the
entry's RFC 9162 leaf hash, so the Merkle root of the bundle's lines (entries hashed, withheld
leaves taken as given) is still the root the log key signed: what is withheld is proven to exist,
at its place in the log, without being shown.

Pure: bytes in, values out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from custody import merkle
from custody.canonical import canonical_bytes, parse_json_object
from custody.errors import FormatError

MAX_REASON = 1024


@dataclass(frozen=True)
class WithheldEntry:
    """A ledger entry left out of a bundle: its leaf hash and why it is withheld."""

    leaf_hash: bytes
    reason: str

    def __post_init__(self) -> None:
        if not isinstance(self.leaf_hash, bytes) or len(self.leaf_hash) != 32:
            raise FormatError("a withheld entry's leaf hash must be 32 bytes")
        if not isinstance(self.reason, str) or not self.reason.strip() or len(self.reason) > MAX_REASON:
            raise FormatError(f"a withheld entry needs a reason of 1 to {MAX_REASON} characters")

    def to_line(self) -> bytes:
        return canonical_bytes({"leaf_hash": self.leaf_hash.hex(), "withheld": self.reason})

    @classmethod
    def from_line(cls, line: bytes, *, index: int) -> WithheldEntry:
        document = parse_json_object(line, what=f"entry {index} (withheld)")
        if set(document) != {"leaf_hash", "withheld"}:
            raise FormatError(f"entry {index}: a withheld line holds exactly leaf_hash and withheld")
        leaf = document["leaf_hash"]
        if not isinstance(leaf, str) or len(leaf) != 64 or any(c not in "0123456789abcdef" for c in leaf):
            raise FormatError(f"entry {index}: withheld leaf_hash must be 64 lowercase hex characters")
        reason = document["withheld"]
        if not isinstance(reason, str):
            raise FormatError(f"entry {index}: withheld reason must be text")
        return cls(bytes.fromhex(leaf), reason)


LedgerLine = bytes | WithheldEntry
"""One line of a bundle's ledger: the entry's bytes, or what stands in for a withheld one."""

_WITHHELD_PREFIX = b'{"leaf_hash":'


def parse_ledger_lines(data: bytes, *, name: str) -> list[LedgerLine]:
    """The lines of ``entries.jsonl``: withheld lines parsed, entries kept as bytes (unparsed:
    the ledger checks parse and verify them)."""
    if data and not data.endswith(b"\n"):
        raise FormatError(f"{name} does not end with a line feed (cut short?)")
    lines: list[LedgerLine] = []
    for index, line in enumerate(data.split(b"\n")[:-1] if data else []):
        lines.append(
            WithheldEntry.from_line(line, index=index) if line.startswith(_WITHHELD_PREFIX) else line
        )
    return lines


def leaf_of(line: LedgerLine) -> bytes:
    return line.leaf_hash if isinstance(line, WithheldEntry) else merkle.leaf_hash(line)


def tree_of(lines: Sequence[LedgerLine]) -> merkle.MemoryTree:
    """The Merkle tree of a bundle's ledger lines (withheld leaves taken as given)."""
    tree = merkle.MemoryTree()
    for line in lines:
        tree.append_leaf_hash(leaf_of(line))
    return tree
