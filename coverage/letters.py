"""The letter as a function: load -> review -> compose -> render.

A letter is a pure function of the case, the practice profile and the knowledge base (plus the
code-set release and the letter date). The CLI, batches and signing all call these functions;
none of them reaches back into an earlier stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from coverage.case import Case
from coverage.codes import CodeSet, load_code_set
from coverage.errors import InputError, ReviewBlocked
from coverage.knowledge import KnowledgeBase, load_knowledge
from coverage.loading import find_practice, load_case, load_practice, resolve_prescriber
from coverage.practice import Physician, Practice
from coverage.review import Review, review_case

if TYPE_CHECKING:  # reportlab loads only when a letter is rendered
    from coverage.render_pdf import Typesetter

LETTER_KINDS = {"lmn": "lmn.xml.j2", "appeal": "appeal.xml.j2"}
KIND_TITLES = {"lmn": "Letter of medical necessity", "appeal": "Appeal of denial"}


@dataclass(frozen=True)
class Inputs:
    """Everything a letter is made from, loaded and validated."""

    case: Case
    case_file: str
    practice: Practice
    practice_file: str
    physician: Physician
    kb: KnowledgeBase
    codes: CodeSet

    def letter_date(self, today: date) -> date:
        return self.case.letter_date or today


@dataclass(frozen=True)
class Letter:
    pdf: bytes
    pages: int
    review: Review
    context: object
    signature_page: int
    signature_box: tuple[float, float, float, float]


def code_set_path(practice: Practice, practice_file: Path, override: Path | None) -> Path | None:
    """The ICD-10-CM release to validate against: --code-set, then the practice profile."""
    if override is not None:
        return override
    if practice.icd10cm_tabular:
        path = Path(practice.icd10cm_tabular).expanduser()
        return path if path.is_absolute() else practice_file.parent / path
    return None


def load_inputs(
    case_path: Path, practice_path: Path | None = None, code_set: Path | None = None
) -> Inputs:
    """Read the case and its practice profile; fail with every problem named."""
    case_path = Path(case_path)
    case = load_case(case_path)
    practice_file = find_practice(case_path, practice_path)
    practice = load_practice(practice_file)
    return assemble_inputs(case, str(case_path), practice, str(practice_file), code_set)


def assemble_inputs(
    case: Case, case_file: str, practice: Practice, practice_file: str,
    code_set: Path | None = None,
) -> Inputs:
    """Inputs from models already loaded (and checked) by ``loading``."""
    physician = resolve_prescriber(case, practice, case_file)
    codes = load_code_set(code_set_path(practice, Path(practice_file), code_set))
    return Inputs(case, case_file, practice, practice_file, physician, load_knowledge(), codes)


def load_practice_for(case_path: Path, practice_path: Path | None = None):
    """The practice profile and prescriber a case names, without the code set."""
    case = load_case(Path(case_path))
    practice_file = find_practice(Path(case_path), practice_path)
    practice = load_practice(practice_file)
    return practice, resolve_prescriber(case, practice, str(case_path))


def review(inputs: Inputs, today: date, kind: str = "lmn", force: bool = False) -> Review:
    """The readiness review for one letter kind."""
    result = review_case(
        inputs.case, inputs.practice, inputs.kb, inputs.codes, inputs.letter_date(today)
    )
    if kind == "appeal":
        from coverage.appeal import review_appeal

        result = review_appeal(inputs, result, inputs.letter_date(today), force)
    return result


def make_letter(
    inputs: Inputs,
    today: date,
    kind: str = "lmn",
    signed_lines: tuple[str, ...] = (),
    force: bool = False,
    templates: Path | None = None,
    typesetter: Typesetter | None = None,
) -> Letter:
    """Review, compose and render one letter; refuses when the review blocks.

    A batch passes one ``typesetter`` to all its letters, so the paragraphs they share are
    parsed and broken into lines once.
    """
    from coverage import render_pdf
    from coverage.compose import compose_letter
    from coverage.document import Document
    from coverage.templating import render_blocks

    result = review(inputs, today, kind, force)
    if not result.ok:
        raise ReviewBlocked(inputs.case_file, result.blocking)
    letter_date = inputs.letter_date(today)
    context = compose_letter(
        inputs.case, inputs.practice, inputs.physician, inputs.kb, inputs.codes, result,
        letter_date, kind,
    )
    if kind == "appeal":
        from coverage.appeal import compose_appeal

        context = compose_appeal(inputs, context, letter_date)
    blocks = render_blocks(LETTER_KINDS[kind], context, templates)
    furniture = page_furniture(inputs, kind, context.header, signed=bool(signed_lines),
                               letter_date=letter_date)
    signature = signature_text(inputs, signed_lines)
    rendered = render_pdf.render(Document(tuple(blocks), furniture, signature), typesetter)
    spot = rendered.signature
    return Letter(
        rendered.data, rendered.pages, result, context, spot.page if spot else -1,
        spot.box if spot else (0, 0, 0, 0),
    )


def page_furniture(inputs: Inputs, kind: str, header: str, signed: bool,
                   letter_date: date | None = None):
    """Letterhead, page header and footer, PDF metadata: everything around the words."""
    from coverage.document import Furniture

    practice = inputs.practice
    address = practice.address
    contact = [f"Phone {practice.phone}"]
    if practice.fax:
        contact.append(f"Fax {practice.fax}")
    if practice.email:
        contact.append(practice.email)
    physician = inputs.physician
    street = ", ".join([*address.lines, f"{address.city}, {address.state} {address.postal_code}"])
    return Furniture(
        letterhead_name=practice.name,
        letterhead_lines=(street, "  ·  ".join(contact)),
        header=header,
        footer=f"{practice.name}  ·  {physician.display_name}  ·  NPI {physician.npi}",
        title=f"{KIND_TITLES[kind]}: {inputs.case.case_id}",
        author=physician.display_name,
        subject=f"{KIND_TITLES[kind]}, IV ketamine infusion",
        keywords=(
            f"code set: {inputs.codes.release}; knowledge base: {inputs.kb.version}; "
            f"case: {inputs.case.case_id}"
        ),
        draft=not signed,
        created=letter_date,
    )


def signature_text(inputs: Inputs, signed_lines: tuple[str, ...] = ()):
    """What the signature block says; the signed lines and image only on signed letters."""
    from coverage.document import SignatureText

    physician = inputs.physician
    return SignatureText(
        lines=(
            physician.display_name,
            f"{physician.specialty}  ·  NPI {physician.npi}",
            inputs.practice.name,
        ),
        signed_lines=signed_lines,
        image=_signature_image(inputs) if signed_lines else None,
    )


def _signature_image(inputs: Inputs) -> str | None:
    """The prescriber's signature image (practice profile), drawn only on signed letters."""
    image = inputs.physician.signature_image
    if not image:
        return None
    path = Path(image).expanduser()
    if not path.is_absolute():
        path = Path(inputs.practice_file).parent / path
    if not path.is_file():
        index = inputs.practice.physicians.index(inputs.physician)
        raise InputError.one(inputs.practice_file, f"physicians[{index}].signature_image",
                             f"{path} not found; put the image there or delete the line")
    return str(path)
