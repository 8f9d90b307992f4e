"""Impossible facts of the right type are findings, never letters (issue 16); messages carry
no patient data."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from coverage.case import Case
from coverage.review.plausibility import review_plausibility

ROOT = Path(__file__).resolve().parent.parent
LETTER_DATE = date(2026, 11, 20)


@pytest.fixture
def data() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "examples" / "crps-1.yaml").read_text(encoding="utf-8"))


def findings(data: dict, today: date | None = None) -> list[tuple[str, str, str]]:
    case = Case.model_validate(data)
    return [(f.code, f.field, f.message)
            for f in review_plausibility(case, case.letter_date or LETTER_DATE, today)]


def codes(data: dict, today: date | None = None) -> set[tuple[str, str]]:
    return {(code, field) for code, field, _ in findings(data, today)}


def test_the_example_is_plausible(data):
    assert findings(data, today=LETTER_DATE) == []


def test_a_weight_under_the_bound(data):
    data["patient"]["weight_kg"] = 7.5
    assert codes(data) == {("WEIGHT_IMPLAUSIBLE", "patient.weight_kg")}


def test_a_score_above_its_own_maximum(data):
    data["pain"]["measures"] = [{"date": "2026-10-01", "instrument": "PHQ-9", "score": 31,
                                 "max_score": 27}]
    assert codes(data) == {("SCORE_ABOVE_MAXIMUM", "pain.measures[0].score")}


def test_dates_before_birth_and_reversed_ranges(data):
    born = date.fromisoformat(str(data["patient"]["date_of_birth"]))
    data["pain"]["measures"] = [{"date": str(born - timedelta(days=3)), "instrument": "ODI",
                                 "score": 40, "max_score": 100}]
    found = findings(data)
    assert ("DATE_BEFORE_BIRTH", "pain.measures[0].date") in {(c, f) for c, f, _ in found}
    assert all(str(born) not in message and str(born - timedelta(days=3)) not in message
               for _, _, message in found)


def test_a_letter_dated_far_ahead_of_today(data):
    data["letter_date"] = str(LETTER_DATE)
    assert codes(data, today=LETTER_DATE - timedelta(weeks=10)) == {
        ("LETTER_DATE_AHEAD", "letter_date")}
    assert codes(data, today=LETTER_DATE - timedelta(weeks=2)) == set()


def test_an_earlier_appeal_dated_after_the_letter(data):
    appeal = yaml.safe_load((ROOT / "examples" / "appeals" / "experimental.yaml").read_text())
    appeal["denial"]["level"] = "second_internal"
    appeal["denial"]["first_level_date"] = str(date.fromisoformat(str(appeal["letter_date"]))
                                               + timedelta(days=5))
    assert ("DATE_IN_FUTURE", "denial.first_level_date") in codes(appeal)


def test_a_denied_service_range_that_ends_before_it_starts(data):
    appeal = yaml.safe_load((ROOT / "examples" / "appeals" / "experimental.yaml").read_text())
    appeal["denial"]["service_from"] = "2026-10-10"
    appeal["denial"]["service_to"] = "2026-10-01"
    assert ("DATE_ORDER", "denial.service_to") in codes(appeal)


@pytest.mark.parametrize(("field", "text", "code"), [
    (("patient", "name", "given"), "Ma\u202eria", "TEXT_DIRECTION_CONTROL"),
    (("patient", "name", "family"), "Alva\nrez", "TEXT_LINE_BREAK"),
    (("patient", "name", "family"), "Alva\u2028rez", "TEXT_LINE_BREAK"),
    (("coverage", "payer_name"), "Aetna\x1b[2J", "TEXT_CONTROL_CHARACTER"),
    (("plan", "setting"), "suite\u2066 B", "TEXT_DIRECTION_CONTROL"),
])
def test_control_characters_line_breaks_and_direction_overrides(data, field, text, code):
    target = data
    for part in field[:-1]:
        target = target[part]
    target[field[-1]] = text
    found = findings(data)
    assert [(c, f) for c, f, _ in found] == [(code, ".".join(field))]
    assert text not in found[0][2]


def test_a_line_break_in_a_note_field_is_fine(data):
    data["plan"]["setting"] = "outpatient suite"
    data["pain"]["functional_impact"] = "cannot walk far.\ncannot drive."
    assert findings(data) == []


def test_the_cli_blocks_the_letter(tmp_path, practice_into, run_cli, data):
    practice_into(tmp_path)
    data["patient"]["weight_kg"] = 4
    case = tmp_path / "case.json"
    case.write_text(json.dumps(data, default=str))
    result = run_cli("letter", case, "-o", tmp_path / "x.pdf")
    assert result.code == 2 and "WEIGHT_IMPLAUSIBLE" in result.stderr
    assert not (tmp_path / "x.pdf").exists()
