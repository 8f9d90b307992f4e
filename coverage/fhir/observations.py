"""Observations from FHIR: pain scores, instrument scores, blood pressure and body weight.

Pain scores are the 0-10 scales of ``knowledge/fhir_terms.yaml``; a score recorded with
decimals (Synthea does this) is rounded to the scale's whole number and the comment gives the
recorded value. Blood pressure is a note for the safety screening, never a screening done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from coverage.fhir.common import LOINC, codings, concept_text, day, put
from coverage.fhir.reading import Record, label
from coverage.fhir.terms import FhirTerms, MeasureCode

KG_PER_UNIT = {"kg": Decimal(1), "g": Decimal("0.001"), "[lb_av]": Decimal("0.45359237")}
NOT_FINAL = {"entered-in-error", "cancelled", "registered", "preliminary"}


@dataclass
class Observations:
    scores: CommentedSeq = field(default_factory=CommentedSeq)
    measures: CommentedSeq = field(default_factory=CommentedSeq)
    weight: tuple[float, str] | None = None
    blood_pressure: str | None = None
    skipped: list[str] = field(default_factory=list)


def _when(observation: Any) -> date | None:
    period = observation.effectivePeriod
    return day(observation.effectiveDateTime) or day(getattr(period, "start", None)) \
        or day(observation.issued)


def _number(observation: Any) -> Decimal | None:
    if observation.valueQuantity is not None and observation.valueQuantity.value is not None:
        return Decimal(str(observation.valueQuantity.value))
    if observation.valueInteger is not None:
        return Decimal(observation.valueInteger)
    return None


def map_observations(record: Record, terms: FhirTerms) -> Observations:
    out = Observations()
    loinc = terms.loinc
    dated: list[tuple[date, Any]] = []
    for observation in record.of_type("Observation"):
        when = _when(observation)
        if observation.status in NOT_FINAL or when is None:
            continue
        dated.append((when, observation))
    dated.sort(key=lambda item: item[0])
    pressures: list[str] = []
    for when, observation in dated:
        codes = {c.code for c in codings(observation.code, LOINC)}
        where = label(observation)
        if codes & set(loinc.pain_0_10):
            _pain(out, observation, when, where)
        elif codes & set(loinc.blood_pressure_panel):
            reading = _pressure(observation, loinc.systolic, loinc.diastolic)
            if reading:
                pressures.append(f"{reading} on {when.isoformat()} ({where})")
        elif loinc.body_weight in codes:
            _weight(out, observation, when, where)
        else:
            _measure(out, observation, when, where, terms)
    if pressures:
        more = f"; {len(pressures) - 1} earlier reading(s) in the record" \
            if len(pressures) > 1 else ""
        out.blood_pressure = f"latest blood pressure {pressures[-1]}{more}"
    return out


def _pain(out: Observations, observation: Any, when: date, where: str) -> None:
    value = _number(observation)
    if value is None or not Decimal(0) <= value <= Decimal(10):
        out.skipped.append(f"{where}: pain score without a 0-10 value")
        return
    whole = int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    note = where if value == whole else f"{where}: recorded as {value.normalize():f}, rounded"
    item = CommentedMap()
    put(item, "date", when)
    put(item, "nrs", whole)
    put(item, "context", concept_text(observation.code)[:200] or "pain score", note)
    out.scores.append(item)


def _pressure(observation: Any, systolic: str, diastolic: str) -> str | None:
    values: dict[str, Decimal] = {}
    for component in observation.component or []:
        codes = {c.code for c in codings(component.code, LOINC)}
        quantity = component.valueQuantity
        if quantity is None or quantity.value is None:
            continue
        for wanted in (systolic, diastolic):
            if wanted in codes:
                values[wanted] = Decimal(str(quantity.value))
    if systolic in values and diastolic in values:
        high = values[systolic].quantize(Decimal(1), rounding=ROUND_HALF_UP)
        low = values[diastolic].quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return f"{high}/{low} mmHg"
    return None


def _weight(out: Observations, observation: Any, when: date, where: str) -> None:
    quantity = observation.valueQuantity
    unit = (getattr(quantity, "code", None) or getattr(quantity, "unit", None) or "").strip()
    if quantity is None or quantity.value is None or unit not in KG_PER_UNIT:
        return
    kilograms = (Decimal(str(quantity.value)) * KG_PER_UNIT[unit]).quantize(Decimal("0.1"))
    if kilograms > 0:
        out.weight = (float(kilograms), f"{where} (body weight, {when.isoformat()}, latest)")


def _measure(out: Observations, observation: Any, when: date, where: str,
             terms: FhirTerms) -> None:
    codes = [c.code for c in codings(observation.code, LOINC)]
    words = " ".join([concept_text(observation.code)]
                     + [c.display or "" for c in codings(observation.code)])
    measure = next((terms.measure_for(code, "") for code in codes
                    if terms.measure_for(code, "")), None) or terms.measure_for(None, words)
    value = _number(observation)
    if measure is None or value is None:
        return
    item = CommentedMap()
    put(item, "date", when)
    put(item, "instrument", measure.instrument)
    put(item, "score", float(value))
    how = "LOINC " + measure.code if isinstance(measure, MeasureCode) else "named in its text"
    if measure.max_score is not None:
        put(item, "max_score", measure.max_score, f"{where} ({how})")
    else:
        item.yaml_add_eol_comment(f"{where} ({how})", "score")
    out.measures.append(item)
