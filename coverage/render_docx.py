"""Blocks -> Word (.docx): the editable draft of a letter, for the office to correct.

A DOCX cannot carry the physician's digital signature, so it is always a draft: the
watermark "DRAFT - EDITABLE COPY, NOT SIGNED" is on every page and the document properties
say so. Otherwise it follows the PDF: the same blocks in the same order, US Letter with the
same margins, Noto Sans (embedded, so names such as ``Nguyễn Thị Đoàn`` print as written on
any machine), tables with a grid and their header rows repeated on every page, a real
bulleted list, and the patient line with ``Page X of Y`` at the top of every page because fax
pages get separated.

The body is written as WordprocessingML text (the fixed parts are in ``docx_parts``): that
keeps the output byte-identical for the same document and takes a few milliseconds a letter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from xml.sax.saxutils import escape

from coverage import document as doc
from coverage import docx_parts as parts
from coverage.document import Document, Furniture, SignatureText
from coverage.docx_parts import CONTENT_WIDTH, FACES, NS, Packed, clean, pack
from coverage.renderers import Rendered

PAGE = ('<w:pgSz w:w="12240" w:h="15840"/><w:pgMar w:top="1296" w:right="1152" '
        'w:bottom="1152" w:left="1152" w:header="518" w:footer="576" w:gutter="0"/>')
STYLES = {"body": None, "date": "Date", "small": "Small", "quote": "Quote"}
SMALL_TABLE_ROWS = 6  # kept on one page with its lead-in, as in the PDF
SIGNATURE_WIDTH = 6048  # twips: the PDF's 4.2 in signature line
FIELD_LABEL_WIDTH = 1800  # twips: the PDF's 1.25 in label column
GRID = "".join(f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
               for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
NO_BORDERS = "".join(f'<w:{side} w:val="nil"/>'
                     for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
_SPLIT = re.compile(r"([\t\n])")


def _text(text: str) -> str:
    """Run content: text, with tabs and newlines as Word's own elements."""
    text = clean(text)
    if "\t" not in text and "\n" not in text:
        return f'<w:t xml:space="preserve">{escape(text)}</w:t>'
    out = []
    for piece in _SPLIT.split(text):
        if piece == "\t":
            out.append("<w:tab/>")
        elif piece == "\n":
            out.append("<w:br/>")
        elif piece:
            out.append(f'<w:t xml:space="preserve">{escape(piece)}</w:t>')
    return "".join(out)


def _ppr(style: str | None = None, *, keep: bool = False, border: str = "",
         spacing: str = "", ind: str = "", numbered: bool = False) -> str:
    """Paragraph properties, in the element order the schema requires."""
    inner = (
        (f'<w:pStyle w:val="{style}"/>' if style else "")
        + ("<w:keepNext/>" if keep else "")
        + ('<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>' if numbered else "")
        + (f"<w:pBdr>{border}</w:pBdr>" if border else "")
        + spacing + ind
    )
    return f"<w:pPr>{inner}</w:pPr>" if inner else ""


def _rule(side: str, eighths: int, space: int) -> str:
    return f'<w:{side} w:val="single" w:sz="{eighths}" w:space="{space}" w:color="000000"/>'


class _Body:
    """The body of one letter as WordprocessingML, and which font faces it uses."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.faces = {"embedRegular", "embedBold"}  # letterhead, headings and header are bold

    def runs(self, text: doc.Text, bold: bool = False) -> str:
        out = []
        for part in text:
            if isinstance(part, doc.LineBreak):
                out.append("<w:r><w:br/></w:r>")
                continue
            strong, italic = part.bold or bold, part.italic
            if italic:
                self.faces.add("embedBoldItalic" if strong else "embedItalic")
            rpr = ("<w:b/><w:bCs/>" if strong else "") + ("<w:i/><w:iCs/>" if italic else "")
            out.append(f"<w:r><w:rPr>{rpr}</w:rPr>{_text(part.text)}</w:r>" if rpr
                       else f"<w:r>{_text(part.text)}</w:r>")
        return "".join(out)

    def paragraph(self, runs: str, **ppr) -> None:
        self.out.append(f"<w:p>{_ppr(**ppr)}{runs}</w:p>")

    def spacer(self, points: float) -> None:
        """An empty paragraph of a fixed height: the space after a table, which also keeps
        two tables from merging into one."""
        height = round(points * 20)
        self.paragraph("", style="Plain", spacing=f'<w:spacing w:after="0" w:line="{height}" '
                       'w:lineRule="exact"/>')

    def letterhead(self, furniture: Furniture) -> None:
        lines = furniture.letterhead_lines
        rule = _rule("bottom", 10, 4)
        self.paragraph(self.runs((doc.Run(furniture.letterhead_name),)), style="Letterhead",
                       border="" if lines else rule)
        for index, line in enumerate(lines):
            last = index == len(lines) - 1
            self.paragraph(self.runs((doc.Run(line),)), style="LetterheadLine",
                           border=rule if last else "",
                           spacing='<w:spacing w:after="200"/>' if last else "")

    def table(self, block: doc.Table) -> None:
        rows = block.rows
        columns = max((len(row) for row in rows), default=0)
        if not columns:
            return
        widths = _twips(block.widths if len(block.widths) == columns else (1.0,) * columns)
        kept = len(rows) <= SMALL_TABLE_ROWS
        out = [f'<w:tbl><w:tblPr><w:tblW w:w="{CONTENT_WIDTH}" w:type="dxa"/>'
               f'<w:tblBorders>{GRID}</w:tblBorders><w:tblLayout w:type="fixed"/>'
               '<w:tblCellMar><w:top w:w="50" w:type="dxa"/><w:left w:w="70" w:type="dxa"/>'
               '<w:bottom w:w="60" w:type="dxa"/><w:right w:w="70" w:type="dxa"/>'
               '</w:tblCellMar></w:tblPr><w:tblGrid>'
               + "".join(f'<w:gridCol w:w="{w}"/>' for w in widths) + "</w:tblGrid>"]
        for index, row in enumerate(rows):
            head = index < block.header_rows
            out.append("<w:tr><w:trPr><w:cantSplit/>"
                       + ("<w:tblHeader/>" if head else "") + "</w:trPr>")
            under_head = index == block.header_rows - 1
            keep = kept and index < len(rows) - 1  # Word's way to keep a table together
            for width, cell in zip(widths, (*row, *((),) * (columns - len(row))), strict=True):
                borders = (f"<w:tcBorders>{_rule('bottom', 8, 0)}</w:tcBorders>"
                           if under_head else "")
                out.append(f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{borders}'
                           f'</w:tcPr><w:p>{_ppr("TableText", keep=keep)}'
                           f"{self.runs(cell, bold=head)}</w:p></w:tc>")
            out.append("</w:tr>")
        self.out.append("".join(out) + "</w:tbl>")
        self.spacer(7)

    def fields(self, block: doc.Fields) -> None:
        """Label/value lines as the PDF sets them: a borderless two-column table."""
        value_width = CONTENT_WIDTH - FIELD_LABEL_WIDTH
        out = [f'<w:tbl><w:tblPr><w:tblW w:w="{CONTENT_WIDTH}" w:type="dxa"/>'
               f'<w:tblBorders>{NO_BORDERS}</w:tblBorders><w:tblLayout w:type="fixed"/>'
               '<w:tblCellMar><w:top w:w="10" w:type="dxa"/><w:left w:w="0" w:type="dxa"/>'
               '<w:bottom w:w="10" w:type="dxa"/><w:right w:w="80" w:type="dxa"/>'
               f'</w:tblCellMar></w:tblPr><w:tblGrid><w:gridCol w:w="{FIELD_LABEL_WIDTH}"/>'
               f'<w:gridCol w:w="{value_width}"/></w:tblGrid>']
        for label, value in block.pairs:
            out.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>")
            for width, runs in ((FIELD_LABEL_WIDTH, self.runs((doc.Run(label),), bold=True)),
                                (value_width, self.runs(value))):
                out.append(f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr>'
                           f'<w:p>{_ppr("Plain")}{runs}</w:p></w:tc>')
            out.append("</w:tr>")
        if block.pairs:
            self.out.append("".join(out) + "</w:tbl>")
            self.spacer(12)

    def signature(self, text: SignatureText) -> None:
        """A blank line to sign on, the physician's name lines under it; never signed."""
        self.paragraph("", style="Plain", keep=True, border=_rule("bottom", 5, 1),
                       spacing='<w:spacing w:before="840" w:after="40"/>',
                       ind=f'<w:ind w:right="{CONTENT_WIDTH - SIGNATURE_WIDTH}"/>')
        for index, line in enumerate(text.lines):
            last = index == len(text.lines) - 1
            self.paragraph(self.runs((doc.Run(line, bold=index == 0),)), style="Plain",
                           keep=not last,
                           spacing='<w:spacing w:after="200"/>' if last else "")

    def block(self, block: doc.Block, following: doc.Block | None, signature: SignatureText
              ) -> None:
        if isinstance(block, doc.Heading):
            self.paragraph(self.runs((doc.Run(block.text),)), style="Heading1")
        elif isinstance(block, doc.Paragraph):
            # a table stays with the line that leads into it, an attestation with its signature
            lead_in = (isinstance(following, doc.Table)
                       and doc.plain(block.text).rstrip().endswith(":"))
            self.paragraph(self.runs(block.text), style=STYLES.get(block.style),
                           keep=lead_in or isinstance(following, doc.Signature))
        elif isinstance(block, doc.Bullets):
            for item in block.items:
                self.paragraph(self.runs(item), style="ListBullet", numbered=True)
        elif isinstance(block, doc.Table):
            self.table(block)
        elif isinstance(block, doc.Fields):
            self.fields(block)
        elif isinstance(block, doc.Address):
            for index, line in enumerate(block.lines):
                last = index == len(block.lines) - 1
                self.paragraph(self.runs(line), style="Plain",
                               spacing='<w:spacing w:after="240"/>' if last else "")
        elif isinstance(block, doc.Signature):
            self.signature(signature)
        elif isinstance(block, doc.References):
            for number, text in block.items:
                self.paragraph(f"<w:r>{_text(f'{number}.')}<w:tab/></w:r>{self.runs(text)}",
                               style="Reference")

    def letter(self, document: Document) -> str:
        """The whole ``word/document.xml``."""
        self.letterhead(document.furniture)
        blocks = document.blocks
        for index, block in enumerate(blocks):
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            self.block(block, following, document.signature)
        section = ('<w:sectPr><w:headerReference w:type="default" r:id="rIdHeader"/>'
                   f'<w:footerReference w:type="default" r:id="rIdFooter"/>{PAGE}</w:sectPr>')
        return (f"{parts.XML_HEAD}<w:document {NS}><w:body>{''.join(self.out)}{section}"
                "</w:body></w:document>")


def _twips(widths: tuple[float, ...]) -> list[int]:
    """Relative column widths -> twips summing exactly to the text width."""
    total = sum(widths) or 1.0
    twips = [int(CONTENT_WIDTH * w / total) for w in widths]
    twips[-1] += CONTENT_WIDTH - sum(twips)
    return twips


class Shared:
    """What every letter of a process has in common, compressed once: the embedded fonts
    (about 1 MB of deflate each time otherwise) and the fixed parts."""

    def __init__(self) -> None:
        self._packed: dict[str, Packed] = {}

    def packed(self, name: str, make: Callable[[], str | bytes]) -> Packed:
        item = self._packed.get(name)
        if item is None:
            data = make()
            item = self._packed[name] = pack(data if isinstance(data, bytes) else _utf8(data))
        return item


def _utf8(xml: str) -> bytes:
    return xml.encode("utf-8", "replace")  # a lone surrogate prints as "?", never a crash


def new_state() -> Shared:
    """The compressed fonts and fixed parts, shared by the letters of one process."""
    return Shared()


def render(document: Document, state: object | None = None) -> Rendered:
    """The document as an editable, unsigned Word draft; the same document, the same bytes."""
    shared = state if isinstance(state, Shared) else Shared()
    body = _Body()
    xml = body.letter(document)
    faces = [face for face in FACES if face in body.faces]  # a fixed order
    fonts = [shared.packed(face, lambda face=face: parts.embedded_font(face).data)
             for face in faces]
    keys = "+".join(faces)
    entries = [
        ("[Content_Types].xml", shared.packed("types", lambda: parts.CONTENT_TYPES)),
        ("_rels/.rels", shared.packed("rels", lambda: parts.PACKAGE_RELS)),
        ("docProps/core.xml", pack(_utf8(parts.core_properties(document.furniture)))),
        ("docProps/app.xml", shared.packed("app", lambda: parts.APP_PROPERTIES)),
        ("word/document.xml", pack(_utf8(xml))),
        ("word/_rels/document.xml.rels", shared.packed("docrels", lambda: parts.DOCUMENT_RELS)),
        ("word/styles.xml", shared.packed("styles", lambda: parts.STYLES)),
        ("word/settings.xml", shared.packed("settings", lambda: parts.SETTINGS)),
        ("word/numbering.xml", shared.packed("numbering", lambda: parts.NUMBERING)),
        ("word/fontTable.xml", shared.packed(f"table:{keys}", lambda: parts.font_table(
            [parts.embedded_font(face) for face in faces]))),
        ("word/_rels/fontTable.xml.rels", shared.packed(f"fontrels:{keys}", lambda: (
            parts.relationships([(f"rIdFont{i}", "font", f"fonts/font{i}.odttf")
                                 for i in range(1, len(faces) + 1)])))),
        ("word/header1.xml", pack(_utf8(parts.header(document.furniture)))),
        ("word/footer1.xml", pack(_utf8(parts.footer(document.furniture)))),
        *((parts.font_part(i), font) for i, font in enumerate(fonts, start=1)),
    ]
    return Rendered(parts.write_zip(entries, document.furniture.created), None, None)
