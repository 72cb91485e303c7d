"""WARC and WACZ captures: the sample classifieds sweep parses as written; named bad-input fixtures
fail with the precise error naming the record or member; findings are recorded, never fixed; the
sample and the fixtures regenerate byte for byte."""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import io
import json
import re
import sys
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody import wacz_index
from custody.canonical import canonical_bytes, parse_json_object
from custody.errors import FormatError, InputFileError, IntegrityError
from custody.toolcard import parse_tool_card
from custody.wacz_signature import WaczSignature, check_signed_data
from custody.warc import (
    CaptureFindingKind,
    RecordHead,
    WaczCapture,
    WaczLimits,
    WarcCapture,
    WarcInfo,
    WarcLimits,
    WarcMetadata,
    WarcRequest,
    WarcResource,
    WarcResponse,
    WarcRevisit,
    read_record_at,
    read_wacz,
    read_warc,
)
from tests.conftest import anonymous_signed_data, spki_der

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_cases" / "classifieds-sweep"
FIXTURES = REPO / "tests" / "fixtures" / "warc"
WARC = SAMPLE / "sweep-2026-06-03.warc.gz"
WACZ = SAMPLE / "sweep-2026-06-03.wacz"
SITE = "https://anunturi-zilnice.example"
DATE = "2026-06-03T21:14:05Z"


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


make_sample = _load(SAMPLE / "make_sample.py", "classifieds_sweep_make_sample")
make_fixtures = _load(FIXTURES / "make_fixtures.py", "warc_make_fixtures")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def sample() -> WarcCapture:
    return read_warc(WARC.read_bytes(), name=WARC.name)


# --- hand-made WARC records (full control over every header) ---------------------------------------


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def record(
    record_type: str,
    number: int,
    *,
    uri: str | None = None,
    block: bytes = b"",
    content_type: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    payload: bytes | None = None,
    payload_digest: str | None = "auto",
    block_digest: str | None = "auto",
    version: str = "WARC/1.1",
    date: str = DATE,
    content_length: str | None = "auto",
) -> bytes:
    fields = [("WARC-Type", record_type), ("WARC-Record-ID", rid(number)), ("WARC-Date", date)]
    if uri is not None:
        fields.append(("WARC-Target-URI", uri))
    if content_type is not None:
        fields.append(("Content-Type", content_type))
    fields += list(headers)
    if payload_digest == "auto":
        if payload is not None:
            fields.append(("WARC-Payload-Digest", sha1_b32(payload)))
    elif payload_digest is not None:
        fields.append(("WARC-Payload-Digest", payload_digest))
    if block_digest == "auto":
        fields.append(("WARC-Block-Digest", sha1_b32(block)))
    elif block_digest is not None:
        fields.append(("WARC-Block-Digest", block_digest))
    if content_length is not None:
        fields.append(("Content-Length", str(len(block)) if content_length == "auto" else content_length))
    head = f"{version}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in fields) + "\r\n"
    return head.encode() + block + b"\r\n\r\n"


def rid(number: int) -> str:
    return f"<urn:uuid:00000000-0000-4000-8000-{number:012d}>"


def http_response(body: bytes, *, status: str = "200 OK", headers: Iterable[tuple[str, str]] = ()) -> bytes:
    fields = [("Content-Type", "text/html; charset=utf-8"), *headers]
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n"
    return head.encode() + body


def response(
    number: int,
    uri: str,
    body: bytes = b"<p>ad</p>",
    *,
    http: bytes | None = None,
    payload: bytes | None = None,
    **options: Any,
) -> bytes:
    block = http if http is not None else http_response(body)
    return record(
        "response",
        number,
        uri=uri,
        block=block,
        content_type="application/http; msgtype=response",
        payload=body if payload is None else payload,
        **options,
    )


def request(number: int, uri: str, *, to: int | None = None, method: str = "GET") -> bytes:
    path = "/" + uri.split("://", 1)[1].split("/", 1)[-1]
    block = f"{method} {path} HTTP/1.1\r\nHost: anunturi-zilnice.example\r\n\r\n".encode()
    headers = [("WARC-Concurrent-To", rid(to))] if to is not None else []
    return record(
        "request",
        number,
        uri=uri,
        block=block,
        content_type="application/http; msgtype=request",
        headers=headers,
        payload=b"",
    )


def warcinfo(number: int = 0) -> bytes:
    block = b"software: adscraper/1.4.0\r\noperator: ana\r\n"
    return record("warcinfo", number, block=block, content_type="application/warc-fields")


def kinds(capture: WarcCapture) -> list[CaptureFindingKind]:
    return [finding.kind for finding in capture.findings]


def gz_members(*records: bytes) -> bytes:
    return b"".join(gzip.compress(r, mtime=0) for r in records)


# --- sample case (b): the classifieds sweep --------------------------------------------------------


def test_sample_warc_records_in_file_order(sample: WarcCapture) -> None:
    assert sample.compression == "gzip"
    assert sample.sha256 == sha256(WARC.read_bytes())
    assert sample.size == WARC.stat().st_size
    assert [item.kind for item in sample.items] == [
        "warcinfo",
        *("response", "request", "metadata", "resource"),
        *("response", "request", "resource") * 3,
    ]
    assert [item.record.index for item in sample.items] == list(range(14))
    assert sample.findings == ()
    # locations tile the file: each record is its own gzip member
    ends = [item.record.offset + item.record.length for item in sample.items]
    assert [item.record.offset for item in sample.items] == [0, *ends[:-1]]
    assert ends[-1] == sample.size


def test_sample_warcinfo_names_the_capture_tool(sample: WarcCapture) -> None:
    (info,) = sample.warcinfo
    assert isinstance(info, WarcInfo)
    assert info.software == "adscraper/1.4.0"
    assert info.operator is not None
    assert "investigator ana" in info.operator
    assert info.field("isPartOf") == "classifieds-sweep-2026-06-03"
    assert info.record.date == "2026-06-03T21:10:00Z"


def test_sample_responses_uris_statuses_digests_and_requests(sample: WarcCapture) -> None:
    ads = make_sample.ADS
    assert [r.record.target_uri for r in sample.responses] == [f"{SITE}/anunt/{ad.ad_id}" for ad in ads]
    for response, ad in zip(sample.responses, ads, strict=True):
        assert isinstance(response, WarcResponse)
        assert response.http is not None
        assert response.http.status == 200
        assert response.http.header("content-type") == "text/html; charset=utf-8"
        assert response.record.ip_address == "192.0.2.41"
        assert response.record.tls_protocols == ("http/1.1", "tls/1.3")
        assert response.record.cipher_suite == "TLS_AES_128_GCM_SHA256"
        payload = response.payload
        assert payload.media_type == "text/html"
        assert payload.declared_digest is not None
        assert payload.declared_digest.verified
        assert payload.declared_digest.covers == "message_body"
        assert response.record.block_digest is not None
        assert response.record.block_digest.verified
        html = make_sample.page_html(ad)
        if ad.encoded:
            assert payload.sha256 == sha256(make_sample.chunked(make_sample.gzip_stored(html)))
            assert payload.content is not None
            assert payload.content.codings == ("chunked", "gzip")
            assert payload.content.sha256 == sha256(html)
        else:
            assert payload.sha256 == sha256(html)
            assert payload.size == len(html)
            assert payload.content is None
        # the request that asked for it, linked by WARC-Concurrent-To
        assert response.request_link == "concurrent_to"
        assert response.request is not None
        assert response.request.http is not None
        assert response.request.http.method == "GET"
        assert response.request.http.target == f"/anunt/{ad.ad_id}"
        assert response.request.http.header("Host") == "anunturi-zilnice.example"
        assert rid_of(response.request) in [i.record.record_id for i in sample.requests]
        assert response.record.record_id in response.request.record.concurrent_to


def rid_of(item: WarcRequest) -> str:
    return item.record.record_id


def test_sample_payload_offsets_point_into_the_record(sample: WarcCapture) -> None:
    """What the verifier does by hand: cut the member out, gunzip it, find the payload."""
    data = WARC.read_bytes()
    for response in sample.responses:
        member = data[response.record.offset : response.record.offset + response.record.length]
        text = gzip.decompress(member)
        block_start = text.index(b"\r\n\r\n") + 4
        block = text[block_start : block_start + response.record.block_size]
        assert sha256(block) == response.record.block_sha256
        start = response.payload.offset_in_block
        assert sha256(block[start : start + response.payload.size]) == response.payload.sha256


def test_sample_screenshots_and_certificate(sample: WarcCapture) -> None:
    screenshots = sample.resources
    assert [s.record.target_uri for s in screenshots] == [
        f"urn:screenshot:{SITE}/anunt/{ad.ad_id}" for ad in make_sample.ADS
    ]
    for shot, ad, response in zip(screenshots, make_sample.ADS, sample.responses, strict=True):
        assert isinstance(shot, WarcResource)
        assert not shot.is_certificate_record
        assert shot.payload.media_type == "image/png"
        assert shot.payload.sha256 == sha256(make_sample.screenshot(ad))
        assert shot.record.concurrent_to == (response.record.record_id,)
    (cert_record,) = sample.certificate_records
    assert isinstance(cert_record, WarcMetadata)
    assert cert_record.record.target_uri == f"{SITE}/"
    leaf, ca = cert_record.certificates
    pem = make_sample.certificate_chain()
    der = [c.public_bytes(serialization.Encoding.DER) for c in x509.load_pem_x509_certificates(pem)]
    assert [leaf.sha256, ca.sha256] == [sha256(d) for d in der]
    assert leaf.subject == "CN=anunturi-zilnice.example"
    assert leaf.issuer == ca.subject == "CN=Example Synthetic CA R1,O=Example Synthetic Trust Services,C=RO"
    assert leaf.dns_names == ("anunturi-zilnice.example", "www.anunturi-zilnice.example")
    assert (leaf.not_before, leaf.not_after) == ("2026-05-01T00:00:00Z", "2026-07-30T00:00:00Z")


def test_sample_to_dict_is_canonical_json(sample: WarcCapture) -> None:
    document = sample.to_dict()
    assert parse_json_object(canonical_bytes(document)) == document
    response = sample.responses[0].to_dict()
    assert response["payload"]["digest"] == {"sha256": sample.responses[0].payload.sha256}
    assert response["request"]["link"] == "concurrent_to"
    assert response["request"]["http"]["method"] == "GET"
    assert ["WARC-Protocol", "tls/1.3"] in response["record"]["warc_headers"]


def test_sample_wacz_matches_the_warc(sample: WarcCapture) -> None:
    wacz = read_wacz(WACZ, name=WACZ.name)
    assert wacz.wacz_version == "1.1.1"
    assert wacz.datapackage_digest_verified
    assert wacz.findings == ()
    assert [r.path for r in wacz.resources] == [
        "archive/sweep-2026-06-03.warc.gz",
        "indexes/index.cdx",
        "pages/pages.jsonl",
    ]
    (archive,) = wacz.archives
    assert archive.capture.name == f"{WACZ.name} member archive/sweep-2026-06-03.warc.gz"
    assert archive.capture.to_dict() == {**sample.to_dict(), "name": archive.capture.name}
    assert wacz.resources[0].sha256 == sample.sha256
    assert [p.url for p in wacz.pages] == [r.record.target_uri for r in sample.responses]
    assert dict(wacz.metadata)["software"] == "adscraper 1.4.0 (synthetic)"
    document = wacz.to_dict()
    assert parse_json_object(canonical_bytes(document)) == document
    # the same bytes as a stream or as bytes
    assert read_wacz(WACZ.read_bytes(), name=WACZ.name).to_dict() == document


def test_sidecar_describes_the_derivatives(sample: WarcCapture) -> None:
    sidecar = parse_json_object((SAMPLE / "sidecar.json").read_bytes())
    assert sidecar["schema"] == "custody/sidecar/v1"
    payloads = {item.payload.sha256: item for item in sample.responses + sample.resources}
    tools = {"ocr": ("ocr-engine", "5.3.1"), "translation": ("translator", "3.0.2")}
    paths = []
    for entry in sidecar["files"]:
        data = (SAMPLE / entry["path"]).read_bytes()
        assert entry["sha256"] == sha256(data)
        assert entry["size"] == len(data)
        assert entry["origin"] == "generated"
        assert entry["role"] == "derivative"
        (parent,) = entry["derived_from"]["parents"]
        captured = payloads[parent["sha256"]]  # every parent is a payload in the WARC
        kind = entry["path"].split("/", 1)[0]
        assert (entry["tool"]["name"], entry["tool"]["version"]) == tools[kind]
        if kind == "ocr":
            assert isinstance(captured, WarcResource)
            assert captured.payload.media_type == "image/png"
            assert entry["hil"] == {"level": "HIL5_AUTONOMOUS", "function": "analyse"}
        else:
            assert isinstance(captured, WarcResponse)
            assert entry["hil"]["level"] == "HIL4_POST_REVIEW"
            assert entry["hil"]["reviewed_by"] == "cole"
        assert entry["source"]["url"] in (captured.record.target_uri or "")
        paths.append(entry["path"])
    assert sorted(paths) == sorted(p for p in make_sample.GENERATED if p.startswith(("ocr/", "translation/")))


def test_ocr_tool_card_parses_and_matches_the_sidecar() -> None:
    card = parse_tool_card((SAMPLE / "ocr-engine.yaml").read_bytes(), what="ocr-engine.yaml")
    assert (card.name, card.version, card.kind.value) == ("ocr-engine", "5.3.1", "ocr")
    assert card.model is not None
    assert card.model.replayable
    assert card.default_hil is not None
    assert card.default_hil.value == "HIL5_AUTONOMOUS"


# --- golden files ----------------------------------------------------------------------------------


def test_sample_regenerates_byte_for_byte(tmp_path: Path) -> None:
    written = make_sample.build(tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in written) == sorted(make_sample.GENERATED)
    for relative in make_sample.GENERATED:
        assert (tmp_path / relative).read_bytes() == (SAMPLE / relative).read_bytes(), (
            f"{relative} differs from a fresh make_sample.py run (zlib {zlib.ZLIB_RUNTIME_VERSION}); "
            "run sample_cases/classifieds-sweep/make_sample.py and commit the result"
        )
    committed = {str(p.relative_to(SAMPLE)) for p in SAMPLE.rglob("*") if p.is_file()}
    assert committed - set(make_sample.GENERATED) == {"README.md", "make_sample.py", "ocr-engine.yaml"}


def test_fixtures_regenerate_byte_for_byte(tmp_path: Path) -> None:
    written = make_fixtures.build(tmp_path)
    names = sorted(p.name for p in written)
    assert names == sorted(p.name for p in FIXTURES.iterdir() if p.suffix != ".py")
    for name in names:
        assert (tmp_path / name).read_bytes() == (FIXTURES / name).read_bytes(), name


# --- named bad-input fixtures ----------------------------------------------------------------------

RESPONSE_ID = make_fixtures.record_id("response")

BAD_FIXTURES = [
    (
        "warc_truncated.warc.gz",
        FormatError,
        rf"^warc_truncated\.warc\.gz: record {RESPONSE_ID} at offset 346: its gzip member is cut off: "
        r"the file ends after 4788 bytes, before the member does \(the WARC is truncated\)$",
    ),
    (
        "warc_payload_digest_mismatch.warc",
        IntegrityError,
        rf"^warc_payload_digest_mismatch\.warc: record {RESPONSE_ID} at offset 323: WARC-Payload-Digest "
        r"mismatch: the record declares sha1:AOQHKLHZQJHPUXPQVL32FGD2PQNEOZGG, its 201-byte payload "
        r"hashes to sha1:BBXJGUEG3E5VHNJOJ7SGU7YI3UHWAFNK$",
    ),
    (
        "warc_not_a_warc.bin",
        FormatError,
        r"^warc_not_a_warc\.bin: not a WARC file: it starts with b'%PDF-1\.7",
    ),
    (
        "wacz_zip_slip.wacz",
        FormatError,
        r"^wacz_zip_slip\.wacz: member 'archive/\.\./\.\./outside\.txt' leaves the package folder",
    ),
    (
        "wacz_absolute_path.wacz",
        FormatError,
        r"^wacz_absolute_path\.wacz: member '/etc/cron\.d/custody' has an absolute path",
    ),
    (
        "wacz_symlink.wacz",
        FormatError,
        r"^wacz_symlink\.wacz: member 'archive/passwd\.warc' is a symbolic link",
    ),
    (
        "wacz_duplicate_names.wacz",
        FormatError,
        r"^wacz_duplicate_names\.wacz: member name 'archive/data\.warc' appears more than once "
        r"\(entries 1 and 3\)",
    ),
    (
        "wacz_bomb.wacz",
        FormatError,
        r"^wacz_bomb\.wacz: member 'archive/zeros\.warc' expands from 26419 to 4194049 bytes "
        r"\(ratio 158:1; the limit is 100:1\)",
    ),
    (
        "wacz_hash_mismatch.wacz",
        IntegrityError,
        r"^wacz_hash_mismatch\.wacz: member archive/data\.warc does not match datapackage\.json: "
        r"expected sha256 [0-9a-f]{63}0 \(1505 bytes\), observed sha256 [0-9a-f]{63}6 \(1505 bytes\)$",
    ),
]


@pytest.mark.parametrize(("name", "error", "message"), BAD_FIXTURES, ids=[f[0] for f in BAD_FIXTURES])
def test_bad_fixture(name: str, error: type[Exception], message: str) -> None:
    path = FIXTURES / name
    with pytest.raises(error, match=message) as caught:
        read_wacz(path, name=name) if name.endswith(".wacz") else read_warc(path.read_bytes(), name=name)
    assert caught.value.exit_code == (1 if error is IntegrityError else 3)  # type: ignore[attr-defined]


def test_every_fixture_is_tested() -> None:
    assert {p.name for p in FIXTURES.iterdir() if p.suffix != ".py"} == {f[0] for f in BAD_FIXTURES}


def test_zip_bomb_is_refused_before_any_byte_is_inflated(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a member was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", boom)
    with pytest.raises(FormatError, match="zip bomb"):
        read_wacz(FIXTURES / "wacz_bomb.wacz", name="bomb.wacz")


# --- payload sink and re-reading -------------------------------------------------------------------


def test_sink_gets_each_payload_once_in_file_order() -> None:
    seen: list[tuple[RecordHead, bytes]] = []

    def sink(head: RecordHead, stream: BinaryIO) -> None:
        seen.append((head, stream.read()))

    capture = read_warc(WARC.read_bytes(), name=WARC.name, payload_sink=sink)
    assert [head.record_id for head, _ in seen] == [item.record.record_id for item in capture.items]
    for (head, data), item in zip(seen, capture.items, strict=True):
        assert not isinstance(item, WarcRevisit)
        assert item.payload is not None
        assert sha256(data) == item.payload.sha256
        assert head.source == WARC.name
        assert head.record_type == item.record.record_type
        assert head.media_type == item.payload.media_type
    assert seen[4][1].startswith(b"\x89PNG\r\n\x1a\n")


def test_sink_that_reads_part_of_a_payload_does_not_change_the_digests(sample: WarcCapture) -> None:
    def peek(head: RecordHead, stream: BinaryIO) -> None:
        stream.read(7)

    capture = read_warc(WARC.read_bytes(), name=WARC.name, payload_sink=peek)
    assert capture.to_dict() == sample.to_dict()


def test_sink_errors_propagate() -> None:
    def sink(head: RecordHead, stream: BinaryIO) -> None:
        raise RuntimeError("store full")

    with pytest.raises(RuntimeError, match="store full"):
        read_warc(WARC.read_bytes(), name=WARC.name, payload_sink=sink)


def test_read_record_at_re_reads_and_re_verifies(sample: WarcCapture) -> None:
    data = WARC.read_bytes()
    for item in sample.items:
        got: list[bytes] = []

        def keep(head: RecordHead, stream: BinaryIO, got: list[bytes] = got) -> None:
            got.append(stream.read())

        again = read_record_at(io.BytesIO(data), item.record, name=WARC.name, payload_sink=keep)
        assert again.record == item.record
        if isinstance(item, WarcResponse):
            assert isinstance(again, WarcResponse)
            assert again.request is None
            assert again.payload == item.payload
            assert again.http == item.http
            assert sha256(got[0]) == item.payload.sha256
        else:
            assert again == item
    plain = gzip.decompress(data)
    plain_capture = read_warc(plain, name="plain.warc")
    for item in plain_capture.items:
        assert read_record_at(plain, item.record, name="plain.warc").record == item.record


def test_read_record_at_notices_a_changed_file(sample: WarcCapture) -> None:
    plain = gzip.decompress(WARC.read_bytes())
    capture = read_warc(plain, name="plain.warc")
    target = capture.responses[2].record
    changed = plain.replace(target.record_id.encode(), rid(999).encode())
    with pytest.raises(IntegrityError, match="differs from the one read before"):
        read_record_at(changed, target, name="plain.warc")


# --- findings: recorded, never fixed ---------------------------------------------------------------


def test_response_without_request_and_duplicate_target_uri() -> None:
    uri = f"{SITE}/anunt/1"
    data = warcinfo() + response(1, uri) + request(2, uri, to=1) + response(3, uri, b"<p>again</p>")
    capture = read_warc(data, name="dup.warc")
    assert kinds(capture) == [
        CaptureFindingKind.RESPONSE_WITHOUT_REQUEST,
        CaptureFindingKind.DUPLICATE_TARGET_URI,
    ]
    second = capture.findings[1]
    assert second.record_id == rid(3)
    assert rid(1) in second.message
    assert capture.responses[0].request_link == "concurrent_to"
    assert capture.responses[1].request is None


def test_request_linked_by_target_uri_when_no_concurrent_to() -> None:
    uri = f"{SITE}/anunt/2"
    capture = read_warc(warcinfo() + request(1, uri) + response(2, uri), name="t.warc")
    (linked,) = capture.responses
    assert linked.request_link == "target_uri"
    assert linked.request is not None
    assert linked.request.record.record_id == rid(1)
    assert capture.findings == ()


def test_response_pointing_at_its_request_links_too() -> None:
    uri = f"{SITE}/anunt/3"
    capture = read_warc(
        warcinfo() + request(1, uri) + response(2, uri, headers=[("WARC-Concurrent-To", rid(1))]),
        name="t.warc",
    )
    assert capture.responses[0].request_link == "concurrent_to"


def test_missing_payload_digest_is_a_finding() -> None:
    capture = read_warc(warcinfo() + response(1, f"{SITE}/a", payload_digest=None), name="t.warc")
    assert CaptureFindingKind.MISSING_PAYLOAD_DIGEST in kinds(capture)
    assert capture.responses[0].payload.declared_digest is None


def test_revisit_is_kept_and_flagged() -> None:
    uri = f"{SITE}/anunt/4"
    revisit = record(
        "revisit",
        2,
        uri=uri,
        block=b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n",
        content_type="application/http; msgtype=response",
        headers=[
            ("WARC-Profile", "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"),
            ("WARC-Refers-To", rid(1)),
            ("WARC-Refers-To-Target-URI", uri),
            ("WARC-Refers-To-Date", DATE),
        ],
        payload_digest=sha1_b32(b"<p>ad</p>"),
    )
    capture = read_warc(warcinfo() + response(1, uri) + revisit, name="t.warc")
    (kept,) = capture.revisits
    assert kept.refers_to == rid(1)
    assert kept.http is not None
    assert kept.http.status == 200
    assert kept.declared_payload_digest is not None
    assert not kept.declared_payload_digest.verified
    assert kept.record.block_digest is not None
    assert kept.record.block_digest.verified
    assert CaptureFindingKind.REVISIT in kinds(capture)
    assert "revisit" in json.dumps(kept.to_dict())


def test_other_findings() -> None:
    uri = f"{SITE}/anunt/5"
    short = http_response(b"<p>cut</p>", headers=[("Content-Length", "900"), ("Broken header line", "")])
    short = short.replace(b"Broken header line: \r\n", b"Broken header line\r\n")
    data = (
        response(1, uri, http=short, payload=b"<p>cut</p>", headers=[("WARC-Truncated", "length")])
        + request(2, uri, to=1)
        + record("resource", 3, uri="urn:x", block=b"x", content_type="text/plain", payload_digest="md4:abcd")
        + record("experimental", 4, block=b"?")
    )
    capture = read_warc(data, name="t.warc")
    assert kinds(capture) == [
        CaptureFindingKind.MALFORMED_HEADER,
        CaptureFindingKind.TRUNCATED_BY_TOOL,
        CaptureFindingKind.HTTP_LENGTH_MISMATCH,
        CaptureFindingKind.DIGEST_NOT_CHECKED,
        CaptureFindingKind.UNKNOWN_RECORD_TYPE,
        CaptureFindingKind.NO_WARCINFO,
    ]
    assert capture.items[3].kind == "other"
    assert "900" in capture.findings[2].message


# --- HTTP bodies and declared digests --------------------------------------------------------------


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def test_payload_digest_over_the_transfer_decoded_body_is_accepted() -> None:
    html = b"<p>chunked page</p>"
    raw = chunk(html[:5]) + chunk(html[5:]) + b"0\r\n\r\n"
    block = http_response(raw, headers=[("Transfer-Encoding", "chunked")])
    capture = read_warc(
        warcinfo() + response(1, f"{SITE}/c", http=block, payload_digest=sha1_b32(html)), name="t.warc"
    )
    payload = capture.responses[0].payload
    assert payload.sha256 == sha256(raw)
    assert payload.declared_digest is not None
    assert payload.declared_digest.covers == "transfer_decoded_body"
    assert payload.content is not None
    assert payload.content.sha256 == sha256(html)


def test_mismatch_names_both_candidates_for_chunked_bodies() -> None:
    raw = chunk(b"<p>x</p>") + b"0\r\n\r\n"
    block = http_response(raw, headers=[("Transfer-Encoding", "chunked")])
    data = warcinfo() + response(1, f"{SITE}/c", http=block, payload_digest=sha1_b32(b"other"))
    with pytest.raises(IntegrityError, match=r"or sha1:\w+ with the chunked transfer coding removed$"):
        read_warc(data, name="t.warc")


@pytest.mark.parametrize(
    ("codings", "body"),
    [
        ("chunked", b"zz\r\nnot a chunk"),
        ("gzip", b"not gzip at all"),
        ("br", b"\x1b\x00"),
    ],
)
def test_undecodable_bodies_are_kept_raw_with_a_finding(codings: str, body: bytes) -> None:
    header = "Transfer-Encoding" if codings == "chunked" else "Content-Encoding"
    block = http_response(body, headers=[(header, codings)])
    data = warcinfo() + response(1, f"{SITE}/d", http=block, payload=body) + request(2, f"{SITE}/d", to=1)
    capture = read_warc(data, name="t.warc")
    payload = capture.responses[0].payload
    assert payload.sha256 == sha256(body)
    assert payload.content is None
    assert kinds(capture) == [CaptureFindingKind.CONTENT_NOT_DECODED]


def test_deflate_with_and_without_zlib_wrapper() -> None:
    html = b"<p>deflated</p>" * 20
    raw_deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    for body in (zlib.compress(html), raw_deflate.compress(html) + raw_deflate.flush()):
        block = http_response(body, headers=[("Content-Encoding", "deflate")])
        capture = read_warc(warcinfo() + response(1, f"{SITE}/z", http=block, payload=body), name="t.warc")
        content = capture.responses[0].payload.content
        assert content is not None
        assert content.sha256 == sha256(html)


@pytest.mark.parametrize("encoding", ["hex", "base64", "base32-unpadded"])
def test_sha256_digests_in_any_encoding(encoding: str) -> None:
    body = b"<p>digest</p>"
    raw = hashlib.sha256(body).digest()
    value = {
        "hex": raw.hex(),
        "base64": base64.b64encode(raw).decode(),
        "base32-unpadded": base64.b32encode(raw).decode().rstrip("="),
    }[encoding]
    capture = read_warc(
        warcinfo() + response(1, f"{SITE}/e", body, payload_digest=f"sha256:{value}"), name="t.warc"
    )
    declared = capture.responses[0].payload.declared_digest
    assert declared is not None
    assert declared.verified
    assert declared.algorithm == "sha256"


def test_block_digest_mismatch() -> None:
    data = warcinfo() + response(1, f"{SITE}/f", block_digest=sha1_b32(b"something else"))
    with pytest.raises(
        IntegrityError, match=rf"^t\.warc: record {rid(1)} at offset \d+: WARC-Block-Digest mismatch"
    ):
        read_warc(data, name="t.warc")


def test_malformed_digest_value() -> None:
    data = warcinfo() + response(1, f"{SITE}/g", payload_digest="sha1:not-a-digest")
    with pytest.raises(FormatError, match="is not a 20-byte sha1 digest in base32, hex or base64"):
        read_warc(data, name="t.warc")


# --- hard errors -----------------------------------------------------------------------------------


def test_plain_warc_cut_inside_a_payload() -> None:
    data = warcinfo() + response(1, f"{SITE}/h", b"<p>" + b"x" * 500 + b"</p>")
    with pytest.raises(
        FormatError, match=rf"record {rid(1)} at offset \d+: the record is cut off: Content-Length"
    ):
        read_warc(data[:-200], name="t.warc")


def test_plain_warc_cut_after_the_content() -> None:
    data = warcinfo() + response(1, f"{SITE}/h")
    with pytest.raises(FormatError, match="does not end with CRLF CRLF: the WARC is truncated"):
        read_warc(data[:-4], name="t.warc")


def test_gzip_cut_in_a_later_header_names_the_member() -> None:
    data = gz_members(warcinfo(), response(1, f"{SITE}/i"))
    first = len(gzip.compress(warcinfo(), mtime=0))
    with pytest.raises(FormatError, match=rf"the gzip member at offset {first} is cut off"):
        read_warc(data[: first + 12], name="t.warc.gz")


def test_content_length_too_short_is_caught() -> None:
    data = warcinfo() + record("resource", 1, uri="urn:a", block=b"x" * 100, content_length="50")
    with pytest.raises(
        FormatError, match=rf"record {rid(1)} at offset \d+: the record is not followed by the empty"
    ):
        read_warc(data, name="t.warc")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (warcinfo() + warcinfo(), r"WARC-Record-ID .* is not unique: record 0 at offset 0 has it too"),
        (record("resource", 1, uri="urn:a", content_length=None), "Content-Length must be a whole number"),
        (record("resource", 1, uri="urn:a", date="yesterday"), "WARC-Date 'yesterday' is not an RFC 3339"),
        (record("resource", 1, uri="urn:a", version="WARC/0.18"), "unsupported WARC version 'WARC/0.18'"),
        (record("response", 1, block=b"x"), "a response record needs a WARC-Target-URI"),
        (
            record("resource", 1, uri="urn:a", headers=[("WARC-Type", "resource")]),
            "the WARC-Type header appears more than once",
        ),
        (
            response(1, f"{SITE}/k", http=b"HTTP/1.1 OK\r\n\r\n", payload=b""),
            "malformed HTTP status line 'HTTP/1.1 OK'",
        ),
        (
            response(1, f"{SITE}/k", http=b"HTTP/1.1 200 OK\r\nServer: x\r\n", payload=b""),
            "the HTTP header section is not closed",
        ),
        (warcinfo() + b"garbage\r\n\r\n", r"not a WARC record|not followed by the empty lines"),
    ],
)
def test_malformed_warcs(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        read_warc(data, name="t.warc")


def test_limits() -> None:
    data = warcinfo() + response(1, f"{SITE}/l", b"x" * 1000) + response(2, f"{SITE}/m")
    with pytest.raises(FormatError, match=r"the record block is \d+ bytes; the limit is 500"):
        read_warc(data, name="t.warc", limits=WarcLimits(max_record_bytes=500))
    with pytest.raises(FormatError, match="more than 2 records"):
        read_warc(data, name="t.warc", limits=WarcLimits(max_records=2))
    long_header = record("resource", 1, uri="urn:a", headers=[("X-Long", "y" * 5000)])
    with pytest.raises(FormatError, match="a header line is longer than 4096 bytes"):
        read_warc(long_header, name="t.warc", limits=WarcLimits(max_line_bytes=4096))
    many = record("resource", 1, uri="urn:a", headers=[(f"X-{n}", "y" * 100) for n in range(100)])
    with pytest.raises(FormatError, match="header sections exceed 8192 bytes"):
        read_warc(many, name="t.warc", limits=WarcLimits(max_header_bytes=8192))
    with pytest.raises(ValueError, match="max_records must be a positive integer"):
        WarcLimits(max_records=0)


def test_gzip_must_be_one_member_per_record() -> None:
    data = gzip.compress(warcinfo() + response(1, f"{SITE}/n"), mtime=0)
    with pytest.raises(FormatError, match="does not start a gzip member"):
        read_warc(data, name="t.warc.gz")


def test_trailing_garbage_after_gzip_members() -> None:
    data = gz_members(warcinfo(), response(1, f"{SITE}/o")) + b"junk"
    with pytest.raises(FormatError, match=r"the bytes at offset \d+ are not a gzip member"):
        read_warc(data, name="t.warc.gz")


def test_corrupt_gzip_member() -> None:
    data = bytearray(gz_members(warcinfo(), response(1, f"{SITE}/p")))
    data[30] ^= 0xFF
    with pytest.raises(FormatError, match=r"the gzip member at offset 0 is corrupt|not a WARC"):
        read_warc(bytes(data), name="t.warc.gz")


PLAIN_SAMPLE = gzip.decompress(WARC.read_bytes())


def _payload_spans() -> list[tuple[str, int, int]]:
    """(record id, start, end) of every non-empty payload in the uncompressed sample."""
    spans = []
    for item in read_warc(PLAIN_SAMPLE, name="plain").items:
        if not isinstance(item, WarcRevisit) and item.payload is not None and item.payload.size:
            start = PLAIN_SAMPLE.index(b"\r\n\r\n", item.record.offset) + 4 + item.payload.offset_in_block
            spans.append((item.record.record_id, start, start + item.payload.size))
    return spans


PAYLOAD_SPANS = _payload_spans()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_changed_payload_byte_is_detected(data: st.DataObject) -> None:
    record_id, start, end = data.draw(st.sampled_from(PAYLOAD_SPANS))
    position = data.draw(st.integers(start, end - 1))
    flip = data.draw(st.integers(1, 255))
    changed = bytearray(PLAIN_SAMPLE)
    changed[position] ^= flip
    with pytest.raises(IntegrityError, match=f"record {record_id} at offset"):
        read_warc(bytes(changed), name="plain")


# --- WACZ beyond the fixtures ----------------------------------------------------------------------


def wacz_of(*entries: tuple[str, bytes], listed: list[tuple[str, bytes]] | None = None) -> bytes:
    """A WACZ of stored members with a datapackage.json listing ``listed`` (default: the members)."""
    package = make_fixtures.datapackage(list(entries) if listed is None else listed)
    members = [make_fixtures.stored(*entry) for entry in entries]
    return bytes(make_fixtures.zip_file([*members, make_fixtures.stored("datapackage.json", package)]))


WARC_BYTES = make_fixtures.plain_warc()


def test_wacz_declared_size_bomb() -> None:
    data = bytearray(wacz_of(("archive/data.warc", WARC_BYTES)))
    central = data.index(b"PK\x01\x02")
    # the central directory entry of archive/data.warc claims 4 GiB and deflate
    data[central + 10 : central + 12] = (8).to_bytes(2, "little")
    data[central + 24 : central + 28] = (0xFFFFFFF0).to_bytes(4, "little")
    with pytest.raises(FormatError, match=r"expands from 1505 to 4294967280 bytes"):
        read_wacz(bytes(data), name="t.wacz")
    with pytest.raises(FormatError, match="the members expand to more than 1000 bytes"):
        read_wacz(bytes(data), name="t.wacz", limits=WaczLimits(max_total_bytes=1000))


def test_wacz_needs_a_datapackage_and_a_warc() -> None:
    with pytest.raises(FormatError, match=r"not a WACZ: it has no datapackage\.json"):
        read_wacz(
            make_fixtures.zip_file([make_fixtures.stored("archive/data.warc", WARC_BYTES)]), name="t.wacz"
        )
    with pytest.raises(FormatError, match=r"no archive/\*\.warc"):
        read_wacz(wacz_of(("pages/pages.jsonl", b"")), name="t.wacz")
    with pytest.raises(FormatError, match="not a readable zip file"):
        read_wacz(b"PK\x03\x04 nope", name="t.wacz")
    with pytest.raises(InputFileError, match="cannot read"):
        read_wacz(Path("/nonexistent/x.wacz"), name="x.wacz")


def test_wacz_listed_member_missing() -> None:
    listed = [("archive/data.warc", WARC_BYTES), ("archive/gone.warc", b"x")]
    with pytest.raises(IntegrityError, match=r"lists 'archive/gone.warc' but the WACZ has no such member"):
        read_wacz(wacz_of(("archive/data.warc", WARC_BYTES), listed=listed), name="t.wacz")


def test_wacz_unlisted_member_and_page_without_response() -> None:
    pages = b'{"format": "json-pages-1.0", "id": "pages"}\n{"url": "https://elsewhere.example/", "ts": "x"}\n'
    listed = [("archive/data.warc", WARC_BYTES)]
    capture = read_wacz(
        wacz_of(("archive/data.warc", WARC_BYTES), ("pages/pages.jsonl", pages), listed=listed), name="t.wacz"
    )
    assert [f.kind for f in capture.findings] == [
        CaptureFindingKind.UNLISTED_MEMBER,
        CaptureFindingKind.PAGE_WITHOUT_RESPONSE,
    ]
    assert capture.pages[0].url == "https://elsewhere.example/"
    assert capture.pages[0].line == 2


def test_wacz_hash_mismatch_wins_over_a_parse_error() -> None:
    broken = WARC_BYTES[:-50]
    data = wacz_of(("archive/data.warc", broken), listed=[("archive/data.warc", WARC_BYTES)])
    with pytest.raises(IntegrityError, match=r"does not match datapackage\.json") as caught:
        read_wacz(data, name="t.wacz")
    assert isinstance(caught.value.__cause__, FormatError)


def test_wacz_warc_errors_name_the_member() -> None:
    broken = WARC_BYTES[:-50]
    data = wacz_of(("archive/data.warc", broken))
    with pytest.raises(FormatError, match=r"^t\.wacz member archive/data\.warc: record <urn:uuid:"):
        read_wacz(data, name="t.wacz")


def test_datapackage_digest_file_is_checked() -> None:
    members = [("archive/data.warc", WARC_BYTES)]
    package = make_fixtures.datapackage(members)
    good = {"path": "datapackage.json", "hash": "sha256:" + sha256(package), "signedData": {"x": 1}}
    bad = {**good, "hash": "sha256:" + "0" * 64}
    for digest, outcome in ((good, None), (bad, "datapackage-digest.json does not match")):
        entries = [make_fixtures.stored(*members[0]), make_fixtures.stored("datapackage.json", package)]
        entries.append(make_fixtures.stored("datapackage-digest.json", json.dumps(digest).encode()))
        data = make_fixtures.zip_file(entries)
        if outcome is None:
            capture = read_wacz(data, name="t.wacz")
            assert capture.datapackage_digest_verified
            assert [f.kind for f in capture.findings] == [CaptureFindingKind.SIGNATURE_NOT_VERIFIED]
        else:
            with pytest.raises(IntegrityError, match=outcome):
                read_wacz(data, name="t.wacz")


# --- WACZ replay index (custody.wacz_index) ---------------------------------------------------------


def _sample_with_index(index: bytes, path: str = "indexes/index.cdx") -> bytes:
    """The sample WACZ with ``index`` as its index member ``path`` (in place of indexes/index.cdx),
    its datapackage.json and datapackage-digest.json made to match."""
    with zipfile.ZipFile(WACZ) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    del members["indexes/index.cdx"]
    members[path] = index
    package = json.loads(members["datapackage.json"])
    for resource in package["resources"]:
        if resource["path"] == "indexes/index.cdx":
            resource.update(
                name=path.rsplit("/", 1)[1], path=path, hash="sha256:" + sha256(index), bytes=len(index)
            )
    members["datapackage.json"] = json.dumps(package, indent=2).encode()
    digest = {"path": "datapackage.json", "hash": "sha256:" + sha256(members["datapackage.json"])}
    members["datapackage-digest.json"] = json.dumps(digest).encode()
    return bytes(make_fixtures.zip_file([make_fixtures.stored(name, data) for name, data in members.items()]))


def _sample_index_lines() -> list[tuple[bytes, bytes, dict[str, Any]]]:
    with zipfile.ZipFile(WACZ) as zf:
        text = zf.read("indexes/index.cdx")
    return [
        (key, stamp, json.loads(rest))
        for key, stamp, rest in (line.split(b" ", 2) for line in text.splitlines())
    ]


def _index_of(entries: list[tuple[bytes, bytes, dict[str, Any]]]) -> bytes:
    return b"".join(
        key + b" " + stamp + b" " + json.dumps(fields).encode() + b"\n" for key, stamp, fields in entries
    )


def _index_findings(capture: WaczCapture) -> list[tuple[str, str]]:
    kinds = (CaptureFindingKind.INDEX_MISMATCH, CaptureFindingKind.INDEX_NOT_CHECKED)
    return [(f.kind.value, f.message) for f in capture.findings if f.kind in kinds]


def test_the_sample_index_points_at_the_records_it_names() -> None:
    entries = _sample_index_lines()
    assert len(entries) == 4
    assert _index_findings(read_wacz(_sample_with_index(_index_of(entries)), name="t.wacz")) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("offset", "508", r"points to offset 508 of sweep-2026-06-03\.warc\.gz, where no record starts"),
        (
            "length",
            "700",
            r"\(record at offset 507 of sweep-2026-06-03\.warc\.gz\): length 700, but the record is 699",
        ),
        (
            "url",
            "https://anunturi-zilnice.example/anunt/51911",
            r"the record is for 'https://anunturi-zilnice",
        ),
        ("digest", "sha1:" + "A" * 32, r"digest sha1:A{32}, but the record declares sha1:DJGBYYTAX"),
        ("status", "404", "status 404, but the record's HTTP status is 200"),
        ("filename", "other.warc.gz", r"points into 'other\.warc\.gz', which the WACZ does not hold"),
    ],
)
def test_an_index_entry_that_points_elsewhere_is_a_finding(field: str, value: str, message: str) -> None:
    # Replay shows what the index points to: an entry pointing elsewhere than the exhibit's record
    # would show a court something else. Reported, not refused: the records are the evidence.
    entries = _sample_index_lines()
    entries[0][2][field] = value
    capture = read_wacz(_sample_with_index(_index_of(entries)), name="t.wacz")
    [(kind, text)] = _index_findings(capture)
    assert kind == "index_mismatch"
    assert re.search(r"^line 1: entry for 'https://anunturi-zilnice\.example/anunt/519\d\d'", text), text
    assert re.search(message, text), text
    assert len(capture.archives[0].capture.responses) == 4  # the capture itself is read whole


def test_a_timestamp_that_is_not_the_records_is_a_finding() -> None:
    entries = _sample_index_lines()
    entries[2] = (entries[2][0], b"20260603211140", entries[2][2])
    [(kind, text)] = _index_findings(read_wacz(_sample_with_index(_index_of(entries)), name="t.wacz"))
    assert (kind, text.split(": ", 1)[0]) == ("index_mismatch", "line 3")
    assert "timestamp 20260603211140, but the record's WARC-Date is 2026-06-03T21:11:39Z" in text


def test_index_lines_that_cannot_be_checked_are_reported_as_such() -> None:
    entries = _sample_index_lines()
    index = b"!meta 0 {}\n" + _index_of(entries[:2]) + b"not a cdxj line\n\n" + _index_of(entries[2:])
    findings = _index_findings(read_wacz(_sample_with_index(index), name="t.wacz"))
    assert findings == [("index_not_checked", "1 line(s) are not CDXJ (or too long): not checked")]
    compressed = _index_findings(read_wacz(_sample_with_index(b"x", "indexes/index.cdx.gz"), name="t.wacz"))
    assert compressed == [("index_not_checked", "a compressed (ZipNum) index: not checked")]


def test_many_index_problems_are_capped_with_a_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wacz_index, "MAX_PROBLEMS", 2)
    entries = [(key, stamp, {**fields, "offset": "1"}) for key, stamp, fields in _sample_index_lines()]
    findings = _index_findings(read_wacz(_sample_with_index(_index_of(entries)), name="t.wacz"))
    assert [text.split(":", 1)[0] for _, text in findings] == [
        "line 1",
        "line 2",
        "and 2 more entries that do not match",
    ]


_INDEX_RECORDS = {
    "a.warc.gz": {0: wacz_index.IndexedRecord(0, 10, "https://a.example/", "2026-06-03T21:10:05Z", None, 200)}
}
_index_fields = st.dictionaries(
    st.sampled_from(["url", "filename", "offset", "length", "digest", "status", "mime"]),
    st.none()
    | st.booleans()
    | st.integers(-5, 2**70)
    | st.text(max_size=20)
    | st.lists(st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=60),
            st.builds(
                lambda key, stamp, fields: key + b" " + stamp.encode() + b" " + json.dumps(fields).encode(),
                st.binary(min_size=1, max_size=8).filter(lambda b: b" " not in b and b"\n" not in b),
                st.text("0123456789", min_size=1, max_size=20),
                _index_fields,
            ),
        ),
        max_size=6,
    )
)
def test_any_index_bytes_give_problems_never_an_exception(lines: list[bytes]) -> None:
    # The index is hostile input like any other member: whatever it holds, the check reports.
    stream = io.BytesIO(b"\n".join(lines))
    problems = wacz_index.check_index(stream, "indexes/index.cdxj", _INDEX_RECORDS, max_line_bytes=40)
    assert all(isinstance(problem, wacz_index.IndexProblem) for problem in problems)


# --- WACZ signatures (custody.wacz_signature) ------------------------------------------------------


def _p256() -> Any:
    return ec.generate_private_key(ec.SECP256R1())


def _signed_wacz(
    signed: dict[str, Any] | None = None, *, key: Any = None, package: bytes | None = None
) -> bytes:
    """A WACZ whose datapackage-digest.json carries ``signed`` as signedData, by default an
    anonymous signature by ``key`` (ECDSA P-256) made as ArchiveWeb.page makes it."""
    members = [("archive/data.warc", WARC_BYTES)]
    package = package if package is not None else make_fixtures.datapackage(members)
    package_hash = "sha256:" + sha256(package)
    if signed is None:
        signed = anonymous_signed_data(package_hash, key)
    digest = {"path": "datapackage.json", "hash": package_hash, "signedData": signed}
    entries = [make_fixtures.stored(*members[0]), make_fixtures.stored("datapackage.json", package)]
    entries.append(make_fixtures.stored("datapackage-digest.json", json.dumps(digest).encode()))
    return bytes(make_fixtures.zip_file(entries))


def _signed_data(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        signed: dict[str, Any] = json.loads(zf.read("datapackage-digest.json"))["signedData"]
    return signed


def test_an_anonymous_wacz_signature_is_verified_and_recorded_with_its_key() -> None:
    key = _p256()
    capture = read_wacz(_signed_wacz(key=key), name="t.wacz")
    fingerprint = sha256(spki_der(key.public_key()))
    assert capture.signature == WaczSignature(
        "anonymous", True, "2026-06-03T21:20:00Z", "ArchiveWeb.page 0.12.8", public_key_sha256=fingerprint
    )
    assert capture.findings == ()  # nothing left unverified
    assert capture.to_dict()["datapackage"]["signature"] == {
        "kind": "anonymous",
        "verified": True,
        "created": "2026-06-03T21:20:00Z",
        "software": "ArchiveWeb.page 0.12.8",
        "public_key": {"sha256": fingerprint},
    }


def test_a_changed_anonymous_signature_stops_the_import() -> None:
    signed = _signed_data(_signed_wacz(key=_p256()))
    raw = bytearray(base64.b64decode(signed["signature"]))
    raw[-1] ^= 0x01
    changed = {**signed, "signature": base64.b64encode(bytes(raw)).decode()}
    with pytest.raises(IntegrityError, match="anonymous signature does not verify with the key it names"):
        read_wacz(_signed_wacz(changed), name="t.wacz")
    another_key = {**signed, "publicKey": base64.b64encode(spki_der(_p256().public_key())).decode()}
    with pytest.raises(IntegrityError, match="does not verify"):
        read_wacz(_signed_wacz(another_key), name="t.wacz")


def test_a_signature_moved_from_another_package_is_refused() -> None:
    elsewhere = _signed_data(_signed_wacz(key=_p256(), package=b'{"resources": []}\n'))
    with pytest.raises(IntegrityError, match=r"signedData signs hash 'sha256:[0-9a-f]{64}', not the package"):
        read_wacz(_signed_wacz(elsewhere), name="t.wacz")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"signature": "not base64!"}, r"signedData\.signature is not base64"),
        ({"signature": base64.b64encode(b"x" * 70).decode()}, r"signedData\.signature must be 64 bytes"),
        ({"publicKey": base64.b64encode(b"not a key").decode()}, r"signedData\.publicKey is not a DER"),
        ({"created": 17}, r"signedData\.created must be text"),
        ({"signature": None}, "signedData has publicKey but no signature"),
    ],
    ids=["signature-base64", "signature-length", "key-der", "created-type", "no-signature"],
)
def test_malformed_signed_data_is_a_format_error_naming_the_field(
    change: dict[str, Any], message: str
) -> None:
    signed = _signed_data(_signed_wacz(key=_p256()))
    with pytest.raises(FormatError, match=r"^t\.wacz: datapackage-digest\.json: " + message):
        read_wacz(_signed_wacz({**signed, **change}), name="t.wacz")


def test_only_p256_keys_sign_a_wacz() -> None:
    signed = _signed_data(_signed_wacz(key=_p256()))
    p384 = base64.b64encode(spki_der(ec.generate_private_key(ec.SECP384R1()).public_key())).decode()
    with pytest.raises(FormatError, match=r"signedData\.publicKey must be an ECDSA P-256 key"):
        read_wacz(_signed_wacz({**signed, "publicKey": p384}), name="t.wacz")


_signed_values = (
    st.none()
    | st.integers()
    | st.text(max_size=120)
    | st.sampled_from(
        ["sha256:" + "0" * 64, base64.b64encode(b"\x30" * 91).decode(), base64.b64encode(b"x" * 64).decode()]
    )
)


@settings(max_examples=300, deadline=None)
@given(
    st.none()
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(
        st.sampled_from(["hash", "publicKey", "signature", "created", "software", "domain"]), _signed_values
    )
)
def test_any_signed_data_is_checked_or_refused_never_an_exception(signed: Any) -> None:
    refused: list[str] = []
    try:
        signature = check_signed_data(signed, "0" * 64, "t.wacz: datapackage-digest.json")
    except (FormatError, IntegrityError) as exc:
        refused.append(exc.message)
    else:
        assert not signature.verified  # nothing random verifies
    assert all(message.startswith("t.wacz: datapackage-digest.json: ") for message in refused)


def test_a_domain_signature_is_kept_unverified_with_a_finding() -> None:
    signed = {"hash": "sha256:" + "0" * 64, "domain": "archive.example.org", "domainCert": "-----BEGIN..."}
    capture = read_wacz(_signed_wacz({**signed, "created": "2026-06-03T21:20:00Z"}), name="t.wacz")
    assert capture.signature == WaczSignature(
        "domain", False, "2026-06-03T21:20:00Z", None, domain="archive.example.org"
    )
    [finding] = capture.findings
    assert finding.kind is CaptureFindingKind.SIGNATURE_NOT_VERIFIED
    assert "domain signature" in finding.message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("archive\\..\\evil.warc", "has a backslash"),
        ("C:/evil.warc", "has an absolute path"),
        ("archive//x.warc", "empty or '.' path segment"),
        ("archive/x\x00.warc", "NUL byte"),
    ],
)
def test_more_unsafe_member_names(name: str, message: str) -> None:
    data = make_fixtures.wacz([make_fixtures.stored(name, b"x")])
    with pytest.raises(FormatError, match=message):
        read_wacz(data, name="t.wacz")
