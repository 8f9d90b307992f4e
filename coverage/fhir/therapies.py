"""Prior therapies from FHIR: medications (RxNorm) and procedures, one entry per agent.

A medication counts when one of its RxNorm ingredients is in the ingredient table of
``knowledge/fhir_terms.yaml`` (which names its therapy class); a procedure when its name is in
the therapy-class vocabulary as a procedure, physical or psychological therapy. Dates and the
dose as last prescribed come from the record. The outcome and why it stopped never do: FHIR
does not record them, so they are left to fill in from the notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from coverage.fhir.common import RXNORM, codings, concept_text, day, fill_in, put
from coverage.fhir.reading import Record, label
from coverage.fhir.terms import FhirTerms
from coverage.knowledge import KnowledgeBase

MEDICATION_TYPES = ("MedicationRequest", "MedicationStatement", "MedicationDispense")
ACTIVE = {"active", "on-hold", "intended"}
NOT_DONE = {"entered-in-error", "not-done", "cancelled", "preparation"}
NON_DRUG_KINDS = {"procedure", "physical", "psychological"}
OUTCOME_HELP = ("inadequate_response, adverse_effect or contraindicated, from the notes "
                "(FHIR does not record a therapy's outcome)")


@dataclass
class _Course:
    agent: str
    therapy_class: str
    why_class: str
    sources: list[str] = field(default_factory=list)
    starts: list[date] = field(default_factory=list)
    ends: list[date] = field(default_factory=list)
    active: bool = False
    dose: tuple[date | None, str, str] | None = None  # (when, dose text, where from)
    count: int = 0
    kind: str = "medication"


@dataclass
class Therapies:
    entries: CommentedSeq
    not_counted: list[str]


def _medication_concept(record: Record, resource: Any) -> Any:
    if getattr(resource, "medicationCodeableConcept", None) is not None:
        return resource.medicationCodeableConcept
    target = record.resolve(getattr(resource, "medicationReference", None), within=resource)
    return getattr(target, "code", None)


def _ingredients(concept: Any, terms: FhirTerms) -> list[str]:
    """Table ingredients named in the RxNorm product's name, in the order the name gives."""
    words = " ".join([concept_text(concept)] + [c.display or "" for c in codings(concept, RXNORM)])
    lowered = words.lower()
    found = []
    for name in sorted(terms.rxnorm_ingredients, key=len, reverse=True):
        match = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", lowered)
        if match and not any(name in other for other in found):
            found.append(name)
    return sorted(found, key=lowered.find)


def _dates(resource: Any) -> tuple[date | None, date | None]:
    kind = resource.get_resource_type()
    dosages = _dosages(resource)
    bounds = next((d.timing.repeat.boundsPeriod for d in dosages if d.timing and d.timing.repeat
                   and d.timing.repeat.boundsPeriod), None)
    start = day(getattr(bounds, "start", None))
    end = day(getattr(bounds, "end", None))
    if kind == "MedicationRequest":
        start = start or day(resource.authoredOn)
    elif kind == "MedicationStatement":
        period = resource.effectivePeriod
        start = start or day(resource.effectiveDateTime) or day(getattr(period, "start", None))
        end = end or day(getattr(period, "end", None))
    else:
        start = start or day(resource.whenHandedOver) or day(resource.whenPrepared)
    return start, end


def _dosages(resource: Any) -> list[Any]:
    return list(getattr(resource, "dosageInstruction", None)
                or getattr(resource, "dosage", None) or [])


def _dose_text(resource: Any) -> str | None:
    for dosage in _dosages(resource):
        if dosage.text:
            return dosage.text
        amount = next((r.doseQuantity for r in dosage.doseAndRate or [] if r.doseQuantity),
                      None)
        if amount is None or amount.value is None:
            continue
        dose = f"{amount.value.normalize():f} {amount.unit or 'unit(s)'}"
        repeat = dosage.timing.repeat if dosage.timing else None
        if repeat and repeat.frequency and repeat.period and repeat.periodUnit:
            times = "once" if repeat.frequency == 1 else f"{repeat.frequency} times"
            if repeat.period == 1 and repeat.periodUnit == "d":
                dose += f" {times} a day"
            else:
                dose += f" {times} every {repeat.period.normalize():f} {repeat.periodUnit}"
        return dose
    return None


def map_therapies(record: Record, terms: FhirTerms, knowledge: KnowledgeBase) -> Therapies:
    courses: dict[str, _Course] = {}
    not_counted: set[str] = set()
    for kind in MEDICATION_TYPES:
        for resource in record.of_type(kind):
            if resource.status in NOT_DONE:
                continue
            _add_medication(record, resource, terms, knowledge, courses, not_counted)
    for procedure in record.of_type("Procedure"):
        if procedure.status in NOT_DONE:
            continue
        _add_procedure(procedure, knowledge, courses)
    entries = CommentedSeq()
    for course in sorted(courses.values(), key=lambda c: (min(c.starts, default=date.max),
                                                         c.agent)):
        entries.append(_entry(course))
    return Therapies(entries, sorted(not_counted))


def _add_medication(record: Record, resource: Any, terms: FhirTerms, knowledge: KnowledgeBase,
                    courses: dict[str, _Course], not_counted: set[str]) -> None:
    concept = _medication_concept(record, resource)
    ingredients = _ingredients(concept, terms)
    product = concept_text(concept) or "(medication not named)"
    if not ingredients:
        not_counted.add(product)
        return
    agent = " / ".join(ingredients)
    key = terms.rxnorm_ingredients[ingredients[0]]
    rx = next((c.code for c in codings(concept, RXNORM) if c.code), None)
    course = courses.setdefault(f"med:{agent}", _Course(
        agent=agent, therapy_class=key,
        why_class=f"RxNorm ingredient {ingredients[0]} -> {knowledge.therapy_classes[key].label}",
    ))
    where = label(resource)
    course.sources.append(f"{where} ({product}{', RxNorm ' + rx if rx else ''})")
    start, end = _dates(resource)
    if start:
        course.starts.append(start)
    if end:
        course.ends.append(end)
    course.active = course.active or (resource.status in ACTIVE and end is None)
    dose = _dose_text(resource)
    if dose and (course.dose is None or (start or date.min) >= (course.dose[0] or date.min)):
        course.dose = (start, dose, where)


def _add_procedure(procedure: Any, knowledge: KnowledgeBase,
                   courses: dict[str, _Course]) -> None:
    name = concept_text(procedure.code)
    therapy_class = knowledge.class_of_agent(name) if name else None
    if therapy_class is None or therapy_class.kind.value not in NON_DRUG_KINDS:
        return
    agent = " ".join(name.split()).lower()
    course = courses.setdefault(f"proc:{agent}", _Course(
        agent=agent, therapy_class=therapy_class.key,
        why_class=f"procedure name -> {therapy_class.label}", kind=therapy_class.kind.value,
    ))
    course.sources.append(label(procedure))
    period = procedure.performedPeriod
    start = day(procedure.performedDateTime) or day(getattr(period, "start", None))
    end = day(getattr(period, "end", None)) or start
    if start:
        course.starts.append(start)
    if end:
        course.ends.append(end)
    course.count += 1


def _entry(course: _Course) -> CommentedMap:
    item = CommentedMap()
    where = "; ".join(course.sources[:3])
    if len(course.sources) > 3:
        where += f"; and {len(course.sources) - 3} more"
    put(item, "agent", course.agent, where)
    put(item, "therapy_class", course.therapy_class, course.why_class)
    if course.kind != "medication":
        noun = "session" if course.kind in ("physical", "psychological") else "procedure"
        put(item, "dose", f"{course.count} {noun}{'s' if course.count != 1 else ''}",
            "how many the FHIR record holds")
    elif course.dose is not None:
        when = course.dose[0].isoformat() if course.dose[0] else "undated"
        put(item, "dose", course.dose[1], f"as prescribed in {course.dose[2]} ({when}); "
            "write the dose reached if it was higher")
    else:
        fill_in(item, "dose", "dose reached, e.g. 1800 mg/day (FHIR gives no dosage)")
    still = "; no end_date: still active in the record" if course.active else ""
    if course.starts:
        put(item, "start_date", min(course.starts), f"earliest date in the record{still}")
    else:
        fill_in(item, "start_date", f"when it was started{still}", is_date=True)
    if course.active:
        pass  # an ongoing therapy has no end date to write
    elif course.ends:
        put(item, "end_date", max(course.ends), "latest end date in the record")
    else:
        fill_in(item, "end_date", "when it was stopped (FHIR gives no end date)", is_date=True)
    fill_in(item, "outcome", OUTCOME_HELP)
    fill_in(item, "note", "why it was stopped and what happened, from the notes; FHIR does "
            "not say")
    return item
