"""The fonts every letter embeds, and the check that they can print a case's text.

Noto Sans (SIL Open Font License, see ``OFL.txt`` here) covers Latin Extended with
Vietnamese, Greek and Cyrillic. A character it cannot draw would print as an empty box, so the
pipeline refuses such a case up front and names the field instead.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from functools import cache
from importlib import resources

from pydantic import BaseModel

from coverage.errors import Problem

FAMILY = "NotoSans"
_FILES = {
    "NotoSans": "NotoSans-Regular.ttf",
    "NotoSans-Bold": "NotoSans-Bold.ttf",
    "NotoSans-Italic": "NotoSans-Italic.ttf",
    "NotoSans-BoldItalic": "NotoSans-BoldItalic.ttf",
}
REGULAR, BOLD, ITALIC, BOLD_ITALIC = _FILES


@cache
def register_fonts() -> frozenset[int]:
    """Register the letter fonts with reportlab (once per process); return covered code points."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = resources.files("coverage.fonts")
    covered: set[int] | None = None
    for name, filename in _FILES.items():
        font = TTFont(name, str(folder.joinpath(filename)))
        pdfmetrics.registerFont(font)
        chars = set(font.face.charToGlyph)
        covered = chars if covered is None else covered & chars
    pdfmetrics.registerFontFamily(
        FAMILY, normal=REGULAR, bold=BOLD, italic=ITALIC, boldItalic=BOLD_ITALIC
    )
    return frozenset(covered or ())


def _strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def unprintable_fields(model: BaseModel, file: str) -> list[Problem]:
    """Fields holding characters the embedded fonts cannot draw (never a silent box)."""
    covered = register_fonts()
    texts = list(_strings(model.model_dump(), ""))
    if {ord(ch) for _, text in texts for ch in text} <= covered | _LAYOUT_CHARS:
        return []
    problems = []
    for path, text in texts:
        missing = sorted({ch for ch in text if ord(ch) not in covered and ch not in "\n\t"})
        if missing:
            names = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in missing[:3])
            problems.append(
                Problem(file, path, f"has characters the letter font cannot print: {names}")
            )
    return problems


_LAYOUT_CHARS = frozenset({ord("\n"), ord("\t")})
