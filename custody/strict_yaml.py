"""A strict YAML loader for input custody signs from (tool cards, term lists).

Invariants: it is PyYAML's ``SafeLoader`` (no Python objects) without aliases (a small file could
otherwise expand exponentially, "billion laughs", or contain itself) and without duplicate or
non-text mapping keys (PyYAML would silently keep the last of two equal keys, so what is signed
could differ from what a reader of the file sees).
"""

from __future__ import annotations

from typing import Any

import yaml

from custody.errors import FormatError


class StrictLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            problem = None if isinstance(key, str) else f"key {key!r} must be text"
            if key in seen:
                problem = f"duplicate key {key!r}"
            if problem:
                raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_strict_yaml(text: str, *, what: str) -> Any:
    """Parse YAML with ``StrictLoader``.

    Raises:
        FormatError: naming ``what``, for invalid YAML, aliases, bad keys or too deep nesting.
    """
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise FormatError(f"{what} is not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise FormatError(f"{what} is nested too deeply") from exc


def load_strict_yaml_bytes(data: bytes, *, what: str, limit: int, kind: str) -> Any:
    """``load_strict_yaml`` over at most ``limit`` bytes of UTF-8 (``kind`` names the files in the
    message, e.g. "term lists").

    Raises:
        FormatError: naming ``what``: too large, not UTF-8, or as ``load_strict_yaml``.
    """
    if len(data) > limit:
        raise FormatError(f"{what} is {len(data)} bytes; {kind} are limited to {limit}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{what} is not UTF-8 text: {exc}") from exc
    return load_strict_yaml(text, what=what)
