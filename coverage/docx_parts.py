"""The fixed WordprocessingML parts of a Word letter, the embedded fonts, and the zip writer.

``render_docx`` writes the body; everything around it is here: styles, the bullet numbering,
settings, the page header (patient line, ``Page X of Y`` fields, the watermark as a VML
text path the way Word's Insert > Watermark writes it) and footer, the font table with the
Noto Sans faces embedded and obfuscated (ECMA-376 Part 1, 17.8.1), the document properties,
and a zip writer that gives the same bytes for the same letter (fixed timestamps, a fixed
entry order). The parts are written as text: python-docx has no API for fields, watermarks
or embedded fonts, and its template brings a blank-page thumbnail and styles we would undo.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
import zlib
from dataclasses import dataclass
from datetime import date
from importlib import resources
from xml.sax.saxutils import escape, quoteattr

from coverage.document import WATERMARK_EDITABLE, Furniture

FONT = "Noto Sans"
FACES = {  # w:embed* element -> shipped file
    "embedRegular": "NotoSans-Regular.ttf",
    "embedBold": "NotoSans-Bold.ttf",
    "embedItalic": "NotoSans-Italic.ttf",
    "embedBoldItalic": "NotoSans-BoldItalic.ttf",
}
_NOT_XML = dict.fromkeys([*range(9), 11, 12, *range(13, 32), 0xFFFE, 0xFFFF])
CONTENT_WIDTH = 9936  # twips: US Letter (12240) less two 0.8 in margins
EDITABLE_NOTE = (
    "Editable draft, NOT SIGNED: a Word document cannot carry the physician's digital "
    "signature."
)

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CORE_NS = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
CT_WORD = "application/vnd.openxmlformats-officedocument.wordprocessingml"
OBFUSCATED_FONT = "application/vnd.openxmlformats-officedocument.obfuscatedFont"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
NS = f'xmlns:w="{W}" xmlns:r="{R}"'
VML_NS = (f'{NS} xmlns:v="urn:schemas-microsoft-com:vml" '
          'xmlns:o="urn:schemas-microsoft-com:office:office" '
          'xmlns:w10="urn:schemas-microsoft-com:office:word"')


def clean(text: str) -> str:
    """Text without the control characters XML 1.0 cannot hold (inputs are checked upstream,
    but a stray one must not stop a batch); tabs and newlines stay for the caller."""
    return text.translate(_NOT_XML)


# --- styles and numbering ----------------------------------------------------------------

def _style(style_id: str, name: str, ppr: str = "", rpr: str = "", kind: str = "paragraph",
           based_on: str | None = "Normal") -> str:
    base = f'<w:basedOn w:val="{based_on}"/>' if based_on else ""
    return (f'<w:style w:type="{kind}" w:customStyle="1" w:styleId="{style_id}">'
            f'<w:name w:val="{name}"/>{base}<w:qFormat/>'
            f"<w:pPr>{ppr}</w:pPr><w:rPr>{rpr}</w:rPr></w:style>")


def _after(after: int, before: int = 0) -> str:
    return f'<w:spacing w:before="{before}" w:after="{after}"/>'


STYLES = (
    f"{XML_HEAD}<w:styles {NS}><w:docDefaults><w:rPrDefault><w:rPr>"
    f'<w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:eastAsia="{FONT}" w:cs="{FONT}"/>'
    '<w:sz w:val="20"/><w:szCs w:val="20"/><w:lang w:val="en-US"/></w:rPr></w:rPrDefault>'
    '<w:pPrDefault><w:pPr><w:widowControl/>'
    '<w:spacing w:after="90" w:line="228" w:lineRule="auto"/>'
    "</w:pPr></w:pPrDefault></w:docDefaults>"
    '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/>'
    "<w:qFormat/></w:style>"
    '<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/>'
    '<w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/>'
    '<w:keepLines/><w:spacing w:before="160" w:after="60"/><w:outlineLvl w:val="0"/></w:pPr>'
    '<w:rPr><w:b/><w:bCs/><w:sz w:val="23"/><w:szCs w:val="23"/></w:rPr></w:style>'
    + _style("Letterhead", "Letterhead", _after(20), '<w:b/><w:bCs/><w:sz w:val="30"/>')
    + _style("LetterheadLine", "Letterhead line", _after(0), '<w:sz w:val="18"/>')
    + _style("Date", "Letter date", _after(200, 80))
    + _style("Small", "Small", "", '<w:sz w:val="18"/>')
    + _style("Quote", "Quote", _after(160, 40) + '<w:ind w:left="360" w:right="360"/>')
    + _style("Plain", "Plain (no spacing)", _after(0))
    + _style("TableText", "Table text", _after(0), '<w:sz w:val="17"/><w:szCs w:val="17"/>')
    + _style("ListBullet", "List Bullet",
             '<w:numPr><w:numId w:val="1"/></w:numPr><w:spacing w:after="60"/>'
             '<w:ind w:left="360" w:hanging="220"/>')
    + _style("Reference", "Reference",
             '<w:tabs><w:tab w:val="left" w:pos="320"/></w:tabs>'
             + _after(30) + '<w:ind w:left="320" w:hanging="320"/>',
             '<w:sz w:val="16"/><w:szCs w:val="16"/>')
    + _style("PageHeader", "Page header", '<w:pBdr><w:bottom w:val="single" w:sz="4" w:space="3" '
             'w:color="000000"/></w:pBdr><w:tabs><w:tab w:val="right" '
             f'w:pos="{CONTENT_WIDTH}"/></w:tabs>' + _after(0), '<w:sz w:val="17"/>')
    + _style("PageFooter", "Page footer", '<w:pBdr><w:top w:val="single" w:sz="4" w:space="4" '
             'w:color="000000"/></w:pBdr><w:tabs><w:tab w:val="right" '
             f'w:pos="{CONTENT_WIDTH}"/></w:tabs>' + _after(0), '<w:sz w:val="15"/>')
    + "</w:styles>"
)

NUMBERING = (
    f'{XML_HEAD}<w:numbering {NS}><w:abstractNum w:abstractNumId="0">'
    '<w:multiLevelType w:val="singleLevel"/><w:lvl w:ilvl="0"><w:start w:val="1"/>'
    '<w:numFmt w:val="bullet"/><w:lvlText w:val="\u2022"/><w:lvlJc w:val="left"/>'
    '<w:pPr><w:ind w:left="360" w:hanging="220"/></w:pPr>'
    f'<w:rPr><w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:cs="{FONT}"/></w:rPr></w:lvl>'
    '</w:abstractNum><w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num></w:numbering>'
)

SETTINGS = (
    f'{XML_HEAD}<w:settings {NS}><w:zoom w:percent="100"/><w:embedTrueTypeFonts/>'
    '<w:defaultTabStop w:val="720"/><w:characterSpacingControl w:val="doNotCompress"/>'
    '<w:compat><w:compatSetting w:name="compatibilityMode" '
    'w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat></w:settings>'
)


# --- header, footer, watermark -----------------------------------------------------------

# Word's own shape type for "Insert > Watermark" text (o:spt 136, plain text on a path)
_TEXT_SHAPETYPE = (
    '<v:shapetype id="_x0000_t136" coordsize="21600,21600" o:spt="136" adj="10800" '
    'path="m@7,l@8,m@5,21600l@6,21600e"><v:formulas>'
    + "".join(f'<v:f eqn="{eqn}"/>' for eqn in (
        "sum #0 0 10800", "prod #0 2 1", "sum 21600 0 @1", "sum 0 0 @2", "sum 21600 0 @3",
        "if @0 @3 0", "if @0 21600 @1", "if @0 0 @2", "if @0 @4 21600", "mid @5 @6",
        "mid @8 @5", "mid @7 @8", "mid @6 @7", "sum @6 0 @5"))
    + '</v:formulas><v:path textpathok="t" o:connecttype="custom" '
    'o:connectlocs="@9,0;@10,10800;@11,21600;@12,10800" o:connectangles="270,180,90,0"/>'
    '<v:textpath on="t" fitshape="t"/><v:handles><v:h position="#0,bottomRight" '
    'xrange="6629,14971"/></v:handles><o:lock v:ext="edit" text="t" shapetype="t"/>'
    "</v:shapetype>"
)
# the text is 18.5 em wide in Noto Sans Bold and 1.36 em high (ascent and descent): a box of
# that shape keeps the letters undistorted (LibreOffice recomputes the height the same way);
# 560 pt long, turned 40 degrees like the PDF's, it stays inside the margins
WATERMARK_WIDTH_PT = 560
WATERMARK_HEIGHT_PT = 41


def watermark(text: str = WATERMARK_EDITABLE) -> str:
    """The diagonal light grey text behind every page, as Word writes a text watermark."""
    style = (f"position:absolute;margin-left:0;margin-top:0;width:{WATERMARK_WIDTH_PT}pt;"
             f"height:{WATERMARK_HEIGHT_PT}pt;rotation:320;z-index:-251657216;"
             "mso-position-horizontal:center;mso-position-horizontal-relative:page;"
             "mso-position-vertical:center;mso-position-vertical-relative:page")
    return (
        f'<w:r><w:rPr><w:noProof/></w:rPr><w:pict>{_TEXT_SHAPETYPE}'
        f'<v:shape id="PowerPlusWaterMarkObject1" o:spid="_x0000_s2049" type="#_x0000_t136" '
        f'style="{style}" o:allowincell="f" fillcolor="#d1d1d1" stroked="f">'
        f'<v:textpath style="font-family:&quot;{FONT}&quot;;font-size:1pt;font-weight:bold" '
        f"string={quoteattr(text)}/>"
        '<w10:wrap anchorx="page" anchory="page"/></v:shape></w:pict></w:r>'
    )


def _text_run(text: str, bold: bool = False) -> str:
    rpr = "<w:rPr><w:b/><w:bCs/></w:rPr>" if bold else ""
    return f'<w:r>{rpr}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def _field(instruction: str) -> str:
    """A simple field (PAGE, NUMPAGES); Word and LibreOffice fill in the number."""
    return f'<w:fldSimple w:instr=" {instruction} ">{_text_run("1", bold=True)}</w:fldSimple>'


def header(furniture: Furniture) -> str:
    """Patient line at left, bold ``Page X of Y`` at right, a rule under; the watermark."""
    return (
        f'{XML_HEAD}<w:hdr {VML_NS}><w:p><w:pPr><w:pStyle w:val="PageHeader"/></w:pPr>'
        f"{watermark()}{_text_run(clean(furniture.header))}<w:r><w:tab/></w:r>"
        f'{_text_run("Page ", True)}{_field("PAGE")}{_text_run(" of ", True)}'
        f'{_field("NUMPAGES")}</w:p></w:hdr>'
    )


def footer(furniture: Furniture) -> str:
    """Practice, physician and NPI at left, the confidentiality note at right, a rule above."""
    return (
        f'{XML_HEAD}<w:ftr {NS}><w:p><w:pPr><w:pStyle w:val="PageFooter"/></w:pPr>'
        f"{_text_run(clean(furniture.footer))}<w:r><w:tab/></w:r>"
        f"{_text_run(clean(furniture.confidential))}</w:p></w:ftr>"
    )


# --- properties --------------------------------------------------------------------------

def core_properties(furniture: Furniture) -> str:
    """Title, author, subject, keywords from the furniture; dates are the letter's date."""
    stamp = f"{(furniture.created or date(1980, 1, 1)).isoformat()}T00:00:00Z"
    fields = (("dc:title", furniture.title), ("dc:subject", furniture.subject),
              ("dc:creator", furniture.author), ("cp:keywords", furniture.keywords),
              ("dc:description", EDITABLE_NOTE), ("cp:lastModifiedBy", furniture.author),
              ("cp:revision", "1"), ("cp:contentStatus", "Draft: editable copy, not signed"))
    body = "".join(f"<{tag}>{escape(clean(value))}</{tag}>" for tag, value in fields)
    dates = "".join(f'<dcterms:{tag} xsi:type="dcterms:W3CDTF">{stamp}</dcterms:{tag}>'
                    for tag in ("created", "modified"))
    return (
        f"{XML_HEAD}<cp:coreProperties xmlns:cp=\"{CORE_NS}\" "
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"{body}{dates}</cp:coreProperties>"
    )


APP_PROPERTIES = (
    f"{XML_HEAD}<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    'extended-properties"><Application>ketamine-letters</Application>'
    "<DocSecurity>0</DocSecurity></Properties>"
)


# --- fonts -------------------------------------------------------------------------------

@dataclass(frozen=True)
class EmbeddedFont:
    element: str  # embedRegular, embedBold, ...
    key: str  # the w:fontKey GUID, "{XXXXXXXX-...}"
    data: bytes  # the obfuscated font, as stored in word/fonts/


def obfuscate(font: bytes, key: str) -> bytes:
    """ECMA-376 Part 1, 17.8.1: XOR the first 32 bytes with the GUID's bytes, last first.

    The same operation undoes it."""
    mask = bytes.fromhex(key.strip("{}").replace("-", ""))[::-1] * 2
    return bytes(a ^ b for a, b in zip(font[:32], mask, strict=True)) + font[32:]


def embedded_font(element: str) -> EmbeddedFont:
    """One shipped face, obfuscated under a key drawn from its own bytes (same file, same key)."""
    raw = resources.files("coverage.fonts").joinpath(FACES[element]).read_bytes()
    key = "{" + str(uuid.UUID(bytes=hashlib.sha256(raw).digest()[:16])).upper() + "}"
    return EmbeddedFont(element, key, obfuscate(raw, key))


def font_table(fonts: list[EmbeddedFont]) -> str:
    """Noto Sans, with an ``w:embed*`` reference (relationship and key) per embedded face."""
    embeds = "".join(f'<w:{f.element} r:id="rIdFont{i}" w:fontKey="{f.key}"/>'
                     for i, f in enumerate(fonts, start=1))
    return (
        f'{XML_HEAD}<w:fonts {NS}><w:font w:name="{FONT}"><w:panose1 w:val="020B0502040504020204"/>'
        '<w:charset w:val="00"/><w:family w:val="swiss"/><w:pitch w:val="variable"/>'
        f"{embeds}</w:font></w:fonts>"
    )


def font_part(number: int) -> str:
    return f"word/fonts/font{number}.odttf"


# --- package -----------------------------------------------------------------------------

def relationships(rels: list[tuple[str, str, str]]) -> str:
    """(id, type, target) -> a .rels part; types are short names under the office namespace."""
    items = "".join(
        f'<Relationship Id="{rid}" Type="{kind if "://" in kind else f"{REL}/{kind}"}" '
        f'Target="{target}"/>' for rid, kind, target in rels)
    return f'{XML_HEAD}<Relationships xmlns="{PKG_REL}">{items}</Relationships>'


PACKAGE_RELS = relationships([
    ("rId1", "officeDocument", "word/document.xml"),
    ("rId2", f"{PKG_REL}/metadata/core-properties", "docProps/core.xml"),
    ("rId3", "extended-properties", "docProps/app.xml"),
])

DOCUMENT_RELS = relationships([
    ("rIdStyles", "styles", "styles.xml"),
    ("rIdSettings", "settings", "settings.xml"),
    ("rIdFonts", "fontTable", "fontTable.xml"),
    ("rIdNumbering", "numbering", "numbering.xml"),
    ("rIdHeader", "header", "header1.xml"),
    ("rIdFooter", "footer", "footer1.xml"),
])

_OVERRIDES = {
    "word/document.xml": f"{CT_WORD}.document.main+xml",
    "word/styles.xml": f"{CT_WORD}.styles+xml",
    "word/settings.xml": f"{CT_WORD}.settings+xml",
    "word/fontTable.xml": f"{CT_WORD}.fontTable+xml",
    "word/numbering.xml": f"{CT_WORD}.numbering+xml",
    "word/header1.xml": f"{CT_WORD}.header+xml",
    "word/footer1.xml": f"{CT_WORD}.footer+xml",
    "docProps/core.xml": "application/vnd.openxmlformats-package.core-properties+xml",
    "docProps/app.xml": "application/vnd.openxmlformats-officedocument.extended-properties+xml",
}
CONTENT_TYPES = (
    f'{XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Default Extension="odttf" ContentType="{OBFUSCATED_FONT}"/>'
    + "".join(f'<Override PartName="/{name}" ContentType="{kind}"/>'
              for name, kind in _OVERRIDES.items())
    + "</Types>"
)


@dataclass(frozen=True)
class Packed:
    """A zip entry's data, compressed once: the fonts are the same in every letter."""

    crc: int
    size: int
    deflated: bytes


def pack(data: bytes) -> Packed:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return Packed(zlib.crc32(data), len(data), compressor.compress(data) + compressor.flush())


def write_zip(entries: list[tuple[str, Packed]], stamp: date | None) -> bytes:
    """A zip of the entries, in the order given, every one dated ``stamp`` at midnight.

    zipfile stamps entries with the clock and cannot take data compressed beforehand; this
    writes the few fields a zip needs (no zip64: a letter is far below 4 GB)."""
    day = stamp or date(1980, 1, 1)
    dos_date = max(day.year - 1980, 0) << 9 | day.month << 5 | day.day
    out, central = bytearray(), bytearray()
    for name, item in entries:
        encoded = name.encode("ascii")
        common = struct.pack("<HHHHHIIIH", 20, 0, 8, 0, dos_date, item.crc,
                             len(item.deflated), item.size, len(encoded))
        central += (struct.pack("<IH", 0x02014B50, 20) + common
                    + struct.pack("<HHHHII", 0, 0, 0, 0, 0, len(out)) + encoded)
        out += struct.pack("<I", 0x04034B50) + common + struct.pack("<H", 0) + encoded
        out += item.deflated
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries),
                      len(central), len(out), 0)
    return bytes(out + central + end)
