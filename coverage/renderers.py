"""The output formats: one registration line each, and the shape every renderer answers in.

A renderer is a module with two functions::

    def new_state() -> object | None
        # what the renderer may share between the letters of one process (the PDF
        # renderer's Typesetter); None when it shares nothing
    def render(document: Document, state: object | None) -> Rendered

It translates the neutral :class:`coverage.document.Document` and knows nothing of the
others, of batches or of the CLI. Modules load only when their format is asked for, so a
heavy library (reportlab, python-docx) costs nothing to a command that does not use it.
Adding a format is one line in :data:`FORMATS` and its module; the CLI's ``--format`` and the
batch take their choices from here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from coverage.errors import UsageError


@dataclass(frozen=True)
class SignatureSpot:
    """Where the signature box landed: page index (0-based) and box in PDF points."""

    page: int
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class Rendered:
    """One letter in one format."""

    data: bytes
    pages: int | None = None  # None where the format has no fixed pages (plain text)
    signature: SignatureSpot | None = None  # formats that can carry a digital signature


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    media_type: str
    module: str
    signable: bool  # a physician's digital signature can be applied to it
    description: str

    def renderer(self) -> ModuleType:
        return importlib.import_module(self.module)


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("pdf", ".pdf", "application/pdf", "coverage.render_pdf", True,
               "PDF to fax or upload; the only format a physician signs"),
        Format("docx", ".docx",
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "coverage.render_docx", False, "editable Word draft (never signed)"),
        Format("txt", ".txt", "text/plain; charset=utf-8", "coverage.render_text", False,
               "plain text for pasting into a payer's web portal"),
    )
}
ALIASES = {"both": ("pdf", "docx"), "all": tuple(FORMATS)}


def parse_formats(text: str) -> tuple[Format, ...]:
    """``pdf``, ``docx``, ``both``, ``all`` or a comma-separated list -> formats, PDF first."""
    names: list[str] = []
    for word in (w.strip().lower() for w in text.split(",")):
        for name in ALIASES.get(word, (word,)):
            if name not in FORMATS:
                choices = ", ".join([*FORMATS, *ALIASES])
                raise UsageError(f"--format: '{word}' is not one of {choices}")
            if name not in names:
                names.append(name)
    if not names:
        raise UsageError("--format: name at least one format")
    return tuple(FORMATS[n] for n in sorted(names, key=list(FORMATS).index))


def format_help() -> str:
    """The ``--format`` help text, from the registry."""
    listed = "; ".join(f"{f.name}: {f.description}" for f in FORMATS.values())
    return f"{listed}; both: pdf and docx; all: every format. Commas combine them (pdf,txt)."
