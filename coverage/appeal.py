"""Appeals: the denial section's review, reasons from remittance codes, the appeal's facts.

An appeal is the letter of medical necessity's facts plus the denial: each reason the insurer
gave (or that its CARC codes imply) gets its own rebuttal section, and billing staff get the
filing deadline before anything is written.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date

from coverage.case import AppealLevel, Case, Denial, DenialReason, Outcome, PlanType
from coverage.compose import LetterContext, month_span, us_date
from coverage.deadlines import Deadline, decision_time, filing_deadline, level_name
from coverage.knowledge import KnowledgeBase
from coverage.review import Finding, Review, Severity, therapy_class_key

DEADLINE_SOON_DAYS = 14
REASON_ORDER = list(DenialReason)


@dataclass(frozen=True)
class CodeLine:
    code: str
    meaning: str


@dataclass(frozen=True)
class StepLine:
    class_label: str
    therapies: list[str]


@dataclass(frozen=True)
class AppealFacts:
    """What an appeal adds to a letter's context, formatted for the template."""

    level: str
    level_name: str
    is_external: bool
    is_erisa: bool
    reasons: list[str]
    carc: list[CodeLine]
    rarc: list[str]
    denial_date: str
    received_date: str
    service_dates: str
    first_level_date: str
    deadline: Deadline
    deadline_text: str
    decision_time: str | None
    steps: list[StepLine]


def carc_number(code: str) -> str:
    """'CO-50' / 'CO50' / '50' -> '50'."""
    return re.sub(r"^[A-Z]{2}-?", "", code.strip().upper())


def denial_reasons(denial: Denial, kb: KnowledgeBase) -> tuple[list[DenialReason], list[str]]:
    """Reasons to answer: those given, plus those the CARC codes imply; and unknown codes."""
    reasons = set(denial.reasons)
    unknown = []
    for code in denial.carc_codes:
        entry = kb.denial_codes.get(carc_number(code))
        if entry is None:
            unknown.append(code)
        else:
            reasons.add(DenialReason(entry.category))
    return [r for r in REASON_ORDER if r in reasons], unknown


def appeal_deadline(case: Case, practice) -> Deadline:
    denial = case.denial
    assert denial is not None
    return filing_deadline(
        denial, case.coverage.plan_type, case.coverage.payer_name, practice.appeal_windows
    )


def deadline_summary(inputs, letter_date: date) -> dict[str, str]:
    """The lines billing staff see on `check` and `appeal`: deadline and level."""
    case = inputs.case
    if case.denial is None:
        return {}
    deadline = appeal_deadline(case, inputs.practice)
    out = {"appeal_level": level_name(case.coverage.plan_type, case.denial.level)}
    if deadline.due:
        days = (deadline.due - letter_date).days
        when = f"{days} days left" if days >= 0 else f"{-days} days past"
        out["filing_deadline"] = f"{deadline.due.isoformat()} ({when}; {deadline.basis})"
    else:
        out["filing_deadline"] = deadline.basis
    clock = decision_time(case.coverage.plan_type, case.denial.urgent, case.denial.level)
    if clock:
        out["decision_time"] = clock
    return out


def review_appeal(inputs, base: Review, letter_date: date, force: bool) -> Review:
    """The appeal's own readiness rules, added to the letter's review."""
    case: Case = inputs.case
    findings = list(base.findings)

    def block(code: str, field: str, message: str) -> None:
        findings.append(Finding(code, Severity.blocking, field, message))

    def advise(code: str, field: str, message: str) -> None:
        findings.append(Finding(code, Severity.advisory, field, message))

    denial = case.denial
    if denial is None:
        block("NO_DENIAL", "denial", "an appeal needs the denial section (see the README)")
        return Review(tuple(findings), base.condition, base.code_set_release)
    reasons, unknown = denial_reasons(denial, inputs.kb)
    if not reasons:
        block(
            "REASON_UNKNOWN",
            "denial.reasons",
            "no reason category given and no CARC code the tool knows; set denial.reasons "
            f"to one or more of: {', '.join(r.value for r in DenialReason)}",
        )
    for code in unknown:
        advise("CARC_UNKNOWN", "denial.carc_codes",
               f"{code} is not in the tool's table; it is printed as given, without a meaning")
    if denial.received_date < denial.denial_date:
        block("DATE_ORDER", "denial.received_date", "received before the denial date")
    for name in ("denial_date", "received_date"):
        value = getattr(denial, name)
        if value > letter_date:
            block("DATE_IN_FUTURE", f"denial.{name}", f"{value} is after the letter date")
    deadline = appeal_deadline(case, inputs.practice)
    if deadline.due is None:
        advise("DEADLINE_NOT_COMPUTED", "denial.deadline", deadline.basis)
    elif letter_date > deadline.due:
        message = (
            f"the filing deadline was {deadline.due.isoformat()} ({deadline.basis}); the letter "
            f"date {letter_date.isoformat()} is {(letter_date - deadline.due).days} days late"
        )
        if force:
            advise("APPEAL_PAST_DEADLINE", "denial.received_date",
                   message + "; written anyway (--force: the payer granted an extension)")
        else:
            block("APPEAL_PAST_DEADLINE", "denial.received_date",
                  message + "; if the payer granted an extension, write it with "
                  "`ketamine-letters appeal --force`")
    elif (deadline.due - letter_date).days <= DEADLINE_SOON_DAYS:
        advise("DEADLINE_SOON", "denial.received_date",
               f"only {(deadline.due - letter_date).days} days left to file "
               f"(deadline {deadline.due.isoformat()})")
    if not denial.reason_text:
        advise("NO_REASON_TEXT", "denial.reason_text",
               "the insurer's reason text is missing; the appeal is stronger when it quotes it")
    if denial.level is not AppealLevel.first_internal and denial.first_level_date is None:
        advise("NO_FIRST_LEVEL_DATE", "denial.first_level_date",
               "a later-level appeal should give the date of the first-level decision")
    if denial.urgent and not denial.urgent_reason:
        advise("URGENT_WITHOUT_REASON", "denial.urgent_reason",
               "an expedited request needs the clinical reason it is urgent")
    if DenialReason.frequency_limit in reasons and case.ketamine_response is None:
        block("FREQUENCY_WITHOUT_RESPONSE", "ketamine_response",
              "a frequency or quantity denial is answered with the response documented after "
              "earlier infusions; record it under ketamine_response")
    if DenialReason.missing_information in reasons and not case.enclosures:
        advise("MISSING_INFO_NO_ENCLOSURES", "enclosures",
               "the denial says information was missing, but nothing is listed as enclosed")
    if (DenialReason.no_prior_authorization in reasons and not denial.urgent
            and not denial.retro_authorization_grounds):
        advise("NO_RETRO_GROUNDS", "denial.retro_authorization_grounds",
               "no urgency or grounds for retroactive authorization recorded")
    if denial.policy_cited and not denial.policy_criteria:
        advise("POLICY_CRITERIA_NOT_RECORDED", "denial.policy_criteria",
               "the denial cites a policy; record its criteria and where the record meets them")
    return Review(tuple(findings), base.condition, base.code_set_release)


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


def compose_appeal(inputs, context: LetterContext, letter_date: date) -> LetterContext:
    """Add the denial's facts to a letter's context."""
    case: Case = inputs.case
    denial = case.denial
    assert denial is not None
    reasons, _ = denial_reasons(denial, inputs.kb)
    carc = []
    for code in denial.carc_codes:  # a meaning prints only where its wording was checked
        entry = inputs.kb.denial_codes.get(carc_number(code))
        meaning = entry.meaning.rstrip(".") if entry and entry.wording_verified else ""
        carc.append(CodeLine(code, meaning))
    if denial.service_from and denial.service_to and denial.service_to != denial.service_from:
        service_dates = f"{us_date(denial.service_from)} to {us_date(denial.service_to)}"
    else:
        service_dates = us_date(denial.service_from)
    deadline = appeal_deadline(case, inputs.practice)
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
        steps=_steps(case, inputs.kb),
    )
    return dataclasses.replace(context, kind="appeal", appeal=facts)
