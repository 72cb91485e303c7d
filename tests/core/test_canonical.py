"""RFC 8785 (JCS) canonical bytes and the strict JSON parser."""

from __future__ import annotations

import collections
import enum
import json
import math
import struct
import threading

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from custody import canonical as canonical_module
from custody.canonical import (
    _plain,
    canonical_bytes,
    canonical_members,
    join_members,
    parse_json,
    parse_json_object,
)
from custody.errors import FormatError

# RFC 8785 appendix B: IEEE 754 bit patterns and their ECMAScript serialisation.
APPENDIX_B = {
    "0000000000000000": "0",
    "8000000000000000": "0",  # minus zero
    "0000000000000001": "5e-324",
    "8000000000000001": "-5e-324",
    "7fefffffffffffff": "1.7976931348623157e+308",
    "ffefffffffffffff": "-1.7976931348623157e+308",
    "4340000000000000": "9007199254740992",
    "c340000000000000": "-9007199254740992",
    "4430000000000000": "295147905179352830000",
    "44b52d02c7e14af5": "9.999999999999997e+22",
    "44b52d02c7e14af6": "1e+23",
    "44b52d02c7e14af7": "1.0000000000000001e+23",
    "444b1ae4d6e2ef4e": "999999999999999700000",
    "444b1ae4d6e2ef4f": "999999999999999900000",
    "444b1ae4d6e2ef50": "1e+21",
    "3eb0c6f7a0b5ed8c": "9.999999999999997e-7",
    "3eb0c6f7a0b5ed8d": "0.000001",
    "41b3de4355555553": "333333333.3333332",
    "41b3de4355555554": "333333333.33333325",
    "41b3de4355555555": "333333333.3333333",
    "41b3de4355555556": "333333333.3333334",
    "41b3de4355555557": "333333333.33333343",
    "becbf647612f3696": "-0.0000033333333333333333",
    "43143ff3c1cb0959": "1424953923781206.2",
}


def _double(bits: str) -> float:
    value: float = struct.unpack(">d", bytes.fromhex(bits))[0]
    return value


# Doubles that JCS writes as integer digits beyond 2**53-1: our strict parser refuses such
# integers, so canonical_bytes refuses to produce them (custody must read back what it signs).
BEYOND_SAFE_INTEGERS = {b for b, text in APPENDIX_B.items() if text.lstrip("-").isdigit() and len(text) >= 16}


def test_beyond_safe_integer_selection() -> None:
    assert sorted(APPENDIX_B[b] for b in BEYOND_SAFE_INTEGERS) == [
        "-9007199254740992",
        "295147905179352830000",
        "9007199254740992",
        "999999999999999700000",
        "999999999999999900000",
    ]


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B.items(), ids=APPENDIX_B.keys())
def test_rfc8785_appendix_b_numbers_library(bits: str, expected: str) -> None:
    # The JCS library custody builds on reproduces every appendix B serialisation.
    assert rfc8785.dumps(_double(bits)) == expected.encode()


@pytest.mark.parametrize(
    ("bits", "expected"),
    [(b, e) for b, e in APPENDIX_B.items() if b not in BEYOND_SAFE_INTEGERS],
    ids=[b for b in APPENDIX_B if b not in BEYOND_SAFE_INTEGERS],
)
def test_rfc8785_appendix_b_numbers(bits: str, expected: str) -> None:
    data = canonical_bytes(_double(bits))
    assert data == expected.encode()
    assert parse_json(data) == _double(bits)


@pytest.mark.parametrize("bits", sorted(BEYOND_SAFE_INTEGERS))
def test_doubles_written_as_unsafe_integers_refused(bits: str) -> None:
    with pytest.raises(FormatError, match="integer beyond 2"):
        canonical_bytes({"configuration": [_double(bits)]})


@pytest.mark.parametrize("value", [2.0**53 - 1, 1e21, -1e21, 1e300])
def test_doubles_at_the_edges_of_the_unsafe_range_allowed(value: float) -> None:
    assert parse_json(canonical_bytes(value)) == value


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_rfc8785_appendix_b_nan_and_infinity_rejected(bits: str) -> None:
    with pytest.raises(FormatError, match="RFC 8785"):
        canonical_bytes(_double(bits))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e30, b"1e+30"),
        (4.50, b"4.5"),
        (2e-3, b"0.002"),
        (0.000001, b"0.000001"),
        (1e-7, b"1e-7"),
        (-0.0, b"0"),
        (1e-27, b"1e-27"),
        (333333333.33333329, b"333333333.3333333"),
        (100.0, b"100"),
        (2**53 - 1, b"9007199254740991"),
        (-(2**53 - 1), b"-9007199254740991"),
    ],
)
def test_number_serialisation(value: float, expected: bytes) -> None:
    assert canonical_bytes(value) == expected


def test_rfc8785_section_3_2_2_sample() -> None:
    # The input of RFC 8785 section 3.2.2, parsed by our strict parser, then canonicalised.
    text = r"""{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"""
    expected = (
        '{"literals":[null,true,false],'
        '"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode("utf-8")
    assert canonical_bytes(parse_json(text)) == expected


def test_rfc8785_section_3_2_3_key_sorting() -> None:
    # Keys sort by their UTF-16 code units: the emoji (a surrogate pair, 0xD83D...) sorts before
    # U+FB33 although its code point (U+1F600) is larger.
    document = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode("utf-8")
    assert canonical_bytes(document) == expected
    # The same document given with \ud83d\ude00 escapes in JSON text gives the same bytes.
    assert canonical_bytes(parse_json(json.dumps(document))) == expected


def test_key_sorting_with_script_tag_key() -> None:
    # "/" is not escaped in JCS, so "</script>" stays as written; "<" (0x3C) sorts after "1".
    document = {"</script>": "tag", "\u0080": "Control", "1": "One"}
    assert canonical_bytes(document) == '{"1":"One","</script>":"tag","\u0080":"Control"}'.encode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\b\t\n\f\r", '"\\b\\t\\n\\f\\r"'),
        ("\x00\x01\x1f", '"\\u0000\\u0001\\u001f"'),
        ('"\\', '"\\"\\\\"'),
        ("/", '"/"'),
        ("\x7f\u0080\u2028\u00e9", '"\x7f\u0080\u2028\u00e9"'),  # not escaped: raw UTF-8
        ("\U0001f600", '"\U0001f600"'),
    ],
)
def test_string_escaping(text: str, expected: str) -> None:
    assert canonical_bytes(text) == expected.encode("utf-8")


def test_nested_objects_and_no_whitespace() -> None:
    document = {"b": [1, {"z": None, "a": True}], "a": {"y": "2", "x": 1.5}}
    assert canonical_bytes(document) == b'{"a":{"x":1.5,"y":"2"},"b":[1,{"a":true,"z":null}]}'


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), 2**53, -(2**53), {1: "int key"}, {"k": object()}, {"k": b"bytes"}],
    ids=["nan", "inf", "2**53", "-2**53", "int key", "object", "bytes"],
)
def test_canonical_bytes_rejects_what_json_cannot_carry(value: object) -> None:
    with pytest.raises(FormatError, match="cannot be canonicalised"):
        canonical_bytes(value)


def _containing_itself() -> list[object]:
    document: dict[str, object] = {"a": "text"}
    array: list[object] = [1, "two"]
    document["self"] = document
    array.append({"inner": array})
    return [document, array]


@pytest.mark.parametrize("value", _containing_itself(), ids=["object", "array"])
def test_a_value_that_contains_itself_is_refused_not_walked_forever(value: object) -> None:
    # A tool using the recorder API can hand over such a value by mistake; the walk deciding the
    # encoder's path once went round it forever. Run aside, so a regression fails, not hangs.
    outcome: list[BaseException] = []

    def canonicalise() -> None:
        try:
            canonical_bytes(value)
        except BaseException as exc:  # reported to the test's thread
            outcome.append(exc)

    worker = threading.Thread(target=canonicalise, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "canonical_bytes did not return"
    [error] = outcome
    assert isinstance(error, FormatError)
    assert "cannot be canonicalised" in error.message


def test_values_too_large_to_walk_take_the_general_path_and_write_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    value = {"rows": [{"n": n, "tags": ["x", n]} for n in range(40)]}
    expected = canonical_bytes(value)  # the C encoder's path
    general: list[object] = []
    library_dumps = rfc8785.dumps
    monkeypatch.setattr(rfc8785, "dumps", lambda v: general.append(v) or library_dumps(v))
    monkeypatch.setattr(canonical_module, "_PLAIN_CONTAINERS", 10)
    assert canonical_bytes(value) == expected
    assert general == [value]


safe_floats = st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not 2**53 - 1 < abs(f) < 1e21)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | safe_floats
    | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=25,
)


@given(json_values)
def test_canonical_bytes_parse_round_trip(value: object) -> None:
    data = canonical_bytes(value)
    parsed = parse_json(data)
    # Canonicalising is idempotent, and the parsed value equals the original (-0.0 == 0).
    assert canonical_bytes(parsed) == data
    assert parsed == value


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**60), 2**60))
def test_what_canonical_bytes_writes_parse_json_reads(number: float) -> None:
    try:
        data = canonical_bytes([number])
    except FormatError:
        return  # refused up front; what matters is that nothing unreadable is produced
    assert parse_json(data) == [number]


@given(st.dictionaries(st.text(), st.integers(0, 9), max_size=8))
def test_key_order_of_input_does_not_matter(document: dict[str, int]) -> None:
    reversed_document = dict(reversed(list(document.items())))
    assert canonical_bytes(reversed_document) == canonical_bytes(document)


any_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None, codec=None))
ascii_keys = st.text(st.characters(max_codepoint=0x7F, codec=None), max_size=6)
float_free_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.sampled_from(["", "\x00\x1f\x7f", '"\\/', "\u2028\u2029", "\ue000\U0001f600", "\ud800"])
    | any_text,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(ascii_keys, children, max_size=4)
        | st.dictionaries(any_text, children, max_size=3)
    ),
    max_leaves=20,
)


def _reference(value: object) -> bytes | None:
    try:
        return rfc8785.dumps(value)
    except ValueError:  # CanonicalizationError, or UnicodeEncodeError for a lone surrogate key
        return None


@given(float_free_values | json_values)
def test_fast_path_writes_exactly_what_rfc8785_writes(value: object) -> None:
    # canonical_bytes writes float-free, ASCII-keyed values with json's C encoder and the rest
    # with rfc8785: either way the bytes must be the reference library's, and what the reference
    # refuses (lone surrogates) must be refused.
    expected = _reference(value)
    if expected is None:
        with pytest.raises(FormatError, match="cannot be canonicalised"):
            canonical_bytes(value)
    else:
        assert canonical_bytes(value) == expected


def test_fast_path_covers_what_custody_signs_and_hands_the_rest_to_rfc8785() -> None:
    assert _plain({"artifact": {"size": 3, "name": "кириллица", "tags": ["a", None, True]}})
    assert not _plain({"metrics": {"rate": 0.012}})  # a float: JCS number formatting
    assert not _plain({"clé": 1})  # a non-ASCII key: JCS sorts keys by UTF-16 code units
    # U+E000 sorts after U+1F600 in UTF-16 but before it in code points.
    assert canonical_bytes({"\ue000": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\ue000":1}'.encode()


def test_subclasses_of_json_types_are_written_as_their_values() -> None:
    class Level(enum.IntEnum):
        HIGH = 5

    class Colour(enum.StrEnum):
        RED = "red"

    value = {Colour.RED: [Level.HIGH, Colour.RED], "o": collections.OrderedDict(b=1, a=(True, None))}
    assert canonical_bytes(value) == rfc8785.dumps(value) == b'{"o":{"a":[true,null],"b":1},"red":[5,"red"]}'
    with pytest.raises(FormatError, match="unsupported type: bytes"):
        canonical_bytes({"nested": [{"x": b"raw"}]})


def test_lone_surrogate_is_refused_by_name() -> None:
    with pytest.raises(FormatError, match="surrogate"):
        canonical_bytes({"text": "\ud800"})


# -- strict parser --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'{"x": {"b": 1, "b": 1}}', "duplicate key 'b'"),
        (b'[{"k": 1, "k": 1}]', "duplicate key 'k'"),
        (b'{"a": NaN}', "NaN"),
        (b"[Infinity]", "Infinity"),
        (b"-Infinity", "-Infinity"),
        (b"1e400", "range"),
        (b'{"a": [-1e999]}', "range"),
        (b"9007199254740992", "9007199254740992"),
        (b"-9007199254740992", "outside the exact JSON range"),
        (b'{"a": [123456789012345678901234567890]}', "outside the exact JSON range"),
        (b'{"a": "\xff"}', "not valid UTF-8"),
        (b"\xc3\x28", "not valid UTF-8"),
        (b'"\xed\xa0\x80"', "not valid UTF-8"),  # an encoded surrogate
        (b"{'a': 1}", "not valid JSON"),
        (b'{"a": 1,}', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[" * 100_000, "nested too deeply"),
    ],
    ids=[
        "duplicate",
        "nested duplicate",
        "duplicate in list",
        "NaN",
        "Infinity",
        "-Infinity",
        "overflow to inf",
        "overflow to -inf",
        "2**53",
        "-2**53",
        "huge int",
        "bad utf-8",
        "bad utf-8 pair",
        "utf-8 surrogate",
        "single quotes",
        "trailing comma",
        "empty",
        "deep nesting",
    ],
)
def test_strict_parser_rejects(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message) as caught:
        parse_json(data, what="upload.json")
    assert caught.value.message.startswith("upload.json")
    assert caught.value.exit_code == 3


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"9007199254740991", 2**53 - 1),
        (b"-9007199254740991", -(2**53 - 1)),
        (b"[true, false, null]", [True, False, None]),
        (b'{"a": {"b": [1.5]}}', {"a": {"b": [1.5]}}),
        ('{"\u00e9": "\u20ac"}', {"\u00e9": "\u20ac"}),
        (b"1e308", 1e308),
    ],
)
def test_strict_parser_accepts(data: bytes | str, expected: object) -> None:
    assert parse_json(data) == expected


def test_same_key_in_different_objects_is_fine() -> None:
    assert parse_json(b'{"a": {"k": 1}, "b": {"k": 2}}') == {"a": {"k": 1}, "b": {"k": 2}}


@pytest.mark.parametrize("data", [b"[]", b"1", b'"text"', b"null"])
def test_parse_json_object_requires_an_object(data: bytes) -> None:
    with pytest.raises(FormatError, match="envelope must be a JSON object"):
        parse_json_object(data, what="envelope")


def test_parse_json_object_returns_dict() -> None:
    assert parse_json_object(b'{"a": [1]}') == {"a": [1]}


def test_float_parse_is_exact_double() -> None:
    value = parse_json(b"0.1")
    assert isinstance(value, float)
    assert math.isclose(value, 0.1, rel_tol=0.0, abs_tol=0.0)


@given(st.dictionaries(ascii_keys, float_free_values | json_values, max_size=8))
def test_joined_members_are_the_canonical_bytes_of_the_object(document: dict[str, object]) -> None:
    # join_members(canonical_members(d)) is how a provenance is merged into a signed statement
    # without canonicalising it twice: it must give canonical_bytes(d) exactly, or refuse alike.
    try:
        expected = canonical_bytes(document)
    except FormatError:
        with pytest.raises(FormatError):
            join_members(canonical_members(document))
        return
    assert join_members(canonical_members(document)) == expected


@pytest.mark.parametrize("key", ["schlüssel", 7])
def test_members_are_joined_only_under_ascii_keys(key: object) -> None:
    with pytest.raises(FormatError, match="must be ASCII text"):
        canonical_members({key: 1})  # type: ignore[dict-item]
    with pytest.raises(FormatError, match="must be ASCII text"):
        join_members({key: b"1"})  # type: ignore[dict-item]
