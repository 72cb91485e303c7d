"""The custody/sidecar/v1 parser: the sample case's sidecar, and every way a sidecar can be wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custody.errors import FormatError
from custody.models import HIL, ArtifactRole, HILFunction, Origin
from custody.sidecar import check_relative_path, parse_sidecar

SAMPLE = Path(__file__).resolve().parents[2] / "sample_cases" / "classifieds-sweep" / "sidecar.json"
DIGEST_A = "a" * 64
DIGEST_B = "b" * 64


def _entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "path": "ocr/one.txt",
        "sha256": DIGEST_A,
        "size": 12,
        "media_type": "text/plain",
        "origin": "generated",
        "role": "derivative",
        "derived_from": {"parents": [{"sha256": DIGEST_B, "note": "screenshot"}], "transformation": "ocr"},
        "tool": {"name": "ocr-engine", "version": "5.3.1"},
        "hil": {"level": "HIL5_AUTONOMOUS", "function": "analyse"},
    }
    for key, value in changes.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return entry


def _sidecar(*entries: dict[str, Any], **top: Any) -> bytes:
    document: dict[str, Any] = {"schema": "custody/sidecar/v1", "files": list(entries) or [_entry()]}
    document.update(top)
    return json.dumps(document).encode()


def test_the_sample_sidecar_parses_into_its_seven_derivatives() -> None:
    sidecar = parse_sidecar(SAMPLE.read_bytes(), name="sidecar.json")
    assert len(sidecar.files) == 7
    translations = [f for f in sidecar.files if f.path.startswith("translation/")]
    assert [f.path for f in translations] == [
        "translation/ad-51907.en.txt",
        "translation/ad-51911.en.txt",
        "translation/ad-51924.en.txt",
    ]
    first = translations[0]
    assert (first.origin, first.role) == (Origin.GENERATED, ArtifactRole.DERIVATIVE)
    assert (first.tool_name, first.tool_version) == ("translator", "3.0.2")
    assert (first.hil.level, first.hil.function, first.hil.reviewed_by) == (
        HIL.HIL4_POST_REVIEW,
        HILFunction.ANALYSE,
        "cole",
    )
    assert (first.language, first.source_language) == ("en", "ro")
    assert first.transformation == "translation ro->en of the page text"
    assert first.parents[0].sha256 == "f53d3640e580c8e5292b156c7b5a756756f4133c1d9a4a713c1d52bced07b74c"
    assert first.source.url == "https://anunturi-zilnice.example/anunt/51907"
    assert first.captured_at == "2026-06-03T22:05:05Z"


def test_a_vendor_extension_is_accepted_and_an_original_needs_no_parents() -> None:
    entry = _entry(role="original", origin="captured", derived_from=None, x_vendor={"anything": 1})
    (parsed,) = parse_sidecar(_sidecar(entry, x_batch="7"), name="s.json").files
    assert parsed.role is ArtifactRole.ORIGINAL
    assert parsed.parents == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff", "not valid UTF-8"),
        (b"[]", "must be a JSON object"),
        (b'{"schema": "custody/sidecar/v1", "schema": "x", "files": []}', "duplicate key 'schema'"),
        (_sidecar(schema="custody/sidecar/v2"), "schema must be 'custody/sidecar/v1'"),
        (json.dumps({"schema": "custody/sidecar/v1"}).encode(), "missing required field(s) 'files'"),
        (_sidecar(extra=1), "unknown field(s) 'extra'"),
        (_sidecar(description=None), "'description' is null"),
        (json.dumps({"schema": "custody/sidecar/v1", "files": []}).encode(), "files is empty"),
        (_sidecar(_entry(path="/etc/passwd")), "is absolute"),
        (_sidecar(_entry(path="../outside.txt")), "'..' component"),
        (_sidecar(_entry(path="ocr//one.txt")), "empty, '.' or '..' component"),
        (_sidecar(_entry(path="ocr\\one.txt")), "backslash"),
        (_sidecar(_entry(path="ocr/one\n.txt")), "control character"),
        (_sidecar(_entry(), _entry(sha256=DIGEST_B, derived_from=None, role="original")), "already listed"),
        (_sidecar(_entry(sha256="A" * 64)), "64 lowercase hex"),
        (_sidecar(_entry(size=-1)), "size must be 0 or more"),
        (_sidecar(_entry(size=True)), "size must be a whole number"),
        (_sidecar(_entry(size=2**60)), "exact JSON range"),
        (_sidecar(_entry(media_type="text")), "does not look like type/subtype"),
        (_sidecar(_entry(origin="made-up")), "origin must be one of captured, generated, mixed"),
        (_sidecar(_entry(derived_from=None)), "a derivative needs derived_from"),
        (_sidecar(_entry(role="original")), "an original has no derived_from"),
        (_sidecar(_entry(derived_from={"parents": []})), "parents is empty"),
        (
            _sidecar(_entry(derived_from={"parents": [{"sha256": DIGEST_B}, {"sha256": DIGEST_B}]})),
            "same parent twice",
        ),
        (_sidecar(_entry(derived_from={"parents": [{"sha256": DIGEST_A}]})), "derived from itself"),
        (_sidecar(_entry(tool={"name": "ocr-engine"})), "tool is missing required field(s) 'version'"),
        (_sidecar(_entry(tool={"name": "../x", "version": "1"})), "tool.name '../x' is not valid"),
        (_sidecar(_entry(hil={"level": "HIL5_AUTONOMOUS"})), "hil is missing required field(s) 'function'"),
        (_sidecar(_entry(hil={"level": "HIL4_POST_REVIEW", "function": "analyse"})), "give the reviewer"),
        (_sidecar(_entry(captured_at="yesterday")), "captured_at"),
        (_sidecar(_entry(language="english please")), "not a BCP 47 language tag"),
        (_sidecar(_entry(source={"url": "https://x.example", "when": "now"})), "unknown field(s) 'when'"),
        (_sidecar(_entry(source={"url": None})), "'url' is null"),
    ],
)
def test_a_malformed_sidecar_is_refused_naming_entry_and_field(data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        parse_sidecar(data, name="folder/sidecar.json")
    assert caught.value.message.startswith("folder/sidecar.json: ")
    assert message in caught.value.message


def test_the_error_names_the_entry_index_and_its_path() -> None:
    good = _entry()
    bad = _entry(path="ocr/two.txt", sha256=DIGEST_B, media_type="nonsense")
    with pytest.raises(FormatError, match=r"files\[1\] \(ocr/two.txt\): media_type 'nonsense'"):
        parse_sidecar(_sidecar(good, bad), name="s.json")


@pytest.mark.parametrize("path", ["a.txt", "ocr/ad-1.txt", "deep/er/file.name.txt", "ünïcode/名前.txt"])
def test_relative_paths_inside_the_folder_are_accepted(path: str) -> None:
    assert check_relative_path(path, "path") == path
