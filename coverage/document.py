"""The document model: what every renderer (PDF, Word, plain text) translates.

A letter is a :class:`Document`: a sequence of blocks (headings, paragraphs, lists, tables,
label/value fields, an address, the signature line, numbered references) and the page
furniture around them (letterhead, the per-page header with the patient's name, date of birth
and member ID, the footer, the DRAFT watermark, document properties). Text inside blocks is a
tuple of inline runs: plain text with bold and italic, and line breaks. Nothing here speaks any
renderer's language: no reportlab markup, no WordprocessingML, no escaping. Text is stored as
it should print; each renderer escapes what its format needs.

The model is built once per letter (``templating`` parses the template's output into blocks,
``pipeline`` adds the furniture) and is immutable, so one document can feed several renderers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

WATERMARK_DRAFT = "DRAFT - NOT SIGNED"
WATERMARK_EDITABLE = "DRAFT - EDITABLE COPY, NOT SIGNED"
CONFIDENTIAL = "Confidential: protected health information"


@dataclass(frozen=True)
class Run:
    """A stretch of text in one style."""

    text: str
    bold: bool = False
    italic: bool = False


@dataclass(frozen=True)
class LineBreak:
    """A forced line break inside a paragraph, list item or cell."""


Inline = Run | LineBreak
Text = tuple[Inline, ...]


def plain(text: Text) -> str:
    """The text of inline runs without styles; a line break reads as a newline."""
    return "".join(part.text if isinstance(part, Run) else "\n" for part in text)


@dataclass(frozen=True)
class Paragraph:
    text: Text
    style: str = "body"  # body | date | small | quote


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[Text, ...]


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[Text, ...], ...]
    widths: tuple[float, ...]  # relative column widths
    header_rows: int  # repeated at the top of every page the table runs onto


@dataclass(frozen=True)
class Fields:
    """Label/value lines (the RE block): the label plain, the value inline text."""

    pairs: tuple[tuple[str, Text], ...]


@dataclass(frozen=True)
class Address:
    lines: tuple[Text, ...]


@dataclass(frozen=True)
class Signature:
    """Where the physician signs; what it says is the document's :class:`SignatureText`."""


@dataclass(frozen=True)
class References:
    items: tuple[tuple[str, Text], ...]  # (number, citation)


Block = Paragraph | Heading | Bullets | Table | Fields | Address | Signature | References


@dataclass(frozen=True)
class Furniture:
    """What goes around the words on every page, and the document's properties."""

    letterhead_name: str
    letterhead_lines: tuple[str, ...]
    header: str  # patient, date of birth, member ID; renderers add "Page X of Y"
    footer: str
    title: str
    author: str
    subject: str
    keywords: str
    draft: bool = True  # a DRAFT watermark on every page until a physician signs
    created: date | None = None  # the letter's date: the file's creation date
    confidential: str = CONFIDENTIAL


@dataclass(frozen=True)
class SignatureText:
    """What the signature box says; the signed lines and image appear only on signed letters."""

    lines: tuple[str, ...]
    signed_lines: tuple[str, ...] = ()
    image: str | None = None  # the physician's signature image (a path), for fax copies


@dataclass(frozen=True)
class Document:
    """One letter, ready for any renderer."""

    blocks: tuple[Block, ...]
    furniture: Furniture
    signature: SignatureText = field(default_factory=lambda: SignatureText(()))
