"""The appeal's readiness rules: the denial section, reasons from remittance codes, deadlines.

An appeal is reviewed as a letter of medical necessity first; these rules add what only an
appeal needs, so billing staff see the filing deadline and every gap before anything is written.
"""

from __future__ import annotations

import re
from datetime import date

from coverage.case import AppealLevel, Case, Denial, DenialReason
from coverage.deadlines import Deadline, decision_time, filing_deadline, level_name
from coverage.kinds import LetterKind
from coverage.knowledge import KnowledgeBase
from coverage.practice import Practice
from coverage.review.appeal_elements import review_elements
from coverage.review.claim_denials import review_claim_denials
from coverage.review.findings import Finding, Review, Severity

DEADLINE_SOON_DAYS = 14
REASON_ORDER = list(DenialReason)


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


def appeal_deadline(case: Case, practice: Practice) -> Deadline:
    denial = case.denial
    assert denial is not None
    return filing_deadline(
        denial, case.coverage.plan_type, case.coverage.payer_name, practice.appeal_windows
    )


def filing_day(letter_date: date, today: date) -> date:
    """The day the appeal can be filed at the earliest: a letter dated in the past (a pinned
    ``letter_date``) still leaves today, so deadlines are counted from the later of the two."""
    return max(letter_date, today)


def deadline_summary(case: Case, practice: Practice, letter_date: date) -> dict[str, str]:
    """The lines billing staff see on `check` and `appeal`: deadline and level.

    ``letter_date``: the day the appeal goes out (see :func:`filing_day`)."""
    if case.denial is None:
        return {}
    deadline = appeal_deadline(case, practice)
    if LetterKind.for_denial(case) is LetterKind.RETRO_AUTHORIZATION:
        out = {"request": "retroactive authorization (no authorization on file), sent to the "
                          "payer's prior-authorization department"}
    else:
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


def review_appeal(case: Case, practice: Practice, kb: KnowledgeBase, base: Review,
                  letter_date: date, force: bool, today: date | None = None,
                  kind: LetterKind = LetterKind.APPEAL) -> Review:
    """The appeal's own readiness rules, added to the letter's review.

    Dates in the denial are checked against the letter date; the filing deadline against the
    day the appeal can go out (:func:`filing_day`: a letter pinned to an earlier date is still
    filed today at the earliest)."""
    findings = list(base.findings)

    def block(code: str, field: str, message: str) -> None:
        findings.append(Finding(code, Severity.blocking, field, message))

    def advise(code: str, field: str, message: str) -> None:
        findings.append(Finding(code, Severity.advisory, field, message))

    denial = case.denial
    if denial is None:
        block("NO_DENIAL", "denial", "an appeal needs the denial section (see the README)")
        return Review(tuple(findings), base.condition, base.code_set_release)
    reasons, unknown = denial_reasons(denial, kb)
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
    deadline = appeal_deadline(case, practice)
    if deadline.due is None:
        advise("DEADLINE_NOT_COMPUTED", "denial.deadline", deadline.basis)
    elif (filed := filing_day(letter_date, today or letter_date)) > deadline.due:
        message = (
            f"the filing deadline was {deadline.due.isoformat()} ({deadline.basis}); the letter "
            f"date {letter_date.isoformat()} is {(letter_date - deadline.due).days} days late"
            if filed == letter_date else
            f"the filing deadline was {deadline.due.isoformat()} ({deadline.basis}); today, "
            f"{filed.isoformat()}, is {(filed - deadline.due).days} days late (the letter is "
            f"dated {letter_date.isoformat()})"
        )
        if force:
            advise("APPEAL_PAST_DEADLINE", "denial.received_date",
                   message + "; written anyway (--force: the payer granted an extension)")
        else:
            block("APPEAL_PAST_DEADLINE", "denial.received_date",
                  message + "; if the payer granted an extension, write it with "
                  "`ketamine-letters appeal --force`")
    elif (deadline.due - filed).days <= DEADLINE_SOON_DAYS:
        advise("DEADLINE_SOON", "denial.received_date",
               f"only {(deadline.due - filed).days} days left to file "
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
    review_claim_denials(case, kind, block, advise)
    review_elements(case, practice, kb, reasons, kind, block, advise)
    if denial.policy_cited and not denial.policy_criteria:
        advise("POLICY_CRITERIA_NOT_RECORDED", "denial.policy_criteria",
               "the denial cites a policy; record its criteria and where the record meets them")
    return Review(tuple(findings), base.condition, base.code_set_release)
