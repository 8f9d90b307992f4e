"""The typed facts a letter template may say: one context per letter, already formatted.

Composition (``compose.letter`` and ``compose.appeal``) fills these; templates only print them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coverage.case import Case, PlanText
from coverage.deadlines import Deadline
from coverage.kinds import LetterKind
from coverage.knowledge import Condition
from coverage.practice import Physician, Practice
from coverage.routing import Recipient


@dataclass(frozen=True)
class DiagnosisLine:
    pointer: str
    code: str
    description: str
    onset: str
    how_diagnosed: str | None
    is_primary: bool
    budapest_criteria_met: bool | None


@dataclass(frozen=True)
class TherapyRow:
    agent: str
    class_label: str
    dose: str
    dates: str
    duration: str
    outcome: str
    note: str


@dataclass(frozen=True)
class ClassSummary:
    label: str
    agents: list[str]


@dataclass(frozen=True)
class EvidenceLine:
    number: int
    statement: str


@dataclass(frozen=True)
class Reference:
    number: int
    text: str


@dataclass(frozen=True)
class BillingRow:
    system: str  # "CPT" for administration, "HCPCS" for the drug line
    code: str
    description: str
    units_per_infusion: int
    total_units: int
    pointers: str


@dataclass(frozen=True)
class LetterContext:
    """Everything a letter template may say, already formatted."""

    kind: LetterKind
    letter_date: str
    practice: Practice
    physician: Physician
    case: Case
    patient_name: str
    date_of_birth: str
    age: int
    condition: Condition
    diagnoses: list[DiagnosisLine]
    primary: DiagnosisLine
    pain_duration: str
    pain_since: str
    latest_score: str
    scores: list[str]
    measures: list[str]
    therapies: list[TherapyRow]
    class_summary: list[ClassSummary]
    evidence: list[EvidenceLine]
    caveats: list[str]
    ref: dict[str, int]
    references: list[Reference]
    dose_mg: str
    billing: list[BillingRow]
    place_of_service: str
    threshold_meaning: str
    safety: list[tuple[str, str]]
    is_medicare: bool
    response_relief_percent: int | None
    enclosures: list[str]
    code_set_release: str
    header: str
    mechanism_cites: str
    standard_cites: str
    standard_statement: str | None  # the guideline's ranking, cut to the options addressed
    condition_phrase: str
    primary_phrase: str
    therapy_counts: str
    appeal: AppealFacts | None = None
    recipient: Recipient | None = None
    regimen: RegimenComparison | None = None  # CRPS: the request beside the trials
    response_test: ResponseTest | None = None
    protocol: ProtocolFacts | None = None
    options: list[OptionRow] = field(default_factory=list)  # options not tried, and why
    services_given: str | None = None  # "from ... to ...": infusions already given (past tense)
    requested_period: str | None = None  # "from ... to ...": the series requested (future)
    measures_mood: bool = False  # a mood instrument (PHQ-9...) is recorded: "mood" may print


@dataclass(frozen=True)
class CodeLine:
    code: str
    meaning: str


@dataclass(frozen=True)
class StepLine:
    class_label: str
    therapies: list[str]


@dataclass(frozen=True)
class StepRow:
    """One of the plan's step requirements against what the patient tried in that class."""

    requirement: str
    class_label: str
    tried: list[str]


@dataclass(frozen=True)
class IntervalFacts:
    """A frequency denial's answer: the interval asked for against the documented relief."""

    interval_weeks: float
    relief_weeks: float
    matches: bool


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
    claim_number: str | None = None
    authorization_reference: str | None = None
    appellant: str | None = None
    representative_form: str | None = None
    policy_version: str | None = None
    definition: PlanText | None = None
    off_label_clause: PlanText | None = None
    step_rows: list[StepRow] = field(default_factory=list)
    interval: IntervalFacts | None = None
    next_review: str = ""
    request_codes: str = ""
    request_service: str = ""
    call_windows: list[str] = field(default_factory=list)
    is_retro: bool = False


@dataclass(frozen=True)
class TrialLine:
    text: str
    number: int


@dataclass(frozen=True)
class RegimenComparison:
    """The requested infusion beside the controlled trials' exposures (CRPS), computed."""

    trials: list[TrialLine]
    rate_mg_per_h: str  # hourly rate of one requested infusion
    rate_mg_per_kg_h: str
    dose_mg: str
    session_mg: str | None  # the most one trial session gave
    session_percent: int | None  # the requested infusion as a share of it
    session_ref: int | None


@dataclass(frozen=True)
class FunctionCriterion:
    instrument: str
    baseline: str  # "7.4/10 on November 4, 2026"
    points: str | None  # the practice's fall in points, when its protocol sets one
    target: str | None  # "6.4/10"


@dataclass(frozen=True)
class ResponseTest:
    """The response test a letter states in advance: when, the number, the stop rule."""

    percent: int
    baseline: str  # "7/10 on November 4, 2026"
    baseline_value: str
    target: str  # "4.9/10"
    weeks_after_last: int | None
    function: FunctionCriterion | None
    benchmark_ref: int  # IMMPACT's provisional benchmarks, cited for the idea only
    responder_ref: int | None  # a study that counted responders at this same threshold
    test_date: str | None = None  # infusions already given: when the test fell due
    result: str | None = None  # infusions already given: the measured pain after them
    result_met: bool | None = None


@dataclass(frozen=True)
class OptionRow:
    option: str
    class_label: str
    reason: str
    explanation: str


@dataclass(frozen=True)
class ProtocolFacts:
    """The practice's own infusion protocol, with this case's overrides (never the evidence's)."""

    dose_range: str
    max_mg: str | None
    rescue_medicines: list[str]
    fasting: str | None
    consent: str | None
    escort: str | None
    discharge_criteria: list[str]
    maintenance_monitoring: list[str]
