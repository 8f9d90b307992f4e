"""The ``import fhir`` command's steps, kept out of cli.py: find the profile, import, report."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from coverage.errors import InputError


def _practice(output: Path, explicit: Path | None):
    """The practice profile to match NPIs against: the one given, else one beside the output."""
    from coverage.loading import find_practice, load_practice

    try:
        path = find_practice(output, explicit)
    except InputError:
        return None, None  # no profile: the prescriber is left to fill in
    return load_practice(path), path


def run_import(sources: list[Path], output: Path, practice_path: Path | None,
               code_set_path: Path | None, today: date) -> list[str]:
    """Import and return the console lines: counts and file names, never patient data."""
    from coverage.codes import load_code_set
    from coverage.fhir.case_file import import_fhir

    practice, found = _practice(output, practice_path)
    if code_set_path is None and practice is not None and practice.icd10cm_tabular:
        from coverage.settings import relative_to_profile

        code_set_path = relative_to_profile(practice.icd10cm_tabular, found)
    summary = import_fhir(sources, output, practice, load_code_set(code_set_path), today)
    lines = [
        f"wrote {output}: {summary.entries_read} FHIR resources read",
        f"  diagnoses {summary.diagnoses}, prior therapies {summary.prior_therapies}, "
        f"pain scores {summary.pain_scores}, other measures {summary.measures}",
        f"  safety notes for the physician: {summary.safety_notes} item(s)",
    ]
    if summary.unresolved:
        lines.append(f"  references that resolve nowhere: {summary.unresolved} (listed at the "
                     "top of the file)")
    if practice is None:
        lines.append("  no practice profile found: the prescriber is left to fill in")
    lines.append(f"  {summary.placeholders} field(s) to fill in from the notes; then run "
                 f"`ketamine-letters check {output}`")
    return lines
