"""Readiness review: what stops an honest letter, and what payers commonly deny for.

A pure function of the case, the practice profile, the knowledge base and the code set. BLOCKING
findings mean no letter is written; ADVISORY findings are listed and the letter is written.
Every finding names the field it is about and says in a plain sentence what to do.
"""

from __future__ import annotations

from datetime import date, timedelta

from coverage.case import Case, Outcome, Phase, Sex
from coverage.codes import CodeSet
from coverage.drug_route import ADDICTIVE_ROUTES, SUPPORTED_ROUTE, note_names_other_route
from coverage.knowledge import Condition, KnowledgeBase, TherapyKind
from coverage.practice import Practice
from coverage.review.coding import review_coding
from coverage.review.consistency import review_consistency
from coverage.review.findings import Finding, Review, Severity
from coverage.review.options import review_options, review_protocol

RECENT_PAIN_SCORE_DAYS = 90
PLACES_OF_SERVICE = {
    11: "office",
    19: "off-campus outpatient hospital",
    22: "on-campus outpatient hospital",
    24: "ambulatory surgical center",
}
ROUTE_REFUSAL = (
    "ketamine is requested only as an intravenous infusion in a monitored setting "
    "(the clinical policy this tool follows)"
)
ADDICTION_REASON = "; oral and nasal forms carry a higher risk of addiction and are not requested"
SAFETY_LABELS = {
    "blood_pressure": "blood pressure",
    "cardiac": "cardiac history",
    "psychosis": "psychosis history",
    "pregnancy": "pregnancy",
    "substance_use": "substance-use history",
    "liver": "liver disease",
    "intracranial_intraocular_pressure": "intracranial / intraocular pressure",
}


def primary_condition(case: Case, kb: KnowledgeBase) -> tuple[int, Condition] | None:
    """The first listed diagnosis the knowledge base has evidence for."""
    for index, diagnosis in enumerate(case.diagnoses):
        condition = kb.condition_for_code(diagnosis.code)
        if condition is not None:
            return index, condition
    return None


def therapy_class_key(therapy, kb: KnowledgeBase) -> str | None:
    """The class of a prior therapy: as given, else derived from the agent."""
    if therapy.therapy_class:
        return therapy.therapy_class
    cls = kb.class_of_agent(therapy.agent)
    return cls.key if cls else None


def review_case(
    case: Case,
    practice: Practice,
    kb: KnowledgeBase,
    codes: CodeSet,
    letter_date: date,
    today: date | None = None,
) -> Review:
    """Review a case for a letter of medical necessity (``today``: to catch a letter dated
    far ahead)."""
    from coverage.review.plausibility import review_plausibility

    findings: list[Finding] = []

    def block(code: str, field: str, message: str) -> None:
        findings.append(Finding(code, Severity.blocking, field, message))

    def advise(code: str, field: str, message: str) -> None:
        findings.append(Finding(code, Severity.advisory, field, message))

    _review_codes(case, codes, block, advise)
    found = primary_condition(case, kb)
    condition = found[1] if found else None
    if found is None:
        block(
            "NO_RECOGNISED_CONDITION",
            "diagnoses",
            "none of the codes is a condition the tool has evidence for (CRPS I/II, "
            "postherpetic neuralgia, painful diabetic neuropathy, other peripheral "
            "neuropathy, fibromyalgia)",
        )
    else:
        index, condition = found
        _review_condition(case, index, condition, advise)
    _review_dates(case, letter_date, block)
    _review_plan(case, practice, block, advise)
    classes_tried = _review_therapies(case, kb, condition, block, advise)
    review_options(case, kb, condition, classes_tried, block, advise)
    review_protocol(case, practice, block)
    _review_pain(case, letter_date, advise)
    _review_safety(case, advise)
    review_coding(case, kb, codes, condition, letter_date, block, advise)
    review_consistency(case, kb, letter_date, block, advise)
    findings.extend(review_plausibility(case, letter_date, today))
    return Review(tuple(findings), condition, codes.release)


def _review_codes(case: Case, codes: CodeSet, block, advise) -> None:
    for index, diagnosis in enumerate(case.diagnoses):
        field = f"diagnoses[{index}].code"
        entry = codes.lookup(diagnosis.code)
        if entry is None:
            block("ICD_UNKNOWN", field, f"{diagnosis.code} is not a code in {codes.release}")
        elif not entry.billable:
            children = sorted(
                c for c in codes.entries
                if c.startswith(diagnosis.code) and (codes.lookup(c) or entry).billable
            )[:5]
            hint = f"; use a more specific code such as {', '.join(children)}" if children else ""
            block(
                "ICD_NOT_BILLABLE",
                field,
                f"{diagnosis.code} is a category heading, not a billable code{hint}",
            )
    if case.diagnoses[0].code.startswith("G63"):
        advise(
            "ICD_MANIFESTATION_FIRST",
            "diagnoses[0].code",
            "G63 is a manifestation code: list the underlying disease first",
        )
    codes_given = [d.code for d in case.diagnoses]
    if len(set(codes_given)) != len(codes_given):
        advise("ICD_DUPLICATE", "diagnoses", "the same code is listed twice")


def _review_condition(case: Case, index: int, condition: Condition, advise) -> None:
    field = f"diagnoses[{index}]"
    if index != 0:
        advise(
            "PRIMARY_NOT_FIRST",
            "diagnoses[0].code",
            f"the condition this request is for ({condition.short_name}) is not listed first; "
            "payers read the first-listed code as the reason for the service",
        )
    if condition.guideline_grade != "moderate":
        advise(
            "WEAK_EVIDENCE",
            f"{field}.code",
            f"the 2018 consensus guideline grades the evidence for {condition.short_name} as "
            "weak and short-term; the letter says so, and the patient's record must carry it",
        )
    diagnosis = case.diagnoses[index]
    if condition.key.startswith("crps") and diagnosis.budapest_criteria_met is not True:
        advise(
            "CRPS_CRITERIA_NOT_DOCUMENTED",
            f"{field}.budapest_criteria_met",
            "the record does not show the Budapest clinical criteria were met; payers expect it "
            "for CRPS",
        )
    if diagnosis.onset_date is None and case.pain.pain_since is None:
        advise(
            "NO_ONSET_DATE",
            f"{field}.onset_date",
            "no onset date; the letter cannot say how long the condition has lasted",
        )
    if not diagnosis.how_diagnosed:
        advise(
            "NO_DIAGNOSIS_BASIS",
            f"{field}.how_diagnosed",
            "how the diagnosis was made is not recorded (examination, studies, criteria)",
        )


def _review_dates(case: Case, letter_date: date, block) -> None:
    dob = case.patient.date_of_birth

    def not_after_letter(value: date | None, field: str) -> None:
        if value is not None and value > letter_date:
            block("DATE_IN_FUTURE", field, f"{value} is after the letter date {letter_date}")

    def not_before_birth(value: date | None, field: str) -> None:
        if value is not None and value < dob:
            block("DATE_BEFORE_BIRTH", field, f"{value} is before the date of birth")

    if dob > letter_date:  # before 1900 is refused when the case file is read
        block("DATE_IMPOSSIBLE", "patient.date_of_birth", "after the letter date: not a possible "
              "date of birth")
    for i, diagnosis in enumerate(case.diagnoses):
        not_after_letter(diagnosis.onset_date, f"diagnoses[{i}].onset_date")
        not_before_birth(diagnosis.onset_date, f"diagnoses[{i}].onset_date")
    not_after_letter(case.pain.pain_since, "pain.pain_since")
    not_before_birth(case.pain.pain_since, "pain.pain_since")
    for i, score in enumerate(case.pain.scores):
        not_after_letter(score.date, f"pain.scores[{i}].date")
        not_before_birth(score.date, f"pain.scores[{i}].date")
    for i, measure in enumerate(case.pain.measures):
        not_after_letter(measure.date, f"pain.measures[{i}].date")
    for i, therapy in enumerate(case.prior_therapies):
        field = f"prior_therapies[{i}]"
        not_after_letter(therapy.start_date, f"{field}.start_date")
        not_after_letter(therapy.end_date, f"{field}.end_date")
        not_before_birth(therapy.start_date, f"{field}.start_date")
        if therapy.start_date and therapy.end_date and therapy.end_date < therapy.start_date:
            block(
                "DATE_ORDER",
                f"{field}.end_date",
                f"stop date {therapy.end_date} is before start date {therapy.start_date}",
            )
    response = case.ketamine_response
    if response is not None:
        not_after_letter(response.last_infusion, "ketamine_response.last_infusion")
        if response.last_infusion < response.first_infusion:
            block(
                "DATE_ORDER",
                "ketamine_response.last_infusion",
                "last infusion is before the first infusion",
            )


def _review_plan(case: Case, practice: Practice, block, advise) -> None:
    plan = case.plan
    bounds = practice.protocol
    if plan.route is not SUPPORTED_ROUTE:
        reason = ROUTE_REFUSAL + (ADDICTION_REASON if plan.route in ADDICTIVE_ROUTES else "")
        block("ROUTE_NOT_IV", "plan.route", f"route '{plan.route.value}' refused: {reason}")
    if plan.route_note and note_names_other_route(plan.route_note):
        block("ROUTE_NOTE_NOT_IV", "plan.route_note",
              "the route note names another route or form, or negates intravenous, and it is "
              f"printed in the letter: {ROUTE_REFUSAL}; keep the note to details of the "
              "intravenous infusion")
    if not bounds.dose_mg_per_kg_min <= plan.dose_mg_per_kg <= bounds.dose_mg_per_kg_max:
        block(
            "DOSE_OUT_OF_BOUNDS",
            "plan.dose_mg_per_kg",
            f"{plan.dose_mg_per_kg:g} mg/kg is outside the practice protocol "
            f"({bounds.dose_mg_per_kg_min:g}-{bounds.dose_mg_per_kg_max:g} mg/kg)",
        )
    if not bounds.minutes_min <= plan.minutes_per_infusion <= bounds.minutes_max:
        block(
            "DURATION_OUT_OF_BOUNDS",
            "plan.minutes_per_infusion",
            f"{plan.minutes_per_infusion} minutes is outside the practice protocol "
            f"({bounds.minutes_min}-{bounds.minutes_max} minutes)",
        )
    if plan.place_of_service not in PLACES_OF_SERVICE:
        allowed = ", ".join(f"{k} {v}" for k, v in PLACES_OF_SERVICE.items())
        block(
            "PLACE_OF_SERVICE",
            "plan.place_of_service",
            f"{plan.place_of_service} is not a monitored setting this tool bills ({allowed})",
        )
    if plan.ndc is None:
        advise("NO_NDC", "plan.ndc", "no NDC for the drug line; claims for J3490 need it")
    if plan.phase is Phase.maintenance:
        _review_maintenance(case, block)


def _review_maintenance(case: Case, block) -> None:
    response = case.ketamine_response
    if response is None:
        block(
            "MAINTENANCE_WITHOUT_RESPONSE",
            "ketamine_response",
            "maintenance infusions are requested only after a documented response to the "
            "initial series; record it under ketamine_response",
        )
        return
    if response.pain_before <= 0:
        return
    relief = 100 * (response.pain_before - response.pain_after) / response.pain_before
    if relief < case.plan.response_threshold_percent:
        block(
            "RESPONSE_BELOW_THRESHOLD",
            "ketamine_response.pain_after",
            f"pain fell {relief:.0f}%, below the {case.plan.response_threshold_percent}% "
            "response threshold; maintenance is not supported",
        )


def _review_therapies(case: Case, kb: KnowledgeBase, condition, block, advise) -> set[str]:
    """The therapies' own rules; returns the classes tried (or ruled out as contraindicated)."""
    therapies = case.prior_therapies
    if not therapies:
        block(
            "NO_PRIOR_THERAPY",
            "prior_therapies",
            "no prior therapy recorded; a letter must show what was tried and failed",
        )
        return set()
    if len(therapies) == 1:
        advise(
            "SINGLE_PRIOR_THERAPY",
            "prior_therapies",
            "only one prior therapy; payers expect several classes tried first",
        )
    classes_tried: set[str] = set()
    for i, therapy in enumerate(therapies):
        field = f"prior_therapies[{i}]"
        key = therapy_class_key(therapy, kb)
        if therapy.therapy_class and therapy.therapy_class not in kb.therapy_classes:
            block(
                "THERAPY_CLASS_UNKNOWN",
                f"{field}.therapy_class",
                f"'{therapy.therapy_class}' is not a known class; leave it out or use one of "
                "the classes `ketamine-letters new` lists",
            )
            continue
        if key is None:
            advise(
                "THERAPY_CLASS_NOT_DERIVED",
                f"{field}.therapy_class",
                f"the tool does not know the class of '{therapy.agent}'; set therapy_class",
            )
            continue
        classes_tried.add(key)
        cls = kb.therapy_classes[key]
        if therapy.outcome is Outcome.contraindicated:
            continue
        if therapy.start_date is None:
            advise(
                "THERAPY_DATES_MISSING",
                f"{field}.start_date",
                "no start date; payers deny when trial dates and duration are missing",
            )
        if cls.kind in (TherapyKind.medication, TherapyKind.topical) and not therapy.dose:
            advise(
                "THERAPY_DOSE_MISSING",
                f"{field}.dose",
                "no dose recorded; payers look for an adequate dose before calling it a failure",
            )
    if condition is not None:
        standard = [k for k in condition.standard_classes if k in classes_tried]
        if len(standard) < 2:
            names = ", ".join(kb.therapy_classes[k].label for k in condition.standard_classes)
            advise(
                "FEW_STANDARD_CLASSES",
                "prior_therapies",
                f"fewer than two of the standard classes for {condition.short_name} were tried "
                f"({names}); a payer will ask why",
            )
    return classes_tried


def _review_pain(case: Case, letter_date: date, advise) -> None:
    scores = case.pain.scores
    if not scores:
        advise("NO_PAIN_SCORE", "pain.scores", "no pain score recorded; payers require one")
    elif max(s.date for s in scores) < letter_date - timedelta(days=RECENT_PAIN_SCORE_DAYS):
        advise(
            "NO_RECENT_PAIN_SCORE",
            "pain.scores",
            f"no pain score in the {RECENT_PAIN_SCORE_DAYS} days before the letter date",
        )
    if not case.pain.measures and not case.pain.functional_impact:
        advise(
            "NO_FUNCTION_MEASURE",
            "pain.measures",
            "no function measure or functional impact; the response plan needs a baseline",
        )


def _review_safety(case: Case, advise) -> None:
    for name, label in SAFETY_LABELS.items():
        item = getattr(case.safety, name)
        field = f"safety.{name}"
        if name == "pregnancy" and case.patient.sex is Sex.male:
            continue
        if item is None or not item.reviewed:
            advise(
                "SAFETY_NOT_DOCUMENTED",
                field,
                f"{label} screening not documented; reviewers check it before ketamine",
            )
        elif item.concern:
            advise(
                "SAFETY_CONCERN",
                field,
                f"{label} screening records a concern; the physician must address it in the "
                "plan before signing",
            )
