"""Signed value objects: enums, HIL, tool references and artifact provenance."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.canonical import canonical_bytes
from custody.digests import sha256_hex
from custody.errors import FormatError
from custody.models import (
    HIL,
    ArtifactRole,
    HILFunction,
    HumanInvolvement,
    Origin,
    Provenance,
    Source,
    ToolKind,
    ToolRef,
    check_slug,
    parse_enum,
)

SCREENSHOT = sha256_hex(b"screenshot.png bytes")
TRANSLATION = sha256_hex(b"translation.txt bytes")
CARD = sha256_hex(b"adscraper tool card")

TOOL = ToolRef("adscraper", "1.4.0", CARD)


def original(**changes: Any) -> Provenance:
    fields: dict[str, Any] = {
        "digest": SCREENSHOT,
        "size": 48213,
        "media_type": "image/png",
        "name": "ad-4471.png",
        "origin": Origin.CAPTURED,
        "role": ArtifactRole.ORIGINAL,
        "hil": HumanInvolvement(HIL.HIL0_MANUAL, HILFunction.ACQUIRE),
        "tool": TOOL,
        "operator": "alice",
        "source": Source(url="https://classifieds.example/ad/4471", platform="classifieds.example"),
        "captured_at": "2026-06-01T09:00:00Z",
    }
    fields.update(changes)
    return Provenance(**fields)


def derivative(**changes: Any) -> Provenance:
    fields: dict[str, Any] = {
        "digest": TRANSLATION,
        "size": 900,
        "media_type": "text/plain",
        "name": "ad-4471.en.txt",
        "origin": Origin.GENERATED,
        "role": ArtifactRole.DERIVATIVE,
        "hil": HumanInvolvement(HIL.HIL4_POST_REVIEW, HILFunction.ANALYSE, reviewed_by="bob"),
        "tool": ToolRef("translator", "2026.05", CARD),
        "operator": "bob",
        "derived_from": (SCREENSHOT,),
        "transformation": "ocr+translate de->en",
        "run": "run-17",
        "note": "machine translation, reviewed",
    }
    fields.update(changes)
    return Provenance(**fields)


# -- enums ----------------------------------------------------------------------------------------


def test_hil_ranks() -> None:
    assert [level.rank for level in HIL] == [0, 1, 2, 3, 4, 5]
    assert max([HIL.HIL2_APPROVED, HIL.HIL5_AUTONOMOUS, HIL.HIL0_MANUAL], key=lambda h: h.rank) is (
        HIL.HIL5_AUTONOMOUS
    )


def test_design_vocabulary() -> None:
    assert {h.value for h in HIL} == {
        "HIL0_MANUAL",
        "HIL1_ASSISTED",
        "HIL2_APPROVED",
        "HIL3_SUPERVISED",
        "HIL4_POST_REVIEW",
        "HIL5_AUTONOMOUS",
    }
    assert {f.value for f in HILFunction} == {"acquire", "analyse", "decide", "act"}
    assert {o.value for o in Origin} == {"captured", "generated", "mixed"}
    assert {r.value for r in ArtifactRole} == {"original", "derivative"}
    assert {
        "decoy_chatbot",
        "scraper",
        "crawler",
        "ocr",
        "translator",
        "classifier",
        "transcriber",
        "manual_capture",
    } <= {k.value for k in ToolKind}


def test_parse_enum_lists_choices() -> None:
    assert parse_enum(Origin, "mixed", what="origin") is Origin.MIXED
    with pytest.raises(FormatError, match="origin must be one of captured, generated, mixed; got 'scraped'"):
        parse_enum(Origin, "scraped", what="origin")


@pytest.mark.parametrize("value", ["OP-LANTERN", "a", "case_2026.01", "X" * 64, "0abc"])
def test_slug_accepted(value: str) -> None:
    assert check_slug(value, what="case id") == value


@pytest.mark.parametrize(
    "value",
    ["", "-lead", ".hidden", "_x", "has space", "X" * 65, "a/b", "OP\n", "OP\nX", "\u00e9", None, 7],
)
def test_slug_rejected(value: Any) -> None:
    with pytest.raises(FormatError, match="case id"):
        check_slug(value, what="case id")


# -- human involvement ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "field", "word"),
    [
        (HIL.HIL2_APPROVED, "approved_by", "approver"),
        (HIL.HIL3_SUPERVISED, "supervised_by", "supervisor"),
        (HIL.HIL4_POST_REVIEW, "reviewed_by", "reviewer"),
    ],
)
def test_hil_levels_that_name_a_human(level: HIL, field: str, word: str) -> None:
    with pytest.raises(FormatError, match=f"{level.value} names a human: give the {word}"):
        HumanInvolvement(level, HILFunction.ACT)
    with pytest.raises(FormatError, match=word):
        HumanInvolvement(level, HILFunction.ACT, **{field: ""})
    assert getattr(HumanInvolvement(level, HILFunction.ACT, **{field: "carol"}), field) == "carol"


def test_hil2_needs_the_approver_not_another_human() -> None:
    with pytest.raises(FormatError, match="approver"):
        HumanInvolvement(HIL.HIL2_APPROVED, HILFunction.ACT, reviewed_by="carol", supervised_by="dan")


@pytest.mark.parametrize("level", [HIL.HIL0_MANUAL, HIL.HIL1_ASSISTED, HIL.HIL5_AUTONOMOUS])
def test_hil_levels_without_named_human(level: HIL) -> None:
    assert HumanInvolvement(level, HILFunction.DECIDE).to_dict() == {
        "level": level.value,
        "function": "decide",
    }


def test_hil_from_strings_and_round_trip() -> None:
    hil = HumanInvolvement("HIL3_SUPERVISED", "act", supervised_by="carol")  # type: ignore[arg-type]
    assert hil.level is HIL.HIL3_SUPERVISED
    assert hil.function is HILFunction.ACT
    assert HumanInvolvement.from_dict(hil.to_dict()) == hil


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"level": "HIL9", "function": "act"}, "HIL level must be one of"),
        ({"level": "HIL0_MANUAL", "function": "observe"}, "HIL function must be one of"),
        ({"function": "act"}, "HIL level"),
        ({"level": "HIL2_APPROVED", "function": "act", "approved_by": 3}, "approved_by must be text"),
        ({"level": "HIL2_APPROVED", "function": "act", "approved_by": "x" * 257}, "approved_by is 257"),
    ],
)
def test_hil_invalid(document: dict[str, Any], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        HumanInvolvement.from_dict(document)


# -- tool ref and source --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (("ad scraper", "1", CARD), "tool name"),
        (("adscraper", "", CARD), "tool version"),
        (("adscraper", None, CARD), "tool version"),
        (("adscraper", "1", "sha256:" + CARD), "tool card digest"),
    ],
)
def test_tool_ref_invalid(fields: tuple[Any, Any, Any], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        ToolRef(*fields)


def test_tool_ref_round_trip() -> None:
    assert TOOL.to_dict() == {"name": "adscraper", "version": "1.4.0", "card_digest": CARD}
    assert ToolRef.from_dict(TOOL.to_dict()) == TOOL


def test_source() -> None:
    source = Source(url="https://x.example/1", message_id="m-9")
    assert source.to_dict() == {"url": "https://x.example/1", "message_id": "m-9"}
    assert Source.from_dict(source.to_dict()) == source
    assert not Source()
    assert source
    with pytest.raises(FormatError, match="source url must be text"):
        Source(url=b"https://x.example")  # type: ignore[arg-type]
    with pytest.raises(FormatError, match="source account is 4097 characters"):
        Source(account="a" * 4097)


# -- provenance -----------------------------------------------------------------------------------


def test_provenance_wire_format() -> None:
    # The body of an artifact.recorded event: pinned, because its digest is signed.
    assert derivative().to_dict() == {
        "artifact": {
            "digest": {"sha256": TRANSLATION},
            "size": 900,
            "media_type": "text/plain",
            "name": "ad-4471.en.txt",
        },
        "origin": "generated",
        "role": "derivative",
        "hil": {"level": "HIL4_POST_REVIEW", "function": "analyse", "reviewed_by": "bob"},
        "tool": {"name": "translator", "version": "2026.05", "card_digest": CARD},
        "operator": "bob",
        "derived_from": {"parents": [{"sha256": SCREENSHOT}], "transformation": "ocr+translate de->en"},
        "run": "run-17",
        "note": "machine translation, reviewed",
    }


def test_provenance_digest_is_sha256_of_canonical_dict() -> None:
    for provenance in (original(), derivative()):
        assert provenance.provenance_digest == sha256_hex(canonical_bytes(provenance.to_dict()))


def test_provenance_digest_is_stable() -> None:
    assert original().provenance_digest == original().provenance_digest
    # Equal claims written differently (enum vs text, offset vs Z) give the same digest.
    same = original(origin="captured", role="original", captured_at="2026-06-01T11:00:00+02:00")
    assert same.provenance_digest == original().provenance_digest
    assert Provenance.from_dict(json.loads(canonical_bytes(original().to_dict()))).provenance_digest == (
        original().provenance_digest
    )


CHANGED_CLAIMS: dict[str, dict[str, Any]] = {
    "digest": {"digest": sha256_hex(b"other")},
    "size": {"size": 48214},
    "media_type": {"media_type": "image/jpeg"},
    "name": {"name": "ad-4471 (1).png"},
    "name removed": {"name": None},
    "origin": {"origin": Origin.MIXED},
    "hil level": {"hil": HumanInvolvement(HIL.HIL1_ASSISTED, HILFunction.ACQUIRE)},
    "hil function": {"hil": HumanInvolvement(HIL.HIL0_MANUAL, HILFunction.ACT)},
    "hil human": {"hil": HumanInvolvement(HIL.HIL0_MANUAL, HILFunction.ACQUIRE, reviewed_by="bob")},
    "tool version": {"tool": ToolRef("adscraper", "1.4.1", CARD)},
    "tool card": {"tool": ToolRef("adscraper", "1.4.0", sha256_hex(b"other card"))},
    "operator": {"operator": "bob"},
    "source url": {
        "source": Source(url="https://classifieds.example/ad/4472", platform="classifieds.example")
    },
    "source removed": {"source": Source()},
    "captured_at": {"captured_at": "2026-06-01T09:00:01Z"},
    "captured_at removed": {"captured_at": None},
    "captured_at microsecond": {"captured_at": "2026-06-01T09:00:00.000001Z"},
    "run": {"run": "run-1"},
    "note": {"note": "page partly loaded"},
    "derived": {"role": ArtifactRole.DERIVATIVE, "derived_from": (TRANSLATION,)},
}


@pytest.mark.parametrize("changes", CHANGED_CLAIMS.values(), ids=CHANGED_CLAIMS.keys())
def test_provenance_digest_changes_with_any_claim(changes: dict[str, Any]) -> None:
    assert original(**changes).provenance_digest != original().provenance_digest


@pytest.mark.parametrize(
    "changes",
    [
        {"derived_from": (SCREENSHOT, sha256_hex(b"second parent"))},
        {"derived_from": (sha256_hex(b"second parent"), SCREENSHOT)},  # parent order is a claim
        {"transformation": "translate de->en"},
        {"transformation": None},
    ],
)
def test_derivative_digest_changes_with_lineage(changes: dict[str, Any]) -> None:
    assert derivative(**changes).provenance_digest != derivative().provenance_digest


INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "bad digest": ({"digest": SCREENSHOT.upper()}, "artifact digest must be 64 lowercase hex"),
    "short digest": ({"digest": SCREENSHOT[:10]}, "artifact digest"),
    "negative size": ({"size": -1}, "artifact size must be an integer from 0"),
    "huge size": ({"size": 2**53}, "artifact size must be an integer from 0"),
    "bool size": ({"size": True}, "artifact size"),
    "float size": ({"size": 1.0}, "artifact size"),
    "media type": ({"media_type": "png"}, "media type must look like type/subtype"),
    "origin": ({"origin": "found"}, "origin must be one of"),
    "role": ({"role": "copy"}, "role must be one of"),
    "original with parents": ({"derived_from": (TRANSLATION,)}, "an original cannot have --derived-from"),
    "derivative without parents": (
        {"role": ArtifactRole.DERIVATIVE},
        "a derivative must name what it was derived",
    ),
    "transformation without parents": ({"transformation": "crop"}, "transformation only applies"),
    "bad parent digest": ({"role": "derivative", "derived_from": ("abc",)}, "derived-from digest"),
    "derived from itself": ({"role": "derivative", "derived_from": (SCREENSHOT,)}, "derived from itself"),
    "operator": ({"operator": "alice smith"}, "operator"),
    "bad captured_at": ({"captured_at": "01/06/2026 09:00"}, "captured-at"),
    "naive captured_at": ({"captured_at": "2026-06-01T09:00:00.000000"}, "captured-at"),
    "naive captured_at no fraction": ({"captured_at": "2026-06-01T09:00:00"}, "captured-at"),
    "run too long": ({"run": "r" * 65}, "run id is 65 characters"),
    "note not text": ({"note": ["x"]}, "note must be text"),
    "name not text": ({"name": 12}, "artifact name must be text"),
}


@pytest.mark.parametrize(("changes", "message"), INVALID.values(), ids=INVALID.keys())
def test_provenance_validation(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        original(**changes)


def test_captured_at_normalised() -> None:
    assert original(captured_at="2026-06-01T10:30:00.5+01:30").captured_at == "2026-06-01T09:00:00.500000Z"


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("artifact"),
        lambda d: d["artifact"].pop("digest"),
        lambda d: d["artifact"].update(digest=SCREENSHOT),
        lambda d: d.pop("hil"),
        lambda d: d.update(tool="adscraper"),
        lambda d: d.update(derived_from=[SCREENSHOT]),
        lambda d: d.update(derived_from={"parents": [SCREENSHOT]}),
        lambda d: d.pop("operator"),
    ],
    ids=[
        "no artifact",
        "no digest",
        "digest not a set",
        "no hil",
        "tool as text",
        "derived list",
        "parent not a set",
        "no operator",
    ],
)
def test_provenance_from_malformed_dict(change: Any) -> None:
    document = derivative().to_dict()
    change(document)
    with pytest.raises(FormatError):
        Provenance.from_dict(document)


def test_provenance_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        original().size = 1  # type: ignore[misc]


# -- property: round trip through dict and canonical bytes -----------------------------------------

digests = st.binary(min_size=1, max_size=16).map(sha256_hex)
slugs = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)
optional_text = st.none() | st.text(max_size=20)
times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3)), timezone(timedelta(hours=9, minutes=30))]),
).map(lambda moment: moment.isoformat())


@st.composite
def human_involvement(draw: st.DrawFn) -> HumanInvolvement:
    level = draw(st.sampled_from(list(HIL)))
    humans = {
        name: draw(st.none() | st.text(min_size=1, max_size=10))
        for name in ("approved_by", "supervised_by", "reviewed_by")
    }
    required = {
        HIL.HIL2_APPROVED: "approved_by",
        HIL.HIL3_SUPERVISED: "supervised_by",
        HIL.HIL4_POST_REVIEW: "reviewed_by",
    }.get(level)
    if required:
        humans[required] = draw(st.text(min_size=1, max_size=10))
    return HumanInvolvement(level, draw(st.sampled_from(list(HILFunction))), **humans)


@st.composite
def provenances(draw: st.DrawFn) -> Provenance:
    digest = draw(digests)
    role = draw(st.sampled_from(list(ArtifactRole)))
    parents: tuple[str, ...] = ()
    transformation = None
    if role is ArtifactRole.DERIVATIVE:
        parents = tuple(draw(st.lists(digests.filter(lambda d: d != digest), min_size=1, max_size=3)))
        transformation = draw(optional_text)
    return Provenance(
        digest=digest,
        size=draw(st.integers(min_value=0, max_value=2**53 - 1)),
        media_type=draw(st.sampled_from(["image/png", "text/plain", "application/warc", "message/rfc822"])),
        name=draw(optional_text),
        origin=draw(st.sampled_from(list(Origin))),
        role=role,
        hil=draw(human_involvement()),
        tool=ToolRef(draw(slugs), draw(st.text(min_size=1, max_size=10)), draw(digests)),
        operator=draw(slugs),
        derived_from=parents,
        transformation=transformation,
        source=Source(draw(optional_text), draw(optional_text), draw(optional_text), draw(optional_text)),
        captured_at=draw(st.none() | times),
        run=draw(optional_text),
        note=draw(optional_text),
    )


@given(provenances())
def test_provenance_round_trip(provenance: Provenance) -> None:
    document = provenance.to_dict()
    assert Provenance.from_dict(document) == provenance
    through_bytes = Provenance.from_dict(json.loads(canonical_bytes(document)))
    assert through_bytes == provenance
    assert through_bytes.provenance_digest == provenance.provenance_digest


@given(provenances(), provenances())
def test_different_provenance_different_digest(one: Provenance, two: Provenance) -> None:
    if one.to_dict() != two.to_dict():
        assert one.provenance_digest != two.provenance_digest
