"""The plain-text letter: what billing staff paste into a payer's prior-authorization portal.

Portals take plain text and show markup literally, so the checks are about layout alone:
the exact text of a hand-made document that uses every block, and for every example letter
that no words go missing or out of order, no line is too wide and the draft marker is right.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from coverage import render_text
from coverage.document import (
    WATERMARK_DRAFT,
    Address,
    Bullets,
    Document,
    Fields,
    Furniture,
    Heading,
    LineBreak,
    Paragraph,
    References,
    Run,
    Signature,
    SignatureText,
    Table,
    plain,
)
from coverage.renderers import FORMATS, parse_formats

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TODAY = date(2026, 11, 25)
SIGNED = ("Digitally signed by Elena Chen, MD", "NPI 1234567893 · 2026-11-25 14:03 UTC")


def example_document(case: Path, kind: str = "lmn",
                     signed_lines: tuple[str, ...] = ()) -> Document:
    """The document a letter is rendered from, as the pipeline builds it."""
    from coverage.pipeline import load_inputs, make_letter

    letter = make_letter(load_inputs(case), TODAY, kind, signed_lines=signed_lines, force=True)
    return letter.document


def example_letters() -> list[tuple[Path, str]]:
    """Every example that makes a letter: each case as an LMN, each denial as an appeal."""
    cases = sorted(p for p in EXAMPLES.glob("*.yaml")
                   if p.name != "practice.yaml" and not p.name.startswith("blocked-"))
    appeals = sorted(p for p in (EXAMPLES / "appeals").glob("*.yaml")
                     if not p.name.startswith("blocked-"))
    return [(p, "lmn") for p in cases] + [(p, "appeal") for p in appeals]


def text_of(document: Document) -> str:
    rendered = render_text.render(document, render_text.new_state())
    assert rendered.pages is None and rendered.signature is None
    return rendered.data.decode("utf-8")


R = Run  # short, so the hand-made document reads like the letter


def furniture(draft: bool = True) -> Furniture:
    return Furniture(
        letterhead_name="Lakeside Pain Clinic",
        letterhead_lines=("12 Harbor Road, Duluth, MN 55802",
                          "Phone 218-555-0100  ·  Fax 218-555-0101"),
        header="Ana O'Brien  ·  DOB 03/14/1978  ·  Member ID XJ-4471",
        footer="Lakeside Pain Clinic  ·  Elena Chen, MD  ·  NPI 1234567893",
        title="Letter of medical necessity: case-1",
        author="Elena Chen, MD",
        subject="Letter of medical necessity, IV ketamine infusion",
        keywords="case: case-1",
        draft=draft,
        created=TODAY,
    )


HAND_MADE = Document(
    blocks=(
        Paragraph((R("November 25, 2026"),), style="date"),
        Address(((R("Utilization Management"),), (R("O'Brien & <Sons> Health Plan"),),
                 (R("PO Box 4000"), LineBreak(), R("Springfield, IL 62701")))),
        Fields((
            ("RE", (R("Prior authorization for IV ketamine infusion", bold=True),)),
            ("Member ID", (R("XJ-4471"),)),
            ("Diagnosis", (R("G90.511 Complex regional pain syndrome I of right upper limb, "
                             "with allodynia and edema"),)),
        )),
        Paragraph((R("Dear Medical Director,"),)),
        Heading("Clinical history"),
        Paragraph((R("Ms. O'Brien has had "), R("complex regional pain syndrome", bold=True),
                   R(" of the right arm since "), R("March 2024", italic=True),
                   R(". Her pain has not responded to the first- and second-line treatments "
                     "listed below."))),
        Paragraph((R("The plan states that infusion therapy is considered when conventional "
                     "treatment has failed."),), style="quote"),
        Heading("Prior treatment"),
        Heading("Medications"),
        Bullets((
            (R("Gabapentin 3600 mg/day"),),
            (R("Duloxetine 60 mg/day for 14 weeks, stopped for "), R("nausea", bold=True),
             R(" and no meaningful change in pain scores")),
            (R("Stellate ganglion blocks"), LineBreak(), R("three, 2025")),
        )),
        Table(rows=(((R("Therapy"),), (R("Dose"),), (R("Outcome"),)),
                    ((R("Gabapentin"),), (R("3600 mg/day"),), (R("No relief"),)),
                    ((R("Duloxetine"),), (R("60 mg/day"),), (R("Nausea"),))),
              widths=(1, 1, 2), header_rows=1),
        Table(rows=(((R("Policy criterion"),), (R("Where the record shows it is met"),)),
                    ((R("Failure of at least two first-line agents at adequate dose and "
                        "duration"),),
                     (R("Gabapentin 3600 mg/day for 12 weeks; duloxetine 60 mg/day for 14 "
                        "weeks"),)),
                    ((R("Pain of at least six months"),),
                     (R("Since March 2024, "), R("documented", italic=True),
                      R(" at every visit"))),),
              widths=(1, 1), header_rows=1),
        Heading("References"),
        References((
            ("1", (R("Harden RN, et al. Complex regional pain syndrome: practical diagnostic "
                     "and treatment guidelines, 5th edition. Pain Med. 2022;23:S1-S53."),)),
            ("2", (R("Cohen SP, et al. Consensus guidelines on ketamine infusions."),)),
        )),
        Paragraph((R("I attest that the information above is accurate."),)),
        Signature(),
    ),
    furniture=furniture(),
    signature=SignatureText(lines=("Elena Chen, MD", "Pain Medicine  ·  NPI 1234567893",
                                   "Lakeside Pain Clinic")),
)

EXPECTED = """\
DRAFT - NOT SIGNED

Lakeside Pain Clinic
12 Harbor Road, Duluth, MN 55802
Phone 218-555-0100  ·  Fax 218-555-0101

Ana O'Brien  ·  DOB 03/14/1978  ·  Member ID XJ-4471

November 25, 2026

Utilization Management
O'Brien & <Sons> Health Plan
PO Box 4000
Springfield, IL 62701

RE         Prior authorization for IV ketamine infusion
Member ID  XJ-4471
Diagnosis  G90.511 Complex regional pain syndrome I of right upper limb, with
           allodynia and edema

Dear Medical Director,

CLINICAL HISTORY
Ms. O'Brien has had complex regional pain syndrome of the right arm since
March 2024. Her pain has not responded to the first- and second-line
treatments listed below.

    The plan states that infusion therapy is considered when conventional
    treatment has failed.

PRIOR TREATMENT

MEDICATIONS
- Gabapentin 3600 mg/day
- Duloxetine 60 mg/day for 14 weeks, stopped for nausea and no meaningful
  change in pain scores
- Stellate ganglion blocks
  three, 2025

Therapy     Dose         Outcome
----------  -----------  ---------
Gabapentin  3600 mg/day  No relief
Duloxetine  60 mg/day    Nausea

Policy criterion: Failure of at least two first-line agents at adequate dose
  and duration
Where the record shows it is met: Gabapentin 3600 mg/day for 12 weeks;
  duloxetine 60 mg/day for 14 weeks

Policy criterion: Pain of at least six months
Where the record shows it is met: Since March 2024, documented at every visit

REFERENCES
1. Harden RN, et al. Complex regional pain syndrome: practical diagnostic and
   treatment guidelines, 5th edition. Pain Med. 2022;23:S1-S53.
2. Cohen SP, et al. Consensus guidelines on ketamine infusions.

I attest that the information above is accurate.

________________________________________
Elena Chen, MD
Pain Medicine  ·  NPI 1234567893
Lakeside Pain Clinic
"""


def test_every_block_type_renders_exactly() -> None:
    assert text_of(HAND_MADE) == EXPECTED


def test_same_document_gives_same_bytes() -> None:
    assert render_text.render(HAND_MADE, None).data == render_text.render(HAND_MADE, None).data


def test_signed_letter_has_no_draft_marker_and_shows_signed_lines() -> None:
    signed = Document(HAND_MADE.blocks, furniture(draft=False),
                      SignatureText(HAND_MADE.signature.lines, signed_lines=SIGNED))
    text = text_of(signed)
    assert WATERMARK_DRAFT not in text
    assert text.startswith("Lakeside Pain Clinic\n")
    assert "\n".join([*SIGNED, "_" * 40, "Elena Chen, MD"]) in text


def test_table_too_wide_for_columns_becomes_label_value_blocks() -> None:
    """Columns that fit in 100 are kept even past 78; one more column and they turn."""
    cell = "x" * 48
    fits = Table(rows=(((R("A"),), (R("B"),)), ((R(cell),), (R(cell + "yy"),))),
                 widths=(1, 1), header_rows=1)
    assert text_of(Document((fits,), furniture(draft=False))).endswith(
        f"\n\nA{' ' * 49}B\n{'-' * 48}  {'-' * 50}\n{cell}  {cell}yy\n")
    wide = Table(rows=(((R("A"),), (R("B"),)), ((R(cell),), (R(cell + "yyy"),))),
                 widths=(1, 1), header_rows=1)
    assert text_of(Document((wide,), furniture(draft=False))).endswith(
        f"\n\nA: {cell}\nB: {cell}yyy\n")


def test_long_words_stay_whole_where_they_can() -> None:
    """A URL too long for its reference's indent starts at the margin, whole (a cut URL no
    longer works when pasted), even one longer than 100 columns."""
    url = "https://example.org/" + "a" * 79  # 99 characters
    huge = "b" * 130
    refs = References((("10", (R(f"Label database. {url}"),)), ("11", (R(f"See {huge}."),))))
    text = text_of(Document((refs,), furniture(draft=False)))
    assert text.endswith(
        f"\n\n10. Label database.\n{url}\n11. See\n{'b' * 130}.\n")


def test_long_letterhead_and_signature_lines_break_between_their_parts() -> None:
    contact = ("Phone (503) 555-0142  ·  Fax (503) 555-0143  ·  "
               "authorizations@riverside-pain.example")
    specialty = "Physical Medicine and Rehabilitation (Pain Medicine, Anesthesiology)  ·  NPI 12"
    document = Document(
        (Signature(),),
        replace(furniture(draft=False), letterhead_lines=("1 Main St", contact)),
        SignatureText(("Elena Chen, MD", specialty, "Lakeside Pain Clinic")),
    )
    assert text_of(document) == "\n".join([
        "Lakeside Pain Clinic", "1 Main St", "Phone (503) 555-0142  ·  Fax (503) 555-0143",
        "authorizations@riverside-pain.example", "", HAND_MADE.furniture.header, "",
        "_" * 40, "Elena Chen, MD",
        "Physical Medicine and Rehabilitation (Pain Medicine, Anesthesiology)", "NPI 12",
        "Lakeside Pain Clinic", "",
    ])


def test_empty_cells_are_left_out_of_label_value_blocks() -> None:
    xs, ys = "x" * 40, "y" * 40  # the outcome column makes the table too wide for columns
    table = Table(rows=(((R("Therapy"),), (R("Outcome"),), (R("Note"),)),
                        ((R("pregabalin"),), (R(f"{xs} {ys}"),), ()),
                        ((), (), ()),
                        ((R("duloxetine"),), (R(f"{xs} {ys}"),), (R("Nausea"),))),
                  widths=(1, 1, 1), header_rows=1)
    assert text_of(Document((table,), furniture(draft=False))).endswith(
        f"\n\nTherapy: pregabalin\nOutcome: {xs}\n  {ys}\n\n"
        f"Therapy: duloxetine\nOutcome: {xs}\n  {ys}\nNote: Nausea\n")


def words_in_order(text: str, passages: list[str]) -> None:
    """Each passage's words appear together in ``text``, the passages in document order."""
    flowing = " ".join(text.split())
    position = 0
    for passage in passages:
        words = " ".join(passage.split())
        if not words:
            continue
        found = flowing.find(words, position)
        assert found >= 0, f"missing or out of order: {words[:80]!r}"
        position = found + len(words)


@pytest.mark.parametrize(("case", "kind"), example_letters(),
                         ids=lambda value: getattr(value, "stem", value))
def test_every_example_letter_renders(case: Path, kind: str) -> None:
    document = example_document(case, kind)
    text = text_of(document)
    lines = text.splitlines()
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert lines[0] == WATERMARK_DRAFT
    assert lines[2] == document.furniture.letterhead_name
    assert text.count(document.furniture.header) == 1
    assert "Page " not in text
    assert all(len(line) <= 100 or " " not in line.strip() for line in lines)  # or one URL
    assert "**" not in text and "<b>" not in text
    paragraphs = [plain(b.text) for b in document.blocks if isinstance(b, Paragraph)]
    assert len(paragraphs) > 5
    words_in_order(text, paragraphs)
    headings = [b.text.upper() for b in document.blocks if isinstance(b, Heading)]
    words_in_order(text, headings)
    for heading in headings:
        assert f"\n\n{heading}\n" in text
    assert f"\n{'_' * 40}\n{document.signature.lines[0]}\n" in text
    assert render_text.render(document, None).data == text.encode("utf-8")


def test_signed_example_has_no_draft_marker() -> None:
    document = example_document(EXAMPLES / "crps-1.yaml", signed_lines=SIGNED)
    text = text_of(document)
    assert WATERMARK_DRAFT not in text
    assert "\n".join(SIGNED) in text


def test_names_with_markup_characters_print_literally() -> None:
    assert "O'Brien & <Sons> Health Plan" in text_of(HAND_MADE)
    text = text_of(example_document(EXAMPLES / "unicode-names.yaml"))
    flowing = " ".join(text.split())
    assert "O'Brien & <Sons> Health Plan" in flowing
    assert "&amp;" not in text and "&lt;" not in text and "&#39;" not in text


def test_txt_is_a_registered_format() -> None:
    assert "txt" in [f.name for f in parse_formats("all")]
    assert parse_formats("txt") == (FORMATS["txt"],)
    txt = FORMATS["txt"]
    assert (txt.suffix, txt.media_type, txt.signable) == (".txt", "text/plain; charset=utf-8",
                                                         False)
    assert txt.renderer() is render_text
