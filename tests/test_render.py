"""The renderer's own optimisations change nothing in the output."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from coverage import render_pdf
from coverage.letters import load_inputs, make_letter

ROOT = Path(__file__).resolve().parents[1]


def test_line_breaking_once_per_width_gives_the_same_bytes(monkeypatch) -> None:
    inputs = load_inputs(ROOT / "examples" / "crps-1.yaml")
    cached = make_letter(inputs, date(2026, 11, 25)).pdf
    monkeypatch.setattr(render_pdf.RLParagraph, "wrap", render_pdf._ReportlabParagraph.wrap)
    plain = make_letter(inputs, date(2026, 11, 25)).pdf
    assert cached == plain


def test_page_total_is_filled_in_on_every_page() -> None:
    import io

    from pypdf import PdfReader

    letter = make_letter(load_inputs(ROOT / "examples" / "pdpn.yaml"), date(2026, 11, 25))
    pages = PdfReader(io.BytesIO(letter.pdf)).pages
    assert len(pages) == letter.pages
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {letter.pages}" in page.extract_text()
