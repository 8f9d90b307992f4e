"""Facts that must agree with each other: dates of service against the denial, the baseline
against the first infusion, the maintenance interval against the relief, decision dates.

A reviewer who finds one inconsistency stops trusting the rest, so a contradiction the letter
would print is BLOCKING; a mismatch a physician may have reasons for is ADVISORY. A
retrospective request (infusions given without prior authorization) is measured from the last
pain score before the first infusion, and the review says what that baseline and the actual
outcome are before any letter is written, including when the outcome is a non-response.
"""

from __future__ import annotations

import math
from datetime import date

from coverage.case import Case, DenialReason, PainScore, Phase, RequestedAction
from coverage.knowledge import KnowledgeBase

BASELINE_WORDS = ("baseline", "before the", "pre-treatment", "pretreatment")


def is_retrospective(case: Case, kb: KnowledgeBase) -> bool:
    """Services given without prior authorization: a retro-authorization or its appeal."""
    from coverage.review.appeal import denial_reasons

    denial = case.denial
    if denial is None:
        return False
    if denial.requested_action is RequestedAction.retro_authorization:
        return True
    return DenialReason.no_prior_authorization in denial_reasons(denial, kb)[0]


def first_service_date(case: Case) -> date | None:
    denial = case.denial
    if denial is not None and denial.service_from is not None:
        return denial.service_from
    return case.plan.requested_start


def baseline_score(case: Case, kb: KnowledgeBase) -> PainScore | None:
    """The score a letter measures the response from.

    The latest score, except on a retrospective request: there, the last score before the first
    infusion (the latest one may already reflect the treatment).
    """
    scores = sorted(case.pain.scores, key=lambda s: s.date)
    first = first_service_date(case)
    if is_retrospective(case, kb) and first is not None:
        scores = [s for s in scores if s.date < first]
    return scores[-1] if scores else None


def review_consistency(case: Case, kb: KnowledgeBase, letter_date: date, block, advise) -> None:
    """Rules that compare one fact of the case with another."""
    retrospective = is_retrospective(case, kb)
    _review_service_dates(case, retrospective, letter_date, block, advise)
    _review_baseline(case, kb, retrospective, block, advise)
    _review_interval(case, advise)
    _review_decision_dates(case, block, advise)


def _review_service_dates(case: Case, retrospective: bool, letter_date: date, block,
                          advise) -> None:
    first = first_service_date(case)
    denial = case.denial
    if first is None:
        return
    field = "denial.service_from" if denial and denial.service_from else "plan.requested_start"
    if denial is None:
        if first < letter_date:
            advise(
                "REQUESTED_START_PAST", field,
                f"the requested start {first} is before the letter date {letter_date}: prior "
                "authorization is asked for services not yet given; correct the date, or, if "
                "the infusions were given, this is a retrospective request",
            )
        return
    if denial.carc_codes and first > denial.denial_date:
        block(
            "CARC_ON_SERVICES_NOT_GIVEN", "denial.carc_codes",
            f"remittance codes ({', '.join(denial.carc_codes)}) come from a claim for services "
            f"already given, but the dates of service start {first}, after the denial of "
            f"{denial.denial_date}: a denial before treatment carries no claim codes. Remove "
            "carc_codes and give denial.reasons, or correct the dates of service",
        )
    elif not denial.carc_codes and not retrospective and first < denial.denial_date:
        block(
            "SERVICE_BEFORE_DENIAL", field,
            f"the dates of service start {first}, before the denial of {denial.denial_date}, on "
            "a request made before treatment: correct the dates, or, if the infusions were "
            "given, record the claim's remittance codes (or no_prior_authorization)",
        )


def _review_baseline(case: Case, kb: KnowledgeBase, retrospective: bool, block,
                     advise) -> None:
    first = first_service_date(case) if retrospective else None
    if case.ketamine_response is not None and case.plan.phase is Phase.initial_series:
        first = case.ketamine_response.first_infusion
    if first is None:
        return
    for index, score in enumerate(case.pain.scores):
        context = (score.context or "").lower()
        if score.date >= first and any(word in context for word in BASELINE_WORDS):
            block(
                "BASELINE_AFTER_FIRST_INFUSION", f"pain.scores[{index}].date",
                f"a pain score described as '{score.context}' is dated {score.date}, on or after "
                f"the first infusion ({first}); a baseline is measured before treatment",
            )
    baseline = baseline_score(case, kb)
    if not retrospective:
        if baseline is not None and baseline.date >= first:
            index = case.pain.scores.index(baseline)
            advise(
                "BASELINE_AFTER_KETAMINE", f"pain.scores[{index}].date",
                f"the latest pain score, which the letter uses as the baseline for this series, "
                f"is dated {baseline.date}, after ketamine was first given ({first}); if this "
                "is a new initial series, say so in the record and record a current score",
            )
        return
    if baseline is None:
        block(
            "NO_PRE_TREATMENT_SCORE", "pain.scores",
            f"a retrospective request is measured from the last pain score before the first "
            f"infusion ({first}), and none is recorded",
        )
        return
    after = sorted((s for s in case.pain.scores if s.date > first), key=lambda s: s.date)
    outcome = "no pain score after the first infusion is recorded"
    if after and baseline.nrs > 0:
        latest = after[-1]
        change = 100 * (baseline.nrs - latest.nrs) / baseline.nrs
        meets = change >= case.plan.response_threshold_percent
        verdict = "meets" if meets else "is below"
        outcome = (f"the actual outcome is {latest.nrs}/10 on {latest.date}, a {change:.1f}% "
                   f"reduction, which {verdict} the {case.plan.response_threshold_percent}% "
                   "response threshold")
    advise(
        "RETROSPECTIVE_BASELINE", "pain.scores",
        f"retrospective request (infusions from {first} given without prior authorization): "
        f"the baseline is the pre-treatment score {baseline.nrs}/10 on {baseline.date}, and "
        f"{outcome}; the letter must report that outcome as it is",
    )


def _review_interval(case: Case, advise) -> None:
    response = case.ketamine_response
    if response is None or response.relief_weeks is None:
        return
    plan = case.plan
    if plan.maintenance is not None:
        interval, field = plan.maintenance.interval_weeks, "plan.maintenance.interval_weeks"
    elif plan.phase is Phase.maintenance and plan.infusions > 1:
        interval, field = plan.weeks / plan.infusions, "plan.weeks"
    else:
        return
    relief = response.relief_weeks
    if interval < math.floor(relief):
        advise(
            "INTERVAL_SHORTER_THAN_RELIEF", field,
            f"infusions every {interval:g} weeks, but the documented relief lasts {relief:g} "
            "weeks: the relief justifies an interval of about that length, and a reviewer "
            "will ask why more often",
        )
    elif interval > math.ceil(relief):
        advise(
            "INTERVAL_LONGER_THAN_RELIEF", field,
            f"infusions every {interval:g} weeks, but the documented relief lasts only "
            f"{relief:g} weeks: the plan leaves weeks without relief; check the interval or "
            "the relief recorded",
        )


def _review_decision_dates(case: Case, block, advise) -> None:
    denial = case.denial
    if denial is None or denial.first_level_date is None:
        return
    if denial.first_level_date > denial.denial_date:
        block(
            "DECISION_DATES_DISAGREE", "denial.first_level_date",
            f"the first-level decision is dated {denial.first_level_date}, after the decision "
            f"being appealed ({denial.denial_date}); an earlier decision cannot come later",
        )
    elif denial.level.value == "first_internal":
        advise(
            "FIRST_LEVEL_DATE_ON_FIRST_APPEAL", "denial.first_level_date",
            "a first-level appeal answers the first decision itself; first_level_date belongs "
            "to later levels: leave it out, or set denial.level",
        )
