"""An appeal's facts: the denial, its reasons and codes, the deadline and each reason's answer.

An appeal (or a request for retroactive authorization) is the letter of medical necessity's
context plus these facts; each reason the insurer gave (or that its CARC codes imply) gets its
own section in the template, answered on the plan's own terms: its definition, its off-label
clause, its step requirements, the interval the documented relief justifies.
"""

from __future__ import annotations

import dataclasses
import math

from coverage.case import AppealLevel, Appellant, Case, Outcome, Phase, PlanType
from coverage.compose.context import (
    AppealFacts,
    CodeLine,
    IntervalFacts,
    LetterContext,
    StepLine,
    StepRow,
)
from coverage.compose.dates import month_span, us_date
from coverage.deadlines import decision_time, level_name
from coverage.kinds import LetterKind
from coverage.knowledge import KnowledgeBase
from coverage.practice import Practice
from coverage.review import therapy_class_key
from coverage.review.appeal import appeal_deadline, carc_number, denial_reasons

OUTCOME_WORDS = {
    Outcome.inadequate_response: "inadequate response",
    Outcome.adverse_effect: "stopped for adverse effects",
    Outcome.contraindicated: "contraindicated",
}
NEXT_REVIEW = {
    PlanType.medicare: "the next level of Medicare appeal, including reconsideration by an "
                       "independent contractor",
    PlanType.medicare_advantage: "the next level of appeal, including review by the "
                                 "independent review entity",
    PlanType.medicaid: "a State fair hearing",
}
EXTERNAL_REVIEW = "independent external review"


def _therapy_line(therapy) -> str:
    parts = [therapy.agent]
    if therapy.dose:
        parts.append(therapy.dose)
    if therapy.start_date and therapy.end_date:
        parts.append(month_span(therapy.start_date, therapy.end_date))
    outcome = OUTCOME_WORDS[therapy.outcome]
    if therapy.outcome is Outcome.contraindicated and therapy.note:
        outcome += f" ({therapy.note.rstrip('.')})"
    return f"{', '.join(parts)}: {outcome}"


def _by_class(case: Case, kb: KnowledgeBase) -> dict[str | None, list[str]]:
    out: dict[str | None, list[str]] = {}
    for therapy in case.prior_therapies:
        out.setdefault(therapy_class_key(therapy, kb), []).append(_therapy_line(therapy))
    return out


def _label(key: str | None, kb: KnowledgeBase) -> str:
    return kb.therapy_classes[key].label if key in kb.therapy_classes else "Other"


def _steps(case: Case, kb: KnowledgeBase) -> list[StepLine]:
    by_label: dict[str, list[str]] = {}
    for key, items in _by_class(case, kb).items():
        by_label.setdefault(_label(key, kb), []).extend(items)
    return [StepLine(label, items) for label, items in by_label.items()]


def step_rows(case: Case, kb: KnowledgeBase) -> list[StepRow]:
    """Each step the plan requires, against what the patient tried in that class."""
    assert case.denial is not None
    tried = _by_class(case, kb)
    return [StepRow(req.requirement, _label(req.therapy_class, kb),
                    tried.get(req.therapy_class, []))
            for req in case.denial.step_requirements]


def requested_interval(case: Case) -> float | None:
    """Weeks between the infusions asked for: the maintenance interval, or a maintenance
    request's weeks over its infusions (as the consistency review counts it)."""
    plan = case.plan
    if plan.maintenance is not None:
        return float(plan.maintenance.interval_weeks)
    if plan.phase is Phase.maintenance and plan.infusions > 1:
        return plan.weeks / plan.infusions
    return None


def interval_facts(case: Case) -> IntervalFacts | None:
    response = case.ketamine_response
    interval = requested_interval(case)
    if response is None or response.relief_weeks is None or interval is None:
        return None
    relief = response.relief_weeks
    matches = math.floor(relief) <= interval <= math.ceil(relief)
    return IntervalFacts(interval, relief, matches)


def _request_codes(context: LetterContext) -> str:
    codes = []
    for row in context.billing:
        label = f"{row.system} {row.code}"
        if row.system == "HCPCS":
            label += f" ({row.description.removeprefix('Unclassified drug: ')})"
        codes.append(label)
    return ", ".join(codes)


def _request_service(case: Case, request_dates: str) -> str:
    """'6 intravenous ketamine infusions from December 7, 2026 to December 28, 2026'."""
    plan = case.plan
    count = f"{plan.infusions} intravenous ketamine infusion{'s' if plan.infusions != 1 else ''}"
    return f"{count} {request_dates}" if request_dates else count


def _enclosures(case: Case, denial_date: str) -> list[str]:
    denial = case.denial
    assert denial is not None
    out = list(case.enclosures)
    if denial.representative_form and denial.appellant is Appellant.physician_as_representative:
        out.append(denial.representative_form)
    out.append(f"The denial notice of {denial_date} (reference {denial.reference})")
    return out


def compose_appeal(case: Case, practice: Practice, kb: KnowledgeBase, context: LetterContext,
                   kind: LetterKind = LetterKind.APPEAL) -> LetterContext:
    """Add the denial's facts to a letter's context."""
    denial = case.denial
    assert denial is not None
    reasons, _ = denial_reasons(denial, kb)
    carc = []
    for code in denial.carc_codes:  # the project's own words for the code, never X12's text
        entry = kb.denial_codes.get(carc_number(code))
        meaning = entry.meaning.rstrip(".") if entry and entry.wording_verified else ""
        carc.append(CodeLine(code, meaning))
    if denial.service_from and denial.service_to and denial.service_to != denial.service_from:
        service_dates = f"{us_date(denial.service_from)} to {us_date(denial.service_to)}"
        request_dates = f"from {service_dates}"
    else:
        service_dates = us_date(denial.service_from)
        request_dates = f"on {service_dates}" if service_dates else ""
    deadline = appeal_deadline(case, practice)
    plan_type = case.coverage.plan_type
    denial_date = us_date(denial.denial_date)
    is_external = denial.level is AppealLevel.external_review
    facts = AppealFacts(
        level=denial.level.value,
        level_name=level_name(plan_type, denial.level),
        is_external=is_external,
        is_erisa=plan_type is PlanType.erisa_group,
        reasons=[r.value for r in reasons],
        carc=carc,
        rarc=list(denial.rarc_codes),
        denial_date=denial_date,
        received_date=us_date(denial.received_date),
        service_dates=service_dates,
        first_level_date=us_date(denial.first_level_date),
        deadline=deadline,
        deadline_text=us_date(deadline.due) if deadline.due else deadline.basis,
        decision_time=decision_time(plan_type, denial.urgent, denial.level),
        steps=_steps(case, kb),
        claim_number=denial.claim_number,
        authorization_reference=(denial.authorization_reference
                                 or case.coverage.prior_authorization_number),
        appellant=denial.appellant.value if denial.appellant else None,
        representative_form=denial.representative_form,
        policy_version=denial.policy_version,
        definition=denial.plan_definition,
        off_label_clause=denial.off_label_clause,
        step_rows=step_rows(case, kb),
        interval=interval_facts(case),
        next_review="" if is_external else NEXT_REVIEW.get(plan_type, EXTERNAL_REVIEW),
        request_codes=_request_codes(context),
        request_service=_request_service(case, request_dates),
        call_windows=list(context.physician.call_windows),
        is_retro=kind is LetterKind.RETRO_AUTHORIZATION,
    )
    return dataclasses.replace(context, kind=kind, appeal=facts,
                               enclosures=_enclosures(case, denial_date))
