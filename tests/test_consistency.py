"""Facts that must agree: a test per finding of review/consistency.py and claim_denials.py."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from coverage.case import Case
from coverage.codes import load_code_set
from coverage.kinds import LetterKind
from coverage.knowledge import load_knowledge
from coverage.loading import load_practice
from coverage.review import Review, review_case
from coverage.review.appeal import review_appeal

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def world():
    return load_practice(EXAMPLES / "practice.yaml"), load_knowledge(), load_code_set()


def review(world, data: dict[str, Any]) -> Review:
    practice, kb, codes = world
    case = Case.model_validate(data)
    base = review_case(case, practice, kb, codes, case.letter_date)
    if case.denial is None:
        return base
    return review_appeal(case, practice, kb, base, case.letter_date, False,
                         kind=LetterKind.for_case(case))


def example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))


def codes_of(result: Review) -> dict[str, str]:
    return {f.code: f.severity.value for f in result.findings}


def test_examples_agree_with_themselves(world) -> None:
    consistency = {"SERVICE_BEFORE_DENIAL", "CARC_ON_SERVICES_NOT_GIVEN", "REQUESTED_START_PAST",
                   "BASELINE_AFTER_FIRST_INFUSION", "NO_PRE_TREATMENT_SCORE",
                   "INTERVAL_SHORTER_THAN_RELIEF", "INTERVAL_LONGER_THAN_RELIEF",
                   "DECISION_DATES_DISAGREE", "FIRST_LEVEL_DATE_ON_FIRST_APPEAL"}
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        if path.name != "practice.yaml":
            found = set(codes_of(review(world, example(str(path.relative_to(EXAMPLES))))))
            assert not found & consistency, (path.name, found & consistency)


def test_prospective_dates_of_service_before_the_denial(world) -> None:
    data = example("appeals/not-medically-necessary.yaml")
    data["denial"]["service_from"] = date(2026, 10, 12)
    assert codes_of(review(world, data))["SERVICE_BEFORE_DENIAL"] == "BLOCKING"


def test_claim_codes_on_services_not_yet_given(world) -> None:
    data = example("appeals/not-medically-necessary.yaml")
    data["denial"]["carc_codes"] = ["CO-50"]
    assert codes_of(review(world, data))["CARC_ON_SERVICES_NOT_GIVEN"] == "BLOCKING"


def test_a_baseline_dated_after_the_first_infusion(world) -> None:
    data = example("appeals/retro-authorization.yaml")
    data["pain"]["scores"].append({"date": date(2026, 10, 20), "nrs": 8, "context": "baseline"})
    assert codes_of(review(world, data))["BASELINE_AFTER_FIRST_INFUSION"] == "BLOCKING"


def test_retrospective_request_reports_pre_treatment_baseline_and_outcome(world) -> None:
    found = [f for f in review(world, example("appeals/retro-authorization.yaml")).findings
             if f.code == "RETROSPECTIVE_BASELINE"]
    assert len(found) == 1
    message = found[0].message
    assert "pre-treatment score 8/10 on 2026-10-05" in message
    assert "7/10 on 2026-11-16, a 12.5% reduction, which is below the 30%" in message


def test_retrospective_without_a_pre_treatment_score_blocks(world) -> None:
    data = example("appeals/retro-authorization.yaml")
    data["pain"]["scores"] = [s for s in data["pain"]["scores"]
                              if date.fromisoformat(str(s["date"])) > date(2026, 10, 12)]
    assert codes_of(review(world, data))["NO_PRE_TREATMENT_SCORE"] == "BLOCKING"


@pytest.mark.parametrize(("relief", "code"), [(10, None), (14, "INTERVAL_SHORTER_THAN_RELIEF"),
                                              (6, "INTERVAL_LONGER_THAN_RELIEF")])
def test_maintenance_interval_against_the_relief(world, relief, code) -> None:
    data = example("appeals/frequency-limit.yaml")  # 3 infusions over 30 weeks: every 10
    data["ketamine_response"]["relief_weeks"] = relief
    found = {c for c in codes_of(review(world, data)) if c.startswith("INTERVAL_")}
    assert found == ({code} if code else set())


def test_an_earlier_decision_dated_after_the_denial(world) -> None:
    data = example("appeals/external-review-urgent.yaml")
    data["denial"]["first_level_date"] = date(2026, 11, 2)
    assert codes_of(review(world, data))["DECISION_DATES_DISAGREE"] == "BLOCKING"


def test_requested_start_before_the_letter_date(world) -> None:
    data = example("crps-1.yaml")
    data["plan"]["requested_start"] = date(2026, 11, 2)
    assert codes_of(review(world, data))["REQUESTED_START_PAST"] == "ADVISORY"


def test_co16_is_not_an_appeal(world) -> None:
    result = review(world, example("appeals/blocked-corrected-claim.yaml"))
    assert [f.code for f in result.blocking] == ["CORRECTED_CLAIM_NOT_APPEAL"]
    assert "corrected claim" in result.blocking[0].message


def test_co197_asks_for_a_retro_authorization(world) -> None:
    data = example("appeals/retro-authorization.yaml")
    assert "RETRO_AUTHORIZATION_NOT_APPEAL" not in codes_of(review(world, data))
    data["denial"]["requested_action"] = "appeal"
    assert codes_of(review(world, data))["RETRO_AUTHORIZATION_NOT_APPEAL"] == "ADVISORY"
