"""The plan's computed parts: the trials comparison, the response test, the practice protocol
and the options not tried.

Numbers are computed here, never in a template: a 30% reduction from 7/10 is 4.9/10, a 34 mg
infusion over 60 minutes runs at 34 mg/h. What the protocol says is the practice's own (its
profile, with the case's overrides); the letter attributes it to the practice, not to evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from coverage.case import Case, Measure, NotTriedReason
from coverage.compose.context import (
    FunctionCriterion,
    OptionRow,
    ProtocolFacts,
    RegimenComparison,
    ResponseTest,
    TrialLine,
)
from coverage.compose.dates import us_date
from coverage.knowledge import Condition, KnowledgeBase
from coverage.practice import Practice
from coverage.review.coding import service_dates
from coverage.review.consistency import baseline_score, first_service_date, is_retrospective
from coverage.review.options import option_class_key

REASON_LABELS = {
    NotTriedReason.contraindicated: "Contraindicated",
    NotTriedReason.not_tolerated: "Not tolerated",
    NotTriedReason.declined: "Declined after an informed discussion",
    NotTriedReason.not_available: "Not available",
    NotTriedReason.not_appropriate: "Not appropriate",
}
# Function instruments on which a lower score is better (interference, disability, impact):
# only these can carry a "fall of N points" co-criterion.
FUNCTION_INSTRUMENTS = ("interference", "oswestry", "odi", "fiqr", "fiq", "disability")
RESPONDER_STUDY = "E10"  # counted a responder at 30% relief (CRPS meta-analysis)
BENCHMARKS = "E19"  # IMMPACT: provisional benchmarks (its figures are secondary: not quoted)


def number(value: Decimal | float) -> str:
    """'4.9', '5.25', '34': a computed figure without trailing zeros or float noise."""
    text = f"{Decimal(str(value)).quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def response_target(baseline: float, percent: int) -> Decimal:
    """The score a response must reach: a ``percent`` reduction from ``baseline``, exactly."""
    return Decimal(str(baseline)) * (100 - percent) / 100


def regimen_comparison(
    case: Case, condition: Condition, dose_mg: float, cite: Callable[[str], int]
) -> RegimenComparison | None:
    """How one requested infusion compares with the controlled trials (CRPS only)."""
    regimens = condition.trial_regimens
    if not regimens:
        return None
    plan = case.plan
    hours = Decimal(plan.minutes_per_infusion) / 60
    rate = Decimal(str(dose_mg)) / hours
    per_kg = Decimal(str(plan.dose_mg_per_kg)) / hours
    session = next((r for r in regimens if r.session_mg), None)
    return RegimenComparison(
        trials=[TrialLine(r.text, cite(r.citation)) for r in regimens],
        rate_mg_per_h=number(rate.quantize(Decimal("0.1"))),
        rate_mg_per_kg_h=number(per_kg.quantize(Decimal("0.01"))),
        dose_mg=number(dose_mg),
        session_mg=number(session.session_mg) if session else None,
        session_percent=round(100 * dose_mg / session.session_mg) if session else None,
        session_ref=cite(session.citation) if session else None,
    )


def _is_function(measure: Measure) -> bool:
    name = measure.instrument.lower()
    return any(word in name for word in FUNCTION_INSTRUMENTS)


def _function_criterion(case: Case, points: float | None) -> FunctionCriterion | None:
    measures = sorted((m for m in case.pain.measures if _is_function(m)), key=lambda m: m.date)
    if case.ketamine_response:  # the measure before the first infusion is the baseline
        measures = [m for m in measures if m.date < case.ketamine_response.first_infusion]
    if not measures:
        return None
    # a fall in points means the same only on a 0-10 scale (BPI interference): prefer one
    ten_point = [m for m in measures if m.max_score == 10]
    m = (ten_point or measures)[-1]
    scale = f"/{number(m.max_score)}" if m.max_score else ""
    target = None
    if points is not None and m.max_score == 10:
        target = number(max(Decimal(str(m.score)) - Decimal(str(points)), Decimal(0))) + scale
    return FunctionCriterion(
        instrument=m.instrument,
        baseline=f"{number(m.score)}{scale} on {us_date(m.date)}",
        points=number(points) if target is not None else None,
        target=target,
    )


def given_span(case: Case, kb: KnowledgeBase, letter_date: date) -> tuple[date, date | None] | None:
    """First and last date of infusions already given (a retrospective request), else None."""
    first = first_service_date(case)
    if not is_retrospective(case, kb) or first is None or first >= letter_date:
        return None
    return first, case.denial.service_to if case.denial else None


def requested_period(case: Case) -> str | None:
    """'from December 7, 2026 to December 27, 2026': the dates of service the request covers,
    by the one rule the whole letter and the code-set review use (the dates a denial records,
    else the requested start plus its weeks); None when the case gives no start."""
    denial = case.denial
    start = case.plan.requested_start or (denial.service_from if denial else None)
    if start is None:
        return None
    first, last = service_dates(case, start)
    return f"from {us_date(first)} to {us_date(last)}"


def services_given(span: tuple[date, date | None] | None) -> str | None:
    if span is None:
        return None
    first, last = span
    return f"from {us_date(first)} to {us_date(last)}" if last else f"from {us_date(first)}"


def response_test(
    case: Case, practice: Practice, condition: Condition, kb: KnowledgeBase,
    cite: Callable[[str], int], given: tuple[date, date | None] | None = None,
) -> ResponseTest | None:
    """The test set in advance; None when the case has no baseline pain score to test from."""
    percent = case.plan.response_threshold_percent
    override = case.plan.protocol
    weeks = _pick(override, practice, "response_assessment_weeks")
    points = _pick(override, practice, "function_improvement_points")
    response = case.ketamine_response
    if response is not None:
        value: float = response.pain_before
        first = us_date(response.first_infusion)
        baseline = f"{number(value)}/10 before the first infusion on {first}"
    else:
        score = baseline_score(case, kb)
        if score is None:
            return None
        value = score.nrs
        baseline = f"{score.nrs}/10 on {us_date(score.date)}"
    studied = {use.citation for use in condition.evidence}
    target = response_target(value, percent)
    test_date = result = met = None
    if given is not None:  # already given: when the test fell due, and what it found
        last = response.last_infusion if response else given[1]
        if last is not None and weeks:
            test_date = us_date(last + timedelta(weeks=weeks))
        after = _pain_after(case, given[0])
        if after is not None and value > 0:
            pain, when = after
            fall = (100 * (Decimal(str(value)) - Decimal(str(pain))) / Decimal(str(value))
                    ).quantize(Decimal("0.1"))
            result = f"{number(fall)}% reduction"
            result = f"{number(pain)}/10{when}, a {result}"
            met = Decimal(str(pain)) <= target
    return ResponseTest(
        percent=percent,
        baseline=baseline,
        baseline_value=f"{number(value)}/10",
        target=f"{number(target)}/10",
        weeks_after_last=weeks,
        function=_function_criterion(case, points),
        benchmark_ref=cite(BENCHMARKS),
        responder_ref=cite(RESPONDER_STUDY) if percent == 30 and RESPONDER_STUDY in studied
        else None,
        test_date=test_date,
        result=result,
        result_met=met,
    )


def _pain_after(case: Case, first: date) -> tuple[float, str] | None:
    """The measured outcome of infusions already given: the documented response, else the
    latest pain score after the first infusion (as the review reports it), reported as it is."""
    if case.ketamine_response is not None:
        return case.ketamine_response.pain_after, ""
    after = sorted((s for s in case.pain.scores if s.date > first), key=lambda s: s.date)
    return (after[-1].nrs, f" on {us_date(after[-1].date)}") if after else None


def _pick(override: object, practice: Practice, name: str):
    """The case's override of a protocol setting, else the practice profile's."""
    value = getattr(override, name, None) if override is not None else None
    return value if value is not None else getattr(practice.protocol, name)


def protocol_facts(case: Case, practice: Practice) -> ProtocolFacts:
    """The practice's protocol as this letter prints it, with the case's overrides applied."""
    bounds = practice.protocol
    override = case.plan.protocol
    max_mg = _pick(override, practice, "max_mg_per_infusion")
    return ProtocolFacts(
        dose_range=f"{bounds.dose_mg_per_kg_min:g} to {bounds.dose_mg_per_kg_max:g} mg/kg",
        max_mg=number(max_mg) if max_mg is not None else None,
        rescue_medicines=list(_pick(override, practice, "rescue_medicines") or []),
        fasting=_pick(override, practice, "fasting"),
        consent=_pick(override, practice, "consent"),
        escort=_pick(override, practice, "escort"),
        discharge_criteria=list(_pick(override, practice, "discharge_criteria") or []),
        maintenance_monitoring=list(_pick(override, practice, "maintenance_monitoring") or []),
    )


def option_rows(case: Case, kb: KnowledgeBase) -> list[OptionRow]:
    rows = []
    for option in case.options_not_tried:
        key = option_class_key(option, kb)
        cls = kb.therapy_classes.get(key) if key else None
        rows.append(OptionRow(option.option, cls.label if cls else "",
                              REASON_LABELS[option.reason], option.explanation))
    return rows
