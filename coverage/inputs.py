"""The load stage: a case file and its practice profile, read and checked, with the code set
and the knowledge base they are judged by (:class:`Inputs`, everything a letter is made from).

Part of the pipeline (:mod:`coverage.pipeline` re-exports these names); here so that the
importers and the web workspace can assemble inputs from models they already hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from coverage.case import Case
from coverage.codes import CodeSet, load_code_set
from coverage.knowledge import KnowledgeBase, load_knowledge
from coverage.loading import (
    find_practice,
    load_case,
    load_practice,
    resolve_payer,
    resolve_prescriber,
)
from coverage.practice import Physician, Practice
from coverage.settings import relative_to_profile


@dataclass(frozen=True)
class Inputs:
    """Everything a letter is made from, loaded and validated."""

    case: Case
    case_file: str
    practice: Practice
    practice_file: str
    physician: Physician
    kb: KnowledgeBase
    codes: CodeSet

    def letter_date(self, today: date) -> date:
        return self.case.letter_date or today


def code_set_path(practice: Practice, practice_file: Path, override: Path | None) -> Path | None:
    """The ICD-10-CM release to validate against: --code-set, then the practice profile."""
    if override is not None:
        return override
    if practice.icd10cm_tabular:
        return relative_to_profile(practice.icd10cm_tabular, practice_file)
    return None


def load_inputs(
    case_path: Path, practice_path: Path | None = None, code_set: Path | None = None
) -> Inputs:
    """Read the case and its practice profile; fail with every problem named."""
    case_path = Path(case_path)
    case = load_case(case_path)
    practice_file = find_practice(case_path, practice_path)
    practice = load_practice(practice_file)
    return assemble_inputs(case, str(case_path), practice, str(practice_file), code_set)


def assemble_inputs(
    case: Case, case_file: str, practice: Practice, practice_file: str,
    code_set: Path | None = None,
) -> Inputs:
    """Inputs from models already loaded (and checked) by ``loading``."""
    physician = resolve_prescriber(case, practice, case_file)
    case = resolve_payer(case, practice, case_file)
    codes = load_code_set(code_set_path(practice, Path(practice_file), code_set))
    return Inputs(case, case_file, practice, practice_file, physician, load_knowledge(), codes)


def load_practice_for(case_path: Path, practice_path: Path | None = None
                      ) -> tuple[Practice, Physician]:
    """The practice profile and prescriber a case names, without the code set."""
    case = load_case(Path(case_path))
    practice_file = find_practice(Path(case_path), practice_path)
    practice = load_practice(practice_file)
    return practice, resolve_prescriber(case, practice, str(case_path))
