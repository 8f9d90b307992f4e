"""The renderer's own optimisations change nothing in the output."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from coverage import render_pdf
from coverage.pipeline import RenderStates, load_inputs, make_letter

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


def _example_letters() -> list[tuple[Path, str]]:
    """Every example that makes a letter: each case as an LMN, each denial also as an appeal."""
    cases = sorted(p for p in (ROOT / "examples").glob("*.yaml")
                   if p.name != "practice.yaml" and not p.name.startswith("blocked-"))
    appeals = sorted(p for p in (ROOT / "examples" / "appeals").glob("*.yaml")
                     if not p.name.startswith("blocked-"))
    return ([(p, "lmn") for p in cases] + [(p, "appeal") for p in appeals]
            + [(p, "lmn") for p in appeals[:3]])


def test_a_shared_typesetter_gives_the_same_bytes_in_any_order(monkeypatch) -> None:
    """Batch workers share one Typesetter; every letter must come out as if made alone."""
    today = date(2026, 11, 25)
    letters = [(load_inputs(path), kind) for path, kind in _example_letters()]
    alone = [make_letter(inputs, today, kind, force=True).pdf for inputs, kind in letters]

    splits = []
    split = render_pdf.RLParagraph.split

    def counting_split(self, width, height):
        splits.append(self._line_cache is not None)
        return split(self, width, height)

    monkeypatch.setattr(render_pdf.RLParagraph, "split", counting_split)
    for order in (range(len(letters)), reversed(range(len(letters)))):
        shared = render_pdf.Typesetter()
        for index in order:
            inputs, kind = letters[index]
            states = RenderStates({"pdf": shared})
            pdf = make_letter(inputs, today, kind, force=True, states=states).pdf
            assert pdf == alone[index], (letters[index][0].name, kind)
    assert any(splits), "no shared paragraph was split across pages: the test lost its edge"


def test_a_shared_typesetter_breaks_each_repeated_paragraph_once(monkeypatch) -> None:
    calls = []
    break_lines = render_pdf._ReportlabParagraph.breakLines

    def counting(self, widths):
        calls.append(1)
        return break_lines(self, widths)

    monkeypatch.setattr(render_pdf._ReportlabParagraph, "breakLines", counting)
    inputs = load_inputs(ROOT / "examples" / "crps-1.yaml")
    shared = render_pdf.Typesetter()
    make_letter(inputs, date(2026, 11, 25), states=RenderStates({"pdf": shared}))
    first = len(calls)
    calls.clear()
    make_letter(inputs, date(2026, 11, 25), states=RenderStates({"pdf": shared}))
    assert first > 100
    assert len(calls) < first / 10  # only paragraphs split across pages are broken again


def test_a_typesetter_stays_within_its_limit() -> None:
    shared = render_pdf.Typesetter(limit=40)
    today = date(2026, 11, 25)
    for path, kind in _example_letters()[:4]:
        inputs = load_inputs(path)
        states = RenderStates({"pdf": shared})
        assert make_letter(inputs, today, kind, states=states).pdf == make_letter(
            inputs, today, kind).pdf
        assert len(shared._parsed) == 40
        assert len(shared._lines) == 40


def test_the_pdf_is_dated_with_the_letter_date_not_the_clock_or_2000() -> None:
    import io

    from pypdf import PdfReader

    inputs = load_inputs(ROOT / "examples" / "crps-1.yaml")  # letter_date: 2026-11-20
    info = PdfReader(io.BytesIO(make_letter(inputs, date(2026, 11, 25)).pdf)).metadata
    assert info["/CreationDate"] == "D:20261120"
    assert info["/ModDate"] == "D:20261120"
