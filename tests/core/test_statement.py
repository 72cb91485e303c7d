"""in-toto Statement v1 value objects."""

from __future__ import annotations

import json
from typing import Any

import pytest

from custody.canonical import canonical_bytes
from custody.digests import sha256_hex
from custody.errors import FormatError
from custody.statement import STATEMENT_TYPE, Statement, Subject

DIGEST = sha256_hex(b"exhibit")
PREDICATE_TYPE = "https://custody.dev/event/artifact.recorded/v1"


def statement() -> Statement:
    return Statement(
        (Subject("a.png", DIGEST), Subject("b.txt", sha256_hex(b"b"))),
        PREDICATE_TYPE,
        {"case": "OP-LANTERN", "nested": {"z": 1, "a": [True, None]}},
    )


def test_to_dict_is_in_toto_v1() -> None:
    document = statement().to_dict()
    assert document == {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "a.png", "digest": {"sha256": DIGEST}},
            {"name": "b.txt", "digest": {"sha256": sha256_hex(b"b")}},
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"case": "OP-LANTERN", "nested": {"z": 1, "a": [True, None]}},
    }
    assert document["_type"] == STATEMENT_TYPE


def test_to_bytes_is_canonical_and_round_trips() -> None:
    data = statement().to_bytes()
    assert data == canonical_bytes(json.loads(data))
    assert data.startswith(b'{"_type":"https://in-toto.io/Statement/v1","predicate":{')
    assert Statement.from_bytes(data) == statement()


def _doc() -> dict[str, Any]:
    return statement().to_dict()


BAD = {
    "wrong _type": (lambda d: d.update(_type="https://in-toto.io/Statement/v0.1"), "_type must be"),
    "no _type": (lambda d: d.pop("_type"), "_type must be"),
    "no subjects": (lambda d: d.update(subject=[]), "at least one subject"),
    "subject not list": (lambda d: d.update(subject={"name": "x"}), "subject must be a list"),
    "subject not object": (lambda d: d.update(subject=["x"]), "subject must be an object"),
    "no sha256": (lambda d: d["subject"][0].update(digest={"sha512": "ab"}), "'a.png' has no sha256"),
    "upper digest": (lambda d: d["subject"][0]["digest"].update(sha256=DIGEST.upper()), "'a.png' digest"),
    "name not text": (lambda d: d["subject"][0].update(name=5), "subject name must be a string"),
    "no predicateType": (lambda d: d.pop("predicateType"), "predicateType must be a non-empty string"),
    "predicateType number": (lambda d: d.update(predicateType=1), "predicateType must be a non-empty"),
    "predicate list": (lambda d: d.update(predicate=[]), "predicate must be an object"),
}


@pytest.mark.parametrize(("change", "message"), BAD.values(), ids=BAD.keys())
def test_invalid_statements(change: Any, message: str) -> None:
    document = _doc()
    change(document)
    with pytest.raises(FormatError, match=message):
        Statement.from_bytes(canonical_bytes(document))


def test_statement_without_predicate_gets_empty_object() -> None:
    document = _doc()
    del document["predicate"]
    assert Statement.from_dict(document).to_dict()["predicate"] == {}


def test_subject_validates_on_construction() -> None:
    with pytest.raises(FormatError, match="subject 'x' digest"):
        Subject("x", "abc")
