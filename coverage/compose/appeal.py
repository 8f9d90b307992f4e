"""An appeal's facts: the denial, its reasons and codes, the deadline and the step table.

An appeal is the letter of medical necessity's context plus these facts; each reason the
insurer gave (or that its CARC codes imply) gets its own rebuttal section in the template.
"""

from __future__ import annotations

import dataclasses

from coverage.case import AppealLevel, Case, Outcome, PlanType
from coverage.compose.context import AppealFacts, CodeLine, LetterContext, StepLine
from coverage.compose.dates import month_span, us_date
from coverage.deadlines import decision_time, level_name
from coverage.kinds import LetterKind
from coverage.knowledge import KnowledgeBase
from coverage.practice import Practice
from coverage.review import therapy_class_key
from coverage.review.appeal import appeal_deadline, carc_number, denial_reasons


def _steps(case: Case, kb: KnowledgeBase) -> list[StepLine]:
    by_class: dict[str, list[str]] = {}
    for therapy in case.prior_therapies:
        key = therapy_class_key(therapy, kb)
        label = kb.therapy_classes[key].label if key in kb.therapy_classes else "Other"
        parts = [therapy.agent]
        if therapy.dose:
            parts.append(therapy.dose)
        if therapy.start_date and therapy.end_date:
            parts.append(month_span(therapy.start_date, therapy.end_date))
        outcome = {
            Outcome.inadequate_response: "inadequate response",
            Outcome.adverse_effect: "stopped for adverse effects",
            Outcome.contraindicated: "contraindicated",
        }[therapy.outcome]
        if therapy.outcome is Outcome.contraindicated and therapy.note:
            outcome += f" ({therapy.note.rstrip('.')})"
        by_class.setdefault(label, []).append(f"{', '.join(parts)}: {outcome}")
    return [StepLine(label, items) for label, items in by_class.items()]


def compose_appeal(case: Case, practice: Practice, kb: KnowledgeBase, context: LetterContext
                   ) -> LetterContext:
    """Add the denial's facts to a letter's context."""
    denial = case.denial
    assert denial is not None
    reasons, _ = denial_reasons(denial, kb)
    carc = []
    for code in denial.carc_codes:  # a meaning prints only where its wording was checked
        entry = kb.denial_codes.get(carc_number(code))
        meaning = entry.meaning.rstrip(".") if entry and entry.wording_verified else ""
        carc.append(CodeLine(code, meaning))
    if denial.service_from and denial.service_to and denial.service_to != denial.service_from:
        service_dates = f"{us_date(denial.service_from)} to {us_date(denial.service_to)}"
    else:
        service_dates = us_date(denial.service_from)
    deadline = appeal_deadline(case, practice)
    plan_type = case.coverage.plan_type
    facts = AppealFacts(
        level=denial.level.value,
        level_name=level_name(plan_type, denial.level),
        is_external=denial.level is AppealLevel.external_review,
        is_erisa=plan_type is PlanType.erisa_group,
        reasons=[r.value for r in reasons],
        carc=carc,
        rarc=list(denial.rarc_codes),
        denial_date=us_date(denial.denial_date),
        received_date=us_date(denial.received_date),
        service_dates=service_dates,
        first_level_date=us_date(denial.first_level_date),
        deadline=deadline,
        deadline_text=us_date(deadline.due) if deadline.due else deadline.basis,
        decision_time=decision_time(plan_type, denial.urgent, denial.level),
        steps=_steps(case, kb),
    )
    return dataclasses.replace(context, kind=LetterKind.APPEAL, appeal=facts)
