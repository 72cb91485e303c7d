"""A CASE/UCO JSON-LD view of a case (https://caseontology.org), built from its signed events.

For tools that speak CASE (forensic suites, case-management systems), a bundle carries
``data/case.jsonld``: the investigation, one investigative action per artifact record (what was
done, by which tool and version, performed by whom, when, on which inputs), the files with their
SHA-256, sizes and media types, a provenance record per exhibit carrying its exhibit number, and
the tools. It is a view: the signed ledger entries stay the evidence, and everything in the graph
is derived from them (``graph_of`` is pure and deterministic; node ids are UUIDv5 of the case and
the digest or sequence they stand for).

The graph passes ``case_validate`` (case-utils, the CASE project's SHACL validator); the tests
run it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from custody.events import ARTIFACT_DERIVED, ARTIFACT_RECORDED, CASE_OPENED, CustodyEvent
from custody.exhibits import exhibit_index
from custody.models import Provenance

CONTEXT = {
    "kb": "urn:custody:kb:",
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
_NAMESPACE = uuid.UUID("6f1c8a52-2d8e-5b1e-9a57-1b0f7e2c4d31")


def _id(case_id: str, kind: str, key: str) -> str:
    return f"kb:{kind}-{uuid.uuid5(_NAMESPACE, f'{case_id}/{kind}/{key}')}"


def _ref(node_id: str) -> dict[str, str]:
    return {"@id": node_id}


def _time(value: str) -> dict[str, str]:
    return {"@type": "xsd:dateTime", "@value": value}


def graph_of(
    case_id: str, events: Sequence[CustodyEvent | None], exhibits: Sequence[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The CASE/UCO JSON-LD document of a case's events (``None`` entries, unreadable or withheld,
    are skipped). ``exhibits`` gives the exhibit numbers (default: ``exhibit_index(events)``;
    a bundle that withholds artifacts passes its own index so that numbers stay the case's)."""
    nodes: list[dict[str, Any]] = []
    numbered = {item["sha256"]: item for item in (exhibit_index(events) if exhibits is None else exhibits)}
    files: dict[str, str] = {}
    tools: dict[tuple[str, str], str] = {}
    people: dict[str, str] = {}
    records: list[str] = []
    actions: list[str] = []
    title = case_id

    def person(name: str) -> str:
        if name not in people:
            people[name] = _id(case_id, "identity", name)
            nodes.append({"@id": people[name], "@type": "uco-identity:Identity", "uco-core:name": name})
        return people[name]

    def file_node(provenance: Provenance) -> str:
        digest = provenance.digest
        if digest not in files:
            files[digest] = _id(case_id, "file", digest)
            exhibit = numbered.get(digest)
            facets: list[dict[str, Any]] = [
                {
                    "@id": _id(case_id, "content-facet", digest),
                    "@type": "uco-observable:ContentDataFacet",
                    "uco-observable:hash": [
                        {
                            "@id": _id(case_id, "hash", digest),
                            "@type": "uco-types:Hash",
                            "uco-types:hashMethod": "SHA256",
                            "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": digest},
                        }
                    ],
                    "uco-observable:mimeType": provenance.media_type,
                    "uco-observable:sizeInBytes": provenance.size,
                }
            ]
            if provenance.name:
                facets.append(
                    {
                        "@id": _id(case_id, "file-facet", digest),
                        "@type": "uco-observable:FileFacet",
                        "uco-observable:fileName": provenance.name,
                    }
                )
            nodes.append({"@id": files[digest], "@type": "uco-observable:File", "uco-core:hasFacet": facets})
            if exhibit is not None:
                record_id = _id(case_id, "provenance-record", digest)
                records.append(record_id)
                nodes.append(
                    {
                        "@id": record_id,
                        "@type": "case-investigation:ProvenanceRecord",
                        "case-investigation:exhibitNumber": str(exhibit["exhibit"]),
                        "uco-core:object": [_ref(files[digest])],
                    }
                )
        return files[digest]

    def tool_node(provenance: Provenance) -> str:
        key = (provenance.tool.name, provenance.tool.version)
        if key not in tools:
            tools[key] = _id(case_id, "tool", f"{key[0]}@{key[1]}")
            nodes.append(
                {
                    "@id": tools[key],
                    "@type": "uco-tool:Tool",
                    "uco-core:name": provenance.tool.name,
                    "uco-tool:version": provenance.tool.version,
                    "uco-core:description": f"tool card sha256 {provenance.tool.card_digest}",
                }
            )
        return tools[key]

    for event in events:
        if event is None:
            continue
        if event.event_type == CASE_OPENED and isinstance(event.body.get("title"), str):
            title = event.body["title"]
        if event.event_type not in (ARTIFACT_RECORDED, ARTIFACT_DERIVED):
            continue
        provenance = Provenance.from_dict(event.body)
        action_id = _id(case_id, "action", str(event.sequence))
        actions.append(action_id)
        action: dict[str, Any] = {
            "@id": action_id,
            "@type": "case-investigation:InvestigativeAction",
            "uco-core:name": event.event_type,
            "uco-core:description": (
                f"ledger entry {event.sequence}: {provenance.origin.value} {provenance.role.value}, "
                f"human involvement {provenance.hil.level.value} ({provenance.hil.function.value})"
                + (f", {provenance.transformation}" if provenance.transformation else "")
            ),
            "uco-action:startTime": _time(event.time),
            "uco-action:endTime": _time(event.time),
            "uco-action:instrument": [_ref(tool_node(provenance))],
            "uco-action:performer": _ref(person(provenance.operator)),
            "uco-action:result": [_ref(file_node(provenance))],
        }
        if provenance.derived_from:
            action["uco-action:object"] = [
                _ref(files.get(parent) or _id(case_id, "file", parent)) for parent in provenance.derived_from
            ]
        nodes.append(action)

    nodes.insert(
        0,
        {
            "@id": _id(case_id, "investigation", case_id),
            "@type": "case-investigation:Investigation",
            "uco-core:name": title,
            "uco-core:description": f"custody case {case_id}",
            "uco-core:object": [_ref(node) for node in [*actions, *records]],
        },
    )
    return {"@context": CONTEXT, "@graph": nodes}
