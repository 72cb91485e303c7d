"""Lay out a ``DossierModel`` as a PDF (reportlab platypus; charts with reportlab.graphics).

Invariants:
- Deterministic: the same model gives the same bytes (``invariant=1``, no clock; every date
  printed is a signed ledger time).
- Fonts are the DejaVu fonts shipped in ``templates/fonts`` (embedded as subsets): no system
  fonts, and Cyrillic, Greek and Arabic text render. Arabic and Hebrew runs are shaped and put in
  visual (right-to-left) order before layout, line by line, because reportlab lays out neither.
- Every page carries the Bates number ``<CASE>-000001`` and "Page X of Y"; the total is a form
  XObject drawn once at the end, so the document is built in one pass.
- Long tables are cut into blocks with their header row repeated, so no table row overflows.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from arabic_reshaper import reshape
from bidi import get_display
from reportlab.graphics import shapes
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Circle, Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
)

from custody.dossier_model import (
    FINGERPRINT_RECIPE,
    DossierModel,
    ExhibitView,
    QuestionnaireView,
    TranscriptView,
)
from custody.models import HIL
from custody.resources import templates_dir
from custody.timeutil import parse_rfc3339

FONT = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
MONO = "DejaVuSansMono"
PAGE = A4
MARGIN = 20 * mm
CONTENT_WIDTH = PAGE[0] - 2 * MARGIN
ROWS_PER_TABLE = 40
"""Rows per table block: long tables are cut into blocks (header repeated) to lay out fast."""
_TOTAL_FORM = "custody-page-total"

INK = colors.HexColor("#1a1a1a")
MUTED = colors.HexColor("#555555")
RULE = colors.HexColor("#9a9a9a")
HEAD_FILL = colors.HexColor("#e4e7eb")
DECOY_FILL = colors.HexColor("#eef3fa")
REDACTED_FILL = colors.HexColor("#d9d9d9")
WARN = colors.HexColor("#8a1c1c")
HIL_COLOURS = ["#2e6b30", "#5d8f2e", "#a3a12b", "#c9822b", "#c0512b", "#8a1c1c"]


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = templates_dir() / "fonts"
    for name, file in ((FONT, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf"), (MONO, "DejaVuSansMono.ttf")):
        # shapable=False: the text arrives shaped (see _visual); reportlab's own shaping would
        # need uharfbuzz and still not reorder right-to-left runs.
        pdfmetrics.registerFont(TTFont(name, str(folder / file), shapable=False))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11, textColor=INK)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5),
        "muted": ParagraphStyle("muted", parent=base, fontSize=7.5, leading=9.5, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.2),
        "cell_rtl": ParagraphStyle("cell_rtl", parent=base, fontSize=7.5, leading=9.2, alignment=TA_RIGHT),
        "mono": ParagraphStyle("mono", parent=base, fontName=MONO, fontSize=7, leading=9),
        "code": ParagraphStyle(
            "code",
            parent=base,
            fontName=MONO,
            fontSize=7.5,
            leading=9.5,
            leftIndent=8,
            backColor=colors.HexColor("#f3f3f3"),
            borderPadding=3,
            spaceBefore=2,
            spaceAfter=6,
        ),
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=20, leading=25, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=12, leading=16, spaceAfter=12),
        "h1": ParagraphStyle(
            "h1", parent=base, fontName=BOLD, fontSize=14, leading=18, spaceBefore=4, spaceAfter=8
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontName=BOLD, fontSize=10.5, leading=13, spaceBefore=10, spaceAfter=4
        ),
        "banner": ParagraphStyle(
            "banner",
            parent=base,
            fontName=BOLD,
            fontSize=9,
            leading=12,
            textColor=colors.white,
            backColor=WARN,
            borderPadding=4,
            spaceBefore=2,
            spaceAfter=8,
            alignment=TA_CENTER,
        ),
        "warn": ParagraphStyle("warn", parent=base, textColor=WARN, fontName=BOLD),
    }


# --- text ---------------------------------------------------------------------------------------


def _is_rtl_char(char: str) -> bool:
    return unicodedata.bidirectional(char) in ("R", "AL")


def _first_strong_rtl(text: str) -> bool:
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def _visual(text: str) -> str:
    """A one-line text in visual order: Arabic letters joined, right-to-left runs reversed."""
    if not any(_is_rtl_char(c) for c in text):
        return text
    return str(get_display(reshape(text)))


def _t(text: object) -> str:
    """Text for a Paragraph: in visual order, XML-escaped."""
    return escape(_visual(str(text)))


def _message_paragraph(text: str, width: float, styles: Mapping[str, ParagraphStyle]) -> Paragraph:
    """A message's text. Right-to-left text is wrapped first (in logical order), then each line
    is put in visual order and aligned right, so a wrapped Arabic message reads top to bottom."""
    if not any(_is_rtl_char(c) for c in text):
        return Paragraph(escape(text).replace("\n", "<br/>"), styles["cell"])
    style = styles["cell_rtl"] if _first_strong_rtl(text) else styles["cell"]
    lines: list[str] = []
    for source_line in text.split("\n"):
        shaped = str(reshape(source_line))
        for line in simpleSplit(shaped, style.fontName, style.fontSize, width - 2) or [""]:
            lines.append(escape(str(get_display(line))))
    return Paragraph("<br/>".join(lines), style)


def _when(text: str | None) -> str:
    """An RFC 3339 time as printed: to the second, in UTC."""
    if not text:
        return ""
    try:
        return parse_rfc3339(text).strftime("%Y-%m-%d %H:%M:%S UTC")
    except Exception:
        return text


def _hil_short(level: str | None) -> str:
    if not level:
        return ""
    return level.split("_", 1)[0] + (
        " " + level.split("_", 1)[1].lower().replace("_", "-") if "_" in level else ""
    )


# --- page furniture -----------------------------------------------------------------------------


class _DossierDoc(BaseDocTemplate):
    def __init__(self, out: io.BytesIO, model: DossierModel) -> None:
        case = model.case
        super().__init__(
            out,
            pagesize=PAGE,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN + 4 * mm,
            bottomMargin=MARGIN + 2 * mm,
            title=f"Evidence dossier: {case.case_id} ({model.bundle.top})",
            author=f"custody, exported by {model.bundle.exporter.name}"
            if model.bundle.exporter
            else "custody",
            subject=f"Disclosure bundle {model.bundle.top}: {case.title}",
            creator="custody dossier",
            producer="custody (reportlab)",
            keywords=["evidence", "dossier", "chain of custody", case.case_id, model.bundle.fingerprint],
            invariant=1,
            pageCompression=1,
            initialFontName=FONT,  # else every page's preamble names Helvetica, which is not embedded
        )
        self.model = model
        frame = Frame(
            self.leftMargin,
            self.bottomMargin,
            self.width,
            self.height,
            id="body",
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
        )
        self.addPageTemplates(
            [
                PageTemplate(id="cover", frames=[frame], onPage=self._furniture),
                PageTemplate(id="body", frames=[frame], onPage=self._furniture),
            ]
        )

    def _furniture(self, canvas: Canvas, doc: Any) -> None:
        model = self.model
        page = canvas.getPageNumber()
        canvas.saveState()
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        top = PAGE[1] - MARGIN + 2 * mm
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, top + 2, _visual(f"{model.case.case_id} · {model.case.title}")[:110])
        canvas.drawRightString(PAGE[0] - MARGIN, top + 2, f"Evidence dossier · bundle {model.bundle.top}")
        canvas.line(MARGIN, top, PAGE[0] - MARGIN, top)
        bottom = MARGIN - 2 * mm
        canvas.line(MARGIN, bottom + 10, PAGE[0] - MARGIN, bottom + 10)
        canvas.setFillColor(INK)
        canvas.setFont(BOLD, 8)
        bates = f"{model.case.case_id}-{page:06d}"
        canvas.drawString(MARGIN, bottom, bates)
        canvas.setFont(FONT, 8)
        label = f"Page {page} of "
        x = PAGE[0] - MARGIN - pdfmetrics.stringWidth(label + "00000", FONT, 8)
        canvas.drawString(x, bottom, label)
        canvas.saveState()
        canvas.translate(x + pdfmetrics.stringWidth(label, FONT, 8), bottom)
        canvas.doForm(_TOTAL_FORM)
        canvas.restoreState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(MUTED)
        canvas.drawCentredString(PAGE[0] / 2, bottom, f"fingerprint {model.bundle.fingerprint[:16]}…")
        canvas.restoreState()


class _TotalPages(Flowable):
    """Zero-size flowable placed last: defines the form holding the total page count."""

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        canvas = self.canv
        total = canvas.getPageNumber()
        canvas.beginForm(_TOTAL_FORM)
        canvas.setFont(FONT, 8)
        canvas.setFillColor(INK)
        canvas.drawString(0, 0, str(total))
        canvas.endForm()


# --- building blocks ----------------------------------------------------------------------------


def _table(
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    header: bool = True,
    mono_columns: Iterable[int] = (),
    font_size: float = 7.5,
) -> list[Flowable]:
    """A table cut into blocks of ``ROWS_PER_TABLE`` rows, each repeating the header row."""
    head = [rows[0]] if header and rows else []
    body = list(rows[1:] if header else rows)
    blocks: list[Flowable] = []
    chunks = [body[i : i + ROWS_PER_TABLE] for i in range(0, len(body), ROWS_PER_TABLE)] or [[]]
    for chunk in chunks:
        if not chunk and not head:
            continue
        style = [
            ("FONT", (0, 0), (-1, -1), FONT, font_size),
            ("LEADING", (0, 0), (-1, -1), font_size + 1.8),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
        for column in mono_columns:
            style.append(("FONT", (column, 0), (column, -1), MONO, font_size - 0.5))
        if head:
            style += [
                ("FONT", (0, 0), (-1, 0), BOLD, font_size),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, INK),
            ]
        table = Table([*head, *chunk], colWidths=list(widths), repeatRows=1 if head else 0, style=style)
        blocks.append(table)
        blocks.append(Spacer(1, 2))
    return blocks


def _facts(
    pairs: Sequence[tuple[str, Any]],
    styles: Mapping[str, ParagraphStyle],
    label_width: float = 48 * mm,
    mono: Sequence[str] = (),
) -> Table:
    """A two-column table of labelled facts (labels bold, values wrapped)."""
    rows: list[list[Any]] = []
    cells: list[int | None] = []  # rows whose value is in the mono font
    for label, value in pairs:
        if value is None or value == "":
            continue
        style = styles["mono"] if label in mono else styles["cell"]
        cells.append(len(rows) if label in mono else None)
        text = value if isinstance(value, Flowable) else _visual(str(value))
        if (
            isinstance(text, str)
            and "\n" not in text
            and (
                pdfmetrics.stringWidth(text, style.fontName, style.fontSize) < CONTENT_WIDTH - label_width - 8
            )
        ):
            cell: Any = text  # a plain string lays out many times faster than a Paragraph
        else:
            cell = text if isinstance(text, Flowable) else Paragraph(escape(text), style)
        rows.append([label, cell])
    return Table(
        rows or [["", ""]],
        colWidths=[label_width, CONTENT_WIDTH - label_width],
        style=[
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
            ("FONT", (0, 0), (-1, -1), FONT, 7.5),  # a table without one sets Helvetica
            ("LEADING", (0, 0), (-1, -1), 9.2),
            *[("FONT", (1, row), (1, row), MONO, 7) for row in cells if row is not None],
            ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f4f5f7")),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ],
    )


def _qr(value: str, size: float) -> Drawing:
    widget = QrCodeWidget(value, barLevel="M")
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (right - left), 0, 0, size / (top - bottom), 0, 0])
    drawing.add(widget)
    return drawing


# --- sections -----------------------------------------------------------------------------------


def _cover(model: DossierModel, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    case, bundle = model.case, model.bundle
    story: list[Flowable] = [
        Paragraph("Evidence dossier", styles["title"]),
        Paragraph(f"{_t(case.case_id)}: {_t(case.title)}", styles["subtitle"]),
    ]
    readiness = model.readiness
    if readiness is None:
        ready = "Questionnaire not evaluated for this bundle: no admissibility question is answered here."
    else:
        answered, total = readiness
        ready = f"{answered} of {total} questions answered" + (
            "" if answered == total else f" ({total - answered} open or proposed: see the questionnaire)"
        )
    exporter = bundle.exporter
    story.append(
        _facts(
            [
                ("Case", case.case_id),
                ("Title", case.title),
                ("Jurisdiction", ", ".join(case.jurisdictions)),
                ("Authority", case.authority),
                ("Legal basis", case.legal_basis),
                ("Operator", case.operator_type.replace("_", "-")),
                ("Opened", f"{_when(case.opened_at)} by {case.opened_by}"),
                ("Sealed", _when(case.sealed_at) if case.sealed_at else "not sealed"),
                ("Record as of", f"{_when(bundle.as_of)} (the last disclosed ledger entry)"),
                ("Custodian", model.custodian or ""),
                (
                    "Exported by",
                    f"{exporter.name} ({exporter.role}), key {exporter.fingerprint}" if exporter else "",
                ),
                ("Recipient", bundle.recipient or ""),
                ("Readiness", ready),
                (
                    "Exhibits",
                    f"{len(model.exhibits)} ({sum(1 for e in model.exhibits if e.withheld)} withheld)",
                ),
                (
                    "Ledger entries",
                    f"{bundle.entries} ({bundle.withheld_entries} withheld, shown by leaf hash)",
                ),
                ("Most automated HIL relied on", model.most_automated or "none recorded"),
            ],
            styles,
        )
    )
    story.append(Spacer(1, 10))
    qr_size = 30 * mm
    pairs = [
        ("Checkpoint root (signed by the log key)", bundle.checkpoint_root, f"root:{bundle.checkpoint_root}"),
        (
            "Bundle fingerprint (payload manifest without data/dossier.pdf)",
            bundle.fingerprint,
            f"fingerprint:{bundle.fingerprint}",
        ),
    ]
    cells = []
    for label, value, code in pairs:
        cells.append(
            [
                _qr(code, qr_size),
                [
                    Paragraph(f"<b>{escape(label)}</b>", styles["cell"]),
                    Paragraph(f"{value[:32]}<br/>{value[32:]}", styles["mono"]),
                ],
            ]
        )
    story.append(
        Table(
            cells,
            colWidths=[qr_size + 6, CONTENT_WIDTH - qr_size - 6],
            style=[
                ("FONT", (0, 0), (-1, -1), FONT, 7.5),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
            ],
        )
    )
    if bundle.tag_manifest_sha256:
        story.append(Spacer(1, 4))
        story.append(
            Paragraph(
                "Signed tag manifest (tagmanifest-sha256.txt), SHA-256: "
                f"<font name='{MONO}'>{bundle.tag_manifest_sha256}</font>",
                styles["small"],
            )
        )
    warnings = _warnings(model)
    if warnings:
        story.append(Spacer(1, 8))
        story.extend(Paragraph(f"Warning: {_t(text)}", styles["warn"]) for text in warnings)
    story.append(Spacer(1, 8))
    story.append(
        Paragraph(
            "This dossier is generated from the disclosure bundle named above and from nothing else; "
            "the bundle, not this document, is the evidence. Every statement here can be checked "
            "against the bundle's signed records (see <i>How to verify</i>).",
            styles["muted"],
        )
    )
    return story


def _warnings(model: DossierModel) -> list[str]:
    warnings = [
        f"run {run.run_id} ({run.tool}) was configured {run.configured} but its records show {run.observed}"
        for run in model.runs
        if run.mismatch
    ]
    if model.readiness is not None and model.readiness[0] < model.readiness[1]:
        warnings.append("not every admissibility question is answered (see the questionnaire)")
    unsealed = model.case.sealed_at is None
    if unsealed:
        warnings.append("the case is not sealed: later entries may extend this record")
    return warnings


def _how_to_verify(model: DossierModel, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    bundle = model.bundle
    code = styles["code"]
    body = styles["body"]
    story: list[Flowable] = [
        Paragraph("How to verify", styles["h1"]),
        Paragraph(
            "The bundle is a BagIt bag (RFC 8493) in one zip. Anyone can check it offline, without "
            "custody's database and without trusting the party that produced it:",
            body,
        ),
        Paragraph("1. With custody (checks everything at once, numbered):", body),
        Paragraph(f"custody verify {escape(bundle.top)}.zip [--trust FINGERPRINT]", code),
        Paragraph(
            "2. With the verifier shipped inside the bundle (Python standard library plus PyNaCl or "
            "cryptography; it imports nothing of custody): unzip, then in the bag folder",
            body,
        ),
        Paragraph("python3 verify_bundle.py", code),
        Paragraph(
            "3. By hand, following VERIFY.md in the bag: every file against the manifests, and the "
            "exporter's signature over the tag manifest:",
            body,
        ),
        Paragraph(
            "sha256sum -c manifest-sha256.txt<br/>sha256sum -c tagmanifest-sha256.txt<br/>"
            "openssl pkeyutl -verify -pubin -inkey data/keys/&lt;exporter&gt;.pem -rawin "
            "-in tagmanifest-sha256.txt -sigfile tagmanifest-sha256.txt.sig",
            code,
        ),
        Paragraph(
            "4. That this dossier belongs to the bundle: the fingerprint on the cover is the SHA-256 "
            "of the payload manifest without the line for this dossier (the dossier is itself listed "
            "in that manifest, so it cannot contain the manifest's own digest):",
            body,
        ),
        Paragraph(escape(FINGERPRINT_RECIPE), code),
        Paragraph(
            f"which must print <font name='{MONO}'>{bundle.fingerprint}</font>. The checkpoint root "
            f"on the cover is the Merkle root (RFC 9162) of the {bundle.entries} ledger entries in "
            "data/ledger/entries.jsonl, signed by the log key in data/ledger/checkpoint.",
            body,
        ),
        Spacer(1, 6),
        Paragraph(
            f"Every exhibit below is named by its full SHA-256 digest: <font name='{MONO}'>sha256sum "
            "data/artifacts/&lt;digest&gt;*</font> recomputes it. Exhibit numbers are stable per "
            "case: exhibit N is the N-th distinct artifact the ledger records.",
            body,
        ),
    ]
    return story


def _exhibit_index(model: DossierModel, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    rows: list[list[Any]] = [["No.", "Name", "Kind", "Origin", "HIL", "Tool and model", "SHA-256 (prefix)"]]
    for exhibit in model.exhibits:
        if exhibit.withheld is not None:
            rows.append([str(exhibit.number), "(withheld)", "", "", "", "", exhibit.sha256[:16]])
            continue
        tool = exhibit.tool_label + (f"\n{exhibit.model_label}" if exhibit.model_label else "")
        rows.append(
            [
                str(exhibit.number),
                _clip(_visual(exhibit.name), 30),
                _clip(exhibit.kind, 22),
                f"{exhibit.origin}\n{exhibit.role}",
                exhibit.hil.split("_", 1)[0],
                _clip_lines(tool, 32),
                exhibit.sha256[:16],
            ]
        )
    widths = [9 * mm, 38 * mm, 29 * mm, 17 * mm, 10 * mm, 41 * mm]
    widths.append(CONTENT_WIDTH - sum(widths))
    return [
        Paragraph("Exhibit index", styles["h1"]),
        Paragraph(
            "Origin: <i>captured</i> came from outside the system, <i>generated</i> was produced by it, "
            "<i>mixed</i> holds both. HIL: human-involvement level, HIL0 (manual) to HIL5 (autonomous). "
            "Full digests are on each exhibit's provenance sheet.",
            styles["muted"],
        ),
        Spacer(1, 4),
        *_table(rows, widths, mono_columns=[6], font_size=7),
    ]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clip_lines(text: str, limit: int) -> str:
    return "\n".join(_clip(line, limit) for line in text.split("\n"))


def _provenance_sheets(model: DossierModel, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    story: list[Flowable] = [
        Paragraph("Provenance of each exhibit", styles["h1"]),
        Paragraph(
            "What the signed records say about each exhibit: its digest, who signed which record "
            "and when, where it came from, which tool, build, model and parameters made or captured "
            "it, and what it was derived from.",
            styles["muted"],
        ),
    ]
    for exhibit in model.exhibits:
        story.append(CondPageBreak(45 * mm))
        story.append(KeepTogether(_sheet(exhibit, styles)))
    return story


def _sheet(exhibit: ExhibitView, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    heading = Paragraph(f"Exhibit {exhibit.number}: {_t(exhibit.name)}", styles["h2"])
    if exhibit.withheld is not None:
        return [
            heading,
            _facts([("SHA-256", exhibit.sha256), ("Withheld", exhibit.withheld)], styles, mono=("SHA-256",)),
        ]
    tool = exhibit.tool
    model = tool.model if tool else None
    signed = "; ".join(
        f"entry {r.sequence} ({r.event_type}) signed by {r.signer} ({r.role}) at {_when(r.time)}"
        for r in exhibit.records
    )
    chain = " ← ".join(
        f"exhibit {step.exhibit or '?'} {step.name or ''} ({step.sha256[:16]}…)"
        + (f" by {step.transformation}" if step.transformation else "")
        for step in exhibit.chain
    )
    source = ", ".join(f"{k} {v}" for k, v in exhibit.source.items())
    humans = ", ".join(f"{label} {who}" for label, who in exhibit.humans)
    pairs: list[tuple[str, Any]] = [
        ("SHA-256", exhibit.sha256),
        (
            "Kind, media type, size",
            f"{exhibit.kind}; {exhibit.media_type}; {exhibit.size:,} bytes"
            if exhibit.size is not None
            else exhibit.kind,
        ),
        ("Origin, role", f"{exhibit.origin}, {exhibit.role}"),
        ("Human involvement", f"{exhibit.hil} ({exhibit.hil_function})" + (f", {humans}" if humans else "")),
        ("Operator", exhibit.operator),
        ("Signed records", signed),
        ("Captured at (tool's claim)", _when(exhibit.captured_at)),
        ("Source", source),
        ("Run", exhibit.run),
        ("Derived from", chain),
        ("Tool", f"{exhibit.tool_label} ({tool.kind})" if tool else exhibit.tool_label),
    ]
    if tool is not None:
        pairs += [
            ("Tool card SHA-256", tool.card_sha256),
            ("Build", tool.build_hash),
            ("Configuration SHA-256", tool.config_sha256),
            ("Validation", "; ".join(tool.validation) or "none recorded"),
            ("Known issues", "; ".join(tool.known_issues) or "none recorded"),
        ]
    if model is not None:
        params = ", ".join(f"{k}={v}" for k, v in sorted(model.parameters.items()))
        pairs += [
            ("Model", f"{model.provider}: {model.model_id}, snapshot {model.snapshot}"),
            ("Decoding parameters", params or "none recorded"),
            ("Replayable", {True: "yes", False: "no", None: "not stated"}[model.replayable]),
            ("Weights SHA-256", model.weights_sha256),
        ]
    pairs += [
        ("System prompt SHA-256", exhibit.prompt_sha256),
        ("Persona script SHA-256", exhibit.persona_sha256),
        ("Findings", "; ".join(exhibit.findings)),
        ("Note", exhibit.note),
    ]
    mono = (
        "SHA-256",
        "Tool card SHA-256",
        "Configuration SHA-256",
        "Weights SHA-256",
        "System prompt SHA-256",
        "Persona script SHA-256",
        "Build",
    )
    return [heading, _facts(pairs, styles, mono=mono)]


def _transcripts(model: DossierModel, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    if not model.transcripts:
        return []
    story: list[Flowable] = [
        PageBreak(),
        Paragraph("Conversations", styles["h1"]),
        Paragraph(
            "Each decoy conversation as recorded, message by message: who spoke, who wrote the words "
            "(the model, a template, the operator, or the model edited by the operator), and the "
            "human-involvement level of every decoy message. Shaded rows are the decoy's side. "
            "Redacted messages are shown as such; their salted commitments in the bundle prove they "
            "exist and are unchanged.",
            styles["muted"],
        ),
    ]
    for transcript in model.transcripts:
        story.extend(_conversation(transcript, styles))
    return story


def _conversation(transcript: TranscriptView, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    title = f"Exhibit {transcript.exhibit}: conversation {_t(transcript.conversation_id)}"
    if transcript.redacted:
        title += " (redacted copy)"
    facts = _facts(
        [
            ("SHA-256", transcript.sha256),
            ("Platform", transcript.platform),
            ("Counterpart", transcript.counterpart),
            ("Persona", transcript.persona),
            (
                "Redaction",
                f"{transcript.withheld_lines} line(s) withheld: {transcript.redaction_reason}"
                if transcript.redacted
                else "",
            ),
            ("Findings", "; ".join(transcript.findings)),
            ("Not laid out", transcript.note or ""),
        ],
        styles,
        mono=("SHA-256",),
    )
    story: list[Flowable] = [CondPageBreak(60 * mm), Paragraph(title, styles["h2"]), facts, Spacer(1, 4)]
    if not transcript.messages:
        return story
    text_width = CONTENT_WIDTH - 60 * mm
    header = ["#", "Time", "Speaker", "HIL", "Message"]
    rows: list[list[Any]] = []
    decoy_rows: list[int] = []
    redacted_rows: list[int] = []
    previous = 0
    for message in transcript.messages:
        if message.text is not None and not transcript.redacted and message.seq > previous + 1 and previous:
            redacted_rows.append(len(rows))
            missing = (
                f"{previous + 1}" if message.seq == previous + 2 else f"{previous + 1}-{message.seq - 1}"
            )
            rows.append(
                [
                    "",
                    "",
                    "",
                    "",
                    Paragraph(f"<b>[GAP]</b> message(s) {missing} are not in the transcript", styles["cell"]),
                ]
            )
        previous = max(previous, message.seq)
        if message.text is None:
            redacted_rows.append(len(rows))
            rows.append(
                [
                    "",
                    "",
                    "",
                    "",
                    Paragraph(f"<b>[REDACTED]</b> {_t(message.redaction_reason or '')}", styles["cell"]),
                ]
            )
            continue
        if message.speaker == "decoy":
            decoy_rows.append(len(rows))
        who = (
            message.speaker
            if message.speaker == message.authorship
            else (f"{message.speaker}\n" + _AUTHORSHIP.get(message.authorship, message.authorship))
        )
        hil = _hil_short(message.hil).replace(" ", "\n", 1) if message.hil else "captured"
        cell: list[Flowable] = [_message_paragraph(message.text, text_width, styles)]
        extra = [
            n for n in (message.hil_humans, message.model_snapshot and f"model {message.model_snapshot}") if n
        ]
        extra += list(message.notes)
        if extra:
            cell.append(Paragraph(_t("; ".join(extra)), styles["muted"]))
        rows.append([str(message.seq), _when(message.time)[:19].replace(" ", "\n"), who, hil, cell])
    widths = [7 * mm, 17 * mm, 22 * mm, 14 * mm, text_width]
    for start in range(0, len(rows), ROWS_PER_TABLE):
        chunk = rows[start : start + ROWS_PER_TABLE]
        style = [
            ("FONT", (0, 0), (-1, -1), FONT, 7),
            ("LEADING", (0, 0), (-1, -1), 8.6),
            ("FONT", (0, 0), (-1, 0), BOLD, 7.5),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, INK),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
        for row in decoy_rows:
            if start <= row < start + ROWS_PER_TABLE:
                style.append(("BACKGROUND", (0, row - start + 1), (-1, row - start + 1), DECOY_FILL))
        for row in redacted_rows:
            if start <= row < start + ROWS_PER_TABLE:
                style.append(("BACKGROUND", (0, row - start + 1), (-1, row - start + 1), REDACTED_FILL))
                style.append(("SPAN", (0, row - start + 1), (3, row - start + 1)))
        story.append(Table([header, *chunk], colWidths=widths, repeatRows=1, style=style))
    story.append(Spacer(1, 6))
    return story


_AUTHORSHIP = {
    "model": "model",
    "template": "template",
    "operator": "operator",
    "model_edited_by_operator": "model, edited\nby operator",
}


def _timeline_chart(model: DossierModel) -> Drawing | None:
    times = [(parse_rfc3339(t), actor, kind) for t, actor, kind in model.event_times]
    if not times:
        return None
    lanes: list[str] = []
    for span in model.custody:
        if span.custodian not in lanes:
            lanes.append(span.custodian)
    for _, actor, _ in times:
        if actor not in lanes:
            lanes.append(actor)
    lanes = lanes[:12]
    start = min(t for t, _, _ in times)
    end = max(t for t, _, _ in times)
    span_seconds = max((end - start).total_seconds(), 1.0)
    width, lane_height, left, bottom = CONTENT_WIDTH, 16.0, 70.0, 34.0
    height = bottom + lane_height * len(lanes) + 12
    plot = width - left - 10
    drawing = Drawing(width, height)

    def x_of(moment: datetime) -> float:
        return float(left + plot * (moment - start).total_seconds() / span_seconds)

    for index, lane in enumerate(lanes):
        y = bottom + (len(lanes) - 1 - index) * lane_height
        drawing.add(
            String(left - 4, y + 4, _clip(_visual(lane), 14), fontName=FONT, fontSize=7, textAnchor="end")
        )
        drawing.add(
            Line(
                left,
                y + lane_height / 2 - 2,
                left + plot,
                y + lane_height / 2 - 2,
                strokeColor=colors.HexColor("#dddddd"),
                strokeWidth=0.4,
            )
        )
    for span in model.custody:
        if span.custodian not in lanes:
            continue
        index = lanes.index(span.custodian)
        y = bottom + (len(lanes) - 1 - index) * lane_height
        x0 = x_of(parse_rfc3339(span.start))
        x1 = x_of(parse_rfc3339(span.end)) if span.end else left + plot
        drawing.add(
            Rect(
                x0,
                y + 1,
                max(x1 - x0, 1.5),
                lane_height - 6,
                fillColor=colors.HexColor("#c9d6e8"),
                strokeColor=colors.HexColor("#6f8fb8"),
                strokeWidth=0.4,
            )
        )
    custody_kinds = {"custody.released", "custody.accepted", "case.opened", "case.sealed", "bundle.exported"}
    for moment, actor, kind in times:
        if actor not in lanes:
            continue
        index = lanes.index(actor)
        y = bottom + (len(lanes) - 1 - index) * lane_height + lane_height / 2 - 2
        if kind in custody_kinds:
            drawing.add(Circle(x_of(moment), y, 2.6, fillColor=WARN, strokeColor=WARN))
        else:
            drawing.add(Line(x_of(moment), y - 3, x_of(moment), y + 3, strokeColor=INK, strokeWidth=0.4))
    drawing.add(Line(left, bottom - 4, left + plot, bottom - 4, strokeColor=INK, strokeWidth=0.6))
    for fraction in (0.0, 0.5, 1.0):
        moment = start + (end - start) * fraction
        label = moment.strftime("%Y-%m-%d %H:%M:%S")
        anchor = {0.0: "start", 0.5: "middle", 1.0: "end"}[fraction]
        drawing.add(
            Line(left + plot * fraction, bottom - 6, left + plot * fraction, bottom - 2, strokeColor=INK)
        )
        drawing.add(
            String(
                left + plot * fraction,
                bottom - 15,
                label + " UTC",
                fontName=FONT,
                fontSize=6.5,
                textAnchor=anchor,
            )
        )
    drawing.add(
        Rect(left, 4, 10, 6, fillColor=colors.HexColor("#c9d6e8"), strokeColor=colors.HexColor("#6f8fb8"))
    )
    drawing.add(String(left + 14, 5, "holds custody", fontName=FONT, fontSize=6.5))
    drawing.add(Circle(left + 90, 7, 2.6, fillColor=WARN, strokeColor=WARN))
    drawing.add(
        String(
            left + 96, 5, "custody event (open, release, accept, export, seal)", fontName=FONT, fontSize=6.5
        )
    )
    drawing.add(Line(left + 290, 4, left + 290, 10, strokeColor=INK, strokeWidth=0.4))
    drawing.add(String(left + 295, 5, "other signed entry", fontName=FONT, fontSize=6.5))
    return drawing


def _timeline(model: DossierModel, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    story: list[Flowable] = [
        PageBreak(),
        Paragraph("Custody timeline", styles["h1"]),
        Paragraph(
            "Who held custody of the case over time (a release takes effect when the receiver signs "
            "its acceptance), and every signed entry on the lane of the key that signed it.",
            styles["muted"],
        ),
        Spacer(1, 4),
    ]
    chart = _timeline_chart(model)
    if chart is not None:
        story.append(chart)
    story.append(Spacer(1, 6))
    spans = [["Custodian", "From", "Until"]] + [
        [span.custodian, _when(span.start), _when(span.end) if span.end else "end of the record"]
        for span in model.custody
    ]
    story.extend(_table(spans, [50 * mm, 55 * mm, CONTENT_WIDTH - 105 * mm]))
    story.append(Paragraph("Custody and case events", styles["h2"]))
    records = model.events_total - len(model.events)
    story.append(
        Paragraph(
            f"Entries other than artifact records; the {len(model.exhibits)} exhibits' records are on "
            f"their provenance sheets. Of {model.events_total} entries, {records} record artifacts or "
            "are withheld.",
            styles["muted"],
        )
    )
    rows: list[list[Any]] = [["Entry", "Time", "Event", "Signed by", "What"]]
    for event in model.events:
        rows.append(
            [
                str(event.sequence),
                _when(event.time),
                event.event_type,
                event.actor,
                Paragraph(_t(event.summary), styles["cell"]),
            ]
        )
    story.extend(_table(rows, [10 * mm, 37 * mm, 30 * mm, 17 * mm, CONTENT_WIDTH - 94 * mm]))
    return story


def _hil_chart(counts: Mapping[str, int]) -> Drawing:
    levels = [level.value for level in HIL] + ["none"]
    values = [counts.get(level, 0) for level in levels]
    drawing = Drawing(CONTENT_WIDTH, 150)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 36, CONTENT_WIDTH - 60, 100
    chart.data = [values]
    chart.categoryAxis.categoryNames = [
        level.split("_", 1)[0] if level != "none" else "no level" for level in levels
    ]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    top = max(values) if any(values) else 1
    chart.valueAxis.valueMax = top + max(1, top // 10)
    chart.valueAxis.valueStep = max(1, (top + 4) // 5)
    chart.barLabelFormat = "%d"
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = 7
    chart.barLabels.nudge = 6
    for index in range(len(levels)):
        colour = HIL_COLOURS[index] if index < len(HIL_COLOURS) else "#999999"
        chart.bars[(0, index)].fillColor = colors.HexColor(colour)
        chart.bars[(0, index)].strokeColor = None
    drawing.add(chart)
    drawing.add(
        String(
            40,
            12,
            "Decoy messages per human-involvement level (counterpart messages are captured "
            "and have no level)",
            fontName=FONT,
            fontSize=7,
            fillColor=MUTED,
        )
    )
    return drawing


_HIL_MEANING = {
    "HIL0_MANUAL": "a human wrote, sent or captured it; the tool only recorded",
    "HIL1_ASSISTED": "the model suggested; a human wrote or picked and sent each item",
    "HIL2_APPROVED": "the model drafted; nothing went out without a named human's approval",
    "HIL3_SUPERVISED": "the model acted alone while a named human watched and could stop it",
    "HIL4_POST_REVIEW": "the model acted alone; a human reviewed the output before use",
    "HIL5_AUTONOMOUS": "no human supervision or review before use",
}


def _human_involvement(model: DossierModel, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    story: list[Flowable] = [
        PageBreak(),
        Paragraph("Human involvement", styles["h1"]),
        Paragraph(
            f"Most automated level relied on: <b>{escape(model.most_automated or 'none recorded')}</b> "
            "(the most automated level among the disclosed exhibits and the decoy messages in them).",
            styles["body"],
        ),
        Spacer(1, 4),
        _hil_chart(model.messages_by_hil),
    ]
    rows: list[list[Any]] = [["Level", "Meaning", "Exhibits", "Decoy messages"]]
    for level in HIL:
        rows.append(
            [
                level.value,
                Paragraph(escape(_HIL_MEANING[level.value]), styles["cell"]),
                str(model.exhibits_by_hil.get(level.value, 0)),
                str(model.messages_by_hil.get(level.value, 0)),
            ]
        )
    story.extend(_table(rows, [34 * mm, CONTENT_WIDTH - 84 * mm, 20 * mm, 30 * mm]))
    story.append(Paragraph("Configured against observed, per run", styles["h2"]))
    if not model.runs:
        story.append(Paragraph("No run is recorded in this bundle.", styles["muted"]))
        return story
    runs: list[list[Any]] = [["Run", "Tool", "Configured", "Observed", "Supervisor", "Agrees"]]
    for run in model.runs:
        runs.append(
            [
                run.run_id,
                run.tool,
                run.configured or "",
                run.observed or "no records",
                run.supervisor or "",
                "NO" if run.mismatch else "yes",
            ]
        )
    story.extend(_table(runs, [34 * mm, 34 * mm, 32 * mm, 32 * mm, 22 * mm, CONTENT_WIDTH - 154 * mm]))
    story.append(
        Paragraph(
            "Observed is the most automated level among the run's records and messages; a run whose "
            "records are more automated than it was configured for is a warning on the cover.",
            styles["muted"],
        )
    )
    return story


_STATUS = {"answered": "ANSWERED", "proposed": "PROPOSED", "open": "OPEN"}


def _questionnaire(model: DossierModel, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    story: list[Flowable] = [PageBreak(), Paragraph("Admissibility questionnaire", styles["h1"])]
    if not model.questionnaires:
        story.append(
            Paragraph(
                f"No questionnaire was evaluated for this bundle (jurisdictions: "
                f"{escape(', '.join(model.case.jurisdictions) or 'none')}). No question is answered here.",
                styles["body"],
            )
        )
        return story
    story.append(
        Paragraph(
            "Each question with its status: ANSWERED (computed from the records, or answered and signed "
            "by a named human), PROPOSED (the tool proposes an answer from its analysis; a human must "
            "confirm it) or OPEN.",
            styles["muted"],
        )
    )
    for questionnaire in model.questionnaires:
        story.extend(_question_set(questionnaire, styles))
    return story


def _question_set(questionnaire: QuestionnaireView, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    story: list[Flowable] = [
        Paragraph(
            f"{_t(questionnaire.jurisdiction)}: {_t(questionnaire.title)}: {questionnaire.answered} of "
            f"{questionnaire.total} answered",
            styles["h2"],
        )
    ]
    rows: list[list[Any]] = [["ID", "Question", "Status", "Answer and evidence"]]
    status_rows: list[tuple[int, str]] = []
    for question in questionnaire.questions:
        evidence = []
        if question.evidence_exhibits:
            evidence.append("exhibits " + ", ".join(question.evidence_exhibits))
        if question.evidence_entries:
            evidence.append("entries " + ", ".join(question.evidence_entries))
        by = ""
        if question.answered_by:
            by = f"answered by {question.answered_by}" + (
                f" at {_when(question.answered_at)}" if question.answered_at else ""
            )
            if question.entry is not None:
                by += f", signed in ledger entry {question.entry}"
        answer = [Paragraph(_t(question.answer or "(no answer)"), styles["cell"])]
        answer += [Paragraph(_t(f"Note: {warning}"), styles["muted"]) for warning in question.warnings]
        details = "; ".join(x for x in (*evidence, by, question.mode and f"mode {question.mode}") if x)
        if details:
            answer.append(Paragraph(_t(details), styles["muted"]))
        question_cell = [Paragraph(_t(question.text), styles["cell"])]
        if question.rules:
            question_cell.append(Paragraph(_t(", ".join(question.rules)), styles["muted"]))
        status_rows.append((len(rows), question.status))
        rows.append(
            [question.id, question_cell, _STATUS.get(question.status, question.status.upper()), answer]
        )
    widths = [15 * mm, 62 * mm, 19 * mm, CONTENT_WIDTH - 96 * mm]
    fills = {
        "answered": colors.HexColor("#e3f1e3"),
        "proposed": colors.HexColor("#fbf1d9"),
        "open": colors.HexColor("#f7dede"),
    }
    for start in range(1, len(rows), ROWS_PER_TABLE):
        chunk = rows[start : start + ROWS_PER_TABLE]
        style = [
            ("FONT", (0, 0), (-1, -1), FONT, 7.5),
            ("FONT", (0, 0), (-1, 0), BOLD, 7.5),
            ("FONT", (2, 1), (2, -1), BOLD, 7),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, INK),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ]
        for row, status in status_rows:
            if start <= row < start + ROWS_PER_TABLE and status in fills:
                style.append(("BACKGROUND", (2, row - start + 1), (2, row - start + 1), fills[status]))
        story.append(Table([rows[0], *chunk], colWidths=widths, repeatRows=1, style=style))
    return story


def _conduct(model: DossierModel, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    story: list[Flowable] = [
        PageBreak(),
        Paragraph("Conduct indicators", styles["h1"]),
        Paragraph(
            "ASSISTED ANALYSIS: machine output from keyword matching; a named human must confirm each "
            "finding before it is relied on",
            styles["banner"],
        ),
        Paragraph(
            "Who first raised payment, sexual services or age in each conversation, how often each side "
            "mentioned them, and how persistent the decoy was: turns it opened, re-engagements after "
            "silence or refusal, and operator takeovers. The method and its term lists are signed into "
            "each analysis exhibit.",
            styles["muted"],
        ),
        Spacer(1, 4),
    ]
    if not model.conduct:
        story.append(Paragraph("No conduct analysis is disclosed in this bundle.", styles["body"]))
        return story
    rows: list[list[Any]] = [
        [
            "Conversation",
            "Topic",
            "First raised by",
            "Mentions:\ndecoy, counterpart",
            "Persistence of the decoy",
        ]
    ]
    for view in model.conduct:
        persistence = (
            f"turns the decoy opened: {view.bot_initiated_turns}\n"
            f"re-engaged after silence: {view.reengagements_after_silence}\n"
            f"after refusal: {view.reengagements_after_refusal}\n"
            f"operator takeovers: {view.operator_takeovers}"
        )
        label = (
            f"exhibit {view.transcript_exhibit or '?'}\n{_clip(view.conversation_id, 18)}\n"
            f"(analysis: exhibit {view.exhibit})"
        )
        for index, mention in enumerate(view.mentions):
            first = (
                f"{mention.speaker} (message {mention.seq}: “{_clip(_visual(mention.matched or ''), 24)}”)"
                if mention.speaker
                else "nobody"
            )
            rows.append(
                [
                    label if index == 0 else "",
                    mention.topic,
                    first,
                    f"{mention.count_decoy}, {mention.count_counterpart}",
                    persistence if index == 0 else "",
                ]
            )
    story.extend(_table(rows, [30 * mm, 14 * mm, 58 * mm, 24 * mm, CONTENT_WIDTH - 126 * mm]))
    return story


def _withheld(model: DossierModel, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    story: list[Flowable] = [
        PageBreak(),
        Paragraph("Schedule of withheld material", styles["h1"]),
        Paragraph(
            "Material recorded in the case but not shown in this bundle, and why. A withheld artifact's "
            "ledger entries appear in the bundle as their leaf hashes, so the signed Merkle root still "
            "proves they exist at their place in the log; a redacted conversation keeps the salted "
            "commitment of every withheld line.",
            styles["muted"],
        ),
        Spacer(1, 4),
    ]
    if not model.withheld:
        story.append(Paragraph("Nothing is withheld from this bundle.", styles["body"]))
        return story
    rows: list[list[Any]] = [["Exhibit", "What", "SHA-256", "Reason"]]
    for item in model.withheld:
        rows.append(
            [
                str(item.exhibit or ""),
                Paragraph(_t(f"{item.what}: {item.detail}"), styles["cell"]),
                Paragraph(f"{item.sha256[:32]}<br/>{item.sha256[32:]}", styles["mono"]),
                Paragraph(_t(item.reason), styles["cell"]),
            ]
        )
    story.extend(_table(rows, [14 * mm, 50 * mm, 52 * mm, CONTENT_WIDTH - 116 * mm]))
    return story


def _certificate(model: DossierModel, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    case, bundle = model.case, model.bundle
    custodian = model.custodian or "the custodian"
    role = next((k.role for k in model.keys if k.name == custodian), "custodian")
    disclosed = sum(1 for e in model.exhibits if e.withheld is None)
    body = ParagraphStyle("certificate", parent=styles["body"], fontSize=9, leading=12.5, spaceAfter=6)
    paragraphs = [
        f"I, <b>{_t(custodian)}</b> ({escape(role)}), certify that:",
        f"1. I am the custodian of the records of case {_t(case.case_id)} ({_t(case.title)}) as recorded "
        f"in its signed custody ledger, and I am qualified to make this certificate by my knowledge of "
        f"how those records are made and kept.",
        f"2. The {disclosed} exhibits disclosed in bundle {_t(bundle.top)} are records of an electronic "
        "process or system (the tools named on each provenance sheet), recorded at or near the time of "
        "capture or generation by that process, each with its SHA-256 digest, in the regular course of "
        "this investigation.",
        f"3. Each exhibit's SHA-256 digest was recorded in a signed ledger entry when the exhibit was "
        f"recorded. The {bundle.entries} ledger entries form a Merkle tree whose root "
        f"<font name='{MONO}'>{bundle.checkpoint_root}</font> is signed by the log key; the bundle's "
        f"bytes are identified by the fingerprint <font name='{MONO}'>{bundle.fingerprint}</font>. "
        "Anyone can check that the exhibits are identical to what was recorded (see How to verify).",
        "4. The process that produced each exhibit, its tool, build, model and configuration, and the "
        "level of human involvement are as stated on the provenance sheets and in the signed records.",
        "5. Material withheld from the bundle is listed in the schedule of withheld material with the "
        "reason, and its existence is proven by the signed ledger.",
        "This certificate is generated from the signed records (in the manner of Federal Rules of "
        "Evidence 902(13) and 902(14)) and has effect only when signed by the custodian named above. "
        "The adverse party is given notice and access to the bundle in advance.",
    ]
    story: list[Flowable] = [PageBreak(), Paragraph("Certificate of authenticity", styles["h1"])]
    story.extend(Paragraph(text, body) for text in paragraphs)
    story.append(Spacer(1, 24))
    # The custodian's signature block. A PAdES signature (custody.pdfsign) covers the whole
    # document; this block is where the signer's name, date and a wet or digital signature go.
    sign_rows = [
        ["Signature", ""],
        ["Name", custodian],
        ["Role", role],
        ["Date", ""],
        ["Place", ""],
    ]
    story.append(
        Table(
            sign_rows,
            colWidths=[30 * mm, 100 * mm],
            rowHeights=[24, 16, 16, 16, 16],
            style=[
                ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                ("FONT", (0, 0), (0, -1), BOLD, 8.5),
                ("LINEBELOW", (1, 0), (1, -1), 0.6, INK),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ],
        )
    )
    return story


def _appendix_keys(model: DossierModel, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    story: list[Flowable] = [
        PageBreak(),
        Paragraph("Appendix: keys and fingerprints", styles["h1"]),
        Paragraph(
            "Every key the ledger introduces, with its role and the entry that introduced it; the public "
            "keys are in data/keys/ as PEM. A fingerprint is the first 16 hex digits of the key id "
            "(SHA-256 of the raw public key).",
            styles["muted"],
        ),
        Spacer(1, 4),
    ]
    rows: list[list[Any]] = [["Name", "Role", "Fingerprint", "Key id (SHA-256 of the public key)", "Entries"]]
    for key in model.keys:
        entries = f"added {key.introduced_at}" + (
            f", revoked {key.revoked_at}" if key.revoked_at is not None else ""
        )
        rows.append(
            [
                key.name,
                key.role,
                key.fingerprint,
                Paragraph(f"{key.key_id[:32]}<br/>{key.key_id[32:]}", styles["mono"]),
                entries,
            ]
        )
    log = model.bundle.log_key
    if log is not None:
        rows.append(
            [
                "log key",
                "signs checkpoints",
                log.fingerprint,
                Paragraph(f"{log.key_id[:32]}<br/>{log.key_id[32:]}", styles["mono"]),
                "case.opened",
            ]
        )
    story.extend(
        _table(rows, [22 * mm, 24 * mm, 30 * mm, 58 * mm, CONTENT_WIDTH - 134 * mm], mono_columns=[2])
    )
    exporter = model.bundle.exporter
    if exporter is not None:
        story.append(
            Paragraph(
                f"The tag manifest is signed by {escape(exporter.name)} ({escape(exporter.role)}, "
                f"fingerprint {exporter.fingerprint}). The checkpoint origin is "
                f"<font name='{MONO}'>{escape(model.bundle.checkpoint_origin)}</font>.",
                styles["small"],
            )
        )
    return story


def render_dossier(model: DossierModel) -> bytes:
    """The dossier as PDF bytes (deterministic for a given model)."""
    _register_fonts()
    # Charts start every drawing in the graphics default font (Helvetica, not embedded): every
    # string here names its font, but the initial state must too; restored afterwards.
    default_font = shapes.STATE_DEFAULTS["fontName"]
    shapes.STATE_DEFAULTS["fontName"] = FONT
    try:
        return _render(model)
    finally:
        shapes.STATE_DEFAULTS["fontName"] = default_font


def _render(model: DossierModel) -> bytes:
    styles = _styles()
    out = io.BytesIO()
    doc = _DossierDoc(out, model)
    story: list[Flowable] = [NextPageTemplate("body")]
    story += _cover(model, styles)
    story += [PageBreak(), *_how_to_verify(model, styles)]
    story += [PageBreak(), *_exhibit_index(model, styles)]
    story += [PageBreak(), *_provenance_sheets(model, styles)]
    story += _transcripts(model, styles)
    story += _timeline(model, styles)
    story += _human_involvement(model, styles)
    story += _questionnaire(model, styles)
    story += _conduct(model, styles)
    story += _withheld(model, styles)
    story += _certificate(model, styles)
    story += _appendix_keys(model, styles)
    story.append(_TotalPages())
    doc.build(story)
    return out.getvalue()
