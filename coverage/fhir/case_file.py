"""A FHIR record -> a commented case file: the ``import fhir`` command's library side.

The file has the starter's shape (``new``), with every value the record gives filled in and a
comment naming the resource it came from, and ``FILL-IN`` / ``YYYY-MM-DD`` wherever FHIR
cannot say (a therapy's outcome, why it stopped, the plan, the safety screening), so
``check`` names each field still to fill in. Nothing is inferred beyond what the record says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from coverage.case import SCHEMA_VERSION
from coverage.codes import CodeSet
from coverage.fhir.clinical import Conditions, map_conditions
from coverage.fhir.common import fill_in, put
from coverage.fhir.observations import Observations, map_observations
from coverage.fhir.people import coverage_sections, patient_section, prescriber
from coverage.fhir.reading import Record
from coverage.fhir.terms import load_terms
from coverage.knowledge import load_knowledge
from coverage.practice import Practice

SAFETY_ITEMS = ("blood_pressure", "cardiac", "psychosis", "pregnancy", "substance_use", "liver",
                "intracranial_intraocular_pressure")
MAX_LISTED = 15


@dataclass(frozen=True)
class ImportSummary:
    """What the console says after an import: counts only, never patient data."""

    entries_read: int
    diagnoses: int
    prior_therapies: int
    pain_scores: int
    measures: int
    safety_notes: int
    unresolved: int
    placeholders: int


def build_case(record: Record, code_set: CodeSet, practice: Practice | None,
               today: date) -> tuple[CommentedMap, int]:
    """The case file's data with its comments, and how many safety items carry notes."""
    terms, knowledge = load_terms(), load_knowledge()
    conditions = map_conditions(record, terms, knowledge, code_set)
    observations = map_observations(record, terms)
    from coverage.fhir.therapies import map_therapies

    therapies = map_therapies(record, terms, knowledge)
    case = CommentedMap()
    case.yaml_set_start_comment("\n".join(_header(record, conditions, therapies.not_counted)))
    put(case, "schema_version", SCHEMA_VERSION)
    source = CommentedMap()
    put(source, "format", record.kind)
    put(source, "file", record.source[:200])
    put(source, "imported_on", today)
    case["imported_from"] = source
    fill_in(case, "case_id", "your own reference: letters, digits, . _ -")
    prescriber(record, practice, case)
    patient = patient_section(record, observations.weight)
    case["patient"] = patient
    case["coverage"] = coverage_sections(record, patient)
    case["diagnoses"] = conditions.diagnoses
    case["pain"] = _pain(observations)
    case["prior_therapies"] = therapies.entries
    case.yaml_set_comment_before_after_key("prior_therapies", before=(
        "Every therapy of a class the tool knows, from the record. Delete any not given for\n"
        "this pain; add therapies the record does not hold (physical therapy, blocks...)."))
    if not therapies.entries:
        case.yaml_add_eol_comment("none in the FHIR record: add them from the notes",
                                  "prior_therapies")
    case["safety"], noted = _safety(conditions, observations)
    case["plan"] = _plan()
    enclosures = CommentedSeq(["FILL-IN"])
    case["enclosures"] = enclosures
    case.yaml_add_eol_comment("clinic notes and reports sent with the letter", "enclosures")
    return case, noted


def _header(record: Record, conditions: Conditions, not_counted: list[str]) -> list[str]:
    lines = [
        f"Imported from {record.kind} by `ketamine-letters import fhir`.",
        "Each value names the FHIR resource it came from. FHIR cannot say a therapy's outcome,",
        "why it stopped, the treatment plan or the safety screening: those read FILL-IN.",
        "Fill in every FILL-IN and YYYY-MM-DD from the notes, then: ketamine-letters check FILE",
    ]
    lines += _listed("References that resolve nowhere in the export", record.unresolved)
    lines += _listed("Conditions in the record not imported", conditions.not_imported)
    lines += _listed("Medications in the record not counted as prior therapies", not_counted)
    return lines


def _listed(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    lines = [f"{title} ({len(items)}):"]
    lines += [f"  - {item}" for item in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        lines.append(f"  ... and {len(items) - MAX_LISTED} more")
    return lines


def _pain(observations: Observations) -> CommentedMap:
    pain = CommentedMap()
    fill_in(pain, "pain_since", "when the pain began, from the notes; delete if unknown",
            is_date=True)
    pain["scores"] = observations.scores
    if not observations.scores:
        pain.yaml_add_eol_comment("no 0-10 pain score in the FHIR record: add one from the "
                                  "notes", "scores")
    pain["measures"] = observations.measures
    fill_in(pain, "functional_impact", "work, sleep, daily activities, from the notes")
    return pain


def _safety(conditions: Conditions, observations: Observations) -> tuple[CommentedMap, int]:
    notes = {item: list(found) for item, found in conditions.safety_notes.items()}
    if observations.blood_pressure:
        notes.setdefault("blood_pressure", []).insert(0, observations.blood_pressure)
    safety = CommentedMap()
    for item in SAFETY_ITEMS:
        entry = CommentedMap()
        fill_in(entry, "reviewed", "true once the physician has screened this (FHIR cannot "
                "record a screening); add finding: and concern: from the notes")
        safety[item] = entry
        if notes.get(item):
            lines = ["from the FHIR record, for the physician (not a screening):"]
            lines += [f"  {note}" for note in notes[item][:MAX_LISTED]]
            safety.yaml_set_comment_before_after_key(item, before="\n".join(lines), indent=2)
    return safety, sum(1 for item in SAFETY_ITEMS if notes.get(item))


def _plan() -> CommentedMap:
    plan = CommentedMap()
    put(plan, "route", "intravenous infusion", "the only route the tool supports")
    fill_in(plan, "phase", "initial_series or maintenance (the physician's plan)")
    fill_in(plan, "dose_mg_per_kg", "the physician's dose, within the practice protocol")
    fill_in(plan, "minutes_per_infusion", "typically 40-60")
    fill_in(plan, "infusions", "in this request, e.g. 6")
    fill_in(plan, "weeks", "over how many weeks")
    fill_in(plan, "setting", "where the infusions are given")
    fill_in(plan, "place_of_service", "11 office, 19/22 outpatient hospital, 24 ASC")
    monitoring = CommentedSeq(["FILL-IN"])
    plan["monitoring"] = monitoring
    plan.yaml_add_eol_comment("e.g. continuous pulse oximetry and ECG", "monitoring")
    fill_in(plan, "ndc", "the vial's 11-digit NDC (5-4-2)")
    return plan


def summarize(record: Record, case: CommentedMap, notes: int) -> ImportSummary:
    from coverage.loading import unfilled_fields

    return ImportSummary(
        entries_read=record.entries_read,
        diagnoses=len(case["diagnoses"]),
        prior_therapies=len(case["prior_therapies"]),
        pain_scores=len(case["pain"]["scores"]),
        measures=len(case["pain"]["measures"]),
        safety_notes=notes,
        unresolved=len(record.unresolved),
        placeholders=len(unfilled_fields(case)),
    )


def import_fhir(paths: list[Path], output: Path, practice: Practice | None,
                code_set: CodeSet, today: date) -> ImportSummary:
    """Read a FHIR export and write a commented case file (atomic, owner-only)."""
    from coverage.fhir.reading import read_record
    from coverage.yaml_files import write_case_file

    record = read_record(paths)
    case, notes = build_case(record, code_set, practice, today)
    write_case_file(output, case)
    return summarize(record, case, notes)
