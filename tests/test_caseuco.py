"""The CASE/UCO view of a case: built from the signed events, and valid for case_validate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from custody.caselog import list_entries
from custody.caseuco import graph_of
from custody.events import _unverified_event
from custody.exhibits import exhibit_index
from custody.importers.folder import import_folder
from custody.importers.web import import_warc
from custody.tools import register_tool
from custody.workspace import Workspace
from tests.conftest import REPO, TOOLCARDS

SAMPLE = REPO / "sample_cases" / "classifieds-sweep"
CASE_VALIDATE = Path(sys.executable).with_name("case_validate")


def _sample_events(ws: Workspace) -> list:  # type: ignore[type-arg]
    for card in (TOOLCARDS / "translator.yaml", SAMPLE / "ocr-engine.yaml"):
        register_tool(ws, card)
    import_warc(ws, "OP-TEST", SAMPLE / "sweep-2026-06-03.warc.gz", tool_spec="adscraper")
    import_folder(ws, "OP-TEST", SAMPLE)
    return [_unverified_event(row.entry)[1] for row in list_entries(ws, "OP-TEST")]


def test_the_sample_sweep_is_a_valid_case_graph(case_workspace: Workspace, tmp_path: Path) -> None:
    events = _sample_events(case_workspace)
    graph = graph_of("OP-TEST", events)
    assert graph == graph_of("OP-TEST", events)  # deterministic: node ids derive from the case

    path = tmp_path / "case.jsonld"
    path.write_text(json.dumps(graph, indent=1))
    result = subprocess.run([str(CASE_VALIDATE), str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Conforms: True" in result.stdout

    nodes = graph["@graph"]
    by_type: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for node in nodes:
        by_type.setdefault(node["@type"], []).append(node)
    exhibits = exhibit_index(events)
    records = by_type["case-investigation:ProvenanceRecord"]
    assert sorted(int(r["case-investigation:exhibitNumber"]) for r in records) == [
        e["exhibit"] for e in exhibits
    ]
    hashes = {
        h["uco-types:hashValue"]["@value"]
        for f in by_type["uco-observable:File"]
        for facet in f["uco-core:hasFacet"]
        for h in facet.get("uco-observable:hash", [])
    }
    assert hashes == {e["sha256"] for e in exhibits}
    assert {(t["uco-core:name"], t["uco-tool:version"]) for t in by_type["uco-tool:Tool"]} == {
        ("adscraper", "1.4.0"),
        ("ocr-engine", "5.3.1"),
        ("translator", "3.0.2"),
    }
    actions = by_type["case-investigation:InvestigativeAction"]
    assert len(actions) == sum(len(e["records"]) for e in exhibits)
    derived = [a for a in actions if "uco-action:object" in a]
    assert len(derived) == 8 + 7  # WARC payload extracts, then the sidecar's OCR and translations


def test_a_graph_that_breaks_the_ontology_is_caught(tmp_path: Path) -> None:
    """The validator really validates: a hash without its value does not conform."""
    graph = {
        "@context": {
            "kb": "urn:custody:kb:",
            "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
        },
        "@graph": [{"@id": "kb:hash-1", "@type": "uco-types:Hash", "uco-types:hashMethod": "SHA256"}],
    }
    path = tmp_path / "broken.jsonld"
    path.write_text(json.dumps(graph))
    result = subprocess.run([str(CASE_VALIDATE), str(path)], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "Conforms: False" in result.stdout
