"""Appeal filing deadlines by plan type and appeal level, from the date the denial arrived.

Only windows the project's reference confirms are computed: ERISA group plans (at least 180
days, 29 CFR 2560.503-1(h)(3)(i)), the federal external review process (4 months), Medicare
redetermination (120 days), reconsideration (180 days) and ALJ hearing (60 days), with receipt
of a Medicare notice presumed 5 days after its date. Medicare Advantage and Medicaid windows
vary by plan and state: the tool takes them from the denial notice (``denial.deadline``) or the
practice profile's per-payer override and says so when it has neither.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from coverage.case import AppealLevel, Denial, PlanType

MEDICARE_PRESUMED_RECEIPT_DAYS = 5

LEVEL_NAMES = {
    PlanType.medicare: {
        AppealLevel.first_internal: "redetermination (Medicare Administrative Contractor)",
        AppealLevel.second_internal: "reconsideration (Qualified Independent Contractor)",
        AppealLevel.external_review: "hearing before an Administrative Law Judge",
    },
}
DEFAULT_LEVEL_NAMES = {
    AppealLevel.first_internal: "first-level internal appeal",
    AppealLevel.second_internal: "second-level internal appeal",
    AppealLevel.external_review: "request for external review by an independent reviewer",
}


@dataclass(frozen=True)
class Deadline:
    """A filing deadline, or None with the reason it could not be computed."""

    due: date | None
    basis: str


def add_months(start: date, months: int) -> date:
    """Calendar months, clamped to the month's end (Oct 31 + 4 months = Feb 28 or 29)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def level_name(plan_type: PlanType, level: AppealLevel) -> str:
    return LEVEL_NAMES.get(plan_type, DEFAULT_LEVEL_NAMES)[level]


def filing_deadline(
    denial: Denial, plan_type: PlanType, payer_name: str | None, overrides: dict[str, int]
) -> Deadline:
    """The last day to file this appeal, with the rule it comes from."""
    if denial.deadline is not None:
        return Deadline(denial.deadline, "date given on the denial notice")
    for payer, days in overrides.items():
        if payer_name and payer.casefold() == payer_name.casefold():
            return Deadline(
                denial.received_date + timedelta(days=days),
                f"{days} days from receipt (practice profile setting for {payer})",
            )
    received = denial.received_date
    level = denial.level
    if plan_type is PlanType.medicare:
        presumed = denial.denial_date + timedelta(days=MEDICARE_PRESUMED_RECEIPT_DAYS)
        start = min(received, presumed)
        days = {
            AppealLevel.first_internal: 120,
            AppealLevel.second_internal: 180,
            AppealLevel.external_review: 60,
        }[level]
        return Deadline(
            start + timedelta(days=days),
            f"Medicare: {days} days from receipt of the notice (receipt presumed "
            f"{MEDICARE_PRESUMED_RECEIPT_DAYS} days after its date)",
        )
    if plan_type in (PlanType.medicare_advantage, PlanType.medicaid):
        return Deadline(
            None,
            "not computed: windows vary by plan and state; enter the deadline from the "
            "denial notice as denial.deadline",
        )
    if level is AppealLevel.external_review:
        return Deadline(
            add_months(received, 4),
            "federal external review: 4 months from receipt of the final internal denial",
        )
    if plan_type is PlanType.erisa_group or plan_type is PlanType.commercial:
        basis = "ERISA group plans: at least 180 days from receipt (29 CFR 2560.503-1)"
        if plan_type is PlanType.commercial:
            basis += "; assumed an employer group plan: check the plan documents"
        return Deadline(received + timedelta(days=180), basis)
    return Deadline(
        None, "not computed for this plan type: enter the deadline from the denial notice"
    )


def decision_time(plan_type: PlanType, urgent: bool, level: AppealLevel) -> str | None:
    """The payer's decision clock for an expedited internal appeal, where the reference has it."""
    if not urgent or level is AppealLevel.external_review:
        return None
    if plan_type in (PlanType.erisa_group, PlanType.commercial):
        return "urgent care appeal: decision within 72 hours (29 CFR 2560.503-1)"
    return None
