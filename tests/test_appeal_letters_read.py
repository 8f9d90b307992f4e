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
    assert "reported as it was measured: it did not meet" in text  # may cross a page
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


# --- external-review-urgent: dates that agree, the approval fact once, routes by who decides --

def test_external_review_names_the_final_determination_and_the_earlier_decision() -> None:
    text = letter("external-review-urgent")
    assert "Dear External Reviewer:" in text and "Dear Appeals Reviewer" not in text
    assert ("of the plan's final internal adverse determination, dated October 30, 2026; the "
            "plan's earlier internal decision was dated September 30, 2026") in text
    assert "following the decision of September 30, 2026" not in text
    assert "The plan's first-level internal appeal decision of 2026-09-30" in text  # enclosed
    assert ("I ask that the independent reviewer overturn the final internal adverse "
            "determination of October 30, 2026, so that the plan authorizes") in text


def test_expedited_request_starts_soon_and_a_late_start_is_flagged() -> None:
    text = letter("external-review-urgent")
    assert "I request expedited review" in text
    assert "The first infusion is planned for November 30, 2026" in text
    assert "December 7, 2026" not in text
    data = example("external-review-urgent")
    assert "URGENT_START_FAR" not in findings(data)
    data["denial"]["service_from"] = date(2026, 12, 28)
    assert findings(data)["URGENT_START_FAR"] == "ADVISORY"


def test_the_approval_fact_is_stated_once_without_conceding_the_appeal() -> None:
    text = letter("external-review-urgent")
    assert "this appeal does not suggest otherwise" not in text
    assert text.count("no ketamine product has FDA approval for chronic pain, CRPS I included") == 1
    assert "“A service that does not meet these criteria may be covered by exception" in text
    assert ("That exception is for the plan's Medical Director to grant, not the independent "
            "reviewer") in text
    assert "under the exception the plan provides" not in text
    assert ("We ask the independent reviewer to decide, on the evidence below and this "
            "patient's record, whether intravenous ketamine is medically necessary") in text


# --- frequency-limit: the series' relief, and the exception asked for ------------------------

def test_frequency_limit_asks_for_the_exception_and_credits_relief_to_the_series() -> None:
    text = letter("frequency-limit")
    assert ("The denial applies the plan's frequency limit (“Authorized quantity exceeded: the "
            "plan allows 6 infusions per 12 months.”). We ask the plan for an exception to that "
            "limit") in text
    assert "for Maria Alvarez, as an exception to the plan's frequency limit:" in text
    assert ("After the initial series of 6 infusions, from June 1, 2026 to June 22, 2026, pain "
            "fell from 8/10 to 4/10, a 50% reduction") in text
    assert "relief after the series lasted 10 weeks" in text
    assert "How long relief lasts after a single maintenance infusion has not yet been measured" \
        in text
    assert "each infusion is given as that relief ends" not in text
    assert "criterion set before treatment [" not in text  # the practice's, not IMMPACT's
    assert "will be reassessed for stimulation if it fails" not in text  # the series was given


# --- the guideline grade once; the Supreme Court case as it was -------------------------------

@pytest.mark.parametrize("name", APPEALS)
def test_the_guideline_grade_is_stated_once_in_an_appeal(name: str) -> None:
    text = letter(name)
    assert text.count("moderate evidence of short-to-intermediate-term pain relief") == 1
    for repeat in ("as moderate, for pain relief up to 12 weeks",
                   "grades that evidence as moderate", "as moderate, for relief up to 12 weeks",
                   "the evidence and its limits are set out below"):
        assert repeat not in text, repeat


@pytest.mark.parametrize("name", ["experimental", "external-review-urgent", "off-label"])
def test_rebuttals_point_to_the_evidence_by_its_heading(name: str) -> None:
    text = letter(name)
    assert "Why intravenous ketamine" in text
    assert "under “Why intravenous ketamine”" in text or 'under "Why intravenous ketamine"' \
        in text


def test_the_supreme_court_case_is_described_as_it_was() -> None:
    text = letter("off-label")
    assert "off-label use of approved drugs" not in text
    assert "The US Supreme Court, in a case about medical devices, recognized off-label use" \
        in text


# --- experimental: the cited policy answered, external review requested ----------------------

def test_experimental_answers_the_cited_policy_and_requests_external_review() -> None:
    text = letter("experimental")
    assert ("The policy cited, Cascade Health Plan Medical Policy MP-2.113 \"Ketamine infusion "
            "for chronic pain\", sets criteria that this patient meets") in text
    assert "Failure of at least two classes of oral neuropathic pain medication" in text
    assert "If this determination is upheld, Maria Alvarez requests independent external " \
        "review." in text
    assert "reserves the right" not in text
    assert "Benefit is weighed against harm in the plan below" not in text
    data = example("experimental")
    assert "POLICY_CRITERIA_NOT_RECORDED" not in findings(data)


def test_a_cited_policy_without_recorded_criteria_is_asked_for() -> None:
    data = example("experimental")
    data["denial"].pop("policy_criteria")
    text = text_of(data)
    assert ("The denial cites Cascade Health Plan Medical Policy MP-2.113 \"Ketamine infusion "
            "for chronic pain\" (version effective 2026-07-01); we ask for its full text and "
            "criteria") in text


# --- layout: a quoted clause stays with its heading; no page for a single reference ----------

def _pages(name: str) -> list[list[str]]:
    inputs = _inputs(example(name))
    pdf = make_letter(inputs, TODAY, LetterKind.for_case(inputs.case)).pdf
    out = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        lines = [line.strip() for line in (page.extract_text() or "").splitlines()]
        out.append([line for line in lines if len(line) > 1 and "DRAFT" not in line
                    and not line.startswith("Page ")])
    return out


@pytest.mark.parametrize(("name", "heading"), [
    ("off-label", "Response: off-label use of an FDA-approved drug"),
    ("experimental", "Response: the plan's definition of experimental or investigational, "
                     "applied"),
])  # fmt: skip
def test_the_plan_s_own_text_follows_its_heading_on_the_same_page(name: str, heading) -> None:
    for lines in _pages(name):
        text = " ".join(lines)
        if heading in text:
            after = text[text.index(heading) + len(heading):].lstrip()
            assert after.startswith("“"), after[:80]  # the quote itself, no lead-in line
        assert not lines[-1].endswith("reads:"), lines[-1]


def test_off_label_has_no_page_holding_a_single_reference() -> None:
    pages = _pages("off-label")
    assert all(len(lines) > 12 for lines in pages), [len(lines) for lines in pages]


def test_step_therapy_names_a_contraindication_only_where_a_class_rests_on_one() -> None:
    text = letter("step-therapy")
    assert "The record shows a trial in each class the plan requires." in text
    assert "or a documented contraindication" not in text


def test_a_class_met_only_by_a_contraindication_is_named_as_such() -> None:
    data = example("step-therapy")
    data["denial"]["step_requirements"].append(
        {"requirement": "A tricyclic antidepressant", "therapy_class": "tca"})
    text = text_of(data)
    assert "nortriptyline: contraindicated (Prolonged QTc (478 ms)" in text
    assert "The record shows a trial, or a documented contraindication, in each class" in text


@pytest.mark.parametrize("name", APPEALS)
def test_every_listed_reference_is_cited(name: str) -> None:
    import re

    text = letter(name)
    body = text.rpartition("References")[0]
    lines = [line for page in _pages(name) for line in page]
    start = max(i for i, line in enumerate(lines) if line == "References")
    listed = {int(m.group(1)) for line in lines[start:]
              if (m := re.match(r"(\d{1,2})\.\s", line))}
    cited = {int(n) for group in re.findall(r"\[([\d, ]+)\]", body)
             for n in group.split(",")}
    assert listed and listed <= cited, sorted(listed - cited)


def test_not_medically_necessary_states_function_once_and_requests_external_review() -> None:
    text = letter("not-medically-necessary")
    impact = "Unable to bear full weight on the right foot for more than ten minutes"
    assert text.count(impact) == 1  # under "Functional impact", not pasted into the rebuttal
    assert "(detailed below). Unable" not in text
    assert "If this determination is upheld, Maria Alvarez requests independent external " \
        "review." in text
