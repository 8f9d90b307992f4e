"""What an independent reader of the appeal letters found, fixed: facts that agree inside each
example, the grade stated once, the plan's own routes asked for by name, a safe rescue list.

Every check reads the PDF's text (pypdf) of the example letter, or the review of the example.
"""

from __future__ import annotations

import io
import unicodedata
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pypdf import PdfReader

from coverage.case import Case
from coverage.inputs import assemble_inputs
from coverage.kinds import LetterKind
from coverage.loading import load_practice
from coverage.pipeline import make_letter, review

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PRACTICE_FILE = EXAMPLES / "practice.yaml"
TODAY = date(2026, 11, 23)
APPEALS = sorted(p.stem for p in (EXAMPLES / "appeals").glob("*.yaml")
                 if not p.stem.startswith("blocked-"))


def example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / "appeals" / f"{name}.yaml").read_text(encoding="utf-8"))


@cache
def practice():
    return load_practice(PRACTICE_FILE)


def _inputs(data: dict[str, Any]):
    return assemble_inputs(Case.model_validate(data), "case.yaml", practice(), str(PRACTICE_FILE))


def text_of(data: dict[str, Any]) -> str:
    inputs = _inputs(data)
    pdf = make_letter(inputs, TODAY, LetterKind.for_case(inputs.case)).pdf
    pages = [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]
    return unicodedata.normalize("NFC", " ".join(" ".join(pages).split()))


@cache
def letter(name: str) -> str:
    return text_of(example(name))


def findings(data: dict[str, Any]) -> dict[str, str]:
    inputs = _inputs(data)
    result = review(inputs, TODAY, LetterKind.for_case(inputs.case))
    return {f.code: f.severity.value for f in result.findings}


# --- retro-authorization: one past-tense letter whose dates agree ----------------------------

def test_retro_claim_is_denied_after_its_last_date_of_service() -> None:
    text = letter("retro-authorization")
    assert "Dates of service: October 12, 2026 to November 2, 2026" in text
    assert "was denied on November 13, 2026" in text
    assert "October 30, 2026" not in text


def test_a_claim_denial_dated_before_the_last_service_blocks() -> None:
    data = example("retro-authorization")
    assert "CLAIM_DENIED_BEFORE_SERVICE" not in findings(data)
    data["denial"]["denial_date"] = date(2026, 10, 30)  # the services ran to November 2
    assert findings(data)["CLAIM_DENIED_BEFORE_SERVICE"] == "BLOCKING"


def test_retro_outcome_is_measured_at_the_test_and_enclosed() -> None:
    text = letter("retro-authorization")
    assert "2 weeks after the last infusion (November 16, 2026)" in text
    assert "Pain was 7/10 on November 16, 2026" in text
    assert "Clinic notes, 2024-05-02 to 2026-11-16" in text
    assert "after the last it was" not in text  # the second, 2-days-after outcome is gone
    assert "Outcome of the infusions" not in text


def test_retro_is_judged_on_what_was_known_when_ordered() -> None:
    text = letter("retro-authorization")
    assert "judged on what was known when they were ordered" in text
    assert "The result of the series is reported as it was measured: it did not meet" in text
    assert "were given and none are requested" in text
    assert "This request covers only the infusions already given." in text
    assert "The denial gives this reason: “Precertification/authorization absent.”" in text
    assert "will be reassessed for stimulation if it fails" not in text


# --- the rescue antiemetic for a patient with a prolonged QTc --------------------------------

@pytest.mark.parametrize("name", APPEALS)
def test_no_qt_prolonging_antiemetic_for_a_prolonged_qtc(name: str) -> None:
    text = letter(name)
    assert "Prolonged QTc (478 ms)" in text
    assert ("Rescue medicines at the chair side: dexamethasone 4 mg IV for nausea (ondansetron "
            "avoided: prolonged QTc); midazolam 1-2 mg IV for distressing dissociation; "
            "labetalol 5-10 mg IV for systolic blood pressure above 180 mmHg.") in text
    assert "ondansetron 4 mg" not in text
