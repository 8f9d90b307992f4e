"""The input contract: pydantic models of a case file (one patient, one request).

A case is what billing staff fill in from the medical record. Field names are the YAML keys;
unknown keys are refused so a typo never silently drops a fact. Rules that need more than one
field or the knowledge base (dates in order, codes billable, route intravenous...) live in
``review.py`` so that ``check`` can list them all at once.

The schema has one owner (this module) and a version. Every change keeps old case files
loading: a new field is optional with a safe default, and :data:`SCHEMA_VERSION` goes up by one
with a line in :data:`SCHEMA_CHANGES`. A file may say which version it was written for
(``schema_version``); a file from a newer tool than this one is refused with a clear message
rather than half-understood. A change that cannot be made that way comes with a migration
command.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from coverage.drug_route import Route, route_from_text

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Identifier = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")
]
SafeId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
]
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2099, 12, 31)

SCHEMA_VERSION = 4
SCHEMA_CHANGES: dict[int, str] = {
    1: "the case file as first released (patient, coverage, diagnoses, pain, prior therapies, "
       "safety, plan, ketamine response, enclosures, denial)",
    2: "imported_from (optional): the record a case file was imported from (format, file name, "
       "date), written by `import fhir`; remittance import (X12 835): optional claim_numbers "
       "on the case; optional denial.billed_amount, denial.paid_amount and "
       "denial.requested_action; CARC codes may be alphanumeric (CO-B7, OA-A2)",
    3: "current_medications (optional): what the patient takes now, for the long-term drug "
       "therapy codes (Z79.-); unrelated_diagnoses (optional): pairs of codes under an "
       "Excludes1 note that the physician confirmed are unrelated (guideline I.A.12.a)",
    4: "plan.route is a closed choice ('intravenous infusion' is the one supported; old "
       "free text that only says intravenous infusion still loads); plan.route_note "
       "(optional) holds any detail of the route; coverage.payer_id (optional): a payer in "
       "the practice profile's payers, whose per-purpose addresses (prior authorization, "
       "appeals, external review) replace the inline payer address; coverage.payer_name is "
       "then optional; denial (all optional): claim_number, authorization_reference, "
       "appellant and representative_form, policy_version, plan_definition (the plan's "
       "definition of experimental/investigational, quoted, with its tests answered), "
       "off_label_clause, step_requirements; "
       "options_not_tried (optional): guideline options not tried, each with a reason "
       "(contraindicated, not_tolerated, declined, not_available, not_appropriate) and an "
       "explanation; plan.protocol (optional): this case's overrides of the practice "
       "profile's infusion protocol (rescue medicines, fasting, consent, escort, discharge, "
       "maintenance monitoring, response assessment)",
}


def _known_schema(value: int) -> int:
    if value > SCHEMA_VERSION:
        raise ValueError(f"this file was written for case schema {value}; this tool knows up "
                         f"to {SCHEMA_VERSION}: update ketamine-letters")
    return value


def _plausible_date(value: date) -> date:
    """A typo such as 9999 or 0202 in a year is refused here, not deep inside a deadline."""
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError("is not a plausible date (between 1900 and 2099); check the year")
    return value


Day = Annotated[date, AfterValidator(_plausible_date)]


def _icd10_form(value: object) -> object:
    """'e11.42' / 'E1142' -> 'E11.42': the case-insensitive, dot-optional way staff type codes."""
    if isinstance(value, str):
        code = value.strip().upper()
        if "." not in code and len(code) > 3:
            code = f"{code[:3]}.{code[3:]}"
        return code
    return value


def _ndc_form(value: object) -> object:
    """An NDC as 11 digits in 5-4-2 form, from the 10-digit forms on labels or bare digits."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.isdigit() and len(text) == 11:
        return f"{text[:5]}-{text[5:9]}-{text[9:]}"
    parts = text.split("-")
    shape = tuple(len(p) for p in parts)
    if all(p.isdigit() for p in parts) and shape in {(4, 4, 2), (5, 3, 2), (5, 4, 1)}:
        # the 10-digit label forms: a leading zero pads the short segment (HIPAA 11-digit)
        return "-".join(p.zfill(w) for p, w in zip(parts, (5, 4, 2), strict=True))
    return text


Icd10Code = Annotated[
    str,
    BeforeValidator(_icd10_form),
    StringConstraints(pattern=r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$"),
]
Ndc = Annotated[
    str, BeforeValidator(_ndc_form), StringConstraints(pattern=r"^\d{5}-\d{4}-\d{2}$")
]


class _Model(BaseModel):
    # numbers typed where text is expected (member_id: 1234567) are taken as text; numbers
    # with leading zeros already arrive as text from the loader
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class Sex(StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


class NameOrder(StrEnum):
    given_first = "given_first"
    family_first = "family_first"


class PersonName(_Model):
    given: ShortText
    family: ShortText
    order: NameOrder = Field(
        default=NameOrder.given_first,
        description="family_first for names written family name first (e.g. Nguyễn Thị Đoàn)",
    )

    @property
    def full(self) -> str:
        if self.order is NameOrder.family_first:
            return f"{self.family} {self.given}"
        return f"{self.given} {self.family}"


class Address(_Model):
    lines: list[ShortText] = Field(min_length=1, max_length=4, description="street lines")
    city: ShortText
    state: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    postal_code: Annotated[str, StringConstraints(pattern=r"^\d{5}(-\d{4})?$")]


class Patient(_Model):
    name: PersonName
    date_of_birth: Day
    sex: Sex
    weight_kg: float = Field(gt=0, le=400, description="body weight in kilograms")
    member_id: Identifier
    group_number: Identifier | None = None


class PlanType(StrEnum):
    """What rules govern appeals; 'commercial' when it is not known whether ERISA applies."""

    commercial = "commercial"
    erisa_group = "erisa_group"
    aca_individual = "aca_individual"
    medicare = "medicare"
    medicare_advantage = "medicare_advantage"
    medicaid = "medicaid"
    other = "other"


PhoneNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9()+ .-]{7,25}( x\d{1,6})?$")
]


class Coverage(_Model):
    payer_id: SafeId | None = Field(
        default=None,
        description="a payer in the practice profile (its addresses per purpose; schema 4)",
    )
    payer_name: ShortText | None = Field(
        default=None, description="the insurer's name; optional when payer_id names it"
    )
    payer_department: ShortText | None = Field(
        default=None, description="e.g. 'Utilization Management' or 'Appeals Department'"
    )
    payer_address: Address | None = None
    payer_fax: PhoneNumber | None = None
    plan_name: ShortText | None = None
    plan_type: PlanType = PlanType.commercial
    prior_authorization_number: Identifier | None = None

    @model_validator(mode="after")
    def _payer_named(self) -> Coverage:
        if self.payer_name is None and self.payer_id is None:
            raise ValueError("give payer_id (a payer in the practice profile) or payer_name")
        return self


class Diagnosis(_Model):
    code: Icd10Code
    onset_date: Day | None = None
    how_diagnosed: Text | None = Field(
        default=None, description="how the diagnosis was made, from the record"
    )
    budapest_criteria_met: bool | None = Field(
        default=None, description="CRPS only: the Budapest clinical criteria were met"
    )


class PainScore(_Model):
    date: Day
    nrs: int = Field(ge=0, le=10, description="0-10 numeric rating scale")
    context: ShortText | None = Field(default=None, description="e.g. 'average, past week'")


class Measure(_Model):
    """A dated score on a named instrument (PHQ-9, BPI interference, ODI...)."""

    date: Day
    instrument: ShortText
    score: float
    max_score: float | None = None
    note: ShortText | None = None


class PainAndFunction(_Model):
    pain_since: Day | None = Field(default=None, description="when the pain began")
    scores: list[PainScore] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)
    functional_impact: Text | None = Field(
        default=None, description="work, sleep, daily activities, from the record"
    )


class Outcome(StrEnum):
    inadequate_response = "inadequate_response"
    adverse_effect = "adverse_effect"
    contraindicated = "contraindicated"


class PriorTherapy(_Model):
    agent: ShortText = Field(description="drug, procedure or therapy, e.g. 'gabapentin'")
    therapy_class: ShortText | None = Field(
        default=None, description="class key; derived from the agent when the tool knows it"
    )
    dose: ShortText | None = Field(default=None, description="dose reached, e.g. '1800 mg/day'")
    start_date: Day | None = None
    end_date: Day | None = None
    outcome: Outcome
    note: Text | None = None


class CurrentMedication(_Model):
    """A drug the patient takes now (prior therapies have ended): Z79.- codes rest on these."""

    agent: ShortText = Field(description="drug as in the record, e.g. 'insulin glargine'")
    dose: ShortText | None = None
    since: Day | None = None


class UnrelatedPair(_Model):
    """Two codes under an Excludes1 note that the physician confirmed are unrelated.

    The official guidelines (section I.A.12.a) then allow both to be reported; the infusion's
    billing lines still point only at the condition being treated.
    """

    codes: list[Icd10Code] = Field(min_length=2, max_length=2)
    confirmed_by: ShortText = Field(description="the physician who confirmed it")
    confirmed_on: Day
    basis: Text | None = Field(default=None, description="why they are unrelated, from the record")


class NotTriedReason(StrEnum):
    contraindicated = "contraindicated"
    not_tolerated = "not_tolerated"
    declined = "declined"  # declined by the patient after an informed discussion
    not_available = "not_available"
    not_appropriate = "not_appropriate"


class OptionNotTried(_Model):
    """A guideline option the patient has not had, and why it is not suitable now."""

    option: ShortText = Field(description="the option, e.g. 'tricyclic antidepressant'")
    therapy_class: ShortText | None = Field(
        default=None, description="class key; derived from the option when the tool knows it"
    )
    reason: NotTriedReason
    explanation: Text = Field(description="why, from the record (for not_appropriate: why)")


class ScreeningItem(_Model):
    reviewed: bool
    finding: Text | None = None
    concern: bool = Field(default=False, description="the finding needs the physician's attention")


class SafetyScreening(_Model):
    blood_pressure: ScreeningItem | None = None
    cardiac: ScreeningItem | None = None
    psychosis: ScreeningItem | None = None
    pregnancy: ScreeningItem | None = None
    substance_use: ScreeningItem | None = None
    liver: ScreeningItem | None = None
    intracranial_intraocular_pressure: ScreeningItem | None = None


class Phase(StrEnum):
    initial_series = "initial_series"
    maintenance = "maintenance"


class MaintenancePlan(_Model):
    infusions: int = Field(ge=1, le=52)
    interval_weeks: int = Field(ge=1, le=52)
    months: int = Field(ge=1, le=24, description="period the maintenance request covers")


class ProtocolOverrides(_Model):
    """This case's departures from the practice profile's infusion protocol (each optional)."""

    max_mg_per_infusion: float | None = Field(default=None, gt=0, le=1000)
    rescue_medicines: list[ShortText] | None = None
    fasting: Text | None = None
    consent: Text | None = None
    escort: Text | None = None
    discharge_criteria: list[ShortText] | None = None
    maintenance_monitoring: list[ShortText] | None = None
    response_assessment_weeks: int | None = Field(default=None, ge=1, le=26)
    function_improvement_points: float | None = Field(default=None, gt=0, le=100)


class TreatmentPlan(_Model):
    route: Annotated[Route, BeforeValidator(route_from_text)] = Field(
        description="the only supported route is 'intravenous infusion'; others are refused"
    )
    route_note: ShortText | None = Field(
        default=None,
        description="detail of the intravenous infusion (e.g. 'peripheral IV, infusion pump'); "
                    "printed in the letter, and refused if it names another route",
    )
    phase: Phase = Phase.initial_series
    dose_mg_per_kg: float = Field(gt=0, le=10)
    minutes_per_infusion: int = Field(gt=0, le=600)
    infusions: int = Field(ge=1, le=52, description="infusions in this request")
    weeks: int = Field(ge=1, le=104, description="weeks over which they are given")
    maintenance: MaintenancePlan | None = Field(
        default=None, description="maintenance to follow, only after a documented response"
    )
    response_threshold_percent: int = Field(
        default=30, ge=10, le=100, description="pain reduction that counts as a response"
    )
    setting: ShortText = Field(description="e.g. 'outpatient infusion suite of the practice'")
    place_of_service: int = Field(description="CMS place-of-service code: 11, 19, 22 or 24")
    monitoring: list[ShortText] = Field(min_length=1)
    ndc: Ndc | None = Field(
        default=None, description="11-digit NDC in 5-4-2 form for the drug line"
    )
    requested_start: Day | None = None
    protocol: ProtocolOverrides | None = Field(
        default=None, description="this case's overrides of the practice protocol (schema 4)"
    )


class KetamineResponse(_Model):
    """Response documented after earlier infusions: what maintenance requests rest on."""

    infusions_given: int = Field(ge=1)
    first_infusion: Day
    last_infusion: Day
    pain_before: float = Field(ge=0, le=10)
    pain_after: float = Field(ge=0, le=10)
    relief_weeks: float | None = Field(default=None, ge=0)
    function_change: Text | None = None


class DenialReason(StrEnum):
    not_medically_necessary = "not_medically_necessary"
    experimental = "experimental"
    off_label = "off_label"
    step_therapy = "step_therapy"
    missing_information = "missing_information"
    no_prior_authorization = "no_prior_authorization"
    frequency_limit = "frequency_limit"


class AppealLevel(StrEnum):
    first_internal = "first_internal"
    second_internal = "second_internal"
    external_review = "external_review"


class PolicyCriterion(_Model):
    criterion: Text = Field(description="a criterion the cited policy states, as written")
    how_met: Text = Field(description="where the record shows this patient meets it")


class RequestedAction(StrEnum):
    """What the payer is asked for: an appeal, or (CARC 197) authorization after the fact."""

    appeal = "appeal"
    retro_authorization = "retro_authorization"


class Appellant(StrEnum):
    """Who files the appeal: the physician for the patient, or the patient (the physician
    writes in support)."""

    physician_as_representative = "physician_as_representative"
    patient = "patient"


class ApprovalTest(StrEnum):
    """What a plan's definition asks of FDA approval: of the product, or for the condition."""

    product = "product"
    condition = "condition"


class PlanTest(_Model):
    test: Text = Field(description="one test of the plan's text, as written")
    answer: Text = Field(description="the physician's answer: the evidence or record that meets it")


class PlanText(_Model):
    """A plan's own words the appeal must answer (its definition, its off-label clause)."""

    source: ShortText = Field(description="the document it is from, e.g. the plan's policy id")
    version: ShortText | None = Field(
        default=None, description="the version or effective date the denial names"
    )
    text: Text = Field(description="the text, quoted exactly")
    tests: list[PlanTest] = Field(default_factory=list)
    exception_route: Text | None = Field(
        default=None, description="an exception or individual-consideration route the plan "
        "names, as written"
    )
    approval_test: ApprovalTest | None = Field(
        default=None,
        description="what the text asks of FDA approval: 'product' (approval of the drug) or "
        "'condition' (approval for the condition treated); leave out when it asks neither",
    )


class StepRequirement(_Model):
    requirement: Text = Field(description="what the plan requires, as the denial words it")
    therapy_class: ShortText = Field(description="the therapy class key it asks for")


Money = Annotated[Decimal, Field(ge=0, le=Decimal("99999999.99"), decimal_places=2)]


class Denial(_Model):
    denial_date: Day
    received_date: Day
    reference: Identifier = Field(description="insurer reference or claim number")
    claim_number: Identifier | None = Field(
        default=None, description="the claim number, for a denial of a submitted claim"
    )
    authorization_reference: Identifier | None = Field(
        default=None,
        description="the prior-authorization request's reference, when there is one "
        "(coverage.prior_authorization_number is used otherwise)",
    )
    appellant: Appellant | None = Field(
        default=None, description="physician_as_representative or patient (schema 4)"
    )
    representative_form: ShortText | None = Field(
        default=None,
        description="the patient's signed appointment of the physician as representative, "
        "e.g. 'CMS-1696 Appointment of Representative, signed 2026-11-05'",
    )
    service_denied: ShortText
    service_from: Day | None = None
    service_to: Day | None = None
    reasons: list[DenialReason] = Field(default_factory=list)
    reason_text: Text | None = Field(default=None, description="the insurer's words, as written")
    carc_codes: list[
        Annotated[str, StringConstraints(pattern=r"^((CO|PR|OA|PI|CR)-?)?([A-Z]?\d{1,3})$")]
    ] = Field(default_factory=list)
    rarc_codes: list[Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}\d{1,4}$")]] = Field(
        default_factory=list
    )
    policy_cited: ShortText | None = None
    policy_version: ShortText | None = Field(
        default=None, description="the version or effective date of the cited policy"
    )
    policy_criteria: list[PolicyCriterion] = Field(default_factory=list)
    plan_definition: PlanText | None = Field(
        default=None,
        description="the plan's definition of experimental/investigational, quoted (schema 4)",
    )
    off_label_clause: PlanText | None = Field(
        default=None, description="the plan's clause on off-label drug use, quoted (schema 4)"
    )
    step_requirements: list[StepRequirement] = Field(
        default_factory=list, description="the prior therapies the plan requires, by class"
    )
    level: AppealLevel = AppealLevel.first_internal
    first_level_date: Day | None = Field(
        default=None, description="date of the first-level decision, for later levels"
    )
    deadline: Day | None = Field(
        default=None, description="filing deadline printed on the denial notice, if any"
    )
    urgent: bool = False
    urgent_reason: Text | None = None
    retro_authorization_grounds: Text | None = None
    billed_amount: Money | None = Field(
        default=None, description="amount billed for the denied lines (from the remittance)"
    )
    paid_amount: Money | None = Field(
        default=None, description="amount the payer paid for those lines (from the remittance)"
    )
    requested_action: RequestedAction = Field(
        default=RequestedAction.appeal,
        description="appeal, or retro_authorization when the denial is for a missing "
        "authorization (CARC 197)",
    )


class ImportSource(_Model):
    """The record an imported case came from, so a reviewer can go back to it."""

    format: ShortText = Field(description="e.g. 'FHIR R4 Bundle (transaction)'")
    file: ShortText = Field(description="the file name it was imported from")
    imported_on: Day


class Case(_Model):
    """One patient, one request."""

    schema_version: Annotated[int, Field(ge=1), AfterValidator(_known_schema)] = Field(
        default=SCHEMA_VERSION,
        description=f"case schema the file was written for (this tool: {SCHEMA_VERSION})",
    )
    case_id: SafeId
    claim_numbers: list[Identifier] = Field(
        default_factory=list,
        description="claim or account numbers billed for this case (the patient control "
        "number on the claim), so remittances match it",
    )
    letter_date: Day | None = Field(
        default=None, description="date printed on the letter; today when left out"
    )
    prescriber: ShortText = Field(description="id of a physician in the practice profile")
    patient: Patient
    coverage: Coverage
    diagnoses: list[Diagnosis] = Field(min_length=1, max_length=12)
    pain: PainAndFunction = Field(default_factory=PainAndFunction)
    prior_therapies: list[PriorTherapy] = Field(default_factory=list)
    options_not_tried: list[OptionNotTried] = Field(
        default_factory=list,
        description="guideline options not tried, each with its reason (schema 4)",
    )
    current_medications: list[CurrentMedication] = Field(
        default_factory=list, description="what the patient takes now (schema 3)"
    )
    unrelated_diagnoses: list[UnrelatedPair] = Field(
        default_factory=list,
        description="Excludes1 pairs the physician confirmed are unrelated (schema 3)",
    )
    safety: SafetyScreening = Field(default_factory=SafetyScreening)
    plan: TreatmentPlan
    ketamine_response: KetamineResponse | None = None
    enclosures: list[ShortText] = Field(default_factory=list)
    denial: Denial | None = None
    imported_from: ImportSource | None = Field(
        default=None, description="where an imported case came from (schema 2)"
    )
