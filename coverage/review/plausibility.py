"""Values of the right type that cannot be true: findings, never letters.

A weight of 3 kg, a score above its own scale, a date before the patient was born, a range
that ends before it starts, a letter dated months ahead, a name with a line break or a
right-to-left override in it: each would print an impossible (or disguised) fact in a letter
a payer reads. Messages name the field and the rule, never the value (no patient data).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel

from coverage.case import Case
from coverage.review.findings import Finding, Severity

MIN_WEIGHT_KG = 20.0  # below this the weight is in the wrong unit or mistyped
LETTER_DATE_AHEAD = timedelta(weeks=6)  # a letter dated further ahead than this is a typo
FAR_AFTER_LETTER = timedelta(days=366)  # a requested start beyond a year is not this request
SINGLE_LINE_MAX = 200  # text fields up to this length are single-line (names, ids, places)
_LINE_BREAKS = re.compile("[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def review_plausibility(case: Case, letter_date: date, today: date | None = None
                        ) -> list[Finding]:
    """Every impossible value in the case, as BLOCKING findings."""
    findings: list[Finding] = []

    def block(code: str, field: str, message: str) -> None:
        findings.append(Finding(code, Severity.blocking, field, message))

    _weight(case, block)
    _scores(case, block)
    _dates(case, letter_date, today, block)
    _characters(case, block)
    return findings


def _weight(case: Case, block) -> None:
    if case.patient.weight_kg < MIN_WEIGHT_KG:
        block("WEIGHT_IMPLAUSIBLE", "patient.weight_kg",
              f"below {MIN_WEIGHT_KG:g} kg: check the number and that it is in kilograms")


def _scores(case: Case, block) -> None:
    for i, measure in enumerate(case.pain.measures):
        field = f"pain.measures[{i}].score"
        if measure.score < 0:
            block("SCORE_IMPOSSIBLE", field, "a score below zero; check the record")
        if measure.max_score is not None and measure.score > measure.max_score:
            block("SCORE_ABOVE_MAXIMUM", field,
                  "higher than the instrument's own maximum (max_score); check the record")
        if measure.max_score is not None and measure.max_score <= 0:
            block("SCORE_IMPOSSIBLE", f"pain.measures[{i}].max_score",
                  "an instrument's maximum must be above zero")


def _dates(case: Case, letter_date: date, today: date | None, block) -> None:
    born = case.patient.date_of_birth

    def before_birth(value: date | None, field: str) -> None:
        if value is not None and value < born:
            block("DATE_BEFORE_BIRTH", field, "before the patient's date of birth")

    def ordered(start: date | None, end: date | None, field: str) -> None:
        if start is not None and end is not None and end < start:
            block("DATE_ORDER", field, "the end of this range is before its start")

    if today is not None and case.letter_date is not None and (
            case.letter_date > today + LETTER_DATE_AHEAD):
        block("LETTER_DATE_AHEAD", "letter_date",
              f"more than {LETTER_DATE_AHEAD.days // 7} weeks after today; check the year")
    for i, measure in enumerate(case.pain.measures):
        before_birth(measure.date, f"pain.measures[{i}].date")
    for i, therapy in enumerate(case.prior_therapies):
        before_birth(therapy.end_date, f"prior_therapies[{i}].end_date")
    plan_start = getattr(case.plan, "requested_start", None)
    before_birth(plan_start, "plan.requested_start")
    if plan_start is not None and plan_start > letter_date + FAR_AFTER_LETTER:
        block("DATE_FAR_AHEAD", "plan.requested_start",
              "more than a year after the letter date; check the year")
    response = case.ketamine_response
    if response is not None:
        before_birth(response.first_infusion, "ketamine_response.first_infusion")
        if response.first_infusion > letter_date:
            block("DATE_IN_FUTURE", "ketamine_response.first_infusion",
                  "after the letter date")
    denial = case.denial
    if denial is not None:
        for name in ("denial_date", "received_date", "service_from", "service_to",
                     "first_level_date"):
            before_birth(getattr(denial, name), f"denial.{name}")
        ordered(denial.service_from, denial.service_to, "denial.service_to")
        ordered(denial.denial_date, denial.received_date, "denial.received_date")
        if denial.first_level_date is not None:
            if denial.first_level_date > letter_date:
                block("DATE_IN_FUTURE", "denial.first_level_date",
                      "the earlier appeal's decision is dated after this letter")
            elif denial.first_level_date > denial.denial_date:
                block("DATE_ORDER", "denial.first_level_date",
                      "the earlier appeal's decision is dated after the denial it led to")


def _characters(case: Case, block) -> None:
    """No control characters anywhere; no line breaks in single-line fields; no bidirectional
    overrides (they make text display in an order other than the one stored)."""
    for field, text, single_line in _strings(case):
        if _BIDI.search(text):
            block("TEXT_DIRECTION_CONTROL", field,
                  "holds an invisible character that reverses text direction; retype it")
        elif single_line and _LINE_BREAKS.search(text):
            block("TEXT_LINE_BREAK", field, "a single-line field holds a line break")
        elif any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
            block("TEXT_CONTROL_CHARACTER", field,
                  "holds an invisible control character; retype it")


def _strings(model: BaseModel, where: str = "") -> Iterator[tuple[str, str, bool]]:
    """(field path, text, single-line?) for every text value in a model."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        path = f"{where}.{name}" if where else name
        limit = _max_length(info)
        yield from _values(value, path, limit is not None and limit <= SINGLE_LINE_MAX)


def _values(value: Any, path: str, single_line: bool) -> Iterator[tuple[str, str, bool]]:
    if isinstance(value, str):
        yield path, value, single_line
    elif isinstance(value, BaseModel):
        yield from _strings(value, path)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _values(item, f"{path}[{i}]", single_line)


def _max_length(info: Any) -> int | None:
    """The longest text a field (or each text in a list field) may hold, if constrained."""
    if info.annotation is str:  # pydantic keeps a plain field's constraints in metadata
        return _limit(info.metadata)
    found = [limit for arg in _args(info.annotation)
             if (limit := _limit(getattr(arg, "__metadata__", ()))) is not None]
    return min(found) if found else None


def _args(annotation: Any) -> Iterator[Any]:
    """Every type inside an annotation (X | None, list[X], Annotated[str, ...])."""
    for arg in getattr(annotation, "__args__", ()) or ():
        yield arg
        yield from _args(arg)


def _limit(metadata: Any) -> int | None:
    limits = [m.max_length for m in metadata or () if isinstance(getattr(m, "max_length", None),
                                                                  int)]
    return min(limits) if limits else None
