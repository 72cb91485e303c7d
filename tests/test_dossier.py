"""The PDF dossier: in every bundle and from ``custody dossier BUNDLE.zip``, for both sample cases.

Read back with pypdf (text, metadata, fonts) and rendered to images with pypdfium2 (no poppler).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import json
import re
import unicodedata
import zipfile
from pathlib import Path

import pypdf
import pypdfium2
import pytest
from cryptography import x509

from custody.bag import PAYLOAD_MANIFEST
from custody.bundle_questionnaire import unverified_bundle_questionnaires
from custody.bundle_verify import open_bag
from custody.demo import DEMO_PASSPHRASE, run_demo
from custody.dossier_model import build_dossier_model, bundle_fingerprint, questionnaire_view
from custody.dossier_render import render_dossier
from custody.pdfsign import validate_pdf
from custody.questionnaire import load_question_set
from tests.conftest import REPO, TOOLCARDS, Cli, assert_error, make_cli

SWEEP = REPO / "sample_cases" / "classifieds-sweep"
LANTERN = REPO / "sample_cases" / "op-lantern"
CYRILLIC = "Привет! Сколько стоит встреча сегодня вечером?"
ARABIC = "مرحبا، كم السعر لهذه الليلة؟"


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample case (a), the decoy-chatbot case, exactly as `make demo` builds it."""
    return run_demo(tmp_path_factory.mktemp("demo"), lambda _line: None).bundle


def _multilingual_transcript(folder: Path) -> Path:
    """conv-0002 of the sample case with its messages in Russian and Arabic."""
    lines = (LANTERN / "conversations" / "conv-0002.jsonl").read_text(encoding="utf-8").splitlines()
    out = []
    for number, line in enumerate(lines):
        record = json.loads(line)
        if number == 0:
            record["conversation_id"] = "conv-intl"
        elif record.get("type") == "message":
            record["text"] = CYRILLIC if record["speaker"] == "counterpart" else ARABIC
        out.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    path = folder / "conv-intl.jsonl"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, Path, str]:
    """Sample case (b), the classifieds sweep, plus one conversation in Russian and Arabic,
    exported with one artifact withheld: (runner, bundle, withheld digest)."""
    runner = make_cli(tmp_path_factory.mktemp("sweep"), None)
    runner.ok("init")
    runner.ok("key", "new", "ana", "--role", "investigator")
    runner.ok("case", "open", "SWEEP-1", "--title", "Sweep", "--jurisdiction", "UK", "--authority", "AUTH/3")
    cards = (TOOLCARDS / "scraper.yaml", TOOLCARDS / "translator.yaml", TOOLCARDS / "decoy-chatbot.yaml")
    for card in (*cards, SWEEP / "ocr-engine.yaml"):
        runner.ok("tool", "add", card)
    runner.ok(
        "import", "warc", SWEEP / "sweep-2026-06-03.warc.gz", "--case", "SWEEP-1", "--tool", "adscraper"
    )
    runner.ok("import", "dir", SWEEP, "--case", "SWEEP-1")
    runner.ok("import", "chat", _multilingual_transcript(runner.cwd), "--case", "SWEEP-1")
    translation = (SWEEP / "translation" / "ad-51911.en.txt").read_bytes()
    withheld = hashlib.sha256(translation).hexdigest()
    bundle = runner.cwd / "sweep.zip"
    runner.ok(
        "bundle", "SWEEP-1", "-o", bundle, "--withhold", withheld[:12], "--reason", "privileged legal advice"
    )
    return runner, bundle, withheld


def _member(bundle: Path, suffix: str) -> bytes:
    with zipfile.ZipFile(bundle) as archive:
        (name,) = [n for n in archive.namelist() if n.split("/", 1)[1] == suffix]
        return archive.read(name)


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def _exhibits(bundle: Path) -> list[dict]:
    return json.loads(_member(bundle, "data/exhibits.json"))["exhibits"]


# --- content ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["demo", "sweep"])
def test_every_exhibit_digest_and_page_number_is_in_the_dossier(
    case: str, demo_bundle: Path, sweep: tuple[Cli, Path, str]
) -> None:
    bundle = demo_bundle if case == "demo" else sweep[1]
    pdf = _member(bundle, "data/dossier.pdf")
    pages = _pages(pdf)
    text = "\n".join(pages)
    exhibits = _exhibits(bundle)
    assert len(exhibits) >= 13
    for exhibit in exhibits:
        assert exhibit["sha256"] in text, f"exhibit {exhibit['exhibit']} digest missing"
    case_id = "OP-LANTERN" if case == "demo" else "SWEEP-1"
    for number, page in enumerate(pages, 1):
        assert f"{case_id}-{number:06d}" in page, f"no Bates number on page {number}"
        assert re.search(rf"Page {number} of\s+{len(pages)}\b", page), f"no 'Page X of Y' on page {number}"
    # The cover's fingerprint is what the by-hand recipe computes from the bundle's manifest.
    manifest = _member(bundle, PAYLOAD_MANIFEST)
    lines = manifest.splitlines(keepends=True)
    recipe = b"".join(line for line in lines if not line.endswith(b" data/dossier.pdf\n"))
    assert len(recipe) < len(manifest)
    assert hashlib.sha256(recipe).hexdigest() == bundle_fingerprint(manifest)
    assert bundle_fingerprint(manifest) in re.sub(r"\s", "", pages[0])
    assert re.search(r"Readiness\s+\d+ of \d+ questions answered", pages[0]), pages[0]


def test_metadata_and_embedded_fonts(demo_bundle: Path) -> None:
    reader = pypdf.PdfReader(io.BytesIO(_member(demo_bundle, "data/dossier.pdf")))
    meta = reader.metadata
    assert meta is not None
    assert str(meta.title).startswith("Evidence dossier: OP-LANTERN")
    assert meta.author == "custody, exported by cole"
    assert "Decoy operation" in str(meta.subject)
    fonts = {}
    for page in reader.pages:
        for reference in page["/Resources"]["/Font"].values():
            font = reference.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            fonts[str(font["/BaseFont"])] = descendant.get("/FontDescriptor")
    assert fonts, "no fonts"
    for name, descriptor in fonts.items():
        assert descriptor is not None, f"{name} has no font descriptor (a standard font, not embedded)"
        assert "/FontFile2" in descriptor.get_object(), f"{name} is not embedded"
        assert "DejaVu" in name


def test_withheld_schedule_and_non_latin_text(sweep: tuple[Cli, Path, str]) -> None:
    _, bundle, withheld = sweep
    pages = _pages(_member(bundle, "data/dossier.pdf"))
    text = "\n".join(pages)
    schedule = json.loads(_member(bundle, "data/withheld.json"))["withheld"]
    assert [item["sha256"] for item in schedule] == [withheld]
    (section,) = [p for p in pages if "Schedule of withheld material" in p and "Exhibit" in p]
    assert "privileged legal advice" in section
    assert withheld[:32] in section
    assert withheld[32:] in section
    assert f"entries {', '.join(str(n) for n in schedule[0]['entries'])}" in section
    assert "Привет! Сколько стоит встреча" in text
    # Arabic is laid out shaped (joined presentation forms, U+FE70-U+FEFF) in visual order;
    # pypdf reads right-to-left runs back in logical order, and NFKC folds the forms to the
    # letters as written.
    assert "\ufee3\ufeae\ufea3\ufe92\ufe8e" in text  # "marhaban", joined
    assert ARABIC in unicodedata.normalize("NFKC", text)


@pytest.fixture(scope="module")
def answered_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Cli]:
    """The demo case with PRIV-1 answered by cole through `custody answer`, then exported:
    (bundle, answer, a runner in the demo workspace)."""
    result = run_demo(tmp_path_factory.mktemp("answered"), lambda _line: None)
    runner = Cli(result.workspace, {**make_cli(tmp_path_factory.mktemp("env"), None).env})
    runner.env["CUSTODY_PASSPHRASE"] = DEMO_PASSPHRASE
    answer = "Lawful basis: Investigatory Powers authorisation IPA/77; DPIA ref DPIA-2026-014."
    runner.ok("--as", "cole", "answer", result.case_id, "PRIV-1", answer)
    bundle = runner.cwd / "answered.zip"
    runner.ok("--as", "cole", "bundle", result.case_id, "-o", bundle)
    return bundle, answer, runner


def _question_statuses(pages: list[str]) -> dict[str, list[str]]:
    """Question id -> the statuses the questionnaire section gives it (one per jurisdiction)."""
    start = next(n for n, page in enumerate(pages) if "Admissibility questionnaire" in page)
    end = next((n for n, page in enumerate(pages) if "Conduct indicators" in page), len(pages))
    lines = [line.strip() for page in pages[start:end] for line in page.splitlines()]
    ids = [n for n, line in enumerate(lines) if re.fullmatch(r"[A-Z]+-\d+", line)] + [len(lines)]
    statuses: dict[str, list[str]] = {}
    for start, end in itertools.pairwise(ids):
        status = next(line for line in lines[start + 1 : end] if line in ("ANSWERED", "PROPOSED", "OPEN"))
        statuses.setdefault(lines[start], []).append(status)
    return statuses


def _engine_statuses(bundle: Path) -> dict[str, list[str]]:
    """Question id -> its status in each of the case's sets, as the engine answers them."""
    wanted: dict[str, list[str]] = {}
    for questionnaire in unverified_bundle_questionnaires(bundle):
        for item in questionnaire.to_dict()["questions"]:
            wanted.setdefault(item["id"], []).append(item["status"].upper())
    return wanted


def test_the_sweep_dossier_shows_its_uk_questionnaire(sweep: tuple[Cli, Path, str]) -> None:
    bundle = sweep[1]
    wanted = _engine_statuses(bundle)
    assert len(wanted) == len(load_question_set("UK").questions)
    assert _question_statuses(_pages(_member(bundle, "data/dossier.pdf"))) == wanted


def test_the_dossier_shows_every_question_of_the_case_sets_as_the_engine_answers_them(
    answered_bundle: tuple[Path, str, Cli],
) -> None:
    bundle, answer, _ = answered_bundle
    pages = _pages(_member(bundle, "data/dossier.pdf"))
    expected = unverified_bundle_questionnaires(bundle)
    assert [q.jurisdiction for q in expected] == ["UK", "EU"]
    wanted = _engine_statuses(bundle)
    assert len(wanted) == len(load_question_set("UK").questions)
    assert _question_statuses(pages) == wanted
    assert wanted["PRIV-1"] == ["ANSWERED", "ANSWERED"]  # cole's signed answer, in both sets
    assert "OPEN" in {s for statuses in wanted.values() for s in statuses}  # the demo leaves some open
    text = " ".join(" ".join(pages).split())
    assert answer in text
    assert "answered by cole (key " in text
    (priv,) = [q for q in expected[0].to_dict()["questions"] if q["id"] == "PRIV-1"]
    assert f"signed in ledger entry {priv['entry']}" in text  # the answer.recorded entry
    answered = sum(q.to_dict()["answered"] for q in expected)
    total = sum(q.to_dict()["total"] for q in expected)
    assert f"{answered} of {total} questions answered" in " ".join(pages[0].split())


def test_the_questionnaire_section_shows_every_question_with_its_status(demo_bundle: Path) -> None:
    questionnaire = {
        "jurisdiction": "UK",
        "title": "England and Wales",
        "answered": 2,
        "total": 4,
        "questions": [
            {
                "id": "AUTH-1",
                "group": "integrity",
                "text": "Does the stored hash match?",
                "rules": ["PACE s.78"],
                "mode": "auto",
                "status": "answered",
                "answer": "Yes: every digest matches.",
                "evidence": {"exhibits": ["1", "2"], "entries": ["4"]},
                "answered_by": None,
                "answered_at": None,
                "entry": None,
            },
            {
                "id": "HUM-2",
                "group": "human",
                "text": "Who supervised?",
                "rules": [],
                "mode": "manual",
                "status": "answered",
                "answer": "cole, with authority to stop.",
                "evidence": {"exhibits": [], "entries": ["30"]},
                "answered_by": "cole",
                "answered_at": "2026-06-20T10:00:00Z",
                "entry": 30,
            },
            {
                "id": "ENT-1",
                "group": "conduct",
                "text": "Who first raised payment?",
                "rules": ["R v Looseley"],
                "mode": "assisted",
                "status": "proposed",
                "answer": "The counterpart, in 4 of 5 conversations.",
                "evidence": {"exhibits": ["3"], "entries": []},
                "answered_by": None,
                "answered_at": None,
                "entry": None,
            },
            {
                "id": "PRIV-1",
                "group": "privacy",
                "text": "Lawful basis?",
                "rules": [],
                "mode": "manual",
                "status": "open",
                "answer": None,
                "evidence": {"exhibits": [], "entries": []},
                "answered_by": None,
                "answered_at": None,
                "entry": None,
            },
        ],
    }
    with open_bag(demo_bundle) as bag:
        model = build_dossier_model(bag, payload_manifest=bag.read(PAYLOAD_MANIFEST))
    model = dataclasses.replace(model, questionnaires=(questionnaire_view(questionnaire),))
    pages = _pages(render_dossier(model))
    assert "2 of 4 questions answered" in pages[0]
    statuses = _question_statuses(pages)
    assert statuses == {
        "AUTH-1": ["ANSWERED"],
        "HUM-2": ["ANSWERED"],
        "ENT-1": ["PROPOSED"],
        "PRIV-1": ["OPEN"],
    }
    assert "answered by cole" in "\n".join(pages)


# --- the command --------------------------------------------------------------------------------


def test_custody_dossier_renders_a_verified_bundle_deterministically(demo_bundle: Path, cli: Cli) -> None:
    first = cli.ok("dossier", demo_bundle, "-o", cli.cwd / "a.pdf")
    assert "Wrote" in first.out
    assert "VALID" in first.out
    cli.ok("dossier", demo_bundle, "-o", cli.cwd / "b.pdf")
    pdf = (cli.cwd / "a.pdf").read_bytes()
    assert pdf == (cli.cwd / "b.pdf").read_bytes()
    tag_digest = hashlib.sha256(_member(demo_bundle, "tagmanifest-sha256.txt")).hexdigest()
    assert tag_digest in _pages(pdf)[0]  # only a dossier of the finished bundle can print it
    assert tag_digest not in _pages(_member(demo_bundle, "data/dossier.pdf"))[0]
    assert not list(cli.cwd.glob(".*partial*"))


def test_custody_dossier_refuses_a_tampered_bundle(demo_bundle: Path, cli: Cli) -> None:
    tampered = cli.cwd / "tampered.zip"
    with zipfile.ZipFile(demo_bundle) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if "/data/artifacts/" in info.filename and info.filename.endswith(".html"):
                data = data.replace(b"<", b"[", 1)
            target.writestr(info, data)
    result = cli("dossier", tampered, "-o", cli.cwd / "out.pdf")
    assert_error(result, 1, "does not verify; no dossier is rendered")
    assert "expected sha256" in result.err
    assert not (cli.cwd / "out.pdf").exists()
    missing = cli("dossier", cli.cwd / "nope.zip", "-o", cli.cwd / "out.pdf")
    assert missing.code == 3


def test_the_dossier_in_a_bundle_carries_the_exporters_pades_signature(
    demo_bundle: Path, sweep: tuple[Cli, Path, str]
) -> None:
    """The demo's exporter (cole) holds a certificate from the workspace CA: the bundle's dossier
    is signed and validates against that CA alone; ana (the sweep's exporter) holds none: unsigned."""
    ca = x509.load_pem_x509_certificate((demo_bundle.parent / "workspace-ca.pem").read_bytes())
    report = validate_pdf(_member(demo_bundle, "data/dossier.pdf"), [ca])
    assert report.ok, report.to_dict()
    (signature,) = report.signatures
    assert "Common Name: cole" in signature.signer_subject
    assert signature.covers_whole_document
    assert not validate_pdf(_member(demo_bundle, "data/dossier.pdf"), []).ok  # trusted only via the CA
    unsigned = validate_pdf(_member(sweep[1], "data/dossier.pdf"), [ca])
    assert not unsigned.ok
    assert unsigned.signatures == ()


def test_custody_dossier_sign_uses_the_acting_actors_certificate(
    answered_bundle: tuple[Path, str, Cli],
) -> None:
    bundle, _, runner = answered_bundle
    signed = runner.cwd / "signed.pdf"
    out = runner.ok("--as", "cole", "dossier", bundle, "-o", signed, "--sign").out
    assert " signed," in out
    runner.ok("ca", "export", "-o", "ca.pem")
    checked = runner.ok("pdf", "verify", signed, "--ca", "ca.pem").out
    assert "Common Name: cole" in checked
    assert "Result: VALID" in checked
    # ana has no document-signing certificate: refused before anything is written.
    refused = runner("--as", "ana", "dossier", bundle, "-o", runner.cwd / "ana.pdf", "--sign")
    assert_error(refused, 1, "'ana' has no document-signing certificate", "custody key cert ana")
    assert not (runner.cwd / "ana.pdf").exists()


# --- how it looks -------------------------------------------------------------------------------


def test_pages_render_with_content_inside_the_margins(demo_bundle: Path, tmp_path: Path) -> None:
    document = pypdfium2.PdfDocument(_member(demo_bundle, "data/dossier.pdf"))
    scale = 1.0  # 72 dpi: one pixel per point
    margin = int(15 * 72 / 25.4)  # 15 mm: the layout keeps 20 mm, the header and footer rules 18 mm
    for index in range(len(document)):
        image = document[index].render(scale=scale).to_pil().convert("L")
        width, height = image.size
        pixels = image.load()
        inked = sum(1 for x in range(0, width, 3) for y in range(0, height, 3) if pixels[x, y] < 200)
        assert inked > 200, f"page {index + 1} is (nearly) blank"
        for x in range(width):
            for y in (*range(margin), *range(height - margin, height)):
                assert pixels[x, y] > 235, f"page {index + 1}: ink at ({x}, {y}) in the top/bottom margin"
        for y in range(height):
            for x in (*range(margin), *range(width - margin, width)):
                assert pixels[x, y] > 235, f"page {index + 1}: ink at ({x}, {y}) in the side margin"
        if index in (0, 3):
            image.save(tmp_path / f"page-{index + 1}.png")
