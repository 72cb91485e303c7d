"""Withheld ledger lines: strict parsing, and a tree whose root is the signed one."""

from __future__ import annotations

import pytest

from custody import merkle
from custody.disclosure import WithheldEntry, leaf_of, parse_ledger_lines, tree_of
from custody.errors import FormatError

ENTRIES = [b'{"payload":"a"}', b'{"payload":"b"}', b'{"payload":"c"}']


def test_withholding_an_entry_keeps_the_root() -> None:
    hidden = WithheldEntry(merkle.leaf_hash(ENTRIES[1]), "third-party data")
    data = b"".join(line + b"\n" for line in (ENTRIES[0], hidden.to_line(), ENTRIES[2]))
    lines = parse_ledger_lines(data, name="entries.jsonl")
    assert lines == [ENTRIES[0], hidden, ENTRIES[2]]
    assert tree_of(lines).root() == merkle.mth(ENTRIES)
    assert leaf_of(lines[1]) == merkle.leaf_hash(ENTRIES[1])
    assert hidden.to_line() == (
        b'{"leaf_hash":"' + merkle.leaf_hash(ENTRIES[1]).hex().encode() + b'","withheld":"third-party data"}'
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"leaf_hash":"' + b"a" * 64 + b'"}', "exactly leaf_hash and withheld"),
        (b'{"leaf_hash":"' + b"a" * 64 + b'","withheld":"r","x":1}', "exactly leaf_hash and withheld"),
        (b'{"leaf_hash":"' + b"A" * 64 + b'","withheld":"r"}', "64 lowercase hex"),
        (b'{"leaf_hash":"abc","withheld":"r"}', "64 lowercase hex"),
        (b'{"leaf_hash":"' + b"a" * 64 + b'","withheld":7}', "reason must be text"),
        (b'{"leaf_hash":"' + b"a" * 64 + b'","withheld":"  "}', "needs a reason"),
        (b'{"leaf_hash":"' + b"a" * 64 + b'","withheld":"r","withheld":"s"}', "duplicate key"),
    ],
)
def test_a_malformed_withheld_line_is_refused(line: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse_ledger_lines(ENTRIES[0] + b"\n" + line + b"\n", name="entries.jsonl")


def test_a_ledger_cut_short_is_refused() -> None:
    with pytest.raises(FormatError, match="does not end with a line feed"):
        parse_ledger_lines(ENTRIES[0] + b"\n" + ENTRIES[1], name="entries.jsonl")
