"""read_warc_file on both cores gives what one pass gives: the same capture, the same sink calls
in the same order, the same errors."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from sqlmodel import select
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from custody import db, parallel, warc
from custody.caselog import verify_case_log
from custody.cases import open_case
from custody.errors import CustodyError, FormatError, IntegrityError
from custody.importers.web import import_warc
from custody.warc import RecordHead, WarcLimits, read_warc, read_warc_file
from custody.workspace import Workspace

pytestmark = pytest.mark.skipif(not parallel.can_fork(), reason="this system does not fork (or has one core)")

Sunk = list[tuple[RecordHead, bytes]]


def _write(path: Path, pages: int, *, large_page: int | None = None, repeat_id_of: int | None = None) -> None:
    """Responses with their requests (linked by WARC-Concurrent-To) and a screenshot resource for
    every third page; ``large_page`` gets a 300 KiB body, ``repeat_id_of`` makes the last response
    reuse the record id of that page's response."""
    first_ids: dict[int, str] = {}
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True, warc_version="1.1")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "adscraper/1.4.0"}))
        for page in range(pages):
            url = f"https://ads.example/listing/{page}"
            body = os.urandom(300 * 1024 if page == large_page else 600).hex().encode()
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            headers = {"WARC-Date": f"2026-06-01T18:{page // 60 % 60:02d}:{page % 60:02d}Z"}
            if repeat_id_of is not None and page == pages - 1:
                headers["WARC-Record-ID"] = first_ids[repeat_id_of]
            response = writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=http, warc_headers_dict=headers
            )
            first_ids[page] = response.rec_headers.get_header("WARC-Record-ID")
            writer.write_record(response)
            request = writer.create_warc_record(
                url,
                "request",
                payload=io.BytesIO(b""),
                http_headers=StatusAndHeaders(
                    f"GET /listing/{page} HTTP/1.1", [("Host", "ads.example")], is_http_request=True
                ),
                warc_headers_dict={**headers, "WARC-Concurrent-To": first_ids[page]},
            )
            writer.write_record(request)
            if page % 3 == 0:
                shot = writer.create_warc_record(
                    f"urn:screenshot:{url}",
                    "resource",
                    payload=io.BytesIO(os.urandom(2048)),
                    warc_content_type="image/png",
                )
                writer.write_record(shot)


def _sink(into: Sunk) -> Callable[[RecordHead, BinaryIO], None]:
    def sink(head: RecordHead, stream: BinaryIO) -> None:
        into.append((head, stream.read()))

    return sink


@pytest.fixture
def split_everything(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Split files of any size; returns the results of the children (None: the child failed)."""
    monkeypatch.setattr(warc, "SPLIT_MIN_BYTES", 0)
    results: list[Any] = []
    real = parallel.ForkedCall.result

    def result(self: parallel.ForkedCall[Any]) -> Any:
        value = real(self)
        results.append(value)
        return value

    monkeypatch.setattr(parallel.ForkedCall, "result", result)
    return results


def _both(path: Path, limits: WarcLimits | None = None) -> tuple[Any, Sunk, Any, Sunk]:
    """(one pass, its sink calls, both cores, their sink calls); a result is the capture's
    to_dict() or the (type, message) of the error raised."""
    outcomes: list[Any] = []
    for read in (
        lambda sink: read_warc(path.read_bytes(), name=path.name, limits=limits, payload_sink=sink),
        lambda sink: read_warc_file(path, name=path.name, limits=limits, payload_sink=sink),
    ):
        sunk: Sunk = []
        try:
            outcomes += [read(_sink(sunk)).to_dict(), sunk]
        except CustodyError as exc:
            outcomes += [(type(exc), exc.message), sunk]
    return outcomes[0], outcomes[1], outcomes[2], outcomes[3]


def test_both_cores_give_what_one_pass_gives(tmp_path: Path, split_everything: list[Any]) -> None:
    path = tmp_path / "sweep.warc.gz"
    _write(path, 300)
    one, one_sunk, two, two_sunk = _both(path)
    assert len(split_everything) == 1
    assert split_everything[0] is not None, "the child was meant to read the second part"
    assert two == one
    assert two_sunk == one_sunk  # same heads (indexes included), same bytes, same order
    assert len(one["records"]) == 1 + 300 * 2 + 100
    assert two["digest"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_large_payload_in_the_second_part_is_read_here(tmp_path: Path, split_everything: list[Any]) -> None:
    path = tmp_path / "sweep.warc.gz"
    _write(path, 300, large_page=280)
    one, one_sunk, two, two_sunk = _both(path)
    assert split_everything == [None], "the child was meant to give up on the large payload"
    assert (two, two_sunk) == (one, one_sunk)


@pytest.mark.parametrize(
    "damage", ["truncated", "duplicate id across the parts", "digest", "limit", "first part"]
)
def test_errors_are_the_errors_of_one_pass(tmp_path: Path, split_everything: list[Any], damage: str) -> None:
    path = tmp_path / "sweep.warc.gz"
    limits = None
    if damage == "duplicate id across the parts":
        _write(path, 300, repeat_id_of=10)
    else:
        _write(path, 300)
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        del data[-500:]
    elif damage == "digest":
        # A body byte of a late record changed, the record recompressed: its declared digest fails.
        data = _change_member(data, 0.9)
    elif damage == "first part":
        data = _change_member(data, 0.2)
    elif damage == "limit":
        limits = WarcLimits(max_records=len(_both(path)[0]["records"]) - 1)
    path.write_bytes(bytes(data))
    one, _, two, _ = _both(path, limits)
    assert isinstance(one, tuple), "the damage was meant to be an error"
    assert two == one
    assert one[0] is (IntegrityError if damage in ("digest", "first part") else FormatError)


def _change_member(data: bytearray, where: float) -> bytearray:
    """Recompress the gzip member holding the response nearest ``where`` (a fraction of the file)
    with one byte of its body changed."""
    starts = [m.start() for m in re.finditer(b"\x1f\x8b\x08", bytes(data))]
    for position in (s for s in starts if s >= len(data) * where):
        end = next((s for s in starts if s > position), len(data))
        try:
            record = gzip.decompress(bytes(data[position:end]))
        except (OSError, EOFError):
            continue
        if b"WARC-Type: response" in record:
            changed = record.replace(b"\r\n\r\n", b"\r\n\r\n", 1)
            body_start = changed.rfind(b"\r\n\r\n", 0, len(changed) - 4) + 4
            changed = changed[:body_start] + bytes([changed[body_start] ^ 1]) + changed[body_start + 1 :]
            return data[:position] + bytearray(gzip.compress(changed)) + data[end:]
    raise AssertionError("no response member found")


def test_a_file_that_changes_while_read_is_refused(
    tmp_path: Path, split_everything: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sweep.warc.gz"
    _write(path, 300)
    real = warc._read_tail

    def changed_meanwhile(*args: Any) -> Any:
        tail = real(*args)
        tail.sha256 = "0" * 64  # the second part, as the child read it, is not what is there now
        return tail

    monkeypatch.setattr(warc, "_read_tail", changed_meanwhile)
    with pytest.raises(IntegrityError, match=r"sweep\.warc\.gz: the file changed while it was read"):
        read_warc_file(path, name=path.name)


def test_an_import_on_both_cores_records_what_one_core_records(
    case_workspace: Workspace, tmp_path: Path, split_everything: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same capture imported into two cases, on both cores and on one: the same provenance
    for every record (same digests, same claims, same details), and both logs verify."""
    ws = case_workspace
    open_case(ws, "OP-ONE-CORE", title="One core", jurisdictions=["UK"], authority="AUTH/TEST/2")
    monkeypatch.setattr(parallel, "MIN_ITEMS", 16)  # fork for this small capture too
    path = tmp_path / "sweep.warc.gz"
    _write(path, 120)
    positions: list[int] = []
    both = import_warc(ws, "OP-TEST", path, tool_spec="adscraper", progress=positions.append)
    assert split_everything, "the parse was meant to run on both cores"
    # Progress runs forward through the whole file, the child's part included.
    size = path.stat().st_size
    assert positions == sorted(positions)
    assert positions[-1] == size
    assert len([p for p in positions if p > size // 2]) > 10
    assert all(result is not None for result in split_everything), "a child failed"
    monkeypatch.setattr(parallel, "can_fork", lambda: False)
    monkeypatch.setattr(warc, "can_fork", lambda: False)
    one = import_warc(ws, "OP-ONE-CORE", path, tool_spec="adscraper")
    assert (
        (both.payloads, both.digest)
        == (one.payloads, one.digest)
        == (160, hashlib.sha256(path.read_bytes()).hexdigest())
    )

    def provenances(case_id: str) -> list[str]:
        with db.transaction(ws.engine) as session:
            rows = session.exec(select(db.ArtifactRow).where(db.ArtifactRow.case_id == case_id)).all()
            return sorted(row.provenance_digest for row in rows)

    assert provenances("OP-TEST") == provenances("OP-ONE-CORE")
    assert len(provenances("OP-TEST")) == 161
    for case_id in ("OP-TEST", "OP-ONE-CORE"):
        assert verify_case_log(ws, case_id).ok
