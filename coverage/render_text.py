"""Blocks -> plain text, for pasting into a payer's prior-authorization web portal.

Portals take plain text only and show any markup literally, so bold and italic are dropped
(no asterisks), nothing is escaped, and structure is carried by layout alone: headings in
capitals, ``- `` bullets, tables as aligned columns (or ``label: value`` blocks when the
columns would not fit a portal's text box), numbered references. Lines wrap at 78 columns
so they survive a fixed-width box; only aligned table rows may run longer, up to 100. Text
has no pages, so the patient header appears once under the letterhead, without page numbers.
The output is UTF-8 and a pure function of the document: the same letter gives the same bytes.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator

from coverage import document as doc
from coverage.document import WATERMARK_DRAFT, Document
from coverage.renderers import Rendered

WIDTH = 78  # wrapped prose
TABLE_WIDTH = 100  # the widest an aligned table may be before it becomes label: value blocks
COLUMN_GAP = "  "
QUOTE_INDENT = "    "
FIELD_LABEL_MAX = 24  # a longer label pushes its own value right instead of all the others
SIGNATURE_RULE = "_" * 40
SEPARATOR = "  ·  "  # between the parts of the letterhead, header and signature lines
_WORD = re.compile(r"[^ \t\n\x0b\x0c\r]+")  # a word as textwrap sees one


def _segments(text: doc.Text) -> list[str]:
    """Inline text as the lines its forced line breaks make, styles dropped."""
    return doc.plain(text).split("\n")


def _one_line(text: doc.Text) -> str:
    """Inline text on one line with single spaces (a table cell in a column layout)."""
    return " ".join(doc.plain(text).split())


def _wrap(text: str, first: str = "", rest: str = "", width: int = WIDTH) -> list[str]:
    """``text`` wrapped at ``width`` after the prefixes; an empty text keeps its prefix.

    Words are never split: a URL cut in two no longer works when pasted. A word too long for
    its indent (a URL in a reference) starts at the left margin instead, on a line of its own
    however long it is (the one kind of line that may pass TABLE_WIDTH).
    """
    wrapped = textwrap.wrap(text, width, initial_indent=first,
                            subsequent_indent=rest, break_long_words=False,
                            break_on_hyphens=False)
    lines: list[str] = []
    for index, line in enumerate(wrapped):
        prefix = first if index == 0 else rest
        if len(line) <= TABLE_WIDTH:
            lines.append(line)
            continue
        # textwrap gives a word longer than the width a line of its own, after the prefix
        if prefix.strip():
            lines.append(prefix.rstrip())
        lines.append(line[len(prefix):])
    return lines or [first.rstrip()]


def _wrap_parts(line: str) -> list[str]:
    """A ``part  ·  part`` line (letterhead, patient header, signature) broken only between
    its parts when it is too long, so no line ends on a dangling separator."""
    lines: list[str] = []
    for part in line.split(SEPARATOR):
        if lines and len(lines[-1]) + len(SEPARATOR) + len(part) <= WIDTH:
            lines[-1] += SEPARATOR + part
        else:
            lines += _wrap(part)
    return lines or [""]


def _wrap_text(text: doc.Text, first: str = "", rest: str = "",
               width: int = WIDTH) -> list[str]:
    """Inline text wrapped; each forced line break starts a new line at the ``rest`` indent."""
    lines: list[str] = []
    for index, segment in enumerate(_segments(text)):
        lines += _wrap(segment, first if index == 0 else rest, rest, width)
    return lines


def _table(block: doc.Table) -> list[str]:
    """Aligned columns when they fit in TABLE_WIDTH, else one ``label: value`` block a row."""
    rows = [[_one_line(cell) for cell in row] for row in block.rows]
    count = max((len(row) for row in rows), default=0)
    rows = [row + [""] * (count - len(row)) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(count)]
    if sum(widths) + len(COLUMN_GAP) * (count - 1) <= TABLE_WIDTH:
        lines = [COLUMN_GAP.join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                 for row in rows]
        if 0 < block.header_rows < len(rows):
            lines.insert(block.header_rows, COLUMN_GAP.join("-" * w for w in widths))
        return lines
    labels = [_one_line(cell) for cell in block.rows[0]] if block.header_rows else []
    body = block.rows[1:] if block.header_rows else block.rows
    lines = []
    for row in body:
        entry: list[str] = []
        for index, cell in enumerate(row):
            if not doc.plain(cell).strip():  # "Note:" with nothing after it says nothing
                continue
            label = labels[index] if index < len(labels) else ""
            entry += _wrap_text(cell, f"{label}: " if label else "", "  ")
        if entry:
            lines += ["", *entry] if lines else entry
    return lines


def _fields(block: doc.Fields) -> list[str]:
    """Label and value pairs with the values lined up, as on the printed letter."""
    width = min(max((len(label) for label, _ in block.pairs), default=0), FIELD_LABEL_MAX)
    hang = " " * (width + len(COLUMN_GAP))
    lines: list[str] = []
    for label, value in block.pairs:
        lines += _wrap_text(value, label.ljust(width) + COLUMN_GAP, hang)
    return lines


def _signature(signature: doc.SignatureText) -> list[str]:
    """The signed lines (signed letters only), the rule to sign on, then who signs."""
    return [*(out for line in signature.signed_lines for out in _wrap_parts(line)),
            SIGNATURE_RULE,
            *(out for line in signature.lines for out in _wrap_parts(line))]


def _block(block: doc.Block, document: Document) -> list[str]:
    """One block's lines; an unknown block fails loudly rather than vanish from the letter."""
    if isinstance(block, doc.Heading):
        return _wrap(" ".join(block.text.split()).upper())
    if isinstance(block, doc.Paragraph):
        if block.style == "quote":
            return _wrap_text(block.text, QUOTE_INDENT, QUOTE_INDENT, WIDTH - len(QUOTE_INDENT))
        return _wrap_text(block.text)
    if isinstance(block, doc.Bullets):
        return [line for item in block.items for line in _wrap_text(item, "- ", "  ")]
    if isinstance(block, doc.Table):
        return _table(block)
    if isinstance(block, doc.Fields):
        return _fields(block)
    if isinstance(block, doc.Address):
        return [line for text in block.lines for line in _wrap_text(text)]
    if isinstance(block, doc.Signature):
        return _signature(document.signature)
    if isinstance(block, doc.References):
        return [line for number, text in block.items
                for line in _wrap_text(text, f"{number}. ", " " * (len(number) + 2))]
    raise TypeError(f"no plain-text rendering for {type(block).__name__}")


def _lines(document: Document) -> Iterator[str]:
    """Draft marker, letterhead, the patient header once (no pages), then the blocks."""
    furniture = document.furniture
    if furniture.draft:
        yield WATERMARK_DRAFT
        yield ""
    yield from _wrap(furniture.letterhead_name)
    for line in furniture.letterhead_lines:
        yield from _wrap_parts(line)
    yield ""
    yield from _wrap_parts(furniture.header)
    after_heading = False
    for block in document.blocks:
        # a heading sits directly on the section it names, with a blank line above it
        if not after_heading or isinstance(block, doc.Heading):
            yield ""
        yield from _block(block, document)
        after_heading = isinstance(block, doc.Heading)


def new_state() -> None:
    """Plain text shares nothing between letters."""
    return None


def render(document: Document, state: object | None = None) -> Rendered:
    """The document as UTF-8 plain text, one trailing newline; text has no pages to sign."""
    text = "\n".join(line.rstrip() for line in _lines(document)) + "\n"
    return Rendered(text.encode("utf-8"), pages=None, signature=None)
