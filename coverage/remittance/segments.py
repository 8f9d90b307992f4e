"""X12 segments from a file, with the delimiters its ISA segment declares.

Our own tokenizer rather than pyx12: pyx12's loop-aware reader measured about 2.75 s per
2,000 claims (about 70 s for the 50,000-claim target, which must import in under 20 s), and
all the importer needs from an 835 is a handful of segments in a fixed, shallow loop order
(header, CLP claim, SVC line) that ``parse.py`` walks itself. The file is read in 1 MiB chunks
and segments are yielded one at a time, so memory stays flat however long the file is.

The ISA segment is fixed-width (106 characters): the element separator is its 4th character,
the component separator its 105th and the segment terminator its 106th. Any legal choice
works (``~``, a newline, ``'``, ``|``, ``^``, ...). Line breaks after a terminator, as many
senders add, are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ISA_LENGTH = 106
CHUNK = 1 << 20


class SegmentError(Exception):
    """The file is not a readable X12 interchange at ``position`` (1-based segment number)."""

    def __init__(self, position: int, segment: str, message: str) -> None:
        self.position = position
        self.segment = segment
        super().__init__(message)

    @property
    def where(self) -> str:
        return f"segment {self.position}" + (f" ({self.segment})" if self.segment else "")


@dataclass(frozen=True)
class Delimiters:
    element: str
    component: str
    terminator: str
    repetition: str | None


def read_delimiters(head: str) -> Delimiters:
    """The delimiters from the first 106 characters of an interchange, or a clear error."""
    if not head.startswith("ISA"):
        raise SegmentError(1, "", "is not an X12 file: it does not start with an ISA segment")
    if len(head) < ISA_LENGTH:
        raise SegmentError(1, "ISA", "the ISA segment is cut short (106 characters expected)")
    element, component, terminator = head[3], head[104], head[105]
    fields = head[:ISA_LENGTH - 1].split(element)
    if element.isalnum() or len(fields) != 17:
        raise SegmentError(1, "ISA", "the ISA segment does not have its 16 fixed-width elements")
    if len({element, component, terminator}) != 3 or terminator.isalnum() or component.isalnum():
        raise SegmentError(1, "ISA", "the ISA delimiters are missing or the same character")
    repetition = fields[11] if fields[12] >= "00402" and not fields[11].isalnum() else None
    return Delimiters(element, component, terminator, repetition)


def segments(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(position, elements) for every segment of the file; elements[0] is the segment id."""
    with open(path, "rb") as handle:
        text = handle.read(CHUNK).decode("latin-1")
        text = text.removeprefix("\xef\xbb\xbf").lstrip()  # a UTF-8 byte-order mark, blank lines
        delimiters = read_delimiters(text[:ISA_LENGTH])
        element, terminator = delimiters.element, delimiters.terminator
        position = 0
        pending = ""
        while text:
            pieces = (pending + text).split(terminator)
            pending = pieces.pop()
            for piece in pieces:
                piece = piece.strip("\r\n")
                if not piece:
                    continue
                position += 1
                yield position, piece.split(element)
            text = handle.read(CHUNK).decode("latin-1")
        if pending.strip():
            name = pending.strip().split(element, 1)[0][:3]
            raise SegmentError(position + 1, name,
                               "the file ends in the middle of a segment (truncated?)")


def delimiters_of(path: Path) -> Delimiters:
    with open(path, "rb") as handle:
        head = handle.read(ISA_LENGTH + 8).decode("latin-1")
    return read_delimiters(head.removeprefix("\xef\xbb\xbf").lstrip())
