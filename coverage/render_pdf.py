"""Blocks -> PDF: fonts, page template, header on every page, watermark, signature box.

One place decides the look: US letter, black on white, Noto Sans embedded, 10.5 pt body.
Every page carries the patient, date of birth, member ID and ``Page X of Y`` because fax pages
get separated. Page totals are filled in at save time by a canvas that keeps each page's
drawing until then (one layout pass instead of two). Output is byte-identical for the same
inputs: reportlab runs in invariant mode (fixed dates and document ID).
"""

from __future__ import annotations

import io
import re
from collections import OrderedDict
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    ListFlowable,
    ListItem,
    PageTemplate,
    Spacer,
)
from reportlab.platypus import Paragraph as _ReportlabParagraph
from reportlab.platypus import Table as RLTable
from reportlab.platypus import TableStyle as RLTableStyle
from reportlab.platypus.flowables import HRFlowable
from reportlab.platypus.paragraph import cleanBlockQuotedText

from coverage import document as doc
from coverage.document import WATERMARK_DRAFT as WATERMARK
from coverage.document import Document, Furniture, SignatureText
from coverage.fonts import BOLD, REGULAR, register_fonts
from coverage.renderers import Rendered, SignatureSpot

PAGE_WIDTH, PAGE_HEIGHT = LETTER
MARGIN_X = 0.8 * inch
MARGIN_TOP = 0.9 * inch
MARGIN_BOTTOM = 0.8 * inch
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
SMALL_TABLE_ROWS = 6
LONG_TABLE_START = 2.2 * inch
HEADING_ROOM = 1.1 * inch
CELL_PADDING = 3.5  # left and right, each
LEAD_IN_LINES = 3  # a lead-in this short ending in a colon stays with the first list item
CITATION_GROUP = re.compile(r"\[\d+(?:, \d+)+\]")


@dataclass
class SignaturePlacement:
    """Where the signature box landed: page index (0-based) and box in PDF points."""

    page: int = -1
    box: tuple[float, float, float, float] = (0, 0, 0, 0)


class RLParagraph(_ReportlabParagraph):
    """A paragraph that breaks its lines once per width, or takes them from a Typesetter.

    Platypus asks for a paragraph's size more than once at the same width (keep-with-next
    groups, table rows, page-fit checks), and line breaking is most of the layout time: the
    result for a width is kept. ``wrap`` depends only on the width, the text and the style.
    """

    _line_cache: _Recent | None = None
    _cache_key: tuple[str, str] | None = None

    def wrap(self, availWidth, availHeight):
        if self.__dict__.get("_wrapped_width") == availWidth and "blPara" in self.__dict__:
            return self.width, self.height
        cache = self._line_cache
        if cache is not None:
            hit = cache.get((self._cache_key, availWidth))
            if hit is not None:
                self.blPara, self.height, self._wrapWidths, self.frags = hit
                self.width = self._wrapped_width = availWidth
                return availWidth, self.height
        self.__dict__.pop("blPara", None)  # too narrow a width makes none: keep no stale one
        size = super().wrap(availWidth, availHeight)
        if "blPara" in self.__dict__:
            self._wrapped_width = availWidth
            if cache is not None:
                cache.put((self._cache_key, availWidth),
                          (self.blPara, self.height, self._wrapWidths, self.frags))
        return size

    def split(self, availWidth, availHeight):
        # reportlab's split edits the words of the lines it splits: a shared paragraph is
        # parsed and broken afresh, so that what the Typesetter holds stays as it was made
        if self._line_cache is not None:
            self._line_cache = None
            for name in ("blPara", "_wrapped_width"):
                self.__dict__.pop(name, None)
            self._setup(self.text, self.style, self.bulletText, None, cleanBlockQuotedText)
            self.wrap(availWidth, availHeight)
        return super().split(availWidth, availHeight)


class _Recent:
    """A mapping that keeps only its ``limit`` most recently used entries."""

    def __init__(self, limit: int) -> None:
        self._items: OrderedDict = OrderedDict()
        self._limit = limit

    def get(self, key):
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key, value) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self._limit:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class Typesetter:
    """Paragraph styles, and the parsing and line breaking already done with them.

    The letters of one batch repeat most of their paragraphs word for word (evidence,
    plan, safety and billing tables, references), and parsing the markup and breaking the
    lines is about half of the layout time. A Typesetter does that once per (style, text)
    and width; each letter still gets new paragraph objects. Reportlab only reads what is
    shared, except when it splits a paragraph across pages, which works on a private copy.
    Each cache keeps its ``limit`` most recently used entries, so a worker's memory stays
    flat however long the batch (one letter uses about 200 of each).
    """

    def __init__(self, limit: int = 1_500) -> None:
        self.styles = _styles()
        self._parsed = _Recent(limit)
        self._lines = _Recent(limit)

    def paragraph(self, text: str, style: str = "body") -> RLParagraph:
        """A new paragraph of ``text`` (reportlab markup) in the named style."""
        key = (style, text)
        parsed = self._parsed.get(key)
        if parsed is None:
            fresh = RLParagraph(text, self.styles[style])
            self._parsed.put(key, (fresh.style, fresh.frags, fresh.bulletText))
        else:
            fresh = RLParagraph(text, parsed[0], bulletText=parsed[2], frags=parsed[1])
        fresh._line_cache = self._lines
        fresh._cache_key = key
        return fresh


def _styles() -> dict[str, ParagraphStyle]:
    # no paragraph leaves a single line alone at the top or the foot of a page
    base = ParagraphStyle("body", fontName=REGULAR, fontSize=10, leading=13, spaceAfter=4.5,
                          allowWidows=0, allowOrphans=0)
    return {
        "body": base,
        "date": ParagraphStyle("date", parent=base, spaceBefore=4, spaceAfter=10),
        "small": ParagraphStyle("small", parent=base, fontSize=9, leading=12),
        "quote": ParagraphStyle(
            "quote", parent=base, leftIndent=18, rightIndent=18, fontSize=10, leading=13.5,
            borderColor=colors.black, borderWidth=0, spaceBefore=2, spaceAfter=8,
        ),
        "heading": ParagraphStyle(
            "heading", parent=base, fontName=BOLD, fontSize=11.5, leading=14.5, spaceBefore=8,
            spaceAfter=3, keepWithNext=1,
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.8, leading=11, spaceAfter=0),
        "cell_head": ParagraphStyle(
            "cell_head", parent=base, fontName=BOLD, fontSize=8.8, leading=11, spaceAfter=0
        ),
        "field_label": ParagraphStyle(
            "field_label", parent=base, fontName=BOLD, spaceAfter=0, leading=13.5
        ),
        "field": ParagraphStyle("field", parent=base, spaceAfter=0, leading=13.5),
        "address": ParagraphStyle("address", parent=base, spaceAfter=0, leading=13.5),
        "ref": ParagraphStyle(
            "ref", parent=base, fontSize=8.3, leading=10.2, spaceAfter=1.5, leftIndent=16,
            firstLineIndent=-16, alignment=TA_LEFT,
        ),
        "letterhead": ParagraphStyle(
            "letterhead", parent=base, fontName=BOLD, fontSize=15, leading=18, spaceAfter=1
        ),
        "letterhead_line": ParagraphStyle(
            "letterhead_line", parent=base, fontSize=9, leading=11.5, spaceAfter=0
        ),
    }


class SignatureBox(Flowable):
    """The physician's signature line; records where it was drawn for the signing step."""

    HEIGHT = 0.85 * inch
    WIDTH = 4.2 * inch

    def __init__(self, text: SignatureText, placement: SignaturePlacement, styles) -> None:
        super().__init__()
        self.text = text
        self.placement = placement
        self.styles = styles

    def wrap(self, available_width, available_height):
        return self.WIDTH, self.HEIGHT + 14 * len(self.text.lines)

    def draw(self) -> None:
        canvas = self.canv
        lines_height = 14 * len(self.text.lines)
        box_bottom = lines_height + 4
        x, y = canvas.absolutePosition(0, box_bottom)
        self.placement.page = canvas.getPageNumber() - 1
        self.placement.box = (x, y, x + self.WIDTH, y + self.HEIGHT - 8)
        if self.text.image:
            canvas.drawImage(self.text.image, 0, box_bottom + 2, width=self.WIDTH * 0.55,
                             height=self.HEIGHT - 14, preserveAspectRatio=True, anchor="sw",
                             mask="auto")
        if self.text.signed_lines:
            count = len(self.text.signed_lines)
            x_text = self.WIDTH * 0.58 if self.text.image else 4
            for i, line in enumerate(self.text.signed_lines):
                canvas.setFont(BOLD if i == 0 else REGULAR, 9 if i == 0 else 8.5)
                canvas.drawString(x_text, box_bottom + 6 + 11.5 * (count - 1 - i), line)
        canvas.setLineWidth(0.6)
        canvas.line(0, box_bottom, self.WIDTH, box_bottom)
        canvas.setFont(REGULAR, 10)
        for i, line in enumerate(self.text.lines):
            if i == 0:
                canvas.setFont(BOLD, 10)
            canvas.drawString(0, lines_height - 12 - 14 * i, line)
            canvas.setFont(REGULAR, 10)


def markup(text: doc.Text) -> str:
    """Inline runs -> reportlab paragraph markup (escaped text, <b>, <i>, <br/>)."""
    out: list[str] = []
    for part in text:
        if isinstance(part, doc.LineBreak):
            out.append("<br/>")
            continue
        # a citation group "[4, 5]" never breaks: "5]" alone on a line reads as a stray
        piece = CITATION_GROUP.sub(lambda m: m.group(0).replace(", ", ",\u00a0"),
                                   escape(part.text))
        if part.italic:
            piece = f"<i>{piece}</i>"
        if part.bold:
            piece = f"<b>{piece}</b>"
        out.append(piece)
    return "".join(out)


def _make_canvas_class(furniture: Furniture):
    """A canvas that stamps 'Page X of Y' on every page when the total is known."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._page_states: list[dict] = []
            if furniture.created is not None:
                # the letter's own date, not the clock's (output stays byte-identical) nor
                # reportlab's invariant 2000-01-01; a date alone, no invented time of day
                stamp = furniture.created.strftime("D:%Y%m%d")
                self.setDateFormatter(lambda *_: stamp)

        def showPage(self) -> None:
            self._page_states.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._page_states)
            for number, state in enumerate(self._page_states, start=1):
                self.__dict__.update(state)
                self.setFont(BOLD, 8.5)
                self.drawRightString(
                    PAGE_WIDTH - MARGIN_X, PAGE_HEIGHT - 0.5 * inch, f"Page {number} of {total}"
                )
                super().showPage()
            super().save()

    return NumberedCanvas


def _draw_page(furniture: Furniture):
    def on_page(canvas: Canvas, document) -> None:
        canvas.saveState()
        if furniture.draft:
            canvas.setFillColor(colors.Color(0.82, 0.82, 0.82))
            canvas.setFont(BOLD, 54)
            canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
            canvas.rotate(40)
            canvas.drawCentredString(0, -18, WATERMARK)
            canvas.rotate(-40)
            canvas.translate(-PAGE_WIDTH / 2, -PAGE_HEIGHT / 2)
        canvas.setFillColor(colors.black)
        canvas.setFont(REGULAR, 8.5)
        canvas.drawString(MARGIN_X, PAGE_HEIGHT - 0.5 * inch, furniture.header)
        canvas.setLineWidth(0.5)
        y_rule = PAGE_HEIGHT - 0.58 * inch
        canvas.line(MARGIN_X, y_rule, PAGE_WIDTH - MARGIN_X, y_rule)
        canvas.setFont(REGULAR, 7.5)
        canvas.line(MARGIN_X, 0.62 * inch, PAGE_WIDTH - MARGIN_X, 0.62 * inch)
        canvas.drawString(MARGIN_X, 0.48 * inch, furniture.footer)
        canvas.drawRightString(
            PAGE_WIDTH - MARGIN_X, 0.48 * inch, furniture.confidential
        )
        canvas.restoreState()

    return on_page


def _column_widths(block: doc.Table) -> list[float] | None:
    """The table's relative widths on the page, widened where a column's longest word would
    not fit (reportlab would break that word inside the cell), taken from columns with room."""
    total = sum(block.widths) or 1.0
    widths = [CONTENT_WIDTH * w / total for w in block.widths]
    if not widths:
        return None
    size = 8.8  # the cell styles' font size; words measured bold, the wider face
    need = [0.0] * len(widths)
    for row in block.rows:
        for column, cell in enumerate(row[: len(widths)]):
            for word in doc.plain(cell).split():
                wide = stringWidth(word, BOLD, size) + 2 * CELL_PADDING + 1
                need[column] = max(need[column], wide)
    short = sum(max(n - w, 0) for n, w in zip(need, widths, strict=True))
    if short <= 0:
        return widths
    room = [max(w - n, 0) for n, w in zip(need, widths, strict=True)]
    spare = sum(room)
    if spare < short:  # cannot fit every word: keep the table as designed
        return widths
    return [max(n, w) if n > w else w - short * r / spare
            for n, w, r in zip(need, widths, room, strict=True)]


def _table(block: doc.Table, ts: Typesetter) -> RLTable:
    widths = _column_widths(block)
    rows = []
    for index, row in enumerate(block.rows):
        style = "cell_head" if index < block.header_rows else "cell"
        rows.append([ts.paragraph(markup(cell), style) for cell in row])
    table = RLTable(rows, colWidths=widths, repeatRows=block.header_rows, hAlign="LEFT")
    table.setStyle(
        RLTableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), REGULAR),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                ("LINEBELOW", (0, 0), (-1, block.header_rows - 1), 1.0, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    table.spaceAfter = 7
    return table


def _ends_with_colon(paragraph: RLParagraph) -> bool:
    return re.sub(r"<[^>]+>", "", paragraph.text).rstrip().endswith(":")


def _keep_lead_in_with_first_item(story: list[Flowable], block: doc.Bullets,
                                  ts: Typesetter) -> None:
    """A short lead-in ending in a colon ("The published studies:") never ends a page: room
    for it and the list's first item is asked for before it."""
    lead_in = story[-1] if story and isinstance(story[-1], RLParagraph) else None
    if lead_in is None or not block.items or not _ends_with_colon(lead_in):
        return
    lead_height = lead_in.wrap(CONTENT_WIDTH, PAGE_HEIGHT)[1]
    if lead_height > LEAD_IN_LINES * lead_in.style.leading:
        return
    first = ts.paragraph(markup(block.items[0])).wrap(CONTENT_WIDTH - 14, PAGE_HEIGHT)[1]
    story.insert(len(story) - 1, CondPageBreak(lead_height + lead_in.style.spaceAfter + first))


def build_flowables(
    blocks: list[doc.Block],
    furniture: Furniture,
    signature: SignatureText,
    placement: SignaturePlacement,
    typesetter: Typesetter | None = None,
) -> list[Flowable]:
    """Map document blocks to Platypus flowables (the layout decisions live here).

    Pass the same ``typesetter`` for the letters of a batch; without one, each call
    starts afresh (a single letter gains nothing from sharing).
    """
    ts = typesetter or Typesetter()
    styles = ts.styles
    story: list[Flowable] = [ts.paragraph(escape(furniture.letterhead_name), "letterhead")]
    story += [ts.paragraph(escape(line), "letterhead_line")
              for line in furniture.letterhead_lines]
    story.append(HRFlowable(width="100%", thickness=1.2, color=colors.black, spaceBefore=5,
                            spaceAfter=10))
    for block in blocks:
        if isinstance(block, doc.Heading):
            # never start a section in the last lines of a page: keepWithNext cannot hold a
            # heading to a list or a kept-together table, so leave room for some of it
            story.append(CondPageBreak(HEADING_ROOM))
            story.append(ts.paragraph(escape(block.text), "heading"))
        elif isinstance(block, doc.Paragraph):
            style = block.style if block.style in styles else "body"
            story.append(ts.paragraph(markup(block.text), style))
        elif isinstance(block, doc.Bullets):
            items = [ListItem(ts.paragraph(markup(i)), leftIndent=14) for i in block.items]
            _keep_lead_in_with_first_item(story, block, ts)
            story.append(ListFlowable(items, bulletType="bullet", start="•", leftIndent=14,
                                      bulletFontName=REGULAR, bulletFontSize=9))
        elif isinstance(block, doc.Table):
            table = _table(block, ts)
            lead_in = story[-1] if story and isinstance(story[-1], RLParagraph) else None
            if lead_in is None or not _ends_with_colon(lead_in):
                story.append(table)
                continue
            # the table stays with its lead-in, and with the section heading above it
            # (reportlab's keepWithNext cannot reach into a KeepTogether)
            group = [story.pop()]
            if story and getattr(getattr(story[-1], "style", None), "name", None) == "heading":
                group.insert(0, story.pop())
            if len(block.rows) <= SMALL_TABLE_ROWS:
                story.append(KeepTogether([*group, table]))
            else:  # a long table may split, but starts only where a few rows fit below
                story += [CondPageBreak(LONG_TABLE_START), *group, table]
        elif isinstance(block, doc.Fields):
            rows = [[ts.paragraph(escape(label), "field_label"),
                     ts.paragraph(markup(value), "field")] for label, value in block.pairs]
            table = RLTable(rows, colWidths=[1.25 * inch, CONTENT_WIDTH - 1.25 * inch],
                            hAlign="LEFT")
            table.setStyle(RLTableStyle([
                ("FONTNAME", (0, 0), (-1, -1), REGULAR),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5),
            ]))
            table.spaceAfter = 12
            story.append(table)
        elif isinstance(block, doc.Address):
            story += [ts.paragraph(markup(line), "address") for line in block.lines]
            story.append(Spacer(1, 12))
        elif isinstance(block, doc.Signature):
            # the signature shares its page with the attestation it signs
            box = SignatureBox(signature, placement, styles)
            attestation = story.pop() if story and isinstance(story[-1], RLParagraph) else None
            kept = [attestation, Spacer(1, 6), box] if attestation else [Spacer(1, 6), box]
            # ... and its section heading, which keepWithNext cannot hold to a KeepTogether
            if story and getattr(getattr(story[-1], "style", None), "name", None) == "heading":
                kept.insert(0, story.pop())
            story.append(KeepTogether(kept))
            story.append(Spacer(1, 8))
        elif isinstance(block, doc.References):
            story += [ts.paragraph(f"{escape(number)}.&nbsp;&nbsp;{markup(text)}", "ref")
                      for number, text in block.items]
    return story


def layout(story: list[Flowable], furniture: Furniture) -> tuple[bytes, int]:
    """Lay out flowables on the letter's page template; returns the PDF and its page count."""
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=furniture.title,
        author=furniture.author,
        subject=furniture.subject,
        keywords=furniture.keywords,
        creator="ketamine-letters",
        invariant=1,
        initialFontName=REGULAR,  # else the canvas starts in (unembedded) Helvetica
    )
    frame = Frame(MARGIN_X, MARGIN_BOTTOM, CONTENT_WIDTH, PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="body")
    document.addPageTemplates([PageTemplate("letter", [frame], onPage=_draw_page(furniture))])
    document.build(story, canvasmaker=_make_canvas_class(furniture))
    return buffer.getvalue(), document.page


def new_state() -> Typesetter:
    """What the letters of one process share: parsed paragraphs and their line breaks."""
    return Typesetter()


def render(document: Document, state: Typesetter | None = None) -> Rendered:
    """The document as a PDF, with where the signature box landed (for signing)."""
    register_fonts()
    placement = SignaturePlacement()
    story = build_flowables(list(document.blocks), document.furniture, document.signature,
                            placement, state)
    pdf, pages = layout(story, document.furniture)
    spot = SignatureSpot(placement.page, placement.box) if placement.page >= 0 else None
    return Rendered(pdf, pages, spot)
