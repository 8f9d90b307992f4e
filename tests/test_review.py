"""Readiness review: one test per BLOCKING finding, the main ADVISORY ones, CPT units, NPI.

Each case starts from the crps-1 example (which has no findings at all) and changes one thing,
so the finding it must raise is the only blocking one.
"""

from __future__ import annotations

import copy
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from coverage.case import Case
from coverage.codes import infusion_lines, load_code_set
from coverage.drug_route import Route
from coverage.knowledge import load_knowledge
from coverage.loading import load_practice
from coverage.pipeline import load_inputs
from coverage.pipeline import review as review_inputs
from coverage.practice import Practice, npi_check_digit, npi_is_valid
from coverage.review import Review, Severity, review_case

LETTER_DATE = date(2026, 11, 20)  # crps-1's letter_date
TODAY = date(2026, 11, 25)
GOOD_EXAMPLES = [
    "crps-1", "crps-2", "phn", "pdpn", "peripheral-neuropathy", "fibromyalgia", "unicode-names",
]  # fmt: skip
CRPS_EXAMPLES = {"crps-1", "crps-2", "unicode-names"}


@pytest.fixture(scope="module")
def world(examples_dir: Path):
    return load_practice(examples_dir / "practice.yaml"), load_knowledge(), load_code_set()


@pytest.fixture
def check(world):
    practice, kb, codes = world

    def run(data: dict[str, Any], letter_date: date | None = None) -> Review:
        case = Case.model_validate(data)
        return review_case(case, practice, kb, codes, letter_date or case.letter_date)

    return run


def blocking(result: Review) -> list[tuple[str, str]]:
    return [(f.code, f.field) for f in result.blocking]


def advisory(result: Review) -> list[tuple[str, str]]:
    """Advisory findings, less the code-set one every current case carries (test_coding_rules)."""
    return [(f.code, f.field) for f in result.advisory if f.code != "CODE_SET_NOT_FOR_DATES"]


def only_blocking(result: Review, code: str, field: str) -> None:
    """Exactly one BLOCKING finding, with this code and field."""
    assert blocking(result) == [(code, field)], result.findings
    finding = result.blocking[0]
    assert finding.severity is Severity.blocking
    assert finding.as_dict()["severity"] == "BLOCKING"
    assert finding.message
    assert not result.ok


# --- the baseline ---------------------------------------------------------------------------


def test_crps_1_example_has_no_finding_at_all(check, case_data) -> None:
    result = check(case_data)
    assert result.ok
    # FY2027 is not bundled: the only finding (tested in test_coding_rules) until it is loaded
    assert [f.code for f in result.findings] == ["CODE_SET_NOT_FOR_DATES"]
    assert result.condition.key == "crps-1"
    assert "ICD-10-CM FY2026" in result.code_set_release


@pytest.mark.parametrize("name", GOOD_EXAMPLES)
def test_good_examples_have_no_blocking_finding(examples_dir: Path, name: str) -> None:
    result = review_inputs(load_inputs(examples_dir / f"{name}.yaml"), TODAY)
    assert result.ok, result.blocking
    expected = set() if name in CRPS_EXAMPLES else {("WEAK_EVIDENCE", "diagnoses[0].code")}
    assert set(advisory(result)) == expected


def test_oral_example_is_blocked_for_its_route_only(examples_dir: Path) -> None:
    result = review_inputs(load_inputs(examples_dir / "blocked-oral-route.yaml"), TODAY)
    only_blocking(result, "ROUTE_NOT_IV", "plan.route")


# --- BLOCKING -------------------------------------------------------------------------------


def test_icd_unknown(check, case_data) -> None:
    case_data["diagnoses"].append({"code": "G89.99"})
    result = check(case_data)
    only_blocking(result, "ICD_UNKNOWN", "diagnoses[1].code")
    assert "G89.99" in result.blocking[0].message


@pytest.mark.parametrize("code", ["G90.5", "G90.52"])
def test_icd_not_billable(check, case_data, code: str) -> None:
    case_data["diagnoses"][0]["code"] = code
    result = check(case_data)
    only_blocking(result, "ICD_NOT_BILLABLE", "diagnoses[0].code")
    assert result.condition.key == "crps-1"  # the family is still recognised


def test_icd_not_billable_hint_suggests_only_billable_codes(check, case_data, world) -> None:
    codes = world[2]
    case_data["diagnoses"][0]["code"] = "G90.5"
    message = check(case_data).blocking[0].message
    suggested = re.findall(r"[A-Z]\d\d\.\w+", message.split("such as", 1)[1])
    assert suggested
    assert all(codes.lookup(code).billable for code in suggested), suggested


@pytest.mark.parametrize(
    "codes",
    [
        ["M54.2", "G89.29"],  # cervicalgia: no evidence base here
        ["B02.24"],  # postherpetic myelitis: left out of PHN on purpose
        ["E11.43"],  # diabetic autonomic neuropathy: not painful neuropathy
    ],
)
def test_no_recognised_condition(check, case_data, codes: list[str]) -> None:
    case_data["diagnoses"] = [{"code": code} for code in codes]
    result = check(case_data)
    only_blocking(result, "NO_RECOGNISED_CONDITION", "diagnoses")
    assert result.condition is None


def test_date_order_of_a_prior_therapy(check, case_data) -> None:
    therapy = case_data["prior_therapies"][2]
    therapy["end_date"] = therapy["start_date"] - timedelta(days=1)
    only_blocking(check(case_data), "DATE_ORDER", "prior_therapies[2].end_date")


def test_date_order_of_the_ketamine_response(check, case_data) -> None:
    case_data["ketamine_response"] = {
        "infusions_given": 6,
        "first_infusion": date(2026, 9, 20),
        "last_infusion": date(2026, 9, 10),
        "pain_before": 8,
        "pain_after": 4,
    }
    only_blocking(check(case_data), "DATE_ORDER", "ketamine_response.last_infusion")


def test_date_in_future(check, case_data) -> None:
    case_data["pain"]["scores"][2]["date"] = LETTER_DATE + timedelta(days=1)
    only_blocking(check(case_data), "DATE_IN_FUTURE", "pain.scores[2].date")


def test_date_on_the_letter_date_is_not_in_the_future(check, case_data) -> None:
    case_data["pain"]["scores"][2]["date"] = LETTER_DATE
    assert check(case_data).ok


def test_date_before_birth(check, case_data) -> None:
    case_data["diagnoses"][0]["onset_date"] = date(1980, 1, 1)
    only_blocking(check(case_data), "DATE_BEFORE_BIRTH", "diagnoses[0].onset_date")


@pytest.mark.parametrize(("field", "value"), [
    (("patient", "date_of_birth"), date(1899, 12, 31)),
    (("denial", "received_date"), date(9999, 12, 30)),  # overflowed the deadline arithmetic
    (("letter_date",), date(2100, 1, 1)),
])
def test_a_date_outside_1900_2099_is_refused_on_reading(case_data, field, value) -> None:
    from coverage.errors import InputError
    from coverage.loading import parse_model

    if field[0] == "denial":
        case_data["denial"] = {"denial_date": date(2026, 11, 2), "received_date": value,
                               "reference": "CLM-1", "service_denied": "IV ketamine",
                               "reasons": ["experimental"]}
    else:
        target = case_data
        for key in field[:-1]:
            target = target[key]
        target[field[-1]] = value
    with pytest.raises(InputError) as caught:
        parse_model(Case, case_data, "case.yaml")
    assert caught.value.lines() == [
        f"case.yaml: {'.'.join(field)}: is not a plausible date (between 1900 and 2099); "
        "check the year"
    ]


def test_date_impossible_birth_after_the_letter(check, case_data) -> None:
    case_data["patient"]["date_of_birth"] = LETTER_DATE + timedelta(days=1)
    result = check(case_data)
    assert ("DATE_IMPOSSIBLE", "patient.date_of_birth") in blocking(result)
    assert all(f.severity is Severity.blocking for f in result.blocking)


@pytest.mark.parametrize("route", [r.value for r in Route if r is not Route.intravenous_infusion])
def test_route_not_iv(check, case_data, route: str) -> None:
    case_data["plan"]["route"] = route
    result = check(case_data)
    only_blocking(result, "ROUTE_NOT_IV", "plan.route")
    assert "intravenous" in result.blocking[0].message
    addictive = route in ("oral", "sublingual", "intranasal")
    assert ("higher risk of addiction" in result.blocking[0].message) is addictive


@pytest.mark.parametrize("route", ["IM", "IV push", "no IV", "not intravenous",
                                   "IV then ketamine at home",
                                   "intravenous infusion; troches between visits",
                                   "IV or whatever the patient prefers", "IV, then nasal at home"])
def test_route_free_text_other_than_iv_is_refused_at_load(case_data, route: str) -> None:
    """Old free text loads only when it says intravenous infusion and nothing else."""
    case_data["plan"]["route"] = route
    with pytest.raises(ValidationError) as caught:
        Case.model_validate(case_data)
    (error,) = caught.value.errors()
    assert error["loc"] == ("plan", "route")
    assert "intravenous infusion" in error["msg"] and route not in error["msg"]


@pytest.mark.parametrize("note", ["peripheral IV, infusion pump", "via a 22-gauge cannula",
                                  "continuous infusion over 40 minutes"])
def test_route_note_on_the_infusion_is_accepted(check, case_data, note: str) -> None:
    case_data["plan"]["route_note"] = note
    assert check(case_data).ok


@pytest.mark.parametrize("note", ["then nasal spray at home", "oral between visits",
                                  "no IV access; IM instead", "not intravenous",
                                  "bolus before the infusion", "troches as needed"])
def test_route_note_naming_another_route_is_refused(check, case_data, note: str) -> None:
    case_data["plan"]["route_note"] = note
    only_blocking(check(case_data), "ROUTE_NOTE_NOT_IV", "plan.route_note")


@pytest.mark.parametrize(
    "route", ["IV", "intravenous", "Intravenous Infusion", "iv-infusion", " intravenous  infusion ",
              "continuous intravenous (IV) infusion"]
)
def test_intravenous_spellings_are_accepted(check, case_data, route: str) -> None:
    case_data["plan"]["route"] = route
    assert check(case_data).ok


@pytest.mark.parametrize("dose", [0.05, 0.099, 1.01, 2.0])
def test_dose_out_of_bounds(check, case_data, dose: float) -> None:
    case_data["plan"]["dose_mg_per_kg"] = dose
    only_blocking(check(case_data), "DOSE_OUT_OF_BOUNDS", "plan.dose_mg_per_kg")


@pytest.mark.parametrize("dose", [0.1, 1.0])
def test_dose_at_the_protocol_limits_is_accepted(check, case_data, dose: float) -> None:
    case_data["plan"]["dose_mg_per_kg"] = dose
    assert check(case_data).ok


@pytest.mark.parametrize("minutes", [10, 39, 61, 90])
def test_duration_out_of_bounds(check, case_data, minutes: int) -> None:
    case_data["plan"]["minutes_per_infusion"] = minutes
    only_blocking(check(case_data), "DURATION_OUT_OF_BOUNDS", "plan.minutes_per_infusion")


@pytest.mark.parametrize("minutes", [40, 60])
def test_duration_at_the_protocol_limits_is_accepted(check, case_data, minutes: int) -> None:
    case_data["plan"]["minutes_per_infusion"] = minutes
    assert check(case_data).ok


@pytest.mark.parametrize("place", [12, 21, 23, 49])
def test_place_of_service(check, case_data, place: int) -> None:
    case_data["plan"]["place_of_service"] = place
    only_blocking(check(case_data), "PLACE_OF_SERVICE", "plan.place_of_service")


@pytest.mark.parametrize("place", [11, 19, 22, 24])
def test_monitored_places_of_service_are_accepted(check, case_data, place: int) -> None:
    case_data["plan"]["place_of_service"] = place
    assert check(case_data).ok


def test_no_prior_therapy(check, case_data) -> None:
    case_data["prior_therapies"] = []
    only_blocking(check(case_data), "NO_PRIOR_THERAPY", "prior_therapies")


def test_therapy_class_unknown(check, case_data) -> None:
    case_data["prior_therapies"][1]["therapy_class"] = "anticonvulsant"
    only_blocking(check(case_data), "THERAPY_CLASS_UNKNOWN", "prior_therapies[1].therapy_class")


def test_therapy_class_given_explicitly_is_accepted(check, case_data) -> None:
    case_data["prior_therapies"][1]["therapy_class"] = "gabapentinoid"
    assert check(case_data).ok


def test_maintenance_without_response(check, case_data) -> None:
    case_data["plan"]["phase"] = "maintenance"
    only_blocking(check(case_data), "MAINTENANCE_WITHOUT_RESPONSE", "ketamine_response")


def _maintenance(case_data: dict, before: float, after: float, threshold: int = 30) -> dict:
    case_data["plan"]["phase"] = "maintenance"
    case_data["plan"]["response_threshold_percent"] = threshold
    case_data["ketamine_response"] = {
        "infusions_given": 6,
        "first_infusion": date(2026, 9, 1),
        "last_infusion": date(2026, 9, 15),
        "pain_before": before,
        "pain_after": after,
        "relief_weeks": 5,
    }
    return case_data


@pytest.mark.parametrize(
    ("before", "after", "threshold"), [(8, 6.5, 30), (8, 7, 30), (8, 5, 50), (6, 6, 30)]
)
def test_response_below_threshold(check, case_data, before, after, threshold) -> None:
    result = check(_maintenance(case_data, before, after, threshold))
    only_blocking(result, "RESPONSE_BELOW_THRESHOLD", "ketamine_response.pain_after")


@pytest.mark.parametrize(("before", "after", "threshold"), [(10, 7, 30), (8, 4, 50), (8, 2, 30)])
def test_response_at_or_above_threshold_allows_maintenance(check, case_data, before, after,
                                                           threshold) -> None:
    assert check(_maintenance(case_data, before, after, threshold)).ok


# --- ADVISORY -------------------------------------------------------------------------------


def _therapies(case_data: dict, *agents: str) -> dict:
    by_agent = {t["agent"]: t for t in case_data["prior_therapies"]}
    case_data["prior_therapies"] = [copy.deepcopy(by_agent[a]) for a in agents]
    return case_data


def test_few_standard_classes(check, case_data) -> None:
    result = check(_therapies(case_data, "gabapentin", "pregabalin"))
    assert result.ok
    assert _without_options(result) == [("FEW_STANDARD_CLASSES", "prior_therapies")]
    assert result.advisory[0].severity is Severity.advisory


def test_two_standard_classes_are_enough(check, case_data) -> None:
    result = check(_therapies(case_data, "gabapentin", "duloxetine"))
    assert _without_options(result) == []


def _without_options(result: Review) -> list[tuple[str, str]]:
    """Advisories less the guideline-options one (tests/test_options.py covers it)."""
    return [a for a in advisory(result) if a[0] != "RECOMMENDED_OPTION_NOT_ADDRESSED"]


def test_single_prior_therapy(check, case_data) -> None:
    result = check(_therapies(case_data, "gabapentin"))
    assert result.ok
    assert ("SINGLE_PRIOR_THERAPY", "prior_therapies") in advisory(result)
    assert ("FEW_STANDARD_CLASSES", "prior_therapies") in advisory(result)


def test_no_pain_score(check, case_data) -> None:
    case_data["pain"]["scores"] = []
    result = check(case_data)
    assert result.ok
    assert advisory(result) == [("NO_PAIN_SCORE", "pain.scores")]


@pytest.mark.parametrize(("days", "flagged"), [(90, False), (91, True), (400, True)])
def test_no_recent_pain_score(check, case_data, days: int, flagged: bool) -> None:
    case_data["pain"]["scores"] = [
        {"date": LETTER_DATE - timedelta(days=days), "nrs": 8},
        {"date": LETTER_DATE - timedelta(days=days + 30), "nrs": 7},
    ]
    result = check(case_data)
    assert result.ok
    expected = [("NO_RECENT_PAIN_SCORE", "pain.scores")] if flagged else []
    assert advisory(result) == expected


def test_safety_not_documented(check, case_data) -> None:
    del case_data["safety"]["liver"]
    case_data["safety"]["cardiac"]["reviewed"] = False
    result = check(case_data)
    assert result.ok
    assert sorted(advisory(result)) == [
        ("SAFETY_NOT_DOCUMENTED", "safety.cardiac"),
        ("SAFETY_NOT_DOCUMENTED", "safety.liver"),
    ]


def test_pregnancy_screening_is_expected_for_women_not_for_men(check, case_data) -> None:
    del case_data["safety"]["pregnancy"]
    assert advisory(check(case_data)) == [("SAFETY_NOT_DOCUMENTED", "safety.pregnancy")]
    case_data["patient"]["sex"] = "male"
    assert advisory(check(case_data)) == []


def test_safety_concern_is_advised(check, case_data) -> None:
    case_data["safety"]["blood_pressure"] = {
        "reviewed": True, "finding": "BP 168/102 on 2026-11-04", "concern": True,
    }  # fmt: skip
    assert advisory(check(case_data)) == [("SAFETY_CONCERN", "safety.blood_pressure")]


@pytest.mark.parametrize("name", ["fibromyalgia", "phn", "pdpn", "peripheral-neuropathy"])
def test_weak_evidence_outside_crps(examples_dir: Path, name: str) -> None:
    result = review_inputs(load_inputs(examples_dir / f"{name}.yaml"), TODAY)
    assert ("WEAK_EVIDENCE", "diagnoses[0].code") in advisory(result)
    assert result.condition.guideline_grade == "weak"


@pytest.mark.parametrize("name", sorted(CRPS_EXAMPLES))
def test_no_weak_evidence_for_crps(examples_dir: Path, name: str) -> None:
    result = review_inputs(load_inputs(examples_dir / f"{name}.yaml"), TODAY)
    assert "WEAK_EVIDENCE" not in {f.code for f in result.findings}
    assert result.condition.guideline_grade == "moderate"


def test_weak_evidence_when_crps_case_is_recoded_as_fibromyalgia(check, case_data) -> None:
    case_data["diagnoses"] = [{"code": "M79.7", "onset_date": date(2024, 2, 10),
                               "how_diagnosed": "2016 criteria met"}]
    result = check(case_data)
    assert result.condition.key == "fibromyalgia"
    assert ("WEAK_EVIDENCE", "diagnoses[0].code") in advisory(result)


@pytest.mark.parametrize("met", [False, None])
def test_crps_criteria_not_documented(check, case_data, met: bool | None) -> None:
    if met is None:
        del case_data["diagnoses"][0]["budapest_criteria_met"]
    else:
        case_data["diagnoses"][0]["budapest_criteria_met"] = met
    result = check(case_data)
    assert result.ok
    assert advisory(result) == [
        ("CRPS_CRITERIA_NOT_DOCUMENTED", "diagnoses[0].budapest_criteria_met")
    ]


def test_primary_not_first(check, case_data) -> None:
    case_data["diagnoses"].insert(0, {"code": "G47.00"})  # insomnia listed first
    result = check(case_data)
    assert result.ok
    assert ("PRIMARY_NOT_FIRST", "diagnoses[0].code") in advisory(result)
    # the CRPS diagnosis is now diagnoses[1]; its criteria are documented there
    assert result.condition.key == "crps-1"


# --- CPT units by minutes (coding.md table) -------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (10, [("96374", 1)]),
        (15, [("96374", 1)]),
        (16, [("96365", 1)]),
        (40, [("96365", 1)]),
        (60, [("96365", 1)]),
        (90, [("96365", 1)]),
        (91, [("96365", 1), ("96366", 1)]),
        (150, [("96365", 1), ("96366", 1)]),
        (151, [("96365", 1), ("96366", 2)]),
        (210, [("96365", 1), ("96366", 2)]),
        (211, [("96365", 1), ("96366", 3)]),
        (240, [("96365", 1), ("96366", 3)]),
        (271, [("96365", 1), ("96366", 4)]),
    ],
)
def test_infusion_lines_by_minutes(minutes: int, expected: list[tuple[str, int]]) -> None:
    assert [(line.code, line.units) for line in infusion_lines(minutes)] == expected


# --- NPI ------------------------------------------------------------------------------------


def _luhn_plus_24(nine: str) -> int:
    """coding.md's shortcut: Luhn over the nine digits, plus 24 for the 80840 prefix."""
    total = 24
    for position, char in enumerate(reversed(nine)):
        digit = int(char)
        if position % 2 == 0:
            digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
        total += digit
    return (10 - total % 10) % 10


@pytest.mark.parametrize(
    ("npi", "valid"),
    [
        ("1234567893", True),  # CMS's own example
        ("1398999619", True),  # dr-okafor in examples/practice.yaml
        ("1234567890", False),
        ("1234567894", False),
        ("123456789", False),
        ("12345678930", False),
        ("123456789A", False),
        ("", False),
    ],
)
def test_npi_validation(npi: str, valid: bool) -> None:
    assert npi_is_valid(npi) is valid


def test_npi_check_digit_agrees_with_the_shortcut() -> None:
    assert npi_check_digit("123456789") == 3
    for seed in range(0, 999_999_999, 7_654_321):
        nine = f"{seed:09d}"
        assert npi_check_digit(nine) == _luhn_plus_24(nine), nine


def test_practice_refuses_a_bad_npi(examples_dir: Path) -> None:
    import yaml

    data = yaml.safe_load((examples_dir / "practice.yaml").read_text(encoding="utf-8"))
    data["physicians"][0]["npi"] = "1234567890"
    with pytest.raises(ValidationError) as caught:
        Practice.model_validate(data)
    assert caught.value.errors()[0]["loc"] == ("physicians", 0, "npi")
    assert "check digit" in str(caught.value)
