"""Findings and the review that holds them: BLOCKING stops a letter, ADVISORY is listed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

from coverage.knowledge import Condition

# What each finding code means, in words that carry no value from the case. Reports that
# outlive the session (the batch's report.csv and report.json, its console lines) print these;
# the full message, which may quote the case so staff can find the entry, stays on the screen.
RULES: dict[str, str] = {
    "APPEAL_PAST_DEADLINE": "the appeal filing deadline has passed or is about to",
    "APPELLANT_NOT_STATED": "the appeal does not say who is appealing",
    "BASELINE_AFTER_FIRST_INFUSION": (
        "a pain score described as a baseline is dated on or after the first infusion"
    ),
    "BASELINE_AFTER_KETAMINE": (
        "the latest pain score, used as the baseline, is dated after ketamine was first given"
    ),
    "CARC_ON_SERVICES_NOT_GIVEN": "claim denial codes are recorded for services not yet given",
    "CARC_UNKNOWN": "a remittance code is not in the tool's table and prints without a meaning",
    "CLAIM_DENIED_BEFORE_SERVICE": "a claim denial is dated before the last date of service",
    "CODE_FIRST_ORDER": "the official tabular asks for another code to be listed first",
    "CODE_SET_NOT_FOR_DATES": "the loaded ICD-10-CM release does not cover the dates of service",
    "CORRECTED_CLAIM_NOT_APPEAL": (
        "a missing-information denial is answered by a corrected claim, not an appeal"
    ),
    "CRPS_CRITERIA_NOT_DOCUMENTED": "the Budapest criteria for CRPS are not documented",
    "DATE_BEFORE_BIRTH": "a date is before the patient's date of birth",
    "DATE_FAR_AHEAD": "a date is implausibly far after the letter date",
    "DATE_IMPOSSIBLE": "a date is impossible for the patient",
    "DATE_IN_FUTURE": "a date that must be in the past is after the letter date",
    "DATE_ORDER": "a range ends before it starts",
    "DEADLINE_NOT_COMPUTED": "the appeal deadline could not be computed from the case",
    "DEADLINE_SOON": "few days are left to file the appeal",
    "DECISION_DATES_DISAGREE": "the earlier decision is dated after the decision being appealed",
    "DEFINITION_NOT_RECORDED": (
        "the plan's definition of experimental or investigational is not recorded"
    ),
    "DEFINITION_TESTS_NOT_ANSWERED": "the tests of the plan's definition are not answered",
    "DEFINITION_VERSION_NOT_RECORDED": "the version of the plan's definition is not recorded",
    "DOSE_ABOVE_MAXIMUM": "the dose in mg is above the practice protocol's maximum per infusion",
    "DOSE_OUT_OF_BOUNDS": "the dose is outside the practice protocol",
    "DURATION_OUT_OF_BOUNDS": "the infusion time is outside the practice protocol",
    "EXCLUDES1_PAIR": "two codes that the official tabular's Excludes1 note forbids together",
    "EXCLUDES1_UNRELATED": "an Excludes1 pair reported together as confirmed unrelated",
    "FEW_STANDARD_CLASSES": "fewer than two standard therapy classes for the condition were tried",
    "FIRST_LEVEL_DATE_ON_FIRST_APPEAL": (
        "a first-level decision date is given on a first-level appeal"
    ),
    "FREQUENCY_WITHOUT_RELIEF_DURATION": (
        "a frequency-limit appeal needs the documented weeks of relief"
    ),
    "FREQUENCY_WITHOUT_RESPONSE": (
        "a frequency-limit appeal needs a documented response to earlier infusions"
    ),
    "ICD_DUPLICATE": "a diagnosis code is listed twice",
    "ICD_MANIFESTATION_FIRST": "a manifestation code may not be listed first",
    "ICD_NOT_BILLABLE": "a diagnosis code is a category heading, not a billable code",
    "ICD_UNKNOWN": "a diagnosis code is not in the loaded ICD-10-CM release",
    "INTERVAL_LONGER_THAN_RELIEF": "the maintenance interval is longer than the documented relief",
    "INTERVAL_SHORTER_THAN_RELIEF": (
        "the maintenance interval is shorter than the documented relief justifies"
    ),
    "LETTER_DATE_AHEAD": "the letter date is too far after today",
    "LONG_TERM_USE_NOT_SHOWN": (
        "a long-term drug therapy code is not backed by the current medications"
    ),
    "MAINTENANCE_WITHOUT_RESPONSE": "maintenance is requested without a documented response",
    "MISSING_INFO_NO_ENCLOSURES": "a missing-information denial should list what is enclosed",
    "NO_ADDRESS_FOR_PURPOSE": "the practice profile has no address for this payer and purpose",
    "NO_AUTHORIZATION_REFERENCE": "the prior-authorization reference is not recorded",
    "NO_CALL_WINDOWS": "the physician has no call windows for a peer-to-peer call",
    "NO_CLAIM_NUMBER": "the claim number is not recorded",
    "NO_DENIAL": "an appeal needs the denial it answers",
    "NO_DIAGNOSIS_BASIS": "how the diagnosis was made is not recorded",
    "NO_DIRECT_LINE": "the physician has no direct line for a peer-to-peer call",
    "NO_FIRST_LEVEL_DATE": "the first-level decision date is not recorded",
    "NO_FUNCTION_MEASURE": "no function measure is recorded",
    "NO_NDC": "no NDC for the drug line",
    "NO_ONSET_DATE": "the onset date is not recorded",
    "NO_PAIN_SCORE": "no pain score is recorded",
    "NO_PRE_TREATMENT_SCORE": (
        "a retrospective request needs a pain score from before the first infusion"
    ),
    "NO_PRIOR_THERAPY": "no prior therapy is recorded",
    "NO_REASON_TEXT": "the denial's own words are not recorded",
    "NO_RECENT_PAIN_SCORE": "the latest pain score is not recent",
    "NO_RECOGNISED_CONDITION": "no diagnosis is a condition the evidence library covers",
    "NO_RETRO_GROUNDS": "a retro-authorization needs the reason authorization was not obtained",
    "OFF_LABEL_CLAUSE_NOT_RECORDED": "the plan's off-label clause is not recorded",
    "OPTION_CLASS_NOT_DERIVED": "the class of an option not tried could not be derived",
    "OPTION_CLASS_UNKNOWN": "an option not tried names an unknown therapy class",
    "PAYER_NOT_IN_PROFILE": "the payer is typed in the case, not named from the practice profile",
    "PLACE_OF_SERVICE": "the place of service is not a monitored setting the tool bills",
    "POLICY_CRITERIA_NOT_RECORDED": "the payer policy's criteria are not recorded",
    "POLICY_VERSION_NOT_RECORDED": "the version of the policy the denial cites is not recorded",
    "PRIMARY_NOT_FIRST": "the condition the request is for is not listed first",
    "REASON_UNKNOWN": "the denial reason is not one the tool answers",
    "RECOMMENDED_OPTION_NOT_ADDRESSED": "a recommended option was neither tried nor explained",
    "REPRESENTATIVE_FORM_MISSING": "the patient's representative form is not recorded",
    "REQUESTED_START_PAST": (
        "the requested start is before the letter date on a prospective request"
    ),
    "RESPONSE_BELOW_THRESHOLD": "the documented response is below the response threshold",
    "RETROSPECTIVE_BASELINE": (
        "a retrospective request: the baseline and the actual outcome are reported as they are"
    ),
    "RETRO_AUTHORIZATION_NOT_APPEAL": (
        "a no-authorization denial is answered by a retro-authorization request"
    ),
    "ROUTE_NOTE_NOT_IV": "the route note names another route or negates intravenous",
    "ROUTE_NOT_IV": "only an intravenous infusion is supported",
    "SAFETY_CONCERN": "a safety screening item needs the physician's attention",
    "SAFETY_NOT_DOCUMENTED": "a safety screening item is not documented",
    "SCORE_ABOVE_MAXIMUM": "a score is above its instrument's maximum",
    "SCORE_IMPOSSIBLE": "a score is impossible",
    "SERVICE_BEFORE_DENIAL": "dates of service precede the denial on a prospective request",
    "SINGLE_PRIOR_THERAPY": "only one prior therapy is recorded",
    "STEP_CLASS_UNKNOWN": "a step-therapy requirement names an unknown therapy class",
    "STEP_NOT_SHOWN": "the record shows no therapy of a class the plan requires",
    "STEP_REQUIREMENTS_NOT_RECORDED": "the plan's step-therapy requirements are not recorded",
    "TEXT_CONTROL_CHARACTER": "a text field holds a control character",
    "TEXT_DIRECTION_CONTROL": "a text field holds a bidirectional override",
    "TEXT_LINE_BREAK": "a single-line field holds a line break",
    "THERAPY_CLASS_NOT_DERIVED": "the class of a prior therapy could not be derived",
    "THERAPY_CLASS_UNKNOWN": "a prior therapy's class is not a known class",
    "THERAPY_DATES_MISSING": "a prior therapy's dates are missing",
    "THERAPY_DOSE_MISSING": "a prior therapy's dose is missing",
    "UNRELATED_PAIR_INVALID": "a pair recorded as unrelated is not a listed Excludes1 pair",
    "URGENT_START_FAR": "an expedited request's first infusion is weeks after the letter",
    "URGENT_WITHOUT_REASON": "expedited review is asked without a reason",
    "USE_ADDITIONAL_CODE": "the official tabular asks for an additional code",
    "WEAK_EVIDENCE": "the guideline grades the evidence for this condition as weak",
    "WEIGHT_IMPLAUSIBLE": "the weight is implausible",
}


class Severity(StrEnum):
    blocking = "BLOCKING"
    advisory = "ADVISORY"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    field: str
    message: str

    @property
    def summary(self) -> str:
        """``CODE field: rule``: the finding without any value from the case, for reports."""
        return f"{self.code} {self.field}: {RULES.get(self.code, 'see `check` for details')}"

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Review:
    findings: tuple[Finding, ...]
    condition: Condition | None
    code_set_release: str

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.blocking]

    @property
    def advisory(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.advisory]

    @property
    def ok(self) -> bool:
        return not self.blocking
