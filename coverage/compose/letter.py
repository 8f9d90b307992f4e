"""What every letter says: the case's facts, the evidence for its condition, the billing lines.

Templates never compute: dates are formatted, doses multiplied, billing lines derived and the
evidence for this condition chosen and numbered here, where tests can check them.
"""

from __future__ import annotations

import re
from datetime import date

from coverage.case import Case, Outcome, Phase, PlanType
from coverage.codes import CodeSet, drug_line, infusion_lines
from coverage.compose.context import (
    BillingRow,
    ClassSummary,
    DiagnosisLine,
    EvidenceLine,
    LetterContext,
    Reference,
    TherapyRow,
)
from coverage.compose.dates import month_span, month_year, span_text, us_date
from coverage.compose.protocol import (
    given_span,
    option_rows,
    protocol_facts,
    regimen_comparison,
    requested_period,
    response_test,
    services_given,
)
from coverage.kinds import LetterKind
from coverage.knowledge import Citation, Condition, KnowledgeBase, LegalSource
from coverage.practice import Physician, Practice
from coverage.review import PLACES_OF_SERVICE, SAFETY_LABELS, Review, therapy_class_key
from coverage.review.coding import treated_codes
from coverage.review.consistency import baseline_score
from coverage.review.options import option_class_key

OUTCOME_LABELS = {
    Outcome.inadequate_response: "Inadequate response",
    Outcome.adverse_effect: "Adverse effect",
    Outcome.contraindicated: "Contraindicated",
}
POINTERS = "ABCDEFGHIJKL"
# a mood instrument among the measures: only then does the letter speak of "mood"
MOOD_INSTRUMENT = re.compile(r"\b(PHQ|GAD|HADS|BDI|PROMIS depression|depression|anxiety|mood)",
                             re.IGNORECASE)
MECHANISM_CITATIONS = ("E3", "E7")
OFF_LABEL_SOURCES = ("R1", "R2", "R3", "R5")
MEDICARE_PLANS = {PlanType.medicare, PlanType.medicare_advantage}


def format_citation(citation: Citation) -> str:
    authors = citation.authors or ""
    if authors and not authors.endswith("."):
        authors += "."
    parts = [authors, f"{citation.title}."]
    parts.append(f"{citation.source}.")
    if citation.pmid:
        parts.append(f"PMID {citation.pmid}.")
    if citation.doi:
        parts.append(f"doi:{citation.doi}")
    return " ".join(p for p in parts if p).strip()


def format_legal(source: LegalSource) -> str:
    return source.citation


class _Numbering:
    """Numbers sources in the order the letter first cites them."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.order: list[str] = []

    def cite(self, source_id: str) -> int:
        if source_id not in self.kb.citations and source_id not in self.kb.legal:
            raise KeyError(f"unknown source {source_id}")
        if source_id not in self.order:
            self.order.append(source_id)
        return self.order.index(source_id) + 1

    def references(self) -> list[Reference]:
        out = []
        for number, sid in enumerate(self.order, start=1):
            if sid in self.kb.citations:
                out.append(Reference(number, format_citation(self.kb.citations[sid])))
            else:
                out.append(Reference(number, format_legal(self.kb.legal[sid])))
        return out


def _therapy_rows(case: Case, kb: KnowledgeBase) -> tuple[list[TherapyRow], list[ClassSummary]]:
    rows = []
    by_class: dict[str, list] = {}
    # in date order (a reader checks the sequence); a therapy without a start date goes last
    ordered = sorted(case.prior_therapies,
                     key=lambda t: (t.start_date is None, t.start_date or date.min))
    for therapy in ordered:
        key = therapy_class_key(therapy, kb)
        cls = kb.therapy_classes.get(key) if key else None
        label = cls.label if cls else "Other"
        by_class.setdefault(label, []).append(therapy)
        start, end = therapy.start_date, therapy.end_date
        if start and end:
            dates, duration = month_span(start, end), span_text(start, end)
        elif start:
            dates, duration = f"from {month_year(start)}", ""
        else:
            dates, duration = "", ""
        rows.append(
            TherapyRow(
                agent=therapy.agent,
                class_label=label,
                dose=therapy.dose or "",
                dates=dates,
                duration=duration,
                outcome=OUTCOME_LABELS[therapy.outcome],
                note=therapy.note or "",
            )
        )
    summary = []
    for label, items in by_class.items():  # "Lidocaine 5% patch", not "(lidocaine 5% patch)"
        agents = [t.agent for t in items if t.agent.casefold() != label.casefold()]
        summary.append(ClassSummary(label, agents))
    return rows, summary


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _threshold_meaning(percent: int) -> str:
    if percent >= 50:
        return "a substantial improvement"
    if percent >= 30:
        return "a moderately important improvement"
    return "at least a minimally important improvement"


def compose_letter(
    case: Case,
    practice: Practice,
    physician: Physician,
    kb: KnowledgeBase,
    codes: CodeSet,
    review: Review,
    letter_date: date,
    kind: LetterKind = LetterKind.LMN,
) -> LetterContext:
    """Precompute every fact of a letter. ``review`` must have no blocking findings."""
    if not review.ok or review.condition is None:
        raise ValueError("compose_letter needs a case without blocking findings")
    condition = review.condition
    numbering = _Numbering(kb)
    numbering.cite(condition.evidence[0].citation)  # the guideline is reference 1

    diagnoses = []
    primary_code = None
    for index, diagnosis in enumerate(case.diagnoses):
        entry = codes.lookup(diagnosis.code)
        is_primary = primary_code is None and kb.condition_for_code(diagnosis.code) is condition
        if is_primary:
            primary_code = diagnosis.code
        diagnoses.append(
            DiagnosisLine(
                pointer=POINTERS[index],
                code=diagnosis.code,
                description=entry.description if entry else "",
                onset=us_date(diagnosis.onset_date),
                how_diagnosed=diagnosis.how_diagnosed,
                is_primary=is_primary,
                budapest_criteria_met=diagnosis.budapest_criteria_met,
            )
        )
    primary = next(d for d in diagnoses if d.is_primary)

    primary_diagnosis = case.diagnoses[diagnoses.index(primary)]
    since = case.pain.pain_since or primary_diagnosis.onset_date
    scores = sorted(case.pain.scores, key=lambda s: s.date)
    latest = baseline_score(case, kb)  # a retrospective request: the pre-treatment score

    therapies, class_summary = _therapy_rows(case, kb)

    guideline = condition.evidence[0].citation
    evidence = [  # the guideline's own rating is stated once, in the sentence above the list
        EvidenceLine(numbering.cite(use.citation), use.statement)
        for use in condition.evidence
        if use.citation != guideline
    ]
    given = given_span(case, kb, letter_date)  # infusions already given: the past tense
    # the guideline's reasons for a series belong to a request for one: not to maintenance,
    # nor to a series already given (where "is requested" would misstate what happened)
    series_requested = case.plan.phase is not Phase.maintenance and given is None
    caveats = [
        caveat.text + _cite_marks([numbering.cite(c) for c in caveat.citations])
        for caveat in condition.caveats
        if series_requested or not caveat.series_request_only
    ]
    standard_cites = _cite_marks([numbering.cite(c) for c in condition.standard_classes_citations])
    mechanism_cites = _cite_marks([numbering.cite(c) for c in MECHANISM_CITATIONS])
    plan = case.plan
    dose_mg = round(plan.dose_mg_per_kg * case.patient.weight_kg, 1)
    regimen = regimen_comparison(case, condition, dose_mg, numbering.cite)
    for sid in OFF_LABEL_SOURCES:
        numbering.cite(sid)
    is_medicare = case.coverage.plan_type in MEDICARE_PLANS
    if is_medicare:
        numbering.cite("R6")
    test = response_test(case, practice, condition, kb, numbering.cite, given)
    # the infusion points only at what it treats (never at an unrelated or incidental code)
    pointer_all = "".join(diagnoses[i].pointer for i in treated_codes(case, condition, kb)[:4])
    billing = [
        BillingRow("CPT", line.code, line.description, line.units,
                   line.units * plan.infusions, pointer_all)
        for line in infusion_lines(plan.minutes_per_infusion)
    ]
    drug = drug_line(dose_mg, plan.ndc)
    billing.append(BillingRow("HCPCS", drug.code, drug.description, drug.units,
                              drug.units * plan.infusions, pointer_all))

    safety = []
    for name, label in SAFETY_LABELS.items():
        item = getattr(case.safety, name)
        if item is not None and item.reviewed:
            text = item.finding or "reviewed; nothing of concern recorded"
            safety.append((label, text))

    relief = None
    if case.ketamine_response and case.ketamine_response.pain_before > 0:
        r = case.ketamine_response
        relief = round(100 * (r.pain_before - r.pain_after) / r.pain_before)

    ref = {sid: number for number, sid in enumerate(numbering.order, start=1)}
    name = case.patient.name.full
    dob = case.patient.date_of_birth
    return LetterContext(
        kind=kind,
        letter_date=us_date(letter_date),
        practice=practice,
        physician=physician,
        case=case,
        patient_name=name,
        date_of_birth=us_date(dob),
        age=_age(dob, letter_date),
        condition=condition,
        diagnoses=diagnoses,
        primary=primary,
        pain_duration=span_text(since, letter_date) if since else "",
        pain_since=us_date(since),
        latest_score=f"{latest.nrs}/10 on {us_date(latest.date)}" if latest else "",
        scores=[
            f"{s.nrs}/10 on {us_date(s.date)}" + (f" ({s.context})" if s.context else "")
            for s in scores
        ],
        measures=[
            f"{m.instrument} {m.score:g}"
            + (f"/{m.max_score:g}" if m.max_score else "")
            + f" on {us_date(m.date)}"
            + (f" ({m.note})" if m.note else "")
            for m in sorted(case.pain.measures, key=lambda m: m.date)
        ],
        therapies=therapies,
        class_summary=class_summary,
        evidence=evidence,
        caveats=caveats,
        ref=ref,
        references=numbering.references(),
        dose_mg=f"{dose_mg:g}",
        billing=billing,
        place_of_service=f"{plan.place_of_service} ({PLACES_OF_SERVICE[plan.place_of_service]})",
        threshold_meaning=_threshold_meaning(plan.response_threshold_percent),
        safety=safety,
        is_medicare=is_medicare,
        response_relief_percent=relief,
        enclosures=list(case.enclosures),
        code_set_release=codes.release,
        header=f"{name}  ·  DOB {dob:%m/%d/%Y}  ·  Member ID {case.patient.member_id}",
        mechanism_cites=mechanism_cites,
        standard_cites=standard_cites,
        standard_statement=standard_statement(condition, case, kb),
        condition_phrase=_lower_first(condition.name),
        primary_phrase=_lower_first(primary.description),
        therapy_counts=_therapy_counts(case, kb),
        regimen=regimen,
        response_test=test,
        protocol=protocol_facts(case, practice),
        options=option_rows(case, kb),
        services_given=services_given(given),
        requested_period=requested_period(case),
        measures_mood=any(MOOD_INSTRUMENT.search(m.instrument) for m in case.pain.measures),
    )


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def standard_statement(condition: Condition, case: Case, kb: KnowledgeBase) -> str | None:
    """The guideline's ranking of the standard options, with its lower lines cut to the
    options this patient tried or has explained: a letter never names an option it leaves
    unaddressed (a payer would deny on it)."""
    statement = condition.standard_classes_statement
    if statement is None or not condition.standard_classes_lines:
        return statement
    addressed = {therapy_class_key(t, kb) for t in case.prior_therapies}
    addressed |= {option_class_key(o, kb) for o in case.options_not_tried}
    parts = []
    for line in condition.standard_classes_lines:
        named = [o.text for o in line.options if addressed & set(o.classes)]
        if named:
            parts.append(f"{_and_list(named)} {line.rank} ({line.strength})")
    if not parts:
        return statement
    return f"{statement.rstrip('.')}; they rate {'; and '.join(parts)}."


def _cite_marks(numbers: list[int]) -> str:
    return f" [{', '.join(str(n) for n in sorted(set(numbers)))}]" if numbers else ""


def _lower_first(text: str) -> str:
    """'Complex regional pain syndrome' -> 'complex regional...'; 'CRPS' stays."""
    if len(text) > 1 and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _therapy_counts(case: Case, kb: KnowledgeBase) -> str:
    """'7 prior therapies in 6 classes ...; 1 more was contraindicated'."""
    used = [t for t in case.prior_therapies if t.outcome is not Outcome.contraindicated]
    tried = len(used)
    classes = len({therapy_class_key(t, kb) or t.agent for t in used})
    ruled_out = len(case.prior_therapies) - tried
    text = f"{tried} prior therap{'ies' if tried != 1 else 'y'} in {classes} class"
    text += "es" if classes != 1 else ""
    text += " without adequate relief or with intolerable adverse effects"
    if ruled_out:
        text += f"; {ruled_out} more {'were' if ruled_out != 1 else 'was'} contraindicated"
    return text
