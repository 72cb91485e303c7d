"""Build sample case (b), a classifieds sweep: a gzip WARC, its WACZ packaging, OCR and translation
derivatives and the sidecar that describes them.

Deterministic: fixed record ids (UUID v5), fixed times, fixed keys and seeds. Running it again
gives the same bytes (tests/core/test_warc.py regenerates everything and compares), with one
caveat: the .warc.gz is compressed by zlib (warcio's WARCWriter, level 9), so its bytes, and the
hashes of it in the WACZ, depend on the zlib build. Every digest the derivatives refer to is of
uncompressed payloads and does not: the screenshots' PNG data and the gzip-encoded page body are
written with stored (uncompressed) deflate blocks here, which no zlib build changes.

Everything is synthetic and contains nothing explicit. Usage:

    python make_sample.py [--out DIR]      (default: this script's folder)

Needs warcio and cryptography (both custody dependencies), not custody itself.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import struct
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HERE = Path(__file__).resolve().parent
WARC_NAME = "sweep-2026-06-03.warc.gz"
WACZ_NAME = "sweep-2026-06-03.wacz"
SITE = "https://anunturi-zilnice.example"
HOST = "anunturi-zilnice.example"
IP_ADDRESS = "192.0.2.41"  # TEST-NET-1 (RFC 5737)
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) capture-unit"
START = datetime(2026, 6, 3, 21, 10, 0, tzinfo=UTC)
NAMESPACE = uuid.UUID("6f1d3c2a-4b5e-5a7f-9c1d-0e2f3a4b5c6d")
OCR_TOOL = {"name": "ocr-engine", "version": "5.3.1"}
TRANSLATOR = {"name": "translator", "version": "3.0.2"}
REVIEWER = "cole"


@dataclass(frozen=True)
class Ad:
    ad_id: int
    language: str
    title: str
    body: str
    account: str
    posted: str
    ocr: str
    """What the OCR engine read from the screenshot (diacritics lost, as OCR often does)."""
    translation: str | None
    """The reviewed English translation; None for an English ad."""
    encoded: bool = False
    """Serve the page gzip-encoded and chunked (the other pages are plain with Content-Length)."""
    colour: tuple[int, int, int] = (32, 96, 112)

    @property
    def url(self) -> str:
        return f"{SITE}/anunt/{self.ad_id}"


ADS = (
    Ad(
        ad_id=51907,
        language="ro",
        title="Companie plăcută pentru seri liniștite",
        body="Tânără, 24 ani, nouă în oraș. Discretă și serioasă. Scrie-mi doar pe chat-ul site-ului.",
        account="mira_centru",
        posted="2026-06-03 19:42",
        ocr=(
            "Companie placuta pentru seri linistite\n"
            "Tanara, 24 ani, noua in oras. Discreta si serioasa. Scrie-mi doar pe chat-ul site-ului.\n"
            "Postat: 2026-06-03 19:42 - Cont: mira_centru - ID anunt: 51907\n"
        ),
        translation=(
            "[Machine translation ro->en of ad #51907, reviewed by analyst]\n"
            "Title: Pleasant company for quiet evenings\n"
            "Body: Young woman, 24, new in town. Discreet and serious. Write to me only on the site's chat.\n"
            "Meta: Posted 2026-06-03 19:42 - Account: mira_centru - Ad ID: 51907\n"
        ),
    ),
    Ad(
        ad_id=51911,
        language="ru",
        title="Новенькая в городе, ищу приятное общество",
        body="Только приехала, города не знаю. Вечером свободна. Пишите в чат, отвечает мой менеджер.",
        account="lana_new",
        posted="2026-06-03 20:05",
        ocr=(
            "Новенькая в городе, ищу приятное общество\n"
            "Только приехала, города не знаю. Вечером свободна. Пишите в чат, отвечает мои менеджер.\n"
            "Опубликовано: 2026-06-03 20:05 - Аккаунт: lana_new - ID объявления: 51911\n"
        ),
        translation=(
            "[Machine translation ru->en of ad #51911, reviewed by analyst]\n"
            "Title: New in town, looking for pleasant company\n"
            "Body: Just arrived, I don't know the city. Free in the evening. Write in the chat, my "
            "manager answers.\n"
            "Meta: Posted 2026-06-03 20:05 - Account: lana_new - Ad ID: 51911\n"
        ),
        encoded=True,
        colour=(112, 40, 64),
    ),
    Ad(
        ad_id=51920,
        language="en",
        title="Friendly company for dinners and events",
        body="New in the city this week. Bookings through my manager only, chat on this site. No calls.",
        account="sofia_evenings",
        posted="2026-06-03 20:31",
        ocr=(
            "Friendly company for dinners and events\n"
            "New in the city this week. Bookings through my manager only, chat on this site. No calls.\n"
            "Posted: 2026-06-03 20:31 - Account: sofia_evenings - Ad ID: 51920\n"
        ),
        translation=None,
        colour=(40, 72, 120),
    ),
    Ad(
        ad_id=51924,
        language="ro",
        title="Agenție: colege noi în fiecare săptămână",
        body="Programări doar prin manager. Fete noi, venite din străinătate. Transport asigurat.",
        account="agentia_luna",
        posted="2026-06-03 20:58",
        ocr=(
            "Agentie: colege noi in fiecare saptamana\n"
            "Programari doar prin manager. Fete noi, venite din strainatate. Transport asigurat.\n"
            "Postat: 2026-06-03 20:58 - Cont: agentia_luna - ID anunt: 51924\n"
        ),
        translation=(
            "[Machine translation ro->en of ad #51924, reviewed by analyst]\n"
            "Title: Agency: new colleagues every week\n"
            "Body: Bookings only through the manager. New girls, arrived from abroad. Transport provided.\n"
            "Meta: Posted 2026-06-03 20:58 - Account: agentia_luna - Ad ID: 51924\n"
        ),
        colour=(96, 80, 24),
    ),
)

_META_LABELS = {
    "ro": ("Postat", "Cont", "ID anunț"),
    "ru": ("Опубликовано", "Аккаунт", "ID объявления"),
    "en": ("Posted", "Account", "Ad ID"),
}


def page_html(ad: Ad) -> bytes:
    posted, account, ad_label = _META_LABELS[ad.language]
    return (
        "<!doctype html>\n"
        f'<html lang="{ad.language}">\n'
        f'<head><meta charset="utf-8"><title>{ad.title} - #{ad.ad_id}</title></head>\n'
        "<body>\n"
        f"<h1>{ad.title}</h1>\n"
        f"<p>{ad.body}</p>\n"
        f'<p class="meta">{posted}: {ad.posted} · {account}: {ad.account} · {ad_label}: {ad.ad_id}</p>\n'
        "</body>\n"
        "</html>\n"
    ).encode()


# --- bytes that no zlib build changes: stored deflate blocks ----------------------------------------


def deflate_stored(data: bytes) -> bytes:
    """Raw deflate (RFC 1951) of ``data`` in stored (uncompressed) blocks."""
    out = bytearray()
    blocks = [data[i : i + 65535] for i in range(0, len(data), 65535)] or [b""]
    for number, block in enumerate(blocks):
        final = 1 if number == len(blocks) - 1 else 0
        out += bytes([final]) + struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block
    return bytes(out)


def zlib_stored(data: bytes) -> bytes:
    """A zlib stream (RFC 1950) with stored blocks."""
    return b"\x78\x01" + deflate_stored(data) + struct.pack(">I", zlib.adler32(data))


def gzip_stored(data: bytes) -> bytes:
    """A gzip member (RFC 1952) with stored blocks, mtime 0 and no file name."""
    header = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x00\xff"
    return header + deflate_stored(data) + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def chunked(data: bytes, size: int = 256) -> bytes:
    """The HTTP/1.1 chunked transfer coding of ``data``."""
    out = bytearray()
    for i in range(0, len(data), size):
        piece = data[i : i + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


def png(width: int, height: int, pixels: bytes) -> bytes:
    """An 8-bit RGB PNG; ``pixels`` are rows of width*3 bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + pixels[y * width * 3 : (y + 1) * width * 3] for y in range(height)
    )  # filter type 0 per row
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib_stored(rows))
        + chunk(b"IEND", b"")
    )


def screenshot(ad: Ad) -> bytes:
    """A small stylised screenshot: a coloured site bar, a title line, a photo placeholder and
    grey bars standing for lines of text (a placeholder; the OCR text is what the engine is
    recorded as having read from the real capture)."""
    width, height = 96, 64
    rng = random.Random(ad.ad_id)  # noqa: S311 (layout, not security)
    canvas = [[(255, 255, 255)] * width for _ in range(height)]

    def box(x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        for y in range(y0, y1):
            for x in range(x0, x1):
                canvas[y][x] = colour

    box(0, 0, width, 8, ad.colour)
    box(4, 12, 4 + rng.randrange(50, 86), 16, (40, 40, 40))
    box(4, 20, 34, 52, (200, 200, 205))
    for y in range(20, 50, 5):
        box(38, y, 38 + rng.randrange(24, 54), y + 2, (150, 150, 150))
    box(4, 57, 4 + rng.randrange(40, 80), 59, (190, 190, 190))
    return png(width, height, bytes(v for row in canvas for pixel in row for v in pixel))


# --- the TLS certificate chain the site presented --------------------------------------------------


def _key(label: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"classifieds-sweep {label}".encode()).digest()
    )


def certificate_chain() -> bytes:
    """A synthetic leaf + CA chain for the site (Ed25519, so the signatures are deterministic)."""
    ca_key, leaf_key = _key("ca"), _key("leaf")
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "RO"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Synthetic Trust Services"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Example Synthetic CA R1"),
        ]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(0x51570001)
        .not_valid_before(datetime(2026, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2031, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, None)
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(0x1F2E3D4C5B6A7980)
        .not_valid_before(datetime(2026, 5, 1, tzinfo=UTC))
        .not_valid_after(datetime(2026, 7, 30, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(HOST), x509.DNSName(f"www.{HOST}")]), critical=False
        )
        .sign(ca_key, None)
    )
    return leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)


# --- the WARC --------------------------------------------------------------------------------------


def record_id(label: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(NAMESPACE, f'classifieds-sweep/{label}')}>"


def warc_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def capture_time(number: int) -> datetime:
    return START + timedelta(seconds=5 + 47 * number)


def build_warc() -> tuple[bytes, dict[str, str]]:
    """The gzip WARC, and the record ids by label (for the sidecar's notes)."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    ids: dict[str, str] = {}

    info = writer.create_warcinfo_record(
        WARC_NAME,
        {
            "software": "adscraper/1.4.0",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "operator": "Digital forensics unit (synthetic); capture started by investigator ana",
            "hostname": "capture-01.forensics.example",
            "http-header-user-agent": USER_AGENT,
            "isPartOf": "classifieds-sweep-2026-06-03",
            "description": "Sweep of four classified-ad pages on anunturi-zilnice.example (synthetic)",
        },
    )
    ids["warcinfo"] = record_id("warcinfo")
    info.rec_headers.replace_header("WARC-Record-ID", ids["warcinfo"])
    info.rec_headers.replace_header("WARC-Date", warc_date(START))
    writer.write_record(info)

    for number, ad in enumerate(ADS):
        moment = capture_time(number)
        html = page_html(ad)
        headers = [
            ("Date", http_date(moment)),
            ("Server", "nginx"),
            ("Content-Type", "text/html; charset=utf-8"),
            ("Cache-Control", "no-store"),
        ]
        if ad.encoded:
            body = chunked(gzip_stored(html))
            headers += [
                ("Content-Encoding", "gzip"),
                ("Vary", "Accept-Encoding"),
                ("Transfer-Encoding", "chunked"),
            ]
        else:
            body = html
            headers.append(("Content-Length", str(len(body))))
        ids[f"response-{ad.ad_id}"] = record_id(f"response-{ad.ad_id}")
        response = writer.create_warc_record(
            ad.url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
            warc_headers_dict={
                "WARC-Record-ID": ids[f"response-{ad.ad_id}"],
                "WARC-Date": warc_date(moment),
                "WARC-IP-Address": IP_ADDRESS,
            },
        )
        response.rec_headers.add_header("WARC-Protocol", "http/1.1")
        response.rec_headers.add_header("WARC-Protocol", "tls/1.3")
        response.rec_headers.add_header("WARC-Cipher-Suite", "TLS_AES_128_GCM_SHA256")
        ids[f"request-{ad.ad_id}"] = record_id(f"request-{ad.ad_id}")
        request = writer.create_warc_record(
            ad.url,
            "request",
            http_headers=StatusAndHeaders(
                f"GET /anunt/{ad.ad_id} HTTP/1.1",
                [
                    ("Host", HOST),
                    ("User-Agent", USER_AGENT),
                    ("Accept", "text/html,application/xhtml+xml"),
                    ("Accept-Language", f"{ad.language},en;q=0.8"),
                    ("Accept-Encoding", "gzip"),
                    ("Connection", "close"),
                ],
                is_http_request=True,
            ),
            warc_headers_dict={"WARC-Record-ID": ids[f"request-{ad.ad_id}"]},
        )
        writer.write_request_response_pair(request, response)

        if number == 0:
            pem = certificate_chain()
            ids["certificate"] = record_id("certificate")
            metadata = writer.create_warc_record(
                f"{SITE}/",
                "metadata",
                payload=io.BytesIO(pem),
                length=len(pem),
                warc_content_type="application/pem-certificate-chain",
                warc_headers_dict={
                    "WARC-Record-ID": ids["certificate"],
                    "WARC-Date": warc_date(moment),
                    "WARC-Concurrent-To": ids[f"response-{ad.ad_id}"],
                },
            )
            writer.write_record(metadata)

        image = screenshot(ad)
        ids[f"screenshot-{ad.ad_id}"] = record_id(f"screenshot-{ad.ad_id}")
        resource = writer.create_warc_record(
            f"urn:screenshot:{ad.url}",
            "resource",
            payload=io.BytesIO(image),
            length=len(image),
            warc_content_type="image/png",
            warc_headers_dict={
                "WARC-Record-ID": ids[f"screenshot-{ad.ad_id}"],
                "WARC-Date": warc_date(moment + timedelta(seconds=3)),
                "WARC-Concurrent-To": ids[f"response-{ad.ad_id}"],
            },
        )
        writer.write_record(resource)
    return out.getvalue(), ids


# --- the WACZ --------------------------------------------------------------------------------------


def _surt(url: str) -> str:
    rest = url.split("://", 1)[1]
    host, _, path = rest.partition("/")
    return ",".join(reversed(host.split("."))) + ")/" + path


def cdxj(warc: bytes) -> bytes:
    """A CDXJ index of the responses (offsets from warcio, not from custody)."""
    lines = []
    iterator = ArchiveIterator(io.BytesIO(warc))
    for record in iterator:
        if record.rec_type != "response":
            continue
        uri = record.rec_headers.get_header("WARC-Target-URI")
        date = record.rec_headers.get_header("WARC-Date")
        entry = {
            "url": uri,
            "mime": "text/html",
            "status": record.http_headers.get_statuscode(),
            "digest": record.rec_headers.get_header("WARC-Payload-Digest"),
            "length": str(iterator.get_record_length()),
            "offset": str(iterator.get_record_offset()),
            "filename": WARC_NAME,
        }
        stamp = date.replace("-", "").replace(":", "").replace("T", "").replace("Z", "")
        lines.append(f"{_surt(uri)} {stamp} {json.dumps(entry, separators=(', ', ': '))}")
    return ("\n".join(sorted(lines)) + "\n").encode()


def pages_jsonl() -> bytes:
    lines = [{"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}]
    for number, ad in enumerate(ADS):
        lines.append(
            {
                "id": f"page-{ad.ad_id}",
                "url": ad.url,
                "ts": warc_date(capture_time(number)),
                "title": f"{ad.title} - #{ad.ad_id}",
            }
        )
    return ("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n").encode()


def _zip_entry(archive: zipfile.ZipFile, path: str, data: bytes) -> None:
    info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    info.compress_type = zipfile.ZIP_STORED
    archive.writestr(info, data)


def build_wacz(warc: bytes) -> bytes:
    members = [
        (f"archive/{WARC_NAME}", warc),
        ("indexes/index.cdx", cdxj(warc)),
        ("pages/pages.jsonl", pages_jsonl()),
    ]
    package = {
        "profile": "data-package",
        "wacz_version": "1.1.1",
        "title": "Classifieds sweep 2026-06-03 (synthetic)",
        "software": "adscraper 1.4.0 (synthetic)",
        "created": warc_date(START + timedelta(minutes=30)),
        "mainPageUrl": ADS[0].url,
        "resources": [
            {
                "name": path.rsplit("/", 1)[1],
                "path": path,
                "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
            }
            for path, data in members
        ],
    }
    package_bytes = (json.dumps(package, indent=2, ensure_ascii=False) + "\n").encode()
    digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path, data in members:
            _zip_entry(archive, path, data)
        _zip_entry(archive, "datapackage.json", package_bytes)
        _zip_entry(archive, "datapackage-digest.json", (json.dumps(digest, indent=2) + "\n").encode())
    return out.getvalue()


# --- derivatives and the sidecar -------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def derivatives(ids: dict[str, str]) -> tuple[dict[str, bytes], bytes]:
    """The OCR and translation files, and the sidecar describing them."""
    files: dict[str, bytes] = {}
    entries = []
    for number, ad in enumerate(ADS):
        moment = capture_time(number)
        image = screenshot(ad)
        ocr_path = f"ocr/ad-{ad.ad_id}.txt"
        files[ocr_path] = ad.ocr.encode()
        entries.append(
            {
                "path": ocr_path,
                "sha256": sha256(files[ocr_path]),
                "size": len(files[ocr_path]),
                "media_type": "text/plain",
                "origin": "generated",
                "role": "derivative",
                "derived_from": {
                    "parents": [
                        {
                            "sha256": sha256(image),
                            "note": f"screenshot of {ad.url}: resource record "
                            f"{ids[f'screenshot-{ad.ad_id}']} in {WARC_NAME}",
                        }
                    ],
                    "transformation": "ocr",
                },
                "tool": OCR_TOOL,
                "hil": {"level": "HIL5_AUTONOMOUS", "function": "analyse"},
                "captured_at": warc_date(moment + timedelta(minutes=50)),
                "language": ad.language,
                "source": {"url": ad.url},
            }
        )
        if ad.translation is None:
            continue
        body = chunked(gzip_stored(page_html(ad))) if ad.encoded else page_html(ad)
        note = f"HTTP response body of {ad.url}: response record {ids[f'response-{ad.ad_id}']} in {WARC_NAME}"
        if ad.encoded:
            note += " (as recorded: chunked and gzip-encoded; translated after decoding)"
        path = f"translation/ad-{ad.ad_id}.en.txt"
        files[path] = ad.translation.encode()
        entries.append(
            {
                "path": path,
                "sha256": sha256(files[path]),
                "size": len(files[path]),
                "media_type": "text/plain",
                "origin": "generated",
                "role": "derivative",
                "derived_from": {
                    "parents": [{"sha256": sha256(body), "note": note}],
                    "transformation": f"translation {ad.language}->en of the page text",
                },
                "tool": TRANSLATOR,
                "hil": {"level": "HIL4_POST_REVIEW", "function": "analyse", "reviewed_by": REVIEWER},
                "captured_at": warc_date(moment + timedelta(minutes=55)),
                "language": "en",
                "source_language": ad.language,
                "source": {"url": ad.url},
            }
        )
    sidecar = {
        "schema": "custody/sidecar/v1",
        "description": "OCR and translations of the classifieds sweep of 2026-06-03 (synthetic)",
        "files": entries,
    }
    return files, (json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n").encode()


def build(out: Path) -> list[Path]:
    """Write every generated file under ``out``; returns their paths."""
    warc, ids = build_warc()
    files, sidecar = derivatives(ids)
    outputs = {WARC_NAME: warc, WACZ_NAME: build_wacz(warc), "sidecar.json": sidecar, **files}
    written = []
    for relative, data in sorted(outputs.items()):
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written


GENERATED = (
    WARC_NAME,
    WACZ_NAME,
    "sidecar.json",
    *(f"ocr/ad-{ad.ad_id}.txt" for ad in ADS),
    *(f"translation/ad-{ad.ad_id}.en.txt" for ad in ADS if ad.translation is not None),
)
"""Every file ``build`` writes, relative to its output folder."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this folder)")
    args = parser.parse_args()
    for path in build(args.out):
        print(path)


if __name__ == "__main__":
    main()
