"""What a complete appeal carries, answered on the plan's own terms; where each letter is sent.

Every check reads the PDF's text (pypdf), so a test fails when the letter stops saying it.
"""

from __future__ import annotations

import copy
import io
import unicodedata
from datetime import date
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
TODAY = date(2026, 11, 23)
PRACTICE_FILE = EXAMPLES / "practice.yaml"

PA_FAX, APPEALS_FAX, EXTERNAL_FAX = "(800) 555-0199", "(800) 555-0177", "(800) 555-0166"


def example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def practice():
    return load_practice(PRACTICE_FILE)


def inputs_of(data: dict[str, Any], practice):
    case = Case.model_validate(data)
    return assemble_inputs(case, "case.yaml", practice, str(PRACTICE_FILE))


def text_of(data: dict[str, Any], practice, kind: LetterKind | None = None) -> str:
    inputs = inputs_of(data, practice)
    chosen = kind or LetterKind.for_case(inputs.case)
    pdf = make_letter(inputs, TODAY, chosen).pdf
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def findings(data: dict[str, Any], practice, kind: LetterKind | None = None) -> dict[str, str]:
    inputs = inputs_of(data, practice)
    result = review(inputs, TODAY, kind or LetterKind.for_case(inputs.case))
    return {f.code: f.severity.value for f in result.findings}


def address_block(text: str) -> str:
    return text[text.index("November 23, 2026"):text.index("RE:")]


# --- payer routing -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def routed(practice) -> dict[str, str]:
    lmn = example("crps-1.yaml")
    lmn["coverage"] = {"payer_id": "cascade-health", "plan_type": "erisa_group"}
    lmn["letter_date"] = TODAY
    return {
        "lmn": address_block(text_of(lmn, practice)),
        "appeal": address_block(text_of(example("appeals/experimental.yaml"), practice)),
        "external": address_block(text_of(example("appeals/external-review-urgent.yaml"),
                                           practice)),
        "retro": address_block(text_of(example("appeals/retro-authorization.yaml"), practice)),
    }


def test_the_lmn_goes_to_prior_authorization(routed: dict[str, str]) -> None:
    block = routed["lmn"]
    assert "Cascade Health Plan" in block and "Prior Authorization" in block
    assert f"Fax: {PA_FAX}" in block and "PO Box 4410" in block
    assert APPEALS_FAX not in block


def test_an_appeal_goes_to_the_appeals_department(routed: dict[str, str]) -> None:
    block = routed["appeal"]
    assert "Member and Provider Appeals" in block and "PO Box 4455" in block
    assert f"Fax: {APPEALS_FAX}" in block and PA_FAX not in block


def test_external_review_goes_to_its_own_address(routed: dict[str, str]) -> None:
    block = routed["external"]
    assert "External Review Coordinator" in block and f"Fax: {EXTERNAL_FAX}" in block
    assert APPEALS_FAX not in block and PA_FAX not in block


def test_a_retro_authorization_request_goes_to_prior_authorization(routed) -> None:
    assert f"Fax: {PA_FAX}" in routed["retro"] and APPEALS_FAX not in routed["retro"]


def test_an_old_case_with_the_address_inline_still_loads_and_is_flagged(practice) -> None:
    data = example("appeals/experimental.yaml")
    data["schema_version"] = 3
    data["coverage"] = {
        "payer_name": "Old Style Health", "payer_department": "Appeals Unit",
        "payer_address": {"lines": ["PO Box 1"], "city": "Salem", "state": "OR",
                          "postal_code": "97301"},
        "payer_fax": "(800) 555-0100", "plan_type": "erisa_group",
    }
    block = address_block(text_of(data, practice))
    assert "Old Style Health" in block and "Appeals Unit" in block
    assert "Fax: (800) 555-0100" in block
    assert findings(data, practice)["PAYER_NOT_IN_PROFILE"] == "ADVISORY"


def test_a_payer_without_an_address_for_the_purpose_is_flagged(practice) -> None:
    bare = practice.model_copy(update={"payers": {
        "cascade-health": practice.payers["cascade-health"].model_copy(
            update={"appeals": None})}})
    assert findings(example("appeals/experimental.yaml"), bare)["NO_ADDRESS_FOR_PURPOSE"] \
        == "ADVISORY"


def test_an_unknown_payer_id_names_the_file_and_field(write_case, run_cli) -> None:
    data = example("appeals/experimental.yaml")
    data["coverage"]["payer_id"] = "no-such-payer"
    path = write_case(data)
    result = run_cli("appeal", path, "-o", path.with_suffix(".pdf"))
    assert result.code == 2
    assert "coverage.payer_id" in result.output and "no-such-payer" in result.output
    assert "cascade-health" in result.output  # the ids the profile does have
    assert "Traceback" not in result.output and not path.with_suffix(".pdf").exists()


def test_a_case_names_its_payer_one_way_or_the_other() -> None:
    data = example("crps-1.yaml")
    data["coverage"] = {"plan_type": "commercial"}
    with pytest.raises(ValueError, match="payer_id"):
        Case.model_validate(data)


# --- the elements every appeal carries -----------------------------------------------------

@pytest.fixture(scope="module")
def experimental(practice) -> str:
    return text_of(example("appeals/experimental.yaml"), practice)


def test_the_re_block_carries_references_and_the_receipt_date(experimental: str) -> None:
    assert "Authorization: CHP-PA-26-118734" in experimental
    assert "Denial notice: CHP-UM-26-551902" in experimental
    assert "Denial received: November 3, 2026" in experimental
    assert "The denial notice was received on November 3, 2026." in experimental


def test_a_claim_number_is_printed_where_there_is_one(practice) -> None:
    text = text_of(example("appeals/retro-authorization.yaml"), practice)
    assert "Claim number: CHP-CLM-26-2204415" in text
    assert "Claim number" not in text_of(example("appeals/off-label.yaml"), practice)


def test_the_physician_appeals_as_representative_with_the_form_enclosed(experimental) -> None:
    assert "I am writing as the authorized representative of my patient, Maria Alvarez" in \
        experimental
    enclosures = experimental[experimental.index("Enclosures:"):]
    assert "Appointment of authorized representative, signed by Maria Alvarez on 2026-11-05" \
        in enclosures
    assert "The denial notice of October 30, 2026 (reference CHP-UM-26-551902)" in enclosures


def test_the_patient_may_be_the_appellant(practice) -> None:
    data = example("appeals/off-label.yaml")
    data["denial"]["appellant"] = "patient"
    text = text_of(data, practice)
    assert "Maria Alvarez, who has" in text and "is appealing the denial" in text
    assert "in support of that appeal" in text and "authorized representative" not in text
    assert "Appointment of authorized representative" not in text  # the form is not hers


def test_remittance_codes_carry_the_projects_own_summary(practice) -> None:
    text = text_of(example("appeals/retro-authorization.yaml"), practice)
    assert ("CO-197: Precertification, notification or authorization was not obtained before "
            "treatment") in text
    assert "the meanings are our summary" in text
    assert "Precertification/authorization/notification/pre-treatment absent" not in text


def test_peer_to_peer_gives_the_direct_line_and_call_windows(experimental: str) -> None:
    assert "Peer-to-peer: I am available to discuss this case on my direct line, " \
        "(503) 555-0150, Tuesday and Thursday, 12:00-13:00 Pacific; Friday, 16:00-17:00 " \
        "Pacific." in experimental


def test_the_closing_asks_to_overturn_and_names_service_codes_and_dates(experimental) -> None:
    assert ("I ask that you overturn the denial of October 30, 2026 and authorize 6 intravenous "
            "ketamine infusions from December 7, 2026 to December 28, 2026 for Maria Alvarez: "
            "CPT 96365, HCPCS J3490 (ketamine hydrochloride 34 mg IV, NDC 00409-2051-05); "
            "diagnosis G90.521.") in experimental


# --- each reason on the plan's own terms ---------------------------------------------------

def test_experimental_quotes_the_definition_and_answers_each_test(experimental: str) -> None:
    data = example("appeals/experimental.yaml")
    definition = data["denial"]["plan_definition"]
    assert " ".join(definition["text"].split()) in experimental
    assert "Cascade PPO Gold Evidence of Coverage, section 9 (Definitions), 2026 plan year" \
        in experimental
    for test in definition["tests"]:
        assert " ".join(test["test"].split()) in experimental
        assert " ".join(test["answer"].split()) in experimental
    assert "version effective 2026-07-01" in experimental  # the policy's version, as recorded


def test_a_product_approval_test_is_met_by_ketamines_approval(experimental: str) -> None:
    assert "Its approval test asks for the product's final FDA approval. Ketamine " \
        "hydrochloride injection has it" in experimental


def test_a_condition_approval_test_is_not_pretended(practice) -> None:
    text = text_of(example("appeals/external-review-urgent.yaml"), practice)
    assert "Its first test asks for FDA approval for the condition treated" in text
    # the approval fact stated once and plainly, without conceding the appeal
    assert "no ketamine product has FDA approval for chronic pain, CRPS I included" in text
    assert "this appeal does not suggest otherwise" not in text
    # the exception is the Medical Director's; the independent reviewer is not asked for it
    assert "That exception is for the plan's Medical Director to grant" in text
    assert "under the exception the plan provides" not in text
    assert "has it: the drug is FDA-approved" not in text


def test_experimental_reserves_external_review_and_asks_to_apply_the_definition(experimental):
    assert "We ask the plan to apply its own definition to that evidence" in experimental
    # appeals.md 5.2: external review is requested if the internal appeal is upheld
    assert "requests independent external review" in experimental


def test_medicare_reserves_the_next_level_not_external_review(practice) -> None:
    data = example("appeals/experimental.yaml")
    data["coverage"]["plan_type"] = "medicare_advantage"
    data["denial"]["appellant"] = "patient"
    text = text_of(data, practice)
    assert "the next level of appeal, including review by the independent review entity" in text
    assert "independent external review" not in text


def test_without_the_definition_the_letter_asks_for_it(practice) -> None:
    data = example("appeals/experimental.yaml")
    del data["denial"]["plan_definition"]
    text = text_of(data, practice)
    assert 'We ask for the plan\'s definition of "experimental or investigational" that was ' \
        "applied" in text
    assert findings(data, practice)["DEFINITION_NOT_RECORDED"] == "ADVISORY"


@pytest.mark.parametrize("name", ["experimental", "external-review-urgent", "off-label"])
def test_no_rebuttal_asserts_the_treatment_is_not_experimental(practice, name: str) -> None:
    text = text_of(example(f"appeals/{name}.yaml"), practice).lower()
    for bare in ("not an experimental", "not experimental", "not an investigational",
                 "not investigational"):
        assert bare not in text


def test_off_label_quotes_the_clause_and_answers_it_without_compendia(practice) -> None:
    data = example("appeals/off-label.yaml")
    text = text_of(data, practice)
    clause = data["denial"]["off_label_clause"]
    assert " ".join(clause["text"].split()) in text
    for test in clause["tests"]:
        assert " ".join(test["answer"].split()) in text
    assert "we ask the plan to apply its clause to that evidence" in text
    assert "compendi" not in text.lower()


def test_step_therapy_maps_each_requirement_to_what_was_tried(practice) -> None:
    text = text_of(example("appeals/step-therapy.yaml"), practice)
    assert "The plan requires Class What the patient tried" in text
    assert "First-line agent: a gabapentinoid (gabapentin or pregabalin) Gabapentinoid " \
        "gabapentin, 3600 mg/day, May 2024 – Oct 2024: stopped for adverse effects; " \
        "pregabalin, 300 mg/day, Oct 2024 – Feb 2025: inadequate response" in text
    assert "First-line agent: an antidepressant (SNRI) SNRI antidepressant duloxetine" in text


def test_a_requirement_not_met_in_the_record_is_shown_and_flagged(practice) -> None:
    data = example("appeals/step-therapy.yaml")
    data["denial"]["step_requirements"].append(
        {"requirement": "A trial of a topical lidocaine patch",
         "therapy_class": "topical-lidocaine"})
    text = text_of(data, practice)
    assert "A trial of a topical lidocaine patch Lidocaine 5% patch none recorded in this class" \
        in text
    assert findings(data, practice)["STEP_NOT_SHOWN"] == "ADVISORY"


def test_an_unknown_step_class_blocks(practice) -> None:
    data = example("appeals/step-therapy.yaml")
    data["denial"]["step_requirements"][0]["therapy_class"] = "gabapentinoids"
    assert findings(data, practice)["STEP_CLASS_UNKNOWN"] == "BLOCKING"


def test_frequency_answers_with_the_interval_the_relief_justifies(practice) -> None:
    data = example("appeals/frequency-limit.yaml")  # 3 infusions over 30 weeks; 10 weeks relief
    text = text_of(data, practice)
    # the relief followed the 6-infusion series, not one infusion
    assert "The maintenance infusions requested are 10 weeks apart, the interval that the 10 " \
        "weeks of relief after the series supports" in text
    data["ketamine_response"]["relief_weeks"] = 6
    text = text_of(data, practice)
    assert "The maintenance infusions requested are 10 weeks apart; the relief documented after " \
        "the series lasted 6 weeks." in text
    assert "the interval that the" not in text


# --- review findings for each missing element ----------------------------------------------

@pytest.mark.parametrize(("example_name", "change", "code"), [
    ("experimental", lambda d: d["denial"].pop("appellant"), "APPELLANT_NOT_STATED"),
    ("experimental", lambda d: d["denial"].pop("representative_form"),
     "REPRESENTATIVE_FORM_MISSING"),
    ("experimental", lambda d: d["denial"].pop("authorization_reference"),
     "NO_AUTHORIZATION_REFERENCE"),
    ("experimental", lambda d: d["denial"].pop("policy_version"), "POLICY_VERSION_NOT_RECORDED"),
    ("experimental", lambda d: d["denial"]["plan_definition"].pop("version"),
     "DEFINITION_VERSION_NOT_RECORDED"),
    ("experimental", lambda d: d["denial"]["plan_definition"].pop("tests"),
     "DEFINITION_TESTS_NOT_ANSWERED"),
    ("off-label", lambda d: d["denial"].pop("off_label_clause"), "OFF_LABEL_CLAUSE_NOT_RECORDED"),
    ("step-therapy", lambda d: d["denial"].pop("step_requirements"),
     "STEP_REQUIREMENTS_NOT_RECORDED"),
    ("frequency-limit", lambda d: d["ketamine_response"].pop("relief_weeks"),
     "FREQUENCY_WITHOUT_RELIEF_DURATION"),
    ("retro-authorization", lambda d: d["denial"].pop("claim_number"), "NO_CLAIM_NUMBER"),
])
def test_a_missing_element_is_advised(practice, example_name, change, code) -> None:
    data = example(f"appeals/{example_name}.yaml")
    assert code not in findings(data, practice)
    changed = copy.deepcopy(data)
    change(changed)
    assert findings(changed, practice)[code] == "ADVISORY"


@pytest.mark.parametrize(("field", "code"), [("call_windows", "NO_CALL_WINDOWS"),
                                             ("direct_phone", "NO_DIRECT_LINE")])
def test_peer_to_peer_needs_the_profile(practice, field: str, code: str) -> None:
    chen = practice.physician("dr-chen").model_copy(
        update={field: [] if field == "call_windows" else None})
    bare = practice.model_copy(update={"physicians": [chen, *practice.physicians[1:]]})
    assert findings(example("appeals/experimental.yaml"), bare)[code] == "ADVISORY"


# --- CO-197: a request for retroactive authorization ----------------------------------------

@pytest.mark.parametrize(("denial", "kind"), [
    ({"carc_codes": ["CO-197"]}, LetterKind.RETRO_AUTHORIZATION),
    ({"reasons": ["no_prior_authorization"]}, LetterKind.RETRO_AUTHORIZATION),
    ({"carc_codes": ["CO-197"], "requested_action": "appeal"}, LetterKind.APPEAL),
    ({"reasons": ["experimental"]}, LetterKind.APPEAL),
    ({"reasons": ["experimental"], "requested_action": "retro_authorization"},
     LetterKind.RETRO_AUTHORIZATION),
])
def test_the_kind_rule_answers_co197_with_a_retro_request(denial, kind) -> None:
    data = example("appeals/retro-authorization.yaml")
    data["denial"] = {**{k: v for k, v in data["denial"].items()
                         if k not in ("carc_codes", "reasons", "requested_action")}, **denial}
    assert LetterKind.for_case(Case.model_validate(data)) is kind


def test_the_retro_kind_has_its_template_title_and_words() -> None:
    kind = LetterKind.parse("retro_authorization")
    assert kind is LetterKind.RETRO_AUTHORIZATION and kind.answers_denial
    assert kind.template == "retro_authorization.xml.j2"
    assert kind.title == "Request for retroactive authorization"
    assert kind.words == "a request for retroactive authorization"


def test_the_appeal_command_writes_the_retro_request_for_co197(tmp_path, run_cli) -> None:
    out = tmp_path / "retro.pdf"
    result = run_cli("appeal", EXAMPLES / "appeals" / "retro-authorization.yaml", "-o", out,
                     "--today", "2026-11-23")
    assert result.code == 0, result.output
    assert "request: retroactive authorization" in result.output
    reader = PdfReader(out)
    assert reader.metadata.title.startswith("Request for retroactive authorization")
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "RE: Request for retroactive authorization" in text
    assert "I ask that you authorize retroactively 6 intravenous ketamine infusions from " \
        "October 12, 2026 to November 2, 2026" in text
    assert "Why authorization was not obtained before treatment" in text
    assert "faxed on 2026-09-15" in text
    # the infusions were given: past tense, and the actual outcome, a non-response, as it was
    assert "This request covers infusions already given, from October 12, 2026 to November 2, " \
        "2026" in text
    assert "a 12.5% reduction from the baseline: the test was not met" in text
    assert "We request an initial series" not in text and "Appeal of denial" not in text


def test_a_pas_request_names_the_payers_prior_authorization_address(practice) -> None:
    import json

    from coverage.fhir.pas_parties import insurer

    data = example("crps-1.yaml")
    data["coverage"] = {"payer_id": "cascade-health", "plan_type": "erisa_group"}
    organization = json.dumps(insurer(inputs_of(data, practice)))
    assert "Cascade Health Plan" in organization
    assert PA_FAX in organization and "PO Box 4410" in organization
    assert APPEALS_FAX not in organization and "PO Box 4455" not in organization


def test_an_lmn_for_a_payer_without_a_prior_authorization_address_is_flagged(practice) -> None:
    data = example("crps-1.yaml")
    data["coverage"] = {"payer_id": "cascade-health", "plan_type": "erisa_group"}
    assert "NO_ADDRESS_FOR_PURPOSE" not in findings(data, practice, LetterKind.LMN)
    bare = practice.model_copy(update={"payers": {
        "cascade-health": practice.payers["cascade-health"].model_copy(
            update={"prior_authorization": None})}})
    assert findings(data, bare, LetterKind.LMN)["NO_ADDRESS_FOR_PURPOSE"] == "ADVISORY"
