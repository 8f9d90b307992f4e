"""Conditions from FHIR: diagnoses for the letter, and notes for the safety screening.

ICD-10-CM codings are taken as written (the review checks them against the code set, as for
any case). SNOMED CT codings go through the small table in ``knowledge/fhir_terms.yaml``: a
concept that determines one billable code maps to it; one that does not writes its candidate
codes and leaves the billable code to fill in. Conditions that bear on the safety screening
become notes beside it; the screening itself is never marked done, FHIR cannot say it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from coverage.codes import CodeSet
from coverage.fhir.common import (
    ICD10CM,
    SNOMED,
    codings,
    concept_text,
    day,
    fill_in,
    put,
)
from coverage.fhir.reading import Record, label
from coverage.fhir.terms import FhirTerms
from coverage.knowledge import KnowledgeBase

MAX_DIAGNOSES = 12
NOT_CURRENT = {"inactive", "resolved", "remission"}
CRPS_KEYS = {"crps-1", "crps-2"}


@dataclass
class Conditions:
    diagnoses: CommentedSeq
    safety_notes: dict[str, list[str]] = field(default_factory=dict)
    not_imported: list[str] = field(default_factory=list)


def _status(condition: Any) -> str:
    return next((c.code for c in codings(condition.clinicalStatus) if c.code), "")


def _ignored(condition: Any) -> bool:
    verification = {c.code for c in codings(condition.verificationStatus)}
    return bool(verification & {"refuted", "entered-in-error"})


def _onset(condition: Any) -> date | None:
    onset = condition.onsetDateTime
    if onset is None and condition.onsetPeriod is not None:
        onset = condition.onsetPeriod.start
    return day(onset)


def _icd10(code: str) -> str:
    code = code.strip().upper()
    return f"{code[:3]}.{code[3:]}" if "." not in code and len(code) > 3 else code


def map_conditions(record: Record, terms: FhirTerms, knowledge: KnowledgeBase,
                   code_set: CodeSet) -> Conditions:
    found: list[tuple[int, CommentedMap]] = []
    seen: set[str] = set()
    result = Conditions(diagnoses=CommentedSeq())
    for condition in record.of_type("Condition"):
        if _ignored(condition):
            continue
        where, status = label(condition), _status(condition)
        words = concept_text(condition.code) or "(no text)"
        noted = _safety(condition, terms, where, status, words, result)
        entry = None if status in NOT_CURRENT else _diagnosis(
            condition, terms, knowledge, code_set, where, seen)
        if entry is not None:
            found.append(entry)
        elif not noted:
            suffix = f", {status}" if status else ""
            result.not_imported.append(f"{words} ({where}{suffix})")
    found.sort(key=lambda item: item[0])
    for _, entry in found[:MAX_DIAGNOSES]:
        result.diagnoses.append(entry)
    if not result.diagnoses:
        item = CommentedMap()
        fill_in(item, "code", "no condition the tool knows is coded in the FHIR record: the "
                "ICD-10-CM code of the condition treated")
        fill_in(item, "how_diagnosed", "examination, studies, criteria met, from the notes")
        result.diagnoses.append(item)
    return result


def _safety(condition: Any, terms: FhirTerms, where: str, status: str, words: str,
            result: Conditions) -> bool:
    items: set[str] = set()
    for coding in codings(condition.code, ICD10CM):
        item = terms.safety_item_for_icd10(_icd10(coding.code or ""))
        if item:
            items.add(item)
    for coding in codings(condition.code, SNOMED):
        concept = terms.snomed.get(coding.code or "")
        if concept and concept.safety:
            items.add(concept.safety)
    onset = _onset(condition)
    note = f"{words} ({where}{', ' + status if status else ''}"
    note += f", onset {onset.isoformat()})" if onset else ")"
    for item in items:
        result.safety_notes.setdefault(item, []).append(note)
    return bool(items)


def _diagnosis(condition: Any, terms: FhirTerms, knowledge: KnowledgeBase, code_set: CodeSet,
               where: str, seen: set[str]) -> tuple[int, CommentedMap] | None:
    item = CommentedMap()
    rank = 1
    icd = [_icd10(c.code) for c in codings(condition.code, ICD10CM) if c.code]
    icd = [c for c in icd if terms.safety_item_for_icd10(c) is None]
    wanted = [c for c in icd if knowledge.condition_for_code(c) or
              any(c.startswith(p) for p in terms.supporting_icd10_prefixes)]
    concept = next((terms.snomed[c.code] for c in codings(condition.code, SNOMED)
                    if c.code in terms.snomed and not terms.snomed[c.code].safety), None)
    if wanted:
        code = wanted[0]
        if code in seen:
            return None
        put(item, "code", code, f"{where} (ICD-10-CM)")
        keys = {getattr(knowledge.condition_for_code(code), "key", None)}
    elif concept is not None and concept.icd10:
        if concept.icd10 in seen:
            return None
        code = concept.icd10
        put(item, "code", code, f"{where}: SNOMED {concept.code} {concept.label}")
        keys = {getattr(knowledge.condition_for_code(code), "key", None)}
    elif concept is not None:
        code = f"SNOMED {concept.code}"
        if code in seen:
            return None
        fill_in(item, "code", f"{where}: SNOMED {concept.code} {concept.label}: one of the "
                f"codes listed above; {concept.why}")
        item.yaml_set_start_comment("\n".join(_candidate_lines(concept.candidates, code_set)),
                                    indent=4)
        keys = {getattr(knowledge.condition_for_code(c), "key", None)
                for c in concept.candidates}
    else:
        return None
    seen.add(code)
    if keys - {None}:
        rank = 0
    onset = _onset(condition)
    if onset:
        put(item, "onset_date", onset, where)
    fill_in(item, "how_diagnosed", "how the diagnosis was made: examination, studies, "
            "criteria met, from the notes (FHIR does not say)")
    if keys & CRPS_KEYS:
        fill_in(item, "budapest_criteria_met", "true only if the notes show the Budapest "
                "criteria were met; else delete the line")
    return rank, item


def _candidate_lines(candidates: list[str], code_set: CodeSet) -> list[str]:
    lines = ["choose the billable code the notes support:"]
    for code in candidates:
        entry = code_set.lookup(code)
        lines.append(f"  {code}  {entry.description if entry else '(not in this code set)'}")
    return lines
