"""The admissibility questionnaires recomputed from a disclosure bundle (no workspace, no database).

What a reader of a bundle (the dossier, a defence expert) does to check ``data/questionnaire.json``:
parse the disclosed entries (a withheld entry is None), take the withheld schedule, read artifacts
from ``data/artifacts/`` and call ``questionnaire.evaluate``: the result is the one the exporter
wrote. Nothing here checks signatures or manifests: run ``custody verify`` (``verify_bundle``)
first; hence the ``unverified`` in the name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from custody.bundle_layout import ENTRIES, EXHIBITS, WITHHELD, artifact_path
from custody.bundle_verify import open_bag
from custody.canonical import parse_json_object
from custody.disclosure import WithheldEntry, parse_ledger_lines
from custody.errors import FormatError
from custody.events import CustodyEvent, _unverified_event
from custody.exhibits import WithheldExhibit
from custody.questionnaire import Questionnaire, evaluate, question_sets_for

MAX_ARTIFACT_READ = 512 * 1024 * 1024
"""Largest artifact read into memory for the questionnaire (transcripts and analyses are small)."""


def withheld_schedule(document: dict[str, Any], name: str) -> list[WithheldExhibit]:
    """The items of a bundle's ``data/withheld.json`` (unverified: the verifier checks them)."""
    items = document.get("withheld")
    if not isinstance(items, list):
        raise FormatError(f"{name}: 'withheld' must be a list")
    try:
        return [
            WithheldExhibit(
                item["sha256"], tuple(item["entries"]), item["reason"], item["exhibit"], item["scope"]
            )
            for item in items
        ]
    except (KeyError, TypeError) as exc:
        raise FormatError(f"{name}: a withheld item lacks {exc}") from exc


def unverified_bundle_questionnaires(
    path: Path, jurisdictions: Sequence[str] | None = None
) -> list[Questionnaire]:
    """Evaluate the case's question sets (or those named) over what the bundle at ``path``
    discloses. Verify the bundle first: this trusts its bytes.

    Raises:
        FormatError / InputFileError: an unreadable bundle or index (exit 3).
    """
    with open_bag(path) as bag:
        lines = parse_ledger_lines(bag.read(ENTRIES), name=ENTRIES)
        events: list[CustodyEvent | None] = [
            None if isinstance(line, WithheldEntry) else _unverified_event(line, what=f"entry {n}")[1]
            for n, line in enumerate(lines)
        ]
        exhibits = parse_json_object(bag.read(EXHIBITS), what=EXHIBITS).get("exhibits")
        if not isinstance(exhibits, list):
            raise FormatError(f"{EXHIBITS}: 'exhibits' must be a list")
        withheld = parse_json_object(bag.read(WITHHELD), what=WITHHELD)
        return bag_questionnaires(
            events,
            exhibits,
            withheld,
            read=lambda inner: bag.read(inner, limit=MAX_ARTIFACT_READ),
            has=lambda inner: inner in bag.sizes,
            jurisdictions=jurisdictions,
        )


def bag_questionnaires(
    events: Sequence[CustodyEvent | None],
    exhibits: Sequence[Any],
    withheld_document: dict[str, Any],
    *,
    read: Callable[[str], bytes],
    has: Callable[[str], bool],
    jurisdictions: Sequence[str] | None = None,
) -> list[Questionnaire]:
    """The case's question sets (or those named) evaluated over a bag's disclosed entries, its
    exhibit index and withheld schedule (``data/withheld.json``), reading the artifacts it
    carries through ``read`` (inner bag path to bytes) where ``has`` says they are there.

    Raises:
        NotFoundError / PolicyError: see ``questionnaire.question_sets_for``.
    """
    withheld = withheld_schedule(withheld_document, WITHHELD)
    paths = {
        e["sha256"]: artifact_path(e["sha256"], e.get("name"))
        for e in exhibits
        if isinstance(e, dict) and "withheld" not in e and isinstance(e.get("sha256"), str)
    }

    def read_artifact(digest: str) -> bytes | None:
        inner = paths.get(digest)
        return read(inner) if inner is not None and has(inner) else None

    return [
        evaluate(events, s, read_artifact=read_artifact, withheld=withheld)
        for s in question_sets_for(events, jurisdictions)
    ]
