"""Tool cards (YAML or JSON): the shipped examples parse; malformed cards fail naming the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from custody.canonical import canonical_bytes
from custody.digests import sha256_hex
from custody.errors import FormatError
from custody.models import HIL, ToolKind
from custody.resources import templates_dir
from custody.toolcard import MAX_CARD_BYTES, parse_tool_card

CARDS = templates_dir() / "toolcards"

MINIMAL = b'name: ocr-engine\nversion: "5.3"\nkind: ocr\n'


def card_bytes(name: str) -> bytes:
    return (CARDS / name).read_bytes()


def yaml_card(**fields: Any) -> bytes:
    document: dict[str, Any] = {"name": "ocr-engine", "version": "5.3", "kind": "ocr"}
    document.update(fields)
    document = {k: v for k, v in document.items() if v is not _DROP}
    return yaml.safe_dump(document, sort_keys=False).encode()


_DROP = object()


def test_templates_folder_is_the_repository_one() -> None:
    assert (CARDS / "scraper.yaml").is_file()
    assert (CARDS / "decoy-chatbot.yaml").is_file()


def test_decoy_chatbot_card() -> None:
    card = parse_tool_card(card_bytes("decoy-chatbot.yaml"), what="decoy-chatbot.yaml")
    assert (card.name, card.version, card.kind) == ("lantern-decoy", "2.3.1", ToolKind.DECOY_CHATBOT)
    assert card.default_hil is HIL.HIL2_APPROVED
    assert card.build_hash == "4b1f0c7e9a2d58e3b6c1f0a9d8e7c6b5a4f3e2d1"
    assert card.configuration["approval_mode"] == "per_message"
    assert card.model is not None
    assert card.model.replayable is False
    assert card.model.snapshot == "chat-large-2026-04-15"
    assert card.model.parameters == {"temperature": 0.7, "top_p": 0.9, "seed": 1234, "max_tokens": 300}
    assert card.referenced_files == {
        "system_prompt": "decoy-chatbot/system-prompt.txt",
        "persona_script": "decoy-chatbot/persona-ava.md",
    }
    for path in card.referenced_files.values():
        assert (CARDS / path).is_file()
    # YAML dates become ISO text, so the card can be signed as JSON.
    assert card.validation[0]["date"] == "2026-05-02"
    assert card.known_issues[0]["from"] == "2026-06-01"
    canonical_bytes(card.to_dict())


def test_scraper_card() -> None:
    card = parse_tool_card(card_bytes("scraper.yaml"))
    assert (card.name, card.version, card.kind) == ("adscraper", "1.4.0", ToolKind.SCRAPER)
    assert card.default_hil is HIL.HIL0_MANUAL
    assert card.build_hash == "0e5d9c2a7f31b84c6d2e1f0a9b8c7d6e5f4a3b2c"  # from build.commit
    assert card.model is None
    assert card.referenced_files == {}
    assert card.known_issues == ()
    assert card.configuration["warc"] is True


def test_config_digest_is_sha256_of_canonical_configuration() -> None:
    card = parse_tool_card(card_bytes("scraper.yaml"))
    expected = sha256_hex(canonical_bytes(dict(card.configuration)))
    assert card.config_digest == expected
    assert card.to_dict()["config_digest"] == {"sha256": expected}
    # Key order in the card does not change the digest; a value does.
    reordered = yaml_card(configuration=dict(reversed(list(card.configuration.items()))))
    original_order = yaml_card(configuration=dict(card.configuration))
    assert parse_tool_card(reordered).config_digest == parse_tool_card(original_order).config_digest
    changed = yaml_card(configuration={**card.configuration, "timeout_seconds": 61})
    assert parse_tool_card(changed).config_digest != card.config_digest


def test_json_card_equals_yaml_card() -> None:
    from_yaml = parse_tool_card(card_bytes("decoy-chatbot.yaml"))
    as_json = json.dumps(yaml.safe_load(card_bytes("decoy-chatbot.yaml")), default=str).encode()
    assert parse_tool_card(as_json).to_dict() == from_yaml.to_dict()


def test_to_dict_shape() -> None:
    document = parse_tool_card(card_bytes("decoy-chatbot.yaml")).to_dict()
    assert {
        "name",
        "version",
        "kind",
        "configuration",
        "config_digest",
        "validation",
        "known_issues",
        "build_hash",
        "vendor",
        "sop",
        "description",
        "default_hil",
        "model",
    } == set(document)
    assert document["model"]["system_prompt"] == {"path": "decoy-chatbot/system-prompt.txt"}


def test_with_file_digests() -> None:
    card = parse_tool_card(card_bytes("decoy-chatbot.yaml"))
    prompt = sha256_hex((CARDS / "decoy-chatbot/system-prompt.txt").read_bytes())
    filled = card.with_file_digests({"system_prompt": prompt})
    assert filled.to_dict()["model"]["system_prompt"] == {
        "path": "decoy-chatbot/system-prompt.txt",
        "digest": {"sha256": prompt},
    }
    assert "digest" not in filled.to_dict()["model"]["persona_script"]
    assert card.to_dict()["model"]["system_prompt"] == {"path": "decoy-chatbot/system-prompt.txt"}
    with pytest.raises(FormatError, match="no file field"):
        card.with_file_digests({"weights": prompt})
    with pytest.raises(FormatError, match="referenced file digest"):
        card.with_file_digests({"system_prompt": "abc"})


def test_with_file_digests_without_model() -> None:
    card = parse_tool_card(MINIMAL)
    assert card.with_file_digests({}) is card


def test_minimal_card() -> None:
    card = parse_tool_card(MINIMAL)
    assert card.configuration == {}
    assert card.to_dict() == {
        "name": "ocr-engine",
        "version": "5.3",
        "kind": "ocr",
        "configuration": {},
        "config_digest": {"sha256": sha256_hex(b"{}")},
        "validation": [],
        "known_issues": [],
    }


def test_integer_version_kept_as_text_and_float_version_refused() -> None:
    assert parse_tool_card(b"name: x\nversion: 7\nkind: ocr\n").version == "7"
    # YAML reads 2.10 as the float 2.1: signing "2.1" would change what was written.
    with pytest.raises(FormatError, match=r"'version' is the number 2\.1; quote it"):
        parse_tool_card(b"name: x\nversion: 2.10\nkind: ocr\n")
    assert parse_tool_card(b"name: x\nversion: '2.10'\nkind: ocr\n").version == "2.10"


def test_weights_digest_prefix_accepted() -> None:
    digest = sha256_hex(b"weights")
    model = {
        "provider": "local",
        "model_id": "m",
        "snapshot": "s",
        "replayable": True,
        "weights_digest": f"sha256:{digest}",
    }
    card = parse_tool_card(yaml_card(model=model))
    assert card.model is not None
    assert card.model.weights_digest == digest


MODEL = {"provider": "Example AI", "model_id": "chat", "snapshot": "chat-2026", "replayable": False}

MALFORMED: dict[str, tuple[bytes, str]] = {
    "not a mapping": (b"- name: x\n- kind: ocr\n", "must be a mapping of fields"),
    "scalar": (b"just text\n", "must be a mapping of fields"),
    "empty": (b"", "must be a mapping of fields"),
    "missing name": (yaml_card(name=_DROP), "'name' is required"),
    "empty name": (yaml_card(name="  "), "'name' must be non-empty text"),
    "name not a slug": (yaml_card(name="OCR engine"), "name 'OCR engine' is not valid"),
    "missing version": (yaml_card(version=_DROP), "'version' is required"),
    "version list": (yaml_card(version=[1, 2]), "'version' must be non-empty text"),
    "bad kind": (yaml_card(kind="oracle"), "kind must be one of"),
    "missing kind": (yaml_card(kind=_DROP), "kind must be one of"),
    "bad default_hil": (yaml_card(default_hil="HIL6"), "default_hil must be one of"),
    "replayable not bool": (
        yaml_card(model={**MODEL, "replayable": "sometimes"}),
        "'model.replayable' must be true or false",
    ),
    "replayable missing": (
        yaml_card(model={k: v for k, v in MODEL.items() if k != "replayable"}),
        "model.replayable",
    ),
    "model provider missing": (
        yaml_card(model={k: v for k, v in MODEL.items() if k != "provider"}),
        "'model.provider' is required",
    ),
    "model not mapping": (yaml_card(model=["chat"]), "'model' must be a mapping"),
    "model parameters list": (yaml_card(model={**MODEL, "parameters": [1]}), "'model.parameters' must be"),
    "weights digest": (yaml_card(model={**MODEL, "weights_digest": "abc"}), "model.weights_digest"),
    "infinite number": (
        b"name: x\nversion: '1'\nkind: ocr\nconfiguration:\n  rate: .inf\n",
        "card.configuration.rate is not a finite number",
    ),
    "nan number": (
        b"name: x\nversion: '1'\nkind: ocr\nvalidation:\n  - metrics: {error: .nan}\n",
        r"card.validation\[0\].metrics.error is not a finite number",
    ),
    "configuration list": (yaml_card(configuration=["a"]), "'configuration' must be a mapping"),
    "configuration huge float": (yaml_card(configuration={"max_bytes": 1.0e16}), "integer beyond"),
    "build text": (yaml_card(build="abc"), "'build' must be a mapping"),
    "validation mapping": (
        yaml_card(validation={"reference": "x"}),
        "'validation' must be a list of mappings",
    ),
    "known issues of text": (yaml_card(known_issues=["KI-1"]), "'known_issues' must be a list of mappings"),
    "non-text key": (
        b"name: x\nversion: '1'\nkind: ocr\nconfiguration:\n  1: one\n",
        "key 1 must be text",
    ),
    "duplicate key": (
        b"name: x\nversion: '1'\nversion: '2'\nkind: ocr\n",
        "duplicate key 'version'",
    ),
    "binary value": (
        b"name: x\nversion: '1'\nkind: ocr\nconfiguration:\n  blob: !!binary aGk=\n",
        "unsupported value at card.configuration.blob: bytes",
    ),
    "invalid yaml": (b"name: x\nversion: [1\nkind: ocr\n", "not valid YAML"),
    "python tag": (b"name: !!python/object:os.system x\n", "not valid YAML"),
    "invalid json": (b'{"name": "x", "version": "1", "kind": "ocr",}', "not valid JSON"),
    "json duplicate key": (
        b'{"name": "x", "name": "y", "version": "1", "kind": "ocr"}',
        "duplicate key 'name'",
    ),
    "json NaN": (b'{"name": "x", "version": "1", "kind": "ocr", "configuration": {"r": NaN}}', "NaN"),
    "not utf-8": (b"name: caf\xe9\n", "not UTF-8"),
    "yaml alias": (b"name: x\nversion: '1'\nkind: ocr\nconfiguration:\n  a: &x [1]\n  b: *x\n", "aliases"),
    "recursive alias": (b"name: x\nversion: '1'\nkind: ocr\nconfiguration: &c {self: *c}\n", "aliases"),
    "too deep (json)": (
        b'{"name": "x", "version": "1", "kind": "ocr", "configuration": {"a": '
        + b"[" * 5000
        + b"]" * 5000
        + b"}}",
        "nested too deeply",
    ),
    "too deep (yaml)": (b"name: x\nconfiguration: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
}


@pytest.mark.parametrize(("data", "message"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_card(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message) as caught:
        parse_tool_card(data, what="ocr.yaml")
    assert caught.value.message.startswith("ocr.yaml")
    assert caught.value.exit_code == 3


def test_billion_laughs_refused_quickly() -> None:
    lines = ["name: x", "version: '1'", "kind: ocr", "configuration:", "  l0: &l0 [lol, lol, lol, lol, lol]"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    with pytest.raises(FormatError, match="aliases"):
        parse_tool_card("\n".join(lines).encode())


def test_card_over_one_mebibyte() -> None:
    data = MINIMAL + b"description: " + b"x" * MAX_CARD_BYTES + b"\n"
    with pytest.raises(FormatError, match=f"ocr.yaml is {len(data)} bytes; tool cards are limited to"):
        parse_tool_card(data, what="ocr.yaml")


def test_card_just_under_the_limit_parses() -> None:
    padding = MAX_CARD_BYTES - len(MINIMAL) - len(b"description: \n")
    data = MINIMAL + b"description: " + b"x" * padding + b"\n"
    assert len(data) == MAX_CARD_BYTES
    assert parse_tool_card(data).description == "x" * padding


def test_default_what_is_tool_card() -> None:
    with pytest.raises(FormatError, match=r"^tool card: 'name' is required"):
        parse_tool_card(b"version: '1'\nkind: ocr\n")


def test_card_file_on_disk_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "ocr.json"
    path.write_bytes(
        json.dumps(
            {"name": "ocr-engine", "version": "5.3", "kind": "ocr", "configuration": {"lang": ["deu", "eng"]}}
        ).encode()
    )
    card = parse_tool_card(path.read_bytes(), what=str(path))
    assert card.configuration == {"lang": ["deu", "eng"]}
