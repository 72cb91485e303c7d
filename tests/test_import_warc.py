"""``import_warc`` on SQLite and PostgreSQL: a WARC or WACZ capture recorded as the original, every
response and resource payload as a byte-identical signed extract of it, bad captures refused whole.

The expected values come from parsing the sample capture independently with ``custody.warc`` and
from cutting the bytes out of the file by hand; the sample's README lists every record.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import shutil
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from sqlmodel import select

from custody import db
from custody.caselog import list_entries, verify_case_log
from custody.cases import open_case
from custody.errors import FormatError, InputFileError, IntegrityError, NotFoundError, PolicyError
from custody.fsck import fsck, referenced_digests
from custody.importers import web
from custody.importers.web import WACZ_MEDIA_TYPE, WARC_MEDIA_TYPE, import_warc
from custody.models import HIL, ArtifactRole, HILFunction, Origin
from custody.recording import ArtifactView, RecordOptions, show_artifact
from custody.runs import start_run
from custody.tools import card_of, get_tool, register_tool
from custody.transfers import seal_case
from custody.warc import (
    RecordHead,
    WarcCapture,
    WarcRequest,
    WarcResource,
    WarcResponse,
    read_record_at,
    read_warc,
)
from custody.workspace import Workspace
from tests.conftest import REPO, TOOLCARDS

CASE = "OP-TEST"
SAMPLE = REPO / "sample_cases" / "classifieds-sweep"
WARC = SAMPLE / "sweep-2026-06-03.warc.gz"
WACZ = SAMPLE / "sweep-2026-06-03.wacz"
WACZ_MEMBER = "archive/sweep-2026-06-03.warc.gz"
FIXTURES = REPO / "tests" / "fixtures" / "warc"
# Fixed by tests/fixtures/warc/make_fixtures.py (UUID v5 of "custody-warc-fixtures/response").
FIXTURE_RESPONSE_ID = "<urn:uuid:5a1d7a19-5bbb-5626-bc9f-f807b2416562>"

WARCINFO_ID = "<urn:uuid:899c1e6d-aafa-544e-bf54-19e88c7990c6>"
CERTIFICATE_RECORD_ID = "<urn:uuid:5329f9ef-a2a2-5387-b1fe-d90946157310>"
AD_IDS = ("51907", "51911", "51920", "51924")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _parse(data: bytes) -> WarcCapture:
    return read_warc(data, name="independent read")


SAMPLE_CAPTURE = _parse(WARC.read_bytes())
EXTRACTED = [item for item in SAMPLE_CAPTURE.items if isinstance(item, WarcResponse | WarcResource)]


def _entry_count(ws: Workspace, case_id: str = CASE) -> int:
    return len(list_entries(ws, case_id))


def _artifact_rows(ws: Workspace, case_id: str = CASE) -> list[db.ArtifactRow]:
    with db.transaction(ws.engine) as session:
        statement = select(db.ArtifactRow).where(db.ArtifactRow.case_id == case_id)
        return list(session.exec(statement).all())


def _view(ws: Workspace, digest: str, case_id: str = CASE) -> ArtifactView:
    (view,) = show_artifact(ws, digest, case_id=case_id)
    assert view.signature_ok, view.signature_error
    assert view.blob_error is None, view.blob_error
    return view


def _extracts(ws: Workspace, original: str, case_id: str = CASE) -> dict[str, ArtifactView]:
    """The derivatives of ``original`` in the case, by the WARC-Record-ID their details name."""
    found: dict[str, ArtifactView] = {}
    for row in _artifact_rows(ws, case_id):
        if row.role != ArtifactRole.DERIVATIVE.value:
            continue
        for view in show_artifact(ws, row.digest, case_id=case_id):
            if view.sequence == row.sequence and view.provenance.derived_from == (original,):
                record_id = view.provenance.details["record"]["record_id"]
                assert record_id not in found, f"two extracts of record {record_id}"
                found[record_id] = view
    return found


def _payload_by_hand(capture_bytes: bytes, item: WarcResponse | WarcResource) -> bytes:
    """The payload cut out of a .warc.gz by hand: gunzip the record's member, skip the WARC header
    section, then skip ``offset_in_block`` bytes of the block."""
    record = item.record
    member = capture_bytes[record.offset : record.offset + record.length]
    assert len(member) == record.length
    unzipped = gzip.decompress(member)
    assert unzipped.startswith(b"WARC/1.1\r\n")
    block_start = unzipped.index(b"\r\n\r\n") + 4
    start = block_start + item.payload.offset_in_block
    return unzipped[start : start + item.payload.size]


def _payload_reread(capture_bytes: bytes, item: WarcResponse | WarcResource) -> bytes:
    """The payload as ``read_record_at`` streams it when it re-reads just that record."""
    received: list[bytes] = []

    def sink(head: RecordHead, stream: BinaryIO) -> None:
        assert head.record_id == item.record.record_id
        received.append(stream.read())

    again = read_record_at(io.BytesIO(capture_bytes), item.record, name="re-read", payload_sink=sink)
    assert again.record == item.record
    (payload,) = received
    return payload


def _assert_extracts(
    ws: Workspace, original: str, capture_bytes: bytes, capture_name: str, case_id: str = CASE
) -> dict[str, ArtifactView]:
    """Every response and resource of the sample is one signed extract of ``original`` whose
    signed claims and stored bytes are what the capture holds."""
    extracts = _extracts(ws, original, case_id)
    assert sorted(extracts) == sorted(item.record.record_id for item in EXTRACTED)
    requests = {r.record.record_id: r for r in SAMPLE_CAPTURE.items if isinstance(r, WarcRequest)}
    for item in EXTRACTED:
        view = extracts[item.record.record_id]
        p = view.provenance
        assert (p.role, p.origin) == (ArtifactRole.DERIVATIVE, Origin.CAPTURED)
        assert p.derived_from == (original,)
        assert (p.tool.name, p.tool.version) == ("adscraper", "1.4.0")
        assert p.source.url == item.record.target_uri
        assert p.captured_at == item.record.date
        assert p.media_type == item.payload.media_type
        assert p.size == item.payload.size
        assert item.record.record_id in (p.transformation or "")
        assert f"record at byte {item.record.offset}" in (p.transformation or "")

        details = p.details
        assert details["kind"] == f"warc-{item.kind}"
        assert details["warc"] == capture_name
        assert details["record"] == item.record.to_dict()
        assert details["record"]["offset"] == item.record.offset
        assert details["payload"] == item.payload.to_dict()
        assert details["payload"]["digest"] == {"sha256": p.digest}
        assert details["payload"]["declared_digest"]["verified"] is True
        assert details["payload"]["declared_digest"]["value"] == item.record.header("WARC-Payload-Digest")
        if isinstance(item, WarcResponse):
            assert item.http is not None
            assert details["http"]["status"] == 200
            assert details["http"]["headers"] == [list(pair) for pair in item.http.headers]
            linked = details["request"]
            assert linked["link"] == "concurrent_to"
            request = requests[linked["record"]["record_id"]]
            assert request.record.concurrent_to == (item.record.record_id,)
            assert request.http is not None
            assert linked["http"]["method"] == "GET"
            assert linked["http"]["target"] == request.http.target
            assert request.record.target_uri == item.record.target_uri
        else:
            assert "http" not in details
            assert "request" not in details

        # The stored bytes are exactly the bytes at that place in the capture, and the signed digest
        # is their SHA-256.
        blob = ws.store.read_bytes(p.digest)
        assert _sha256(blob) == p.digest == item.payload.sha256
        assert len(blob) == item.payload.size
        assert blob == _payload_by_hand(capture_bytes, item)
        assert blob == _payload_reread(capture_bytes, item)
    return extracts


def test_warc_is_recorded_as_the_original_with_one_extract_per_response_and_resource(
    case_workspace: Workspace,
) -> None:
    ws = case_workspace
    data = WARC.read_bytes()
    before = _entry_count(ws)

    result = import_warc(ws, CASE, WARC, tool_spec="adscraper")

    assert (result.payloads, result.findings, result.duplicate) == (8, 0, False)
    assert result.digest == _sha256(data) == SAMPLE_CAPTURE.sha256
    entries = list_entries(ws, CASE)
    new = [row.event_type for row in entries[before:]]
    # The tool joins the case, then the capture and its 8 extracts, all in one go.
    assert new == ["tool.registered"] + ["artifact.recorded"] * 9
    assert entries[result.sequence].event_type == "artifact.recorded"

    original = _view(ws, result.digest)
    assert original.sequence == result.sequence
    p = original.provenance
    assert (p.media_type, p.role, p.origin) == (WARC_MEDIA_TYPE, ArtifactRole.ORIGINAL, Origin.CAPTURED)
    assert (p.name, p.size, p.derived_from) == (WARC.name, len(data), ())
    assert (p.tool.name, p.tool.version) == ("adscraper", "1.4.0")
    assert p.operator == "ana"
    assert p.captured_at == "2026-06-03T21:10:00Z"  # the earliest WARC-Date: the warcinfo record
    assert p.details["kind"] == "warc"
    assert ws.store.read_bytes(result.digest) == data

    extracts = _assert_extracts(ws, result.digest, data, WARC.name)
    kinds = Counter(view.provenance.details["kind"] for view in extracts.values())
    assert kinds == {"warc-response": 4, "warc-resource": 4}
    urls = sorted(view.provenance.source.url for view in extracts.values())
    assert urls == sorted(
        [f"https://anunturi-zilnice.example/anunt/{ad}" for ad in AD_IDS]
        + [f"urn:screenshot:https://anunturi-zilnice.example/anunt/{ad}" for ad in AD_IDS]
    )
    media = Counter(view.provenance.media_type for view in extracts.values())
    assert media == {"text/html": 4, "image/png": 4}

    rows = _artifact_rows(ws)
    assert Counter(r.role for r in rows) == {"original": 1, "derivative": 8}
    assert {r.digest for r in rows} == {result.digest} | {v.provenance.digest for v in extracts.values()}
    report = verify_case_log(ws, CASE)
    assert report.ok, report


def test_encoded_body_is_kept_as_sent_and_its_decoded_content_described(case_workspace: Workspace) -> None:
    """Ad 51911 is served chunked and gzip-encoded: the extract is the body exactly as recorded."""
    ws = case_workspace
    result = import_warc(ws, CASE, WARC, tool_spec="adscraper")
    (response,) = [
        r
        for r in SAMPLE_CAPTURE.responses
        if r.record.target_uri is not None and r.record.target_uri.endswith("51911")
    ]
    view = _extracts(ws, result.digest)[response.record.record_id]
    blob = ws.store.read_bytes(view.provenance.digest)
    assert re.match(rb"[0-9a-fA-F]+\r\n\x1f\x8b", blob), blob[:16]  # a chunk of gzip data
    content = view.provenance.details["payload"]["content"]
    assert content["codings"] == ["chunked", "gzip"]
    assert content["digest"]["sha256"] != view.provenance.digest
    headers = dict(map(tuple, view.provenance.details["http"]["headers"]))
    assert (headers["Content-Encoding"], headers["Transfer-Encoding"]) == ("gzip", "chunked")


def test_capture_record_carries_the_capture_tool_and_its_certificate_record(
    case_workspace: Workspace,
) -> None:
    ws = case_workspace
    result = import_warc(ws, CASE, WARC, tool_spec="adscraper")
    (summary,) = _view(ws, result.digest).provenance.details["captures"]

    assert summary["digest"] == {"sha256": result.digest}
    assert (summary["size"], summary["compression"], summary["records"]) == (WARC.stat().st_size, "gzip", 14)
    assert summary["findings"] == []
    (warcinfo,) = summary["warcinfo"]
    assert warcinfo["record"]["record_id"] == WARCINFO_ID
    fields = dict(map(tuple, warcinfo["fields"]))
    assert fields["software"] == "adscraper/1.4.0"
    assert fields["isPartOf"] == "classifieds-sweep-2026-06-03"
    assert "investigator ana" in fields["operator"]

    (certificates,) = summary["certificate_records"]
    assert certificates["kind"] == "metadata"
    assert certificates["record"]["record_id"] == CERTIFICATE_RECORD_ID
    assert certificates["record"]["index"] == 3
    assert certificates["payload"]["media_type"] == "application/pem-certificate-chain"
    first_response = SAMPLE_CAPTURE.responses[0].record.record_id
    assert certificates["record"]["concurrent_to"] == [first_response]
    leaf, ca = certificates["certificates"]
    assert leaf["subject"] == "CN=anunturi-zilnice.example"
    assert "anunturi-zilnice.example" in leaf["dns_names"]
    assert leaf["issuer"] == ca["subject"] == ca["issuer"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", c["fingerprint"]["sha256"]) for c in (leaf, ca))
    # The TLS parameters of each response are signed into its extract.
    for view in _extracts(ws, result.digest).values():
        if view.provenance.details["kind"] == "warc-response":
            assert view.provenance.details["record"]["tls"] == {
                "protocols": ["http/1.1", "tls/1.3"],
                "cipher_suite": "TLS_AES_128_GCM_SHA256",
            }


def test_wacz_is_recorded_as_the_original_with_the_same_extracts(case_workspace: Workspace) -> None:
    ws = case_workspace
    package = WACZ.read_bytes()
    with zipfile.ZipFile(WACZ) as zf:
        inner = zf.read(WACZ_MEMBER)
    assert inner == WARC.read_bytes()  # the sample packages the same WARC
    before = _entry_count(ws)

    result = import_warc(ws, CASE, WACZ, tool_spec="adscraper")

    assert (result.payloads, result.findings, result.duplicate) == (8, 0, False)
    assert result.digest == _sha256(package)
    assert _entry_count(ws) == before + 10
    p = _view(ws, result.digest).provenance
    assert (p.media_type, p.role, p.origin) == (WACZ_MEDIA_TYPE, ArtifactRole.ORIGINAL, Origin.CAPTURED)
    assert (p.name, p.size) == (WACZ.name, len(package))
    assert p.details["kind"] == "wacz"
    wacz = p.details["wacz"]
    assert wacz["datapackage"]["wacz_version"] == "1.1.1"
    assert wacz["datapackage"]["digest_file_verified"] is True
    assert [page["url"].rsplit("/", 1)[1] for page in wacz["pages"]] == list(AD_IDS)
    listed = {r["path"]: r["digest"]["sha256"] for r in wacz["resources"]}
    assert listed[WACZ_MEMBER] == _sha256(inner)
    (summary,) = p.details["captures"]
    assert summary["name"] == f"{WACZ.name} member {WACZ_MEMBER}"
    assert summary["warcinfo"][0]["record"]["record_id"] == WARCINFO_ID
    assert summary["certificate_records"][0]["record"]["record_id"] == CERTIFICATE_RECORD_ID

    extracts = _assert_extracts(ws, result.digest, inner, f"{WACZ.name} member {WACZ_MEMBER}")
    assert {v.provenance.digest for v in extracts.values()} == {item.payload.sha256 for item in EXTRACTED}
    assert verify_case_log(ws, CASE).ok


def test_progress_follows_the_records_to_the_end_of_the_file(case_workspace: Workspace) -> None:
    positions: list[int] = []
    import_warc(case_workspace, CASE, WARC, tool_spec="adscraper", progress=positions.append)
    records = [item.record.offset for item in read_warc(WARC.read_bytes(), name="x").items]
    size = WARC.stat().st_size
    # One position per record with a payload (all but the revisit), then the end of the file.
    assert positions[-1] == size
    assert positions[:-1] == sorted(positions[:-1])
    assert set(positions[:-1]) <= set(records)
    assert len(positions) >= len(records) // 2


def test_importing_again_adds_nothing(case_workspace: Workspace, tmp_path: Path) -> None:
    ws = case_workspace
    first = import_warc(ws, CASE, WARC, tool_spec="adscraper")
    first_wacz = import_warc(ws, CASE, WACZ, tool_spec="adscraper")
    size = _entry_count(ws)
    rows = len(_artifact_rows(ws))
    assert rows == 2 + 16  # the WACZ's extracts name the WACZ as their parent: records of their own

    renamed = tmp_path / "renamed-copy.warc.gz"
    shutil.copy(WARC, renamed)
    again = [
        import_warc(ws, CASE, WARC, tool_spec="adscraper"),
        import_warc(ws, CASE, renamed, tool_spec="adscraper"),
        import_warc(ws, CASE, WACZ, tool_spec="adscraper", options=RecordOptions(hil="HIL5_AUTONOMOUS")),
    ]

    assert [(r.duplicate, r.payloads) for r in again] == [(True, 0)] * 3
    assert [(r.digest, r.sequence) for r in again] == [
        (first.digest, first.sequence),
        (first.digest, first.sequence),
        (first_wacz.digest, first_wacz.sequence),
    ]
    assert _entry_count(ws) == size
    assert len(_artifact_rows(ws)) == rows
    assert verify_case_log(ws, CASE).ok


def test_a_successful_import_leaves_no_unreferenced_blobs(case_workspace: Workspace) -> None:
    """Only the payloads that become artifacts are stored (warcinfo, request and certificate
    blocks are signed into the records, not kept as loose blobs fsck would flag)."""
    ws = case_workspace
    import_warc(ws, CASE, WARC, tool_spec="adscraper")
    import_warc(ws, CASE, WACZ, tool_spec="adscraper")
    assert set(ws.store.iter_digests()) <= referenced_digests(ws)
    result = fsck(ws)
    assert result.ok
    assert not [note for note in result.notes if "referenced by no record" in note], result.notes


# (fixture, error class, exit code, the message after "<path>: ")
BAD_CAPTURES = [
    (
        "warc_truncated.warc.gz",
        FormatError,
        3,
        f"record {FIXTURE_RESPONSE_ID} at offset 346: its gzip member is cut off: the file ends after "
        "4788 bytes, before the member does (the WARC is truncated)",
    ),
    (
        "warc_payload_digest_mismatch.warc",
        IntegrityError,
        1,
        f"record {FIXTURE_RESPONSE_ID} at offset 323: WARC-Payload-Digest mismatch: the record declares "
        "sha1:AOQHKLHZQJHPUXPQVL32FGD2PQNEOZGG, its 201-byte payload hashes to "
        "sha1:BBXJGUEG3E5VHNJOJ7SGU7YI3UHWAFNK",
    ),
    ("warc_not_a_warc.bin", FormatError, 3, "not a WARC file: it starts with b'%PDF-1.7"),
    (
        "wacz_zip_slip.wacz",
        FormatError,
        3,
        "member 'archive/../../outside.txt' leaves the package folder ('..'); refusing the WACZ",
    ),
    (
        "wacz_absolute_path.wacz",
        FormatError,
        3,
        "member '/etc/cron.d/custody' has an absolute path; refusing the WACZ",
    ),
    (
        "wacz_symlink.wacz",
        FormatError,
        3,
        "member 'archive/passwd.warc' is a symbolic link; refusing the WACZ",
    ),
    (
        "wacz_duplicate_names.wacz",
        FormatError,
        3,
        "member name 'archive/data.warc' appears more than once (entries 1 and 3); refusing the WACZ",
    ),
    (
        "wacz_bomb.wacz",
        FormatError,
        3,
        "member 'archive/zeros.warc' expands from 26419 to 4194049 bytes (ratio 158:1; the limit is "
        "100:1): a zip bomb? refusing the WACZ",
    ),
    (
        "wacz_hash_mismatch.wacz",
        IntegrityError,
        1,
        "member archive/data.warc does not match datapackage.json: expected sha256 "
        "6f4e721d70b5a9844014026bfddae56839b6c2f6a21aef3d0d63e3a099deae80 (1505 bytes), observed sha256 "
        "6f4e721d70b5a9844014026bfddae56839b6c2f6a21aef3d0d63e3a099deae86 (1505 bytes)",
    ),
]


def test_bad_captures_import_nothing_and_say_precisely_why(case_workspace: Workspace) -> None:
    ws = case_workspace
    size = _entry_count(ws)
    for fixture, error, exit_code, message in BAD_CAPTURES:
        path = FIXTURES / fixture
        with pytest.raises(error) as raised:
            import_warc(ws, CASE, path, tool_spec="adscraper")
        assert type(raised.value) is error, (fixture, raised.value)
        assert raised.value.message.startswith(f"{path.name}: {message}"), (fixture, raised.value.message)
        assert raised.value.exit_code == exit_code, fixture
        assert _entry_count(ws) == size, fixture
        assert _artifact_rows(ws) == [], fixture
    assert verify_case_log(ws, CASE).ok
    # The refusals left nothing behind that would stop the good capture from importing.
    assert import_warc(ws, CASE, WARC, tool_spec="adscraper").payloads == 8


def test_missing_or_irregular_files_are_input_file_errors(case_workspace: Workspace, tmp_path: Path) -> None:
    ws = case_workspace
    size = _entry_count(ws)
    link = tmp_path / "link.warc.gz"
    link.symlink_to(WARC)
    for path in (tmp_path / "nope.warc.gz", tmp_path, link):
        with pytest.raises(InputFileError) as raised:
            import_warc(ws, CASE, path, tool_spec="adscraper")
        assert raised.value.message == f"capture file not found (or not a regular file): {path}"
        assert raised.value.exit_code == 3
    assert _entry_count(ws) == size
    assert _artifact_rows(ws) == []


def test_unknown_tool_or_case_sealed_case_and_another_tools_run_are_refused(
    case_workspace: Workspace,
) -> None:
    ws = case_workspace
    decoy_run = start_run(ws, CASE, "lantern-decoy", hil_configured="HIL0_MANUAL")
    size = _entry_count(ws)

    with pytest.raises(NotFoundError, match="no tool 'nope'"):
        import_warc(ws, CASE, WARC, tool_spec="nope")
    with pytest.raises(NotFoundError, match=re.escape("no tool 'adscraper@9.9.9'")):
        import_warc(ws, CASE, WARC, tool_spec="adscraper@9.9.9")
    with pytest.raises(NotFoundError, match="no case 'OP-NOPE'"):
        import_warc(ws, "OP-NOPE", WARC, tool_spec="adscraper")
    with pytest.raises(NotFoundError, match="run-that-does-not-exist"):
        import_warc(ws, CASE, WARC, tool_spec="adscraper", run_id="run-that-does-not-exist")
    with pytest.raises(PolicyError, match=f"run {decoy_run.id} is a run of another tool"):
        import_warc(ws, CASE, WARC, tool_spec="adscraper", run_id=decoy_run.id)
    assert _entry_count(ws) == size
    assert _artifact_rows(ws) == []

    seal_case(ws, CASE)
    sealed = _entry_count(ws)
    with pytest.raises(PolicyError, match=f"case {CASE} was sealed at .*: it takes no new evidence"):
        import_warc(ws, CASE, WARC, tool_spec="adscraper")
    assert _entry_count(ws) == sealed
    assert _artifact_rows(ws) == []


def _levels(ws: Workspace, digest: str, case_id: str) -> set[tuple[HIL, str | None, str | None]]:
    """(level, reviewed_by, run) of the capture and every extract of it."""
    views = [_view(ws, digest, case_id), *_extracts(ws, digest, case_id).values()]
    assert len(views) == 9
    return {(v.provenance.hil.level, v.provenance.hil.reviewed_by, v.provenance.run) for v in views}


def test_hil_comes_from_the_tool_card_unless_given(case_workspace: Workspace, tmp_path: Path) -> None:
    ws = case_workspace
    assert card_of(get_tool(ws, "adscraper"))["default_hil"] == "HIL0_MANUAL"
    default = import_warc(ws, CASE, WARC, tool_spec="adscraper")
    assert _levels(ws, default.digest, CASE) == {(HIL.HIL0_MANUAL, None, None)}
    original = _view(ws, default.digest).provenance
    assert original.hil.function is HILFunction.ACQUIRE

    # Another version of the card with another default: the default follows the card.
    card = (TOOLCARDS / "scraper.yaml").read_text()
    assert 'version: "1.4.0"' in card
    assert "default_hil: HIL0_MANUAL" in card
    other = tmp_path / "scraper-1.4.1.yaml"
    other.write_text(
        card.replace('version: "1.4.0"', 'version: "1.4.1"').replace(
            "default_hil: HIL0_MANUAL", "default_hil: HIL1_ASSISTED"
        )
    )
    register_tool(ws, other)
    for case_id in ("OP-CARD", "OP-GIVEN", "OP-RUN"):
        open_case(ws, case_id, title=case_id, jurisdictions=["UK"], authority="AUTH/TEST/2")
    from_card = import_warc(ws, "OP-CARD", WARC, tool_spec="adscraper@1.4.1")
    assert _levels(ws, from_card.digest, "OP-CARD") == {(HIL.HIL1_ASSISTED, None, None)}

    # An explicit level overrides the card, for the capture and every extract.
    given = import_warc(
        ws,
        "OP-GIVEN",
        WARC,
        tool_spec="adscraper",
        options=RecordOptions(hil="HIL4_POST_REVIEW", reviewed_by="cole"),
    )
    assert _levels(ws, given.digest, "OP-GIVEN") == {(HIL.HIL4_POST_REVIEW, "cole", None)}

    # In a run, the run's configured level and operator apply.
    run = start_run(ws, "OP-RUN", "adscraper", hil_configured="HIL5_AUTONOMOUS", operator="cole")
    in_run = import_warc(ws, "OP-RUN", WARC, tool_spec="adscraper", run_id=run.id)
    assert _levels(ws, in_run.digest, "OP-RUN") == {(HIL.HIL5_AUTONOMOUS, None, run.id)}
    assert _view(ws, in_run.digest, "OP-RUN").provenance.operator == "cole"

    # A level that names a human without naming one is refused before anything is written.
    size = _entry_count(ws, "OP-RUN")
    with pytest.raises(FormatError, match="HIL level HIL2_APPROVED names a human: give the approver"):
        import_warc(ws, "OP-RUN", WACZ, tool_spec="adscraper", options=RecordOptions(hil="HIL2_APPROVED"))
    assert _entry_count(ws, "OP-RUN") == size
    for case_id in (CASE, "OP-CARD", "OP-GIVEN", "OP-RUN"):
        assert verify_case_log(ws, case_id).ok, case_id


@pytest.mark.parametrize("capture", [WARC, WACZ], ids=["warc", "wacz"])
def test_a_capture_changed_while_it_is_imported_is_refused(
    case_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capture: Path
) -> None:
    """The original recorded must be the bytes that were parsed and checked."""
    ws = case_workspace
    copy = tmp_path / capture.name
    shutil.copy(capture, copy)
    reader_name = "read_wacz" if capture is WACZ else "read_warc_file"
    real = getattr(web, reader_name)

    def read_then_change(*args: Any, **kwargs: Any) -> Any:
        parsed = real(*args, **kwargs)
        with copy.open("ab") as handle:
            handle.write(b"\0")  # appended after the parse, before the copy is stored
        return parsed

    monkeypatch.setattr(web, reader_name, read_then_change)
    size = _entry_count(ws)
    with pytest.raises(IntegrityError, match=re.escape(f"{copy} changed while it was imported")):
        import_warc(ws, CASE, copy, tool_spec="adscraper")
    assert _entry_count(ws) == size
    assert _artifact_rows(ws) == []


def test_a_decoy_chatbot_cannot_be_the_capture_tool(case_workspace: Workspace) -> None:
    size = _entry_count(case_workspace)
    with pytest.raises(PolicyError, match="tool lantern-decoy is a decoy_chatbot; web captures come from"):
        import_warc(case_workspace, CASE, WARC, tool_spec="lantern-decoy")
    assert _entry_count(case_workspace) == size
